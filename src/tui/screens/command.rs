//! The `:` command line, as in k9s: type a package id to jump to its versions (`id@version`
//! or `id version` for one version's detail), or the name of a screen or a command
//! (`packages`, `trash`, `connections`, `verify`, `refresh`, `help`, `publish`, `quit`).
//! `Tab` completes to the longest common start of what matches, and lists the matches.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::edit_line;
use super::layout::cut;
use crate::tui::component::{Component, Context, Jump, Outcome};
use crate::tui::keys::{lookup, Action, Binding, Key, KeyGroup};
use crate::tui::message::Message;
use crate::tui::theme;
use crate::untrusted::printable;

const KEYS: KeyGroup = KeyGroup {
    title: "Command line",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Tab)],
            shown: "Tab",
            does: "complete the package id or the command",
            hint: Some("Tab complete"),
            action: Action::Complete,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "go there",
            hint: Some("Enter go"),
            action: Action::Confirm,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Esc)],
            shown: "Esc",
            does: "close the command line",
            hint: Some("Esc close"),
            action: Action::Back,
        },
    ],
};

/// The commands, with what they do (for the list of matches).
pub const COMMANDS: [(&str, &str); 9] = [
    ("packages", "the Packages screen"),
    ("trash", "the Trash screen"),
    ("connections", "switch to a saved connection"),
    ("verify", "verify every row"),
    ("refresh", "reload from the registry"),
    ("help", "the keys of this screen"),
    ("publish", "publish a document from a file"),
    ("drafts", "resume editor text kept from an earlier session"),
    ("quit", "quit pkgdeck"),
];

/// Matches listed under the line at most.
const SHOWN: usize = 8;

/// What a typed command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// One of [`COMMANDS`], as the action it stands for.
    Act(Action),
    Jump(Jump),
    /// Nothing known by that name.
    Unknown(String),
    Empty,
}

/// Reads a command line: a command name (or its unique start), else a package id among
/// `ids`, with `@version` or ` version` for one version.
pub fn parse(line: &str, ids: &[String]) -> Command {
    let line = line.trim();
    if line.is_empty() {
        return Command::Empty;
    }
    // `compare NAME`: the Compare screen with a saved connection; alone, the picker to pick it.
    if let Some(rest) = line.strip_prefix("compare") {
        if rest.is_empty() {
            return Command::Act(Action::Connections);
        }
        if rest.starts_with(' ') {
            return Command::Jump(Jump::Compare(rest.trim().to_owned()));
        }
    }
    let named: Vec<&str> = COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| c.starts_with(line))
        .collect();
    if let [only] = named[..] {
        if !ids.iter().any(|id| id == line) {
            return Command::Act(match only {
                "packages" => Action::Home,
                "trash" => Action::Trash,
                "connections" => Action::Connections,
                "verify" => Action::VerifyAll,
                "refresh" => Action::Refresh,
                "help" => Action::Help,
                "publish" => Action::Publish,
                "drafts" => Action::Drafts,
                _ => Action::Quit,
            });
        }
    }
    if line == "q" {
        return Command::Act(Action::Quit);
    }
    let (id, version) = match line.split_once(['@', ' ']) {
        Some((id, v)) => (id.trim(), Some(v.trim()).filter(|v| !v.is_empty())),
        None => (line, None),
    };
    if !ids.iter().any(|i| i == id) {
        return Command::Unknown(line.to_owned());
    }
    Command::Jump(match version {
        Some(v) => Jump::Version {
            id: id.to_owned(),
            version: v.to_owned(),
            integrity: false,
        },
        None => Jump::Package(id.to_owned()),
    })
}

/// The commands and package ids that start with `typed`, commands first.
pub fn matches<'a>(typed: &str, ids: &'a [String]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| c.starts_with(typed))
        .collect();
    out.extend(
        ids.iter()
            .map(String::as_str)
            .filter(|id| id.starts_with(typed)),
    );
    out
}

fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some(first) = names.first() else {
        return "";
    };
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

pub struct CommandLine {
    text: String,
    /// The package ids the Packages screen holds, sorted, for completion and jumps.
    ids: Vec<String>,
    /// What matched the last Tab, when more than one thing did.
    listed: Vec<String>,
    note: Option<String>,
}

impl CommandLine {
    pub fn new(mut ids: Vec<String>) -> CommandLine {
        ids.sort_unstable();
        ids.dedup();
        CommandLine {
            text: String::new(),
            ids,
            listed: Vec::new(),
            note: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn complete(&mut self) {
        let found = matches(&self.text, &self.ids);
        self.note = None;
        match found.len() {
            0 => {
                self.listed.clear();
                self.note = Some(format!(
                    "nothing starts with {:?}",
                    printable(&self.text).into_owned()
                ));
            }
            1 => {
                self.text = found[0].to_owned();
                self.listed.clear();
            }
            _ => {
                self.text = common_prefix(&found).to_owned();
                self.listed = found.iter().map(std::string::ToString::to_string).collect();
            }
        }
    }

    fn go(&self) -> Outcome {
        match parse(&self.text, &self.ids) {
            Command::Empty => Outcome::Back,
            Command::Act(action) => Outcome::All(vec![Outcome::Back, Outcome::Act(action)]),
            Command::Jump(to) => Outcome::Jump(to),
            Command::Unknown(what) => Outcome::All(vec![
                Outcome::Back,
                Outcome::Say(Message::warning(format!(
                    ":{}: no package and no command by that name (Tab completes)",
                    printable(&what)
                ))),
            ]),
        }
    }
}

impl Component for CommandLine {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&KEYS]
    }

    /// The line takes every key: letters are the command.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        if let Some(action) = lookup(&[&KEYS], event) {
            return Some(self.handle(action, page));
        }
        if event.code == KeyCode::Backspace && self.text.is_empty() {
            return Some(Outcome::Back);
        }
        if !edit_line(&mut self.text, event) {
            return Some(Outcome::Done);
        }
        self.listed.clear();
        self.note = None;
        Some(Outcome::Done)
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Complete => {
                self.complete();
                Outcome::Done
            }
            Action::Confirm => self.go(),
            Action::Back => Outcome::Back,
            _ => Outcome::Done,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let width = usize::from(area.width.saturating_sub(4));
        let mut lines: Vec<Line> = Vec::new();
        if let Some(note) = &self.note {
            lines.push(Line::styled(cut(note, width), theme::WARNING));
        }
        if !self.listed.is_empty() {
            let described = |name: &str| {
                COMMANDS.iter().find(|(c, _)| *c == name).map_or_else(
                    || printable(name).into_owned(),
                    |(_, does)| format!("{name}  ({does})"),
                )
            };
            for name in self.listed.iter().take(SHOWN) {
                lines.push(Line::raw(cut(&described(name), width)));
            }
            if self.listed.len() > SHOWN {
                lines.push(Line::styled(
                    format!("… and {} more", self.listed.len() - SHOWN),
                    theme::DIM,
                ));
            }
        }
        lines.push(Line::from(vec![
            Span::styled(":", theme::HINT_KEY),
            Span::raw(cut(&printable(&self.text), width.saturating_sub(2))),
            Span::styled("█", theme::HINT_KEY),
        ]));
        let height = (lines.len() as u16 + 2).min(area.height);
        let [_, popup] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(height)]).areas(area);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(" Command ", theme::TITLE))
            .style(theme::POPUP);
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_ids_and_versions() {
        let ids: Vec<String> = ["com.acme.crm", "com.acme.helpdesk", "trashcan"]
            .map(String::from)
            .to_vec();
        assert_eq!(parse("tr", &ids), Command::Act(Action::Trash));
        assert_eq!(
            parse("trashcan", &ids),
            Command::Jump(Jump::Package("trashcan".into()))
        );
        assert_eq!(parse("q", &ids), Command::Act(Action::Quit));
        assert_eq!(
            parse("com.acme.crm@1.2.0", &ids),
            Command::Jump(Jump::Version {
                id: "com.acme.crm".into(),
                version: "1.2.0".into(),
                integrity: false
            })
        );
        assert_eq!(
            parse("com.acme.crm 1.2.0", &ids),
            parse("com.acme.crm@1.2.0", &ids)
        );
        assert_eq!(parse("com.acme", &ids), Command::Unknown("com.acme".into()));
        assert_eq!(parse("  ", &ids), Command::Empty);
        assert_eq!(
            parse("compare prod", &ids),
            Command::Jump(Jump::Compare("prod".into()))
        );
        assert_eq!(parse("compare", &ids), Command::Act(Action::Connections));
        assert_eq!(
            matches("com.acme.", &ids),
            ["com.acme.crm", "com.acme.helpdesk"]
        );
        assert_eq!(common_prefix(&matches("c", &ids)), "co");
    }
}
