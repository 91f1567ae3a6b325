//! The real ObjectStack packages from npm (`scripts/install-objectstack`, pinned), which the
//! oracle tests run in Node: the boot oracle and the service writer.

use std::path::PathBuf;
use std::process::{Command, Stdio};

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
