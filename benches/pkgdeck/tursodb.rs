//! The remote registry's server: `tursodb --sync-server` on loopback, found where
//! scripts/install-tursodb puts it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `tursodb --sync-server` serving one file on a free loopback port; killed on drop.
pub struct Tursodb {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl Tursodb {
    /// Starts the server on `db` (its stderr to `log`) and waits until it answers a query;
    /// a port taken in between is retried.
    pub fn start(binary: &Path, db: &Path, log: &Path) -> Result<Tursodb, String> {
        let mut last = String::new();
        for _ in 0..3 {
            // A free port, released for tursodb to bind.
            let addr = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("cannot find a free loopback port: {e}"))?;
            let stderr = std::fs::File::create(log)
                .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            let child = Command::new(binary)
                .arg("--sync-server")
                .arg(addr.to_string())
                .arg(db)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(stderr))
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let mut server = Tursodb { child, addr };
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_millis(500))
                .build();
            let url = format!("http://{addr}/v2/pipeline");
            let probe =
                r#"{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}"#;
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = server.child.try_wait() {
                    last = format!(
                        "tursodb exited ({status}): {}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    );
                    break;
                }
                if let Ok(resp) = agent.post(&url).send_string(probe) {
                    if resp.into_string().is_ok_and(|b| b.contains("\"results\"")) {
                        return Ok(server);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if last.is_empty() {
                last = format!("no answer on {url}");
            }
            if !last.contains("in use") {
                break;
            }
        }
        Err(format!("tursodb --sync-server did not come up: {last}"))
    }
}

impl Drop for Tursodb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tursodb binary: `PKGDECK_TURSODB`, else what scripts/install-tursodb put in `.tools/`.
pub fn find_tursodb(repo: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PKGDECK_TURSODB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let scope = repo.join(".tools/tursodb/node_modules/@tursodatabase");
    std::fs::read_dir(scope)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cli-"))
        .map(|e| e.path().join("tursodb"))
        .find(|p| p.is_file())
}
