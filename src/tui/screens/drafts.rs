//! The drafts overlay: editor text kept from an earlier session (quit with unpublished
//! changes, or edited in `$VISUAL`/`$EDITOR`), offered for resuming when the console opens
//! and with `:drafts`. `Enter` resumes one in the editor; `d` twice discards one.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::layout::{cut, ESSENTIAL};
use super::{centered, draw_table, Column, Field};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::drafts::Draft;
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::message::Message;
use crate::tui::protocol::Request;
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Drafts",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "resume the selected draft in the editor",
            hint: Some("Enter resume"),
            action: Action::Open,
        },
        Binding {
            keys: &[Key::Char('d')],
            shown: "d",
            does: "discard the selected draft (press d again to confirm)",
            hint: Some("d discard"),
            action: Action::Delete,
        },
        keys::close("close; the drafts stay (:drafts lists them again)"),
    ],
};

const COLUMNS: [Column; 3] = [
    Column::fixed("SAVED AT (UTC)", 20, 3),
    Column::flexible("WHAT", 16, 60, ESSENTIAL, true),
    Column::flexible("SIZE", 6, 10, 1, false).right_aligned(),
];

pub struct DraftsPicker {
    drafts: Vec<Draft>,
    list: ListView,
    /// The draft `d` was pressed on once: a second `d` discards it.
    discarding: Option<usize>,
}

impl DraftsPicker {
    pub fn new(drafts: Vec<Draft>) -> DraftsPicker {
        let list = ListView::with_keys(drafts.iter().map(|d| d.origin.describe()));
        DraftsPicker {
            drafts,
            list,
            discarding: None,
        }
    }
}

impl Component for DraftsPicker {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        if self.list.apply(action, page) {
            self.discarding = None;
            return Outcome::Done;
        }
        let selected = self.list.selected_row();
        match action {
            Action::Open => match selected.and_then(|r| self.drafts.get(r)) {
                Some(d) => Outcome::All(vec![
                    Outcome::Back,
                    Outcome::Request(Request::ResumeDraft { draft: d.clone() }),
                ]),
                None => Outcome::Done,
            },
            Action::Delete => match selected {
                Some(r) if self.discarding == Some(r) => {
                    self.discarding = None;
                    let draft = self.drafts.remove(r);
                    self.list =
                        ListView::with_keys(self.drafts.iter().map(|d| d.origin.describe()));
                    let gone = Outcome::Request(Request::DiscardDraft { path: draft.path });
                    if self.drafts.is_empty() {
                        Outcome::All(vec![Outcome::Back, gone])
                    } else {
                        gone
                    }
                }
                Some(r) => {
                    self.discarding = Some(r);
                    Outcome::Say(Message::warning(
                        "d again discards this draft for good; any other key keeps it",
                    ))
                }
                None => Outcome::Done,
            },
            Action::Back => Outcome::All(vec![
                Outcome::Back,
                Outcome::Say(Message::info("the drafts stay; :drafts lists them again")),
            ]),
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let width = area.width.saturating_sub(8).min(120);
        let popup = centered(area, width, self.drafts.len() as u16 + 6);
        frame.render_widget(Clear, popup);
        let title = format!(
            " Unsaved drafts ({}): Enter resumes one ",
            self.drafts.len()
        );
        let block = Block::bordered()
            .title(Line::styled(
                cut(&title, usize::from(width).saturating_sub(2)),
                theme::TITLE,
            ))
            .style(theme::POPUP);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        let [note, table] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Length(1),
            ratatui::layout::Constraint::Min(1),
        ])
        .areas(inner);
        frame.render_widget(
            Paragraph::new(Line::styled(
                " Editor text nobody published, kept when pkgdeck was last quit:",
                theme::DIM,
            )),
            note,
        );
        let row = |r: usize| {
            let d = &self.drafts[r];
            let style = if self.discarding == Some(r) {
                theme::ERROR
            } else {
                ratatui::style::Style::new()
            };
            vec![
                Field::new(printable(&d.saved)),
                Field::styled(printable(&d.origin.describe()), style),
                Field::new(format!("{} B", d.bytes)),
            ]
        };
        draw_table(frame, table, &self.list, &COLUMNS, row, |_| None);
    }
}
