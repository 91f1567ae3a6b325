//! Drawing the whole console from the app state: the header (target, mode, counts, activity,
//! where you are), the top screen, the overlays, and the footer (key hints and the latest
//! message). A pure function of the state. In read-only mode the hints of the writes move
//! to the end of the footer, struck through, after a "(read-only)" mark.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::component::Context;
use super::message::MessageKind;
use super::theme;
use crate::untrusted::{printable, safe_cell};

pub fn draw(frame: &mut Frame, app: &App) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    draw_header(frame, header, app);
    let cx = Context {
        integrity: app.integrity(),
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
    let mut spans = vec![
        Span::styled(" pkgdeck ", theme::TITLE),
        Span::raw(" "),
        Span::raw(printable(app.target()).into_owned()),
        Span::raw("  "),
        if app.read_only() {
            Span::styled(" READ-ONLY ", theme::READ_ONLY)
        } else {
            Span::styled(" read-write ", theme::READ_WRITE)
        },
        Span::raw("  "),
    ];
    spans.push(Span::raw(match app.counts() {
        Some((packages, rows)) => format!("{packages} packages · {rows} rows"),
        None => "counting…".to_owned(),
    }));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::HEADER_BAR),
        bar,
    );
    if let Some((frame_char, what)) = app.activity() {
        frame.render_widget(
            Line::from(format!(" {frame_char} {} ", printable(what))).right_aligned(),
            bar,
        );
    }
    let mut crumb = vec![Span::raw(" ")];
    let screens = app.screens();
    for (i, screen) in screens.iter().enumerate() {
        if i > 0 {
            crumb.push(Span::styled(" › ", theme::DIM));
        }
        let style = if i + 1 == screens.len() {
            theme::TITLE
        } else {
            theme::HINT
        };
        let parent = i.checked_sub(1).map(|p| &screens[p]);
        crumb.push(Span::styled(
            printable(&screen.crumb(parent)).into_owned(),
            style,
        ));
    }
    frame.render_widget(Line::from(crumb), crumbs);
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let [hints_area, message_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let mut hints = vec![Span::raw(" ")];
    let mut disabled = Vec::new();
    for b in app.key_groups().iter().flat_map(|g| g.bindings.iter()) {
        let Some(hint) = b.hint else { continue };
        let (key, does) = hint.split_once(' ').unwrap_or((hint, ""));
        if app.read_only() && b.action.write().is_some() {
            let off = theme::DIM.add_modifier(Modifier::CROSSED_OUT);
            disabled.push(Span::styled(key, off));
            disabled.push(Span::styled(format!(" {does}"), off));
            disabled.push(Span::raw("  "));
            continue;
        }
        hints.push(Span::styled(key, theme::HINT_KEY));
        hints.push(Span::styled(format!(" {does}   "), theme::HINT));
    }
    if !disabled.is_empty() {
        hints.push(Span::styled("(read-only)", theme::WARNING));
        hints.push(Span::raw(" "));
        hints.extend(disabled);
    }
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
    frame.render_widget(Line::from(line), message_area);
}
