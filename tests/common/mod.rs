//! Shared test support: the `tursodb` binary (a real libSQL-compatible Hrana server), a running
//! `tursodb --sync-server` per test, and a tiny scripted HTTP responder for error paths.
//!
//! Test files use it with `mod common;`; not every file uses every item.
//!
//! What `tursodb --sync-server` (npm turso@0.6.0) does to a database file, found by trying it:
//!
//! * On open it switches the file to WAL mode for good (header bytes 18–19 become 2) and writes
//!   `<db>-wal`; `PRAGMA journal_mode=delete` is ignored (it answers `wal`).
//! * While it runs it holds a lock: SQLite (rusqlite, python) reading the file meanwhile gets
//!   "database is locked". Read the file only after [`TursoServer::stop`].
//! * Committed data stays in `<db>-wal` until a checkpoint; killing the server (SIGTERM or
//!   SIGKILL) does not checkpoint. SQLite still recovers it from the `-wal` file, but a copy of
//!   the `.db` alone would miss it. `PRAGMA wal_checkpoint(TRUNCATE)` sent over HTTP does
//!   checkpoint: the main file gets everything and `-wal` is left empty (0 bytes). So
//!   [`TursoServer::stop`] (and `Drop`) send that pragma, then kill the process and wait for it;
//!   afterwards the `.db` file alone holds all data and rusqlite reads it (in WAL mode).
//! * It serves all requests on one shared connection: a transaction left open by one request
//!   (`BEGIN` or `SAVEPOINT` without its end) stays open for the following requests.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The version `scripts/install-tursodb` pins; `tursodb --version` prints `Turso 0.6.0`.
pub const TURSODB_VERSION: &str = "0.6.0";

/// The crate's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The native `tursodb` binary installed by `scripts/install-tursodb` under `.tools/tursodb/`.
///
/// When it is missing (a fresh machine), runs the install script once, holding a lock so that
/// parallel test processes do not install twice, and panics with the script's output if that
/// fails: tests that need the server never skip silently. `PKGDECK_TURSODB` may name another
/// binary.
pub fn tursodb_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("PKGDECK_TURSODB").filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "PKGDECK_TURSODB names {}, which is not a file",
                path.display()
            );
            return path;
        }
        if let Some(path) = installed_tursodb() {
            return path;
        }
        let tools = repo_root().join(".tools");
        std::fs::create_dir_all(&tools)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", tools.display()));
        let lock_path = tools.join("tursodb-install.lock");
        let lock = File::create(&lock_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
        lock.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
        if let Some(path) = installed_tursodb() {
            return path;
        }
        let script = repo_root().join("scripts/install-tursodb");
        let out = Command::new("bash")
            .arg(&script)
            .env("TURSODB_QUIET", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{} failed ({}); the Hrana tests need tursodb (npm {TURSODB_VERSION}):\n{stdout}{stderr}",
            script.display(),
            out.status
        );
        let path = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
        assert!(
            path.is_file(),
            "{} printed {:?}, which is not a file:\n{stderr}",
            script.display(),
            path
        );
        path
    })
    .clone()
}

/// The binary under `.tools/tursodb`, if it is there and is the pinned version.
fn installed_tursodb() -> Option<PathBuf> {
    let scope = repo_root().join(".tools/tursodb/node_modules/@tursodatabase");
    let entries = std::fs::read_dir(&scope).ok()?;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with("cli-") {
            continue;
        }
        for name in ["tursodb", "tursodb.exe"] {
            let path = entry.path().join(name);
            if !path.is_file() {
                continue;
            }
            let version = Command::new(&path).arg("--version").output().ok()?;
            if String::from_utf8_lossy(&version.stdout).contains(TURSODB_VERSION) {
                return Some(path);
            }
        }
    }
    None
}

/// A `tursodb --sync-server` serving one database file on a free loopback port.
pub struct TursoServer {
    /// `http://127.0.0.1:PORT`, the Hrana base URL.
    pub url: String,
    pub port: u16,
    pub db_path: PathBuf,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

impl TursoServer {
    /// Starts the server on `db_path` and waits (10 s at most) until `POST /v2/pipeline`
    /// answers `SELECT 1`. Panics, with the server's log, when it does not come up.
    pub fn start(db_path: &Path) -> TursoServer {
        let binary = tursodb_path();
        let mut last_log = String::new();
        // A port picked by binding :0 may be taken again before tursodb binds it: try again.
        for _ in 0..3 {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("temp file for the tursodb log");
            let stderr = log.reopen().expect("reopen the tursodb log");
            let child = Command::new(&binary)
                .arg("--sync-server")
                .arg(format!("127.0.0.1:{port}"))
                .arg(db_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(stderr))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = TursoServer {
                url: format!("http://127.0.0.1:{port}"),
                port,
                db_path: db_path.to_path_buf(),
                child: Some(child),
                log,
            };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return server,
                Err(why) => {
                    last_log = format!("{why}\n{}", server.log());
                    server.kill();
                    if !last_log.contains("in use") {
                        break;
                    }
                }
            }
        }
        panic!(
            "tursodb --sync-server on {} did not come up: {last_log}",
            db_path.display()
        );
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_millis(500))
            .build();
        let pipeline = format!("{}/v2/pipeline", self.url);
        let probe = r#"{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}"#;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("the server exited ({status})"));
                }
            }
            if let Ok(resp) = agent.post(&pipeline).send_string(probe) {
                if let Ok(body) = resp.into_string() {
                    if body.contains("\"results\"") {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {pipeline} within {limit:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Runs one statement through the raw HTTP API (no pkgdeck code) and returns the JSON answer.
    pub fn raw_execute(&self, sql: &str) -> Result<serde_json::Value, String> {
        let body = serde_json::json!({
            "baton": null,
            "requests": [{"type": "execute", "stmt": {"sql": sql}}]
        });
        let resp = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build()
            .post(&format!("{}/v2/pipeline", self.url))
            .send_string(&body.to_string())
            .map_err(|e| e.to_string())?;
        let text = resp.into_string().map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// Moves everything from `<db>-wal` into the database file (see the module comment).
    pub fn checkpoint(&self) -> Result<(), String> {
        let answer = self.raw_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
        let result = &answer["results"][0];
        if result["type"] != "ok" {
            return Err(format!("checkpoint refused: {answer}"));
        }
        // One row: busy, log, checkpointed; busy must be 0.
        let busy = &result["response"]["result"]["rows"][0][0]["value"];
        if busy != "0" {
            return Err(format!("checkpoint was busy: {answer}"));
        }
        Ok(())
    }

    /// Checkpoints, kills the server and waits for it, so the database file can be read.
    /// Panics if the checkpoint fails.
    pub fn stop(mut self) {
        let checkpoint = self.checkpoint();
        self.kill();
        if let Err(e) = checkpoint {
            panic!("tursodb checkpoint before stop failed: {e}\n{}", self.log());
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TursoServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.checkpoint();
            self.kill();
        }
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Copies `tests/fixtures/NAME` (read-only) into `dir` as a writable file and returns its path.
pub fn fixture_copy(name: &str, dir: &Path) -> PathBuf {
    let from = repo_root().join("tests/fixtures").join(name);
    let to = dir.join(name);
    std::fs::copy(&from, &to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
    let mut perms = std::fs::metadata(&to).expect("metadata").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&to, perms).expect("make the copy writable");
    to
}

// -------------------------------------------------------------------------------------------
// Responder

/// What the [`Responder`] does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An HTTP answer.
    Status {
        status: u16,
        content_type: String,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Waits, then does the inner reply (the client may have given up by then).
    Delay(Duration, Box<Reply>),
    /// Reads the request, then closes the connection without answering.
    Close,
    /// Raw bytes instead of an HTTP answer.
    Garbage(Vec<u8>),
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            content_type: "text/plain".into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Status {
            status,
            content_type: "application/json".into(),
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    /// A valid pipeline answer with one `execute` result (one row, `1`), like tursodb's.
    pub fn hrana_ok() -> Reply {
        Reply::hrana_ok_with(None, None)
    }

    /// [`Reply::hrana_ok`] with a baton and a base URL, like sqld's.
    pub fn hrana_ok_with(baton: Option<&str>, base_url: Option<&str>) -> Reply {
        Reply::json(
            200,
            serde_json::json!({
                "baton": baton,
                "base_url": base_url,
                "results": [{"type": "ok", "response": {"type": "execute", "result": {
                    "cols": [{"name": "1", "decltype": null}],
                    "rows": [[{"type": "integer", "value": "1"}]],
                    "affected_row_count": 0,
                    "last_insert_rowid": null
                }}}]
            }),
        )
    }

    /// The answer to a pipeline holding one `close` request.
    pub fn hrana_closed() -> Reply {
        Reply::json(
            200,
            serde_json::json!({"baton": null, "base_url": null,
                               "results": [{"type": "ok", "response": {"type": "close"}}]}),
        )
    }

    pub fn delayed(self, by: Duration) -> Reply {
        Reply::Delay(by, Box::new(self))
    }
}

/// One request the [`Responder`] received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("request body is not JSON ({e}): {}", self.body))
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1:0 that answers with canned replies: request `i` gets
/// `replies[i]`, and every request after the last gets the last. Every answer closes the
/// connection. It records the requests it read.
pub struct Responder {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    pub fn start(replies: Vec<Reply>) -> Responder {
        assert!(!replies.is_empty(), "a Responder needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut served = 0usize;
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let reply = replies[served.min(replies.len() - 1)].clone();
                    served += 1;
                    let requests = Arc::clone(&requests);
                    thread::spawn(move || serve(conn, reply, &requests));
                }
            })
        };
        Responder {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The requests read so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, reply: Reply, requests: &Mutex<Vec<Recorded>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&conn) else {
        return;
    };
    requests.lock().unwrap().push(request);
    let mut reply = reply;
    loop {
        match reply {
            Reply::Delay(by, inner) => {
                thread::sleep(by);
                reply = *inner;
            }
            Reply::Close => {
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Garbage(bytes) => {
                let _ = conn.write_all(&bytes);
                let _ = conn.shutdown(Shutdown::Both);
                return;
            }
            Reply::Status {
                status,
                content_type,
                body,
                headers,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reason(status),
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_bytes());
                let _ = conn.flush();
                let _ = conn.shutdown(Shutdown::Write);
                // Let the client read everything before the socket goes away.
                let mut sink = [0u8; 256];
                let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
        }
    }
}

fn read_request(conn: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
