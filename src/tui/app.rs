//! The console's one state and its update functions. A key becomes an [`Action`]; an action
//! changes the state and may queue [`Job`]s for the worker; a worker [`Response`] changes the
//! state again. Nothing here touches the terminal or the registry, so tests drive it with
//! key events and read what it draws.
//!
//! Writes follow the same path: `p`/`h` open the editor (on a file the worker read, or on
//! the version the worker exported), its review and the publish are worker jobs, and so are
//! the plans behind the confirm dialogs (delete, restore, promote: each rehearsed, with what
//! the ObjectStack server would load then), the writes themselves and a connection switch.
//! In read-only mode the write actions stop here, with a message, before any dialog.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crossterm::event::KeyEvent;

use super::component::Outcome;
use super::integrity::{self, Integrity};
use super::keys::{self, Action, KeyGroup};
use super::message::{Message, MessageKind};
use super::protocol::{Job, JobError, Reply, Request, Response, Ticket};
use super::screens::editor::Origin;
use super::screens::{
    BootScreen, Confirm, ConnectionPicker, Editor, Help, Modal, PackagesScreen, PathPrompt, Review,
    Screen, TrashScreen, VerifyRun,
};
use super::worker::WorkerError;
use crate::registry::{
    BootChange, DeleteReport, PackageRecord, PublishReview, RegistryError, Scope, VerifyReport,
};

/// Rows of the screen that are not list rows (header, footer, borders, column titles).
const CHROME_ROWS: u16 = 8;

pub struct App {
    target: String,
    read_only: bool,
    counts: Option<(u64, u64)>,
    /// Never empty: the Packages screen is at the bottom.
    screens: Vec<Screen>,
    /// Overlays, the top one last: it takes the keys.
    modals: Vec<Modal>,
    /// Where publish paths are relative to.
    cwd: PathBuf,
    integrity: Integrity,
    message: Option<Message>,
    /// Jobs sent and not answered yet, with what they do, for the spinner.
    in_flight: Vec<(Ticket, String)>,
    outbox: Vec<Job>,
    next_ticket: Ticket,
    spinner: usize,
    size: (u16, u16),
    quit: bool,
}

impl App {
    /// The console on `target` (already masked), with the first loads queued.
    pub fn new(target: &str, read_only: bool) -> App {
        let mut app = App {
            target: target.to_owned(),
            read_only,
            counts: None,
            screens: Vec::new(),
            modals: Vec::new(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            integrity: Integrity::default(),
            message: None,
            in_flight: Vec::new(),
            outbox: Vec::new(),
            next_ticket: 1,
            spinner: 0,
            size: (80, 24),
            quit: false,
        };
        // The list first: the worker answers in order, and the rows matter more than the
        // header's counts.
        app.push(Screen::Packages(PackagesScreen::default()));
        app.dispatch(Request::Counts);
        app
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn counts(&self) -> Option<(u64, u64)> {
        self.counts
    }

    pub fn screens(&self) -> &[Screen] {
        &self.screens
    }

    pub fn screen(&self) -> &Screen {
        self.screens
            .last()
            .expect("the Packages screen is never popped")
    }

    fn screen_mut(&mut self) -> &mut Screen {
        self.screens
            .last_mut()
            .expect("the Packages screen is never popped")
    }

    /// The top overlay.
    pub fn modal(&self) -> Option<&Modal> {
        self.modals.last()
    }

    /// Every open overlay, bottom first (the order they are drawn in).
    pub fn modals(&self) -> &[Modal] {
        &self.modals
    }

    /// Sets the directory publish paths are relative to.
    pub fn set_cwd(&mut self, cwd: PathBuf) {
        self.cwd = cwd;
    }

    /// The editor's text when it holds changes nobody published, with what it is: the
    /// console keeps it as a draft when it is quit (Ctrl-C) with the editor open.
    pub fn unsaved_edits(&self) -> Option<(String, String)> {
        self.modals.iter().find_map(|m| match m {
            Modal::Editor(e) if e.modified() => Some((e.origin().describe(), e.text())),
            _ => None,
        })
    }

    pub fn integrity(&self) -> &Integrity {
        &self.integrity
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether any job is still unanswered.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// What the oldest unanswered job does, and the spinner frame, while something runs.
    pub fn activity(&self) -> Option<(char, &str)> {
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let (_, what) = self.in_flight.first()?;
        Some((FRAMES[self.spinner % FRAMES.len()], what))
    }

    /// The ticket of the verify-all that the overlay shows, if one is open.
    pub fn verify_ticket(&self) -> Option<Ticket> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Verify(v) => Some(v.ticket()),
            _ => None,
        })
    }

    /// Advances the spinner, and sends a large document in the editor for validation once
    /// typing paused; the loop calls it while waiting.
    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
        let due = self.editor_mut().and_then(|e| e.due(Instant::now()));
        if let Some(request) = due {
            self.dispatch(request);
        }
    }

    fn editor_mut(&mut self) -> Option<&mut Editor> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Editor(e) => Some(e.as_mut()),
            _ => None,
        })
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
    }

    /// List rows on one page, for PgUp/PgDn.
    fn page(&self) -> usize {
        self.size.1.saturating_sub(CHROME_ROWS).max(1) as usize
    }

    /// The jobs queued since the last call, for the worker.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.outbox)
    }

    /// The worker is gone: nothing more will be answered.
    pub fn worker_stopped(&mut self, error: &WorkerError) {
        self.in_flight.clear();
        self.error(error.to_string());
    }

    /// The key groups that apply right now, most specific first (also the footer hints).
    pub fn key_groups(&self) -> Vec<&'static KeyGroup> {
        if let Some(m) = self.modals.last() {
            return m.component().keys();
        }
        let screen = self.screen().component();
        if screen.list().is_some_and(|l| l.editing()) {
            return vec![&keys::FILTER_EDIT];
        }
        let mut groups = screen.keys();
        groups.push(&keys::GLOBAL);
        groups
    }

    pub fn on_key(&mut self, event: KeyEvent) {
        if keys::is_interrupt(&event) {
            self.quit = true;
            return;
        }
        let page = self.page();
        let from_modal = !self.modals.is_empty();
        let taken = match self.modals.last_mut() {
            Some(modal) => modal.component_mut().input(&event, page),
            None => self.screen_mut().component_mut().input(&event, page),
        };
        match taken {
            Some(outcome) => self.carry_out(outcome, from_modal),
            None => {
                if let Some(action) = keys::lookup(&self.key_groups(), &event) {
                    self.update(action);
                }
            }
        }
    }

    /// Carries out one action on the current overlay, else the current screen. A write in
    /// read-only mode stops here, before any editor or dialog opens.
    pub fn update(&mut self, action: Action) {
        if action == Action::Quit {
            self.quit = true;
            return;
        }
        if let Some(write) = action.write().filter(|_| self.read_only) {
            self.message = Some(Message::error(format!(
                "read-only: {write} refused (the console was opened with --read-only); \
                 nothing was changed"
            )));
            return;
        }
        let page = self.page();
        if let Some(modal) = self.modals.last_mut() {
            let outcome = modal.component_mut().handle(action, page);
            return self.carry_out(outcome, true);
        }
        let outcome = match action {
            Action::Help => {
                let screen = self.screen().name();
                let mut groups = self.screen().component().keys();
                groups.push(&keys::GLOBAL);
                Outcome::Overlay(Modal::Help(Help::new(screen, groups, self.read_only)))
            }
            Action::VerifyAll => return self.verify_all(),
            Action::Refresh => return self.refresh(),
            Action::Publish => {
                Outcome::Overlay(Modal::Prompt(Box::new(PathPrompt::new(self.cwd.clone()))))
            }
            Action::Trash => match self.screen() {
                Screen::Trash(_) => Outcome::Done,
                _ => Outcome::Push(Screen::Trash(TrashScreen::new(&self.target))),
            },
            Action::Boot => match self.screen() {
                Screen::Boot(_) => Outcome::Done,
                _ => Outcome::Push(Screen::Boot(BootScreen::default())),
            },
            Action::Connections => Outcome::Request(Request::Connections),
            _ => self.screen_mut().component_mut().handle(action, page),
        };
        self.carry_out(outcome, false);
    }

    fn carry_out(&mut self, outcome: Outcome, from_modal: bool) {
        match outcome {
            Outcome::Done => {}
            Outcome::Back if from_modal => {
                self.modals.pop();
            }
            Outcome::Back => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                }
            }
            Outcome::Push(screen) => {
                self.modals.clear();
                self.push(screen);
            }
            Outcome::Request(r) => self.dispatch(r),
            Outcome::Overlay(modal) => self.modals.push(modal),
            Outcome::CloseAll => self.modals.clear(),
            Outcome::Say(message) => self.message = Some(message),
            Outcome::All(outcomes) => {
                for o in outcomes {
                    self.carry_out(o, from_modal);
                }
            }
        }
    }

    /// Takes one answer from the worker.
    pub fn apply(&mut self, response: Response) {
        if response.last {
            self.in_flight.retain(|(t, _)| *t != response.ticket);
        }
        match response.reply {
            Reply::Counts(Ok(c)) => self.counts = Some(c),
            Reply::Counts(Err(e)) => self.error(e.to_string()),
            Reply::Packages { rows, first, done } => {
                if let Err(e) = &rows {
                    self.error(e.to_string());
                }
                if let Some(Screen::Packages(p)) = self.screens.first_mut() {
                    p.receive(rows, first, done);
                }
            }
            Reply::Versions { id, rows } => {
                if let Err(e) = &rows {
                    self.error(e.to_string());
                }
                if let Some(s) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Versions(v) if v.id() == id => Some(v),
                    _ => None,
                }) {
                    s.receive(rows);
                }
            }
            Reply::Record {
                id,
                version,
                record,
            } => {
                match &record {
                    Ok(r) => self.integrity.record(&r.verification),
                    Err(e) => self.error(e.to_string()),
                }
                if let Some(s) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Detail(d) if d.id() == id && d.version() == version => Some(d),
                    _ => None,
                }) {
                    s.receive(record);
                }
            }
            Reply::Progress { progress, elapsed } => {
                if let Some(v) = self.verify_run(response.ticket) {
                    v.progress(progress, elapsed);
                }
            }
            Reply::Verified {
                scope,
                report,
                elapsed,
            } => {
                if let Ok(r) = &report {
                    self.integrity.apply(&scope, r);
                }
                match self.verify_run(response.ticket) {
                    Some(v) => v.finish(report, elapsed),
                    None => match report {
                        Ok(r) => self.message = Some(verify_message(&scope, &r)),
                        Err(e) => self.error(e.to_string()),
                    },
                }
            }
            Reply::FileRead { path, text } => match text {
                Ok(text) => {
                    self.message = Some(Message::info(format!(
                        "editing {}: Ctrl-S reviews the publish once the document is valid",
                        path.display()
                    )));
                    self.open_editor(Editor::new(Origin::File(path), &text));
                }
                Err(e) => self.error(format!("nothing opened: {e}")),
            },
            Reply::Validated {
                generation,
                validation,
            } => {
                if let Some(e) = self.editor_mut() {
                    e.validated(generation, validation);
                }
            }
            Reply::HotfixSource {
                id,
                version,
                source,
            } => self.open_hotfix(id, version, source),
            Reply::Review { hash, review } => self.reviewed(&hash, review),
            Reply::Published { hash, report } => {
                let review = self.modals.iter_mut().rev().find_map(|m| match m {
                    Modal::Review(r) if r.hash() == hash => Some(r),
                    _ => None,
                });
                let published = report.is_ok();
                let message = match &report {
                    Ok(r) if r.outcome.unchanged => Message::info(format!(
                        "{} {} was already stored exactly like this: nothing written",
                        r.outcome.id, r.outcome.version
                    )),
                    Ok(r) => match &r.readback {
                        Ok(read) if read.ok() => Message::info(format!(
                            "published {} {}; read back and verified: ok{}",
                            r.outcome.id,
                            r.outcome.version,
                            boot_summary(&r.outcome.boot)
                                .map(|b| format!("; {b}"))
                                .unwrap_or_default()
                        )),
                        _ => Message::error(format!(
                            "published {} {}, but reading it back found a problem (see the review)",
                            r.outcome.id, r.outcome.version
                        )),
                    },
                    Err(e) => Message::error(format!("not published: {e}")),
                };
                if let Some(r) = review {
                    r.finish(report);
                }
                if published {
                    self.reload();
                }
                self.message = Some(message);
            }
            Reply::DeletePlan { id, version, plan } => match plan {
                // A dialog opens only over a screen: the operator may have moved on.
                Ok(plan) if self.modals.is_empty() => {
                    let confirm = Confirm::delete(&id, version.as_deref(), &plan);
                    self.message = None;
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                }
                Ok(_) => {}
                // The screen showed it, so it went away since.
                Err(e) if matches!(e.registry(), Some(RegistryError::NotFound { .. })) => self
                    .error(match &version {
                        Some(v) => {
                            format!("nothing deleted: {id} {v} is not in the registry any more")
                        }
                        None => format!(
                            "nothing deleted: {id} has no versions in the registry any more"
                        ),
                    }),
                Err(e) => self.error(format!("nothing deleted: {e}")),
            },
            Reply::Deleted {
                id,
                version: _,
                report,
            } => match report {
                Ok(r) => self.deleted(&id, r),
                Err(e) => self.error(format!("delete failed: {e}")),
            },
            Reply::Trash { dir, entries } => {
                if let Err(e) = &entries {
                    self.error(e.to_string());
                }
                if let Some(t) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Trash(t) => Some(t),
                    _ => None,
                }) {
                    t.receive(dir, entries);
                }
            }
            Reply::RestorePlan { path, plan } => match plan {
                Ok(plan) if self.modals.is_empty() => {
                    let dialog = self.screens.iter().rev().find_map(|s| match s {
                        Screen::Trash(t) => t.restore_dialog(&path, &plan),
                        _ => None,
                    });
                    if let Some(dialog) = dialog {
                        self.message = None;
                        self.modals.push(Modal::Confirm(Box::new(dialog)));
                    }
                }
                Ok(_) => {}
                Err(e) => self.error(format!("restore refused, nothing changed: {e}")),
            },
            Reply::Restored { path, report } => match report {
                Ok(report) => {
                    let mut message = restored_message(&path, &report.restored);
                    if let Some(boot) = boot_summary(&report.boot) {
                        message.text.push_str(&format!("; {boot}"));
                    }
                    self.message = Some(message);
                    self.reload();
                }
                Err(e) => self.error(format!("restore refused, nothing changed: {e}")),
            },
            Reply::Boot(report) => {
                if let Err(e) = &report {
                    self.error(e.to_string());
                }
                if let Some(b) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Boot(b) => Some(b),
                    _ => None,
                }) {
                    b.receive(report);
                }
            }
            Reply::PromotePlan { id, version, plan } => match plan {
                Ok(plan) if self.modals.is_empty() => {
                    self.message = None;
                    self.modals.push(Modal::Confirm(Box::new(Confirm::promote(
                        &plan,
                        &self.target,
                    ))));
                }
                Ok(_) => {}
                Err(e) => self.error(format!("nothing promoted: {id} {version}: {e}")),
            },
            Reply::Promoted {
                id,
                version,
                outcome,
            } => match outcome {
                Ok(o) => {
                    let mut text = format!(
                        "promoted {id} {version}: it is now the newest row (created {}), so the \
                         server serves and loads it; the old row was saved to {}",
                        o.created_at.as_deref().unwrap_or("-"),
                        o.trash_file.display()
                    );
                    if let Some(boot) = boot_summary(&o.boot) {
                        text.push_str(&format!("; {boot}"));
                    }
                    self.message = Some(Message::info(text));
                    self.reload();
                }
                Err(e) => self.error(format!("not promoted: {e}")),
            },
            Reply::Connections(listed) => match listed {
                Ok(c) if self.modals.is_empty() => {
                    self.modals
                        .push(Modal::Connections(Box::new(ConnectionPicker::new(
                            &self.target,
                            c,
                        ))))
                }
                Ok(_) => {}
                Err(e) => self.error(e.to_string()),
            },
            Reply::Connected { name, target } => match target {
                Ok(target) => self.connected(&name, target),
                Err(e) => self.error(format!(
                    "cannot switch to {name}: {e}; still on {}",
                    self.target
                )),
            },
        }
    }

    fn verify_run(&mut self, ticket: Ticket) -> Option<&mut VerifyRun> {
        self.modals.iter_mut().find_map(|m| match m {
            Modal::Verify(v) if v.ticket() == ticket => Some(v.as_mut()),
            _ => None,
        })
    }

    fn open_editor(&mut self, mut editor: Editor) {
        if let Some(request) = editor.pending() {
            self.dispatch(request);
        }
        self.modals.push(Modal::Editor(Box::new(editor)));
    }

    fn open_hotfix(
        &mut self,
        id: String,
        version: String,
        source: Result<(String, Option<String>), JobError>,
    ) {
        let (text, bumped) = match source {
            Ok(b) => b,
            Err(e) => return self.error(format!("cannot hotfix {id} {version}: {e}")),
        };
        self.message = Some(match &bumped {
            Some(to) => Message::info(format!(
                "hotfix of {id} {version}: manifest.version is now {to} (the next free patch \
                 version); edit, then Ctrl-S to review"
            )),
            None => Message::warning(format!(
                "hotfix of {id} {version}: the version is not MAJOR.MINOR.PATCH, so it was not \
                 bumped; set manifest.version by hand"
            )),
        });
        let origin = Origin::Hotfix {
            id,
            from: version,
            to: bumped,
        };
        self.open_editor(Editor::new(origin, &text));
    }

    /// The worker's review: it opens over the editor that asked for it, if that editor is
    /// still on top with the same document.
    fn reviewed(&mut self, hash: &str, review: Result<Box<PublishReview>, JobError>) {
        let asked = match self.modals.last_mut() {
            Some(Modal::Editor(e)) if e.reviewing() == Some(hash) => {
                e.review_answered();
                true
            }
            _ => {
                if let Some(e) = self.editor_mut() {
                    e.review_answered();
                }
                false
            }
        };
        match review {
            Ok(data) if asked => {
                self.message = Some(if !data.unchanged() && !data.boot.problems.is_empty() {
                    Message::error(format!(
                        "review: this publish would break what the ObjectStack server loads; \
                         type {} and Enter to publish anyway, Esc goes back",
                        data.prepared.id
                    ))
                } else if data.overwrites() {
                    Message::info(
                        "review: this publish OVERWRITES a stored row; y confirms, n goes back",
                    )
                } else {
                    Message::info("review: y publishes, n goes back to the editor")
                });
                self.modals.push(Modal::Review(Box::new(Review::new(data))));
            }
            Ok(_) => {}
            Err(e) => self.error(format!("cannot review: {e}")),
        }
    }

    fn deleted(&mut self, id: &str, r: DeleteReport) {
        let gone: Vec<&str> = r
            .outcome
            .deleted
            .iter()
            .map(|row| row.version.as_str())
            .collect();
        let rows = super::count(gone.len() as u64, "row");
        let mut text = format!("deleted {rows} of {id} ({})", gone.join(", "));
        if let Some(file) = &r.outcome.trash_file {
            text.push_str(&format!("; saved in the trash: {}", file.display()));
        }
        if !r.outcome.kept.is_empty() {
            text.push_str(&format!(
                "; {} changed meanwhile and stayed (they are in the trash file too)",
                super::count(r.outcome.kept.len() as u64, "row")
            ));
        }
        // Screens of what is gone close: a deleted version's detail, the whole package's
        // screens when no version is left.
        let deleted: Vec<String> = gone.iter().map(|v| v.to_string()).collect();
        let first_gone = self.screens.iter().position(|s| match s {
            Screen::Detail(d) => d.id() == id && deleted.iter().any(|v| v == d.version()),
            Screen::Versions(v) => v.id() == id && r.remaining == 0,
            _ => false,
        });
        if let Some(at) = first_gone.filter(|&at| at > 0) {
            self.screens.truncate(at);
        }
        if r.remaining == 0 {
            text.push_str(&format!("; {id} has no versions left"));
        }
        if let Some(boot) = boot_summary(&r.outcome.boot) {
            text.push_str(&format!("; {boot}"));
        }
        self.message = Some(if r.outcome.kept.is_empty() {
            Message::info(text)
        } else {
            Message::warning(text)
        });
        self.reload();
    }

    fn connected(&mut self, name: &str, target: String) {
        self.target = target;
        self.modals.clear();
        self.screens.clear();
        self.integrity.clear();
        self.counts = None;
        self.push(Screen::Packages(PackagesScreen::default()));
        self.dispatch(Request::Counts);
        self.message = Some(Message::info(format!(
            "connected to {name}: {}",
            self.target
        )));
    }

    fn error(&mut self, text: String) {
        self.message = Some(Message {
            kind: MessageKind::Error,
            text,
        });
    }

    fn dispatch(&mut self, request: Request) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.in_flight.push((ticket, request.describe()));
        self.outbox.push(Job { ticket, request });
    }

    fn push(&mut self, mut screen: Screen) {
        let load = screen.load();
        self.dispatch(load);
        self.screens.push(screen);
    }

    fn refresh(&mut self) {
        self.reload();
        self.message = Some(Message::info(
            "reloading from the registry; integrity results were cleared",
        ));
    }

    /// Reloads every screen and the counts: after a write, or on request. Integrity results
    /// are forgotten, because the rows may have changed.
    fn reload(&mut self) {
        self.integrity.clear();
        let loads: Vec<Request> = self.screens.iter_mut().map(Screen::load).collect();
        for load in loads {
            self.dispatch(load);
        }
        self.dispatch(Request::Counts);
    }

    fn verify_all(&mut self) {
        let cancel = Arc::new(AtomicBool::new(false));
        let ticket = self.next_ticket;
        self.dispatch(Request::Verify {
            scope: Scope::All,
            cancel: cancel.clone(),
        });
        self.modals
            .push(Modal::Verify(Box::new(VerifyRun::new(ticket, cancel))));
    }
}

/// A write's change to the server's boot in a few words for the footer (`None`: no change).
fn boot_summary(change: &BootChange) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut parts: Vec<String> = change
        .changed
        .iter()
        .map(|c| format!("{} {} → {}", text(&c.id), text(&c.from), text(&c.to)))
        .collect();
    parts.extend(
        change
            .gained()
            .iter()
            .map(|l| format!("{} {} loads", text(&l.id), text(&l.version))),
    );
    parts.extend(
        change
            .lost
            .iter()
            .map(|id| format!("{} no longer loads", text(id))),
    );
    (!parts.is_empty()).then(|| format!("ObjectStack boot: {}", parts.join(", ")))
}

/// The footer line after a restore.
fn restored_message(path: &std::path::Path, rows: &[PackageRecord]) -> Message {
    let file = super::file_name(path);
    if rows.is_empty() {
        return Message::info(format!(
            "nothing to restore from {file}: every row is already in the registry unchanged"
        ));
    }
    let what: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.id, r.version))
        .collect();
    Message::info(format!(
        "restored {} from {file}: {}",
        super::count(rows.len() as u64, "row"),
        what.join(", ")
    ))
}

/// The footer line after verifying a package or a version.
fn verify_message(scope: &Scope, r: &VerifyReport) -> Message {
    let what = match scope {
        Scope::All => "the registry".to_owned(),
        Scope::Package(id) => id.clone(),
        Scope::Version(id, v) => format!("{id} {v}"),
    };
    let codes = |list: &[crate::registry::Verification]| {
        let mut codes: Vec<&str> = list.iter().flat_map(integrity::codes).collect();
        codes.sort_unstable();
        codes.dedup();
        codes.join(", ")
    };
    if r.checked == 0 {
        return Message {
            kind: MessageKind::Warning,
            text: format!("verify {what}: no rows found (refresh with r)"),
        };
    }
    let rows = super::count(r.checked, "row");
    if !r.failed.is_empty() {
        Message {
            kind: MessageKind::Error,
            text: format!(
                "verify {what}: FAIL, {} of {rows} failed ({})",
                r.failed.len(),
                codes(&r.failed)
            ),
        }
    } else if !r.warnings.is_empty() {
        Message {
            kind: MessageKind::Warning,
            text: format!(
                "verify {what}: warn, {rows} intact ({})",
                codes(&r.warnings)
            ),
        }
    } else {
        Message {
            kind: MessageKind::Info,
            text: format!("verify {what}: ok, {rows} checked, hashes match"),
        }
    }
}
