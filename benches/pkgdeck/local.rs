//! The CLI against the sqlite3 shell on the same file: `list --json` and `verify` side by side
//! with their sqlite3 equivalents, what the list reads, peak memory; and the `sql` command for
//! looking at one statement through the bundled SQLite.

use std::path::Path;

use crate::command::{shell_quote, Cmd, Env};
use crate::report::{Row, Table};
use crate::sample::{open_read_only, open_sqlite, size_label};
use crate::timing::{fmt_ms, peak_rss_kb, time_fn, time_pair};
use crate::Opts;

/// The sqlite3 shell's equivalent of `pkgdeck list --json`: one row per package, latest by
/// `created_at DESC, rowid DESC`, the same columns (name and type through json_extract), JSON
/// output. The same index-driven plan as pkgdeck's own query.
pub const SQLITE3_LIST: &str =
    "SELECT p.id, p.version, json_extract(p.manifest, '$.name') AS name, \
json_extract(p.manifest, '$.type') AS type, p.hash, p.created_at, p.updated_at, g.n AS versions \
FROM (SELECT o.id AS id, count(*) AS n, (SELECT q.rowid FROM sys_packages q WHERE q.id = o.id \
ORDER BY q.created_at DESC, q.rowid DESC LIMIT 1) AS rid FROM sys_packages o GROUP BY o.id) g \
JOIN sys_packages p ON p.rowid = g.rid ORDER BY p.created_at DESC, p.rowid DESC;";

/// Reads the same bytes as a verify of every row.
const SQLITE3_READ_ALL: &str = "SELECT manifest, metadata FROM sys_packages;";

/// `list --json` of pkgdeck and the sqlite3 query must agree row for row.
fn check_list_agrees(env: &Env, db: &str) -> Result<usize, String> {
    let ours = env
        .pkgdeck(&["--db", db, "--read-only", "list", "--json"])
        .output(&[0])?;
    let theirs = Cmd::new(["sqlite3", "-readonly", "-json", db, SQLITE3_LIST]).output(&[0])?;
    let ours: serde_json::Value =
        serde_json::from_slice(&ours).map_err(|e| format!("pkgdeck list --json: {e}"))?;
    let theirs: serde_json::Value =
        serde_json::from_slice(&theirs).map_err(|e| format!("sqlite3 -json: {e}"))?;
    let (Some(a), Some(b)) = (ours.as_array(), theirs.as_array()) else {
        return Err("list output is not an array".into());
    };
    if a.len() != b.len() {
        return Err(format!(
            "pkgdeck list has {} rows, the sqlite3 query {}",
            a.len(),
            b.len()
        ));
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return Err(format!(
                "pkgdeck list and the sqlite3 query differ: {x} vs {y}"
            ));
        }
    }
    Ok(a.len())
}

/// The query plan of `sql` on `conn`, one line per step.
fn query_plan(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<String>, String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", sql.trim_end_matches(';')))
        .map_err(|e| e.to_string())?;
    let details = stmt
        .query_map([], |row| row.get::<_, String>(3))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string());
    details
}

/// Bytes this process has read through read(2) and pread(2) so far (`rchar` of
/// /proc/self/io): SQLite reads every page it needs that way.
fn self_rchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes read from the file by one `list()`, and by one 60-row `list_page`, each on a freshly
/// opened registry (empty page cache): what the list really reads, whatever its plan.
fn list_reads(db: &Path, state: &Path) -> Result<(u64, u64), String> {
    let reg = open_sqlite(db, true, state)?;
    let before = self_rchar();
    reg.list().map_err(|e| e.to_string())?;
    let list = self_rchar() - before;
    drop(reg);
    let reg = open_sqlite(db, true, state)?;
    let before = self_rchar();
    reg.list_page(None, Some(60)).map_err(|e| e.to_string())?;
    Ok((list, self_rchar() - before))
}

/// A pkgdeck command against its sqlite3 baseline: the row of pkgdeck's whole process, held to
/// `factor` × the baseline's median, and the baseline's row.
struct SideBySide<'a> {
    what: String,
    ours: &'a Cmd,
    baseline_name: &'a str,
    baseline_what: &'a str,
    baseline: &'a Cmd,
    factor: f64,
}

impl SideBySide<'_> {
    fn measure(&self, env: &Env, table: &mut Table) -> Result<(), String> {
        let (a, b) = time_pair(self.ours, self.baseline, env.reps, &env.out)?;
        let mut row = Row::at_most(
            self.what.as_str(),
            a.shown(),
            format!(
                "≤ {} × {} ({})",
                self.factor,
                self.baseline_name,
                fmt_ms(b.wall.median)
            ),
            a.wall.median,
            self.factor * b.wall.median,
        );
        row.ratio = format!("{:.2}×", a.wall.median / b.wall.median);
        table.push(row);
        table.push(Row::info(self.baseline_what, b.shown(), "(baseline)"));
        Ok(())
    }
}

/// `list --json` and `verify` of the pkgdeck binary against the sqlite3 shell on `db`.
pub fn local_cli(env: &Env, db: &Path, table: &mut Table) -> Result<(), String> {
    let dbs = db.display().to_string();
    let reps = env.reps;
    eprintln!("list: checking that pkgdeck and the sqlite3 query agree …");
    let rows = check_list_agrees(env, &dbs)?;
    table.note(format!(
        "list: pkgdeck `list --json` and the sqlite3 query return the same {rows} rows"
    ));

    table.note(format!(
        "sqlite3 list query plan: {}",
        query_plan(&open_read_only(db)?, SQLITE3_LIST)?.join(" / ")
    ));
    let file = std::fs::metadata(db)
        .map_err(|e| format!("{}: {e}", db.display()))?
        .len();
    let (list_bytes, page_bytes) = list_reads(db, &env.home.join("reads"))?;
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
    table.push(Row::at_most(
        "list reads only the latest rows (bytes read by list())",
        format!("{} of a {} file", mb(list_bytes), mb(file)),
        "< 50% of the file (a scan reads all)",
        list_bytes as f64,
        0.5 * file as f64,
    ));
    table.push(Row::info(
        "list_page(first 60 rows): bytes read",
        mb(page_bytes),
        "(index + 60 rows)",
    ));

    let ours = env.pkgdeck(&["--db", &dbs, "list", "--json"]);
    eprintln!("list: timing pkgdeck and sqlite3 ({reps} runs each) …");
    SideBySide {
        what: format!("list --json ({}), whole process", size_label(db)?),
        ours: &ours,
        baseline_name: "sqlite3",
        baseline_what: "sqlite3 shell, same list query",
        baseline: &Cmd::new(["sqlite3", "-readonly", "-json", &dbs, SQLITE3_LIST]),
        factor: 1.5,
    }
    .measure(env, table)?;
    match peak_rss_kb(&ours, &env.out)? {
        Some(kb) => table.push(Row::at_most(
            "list --json peak RSS",
            format!("{:.1} MB", kb as f64 / 1024.0),
            "< 64 MB",
            kb as f64,
            64.0 * 1024.0,
        )),
        None => table.push(Row::todo(
            "list --json peak RSS",
            "not measured (/usr/bin/time missing)",
            "< 64 MB",
        )),
    }

    let ours = env.pkgdeck(&["--db", &dbs, "verify"]);
    let check = String::from_utf8_lossy(&ours.output(&[0])?).into_owned();
    table.note(format!("verify: {}", check.trim()));
    eprintln!("verify: timing pkgdeck and sqlite3 | sha256sum ({reps} runs each) …");
    SideBySide {
        what: format!("verify ({}), whole process", size_label(db)?),
        ours: &ours,
        baseline_name: "sqlite3|sha256sum",
        baseline_what: "sqlite3 | sha256sum, same bytes",
        baseline: &Cmd::shell(&format!(
            "sqlite3 -readonly {} {} | sha256sum",
            shell_quote(&dbs),
            shell_quote(SQLITE3_READ_ALL)
        )),
        factor: 2.0,
    }
    .measure(env, table)?;
    if let Some(kb) = peak_rss_kb(&ours, &env.out)? {
        table.push(Row::info(
            "verify peak RSS",
            format!("{:.1} MB", kb as f64 / 1024.0),
            "(streams: no budget)",
        ));
    }
    Ok(())
}

/// `sql PATH SQL`: one statement through the bundled SQLite, its plan, its time and its reads.
pub fn cmd_sql(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let (Some(db), Some(sql)) = (o.positional.first(), o.positional.get(1)) else {
        return Err("usage: sql PATH SQL [--reps N]".into());
    };
    let db = Path::new(db);
    let conn = open_read_only(db)?;
    let e = |e: rusqlite::Error| e.to_string();
    for line in query_plan(&conn, sql)? {
        println!("plan: {line}");
    }
    let mut stmt = conn.prepare(sql).map_err(e)?;
    let width = stmt.column_count();
    let mut count = 0usize;
    let stats = time_fn(o.num("reps", 7)?, |_| {
        let mut rows = stmt.query([]).map_err(e)?;
        let mut bytes = 0usize;
        count = 0;
        while let Some(row) = rows.next().map_err(e)? {
            count += 1;
            for i in 0..width {
                if let rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) =
                    row.get_ref(i).map_err(e)?
                {
                    bytes += t.len();
                }
            }
        }
        Ok(bytes)
    })?;
    // What one more run reads from the file, through a connection with an empty page cache.
    let cold = open_read_only(db)?;
    let mut stmt = cold.prepare(sql).map_err(e)?;
    let before = self_rchar();
    let mut rows = stmt.query([]).map_err(e)?;
    while rows.next().map_err(e)?.is_some() {}
    let read = self_rchar() - before;
    println!(
        "{count} rows: {}; {:.1} MB read from the file",
        stats.ms(),
        read as f64 / 1e6
    );
    Ok(())
}
