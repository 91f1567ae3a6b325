//! `pkgdeck trash` and `pkgdeck restore`: the trash files and putting their rows back exactly
//! once the file checks out (spec 6).

use std::path::Path;

use serde::Serialize;

use super::{emit_human, print_listing, server, Column, Outcome, CELL, NEVER_CUT};
use crate::registry::trash::{Trash, TrashEntry};
use crate::registry::{Allow, Registry};

pub(super) fn restore(registry: &Registry, file: &Path, force: bool, allow: Allow) -> Outcome {
    let report = {
        let _writing = crate::interrupt::writing();
        if force {
            registry.restore_forced(file, allow)?
        } else {
            registry.restore(file, allow)?
        }
    };
    let mut text = String::new();
    for r in &report.restored {
        text.push_str(&format!("restored {} {}\n", r.id, r.version));
    }
    if report.restored.is_empty() {
        text.push_str("every row of the file is already in the registry; nothing written\n");
    } else {
        text.push_str(&server::boot_change_text(&report.boot));
    }
    emit_human(&text)?;
    Ok(0)
}

#[derive(Serialize)]
struct TrashRowJson<'a> {
    id: &'a str,
    version: &'a str,
    hash: &'a str,
}

#[derive(Serialize)]
struct TrashJson<'a> {
    file: String,
    saved_at: &'a str,
    state: &'a str,
    action: &'a str,
    target: &'a str,
    rows: Vec<TrashRowJson<'a>>,
}

/// `trash`: every trash file, newest first, without opening the registry.
pub(super) fn trash(trash: &Trash, json: bool) -> Outcome {
    let entries = trash.entries();
    print_listing(
        &entries,
        json,
        |e: &TrashEntry| TrashJson {
            file: e.path.display().to_string(),
            saved_at: &e.file.saved_at,
            state: e.file.state.label(),
            action: &e.file.action,
            target: &e.file.target,
            rows: e
                .file
                .rows
                .iter()
                .map(|r| TrashRowJson {
                    id: &r.id,
                    version: &r.version,
                    hash: &r.hash,
                })
                .collect(),
        },
        &[
            Column("SAVED", CELL),
            Column("ACTION", CELL),
            Column("STATE", CELL),
            Column("ROWS", CELL),
            Column("PACKAGE VERSIONS", CELL),
            Column("FROM", CELL),
            Column("FILE", NEVER_CUT),
        ],
        |e| {
            let versions: Vec<String> = e
                .file
                .rows
                .iter()
                .map(|r| format!("{} {}", r.id, r.version))
                .collect();
            vec![
                e.file.saved_at.clone(),
                e.file.action.clone(),
                e.file.state.label().to_owned(),
                e.file.rows.len().to_string(),
                versions.join(", "),
                e.file.target.clone(),
                e.path.display().to_string(),
            ]
        },
    )?;
    Ok(0)
}
