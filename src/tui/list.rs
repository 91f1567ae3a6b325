//! A virtualised list: sort order, live filter and selection over rows the screen owns. It
//! keeps indices, never copies of rows, and a lowercase search key per row computed once per
//! load, so a filter keystroke over 20,000 rows is one substring scan and drawing touches
//! only the rows on screen.

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::keys::Action;

#[derive(Debug, Default, Clone)]
pub struct ListView {
    keys: Vec<Box<str>>,
    /// Row indices in sort order.
    order: Vec<u32>,
    /// `order` narrowed to the rows that match the filter.
    shown: Vec<u32>,
    filter: String,
    editing: bool,
    /// Position in `shown`.
    selected: usize,
    /// First shown row drawn; kept so the view scrolls only when the selection leaves it.
    offset: usize,
    /// Where the rows were last drawn and the first position drawn there, for the mouse.
    drawn: Cell<Option<(Rect, usize)>>,
}

impl ListView {
    /// Search keys of the rows, in row order; the sort order becomes the row order.
    pub fn with_keys(keys: impl IntoIterator<Item = String>) -> ListView {
        let mut list = ListView::default();
        list.replace(keys);
        list
    }

    /// New rows (a refresh): the selection stays on the same row position when it can.
    pub fn replace(&mut self, keys: impl IntoIterator<Item = String>) {
        self.keys.clear();
        self.order.clear();
        self.extend(keys);
    }

    /// More rows after the existing ones (a page of a remote list).
    pub fn extend(&mut self, keys: impl IntoIterator<Item = String>) {
        let start = self.keys.len();
        self.keys.extend(keys.into_iter().map(|mut k| {
            // In place when it can: a 20,000-row load should not allocate every key twice.
            if k.is_ascii() {
                k.make_ascii_lowercase();
            } else {
                k = k.to_lowercase();
            }
            k.into_boxed_str()
        }));
        self.order.extend(start as u32..self.keys.len() as u32);
        self.refilter();
    }

    /// Sets the sort order (a permutation of the row indices).
    pub fn set_order(&mut self, order: Vec<u32>) {
        let keep = self.selected_row();
        self.order = order;
        self.refilter();
        if let Some(row) = keep {
            self.select_row(row);
        }
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    /// The row indices that pass the filter, in sort order.
    pub fn shown(&self) -> &[u32] {
        &self.shown
    }

    /// The selected row index.
    pub fn selected_row(&self) -> Option<usize> {
        self.shown.get(self.selected).map(|&r| r as usize)
    }

    /// The selected position among the shown rows.
    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn select_row(&mut self, row: usize) {
        if let Some(pos) = self.shown.iter().position(|&r| r as usize == row) {
            self.selected = pos;
        }
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn editing(&self) -> bool {
        self.editing
    }

    /// Moves the selection; `page` is the number of rows on screen. Returns whether the
    /// action was a move.
    pub fn apply(&mut self, action: Action, page: usize) -> bool {
        let last = self.shown.len().saturating_sub(1);
        let page = page.max(1);
        self.selected = match action {
            Action::Up => self.selected.saturating_sub(1),
            Action::Down => (self.selected + 1).min(last),
            Action::PageUp => self.selected.saturating_sub(page),
            Action::PageDown => (self.selected + page).min(last),
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        };
        self.offset = window_start(self.offset, self.selected, page, self.shown.len());
        true
    }

    /// Records where the rows were drawn: `area` holds one row a line, from position `start`.
    pub fn drawn(&self, area: Rect, start: usize) {
        self.drawn.set(Some((area, start)));
    }

    /// The position (among the shown rows) drawn at the cell `(x, y)`, if a row is there.
    pub fn position_at(&self, x: u16, y: u16) -> Option<usize> {
        let (area, start) = self.drawn.get()?;
        if x < area.x || x >= area.right() || y < area.y || y >= area.bottom() {
            return None;
        }
        let pos = start + usize::from(y - area.y);
        (pos < self.shown.len()).then_some(pos)
    }

    /// Selects the row at position `pos` among the shown rows.
    pub fn select_position(&mut self, pos: usize) {
        if pos < self.shown.len() {
            self.selected = pos;
        }
    }

    /// The first drawn position and the rows to draw in `height` lines.
    pub fn window(&self, height: usize) -> (usize, &[u32]) {
        let start = window_start(self.offset, self.selected, height, self.shown.len());
        let end = (start + height).min(self.shown.len());
        (start, &self.shown[start..end])
    }

    pub fn start_filter(&mut self) {
        self.editing = true;
    }

    /// Drops the filter; returns whether there was one.
    pub fn clear_filter(&mut self) -> bool {
        let had = !self.filter.is_empty() || self.editing;
        self.editing = false;
        if !self.filter.is_empty() {
            self.set_filter(String::new());
        }
        had
    }

    /// A key while the filter line is being typed: text edits it live, Enter keeps it, Esc
    /// clears it, arrows still move.
    pub fn filter_key(&mut self, event: &KeyEvent, page: usize) {
        match event.code {
            KeyCode::Enter => self.editing = false,
            KeyCode::Esc => {
                self.clear_filter();
            }
            KeyCode::Backspace => {
                let mut f = self.filter.clone();
                f.pop();
                self.set_filter(f);
            }
            KeyCode::Up => {
                self.apply(Action::Up, page);
            }
            KeyCode::Down => {
                self.apply(Action::Down, page);
            }
            KeyCode::Char(c)
                if !event
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                let mut f = self.filter.clone();
                f.push(c);
                self.set_filter(f);
            }
            _ => {}
        }
    }

    fn set_filter(&mut self, filter: String) {
        let keep = self.selected_row();
        self.filter = filter;
        self.refilter();
        self.selected = 0;
        self.offset = 0;
        if let Some(row) = keep {
            self.select_row(row);
        }
    }

    fn refilter(&mut self) {
        let needle = self.filter.to_lowercase();
        self.shown.clear();
        if needle.is_empty() {
            self.shown.extend_from_slice(&self.order);
        } else {
            let keys = &self.keys;
            self.shown.extend(
                self.order
                    .iter()
                    .copied()
                    .filter(|&r| keys[r as usize].contains(needle.as_str())),
            );
        }
        self.selected = self.selected.min(self.shown.len().saturating_sub(1));
    }
}

/// Where a window of `height` rows starts so that `selected` is inside it, moving as little
/// as possible from `offset`.
fn window_start(offset: usize, selected: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let mut start = offset.min(selected);
    if selected >= start + height {
        start = selected + 1 - height;
    }
    start.min(len.saturating_sub(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(list: &mut ListView, text: &str) {
        list.start_filter();
        for c in text.chars() {
            list.filter_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), 10);
        }
    }

    #[test]
    fn filters_live_and_keeps_the_selected_row() {
        let mut list = ListView::with_keys(["Alpha".into(), "beta".into(), "alphabet".into()]);
        list.apply(Action::Bottom, 10);
        assert_eq!(list.selected_row(), Some(2));
        typed(&mut list, "ALP");
        assert_eq!(list.shown(), &[0, 2]);
        assert_eq!(
            list.selected_row(),
            Some(2),
            "the selection survives the filter"
        );
        list.filter_key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), 10);
        assert!(!list.editing());
        assert_eq!(list.filter(), "ALP");
        assert!(list.clear_filter());
        assert_eq!(list.shown().len(), 3);
    }

    #[test]
    fn the_window_follows_the_selection() {
        let mut list = ListView::with_keys((0..100).map(|i| i.to_string()));
        let (start, rows) = list.window(10);
        assert_eq!((start, rows.len()), (0, 10));
        list.apply(Action::PageDown, 10);
        list.apply(Action::PageDown, 10);
        assert_eq!(list.selected(), 20);
        assert_eq!(list.window(10).0, 11);
        list.apply(Action::Up, 10);
        assert_eq!(
            list.window(10).0,
            11,
            "moving inside the window does not scroll"
        );
        list.apply(Action::Bottom, 10);
        assert_eq!(list.window(10), (90, &list.shown()[90..100]));
        list.set_order((0..100).rev().collect());
        assert_eq!(list.selected_row(), Some(99));
        assert_eq!(list.selected(), 0);
    }
}
