//! The real `pkgdeck` binary on real SQLite files: output shapes, exit codes, and that refused
//! input leaves the file byte-for-byte unchanged.

use std::path::Path;
use std::process::Output;

use pkgdeck::config::Dirs;

use crate::support::assert::assert_contains;
use crate::support::scratch::{
    checksum, pkgdeck, stored_rows, written_audit_lines, Scratch, StoredRow,
};

/// One row as stored, found by id and version.
fn stored_row(db: &Path, id: &str, version: &str) -> StoredRow {
    stored_rows(db)
        .into_iter()
        .find(|r| r.0 == id && r.1 == version)
        .unwrap_or_else(|| panic!("no row {id} {version} in {}", db.display()))
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// The keys of a JSON object in output order (serde_json keeps them with preserve_order).
fn keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn one_sentence(o: &Output) -> String {
    let e = stderr(o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line on stderr: {e:?}");
    e
}

const GOOD: &str = r#"{"manifest":{"id":"com.acme.new","version":"1.0.0","type":"app","name":"New"},"metadata":{"objects":[{"name":"n_obj"}]}}"#;

#[test]
fn list_versions_get_in_the_documented_json_shapes() {
    let s = Scratch::new();
    let o = s.run(&["list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let list = json(&o);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 9);
    assert_eq!(
        keys(&rows[0]),
        [
            "id",
            "version",
            "name",
            "type",
            "hash",
            "created_at",
            "updated_at",
            "versions",
            "served"
        ]
    );
    assert_eq!(rows[0]["id"], "com.acme.helpdesk");
    assert_eq!(rows[0]["version"], "1.1.1");
    assert_eq!(rows[0]["versions"], 4);
    // The fixture's versions share one second: the server's get() answers the first inserted.
    assert_eq!(rows[0]["served"], "1.0.0");
    assert!(
        rows[1..].iter().all(|r| r["served"] == r["version"]),
        "{list}"
    );

    let v = json(&s.run(&["versions", "com.acme.helpdesk", "--json"]));
    let order: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["1.1.1", "2.0.0", "1.1.0", "1.0.0"]);
    assert_eq!(
        keys(&v[0]),
        [
            "id",
            "version",
            "hash",
            "created_at",
            "updated_at",
            "latest",
            "served"
        ]
    );
    assert_eq!(
        (v[0]["latest"].as_bool(), v[1]["latest"].as_bool()),
        (Some(true), Some(false))
    );
    let served: Vec<bool> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["served"].as_bool().unwrap())
        .collect();
    assert_eq!(served, [false, false, false, true], "1.0.0 is served");

    let g = s.run(&["get", "keys", "--json"]);
    assert_eq!(g.status.code(), Some(0));
    let text = stdout(&g);
    let rec = json(&g);
    assert_eq!(
        keys(&rec),
        [
            "id",
            "version",
            "manifest",
            "metadata",
            "hash",
            "created_at",
            "updated_at"
        ]
    );
    // The manifest is embedded in stored key order, integer-like keys first, as stored.
    assert_contains(&text, &[r#""manifest":{"2":"two","10":"ten","id":"keys""#]);
    let latest = json(&s.run(&["get", "com.acme.helpdesk", "--json"]));
    assert_eq!(latest["version"], "1.1.1");
    let exact = json(&s.run(&["get", "com.acme.helpdesk", "1.0.0", "--json"]));
    assert_eq!(exact["version"], "1.0.0");

    let human = stdout(&s.run(&["list"]));
    assert!(human.starts_with("ID"));
    assert!(
        human.lines().next().unwrap().contains("VERSION  SERVED"),
        "{human}"
    );
    assert_eq!(
        human.lines().count(),
        11,
        "9 packages and one note: {human}"
    );
    assert_contains(
        &human,
        &["the ObjectStack server serves com.acme.helpdesk 1.0.0, not 1.1.1: both were published in the same second"],
    );
    let human = stdout(&s.run(&["versions", "com.acme.helpdesk"]));
    assert_contains(
        &human,
        &[
            "1.1.1    latest ",
            "2.0.0    highest",
            "1.0.0    served ",
            "`pkgdeck promote com.acme.helpdesk 1.1.1` makes 1.1.1 the one it serves",
        ],
    );
}

#[test]
fn negative_answers_exit_1() {
    let s = Scratch::new();
    for args in [
        &["get", "nope"][..],
        &["get", "com.acme.helpdesk", "9.9.9"],
        &["versions", "nope"],
        &["verify", "nope"],
    ] {
        let o = s.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(one_sentence(&o).contains("nope") || stderr(&o).contains("9.9.9"));
    }
}

#[test]
fn publish_then_same_hash_is_a_no_op_and_overwrite_needs_the_flag() {
    let s = Scratch::new();
    let f = s.file("new.json", GOOD);
    let o = s.run(&["publish", &f, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = json(&o);
    assert_eq!(keys(&p), ["id", "version", "hash", "replaced", "boot"]);
    assert!(p["replaced"].is_null());
    assert_eq!(keys(&p["boot"]), ["before", "after", "lost", "changed"]);
    assert_eq!(p["boot"]["lost"], serde_json::json!([]));
    assert_eq!(
        p["boot"]["after"].as_array().unwrap().len(),
        p["boot"]["before"].as_array().unwrap().len() + 1,
        "the new package loads too: {p}"
    );
    let sum = checksum(&s.db);
    let again = s.run(&["publish", &f, "--json"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(json(&again)["hash"], p["hash"]);
    assert_eq!(checksum(&s.db), sum, "a same-hash publish writes nothing");

    let changed = s.file("changed.json", GOOD.replace("n_obj", "other"));
    let refused = s.run(&["publish", &changed]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(one_sentence(&refused).contains("--allow-overwrite"));
    assert_eq!(checksum(&s.db), sum);

    let over = s.run(&["publish", &changed, "--allow-overwrite", "--json"]);
    assert_eq!(over.status.code(), Some(0), "{}", stderr(&over));
    let o = json(&over);
    assert_eq!(keys(&o["replaced"]), ["hash", "created_at", "updated_at"]);
    assert_eq!(o["replaced"]["hash"], p["hash"]);
    // The old row is in the trash and the overwrite is audited.
    let trash: Vec<_> = std::fs::read_dir(s.dir.path().join("data/trash"))
        .unwrap()
        .collect();
    assert_eq!(trash.len(), 1);
    let audit = written_audit_lines(&s.dir.path().join("data/audit.log"));
    let actions: Vec<&str> = audit
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["publish", "overwrite"]);

    let stdin = s.run_stdin(
        &["publish", "-", "--json", "--allow-boot-change"],
        &GOOD.replace("1.0.0", "1.0.1"),
    );
    assert_eq!(stdin.status.code(), Some(0), "{}", stderr(&stdin));
    assert_eq!(json(&stdin)["version"], "1.0.1");
}

#[test]
fn refused_input_exits_2_and_leaves_the_file_unchanged() {
    let s = Scratch::new();
    let sum = checksum(&s.db);
    let cases = [
        ("bad-version.json", GOOD.replace("1.0.0", "1.0"), "$.manifest.version"),
        ("malformed.json", "{\"manifest\": {\"id\": \"x\"\n  \"version\": 1}".to_owned(), "line 2, column 3"),
        (
            "section.json",
            GOOD.replace(r#""objects":[{"name":"n_obj"}]"#, r#""objects":{"name":"n_obj"}"#),
            "$.metadata.objects",
        ),
        (
            "overwrite.json",
            r#"{"manifest":{"id":"com.acme.crm","version":"1.2.0","type":"app","name":"CRM!"},"metadata":{}}"#.to_owned(),
            "--allow-overwrite",
        ),
        ("surrogate.json", GOOD.replace("New", "\\ud800"), "surrogate"),
    ];
    for (name, text, expect) in cases {
        let f = s.file(name, &text);
        let o = s.run(&["publish", &f]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let e = one_sentence(&o);
        assert!(e.contains(expect), "{name}: {e}");
        assert!(
            e.contains(name) || expect == "--allow-overwrite",
            "names the file: {e}"
        );
        assert_eq!(checksum(&s.db), sum, "{name} changed the file");
    }
    let missing = s.run(&["publish", "/nonexistent/doc.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(one_sentence(&missing).contains("/nonexistent/doc.json"));
    let no_yes = s.run(&["delete", "com.acme.crm"]);
    assert_eq!(no_yes.status.code(), Some(2));
    assert!(one_sentence(&no_yes).contains("--yes"));
    let ro = s.run(&["--read-only", "delete", "com.acme.crm", "--yes"]);
    assert_eq!(ro.status.code(), Some(2));
    assert!(one_sentence(&ro).contains("read-only"));
    let f = s.file("ok.json", GOOD);
    let ro = s.run(&["--read-only", "publish", &f]);
    assert_eq!(ro.status.code(), Some(2));
    assert_eq!(checksum(&s.db), sum);
    // The refused overwrite was attempted (its intent and "not_written" outcome are logged);
    // nothing was written.
    assert!(written_audit_lines(&s.dir.path().join("data/audit.log")).is_empty());
}

#[test]
fn a_file_that_is_not_sqlite_exits_3_naming_it() {
    let s = Scratch::new();
    let path = s.file("notes.db", "this is not a database\n".repeat(300));
    let before = checksum(Path::new(&path));
    let o = s.pkgdeck().args(["--db", &path, "list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = one_sentence(&o);
    assert!(
        e.contains(&path) && e.contains("not an SQLite database"),
        "{e}"
    );
    assert_eq!(checksum(Path::new(&path)), before);
    let o = s
        .pkgdeck()
        .args(["--db", "/nonexistent-dir/x.db", "list"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(one_sentence(&o).contains("/nonexistent-dir"));
}

#[test]
fn verify_names_each_bad_row_and_exits_1() {
    let s = Scratch::new();
    let c = rusqlite::Connection::open(&s.db).unwrap();
    c.execute_batch(
        "UPDATE sys_packages SET metadata = '{\"objects\":[]}' WHERE id = 'com.acme.crm';
         UPDATE sys_packages SET manifest = 'not json' WHERE id = 'dup';
         UPDATE sys_packages SET version = '9.0.0' WHERE id = 'sp';",
    )
    .unwrap();
    drop(c);
    let o = s.run(&["verify", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(keys(&v), ["checked", "ok", "failed", "warnings"]);
    assert_eq!(
        (v["checked"].as_u64(), v["ok"].as_u64()),
        (Some(12), Some(9))
    );
    let failed: Vec<(String, String, Vec<String>)> = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(keys(f), ["id", "version", "problems"]);
            (
                f["id"].as_str().unwrap().to_owned(),
                f["version"].as_str().unwrap().to_owned(),
                f["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert!(failed.contains(&(
        "com.acme.crm".into(),
        "1.2.0".into(),
        vec!["hash_mismatch".into()]
    )));
    assert!(failed.contains(&(
        "dup".into(),
        "1.0.0".into(),
        vec!["hash_mismatch".into(), "manifest_invalid_json".into()]
    )));
    assert!(failed.contains(&(
        "sp".into(),
        "9.0.0".into(),
        vec!["identity_mismatch".into()]
    )));
    let human = s.run(&["verify"]);
    assert_eq!(human.status.code(), Some(1));
    let text = stdout(&human);
    assert_contains(
        &text,
        &[
            "FAIL com.acme.crm 1.2.0: hash_mismatch",
            "FAIL sp 9.0.0: identity_mismatch",
        ],
    );
    // list still works, with the unreadable name as null.
    let l = json(&s.run(&["list", "--json"]));
    let dup = l
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "dup")
        .unwrap();
    assert!(dup["name"].is_null() && dup["type"].is_null());
    assert_eq!(
        s.run(&["verify", "com.acme.helpdesk"]).status.code(),
        Some(0)
    );
}

#[test]
fn export_diff_delete_restore() {
    let s = Scratch::new();
    let out = s.dir.path().join("export.json");
    let o = s.run(&[
        "export",
        "com.acme.helpdesk",
        "1.1.0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let exported = std::fs::read_to_string(&out).unwrap();
    assert!(exported.starts_with(r#"{"manifest":{"id":"com.acme.helpdesk","version":"1.1.0""#));

    let d = s.run(&["diff", "com.acme.helpdesk", "1.1.0", "1.1.1"]);
    assert_eq!(d.status.code(), Some(0));
    assert!(stdout(&d).contains("com.acme.helpdesk 1.1.0 → 1.1.1"));
    let dj = json(&s.run(&["diff", "com.acme.helpdesk", "1.1.0", "1.1.1", "--json"]));
    assert_eq!(keys(&dj), ["id", "from", "to", "manifest", "sections"]);

    let before = stored_row(&s.db, "com.acme.helpdesk", "1.1.0");
    let del = s.run(&["delete", "com.acme.helpdesk", "1.1.0", "--yes"]);
    assert_eq!(del.status.code(), Some(0), "{}", stderr(&del));
    let text = stdout(&del);
    let trash_file = text
        .lines()
        .find_map(|l| l.strip_prefix("saved to the trash: "))
        .unwrap()
        .to_owned();
    assert_eq!(
        s.run(&["get", "com.acme.helpdesk", "1.1.0"]).status.code(),
        Some(1)
    );
    let r = s.run(&["restore", &trash_file]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let after = stored_row(&s.db, "com.acme.helpdesk", "1.1.0");
    assert_eq!(before, after);
    let t = json(&s.run(&["trash", "--json"]));
    assert_eq!(t.as_array().unwrap().len(), 1);
    let bad = s.file("bad-trash.json", "{}");
    let o = s.run(&["restore", &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_sentence(&o).contains("bad-trash.json"));
    let lines = written_audit_lines(&s.dir.path().join("data/audit.log"));
    assert_eq!(lines.len(), 2);
    assert_eq!(
        keys(&lines[0]),
        [
            "time", "user", "target", "action", "id", "version", "old_hash", "new_hash", "op",
            "phase", "outcome"
        ]
    );
    // A local target is recorded by its absolute path.
    assert_eq!(lines[0]["target"], s.db.display().to_string());
    assert_eq!(lines[0]["action"], "delete");
    assert_eq!(lines[1]["action"], "restore");
}

#[test]
fn no_target_uses_the_registry_in_the_data_dir() {
    let s = Scratch::empty();
    let dirs = s.dirs();
    let run = |args: &[&str]| s.pkgdeck().args(args).output().unwrap();
    // A read creates nothing: not the registry, not the data dir.
    let o = run(&["list", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let registry = dirs.data.join("registry.db");
    assert_contains(
        &one_sentence(&o),
        &[&format!("no registry at {}", registry.display())],
    );
    assert!(!dirs.data.exists());
    // The first write creates both.
    let f = s.file("d.json", GOOD);
    assert_eq!(run(&["publish", &f]).status.code(), Some(0));
    assert_eq!(json(&run(&["list", "--json"])).as_array().unwrap().len(), 1);
    // file: prefix and PKGDECK_DB name the same kind of target.
    let elsewhere = Dirs {
        data: s.dir.path().join("other"),
        config: dirs.config.clone(),
    };
    let o = pkgdeck(&elsewhere)
        .args(["list", "--json"])
        .env("PKGDECK_DB", format!("file:{}", registry.display()))
        .output()
        .unwrap();
    assert_eq!(json(&o).as_array().unwrap().len(), 1);
    // A saved connection by name.
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(
        dirs.config.join("config.toml"),
        format!("[connections.main]\ntarget = \"{}\"\n", registry.display()),
    )
    .unwrap();
    let o = run(&["-c", "main", "list", "--json"]);
    assert_eq!(json(&o).as_array().unwrap().len(), 1);
    let o = run(&["-c", "nope", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_sentence(&o).contains("nope"));
}

#[test]
fn help_works_as_a_subcommand_and_hides_the_target_from_the_environment() {
    let s = Scratch::new();
    let secret = "SECRETpw9";
    let run = |args: &[&str]| {
        s.pkgdeck()
            .args(args)
            .env(
                "PKGDECK_DB",
                format!("http://user:{secret}@db.example?AuthToken={secret}"),
            )
            .output()
            .unwrap()
    };
    for args in [
        &["--help"][..],
        &["help"],
        &["help", "--help"],
        &["help", "publish"],
        &["publish", "--help"],
        &["list", "-h"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("Usage: pkgdeck"), "{args:?}: {text}");
        assert!(!text.contains(secret), "{args:?} shows the token: {text}");
    }
    assert_contains(
        &stdout(&run(&["help", "publish"])),
        &["--allow-overwrite", "<FILE>"],
    );
    assert_contains(&stdout(&run(&["help", "--help"])), &["[COMMAND]..."]);
}

#[test]
fn completions_are_scripts_for_bash_zsh_and_fish() {
    let s = Scratch::empty();
    for (shell, marker) in [
        ("bash", "complete -F _pkgdeck"),
        ("zsh", "#compdef pkgdeck"),
        ("fish", "complete -c pkgdeck"),
    ] {
        let o = s.pkgdeck().args(["completions", shell]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert_contains(&script, &[marker, "publish", "restore", "completions"]);
    }
    // The bash script is valid bash, and completes the commands.
    let bash = s.file(
        "completion.bash",
        stdout(&s.pkgdeck().args(["completions", "bash"]).output().unwrap()),
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {bash} && COMP_WORDS=(pkgdeck re) COMP_CWORD=1 && _pkgdeck pkgdeck re pkgdeck && echo \"${{COMPREPLY[@]}}\""
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_contains(&stdout(&o), &["restore"]);
    // Nothing was opened or created.
    assert!(!s.db.exists() && !s.dirs().data.exists());
}

#[test]
fn trash_labels_its_columns_and_counts_read_right() {
    let s = Scratch::new();
    let del = s.run(&["delete", "com.acme.helpdesk", "--yes"]);
    assert_eq!(del.status.code(), Some(0), "{}", stderr(&del));
    let one = s.run(&["delete", "com.acme.crm", "1.2.0", "--yes"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let table = stdout(&s.run(&["trash"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header = lines[0];
    let columns = [
        "SAVED",
        "ACTION",
        "STATE",
        "ROWS",
        "PACKAGE VERSIONS",
        "FROM",
        "FILE",
    ];
    let at: Vec<usize> = columns
        .iter()
        .map(|c| header.find(c).unwrap_or_else(|| panic!("{c} in {header}")))
        .collect();
    // Each value starts under its own label (newest first: the one-version delete).
    let cell = |line: &str, i: usize| -> String {
        let end = at.get(i + 1).copied().unwrap_or(line.len());
        line[at[i]..end].trim().to_owned()
    };
    assert_eq!(cell(lines[1], 1), "delete");
    assert_eq!(cell(lines[1], 2), "completed");
    assert_eq!(cell(lines[1], 3), "1");
    assert_eq!(cell(lines[1], 4), "com.acme.crm 1.2.0");
    assert_eq!(cell(lines[1], 5), s.db.display().to_string());
    assert!(cell(lines[1], 6).ends_with("-delete-com.acme.crm-1.2.0.json"));
    assert_eq!(cell(lines[2], 3), "4");
    assert!(cell(lines[2], 4).starts_with("com.acme.helpdesk 1.1.1, com.acme.helpdesk 2.0.0"));
    let json = json(&s.run(&["trash", "--json"]));
    assert_eq!(
        keys(&json[0]),
        ["file", "saved_at", "state", "action", "target", "rows"]
    );
    assert_eq!(keys(&json[0]["rows"][0]), ["id", "version", "hash"]);

    let v = stdout(&s.run(&["verify", "keys"]));
    assert_eq!(v, "checked 1 row: 1 ok, 0 failed, 0 with warnings\n");
    let all = stdout(&s.run(&["verify"]));
    assert!(
        all.ends_with("checked 7 rows: 7 ok, 0 failed, 0 with warnings\n"),
        "{all}"
    );
}

/// Ctrl-C ends a CLI command with exit 130: at once while it waits for input, and only after
/// the write it is in the middle of, so that an interrupted write leaves nothing half done
/// and nothing for the next run to resolve.
#[test]
fn ctrl_c_exits_130_and_never_leaves_a_write_half_done() {
    use std::process::Stdio;
    let s = Scratch::new();
    let sum = checksum(&s.db);
    let sigint = |child: &std::process::Child| {
        // SAFETY: kill with a valid pid and signal has no memory-safety preconditions.
        let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
    };
    // Waiting for a document on standard input.
    let mut child = s
        .pkgdeck()
        .arg("--db")
        .arg(&s.db)
        .args(["publish", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input stays open until pkgdeck is gone: it must end on the signal, not on EOF.
    let input = child.stdin.take();
    std::thread::sleep(std::time::Duration::from_millis(300));
    sigint(&child);
    let o = child.wait_with_output().unwrap();
    drop(input);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert_eq!(checksum(&s.db), sum);

    // Interrupted at random moments of deletes and restores: every run ends with 130 or 0
    // (or dies before it could even watch for the signal), and none leaves a marker or a
    // pending trash file behind.
    let pending = s.dirs().data.join("trash.pending");
    // The moment of the signal adapts to the machine: a run that ended before the signal
    // (exit 0) moves it earlier, one that died before its handler was in place moves it
    // later, so that a slow or a fast machine both see enough runs interrupted mid-way.
    let mut rng = pkgdeck_rng::Rng::new(0x1c);
    let mut interrupted = 0;
    let mut trash_file: Option<String> = None;
    let mut delay_us: u64 = 5_000;
    let mut round = 0;
    while interrupted < 10 && round < 300 {
        round += 1;
        let args: Vec<String> = match &trash_file {
            None => ["delete", "com.acme.crm", "1.2.0", "--yes"]
                .map(String::from)
                .to_vec(),
            Some(file) => vec!["restore".into(), file.clone()],
        };
        let child = s
            .pkgdeck()
            .arg("--db")
            .arg(&s.db)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let jitter = delay_us / 2 + rng.below(delay_us.max(2));
        std::thread::sleep(std::time::Duration::from_micros(jitter));
        sigint(&child);
        let o = child.wait_with_output().unwrap();
        let code = o.status.code();
        assert!(
            matches!(code, Some(0) | Some(130) | None),
            "round {round}: {code:?} {}",
            stderr(&o)
        );
        interrupted += usize::from(code == Some(130));
        delay_us = match code {
            Some(0) => (delay_us * 7 / 10).max(200),
            None => (delay_us * 13 / 10).min(200_000),
            _ => delay_us,
        };
        let markers: Vec<_> = std::fs::read_dir(&pending)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(markers.is_empty(), "round {round}: {markers:?}");
        let present = stored_rows(&s.db)
            .iter()
            .any(|r| r.0 == "com.acme.crm" && r.1 == "1.2.0");
        let entries = pkgdeck::registry::trash::Trash::new(s.dirs().trash()).entries();
        assert!(entries
            .iter()
            .all(|e| e.file.state == pkgdeck::registry::trash::TrashState::Completed));
        trash_file = if present {
            None
        } else {
            Some(entries[0].path.display().to_string())
        };
    }
    assert!(interrupted >= 10, "only {interrupted} runs saw the signal");
}

/// A write the database refuses leaves no trash file claiming it happened, and its audit
/// outcome says it failed; the audit names a relative target by its absolute path and the
/// OS account when `$USER` is unset.
#[test]
fn a_failed_write_leaves_no_trash_file_and_the_audit_says_so() {
    let s = Scratch::new();
    let c = rusqlite::Connection::open(&s.db).unwrap();
    c.execute_batch(
        "CREATE TRIGGER no_delete BEFORE DELETE ON sys_packages \
         BEGIN SELECT RAISE(ABORT, 'deletes are frozen'); END; \
         CREATE TRIGGER no_update BEFORE UPDATE ON sys_packages \
         BEGIN SELECT RAISE(ABORT, 'updates are frozen'); END;",
    )
    .unwrap();
    drop(c);
    let sum = checksum(&s.db);
    let account = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let run = |args: &[&str]| {
        s.pkgdeck()
            .current_dir(s.dir.path())
            .args(["--db", "registry.db"])
            .args(args)
            .env_remove("USER")
            .env_remove("LOGNAME")
            .output()
            .unwrap()
    };
    let o = run(&["delete", "com.acme.helpdesk", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_contains(&one_sentence(&o), &["deletes are frozen"]);
    let changed = s.file(
        "changed.json",
        r#"{"manifest":{"id":"com.acme.crm","version":"1.2.0","type":"app","name":"Changed"},"metadata":{}}"#,
    );
    let o = run(&["publish", &changed, "--allow-overwrite"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_contains(&one_sentence(&o), &["updates are frozen"]);
    assert_eq!(checksum(&s.db), sum);
    let trash: Vec<_> = std::fs::read_dir(s.dirs().trash())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(trash.is_empty(), "{trash:?}");
    let audit = std::fs::read_to_string(s.dirs().audit_log()).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["outcome"] == "failed").collect();
    // Four versions of the delete, and the overwrite.
    assert_eq!(failed.len(), 5, "{audit}");
    assert!(failed.iter().all(|l| l["reason"]
        .as_str()
        .is_some_and(|r| r.contains("are frozen"))));
    for l in &lines {
        assert_eq!(l["target"], s.db.display().to_string(), "absolute: {l}");
        assert_eq!(l["user"], account.as_str(), "{l}");
    }
    assert!(written_audit_lines(&s.dirs().audit_log()).is_empty());
}
