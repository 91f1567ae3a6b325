//! Differential test of the boot replay (`registry::boot`, spec 8.3) against the real server.
//!
//! The oracle is `tests/oracle/boot.mjs`: the real `@objectstack/service-package` 17.4.0
//! booting into a real objectql `SchemaRegistry` over the same SQLite file through
//! `@libsql/client` (installed, pinned, by `scripts/install-objectstack`). One Node process
//! answers every registry. The Rust side runs the service's own `list()` and `get(id)` queries
//! verbatim through rusqlite and replays the boot over the rows `list()` returns.
//!
//! Compared per registry: the rows `list()` returns (order included), what loads (as a set, and
//! its order), `get(id)` for every id, the row the boot aborted on, the row that made `list()`
//! fail, and every row's outcome (read from what the real code logged). Also compared: the
//! protocol check on thousands of generated ranges and runtimes, and `JSON.parse` acceptance of
//! every generated column text. Any difference fails the test with the seed and the registry.

use std::path::{Path, PathBuf};

use pkgdeck::registry::boot::{self, CodePackage, ListRow, Outcome, RUNTIME_PROTOCOL};
use pkgdeck::registry::{canonical, AuditLog, BootSettings, DoctorReport, Registry, Trash};
use pkgdeck::store::sqlite::SqliteStore;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::support::generated::{
    deep, generate, handpicked, js, manifest, metadata, range_value, show_registry, write_registry,
    Column, Generated,
};
use crate::support::objectstack::Oracle;
use crate::support::repo_root;
use pkgdeck_rng::Rng;

/// Random registries compared; each hits several rules.
const REGISTRIES: usize = 600;
/// Generated `engines` ranges compared with the real `checkProtocolCompat`.
const RANGES: usize = 4000;

/// The service's `list()` query, verbatim (dist/index.js of @objectstack/service-package).
const LIST_SQL: &str = "
              SELECT * FROM sys_packages
              WHERE (id, created_at) IN (
                SELECT id, MAX(created_at) FROM sys_packages GROUP BY id
              )
              ORDER BY created_at DESC
            ";

/// The service's `get(id)` query for `latest`, verbatim.
const GET_SQL: &str = "SELECT * FROM sys_packages WHERE id = ? ORDER BY created_at DESC LIMIT 1";

// ---------------------------------------------------------------------------
// The Rust side
// ---------------------------------------------------------------------------

/// A row as rusqlite returns it.
struct Fetched {
    id: String,
    version: String,
    manifest: Option<String>,
    metadata: Option<String>,
}

fn text_column(row: &rusqlite::Row<'_>, name: &str) -> Option<String> {
    match row.get_ref(name).expect("column") {
        rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

fn fetch(row: &rusqlite::Row<'_>) -> Fetched {
    Fetched {
        id: row.get("id").expect("id"),
        version: row.get("version").expect("version"),
        manifest: text_column(row, "manifest"),
        metadata: text_column(row, "metadata"),
    }
}

fn list_rows(row: &Fetched) -> ListRow<'_> {
    ListRow {
        row_id: &row.id,
        row_version: &row.version,
        manifest: row.manifest.as_deref(),
        metadata: row.metadata.as_deref(),
    }
}

struct Ours {
    list: Vec<Fetched>,
    report: boot::BootReport,
    get: Vec<(String, Option<String>)>,
    /// Ids whose `get(id)` row is not pkgdeck's latest (the last inserted).
    served_not_latest: usize,
}

fn ours(path: &Path, code: &[CodePackage]) -> Ours {
    let conn = Connection::open(path).expect("open registry");
    let mut stmt = conn.prepare(LIST_SQL).expect("prepare list()");
    let list: Vec<Fetched> = stmt
        .query_map([], |r| Ok(fetch(r)))
        .expect("run list()")
        .map(|r| r.expect("list row"))
        .collect();
    let rows: Vec<ListRow<'_>> = list.iter().map(list_rows).collect();
    let report = boot::replay(&rows, code, RUNTIME_PROTOCOL);
    let mut ids: Vec<String> = conn
        .prepare("SELECT DISTINCT id FROM sys_packages")
        .expect("prepare ids")
        .query_map([], |r| r.get(0))
        .expect("run ids")
        .map(|r| r.expect("id"))
        .collect();
    ids.sort();
    let mut get_stmt = conn.prepare(GET_SQL).expect("prepare get()");
    let mut latest_stmt = conn
        .prepare(
            "SELECT version FROM sys_packages WHERE id = ? ORDER BY created_at DESC, rowid DESC \
             LIMIT 1",
        )
        .expect("prepare latest");
    let mut served_not_latest = 0;
    let get = ids
        .into_iter()
        .map(|id| {
            let row = get_stmt
                .query_row([&id], |r| Ok(fetch(r)))
                .expect("get() finds a row for an id in the table");
            let latest: String = latest_stmt
                .query_row([&id], |r| r.get(0))
                .expect("latest row");
            served_not_latest += usize::from(latest != row.version);
            let served = boot::served_version(&list_rows(&row)).map(str::to_string);
            (id, served)
        })
        .collect();
    drop(get_stmt);
    drop(latest_stmt);
    drop(stmt);
    Ours {
        list,
        report,
        get,
        served_not_latest,
    }
}

/// A JSON value as JavaScript writes it, so that `5` and `5.0` compare equal.
pub(crate) fn js_text(v: &Value) -> String {
    canonical::canonicalize(&v.to_string()).expect("a JSON value")
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Loads => "loads",
        Outcome::Warns => "warns",
        Outcome::Refused => "refused",
        Outcome::Skipped => "skipped",
        Outcome::Aborts => "aborts",
    }
}

/// Every difference between the oracle's answer and ours, as lines.
fn differences(oracle: &Value, ours: &Ours) -> Vec<String> {
    let mut diffs = Vec::new();
    let their_list: Vec<(Value, Value)> = oracle["list_rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| (r["id"].clone(), r["version"].clone()))
                .collect()
        })
        .unwrap_or_default();
    let our_list: Vec<(Value, Value)> = ours
        .list
        .iter()
        .map(|r| (json!(r.id), json!(r.version)))
        .collect();
    if their_list != our_list {
        diffs.push(format!(
            "list() rows differ (engine order):\n  server: {their_list:?}\n  ours:   {our_list:?}"
        ));
    }

    let pairs = |loads: Vec<(String, String)>| {
        let mut sorted = loads.clone();
        sorted.sort();
        (loads, sorted)
    };
    let (their_loads, their_set) = pairs(
        oracle["loaded"]
            .as_array()
            .expect("loaded")
            .iter()
            .map(|l| (js_text(&l["id"]), js_text(&l["version"])))
            .collect(),
    );
    let (our_loads, our_set) = pairs(
        ours.report
            .loads
            .iter()
            .map(|l| (js_text(&l.id), js_text(&l.version)))
            .collect(),
    );
    if their_set != our_set {
        diffs.push(format!(
            "loads differ:\n  server: {their_set:?}\n  ours:   {our_set:?}"
        ));
    } else if their_loads != our_loads {
        diffs.push(format!(
            "load order differs:\n  server: {their_loads:?}\n  ours:   {our_loads:?}"
        ));
    }

    for (id, served) in &ours.get {
        let theirs = &oracle["get"][id.as_str()];
        let theirs = theirs.as_str().map(str::to_string);
        if theirs != *served {
            diffs.push(format!(
                "get({id:?}): server answers {theirs:?}, we say {served:?}"
            ));
        }
    }
    let their_ids = oracle["get"].as_object().map_or(0, |o| o.len());
    if their_ids != ours.get.len() {
        diffs.push(format!(
            "the server answered get() for {their_ids} ids, we for {}",
            ours.get.len()
        ));
    }

    let index_of = |row_id: &str, row_version: &str| {
        ours.list
            .iter()
            .position(|r| r.id == row_id && r.version == row_version)
            .map_or(-1, |i| i as i64)
    };
    let their_abort = oracle["threw"]["index"].as_i64();
    let our_abort = ours
        .report
        .aborted
        .as_ref()
        .map(|a| index_of(&a.row_id, &a.row_version));
    if their_abort != our_abort {
        diffs.push(format!(
            "the boot aborts at row {their_abort:?} on the server ({}), at {our_abort:?} here ({:?})",
            oracle["threw"]["message"],
            ours.report.aborted.as_ref().map(|a| &a.message)
        ));
    }
    let their_failure = oracle["list_failed"]["index"].as_i64();
    let our_failure = ours
        .report
        .list_failed
        .as_ref()
        .map(|f| index_of(&f.row_id, &f.row_version));
    if their_failure != our_failure {
        diffs.push(format!(
            "list() fails at row {their_failure:?} on the server ({}), at {our_failure:?} here",
            oracle["list_failed"]["message"]
        ));
    }

    let their_outcomes: Vec<&str> = oracle["outcomes"]
        .as_array()
        .map(|o| o.iter().map(|v| v.as_str().unwrap_or("?")).collect())
        .unwrap_or_default();
    let our_outcomes: Vec<&str> = ours
        .report
        .steps
        .iter()
        .map(|s| outcome_name(s.outcome))
        .collect();
    if their_outcomes != our_outcomes {
        diffs.push(format!(
            "row outcomes differ:\n  server: {their_outcomes:?}\n  ours:   {our_outcomes:?}"
        ));
    }
    if !oracle["code_error"].is_null() || !oracle["start_error"].is_null() {
        diffs.push(format!(
            "the server did not boot: code {} start {}",
            oracle["code_error"], oracle["start_error"]
        ));
    }
    diffs
}

/// A read-only registry on a local file, as `pkgdeck --read-only --db FILE` opens it.
pub(crate) fn local_registry(path: &Path, scratch: &Path) -> Registry {
    let store = SqliteStore::open(path, true)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    Registry::open(
        Box::new(store),
        Trash::new(scratch.join("trash")),
        AuditLog::disabled(),
    )
    .unwrap_or_else(|e| panic!("cannot open the registry {}: {e}", path.display()))
}

/// `doctor` through the registry (the code behind `pkgdeck doctor --json`), with `code`.
pub(crate) fn doctor_of(registry: Registry, code: &[CodePackage]) -> DoctorReport {
    let settings = BootSettings {
        code_packages: code.to_vec(),
        ..BootSettings::default()
    };
    registry
        .doctor(&settings)
        .unwrap_or_else(|e| panic!("doctor on {}: {e}", registry.target()))
}

/// What `doctor` says `get(id)` answers: the version in `served_differs`, else the latest.
pub(crate) fn doctor_served(doctor: &DoctorReport, id: &str) -> Option<Option<String>> {
    if let Some(d) = doctor.served_differs.iter().find(|d| d.id == id) {
        return Some(d.served.clone());
    }
    doctor
        .latest
        .iter()
        .find(|(latest_id, _)| latest_id == id)
        .map(|(_, version)| Some(version.clone()))
}

/// Every difference between the real server's boot and `doctor --json`: what loads (as a
/// set) and what `get(id)` answers for every id.
pub(crate) fn doctor_differences(oracle: &Value, doctor: &DoctorReport) -> Vec<String> {
    let mut diffs = Vec::new();
    let json = serde_json::to_value(doctor).expect("doctor --json");
    let set = |loads: &Value| {
        let mut set: Vec<(String, String)> = loads
            .as_array()
            .map(|loads| {
                loads
                    .iter()
                    .map(|l| (js_text(&l["id"]), js_text(&l["version"])))
                    .collect()
            })
            .unwrap_or_default();
        set.sort();
        set
    };
    let (theirs, ours) = (set(&oracle["loaded"]), set(&json["loads"]));
    if theirs != ours {
        diffs.push(format!(
            "doctor --json loads differ:\n  server: {theirs:?}\n  doctor: {ours:?}"
        ));
    }
    let ids = oracle["get"].as_object().cloned().unwrap_or_default();
    for (id, answer) in &ids {
        let theirs = answer.as_str().map(str::to_string);
        match doctor_served(doctor, id) {
            Some(ours) if ours == theirs => {}
            ours => diffs.push(format!(
                "get({id:?}): the server answers {theirs:?}, doctor says {ours:?}"
            )),
        }
    }
    if ids.len() != doctor.latest.len() {
        diffs.push(format!(
            "the server knows {} ids, doctor {}",
            ids.len(),
            doctor.latest.len()
        ));
    }
    diffs
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Counts {
    registries: usize,
    rows: usize,
    list_rows: usize,
    tied: usize,
    served_null: usize,
    served_not_latest: usize,
    list_failed: usize,
    aborted: usize,
    loads: usize,
    doctor_ok: usize,
    rules: std::collections::BTreeMap<String, usize>,
}

#[test]
fn boot_replay_matches_the_real_server() {
    let mut oracle = Oracle::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let seed: u64 = std::env::var("PKGDECK_BOOT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0B00_7ACE);
    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut timing = [std::time::Duration::ZERO; 3];

    let mut cases: Vec<(String, Option<Generated>, PathBuf)> = Vec::new();
    let fixture = dir.path().join("seed-written.db");
    std::fs::copy(repo_root().join("tests/fixtures/seed-written.db"), &fixture)
        .expect("copy the fixture");
    cases.push(("the fixture seed-written.db".into(), None, fixture));
    for (i, reg) in handpicked().into_iter().enumerate() {
        let path = dir.path().join(format!("handpicked-{i}.db"));
        write_registry(&path, &reg);
        cases.push((format!("handpicked registry {i}"), Some(reg), path));
    }
    let fixed = cases.len();
    for n in 0..REGISTRIES + fixed {
        let (name, reg, path) = if let Some(case) = cases.get(n) {
            case.clone()
        } else {
            let reg = generate(&mut rng);
            let path = dir.path().join(format!("r{n}.db"));
            let t = std::time::Instant::now();
            write_registry(&path, &reg);
            timing[2] += t.elapsed();
            (
                format!("random registry {} of seed {seed}", n - fixed),
                Some(reg),
                path,
            )
        };
        let code = reg.as_ref().map(|r| r.code.clone()).unwrap_or_default();
        let t = std::time::Instant::now();
        let answer = oracle.boot(&path, &code);
        timing[0] += t.elapsed();
        let t = std::time::Instant::now();
        let ours = ours(&path, &code);
        let doctor = doctor_of(local_registry(&path, dir.path()), &code);
        timing[1] += t.elapsed();

        counts.registries += 1;
        counts.rows += reg.as_ref().map_or(0, |r| r.rows.len());
        counts.list_rows += ours.list.len();
        let mut distinct: Vec<&str> = ours.list.iter().map(|r| r.id.as_str()).collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() < ours.list.len() {
            counts.tied += 1;
        }
        counts.served_null += ours.get.iter().filter(|(_, s)| s.is_none()).count();
        counts.served_not_latest += ours.served_not_latest;
        counts.list_failed += usize::from(ours.report.list_failed.is_some());
        counts.aborted += usize::from(ours.report.aborted.is_some());
        counts.loads += ours.report.loads.len();
        for step in &ours.report.steps {
            let rule = serde_json::to_value(step.rule).expect("rule");
            let key = format!(
                "{} {}",
                rule.as_str().unwrap_or("?"),
                outcome_name(step.outcome)
            );
            *counts.rules.entry(key).or_default() += 1;
        }

        let mut diffs = differences(&answer, &ours);
        diffs.extend(doctor_differences(&answer, &doctor));
        counts.doctor_ok += usize::from(doctor.ok());
        if !diffs.is_empty() {
            failures.push(format!(
                "{name} ({}):\n{}\n{}  server answer: {answer}\n  our report: {}",
                path.display(),
                diffs.join("\n"),
                reg.as_ref().map(show_registry).unwrap_or_default(),
                serde_json::to_string(&ours.report).unwrap_or_default()
            ));
        }
    }

    eprintln!(
        "boot differential (seed {seed}): {} registries, {} rows, {} list() rows, {} with \
         same-second ties in list(), {} get() answering null, {} get() answering a version \
         that is not the last inserted, {} list() failures, {} aborted boots, {} packages \
         loaded, {} registries where doctor says ok; differences (pure replay and doctor \
         through the registry): {}",
        counts.registries,
        counts.rows,
        counts.list_rows,
        counts.tied,
        counts.served_null,
        counts.served_not_latest,
        counts.list_failed,
        counts.aborted,
        counts.loads,
        counts.doctor_ok,
        failures.len()
    );
    eprintln!("steps by rule and outcome: {:?}", counts.rules);
    eprintln!(
        "time: oracle {:?}, ours {:?}, writing {:?}",
        timing[0], timing[1], timing[2]
    );
    assert!(
        failures.is_empty(),
        "{} of {} registries differ from the real server (rerun one seed with \
         PKGDECK_BOOT_SEED):\n\n{}",
        failures.len(),
        counts.registries,
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );

    // The generator must keep reaching every rule, or the comparison proves little.
    for rule in [
        "R1 skipped",
        "R2 aborts",
        "R3 aborts",
        "R4 refused",
        "R5 warns",
        "R6 skipped",
        "R7 loads",
        "R8 skipped",
        "R9 skipped",
        "R11 aborts",
        "protocol loads",
        "R2 skipped",
        "R3 skipped",
    ] {
        let hits = counts.rules.get(rule).copied().unwrap_or(0);
        assert!(
            hits >= 5,
            "the generator reached `{rule}` only {hits} times"
        );
    }
    assert!(
        counts.tied >= 50,
        "only {} registries had ties",
        counts.tied
    );
}

/// `checkProtocolCompat` on generated ranges and runtimes: same verdict, same source.
#[test]
fn protocol_check_matches_the_real_one() {
    let mut oracle = Oracle::start();
    let mut rng = Rng::new(0x5EED_0017);
    let runtimes = [
        "17.0.0",
        "16.1.0",
        "18.0.0",
        "0.0.1",
        "v18",
        "banana",
        "99999999999999999999.0.0",
    ];
    let mut differ = Vec::new();
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    for n in 0..RANGES {
        let mut engines = Vec::new();
        if let Some(v) = range_value(&mut rng) {
            engines.push(format!(r#""protocol":{v}"#));
        }
        if rng.chance(50) {
            if let Some(v) = range_value(&mut rng) {
                engines.push(format!(r#""platform":{v}"#));
            }
        }
        let mut text = format!(r#"{{"id":"p","engines":{{{}}}"#, engines.join(","));
        if rng.chance(30) {
            let v = range_value(&mut rng).unwrap_or_else(|| js("^17"));
            text.push_str(&format!(r#","engine":{{"objectstack":{v}}}"#));
        }
        text.push('}');
        let runtime = if n % 3 == 0 {
            rng.pick(&runtimes)
        } else {
            "17.0.0"
        };
        let manifest: Value = serde_json::from_str(&text).expect("generated manifest");
        let answer =
            oracle.ask(&json!({"op": "protocol", "manifest": manifest, "runtime": runtime}));
        let parsed = canonical::parse(&text).expect("generated manifest");
        let ours = boot::check_protocol_compat(&parsed, runtime);
        let (status, source, range) = match &ours {
            Err(_) => ("threw", None, None),
            Ok(boot::Compat::NoRange) => ("no-range", None, None),
            Ok(boot::Compat::Unparsed { range, source }) => (
                "unparsed-range",
                Some(source.to_string()),
                Some(range.clone()),
            ),
            Ok(boot::Compat::Ok { range, source }) => {
                ("ok", Some(source.to_string()), Some(range.clone()))
            }
            Ok(boot::Compat::Incompatible { range, source }) => (
                "incompatible",
                Some(source.to_string()),
                Some(range.clone()),
            ),
        };
        let theirs = if answer["threw"].is_null() {
            answer["status"].as_str().unwrap_or("?").to_string()
        } else {
            "threw".to_string()
        };
        *verdicts.entry(theirs.clone()).or_default() += 1;
        let their_source = answer["source"].as_str().map(str::to_string);
        let their_range = answer["range"].as_str().map(str::to_string);
        if theirs != status || their_source != source || their_range != range {
            differ.push(format!(
                "{text} on runtime {runtime}: server {theirs} {their_source:?} {their_range:?}, \
                 ours {status} {source:?} {range:?}"
            ));
        }
    }
    eprintln!(
        "protocol check: {RANGES} manifests, verdicts {verdicts:?}, differences {}",
        differ.len()
    );
    assert!(
        differ.is_empty(),
        "{} protocol checks differ from @objectstack/metadata-core:\n{}",
        differ.len(),
        differ
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    for verdict in ["ok", "incompatible", "unparsed-range", "no-range", "threw"] {
        assert!(
            verdicts.get(verdict).copied().unwrap_or(0) >= 50,
            "the generator reached `{verdict}` only {:?} times",
            verdicts.get(verdict)
        );
    }
}

/// `JSON.parse` acceptance of every column text the generator writes, against the replay's.
#[test]
fn json_parse_acceptance_matches_node() {
    let mut oracle = Oracle::start();
    let mut rng = Rng::new(0x0A5E_ED00);
    let mut texts = Vec::new();
    for _ in 0..1500 {
        if let Column::Text(t) = manifest(&mut rng, "p1", "1.0.0") {
            texts.push(t);
        }
        if let Column::Text(t) = metadata(&mut rng) {
            texts.push(t);
        }
    }
    // Around the edges of the widened parse.
    for extra in [
        "1e400",
        "-1e400",
        "[1e400,1.7976931348623157e308]",
        "[1.e400]",
        "[01e400]",
        "[1e400",
        r#"{"a":1e400,}"#,
        "\"1e400\"",
        "[\"\\\"[\",1e400]",
    ] {
        texts.push(extra.to_string());
    }
    for depth in [255, 256, 257, 511, 512, 513, 3000] {
        texts.push(deep(depth));
        texts.push(format!("{}1{}", "[".repeat(depth), "]".repeat(depth - 1)));
        texts.push(format!("{}1{}}}", "[".repeat(depth), "]".repeat(depth - 1)));
        texts.push(format!(
            "{}1e400,{{}}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        ));
        texts.push(format!("{}1,{}", "[".repeat(depth), "]".repeat(depth)));
        texts.push(format!(
            "{}\"]]]\"{}",
            "{\"k\":[".repeat(depth / 2),
            "]}".repeat(depth / 2)
        ));
    }
    let answer = oracle.ask(&json!({"op": "json_parse", "texts": texts}));
    let accepted = answer["accepted"].as_array().expect("accepted");
    assert_eq!(accepted.len(), texts.len());
    let mut differ = Vec::new();
    for (text, theirs) in texts.iter().zip(accepted) {
        let row = ListRow {
            row_id: "p",
            row_version: "1.0.0",
            manifest: Some(text),
            metadata: Some(text),
        };
        let ours = boot::served_version(&row).is_some();
        let as_manifest = boot::replay(&[row], &[], RUNTIME_PROTOCOL)
            .list_failed
            .is_none();
        if Some(ours) != theirs.as_bool() || Some(as_manifest) != theirs.as_bool() {
            let shown: String = text.chars().take(200).collect();
            differ.push(format!(
                "{shown:?}: JSON.parse {theirs}, ours {ours}/{as_manifest}"
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} texts parse differently from JSON.parse:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

// ---------------------------------------------------------------------------
// doctor against a plain computation, on registries large enough to be read in many chunks
// ---------------------------------------------------------------------------

/// A registry of `packages` packages with 1–4 versions each over four seconds (ties within and
/// across packages), protocol ranges of every kind, a few namespaces (one shared, so some
/// seeds abort), schema problems, and, when `corrupt`, one latest row that is not JSON.
fn big_registry(rng: &mut Rng, packages: usize, corrupt: bool) -> Generated {
    let mut reg = Generated::default();
    let mut rowid = 0;
    for p in 0..packages {
        let id = format!("com.big.p{p}");
        let mut versions: Vec<&str> = crate::support::generated::VERSIONS.to_vec();
        for _ in 0..1 + rng.index(4) {
            let version = versions.remove(rng.index(versions.len()));
            let mut members = vec![
                format!("\"id\":{}", js(&id)),
                format!("\"name\":{}", js(format!("Package {p}"))),
                format!("\"version\":{}", js(version)),
                "\"type\":\"app\"".to_string(),
            ];
            if rng.chance(60) {
                members.push(format!(
                    "\"engines\":{{\"protocol\":{}}}",
                    js(crate::support::generated::range(rng))
                ));
            }
            if rng.chance(20) {
                members.push("\"author\":{\"name\":\"x\"}".to_string());
            }
            if rng.chance(5) {
                let ns = if rng.chance(2) {
                    "shared".to_string()
                } else {
                    format!("ns{p}")
                };
                members.push(format!("\"namespace\":{}", js(ns)));
            }
            let manifest = format!("{{{}}}", members.join(","));
            let metadata = if rng.chance(15) {
                r#"{"objects":[{"name":"o"}],"views":[]}"#.to_string()
            } else {
                r#"{"objects":[],"views":[]}"#.to_string()
            };
            rowid += 1;
            reg.rows.push(crate::support::generated::Row {
                id: id.clone(),
                version: version.to_string(),
                manifest: Column::Text(manifest),
                metadata: Column::Text(metadata),
                second: rng.index(4) as u32,
                rowid,
            });
        }
    }
    if corrupt {
        // The newest row of some package: among the list() rows.
        let i = rng.index(reg.rows.len());
        let id = reg.rows[i].id.clone();
        let newest = reg
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.id == id)
            .max_by_key(|(_, r)| (r.second, r.rowid))
            .map(|(i, _)| i)
            .expect("a row of the package");
        reg.rows[newest].metadata = Column::Text("{\"objects\":[".to_string());
    }
    reg
}

/// `doctor` equals the plain computation of spec 8.3 and 9 from the same file: the boot
/// replayed over the `list()` rows as rusqlite returns them, R10 marked from every version's
/// semver, and each package's latest row (by its own query) checked against the schemas.
#[test]
fn doctor_equals_a_plain_replay_on_registries_read_in_many_chunks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng::new(0xD0C7_0B16);
    for case in 0..6 {
        let reg = big_registry(&mut rng, 700 + 300 * case, case == 5);
        let path = dir.path().join(format!("big-{case}.db"));
        write_registry(&path, &reg);
        let plain = ours(&path, &[]);
        let doctor = doctor_of(local_registry(&path, dir.path()), &[]);

        // R10 by hand: the highest semver of each package over all its versions.
        let conn = Connection::open(&path).expect("open");
        let mut highest: std::collections::HashMap<String, semver::Version> = Default::default();
        let mut stmt = conn
            .prepare("SELECT id, version FROM sys_packages")
            .expect("prepare");
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("versions")
        {
            let (id, version) = row.expect("row");
            if let Ok(v) = semver::Version::parse(&version) {
                let top = highest.entry(id).or_insert_with(|| v.clone());
                if v > *top {
                    *top = v;
                }
            }
        }
        let mut expected = plain.report.clone();
        let loads = expected.loads.clone();
        for step in &mut expected.steps {
            if !matches!(step.outcome, Outcome::Loads | Outcome::Warns) {
                continue;
            }
            let Some(load) = loads
                .iter()
                .find(|l| l.row_id == step.row_id && l.row_version == step.row_version)
            else {
                continue;
            };
            let loaded = load
                .version
                .as_str()
                .and_then(|v| semver::Version::parse(v).ok());
            if let (Some(loaded), Some(top)) = (loaded, highest.get(&load.row_id)) {
                if loaded < *top {
                    step.rule = boot::Rule::R10;
                    step.message = format!(
                        "a downgrade: {}; the highest version of {} in the registry is {top}",
                        step.message, load.row_id
                    );
                }
            }
        }
        assert!(
            plain.list.len() > 600,
            "case {case}: {} list() rows",
            plain.list.len()
        );
        assert_eq!(doctor.boot, expected, "case {case}: the boot differs");
        assert_eq!(
            case == 5,
            doctor.boot.list_failed.is_some(),
            "case {case}: {:?}",
            doctor.boot.list_failed
        );

        // The schema warnings: every package's latest row by its own query, in doctor's order.
        let mut latest_stmt = conn
            .prepare(
                "SELECT version, manifest, metadata FROM sys_packages WHERE id = ? \
                 ORDER BY created_at DESC, rowid DESC LIMIT 1",
            )
            .expect("prepare latest");
        let mut warnings = Vec::new();
        for (id, version) in &doctor.latest {
            let (v, manifest, metadata): (String, String, String) = latest_stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("latest row");
            assert_eq!(&v, version, "case {case}: the latest version of {id}");
            if let Some(found) = pkgdeck::registry::schema::check_stored(&manifest, &metadata, 1) {
                if !found.problems.is_empty() {
                    let problems: Vec<String> =
                        found.problems.iter().map(ToString::to_string).collect();
                    warnings.push((id.clone(), v, problems, found.more));
                }
            }
        }
        let got: Vec<(String, String, Vec<String>, bool)> = doctor
            .schema_warnings
            .iter()
            .map(|w| (w.id.clone(), w.version.clone(), w.problems.clone(), w.more))
            .collect();
        assert!(
            case == 5 || !got.is_empty(),
            "case {case}: no schema warning at all"
        );
        assert_eq!(got, warnings, "case {case}: the schema warnings differ");
    }
}
