//! The commands about what the ObjectStack server does with the registry (spec 8): `doctor`
//! (the boot replayed) and `promote`, and the lines every write prints about the boot change.

use serde::Serialize;

use super::{emit_human, printable, table, write_json, Column, Failure, Outcome, CELL};
use crate::config;
use crate::registry::boot::{BootLoad, Outcome as StepOutcome};
use crate::registry::{Allow, BootChange, Registry};

/// A loaded package as `id version` (a value that is not a string shows as JSON).
fn load_text(load: &BootLoad) -> String {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    format!("{} {}", text(&load.id), text(&load.version))
}

fn value_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// What a write changed in the server's boot, one line each, for human output.
pub(super) fn boot_change_text(change: &BootChange) -> String {
    let mut lines = Vec::new();
    for c in &change.changed {
        lines.push(format!(
            "the ObjectStack server now loads {} {} instead of {}",
            value_text(&c.id),
            value_text(&c.to),
            value_text(&c.from)
        ));
    }
    for load in change.gained() {
        lines.push(format!(
            "the ObjectStack server now loads {}",
            load_text(load)
        ));
    }
    for id in &change.lost {
        lines.push(format!(
            "the ObjectStack server no longer loads {}",
            value_text(id)
        ));
    }
    if lines.is_empty() {
        lines.push(format!(
            "the ObjectStack server loads the same {} package(s) as before",
            change.after.len()
        ));
    }
    let mut text = String::new();
    for line in lines {
        text.push_str(&printable(&line));
        text.push('\n');
    }
    text
}

pub(super) fn doctor(
    registry: &Registry,
    json: bool,
    runtime_protocol: Option<String>,
    code_packages: &[String],
) -> Outcome {
    let mut settings = registry.boot_settings().clone();
    if let Some(protocol) = runtime_protocol {
        settings.runtime_protocol = protocol;
    }
    for text in code_packages {
        let package = config::code_package(text);
        if package.id.is_empty() {
            return Err(Failure::new(
                2,
                format!("--code-package {text:?} names no package id (use ID or ID:NAMESPACE)"),
            ));
        }
        settings.code_packages.retain(|c| c.id != package.id);
        settings.code_packages.push(package);
    }
    let report = registry.doctor(&settings)?;
    let ok = report.ok();
    if json {
        write_json(&report)?;
        // Written: freeing it is no reason to wait.
        crate::registry::server::drop_later(report);
        return Ok(i32::from(!ok));
    }
    let boot = &report.boot;
    let stale = report.not_at_latest();
    let mut text = format!(
        "The ObjectStack server (protocol {}) booting from {}: list() returns {} row(s); {} of \
         {} package(s) load, {} not at its latest version\n",
        boot.runtime_protocol,
        registry.target(),
        boot.steps.len(),
        boot.loads.len(),
        report.latest.len(),
        stale
    );
    if let Some(failed) = &boot.list_failed {
        text.push_str(&format!("NOTHING LOADS: {} (R1)\n", failed.message));
    } else if boot.loads.is_empty() && !boot.steps.is_empty() {
        text.push_str("NOTHING LOADS\n");
    }
    if let Some(abort) = &boot.aborted {
        text.push_str(&format!(
            "BOOT ABORTS at row {} {} ({}): no later row loads\n",
            abort.row_id,
            abort.row_version,
            abort.rule.name()
        ));
    }
    let rows = boot
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.row_id.clone(),
                s.row_version.clone(),
                s.outcome.name().to_uppercase(),
                s.rule.name().to_string(),
                s.message.clone(),
            ]
        })
        .collect();
    // The reason is never cut: it is what the operator came for.
    text.push_str(&table(
        &[
            Column("#", CELL),
            Column("ROW", CELL),
            Column("VERSION", CELL),
            Column("OUTCOME", CELL),
            Column("RULE", CELL),
            Column("WHY", usize::MAX),
        ],
        rows,
    ));
    for d in &report.served_differs {
        let why = match &d.served {
            Some(v) => crate::registry::Served::Tie { version: v.clone() },
            None => crate::registry::Served::Unreadable {
                version: "the row it reads".into(),
            },
        };
        if let Some(line) = why.explain(&d.id, &d.latest) {
            text.push_str(&printable(&line));
            text.push('\n');
        }
    }
    // A registry can hold thousands of them: the first few, then how many more.
    const SHOWN: usize = 20;
    for w in report.schema_warnings.iter().take(SHOWN) {
        let mut problems = w.problems.join("; ");
        if w.more {
            problems.push_str("; …");
        }
        text.push_str(&printable(&format!(
            "warning: {} {} breaks the ObjectStack schemas (the server loads it anyway): {problems}",
            w.id, w.version
        )));
        text.push('\n');
    }
    if report.schema_warnings.len() > SHOWN {
        text.push_str(&format!(
            "warning: … and {} more latest rows break the ObjectStack schemas (`doctor --json` \
             lists them all)\n",
            report.schema_warnings.len() - SHOWN
        ));
    }
    let problems = boot
        .steps
        .iter()
        .filter(|s| !matches!(s.outcome, StepOutcome::Loads | StepOutcome::Warns))
        .count();
    text.push_str(&if ok {
        "ok: every package loads at its latest version\n".to_string()
    } else {
        format!(
            "not ok: {problems} row(s) do not load; {stale} package(s) are not loaded at their \
             latest version\n"
        )
    });
    emit_human(&text)?;
    Ok(i32::from(!ok))
}

#[derive(Serialize)]
struct PromoteJson<'a> {
    id: &'a str,
    version: &'a str,
    hash: &'a str,
    previous_created_at: Option<&'a str>,
    created_at: Option<&'a str>,
    trash_file: Option<String>,
    boot: &'a BootChange,
}

pub(super) fn promote(
    registry: &Registry,
    id: &str,
    version: &str,
    allow: Allow,
    json: bool,
) -> Outcome {
    let outcome = registry.promote(id, version, allow)?;
    if json {
        write_json(&PromoteJson {
            id: &outcome.id,
            version: &outcome.version,
            hash: &outcome.hash,
            previous_created_at: outcome.previous_created_at.as_deref(),
            created_at: outcome.created_at.as_deref(),
            trash_file: outcome.trash_file.as_ref().map(|p| p.display().to_string()),
            boot: &outcome.boot,
        })?;
        return Ok(0);
    }
    let mut text = format!(
        "promoted {} {}: created_at {} → {} (old row saved to {})\n",
        printable(&outcome.id),
        printable(&outcome.version),
        outcome.previous_created_at.as_deref().unwrap_or("-"),
        outcome.created_at.as_deref().unwrap_or("-"),
        outcome
            .trash_file
            .as_ref()
            .map_or_else(|| "the trash".to_string(), |p| p.display().to_string())
    );
    text.push_str(&boot_change_text(&outcome.boot));
    emit_human(&text)?;
    Ok(0)
}
