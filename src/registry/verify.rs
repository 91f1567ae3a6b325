//! Verifying rows from their stored texts: one row ([`verify_record`]: the hash over exactly
//! those texts, the identity against the manifest, the canonical form), one version loaded
//! for inspection with its texts parsed, and every row of a scope streamed with progress and
//! a way to cancel.

use super::canonical::{self, CanonicalError, Hasher, JsValue};
use super::manifest::DocumentProblem;
use super::record::{PackageRecord, Problem, Verification, VerifyReport, Warning};
use super::schema;
use super::{record_from_row, Registry, RegistryError, RECORD_COLUMNS, REMOTE_PAGE};
use crate::store::{Stmt, Value};

/// Which rows a verify covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Package(String),
    Version(String, String),
}

/// Progress of a running verify, handed to the caller after each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    pub checked: u64,
    pub total: u64,
    pub bytes: u64,
    pub failed: u64,
}

/// What a verify checks beyond the hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Check every row against the ObjectStack schemas (`verify --schema`): the warning
    /// `schema_invalid`. Opt-in, because it parses every item of every row.
    pub schema: bool,
}

/// The most schema problems one row's details list.
const SCHEMA_DETAILS: usize = 5;

/// Adds the `schema_invalid` warning to `v` when the row's texts break the ObjectStack
/// schemas, with one detail line per problem (the first [`SCHEMA_DETAILS`], then a line
/// saying there are more). Texts that are not JSON are left to the failures verify already
/// reports.
pub fn add_schema_warnings(manifest: &str, metadata: &str, v: &mut Verification) {
    let Some(found) = schema::check_stored(manifest, metadata, SCHEMA_DETAILS) else {
        return;
    };
    if found.problems.is_empty() {
        return;
    }
    v.warnings.push(Warning::SchemaInvalid);
    for p in &found.problems {
        v.details.push(format!("schema_invalid: {p}"));
    }
    if found.more {
        v.details.push(
            "schema_invalid: … and more (`pkgdeck check` on the exported document lists every \
             problem)"
                .into(),
        );
    }
}

/// One version as an inspection needs it: the stored row, its two texts parsed (or why
/// not), its verification, and what the ObjectStack schemas say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRecord {
    pub record: PackageRecord,
    pub manifest: Result<JsValue, CanonicalError>,
    pub metadata: Result<JsValue, CanonicalError>,
    pub verification: Verification,
    /// The schema problems of the row (spec 9); `None` when a text is not JSON.
    pub schema: Option<Vec<DocumentProblem>>,
}

impl LoadedRecord {
    /// Parses, verifies and checks `record` against the schemas.
    pub fn new(record: PackageRecord) -> LoadedRecord {
        let verification = verify_record(&record, &mut Hasher::new());
        let manifest = canonical::parse(&record.manifest);
        let metadata = canonical::parse(&record.metadata);
        let schema = match (&manifest, &metadata) {
            (Ok(m), Ok(d)) => Some(schema::check_parts(Some(m), Some(d))),
            _ => None,
        };
        LoadedRecord {
            record,
            manifest,
            metadata,
            verification,
            schema,
        }
    }
}

/// Verifies one row from its stored texts: the hash over exactly those texts, the identity
/// against the manifest, and the canonical form.
pub fn verify_record(record: &PackageRecord, hasher: &mut Hasher) -> Verification {
    let computed = canonical::to_hex(&hasher.hash(&record.manifest, &record.metadata));
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut details = Vec::new();
    if !computed.eq_ignore_ascii_case(&record.hash) {
        problems.push(Problem::HashMismatch);
        details.push(format!(
            "hash_mismatch: stored {} but the stored texts hash to {}",
            record.hash, computed
        ));
    }
    let (mut manifest_id, mut manifest_version) = (None, None);
    let mut noncanonical = Vec::new();
    // Stored texts may hold a lone surrogate escape (well-formed JSON.stringify writes one as
    // `\udxxx`), so they are read with the stored-text leniency; publish stays strict.
    match canonical::parse_stored(&record.manifest) {
        Err(e) => {
            problems.push(Problem::ManifestInvalidJson);
            details.push(format!("manifest_invalid_json: {e}"));
        }
        Ok(m) => {
            manifest_id = m.get("id").and_then(JsValue::as_str).map(str::to_owned);
            manifest_version = m
                .get("version")
                .and_then(JsValue::as_str)
                .map(str::to_owned);
            if manifest_id.as_deref() != Some(record.id.as_str())
                || manifest_version.as_deref() != Some(record.version.as_str())
            {
                problems.push(Problem::IdentityMismatch);
                details.push(format!(
                    "identity_mismatch: the row is {} {} but its manifest says {} {}",
                    record.id,
                    record.version,
                    manifest_id.as_deref().unwrap_or("(no id)"),
                    manifest_version.as_deref().unwrap_or("(no version)")
                ));
            }
            // Not `stringify(&m)`: the tree holds U+FFFD for a lone surrogate, so only the
            // text itself can say whether it is what JSON.stringify writes.
            if canonical::is_canonical_stored(&record.manifest) != Ok(true) {
                noncanonical.push("manifest");
            }
        }
    }
    // The metadata is the bulk of a row: check it without building a tree.
    match canonical::is_canonical_stored(&record.metadata) {
        Err(e) => {
            problems.push(Problem::MetadataInvalidJson);
            details.push(format!("metadata_invalid_json: {e}"));
        }
        Ok(false) => noncanonical.push("metadata"),
        Ok(true) => {}
    }
    if !noncanonical.is_empty() {
        warnings.push(Warning::NoncanonicalJson);
        details.push(format!(
            "noncanonical_json: the stored {} text is not what JSON.stringify writes",
            noncanonical.join(" and ")
        ));
    }
    Verification {
        rowid: record.rowid,
        id: record.id.clone(),
        version: record.version.clone(),
        stored_hash: record.hash.clone(),
        computed_hash: computed,
        manifest_id,
        manifest_version,
        problems,
        warnings,
        details,
    }
}

impl Registry {
    /// One version, parsed and verified, for inspection; a missing version is an error
    /// naming it.
    pub fn load_record(&self, id: &str, version: &str) -> Result<LoadedRecord, RegistryError> {
        self.require(id, Some(version)).map(LoadedRecord::new)
    }

    /// Verifies the rows of `scope` one at a time, streaming (never the whole registry in
    /// memory). `progress` is called after each row and returns `false` to cancel.
    pub fn verify(
        &self,
        scope: &Scope,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
    ) -> Result<VerifyReport, RegistryError> {
        self.verify_rows(scope, progress, &mut |_| {})
    }

    /// [`Registry::verify`], also handing every row's verification to `each_row` (ok rows
    /// too: the console keeps each row's result by its hash).
    pub fn verify_rows(
        &self,
        scope: &Scope,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
        each_row: &mut dyn FnMut(&Verification),
    ) -> Result<VerifyReport, RegistryError> {
        self.verify_with(scope, VerifyOptions::default(), progress, each_row)
    }

    /// [`Registry::verify_rows`] with the checks of `options` added to every row.
    pub fn verify_with(
        &self,
        scope: &Scope,
        options: VerifyOptions,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
        each_row: &mut dyn FnMut(&Verification),
    ) -> Result<VerifyReport, RegistryError> {
        let (filter, args): (&str, Vec<Value>) = match scope {
            Scope::All => ("", vec![]),
            Scope::Package(id) => (" AND id = ?", vec![id.clone().into()]),
            Scope::Version(id, v) => (
                " AND id = ? AND version = ?",
                vec![id.clone().into(), v.clone().into()],
            ),
        };
        let total = {
            let rows = self.store.query(&Stmt::new(
                format!("SELECT count(*) FROM sys_packages WHERE 1 = 1{filter}"),
                args.clone(),
            ))?;
            rows.rows
                .first()
                .and_then(|r| r.first())
                .and_then(Value::as_i64)
                .unwrap_or(0) as u64
        };
        let mut report = VerifyReport::default();
        let mut hasher = Hasher::new();
        let mut state = VerifyProgress {
            checked: 0,
            total,
            bytes: 0,
            failed: 0,
        };
        let page = self.store.pages().then_some(REMOTE_PAGE);
        let mut last_rowid = i64::MIN;
        loop {
            let from = last_rowid;
            // A remote store picks the page size (`limit`), keeping each answer small enough.
            let stmt = |limit: usize| {
                let mut page_args = vec![Value::Integer(from)];
                page_args.extend(args.iter().cloned());
                let mut sql = format!(
                    "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE rowid > ?{filter} ORDER BY rowid"
                );
                if page.is_some() {
                    sql.push_str(&format!(" LIMIT {limit}"));
                }
                Stmt::new(sql, page_args)
            };
            let mut in_page = 0usize;
            let mut cancelled = false;
            let asked = self
                .store
                .query_page(page.unwrap_or(usize::MAX), &stmt, &mut |row| {
                    let record = record_from_row(row.to_vec());
                    last_rowid = record.rowid;
                    in_page += 1;
                    let mut v = verify_record(&record, &mut hasher);
                    if options.schema {
                        add_schema_warnings(&record.manifest, &record.metadata, &mut v);
                    }
                    each_row(&v);
                    state.checked += 1;
                    state.bytes += (record.manifest.len() + record.metadata.len()) as u64;
                    if v.ok() {
                        report.ok += 1;
                    } else {
                        state.failed += 1;
                    }
                    if !v.warnings.is_empty() {
                        report.warnings.push(v.clone());
                    }
                    if !v.ok() {
                        report.failed.push(v);
                    }
                    if !progress(state) {
                        cancelled = true;
                        return false;
                    }
                    true
                })?;
            if cancelled {
                report.cancelled = true;
                break;
            }
            if page.is_none() || in_page < asked {
                break;
            }
        }
        report.checked = state.checked;
        Ok(report)
    }
}
