//! The console from 60×20 up: every screen and dialog drawn at 60×20, 80×24, 120×40 and
//! 200×50. The header always shows the mode and the counts while the target gives way; an id
//! or a version is whole or cut with `…`, never silently; the least important columns go
//! first; the detail's tab bar keeps its active tab in view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pkgdeck::registry::PublishOptions;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::support::console::Session;
use crate::support::scratch::Scratch;
use crate::support::screen::text_of;

const SIZES: [(u16, u16); 4] = [(60, 20), (80, 24), (120, 40), (200, 50)];

/// A package whose id, name and version are longer than a narrow column.
const LONG_ID: &str = "com.acme.pkg019319.enterprise.resource.planning";
const LONG_DOCUMENT: &str = r#"{"manifest":{"id":"com.acme.pkg019319.enterprise.resource.planning","version":"10.20.300","type":"app","name":"Enterprise Resource Planning With A Long Name"},"metadata":{"objects":[{"name":"a_rather_long_object_name_for_a_narrow_list","label":"A Rather Long Label"}]}}"#;

const IDS: [&str; 10] = [
    LONG_ID,
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
const VERSIONS: [&str; 8] = [
    "10.20.300",
    "1.1.1",
    "1.0.0",
    "2.0.0",
    "0.0.1",
    "1.2.0",
    "1.1.0",
    "10.20.301",
];

/// The registry file sits deep in the scratch directory, so the target is longer than a
/// narrow header.
fn session(read_only: bool) -> Session {
    let mut scratch = Scratch::new();
    let deep = scratch
        .dir
        .path()
        .join("registries/of/the/operations/team/in/the/north/region");
    std::fs::create_dir_all(&deep).unwrap();
    let db = deep.join("production-registry.db");
    std::fs::rename(&scratch.db, &db).unwrap();
    scratch.db = db;
    scratch
        .registry(false)
        .publish(LONG_DOCUMENT, "long.json", PublishOptions::default())
        .expect("publish the long package");
    Session::in_scratch(scratch, read_only)
}

/// The cells under the column titled `title` in the table whose title line also holds
/// `beside` (the rows of the table it heads), trimmed.
fn column(buffer: &Buffer, title: &str, beside: &str) -> Vec<String> {
    let text = text_of(buffer);
    let lines: Vec<&str> = text.lines().collect();
    let token = |l: &str, t: &str| l.split_whitespace().any(|w| w.trim_matches('│') == t);
    let Some((y, line)) = lines
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| token(l, title) && token(l, beside))
    else {
        return Vec::new();
    };
    // Columns by cell: where this title starts and where the next one starts.
    let row = |y: usize| -> Vec<String> {
        (0..buffer.area.width)
            .map(|x| buffer[(x, y as u16)].symbol().to_owned())
            .collect()
    };
    let header = row(y);
    let joined: String = header.concat();
    let _ = line;
    let start_char = joined
        .find(&format!(" {title} "))
        .map(|b| joined[..b + 1].chars().count())
        .expect("the title's column");
    let mut x = start_char + title.chars().count();
    while x < header.len() && header[x] == " " {
        x += 1;
    }
    let end = if x < header.len() && header[x] != "│" {
        x
    } else {
        header.len() - 1
    };
    let mut cells = Vec::new();
    for y in y + 1..lines.len() {
        let r = row(y);
        if r.concat().trim_start().starts_with('└') || r.concat().trim().is_empty() {
            break;
        }
        let cell: String = r[start_char..end].concat();
        if cell.contains('─') {
            break;
        }
        let cell = cell.trim().trim_end_matches('│').trim().to_owned();
        if !cell.is_empty() {
            cells.push(cell);
        }
    }
    cells
}

/// A cell holding one of `known` whole, or cut with `…` (what is left a prefix of one).
#[track_caller]
fn whole_or_marked(cells: &[String], known: &[&str], what: &str, screen: &str) {
    assert!(!cells.is_empty(), "no {what} column:\n{screen}");
    for cell in cells {
        let ok = known.contains(&cell.as_str())
            || cell
                .strip_suffix('…')
                .is_some_and(|p| !p.is_empty() && known.iter().any(|k| k.starts_with(p)));
        assert!(ok, "{what} {cell:?} is cut without `…`:\n{screen}");
    }
}

/// The header shows the mode and the counts, whatever the width.
#[track_caller]
fn header_holds_mode_and_counts(screen: &str, mode: &str) {
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains(mode) && header.contains("packages · ") && header.contains(" rows"),
        "the header lost the mode or the counts:\n{screen}"
    );
}

/// The text of the active tab (the cells drawn in the selected style on the tab line).
fn active_tab(buffer: &Buffer) -> String {
    (0..buffer.area.width)
        .map(|x| &buffer[(x, 2)])
        .filter(|c| c.bg == Color::Cyan)
        .map(|c| c.symbol())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[test]
fn every_screen_keeps_ids_versions_mode_and_counts_from_60x20_up() {
    for (w, h) in SIZES {
        let mut s = session(false);
        s.console.app.resize(w, h);
        let draw = |s: &Session| {
            let buffer = s.buffer_sized(w, h);
            let screen = text_of(&buffer);
            header_holds_mode_and_counts(&screen, "read-write");
            (buffer, screen)
        };

        let (buffer, screen) = draw(&s);
        whole_or_marked(&column(&buffer, "ID", "LATEST"), &IDS, "id", &screen);
        whole_or_marked(
            &column(&buffer, "LATEST", "ID"),
            &VERSIONS,
            "latest version",
            &screen,
        );

        s.type_text("/pkg019319");
        s.press(&[KeyCode::Enter, KeyCode::Enter]);
        let (buffer, screen) = draw(&s);
        whole_or_marked(
            &column(&buffer, "VERSION", "MARKS"),
            &VERSIONS,
            "version",
            &screen,
        );
        assert!(
            screen.contains("INTEGRITY"),
            "INTEGRITY stays at {w}×{h}:\n{screen}"
        );

        s.press(&[KeyCode::Enter]);
        let titles = [
            "Manifest",
            "Objects (1)",
            "Views (0)",
            "Apps (0)",
            "Flows (0)",
            "Agents (0)",
            "Tools (0)",
            "Translations (0)",
            "Integrity",
        ];
        for expected in titles {
            let (buffer, screen) = draw(&s);
            assert_eq!(
                active_tab(&buffer),
                expected,
                "the active tab at {w}×{h}:\n{screen}"
            );
            s.press(&[KeyCode::Tab]);
        }
        for expected in titles.iter().rev() {
            s.press(&[KeyCode::BackTab]);
            let (buffer, screen) = draw(&s);
            assert_eq!(
                &active_tab(&buffer),
                expected,
                "Shift-Tab at {w}×{h}:\n{screen}"
            );
        }
        s.press(&[KeyCode::BackTab]);
        let (_, screen) = draw(&s);
        let hash_line = screen
            .lines()
            .find(|l| l.contains("Stored hash"))
            .unwrap_or_default();
        assert!(
            hash_line.contains("d1d6") && (w >= 100 || hash_line.contains('…')),
            "a cut hash ends with `…` at {w}×{h}:\n{screen}"
        );

        // Dialogs and overlays keep the header too.
        s.key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
        draw(&s);
        s.press(&[KeyCode::Esc, KeyCode::Char('?')]);
        draw(&s);
        s.press(&[KeyCode::Esc, KeyCode::Char('h')]);
        draw(&s);
        s.ctrl('s');
        draw(&s);
        s.press(&[
            KeyCode::Esc,
            KeyCode::Esc,
            KeyCode::Char('y'),
            KeyCode::Char('d'),
        ]);
        draw(&s);
        s.type_text("10.20.300");
        s.press(&[KeyCode::Enter, KeyCode::Char('t')]);
        let (_, screen) = draw(&s);
        assert!(screen.contains("Trash (1)"), "{screen}");
        s.press(&[KeyCode::Enter]);
        draw(&s);
        s.press(&[KeyCode::Esc, KeyCode::Char('c')]);
        draw(&s);
        s.press(&[KeyCode::Esc]);

        // The diff of two versions, and the command line with its matches.
        s.type_text(":com.acme.helpdesk");
        s.press(&[KeyCode::Enter, KeyCode::Char('G'), KeyCode::Char('m')]);
        s.press(&[KeyCode::Char('g'), KeyCode::Char('=')]);
        let (_, screen) = draw(&s);
        assert!(screen.contains("Diff"), "{screen}");
        s.press(&[KeyCode::Esc]);
        let (buffer, screen) = draw(&s);
        whole_or_marked(
            &column(&buffer, "VERSION", "MARKS"),
            &VERSIONS,
            "version",
            &screen,
        );
        s.type_text(":com");
        s.press(&[KeyCode::Tab]);
        let (_, screen) = draw(&s);
        assert!(screen.contains(":com.acme."), "{screen}");
    }
}

#[test]
fn production_and_read_only_survive_the_narrowest_header() {
    let scratch = Scratch::new();
    let config = scratch.dirs().config;
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[connections.prod]\ntarget = {:?}\nproduction = true\nread_only = true\n",
            scratch.db.display()
        ),
    )
    .unwrap();
    let s = Session::connect(
        scratch,
        pkgdeck::connect::Request {
            db: None,
            connection: Some("prod".into()),
            read_only: false,
        },
    );
    for (w, h) in SIZES {
        let screen = text_of(&s.buffer_sized(w, h));
        header_holds_mode_and_counts(&screen, "PRODUCTION");
        header_holds_mode_and_counts(&screen, "READ-ONLY");
    }
}

#[test]
fn verify_all_results_keep_ids_and_versions() {
    for (w, h) in SIZES {
        let s = session(false);
        // Every row fails once the stored hashes are wrong.
        let db = rusqlite::Connection::open(&s.scratch.db).unwrap();
        db.execute_batch("UPDATE sys_packages SET hash = 'x' || hash")
            .unwrap();
        let mut s = s;
        s.console.app.resize(w, h);
        s.key(KeyEvent::new(KeyCode::Char('V'), KeyModifiers::SHIFT));
        let buffer = s.buffer_sized(w, h);
        let screen = text_of(&buffer);
        header_holds_mode_and_counts(&screen, "read-write");
        whole_or_marked(&column(&buffer, "ID", "VERSION"), &IDS, "id", &screen);
        whole_or_marked(
            &column(&buffer, "VERSION", "ID"),
            &VERSIONS,
            "version",
            &screen,
        );
    }
}

#[test]
fn read_only_and_the_counts_survive_the_narrowest_header() {
    let s = session(true);
    let screen = text_of(&s.buffer_sized(60, 20));
    header_holds_mode_and_counts(&screen, "READ-ONLY");
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains("/tmp") && header.contains('…') && header.contains("y.db"),
        "the target is cut in the middle, keeping both ends: {header}"
    );
}
