//! The Hrana backend against a scripted responder (every error path) and against a real
//! `tursodb --sync-server` (reads, all-or-nothing batches, what its SQL supports).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pkgdeck::store::hrana::HranaStore;
use pkgdeck::store::sqlite::SqliteStore;
use pkgdeck::store::{Rows, Stmt, Store, StoreError, Target, Value};
use serde_json::json;

use crate::support::assert::{assert_contains, assert_matches};
use crate::support::responder::{Reply, Responder};
use crate::support::scratch::Scratch;
use crate::support::tursodb::{free_port, TursoServer};

/// A distinctive fake token: it must never show up in any error text or request body.
const TOKEN: &str = "tok_FAKE_c0ffee_4b1d";

/// The target as the CLI builds it: URL with `authToken=`, masked for display.
fn target(url: &str, with_token: bool) -> (String, Option<String>, String) {
    let text = if with_token {
        format!("{url}?authToken={TOKEN}")
    } else {
        url.to_owned()
    };
    let t = Target::parse(&text, None).unwrap();
    let shown = t.to_string();
    match t {
        Target::Remote { url, token } => (url, token, shown),
        Target::Local(_) => unreachable!(),
    }
}

fn open(url: &str, with_token: bool) -> Result<HranaStore, StoreError> {
    let (url, token, shown) = target(url, with_token);
    HranaStore::open(&url, token, false, shown)
}

/// Opens a store that must refuse to open.
fn open_refused(url: &str, with_token: bool) -> StoreError {
    open(url, with_token).err().expect("open must fail")
}

fn open_ok(r: &Responder) -> HranaStore {
    open(&r.url, true).unwrap_or_else(|e| panic!("open failed: {e}"))
}

fn select_one() -> Stmt {
    Stmt::new("SELECT 1", vec![])
}

fn insert(id: &str, version: &str) -> Stmt {
    Stmt::new(
        "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES (?, ?, ?, ?, ?)",
        vec![
            id.into(),
            version.into(),
            "{}".into(),
            "{}".into(),
            "h".into(),
        ],
    )
}

/// One sentence naming the masked target, without the token, that says each of `says`.
fn check_message(err: &StoreError, url: &str, says: &[&str]) -> String {
    let text = err.to_string();
    if std::env::var_os("PKGDECK_SHOW_ERRORS").is_some() {
        eprintln!("{text}");
    }
    assert!(!text.contains(TOKEN), "token leaked: {text}");
    assert!(!format!("{err:?}").contains(TOKEN), "token leaked: {err:?}");
    assert!(text.contains(url), "target not named: {text}");
    assert!(!text.contains('\n'), "more than one line: {text}");
    for stop in [". ", "! ", "? "] {
        assert!(!text.contains(stop), "more than one sentence: {text}");
    }
    assert_contains(&text, says);
    text
}

/// No request carried the token anywhere but in the Authorization header.
fn check_requests(r: &Responder, with_token: bool) {
    for req in r.requests() {
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/v2/pipeline");
        assert!(!req.body.contains(TOKEN), "token in a body: {}", req.body);
        assert!(!req.path.contains(TOKEN), "token in the path: {}", req.path);
        let auth = req.header("Authorization");
        if with_token {
            assert_eq!(auth, Some(format!("Bearer {TOKEN}").as_str()));
        } else {
            assert_eq!(auth, None);
        }
        for (name, value) in &req.headers {
            if !name.eq_ignore_ascii_case("authorization") {
                assert!(!value.contains(TOKEN), "token in header {name}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error paths against the Responder

#[test]
fn unauthorized_without_token_says_token_missing() {
    let r = Responder::start(vec![Reply::status(401, "Unauthorized")]);
    let err = open_refused(&r.url, false);
    assert_matches!(err, StoreError::Auth { status: 401, .. });
    check_message(&err, &r.url, &["token missing"]);
    assert_eq!(r.count(), 1, "401 is not retried");
    check_requests(&r, false);
}

#[test]
fn unauthorized_with_token_says_token_rejected() {
    let r = Responder::start(vec![Reply::status(
        401,
        &format!("Unauthorized: bad token {TOKEN}"),
    )]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Auth { status: 401, .. });
    check_message(&err, &r.url, &["token rejected", "(token ***)"]);
    assert_eq!(r.count(), 1);
    check_requests(&r, true);
}

#[test]
fn forbidden_is_an_auth_error() {
    let r = Responder::start(vec![Reply::status(403, "Forbidden")]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Auth { status: 403, .. });
    check_message(&err, &r.url, &["token rejected"]);
    check_requests(&r, true);
}

#[test]
fn not_found_is_not_a_libsql_endpoint() {
    let r = Responder::start(vec![Reply::status(404, "Not Found")]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Http { status: 404, .. });
    check_message(&err, &r.url, &["not a libSQL endpoint (no /v2/pipeline)"]);
    assert_eq!(r.count(), 1);
}

#[test]
fn server_error_quotes_a_short_clean_excerpt() {
    let body = format!(
        "Internal Server Error: disk on fire\nwhile serving token {TOKEN}\n{}",
        "x".repeat(2000)
    );
    let r = Responder::start(vec![Reply::status(500, &body)]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Http { status: 500, .. });
    let text = check_message(&err, &r.url, &["disk on fire while serving token ***"]);
    assert!(text.len() < 400, "excerpt too long: {} chars", text.len());
    assert_eq!(r.count(), 1, "500 is not retried");
}

#[test]
fn unavailable_is_retried_for_reads() {
    // open's SELECT 1 succeeds, then every request gets 503.
    let r = Responder::start(vec![Reply::hrana_ok(), Reply::status(503, "busy")]);
    let store = open_ok(&r);
    let err = store.query(&select_one()).unwrap_err();
    assert_matches!(err, StoreError::Http { status: 503, .. });
    check_message(&err, &r.url, &[]);
    assert_eq!(r.count(), 1 + 1 + 3, "one open, one read and three retries");
    check_requests(&r, true);
}

#[test]
fn unavailable_then_available_read_succeeds() {
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::status(502, "bad gateway"),
        Reply::status(504, "gateway timeout"),
        Reply::hrana_ok(),
    ]);
    let store = open_ok(&r);
    let rows = store.query(&select_one()).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)]]);
    assert_eq!(r.count(), 4);
}

#[test]
fn unavailable_is_not_retried_for_batch_writes() {
    let r = Responder::start(vec![Reply::hrana_ok(), Reply::status(503, "busy")]);
    let store = open_ok(&r);
    let err = store.batch(&[insert("a", "1")]).unwrap_err();
    assert_matches!(err, StoreError::Http { status: 503, .. });
    check_message(&err, &r.url, &[]);
    assert_eq!(r.count(), 2, "one open and one write, never repeated");
    check_requests(&r, true);
}

#[test]
fn closed_mid_flight_is_retried_for_reads_only() {
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::Close,
        Reply::Close,
        Reply::hrana_ok(),
    ]);
    let store = open_ok(&r);
    store.query(&select_one()).unwrap();
    assert_eq!(r.count(), 4);

    let r = Responder::start(vec![Reply::hrana_ok(), Reply::Close]);
    let store = open_ok(&r);
    let err = store.batch(&[insert("a", "1")]).unwrap_err();
    assert_matches!(err, StoreError::Unreachable { .. });
    check_message(&err, &r.url, &["may or may not have been written"]);
    assert_eq!(r.count(), 2);
}

#[test]
fn garbage_body_is_a_protocol_error() {
    let r = Responder::start(vec![Reply::status(200, "<<<this is not json>>>")]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Protocol { .. });
    check_message(&err, &r.url, &["not JSON"]);
}

#[test]
fn json_that_is_not_hrana_is_a_protocol_error() {
    let r = Responder::start(vec![Reply::json(
        200,
        json!({"hello": "world", "results": 3}),
    )]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Protocol { .. });
    check_message(&err, &r.url, &[]);

    // Well-formed, but the wrong number of results.
    let r = Responder::start(vec![Reply::json(
        200,
        json!({"baton": null, "base_url": null, "results": []}),
    )]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Protocol { .. });
    check_message(&err, &r.url, &[]);
}

#[test]
fn garbage_bytes_instead_of_http_is_a_protocol_error() {
    let r = Responder::start(vec![Reply::Garbage(
        b"\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n".to_vec(),
    )]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Protocol { .. });
    check_message(&err, &r.url, &[]);
}

#[test]
fn hrana_error_result_is_an_sql_error() {
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::json(
            200,
            json!({"baton": null, "base_url": null, "results": [
                {"type": "error", "error": {"message": "no such table: nope", "code": "SQLITE_ERROR"}}
            ]}),
        ),
    ]);
    let store = open_ok(&r);
    let err = store
        .query(&Stmt::new("SELECT * FROM nope", vec![]))
        .unwrap_err();
    assert_matches!(err, StoreError::Sql { .. });
    check_message(&err, &r.url, &["no such table: nope", "SELECT * FROM nope"]);
    assert_eq!(r.count(), 2, "an SQL error is not retried");
}

#[test]
fn slow_answer_times_out() {
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::hrana_ok().delayed(Duration::from_secs(3)),
    ]);
    let store = open_ok(&r).with_timeouts(Duration::from_secs(1), Duration::from_millis(500));
    let started = Instant::now();
    let err = store.query(&select_one()).unwrap_err();
    let took = started.elapsed();
    assert_matches!(err, StoreError::Timeout { .. });
    check_message(&err, &r.url, &[]);
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_eq!(r.count(), 2, "a timeout is not retried");
}

#[test]
fn slow_first_answer_times_out_at_open() {
    let r = Responder::start(vec![Reply::hrana_ok().delayed(Duration::from_secs(3))]);
    let (url, token, shown) = target(&r.url, true);
    let started = Instant::now();
    let err = HranaStore::open_with_timeouts(
        &url,
        token,
        false,
        shown,
        Duration::from_secs(1),
        Duration::from_millis(400),
    )
    .err()
    .expect("open must fail");
    assert_matches!(err, StoreError::Timeout { seconds: 1, .. });
    check_message(&err, &r.url, &[]);
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn connection_refused_is_unreachable() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let err = open_refused(&url, true);
    assert_matches!(err, StoreError::Unreachable { .. });
    check_message(&err, &url, &["refused"]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn unknown_host_is_unreachable() {
    let url = "http://pkgdeck-no-such-host.invalid";
    let err = open_refused(url, true);
    assert_matches!(err, StoreError::Unreachable { .. });
    check_message(&err, url, &[]);
}

#[test]
fn redirect_is_not_followed() {
    let r = Responder::start(vec![Reply::Status {
        status: 302,
        content_type: "text/plain".into(),
        body: String::new(),
        headers: vec![(
            "Location".into(),
            format!("https://elsewhere.example/v2/pipeline?authToken={TOKEN}"),
        )],
    }]);
    let err = open_refused(&r.url, true);
    assert_matches!(err, StoreError::Http { status: 302, .. });
    check_message(&err, &r.url, &["https://elsewhere.example/v2/pipeline"]);
    assert_eq!(r.count(), 1);
}

#[test]
fn read_only_store_refuses_batches_without_asking_the_server() {
    let r = Responder::start(vec![Reply::hrana_ok()]);
    let (url, token, shown) = target(&r.url, true);
    let store = HranaStore::open(&url, token, true, shown).unwrap();
    assert!(store.read_only());
    let err = store.batch(&[insert("a", "1")]).unwrap_err();
    assert_matches!(err, StoreError::ReadOnly { .. });
    assert_eq!(r.count(), 1);
}

// ---------------------------------------------------------------------------------------------
// Batons, base_url and close

#[test]
fn sqld_like_stream_uses_baton_and_base_url_and_is_closed_by_the_next_request() {
    let second = Responder::start(vec![Reply::hrana_ok_closed()]);
    let first = Responder::start(vec![
        Reply::hrana_ok_with(Some("baton-1"), Some(&second.url)),
        Reply::hrana_ok_closed(),
    ]);
    let store = open_ok(&first);
    assert!(store.has_stream());
    assert_eq!(first.requests()[0].json()["baton"], json!(null));
    // The next request uses the stream, at its base_url, and closes it in the same pipeline.
    store.query(&select_one()).unwrap();
    assert!(!store.has_stream());
    let reqs = second.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].json()["baton"], "baton-1");
    let kinds: Vec<_> = reqs[0].json()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].clone())
        .collect();
    assert_eq!(kinds, [json!("execute"), json!("close")]);
    // A later request opens a stream at the target and closes it at once; dropping the store
    // sends nothing more.
    store.query(&select_one()).unwrap();
    drop(store);
    let reqs = first.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].json()["baton"], json!(null));
    assert_eq!(reqs[1].json()["requests"][1], json!({"type": "close"}));
    assert_eq!(second.count(), 1);
    check_requests(&first, true);
    check_requests(&second, true);
}

#[test]
fn a_stream_left_open_is_closed_when_the_store_is_dropped() {
    let r = Responder::start(vec![
        Reply::hrana_ok_with(Some("baton-1"), None),
        Reply::hrana_closed(),
    ]);
    let store = open_ok(&r);
    assert!(store.has_stream());
    drop(store);
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].json(),
        json!({"baton": "baton-1", "requests": [{"type": "close"}]})
    );
}

#[test]
fn tursodb_like_null_baton_is_never_closed() {
    let r = Responder::start(vec![Reply::hrana_ok()]);
    let store = open_ok(&r);
    assert!(!store.has_stream());
    store.query(&select_one()).unwrap();
    store.close_stream();
    drop(store);
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    for req in reqs {
        assert_eq!(req.json()["baton"], json!(null));
        assert!(!req.body.contains("\"close\""), "{}", req.body);
    }
}

/// The answer to a one-statement write batch (6 steps) that inserted one row, then the close.
fn batch_ok_closed() -> serde_json::Value {
    json!({"baton": null, "base_url": null, "results": [{"type": "ok", "response": {
    "type": "batch", "result": {
        "step_results": [
            {"cols": [], "rows": [], "affected_row_count": 0},
            {"cols": [{"name": "c"}], "rows": [[{"type": "integer", "value": "5"}]], "affected_row_count": 0},
            {"cols": [], "rows": [], "affected_row_count": 1},
            {"cols": [{"name": "c"}], "rows": [[{"type": "integer", "value": "6"}]], "affected_row_count": 0},
            {"cols": [], "rows": [], "affected_row_count": 0},
            null
        ],
        "step_errors": [null, null, null, null, null, null]
    }}}, {"type": "ok", "response": {"type": "close"}}]})
}

#[test]
fn expired_stream_is_replaced_even_for_a_batch() {
    let r = Responder::start(vec![
        Reply::hrana_ok_with(Some("old-baton"), None),
        Reply::json(
            400,
            json!({"message": "The stream has expired due to inactivity", "code": "STREAM_EXPIRED"}),
        ),
        Reply::json(200, batch_ok_closed()),
    ]);
    let store = open_ok(&r);
    let rows = store.batch(&[insert("a", "1")]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].affected, 1);
    let reqs = r.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].json()["baton"], "old-baton");
    assert_eq!(reqs[2].json()["baton"], json!(null), "a fresh stream");
    assert_eq!(
        reqs[1].json()["requests"],
        reqs[2].json()["requests"],
        "the same batch, sent again"
    );
    // The batch is BEGIN IMMEDIATE, count, statement, count, COMMIT, ROLLBACK; then close.
    let steps = reqs[2].json()["requests"][0]["batch"]["steps"].clone();
    assert_eq!(steps.as_array().unwrap().len(), 6);
    assert_eq!(steps[0]["stmt"]["sql"], "BEGIN IMMEDIATE");
    assert_eq!(steps[4]["stmt"]["sql"], "COMMIT");
    assert_eq!(
        steps[5]["condition"],
        json!({"type": "not", "cond": {"type": "ok", "step": 4}})
    );
    assert_eq!(reqs[2].json()["requests"][1], json!({"type": "close"}));
}

// ---------------------------------------------------------------------------------------------
// Against a real tursodb --sync-server

const READ_ROWS: &str = "SELECT id, version, hash, created_at FROM sys_packages ORDER BY rowid";

fn hrana_on(server: &TursoServer) -> HranaStore {
    HranaStore::open(&server.url, None, false, server.url.clone())
        .unwrap_or_else(|e| panic!("open {}: {e}\n{}", server.url, server.log()))
}

/// A scratch copy of the fixture served by a real tursodb, and a Hrana store on it (drop the
/// store before stopping the server).
fn served() -> (Scratch, TursoServer, HranaStore) {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let store = hrana_on(&server);
    (scratch, server, store)
}

fn count(store: &dyn Store) -> i64 {
    store
        .query(&Stmt::new("SELECT count(*) FROM sys_packages", vec![]))
        .unwrap()
        .rows[0][0]
        .as_i64()
        .unwrap()
}

#[test]
fn tursodb_reads_the_seed_like_sqlite() {
    let scratch = Scratch::new();
    let db = &scratch.db;
    let expected: Rows = SqliteStore::open(db, true)
        .unwrap()
        .query(&Stmt::new(READ_ROWS, vec![]))
        .unwrap();
    assert_eq!(expected.rows.len(), 12);

    let server = TursoServer::start(db);
    let store = hrana_on(&server);
    let got = store.query(&Stmt::new(READ_ROWS, vec![])).unwrap();
    assert_eq!(got.columns, ["id", "version", "hash", "created_at"]);
    assert_eq!(got.rows, expected.rows);
    assert!(!store.has_stream(), "tursodb hands out no baton");
    drop(store);
    server.stop();
}

#[test]
fn tursodb_round_trips_every_value_type() {
    let (_scratch, server, store) = served();
    let args = vec![
        Value::Null,
        Value::Integer(i64::MAX),
        Value::Integer(i64::MIN),
        Value::Real(-1.25e-7),
        Value::Text("héllo \"wörld\" \u{1F980}\n".into()),
        Value::Blob((0u8..=255).collect()),
        Value::Blob(vec![]),
    ];
    let rows = store
        .query(&Stmt::new("SELECT ?, ?, ?, ?, ?, ?, ?", args.clone()))
        .unwrap();
    assert_eq!(rows.rows, vec![args]);
    let types = store
        .query(&Stmt::new(
            "SELECT typeof(?), typeof(?), typeof(?)",
            vec![Value::Integer(1), Value::Real(1.0), Value::Blob(vec![1])],
        ))
        .unwrap();
    assert_eq!(
        types.rows[0],
        vec![
            Value::from("integer"),
            Value::from("real"),
            Value::from("blob")
        ]
    );
    drop(store);
    server.stop();
}

#[test]
fn tursodb_failed_batch_writes_nothing() {
    let (scratch, server, store) = served();
    // The second statement hits the (id, version) primary key of a seeded row.
    let err = store
        .batch(&[insert("brand.new", "1.0.0"), insert("sp", "0.0.1")])
        .unwrap_err();
    assert_matches!(err, StoreError::Sql { .. });
    let text = err.to_string();
    assert_contains(&text, &["UNIQUE constraint failed", "statement 2 of 2"]);
    assert_eq!(count(&store), 12);
    // The shared connection is not left inside a transaction.
    store
        .batch(&[Stmt::new(
            "DELETE FROM sys_packages WHERE id = 'nothing'",
            vec![],
        )])
        .unwrap();
    drop(store);
    server.stop();
    let sqlite = SqliteStore::open(&scratch.db, true).unwrap();
    assert_eq!(count(&sqlite), 12);
}

#[test]
fn tursodb_batch_is_visible_after_stop() {
    let (scratch, server, store) = served();
    let results = store
        .batch(&[
            insert("brand.new", "1.0.0"),
            Stmt::new(
                "UPDATE sys_packages SET hash = ? WHERE id = ?",
                vec!["rehashed".into(), "com.acme.helpdesk".into()],
            ),
            Stmt::new(
                "SELECT id, hash FROM sys_packages WHERE id = ?",
                vec!["brand.new".into()],
            ),
        ])
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].affected, 1);
    assert_eq!(results[1].affected, 4);
    assert_eq!(
        results[2].rows,
        vec![vec![Value::from("brand.new"), Value::from("h")]]
    );
    assert_eq!(count(&store), 13);
    drop(store);
    let log = server.log();
    server.stop();
    assert!(
        !log.contains("close"),
        "a close request reached tursodb: {log}"
    );

    // The .db file alone (no -wal content) holds the batch.
    let wal = PathBuf::from(format!("{}-wal", scratch.db.display()));
    if let Ok(meta) = std::fs::metadata(&wal) {
        assert_eq!(
            meta.len(),
            0,
            "the checkpoint left data in {}",
            wal.display()
        );
    }
    let sqlite = SqliteStore::open(&scratch.db, true).unwrap();
    assert_eq!(count(&sqlite), 13);
    let rehashed = sqlite
        .query(&Stmt::new(
            "SELECT count(*) FROM sys_packages WHERE hash = 'rehashed'",
            vec![],
        ))
        .unwrap();
    assert_eq!(rehashed.rows[0][0], Value::Integer(4));
    let integrity = sqlite
        .query(&Stmt::new("PRAGMA integrity_check", vec![]))
        .unwrap();
    assert_eq!(integrity.rows[0][0], Value::from("ok"));
}

#[test]
fn tursodb_sql_errors_are_sql_errors() {
    let (_scratch, server, store) = served();
    let err = store.query(&Stmt::new("SELEC 1", vec![])).unwrap_err();
    assert_matches!(err, StoreError::Sql { .. });
    assert!(err.to_string().contains("syntax error"), "{err}");
    let err = store
        .query(&Stmt::new("SELECT * FROM nope", vec![]))
        .unwrap_err();
    assert_matches!(err, StoreError::Sql { .. });
    drop(store);
    server.stop();
}

/// Which SQL the registry may rely on with tursodb 0.6.0. Run with `--nocapture` to see the
/// table. Reads must give exactly the rows SQLite gives on the same file; writes must do what
/// SQLite would. The expectations pin today's answers so a change in tursodb shows up here.
#[test]
fn tursodb_sql_support() {
    let reference_copy = Scratch::new();
    let reference = SqliteStore::open(&reference_copy.db, false).unwrap();
    let (_scratch, server, store) = served();
    let s = |sql: &str| Stmt::new(sql, vec![]);

    // (feature, statement, expected to work); each runs on tursodb and on SQLite, and the
    // rows must match. Reads first, then writes, in this order on both.
    let probes: Vec<(&str, Stmt, bool)> = vec![
        (
            "window functions: row_number() OVER (PARTITION BY … ORDER BY …)",
            s("SELECT id, version, row_number() OVER (PARTITION BY id ORDER BY created_at DESC, rowid DESC) AS rn FROM sys_packages ORDER BY id, rn"),
            true,
        ),
        (
            "window functions: max() OVER (PARTITION BY …)",
            s("SELECT id, max(version) OVER (PARTITION BY id) FROM sys_packages ORDER BY rowid"),
            true,
        ),
        (
            "correlated subquery with ORDER BY … LIMIT 1 inside WHERE",
            s("SELECT p.id, p.version FROM sys_packages p WHERE p.rowid = (SELECT q.rowid FROM sys_packages q WHERE q.id = p.id ORDER BY q.created_at DESC, q.rowid DESC LIMIT 1) ORDER BY p.id"),
            true,
        ),
        ("rowid", s("SELECT rowid, id FROM sys_packages ORDER BY rowid DESC"), true),
        (
            "json_valid / json_extract",
            s("SELECT json_valid(manifest), json_extract(manifest, '$.name'), json_extract(metadata, '$'), json_valid('{x') FROM sys_packages ORDER BY rowid"),
            true,
        ),
        (
            "INDEXED BY",
            s("SELECT id, version FROM sys_packages INDEXED BY idx_packages_latest WHERE id = 'com.acme.helpdesk' ORDER BY created_at DESC, rowid DESC LIMIT 1"),
            true,
        ),
        (
            "CTE (WITH … SELECT)",
            s("WITH latest AS (SELECT id, max(rowid) AS r FROM sys_packages GROUP BY id) SELECT p.id, p.version FROM sys_packages p JOIN latest ON p.rowid = latest.r ORDER BY p.id"),
            true,
        ),
        (
            "recursive CTE (WITH RECURSIVE)",
            s("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT sum(x) FROM c"),
            false,
        ),
        (
            "row-value comparison (a, b) < (?, ?)",
            Stmt::new(
                "SELECT id, version FROM sys_packages WHERE (id, version) < (?, ?) ORDER BY id, version",
                vec!["dup".into(), "9".into()],
            ),
            true,
        ),
        (
            "json_group_array / json_each",
            s("SELECT json_group_array(version), (SELECT count(*) FROM json_each('[1,2]')) FROM (SELECT version FROM sys_packages WHERE id = 'com.acme.helpdesk' ORDER BY rowid)"),
            true,
        ),
        (
            "pragma_table_info() table function",
            s("SELECT name, type, \"notnull\", pk > 0 FROM pragma_table_info('sys_packages') ORDER BY cid"),
            true,
        ),
        (
            "pragma_table_info() pk positions of a composite key",
            s("SELECT name, pk FROM pragma_table_info('sys_packages') WHERE pk > 0 ORDER BY cid"),
            false,
        ),
        (
            "INSERT … ON CONFLICT(id, version) DO UPDATE SET … WHERE …",
            s("INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES ('sp', '0.0.1', '{}', '{}', 'H2') \
               ON CONFLICT(id, version) DO UPDATE SET hash = excluded.hash, updated_at = CURRENT_TIMESTAMP \
               WHERE sys_packages.hash <> excluded.hash RETURNING id, version, hash"),
            true,
        ),
        (
            "… and its WHERE skipping an unchanged row",
            s("INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES ('sp', '0.0.1', '{}', '{}', 'H2') \
               ON CONFLICT(id, version) DO UPDATE SET hash = excluded.hash WHERE sys_packages.hash <> excluded.hash RETURNING id"),
            true,
        ),
        (
            "CURRENT_TIMESTAMP column defaults",
            s("INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES ('ts', '1', '{}', '{}', 'h') RETURNING created_at IS NOT NULL, updated_at = created_at, length(created_at)"),
            true,
        ),
        (
            "DELETE … RETURNING",
            s("DELETE FROM sys_packages WHERE id = 'ts' RETURNING id, version"),
            true,
        ),
        (
            "UPDATE … RETURNING",
            s("UPDATE sys_packages SET hash = hash WHERE id = 'num' RETURNING id"),
            true,
        ),
        (
            "INSERT … ON CONFLICT DO NOTHING",
            s("INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES ('num', '1.0.0', '{}', '{}', 'x') ON CONFLICT DO NOTHING RETURNING id"),
            true,
        ),
        ("changes()", s("SELECT changes()"), true),
    ];
    let mut table = String::from("| feature | tursodb 0.6.0 |\n| --- | --- |\n");
    let mut surprises = Vec::new();
    for (feature, stmt, expected) in &probes {
        let remote = store.batch(std::slice::from_ref(stmt));
        let local = reference.batch(std::slice::from_ref(stmt));
        // Rows changed: compared for writes only (SQLite's count after a SELECT is stale).
        let write = ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .any(|w| stmt.sql.trim_start().starts_with(w));
        let note = match (&remote, &local) {
            (Ok(r), Ok(l)) if write && r[0].affected != l[0].affected => format!(
                "WRONG: {} rows changed where SQLite changes {}",
                r[0].affected, l[0].affected
            ),
            (Ok(r), Ok(l)) if r[0].rows == l[0].rows => {
                format!("works ({} rows, same as SQLite)", r[0].rows.len())
            }
            (Ok(r), Ok(l)) => format!("WRONG: {:?} where SQLite gives {:?}", r[0].rows, l[0].rows),
            (Err(e), _) => format!("fails: {e}"),
            (Ok(_), Err(e)) => format!("works, but SQLite fails: {e}"),
        };
        let works = note.starts_with("works");
        table.push_str(&format!("| {feature} | {note} |\n"));
        if works != *expected {
            surprises.push(format!("{feature}: expected works={expected}, got {note}"));
        }
    }
    println!("{table}");
    let all = s(
        "SELECT id, version, manifest, metadata, hash, created_at FROM sys_packages ORDER BY rowid",
    );
    assert_eq!(
        store.query(&all).unwrap().rows,
        reference.query(&all).unwrap().rows
    );
    drop(store);
    server.stop();
    assert!(surprises.is_empty(), "{}\n{table}", surprises.join("\n"));
}
