//! The local rows: `verify` and `list --json` of the pkgdeck binary side by side with their
//! floors on each registry, list's peak memory and the bytes it reads, `doctor` against
//! `list --json`, `compare` against two lists; and the `sql` command for looking at one
//! statement through the bundled SQLite.

use std::path::Path;

use pkgdeck::store::Stmt;

use crate::command::{Cmd, Env};
use crate::report::{Row, Table};
use crate::sample::{open_read_only, open_sqlite};
use crate::timing::{fmt_ms, peak_rss_kb, time_fn, time_pair};
use crate::Opts;

/// One of the registries a run measures: its file, its label ("100k light"), and where the
/// list statements pkgdeck runs on it were written for the floor.
pub struct Measured<'a> {
    pub db: &'a Path,
    pub label: String,
    pub list_statements: &'a Path,
}

/// A pkgdeck command against what it is held to, side by side: the row of pkgdeck's whole
/// process, held to `factor` × the other's median, and (for a floor) the floor's own row.
pub struct Versus<'a> {
    pub what: String,
    pub ours: &'a Cmd,
    /// How the budget names what it is compared with ("floor", "list --json").
    pub against_name: String,
    /// The other command's own row, or `None` when it is shown elsewhere.
    pub against_row: Option<String>,
    pub against: &'a Cmd,
    pub factor: f64,
}

impl Versus<'_> {
    /// Times both and pushes the rows; returns pkgdeck's median seconds.
    pub fn measure(&self, env: &Env, reps: usize, table: &mut Table) -> Result<f64, String> {
        let (a, b) = time_pair(self.ours, self.against, reps, &env.out)?;
        let mut row = Row::at_most(
            self.what.as_str(),
            a.shown(),
            format!(
                "≤ {} × {} ({})",
                self.factor,
                self.against_name,
                fmt_ms(b.wall.median)
            ),
            a.wall.median,
            self.factor * b.wall.median,
        );
        row.ratio = format!("{:.2}×", a.wall.median / b.wall.median);
        table.push(row);
        if let Some(what) = &self.against_row {
            table.push(Row::info(what.as_str(), b.shown(), "(floor)"));
        }
        Ok(a.wall.median)
    }
}

/// This bench executable with a floor command and its arguments.
pub fn floor_cmd(command: &str, args: &[&str]) -> Result<Cmd, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find the bench itself: {e}"))?;
    let mut argv = vec![me.display().to_string(), command.to_owned()];
    argv.extend(args.iter().map(|a| a.to_string()));
    Ok(Cmd::new(argv))
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

/// Bytes read from the file by one `list()` on a freshly opened registry (an empty page
/// cache of its own): what the list really reads, whatever its plan.
fn list_reads(db: &Path, state: &Path) -> Result<u64, String> {
    let reg = open_sqlite(db, true, state)?;
    let before = self_rchar();
    reg.list().map_err(|e| e.to_string())?;
    Ok(self_rchar() - before)
}

/// `verify` against its floor, and `list --json` against its floor, on one registry.
pub fn verify_and_list(env: &Env, r: &Measured<'_>, table: &mut Table) -> Result<(), String> {
    let db = r.db.display().to_string();
    let verify = env.pkgdeck(&["--db", &db, "--read-only", "verify"]);
    let check = String::from_utf8_lossy(&verify.output(&[0])?).into_owned();
    table.note(format!("verify {}: {}", r.label, check.trim()));
    eprintln!("verify {}: pkgdeck and its floor …", r.label);
    Versus {
        what: format!("verify ({})", r.label),
        ours: &verify,
        against_name: "floor".into(),
        against_row: Some(format!(
            "floor: SQLite + SHA-256, 2 threads over rowid halves ({})",
            r.label
        )),
        against: &floor_cmd("floor-verify", &[&db])?,
        factor: 1.5,
    }
    .measure(env, env.reps, table)?;

    let list = env.pkgdeck(&["--db", &db, "--read-only", "list", "--json"]);
    eprintln!("list {}: pkgdeck and its floor …", r.label);
    Versus {
        what: format!("list --json ({})", r.label),
        ours: &list,
        against_name: "floor".into(),
        against_row: Some(format!(
            "floor: SQLite alone, pkgdeck's list statements ({})",
            r.label
        )),
        against: &floor_cmd(
            "floor-list",
            &[&db, &r.list_statements.display().to_string()],
        )?,
        factor: 1.25,
    }
    .measure(env, env.reps, table)?;
    Ok(())
}

/// Peak memory of `list --json` on `r`, held to 64 MB when `budget`.
pub fn list_memory(
    env: &Env,
    r: &Measured<'_>,
    budget: bool,
    table: &mut Table,
) -> Result<(), String> {
    let db = r.db.display().to_string();
    let list = env.pkgdeck(&["--db", &db, "--read-only", "list", "--json"]);
    let what = format!("list --json peak RSS ({})", r.label);
    match peak_rss_kb(&list, &env.out)? {
        Some(kb) if budget => table.push(Row::at_most(
            what,
            format!("{:.1} MB", kb as f64 / 1024.0),
            "≤ 64 MB",
            kb as f64,
            64.0 * 1024.0,
        )),
        Some(kb) => table.push(Row::info(
            what,
            format!("{:.1} MB", kb as f64 / 1024.0),
            "(budget at the largest registry)",
        )),
        None => table.push(Row::todo(
            what,
            "not measured (/usr/bin/time missing)",
            "≤ 64 MB",
        )),
    }
    Ok(())
}

/// What one list reads of the file: less than half (a scan of every row reads it all).
pub fn list_bytes(env: &Env, r: &Measured<'_>, table: &mut Table) -> Result<(), String> {
    let file = std::fs::metadata(r.db)
        .map_err(|e| format!("{}: {e}", r.db.display()))?
        .len();
    let read = list_reads(r.db, &env.home.join("reads"))?;
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
    table.push(Row::at_most(
        format!("list never reads the blobs of all rows ({})", r.label),
        format!("{} read of a {} file", mb(read), mb(file)),
        "< 50% of the file",
        read as f64,
        0.5 * file as f64,
    ));
    Ok(())
}

/// `doctor --json` against `list --json` on `r`, when the binary has `doctor`.
pub fn doctor(env: &Env, r: &Measured<'_>, table: &mut Table) -> Result<(), String> {
    let what = format!("doctor --json ({})", r.label);
    if !env.has_command("doctor") {
        table.push(Row::todo(
            what,
            "not measured (this pkgdeck has no doctor command)",
            "≤ 1.5 × list --json",
        ));
        return Ok(());
    }
    let db = r.db.display().to_string();
    let doctor = env
        .pkgdeck(&["--db", &db, "--read-only", "doctor", "--json"])
        .exits(&[0, 1]);
    let list = env.pkgdeck(&["--db", &db, "--read-only", "list", "--json"]);
    eprintln!("doctor {}: doctor and list …", r.label);
    Versus {
        what,
        ours: &doctor,
        against_name: "list --json".into(),
        against_row: None,
        against: &list,
        factor: 1.5,
    }
    .measure(env, env.reps, table)?;

    // What no doctor can go below: the engine answering the server's own `list()` (every
    // latest row whole, ties included, sorted), which the boot replay must read. Shown against
    // list --json, the yardstick of the budget, on the same registry.
    let statements = env.out.join("server-list-statement.json");
    let server_list = Stmt::new(pkgdeck::registry::server::SERVER_LIST_SQL, vec![]);
    std::fs::write(
        &statements,
        crate::floor::statements_json(std::slice::from_ref(&server_list))?,
    )
    .map_err(|e| format!("cannot write {}: {e}", statements.display()))?;
    let floor = floor_cmd("floor-list", &[&db, &statements.display().to_string()])?;
    eprintln!("doctor {}: the server's list() alone and list …", r.label);
    let (read, list) = time_pair(&floor, &list, env.reps, &env.out)?;
    let mut row = Row::info(
        format!(
            "floor of doctor: SQLite alone steps the server's list() query verbatim ({})",
            r.label
        ),
        read.shown(),
        format!("(against list --json, {})", fmt_ms(list.wall.median)),
    );
    row.ratio = format!("{:.2}×", read.wall.median / list.wall.median);
    table.push(row);
    Ok(())
}

/// `compare A B --json` against `list --json` of A then of B, when the binary has `compare`.
/// B is A with some rows changed and some deleted (`make_compare_b`).
pub fn compare(env: &Env, a: &Measured<'_>, b: &Path, table: &mut Table) -> Result<(), String> {
    let what = format!("compare A B --json (A {}, B a changed copy)", a.label);
    if !env.has_command("compare") {
        table.push(Row::todo(
            what,
            "not measured (this pkgdeck has no compare command)",
            "≤ 2.5 × (list A + list B)",
        ));
        return Ok(());
    }
    let (da, db) = (a.db.display().to_string(), b.display().to_string());
    let compare = env
        .pkgdeck(&["--read-only", "compare", &da, &db, "--json"])
        .exits(&[0, 1]);
    let list = |d: &str| {
        env.pkgdeck(&["--db", d, "--read-only", "list", "--json"])
            .shown()
    };
    let mut both = Cmd::shell(&format!(
        "{} >/dev/null && {} >/dev/null",
        list(&da),
        list(&db)
    ));
    both.env = env.pkgdeck(&[]).env;
    eprintln!("compare: compare and two lists …");
    Versus {
        what,
        ours: &compare,
        against_name: "(list A + list B)".into(),
        against_row: None,
        against: &both,
        factor: 2.5,
    }
    .measure(env, env.reps, table)?;
    Ok(())
}

/// B of the compare row: a copy of `a` in which one row in a hundred has another hash (the
/// same id@version with different contents) and one in two hundred is gone.
pub fn make_compare_b(a: &Path, b: &Path) -> Result<(), String> {
    crate::sample::copy_scratch(a, b)?;
    let conn = rusqlite::Connection::open(b).map_err(|e| format!("{}: {e}", b.display()))?;
    conn.execute_batch(
        "UPDATE sys_packages \
           SET hash = (CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END) || substr(hash, 2) \
           WHERE rowid % 100 = 7; \
         DELETE FROM sys_packages WHERE rowid % 200 = 13;",
    )
    .map_err(|e| format!("{}: {e}", b.display()))
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
    {
        let mut plan = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", sql.trim_end_matches(';')))
            .map_err(e)?;
        let lines = plan
            .query_map([], |row| row.get::<_, String>(3))
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        for line in lines {
            println!("plan: {line}");
        }
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
