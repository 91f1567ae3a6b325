//! sqld's behaviours (spec 3 (a)–(e)) played by a [`Responder`] in front of a real
//! `tursodb --sync-server`: sqld cannot be installed from a package registry, so what it does
//! that tursodb does not is written here, and tursodb runs the SQL.
//!
//! * Streams: every answer carries a new baton (`null` once the pipeline closed the stream);
//!   a request on a baton that was never handed out, or was already used, answers 400
//!   "Received an invalid baton"; one idle longer than the expiry (10 s, shorter in tests)
//!   answers 400 `STREAM_EXPIRED`; `close` ends the stream (tursodb never sees it).
//! * `--max-response-size`: a statement result whose JSON is larger than the limit becomes the
//!   error `RESPONSE_TOO_LARGE` ("Response is too large").
//! * A token that only grants reads: a pipeline that writes answers 403 with sqld's body.
//! * A busy database: the first `busy_batches` batches fail at their first step with
//!   `SQLITE_BUSY` "database is locked" and write nothing (their ROLLBACK runs and finds no
//!   transaction), as a batch that lost the race for the write lock does on sqld.
//! * Answers that pass through tursodb are otherwise unchanged, so rows, errors and counts are
//!   real.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::responder::{Recorded, Reply, Responder};

/// What the emulated sqld does differently from a plain pass-through.
#[derive(Clone, Debug)]
pub struct SqldRules {
    /// The largest statement result (its JSON) sent; sqld's default is 10 MB.
    pub max_response_size: usize,
    /// How long a stream may stay idle; sqld's is 10 s.
    pub stream_expiry: Duration,
    /// A bearer token that may read but not write.
    pub read_only_token: Option<String>,
    /// How many batches fail as busy before the database lets writers in.
    pub busy_batches: usize,
    /// The `base_url` named in every answer that keeps a stream open.
    pub base_url: Option<String>,
}

impl Default for SqldRules {
    fn default() -> Self {
        SqldRules {
            max_response_size: 10_000_000,
            stream_expiry: Duration::from_secs(10),
            read_only_token: None,
            busy_batches: 0,
            base_url: None,
        }
    }
}

#[derive(Default)]
struct Streams {
    /// Live batons and when each was handed out.
    live: HashMap<String, Instant>,
    next: u64,
    /// Streams opened and closed, in all.
    opened: usize,
    closed: usize,
}

/// An emulated sqld on loopback: its URL, the requests it got, and what it did.
pub struct Sqld {
    pub url: String,
    pub responder: Responder,
    streams: Arc<Mutex<Streams>>,
    too_large: Arc<AtomicUsize>,
    busy: Arc<AtomicUsize>,
}

impl Sqld {
    /// sqld with `rules`, running its SQL on the tursodb at `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: SqldRules) -> Sqld {
        let streams = Arc::new(Mutex::new(Streams::default()));
        let too_large = Arc::new(AtomicUsize::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let busy_left = Arc::new(AtomicUsize::new(rules.busy_batches));
        let pipeline = format!("{upstream}/v2/pipeline");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        let handler = {
            let streams = Arc::clone(&streams);
            let too_large = Arc::clone(&too_large);
            let busy = Arc::clone(&busy);
            move |req: &Recorded| {
                handle(
                    req, &rules, &agent, &pipeline, &streams, &busy_left, &too_large, &busy,
                )
            }
        };
        let responder = Responder::with_handler(handler);
        Sqld {
            url: responder.url.clone(),
            responder,
            streams,
            too_large,
            busy,
        }
    }

    /// Streams that were opened and are neither closed nor expired.
    pub fn open_streams(&self) -> usize {
        self.streams.lock().unwrap().live.len()
    }

    /// (opened, closed) streams in all.
    pub fn stream_counts(&self) -> (usize, usize) {
        let s = self.streams.lock().unwrap();
        (s.opened, s.closed)
    }

    /// How many statement results were refused as too large.
    pub fn too_large_answers(&self) -> usize {
        self.too_large.load(Ordering::SeqCst)
    }

    /// How many batches were answered "database is locked".
    pub fn busy_answers(&self) -> usize {
        self.busy.load(Ordering::SeqCst)
    }

    /// The pipelines received, as JSON.
    pub fn pipelines(&self) -> Vec<Value> {
        self.responder
            .requests()
            .iter()
            .map(Recorded::json)
            .collect()
    }
}

/// Whether `sql` needs the write permission (sqld's statement kinds: reads, transaction
/// control and savepoints only need read).
fn writes(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    !matches!(
        first.as_str(),
        "SELECT"
            | "WITH"
            | "BEGIN"
            | "COMMIT"
            | "END"
            | "ROLLBACK"
            | "SAVEPOINT"
            | "RELEASE"
            | "EXPLAIN"
            | "VALUES"
    )
}

fn request_writes(request: &Value) -> bool {
    match request["type"].as_str() {
        Some("execute") => writes(request["stmt"]["sql"].as_str().unwrap_or("")),
        Some("batch") => request["batch"]["steps"].as_array().is_some_and(|steps| {
            steps
                .iter()
                .any(|s| writes(s["stmt"]["sql"].as_str().unwrap_or("")))
        }),
        _ => false,
    }
}

/// Whether a batch step's condition holds, given which steps succeeded.
fn holds(cond: &Value, ok: &[Option<bool>]) -> bool {
    match cond["type"].as_str() {
        None => true,
        Some("ok") => {
            ok.get(cond["step"].as_u64().unwrap_or(u64::MAX) as usize)
                .copied()
                .flatten()
                == Some(true)
        }
        Some("error") => {
            ok.get(cond["step"].as_u64().unwrap_or(u64::MAX) as usize)
                .copied()
                .flatten()
                == Some(false)
        }
        Some("not") => !holds(&cond["cond"], ok),
        Some("and") => cond["conds"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| holds(c, ok))),
        Some("or") => cond["conds"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| holds(c, ok))),
        _ => false,
    }
}

/// The answer to a batch that lost the race for the write lock: its first step fails busy, the
/// steps that depend on it are skipped, a ROLLBACK that runs finds no transaction.
fn busy_batch(batch: &Value) -> Value {
    let steps = batch["steps"].as_array().cloned().unwrap_or_default();
    let mut ok: Vec<Option<bool>> = Vec::new();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let condition = step.get("condition").cloned().unwrap_or(Value::Null);
        if i == 0 {
            ok.push(Some(false));
            results.push(Value::Null);
            errors.push(
                json!({"message": "SQLite error: database is locked", "code": "SQLITE_BUSY"}),
            );
        } else if !holds(&condition, &ok) {
            ok.push(None);
            results.push(Value::Null);
            errors.push(Value::Null);
        } else {
            ok.push(Some(false));
            results.push(Value::Null);
            errors.push(json!({"message": "SQLite error: cannot rollback - no transaction is active", "code": "SQLITE_ERROR"}));
        }
    }
    json!({"type": "ok", "response": {"type": "batch", "result": {"step_results": results, "step_errors": errors}}})
}

fn too_large_error() -> Value {
    json!({"type": "error", "error": {"message": "Response is too large", "code": "RESPONSE_TOO_LARGE"}})
}

#[allow(clippy::too_many_arguments)]
fn handle(
    req: &Recorded,
    rules: &SqldRules,
    agent: &ureq::Agent,
    pipeline: &str,
    streams: &Mutex<Streams>,
    busy_left: &AtomicUsize,
    too_large: &AtomicUsize,
    busy: &AtomicUsize,
) -> Reply {
    let Ok(body) = serde_json::from_str::<Value>(&req.body) else {
        return Reply::status(400, "Invalid JSON");
    };
    let requests = body["requests"].as_array().cloned().unwrap_or_default();
    let bearer = req
        .header("Authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::to_owned);
    // The stream: a known, fresh baton is used up (the answer hands out the next one);
    // anything else is refused before anything runs.
    {
        let mut s = streams.lock().unwrap();
        match body["baton"].as_str() {
            None => s.opened += 1,
            Some(baton) => match s.live.remove(baton) {
                None => return Reply::status(400, "Received an invalid baton"),
                Some(at) if at.elapsed() > rules.stream_expiry => {
                    return Reply::json(
                        400,
                        json!({"message": "The stream has expired due to inactivity", "code": "STREAM_EXPIRED"}),
                    )
                }
                Some(_) => {}
            },
        }
    }
    // Checked as the statements run, on the stream: a refusal ends the stream (sqld drops a
    // stream after any HTTP error).
    if rules.read_only_token.is_some()
        && bearer == rules.read_only_token
        && requests.iter().any(request_writes)
    {
        return Reply::json(
            403,
            json!({"error": "Authorization forbidden: Current session doesn't not have Write permission to namespace default"}),
        );
    }
    // What tursodb runs, and where each answer goes.
    let mut results: Vec<Option<Value>> = vec![None; requests.len()];
    let mut forward = Vec::new();
    let mut slots = Vec::new();
    let mut closed = false;
    for (i, r) in requests.iter().enumerate() {
        match r["type"].as_str() {
            Some("close") => {
                closed = true;
                results[i] = Some(json!({"type": "ok", "response": {"type": "close"}}));
            }
            Some("batch")
                if busy_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok() =>
            {
                busy.fetch_add(1, Ordering::SeqCst);
                results[i] = Some(busy_batch(&r["batch"]));
            }
            _ => {
                forward.push(r.clone());
                slots.push(i);
            }
        }
    }
    if !forward.is_empty() {
        let upstream = json!({"baton": null, "requests": forward}).to_string();
        let answer = match agent.post(pipeline).send_string(&upstream) {
            Ok(resp) => resp.into_string().unwrap_or_default(),
            Err(ureq::Error::Status(status, resp)) => {
                return Reply::status(status, &resp.into_string().unwrap_or_default())
            }
            Err(e) => return Reply::status(502, &format!("tursodb: {e}")),
        };
        let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let got = answer["results"].as_array().cloned().unwrap_or_default();
        for (slot, mut result) in slots.into_iter().zip(got) {
            if result["type"] == "ok"
                && result["response"]["type"] == "execute"
                && result["response"]["result"].to_string().len() > rules.max_response_size
            {
                too_large.fetch_add(1, Ordering::SeqCst);
                result = too_large_error();
            }
            results[slot] = Some(result);
        }
    }
    let baton = if closed {
        streams.lock().unwrap().closed += 1;
        Value::Null
    } else {
        let mut s = streams.lock().unwrap();
        s.next += 1;
        let baton = format!("sqld-baton-{}", s.next);
        s.live.insert(baton.clone(), Instant::now());
        Value::String(baton)
    };
    let base_url = match (&baton, &rules.base_url) {
        (Value::String(_), Some(b)) => Value::String(b.clone()),
        _ => Value::Null,
    };
    Reply::json(
        200,
        json!({"baton": baton, "base_url": base_url, "results": results}),
    )
}
