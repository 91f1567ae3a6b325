//! The console's writes with the real binary in a real terminal: `pkgdeck` runs in a tmux
//! pane (160×50) on a scratch copy of the fixture registry, with its data and config dirs in
//! the scratch directory. The tests type keys, read the pane, and then check the registry
//! file itself: with the CLI, with rusqlite (every column of every row) and with a SHA-256
//! of the file where nothing may change. tmux is required: without it these fail.

use std::path::Path;

use pkgdeck::registry::trash::Trash;

use crate::support::assert::assert_contains;
use crate::support::scratch::{checksum, stored_rows, Scratch, StoredRow, FIXTURE};
use crate::support::tmux::Tmux;

/// `pkgdeck --db <scratch copy> ARGS…`; returns (status, stdout, stderr).
fn cli(scratch: &Scratch, args: &[&str]) -> (i32, String, String) {
    let out = scratch.run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hotfix_publishes_reads_back_and_keeps_every_other_row() {
    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    t.open_helpdesk_versions();
    assert!(t.screen().contains("│▶ 1.1.1"), "1.1.1 is selected");

    t.keys(&["h"]);
    // The pre-filled text is drawn first, its validation on a following frame.
    let editor = t.wait_until("the pre-filled, validated hotfix", |s| {
        s.contains(r#""version": "1.1.2""#) && s.contains("✓ valid")
    });
    assert_contains(
        &editor,
        &["Hotfix com.acme.helpdesk 1.1.1 → 1.1.2", "✓ valid"],
    );

    t.keys(&["C-s"]);
    let review = t.wait_for("Review: com.acme.helpdesk 1.1.2");
    assert_contains(&review, &["version     1.1.2"]);
    let hash = review
        .lines()
        .find_map(|l| l.split("new hash    ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no new hash on the review: {review}"))
        .to_owned();
    assert_eq!(hash.len(), 64, "{hash}");
    assert_contains(
        &review,
        &["Diff against com.acme.helpdesk 1.1.1 (the current latest)"],
    );

    t.keys(&["y"]);
    let done = t.wait_for("read back and verified: ok");
    assert_contains(
        &done,
        &[&format!(
            "✓ published com.acme.helpdesk 1.1.2 · hash {hash}"
        )],
    );
    t.keys(&["Enter"]);
    t.wait_until("the review to close on the refreshed list", |s| {
        !s.contains("Review:") && s.contains("│  1.1.2")
    });
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");

    let (status, out, err) = cli(&scratch, &["get", "com.acme.helpdesk", "--json"]);
    assert_eq!(status, 0, "{err}");
    let got: serde_json::Value = serde_json::from_str(&out).expect("get --json is JSON");
    assert_eq!(got["version"], "1.1.2", "{out}");
    assert_eq!(got["manifest"]["version"], "1.1.2", "{out}");
    assert_eq!(got["hash"], hash.as_str(), "{out}");
    let (status, out, err) = cli(&scratch, &["verify"]);
    assert_eq!(status, 0, "verify: {out}{err}");

    let mut after = stored_rows(&scratch.db);
    let new = after
        .iter()
        .position(|r| r.0 == "com.acme.helpdesk" && r.1 == "1.1.2")
        .expect("the hotfix row");
    after.remove(new);
    assert_eq!(
        after,
        stored_rows(Path::new(FIXTURE)),
        "the fixture's 12 rows are untouched"
    );
    assert!(
        scratch.trash_files().is_empty(),
        "a new version overwrites nothing"
    );
}

#[test]
fn delete_needs_the_version_typed_and_keeps_the_row_in_the_trash() {
    let scratch = Scratch::new();
    let before = checksum(&scratch.db);
    let t = Tmux::console(&scratch);
    t.open_helpdesk_versions();
    t.keys(&["G"]);
    t.wait_for("│▶ 1.0.0");

    t.keys(&["d"]);
    let dialog = t.wait_for("Type the version 1.0.0");
    assert!(
        dialog.contains("This deletes 1 row from")
            && dialog.contains("version 1.0.0 of com.acme.helpdesk"),
        "{dialog}"
    );
    assert_contains(
        &dialog,
        &[&format!(
            "It goes to the trash first: {}/",
            scratch.dirs().trash().display()
        )],
    );
    t.type_text("9.9.9");
    t.wait_for("> 9.9.9█");
    t.keys(&["Enter"]);
    t.wait_for(r#"nothing deleted: you typed "9.9.9", not the version 1.0.0"#);
    assert_eq!(
        checksum(&scratch.db),
        before,
        "the registry file is unchanged"
    );
    assert!(
        scratch.trash_files().is_empty(),
        "nothing went to the trash"
    );

    t.keys(&["d"]);
    t.wait_for("Type the version 1.0.0");
    t.type_text("1.0.0");
    t.wait_for("> 1.0.0█");
    t.keys(&["Enter"]);
    let deleted = t.wait_until("the delete reported and the lists refreshed", |s| {
        s.contains("deleted 1 row of com.acme.helpdesk (1.0.0); saved in the trash: ")
            && s.contains("9 packages · 11 rows")
            && s.contains("Versions of com.acme.helpdesk (Helpdesk) · 3")
    });
    assert!(!deleted.contains("│▶ 1.0.0"), "{deleted}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");

    let fixture = stored_rows(Path::new(FIXTURE));
    let gone = fixture
        .iter()
        .find(|r| r.0 == "com.acme.helpdesk" && r.1 == "1.0.0")
        .unwrap()
        .clone();
    let expected: Vec<StoredRow> = fixture.into_iter().filter(|r| *r != gone).collect();
    assert_eq!(
        stored_rows(&scratch.db),
        expected,
        "exactly that row is gone"
    );
    let trash = scratch.trash_files();
    assert_eq!(trash.len(), 1, "{trash:?}");
    assert!(
        deleted.contains(&trash[0].file_name().unwrap().to_string_lossy()[..40]),
        "the message names the trash file: {deleted}"
    );
    let saved = Trash::read(&trash[0]).expect("a trash file");
    assert_eq!(saved.len(), 1);
    let s = &saved[0];
    assert_eq!(
        (
            s.id.clone(),
            s.version.clone(),
            s.manifest.clone(),
            s.metadata.clone(),
            s.hash.clone(),
            s.created_at.clone(),
            s.updated_at.clone()
        ),
        gone,
        "the trash holds the row exactly"
    );
}

#[test]
fn read_only_console_refuses_delete_and_publish() {
    let scratch = Scratch::new();
    let before = checksum(&scratch.db);
    let db = scratch.db.display().to_string();
    let t = Tmux::start(&scratch, &["--read-only", "--db", &db]);
    t.open_helpdesk_versions();
    let versions = t.screen();
    assert_contains(&versions, &["READ-ONLY"]);
    assert!(
        versions.contains("(read-only) h hotfix  P promote  d delete"),
        "the writes are marked in the footer: {versions}"
    );

    t.keys(&["d"]);
    let refused = t.wait_for("read-only: delete refused");
    assert!(
        !refused.contains("Type the version"),
        "no dialog: {refused}"
    );
    assert_eq!(checksum(&scratch.db), before);

    t.keys(&["p"]);
    let refused = t.wait_for("read-only: publish refused");
    assert!(
        !refused.contains("Publish from a file"),
        "no prompt: {refused}"
    );
    t.keys(&["h"]);
    let refused = t.wait_for("read-only: hotfix refused");
    assert!(!refused.contains("Hotfix com.acme"), "no editor: {refused}");

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert_eq!(
        checksum(&scratch.db),
        before,
        "the registry file is unchanged"
    );
    assert!(scratch.trash_files().is_empty());
}

/// A publish document whose version (line 4) is not MAJOR.MINOR.PATCH.
const BAD_VERSION: &str = "{\n  \"manifest\": {\n    \"id\": \"com.acme.fresh\",\n    \"version\": \"1.2\",\n    \"type\": \"app\",\n    \"name\": \"Fresh\"\n  },\n  \"metadata\": {\n    \"objects\": [{\"name\": \"fresh_thing\"}]\n  }\n}\n";

#[test]
fn editor_validates_as_you_type_and_reviews_only_a_valid_document() {
    let scratch = Scratch::new();
    let before = checksum(&scratch.db);
    scratch.file("bad-version.json", BAD_VERSION);
    let t = Tmux::console(&scratch);
    t.wait_for("com.acme.crm");

    t.keys(&["p"]);
    t.wait_for("Publish from a file");
    t.type_text(&format!("{}/bad-v", scratch.dir.path().display()));
    t.keys(&["Tab"]);
    t.wait_for("bad-version.json█");
    t.keys(&["Enter"]);
    let editor = t.wait_for("$.manifest.version");
    assert_contains(
        &editor,
        &[
            "✗ 1 problem",
            r#"$.manifest.version: "1.2" is not a version of the form MAJOR.MINOR.PATCH"#,
        ],
    );

    t.keys(&["C-s"]);
    let refused = t.wait_for("1 problem to fix first");
    assert!(!refused.contains("Review:"), "no review: {refused}");

    // Line 4 is `    "version": "1.2",`: put ".0" before the closing quote.
    t.keys(&["Down", "Down", "Down", "End", "Left", "Left"]);
    t.type_text(".0");
    let valid = t.wait_for("✓ valid");
    assert!(!valid.contains("$.manifest.version"), "{valid}");
    assert_contains(
        &valid,
        &[r#""version": "1.2.0","#, "com.acme.fresh 1.2.0 · new hash"],
    );

    t.keys(&["C-s"]);
    let review = t.wait_for("Review: com.acme.fresh 1.2.0");
    assert_contains(
        &review,
        &[
            "a new row: com.acme.fresh has no version 1.2.0 yet",
            "has no stored version yet; everything is new",
        ],
    );
    t.keys(&["n"]);
    let back = t.wait_until("the editor again", |s| {
        !s.contains("Review:") && s.contains("Ln 4, Col 22 · modified")
    });
    assert!(
        back.contains(r#""version": "1.2.0","#),
        "the text is kept: {back}"
    );

    t.keys(&["Escape"]);
    t.wait_for("Discard your edits?");
    t.keys(&["y"]);
    t.wait_for("edits discarded");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert_eq!(checksum(&scratch.db), before, "nothing was published");
}
