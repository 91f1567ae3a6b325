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
//! `BEGIN IMMEDIATE; stmt…; COMMIT` with each step conditioned on the previous one and a
//! `ROLLBACK` when the `COMMIT` did not run or failed. A read that fails on the way (connection
//! refused or reset, HTTP 502/503/504) is tried again a few times; a batch only when the server
//! provably wrote nothing: it refused the baton, or the database was busy ("database is locked",
//! retried with growing pauses for up to 10 s, as a local file's busy timeout waits).
//!
//! Answers are bounded: no body is read past 64 MiB, and paged reads ([`Store::query_page`])
//! keep each answer near [`PAGE_BYTES`], sized by the rows already seen, halving a page the
//! server finds too large (sqld refuses answers over its `--max-response-size`, 10 MB by
//! default, with `RESPONSE_TOO_LARGE`).
//!
//! Networks of real organisations: certificates are checked against the platform's store,
//! Mozilla's roots and `PKGDECK_CA_FILE`/`SSL_CERT_FILE`; `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`
//! are honoured (https through a `CONNECT` tunnel); https is never downgraded to http (the agent
//! of an https origin refuses http, redirects are not followed, and an http `base_url` from an
//! https server is ignored).
//!
//! This file holds [`HranaStore`], how it is opened and its [`Store`] impl; the parts live in
//! `stream` (the baton, its reuse and expiry, `close`, and the pipeline run on the stream),
//! `batch` (a write as one conditioned batch), `wire` (the JSON requests and answers, values
//! included), `http` (the client, one route per origin, timeouts, retries and what went wrong),
//! `proxy` (which proxy, from the environment), `trust` (the CAs), `tls` (the proxy tunnel and
//! the TLS handshake) and `error` (the one sentence made of each failure, never showing the token
//! or the proxy's credentials).

mod batch;
mod error;
mod http;
pub(crate) mod proxy;
mod stream;
mod tls;
mod trust;
mod wire;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Rows, Stmt, Store, StoreError, Value};
use batch::{BatchFailure, BatchPlan, Plan, RehearsalPlan, BEGIN_IMMEDIATE, BEGIN_PLAIN};
use error::{mib, sql_excerpt};
use http::{Origin, Retry, Route};
use proxy::ProxyEnv;
pub use proxy::SetupError;
use stream::{busy_pause, StreamState, BUSY_TIMEOUT};
use trust::Trust;
use wire::{Request, StmtResult, StreamResponse, StreamResult, WireBatch, WireError, WireStmt};

pub use trust::CA_FILE_VARS;

pub use http::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, MAX_RESPONSE_BYTES, READ_RETRIES,
};

/// The size a paged read aims at for one answer: well under sqld's default limit (10 MB), so
/// that a page of rows a little larger than the ones before still fits.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Rows in the first page of a paged read, before any row size is known.
const FIRST_PAGE_ROWS: usize = 100;

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
    /// The proxy variables, read when the store was opened.
    proxies: ProxyEnv,
    /// The TLS settings, built for the first https origin.
    trust: Mutex<Option<Trust>>,
    /// One route per origin used so far (the target's, and a `base_url`'s).
    routes: Mutex<Vec<Route>>,
    /// The open stream, if the server keeps one; the lock also serialises requests, as batons
    /// require.
    stream: Mutex<StreamState>,
    /// HTTP requests sent so far (the benchmark reports round trips per operation), shared
    /// with this store's readers.
    round_trips: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The server refused `BEGIN IMMEDIATE` once: batches begin with plain `BEGIN`.
    plain_begin: AtomicBool,
    /// Bytes per row in the last page read (0: none yet), to size the next page.
    row_bytes: AtomicUsize,
    /// The size pages aim at: [`PAGE_BYTES`], or less once the server refused a page (its
    /// limit is lower than sqld's default): then the size of the page that fit after it.
    page_bytes: AtomicUsize,
}

/// The outcome of one `execute`: its result, or the error the server gave for the statement
/// (the request itself went through).
type Executed = Result<(StmtResult, usize), WireError>;

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
    ///
    /// The proxy variables and the CA file are read here: a proxy variable that is not a usable
    /// address, or a CA file that cannot be read, fails here with a sentence naming it.
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
            proxies: ProxyEnv::from_env(),
            trust: Mutex::new(None),
            routes: Mutex::new(Vec::new()),
            stream: Mutex::new(StreamState::default()),
            round_trips: std::sync::Arc::default(),
            plain_begin: AtomicBool::new(false),
            row_bytes: AtomicUsize::new(0),
            page_bytes: AtomicUsize::new(PAGE_BYTES),
        };
        store.route(&store.url())?;
        Ok(store)
    }

    /// Replaces the timeouts (defaults: connect 5 s, request 30 s).
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        // The agents carry the timeouts: they are built again on the next request.
        self.routes
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self
    }

    /// The route to the origin of `url`, made on first use: its proxy decided by the
    /// environment read at open, its TLS settings built once per store.
    fn route(&self, url: &str) -> Result<Route, StoreError> {
        let open_error = |reason: SetupError| StoreError::Open {
            target: self.shown.clone(),
            reason: reason.0,
        };
        let origin = Origin::of(url)
            .ok_or_else(|| open_error(SetupError("the URL names no usable host".into())))?;
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(route) = routes.iter().find(|r| r.origin == origin) {
            return Ok(route.clone());
        }
        let proxy = self
            .proxies
            .proxy_for(origin.https, &origin.host, origin.port)
            .map_err(open_error)?;
        let trust = if origin.https {
            Some(self.trust().map_err(open_error)?)
        } else {
            None
        };
        let route = Route::new(
            origin,
            proxy,
            trust.as_ref(),
            self.connect_timeout,
            self.request_timeout,
        );
        // The target's own route stays first; a server's base_url may add one more.
        if routes.len() >= 3 {
            routes.truncate(1);
        }
        routes.push(route.clone());
        Ok(route)
    }

    /// The TLS settings, built from the environment on first use.
    fn trust(&self) -> Result<Trust, SetupError> {
        let mut trust = self
            .trust
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = trust.as_ref() {
            return Ok(t.clone());
        }
        let built = Trust::from_env()?;
        *trust = Some(built.clone());
        Ok(built)
    }

    /// Where the extra CAs came from (`(variable, file)`), once the TLS settings are built.
    fn extra_cas(&self) -> Option<(&'static str, String)> {
        self.trust
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(|t| t.extra.clone())
    }

    /// The URL requests go to first (no token in it).
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.query)
    }

    /// Runs one statement as one `execute` request. A busy database ("database is locked") is
    /// waited for, up to [`BUSY_TIMEOUT`]; any other statement error is handed back.
    fn execute(&self, stmt: &Stmt) -> Result<Executed, StoreError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let requests = [Request::Execute {
                stmt: WireStmt::new(stmt),
            }];
            let (mut results, size) = self.pipeline(&requests, Retry::Read)?;
            return match results.pop() {
                Some(StreamResult::Ok {
                    response: StreamResponse::Execute { result },
                }) => Ok(Ok((result, size))),
                Some(StreamResult::Error { error })
                    if error.busy() && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(busy_pause(attempt));
                    attempt += 1;
                    continue;
                }
                Some(StreamResult::Error { error }) => Ok(Err(error)),
                _ => {
                    Err(self.protocol("the answer to an execute request is not an execute result"))
                }
            };
        }
    }

    /// How many rows the next page asks for: as many as fit in the page budget
    /// ([`PAGE_BYTES`] or less) at the size of the rows of the last page, at most `rows`.
    fn page_rows(&self, rows: usize) -> usize {
        match self.row_bytes.load(Ordering::Relaxed) {
            0 => rows.min(FIRST_PAGE_ROWS),
            per_row => (self.page_bytes.load(Ordering::Relaxed) / per_row).clamp(1, rows.max(1)),
        }
    }

    /// The error for a single row that is too large for one answer, naming it by the `id` and
    /// `version` columns of `stmt` (a one-row page) when the server tells them.
    fn row_too_large(&self, stmt: &Stmt, over: &str) -> StoreError {
        let probe = Stmt::new(
            format!("SELECT id, version FROM ({})", stmt.sql),
            stmt.args.clone(),
        );
        let named = match self.execute(&probe) {
            Ok(Ok((result, _))) => result.into_rows(None).rows.into_iter().next(),
            _ => None,
        };
        let row = match named.as_deref() {
            Some([id, version]) => format!(
                "row {} {}",
                self.untrusted(&id.clone().into_text().unwrap_or_default(), 120),
                self.untrusted(&version.clone().into_text().unwrap_or_default(), 60)
            ),
            _ => "the next row".into(),
        };
        StoreError::TooLarge {
            target: self.shown.clone(),
            reason: format!("{row} is larger than {over}"),
        }
    }
}

impl Drop for HranaStore {
    fn drop(&mut self) {
        self.close_stream();
    }
}

impl Store for HranaStore {
    /// The proxy requests to this store go through, shown with its credentials masked
    /// (`http://***@proxy:3128 (HTTPS_PROXY)`), or `None` when they go directly.
    fn proxy(&self) -> Option<String> {
        self.route(&self.url())
            .ok()
            .and_then(|r| r.proxy.map(|p| p.shown()))
    }

    fn target(&self) -> &str {
        &self.shown
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn pages(&self) -> bool {
        true
    }

    /// Another store on the same target, read-only, with a stream of its own (so its requests
    /// do not wait for this one's), counting its requests with this store's and sizing its
    /// pages from what this one has learnt. Nothing is sent until it is used.
    fn reader(&self) -> Option<Box<dyn Store>> {
        let mut reader = Self::connect(
            &self.url(),
            self.token.clone(),
            true,
            self.shown.clone(),
            self.connect_timeout,
            self.request_timeout,
        )
        .ok()?;
        reader.round_trips = self.round_trips.clone();
        reader.row_bytes = AtomicUsize::new(self.row_bytes.load(Ordering::Relaxed));
        reader.page_bytes = AtomicUsize::new(self.page_bytes.load(Ordering::Relaxed));
        Some(Box::new(reader))
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn query(&self, stmt: &Stmt) -> Result<Rows, StoreError> {
        match self.execute(stmt)? {
            Ok((result, _)) => Ok(result.into_rows(None)),
            Err(error) if error.too_large() => Err(StoreError::TooLarge {
                target: self.shown.clone(),
                reason: format!(
                    "the answer to {} is larger than the server sends in one answer (RESPONSE_TOO_LARGE)",
                    sql_excerpt(&stmt.sql)
                ),
            }),
            Err(error) => {
                Err(self.sql_error(&error.message, format!("in {}", sql_excerpt(&stmt.sql))))
            }
        }
    }

    fn query_page(
        &self,
        rows: usize,
        page: &dyn Fn(usize) -> Stmt,
        each: &mut dyn FnMut(&[Value]) -> bool,
    ) -> Result<usize, StoreError> {
        let mut limit = self.page_rows(rows);
        let mut refused = false;
        loop {
            let stmt = page(limit);
            // Too large for the server (RESPONSE_TOO_LARGE) or for pkgdeck (over 64 MiB).
            let over = match self.execute(&stmt) {
                Ok(Ok((result, size))) => {
                    let got = result.into_rows(None);
                    if let Some(per_row) = size.checked_div(got.rows.len()) {
                        self.row_bytes.store(per_row.max(1), Ordering::Relaxed);
                    }
                    if refused && got.rows.len() == limit {
                        // Twice this many rows was too much: aim at this size from now on.
                        self.page_bytes.fetch_min(size.max(1), Ordering::Relaxed);
                    }
                    for row in &got.rows {
                        if !each(row) {
                            break;
                        }
                    }
                    return Ok(limit);
                }
                Ok(Err(error)) if error.too_large() => {
                    "the server sends in one answer (RESPONSE_TOO_LARGE); raise the server's --max-response-size to read it".to_owned()
                }
                Ok(Err(error)) => {
                    return Err(
                        self.sql_error(&error.message, format!("in {}", sql_excerpt(&stmt.sql)))
                    )
                }
                Err(StoreError::TooLarge { .. }) => format!(
                    "{}, the most pkgdeck reads in one answer",
                    mib(MAX_RESPONSE_BYTES)
                ),
                Err(e) => return Err(e),
            };
            if limit == 1 {
                return Err(self.row_too_large(&stmt, &over));
            }
            refused = true;
            limit /= 2;
        }
    }

    fn query_many(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let requests: Vec<Request<'_>> = stmts
            .iter()
            .map(|stmt| Request::Execute {
                stmt: WireStmt::new(stmt),
            })
            .collect();
        let (results, _) = self.pipeline(&requests, Retry::Read)?;
        results
            .into_iter()
            .zip(stmts)
            .map(|(result, stmt)| match result {
                StreamResult::Ok {
                    response: StreamResponse::Execute { result },
                } => Ok(result.into_rows(None)),
                StreamResult::Error { error } => {
                    Err(self.sql_error(&error.message, format!("in {}", sql_excerpt(&stmt.sql))))
                }
                StreamResult::Ok { .. } => {
                    Err(self.protocol("the answer to an execute request is not an execute result"))
                }
            })
            .collect()
    }

    fn rehearse(&self, stmts: &[Stmt]) -> Result<Vec<Rows>, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                target: self.shown.clone(),
                action: "rehearsing a write".into(),
            });
        }
        // As a batch: nothing is kept whatever happens, so a failed exchange may be sent again.
        self.send_batch(
            stmts,
            RehearsalPlan::new,
            Retry::Rehearsal,
            "the rehearsal was refused",
        )
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
        // The batch as a whole refused means none of it ran.
        self.send_batch(stmts, BatchPlan::new, Retry::Write, "the batch was refused")
    }
}

impl HranaStore {
    /// Sends the batch `plan` makes of `stmts`, one request: a busy database is waited for (up to
    /// [`BUSY_TIMEOUT`]), and a server without `BEGIN IMMEDIATE` gets the batch again with a plain
    /// `BEGIN` (and every later one). `refused` says what a refusal of the whole batch means.
    fn send_batch<'s, P: Plan<'s>>(
        &self,
        stmts: &'s [Stmt],
        plan: impl Fn(&'s [Stmt], &'static str) -> P,
        retry: Retry,
        refused: &str,
    ) -> Result<Vec<Rows>, StoreError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let begin = if self.plain_begin.load(Ordering::Relaxed) {
                BEGIN_PLAIN
            } else {
                BEGIN_IMMEDIATE
            };
            let plan = plan(stmts, begin);
            let requests = [Request::Batch {
                batch: WireBatch {
                    steps: plan.steps().to_vec(),
                },
            }];
            let (mut results, _) = self.pipeline(&requests, retry)?;
            let failure = match results.pop() {
                Some(StreamResult::Ok {
                    response: StreamResponse::Batch { result },
                }) => match plan.collect(result, self) {
                    Ok(rows) => return Ok(rows),
                    Err(failure) => failure,
                },
                Some(StreamResult::Error { error }) => {
                    let e = self.sql_error(&error.message, refused.into());
                    if error.busy() {
                        BatchFailure::Busy(e)
                    } else {
                        BatchFailure::Failed(e)
                    }
                }
                _ => {
                    return Err(self.protocol("the answer to a batch request is not a batch result"))
                }
            };
            match failure {
                BatchFailure::Busy(_) if started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(busy_pause(attempt));
                    attempt += 1;
                }
                BatchFailure::ImmediateRefused(_) if begin == BEGIN_IMMEDIATE => {
                    self.plain_begin.store(true, Ordering::Relaxed);
                }
                BatchFailure::Busy(e)
                | BatchFailure::ImmediateRefused(e)
                | BatchFailure::Failed(e) => return Err(e),
            }
        }
    }
}

/// Helpers shared by the unit tests of every part.
#[cfg(test)]
mod test_support {
    use super::*;
    use serde_json::json;

    pub(super) fn stmt_result(rows: serde_json::Value, affected: u64) -> serde_json::Value {
        json!({"cols": [{"name": "c", "decltype": null}], "rows": rows,
               "affected_row_count": affected, "last_insert_rowid": null})
    }

    pub(super) fn test_store(token: Option<&str>) -> HranaStore {
        HranaStore {
            base: "http://127.0.0.1:9".into(),
            query: String::new(),
            token: token.map(str::to_owned),
            read_only: false,
            shown: "http://127.0.0.1:9 (token ***)".into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            proxies: ProxyEnv::default(),
            trust: Mutex::new(None),
            routes: Mutex::new(Vec::new()),
            stream: Mutex::new(StreamState::default()),
            round_trips: std::sync::Arc::default(),
            plain_begin: AtomicBool::new(false),
            row_bytes: AtomicUsize::new(0),
            page_bytes: AtomicUsize::new(PAGE_BYTES),
        }
    }
}
