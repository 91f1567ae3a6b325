//! Restoring a trash file: its rows go back exactly (texts, hash, dates, and their old rowid
//! when it is free, so same-second ties keep their order), never over a different row, and
//! never breaking what the ObjectStack server loads unless the operator allows it.

use std::path::Path;

use super::guard::{Allow, BootChange, BootEffect, WriteKind, WritePlan};
use super::record::PackageRecord;
use super::trash::Trash;
use super::{Registry, RegistryError};
use crate::store::{Stmt, Value};

/// What a restore put back, and what that changed in the server's boot.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    pub restored: Vec<PackageRecord>,
    pub boot: BootChange,
}

/// A restore as its confirm step shows it: the rows that go back (a row already there
/// unchanged is left out), and what that changes in the server's boot.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    pub rows: Vec<PackageRecord>,
    pub boot: Box<BootEffect>,
    stmts: Vec<Stmt>,
}

impl Registry {
    /// What restoring `file` would put back and change, rehearsed; a different row at the same
    /// (id, version) refuses the whole restore.
    pub fn plan_restore(&self, file: &Path) -> Result<RestorePlan, RegistryError> {
        self.refuse_if_read_only("restore")?;
        let rows = Trash::read(file)?;
        let mut to_insert = Vec::new();
        for row in rows {
            match self.get(&row.id, Some(&row.version))? {
                Some(existing)
                    if existing.hash == row.hash
                        && existing.manifest == row.manifest
                        && existing.metadata == row.metadata => {}
                Some(_) => {
                    return Err(RegistryError::RestoreConflict {
                        target: self.target().to_owned(),
                        id: row.id,
                        version: row.version,
                    })
                }
                None => to_insert.push(row),
            }
        }
        // Each row goes back under its old rowid when that is free, so it takes its old place
        // in the insertion order; otherwise it gets a new one.
        const VALUES: &str = "id, version, manifest, metadata, hash, created_at, updated_at";
        let mut stmts: Vec<Stmt> = Vec::new();
        for r in &to_insert {
            let values: Vec<Value> = vec![
                r.id.clone().into(),
                r.version.clone().into(),
                r.manifest.clone().into(),
                r.metadata.clone().into(),
                r.hash.clone().into(),
                r.created_at.clone().into(),
                r.updated_at.clone().into(),
            ];
            if r.rowid > 0 {
                let mut args = vec![Value::Integer(r.rowid)];
                args.extend(values.iter().cloned());
                args.push(Value::Integer(r.rowid));
                stmts.push(Stmt::new(
                    format!(
                        "INSERT INTO sys_packages (rowid, {VALUES}) SELECT ?, ?, ?, ?, ?, ?, ?, ? \
                         WHERE NOT EXISTS (SELECT 1 FROM sys_packages WHERE rowid = ?)"
                    ),
                    args,
                ));
                let mut args = values;
                args.extend([
                    Value::Integer(r.rowid),
                    r.id.clone().into(),
                    r.version.clone().into(),
                ]);
                stmts.push(Stmt::new(
                    format!(
                        "INSERT INTO sys_packages ({VALUES}) SELECT ?, ?, ?, ?, ?, ?, ? \
                         WHERE NOT EXISTS (SELECT 1 FROM sys_packages WHERE rowid = ? AND id = ? AND version = ?)"
                    ),
                    args,
                ));
            } else {
                stmts.push(Stmt::new(
                    format!("INSERT INTO sys_packages ({VALUES}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                    values,
                ));
            }
        }
        if stmts.is_empty() {
            return Ok(RestorePlan {
                rows: to_insert,
                boot: Box::default(),
                stmts,
            });
        }
        let rehearsal = self.rehearse(&[], &stmts, &[])?;
        let plan = WritePlan {
            kind: WriteKind::Restore,
            written: to_insert
                .iter()
                .map(|r| (r.id.clone(), r.version.clone()))
                .collect(),
            must_lead: false,
            must_load: false,
            gone: Vec::new(),
        };
        let boot = Box::new(self.boot_effect(&rehearsal, &plan));
        Ok(RestorePlan {
            rows: to_insert,
            boot,
            stmts,
        })
    }

    /// Puts the rows of a trash file back exactly (texts, hash, created_at, updated_at). A row
    /// already there unchanged is skipped; a different row at the same (id, version) refuses
    /// the whole restore; so does a boot the guards of spec 8.4 refuse, unless `allow`.
    pub fn restore(&self, file: &Path, allow: Allow) -> Result<RestoreReport, RegistryError> {
        let RestorePlan {
            rows: to_insert,
            boot: effect,
            stmts,
        } = self.plan_restore(file)?;
        if stmts.is_empty() {
            return Ok(RestoreReport {
                restored: to_insert,
                boot: BootChange::default(),
            });
        }
        effect.check(
            allow,
            &format!("restoring {}", file.display()),
            self.target(),
        )?;
        self.store.batch(&stmts)?;
        for r in &to_insert {
            self.audit.record(
                self.target(),
                "restore",
                &r.id,
                &r.version,
                None,
                Some(&r.hash),
            );
        }
        Ok(RestoreReport {
            restored: to_insert,
            boot: effect.change,
        })
    }
}
