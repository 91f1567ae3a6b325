//! The local backend: one SQLite file through rusqlite (bundled SQLite). It never changes the
//! file's journal mode or schema; writes take the write lock up front (`BEGIN IMMEDIATE`) and
//! wait for other writers through the busy timeout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef as SqlRef;
use rusqlite::{Connection, OpenFlags};

use super::{Rows, Stmt, Store, StoreError, Value, ValueRef};

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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

    /// Runs `stmt`, handing each row to `each` borrowed from SQLite's buffers.
    fn run(
        &self,
        stmt: &Stmt,
        each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<Rows, StoreError> {
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
        while let Some(row) = rows.next().map_err(|e| self.sql_error(e))? {
            // The values of a row live on the stack when there are few (every statement
            // pkgdeck runs): no allocation per row.
            let mut few = [ValueRef::Null; 8];
            let mut many = Vec::new();
            let values: &mut [ValueRef<'_>] = if width <= few.len() {
                &mut few[..width]
            } else {
                many.resize(width, ValueRef::Null);
                &mut many
            };
            for (i, value) in values.iter_mut().enumerate() {
                *value = borrowed(row.get_ref(i).map_err(|e| self.sql_error(e))?);
            }
            if !each(values) {
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

fn borrowed(v: SqlRef<'_>) -> ValueRef<'_> {
    match v {
        SqlRef::Null => ValueRef::Null,
        SqlRef::Integer(i) => ValueRef::Integer(i),
        SqlRef::Real(f) => ValueRef::Real(f),
        SqlRef::Text(t) => ValueRef::Text(t),
        SqlRef::Blob(b) => ValueRef::Blob(b),
    }
}

/// An owned copy of a borrowed value; text is made valid UTF-8 as [`ValueRef::text`] does.
fn owned(v: &ValueRef<'_>) -> Value {
    match *v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(_) => Value::Text(v.text().unwrap_or_default().into_owned()),
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
            collected.push(row.iter().map(owned).collect());
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
        let mut buf: Vec<Value> = Vec::new();
        self.run(stmt, &mut |row| {
            buf.clear();
            buf.extend(row.iter().map(owned));
            each(&buf)
        })
        .map(|_| ())
    }

    fn query_each_ref(
        &self,
        stmt: &Stmt,
        each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<(), StoreError> {
        self.run(stmt, each).map(|_| ())
    }

    /// A read-only connection to the same file (SQLite's own absolute name for it).
    fn reader(&self) -> Option<Box<dyn Store>> {
        let file = self.conn.path().filter(|p| !p.is_empty())?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(file, flags).ok()?;
        conn.busy_timeout(BUSY_TIMEOUT).ok()?;
        Some(Box::new(SqliteStore {
            conn,
            shown: self.shown.clone(),
            read_only: true,
        }))
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
}
