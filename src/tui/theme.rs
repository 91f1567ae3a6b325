//! The console's colours and styles, in one place so every screen looks alike.

use ratatui::style::{Color, Modifier, Style};

use super::integrity::Badge;

pub const TITLE: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const HEADER_BAR: Style = Style::new().fg(Color::White).bg(Color::Blue);
pub const READ_ONLY: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);
pub const READ_WRITE: Style = Style::new().fg(Color::Black).bg(Color::Green);
/// A production connection: loud, like k9s's production skin.
pub const PRODUCTION: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Red)
    .add_modifier(Modifier::BOLD.union(Modifier::REVERSED));
pub const HEADER_PRODUCTION: Style = Style::new().fg(Color::White).bg(Color::Red);
pub const COLUMN_HEADER: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
pub const SELECTED: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Cyan)
    .add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const HINT_KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const HINT: Style = Style::new().fg(Color::Gray);
pub const INFO: Style = Style::new().fg(Color::Green);
pub const WARNING: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const FILTER: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
/// A row that changed in the last reload (another process wrote it).
pub const CHANGED: Style = Style::new().fg(Color::Black).bg(Color::Green);
/// A search match in a text view, and the current one.
pub const SEARCH_MATCH: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
pub const SEARCH_CURRENT: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::LightRed)
    .add_modifier(Modifier::BOLD);
pub const MARK: Style = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
pub const POPUP: Style = Style::new().fg(Color::White).bg(Color::Black);
pub const TAB: Style = Style::new().fg(Color::Gray);
pub const TAB_SELECTED: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Cyan)
    .add_modifier(Modifier::BOLD);
pub const GAUGE: Style = Style::new().fg(Color::Green).bg(Color::DarkGray);
pub const CHART: Style = Style::new().fg(Color::Cyan);

/// JSON tokens.
pub const JSON_KEY: Style = Style::new().fg(Color::Cyan);
pub const JSON_STRING: Style = Style::new().fg(Color::Green);
pub const JSON_NUMBER: Style = Style::new().fg(Color::Magenta);
pub const JSON_LITERAL: Style = Style::new().fg(Color::Yellow);
pub const JSON_PUNCT: Style = Style::new().fg(Color::Gray);

pub fn badge(badge: Badge) -> Style {
    match badge {
        Badge::Unknown => DIM,
        Badge::Ok => Style::new().fg(Color::Green),
        Badge::Warn => WARNING,
        Badge::Fail => ERROR,
    }
}
