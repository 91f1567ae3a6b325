//! The one confirm dialog. Every question the console asks before it changes something goes
//! through [`Confirm`]: deletes (the operator types the version or the package id; anything
//! else cancels), restoring a trash file, promoting a version and discarding the editor's
//! text (`y`/`n`), copying a version across two registries. The constructors say exactly what goes, where it goes and what the
//! ObjectStack server would load instead; when a guard of spec 8.4 refuses the write, the
//! operator overrides it by typing the package id. The component draws and answers them all
//! the same way.

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::boot::boot_change_lines;
use super::centered;
use super::layout::title;
use crate::registry::trash::TrashEntry;
use crate::registry::{Allow, BootEffect, CopyOptions, DeletePlan, PromotePlan, RestorePlan};
use crate::tui::component::{Component, Context, Outcome};
use crate::tui::keys::{self, lookup, Action, Binding, Key, KeyGroup};
use crate::tui::message::Message;
use crate::tui::protocol::{CopyPlan, Request};
use crate::tui::theme;
use crate::tui::{count, file_name};
use crate::untrusted::printable;

const TYPED: KeyGroup = KeyGroup {
    title: "Confirm",
    bindings: &[
        Binding {
            keys: &[Key::Code(KeyCode::Enter)],
            shown: "Enter",
            does: "go ahead if what you typed matches, else cancel",
            hint: Some("Enter confirm"),
            action: Action::Confirm,
        },
        keys::cancel("cancel"),
    ],
};

const YES_NO: KeyGroup = KeyGroup {
    title: "Confirm",
    bindings: &[
        Binding {
            keys: &[Key::Char('y'), Key::Char('Y')],
            shown: "y",
            does: "yes, go ahead",
            hint: Some("y yes"),
            action: Action::Confirm,
        },
        Binding {
            keys: &[Key::Char('n'), Key::Char('N'), Key::Code(KeyCode::Esc)],
            shown: "n Esc",
            does: "no, cancel",
            hint: Some("n/Esc no"),
            action: Action::Back,
        },
    ],
};

/// How many rows a delete dialog lists before it says "and N more".
const LISTED_ROWS: usize = 12;

/// How the operator says yes.
enum Answer {
    /// By typing this exact text (the version, or the package id) and pressing Enter.
    Typed {
        expected: String,
        what: &'static str,
        /// What Enter does once it matches ("delete", "go ahead").
        verb: &'static str,
    },
    YesNo,
}

/// How a write's dialog is answered: a guard problem (spec 8.4) is overridden by typing the
/// package id, and then the write is sent with every guard allowed; else `plain`.
fn guarded(effect: &BootEffect, id: &str, plain: Answer) -> (Answer, Allow) {
    if effect.problems.is_empty() {
        (plain, Allow::NOTHING)
    } else {
        (
            Answer::Typed {
                expected: id.to_owned(),
                what: "the package id",
                verb: "override the guard and go ahead",
            },
            Allow::EVERYTHING,
        )
    }
}

/// The dialog lines about the server's boot, with how to override a refusal.
fn boot_lines(effect: &BootEffect, id: &str) -> Vec<Line<'static>> {
    let mut lines = vec![Line::raw("")];
    lines.extend(boot_change_lines(
        effect,
        &format!("type the package id {} below", printable(id)),
    ));
    lines
}

/// What yes does.
enum OnYes {
    Request(Request),
    /// A write on a production connection, confirmed: it goes to the worker as it is.
    Write(Request),
    /// Close the dialog and the editor under it, dropping its text (and the draft file it
    /// came from).
    Discard(Option<PathBuf>),
}

pub struct Confirm {
    title: String,
    body: Vec<Line<'static>>,
    answer: Answer,
    typed: String,
    on_yes: Option<OnYes>,
    /// The footer message when the operator backs out ("nothing deleted").
    nothing: &'static str,
}

impl Confirm {
    /// Deleting the rows of `plan`: one version (`version` given; the operator types it) or
    /// every version of `id` (the operator types the id).
    pub fn delete(id: &str, version: Option<&str>, plan: &DeletePlan) -> Confirm {
        let n = plan.rows.len();
        let rows = count(n as u64, "row");
        let id_shown = printable(id).into_owned();
        let mut body = vec![Line::from(vec![
            Span::raw("This deletes "),
            Span::styled(rows, theme::WARNING),
            Span::raw(format!(" from {}: ", printable(&plan.target))),
            Span::styled(
                match version {
                    Some(v) => format!("version {} of {id_shown}", printable(v)),
                    None => format!("every version of {id_shown}"),
                },
                theme::WARNING,
            ),
        ])];
        for r in plan.rows.iter().take(LISTED_ROWS) {
            body.push(Line::from(vec![
                Span::raw("   "),
                Span::styled(
                    format!("{:<14}", printable(&r.version)),
                    theme::COLUMN_HEADER,
                ),
                Span::styled(
                    format!(
                        " created {}  hash {}…{}{}",
                        printable(r.created_at.as_deref().unwrap_or("-")),
                        printable(r.hash.get(..12).unwrap_or(&r.hash)),
                        if r.latest { "  (latest)" } else { "" },
                        if r.served { "  (served)" } else { "" }
                    ),
                    theme::HINT,
                ),
            ]));
        }
        if n > LISTED_ROWS {
            body.push(Line::styled(
                format!("   … and {} more", n - LISTED_ROWS),
                theme::HINT,
            ));
        }
        body.push(Line::raw(""));
        body.push(Line::from(vec![
            Span::raw(if n == 1 {
                "It goes to the trash first: "
            } else {
                "They go to the trash first: "
            }),
            Span::styled(trash_dir(&plan.trash_dir), theme::TITLE),
        ]));
        body.push(Line::styled(
            "(t opens the trash, where a file puts its rows back exactly)",
            theme::HINT,
        ));
        body.extend(boot_lines(&plan.boot, id));
        let (expected, what) = match version {
            Some(v) => (v.to_owned(), "the version"),
            None => (id.to_owned(), "the package id"),
        };
        let plain = Answer::Typed {
            expected,
            what,
            verb: "delete",
        };
        let (answer, allow) = guarded(&plan.boot, id, plain);
        Confirm {
            title: match version {
                Some(v) => format!(" Delete {id_shown} {} ", printable(v)),
                None => format!(" Delete every version of {id_shown} "),
            },
            body,
            answer,
            typed: String::new(),
            on_yes: Some(OnYes::Request(Request::Delete {
                id: id.to_owned(),
                version: version.map(str::to_owned),
                rows: plan.records.clone(),
                allow,
            })),
            nothing: "nothing deleted",
        }
    }

    /// Putting the rows of a trash file back into the registry `target`: `plan` says which
    /// rows go back (those not already there) and what the server would load then.
    pub fn restore(entry: &TrashEntry, target: &str, plan: &RestorePlan) -> Confirm {
        let rows = &entry.file.rows;
        let mut body = vec![Line::raw(format!(
            "Restore {} from the trash file {}",
            count(rows.len() as u64, "row"),
            file_name(&entry.path),
        ))];
        body.push(Line::styled(
            format!(
                "(saved {} by {} from {}):",
                printable(&entry.file.saved_at),
                printable(&entry.file.action),
                printable(&entry.file.target)
            ),
            theme::HINT,
        ));
        for r in rows.iter().take(LISTED_ROWS) {
            body.push(Line::from(vec![
                Span::raw("   "),
                Span::styled(
                    format!("{} {}", printable(&r.id), printable(&r.version)),
                    theme::COLUMN_HEADER,
                ),
                Span::styled(
                    format!("  hash {}…", printable(r.hash.get(..12).unwrap_or(&r.hash))),
                    theme::HINT,
                ),
            ]));
        }
        if rows.len() > LISTED_ROWS {
            body.push(Line::styled(
                format!("   … and {} more", rows.len() - LISTED_ROWS),
                theme::HINT,
            ));
        }
        body.push(Line::raw(""));
        body.push(Line::raw(format!(
            "into {}, with their texts, hash and timestamps exactly as saved.",
            printable(target)
        )));
        body.push(Line::styled(
            "Rows already there unchanged are skipped; a different row at the same version \
             refuses the whole restore.",
            theme::HINT,
        ));
        let id = rows.first().map(|r| r.id.as_str()).unwrap_or_default();
        body.extend(boot_lines(&plan.boot, id));
        if let Some(refused) = &plan.refused {
            body.push(Line::raw(""));
            body.push(Line::styled(
                format!("pkgdeck will refuse this restore: {}", printable(refused)),
                theme::ERROR,
            ));
        }
        let (answer, allow) = guarded(&plan.boot, id, Answer::YesNo);
        Confirm {
            title: " Restore from the trash ".into(),
            body,
            answer,
            typed: String::new(),
            on_yes: Some(OnYes::Request(Request::Restore {
                path: entry.path.clone(),
                allow,
            })),
            nothing: "nothing restored",
        }
    }

    /// Promoting a version (spec 8.5): it is re-inserted as its package's newest row, so the
    /// server answers and loads it.
    pub fn promote(plan: &PromotePlan, target: &str) -> Confirm {
        let r = &plan.row;
        let (id, version) = (
            printable(&r.id).into_owned(),
            printable(&r.version).into_owned(),
        );
        let mut body = vec![
            Line::from(vec![
                Span::raw("Promote "),
                Span::styled(format!("{id} {version}"), theme::WARNING),
                Span::raw(format!(" in {}:", printable(target))),
            ]),
            Line::raw(format!(
                "it is saved to the trash, deleted and inserted again with the same texts and \
                 hash (created {} → now), strictly newer than every other version of {id}, so \
                 the ObjectStack server's get() answers it and its boot loads it.",
                printable(r.created_at.as_deref().unwrap_or("-"))
            )),
        ];
        body.extend(boot_lines(&plan.boot, &r.id));
        let (answer, allow) = guarded(&plan.boot, &r.id, Answer::YesNo);
        Confirm {
            title: format!(" Promote {id} {version} "),
            body,
            answer,
            typed: String::new(),
            on_yes: Some(OnYes::Request(Request::Promote {
                id: r.id.clone(),
                version: r.version.clone(),
                allow,
            })),
            nothing: "nothing promoted",
        }
    }

    /// Copying a version across two registries (spec 11): the exact stored texts and hash,
    /// written at the destination as a publish is (guards, trash, audit, read-back).
    /// `production` is the destination's connection name when it is the compared registry
    /// and a production one.
    pub fn copy(plan: &CopyPlan, to_other: bool, production: Option<String>) -> Confirm {
        let r = &plan.row;
        let review = &plan.step.review;
        let (id, version) = (
            printable(&r.id).into_owned(),
            printable(&r.version).into_owned(),
        );
        let side = |other: bool| if other { "B" } else { "A" };
        let mut body = vec![
            Line::from(vec![
                Span::raw("Copy "),
                Span::styled(format!("{id} {version}"), theme::WARNING),
                Span::raw(format!(
                    " from {} {} to {} {}",
                    side(!to_other),
                    printable(&plan.from),
                    side(to_other),
                    printable(&plan.to)
                )),
            ]),
            Line::styled(
                format!(
                    "the exact stored manifest, metadata and hash {}…, read back and verified there",
                    printable(r.hash.get(..12).unwrap_or(&r.hash))
                ),
                theme::HINT,
            ),
        ];
        if let Some(existing) = review.existing.as_ref().filter(|_| review.overwrites()) {
            body.push(Line::raw(""));
            body.push(Line::from(vec![
                Span::styled("It overwrites", theme::ERROR),
                Span::raw(format!(
                    " the row there with other contents (hash {}…); it goes to the trash first: ",
                    printable(existing.hash.get(..12).unwrap_or(&existing.hash))
                )),
                Span::styled(trash_dir(&review.trash_dir), theme::TITLE),
            ]));
        }
        body.extend(boot_lines(&review.boot, &r.id));
        let (answer, allow) = guarded(&review.boot, &r.id, Answer::YesNo);
        Confirm {
            title: format!(" Copy {id} {version} to {} ", side(to_other)),
            body,
            answer,
            typed: String::new(),
            on_yes: Some(OnYes::Request(Request::Copy {
                row: Box::new(r.clone()),
                to_other,
                options: CopyOptions {
                    allow_overwrite: review.overwrites(),
                    allow,
                },
                production,
            })),
            nothing: "nothing copied",
        }
    }

    /// A write on a production connection: the operator types the connection's name.
    pub fn production(name: &str, target: &str, what: &str, write: Request) -> Confirm {
        let body = vec![
            Line::from(vec![
                Span::raw("This registry is "),
                Span::styled("PRODUCTION", theme::PRODUCTION),
                Span::raw(format!(
                    ": the saved connection {} ({}).",
                    printable(name),
                    printable(target)
                )),
            ]),
            Line::from(vec![
                Span::raw("About to "),
                Span::styled(printable(what).into_owned(), theme::WARNING),
                Span::raw(" there."),
            ]),
        ];
        Confirm {
            title: format!(" PRODUCTION: {} ", printable(what)),
            body,
            answer: Answer::Typed {
                expected: name.to_owned(),
                what: "the connection name",
                verb: "go ahead",
            },
            typed: String::new(),
            on_yes: Some(OnYes::Write(write)),
            nothing: "nothing written",
        }
    }

    /// Closing the editor with changes nobody has published or saved.
    pub fn discard(what: &str, draft: Option<PathBuf>) -> Confirm {
        Confirm {
            title: " Discard your edits? ".into(),
            body: vec![
                Line::raw(format!(
                    "{} has changes that are not published and not saved anywhere.",
                    printable(what)
                )),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", theme::HINT_KEY),
                    Span::raw(" discards them · "),
                    Span::styled("n", theme::HINT_KEY),
                    Span::raw(" or "),
                    Span::styled("Esc", theme::HINT_KEY),
                    Span::raw(" goes back to the editor, text and cursor as they were"),
                ]),
            ],
            answer: Answer::YesNo,
            typed: String::new(),
            on_yes: Some(OnYes::Discard(draft)),
            nothing: "back in the editor; nothing discarded",
        }
    }

    /// The text typed so far (typed dialogs).
    pub fn typed(&self) -> &str {
        &self.typed
    }

    fn yes(&mut self) -> Outcome {
        match self.on_yes.take() {
            Some(OnYes::Request(r)) => Outcome::All(vec![Outcome::Back, Outcome::Request(r)]),
            Some(OnYes::Write(r)) => Outcome::All(vec![Outcome::Back, Outcome::Write(r)]),
            Some(OnYes::Discard(draft)) => {
                let mut all = vec![
                    Outcome::Back,
                    Outcome::Back,
                    Outcome::Say(Message::info("edits discarded")),
                ];
                if let Some(path) = draft {
                    all.push(Outcome::Request(Request::DiscardDraft { path }));
                }
                Outcome::All(all)
            }
            None => Outcome::Back,
        }
    }

    fn cancel(&self, why: String) -> Outcome {
        Outcome::All(vec![Outcome::Back, Outcome::Say(Message::info(why))])
    }
}

impl Component for Confirm {
    fn keys(&self) -> Vec<&'static KeyGroup> {
        match self.answer {
            Answer::Typed { .. } => vec![&TYPED],
            Answer::YesNo => vec![&YES_NO],
        }
    }

    /// A typed dialog takes every key: letters are what the operator types.
    fn input(&mut self, event: &KeyEvent, page: usize) -> Option<Outcome> {
        if let Answer::YesNo = self.answer {
            return None;
        }
        if let Some(action) = lookup(&[&TYPED], event) {
            return Some(self.handle(action, page));
        }
        match event.code {
            KeyCode::Char(c)
                if !event
                    .modifiers
                    .intersects(crossterm::event::KeyModifiers::CONTROL) =>
            {
                self.typed.push(c);
            }
            KeyCode::Backspace => {
                self.typed.pop();
            }
            _ => {}
        }
        Some(Outcome::Done)
    }

    fn handle(&mut self, action: Action, _page: usize) -> Outcome {
        match (action, &self.answer) {
            (Action::Confirm, Answer::YesNo) => self.yes(),
            (Action::Confirm, Answer::Typed { expected, what, .. }) => {
                if &self.typed == expected {
                    self.yes()
                } else if self.typed.is_empty() {
                    self.cancel(format!("{}: nothing was typed", self.nothing))
                } else {
                    self.cancel(format!(
                        "{}: you typed {:?}, not {what} {}",
                        self.nothing, self.typed, expected
                    ))
                }
            }
            (Action::Back, _) => self.cancel(format!("cancelled: {}", self.nothing)),
            _ => Outcome::Done,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &Context) {
        let mut lines = self.body.clone();
        match &self.answer {
            Answer::Typed {
                expected,
                what,
                verb,
            } => {
                lines.push(Line::raw(""));
                lines.push(Line::from(vec![
                    Span::raw(format!("Type {what} ")),
                    Span::styled(printable(expected).into_owned(), theme::WARNING),
                    Span::raw(format!(
                        " and press Enter to {verb}. Anything else cancels; Esc cancels."
                    )),
                ]));
                lines.push(Line::from(vec![
                    Span::styled("> ", theme::HINT_KEY),
                    Span::raw(printable(&self.typed).into_owned()),
                    Span::styled("█", theme::HINT_KEY),
                ]));
            }
            Answer::YesNo => {
                if !matches!(self.on_yes, Some(OnYes::Discard(_))) {
                    lines.push(Line::raw(""));
                    lines.push(Line::from(vec![
                        Span::styled("y", theme::HINT_KEY),
                        Span::raw(" goes ahead · "),
                        Span::styled("n", theme::HINT_KEY),
                        Span::raw(" or "),
                        Span::styled("Esc", theme::HINT_KEY),
                        Span::raw(" cancels"),
                    ]));
                }
            }
        }
        let width = area.width.saturating_sub(8).min(110);
        let inner_width = width.saturating_sub(4).max(1) as usize;
        // Wrapped height: every line counts the rows it takes at this width.
        let height: usize = lines
            .iter()
            .map(|l| l.width().max(1).div_ceil(inner_width))
            .sum();
        let popup = centered(area, width, height as u16 + 2);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(Line::styled(title(&self.title, "", width), theme::WARNING))
            .border_style(theme::WARNING)
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

/// A directory as the dialogs show it, with the trailing slash that says "a folder".
pub fn trash_dir(dir: &Path) -> String {
    let shown = printable(&dir.display().to_string()).into_owned();
    if shown.ends_with('/') {
        shown
    } else {
        format!("{shown}/")
    }
}
