//! Scratch registries: a writable copy of the fixture registry (tampered, or with hostile
//! package names, when a test needs them), or no registry yet, in a temporary directory with
//! pkgdeck's data and config dirs beside it; the real binary run on it; and the rows and
//! bytes of a registry file read without pkgdeck, so a test can prove what a write touched.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pkgdeck::config::Dirs;
use pkgdeck::connect::{self, Request};
use pkgdeck::registry::trash::Trash;
use pkgdeck::registry::{PublishOptions, Registry};
use sha2::{Digest, Sha256};

/// The registry written by the reference service: 9 packages, 12 rows.
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/seed-written.db"
);

/// Golden cases recorded from the reference service (Node.js), one JSON object a line: a
/// publish document (`input`), the stored manifest and metadata texts, and the row hash.
pub const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/stringify-golden.jsonl"
);

/// The row the tamper test edits, and how (the stored hash no longer matches).
pub const TAMPER_SQL: &str = "UPDATE sys_packages SET metadata = '{\"objects\":[]}' \
                              WHERE id='com.acme.helpdesk' AND version='1.0.0'";

/// A package whose name and metadata carry terminal escape sequences: an OSC window-title
/// change and a clear-screen, as JSON escapes (valid JSON).
pub const HOSTILE_DOCUMENT: &str = r#"{"manifest":{"id":"com.evil.title","version":"1.0.0","type":"app","name":"Evil \u001b]0;PWNED\u0007 \u001b[2J name"},"metadata":{"objects":[{"name":"evil\u001b[31m_object","label":"\u009b2J"}]}}"#;

/// A temporary directory holding the registry file `registry.db` and pkgdeck's data and
/// config dirs; all of it goes when the value is dropped.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Scratch {
    /// A writable copy of [`FIXTURE`].
    pub fn new() -> Scratch {
        let scratch = Scratch::empty();
        std::fs::copy(FIXTURE, &scratch.db).expect("copy the fixture registry");
        std::fs::set_permissions(&scratch.db, std::fs::Permissions::from_mode(0o644))
            .expect("make the copy writable");
        scratch
    }

    /// No registry file yet: `db` names a file that does not exist.
    pub fn empty() -> Scratch {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("registry.db");
        Scratch { dir, db }
    }

    pub fn dirs(&self) -> Dirs {
        Dirs {
            data: self.dir.path().join("data"),
            config: self.dir.path().join("cfg"),
        }
    }

    pub fn registry(&self, read_only: bool) -> Registry {
        let request = Request {
            db: Some(self.db.display().to_string()),
            connection: None,
            read_only,
        };
        connect::open(&request, &self.dirs())
            .unwrap_or_else(|e| panic!("cannot open {}: {e:?}", self.db.display()))
    }

    /// Edits one row's metadata behind the registry's back.
    pub fn tamper(&self) {
        let db = rusqlite::Connection::open(&self.db).expect("open the scratch registry");
        assert_eq!(db.execute(TAMPER_SQL, []).expect("tamper"), 1);
    }

    /// Publishes [`HOSTILE_DOCUMENT`] through the library.
    pub fn publish_hostile(&self) {
        self.registry(false)
            .publish(HOSTILE_DOCUMENT, "hostile.json", PublishOptions::default())
            .expect("publish the hostile package");
    }

    /// The trash files, newest first.
    pub fn trash_files(&self) -> Vec<PathBuf> {
        Trash::new(self.dirs().trash())
            .entries()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    /// Writes a file into the scratch directory and returns its path as a command line
    /// would take it.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path.display().to_string()
    }

    /// The real binary with the scratch data and config dirs (see [`pkgdeck`]).
    pub fn pkgdeck(&self) -> Command {
        pkgdeck(&self.dirs())
    }

    /// Runs `pkgdeck --db <the scratch registry> ARGS…` with no input.
    pub fn run(&self, args: &[&str]) -> Output {
        self.pkgdeck()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pkgdeck")
    }

    /// [`Scratch::run`] with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .pkgdeck()
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pkgdeck");
        child
            .stdin
            .take()
            .expect("pkgdeck's stdin")
            .write_all(input.as_bytes())
            .expect("write pkgdeck's stdin");
        child.wait_with_output().expect("wait for pkgdeck")
    }
}

/// Variables of the machine running the tests that would change where pkgdeck connects or
/// what it trusts; every spawned pkgdeck starts without them (a test sets what it needs).
pub const INHERITED_NETWORK_VARS: &[&str] = &[
    "PKGDECK_DB",
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
    "PKGDECK_AUTH_TOKEN",
    "TURSO_AUTH_TOKEN",
    "LIBSQL_AUTH_TOKEN",
];

/// The real `pkgdeck` binary with its data and config dirs set to `dirs`, and none of
/// [`INHERITED_NETWORK_VARS`] inherited from the environment the tests run in.
pub fn pkgdeck(dirs: &Dirs) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pkgdeck"));
    command
        .env("PKGDECK_DATA_DIR", &dirs.data)
        .env("PKGDECK_CONFIG_DIR", &dirs.config);
    for var in INHERITED_NETWORK_VARS {
        command.env_remove(var);
    }
    command
}

/// A writable copy of [`FIXTURE`] named `seed-written.db` in `dir`.
pub fn fixture_copy(dir: &Path) -> PathBuf {
    let db = dir.join("seed-written.db");
    std::fs::copy(FIXTURE, &db).expect("copy the fixture registry");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))
        .expect("make the copy writable");
    db
}

/// The SHA-256 of a file's bytes, to prove that nothing was written to it.
pub fn checksum(path: &Path) -> String {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    format!("{:x}", Sha256::digest(bytes))
}

/// Every column of a row as stored.
pub type StoredRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// Every row of the registry file at `db`, read with SQLite itself rather than pkgdeck.
pub fn stored_rows(db: &Path) -> Vec<StoredRow> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
    stored_rows_of(&c)
}

/// Every row through an open connection, ordered by id and version.
pub fn stored_rows_of(c: &rusqlite::Connection) -> Vec<StoredRow> {
    let mut stmt = c
        .prepare(
            "SELECT id, version, manifest, metadata, hash, created_at, updated_at \
             FROM sys_packages ORDER BY id, version",
        )
        .expect("prepare the select of every row");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<StoredRow>, _>>())
        .expect("read every row");
    rows
}

/// The audit log's outcome lines of writes that happened (`"outcome":"written"`), in order:
/// every write also has an intent line, and attempts that wrote nothing have other outcomes.
pub fn written_audit_lines(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("an audit line is JSON"))
        .filter(|l| l["phase"] == "outcome" && l["outcome"] == "written")
        .collect()
}
