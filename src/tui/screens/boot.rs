//! The Boot screen (`b`): the ObjectStack server's boot replayed over the registry (spec 8.3),
//! every row its `list()` returns in the engine's order with what the boot did with it and
//! why, a banner when nothing loads or where the boot aborts, and the packages it serves at
//! another version than the latest. Also the lines every write dialog shows about what the
//! write changes in that boot (spec 8.4).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::layout::{fit_lines, ESSENTIAL};
use super::{draw_list_frame, draw_table, list_block, Column, DetailScreen, Field, Screen};
use crate::registry::boot::{BootLoad, BootStep, Outcome as StepOutcome, Rule};
use crate::registry::{BootEffect, DoctorReport};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, Action, KeyGroup};
use crate::tui::list::ListView;
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;

/// The row's id and version and what happened to it are never dropped; the reason is cut
/// (the line under the table holds all of it).
const COLUMNS: [Column; 6] = [
    Column::fixed("#", 4, 2).right_aligned(),
    Column::flexible("ROW", 12, 28, ESSENTIAL, true),
    Column::flexible("VERSION", 7, 12, ESSENTIAL, false),
    Column::fixed("OUTCOME", 7, ESSENTIAL),
    Column::fixed("RULE", 8, 4),
    Column::flexible("WHY", 10, 400, 3, true),
];

const KEYS: KeyGroup = KeyGroup {
    title: "Boot",
    bindings: &[
        keys::open("the version of the selected row"),
        keys::BACK,
        keys::FILTER,
    ],
};

pub struct BootScreen {
    report: Option<Box<DoctorReport>>,
    list: ListView,
    loading: bool,
    error: Option<String>,
}

impl Default for BootScreen {
    fn default() -> Self {
        BootScreen {
            report: None,
            list: ListView::default(),
            loading: true,
            error: None,
        }
    }
}

fn outcome_name(outcome: StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Loads => "loads",
        StepOutcome::Warns => "warns",
        StepOutcome::Refused => "REFUSED",
        StepOutcome::Skipped => "skipped",
        StepOutcome::Aborts => "ABORTS",
    }
}

fn outcome_style(step: &BootStep) -> Style {
    match (step.outcome, step.rule) {
        (StepOutcome::Loads, Rule::R10) | (StepOutcome::Warns, _) => theme::WARNING,
        (StepOutcome::Loads, _) => theme::badge(crate::tui::integrity::Badge::Ok),
        (StepOutcome::Refused | StepOutcome::Aborts, _) => theme::ERROR,
        (StepOutcome::Skipped, _) => theme::DIM,
    }
}

fn search_key(s: &BootStep) -> String {
    format!(
        "{} {} {} {}",
        s.row_id,
        s.row_version,
        outcome_name(s.outcome),
        s.rule.name()
    )
}

/// The summary and banner lines above the table.
fn banner(report: &DoctorReport) -> Vec<Line<'static>> {
    let boot = &report.boot;
    let stale = report.not_at_latest();
    let mut lines = vec![Line::from(vec![
        Span::raw(format!(
            " The ObjectStack server (protocol {}) reads {} row(s) from list(); ",
            printable(&boot.runtime_protocol),
            boot.steps.len()
        )),
        Span::styled(
            format!(
                "{} of {} package(s) load",
                boot.loads.len(),
                report.latest.len()
            ),
            if boot.loads.len() == report.latest.len() {
                theme::badge(crate::tui::integrity::Badge::Ok)
            } else {
                theme::WARNING
            },
        ),
        Span::raw(if stale > 0 {
            format!(", {stale} not at the latest version")
        } else {
            String::new()
        }),
    ])];
    if let Some(failed) = &boot.list_failed {
        lines.push(Line::styled(
            format!(" ✗ NOTHING LOADS: {} (R1)", printable(&failed.message)),
            theme::ERROR,
        ));
    } else if boot.loads.is_empty() && !boot.steps.is_empty() {
        lines.push(Line::styled(" ✗ NOTHING LOADS", theme::ERROR));
    }
    if let Some(abort) = &boot.aborted {
        lines.push(Line::styled(
            format!(
                " ✗ THE BOOT ABORTS at row {} {} ({}): no later row loads",
                printable(&abort.row_id),
                printable(&abort.row_version),
                abort.rule.name()
            ),
            theme::ERROR,
        ));
    }
    for d in &report.served_differs {
        let (id, latest) = (printable(&d.id), printable(&d.latest));
        lines.push(match &d.served {
            Some(v) => Line::styled(
                format!(
                    " ⚠ {id}: the server serves {}, not the latest {latest} (a same-second tie); \
                     P on {latest} in its versions promotes it",
                    printable(v)
                ),
                theme::WARNING,
            ),
            None => Line::styled(
                format!(
                    " ⚠ {id}: the server serves no version (the row its get() reads is not JSON)"
                ),
                theme::ERROR,
            ),
        });
    }
    lines
}

impl BootScreen {
    pub fn load(&mut self) -> Request {
        self.loading = true;
        Request::Boot
    }

    pub fn receive(&mut self, report: Result<Box<DoctorReport>, JobError>) {
        self.loading = false;
        match report {
            Ok(report) => {
                self.error = None;
                self.list.replace(report.boot.steps.iter().map(search_key));
                self.report = Some(report);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn selected(&self) -> Option<&BootStep> {
        let report = self.report.as_ref()?;
        self.list
            .selected_row()
            .and_then(|r| report.boot.steps.get(r))
    }
}

impl Component for BootScreen {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&keys::LIST, &KEYS]
    }

    fn list_screen(&self) -> bool {
        true
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Open => match self.selected() {
                Some(s) => Outcome::Push(Box::new(Screen::Detail(Box::new(DetailScreen::new(
                    &s.row_id,
                    &s.row_version,
                ))))),
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
        let lines = self.report.as_deref().map(banner).unwrap_or_default();
        let lines = fit_lines(&lines, usize::from(area.width));
        let [top, table] =
            Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(3)])
                .areas(area);
        frame.render_widget(Paragraph::new(Text::from(lines)), top);
        let block = list_block(
            "Boot: the server's list() rows, in its order".to_string(),
            None,
            &self.list,
            table.width,
        );
        let Some(inner) = draw_list_frame(
            frame,
            table,
            block,
            &self.list,
            (self.loading, self.error.as_deref()),
            "list() returns no rows: nothing to load",
            "no row matches the filter",
        ) else {
            return;
        };
        let Some(report) = &self.report else { return };
        // The selected row's whole reason under the table: the column cuts long ones.
        let [inner, why_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
        if let Some(step) = self.selected() {
            // One column of margin on both lines, as the table's cells have.
            let why_area = why_area.inner(ratatui::layout::Margin::new(1, 0));
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!(
                        "{} {}: {}",
                        printable(&step.row_id),
                        printable(&step.row_version),
                        printable(&step.message)
                    ),
                    theme::DIM,
                ))
                .wrap(ratatui::widgets::Wrap { trim: false }),
                why_area,
            );
        }
        let row = |r: usize| {
            let s = &report.boot.steps[r];
            let style = outcome_style(s);
            vec![
                Field::new(format!("{}", r + 1)),
                Field::new(printable(&s.row_id)),
                Field::new(printable(&s.row_version)),
                Field::styled(outcome_name(s.outcome), style),
                Field::styled(s.rule.name(), style),
                Field::new(printable(&s.message)),
            ]
        };
        draw_table(frame, inner, &self.list, &COLUMNS, row, |_| None);
    }
}

fn load_text(load: &BootLoad) -> String {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    printable(&format!("{} {}", text(&load.id), text(&load.version))).into_owned()
}

/// What a write changes in the server's boot, and every guard problem, for the review and
/// the confirm dialogs. `override_hint` names how the operator overrides the problems.
pub fn boot_change_lines(effect: &BootEffect, override_hint: &str) -> Vec<Line<'static>> {
    let change = &effect.change;
    let text = |v: &serde_json::Value| {
        printable(&v.as_str().map_or_else(|| v.to_string(), str::to_string)).into_owned()
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" ObjectStack boot ", theme::COLUMN_HEADER),
        Span::raw(format!(
            "loads {} package(s) before, {} after",
            change.before.len(),
            change.after.len()
        )),
    ])];
    for c in &change.changed {
        lines.push(Line::styled(
            format!("   ~ {} {} → {}", text(&c.id), text(&c.from), text(&c.to)),
            theme::WARNING,
        ));
    }
    for load in change.gained() {
        lines.push(Line::styled(
            format!("   + {} loads", load_text(load)),
            theme::badge(crate::tui::integrity::Badge::Ok),
        ));
    }
    for id in &change.lost {
        lines.push(Line::styled(
            format!("   - {} no longer loads", text(id)),
            theme::ERROR,
        ));
    }
    if change.is_empty() {
        lines.push(Line::styled(
            "   what the server loads does not change",
            theme::DIM,
        ));
    }
    for p in &effect.problems {
        lines.push(Line::styled(
            format!(" ✗ {}", printable(&p.message)),
            theme::ERROR,
        ));
    }
    if !effect.problems.is_empty() {
        lines.push(Line::styled(
            format!(" ✗ refused unless you override it: {override_hint}"),
            theme::ERROR,
        ));
    }
    lines
}
