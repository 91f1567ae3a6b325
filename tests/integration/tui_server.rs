//! The console's view of the ObjectStack server (spec 5, 8): the Boot screen, the served marks,
//! promote with `P`, and the guards in the review and confirm dialogs, overridden by typing the
//! package id. Drawn into a `TestBackend` with the real worker, and once in tmux with the real
//! binary. Every refusal the console overrides is checked with the real server afterwards.

use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use pkgdeck::tui::message::MessageKind;
use pkgdeck::tui::screens::Modal;

use crate::guard_oracle::real_change;
use crate::support::assert::assert_contains;
use crate::support::console::Session;
use crate::support::generated::{write_registry, Column, Generated, Row};
use crate::support::objectstack::Oracle;
use crate::support::scratch::{stored_rows, Scratch};
use crate::support::screen::{line_with, row_of};
use crate::support::tmux::Tmux;

fn session() -> Session {
    Session::in_scratch(Scratch::new(), false)
}

/// A copy of the scratch registry as it is now, for the real server's "before".
fn snapshot(s: &Session) -> PathBuf {
    let before = s.scratch.dir.path().join("before.db");
    std::fs::copy(&s.scratch.db, &before).unwrap();
    before
}

fn boots(before: &Path, after: &Path) -> (serde_json::Value, serde_json::Value) {
    let mut oracle = Oracle::start();
    (oracle.boot(before, &[]), oracle.boot(after, &[]))
}

#[test]
fn the_boot_screen_lists_every_list_row_in_the_servers_order() {
    let mut s = session();
    s.press(&[KeyCode::Char('b')]);
    let boot = s.screen();
    assert_contains(
        &boot,
        &[
            "Packages › Boot",
            "reads 12 row(s) from list(); 9 of 9 package(s) load, 1 not at the latest version",
            "⚠ com.acme.helpdesk: the server serves 1.0.0, not the latest 1.1.1 (a same-second \
             tie); P on 1.1.1 in its versions promotes it",
            "Boot: the server's list() rows, in its order",
            "# ROW",
        ],
    );
    let helpdesk = line_with(&boot, &["│", "com.acme.helpdesk", "1.0.0 "]);
    assert_contains(helpdesk, &["warns", "R10", "a downgrade"]);
    for v in ["1.1.0", "2.0.0", "1.1.1"] {
        let row = line_with(&boot, &["│", "com.acme.helpdesk", v, "skipped"]);
        assert_contains(row, &["R9", "same-second tie with com.acme.helpdesk 1.0.0"]);
    }
    insta::assert_snapshot!("boot_screen", boot);
    // Enter opens the row's version.
    s.type_text("/2.0.0");
    s.press(&[KeyCode::Enter, KeyCode::Enter]);
    assert_contains(&s.screen(), &["Boot › com.acme.helpdesk 2.0.0"]);
}

#[test]
fn the_boot_screen_says_where_the_boot_aborts_and_when_nothing_loads() {
    let scratch = Scratch::empty();
    let row = |i: i64, id: &str, manifest: &str, second: u32| Row {
        id: id.into(),
        version: "1.0.0".into(),
        manifest: Column::Text(manifest.into()),
        metadata: Column::Text("{}".into()),
        second,
        rowid: i,
    };
    let reg = Generated {
        rows: vec![
            row(
                1,
                "a",
                r#"{"id":"a","version":"1.0.0","name":"A","type":"app"}"#,
                0,
            ),
            row(
                2,
                "b",
                r#"{"id":"b","version":"1.0.0","name":"B","type":"app","engines":{"protocol":17}}"#,
                1,
            ),
        ],
        code: vec![],
    };
    write_registry(&scratch.db, &reg);
    let mut s = Session::in_scratch(scratch, false);
    s.press(&[KeyCode::Char('b')]);
    let boot = s.screen();
    assert_contains(
        &boot,
        &[
            "0 of 2 package(s) load",
            "✗ NOTHING LOADS",
            "✗ THE BOOT ABORTS at row b 1.0.0 (R2): no later row loads",
        ],
    );
    assert_contains(
        line_with(&boot, &["│", " b ", "ABORTS"]),
        &["R2", "the number 17"],
    );
    assert_contains(
        line_with(&boot, &["│", " a ", "skipped"]),
        &["not reached: the boot aborted at row b 1.0.0"],
    );
}

#[test]
fn packages_mark_the_served_version_and_p_promotes_it_away() {
    let mut s = session();
    let packages = s.screen();
    assert_contains(
        line_with(&packages, &["com.acme.helpdesk"]),
        &["1.1.1", "⚠ 1.0.0 (tie)"],
    );
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('P')]);
    let Some(Modal::Confirm(_)) = s.console.app.modal() else {
        panic!("P opens the promote dialog: {}", s.screen())
    };
    let dialog = s.screen();
    assert_contains(
        &dialog,
        &[
            "Promote com.acme.helpdesk 1.1.1",
            "strictly newer than every other version of com.acme.helpdesk",
            "ObjectStack boot loads 9 package(s) before, 9 after",
            "~ com.acme.helpdesk 1.0.0 → 1.1.1",
            "y goes ahead",
        ],
    );
    s.press(&[KeyCode::Char('y')]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Info, "{text}");
    assert!(
        text.starts_with("promoted com.acme.helpdesk 1.1.1: it is now the newest row")
            && text.ends_with("ObjectStack boot: com.acme.helpdesk 1.0.0 → 1.1.1"),
        "{text}"
    );
    let versions = s.screen();
    assert_contains(row_of(&versions, "1.1.1").unwrap_or(""), &["latest served"]);
    assert!(
        !versions.contains("⚠ the ObjectStack server serves"),
        "{versions}"
    );
    // Still not the highest version: that warning is true and stays.
    assert_contains(
        &versions,
        &["⚠ the highest version is 2.0.0, but the server serves and loads 1.1.1"],
    );
    s.press(&[KeyCode::Esc]);
    assert_contains(line_with(&s.screen(), &["com.acme.helpdesk"]), &["1.1.1"]);
    assert!(!s.screen().contains("(tie)"), "{}", s.screen());
}

#[test]
fn a_refused_promote_is_overridden_by_typing_the_package_id() {
    let mut s = session();
    s.open_helpdesk_versions();
    // 2.0.0 first (an upgrade), then 1.0.0 would load a lower version: refused.
    s.type_text("/2.0.0");
    s.press(&[KeyCode::Enter, KeyCode::Char('P'), KeyCode::Char('y')]);
    assert_eq!(s.message().0, MessageKind::Info, "{:?}", s.message());
    s.press(&[KeyCode::Esc]);
    s.type_text("/1.0.0");
    s.press(&[KeyCode::Enter, KeyCode::Char('P')]);
    let dialog = s.screen();
    assert_contains(
        &dialog,
        &[
            "~ com.acme.helpdesk 2.0.0 → 1.0.0",
            "✗ the server would load com.acme.helpdesk 1.0.0 instead of 2.0.0, a lower version",
            "✗ refused unless you override it: type the package id com.acme.helpdesk below",
            "Type the package id com.acme.helpdesk and press Enter to override the guard",
        ],
    );
    // y is just a letter here: the guard holds.
    s.press(&[KeyCode::Char('y'), KeyCode::Enter]);
    assert_eq!(
        s.message().1,
        "nothing promoted: you typed \"y\", not the package id com.acme.helpdesk"
    );
    let before = snapshot(&s);
    s.press(&[KeyCode::Char('P')]);
    s.type_text("com.acme.helpdesk");
    s.press(&[KeyCode::Enter]);
    assert!(
        s.message()
            .1
            .starts_with("promoted com.acme.helpdesk 1.0.0"),
        "{:?}",
        s.message()
    );
    let (was, now) = boots(&before, &s.scratch.db);
    let real = real_change(
        &was,
        &now,
        &[("com.acme.helpdesk".into(), "1.0.0".into())],
        true,
        &[],
        &s.scratch.db,
    );
    assert_eq!(
        real.downgraded,
        ["com.acme.helpdesk"],
        "the real server too"
    );
}

#[test]
fn a_review_that_breaks_the_boot_needs_the_package_id_typed() {
    let mut s = session();
    let doc = r#"{"manifest":{"id":"com.acme.crm","version":"1.3.0","type":"app","name":"CRM","engines":{"protocol":"^16"}},"metadata":{"objects":[{"name":"crm_account","label":"Account"}],"views":[],"apps":[]}}"#;
    s.scratch.file("crm16.json", doc);
    s.press(&[KeyCode::Char('p')]);
    s.type_text("crm16.json");
    s.press(&[KeyCode::Enter]);
    s.ctrl('s');
    let review = s.screen();
    assert_contains(
        &review,
        &[
            "ObjectStack boot loads 9 package(s) before, 8 after",
            "- com.acme.crm no longer loads",
            "✗ the server would no longer load com.acme.crm: refused: com.acme.crm targets \
             protocol '^16'",
            "type com.acme.crm and press Enter to publish anyway; Esc goes back",
        ],
    );
    assert_eq!(s.message().0, MessageKind::Error);
    // y types a letter; Enter with anything but the id goes back to the editor.
    s.press(&[KeyCode::Char('y'), KeyCode::Enter]);
    assert_eq!(
        s.message().1,
        "nothing published: you typed \"y\", not the package id com.acme.crm"
    );
    assert!(matches!(s.console.app.modal(), Some(Modal::Editor(_))));
    assert_eq!(stored_rows(&s.scratch.db).len(), 12, "nothing written");
    let before = snapshot(&s);
    s.ctrl('s');
    s.type_text("com.acme.crm");
    s.press(&[KeyCode::Enter]);
    assert_contains(
        &s.screen(),
        &[
            "✓ published com.acme.crm 1.3.0",
            "✓ read back and verified: ok",
        ],
    );
    let (was, now) = boots(&before, &s.scratch.db);
    let written = [("com.acme.crm".to_string(), "1.3.0".to_string())];
    let real = real_change(&was, &now, &written, true, &[], &s.scratch.db);
    assert_eq!(
        real.lost,
        ["\"com.acme.crm\""],
        "the real server loses it too"
    );
    assert_eq!(real.not_loaded, written);
}

#[test]
fn the_delete_dialog_says_what_the_server_loads_instead() {
    let mut s = session();
    s.open_helpdesk_versions();
    // 1.0.0 is what the server loads: deleting it makes it load 1.1.0 (shown, not refused).
    s.press(&[KeyCode::Char('G'), KeyCode::Char('d')]);
    assert_contains(
        &s.screen(),
        &[
            "1.0.0          created 2026-11-24 01:46:01  hash 22f7cd4b612d…  (served)",
            "~ com.acme.helpdesk 1.0.0 → 1.1.0",
            "Type the version 1.0.0 and press Enter to delete",
        ],
    );
    s.type_text("1.0.0");
    s.press(&[KeyCode::Enter]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Info);
    assert!(
        text.ends_with("ObjectStack boot: com.acme.helpdesk 1.0.0 → 1.1.0"),
        "{text}"
    );
}

#[test]
fn the_real_binary_opens_the_boot_screen_with_b() {
    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    // The served marks come with the list; the footer with the first frame.
    assert_contains(&t.wait_for("⚠ 1.0.0 (tie)"), &["com.acme.crm", "b boot"]);
    t.keys(&["b"]);
    // The screen is drawn as soon as it opens, then again when the worker's report arrives.
    let boot = t.wait_for("same-second tie with");
    assert_contains(
        &boot,
        &[
            "9 of 9 package(s) load, 1 not at the latest version",
            "same-second tie with com.acme.helpdesk 1.0.0",
        ],
    );
    t.keys(&["q"]);
    t.wait_exit();
}
