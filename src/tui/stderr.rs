//! While the console runs, nothing but the renderer writes to the terminal: stderr (fd 2)
//! points at a pipe, and every line that arrives there (a library's warning, an audit-log
//! write that failed) is read on a small thread and handed to the footer instead of being
//! printed across the screen. Stderr is pointed back at the terminal when the console ends,
//! and by the panic hook before a panic message is printed.

use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver};

/// The terminal's stderr while it is redirected (a duplicate of fd 2), else -1; a static so
/// the panic hook can put it back.
static SAVED: AtomicI32 = AtomicI32::new(-1);

/// The lines written to stderr since the capture began.
pub struct Capture {
    lines: Receiver<String>,
    /// The pipe's write end, to point stderr at it again after a pause (an external editor
    /// owns the terminal meanwhile).
    writer: std::io::PipeWriter,
}

impl Capture {
    /// Points stderr at a pipe; `None` when the platform or the process does not allow it
    /// (stderr is then left alone).
    pub fn start() -> Option<Capture> {
        let (reader, writer) = std::io::pipe().ok()?;
        if !redirect(&writer) {
            return None;
        }
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("pkgdeck-stderr".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Capture { lines, writer })
    }

    /// Points stderr back at the terminal for a while (another program runs on it).
    pub fn pause(&self) {
        restore();
    }

    /// Points stderr at the pipe again after [`Capture::pause`].
    pub fn resume(&self) {
        redirect(&self.writer);
    }

    /// The lines that arrived since the last call.
    pub fn take(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(unix)]
fn redirect(writer: &std::io::PipeWriter) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: dup and dup2 on descriptors this process owns; no memory is involved.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 {
            return false;
        }
        if libc::dup2(writer.as_raw_fd(), 2) < 0 {
            libc::close(saved);
            return false;
        }
        SAVED.store(saved, Ordering::SeqCst);
    }
    true
}

#[cfg(not(unix))]
fn redirect(_writer: &std::io::PipeWriter) -> bool {
    false
}

/// Points stderr back at the terminal; safe to call more than once, and from the panic hook.
pub fn restore() {
    let saved = SAVED.swap(-1, Ordering::SeqCst);
    if saved < 0 {
        return;
    }
    #[cfg(unix)]
    // SAFETY: `saved` is the duplicate made in `redirect`, closed only here, once.
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
}
