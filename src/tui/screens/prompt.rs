//! The path prompt of `p`: the operator types the path of a publish document, relative to
//! the directory the console was started in, with Tab completing file and directory names
//! (the common part when several match, which are then listed). Enter asks the worker to
//! read the file; the editor opens on what it read, or the footer says why it cannot.
//!
//! Completion lists a directory on the UI thread: it must answer the Tab key at once, and a
//! local directory listing is fast. Reading the document itself goes to the worker.

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::{centered, edit_line};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, lookup, Action, Binding, Key, KeyGroup};
use crate::tui::message::Message;
use crate::tui::protocol::Request;
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Publish from a file",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Tab)],
            shown: "Tab",
            does: "complete the file or directory name",
            hint: Some("Tab complete"),
            action: Action::Complete,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "open the file in the editor",
            hint: Some("Enter open"),
            action: Action::Confirm,
        },
        keys::cancel("cancel"),
    ],
};

/// Candidates shown under the prompt at most.
const SHOWN_CANDIDATES: usize = 40;

/// What Tab did to the typed path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    /// The path with the completion applied.
    pub text: String,
    /// The names that match, when there is more than one (directories end in `/`).
    pub candidates: Vec<String>,
    /// Why nothing was completed, when nothing was.
    pub note: Option<String>,
}

/// Completes the last component of `typed` among the entries of its directory (resolved
/// against `cwd`): fully when one entry matches (a directory gets its `/`), to the longest
/// common prefix when several do. Hidden entries only match a typed leading dot.
pub fn complete(cwd: &Path, typed: &str) -> Completion {
    let (dir_part, prefix) = match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    };
    let dir = resolve(cwd, if dir_part.is_empty() { "." } else { dir_part });
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            return Completion {
                text: typed.to_owned(),
                candidates: Vec::new(),
                note: Some(format!("cannot list {}: {e}", dir.display())),
            }
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            // Follows symlinks, so a link to a directory completes like one.
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            Some(if is_dir { format!("{name}/") } else { name })
        })
        .collect();
    names.sort();
    match names.len() {
        0 => Completion {
            text: typed.to_owned(),
            candidates: Vec::new(),
            note: Some(format!(
                "nothing in {} starts with {prefix:?}",
                dir.display()
            )),
        },
        1 => Completion {
            text: format!("{dir_part}{}", names[0]),
            candidates: Vec::new(),
            note: None,
        },
        _ => Completion {
            text: format!("{dir_part}{}", common_prefix(&names)),
            candidates: names,
            note: None,
        },
    }
}

fn common_prefix(names: &[String]) -> &str {
    let first = names[0].as_str();
    let mut end = first.len();
    for n in &names[1..] {
        end = first
            .char_indices()
            .zip(n.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(n.len()), |((i, _), _)| i.min(end));
    }
    &first[..end]
}

/// `typed` as a path: `~/` is the home directory, a relative path is relative to `cwd`.
pub fn resolve(cwd: &Path, typed: &str) -> PathBuf {
    if let Some(rest) = typed.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(home).join(rest);
        }
    }
    cwd.join(typed)
}

pub struct PathPrompt {
    cwd: PathBuf,
    text: String,
    candidates: Vec<String>,
    note: Option<String>,
}

impl PathPrompt {
    pub fn new(cwd: PathBuf) -> PathPrompt {
        PathPrompt {
            cwd,
            text: String::new(),
            candidates: Vec::new(),
            note: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Component for PathPrompt {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&KEYS]
    }

    /// The prompt takes every key: letters are the path.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        if let Some(action) = lookup(&[&KEYS], event) {
            return Some(self.handle(action, page));
        }
        if !edit_line(&mut self.text, event) {
            return Some(Outcome::Done);
        }
        self.candidates.clear();
        self.note = None;
        Some(Outcome::Done)
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Complete => {
                let c = complete(&self.cwd, &self.text);
                self.text = c.text;
                self.candidates = c.candidates;
                self.note = c.note;
                Outcome::Done
            }
            Action::Confirm if self.text.trim().is_empty() => {
                self.note = Some("type the path of a document first".into());
                Outcome::Done
            }
            Action::Confirm => Outcome::All(vec![
                Outcome::Back,
                Outcome::Request(Request::ReadFile {
                    path: resolve(&self.cwd, &self.text),
                }),
            ]),
            Action::Back => Outcome::All(vec![
                Outcome::Back,
                Outcome::Say(Message::info("publish cancelled")),
            ]),
            _ => Outcome::Done,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let mut lines = vec![
            Line::styled(
                format!(
                    "The path of a {{\"manifest\": …, \"metadata\": …}} document, relative to {}",
                    printable(&self.cwd.display().to_string())
                ),
                theme::HINT,
            ),
            Line::raw(""),
            Line::from(vec![
                Span::styled("> ", theme::HINT_KEY),
                Span::raw(printable(&self.text).into_owned()),
                Span::styled("█", theme::HINT_KEY),
            ]),
        ];
        if let Some(note) = &self.note {
            lines.push(Line::styled(printable(note).into_owned(), theme::WARNING));
        }
        if !self.candidates.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("{} names match:", self.candidates.len()),
                theme::COLUMN_HEADER,
            ));
            let shown: Vec<String> = self
                .candidates
                .iter()
                .take(SHOWN_CANDIDATES)
                .map(|c| printable(c).into_owned())
                .collect();
            lines.push(Line::raw(shown.join("   ")));
            if self.candidates.len() > SHOWN_CANDIDATES {
                lines.push(Line::styled(
                    format!("… and {} more", self.candidates.len() - SHOWN_CANDIDATES),
                    theme::DIM,
                ));
            }
        }
        let width = area.width.saturating_sub(8).min(120);
        let inner = width.saturating_sub(4).max(1) as usize;
        let height: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
        let popup = centered(area, width, height as u16 + 2);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Publish from a file ", theme::TITLE))
            .padding(Padding::horizontal(1))
            .style(theme::POPUP);
        frame.render_widget(
            Paragraph::new(Text::from(lines))
                .wrap(Wrap { trim: false })
                .block(block),
            popup,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_unique_names_and_lists_ambiguous_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("hotfix-a.json"), "{}").unwrap();
        std::fs::write(d.join("hotfix-b.json"), "{}").unwrap();
        std::fs::write(d.join(".hidden.json"), "{}").unwrap();
        std::fs::create_dir(d.join("docs")).unwrap();
        std::fs::write(d.join("docs").join("one.json"), "{}").unwrap();

        let c = complete(d, "hot");
        assert_eq!(c.text, "hotfix-");
        assert_eq!(c.candidates, ["hotfix-a.json", "hotfix-b.json"]);
        assert_eq!(complete(d, "hotfix-b").text, "hotfix-b.json");
        assert_eq!(complete(d, "do").text, "docs/");
        assert_eq!(complete(d, "docs/").text, "docs/one.json");
        assert_eq!(complete(d, ".h").text, ".hidden.json");
        assert_eq!(
            complete(d, "").candidates,
            ["docs/", "hotfix-a.json", "hotfix-b.json"]
        );
        let none = complete(d, "zzz");
        assert_eq!(none.text, "zzz");
        assert!(none.note.unwrap().contains("starts with \"zzz\""));
        let abs = format!("{}/hotfix-a", d.display());
        assert_eq!(complete(Path::new("/"), &abs).text, format!("{abs}.json"));
        assert_eq!(
            common_prefix(&["abé".into(), "abè".into()]),
            "ab",
            "never splits a character"
        );
    }
}
