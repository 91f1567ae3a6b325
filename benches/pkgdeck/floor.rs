//! The floors of spec section 7: what this machine can do at best for each job, written here
//! in plain Rust with no pkgdeck code on the hot path, and run as whole processes (commands of
//! this bench executable) so that they are timed exactly as the `pkgdeck` process beside them.
//!
//! - `floor-verify DB`: two threads, each on its own read-only SQLite connection, read
//!   manifest, metadata and hash of one half of the rowid range and SHA-256 them; no JSON.
//! - `floor-list DB STATEMENTS`: SQLite alone runs pkgdeck's own list statements (captured
//!   from the library by [`capture_list_statements`]) and steps every row, reading every
//!   column in place.
//! - `floor-remote-list URL STATEMENTS`: the same statements sent to a Hrana server in one
//!   request, the whole answer read.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pkgdeck::store::sqlite::SqliteStore;
use pkgdeck::store::{Rows, Span, Stmt, Store, StoreError, Value, ValueRef};
use sha2::{Digest, Sha256};

use crate::sample::{open_on, open_read_only, scratch_dir};
use crate::Opts;

/// A store that runs every statement on a SQLite file and remembers the statements it ran.
struct Recording {
    inner: SqliteStore,
    seen: Arc<Mutex<Vec<Stmt>>>,
}

impl Recording {
    fn record(&self, stmt: &Stmt) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(stmt.clone());
        }
    }
}

impl Store for Recording {
    fn target(&self) -> &str {
        self.inner.target()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError> {
        self.record(stmt);
        self.inner.query(stmt)
    }
    fn query_each(
        &self,
        stmt: &Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<(), StoreError> {
        self.record(stmt);
        self.inner.query_each(stmt, each)
    }
    fn scan(
        &self,
        stmt: &Stmt,
        span: Span,
        each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
    ) -> Result<(), StoreError> {
        self.record(stmt);
        self.inner.scan(stmt, span, each)
    }
    fn batch(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        for stmt in stmts {
            self.record(stmt);
        }
        self.inner.batch(stmts)
    }
    fn rehearse(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        for stmt in stmts {
            self.record(stmt);
        }
        self.inner.rehearse(stmts)
    }
    fn exists(&self) -> bool {
        self.inner.exists()
    }
}

/// The statements pkgdeck's `list` runs on the local file `db` (what `pkgdeck list` does,
/// through the library's `Registry::list`), in order: the list floors run exactly these, so
/// they follow whatever the list becomes.
pub fn capture_list_statements(db: &Path) -> Result<Vec<Stmt>, String> {
    let state = scratch_dir("capture")?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = Recording {
        inner: SqliteStore::open(db, true).map_err(|e| e.to_string())?,
        seen: seen.clone(),
    };
    let reg = open_on(store, state.path())?;
    let poisoned = |_| "the recording store was poisoned".to_string();
    seen.lock().map_err(poisoned)?.clear(); // what opening the registry ran
    reg.list().map_err(|e| e.to_string())?;
    drop(reg);
    let stmts = seen.lock().map_err(poisoned)?.clone();
    if stmts.is_empty() {
        return Err("pkgdeck's list ran no statement".into());
    }
    Ok(stmts)
}

/// Statements as the floor commands read them from a file: `[{"sql", "args": [value…]}]`,
/// a value being null, an integer, a float or a string (a blob never occurs in list SQL).
pub fn statements_json(stmts: &[Stmt]) -> Result<String, String> {
    let arg = |v: &Value| match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::json!(i),
        Value::Real(f) => serde_json::json!(f),
        Value::Text(s) => serde_json::json!(s),
        Value::Blob(_) => serde_json::json!({ "blob": true }),
    };
    let list: Vec<serde_json::Value> = stmts
        .iter()
        .map(|s| {
            serde_json::json!({
                "sql": s.sql,
                "args": s.args.iter().map(arg).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).map_err(|e| e.to_string())
}

fn read_statements(path: &Path) -> Result<Vec<(String, Vec<serde_json::Value>)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v.as_array()
        .ok_or(format!("{}: not an array of statements", path.display()))?
        .iter()
        .map(|s| {
            let sql = s["sql"]
                .as_str()
                .ok_or(format!("{}: a statement without sql", path.display()))?;
            let args = s["args"].as_array().cloned().unwrap_or_default();
            Ok((sql.to_owned(), args))
        })
        .collect()
}

fn sql_arg(v: &serde_json::Value) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value as V;
    Ok(match v {
        serde_json::Value::Null => V::Null,
        serde_json::Value::String(s) => V::Text(s.clone()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap_or(0.0)),
        },
        other => return Err(format!("unsupported statement argument {other}")),
    })
}

/// `floor-list DB STATEMENTS`: runs the statements on a read-only connection, stepping every
/// row and reading every column in place; prints the rows of each.
pub fn cmd_floor_list(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &[])?;
    let (Some(db), Some(file)) = (o.positional.first(), o.positional.get(1)) else {
        return Err("usage: floor-list DB STATEMENTS".into());
    };
    let conn = open_read_only(Path::new(db))?;
    let e = |e: rusqlite::Error| e.to_string();
    let mut counts = Vec::new();
    for (sql, args) in read_statements(Path::new(file))? {
        let args = args.iter().map(sql_arg).collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare(&sql).map_err(e)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(e)?;
        let (mut n, mut bytes) = (0u64, 0usize);
        while let Some(row) = rows.next().map_err(e)? {
            n += 1;
            for i in 0..width {
                if let rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) =
                    row.get_ref(i).map_err(e)?
                {
                    bytes += t.len();
                }
            }
        }
        counts.push(format!("{n} rows, {bytes} bytes"));
    }
    println!("{}", counts.join("; "));
    Ok(())
}

/// `floor-verify DB`: two threads over the two halves of the rowid range, each reading
/// manifest, metadata and hash on its own connection and hashing the texts as the integrity
/// hash does; prints the rows read and how many hashes differ.
pub fn cmd_floor_verify(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &[])?;
    let db = o.path("DB")?;
    let (first, last): (i64, i64) = open_read_only(&db)?
        .query_row(
            // Two subqueries: each is one seek, where `min(rowid), max(rowid)` in one
            // SELECT scans the whole table (60 ms on 500,000 rows).
            "SELECT coalesce((SELECT min(rowid) FROM sys_packages), 0), \
             coalesce((SELECT max(rowid) FROM sys_packages), -1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| e.to_string())?;
    let middle = first + (last - first) / 2;
    let halves = [(first, middle), (middle + 1, last)];
    let results: Vec<Result<(u64, u64), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .iter()
            .map(|&(lo, hi)| {
                let db = db.clone();
                s.spawn(move || hash_range(&db, lo, hi))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect()
    });
    let (mut rows, mut differ) = (0, 0);
    for r in results {
        let (n, d) = r?;
        rows += n;
        differ += d;
    }
    println!("{rows} rows, {differ} hashes differ");
    Ok(())
}

/// Rows in `lo..=hi` read and hashed: (rows, hashes that differ from the stored one).
fn hash_range(db: &Path, lo: i64, hi: i64) -> Result<(u64, u64), String> {
    let conn = open_read_only(db)?;
    let e = |e: rusqlite::Error| e.to_string();
    let mut stmt = conn
        .prepare("SELECT manifest, metadata, hash FROM sys_packages WHERE rowid BETWEEN ? AND ?")
        .map_err(e)?;
    let mut rows = stmt.query([lo, hi]).map_err(e)?;
    let (mut n, mut differ) = (0u64, 0u64);
    let mut sha = Sha256::new();
    while let Some(row) = rows.next().map_err(e)? {
        n += 1;
        sha.update(b"{\"manifest\":");
        sha.update(bytes(row.get_ref(0).map_err(e)?));
        sha.update(b",\"metadata\":");
        sha.update(bytes(row.get_ref(1).map_err(e)?));
        sha.update(b"}");
        let digest: [u8; 32] = sha.finalize_reset().into();
        if !hex_is(bytes(row.get_ref(2).map_err(e)?), &digest) {
            differ += 1;
        }
    }
    Ok((n, differ))
}

/// The bytes of a TEXT or BLOB value (nothing for others).
fn bytes(v: rusqlite::types::ValueRef<'_>) -> &[u8] {
    match v {
        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t,
        _ => &[],
    }
}

/// Whether `hex` (lowercase) spells `digest`.
fn hex_is(hex: &[u8], digest: &[u8; 32]) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    hex.len() == 64
        && digest.iter().enumerate().all(|(i, b)| {
            hex[2 * i] == HEX[(b >> 4) as usize] && hex[2 * i + 1] == HEX[(b & 15) as usize]
        })
}

/// The body of one Hrana pipeline request executing `statements`, as the server's own
/// wire format wants values (integers as strings).
fn pipeline_body(statements: &[(String, Vec<serde_json::Value>)]) -> Result<String, String> {
    let hrana = |v: &serde_json::Value| -> Result<serde_json::Value, String> {
        Ok(match v {
            serde_json::Value::Null => serde_json::json!({"type": "null"}),
            serde_json::Value::String(s) => serde_json::json!({"type": "text", "value": s}),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => serde_json::json!({"type": "integer", "value": i.to_string()}),
                None => serde_json::json!({"type": "float", "value": n.as_f64()}),
            },
            other => return Err(format!("unsupported statement argument {other}")),
        })
    };
    let requests = statements
        .iter()
        .map(|(sql, args)| {
            Ok(serde_json::json!({
                "type": "execute",
                "stmt": {
                    "sql": sql,
                    "args": args.iter().map(hrana).collect::<Result<Vec<_>, String>>()?,
                },
            }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(serde_json::json!({"baton": null, "requests": requests}).to_string())
}

/// `floor-remote-list URL STATEMENTS`: the statements in one `POST /v2/pipeline`, the whole
/// answer read; prints its size. Fails when the server answered an error.
pub fn cmd_floor_remote_list(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &[])?;
    let (Some(url), Some(file)) = (o.positional.first(), o.positional.get(1)) else {
        return Err("usage: floor-remote-list URL STATEMENTS".into());
    };
    let body = pipeline_body(&read_statements(Path::new(file))?)?;
    let endpoint = format!("{}/v2/pipeline", url.trim_end_matches('/'));
    let answer = post(&endpoint, &body)?;
    // A result carries `"type":"ok"`; an error `"type":"error"` (the SQL text never contains
    // that string).
    let text = String::from_utf8_lossy(&answer);
    if text.contains("\"type\":\"error\"") || !text.contains("\"results\"") {
        return Err(format!(
            "{endpoint} answered an error: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    println!("{} bytes", answer.len());
    Ok(())
}

/// `body` posted to `endpoint`, the whole answer read.
fn post(endpoint: &str, body: &str) -> Result<Vec<u8>, String> {
    let response = ureq::post(endpoint)
        .set("Content-Type", "application/json")
        .send_string(body)
        .map_err(|e| format!("{endpoint}: {e}"))?;
    let mut answer = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut answer)
        .map_err(|e| format!("{endpoint}: {e}"))?;
    Ok(answer)
}

/// One `POST /v2/pipeline` of `sql` to `endpoint`, the whole answer read; its size.
fn post_one(endpoint: &str, sql: &str) -> Result<usize, String> {
    let answer = post(endpoint, &pipeline_body(&[(sql.to_owned(), Vec::new())])?)?;
    // A result carries `"type":"ok"`; an error `"type":"error"` (quotes inside the rows' texts
    // are escaped, so no row can look like one).
    if !answer.starts_with(b"{") || answer.windows(14).any(|w| w == b"\"type\":\"error\"") {
        return Err(format!(
            "{endpoint} answered an error: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(300)])
        ));
    }
    Ok(answer.len())
}

/// Rows per page of the remote verify floor: about the 4 MB pkgdeck's pages aim at, on light
/// rows.
const FLOOR_VERIFY_PAGE: i64 = 4_000;

/// `floor-remote-verify URL FIRST LAST`: what a remote verify cannot do without — the server
/// sending every row's manifest, metadata and hash — as fast as the server can: two threads
/// over the two halves of the rowid range `FIRST..=LAST`, pages of [`FLOOR_VERIFY_PAGE`]
/// rowids, each answer read whole and not looked at; prints the bytes received.
pub fn cmd_floor_remote_verify(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &[])?;
    let [url, first, last] = o.positional.as_slice() else {
        return Err("usage: floor-remote-verify URL FIRST_ROWID LAST_ROWID".into());
    };
    let num = |s: &str| s.parse::<i64>().map_err(|_| format!("{s}: not a rowid"));
    let (first, last) = (num(first)?, num(last)?);
    let endpoint = format!("{}/v2/pipeline", url.trim_end_matches('/'));
    let middle = first + (last - first) / 2;
    let half = |from: i64, to: i64| -> Result<usize, String> {
        let mut bytes = 0;
        let mut lo = from;
        while lo <= to {
            let hi = (lo + FLOOR_VERIFY_PAGE - 1).min(to);
            bytes += post_one(
                &endpoint,
                &format!(
                    "SELECT rowid, id, version, manifest, metadata, hash FROM sys_packages \
                     WHERE rowid >= {lo} AND rowid <= {hi} ORDER BY rowid"
                ),
            )?;
            lo = hi + 1;
        }
        Ok(bytes)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| half(first, middle));
        let b = half(middle + 1, last);
        (a.join(), b)
    });
    let a = a.map_err(|_| "a floor thread panicked".to_owned())??;
    println!("{} bytes", a + b?);
    Ok(())
}
