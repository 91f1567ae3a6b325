//! The `tursodb` binary (a real libSQL-compatible Hrana server, installed by
//! `scripts/install-tursodb`) and a running `tursodb --sync-server` per test on loopback.
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

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::repo_root;

/// The version `scripts/install-tursodb` pins; `tursodb --version` prints `Turso 0.6.0`.
pub const TURSODB_VERSION: &str = "0.6.0";

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
    /// The loopback port it listens on.
    pub port: u16,
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
        self.raw_pipeline(&serde_json::json!([{"type": "execute", "stmt": {"sql": sql}}]))
    }

    /// Runs `sql` with text arguments through the raw HTTP API and returns its rows, each value
    /// as the wire has it (`{"type": "text", "value": …}`).
    pub fn raw_rows(
        &self,
        sql: &str,
        args: &[&str],
    ) -> Result<Vec<Vec<serde_json::Value>>, String> {
        let args: Vec<serde_json::Value> = args
            .iter()
            .map(|a| serde_json::json!({"type": "text", "value": a}))
            .collect();
        let answer = self.raw_pipeline(&serde_json::json!([
            {"type": "execute", "stmt": {"sql": sql, "args": args}}
        ]))?;
        let result = &answer["results"][0];
        if result["type"] != "ok" {
            return Err(format!("{sql} failed: {answer}"));
        }
        serde_json::from_value(result["response"]["result"]["rows"].clone())
            .map_err(|e| format!("{e}: {answer}"))
    }

    /// Sends one pipeline of `requests` (no baton) through the raw HTTP API.
    pub fn raw_pipeline(&self, requests: &serde_json::Value) -> Result<serde_json::Value, String> {
        let body = serde_json::json!({
            "baton": null,
            "requests": requests
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
