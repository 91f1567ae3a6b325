//! Writes in flight, and what a killed writer left behind. Every write runs through
//! [`Registry::journaled`]: first a marker file beside the trash (`<data dir>/trash.pending/`)
//! names it (action, target, each row's old and new hash, its trash file) and stays locked for
//! as long as the writer lives; then the trash file is saved as pending and the audit intent
//! lines are appended; then the write; then the trash file is completed (or removed, when the
//! write did not happen), the audit outcome lines are appended and the marker goes.
//!
//! A marker nobody holds locked belongs to a writer that died (kill -9, power loss). The
//! next time pkgdeck opens that registry, [`Registry::recover`] looks at the rows, settles
//! the trash file and appends the missing outcome lines, and removes the temporary files the
//! dead writer left in the trash.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::audit::{AuditError, Change, Entry, Outcome, Phase};
use super::trash::PendingTrash;
use super::{PackageRecord, Registry, RegistryError};
use crate::output::{process_alive, remove_stale_temporaries, STALE_AGE};

/// The markers' directory is the trash directory's name with this after it.
const PENDING_SUFFIX: &str = ".pending";

/// Unreadable markers younger than this may belong to a writer that has just created them
/// and not locked them yet (as for temporary files).
const SETTLE_AGE: Duration = STALE_AGE;

/// One write in flight, as its marker file records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker {
    op: String,
    target: String,
    action: String,
    changes: Vec<Change>,
    trash_file: Option<PathBuf>,
}

/// Bookkeeping that failed after a write had happened: the write stands, and the next run
/// of pkgdeck finishes what is missing (its marker stays for that).
#[derive(Debug, thiserror::Error)]
pub enum Bookkeeping {
    /// The outcome lines could not be appended.
    #[error("{0}; the next run of pkgdeck records the outcome")]
    Audit(AuditError),
    /// The pending trash file could not be completed or removed.
    #[error("the trash file {} could not be settled ({reason}); the next run of pkgdeck settles it", .file.display())]
    Trash { file: PathBuf, reason: String },
}

/// A process-unique id for one write: pid, time and a counter.
fn new_op() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Registry {
    /// Beside the trash directory, so that the trash holds only trash files.
    fn pending_dir(&self) -> PathBuf {
        let trash = self.trash.dir();
        let mut name = trash
            .file_name()
            .map_or_else(|| "trash".into(), std::ffi::OsStr::to_os_string);
        name.push(PENDING_SUFFIX);
        trash.with_file_name(name)
    }

    /// Runs `write`, one write of `action` that means to make `changes` (saving
    /// `trash_rows` first, in the order of `changes`), under the journal described in the
    /// module docs. `write` returns its value and what became of each change. Returns the
    /// value and the completed trash file, if the write removed any row it saved.
    pub(crate) fn journaled<T>(
        &self,
        action: &str,
        changes: Vec<Change>,
        trash_rows: Option<&[PackageRecord]>,
        write: impl FnOnce() -> Result<(T, Vec<Outcome>), RegistryError>,
    ) -> Result<(T, Option<PathBuf>), RegistryError> {
        let op = new_op();
        let target = self.store.audit_name();
        let planned = trash_rows.map(|rows| (rows, self.trash.path_for(action, rows)));
        let marker = Marker {
            op: op.clone(),
            target: target.clone(),
            action: action.to_owned(),
            changes,
            trash_file: planned.as_ref().map(|(_, (path, _))| path.clone()),
        };
        let (marker_path, lock) = self.write_marker(&marker)?;
        let forget = |trash: Option<&PendingTrash>| {
            if let Some(t) = trash {
                let _ = std::fs::remove_file(&t.path);
            }
            let _ = std::fs::remove_file(&marker_path);
        };
        let trash = match planned {
            Some((rows, (path, saved_at))) => {
                match self
                    .trash
                    .save_pending(path, saved_at, &target, action, &op, rows)
                {
                    Ok(t) => Some(t),
                    Err(e) => {
                        forget(None);
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        let entry = |phase, outcome, reason| Entry {
            target: &target,
            action,
            op: &op,
            phase,
            outcome,
            reason,
            resolved_later: false,
        };
        if let Err(e) = self
            .audit
            .append(&entry(Phase::Intent, None, None), &marker.changes)
        {
            forget(trash.as_ref());
            return Err(RegistryError::Audit(e));
        }
        match write() {
            Ok((value, outcomes)) => {
                let trash_file = self.settle(&marker, trash.as_ref(), &outcomes, None, false);
                drop(lock);
                Ok((value, trash_file))
            }
            Err(error) => {
                // A failed write usually wrote nothing, but a lost connection leaves it open:
                // the rows say. When they cannot be read either, the marker stays for the
                // next run and the trash file stays pending (it claims nothing).
                if let Ok(outcomes) = self.resolve(&marker.changes) {
                    let outcomes: Vec<Outcome> = outcomes
                        .into_iter()
                        .map(|o| match o {
                            Outcome::NotWritten => Outcome::Failed,
                            o => o,
                        })
                        .collect();
                    let reason = error.to_string();
                    self.settle(&marker, trash.as_ref(), &outcomes, Some(&reason), false);
                }
                drop(lock);
                Err(error)
            }
        }
    }

    /// Creates and locks the marker of a write; the lock lives as long as the returned file.
    fn write_marker(&self, marker: &Marker) -> Result<(PathBuf, File), RegistryError> {
        let dir = self.pending_dir();
        let fail = |e: std::io::Error| RegistryError::Trash {
            dir: dir.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(&dir).map_err(fail)?;
        let path = dir.join(format!("{}.json", marker.op));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(fail)?;
        let written = (|| -> std::io::Result<()> {
            // Waited for, not tried: another process's recovery may hold the lock for the moment
            // it takes to read this still empty file (it leaves a live writer's marker alone).
            file.lock()?;
            let text = serde_json::to_vec(marker).map_err(std::io::Error::other)?;
            file.write_all(&text)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&path);
            return Err(fail(e));
        }
        Ok((path, file))
    }

    /// The end of a write whose outcome is known: the trash file keeps the rows that were
    /// written (completed) or goes, the outcome lines are appended, and the marker is
    /// removed once all of that worked. Returns the completed trash file, if any.
    fn settle(
        &self,
        marker: &Marker,
        trash: Option<&PendingTrash>,
        outcomes: &[Outcome],
        reason: Option<&str>,
        resolved_later: bool,
    ) -> Option<PathBuf> {
        let mut done = true;
        let written: Vec<bool> = outcomes.iter().map(|o| *o == Outcome::Written).collect();
        let mut trash_file = None;
        if let Some(t) = trash {
            match self.trash.settle(t, &written) {
                Ok(()) if written.contains(&true) => trash_file = Some(t.path.clone()),
                Ok(()) => {}
                Err(e) => {
                    done = false;
                    self.note(Bookkeeping::Trash {
                        file: t.path.clone(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        for (change, outcome) in marker.changes.iter().zip(outcomes) {
            let entry = Entry {
                target: &marker.target,
                action: &marker.action,
                op: &marker.op,
                phase: Phase::Outcome,
                outcome: Some(*outcome),
                reason: reason.filter(|_| *outcome == Outcome::Failed),
                resolved_later,
            };
            if let Err(e) = self.audit.append(&entry, std::slice::from_ref(change)) {
                done = false;
                self.note(Bookkeeping::Audit(e));
                break;
            }
        }
        if done {
            let _ = std::fs::remove_file(self.pending_dir().join(format!("{}.json", marker.op)));
        }
        trash_file
    }

    /// What became of each change, read from the registry as it is now: "written" when the
    /// row holds what the write meant it to hold (for a publish that found the row already
    /// so, the rows cannot tell that nothing was written), "not written" otherwise.
    fn resolve(&self, changes: &[Change]) -> Result<Vec<Outcome>, RegistryError> {
        changes
            .iter()
            .map(|c| {
                let row = self.get(&c.id, Some(&c.version))?;
                Ok(match (&c.new_hash, row) {
                    // A delete happened unless the very row it removes is still there; a row
                    // that changed meanwhile keeps its trash copy, in case.
                    (None, None) => Outcome::Written,
                    (None, Some(r)) if Some(&r.hash) == c.old_hash.as_ref() => Outcome::NotWritten,
                    (None, Some(_)) => Outcome::Written,
                    (Some(new), Some(r)) if r.hash == *new => Outcome::Written,
                    (Some(_), _) => Outcome::NotWritten,
                })
            })
            .collect()
    }

    /// Finishes what writers that died left for this registry: the temporary files in the
    /// trash go, and each unlocked marker of this target is resolved against the rows (its
    /// trash file settled, its outcome lines appended with `resolved_later`). Best effort: a
    /// marker that cannot be resolved now stays for the next run. A read-only session
    /// leaves everything for the next writable one, which can append to the audit log.
    pub fn recover(&self) {
        remove_stale_temporaries(self.trash.dir(), SETTLE_AGE);
        if self.store.read_only() {
            return;
        }
        let dir = self.pending_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let target = self.store.audit_name();
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_some_and(|x| x == "json") {
                self.recover_marker(&path, &target);
            }
        }
    }

    fn recover_marker(&self, path: &Path, target: &str) {
        let Ok(mut file) = File::open(path) else {
            return;
        };
        // Locked: its writer is alive.
        if file.try_lock().is_err() {
            return;
        }
        let mut text = String::new();
        let marker = file
            .read_to_string(&mut text)
            .ok()
            .and_then(|_| serde_json::from_str::<Marker>(&text).ok());
        let Some(marker) = marker else {
            // A writer killed while writing its marker never got to its write; one still
            // alive may not have locked it yet.
            let dead = path
                .file_stem()
                .and_then(|s| s.to_string_lossy().split('-').next()?.parse::<u32>().ok())
                .is_some_and(|pid| !process_alive(pid));
            let old = dead
                || file
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age >= SETTLE_AGE);
            if old {
                let _ = std::fs::remove_file(path);
            }
            return;
        };
        if marker.target != target {
            return;
        }
        let Ok(outcomes) = self.resolve(&marker.changes) else {
            return;
        };
        let trash = marker
            .trash_file
            .as_ref()
            .and_then(|p| super::trash::Trash::read_file(p).ok().map(|f| (p, f)))
            .filter(|(_, f)| f.op.as_deref() == Some(marker.op.as_str()))
            .map(|(p, f)| PendingTrash {
                path: p.clone(),
                file: f,
            });
        // A trash file already completed was settled before the writer died.
        let trash = trash.filter(|t| t.file.state == super::trash::TrashState::Pending);
        self.settle(&marker, trash.as_ref(), &outcomes, None, true);
    }
}
