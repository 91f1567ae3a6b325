//! Search inside a text view (a JSON document, the integrity report): `/` starts typing a
//! query, every keystroke finds its matches (case-insensitive) in the drawn lines, `Enter`
//! keeps it, `n`/`N` go to the next or previous match, `Esc` ends the search. Matches are
//! highlighted where the lines are drawn, the current one apart from the others.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme;
use crate::untrusted::printable;

/// One match: a line and a range of characters in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

/// What a key did to the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// The query changed (or the cursor moved): look again.
    Changed,
    /// Enter: the query is kept, `n`/`N` move between matches.
    Kept,
    /// Esc: the search is over.
    Cancelled,
    /// A key the search does not take.
    Ignored,
}

#[derive(Debug, Clone, Default)]
pub struct Search {
    query: String,
    typing: bool,
    matches: Vec<Match>,
    current: usize,
}

impl Search {
    /// A search whose query is being typed.
    pub fn start() -> Search {
        Search {
            typing: true,
            ..Search::default()
        }
    }

    pub fn typing(&self) -> bool {
        self.typing
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    /// A key while the query is being typed.
    pub fn key(&mut self, event: &KeyEvent) -> Typed {
        if !self.typing {
            return Typed::Ignored;
        }
        match event.code {
            KeyCode::Enter => {
                self.typing = false;
                Typed::Kept
            }
            KeyCode::Esc => Typed::Cancelled,
            KeyCode::Backspace => {
                self.query.pop();
                Typed::Changed
            }
            KeyCode::Char(c)
                if !event
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                self.query.push(c);
                Typed::Changed
            }
            _ => Typed::Ignored,
        }
    }

    /// Finds the query in `lines` (their text as drawn), keeping the current match near
    /// where it was.
    pub fn find(&mut self, lines: &[Line]) {
        let was = self.matches.get(self.current).map(|m| m.line);
        self.matches.clear();
        let needle: Vec<char> = self.query.chars().flat_map(char::to_lowercase).collect();
        if needle.is_empty() {
            self.current = 0;
            return;
        }
        for (i, line) in lines.iter().enumerate() {
            let hay: Vec<char> = line
                .spans
                .iter()
                .flat_map(|s| s.content.chars())
                .map(fold)
                .collect();
            let mut at = 0;
            while at + needle.len() <= hay.len() {
                if hay[at..at + needle.len()] == needle[..] {
                    self.matches.push(Match {
                        line: i,
                        start: at,
                        end: at + needle.len(),
                    });
                    at += needle.len();
                } else {
                    at += 1;
                }
            }
        }
        self.current = was
            .and_then(|l| self.matches.iter().position(|m| m.line >= l))
            .unwrap_or(0);
    }

    /// The current match.
    pub fn current(&self) -> Option<Match> {
        self.matches.get(self.current).copied()
    }

    /// Moves to the next match (`forward`) or the previous one, wrapping around.
    pub fn step(&mut self, forward: bool) -> Option<Match> {
        let n = self.matches.len();
        if n == 0 {
            return None;
        }
        self.current = if forward {
            (self.current + 1) % n
        } else {
            (self.current + n - 1) % n
        };
        self.current()
    }

    /// Line `index` with its matches highlighted (the current one in its own style).
    pub fn highlight(&self, index: usize, line: &Line<'static>) -> Line<'static> {
        let ranges: Vec<(usize, usize, bool)> = self
            .matches
            .iter()
            .enumerate()
            .filter(|(_, m)| m.line == index)
            .map(|(k, m)| (m.start, m.end, k == self.current))
            .collect();
        if ranges.is_empty() {
            return line.clone();
        }
        let mut spans = Vec::new();
        let mut pos = 0;
        // The ranges are in order: one pointer walks them along the line.
        let mut next = 0;
        for span in &line.spans {
            let mut piece = String::new();
            let mut piece_style: Option<Style> = None;
            for c in span.content.chars() {
                while next < ranges.len() && ranges[next].1 <= pos {
                    next += 1;
                }
                let style = match ranges.get(next) {
                    Some((s, _, true)) if *s <= pos => theme::SEARCH_CURRENT,
                    Some((s, _, false)) if *s <= pos => theme::SEARCH_MATCH,
                    _ => span.style,
                };
                if let Some(p) = piece_style.filter(|p| *p != style) {
                    spans.push(Span::styled(std::mem::take(&mut piece), p));
                }
                piece_style = Some(style);
                piece.push(c);
                pos += 1;
            }
            if !piece.is_empty() {
                spans.push(Span::styled(piece, piece_style.unwrap_or_default()));
            }
        }
        Line::from(spans).style(line.style)
    }

    /// The search line under the view: the query being typed, or where the current match is.
    pub fn status(&self) -> String {
        let query = printable(&self.query);
        if self.typing {
            let found = match self.matches.len() {
                0 if self.query.is_empty() => String::new(),
                0 => " · no match".to_owned(),
                1 => " · 1 match".to_owned(),
                n => format!(" · {n} matches"),
            };
            return format!(" /{query}█{found} ");
        }
        match self.matches.len() {
            0 => format!(" /{query}: no match (Esc ends the search) "),
            n => format!(
                " /{query}: match {} of {n} (n next, N previous, Esc ends the search) ",
                self.current + 1
            ),
        }
    }
}

/// One character as the search compares it: lowercase.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(search: &mut Search, text: &str) {
        for c in text.chars() {
            search.key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn finds_every_match_and_steps_around() {
        let lines = vec![
            Line::from(vec![Span::raw("  \"name\": "), Span::raw("\"Ticket\",")]),
            Line::raw("  \"label\": \"TICKETS\""),
            Line::raw("nothing here"),
        ];
        let mut s = Search::start();
        typed(&mut s, "tick");
        s.find(&lines);
        assert_eq!(
            s.matches(),
            [
                Match {
                    line: 0,
                    start: 11,
                    end: 15
                },
                Match {
                    line: 1,
                    start: 12,
                    end: 16
                }
            ]
        );
        assert!(s.status().contains("2 matches"), "{}", s.status());
        assert_eq!(
            s.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Typed::Kept
        );
        assert_eq!(s.step(true).map(|m| m.line), Some(1));
        assert_eq!(s.step(true).map(|m| m.line), Some(0), "wraps around");
        assert_eq!(s.step(false).map(|m| m.line), Some(1));
        let lit = s.highlight(1, &lines[1]);
        let current: String = lit
            .spans
            .iter()
            .filter(|sp| sp.style == theme::SEARCH_CURRENT)
            .map(|sp| sp.content.to_string())
            .collect();
        assert_eq!(current, "TICK");
        let other: String = s
            .highlight(0, &lines[0])
            .spans
            .iter()
            .filter(|sp| sp.style == theme::SEARCH_MATCH)
            .map(|sp| sp.content.to_string())
            .collect();
        assert_eq!(other, "Tick", "the match spans two spans of the line");
    }
}
