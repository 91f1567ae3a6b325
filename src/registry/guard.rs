//! Guards on every write (spec 8.4). Before a publish, delete, restore, promote or copy, the
//! write is rehearsed on the target's own engine: the server's `list()`, the write, and
//! `list()` again, in one transaction that is rolled back (one round trip remotely). The boot is
//! replayed over both answers, and the write is refused when it would break what the
//! ObjectStack server loads, unless the operator allows it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value as Json;

use super::audit::Change;
use super::boot::{self, BootLoad, BootReport, Outcome, ParsedRow};
use super::server::{parse_rows, server_rows, ServerRow, SERVER_LIST_SQL};
use super::{Registry, RegistryError};
use crate::store::{Rows, Stmt, StoreError};

/// What the operator allows a write to do to the boot (`--allow-boot-change`,
/// `--allow-downgrade`, or the package id typed in the console).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    /// A package that loaded stops loading, or the written version would not load.
    pub boot_change: bool,
    /// The written package would load at a lower version than before.
    pub downgrade: bool,
}

impl Allow {
    pub const NOTHING: Allow = Allow {
        boot_change: false,
        downgrade: false,
    };
    pub const EVERYTHING: Allow = Allow {
        boot_change: true,
        downgrade: true,
    };
}

/// Which write is guarded: the downgrade rule applies to every kind but a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Publish,
    Delete,
    Restore,
    Promote,
    Copy,
}

/// A write as the guard's rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritePlan {
    pub kind: WriteKind,
    /// The rows it puts, as (id, version).
    pub written: Vec<(String, String)>,
    /// Whether the written rows are meant to become their package's newest row (a new
    /// version, a promote): then not becoming it is a refusal too.
    pub must_lead: bool,
    /// Whether a written row that is its package's newest must load (every kind but a
    /// restore, which puts rows back as they were, old `created_at` and rowid included).
    pub must_load: bool,
    /// Packages of which the write deletes every version: that they stop loading is the point.
    pub gone: Vec<String>,
}

/// Which flag overrides a guard problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GuardFlag {
    /// `--allow-boot-change`
    BootChange,
    /// `--allow-downgrade`
    Downgrade,
}

impl GuardFlag {
    pub fn flag(self) -> &'static str {
        match self {
            GuardFlag::BootChange => "--allow-boot-change",
            GuardFlag::Downgrade => "--allow-downgrade",
        }
    }
}

/// One reason to refuse a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardProblem {
    pub flag: GuardFlag,
    /// A clause for the operator: what would happen, and why.
    pub message: String,
}

/// A package whose loaded version changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionChange {
    pub id: Json,
    pub from: Json,
    pub to: Json,
}

/// What a write changes in the server's boot: `boot` in `--json` outputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BootChange {
    /// What loads before the write, in install order.
    pub before: Vec<BootLoad>,
    /// What loads after it.
    pub after: Vec<BootLoad>,
    /// Packages that load before and not after.
    pub lost: Vec<Json>,
    /// Packages that load before and after, at another version.
    pub changed: Vec<VersionChange>,
}

impl BootChange {
    pub fn is_empty(&self) -> bool {
        self.lost.is_empty() && self.changed.is_empty() && self.before.len() == self.after.len()
    }

    /// Packages that load after and not before.
    pub fn gained(&self) -> Vec<&BootLoad> {
        let before: HashSet<String> = self.before.iter().map(|l| l.id.to_string()).collect();
        self.after
            .iter()
            .filter(|l| !before.contains(&l.id.to_string()))
            .collect()
    }
}

/// The boot before and after a rehearsed write, and every reason to refuse it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootEffect {
    pub before: BootReport,
    pub after: BootReport,
    pub change: BootChange,
    pub problems: Vec<GuardProblem>,
}

impl BootEffect {
    /// The problems `allow` does not override.
    pub fn unallowed(&self, allow: Allow) -> Vec<&GuardProblem> {
        self.problems
            .iter()
            .filter(|p| match p.flag {
                GuardFlag::BootChange => !allow.boot_change,
                GuardFlag::Downgrade => !allow.downgrade,
            })
            .collect()
    }

    /// `Err` naming every problem `allow` does not override and the flags that would.
    pub fn check(&self, allow: Allow, action: &str, target: &str) -> Result<(), RegistryError> {
        let problems = self.unallowed(allow);
        if problems.is_empty() {
            return Ok(());
        }
        let mut flags: Vec<&'static str> = problems.iter().map(|p| p.flag.flag()).collect();
        flags.sort_unstable();
        flags.dedup();
        Err(RegistryError::Guard {
            action: action.to_string(),
            target: target.to_string(),
            problems: problems.iter().map(|p| p.message.clone()).collect(),
            flags,
        })
    }
}

/// A write rehearsed on the engine: what the reads around it returned, and the server's
/// `list()` before and after it.
#[derive(Debug, Clone, Default)]
pub struct Rehearsal {
    /// The reads run before the write, in order.
    pub reads: Vec<Rows>,
    pub before: Vec<ServerRow>,
    pub after: Vec<ServerRow>,
    /// The reads run after the write, in order.
    pub after_reads: Vec<Rows>,
}

/// A boot's loads keyed by package id (as JSON text, so `5` and `"5"` stay apart).
fn loads_by_id(report: &BootReport) -> HashMap<String, &BootLoad> {
    report.loads.iter().map(|l| (l.id.to_string(), l)).collect()
}

fn shown(id: &Json) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_string)
}

/// Why the package of `load` (which loaded before) does not load in `after`.
/// Package ids for a sentence: all of them up to six, else the first five and how many more.
fn id_list(ids: &[String]) -> String {
    if ids.len() <= 6 {
        return ids.join(", ");
    }
    format!("{} and {} more", ids[..5].join(", "), ids.len() - 5)
}

fn why_not_loaded(after: &BootReport, load: &BootLoad) -> String {
    if let Some(failed) = &after.list_failed {
        return format!("{} (R1)", failed.message);
    }
    let step = after
        .steps
        .iter()
        .find(|s| s.row_id == load.row_id && s.row_version == load.row_version)
        .or_else(|| after.steps.iter().find(|s| s.row_id == load.row_id));
    match (step, &after.aborted) {
        (Some(s), Some(abort)) if s.outcome == Outcome::Skipped && s.rule == abort.rule => {
            format!("{} ({})", abort.message, abort.rule.name())
        }
        (Some(s), _) => format!("{} ({})", s.message, s.rule.name()),
        (None, _) => format!(
            "no row of {} is among the server's latest rows",
            load.row_id
        ),
    }
}

/// Parses the rows of `after`, reusing what `before` parsed for a row with the same texts.
fn parse_reusing(
    before: &[ServerRow],
    parsed: &[ParsedRow],
    after: &[ServerRow],
) -> Vec<ParsedRow> {
    let index: HashMap<(&str, &str), usize> = before
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.id.as_str(), r.version.as_str()), i))
        .collect();
    after
        .iter()
        .map(
            |row| match index.get(&(row.id.as_str(), row.version.as_str())) {
                Some(&i) if before[i] == *row => parsed[i].clone(),
                _ => ParsedRow::parse(&row.list_row()),
            },
        )
        .collect()
}

/// The boot before and after a rehearsed write, and what the rules of spec 8.4 make of it.
pub fn boot_effect(
    rehearsal: &Rehearsal,
    plan: &WritePlan,
    settings: &super::BootSettings,
) -> BootEffect {
    let parsed_before = parse_rows(&rehearsal.before);
    let parsed_after = parse_reusing(&rehearsal.before, &parsed_before, &rehearsal.after);
    let replay = |rows: &[ParsedRow]| {
        boot::replay_parsed(rows, &settings.code_packages, &settings.runtime_protocol)
    };
    let before = replay(&parsed_before);
    let after = replay(&parsed_after);

    let before_ids = loads_by_id(&before);
    let after_ids = loads_by_id(&after);
    let mut change = BootChange {
        before: before.loads.clone(),
        after: after.loads.clone(),
        ..BootChange::default()
    };
    let mut problems = Vec::new();
    let gone: HashSet<Json> = plan.gone.iter().map(|id| Json::from(id.as_str())).collect();

    // A package that loaded and is not deleted by this write must still load.
    let mut no_longer: Vec<(String, Vec<String>)> = Vec::new();
    for load in &before.loads {
        match after_ids.get(&load.id.to_string()) {
            Some(now) if now.version != load.version => change.changed.push(VersionChange {
                id: load.id.clone(),
                from: load.version.clone(),
                to: now.version.clone(),
            }),
            Some(_) => {}
            None => {
                change.lost.push(load.id.clone());
                if !gone.contains(&load.id) {
                    let why = why_not_loaded(&after, load);
                    match no_longer.iter_mut().find(|(w, _)| *w == why) {
                        Some((_, ids)) => ids.push(shown(&load.id)),
                        None => no_longer.push((why, vec![shown(&load.id)])),
                    }
                }
            }
        }
    }
    // One problem per reason: an abort loses every later package for the same reason.
    for (why, ids) in no_longer {
        problems.push(GuardProblem {
            flag: GuardFlag::BootChange,
            message: format!("the server would no longer load {}: {why}", id_list(&ids)),
        });
    }

    // A written row that the server reads as its package's newest must load, under its id.
    let must_load = if plan.must_load {
        plan.written.as_slice()
    } else {
        &[]
    };
    for (id, version) in must_load {
        let leads = rehearsal
            .after
            .iter()
            .any(|r| r.id == *id && r.version == *version);
        if !leads {
            if plan.must_lead {
                let newer: Vec<&str> = rehearsal
                    .after
                    .iter()
                    .filter(|r| r.id == *id)
                    .map(|r| r.version.as_str())
                    .collect();
                problems.push(GuardProblem {
                    flag: GuardFlag::BootChange,
                    message: format!(
                        "{id} {version} would not be the newest row of {id} ({} has a later \
                         created_at), so the server would not load it",
                        if newer.is_empty() {
                            "another version".to_string()
                        } else {
                            newer.join(", ")
                        }
                    ),
                });
            }
            continue;
        }
        let step = after
            .steps
            .iter()
            .find(|s| s.row_id == *id && s.row_version == *version);
        let Some(step) = step else { continue };
        let loaded_as = after
            .loads
            .iter()
            .find(|l| l.row_id == *id && l.row_version == *version);
        let problem = match (step.outcome, loaded_as) {
            (Outcome::Loads | Outcome::Warns, Some(l)) if l.id.as_str() == Some(id.as_str()) => {
                None
            }
            (Outcome::Loads | Outcome::Warns, _) => Some(format!(
                "{id} {version} would load under another id: {} ({})",
                step.message,
                step.rule.name()
            )),
            (_, _) if after.list_failed.is_some() || after.aborted.is_some() => {
                let cause = after
                    .list_failed
                    .as_ref()
                    .map(|f| format!("{} (R1)", f.message))
                    .or_else(|| {
                        after
                            .aborted
                            .as_ref()
                            .map(|a| format!("{} ({})", a.message, a.rule.name()))
                    })
                    .unwrap_or_default();
                Some(format!("{id} {version} would not load: {cause}"))
            }
            _ if step.rule == boot::Rule::R9 => Some(format!(
                "{id} {version} would not load: it would share its created_at second with \
                 another version of {id}, which the server reads first (R9); write it again \
                 after this second, or promote it"
            )),
            _ => Some(format!(
                "{id} {version} would not load: {} ({})",
                step.message,
                step.rule.name()
            )),
        };
        if let Some(message) = problem {
            problems.push(GuardProblem {
                flag: GuardFlag::BootChange,
                message,
            });
        }
    }

    // npm refuses to move latest backwards; so does every write but a delete.
    if plan.kind != WriteKind::Delete {
        let mut seen = HashSet::new();
        for (id, _) in &plan.written {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let key = Json::from(id.as_str()).to_string();
            let (Some(was), Some(now)) = (before_ids.get(&key), after_ids.get(&key)) else {
                continue;
            };
            let semver = |v: &Json| v.as_str().and_then(|v| semver::Version::parse(v).ok());
            if let (Some(from), Some(to)) = (semver(&was.version), semver(&now.version)) {
                if to < from {
                    problems.push(GuardProblem {
                        flag: GuardFlag::Downgrade,
                        message: format!(
                            "the server would load {id} {to} instead of {from}, a lower version \
                             (a downgrade)"
                        ),
                    });
                }
            }
        }
    }

    BootEffect {
        before,
        after,
        change,
        problems,
    }
}

impl Registry {
    /// Rehearses a write on the target's engine: `reads`, the server's `list()`, `write`,
    /// `list()` again and `after_reads`, in one transaction that is rolled back. One round
    /// trip remotely.
    pub fn rehearse(
        &self,
        reads: &[Stmt],
        write: &[Stmt],
        after_reads: &[Stmt],
    ) -> Result<Rehearsal, RegistryError> {
        let list = Stmt::new(SERVER_LIST_SQL, vec![]);
        let mut stmts = Vec::with_capacity(reads.len() + write.len() + after_reads.len() + 2);
        stmts.extend_from_slice(reads);
        stmts.push(list.clone());
        stmts.extend_from_slice(write);
        stmts.push(list);
        stmts.extend_from_slice(after_reads);
        let mut results = self.store.rehearse(&stmts)?.into_iter();
        let reads: Vec<Rows> = results.by_ref().take(reads.len()).collect();
        let before = server_rows(results.next().unwrap_or_default());
        let mut results = results.skip(write.len());
        let after = server_rows(results.next().unwrap_or_default());
        Ok(Rehearsal {
            reads,
            before,
            after,
            after_reads: results.collect(),
        })
    }

    /// A rehearsal that failed on the write's own statements (a trigger, a constraint) is the
    /// write failing, and is recorded as one: the audit log gets its intent and its failed
    /// outcome, as for a write that got that far. Any other failure is returned as it is.
    pub(crate) fn rehearsal_failed(
        &self,
        action: &str,
        changes: Vec<Change>,
        error: RegistryError,
    ) -> RegistryError {
        if !matches!(error, RegistryError::Store(StoreError::Sql { .. })) {
            return error;
        }
        match self.journaled::<()>(action, changes, None, || Err(error)) {
            Err(e) => e,
            Ok(_) => RegistryError::Store(StoreError::Other {
                target: self.target().to_owned(),
                message: format!("the rehearsal of {action} failed"),
            }),
        }
    }

    /// [`boot_effect`] with this registry's boot settings.
    pub fn boot_effect(&self, rehearsal: &Rehearsal, plan: &WritePlan) -> BootEffect {
        boot_effect(rehearsal, plan, &self.boot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::BootSettings;

    fn row(id: &str, version: &str, manifest: &str) -> ServerRow {
        ServerRow {
            id: id.into(),
            version: version.into(),
            manifest: Some(manifest.into()),
            metadata: Some("{}".into()),
        }
    }

    fn manifest(id: &str, version: &str, extra: &str) -> String {
        format!(r#"{{"id":"{id}","version":"{version}"{extra}}}"#)
    }

    fn effect(before: Vec<ServerRow>, after: Vec<ServerRow>, plan: WritePlan) -> BootEffect {
        let rehearsal = Rehearsal {
            before,
            after,
            ..Rehearsal::default()
        };
        boot_effect(&rehearsal, &plan, &BootSettings::default())
    }

    fn publish(id: &str, version: &str) -> WritePlan {
        WritePlan {
            kind: WriteKind::Publish,
            written: vec![(id.into(), version.into())],
            must_lead: true,
            must_load: true,
            gone: vec![],
        }
    }

    #[test]
    fn a_new_namespace_owner_that_aborts_the_boot_is_refused() {
        let a = row(
            "a",
            "1.0.0",
            &manifest("a", "1.0.0", r#","namespace":"crm""#),
        );
        let b = row(
            "b",
            "1.0.0",
            &manifest("b", "1.0.0", r#","namespace":"crm""#),
        );
        let e = effect(vec![a.clone()], vec![b, a], publish("b", "1.0.0"));
        assert_eq!(e.change.lost, vec![Json::from("a")]);
        let flags: Vec<GuardFlag> = e.problems.iter().map(|p| p.flag).collect();
        assert_eq!(flags, [GuardFlag::BootChange], "{:?}", e.problems);
        assert!(
            e.problems[0].message.contains("no longer load a"),
            "{:?}",
            e.problems
        );
        assert!(e.check(Allow::NOTHING, "publishing b 1.0.0", "t").is_err());
        assert!(e
            .check(Allow::EVERYTHING, "publishing b 1.0.0", "t")
            .is_ok());
    }

    #[test]
    fn a_lower_version_published_last_is_a_downgrade_and_a_delete_is_not() {
        let two = row("a", "2.0.0", &manifest("a", "2.0.0", ""));
        let one = row("a", "1.0.1", &manifest("a", "1.0.1", ""));
        let e = effect(vec![two.clone()], vec![one.clone()], publish("a", "1.0.1"));
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].flag, GuardFlag::Downgrade);
        assert_eq!(e.change.changed.len(), 1);
        assert!(e
            .check(
                Allow {
                    downgrade: true,
                    ..Allow::NOTHING
                },
                "x",
                "t"
            )
            .is_ok());
        let delete = WritePlan {
            kind: WriteKind::Delete,
            written: vec![],
            must_lead: false,
            must_load: true,
            gone: vec![],
        };
        assert!(effect(vec![two], vec![one], delete).problems.is_empty());
    }

    #[test]
    fn a_written_row_in_a_same_second_tie_that_the_engine_puts_second_is_refused() {
        let old = row("a", "1.0.0", &manifest("a", "1.0.0", ""));
        let new = row("a", "1.1.0", &manifest("a", "1.1.0", ""));
        let e = effect(vec![old.clone()], vec![old, new], publish("a", "1.1.0"));
        assert_eq!(e.problems.len(), 1, "{:?}", e.problems);
        assert!(e.problems[0].message.contains("R9"), "{:?}", e.problems);
    }

    #[test]
    fn deleting_every_version_of_a_package_loses_it_without_a_refusal() {
        let a = row("a", "1.0.0", &manifest("a", "1.0.0", ""));
        let b = row("b", "1.0.0", &manifest("b", "1.0.0", ""));
        let plan = WritePlan {
            kind: WriteKind::Delete,
            written: vec![],
            must_lead: false,
            must_load: true,
            gone: vec!["a".into()],
        };
        let e = effect(vec![a.clone(), b.clone()], vec![b.clone()], plan.clone());
        assert_eq!(e.change.lost, vec![Json::from("a")]);
        assert!(e.problems.is_empty());
        // A corrupt older row of b becomes its newest: every package is lost.
        let corrupt = ServerRow {
            manifest: Some("{".into()),
            ..row("b", "0.9.0", "")
        };
        let e = effect(vec![a, b], vec![corrupt], plan);
        assert_eq!(e.problems.len(), 1, "{:?}", e.problems);
        assert!(e.problems[0].message.contains("(R1)"), "{:?}", e.problems);
    }
}
