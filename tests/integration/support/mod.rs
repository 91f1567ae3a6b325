//! What the integration tests share: scratch registries, a generated registry with planted
//! failures, a real `tursodb` server, a scripted
//! HTTP responder (and sqld's behaviours played by it in front of tursodb), a tmux driver for
//! the real binary, console sessions drawn into a `TestBackend`, and the real ObjectStack
//! packages for the Node oracles.

pub mod assert;
pub mod console;
pub mod generated;
pub mod objectstack;
pub mod peak;
pub mod planted;
pub mod responder;
pub mod scratch;
pub mod screen;
pub mod sqld;
pub mod tmux;
pub mod tursodb;

use std::path::PathBuf;

/// The crate's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
