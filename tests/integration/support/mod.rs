//! What the integration tests share: scratch registries, a generated registry with planted
//! failures, a real `tursodb` server, a scripted HTTP responder, a tmux driver for the real
//! binary, console sessions drawn into a `TestBackend`, and one deterministic random number
//! generator.

pub mod assert;
pub mod console;
pub mod planted;
pub mod responder;
pub mod scratch;
pub mod screen;
pub mod tmux;
pub mod tursodb;

use std::path::PathBuf;

/// The crate's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
