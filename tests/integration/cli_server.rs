//! The real binary's commands about the ObjectStack server (spec 4, 8): `doctor` (its JSON
//! shape, human output, flags, config and exit codes), `promote`, and the guard flags of
//! publish and delete. Every refusal is forced afterwards and the real server shows that it
//! breaks the boot.

use std::path::Path;
use std::process::Output;

use pkgdeck::registry::boot::CodePackage;
use serde_json::Value;

use crate::guard_oracle::{real_change, RealChange};
use crate::support::assert::assert_contains;
use crate::support::generated::{write_registry, Column, Generated, Row};
use crate::support::objectstack::Oracle;
use crate::support::scratch::{checksum, Scratch};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// A scratch registry of `(id, version, manifest, second)` rows with `{}` metadata.
fn registry(rows: &[(&str, &str, &str, u32)]) -> Scratch {
    let s = Scratch::empty();
    let reg = Generated {
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, (id, version, manifest, second))| Row {
                id: id.to_string(),
                version: version.to_string(),
                manifest: Column::Text(manifest.to_string()),
                metadata: Column::Text("{}".into()),
                second: *second,
                rowid: i as i64 + 1,
            })
            .collect(),
        code: Vec::new(),
    };
    write_registry(&s.db, &reg);
    s
}

/// Runs `refused` (exit 2, the file unchanged, the flags named), then `forced`, and returns
/// what the write really did to the real server's boot.
fn refusal_then_forced(
    s: &Scratch,
    refused: &[&str],
    forced: &[&str],
    flags: &[&str],
    written: &[(&str, &str)],
    gone: &[&str],
) -> RealChange {
    let before = s.dir.path().join("before.db");
    std::fs::copy(&s.db, &before).unwrap();
    let sum = checksum(&s.db);
    let o = s.run(refused);
    assert_eq!(o.status.code(), Some(2), "{refused:?}: {}", stderr(&o));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
    assert_contains(&stderr(&o), flags);
    assert_eq!(
        checksum(&s.db),
        sum,
        "a refused write leaves the file alone"
    );
    let o = s.run(forced);
    assert_eq!(o.status.code(), Some(0), "{forced:?}: {}", stderr(&o));
    let mut oracle = Oracle::start();
    let was = oracle.boot(&before, &[]);
    let now = oracle.boot(&s.db, &[]);
    let written: Vec<(String, String)> = written
        .iter()
        .map(|(i, v)| (i.to_string(), v.to_string()))
        .collect();
    let gone: Vec<String> = gone.iter().map(|g| g.to_string()).collect();
    real_change(&was, &now, &written, !written.is_empty(), &gone, &s.db)
}

#[test]
fn doctor_json_has_the_shape_of_spec_8_3_and_exit_1_on_the_fixture() {
    let s = Scratch::new();
    let o = s.run(&["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let d = json(&o);
    assert_eq!(
        keys(&d),
        [
            "runtime_protocol",
            "loads",
            "steps",
            "aborted",
            "list_failed",
            "served_differs"
        ]
    );
    assert_eq!(d["runtime_protocol"], "17.0.0");
    assert_eq!(
        keys(&d["loads"][0]),
        ["id", "version", "row_id", "row_version"]
    );
    assert_eq!(
        keys(&d["steps"][0]),
        ["row_id", "row_version", "id", "outcome", "rule", "message"]
    );
    assert_eq!(d["steps"].as_array().unwrap().len(), 12, "ties included");
    let skipped: Vec<(&str, &str)> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "skipped")
        .map(|s| {
            (
                s["row_version"].as_str().unwrap(),
                s["rule"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(skipped, [("1.1.0", "R9"), ("2.0.0", "R9"), ("1.1.1", "R9")]);
    assert_eq!(
        d["served_differs"],
        serde_json::json!([{"id": "com.acme.helpdesk", "latest": "1.1.1", "served": "1.0.0"}])
    );
    // 1.0.0 loads while 2.0.0 is the highest: R10, a downgrade.
    let helpdesk = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["row_version"] == "1.0.0" && s["row_id"] == "com.acme.helpdesk")
        .unwrap();
    assert_eq!(
        (helpdesk["outcome"].as_str(), helpdesk["rule"].as_str()),
        (Some("warns"), Some("R10"))
    );
    assert!(d["aborted"].is_null() && d["list_failed"].is_null());

    let human = stdout(&s.run(&["doctor"]));
    assert_contains(
        &human,
        &[
            "list() returns 12 row(s); 9 of 9 package(s) load, 1 not at its latest version",
            "#   ROW                VERSION  OUTCOME  RULE  WHY",
            "com.acme.helpdesk  1.1.0    SKIPPED  R9    not loaded: same-second tie with com.acme.helpdesk 1.0.0",
            "`pkgdeck promote com.acme.helpdesk 1.1.1` makes 1.1.1 the one it serves",
            "not ok: 3 row(s) do not load",
        ],
    );

    // The way out: promote, then doctor is happy.
    let o = s.run(&["promote", "com.acme.helpdesk", "1.1.1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = json(&o);
    assert_eq!(
        keys(&p),
        [
            "id",
            "version",
            "hash",
            "previous_created_at",
            "created_at",
            "trash_file",
            "boot"
        ]
    );
    assert_eq!(
        p["boot"]["changed"],
        serde_json::json!([{"id": "com.acme.helpdesk", "from": "1.0.0", "to": "1.1.1"}])
    );
    assert!(Path::new(p["trash_file"].as_str().unwrap()).is_file());
    let o = s.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_contains(
        &stdout(&o),
        &["ok: every package loads at its latest version"],
    );
    let list = json(&s.run(&["list", "--json"]));
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["served"] == r["version"]));
    let audit = std::fs::read_to_string(s.dir.path().join("data/audit.log")).unwrap();
    assert!(audit.contains("\"action\":\"promote\""), "{audit}");
}

#[test]
fn doctor_shows_where_a_boot_aborts_and_when_nothing_loads() {
    let a = r#"{"id":"a","version":"1.0.0","engines":{"protocol":"^17"}}"#;
    let s = registry(&[
        ("a", "1.0.0", a, 0),
        (
            "b",
            "1.0.0",
            r#"{"id":"b","version":"1.0.0","engines":{"protocol":17}}"#,
            1,
        ),
    ]);
    let o = s.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(1));
    assert_contains(
        &stdout(&o),
        &[
            "BOOT ABORTS at row b 1.0.0 (R2): no later row loads",
            "2  a    1.0.0    SKIPPED  R2    not reached: the boot aborted at row b 1.0.0",
        ],
    );
    let d = json(&s.run(&["doctor", "--json"]));
    assert_eq!(d["aborted"]["row_id"], "b");
    assert_eq!(d["aborted"]["rule"], "R2");

    let s = registry(&[("a", "1.0.0", a, 0), ("b", "1.0.0", "{", 1)]);
    let o = s.run(&["doctor"]);
    assert_eq!(o.status.code(), Some(1));
    assert_contains(
        &stdout(&o),
        &["NOTHING LOADS: row b 1.0.0 does not parse, so list() answers [] and no package loads"],
    );
    let d = json(&s.run(&["doctor", "--json"]));
    assert_eq!(d["list_failed"]["row_id"], "b");
    assert_eq!(d["loads"], serde_json::json!([]));
    assert_eq!(
        d["served_differs"],
        serde_json::json!([{"id": "b", "latest": "1.0.0", "served": null}])
    );

    let s = registry(&[("a", "1.0.0", a, 0)]);
    assert_eq!(s.run(&["doctor"]).status.code(), Some(0));
}

#[test]
fn doctor_takes_the_runtime_and_code_packages_from_flags_and_config() {
    let s = registry(&[
        (
            "crm",
            "1.0.0",
            r#"{"id":"crm","version":"1.0.0","namespace":"crm","engines":{"protocol":"^17"}}"#,
            0,
        ),
        (
            "hr",
            "1.0.0",
            r#"{"id":"hr","version":"1.0.0","engines":{"protocol":"^18"}}"#,
            1,
        ),
    ]);
    let outcomes = |args: &[&str]| -> Vec<(String, String)> {
        let mut all = vec!["doctor", "--json"];
        all.extend(args);
        json(&s.run(&all))["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["row_id"].as_str().unwrap().to_string(),
                    format!(
                        "{} {}",
                        s["outcome"].as_str().unwrap(),
                        s["rule"].as_str().unwrap()
                    ),
                )
            })
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        outcomes(&[]),
        pairs(&[("hr", "refused R4"), ("crm", "loads protocol")])
    );
    assert_eq!(
        outcomes(&["--runtime-protocol", "18.2.0"]),
        pairs(&[("hr", "loads protocol"), ("crm", "refused R4")])
    );
    // A package the server defines in code wins over the row (R8); one that owns the
    // namespace aborts the boot (R3).
    assert_eq!(
        outcomes(&["--code-package", "crm"]),
        pairs(&[("hr", "refused R4"), ("crm", "skipped R8")])
    );
    assert_eq!(
        outcomes(&["--code-package", "core:crm"]),
        pairs(&[("hr", "refused R4"), ("crm", "aborts R3")])
    );
    let cfg = s.dirs().config;
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "[runtime]\nprotocol = \"18.0.0\"\ncode_packages = [\"crm\"]\n",
    )
    .unwrap();
    assert_eq!(
        outcomes(&[]),
        pairs(&[("hr", "loads protocol"), ("crm", "skipped R8")])
    );
    let o = s.run(&["doctor", "--code-package", ":x"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The config's code packages guard writes too: publishing crm is refused (R8).
    let doc = s.file(
        "crm.json",
        r#"{"manifest":{"id":"crm","version":"1.1.0","type":"app","name":"CRM"},"metadata":{}}"#,
    );
    let o = s.run(&["publish", &doc]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_contains(&stderr(&o), &["crm 1.1.0 would not load", "(R8)"]);
    let mut oracle = Oracle::start();
    let code = [CodePackage {
        id: "crm".into(),
        namespace: None,
    }];
    let before = s.dir.path().join("before.db");
    std::fs::copy(&s.db, &before).unwrap();
    let o = s.run(&["publish", &doc, "--allow-boot-change"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let was = oracle.boot(&before, &code);
    let now = oracle.boot(&s.db, &code);
    let written = [("crm".to_string(), "1.1.0".to_string())];
    let real = real_change(&was, &now, &written, true, &[], &s.db);
    assert_eq!(real.not_loaded, written, "the real server skips it too");
}

#[test]
fn publish_delete_and_promote_refuse_what_breaks_the_boot_unless_allowed() {
    // A hotfix published over a higher version: the server would load the lower one.
    let s = registry(&[(
        "hd",
        "2.0.0",
        r#"{"id":"hd","version":"2.0.0","engines":{"protocol":"^17"}}"#,
        0,
    )]);
    let doc = s.file(
        "hotfix.json",
        r#"{"manifest":{"id":"hd","version":"1.0.1","type":"app","name":"HD"},"metadata":{}}"#,
    );
    let real = refusal_then_forced(
        &s,
        &["publish", &doc],
        &["publish", &doc, "--allow-downgrade", "--json"],
        &[
            "the server would load hd 1.0.1 instead of 2.0.0",
            "--allow-downgrade",
        ],
        &[("hd", "1.0.1")],
        &[],
    );
    assert_eq!(real.downgraded, ["hd"]);

    // Deleting the newest version makes a corrupt older row the newest: nothing loads.
    let s = registry(&[
        ("hd", "1.0.0", "{", 0),
        ("hd", "2.0.0", r#"{"id":"hd","version":"2.0.0"}"#, 1),
        ("crm", "1.0.0", r#"{"id":"crm","version":"1.0.0"}"#, 1),
    ]);
    let real = refusal_then_forced(
        &s,
        &["delete", "hd", "2.0.0", "--yes"],
        &["delete", "hd", "2.0.0", "--yes", "--allow-boot-change"],
        &[
            "the server would no longer load crm",
            "(R1)",
            "--allow-boot-change",
        ],
        &[],
        &[],
    );
    assert_eq!(real.lost.len(), 2, "crm and hd");
    // A delete that makes the server load an older version is shown, not refused.
    let s = registry(&[
        ("hd", "2.0.0", r#"{"id":"hd","version":"2.0.0"}"#, 0),
        ("hd", "1.0.1", r#"{"id":"hd","version":"1.0.1"}"#, 1),
    ]);
    let o = s.run(&["delete", "hd", "1.0.1", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_contains(
        &stdout(&o),
        &["the ObjectStack server now loads hd 2.0.0 instead of 1.0.1"],
    );

    // Promoting an older version is a downgrade.
    let s = registry(&[
        ("hd", "1.0.0", r#"{"id":"hd","version":"1.0.0"}"#, 0),
        ("hd", "2.0.0", r#"{"id":"hd","version":"2.0.0"}"#, 1),
    ]);
    let real = refusal_then_forced(
        &s,
        &["promote", "hd", "1.0.0"],
        &["promote", "hd", "1.0.0", "--allow-downgrade"],
        &["--allow-downgrade"],
        &[("hd", "1.0.0")],
        &[],
    );
    assert_eq!(real.downgraded, ["hd"]);
    let o = s.run(&["promote", "hd", "9.9.9"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn publishing_twice_in_one_second_is_refused_as_a_tie() {
    let s = registry(&[]);
    let one = s.file(
        "one.json",
        r#"{"manifest":{"id":"p","version":"1.0.0","type":"app","name":"P"},"metadata":{}}"#,
    );
    let two = s.file(
        "two.json",
        r#"{"manifest":{"id":"p","version":"1.1.0","type":"app","name":"P"},"metadata":{}}"#,
    );
    // Both within one second (a retry when the clock ticked in between).
    for attempt in 0..3 {
        let _ = std::fs::remove_file(&s.db);
        write_registry(&s.db, &Generated::default());
        assert_eq!(s.run(&["publish", &one]).status.code(), Some(0));
        let before = s.dir.path().join("before.db");
        std::fs::copy(&s.db, &before).unwrap();
        let o = s.run(&["publish", &two]);
        if o.status.code() == Some(0) {
            assert!(attempt < 2, "never within one second");
            continue;
        }
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_contains(
            &stderr(&o),
            &[
                "p 1.1.0 would not load: it would share its created_at second with another version of p",
                "--allow-boot-change",
            ],
        );
        let o = s.run(&["publish", &two, "--allow-boot-change"]);
        assert_eq!(o.status.code(), Some(0));
        let tied: i64 = rusqlite::Connection::open(&s.db)
            .unwrap()
            .query_row(
                "SELECT count(DISTINCT created_at) FROM sys_packages",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if tied != 1 {
            continue;
        }
        let mut oracle = Oracle::start();
        let was = oracle.boot(&before, &[]);
        let now = oracle.boot(&s.db, &[]);
        let written = [("p".to_string(), "1.1.0".to_string())];
        let real = real_change(&was, &now, &written, true, &[], &s.db);
        assert_eq!(real.not_loaded, written, "the real server loads 1.0.0");
        return;
    }
    panic!("the two publishes never shared a second");
}
