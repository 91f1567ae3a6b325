//! Terminal injection through every CLI human output (spec 10.1): a registry whose every
//! text field (id, version, manifest, metadata, hash, created_at, updated_at) holds OSC title
//! and clipboard sequences, clear-screen, cursor moves, C1 controls, bidi overrides,
//! invisible format characters, wide characters and 100 KB values, then every command that
//! prints for a person, its error sentences included (a server's SQL error text, the stored
//! hash echoed in a refusal, the parser's "found …"). No byte a terminal would act on may
//! reach stdout or stderr; `--json` stays exact JSON.

use std::path::Path;
use std::process::Output;

use crate::support::assert::{assert_contains, assert_terminal_safe};
use crate::support::scratch::Scratch;

/// Everything a hostile text can throw at a terminal.
const ATTACK: &str = "\u{1b}]0;PWNED\u{7}\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\u{1b}[H\u{1b}[10A\u{1b}[5C\u{9b}2J\u{9d}0;T\u{9c}\u{202e}\u{2066}\u{200b}\u{feff}\r\u{8}中文ｗｉｄｅ😀";

const ID: &str = "com.evil\u{1b}]0;PWNED\u{7}\u{202e}";

fn hostile_registry() -> Scratch {
    let s = Scratch::empty();
    let c = rusqlite::Connection::open(&s.db).expect("create the registry");
    for stmt in pkgdeck::registry::SCHEMA {
        c.execute(stmt, []).expect("the reference service's schema");
    }
    let long = format!("{ATTACK}{}", "x".repeat(100_000));
    let manifest = |version: &str| {
        serde_json::json!({
            "id": ID, "version": version, "type": "app", "name": long,
            ATTACK: ATTACK,
        })
        .to_string()
    };
    let metadata = |label: &str| {
        serde_json::json!({
            "objects": [{"name": format!("obj{ATTACK}"), "label": label}],
            ATTACK: [{"name": ATTACK}],
        })
        .to_string()
    };
    let insert =
        "INSERT INTO sys_packages (id, version, manifest, metadata, hash, created_at, updated_at) \
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    for (version, label) in [("1.0.0", "one"), ("2.0.0", "two")] {
        let version = format!("{version}{ATTACK}");
        c.execute(
            insert,
            rusqlite::params![
                ID,
                version,
                manifest(&version),
                metadata(label),
                ATTACK,
                ATTACK,
                ATTACK
            ],
        )
        .expect("insert a hostile row");
    }
    // A row a valid document can try to overwrite: the refusal echoes its stored hash.
    c.execute(
        insert,
        rusqlite::params![
            "com.plain",
            "1.0.0",
            r#"{"id":"com.plain","version":"1.0.0","type":"app","name":"P"}"#,
            "{}",
            ATTACK,
            ATTACK,
            ATTACK
        ],
    )
    .expect("insert the plain row");
    // The database's own error text is hostile too (a server's SQL error).
    c.execute_batch(&format!(
        "CREATE TRIGGER refuse BEFORE INSERT ON sys_packages WHEN new.id = 'com.trigger' \
         BEGIN SELECT RAISE(ABORT, '{}'); END;",
        ATTACK.replace('\'', "''")
    ))
    .expect("a trigger");
    s
}

fn v(n: &str) -> String {
    format!("{n}{ATTACK}")
}

/// Runs a command whose output is for a person and checks both streams.
fn human(s: &Scratch, args: &[&str], code: i32) -> Output {
    let o = s.run(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_terminal_safe(&format!("stdout of {args:?}"), &o.stdout);
    assert_terminal_safe(&format!("stderr of {args:?}"), &o.stderr);
    o
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn no_cli_human_output_passes_a_control_sequence() {
    let s = hostile_registry();
    let (v1, v2) = (v("1.0.0"), v("2.0.0"));

    let list = text(&human(&s, &["list"], 0).stdout);
    assert_contains(&list, &["com.evil␛]0;PWNED␇�", "…"]);
    assert!(
        list.lines().all(|l| l.chars().count() < 1000),
        "long values are cut in a table"
    );
    human(&s, &["versions", ID], 0);
    let get = text(&human(&s, &["get", ID], 0).stdout);
    // A pretty document prints as real lines, each made safe.
    assert!(get.lines().count() > 10, "{get}");
    assert_contains(
        &get,
        &["created_at: ␛]0;PWNED␇", "\n  \"type\": \"app\",\n"],
    );
    human(&s, &["get", ID, &v1], 0);
    let verify = text(&human(&s, &["verify"], 1).stdout);
    assert_contains(&verify, &["FAIL com.evil", "checked 3 rows"]);
    human(&s, &["verify", ID], 1);
    human(&s, &["verify", ID, &v2], 1);
    let diff = text(&human(&s, &["diff", ID, &v1, &v2], 0).stdout);
    assert_contains(&diff, &["objects:", "~ obj␛]0;PWNED␇"]);

    // Refusals whose sentence quotes stored or typed text.
    human(&s, &["get", &format!("nope{ATTACK}")], 1);
    let over = s.file(
        "over.json",
        r#"{"manifest":{"id":"com.plain","version":"1.0.0","type":"app","name":"Q"},"metadata":{}}"#,
    );
    let refused = text(&human(&s, &["publish", &over], 2).stderr);
    assert_contains(&refused, &["(hash ␛]0;PWNED␇"]);
    let trigger = s.file(
        "trigger.json",
        r#"{"manifest":{"id":"com.trigger","version":"1.0.0","type":"app","name":"T"},"metadata":{}}"#,
    );
    let sql = text(&human(&s, &["publish", &trigger], 3).stderr);
    assert_contains(&sql, &["␛]0;PWNED␇"]);
    let found = s.file("found.json", "{\"manifest\": \u{9b}2J\u{202e}}");
    human(&s, &["publish", &found], 2);
    let found = s.file("found-bidi.json", "{\"manifest\": \u{202e}}");
    human(&s, &["publish", &found], 2);

    // A publish, a delete, the trash, a refused and a forced restore.
    let doc = serde_json::json!({
        "manifest": {"id": format!("com.new{ATTACK}"), "version": "1.0.0", "type": "app", "name": ATTACK},
        "metadata": {"objects": [{"name": ATTACK}]},
    })
    .to_string();
    let doc = s.file("new.json", doc);
    human(&s, &["publish", &doc], 0);
    let deleted = text(&human(&s, &["delete", ID, &v1, "--yes"], 0).stdout);
    let trash_file = deleted
        .lines()
        .find_map(|l| l.strip_prefix("saved to the trash: "))
        .expect("the trash file")
        .to_owned();
    human(&s, &["trash"], 0);
    // Its stored hash does not match its texts: refused, then forced back.
    let refused = text(&human(&s, &["restore", &trash_file], 2).stderr);
    assert_contains(&refused, &["--force"]);
    human(&s, &["restore", &trash_file, "--force"], 0);
    let out = s.dir.path().join("export.json");
    human(
        &s,
        &["export", ID, &v1, "-o", out.to_str().expect("a UTF-8 path")],
        0,
    );
    assert!(Path::new(&out).exists());
}

#[test]
fn json_output_stays_exact() {
    let s = hostile_registry();
    let o = s.run(&["list", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).expect("list is JSON");
    assert!(list
        .as_array()
        .expect("an array")
        .iter()
        .any(|r| r["id"] == ID && r["created_at"] == ATTACK));
    let o = s.run(&["get", ID, &v("1.0.0"), "--json"]);
    let get: serde_json::Value = serde_json::from_slice(&o.stdout).expect("get is JSON");
    assert_eq!(get["id"], ID);
    assert_eq!(get["hash"], ATTACK);
    assert_eq!(get["manifest"][ATTACK], ATTACK);
    let o = s.run(&["verify", "--json"]);
    let verify: serde_json::Value = serde_json::from_slice(&o.stdout).expect("verify is JSON");
    assert_eq!(verify["failed"][0]["id"], ID);
}
