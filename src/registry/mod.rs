//! The embedded registry service: what the ObjectStack package service does with
//! `sys_packages`, on any [`Store`], with its two defects fixed (which version is latest, and
//! one row per package in the list) and with pkgdeck's safety (trash before every delete or
//! overwrite, an audit line after every write). No terminal code lives here.

pub mod audit;
pub mod canonical;
pub mod diff;
pub mod manifest;
pub mod pretty;
pub mod record;
pub mod schema;
pub mod trash;

use std::path::PathBuf;

use crate::store::{Rows, Stmt, Store, StoreError, Value};
use canonical::{CanonicalError, Hasher, JsValue};
pub use record::*;

pub use audit::AuditLog;
pub use trash::Trash;

/// The one ordering that decides "latest": the most recently inserted version. Same-second
/// ties (CURRENT_TIMESTAMP has one-second resolution) are broken by insertion order (rowid).
pub const LATEST_FIRST: &str = "created_at DESC, rowid DESC";

/// The two idempotent statements the reference service runs.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS sys_packages (\n  id TEXT NOT NULL,\n  version TEXT NOT NULL,\n  manifest TEXT NOT NULL,\n  metadata TEXT NOT NULL,\n  hash TEXT NOT NULL,\n  created_at TEXT DEFAULT CURRENT_TIMESTAMP,\n  updated_at TEXT DEFAULT CURRENT_TIMESTAMP,\n  PRIMARY KEY (id, version)\n)",
    "CREATE INDEX IF NOT EXISTS idx_packages_latest ON sys_packages(id, created_at DESC)",
];

const RECORD_COLUMNS: &str = "rowid, id, version, manifest, metadata, hash, created_at, updated_at";

/// Rows per request when a store pages (remote targets); local scans stream unpaged.
const REMOTE_PAGE: usize = 1000;

/// Rows a local list hands over first, before the rest (see [`Registry::list_with`]).
pub const FIRST_PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{source_name} is not valid JSON: {error}")]
    InvalidJson {
        source_name: String,
        error: CanonicalError,
    },
    #[error("{source_name} is not a valid package document: {}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidDocument {
        source_name: String,
        problems: Vec<manifest::DocumentProblem>,
    },
    #[error("{id} {version} already exists in {target} with different contents (hash {existing_hash}); pass --allow-overwrite to replace it (the old row goes to the trash)")]
    WouldOverwrite {
        target: String,
        id: String,
        version: String,
        existing_hash: String,
    },
    #[error("{what} was not found in {target}")]
    NotFound { target: String, what: String },
    #[error("{target} is open read-only: {action} refused")]
    ReadOnly { target: String, action: String },
    #[error("{id} {version} in {target} changed while it was being written; nothing was written, try again")]
    Conflict {
        target: String,
        id: String,
        version: String,
    },
    #[error("row {id} {version} in {target} is corrupt: {reason}")]
    Corrupt {
        target: String,
        id: String,
        version: String,
        reason: String,
    },
    #[error("cannot save to the trash in {}: {reason}; nothing was changed", .dir.display())]
    Trash { dir: PathBuf, reason: String },
    #[error("the trash file {} cannot be restored: {reason}", .file.display())]
    BadTrashFile { file: PathBuf, reason: String },
    #[error("restoring {id} {version} would overwrite a different row in {target}; delete that version first")]
    RestoreConflict {
        target: String,
        id: String,
        version: String,
    },
}

/// How a caller wants a publish to treat an existing (id, version) with other contents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishOptions {
    pub allow_overwrite: bool,
    /// With `allow_overwrite`: overwrite only a row that still has this hash (the one the
    /// operator reviewed); any other row there refuses the publish with a conflict.
    pub replacing_hash: Option<String>,
}

/// A publish document checked and turned into the texts that will be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedPublish {
    pub id: String,
    pub version: String,
    pub manifest: String,
    pub metadata: String,
    pub hash: String,
}

/// Reads a publish document and returns exactly what would be stored, or why not: invalid
/// JSON (with line and column), or every manifest problem with its path. Touches no store.
pub fn prepare_publish(text: &str, source_name: &str) -> Result<PreparedPublish, RegistryError> {
    let doc = canonical::parse(text).map_err(|error| RegistryError::InvalidJson {
        source_name: source_name.to_owned(),
        error,
    })?;
    let problems = manifest::validate_document(&doc);
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
    })
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

/// The registry on one store, with the trash and audit log that protect its writes.
pub struct Registry {
    store: Box<dyn Store>,
    trash: Trash,
    audit: AuditLog,
}

fn text(v: Option<Value>) -> String {
    v.and_then(Value::into_text).unwrap_or_default()
}

fn record_from_row(row: Vec<Value>) -> PackageRecord {
    let mut it = row.into_iter();
    let rowid = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    PackageRecord {
        rowid,
        id: text(it.next()),
        version: text(it.next()),
        manifest: text(it.next()),
        metadata: text(it.next()),
        hash: text(it.next()),
        created_at: it.next().and_then(Value::into_text),
        updated_at: it.next().and_then(Value::into_text),
    }
}

fn records(rows: Rows) -> Vec<PackageRecord> {
    rows.rows.into_iter().map(record_from_row).collect()
}

impl Registry {
    /// Opens the registry on `store`. Read-write creates `sys_packages` when missing (as the
    /// reference service does); read-only reports a missing table instead.
    pub fn open(
        store: Box<dyn Store>,
        trash: Trash,
        audit: AuditLog,
    ) -> Result<Registry, RegistryError> {
        let registry = Registry {
            store,
            trash,
            audit,
        };
        let found = registry.store.query(&Stmt::new(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sys_packages'",
            vec![],
        ))?;
        let exists = found
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            == Some(1);
        if !exists {
            if registry.store.read_only() {
                return Err(StoreError::MissingTable {
                    target: registry.store.target().to_owned(),
                }
                .into());
            }
            // Only a registry without the table gets the reference service's two statements;
            // an existing one is never touched.
            let stmts: Vec<Stmt> = SCHEMA.iter().map(|s| Stmt::new(*s, vec![])).collect();
            registry.store.batch(&stmts)?;
        }
        Ok(registry)
    }

    /// The target as it may be shown (token masked).
    pub fn target(&self) -> &str {
        self.store.target()
    }

    pub fn read_only(&self) -> bool {
        self.store.read_only()
    }

    /// Network round trips made so far (0 on a local file).
    pub fn round_trips(&self) -> u64 {
        self.store.round_trips()
    }

    pub fn trash(&self) -> &Trash {
        &self.trash
    }

    fn refuse_if_read_only(&self, action: &str) -> Result<(), RegistryError> {
        if self.store.read_only() {
            return Err(RegistryError::ReadOnly {
                target: self.target().to_owned(),
                action: action.to_owned(),
            });
        }
        Ok(())
    }

    fn not_found(&self, id: &str, version: Option<&str>) -> RegistryError {
        RegistryError::NotFound {
            target: self.target().to_owned(),
            what: match version {
                Some(v) => format!("package {id} version {v}"),
                None => format!("package {id}"),
            },
        }
    }

    /// The number of packages and of rows.
    pub fn counts(&self) -> Result<(u64, u64), RegistryError> {
        let rows = self.store.query(&Stmt::new(
            "SELECT count(DISTINCT id), count(*) FROM sys_packages",
            vec![],
        ))?;
        let row = rows.rows.into_iter().next().unwrap_or_default();
        let n = |i: usize| row.get(i).and_then(Value::as_i64).unwrap_or(0) as u64;
        Ok((n(0), n(1)))
    }

    /// One page of the latest version of every package, newest first, after `after` (the
    /// `(created_at, rowid)` of the last row of the previous page). Reads the manifest of the
    /// latest rows only; the other rows are found through the index alone.
    ///
    /// With a `limit`, the page is chosen from the index alone and only then joined to the
    /// table, so it reads only its own rows: the latest row's `created_at`, the first key of
    /// [`LATEST_FIRST`], is its package's `max(created_at)`. On 20,000 packages a 60-row page
    /// takes 30–45 ms this way instead of 80–130 ms. Without a limit, the rows are joined
    /// first and sorted once, which is cheaper when every row is read anyway.
    pub fn list_page(
        &self,
        after: Option<(&str, i64)>,
        limit: Option<usize>,
    ) -> Result<Vec<PackageSummary>, RegistryError> {
        const COLUMNS: &str =
            "p.rowid, p.id, p.version, p.manifest, p.hash, p.created_at, p.updated_at";
        let latest_rowid = format!(
            "(SELECT q.rowid FROM sys_packages q WHERE q.id = o.id ORDER BY {LATEST_FIRST} LIMIT 1)"
        );
        let mut args = Vec::new();
        let Some(limit) = limit else {
            let mut sql = format!(
                "SELECT {COLUMNS}, g.n \
                 FROM (SELECT count(*) AS n, {latest_rowid} AS rid FROM sys_packages o GROUP BY o.id) g \
                 JOIN sys_packages p ON p.rowid = g.rid"
            );
            if let Some((created_at, rowid)) = after {
                sql.push_str(
                    " WHERE coalesce(p.created_at, '') < ? OR (coalesce(p.created_at, '') = ? AND p.rowid < ?)",
                );
                args.extend([created_at.into(), created_at.into(), Value::Integer(rowid)]);
            }
            sql.push_str(" ORDER BY coalesce(p.created_at, '') DESC, p.rowid DESC");
            let rows = self.store.query(&Stmt::new(sql, args))?;
            return Ok(rows.rows.into_iter().map(summary_from_row).collect());
        };
        let mut sql = format!(
            "SELECT {COLUMNS}, k.n \
             FROM (SELECT rid, ca, n FROM \
                    (SELECT count(*) AS n, coalesce(max(o.created_at), '') AS ca, {latest_rowid} AS rid \
                     FROM sys_packages o GROUP BY o.id)"
        );
        if let Some((created_at, rowid)) = after {
            sql.push_str(" WHERE ca < ? OR (ca = ? AND rid < ?)");
            args.extend([created_at.into(), created_at.into(), Value::Integer(rowid)]);
        }
        sql.push_str(
            " ORDER BY ca DESC, rid DESC LIMIT ?) k \
             JOIN sys_packages p ON p.rowid = k.rid ORDER BY k.ca DESC, k.rid DESC",
        );
        args.push(Value::Integer(limit as i64));
        let rows = self.store.query(&Stmt::new(sql, args))?;
        Ok(rows.rows.into_iter().map(summary_from_row).collect())
    }

    /// The latest version of every package, newest first: exactly one row per package.
    /// Every page goes to `each_page` as it arrives (the caller keeps what it needs; nothing
    /// is held here): remote stores are read page by page; a local file hands over its newest
    /// [`FIRST_PAGE`] rows first (a console can draw them at once), then the rest in one query.
    pub fn list_with(
        &self,
        each_page: &mut dyn FnMut(Vec<PackageSummary>),
    ) -> Result<(), RegistryError> {
        let remote = self.store.pages();
        let mut page = Some(if remote { REMOTE_PAGE } else { FIRST_PAGE });
        let mut after: Option<(String, i64)> = None;
        loop {
            let got = self.list_page(after.as_ref().map(|(c, r)| (c.as_str(), *r)), page)?;
            let done = page.is_none_or(|p| got.len() < p);
            after = got
                .last()
                .map(|s| (s.created_at.clone().unwrap_or_default(), s.rowid));
            each_page(got);
            if done {
                return Ok(());
            }
            if !remote {
                page = None;
            }
        }
    }

    /// The latest version of every package, newest first: exactly one row per package. A
    /// local file is read in one query.
    pub fn list(&self) -> Result<Vec<PackageSummary>, RegistryError> {
        if self.store.pages() {
            let mut all = Vec::new();
            self.list_with(&mut |page| all.extend(page))?;
            Ok(all)
        } else {
            self.list_page(None, None)
        }
    }

    /// Every version of `id`, newest first by the same rule as latest. Empty when the package
    /// does not exist.
    pub fn versions(&self, id: &str) -> Result<Vec<VersionSummary>, RegistryError> {
        let rows = self.store.query(&Stmt::new(
            format!(
                "SELECT rowid, id, version, hash, created_at, updated_at FROM sys_packages \
                 WHERE id = ? ORDER BY {LATEST_FIRST}"
            ),
            vec![id.into()],
        ))?;
        Ok(rows
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let mut it = row.into_iter();
                VersionSummary {
                    rowid: it.next().and_then(|v| v.as_i64()).unwrap_or_default(),
                    id: text(it.next()),
                    version: text(it.next()),
                    hash: text(it.next()),
                    created_at: it.next().and_then(Value::into_text),
                    updated_at: it.next().and_then(Value::into_text),
                    latest: i == 0,
                }
            })
            .collect())
    }

    /// One record: `version` `None` or `"latest"` means the most recently inserted version.
    pub fn get(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<Option<PackageRecord>, RegistryError> {
        let stmt = match version.filter(|v| *v != "latest") {
            Some(v) => Stmt::new(
                format!("SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? AND version = ?"),
                vec![id.into(), v.into()],
            ),
            None => Stmt::new(
                format!(
                    "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? ORDER BY {LATEST_FIRST} LIMIT 1"
                ),
                vec![id.into()],
            ),
        };
        Ok(records(self.store.query(&stmt)?).into_iter().next())
    }

    /// Like [`Registry::get`] but a missing record is an error naming it.
    pub fn require(&self, id: &str, version: Option<&str>) -> Result<PackageRecord, RegistryError> {
        self.get(id, version)?
            .ok_or_else(|| self.not_found(id, version.filter(|v| *v != "latest")))
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

    pub fn publish_prepared(
        &self,
        p: &PreparedPublish,
        options: PublishOptions,
    ) -> Result<PublishOutcome, RegistryError> {
        self.refuse_if_read_only("publish")?;
        // First attempt: insert, and overwrite nothing (the upsert's condition never holds).
        let results = self
            .store
            .batch(&[self.select_exact(&p.id, &p.version), upsert(p, None)])?;
        let existing = results.into_iter().next().map(records).unwrap_or_default();
        let Some(old) = existing.into_iter().next() else {
            self.audit.record(
                self.target(),
                "publish",
                &p.id,
                &p.version,
                None,
                Some(&p.hash),
            );
            return Ok(PublishOutcome {
                id: p.id.clone(),
                version: p.version.clone(),
                hash: p.hash.clone(),
                replaced: None,
                unchanged: false,
                trash_file: None,
            });
        };
        if old.hash == p.hash && old.manifest == p.manifest && old.metadata == p.metadata {
            return Ok(PublishOutcome {
                id: p.id.clone(),
                version: p.version.clone(),
                hash: p.hash.clone(),
                replaced: None,
                unchanged: true,
                trash_file: None,
            });
        }
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
                existing_hash: old.hash,
            });
        }
        let trash_file = self
            .trash
            .save(self.target(), "overwrite", std::slice::from_ref(&old))?;
        let results = self
            .store
            .batch(&[upsert(p, Some(&old)), self.select_exact(&p.id, &p.version)])?;
        let after = results.into_iter().nth(1).map(records).unwrap_or_default();
        if after.first().map(|r| r.hash.as_str()) != Some(p.hash.as_str()) {
            return Err(RegistryError::Conflict {
                target: self.target().to_owned(),
                id: p.id.clone(),
                version: p.version.clone(),
            });
        }
        self.audit.record(
            self.target(),
            "overwrite",
            &p.id,
            &p.version,
            Some(&old.hash),
            Some(&p.hash),
        );
        Ok(PublishOutcome {
            id: p.id.clone(),
            version: p.version.clone(),
            hash: p.hash.clone(),
            replaced: Some(old),
            unchanged: false,
            trash_file: Some(trash_file),
        })
    }

    fn select_exact(&self, id: &str, version: &str) -> Stmt {
        Stmt::new(
            format!("SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? AND version = ?"),
            vec![id.into(), version.into()],
        )
    }

    /// The rows a delete of one version, or of every version of `id`, would remove: whole
    /// records, newest first. A [`Registry::delete_rows`] of exactly these is the delete.
    pub fn delete_plan(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<Vec<PackageRecord>, RegistryError> {
        let rows = match version {
            Some(v) => records(self.store.query(&self.select_exact(id, v))?),
            None => records(self.store.query(&Stmt::new(
                format!(
                    "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? ORDER BY {LATEST_FIRST}"
                ),
                vec![id.into()],
            ))?),
        };
        if rows.is_empty() {
            return Err(self.not_found(id, version));
        }
        Ok(rows)
    }

    /// Deletes one version, or every version of `id`: [`Registry::delete_plan`] then
    /// [`Registry::delete_rows`].
    pub fn delete(&self, id: &str, version: Option<&str>) -> Result<DeleteOutcome, RegistryError> {
        self.refuse_if_read_only("delete")?;
        let rows = self.delete_plan(id, version)?;
        self.delete_rows(rows)
    }

    /// Deletes exactly `rows` (as read by [`Registry::delete_plan`], e.g. for a confirm
    /// dialog): they are saved to the trash first, then deleted in one transaction (one round
    /// trip) on the condition that each is still unchanged; a row that changed meanwhile is
    /// kept and reported.
    pub fn delete_rows(&self, rows: Vec<PackageRecord>) -> Result<DeleteOutcome, RegistryError> {
        self.refuse_if_read_only("delete")?;
        if rows.is_empty() {
            return Ok(DeleteOutcome {
                deleted: vec![],
                kept: vec![],
                trash_file: None,
            });
        }
        let trash_file = self.trash.save(self.target(), "delete", &rows)?;
        let stmts: Vec<Stmt> = rows
            .iter()
            .map(|r| {
                Stmt::new(
                    "DELETE FROM sys_packages WHERE id = ? AND version = ? AND hash = ? \
                     AND manifest = ? AND metadata = ?",
                    vec![
                        r.id.clone().into(),
                        r.version.clone().into(),
                        r.hash.clone().into(),
                        r.manifest.clone().into(),
                        r.metadata.clone().into(),
                    ],
                )
            })
            .collect();
        let results = self.store.batch(&stmts)?;
        let (mut deleted, mut kept) = (Vec::new(), Vec::new());
        for (row, result) in rows.into_iter().zip(results) {
            if result.affected > 0 {
                self.audit.record(
                    self.target(),
                    "delete",
                    &row.id,
                    &row.version,
                    Some(&row.hash),
                    None,
                );
                deleted.push(row);
            } else {
                kept.push(row);
            }
        }
        Ok(DeleteOutcome {
            deleted,
            kept,
            trash_file: Some(trash_file),
        })
    }

    /// Puts the rows of a trash file back exactly (texts, hash, created_at, updated_at). A row
    /// already there unchanged is skipped; a different row at the same (id, version) refuses
    /// the whole restore. Returns the rows restored.
    pub fn restore(&self, file: &std::path::Path) -> Result<Vec<PackageRecord>, RegistryError> {
        self.refuse_if_read_only("restore")?;
        let rows = Trash::read(file)?;
        let mut to_insert = Vec::new();
        for row in rows {
            match self.get(&row.id, Some(&row.version))? {
                Some(existing)
                    if existing.hash == row.hash
                        && existing.manifest == row.manifest
                        && existing.metadata == row.metadata => {}
                Some(_) => {
                    return Err(RegistryError::RestoreConflict {
                        target: self.target().to_owned(),
                        id: row.id,
                        version: row.version,
                    })
                }
                None => to_insert.push(row),
            }
        }
        // Each row goes back under its old rowid when that is free, so it takes its old place
        // in the insertion order; otherwise it gets a new one.
        const VALUES: &str = "id, version, manifest, metadata, hash, created_at, updated_at";
        let mut stmts: Vec<Stmt> = Vec::new();
        for r in &to_insert {
            let values: Vec<Value> = vec![
                r.id.clone().into(),
                r.version.clone().into(),
                r.manifest.clone().into(),
                r.metadata.clone().into(),
                r.hash.clone().into(),
                r.created_at.clone().into(),
                r.updated_at.clone().into(),
            ];
            if r.rowid > 0 {
                let mut args = vec![Value::Integer(r.rowid)];
                args.extend(values.iter().cloned());
                args.push(Value::Integer(r.rowid));
                stmts.push(Stmt::new(
                    format!(
                        "INSERT INTO sys_packages (rowid, {VALUES}) SELECT ?, ?, ?, ?, ?, ?, ?, ? \
                         WHERE NOT EXISTS (SELECT 1 FROM sys_packages WHERE rowid = ?)"
                    ),
                    args,
                ));
                let mut args = values;
                args.extend([
                    Value::Integer(r.rowid),
                    r.id.clone().into(),
                    r.version.clone().into(),
                ]);
                stmts.push(Stmt::new(
                    format!(
                        "INSERT INTO sys_packages ({VALUES}) SELECT ?, ?, ?, ?, ?, ?, ? \
                         WHERE NOT EXISTS (SELECT 1 FROM sys_packages WHERE rowid = ? AND id = ? AND version = ?)"
                    ),
                    args,
                ));
            } else {
                stmts.push(Stmt::new(
                    format!("INSERT INTO sys_packages ({VALUES}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                    values,
                ));
            }
        }
        if !stmts.is_empty() {
            self.store.batch(&stmts)?;
        }
        for r in &to_insert {
            self.audit.record(
                self.target(),
                "restore",
                &r.id,
                &r.version,
                None,
                Some(&r.hash),
            );
        }
        Ok(to_insert)
    }

    /// Verifies the rows of `scope` one at a time, streaming (never the whole registry in
    /// memory). `progress` is called after each row and returns `false` to cancel.
    pub fn verify(
        &self,
        scope: &Scope,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
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
            let mut page_args = vec![Value::Integer(last_rowid)];
            page_args.extend(args.iter().cloned());
            let mut sql = format!(
                "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE rowid > ?{filter} ORDER BY rowid"
            );
            if let Some(n) = page {
                sql.push_str(&format!(" LIMIT {n}"));
            }
            let mut in_page = 0usize;
            let mut cancelled = false;
            self.store
                .query_each(&Stmt::new(sql, page_args), &mut |row| {
                    let record = record_from_row(row.to_vec());
                    last_rowid = record.rowid;
                    in_page += 1;
                    let v = verify_record(&record, &mut hasher);
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
            if page.is_none_or(|n| in_page < n) {
                break;
            }
        }
        report.checked = state.checked;
        Ok(report)
    }

    /// What changed between two versions of `id`.
    pub fn diff(&self, id: &str, from: &str, to: &str) -> Result<PackageDiff, RegistryError> {
        let old = self.require(id, Some(from))?;
        let new = self.require(id, Some(to))?;
        diff::diff_records(&old, &new).map_err(|(which, reason)| RegistryError::Corrupt {
            target: self.target().to_owned(),
            id: id.to_owned(),
            version: if which {
                to.to_owned()
            } else {
                from.to_owned()
            },
            reason,
        })
    }

    /// A publishable document with exactly the stored texts, so that publishing it again
    /// gives the same hash.
    pub fn export(&self, id: &str, version: Option<&str>) -> Result<String, RegistryError> {
        let r = self.require(id, version)?;
        for (what, text) in [("manifest", &r.manifest), ("metadata", &r.metadata)] {
            if let Err(e) = canonical::parse(text) {
                return Err(RegistryError::Corrupt {
                    target: self.target().to_owned(),
                    id: r.id.clone(),
                    version: r.version.clone(),
                    reason: format!("its {what} is not valid JSON ({e})"),
                });
            }
        }
        Ok(export_document(&r.manifest, &r.metadata))
    }
}

/// The publish document made of two stored texts.
pub fn export_document(manifest: &str, metadata: &str) -> String {
    format!("{{\"manifest\":{manifest},\"metadata\":{metadata}}}")
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

fn summary_from_row(row: Vec<Value>) -> PackageSummary {
    let mut it = row.into_iter();
    let rowid = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let id = text(it.next());
    let version = text(it.next());
    let manifest = text(it.next());
    // For display: a lone surrogate escape the service stored shows as U+FFFD.
    let parsed = canonical::parse_stored(&manifest).ok();
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(JsValue::as_str)
            .map(str::to_owned)
    };
    PackageSummary {
        rowid,
        name: field("name"),
        kind: field("type"),
        manifest_readable: parsed.is_some(),
        id,
        version,
        hash: text(it.next()),
        created_at: it.next().and_then(Value::into_text),
        updated_at: it.next().and_then(Value::into_text),
        versions: it.next().and_then(|v| v.as_i64()).unwrap_or(0) as u64,
    }
}
