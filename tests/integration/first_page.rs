//! The first page of a local list (what the console draws first) is found without the
//! latest-per-package query over the whole table: from the index, narrowed by a threshold
//! guessed from the last rows inserted. Whatever way it is found, it must be exactly the first
//! rows of the whole list, and the pages after it the rest: checked here against an ordering
//! computed with rusqlite alone, on registries that push each way to its edge (a tie in the
//! newest second inside the page's edge, one wider than the candidates, BLOB and NULL dates,
//! old dates on the newest rows, the planted odd rows), and in the console's first frame.

use std::path::Path;
use std::time::Duration;

use pkgdeck::registry::{PackageSummary, FIRST_PAGE};
use pkgdeck::tui::Console;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::support::planted::planted_registry;
use crate::support::scratch::Scratch;
use crate::support::screen::{first_column, text_of};

/// Packages and versions of the generated registry: versions inserted round-robin, as a
/// registry that is published to over time is, so that the last rows hold many packages.
const PACKAGES: usize = 600;
const VERSIONS: usize = 4;

/// A registry of [`PACKAGES`] × [`VERSIONS`], one second a row, every seventh row in the
/// same second as the one before (ties in the newest second), then `edit` run on it.
fn generated(edit: &str) -> Scratch {
    generated_of(PACKAGES, edit)
}

/// [`generated`] with `packages` packages.
fn generated_of(packages: usize, edit: &str) -> Scratch {
    let scratch = Scratch::empty();
    let conn = rusqlite::Connection::open(&scratch.db).expect("create the registry");
    conn.execute_batch(
        "CREATE TABLE sys_packages (id TEXT NOT NULL, version TEXT NOT NULL, \
           manifest TEXT NOT NULL, metadata TEXT NOT NULL, hash TEXT NOT NULL, \
           created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP, \
           PRIMARY KEY (id, version)); \
         CREATE INDEX idx_packages_latest ON sys_packages(id, created_at DESC);",
    )
    .expect("create the table");
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1 * ?2) \
         INSERT INTO sys_packages (id, version, manifest, metadata, hash, created_at, updated_at) \
         SELECT printf('com.gen.p%05d', i % ?1), printf('1.%d.0', i / ?1), \
                json_object('id', printf('com.gen.p%05d', i % ?1), 'name', printf('Package %d', i % ?1), \
                            'version', printf('1.%d.0', i / ?1), 'type', 'app'), \
                '{}', printf('%064x', i), \
                datetime(1609459200 + i - (i % 7 = 3), 'unixepoch'), \
                datetime(1609459200 + i, 'unixepoch') \
         FROM n",
        rusqlite::params![packages as i64, VERSIONS as i64],
    )
    .expect("write the rows");
    conn.execute_batch(edit).expect("edit the registry");
    scratch
}

/// The rowids of the list's rows, newest first, as a plain reading says: each package's
/// latest row by `created_at DESC, rowid DESC`, ordered by that row's date (none counts as
/// '') and rowid, both descending.
fn expected_rowids(db: &Path) -> Vec<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the registry");
    let mut stmt = conn
        .prepare(
            "SELECT p.rowid FROM sys_packages p \
             WHERE p.rowid = (SELECT q.rowid FROM sys_packages q WHERE q.id = p.id \
                              ORDER BY q.created_at DESC, q.rowid DESC LIMIT 1) \
             ORDER BY coalesce(p.created_at, '') DESC, p.rowid DESC",
        )
        .expect("prepare the plain reading");
    let rows = stmt
        .query_map([], |r| r.get(0))
        .expect("read the latest rows");
    rows.map(|r| r.expect("a rowid")).collect()
}

/// The list's pages as the console receives them, checked against the plain reading and
/// against the whole list read in one pass; returns the first page.
fn check_pages(scratch: &Scratch) -> Vec<PackageSummary> {
    let expected = expected_rowids(&scratch.db);
    assert!(expected.len() > FIRST_PAGE, "more than one page");
    let registry = scratch.registry(true);
    let mut pages: Vec<Vec<PackageSummary>> = Vec::new();
    registry
        .list_with(&mut |page| pages.push(page))
        .expect("list_with");
    let first: Vec<i64> = pages[0].iter().map(|s| s.rowid).collect();
    assert_eq!(first, expected[..FIRST_PAGE], "the first page");
    let all: Vec<PackageSummary> = pages.concat();
    let rowids: Vec<i64> = all.iter().map(|s| s.rowid).collect();
    assert_eq!(rowids, expected, "the pages together");
    assert_eq!(
        all,
        registry.list().expect("list"),
        "every field as list() has it"
    );
    pages.swap_remove(0)
}

/// The date of the latest row of the package at `rank` (0-based) in the list.
fn date_at(scratch: &Scratch, rank: usize) -> String {
    let rowid = expected_rowids(&scratch.db)[rank];
    let conn = rusqlite::Connection::open(&scratch.db).expect("open the registry");
    conn.query_row(
        "SELECT created_at FROM sys_packages WHERE rowid = ?1",
        [rowid],
        |r| r.get(0),
    )
    .expect("the date")
}

/// Gives the latest rows of the packages ranked `from..=to` the date of the one ranked `from`:
/// one tie in the newest second across those ranks.
fn tie_ranks(scratch: &Scratch, from: usize, to: usize) {
    let date = date_at(scratch, from);
    let rowids = expected_rowids(&scratch.db)[from..=to].to_vec();
    let conn = rusqlite::Connection::open(&scratch.db).expect("open the registry");
    for rowid in rowids {
        conn.execute(
            "UPDATE sys_packages SET created_at = ?1 WHERE rowid = ?2",
            rusqlite::params![date, rowid],
        )
        .expect("tie a date");
    }
    assert_eq!(date_at(scratch, to), date, "the tie reaches rank {to}");
}

#[test]
fn the_first_page_is_the_head_of_the_list() {
    check_pages(&generated(""));
}

#[test]
fn a_tie_across_the_first_page_edge_keeps_the_order_by_rowid() {
    let scratch = generated("");
    tie_ranks(&scratch, FIRST_PAGE - 6, FIRST_PAGE + 10);
    check_pages(&scratch);
}

#[test]
fn a_tie_wider_than_the_candidates_still_gives_the_head_of_the_list() {
    let scratch = generated("");
    tie_ranks(&scratch, FIRST_PAGE - 10, FIRST_PAGE * 2);
    check_pages(&scratch);
    let scratch = generated("");
    tie_ranks(&scratch, 0, FIRST_PAGE * 3);
    check_pages(&scratch);
}

#[test]
fn blob_and_null_dates_and_old_dates_on_the_newest_rows() {
    // BLOB dates sort after every TEXT one (first, newest first); a package without any date
    // is the oldest; the last rows inserted carrying old dates make the guessed threshold
    // old, and the newest packages are then found among nearly all of them.
    check_pages(&generated(
        "UPDATE sys_packages SET created_at = CAST(created_at AS BLOB) WHERE rowid IN (5, 900, 1500); \
         UPDATE sys_packages SET created_at = NULL WHERE id IN ('com.gen.p00007', 'com.gen.p00300'); \
         UPDATE sys_packages SET created_at = datetime(1500000000 + rowid, 'unixepoch') \
           WHERE rowid > (SELECT max(rowid) - 300 FROM sys_packages);",
    ));
    // The last rows inserted all belong to a few packages: no threshold can be guessed.
    check_pages(&generated(
        "UPDATE sys_packages SET id = printf('com.gen.p%05d', rowid % 3), \
           version = printf('9.%d.0', rowid) \
           WHERE rowid > (SELECT max(rowid) - 400 FROM sys_packages);",
    ));
}

#[test]
fn a_large_registry_splits_the_scan_and_keeps_the_head_of_the_list() {
    // 60,000 rows: the index scan runs in two halves, split at an id.
    let scratch = generated_of(15_000, "");
    tie_ranks(&scratch, FIRST_PAGE - 6, FIRST_PAGE + 10);
    check_pages(&scratch);
    let scratch = generated_of(15_000, "");
    tie_ranks(&scratch, FIRST_PAGE - 10, FIRST_PAGE * 2);
    check_pages(&scratch);
}

#[test]
fn the_planted_registry_with_ties_and_odd_rows() {
    let scratch = Scratch::empty();
    planted_registry(&scratch.db, 2_400, 31);
    let conn = rusqlite::Connection::open(&scratch.db).expect("open the planted registry");
    conn.execute_batch(
        "UPDATE sys_packages SET created_at = (SELECT max(s.created_at) FROM sys_packages s \
           WHERE s.id = sys_packages.id) WHERE rowid % 33 = 2; \
         UPDATE sys_packages SET created_at = NULL \
           WHERE id IN (SELECT id FROM sys_packages WHERE rowid % 97 = 0);",
    )
    .expect("add ties and NULL dates");
    drop(conn);
    check_pages(&scratch);
}

#[test]
fn the_console_draws_the_head_of_the_list_first() {
    let scratch = generated("");
    tie_ranks(&scratch, 3, 12);
    let expected = check_pages(&scratch);
    let mut console = Console::open(scratch.registry(true)).expect("start the console");
    console.app.resize(160, 50);
    console
        .wait_for_first_page(Duration::from_secs(10))
        .expect("the first page");
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).expect("a test terminal");
    terminal
        .draw(|f| console.draw(f))
        .expect("draw the first frame");
    let screen = text_of(terminal.backend().buffer());
    let drawn: Vec<String> = first_column(&screen)
        .into_iter()
        .filter(|w| w != "ID")
        .collect();
    assert!(drawn.len() > 30, "a screenful of rows: {drawn:?}");
    let ids: Vec<&str> = expected.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(drawn, ids[..drawn.len()], "the first frame's rows");
}
