//! The whole benchmark (`run`): the registry generated or reused, every section in order
//! (CLI against sqlite3, single operations, console, remote), the table printed and written
//! with the machine's description to `<out>/latest.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::command::{which, Env};
use crate::console::console;
use crate::generate::generate;
use crate::local::{local_cli, SQLITE3_LIST};
use crate::ops::local_ops;
use crate::remote::remote;
use crate::report::{latest_markdown, machine_description, Row, Status, Table};
use crate::sample::open_read_only;
use crate::tursodb::find_tursodb;
use crate::Opts;

/// The binary under test: the `pkgdeck` that cargo built with this harness, same profile.
const PKGDECK: &str = env!("CARGO_BIN_EXE_pkgdeck");

/// The one row standing for every remote row when they could not be measured.
fn remote_not_measured(why: &str) -> Row {
    Row::todo(
        "remote",
        format!("remote: not measured ({why})"),
        "1 round trip per op",
    )
}

/// The remote rows on the 2,000-package registry (a remote list of 20,000 is not what the
/// budgets are about), or the row saying why they are missing.
fn remote_section(repo: &Path, env: &Env, table: &mut Table) -> Result<(), String> {
    let Some(tursodb) = find_tursodb(repo) else {
        table.push(remote_not_measured(
            "tursodb missing: run scripts/install-tursodb",
        ));
        return Ok(());
    };
    let small = env.out.join("registry-2k.db");
    generate(&small, 2_000, 5, false)?;
    let work = env.out.join("remote");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    if let Err(err) = remote(&tursodb, &small, &work, Some(env), env.reps, table) {
        table.push(remote_not_measured(&err));
    }
    Ok(())
}

/// `run [--out DIR] [--reps N] [--quick] [--no-remote]`.
pub fn cmd_run(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["out", "reps"])?;
    let quick = o.flag("quick");
    let reps = o.num("reps", if quick { 3 } else { 7 })?;
    let repo = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = o
        .named
        .get("out")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let pkgdeck = PathBuf::from(PKGDECK);
    if !pkgdeck.is_file() {
        return Err(format!(
            "{} is missing: build it first (cargo bench --bench pkgdeck --no-run)",
            pkgdeck.display()
        ));
    }
    if which("sqlite3").is_none() {
        return Err("the sqlite3 shell is missing (apt-get install sqlite3)".into());
    }
    let home = out.join("home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot create {}: {e}", home.display()))?;
    let env = Env {
        pkgdeck,
        out: out.clone(),
        home,
        reps,
    };
    let mut table = Table::new();

    let (packages, db_name) = if quick {
        (2_000, "registry-2k.db")
    } else {
        (20_000, "registry-20k.db")
    };
    let db = out.join(db_name);
    let started = Instant::now();
    if generate(&db, packages, 5, false)? {
        table.note(format!(
            "generated {} in {:.1} s",
            db.display(),
            started.elapsed().as_secs_f64()
        ));
    } else {
        table.note(format!("reused {}", db.display()));
    }
    let bytes: i64 = open_read_only(&db)?
        .query_row("SELECT sum(length(CAST(manifest AS BLOB)) + length(CAST(metadata AS BLOB))) FROM sys_packages", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let file_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    table.note(format!(
        "registry: {packages} packages × 5 versions, {:.0} MB of JSON, file {:.0} MB",
        bytes as f64 / 1e6,
        file_size as f64 / 1e6
    ));

    local_cli(&env, &db, &mut table)?;
    local_ops(&env, &db, &mut table)?;
    console(&db, &env.home.join("console"), reps, &mut table)?;
    if o.flag("no-remote") {
        table.push(remote_not_measured("--no-remote"));
    } else {
        remote_section(&repo, &env, &mut table)?;
    }

    let machine = machine_description();
    let latest = out.join("latest.md");
    std::fs::write(
        &latest,
        latest_markdown(&machine, reps, &table, SQLITE3_LIST),
    )
    .map_err(|e| format!("cannot write {}: {e}", latest.display()))?;

    println!();
    for m in &machine {
        println!("{m}");
    }
    println!();
    print!("{}", table.plain());
    println!();
    println!(
        "{} budgets passed, {} failed, {} not measured; written to {}",
        table.count(Status::Pass),
        table.count(Status::Fail),
        table.count(Status::NotMeasured),
        latest.display()
    );
    Ok(())
}
