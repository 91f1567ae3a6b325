//! Timing: median/min/max statistics, whole commands side by side (hyperfine when installed,
//! else alternating runs here), peak memory through GNU time, and closures in process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::command::{which, Cmd};
use crate::Opts;

#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// From samples in seconds.
    pub fn of(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(|a, b| a.total_cmp(b));
        let k = samples.len();
        let median = if k % 2 == 1 {
            samples[k / 2]
        } else {
            (samples[k / 2 - 1] + samples[k / 2]) / 2.0
        };
        Stats {
            median,
            min: samples[0],
            max: samples[k - 1],
            runs: k,
        }
    }
    pub fn ms(&self) -> String {
        format!(
            "{} (min {}, max {}, n={})",
            fmt_ms(self.median),
            fmt_ms(self.min),
            fmt_ms(self.max),
            self.runs
        )
    }
}

pub fn fmt_ms(seconds: f64) -> String {
    let ms = seconds * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

/// CPU seconds (user + system) used so far by this process's waited-for children, from
/// `/proc/self/stat` (cutime + cstime, in clock ticks).
fn children_cpu() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 3, cutime 16 and cstime 17 (1-based).
    (field(13) + field(14)) / ticks
}

/// Wall-clock statistics of a command and its mean CPU time (user + system) per run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub wall: Stats,
    pub cpu: f64,
}

impl Timing {
    pub fn shown(&self) -> String {
        format!("{}, cpu {}", self.wall.ms(), fmt_ms(self.cpu))
    }
}

fn use_hyperfine() -> Option<PathBuf> {
    let wanted = std::env::var("PKGDECK_BENCH_HYPERFINE").map_or(true, |v| v != "0");
    wanted.then(|| which("hyperfine")).flatten()
}

pub fn side_by_side_timer() -> String {
    match use_hyperfine() {
        Some(hf) => Command::new(&hf)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|_| "hyperfine".into()),
        None => "the bench harness (alternating runs; cpu from /proc/self/stat)".into(),
    }
}

/// Times `a` and `b` side by side, `reps` runs each after one warm-up run of each: through
/// hyperfine when it is installed (unless `PKGDECK_BENCH_HYPERFINE=0`), else here, alternating
/// the two commands so that a busy machine slows both alike.
pub fn time_pair(
    a: &Cmd,
    b: &Cmd,
    reps: usize,
    scratch: &Path,
) -> Result<(Timing, Timing), String> {
    if let Some(hf) = use_hyperfine() {
        let both = hyperfine(&hf, &[a, b], reps, scratch)?;
        return Ok((both[0], both[1]));
    }
    a.timed(&a.ok)?;
    b.timed(&b.ok)?;
    let (mut wall_a, mut wall_b, mut cpu_a, mut cpu_b) = (vec![], vec![], 0.0, 0.0);
    for i in 0..reps {
        let order: [(&Cmd, bool); 2] = if i % 2 == 0 {
            [(a, true), (b, false)]
        } else {
            [(b, false), (a, true)]
        };
        for (cmd, is_a) in order {
            let before = children_cpu();
            let t = cmd.timed(&cmd.ok)?;
            let cpu = children_cpu() - before;
            if is_a {
                wall_a.push(t);
                cpu_a += cpu;
            } else {
                wall_b.push(t);
                cpu_b += cpu;
            }
        }
    }
    Ok((
        Timing {
            wall: Stats::of(wall_a),
            cpu: cpu_a / reps as f64,
        },
        Timing {
            wall: Stats::of(wall_b),
            cpu: cpu_b / reps as f64,
        },
    ))
}

/// Times several commands with hyperfine (one warm-up run each); their environments are
/// merged onto hyperfine's own, so the commands must not disagree about them.
fn hyperfine(hf: &Path, cmds: &[&Cmd], reps: usize, scratch: &Path) -> Result<Vec<Timing>, String> {
    let json = scratch.join("hyperfine.json");
    let mut c = Command::new(hf);
    if cmds.iter().any(|c| c.ok != [0]) {
        c.arg("--ignore-failure");
    }
    c.args(["--style", "none", "--warmup", "1", "--runs"])
        .arg(reps.to_string())
        .arg("--export-json")
        .arg(&json)
        .arg("--");
    for cmd in cmds {
        c.arg(cmd.shown());
        for (k, v) in &cmd.env {
            c.env(k, v);
        }
    }
    let status = c
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run hyperfine: {e}"))?;
    if !status.success() {
        return Err(format!(
            "hyperfine failed on {}",
            cmds.iter()
                .map(|c| c.shown())
                .collect::<Vec<_>>()
                .join(" / ")
        ));
    }
    let text = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    (0..cmds.len())
        .map(|i| {
            let r = &v["results"][i];
            let get = |k: &str| r[k].as_f64().ok_or(format!("hyperfine output without {k}"));
            Ok(Timing {
                wall: Stats {
                    median: get("median")?,
                    min: get("min")?,
                    max: get("max")?,
                    runs: r["times"].as_array().map_or(reps, Vec::len),
                },
                cpu: get("user")? + get("system")?,
            })
        })
        .collect()
}

/// Peak resident set size (kB) of one run of `cmd`, from `/usr/bin/time -f %M`.
pub fn peak_rss_kb(cmd: &Cmd, scratch: &Path) -> Result<Option<u64>, String> {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        return Ok(None);
    }
    let report = scratch.join("time.out");
    let mut argv = vec![
        time.display().to_string(),
        "-f".into(),
        "%M".into(),
        "-o".into(),
        report.display().to_string(),
    ];
    argv.extend(cmd.argv.iter().cloned());
    let mut wrapped = Cmd::new(argv);
    wrapped.env = cmd.env.clone();
    wrapped.timed(&[0])?;
    let text = std::fs::read_to_string(&report).map_err(|e| e.to_string())?;
    let kb = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or(format!("cannot read /usr/bin/time's report: {text}"))?;
    Ok(Some(kb))
}

/// Times `f` `reps` times (after one warm-up call) and returns the stats.
pub fn time_fn<T>(
    reps: usize,
    mut f: impl FnMut(usize) -> Result<T, String>,
) -> Result<Stats, String> {
    f(usize::MAX)?;
    let mut samples = Vec::with_capacity(reps);
    for i in 0..reps {
        let started = Instant::now();
        std::hint::black_box(f(i)?);
        samples.push(started.elapsed().as_secs_f64());
    }
    Ok(Stats::of(samples))
}

pub fn cmd_time(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    if o.rest.is_empty() {
        return Err("time: missing COMMAND after --".into());
    }
    let stats = timed_cmd_stats(&Cmd::new(o.rest.clone()), o.num("reps", 7)?)?;
    println!("{}", stats.ms());
    Ok(())
}

/// Statistics of the seconds `f` returns for calls 1 to `reps`; call 0 is a warm-up.
pub fn after_warm_up(
    reps: usize,
    mut f: impl FnMut(usize) -> Result<f64, String>,
) -> Result<Stats, String> {
    f(0)?;
    let samples = (1..=reps).map(&mut f).collect::<Result<Vec<_>, _>>()?;
    Ok(Stats::of(samples))
}

/// Wall time of `cmd`, `reps` runs after a warm-up.
pub fn timed_cmd_stats(cmd: &Cmd, reps: usize) -> Result<Stats, String> {
    after_warm_up(reps, |_| cmd.timed(&[0]))
}
