//! Promote (spec 8.5): make one version the unique newest row of its package, so that the
//! ObjectStack server's `get(id)` and its boot both answer it. The way out of a same-second tie
//! and of a wrong latest.
//!
//! The row is rehearsed and guarded (spec 8.4), saved to the trash, then deleted and inserted
//! again with the same texts and hash and `created_at = updated_at = CURRENT_TIMESTAMP`, in one
//! statement (`INSERT OR REPLACE … SELECT` from the row itself) that only matches while the row
//! is unchanged and the new `created_at` is strictly later than every other version's. When it
//! is not later yet (another version was written this second), nothing changes and the promote
//! is tried again in the next second.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::audit::{Change, Outcome};
use super::guard::{Allow, BootChange, BootEffect, WriteKind, WritePlan};
use super::{records, PackageRecord, Registry, RegistryError};
use crate::store::{Stmt, Value};

/// How many seconds a promote waits for its `created_at` to be strictly the newest.
const ATTEMPTS: u32 = 4;

/// What a promote did.
#[derive(Debug, Clone, PartialEq)]
pub struct PromoteOutcome {
    pub id: String,
    pub version: String,
    pub hash: String,
    /// The row's `created_at` before and after.
    pub previous_created_at: Option<String>,
    pub created_at: Option<String>,
    /// Where the row was saved before it was re-inserted.
    pub trash_file: Option<PathBuf>,
    /// What the promote changed in the server's boot.
    pub boot: BootChange,
    /// How many times the batch ran (more than one when it had to wait for the next second).
    pub attempts: u32,
}

/// The re-insert, matching only the row as it was read (same rowid, hash and `updated_at`: a
/// re-publish or a re-insert changes one of them; the texts are copied by the statement itself,
/// whatever their type), and only when the new `created_at` is strictly later than every other
/// version's. `INSERT OR REPLACE` deletes the old row and inserts the new one (a new rowid: it
/// is the last inserted, too).
fn reinsert(row: &PackageRecord) -> Stmt {
    Stmt::new(
        "INSERT OR REPLACE INTO sys_packages \
         (id, version, manifest, metadata, hash, created_at, updated_at) \
         SELECT id, version, manifest, metadata, hash, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP \
         FROM sys_packages WHERE rowid = ? AND id = ? AND version = ? AND hash = ? \
         AND updated_at IS ? AND NOT EXISTS (SELECT 1 FROM sys_packages o WHERE o.id = ? \
         AND o.version <> ? AND o.created_at >= CURRENT_TIMESTAMP)",
        vec![
            Value::Integer(row.rowid),
            row.id.clone().into(),
            row.version.clone().into(),
            row.hash.clone().into(),
            row.updated_at.clone().into(),
            row.id.clone().into(),
            row.version.clone().into(),
        ],
    )
}

/// The same re-insert for a rehearsal, where the texts are not known yet: it takes the first
/// second strictly later than every other version, as the real promote will.
fn rehearsed_reinsert(id: &str, version: &str) -> Stmt {
    Stmt::new(
        "INSERT OR REPLACE INTO sys_packages \
         (id, version, manifest, metadata, hash, created_at, updated_at) \
         SELECT id, version, manifest, metadata, hash, t.at, t.at FROM sys_packages, \
         (SELECT max(CURRENT_TIMESTAMP, coalesce((SELECT datetime(max(o.created_at), '+1 second') \
          FROM sys_packages o WHERE o.id = ? AND o.version <> ?), CURRENT_TIMESTAMP)) AS at) t \
         WHERE id = ? AND version = ?",
        vec![id.into(), version.into(), id.into(), version.into()],
    )
}

/// The newest `created_at` of the other versions, and the database's clock.
fn clock(id: &str, version: &str) -> Stmt {
    Stmt::new(
        "SELECT (SELECT max(created_at) FROM sys_packages WHERE id = ? AND version <> ?), \
         CURRENT_TIMESTAMP",
        vec![id.into(), version.into()],
    )
}

/// Sleeps until just past the next whole second of the local clock.
fn wait_for_next_second() {
    let subsec = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_millis(
        u64::from(1000 - subsec.min(999)) + 20,
    ));
}

/// A promote as its confirm step shows it: the row, and what re-inserting it as the newest row
/// changes in the server's boot (with the guards' verdict).
#[derive(Debug, Clone, PartialEq)]
pub struct PromotePlan {
    pub row: PackageRecord,
    pub boot: Box<BootEffect>,
}

impl Registry {
    /// What promoting `version` of `id` would do: the row and the boot before and after, in
    /// one rehearsal (one round trip remotely).
    pub fn plan_promote(&self, id: &str, version: &str) -> Result<PromotePlan, RegistryError> {
        self.refuse_if_read_only("promote")?;
        let rehearsal = self.rehearse(
            &[self.select_exact(id, version)],
            &[rehearsed_reinsert(id, version)],
            &[],
        )?;
        let Some(row) = rehearsal
            .reads
            .first()
            .cloned()
            .map(records)
            .and_then(|rows| rows.into_iter().next())
        else {
            return Err(self.not_found(id, Some(version)));
        };
        let plan = WritePlan {
            kind: WriteKind::Promote,
            written: vec![(id.to_string(), version.to_string())],
            must_lead: true,
            must_load: true,
            gone: Vec::new(),
        };
        let boot = Box::new(self.boot_effect(&rehearsal, &plan));
        Ok(PromotePlan { row, boot })
    }

    /// Makes `version` of `id` the unique newest row of the package (spec 8.5). Refused when the
    /// guards of spec 8.4 refuse it (a downgrade: `allow.downgrade`; another package or this
    /// one would not load: `allow.boot_change`). Two round trips remotely, plus one per second
    /// waited.
    pub fn promote(
        &self,
        id: &str,
        version: &str,
        allow: Allow,
    ) -> Result<PromoteOutcome, RegistryError> {
        let PromotePlan { row, boot: effect } = match self.plan_promote(id, version) {
            Ok(plan) => plan,
            Err(e @ RegistryError::Store(_)) => {
                let hash = self.get(id, Some(version)).ok().flatten().map(|r| r.hash);
                let change = Change {
                    id: id.to_string(),
                    version: version.to_string(),
                    old_hash: hash.clone(),
                    new_hash: hash,
                };
                return Err(self.rehearsal_failed("promote", vec![change], e));
            }
            Err(e) => return Err(e),
        };
        effect.check(allow, &format!("promoting {id} {version}"), self.target())?;

        // The rows look the same whether or not the promote happened (only created_at moves),
        // so a promote that did not happen says so itself rather than leave it to the journal.
        let change = Change {
            id: row.id.clone(),
            version: row.version.clone(),
            old_hash: Some(row.hash.clone()),
            new_hash: Some(row.hash.clone()),
        };
        let (result, trash_file) = self.journaled(
            "promote",
            vec![change],
            Some(std::slice::from_ref(&row)),
            || match self.promote_row(&row) {
                Ok(done) => Ok((Ok(done), vec![Outcome::Written])),
                Err(
                    e @ (RegistryError::Conflict { .. } | RegistryError::PromoteBlocked { .. }),
                ) => Ok((Err(e), vec![Outcome::NotWritten])),
                Err(e) => Err(e),
            },
        )?;
        let (promoted, attempts) = result?;
        Ok(PromoteOutcome {
            id: id.to_string(),
            version: version.to_string(),
            hash: row.hash.clone(),
            previous_created_at: row.created_at.clone(),
            created_at: promoted.and_then(|r| r.created_at),
            trash_file,
            boot: effect.change,
            attempts,
        })
    }

    /// The promote's batch, tried again in the next second while another version is as new as
    /// the database's clock: the row as it is stored afterwards, and how many tries it took.
    fn promote_row(
        &self,
        row: &PackageRecord,
    ) -> Result<(Option<PackageRecord>, u32), RegistryError> {
        let (id, version) = (row.id.as_str(), row.version.as_str());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut results = self
                .store
                .batch(&[
                    reinsert(row),
                    self.select_exact(id, version),
                    clock(id, version),
                ])?
                .into_iter();
            let changed = results.next().map_or(0, |r| r.affected);
            let now_row = results
                .next()
                .map(records)
                .and_then(|rows| rows.into_iter().next());
            if changed > 0 {
                return Ok((now_row, attempt));
            }
            let clock = results.next().unwrap_or_default();
            let cell = |i: usize| {
                clock
                    .rows
                    .first()
                    .and_then(|r| r.get(i))
                    .cloned()
                    .and_then(Value::into_text)
                    .unwrap_or_default()
            };
            let (newest, now) = (cell(0), cell(1));
            // Nothing matched: the row moved on, or another version is as new as now.
            let unchanged = now_row.is_some_and(|r| {
                r.rowid == row.rowid && r.hash == row.hash && r.updated_at == row.updated_at
            });
            if !unchanged || newest < now {
                return Err(RegistryError::Conflict {
                    target: self.target().to_owned(),
                    id: id.to_string(),
                    version: version.to_string(),
                });
            }
            if newest > now || attempt >= ATTEMPTS {
                return Err(RegistryError::PromoteBlocked {
                    target: self.target().to_owned(),
                    id: id.to_string(),
                    version: version.to_string(),
                    why: format!(
                        "another version of {id} has created_at {newest}, which the \
                         database's clock ({now}) has not passed"
                    ),
                });
            }
            wait_for_next_second();
        }
    }
}
