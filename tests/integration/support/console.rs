//! The console driven through its key handling, with the real worker thread, on a
//! [`Scratch`] registry, and drawn into a `TestBackend`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pkgdeck::registry::Registry;
use pkgdeck::tui::message::MessageKind;
use pkgdeck::tui::Console;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use super::scratch::Scratch;
use super::screen::text_of;

/// How long a test waits for the worker to answer what the last key asked.
const SETTLE: Duration = Duration::from_secs(10);

/// The console on a scratch registry.
pub struct Session {
    pub scratch: Scratch,
    pub console: Console,
}

impl Session {
    /// The console as the binary opens it ([`Console::open`]: pkgdeck's own data and config
    /// dirs, the process's working directory).
    pub fn open(scratch: Scratch, read_only: bool) -> Session {
        let console = Console::open(scratch.registry(read_only)).expect("start the console");
        Session::start(scratch, console)
    }

    /// The console with the scratch data and config dirs, and the scratch directory as the
    /// working directory for the paths typed after `p`.
    pub fn in_scratch(scratch: Scratch, read_only: bool) -> Session {
        let cwd = scratch.dir.path().to_owned();
        let console = Console::open_in(scratch.registry(read_only), scratch.dirs(), cwd)
            .expect("start the console");
        Session::start(scratch, console)
    }

    /// The console as `pkgdeck ARGS` opens it: on what `request` names (a saved connection
    /// of the scratch config, say), opened by the worker after the first frame.
    pub fn connect(scratch: Scratch, request: pkgdeck::connect::Request) -> Session {
        let cwd = scratch.dir.path().to_owned();
        let target = pkgdeck::connect::resolve_target(&request, &scratch.dirs())
            .expect("a target")
            .to_string();
        let console =
            Console::connect(request, &target, scratch.dirs(), cwd).expect("start the console");
        Session::start(scratch, console)
    }

    /// Sizes the console like the 160×50 terminal the tests draw into, and waits for what it
    /// loads on open.
    fn start(scratch: Scratch, mut console: Console) -> Session {
        console.app.resize(160, 50);
        let mut s = Session { scratch, console };
        s.settle();
        s
    }

    pub fn settle(&mut self) {
        self.console.settle(SETTLE).expect("the worker answers");
    }

    /// Sends a key, then waits until the registry answered what it asked.
    pub fn key(&mut self, event: KeyEvent) {
        self.console.key(event);
        self.settle();
    }

    /// Presses keys, each after the registry answered what the previous one asked.
    pub fn press(&mut self, keys: &[KeyCode]) {
        for k in keys {
            self.key(KeyEvent::new(*k, KeyModifiers::NONE));
        }
    }

    pub fn ctrl(&mut self, c: char) {
        self.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }

    pub fn type_text(&mut self, text: &str) {
        let keys: Vec<KeyCode> = text.chars().map(KeyCode::Char).collect();
        self.press(&keys);
    }

    pub fn buffer(&self) -> Buffer {
        self.buffer_sized(160, 50)
    }

    /// The screen drawn as at `now` (a highlight that has ended by then is gone).
    pub fn buffer_at(&self, now: std::time::Instant) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
        terminal.draw(|f| self.console.draw_at(f, now)).unwrap();
        terminal.backend().buffer().clone()
    }

    pub fn buffer_sized(&self, width: u16, height: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| self.console.draw(f)).unwrap();
        terminal.backend().buffer().clone()
    }

    /// The screen as text with the scratch paths masked, so snapshots do not depend on them.
    pub fn screen(&self) -> String {
        text_of(&self.buffer())
            .replace(&self.scratch.db.display().to_string(), "[registry]")
            .replace(&self.scratch.dir.path().display().to_string(), "[scratch]")
    }

    /// The message in the footer; panics when there is none.
    pub fn message(&self) -> (MessageKind, String) {
        let m = self.console.app.message().expect("a message in the footer");
        (m.kind, m.text.clone())
    }

    /// A second, read-write registry on the same scratch file, to check or change it behind
    /// the console's back.
    pub fn registry(&self) -> Registry {
        self.scratch.registry(false)
    }

    /// Packages → (filter) com.acme.helpdesk → its versions.
    pub fn open_helpdesk_versions(&mut self) {
        self.type_text("/helpdesk");
        self.press(&[KeyCode::Enter, KeyCode::Enter]);
    }
}
