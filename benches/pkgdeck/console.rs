//! The console's budgets, through the library's public console ([`pkgdeck::tui::Console`])
//! drawing into an off-screen buffer: the first frame on the largest registry against the
//! first frame on the smallest (it must not grow with the registry), the peak memory of a
//! console process that has loaded the largest registry (a `console-probe` command of this
//! executable, so that nothing else the benchmark holds is counted), and a filter keystroke
//! over the largest list.

use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pkgdeck::registry::Registry;
use pkgdeck::tui::Console;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::command::Cmd;
use crate::report::{Row, Table};
use crate::sample::{open_read_only, open_sqlite, scratch_dir};
use crate::timing::{fmt_ms, time_fn, Stats};
use crate::Opts;

/// Filters typed in the keystroke measurement: one character (matches nearly every row, the
/// widest refilter), a vendor, a full id, and one that matches nothing.
const CONSOLE_FILTERS: [&str; 4] = ["a", "acme", "com.acme.helpdesk", "zzzz"];

/// The console's terminal size in the measurement: the off-screen buffer it draws into.
const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;

/// How long the registry may take to answer before the measurement gives up.
const LOAD_LIMIT: Duration = Duration::from_secs(300);

fn terminal() -> Result<Terminal<TestBackend>, String> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).map_err(|e| e.to_string())
}

/// Opens the console on `registry` and draws the first frame with rows; returns the console
/// (still loading the rest) and the time to that frame.
fn first_frame(
    registry: Registry,
    terminal: &mut Terminal<TestBackend>,
) -> Result<(Console, Duration), String> {
    let started = Instant::now();
    let mut console = Console::open(registry).map_err(|e| e.to_string())?;
    console.app.resize(WIDTH, HEIGHT);
    console
        .wait_for_first_page(LOAD_LIMIT)
        .map_err(|e| e.to_string())?;
    terminal
        .draw(|f| console.draw(f))
        .map_err(|e| e.to_string())?;
    Ok((console, started.elapsed()))
}

/// Types `/` and `filter` into a settled console and returns the time of the last keystroke
/// with its redraw; `Esc` clears the filter afterwards.
fn keystroke(
    console: &mut Console,
    terminal: &mut Terminal<TestBackend>,
    filter: &str,
) -> Result<Duration, String> {
    let press = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    console.key(press('/'));
    let mut chars: Vec<char> = filter.chars().collect();
    let last = chars.pop().unwrap_or('a');
    for c in chars {
        console.key(press(c));
    }
    terminal
        .draw(|f| console.draw(f))
        .map_err(|e| e.to_string())?;
    let typed = Instant::now();
    console.key(press(last));
    terminal
        .draw(|f| console.draw(f))
        .map_err(|e| e.to_string())?;
    let took = typed.elapsed();
    console.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    Ok(took)
}

/// What the self-check runs: the first frame, the whole list, one filter keystroke.
pub fn first_frame_and_filter(
    registry: Registry,
    filter: &str,
) -> Result<(Duration, Duration), String> {
    let mut terminal = terminal()?;
    let (mut console, first) = first_frame(registry, &mut terminal)?;
    console.settle(LOAD_LIMIT).map_err(|e| e.to_string())?;
    let key = keystroke(&mut console, &mut terminal, filter)?;
    Ok((first, key))
}

/// The first frame on `db`, `reps` times after a warm-up, alternating with `other` so that a
/// busy machine slows both alike. Each console is left to load the whole list (not timed)
/// before it is dropped, so that no loading thread runs into the next measurement.
fn first_frames(
    small: &Path,
    large: &Path,
    state: &Path,
    reps: usize,
) -> Result<(Stats, Stats), String> {
    let mut terminal = terminal()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..=reps {
        for (db, samples) in [(small, &mut a), (large, &mut b)] {
            let reg = open_sqlite(db, true, state)?;
            let (mut console, took) = first_frame(reg, &mut terminal)?;
            console.settle(LOAD_LIMIT).map_err(|e| e.to_string())?;
            if i > 0 {
                samples.push(took.as_secs_f64());
            }
        }
    }
    Ok((Stats::of(a), Stats::of(b)))
}

/// What an exact newest-first first page cannot go below on `db`, no index leading with
/// `created_at` being allowed (spec 1): every `created_at` of `idx_packages_latest` looked at
/// once (a covering scan comparing each with a date none reaches, so nothing is grouped or
/// returned), by two threads over the two halves of the ids, each on a connection of its
/// own opened inside the time, as the console opens its registry.
fn newest_dates(db: &Path, reps: usize) -> Result<Stats, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mid: String = open_read_only(db)?
        .query_row(
            "SELECT id FROM sys_packages ORDER BY id \
             LIMIT 1 OFFSET (SELECT count(*) / 2 FROM sys_packages)",
            [],
            |r| r.get(0),
        )
        .map_err(e)?;
    let half = |sql: &str| -> Result<u64, String> {
        let conn = open_read_only(db)?;
        let mut stmt = conn.prepare(sql).map_err(e)?;
        let mut rows = stmt.query([&mid]).map_err(e)?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(e)? {
            n += row.get::<_, u64>(0).map_err(e)?;
        }
        Ok(n)
    };
    const LOOK: &str = "SELECT count(*) FROM sys_packages";
    const NONE: &str = "created_at > '9'";
    time_fn(reps, |_| {
        std::thread::scope(|scope| {
            let other = scope.spawn(|| half(&format!("{LOOK} WHERE id >= ?1 AND {NONE}")));
            let mine = half(&format!("{LOOK} WHERE id < ?1 AND {NONE}"))?;
            let other = other.join().map_err(|_| "a floor thread panicked")??;
            Ok(mine + other)
        })
    })
}

/// The slowest filter's median keystroke on `db`, and that filter: one console per
/// repetition, every filter typed into it.
fn keystrokes(db: &Path, state: &Path, reps: usize) -> Result<(Stats, &'static str), String> {
    let mut terminal = terminal()?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); CONSOLE_FILTERS.len()];
    for i in 0..=reps {
        let reg = open_sqlite(db, true, state)?;
        let (mut console, _) = first_frame(reg, &mut terminal)?;
        console.settle(LOAD_LIMIT).map_err(|e| e.to_string())?;
        for (k, filter) in CONSOLE_FILTERS.iter().enumerate() {
            let took = keystroke(&mut console, &mut terminal, filter)?;
            if i > 0 {
                samples[k].push(took.as_secs_f64());
            }
        }
    }
    let mut worst: Option<(Stats, &'static str)> = None;
    for (k, s) in samples.into_iter().enumerate() {
        let stats = Stats::of(s);
        if worst.as_ref().is_none_or(|(w, _)| stats.median > w.median) {
            worst = Some((stats, CONSOLE_FILTERS[k]));
        }
    }
    worst.ok_or("no console filter was timed".into())
}

/// Peak resident memory (kB) of this process so far, from /proc/self/status.
fn peak_rss_kb() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `console-probe DB`: opens the console on `DB` in this fresh process, draws the first frame,
/// lets it load the whole list, draws again, and prints `PEAK_RSS_KB FIRST_FRAME_MS`.
pub fn cmd_console_probe(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &[])?;
    let db = o.path("DB")?;
    let state = scratch_dir("console-probe")?;
    let mut terminal = terminal()?;
    let (mut console, first) = first_frame(open_sqlite(&db, true, state.path())?, &mut terminal)?;
    console.settle(LOAD_LIMIT).map_err(|e| e.to_string())?;
    terminal
        .draw(|f| console.draw(f))
        .map_err(|e| e.to_string())?;
    let peak = peak_rss_kb().ok_or("cannot read VmHWM from /proc/self/status")?;
    println!("{peak} {:.3}", first.as_secs_f64() * 1e3);
    Ok(())
}

/// The console rows: first frame at `large` against `small`, the peak memory of a console on
/// `large`, and the slowest filter keystroke on `large`.
pub fn console(
    small: (&Path, &str),
    large: (&Path, &str),
    packages: usize,
    state: &Path,
    reps: usize,
    table: &mut Table,
) -> Result<(), String> {
    eprintln!("console: first frames ({} against {}) …", large.1, small.1);
    let (at_small, at_large) = first_frames(small.0, large.0, state, reps)?;
    let mut row = Row::at_most(
        format!("console first frame at {}", large.1),
        at_large.ms(),
        format!("≤ 1.25 × at {} ({})", small.1, fmt_ms(at_small.median)),
        at_large.median,
        1.25 * at_small.median,
    );
    row.ratio = format!("{:.2}×", at_large.median / at_small.median);
    table.push(row);
    table.push(Row::info(
        format!("console first frame at {}", small.1),
        at_small.ms(),
        "(the reference)",
    ));
    eprintln!("console: the newest date of every package at {} …", large.1);
    let floor = newest_dates(large.0, reps)?;
    let mut row = Row::info(
        format!(
            "floor of the first frame: SQLite alone looks at every created_at of idx_packages_latest once, two threads over two halves of the ids ({})",
            large.1
        ),
        floor.ms(),
        format!("(against the first frame at {})", small.1),
    );
    row.ratio = format!("{:.2}×", floor.median / at_small.median);
    table.push(row);

    eprintln!("console: peak memory of a console on {} …", large.1);
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let probe = Cmd::new([
        me.display().to_string(),
        "console-probe".into(),
        large.0.display().to_string(),
    ])
    .output(&[0])?;
    let text = String::from_utf8_lossy(&probe);
    let kb: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or(format!("console-probe printed {text:?}"))?;
    table.push(Row::at_most(
        format!("console peak RSS at {} (whole list loaded)", large.1),
        format!("{:.1} MB", kb as f64 / 1024.0),
        "≤ 64 MB",
        kb as f64,
        64.0 * 1024.0,
    ));

    eprintln!("console: filter keystrokes on {} …", large.1);
    let (stats, worst) = keystrokes(large.0, state, reps.min(5))?;
    table.push(Row::at_most(
        format!(
            "console filter keystroke at {packages} packages (worst of {CONSOLE_FILTERS:?}: {worst:?})"
        ),
        stats.ms(),
        "< 16 ms",
        stats.median,
        0.016,
    ));
    Ok(())
}

/// `console SMALL LARGE`: the console rows alone, printed.
pub fn cmd_console(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let (Some(small), Some(large)) = (o.positional.first(), o.positional.get(1)) else {
        return Err("usage: console SMALL LARGE [--reps N]".into());
    };
    let state = scratch_dir("console")?;
    let mut table = Table::new();
    let packages = crate::sample::registry_counts(Path::new(large))?.0 as usize;
    console(
        (Path::new(small), small),
        (Path::new(large), large),
        packages,
        state.path(),
        o.num("reps", 5)?,
        &mut table,
    )?;
    print!("{}", table.plain());
    Ok(())
}
