//! Two registries (spec 11) through the real binary: `compare` on a generated pair of
//! registries (local files, two tursodb servers, and one of each) against what the pair was
//! built to hold, and `copy`: exact texts and hash at the destination, verified there and read
//! by the real ObjectStack service with the same hash; refused by a guard or run with
//! `--dry-run`, it leaves both registries byte-identical.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use pkgdeck::connect::{self, Request};
use pkgdeck::registry::{Allow, PublishOptions};
use pkgdeck_rng::Rng;
use serde_json::Value;

use crate::support::objectstack::Oracle;
use crate::support::scratch::{checksum, pkgdeck, stored_rows, Scratch};
use crate::support::tursodb::TursoServer;

/// One registry of a pair: a file, and the tursodb server in front of it when remote.
struct Side {
    file: PathBuf,
    server: Option<TursoServer>,
}

impl Side {
    fn new(dir: &Path, name: &str, remote: bool) -> Side {
        let file = dir.join(name);
        let server = remote.then(|| TursoServer::start(&file));
        Side { file, server }
    }

    /// The target pkgdeck is given.
    fn target(&self) -> String {
        match &self.server {
            Some(s) => s.url.clone(),
            None => self.file.display().to_string(),
        }
    }

    fn sql(&self, sql: &str) {
        match &self.server {
            Some(s) => {
                let answer = s.raw_execute(sql).expect("the statement runs on tursodb");
                assert_eq!(answer["results"][0]["type"], "ok", "{sql}: {answer}");
            }
            None => {
                rusqlite::Connection::open(&self.file)
                    .and_then(|c| c.execute_batch(sql))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
}

fn doc(id: &str, version: &str, object: &str) -> String {
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"N"}},"metadata":{{"objects":[{{"name":"{object}"}}]}}}}"#
    )
}

/// The real binary with `s`'s data and config dirs, and only the targets `args` name.
fn run(s: &Scratch, args: &[&str]) -> Output {
    pkgdeck(&s.dirs())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run pkgdeck")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What one package of the pair was built to be.
#[derive(Debug, Default)]
struct Built {
    /// version → expected state.
    versions: BTreeMap<String, &'static str>,
}

/// Publishes a generated pair into `a` and `b` and answers what each package was built to be.
fn build_pair(rng: &mut Rng, s: &Scratch, a: &Side, b: &Side) -> BTreeMap<String, Built> {
    let open = |side: &Side| {
        connect::open(
            &Request {
                db: Some(side.target()),
                connection: None,
                read_only: false,
            },
            &s.dirs(),
        )
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", side.target()))
    };
    let (ra, rb) = (open(a), open(b));
    let any = PublishOptions {
        allow: Allow::EVERYTHING,
        ..PublishOptions::default()
    };
    let put = |r: &pkgdeck::registry::Registry, id: &str, v: &str, o: &str| {
        r.publish(&doc(id, v, o), "generated", any.clone())
            .unwrap_or_else(|e| panic!("publish {id} {v}: {e}"));
    };
    let mut built = BTreeMap::new();
    let mut ties = Vec::new();
    // Every case at least once, then random ones.
    let cases: Vec<u64> = (0..6).chain((0..14).map(|_| rng.below(6))).collect();
    for (i, case) in cases.into_iter().enumerate() {
        let id = format!("com.gen.p{i:02}");
        let mut p = Built::default();
        match case {
            // Only in A, only in B.
            0 => {
                put(&ra, &id, "1.0.0", "x");
                p.versions.insert("1.0.0".into(), "only_a");
            }
            1 => {
                put(&rb, &id, "1.0.0", "x");
                put(&rb, &id, "1.1.0", "x");
                p.versions.insert("1.0.0".into(), "only_b");
                p.versions.insert("1.1.0".into(), "only_b");
            }
            // Identical.
            2 => {
                for r in [&ra, &rb] {
                    put(r, &id, "1.0.0", "x");
                    put(r, &id, "1.2.0", "y");
                }
                p.versions.insert("1.0.0".into(), "same");
                p.versions.insert("1.2.0".into(), "same");
            }
            // The same id@version with different bytes.
            3 => {
                put(&ra, &id, "2.0.0", "x");
                put(&rb, &id, "2.0.0", "tampered");
                p.versions.insert("2.0.0".into(), "differs");
            }
            // The same rows, inserted in another order: another latest.
            4 => {
                put(&ra, &id, "1.0.0", "x");
                put(&ra, &id, "3.0.0", "x");
                put(&rb, &id, "3.0.0", "x");
                put(&rb, &id, "1.0.0", "x");
                p.versions.insert("1.0.0".into(), "same");
                p.versions.insert("3.0.0".into(), "same");
            }
            // The same rows; on B both share one second, so the server may answer another.
            _ => {
                for r in [&ra, &rb] {
                    put(r, &id, "1.0.0", "x");
                    put(r, &id, "1.0.1", "x");
                }
                ties.push(id.clone());
                p.versions.insert("1.0.0".into(), "same");
                p.versions.insert("1.0.1".into(), "same");
            }
        }
        built.insert(id, p);
    }
    drop((ra, rb));
    for id in ties {
        // A: two seconds apart, so its server answers the latest; B: one second for both.
        a.sql(&format!(
            "UPDATE sys_packages SET created_at = CASE version WHEN '1.0.0' \
             THEN '2020-01-01 00:00:00' ELSE '2020-01-02 00:00:00' END WHERE id = '{id}'"
        ));
        b.sql(&format!(
            "UPDATE sys_packages SET created_at = '2020-01-01 00:00:00' WHERE id = '{id}'"
        ));
    }
    built
}

/// `versions ID --json` of one side: the latest and the served version.
fn heads(s: &Scratch, side: &Side, id: &str) -> (Value, Value) {
    let o = run(s, &["--db", &side.target(), "versions", id, "--json"]);
    if o.status.code() == Some(1) || o.stdout.is_empty() {
        return (Value::Null, Value::Null);
    }
    let rows: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let rows = rows.as_array().cloned().unwrap_or_default();
    let pick = |key: &str| {
        rows.iter()
            .find(|r| r[key] == true)
            .map_or(Value::Null, |r| r["version"].clone())
    };
    (pick("latest"), pick("served"))
}

fn compare_pair(remote_a: bool, remote_b: bool, seed: u64) {
    let s = Scratch::empty();
    let (a, b) = (
        Side::new(s.dir.path(), "a.db", remote_a),
        Side::new(s.dir.path(), "b.db", remote_b),
    );
    let mut rng = Rng::new(seed);
    let built = build_pair(&mut rng, &s, &a, &b);

    let o = run(&s, &["compare", &a.target(), &b.target(), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let answer: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(answer["a"], a.target());
    assert_eq!(answer["b"], b.target());
    let packages = answer["packages"].as_array().expect("packages");
    let ids: Vec<&str> = packages.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, built.keys().map(String::as_str).collect::<Vec<_>>());
    let mut served_differs = 0;
    let mut latest_differs = 0;
    for p in packages {
        let id = p["id"].as_str().unwrap_or_default();
        let want = &built[id];
        let got: BTreeMap<String, &str> = p["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .map(|v| {
                (
                    v["version"].as_str().unwrap_or_default().to_owned(),
                    v["state"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            want.versions.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            "{id}"
        );
        for v in p["versions"].as_array().into_iter().flatten() {
            assert_eq!(v["a_hash"].is_null(), v["state"] == "only_b", "{id}: {v}");
            assert_eq!(v["b_hash"].is_null(), v["state"] == "only_a", "{id}: {v}");
            assert_eq!(
                v["a_hash"] == v["b_hash"],
                v["state"] == "same",
                "{id}: {v}"
            );
        }
        // Latest and served as each side's own `versions` says them.
        let (a_latest, a_served) = heads(&s, &a, id);
        let (b_latest, b_served) = heads(&s, &b, id);
        assert_eq!(
            (
                &p["a_latest"],
                &p["b_latest"],
                &p["a_served"],
                &p["b_served"]
            ),
            (&a_latest, &b_latest, &a_served, &b_served),
            "{id}"
        );
        let both = !a_latest.is_null() && !b_latest.is_null();
        latest_differs += u64::from(both && a_latest != b_latest);
        served_differs += u64::from(both && a_served != b_served);
    }
    let summary = &answer["summary"];
    let count = |state: &str| {
        built
            .values()
            .flat_map(|p| p.versions.values())
            .filter(|s| **s == state)
            .count() as u64
    };
    for state in ["only_a", "only_b", "same", "differs"] {
        assert_eq!(summary[state], count(state), "{state}: {summary}");
        assert!(count(state) > 0, "the pair has no {state} version");
    }
    assert_eq!(summary["latest_differs"], latest_differs, "{summary}");
    assert_eq!(summary["served_differs"], served_differs, "{summary}");
    assert!(latest_differs > 0 && served_differs > 0, "{summary}");

    // The human report: the dangerous case first.
    let o = run(&s, &["compare", &a.target(), &b.target()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let human = String::from_utf8_lossy(&o.stdout);
    let first = human
        .find("DIFFERENT CONTENTS")
        .expect("the dangerous case is shown");
    for later in ["ONLY IN A", "ONLY IN B", "LATEST OR SERVED"] {
        assert!(
            human.find(later).is_some_and(|at| at > first),
            "{later}:\n{human}"
        );
    }

    // A registry compared with itself is identical; reads created nothing.
    let o = run(&s, &["compare", &a.target(), &a.target()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let missing = s.dir.path().join("missing.db");
    let o = run(
        &s,
        &["compare", &a.target(), &missing.display().to_string()],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(!missing.exists(), "compare created {}", missing.display());
}

#[test]
fn compare_finds_every_state_on_two_files() {
    compare_pair(false, false, 0xC0_4A5E);
}

#[test]
fn compare_finds_every_state_on_two_tursodb_servers() {
    compare_pair(true, true, 0xC0_7075);
}

#[test]
fn compare_finds_every_state_on_a_file_and_a_tursodb_server() {
    compare_pair(false, true, 0xC0_3143);
    compare_pair(true, false, 0xC0_3144);
}

/// The row as SQLite stores it, without its dates.
fn texts_of(db: &Path, id: &str, version: &str) -> Option<(String, String, String)> {
    stored_rows(db)
        .into_iter()
        .find(|r| r.0 == id && r.1 == version)
        .map(|r| (r.2, r.3, r.4))
}

#[test]
fn a_copy_is_exact_verifies_and_the_service_reads_it_with_the_same_hash() {
    let s = Scratch::new();
    let a = s.db.clone();
    // Stored texts a publish would not write (spacing, key order): a copy keeps them as they are.
    let manifest = r#"{ "version": "4.0.0", "id": "com.acme.odd", "type": "app", "name": "Odd" }"#;
    let metadata = r#"{"objects":[ {"name":"thing"} ]}"#;
    let hash = pkgdeck::registry::canonical::integrity_hash(manifest, metadata);
    rusqlite::Connection::open(&a)
        .and_then(|c| {
            c.execute(
                "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES ('com.acme.odd', '4.0.0', ?1, ?2, ?3)",
                [manifest, metadata, hash.as_str()],
            )
        })
        .expect("insert the odd row");
    let b = s.dir.path().join("b.db");
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());

    let o = run(
        &s,
        &[
            "copy",
            "com.acme.odd",
            "--from",
            &a_s,
            "--to",
            &b_s,
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let answer: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(answer["versions"][0]["hash"], hash.as_str());
    assert_eq!(answer["versions"][0]["action"], "copied");
    assert_eq!(
        texts_of(&b, "com.acme.odd", "4.0.0"),
        Some((manifest.to_owned(), metadata.to_owned(), hash.clone()))
    );
    let o = run(&s, &["--db", &b_s, "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Every version of a package, oldest first: B's latest is A's (A loads 1.1.1, inserted
    // after 2.0.0: copied in A's order, that is a downgrade at B, which must be allowed).
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.helpdesk",
            "--all",
            "--from",
            &a_s,
            "--to",
            &b_s,
            "--allow-downgrade",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for row in stored_rows(&a)
        .into_iter()
        .filter(|r| r.0 == "com.acme.helpdesk")
    {
        assert_eq!(
            texts_of(&b, &row.0, &row.1),
            Some((row.2.clone(), row.3.clone(), row.4.clone())),
            "{} {}",
            row.0,
            row.1
        );
    }
    let latest = |db: &str| {
        let o = run(&s, &["--db", db, "get", "com.acme.helpdesk", "--json"]);
        serde_json::from_slice::<Value>(&o.stdout).expect("JSON")["version"].clone()
    };
    assert_eq!(latest(&a_s), latest(&b_s));
    // The same contents again: nothing written.
    let before = checksum(&b);
    let o = run(&s, &["copy", "com.acme.odd", "--from", &a_s, "--to", &b_s]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing written"));
    assert_eq!(checksum(&b), before);

    // The real ObjectStack service reads what was copied, with the same hash.
    let mut oracle = Oracle::start();
    let booted = oracle.boot(&b, &[]);
    assert_eq!(booted["get"]["com.acme.odd"], "4.0.0", "{booted}");
    assert_eq!(
        booted["get_hash"]["com.acme.odd"],
        hash.as_str(),
        "{booted}"
    );
    assert!(
        booted["loaded"]
            .as_array()
            .is_some_and(|l| l.iter().any(|p| p["id"] == "com.acme.odd")),
        "{booted}"
    );

    // To a tursodb server: the same bytes.
    let remote_file = s.dir.path().join("remote.db");
    let server = TursoServer::start(&remote_file);
    let o = run(
        &s,
        &["copy", "com.acme.odd", "--from", &b_s, "--to", &server.url],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = server
        .raw_rows(
            "SELECT manifest, metadata, hash FROM sys_packages WHERE id = ?",
            &["com.acme.odd"],
        )
        .expect("the copied row");
    let cell = |i: usize| rows[0][i]["value"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (cell(0), cell(1), cell(2)),
        (manifest.to_owned(), metadata.to_owned(), hash)
    );
}

#[test]
fn a_refused_copy_and_a_dry_run_write_nothing() {
    let s = Scratch::new();
    let a = s.db.clone();
    let b = s.dir.path().join("b.db");
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());
    let publish = |db: &str, file: &str| {
        let o = run(&s, &["--db", db, "publish", file]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    };
    // B loads helpdesk 9.0.0; A has older versions, and a 1.0.0 of another package with other
    // bytes than B's.
    publish(
        &b_s,
        &s.file("h9.json", doc("com.acme.helpdesk", "9.0.0", "x")),
    );
    let o = run(&s, &["--db", &a_s, "export", "com.acme.crm", "1.2.0"]);
    let mut crm: Value = serde_json::from_slice(&o.stdout).expect("exported crm");
    crm["metadata"]["objects"] = serde_json::json!([{"name": "other"}]);
    publish(&b_s, &s.file("crm.json", crm.to_string()));
    // Written a while ago, so that a copy now is not in the same second (a tie, refused too).
    rusqlite::Connection::open(&b)
        .and_then(|c| c.execute_batch("UPDATE sys_packages SET created_at = '2020-01-01 00:00:00'"))
        .expect("date B's rows");
    let sums = || (checksum(&a), checksum(&b));
    let before = sums();

    // A downgrade at B: refused by the guard, nothing written.
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.helpdesk",
            "1.0.0",
            "--from",
            &a_s,
            "--to",
            &b_s,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--allow-downgrade"),
        "{}",
        text(&o)
    );
    assert_eq!(sums(), before);
    // --all: one refused version refuses them all.
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.helpdesk",
            "--all",
            "--from",
            &a_s,
            "--to",
            &b_s,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(sums(), before);
    // Other bytes at the same id@version: refused without --allow-overwrite.
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.crm",
            "1.2.0",
            "--from",
            &a_s,
            "--to",
            &b_s,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--allow-overwrite"),
        "{}",
        text(&o)
    );
    assert_eq!(sums(), before);

    // Dry runs: what would happen, the boot change included, and nothing written.
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.helpdesk",
            "1.0.0",
            "--from",
            &a_s,
            "--to",
            &b_s,
            "--dry-run",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("would be refused")
            && out.contains("would load com.acme.helpdesk 1.0.0 instead of 9.0.0"),
        "{out}"
    );
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.crm",
            "1.2.0",
            "--from",
            &a_s,
            "--to",
            &b_s,
            "--dry-run",
            "--allow-overwrite",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let answer: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(answer["dry_run"], true);
    assert_eq!(
        answer["versions"][0]["action"], "would_overwrite",
        "{answer}"
    );
    assert!(
        answer["versions"][0]["replaced"]["hash"].is_string(),
        "{answer}"
    );
    assert_eq!(sums(), before);
    let o = run(
        &s,
        &["copy", "keys", "--from", &a_s, "--to", &b_s, "--dry-run"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("would load keys 1.0.0"),
        "{}",
        text(&o)
    );
    assert_eq!(sums(), before);

    // With the flags, the overwrite goes through: the old row in B's trash, the audit at B.
    let trash_before = s.trash_files().len();
    let o = run(
        &s,
        &[
            "copy",
            "com.acme.crm",
            "1.2.0",
            "--from",
            &a_s,
            "--to",
            &b_s,
            "--allow-overwrite",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(s.trash_files().len(), trash_before + 1);
    assert_eq!(checksum(&a), before.0, "the source is never written");
    assert_eq!(
        texts_of(&b, "com.acme.crm", "1.2.0"),
        texts_of(&a, "com.acme.crm", "1.2.0")
    );
}
