//! pkgdeck's integration tests, in one binary (one link, one process, every test sharing one
//! pool of threads). Each module is one area; what they share is in `support`. Fixtures are in
//! `tests/fixtures/`, insta snapshots in `tests/integration/snapshots/`.
//!
//! Everything here uses real parts: real SQLite files, a real `tursodb --sync-server` on
//! loopback, Node.js as the oracle of `JSON.stringify`, and the real binary in tmux.

mod support;

// The canonical stored form: the reference service's golden cases, and Node.js itself on
// thousands of generated and mutated texts.
mod canonical_golden;
mod canonical_node;

// The registry's behaviour, every test run once on SQLite and once on tursodb.
mod registry_suite;

// Verify of a whole registry (split among readers, quick checks first) against a plain
// row-by-row reading, byte for byte.
mod verify_streaming;

// The server's view (spec 8): the boot replay against the real ObjectStack service booting the
// same registries.
mod boot_oracle;

// The Hrana store: every error path against a scripted responder, and a real tursodb.
mod hrana_errors;

// The real binary as a CLI: on SQLite files, on tursodb and broken servers, and two writers
// at once on one file.
mod cli;
mod cli_remote;
mod concurrent_writers;

// The console drawn into a TestBackend, driven through its key handling: reading, then
// writing.
mod tui_screens;
mod tui_writes;

// The real binary in a real terminal (tmux): reading, then writing.
mod e2e_console;
mod e2e_writes;
