//! Editing outside the console: `e` (and `Ctrl-E` in the built-in editor) hands the document
//! to the operator's `$VISUAL` or `$EDITOR`. The terminal loop suspends the console (raw
//! mode, the alternate screen, the mouse and the stderr capture are let go), runs the editor
//! on the draft file through `sh -c`, as git does (so `EDITOR="code --wait"` works), and
//! takes the console back when it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use super::drafts::DraftError;

/// Why the text of an outside edit is not taken (the draft file keeps it either way).
#[derive(Debug, thiserror::Error)]
pub enum OutsideEditError {
    #[error("neither $VISUAL nor $EDITOR is set")]
    NoEditor,
    #[error("cannot run {command}: {source}; the text is kept in {}", .kept.display())]
    Run {
        command: String,
        kept: PathBuf,
        source: std::io::Error,
    },
    /// An editor that exits with a failure (vim's `:cq`) means "abort", as for git.
    #[error("{command} exited with {status}: its text is not taken (it is kept in {})", .kept.display())]
    Aborted {
        command: String,
        kept: PathBuf,
        status: ExitStatus,
    },
    #[error(transparent)]
    Draft(#[from] DraftError),
}

/// The editor command the operator chose: `$VISUAL`, else `$EDITOR`.
pub fn editor() -> Option<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
}

/// Runs `command` on `file` and waits for it: the file is the command's last argument.
pub fn edit(command: &str, file: &Path) -> std::io::Result<ExitStatus> {
    Command::new("sh")
        .arg("-c")
        .arg(format!("{command} \"$1\""))
        .arg("sh")
        .arg(file)
        .status()
}
