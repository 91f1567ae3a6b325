//! pkgdeck: a terminal console and CLI for ObjectStack package registries.
//!
//! `registry` is the embedded service (no terminal code), `store` is where SQL runs (SQLite
//! or Hrana over HTTP), `cli` and `tui` are the two faces on top.

// Lint policy: nothing that came from a file, a database or the network is unwrapped
// (tests may: clippy.toml allows it there), and clippy's pedantic set holds, except:
#![deny(clippy::unwrap_used)]
#![warn(clippy::pedantic)]
#![allow(
    // Every public function would carry #[must_use]; the compiler already warns on unused Results.
    clippy::must_use_candidate,
    clippy::return_self_not_must_use,
    // Errors are typed (thiserror) and each variant says when it happens.
    clippy::missing_errors_doc,
    clippy::missing_panics_doc,
    // Prose names JSON keys, SQL and commands without backticks where it reads better.
    clippy::doc_markdown,
    // Terminal geometry (u16), row counts and byte sizes: values are bounded where they are made.
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    // Some functions are long because they are one table or one state machine.
    clippy::too_many_lines,
    // Building human text with push_str(&format!(..)) reads better than write! and its Result.
    clippy::format_push_string,
    // Domain names repeat by design (registry::RegistryError, boot::BootReport).
    clippy::module_name_repetitions,
    clippy::similar_names,
    clippy::many_single_char_names,
    // Matches list cases as the spec lists them, even when two arms do the same.
    clippy::match_same_arms,
    clippy::single_match_else,
    // Values handed to a thread or kept by the callee are taken by value on purpose.
    clippy::needless_pass_by_value,
    // Methods on a screen or a store keep the same shape whether or not they read self.
    clippy::unused_self,
    clippy::items_after_statements,
    // JavaScript's semantics are reproduced exactly: its numbers compare exactly.
    clippy::float_cmp,
    // One count of newlines for an error position does not call for the bytecount crate.
    clippy::naive_bytecount,
    // The canonical-form recogniser's per-byte helpers, inlined on measurement (issue 13).
    clippy::inline_always
)]

pub mod cli;
pub mod config;
pub mod connect;
pub(crate) mod demo;
pub(crate) mod input;
pub mod interrupt;
pub(crate) mod output;
pub mod registry;
pub mod store;
pub mod tui;
pub mod untrusted;
