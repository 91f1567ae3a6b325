//! Publishing: a document checked and turned into the texts that will be stored, the review
//! of what a publish would replace, the publish itself (trash before an overwrite, a
//! conditional upsert), the read-back and verify of the stored row, and the documents that go
//! the other way (export, the starting point of a hotfix).

use super::audit::{Change, Outcome};
use super::canonical::{self, CanonicalError, Hasher, JsValue};
use super::diff::diff_records;
use super::guard::{Allow, BootEffect, WriteKind, WritePlan};
use super::manifest::{self, hotfix_version};
use super::record::{PackageDiff, PackageRecord, PublishOutcome, Verification};
use super::verify::verify_record;
use super::{records, Registry, RegistryError};
use crate::store::{Stmt, Value};

/// How a caller wants a publish to treat an existing (id, version) with other contents, and
/// what it allows the publish to do to the ObjectStack server's boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishOptions {
    pub allow_overwrite: bool,
    /// With `allow_overwrite`: overwrite only a row that still has this hash (the one the
    /// operator reviewed); any other row there refuses the publish with a conflict.
    pub replacing_hash: Option<String>,
    /// The guards of spec 8.4 the operator overrides.
    pub allow: Allow,
}

/// A publish document checked and turned into the texts that will be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedPublish {
    pub id: String,
    pub version: String,
    pub manifest: String,
    pub metadata: String,
    pub hash: String,
    /// What the ObjectStack schemas (spec 9) say about the document: warnings, which a
    /// strict publish refuses (see [`PreparedPublish::refuse_warnings`]).
    pub schema_warnings: Vec<manifest::DocumentProblem>,
}

impl PreparedPublish {
    /// Whether `row` already holds exactly these texts and this hash.
    pub fn is_stored_as(&self, row: &PackageRecord) -> bool {
        row.hash == self.hash && row.manifest == self.manifest && row.metadata == self.metadata
    }

    /// Refuses the publish when the schemas warned about the document (`--strict`).
    pub fn refuse_warnings(&self, source_name: &str) -> Result<(), RegistryError> {
        if self.schema_warnings.is_empty() {
            return Ok(());
        }
        Err(RegistryError::SchemaRefused {
            source_name: source_name.to_owned(),
            problems: self.schema_warnings.clone(),
        })
    }

    /// The row this publish would store, before the database gives it a rowid and dates.
    fn as_record(&self) -> PackageRecord {
        PackageRecord {
            rowid: 0,
            id: self.id.clone(),
            version: self.version.clone(),
            manifest: self.manifest.clone(),
            metadata: self.metadata.clone(),
            hash: self.hash.clone(),
            created_at: None,
            updated_at: None,
        }
    }
}

/// Reads a publish document and returns exactly what would be stored, or why not: invalid
/// JSON (with line and column), or every manifest problem with its path. The ObjectStack
/// schemas' problems come with it as warnings. Touches no store.
pub fn prepare_publish(text: &str, source_name: &str) -> Result<PreparedPublish, RegistryError> {
    let doc = canonical::parse(text).map_err(|error| RegistryError::InvalidJson {
        source_name: source_name.to_owned(),
        error,
    })?;
    prepare_parsed(&doc, source_name)
}

/// [`prepare_publish`] of a document already parsed.
pub(crate) fn prepare_parsed(
    doc: &JsValue,
    source_name: &str,
) -> Result<PreparedPublish, RegistryError> {
    let problems = manifest::validate_document(doc);
    if !problems.is_empty() {
        return Err(RegistryError::InvalidDocument {
            source_name: source_name.to_owned(),
            problems,
        });
    }
    let (Some(m), Some(d)) = (doc.get("manifest"), doc.get("metadata")) else {
        unreachable!("validate_document requires manifest and metadata")
    };
    let text_of = |key: &str| m.get(key).and_then(JsValue::as_str).unwrap_or_default();
    let manifest = canonical::stringify(m);
    let metadata = canonical::stringify(d);
    let hash = canonical::integrity_hash(&manifest, &metadata);
    Ok(PreparedPublish {
        id: text_of("id").to_owned(),
        version: text_of("version").to_owned(),
        manifest,
        metadata,
        hash,
        schema_warnings: super::schema::check_document(doc),
    })
}

/// A stored version a review cannot diff against, because its texts are not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id} {version} cannot be compared: {reason}")]
pub struct Incomparable {
    pub id: String,
    pub version: String,
    pub reason: String,
}

/// What a publish would do, looked up before it is confirmed.
#[derive(Debug, Clone)]
pub struct PublishReview {
    pub prepared: PreparedPublish,
    /// The row stored at the same (id, version): a publish overwrites it (after saving it to
    /// the trash) unless it is identical.
    pub existing: Option<PackageRecord>,
    /// The version the diff is against: the one replaced, else the package's latest; `None`
    /// for the first version of a package.
    pub base: Option<String>,
    /// The diff against `base`, or why it cannot be computed (a corrupt stored row).
    pub diff: Option<Result<PackageDiff, Incomparable>>,
    pub target: String,
    pub trash_dir: std::path::PathBuf,
    /// What publishing it changes in the server's boot, and the guards' verdict.
    pub boot: Box<BootEffect>,
}

impl PublishReview {
    /// Whether publishing replaces a stored row with other contents.
    pub fn overwrites(&self) -> bool {
        self.existing
            .as_ref()
            .is_some_and(|e| !self.prepared.is_stored_as(e))
    }

    /// Whether the stored row is already exactly this document.
    pub fn unchanged(&self) -> bool {
        self.existing
            .as_ref()
            .is_some_and(|e| self.prepared.is_stored_as(e))
    }

    /// The options that publish exactly what was reviewed: an overwrite only of the row the
    /// review showed, none at all when it showed none.
    pub fn options(&self) -> PublishOptions {
        let replacing_hash = self
            .existing
            .as_ref()
            .filter(|_| self.overwrites())
            .map(|e| e.hash.clone());
        PublishOptions {
            allow_overwrite: replacing_hash.is_some(),
            replacing_hash,
            allow: Allow::NOTHING,
        }
    }
}

/// What reading the row back after a publish found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBack {
    /// The stored row verified from its stored texts.
    pub verification: Verification,
    /// Whether the stored texts and hash are exactly what was published.
    pub exact: bool,
}

impl ReadBack {
    /// The stored row is what was published and its hash matches its texts.
    pub fn ok(&self) -> bool {
        self.exact && self.verification.ok()
    }
}

/// Why a publish that went through has no row to read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadBackError {
    /// The publish's own transaction found no row at (id, version) after writing it.
    #[error("{id} {version} is not in the registry after the publish")]
    Missing { id: String, version: String },
}

/// A publish and what reading the row back found.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishReport {
    pub outcome: PublishOutcome,
    pub readback: Result<ReadBack, ReadBackError>,
}

/// The stored document of a version, ready to become a hotfix.
#[derive(Debug, Clone, PartialEq)]
pub struct HotfixSource {
    /// `{"manifest": …, "metadata": …}` as stored, with `manifest.version` set to `bumped`
    /// when there is one.
    pub document: JsValue,
    /// The next free patch version; `None` when the version is not `MAJOR.MINOR.PATCH`.
    pub bumped: Option<String>,
}

/// `document` with its `manifest.version` set to the next patch version of `version` that no
/// version in `taken` has; the version is `None` (and the document unchanged) when `version`
/// cannot be bumped.
pub fn hotfix_document(
    mut document: JsValue,
    version: &str,
    taken: &[&str],
) -> (JsValue, Option<String>) {
    let bumped = hotfix_version(version, taken);
    if let Some(new) = &bumped {
        if let JsValue::Object(members) = &mut document {
            if let Some((_, JsValue::Object(manifest))) =
                members.iter_mut().find(|(k, _)| k == "manifest")
            {
                match manifest.iter_mut().find(|(k, _)| k == "version") {
                    Some((_, v)) => *v = JsValue::String(new.clone()),
                    None => manifest.push(("version".into(), JsValue::String(new.clone()))),
                }
            }
        }
    }
    (document, bumped)
}

/// The publish document made of two stored texts.
pub fn export_document(manifest: &str, metadata: &str) -> String {
    format!("{{\"manifest\":{manifest},\"metadata\":{metadata}}}")
}

impl Registry {
    /// What publishing `prepared` would replace, the diff against that row (or else against
    /// the package's latest version), and what it would change in the server's boot: one
    /// rehearsal, so one round trip remotely.
    pub fn review_publish(
        &self,
        prepared: PreparedPublish,
    ) -> Result<PublishReview, RegistryError> {
        // Rehearsed as the review's own options would publish it: overwriting whatever is there.
        let options = PublishOptions {
            allow_overwrite: true,
            ..PublishOptions::default()
        };
        let rehearsal = self.rehearse(
            &[
                self.select_exact(&prepared.id, &prepared.version),
                self.select_latest(&prepared.id),
            ],
            &[rehearsed_upsert(&prepared, &options)],
            &[],
        )?;
        let mut reads = rehearsal.reads.iter().cloned().map(records);
        let existing = reads.next().and_then(|rows| rows.into_iter().next());
        let latest = reads.next().and_then(|rows| rows.into_iter().next());
        let boot =
            Box::new(self.boot_effect(&rehearsal, &publish_plan(&prepared, existing.is_none())));
        let base = existing.clone().or(latest);
        let diff = base.as_ref().map(|b| {
            diff_records(b, &prepared.as_record()).map_err(|(_, reason)| Incomparable {
                id: b.id.clone(),
                version: b.version.clone(),
                reason,
            })
        });
        Ok(PublishReview {
            base: base.map(|b| b.version),
            diff,
            existing,
            prepared,
            target: self.target().to_owned(),
            trash_dir: self.trash().dir().to_owned(),
            boot,
        })
    }

    /// Publishes a document (`{"manifest": …, "metadata": …}` text). An existing (id, version)
    /// with the same contents is a no-op; with other contents it is refused unless
    /// `allow_overwrite`, and then the old row goes to the trash before it is replaced.
    pub fn publish(
        &self,
        text: &str,
        source_name: &str,
        options: PublishOptions,
    ) -> Result<PublishOutcome, RegistryError> {
        let prepared = prepare_publish(text, source_name)?;
        self.publish_prepared(&prepared, options)
    }

    /// [`Registry::publish`] of a document already prepared.
    pub fn publish_prepared(
        &self,
        p: &PreparedPublish,
        options: PublishOptions,
    ) -> Result<PublishOutcome, RegistryError> {
        self.publish_stored(p, options).map(|(outcome, _)| outcome)
    }

    /// Publishes, then verifies the row as the database holds it after the write: what the
    /// console and the CLI report is what is stored, not what they meant to store. The row is
    /// read back in the publish's own transaction, so this costs no extra round trip.
    pub fn publish_and_verify(
        &self,
        p: &PreparedPublish,
        options: PublishOptions,
    ) -> Result<PublishReport, RegistryError> {
        let (outcome, stored) = self.publish_stored(p, options)?;
        let readback = match stored {
            Some(row) => Ok(ReadBack {
                exact: p.is_stored_as(&row),
                verification: verify_record(&row, &mut Hasher::new()),
            }),
            None => Err(ReadBackError::Missing {
                id: p.id.clone(),
                version: p.version.clone(),
            }),
        };
        Ok(PublishReport { outcome, readback })
    }

    /// The publish, with the row at (id, version) as the publish's transaction left it.
    /// Rehearsed first (the row there, and the boot before and after, in one round trip), then
    /// guarded (spec 8.4), then written: two round trips remotely.
    fn publish_stored(
        &self,
        p: &PreparedPublish,
        options: PublishOptions,
    ) -> Result<(PublishOutcome, Option<PackageRecord>), RegistryError> {
        self.write_prepared(p, options, "publishing")
    }

    /// [`Registry::publish_stored`], the one way a row is written from its texts (a publish,
    /// a copy from another registry); `doing` names the write in a guard's refusal.
    pub(crate) fn write_prepared(
        &self,
        p: &PreparedPublish,
        options: PublishOptions,
        doing: &str,
    ) -> Result<(PublishOutcome, Option<PackageRecord>), RegistryError> {
        self.refuse_if_read_only("publish")?;
        let change = |old_hash: Option<&str>| Change {
            id: p.id.clone(),
            version: p.version.clone(),
            old_hash: old_hash.map(str::to_owned),
            new_hash: Some(p.hash.clone()),
        };
        let rehearsal = match self.rehearse(
            &[self.select_exact(&p.id, &p.version)],
            &[rehearsed_upsert(p, &options)],
            &[],
        ) {
            Ok(rehearsal) => rehearsal,
            Err(e) => {
                let old = self.get(&p.id, Some(&p.version)).ok().flatten();
                let (action, old_hash) = match &old {
                    Some(o) if options.allow_overwrite => ("overwrite", Some(o.hash.as_str())),
                    _ => ("publish", None),
                };
                return Err(self.rehearsal_failed(action, vec![change(old_hash)], e));
            }
        };
        let existing = rehearsal
            .reads
            .first()
            .cloned()
            .map(records)
            .and_then(|rows| rows.into_iter().next());
        let outcome = |replaced, unchanged, trash_file, boot| PublishOutcome {
            id: p.id.clone(),
            version: p.version.clone(),
            hash: p.hash.clone(),
            replaced,
            unchanged,
            trash_file,
            boot,
        };
        if let Some(old) = &existing {
            if p.is_stored_as(old) {
                return Ok((
                    outcome(None, true, None, super::BootChange::default()),
                    existing.clone(),
                ));
            }
            self.refuse_overwrite(p, old, &options)?;
        }
        let effect = self.boot_effect(&rehearsal, &publish_plan(p, existing.is_none()));
        effect.check(
            options.allow,
            &format!("{doing} {} {}", p.id, p.version),
            self.target(),
        )?;
        let boot = effect.change;

        let old = match existing {
            Some(old) => old,
            None => {
                // Insert, and overwrite nothing (the upsert's condition never holds); the row
                // is read before and after, in the same transaction: a row that appeared since
                // the rehearsal is handled as if it had been there.
                let ((existing, stored), _) =
                    self.journaled("publish", vec![change(None)], None, || {
                        let mut results = self
                            .store
                            .batch(&[
                                self.select_exact(&p.id, &p.version),
                                upsert(p, None),
                                self.select_exact(&p.id, &p.version),
                            ])?
                            .into_iter();
                        let existing = results.next().map(records).unwrap_or_default();
                        let stored = results.nth(1).map(records).unwrap_or_default();
                        let outcome = match existing.first() {
                            None => Outcome::Written,
                            Some(old) if p.is_stored_as(old) => Outcome::Unchanged,
                            Some(_) => Outcome::NotWritten,
                        };
                        Ok(((existing, stored), vec![outcome]))
                    })?;
                match existing.into_iter().next() {
                    None => {
                        return Ok((outcome(None, false, None, boot), stored.into_iter().next()))
                    }
                    Some(old) if p.is_stored_as(&old) => {
                        return Ok((
                            outcome(None, true, None, super::BootChange::default()),
                            Some(old),
                        ))
                    }
                    Some(old) => {
                        self.refuse_overwrite(p, &old, &options)?;
                        old
                    }
                }
            }
        };
        let (stored, trash_file) = self.journaled(
            "overwrite",
            vec![change(Some(&old.hash))],
            Some(std::slice::from_ref(&old)),
            || {
                let results = self
                    .store
                    .batch(&[upsert(p, Some(&old)), self.select_exact(&p.id, &p.version)])?;
                let stored = results
                    .into_iter()
                    .nth(1)
                    .map(records)
                    .unwrap_or_default()
                    .into_iter()
                    .next()
                    .filter(|r| r.hash.as_str() == p.hash.as_str());
                let outcome = if stored.is_some() {
                    Outcome::Written
                } else {
                    Outcome::NotWritten
                };
                Ok((stored, vec![outcome]))
            },
        )?;
        let Some(stored) = stored else {
            return Err(RegistryError::Conflict {
                target: self.target().to_owned(),
                id: p.id.clone(),
                version: p.version.clone(),
            });
        };
        Ok((outcome(Some(old), false, trash_file, boot), Some(stored)))
    }

    /// Whether `options` let a publish replace `old`, a row with other contents.
    fn refuse_overwrite(
        &self,
        p: &PreparedPublish,
        old: &PackageRecord,
        options: &PublishOptions,
    ) -> Result<(), RegistryError> {
        if options
            .replacing_hash
            .as_ref()
            .is_some_and(|expected| *expected != old.hash)
        {
            return Err(RegistryError::Conflict {
                target: self.target().to_owned(),
                id: p.id.clone(),
                version: p.version.clone(),
            });
        }
        if !options.allow_overwrite {
            return Err(RegistryError::WouldOverwrite {
                target: self.target().to_owned(),
                id: p.id.clone(),
                version: p.version.clone(),
                existing_hash: old.hash.clone(),
            });
        }
        Ok(())
    }

    /// A publishable document with exactly the stored texts, so that publishing it again
    /// gives the same hash.
    pub fn export(&self, id: &str, version: Option<&str>) -> Result<String, RegistryError> {
        let r = self.require(id, version)?;
        self.parsed_texts(&r)?;
        Ok(export_document(&r.manifest, &r.metadata))
    }

    /// The document a hotfix of `version` starts from: the stored one, its patch version
    /// bumped past every version the package has.
    pub fn hotfix_source(&self, id: &str, version: &str) -> Result<HotfixSource, RegistryError> {
        let r = self.require(id, Some(version))?;
        let (manifest, metadata) = self.parsed_texts(&r)?;
        let document = JsValue::Object(vec![
            ("manifest".into(), manifest),
            ("metadata".into(), metadata),
        ]);
        let versions = self.versions(id)?;
        let taken: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
        let (document, bumped) = hotfix_document(document, version, &taken);
        Ok(HotfixSource { document, bumped })
    }

    /// The manifest and metadata of a row, parsed; a text that is not JSON makes the row
    /// corrupt.
    fn parsed_texts(&self, r: &PackageRecord) -> Result<(JsValue, JsValue), RegistryError> {
        let parse = |what: &str, text: &str| {
            canonical::parse(text).map_err(|e: CanonicalError| RegistryError::Corrupt {
                target: self.target().to_owned(),
                id: r.id.clone(),
                version: r.version.clone(),
                reason: format!("its {what} is not valid JSON ({e})"),
            })
        };
        Ok((
            parse("manifest", &r.manifest)?,
            parse("metadata", &r.metadata)?,
        ))
    }
}

/// What the guard needs to know about a publish: a new version must become its package's
/// newest row; an overwrite keeps its place.
fn publish_plan(p: &PreparedPublish, new_row: bool) -> WritePlan {
    WritePlan {
        kind: WriteKind::Publish,
        written: vec![(p.id.clone(), p.version.clone())],
        must_lead: new_row,
        must_load: true,
        gone: Vec::new(),
    }
}

/// The upsert a publish with `options` does, for a rehearsal: the row there is not known yet,
/// so an overwrite is conditioned on `options` alone.
fn rehearsed_upsert(p: &PreparedPublish, options: &PublishOptions) -> Stmt {
    Stmt::new(
        "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(id, version) DO UPDATE SET manifest = excluded.manifest, \
         metadata = excluded.metadata, hash = excluded.hash, updated_at = CURRENT_TIMESTAMP \
         WHERE ? = 1 AND (? IS NULL OR sys_packages.hash = ?)",
        vec![
            p.id.clone().into(),
            p.version.clone().into(),
            p.manifest.clone().into(),
            p.metadata.clone().into(),
            p.hash.clone().into(),
            Value::Integer(i64::from(options.allow_overwrite)),
            options.replacing_hash.clone().into(),
            options.replacing_hash.clone().into(),
        ],
    )
}

/// The reference service's upsert. With `replacing`, the update only applies while the row
/// is still exactly `replacing`; without, the update never applies (insert only).
fn upsert(p: &PreparedPublish, replacing: Option<&PackageRecord>) -> Stmt {
    let (hash, manifest, metadata) = match replacing {
        Some(r) => (
            r.hash.clone().into(),
            r.manifest.clone().into(),
            r.metadata.clone().into(),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    Stmt::new(
        "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT(id, version) DO UPDATE SET manifest = excluded.manifest, \
         metadata = excluded.metadata, hash = excluded.hash, updated_at = CURRENT_TIMESTAMP \
         WHERE sys_packages.hash = ? AND sys_packages.manifest = ? AND sys_packages.metadata = ?",
        vec![
            p.id.clone().into(),
            p.version.clone().into(),
            p.manifest.clone().into(),
            p.metadata.clone().into(),
            p.hash.clone().into(),
            hash,
            manifest,
            metadata,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{scratch_registry, Problem};

    /// Options for publishing several versions within one second: the server would load the
    /// first of them (a same-second tie), which these tests are not about.
    fn within_a_second() -> PublishOptions {
        PublishOptions {
            allow: crate::registry::Allow::EVERYTHING,
            ..PublishOptions::default()
        }
    }

    fn doc(version: &str, object: &str) -> String {
        format!(
            r#"{{"manifest":{{"id":"com.acme.t","version":"{version}","type":"app","name":"T"}},"metadata":{{"objects":[{{"name":"{object}"}}]}}}}"#
        )
    }

    #[test]
    fn a_publish_reads_back_what_the_database_stored() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let r = scratch_registry(&dir.path().join("r.db"))?;
        let p = prepare_publish(&doc("1.0.0", "a"), "doc")?;
        let first = r.publish_and_verify(&p, PublishOptions::default())?;
        let read = first.readback.expect("the new row is read back");
        assert!(read.ok() && read.exact, "{read:?}");
        assert_eq!(read.verification.computed_hash, p.hash);
        let again = r.publish_and_verify(&p, PublishOptions::default())?;
        assert!(again.outcome.unchanged);
        assert!(again.readback.is_ok_and(|read| read.ok()));

        // Something in the database rewrites every new row: the read-back sees what it stored.
        rusqlite::Connection::open(dir.path().join("r.db"))
            .and_then(|db| {
                db.execute_batch(
                    "CREATE TRIGGER rewrite AFTER INSERT ON sys_packages BEGIN \
                     UPDATE sys_packages SET metadata = '{}' WHERE rowid = new.rowid; END;",
                )
            })
            .expect("a trigger");
        let p2 = prepare_publish(&doc("1.0.1", "a"), "doc")?;
        let rewritten = r.publish_and_verify(&p2, within_a_second())?;
        let read = rewritten.readback.expect("the row is there");
        assert!(!read.exact && !read.ok());
        assert_eq!(read.verification.problems, [Problem::HashMismatch]);
        Ok(())
    }

    #[test]
    fn a_review_says_what_a_publish_replaces_and_allows_only_that() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let r = scratch_registry(&dir.path().join("r.db"))?;
        let first = r.review_publish(prepare_publish(&doc("1.0.0", "a"), "doc")?)?;
        assert_eq!((first.existing.is_none(), first.base.clone()), (true, None));
        assert_eq!(first.options(), PublishOptions::default());
        r.publish(&doc("1.0.0", "a"), "doc", within_a_second())?;

        let next = r.review_publish(prepare_publish(&doc("1.1.0", "b"), "doc")?)?;
        assert_eq!(next.base.as_deref(), Some("1.0.0"), "against the latest");
        assert!(!next.overwrites() && !next.unchanged());
        let diff = next.diff.expect("a diff").expect("both readable");
        assert_eq!(diff.sections[0].added, ["b"]);

        let same = r.review_publish(prepare_publish(&doc("1.0.0", "a"), "doc")?)?;
        assert!(same.unchanged() && !same.overwrites());
        assert_eq!(same.options(), PublishOptions::default());

        let over = r.review_publish(prepare_publish(&doc("1.0.0", "c"), "doc")?)?;
        assert!(over.overwrites());
        let stored = over.existing.clone().expect("the stored row");
        assert_eq!(
            over.options(),
            PublishOptions {
                allow_overwrite: true,
                replacing_hash: Some(stored.hash),
                allow: Allow::NOTHING,
            }
        );
        // Someone else overwrites the reviewed row first: the reviewed publish is refused.
        r.publish(
            &doc("1.0.0", "d"),
            "doc",
            PublishOptions {
                allow_overwrite: true,
                replacing_hash: None,
                allow: Allow::NOTHING,
            },
        )?;
        let refused = r.publish_and_verify(&over.prepared, over.options());
        assert!(
            matches!(refused, Err(RegistryError::Conflict { .. })),
            "{refused:?}"
        );
        Ok(())
    }

    #[test]
    fn a_hotfix_starts_from_the_next_free_patch_version() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let r = scratch_registry(&dir.path().join("r.db"))?;
        for v in ["1.1.1", "1.1.2", "2.0.0"] {
            r.publish(&doc(v, "a"), "doc", within_a_second())?;
        }
        let source = r.hotfix_source("com.acme.t", "1.1.1")?;
        assert_eq!(source.bumped.as_deref(), Some("1.1.3"));
        let text = canonical::stringify(&source.document);
        assert_eq!(
            text,
            doc("1.1.3", "a"),
            "the stored document, version bumped"
        );
        assert!(matches!(
            r.hotfix_source("com.acme.t", "9.9.9"),
            Err(RegistryError::NotFound { .. })
        ));
        Ok(())
    }
}
