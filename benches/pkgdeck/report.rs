//! The table a run prints and writes: rows with their budgets and verdicts, notes, the machine
//! description, the markdown of `latest.md`, and the README's benchmark section, which is
//! replaced from it between two markers (`run --readme`, or the `readme` command).

use std::process::Command;

use crate::timing::side_by_side_timer;

#[derive(Debug, Clone, Copy, PartialEq)]
/// A row's verdict: a budget met or missed, a number for reference, or not measured.
pub enum Status {
    Pass,
    Fail,
    Info,
    NotMeasured,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Info => "info",
            Status::NotMeasured => "TODO",
        }
    }
}

/// One line of the table: what was measured, the measurement, its budget or reference, the
/// ratio to the budget and the verdict.
pub struct Row {
    pub what: String,
    pub measured: String,
    pub budget: String,
    pub ratio: String,
    pub status: Status,
}

impl Row {
    pub fn info(
        what: impl Into<String>,
        measured: impl Into<String>,
        reference: impl Into<String>,
    ) -> Row {
        Row {
            what: what.into(),
            measured: measured.into(),
            budget: reference.into(),
            ratio: String::new(),
            status: Status::Info,
        }
    }
    pub fn todo(what: impl Into<String>, why: impl Into<String>, budget: impl Into<String>) -> Row {
        Row {
            what: what.into(),
            measured: why.into(),
            budget: budget.into(),
            ratio: String::new(),
            status: Status::NotMeasured,
        }
    }
    /// `value` against an upper bound `limit` (same unit); `ratio` = value / limit.
    pub fn at_most(
        what: impl Into<String>,
        measured: impl Into<String>,
        budget: impl Into<String>,
        value: f64,
        limit: f64,
    ) -> Row {
        let ratio = value / limit;
        Row {
            what: what.into(),
            measured: measured.into(),
            budget: budget.into(),
            ratio: format!("{ratio:.2}"),
            status: if value <= limit {
                Status::Pass
            } else {
                Status::Fail
            },
        }
    }
}

/// The rows of a run, in the order measured, and the notes printed under them.
pub struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    pub fn new() -> Table {
        Table {
            rows: vec![],
            notes: vec![],
        }
    }
    /// How many rows have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
    pub fn push(&mut self, row: Row) {
        eprintln!(
            "  {:<44} {:<40} {:<24} {:>6} {}",
            row.what,
            row.measured,
            row.budget,
            row.ratio,
            row.status.word()
        );
        self.rows.push(row);
    }
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("  note: {note}");
        self.notes.push(note);
    }
    pub fn markdown(&self) -> String {
        let mut t = String::from(
            "| measurement | measured | budget | ratio | status |\n|---|---|---|---:|---|\n",
        );
        // A '|' inside a cell would end the cell.
        let cell = |c: &str| c.replace('|', "\\|");
        for r in &self.rows {
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&r.what),
                cell(&r.measured),
                cell(&r.budget),
                r.ratio,
                r.status.word()
            ));
        }
        t
    }
    pub fn plain(&self) -> String {
        let w = |f: &dyn Fn(&Row) -> &str, h: &str| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .max()
                .unwrap_or(0)
                .max(h.len())
        };
        let (a, b, c, d) = (
            w(&|r| &r.what, "measurement"),
            w(&|r| &r.measured, "measured"),
            w(&|r| &r.budget, "budget"),
            w(&|r| &r.ratio, "ratio"),
        );
        let line = |x: &str, y: &str, z: &str, q: &str, st: &str| {
            format!("{x:<a$}  {y:<b$}  {z:<c$}  {q:>d$}  {st}\n")
        };
        let mut t = line("measurement", "measured", "budget", "ratio", "status");
        t.push_str(&format!("{}\n", "-".repeat(a + b + c + d + 16)));
        for r in &self.rows {
            t.push_str(&line(
                &r.what,
                &r.measured,
                &r.budget,
                &r.ratio,
                r.status.word(),
            ));
        }
        t
    }
}

/// The machine and the build the numbers were taken on, one line each.
pub fn machine_description() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let sha_ni = if flags.split_whitespace().any(|f| f == "sha_ni") {
        "yes"
    } else {
        "no"
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    vec![
        format!("date: {date}"),
        format!("nproc: {nproc}"),
        format!("cpu: {model} (sha_ni: {sha_ni})"),
        format!("memory: {:.1} GiB", mem_kb as f64 / 1024.0 / 1024.0),
        format!("bundled SQLite (rusqlite): {}", rusqlite::version()),
        format!(
            "commit: {commit}{}",
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        ),
        format!("side-by-side timer: {}", side_by_side_timer()),
    ]
}

/// The README's benchmark section is what lies between these two lines.
pub const README_BEGIN: &str = "<!-- benchmark:begin (written by scripts/bench --readme) -->";
pub const README_END: &str = "<!-- benchmark:end -->";

/// The part of `latest.md` the README shows: the machine, the table and the notes.
pub fn results_markdown(machine: &[String], reps: usize, table: &Table) -> String {
    let mut md = String::new();
    for m in machine {
        md.push_str(&format!("- {m}\n"));
    }
    md.push_str(&format!("- repetitions: {reps} (median shown)\n\n"));
    md.push_str(&table.markdown());
    md.push_str("\nNotes:\n\n");
    for n in &table.notes {
        md.push_str(&format!("- {n}\n"));
    }
    md
}

/// `latest.md`: [`results_markdown`] under a title, then the list statements the list floors
/// run (captured from pkgdeck).
pub fn latest_markdown(results: &str, list_statements: &str) -> String {
    format!(
        "# pkgdeck benchmark (spec section 7)\n\n{results}\nThe list statements pkgdeck runs (and the list floors run):\n\n```sql\n{list_statements}\n```\n"
    )
}

/// `readme` with the text between [`README_BEGIN`] and [`README_END`] replaced by `results`.
pub fn replace_readme_section(readme: &str, results: &str) -> Result<String, String> {
    let begin = readme
        .find(README_BEGIN)
        .ok_or(format!("README.md has no line {README_BEGIN}"))?;
    let after_begin = begin + README_BEGIN.len();
    let end = readme[after_begin..]
        .find(README_END)
        .map(|i| after_begin + i)
        .ok_or(format!(
            "README.md has no line {README_END} after {README_BEGIN}"
        ))?;
    Ok(format!(
        "{}\n\n{}\n{}",
        &readme[..after_begin],
        results.trim_end(),
        &readme[end..]
    ))
}

/// Writes `results` into the README at `path` between the markers.
pub fn update_readme(path: &std::path::Path, results: &str) -> Result<(), String> {
    let readme = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let updated = replace_readme_section(&readme, results)?;
    std::fs::write(path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
