//! Files pkgdeck writes for the operator or for itself (`export -o`, drafts, trash files):
//! [`write_output`] is the one function that writes them. A regular file is replaced
//! atomically (a temporary file in the same directory, synced, then renamed over it) and
//! keeps its permissions; a symlink is followed to the file it names; a device, FIFO, socket
//! or directory is refused, so nothing ever replaces (or blocks on) a file that is not a
//! regular one. Temporary files are locked while they are written, so the next run can tell
//! the leftovers of a killed writer ([`remove_stale_temporaries`]) from a live one's.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many symlinks are followed before a path is called a loop (as the kernel's ELOOP).
const MAX_LINKS: usize = 40;

/// Temporary files end with this, after a leading dot.
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file no writer holds locked and older than this is a leftover (a younger one
/// may belong to a writer that has just created it and not locked it yet).
pub const STALE_AGE: Duration = Duration::from_secs(1);

/// Why an output file was not written. The text is one sentence naming the path.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path names something that is not a regular file; it is left as it is.
    #[error("{} is {kind}, not a regular file; nothing was written to it", .path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    /// Following symlinks from the path did not end.
    #[error("{} is a symlink loop; nothing was written", .path.display())]
    LinkLoop { path: PathBuf },
    /// The file system refused (permissions, space, a missing directory).
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OutputError {
    /// Whether the operator named a path that cannot take a file (a device, a directory…)
    /// rather than the file system failing.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, OutputError::Io { .. })
    }
}

/// What kind of file `meta` describes, as a sentence names it; `None` for a regular file.
pub fn non_regular_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else {
        Some("not a regular file")
    }
}

/// The file a path ends at once every symlink is followed (the path itself when it is not a
/// symlink), and that file's metadata when it exists.
fn follow(path: &Path) -> Result<(PathBuf, Option<std::fs::Metadata>), OutputError> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&at).map_err(|source| OutputError::Io {
                    path: at.clone(),
                    source,
                })?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(meta) => return Ok((at, Some(meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((at, None)),
            Err(source) => return Err(OutputError::Io { path: at, source }),
        }
    }
    Err(OutputError::LinkLoop {
        path: path.to_path_buf(),
    })
}

/// Writes `bytes` to `path`: a new file is created, a regular file replaced atomically with
/// its permissions kept, a symlink followed; anything else is refused. Returns the file
/// written (the symlink's target when `path` is one).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<PathBuf, OutputError> {
    let (file, meta) = follow(path)?;
    if let Some(kind) = meta.as_ref().and_then(non_regular_kind) {
        return Err(OutputError::NotRegular { path: file, kind });
    }
    let io = |source| OutputError::Io {
        path: file.clone(),
        source,
    };
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A writer of this same file that was killed left its temporary file here.
    remove_stale(&dir, Some(&format!(".{name}.")), STALE_AGE);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{nanos}{TEMP_SUFFIX}",
        std::process::id()
    ));
    // Owner-only until the final permissions are set: the old file's may be stricter than
    // the default, and its contents must not be readable by others in between.
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    if meta.is_some() {
        options.mode(0o600);
    }
    let mut out = options.open(&tmp).map_err(io)?;
    let written = (|| -> std::io::Result<()> {
        out.try_lock().map_err(std::io::Error::other)?;
        out.write_all(bytes)?;
        if let Some(meta) = &meta {
            out.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o7777,
            ))?;
        }
        out.sync_all()?;
        std::fs::rename(&tmp, &file)?;
        // The rename is durable once the directory is.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    drop(out);
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(OutputError::Io { path: file, source });
    }
    Ok(file)
}

/// Whether `name` is one of [`write_output`]'s temporary files.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Whether the process `pid` is alive (it may be another user's: then it exists too).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pid in a temporary file's name (`.NAME.PID.NANOS.tmp`).
fn writer_pid(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = stem.rsplit('.');
    parts.next()?;
    parts.next()?.parse().ok()
}

/// Removes the temporary files a killed writer left in `dir`: those whose writer is no
/// longer alive, and those no writer holds locked that are older than `age` (a writer locks
/// its file as it creates it, so a younger one may be about to be locked). Returns how many
/// were removed.
pub fn remove_stale_temporaries(dir: &Path, age: Duration) -> usize {
    remove_stale(dir, None, age)
}

/// [`remove_stale_temporaries`] of the temporary files whose name starts with `prefix`.
fn remove_stale(dir: &Path, prefix: Option<&str>, age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_temporary(&name) || prefix.is_some_and(|p| !name.starts_with(p)) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.file_type().is_file() {
            continue;
        }
        let dead = writer_pid(&name).is_some_and(|pid| !process_alive(pid));
        let old = meta
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d >= age);
        if !dead && !old {
            continue;
        }
        let Ok(f) = OpenOptions::new().write(true).open(&path) else {
            continue;
        };
        if f.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn replaces_a_regular_file_keeping_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_output(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
        // The leftover of a killed writer of the same file goes with the next write.
        let leftover = dir.path().join(".out.json.4194305.1.tmp");
        std::fs::write(&leftover, "half").unwrap();
        write_output(&path, b"newer").unwrap();
        assert!(!leftover.exists());
    }

    #[test]
    fn follows_symlinks_and_refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        symlink("real.json", &link).unwrap();
        assert_eq!(write_output(&link, b"new").unwrap(), real);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");

        let e = write_output(dir.path(), b"x").unwrap_err();
        assert!(
            e.is_refusal() && e.to_string().contains("is a directory"),
            "{e}"
        );
        let e = write_output(Path::new("/dev/null"), b"x").unwrap_err();
        assert!(e.to_string().contains("is a device"), "{e}");
        let to_device = dir.path().join("null");
        symlink("/dev/null", &to_device).unwrap();
        let e = write_output(&to_device, b"x").unwrap_err();
        assert!(e.to_string().contains("/dev/null is a device"), "{e}");
        let looped = dir.path().join("loop");
        symlink("loop", &looped).unwrap();
        assert!(matches!(
            write_output(&looped, b"x"),
            Err(OutputError::LinkLoop { .. })
        ));
    }

    #[test]
    fn stale_temporaries_go_and_locked_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".a.json.1.2.tmp");
        let live = dir.path().join(".b.json.1.3.tmp");
        // A young file whose writer is dead (no process has pid 2^22 + 1 on Linux) goes at
        // once; a young one whose writer lives stays.
        let dead = dir.path().join(".c.json.4194305.5.tmp");
        let young = dir
            .path()
            .join(format!(".d.json.{}.6.tmp", std::process::id()));
        std::fs::write(&dead, "half").unwrap();
        std::fs::write(&young, "half").unwrap();
        assert_eq!(
            remove_stale_temporaries(dir.path(), Duration::from_secs(3600)),
            1
        );
        assert!(!dead.exists() && young.exists());
        std::fs::remove_file(&young).unwrap();
        std::fs::write(&stale, "half").unwrap();
        let held = File::create(&live).unwrap();
        held.lock().unwrap();
        std::fs::write(dir.path().join("keep.json"), "{}").unwrap();
        assert_eq!(remove_stale_temporaries(dir.path(), Duration::ZERO), 1);
        assert!(!stale.exists() && live.exists());
        assert!(dir.path().join("keep.json").exists());
    }
}
