//! The console (spec section 5): a ratatui front end over the registry.
//!
//! Data flows one way: key → [`keys::Action`] → [`app::App::update`] → a
//! [`component::Component`] → [`component::Outcome::Request`] → [`worker`] thread →
//! [`crate::registry::Registry`] → store → [`protocol::Response`] → [`app::App::apply`] →
//! [`view`] draws it. `message`, `component` and `protocol` are leaves every other module
//! may use; screens use them and never `app` or `worker`. This module owns the terminal: raw
//! mode, the alternate screen and the mouse are entered here and always left again, on quit,
//! on error and on panic; stderr is captured meanwhile (`stderr`), an OSC 52 copy is written
//! here, and the console is suspended here while `$VISUAL`/`$EDITOR` runs. The first frame is
//! drawn before the worker has opened the registry; quitting lets the worker drop it (a
//! remote's stream is closed) and exits 0, or 130 after Ctrl-C.

pub mod app;
pub mod component;
pub mod console;
pub mod document;
pub mod drafts;
pub mod external;
pub mod integrity;
pub mod json;
pub mod keys;
pub mod list;
pub mod message;
pub mod protocol;
pub mod screens;
pub mod search;
pub mod stderr;
pub mod theme;
pub mod view;
pub mod worker;

use std::io::{self, Stdout, Write};
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseEventKind,
};
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
use component::ExternalEdit;
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
    // the real data dir, which outlives the demo, and the connection picker offers the
    // operator's saved connections.
    let console_dirs = match &scratch {
        Some(d) => Dirs {
            data: d.dirs().data,
            config: dirs.config.clone(),
        },
        None => dirs.clone(),
    };
    let request = match &scratch {
        Some(d) => d.request(request.read_only),
        None => request,
    };
    // Only the arguments and the config file are read here; the worker opens the registry
    // once the first frame is on screen.
    let target = connect::resolve_target(&request, &console_dirs)?.to_string();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut console = Console::connect(request, &target, console_dirs, cwd)?;
    let outcome =
        with_terminal(|terminal, capture| event_loop(terminal, &mut console, capture, &dirs));
    let code = console.app.exit_code();
    // Quitting with unpublished edits (Ctrl-C in the editor) keeps them: nothing typed is
    // lost silently.
    if let Some(edits) = console.app.unsaved_edits() {
        let what = edits.origin.describe();
        let path = edits.draft.unwrap_or_else(|| drafts::new_path(&dirs));
        match drafts::save(&path, &edits.origin, &edits.text) {
            Ok(()) => eprintln!(
                "pkgdeck: the unpublished edits of {what} were kept in {}; pkgdeck offers them \
                 back when it opens",
                path.display()
            ),
            Err(e) => eprintln!("pkgdeck: the unpublished edits of {what} could not be kept: {e}"),
        }
    }
    // The registry goes with the worker (a remote's stream is closed), unless it does not
    // answer within the wait: quitting never hangs on it.
    console.close(SHUTDOWN_WAIT);
    drop(scratch);
    outcome.map(|()| code)
}

/// How long quitting waits for the worker to let go of the registry.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Leaves raw mode and the alternate screen; safe to call more than once.
fn restore_terminal() {
    stderr::restore();
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Restores the terminal when dropped, so an early return cannot leave it raw.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn with_terminal(
    body: impl FnOnce(&mut Term, Option<&stderr::Capture>) -> Result<(), ConsoleError>,
) -> Result<(), ConsoleError> {
    install_panic_hook();
    let guard = TerminalGuard;
    enable_raw_mode().map_err(ConsoleError::RawMode)?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .map_err(ConsoleError::AlternateScreen)?;
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(ConsoleError::Backend)?;
    let capture = stderr::Capture::start();
    let result = body(&mut terminal, capture.as_ref());
    drop(capture);
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

/// OSC 52: the terminal puts `text` on the clipboard (tmux, with `set-clipboard on`, keeps
/// it as a paste buffer). Base64 keeps the text from ever being read as terminal commands.
fn write_clipboard(out: &mut impl Write, text: &str) -> io::Result<()> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}

/// Runs `$VISUAL`/`$EDITOR` on the draft file of `edit`, the console suspended meanwhile
/// (the editor owns the terminal), and returns the text it left, or why there is none.
fn edit_outside(
    terminal: &mut Term,
    capture: Option<&stderr::Capture>,
    edit: &ExternalEdit,
    draft: &std::path::Path,
) -> Result<String, String> {
    let command = external::editor().ok_or("neither $VISUAL nor $EDITOR is set")?;
    drafts::save(draft, &edit.origin, &edit.text).map_err(|e| e.to_string())?;
    if let Some(c) = capture {
        c.pause();
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let status = external::edit(&command, draft);
    let _ = enable_raw_mode();
    let _ = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture);
    if let Some(c) = capture {
        c.resume();
    }
    let _ = terminal.clear();
    let shown = draft.display();
    match status {
        Err(e) => Err(format!(
            "cannot run {command}: {e}; the text is kept in {shown}"
        )),
        // An editor that exits with a failure (vim's :cq) means "abort", as for git.
        Ok(s) if !s.success() => Err(format!(
            "{command} exited with {s}: its text is not taken (it is kept in {shown})"
        )),
        Ok(_) => drafts::read(draft).map_err(|e| e.to_string()),
    }
}

fn event_loop(
    terminal: &mut Term,
    console: &mut Console,
    capture: Option<&stderr::Capture>,
    dirs: &Dirs,
) -> Result<(), ConsoleError> {
    let io_err = ConsoleError::Terminal;
    let size = terminal.size().map_err(io_err)?;
    console.app.resize(size.width, size.height);
    let mut dirty = true;
    while !console.app.should_quit() {
        if dirty || console.app.busy() {
            terminal.draw(|f| console.draw(f)).map_err(io_err)?;
            dirty = false;
        }
        if let Some(text) = console.app.take_clipboard() {
            write_clipboard(terminal.backend_mut(), &text).map_err(io_err)?;
        }
        if let Some(edit) = console.app.take_outside_edit() {
            let draft = edit.draft.clone().unwrap_or_else(|| drafts::new_path(dirs));
            let text = edit_outside(terminal, capture, &edit, &draft);
            console.edited_outside(edit, draft, text);
            dirty = true;
        }
        if event::poll(POLL).map_err(io_err)? {
            match event::read().map_err(io_err)? {
                Event::Key(key) if key.kind != KeyEventKind::Release => console.key(key),
                // Moving the pointer changes nothing on screen.
                Event::Mouse(mouse) if mouse.kind == MouseEventKind::Moved => continue,
                Event::Mouse(mouse) => console.mouse(mouse),
                Event::Resize(w, h) => console.app.resize(w, h),
                _ => {}
            }
            dirty = true;
        }
        if console.pump() > 0 {
            dirty = true;
        }
        for line in capture.map(stderr::Capture::take).unwrap_or_default() {
            console.app.stray_output(&line);
            dirty = true;
        }
        if console.tick() {
            dirty = true;
        }
    }
    Ok(())
}
