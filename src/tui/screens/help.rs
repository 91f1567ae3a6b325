//! The help overlay: the keys of the screen it was opened on, from the same tables that
//! map the keys, so it cannot go stale. In read-only mode the writes are struck through and
//! marked, as in the footer.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::centered;
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
        let mut lines = Vec::new();
        for group in &self.groups {
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(group.title, theme::COLUMN_HEADER));
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
        let lines = self.lines();
        let popup = centered(area, 100, lines.len() as u16 + 2);
        let visible = popup.height.saturating_sub(2) as usize;
        let scroll = self.scroll.min(lines.len().saturating_sub(visible));
        let more = if scroll + visible < lines.len() {
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
        frame.render_widget(
            Paragraph::new(Text::from(lines))
                .block(block)
                .scroll((scroll as u16, 0)),
            popup,
        );
    }
}
