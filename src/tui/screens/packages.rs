//! The Packages screen: one row per package (its latest version), filterable and sortable,
//! with the integrity badge of what was verified this session, and a mark where the
//! ObjectStack server serves another version than the latest (a same-second tie, or a row it
//! cannot read).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

use ratatui::layout::Rect;
use ratatui::Frame;

use super::layout::ESSENTIAL;
use super::package_rows::PackageRows;
use super::{
    copy_hash, copy_id_version, draw_list_frame, draw_table, list_block, Changed, Column, Field,
    Screen, VersionsScreen,
};
use crate::registry::{PackageSummary, Scope, Served};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::integrity::{Badge, Integrity};
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
        keys::REVERSE_SORT,
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify every version of the selected package",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        keys::COPY,
        keys::COPY_HASH,
        keys::DELETE_ALL,
        keys::CLEAR_FILTER,
    ],
};

/// The ID and the latest version are never dropped; when space is short CREATED goes first,
/// then TYPE, then the version count.
const COLUMNS: [Column; 8] = [
    Column::flexible("ID", 20, 28, ESSENTIAL, true),
    Column::flexible("NAME", 12, 24, 5, true),
    Column::flexible("LATEST", 10, 12, ESSENTIAL, false),
    // Blank where the server serves the latest: the mark stands out where it does not.
    Column::flexible("SERVED", 8, 15, 6, false),
    Column::flexible("TYPE", 7, 9, 2, false),
    Column::fixed("VERSIONS", 8, 3).right_aligned(),
    Column::fixed("CREATED", 19, 1),
    Column::flexible("INTEGRITY", 7, 9, 6, false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// The registry's order: latest version inserted most recently first.
    Newest,
    Id,
    Name,
    Versions,
    Type,
    /// Failed packages first, then warned, then not verified, then ok.
    Failures,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Newest => Sort::Id,
            Sort::Id => Sort::Name,
            Sort::Name => Sort::Versions,
            Sort::Versions => Sort::Type,
            Sort::Type => Sort::Failures,
            Sort::Failures => Sort::Newest,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Id => "id",
            Sort::Name => "name",
            Sort::Versions => "most versions",
            Sort::Type => "type",
            Sort::Failures => "failures first",
        }
    }

    fn compare(self, rows: &PackageRows, a: usize, b: usize) -> Ordering {
        match self {
            Sort::Newest | Sort::Failures => Ordering::Equal,
            Sort::Id => rows.id(a).cmp(rows.id(b)),
            Sort::Name => rows.name(a).cmp(&rows.name(b)),
            Sort::Versions => rows.versions(b).cmp(&rows.versions(a)),
            Sort::Type => rows.kind(a).cmp(&rows.kind(b)),
        }
    }
}

/// Where a badge goes when failures come first: failed, warned, not verified, ok.
pub fn failure_rank(badge: Badge) -> u8 {
    match badge {
        Badge::Fail => 0,
        Badge::Warn => 1,
        Badge::Unknown => 2,
        Badge::Ok => 3,
    }
}

/// A sort label, with the direction when it is reversed.
pub fn sort_label(label: &str, reversed: bool) -> String {
    if reversed {
        format!("{label} (reversed)")
    } else {
        label.to_owned()
    }
}

pub struct PackagesScreen {
    rows: PackageRows,
    list: ListView,
    sort: Sort,
    /// `S`: the sort order upside down.
    reversed: bool,
    /// Each row's failure rank (see [`failure_rank`]) as of the last integrity news.
    ranks: Vec<u8>,
    loading: bool,
    error: Option<String>,
    /// The package selected when a reload started, to select it again.
    reselect: Option<String>,
    /// Whether a whole list arrived once: later loads are reloads.
    loaded: bool,
    /// A reload's pages, gathered out of sight until the last one.
    incoming: Option<PackageRows>,
    /// Packages that changed in the last reload, highlighted for a while.
    changed: Changed,
    /// Said instead of "no packages" when the registry does not exist yet.
    missing: Option<String>,
}

impl Default for PackagesScreen {
    fn default() -> Self {
        PackagesScreen {
            rows: PackageRows::default(),
            list: ListView::default(),
            sort: Sort::Newest,
            reversed: false,
            ranks: Vec::new(),
            loading: true,
            error: None,
            reselect: None,
            loaded: false,
            incoming: None,
            changed: Changed::default(),
            missing: None,
        }
    }
}

/// What the filter matches row `r` against: its id, name, type and latest version.
fn search_key(rows: &PackageRows, r: usize) -> String {
    let parts = [
        rows.id(r),
        rows.name(r).unwrap_or(""),
        rows.kind(r).unwrap_or(""),
        rows.version(r),
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
        self.reselect = self.selected_row().map(|r| self.rows.id(r).to_owned());
        Request::Packages
    }

    /// One page of the list from the worker.
    pub fn receive(
        &mut self,
        rows: Result<Vec<PackageSummary>, JobError>,
        first: bool,
        done: bool,
    ) {
        if rows.as_ref().is_ok_and(|r| !r.is_empty()) {
            // Rows mean a registry: if it was missing, a publish (here or elsewhere) made it.
            self.missing = None;
        }
        match rows {
            // A reload replaces the list at once, when it is whole: the selection, the
            // filter and the scroll never jump to a first page and back.
            Ok(rows) if self.loaded => {
                self.error = None;
                let incoming = self.incoming.get_or_insert_with(PackageRows::default);
                if first {
                    *incoming = PackageRows::default();
                }
                for row in &rows {
                    incoming.push(row);
                }
            }
            Ok(rows) => {
                self.error = None;
                if first {
                    self.rows = PackageRows::default();
                }
                let start = self.rows.len();
                for row in &rows {
                    self.rows.push(row);
                }
                let keys = (start..self.rows.len()).map(|r| search_key(&self.rows, r));
                if first {
                    self.list.replace(keys);
                } else {
                    self.list.extend(keys);
                }
            }
            Err(e) => {
                self.error = Some(e.to_string());
                self.incoming = None;
            }
        }
        if done {
            self.loading = false;
            if let Some(rows) = self.incoming.take() {
                self.swap(rows);
            }
            self.loaded |= self.error.is_none();
            self.resort();
            if let Some(id) = self.reselect.take() {
                if let Some(row) = self.rows.position(&id) {
                    self.list.select_row(row);
                }
            }
        }
    }

    /// A reloaded list in place of the old one; the packages that are new or changed (latest
    /// version, hash, version count) are highlighted for a while.
    fn swap(&mut self, rows: PackageRows) {
        let before: HashMap<&str, usize> =
            (0..self.rows.len()).map(|r| (self.rows.id(r), r)).collect();
        let changed: HashSet<String> = (0..rows.len())
            .filter(|&r| {
                before
                    .get(rows.id(r))
                    .is_none_or(|&o| !rows.same_state(r, &self.rows, o))
            })
            .map(|r| rows.id(r).to_owned())
            .collect();
        self.changed.set(changed);
        self.list
            .replace((0..rows.len()).map(|r| search_key(&rows, r)));
        self.rows = rows;
    }

    fn resort(&mut self) {
        let mut order: Vec<u32> = (0..self.rows.len() as u32).collect();
        match self.sort {
            Sort::Newest => {}
            Sort::Failures => {
                let ranks = &self.ranks;
                order.sort_by_key(|&r| ranks.get(r as usize).copied().unwrap_or(2));
            }
            sort => {
                let rows = &self.rows;
                order.sort_by(|&a, &b| sort.compare(rows, a as usize, b as usize));
            }
        }
        if self.reversed {
            order.reverse();
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

    /// Selects the package `id` (now, or once the list arrives).
    pub fn select_id(&mut self, id: &str) {
        match self.rows.position(id) {
            Some(row) if !self.loading => {
                self.list.clear_filter();
                self.list.select_row(row);
            }
            _ => self.reselect = Some(id.to_owned()),
        }
    }

    /// What the empty list says when the registry does not exist yet (`None`: it does).
    pub fn set_missing(&mut self, note: Option<String>) {
        self.missing = note;
    }

    /// The package `id`, when the list holds it.
    pub fn package(&self, id: &str) -> Option<PackageSummary> {
        self.rows.position(id).map(|r| self.rows.summary(r))
    }

    /// The ids of the packages received.
    pub fn ids(&self) -> std::collections::HashSet<&str> {
        (0..self.rows.len()).map(|r| self.rows.id(r)).collect()
    }

    pub fn selected(&self) -> Option<PackageSummary> {
        self.selected_row().map(|r| self.rows.summary(r))
    }

    fn selected_row(&self) -> Option<usize> {
        self.list.selected_row().filter(|&r| r < self.rows.len())
    }
}

impl Component for PackagesScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn list_screen(&self) -> bool {
        true
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Open => match self.selected() {
                Some(p) => Outcome::Push(Box::new(Screen::Versions(VersionsScreen::new(&p)))),
                None => Outcome::Done,
            },
            Action::Sort => {
                self.sort = self.sort.next();
                self.resort();
                Outcome::Done
            }
            Action::ReverseSort => {
                self.reversed = !self.reversed;
                self.resort();
                Outcome::Done
            }
            Action::Copy => match self.selected() {
                Some(p) => copy_id_version(&p.id, &p.version),
                None => Outcome::Done,
            },
            Action::CopyHash => match self.selected() {
                Some(p) => copy_hash(&p.id, &p.version, &p.hash),
                None => Outcome::Done,
            },
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
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        Some(&mut self.list)
    }

    fn animating(&self, now: Instant) -> bool {
        self.changed.fading(now)
    }

    fn integrity_changed(&mut self, integrity: &Integrity) {
        if self.sort != Sort::Failures {
            return;
        }
        let rows = &self.rows;
        self.ranks = (0..rows.len())
            .map(|r| failure_rank(integrity.package(rows.id(r), rows.versions(r))))
            .collect();
        self.resort();
    }

    fn list(&self) -> Option<&ListView> {
        Some(&self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let block = list_block(
            format!("Packages ({})", self.rows.len()),
            Some(&sort_label(self.sort.label(), self.reversed)),
            &self.list,
            area.width,
        );
        let Some(inner) = draw_list_frame(
            frame,
            area,
            block,
            &self.list,
            (self.loading, self.error.as_deref()),
            self.missing
                .as_deref()
                .unwrap_or("no packages in this registry"),
            "no package matches the filter",
        ) else {
            return;
        };
        let row = |r: usize| {
            let p = self.rows.summary(r);
            let badge = cx.integrity.package(&p.id, p.versions);
            let name = match (&p.name, p.manifest_readable) {
                (Some(n), _) => Field::new(printable(n)),
                (None, false) => Field::styled("(manifest is not JSON)", theme::ERROR),
                (None, true) => Field::styled("-", theme::DIM),
            };
            let served = match &p.served {
                Served::Latest => Field::new(""),
                Served::Tie { version } => {
                    Field::styled(format!("⚠ {} (tie)", printable(version)), theme::WARNING)
                }
                Served::Unreadable { .. } => Field::styled("⚠ none (corrupt)", theme::ERROR),
            };
            vec![
                Field::new(printable(&p.id)),
                name,
                Field::new(printable(&p.version)),
                served,
                Field::new(printable(p.kind.as_deref().unwrap_or("-"))),
                Field::new(p.versions.to_string()),
                Field::new(printable(p.created_at.as_deref().unwrap_or("-"))),
                Field::styled(badge.label(), theme::badge(badge)),
            ]
        };
        let changed = |r: usize| {
            self.changed
                .shows(self.rows.id(r), cx.now)
                .then_some(theme::CHANGED)
        };
        draw_table(frame, inner, &self.list, &COLUMNS, row, changed);
    }
}
