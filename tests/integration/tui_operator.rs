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
