//! Shared drawing for narrow and wide terminals (from 60×20 up): tables whose columns have
//! priorities (when space is short the least important column goes first, and a cut cell
//! ends with `…`), text cut at the end or in the middle to a display width, and a tab bar
//! that keeps the active tab in view.

use std::cell::RefCell;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Row, Table, TableState};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::tui::list::ListView;
use crate::tui::theme;

/// Columns between two table columns.
const SPACING: u16 = 1;
/// The selection marker's width (`▶ `).
const MARKER: u16 = 2;

/// Never dropped, whatever the width (ids and versions).
pub const ESSENTIAL: u8 = u8::MAX;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    /// The width it is drawn at when there is room.
    pub want: u16,
    /// The narrowest it may get before it is dropped (cut with `…` below `want`). A column
    /// whose `min` is its `want` (a timestamp) is dropped rather than cut.
    pub min: u16,
    /// Higher stays longer; the lowest goes first when even the minimums do not fit.
    /// [`ESSENTIAL`] columns are never dropped.
    pub priority: u8,
    /// Takes a share of the room left once every column has its `want`.
    pub grow: bool,
    /// Numbers are right-aligned.
    pub right: bool,
}

impl Column {
    /// A column that is drawn whole or not at all.
    pub const fn fixed(title: &'static str, width: u16, priority: u8) -> Column {
        Column {
            title,
            want: width,
            min: width,
            priority,
            grow: false,
            right: false,
        }
    }

    /// A column that may be cut down to `min`, and grows when `grow`.
    pub const fn flexible(
        title: &'static str,
        min: u16,
        want: u16,
        priority: u8,
        grow: bool,
    ) -> Column {
        Column {
            title,
            want,
            min,
            priority,
            grow,
            right: false,
        }
    }

    pub const fn right_aligned(self) -> Column {
        Column {
            right: true,
            ..self
        }
    }
}

/// The width of each column in `width` cells, `None` for a column dropped for lack of room.
pub fn fit(columns: &[Column], width: u16) -> Vec<Option<u16>> {
    let mut shown: Vec<bool> = vec![true; columns.len()];
    let needed = |shown: &[bool], f: &dyn Fn(&Column) -> u16| -> u32 {
        let n = shown.iter().filter(|s| **s).count() as u32;
        columns
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| u32::from(f(c)))
            .sum::<u32>()
            + n.saturating_sub(1) * u32::from(SPACING)
    };
    // Drop the least important columns until the minimums fit.
    while needed(&shown, &|c| c.min) > u32::from(width) {
        let victim = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| shown[*i] && c.priority != ESSENTIAL)
            .min_by_key(|(i, c)| (c.priority, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        match victim {
            Some(i) => shown[i] = false,
            None => break,
        }
    }
    let mut widths: Vec<u16> = columns.iter().map(|c| c.min).collect();
    let mut left = i64::from(width) - needed(&shown, &|c| c.min) as i64;
    if left < 0 {
        // Only essential columns are left and they still do not fit: share what there is.
        let essential: Vec<usize> = (0..columns.len()).filter(|&i| shown[i]).collect();
        let n = essential.len().max(1) as u16;
        let room = width.saturating_sub((n - 1) * SPACING);
        for (k, &i) in essential.iter().enumerate() {
            widths[i] = room / n + u16::from((k as u16) < room % n);
        }
        left = 0;
    }
    // Then up to what each wants, the most important first.
    let mut by_priority: Vec<usize> = (0..columns.len()).filter(|&i| shown[i]).collect();
    by_priority.sort_by_key(|&i| (std::cmp::Reverse(columns[i].priority), i));
    for &i in &by_priority {
        let more = i64::from(columns[i].want.saturating_sub(widths[i])).min(left);
        widths[i] += more as u16;
        left -= more;
    }
    // What is left goes to the growing columns, in proportion to what they want.
    let growing: Vec<usize> = (0..columns.len())
        .filter(|&i| shown[i] && columns[i].grow)
        .collect();
    let total: i64 = growing.iter().map(|&i| i64::from(columns[i].want)).sum();
    if total > 0 && left > 0 {
        let share = left;
        for &i in &growing {
            let more = share * i64::from(columns[i].want) / total;
            widths[i] += more as u16;
            left -= more;
        }
        if let Some(&last) = growing.last() {
            widths[last] += left as u16;
        }
    }
    (0..columns.len())
        .map(|i| shown[i].then_some(widths[i]))
        .collect()
}

/// `text` in at most `width` cells: whole when it fits, else cut at the end with `…`.
pub fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` in at most `width` cells: whole when it fits, else its start and its end with `…`
/// between them (a path or a URL keeps both ends; the end, where a file name is, gets the
/// larger part).
pub fn cut_middle(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let room = width - 1;
    let head_room = room * 2 / 5;
    let tail_room = room - head_room;
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_room {
            break;
        }
        head.push(c);
        used += w;
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        tail.push(c);
        used += w;
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

/// `line` in at most `width` cells: whole when it fits, else cut with `…` (styles kept).
pub fn fit_line(line: &Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line.clone();
    }
    if width == 0 {
        return Line::default();
    }
    let mut spans = Vec::new();
    let mut used = 0;
    for span in &line.spans {
        let w = span.width();
        if used + w < width {
            spans.push(span.clone());
            used += w;
            continue;
        }
        // This span reaches the edge and the line goes on past it: keep one cell for `…`.
        let room = width - used;
        let mut text = String::new();
        let mut u = 0;
        for c in span.content.chars() {
            let cw = c.width().unwrap_or(0);
            if u + cw + 1 > room {
                break;
            }
            text.push(c);
            u += cw;
        }
        text.push('…');
        spans.push(Span::styled(text, span.style));
        break;
    }
    Line::from(spans).style(line.style)
}

/// A bordered block's left title, cut with `…` so that it and the right one (`right`, or
/// nothing) fit in a block `width` cells wide.
pub fn title(left: &str, right: &str, width: u16) -> String {
    let right = if right.is_empty() {
        0
    } else {
        right.width() + 1
    };
    cut(left, usize::from(width).saturating_sub(2 + right))
}

/// Lines that fit in `width` cells, each cut with `…` when it would not.
pub fn fit_lines(lines: &[Line<'static>], width: usize) -> Vec<Line<'static>> {
    lines.iter().map(|l| fit_line(l, width)).collect()
}

/// One cell's text (already made printable) and style.
pub struct Field {
    pub text: String,
    pub style: Style,
}

impl Field {
    pub fn new(text: impl Into<String>) -> Field {
        Field {
            text: text.into(),
            style: Style::new(),
        }
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Field {
        Field {
            text: text.into(),
            style,
        }
    }
}

/// Draws the rows of `list` that fit in `area` under the column titles, the selected one
/// marked; `row` builds a row's fields (one per column) for a row index, and is called for
/// the visible rows only. `row_style` may colour a whole row (a changed one). Records where
/// the rows went, for the mouse.
pub fn draw_table(
    frame: &mut Frame,
    area: Rect,
    list: &ListView,
    columns: &[Column],
    row: impl Fn(usize) -> Vec<Field>,
    row_style: impl Fn(usize) -> Option<Style>,
) {
    let widths = fit(columns, area.width.saturating_sub(MARKER));
    let shown: Vec<(usize, u16)> = widths
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.map(|w| (i, w)))
        .collect();
    let cells = |fields: Vec<Field>| -> Vec<Cell<'static>> {
        let mut fields: Vec<Option<Field>> = fields.into_iter().map(Some).collect();
        shown
            .iter()
            .map(|&(i, w)| {
                let f = fields
                    .get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or_else(|| Field::new(""));
                let text = cut(&f.text, w as usize);
                let line = if columns[i].right {
                    Line::from(text).right_aligned()
                } else {
                    Line::from(text)
                };
                Cell::from(line).style(f.style)
            })
            .collect()
    };
    let header = Row::new(cells(columns.iter().map(|c| Field::new(c.title)).collect()))
        .style(theme::COLUMN_HEADER);
    let body = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    let (start, window) = list.window(body.height as usize);
    list.drawn(body, start);
    let rows: Vec<Row> = window
        .iter()
        .map(|&r| {
            let r = r as usize;
            let mut row = Row::new(cells(row(r)));
            if let Some(style) = row_style(r) {
                row = row.style(style);
            }
            row
        })
        .collect();
    let mut state = TableState::default().with_selected(list.selected().checked_sub(start));
    let table = Table::new(rows, shown.iter().map(|&(_, w)| Constraint::Length(w)))
        .header(header)
        .column_spacing(SPACING)
        .row_highlight_style(theme::SELECTED)
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
    frame.render_stateful_widget(table, area, &mut state);
}

/// A tab bar that keeps the active tab in view: every title when they fit, else a window of
/// them around the active one with `‹`/`›` where some are hidden. Records where each title
/// went (x range, tab index), for the mouse.
pub fn draw_tabs(
    frame: &mut Frame,
    area: Rect,
    titles: &[String],
    active: usize,
    hits: &RefCell<Vec<(u16, u16, usize)>>,
) {
    let active = active.min(titles.len().saturating_sub(1));
    let widths: Vec<usize> = titles.iter().map(|t| t.width()).collect();
    let total = |a: usize, b: usize| -> usize {
        widths[a..b].iter().sum::<usize>() + (b - a).saturating_sub(1)
    };
    let room = area.width as usize;
    let (mut a, mut b) = (active, active + 1);
    if !titles.is_empty() && total(0, titles.len()) <= room {
        (a, b) = (0, titles.len());
    } else {
        // Grow the window around the active tab, leaving room for the two markers.
        let fits = |a: usize, b: usize| total(a, b) + 4 <= room;
        loop {
            let mut grew = false;
            if b < titles.len() && fits(a, b + 1) {
                b += 1;
                grew = true;
            }
            if a > 0 && fits(a - 1, b) {
                a -= 1;
                grew = true;
            }
            if !grew {
                break;
            }
        }
    }
    let mut spans = Vec::new();
    let mut x = area.x;
    let mut boxes = Vec::new();
    if a > 0 {
        spans.push(Span::styled("‹ ", theme::DIM));
        x += 2;
    }
    for (i, title) in titles.iter().enumerate().take(b).skip(a) {
        if i > a {
            spans.push(Span::styled("│", theme::TAB));
            x += 1;
        }
        let shown = if widths[i] + 4 > room {
            cut(title, room.saturating_sub(4).max(1))
        } else {
            title.clone()
        };
        let w = shown.width() as u16;
        boxes.push((x, x + w, i));
        x += w;
        let style = if i == active {
            theme::TAB_SELECTED
        } else {
            theme::TAB
        };
        spans.push(Span::styled(shown, style));
    }
    if b < titles.len() {
        spans.push(Span::styled(" ›", theme::DIM));
    }
    *hits.borrow_mut() = boxes;
    frame.render_widget(Line::from(spans), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 4] = [
        Column::flexible("ID", 10, 20, ESSENTIAL, true),
        Column::flexible("NAME", 8, 16, 5, true),
        Column::fixed("CREATED", 19, 1),
        Column::fixed("INTEGRITY", 9, 6),
    ];

    #[test]
    fn the_least_important_column_goes_first() {
        assert_eq!(
            fit(&COLUMNS, 200),
            [Some(93), Some(76), Some(19), Some(9)],
            "room to spare goes to the growing columns"
        );
        assert_eq!(fit(&COLUMNS, 60), [Some(20), Some(9), Some(19), Some(9)]);
        assert_eq!(
            fit(&COLUMNS, 40),
            [Some(20), Some(9), None, Some(9)],
            "CREATED is dropped before anything is cut below its minimum"
        );
        assert_eq!(fit(&COLUMNS, 20), [Some(10), None, None, Some(9)]);
        assert_eq!(fit(&COLUMNS, 8), [Some(8), None, None, None]);
    }

    #[test]
    fn cuts_end_with_an_ellipsis() {
        assert_eq!(cut("com.acme.pkg019319", 18), "com.acme.pkg019319");
        assert_eq!(cut("com.acme.pkg019319", 17), "com.acme.pkg0193…");
        assert_eq!(cut("中文中文", 5), "中文…");
        assert_eq!(
            cut_middle("/tmp/a/very/long/path/registry.db", 15),
            "/tmp/…gistry.db"
        );
        assert_eq!(cut_middle("short", 15), "short");
        assert_eq!(cut_middle("中文中文中文", 7), "中…中文");
        let line = Line::from(vec![
            Span::raw("Stored hash "),
            Span::raw("d1d6fc5b0adc3b5b"),
        ]);
        assert_eq!(fit_line(&line, 20).to_string(), "Stored hash d1d6fc5…");
        assert_eq!(fit_line(&line, 12).to_string(), "Stored hash…");
        assert_eq!(
            fit_line(&line, 28).to_string(),
            "Stored hash d1d6fc5b0adc3b5b"
        );
    }
}
