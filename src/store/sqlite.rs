//! The local backend: one SQLite file through rusqlite (bundled SQLite). It never changes the
//! file's journal mode or schema; writes take the write lock up front (`BEGIN IMMEDIATE`) and
//! wait for other writers through the busy timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Rows, Stmt, Store, StoreError, Value};

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The memory map a [`Store::scan`] reads the file through (a limit, not an allocation).
const SCAN_MMAP: u64 = 1 << 40;

pub struct SqliteStore {
    conn: Connection,
    shown: String,
    read_only: bool,
}

impl SqliteStore {
    /// Opens `path`. Read-write creates the file when missing; read-only requires it.
    pub fn open(path: &Path, read_only: bool) -> Result<SqliteStore, StoreError> {
        let shown = path.display().to_string();
        let open_err = |reason: String| StoreError::Open {
            target: shown.clone(),
            reason,
        };
        if read_only && !path.exists() {
            return Err(open_err("the file does not exist".into()));
        }
        if path.is_dir() {
            return Err(open_err("it is a directory".into()));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                return Err(open_err(format!(
                    "the directory {} does not exist",
                    parent.display()
                )));
            }
        }
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        let store = SqliteStore {
            conn,
            shown,
            read_only,
        };
        // Reading the schema is what tells a non-database file apart.
        store.query(&Stmt::new("SELECT count(*) FROM sqlite_master", vec![]))?;
        Ok(store)
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }

    fn sql_error(&self, e: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::NotADatabase {
                return StoreError::NotSqlite {
                    target: self.shown.clone(),
                };
            }
            if f.code == rusqlite::ErrorCode::ReadOnly {
                return StoreError::ReadOnly {
                    target: self.shown.clone(),
                    action: "writing".into(),
                };
            }
        }
        StoreError::Sql {
            target: self.shown.clone(),
            message: e.to_string(),
        }
    }

    fn run(&self, stmt: &Stmt, each: &mut dyn FnMut(&[Value]) -> bool) -> Result<Rows, StoreError> {
        let mut prepared = self
            .conn
            .prepare_cached(&stmt.sql)
            .map_err(|e| self.sql_error(e))?;
        let columns: Vec<String> = prepared
            .column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let width = columns.len();
        let params = rusqlite::params_from_iter(stmt.args.iter().map(to_sql));
        if width == 0 {
            let affected = prepared.execute(params).map_err(|e| self.sql_error(e))?;
            return Ok(Rows {
                columns,
                rows: vec![],
                affected: affected as u64,
            });
        }
        let mut rows = prepared.query(params).map_err(|e| self.sql_error(e))?;
        let mut buf: Vec<Value> = Vec::with_capacity(width);
        while let Some(row) = rows.next().map_err(|e| self.sql_error(e))? {
            buf.clear();
            for i in 0..width {
                let v = row.get_ref(i).map_err(|e| self.sql_error(e))?;
                buf.push(from_sql(v));
            }
            if !each(&buf) {
                break;
            }
        }
        Ok(Rows {
            columns,
            rows: vec![],
            affected: self.conn.changes(),
        })
    }
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Integer(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        // Checked with from_utf8 first: its ASCII fast path is several times quicker than
        // from_utf8_lossy's on the JSON texts that make up a registry (verify reads them all).
        ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl Store for SqliteStore {
    fn target(&self) -> &str {
        &self.shown
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError> {
        let mut collected = Vec::new();
        let mut rows = self.run(stmt, &mut |row| {
            collected.push(row.to_vec());
            true
        })?;
        rows.rows = collected;
        Ok(rows)
    }

    fn query_each(
        &self,
        stmt: &Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<(), StoreError> {
        self.run(stmt, each).map(|_| ())
    }

    fn scan(&self, stmt: &Stmt, each: &mut dyn FnMut(&[Value]) -> bool) -> Result<(), StoreError> {
        // Connection settings only (the file is not touched), put back afterwards: pages come
        // through a memory map instead of a read() each, and the sort stays in memory instead
        // of spilling to temporary files. About a third faster on 100,000 heavy rows.
        let setting = |name: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(|e| self.sql_error(e))
        };
        let (mmap, temp) = (setting("mmap_size")?, setting("temp_store")?);
        self.conn
            .execute_batch(&format!(
                "PRAGMA mmap_size = {SCAN_MMAP}; PRAGMA temp_store = MEMORY"
            ))
            .map_err(|e| self.sql_error(e))?;
        let result = self.run(stmt, each).map(|_| ());
        let restored = self
            .conn
            .execute_batch(&format!(
                "PRAGMA mmap_size = {mmap}; PRAGMA temp_store = {temp}"
            ))
            .map_err(|e| self.sql_error(e));
        result.and(restored)
    }

    fn batch(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                target: self.shown.clone(),
                action: "writing".into(),
            });
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql_error(e))?;
        let mut results = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            match self.query(stmt) {
                Ok(rows) => results.push(rows),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.sql_error(e));
        }
        Ok(results)
    }

    fn rehearse(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                target: self.shown.clone(),
                action: "rehearsing a write".into(),
            });
        }
        // The write lock first, as for a real write: a rehearsal that read, then wrote, could
        // otherwise fail to upgrade its lock under a concurrent writer.
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql_error(e))?;
        let results: Result<Vec<Rows>, StoreError> =
            stmts.iter().map(|stmt| self.query(stmt)).collect();
        let rolled_back = self.conn.execute_batch("ROLLBACK");
        let results = results?;
        rolled_back.map_err(|e| self.sql_error(e))?;
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_answers_like_a_query_and_puts_the_settings_back() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let store = SqliteStore::open(&dir.path().join("r.db"), false)?;
        store.batch(&[
            Stmt::new("CREATE TABLE t (k TEXT, v TEXT)", vec![]),
            Stmt::new(
                "INSERT INTO t VALUES ('b', '2'), ('a', '1'), ('b', '3'), ('a', '4')",
                vec![],
            ),
        ])?;
        let sorted = Stmt::new("SELECT v FROM t ORDER BY k DESC", vec![]);
        let (mut scanned, mut queried) = (Vec::new(), Vec::new());
        store.scan(&sorted, &mut |row| {
            scanned.push(row.to_vec());
            true
        })?;
        store.query_each(&sorted, &mut |row| {
            queried.push(row.to_vec());
            true
        })?;
        assert_eq!(scanned, queried, "the same rows, ties in the same order");
        let setting = |name: &str| store.query(&Stmt::new(format!("PRAGMA {name}"), vec![]));
        assert_eq!(setting("mmap_size")?.rows, [[Value::Integer(0)]]);
        assert_eq!(setting("temp_store")?.rows, [[Value::Integer(0)]]);
        Ok(())
    }
}
