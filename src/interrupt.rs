//! Ctrl-C (and SIGTERM, SIGHUP) during a CLI command: the process exits at once with 128 +
//! the signal's number (130 for Ctrl-C), except while a write runs, which is let finish
//! first. A write killed outright would still be atomic (SQLite's transaction, the trash's
//! rename, the journal's marker), but one that finishes leaves nothing for the next run to
//! resolve. The console reads Ctrl-C as a key instead and never installs this.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Held while a write runs; the signal thread takes it before the process exits.
static WRITING: Mutex<()> = Mutex::new(());

/// Starts the thread that turns a signal into an exit. Called once, before a CLI command.
pub fn install() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("pkgdeck-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Waits for a running write to finish; a poisoned lock means the writer
                // panicked, and there is nothing left to wait for.
                let _done = WRITING.lock();
                if std::io::stderr().is_terminal() {
                    // A progress line may be half drawn.
                    eprint!("\r\x1b[2K");
                }
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// Marks a write as running until the guard is dropped.
pub fn writing() -> MutexGuard<'static, ()> {
    WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
