//! The embedded registry service: what the ObjectStack package service does with
//! `sys_packages`, on any [`Store`], with its two defects fixed (which version is latest, and
//! one row per package in the list) and with pkgdeck's safety (trash before every delete or
//! overwrite, audit lines before and after every write). No terminal code lives here.
//!
//! Every decision about the registry is made in this module and its children, as plain
//! blocking functions with typed results; the console's worker and the CLI only call them.
//! This file holds [`Registry`] itself, opening, the reads (counts, list, versions, get) and
//! the SQL they share; `publish`, `delete`, `restore`, `verify` and `diff` hold the rest, and
//! `journal` runs every write so that a killed one is resolved by the next run.

pub mod audit;
pub mod boot;
pub mod canonical;
pub(crate) mod check;
pub mod compare;
pub mod copy;
pub(crate) mod delete;
pub(crate) mod diff;
pub mod guard;
pub(crate) mod journal;
mod list;
pub(crate) mod live;
pub(crate) mod manifest;
pub(crate) mod pretty;
pub(crate) mod promote;
pub(crate) mod publish;
pub(crate) mod record;
pub(crate) mod restore;
pub mod schema;
pub mod server;
pub mod trash;
pub(crate) mod verify;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use crate::store::{Rows, Span, Stmt, Store, StoreError, Value, ValueRef};
use canonical::CanonicalError;
pub use record::*;

pub use audit::AuditLog;
pub use compare::{compare, CompareSummary, PackageComparison, VersionComparison, VersionState};
pub use copy::{CopyOptions, CopyStep};
pub use delete::{DeletePlan, DeleteReport};
pub use guard::{Allow, BootChange, BootEffect, WriteKind, WritePlan};
pub use journal::Bookkeeping;
pub use live::ChangeMark;
pub use promote::{PromoteOutcome, PromotePlan};
pub use publish::{
    export_document, hotfix_document, prepare_publish, HotfixSource, Incomparable, PreparedPublish,
    PublishOptions, PublishReport, PublishReview, ReadBack, ReadBackError,
};
pub use restore::{RestorePlan, RestoreReport};
pub use server::{BootSettings, DoctorReport, Served, ServedDiffers};
pub use trash::Trash;
pub use verify::{verify_record, LoadedRecord, Scope, VerifyOptions, VerifyProgress};

/// The one ordering that decides "latest": the most recently inserted version. Same-second
/// ties (CURRENT_TIMESTAMP has one-second resolution) are broken by insertion order (rowid).
pub const LATEST_FIRST: &str = "created_at DESC, rowid DESC";

/// The two idempotent statements the reference service runs.
pub const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS sys_packages (\n  id TEXT NOT NULL,\n  version TEXT NOT NULL,\n  manifest TEXT NOT NULL,\n  metadata TEXT NOT NULL,\n  hash TEXT NOT NULL,\n  created_at TEXT DEFAULT CURRENT_TIMESTAMP,\n  updated_at TEXT DEFAULT CURRENT_TIMESTAMP,\n  PRIMARY KEY (id, version)\n)",
    "CREATE INDEX IF NOT EXISTS idx_packages_latest ON sys_packages(id, created_at DESC)",
];

/// Every column of a row, in the order [`record_from_row`] reads them.
const RECORD_COLUMNS: &str = "rowid, id, version, manifest, metadata, hash, created_at, updated_at";

/// Rows per request when a store pages (remote targets); local scans stream unpaged.
const REMOTE_PAGE: usize = 1000;

/// The row cap of a remote page that only its bytes should bound (verify): the store's byte
/// budget decides how many rows it asks for.
const BYTE_BOUND_ROWS: usize = 100_000;

/// Rows a local list hands over first, before the rest (see [`Registry::list_with`]).
pub const FIRST_PAGE: usize = 100;

/// Why the registry refused or failed; each variant's text is one sentence naming the target,
/// the row or the file involved.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The store could not open, read or write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A publish document is not JSON.
    #[error("{source_name} is not valid JSON: {error}")]
    InvalidJson {
        source_name: String,
        error: CanonicalError,
    },
    /// A publish document is JSON but breaks the manifest rules; every problem is listed.
    #[error("{source_name} is not a valid package document: {}", .problems.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidDocument {
        source_name: String,
        problems: Vec<manifest::DocumentProblem>,
    },
    /// A strict publish (`--strict`) of a document the ObjectStack schemas warn about.
    #[error("{source_name} does not pass the ObjectStack {} schemas (refused with --strict): {}", schema::SPEC_VERSION, .problems.iter().map(std::string::ToString::to_string).collect::<Vec<_>>().join("; "))]
    SchemaRefused {
        source_name: String,
        problems: Vec<manifest::DocumentProblem>,
    },
    /// A publish would replace a stored row with other contents without being allowed to.
    #[error("{id} {version} already exists in {target} with different contents (hash {existing_hash}); pass --allow-overwrite to replace it (the old row goes to the trash)")]
    WouldOverwrite {
        target: String,
        id: String,
        version: String,
        existing_hash: String,
    },
    /// The package or version is not in the registry.
    #[error("{what} was not found in {target}")]
    NotFound { target: String, what: String },
    /// A write on a registry opened read-only.
    #[error("{target} is open read-only: {action} refused")]
    ReadOnly { target: String, action: String },
    /// The row changed between being read and being written; nothing was written.
    #[error("{id} {version} in {target} changed while it was being written; nothing was written, try again")]
    Conflict {
        target: String,
        id: String,
        version: String,
    },
    /// A stored row cannot be read as a package (its texts are not JSON).
    #[error("row {id} {version} in {target} is corrupt: {reason}")]
    Corrupt {
        target: String,
        id: String,
        version: String,
        reason: String,
    },
    /// The rows could not be saved to the trash, so the write did not happen.
    #[error("cannot save to the trash in {}: {reason}; nothing was changed", .dir.display())]
    Trash { dir: PathBuf, reason: String },
    /// A trash file cannot be read or is not one pkgdeck wrote.
    #[error("the trash file {} cannot be restored: {reason}", .file.display())]
    BadTrashFile { file: PathBuf, reason: String },
    /// A trash file's rows cannot be trusted (a hash that does not match its texts, an
    /// identity that is not its manifest's, a write that never finished).
    #[error("the trash file {} was not restored: {}; pass --force to restore it anyway", .file.display(), .problems.join("; "))]
    UntrustedTrashFile {
        file: PathBuf,
        problems: Vec<String>,
    },
    /// The audit intent could not be written, so the write did not happen.
    #[error("{0}; nothing was changed")]
    Audit(#[from] audit::AuditError),
    /// A write would break what the ObjectStack server loads (spec 8.4) and the operator did
    /// not allow it; nothing was written.
    #[error("{action} in {target} was refused: {}; pass {} to do it anyway", .problems.join("; "), .flags.join(" and "))]
    Guard {
        action: String,
        target: String,
        problems: Vec<String>,
        flags: Vec<&'static str>,
    },
    /// A promote cannot make its row strictly the newest: another version is as new as the
    /// database's clock, or newer (dated in the future).
    #[error("cannot promote {id} {version} in {target}: {why}, so {version} cannot become strictly the newest; nothing was changed")]
    PromoteBlocked {
        target: String,
        id: String,
        version: String,
        why: String,
    },
    /// A restore would overwrite a different row at the same (id, version).
    #[error("restoring {id} {version} would overwrite a different row in {target}; delete that version first")]
    RestoreConflict {
        target: String,
        id: String,
        version: String,
    },
}

/// The registry on one store, with the trash and audit log that protect its writes.
pub struct Registry {
    store: TableStore,
    trash: Trash,
    audit: AuditLog,
    /// What went wrong after writes that happened, for the caller to show.
    bookkeeping: RefCell<Vec<Bookkeeping>>,
    /// What the ObjectStack server boots with, for the guards of every write.
    boot: BootSettings,
}

/// The registry's store, and whether `sys_packages` exists on it yet. Until it does, reads
/// answer as an empty table would and the first write creates the table (and, on a missing
/// local file, the file) in its own transaction: reads never create anything.
struct TableStore {
    store: Box<dyn Store>,
    exists: Cell<bool>,
}

impl TableStore {
    fn target(&self) -> &str {
        self.store.target()
    }
    fn audit_name(&self) -> String {
        self.store.audit_name()
    }
    fn read_only(&self) -> bool {
        self.store.read_only()
    }
    fn pages(&self) -> bool {
        self.store.pages()
    }
    fn round_trips(&self) -> u64 {
        self.store.round_trips()
    }
    fn proxy(&self) -> Option<String> {
        self.store.proxy()
    }
    /// Whether `sys_packages` is there now: once it is, that is remembered; while it is not,
    /// each read asks again, so a registry another process creates (the ObjectStack service
    /// starting, another pkgdeck's first publish) shows up without reopening.
    fn table_exists(&self) -> Result<bool, StoreError> {
        if !self.exists.get() && self.store.exists() {
            self.exists.set(has_table(self.store.as_ref())?);
        }
        Ok(self.exists.get())
    }
    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError> {
        if !self.table_exists()? {
            return Ok(Rows::default());
        }
        self.store.query(stmt)
    }
    fn query_page(
        &self,
        rows: usize,
        page: &dyn Fn(usize) -> Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<usize, StoreError> {
        if !self.table_exists()? {
            return Ok(rows);
        }
        self.store.query_page(rows, page, each)
    }
    fn scan(
        &self,
        stmt: &Stmt,
        span: Span,
        each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<(), StoreError> {
        if !self.table_exists()? {
            return Ok(());
        }
        self.store.scan(stmt, span, each)
    }
    /// [`Store::reader`], once `sys_packages` exists (before, there is nothing to read).
    fn reader(&self) -> Option<Box<dyn Store>> {
        if !self.table_exists().ok()? {
            return None;
        }
        self.store.reader()
    }
    fn query_many(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if !self.table_exists()? {
            return Ok(vec![Rows::default(); stmts.len()]);
        }
        self.store.query_many(stmts)
    }
    /// [`Store::rehearse`]; on a registry without `sys_packages` yet, the rehearsal creates
    /// it first, inside its own rolled-back transaction, as the real write would.
    fn rehearse(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.table_exists()? {
            return self.store.rehearse(stmts);
        }
        let mut all: Vec<Stmt> = SCHEMA.iter().map(|s| Stmt::new(*s, vec![])).collect();
        all.extend(stmts.iter().cloned());
        let mut results = self.store.rehearse(&all)?;
        Ok(results.split_off(SCHEMA.len()))
    }
    fn batch(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.exists.get() {
            return self.store.batch(stmts);
        }
        // The reference service's two statements go first, in the write's transaction.
        let mut all: Vec<Stmt> = SCHEMA.iter().map(|s| Stmt::new(*s, vec![])).collect();
        all.extend(stmts.iter().cloned());
        let mut results = self.store.batch(&all)?;
        self.exists.set(true);
        Ok(results.split_off(SCHEMA.len()))
    }
}

/// Whether the database behind `store` holds a `sys_packages` table.
fn has_table(store: &dyn Store) -> Result<bool, StoreError> {
    let found = store.query(&Stmt::new(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sys_packages'",
        vec![],
    ))?;
    Ok(found
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64)
        == Some(1))
}

/// What opening a registry may do when its target holds no `sys_packages` yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// The registry must exist: a missing file is "no registry at PATH" and a database
    /// without the table is "PATH has no sys_packages table". For reads and for writes that
    /// need rows to be there (delete).
    Existing,
    /// A target without the table opens as an empty registry; the first write creates it.
    /// For writes that can start a registry (publish, restore, copy) and for the console.
    CreateOnWrite,
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

/// The rows of `page` with what the server serves: `asked` answers its tied rows in order
/// (see [`Registry::with_served`]); a latest row whose manifest is not JSON is served as
/// nothing.
fn fill_served(page: Vec<(PackageSummary, bool)>, asked: Vec<Served>) -> Vec<PackageSummary> {
    let mut asked = asked.into_iter();
    page.into_iter()
        .map(|(mut summary, tied)| {
            summary.served = if tied {
                asked.next().unwrap_or_default()
            } else if !summary.manifest_readable {
                Served::Unreadable {
                    version: summary.version.clone(),
                }
            } else {
                Served::Latest
            };
            summary
        })
        .collect()
}

impl Registry {
    /// Opens the registry on `store` for writing ([`Open::CreateOnWrite`]): a target
    /// without `sys_packages` (a missing local file included) opens as an empty registry
    /// and nothing is created until the first write, which creates the file and the table
    /// (spec 1's two statements) in its own transaction, as the reference service does when
    /// it starts. A read-only store reports the missing table instead. Writes that a killed
    /// pkgdeck left unfinished on this registry are resolved first ([`Registry::recover`]).
    pub fn open(
        store: Box<dyn Store>,
        trash: Trash,
        audit: AuditLog,
    ) -> Result<Registry, RegistryError> {
        Self::open_as(store, trash, audit, Open::CreateOnWrite)
    }

    /// Opens the registry on `store` for reading ([`Open::Existing`]): it must exist, and
    /// nothing is ever created; a file without `sys_packages` stays byte-identical.
    pub fn open_existing(
        store: Box<dyn Store>,
        trash: Trash,
        audit: AuditLog,
    ) -> Result<Registry, RegistryError> {
        Self::open_as(store, trash, audit, Open::Existing)
    }

    /// [`Registry::open`] or [`Registry::open_existing`], as `mode` says.
    pub fn open_as(
        store: Box<dyn Store>,
        trash: Trash,
        audit: AuditLog,
        mode: Open,
    ) -> Result<Registry, RegistryError> {
        let exists = store.exists() && has_table(store.as_ref())?;
        if !exists && (mode == Open::Existing || store.read_only()) {
            let target = store.target().to_owned();
            return Err(if store.exists() {
                StoreError::MissingTable { target }
            } else {
                StoreError::NoRegistry { target }
            }
            .into());
        }
        let registry = Registry::with(store, trash, audit, exists);
        registry.recover();
        Ok(registry)
    }

    fn with(store: Box<dyn Store>, trash: Trash, audit: AuditLog, exists: bool) -> Registry {
        Registry {
            store: TableStore {
                store,
                exists: Cell::new(exists),
            },
            trash,
            audit,
            bookkeeping: RefCell::new(Vec::new()),
            boot: BootSettings::default(),
        }
    }

    /// Whether `sys_packages` exists yet: false for a registry opened by [`Registry::open`]
    /// on a target that holds none, until a write (this one's or another process's) creates
    /// it (a console says where).
    pub fn exists(&self) -> bool {
        self.store.table_exists().unwrap_or(false)
    }

    /// The proxy the registry is reached through, credentials masked; `None` when directly.
    pub fn proxy(&self) -> Option<String> {
        self.store.proxy()
    }

    /// What went wrong after writes that happened (an audit line or a trash file that could
    /// not be finished), taken out so that each is shown once.
    pub fn take_bookkeeping(&self) -> Vec<Bookkeeping> {
        self.bookkeeping.take()
    }

    /// What the ObjectStack server boots with (its protocol, its code packages): the guards
    /// of every write replay the boot with these.
    pub fn boot_settings(&self) -> &BootSettings {
        &self.boot
    }

    pub fn set_boot_settings(&mut self, settings: BootSettings) {
        self.boot = settings;
    }

    fn note(&self, b: Bookkeeping) {
        self.bookkeeping.borrow_mut().push(b);
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
        let mut rows = Vec::new();
        self.store.scan(
            &Self::list_page_stmt(after, limit),
            Span::Part,
            &mut |row| {
                rows.push(list::summary_from_values(row));
                true
            },
        )?;
        self.with_served(rows)
    }

    /// Fills in what the server serves: for a package whose newest second is shared, its
    /// `get(id)` is asked (one round trip for the page); a latest row whose manifest is not
    /// JSON is served as nothing.
    fn with_served(
        &self,
        page: Vec<(PackageSummary, bool)>,
    ) -> Result<Vec<PackageSummary>, RegistryError> {
        let ask: Vec<(&str, &str)> = page
            .iter()
            .filter(|(_, tied)| *tied)
            .map(|(s, _)| (s.id.as_str(), s.version.as_str()))
            .collect();
        let asked = self.served_of(&ask)?;
        Ok(fill_served(page, asked))
    }

    /// The smallest and the largest rowid of the table (`None` when it is empty). Two
    /// subqueries: `min()` and `max()` in one SELECT make SQLite scan the whole table (60 ms on
    /// 500,000 rows) where each alone is one seek.
    fn rowid_bounds(&self) -> Result<Option<(i64, i64)>, RegistryError> {
        let bounds = self.store.query(&Stmt::new(
            "SELECT (SELECT min(rowid) FROM sys_packages), (SELECT max(rowid) FROM sys_packages)",
            vec![],
        ))?;
        let bound = |i: usize| {
            bounds
                .rows
                .first()
                .and_then(|r| r.get(i))
                .and_then(Value::as_i64)
        };
        Ok(bound(0).zip(bound(1)))
    }

    /// The statement of [`Registry::list_page`].
    fn list_page_stmt(after: Option<(&str, i64)>, limit: Option<usize>) -> Stmt {
        use list::{latest_set_sql, LIST_COLUMNS};
        let mut args = Vec::new();
        let Some(limit) = limit else {
            let mut sql = format!(
                "SELECT {LIST_COLUMNS}, g.n FROM ({}) g JOIN sys_packages p ON p.rowid = g.rid",
                latest_set_sql()
            );
            if let Some((created_at, rowid)) = after {
                sql.push_str(
                    " WHERE coalesce(p.created_at, '') < ? OR (coalesce(p.created_at, '') = ? AND p.rowid < ?)",
                );
                args.extend([created_at.into(), created_at.into(), Value::Integer(rowid)]);
            }
            sql.push_str(" ORDER BY coalesce(p.created_at, '') DESC, p.rowid DESC");
            return Stmt::new(sql, args);
        };
        let mut sql = format!(
            "SELECT {LIST_COLUMNS}, k.n FROM (SELECT rid, ca, n FROM ({})",
            latest_set_sql()
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
        Stmt::new(sql, args)
    }

    /// The latest version of every package, newest first: exactly one row per package.
    /// Every page goes to `each_page` as it arrives (the caller keeps what it needs; nothing
    /// is held here): remote stores are read page by page, each page as many rows as the
    /// store finds fit in one answer; a local file hands over its newest [`FIRST_PAGE`] rows
    /// first (a console can draw them at once), found without reading the whole table, then
    /// the rest in pages of a few thousand rows.
    pub fn list_with(
        &self,
        each_page: &mut dyn FnMut(Vec<PackageSummary>),
    ) -> Result<(), RegistryError> {
        if self.store.pages() {
            return self.list_remote(each_page);
        }
        self.list_local(each_page)
    }

    /// The latest version of every package, newest first: exactly one row per package
    /// ([`Registry::list_each`] collected).
    pub fn list(&self) -> Result<Vec<PackageSummary>, RegistryError> {
        let mut all = Vec::new();
        self.list_each(&mut |summary| {
            all.push(summary);
            true
        })?;
        Ok(all)
    }

    /// Every version of `id`, newest first by the same rule as latest, with the one the
    /// server's `get(id)` answers marked. Empty when the package does not exist. One round trip.
    pub fn versions(&self, id: &str) -> Result<Vec<VersionSummary>, RegistryError> {
        let mut answers = self
            .store
            .query_many(&[
                Stmt::new(
                    format!(
                        "SELECT rowid, id, version, hash, created_at, updated_at FROM sys_packages \
                         WHERE id = ? ORDER BY {LATEST_FIRST}"
                    ),
                    vec![id.into()],
                ),
                Stmt::new(server::SERVER_GET_SQL, vec![id.into()]),
            ])?
            .into_iter();
        let rows = answers.next().unwrap_or_default();
        let served = server::server_rows(answers.next().unwrap_or_default())
            .into_iter()
            .next()
            .filter(|row| boot::ParsedRow::parse(&row.list_row()).parses())
            .map(|row| row.version);
        Ok(rows
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let mut it = row.into_iter();
                let rowid = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
                let id = text(it.next());
                let version = text(it.next());
                VersionSummary {
                    rowid,
                    served: served.as_deref() == Some(version.as_str()),
                    id,
                    version,
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
            Some(v) => self.select_exact(id, v),
            None => self.select_latest(id),
        };
        Ok(records(self.store.query(&stmt)?).into_iter().next())
    }

    /// Like [`Registry::get`] but a missing record is an error naming it.
    pub fn require(&self, id: &str, version: Option<&str>) -> Result<PackageRecord, RegistryError> {
        self.get(id, version)?
            .ok_or_else(|| self.not_found(id, version.filter(|v| *v != "latest")))
    }

    fn select_latest(&self, id: &str) -> Stmt {
        Stmt::new(
            format!(
                "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? ORDER BY {LATEST_FIRST} LIMIT 1"
            ),
            vec![id.into()],
        )
    }

    fn select_exact(&self, id: &str, version: &str) -> Stmt {
        Stmt::new(
            format!("SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? AND version = ?"),
            vec![id.into(), version.into()],
        )
    }
}

/// A registry on a new SQLite file at `path` with its trash beside it and no audit: what the
/// unit tests of the registry's modules write to.
#[cfg(test)]
pub(crate) fn scratch_registry(path: &std::path::Path) -> Result<Registry, RegistryError> {
    let store = crate::store::sqlite::SqliteStore::open(path, false)?;
    let trash = path.with_file_name("trash");
    Registry::open(Box::new(store), Trash::new(trash), AuditLog::disabled())
}
