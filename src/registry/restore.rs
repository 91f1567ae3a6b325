//! Restoring a trash file: its rows go back exactly (texts, hash, dates, and their old rowid
//! when it is free, so same-second ties keep their order), never over a different row, and
//! never breaking what the ObjectStack server loads unless the operator allows it.

use std::path::Path;

use super::audit::{Change, Outcome};
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
    /// Why the restore itself will be refused (the file failed [`Trash::check`]), when it
    /// will: the plan is then what the file's rows would do, for the dialog to show anyway.
    pub refused: Option<String>,
    stmts: Vec<Stmt>,
}

impl Registry {
    /// Puts the rows of a trash file back exactly (texts, hash, created_at, updated_at), once
    /// [`Trash::check`] found nothing wrong with the file: a tampered or pending file is
    /// refused. A row already there unchanged is skipped; a different row at the same (id,
    /// version) refuses the whole restore; so does a boot the guards of spec 8.4 refuse,
    /// unless `allow`.
    pub fn restore(&self, file: &Path, allow: Allow) -> Result<RestoreReport, RegistryError> {
        self.restore_checked(file, true, allow)
    }

    /// [`Registry::restore`] without the check of the file (`restore --force`): the rows go
    /// back as the file holds them, even when their hash does not match their texts.
    pub fn restore_forced(
        &self,
        file: &Path,
        allow: Allow,
    ) -> Result<RestoreReport, RegistryError> {
        self.restore_checked(file, false, allow)
    }

    /// The rows of `file` that go back and the statements that put them there; a file the
    /// check refuses (unless `check` is off) and a different row at the same (id, version)
    /// refuse the whole restore.
    fn restore_rows(
        &self,
        file: &Path,
        check: bool,
    ) -> Result<(Vec<PackageRecord>, Vec<Stmt>), RegistryError> {
        self.refuse_if_read_only("restore")?;
        let trash_file = Trash::read_file(file)?;
        if check {
            let problems = Trash::check(&trash_file);
            if !problems.is_empty() {
                return Err(RegistryError::UntrustedTrashFile {
                    file: file.to_owned(),
                    problems,
                });
            }
        }
        let rows = trash_file.records();
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
        Ok((to_insert, stmts))
    }

    /// What restoring `file` would put back and change, rehearsed.
    /// With `check`, a file that fails [`Trash::check`] is still planned (unchecked), its
    /// refusal in [`RestorePlan::refused`]; a file that cannot be read at all is an error.
    pub fn plan_restore(&self, file: &Path, check: bool) -> Result<RestorePlan, RegistryError> {
        let (rows, stmts, refused) = match self.restore_rows(file, check) {
            Ok((rows, stmts)) => (rows, stmts, None),
            Err(e) if check => match self.restore_rows(file, false) {
                Ok((rows, stmts)) => (rows, stmts, Some(e.to_string())),
                Err(_) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        if stmts.is_empty() {
            return Ok(RestorePlan {
                rows,
                boot: Box::default(),
                refused,
                stmts,
            });
        }
        let rehearsal = self.rehearse(&[], &stmts, &[])?;
        Ok(RestorePlan {
            boot: Box::new(self.boot_effect(&rehearsal, &restore_plan(&rows))),
            rows,
            refused,
            stmts,
        })
    }

    fn restore_checked(
        &self,
        file: &Path,
        check: bool,
        allow: Allow,
    ) -> Result<RestoreReport, RegistryError> {
        let (to_insert, stmts) = self.restore_rows(file, check)?;
        if stmts.is_empty() {
            return Ok(RestoreReport {
                restored: to_insert,
                boot: BootChange::default(),
            });
        }
        let changes: Vec<Change> = to_insert
            .iter()
            .map(|r| Change {
                id: r.id.clone(),
                version: r.version.clone(),
                old_hash: None,
                new_hash: Some(r.hash.clone()),
            })
            .collect();
        let rehearsal = match self.rehearse(&[], &stmts, &[]) {
            Ok(rehearsal) => rehearsal,
            Err(e) => return Err(self.rehearsal_failed("restore", changes, e)),
        };
        let effect = self.boot_effect(&rehearsal, &restore_plan(&to_insert));
        effect.check(
            allow,
            &format!("restoring {}", file.display()),
            self.target(),
        )?;
        self.journaled("restore", changes, None, || {
            self.store.batch(&stmts)?;
            Ok(((), vec![Outcome::Written; to_insert.len()]))
        })?;
        Ok(RestoreReport {
            restored: to_insert,
            boot: effect.change,
        })
    }
}

/// What the guard needs to know about a restore: rows put back as they were (their old
/// created_at and rowid), so none of them has to become its package's newest or to load.
fn restore_plan(rows: &[PackageRecord]) -> WritePlan {
    WritePlan {
        kind: WriteKind::Restore,
        written: rows
            .iter()
            .map(|r| (r.id.clone(), r.version.clone()))
            .collect(),
        must_lead: false,
        must_load: false,
        gone: Vec::new(),
    }
}
