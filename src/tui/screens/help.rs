//! The help overlay: the keys of the screen it was opened on, from the same tables that
//! map the keys, so it cannot go stale. In read-only mode the writes are struck through and
//! marked, as in the footer.

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::centered;
use super::layout::fit_lines;
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::theme;

const KEYS: KeyGroup = KeyGroup {
    title: "Help",
    bindings: &[
        Binding {
            keys: &[
                Key::Code(KeyCode::Esc),
                Key::Char('?'),
                Key::Char('q'),
                Key::Code(KeyCode::Enter),
                Key::Code(KeyCode::Backspace),
            ],
            shown: "Esc ? q",
            does: "close the help",
            hint: Some("Esc close"),
            action: Action::Back,
        },
        keys::SCROLL_UP,
        keys::SCROLL_DOWN,
    ],
};

/// The help's width with one column of keys, and each column's when there are two.
const ONE_COLUMN: u16 = 100;
const COLUMN_WIDTH: u16 = 76;

pub struct Help {
    screen: String,
    groups: Vec<&'static KeyGroup>,
    read_only: bool,
    /// First line shown, for terminals too short for the whole list.
    scroll: usize,
}

impl Help {
    pub fn new(screen: &str, groups: Vec<&'static KeyGroup>, read_only: bool) -> Help {
        Help {
            screen: screen.to_owned(),
            groups,
            read_only,
            scroll: 0,
        }
    }

    fn lines(&self) -> Vec<Line<'static>> {
        self.columns(1).concat()
    }

    /// The groups' lines in `n` columns (1 or 2) of about the same height, a group never
    /// split between them.
    fn columns(&self, n: usize) -> Vec<Vec<Line<'static>>> {
        let groups: Vec<Vec<Line<'static>>> =
            self.groups.iter().map(|g| self.group_lines(g)).collect();
        let total: usize = groups.iter().map(Vec::len).sum::<usize>() + groups.len();
        let mut columns: Vec<Vec<Line<'static>>> = vec![Vec::new(); n.max(1)];
        let mut at = 0;
        for group in groups {
            if at + 1 < columns.len() && columns[at].len() >= total / columns.len() {
                at += 1;
            }
            let column = &mut columns[at];
            if !column.is_empty() {
                column.push(Line::raw(""));
            }
            column.extend(group);
        }
        columns
    }

    fn group_lines(&self, group: &KeyGroup) -> Vec<Line<'static>> {
        let mut lines = vec![Line::styled(group.title, theme::COLUMN_HEADER)];
        for b in group.bindings {
            if self.read_only && b.action.write().is_some() {
                let off = theme::DIM.add_modifier(Modifier::CROSSED_OUT);
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<12}", b.shown), off),
                    Span::styled(b.does, off),
                    Span::raw(" "),
                    Span::styled("(read-only)", theme::WARNING),
                ]));
                continue;
            }
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<12}", b.shown), theme::HINT_KEY),
                Span::raw(b.does),
            ]));
        }
        lines
    }
}

impl Component for Help {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&KEYS]
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        let last = self.lines().len().saturating_sub(1);
        match action {
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = (self.scroll + 1).min(last),
            _ => return Outcome::Back,
        }
        Outcome::Done
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        // Two columns when one would not fit the height and the terminal is wide enough.
        let single = self.lines().len() as u16 + 2;
        let two = single > area.height && area.width >= 2 * COLUMN_WIDTH + 7;
        let columns = self.columns(if two { 2 } else { 1 });
        let longest = columns.iter().map(Vec::len).max().unwrap_or(0);
        let width = if two {
            2 * COLUMN_WIDTH + 7
        } else {
            ONE_COLUMN
        };
        let popup = centered(area, width, longest as u16 + 2);
        let visible = popup.height.saturating_sub(2) as usize;
        let scroll = self.scroll.min(longest.saturating_sub(visible));
        let more = if scroll + visible < longest {
            " ↓ more · Esc closes "
        } else {
            " Esc closes "
        };
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(
                format!(" Keys: {} ", self.screen),
                theme::TITLE,
            ))
            .title_bottom(Line::styled(more, theme::DIM))
            .padding(Padding::horizontal(1))
            .style(theme::POPUP);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let areas = Layout::horizontal(vec![Constraint::Fill(1); columns.len()])
            .spacing(3)
            .split(inner);
        for (column, area) in columns.iter().zip(areas.iter()) {
            let end = (scroll + visible).min(column.len());
            let shown = fit_lines(&column[scroll.min(end)..end], usize::from(area.width));
            frame.render_widget(Paragraph::new(Text::from(shown)), *area);
        }
    }
}
