//! Has anything changed since? A [`ChangeMark`] is a cheap fingerprint of the registry that
//! another process's write changes; the console polls it (spec 5, live) and reloads only
//! when it moved. A local file answers `PRAGMA data_version` (read from the file's header,
//! no table is touched); a remote store answers one query over the `(id, created_at)` index
//! (row count and rowids), which sees every publish of a new version, every delete and every
//! restore, but not an overwrite of an existing version in place.

use std::time::Duration;

use super::{Registry, RegistryError};
use crate::store::Stmt;

/// How often a local file is asked: twice a second costs nothing.
const LOCAL_EVERY: Duration = Duration::from_millis(500);
/// How often a remote is asked: each question is a round trip.
const REMOTE_EVERY: Duration = Duration::from_secs(3);

/// A fingerprint of the registry's state: equal marks mean no other process wrote (that the
/// mark can see) in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMark(Vec<i64>);

impl Registry {
    /// How often [`Registry::change_mark`] is worth asking.
    pub fn change_poll_interval(&self) -> Duration {
        if self.store.pages() {
            REMOTE_EVERY
        } else {
            LOCAL_EVERY
        }
    }

    /// The registry's mark now. Local: SQLite's `data_version`, which moves when another
    /// connection commits (this connection's own writes do not move it; whoever wrote here
    /// knows). Remote: the row count and the sum and maximum of the rowids.
    pub fn change_mark(&self) -> Result<ChangeMark, RegistryError> {
        let sql = if self.store.pages() {
            "SELECT count(*), coalesce(max(rowid), 0), coalesce(sum(rowid), 0) FROM sys_packages"
        } else {
            "PRAGMA data_version"
        };
        let rows = self.store.query(&Stmt::new(sql, vec![]))?;
        let values = rows
            .rows
            .into_iter()
            .next()
            .unwrap_or_default()
            .iter()
            .map(|v| v.as_i64().unwrap_or_default())
            .collect();
        Ok(ChangeMark(values))
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::{AuditLog, PublishOptions, Registry, Trash};
    use crate::store::sqlite::SqliteStore;

    fn open(path: &std::path::Path) -> Registry {
        let store = SqliteStore::open(path, false).unwrap();
        Registry::open(
            Box::new(store),
            Trash::new("/nonexistent"),
            AuditLog::disabled(),
        )
        .unwrap()
    }

    #[test]
    fn another_connections_commit_moves_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let console = open(&path);
        let other = open(&path);
        let before = console.change_mark().unwrap();
        assert_eq!(console.change_mark().unwrap(), before, "nothing happened");
        other
            .publish(
                r#"{"manifest":{"id":"a","version":"1.0.0","type":"app","name":"A"},"metadata":{}}"#,
                "a.json",
                PublishOptions::default(),
            )
            .unwrap();
        assert_ne!(
            console.change_mark().unwrap(),
            before,
            "another process published"
        );
    }
}
