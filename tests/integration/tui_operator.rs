//! What an operator who lives in the console all day relies on, drawn into a `TestBackend`
//! with the real worker thread on a scratch copy of the fixture: footer messages that
//! expire, integrity results kept by hash, sorts, marks and diffs, search in JSON, the
//! command line, the mouse, live refresh and drafts.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use pkgdeck::tui::message::MessageKind;

use crate::support::assert::assert_contains;
use crate::support::console::Session;
use crate::support::scratch::Scratch;

fn session() -> Session {
    Session::in_scratch(Scratch::new(), false)
}

/// The last line of the screen: the footer's message line.
fn footer(s: &Session) -> String {
    s.screen().lines().last().unwrap_or_default().to_owned()
}

#[test]
fn footer_messages_expire_news_sooner_than_errors() {
    let mut s = session();
    s.press(&[KeyCode::Char('v')]);
    assert_contains(&footer(&s), &["verify com.acme.helpdesk: ok"]);
    let now = Instant::now();
    assert!(!s.console.app.expire_messages(now + Duration::from_secs(2)));
    assert_contains(&footer(&s), &["verify com.acme.helpdesk: ok"]);
    assert!(s.console.app.expire_messages(now + Duration::from_secs(7)));
    assert_eq!(
        footer(&s).trim(),
        "",
        "the news is gone after a few seconds"
    );

    // An error stays longer.
    let db = rusqlite::Connection::open(&s.scratch.db).unwrap();
    db.execute_batch("DROP TABLE sys_packages").unwrap();
    s.press(&[KeyCode::Char('r')]);
    assert_eq!(s.message().0, MessageKind::Error);
    let now = Instant::now();
    s.console.app.expire_messages(now + Duration::from_secs(7));
    assert_contains(&footer(&s), &["no such table: sys_packages"]);
    s.console.app.expire_messages(now + Duration::from_secs(16));
    assert_eq!(footer(&s).trim(), "");
}

/// The integrity badge at the end of a package's row on the Packages screen.
fn badge(screen: &str, id: &str) -> String {
    crate::support::screen::row_of(screen, id)
        .map(|l| {
            l.trim_end_matches('│')
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_else(|| panic!("no row {id}:\n{screen}"))
}

#[test]
fn integrity_results_outlive_refreshes_and_writes_while_the_hash_holds() {
    use crossterm::event::{KeyEvent, KeyModifiers};
    use pkgdeck::registry::PublishOptions;

    let mut s = session();
    s.key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    s.press(&[KeyCode::Esc]);
    let verified = s.screen();
    for id in ["com.acme.helpdesk", "com.acme.crm", "order"] {
        assert_eq!(badge(&verified, id), "ok", "{verified}");
    }

    // Another process overwrites crm 1.2.0 with other contents (a new hash).
    let crm = s.registry().export("com.acme.crm", Some("1.2.0")).unwrap();
    let changed = crm.replace("\"name\":\"CRM\"", "\"name\":\"CRM 2\"");
    assert_ne!(crm, changed, "the export names the package: {crm}");
    s.registry()
        .publish(
            &changed,
            "other.json",
            PublishOptions {
                allow_overwrite: true,
                replacing_hash: None,
                allow: pkgdeck::registry::Allow::NOTHING,
            },
        )
        .unwrap();
    s.press(&[KeyCode::Char('r')]);
    let refreshed = s.screen();
    assert_eq!(badge(&refreshed, "com.acme.crm"), "unknown", "{refreshed}");
    assert_eq!(badge(&refreshed, "com.acme.helpdesk"), "ok", "{refreshed}");
    assert_eq!(badge(&refreshed, "order"), "ok", "{refreshed}");

    // A write in the console: deleting helpdesk 1.0.0 leaves three versions verified ok.
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('G'), KeyCode::Char('d')]);
    s.type_text("1.0.0");
    s.press(&[KeyCode::Enter]);
    assert_contains(
        &s.message().1,
        &["deleted 1 row of com.acme.helpdesk (1.0.0)"],
    );
    let versions = s.screen();
    for v in ["1.1.1", "2.0.0", "1.1.0"] {
        let row = crate::support::screen::row_of(&versions, v).unwrap_or_default();
        assert!(
            row.trim_end_matches('│').trim_end().ends_with("ok"),
            "{v}: {versions}"
        );
    }
    s.press(&[KeyCode::Esc, KeyCode::Esc]);
    assert_eq!(
        badge(&s.screen(), "com.acme.helpdesk"),
        "ok",
        "{}",
        s.screen()
    );
}

#[test]
fn a_failure_opened_from_verify_all_lands_on_its_integrity_tab_under_its_own_package() {
    use crossterm::event::{KeyEvent, KeyModifiers};

    let scratch = Scratch::new();
    scratch.tamper();
    let mut s = Session::in_scratch(scratch, false);
    // Somewhere else first: the versions of crm.
    s.type_text("/crm");
    s.press(&[KeyCode::Enter, KeyCode::Enter]);
    assert_contains(&s.screen(), &["Packages › com.acme.crm"]);
    s.key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    s.press(&[KeyCode::Enter]);
    let screen = s.screen();
    assert_contains(
        &screen,
        &[
            " Packages › com.acme.helpdesk › 1.0.0",
            "Result          FAIL hash_mismatch",
        ],
    );
    assert!(
        !screen.contains("com.acme.crm ›"),
        "no mixed breadcrumb: {screen}"
    );
    assert_eq!(s.console.app.screens().len(), 3);
}

#[test]
fn shift_s_reverses_the_sort_and_failures_can_come_first() {
    use crate::support::screen::first_column;
    use crossterm::event::{KeyEvent, KeyModifiers};

    let scratch = Scratch::new();
    scratch.tamper(); // helpdesk 1.0.0
    let db = rusqlite::Connection::open(&scratch.db).unwrap();
    db.execute(
        "UPDATE sys_packages SET metadata = '{\"objects\":[]}' WHERE id = 'com.acme.crm'",
        [],
    )
    .unwrap();
    let mut s = Session::in_scratch(scratch, false);
    let newest = first_column(&s.screen())[1..].to_vec();
    assert_eq!(newest.last().map(String::as_str), Some("com.acme.crm"));

    s.key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    let reversed = s.screen();
    assert_contains(&reversed, &["sort: newest (reversed)"]);
    let mut expected = newest.clone();
    expected.reverse();
    assert_eq!(first_column(&reversed)[1..], expected, "{reversed}");
    s.key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));

    s.key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    s.press(&[KeyCode::Esc]);
    for _ in 0..5 {
        s.press(&[KeyCode::Char('s')]);
    }
    let failures = s.screen();
    assert_contains(&failures, &["sort: failures first"]);
    let ids = first_column(&failures)[1..].to_vec();
    assert_eq!(
        ids[..2],
        ["com.acme.helpdesk", "com.acme.crm"],
        "the failed packages first, in registry order: {failures}"
    );
    s.key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    let ids = first_column(&s.screen())[1..].to_vec();
    assert_eq!(ids[ids.len() - 2..], ["com.acme.crm", "com.acme.helpdesk"]);

    // Versions: the failed 1.0.0 (the oldest) comes first.
    s.key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    s.press(&[KeyCode::Char('g'), KeyCode::Enter]);
    for _ in 0..3 {
        s.press(&[KeyCode::Char('s')]);
    }
    let versions = s.screen();
    assert_contains(&versions, &["sort: failures first"]);
    assert_eq!(first_column(&versions)[1], "1.0.0", "{versions}");
}

#[test]
fn m_marks_a_version_and_equals_diffs_the_selected_one_against_it() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('=')]);
    assert_eq!(s.message().0, MessageKind::Warning);
    assert_contains(&s.message().1, &["no version is marked"]);

    s.press(&[KeyCode::Char('G'), KeyCode::Char('m')]);
    let marked = s.screen();
    let row = crate::support::screen::line_with(&marked, &["1.0.0", "◆"]);
    assert!(
        row.contains("▶"),
        "the marked row is the selected one: {marked}"
    );
    s.press(&[KeyCode::Char('g'), KeyCode::Char('=')]);
    let diff = s.screen();
    assert_contains(
        &diff,
        &[
            "Diff: com.acme.helpdesk 1.0.0 → 1.1.1",
            "(marked → selected)",
            r#"~ version: "1.0.0" → "1.1.1""#,
        ],
    );
    s.press(&[KeyCode::Esc]);
    assert!(s.console.app.modal().is_none(), "Esc closes the diff");
    s.press(&[KeyCode::Char('G'), KeyCode::Char('m')]);
    assert!(!s.screen().contains('◆'), "m again unmarks");
}

/// The text of the cells drawn in `bg` on screen, line by line (the highlighted matches).
fn cells_with_background(s: &Session, bg: ratatui::style::Color) -> Vec<String> {
    let buffer = s.buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| &buffer[(x, y)])
                .filter(|c| c.bg == bg)
                .map(|c| c.symbol())
                .collect::<String>()
        })
        // Not the search line itself, drawn in the filter colours.
        .filter(|l| !l.is_empty() && !l.starts_with(" /"))
        .collect()
}

#[test]
fn slash_searches_a_json_view_with_highlighted_matches_and_n_and_shift_n() {
    use ratatui::style::Color;

    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter]);
    // The manifest is a JSON view: / searches it.
    s.type_text("/HELPDESK");
    let typing = s.screen();
    assert_contains(&typing, &["/HELPDESK█ · 3 matches", "Enter keep"]);
    assert_eq!(
        cells_with_background(&s, Color::LightRed),
        ["helpdesk"],
        "the current match, whatever its case: {typing}"
    );
    assert_eq!(
        cells_with_background(&s, Color::Yellow),
        ["Helpdesk", "Helpdesk"],
        "the other matches: {typing}"
    );
    s.press(&[KeyCode::Esc]);
    assert!(!s.screen().contains("/HELPDESK"), "Esc ends the search");

    // An item's JSON: Enter moves into it, / searches it, n and N step through the matches.
    s.press(&[KeyCode::Tab, KeyCode::Enter]);
    // Every key ends with `":`.
    s.type_text("/\":");
    s.press(&[KeyCode::Enter]);
    let kept = s.screen();
    let total: usize = kept
        .lines()
        .find_map(|l| l.split(": match 1 of ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no match count: {kept}"));
    assert!(total >= 2, "{kept}");
    assert_eq!(cells_with_background(&s, Color::LightRed), ["\":"]);
    assert_eq!(
        cells_with_background(&s, Color::Yellow)
            .concat()
            .matches("\":")
            .count(),
        total - 1,
        "the other matches on screen are highlighted too: {kept}"
    );
    s.press(&[KeyCode::Char('n')]);
    assert_contains(&s.screen(), &[&format!(": match 2 of {total} ")]);
    s.press(&[KeyCode::Char('N'), KeyCode::Char('N')]);
    assert_contains(&s.screen(), &[&format!(": match {total} of {total} ")]);

    // Esc ends the search, then leaves the JSON, then the screen.
    s.press(&[KeyCode::Esc, KeyCode::Esc]);
    assert_eq!(s.console.app.screens().len(), 3, "still on the detail");
    s.press(&[KeyCode::Char('/')]);
    assert_contains(&s.screen(), &["/█"]);
    assert!(
        s.console
            .app
            .screen()
            .component()
            .list()
            .is_some_and(|l| l.editing()),
        "on the item list, / filters it"
    );
}

#[test]
fn colon_jumps_to_a_package_a_version_or_a_screen_with_completion() {
    let mut s = session();
    s.type_text(":com.acme.h");
    s.press(&[KeyCode::Tab]);
    assert_contains(&s.screen(), &[":com.acme.helpdesk█"]);
    s.press(&[KeyCode::Enter]);
    let versions = s.screen();
    assert_contains(
        &versions,
        &[
            " Packages › com.acme.helpdesk\n",
            "Versions of com.acme.helpdesk",
        ],
    );

    // Several matches: the common start, and the list.
    s.type_text(":co");
    s.press(&[KeyCode::Tab]);
    let listed = s.screen();
    assert_contains(
        &listed,
        &[
            ":co█",
            "connections  (switch to a saved connection)",
            "com.acme.crm",
        ],
    );
    s.type_text("m");
    s.press(&[KeyCode::Tab]);
    let listed = s.screen();
    assert_contains(
        &listed,
        &[":com.acme.█", "com.acme.crm", "com.acme.helpdesk"],
    );
    assert!(!listed.contains("connections  ("), "{listed}");
    s.type_text("crm@1.2.0");
    s.press(&[KeyCode::Enter]);
    let detail = s.screen();
    assert_contains(
        &detail,
        &["Packages › com.acme.crm › 1.2.0", r#""id": "com.acme.crm""#],
    );

    s.type_text(":tr");
    s.press(&[KeyCode::Tab]);
    assert_contains(&s.screen(), &[":trash█"]);
    s.press(&[KeyCode::Enter]);
    assert_contains(&s.screen(), &["Packages › com.acme.crm › 1.2.0 › Trash"]);
    s.type_text(":packages");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 1, "back on Packages");

    s.type_text(":com.acme.nothing");
    s.press(&[KeyCode::Enter]);
    assert_eq!(s.message().0, MessageKind::Warning);
    assert_contains(
        &s.message().1,
        &[":com.acme.nothing: no package and no command by that name"],
    );
    assert!(s.console.app.modal().is_none());
}

/// A package another process publishes while the console watches; its id holds "acme".
pub const LIVE_DOCUMENT: &str = r#"{"manifest":{"id":"com.acme.live","version":"1.0.0","type":"app","name":"Live"},"metadata":{}}"#;

/// Lets the console ask whether the registry changed (its live poll), and waits for the
/// answer and for whatever reload it started.
fn poll(s: &mut Session) {
    std::thread::sleep(Duration::from_millis(600));
    s.console.tick();
    s.settle();
}

#[test]
fn another_process_publishing_shows_up_highlighted_keeping_selection_and_filter() {
    use pkgdeck::registry::PublishOptions;
    use ratatui::style::Color;

    let mut s = session();
    s.type_text("/acme");
    s.press(&[KeyCode::Enter, KeyCode::Char('G')]);
    assert_contains(&s.screen(), &["│▶ com.acme.crm", "filter: acme (2 of 9"]);
    poll(&mut s); // the first mark: nothing to compare with yet
    assert!(!s.screen().contains("com.acme.live"));

    s.registry()
        .publish(LIVE_DOCUMENT, "live.json", PublishOptions::default())
        .unwrap();
    poll(&mut s);
    let screen = s.screen();
    assert_contains(
        &screen,
        &[
            "com.acme.live",
            "│▶ com.acme.crm",
            "filter: acme (3 of 10",
            "10 packages · 13 rows",
            "the registry changed (another process wrote to it): reloaded",
        ],
    );
    let row = |buffer: &ratatui::buffer::Buffer, id: &str| {
        let text = crate::support::screen::text_of(buffer);
        let y = text.lines().position(|l| l.contains(id)).expect("the row");
        buffer[(5, y as u16)].bg
    };
    let now = Instant::now();
    assert_eq!(
        row(&s.buffer_at(now), "com.acme.live"),
        Color::Green,
        "the new row is highlighted"
    );
    assert_eq!(
        row(&s.buffer_at(now), "com.acme.helpdesk"),
        Color::Reset,
        "an unchanged row is not"
    );
    assert_eq!(
        row(&s.buffer_at(now + Duration::from_secs(4)), "com.acme.live"),
        Color::Reset,
        "the highlight ends after a few seconds"
    );

    // Nothing more happened: the next poll changes nothing.
    poll(&mut s);
    assert_contains(&s.screen(), &["│▶ com.acme.crm"]);
}

#[test]
fn a_publish_on_production_waits_for_the_connection_name() {
    use crate::support::scratch::stored_rows;
    use pkgdeck::tui::screens::Modal;

    let scratch = Scratch::new();
    let config = scratch.dirs().config;
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[connections.prod]\ntarget = {:?}\nproduction = true\n",
            scratch.db.display()
        ),
    )
    .unwrap();
    let mut s = Session::connect(
        scratch,
        pkgdeck::connect::Request {
            db: None,
            connection: Some("prod".into()),
            read_only: false,
        },
    );
    assert!(s.console.app.production());
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('h')]);
    s.ctrl('s');
    s.press(&[KeyCode::Char('y')]);
    let asked = s.screen();
    assert_contains(
        &asked,
        &[
            "PRODUCTION: publish com.acme.helpdesk 1.1.2",
            "Type the connection name prod",
        ],
    );
    assert!(matches!(s.console.app.modal(), Some(Modal::Confirm(_))));
    s.press(&[KeyCode::Esc]);
    assert!(
        matches!(s.console.app.modal(), Some(Modal::Review(r)) if !r.publishing()),
        "back on the review, which y can confirm again"
    );
    assert_eq!(stored_rows(&s.scratch.db).len(), 12);
    s.press(&[KeyCode::Char('y')]);
    s.type_text("prod");
    s.press(&[KeyCode::Enter]);
    assert_contains(&s.screen(), &["read back and verified: ok"]);
    assert_eq!(stored_rows(&s.scratch.db).len(), 13);
}

#[test]
fn the_readme_keys_table_lists_every_key_of_the_main_screens() {
    use crossterm::event::KeyCode as Code;
    use pkgdeck::tui::keys::Key;

    let readme = std::fs::read_to_string(crate::support::repo_root().join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| key | does |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    // The key column's backticked tokens: `j k` gives j and k.
    let tokens: Vec<String> = table
        .iter()
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .flat_map(|keys| keys.split_whitespace())
        .map(str::to_owned)
        .collect();
    let named = |key: Key| -> String {
        match key {
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Code(code) => match code {
                Code::Enter => "Enter".into(),
                Code::Esc => "Esc".into(),
                Code::Backspace => "Backspace".into(),
                Code::Tab => "Tab".into(),
                Code::BackTab => "Shift-Tab".into(),
                Code::PageUp => "PgUp".into(),
                Code::PageDown => "PgDn".into(),
                Code::Up => "↑↓".into(),
                Code::Down => "↑↓".into(),
                Code::Home => "g".into(),
                Code::End => "G".into(),
                other => format!("{other:?}"),
            },
        }
    };
    let mut s = session();
    let mut missing = Vec::new();
    let mut check = |s: &Session, screen: &str| {
        for group in s.console.app.key_groups() {
            for b in group.bindings {
                for key in b.keys {
                    let name = named(*key);
                    if !tokens.contains(&name) {
                        missing.push(format!("{screen}: {name} ({})", b.does));
                    }
                }
            }
        }
    };
    check(&s, "Packages");
    s.open_helpdesk_versions();
    check(&s, "Versions");
    s.press(&[KeyCode::Enter]);
    check(&s, "Detail");
    crate::tui_compare::second_registry(&s.scratch);
    s.press(&[KeyCode::Char('c'), KeyCode::Down]);
    check(&s, "Connections");
    s.press(&[KeyCode::Char('=')]);
    check(&s, "Compare");
    missing.dedup();
    assert!(
        missing.is_empty(),
        "keys the README's table does not list: {missing:#?}"
    );
}
