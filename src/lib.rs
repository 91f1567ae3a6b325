//! pkgdeck: a terminal console and CLI for ObjectStack package registries.
//!
//! `registry` is the embedded service (no terminal code), `store` is where SQL runs (SQLite
//! or Hrana over HTTP), `cli` and `tui` are the two faces on top.

pub mod cli;
pub mod config;
pub mod connect;
pub mod demo;
pub mod registry;
pub mod store;
pub mod tui;
pub mod untrusted;
