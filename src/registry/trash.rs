//! The trash: before a delete or an overwrite, the old rows are written to
//! `<data dir>/trash/` as JSON files that `pkgdeck restore FILE` puts back exactly. A file is
//! written to a temporary name, synced, then renamed, so it is either whole or absent.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::utc_timestamp;
use super::{PackageRecord, RegistryError};

/// Format marker of trash files, checked on restore.
const FORMAT: &str = "pkgdeck-trash/1";

#[derive(Debug, Clone)]
pub struct Trash {
    dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrashRow {
    pub id: String,
    pub version: String,
    pub manifest: String,
    pub metadata: String,
    pub hash: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// The row's rowid, so a restore can put it back in its place in the insertion order
    /// (which breaks same-second ties for "latest"). Absent in hand-made files.
    #[serde(default)]
    pub rowid: Option<i64>,
}

/// One trash file as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrashFile {
    pub format: String,
    pub saved_at: String,
    pub target: String,
    pub action: String,
    pub rows: Vec<TrashRow>,
}

/// A trash file found in the trash directory, for listing.
#[derive(Debug, Clone, PartialEq)]
pub struct TrashEntry {
    pub path: PathBuf,
    pub file: TrashFile,
}

impl Trash {
    pub fn new(dir: impl Into<PathBuf>) -> Trash {
        Trash { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves `rows` durably and returns the file's path.
    pub fn save(
        &self,
        target: &str,
        action: &str,
        rows: &[PackageRecord],
    ) -> Result<PathBuf, RegistryError> {
        let fail = |reason: String| RegistryError::Trash {
            dir: self.dir.clone(),
            reason,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| fail(e.to_string()))?;
        let now = std::time::SystemTime::now();
        let saved_at = utc_timestamp(now);
        let file = TrashFile {
            format: FORMAT.into(),
            saved_at: saved_at.clone(),
            target: target.into(),
            action: action.into(),
            rows: rows
                .iter()
                .map(|r| TrashRow {
                    id: r.id.clone(),
                    version: r.version.clone(),
                    manifest: r.manifest.clone(),
                    metadata: r.metadata.clone(),
                    hash: r.hash.clone(),
                    created_at: r.created_at.clone(),
                    updated_at: r.updated_at.clone(),
                    rowid: Some(r.rowid).filter(|id| *id > 0),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| fail(e.to_string()))?;
        let first = rows.first();
        let id = first.map(|r| r.id.as_str()).unwrap_or("empty");
        let version = match rows.len() {
            1 => first.map(|r| r.version.as_str()).unwrap_or(""),
            _ => "all",
        };
        let nanos = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let stamp: String = saved_at
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let name = format!(
            "{stamp}-{nanos:09}-{action}-{}-{}.json",
            file_safe(id),
            file_safe(version)
        );
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            if let Ok(d) = std::fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e.to_string())
        })?;
        Ok(path)
    }

    /// Reads the rows of a trash file.
    pub fn read(path: &Path) -> Result<Vec<PackageRecord>, RegistryError> {
        let file = Self::read_file(path)?;
        Ok(file
            .rows
            .into_iter()
            .map(|r| PackageRecord {
                rowid: r.rowid.unwrap_or(0),
                id: r.id,
                version: r.version,
                manifest: r.manifest,
                metadata: r.metadata,
                hash: r.hash,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    pub fn read_file(path: &Path) -> Result<TrashFile, RegistryError> {
        let bad = |reason: String| RegistryError::BadTrashFile {
            file: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let file: TrashFile = serde_json::from_str(&text)
            .map_err(|e| bad(format!("it is not a pkgdeck trash file ({e})")))?;
        if file.format != FORMAT {
            return Err(bad(format!("unknown format {:?}", file.format)));
        }
        Ok(file)
    }

    /// The trash files, newest first. Files that cannot be read are skipped.
    pub fn entries(&self) -> Vec<TrashEntry> {
        let mut out: Vec<TrashEntry> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|path| {
                Self::read_file(&path)
                    .ok()
                    .map(|file| TrashEntry { path, file })
            })
            .collect();
        out.sort_by(|a, b| b.path.file_name().cmp(&a.path.file_name()));
        out
    }
}

fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}
