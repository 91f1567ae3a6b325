//! The ObjectStack schemas where the operator meets them (spec 9): `check` on the samples and
//! on a document with a misspelt view key, the warning on `publish` and the refusal of
//! `--strict` (the registry byte-identical), `check --json`'s shape, `verify --schema` on a
//! registry holding a schema-invalid row, and the warning in the console's editor (tmux).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::assert::assert_contains;
use crate::support::repo_root;
use crate::support::scratch::{checksum, stored_rows, written_audit_lines, Scratch};
use crate::support::tmux::Tmux;

/// The first view's list columns of the helpdesk sample, as the sample spells them.
const COLUMNS: &str = "\"columns\": [\"subject\", \"status\", \"priority\", \"queue\"";

/// The two problems the misspelt key makes, as `path: message`.
const MISSPELT_PROBLEMS: [&str; 2] = [
    "$.metadata.views[0].list.columns: is missing",
    "$.metadata.views[0].list.colums: unknown key (did you mean \"columns\"?)",
];

fn samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("assets"))
        .expect("read assets/")
        .map(|e| e.expect("read assets/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    files
}

/// The helpdesk sample at `version` with its first view's `columns` misspelt `colums`:
/// valid JSON that passes every manifest rule.
fn misspelt(version: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("assets/helpdesk.json"))
        .expect("read assets/helpdesk.json");
    assert!(text.contains(COLUMNS), "the sample still has {COLUMNS}");
    text.replacen(COLUMNS, &COLUMNS.replace("columns", "colums"), 1)
        .replacen(
            "\"version\": \"1.0.0\"",
            &format!("\"version\": \"{version}\""),
            1,
        )
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Each line of `--json` output, parsed.
fn json_lines(o: &Output) -> Vec<Value> {
    out(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// `path: message` of each problem in a `check --json` list.
fn problems(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list of problems")
        .iter()
        .map(|p| {
            assert_eq!(keys(p), ["path", "message"]);
            format!(
                "{}: {}",
                p["path"].as_str().expect("a path"),
                p["message"].as_str().expect("a message")
            )
        })
        .collect()
}

fn registry_file_in(data: &Path) -> PathBuf {
    data.join("registry.db")
}

#[test]
fn check_passes_every_sample_without_a_registry() {
    let s = Scratch::empty();
    let files: Vec<String> = samples().iter().map(|p| p.display().to_string()).collect();
    let args: Vec<&str> = std::iter::once("check")
        .chain(files.iter().map(String::as_str))
        .collect();
    // No --db: nothing is opened, and the default registry is neither needed nor created.
    let o = s.pkgdeck().args(&args).output().expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert_eq!(
        text.lines().count(),
        6,
        "one line per sample, no problems:\n{text}"
    );
    for (line, file) in text.lines().zip(&files) {
        assert!(line.starts_with(&format!("{file}: ok: ")), "{line}");
    }
    assert_eq!(err(&o), "");

    let mut json_args = args.clone();
    json_args.insert(1, "--json");
    json_args.insert(2, "--strict");
    let o = s.pkgdeck().args(&json_args).output().expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 6);
    for r in &reports {
        assert_eq!(
            r,
            &serde_json::json!({"ok": true, "errors": [], "warnings": [], "boot": null})
        );
    }
    assert!(
        !registry_file_in(&s.dirs().data).exists() && !s.db.exists(),
        "check created a registry"
    );
}

#[test]
fn a_misspelt_view_key_is_warned_at_its_path_and_refused_with_strict() {
    let s = Scratch::new();
    let doc = s.file("hotfix.json", misspelt("1.2.0"));

    // check: a warning with its path, and the document can be published.
    let o = s
        .pkgdeck()
        .args(["check", &doc])
        .output()
        .expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert_contains(
        &text,
        &[
            &format!("{doc}: ok with 2 ObjectStack schema warnings: com.acme.helpdesk 1.2.0"),
            &format!("  warning {}\n", MISSPELT_PROBLEMS[0]),
            &format!("  warning {}\n", MISSPELT_PROBLEMS[1]),
        ],
    );
    // check --strict: the same problems, now errors.
    let o = s
        .pkgdeck()
        .args(["check", "--strict", &doc])
        .output()
        .expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(2));
    assert_contains(
        &out(&o),
        &[
            &format!("{doc}: refused: 2 errors\n"),
            &format!("  error   {}\n", MISSPELT_PROBLEMS[1]),
        ],
    );

    // publish --strict: refused before the registry is opened; nothing written anywhere.
    let before = checksum(&s.db);
    let o = s.run(&["publish", "--strict", &doc]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let sentence = err(&o);
    assert_eq!(sentence.lines().count(), 1, "one sentence: {sentence}");
    assert_contains(
        &sentence,
        &[
            &format!("{doc} does not pass the ObjectStack 17.4.0 schemas (refused with --strict)"),
            MISSPELT_PROBLEMS[0],
            MISSPELT_PROBLEMS[1],
        ],
    );
    assert_eq!(out(&o), "");
    assert_eq!(checksum(&s.db), before, "the registry is byte-identical");
    assert!(written_audit_lines(&s.dirs().data.join("audit.log")).is_empty());

    // publish: written, with one warning line per problem on stderr; --json keeps spec 4's
    // keys (with `boot`, spec 8.4).
    let o = s.run(&["publish", "--json", &doc]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let published = json_lines(&o);
    assert_eq!(
        keys(&published[0]),
        ["id", "version", "hash", "replaced", "boot"]
    );
    assert_eq!(
        err(&o),
        MISSPELT_PROBLEMS
            .iter()
            .map(|p| format!("pkgdeck: warning: {doc}: {p}\n"))
            .collect::<String>()
    );
    assert!(stored_rows(&s.db)
        .iter()
        .any(|r| r.0 == "com.acme.helpdesk" && r.1 == "1.2.0" && r.3.contains("\"colums\"")));

    // A publish refused for another reason is one sentence, as every refusal is.
    let changed = misspelt("1.2.0").replacen(
        "\"colums\": [\"subject\", \"status\"",
        "\"colums\": [\"status\", \"subject\"",
        1,
    );
    let o = s.run(&["publish", &s.file("changed.json", changed)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err(&o).lines().count(), 1, "{}", err(&o));
    assert_contains(&err(&o), &["already exists"]);

    // The human publish says the same on stderr, and its stdout is the usual report.
    // (Published within the second of 1.2.0: the tie guard is not what this test is about.)
    let next = s.file("next.json", misspelt("1.2.1"));
    let o = s.run(&["publish", &next, "--allow-boot-change"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_contains(&out(&o), &["com.acme.helpdesk 1.2.1 ", ": published\n"]);
    assert_eq!(err(&o).lines().count(), 2, "{}", err(&o));
    assert_contains(&err(&o), &[MISSPELT_PROBLEMS[1]]);
}

#[test]
fn check_json_has_the_spec_shape_and_says_each_problem_once() {
    let s = Scratch::empty();
    let doc = s.file(
        "bad.json",
        r#"{"manifest":{"id":"com.acme.x","version":"1.0","type":"app","name":"X","author":"me"},
            "metadata":{"views":[{"name":"v","object":"o","list":{"type":"grid","colums":["a"]}}]}}"#,
    );
    let o = s
        .pkgdeck()
        .args(["check", "--json", &doc])
        .output()
        .expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let reports = json_lines(&o);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(keys(r), ["ok", "errors", "warnings", "boot"]);
    assert_eq!(r["ok"], false);
    assert_eq!(r["boot"], Value::Null);
    // The manifest rule is the error; the schema's complaint about the same version is not
    // repeated as a warning; the schema's other problems are.
    assert_eq!(
        problems(&r["errors"]),
        ["$.manifest.version: \"1.0\" is not a version of the form MAJOR.MINOR.PATCH (like 1.2.3)"]
    );
    assert_eq!(
        problems(&r["warnings"]),
        [
            "$.manifest.author: unknown key",
            "$.metadata.views[0].list.columns: is missing",
            "$.metadata.views[0].list.colums: unknown key (did you mean \"columns\"?)",
        ]
    );

    // Invalid JSON is one error at the root, with its line and column; stdin works as a file.
    let o = s.run_stdin(&["check", "--json", "-"], "{\n  \"manifest\": {,\n}");
    assert_eq!(o.status.code(), Some(2));
    let r = &json_lines(&o)[0];
    let errors = problems(&r["errors"]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("$: invalid JSON at line 2, column 16: "),
        "{errors:?}"
    );
    assert_eq!(r["warnings"], serde_json::json!([]));

    // A target that holds no registry: reads never create, exit 3, nothing made. A refused
    // document alone has no boot effect to compute, so it opens nothing.
    let good = repo_root().join("assets/crm.json").display().to_string();
    let o = s.run(&["check", &good]);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert_contains(&err(&o), &["no registry at"]);
    let o = s.run(&["check", &doc]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(!s.db.exists());

    // A file that cannot be read refuses the whole command before anything is printed.
    let o = s
        .pkgdeck()
        .args([
            "check",
            &doc,
            &s.dir.path().join("missing.json").display().to_string(),
        ])
        .output()
        .expect("run pkgdeck");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(out(&o), "");
    assert_contains(&err(&o), &["missing.json"]);
}

#[test]
fn verify_schema_warns_about_the_schema_invalid_row_and_plain_verify_does_not() {
    let s = Scratch::empty();
    for sample in samples() {
        let o = s.run(&["publish", &sample.display().to_string()]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert_eq!(err(&o), "", "the samples publish without warnings");
    }
    // (Within the second of 1.0.0: the tie guard is not what this test is about.)
    let hotfix = s.file("hotfix.json", misspelt("1.0.1"));
    let o = s.run(&["publish", &hotfix, "--allow-boot-change"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    let plain = s.run(&["verify", "--json"]);
    assert_eq!(plain.status.code(), Some(0));
    assert_eq!(
        json_lines(&plain)[0],
        serde_json::json!({"checked": 7, "ok": 7, "failed": [], "warnings": []})
    );

    let schema = s.run(&["verify", "--schema", "--json"]);
    assert_eq!(schema.status.code(), Some(0), "a warning is not a failure");
    assert_eq!(
        json_lines(&schema)[0],
        serde_json::json!({"checked": 7, "ok": 7, "failed": [], "warnings": [
            {"id": "com.acme.helpdesk", "version": "1.0.1", "codes": ["schema_invalid"]}
        ]})
    );

    let human = s.run(&["verify", "--schema"]);
    assert_eq!(human.status.code(), Some(0));
    assert_eq!(
        out(&human),
        format!(
            "WARN com.acme.helpdesk 1.0.1: schema_invalid: {}\n\
             WARN com.acme.helpdesk 1.0.1: schema_invalid: {}\n\
             checked 7 rows: 7 ok, 0 failed, 1 with warnings\n",
            MISSPELT_PROBLEMS[0], MISSPELT_PROBLEMS[1]
        )
    );
    // One version, too.
    let one = s.run(&["verify", "com.acme.helpdesk", "1.0.0", "--schema", "--json"]);
    assert_eq!(json_lines(&one)[0]["warnings"], serde_json::json!([]));
}

#[test]
fn the_editor_warns_live_at_the_path_and_the_review_repeats_it() {
    let scratch = Scratch::new();
    let file = scratch.file("hotfix.json", misspelt("1.2.0"));
    let t = Tmux::console(&scratch);
    t.wait_for("com.acme.crm");

    t.keys(&["p"]);
    t.wait_for("Publish from a file");
    t.type_text(&file);
    t.keys(&["Enter"]);
    let editor = t.wait_for("ObjectStack schema warnings");
    assert_contains(
        &editor,
        &[
            "✓ valid · ⚠ 2 ObjectStack schema warnings",
            "com.acme.helpdesk 1.2.0 · new hash",
            &format!("▲ {}", MISSPELT_PROBLEMS[0]),
            &format!("▲ {}", MISSPELT_PROBLEMS[1]),
        ],
    );

    // Live: a misspelt manifest key typed on line 3 is warned about as it is typed…
    t.keys(&["Down", "End", "Enter"]);
    t.type_text("\"defaultDatasorce\": \"default\",");
    let editor = t.wait_for("3 ObjectStack schema warnings");
    assert_contains(
        &editor,
        &["▲ $.manifest.defaultDatasorce: unknown key (did you mean \"defaultDatasource\"?)"],
    );
    // …and goes once it is fixed: `u` after `Datasor`, 16 characters back.
    for _ in 0..16 {
        t.keys(&["Left"]);
    }
    t.type_text("u");
    t.wait_until("the typo fixed", |s| {
        s.contains("2 ObjectStack schema warnings") && !s.contains("defaultDatasorce")
    });

    // The review lists the warnings; a warning does not stop the publish.
    t.keys(&["C-s"]);
    let review = t.wait_for("Review: com.acme.helpdesk 1.2.0");
    assert_contains(
        &review,
        &[
            "schemas     2 warnings against the ObjectStack 17.4.0 schemas",
            &format!("▲ {}", MISSPELT_PROBLEMS[1]),
        ],
    );
    t.keys(&["y"]);
    t.wait_for("read back and verified: ok");
    t.keys(&["Enter"]);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert!(stored_rows(&scratch.db)
        .iter()
        .any(|r| r.0 == "com.acme.helpdesk"
            && r.1 == "1.2.0"
            && r.3.contains("\"colums\"")
            && r.2.contains("\"defaultDatasource\":\"default\"")));
}

/// With a target, `check` says what publishing would change in the server's boot (spec 8.4),
/// exactly what the publish then reports, and refuses (exit 2) what a guard would refuse,
/// naming the flag; the registry is unchanged by the check.
#[test]
fn check_on_a_target_gives_the_boot_effect_the_publish_then_has() {
    let s = Scratch::new();
    let sum = checksum(&s.db);
    let export = s.run(&["export", "com.acme.helpdesk", "1.1.1"]);
    assert_eq!(export.status.code(), Some(0), "{}", err(&export));
    let mut doc: Value = serde_json::from_str(&out(&export)).expect("exported JSON");
    let mut at = |version: &str| {
        doc["manifest"]["version"] = Value::from(version);
        s.file(&format!("helpdesk-{version}.json"), doc.to_string())
    };
    let (newer, older) = (at("1.1.2"), at("0.9.0"));

    // A lower version than the served 1.0.0 would be loaded: the downgrade guard, as
    // publish refuses it.
    let o = s.run(&["check", &older]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert_contains(
        &out(&o),
        &[
            "boot    the ObjectStack server now loads com.acme.helpdesk 0.9.0 instead of 1.0.0",
            "refused the server would load com.acme.helpdesk 0.9.0 instead of 1.0.0",
            "(publish needs --allow-downgrade)",
        ],
    );
    let o = s.run(&["publish", &older]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert_contains(&err(&o), &["--allow-downgrade"]);
    assert_eq!(checksum(&s.db), sum);

    // A newer version: the server moves from the tie's 1.0.0 to it; nothing refused.
    let o = s.run(&["check", "--json", &newer]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let checked = json_lines(&o).remove(0);
    assert_eq!(
        checked["boot"]["changed"],
        serde_json::json!([{"id": "com.acme.helpdesk", "from": "1.0.0", "to": "1.1.2"}])
    );
    assert_eq!(checked["boot"]["refusals"], serde_json::json!([]));
    assert_eq!(checksum(&s.db), sum, "check wrote nothing");
    let o = s.run(&["publish", "--json", &newer]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let published: Value = serde_json::from_str(&out(&o)).expect("publish JSON");
    let mut expected = checked["boot"].clone();
    expected
        .as_object_mut()
        .expect("boot is an object")
        .remove("refusals");
    assert_eq!(published["boot"], expected);
}
