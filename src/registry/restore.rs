//! Restoring a trash file: its rows go back exactly (texts, hash, dates, and their old rowid
//! when it is free, so same-second ties keep their order), never over a different row.

use std::path::Path;

use super::audit::{Change, Outcome};
use super::record::PackageRecord;
use super::trash::Trash;
use super::{Registry, RegistryError};
use crate::store::{Stmt, Value};

impl Registry {
    /// Puts the rows of a trash file back exactly (texts, hash, created_at, updated_at), once
    /// [`Trash::check`] found nothing wrong with the file: a tampered or pending file is
    /// refused. A row already there unchanged is skipped; a different row at the same (id,
    /// version) refuses the whole restore. Returns the rows restored.
    pub fn restore(&self, file: &Path) -> Result<Vec<PackageRecord>, RegistryError> {
        self.restore_checked(file, true)
    }

    /// [`Registry::restore`] without the check of the file (`restore --force`): the rows go
    /// back as the file holds them, even when their hash does not match their texts.
    pub fn restore_forced(&self, file: &Path) -> Result<Vec<PackageRecord>, RegistryError> {
        self.restore_checked(file, false)
    }

    fn restore_checked(
        &self,
        file: &Path,
        check: bool,
    ) -> Result<Vec<PackageRecord>, RegistryError> {
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
        if !stmts.is_empty() {
            let changes = to_insert
                .iter()
                .map(|r| Change {
                    id: r.id.clone(),
                    version: r.version.clone(),
                    old_hash: None,
                    new_hash: Some(r.hash.clone()),
                })
                .collect();
            self.journaled("restore", changes, None, || {
                self.store.batch(&stmts)?;
                Ok(((), vec![Outcome::Written; to_insert.len()]))
            })?;
        }
        Ok(to_insert)
    }
}
