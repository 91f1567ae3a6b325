//! The trash: before a delete or an overwrite, the old rows are written to
//! `<data dir>/trash/` as JSON files that `pkgdeck restore FILE` puts back exactly. A file is
//! written as `pending` before the write and rewritten as `completed` (holding only the rows
//! the write really removed) after it; a write that did not happen takes its file away, so no
//! file claims a write that never was. Every file goes through [`write_output`], so it is
//! either whole or absent. [`Trash::check`] is what `restore` looks at before trusting a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::audit::utc_timestamp;
use super::canonical::{self, JsValue};
use super::{PackageRecord, RegistryError};
use crate::input::read_document_file;
use crate::output::write_output;

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

impl TrashRow {
    fn of(r: &PackageRecord) -> TrashRow {
        TrashRow {
            id: r.id.clone(),
            version: r.version.clone(),
            manifest: r.manifest.clone(),
            metadata: r.metadata.clone(),
            hash: r.hash.clone(),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
            rowid: Some(r.rowid).filter(|id| *id > 0),
        }
    }

    fn record(self) -> PackageRecord {
        PackageRecord {
            rowid: self.rowid.unwrap_or(0),
            id: self.id,
            version: self.version,
            manifest: self.manifest,
            metadata: self.metadata,
            hash: self.hash,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Whether the write a trash file belongs to is known to have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrashState {
    /// Written before the write; the write has not been seen to finish.
    Pending,
    /// The write happened: the file's rows left the registry.
    #[default]
    Completed,
}

impl TrashState {
    pub fn label(self) -> &'static str {
        match self {
            TrashState::Pending => "pending",
            TrashState::Completed => "completed",
        }
    }
}

/// One trash file as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrashFile {
    pub format: String,
    /// Files written before states existed are completed ones.
    #[serde(default)]
    pub state: TrashState,
    pub saved_at: String,
    pub target: String,
    pub action: String,
    /// The write this file belongs to (its journal and audit `op`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    pub rows: Vec<TrashRow>,
}

impl TrashFile {
    /// The rows as records, to be put back.
    pub fn records(self) -> Vec<PackageRecord> {
        self.rows.into_iter().map(TrashRow::record).collect()
    }
}

/// A trash file found in the trash directory, for listing.
#[derive(Debug, Clone, PartialEq)]
pub struct TrashEntry {
    pub path: PathBuf,
    pub file: TrashFile,
}

/// A trash file written as pending, before the write it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTrash {
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

    fn fail(&self, reason: String) -> RegistryError {
        RegistryError::Trash {
            dir: self.dir.clone(),
            reason,
        }
    }

    /// The path a new trash file of `action` on `rows` gets: sortable by time, unique to
    /// the nanosecond, readable by package.
    pub fn path_for(&self, action: &str, rows: &[PackageRecord]) -> (PathBuf, String) {
        let now = std::time::SystemTime::now();
        let saved_at = utc_timestamp(now);
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
        (self.dir.join(name), saved_at)
    }

    /// Saves `rows` as a pending file at `path` (from [`Trash::path_for`]), durably, before
    /// the write of `op`.
    pub fn save_pending(
        &self,
        path: PathBuf,
        saved_at: String,
        target: &str,
        action: &str,
        op: &str,
        rows: &[PackageRecord],
    ) -> Result<PendingTrash, RegistryError> {
        let file = TrashFile {
            format: FORMAT.into(),
            state: TrashState::Pending,
            saved_at,
            target: target.into(),
            action: action.into(),
            op: Some(op.into()),
            rows: rows.iter().map(TrashRow::of).collect(),
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| self.fail(e.to_string()))?;
        self.write(&path, &file)?;
        Ok(PendingTrash { path, file })
    }

    /// After the write: a file that keeps the rows that really left the registry (`kept`
    /// says which, in the file's order) becomes completed; one that keeps none goes.
    pub fn settle(&self, pending: &PendingTrash, kept: &[bool]) -> Result<(), RegistryError> {
        let mut file = pending.file.clone();
        let mut keep = kept.iter();
        file.rows.retain(|_| keep.next().copied().unwrap_or(false));
        if file.rows.is_empty() {
            return match std::fs::remove_file(&pending.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.fail(e.to_string())),
            };
        }
        file.state = TrashState::Completed;
        self.write(&pending.path, &file)
    }

    fn write(&self, path: &Path, file: &TrashFile) -> Result<(), RegistryError> {
        let text = serde_json::to_string_pretty(file).map_err(|e| self.fail(e.to_string()))?;
        write_output(path, text.as_bytes()).map_err(|e| self.fail(e.to_string()))?;
        Ok(())
    }

    /// Reads the rows of a trash file.
    pub fn read(path: &Path) -> Result<Vec<PackageRecord>, RegistryError> {
        Ok(Self::read_file(path)?.records())
    }

    /// Reads a trash file (under the document size cap) and checks its format marker.
    pub fn read_file(path: &Path) -> Result<TrashFile, RegistryError> {
        let bad = |reason: String| RegistryError::BadTrashFile {
            file: path.to_owned(),
            reason,
        };
        let text = read_document_file(path).map_err(|e| bad(e.to_string()))?;
        let file: TrashFile = serde_json::from_str(&text)
            .map_err(|e| bad(format!("it is not a pkgdeck trash file ({e})")))?;
        if file.format != FORMAT {
            return Err(bad(format!("unknown format {:?}", file.format)));
        }
        Ok(file)
    }

    /// What is wrong with a trash file's rows, one sentence each: a file whose write never
    /// finished, a hash that does not match its texts, an id or version that is not its
    /// manifest's. Empty when every row can be trusted to go back as it was.
    pub fn check(file: &TrashFile) -> Vec<String> {
        let mut problems = Vec::new();
        if file.state == TrashState::Pending {
            problems.push(
                "it is pending: the write it was saved for was not seen to finish".to_owned(),
            );
        }
        if file.rows.is_empty() {
            problems.push("it holds no rows".to_owned());
        }
        for r in &file.rows {
            let row = format!("row {} {}", r.id, r.version);
            if canonical::integrity_hash(&r.manifest, &r.metadata) != r.hash {
                problems.push(format!(
                    "{row}: its hash does not match its manifest and metadata"
                ));
            }
            match canonical::parse_stored(&r.manifest) {
                Err(e) => problems.push(format!("{row}: its manifest is not valid JSON ({e})")),
                Ok(m) => {
                    let field = |k: &str| m.get(k).and_then(JsValue::as_str).map(str::to_owned);
                    if field("id").as_deref() != Some(r.id.as_str())
                        || field("version").as_deref() != Some(r.version.as_str())
                    {
                        problems.push(format!(
                            "{row}: its manifest says {} {}",
                            field("id").unwrap_or_else(|| "(no id)".into()),
                            field("version").unwrap_or_else(|| "(no version)".into())
                        ));
                    }
                }
            }
            if canonical::parse_stored(&r.metadata).is_err() {
                problems.push(format!("{row}: its metadata is not valid JSON"));
            }
        }
        problems
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
