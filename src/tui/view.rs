//! Drawing the whole console from the app state: the header (target, mode, counts, activity,
//! where you are), the top screen, the overlays, and the footer (key hints and the latest
//! message). A pure function of the state. In read-only mode the hints of the writes move
//! to the end of the footer, struck through, after a "(read-only)" mark.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::component::Context;
use super::keys::Action;
use super::message::MessageKind;
use super::screens::layout::{cut, cut_middle, fit_line};
use super::theme;
use crate::untrusted::{printable, safe_cell};
use unicode_width::UnicodeWidthStr;

pub fn draw(frame: &mut Frame, app: &App) {
    draw_at(frame, app, Instant::now());
}

/// [`draw`] as at `now` (tests draw a highlight's end without waiting for it).
pub fn draw_at(frame: &mut Frame, app: &App, now: Instant) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    draw_header(frame, header, app);
    let cx = Context {
        integrity: app.integrity(),
        now,
    };
    app.screen().component().draw(frame, body, &cx);
    for modal in app.modals() {
        modal.component().draw(frame, body, &cx);
    }
    draw_footer(frame, footer, app);
    make_frame_safe(frame.buffer_mut());
}

/// The last pass over every frame, whatever widget drew it: a cell whose symbol holds a
/// control or invisible character shows its placeholder instead. Screens already draw
/// registry text through `printable`; this is what makes that a guarantee (the editor's
/// widget draws its buffer as it is, and appends a raw ESC to the cell before it).
fn make_frame_safe(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        if let Some(placeholder) = safe_cell(cell.symbol()) {
            cell.set_char(placeholder);
        }
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App) {
    let [bar, crumbs] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let width = usize::from(bar.width);
    let mut modes = Vec::new();
    if app.production() {
        modes.push(Span::styled(" PRODUCTION ", theme::PRODUCTION));
    }
    if app.read_only() {
        modes.push(Span::styled(" READ-ONLY ", theme::READ_ONLY));
    } else if !app.production() {
        modes.push(Span::styled(" read-write ", theme::READ_WRITE));
    }
    let counts = match app.counts() {
        Some((packages, rows)) => format!("{packages} packages · {rows} rows"),
        None => "counting…".to_owned(),
    };
    let modes_width: usize = modes.iter().map(Span::width).sum::<usize>() + modes.len() - 1;
    // The name, the mode and the counts always show; the target gives way (middle `…`),
    // and the activity goes before the target would be cut below a few characters.
    let fixed = " pkgdeck ".width() + 1 + 2 + modes_width + 2 + counts.width();
    let mut activity = app
        .activity()
        .map(|(c, what)| format!(" {c} {} ", printable(what)));
    let room = |activity: &Option<String>| {
        width.saturating_sub(fixed + activity.as_ref().map_or(0, |a| a.width() + 1))
    };
    if room(&activity) < 12 {
        activity = None;
    }
    let target = cut_middle(&printable(app.target()), room(&activity));
    let mut spans = vec![
        Span::styled(" pkgdeck ", theme::TITLE),
        Span::raw(" "),
        Span::raw(target),
        Span::raw("  "),
    ];
    for (i, m) in modes.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(m);
    }
    spans.push(Span::raw("  "));
    spans.push(Span::raw(counts));
    let bar_style = if app.production() {
        theme::HEADER_PRODUCTION
    } else {
        theme::HEADER_BAR
    };
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar_style), bar);
    if let Some(a) = activity {
        frame.render_widget(Line::from(a).right_aligned(), bar);
    }
    frame.render_widget(breadcrumb(app, usize::from(crumbs.width)), crumbs);
}

/// The width of the breadcrumb of `steps` from `from` on (with the leading `… › ` when
/// steps before `from` are left out).
fn total_of(steps: &[String], from: usize) -> usize {
    1 + steps[from..].iter().map(|s| s.width()).sum::<usize>()
        + 3 * (steps.len() - from).saturating_sub(1)
        + if from > 0 { 4 } else { 0 }
}

/// Where you are: `Packages › id › version`. When it is too long for the line, the first
/// steps give way to `…`, so the current screen always shows.
fn breadcrumb(app: &App, width: usize) -> Line<'static> {
    let screens = app.screens();
    let steps: Vec<String> = screens
        .iter()
        .enumerate()
        .map(|(i, screen)| {
            let parent = i.checked_sub(1).map(|p| &screens[p]);
            printable(&screen.crumb(parent)).into_owned()
        })
        .collect();
    // A long step (a package id) is cut in the middle first, down to a readable length.
    let mut steps = steps;
    let last_step = steps.len().saturating_sub(1);
    while total_of(&steps, 0) > width {
        let longest = (0..last_step)
            .filter(|&i| steps[i].width() > 16)
            .max_by_key(|&i| steps[i].width());
        let Some(i) = longest else { break };
        let over = total_of(&steps, 0) - width;
        let keep = steps[i].width().saturating_sub(over).max(16);
        steps[i] = cut_middle(&steps[i], keep);
    }
    let total = |from: usize| total_of(&steps, from);
    let mut from = 0;
    while from + 1 < steps.len() && total(from) > width {
        from += 1;
    }
    let mut crumb = vec![Span::raw(" ")];
    if from > 0 {
        crumb.push(Span::styled("… › ", theme::DIM));
    }
    let last = steps.len().saturating_sub(1);
    for (i, step) in steps.iter().enumerate().skip(from) {
        if i > from {
            crumb.push(Span::styled(" › ", theme::DIM));
        }
        let style = if i == last { theme::TITLE } else { theme::HINT };
        let shown = if i == last {
            let used: usize = crumb.iter().map(Span::width).sum();
            cut(step, width.saturating_sub(used))
        } else {
            step.clone()
        };
        crumb.push(Span::styled(shown, style));
    }
    Line::from(crumb)
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let [hints_area, message_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    // Each hint as its spans; the writes of a read-only session go last, struck through.
    let mut enabled: Vec<(Vec<Span>, bool)> = Vec::new();
    let mut disabled: Vec<(Vec<Span>, bool)> = Vec::new();
    for b in app.key_groups().iter().flat_map(|g| g.bindings.iter()) {
        let Some(hint) = b.hint else { continue };
        let (key, does) = hint.split_once(' ').unwrap_or((hint, ""));
        let help = b.action == Action::Help;
        if app.read_only() && b.action.write().is_some() {
            let off = theme::DIM.add_modifier(Modifier::CROSSED_OUT);
            disabled.push((
                vec![
                    Span::styled(key, off),
                    Span::styled(format!(" {does}"), off),
                    Span::raw("  "),
                ],
                false,
            ));
            continue;
        }
        enabled.push((
            vec![
                Span::styled(key, theme::HINT_KEY),
                Span::styled(format!(" {does}  "), theme::HINT),
            ],
            help,
        ));
    }
    if !disabled.is_empty() {
        disabled.insert(
            0,
            (
                vec![Span::styled("(read-only)", theme::WARNING), Span::raw(" ")],
                false,
            ),
        );
    }
    let mut all: Vec<(Vec<Span>, bool)> = enabled.into_iter().chain(disabled).collect();
    // Too many for the line: the last ones give way, but never `? help`.
    let width = |all: &[(Vec<Span>, bool)]| -> usize {
        1 + all
            .iter()
            .flat_map(|(spans, _)| spans.iter())
            .map(Span::width)
            .sum::<usize>()
    };
    while width(&all) > usize::from(hints_area.width) {
        match all.iter().rposition(|(_, help)| !help) {
            Some(i) => {
                all.remove(i);
            }
            None => break,
        }
    }
    let mut hints = vec![Span::raw(" ")];
    hints.extend(all.into_iter().flat_map(|(spans, _)| spans));
    frame.render_widget(Line::from(hints), hints_area);
    let mut line = Vec::new();
    if let Some(m) = app.message() {
        let style = match m.kind {
            MessageKind::Info => theme::INFO,
            MessageKind::Warning => theme::WARNING,
            MessageKind::Error => theme::ERROR,
        };
        line.push(Span::styled(format!(" {}", printable(&m.text)), style));
    }
    if let Some(stray) = app.stray() {
        line.push(Span::styled(
            format!(" ⚠ {}", printable(stray)),
            theme::WARNING,
        ));
    }
    frame.render_widget(
        fit_line(&Line::from(line), usize::from(message_area.width)),
        message_area,
    );
}
