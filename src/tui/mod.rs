//! The console (spec section 5).

use crate::config::Dirs;
use crate::connect::Request;

/// Runs the console until the operator quits; returns the exit code.
pub fn run(_request: Request, _dirs: Dirs, _demo: bool) -> Result<i32, String> {
    Err("the console is not available in this build yet".into())
}
