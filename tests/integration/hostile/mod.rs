//! The catalogue of hostile inputs (spec 10.2): documents, targets, arguments, trash files and
//! config files that pkgdeck must refuse. Every case runs the real binary and must give its
//! exit code, exactly one sentence on stderr naming what was wrong, nothing a terminal would
//! act on in its output, no token, no wait on a FIFO, and leave every registry file as it
//! was: the fixture copy byte-identical, a file the case named unchanged, a missing one still
//! missing.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pkgdeck::registry::canonical::integrity_hash;
use serde_json::json;

use crate::support::assert::first_unsafe_char;
use crate::support::scratch::{checksum, pkgdeck, stored_rows, Scratch};

/// A secret that may appear in an argument or the environment but never in any output.
const SECRET: &str = "SECRETtoken42";

/// How long a case may run: a FIFO or a device must never make pkgdeck wait.
const DEADLINE: Duration = Duration::from_secs(10);

/// Which registry a case names.
enum Db {
    /// The scratch copy of the fixture.
    Fixture,
    /// `--db PATH`.
    Path(PathBuf),
    /// `--db TEXT` for a target that is not a path.
    Text(String),
    /// No `--db` (a case that names the registry some other way, or none).
    Omit,
}

/// What a case writes as `<config dir>/config.toml` before it runs.
enum Config {
    None,
    Text(String),
    Directory,
}

struct Case {
    name: String,
    db: Db,
    args: Vec<String>,
    stdin: Vec<u8>,
    env: Vec<(&'static str, String)>,
    config: Config,
    code: i32,
    /// Pieces the one sentence must hold.
    says: Vec<String>,
}

impl Case {
    fn new(name: impl Into<String>, code: i32, args: &[&str], says: &[&str]) -> Case {
        Case {
            name: name.into(),
            db: Db::Fixture,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: Vec::new(),
            env: Vec::new(),
            config: Config::None,
            code,
            says: says.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn db(mut self, db: Db) -> Case {
        self.db = db;
        self
    }
    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = bytes.into();
        self
    }
    fn env(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.env.push((name, value.into()));
        self
    }
    fn config(mut self, config: Config) -> Case {
        self.config = config;
        self
    }
}

const GOOD: &str = r#"{"manifest":{"id":"com.acme.new","version":"1.0.0","type":"app","name":"New"},"metadata":{"objects":[{"name":"n_obj"}]}}"#;

/// The scratch directory's files the cases use.
struct Files<'a> {
    s: &'a Scratch,
}

impl Files<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.s.dir.path().join(name)
    }
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        self.s.file(name, bytes)
    }
    fn fifo(&self, name: &str) -> String {
        let path = self.path(name);
        let ok = Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(ok.success(), "mkfifo {}", path.display());
        path.display().to_string()
    }
    fn socket(&self, name: &str) -> String {
        let path = self.path(name);
        // The listener is dropped; the socket file stays, as a dead service leaves it.
        drop(UnixListener::bind(&path).expect("bind a unix socket"));
        path.display().to_string()
    }
    fn dir(&self, name: &str) -> String {
        let path = self.path(name);
        std::fs::create_dir_all(&path).expect("make a directory");
        path.display().to_string()
    }
    fn link(&self, name: &str, to: &str) -> String {
        let path = self.path(name);
        symlink(to, &path).expect("make a symlink");
        path.display().to_string()
    }
    fn sqlite_without_table(&self, name: &str) -> String {
        let path = self.path(name);
        let c = rusqlite::Connection::open(&path).expect("create a database");
        c.execute_batch("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine');")
            .expect("fill it");
        path.display().to_string()
    }
    /// A sparse file of `len` bytes (nothing is really written).
    fn sparse(&self, name: &str, len: u64) -> String {
        let path = self.path(name);
        std::fs::File::create(&path)
            .and_then(|f| f.set_len(len))
            .expect("make a sparse file");
        path.display().to_string()
    }
}

/// A publish document with `manifest` and `metadata` replaced.
fn doc(manifest: serde_json::Value, metadata: serde_json::Value) -> String {
    json!({ "manifest": manifest, "metadata": metadata }).to_string()
}

fn manifest() -> serde_json::Value {
    json!({"id": "com.acme.new", "version": "1.0.0", "type": "app", "name": "New"})
}

/// A trash file holding one fixture row (com.acme.crm 1.2.0, deleted), as pkgdeck writes
/// it; `edit` changes it before it is written.
fn trash_file(f: &Files, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let row = stored_rows(&f.s.db)
        .into_iter()
        .find(|r| r.0 == "com.acme.crm")
        .expect("the fixture's com.acme.crm");
    let mut file = json!({
        "format": "pkgdeck-trash/1",
        "state": "completed",
        "saved_at": "2026-11-24T01:46:01Z",
        "target": f.s.db.display().to_string(),
        "action": "delete",
        "rows": [{
            "id": row.0, "version": "9.9.9", "manifest": row.2.replace("1.2.0", "9.9.9"),
            "metadata": row.3, "hash": "", "created_at": row.5, "updated_at": row.6,
        }],
    });
    let r = &mut file["rows"][0];
    let hash = integrity_hash(
        r["manifest"].as_str().unwrap_or_default(),
        r["metadata"].as_str().unwrap_or_default(),
    );
    r["hash"] = json!(hash);
    edit(&mut file);
    f.write(
        name,
        serde_json::to_vec_pretty(&file).expect("a trash file"),
    )
}

/// Recomputes the hash of a trash file's first row after an edit, so that only the edit is
/// wrong.
fn rehash(file: &mut serde_json::Value) {
    let r = &mut file["rows"][0];
    let hash = integrity_hash(
        r["manifest"].as_str().unwrap_or_default(),
        r["metadata"].as_str().unwrap_or_default(),
    );
    r["hash"] = json!(hash);
}

mod documents;
mod local_state;
mod targets;

use documents::documents;
use local_state::{config_files, trash_files};
use targets::{arguments, targets};

/// The state of a registry file before a case: its checksum, or that it is missing. Only
/// regular files are read (a FIFO or a device is left alone).
fn file_state(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return Some(format!("{:?}", meta.file_type()));
    }
    Some(checksum(path))
}

/// Runs one case; returns what went wrong, if anything.
fn run_case(s: &Scratch, case: &Case) -> Result<(), String> {
    let dirs = s.dirs();
    let config_file = dirs.config.join("config.toml");
    let _ = std::fs::remove_dir(&config_file);
    let _ = std::fs::remove_file(&config_file);
    match &case.config {
        Config::None => {}
        Config::Text(text) => {
            std::fs::create_dir_all(&dirs.config).map_err(|e| e.to_string())?;
            std::fs::write(&config_file, text).map_err(|e| e.to_string())?;
        }
        Config::Directory => std::fs::create_dir_all(&config_file).map_err(|e| e.to_string())?,
    }
    let mut command = pkgdeck(&dirs);
    let named = match &case.db {
        Db::Fixture => {
            command.arg("--db").arg(&s.db);
            None
        }
        Db::Path(p) => {
            command.arg("--db").arg(p);
            Some(p.clone())
        }
        Db::Text(t) => {
            command.arg("--db").arg(t);
            None
        }
        Db::Omit => None,
    };
    let before = named.as_deref().map(file_state);
    let fixture = checksum(&s.db);
    command.args(&case.args);
    for (k, v) in &case.env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start pkgdeck: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = case.stdin.clone();
    // Written from a thread: a refusal may come before the input is read.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {DEADLINE:?}: it blocked"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = feeder.join();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8(output.stdout).map_err(|e| format!("stdout: {e}"))?;
    let stderr = String::from_utf8(output.stderr).map_err(|e| format!("stderr: {e}"))?;
    let mut problems = Vec::new();
    if status.code() != Some(case.code) {
        problems.push(format!("exit {:?}, expected {}", status.code(), case.code));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 1 || !lines[0].starts_with("pkgdeck: ") {
        problems.push(format!("not one sentence on stderr: {stderr:?}"));
    }
    for piece in &case.says {
        if !stderr.contains(piece.as_str()) {
            problems.push(format!("stderr lacks {piece:?}: {stderr:?}"));
        }
    }
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        if let Some((at, c)) = first_unsafe_char(text) {
            problems.push(format!("{what} holds U+{:04X} at {at}", c as u32));
        }
        if text.contains(SECRET) {
            problems.push(format!("{what} shows the token"));
        }
    }
    if checksum(&s.db) != fixture {
        problems.push("the fixture registry changed".into());
    }
    if let (Some(path), Some(before)) = (&named, before) {
        let after = file_state(path);
        if after != before {
            problems.push(format!(
                "{} changed: {before:?} → {after:?}",
                path.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn the_hostile_catalogue_is_refused_cleanly() {
    let s = Scratch::new();
    let f = Files { s: &s };
    let mut cases = Vec::new();
    documents(&f, &mut cases);
    targets(&f, &mut cases);
    arguments(&f, &mut cases);
    trash_files(&f, &mut cases);
    config_files(&f, &mut cases);
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let device_before = std::fs::metadata("/dev/full").map(|m| m.file_type());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = run_case(&s, case) {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    // The devices that export -o was pointed at are still devices.
    assert_eq!(
        std::fs::metadata("/dev/full").map(|m| m.file_type()).ok(),
        device_before.ok()
    );
    eprintln!(
        "hostile catalogue: {} cases, {} passed, {} failed",
        cases.len(),
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Runs pkgdeck with `args` and `env` (and `stdin_len` spaces on stdin) and answers its exit
/// code, its peak resident memory in MiB and its stderr.
fn peak_of(
    args: &[&str],
    env: &[(&str, &str)],
    stdin_len: Option<u64>,
) -> (Option<i32>, u64, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pkgdeck"));
    command.args(args).envs(env.iter().copied());
    let m = crate::support::peak::run(&command, stdin_len);
    (
        m.output.status.code(),
        m.peak >> 20,
        String::from_utf8_lossy(&m.output.stderr).into_owned(),
    )
}

/// A 200 MB document is refused before parsing and in bounded memory: from a file without
/// reading a byte of it, from a pipe after reading no more than the cap.
#[test]
fn a_200_mb_document_is_refused_in_bounded_memory() {
    let s = Scratch::new();
    let f = Files { s: &s };
    let size: u64 = 200 * 1_000_000;
    let big = f.sparse("200mb.json", size);
    let sum = checksum(&s.db);
    let dirs = s.dirs();
    let (data, config, db) = (
        dirs.data.display().to_string(),
        dirs.config.display().to_string(),
        s.db.display().to_string(),
    );
    let env = [
        ("PKGDECK_DATA_DIR", data.as_str()),
        ("PKGDECK_CONFIG_DIR", config.as_str()),
    ];

    let (code, file_peak, stderr) = peak_of(&["--db", &db, "publish", &big], &env, None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("larger than the 64 MiB document size limit (190.7 MiB)"),
        "{stderr}"
    );
    assert!(
        file_peak < 32,
        "peak {file_peak} MiB refusing a 200 MB file"
    );

    let (code, pipe_peak, stderr) = peak_of(&["--db", &db, "publish", "-"], &env, Some(size));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("standard input is larger than the 64 MiB"),
        "{stderr}"
    );
    assert!(
        pipe_peak < 100,
        "peak {pipe_peak} MiB refusing 200 MB on a pipe"
    );

    // PKGDECK_MAX_DOCUMENT raises the cap: the same 200 MB file is then read (and refused
    // as JSON, being all zero bytes).
    let raised = [env[0], env[1], ("PKGDECK_MAX_DOCUMENT", "256M")];
    let (code, raised_peak, stderr) = peak_of(&["--db", &db, "publish", &big], &raised, None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not valid JSON"), "{stderr}");
    assert_eq!(checksum(&s.db), sum);
    eprintln!(
        "200 MB document: refused from a file with a peak of {file_peak} MiB, from a pipe with \
         {pipe_peak} MiB; read under a raised cap with {raised_peak} MiB"
    );
}
