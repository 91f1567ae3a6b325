//! The app wired to its worker: what the terminal loop, the tests and the benchmark drive.
//! Keys go to the app, the jobs they queue go to the worker, and answers come back into the
//! app, all without touching a terminal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::Frame;

use super::app::App;
use super::keys::Action;
use super::screens::Screen;
use super::view;
use super::worker::{Worker, WorkerError};
use crate::config::Dirs;
use crate::registry::Registry;

/// Why waiting for the worker's answers ended without what was waited for.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The answers did not come in time, or nothing was left to wait for.
    #[error("the registry did not answer as expected within {0:?}")]
    Timeout(Duration),
    /// The worker is gone.
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

pub struct Console {
    pub app: App,
    worker: Worker,
}

impl Console {
    /// Starts the worker on `registry` and queues the first screen's loads, with pkgdeck's
    /// usual directories (saved connections) and publish paths relative to the current one.
    pub fn open(registry: Registry) -> Result<Console, WorkerError> {
        // Without a home directory the registry's own trash dir stands in: the picker then
        // finds no saved connections, which it says.
        let dirs = Dirs::discover().unwrap_or_else(|_| {
            let data = registry
                .trash()
                .dir()
                .parent()
                .map(PathBuf::from)
                .unwrap_or_default();
            Dirs {
                config: data.clone(),
                data,
            }
        });
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Console::open_in(registry, dirs, cwd)
    }

    /// [`Console::open`] with the directories given: `dirs` for the saved connections the
    /// picker offers, `cwd` for the paths typed after `p`.
    pub fn open_in(registry: Registry, dirs: Dirs, cwd: PathBuf) -> Result<Console, WorkerError> {
        let mut app = App::new(registry.target(), registry.read_only());
        app.set_cwd(cwd);
        app.set_live_interval(registry.change_poll_interval());
        let read_only = registry.read_only();
        let worker = Worker::spawn(Some(registry), read_only, dirs)?;
        let mut console = Console { app, worker };
        console.flush();
        Ok(console)
    }

    /// The console on what `request` names, opened by the worker: the first frame can be
    /// drawn at once, before any storage call returns. `target` is the target as the header
    /// shows it meanwhile (token masked).
    pub fn connect(
        request: crate::connect::Request,
        target: &str,
        dirs: Dirs,
        cwd: PathBuf,
    ) -> Result<Console, WorkerError> {
        let read_only = request.read_only;
        let mut app = App::connecting(target, request);
        app.set_cwd(cwd);
        let worker = Worker::spawn(None, read_only, dirs)?;
        let mut console = Console { app, worker };
        console.flush();
        Ok(console)
    }

    /// Ends the console: the worker drops the registry (a remote's stream is closed), waited
    /// for at most `wait`.
    pub fn close(self, wait: Duration) {
        self.worker.shutdown(wait);
    }

    pub fn key(&mut self, event: KeyEvent) {
        self.app.on_key(event);
        self.flush();
    }

    pub fn mouse(&mut self, event: MouseEvent) {
        self.app.on_mouse(event);
        self.flush();
    }

    /// What `$VISUAL`/`$EDITOR` left (see [`App::edited_outside`]).
    pub fn edited_outside(
        &mut self,
        edit: super::component::ExternalEdit,
        draft: PathBuf,
        text: Result<String, String>,
    ) {
        self.app.edited_outside(edit, draft, text);
        self.flush();
    }

    pub fn act(&mut self, action: Action) {
        self.app.update(action);
        self.flush();
    }

    /// Advances the app's clock (spinner, message expiry, validation of large documents) and
    /// sends what that queued; returns whether the screen changed.
    pub fn tick(&mut self) -> bool {
        let changed = self.app.tick();
        self.flush();
        changed
    }

    /// Takes every answer that is ready; returns how many there were.
    pub fn pump(&mut self) -> usize {
        let mut n = 0;
        loop {
            match self.worker.try_recv() {
                Ok(Some(r)) => {
                    self.app.apply(r);
                    n += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    if self.app.busy() {
                        self.app.worker_stopped(&e);
                    }
                    break;
                }
            }
        }
        self.flush();
        n
    }

    /// Waits until every job is answered, at most `timeout`.
    pub fn settle(&mut self, timeout: Duration) -> Result<(), WaitError> {
        self.wait_until(timeout, |app| !app.busy())
    }

    /// Takes answers until `ready` holds, at most `timeout`.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        ready: impl Fn(&App) -> bool,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now() + timeout;
        while !ready(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.app.busy() {
                return Err(WaitError::Timeout(timeout));
            }
            match self.worker.recv_timeout(left) {
                Ok(Some(r)) => self.app.apply(r),
                Ok(None) => {}
                Err(e) => {
                    self.app.worker_stopped(&e);
                    return Err(e.into());
                }
            }
            self.flush();
        }
        Ok(())
    }

    /// Takes answers until the package list can draw rows: its first page arrived (a remote
    /// list keeps arriving after it) or it finished loading empty. The first frame is due then.
    pub fn wait_for_first_page(&mut self, timeout: Duration) -> Result<(), WaitError> {
        self.wait_until(timeout, |app| match app.screens().first() {
            Some(Screen::Packages(p)) => !p.loading() || !p.is_empty(),
            _ => false,
        })
    }

    pub fn draw(&self, frame: &mut Frame) {
        view::draw(frame, &self.app);
    }

    /// [`Console::draw`] as at `now`.
    pub fn draw_at(&self, frame: &mut Frame, now: Instant) {
        view::draw_at(frame, &self.app, now);
    }

    fn flush(&mut self) {
        for job in self.app.take_jobs() {
            if let Err(e) = self.worker.send(job) {
                self.app.worker_stopped(&e);
                return;
            }
        }
    }
}
