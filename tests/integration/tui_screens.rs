//! What the console draws, screen by screen, on a scratch copy of the fixture registry. The
//! app is driven through its key handling with the real worker thread; each test waits for
//! the worker's answers (bounded) before it draws into a 160×50 `TestBackend`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pkgdeck::registry::VerifyProgress;
use pkgdeck::tui::keys::Action;
use pkgdeck::tui::protocol::{Reply, Response};
use ratatui::style::Color;
use unicode_width::UnicodeWidthStr;

use crate::support::assert::assert_contains;
use crate::support::console::Session;
use crate::support::scratch::Scratch;
use crate::support::screen::{
    assert_helpdesk_versions, colour_of, first_column, line_with, row_of, text_of,
};

/// The console as the binary opens it, on a fresh scratch copy of the fixture.
fn session() -> Session {
    Session::open(Scratch::new(), false)
}

/// Hides the measured time and rate of a finished verify, keeping every line's width (the
/// padding after the sentence absorbs the difference) so snapshots do not vary.
fn without_timing(screen: &str) -> String {
    screen
        .lines()
        .map(|l| match (l.find("checked in "), l.find(" rows/s)")) {
            (Some(a), Some(b)) if a < b => {
                let (start, end) = (a + "checked in ".len(), b + " rows/s)".len());
                let hidden = l[start..end].width();
                let rest = &l[end..];
                let pad_at = rest.find("  ").unwrap_or(rest.len());
                format!(
                    "{}[time]{}{}{}",
                    &l[..start],
                    &rest[..pad_at],
                    " ".repeat(hidden.saturating_sub("[time]".len())),
                    &rest[pad_at..]
                )
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const IDS: [&str; 9] = [
    "com.acme.helpdesk",
    "order",
    "keys",
    "nest",
    "dup",
    "str",
    "num",
    "sp",
    "com.acme.crm",
];

#[test]
fn packages_screen_lists_every_package_once() {
    let s = session();
    let screen = s.screen();
    assert!(
        screen.contains("[registry]") && screen.contains("read-write"),
        "{screen}"
    );
    assert_contains(&screen, &["9 packages · 12 rows"]);
    assert_eq!(first_column(&screen)[1..], IDS, "{screen}");
    assert!(
        screen.contains("1.1.1"),
        "helpdesk's latest is the version inserted last"
    );
    insta::assert_snapshot!("packages", screen);
}

#[test]
fn read_only_mode_is_shown_in_the_header() {
    let s = Session::open(Scratch::new(), true);
    let screen = s.screen();
    assert_contains(&screen, &["READ-ONLY"]);
    assert!(!screen.contains("read-write"), "{screen}");
    insta::assert_snapshot!(
        "packages_read_only",
        screen.lines().take(3).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn filter_narrows_the_list_as_you_type() {
    let mut s = session();
    s.type_text("/crm");
    let screen = s.screen();
    assert_eq!(first_column(&screen)[1..], ["com.acme.crm"], "{screen}");
    assert!(
        screen.contains("/crm█"),
        "the filter line is open: {screen}"
    );
    assert!(
        screen.contains("Enter keep"),
        "hints follow the filter line: {screen}"
    );
    insta::assert_snapshot!("filter_active", screen);

    s.press(&[KeyCode::Enter]);
    let kept = s.screen();
    assert_contains(&kept, &["filter: crm (1 of 9; Esc clears)"]);
    // q types no letter once the filter is kept: it quits.
    s.press(&[KeyCode::Esc]);
    assert_eq!(first_column(&s.screen()).len(), 10, "Esc clears the filter");
    assert!(!s.console.app.should_quit());
}

#[test]
fn versions_screen_marks_latest_and_highest_and_warns() {
    let mut s = session();
    s.open_helpdesk_versions();
    let screen = s.screen();
    assert_contains(&screen, &["Packages › com.acme.helpdesk"]);
    assert_helpdesk_versions(&screen);
    let row = |v: &str| row_of(&screen, v).unwrap_or_default();
    assert!(row("1.1.1").contains("latest") && !row("1.1.1").contains("highest"));
    assert!(row("2.0.0").contains("highest"));
    // The fixture's versions share one second: the server serves the first inserted.
    assert!(row("1.0.0").contains("served") && !row("1.1.1").contains("served"));
    assert_contains(
        &screen,
        &[
            "⚠ the ObjectStack server serves 1.0.0, not the latest 1.1.1: a same-second tie its \
             query does not break; P on 1.1.1 promotes it",
            "⚠ the highest version is 2.0.0, but the server serves and loads 1.0.0 (a downgrade)",
        ],
    );
    assert!(
        screen.contains("Published: 4 versions"),
        "the chart: {screen}"
    );
    insta::assert_snapshot!("versions", screen);

    s.press(&[KeyCode::Char('s')]);
    assert_eq!(
        first_column(&s.screen())[1..],
        ["2.0.0", "1.1.1", "1.1.0", "1.0.0"],
        "s sorts by semver"
    );
}

#[test]
fn detail_opens_on_the_manifest() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter]);
    let screen = s.screen();
    assert_contains(
        &screen,
        &[
            "Packages › com.acme.helpdesk › 1.1.1",
            "Manifest │ Objects (1) │ Views (1) │ Apps (1) │ Flows (0) │ Agents (0) │ Tools (0) │ Translations (0) │ Integrity",
            r#""id": "com.acme.helpdesk","#,
        ],
    );
    insta::assert_snapshot!("detail_manifest", screen);
}

#[test]
fn detail_objects_tab_lists_items_beside_coloured_json() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter, KeyCode::Tab]);
    let screen = s.screen();
    line_with(&screen, &["▶ helpdesk_ticket", "Ticket"]);
    assert_contains(&screen, &[r#""name": "helpdesk_ticket","#]);
    let buffer = s.buffer();
    assert_eq!(colour_of(&buffer, r#""label""#), Some(Color::Cyan), "keys");
    assert_eq!(
        colour_of(&buffer, r#""Ticket""#),
        Some(Color::Green),
        "strings"
    );
    insta::assert_snapshot!("detail_objects", screen);
}

#[test]
fn integrity_tab_compares_stored_and_computed_hash() {
    let mut s = session();
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter, KeyCode::BackTab]);
    let screen = s.screen();
    let hash = "8d7a2f007f57c0edbcd0405787a40601e85a0c0492d37b2c954cdc3059e9479b";
    assert_contains(
        &screen,
        &[
            &format!("Stored hash     {hash}"),
            &format!("Computed hash   {hash} "),
            "Hash check      ✓ sha256",
        ],
    );
    assert!(screen.contains(
        "Identity        ✓ row com.acme.helpdesk 1.1.1 · manifest com.acme.helpdesk 1.1.1"
    ));
    assert_contains(&screen, &["Canonical form  ✓"]);
    insta::assert_snapshot!("detail_integrity", screen);
}

#[test]
fn integrity_tab_shows_a_tampered_row_failing() {
    let scratch = Scratch::new();
    scratch.tamper();
    let mut s = Session::open(scratch, false);
    s.open_helpdesk_versions();
    s.press(&[KeyCode::Char('G'), KeyCode::Enter, KeyCode::BackTab]);
    let screen = s.screen();
    assert_contains(
        &screen,
        &[
            "› 1.0.0",
            "Result          FAIL hash_mismatch",
            "✗ hash_mismatch",
        ],
    );
    // Opening a version verifies it: its badge follows on the Versions screen.
    s.press(&[KeyCode::Esc]);
    let versions = s.screen();
    assert_contains(&versions, &["FAIL hash_mismatch"]);
}

#[test]
fn help_overlay_lists_the_keys_of_the_screen() {
    let mut s = session();
    s.press(&[KeyCode::Char('?')]);
    let screen = s.screen();
    for keys in [
        "↑ k", "↓ j", "PgUp", "PgDn", "g Home", "G End", "Enter", "Esc ⌫", "/", "s", "v", "V", "r",
        "q", "Ctrl-C", "?",
    ] {
        assert!(
            screen.contains(&format!("  {keys} ")),
            "{keys} missing: {screen}"
        );
    }
    assert_contains(&screen, &["Keys: Packages"]);
    insta::assert_snapshot!("help_packages", screen);
    s.press(&[KeyCode::Esc]);
    assert!(
        !s.screen().contains("Keys: Packages"),
        "Esc closes the help"
    );

    s.open_helpdesk_versions();
    s.press(&[KeyCode::Enter, KeyCode::Char('?')]);
    let detail = s.screen();
    assert!(
        detail.contains("Keys: Detail") && detail.contains("Shift-Tab"),
        "{detail}"
    );
}

#[test]
fn verify_all_shows_a_gauge_then_the_failures() {
    let scratch = Scratch::new();
    scratch.tamper();
    let mut s = Session::open(scratch, false);
    s.console
        .key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    let ticket = s
        .console
        .app
        .verify_ticket()
        .expect("the verify overlay is open");
    // What the worker streams while it scans; applied by hand so the gauge is deterministic.
    s.console.app.apply(Response {
        ticket,
        reply: Reply::Progress {
            progress: VerifyProgress {
                checked: 6,
                total: 12,
                bytes: 1_500,
                failed: 1,
            },
            elapsed: Duration::from_millis(500),
        },
        last: false,
    });
    let gauge = s.screen();
    assert_contains(
        &gauge,
        &[
            "6 of 12 rows · 12 rows/s · 0.0 MB · 1 failed",
            "Esc cancels",
        ],
    );
    insta::assert_snapshot!("verify_all_gauge", gauge);

    s.settle();
    let results = without_timing(&s.screen());
    assert_contains(
        &results,
        &["12 rows checked in [time]: 11 ok, 1 failed, 0 with warnings"],
    );
    let failure = line_with(&results, &["hash_mismatch"]);
    assert!(
        failure.contains("com.acme.helpdesk") && failure.contains("1.0.0"),
        "{failure}"
    );
    insta::assert_snapshot!("verify_all_results", results);

    // Enter opens the failed version on its Integrity tab; its badges stay on the lists.
    s.press(&[KeyCode::Enter]);
    assert_contains(
        &s.screen(),
        &[
            "Packages › com.acme.helpdesk › 1.0.0",
            "Result          FAIL hash_mismatch",
        ],
    );
    s.press(&[KeyCode::Esc]);
    assert_contains(&s.screen(), &["Versions of com.acme.helpdesk"]);
    s.press(&[KeyCode::Esc]);
    let packages = s.screen();
    let badge = |id: &str| {
        row_of(&packages, id).map(|l| {
            l.trim_end_matches('│')
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_owned()
        })
    };
    assert_eq!(
        badge("com.acme.helpdesk").as_deref(),
        Some("FAIL"),
        "{packages}"
    );
    assert_eq!(badge("com.acme.crm").as_deref(), Some("ok"), "{packages}");
}

#[test]
fn verify_all_can_be_cancelled() {
    let mut s = session();
    s.console
        .key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    // Esc raises the flag; on 12 rows the scan may already be done, and either way the
    // overlay ends with results rather than hanging.
    s.press(&[KeyCode::Esc]);
    let screen = without_timing(&s.screen());
    assert_contains(&screen, &["rows checked in [time]"]);
    s.press(&[KeyCode::Esc]);
    assert!(s.console.app.modal().is_none());
}

#[test]
fn verify_selected_package_sets_its_badge() {
    let mut s = session();
    s.press(&[KeyCode::Char('v')]);
    let screen = s.screen();
    assert_contains(
        &screen,
        &["verify com.acme.helpdesk: ok, 4 rows checked, hashes match"],
    );
    let helpdesk = line_with(&screen, &["com.acme.helpdesk"]);
    assert!(
        helpdesk.trim_end_matches('│').trim_end().ends_with("ok"),
        "{helpdesk}"
    );
    let crm = line_with(&screen, &["com.acme.crm"]);
    assert_contains(crm, &["unknown"]);
    s.console.act(Action::Refresh);
    s.settle();
    assert_contains(
        line_with(&s.screen(), &["com.acme.helpdesk"]),
        &["ok"],
        // The rows kept their hashes: the result outlives the refresh.
    );
}

#[test]
fn registry_text_is_drawn_with_placeholders() {
    let scratch = Scratch::new();
    scratch.publish_hostile();
    let mut s = Session::open(scratch, false);
    let buffer = s.buffer();
    let any_control = buffer
        .content()
        .iter()
        .any(|c| c.symbol().chars().any(|ch| ch.is_control()));
    assert!(!any_control, "a control character reached the buffer");
    let screen = s.screen();
    assert_contains(&screen, &["Evil ␛]0;PWNED␇ ␛[2J name", "com.acme.crm"]);
    s.type_text("/evil");
    s.press(&[KeyCode::Enter, KeyCode::Enter, KeyCode::Enter, KeyCode::Tab]);
    let detail = s.screen();
    assert_contains(&detail, &["evil␛[31m_object", r#""label": "�2J""#]);
}

#[test]
fn back_goes_up_the_stack_and_stale_answers_are_dropped() {
    let mut s = session();
    s.type_text("/helpdesk");
    s.console
        .key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    // Open and leave before the worker answers: input never waits for the registry.
    s.console
        .key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    s.console
        .key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    s.settle();
    assert_eq!(s.console.app.screens().len(), 1);
    s.press(&[KeyCode::Enter, KeyCode::Enter]);
    assert_eq!(s.console.app.screens().len(), 3);
    s.press(&[KeyCode::Backspace, KeyCode::Esc]);
    assert_eq!(s.console.app.screens().len(), 1);
    s.press(&[KeyCode::Char('q')]);
    assert!(s.console.app.should_quit());
    assert_eq!(s.console.app.exit_code(), 0, "q is a normal exit");
}

#[test]
fn ctrl_c_quits_even_while_typing_a_filter() {
    let mut s = session();
    s.type_text("/q");
    assert!(!s.console.app.should_quit(), "q is text on the filter line");
    s.console
        .key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(s.console.app.should_quit());
    assert_eq!(
        s.console.app.exit_code(),
        130,
        "Ctrl-C exits as an interrupt"
    );
}

#[test]
fn storage_errors_go_to_the_footer() {
    let mut s = session();
    let db = rusqlite::Connection::open(&s.scratch.db).unwrap();
    db.execute_batch("DROP TABLE sys_packages").unwrap();
    s.press(&[KeyCode::Char('r')]);
    let screen = s.screen();
    assert_contains(&screen, &["no such table: sys_packages"]);
    assert!(
        screen.contains("pkgdeck"),
        "the console still draws: {screen}"
    );
}

#[test]
fn q_quits_while_verify_all_runs() {
    let mut s = session();
    s.console
        .key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
    assert!(s.console.app.verify_ticket().is_some());
    s.console
        .key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    assert!(s.console.app.should_quit());
}

#[test]
fn help_scrolls_when_the_terminal_is_short() {
    let mut s = session();
    s.console.app.resize(100, 20);
    s.press(&[KeyCode::Char('?')]);
    let top = text_of(&s.buffer_sized(100, 20));
    assert!(top.contains("↓ more") && !top.contains("Ctrl-C"), "{top}");
    s.press(&[KeyCode::Char('j'); 20]);
    let bottom = text_of(&s.buffer_sized(100, 20));
    assert!(
        bottom.contains("Ctrl-C") && !bottom.contains("↓ more"),
        "{bottom}"
    );
    s.press(&[KeyCode::Esc]);
    assert!(s.console.app.modal().is_none());
}
