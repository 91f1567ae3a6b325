//! The HTTP client: one POST per pipeline with blocking ureq and rustls, the timeouts, the retry
//! policy, and what went wrong with an exchange ([`Failure`]), told from ureq's and the OS's
//! errors.

use std::io::Read;
use std::time::Duration;

use super::HranaStore;

/// How long to wait for the TCP (and TLS) connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one HTTP request may take in all, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a failed read is tried again (so at most 1 + this many requests).
pub const READ_RETRIES: u32 = 3;
/// The pause before the first retry; it doubles each time.
pub(super) const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// A read: transient failures are retried.
    Read,
    /// A write: only a refused baton (nothing ran) is retried.
    Write,
}

/// What went wrong with one HTTP exchange, before it is turned into a [`StoreError`].
#[derive(Debug)]
pub(super) enum Failure {
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
    pub(super) fn transient(&self) -> bool {
        match self {
            Failure::Refused | Failure::Reset => true,
            Failure::Status(code, _) => matches!(code, 502..=504),
            _ => false,
        }
    }

    /// The server refused the stream itself (expired or unknown baton): it ran nothing.
    pub(super) fn baton_refused(&self) -> bool {
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
    pub(super) fn request(&self, url: &str) -> ureq::Request {
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

    /// One POST: the body of a 2xx answer, or what went wrong.
    pub(super) fn exchange(&self, url: &str, body: &str) -> Result<Vec<u8>, Failure> {
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
}

pub(super) fn build_agent(connect: Duration, request: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(connect)
        .timeout(request)
        .redirects(0)
        .user_agent(concat!("pkgdeck/", env!("CARGO_PKG_VERSION")))
        .build()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
