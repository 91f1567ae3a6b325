//! Timing hooks for the console's performance budget (spec section 7): first frame under
//! 150 ms, a filter keystroke over 20,000 rows under 16 ms. The benchmark calls these on a
//! generated registry; they draw into an off-screen 160×50 buffer.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::screens::Screen;
use super::Console;
use crate::registry::Registry;

/// How long the registry may take to answer before the measurement gives up.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

/// Loads the package list and draws the first frame with rows, waits for the whole list, then types `filter` after `/` and
/// measures its last keystroke with the redraw. Returns (first frame, keystroke).
pub fn first_frame_and_filter(
    registry: Registry,
    filter: &str,
) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let mut console = Console::open(registry).map_err(|e| e.to_string())?;
    console.app.resize(160, 50);
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).map_err(|e| e.to_string())?;
    console
        .wait_until(LOAD_LIMIT, |app| match app.screens().first() {
            // The first page is enough for the first frame; a remote list keeps arriving.
            Some(Screen::Packages(p)) => !p.loading() || !p.is_empty(),
            _ => false,
        })
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
