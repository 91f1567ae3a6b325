//! The console's one state and its update functions. A key (or a mouse event) becomes an
//! [`Action`]; an action changes the state and may queue [`Job`]s for the worker; a worker
//! [`Response`] changes the state again (`replies`). Nothing here touches the terminal or the
//! registry, so tests drive it with key events and read what it draws; what must reach the
//! terminal (an OSC 52 copy, a document for `$EDITOR`, `outside`) waits here for the
//! terminal loop to take it.
//!
//! Writes follow the same path: `p`/`h`/`e` open the editor (on a file the worker read, or on
//! the version the worker exported), its review and the publish are worker jobs, and so are
//! the delete plan behind the confirm dialog, the delete, the restore and a connection
//! switch. In read-only mode the write actions stop here, with a message, before any dialog;
//! on a production connection every write asks for the connection's name first. Changes by
//! other processes are noticed by polling the registry's change mark (`live`).

mod live;
use live::Live;
mod outside;
mod replies;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

use super::component::{Component, ExternalEdit, Jump, Outcome};
use super::integrity::{self, Integrity};
use super::keys::{self, Action, KeyGroup};
use super::message::{Message, MessageKind};
use super::protocol::{Job, JobError, Opened, Reply, Request, Response, Ticket};
use super::screens::editor::Origin;
use super::screens::{
    BootScreen, CommandLine, CompareScreen, Confirm, ConnectionPicker, DetailScreen, DiffView,
    DraftsPicker, Editor, Help, Modal, PackagesScreen, PathPrompt, Review, Screen, TrashScreen,
    VerifyRun, VersionsScreen,
};
use super::worker::WorkerError;
use crate::registry::{
    ChangeMark, DeleteReport, PackageRecord, PublishReview, RegistryError, Scope, VerifyReport,
};

/// Rows of the screen that are not list rows (header, footer, borders, column titles).
const CHROME_ROWS: u16 = 8;

/// The most a copy sends to the terminal's clipboard (OSC 52 is one escape sequence; terminals
/// and tmux drop longer ones).
const CLIPBOARD_LIMIT: usize = 512 * 1024;

/// Editor text nobody published, for the draft the console keeps when it is quit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsavedEdits {
    pub origin: Origin,
    pub text: String,
    /// The draft it came from, written again rather than a new one.
    pub draft: Option<PathBuf>,
}

/// Two clicks on the same line at most this far apart are a double click.
const DOUBLE_CLICK: Duration = Duration::from_millis(450);

/// How long a stray stderr line stays in the footer.
const STRAY_LIFETIME: Duration = Duration::from_secs(20);

/// How long a footer message stays: news briefly, what went wrong long enough to read twice.
pub fn message_lifetime(kind: MessageKind) -> Duration {
    match kind {
        MessageKind::Info => Duration::from_secs(6),
        MessageKind::Warning | MessageKind::Error => Duration::from_secs(15),
    }
}

pub struct App {
    target: String,
    /// The proxy the registry is reached through, for the help (credentials masked).
    proxy: Option<String>,
    read_only: bool,
    /// The saved connection's name when it is a production registry.
    production: Option<String>,
    /// Whether a registry is open (the worker may still be opening the first one).
    connected: bool,
    /// Why the registry could not be opened, for the connection picker that opens then.
    picker_note: Option<String>,
    /// The drafts were asked for with `:drafts` (an empty list is then worth saying).
    drafts_asked: bool,
    /// A document waiting to be handed to `$VISUAL`/`$EDITOR`.
    outside: Option<ExternalEdit>,
    counts: Option<(u64, u64)>,
    /// Never empty: the Packages screen is at the bottom.
    screens: Vec<Screen>,
    /// Overlays, the top one last: it takes the keys.
    modals: Vec<Modal>,
    /// Where publish paths are relative to.
    cwd: PathBuf,
    integrity: Integrity,
    /// The footer's message and when it was said; it expires (see [`message_lifetime`]).
    message: Option<(Message, Instant)>,
    /// The latest line written to stderr while the console ran, shown beside the message
    /// until it expires, so a later message cannot hide it.
    stray: Option<(String, Instant)>,
    /// Text for the clipboard, until the terminal loop writes it (OSC 52).
    clipboard: Option<String>,
    /// The last left click (when and on which line), to tell a double click.
    last_click: Option<(Instant, u16)>,
    /// Jobs sent and not answered yet, with what they do, for the spinner.
    /// A job the operator did not ask for (the live poll) has no description: no spinner.
    in_flight: Vec<(Ticket, Option<String>)>,
    /// Noticing what other processes change.
    live: Live,
    outbox: Vec<Job>,
    next_ticket: Ticket,
    spinner: usize,
    size: (u16, u16),
    /// The exit code once the operator quit: 0 for `q`, 130 for Ctrl-C (an interrupt).
    quit: Option<i32>,
}

impl App {
    /// The console on `target` (already masked), with the first loads queued.
    pub fn new(target: &str, read_only: bool) -> App {
        let mut app = App::blank(target, read_only);
        // The list first: the worker answers in order, and the rows matter more than the
        // header's counts.
        app.push(Screen::Packages(PackagesScreen::default()));
        app.dispatch(Request::Counts);
        app.connected = true;
        app
    }

    /// The console before its registry is open: the first frame shows where it connects
    /// to, and the worker opens `request` (an unreachable target opens the connection
    /// picker with the reason).
    pub fn connecting(target: &str, request: crate::connect::Request) -> App {
        let mut app = App::blank(target, request.read_only);
        app.screens
            .push(Screen::Packages(PackagesScreen::default()));
        app.dispatch(Request::Open { request });
        // Text kept from an earlier session is offered back.
        app.dispatch_quietly(Request::Drafts);
        app
    }

    fn blank(target: &str, read_only: bool) -> App {
        App {
            target: target.to_owned(),
            proxy: None,
            read_only,
            production: None,
            connected: false,
            picker_note: None,
            drafts_asked: false,
            outside: None,
            counts: None,
            screens: Vec::new(),
            modals: Vec::new(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            integrity: Integrity::default(),
            message: None,
            stray: None,
            clipboard: None,
            last_click: None,
            in_flight: Vec::new(),
            live: Live::default(),
            outbox: Vec::new(),
            next_ticket: 1,
            spinner: 0,
            size: (80, 24),
            quit: None,
        }
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the console is on a connection saved as `production = true`.
    pub fn production(&self) -> bool {
        self.production.is_some()
    }

    /// Whether a registry is open.
    pub fn connected(&self) -> bool {
        self.connected
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
    pub fn unsaved_edits(&self) -> Option<UnsavedEdits> {
        self.modals.iter().find_map(|m| match m {
            Modal::Editor(e) if e.modified() => Some(UnsavedEdits {
                origin: e.origin().clone(),
                text: e.text(),
                draft: e.draft().map(PathBuf::from),
            }),
            _ => None,
        })
    }

    pub fn integrity(&self) -> &Integrity {
        &self.integrity
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref().map(|(m, _)| m)
    }

    /// The latest stray stderr line, while it is shown.
    pub fn stray(&self) -> Option<&str> {
        self.stray.as_ref().map(|(s, _)| s.as_str())
    }

    /// Sets the footer's message; it stays until it expires or another replaces it.
    fn say(&mut self, message: Message) {
        self.message = Some((message, Instant::now()));
    }

    /// Forgets the messages older than their lifetime at `now`; returns whether one went.
    pub fn expire_messages(&mut self, now: Instant) -> bool {
        let mut gone = false;
        if let Some((m, at)) = &self.message {
            if now.saturating_duration_since(*at) >= message_lifetime(m.kind) {
                self.message = None;
                gone = true;
            }
        }
        if let Some((_, at)) = &self.stray {
            if now.saturating_duration_since(*at) >= STRAY_LIFETIME {
                self.stray = None;
                gone = true;
            }
        }
        gone
    }

    pub fn should_quit(&self) -> bool {
        self.quit.is_some()
    }

    /// The process exit code the console ends with: 130 after Ctrl-C, as for any interrupted
    /// command, else 0.
    pub fn exit_code(&self) -> i32 {
        self.quit.unwrap_or(0)
    }

    /// Whether any job is still unanswered.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// What the oldest unanswered job does, and the spinner frame, while something runs.
    pub fn activity(&self) -> Option<(char, &str)> {
        const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let what = self
            .in_flight
            .iter()
            .find_map(|(_, what)| what.as_deref())?;
        Some((FRAMES[self.spinner % FRAMES.len()], what))
    }

    /// The ticket of the verify-all that the overlay shows, if one is open.
    pub fn verify_ticket(&self) -> Option<Ticket> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Verify(v) => Some(v.ticket()),
            _ => None,
        })
    }

    /// Advances the spinner, expires old footer messages, and sends a large document in the
    /// editor for validation once typing paused; the loop calls it while waiting. Returns
    /// whether the screen changed without an answer or a key (a message went).
    pub fn tick(&mut self) -> bool {
        self.spinner = self.spinner.wrapping_add(1);
        let now = Instant::now();
        let mut changed = self.expire_messages(now);
        self.poll_changes(now);
        changed |= self.screens.iter().any(|s| s.component().animating(now));
        let due = self.editor_mut().and_then(|e| e.due(now));
        if let Some(request) = due {
            self.dispatch(request);
        }
        changed
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

    /// Text to put on the clipboard, once: the terminal loop writes it as OSC 52.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// The jobs queued since the last call, for the worker.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.outbox)
    }

    /// A line something wrote to stderr while the console ran (an audit-log write that
    /// failed, a library's warning): the footer shows it instead of the screen being
    /// scribbled over.
    pub fn stray_output(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let text = line.strip_prefix("pkgdeck: ").unwrap_or(line);
        self.stray = Some((text.to_owned(), Instant::now()));
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
        if let Some(typing) = screen.typing_keys() {
            return vec![typing];
        }
        let mut groups = screen.keys();
        groups.push(&keys::GLOBAL);
        groups
    }

    pub fn on_key(&mut self, event: KeyEvent) {
        if keys::is_interrupt(&event) {
            self.quit = Some(130);
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

    /// A mouse event: the wheel moves like the arrows, a click selects what is under it (a
    /// row, a tab), a double click opens it. Overlays take the mouse like they take keys.
    pub fn on_mouse(&mut self, event: MouseEvent) {
        let page = self.page();
        let from_modal = !self.modals.is_empty();
        let component: &mut dyn Component = match self.modals.last_mut() {
            Some(m) => m.component_mut(),
            None => self
                .screens
                .last_mut()
                .map(Screen::component_mut)
                .expect("Packages stays"),
        };
        let outcome = match event.kind {
            MouseEventKind::ScrollDown => component.wheel(true, page),
            MouseEventKind::ScrollUp => component.wheel(false, page),
            MouseEventKind::Down(MouseButton::Left) => {
                let now = Instant::now();
                let double = self.last_click.is_some_and(|(at, row)| {
                    row == event.row && now.duration_since(at) <= DOUBLE_CLICK
                });
                // A double click is one: a third click starts over.
                self.last_click = if double { None } else { Some((now, event.row)) };
                component.click(event.column, event.row, double, page)
            }
            _ => Outcome::Done,
        };
        self.carry_out(outcome, from_modal);
    }

    /// Carries out one action on the current overlay, else the current screen. A write in
    /// read-only mode stops here, before any editor or dialog opens.
    pub fn update(&mut self, action: Action) {
        if action == Action::Quit {
            self.quit = Some(0);
            return;
        }
        if let Some(write) = action.write().filter(|_| self.read_only) {
            self.say(Message::error(format!(
                "read-only: {write} refused (the console was opened with --read-only); \
                 nothing was changed"
            )));
            return;
        }
        let page = self.page();
        if let Some(modal) = self.modals.last_mut() {
            let outcome = modal.component_mut().act(action, page);
            return self.carry_out(outcome, true);
        }
        let outcome = match action {
            Action::Help => {
                let screen = self.screen().name();
                let mut groups = self.screen().component().keys();
                groups.push(&keys::GLOBAL);
                let via = self.proxy.as_deref().map_or_else(
                    || "directly".to_string(),
                    |p| format!("through the proxy {p}"),
                );
                let connection = vec![self.target.clone(), via];
                Outcome::Overlay(Modal::Help(
                    Help::new(screen, groups, self.read_only).with_connection(connection),
                ))
            }
            Action::VerifyAll => return self.verify_all(),
            Action::Refresh => return self.refresh(),
            Action::Publish => {
                Outcome::Overlay(Modal::Prompt(Box::new(PathPrompt::new(self.cwd.clone()))))
            }
            Action::Trash => match self.screen() {
                Screen::Trash(_) => Outcome::Done,
                _ => Outcome::Push(Box::new(Screen::Trash(TrashScreen::new(&self.target)))),
            },
            Action::Boot => match self.screen() {
                Screen::Boot(_) => Outcome::Done,
                _ => Outcome::Push(Box::new(Screen::Boot(BootScreen::default()))),
            },
            Action::Connections => Outcome::Request(Request::Connections),
            Action::Drafts => {
                self.drafts_asked = true;
                Outcome::Request(Request::Drafts)
            }
            Action::CommandLine => {
                let ids = match self.screens.first() {
                    Some(Screen::Packages(p)) => p.ids().into_iter().map(str::to_owned).collect(),
                    _ => Vec::new(),
                };
                Outcome::Overlay(Modal::Command(Box::new(CommandLine::new(ids))))
            }
            Action::Home => {
                let comparing = self.comparing();
                self.screens.truncate(1);
                self.left_compare(comparing);
                Outcome::Done
            }
            _ => self.screen_mut().component_mut().act(action, page),
        };
        self.carry_out(outcome, false);
        // A sort by integrity needs what is known now.
        if matches!(action, Action::Sort | Action::ReverseSort) {
            self.integrity_changed();
        }
    }

    fn carry_out(&mut self, outcome: Outcome, from_modal: bool) {
        match outcome {
            Outcome::Done => {}
            Outcome::Back if from_modal => {
                self.modals.pop();
            }
            Outcome::Back => {
                if self.screens.len() > 1 {
                    let comparing = self.comparing();
                    self.screens.pop();
                    self.left_compare(comparing);
                }
            }
            Outcome::Push(screen) => {
                self.modals.clear();
                self.push(*screen);
            }
            Outcome::Request(r) => {
                // A copy into the compared registry is guarded by that connection's mode.
                let production = match &r {
                    Request::Copy {
                        to_other: true,
                        production,
                        ..
                    } => production.clone(),
                    _ => self.production.clone(),
                };
                match (production, r.write()) {
                    // On production, every write asks for the connection's name first.
                    (Some(name), Some(what)) => self.ask_production(&name, &what, r),
                    _ => self.dispatch(r),
                }
            }
            Outcome::Write(r) => {
                if let Request::Publish { prepared, .. } = &r {
                    if let Some(review) = self.review_mut(&prepared.hash) {
                        review.confirmed();
                    }
                }
                self.dispatch(r);
            }
            Outcome::Jump(to) => self.jump(to),
            Outcome::Overlay(modal) => self.modals.push(modal),
            Outcome::CloseAll => self.modals.clear(),
            Outcome::Say(message) => self.say(message),
            Outcome::Act(action) => self.update(action),
            Outcome::EditOutside(edit) => self.edit_outside(edit),
            Outcome::Copy { text, what } if text.len() > CLIPBOARD_LIMIT => {
                self.say(Message::warning(format!(
                    "{what} is {} KB, more than a terminal clipboard takes ({} KB): not copied; \
                     pkgdeck export writes it to a file",
                    text.len() / 1024,
                    CLIPBOARD_LIMIT / 1024
                )));
            }
            Outcome::Copy { text, what } => {
                self.say(Message::info(format!(
                    "copied {what} to the clipboard ({})",
                    crate::tui::count(text.chars().count() as u64, "character")
                )));
                self.clipboard = Some(text);
            }
            Outcome::All(outcomes) => {
                for o in outcomes {
                    self.carry_out(o, from_modal);
                }
            }
        }
    }

    /// Takes one answer from the worker.
    pub fn apply(&mut self, response: Response) {
        let integrity_news = matches!(
            response.reply,
            Reply::Packages { done: true, .. }
                | Reply::Versions { .. }
                | Reply::Record { .. }
                | Reply::Verified { .. }
                | Reply::Published { .. }
                | Reply::Deleted { .. }
                | Reply::Restored { .. }
                | Reply::Promoted { .. }
        );
        self.apply_reply(response);
        if integrity_news {
            self.integrity_changed();
        }
    }

    fn error(&mut self, text: String) {
        self.say(Message {
            kind: MessageKind::Error,
            text,
        });
    }

    fn dispatch(&mut self, request: Request) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.in_flight.push((ticket, Some(request.describe())));
        self.outbox.push(Job { ticket, request });
    }

    fn push(&mut self, mut screen: Screen) {
        let load = screen.load();
        self.dispatch(load);
        self.screens.push(screen);
    }

    fn refresh(&mut self) {
        self.reload();
        self.say(Message::info(
            "reloading from the registry; integrity results stay for rows whose hash is unchanged",
        ));
    }

    /// Reloads every screen and the counts: after a write, or on request. Integrity results
    /// stay: the rows that arrive tell which of them changed (see `Integrity::seen`).
    fn reload(&mut self) {
        let loads: Vec<Request> = self.screens.iter_mut().map(Screen::load).collect();
        for load in loads {
            self.dispatch(load);
        }
        self.dispatch(Request::Counts);
    }

    /// Opens a package's versions, or a version's detail, as if it had been reached from
    /// the Packages screen: whatever was open above Packages closes first.
    fn jump(&mut self, to: Jump) {
        self.modals.clear();
        if let Jump::Compare(name) = &to {
            let screen = CompareScreen::new(&self.target, name);
            return self.push(Screen::Compare(Box::new(screen)));
        }
        let comparing = self.comparing();
        self.screens.truncate(1);
        self.left_compare(comparing);
        let (id, version, integrity) = match &to {
            Jump::Package(id) | Jump::Compare(id) => (id.as_str(), None, false),
            Jump::Version {
                id,
                version,
                integrity,
            } => (id.as_str(), Some(version.as_str()), *integrity),
        };
        let name = match self.screens.first_mut() {
            Some(Screen::Packages(p)) => {
                p.select_id(id);
                p.package(id).and_then(|p| p.name)
            }
            _ => None,
        };
        self.push(Screen::Versions(VersionsScreen::of(id, name, version)));
        if let Some(version) = version {
            self.push(Screen::Detail(Box::new(if integrity {
                DetailScreen::on_integrity(id, version)
            } else {
                DetailScreen::new(id, version)
            })));
        }
    }

    /// Whether a Compare screen is open (the worker holds a second registry for it).
    fn comparing(&self) -> bool {
        self.screens.iter().any(|s| matches!(s, Screen::Compare(_)))
    }

    /// The worker lets the compared registry go once the last Compare screen closed.
    fn left_compare(&mut self, was_comparing: bool) {
        if was_comparing && !self.comparing() {
            self.dispatch_quietly(Request::EndCompare);
        }
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
