//! The connection under an https request: the tunnel through an http proxy (`CONNECT`), the
//! TLS handshake checked against [`Trust`](super::trust::Trust), and what went wrong with either,
//! kept typed ([`ConnectFailure`]) so that the error sentence can name the reason and its fix.
//!
//! ureq 2 connects the TCP socket and hands it to a [`ureq::TlsConnector`]; ours first asks the
//! proxy for a tunnel when there is one (the agent's resolver then points at the proxy, see
//! `http::Route`), because ureq's own proxy code drops the status of a refused `CONNECT`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, ClientConnection, StreamOwned};
use ureq::ReadWrite;

use super::proxy::Proxy;

/// The longest answer head a proxy may send to `CONNECT`.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// Why a connection could not be set up, carried through ureq's error as the payload of an
/// `io::Error` and recovered by [`ConnectFailure::find`].
#[derive(Debug, Clone)]
pub(super) enum ConnectFailure {
    /// The TLS handshake with `host` failed.
    Tls { host: String, problem: TlsProblem },
    /// The proxy answered `CONNECT` with a status other than 2xx.
    ProxyRefused {
        proxy: String,
        var: &'static str,
        /// Whether the proxy URL carries credentials (they were sent).
        credentials: bool,
        to: String,
        status: u16,
        reason: String,
    },
    /// The proxy's answer to `CONNECT` is not HTTP, or it went away before answering.
    ProxyBroken {
        proxy: String,
        var: &'static str,
        to: String,
        why: String,
    },
}

/// What the TLS handshake found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TlsProblem {
    /// Signed by no authority in the trust store.
    UnknownIssuer,
    /// Expired (at this UNIX time, when known).
    Expired(Option<u64>),
    /// Not valid before this UNIX time, when known.
    NotYetValid(Option<u64>),
    /// Issued for other names (those it presents, when known).
    WrongHost(Vec<String>),
    Revoked,
    /// Not meant for a TLS server.
    WrongPurpose,
    /// Another certificate problem, described.
    Certificate(String),
    /// The server does not speak TLS (for example plain http on that port).
    NotTls,
    /// The server ended the handshake with this alert.
    Alert(String),
    /// The server and pkgdeck share no protocol version or cipher suite.
    Incompatible(String),
    /// The connection closed during the handshake.
    Closed,
    /// No answer to the handshake within this many seconds (a plain http server waiting for
    /// the end of a request line, for example).
    NoAnswer(u64),
    /// Anything else, described.
    Other(String),
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectFailure::Tls { host, problem } => write!(f, "TLS with {host}: {problem:?}"),
            ConnectFailure::ProxyRefused { to, status, .. } => {
                write!(f, "the proxy refused CONNECT {to} with HTTP {status}")
            }
            ConnectFailure::ProxyBroken { to, why, .. } => {
                write!(f, "the proxy broke CONNECT {to}: {why}")
            }
        }
    }
}

impl std::error::Error for ConnectFailure {}

impl ConnectFailure {
    /// As an `io::Error` (ureq turns it into its own error, keeping it as the source).
    fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// The failure inside a ureq error, if our connector made it.
    pub(super) fn find<'a>(
        err: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a ConnectFailure> {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<ConnectFailure>() {
                return Some(found);
            }
            // `io::Error::source` skips its own payload, so look into it here.
            if let Some(found) = e
                .downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<ConnectFailure>())
            {
                return Some(found);
            }
            current = e.source();
        }
        None
    }
}

/// The TLS connector of one origin's agent: `host:port`, reached directly or through `proxy`.
pub(super) struct Connector {
    pub(super) config: Arc<ClientConfig>,
    /// Without brackets for an IPv6 address.
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) proxy: Option<Proxy>,
    /// The longest wait for each answer while the tunnel and the handshake are set up (the
    /// connect timeout: a server that does not speak TLS may never answer).
    pub(super) setup_timeout: Duration,
}

impl Connector {
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Asks the proxy on `io` for a tunnel to this connector's origin.
    fn tunnel(&self, proxy: &Proxy, io: &mut dyn ReadWrite) -> io::Result<()> {
        let to = self.authority();
        let broken = |why: String| ConnectFailure::ProxyBroken {
            proxy: proxy.shown(),
            var: proxy.var,
            to: to.clone(),
            why,
        };
        let mut head = format!(
            "CONNECT {to} HTTP/1.1\r\nHost: {to}\r\nUser-Agent: pkgdeck/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(auth) = proxy.authorization() {
            head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        io.write_all(head.as_bytes())
            .and_then(|()| io.flush())
            .map_err(|e| broken(self.io_why("sending CONNECT", &e)).into_io())?;
        // Byte by byte: what follows the blank line belongs to the TLS handshake.
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n\r\n") && !answer.ends_with(b"\n\n") {
            if answer.len() >= MAX_CONNECT_HEAD {
                return Err(broken("its answer head is too long".into()).into_io());
            }
            match io.read(&mut byte) {
                Ok(0) => {
                    return Err(broken(if answer.is_empty() {
                        "it closed the connection without answering".into()
                    } else {
                        "it closed the connection in the middle of its answer".into()
                    })
                    .into_io())
                }
                Ok(_) => answer.push(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(broken(self.io_why("reading its answer", &e)).into_io()),
            }
        }
        let text = String::from_utf8_lossy(&answer);
        let status_line = text.lines().next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let reason = parts.next().unwrap_or("").trim().to_owned();
        match status {
            Some(200..=299) if version.starts_with("HTTP/") => Ok(()),
            Some(status) if version.starts_with("HTTP/") => Err(ConnectFailure::ProxyRefused {
                proxy: proxy.shown(),
                var: proxy.var,
                credentials: proxy.authorization().is_some(),
                to: to.clone(),
                status,
                reason,
            }
            .into_io()),
            _ => Err(broken("its answer is not HTTP".into()).into_io()),
        }
    }

    /// The TLS handshake, to its end, so that every certificate problem shows up here.
    fn handshake(&self, mut io: Box<dyn ReadWrite>) -> io::Result<Box<dyn ReadWrite>> {
        let tls_failure = |problem| ConnectFailure::Tls {
            host: self.host.clone(),
            problem,
        };
        let name = ServerName::try_from(self.host.clone()).map_err(|_| {
            tls_failure(TlsProblem::Other(
                "the host is not a valid DNS name or IP address".into(),
            ))
            .into_io()
        })?;
        let mut conn = ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|e| tls_failure(classify(&e)).into_io())?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut io) {
                let problem = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => classify(tls),
                    None => match e.kind() {
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                            TlsProblem::NoAnswer(whole_seconds(self.setup_timeout))
                        }
                        io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe => TlsProblem::Closed,
                        _ => TlsProblem::Other(e.to_string()),
                    },
                };
                return Err(tls_failure(problem).into_io());
            }
        }
        Ok(Box::new(TlsStream(StreamOwned::new(conn, io))))
    }
}

impl ureq::TlsConnector for Connector {
    fn connect(
        &self,
        dns_name: &str,
        mut io: Box<dyn ReadWrite>,
    ) -> Result<Box<dyn ReadWrite>, ureq::Error> {
        // Each agent serves one origin; anything else is a bug, never a reason to skip checks.
        let asked = dns_name.trim_start_matches('[').trim_end_matches(']');
        if !asked.eq_ignore_ascii_case(&self.host) {
            return Err(ConnectFailure::Tls {
                host: asked.to_owned(),
                problem: TlsProblem::Other(format!("the connection was set up for {}", self.host)),
            }
            .into_io()
            .into());
        }
        // Each wait during the set-up is bounded by the connect timeout; the request's own
        // timeouts come back for the exchange itself.
        let before = io.socket().map(|s| {
            (
                s.read_timeout().ok().flatten(),
                s.write_timeout().ok().flatten(),
            )
        });
        if let Some(socket) = io.socket() {
            let setup = |t: Option<Duration>| {
                Some(t.map_or(self.setup_timeout, |t| t.min(self.setup_timeout)))
            };
            if let Some((read, write)) = before {
                socket.set_read_timeout(setup(read))?;
                socket.set_write_timeout(setup(write))?;
            }
        }
        if let Some(proxy) = &self.proxy {
            self.tunnel(proxy, io.as_mut())?;
        }
        let stream = self.handshake(io)?;
        if let (Some(socket), Some((read, write))) = (stream.socket(), before) {
            socket.set_read_timeout(read)?;
            socket.set_write_timeout(write)?;
        }
        Ok(stream)
    }
}

impl Connector {
    /// Why an exchange with the proxy failed, in words.
    fn io_why(&self, what: &str, e: &io::Error) -> String {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
                "it did not answer within {} s",
                whole_seconds(self.setup_timeout)
            ),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => "it closed the connection".into(),
            _ => format!("{what} failed ({e})"),
        }
    }
}

/// Seconds for a message, never 0.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// What a rustls error means for the operator.
fn classify(e: &rustls::Error) -> TlsProblem {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
            CertificateError::Expired => TlsProblem::Expired(None),
            CertificateError::ExpiredContext { not_after, .. } => {
                TlsProblem::Expired(Some(not_after.as_secs()))
            }
            CertificateError::NotValidYet => TlsProblem::NotYetValid(None),
            CertificateError::NotValidYetContext { not_before, .. } => {
                TlsProblem::NotYetValid(Some(not_before.as_secs()))
            }
            CertificateError::NotValidForName => TlsProblem::WrongHost(Vec::new()),
            CertificateError::NotValidForNameContext { presented, .. } => {
                TlsProblem::WrongHost(presented.clone())
            }
            CertificateError::Revoked => TlsProblem::Revoked,
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                TlsProblem::WrongPurpose
            }
            other => TlsProblem::Certificate(format!("{other:?}")),
        },
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => TlsProblem::NotTls,
        E::AlertReceived(alert) => TlsProblem::Alert(format!("{alert:?}")),
        E::PeerIncompatible(why) => TlsProblem::Incompatible(format!("{why:?}")),
        other => TlsProblem::Other(other.to_string()),
    }
}

/// A TLS stream ureq reads and writes; a clean `close_notify` reads as the end of the stream.
struct TlsStream(StreamOwned<ClientConnection, Box<dyn ReadWrite>>);

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsStream({:?})", self.0.sock)
    }
}

impl ReadWrite for TlsStream {
    fn socket(&self) -> Option<&TcpStream> {
        self.0.sock.socket()
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_become_problems() {
        use rustls::pki_types::UnixTime;
        use std::time::Duration;
        let at = |s| UnixTime::since_unix_epoch(Duration::from_secs(s));
        let cert = |c| rustls::Error::InvalidCertificate(c);
        assert_eq!(
            classify(&cert(CertificateError::UnknownIssuer)),
            TlsProblem::UnknownIssuer
        );
        assert_eq!(
            classify(&cert(CertificateError::ExpiredContext {
                time: at(200),
                not_after: at(100)
            })),
            TlsProblem::Expired(Some(100))
        );
        assert_eq!(
            classify(&cert(CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("a.example").unwrap(),
                presented: vec!["DnsName(\"b.example\")".into()],
            })),
            TlsProblem::WrongHost(vec!["DnsName(\"b.example\")".into()])
        );
        assert_eq!(
            classify(&rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            )),
            TlsProblem::NotTls
        );
        assert_eq!(
            classify(&rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure
            )),
            TlsProblem::Alert("HandshakeFailure".into())
        );
    }

    #[test]
    fn failures_survive_the_trip_through_ureq() {
        let failure = ConnectFailure::ProxyRefused {
            proxy: "http://p:1 (HTTPS_PROXY)".into(),
            var: "HTTPS_PROXY",
            credentials: false,
            to: "db:443".into(),
            status: 403,
            reason: "Forbidden".into(),
        };
        let err = ureq::Error::from(failure.into_io());
        let ureq::Error::Transport(t) = &err else {
            panic!("not a transport error: {err}");
        };
        let found = ConnectFailure::find(t).expect("the failure is found again");
        assert!(matches!(
            found,
            ConnectFailure::ProxyRefused { status: 403, .. }
        ));
    }
}
