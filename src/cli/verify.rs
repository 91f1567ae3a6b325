//! `pkgdeck verify`: integrity of every row, a package or a version, streamed, with progress on
//! stderr when it is a terminal; `--schema` adds the ObjectStack schemas (spec 4 and 9).

use std::io::IsTerminal;

use serde::Serialize;

use super::{emit_human, write_json, Failure, Outcome};
use crate::registry::{self, Registry, Scope, VerifyOptions, VerifyProgress};
use crate::tui::count;
use crate::untrusted::printable;

#[derive(Serialize)]
struct Failed<'a> {
    id: &'a str,
    version: &'a str,
    problems: &'a [registry::Problem],
}

#[derive(Serialize)]
struct Warned<'a> {
    id: &'a str,
    version: &'a str,
    codes: &'a [registry::Warning],
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    checked: u64,
    ok: u64,
    failed: Vec<Failed<'a>>,
    warnings: Vec<Warned<'a>>,
}

pub(super) fn verify(
    registry: &Registry,
    id: Option<String>,
    version: Option<String>,
    options: VerifyOptions,
    json: bool,
) -> Outcome {
    let scope = match (id, version) {
        (None, _) => Scope::All,
        (Some(id), None) => Scope::Package(id),
        (Some(id), Some(v)) => Scope::Version(id, v),
    };
    let show_progress = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last_draw = started;
    let report = registry.verify_with(
        &scope,
        options,
        &mut |p: VerifyProgress| {
            if show_progress && last_draw.elapsed().as_millis() >= 100 {
                last_draw = std::time::Instant::now();
                let rate = p.checked as f64 / started.elapsed().as_secs_f64().max(1e-9);
                eprint!(
                    "\rverifying {}/{} rows, {} failed, {:.0} rows/s",
                    p.checked, p.total, p.failed, rate
                );
            }
            true
        },
        None,
    )?;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    if report.checked == 0 {
        if let Scope::Package(id) | Scope::Version(id, _) = &scope {
            let what = match &scope {
                Scope::Version(_, v) => format!("package {id} version {v}"),
                _ => format!("package {id}"),
            };
            return Err(Failure::new(
                1,
                format!("{what} was not found in {}", registry.target()),
            ));
        }
    }
    if json {
        write_json(&VerifyJson {
            checked: report.checked,
            ok: report.ok,
            failed: report
                .failed
                .iter()
                .map(|v| Failed {
                    id: &v.id,
                    version: &v.version,
                    problems: &v.problems,
                })
                .collect(),
            warnings: report
                .warnings
                .iter()
                .map(|v| Warned {
                    id: &v.id,
                    version: &v.version,
                    codes: &v.warnings,
                })
                .collect(),
        })?;
    } else {
        let mut text = String::new();
        for v in report
            .failed
            .iter()
            .chain(report.warnings.iter().filter(|v| v.ok()))
        {
            let label = if v.ok() { "WARN" } else { "FAIL" };
            for d in &v.details {
                // One line per problem: a line break inside a row's text is shown.
                text.push_str(&format!(
                    "{label} {} {}: {}\n",
                    printable(&v.id),
                    printable(&v.version),
                    printable(d)
                ));
            }
        }
        text.push_str(&format!(
            "checked {}: {} ok, {} failed, {} with warnings\n",
            count(report.checked, "row"),
            report.ok,
            report.failed.len(),
            report.warnings.len()
        ));
        emit_human(&text)?;
    }
    Ok(i32::from(!report.failed.is_empty()))
}
