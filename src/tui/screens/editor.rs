//! The JSON editor of publish and hotfix (tui-textarea), with live validation: every change
//! is checked by the registry's own `prepare_publish` (on the UI thread for documents up to
//! [`INLINE_LIMIT`], by the worker once typing pauses for larger ones), and what it finds is
//! listed under the text: a syntax error with its line and column (the line is marked in the
//! gutter; `Ctrl-G` moves the cursor there), or every manifest problem with its JSON path,
//! and once those pass, the ObjectStack schemas' warnings at their paths (spec 9: they do not
//! stop a publish; the review lists them again).
//! `Ctrl-S` asks the worker for a review; `Esc` asks before dropping changes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use tui_textarea::{CursorMove, TextArea};

use super::layout::{fit_lines, title};
use super::{Confirm, Modal};
use crate::tui::component::{Component, Context, ExternalEdit, Outcome};
use crate::tui::count;
use crate::tui::document::{Validation, INLINE_LIMIT};
use crate::tui::keys::{lookup, Action, Binding, Key, KeyGroup};
use crate::tui::message::Message;
use crate::tui::protocol::Request;
use crate::tui::theme;
use crate::untrusted::printable;
use unicode_width::UnicodeWidthStr;

const KEYS: KeyGroup = KeyGroup {
    title: "Editor",
    bindings: &[
        Binding {
            keys: &[Key::Ctrl('s')],
            shown: "Ctrl-S",
            does: "review the publish (when the document is valid)",
            hint: Some("Ctrl-S review"),
            action: Action::Review,
        },
        Binding {
            keys: &[Key::Ctrl('g')],
            shown: "Ctrl-G",
            does: "move the cursor to the syntax error",
            hint: Some("Ctrl-G go to error"),
            action: Action::GoToError,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Esc)],
            shown: "Esc",
            does: "close the editor (asks first when there are changes)",
            hint: Some("Esc close"),
            action: Action::Back,
        },
        Binding {
            keys: &[Key::Ctrl('e')],
            shown: "Ctrl-E",
            does: "go on editing in $VISUAL/$EDITOR (the text comes back here)",
            hint: None,
            action: Action::EditOutside,
        },
        Binding {
            keys: &[Key::Ctrl('u')],
            shown: "Ctrl-U",
            does: "undo (Ctrl-R redo)",
            hint: Some("Ctrl-U undo"),
            action: Action::Edit,
        },
    ],
};

/// How long typing must pause before a large document goes to the worker for validation.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Text generations, unique across editors, so a late answer about a closed editor's text
/// can never be taken for the current one's.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Lines the problem list may take under the editor before it scrolls off.
const MAX_PROBLEM_LINES: usize = 8;

/// Where the text came from, for the title and the review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file opened with `p`.
    File(PathBuf),
    /// A hotfix of `id` `from`; `to` is the bumped version (`None` when it could not be).
    Hotfix {
        id: String,
        from: String,
        to: Option<String>,
    },
}

impl Origin {
    /// A few words naming the document, for titles and the discard question.
    pub fn describe(&self) -> String {
        match self {
            Origin::File(path) => path.display().to_string(),
            Origin::Hotfix { id, from, to } => match to {
                Some(to) => format!("the hotfix of {id} {from} → {to}"),
                None => format!("the hotfix of {id} {from}"),
            },
        }
    }
}

pub struct Editor {
    origin: Origin,
    textarea: TextArea<'static>,
    /// The starting text, to tell whether there is anything to lose.
    original: String,
    /// Whether the text differs from `original` (kept up to date on every change).
    modified: bool,
    /// `None` while a large document waits for the worker's answer.
    validation: Option<Validation>,
    /// Bumped on every change; a worker answer for an older generation is stale.
    generation: u64,
    /// When a large document changed and has not been sent for validation yet.
    stale_since: Option<Instant>,
    /// The hash of the document a review was asked for and has not come back.
    reviewing: Option<String>,
    /// The draft file this text came from (resumed, or edited outside): it goes once the
    /// text is published or discarded, and quitting with changes writes to it.
    draft: Option<PathBuf>,
}

impl Editor {
    /// An editor on `text` (already made visible with `document::visible`).
    pub fn new(origin: Origin, text: &str) -> Editor {
        let mut textarea = TextArea::new(text.lines().map(str::to_owned).collect());
        textarea.set_line_number_style(theme::DIM);
        textarea.set_cursor_line_style(Style::new());
        textarea.set_tab_length(2);
        let mut editor = Editor {
            origin,
            textarea,
            original: String::new(),
            modified: false,
            validation: None,
            generation: 0,
            stale_since: None,
            reviewing: None,
            draft: None,
        };
        editor.original = editor.text();
        editor.changed(Instant::now());
        editor
    }

    /// Asks for the review at once (a document that came back from `$EDITOR` valid).
    pub fn review_now(&mut self) -> Outcome {
        self.review()
    }

    /// The editor on a draft's text, kept at `path`.
    pub fn with_draft(mut self, path: PathBuf) -> Editor {
        self.draft = Some(path);
        self
    }

    /// The draft file behind the text, if there is one.
    pub fn draft(&self) -> Option<&std::path::Path> {
        self.draft.as_deref()
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    /// Whether the text differs from what the editor opened with.
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// The cursor as (row, column), 0-based.
    pub fn cursor(&self) -> (usize, usize) {
        self.textarea.cursor()
    }

    pub fn validation(&self) -> Option<&Validation> {
        self.validation.as_ref()
    }

    /// The review asked for, if one is on its way.
    pub fn reviewing(&self) -> Option<&str> {
        self.reviewing.as_deref()
    }

    /// The review came back (or failed): the editor takes keys again.
    pub fn review_answered(&mut self) {
        self.reviewing = None;
    }

    fn changed(&mut self, now: Instant) {
        self.generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        let text = self.text();
        self.modified = text != self.original;
        if text.len() <= INLINE_LIMIT {
            self.validation = Some(Validation::of(&text));
            self.stale_since = None;
        } else {
            self.validation = None;
            self.stale_since = Some(now);
        }
    }

    /// The worker's validation of a large document; dropped when the text changed since.
    pub fn validated(&mut self, generation: u64, validation: Validation) {
        if generation == self.generation && self.stale_since.is_none() {
            self.validation = Some(validation);
        }
    }

    /// A validation to send to the worker, once typing on a large document paused.
    pub fn due(&mut self, now: Instant) -> Option<Request> {
        let since = self.stale_since?;
        if now.duration_since(since) < DEBOUNCE {
            return None;
        }
        self.pending()
    }

    /// The worker validation a large document still needs, at once (when it opens).
    pub fn pending(&mut self) -> Option<Request> {
        self.stale_since.take()?;
        Some(Request::Validate {
            text: Arc::from(self.text()),
            generation: self.generation,
        })
    }

    fn review(&mut self) -> Outcome {
        if self.reviewing.is_some() {
            return Outcome::Done;
        }
        match &self.validation {
            Some(Validation::Valid(p)) => {
                self.reviewing = Some(p.hash.clone());
                Outcome::Request(Request::Review {
                    prepared: p.clone(),
                })
            }
            Some(Validation::Syntax { line, column, .. }) => {
                Outcome::Say(Message::warning(format!(
                    "not valid JSON yet (line {line}, column {column}): no review until it is; \
                     Ctrl-G moves the cursor there"
                )))
            }
            Some(Validation::Problems(p)) => Outcome::Say(Message::warning(format!(
                "{} to fix first (listed under the editor): no review until the document is valid",
                count(p.len() as u64, "problem")
            ))),
            None => Outcome::Say(Message::info(
                "still checking the document; Ctrl-S again in a moment",
            )),
        }
    }

    fn go_to_error(&mut self) -> Outcome {
        match &self.validation {
            Some(Validation::Syntax { line, column, .. }) => {
                let row = line.saturating_sub(1).min(u16::MAX as usize) as u16;
                let col = column.saturating_sub(1).min(u16::MAX as usize) as u16;
                self.textarea.move_cursor(CursorMove::Jump(row, col));
                Outcome::Done
            }
            _ => Outcome::Say(Message::info("no syntax error to go to")),
        }
    }

    fn close(&mut self) -> Outcome {
        if self.modified() {
            Outcome::Overlay(Modal::Confirm(Box::new(Confirm::discard(
                &self.origin.describe(),
                self.draft.clone(),
            ))))
        } else {
            Outcome::Back
        }
    }

    fn title(&self) -> String {
        match &self.origin {
            Origin::File(path) => format!(" Publish {} ", printable(&path.display().to_string())),
            Origin::Hotfix { id, from, to } => format!(
                " Hotfix {} {} → {} ",
                printable(id),
                printable(from),
                printable(to.as_deref().unwrap_or("(set manifest.version)"))
            ),
        }
    }

    /// What validation found, as the lines under the editor.
    fn report(&self) -> (Line<'static>, Vec<Line<'static>>) {
        let bullet = |path: &str, message: &str| {
            Line::from(vec![
                Span::styled(" • ", theme::ERROR),
                Span::styled(printable(path).into_owned(), theme::COLUMN_HEADER),
                Span::raw(": "),
                Span::raw(printable(message).into_owned()),
            ])
        };
        match &self.validation {
            None => (
                Line::styled(" checking… ", theme::DIM),
                vec![Line::styled(
                    " the worker is validating this large document",
                    theme::DIM,
                )],
            ),
            Some(Validation::Valid(p)) => {
                let mut lines = vec![Line::from(vec![
                    Span::raw(format!(
                        " {} {} · new hash ",
                        printable(&p.id),
                        printable(&p.version)
                    )),
                    Span::styled(p.hash.clone(), theme::TITLE),
                    Span::raw(if self.reviewing.is_some() {
                        " · preparing the review…"
                    } else {
                        " · Ctrl-S reviews the publish"
                    }),
                ])];
                lines.extend(p.schema_warnings.iter().map(|w| {
                    Line::from(vec![
                        Span::styled(" ▲ ", theme::WARNING),
                        Span::styled(printable(&w.path).into_owned(), theme::COLUMN_HEADER),
                        Span::raw(": "),
                        Span::raw(printable(&w.message).into_owned()),
                    ])
                }));
                let status = if p.schema_warnings.is_empty() {
                    Line::styled(" ✓ valid ", theme::badge(crate::tui::integrity::Badge::Ok))
                } else {
                    Line::styled(
                        format!(
                            " ✓ valid · ⚠ {} ",
                            count(p.schema_warnings.len() as u64, "ObjectStack schema warning")
                        ),
                        theme::WARNING,
                    )
                };
                (status, lines)
            }
            Some(Validation::Syntax {
                line,
                column,
                message,
            }) => (
                Line::styled(" ✗ invalid JSON ", theme::ERROR),
                vec![
                    bullet(&format!("line {line}, column {column}"), message),
                    Line::styled(
                        " Ctrl-G moves the cursor there; the line is marked in the margin",
                        theme::DIM,
                    ),
                ],
            ),
            Some(Validation::Problems(problems)) => (
                Line::styled(
                    format!(" ✗ {} ", count(problems.len() as u64, "problem")),
                    theme::ERROR,
                ),
                problems
                    .iter()
                    .map(|p| bullet(&p.path, &p.message))
                    .collect(),
            ),
        }
    }

    /// Marks the gutter of the line with the syntax error, wherever the text is scrolled: the
    /// textarea keeps its scroll position private, so the drawn line numbers are read back.
    fn mark_error_line(&self, frame: &mut Frame, area: Rect) {
        let Some(Validation::Syntax { line, .. }) = &self.validation else {
            return;
        };
        let digits = self.textarea.lines().len().to_string().len() as u16;
        let gutter = digits + 2;
        let buf = frame.buffer_mut();
        for y in area.top()..area.bottom() {
            let number: String = (area.left()..area.left() + gutter.min(area.width))
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect();
            if number.trim().parse::<usize>().ok() == Some(*line) {
                for x in area.left()..area.left() + gutter.min(area.width) {
                    buf[(x, y)].set_style(theme::ERROR.add_modifier(Modifier::REVERSED));
                }
            }
        }
    }
}

impl Component for Editor {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        vec![&KEYS]
    }

    /// The editor takes every key: what is not one of its commands is text.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        let command = lookup(&[&KEYS], event).filter(|a| *a != Action::Edit);
        if let Some(action) = command {
            return Some(self.handle(action, page));
        }
        let was_valid = self
            .validation
            .as_ref()
            .is_some_and(|v| v.prepared().is_some());
        if self.textarea.input(*event) {
            self.changed(Instant::now());
            if !was_valid
                && self
                    .validation
                    .as_ref()
                    .is_some_and(|v| v.prepared().is_some())
            {
                return Some(Outcome::Say(Message::info(
                    "the document is valid now: Ctrl-S reviews the publish",
                )));
            }
        }
        Some(Outcome::Done)
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match action {
            Action::Review => self.review(),
            Action::GoToError => self.go_to_error(),
            Action::Back => self.close(),
            Action::EditOutside => Outcome::All(vec![
                Outcome::Back,
                Outcome::EditOutside(ExternalEdit {
                    origin: self.origin.clone(),
                    text: self.text(),
                    draft: self.draft.clone(),
                }),
            ]),
            _ => Outcome::Done,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let (status, lines) = self.report();
        let shown = lines.len().min(MAX_PROBLEM_LINES);
        let [text_area, report_area] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(shown as u16 + 2)])
                .areas(area);
        frame.render_widget(Clear, area);
        let (row, col) = self.textarea.cursor();
        let position = format!(
            " Ln {}, Col {}{} ",
            row + 1,
            col + 1,
            if self.modified() { " · modified" } else { "" }
        );
        // On a narrow terminal the document's name matters more than the cursor position.
        let position = if self.title().width() + position.width() + 3 > usize::from(area.width) {
            String::new()
        } else {
            position
        };
        let block = Block::bordered()
            .title(Line::styled(
                title(&self.title(), &position, area.width),
                theme::TITLE,
            ))
            .title(Line::styled(position, theme::DIM).right_aligned());
        let inner = block.inner(text_area);
        frame.render_widget(block, text_area);
        frame.render_widget(&self.textarea, inner);
        self.mark_error_line(frame, inner);
        let mut report = Block::bordered().title(status);
        if lines.len() > shown {
            report = report.title_bottom(Line::styled(
                format!(" … and {} more ", lines.len() - shown),
                theme::DIM,
            ));
        }
        let width = usize::from(report_area.width.saturating_sub(2));
        frame.render_widget(
            Paragraph::new(Text::from(fit_lines(&lines[..shown], width))).block(report),
            report_area,
        );
    }
}
