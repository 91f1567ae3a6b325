//! `doctor` over `tursodb --sync-server` against the real server (spec 8.1, 8.3).
//!
//! The real server's client cannot reach tursodb (it sends `close`, which tursodb rejects), so
//! the oracle is the real server booting the same file through `file:` (SQLite's engine),
//! before tursodb opens it. pkgdeck runs the server's queries on the engine the target really
//! runs: where tursodb orders the `list()` rows or answers `get(id)` differently from SQLite
//! (same-second ties), pkgdeck must report tursodb's answer, and those registries are listed in
//! the test output rather than hidden. Everywhere else `doctor`'s loads and served versions
//! must equal the real server's.

use std::path::Path;
use std::time::Instant;

use pkgdeck::registry::boot::{self, CodePackage, ListRow, RUNTIME_PROTOCOL};
use pkgdeck::registry::server::{SERVER_GET_SQL, SERVER_LIST_SQL};
use pkgdeck::registry::{AuditLog, DoctorReport, Registry, Trash};
use pkgdeck::store::hrana::HranaStore;
use rusqlite::Connection;
use serde_json::Value;

use crate::boot_oracle::{doctor_differences, doctor_of, doctor_served, js_text};
use crate::support::generated::{generate, handpicked, show_registry, write_registry, Generated};
use crate::support::objectstack::Oracle;
use crate::support::tursodb::TursoServer;
use pkgdeck_rng::Rng;

/// Random registries served by tursodb (the handpicked ones come on top): enough that at least
/// 500 are compared with the real server (tursodb changes the boot of about one in nine).
const REGISTRIES: usize = 580;

/// One row of the server's `SELECT *`: id, version, and the two texts (`None`: not text).
#[derive(Debug, Clone, PartialEq)]
struct Raw {
    id: String,
    version: String,
    manifest: Option<String>,
    metadata: Option<String>,
}

impl Raw {
    fn list_row(&self) -> ListRow<'_> {
        ListRow {
            row_id: &self.id,
            row_version: &self.version,
            manifest: self.manifest.as_deref(),
            metadata: self.metadata.as_deref(),
        }
    }
}

/// What an engine answers to the server's queries: `list()` in its order, and `get(id)` for
/// every id (the version served, `None` when the row it reads is not JSON).
#[derive(Debug, Clone, PartialEq)]
struct Answers {
    list: Vec<Raw>,
    get: Vec<(String, Option<String>)>,
}

impl Answers {
    fn order(&self) -> Vec<String> {
        self.list
            .iter()
            .map(|r| format!("{} {}", r.id, r.version))
            .collect()
    }
}

fn served(row: Option<&Raw>) -> Option<String> {
    row.and_then(|r| boot::served_version(&r.list_row()).map(str::to_string))
}

/// The answers of SQLite itself (rusqlite), on the file as the oracle reads it.
fn sqlite_answers(path: &Path) -> Answers {
    let conn = Connection::open(path).expect("open the registry");
    let text = |row: &rusqlite::Row<'_>, name: &str| match row.get_ref(name).expect("column") {
        rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    };
    let fetch = |row: &rusqlite::Row<'_>| {
        Ok(Raw {
            id: row.get("id")?,
            version: row.get("version")?,
            manifest: text(row, "manifest"),
            metadata: text(row, "metadata"),
        })
    };
    let list: Vec<Raw> = conn
        .prepare(SERVER_LIST_SQL)
        .and_then(|mut s| s.query_map([], fetch)?.collect())
        .expect("list()");
    let ids: Vec<String> = conn
        .prepare("SELECT DISTINCT id FROM sys_packages ORDER BY id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("ids");
    let get = ids
        .into_iter()
        .map(|id| {
            let row = conn
                .prepare(SERVER_GET_SQL)
                .and_then(|mut s| s.query_map([&id], fetch)?.next().transpose())
                .expect("get()");
            let answer = served(row.as_ref());
            (id, answer)
        })
        .collect();
    Answers { list, get }
}

/// A value of a raw Hrana row as text (`None` for anything but text).
fn wire_text(v: &Value) -> Option<String> {
    (v["type"] == "text").then(|| v["value"].as_str().unwrap_or_default().to_string())
}

/// The answers of tursodb itself, through its raw HTTP API (no pkgdeck code).
fn tursodb_answers(server: &TursoServer) -> Answers {
    let raw = |row: &[Value]| Raw {
        id: wire_text(&row[0]).unwrap_or_default(),
        version: wire_text(&row[1]).unwrap_or_default(),
        manifest: wire_text(&row[2]),
        metadata: wire_text(&row[3]),
    };
    let list = server
        .raw_rows(SERVER_LIST_SQL, &[])
        .expect("tursodb answers list()")
        .iter()
        .map(|r| raw(r))
        .collect();
    let ids: Vec<String> = server
        .raw_rows("SELECT DISTINCT id FROM sys_packages ORDER BY id", &[])
        .expect("tursodb answers the ids")
        .iter()
        .map(|r| wire_text(&r[0]).unwrap_or_default())
        .collect();
    let get = ids
        .into_iter()
        .map(|id| {
            let rows = server
                .raw_rows(SERVER_GET_SQL, &[&id])
                .expect("tursodb answers get()");
            let row = rows.first().map(|r| raw(r));
            let answer = served(row.as_ref());
            (id, answer)
        })
        .collect();
    Answers { list, get }
}

/// `doctor` over tursodb, through the registry and its Hrana store.
fn doctor_over(server: &TursoServer, scratch: &Path, code: &[CodePackage]) -> DoctorReport {
    let store = HranaStore::open(&server.url, None, true, server.url.clone())
        .unwrap_or_else(|e| panic!("cannot reach {}: {e}", server.url));
    let registry = Registry::open(
        Box::new(store),
        Trash::new(scratch.join("trash")),
        AuditLog::disabled(),
    )
    .unwrap_or_else(|e| panic!("cannot open the registry on {}: {e}", server.url));
    doctor_of(registry, code)
}

/// Where tursodb's own answers differ from SQLite's: `doctor` must report tursodb's.
fn tursodb_differences(
    turso: &Answers,
    doctor: &DoctorReport,
    code: &[CodePackage],
) -> Vec<String> {
    let mut diffs = Vec::new();
    let rows: Vec<ListRow<'_>> = turso.list.iter().map(Raw::list_row).collect();
    let expected = boot::replay(&rows, code, RUNTIME_PROTOCOL);
    let set = |loads: &[boot::BootLoad]| {
        let mut set: Vec<(String, String)> = loads
            .iter()
            .map(|l| (js_text(&l.id), js_text(&l.version)))
            .collect();
        set.sort();
        set
    };
    if set(&expected.loads) != set(&doctor.boot.loads) {
        diffs.push(format!(
            "doctor does not report the boot over tursodb's list() order:\n  tursodb: {:?}\n  \
             doctor:  {:?}",
            set(&expected.loads),
            set(&doctor.boot.loads)
        ));
    }
    for (id, answer) in &turso.get {
        let ours = doctor_served(doctor, id);
        if ours.as_ref() != Some(answer) {
            diffs.push(format!(
                "get({id:?}): tursodb answers {answer:?}, doctor says {ours:?}"
            ));
        }
    }
    diffs
}

#[test]
fn doctor_over_tursodb_matches_the_real_server_or_reports_tursodbs_own_order() {
    let mut oracle = Oracle::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let seed: u64 = std::env::var("PKGDECK_BOOT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7E50_DB00);
    let mut rng = Rng::new(seed);
    let mut cases: Vec<(String, Generated)> = handpicked()
        .into_iter()
        .enumerate()
        .map(|(i, reg)| (format!("handpicked registry {i}"), reg))
        .collect();
    let fixed = cases.len();
    cases.extend((0..REGISTRIES).map(|n| {
        (
            format!("random registry {n} of seed {seed}"),
            generate(&mut rng),
        )
    }));

    // The real server and SQLite first, on each file as written (tursodb switches a file to
    // WAL mode when it opens it), then tursodb on two threads.
    let t = Instant::now();
    let mut truth = Vec::with_capacity(cases.len());
    for (n, (_, reg)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("t{n}.db"));
        write_registry(&path, reg);
        let answer = oracle.boot(&path, &reg.code);
        truth.push((path.clone(), answer, sqlite_answers(&path)));
    }
    let oracle_time = t.elapsed();
    let t = Instant::now();
    let indexed: Vec<(usize, &(String, Generated))> = cases.iter().enumerate().collect();
    let mut served: Vec<(usize, Answers, DoctorReport)> = std::thread::scope(|scope| {
        let workers: Vec<_> = indexed
            .chunks(indexed.len().div_ceil(2))
            .map(|chunk| {
                let truth = &truth;
                let scratch = dir.path();
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(n, (_, reg))| {
                            let server = TursoServer::start(&truth[*n].0);
                            let turso = tursodb_answers(&server);
                            let doctor = doctor_over(&server, scratch, &reg.code);
                            (*n, turso, doctor)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a tursodb worker panicked"))
            .collect()
    });
    let tursodb_time = t.elapsed();
    served.sort_by_key(|(n, _, _)| *n);

    let (mut same, mut with_server, mut tie_order, mut failures) = (0, 0, Vec::new(), Vec::new());
    let mut loads = 0usize;
    for (n, turso, doctor) in &served {
        let ((name, reg), (path, answer, sqlite)) = (&cases[*n], &truth[*n]);
        loads += doctor.boot.loads.len();
        let mut diffs = Vec::new();
        if turso == sqlite {
            same += 1;
            with_server += 1;
            diffs.extend(doctor_differences(answer, doctor));
        } else {
            // pkgdeck reports the engine the target runs; where that also boots as SQLite
            // does, the real server is the judge too.
            diffs.extend(tursodb_differences(turso, doctor, &reg.code));
            let against_server = doctor_differences(answer, doctor);
            let outcome = if against_server.is_empty() {
                with_server += 1;
                "same boot and served versions"
            } else {
                "another boot or served version than SQLite's"
            };
            tie_order.push(format!(
                "{name}: {outcome}; list() SQLite {:?} / tursodb {:?}; get() SQLite {:?} / \
                 tursodb {:?}",
                sqlite.order(),
                turso.order(),
                sqlite.get,
                turso.get
            ));
        }
        if !diffs.is_empty() {
            failures.push(format!(
                "{name} ({}):\n{}\n{}  server answer: {answer}",
                path.display(),
                diffs.join("\n"),
                show_registry(reg)
            ));
        }
    }
    let timing = [oracle_time, tursodb_time];

    eprintln!(
        "doctor over tursodb (seed {seed}): {} registries ({fixed} handpicked), {loads} \
         packages loaded; {same} answered by tursodb exactly as by SQLite; {} where tursodb's \
         tie order differs from SQLite's (doctor compared with tursodb's own answers); doctor \
         compared with the real server on {with_server}; differences: {}; time: oracle and \
         SQLite {:?}, tursodb {:?}",
        cases.len(),
        tie_order.len(),
        failures.len(),
        timing[0],
        timing[1]
    );
    for case in &tie_order {
        eprintln!("  tursodb tie order: {case}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} registries: doctor over tursodb differs (rerun one seed with \
         PKGDECK_BOOT_SEED):\n\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(
        cases.len() >= 500 && with_server >= 500 && same >= 150 && !tie_order.is_empty(),
        "{} registries, {with_server} compared with the real server, {same} identical: the \
         generator no longer covers both engines' orders",
        cases.len()
    );
}
