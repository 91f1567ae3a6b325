//! Scratch registries: a writable copy of the fixture registry (tampered, or with hostile
//! package names, when a test needs them) in a temporary directory, with pkgdeck's data and
//! config dirs beside it, and the rows of a registry file read with SQLite itself.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::repo_root;

use pkgdeck::config::Dirs;
use pkgdeck::connect::{self, Request};
use pkgdeck::registry::trash::Trash;
use pkgdeck::registry::{PublishOptions, Registry};

/// The registry written by the reference service: 9 packages, 12 rows.
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/seed-written.db"
);

/// The row the tamper test edits, and how (the stored hash no longer matches).
pub const TAMPER_SQL: &str = "UPDATE sys_packages SET metadata = '{\"objects\":[]}' \
                              WHERE id='com.acme.helpdesk' AND version='1.0.0'";

/// A package whose name and metadata carry terminal escape sequences: an OSC window-title
/// change and a clear-screen, as JSON escapes (valid JSON).
pub const HOSTILE_DOCUMENT: &str = r#"{"manifest":{"id":"com.evil.title","version":"1.0.0","type":"app","name":"Evil \u001b]0;PWNED\u0007 \u001b[2J name"},"metadata":{"objects":[{"name":"evil\u001b[31m_object","label":"\u009b2J"}]}}"#;

/// A writable copy of the fixture in a temporary directory, with pkgdeck's data and config
/// dirs beside it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("registry.db");
        std::fs::copy(FIXTURE, &db).expect("copy the fixture registry");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))
            .expect("make the copy writable");
        Scratch { dir, db }
    }

    pub fn dirs(&self) -> Dirs {
        Dirs {
            data: self.dir.path().join("data"),
            config: self.dir.path().join("cfg"),
        }
    }

    pub fn request(&self, read_only: bool) -> Request {
        Request {
            db: Some(self.db.display().to_string()),
            connection: None,
            read_only,
        }
    }

    pub fn registry(&self, read_only: bool) -> Registry {
        connect::open(&self.request(read_only), &self.dirs())
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

/// Every row of the registry file at `db`, read with SQLite itself rather than pkgdeck, so a
/// test can prove which rows a write touched.
pub fn stored_rows(db: &Path) -> Vec<StoredRow> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the registry");
    let mut stmt = c
        .prepare(
            "SELECT id, version, manifest, metadata, hash, created_at, updated_at \
             FROM sys_packages ORDER BY id, version",
        )
        .unwrap();
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
        .unwrap()
        .collect::<Result<Vec<StoredRow>, _>>()
        .unwrap();
    rows
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
