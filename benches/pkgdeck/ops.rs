//! Single operations: get, publish, diff, list and verify timed in process through the library
//! (with a check that the console's paged list equals the whole list), and get, diff and
//! publish as whole `pkgdeck` processes.

use std::path::Path;

use pkgdeck::registry::{self, PublishOptions, Scope};

use crate::command::Env;
use crate::report::{Row, Table};
use crate::sample::{
    copy_scratch, new_version_document, open_sqlite, sample_packages, scratch_dir, size_label,
};
use crate::timing::{after_warm_up, time_fn, timed_cmd_stats, Stats};
use crate::Opts;

/// Medians and spreads of the single operations, in process.
struct OpTimes {
    get: Stats,
    get_latest: Stats,
    publish: Stats,
    diff: Stats,
    list: Stats,
    first_page: Stats,
    verify: Stats,
}

/// In-process timings on `db`, which gets new versions (use a scratch copy).
fn ops_in_process(db: &Path, state: &Path, reps: usize) -> Result<OpTimes, String> {
    let reg = open_sqlite(db, false, state)?;
    let sample = sample_packages(db, 1000)?;
    let e = |e: registry::RegistryError| e.to_string();
    let pick = |i: usize| &sample[i.wrapping_mul(7919) % sample.len()];
    let get = time_fn(2000, |i| {
        let (id, versions) = pick(i);
        let v = &versions[i % versions.len()];
        reg.get(id, Some(v))
            .map_err(e)?
            .ok_or(format!("{id} {v} not found"))
    })?;
    let get_latest = time_fn(2000, |i| {
        let (id, _) = pick(i);
        reg.get(id, None)
            .map_err(e)?
            .ok_or(format!("{id} not found"))
    })?;
    let docs: Vec<(String, String)> = (0..=reps.max(20))
        .map(|i| {
            let (id, _) = pick(i + 500);
            let version = format!("9.{}.{}", std::process::id() % 1000, i);
            new_version_document(&reg, id, &version).map(|d| (id.clone(), d))
        })
        .collect::<Result<_, _>>()?;
    let publish = time_fn(docs.len() - 1, |i| {
        let (id, doc) = &docs[if i == usize::MAX { docs.len() - 1 } else { i }];
        let out = reg.publish(doc, id, PublishOptions::default()).map_err(e)?;
        if out.unchanged || out.replaced.is_some() {
            return Err(format!("publish of {id} did not insert a new version"));
        }
        Ok(out)
    })?;
    let diff = time_fn(500, |i| {
        let (id, versions) = pick(i);
        reg.diff(id, &versions[0], &versions[versions.len() - 1])
            .map_err(e)
    })?;
    let list = time_fn(reps.min(5), |_| reg.list().map_err(e))?;
    let first_page = time_fn(reps.min(10), |_| reg.list_page(None, Some(60)).map_err(e))?;
    // The console reads the list through list_with (a first page, then the rest): it must
    // give exactly what list() gives, across same-second ties.
    let whole = reg.list().map_err(e)?;
    let mut pages = Vec::new();
    let mut paged = Vec::new();
    reg.list_with(&mut |page| {
        pages.push(page.len());
        paged.extend(page);
    })
    .map_err(e)?;
    if paged != whole {
        return Err(format!("list_with (pages {pages:?}) differs from list()"));
    }
    let verify = time_fn(reps.min(3), |_| {
        let report = reg.verify(&Scope::All, &mut |_| true).map_err(e)?;
        if !report.failed.is_empty() || !report.warnings.is_empty() {
            return Err(format!(
                "verify found {} failures, {} warnings",
                report.failed.len(),
                report.warnings.len()
            ));
        }
        Ok(report.checked)
    })?;
    Ok(OpTimes {
        get,
        get_latest,
        publish,
        diff,
        list,
        first_page,
        verify,
    })
}

/// The single operations on a scratch copy of `db`: in process, then as whole pkgdeck processes.
pub fn local_ops(env: &Env, db: &Path, table: &mut Table) -> Result<(), String> {
    let scratch = env.out.join("scratch.db");
    eprintln!("ops: copying the registry to {} …", scratch.display());
    copy_scratch(db, &scratch)?;
    let state = env.home.join("inprocess");
    eprintln!("ops: in-process timings …");
    let t = ops_in_process(&scratch, &state, env.reps.max(30))?;
    let size = size_label(db)?;
    for (what, stats, reference) in [
        ("get ID VERSION".to_owned(), t.get, "reference 0.05–0.07 ms"),
        (
            "get ID (latest)".to_owned(),
            t.get_latest,
            "reference 0.05–0.07 ms",
        ),
        (
            "publish (new version)".to_owned(),
            t.publish,
            "reference ≈ 1 ms",
        ),
        ("diff ID FIRST LAST".to_owned(), t.diff, "—"),
        (format!("list ({size})"), t.list, "reference list() 443 ms"),
        ("list_page(first 60 rows)".to_owned(), t.first_page, "—"),
        (format!("verify ({size})"), t.verify, "—"),
    ] {
        table.push(Row::info(
            format!("{what}, in process"),
            stats.ms(),
            reference,
        ));
    }

    eprintln!("ops: whole-process timings …");
    let sample = sample_packages(&scratch, 50)?;
    let dbs = scratch.display().to_string();
    let (id, versions) = &sample[sample.len() / 2];
    let get = timed_cmd_stats(
        &env.pkgdeck(&["--db", &dbs, "get", id, &versions[1], "--json"]),
        env.reps,
    )?;
    table.push(Row::info(
        "pkgdeck get ID VERSION --json, whole process",
        get.ms(),
        "—",
    ));
    let diff = timed_cmd_stats(
        &env.pkgdeck(&[
            "--db",
            &dbs,
            "diff",
            id,
            &versions[0],
            &versions[versions.len() - 1],
        ]),
        env.reps,
    )?;
    table.push(Row::info(
        "pkgdeck diff ID FIRST LAST, whole process",
        diff.ms(),
        "—",
    ));
    let reg = open_sqlite(&scratch, false, &state)?;
    let docs_dir = env.out.join("docs");
    std::fs::create_dir_all(&docs_dir)
        .map_err(|e| format!("cannot create {}: {e}", docs_dir.display()))?;
    let publish = after_warm_up(env.reps, |i| {
        let version = format!("8.{}.{}", std::process::id() % 1000, i);
        let doc = new_version_document(&reg, id, &version)?;
        let file = docs_dir.join(format!("publish-{i}.json"));
        std::fs::write(&file, doc).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        env.pkgdeck(&[
            "--db",
            &dbs,
            "publish",
            &file.display().to_string(),
            "--json",
        ])
        .timed(&[0])
    })?;
    table.push(Row::info(
        "pkgdeck publish FILE --json, whole process",
        publish.ms(),
        "—",
    ));
    drop(reg);
    let _ = std::fs::remove_file(&scratch);
    Ok(())
}

/// `ops PATH`: the in-process timings alone, printed.
pub fn cmd_ops(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let db = o.path("PATH")?;
    let state = scratch_dir("ops")?;
    let t = ops_in_process(&db, state.path(), o.num("reps", 30)?)?;
    println!("get ID VERSION  {}", t.get.ms());
    println!("get ID latest   {}", t.get_latest.ms());
    println!("publish         {}", t.publish.ms());
    println!("diff            {}", t.diff.ms());
    println!("list            {}", t.list.ms());
    println!("list first 60   {}", t.first_page.ms());
    println!("verify          {}", t.verify.ms());
    Ok(())
}
