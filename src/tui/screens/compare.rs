//! The Compare screen (spec 11): the current registry (A) and a saved connection (B) side by
//! side, one row per id@version with its state (the same id@version with different contents
//! first, in red; a version on one side only in yellow; the same dim), both short hashes and
//! where the latest or the served version differs. `C` copies the selected version to the
//! other side through the destination's review and the confirm dialog; `=` diffs a version
//! both sides hold. The registry compares and decides; the screen only shows and asks.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::Frame;

use super::layout::ESSENTIAL;
use super::{draw_list_frame, draw_table, list_block, Column, Field};
use crate::registry::{CompareSummary, PackageComparison, VersionComparison, VersionState};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::message::Message;
use crate::tui::protocol::{Compared, JobError, Opened, Request};
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Compare",
    bindings: &[
        Binding {
            keys: &[Key::Char('C')],
            shown: "C",
            does: "copy the selected version to the other side (differs: A over B), after a review",
            hint: Some("C copy across"),
            action: Action::CopyAcross,
        },
        Binding {
            keys: &[Key::Char('=')],
            shown: "=",
            does: "diff the selected version between A and B",
            hint: Some("= diff"),
            action: Action::Diff,
        },
        keys::FILTER,
        Binding {
            keys: &[Key::Code(KeyCode::Esc), Key::Code(KeyCode::Backspace)],
            shown: "Esc",
            does: "back (closes the compared registry)",
            hint: Some("Esc back"),
            action: Action::Back,
        },
    ],
};

/// The id and the version are never dropped; the heads go first, then B's hash.
const COLUMNS: [Column; 6] = [
    Column::flexible("ID", 10, 36, ESSENTIAL, true),
    Column::flexible("VERSION", 7, 14, ESSENTIAL, false),
    Column::fixed("STATE", 7, 8),
    Column::fixed("A HASH", 12, 4),
    Column::fixed("B HASH", 12, 3),
    Column::flexible("LATEST / SERVED", 8, 30, 2, true),
];

pub struct CompareScreen {
    /// The current registry's target (A).
    target: String,
    /// The saved connection compared with (B).
    name: String,
    other: Option<Opened>,
    packages: Vec<PackageComparison>,
    /// (package, version) of each row, in key order.
    rows: Vec<(u32, u32)>,
    summary: CompareSummary,
    list: ListView,
    loading: bool,
    error: Option<String>,
}

impl CompareScreen {
    pub fn new(target: &str, name: &str) -> CompareScreen {
        CompareScreen {
            target: target.to_owned(),
            name: name.to_owned(),
            other: None,
            packages: Vec::new(),
            rows: Vec::new(),
            summary: CompareSummary::default(),
            list: ListView::default(),
            loading: true,
            error: None,
        }
    }

    /// The saved connection compared with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compared registry as the worker opened it (once loaded).
    pub fn other(&self) -> Option<&Opened> {
        self.other.as_ref()
    }

    pub fn load(&mut self) -> Request {
        self.loading = true;
        Request::Compare {
            name: self.name.clone(),
        }
    }

    pub fn receive(&mut self, compared: Result<Box<Compared>, JobError>) {
        self.loading = false;
        let compared = match compared {
            Ok(c) => c,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let keep = self
            .selected()
            .map(|(p, v)| (p.id.clone(), v.version.clone()));
        self.error = None;
        let Compared {
            other,
            packages,
            summary,
        } = *compared;
        self.other = Some(other);
        self.summary = summary;
        self.rows = packages
            .iter()
            .enumerate()
            .flat_map(|(p, pkg)| (0..pkg.versions.len()).map(move |v| (p as u32, v as u32)))
            .collect();
        self.packages = packages;
        let keys: Vec<String> = self
            .rows
            .iter()
            .map(|&(p, v)| {
                let (pkg, ver) = self.at(p, v);
                format!("{} {} {}", pkg.id, ver.version, ver.state.as_str())
            })
            .collect();
        self.list.replace(keys);
        // The dangerous rows first, the rest in key order.
        let (mut order, rest): (Vec<u32>, Vec<u32>) = (0..self.rows.len() as u32)
            .partition(|&r| self.state_of(r as usize) == VersionState::Differs);
        order.extend(rest);
        self.list.set_order(order);
        let kept = keep.and_then(|(id, version)| {
            self.rows.iter().position(|&(p, v)| {
                let (pkg, ver) = self.at(p, v);
                pkg.id == id && ver.version == version
            })
        });
        match kept {
            Some(row) => self.list.select_row(row),
            // First shown: the first row that differs, if any.
            None => self.list.select_position(0),
        }
    }

    fn at(&self, p: u32, v: u32) -> (&PackageComparison, &VersionComparison) {
        let pkg = &self.packages[p as usize];
        (pkg, &pkg.versions[v as usize])
    }

    fn state_of(&self, row: usize) -> VersionState {
        let (p, v) = self.rows[row];
        self.at(p, v).1.state
    }

    fn selected(&self) -> Option<(&PackageComparison, &VersionComparison)> {
        let &(p, v) = self.rows.get(self.list.selected_row()?)?;
        Some(self.at(p, v))
    }

    /// The state of `id@version` as last loaded.
    pub fn state(&self, id: &str, version: &str) -> Option<VersionState> {
        self.packages
            .iter()
            .find(|p| p.id == id)?
            .versions
            .iter()
            .find(|v| v.version == version)
            .map(|v| v.state)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn copy_across(&self) -> Outcome {
        let Some((pkg, ver)) = self.selected() else {
            return Outcome::Done;
        };
        let to_other = match ver.state {
            VersionState::OnlyA | VersionState::Differs => true,
            VersionState::OnlyB => false,
            VersionState::Same => {
                return Outcome::Say(Message::info(format!(
                    "{} {} is the same on both sides: nothing to copy",
                    printable(&pkg.id),
                    printable(&ver.version)
                )))
            }
        };
        Outcome::Request(Request::CopyPlan {
            id: pkg.id.clone(),
            version: ver.version.clone(),
            to_other,
        })
    }

    fn diff(&self) -> Outcome {
        let Some((pkg, ver)) = self.selected() else {
            return Outcome::Done;
        };
        match ver.state {
            VersionState::OnlyA | VersionState::OnlyB => Outcome::Say(Message::info(format!(
                "{} {} is only in {}: nothing to diff it against",
                printable(&pkg.id),
                printable(&ver.version),
                if ver.state == VersionState::OnlyA {
                    "A"
                } else {
                    "B"
                }
            ))),
            VersionState::Same | VersionState::Differs => Outcome::Request(Request::CompareDiff {
                id: pkg.id.clone(),
                version: ver.version.clone(),
            }),
        }
    }
}

/// Where this version is the latest or the served one, and on which side; a side that
/// disagrees with the other is what the operator looks for.
fn heads(pkg: &PackageComparison, version: &str) -> (String, bool) {
    let side = |a: &Option<String>, b: &Option<String>| -> Option<&'static str> {
        let (in_a, in_b) = (a.as_deref() == Some(version), b.as_deref() == Some(version));
        match (in_a, in_b) {
            (true, true) => Some(""),
            (true, false) => Some(" in A"),
            (false, true) => Some(" in B"),
            (false, false) => None,
        }
    };
    let mut parts = Vec::new();
    if let Some(s) = side(&pkg.a_latest, &pkg.b_latest) {
        parts.push(format!("latest{s}"));
    }
    if let Some(s) = side(&pkg.a_served, &pkg.b_served) {
        parts.push(format!("served{s}"));
    }
    let differs = pkg.latest_differs() || pkg.served_differs();
    (parts.join(" · "), differs && !parts.is_empty())
}

fn short(hash: Option<&str>) -> String {
    hash.map_or_else(
        || "-".into(),
        |h| printable(h.get(..12).unwrap_or(h)).into_owned(),
    )
}

fn state_style(state: VersionState) -> Style {
    match state {
        VersionState::Differs => theme::ERROR,
        VersionState::OnlyA | VersionState::OnlyB => theme::WARNING,
        VersionState::Same => theme::DIM,
    }
}

impl Component for CompareScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn list_screen(&self) -> bool {
        true
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::CopyAcross => self.copy_across(),
            Action::Diff => self.diff(),
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
        let b = self.other.as_ref().map_or_else(
            || self.name.clone(),
            |o| format!("{} ({})", self.name, o.target),
        );
        let s = &self.summary;
        let title = format!(
            "Compare · A {} · B {} · {} differ, {} only A, {} only B, {} same",
            printable(&self.target),
            printable(&b),
            s.differs,
            s.only_a,
            s.only_b,
            s.same
        );
        let block = list_block(title, Some("differs first"), &self.list, area.width);
        let Some(inner) = draw_list_frame(
            frame,
            area,
            block,
            &self.list,
            (self.loading, self.error.as_deref()),
            "both registries are empty",
            "no version matches the filter",
        ) else {
            return;
        };
        let row = |r: usize| {
            let (p, v) = self.rows[r];
            let (pkg, ver) = self.at(p, v);
            let (marks, differs) = heads(pkg, &ver.version);
            let dim = |text: String| {
                if ver.state == VersionState::Same {
                    Field::styled(text, theme::DIM)
                } else {
                    Field::new(text)
                }
            };
            vec![
                dim(printable(&pkg.id).into_owned()),
                dim(printable(&ver.version).into_owned()),
                Field::styled(ver.state.as_str(), state_style(ver.state)),
                dim(short(ver.a_hash.as_deref())),
                dim(short(ver.b_hash.as_deref())),
                Field::styled(marks, if differs { theme::WARNING } else { theme::DIM }),
            ]
        };
        draw_table(frame, inner, &self.list, &COLUMNS, row, |_| None);
    }
}
