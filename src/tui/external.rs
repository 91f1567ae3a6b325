//! Editing outside the console: `e` (and `Ctrl-E` in the built-in editor) hands the document
//! to the operator's `$VISUAL` or `$EDITOR`. The terminal loop suspends the console (raw
//! mode, the alternate screen, the mouse and the stderr capture are let go), runs the editor
//! on the draft file through `sh -c`, as git does (so `EDITOR="code --wait"` works), and
//! takes the console back when it exits.

use std::path::Path;
use std::process::{Command, ExitStatus};

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
