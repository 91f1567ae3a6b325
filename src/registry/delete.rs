//! Deleting: the plan (exactly the rows that would go, each with its version summary, which
//! one is latest and served, and what the server would load instead), then the delete of
//! exactly those rows (rehearsed and guarded, trash first, one conditional transaction), and
//! what is left of the package afterwards.

use std::path::PathBuf;

use super::audit::{Change, Outcome};
use super::guard::{Allow, BootEffect, WriteKind, WritePlan};
use super::record::{DeleteOutcome, PackageRecord, VersionSummary};
use super::{records, Registry, RegistryError, LATEST_FIRST, RECORD_COLUMNS};
use crate::store::{Stmt, Value};

/// The rows a delete will remove, as a confirm step lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletePlan {
    /// One summary per row, newest first; `latest` marks the package's latest version.
    pub rows: Vec<VersionSummary>,
    /// The whole rows: exactly these are saved to the trash and deleted.
    pub records: Vec<PackageRecord>,
    pub target: String,
    pub trash_dir: PathBuf,
    /// What deleting them changes in the ObjectStack server's boot, and the guards' verdict.
    pub boot: Box<BootEffect>,
}

/// A delete and how many versions of the package are left.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteReport {
    pub outcome: DeleteOutcome,
    pub remaining: u64,
}

impl Registry {
    /// The rows a delete of one version, or of every version of `id`, would remove: whole
    /// records, newest first. A [`Registry::delete_rows`] of exactly these is the delete.
    pub fn delete_plan(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<Vec<PackageRecord>, RegistryError> {
        let rows = match version {
            Some(v) => records(self.store.query(&self.select_exact(id, v))?),
            None => records(self.store.query(&Stmt::new(
                format!(
                    "SELECT {RECORD_COLUMNS} FROM sys_packages WHERE id = ? ORDER BY {LATEST_FIRST}"
                ),
                vec![id.into()],
            ))?),
        };
        if rows.is_empty() {
            return Err(self.not_found(id, version));
        }
        Ok(rows)
    }

    /// [`Registry::delete_plan`] as a confirm step shows it: every row with its version
    /// summary (which one is the package's latest, which one the server serves), the target,
    /// the trash it goes to, and what the server would load instead.
    pub fn plan_delete(
        &self,
        id: &str,
        version: Option<&str>,
    ) -> Result<DeletePlan, RegistryError> {
        let records = self.delete_plan(id, version)?;
        let summaries = self.versions(id)?;
        let boot = Box::new(self.rehearse_delete(&records)?.0);
        Ok(DeletePlan {
            rows: records
                .iter()
                .map(|r| {
                    let summary = summaries.iter().find(|s| s.rowid == r.rowid);
                    VersionSummary {
                        rowid: r.rowid,
                        id: r.id.clone(),
                        version: r.version.clone(),
                        hash: r.hash.clone(),
                        created_at: r.created_at.clone(),
                        updated_at: r.updated_at.clone(),
                        latest: summary.is_some_and(|s| s.latest),
                        served: summary.is_some_and(|s| s.served),
                    }
                })
                .collect(),
            records,
            target: self.target().to_owned(),
            trash_dir: self.trash().dir().to_owned(),
            boot,
        })
    }

    /// Deletes one version, or every version of `id`: [`Registry::delete_plan`] then
    /// [`Registry::delete_rows`].
    pub fn delete(
        &self,
        id: &str,
        version: Option<&str>,
        allow: Allow,
    ) -> Result<DeleteOutcome, RegistryError> {
        self.refuse_if_read_only("delete")?;
        let rows = self.delete_plan(id, version)?;
        self.delete_rows(rows, allow)
    }

    /// [`Registry::delete_rows`] of the rows of a [`DeletePlan`] of `id`, and how many
    /// versions of `id` are left.
    pub fn delete_planned(
        &self,
        id: &str,
        rows: Vec<PackageRecord>,
        allow: Allow,
    ) -> Result<DeleteReport, RegistryError> {
        let outcome = self.delete_rows(rows, allow)?;
        let remaining = self.version_count(id)?;
        Ok(DeleteReport { outcome, remaining })
    }

    /// How many versions `id` has.
    pub fn version_count(&self, id: &str) -> Result<u64, RegistryError> {
        let rows = self.store.query(&Stmt::new(
            "SELECT count(*) FROM sys_packages WHERE id = ?",
            vec![id.into()],
        ))?;
        Ok(rows
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            .unwrap_or(0) as u64)
    }

    /// The delete of exactly `rows`, rehearsed: its boot effect, and its statements.
    fn rehearse_delete(
        &self,
        rows: &[PackageRecord],
    ) -> Result<(BootEffect, Vec<Stmt>), RegistryError> {
        let stmts: Vec<Stmt> = rows
            .iter()
            .map(|r| {
                Stmt::new(
                    "DELETE FROM sys_packages WHERE id = ? AND version = ? AND hash = ? \
                     AND manifest = ? AND metadata = ?",
                    vec![
                        r.id.clone().into(),
                        r.version.clone().into(),
                        r.hash.clone().into(),
                        r.manifest.clone().into(),
                        r.metadata.clone().into(),
                    ],
                )
            })
            .collect();
        let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let left: Vec<Stmt> = ids
            .iter()
            .map(|id| {
                Stmt::new(
                    "SELECT count(*) FROM sys_packages WHERE id = ?",
                    vec![(*id).into()],
                )
            })
            .collect();
        let rehearsal = self.rehearse(&[], &stmts, &left)?;
        let gone = ids
            .iter()
            .zip(&rehearsal.after_reads)
            .filter(|(_, count)| {
                count
                    .rows
                    .first()
                    .and_then(|r| r.first())
                    .and_then(Value::as_i64)
                    == Some(0)
            })
            .map(|(id, _)| id.to_string())
            .collect();
        let plan = WritePlan {
            kind: WriteKind::Delete,
            written: Vec::new(),
            must_lead: false,
            must_load: false,
            gone,
        };
        Ok((self.boot_effect(&rehearsal, &plan), stmts))
    }

    /// Deletes exactly `rows` (as read by [`Registry::delete_plan`], e.g. for a confirm
    /// dialog): rehearsed and guarded first (spec 8.4: refused when another package would stop
    /// loading, unless `allow`), saved to the trash (pending), then deleted in one transaction
    /// on the condition that each is still unchanged; a row that changed meanwhile is kept and
    /// reported, and the trash file keeps only the rows that went. Two round trips remotely.
    pub fn delete_rows(
        &self,
        rows: Vec<PackageRecord>,
        allow: Allow,
    ) -> Result<DeleteOutcome, RegistryError> {
        self.refuse_if_read_only("delete")?;
        if rows.is_empty() {
            return Ok(DeleteOutcome {
                deleted: vec![],
                kept: vec![],
                trash_file: None,
                boot: Default::default(),
            });
        }
        let changes: Vec<Change> = rows
            .iter()
            .map(|r| Change {
                id: r.id.clone(),
                version: r.version.clone(),
                old_hash: Some(r.hash.clone()),
                new_hash: None,
            })
            .collect();
        let (effect, stmts) = match self.rehearse_delete(&rows) {
            Ok(rehearsed) => rehearsed,
            Err(e) => return Err(self.rehearsal_failed("delete", changes, e)),
        };
        let what = match rows.as_slice() {
            [one] => format!("deleting {} {}", one.id, one.version),
            [first, ..] => format!("deleting {} versions of {}", rows.len(), first.id),
            [] => String::new(),
        };
        effect.check(allow, &what, self.target())?;
        let (removed, trash_file) = self.journaled("delete", changes, Some(&rows), || {
            let removed: Vec<bool> = self
                .store
                .batch(&stmts)?
                .iter()
                .map(|r| r.affected > 0)
                .collect();
            let outcomes = removed
                .iter()
                .map(|gone| {
                    if *gone {
                        Outcome::Written
                    } else {
                        Outcome::NotWritten
                    }
                })
                .collect();
            Ok((removed, outcomes))
        })?;
        let (mut deleted, mut kept) = (Vec::new(), Vec::new());
        for (row, gone) in rows.into_iter().zip(removed) {
            if gone {
                deleted.push(row);
            } else {
                kept.push(row);
            }
        }
        Ok(DeleteOutcome {
            deleted,
            kept,
            trash_file,
            boot: effect.change,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::registry::{Allow, AuditLog, PublishOptions, Registry, RegistryError, Trash};
    use crate::store::sqlite::SqliteStore;

    /// Options for publishing several versions within one second: the server would load the
    /// first of them (a same-second tie), which these tests are not about.
    fn within_a_second() -> PublishOptions {
        PublishOptions {
            allow: crate::registry::Allow::EVERYTHING,
            ..PublishOptions::default()
        }
    }

    fn doc(version: &str) -> String {
        format!(
            r#"{{"manifest":{{"id":"com.acme.t","version":"{version}","type":"app","name":"T"}},"metadata":{{}}}}"#
        )
    }

    #[test]
    fn a_plan_marks_the_latest_and_a_delete_says_what_is_left() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let store = SqliteStore::open(&dir.path().join("r.db"), false)?;
        let r = Registry::open(
            Box::new(store),
            Trash::new(dir.path().join("trash")),
            AuditLog::disabled(),
        )?;
        // Published in this order in the same second: 1.0.0 is latest by insertion order.
        for v in ["2.0.0", "1.0.0"] {
            r.publish(&doc(v), "doc", within_a_second())?;
        }
        let one = r.plan_delete("com.acme.t", Some("2.0.0"))?;
        let marks: Vec<(&str, bool)> = one
            .rows
            .iter()
            .map(|v| (v.version.as_str(), v.latest))
            .collect();
        assert_eq!(marks, [("2.0.0", false)]);
        let all = r.plan_delete("com.acme.t", None)?;
        let marks: Vec<(&str, bool)> = all
            .rows
            .iter()
            .map(|v| (v.version.as_str(), v.latest))
            .collect();
        assert_eq!(marks, [("1.0.0", true), ("2.0.0", false)]);
        assert_eq!(all.records.len(), 2);

        let report = r.delete_planned("com.acme.t", one.records, Allow::NOTHING)?;
        assert_eq!((report.outcome.deleted.len(), report.remaining), (1, 1));
        let report = r.delete_planned(
            "com.acme.t",
            r.plan_delete("com.acme.t", None)?.records,
            Allow::NOTHING,
        )?;
        assert_eq!(report.remaining, 0);
        assert!(matches!(
            r.plan_delete("com.acme.t", None),
            Err(RegistryError::NotFound { .. })
        ));
        Ok(())
    }
}
