//! The Versions screen: every version of one package, newest first. It marks the latest version
//! (inserted last), the highest semver version and the version the ObjectStack server serves
//! (what its `get(id)` answers), warns when they differ (a same-second tie; a 1.1.1 hotfix
//! published after 2.0.0), `P` promotes the selected version, and it charts when the versions
//! were published.

use std::cmp::Ordering;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::{draw_list_frame, draw_table, list_action, list_block, DetailScreen, Screen};
use crate::registry::{PackageSummary, Scope, VersionSummary};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::integrity::Badge;
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
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
        Binding {
            keys: &[Key::Char('v')],
            shown: "v",
            does: "verify the selected version",
            hint: Some("v verify"),
            action: Action::Verify,
        },
        keys::HOTFIX,
        keys::PROMOTE,
        keys::DELETE,
        keys::DELETE_ALL,
    ],
};

/// Lines the publication chart takes, borders included.
const CHART_HEIGHT: u16 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// Latest first, as the registry decides it.
    Newest,
    /// Highest semver first; versions that are not semver last.
    Semver,
    Oldest,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Newest => Sort::Semver,
            Sort::Semver => Sort::Oldest,
            Sort::Oldest => Sort::Newest,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Semver => "highest version",
            Sort::Oldest => "oldest",
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
    loading: bool,
    error: Option<String>,
}

impl VersionsScreen {
    pub fn new(package: &PackageSummary) -> VersionsScreen {
        VersionsScreen {
            id: package.id.clone(),
            name: package.name.clone(),
            rows: Vec::new(),
            semver: Vec::new(),
            list: ListView::default(),
            sort: Sort::Newest,
            loading: true,
            error: None,
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
                let keep = self.selected().map(|v| v.version.clone());
                self.error = None;
                self.semver = rows
                    .iter()
                    .map(|v| semver::Version::parse(&v.version).ok())
                    .collect();
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
            Some(self.sort.label()),
            &self.list,
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
        let widths = [
            Constraint::Length(14),
            Constraint::Length(22),
            Constraint::Length(20),
            Constraint::Length(20),
            Constraint::Length(13),
            Constraint::Fill(1),
        ];
        let header = Row::new(["VERSION", "", "CREATED", "UPDATED", "HASH", "INTEGRITY"]);
        draw_table(frame, inner, &self.list, header, &widths, |r| {
            let v = &self.rows[r];
            let mut marks = Vec::new();
            if Some(r) == latest {
                marks.push(Span::styled("latest", theme::MARK));
            }
            if Some(r) == served {
                if !marks.is_empty() {
                    marks.push(Span::raw(" "));
                }
                let style = if served == latest {
                    theme::MARK
                } else {
                    theme::WARNING
                };
                marks.push(Span::styled("served", style));
            }
            if Some(r) == highest {
                if !marks.is_empty() {
                    marks.push(Span::raw(" "));
                }
                marks.push(Span::styled("highest", theme::MARK));
            }
            let verdict = cx.integrity.version(&self.id, &v.version);
            let badge = verdict.as_ref().map_or(Badge::Unknown, |v| v.badge);
            let mut integrity = badge.label().to_owned();
            if let Some(v) = verdict.filter(|v| !v.codes.is_empty()) {
                integrity = format!("{integrity} {}", v.codes.join(","));
            }
            Row::new(vec![
                Cell::from(printable(&v.version).into_owned()),
                Cell::from(Line::from(marks)),
                Cell::from(printable(v.created_at.as_deref().unwrap_or("-")).into_owned()),
                Cell::from(printable(v.updated_at.as_deref().unwrap_or("-")).into_owned()),
                Cell::from(printable(v.hash.get(..12).unwrap_or(&v.hash)).into_owned()),
                Cell::from(integrity).style(theme::badge(badge)),
            ])
        });
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

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        if list_action(&mut self.list, action, page) {
            return Outcome::Done;
        }
        match action {
            Action::Open => match self.selected() {
                Some(v) => Outcome::Push(Screen::Detail(DetailScreen::new(&self.id, &v.version))),
                None => Outcome::Done,
            },
            Action::Back if self.list.clear_filter() => Outcome::Done,
            Action::Back => Outcome::Back,
            Action::Sort => {
                self.sort = self.sort.next();
                self.resort();
                Outcome::Done
            }
            Action::Verify => match self.selected() {
                Some(v) => Outcome::Request(Request::verify(Scope::Version(
                    self.id.clone(),
                    v.version.clone(),
                ))),
                None => Outcome::Done,
            },
            Action::Hotfix => match self.selected() {
                Some(v) => Outcome::Request(Request::HotfixSource {
                    id: self.id.clone(),
                    version: v.version.clone(),
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

    fn list(&self) -> Option<&ListView> {
        Some(&self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        let warnings = self.warnings();
        let [warn_area, table_area, chart_area] = Layout::vertical([
            Constraint::Length(warnings.len() as u16),
            Constraint::Min(4),
            Constraint::Length(CHART_HEIGHT),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(ratatui::text::Text::from(warnings)),
            warn_area,
        );
        self.draw_table(frame, table_area, cx);
        self.draw_chart(frame, chart_area);
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
