//! The console's budgets: the first frame with rows, and a filter keystroke over the whole
//! list, timed through the library's public console ([`pkgdeck::tui::Console`]) drawing into an
//! off-screen buffer.

use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pkgdeck::registry::Registry;
use pkgdeck::tui::Console;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::report::{Row, Table};
use crate::sample::{open_sqlite, scratch_dir, size_label};
use crate::timing::Stats;
use crate::Opts;

/// Filters typed in the console benchmark: one character (matches nearly every row, the
/// widest refilter), a vendor, a full id, and one that matches nothing.
const CONSOLE_FILTERS: [&str; 4] = ["a", "acme", "com.acme.helpdesk", "zzzz"];

/// The console's terminal size in the measurement: the off-screen buffer it draws into.
const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;

/// How long the registry may take to answer before the measurement gives up.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

/// Opens the console on `registry`, draws the first frame with rows, waits for the whole list,
/// then types `filter` after `/` and measures its last keystroke with the redraw. Returns
/// (first frame, keystroke).
pub fn first_frame_and_filter(
    registry: Registry,
    filter: &str,
) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let mut console = Console::open(registry).map_err(|e| e.to_string())?;
    console.app.resize(WIDTH, HEIGHT);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).map_err(|e| e.to_string())?;
    console
        .wait_for_first_page(LOAD_LIMIT)
        .map_err(|e| e.to_string())?;
    terminal
        .draw(|f| console.draw(f))
        .map_err(|e| e.to_string())?;
    let first_frame = started.elapsed();
    console.settle(LOAD_LIMIT).map_err(|e| e.to_string())?;

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
    Ok((first_frame, typed.elapsed()))
}

struct ConsoleTimes {
    first_frame: Stats,
    /// The slowest filter's median keystroke, and that filter.
    keystroke: Stats,
    worst_filter: &'static str,
}

/// Opens the console on `db` (read-only) `reps` times per filter, after a warm-up.
fn console_times(db: &Path, state: &Path, reps: usize) -> Result<ConsoleTimes, String> {
    let mut first = Vec::new();
    let mut worst: Option<(Stats, &'static str)> = None;
    for filter in CONSOLE_FILTERS {
        let mut keys = Vec::new();
        for _ in 0..=reps {
            let reg = open_sqlite(db, true, state)?;
            let (f, k) = first_frame_and_filter(reg, filter)?;
            first.push(f.as_secs_f64());
            keys.push(k.as_secs_f64());
        }
        keys.remove(0); // warm-up
        let stats = Stats::of(keys);
        if worst.as_ref().is_none_or(|(w, _)| stats.median > w.median) {
            worst = Some((stats, filter));
        }
    }
    first.remove(0); // warm-up
    let (keystroke, worst_filter) = worst.ok_or("no console filter was timed")?;
    Ok(ConsoleTimes {
        first_frame: Stats::of(first),
        keystroke,
        worst_filter,
    })
}

/// The console rows: first frame and the slowest filter keystroke, against their budgets.
pub fn console(db: &Path, state: &Path, reps: usize, table: &mut Table) -> Result<(), String> {
    eprintln!("console: timing the first frame and filter keystrokes …");
    let t = console_times(db, state, reps)?;
    table.push(Row::at_most(
        format!("console first frame ({})", size_label(db)?),
        t.first_frame.ms(),
        "< 150 ms",
        t.first_frame.median,
        0.150,
    ));
    table.push(Row::at_most(
        format!(
            "console filter keystroke ({}; worst of {:?}: {:?})",
            size_label(db)?,
            CONSOLE_FILTERS,
            t.worst_filter
        ),
        t.keystroke.ms(),
        "< 16 ms",
        t.keystroke.median,
        0.016,
    ));
    Ok(())
}

/// `console PATH`: the console timings alone, printed.
pub fn cmd_console(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let db = o.path("PATH")?;
    let state = scratch_dir("console")?;
    let t = console_times(&db, state.path(), o.num("reps", 5)?)?;
    println!("first frame  {}", t.first_frame.ms());
    println!(
        "keystroke    {} (slowest filter {:?})",
        t.keystroke.ms(),
        t.worst_filter
    );
    Ok(())
}
