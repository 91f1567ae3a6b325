//! A generated registry with planted failures: thousands of rows written the way the
//! reference service writes them, and among them, in both halves of the rowid range, every
//! kind of row verify must tell apart (a wrong hash, a manifest naming another package, texts
//! that are not JSON or not canonical, lone surrogate escapes, BLOB and NULL columns,
//! invalid UTF-8). Written with plain rusqlite and sha2, without pkgdeck.

use std::path::Path;

use pkgdeck_rng::Rng;
use rusqlite::types::Value;
use sha2::{Digest, Sha256};

/// The columns of one row as they are inserted.
struct Row {
    id: Value,
    version: Value,
    manifest: Value,
    metadata: Value,
    hash: Value,
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Blob(b) => b.clone(),
        _ => Vec::new(),
    }
}

/// The integrity hash of spec 2 over the bytes the row stores.
fn hash_of(manifest: &Value, metadata: &Value) -> String {
    let mut sha = Sha256::new();
    sha.update(b"{\"manifest\":");
    sha.update(bytes_of(manifest));
    sha.update(b",\"metadata\":");
    sha.update(bytes_of(metadata));
    sha.update(b"}");
    format!("{:x}", sha.finalize())
}

/// A manifest as JSON.stringify writes one (canonical).
fn manifest(id: &str, version: &str, name: &str) -> String {
    format!(
        r#"{{"id":"{id}","name":"{name}","version":"{version}","type":"app","engines":{{"objectstack":">=1.0.0"}},"keywords":["a","b"]}}"#
    )
}

/// Metadata as JSON.stringify writes it (canonical), varied by `n`: nested objects, escapes,
/// numbers written as Number::toString writes them, array-index keys first.
fn metadata(n: usize, rng: &mut Rng) -> String {
    let fields: Vec<String> = (0..rng.between(1, 6))
        .map(|f| {
            format!(
                r#"{{"name":"f{f}","label":"Field \"{f}\"\nline","type":"number","scale":{},"defaultValue":{}}}"#,
                rng.between(0, 4),
                ["0.5", "1e-7", "-2.5", "1e+21", "123456789012345", "0"][rng.index(6)]
            )
        })
        .collect();
    format!(
        r#"{{"objects":[{{"name":"o{n}","fields":[{}]}}],"views":[],"translations":[{{"locale":"fr","plural":{{"0":"zéro","1":"un","2":"deux 🎉","a":"b"}}}}]}}"#,
        fields.join(",")
    )
}

/// The kinds of planted rows, each made from a clean row `(id, version)`.
pub const KINDS: usize = 30;

/// Replaces the clean row `r` (row id `id`, version `version`) by planted kind `kind`.
fn plant(kind: usize, r: &mut Row, id: &str, version: &str) {
    let m = |s: String| text(s);
    let recompute = |r: &mut Row| r.hash = text(hash_of(&r.manifest, &r.metadata));
    match kind {
        // A wrong hash.
        0 => r.hash = text(hash_of(&text("{}"), &text("{}"))),
        // The hash in upper case: still the same hash.
        1 => {
            if let Value::Text(h) = &r.hash {
                r.hash = text(h.to_uppercase());
            }
        }
        // The manifest names another package, another version, or none.
        2 => r.manifest = m(manifest("com.other", version, "X")),
        3 => r.manifest = m(manifest(id, "9.9.9", "X")),
        4 => r.manifest = m(format!(r#"{{"id":"{id}","name":"X"}}"#)),
        5 => r.manifest = m(format!(r#"{{"id":5,"version":"{version}"}}"#)),
        // The id written with an escape: the same id, but not canonical.
        6 => {
            r.manifest = m(manifest(id, version, "X").replacen(
                &format!(r#""id":"{}"#, &id[..1]),
                &format!(r#""id":"\u{:04x}"#, id.as_bytes()[0]),
                1,
            ))
        }
        // Not JSON.
        7 => r.manifest = m(format!(r#"{{"id": "{id}", broken"#)),
        8 => r.metadata = m(r#"{"objects":[}"#.into()),
        9 => r.manifest = m(String::new()),
        // Valid but not what JSON.stringify writes.
        10 => r.metadata = m(r#"{ "objects": [] }"#.into()),
        11 => r.metadata = m(r#"{"b":1,"0":2}"#.into()),
        12 => r.metadata = m(r#"{"n":1.0,"o":[]}"#.into()),
        13 => r.metadata = m(r#"{"n":1e21}"#.into()),
        14 => r.metadata = m(r#"{"s":"a\/b"}"#.into()),
        // Lone surrogate escapes: lowercase is what well-formed JSON.stringify writes,
        // uppercase is not.
        15 => r.metadata = m(r#"{"s":"x\ud800y","\udfff":[1]}"#.into()),
        16 => r.manifest = m(manifest(id, version, r"\uD800")),
        // BLOB columns: valid UTF-8 (read as the same text), and bytes that are not UTF-8.
        17 => r.manifest = Value::Blob(manifest(id, version, "Blob").into_bytes()),
        18 => r.metadata = Value::Blob(b"{\"s\":\"\xff\xfe\"}".to_vec()),
        // NULL columns.
        19 => r.metadata = Value::Null,
        20 => r.id = Value::Null,
        21 => r.hash = Value::Null,
        // A duplicated key: the last value wins, as in JSON.parse.
        22 => {
            r.manifest = m(format!(
                r#"{{"id":"other","version":"{version}","id":"{id}"}}"#
            ))
        }
        // Not an object, and an id only nested deeper.
        23 => r.manifest = m("[]".into()),
        24 => r.manifest = m(format!(r#"{{"x":{{"id":"{id}","version":"{version}"}}}}"#)),
        // Nested deeper than the parser accepts.
        25 => r.metadata = m(format!("{}{}", "[".repeat(600), "]".repeat(600))),
        // Canonical texts the quick identity reading is not sure about: an escaped quote in
        // the id (the row id holds the quote), and a version after many members.
        26 => {
            r.id = text(format!("{id}\"q"));
            r.manifest = m(manifest(&format!("{id}\\\"q"), version, "Q"));
        }
        27 => {
            r.manifest = m(format!(
                r#"{{"a":{{"b":[1,{{"id":"no"}}]}},"id":"{id}","s":"}}]","version":"{version}"}}"#
            ))
        }
        // Array-index keys out of order in the manifest.
        28 => {
            r.manifest = m(format!(
                r#"{{"1":"x","0":"y","id":"{id}","version":"{version}"}}"#
            ))
        }
        // Invalid UTF-8 inside a TEXT manifest (read as U+FFFD).
        _ => {
            let mut b = manifest(id, version, "N").into_bytes();
            let at = b.len() - 3;
            b.insert(at, 0xff);
            // Inserted through CAST(… AS TEXT): the column holds TEXT that is not UTF-8.
            r.manifest = Value::Blob(b);
            r.version = text(format!("{version}-utf8"));
        }
    }
    // Kinds whose point is not the hash store the hash of their own bytes, as a writer of
    // those bytes would.
    if !matches!(kind, 0 | 1 | 21) {
        recompute(r);
    }
}

/// Writes `rows` rows to a new registry file at `path`: clean rows, and every planted kind
/// at least twice in each half of the rowid range plus at random places. Its `sys_packages`
/// has the spec's columns without `NOT NULL`, so that NULL columns can be stored (a registry
/// some other tool created).
pub fn planted_registry(path: &Path, rows: usize, seed: u64) {
    assert!(
        rows >= KINDS * 24,
        "{rows} rows cannot hold every planted kind"
    );
    let conn = rusqlite::Connection::open(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    conn.execute_batch(
        "CREATE TABLE sys_packages (id TEXT, version TEXT, manifest TEXT, metadata TEXT, \
           hash TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP, \
           updated_at TEXT DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id, version)); \
         CREATE INDEX idx_packages_latest ON sys_packages(id, created_at DESC); BEGIN;",
    )
    .expect("create the planted registry's table");
    let mut rng = Rng::new(seed);
    let half = rows / 2;
    let mut planted = vec![None; rows];
    for kind in 0..KINDS {
        for base in [0, half] {
            for copy in 0..2 {
                planted[base + 3 + kind * 5 + copy * (KINDS * 5 + 1)] = Some(kind);
            }
        }
    }
    for _ in 0..KINDS * 2 {
        let at = rng.index(rows);
        if planted[at].is_none() {
            planted[at] = Some(rng.index(KINDS));
        }
    }
    let mut insert = conn
        .prepare(
            "INSERT INTO sys_packages (id, version, manifest, metadata, hash, created_at, updated_at) \
             VALUES (?1, ?2, CASE WHEN typeof(?3) = 'blob' AND ?6 THEN CAST(?3 AS TEXT) ELSE ?3 END, \
                     ?4, ?5, datetime(1609459200 + ?7, 'unixepoch'), datetime(1609459200 + ?7, 'unixepoch'))",
        )
        .expect("prepare the insert");
    for (i, kind) in planted.iter().enumerate() {
        let id = format!("com.test.p{}", i / 3);
        let version = format!("1.{}.0", i % 3);
        let clean_manifest = text(manifest(&id, &version, &format!("Package {}", i / 3)));
        let clean_metadata = text(metadata(i, &mut rng));
        let mut r = Row {
            hash: text(hash_of(&clean_manifest, &clean_metadata)),
            id: text(id.clone()),
            version: text(version.clone()),
            manifest: clean_manifest,
            metadata: clean_metadata,
        };
        if let Some(kind) = *kind {
            plant(kind, &mut r, &id, &version);
        }
        // The last kind stores its bytes as TEXT (CAST), every other BLOB stays a BLOB.
        let as_text = *kind == Some(KINDS - 1);
        insert
            .execute(rusqlite::params![
                r.id, r.version, r.manifest, r.metadata, r.hash, as_text, i as i64
            ])
            .unwrap_or_else(|e| panic!("insert row {i} (kind {kind:?}): {e}"));
    }
    drop(insert);
    conn.execute_batch("COMMIT")
        .expect("commit the planted rows");
}
