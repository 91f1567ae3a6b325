//! The Packages screen: one row per package (its latest version), filterable and sortable,
//! with the integrity badge of what was verified this session, and a mark where the
//! ObjectStack server serves another version than the latest (a same-second tie, or a row it
//! cannot read).

use std::cmp::Ordering;

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::{draw_list_frame, draw_table, list_action, list_block, Screen, VersionsScreen};
use crate::registry::{PackageSummary, Scope, Served};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Packages",
    bindings: &[
        keys::open("the versions of the selected package"),
        keys::FILTER,
        keys::SORT,
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify every version of the selected package",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        keys::DELETE_ALL,
        keys::CLEAR_FILTER,
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// The registry's order: latest version inserted most recently first.
    Newest,
    Id,
    Name,
    Versions,
    Type,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Newest => Sort::Id,
            Sort::Id => Sort::Name,
            Sort::Name => Sort::Versions,
            Sort::Versions => Sort::Type,
            Sort::Type => Sort::Newest,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Id => "id",
            Sort::Name => "name",
            Sort::Versions => "most versions",
            Sort::Type => "type",
        }
    }

    fn compare(self, a: &PackageSummary, b: &PackageSummary) -> Ordering {
        match self {
            Sort::Newest => Ordering::Equal,
            Sort::Id => a.id.cmp(&b.id),
            Sort::Name => a.name.cmp(&b.name),
            Sort::Versions => b.versions.cmp(&a.versions),
            Sort::Type => a.kind.cmp(&b.kind),
        }
    }
}

pub struct PackagesScreen {
    rows: Vec<PackageSummary>,
    list: ListView,
    sort: Sort,
    loading: bool,
    error: Option<String>,
    /// The package selected when a reload started, to select it again.
    reselect: Option<String>,
}

impl Default for PackagesScreen {
    fn default() -> Self {
        PackagesScreen {
            rows: Vec::new(),
            list: ListView::default(),
            sort: Sort::Newest,
            loading: true,
            error: None,
            reselect: None,
        }
    }
}

fn search_key(p: &PackageSummary) -> String {
    let parts = [
        p.id.as_str(),
        p.name.as_deref().unwrap_or(""),
        p.kind.as_deref().unwrap_or(""),
        p.version.as_str(),
    ];
    let mut key = String::with_capacity(parts.iter().map(|s| s.len() + 1).sum());
    for part in parts {
        key.push_str(part);
        key.push(' ');
    }
    key
}

impl PackagesScreen {
    pub fn load(&mut self) -> Request {
        self.loading = true;
        self.reselect = self.selected().map(|p| p.id.clone());
        Request::Packages
    }

    /// One page of the list from the worker.
    pub fn receive(
        &mut self,
        rows: Result<Vec<PackageSummary>, JobError>,
        first: bool,
        done: bool,
    ) {
        match rows {
            Ok(rows) => {
                self.error = None;
                if first {
                    self.list.replace(rows.iter().map(search_key));
                    self.rows = rows;
                } else {
                    self.list.extend(rows.iter().map(search_key));
                    self.rows.extend(rows);
                }
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        if done {
            self.loading = false;
            self.resort();
            if let Some(id) = self.reselect.take() {
                if let Some(row) = self.rows.iter().position(|p| p.id == id) {
                    self.list.select_row(row);
                }
            }
        }
    }

    fn resort(&mut self) {
        let mut order: Vec<u32> = (0..self.rows.len() as u32).collect();
        if self.sort != Sort::Newest {
            let rows = &self.rows;
            order.sort_by(|&a, &b| self.sort.compare(&rows[a as usize], &rows[b as usize]));
        }
        self.list.set_order(order);
    }

    /// Whether the list is still arriving.
    pub fn loading(&self) -> bool {
        self.loading
    }

    /// Packages received so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn selected(&self) -> Option<&PackageSummary> {
        self.list.selected_row().and_then(|r| self.rows.get(r))
    }
}

impl Component for PackagesScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        if list_action(&mut self.list, action, page) {
            return Outcome::Done;
        }
        match action {
            Action::Open => match self.selected() {
                Some(p) => Outcome::Push(Screen::Versions(VersionsScreen::new(p))),
                None => Outcome::Done,
            },
            Action::Sort => {
                self.sort = self.sort.next();
                self.resort();
                Outcome::Done
            }
            Action::Verify => match self.selected() {
                Some(p) => Outcome::Request(Request::verify(Scope::Package(p.id.clone()))),
                None => Outcome::Done,
            },
            Action::DeleteAll => match self.selected() {
                Some(p) => Outcome::Request(Request::DeletePlan {
                    id: p.id.clone(),
                    version: None,
                }),
                None => Outcome::Done,
            },
            Action::Back => {
                self.list.clear_filter();
                Outcome::Done
            }
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn list(&self) -> Option<&ListView> {
        Some(&self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let block = list_block(
            format!("Packages ({})", self.rows.len()),
            Some(self.sort.label()),
            &self.list,
        );
        let Some(inner) = draw_list_frame(
            frame,
            area,
            block,
            &self.list,
            (self.loading, self.error.as_deref()),
            "no packages in this registry",
            "no package matches the filter",
        ) else {
            return;
        };
        let widths = [
            Constraint::Fill(3),
            Constraint::Fill(3),
            Constraint::Length(12),
            Constraint::Length(15),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(19),
            Constraint::Length(9),
        ];
        let header = Row::new([
            "ID",
            "NAME",
            "LATEST",
            "SERVED",
            "TYPE",
            "VERSIONS",
            "CREATED",
            "INTEGRITY",
        ]);
        draw_table(frame, inner, &self.list, header, &widths, |r| {
            let p = &self.rows[r];
            let badge = cx.integrity.package(&p.id);
            let name = match (&p.name, p.manifest_readable) {
                (Some(n), _) => Cell::from(printable(n).into_owned()),
                (None, false) => Cell::from("(manifest is not JSON)").style(theme::ERROR),
                (None, true) => Cell::from("-").style(theme::DIM),
            };
            // Blank where the server serves the latest: the mark stands out where it does not.
            let served = match &p.served {
                Served::Latest => Cell::from(""),
                Served::Tie { version } => {
                    Cell::from(format!("⚠ {} (tie)", printable(version))).style(theme::WARNING)
                }
                Served::Unreadable { .. } => Cell::from("⚠ none (corrupt)").style(theme::ERROR),
            };
            Row::new(vec![
                Cell::from(printable(&p.id).into_owned()),
                name,
                Cell::from(printable(&p.version).into_owned()),
                served,
                Cell::from(printable(p.kind.as_deref().unwrap_or("-")).into_owned()),
                Cell::from(Line::from(p.versions.to_string()).right_aligned()),
                Cell::from(printable(p.created_at.as_deref().unwrap_or("-")).into_owned()),
                Cell::from(badge.label()).style(theme::badge(badge)),
            ])
        });
    }
}
