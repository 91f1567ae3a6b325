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

fn documents(f: &Files, cases: &mut Vec<Case>) {
    let publish = |name: &str, text: &str, code: i32, says: &[&str]| {
        let file = f.write(name, text);
        let mut pieces = vec![file.clone()];
        pieces.extend(says.iter().map(|s| s.to_string()));
        let says: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Case::new(format!("document {name}"), code, &["publish", &file], &says)
    };
    let m = manifest;
    let invalid = [
        ("empty.json", String::new(), "expected a value"),
        ("spaces.json", "  \n\t ".into(), "expected a value"),
        (
            "truncated.json",
            r#"{"manifest":{"id":"a""#.into(),
            "line 1",
        ),
        (
            "trailing.json",
            format!("{GOOD} x"),
            "after the end of the JSON value",
        ),
        (
            "two-docs.json",
            format!("{GOOD}{GOOD}"),
            "after the end of the JSON value",
        ),
        ("nan.json", GOOD.replace("\"New\"", "NaN"), "found 'N'"),
        (
            "infinity.json",
            GOOD.replace("\"New\"", "Infinity"),
            "found 'I'",
        ),
        (
            "single-quotes.json",
            GOOD.replace("\"New\"", "'New'"),
            "found '''",
        ),
        ("comment.json", format!("// hi\n{GOOD}"), "found '/'"),
        (
            "trailing-comma.json",
            GOOD.replace("\"New\"}", "\"New\",}"),
            "trailing comma",
        ),
        ("bom.json", format!("\u{feff}{GOOD}"), "U+FEFF"),
        (
            "raw-control.json",
            GOOD.replace("New", "N\u{1}ew"),
            "U+0001",
        ),
        (
            "raw-escape.json",
            GOOD.replace("New", "\u{1b}]0;PWNED\u{7}"),
            "U+001B",
        ),
        (
            "raw-c1.json",
            "{\"manifest\": \u{9b}2J}".to_string(),
            "found",
        ),
        (
            "raw-bidi.json",
            "{\"manifest\": \u{202e}x}".to_string(),
            "found",
        ),
        (
            "raw-zwsp.json",
            "{\"manifest\": \u{200b}}".to_string(),
            "found",
        ),
        (
            "lone-surrogate.json",
            GOOD.replace("New", "\\ud800"),
            "surrogate",
        ),
        ("overflow.json", GOOD.replace("\"New\"", "1e400"), "1e400"),
        ("deep.json", "[".repeat(100_000), "deep"),
        (
            "leading-zero.json",
            GOOD.replace("\"New\"", "01"),
            "leading zeros",
        ),
        ("bare-minus.json", GOOD.replace("\"New\"", "-"), "found"),
        (
            "bad-escape.json",
            GOOD.replace("New", "\\x41"),
            "invalid escape",
        ),
        (
            "long-string.json",
            format!(
                "{{\"manifest\":{{\"name\":\"{}\"}} trailing",
                "\\u001b]0;PWNED\\u0007".repeat(50_000)
            ),
            "found",
        ),
    ];
    for (name, text, says) in invalid {
        cases.push(publish(name, &text, 2, &["not valid JSON", says]));
    }
    let rules = [
        (
            "null.json",
            "null".to_owned(),
            "not a valid package document",
        ),
        ("array.json", "[]".into(), "not a valid package document"),
        (
            "string.json",
            "\"doc\"".into(),
            "not a valid package document",
        ),
        ("no-manifest.json", "{}".into(), "$.manifest"),
        (
            "no-metadata.json",
            json!({"manifest": m()}).to_string(),
            "$.metadata",
        ),
        (
            "manifest-number.json",
            doc(json!(3), json!({})),
            "$.manifest",
        ),
        ("metadata-array.json", doc(m(), json!([])), "$.metadata"),
        (
            "id-empty.json",
            doc(
                json!({"id": "", "version": "1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.id",
        ),
        (
            "id-number.json",
            doc(
                json!({"id": 7, "version": "1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.id",
        ),
        (
            "version-short.json",
            doc(
                json!({"id": "a", "version": "1.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-v.json",
            doc(
                json!({"id": "a", "version": "v1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-escape.json",
            doc(
                json!({"id": "a", "version": "1.0.0\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-bidi.json",
            doc(
                json!({"id": "a", "version": "1.0.0\u{202e}", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "type-unknown.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "virus", "name": "N"}),
                json!({}),
            ),
            "$.manifest.type",
        ),
        (
            "name-empty.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "app", "name": ""}),
                json!({}),
            ),
            "$.manifest.name",
        ),
        (
            "name-missing.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "app"}),
                json!({}),
            ),
            "$.manifest.name",
        ),
        (
            "objects-object.json",
            doc(m(), json!({"objects": {"name": "x"}})),
            "$.metadata.objects",
        ),
        (
            "views-string.json",
            doc(m(), json!({"views": "x"})),
            "$.metadata.views",
        ),
        (
            "everything-wrong.json",
            doc(
                json!({"id": "", "version": "x", "type": 1}),
                json!({"apps": 1, "flows": null}),
            ),
            "$.metadata.flows",
        ),
    ];
    for (name, text, says) in rules {
        cases.push(publish(name, &text, 2, &[says]));
    }
    // The stored row's hash is echoed in the refusal.
    let crm = f.write(
        "overwrite.json",
        r#"{"manifest":{"id":"com.acme.crm","version":"1.2.0","type":"app","name":"CRM!"},"metadata":{}}"#,
    );
    cases.push(Case::new(
        "document overwrites without the flag",
        2,
        &["publish", &crm],
        &["com.acme.crm 1.2.0 already exists", "--allow-overwrite"],
    ));
    let ok = f.write("ok.json", GOOD);
    cases.push(
        Case::new(
            "document over PKGDECK_MAX_DOCUMENT",
            2,
            &["publish", &ok],
            &[
                "larger than the 100 bytes document size limit",
                "PKGDECK_MAX_DOCUMENT",
            ],
        )
        .env("PKGDECK_MAX_DOCUMENT", "100"),
    );
    let big = f.sparse("big.json", 65 << 20);
    cases.push(Case::new(
        "document of 65 MiB",
        2,
        &["publish", &big],
        &["larger than the 64 MiB document size limit"],
    ));
    cases.push(Case::new(
        "document is /dev/zero",
        2,
        &["publish", "/dev/zero"],
        &["/dev/zero is a device, not a document"],
    ));
    let dir = f.dir("a-directory");
    cases.push(Case::new(
        "document is a directory",
        2,
        &["publish", &dir],
        &["is a directory, not a document"],
    ));
    let socket = f.socket("doc.sock");
    cases.push(Case::new(
        "document is a socket",
        2,
        &["publish", &socket],
        &["is a socket, not a document"],
    ));
    let missing = f.path("missing.json").display().to_string();
    cases.push(Case::new(
        "document is missing",
        2,
        &["publish", &missing],
        &["cannot read", "missing.json"],
    ));
    cases.push(
        Case::new(
            "PKGDECK_MAX_DOCUMENT is not a size",
            2,
            &["publish", &ok],
            &["PKGDECK_MAX_DOCUMENT=\"lots\" is not a size"],
        )
        .env("PKGDECK_MAX_DOCUMENT", "lots"),
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(GOOD.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let utf16 = f.write("utf16.json", utf16);
    cases.push(Case::new(
        "document in UTF-16",
        2,
        &["publish", &utf16],
        &["is not UTF-8 text"],
    ));
    let latin1 = f.write("latin1.json", b"{\"manifest\":{\"name\":\"caf\xe9\"}}");
    cases.push(Case::new(
        "document in Latin-1",
        2,
        &["publish", &latin1],
        &["is not UTF-8 text (invalid byte at offset 24)"],
    ));
    cases.push(
        Case::new(
            "standard input not JSON",
            2,
            &["publish", "-"],
            &["standard input is not valid JSON"],
        )
        .stdin("{\"manifest\": \u{1b}[2J"),
    );
    cases.push(
        Case::new(
            "standard input over the limit",
            2,
            &["publish", "-"],
            &["standard input is larger than the 1 KiB document size limit"],
        )
        .stdin(vec![b' '; 4096])
        .env("PKGDECK_MAX_DOCUMENT", "1K"),
    );
    cases.push(
        Case::new(
            "standard input empty",
            2,
            &["publish", "-"],
            &["standard input is not valid JSON"],
        )
        .stdin(""),
    );
    cases.push(Case::new(
        "publish in read-only mode",
        2,
        &["--read-only", "publish", &ok],
        &["is open read-only: publish refused"],
    ));
}

fn targets(f: &Files, cases: &mut Vec<Case>) {
    let missing = f.path("typo.db");
    for command in [
        &["list"][..],
        &["get", "com.acme.crm"],
        &["versions", "com.acme.crm"],
        &["verify"],
        &["export", "com.acme.crm"],
        &["diff", "com.acme.helpdesk", "1.0.0", "1.1.0"],
        &["delete", "com.acme.crm", "--yes"],
        &["--read-only", "list"],
    ] {
        cases.push(
            Case::new(
                format!("missing registry: {}", command.join(" ")),
                3,
                command,
                &[&format!("no registry at {}", missing.display())],
            )
            .db(Db::Path(missing.clone())),
        );
    }
    let deep = f.path("no-such-dir/reg.db");
    cases.push(
        Case::new(
            "missing registry in a missing directory",
            3,
            &["list"],
            &["no registry at", "no-such-dir/reg.db"],
        )
        .db(Db::Path(deep)),
    );
    let fifo = PathBuf::from(f.fifo("reg.fifo"));
    for command in [&["list"][..], &["publish", "-"]] {
        cases.push(
            Case::new(
                format!("FIFO target: {}", command.join(" ")),
                3,
                command,
                &["is a FIFO, not a registry file"],
            )
            .db(Db::Path(fifo.clone()))
            .stdin(GOOD),
        );
    }
    for (name, path, says) in [
        (
            "/dev/null",
            PathBuf::from("/dev/null"),
            "/dev/null is a device",
        ),
        (
            "/dev/zero",
            PathBuf::from("/dev/zero"),
            "/dev/zero is a device",
        ),
        (
            "directory",
            PathBuf::from(f.dir("reg-dir")),
            "is a directory",
        ),
        ("socket", PathBuf::from(f.socket("reg.sock")), "is a socket"),
        (
            "symlink to a FIFO",
            PathBuf::from(f.link("to-fifo.db", &fifo.display().to_string())),
            "is a FIFO",
        ),
    ] {
        cases.push(
            Case::new(
                format!("{name} target"),
                3,
                &["list"],
                &[says, "not a registry file"],
            )
            .db(Db::Path(path)),
        );
    }
    let ok = f.write("ok-for-targets.json", GOOD);
    cases.push(
        Case::new(
            "/dev/zero target: publish",
            3,
            &["publish", &ok],
            &["/dev/zero is a device"],
        )
        .db(Db::Path("/dev/zero".into())),
    );
    let looped = f.link("loop.db", "loop.db");
    cases.push(
        Case::new("symlink loop target", 3, &["list"], &["loop.db"]).db(Db::Path(looped.into())),
    );
    let dangling = f.link("dangling.db", "nowhere.db");
    cases.push(
        Case::new(
            "dangling symlink target",
            3,
            &["list"],
            &["no registry at", "dangling.db"],
        )
        .db(Db::Path(dangling.into())),
    );
    let text = PathBuf::from(f.write("notes.txt", "these are my notes, not a database\n"));
    for command in [&["list"][..], &["publish", &ok]] {
        cases.push(
            Case::new(
                format!("text file target: {}", command[0]),
                3,
                command,
                &["is not an SQLite database"],
            )
            .db(Db::Path(text.clone())),
        );
    }
    let other = PathBuf::from(f.sqlite_without_table("someone-elses.db"));
    for command in [
        &["list"][..],
        &["verify"],
        &["get", "x"],
        &["delete", "x", "--yes"],
        &["--read-only", "versions", "x"],
    ] {
        cases.push(
            Case::new(
                format!("SQLite file without sys_packages: {}", command.join(" ")),
                3,
                command,
                &[&format!("{} has no sys_packages table", other.display())],
            )
            .db(Db::Path(other.clone())),
        );
    }
    let empty = PathBuf::from(f.write("empty.db", ""));
    cases.push(
        Case::new(
            "empty file target",
            3,
            &["list"],
            &["has no sys_packages table"],
        )
        .db(Db::Path(empty)),
    );
    let schemes: [(&str, String, i32, &str); 8] = [
        (
            "unsupported scheme with a password",
            format!("ftp://user:{SECRET}@host/x"),
            2,
            "scheme",
        ),
        ("file: naming nothing", "file:".into(), 2, "names no file"),
        (
            "file: with only a token",
            format!("file:?authToken={SECRET}"),
            2,
            "names no file",
        ),
        ("http with no host", "http://".into(), 2, "names no host"),
        (
            "libsql with only a token",
            format!("libsql://?AuthToken={SECRET}"),
            2,
            "names no host",
        ),
        (
            "userinfo token, nothing listening",
            format!("http://user:{SECRET}@127.0.0.1:1"),
            3,
            "127.0.0.1:1",
        ),
        (
            "AUTHTOKEN, nothing listening",
            format!("http://127.0.0.1:1/?AUTHTOKEN={SECRET}"),
            3,
            "127.0.0.1:1",
        ),
        ("empty target", String::new(), 2, "the target is empty"),
    ];
    for (name, target, code, says) in schemes {
        cases.push(
            Case::new(format!("target: {name}"), code, &["list"], &[says])
                .db(Db::Omit)
                .env("PKGDECK_DB", target),
        );
    }
    let escaped = f.path("reg\u{1b}]0;PWNED\u{7}\u{202e}.db");
    cases.push(
        Case::new(
            "target path with an escape sequence",
            3,
            &["list"],
            &["no registry at", "reg␛]0;PWNED␇"],
        )
        .db(Db::Path(escaped)),
    );
    cases.push(
        Case::new(
            "target text with an escape sequence",
            2,
            &["list"],
            &["is not supported"],
        )
        .db(Db::Text("go\u{1b}[2J\u{9b}pher://x".into())),
    );
}

fn arguments(f: &Files, cases: &mut Vec<Case>) {
    let simple: [(&str, &[&str], i32, &str); 21] = [
        (
            "unknown command",
            &["frobnicate"],
            2,
            "unrecognized subcommand",
        ),
        (
            "unknown flag",
            &["list", "--jsn"],
            2,
            "unexpected argument '--jsn'",
        ),
        ("get without an id", &["get"], 2, "<ID>"),
        (
            "diff without versions",
            &["diff", "com.acme.helpdesk"],
            2,
            "<FROM>",
        ),
        (
            "delete without --yes",
            &["delete", "com.acme.crm"],
            2,
            "needs --yes",
        ),
        (
            "delete everything without --yes",
            &["delete", "com.acme.helpdesk"],
            2,
            "every version of com.acme.helpdesk",
        ),
        (
            "completions for an unknown shell",
            &["completions", "tcsh"],
            2,
            "'tcsh'",
        ),
        (
            "help for an unknown command",
            &["help", "frobnicate"],
            2,
            "no command \"frobnicate\"",
        ),
        (
            "read-only delete",
            &["--read-only", "delete", "com.acme.crm", "--yes"],
            2,
            "read-only: delete refused",
        ),
        (
            "read-only restore",
            &["--read-only", "restore", "/nonexistent"],
            2,
            "read-only: restore refused",
        ),
        (
            "get of a missing package",
            &["get", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "get of a missing version",
            &["get", "com.acme.helpdesk", "9.9.9"],
            1,
            "version 9.9.9 was not found",
        ),
        (
            "get of an empty version",
            &["get", "com.acme.helpdesk", ""],
            1,
            "was not found",
        ),
        (
            "versions of a missing package",
            &["versions", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "verify of a missing package",
            &["verify", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "verify of a missing version",
            &["verify", "com.acme.crm", "0.0.0"],
            1,
            "version 0.0.0 was not found",
        ),
        (
            "export of a missing package",
            &["export", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "diff to a missing version",
            &["diff", "com.acme.helpdesk", "1.0.0", "9.9.9"],
            1,
            "version 9.9.9 was not found",
        ),
        (
            "delete of a missing package",
            &["delete", "nope", "--yes"],
            1,
            "package nope was not found",
        ),
        (
            "get with escapes in the id",
            &["get", "x\u{1b}]0;PWNED\u{7}\u{9b}2J\u{202e}"],
            1,
            "x␛]0;PWNED␇",
        ),
        (
            "unknown flag with escapes",
            &["list", "--\u{1b}[2J\u{9b}"],
            2,
            "unexpected argument",
        ),
    ];
    for (name, args, code, says) in simple {
        cases.push(Case::new(name, code, args, &[says]));
    }
    cases.push(
        Case::new(
            "an unknown saved connection",
            2,
            &["-c", "nope", "list"],
            &["no saved connection \"nope\""],
        )
        .db(Db::Omit),
    );
    cases.push(
        Case::new(
            "--db and -c together",
            2,
            &["--db", "x.db", "-c", "y", "list"],
            &["cannot be used with"],
        )
        .db(Db::Omit),
    );
    let export = |name: &str, to: &str, code: i32, says: &str| {
        Case::new(
            format!("export -o {name}"),
            code,
            &["export", "com.acme.crm", "-o", to],
            &[says],
        )
    };
    let fifo = f.fifo("out.fifo");
    let socket = f.socket("out.sock");
    let dir = f.dir("out-dir");
    let to_null = f.link("out-null.json", "/dev/null");
    let to_fifo = f.link("out-fifo.json", &fifo);
    let looped = f.link("out-loop.json", "out-loop.json");
    let in_missing = f.path("no-dir/out.json").display().to_string();
    for case in [
        export(
            "/dev/full",
            "/dev/full",
            2,
            "/dev/full is a device, not a regular file",
        ),
        export("/dev/null", "/dev/null", 2, "/dev/null is a device"),
        export("a FIFO", &fifo, 2, "is a FIFO, not a regular file"),
        export("a socket", &socket, 2, "is a socket"),
        export("a directory", &dir, 2, "is a directory"),
        export(
            "a symlink to /dev/null",
            &to_null,
            2,
            "/dev/null is a device",
        ),
        export("a symlink to a FIFO", &to_fifo, 2, "is a FIFO"),
        export("a symlink loop", &looped, 2, "symlink loop"),
        export("a missing directory", &in_missing, 3, "cannot write"),
    ] {
        cases.push(case);
    }
}

fn trash_files(f: &Files, cases: &mut Vec<Case>) {
    let restore = |name: &str, file: &str, says: &[&str]| {
        Case::new(format!("trash file: {name}"), 2, &["restore", file], says)
    };
    cases.push(restore(
        "not JSON",
        &f.write("t-not-json.json", "not json at all"),
        &["cannot be restored", "not a pkgdeck trash file"],
    ));
    cases.push(restore(
        "an empty object",
        &f.write("t-empty.json", "{}"),
        &["not a pkgdeck trash file"],
    ));
    let wrong = [
        ("wrong format", "t-format.json", "unknown format"),
        ("rows not a list", "t-rows.json", "not a pkgdeck trash file"),
        ("no rows", "t-no-rows.json", "holds no rows"),
        (
            "manifest tampered",
            "t-manifest.json",
            "hash does not match",
        ),
        ("hash tampered", "t-hash.json", "hash does not match"),
        (
            "id not the manifest's",
            "t-id.json",
            "its manifest says com.acme.crm 9.9.9",
        ),
        (
            "version not the manifest's",
            "t-version.json",
            "its manifest says com.acme.crm 9.9.9",
        ),
        (
            "manifest not JSON",
            "t-manifest-text.json",
            "manifest is not valid JSON",
        ),
        (
            "metadata not JSON",
            "t-metadata-text.json",
            "metadata is not valid JSON",
        ),
        ("pending", "t-pending.json", "it is pending"),
        ("escapes in the id", "t-escapes.json", "row x␛]0;PWNED␇"),
    ];
    for (name, file, says) in wrong {
        let path = trash_file(f, file, |t| match name {
            "wrong format" => t["format"] = json!("pkgdeck-trash/99"),
            "rows not a list" => t["rows"] = json!({"id": "x"}),
            "no rows" => t["rows"] = json!([]),
            "manifest tampered" => {
                let m = t["rows"][0]["manifest"].as_str().unwrap_or_default();
                t["rows"][0]["manifest"] = json!(m.replace("CRM", "CRM (changed)"));
            }
            "hash tampered" => t["rows"][0]["hash"] = json!("0".repeat(64)),
            "id not the manifest's" => {
                t["rows"][0]["id"] = json!("com.acme.other");
            }
            "version not the manifest's" => t["rows"][0]["version"] = json!("1.0.0"),
            "manifest not JSON" => {
                t["rows"][0]["manifest"] = json!("{not json");
                rehash(t);
            }
            "metadata not JSON" => {
                t["rows"][0]["metadata"] = json!("[1,");
                rehash(t);
            }
            "pending" => t["state"] = json!("pending"),
            "escapes in the id" => t["rows"][0]["id"] = json!("x\u{1b}]0;PWNED\u{7}\u{202e}"),
            _ => unreachable!("{name}"),
        });
        let mut says = vec![says];
        if name != "wrong format" && name != "rows not a list" {
            says.push("pass --force");
        }
        cases.push(restore(name, &path, &says));
    }
    // Checked and trusted, but a different row is stored at its (id, version).
    let conflict = trash_file(f, "t-conflict.json", |t| {
        let m = t["rows"][0]["manifest"].as_str().unwrap_or_default();
        t["rows"][0]["manifest"] = json!(m.replace("9.9.9", "1.2.0").replace("CRM", "CRM old"));
        t["rows"][0]["version"] = json!("1.2.0");
        rehash(t);
    });
    cases.push(restore(
        "a different row is stored there",
        &conflict,
        &["would overwrite a different row"],
    ));
    cases.push(restore(
        "a directory",
        &f.dir("t-dir.json"),
        &["is a directory, not a document"],
    ));
    cases.push(restore(
        "/dev/zero",
        "/dev/zero",
        &["/dev/zero is a device"],
    ));
    cases.push(restore(
        "missing",
        &f.path("t-missing.json").display().to_string(),
        &["cannot be restored", "cannot read"],
    ));
    cases.push(restore(
        "invalid UTF-8",
        &f.write("t-latin1.json", b"{\"format\":\"caf\xe9\"}"),
        &["not UTF-8 text"],
    ));
    let fine = trash_file(f, "t-too-big.json", |_| {});
    cases.push(
        restore("over the size limit", &fine, &["larger than the 200 bytes"])
            .env("PKGDECK_MAX_DOCUMENT", "200"),
    );
}

fn config_files(f: &Files, cases: &mut Vec<Case>) {
    let fifo = f.fifo("conn.fifo");
    let missing = f.path("conn-missing.db").display().to_string();
    let configs: Vec<(&str, String, i32, &str)> = vec![
        (
            "not TOML",
            "[connections.main\ntarget = 1".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "unknown top-level key",
            "colour = \"red\"\n".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "a connection without a target",
            "[connections.main]\ntoken_env = \"X\"\n".into(),
            2,
            "missing field `target`",
        ),
        (
            "a target that is a number",
            "[connections.main]\ntarget = 3\n".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "an unknown connection field",
            "[connections.main]\ntarget = \"x.db\"\ncolour = \"red\"\n".into(),
            2,
            "unknown field `colour`",
        ),
        (
            "a token in the target",
            format!("[connections.main]\ntarget = \"libsql://db.example?authToken={SECRET}\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "a token in any letter case",
            format!("[connections.main]\ntarget = \"libsql://db.example?AUTHTOKEN={SECRET}\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "a password in the target",
            format!("[connections.main]\ntarget = \"https://user:{SECRET}@db.example\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "an unsupported scheme",
            "[connections.main]\ntarget = \"gopher://db\"\n".into(),
            2,
            "saved connection \"main\"",
        ),
        (
            "binary garbage",
            "\u{0}\u{1}\u{2}\u{1b}[2J".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "a FIFO target",
            format!("[connections.main]\ntarget = \"{fifo}\"\n"),
            3,
            "is a FIFO",
        ),
        (
            "a missing target",
            format!("[connections.main]\ntarget = \"{missing}\"\n"),
            3,
            "no registry at",
        ),
    ];
    for (name, text, code, says) in configs {
        cases.push(
            Case::new(
                format!("config: {name}"),
                code,
                &["-c", "main", "list"],
                &[says],
            )
            .db(Db::Omit)
            .config(Config::Text(text)),
        );
    }
    cases.push(
        Case::new(
            "config: the file is a directory",
            2,
            &["-c", "main", "list"],
            &["cannot read", "config.toml"],
        )
        .db(Db::Omit)
        .config(Config::Directory),
    );
    cases.push(
        Case::new(
            "config: a connection name with escapes",
            2,
            &["-c", "x\u{1b}]0;PWNED\u{7}", "list"],
            &["no saved connection"],
        )
        .db(Db::Omit)
        .config(Config::Text(
            "[connections.main]\ntarget = \"x.db\"\n".into(),
        )),
    );
}

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
