//! The console's one state and its update functions. A key becomes an [`Action`]; an action
//! changes the state and may queue [`Job`]s for the worker; a worker [`Response`] changes the
//! state again. Nothing here touches the terminal or the registry, so tests drive it with
//! key events and read what it draws.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use super::integrity::{self, Integrity};
use super::keys::{self, Action, KeyGroup};
use super::screens::{Help, Modal, Outcome, PackagesScreen, Screen, VerifyRun};
use super::worker::{Job, Reply, Request, Response, Ticket};
use crate::registry::{Scope, VerifyReport};

/// Rows of the screen that are not list rows (header, footer, borders, column titles).
const CHROME_ROWS: u16 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Warning,
    Error,
}

/// The latest message, shown in the footer until the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
}

pub struct App {
    target: String,
    read_only: bool,
    counts: Option<(u64, u64)>,
    /// Never empty: the Packages screen is at the bottom.
    screens: Vec<Screen>,
    modal: Option<Modal>,
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
            modal: None,
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

    pub fn modal(&self) -> Option<&Modal> {
        self.modal.as_ref()
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
        match &self.modal {
            Some(Modal::Verify(v)) => Some(v.ticket()),
            _ => None,
        }
    }

    /// Advances the spinner; the loop calls it while waiting.
    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
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
    pub fn worker_stopped(&mut self, error: String) {
        self.in_flight.clear();
        self.error(error);
    }

    /// The key groups that apply right now, most specific first (also the footer hints).
    pub fn key_groups(&self) -> Vec<&'static KeyGroup> {
        if let Some(m) = &self.modal {
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
        let from_modal = self.modal.is_some();
        let taken = match &mut self.modal {
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

    /// Carries out one action on the current overlay, else the current screen.
    pub fn update(&mut self, action: Action) {
        let page = self.page();
        let from_modal = self.modal.is_some();
        let outcome = match (&mut self.modal, action) {
            (_, Action::Quit) => {
                self.quit = true;
                return;
            }
            (Some(modal), _) => modal.component_mut().handle(action, page),
            (None, Action::Help) => {
                let screen = self.screen().name();
                let mut groups = self.screen().component().keys();
                groups.push(&keys::GLOBAL);
                self.modal = Some(Modal::Help(Help::new(screen, groups)));
                return;
            }
            (None, Action::VerifyAll) => return self.verify_all(),
            (None, Action::Refresh) => return self.refresh(),
            (None, _) => self.screen_mut().component_mut().handle(action, page),
        };
        self.carry_out(outcome, from_modal);
    }

    fn carry_out(&mut self, outcome: Outcome, from_modal: bool) {
        match outcome {
            Outcome::Done => {}
            Outcome::Back if from_modal => self.modal = None,
            Outcome::Back => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                }
            }
            Outcome::Push(screen) => {
                self.modal = None;
                self.push(screen);
            }
            Outcome::Request(r) => self.dispatch(r),
        }
    }

    /// Takes one answer from the worker.
    pub fn apply(&mut self, response: Response) {
        if response.last {
            self.in_flight.retain(|(t, _)| *t != response.ticket);
        }
        match response.reply {
            Reply::Counts(Ok(c)) => self.counts = Some(c),
            Reply::Counts(Err(e)) => self.error(e),
            Reply::Packages { rows, first, done } => {
                if let Err(e) = &rows {
                    self.error(e.clone());
                }
                if let Some(Screen::Packages(p)) = self.screens.first_mut() {
                    p.receive(rows, first, done);
                }
            }
            Reply::Versions { id, rows } => {
                if let Err(e) = &rows {
                    self.error(e.clone());
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
                    Err(e) => self.error(e.clone()),
                }
                if let Some(s) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Detail(d) if d.id() == id && d.version() == version => Some(d),
                    _ => None,
                }) {
                    s.receive(record);
                }
            }
            Reply::Progress { progress, elapsed } => {
                if let Some(Modal::Verify(v)) = &mut self.modal {
                    if v.ticket() == response.ticket {
                        v.progress(progress, elapsed);
                    }
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
                match &mut self.modal {
                    Some(Modal::Verify(v)) if v.ticket() == response.ticket => {
                        v.finish(report, elapsed)
                    }
                    _ => match report {
                        Ok(r) => self.message = Some(verify_message(&scope, &r)),
                        Err(e) => self.error(e),
                    },
                }
            }
        }
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
        self.integrity.clear();
        let loads: Vec<Request> = self.screens.iter_mut().map(Screen::load).collect();
        for load in loads {
            self.dispatch(load);
        }
        self.dispatch(Request::Counts);
        self.message = Some(Message {
            kind: MessageKind::Info,
            text: "reloading from the registry; integrity results were cleared".into(),
        });
    }

    fn verify_all(&mut self) {
        let cancel = Arc::new(AtomicBool::new(false));
        let ticket = self.next_ticket;
        self.dispatch(Request::Verify {
            scope: Scope::All,
            cancel: cancel.clone(),
        });
        self.modal = Some(Modal::Verify(Box::new(VerifyRun::new(ticket, cancel))));
    }
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
    let rows = if r.checked == 1 {
        "1 row".to_owned()
    } else {
        format!("{} rows", r.checked)
    };
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
