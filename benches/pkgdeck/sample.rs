//! The generated registry as the measurements use it: its counts and samples read with plain
//! SQLite (without pkgdeck), scratch copies to write into, pkgdeck registries opened on a store,
//! and new-version documents to publish.

use std::path::Path;

use pkgdeck::registry::canonical::{self, JsValue};
use pkgdeck::registry::{self, AuditLog, Registry, Trash};
use pkgdeck::store::sqlite::SqliteStore;
use pkgdeck::store::Store;

/// A read-only SQLite connection to `path`, for reading what pkgdeck is measured against.
pub fn open_read_only(path: &Path) -> Result<rusqlite::Connection, String> {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// (distinct packages, rows) of the registry in `path`.
pub fn registry_counts(path: &Path) -> Result<(u64, u64), String> {
    open_read_only(path)?
        .query_row(
            "SELECT count(DISTINCT id), count(*) FROM sys_packages",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
        )
        .map_err(|e| e.to_string())
}

/// Package ids and their versions (insertion order), read without pkgdeck.
pub fn sample_packages(db: &Path, count: usize) -> Result<Vec<(String, Vec<String>)>, String> {
    let conn = open_read_only(db)?;
    let total: i64 = conn
        .query_row("SELECT count(DISTINCT id) FROM sys_packages", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    let step = (total as usize / count.max(1)).max(1);
    let mut stmt = conn
        .prepare("SELECT id, group_concat(version, ' ') FROM (SELECT id, version FROM sys_packages ORDER BY id, rowid) GROUP BY id")
        .map_err(|e| e.to_string())?;
    let all: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(all
        .into_iter()
        .step_by(step)
        .take(count)
        .map(|(id, v)| (id, v.split(' ').map(str::to_owned).collect()))
        .collect())
}

/// A scratch directory in the system's temp dir for one command's state, removed when dropped.
pub fn scratch_dir(command: &str) -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix(&format!("pkgdeck-bench-{command}-"))
        .tempdir()
        .map_err(|e| format!("cannot create a scratch dir for {command}: {e}"))
}

/// Copies `from` to `to`, first removing `to` and any journal it left.
pub fn copy_scratch(from: &Path, to: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
    }
    std::fs::copy(from, to)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    Ok(())
}

/// A registry on `store` keeping its trash under `state`; a writable one also keeps its audit
/// log there, as pkgdeck does with its data dir.
pub fn open_on(store: impl Store + 'static, state: &Path) -> Result<Registry, String> {
    let audit = if store.read_only() {
        AuditLog::disabled()
    } else {
        AuditLog::new(state.join("audit.log"))
    };
    Registry::open(Box::new(store), Trash::new(state.join("trash")), audit)
        .map_err(|e| e.to_string())
}

/// A registry on the SQLite file `path`.
pub fn open_sqlite(path: &Path, read_only: bool, state: &Path) -> Result<Registry, String> {
    let store = SqliteStore::open(path, read_only).map_err(|e| e.to_string())?;
    open_on(store, state)
}

/// The publish document of a new version `version` of `id`, made from its latest row.
pub fn new_version_document(reg: &Registry, id: &str, version: &str) -> Result<String, String> {
    let latest = reg.require(id, None).map_err(|e| e.to_string())?;
    let m = canonical::parse(&latest.manifest).map_err(|e| e.to_string())?;
    let JsValue::Object(mut members) = m else {
        return Err(format!("{id}: manifest is not an object"));
    };
    for (k, v) in members.iter_mut() {
        if k == "version" {
            *v = JsValue::String(version.to_owned());
        }
    }
    Ok(registry::export_document(
        &canonical::stringify(&JsValue::Object(members)),
        &latest.metadata,
    ))
}
