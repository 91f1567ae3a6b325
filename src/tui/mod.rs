//! The console (spec section 5): a ratatui front end over the registry.
//!
//! Data flows one way: key → [`keys::Action`] → [`app::App::update`] → a
//! [`component::Component`] → [`component::Outcome::Request`] → [`worker`] thread →
//! [`crate::registry::Registry`] → store → [`protocol::Response`] → [`app::App::apply`] →
//! [`view`] draws it. `message`, `component` and `protocol` are leaves every other module
//! may use; screens use them and never `app` or `worker`. This module owns the terminal: raw
//! mode and the alternate screen are entered here and always left again, on quit, on error
//! and on panic.

pub mod app;
pub mod component;
pub mod console;
pub mod document;
pub mod integrity;
pub mod json;
pub mod keys;
pub mod list;
pub mod message;
pub mod protocol;
pub mod screens;
pub mod theme;
pub mod view;
pub mod worker;

use std::io::{self, Stdout};
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub use console::Console;

use crate::config::Dirs;
use crate::connect::{self, ConnectError, Request};
use crate::demo::DemoError;
use worker::WorkerError;

/// Why the console could not start or stopped short.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The `--demo` scratch registry could not be built.
    #[error("cannot build the demo registry: {0}")]
    Demo(#[source] DemoError),
    /// The registry the operator named could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The storage worker could not start.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The terminal refused raw mode.
    #[error("cannot switch the terminal to raw mode: {0}")]
    RawMode(#[source] io::Error),
    /// The terminal refused the alternate screen.
    #[error("cannot open the alternate screen: {0}")]
    AlternateScreen(#[source] io::Error),
    /// No terminal to draw on could be set up.
    #[error("cannot draw on this terminal: {0}")]
    Backend(#[source] io::Error),
    /// Drawing or reading input failed while the console ran.
    #[error("the terminal failed: {0}")]
    Terminal(#[source] io::Error),
}

/// How long the loop waits for a key before it looks at the worker again; also the
/// spinner's pace.
const POLL: Duration = Duration::from_millis(40);

/// `1 row`, `3 rows`: a count with its noun, for messages and dialogs.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The last component of a path as it may be shown (trash files are named by it).
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| crate::untrusted::printable(&n.to_string_lossy()).into_owned())
        .unwrap_or_else(|| crate::untrusted::printable(&path.display().to_string()).into_owned())
}

/// Runs the console until the operator quits; returns the exit code. With `demo`, the
/// console opens on a scratch registry filled with the sample packages instead.
pub fn run(request: Request, dirs: Dirs, demo: bool) -> Result<i32, ConsoleError> {
    let scratch = if demo {
        Some(crate::demo::build().map_err(ConsoleError::Demo)?)
    } else {
        None
    };
    // The demo keeps its trash and audit log in its scratch directory; drafts still go to
    // the real data dir, which outlives the demo.
    let console_dirs = match &scratch {
        Some(d) => d.dirs(),
        None => dirs.clone(),
    };
    let registry = match &scratch {
        Some(d) => connect::open(&d.request(request.read_only), &console_dirs),
        None => connect::open(&request, &dirs),
    }?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut console = Console::open_in(registry, console_dirs, cwd)?;
    let outcome = with_terminal(|terminal| event_loop(terminal, &mut console));
    // Quitting with unpublished edits (Ctrl-C in the editor) keeps them: nothing typed is
    // lost silently.
    if let Some((what, text)) = console.app.unsaved_edits() {
        match keep_draft(&dirs, &text) {
            Ok(path) => eprintln!(
                "pkgdeck: the unpublished edits of {what} were kept in {}",
                path.display()
            ),
            Err(e) => eprintln!("pkgdeck: the unpublished edits of {what} could not be kept: {e}"),
        }
    }
    drop(scratch);
    outcome.map(|()| 0)
}

/// Writes the editor's text to `<data dir>/drafts/`, returning the file.
fn keep_draft(dirs: &Dirs, text: &str) -> io::Result<PathBuf> {
    let dir = dirs.data.join("drafts");
    std::fs::create_dir_all(&dir)?;
    let stamp: String = crate::registry::audit::utc_timestamp(std::time::SystemTime::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let path = dir.join(format!("{stamp}-{}.json", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Leaves raw mode and the alternate screen; safe to call more than once.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

/// Restores the terminal when dropped, so an early return cannot leave it raw.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn with_terminal(
    body: impl FnOnce(&mut Term) -> Result<(), ConsoleError>,
) -> Result<(), ConsoleError> {
    install_panic_hook();
    let guard = TerminalGuard;
    enable_raw_mode().map_err(ConsoleError::RawMode)?;
    execute!(io::stdout(), EnterAlternateScreen).map_err(ConsoleError::AlternateScreen)?;
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(ConsoleError::Backend)?;
    let result = body(&mut terminal);
    drop(guard);
    result
}

/// A panic on the UI thread restores the terminal before the message is printed, so the
/// message is readable and the shell usable. The worker's panics are caught and reported in
/// the footer instead; printing them would garble the screen.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(worker::THREAD_NAME) {
            return;
        }
        restore_terminal();
        previous(info);
    }));
}

fn event_loop(terminal: &mut Term, console: &mut Console) -> Result<(), ConsoleError> {
    let io_err = ConsoleError::Terminal;
    let size = terminal.size().map_err(io_err)?;
    console.app.resize(size.width, size.height);
    let mut dirty = true;
    while !console.app.should_quit() {
        if dirty || console.app.busy() {
            terminal.draw(|f| console.draw(f)).map_err(io_err)?;
            dirty = false;
        }
        if event::poll(POLL).map_err(io_err)? {
            match event::read().map_err(io_err)? {
                Event::Key(key) if key.kind != KeyEventKind::Release => console.key(key),
                Event::Resize(w, h) => console.app.resize(w, h),
                _ => {}
            }
            dirty = true;
        }
        if console.pump() > 0 {
            dirty = true;
        }
        console.tick();
    }
    Ok(())
}
