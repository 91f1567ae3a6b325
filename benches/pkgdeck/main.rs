//! The benchmark of spec section 7, a `harness = false` bench target: `scripts/bench` builds it
//! with `cargo bench --no-run` and runs `run`; `cargo bench --bench pkgdeck -- COMMAND` runs any
//! command. It is not part of the product: `cargo install` ships only `pkgdeck`.
//!
//! It generates registries the way the reference service writes them (10k, 100k light and
//! heavy, 500k rows, cached by generator version), and measures every row of section 7 against
//! its floor in the same run: the floors are programs of this executable (`floor-verify`,
//! `floor-list`, `floor-remote-list`, `floor-remote-verify`), timed as whole processes beside the real `pkgdeck`
//! binary; the console is timed through its public API; the remote rows run against
//! `tursodb --sync-server` through a request-counting proxy. One table (also written as
//! markdown to `<out>/latest.md`, and with `--readme` into README.md) shows every measurement,
//! its budget and PASS/FAIL.
//!
//! A failed budget is printed, not fatal: the exit code is non-zero only when the benchmark
//! itself broke (a command failed, a file could not be written).

mod command;
mod console;
mod document;
mod floor;
mod generate;
mod local;
mod ops;
mod proxy;
mod remote;
mod report;
mod rng;
mod run;
mod sample;
mod timing;
mod tursodb;
mod words;

use std::collections::BTreeMap;
use std::path::PathBuf;

use pkgdeck::registry::Scope;

const USAGE: &str = "\
usage: cargo bench --bench pkgdeck -- COMMAND   (or the bench executable: COMMAND)

  run [--out DIR] [--reps N] [--quick] [--no-remote] [--readme] [--pkgdeck BIN]
        the whole benchmark against the pkgdeck binary cargo built with it (or BIN); prints
        the table and writes DIR/latest.md (DIR defaults to target/bench). `cargo bench
        --bench pkgdeck` alone runs it with the defaults.
        --quick: registries of 1k, 5k and 20k rows and 3 repetitions (a smoke run)
        --readme: also rewrite README.md's benchmark section with the results
        tursodb is found through PKGDECK_TURSODB or .tools/ (scripts/install-tursodb)
  readme [--out DIR]
        rewrite README.md's benchmark section from DIR/latest.md, without measuring
  gen PATH [--packages N] [--versions V] [--light] [--force]
        writes a registry of N packages x V versions (default 20000 x 5, heavy rows) to
        PATH, or keeps PATH when it already holds that many rows
  floor-verify DB | floor-list DB STATEMENTS | floor-remote-list URL STATEMENTS
  floor-remote-verify URL FIRST_ROWID LAST_ROWID
        the floors (see floor.rs); STATEMENTS is a file `run` writes
  console-probe DB
        a console on DB in this process: prints its peak RSS (kB) and first frame (ms)
  ops PATH [--reps N]
        in-process timings of get, publish, diff, list and verify on PATH (publish writes
        new versions into PATH: use a scratch copy)
  time [--reps N] -- COMMAND [ARGS...]
        median wall time of COMMAND (stdout to /dev/null)
  console SMALL LARGE [--reps N]
        the console rows: first frame on LARGE against SMALL, peak memory, keystrokes
  sql PATH SQL [--reps N]
        median time of one statement through the bundled SQLite (all rows stepped, every
        column read), its query plan, and the bytes one run reads from the file
  remote PATH --tursodb BIN [--reps N]
        the remote rows against `tursodb --sync-server` serving a copy of PATH, with HTTP
        requests counted by a proxy

Run by `cargo test` (no command, no --bench), it runs a self-check instead: a small generated
registry must verify clean and draw in the console.
";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends --bench. `cargo test` runs this target without it, perhaps with
    // test filters, which mean nothing here; both set CARGO, a shell does not.
    let under_cargo_bench = args.last().is_some_and(|a| a == "--bench");
    if under_cargo_bench {
        args.pop();
    }
    let under_cargo_test = !under_cargo_bench && std::env::var_os("CARGO").is_some();
    let result = match args.first().map(String::as_str) {
        Some("run") => run::cmd_run(&args[1..]),
        Some("readme") => run::cmd_readme(&args[1..]),
        Some("floor-verify") => floor::cmd_floor_verify(&args[1..]),
        Some("floor-list") => floor::cmd_floor_list(&args[1..]),
        Some("floor-remote-list") => floor::cmd_floor_remote_list(&args[1..]),
        Some("floor-remote-verify") => floor::cmd_floor_remote_verify(&args[1..]),
        Some("console-probe") => console::cmd_console_probe(&args[1..]),
        Some("gen") => generate::cmd_gen(&args[1..]),
        Some("ops") => ops::cmd_ops(&args[1..]),
        Some("canonical") => ops::cmd_canonical(&args[1..]),
        Some("time") => timing::cmd_time(&args[1..]),
        Some("console") => console::cmd_console(&args[1..]),
        Some("remote") => remote::cmd_remote(&args[1..]),
        Some("sql") => local::cmd_sql(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        None if under_cargo_bench => run::cmd_run(&[]),
        _ if under_cargo_test => self_check(&args),
        _ => Err(format!("unknown or missing command\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("pkgdeck bench: {e}");
        std::process::exit(1);
    }
}

/// What `cargo test` runs: a small registry from the generator, checked through the library
/// (every row verifies clean, the console's paged list equals the whole list) and opened in
/// the console as the benchmark times it, so that a change to the library that breaks the
/// benchmark fails the tests rather than the next benchmark run.
fn self_check(ignored: &[String]) -> Result<(), String> {
    const PACKAGES: usize = 100;
    const VERSIONS: usize = 3;
    if !ignored.is_empty() {
        eprintln!("pkgdeck bench: ignoring {ignored:?} (test filters); --help lists the commands");
    }
    let dir = sample::scratch_dir("self-check")?;
    let db = dir.path().join("registry.db");
    generate::generate(&db, PACKAGES, VERSIONS, document::Weight::Heavy, false)?;
    let reg = sample::open_sqlite(&db, true, dir.path())?;
    let e = |e: pkgdeck::registry::RegistryError| e.to_string();
    let report = reg.verify(&Scope::All, &mut |_| true).map_err(e)?;
    let rows = (PACKAGES * VERSIONS) as u64;
    if report.checked != rows || !report.failed.is_empty() || !report.warnings.is_empty() {
        return Err(format!(
            "self-check: verify of the generated registry checked {} of {rows} rows with {} failures and {} warnings",
            report.checked,
            report.failed.len(),
            report.warnings.len()
        ));
    }
    let whole = reg.list().map_err(e)?;
    let mut paged = Vec::new();
    reg.list_with(&mut |page| paged.extend(page)).map_err(e)?;
    if whole.len() != PACKAGES || paged != whole {
        return Err(format!(
            "self-check: list has {} packages and list_with {}, expected {PACKAGES} each and the same rows",
            whole.len(),
            paged.len()
        ));
    }
    console::first_frame_and_filter(reg, "acme")?;
    eprintln!(
        "pkgdeck bench: self-check passed ({PACKAGES} packages x {VERSIONS} versions generated, verified, listed, drawn)"
    );
    Ok(())
}

/// `--name value` options and bare flags, plus positional arguments; `--` ends options.
struct Opts {
    positional: Vec<String>,
    named: BTreeMap<String, String>,
    flags: Vec<String>,
    /// What follows `--`.
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], valued: &[&str]) -> Result<Opts, String> {
        let mut o = Opts {
            positional: vec![],
            named: BTreeMap::new(),
            flags: vec![],
            rest: vec![],
        };
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                o.rest = args[i + 1..].to_vec();
                break;
            }
            if let Some(name) = a.strip_prefix("--") {
                if valued.contains(&name) {
                    let v = args.get(i + 1).ok_or(format!("--{name} needs a value"))?;
                    o.named.insert(name.to_owned(), v.clone());
                    i += 2;
                    continue;
                }
                o.flags.push(name.to_owned());
            } else {
                o.positional.push(a.clone());
            }
            i += 1;
        }
        Ok(o)
    }
    fn num(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.named.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name} {v}: not a number")),
        }
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
    fn path(&self, what: &str) -> Result<PathBuf, String> {
        self.positional
            .first()
            .map(PathBuf::from)
            .ok_or(format!("missing {what}"))
    }
}
