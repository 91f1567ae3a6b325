//! The remote backend: Hrana over HTTP v2 (`POST {url}/v2/pipeline`) with blocking ureq and
//! rustls.
//!
//! Two server families answer this protocol and both must work:
//!
//! * sqld / Turso Cloud implement streams: every answer carries a `baton` that names the stream
//!   (one server-side connection) and must be shown in the next request on it; the stream expires
//!   after 10 s without requests, and a `close` request ends it.
//! * `tursodb --sync-server` (npm `turso@0.6.0`) answers only `execute` and `batch`, always with
//!   `baton: null`, and rejects a whole pipeline that contains `close`. It serves every request on
//!   one shared connection.
//!
//! So: a baton is kept only while the server hands one out, and only for a few idle seconds
//! (sqld forgets it after 10); `close` is sent only on a stream whose baton is not null; a
//! `base_url` from the server is used for the rest of that stream.
//!
//! Writes go through [`Store::batch`]: one pipeline holding one `batch` request,
//! `BEGIN; stmt…; COMMIT` with each step conditioned on the previous one and a `ROLLBACK` when the
//! `COMMIT` did not run or failed. A read that fails on the way (connection refused or reset,
//! HTTP 502/503/504) is tried again a few times; a batch never is, except when the server
//! provably ran nothing (it refused the baton).

use std::borrow::Cow;
use std::io::Read;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::Error as _;
use serde::ser::{Error as _, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Rows, Stmt, Store, StoreError, Value};

/// How long to wait for the TCP (and TLS) connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one HTTP request may take in all, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a failed read is tried again (so at most 1 + this many requests).
pub const READ_RETRIES: u32 = 3;
/// The pause before the first retry; it doubles each time.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// A baton older than this is dropped rather than used: sqld expires idle streams after 10 s.
const STREAM_IDLE: Duration = Duration::from_secs(5);
/// The `close` sent on drop must not hold the program up.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many characters of a server's error body are quoted.
const EXCERPT_CHARS: usize = 200;
/// At most this many characters of a statement are quoted in an error.
const SQL_EXCERPT_CHARS: usize = 80;

/// Base64 for blobs: servers send it unpadded (sqld, tursodb); padded is accepted too.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A libSQL database reached over Hrana over HTTP.
pub struct HranaStore {
    /// `scheme://host[:port][/path]`, no trailing slash, no query.
    base: String,
    /// The query string of the target (`?…`) or empty; appended to every pipeline URL.
    query: String,
    token: Option<String>,
    read_only: bool,
    shown: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    agent: ureq::Agent,
    /// The open stream, if the server keeps one; the lock also serialises requests, as batons
    /// require.
    stream: Mutex<StreamState>,
    /// HTTP requests sent so far (the benchmark reports round trips per operation).
    round_trips: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct StreamState {
    baton: Option<String>,
    base_url: Option<String>,
    last_used: Option<Instant>,
}

impl StreamState {
    fn forget(&mut self) {
        *self = StreamState::default();
    }

    /// The baton, if the stream is still fresh enough to be used; a stale one is forgotten.
    fn live_baton(&mut self) -> Option<String> {
        let fresh = self.last_used.is_some_and(|t| t.elapsed() < STREAM_IDLE);
        if !fresh {
            self.forget();
        }
        self.baton.clone()
    }
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// A read: transient failures are retried.
    Read,
    /// A write: only a refused baton (nothing ran) is retried.
    Write,
}

/// What went wrong with one HTTP exchange, before it is turned into a [`StoreError`].
#[derive(Debug)]
enum Failure {
    Refused,
    Reset,
    Dns,
    Unreachable(String),
    ConnectTimeout,
    RequestTimeout,
    BadUrl(String),
    NotHttp(String),
    Status(u16, String),
    Redirect(u16, String),
    NotHrana(String),
}

impl Failure {
    fn transient(&self) -> bool {
        match self {
            Failure::Refused | Failure::Reset => true,
            Failure::Status(code, _) => matches!(code, 502..=504),
            _ => false,
        }
    }

    /// The server refused the stream itself (expired or unknown baton): it ran nothing.
    fn baton_refused(&self) -> bool {
        match self {
            Failure::Status(400 | 500, body) => {
                let lower = body.to_ascii_lowercase();
                lower.contains("baton")
                    || lower.contains("stream_expired")
                    || lower.contains("stream has expired")
            }
            _ => false,
        }
    }
}

impl HranaStore {
    /// Connects to `url` (`http(s)://host[:port][/path]`, no token in it) and runs `SELECT 1`
    /// so that a wrong address or token fails here. `shown` is the masked target used in every
    /// message.
    pub fn open(
        url: &str,
        token: Option<String>,
        read_only: bool,
        shown: String,
    ) -> Result<HranaStore, StoreError> {
        Self::open_with_timeouts(
            url,
            token,
            read_only,
            shown,
            DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_REQUEST_TIMEOUT,
        )
    }

    /// [`HranaStore::open`] with the timeouts also applied to the first round trip.
    pub fn open_with_timeouts(
        url: &str,
        token: Option<String>,
        read_only: bool,
        shown: String,
        connect: Duration,
        request: Duration,
    ) -> Result<HranaStore, StoreError> {
        let store = Self::connect(url, token, read_only, shown, connect, request)?;
        store.query(&Stmt::new("SELECT 1", vec![]))?;
        Ok(store)
    }

    /// A store on `url` without a first round trip: its first statement is what reaches the
    /// server (and fails with the same messages as [`HranaStore::open`]'s probe). The registry
    /// opens remote targets this way, since its own first query checks the table anyway.
    pub fn connect(
        url: &str,
        token: Option<String>,
        read_only: bool,
        shown: String,
        connect: Duration,
        request: Duration,
    ) -> Result<HranaStore, StoreError> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(StoreError::Open {
                target: shown,
                reason: "the URL must start with http:// or https://".into(),
            });
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) if !q.is_empty() => (b, format!("?{q}")),
            Some((b, _)) => (b, String::new()),
            None => (url, String::new()),
        };
        let store = HranaStore {
            base: base.trim_end_matches('/').to_owned(),
            query,
            token: token.filter(|t| !t.is_empty()),
            read_only,
            shown,
            connect_timeout: connect,
            request_timeout: request,
            agent: build_agent(connect, request),
            stream: Mutex::new(StreamState::default()),
            round_trips: Default::default(),
        };
        Ok(store)
    }

    /// Replaces the timeouts (defaults: connect 5 s, request 30 s).
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self.agent = build_agent(connect, request);
        self
    }

    /// The URL requests go to first (no token in it).
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.query)
    }

    /// Whether the server keeps a stream open for this store right now (sqld, Turso Cloud).
    pub fn has_stream(&self) -> bool {
        self.lock().baton.is_some()
    }

    /// Closes the server stream, if there is one; the next request opens a new one. Servers
    /// without streams (baton always null) are never sent `close`.
    pub fn close_stream(&self) {
        let mut state = self.lock();
        let Some(baton) = state.live_baton() else {
            return;
        };
        let url = self.pipeline_url(state.base_url.as_deref());
        state.forget();
        drop(state);
        let body = pipeline_body(Some(&baton), &[Request::Close]);
        if let Ok(body) = body {
            let _ = self
                .request(&url)
                .timeout(CLOSE_TIMEOUT)
                .send_string(&body)
                .map(|r| r.into_string());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StreamState> {
        self.stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pipeline_url(&self, base_url: Option<&str>) -> String {
        match base_url {
            Some(b) if b.contains('?') => b.to_owned(),
            Some(b) => format!("{}/v2/pipeline{}", b.trim_end_matches('/'), self.query),
            None => format!("{}/v2/pipeline{}", self.base, self.query),
        }
    }

    /// A `base_url` the server names for the stream, if it is one we may follow: absolute
    /// http(s), and never from https down to http.
    fn accept_base_url(&self, base_url: Option<String>) -> Option<String> {
        let b = base_url?.trim().trim_end_matches('/').to_owned();
        let lower = b.to_ascii_lowercase();
        let https = lower.starts_with("https://");
        if !(https || lower.starts_with("http://")) || b.len() <= "https://".len() {
            return None;
        }
        if !https && self.base.to_ascii_lowercase().starts_with("https://") {
            return None;
        }
        Some(b)
    }

    fn request(&self, url: &str) -> ureq::Request {
        let mut req = self
            .agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json");
        if let Some(token) = &self.token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        req
    }

    /// Runs one pipeline on the current stream and returns its results, one per request.
    fn pipeline(
        &self,
        requests: &[Request<'_>],
        retry: Retry,
    ) -> Result<Vec<StreamResult>, StoreError> {
        let mut state = self.lock();
        let mut attempt: u32 = 0;
        let mut baton_retried = false;
        loop {
            let baton = state.live_baton();
            let url = self.pipeline_url(state.base_url.as_deref());
            let body =
                pipeline_body(baton.as_deref(), requests).map_err(|reason| StoreError::Other {
                    target: self.shown.clone(),
                    message: reason,
                })?;
            match self.exchange(&url, &body) {
                Ok(bytes) => {
                    let resp: PipelineResp = match serde_json::from_slice(&bytes) {
                        Ok(resp) => resp,
                        Err(e) => {
                            state.forget();
                            return Err(self.fail(Failure::NotHrana(not_hrana_reason(&bytes, &e))));
                        }
                    };
                    if resp.results.len() != requests.len() {
                        state.forget();
                        return Err(self.fail(Failure::NotHrana(format!(
                            "{} results for {} requests",
                            resp.results.len(),
                            requests.len()
                        ))));
                    }
                    state.base_url = match resp.baton {
                        Some(_) => self
                            .accept_base_url(resp.base_url)
                            .or_else(|| state.base_url.take()),
                        None => None,
                    };
                    state.baton = resp.baton;
                    state.last_used = Some(Instant::now());
                    return Ok(resp.results);
                }
                Err(failure) => {
                    // After an HTTP error or a broken exchange the stream is no longer valid.
                    state.forget();
                    if baton.is_some() && !baton_retried && failure.baton_refused() {
                        baton_retried = true;
                        continue;
                    }
                    if retry == Retry::Read && failure.transient() && attempt < READ_RETRIES {
                        thread::sleep(RETRY_BACKOFF * 2u32.pow(attempt));
                        attempt += 1;
                        continue;
                    }
                    if retry == Retry::Write && matches!(failure, Failure::Reset) {
                        return Err(StoreError::Unreachable {
                            target: self.shown.clone(),
                            reason: "the connection was closed before an answer arrived, so the \
                                     batch may or may not have been written"
                                .into(),
                        });
                    }
                    return Err(self.fail(failure));
                }
            }
        }
    }

    /// One POST: the body of a 2xx answer, or what went wrong.
    fn exchange(&self, url: &str, body: &str) -> Result<Vec<u8>, Failure> {
        self.round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.request(url).send_string(body) {
            Ok(resp) => {
                let status = resp.status();
                if (300..400).contains(&status) {
                    let location = resp.header("Location").unwrap_or("").to_owned();
                    return Err(Failure::Redirect(status, location));
                }
                let mut bytes = Vec::new();
                resp.into_reader()
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_failure(&e))?;
                Ok(bytes)
            }
            Err(ureq::Error::Status(status, resp)) => {
                let mut bytes = Vec::new();
                let _ = resp.into_reader().take(64 * 1024).read_to_end(&mut bytes);
                Err(Failure::Status(
                    status,
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            }
            Err(ureq::Error::Transport(t)) => Err(transport_failure(&t)),
        }
    }

    /// The one-sentence error for a failure, naming the masked target and never the token.
    fn fail(&self, failure: Failure) -> StoreError {
        let target = self.shown.clone();
        match failure {
            Failure::Refused => StoreError::Unreachable {
                target,
                reason: "the connection was refused (is the server running?)".into(),
            },
            Failure::Reset => StoreError::Unreachable {
                target,
                reason: "the connection was closed before an answer arrived".into(),
            },
            Failure::Dns => StoreError::Unreachable {
                target,
                reason: "the host name could not be resolved".into(),
            },
            Failure::Unreachable(reason) => StoreError::Unreachable {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::ConnectTimeout => StoreError::Timeout {
                target,
                seconds: whole_seconds(self.connect_timeout),
            },
            Failure::RequestTimeout => StoreError::Timeout {
                target,
                seconds: whole_seconds(self.request_timeout),
            },
            Failure::BadUrl(reason) => StoreError::Open {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::NotHttp(reason) => StoreError::Protocol {
                target,
                reason: format!("the answer is not HTTP ({})", self.clean(&reason, 80)),
            },
            Failure::NotHrana(reason) => StoreError::Protocol {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::Redirect(status, location) => {
                let location = location.split('?').next().unwrap_or("").to_owned();
                StoreError::Http {
                    target,
                    status,
                    message: if location.is_empty() {
                        "a redirect, which is not followed (use the final URL)".into()
                    } else {
                        format!(
                            "a redirect to {}, which is not followed (use that URL)",
                            self.clean(&location, 120)
                        )
                    },
                }
            }
            Failure::Status(status @ (401 | 403), _) => StoreError::Auth {
                target,
                status,
                hint: if self.token.is_some() {
                    "token rejected (expired, revoked or issued for another database)".into()
                } else {
                    "token missing (add ?authToken=… to the URL or set PKGDECK_AUTH_TOKEN)".into()
                },
            },
            Failure::Status(404, _) => StoreError::Http {
                target,
                status: 404,
                message: "not a libSQL endpoint (no /v2/pipeline)".into(),
            },
            Failure::Status(status, body) => StoreError::Http {
                target,
                status,
                message: self.body_excerpt(&body),
            },
        }
    }

    /// A short, single-line, token-free quote of an error body.
    fn body_excerpt(&self, body: &str) -> String {
        let text = body.trim();
        if text.is_empty() {
            return "(empty body)".into();
        }
        // sqld answers some errors with a Hrana error object.
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
        {
            let message = map
                .get("message")
                .or_else(|| map.get("error"))
                .and_then(|m| match m {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Object(o) => {
                        o.get("message").and_then(|s| s.as_str()).map(str::to_owned)
                    }
                    _ => None,
                });
            if let Some(message) = message {
                return self.clean(&message, EXCERPT_CHARS);
            }
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            let title = lower
                .find("<title>")
                .and_then(|start| {
                    let from = start + "<title>".len();
                    lower[from..]
                        .find("</title>")
                        .map(|end| &text[from..from + end])
                })
                .map(|t| self.clean(t, 120))
                .filter(|t| !t.is_empty());
            return match title {
                Some(t) => format!("an HTML page titled \"{t}\""),
                None => "an HTML page".into(),
            };
        }
        self.clean(text, EXCERPT_CHARS)
    }

    /// One line, at most `max` characters, with the token masked.
    fn clean(&self, text: &str, max: usize) -> String {
        let mut text = text.to_owned();
        if let Some(token) = self.token.as_deref().filter(|t| !t.is_empty()) {
            text = text.replace(token, "***");
        }
        one_line(&text, max)
    }

    fn sql_error(&self, message: &str, place: String) -> StoreError {
        StoreError::Sql {
            target: self.shown.clone(),
            message: format!("{} ({place})", self.clean(message, EXCERPT_CHARS)),
        }
    }

    fn protocol(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Protocol {
            target: self.shown.clone(),
            reason: reason.into(),
        }
    }
}

impl Drop for HranaStore {
    fn drop(&mut self) {
        self.close_stream();
    }
}

impl Store for HranaStore {
    fn target(&self) -> &str {
        &self.shown
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn pages(&self) -> bool {
        true
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError> {
        let requests = [Request::Execute {
            stmt: WireStmt::new(stmt),
        }];
        let mut results = self.pipeline(&requests, Retry::Read)?;
        match results.pop() {
            Some(StreamResult::Ok {
                response: StreamResponse::Execute { result },
            }) => Ok(result.into_rows(None)),
            Some(StreamResult::Error { error }) => {
                Err(self.sql_error(&error.message, format!("in {}", sql_excerpt(&stmt.sql))))
            }
            _ => Err(self.protocol("the answer to an execute request is not an execute result")),
        }
    }

    fn batch(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                target: self.shown.clone(),
                action: "writing".into(),
            });
        }
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let plan = BatchPlan::new(stmts);
        let requests = [Request::Batch {
            batch: WireBatch {
                steps: plan.steps.clone(),
            },
        }];
        let mut results = self.pipeline(&requests, Retry::Write)?;
        let result = match results.pop() {
            Some(StreamResult::Ok {
                response: StreamResponse::Batch { result },
            }) => result,
            Some(StreamResult::Error { error }) => {
                return Err(self.sql_error(&error.message, "the batch was refused".into()))
            }
            _ => return Err(self.protocol("the answer to a batch request is not a batch result")),
        };
        plan.collect(result, self)
    }
}

/// The steps of one write batch and where each caller statement sits in it.
///
/// `BEGIN`, then `SELECT total_changes()`, then for every statement the statement itself and
/// another `SELECT total_changes()`, then `COMMIT` and `ROLLBACK`. The `total_changes()` steps
/// exist because `tursodb --sync-server` reports `affected_row_count: 0` for every statement; the
/// difference around a statement is the number of rows it changed (sqld's own count is used when
/// it is not zero).
struct BatchPlan<'a> {
    stmts: &'a [Stmt],
    steps: Vec<WireStep<'a>>,
}

const COUNT_SQL: &str = "SELECT total_changes()";

impl<'a> BatchPlan<'a> {
    fn new(stmts: &'a [Stmt]) -> Self {
        let mut steps = Vec::with_capacity(2 * stmts.len() + 4);
        steps.push(WireStep::plain("BEGIN", None));
        steps.push(WireStep::plain(COUNT_SQL, Some(Cond::Ok { step: 0 })));
        for (i, stmt) in stmts.iter().enumerate() {
            let at = Self::stmt_step(i);
            steps.push(WireStep {
                condition: Some(Cond::Ok { step: at - 1 }),
                stmt: WireStmt::new(stmt),
            });
            steps.push(WireStep::plain(COUNT_SQL, Some(Cond::Ok { step: at })));
        }
        let commit = Self::commit_step(stmts.len());
        steps.push(WireStep::plain(
            "COMMIT",
            Some(Cond::Ok { step: commit - 1 }),
        ));
        steps.push(WireStep::plain(
            "ROLLBACK",
            Some(Cond::Not {
                cond: Box::new(Cond::Ok { step: commit }),
            }),
        ));
        BatchPlan { stmts, steps }
    }

    fn stmt_step(i: usize) -> usize {
        2 + 2 * i
    }

    fn commit_step(n: usize) -> usize {
        2 + 2 * n
    }

    /// One `Rows` per caller statement, or the first failure.
    fn collect(&self, result: BatchResult, store: &HranaStore) -> Result<Vec<Rows>, StoreError> {
        let n = self.stmts.len();
        let total = self.steps.len();
        if result.step_results.len() != total || result.step_errors.len() != total {
            return Err(store.protocol(format!(
                "the batch answer has {} results and {} errors for {} steps",
                result.step_results.len(),
                result.step_errors.len(),
                total
            )));
        }
        let mut step_results = result.step_results;
        let step_errors = result.step_errors;
        let commit = Self::commit_step(n);
        // The first failing step (the ROLLBACK's own failure matters only if nothing else failed).
        for (i, error) in step_errors.iter().enumerate() {
            let Some(error) = error else { continue };
            let place = if i == 0 {
                "BEGIN failed, nothing was written".to_owned()
            } else if i == commit {
                "COMMIT failed, nothing was written".to_owned()
            } else if i == commit + 1 {
                "ROLLBACK failed".to_owned()
            } else if i % 2 == 0 {
                let k = (i - 2) / 2;
                format!(
                    "statement {} of {n}: {}; nothing was written",
                    k + 1,
                    sql_excerpt(&self.stmts[k].sql)
                )
            } else {
                "counting changed rows failed, nothing was written".to_owned()
            };
            return Err(store.sql_error(&error.message, place));
        }
        if step_results[commit].is_none() {
            return Err(
                store.protocol("the server skipped the COMMIT of the batch without an error")
            );
        }
        let count = |r: &Option<StmtResult>| -> Option<u64> {
            r.as_ref()?.rows.first()?.first().and_then(|v| match &v.0 {
                Value::Integer(i) => u64::try_from(*i).ok(),
                _ => None,
            })
        };
        let mut out = Vec::with_capacity(n);
        let mut before = count(&step_results[1]);
        for k in 0..n {
            let at = Self::stmt_step(k);
            let after = count(&step_results[at + 1]);
            let delta = match (before, after) {
                (Some(b), Some(a)) => a.checked_sub(b),
                _ => None,
            };
            before = after;
            let Some(result) = step_results[at].take() else {
                return Err(store.protocol(format!(
                    "statement {} of the batch was skipped without an error",
                    k + 1
                )));
            };
            out.push(result.into_rows(delta));
        }
        Ok(out)
    }
}

fn build_agent(connect: Duration, request: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(connect)
        .timeout(request)
        .redirects(0)
        .user_agent(concat!("pkgdeck/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn pipeline_body(baton: Option<&str>, requests: &[Request<'_>]) -> Result<String, String> {
    serde_json::to_string(&PipelineReq { baton, requests }).map_err(|e| e.to_string())
}

/// Seconds for a timeout message, never 0.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn io_kind_in(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

fn io_failure(e: &std::io::Error) -> Failure {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => Failure::RequestTimeout,
        K::ConnectionRefused => Failure::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Failure::Reset
        }
        _ => Failure::Unreachable(e.to_string()),
    }
}

fn transport_failure(t: &ureq::Transport) -> Failure {
    use std::io::ErrorKind as K;
    use ureq::ErrorKind as U;
    let io_kind = std::error::Error::source(t).and_then(io_kind_in);
    let detail = || {
        let mut s = t.message().unwrap_or("").to_owned();
        if let Some(src) = std::error::Error::source(t) {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&src.to_string());
        }
        s
    };
    match t.kind() {
        U::Dns => Failure::Dns,
        U::ConnectionFailed => match io_kind {
            Some(K::TimedOut | K::WouldBlock) => Failure::ConnectTimeout,
            Some(K::ConnectionRefused) => Failure::Refused,
            Some(K::ConnectionReset | K::ConnectionAborted) => Failure::Reset,
            _ => Failure::Unreachable(detail()),
        },
        U::Io => match io_kind {
            Some(K::TimedOut | K::WouldBlock) => Failure::RequestTimeout,
            Some(K::ConnectionRefused) => Failure::Refused,
            Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof) => {
                Failure::Reset
            }
            _ => Failure::Unreachable(detail()),
        },
        U::BadStatus | U::BadHeader => Failure::NotHttp(detail()),
        U::InvalidUrl | U::UnknownScheme | U::InsecureRequestHttpsOnly => {
            Failure::BadUrl(format!("the URL is not usable ({})", detail()))
        }
        _ => Failure::Unreachable(detail()),
    }
}

/// Why a 2xx body is not a Hrana pipeline answer.
fn not_hrana_reason(bytes: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "the body is empty".into();
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return format!("the body is not JSON (it starts {:?})", one_line(text, 40));
    }
    format!("the JSON is not a pipeline answer ({e})")
}

/// Collapses whitespace and control characters into single spaces and cuts at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if count == max {
                out.push('…');
                return out;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count == max {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

fn sql_excerpt(sql: &str) -> String {
    one_line(sql, SQL_EXCERPT_CHARS)
}

// ---------------------------------------------------------------------------------------------
// Wire format (JSON), requests

#[derive(Serialize)]
struct PipelineReq<'a> {
    baton: Option<&'a str>,
    requests: &'a [Request<'a>],
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Request<'a> {
    Execute { stmt: WireStmt<'a> },
    Batch { batch: WireBatch<'a> },
    Close,
}

#[derive(Serialize, Clone)]
struct WireStmt<'a> {
    sql: &'a str,
    args: Vec<WireValue<'a>>,
    want_rows: bool,
}

impl<'a> WireStmt<'a> {
    fn new(stmt: &'a Stmt) -> Self {
        WireStmt {
            sql: &stmt.sql,
            args: stmt.args.iter().map(WireValue).collect(),
            want_rows: true,
        }
    }
}

#[derive(Serialize)]
struct WireBatch<'a> {
    steps: Vec<WireStep<'a>>,
}

#[derive(Serialize, Clone)]
struct WireStep<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    condition: Option<Cond>,
    stmt: WireStmt<'a>,
}

impl WireStep<'static> {
    fn plain(sql: &'static str, condition: Option<Cond>) -> Self {
        WireStep {
            condition,
            stmt: WireStmt {
                sql,
                args: Vec::new(),
                want_rows: true,
            },
        }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Cond {
    Ok { step: usize },
    Not { cond: Box<Cond> },
}

/// A value as an argument: `{"type": "integer", "value": "123"}` and so on.
#[derive(Clone, Copy)]
struct WireValue<'a>(&'a Value);

impl Serialize for WireValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        match self.0 {
            Value::Null => map.serialize_entry("type", "null")?,
            Value::Integer(i) => {
                map.serialize_entry("type", "integer")?;
                map.serialize_entry("value", &i.to_string())?;
            }
            Value::Real(f) if f.is_nan() => map.serialize_entry("type", "null")?,
            Value::Real(f) if f.is_infinite() => {
                return Err(S::Error::custom(
                    "an infinite number cannot be sent to the server (JSON has no infinity)",
                ))
            }
            Value::Real(f) => {
                map.serialize_entry("type", "float")?;
                map.serialize_entry("value", f)?;
            }
            Value::Text(t) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("value", t)?;
            }
            Value::Blob(b) => {
                map.serialize_entry("type", "blob")?;
                map.serialize_entry("base64", &STANDARD_NO_PAD.encode(b))?;
            }
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format (JSON), answers

#[derive(Deserialize)]
struct PipelineResp {
    #[serde(default)]
    baton: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    results: Vec<StreamResult>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum StreamResult {
    Ok { response: StreamResponse },
    Error { error: WireError },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum StreamResponse {
    Execute {
        result: StmtResult,
    },
    Batch {
        result: BatchResult,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireError {
    message: String,
}

#[derive(Deserialize)]
struct StmtResult {
    #[serde(default)]
    cols: Vec<WireCol>,
    #[serde(default)]
    rows: Vec<Vec<WireIn>>,
    #[serde(default)]
    affected_row_count: u64,
}

impl StmtResult {
    /// The rows; `changed` is the row count measured around the statement, used when the
    /// server's own count is zero.
    fn into_rows(self, changed: Option<u64>) -> Rows {
        let affected = match (self.affected_row_count, changed) {
            (0, Some(c)) => c,
            (n, _) => n,
        };
        Rows {
            columns: self
                .cols
                .into_iter()
                .map(|c| c.name.unwrap_or_default())
                .collect(),
            rows: self
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(|v| v.0).collect())
                .collect(),
            affected,
        }
    }
}

#[derive(Deserialize)]
struct WireCol {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct BatchResult {
    step_results: Vec<Option<StmtResult>>,
    step_errors: Vec<Option<WireError>>,
}

/// A value in an answer.
#[derive(Debug, PartialEq)]
struct WireIn(Value);

#[derive(Deserialize)]
struct RawValue<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default, borrow)]
    base64: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for WireIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawValue::deserialize(d)?;
        decode_value(raw).map(WireIn).map_err(D::Error::custom)
    }
}

fn decode_value(raw: RawValue<'_>) -> Result<Value, String> {
    use serde_json::Value as J;
    match raw.ty.as_ref() {
        "null" => Ok(Value::Null),
        "integer" => match raw.value {
            Some(J::String(s)) => s
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("integer value {s:?} is not a 64-bit integer")),
            Some(J::Number(n)) => n
                .as_i64()
                .map(Value::Integer)
                .ok_or_else(|| format!("integer value {n} is not a 64-bit integer")),
            _ => Err("an integer value has no \"value\"".into()),
        },
        "float" => match raw.value {
            Some(J::Number(n)) => n
                .as_f64()
                .map(Value::Real)
                .ok_or_else(|| format!("float value {n} is not a number")),
            Some(J::String(s)) => s
                .parse::<f64>()
                .map(Value::Real)
                .map_err(|_| format!("float value {s:?} is not a number")),
            // Servers write an infinite float as null (JSON has no infinity).
            None | Some(J::Null) => Ok(Value::Null),
            Some(other) => Err(format!("float value {other} is not a number")),
        },
        "text" => match raw.value {
            Some(J::String(s)) => Ok(Value::Text(s)),
            _ => Err("a text value has no string \"value\"".into()),
        },
        "blob" => match raw.base64 {
            Some(b) => BASE64_LENIENT
                .decode(b.as_bytes())
                .map(Value::Blob)
                .map_err(|e| format!("a blob value is not base64 ({e})")),
            None => Err("a blob value has no \"base64\"".into()),
        },
        other => Err(format!("unknown value type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(v: &Value) -> serde_json::Value {
        serde_json::to_value(WireValue(v)).unwrap()
    }

    fn dec(j: serde_json::Value) -> Result<Value, String> {
        serde_json::from_value::<WireIn>(j)
            .map(|w| w.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn values_encode_per_spec() {
        assert_eq!(enc(&Value::Null), json!({"type": "null"}));
        assert_eq!(
            enc(&Value::Integer(123)),
            json!({"type": "integer", "value": "123"})
        );
        assert_eq!(
            enc(&Value::Integer(i64::MIN)),
            json!({"type": "integer", "value": "-9223372036854775808"})
        );
        assert_eq!(
            enc(&Value::Real(1.5)),
            json!({"type": "float", "value": 1.5})
        );
        assert_eq!(
            enc(&Value::Text("hé \"x\"".into())),
            json!({"type": "text", "value": "hé \"x\""})
        );
        assert_eq!(
            enc(&Value::Blob(vec![1, 2])),
            json!({"type": "blob", "base64": "AQI"})
        );
        assert_eq!(
            enc(&Value::Blob(vec![])),
            json!({"type": "blob", "base64": ""})
        );
        assert_eq!(enc(&Value::Real(f64::NAN)), json!({"type": "null"}));
        assert!(serde_json::to_value(WireValue(&Value::Real(f64::INFINITY))).is_err());
    }

    #[test]
    fn values_decode_per_spec() {
        assert_eq!(dec(json!({"type": "null"})).unwrap(), Value::Null);
        assert_eq!(
            dec(json!({"type": "integer", "value": "9223372036854775807"})).unwrap(),
            Value::Integer(i64::MAX)
        );
        assert_eq!(
            dec(json!({"type": "integer", "value": 42})).unwrap(),
            Value::Integer(42)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": 1.5})).unwrap(),
            Value::Real(1.5)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": -0.0})).unwrap(),
            Value::Real(-0.0)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": null})).unwrap(),
            Value::Null
        );
        assert_eq!(
            dec(json!({"type": "text", "value": "a\u{0}b"})).unwrap(),
            Value::Text("a\u{0}b".into())
        );
        // Unpadded (what servers send) and padded both decode.
        assert_eq!(
            dec(json!({"type": "blob", "base64": "AQI"})).unwrap(),
            Value::Blob(vec![1, 2])
        );
        assert_eq!(
            dec(json!({"type": "blob", "base64": "AQI="})).unwrap(),
            Value::Blob(vec![1, 2])
        );
        assert_eq!(
            dec(json!({"type": "blob", "base64": ""})).unwrap(),
            Value::Blob(vec![])
        );
        assert!(dec(json!({"type": "integer", "value": "12x"})).is_err());
        assert!(dec(json!({"type": "integer", "value": "9223372036854775808"})).is_err());
        assert!(dec(json!({"type": "blob", "base64": "!!"})).is_err());
        assert!(dec(json!({"type": "text"})).is_err());
        assert!(dec(json!({"type": "decimal", "value": "1"})).is_err());
        assert!(dec(json!({"value": "1"})).is_err());
    }

    #[test]
    fn values_round_trip() {
        for v in [
            Value::Null,
            Value::Integer(-7),
            Value::Real(0.1),
            Value::Text(String::new()),
            Value::Blob((0u8..=255).collect()),
        ] {
            assert_eq!(dec(enc(&v)).unwrap(), v);
        }
    }

    #[test]
    fn execute_request_shape() {
        let stmt = Stmt::new(
            "SELECT ? , ?",
            vec![Value::Text("a".into()), Value::Integer(1)],
        );
        let reqs = [Request::Execute {
            stmt: WireStmt::new(&stmt),
        }];
        let body: serde_json::Value =
            serde_json::from_str(&pipeline_body(None, &reqs).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "baton": null,
                "requests": [{
                    "type": "execute",
                    "stmt": {
                        "sql": "SELECT ? , ?",
                        "args": [
                            {"type": "text", "value": "a"},
                            {"type": "integer", "value": "1"}
                        ],
                        "want_rows": true
                    }
                }]
            })
        );
        let body: serde_json::Value =
            serde_json::from_str(&pipeline_body(Some("b1"), &[Request::Close]).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"baton": "b1", "requests": [{"type": "close"}]})
        );
    }

    #[test]
    fn batch_request_shape() {
        let stmts = vec![
            Stmt::new("INSERT INTO t VALUES (?)", vec![Value::Integer(1)]),
            Stmt::new("DELETE FROM t", vec![]),
        ];
        let plan = BatchPlan::new(&stmts);
        let batch = serde_json::to_value(WireBatch {
            steps: plan.steps.clone(),
        })
        .unwrap();
        let steps = batch["steps"].as_array().unwrap();
        let sqls: Vec<&str> = steps
            .iter()
            .map(|s| s["stmt"]["sql"].as_str().unwrap())
            .collect();
        assert_eq!(
            sqls,
            [
                "BEGIN",
                COUNT_SQL,
                "INSERT INTO t VALUES (?)",
                COUNT_SQL,
                "DELETE FROM t",
                COUNT_SQL,
                "COMMIT",
                "ROLLBACK"
            ]
        );
        assert!(steps[0].get("condition").is_none());
        for (i, step) in steps.iter().enumerate().take(7).skip(1) {
            assert_eq!(
                step["condition"],
                json!({"type": "ok", "step": i - 1}),
                "step {i}"
            );
        }
        assert_eq!(
            steps[7]["condition"],
            json!({"type": "not", "cond": {"type": "ok", "step": 6}})
        );
        assert_eq!(
            steps[2]["stmt"]["args"],
            json!([{"type": "integer", "value": "1"}])
        );
    }

    fn stmt_result(rows: serde_json::Value, affected: u64) -> serde_json::Value {
        json!({"cols": [{"name": "c", "decltype": null}], "rows": rows,
               "affected_row_count": affected, "last_insert_rowid": null})
    }

    fn test_store(token: Option<&str>) -> HranaStore {
        HranaStore {
            base: "http://127.0.0.1:9".into(),
            query: String::new(),
            token: token.map(str::to_owned),
            read_only: false,
            shown: "http://127.0.0.1:9 (token ***)".into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            agent: build_agent(DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT),
            stream: Mutex::new(StreamState::default()),
            round_trips: Default::default(),
        }
    }

    #[test]
    fn batch_results_map_back_with_changed_rows() {
        let stmts = vec![
            Stmt::new("UPDATE t SET x = 1", vec![]),
            Stmt::new("SELECT 1", vec![]),
        ];
        let plan = BatchPlan::new(&stmts);
        let count = |n: i64| stmt_result(json!([[{"type": "integer", "value": n.to_string()}]]), 0);
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0), count(10),
                             stmt_result(json!([]), 0), count(13),
                             stmt_result(json!([[{"type": "integer", "value": "1"}]]), 0), count(13),
                             stmt_result(json!([]), 0), null],
            "step_errors": [null, null, null, null, null, null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let rows = plan.collect(result, &test_store(None)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].affected, 3);
        assert_eq!(rows[1].affected, 0);
        assert_eq!(rows[1].rows, vec![vec![Value::Integer(1)]]);
        assert_eq!(rows[1].columns, vec!["c".to_owned()]);
    }

    #[test]
    fn batch_step_error_names_the_statement() {
        let stmts = vec![
            Stmt::new("INSERT INTO t VALUES (1)", vec![]),
            Stmt::new("INSERT INTO t VALUES (1)", vec![]),
        ];
        let plan = BatchPlan::new(&stmts);
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0), stmt_result(json!([]), 0),
                             stmt_result(json!([]), 1), stmt_result(json!([]), 0),
                             null, null, null, stmt_result(json!([]), 0)],
            "step_errors": [null, null, null, null,
                            {"message": "UNIQUE constraint failed: t.x", "code": "SQLITE_CONSTRAINT"},
                            null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let err = plan.collect(result, &test_store(None)).unwrap_err();
        assert!(matches!(err, StoreError::Sql { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("UNIQUE constraint failed"), "{text}");
        assert!(
            text.contains("statement 2 of 2: INSERT INTO t VALUES (1)"),
            "{text}"
        );
    }

    #[test]
    fn pipeline_answer_parses_both_families() {
        let sqld = json!({"baton": "abc", "base_url": "https://x.example", "results": [
            {"type": "ok", "response": {"type": "execute", "result": stmt_result(json!([]), 0)}},
            {"type": "ok", "response": {"type": "close"}},
            {"type": "error", "error": {"message": "no such table: t", "code": "SQLITE_ERROR"}}
        ]});
        let resp: PipelineResp = serde_json::from_value(sqld).unwrap();
        assert_eq!(resp.baton.as_deref(), Some("abc"));
        assert_eq!(resp.results.len(), 3);
        assert!(matches!(
            resp.results[1],
            StreamResult::Ok {
                response: StreamResponse::Other
            }
        ));
        let turso = json!({"baton": null, "base_url": null, "results": []});
        let resp: PipelineResp = serde_json::from_value(turso).unwrap();
        assert!(resp.baton.is_none());
        assert!(serde_json::from_value::<PipelineResp>(json!({"hello": 1})).is_err());
    }

    #[test]
    fn base_url_is_followed_only_when_safe() {
        let store = test_store(None);
        assert_eq!(
            store.accept_base_url(Some("http://10.0.0.2:8080/".into())),
            Some("http://10.0.0.2:8080".into())
        );
        assert_eq!(store.accept_base_url(Some("ftp://x".into())), None);
        assert_eq!(store.accept_base_url(None), None);
        let mut https = test_store(None);
        https.base = "https://db.example".into();
        assert_eq!(
            https.accept_base_url(Some("http://db.example".into())),
            None
        );
        assert_eq!(
            https.pipeline_url(Some("https://other.example")),
            "https://other.example/v2/pipeline"
        );
        https.query = "?x=1".into();
        assert_eq!(
            https.pipeline_url(None),
            "https://db.example/v2/pipeline?x=1"
        );
    }

    #[test]
    fn errors_never_show_the_token() {
        let token = "tok-SECRET-4242";
        let store = test_store(Some(token));
        let failures = vec![
            Failure::Refused,
            Failure::Reset,
            Failure::Dns,
            Failure::Unreachable(format!("bad thing with {token}")),
            Failure::ConnectTimeout,
            Failure::RequestTimeout,
            Failure::BadUrl(format!("url {token}")),
            Failure::NotHttp(format!("garbage {token}")),
            Failure::Status(401, String::new()),
            Failure::Status(403, token.into()),
            Failure::Status(404, token.into()),
            Failure::Status(500, format!("boom: token {token} is bad\nline two")),
            Failure::Status(500, json!({"message": format!("x {token}")}).to_string()),
            Failure::Redirect(302, format!("https://x/?authToken={token}")),
            Failure::NotHrana(format!("json {token}")),
        ];
        for f in failures {
            let text = store.fail(f).to_string();
            assert!(!text.contains(token), "{text}");
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains("http://127.0.0.1:9 (token ***)"), "{text}");
        }
        let err = store.sql_error(&format!("near {token}: syntax error"), "in SELECT".into());
        assert!(!err.to_string().contains(token));
    }

    #[test]
    fn auth_hint_depends_on_the_token() {
        let with = test_store(Some("t")).fail(Failure::Status(401, String::new()));
        assert!(with.to_string().contains("token rejected"), "{with}");
        let without = test_store(None).fail(Failure::Status(403, String::new()));
        assert!(without.to_string().contains("token missing"), "{without}");
        assert!(matches!(without, StoreError::Auth { status: 403, .. }));
    }

    #[test]
    fn body_excerpts_are_short_single_lines() {
        let store = test_store(None);
        let long = "x".repeat(1000);
        let text = store.body_excerpt(&long);
        assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(store.body_excerpt("  a\r\n\tb  "), "a b");
        assert_eq!(store.body_excerpt(""), "(empty body)");
        assert_eq!(
            store.body_excerpt("<html><head><title>502 Bad Gateway</title></head></html>"),
            "an HTML page titled \"502 Bad Gateway\""
        );
        assert_eq!(
            store.body_excerpt(
                r#"{"message":"The stream has expired due to inactivity","code":"STREAM_EXPIRED"}"#
            ),
            "The stream has expired due to inactivity"
        );
    }

    #[test]
    fn classifies_transient_and_baton_failures() {
        assert!(Failure::Status(503, String::new()).transient());
        assert!(Failure::Status(502, String::new()).transient());
        assert!(!Failure::Status(500, String::new()).transient());
        assert!(Failure::Refused.transient());
        assert!(Failure::Reset.transient());
        assert!(!Failure::RequestTimeout.transient());
        assert!(Failure::Status(400, "Invalid baton".into()).baton_refused());
        assert!(Failure::Status(
            500,
            r#"{"message":"The stream has expired due to inactivity","code":"STREAM_EXPIRED"}"#
                .into()
        )
        .baton_refused());
        assert!(!Failure::Status(500, "boom".into()).baton_refused());
    }

    #[test]
    fn stale_batons_are_dropped() {
        let mut state = StreamState {
            baton: Some("b".into()),
            base_url: Some("http://x".into()),
            last_used: Some(Instant::now()),
        };
        assert_eq!(state.live_baton().as_deref(), Some("b"));
        state.last_used = Instant::now().checked_sub(STREAM_IDLE + Duration::from_secs(1));
        assert_eq!(state.live_baton(), None);
        assert!(state.base_url.is_none());
    }

    #[test]
    fn one_line_cuts_and_collapses() {
        assert_eq!(one_line("a  b\n\nc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("ab cd", 2), "ab…");
        assert_eq!(whole_seconds(Duration::from_millis(500)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
    }
}
