//! The server's stream: the baton that names it, kept only while the server hands one out and
//! only for a few idle seconds; the `base_url` it may name; `close`, sent only to a server that
//! hands out batons; and [`HranaStore::pipeline`], which runs requests on the stream and decides
//! when a failed one is sent again.
//!
//! Once a server has answered with a baton (sqld, Turso Cloud), every later pipeline ends with
//! `close`: the stream it used (the previous answer's, or a new one) ends with the request that
//! used it, in the same round trip, so a one-shot command's operation and close travel together
//! and a long-lived console never leaves streams open. The first request cannot close: only its
//! answer tells sqld (batons) from `tursodb --sync-server` (null batons, and it rejects any
//! pipeline holding `close`). A stream still open when the store is dropped is closed then.

use std::thread;
use std::time::{Duration, Instant};

use super::error::not_hrana_reason;
use super::http::{read_capped, Failure, Retry, READ_RETRIES, RETRY_BACKOFF};
use super::wire::{pipeline_body, PipelineResp, Request, StreamResult};
use super::HranaStore;
use crate::store::StoreError;

/// A baton older than this is not used for a request: sqld expires idle streams after 10 s.
const STREAM_IDLE: Duration = Duration::from_secs(5);
/// The `close` sent on drop must not hold the program up.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a write (or read) waits for a busy database before it gives up, as the busy timeout
/// of a local file does.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(super) struct StreamState {
    baton: Option<String>,
    base_url: Option<String>,
    last_used: Option<Instant>,
    /// The server has answered with a baton: it keeps streams, so pipelines end with `close`.
    keeps_streams: bool,
}

impl StreamState {
    /// Drops the stream (not what was learned about the server).
    fn forget(&mut self) {
        self.baton = None;
        self.base_url = None;
        self.last_used = None;
    }

    /// The baton, if the stream is still fresh enough to be used; a stale one is forgotten
    /// (the server expires it by itself).
    fn live_baton(&mut self) -> Option<String> {
        let fresh = self.last_used.is_some_and(|t| t.elapsed() < STREAM_IDLE);
        if !fresh {
            self.forget();
        }
        self.baton.clone()
    }
}

/// The pause before busy attempt `attempt` (from 0): 25 ms doubling up to 800 ms, plus up to
/// half of it again, so that writers waiting on each other do not retry in step.
pub(super) fn busy_pause(attempt: u32) -> Duration {
    let base = Duration::from_millis(25) * 2u32.pow(attempt.min(5));
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        % 1000;
    base + base * spread / 2000
}

impl HranaStore {
    /// Whether the server keeps a stream open for this store right now (sqld, Turso Cloud).
    pub fn has_stream(&self) -> bool {
        self.lock().baton.is_some()
    }

    /// Closes the server stream, if there is one; the next request opens a new one. Servers
    /// without streams (baton always null) are never sent `close`.
    pub fn close_stream(&self) {
        let mut state = self.lock();
        // Even a stale baton is closed: sqld may still hold its stream (up to 10 s idle), and
        // the answer does not matter.
        let Some(baton) = state.baton.clone() else {
            return;
        };
        let url = self.pipeline_url(state.base_url.as_deref());
        state.forget();
        drop(state);
        let body = pipeline_body(Some(&baton), &[], true);
        if let (Ok(body), Ok(route)) = (body, self.route(&url)) {
            self.round_trips
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Ok(resp) = self
                .request(&route, &url)
                .timeout(CLOSE_TIMEOUT)
                .send_string(&body)
            {
                let _ = read_capped(resp.into_reader(), None, 64 * 1024);
            }
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

    /// Runs one pipeline on the current stream and returns its results, one per request
    /// (the result of the `close` that may end the pipeline is not among them), and the size
    /// of the answer in bytes.
    ///
    /// Sent again: a pipeline whose stream the server refused (expired or unknown baton: it
    /// ran nothing) once, on a new stream; a pipeline the server was too busy to take (HTTP
    /// 429: it ran nothing) for up to [`BUSY_TIMEOUT`]; a read that failed on the way
    /// (connection refused or reset, 502/503/504) up to [`READ_RETRIES`] times. A write that
    /// failed any other way is never sent again.
    pub(super) fn pipeline(
        &self,
        requests: &[Request<'_>],
        retry: Retry,
    ) -> Result<(Vec<StreamResult>, usize), StoreError> {
        let mut state = self.lock();
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut busy_attempt: u32 = 0;
        let mut baton_retried = false;
        loop {
            let baton = state.live_baton();
            let close = state.keeps_streams;
            let url = self.pipeline_url(state.base_url.as_deref());
            let body = pipeline_body(baton.as_deref(), requests, close).map_err(|reason| {
                StoreError::Other {
                    target: self.shown.clone(),
                    message: reason,
                }
            })?;
            let route = match self.route(&url) {
                Ok(route) => route,
                Err(e) => {
                    state.forget();
                    return Err(e);
                }
            };
            match self.exchange(&route, &url, &body) {
                Ok(bytes) => {
                    let resp: PipelineResp = match serde_json::from_slice(&bytes) {
                        Ok(resp) => resp,
                        Err(e) => {
                            state.forget();
                            return Err(self.fail(Failure::NotHrana(not_hrana_reason(&bytes, &e))));
                        }
                    };
                    let size = bytes.len();
                    drop(bytes);
                    let expected = requests.len() + usize::from(close);
                    if resp.results.len() != expected {
                        state.forget();
                        return Err(self.fail(Failure::NotHrana(format!(
                            "{} results for {} requests",
                            resp.results.len(),
                            expected
                        ))));
                    }
                    let mut results = resp.results;
                    // The close's own answer does not matter: the stream is over either way.
                    results.truncate(requests.len());
                    state.base_url = match resp.baton {
                        Some(_) => self
                            .accept_base_url(resp.base_url)
                            .or_else(|| state.base_url.take()),
                        None => None,
                    };
                    state.keeps_streams |= resp.baton.is_some();
                    state.baton = resp.baton;
                    state.last_used = Some(Instant::now());
                    return Ok((results, size));
                }
                Err(failure) => {
                    // After an HTTP error or a broken exchange the stream is no longer valid.
                    state.forget();
                    if baton.is_some() && !baton_retried && failure.baton_refused() {
                        baton_retried = true;
                        continue;
                    }
                    if failure.busy() && started.elapsed() < BUSY_TIMEOUT {
                        thread::sleep(busy_pause(busy_attempt));
                        busy_attempt += 1;
                        continue;
                    }
                    if matches!(retry, Retry::Read | Retry::Rehearsal)
                        && failure.transient()
                        && attempt < READ_RETRIES
                    {
                        thread::sleep(RETRY_BACKOFF * 2u32.pow(attempt));
                        attempt += 1;
                        continue;
                    }
                    if retry == Retry::Write
                        && matches!(failure, Failure::Reset | Failure::CutOff(_))
                    {
                        return Err(StoreError::Unreachable {
                            target: self.shown.clone(),
                            reason: "the connection was closed before an answer arrived, so the \
                                     batch may or may not have been written"
                                .into(),
                        });
                    }
                    return Err(self.fail_request(failure, retry));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hrana::test_support::test_store;

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
    fn stale_batons_are_dropped() {
        let mut state = StreamState {
            baton: Some("b".into()),
            base_url: Some("http://x".into()),
            last_used: Some(Instant::now()),
            keeps_streams: true,
        };
        assert_eq!(state.live_baton().as_deref(), Some("b"));
        state.last_used = Instant::now().checked_sub(STREAM_IDLE + Duration::from_secs(1));
        assert_eq!(state.live_baton(), None);
        assert!(state.base_url.is_none());
        assert!(
            state.keeps_streams,
            "what was learned about the server stays"
        );
    }

    #[test]
    fn busy_pauses_grow_and_stay_bounded() {
        assert!(busy_pause(0) >= Duration::from_millis(25));
        assert!(busy_pause(0) < Duration::from_millis(38));
        assert!(busy_pause(30) <= Duration::from_millis(1200));
        assert!(busy_pause(30) >= Duration::from_millis(800));
    }
}
