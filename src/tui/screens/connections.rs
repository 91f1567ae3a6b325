//! The connection picker of `c`: the registry the console is on ("current") and the
//! connections saved in `<config dir>/config.toml`. Enter on a saved one asks the worker to
//! open it in the current mode; the worker swaps registries only if that works, so a failure
//! leaves the console where it was, with the reason in the footer. `=` on a saved one opens
//! the Compare screen between the current registry and it.

use std::path::PathBuf;

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::layout::{cut_middle, ESSENTIAL};
use super::{centered, draw_table, Column, CompareScreen, Field, Screen};
use crate::connect::{Connections, SavedConnection};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::message::Message;
use crate::tui::protocol::Request;
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Connections",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "switch to the selected connection",
            hint: Some("Enter switch"),
            action: Action::Open,
        },
        Binding {
            keys: &[Key::Char('=')],
            shown: "=",
            does: "compare with the selected connection (the Compare screen)",
            hint: Some("= compare"),
            action: Action::Diff,
        },
        keys::close("close, staying on the current connection"),
    ],
};

/// The connection's name is never dropped; the token column goes first.
const COLUMNS: [Column; 4] = [
    Column::flexible("NAME", 8, 18, ESSENTIAL, false),
    Column::flexible("TARGET", 12, 40, 5, true),
    Column::flexible("MODE", 9, 10, 4, false),
    Column::flexible("TOKEN", 8, 20, 2, false),
];

pub struct ConnectionPicker {
    current: String,
    config_file: PathBuf,
    saved: Vec<SavedConnection>,
    error: Option<String>,
    /// Why the registry the console was started on could not be opened.
    problem: Option<String>,
    /// Row 0 is the current connection, then the saved ones in name order.
    list: ListView,
}

impl ConnectionPicker {
    pub fn new(current: &str, connections: Connections) -> ConnectionPicker {
        let (saved, error) = match connections.saved {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let list = ListView::with_keys(
            std::iter::once("current".to_owned()).chain(saved.iter().map(|s| s.name.clone())),
        );
        ConnectionPicker {
            current: current.to_owned(),
            config_file: connections.config_file,
            saved,
            error,
            problem: None,
            list,
        }
    }

    /// The picker opened because the registry the console was started on cannot be opened:
    /// `problem` says why, above the connections to pick from instead.
    pub fn with_problem(mut self, problem: String) -> ConnectionPicker {
        self.problem = Some(problem);
        if !self.saved.is_empty() {
            self.list.select_position(1);
        }
        self
    }
}

impl Component for ConnectionPicker {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        if self.list.apply(action, page) {
            return Outcome::Done;
        }
        match action {
            Action::Open => match self.list.selected_row() {
                Some(0) | None => Outcome::All(vec![
                    Outcome::Back,
                    Outcome::Say(Message::info(format!(
                        "staying on {}",
                        printable(&self.current)
                    ))),
                ]),
                Some(row) => {
                    let name = self.saved[row - 1].name.clone();
                    Outcome::All(vec![
                        Outcome::Back,
                        Outcome::Request(Request::Connect { name }),
                    ])
                }
            },
            Action::Diff => match self.list.selected_row() {
                Some(0) | None => Outcome::Say(Message::info(
                    "pick a saved connection to compare the current registry with",
                )),
                Some(row) => Outcome::Push(Box::new(Screen::Compare(Box::new(
                    CompareScreen::new(&self.current, &self.saved[row - 1].name),
                )))),
            },
            Action::Back => Outcome::Back,
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let rows = self.saved.len() as u16 + 1;
        let note = u16::from(self.error.is_some() || self.saved.is_empty());
        let width = area.width.saturating_sub(8).min(130);
        let problem: Vec<Line> = self
            .problem
            .iter()
            .map(|p| Line::styled(format!(" ✗ {}", printable(p)), theme::ERROR))
            .collect();
        let problem_rows = problem
            .iter()
            .map(|l| l.width().max(1).div_ceil(usize::from(width.max(3) - 2)) as u16)
            .sum::<u16>()
            + u16::from(!problem.is_empty());
        let popup = centered(area, width, rows + note * 2 + 4 + problem_rows);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Connections ", theme::TITLE))
            .title_bottom(Line::styled(
                format!(
                    " saved in {} ",
                    cut_middle(
                        &printable(&self.config_file.display().to_string()),
                        usize::from(popup.width.saturating_sub(14)),
                    )
                ),
                theme::DIM,
            ))
            .style(theme::POPUP);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let [problem_area, table_area, note_area] = Layout::vertical([
            Constraint::Length(problem_rows),
            Constraint::Length(rows + 1),
            Constraint::Min(0),
        ])
        .areas(inner);
        frame.render_widget(
            Paragraph::new(problem).wrap(ratatui::widgets::Wrap { trim: false }),
            problem_area,
        );
        let row = |r: usize| {
            if r == 0 {
                return vec![
                    Field::styled("current", theme::MARK),
                    Field::new(printable(&self.current)),
                    Field::new(""),
                    Field::styled(
                        if self.problem.is_some() {
                            "(cannot open)"
                        } else {
                            "(this session)"
                        },
                        theme::DIM,
                    ),
                ];
            }
            let s = &self.saved[r - 1];
            let mut name = printable(&s.name).into_owned();
            if s.target == self.current {
                name.push_str(" (current)");
            }
            let mode = match (s.production, s.read_only) {
                (true, true) => Field::styled("PROD, R/O", theme::ERROR),
                (true, false) => Field::styled("PRODUCTION", theme::ERROR),
                (false, true) => Field::styled("read-only", theme::WARNING),
                (false, false) => Field::new(""),
            };
            vec![
                Field::new(name),
                Field::new(printable(&s.target)),
                mode,
                Field::styled(
                    match &s.token_env {
                        Some(var) => format!("from ${}", printable(var)),
                        None => "-".into(),
                    },
                    theme::DIM,
                ),
            ]
        };
        draw_table(frame, table_area, &self.list, &COLUMNS, row, |_| None);
        let text = match (&self.error, self.saved.is_empty()) {
            (Some(e), _) => Line::styled(format!(" {}", printable(e)), theme::ERROR),
            (None, true) => Line::styled(
                " no saved connections: add [connections.NAME] with target = \"…\" (and \
                 token_env = \"VAR\" for a remote) to the config file",
                theme::DIM,
            ),
            (None, false) => Line::raw(""),
        };
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            note_area,
        );
    }
}
