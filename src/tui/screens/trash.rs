//! The Trash screen: the files in `<data dir>/trash/`, newest first, each the rows a delete
//! or an overwrite removed (when, which action, how many rows, which package and versions,
//! from which registry). `Enter`/`u` restores the selected file after the confirm dialog,
//! which says what the ObjectStack server would load then; the registry refuses a restore
//! that would overwrite a different row, and says so.

use std::path::PathBuf;

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::Frame;

use super::confirm::trash_dir;
use super::layout::{cut_middle, ESSENTIAL};
use super::{draw_list_frame, draw_table, list_block, Column, Confirm, Field};
use crate::registry::trash::TrashEntry;
use crate::registry::RestorePlan;
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Trash",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Enter), Key::Char('u')],
            shown: "Enter u",
            does: "restore the selected file's rows (asks first)",
            hint: Some("Enter restore"),
            action: Action::Restore,
        },
        keys::FILTER,
        keys::BACK,
    ],
};

/// What the file holds is never dropped; where it came from goes first, then the row count.
const COLUMNS: [Column; 5] = [
    Column::fixed("SAVED AT (UTC)", 20, 4),
    Column::flexible("ACTION", 6, 10, 3, false),
    Column::fixed("ROWS", 4, 2).right_aligned(),
    Column::flexible("WHAT", 14, 30, ESSENTIAL, true),
    Column::flexible("FROM", 10, 30, 1, true),
];

pub struct TrashScreen {
    /// The registry a restore writes to, for the confirm dialog.
    target: String,
    dir: Option<PathBuf>,
    entries: Vec<TrashEntry>,
    list: ListView,
    loading: bool,
    error: Option<String>,
}

/// What a trash file holds, in a few words: the package and its versions.
fn contents(e: &TrashEntry) -> String {
    let rows = &e.file.rows;
    let Some(first) = rows.first() else {
        return "(no rows)".into();
    };
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.dedup();
    let versions: Vec<&str> = rows.iter().map(|r| r.version.as_str()).collect();
    if ids.len() == 1 {
        format!("{} {}", first.id, versions.join(", "))
    } else {
        format!("{} packages: {}", ids.len(), ids.join(", "))
    }
}

impl TrashScreen {
    pub fn new(target: &str) -> TrashScreen {
        TrashScreen {
            target: target.to_owned(),
            dir: None,
            entries: Vec::new(),
            list: ListView::default(),
            loading: true,
            error: None,
        }
    }

    pub fn load(&mut self) -> Request {
        self.loading = true;
        Request::Trash
    }

    pub fn receive(&mut self, dir: PathBuf, entries: Result<Vec<TrashEntry>, JobError>) {
        self.loading = false;
        match entries {
            Ok(entries) => {
                let keep = self.selected().map(|e| e.path.clone());
                self.error = None;
                self.dir = Some(dir);
                self.list.replace(
                    entries
                        .iter()
                        .map(|e| format!("{} {} {}", e.file.saved_at, e.file.action, contents(e))),
                );
                self.entries = entries;
                if let Some(row) = keep.and_then(|k| self.entries.iter().position(|e| e.path == k))
                {
                    self.list.select_row(row);
                }
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn selected(&self) -> Option<&TrashEntry> {
        self.list.selected_row().and_then(|r| self.entries.get(r))
    }

    /// The restore dialog of the file at `path`, with what rehearsing it found.
    pub fn restore_dialog(&self, path: &std::path::Path, plan: &RestorePlan) -> Option<Confirm> {
        let entry = self.entries.iter().find(|e| e.path == path)?;
        Some(Confirm::restore(entry, &self.target, plan))
    }
}

impl Component for TrashScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn list_screen(&self) -> bool {
        true
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            // The dialog opens once the registry rehearsed the restore (what the server would
            // load then).
            Action::Restore => match self.selected() {
                Some(e) => Outcome::Request(Request::RestorePlan {
                    path: e.path.clone(),
                }),
                None => Outcome::Done,
            },
            Action::Back => Outcome::Back,
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn list(&self) -> Option<&ListView> {
        Some(&self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let dir = self
            .dir
            .as_ref()
            .map(|d| trash_dir(d))
            .unwrap_or_else(|| "…".into());
        let block = list_block(
            format!("Trash ({}) · {dir}", self.entries.len()),
            Some("newest first"),
            &self.list,
            area.width,
        );
        let Some(inner) = draw_list_frame(
            frame,
            area,
            block,
            &self.list,
            (self.loading, self.error.as_deref()),
            "the trash is empty: nothing was deleted or overwritten here yet",
            "no trash file matches the filter",
        ) else {
            return;
        };
        // The selected file's full path goes under the table: file names are long, and the
        // columns are better spent on what the file holds.
        let [table_area, file_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        let row = |r: usize| {
            let e = &self.entries[r];
            vec![
                Field::new(printable(&e.file.saved_at)),
                Field::new(printable(&e.file.action)),
                Field::new(e.file.rows.len().to_string()),
                Field::new(printable(&contents(e))),
                Field::new(printable(&e.file.target)),
            ]
        };
        draw_table(frame, table_area, &self.list, &COLUMNS, row, |_| None);
        if let Some(e) = self.selected() {
            frame.render_widget(
                Line::styled(
                    format!(
                        " file: {}",
                        cut_middle(
                            &printable(&e.path.display().to_string()),
                            usize::from(file_area.width.saturating_sub(7)),
                        )
                    ),
                    theme::DIM,
                ),
                file_area,
            );
        }
    }
}
