//! Copying versions from one registry to another (spec 11): the stored manifest and metadata
//! texts and the hash are written exactly as the source holds them (nothing is parsed or
//! re-serialised), through the same write as a publish, so the destination's guards (spec
//! 8.4), trash and audit apply, and the row is read back and verified in the write's own
//! transaction. `created_at` and `updated_at` are the destination's `CURRENT_TIMESTAMP`.

use super::canonical::Hasher;
use super::publish::{PreparedPublish, PublishOptions, PublishReport, PublishReview, ReadBack};
use super::{
    records, verify_record, PackageRecord, ReadBackError, Registry, RegistryError, RECORD_COLUMNS,
};
use crate::store::Stmt;

/// What a copy may do at the destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Replace a version the destination holds with other contents (the old row goes to the
    /// destination's trash).
    pub allow_overwrite: bool,
    /// The guards of spec 8.4 the operator overrides.
    pub allow: super::Allow,
}

impl CopyOptions {
    fn publish_options(self) -> PublishOptions {
        PublishOptions {
            allow_overwrite: self.allow_overwrite,
            replacing_hash: None,
            allow: self.allow,
        }
    }
}

/// The document a copy writes: the source row's own texts, hash, id and version.
pub fn copied(row: &PackageRecord) -> PreparedPublish {
    PreparedPublish {
        id: row.id.clone(),
        version: row.version.clone(),
        manifest: row.manifest.clone(),
        metadata: row.metadata.clone(),
        hash: row.hash.clone(),
        schema_warnings: Vec::new(),
    }
}

/// One version to copy, and what writing it at the destination would do.
#[derive(Debug, Clone)]
pub struct CopyStep {
    pub review: PublishReview,
}

impl CopyStep {
    /// Why the copy would be refused with `options`, as the write itself would say it.
    pub fn refusal(&self, options: CopyOptions) -> Option<RegistryError> {
        let p = &self.review.prepared;
        if self.review.unchanged() {
            return None;
        }
        if self.review.overwrites() && !options.allow_overwrite {
            return Some(RegistryError::WouldOverwrite {
                target: self.review.target.clone(),
                id: p.id.clone(),
                version: p.version.clone(),
                existing_hash: self
                    .review
                    .existing
                    .as_ref()
                    .map(|e| e.hash.clone())
                    .unwrap_or_default(),
            });
        }
        self.review
            .boot
            .check(
                options.allow,
                &format!("copying {} {}", p.id, p.version),
                &self.review.target,
            )
            .err()
    }
}

impl Registry {
    /// The rows a copy of `id` takes from this (the source) registry: `version`, or the
    /// latest when `None`, or with `all` every version, oldest first (so that the destination's
    /// latest ends up the source's). A row whose hash does not match its texts is refused: a
    /// copy would carry a broken row.
    pub fn copy_source(
        &self,
        id: &str,
        version: Option<&str>,
        all: bool,
    ) -> Result<Vec<PackageRecord>, RegistryError> {
        let rows = if all {
            let rows = records(self.store.query(&Stmt::new(
                format!(
                    "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? \
                     ORDER BY created_at ASC, rowid ASC"
                ),
                vec![id.into()],
            ))?);
            if rows.is_empty() {
                return Err(self.not_found(id, None));
            }
            rows
        } else {
            vec![self.require(id, version)?]
        };
        let mut hasher = Hasher::new();
        for row in &rows {
            let v = verify_record(row, &mut hasher);
            if !v.ok() {
                return Err(RegistryError::Corrupt {
                    target: self.target().to_owned(),
                    id: row.id.clone(),
                    version: row.version.clone(),
                    reason: format!("{}; it is not copied", v.details.join("; ")),
                });
            }
        }
        Ok(rows)
    }

    /// What copying `rows` into this (the destination) registry would do, each version
    /// reviewed as a publish of it is: the row it replaces and the boot change with the
    /// guards' verdict (one rehearsal each, nothing written). Each is reviewed against the
    /// registry as it is now, not after the copies before it.
    pub fn plan_copy(&self, rows: &[PackageRecord]) -> Result<Vec<CopyStep>, RegistryError> {
        rows.iter()
            .map(|row| {
                Ok(CopyStep {
                    review: self.review_publish(copied(row))?,
                })
            })
            .collect()
    }

    /// Copies `row` (read from another registry) into this one exactly, guarded, with trash
    /// and audit as a publish; the same contents already there is a no-op. The row is read
    /// back and verified in the write's transaction.
    pub fn copy_in(
        &self,
        row: &PackageRecord,
        options: CopyOptions,
    ) -> Result<PublishReport, RegistryError> {
        let p = copied(row);
        let (outcome, stored) = self.write_prepared(&p, options.publish_options(), "copying")?;
        let readback = match stored {
            Some(stored) => Ok(ReadBack {
                exact: p.is_stored_as(&stored),
                verification: verify_record(&stored, &mut Hasher::new()),
            }),
            None => Err(ReadBackError::Missing {
                id: p.id.clone(),
                version: p.version.clone(),
            }),
        };
        Ok(PublishReport { outcome, readback })
    }

    /// [`Registry::copy_in`] of several rows in turn (oldest first), stopping at the first
    /// that fails. After each row written, the next waits for the next second: rows written
    /// in one second would share `created_at`, and the server would read the older one first
    /// (a same-second tie, refused by the guards). Each report goes to `each` as it is made.
    pub fn copy_all_in(
        &self,
        rows: &[PackageRecord],
        options: CopyOptions,
        each: &mut dyn FnMut(PublishReport),
    ) -> Result<(), RegistryError> {
        let mut wrote = false;
        for row in rows {
            if wrote {
                super::promote::wait_for_next_second();
            }
            let report = self.copy_in(row, options)?;
            wrote = !report.outcome.unchanged;
            each(report);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::scratch_registry;

    #[test]
    fn a_copy_writes_the_stored_texts_exactly() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let (a, b) = (
            scratch_registry(&dir.path().join("a.db"))?,
            scratch_registry(&dir.path().join("b.db"))?,
        );
        // Stored texts that a publish would not produce (spacing, key order): kept as they are.
        let manifest = r#"{ "version":"1.0.0", "id":"com.acme.t", "type":"app", "name":"T" }"#;
        let metadata = r#"{"objects": []}"#;
        let hash = crate::registry::canonical::integrity_hash(manifest, metadata);
        a.store.batch(&[Stmt::new(
            "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES (?, ?, ?, ?, ?)",
            vec!["com.acme.t".into(), "1.0.0".into(), manifest.into(), metadata.into(), hash.clone().into()],
        )])?;
        let rows = a.copy_source("com.acme.t", None, false)?;
        let steps = b.plan_copy(&rows)?;
        assert!(steps[0].review.existing.is_none());
        assert!(steps[0].refusal(CopyOptions::default()).is_none());
        let report = b.copy_in(&rows[0], CopyOptions::default())?;
        assert!(report.readback.as_ref().is_ok_and(ReadBack::ok));
        let stored = b.require("com.acme.t", Some("1.0.0"))?;
        assert_eq!(
            (
                stored.manifest.as_str(),
                stored.metadata.as_str(),
                stored.hash.as_str()
            ),
            (manifest, metadata, hash.as_str())
        );
        let again = b.copy_in(&rows[0], CopyOptions::default())?;
        assert!(again.outcome.unchanged);

        // A corrupt source row is not copied.
        a.store.batch(&[Stmt::new(
            "UPDATE sys_packages SET metadata = '{\"objects\":[1]}'",
            vec![],
        )])?;
        assert!(matches!(
            a.copy_source("com.acme.t", Some("1.0.0"), false),
            Err(RegistryError::Corrupt { .. })
        ));
        Ok(())
    }
}
