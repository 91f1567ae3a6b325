//! The app wired to its worker: what the terminal loop, the tests and the benchmark drive.
//! Keys go to the app, the jobs they queue go to the worker, and answers come back into the
//! app, all without touching a terminal.

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::app::App;
use super::keys::Action;
use super::view;
use super::worker::Worker;
use crate::registry::Registry;

pub struct Console {
    pub app: App,
    worker: Worker,
}

impl Console {
    /// Starts the worker on `registry` and queues the first screen's loads.
    pub fn open(registry: Registry) -> Result<Console, String> {
        let app = App::new(registry.target(), registry.read_only());
        let worker = Worker::spawn(registry)?;
        let mut console = Console { app, worker };
        console.flush();
        Ok(console)
    }

    pub fn key(&mut self, event: KeyEvent) {
        self.app.on_key(event);
        self.flush();
    }

    pub fn act(&mut self, action: Action) {
        self.app.update(action);
        self.flush();
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
                        self.app.worker_stopped(e);
                    }
                    break;
                }
            }
        }
        self.flush();
        n
    }

    /// Waits until every job is answered, at most `timeout`.
    pub fn settle(&mut self, timeout: Duration) -> Result<(), String> {
        self.wait_until(timeout, |app| !app.busy())
    }

    /// Takes answers until `ready` holds, at most `timeout`.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        ready: impl Fn(&App) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while !ready(&self.app) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.app.busy() {
                return Err(format!(
                    "the registry did not answer as expected within {timeout:?}"
                ));
            }
            match self.worker.recv_timeout(left) {
                Ok(Some(r)) => self.app.apply(r),
                Ok(None) => {}
                Err(e) => {
                    self.app.worker_stopped(e.clone());
                    return Err(e);
                }
            }
            self.flush();
        }
        Ok(())
    }

    pub fn draw(&self, frame: &mut Frame) {
        view::draw(frame, &self.app);
    }

    fn flush(&mut self) {
        for job in self.app.take_jobs() {
            if let Err(e) = self.worker.send(job) {
                self.app.worker_stopped(e);
                return;
            }
        }
    }
}
