//! pkgdeck: a terminal console and CLI for ObjectStack package registries.
//!
//! `registry` is the embedded service (no terminal code), `store` is where SQL runs (SQLite
//! or Hrana over HTTP), `cli` and `tui` are the two faces on top.

// Lint policy: nothing that came from a file, a database or the network is unwrapped
// (tests may: clippy.toml allows it there). The pedantic set comes with the full sweep.
#![deny(clippy::unwrap_used)]

pub mod cli;
pub mod config;
pub mod connect;
pub mod demo;
pub mod input;
pub mod interrupt;
pub mod output;
pub mod registry;
pub mod store;
pub mod tui;
pub mod untrusted;
