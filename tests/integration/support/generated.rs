//! Generated registries that reach every rule of the server's boot (spec 8.3): ties within
//! one second across ids and versions, corrupt JSON in latest and older rows, id mismatches,
//! missing ids, shared and `base`/`sys` namespaces, engines values of every type and range form,
//! packages defined in code; and registries picked by hand, one per rule. Written to SQLite
//! files with explicit rowids and `created_at` seconds, as the service would have left them.

use std::path::Path;

use pkgdeck::registry::boot::CodePackage;
use rusqlite::{params, Connection};

use pkgdeck_rng::Rng;

/// The spec 1 statements (what the service runs).
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS sys_packages (
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

/// A column's stored value.
#[derive(Debug, Clone)]
pub enum Column {
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub version: String,
    pub manifest: Column,
    pub metadata: Column,
    /// Seconds after the registry's base time.
    pub second: u32,
    pub rowid: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Generated {
    pub rows: Vec<Row>,
    pub code: Vec<CodePackage>,
}

pub const IDS: &[&str] = &["com.acme.crm", "com.acme.hr", "p1", "p2", "sys.tool", "5"];
pub const VERSIONS: &[&str] = &["1.0.0", "1.1.0", "1.1.1", "2.0.0", "0.9.0", "10.0.0"];

pub fn js(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).expect("encode string")
}

/// Text for a range field: every form `rangeAdmitsMajor` knows, and things it does not.
pub fn range(rng: &mut Rng) -> String {
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
pub fn range_value(rng: &mut Rng) -> Option<String> {
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

pub fn deep(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

pub fn manifest(rng: &mut Rng, row_id: &str, row_version: &str) -> Column {
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

pub fn metadata(rng: &mut Rng) -> Column {
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

pub fn generate(rng: &mut Rng) -> Generated {
    let mut ids: Vec<&str> = IDS.to_vec();
    let n_ids = 1 + rng.index(6);
    let mut reg = Generated::default();
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

pub fn write_registry(path: &Path, reg: &Generated) {
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

pub fn show_registry(reg: &Generated) -> String {
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

/// Registries picked by hand: one per rule, and the cases that surprised.
pub fn handpicked() -> Vec<Generated> {
    let text = |s: &str| Column::Text(s.to_string());
    let reg = |rows: &[(&str, &str, &str, u32)]| Generated {
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
