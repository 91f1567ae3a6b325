//! The verify-all overlay: a progress gauge with rows/s while the worker scans the registry
//! (Esc raises the cancel flag the worker checks after every row), then the results: every
//! failed or warned row with its problem codes; Enter opens one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use super::layout::ESSENTIAL;
use super::{centered, draw_table, Column, Field};
use crate::registry::{Problem, Verification, VerifyProgress, VerifyReport};
use crate::tui::component::{Component, Context, Jump, Outcome};
use crate::tui::integrity;
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::protocol::{JobError, Ticket};
use crate::tui::theme;
use crate::untrusted::printable;

const RUNNING: KeyGroup = KeyGroup {
    title: "Verify all",
    bindings: &[
        keys::cancel("cancel the verify"),
        Binding {
            keys: &[Key::Char('q')],
            shown: "q",
            does: "quit (the verify stops)",
            hint: Some("q quit"),
            action: Action::Quit,
        },
    ],
};

const RESULTS: KeyGroup = KeyGroup {
    title: "Verify results",
    bindings: &[
        keys::open("open the selected version"),
        keys::close("close the results"),
    ],
};

/// The failed row's id and version are never dropped; the detail goes first.
const COLUMNS: [Column; 4] = [
    Column::flexible("ID", 14, 24, ESSENTIAL, true),
    Column::flexible("VERSION", 8, 12, ESSENTIAL, false),
    Column::flexible("PROBLEMS", 13, 22, 5, false),
    Column::flexible("DETAIL", 12, 40, 2, true),
];

pub struct VerifyRun {
    ticket: Ticket,
    cancel: Arc<AtomicBool>,
    progress: Option<(VerifyProgress, Duration)>,
    outcome: Option<Result<(VerifyReport, Duration), JobError>>,
    /// Failed rows first, then rows that only warn.
    flagged: Vec<Verification>,
    list: ListView,
}

impl VerifyRun {
    pub fn new(ticket: Ticket, cancel: Arc<AtomicBool>) -> VerifyRun {
        VerifyRun {
            ticket,
            cancel,
            progress: None,
            outcome: None,
            flagged: Vec::new(),
            list: ListView::default(),
        }
    }

    pub fn ticket(&self) -> Ticket {
        self.ticket
    }

    pub fn progress(&mut self, progress: VerifyProgress, elapsed: Duration) {
        self.progress = Some((progress, elapsed));
    }

    pub fn finish(&mut self, report: Result<VerifyReport, JobError>, elapsed: Duration) {
        if let Ok(report) = &report {
            self.flagged = report
                .failed
                .iter()
                .chain(report.warnings.iter().filter(|w| w.ok()))
                .cloned()
                .collect();
            self.list = ListView::with_keys(
                self.flagged
                    .iter()
                    .map(|v| format!("{} {}", v.id, v.version)),
            );
        }
        self.outcome = Some(report.map(|r| (r, elapsed)));
    }

    fn running(&self) -> bool {
        self.outcome.is_none()
    }

    fn draw_running(&self, frame: &mut Frame, area: Rect) {
        let [text_area, gauge_area, _, note_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let cancelling = self.cancel.load(Ordering::Relaxed);
        let (ratio, label) = match self.progress {
            None => (0.0, "starting…".to_owned()),
            Some((p, elapsed)) => {
                let ratio = if p.total == 0 {
                    1.0
                } else {
                    (p.checked as f64 / p.total as f64).min(1.0)
                };
                (
                    ratio,
                    format!(
                        "{} of {} rows · {} rows/s · {:.1} MB · {} failed",
                        p.checked,
                        p.total,
                        rate(p.checked, elapsed),
                        p.bytes as f64 / 1e6,
                        p.failed
                    ),
                )
            }
        };
        frame.render_widget(
            Line::raw(" Checking the integrity hash of every row…"),
            text_area,
        );
        frame.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(label)
                .gauge_style(theme::GAUGE),
            gauge_area,
        );
        let note = if cancelling {
            Line::styled(" cancelling…", theme::WARNING)
        } else {
            Line::styled(" Esc cancels", theme::DIM)
        };
        frame.render_widget(note, note_area);
    }

    fn draw_results(&self, frame: &mut Frame, area: Rect) {
        let [summary_area, table_area] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(1)]).areas(area);
        let (report, elapsed) = match &self.outcome {
            Some(Ok((r, e))) => (r, *e),
            Some(Err(e)) => {
                frame.render_widget(
                    Paragraph::new(Line::styled(
                        format!(" verify failed: {}", printable(&e.to_string())),
                        theme::ERROR,
                    )),
                    area,
                );
                return;
            }
            None => return,
        };
        let warned = report.warnings.iter().filter(|w| w.ok()).count();
        let mut summary = format!(
            " {} rows checked in {:.2} s ({} rows/s): {} ok, {} failed, {} with warnings",
            report.checked,
            elapsed.as_secs_f64(),
            rate(report.checked, elapsed),
            report.ok,
            report.failed.len(),
            report.warnings.len()
        );
        if report.cancelled {
            summary.push_str(" · CANCELLED before the end");
        }
        let style = if !report.failed.is_empty() {
            theme::ERROR
        } else if warned > 0 || report.cancelled {
            theme::WARNING
        } else {
            theme::INFO
        };
        frame.render_widget(
            Paragraph::new(Line::styled(summary, style)).wrap(Wrap { trim: false }),
            summary_area,
        );
        if self.flagged.is_empty() {
            frame.render_widget(
                Paragraph::new(Line::styled(" no problems found", theme::INFO)),
                table_area,
            );
            return;
        }
        let row = |r: usize| {
            let v = &self.flagged[r];
            let codes = integrity::codes(v);
            let style = if v.ok() { theme::WARNING } else { theme::ERROR };
            vec![
                Field::new(printable(&v.id)),
                Field::new(printable(&v.version)),
                Field::styled(codes.join(", "), style),
                Field::new(printable(&short_detail(v))),
            ]
        };
        draw_table(frame, table_area, &self.list, &COLUMNS, row, |_| None);
    }
}

/// What went wrong with a row, short enough for one table cell.
fn short_detail(v: &Verification) -> String {
    let short = |h: &str| h.get(..12).unwrap_or(h).to_owned();
    if v.problems.contains(&Problem::HashMismatch) {
        return format!(
            "stored {}…, computed {}…",
            short(&v.stored_hash),
            short(&v.computed_hash)
        );
    }
    let first = v.details.first().map_or("", String::as_str);
    first.split_once(": ").map_or(first, |(_, d)| d).to_owned()
}

fn rate(rows: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0;
    }
    (rows as f64 / secs).round() as u64
}

impl Component for VerifyRun {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        if self.running() {
            vec![&RUNNING]
        } else {
            vec![&keys::LIST, &RESULTS]
        }
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        if self.running() {
            if action == Action::Back {
                self.cancel.store(true, Ordering::Relaxed);
            }
            return Outcome::Done;
        }
        if self.list.apply(action, page) {
            return Outcome::Done;
        }
        match action {
            Action::Back => Outcome::Back,
            // A failure is about integrity: it opens on the Integrity tab.
            Action::Open => match self.list.selected_row().and_then(|r| self.flagged.get(r)) {
                Some(v) => Outcome::Jump(Jump::Version {
                    id: v.id.clone(),
                    version: v.version.clone(),
                    integrity: true,
                }),
                None => Outcome::Done,
            },
            _ => Outcome::Done,
        }
    }

    fn list_mut(&mut self) -> Option<&mut ListView> {
        (!self.running()).then_some(&mut self.list)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let height = if self.running() {
            6
        } else {
            (self.flagged.len() as u16 + 6).clamp(8, area.height.saturating_sub(4))
        };
        let popup = centered(area, area.width.saturating_sub(8).min(140), height);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Verify all ", theme::TITLE))
            .style(theme::POPUP);
        let inner = block.inner(popup);
        frame.render_widget(block, popup);
        if self.running() {
            self.draw_running(frame, inner);
        } else {
            self.draw_results(frame, inner);
        }
    }
}
