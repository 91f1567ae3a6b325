//! The console's screens (a stack: Packages → Versions → Detail, and Trash or Boot on top of
//! any)
//! and overlays (a stack too: help, verify all, the path prompt, the editor with its review
//! and confirm dialog on top, the connection picker). Each is a [`Component`]: it declares
//! its keys, draws itself from its own state, and answers an [`Action`] with an
//! [`Outcome`](super::component::Outcome) the app carries out. Screens know nothing of SQL,
//! of the app or of the worker: what they need from the registry they ask for as a
//! [`Request`], and the app hands them the answer.

pub mod boot;
pub mod command;
pub mod compare;
pub mod confirm;
pub mod connections;
pub mod detail;
pub mod diff;
pub mod drafts;
pub mod editor;
pub mod help;
pub mod layout;
pub mod package_rows;
pub mod packages;
pub mod prompt;
pub mod review;
pub mod trash;
pub mod verify;
pub mod versions;

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::component::{Component, Outcome};
use super::list::ListView;
use super::protocol::Request;
use super::theme;
use crate::untrusted::printable;

pub use boot::BootScreen;
pub use command::CommandLine;
pub use compare::CompareScreen;
pub use confirm::Confirm;
pub use connections::ConnectionPicker;
pub use detail::DetailScreen;
pub use diff::DiffView;
pub use drafts::DraftsPicker;
pub use editor::Editor;
pub use help::Help;
pub use layout::{draw_table, Column, Field};
pub use packages::PackagesScreen;
pub use prompt::PathPrompt;
pub use review::Review;
pub use trash::TrashScreen;
pub use verify::VerifyRun;
pub use versions::VersionsScreen;

/// One level of the screen stack.
pub enum Screen {
    Packages(PackagesScreen),
    Versions(VersionsScreen),
    Detail(Box<DetailScreen>),
    Trash(TrashScreen),
    Boot(BootScreen),
    Compare(Box<CompareScreen>),
}

impl Screen {
    pub fn component(&self) -> &dyn Component {
        match self {
            Screen::Packages(s) => s,
            Screen::Versions(s) => s,
            Screen::Detail(s) => s.as_ref(),
            Screen::Trash(s) => s,
            Screen::Boot(s) => s,
            Screen::Compare(s) => s.as_ref(),
        }
    }

    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Screen::Packages(s) => s,
            Screen::Versions(s) => s,
            Screen::Detail(s) => s.as_mut(),
            Screen::Trash(s) => s,
            Screen::Boot(s) => s,
            Screen::Compare(s) => s.as_mut(),
        }
    }

    /// What the screen shows, asked of the registry (on open and on refresh).
    pub fn load(&mut self) -> Request {
        match self {
            Screen::Packages(s) => s.load(),
            Screen::Versions(s) => s.load(),
            Screen::Detail(s) => s.load(),
            Screen::Trash(s) => s.load(),
            Screen::Boot(s) => s.load(),
            Screen::Compare(s) => s.load(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Screen::Packages(_) => "Packages",
            Screen::Versions(_) => "Versions",
            Screen::Detail(_) => "Detail",
            Screen::Trash(_) => "Trash",
            Screen::Boot(_) => "Boot",
            Screen::Compare(_) => "Compare",
        }
    }

    /// The screen's step of the breadcrumb in the header, after `parent`'s.
    pub fn crumb(&self, parent: Option<&Screen>) -> String {
        match (self, parent) {
            (Screen::Packages(_), _) => "Packages".into(),
            (Screen::Versions(s), _) => s.id().to_owned(),
            (Screen::Detail(d), Some(Screen::Versions(v))) if v.id() == d.id() => {
                d.version().to_owned()
            }
            (Screen::Detail(d), _) => format!("{} {}", d.id(), d.version()),
            (Screen::Trash(_), _) => "Trash".into(),
            (Screen::Boot(_), _) => "Boot".into(),
            (Screen::Compare(s), _) => format!("Compare with {}", s.name()),
        }
    }
}

/// Overlays drawn over the screen stack, the top one taking every key while open.
pub enum Modal {
    Help(Help),
    Verify(Box<VerifyRun>),
    Prompt(Box<PathPrompt>),
    Editor(Box<Editor>),
    Review(Box<Review>),
    Confirm(Box<Confirm>),
    Connections(Box<ConnectionPicker>),
    Diff(Box<DiffView>),
    Command(Box<CommandLine>),
    Drafts(Box<DraftsPicker>),
}

impl Modal {
    pub fn component(&self) -> &dyn Component {
        match self {
            Modal::Help(m) => m,
            Modal::Verify(m) => m.as_ref(),
            Modal::Prompt(m) => m.as_ref(),
            Modal::Editor(m) => m.as_ref(),
            Modal::Review(m) => m.as_ref(),
            Modal::Confirm(m) => m.as_ref(),
            Modal::Connections(m) => m.as_ref(),
            Modal::Diff(m) => m.as_ref(),
            Modal::Command(m) => m.as_ref(),
            Modal::Drafts(m) => m.as_ref(),
        }
    }

    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Modal::Help(m) => m,
            Modal::Verify(m) => m.as_mut(),
            Modal::Prompt(m) => m.as_mut(),
            Modal::Editor(m) => m.as_mut(),
            Modal::Review(m) => m.as_mut(),
            Modal::Confirm(m) => m.as_mut(),
            Modal::Connections(m) => m.as_mut(),
            Modal::Diff(m) => m.as_mut(),
            Modal::Command(m) => m.as_mut(),
            Modal::Drafts(m) => m.as_mut(),
        }
    }
}

/// How long rows that changed in a reload stay highlighted.
pub const CHANGED_FOR: Duration = Duration::from_secs(3);

/// Rows that changed in the last reload, and when: they are highlighted for [`CHANGED_FOR`].
#[derive(Debug, Default)]
pub struct Changed {
    keys: HashSet<String>,
    at: Option<Instant>,
}

impl Changed {
    /// The rows (by key) that are new or differ from `before`'s, from now on.
    pub fn record<'a>(
        &mut self,
        before: &HashMap<&str, String>,
        after: impl IntoIterator<Item = (&'a str, String)>,
    ) {
        self.keys = after
            .into_iter()
            .filter(|(key, state)| before.get(key) != Some(state))
            .map(|(key, _)| key.to_owned())
            .collect();
        self.at = (!self.keys.is_empty()).then(Instant::now);
    }

    /// The rows (by key) found new or changed, from now on.
    pub fn set(&mut self, keys: HashSet<String>) {
        self.keys = keys;
        self.at = (!self.keys.is_empty()).then(Instant::now);
    }

    /// Whether the row `key` is highlighted at `now`.
    pub fn shows(&self, key: &str, now: Instant) -> bool {
        self.at.is_some_and(|at| now < at + CHANGED_FOR) && self.keys.contains(key)
    }

    /// Whether a highlight is still on (or just ended and must be drawn away) at `now`.
    pub fn fading(&self, now: Instant) -> bool {
        self.at
            .is_some_and(|at| now < at + CHANGED_FOR + Duration::from_millis(250))
    }
}

/// Copying `id@version` (made printable: nothing invisible goes to the clipboard).
pub fn copy_id_version(id: &str, version: &str) -> Outcome {
    let text = format!("{}@{}", printable(id), printable(version));
    Outcome::Copy {
        what: text.clone(),
        text,
    }
}

/// Copying the stored hash of `id@version`.
pub fn copy_hash(id: &str, version: &str, hash: &str) -> Outcome {
    Outcome::Copy {
        text: printable(hash).into_owned(),
        what: format!("the hash of {}@{}", printable(id), printable(version)),
    }
}

/// A centred area `width` × `height` cells (at most `area`).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// The bordered frame of a list `width` cells wide: title (cut with `…` so the sort order
/// still shows), sort order, and the filter line when there is one.
pub fn list_block<'a>(title: String, sort: Option<&str>, list: &ListView, width: u16) -> Block<'a> {
    let sort = sort.map(|s| format!(" sort: {s} "));
    let sort_width = sort.as_ref().map_or(0, |s| s.width() + 1);
    let room = usize::from(width).saturating_sub(4 + sort_width);
    let mut block = Block::bordered().title(Line::styled(
        format!(" {} ", layout::cut(&title, room)),
        theme::TITLE,
    ));
    if let Some(sort) = sort {
        block = block.title(Line::styled(sort, theme::DIM).right_aligned());
    }
    if list.editing() {
        block = block.title_bottom(Line::styled(
            format!(" /{}█ ", crate::untrusted::printable(list.filter())),
            theme::FILTER,
        ));
    } else if !list.filter().is_empty() {
        block = block.title_bottom(Line::styled(
            format!(
                " filter: {} ({} of {}; Esc clears) ",
                crate::untrusted::printable(list.filter()),
                list.shown().len(),
                list.rows()
            ),
            theme::FILTER,
        ));
    }
    block
}

/// Draws a list screen's frame and, when the list shows no rows, why not (see [`draw_empty`]).
/// Returns the area inside the frame when there are rows for the caller to draw there.
pub fn draw_list_frame(
    frame: &mut Frame,
    area: Rect,
    block: Block,
    list: &ListView,
    state: (bool, Option<&str>),
    nothing: &str,
    no_match: &str,
) -> Option<Rect> {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if list.shown().is_empty() {
        draw_empty(frame, inner, list, state, nothing, no_match);
        return None;
    }
    Some(inner)
}

/// Draws why a list shows no rows: still loading, the error, nothing there (`nothing`), or
/// nothing matching the filter (`no_match`).
pub fn draw_empty(
    frame: &mut Frame,
    area: Rect,
    list: &ListView,
    (loading, error): (bool, Option<&str>),
    nothing: &str,
    no_match: &str,
) {
    let empty = if list.filter().is_empty() {
        nothing
    } else {
        no_match
    };
    let text = Text::from(vec![Line::raw(""), placeholder(loading, error, empty)]);
    frame.render_widget(Paragraph::new(text).centered(), area);
}

/// A line in the middle of an empty list: loading, empty, or the error.
pub fn placeholder(loading: bool, error: Option<&str>, empty: &str) -> Line<'static> {
    match (error, loading) {
        (Some(e), _) => Line::styled(crate::untrusted::printable(e).into_owned(), theme::ERROR),
        (None, true) => Line::styled("loading…", theme::DIM),
        (None, false) => Line::styled(empty.to_owned(), theme::DIM),
    }
}

/// A key typed into a one-line text (the command line, the path prompt): Ctrl-U clears it, a
/// character is appended, Backspace takes the last one off. `false` when the key is none of
/// these.
pub fn edit_line(text: &mut String, event: &crossterm::event::KeyEvent) -> bool {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    match event.code {
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char(c) if !ctrl => text.push(c),
        KeyCode::Backspace => {
            text.pop();
        }
        _ => return false,
    }
    true
}
