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

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use pkgdeck::registry::boot::{self, CodePackage, ListRow, Outcome, RUNTIME_PROTOCOL};
use pkgdeck::registry::canonical;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::support::repo_root;
use pkgdeck_rng::Rng;

/// Random registries compared; each hits several rules.
const REGISTRIES: usize = 600;
/// Generated `engines` ranges compared with the real `checkProtocolCompat`.
const RANGES: usize = 4000;

/// The spec 1 statements (what the service runs).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sys_packages (
  id TEXT NOT NULL,
  version TEXT NOT NULL,
  manifest TEXT NOT NULL,
  metadata TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS idx_packages_latest ON sys_packages(id, created_at DESC);";

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
// The oracle process
// ---------------------------------------------------------------------------

struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start() -> Oracle {
        let dir = crate::support::objectstack::install_dir();
        let script = repo_root().join("tests/oracle/boot.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .arg(&dir)
            .env_remove("OS_METADATA_COLLISION")
            .env_remove("OS_REGISTRY_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `node` ({e}): the boot oracle runs the real ObjectStack server \
                     in Node.js; install Node.js (https://nodejs.org) and rerun"
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            child,
            stdin,
            stdout,
        }
    }

    fn ask(&mut self, request: &Value) -> Value {
        let line = serde_json::to_string(request).expect("encode request");
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the oracle stopped reading requests: {e}"));
        let mut answer = String::new();
        let n = self
            .stdout
            .read_line(&mut answer)
            .unwrap_or_else(|e| panic!("cannot read the oracle's answer: {e}"));
        assert!(
            n > 0,
            "the oracle (node tests/oracle/boot.mjs) exited without answering {line} (its \
             stderr is above)"
        );
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| {
            panic!("the oracle answered something that is not JSON ({e}): {answer}")
        });
        assert_eq!(
            answer["ok"], true,
            "the oracle could not answer {line}: {answer}"
        );
        answer
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Generated registries
// ---------------------------------------------------------------------------

/// A column's stored value.
#[derive(Debug, Clone)]
enum Column {
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Row {
    id: String,
    version: String,
    manifest: Column,
    metadata: Column,
    /// Seconds after the registry's base time.
    second: u32,
    rowid: i64,
}

#[derive(Debug, Clone, Default)]
struct Registry {
    rows: Vec<Row>,
    code: Vec<CodePackage>,
}

const IDS: &[&str] = &["com.acme.crm", "com.acme.hr", "p1", "p2", "sys.tool", "5"];
const VERSIONS: &[&str] = &["1.0.0", "1.1.0", "1.1.1", "2.0.0", "0.9.0", "10.0.0"];

fn js(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).expect("encode string")
}

/// Text for a range field: every form `rangeAdmitsMajor` knows, and things it does not.
fn range(rng: &mut Rng) -> String {
    const FIXED: &[&str] = &[
        "^17",
        "^16",
        "^18",
        "~17.2",
        "~16",
        "17.x",
        "17.X",
        "16.x",
        "17.*",
        "*",
        "x",
        "latest",
        "X",
        ">=17",
        ">=18",
        ">17",
        ">16",
        ">17.0",
        "<18",
        "<17",
        "<17.0.1",
        "<=17",
        "<=16",
        ">=16 <18",
        ">=16, <18",
        ">=18 <19",
        "16 - 18",
        "18 - 19",
        "v16 - v18",
        "17",
        "16",
        "17.1",
        "17.1.2",
        "17.1.2.3",
        "v17",
        "^v17",
        "=17",
        "^16 || ^17",
        "^17 || ^16",
        "17.x || 18.x",
        ">=16 <18 || >=19",
        "banana",
        "",
        " ",
        "\u{a0}^17\u{3000}",
        "\u{85}^17",
        "\u{feff}17",
        "17 -",
        ">=",
        "^",
        "~>17",
        "0.17",
        "017",
        "17.0.0-beta",
    ];
    const OPS: &[&str] = &[
        "", "^", "~", ">=", ">", "<=", "<", "=", "v", "^v", "~V", ">= ", "< v",
    ];
    const MAJORS: &[&str] = &[
        "0",
        "15",
        "16",
        "17",
        "18",
        "19",
        "x",
        "*",
        "99999999999999999999",
    ];
    const SPACES: &[&str] = &[" ", "  ", "\t", ",", ", ", "\u{a0}", "\u{2028}", "\u{85}"];
    let one = |rng: &mut Rng| {
        let mut s = format!("{}{}", rng.pick(OPS), rng.pick(MAJORS));
        if rng.chance(40) {
            s.push('.');
            s.push_str(rng.pick_str(&["0", "1", "x", "*", "00"]));
            if rng.chance(50) {
                s.push('.');
                s.push_str(rng.pick_str(&["0", "1", "2", "x"]));
            }
        }
        s
    };
    match rng.index(10) {
        0..=3 => rng.pick(FIXED).to_string(),
        4 | 5 => one(rng),
        6 => format!("{}{}{}", one(rng), rng.pick(SPACES), one(rng)),
        7 => format!(
            "{}{}-{}{}",
            one(rng),
            rng.pick(&[" ", "  ", "", "\t"]),
            rng.pick(&[" ", "", "\u{3000}"]),
            one(rng)
        ),
        8 => format!("{} || {}", one(rng), one(rng)),
        _ => {
            let pad = rng
                .pick(&["", " ", "\u{a0}", "\u{feff}", "\n", "\u{180e}"])
                .to_string();
            let inner = if rng.chance(10) {
                format!("^{}", "1".repeat(120 + rng.index(16)))
            } else {
                one(rng)
            };
            format!("{pad}{inner}{pad}")
        }
    }
}

/// JSON text for one of the fields `resolveDeclaredRange` reads: a range, or a value of
/// another type (which throws when it is looked at).
fn range_value(rng: &mut Rng) -> Option<String> {
    Some(match rng.index(40) {
        0..=29 => js(range(rng)),
        30 | 31 => return None,
        32 => js(rng.pick(&["", "   "])),
        33 | 34 => "null".into(),
        35 => rng.pick(&["17", "0", "17.5"]).to_string(),
        36 => rng.pick(&["{}", r#"{"trim":1}"#]).to_string(),
        37 => rng.pick(&["[]", r#"["^17"]"#]).to_string(),
        38 => rng.pick(&["true", "false"]).to_string(),
        _ => js(range(rng)),
    })
}

fn deep(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn manifest(rng: &mut Rng, row_id: &str, row_version: &str) -> Column {
    match rng.index(200) {
        0 => return Column::Blob(format!(r#"{{"id":{}}}"#, js(row_id)).into_bytes()),
        1..=3 => {
            let broken = [
                "{".to_string(),
                format!(r#"{{"id":{},"#, js(row_id)),
                "not json".to_string(),
                String::new(),
                format!(r#"{{"id":{},}}"#, js(row_id)),
                format!("\u{feff}{{\"id\":{}}}", js(row_id)),
                format!(r#"{{"id":{}}} x"#, js(row_id)),
            ];
            return Column::Text(broken[rng.index(broken.len())].clone());
        }
        4..=9 => {
            return Column::Text(
                rng.pick(&["null", "[]", "5", r#""str""#, "true"])
                    .to_string(),
            )
        }
        _ => {}
    }
    let mut members: Vec<(String, String)> = Vec::new();
    // id
    let id = match rng.index(200) {
        0..=149 => Some(js(row_id)),
        150..=169 => Some(js(rng.pick(IDS))),
        170..=175 => None,
        _ => Some(
            rng.pick(&[
                r#""""#,
                "0",
                "false",
                "null",
                "5",
                r#""5""#,
                "true",
                "{}",
                "[]",
                "1e400",
                r#"{"toString":1}"#,
                "-0",
            ])
            .to_string(),
        ),
    };
    if let Some(id) = id {
        members.push(("id".into(), id));
    }
    // version
    match rng.index(100) {
        0..=79 => members.push(("version".into(), js(row_version))),
        80..=87 => members.push(("version".into(), js(rng.pick(VERSIONS)))),
        88..=92 => {}
        93..=95 => members.push(("version".into(), "17".into())),
        _ => members.push(("__proto__".into(), r#"{"version":"9.9.9"}"#.into())),
    }
    // name
    let name = match rng.index(200) {
        0..=189 => js("A package"),
        190 | 191 => r#"{"toString":1}"#.into(),
        192 | 193 => r#"[[{"toString":1}]]"#.into(),
        _ => r#"{"a":{"toString":1}}"#.into(),
    };
    members.push(("name".into(), name));
    members.push(("type".into(), js("plugin")));
    // namespace
    let namespace = match rng.index(200) {
        0..=89 => None,
        90..=139 => Some(js(rng.pick(&["crm", "hr", "sales", "ops"]))),
        140..=159 => Some(js(rng.pick(&["base", "sys", "system"]))),
        160..=169 => Some(js(rng.pick(&["Base", "SYS", "crm "]))),
        170..=179 => Some(js("")),
        180..=185 => Some("5".into()),
        186..=191 => Some(r#"{"n":1}"#.into()),
        192..=196 => Some("true".into()),
        _ => Some(r#"{"toString":1}"#.into()),
    };
    if let Some(ns) = namespace {
        members.push(("namespace".into(), ns));
    }
    // engines / engine
    match rng.index(100) {
        0..=29 => {}
        30..=32 => members.push((
            "engines".into(),
            rng.pick(&[r#""^17""#, "17", "null", r#"["^17"]"#, "true"])
                .to_string(),
        )),
        _ => {
            let mut engines = Vec::new();
            if let Some(v) = range_value(rng) {
                engines.push(format!(r#""protocol":{v}"#));
            }
            if rng.chance(40) {
                if let Some(v) = range_value(rng) {
                    engines.push(format!(r#""platform":{v}"#));
                }
            }
            if rng.chance(20) {
                engines.push(r#""node":">=18""#.to_string());
            }
            members.push(("engines".into(), format!("{{{}}}", engines.join(","))));
        }
    }
    if rng.chance(12) {
        let v = range_value(rng).unwrap_or_else(|| js("^17"));
        members.push(("engine".into(), format!(r#"{{"objectstack":{v}}}"#)));
    }
    if rng.chance(3) {
        members.push((
            "x".into(),
            rng.pick(&["1e400", "-1e999", "[1e400,1]"]).to_string(),
        ));
    }
    if rng.chance(2) {
        members.push(("deep".into(), deep(600 + rng.index(400))));
    }
    // Key order varies: the server reads by name, so it must not matter.
    if rng.chance(20) {
        members.reverse();
    }
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", js(k)))
        .collect();
    Column::Text(format!("{{{}}}", body.join(",")))
}

fn metadata(rng: &mut Rng) -> Column {
    Column::Text(match rng.index(200) {
        0..=169 => "{}".to_string(),
        170..=179 => r#"{"objects":[],"views":[{"name":"v"}]}"#.to_string(),
        180..=182 => rng.pick(&["{", r#"{"objects":[}"#, "nope", ""]).to_string(),
        183 => return Column::Blob(b"{}".to_vec()),
        184..=189 => format!(r#"{{"objects":{}}}"#, deep(520 + rng.index(600))),
        190..=194 => r#"{"n":1e400,"m":[-1e401]}"#.to_string(),
        _ => rng.pick(&["null", "[]", "0", r#""s""#]).to_string(),
    })
}

fn registry(rng: &mut Rng) -> Registry {
    let mut ids: Vec<&str> = IDS.to_vec();
    let n_ids = 1 + rng.index(6);
    let mut reg = Registry::default();
    let mut rows = Vec::new();
    for _ in 0..n_ids {
        let id = ids.remove(rng.index(ids.len()));
        let mut versions: Vec<&str> = VERSIONS.to_vec();
        for _ in 0..1 + rng.index(4) {
            let version = versions.remove(rng.index(versions.len()));
            rows.push(Row {
                id: id.to_string(),
                version: version.to_string(),
                manifest: manifest(rng, id, version),
                metadata: metadata(rng),
                // Three seconds for everything: ties within an id and across ids.
                second: rng.index(3) as u32,
                rowid: 0,
            });
        }
    }
    // Insertion order (rowid) independent of created_at, sometimes with gaps.
    let mut order: Vec<i64> = (1..=rows.len() as i64).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.index(i + 1));
    }
    let gap = if rng.chance(30) { 1000 } else { 0 };
    for (row, rowid) in rows.iter_mut().zip(order) {
        row.rowid = rowid + gap * (rowid % 2);
    }
    reg.rows = rows;
    if rng.chance(30) {
        let mut namespaces = vec![None, Some("crm"), Some("code"), Some("sys"), Some("hr")];
        for n in 0..1 + rng.index(2) {
            let ns = namespaces.remove(rng.index(namespaces.len()));
            let id = if rng.chance(60) {
                rng.pick(IDS).to_string()
            } else {
                format!("code.{n}")
            };
            if reg.code.iter().any(|c| c.id == id) {
                continue;
            }
            reg.code.push(CodePackage {
                id,
                namespace: ns.map(str::to_string),
            });
        }
    }
    reg
}

fn write_registry(path: &Path, reg: &Registry) {
    let mut conn = Connection::open(path).expect("create registry file");
    // One transaction: a commit (and its fsync) per registry, not per row.
    let conn = conn.transaction().expect("begin");
    conn.execute_batch(SCHEMA).expect("create sys_packages");
    let mut rows: Vec<&Row> = reg.rows.iter().collect();
    rows.sort_by_key(|r| r.rowid);
    for row in rows {
        let at = format!("2024-05-01 12:00:{:02}", 10 + row.second);
        let value = |c: &Column| match c {
            Column::Text(t) => rusqlite::types::Value::Text(t.clone()),
            Column::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
        };
        conn.execute(
            "INSERT INTO sys_packages (rowid, id, version, manifest, metadata, hash, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'h', ?6, ?6)",
            params![
                row.rowid,
                row.id,
                row.version,
                value(&row.manifest),
                value(&row.metadata),
                at
            ],
        )
        .expect("insert row");
    }
    conn.commit().expect("commit");
}

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
fn js_text(v: &Value) -> String {
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

fn show_registry(reg: &Registry) -> String {
    let mut out = String::new();
    let mut rows: Vec<&Row> = reg.rows.iter().collect();
    rows.sort_by_key(|r| r.rowid);
    for r in rows {
        let col = |c: &Column| match c {
            Column::Text(t) if t.len() > 300 => format!("{:?}… ({} bytes)", &t[..200], t.len()),
            Column::Text(t) => format!("{t:?}"),
            Column::Blob(b) => format!("BLOB {:?}", String::from_utf8_lossy(b)),
        };
        out.push_str(&format!(
            "  rowid {} {} {} +{}s manifest {} metadata {}\n",
            r.rowid,
            r.id,
            r.version,
            r.second,
            col(&r.manifest),
            col(&r.metadata)
        ));
    }
    for c in &reg.code {
        out.push_str(&format!(
            "  code package {} namespace {:?}\n",
            c.id, c.namespace
        ));
    }
    out
}

/// Registries picked by hand: one per rule, the cases that surprised, and the fixture the real
/// service wrote.
fn handpicked() -> Vec<Registry> {
    let text = |s: &str| Column::Text(s.to_string());
    let reg = |rows: &[(&str, &str, &str, u32)]| Registry {
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, (id, version, manifest, second))| Row {
                id: id.to_string(),
                version: version.to_string(),
                manifest: text(manifest),
                metadata: text("{}"),
                second: *second,
                rowid: i as i64 + 1,
            })
            .collect(),
        code: Vec::new(),
    };
    let mut out = vec![
        // R1: a corrupt latest row empties the list; a corrupt older row is harmless.
        reg(&[("a", "1.0.0", r#"{"id":"a"}"#, 0), ("b", "1.0.0", "{", 1)]),
        reg(&[("a", "1.0.0", "{", 0), ("a", "1.1.0", r#"{"id":"a"}"#, 1)]),
        // R2 (number, object, platform after an empty protocol) and what follows it.
        reg(&[
            ("a", "1.0.0", r#"{"id":"a","engines":{"protocol":17}}"#, 2),
            ("b", "1.0.0", r#"{"id":"b"}"#, 1),
        ]),
        reg(&[
            (
                "a",
                "1.0.0",
                r#"{"id":"a","engines":{"protocol":" ","platform":{}}}"#,
                2,
            ),
            ("b", "1.0.0", r#"{"id":"b"}"#, 1),
        ]),
        // R3, and the namespaces that may be shared.
        reg(&[
            ("a", "1.0.0", r#"{"id":"a","namespace":"crm"}"#, 2),
            ("b", "1.0.0", r#"{"id":"b","namespace":"crm"}"#, 1),
            ("c", "1.0.0", r#"{"id":"c"}"#, 0),
        ]),
        reg(&[
            ("a", "1.0.0", r#"{"id":"a","namespace":"sys"}"#, 2),
            ("b", "1.0.0", r#"{"id":"b","namespace":"sys"}"#, 1),
            ("c", "1.0.0", r#"{"id":"c","namespace":"base"}"#, 1),
            ("d", "1.0.0", r#"{"id":"d","namespace":"base"}"#, 0),
        ]),
        // R4 refused, then a row of the same manifest.id loads (R7).
        reg(&[
            (
                "a",
                "1.0.0",
                r#"{"id":"a","namespace":"crm","engines":{"protocol":"^16"}}"#,
                2,
            ),
            ("b", "1.0.0", r#"{"id":"b","namespace":"crm"}"#, 1),
            (
                "c",
                "1.0.0",
                r#"{"id":"a","engines":{"protocol":"^17"}}"#,
                0,
            ),
        ]),
        // R6, R8 and number ids.
        reg(&[
            ("a", "1.0.0", r#"{"id":5,"version":"9"}"#, 2),
            ("b", "1.0.0", r#"{"id":"5"}"#, 1),
            ("c", "1.0.0", r#"{"id":5}"#, 1),
            ("d", "1.0.0", r#"{"id":0}"#, 0),
            ("e", "1.0.0", r#"{"name":"no id"}"#, 0),
        ]),
        // R9/R10: a same-second tie; 1.0.1 published after 2.0.0 loads.
        reg(&[
            ("a", "1.0.0", r#"{"id":"a","version":"1.0.0"}"#, 0),
            ("a", "1.1.1", r#"{"id":"a","version":"1.1.1"}"#, 0),
            ("b", "2.0.0", r#"{"id":"b","version":"2.0.0"}"#, 0),
            ("b", "1.0.1", r#"{"id":"b","version":"1.0.1"}"#, 1),
        ]),
        // R11 and the record's prototype.
        reg(&[
            ("a", "1.0.0", r#"{"id":"a","name":{"toString":1}}"#, 1),
            ("b", "1.0.0", r#"{"id":"b"}"#, 0),
        ]),
        reg(&[
            (
                "a",
                "1.0.0",
                r#"{"id":{"toString":1},"engines":{"protocol":"^17"}}"#,
                1,
            ),
            ("b", "1.0.0", r#"{"id":"b"}"#, 0),
        ]),
        reg(&[
            (
                "a",
                "1.0.0",
                r#"{"id":"a","namespace":{"toString":1},"engines":{"protocol":"^17"}}"#,
                1,
            ),
            (
                "b",
                "1.0.0",
                r#"{"id":"b","__proto__":{"version":"7.7.7"}}"#,
                0,
            ),
        ]),
        // JSON.parse takes what canonical::parse_stored refuses.
        reg(&[
            ("a", "1.0.0", r#"{"id":1e400,"x":[-1e999]}"#, 1),
            ("b", "1.0.0", r#"{"id":1.7976931348623157e308}"#, 0),
        ]),
    ];
    let mut with_code = reg(&[
        ("a", "1.0.0", r#"{"id":"a"}"#, 2),
        ("z", "1.0.0", r#"{"id":"z","namespace":"hr"}"#, 1),
        ("b", "1.0.0", r#"{"id":"b","namespace":"crm"}"#, 0),
    ]);
    with_code.code = vec![
        CodePackage {
            id: "a".into(),
            namespace: Some("crm".into()),
        },
        CodePackage {
            id: "z".into(),
            namespace: None,
        },
    ];
    out.push(with_code);
    out
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

    let mut cases: Vec<(String, Option<Registry>, PathBuf)> = Vec::new();
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
            let reg = registry(&mut rng);
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
        let request = json!({
            "op": "boot",
            "db": path,
            "code_packages": code
                .iter()
                .map(|c| json!({"id": c.id, "namespace": c.namespace}))
                .collect::<Vec<_>>(),
        });
        let t = std::time::Instant::now();
        let answer = oracle.ask(&request);
        timing[0] += t.elapsed();
        let t = std::time::Instant::now();
        let ours = ours(&path, &code);
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

        let diffs = differences(&answer, &ours);
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
         loaded; differences: {}",
        counts.registries,
        counts.rows,
        counts.list_rows,
        counts.tied,
        counts.served_null,
        counts.served_not_latest,
        counts.list_failed,
        counts.aborted,
        counts.loads,
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
