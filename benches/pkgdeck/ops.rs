//! Single operations timed in process through the library (the `ops` command, for looking
//! closer; not part of `run`): get, publish, diff, list and verify, with a check that the
//! console's paged list equals the whole list.

use std::path::Path;

use pkgdeck::registry::{self, PublishOptions, Scope};

use crate::sample::{new_version_document, open_sqlite, sample_packages, scratch_dir};
use crate::timing::{time_fn, Stats};
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

/// `canonical PATH [--reps N]`: the canonical-form check (`is_canonical_stored`) and the
/// integrity hash over every stored text of PATH, loaded into memory first: the two pieces of
/// verify's work per byte, without SQLite.
pub fn cmd_canonical(args: &[String]) -> Result<(), String> {
    use pkgdeck::registry::canonical;
    let o = Opts::parse(args, &["reps"])?;
    let db = o.path("PATH")?;
    let conn = crate::sample::open_read_only(&db)?;
    let mut stmt = conn
        .prepare("SELECT manifest, metadata FROM sys_packages")
        .map_err(|e| e.to_string())?;
    let texts: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let bytes: usize = texts.iter().map(|(m, d)| m.len() + d.len()).sum();
    let reps = o.num("reps", 5)?;
    let check = time_fn(reps, |_| {
        Ok(texts
            .iter()
            .filter(|(m, d)| {
                canonical::canonical_id_and_version(m.as_bytes()).is_some()
                    && canonical::is_written_form(d.as_bytes())
            })
            .count())
    })?;
    let mut hasher = canonical::Hasher::new();
    let hash = time_fn(reps, |_| {
        Ok(texts
            .iter()
            .map(|(m, d)| hasher.hash(m, d)[0] as usize)
            .sum::<usize>())
    })?;
    let rate = |s: &Stats| format!("{:.2} GB/s", bytes as f64 / s.median / 1e9);
    println!("{} texts, {:.0} MB", texts.len() * 2, bytes as f64 / 1e6);
    println!("canonical check  {}  {}", check.ms(), rate(&check));
    println!("integrity hash   {}  {}", hash.ms(), rate(&hash));
    Ok(())
}
