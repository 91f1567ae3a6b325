//! The server's stream: the baton that names it, kept only while the server hands one out and
//! only for a few idle seconds; the `base_url` it may name; `close`, sent only on a stream with a
//! baton; and [`HranaStore::pipeline`], which runs requests on the stream and decides when a
//! failed one is sent again.

use std::thread;
use std::time::{Duration, Instant};

use super::error::not_hrana_reason;
use super::http::{Failure, Retry, READ_RETRIES, RETRY_BACKOFF};
use super::wire::{pipeline_body, PipelineResp, Request, StreamResult};
use super::HranaStore;
use crate::store::StoreError;

/// A baton older than this is dropped rather than used: sqld expires idle streams after 10 s.
const STREAM_IDLE: Duration = Duration::from_secs(5);
/// The `close` sent on drop must not hold the program up.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub(super) struct StreamState {
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

impl HranaStore {
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
        if let (Ok(body), Ok(route)) = (body, self.route(&url)) {
            let _ = self
                .request(&route, &url)
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

    /// Runs one pipeline on the current stream and returns its results, one per request.
    pub(super) fn pipeline(
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
        };
        assert_eq!(state.live_baton().as_deref(), Some("b"));
        state.last_used = Instant::now().checked_sub(STREAM_IDLE + Duration::from_secs(1));
        assert_eq!(state.live_baton(), None);
        assert!(state.base_url.is_none());
    }
}
