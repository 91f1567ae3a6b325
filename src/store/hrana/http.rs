//! The HTTP client: one POST per pipeline with blocking ureq and rustls, the [`Route`] to each
//! origin (its agent, its proxy, its TLS settings), the timeouts, the retry policy, the one place
//! that reads a body (never more than [`MAX_RESPONSE_BYTES`]), and what went wrong with an
//! exchange ([`Failure`]), told from ureq's, the OS's and the TLS connector's errors.

use std::io::Read;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use super::proxy::Proxy;
use super::tls::{ConnectFailure, Connector};
use super::trust::Trust;
use super::HranaStore;

/// How long to wait for the TCP (and TLS) connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one HTTP request may take in all, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a failed read is tried again (so at most 1 + this many requests).
pub const READ_RETRIES: u32 = 3;
/// The pause before the first retry; it doubles each time.
pub(super) const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// The largest answer body read from a server (spec 3 (e)): a broken or hostile server that
/// sends an endless or huge body is stopped here, so memory stays bounded.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How much of an error answer (4xx/5xx) is read: enough for any message worth quoting.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// A read: transient failures are retried.
    Read,
    /// A write: only a refused baton (nothing ran) is retried.
    Write,
    /// A write that is always rolled back (a guard's rehearsal): retried like a read, since
    /// nothing is kept, but refused like a write by a token that only grants reads.
    Rehearsal,
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
    /// The answer was longer than [`MAX_RESPONSE_BYTES`]; reading stopped there.
    TooLarge,
    /// The connection ended in the middle of the body, after this many bytes of it.
    CutOff(usize),
    /// The TLS handshake or the proxy tunnel failed (see [`ConnectFailure`]).
    Connect(ConnectFailure),
    /// The proxy itself cannot be reached.
    ProxyDown {
        proxy: String,
        var: &'static str,
        why: ProxyDown,
    },
}

/// Why the proxy cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ProxyDown {
    Refused,
    Dns,
    Timeout,
    Other(String),
}

impl Failure {
    pub(super) fn transient(&self) -> bool {
        match self {
            Failure::Refused | Failure::Reset | Failure::CutOff(_) => true,
            Failure::Status(code, _) => matches!(code, 429 | 502..=504),
            // The proxy could not reach the server: like a gateway error.
            Failure::Connect(ConnectFailure::ProxyRefused { status, .. }) => {
                matches!(status, 502..=504)
            }
            _ => false,
        }
    }

    /// The server is too busy to take the request (sqld answers 429 when it "cannot handle
    /// additional transactions"): it ran nothing, so even a write may be sent again later.
    pub(super) fn busy(&self) -> bool {
        matches!(self, Failure::Status(429, _))
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

/// One origin: `https` or not, the host (without brackets) and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    pub(super) https: bool,
    pub(super) host: String,
    pub(super) port: u16,
}

impl Origin {
    /// The origin of an `http(s)://` URL, or `None` when it has no usable host.
    pub(super) fn of(url: &str) -> Option<Origin> {
        let parsed = url::Url::parse(url).ok()?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = parsed
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            https,
            host: host.to_owned(),
            port: parsed.port_or_known_default()?,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub(super) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How requests reach one origin: the agent built for it, and the proxy it goes through. Each
/// origin has its own agent because `NO_PROXY` decides per host, and because the TLS connector
/// tunnels to one `host:port`.
#[derive(Clone)]
pub(super) struct Route {
    pub(super) origin: Origin,
    pub(super) proxy: Option<Proxy>,
    agent: ureq::Agent,
}

impl Route {
    /// The agent for `origin`: https goes through our [`Connector`] (and only https: the agent
    /// refuses plain http), reaching the proxy's address when there is a proxy; http through a
    /// proxy uses ureq's proxy support, which sends absolute-form requests.
    pub(super) fn new(
        origin: Origin,
        proxy: Option<Proxy>,
        trust: Option<&Trust>,
        connect: Duration,
        request: Duration,
    ) -> Route {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(connect)
            .timeout(request)
            .redirects(0)
            .user_agent(concat!("pkgdeck/", env!("CARGO_PKG_VERSION")));
        if let Some(p) = &proxy {
            let (host, port) = (p.host.clone(), p.port);
            // ureq connects to whatever the resolver answers: the proxy, for every name.
            builder = builder.resolver(move |_: &str| {
                (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|addrs| addrs.collect())
            });
            if !origin.https {
                // The name only labels ureq's pool: the resolver above supplies the address.
                let label = if p.host.contains(':') {
                    "proxy"
                } else {
                    &p.host
                };
                if let Ok(ureq_proxy) = ureq::Proxy::new(format!("http://{label}:{}", p.port)) {
                    builder = builder.proxy(ureq_proxy);
                }
            }
        }
        if let (true, Some(trust)) = (origin.https, trust) {
            builder = builder.https_only(true).tls_connector(Arc::new(Connector {
                config: Arc::clone(&trust.config),
                host: origin.host.clone(),
                port: origin.port,
                proxy: proxy.clone(),
                setup_timeout: connect,
            }));
        }
        Route {
            origin,
            proxy,
            agent: builder.build(),
        }
    }
}

impl HranaStore {
    pub(super) fn request(&self, route: &Route, url: &str) -> ureq::Request {
        let mut req = route
            .agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json");
        // Through a tunnel the proxy's credentials went with CONNECT; they must never reach
        // the server itself.
        if !route.origin.https {
            if let Some(auth) = route.proxy.as_ref().and_then(Proxy::authorization) {
                req = req.set("Proxy-Authorization", &auth);
            }
        }
        if let Some(token) = &self.token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        req
    }

    /// One POST: the body of a 2xx answer, or what went wrong.
    pub(super) fn exchange(
        &self,
        route: &Route,
        url: &str,
        body: &str,
    ) -> Result<Vec<u8>, Failure> {
        self.round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.request(route, url).send_string(body) {
            Ok(resp) => {
                let status = resp.status();
                if (300..400).contains(&status) {
                    let location = resp.header("Location").unwrap_or("").to_owned();
                    return Err(Failure::Redirect(status, location));
                }
                let declared = resp
                    .header("Content-Length")
                    .and_then(|v| v.trim().parse::<u64>().ok());
                read_capped(resp.into_reader(), declared, MAX_RESPONSE_BYTES)
            }
            Err(ureq::Error::Status(407, resp)) if route.proxy.is_some() => {
                let proxy = route.proxy.as_ref().map(Proxy::shown).unwrap_or_default();
                Err(Failure::Connect(ConnectFailure::ProxyRefused {
                    proxy,
                    var: route.proxy.as_ref().map_or("HTTP_PROXY", |p| p.var),
                    credentials: route
                        .proxy
                        .as_ref()
                        .is_some_and(|p| p.authorization().is_some()),
                    to: route.origin.authority(),
                    status: 407,
                    reason: resp.status_text().to_owned(),
                }))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let mut bytes = Vec::new();
                let _ = resp
                    .into_reader()
                    .take(MAX_ERROR_BODY)
                    .read_to_end(&mut bytes);
                Err(Failure::Status(
                    status,
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            }
            Err(ureq::Error::Transport(t)) => Err(transport_failure(&t, route)),
        }
    }
}

/// Reads a whole answer body, but never more than `cap` bytes: a body that declares more, or
/// turns out longer, is [`Failure::TooLarge`] without reading the rest. The buffer grows with
/// what arrives (a declared length is not trusted for the allocation beyond the cap).
pub(super) fn read_capped(
    mut reader: impl Read,
    declared: Option<u64>,
    cap: usize,
) -> Result<Vec<u8>, Failure> {
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(Failure::TooLarge);
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize).min(cap));
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match io_failure(&e) {
                    Failure::Reset => Failure::CutOff(bytes.len()),
                    failure => failure,
                })
            }
        };
        if bytes.len() + n > cap {
            return Err(Failure::TooLarge);
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
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

fn transport_failure(t: &ureq::Transport, route: &Route) -> Failure {
    use std::io::ErrorKind as K;
    use ureq::ErrorKind as U;
    if let Some(failure) = ConnectFailure::find(t) {
        return Failure::Connect(failure.clone());
    }
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
    // With a proxy, ureq only ever connects to the proxy: a failure to connect is the proxy's.
    if let Some(proxy) = &route.proxy {
        let why = match (t.kind(), io_kind) {
            (U::Dns, _) => Some(ProxyDown::Dns),
            (U::ConnectionFailed, Some(K::TimedOut | K::WouldBlock)) => Some(ProxyDown::Timeout),
            (U::ConnectionFailed, Some(K::ConnectionRefused)) => Some(ProxyDown::Refused),
            (U::ConnectionFailed, _) => Some(ProxyDown::Other(detail())),
            _ => None,
        };
        if let Some(why) = why {
            return Failure::ProxyDown {
                proxy: proxy.shown(),
                var: proxy.var,
                why,
            };
        }
    }
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
    fn origins_name_host_and_port() {
        let o = Origin::of("https://DB.example/path?x=1").unwrap();
        assert_eq!(
            (o.https, o.host.as_str(), o.port),
            (true, "db.example", 443)
        );
        let o = Origin::of("http://user:pw@[::1]:8080").unwrap();
        assert_eq!((o.https, o.host.as_str(), o.port), (false, "::1", 8080));
        assert_eq!(o.authority(), "[::1]:8080");
        assert_eq!(Origin::of("ftp://x"), None);
        assert_eq!(Origin::of("not a url"), None);
    }

    #[test]
    fn bodies_are_read_up_to_the_cap() {
        let body = vec![b'x'; 1000];
        assert_eq!(read_capped(&body[..], None, 1000).unwrap().len(), 1000);
        assert_eq!(
            read_capped(&body[..], Some(1000), 1000).unwrap().len(),
            1000
        );
        assert!(matches!(
            read_capped(&body[..], None, 999),
            Err(Failure::TooLarge)
        ));
        // A declared length over the cap is refused before reading anything.
        struct Endless;
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b' ');
                Ok(buf.len())
            }
        }
        assert!(matches!(
            read_capped(Endless, Some(1 << 40), 1 << 20),
            Err(Failure::TooLarge)
        ));
        // An endless body stops at the cap, and the buffer never grew past it.
        assert!(matches!(
            read_capped(Endless, None, 1 << 20),
            Err(Failure::TooLarge)
        ));
        // A body that ends early says how far it got.
        struct Cut(usize);
        impl Read for Cut {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let n = self.0.min(buf.len());
                self.0 -= n;
                Ok(n)
            }
        }
        assert!(matches!(
            read_capped(Cut(70), Some(140), 1 << 20),
            Err(Failure::CutOff(70))
        ));
    }

    #[test]
    fn classifies_transient_and_baton_failures() {
        assert!(Failure::Status(503, String::new()).transient());
        assert!(Failure::Status(502, String::new()).transient());
        assert!(!Failure::Status(500, String::new()).transient());
        assert!(Failure::Status(429, String::new()).transient());
        assert!(Failure::Status(429, String::new()).busy());
        assert!(!Failure::Status(503, String::new()).busy());
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
