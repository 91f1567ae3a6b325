//! Commands the benchmark runs: the program with its arguments and environment, run once for
//! its output or timed with its output discarded, and the `pkgdeck` binary under test.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// A command line to run: the program, its arguments, extra environment, and the exit codes
/// that mean it did its job when it is timed.
#[derive(Clone)]
pub struct Cmd {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub ok: Vec<i32>,
}

impl Cmd {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(argv: I) -> Cmd {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![],
            ok: vec![0],
        }
    }
    /// Exit codes other than 0 that a timed run may end with (`doctor` exits 1 when a
    /// package would not load, `compare` when the registries differ).
    pub fn exits(mut self, codes: &[i32]) -> Cmd {
        self.ok = codes.to_vec();
        self
    }
    pub fn shell(script: &str) -> Cmd {
        Cmd::new(["sh", "-c", script])
    }
    pub fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..]);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.stdin(Stdio::null());
        c
    }
    pub fn shown(&self) -> String {
        self.argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// Runs once, capturing stdout; fails unless the exit code is one of `ok_codes`.
    pub fn output(&self, ok_codes: &[i32]) -> Result<Vec<u8>, String> {
        let out = self
            .command()
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.shown()))?;
        self.exited_well(&out, ok_codes)?;
        Ok(out.stdout)
    }
    /// Runs once with stdout to /dev/null; returns the wall time.
    pub fn timed(&self, ok_codes: &[i32]) -> Result<f64, String> {
        let mut c = self.command();
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let started = Instant::now();
        let child = c
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.shown()))?;
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{}: {e}", self.shown()))?;
        let elapsed = started.elapsed().as_secs_f64();
        self.exited_well(&out, ok_codes)?;
        Ok(elapsed)
    }
    /// An exit code outside `ok_codes` as an error with the command and its stderr.
    fn exited_well(&self, out: &Output, ok_codes: &[i32]) -> Result<(), String> {
        let code = out.status.code().unwrap_or(-1);
        if ok_codes.contains(&code) {
            return Ok(());
        }
        Err(format!(
            "{} exited with {code}: {}",
            self.shown(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `a` as one word for sh: unchanged when it is safe, else in single quotes.
pub fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// `program` as found on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The `pkgdeck` binary that cargo built with this harness, same profile: the one under test
/// unless a run names another.
pub const PKGDECK: &str = env!("CARGO_BIN_EXE_pkgdeck");

/// The `pkgdeck` binary under test, with data and config dirs of its own under `home`, and
/// where a run writes (`out`) and how often it repeats each timing.
pub struct Env {
    pub pkgdeck: PathBuf,
    pub out: PathBuf,
    pub home: PathBuf,
    pub reps: usize,
}

impl Env {
    /// `binary` (else [`PKGDECK`]) writing under `out`, with a fresh `out/home`.
    pub fn for_binary(binary: Option<PathBuf>, out: PathBuf, reps: usize) -> Result<Env, String> {
        let pkgdeck = binary.unwrap_or_else(|| PathBuf::from(PKGDECK));
        if !pkgdeck.is_file() {
            return Err(format!(
                "{} is missing: build it first (cargo bench --bench pkgdeck --no-run)",
                pkgdeck.display()
            ));
        }
        let home = out.join("home");
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home)
            .map_err(|e| format!("cannot create {}: {e}", home.display()))?;
        Ok(Env {
            pkgdeck,
            out,
            home,
            reps,
        })
    }

    /// Whether the binary under test has `command` (its `--help` succeeds).
    pub fn has_command(&self, command: &str) -> bool {
        self.pkgdeck(&[command, "--help"]).output(&[0]).is_ok()
    }
    /// The pkgdeck binary with `args`, in its own data and config dirs.
    pub fn pkgdeck(&self, args: &[&str]) -> Cmd {
        let mut argv = vec![self.pkgdeck.display().to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        Cmd::new(argv)
            .env(
                "PKGDECK_DATA_DIR",
                &self.home.join("data").display().to_string(),
            )
            .env(
                "PKGDECK_CONFIG_DIR",
                &self.home.join("config").display().to_string(),
            )
    }
}
