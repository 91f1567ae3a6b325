//! The Compare screen (spec 11) in a TestBackend: opened from the connection picker on a
//! second registry file, its states, a copy across through the confirm dialog, and a diff.

use std::path::{Path, PathBuf};

use crossterm::event::KeyCode;
use pkgdeck::registry::VersionState;
use pkgdeck::tui::message::MessageKind;
use pkgdeck::tui::screens::{Modal, Screen};

use crate::support::console::Session;
use crate::support::scratch::{stored_rows, Scratch, FIXTURE};

/// Where B differs from A (the fixture): `order 1.0.0` only in A, `keys 1.0.0` with other
/// contents (a valid row: its hash matches its texts).
pub const ONLY_A: (&str, &str) = ("order", "1.0.0");
pub const DIFFERS: (&str, &str) = ("keys", "1.0.0");

/// A second registry file `b.db` in the scratch dir, saved as the connection `other`.
pub fn second_registry(scratch: &Scratch) -> PathBuf {
    let b = scratch.dir.path().join("b.db");
    std::fs::copy(FIXTURE, &b).expect("copy the fixture registry");
    let c = rusqlite::Connection::open(&b).expect("open b.db");
    c.execute(
        "DELETE FROM sys_packages WHERE id = ?1 AND version = ?2",
        [ONLY_A.0, ONLY_A.1],
    )
    .expect("delete a row from b.db");
    let manifest: String = c
        .query_row(
            "SELECT manifest FROM sys_packages WHERE id = ?1 AND version = ?2",
            [DIFFERS.0, DIFFERS.1],
            |r| r.get(0),
        )
        .expect("read a manifest of b.db");
    let metadata = r#"{"objects":[{"name":"changed_in_b"}]}"#;
    let hash = pkgdeck::registry::canonical::integrity_hash(&manifest, metadata);
    c.execute(
        "UPDATE sys_packages SET metadata = ?1, hash = ?2 WHERE id = ?3 AND version = ?4",
        [metadata, hash.as_str(), DIFFERS.0, DIFFERS.1],
    )
    .expect("change a row of b.db");
    let cfg = scratch.dirs().config;
    std::fs::create_dir_all(&cfg).expect("the config dir");
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[connections.other]\ntarget = {:?}\n",
            b.display().to_string()
        ),
    )
    .expect("write config.toml");
    b
}

/// The stored (manifest, metadata, hash) of `id@version` in the registry file `db`.
pub fn texts(db: &Path, id: &str, version: &str) -> Option<(String, String, String)> {
    stored_rows(db)
        .into_iter()
        .find(|r| r.0 == id && r.1 == version)
        .map(|r| (r.2, r.3, r.4))
}

fn compare_state(s: &Session, id: &str, version: &str) -> Option<VersionState> {
    match s.console.app.screen() {
        Screen::Compare(c) => c.state(id, version),
        _ => None,
    }
}

#[test]
fn compare_shows_the_states_copies_across_and_diffs() {
    let scratch = Scratch::new();
    let b = second_registry(&scratch);
    let mut s = Session::in_scratch(scratch, false);
    s.press(&[KeyCode::Char('c')]);
    assert!(s.screen().contains("= compare"), "{}", s.screen());
    s.press(&[KeyCode::Down, KeyCode::Char('=')]);
    let screen = s.screen();
    assert!(matches!(s.console.app.screen(), Screen::Compare(_)));
    assert!(
        screen.contains("1 differ, 1 only A, 0 only B, 10 same"),
        "{screen}"
    );
    // The dangerous row is listed first, selected.
    let first = screen
        .lines()
        .find(|l| l.contains('▶'))
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.contains("keys") && first.contains("differs"),
        "{screen}"
    );
    assert_eq!(
        compare_state(&s, ONLY_A.0, ONLY_A.1),
        Some(VersionState::OnlyA)
    );

    // `=` on the differing row: the diff of A's row against B's.
    s.press(&[KeyCode::Char('=')]);
    assert!(matches!(s.console.app.modal(), Some(Modal::Diff(_))));
    let diff = s.screen();
    assert!(
        diff.contains("changed_in_b") && diff.contains("keys 1.0.0 (A) → 1.0.0 (B)"),
        "{diff}"
    );
    assert!(diff.contains("(registry A → registry B)"), "{diff}");
    s.press(&[KeyCode::Esc]);

    // `C` on the row only in A: the review, then the copy into B.
    s.type_text("/order");
    s.press(&[KeyCode::Enter, KeyCode::Char('C')]);
    let dialog = s.screen();
    assert!(
        dialog.contains("Copy order 1.0.0 to B") && dialog.contains("from A"),
        "{dialog}"
    );
    if dialog.contains("Type the package id") {
        s.type_text("order");
        s.press(&[KeyCode::Enter]);
    } else {
        s.press(&[KeyCode::Char('y')]);
    }
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Info, "{text}");
    assert!(text.starts_with("copied order 1.0.0"), "{text}");
    let a = s.scratch.db.clone();
    assert_eq!(
        texts(&b, ONLY_A.0, ONLY_A.1),
        texts(&a, ONLY_A.0, ONLY_A.1),
        "B holds A's row exactly"
    );
    assert_eq!(
        compare_state(&s, ONLY_A.0, ONLY_A.1),
        Some(VersionState::Same)
    );

    // `C` on a row that is the same: nothing to copy.
    s.press(&[KeyCode::Char('C')]);
    assert!(
        s.message().1.contains("nothing to copy"),
        "{}",
        s.message().1
    );
}

#[test]
fn a_read_only_console_refuses_a_copy_across() {
    let scratch = Scratch::new();
    let b = second_registry(&scratch);
    let before = stored_rows(&b);
    let mut s = Session::in_scratch(scratch, true);
    // `:compare NAME` opens the same screen as the picker's `=`.
    s.press(&[KeyCode::Char(':')]);
    s.type_text("compare other");
    s.press(&[KeyCode::Enter]);
    assert!(
        s.screen().contains("1 differ, 1 only A, 0 only B, 10 same"),
        "{}",
        s.screen()
    );
    s.type_text("/order");
    s.press(&[KeyCode::Enter, KeyCode::Char('C')]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Error);
    assert!(text.starts_with("read-only: copy refused"), "{text}");
    assert!(s.console.app.modal().is_none());
    assert_eq!(stored_rows(&b), before);
}

#[test]
fn a_differing_row_is_copied_over_b_after_the_dialog_says_it_overwrites() {
    let scratch = Scratch::new();
    let b = second_registry(&scratch);
    let mut s = Session::in_scratch(scratch, false);
    s.press(&[KeyCode::Char('c'), KeyCode::Down, KeyCode::Char('=')]);
    // The row that differs is the one selected first.
    s.press(&[KeyCode::Char('C')]);
    let dialog = s.screen();
    assert!(
        dialog.contains("Copy keys 1.0.0 to B") && dialog.contains("It overwrites"),
        "{dialog}"
    );
    if dialog.contains("Type the package id") {
        s.type_text(DIFFERS.0);
        s.press(&[KeyCode::Enter]);
    } else {
        s.press(&[KeyCode::Char('y')]);
    }
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Info, "{text}");
    let a = s.scratch.db.clone();
    assert_eq!(
        texts(&b, DIFFERS.0, DIFFERS.1),
        texts(&a, DIFFERS.0, DIFFERS.1)
    );
    assert_eq!(
        compare_state(&s, DIFFERS.0, DIFFERS.1),
        Some(VersionState::Same)
    );
    // B's old row went to the trash first.
    assert!(!s.scratch.trash_files().is_empty());
}

#[test]
fn a_read_only_destination_refuses_the_copy_before_any_dialog() {
    let scratch = Scratch::new();
    let b = second_registry(&scratch);
    std::fs::write(
        scratch.dirs().config.join("config.toml"),
        format!(
            "[connections.other]\ntarget = {:?}\nread_only = true\n",
            b.display().to_string()
        ),
    )
    .unwrap();
    let before = stored_rows(&b);
    let mut s = Session::in_scratch(scratch, false);
    s.press(&[KeyCode::Char('c'), KeyCode::Down, KeyCode::Char('=')]);
    s.type_text("/order");
    s.press(&[KeyCode::Enter, KeyCode::Char('C')]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Error, "{text}");
    assert!(
        text.starts_with("nothing copied: order 1.0.0: ")
            && text.ends_with("is open read-only: copy refused"),
        "{text}"
    );
    assert!(s.console.app.modal().is_none());
    assert_eq!(stored_rows(&b), before);

    // Narrow: the id and the version still show (cut with `…` at most).
    let narrow = crate::support::screen::text_of(&s.buffer_sized(60, 20));
    assert!(
        narrow
            .lines()
            .any(|l| l.contains("order") && l.contains("1.0.0")),
        "{narrow}"
    );
}
