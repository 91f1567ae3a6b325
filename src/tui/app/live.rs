//! Noticing changes made by other processes: the registry's change mark is asked for quietly
//! (no spinner) as often as the registry says, and a mark that moved reloads every screen.

use super::*;

/// The live poll's state.
#[derive(Debug, Default)]
pub(super) struct Live {
    /// How often to ask; `None` until the registry said (no polling).
    pub(super) every: Option<Duration>,
    pub(super) asked: Option<Instant>,
    pub(super) asking: bool,
    /// The last mark seen; `None` before the first answer and after this console wrote.
    pub(super) mark: Option<ChangeMark>,
}

impl App {
    /// A job the operator did not ask for: no spinner while it runs.
    pub(super) fn dispatch_quietly(&mut self, request: Request) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.in_flight.push((ticket, None));
        self.outbox.push(Job { ticket, request });
    }

    /// How often to ask whether another process changed the registry (the registry says:
    /// twice a second for a file, every few seconds for a remote).
    pub fn set_live_interval(&mut self, every: Duration) {
        self.live.every = Some(every);
    }

    /// Asks whether the registry changed, when it is time to.
    pub(super) fn poll_changes(&mut self, now: Instant) {
        let Some(every) = self.live.every else {
            return;
        };
        let due = self
            .live
            .asked
            .is_none_or(|at| now.saturating_duration_since(at) >= every);
        if due && !self.live.asking {
            self.live.asking = true;
            self.live.asked = Some(now);
            self.dispatch_quietly(Request::Changes);
        }
    }

    /// The registry's mark now: when it moved since the last one, something else wrote to
    /// the registry, and every screen reloads (keeping the selection, the filter and the
    /// integrity results of rows whose hash held; changed rows are highlighted).
    pub(super) fn changes(&mut self, mark: Result<ChangeMark, JobError>) {
        self.live.asking = false;
        // A failed poll says nothing: the next one asks again, and a real load says why.
        let Ok(mark) = mark else { return };
        let moved = self.live.mark.as_ref().is_some_and(|m| *m != mark);
        self.live.mark = Some(mark);
        if moved {
            self.reload();
            self.say(Message::info(
                "the registry changed (another process wrote to it): reloaded; changed rows are highlighted",
            ));
        }
    }

    /// This console wrote: its own reload shows the write, so the next mark is a new start
    /// rather than news from another process.
    pub(super) fn wrote(&mut self) {
        self.live.mark = None;
    }
}
