//! Editor text nobody published, kept in `<data dir>/drafts/`: when the console is quit with
//! changes in the editor (Ctrl-C), and while a document is edited in `$VISUAL`/`$EDITOR`.
//! Each draft is the document itself (`NAME.json`, so `pkgdeck publish` takes it as it is)
//! and a small `NAME.json.origin` beside it saying what it was (a file to publish, or the
//! hotfix of a version). The console offers the drafts for resuming when it opens; a draft
//! goes once it is published or discarded.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::json;

use super::screens::editor::Origin;
use crate::config::Dirs;

/// A kept draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub path: PathBuf,
    pub origin: Origin,
    /// When it was written (the file's time), `YYYY-MM-DDTHH:MM:SSZ`.
    pub saved: String,
    pub bytes: u64,
}

/// Why a draft could not be kept, read or dropped.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("cannot write the draft {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the draft {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove the draft {}: {source}", .path.display())]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn dir(dirs: &Dirs) -> PathBuf {
    dirs.data.join("drafts")
}

/// A new draft's path: `<drafts>/<UTC stamp>-<pid>-<n>.json`.
pub fn new_path(dirs: &Dirs) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let stamp: String = crate::registry::audit::utc_timestamp(SystemTime::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    dir(dirs).join(format!(
        "{stamp}-{}-{}.json",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn origin_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".origin");
    PathBuf::from(name)
}

/// Writes `text` as the draft at `path` (a new one from [`new_path`], or the one being
/// resumed), with what it is.
pub fn save(path: &Path, origin: &Origin, text: &str) -> Result<(), DraftError> {
    let write = |p: &Path, bytes: &[u8]| -> Result<(), DraftError> {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|source| DraftError::Write {
                path: p.to_owned(),
                source,
            })?;
        }
        // The one way pkgdeck writes an output file: whole or absent.
        crate::output::write_output(p, bytes)
            .map(|_| ())
            .map_err(|e| DraftError::Write {
                path: p.to_owned(),
                source: std::io::Error::other(e),
            })
    };
    let about = match origin {
        Origin::File(file) => json!({"file": file.display().to_string()}),
        Origin::Hotfix { id, from, to } => json!({"hotfix": id, "from": from, "to": to}),
    };
    write(path, text.as_bytes())?;
    write(&origin_path(path), about.to_string().as_bytes())
}

/// The drafts kept, newest first. A draft whose origin is lost is offered as a document file.
pub fn list(dirs: &Dirs) -> Vec<Draft> {
    let Ok(entries) = std::fs::read_dir(dir(dirs)) else {
        return Vec::new();
    };
    let mut drafts: Vec<(SystemTime, Draft)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|path| {
            let meta = std::fs::metadata(&path).ok()?;
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let origin = std::fs::read_to_string(origin_path(&path))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| read_origin(&v))
                .unwrap_or_else(|| Origin::File(path.clone()));
            Some((
                modified,
                Draft {
                    saved: crate::registry::audit::utc_timestamp(modified),
                    bytes: meta.len(),
                    origin,
                    path,
                },
            ))
        })
        .collect();
    drafts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.path.cmp(&a.1.path)));
    drafts.into_iter().map(|(_, d)| d).collect()
}

fn read_origin(v: &serde_json::Value) -> Option<Origin> {
    if let Some(file) = v.get("file").and_then(|f| f.as_str()) {
        return Some(Origin::File(PathBuf::from(file)));
    }
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    Some(Origin::Hotfix {
        id: text("hotfix")?,
        from: text("from")?,
        to: text("to"),
    })
}

/// The text of a draft.
pub fn read(path: &Path) -> Result<String, DraftError> {
    std::fs::read_to_string(path).map_err(|source| DraftError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Drops a draft (it was published, or discarded).
pub fn remove(path: &Path) -> Result<(), DraftError> {
    let _ = std::fs::remove_file(origin_path(path));
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DraftError::Remove {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_keep_their_origin_and_go_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs {
            data: dir.path().to_owned(),
            config: dir.path().to_owned(),
        };
        assert!(list(&dirs).is_empty());
        let origin = Origin::Hotfix {
            id: "a".into(),
            from: "1.0.0".into(),
            to: Some("1.0.1".into()),
        };
        let path = new_path(&dirs);
        save(&path, &origin, "{\"x\": 1}").unwrap();
        let drafts = list(&dirs);
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].origin, origin);
        assert_eq!(read(&drafts[0].path).unwrap(), "{\"x\": 1}");
        remove(&path).unwrap();
        assert!(list(&dirs).is_empty());
        assert!(!origin_path(&path).exists());
    }
}
