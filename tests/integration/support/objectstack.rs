//! The real ObjectStack packages from npm (`scripts/install-objectstack`, pinned), which the
//! oracle tests run in Node, and the real ObjectStack server as the oracle of what it does with
//! a registry (spec 8):
//! `tests/oracle/boot.mjs` runs the real `@objectstack/service-package` 17.4.0 booting into a
//! real objectql `SchemaRegistry` over a SQLite file through `@libsql/client` (installed,
//! pinned, by `scripts/install-objectstack`). One Node process answers many requests, one JSON
//! line each (the protocol is documented at the top of boot.mjs).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use pkgdeck::registry::boot::CodePackage;
use serde_json::{json, Value};

use super::repo_root;

/// Runs `scripts/install-objectstack` (idempotent, locked) and answers the directory it prints.
/// Panics with the script's output when Node, npm or the install fails: never skips.
pub fn install_dir() -> PathBuf {
    let script = repo_root().join("scripts/install-objectstack");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}); the ObjectStack oracles need Node.js, npm and the ObjectStack packages from \
         npm:\n{stdout}{stderr}",
        script.display(),
        out.status
    );
    let dir = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
    assert!(
        dir.join("node_modules/@objectstack/service-package/package.json")
            .is_file(),
        "{} printed {dir:?}, which holds no @objectstack/service-package:\n{stderr}",
        script.display()
    );
    dir
}

/// The boot oracle process: one Node process that answers many requests.
pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    pub fn start() -> Oracle {
        let dir = install_dir();
        let script = repo_root().join("tests/oracle/boot.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .arg(&dir)
            .env_remove("OS_METADATA_COLLISION")
            .env_remove("OS_REGISTRY_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `node` ({e}): the boot oracle runs the real ObjectStack server \
                     in Node.js; install Node.js (https://nodejs.org) and rerun"
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            child,
            stdin,
            stdout,
        }
    }

    pub fn ask(&mut self, request: &Value) -> Value {
        let line = serde_json::to_string(request).expect("encode request");
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the oracle stopped reading requests: {e}"));
        let mut answer = String::new();
        let n = self
            .stdout
            .read_line(&mut answer)
            .unwrap_or_else(|e| panic!("cannot read the oracle's answer: {e}"));
        assert!(
            n > 0,
            "the oracle (node tests/oracle/boot.mjs) exited without answering {line} (its \
             stderr is above)"
        );
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|e| {
            panic!("the oracle answered something that is not JSON ({e}): {answer}")
        });
        assert_eq!(
            answer["ok"], true,
            "the oracle could not answer {line}: {answer}"
        );
        answer
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Oracle {
    /// The real server booting the registry file at `path` with `code` packages defined in
    /// code: what it loaded, what its get(id) answers, and how each list() row went.
    pub fn boot(&mut self, path: &Path, code: &[CodePackage]) -> Value {
        self.ask(&json!({
            "op": "boot",
            "db": path,
            "code_packages": code
                .iter()
                .map(|c| json!({"id": c.id, "namespace": c.namespace}))
                .collect::<Vec<_>>(),
        }))
    }
}
