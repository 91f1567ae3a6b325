//! A tmux driver that runs the real binary in a real terminal (a 160×50 pane), reads the
//! screen, and kills its tmux server when dropped, pass or fail.
//!
//! tmux is required: without it the tests that need it fail with a message saying so.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::scratch::Scratch;

/// The pane the binary runs in.
const PANE: &str = "pkgdeck:0.0";

/// How long a test waits for the screen to show what it expects.
pub const WAIT: Duration = Duration::from_secs(20);

/// One tmux server (its own socket, inside the scratch directory, so nothing is left behind)
/// running one command in a 160×50 pane.
pub struct Tmux {
    socket: PathBuf,
    exit_file: PathBuf,
}

fn tmux_binary_present() {
    match Command::new("tmux").arg("-V").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "tmux -V failed ({}): the console end-to-end tests need a working tmux",
            out.status
        ),
        Err(e) => panic!(
            "tmux is not installed or not on PATH ({e}): the console end-to-end tests need it \
             (apt-get install tmux)"
        ),
    }
}

impl Tmux {
    /// Runs `pkgdeck ARGS…` for `scratch` (its data and config dirs in the environment) in a
    /// fresh tmux server; when the binary exits, its status goes to a file and the pane stays.
    pub fn start(scratch: &Scratch, args: &[&str]) -> Tmux {
        Tmux::start_with(scratch, &[], args)
    }

    /// [`Tmux::start`] with more variables in the environment (`EDITOR=…`).
    pub fn start_with(scratch: &Scratch, env: &[(&str, &str)], args: &[&str]) -> Tmux {
        tmux_binary_present();
        // A socket of its own: a second console in the same scratch directory must not meet
        // the first one's server while it shuts down.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = scratch.dir.path().join(format!("tmux-{n}.sock"));
        let exit_file = scratch.dir.path().join("exit-status");
        let dirs = scratch.dirs();
        // A second run in the same scratch directory must not read the first one's status.
        let _ = std::fs::remove_file(&exit_file);
        let tmux = Tmux { socket, exit_file };
        // "$@" keeps every path one argument whatever it contains.
        let script = r#"out="$1"; shift; "$@"; echo "EXIT=$?" > "$out"; exec sleep 600"#;
        let mut command: Vec<String> = [
            "new-session",
            "-d",
            "-s",
            "pkgdeck",
            "-x",
            "160",
            "-y",
            "50",
            "-e",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        command.push(format!("PKGDECK_DATA_DIR={}", dirs.data.display()));
        command.push("-e".into());
        command.push(format!("PKGDECK_CONFIG_DIR={}", dirs.config.display()));
        for (name, value) in env {
            command.push("-e".into());
            command.push(format!("{name}={value}"));
        }
        command.extend(["sh", "-c", script, "sh"].map(String::from));
        command.push(tmux.exit_file.display().to_string());
        command.push(env!("CARGO_BIN_EXE_pkgdeck").to_owned());
        command.extend(args.iter().map(|s| s.to_string()));
        let out = tmux.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    /// `pkgdeck --db <scratch copy>`.
    pub fn console(scratch: &Scratch) -> Tmux {
        let db = scratch.db.display().to_string();
        Tmux::start(scratch, &["--db", &db])
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-u", "-f", "/dev/null", "-S"])
            .arg(&self.socket)
            .args(args)
            .env("LANG", "C.UTF-8")
            .output()
            .expect("run tmux")
    }

    /// Runs a tmux command on this server (`set -s set-clipboard on`, …); panics when it fails.
    pub fn tmux(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The newest paste buffer (what an OSC 52 clipboard write left), or `None` when there is
    /// none.
    pub fn buffer(&self) -> Option<String> {
        let out = self.run(&["show-buffer"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Sends tmux key names (`Enter`, `Escape`, `BTab`, `C-c`, `q`…), one call each, so
    /// that an Escape is never read together with the next key as Alt+key.
    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            let out = self.run(&["send-keys", "-t", PANE, key]);
            assert!(out.status.success(), "tmux send-keys {key} failed");
            if *key == "Escape" {
                std::thread::sleep(Duration::from_millis(60));
            }
        }
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", PANE, "-l", text]);
        assert!(out.status.success(), "tmux send-keys -l {text} failed");
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", PANE]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's text with its colours and styles as escape sequences.
    pub fn screen_with_styles(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-e", "-t", PANE]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format (`#{pane_title}`, `#{alternate_on}`) of the pane.
    pub fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", PANE, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Polls the screen until `ready` holds; panics with the last screen after [`WAIT`].
    pub fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out after {WAIT:?} waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// The `EXIT=<status>` line the wrapper writes when the binary ends.
    pub fn wait_exit(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.exit_file) {
                if text.ends_with('\n') {
                    return text.trim().to_owned();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "pkgdeck did not exit within {WAIT:?}; the screen was:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Packages → (filter) com.acme.helpdesk → its versions, newest first (1.1.1 selected).
    pub fn open_helpdesk_versions(&self) {
        self.wait_for("com.acme.crm");
        self.keys(&["/"]);
        self.type_text("helpdesk");
        self.wait_for("/helpdesk█");
        self.keys(&["Enter", "Enter"]);
        self.wait_until("the versions of com.acme.helpdesk", |s| {
            s.contains("Versions of com.acme.helpdesk") && s.contains("1.0.0")
        });
    }

    /// Opens a second window running `sh -c SCRIPT`; returns its target for [`Tmux::display_in`].
    pub fn window(&self, script: &str) -> String {
        let out = self.run(&[
            "new-window",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "sh",
            "-c",
            script,
        ]);
        assert!(out.status.success(), "tmux new-window failed");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn display_in(&self, target: &str, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", target, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
