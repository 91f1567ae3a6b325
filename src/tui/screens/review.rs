//! The review between the editor and a publish: id, version, the new hash, whether it
//! overwrites a stored row (which then goes to the trash), and the diff against the version
//! it replaces or else the package's latest, per manifest key and per metadata section item,
//! with a coloured line diff of every changed item, and what the ObjectStack server would load
//! after it (spec 8.4). `y` publishes; when a guard refuses the publish, the operator overrides
//! it by typing the package id instead. The registry reads the row back and verifies it, and
//! the result replaces the summary. `n`/`Esc` go back to the editor, whose text and cursor were
//! never touched.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::boot::boot_change_lines;
use super::confirm::trash_dir;
use super::diff::package_diff_lines;
use super::layout::{fit_lines, title};
use crate::registry::{Allow, PreparedPublish, PublishReport, PublishReview};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::integrity::{self, Badge};
use crate::tui::keys::{self, Action, Binding, Key, KeyGroup};
use crate::tui::protocol::{JobError, Request};
use crate::tui::theme;
use crate::untrusted::printable;

const READY: KeyGroup = KeyGroup {
    title: "Review",
    bindings: &[
        Binding {
            keys: &[Key::Char('y'), Key::Char('Y')],
            shown: "y",
            does: "publish (and overwrite, when the review says so)",
            hint: Some("y publish"),
            action: Action::Confirm,
        },
        Binding {
            keys: &[Key::Char('n'), Key::Char('N'), Key::Code(KeyCode::Esc)],
            shown: "n Esc",
            does: "back to the editor, nothing published",
            hint: Some("n/Esc back to the editor"),
            action: Action::Back,
        },
    ],
};

/// When a guard refuses the publish: the package id is typed to override it.
const TYPED: KeyGroup = KeyGroup {
    title: "Review (refused by a guard)",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "publish anyway if you typed the package id, else go back",
            hint: Some("type the package id, Enter publish anyway"),
            action: Action::Confirm,
        },
        Binding {
            keys: &[Key::Code(KeyCode::Esc)],
            shown: "Esc",
            does: "back to the editor, nothing published",
            hint: Some("Esc back to the editor"),
            action: Action::Back,
        },
    ],
};

const SCROLL: KeyGroup = KeyGroup {
    title: "Scroll",
    bindings: &[
        keys::SCROLL_UP,
        keys::SCROLL_DOWN,
        keys::SCROLL_PAGE_UP,
        keys::SCROLL_PAGE_DOWN,
        keys::SCROLL_TOP,
        keys::SCROLL_BOTTOM,
    ],
};

const PUBLISHING: KeyGroup = KeyGroup {
    title: "Publishing",
    bindings: &[],
};

const DONE: KeyGroup = KeyGroup {
    title: "Published",
    bindings: &[Binding {
        keys: &[
            Key::Code(KeyCode::Enter),
            Key::Code(KeyCode::Esc),
            Key::Char('q'),
        ],
        shown: "Enter Esc",
        does: "close",
        hint: Some("Enter close"),
        action: Action::Back,
    }],
};

enum State {
    Ready,
    Publishing,
    Done(Result<Box<PublishReport>, JobError>),
}

pub struct Review {
    data: Box<PublishReview>,
    summary: Vec<Line<'static>>,
    diff: Vec<Line<'static>>,
    scroll: usize,
    state: State,
    /// What the operator typed to override a guard (only when one refuses the publish).
    typed: String,
}

impl Review {
    pub fn new(data: Box<PublishReview>) -> Review {
        let mut summary = summary_lines(&data);
        summary.extend(boot_lines(&data));
        Review {
            summary,
            diff: diff_lines(&data),
            data,
            scroll: 0,
            state: State::Ready,
            typed: String::new(),
        }
    }

    /// Whether a guard refuses this publish, so that only the typed package id publishes it.
    fn guarded(&self) -> bool {
        !self.data.unchanged() && !self.data.boot.problems.is_empty()
    }

    fn publish(&mut self, allow: Allow) -> Outcome {
        self.state = State::Publishing;
        let mut options = self.data.options();
        options.allow = allow;
        Outcome::Request(Request::Publish {
            prepared: Box::new(self.data.prepared.clone()),
            // Only the row this review showed and the operator just confirmed.
            options,
        })
    }

    /// The hash of the reviewed document.
    pub fn hash(&self) -> &str {
        &self.data.prepared.hash
    }

    /// The publish waits for a production confirmation: `y` may be pressed again.
    pub fn unconfirm(&mut self) {
        if matches!(self.state, State::Publishing) {
            self.state = State::Ready;
        }
    }

    /// The production confirmation came: the publish is on its way.
    pub fn confirmed(&mut self) {
        self.state = State::Publishing;
    }

    pub fn publishing(&self) -> bool {
        matches!(self.state, State::Publishing)
    }

    /// The worker's answer to `y`.
    pub fn finish(&mut self, report: Result<Box<PublishReport>, JobError>) {
        self.scroll = 0;
        self.state = State::Done(report);
    }

    /// Whether the publish went through.
    pub fn published(&self) -> bool {
        matches!(&self.state, State::Done(Ok(_)))
    }

    fn lines(&self) -> Vec<Line<'static>> {
        let mut lines = match &self.state {
            State::Done(result) => result_lines(&self.data, result),
            State::Publishing => vec![Line::styled(" publishing…", theme::WARNING)],
            State::Ready if self.guarded() => vec![Line::from(vec![
                Span::styled(" > ", theme::HINT_KEY),
                Span::raw(printable(&self.typed).into_owned()),
                Span::styled("█", theme::HINT_KEY),
                Span::styled(
                    format!(
                        "   type {} and press Enter to publish anyway; Esc goes back",
                        printable(&self.data.prepared.id)
                    ),
                    theme::ERROR,
                ),
            ])],
            State::Ready => Vec::new(),
        };
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.extend(self.summary.iter().cloned());
        lines.push(Line::raw(""));
        lines.extend(self.diff.iter().cloned());
        lines
    }
}

fn short(hash: &str) -> String {
    printable(hash.get(..12).unwrap_or(hash)).into_owned()
}

fn field(name: &str) -> Span<'static> {
    Span::styled(format!(" {name:<12}"), theme::COLUMN_HEADER)
}

fn summary_lines(d: &PublishReview) -> Vec<Line<'static>> {
    let p = &d.prepared;
    let (id, version) = (
        printable(&p.id).into_owned(),
        printable(&p.version).into_owned(),
    );
    let mut lines = vec![
        Line::from(vec![
            Span::raw(" Publish "),
            Span::styled(format!("{id} {version}"), theme::TITLE),
            Span::raw(format!(" to {}", printable(&d.target))),
        ]),
        Line::raw(""),
        Line::from(vec![field("id"), Span::raw(id.clone())]),
        Line::from(vec![field("version"), Span::raw(version.clone())]),
        Line::from(vec![
            field("new hash"),
            Span::styled(p.hash.clone(), theme::TITLE),
        ]),
        Line::from(vec![
            field("size"),
            Span::raw(format!(
                "manifest {} bytes · metadata {} bytes",
                p.manifest.len(),
                p.metadata.len()
            )),
        ]),
    ];
    match &d.existing {
        None => lines.push(Line::from(vec![
            field("writes"),
            Span::styled(
                format!("a new row: {id} has no version {version} yet"),
                theme::INFO,
            ),
        ])),
        Some(_) if d.unchanged() => lines.push(Line::from(vec![
            field("writes"),
            Span::styled(
                format!("nothing: {id} {version} is already stored exactly like this"),
                theme::INFO,
            ),
        ])),
        Some(e) => {
            lines.push(Line::from(vec![
                field("OVERWRITES"),
                Span::styled(
                    format!(
                        "the stored {id} {version} (hash {}…, created {}, updated {})",
                        short(&e.hash),
                        printable(e.created_at.as_deref().unwrap_or("-")),
                        printable(e.updated_at.as_deref().unwrap_or("-"))
                    ),
                    theme::WARNING,
                ),
            ]));
            lines.push(Line::from(vec![
                field(""),
                Span::styled(
                    format!(
                        "the old row is saved to the trash first: {}   y confirms the overwrite",
                        trash_dir(&d.trash_dir)
                    ),
                    theme::WARNING,
                ),
            ]));
        }
    }
    lines.extend(schema_lines(p));
    lines
}

/// What the ObjectStack schemas (spec 9) say about the document: warnings, each at its path.
fn schema_lines(p: &PreparedPublish) -> Vec<Line<'static>> {
    let spec = crate::registry::schema::SPEC_VERSION;
    if p.schema_warnings.is_empty() {
        return vec![Line::from(vec![
            field("schemas"),
            Span::styled(
                format!("passes the ObjectStack {spec} schemas"),
                theme::INFO,
            ),
        ])];
    }
    let mut lines = vec![Line::from(vec![
        field("schemas"),
        Span::styled(
            format!(
                "{} against the ObjectStack {spec} schemas: the server loads it anyway, \
                 `pkgdeck publish --strict` would refuse it",
                crate::tui::count(p.schema_warnings.len() as u64, "warning")
            ),
            theme::WARNING,
        ),
    ])];
    for w in &p.schema_warnings {
        lines.push(Line::from(vec![
            field(""),
            Span::styled("▲ ", theme::WARNING),
            Span::styled(printable(&w.path).into_owned(), theme::COLUMN_HEADER),
            Span::raw(format!(": {}", printable(&w.message))),
        ]));
    }
    lines
}

/// The boot change, and how a refusal is overridden.
fn boot_lines(d: &PublishReview) -> Vec<Line<'static>> {
    if d.unchanged() {
        return Vec::new();
    }
    let mut lines = vec![Line::raw("")];
    lines.extend(boot_change_lines(
        &d.boot,
        &format!(
            "type the package id {} and press Enter",
            printable(&d.prepared.id)
        ),
    ));
    lines
}

fn diff_lines(d: &PublishReview) -> Vec<Line<'static>> {
    let p = &d.prepared;
    let (Some(base), Some(diff)) = (&d.base, &d.diff) else {
        return vec![Line::styled(
            format!(
                " Diff: {} has no stored version yet; everything is new",
                printable(&p.id)
            ),
            theme::DIM,
        )];
    };
    let against = if d.existing.is_some() {
        "the version it replaces"
    } else {
        "the current latest"
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(" Diff against {} {}", printable(&p.id), printable(base)),
            theme::TITLE,
        ),
        Span::styled(format!(" ({against})"), theme::DIM),
    ])];
    match diff {
        Err(e) => lines.push(Line::styled(
            format!("   {}", printable(&e.to_string())),
            theme::ERROR,
        )),
        Ok(diff) if diff.is_empty() => lines.push(Line::styled(
            "   no differences in the manifest or the metadata",
            theme::DIM,
        )),
        Ok(diff) => package_diff_lines(diff, &mut lines),
    }
    lines
}

fn result_lines(
    d: &PublishReview,
    result: &Result<Box<PublishReport>, JobError>,
) -> Vec<Line<'static>> {
    let p = &d.prepared;
    let what = format!("{} {}", printable(&p.id), printable(&p.version));
    let ok = theme::badge(Badge::Ok);
    let report = match result {
        Err(e) => {
            return vec![
                Line::styled(
                    format!(" ✗ not published: {}", printable(&e.to_string())),
                    theme::ERROR,
                ),
                Line::styled(
                    " nothing was written; Esc goes back to the editor with your text",
                    theme::DIM,
                ),
            ]
        }
        Ok(r) => r,
    };
    let o = &report.outcome;
    let mut lines = vec![if o.unchanged {
        Line::styled(
            format!(" = {what} was already stored exactly like this: nothing written"),
            ok,
        )
    } else {
        Line::styled(
            format!(" ✓ published {what} · hash {}", printable(&o.hash)),
            ok,
        )
    }];
    if let Some(old) = &o.replaced {
        lines.push(Line::styled(
            format!(
                "   it replaced hash {}…; the old row was saved to {}",
                short(&old.hash),
                o.trash_file.as_ref().map_or_else(
                    || "the trash".into(),
                    |f| printable(&f.display().to_string()).into_owned()
                )
            ),
            theme::WARNING,
        ));
    }
    match &report.readback {
        Ok(read) if read.ok() && read.verification.warnings.is_empty() => lines.push(Line::styled(
            " ✓ read back and verified: ok (the stored row is exactly what was published, \
             and its hash matches)",
            ok,
        )),
        Ok(read) => {
            let (v, exact) = (&read.verification, read.exact);
            let mut codes: Vec<&str> = integrity::codes(v);
            if !exact {
                codes.push("not what was published");
            }
            lines.push(Line::styled(
                format!(" ✗ read back and verified: FAIL ({})", codes.join(", ")),
                theme::ERROR,
            ));
            for detail in &v.details {
                lines.push(Line::styled(
                    format!("   • {}", printable(detail)),
                    theme::ERROR,
                ));
            }
            if !exact {
                lines.push(Line::styled(
                    "   • the stored texts or hash differ from the published ones (another \
                     writer?)",
                    theme::ERROR,
                ));
            }
        }
        Err(e) => lines.push(Line::styled(
            format!(" ✗ read back: {}", printable(&e.to_string())),
            theme::ERROR,
        )),
    }
    lines
}

impl Component for Review {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        match self.state {
            State::Ready if self.guarded() => vec![&TYPED, &SCROLL],
            State::Ready => vec![&READY, &SCROLL],
            State::Publishing => vec![&PUBLISHING],
            State::Done(_) => vec![&DONE, &SCROLL],
        }
    }

    /// While a guard refuses the publish, letters are the package id being typed.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        if !matches!(self.state, State::Ready) || !self.guarded() {
            return None;
        }
        match event.code {
            KeyCode::Char(c) if !event.modifiers.intersects(KeyModifiers::CONTROL) => {
                self.typed.push(c);
                Some(Outcome::Done)
            }
            KeyCode::Backspace => {
                self.typed.pop();
                Some(Outcome::Done)
            }
            _ => keys::lookup(&[&TYPED, &SCROLL], event).map(|a| self.handle(a, page)),
        }
    }

    fn handle(&mut self, action: Action, page: usize) -> Outcome {
        let last = self.lines().len().saturating_sub(1);
        match (&self.state, action) {
            (State::Ready, Action::Confirm) if self.guarded() => {
                if self.typed == self.data.prepared.id {
                    self.publish(Allow::EVERYTHING)
                } else {
                    let typed = std::mem::take(&mut self.typed);
                    Outcome::All(vec![
                        Outcome::Back,
                        Outcome::Say(crate::tui::message::Message::info(format!(
                            "nothing published: you typed {typed:?}, not the package id {}",
                            self.data.prepared.id
                        ))),
                    ])
                }
            }
            (State::Ready, Action::Confirm) => self.publish(Allow::NOTHING),
            (State::Ready, Action::Back) => Outcome::Back,
            // Published: the editor's text is in the registry now, close both.
            (State::Done(Ok(_)), Action::Back) => Outcome::CloseAll,
            // Not published: back to the editor, text intact.
            (State::Done(Err(_)), Action::Back) => Outcome::Back,
            (State::Publishing, _) => Outcome::Done,
            (_, a) => {
                self.scroll = match a {
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
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let lines = self.lines();
        frame.render_widget(Clear, area);
        let visible = area.height.saturating_sub(2) as usize;
        let scroll = self.scroll.min(lines.len().saturating_sub(visible));
        let position = if lines.len() > visible {
            format!(" line {} of {} ", scroll + 1, lines.len())
        } else {
            String::new()
        };
        let name = format!(
            " Review: {} {} ",
            printable(&self.data.prepared.id),
            printable(&self.data.prepared.version)
        );
        let block = Block::bordered()
            .title(Line::styled(
                title(&name, &position, area.width),
                theme::TITLE,
            ))
            .title(Line::styled(position, theme::DIM).right_aligned());
        let end = (scroll + visible).min(lines.len());
        let width = usize::from(area.width.saturating_sub(2));
        frame.render_widget(
            Paragraph::new(Text::from(fit_lines(&lines[scroll..end], width))).block(block),
            area,
        );
    }
}
