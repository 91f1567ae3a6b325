//! The remote rows: list, get, publish, delete and verify against `tursodb --sync-server`
//! serving a copy of the registry, each with the HTTP round trips it took (counted by the
//! proxy) and its time, in process and as whole `pkgdeck` processes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use pkgdeck::registry::{self, PublishOptions, Scope};
use pkgdeck::store::hrana::HranaStore;

use crate::command::Env;
use crate::proxy::CountingProxy;
use crate::report::{Row, Table};
use crate::sample::{
    copy_scratch, new_version_document, open_on, registry_counts, sample_packages, scratch_dir,
};
use crate::timing::{after_warm_up, fmt_ms, time_fn, Stats};
use crate::tursodb::Tursodb;
use crate::Opts;

/// The row holding an operation to one round trip, with the most any call of it took.
fn one_round_trip(what: &str, worst: u64) -> Row {
    Row::at_most(
        format!("remote {what}: round trips"),
        worst.to_string(),
        "1 round trip",
        worst as f64,
        1.0,
    )
}

/// The time in process of a remote operation.
fn in_process(what: &str, stats: Stats) -> Row {
    Row::info(format!("remote {what}, in process"), stats.ms(), "—")
}

/// Times `f` as [`time_fn`] does; `f` answers the requests its operation made with its result.
/// Returns the most requests of any call, and the times.
fn time_counted<T>(
    reps: usize,
    mut f: impl FnMut(usize) -> Result<(u64, T), String>,
) -> Result<(u64, Stats), String> {
    let mut worst = 0;
    let stats = time_fn(reps, |i| {
        let (n, out) = f(i)?;
        worst = worst.max(n);
        Ok(out)
    })?;
    Ok((worst, stats))
}

/// Every remote row, on a copy of `db` served from `work`; with `pkgdeck`, also the binary's
/// whole-process rows through the same proxy.
pub fn remote(
    tursodb: &Path,
    db: &Path,
    work: &Path,
    pkgdeck: Option<&Env>,
    reps: usize,
    table: &mut Table,
) -> Result<(), String> {
    let copy = work.join("remote.db");
    copy_scratch(db, &copy)?;
    let server = Tursodb::start(tursodb, &copy, &work.join("tursodb.log"))?;
    let proxy = CountingProxy::start(server.addr)?;
    let (packages, rows) = registry_counts(db)?;
    let label = format!("{}k rows", rows / 1000);
    let store =
        HranaStore::open(&proxy.url, None, false, proxy.url.clone()).map_err(|e| e.to_string())?;
    let (open_requests, reg) = proxy.counted(|| open_on(store, &work.join("remote-state")))?;
    table.note(format!(
        "remote: tursodb --sync-server on loopback serving a copy of {} ({packages} packages, {rows} rows); opening the registry took {open_requests} request(s)",
        db.display()
    ));
    let e = |e: registry::RegistryError| e.to_string();
    let (proxy_start, store_start) = (proxy.count(), reg.round_trips());

    // list: the first page, then all of it.
    let started = Instant::now();
    let mut first_page: Option<(u64, f64)> = None;
    let before = proxy.count();
    let mut all = Vec::new();
    reg.list_with(&mut |page| {
        if first_page.is_none() {
            first_page = Some((proxy.count() - before, started.elapsed().as_secs_f64()));
        }
        all.extend(page);
    })
    .map_err(e)?;
    let list_total = (proxy.count() - before, started.elapsed().as_secs_f64());
    if all.len() as u64 != packages {
        return Err(format!(
            "remote list returned {} packages, expected {packages}",
            all.len()
        ));
    }
    let (first_requests, first_time) = first_page.unwrap_or((0, 0.0));
    table.push(Row::at_most(
        format!("remote list: round trips to first page ({label})"),
        format!("{first_requests} ({})", fmt_ms(first_time)),
        "1 round trip",
        first_requests as f64,
        1.0,
    ));
    table.push(Row::info(
        format!("remote list: all {packages} packages"),
        format!("{} round trips, {}", list_total.0, fmt_ms(list_total.1)),
        "—",
    ));

    let sample = sample_packages(db, 200)?;
    let (worst, get) = time_counted(reps.max(20), |i| {
        let (id, versions) = &sample[if i == usize::MAX { 0 } else { i % sample.len() }];
        let (n, r) = proxy.counted(|| reg.get(id, Some(&versions[0])).map_err(e))?;
        Ok((n, r.ok_or(format!("remote get {id}: not found"))?))
    })?;
    table.push(one_round_trip("get", worst));
    table.push(in_process("get ID VERSION", get));

    let mut published = Vec::new();
    let (worst, publish) = time_counted(reps.max(10), |i| {
        let (id, _) = &sample[if i == usize::MAX {
            1
        } else {
            (i + 7) % sample.len()
        }];
        let version = format!("7.{}.{}", std::process::id() % 1000, published.len());
        let doc = new_version_document(&reg, id, &version)?;
        let counted =
            proxy.counted(|| reg.publish(&doc, id, PublishOptions::default()).map_err(e))?;
        published.push((id.clone(), version));
        Ok(counted)
    })?;
    table.push(one_round_trip("publish", worst));
    table.push(in_process("publish (new version)", publish));

    // A delete as the console runs it: its confirm dialog has read the rows (delete_plan),
    // the confirmed delete saves exactly those to the trash and deletes them.
    let (mut worst, mut worst_plan) = (0, 0);
    let mut delete_samples = Vec::new();
    for (id, version) in &published {
        let (p, rows) = proxy.counted(|| reg.delete_plan(id, Some(version)).map_err(e))?;
        worst_plan = worst_plan.max(p);
        let started = Instant::now();
        let (n, _) =
            proxy.counted(|| reg.delete_rows(rows, registry::Allow::NOTHING).map_err(e))?;
        delete_samples.push(started.elapsed().as_secs_f64());
        worst = worst.max(n);
    }
    table.push(one_round_trip(
        "delete (one version, confirmed rows)",
        worst,
    ));
    table.push(Row::info(
        "remote delete: reading the rows to confirm (and trash first)",
        format!("{worst_plan} round trip(s)"),
        "—",
    ));
    table.push(in_process(
        "delete (one version)",
        Stats::of(delete_samples),
    ));

    let started = Instant::now();
    let (n, report) = proxy.counted(|| reg.verify(&Scope::All, &mut |_| true).map_err(e))?;
    if !report.failed.is_empty() {
        return Err(format!(
            "remote verify found {} failures",
            report.failed.len()
        ));
    }
    table.push(Row::info(
        format!("remote verify ({label}), in process"),
        format!(
            "{n} round trips, {}",
            fmt_ms(started.elapsed().as_secs_f64())
        ),
        "—",
    ));

    let (by_proxy, by_store) = (proxy.count() - proxy_start, reg.round_trips() - store_start);
    table.note(format!(
        "remote: the proxy counted {by_proxy} HTTP requests from the in-process registry; the store's own round_trips() counter says {by_store}"
    ));
    if by_proxy != by_store {
        table.push(Row::todo(
            "remote: request counters agree",
            format!("proxy {by_proxy} vs store {by_store}"),
            "equal",
        ));
    }

    if let Some(env) = pkgdeck {
        let url = proxy.url.clone();
        let (id, versions) = &sample[3];
        for (what, args) in [
            ("list --json", vec!["--db", &url, "list", "--json"]),
            (
                "get ID VERSION --json",
                vec!["--db", &url, "get", id, &versions[0], "--json"],
            ),
            ("verify", vec!["--db", &url, "verify"]),
        ] {
            let cmd = env.pkgdeck(&args);
            let mut requests = 0;
            let stats = after_warm_up(reps.min(5), |_| {
                let (n, t) = proxy.counted(|| cmd.timed(&[0]))?;
                requests = n;
                Ok(t)
            })?;
            table.push(Row::info(
                format!("remote pkgdeck {what}, whole process"),
                format!("{requests} requests, {}", stats.ms()),
                "—",
            ));
        }
    }
    drop(reg);
    drop(server);
    let _ = std::fs::remove_file(&copy);
    Ok(())
}

/// `remote PATH --tursodb BIN`: the in-process remote rows alone, printed as a table.
pub fn cmd_remote(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["tursodb", "reps"])?;
    let db = o.path("PATH")?;
    let tursodb = o
        .named
        .get("tursodb")
        .map(PathBuf::from)
        .ok_or("missing --tursodb BIN")?;
    let work = scratch_dir("remote")?;
    let mut table = Table::new();
    remote(
        &tursodb,
        &db,
        work.path(),
        None,
        o.num("reps", 20)?,
        &mut table,
    )?;
    print!("{}", table.plain());
    Ok(())
}
