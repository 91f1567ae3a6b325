//! A misbehaving server (spec 10.2) and the facts of sqld (spec 3 (a)–(e)), each case through
//! the Hrana store and, where an operator would meet it, through the real binary: exit code,
//! one sentence naming the masked target, never the token.
//!
//! The broken answers (endless, huge, dripping, garbage, cut off) come from the scripted
//! [`Responder`]; sqld's behaviours (batons and `close`, `RESPONSE_TOO_LARGE`, a read-only
//! token's 403, "database is locked", expired streams) come from [`Sqld`], which plays sqld in
//! front of a real tursodb, so the rows are real.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use pkgdeck::store::hrana::{HranaStore, MAX_RESPONSE_BYTES};
use pkgdeck::store::{Stmt, Store, StoreError, Target, Value};
use serde_json::{json, Value as Json};

use crate::support::assert::assert_matches;
use crate::support::responder::{Recorded, Reply, Responder};
use crate::support::scratch::Scratch;
use crate::support::sqld::{Sqld, SqldRules};
use crate::support::tursodb::TursoServer;

/// A distinctive token: it must never show up in any output.
const TOKEN: &str = "tok_MISBEHAVE_7e57_c0de";
/// A token the emulated sqld lets read but not write.
const READ_TOKEN: &str = "tok_READONLY_51de_cafe";

// ---------------------------------------------------------------------------------------------
// Helpers

fn store_on(url: &str, token: &str) -> Result<HranaStore, StoreError> {
    let t = Target::parse(url, Some(token.to_owned())).unwrap();
    let shown = t.to_string();
    let Target::Remote { url, token } = t else {
        unreachable!()
    };
    HranaStore::open(&url, token, false, shown)
}

/// One sentence that names `url`, says each of `says`, and holds no token.
fn one_sentence(text: &str, url: &str, says: &[&str]) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
    assert!(!text.contains(READ_TOKEN), "token leaked: {text}");
    assert!(text.contains(url), "target not named: {text}");
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "more than one line: {text}"
    );
    for stop in [". ", "! ", "? "] {
        assert!(!text.contains(stop), "more than one sentence: {text}");
    }
    for s in says {
        assert!(text.contains(s), "{text:?} should say {s:?}");
    }
}

fn select_one() -> Stmt {
    Stmt::new("SELECT 1", vec![])
}

/// `pkgdeck --db URL ARGS…` with `token` in `PKGDECK_AUTH_TOKEN` and the scratch dirs.
fn run(scratch: &Scratch, url: &str, token: &str, args: &[&str]) -> Output {
    scratch
        .pkgdeck()
        .arg("--db")
        .arg(url)
        .args(args)
        .env("PKGDECK_AUTH_TOKEN", token)
        .stdin(Stdio::null())
        .output()
        .expect("run pkgdeck")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 3 and one sentence on stderr naming `url` and saying each of `says`; no token in
/// stdout or stderr.
fn fails_with(o: &Output, url: &str, says: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(3), "{}{err}", stdout(o));
    assert!(!stdout(o).contains(TOKEN) && !stdout(o).contains(READ_TOKEN));
    one_sentence(&err, url, says);
    err
}

fn succeeds(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
    let all = format!("{}{}", stdout(o), stderr(o));
    assert!(!all.contains(TOKEN) && !all.contains(READ_TOKEN), "{all}");
    stdout(o)
}

/// A publish document for `id` whose metadata is about `bytes` long.
fn document(id: &str, version: &str, bytes: usize) -> String {
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"Package {id}"}},"metadata":{{"objects":[{{"name":"o","label":"{}"}}]}}}}"#,
        "x".repeat(bytes)
    )
}

/// The fixture registry plus `count` packages of about `bytes` each (and `extra`), published
/// through the library into the local file.
fn registry_with(count: usize, bytes: usize, extra: &[(&str, usize)]) -> Scratch {
    let scratch = Scratch::new();
    let registry = scratch.registry(false);
    for i in 0..count {
        registry
            .publish(
                &document(&format!("big.p{i:03}"), "1.0.0", bytes),
                "doc",
                Default::default(),
            )
            .unwrap();
    }
    for (id, bytes) in extra {
        registry
            .publish(&document(id, "1.0.0", *bytes), "doc", Default::default())
            .unwrap();
    }
    scratch
}

/// The `LIMIT` of every paged read sqld was sent, in order.
fn page_limits(sqld: &Sqld) -> Vec<i64> {
    let mut limits = Vec::new();
    for p in sqld.pipelines() {
        for r in p["requests"].as_array().unwrap() {
            let sql = r["stmt"]["sql"].as_str().unwrap_or("");
            if let Some(at) = sql.rfind(" LIMIT ") {
                if let Ok(n) = sql[at + 7..].trim().parse() {
                    limits.push(n);
                }
            }
        }
    }
    limits
}

// ---------------------------------------------------------------------------------------------
// Endless and huge bodies: stopped at 64 MiB, memory bounded

#[test]
fn an_endless_body_stops_at_the_cap_with_one_sentence() {
    let r = Responder::start(vec![Reply::endless()]);
    let err = store_on(&r.url, TOKEN).err().expect("open must fail");
    assert_matches!(err, StoreError::TooLarge { .. });
    one_sentence(&err.to_string(), &r.url, &["larger than 64 MiB"]);
    assert_eq!(
        r.count(),
        1,
        "an answer over the cap is not asked for again"
    );
    // It read up to the cap (not less), and stopped there (kernel buffers aside).
    let sent = r.body_bytes_sent();
    assert!(sent >= MAX_RESPONSE_BYTES as u64, "sent only {sent}");
    assert!(
        sent < MAX_RESPONSE_BYTES as u64 + (32 << 20),
        "kept reading: {sent}"
    );
}

#[test]
fn a_body_declared_huge_is_refused_before_it_is_read() {
    let r = Responder::start(vec![Reply::huge(10 << 30)]);
    let err = store_on(&r.url, TOKEN).err().expect("open must fail");
    assert_matches!(err, StoreError::TooLarge { .. });
    one_sentence(&err.to_string(), &r.url, &["larger than 64 MiB"]);
    assert!(r.body_bytes_sent() < 32 << 20, "{}", r.body_bytes_sent());
}

/// The binary against an endless body: exit 3, one sentence, and a peak memory bounded by the
/// cap (the run this replaces reached 2.1 GB). Run with `--nocapture` to see the peak.
#[test]
fn the_binary_against_an_endless_body_stays_within_the_cap() {
    let scratch = Scratch::empty();
    let r = Responder::start(vec![Reply::endless()]);
    let mut command = scratch.pkgdeck();
    command
        .args(["--db", &r.url, "list"])
        .env("PKGDECK_AUTH_TOKEN", TOKEN);
    let started = Instant::now();
    let measured = crate::support::peak::run(&command, None);
    let (o, peak) = (measured.output, measured.peak);
    fails_with(&o, &r.url, &["larger than 64 MiB"]);
    let mib = peak as f64 / (1024.0 * 1024.0);
    println!(
        "endless body: pkgdeck list exited {:?} after {:?}, peak RSS {mib:.1} MiB, {} MiB sent",
        o.status.code(),
        started.elapsed(),
        r.body_bytes_sent() >> 20
    );
    assert!(peak > 0, "no VmHWM read");
    assert!(
        peak < (MAX_RESPONSE_BYTES + (48 << 20)) as u64,
        "peak RSS {mib:.1} MiB is not bounded by the 64 MiB cap"
    );
}

// ---------------------------------------------------------------------------------------------
// Slow drip, never answering, garbage, cut off

#[test]
fn a_slow_drip_is_bounded_by_the_request_timeout() {
    for in_head in [false, true] {
        let r = Responder::start(vec![
            Reply::hrana_ok(),
            Reply::Drip {
                every: Duration::from_millis(100),
                in_head,
            },
        ]);
        let store = store_on(&r.url, TOKEN)
            .unwrap()
            .with_timeouts(Duration::from_secs(1), Duration::from_millis(1500));
        let started = Instant::now();
        let err = store.query(&select_one()).unwrap_err();
        let took = started.elapsed();
        assert_matches!(err, StoreError::Timeout { seconds: 2, .. });
        one_sentence(&err.to_string(), &r.url, &["did not answer within 2 s"]);
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
            "in_head {in_head}: took {took:?}"
        );
        assert_eq!(r.count(), 2, "a timeout is not retried");
        assert!(r.body_bytes_sent() >= 10, "the drip never started");
    }
}

/// Through the binary, with the real 30 s request timeout: a server that sends a byte every
/// second and never finishes holds pkgdeck for 30 s, not longer.
#[test]
fn the_binary_against_a_slow_drip_gives_up_after_30_s() {
    let scratch = Scratch::empty();
    let r = Responder::start(vec![Reply::drip()]);
    let started = Instant::now();
    let o = run(&scratch, &r.url, TOKEN, &["list"]);
    let took = started.elapsed();
    fails_with(&o, &r.url, &["did not answer within 30 s"]);
    assert!(
        took >= Duration::from_secs(29) && took < Duration::from_secs(40),
        "took {took:?}"
    );
    assert!(r.body_bytes_sent() >= 25, "{}", r.body_bytes_sent());
}

#[test]
fn garbage_and_cut_off_answers_are_one_sentence() {
    let scratch = Scratch::empty();
    let cases: Vec<(Reply, &[&str])> = vec![
        (
            Reply::status(200, "\x1b]0;PWNED\x07<<<not json>>>"),
            &["not valid Hrana", "not JSON"],
        ),
        (
            Reply::Garbage(b"\x00\x01\x02 NOT HTTP\r\n\r\n".to_vec()),
            &["not valid Hrana", "not HTTP"],
        ),
        (
            Reply::status(
                200,
                r#"{"baton":null,"base_url":null,"results":[{"type":"ok","respo"#,
            ),
            &["not valid Hrana", "cut off"],
        ),
        (
            Reply::cut(),
            &["closed in the middle of the answer (after 70 bytes of it)"],
        ),
    ];
    for (reply, says) in cases {
        let r = Responder::start(vec![reply]);
        let o = run(&scratch, &r.url, TOKEN, &["list"]);
        let err = fails_with(&o, &r.url, says);
        assert!(!err.contains('\x1b'), "{err:?}");
    }
}

#[test]
fn a_cut_off_write_is_never_sent_again() {
    let r = Responder::start(vec![Reply::hrana_ok(), Reply::cut()]);
    let store = store_on(&r.url, TOKEN).unwrap();
    let err = store
        .batch(&[Stmt::new("DELETE FROM t", vec![])])
        .unwrap_err();
    one_sentence(
        &err.to_string(),
        &r.url,
        &["may or may not have been written"],
    );
    assert_eq!(r.count(), 2);
}

// ---------------------------------------------------------------------------------------------
// 403 for a token that only reads

#[test]
fn a_write_refused_with_403_says_the_token_is_read_only() {
    let forbidden = json!({"error": "Authorization forbidden: Current session doesn't not have Write permission to namespace default"});
    let r = Responder::start(vec![Reply::hrana_ok(), Reply::json(403, forbidden.clone())]);
    let store = store_on(&r.url, TOKEN).unwrap();
    let err = store
        .batch(&[Stmt::new("DELETE FROM t", vec![])])
        .unwrap_err();
    assert_matches!(err, StoreError::TokenReadOnly { .. });
    one_sentence(&err.to_string(), &r.url, &["this token is read-only"]);
    assert!(!err.to_string().contains("token rejected"));
    assert_eq!(r.count(), 2, "not retried");
    // A read refused with 403 is still a rejected token; 401 on a write too.
    let r = Responder::start(vec![Reply::json(403, forbidden)]);
    let err = store_on(&r.url, TOKEN).err().unwrap();
    one_sentence(&err.to_string(), &r.url, &["token rejected"]);
    let r = Responder::start(vec![Reply::hrana_ok(), Reply::status(401, "Unauthorized")]);
    let err = store_on(&r.url, TOKEN)
        .unwrap()
        .batch(&[Stmt::new("DELETE FROM t", vec![])])
        .unwrap_err();
    one_sentence(&err.to_string(), &r.url, &["token rejected"]);
}

#[test]
fn the_binary_with_a_read_only_token_reads_and_is_told_why_it_cannot_write() {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            read_only_token: Some(READ_TOKEN.into()),
            ..SqldRules::default()
        },
    );
    let list = succeeds(&run(&scratch, &sqld.url, READ_TOKEN, &["list", "--json"]));
    assert_eq!(
        serde_json::from_str::<Json>(&list)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        9
    );
    let doc = scratch.file("new.json", document("ro.attempt", "1.0.0", 10));
    let o = run(&scratch, &sqld.url, READ_TOKEN, &["publish", &doc]);
    fails_with(&o, &sqld.url, &["this token is read-only", "(token ***)"]);
    let o = run(
        &scratch,
        &sqld.url,
        READ_TOKEN,
        &["delete", "com.acme.crm", "--yes"],
    );
    fails_with(&o, &sqld.url, &["this token is read-only"]);
    // Nothing was written, and a token that may write publishes.
    succeeds(&run(&scratch, &sqld.url, TOKEN, &["publish", &doc]));
    assert_eq!(sqld.open_streams(), 0);
    drop(sqld);
    server.stop();
    let rows = crate::support::scratch::stored_rows(&scratch.db);
    assert_eq!(rows.len(), 13);
    assert_eq!(rows.iter().filter(|r| r.0 == "com.acme.crm").count(), 1);
}

// ---------------------------------------------------------------------------------------------
// 400 invalid baton and expired streams

#[test]
fn an_invalid_baton_reopens_the_stream_for_a_read() {
    let r = Responder::start(vec![
        Reply::hrana_ok_with(Some("b1"), None),
        Reply::status(400, "Received an invalid baton"),
        Reply::hrana_ok_closed(),
    ]);
    let store = store_on(&r.url, TOKEN).unwrap();
    let rows = store.query(&select_one()).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)]]);
    let reqs = r.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].json()["baton"], "b1");
    assert_eq!(reqs[2].json()["baton"], Json::Null);
    assert_eq!(reqs[1].json()["requests"], reqs[2].json()["requests"]);
}

#[test]
fn an_invalid_baton_reopens_the_stream_for_a_write_only_when_nothing_ran() {
    // The server refused the stream: the batch never ran, so it is sent once more.
    let batch_ok = |closing: bool| {
        let mut results = vec![
            json!({"type": "ok", "response": {"type": "batch", "result": {
            "step_results": [
                {"cols": [], "rows": [], "affected_row_count": 0},
                {"cols": [{"name": "c"}], "rows": [[{"type": "integer", "value": "0"}]]},
                {"cols": [], "rows": [], "affected_row_count": 1},
                {"cols": [{"name": "c"}], "rows": [[{"type": "integer", "value": "1"}]]},
                {"cols": [], "rows": [], "affected_row_count": 0},
                null
            ],
            "step_errors": [null, null, null, null, null, null]}}}),
        ];
        if closing {
            results.push(json!({"type": "ok", "response": {"type": "close"}}));
        }
        Reply::json(
            200,
            json!({"baton": null, "base_url": null, "results": results}),
        )
    };
    let r = Responder::start(vec![
        Reply::hrana_ok_with(Some("b1"), None),
        Reply::status(400, "Received an invalid baton"),
        batch_ok(true),
    ]);
    let store = store_on(&r.url, TOKEN).unwrap();
    let rows = store
        .batch(&[Stmt::new("DELETE FROM t WHERE x = 1", vec![])])
        .unwrap();
    assert_eq!(rows[0].affected, 1);
    let reqs = r.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].json()["baton"], "b1");
    assert_eq!(reqs[2].json()["baton"], Json::Null);
    assert_eq!(reqs[1].json()["requests"], reqs[2].json()["requests"]);

    // Without a baton the refusal proves nothing about the stream: reported, not repeated.
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::status(400, "Received an invalid baton"),
        batch_ok(false),
    ]);
    let store = store_on(&r.url, TOKEN).unwrap();
    let err = store
        .batch(&[Stmt::new("DELETE FROM t WHERE x = 1", vec![])])
        .unwrap_err();
    assert_matches!(err, StoreError::Http { status: 400, .. });
    one_sentence(&err.to_string(), &r.url, &["invalid baton"]);
    assert_eq!(r.count(), 2);
}

#[test]
fn an_expired_stream_on_sqld_is_replaced_for_reads_and_writes() {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            stream_expiry: Duration::from_millis(200),
            ..SqldRules::default()
        },
    );
    for write in [false, true] {
        let store = store_on(&sqld.url, TOKEN).unwrap();
        assert!(store.has_stream());
        std::thread::sleep(Duration::from_millis(400));
        if write {
            let done = store
                .batch(&[Stmt::new(
                    "UPDATE sys_packages SET hash = hash WHERE id = ?",
                    vec!["com.acme.helpdesk".into()],
                )])
                .unwrap();
            assert_eq!(done[0].affected, 4);
        } else {
            let rows = store
                .query(&Stmt::new("SELECT count(*) FROM sys_packages", vec![]))
                .unwrap();
            assert_eq!(rows.rows[0][0], Value::Integer(12));
        }
        assert!(!store.has_stream());
    }
    let pipelines = sqld.pipelines();
    // open, expired, again on a new stream — twice.
    assert_eq!(pipelines.len(), 6, "{pipelines:#?}");
    assert_eq!(pipelines[1]["requests"], pipelines[2]["requests"]);
    assert_eq!(pipelines[4]["requests"], pipelines[5]["requests"]);
    assert_eq!(pipelines[2]["baton"], Json::Null);
    assert_eq!(pipelines[5]["baton"], Json::Null);
    drop(sqld);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// RESPONSE_TOO_LARGE: pages bounded by bytes, halved until they fit, one row too large named

#[test]
fn pages_halve_until_they_fit_under_the_servers_limit() {
    let scratch = registry_with(150, 20_000, &[]);
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            max_response_size: 300_000,
            ..SqldRules::default()
        },
    );
    let verify = succeeds(&run(&scratch, &sqld.url, TOKEN, &["verify", "--json"]));
    let report: Json = serde_json::from_str(&verify).unwrap();
    assert_eq!(
        (report["checked"].as_u64(), report["ok"].as_u64()),
        (Some(162), Some(162))
    );
    let limits = page_limits(&sqld);
    // The first page (the 12 small fixture rows, then 20 KB rows) is too large at 100 rows and
    // at 50; 25 fit. The next 25, all large, are too large: 12 fit, and from then on every
    // page is sized to fit the first time.
    assert_eq!(&limits[..5], &[100, 50, 25, 25, 12], "{limits:?}");
    assert!(limits[5..].iter().all(|&n| n <= 12), "{limits:?}");
    assert_eq!(sqld.too_large_answers(), 3, "{limits:?}");

    let list = succeeds(&run(&scratch, &sqld.url, TOKEN, &["list", "--json"]));
    let list: Json = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 159);
    assert_eq!(sqld.open_streams(), 0);
    drop(sqld);
    server.stop();
}

/// At sqld's real limit (10 MB): 1,200 rows of 14 KB, the registry that made `verify` fail
/// with "Response is too large" when pages were 1,000 rows, verify without one refusal.
#[test]
fn verify_of_14_kb_rows_fits_sqlds_default_limit() {
    let scratch = registry_with(1200, 14_000, &[]);
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(&server.url, SqldRules::default());
    let verify = succeeds(&run(&scratch, &sqld.url, TOKEN, &["verify", "--json"]));
    let report: Json = serde_json::from_str(&verify).unwrap();
    assert_eq!(report["ok"].as_u64(), Some(1212));
    assert_eq!(sqld.too_large_answers(), 0, "{:?}", page_limits(&sqld));
    drop(sqld);
    server.stop();
}

#[test]
fn a_single_row_too_large_for_one_answer_is_named() {
    let scratch = registry_with(20, 1_000, &[("huge.row", 400_000)]);
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            max_response_size: 300_000,
            ..SqldRules::default()
        },
    );
    let o = run(&scratch, &sqld.url, TOKEN, &["verify"]);
    fails_with(
        &o,
        &sqld.url,
        &[
            "row huge.row 1.0.0 is larger than the server sends in one answer",
            "RESPONSE_TOO_LARGE",
        ],
    );
    let o = run(&scratch, &sqld.url, TOKEN, &["get", "huge.row", "1.0.0"]);
    fails_with(
        &o,
        &sqld.url,
        &["larger than the server sends in one answer"],
    );
    // The rows before it were read and verified; other reads still work.
    succeeds(&run(
        &scratch,
        &sqld.url,
        TOKEN,
        &["get", "big.p001", "1.0.0"],
    ));
    drop(sqld);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// "database is locked": waited for, like a local busy file; BEGIN IMMEDIATE

#[test]
fn a_busy_database_is_waited_for_and_the_write_happens_once() {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            busy_batches: 3,
            ..SqldRules::default()
        },
    );
    let doc = scratch.file("busy.json", document("busy.pkg", "1.0.0", 100));
    let o = run(&scratch, &sqld.url, TOKEN, &["publish", &doc]);
    succeeds(&o);
    assert_eq!(sqld.busy_answers(), 3);
    // The guard's rehearsal (a batch that ends in ROLLBACK) meets the busy database first: the
    // same rehearsal four times, then the write once, each beginning IMMEDIATE.
    let batches: Vec<Json> = sqld
        .pipelines()
        .into_iter()
        .flat_map(|p| p["requests"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["type"] == "batch")
        .collect();
    assert_eq!(batches.len(), 5);
    assert!(batches[..4].iter().all(|b| b == &batches[0]));
    let last_sql = |b: &Json| {
        let steps = b["batch"]["steps"].as_array().unwrap();
        steps[steps.len() - 1]["stmt"]["sql"].clone()
    };
    assert_eq!(last_sql(&batches[0]), "ROLLBACK");
    assert_ne!(batches[4], batches[0], "then the write");
    for b in &batches {
        assert_eq!(b["batch"]["steps"][0]["stmt"]["sql"], "BEGIN IMMEDIATE");
    }
    drop(sqld);
    server.stop();
    let rows = crate::support::scratch::stored_rows(&scratch.db);
    assert_eq!(rows.iter().filter(|r| r.0 == "busy.pkg").count(), 1);
}

/// A database that stays locked: the write gives up after the busy timeout (10 s), says so,
/// and wrote nothing.
#[test]
fn a_database_that_stays_busy_gives_up_after_10_s() {
    let busy = |req: &Recorded| {
        let body = req.json();
        if body["requests"][0]["type"] == "batch" {
            let steps = body["requests"][0]["batch"]["steps"]
                .as_array()
                .unwrap()
                .len();
            let mut errors = vec![Json::Null; steps];
            errors[0] =
                json!({"message": "SQLite error: database is locked", "code": "SQLITE_BUSY"});
            let results = vec![Json::Null; steps];
            Reply::json(
                200,
                json!({"baton": null, "base_url": null, "results": [{"type": "ok", "response": {
                    "type": "batch", "result": {"step_results": results, "step_errors": errors}}}]}),
            )
        } else {
            Reply::hrana_ok()
        }
    };
    let r = Responder::with_handler(busy);
    let store = store_on(&r.url, TOKEN).unwrap();
    let started = Instant::now();
    let err = store
        .batch(&[Stmt::new("DELETE FROM t", vec![])])
        .unwrap_err();
    let took = started.elapsed();
    one_sentence(
        &err.to_string(),
        &r.url,
        &["database is locked", "busy for 10 s, nothing was written"],
    );
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(13),
        "took {took:?}"
    );
    assert!(r.count() > 10, "{} attempts", r.count());
}

#[test]
fn too_many_requests_is_waited_for_even_for_a_write() {
    let r = Responder::start(vec![
        Reply::hrana_ok(),
        Reply::status(429, "Server cannot handle additional transactions"),
        Reply::json(
            200,
            json!({"baton": null, "base_url": null, "results": [{"type": "ok", "response": {"type": "batch", "result": {
                "step_results": [{"cols": [], "rows": []}, {"cols": [], "rows": [[{"type": "integer", "value": "0"}]]},
                                 {"cols": [], "rows": [], "affected_row_count": 0},
                                 {"cols": [], "rows": [[{"type": "integer", "value": "0"}]]},
                                 {"cols": [], "rows": []}, null],
                "step_errors": [null, null, null, null, null, null]}}}]}),
        ),
    ]);
    let store = store_on(&r.url, TOKEN).unwrap();
    store.batch(&[Stmt::new("DELETE FROM t", vec![])]).unwrap();
    assert_eq!(r.count(), 3);
}

#[test]
fn a_server_without_begin_immediate_gets_plain_begin() {
    let r = Responder::with_handler(|req: &Recorded| {
        let body = req.json();
        let Some(steps) = body["requests"][0]["batch"]["steps"].as_array() else {
            return Reply::hrana_ok();
        };
        let mut results =
            vec![json!({"cols": [], "rows": [[{"type": "integer", "value": "0"}]]}); steps.len()];
        let mut errors = vec![Json::Null; steps.len()];
        let last = steps.len() - 1;
        if steps[0]["stmt"]["sql"] == "BEGIN IMMEDIATE" {
            results = vec![Json::Null; steps.len()];
            errors[0] =
                json!({"message": "near \"IMMEDIATE\": syntax error", "code": "SQLITE_ERROR"});
            errors[last] = json!({"message": "cannot rollback - no transaction is active"});
        } else {
            results[last] = Json::Null;
        }
        Reply::json(
            200,
            json!({"baton": null, "base_url": null, "results": [{"type": "ok", "response": {
                "type": "batch", "result": {"step_results": results, "step_errors": errors}}}]}),
        )
    });
    let store = store_on(&r.url, TOKEN).unwrap();
    store.batch(&[Stmt::new("DELETE FROM t", vec![])]).unwrap();
    store.batch(&[Stmt::new("DELETE FROM t", vec![])]).unwrap();
    let begins: Vec<Json> = r
        .requests()
        .iter()
        .skip(1)
        .map(|q| q.json()["requests"][0]["batch"]["steps"][0]["stmt"]["sql"].clone())
        .collect();
    assert_eq!(begins, ["BEGIN IMMEDIATE", "BEGIN", "BEGIN"]);
}

// ---------------------------------------------------------------------------------------------
// Batons and close: one pipeline for the operation and its close; nothing left open

#[test]
fn on_sqld_the_operation_and_the_close_ride_in_one_pipeline() {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(&server.url, SqldRules::default());
    let o = run(
        &scratch,
        &sqld.url,
        TOKEN,
        &["get", "com.acme.helpdesk", "--json"],
    );
    let got: Json = serde_json::from_str(&succeeds(&o)).unwrap();
    assert_eq!(got["version"], "1.1.1");
    let pipelines = sqld.pipelines();
    let kinds = |p: &Json| -> Vec<String> {
        p["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap().to_owned())
            .collect()
    };
    // The table check opens the stream (its answer is what says the server keeps streams);
    // the get uses that stream and closes it in the same pipeline.
    assert_eq!(pipelines.len(), 2, "{pipelines:#?}");
    assert_eq!(pipelines[0]["baton"], Json::Null);
    assert_eq!(kinds(&pipelines[0]), ["execute"]);
    assert_eq!(pipelines[1]["baton"], "sqld-baton-1");
    assert_eq!(kinds(&pipelines[1]), ["execute", "close"]);
    assert_eq!(sqld.open_streams(), 0);

    // Every command leaves no stream open: reads, writes, paged reads.
    let doc = scratch.file("p.json", document("closing.pkg", "1.0.0", 100));
    for args in [
        vec!["list", "--json"],
        vec!["verify"],
        vec!["versions", "com.acme.helpdesk"],
        vec!["publish", &doc],
        vec!["delete", "closing.pkg", "--yes"],
    ] {
        succeeds(&run(&scratch, &sqld.url, TOKEN, &args));
        assert_eq!(sqld.open_streams(), 0, "{args:?} left a stream open");
    }
    let (opened, closed) = sqld.stream_counts();
    assert_eq!(opened, closed);
    drop(sqld);
    server.stop();
}

#[test]
fn a_long_lived_store_on_sqld_closes_every_stream() {
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    let sqld = Sqld::start(&server.url, SqldRules::default());
    let store = store_on(&sqld.url, TOKEN).unwrap();
    for _ in 0..3 {
        store.query(&select_one()).unwrap();
        assert_eq!(sqld.open_streams(), 0);
    }
    store
        .batch(&[Stmt::new(
            "UPDATE sys_packages SET hash = hash WHERE id = 'nothing'",
            vec![],
        )])
        .unwrap();
    assert_eq!(sqld.open_streams(), 0);
    drop(store);
    // Opened at once and dropped: its first stream is closed on drop.
    let store = store_on(&sqld.url, TOKEN).unwrap();
    assert_eq!(sqld.open_streams(), 1);
    drop(store);
    assert_eq!(sqld.open_streams(), 0);
    drop(sqld);
    server.stop();
}
