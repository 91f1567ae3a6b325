//! The whole benchmark (`run`): the registries generated or reused, pkgdeck's list statements
//! captured for the list floors, every row of spec section 7 measured against its floor in
//! this run (local, console, remote), the table printed and written with the machine's
//! description to `<out>/latest.md`, and with `--readme` into the README.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::command::Env;
use crate::console::console;
use crate::document::Weight;
use crate::floor::{capture_list_statements, statements_json};
use crate::generate::Generated;
use crate::local::{
    compare, doctor, list_bytes, list_memory, make_compare_b, verify_and_list, Measured,
};
use crate::remote::remote;
use crate::report::{
    latest_markdown, machine_description, results_markdown, update_readme, Row, Status, Table,
};
use crate::sample::registry_counts;
use crate::tursodb::find_tursodb;
use crate::Opts;

/// The registries of a run: the smallest and largest for scaling, and the two of spec 7's
/// main size (light and heavy rows).
struct Sizes {
    small: Generated,
    light: Generated,
    heavy: Generated,
    large: Generated,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        let (small, main, large) = if quick {
            (200, 1_000, 4_000)
        } else {
            (2_000, 20_000, 100_000)
        };
        let of = |packages, weight| Generated {
            packages,
            versions: 5,
            weight,
        };
        Sizes {
            small: of(small, Weight::Light),
            light: of(main, Weight::Light),
            heavy: of(main, Weight::Heavy),
            large: of(large, Weight::Light),
        }
    }
}

/// A registry ready to measure: its file and its captured list statements.
struct Ready {
    db: PathBuf,
    label: String,
    statements: PathBuf,
    statements_sql: String,
    packages: u64,
}

impl Ready {
    fn measured(&self) -> Measured<'_> {
        Measured {
            db: &self.db,
            label: self.label.clone(),
            list_statements: &self.statements,
        }
    }
}

/// Generates (or reuses) `g` in `out` and captures the statements pkgdeck's list runs on it.
fn prepare(g: Generated, out: &Path, table: &mut Table) -> Result<Ready, String> {
    let started = Instant::now();
    let (db, wrote) = g.cached(out)?;
    let (packages, rows) = registry_counts(&db)?;
    let file = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let json: i64 = crate::sample::open_read_only(&db)?
        .query_row(
            "SELECT sum(length(CAST(manifest AS BLOB)) + length(CAST(metadata AS BLOB))) FROM sys_packages",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    table.note(format!(
        "{}: {packages} packages × {} versions = {rows} rows, {:.0} MB of JSON, file {:.0} MB ({} {})",
        g.label(),
        g.versions,
        json as f64 / 1e6,
        file as f64 / 1e6,
        if wrote { "generated in" } else { "reused" },
        if wrote {
            format!("{:.0} s", started.elapsed().as_secs_f64())
        } else {
            db.display().to_string()
        }
    ));
    let stmts = capture_list_statements(&db)?;
    let statements = out.join(format!(
        "list-statements-{}.json",
        g.label().replace(' ', "-")
    ));
    std::fs::write(&statements, statements_json(&stmts)?)
        .map_err(|e| format!("cannot write {}: {e}", statements.display()))?;
    let statements_sql = stmts
        .iter()
        .map(|s| format!("{};", s.sql))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Ready {
        db,
        label: g.label(),
        statements,
        statements_sql,
        packages,
    })
}

/// The one row standing for every remote row when they could not be measured.
fn remote_not_measured(why: &str) -> Row {
    Row::todo(
        "remote rows",
        format!("not measured ({why})"),
        "spec 7: remote list, verify, one request per write",
    )
}

/// `run [--out DIR] [--reps N] [--quick] [--no-remote] [--readme] [--pkgdeck BIN]`.
pub fn cmd_run(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["out", "reps", "pkgdeck"])?;
    let quick = o.flag("quick");
    let reps = o.num("reps", if quick { 3 } else { 7 })?;
    let repo = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = o
        .named
        .get("out")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // The caches of the benchmark before its registries were versioned.
    for old in ["registry-20k.db", "registry-2k.db", "scratch.db"] {
        let _ = std::fs::remove_file(out.join(old));
    }
    let env = Env::for_binary(o.named.get("pkgdeck").map(PathBuf::from), out.clone(), reps)?;
    let started = Instant::now();
    let mut table = Table::new();
    table.note(format!("pkgdeck under test: {}", env.pkgdeck.display()));

    let sizes = Sizes::new(quick);
    let small = prepare(sizes.small, &out, &mut table)?;
    let light = prepare(sizes.light, &out, &mut table)?;
    let heavy = prepare(sizes.heavy, &out, &mut table)?;
    let large = prepare(sizes.large, &out, &mut table)?;

    for r in [&light, &heavy, &small, &large] {
        verify_and_list(&env, &r.measured(), &mut table)?;
    }
    list_memory(&env, &large.measured(), true, &mut table)?;
    list_memory(&env, &heavy.measured(), false, &mut table)?;
    list_bytes(&env, &heavy.measured(), &mut table)?;
    for r in [&light, &heavy] {
        doctor(&env, &r.measured(), &mut table)?;
    }
    let compare_b = out.join("compare-b.db");
    make_compare_b(&light.db, &compare_b)?;
    compare(&env, &light.measured(), &compare_b, &mut table)?;
    let _ = std::fs::remove_file(&compare_b);

    console(
        (&small.db, &small.label),
        (&large.db, &large.label),
        large.packages as usize,
        &env.home.join("console"),
        reps,
        &mut table,
    )?;

    if o.flag("no-remote") {
        table.push(remote_not_measured("--no-remote"));
    } else if let Some(tursodb) = find_tursodb(&repo) {
        let work = out.join("remote");
        std::fs::create_dir_all(&work)
            .map_err(|e| format!("cannot create {}: {e}", work.display()))?;
        if let Err(err) = remote(
            &env,
            &tursodb,
            &light.measured(),
            (&small.db, &small.label),
            &work,
            &mut table,
        ) {
            table.push(remote_not_measured(&err));
        }
    } else {
        table.push(remote_not_measured(
            "tursodb missing: run scripts/install-tursodb",
        ));
    }
    table.note(format!(
        "the whole run took {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    ));

    let machine = machine_description();
    let results = results_markdown(&machine, reps, &table);
    let latest = out.join("latest.md");
    std::fs::write(&latest, latest_markdown(&results, &light.statements_sql))
        .map_err(|e| format!("cannot write {}: {e}", latest.display()))?;
    if o.flag("readme") {
        update_readme(&repo.join("README.md"), &results)?;
        eprintln!("bench: README.md's benchmark section rewritten");
    }

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

/// `readme [--out DIR]`: the README's benchmark section rewritten from the last run's
/// `latest.md`, without measuring again.
pub fn cmd_readme(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["out"])?;
    let repo = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = o
        .named
        .get("out")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/bench"));
    let latest = out.join("latest.md");
    let text = std::fs::read_to_string(&latest).map_err(|e| {
        format!(
            "cannot read {} (run the benchmark first): {e}",
            latest.display()
        )
    })?;
    let body = text
        .split_once("\n\n")
        .map_or(text.as_str(), |(_, rest)| rest);
    let results = body
        .split("\nThe list statements pkgdeck runs")
        .next()
        .unwrap_or(body);
    update_readme(&repo.join("README.md"), results)?;
    eprintln!(
        "bench: README.md's benchmark section rewritten from {}",
        latest.display()
    );
    Ok(())
}
