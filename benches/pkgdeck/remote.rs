//! The remote rows, against `tursodb --sync-server` serving a copy of a registry on loopback
//! behind a request-counting proxy: `list --json` of the pkgdeck binary against the floor (the
//! same server answering pkgdeck's list statements in one request), remote `verify` against
//! local `verify` of the same file, and get, publish, delete and promote held to one HTTP
//! request each.

use std::path::{Path, PathBuf};

use pkgdeck::registry::{self, PublishOptions};
use pkgdeck::store::hrana::HranaStore;

use crate::command::Env;
use crate::local::{floor_cmd, Measured, Versus};
use crate::proxy::CountingProxy;
use crate::report::{Row, Table};
use crate::sample::{
    copy_scratch, new_version_document, open_on, open_read_only, sample_packages, scratch_dir,
};
use crate::timing::time_fn;
use crate::tursodb::Tursodb;
use crate::Opts;

/// The row holding an operation to one request, with the most any call of it took.
fn one_request(what: &str, worst: u64) -> Row {
    Row::at_most(
        format!("remote {what}: HTTP requests"),
        worst.to_string(),
        "1 request",
        worst as f64,
        1.0,
    )
}

/// The row of a guarded write: spec 8.4 rehearses every write on the server first (one
/// request, rolled back) before the write itself (one request), so a write is two.
fn guarded_write(what: &str, worst: u64) -> Row {
    Row::at_most(
        format!("remote {what}: HTTP requests"),
        worst.to_string(),
        "1 request + the guard's rehearsal (spec 8.4: one round trip)",
        worst as f64,
        2.0,
    )
}

/// Every remote row: list and verify on a copy of `r` served from `work`, the writes on a
/// copy of `writes_on` (a path and its label).
pub fn remote(
    env: &Env,
    tursodb: &Path,
    r: &Measured<'_>,
    writes_on: (&Path, &str),
    work: &Path,
    table: &mut Table,
) -> Result<(), String> {
    let copy = work.join("remote.db");
    copy_scratch(r.db, &copy)?;
    let server = Tursodb::start(tursodb, &copy, &work.join("tursodb.log"))?;
    let proxy = CountingProxy::start(server.addr)?;
    let url = proxy.url.clone();
    table.note(format!(
        "remote: tursodb --sync-server on loopback serving a copy of {} ({}), behind a proxy that counts requests",
        r.db.display(),
        r.label
    ));
    // Fewer repetitions: a remote list of this size takes seconds today.
    let reps = env.reps.min(5);

    eprintln!(
        "remote list {}: pkgdeck and the one-request floor …",
        r.label
    );
    let list = env.pkgdeck(&["--db", &url, "--read-only", "list", "--json"]);
    let (requests, _) = proxy.counted(|| list.timed(&[0]))?;
    Versus {
        what: format!("remote list --json ({})", r.label),
        ours: &list,
        against_name: "floor".into(),
        against_row: Some(format!(
            "floor: tursodb answers pkgdeck's list statements in one request ({})",
            r.label
        )),
        against: &floor_cmd(
            "floor-remote-list",
            &[&url, &r.list_statements.display().to_string()],
        )?,
        factor: 1.5,
    }
    .measure(env, reps, table)?;
    table.note(format!(
        "remote list --json ({}): {requests} HTTP requests",
        r.label
    ));

    eprintln!("remote verify {}: remote and local …", r.label);
    let remote_verify = env.pkgdeck(&["--db", &url, "--read-only", "verify"]);
    let (requests, _) = proxy.counted(|| remote_verify.timed(&[0]))?;
    // The local side reads the original file, not the copy the server has open.
    let local_verify = env.pkgdeck(&["--db", &r.db.display().to_string(), "--read-only", "verify"]);
    Versus {
        what: format!("remote verify ({})", r.label),
        ours: &remote_verify,
        against_name: "local verify".into(),
        against_row: None,
        against: &local_verify,
        factor: 2.0,
    }
    .measure(env, reps, table)?;
    table.note(format!(
        "remote verify ({}): {requests} HTTP requests",
        r.label
    ));
    // What the server itself takes to send those rows: the budget above cannot be met when
    // this floor alone is over it.
    let (first, last) = rowid_bounds(r.db)?;
    Versus {
        what: format!("remote verify against the server's floor ({})", r.label),
        ours: &remote_verify,
        against_name: "floor".into(),
        against_row: Some(format!(
            "floor: tursodb sends every row's manifest, metadata and hash, two streams over rowid halves ({})",
            r.label
        )),
        against: &floor_cmd(
            "floor-remote-verify",
            &[&url, &first.to_string(), &last.to_string()],
        )?,
        factor: 1.5,
    }
    .measure(env, reps, table)?;

    drop(proxy);
    drop(server);
    let _ = std::fs::remove_file(&copy);

    // The writes on a smaller registry: their requests do not depend on its size, and
    // tursodb does not answer the server's own list() query (every guard's rehearsal runs
    // it verbatim) on 100,000 rows within the 30 s a request may take (SQLite: 0.2 s).
    let copy = work.join("remote-writes.db");
    copy_scratch(writes_on.0, &copy)?;
    let server = Tursodb::start(tursodb, &copy, &work.join("tursodb-writes.log"))?;
    let proxy = CountingProxy::start(server.addr)?;
    table.note(format!(
        "remote get, publish, delete, promote: on a copy of {} ({}) served by tursodb",
        writes_on.0.display(),
        writes_on.1
    ));
    one_request_rows(env, &proxy, writes_on.0, work, table)?;
    drop(server);
    let _ = std::fs::remove_file(&copy);
    Ok(())
}

/// The smallest and largest rowid of `db`.
fn rowid_bounds(db: &Path) -> Result<(i64, i64), String> {
    open_read_only(db)?
        .query_row("SELECT min(rowid), max(rowid) FROM sys_packages", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(|e| format!("{}: {e}", db.display()))
}

/// get, publish and delete in process through the library, and promote through the binary:
/// the most requests any call took.
fn one_request_rows(
    env: &Env,
    proxy: &CountingProxy,
    db: &Path,
    work: &Path,
    table: &mut Table,
) -> Result<(), String> {
    let e = |e: registry::RegistryError| e.to_string();
    let store =
        HranaStore::open(&proxy.url, None, false, proxy.url.clone()).map_err(|e| e.to_string())?;
    let (_, reg) = proxy.counted(|| open_on(store, &work.join("remote-state")))?;
    let sample = sample_packages(db, 50)?;
    let reps = env.reps.max(10);

    let mut worst = 0;
    time_fn(reps, |i| {
        let (id, versions) = &sample[if i == usize::MAX { 0 } else { i % sample.len() }];
        let (n, found) = proxy.counted(|| reg.get(id, Some(&versions[0])).map_err(e))?;
        worst = worst.max(n);
        found.ok_or(format!("remote get {id}: not found"))
    })?;
    table.push(one_request("get ID VERSION", worst));

    let mut published = Vec::new();
    let mut worst = 0;
    time_fn(reps, |i| {
        let (id, _) = &sample[if i == usize::MAX {
            1
        } else {
            (i + 7) % sample.len()
        }];
        let version = format!("7.{}.{}", std::process::id() % 1000, published.len());
        let doc = new_version_document(&reg, id, &version)?;
        let (n, out) =
            proxy.counted(|| reg.publish(&doc, id, PublishOptions::default()).map_err(e))?;
        worst = worst.max(n);
        published.push((id.clone(), version));
        Ok(out)
    })?;
    table.push(guarded_write("publish (new version)", worst));

    // A delete as the console runs it: its confirm dialog has read the rows (delete_plan),
    // the confirmed delete saves exactly those to the trash and deletes them.
    let mut worst = 0;
    for (id, version) in &published {
        let rows = reg.delete_plan(id, Some(version)).map_err(e)?;
        let (n, _) =
            proxy.counted(|| reg.delete_rows(rows, registry::Allow::NOTHING).map_err(e))?;
        worst = worst.max(n);
    }
    table.push(guarded_write("delete (one version, confirmed)", worst));
    drop(reg);

    // promote exists only in the binary (when it does): its requests, less those a whole
    // process spends opening the registry (a whole-process get minus its one request).
    let what = "promote ID VERSION";
    if !env.has_command("promote") {
        table.push(Row::todo(
            format!("remote {what}: HTTP requests"),
            "not measured (this pkgdeck has no promote command)",
            "1 request",
        ));
        return Ok(());
    }
    let (id, versions) = &sample[sample.len() / 2];
    let older = versions
        .first()
        .ok_or(format!("{id} has no versions"))?
        .clone();
    let url = proxy.url.as_str();
    let get = env.pkgdeck(&["--db", url, "get", id, &older, "--json"]);
    let (get_requests, _) = proxy.counted(|| get.timed(&[0]))?;
    let opening = get_requests.saturating_sub(1);
    let promote = env.pkgdeck(&[
        "--db",
        url,
        "promote",
        id,
        &older,
        "--allow-downgrade",
        "--json",
    ]);
    match proxy.counted(|| promote.timed(&[0])) {
        Ok((n, _)) => {
            let mut row = guarded_write(what, n.saturating_sub(opening));
            row.measured = format!(
                "{} ({n} for the whole process, {opening} of them opening the registry as a get shows)",
                n.saturating_sub(opening)
            );
            table.push(row);
        }
        Err(err) => table.push(Row::todo(
            format!("remote {what}: HTTP requests"),
            format!("not measured ({err})"),
            "1 request",
        )),
    }
    Ok(())
}

/// `remote PATH --tursodb BIN`: the remote rows alone, printed.
pub fn cmd_remote(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["tursodb", "reps"])?;
    let db = o.path("PATH")?;
    let tursodb = o
        .named
        .get("tursodb")
        .map(PathBuf::from)
        .ok_or("missing --tursodb BIN")?;
    let work = scratch_dir("remote")?;
    let env = Env::for_binary(None, work.path().to_path_buf(), o.num("reps", 5)?)?;
    let statements = work.path().join("list-statements.json");
    std::fs::write(
        &statements,
        crate::floor::statements_json(&crate::floor::capture_list_statements(&db)?)?,
    )
    .map_err(|e| e.to_string())?;
    let measured = Measured {
        db: &db,
        label: db.display().to_string(),
        list_statements: &statements,
    };
    let mut table = Table::new();
    remote(
        &env,
        &tursodb,
        &measured,
        (&db, &measured.label),
        work.path(),
        &mut table,
    )?;
    print!("{}", table.plain());
    Ok(())
}
