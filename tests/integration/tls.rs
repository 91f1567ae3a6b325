//! pkgdeck over TLS and through proxies, with real parts: a throwaway CA and server certificates
//! made here (rcgen), a TLS terminator (rustls) on loopback in front of a real
//! `tursodb --sync-server`, a small CONNECT proxy, and the real `pkgdeck` binary. Every spawned
//! pkgdeck starts from an environment without proxy, CA-file or token variables, so nothing of
//! the machine running the tests leaks in; each test adds what it means to test.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::responder::{Reply, Responder};
use crate::support::scratch::fixture_copy;
use crate::support::tursodb::{free_port, TursoServer};

const TOKEN: &str = "tok-SECRET-tls-5d21c7";
const PROXY_PASSWORD: &str = "pw-SECRET-77e1";

/// Every variable that could change how pkgdeck connects: removed for each spawned pkgdeck.
const CLEARED: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "PKGDECK_CA_FILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PKGDECK_AUTH_TOKEN",
    "TURSO_AUTH_TOKEN",
    "LIBSQL_AUTH_TOKEN",
    "PKGDECK_DB",
];

// -------------------------------------------------------------------------------------------
// Certificates

/// A throwaway certificate authority.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (now, year) = (time_now(), Duration::from_secs(365 * 86_400));
        params.not_before = now - Duration::from_secs(86_400);
        params.not_after = now + year;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Writes the CA certificate as a PEM file.
    fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.pem).unwrap();
        path.to_path_buf()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid from `not_before`
    /// to `not_after`, and its key.
    fn server_cert(
        &self,
        names: &[&str],
        not_before: time::OffsetDateTime,
        not_after: time::OffsetDateTime,
    ) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    /// A certificate for `names`, valid from yesterday for a month.
    fn valid_cert(&self, names: &[&str]) -> ServerCert {
        let now = time_now();
        self.server_cert(
            names,
            now - Duration::from_secs(86_400),
            now + Duration::from_secs(30 * 86_400),
        )
    }
}

struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

// -------------------------------------------------------------------------------------------
// TLS terminator

/// A TLS server on 127.0.0.1 that hands each connection's plaintext to `backend` (a tursodb or
/// a scripted responder) and back: what a load balancer in front of sqld does.
struct Terminator {
    port: u16,
    handshakes: Arc<AtomicUsize>,
    /// The handshake errors it saw, as rustls tells them (an alert from the client shows that
    /// the client refused the certificate).
    failures: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Terminator {
    fn start(backend_port: u16, cert: ServerCert) -> Terminator {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handshakes = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (handshakes, failures, stop) = (handshakes.clone(), failures.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (config, handshakes, failures) =
                        (config.clone(), handshakes.clone(), failures.clone());
                    thread::spawn(move || {
                        terminate(conn, config, backend_port, &handshakes, &failures)
                    });
                }
            });
        }
        Terminator {
            port,
            handshakes,
            failures,
            stop,
        }
    }

    fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    fn failures(&self) -> Vec<String> {
        self.failures.lock().unwrap().clone()
    }

    /// The failed handshakes once at least one is recorded (or after 5 s): the client exits
    /// as soon as it has sent its alert, before the terminator's thread may have read it.
    fn failures_seen(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.failures.lock().unwrap().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        self.failures()
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn terminate(
    sock: TcpStream,
    config: Arc<rustls::ServerConfig>,
    backend_port: u16,
    handshakes: &AtomicUsize,
    failures: &Mutex<Vec<String>>,
) {
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut sock = sock;
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            failures.lock().unwrap().push(e.to_string());
            return;
        }
    }
    handshakes.fetch_add(1, Ordering::SeqCst);
    let Ok(backend) = TcpStream::connect(("127.0.0.1", backend_port)) else {
        return;
    };
    pipe_tls(rustls::StreamOwned::new(conn, sock), backend);
}

/// Moves bytes both ways between a TLS stream and a plain one until either side closes, polling
/// each with a short timeout (one thread: the TLS state cannot be shared between two).
fn pipe_tls(
    mut tls: rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    mut plain: TcpStream,
) {
    let tick = Some(Duration::from_millis(5));
    let _ = tls.sock.set_read_timeout(tick);
    let _ = plain.set_read_timeout(tick);
    let mut buf = vec![0u8; 64 * 1024];
    let mut idle_since = Instant::now();
    let waiting = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if plain.write_all(&buf[..n]).is_err() {
                    break;
                }
                idle_since = Instant::now();
            }
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
        match plain.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    break;
                }
                idle_since = Instant::now();
            }
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
        if idle_since.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Both);
    let _ = plain.shutdown(Shutdown::Both);
}

// -------------------------------------------------------------------------------------------
// Proxy

/// What the test proxy does with a `CONNECT`.
#[derive(Clone, Copy)]
enum ProxyMode {
    /// Opens the tunnel (and forwards absolute-form http requests).
    Tunnel,
    /// Answers this status and closes.
    Refuse(u16),
}

/// A small http proxy on 127.0.0.1: `CONNECT host:port` opens a TCP tunnel, an absolute-form
/// request (`POST http://host:port/path`) is forwarded. It records every request head it read.
struct Proxy {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(mode: ProxyMode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (heads, stop) = (heads.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let heads = heads.clone();
                    thread::spawn(move || proxy_serve(conn, mode, &heads));
                }
            });
        }
        Proxy { port, heads, stop }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn address_with_credentials(&self) -> String {
        format!("http://alice:{PROXY_PASSWORD}@127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn proxy_serve(client: TcpStream, mode: ProxyMode, heads: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        head.push_str(&line);
        if line == "\r\n" || line == "\n" {
            break;
        }
    }
    heads.lock().unwrap().push(head.clone());
    let request_line = head.lines().next().unwrap_or("").to_owned();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    if let ProxyMode::Refuse(status) = mode {
        let _ = write!(
            client,
            "HTTP/1.1 {status} Blocked by policy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = client.shutdown(Shutdown::Write);
        return;
    }
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target) else {
            let _ = write!(client, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
            return;
        };
        let _ = write!(client, "HTTP/1.1 200 Connection established\r\n\r\n");
        pipe_plain(client, upstream);
        return;
    }
    // Absolute form: forward one request with its path only, then the answer back.
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = write!(client, "HTTP/1.1 400 Bad Request\r\n\r\n");
        return;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        let _ = write!(client, "HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    let mut length = 0usize;
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let _ = upstream.write_all(forwarded.as_bytes());
    let _ = upstream.write_all(&body);
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
    let _ = client.shutdown(Shutdown::Both);
}

/// Moves bytes both ways between two plain sockets until both sides are done.
fn pipe_plain(a: TcpStream, b: TcpStream) {
    let _ = a.set_read_timeout(None);
    let _ = b.set_read_timeout(None);
    let (mut a_read, mut b_write) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let forward = thread::spawn(move || {
        let _ = io::copy(&mut a_read, &mut b_write);
        let _ = b_write.shutdown(Shutdown::Write);
    });
    let (mut b_read, mut a_write) = (b, a);
    let _ = io::copy(&mut b_read, &mut a_write);
    let _ = a_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

// -------------------------------------------------------------------------------------------
// Running pkgdeck

/// The real binary on `target`, with the connection variables cleared and then `env` set.
fn pkgdeck(target: &str, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pkgdeck"));
    cmd.arg("--db").arg(target).args(args);
    for name in CLEARED {
        cmd.env_remove(name);
    }
    cmd.env("PKGDECK_DATA_DIR", data)
        .env("PKGDECK_CONFIG_DIR", data.join("config"));
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts that the command exited 0 and returns its stdout.
fn ok(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "{}", all_output(o));
    assert_secrets_hidden(o);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts exit 3 with one sentence on stderr holding every `expected` piece, and returns it.
fn fails(o: &Output, expected: &[&str]) -> String {
    assert_eq!(o.status.code(), Some(3), "{}", all_output(o));
    assert_secrets_hidden(o);
    let err = String::from_utf8_lossy(&o.stderr).trim_end().to_owned();
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    for piece in expected {
        assert!(err.contains(piece), "{err:?}\nshould contain {piece:?}");
    }
    err
}

fn assert_secrets_hidden(o: &Output) {
    let all = all_output(o);
    assert!(!all.contains(TOKEN), "the token leaked: {all}");
    assert!(
        !all.contains(PROXY_PASSWORD) && !all.contains("alice"),
        "the proxy credentials leaked: {all}"
    );
}

/// A seeded registry served by tursodb, behind a TLS terminator with `cert`.
struct Site {
    dir: tempfile::TempDir,
    data: PathBuf,
    db: PathBuf,
    server: TursoServer,
    tls: Terminator,
}

impl Site {
    fn start(cert: ServerCert) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let db = fixture_copy(dir.path());
        let server = TursoServer::start(&db);
        let tls = Terminator::start(server.port, cert);
        let data = dir.path().join("data");
        Site {
            dir,
            data,
            db,
            server,
            tls,
        }
    }

    fn libsql(&self) -> String {
        format!("libsql://localhost:{}", self.tls.port)
    }

    fn run(&self, target: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        pkgdeck(target, &self.data, args, env)
    }
}

fn list_len(stdout: &str) -> usize {
    let list: serde_json::Value = serde_json::from_str(stdout).unwrap();
    list.as_array().unwrap().len()
}

// -------------------------------------------------------------------------------------------
// Trust

#[test]
fn untrusted_by_default_trusted_with_pkgdeck_ca_file_or_ssl_cert_file() {
    let ca = Ca::new("pkgdeck test CA");
    let site = Site::start(ca.valid_cert(&["localhost"]));
    let ca_file = ca.write(&site.dir.path().join("ca.pem"));
    let ca_file = ca_file.to_str().unwrap();
    let target = site.libsql();
    let shown = format!("https://localhost:{}", site.tls.port);

    // Untrusted: pkgdeck refuses the certificate (the terminator sees its alert).
    let o = site.run(&target, &["list"], &[("PKGDECK_AUTH_TOKEN", TOKEN)]);
    let err = fails(
        &o,
        &[
            &format!("cannot connect securely to {shown} (token ***)"),
            "the certificate of localhost is not signed by an authority trusted here",
            "set PKGDECK_CA_FILE to the PEM file of the CA that issued it",
        ],
    );
    println!("untrusted: {err}");
    assert_eq!(site.tls.handshakes(), 0);
    let failures = site.tls.failures_seen();
    assert!(
        failures.iter().any(|f| f.contains("UnknownCA")),
        "the client should refuse with an alert: {failures:?}"
    );

    // Trusted through PKGDECK_CA_FILE, and through SSL_CERT_FILE.
    for var in ["PKGDECK_CA_FILE", "SSL_CERT_FILE"] {
        let o = site.run(
            &target,
            &["list", "--json"],
            &[(var, ca_file), ("PKGDECK_AUTH_TOKEN", TOKEN)],
        );
        assert_eq!(list_len(&ok(&o)), 9, "{var}");
    }
    assert!(site.tls.handshakes() >= 2);

    // A CA file holding another CA: still untrusted, and the sentence names the file.
    let other = Ca::new("another CA").write(&site.dir.path().join("other-ca.pem"));
    let other = other.to_str().unwrap();
    let o = site.run(&target, &["list"], &[("PKGDECK_CA_FILE", other)]);
    let err = fails(
        &o,
        &[
            "not signed by an authority trusted here, nor by one in",
            &format!("{other} (PKGDECK_CA_FILE)"),
        ],
    );
    println!("other CA: {err}");
    // SSL_CERT_FILE is also read as the platform store (as OpenSSL reads it), so with both set
    // the CAs of both are trusted.
    let o = site.run(
        &target,
        &["list"],
        &[("PKGDECK_CA_FILE", other), ("SSL_CERT_FILE", ca_file)],
    );
    ok(&o);
}

#[test]
fn a_ca_file_that_cannot_be_read_or_holds_no_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Nothing listens there: the CA file is read before any connection.
    let target = format!("libsql://localhost:{}", free_port());
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let o = pkgdeck(&target, &data, &["list"], &[("PKGDECK_CA_FILE", missing)]);
    let err = fails(
        &o,
        &[&format!(
            "PKGDECK_CA_FILE names {missing}, which does not exist"
        )],
    );
    println!("missing: {err}");
    let o = pkgdeck(&target, &data, &["list"], &[("SSL_CERT_FILE", missing)]);
    fails(&o, &[&format!("SSL_CERT_FILE names {missing}")]);
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let empty = empty.to_str().unwrap();
    let o = pkgdeck(&target, &data, &["list"], &[("PKGDECK_CA_FILE", empty)]);
    let err = fails(
        &o,
        &[&format!(
            "PKGDECK_CA_FILE names {empty}, which holds no certificate"
        )],
    );
    println!("empty: {err}");
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let ca = Ca::new("pkgdeck test CA");
    let site = Site::start(ca.valid_cert(&["registry.internal.example"]));
    let ca_file = ca.write(&site.dir.path().join("ca.pem"));
    let env = [("PKGDECK_CA_FILE", ca_file.to_str().unwrap())];
    let o = site.run(&site.libsql(), &["list"], &env);
    let err = fails(
        &o,
        &[
            "cannot connect securely to https://localhost:",
            "the certificate of localhost is for registry.internal.example, not for localhost",
        ],
    );
    println!("other host: {err}");
    // By address, a certificate naming only a host name does not match either.
    let o = site.run(
        &format!("https://127.0.0.1:{}", site.tls.port),
        &["list"],
        &env,
    );
    fails(
        &o,
        &["the certificate of 127.0.0.1 is for registry.internal.example, not for 127.0.0.1"],
    );
    assert_eq!(site.tls.handshakes(), 0);
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    let ca = Ca::new("pkgdeck test CA");
    let expired = ca.server_cert(
        &["localhost"],
        rcgen::date_time_ymd(2019, 1, 1),
        rcgen::date_time_ymd(2020, 1, 1),
    );
    let site = Site::start(expired);
    let ca_file = ca.write(&site.dir.path().join("ca.pem"));
    let env = [("PKGDECK_CA_FILE", ca_file.to_str().unwrap())];
    let o = site.run(&site.libsql(), &["list"], &env);
    let err = fails(
        &o,
        &[
            "the certificate of localhost expired on 2020-01-01 00:00 UTC",
            "the server needs a renewed certificate",
        ],
    );
    println!("expired: {err}");
    assert_eq!(site.tls.handshakes(), 0);

    let future = ca.server_cert(
        &["localhost"],
        rcgen::date_time_ymd(2090, 1, 1),
        rcgen::date_time_ymd(2091, 1, 1),
    );
    let site = Site::start(future);
    let o = site.run(&site.libsql(), &["list"], &env);
    fails(
        &o,
        &["the certificate of localhost is not valid before 2090-01-01 00:00 UTC"],
    );
}

#[test]
fn plain_http_on_an_https_url_is_a_handshake_failure_and_never_a_downgrade() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // A plain http server that answers at once: its answer is not TLS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    {
        let seen = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let _ = conn.shutdown(Shutdown::Write);
            }
        });
    }
    let o = pkgdeck(
        &format!("libsql://127.0.0.1:{port}"),
        &data,
        &["list"],
        &[("PKGDECK_AUTH_TOKEN", TOKEN)],
    );
    let err = fails(
        &o,
        &[
            &format!("cannot connect securely to https://127.0.0.1:{port} (token ***)"),
            "127.0.0.1 did not answer in TLS (is it plain http?); pkgdeck never falls back to http",
        ],
    );
    println!("plain http answering: {err}");
    assert!(seen.load(Ordering::SeqCst) >= 1);

    // The real tursodb on its http port: it closes the connection or waits for the end of a
    // request line that never comes; either way pkgdeck gives up on TLS, never sends http.
    let db = fixture_copy(dir.path());
    let server = TursoServer::start(&db);
    let started = Instant::now();
    let o = pkgdeck(
        &format!("libsql://127.0.0.1:{}", server.port),
        &data,
        &["list"],
        &[("PKGDECK_AUTH_TOKEN", TOKEN)],
    );
    let err = fails(
        &o,
        &[&format!(
            "cannot connect securely to https://127.0.0.1:{} (token ***): 127.0.0.1",
            server.port
        )],
    );
    assert!(
        err.contains("did not answer in TLS")
            || err.contains("closed the connection during the TLS handshake")
            || err.contains("did not answer the TLS handshake within 5 s"),
        "{err}"
    );
    // The handshake waits at most the connect timeout, not the 30 s of a request.
    assert!(started.elapsed() < Duration::from_secs(20));
    println!("plain http (tursodb): {err}");
}

#[test]
fn https_is_not_downgraded_by_a_base_url_or_a_redirect() {
    let ca = Ca::new("pkgdeck test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let env = [("PKGDECK_CA_FILE", ca_file.to_str().unwrap())];
    let data = dir.path().join("data");

    // A server that hands out batons with an http base_url: every request must still arrive
    // through TLS (the responder closes each connection, so one request is one handshake), and
    // none at the plain address.
    let trap = Responder::start(vec![Reply::hrana_ok()]);
    let plain = trap.url.clone();
    let responder = Responder::start(vec![
        Reply::hrana_ok_with(Some("baton-1"), Some(&plain)),
        Reply::hrana_ok_with(Some("baton-2"), Some(&plain)),
        Reply::hrana_closed(),
    ]);
    let tls = Terminator::start(responder.port, ca.valid_cert(&["localhost"]));
    let target = format!("libsql://localhost:{}", tls.port);
    let o = pkgdeck(&target, &data, &["list"], &env);
    assert_secrets_hidden(&o);
    let requests = responder.count();
    assert!(
        requests >= 2,
        "the base_url should have had a chance to be used: {}",
        all_output(&o)
    );
    assert_eq!(trap.count(), 0, "a request went to the plain http base_url");
    assert_eq!(
        tls.handshakes(),
        requests,
        "a request bypassed TLS: {}",
        all_output(&o)
    );

    // A redirect to http is reported, never followed.
    let responder = Responder::start(vec![Reply::Status {
        status: 302,
        content_type: "text/plain".into(),
        body: String::new(),
        headers: vec![("Location".into(), format!("{plain}/v2/pipeline"))],
    }]);
    let tls = Terminator::start(responder.port, ca.valid_cert(&["localhost"]));
    let o = pkgdeck(
        &format!("libsql://localhost:{}", tls.port),
        &data,
        &["list"],
        &env,
    );
    fails(&o, &["HTTP 302", "which is not followed"]);
    assert_eq!(responder.count(), 1);
}

// -------------------------------------------------------------------------------------------
// The registry over TLS

#[test]
fn libsql_url_runs_the_registry_operations_over_tls() {
    let ca = Ca::new("pkgdeck test CA");
    let site = Site::start(ca.valid_cert(&["localhost", "127.0.0.1"]));
    let ca_file = ca.write(&site.dir.path().join("ca.pem"));
    let env = [
        ("PKGDECK_CA_FILE", ca_file.to_str().unwrap()),
        ("PKGDECK_AUTH_TOKEN", TOKEN),
    ];
    let target = site.libsql();

    let list = ok(&site.run(&target, &["list", "--json"], &env));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 9);
    assert_eq!(list[0]["id"], "com.acme.helpdesk");
    assert_eq!(list[0]["version"], "1.1.1");

    let verify = ok(&site.run(&target, &["verify"], &env));
    assert!(verify.contains("checked 12 rows: 12 ok"), "{verify}");

    let got = ok(&site.run(&target, &["get", "com.acme.helpdesk", "--json"], &env));
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["version"], "1.1.1");

    let doc = site.dir.path().join("hotfix.json");
    std::fs::write(
        &doc,
        r#"{"manifest":{"id":"com.acme.helpdesk","version":"1.1.2","type":"app","name":"Helpdesk"},"metadata":{"objects":[{"name":"helpdesk_ticket"}]}}"#,
    )
    .unwrap();
    let published = ok(&site.run(&target, &["publish", doc.to_str().unwrap(), "--json"], &env));
    let published: serde_json::Value = serde_json::from_str(&published).unwrap();
    let got = ok(&site.run(&target, &["get", "com.acme.helpdesk", "--json"], &env));
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(got["version"], "1.1.2");
    assert_eq!(got["hash"], published["hash"]);
    let versions = ok(&site.run(&target, &["versions", "com.acme.helpdesk", "--json"], &env));
    let versions: serde_json::Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(versions[0]["version"], "1.1.2");

    ok(&site.run(&target, &["delete", "com.acme.crm", "--yes"], &env));
    let o = site.run(&target, &["get", "com.acme.crm"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert_secrets_hidden(&o);
    let verify = ok(&site.run(&target, &["verify", "--json"], &env));
    let verify: serde_json::Value = serde_json::from_str(&verify).unwrap();
    assert_eq!(verify["ok"], verify["checked"]);

    // The audit log names the target without the token.
    let audit = std::fs::read_to_string(site.data.join("audit.log")).unwrap();
    let written = crate::support::scratch::written_audit_lines(&site.data.join("audit.log"));
    assert_eq!(written.len(), 2, "{audit}");
    assert!(
        audit.contains(&format!("https://localhost:{}", site.tls.port)) && !audit.contains(TOKEN),
        "{audit}"
    );
    assert!(site.tls.handshakes() >= 9);
    assert!(site.tls.failures().is_empty(), "{:?}", site.tls.failures());

    // What went through TLS is in the server's file.
    let Site {
        server, db, data, ..
    } = site;
    server.stop();
    let local = pkgdeck(
        db.to_str().unwrap(),
        &data,
        &["versions", "com.acme.helpdesk", "--json"],
        &[],
    );
    let versions: serde_json::Value = serde_json::from_str(&ok(&local)).unwrap();
    assert_eq!(versions[0]["version"], "1.1.2");
    let o = pkgdeck(db.to_str().unwrap(), &data, &["get", "com.acme.crm"], &[]);
    assert_eq!(o.status.code(), Some(1));
}

// -------------------------------------------------------------------------------------------
// Proxies

#[test]
fn https_proxy_carries_the_connection_and_no_proxy_bypasses_it() {
    let ca = Ca::new("pkgdeck test CA");
    let site = Site::start(ca.valid_cert(&["localhost"]));
    let ca_file = ca.write(&site.dir.path().join("ca.pem"));
    let ca_file = ca_file.to_str().unwrap();
    let proxy = Proxy::start(ProxyMode::Tunnel);
    let target = site.libsql();
    let port = site.tls.port;
    let with_proxy = proxy.address_with_credentials();

    // Through HTTPS_PROXY: the proxy sees one CONNECT per connection, with the credentials,
    // and nothing of the request inside the tunnel (so not the token).
    let o = site.run(
        &target,
        &["list", "--json"],
        &[
            ("PKGDECK_CA_FILE", ca_file),
            ("PKGDECK_AUTH_TOKEN", TOKEN),
            ("HTTPS_PROXY", &with_proxy),
        ],
    );
    assert_eq!(list_len(&ok(&o)), 9);
    let heads = proxy.heads();
    assert!(!heads.is_empty());
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PROXY_PASSWORD}"));
    for head in &heads {
        assert!(
            head.starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(
            head.contains(&format!("Proxy-Authorization: Basic {credentials}")),
            "{head}"
        );
        assert!(!head.contains(TOKEN) && !head.contains("Bearer"), "{head}");
    }
    let through_proxy = heads.len();
    assert_eq!(site.tls.handshakes(), through_proxy);

    // Lower case works too; a NO_PROXY entry for another port does not exempt the host.
    let o = site.run(
        &target,
        &["get", "com.acme.helpdesk"],
        &[
            ("PKGDECK_CA_FILE", ca_file),
            ("https_proxy", &proxy.address()),
            ("NO_PROXY", "registry.example, localhost:1"),
        ],
    );
    ok(&o);
    assert!(proxy.heads().len() > through_proxy);
    let through_proxy = proxy.heads().len();

    // NO_PROXY (by name, by name and port, or *) bypasses it; HTTP_PROXY is not for https.
    for (name, value) in [
        ("NO_PROXY", "example.org,localhost".to_owned()),
        ("no_proxy", format!("localhost:{port}")),
        ("NO_PROXY", "*".to_owned()),
    ] {
        let o = site.run(
            &target,
            &["list"],
            &[
                ("PKGDECK_CA_FILE", ca_file),
                ("HTTPS_PROXY", &with_proxy),
                (name, &value),
            ],
        );
        ok(&o);
        assert_eq!(proxy.heads().len(), through_proxy, "{name}={value}");
    }
    let o = site.run(
        &target,
        &["list"],
        &[("PKGDECK_CA_FILE", ca_file), ("HTTP_PROXY", &with_proxy)],
    );
    ok(&o);
    assert_eq!(proxy.heads().len(), through_proxy);
}

#[test]
fn http_proxy_carries_plain_http_targets() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path());
    let server = TursoServer::start(&db);
    let data = dir.path().join("data");
    let proxy = Proxy::start(ProxyMode::Tunnel);
    let o = pkgdeck(
        &server.url,
        &data,
        &["list", "--json"],
        &[
            ("HTTP_PROXY", &proxy.address_with_credentials()),
            ("PKGDECK_AUTH_TOKEN", TOKEN),
        ],
    );
    assert_eq!(list_len(&ok(&o)), 9);
    let heads = proxy.heads();
    assert!(!heads.is_empty());
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{PROXY_PASSWORD}"));
    for head in &heads {
        assert!(
            head.starts_with(&format!("POST {}/v2/pipeline HTTP/1.1\r\n", server.url)),
            "{head}"
        );
        assert!(
            head.contains(&format!("Proxy-Authorization: Basic {credentials}")),
            "{head}"
        );
    }
}

#[test]
fn a_proxy_refusing_connect_is_one_sentence_without_the_token_or_its_credentials() {
    let ca = Ca::new("pkgdeck test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(&dir.path().join("ca.pem"));
    let ca_file = ca_file.to_str().unwrap();
    let data = dir.path().join("data");
    // The server is never reached: any port will do.
    let port = free_port();
    let proxy = Proxy::start(ProxyMode::Refuse(403));
    // The token both from the environment and in the URL.
    for target in [
        format!("libsql://localhost:{port}"),
        format!("libsql://localhost:{port}?authToken={TOKEN}"),
    ] {
        let o = pkgdeck(
            &target,
            &data,
            &["list"],
            &[
                ("PKGDECK_CA_FILE", ca_file),
                ("PKGDECK_AUTH_TOKEN", TOKEN),
                ("HTTPS_PROXY", &proxy.address_with_credentials()),
            ],
        );
        let err = fails(
            &o,
            &[
                &format!(
                    "cannot reach https://localhost:{port} (token ***) through the proxy http://***@127.0.0.1:{} (HTTPS_PROXY)",
                    proxy.port
                ),
                &format!("the proxy refused to open a tunnel to localhost:{port} (HTTP 403 Blocked by policy)"),
                "add localhost to NO_PROXY",
            ],
        );
        println!("403: {err}");
    }
    for head in proxy.heads() {
        assert!(!head.contains(TOKEN), "{head}");
    }

    // 407 without credentials: say where they go.
    let proxy = Proxy::start(ProxyMode::Refuse(407));
    let o = pkgdeck(
        &format!("libsql://localhost:{port}"),
        &data,
        &["list"],
        &[
            ("PKGDECK_CA_FILE", ca_file),
            ("https_proxy", &proxy.address()),
        ],
    );
    let err = fails(
        &o,
        &[
            "the proxy wants credentials (HTTP 407",
            "put user:password@ in https_proxy",
        ],
    );
    println!("407: {err}");
}

#[test]
fn an_unreachable_or_unusable_proxy_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = format!("libsql://localhost:{}", free_port());
    let proxy_port = free_port();
    let o = pkgdeck(
        &target,
        &data,
        &["list"],
        &[
            (
                "HTTPS_PROXY",
                &format!("http://alice:{PROXY_PASSWORD}@127.0.0.1:{proxy_port}"),
            ),
            ("PKGDECK_AUTH_TOKEN", TOKEN),
        ],
    );
    let err = fails(
        &o,
        &[
            &format!("through the proxy http://***@127.0.0.1:{proxy_port} (HTTPS_PROXY)"),
            "the proxy refused the connection; check HTTPS_PROXY",
        ],
    );
    println!("unreachable: {err}");
    let o = pkgdeck(
        &target,
        &data,
        &["list"],
        &[(
            "HTTPS_PROXY",
            &format!("socks5://alice:{PROXY_PASSWORD}@127.0.0.1:1"),
        )],
    );
    let err = fails(&o, &["HTTPS_PROXY is not a usable proxy address"]);
    println!("unusable: {err}");
}
