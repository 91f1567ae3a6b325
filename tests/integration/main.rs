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

// list --json however the list is read (streamed locally, by keys and rowid pages remotely)
// against a plain reading, byte for byte.
mod list_streaming;

// The first page of a local list (the console's first frame), found from the index alone,
// against a plain reading.
mod first_page;

// The server's view (spec 8): the boot replay and `doctor` against the real ObjectStack service
// booting the same registries, on SQLite files and on tursodb.
mod boot_oracle;
mod boot_tursodb;
mod guard_oracle;
mod server_suite;

// The ObjectStack schemas (spec 9): extraction drift, the samples, and agreement with the
// protocol's own zod validator; where the operator meets them (check, publish --strict,
// verify --schema, the editor).
mod schema_agreement;
mod schema_check;

// The Hrana store: every error path against a scripted responder, and a real tursodb.
mod hrana_errors;

// A misbehaving server (endless, huge, dripping, garbage, cut-off answers) and sqld's facts
// (batons and close, RESPONSE_TOO_LARGE, read-only tokens, busy, expired streams) played in
// front of tursodb: through the store and through the real binary.
mod misbehaving_server;

// Remote registries over TLS: a throwaway CA, a TLS terminator in front of tursodb, CONNECT
// proxies.
mod tls;

// The real binary as a CLI: on SQLite files, on tursodb and broken servers, two writers at
// once on one file, and many at once on one tursodb.
mod cli;
mod cli_remote;
// Two registries: compare and copy between files and tursodb servers.
mod cli_server;
mod compare;
mod concurrent_writers;
mod remote_writers;

// Hostile input, faults and the terminal: the catalogue of refusals, kill -9 at random
// moments of every write, writers racing the real ObjectStack service, and escape sequences
// through every CLI output.
mod crash;
mod hostile;
mod terminal_injection;

// The console drawn into a TestBackend, driven through its key handling: reading, writing,
// and what an operator relies on all day.
mod tui_compare;
mod tui_layout;
mod tui_operator;
mod tui_screens;
mod tui_server;
mod tui_writes;

// The real binary in a real terminal (tmux): reading, then writing, then what an operator
// relies on all day.
mod e2e_compare;
mod e2e_console;
mod e2e_hostile;
mod e2e_operator;
mod e2e_writes;
