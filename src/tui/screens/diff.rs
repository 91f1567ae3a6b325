//! What changed between two versions, drawn: the review of a publish shows it against the
//! version it replaces, and `=` on the Versions screen shows it between the selected version
//! and the one marked with `m` ([`DiffView`]). Manifest keys, then per metadata section the
//! items added, removed and changed, each changed item with a coloured line diff.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::layout::{fit_lines, title};
use crate::registry::diff::text_diff;
use crate::registry::PackageDiff;
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::count;
use crate::tui::integrity::Badge;
use crate::tui::keys::{self, Action, KeyGroup};
use crate::tui::theme;
use crate::untrusted::printable;

/// Unchanged lines of a changed item kept around each change; longer runs are folded.
const CONTEXT: usize = 2;

const KEYS: KeyGroup = KeyGroup {
    title: "Diff",
    bindings: &[
        keys::SCROLL_UP,
        keys::SCROLL_DOWN,
        keys::SCROLL_PAGE_UP,
        keys::SCROLL_PAGE_DOWN,
        keys::SCROLL_TOP,
        keys::SCROLL_BOTTOM,
        keys::close("close the diff"),
    ],
};

/// The diff between two stored versions of a package, scrollable.
pub struct DiffView {
    title: String,
    lines: Vec<Line<'static>>,
    scroll: usize,
}

impl DiffView {
    pub fn new(diff: &PackageDiff) -> DiffView {
        let mut lines = vec![Line::from(vec![
            Span::styled(
                format!(
                    " {} {} → {}",
                    printable(&diff.id),
                    printable(&diff.from),
                    printable(&diff.to)
                ),
                theme::TITLE,
            ),
            // A diff across two registries (the Compare screen's `=`) names its sides.
            Span::styled(
                if diff.from.ends_with(" (A)") && diff.to.ends_with(" (B)") {
                    " (registry A → registry B)"
                } else {
                    " (marked → selected)"
                },
                theme::DIM,
            ),
        ])];
        if diff.is_empty() {
            lines.push(Line::styled(
                "   no differences in the manifest or the metadata",
                theme::DIM,
            ));
        } else {
            package_diff_lines(diff, &mut lines);
        }
        DiffView {
            title: format!(
                " Diff: {} {} → {} ",
                printable(&diff.id),
                printable(&diff.from),
                printable(&diff.to)
            ),
            lines,
            scroll: 0,
        }
    }
}

impl Component for DiffView {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&KEYS]
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        let last = self.lines.len().saturating_sub(1);
        self.scroll = match action {
            Action::Back => return Outcome::Back,
            Action::Up => self.scroll.saturating_sub(1),
            Action::Down => self.scroll + 1,
            Action::PageUp => self.scroll.saturating_sub(page),
            Action::PageDown => self.scroll + page,
            Action::Top => 0,
            Action::Bottom => last,
            _ => self.scroll,
        }
        .min(last);
        Outcome::Done
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        frame.render_widget(Clear, area);
        let visible = usize::from(area.height.saturating_sub(2));
        let scroll = self.scroll.min(self.lines.len().saturating_sub(visible));
        let position = if self.lines.len() > visible {
            format!(" line {} of {} ", scroll + 1, self.lines.len())
        } else {
            String::new()
        };
        let block = Block::bordered()
            .title(Line::styled(
                title(&self.title, &position, area.width),
                theme::TITLE,
            ))
            .title(Line::styled(position, theme::DIM).right_aligned());
        let end = (scroll + visible).min(self.lines.len());
        let width = usize::from(area.width.saturating_sub(2));
        frame.render_widget(
            Paragraph::new(Text::from(fit_lines(&self.lines[scroll..end], width))).block(block),
            area,
        );
    }
}

/// The lines of a diff between two versions: manifest keys, then per section the items
/// added, removed and changed, each changed item with its line diff.
pub fn package_diff_lines(diff: &PackageDiff, lines: &mut Vec<Line<'static>>) {
    let added = theme::badge(Badge::Ok);
    if !diff.manifest.is_empty() {
        lines.push(Line::styled(
            format!(
                "   manifest: {} changed",
                count(diff.manifest.len() as u64, "key")
            ),
            theme::COLUMN_HEADER,
        ));
        for f in &diff.manifest {
            let key = printable(&f.key).into_owned();
            let value = |v: &str| printable(v).into_owned();
            lines.push(match (&f.old, &f.new) {
                (None, Some(new)) => Line::styled(format!("     + {key}: {}", value(new)), added),
                (Some(old), None) => {
                    Line::styled(format!("     - {key}: {}", value(old)), theme::ERROR)
                }
                (Some(old), Some(new)) => Line::from(vec![
                    Span::styled(format!("     ~ {key}: "), theme::WARNING),
                    Span::styled(value(old), theme::ERROR),
                    Span::raw(" → "),
                    Span::styled(value(new), added),
                ]),
                (None, None) => Line::raw(""),
            });
        }
    }
    for s in &diff.sections {
        lines.push(Line::styled(
            format!(
                "   {}: {} added, {} removed, {} changed",
                printable(&s.section),
                s.added.len(),
                s.removed.len(),
                s.changed.len()
            ),
            theme::COLUMN_HEADER,
        ));
        for name in &s.added {
            lines.push(Line::styled(format!("     + {}", printable(name)), added));
        }
        for name in &s.removed {
            lines.push(Line::styled(
                format!("     - {}", printable(name)),
                theme::ERROR,
            ));
        }
        for item in &s.changed {
            lines.push(Line::styled(
                format!("     ~ {}", printable(&item.name)),
                theme::WARNING,
            ));
            item_diff_lines(&item.old, &item.new, lines);
        }
    }
}

/// The line diff of one changed item, long unchanged runs folded to a count.
fn item_diff_lines(old: &str, new: &str, lines: &mut Vec<Line<'static>>) {
    let diff = text_diff(old, new);
    let near_change = |i: usize| {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(diff.len());
        diff[lo..hi].iter().any(|(tag, _)| *tag != ' ')
    };
    let mut folded = 0usize;
    let flush = |folded: &mut usize, lines: &mut Vec<Line<'static>>| {
        if *folded > 0 {
            lines.push(Line::styled(
                format!("         ⋯ {} unchanged", count(*folded as u64, "line")),
                theme::DIM,
            ));
            *folded = 0;
        }
    };
    for (i, (tag, text)) in diff.iter().enumerate() {
        if *tag == ' ' && !near_change(i) {
            folded += 1;
            continue;
        }
        flush(&mut folded, lines);
        let style = match tag {
            '+' => theme::badge(Badge::Ok),
            '-' => theme::ERROR,
            _ => theme::DIM,
        };
        lines.push(Line::styled(
            format!("       {tag} {}", printable(text)),
            style,
        ));
    }
    flush(&mut folded, lines);
}
