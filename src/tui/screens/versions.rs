//! The Versions screen: every version of one package, newest first. It marks the latest version
//! (inserted last), the highest semver version and the version the ObjectStack server serves
//! (what its `get(id)` answers), warns when they differ (a same-second tie; a 1.1.1 hotfix
//! published after 2.0.0), `P` promotes the selected version, and it charts when the versions
//! were published.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Instant;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use super::layout::{fit_lines, ESSENTIAL};
use super::packages::{failure_rank, sort_label};
use super::{
    copy_hash, copy_id_version, draw_list_frame, draw_table, list_block, Changed, Column,
    DetailScreen, Field, Screen,
};
use crate::registry::{PackageSummary, Scope, VersionSummary};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::integrity::{Badge, Integrity};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::message::Message;
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Versions",
    bindings: &[
        keys::open("the selected version: manifest, sections, integrity"),
        keys::BACK,
        keys::FILTER,
        keys::SORT,
        keys::REVERSE_SORT,
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify the selected version",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        keys::COPY,
        keys::COPY_HASH,
        keys::MARK,
        keys::DIFF,
        keys::HOTFIX,
        keys::EDIT_OUTSIDE,
        keys::PROMOTE,
        keys::DELETE,
        keys::DELETE_ALL,
    ],
};

/// The version is never dropped; when space is short UPDATED goes first, then the short
/// hash, then CREATED. Timestamps are dropped whole rather than cut.
const COLUMNS: [Column; 6] = [
    Column::flexible("VERSION", 8, 14, ESSENTIAL, false),
    Column::flexible("MARKS", 7, 24, 5, false),
    Column::fixed("CREATED", 19, 4),
    Column::fixed("UPDATED", 19, 2),
    Column::fixed("HASH", 12, 3),
    Column::flexible("INTEGRITY", 7, 9, 6, true),
];

/// Lines the publication chart takes, borders included.
const CHART_HEIGHT: u16 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// Latest first, as the registry decides it.
    Newest,
    /// Highest semver first; versions that are not semver last.
    Semver,
    Oldest,
    /// Failed versions first, then warned, then not verified, then ok.
    Failures,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Newest => Sort::Semver,
            Sort::Semver => Sort::Oldest,
            Sort::Oldest => Sort::Failures,
            Sort::Failures => Sort::Newest,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Semver => "highest version",
            Sort::Oldest => "oldest",
            Sort::Failures => "failures first",
        }
    }
}

pub struct VersionsScreen {
    id: String,
    name: Option<String>,
    rows: Vec<VersionSummary>,
    /// Parsed versions, `None` for those that are not semver.
    semver: Vec<Option<semver::Version>>,
    list: ListView,
    sort: Sort,
    /// `S`: the sort order upside down.
    reversed: bool,
    /// Each row's failure rank as of the last integrity news.
    ranks: Vec<u8>,
    loading: bool,
    error: Option<String>,
    /// The version to select when the rows arrive (a jump to it).
    select: Option<String>,
    /// The version marked with `m`, to diff against with `=`.
    marked: Option<String>,
    /// Versions that changed in the last reload, highlighted for a while.
    changed: Changed,
}

impl VersionsScreen {
    pub fn new(package: &PackageSummary) -> VersionsScreen {
        VersionsScreen::of(&package.id, package.name.clone(), None)
    }

    /// The versions of `id` (`name` when known), with `version` selected once they arrive.
    pub fn of(id: &str, name: Option<String>, version: Option<&str>) -> VersionsScreen {
        VersionsScreen {
            id: id.to_owned(),
            name,
            rows: Vec::new(),
            semver: Vec::new(),
            list: ListView::default(),
            sort: Sort::Newest,
            reversed: false,
            ranks: Vec::new(),
            loading: true,
            error: None,
            select: version.map(str::to_owned),
            marked: None,
            changed: Changed::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn load(&mut self) -> Request {
        self.loading = true;
        Request::Versions {
            id: self.id.clone(),
        }
    }

    pub fn receive(&mut self, rows: Result<Vec<VersionSummary>, JobError>) {
        self.loading = false;
        match rows {
            Ok(rows) => {
                let keep = self
                    .select
                    .take()
                    .or_else(|| self.selected().map(|v| v.version.clone()));
                self.error = None;
                self.semver = rows
                    .iter()
                    .map(|v| semver::Version::parse(&v.version).ok())
                    .collect();
                if !self.rows.is_empty() {
                    let state = |v: &VersionSummary| format!("{} {}", v.hash, v.latest);
                    let before: HashMap<&str, String> = self
                        .rows
                        .iter()
                        .map(|v| (v.version.as_str(), state(v)))
                        .collect();
                    self.changed
                        .record(&before, rows.iter().map(|v| (v.version.as_str(), state(v))));
                }
                self.list.replace(rows.iter().map(|v| v.version.clone()));
                self.rows = rows;
                self.resort();
                if let Some(row) = keep.and_then(|k| self.rows.iter().position(|v| v.version == k))
                {
                    self.list.select_row(row);
                }
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn resort(&mut self) {
        let mut order: Vec<u32> = (0..self.rows.len() as u32).collect();
        match self.sort {
            Sort::Newest => {}
            Sort::Oldest => order.reverse(),
            Sort::Semver => {
                let semver = &self.semver;
                order.sort_by(|&a, &b| match (&semver[a as usize], &semver[b as usize]) {
                    (Some(x), Some(y)) => y.cmp(x),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                });
            }
            Sort::Failures => {
                let ranks = &self.ranks;
                order.sort_by_key(|&r| ranks.get(r as usize).copied().unwrap_or(2));
            }
        }
        if self.reversed {
            order.reverse();
        }
        self.list.set_order(order);
    }

    fn selected(&self) -> Option<&VersionSummary> {
        self.list.selected_row().and_then(|r| self.rows.get(r))
    }

    /// The row of the highest semver version; versions that do not parse are ignored.
    fn highest(&self) -> Option<usize> {
        self.semver
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
            .max_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i)
    }

    fn latest(&self) -> Option<usize> {
        self.rows.iter().position(|v| v.latest)
    }

    fn served(&self) -> Option<usize> {
        self.rows.iter().position(|v| v.served)
    }

    /// What the operator must know: the server serves another version than the latest (and
    /// why), or the latest is not the highest version. Each warning is true of the server.
    fn warnings(&self) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        let Some(latest) = self.latest() else {
            return lines;
        };
        let l = printable(&self.rows[latest].version).into_owned();
        let loaded = match self.served() {
            Some(s) if s == latest => latest,
            Some(s) => {
                let v = printable(&self.rows[s].version).into_owned();
                lines.push(Line::styled(
                    format!(
                        " ⚠ the ObjectStack server serves {v}, not the latest {l}: a same-second \
                         tie its query does not break; P on {l} promotes it"
                    ),
                    theme::WARNING,
                ));
                s
            }
            None => {
                lines.push(Line::styled(
                    " ⚠ the ObjectStack server serves no version: the row its get() reads is \
                     not JSON, so it answers \"not found\""
                        .to_string(),
                    theme::ERROR,
                ));
                return lines;
            }
        };
        if let Some(h) = self.highest() {
            if self.semver[loaded] != self.semver[h] {
                let (s, h) = (
                    printable(&self.rows[loaded].version).into_owned(),
                    printable(&self.rows[h].version).into_owned(),
                );
                lines.push(Line::styled(
                    format!(
                        " ⚠ the highest version is {h}, but the server serves and loads {s} \
                         (a downgrade)"
                    ),
                    theme::WARNING,
                ));
            }
        }
        lines
    }

    fn draw_table(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let title = match &self.name {
            Some(name) => format!("Versions of {} ({})", printable(&self.id), printable(name)),
            None => format!("Versions of {}", printable(&self.id)),
        };
        let block = list_block(
            format!("{title} · {}", self.rows.len()),
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
            "this package has no versions",
            "no version matches the filter",
        ) else {
            return;
        };
        let (latest, highest, served) = (self.latest(), self.highest(), self.served());
        let row = |r: usize| {
            let v = &self.rows[r];
            let mut marks = Vec::new();
            if Some(r) == latest {
                marks.push("latest");
            }
            if Some(r) == served {
                marks.push("served");
            }
            if Some(r) == highest {
                marks.push("highest");
            }
            if self.marked.as_deref() == Some(v.version.as_str()) {
                marks.insert(0, "◆");
            }
            let verdict = cx.integrity.version(&self.id, &v.version, &v.hash);
            let badge = verdict.as_ref().map_or(Badge::Unknown, |v| v.badge);
            let mut integrity = badge.label().to_owned();
            if let Some(v) = verdict.filter(|v| !v.codes.is_empty()) {
                integrity = format!("{integrity} {}", v.codes.join(","));
            }
            vec![
                Field::new(printable(&v.version)),
                Field::styled(marks.join(" "), theme::MARK),
                Field::new(printable(v.created_at.as_deref().unwrap_or("-"))),
                Field::new(printable(v.updated_at.as_deref().unwrap_or("-"))),
                Field::new(printable(v.hash.get(..12).unwrap_or(&v.hash))),
                Field::styled(integrity, theme::badge(badge)),
            ]
        };
        let changed = |r: usize| {
            self.changed
                .shows(&self.rows[r].version, cx.now)
                .then_some(theme::CHANGED)
        };
        draw_table(frame, inner, &self.list, &COLUMNS, row, changed);
    }

    fn draw_chart(&self, frame: &mut Frame, area: Rect) {
        let times: Vec<i64> = self
            .rows
            .iter()
            .filter_map(|v| v.created_at.as_deref().and_then(timestamp_seconds))
            .collect();
        let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
            let block = Block::bordered().title(" Published ");
            frame.render_widget(
                Paragraph::new(Line::styled("no readable creation times", theme::DIM)).block(block),
                area,
            );
            return;
        };
        let when = |t: i64| {
            self.rows
                .iter()
                .filter_map(|v| v.created_at.as_deref())
                .find(|c| timestamp_seconds(c) == Some(t))
                .map(|c| printable(c).into_owned())
                .unwrap_or_default()
        };
        let block = Block::bordered()
            .title(Line::styled(
                format!(
                    " Published: {} between {} and {} ",
                    match times.len() {
                        1 => "1 version".to_owned(),
                        n => format!("{n} versions"),
                    },
                    when(first),
                    when(last)
                ),
                theme::TITLE,
            ))
            .title_bottom(Line::styled(
                format!(" span {} ", span_words(last - first)),
                theme::DIM,
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let buckets = publication_buckets(&times, inner.width as usize);
        frame.render_widget(
            Sparkline::default().data(buckets).style(theme::CHART),
            inner,
        );
    }
}

impl Component for VersionsScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn list_screen(&self) -> bool {
        true
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Open => match self.selected() {
                Some(v) => Outcome::Push(Box::new(Screen::Detail(Box::new(DetailScreen::new(
                    &self.id, &v.version,
                ))))),
                None => Outcome::Done,
            },
            Action::Back => Outcome::Back,
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
                Some(v) => copy_id_version(&self.id, &v.version),
                None => Outcome::Done,
            },
            Action::CopyHash => match self.selected() {
                Some(v) => copy_hash(&self.id, &v.version, &v.hash),
                None => Outcome::Done,
            },
            Action::Mark => match self.selected().map(|v| v.version.clone()) {
                Some(v) if self.marked.as_deref() == Some(v.as_str()) => {
                    self.marked = None;
                    Outcome::Say(Message::info(format!("{} unmarked", printable(&v))))
                }
                Some(v) => {
                    let said = format!(
                        "{} marked: select another version and press = to diff against it",
                        printable(&v)
                    );
                    self.marked = Some(v);
                    Outcome::Say(Message::info(said))
                }
                None => Outcome::Done,
            },
            Action::Diff => match (&self.marked, self.selected()) {
                (None, _) => Outcome::Say(Message::warning(
                    "no version is marked: m marks the one to diff against",
                )),
                (Some(m), Some(v)) if *m == v.version => Outcome::Say(Message::warning(
                    "this is the marked version: select another one to diff against it",
                )),
                (Some(m), Some(v)) => Outcome::Request(Request::Diff {
                    id: self.id.clone(),
                    from: m.clone(),
                    to: v.version.clone(),
                }),
                (Some(_), None) => Outcome::Done,
            },
            Action::Verify => match self.selected() {
                Some(v) => Outcome::Request(Request::verify(Scope::Version(
                    self.id.clone(),
                    v.version.clone(),
                ))),
                None => Outcome::Done,
            },
            Action::Hotfix | Action::EditOutside => match self.selected() {
                Some(v) => Outcome::Request(Request::HotfixSource {
                    id: self.id.clone(),
                    version: v.version.clone(),
                    outside: action == Action::EditOutside,
                }),
                None => Outcome::Done,
            },
            Action::Promote => match self.selected() {
                Some(v) => Outcome::Request(Request::PromotePlan {
                    id: self.id.clone(),
                    version: v.version.clone(),
                }),
                None => Outcome::Done,
            },
            Action::Delete => match self.selected() {
                Some(v) => Outcome::Request(Request::DeletePlan {
                    id: self.id.clone(),
                    version: Some(v.version.clone()),
                }),
                None => Outcome::Done,
            },
            Action::DeleteAll => Outcome::Request(Request::DeletePlan {
                id: self.id.clone(),
                version: None,
            }),
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
        self.ranks = self
            .rows
            .iter()
            .map(|v| {
                let verdict = integrity.version(&self.id, &v.version, &v.hash);
                failure_rank(verdict.map_or(Badge::Unknown, |v| v.badge))
            })
            .collect();
        self.resort();
    }

    fn list(&self) -> Option<&ListView> {
        Some(&self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let warnings = self.warnings();
        // On a short terminal the rows matter more than the chart.
        let chart = if area.height >= CHART_HEIGHT * 3 {
            CHART_HEIGHT
        } else {
            0
        };
        let [warn_area, table_area, chart_area] = Layout::vertical([
            Constraint::Length(warnings.len() as u16),
            Constraint::Min(4),
            Constraint::Length(chart),
        ])
        .areas(area);
        let lines = fit_lines(&warnings, usize::from(warn_area.width));
        frame.render_widget(Paragraph::new(Text::from(lines)), warn_area);
        self.draw_table(frame, table_area, cx);
        if chart > 0 {
            self.draw_chart(frame, chart_area);
        }
    }
}

/// Seconds since 1970 of an SQLite `YYYY-MM-DD HH:MM:SS` timestamp (UTC).
fn timestamp_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// How many versions were published in each of `n` equal slices of time from the first to
/// the last.
fn publication_buckets(times: &[i64], n: usize) -> Vec<u64> {
    let mut buckets = vec![0u64; n.max(1)];
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
        return buckets;
    };
    let span = (last - first).max(1) as i128;
    let slots = buckets.len() as i128;
    let last_slot = buckets.len() - 1;
    for &t in times {
        let i = ((t - first) as i128 * (slots - 1) / span) as usize;
        buckets[i.min(last_slot)] += 1;
    }
    buckets
}

fn span_words(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_buckets() {
        assert_eq!(timestamp_seconds("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            timestamp_seconds("2026-11-24 01:46:01"),
            Some(1_795_484_761)
        );
        assert_eq!(timestamp_seconds("yesterday"), None);
        assert_eq!(publication_buckets(&[10, 10, 20], 3), vec![2, 0, 1]);
        assert_eq!(publication_buckets(&[5, 5], 4), vec![2, 0, 0, 0]);
        assert_eq!(span_words(90_000), "25 h");
    }
}
