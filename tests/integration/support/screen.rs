//! Reading what the console drew: a `TestBackend` buffer as text and colours, and the rows
//! of a table on a screen (drawn into a buffer or captured from a tmux pane).

use ratatui::buffer::Buffer;
use ratatui::style::Color;
use unicode_width::UnicodeWidthStr;

use super::assert::assert_contains;

/// The buffer's lines, wide characters counted once.
pub fn text_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut skip = 0;
        let mut line = String::new();
        for x in 0..area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = symbol.width().saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The foreground colour of the first cell of `needle` on screen.
pub fn colour_of(buffer: &Buffer, needle: &str) -> Option<Color> {
    let text = text_of(buffer);
    for (y, line) in text.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].width() as u16;
            return Some(buffer[(x, y as u16)].fg);
        }
    }
    None
}

/// The first word of each table row (after the border and the selection marker), in screen
/// order: ids on Packages, versions on Versions.
pub fn first_column(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.strip_prefix('│'))
        .map(|l| l.trim_start_matches('▶').trim_start())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with(|c: char| c.is_alphanumeric()))
        .map(str::to_owned)
        .collect()
}

/// The table row whose first column is `first`.
pub fn row_of<'a>(screen: &'a str, first: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| first_column(l).first().map(String::as_str) == Some(first))
}

/// The first line of `screen` holding every one of `needles`; panics with the screen when
/// there is none.
#[track_caller]
pub fn line_with<'a>(screen: &'a str, needles: &[&str]) -> &'a str {
    screen
        .lines()
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .unwrap_or_else(|| panic!("no line holds all of {needles:?}:\n{screen}"))
}

/// The Versions screen of com.acme.helpdesk in the fixture: newest first, and the warnings
/// that the server serves another version (its versions share one second) and that what it
/// loads is not the highest version.
#[track_caller]
pub fn assert_helpdesk_versions(screen: &str) {
    assert_eq!(
        first_column(screen)[1..],
        ["1.1.1", "2.0.0", "1.1.0", "1.0.0"],
        "{screen}"
    );
    assert_contains(
        screen,
        &[
            "⚠ the ObjectStack server serves 1.0.0, not the latest 1.1.1",
            "⚠ the highest version is 2.0.0, but the server serves and loads 1.0.0",
        ],
    );
}
