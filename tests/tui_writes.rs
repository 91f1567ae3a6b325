//! The console's writes, drawn: the editor with live validation, the review and its diff,
//! the delete dialog, the trash screen with restore, the connection picker, and read-only
//! mode. The app runs on a scratch copy of the fixture registry with its real worker thread;
//! each test waits for the worker's answers (bounded) before it draws into a 160×50
//! `TestBackend`. Paths, times and trash file names are masked in snapshots (with
//! placeholders of the same width, so the layout is what the operator sees).

#[path = "common/console.rs"]
mod console;
#[path = "common/tmux.rs"]
mod tmux;

use std::path::Path;
use std::time::Duration;

use console::{text_of, Session};
use crossterm::event::KeyCode;
use pkgdeck::registry::trash::Trash;
use pkgdeck::registry::{PublishOptions, Registry};
use pkgdeck::tui::message::MessageKind;
use pkgdeck::tui::screens::Modal;
use pkgdeck::tui::Console;
use ratatui::style::{Color, Modifier};
use tmux::{first_column, stored_rows, Scratch};
use unicode_width::UnicodeWidthStr;

impl Session {
    fn open(scratch: Scratch, read_only: bool) -> Session {
        let cwd = scratch.dir.path().to_owned();
        let console = Console::open_in(scratch.registry(read_only), scratch.dirs(), cwd)
            .expect("start the console");
        Session::start(scratch, console)
    }

    fn new() -> Session {
        Session::open(Scratch::new(), false)
    }

    /// The screen as text with the scratch paths masked.
    fn screen(&self) -> String {
        mask_paths(&text_of(&self.buffer()), &self.scratch)
    }

    fn message(&self) -> (MessageKind, String) {
        let m = self.console.app.message().expect("a message in the footer");
        (m.kind, m.text.clone())
    }

    fn registry(&self) -> Registry {
        self.scratch.registry(false)
    }
}

fn mask_paths(screen: &str, scratch: &Scratch) -> String {
    screen
        .replace(&scratch.db.display().to_string(), "[registry]")
        .replace(&scratch.dir.path().display().to_string(), "[scratch]")
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

#[test]
fn editor_shows_a_syntax_error_with_its_line_and_column() {
    let mut s = Session::new();
    std::fs::write(s.scratch.dir.path().join("broken.json"), BROKEN).unwrap();
    s.press(&[KeyCode::Char('p')]);
    s.type_text("bro");
    s.press(&[KeyCode::Tab]);
    let prompt = s.screen();
    assert!(prompt.contains("> broken.json█"), "Tab completes: {prompt}");
    s.press(&[KeyCode::Enter]);
    assert!(matches!(s.console.app.modal(), Some(Modal::Editor(_))));
    let screen = s.screen();
    assert!(screen.contains("Publish [scratch]/broken.json"), "{screen}");
    assert!(screen.contains("✗ invalid JSON"), "{screen}");
    assert!(
        screen.contains("• line 5, column 5: expected ',' or '}' after an object member"),
        "{screen}"
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
    assert!(
        text.contains("not valid JSON yet (line 5, column 5)"),
        "{text}"
    );
    s.ctrl('g');
    let Some(Modal::Editor(e)) = s.console.app.modal() else {
        panic!("the editor is open")
    };
    assert_eq!(e.cursor(), (4, 4));

    // Fixing it: the comma the error points at.
    s.press(&[KeyCode::Up, KeyCode::End]);
    s.type_text(",");
    let fixed = s.screen();
    assert!(fixed.contains("✓ valid"), "{fixed}");
    assert!(fixed.contains("com.acme.fresh 1.0.0 · new hash"), "{fixed}");
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
    let mut s = Session::new();
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
    std::fs::write(
        s.scratch.dir.path().join("latin1.json"),
        b"{\"a\":\"\xe9\"}",
    )
    .unwrap();
    s.press(&[KeyCode::Char('p')]);
    s.type_text("latin1.json");
    s.press(&[KeyCode::Enter]);
    assert!(
        s.message().1.contains("is not UTF-8 text"),
        "{:?}",
        s.message()
    );
    assert_eq!(
        stored_rows(&s.scratch.db),
        stored_rows(Path::new(tmux::FIXTURE))
    );
}

#[test]
fn hotfix_review_shows_the_diff_then_publishes_and_verifies() {
    let mut s = Session::new();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('h')]);
    let editor = s.screen();
    assert!(
        editor.contains("Hotfix com.acme.helpdesk 1.1.1 → 1.1.2"),
        "{editor}"
    );
    assert!(editor.contains(r#""version": "1.1.2","#), "{editor}");
    // Change the label of the one object: line 13 is `"label": "Ticket",`.
    s.press(&[KeyCode::Down; 12]);
    s.press(&[KeyCode::End, KeyCode::Left, KeyCode::Left]);
    s.type_text("s");
    s.ctrl('s');
    let Some(Modal::Review(_)) = s.console.app.modal() else {
        panic!("the review opens: {}", s.screen())
    };
    let review = s.screen();
    assert!(
        review.contains("Publish com.acme.helpdesk 1.1.2 to [registry]"),
        "{review}"
    );
    assert!(
        review.contains("writes      a new row: com.acme.helpdesk has no version 1.1.2 yet"),
        "{review}"
    );
    assert!(
        review.contains("Diff against com.acme.helpdesk 1.1.1 (the current latest)"),
        "{review}"
    );
    assert!(
        review.contains(r#"~ version: "1.1.1" → "1.1.2""#),
        "{review}"
    );
    assert!(
        review.contains("objects: 0 added, 0 removed, 1 changed"),
        "{review}"
    );
    assert!(review.contains(r#"-   "label": "Ticket","#), "{review}");
    assert!(review.contains(r#"+   "label": "Tickets","#), "{review}");
    let buffer = s.buffer();
    let colour = |needle: &str| {
        let text = text_of(&buffer);
        let (y, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        let x = line[..line.find(needle).unwrap()].width() as u16;
        buffer[(x, y as u16)].fg
    };
    assert_eq!(colour(r#"+   "label": "Tickets""#), Color::Green);
    assert_eq!(colour(r#"-   "label": "Ticket""#), Color::Red);
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
    assert!(
        done.contains("✓ published com.acme.helpdesk 1.1.2"),
        "{done}"
    );
    assert!(done.contains("✓ read back and verified: ok"), "{done}");
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
    let mut s = Session::new();
    let old = s
        .registry()
        .require("com.acme.helpdesk", Some("1.1.0"))
        .unwrap();
    let doc = s
        .registry()
        .export("com.acme.helpdesk", Some("1.1.0"))
        .unwrap()
        .replace("re-published", "fixed in place")
        .replace("\"views\":[]", "\"views\":[{\"name\":\"all_cases\"}]");
    std::fs::write(s.scratch.dir.path().join("over.json"), doc).unwrap();
    s.press(&[KeyCode::Char('p')]);
    s.type_text("over.json");
    s.press(&[KeyCode::Enter]);
    s.ctrl('s');
    let review = s.screen();
    assert!(
        review.contains("OVERWRITES  the stored com.acme.helpdesk 1.1.0"),
        "{review}"
    );
    assert!(
        review.contains("the old row is saved to the trash first: [scratch]/data/trash/"),
        "{review}"
    );
    assert!(
        review.contains("Diff against com.acme.helpdesk 1.1.0 (the version it replaces)"),
        "{review}"
    );
    s.press(&[KeyCode::Char('y')]);
    let done = s.screen();
    assert!(done.contains("✓ read back and verified: ok"), "{done}");
    assert!(
        done.contains("the old row was saved to [scratch]/data/trash/"),
        "{done}"
    );
    let trash = s.scratch.trash_files();
    assert_eq!(trash.len(), 1);
    let saved = Trash::read(&trash[0]).unwrap();
    assert_eq!(saved[0].hash, old.hash);
    assert_eq!(saved[0].metadata, old.metadata);
}

#[test]
fn delete_dialog_says_what_goes_and_needs_the_version_typed() {
    let mut s = Session::new();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('G'), KeyCode::Char('d')]);
    let Some(Modal::Confirm(_)) = s.console.app.modal() else {
        panic!("the dialog opens: {}", s.screen())
    };
    let dialog = s.screen();
    assert!(
        dialog.contains("This deletes 1 row from [registry]: version 1.0.0 of com.acme.helpdesk"),
        "{dialog}"
    );
    assert!(
        dialog.contains("It goes to the trash first: [scratch]/data/trash/"),
        "{dialog}"
    );
    assert!(
        dialog.contains("Type the version 1.0.0 and press Enter"),
        "{dialog}"
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
    assert_eq!(
        stored_rows(&s.scratch.db),
        stored_rows(Path::new(tmux::FIXTURE))
    );
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
    let mut s = Session::new();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter]);
    // d on Detail deletes that version and closes its screen.
    s.press(&[KeyCode::Char('d')]);
    s.type_text("1.1.1");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 2, "back on Versions");
    s.press(&[KeyCode::Char('D')]);
    let dialog = s.screen();
    assert!(
        dialog.contains("This deletes 3 rows from [registry]: every version of com.acme.helpdesk"),
        "{dialog}"
    );
    assert!(dialog.contains("They go to the trash first"), "{dialog}");
    assert!(
        dialog.contains("Type the package id com.acme.helpdesk"),
        "{dialog}"
    );
    s.type_text("com.acme.helpdesk");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 1, "the package is gone");
    let screen = s.screen();
    assert!(screen.contains("8 packages · 8 rows"), "{screen}");
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
    let mut s = Session::new();
    let before = stored_rows(&s.scratch.db);
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('G'), KeyCode::Char('d')]);
    s.type_text("1.0.0");
    s.press(&[KeyCode::Enter, KeyCode::Char('t')]);
    let trash = mask_times(&s.screen());
    assert!(
        trash.contains("Packages › com.acme.helpdesk › Trash"),
        "{trash}"
    );
    assert!(
        trash.contains("Trash (1) · [scratch]/data/trash/"),
        "{trash}"
    );
    let row = trash
        .lines()
        .find(|l| l.contains("delete") && l.contains("com.acme.helpdesk 1.0.0"))
        .unwrap_or_else(|| panic!("{trash}"));
    assert!(row.contains("[registry]"), "{row}");
    assert!(
        trash.contains("file: [scratch]/data/trash/YYYYMMDDTHHMMSSZ-NNNNNNNNN-delete-com.acme.helpdesk-1.0.0.json"),
        "{trash}"
    );
    insta::assert_snapshot!("trash_screen", trash);

    s.press(&[KeyCode::Enter]);
    let confirm = s.screen();
    assert!(
        confirm.contains("Restore 1 row from the trash file"),
        "{confirm}"
    );
    assert!(confirm.contains("com.acme.helpdesk 1.0.0"), "{confirm}");
    s.press(&[KeyCode::Char('y')]);
    assert!(
        s.message().1.starts_with("restored 1 row from ")
            && s.message().1.ends_with(": com.acme.helpdesk 1.0.0"),
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
    s.registry()
        .publish(&other, "other.json", PublishOptions::default())
        .unwrap();
    s.press(&[KeyCode::Char('t')]);
    let listed = s.screen();
    assert_eq!(
        listed.lines().filter(|l| l.contains("  delete  ")).count(),
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
    std::fs::copy(tmux::FIXTURE, &copy).unwrap();
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
    let mut s = Session::open(scratch, false);
    s.press(&[KeyCode::Char('c')]);
    let picker = s.screen();
    assert!(
        picker.contains("▶ current            [registry]"),
        "{picker}"
    );
    assert!(
        picker.contains("copy               [scratch]/copy.db"),
        "{picker}"
    );
    assert!(picker.contains("from $PROD_TOKEN"), "{picker}");
    assert!(
        picker.contains("saved in [scratch]/cfg/config.toml"),
        "{picker}"
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
    assert!(
        screen.contains(" pkgdeck  [scratch]/copy.db   read-write   9 packages · 12 rows"),
        "{screen}"
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
    let mut s = Session::open(Scratch::new(), true);
    s.open_helpdesk_versions();
    let screen = s.screen();
    let footer = screen.lines().nth(48).unwrap();
    assert!(
        footer.ends_with("(read-only) h hotfix  d delete  D delete all  p publish"),
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
    assert!(
        help.contains("d           delete this version (to the trash; you type the version to confirm) (read-only)"),
        "{help}"
    );
    insta::assert_snapshot!("read_only_help", help);
    s.press(&[KeyCode::Esc, KeyCode::Char('t'), KeyCode::Enter]);
    assert!(s.console.app.modal().is_none());
    assert!(s.message().1.starts_with("read-only: restore refused"));
    assert_eq!(
        stored_rows(&s.scratch.db),
        stored_rows(Path::new(tmux::FIXTURE))
    );
}

#[test]
fn large_documents_are_validated_by_the_worker_once_typing_pauses() {
    let mut s = Session::new();
    let filler: Vec<String> = (0..3000)
        .map(|i| format!("{{\"name\": \"object_{i}\", \"label\": \"Object number {i}\"}}"))
        .collect();
    let doc = format!(
        "{{\"manifest\": {{\"id\": \"com.acme.big\", \"version\": \"1.0\", \"type\": \"app\", \"name\": \"Big\"}},\n\"metadata\": {{\"objects\": [\n{}\n]}}}}",
        filler.join(",\n")
    );
    assert!(doc.len() > 64 * 1024);
    std::fs::write(s.scratch.dir.path().join("big.json"), &doc).unwrap();
    s.press(&[KeyCode::Char('p')]);
    s.type_text("big.json");
    s.press(&[KeyCode::Enter]);
    let screen = s.screen();
    assert!(
        screen.contains("✗ 1 problem"),
        "validated on opening: {screen}"
    );
    assert!(screen.contains("$.manifest.version"), "{screen}");
    // A change marks it unchecked until the pause, then the worker answers.
    s.press(&[KeyCode::Char('x')]);
    assert!(s.screen().contains("checking…"));
    std::thread::sleep(Duration::from_millis(200));
    s.console.tick();
    s.settle();
    assert!(s.screen().contains("✗ invalid JSON"), "{}", s.screen());
}
