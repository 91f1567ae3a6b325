//! The console's writes, drawn: the editor with live validation, the review and its diff,
//! the delete dialog, the trash screen with restore, the connection picker, and read-only
//! mode. The app runs on a scratch copy of the fixture registry with its real worker thread;
//! each test waits for the worker's answers (bounded) before it draws into a 160×50
//! `TestBackend`. Paths, times and trash file names are masked in snapshots (with
//! placeholders of the same width, so the layout is what the operator sees).

use std::path::Path;
use std::time::Duration;

use crossterm::event::KeyCode;
use pkgdeck::registry::trash::Trash;
use pkgdeck::registry::{Allow, PublishOptions};
use pkgdeck::tui::message::MessageKind;
use pkgdeck::tui::screens::Modal;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

use crate::support::assert::assert_contains;
use crate::support::console::Session;
use crate::support::scratch::{stored_rows, Scratch, FIXTURE};
use crate::support::screen::{colour_of, first_column, line_with, text_of};

/// The console with the scratch dirs, on a fresh scratch copy of the fixture.
fn session() -> Session {
    Session::in_scratch(Scratch::new(), false)
}

/// Replaces what varies from run to run with placeholders of the same width: trash times
/// (`2026-11-24T03:05:32Z`, and the `20261124T030532Z-123456789` that starts a trash file
/// name).
fn mask_times(screen: &str) -> String {
    let mut out = String::new();
    for line in screen.lines() {
        let mut l = line.to_owned();
        // ISO times of the trash.
        while let Some(i) = find_iso(&l) {
            l.replace_range(i..i + 20, "YYYY-MM-DDTHH:MM:SSZ");
        }
        // File name stamps: 8 digits, T, 6 digits, Z, -, 9 digits.
        while let Some(i) = find_stamp(&l) {
            l.replace_range(i..i + 26, "YYYYMMDDTHHMMSSZ-NNNNNNNNN");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn find_iso(l: &str) -> Option<usize> {
    let b = l.as_bytes();
    (0..b.len().saturating_sub(19)).find(|&i| {
        let s = &b[i..i + 20];
        s[4] == b'-'
            && s[7] == b'-'
            && s[10] == b'T'
            && s[13] == b':'
            && s[19] == b'Z'
            && s[..4].iter().all(u8::is_ascii_digit)
    })
}

fn find_stamp(l: &str) -> Option<usize> {
    let b = l.as_bytes();
    (0..b.len().saturating_sub(25)).find(|&i| {
        let s = &b[i..i + 26];
        s[..8].iter().all(u8::is_ascii_digit)
            && s[8] == b'T'
            && s[9..15].iter().all(u8::is_ascii_digit)
            && s[15] == b'Z'
            && s[16] == b'-'
            && s[17..].iter().all(u8::is_ascii_digit)
    })
}

/// A document with the comma after the version (line 4) missing: the error is at line 5.
const BROKEN: &str = "{\n  \"manifest\": {\n    \"id\": \"com.acme.fresh\",\n    \"version\": \"1.0.0\"\n    \"type\": \"app\",\n    \"name\": \"Fresh\"\n  },\n  \"metadata\": {}\n}\n";

/// A document file whose text holds raw escape sequences (an OSC title, an OSC 52 clipboard
/// write, a clear-screen, a cursor move) and a bidi override: not JSON, and never drawn raw.
const RAW_ESCAPES: &str = "{\"manifest\": {\"name\": \"\u{1b}]0;PWNED\u{7}\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J\u{1b}[5;5H\u{202e}evil\"}}\n";

#[test]
fn editor_draws_raw_escape_sequences_as_placeholders() {
    let mut s = session();
    s.scratch.file("raw.json", RAW_ESCAPES);
    s.press(&[KeyCode::Char('p')]);
    s.type_text("raw.json");
    s.press(&[KeyCode::Enter]);
    assert!(matches!(s.console.app.modal(), Some(Modal::Editor(_))));
    let buffer = s.buffer();
    let raw: Vec<String> = buffer
        .content()
        .iter()
        .map(|c| c.symbol())
        .filter(|sym| sym.chars().any(|ch| ch.is_control() || ch == '\u{202e}'))
        .map(|sym| format!("{sym:?}"))
        .collect();
    assert!(raw.is_empty(), "raw characters reached the frame: {raw:?}");
    let screen = s.screen();
    assert_contains(&screen, &["␛]0;PWNED␇␛]52;c;cHduZWQ=␇␛[2J␛[5;5H"]);
}

#[test]
fn editor_shows_a_syntax_error_with_its_line_and_column() {
    let mut s = session();
    s.scratch.file("broken.json", BROKEN);
    s.press(&[KeyCode::Char('p')]);
    s.type_text("bro");
    s.press(&[KeyCode::Tab]);
    let prompt = s.screen();
    assert!(prompt.contains("> broken.json█"), "Tab completes: {prompt}");
    s.press(&[KeyCode::Enter]);
    assert!(matches!(s.console.app.modal(), Some(Modal::Editor(_))));
    let screen = s.screen();
    assert_contains(
        &screen,
        &[
            "Publish [scratch]/broken.json",
            "✗ invalid JSON",
            "• line 5, column 5: expected ',' or '}' after an object member",
        ],
    );
    insta::assert_snapshot!("editor_syntax_error", screen);

    // The line is marked in the gutter.
    let buffer = s.buffer();
    let text = text_of(&buffer);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(" 5     \"type\""))
        .expect("line 5 on screen");
    let x = line[..line.find("5     \"type\"").unwrap()].width() as u16;
    assert_eq!(buffer[(x, y as u16)].fg, Color::Red, "the gutter of line 5");
    assert!(buffer[(x, y as u16)].modifier.contains(Modifier::REVERSED));
    assert_eq!(
        buffer[(x, y as u16 - 1)].fg,
        Color::DarkGray,
        "line 4 is not marked"
    );

    // No review while it is invalid; Ctrl-G goes to the error.
    s.ctrl('s');
    assert!(matches!(s.console.app.modal(), Some(Modal::Editor(_))));
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Warning);
    assert_contains(&text, &["not valid JSON yet (line 5, column 5)"]);
    s.ctrl('g');
    let Some(Modal::Editor(e)) = s.console.app.modal() else {
        panic!("the editor is open")
    };
    assert_eq!(e.cursor(), (4, 4));

    // Fixing it: the comma the error points at.
    s.press(&[KeyCode::Up, KeyCode::End]);
    s.type_text(",");
    let fixed = s.screen();
    assert_contains(&fixed, &["✓ valid", "com.acme.fresh 1.0.0 · new hash"]);
    assert_eq!(
        s.message().1,
        "the document is valid now: Ctrl-S reviews the publish"
    );
    assert!(s.console.app.unsaved_edits().is_some(), "there are edits");

    // Esc asks first; n goes back with the text and cursor as they were.
    s.press(&[KeyCode::Esc]);
    assert!(s.screen().contains("Discard your edits?"));
    s.press(&[KeyCode::Char('n')]);
    let Some(Modal::Editor(e)) = s.console.app.modal() else {
        panic!("back in the editor")
    };
    assert_eq!(e.cursor(), (3, 23));
    assert!(e.text().contains("\"version\": \"1.0.0\","));
    s.press(&[KeyCode::Esc, KeyCode::Char('y')]);
    assert!(s.console.app.modal().is_none(), "y discards");
}

#[test]
fn a_file_that_cannot_be_read_changes_nothing() {
    let mut s = session();
    s.press(&[KeyCode::Char('p')]);
    s.type_text("missing.json");
    s.press(&[KeyCode::Enter]);
    assert!(s.console.app.modal().is_none());
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Error);
    assert!(
        text.starts_with("nothing opened: cannot open") && text.contains("missing.json"),
        "{text}"
    );
    s.scratch.file("latin1.json", b"{\"a\":\"\xe9\"}");
    s.press(&[KeyCode::Char('p')]);
    s.type_text("latin1.json");
    s.press(&[KeyCode::Enter]);
    assert!(
        s.message().1.contains("is not UTF-8 text"),
        "{:?}",
        s.message()
    );
    assert_eq!(stored_rows(&s.scratch.db), stored_rows(Path::new(FIXTURE)));
}

#[test]
fn hotfix_review_shows_the_diff_then_publishes_and_verifies() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('h')]);
    let editor = s.screen();
    assert_contains(
        &editor,
        &[
            "Hotfix com.acme.helpdesk 1.1.1 → 1.1.2",
            r#""version": "1.1.2","#,
        ],
    );
    // Change the label of the one object: line 13 is `"label": "Ticket",`.
    s.press(&[KeyCode::Down; 12]);
    s.press(&[KeyCode::End, KeyCode::Left, KeyCode::Left]);
    s.type_text("s");
    s.ctrl('s');
    let Some(Modal::Review(_)) = s.console.app.modal() else {
        panic!("the review opens: {}", s.screen())
    };
    let review = s.screen();
    assert_contains(
        &review,
        &[
            "Publish com.acme.helpdesk 1.1.2 to [registry]",
            "writes      a new row: com.acme.helpdesk has no version 1.1.2 yet",
            "Diff against com.acme.helpdesk 1.1.1 (the current latest)",
            r#"~ version: "1.1.1" → "1.1.2""#,
            "objects: 0 added, 0 removed, 1 changed",
            r#"-   "label": "Ticket","#,
            r#"+   "label": "Tickets","#,
        ],
    );
    let buffer = s.buffer();
    assert_eq!(
        colour_of(&buffer, r#"+   "label": "Tickets""#),
        Some(Color::Green)
    );
    assert_eq!(
        colour_of(&buffer, r#"-   "label": "Ticket""#),
        Some(Color::Red)
    );
    insta::assert_snapshot!("review_hotfix", review);

    // n goes back to the editor with the text and cursor as they were.
    s.press(&[KeyCode::Char('n')]);
    let Some(Modal::Editor(e)) = s.console.app.modal() else {
        panic!("back in the editor")
    };
    assert_eq!(e.cursor(), (12, 25));
    assert!(e.text().contains(r#""label": "Tickets","#));

    s.ctrl('s');
    s.press(&[KeyCode::Char('y')]);
    let done = s.screen();
    assert_contains(
        &done,
        &[
            "✓ published com.acme.helpdesk 1.1.2",
            "✓ read back and verified: ok",
        ],
    );
    let stored = s
        .registry()
        .require("com.acme.helpdesk", Some("1.1.2"))
        .unwrap();
    assert!(
        done.contains(&stored.hash),
        "the review showed the stored hash"
    );
    assert!(stored.metadata.contains(r#""label":"Tickets""#));

    // Closing returns to the refreshed list, the new version in it.
    s.press(&[KeyCode::Enter]);
    assert!(s.console.app.modal().is_none());
    let versions = s.screen();
    assert_eq!(
        first_column(&versions)[1..],
        ["1.1.2", "1.1.1", "2.0.0", "1.1.0", "1.0.0"],
        "{versions}"
    );
    // The selection stayed on 1.1.1; its next hotfix skips the version that now exists.
    s.press(&[KeyCode::Char('h')]);
    assert!(s.screen().contains(r#""version": "1.1.3","#));
}

#[test]
fn publishing_over_an_existing_version_says_so_and_keeps_the_old_row() {
    let mut s = session();
    // A package the server loads at this version (one version only): overwriting it keeps
    // what the server loads.
    let old = s.registry().require("com.acme.crm", Some("1.2.0")).unwrap();
    let doc = s
        .registry()
        .export("com.acme.crm", Some("1.2.0"))
        .unwrap()
        .replace("\"Account\"", "\"Accounts\"")
        .replace("\"views\":[]", "\"views\":[{\"name\":\"all_accounts\"}]");
    s.scratch.file("over.json", doc);
    s.press(&[KeyCode::Char('p')]);
    s.type_text("over.json");
    s.press(&[KeyCode::Enter]);
    s.ctrl('s');
    let review = s.screen();
    assert_contains(
        &review,
        &[
            "OVERWRITES  the stored com.acme.crm 1.2.0",
            "the old row is saved to the trash first: [scratch]/data/trash/",
            "Diff against com.acme.crm 1.2.0 (the version it replaces)",
        ],
    );
    s.press(&[KeyCode::Char('y')]);
    let done = s.screen();
    assert_contains(
        &done,
        &[
            "✓ read back and verified: ok",
            "the old row was saved to [scratch]/data/trash/",
        ],
    );
    let trash = s.scratch.trash_files();
    assert_eq!(trash.len(), 1);
    let saved = Trash::read(&trash[0]).unwrap();
    assert_eq!(saved[0].hash, old.hash);
    assert_eq!(saved[0].metadata, old.metadata);
}

#[test]
fn delete_dialog_says_what_goes_and_needs_the_version_typed() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('G'), KeyCode::Char('d')]);
    let Some(Modal::Confirm(_)) = s.console.app.modal() else {
        panic!("the dialog opens: {}", s.screen())
    };
    let dialog = s.screen();
    assert_contains(
        &dialog,
        &[
            "This deletes 1 row from [registry]: version 1.0.0 of com.acme.helpdesk",
            "It goes to the trash first: [scratch]/data/trash/",
            "Type the version 1.0.0 and press Enter",
        ],
    );
    insta::assert_snapshot!("delete_dialog", dialog);

    s.type_text("9.9.9");
    s.press(&[KeyCode::Enter]);
    assert!(s.console.app.modal().is_none());
    assert_eq!(
        s.message(),
        (
            MessageKind::Info,
            "nothing deleted: you typed \"9.9.9\", not the version 1.0.0".to_owned()
        )
    );
    assert_eq!(stored_rows(&s.scratch.db), stored_rows(Path::new(FIXTURE)));
    assert!(s.scratch.trash_files().is_empty());

    s.press(&[KeyCode::Char('d'), KeyCode::Esc]);
    assert_eq!(s.message().1, "cancelled: nothing deleted");

    s.press(&[KeyCode::Char('d')]);
    s.type_text("1.0.0");
    s.press(&[KeyCode::Enter]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Info);
    assert!(
        text.starts_with("deleted 1 row of com.acme.helpdesk (1.0.0); saved in the trash: "),
        "{text}"
    );
    assert_eq!(
        first_column(&s.screen())[1..],
        ["1.1.1", "2.0.0", "1.1.0"],
        "the list refreshed"
    );
    assert_eq!(s.scratch.trash_files().len(), 1);
}

#[test]
fn delete_all_from_detail_and_versions_goes_back_to_packages() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter]);
    // d on Detail deletes that version and closes its screen.
    s.press(&[KeyCode::Char('d')]);
    s.type_text("1.1.1");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 2, "back on Versions");
    s.press(&[KeyCode::Char('D')]);
    let dialog = s.screen();
    assert_contains(
        &dialog,
        &[
            "This deletes 3 rows from [registry]: every version of com.acme.helpdesk",
            "They go to the trash first",
            "Type the package id com.acme.helpdesk",
        ],
    );
    s.type_text("com.acme.helpdesk");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 1, "the package is gone");
    let screen = s.screen();
    assert_contains(&screen, &["8 packages · 8 rows"]);
    assert!(
        s.message()
            .1
            .contains("deleted 3 rows of com.acme.helpdesk (2.0.0, 1.1.0, 1.0.0)"),
        "{:?}",
        s.message()
    );
    assert_eq!(s.scratch.trash_files().len(), 2);
}

#[test]
fn trash_screen_lists_files_and_restores_them_exactly() {
    let mut s = session();
    let before = stored_rows(&s.scratch.db);
    s.open_helpdesk_versions();
    // 1.1.0, which the server does not load (1.0.0 wins the fixture's same-second tie): its
    // delete and restore change nothing the server loads.
    s.press(&[KeyCode::Char('G'), KeyCode::Char('k'), KeyCode::Char('d')]);
    s.type_text("1.1.0");
    s.press(&[KeyCode::Enter, KeyCode::Char('t')]);
    let trash = mask_times(&s.screen());
    assert_contains(
        &trash,
        &[
            "Packages › com.acme.helpdesk › Trash",
            "Trash (1) · [scratch]/data/trash/",
        ],
    );
    let row = line_with(&trash, &["delete", "com.acme.helpdesk 1.1.0"]);
    assert_contains(row, &["[registry]"]);
    assert_contains(
        &trash,
        &["file: [scratch]/data/trash/YYYYMMDDTHHMMSSZ-NNNNNNNNN-delete-com.acme.helpdesk-1.1.0.json"],
    );
    insta::assert_snapshot!("trash_screen", trash);

    s.press(&[KeyCode::Enter]);
    let confirm = s.screen();
    assert_contains(
        &confirm,
        &[
            "Restore 1 row from the trash file",
            "com.acme.helpdesk 1.1.0",
        ],
    );
    s.press(&[KeyCode::Char('y')]);
    assert!(
        s.message().1.starts_with("restored 1 row from ")
            && s.message().1.ends_with(": com.acme.helpdesk 1.1.0"),
        "{:?}",
        s.message()
    );
    assert_eq!(stored_rows(&s.scratch.db), before, "back exactly as it was");

    // A different row at the same version refuses the restore. (The restored row has a new
    // rowid, so it may no longer be last in the list: select it by name.)
    s.press(&[KeyCode::Esc]);
    s.type_text("/1.0.0");
    s.press(&[KeyCode::Enter, KeyCode::Char('d')]);
    s.type_text("1.0.0");
    s.press(&[KeyCode::Enter]);
    let other = s
        .registry()
        .export("com.acme.helpdesk", Some("1.1.0"))
        .unwrap()
        .replace("\"1.1.0\"", "\"1.0.0\"");
    // Published over a newer version (a downgrade the server would load): allowed here, this
    // test is about the trash.
    let allowing = PublishOptions {
        allow: Allow::EVERYTHING,
        ..PublishOptions::default()
    };
    s.registry()
        .publish(&other, "other.json", allowing)
        .unwrap();
    s.press(&[KeyCode::Char('t')]);
    let listed = s.screen();
    assert_eq!(
        listed.lines().filter(|l| l.contains(" delete ")).count(),
        2,
        "two trash files: {listed}"
    );
    s.press(&[KeyCode::Char('u'), KeyCode::Char('y')]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Error);
    assert!(
        text.starts_with("restore refused, nothing changed: restoring com.acme.helpdesk 1.0.0 would overwrite a different row"),
        "{text}"
    );
}

#[test]
fn connection_picker_switches_and_keeps_the_current_one_on_failure() {
    let scratch = Scratch::new();
    let copy = scratch.dir.path().join("copy.db");
    std::fs::copy(FIXTURE, &copy).unwrap();
    let cfg = scratch.dirs().config;
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[connections.copy]\ntarget = \"{}\"\n\n[connections.gone]\ntarget = \"{}/no/such/dir/x.db\"\n\n[connections.prod]\ntarget = \"libsql://db.example.invalid\"\ntoken_env = \"PROD_TOKEN\"\n",
            copy.display(),
            scratch.dir.path().display()
        ),
    )
    .unwrap();
    let mut s = Session::in_scratch(scratch, false);
    s.press(&[KeyCode::Char('c')]);
    let picker = s.screen();
    assert_contains(
        &picker,
        &[
            "▶ current            [registry]",
            "copy               [scratch]/copy.db",
            "from $PROD_TOKEN",
            "saved in [scratch]/cfg/config.toml",
        ],
    );
    insta::assert_snapshot!("connection_picker", picker);

    // A connection that cannot be opened leaves everything where it was.
    s.press(&[KeyCode::Down, KeyCode::Down, KeyCode::Enter]);
    let (kind, text) = s.message();
    assert_eq!(kind, MessageKind::Error);
    assert!(text.starts_with("cannot switch to gone: "), "{text}");
    assert!(
        text.ends_with(&format!("still on {}", s.scratch.db.display())),
        "{text}"
    );
    assert!(s.screen().contains(" pkgdeck  [registry]   read-write"));

    s.press(&[KeyCode::Char('c'), KeyCode::Down, KeyCode::Enter]);
    let screen = s.screen();
    assert_contains(
        &screen,
        &[" pkgdeck  [scratch]/copy.db   read-write   9 packages · 12 rows"],
    );
    assert_eq!(
        s.message().1,
        format!("connected to copy: {}", copy.display())
    );
    // Writes now go to the copy.
    s.type_text("/order");
    s.press(&[KeyCode::Enter, KeyCode::Char('D')]);
    s.type_text("order");
    s.press(&[KeyCode::Enter]);
    assert_eq!(stored_rows(&copy).len(), 11);
    assert_eq!(stored_rows(&s.scratch.db).len(), 12);
}

#[test]
fn read_only_marks_the_writes_and_refuses_them() {
    let mut s = Session::in_scratch(Scratch::new(), true);
    s.open_helpdesk_versions();
    let screen = s.screen();
    let footer = screen.lines().nth(48).unwrap();
    // The footer is cut at the terminal's width; the writes come last, struck through.
    assert!(
        footer.contains("(read-only) h hotfix  P promote  d delete"),
        "{footer}"
    );
    let buffer = s.buffer();
    let x = footer[..footer.find("d delete").unwrap()].width() as u16;
    assert!(buffer[(x, 48)].modifier.contains(Modifier::CROSSED_OUT));
    for (key, write) in [
        ('d', "delete"),
        ('D', "delete"),
        ('h', "hotfix"),
        ('p', "publish"),
        ('P', "promote"),
    ] {
        s.press(&[KeyCode::Char(key)]);
        assert!(s.console.app.modal().is_none(), "{key} opened something");
        assert_eq!(
            s.message(),
            (
                MessageKind::Error,
                format!("read-only: {write} refused (the console was opened with --read-only); nothing was changed")
            )
        );
    }
    s.press(&[KeyCode::Char('?')]);
    let help = s.screen();
    assert_contains(
        &help,
        &["d           delete this version (to the trash; you type the version to confirm) (read-only)"],
    );
    insta::assert_snapshot!("read_only_help", help);
    s.press(&[KeyCode::Esc, KeyCode::Char('t'), KeyCode::Enter]);
    assert!(s.console.app.modal().is_none());
    assert!(s.message().1.starts_with("read-only: restore refused"));
    assert_eq!(stored_rows(&s.scratch.db), stored_rows(Path::new(FIXTURE)));
}

#[test]
fn large_documents_are_validated_by_the_worker_once_typing_pauses() {
    let mut s = session();
    let filler: Vec<String> = (0..3000)
        .map(|i| format!("{{\"name\": \"object_{i}\", \"label\": \"Object number {i}\"}}"))
        .collect();
    let doc = format!(
        "{{\"manifest\": {{\"id\": \"com.acme.big\", \"version\": \"1.0\", \"type\": \"app\", \"name\": \"Big\"}},\n\"metadata\": {{\"objects\": [\n{}\n]}}}}",
        filler.join(",\n")
    );
    assert!(doc.len() > 64 * 1024);
    s.scratch.file("big.json", &doc);
    s.press(&[KeyCode::Char('p')]);
    s.type_text("big.json");
    s.press(&[KeyCode::Enter]);
    let screen = s.screen();
    assert!(
        screen.contains("✗ 1 problem"),
        "validated on opening: {screen}"
    );
    assert_contains(&screen, &["$.manifest.version"]);
    // A change marks it unchecked until the pause, then the worker answers.
    s.press(&[KeyCode::Char('x')]);
    assert!(s.screen().contains("checking…"));
    std::thread::sleep(Duration::from_millis(200));
    s.console.tick();
    s.settle();
    assert!(s.screen().contains("✗ invalid JSON"), "{}", s.screen());
}
