//! What an operator who lives in the console all day relies on, with the real binary in a
//! real terminal (tmux): nothing but the renderer writes to the screen, the clipboard, the
//! external editor, the mouse, changes made by other processes, production and read-only
//! connections, and an unreachable target. tmux is required: without it these fail.

use crate::support::assert::assert_contains;
use crate::support::scratch::Scratch;
use crate::support::tmux::Tmux;

#[test]
fn an_audit_log_that_cannot_be_written_refuses_the_publish_inside_the_console() {
    let scratch = Scratch::new();
    let before = crate::support::scratch::checksum(&scratch.db);
    // A directory where the audit log should be: the intent line cannot be written, so the
    // publish is refused before anything is written (no write goes unaudited).
    std::fs::create_dir_all(scratch.dirs().audit_log()).expect("block the audit log");
    let t = Tmux::console(&scratch);
    t.open_helpdesk_versions();
    t.keys(&["h"]);
    t.wait_for("✓ valid");
    t.keys(&["C-s"]);
    t.wait_for("Review: com.acme.helpdesk 1.1.2");
    t.keys(&["y"]);
    let screen = t.wait_for("not published: cannot append to the audit log");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].contains("pkgdeck") && lines[0].contains("9 packages"),
        "the header is intact:\n{screen}"
    );
    // The sentence is drawn inside the review and on the footer's message line, not written
    // across the screen.
    let last = lines.len() - 1;
    for (i, line) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("audit log"))
    {
        assert!(
            line.starts_with('│') || i == last,
            "outside the review and the footer: {line:?}\n{screen}"
        );
    }
    assert_contains(&screen, &["nothing was changed"]);
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), "EXIT=130");
    assert_eq!(
        crate::support::scratch::checksum(&scratch.db),
        before,
        "nothing was written"
    );
}

#[test]
fn y_copies_the_id_the_json_and_the_hash_with_osc_52() {
    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    // tmux keeps what an application writes with OSC 52 as a paste buffer.
    t.tmux(&["set", "-s", "set-clipboard", "on"]);
    t.wait_for("com.acme.crm");
    assert_eq!(t.buffer(), None, "no clipboard yet");

    t.keys(&["y"]);
    t.wait_for("copied com.acme.helpdesk@1.1.1 to the clipboard");
    assert_eq!(t.buffer().as_deref(), Some("com.acme.helpdesk@1.1.1"));

    t.open_helpdesk_versions();
    t.keys(&["Enter", "Tab"]);
    t.wait_for(r#""name": "helpdesk_ticket","#);
    t.keys(&["y"]);
    t.wait_for("copied objects item helpdesk_ticket of com.acme.helpdesk@1.1.1");
    let json = t.buffer().expect("the item's JSON on the clipboard");
    let item: serde_json::Value = serde_json::from_str(&json).expect("the copy is JSON");
    assert_eq!(item["name"], "helpdesk_ticket", "{json}");
    assert!(json.contains("\n  \"label\": \"Ticket\""), "pretty: {json}");

    t.keys(&["BTab", "BTab"]);
    t.wait_for("Stored hash");
    t.keys(&["y"]);
    t.wait_for("copied the hash of com.acme.helpdesk@1.1.1");
    assert_eq!(
        t.buffer().as_deref(),
        Some("8d7a2f007f57c0edbcd0405787a40601e85a0c0492d37b2c954cdc3059e9479b")
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

/// Where `needle` is on `screen`: (column, line), 0-based, in cells.
fn position(screen: &str, needle: &str) -> (u16, u16) {
    use unicode_width::UnicodeWidthStr;
    screen
        .lines()
        .enumerate()
        .find_map(|(y, l)| l.find(needle).map(|b| (l[..b].width() as u16, y as u16)))
        .unwrap_or_else(|| panic!("{needle:?} is not on screen:\n{screen}"))
}

/// An SGR mouse report, as a terminal sends it to the application: `button` at the cell
/// `(x, y)` (0-based), pressed, and released unless it is the wheel.
fn mouse(t: &Tmux, button: u8, at: (u16, u16)) {
    t.type_text(&mouse_report(button, at));
}

/// The SGR mouse report of one press (and its release, for a button).
fn mouse_report(button: u8, (x, y): (u16, u16)) -> String {
    let mut report = format!("\u{1b}[<{button};{};{}M", x + 1, y + 1);
    if button < 64 {
        report.push_str(&format!("\u{1b}[<{button};{};{}m", x + 1, y + 1));
    }
    report
}

/// Two clicks at `at` sent in one write, so that a loaded machine cannot stretch them past
/// the double-click window.
fn double_click(t: &Tmux, at: (u16, u16)) {
    t.type_text(&mouse_report(0, at).repeat(2));
}

#[test]
fn the_mouse_scrolls_selects_opens_and_switches_tabs() {
    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    let screen = t.wait_for("com.acme.crm");

    // A click selects the row under it.
    mouse(&t, 0, position(&screen, "com.acme.crm"));
    t.wait_for("│▶ com.acme.crm");
    // The wheel moves the selection: up twice, down once.
    mouse(&t, 64, (20, 10));
    mouse(&t, 64, (20, 10));
    t.wait_for("│▶ num");
    mouse(&t, 65, (20, 10));
    t.wait_for("│▶ sp");

    // A double click opens.
    let helpdesk = position(&t.screen(), "com.acme.helpdesk");
    double_click(&t, helpdesk);
    let versions = t.wait_until("the versions of com.acme.helpdesk", |s| {
        s.contains("Versions of com.acme.helpdesk") && s.contains("1.1.0")
    });
    let v110 = position(&versions, "1.1.0");
    double_click(&t, v110);
    // The tabs move once the version has loaded (their counts appear): wait for that first.
    let detail = t.wait_for("Manifest │ Objects (");
    assert_contains(&detail, &["Packages › com.acme.helpdesk › 1.1.0"]);

    // A click on a tab switches to it.
    mouse(&t, 0, position(&detail, "Integrity"));
    t.wait_for("Stored hash");
    let integrity = t.screen();
    mouse(&t, 0, position(&integrity, "Objects"));
    t.wait_until("the Objects tab (1.1.0 has none)", |s| {
        s.contains("┌ Objects (0)") && s.contains("no items")
    });

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn another_process_publishing_appears_within_two_seconds_without_a_key() {
    use std::time::{Duration, Instant};

    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    t.wait_for("com.acme.crm");
    t.keys(&["/"]);
    t.type_text("acme");
    t.keys(&["Enter"]);
    t.wait_for("filter: acme (2 of 9");
    t.keys(&["G"]);
    t.wait_for("│▶ com.acme.crm");

    let doc = scratch.file("live.json", crate::tui_operator::LIVE_DOCUMENT);
    let out = scratch.run(&["publish", &doc]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = Instant::now();
    let screen = loop {
        let screen = t.screen();
        if screen.contains("com.acme.live") && screen.contains("10 packages · 13 rows") {
            break screen;
        }
        assert!(
            published.elapsed() < Duration::from_secs(2),
            "the console did not show the new package within 2 s:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_contains(&screen, &["│▶ com.acme.crm", "filter: acme (3 of 10"]);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

/// Saves two connections to the scratch registry: `prod` (production) and `audit`
/// (read-only).
fn save_connections(scratch: &Scratch) {
    let config = scratch.dirs().config;
    std::fs::create_dir_all(&config).unwrap();
    let db = scratch.db.display().to_string();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[connections.prod]\ntarget = {db:?}\nproduction = true\n\n\
             [connections.audit]\ntarget = {db:?}\nread_only = true\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_production_connection_is_red_and_every_write_asks_for_its_name() {
    use crate::support::scratch::stored_rows;

    let scratch = Scratch::new();
    save_connections(&scratch);
    let t = Tmux::start(&scratch, &["-c", "prod"]);
    let screen = t.wait_for("com.acme.crm");
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains(" PRODUCTION "), "{header}");
    let styled = t.screen_with_styles();
    let first = styled.lines().next().unwrap_or_default();
    // Red background: SGR 41, or colour 1 of the 256 (as tmux writes it).
    assert!(
        first.contains("\u{1b}[41m") || first.contains("48;5;1m"),
        "a red header: {first:?}"
    );

    t.open_helpdesk_versions();
    t.keys(&["G"]);
    t.wait_for("│▶ 1.0.0");
    t.keys(&["d"]);
    t.wait_for("Type the version 1.0.0");
    t.type_text("1.0.0");
    t.keys(&["Enter"]);
    let asked = t.wait_for("Type the connection name prod");
    assert_contains(&asked, &["PRODUCTION: delete 1 row of com.acme.helpdesk"]);
    t.type_text("staging");
    t.keys(&["Enter"]);
    t.wait_for("nothing written: you typed \"staging\", not the connection name prod");
    assert_eq!(stored_rows(&scratch.db).len(), 12, "nothing was deleted");

    t.keys(&["d"]);
    t.wait_for("Type the version 1.0.0");
    t.type_text("1.0.0");
    t.keys(&["Enter"]);
    t.wait_for("Type the connection name prod");
    t.type_text("prod");
    t.keys(&["Enter"]);
    t.wait_for("deleted 1 row of com.acme.helpdesk (1.0.0)");
    assert_eq!(stored_rows(&scratch.db).len(), 11);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn a_read_only_connection_refuses_writes_from_its_config() {
    use crate::support::scratch::checksum;

    let scratch = Scratch::new();
    save_connections(&scratch);
    let before = checksum(&scratch.db);
    let t = Tmux::start(&scratch, &["-c", "audit"]);
    let screen = t.wait_for("com.acme.crm");
    assert!(
        screen
            .lines()
            .next()
            .unwrap_or_default()
            .contains("READ-ONLY"),
        "{screen}"
    );
    t.open_helpdesk_versions();
    t.keys(&["d"]);
    t.wait_for("read-only: delete refused");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert_eq!(
        checksum(&scratch.db),
        before,
        "the registry file is untouched"
    );
}

#[test]
fn an_unreachable_target_opens_the_connection_picker_with_the_reason() {
    let scratch = Scratch::new();
    // Nothing listens on port 1.
    let t = Tmux::start(&scratch, &["--db", "http://127.0.0.1:1"]);
    let picker = t.wait_until("the picker with the reason", |s| {
        s.contains("✗ cannot open http://127.0.0.1:1") && s.contains("(cannot open)")
    });
    assert_contains(&picker, &["Connections", "(cannot open)"]);
    t.keys(&["Escape"]);
    t.wait_until("the picker to close", |s| !s.contains("(cannot open)"));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}

#[test]
fn an_unresponsive_target_draws_at_once_and_quits_at_once() {
    use std::time::{Duration, Instant};

    use crate::support::responder::{Reply, Responder};

    let scratch = Scratch::new();
    let server = Responder::start(vec![Reply::hrana_ok().delayed(Duration::from_secs(60))]);
    let started = Instant::now();
    let t = Tmux::start(&scratch, &["--db", &server.url]);
    let first = t.wait_until("the first frame", |s| {
        s.contains(" pkgdeck ") && s.contains("connecting")
    });
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the first frame took {:?}",
        started.elapsed()
    );
    assert_contains(&first, &[&server.url]);
    let quit = Instant::now();
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert!(
        quit.elapsed() < Duration::from_secs(6),
        "quitting waited {:?} for a registry that does not answer",
        quit.elapsed()
    );
}

#[test]
fn quitting_closes_the_remote_stream() {
    use crate::support::sqld::{Sqld, SqldRules};
    use crate::support::tursodb::TursoServer;

    let scratch = Scratch::new();
    // sqld's streams (played in front of a real tursodb holding the fixture): every answer
    // hands out a baton, so a stream stays open until it is closed.
    let turso = TursoServer::start(&scratch.db);
    let server = Sqld::start(&turso.url, SqldRules::default());
    let t = Tmux::start(&scratch, &["--db", &server.url]);
    t.wait_until("the console to load", |s| s.contains("packages ·"));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    let (opened, closed) = server.stream_counts();
    assert!(opened > 0, "the console opened no stream");
    assert_eq!(
        server.open_streams(),
        0,
        "streams left open after quitting: {opened} opened, {closed} closed"
    );
}

#[test]
fn edits_left_by_ctrl_c_are_offered_back_and_go_once_published() {
    use pkgdeck::tui::drafts;

    let scratch = Scratch::new();
    let t = Tmux::console(&scratch);
    t.open_helpdesk_versions();
    t.keys(&["h"]);
    t.wait_for("✓ valid");
    // An edit nobody published: a summary in the manifest.
    t.keys(&["Down", "Down", "End"]);
    t.type_text(" \"summary\": \"kept across sessions\",");
    t.wait_for("modified");
    t.keys(&["C-c"]);
    assert_eq!(t.wait_exit(), "EXIT=130");
    let kept = drafts::list(&scratch.dirs());
    assert_eq!(kept.len(), 1, "one draft kept");
    drop(t);

    let t = Tmux::console(&scratch);
    let offered = t.wait_for("Unsaved drafts (1)");
    assert_contains(&offered, &["the hotfix of com.acme.helpdesk 1.1.1 → 1.1.2"]);
    t.keys(&["Enter"]);
    let editor = t.wait_until("the resumed text, validated", |s| {
        s.contains("kept across sessions") && s.contains("✓ valid")
    });
    assert_contains(&editor, &["Hotfix com.acme.helpdesk 1.1.1 → 1.1.2"]);
    t.keys(&["C-s"]);
    t.wait_for("Review: com.acme.helpdesk 1.1.2");
    t.keys(&["y"]);
    t.wait_for("read back and verified: ok");
    t.keys(&["Enter", "q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert!(
        drafts::list(&scratch.dirs()).is_empty(),
        "the published draft is gone"
    );
    let (_, stored) = (
        (),
        crate::support::scratch::stored_rows(&scratch.db)
            .into_iter()
            .find(|r| r.0 == "com.acme.helpdesk" && r.1 == "1.1.2")
            .expect("the hotfix row"),
    );
    assert!(stored.2.contains("kept across sessions"), "{}", stored.2);
}

/// A shell script that stands in for the operator's editor, made executable.
fn editor_script(scratch: &Scratch, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = scratch.file(name, format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn e_edits_in_the_operators_editor_then_reviews_and_publishes() {
    let scratch = Scratch::new();
    // The "editor" renames the ticket object's label in the file it is given.
    let editor = editor_script(
        &scratch,
        "editor.sh",
        r#"sed -i 's/"label": "Ticket"/"label": "Tickets"/' "$1""#,
    );
    let t = Tmux::start_with(
        &scratch,
        &[("VISUAL", &editor), ("EDITOR", &editor)],
        &["--db", &scratch.db.display().to_string()],
    );
    t.open_helpdesk_versions();
    t.keys(&["e"]);
    let review = t.wait_for("Review: com.acme.helpdesk 1.1.2");
    assert_contains(
        &review,
        &[r#"-   "label": "Ticket","#, r#"+   "label": "Tickets","#],
    );
    t.keys(&["y"]);
    t.wait_for("read back and verified: ok");
    t.keys(&["Enter", "q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    let row = crate::support::scratch::stored_rows(&scratch.db)
        .into_iter()
        .find(|r| r.0 == "com.acme.helpdesk" && r.1 == "1.1.2")
        .expect("the hotfix row");
    assert!(row.3.contains(r#""label":"Tickets""#), "{}", row.3);
    assert!(
        pkgdeck::tui::drafts::list(&scratch.dirs()).is_empty(),
        "the draft the editor worked on went with the publish"
    );
}

#[test]
fn an_editor_that_fails_leaves_the_text_as_it_was() {
    let scratch = Scratch::new();
    let editor = editor_script(&scratch, "fails.sh", r#"echo broken > "$1"; exit 3"#);
    let t = Tmux::start_with(
        &scratch,
        &[("VISUAL", &editor), ("EDITOR", &editor)],
        &["--db", &scratch.db.display().to_string()],
    );
    t.open_helpdesk_versions();
    t.keys(&["e"]);
    let screen = t.wait_for("exited with exit status: 3: its text is not taken");
    assert_contains(
        &screen,
        &[
            "Hotfix com.acme.helpdesk 1.1.1 → 1.1.2",
            r#""version": "1.1.2""#,
        ],
    );
    t.keys(&["Escape", "q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}
