//! Documents the operator hands pkgdeck to read (publish documents, trash files): read under
//! the document size cap of spec 4 (64 MiB, `PKGDECK_MAX_DOCUMENT` raises it), which is
//! checked before a byte is parsed and, for a regular file, before a byte is read. A pipe or
//! standard input is read up to the cap and no further, so memory stays bounded whatever
//! arrives. A directory, a device or a socket is not a document.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::output::non_regular_kind;

/// The document size cap without `PKGDECK_MAX_DOCUMENT`.
pub const DEFAULT_MAX_DOCUMENT: u64 = 64 << 20;

/// The environment variable that raises (or lowers) the cap.
pub const MAX_DOCUMENT_VAR: &str = "PKGDECK_MAX_DOCUMENT";

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// `-` is standard input; anything else a file.
    pub fn from_arg(arg: &str) -> Source {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// The name a sentence uses for it.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "standard input".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Why a document was not read. Each text is one sentence naming the source.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The document is over the cap; nothing of it was parsed.
    #[error("{source_name} is larger than the {} document size limit{}; set {MAX_DOCUMENT_VAR} (bytes, or with a K, M or G suffix) to raise it", size_text(*.limit), .size.map(|s| format!(" ({})", size_text(s))).unwrap_or_default())]
    TooLarge {
        source_name: String,
        size: Option<u64>,
        limit: u64,
    },
    /// The path names a directory, a device or a socket.
    #[error("{source_name} is {kind}, not a document")]
    NotAFile {
        source_name: String,
        kind: &'static str,
    },
    /// The document is not UTF-8 text.
    #[error("{source_name} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { source_name: String, offset: usize },
    /// `PKGDECK_MAX_DOCUMENT` is not a size.
    #[error(
        "{MAX_DOCUMENT_VAR}={value:?} is not a size (bytes, or a number with a K, M or G suffix)"
    )]
    BadLimit { value: String },
    /// Reading failed.
    #[error("cannot read {source_name}: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
}

/// `64 MiB`, `1.5 GiB`, `200 bytes`.
fn size_text(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenths} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

/// The cap in force: `PKGDECK_MAX_DOCUMENT` when set, else [`DEFAULT_MAX_DOCUMENT`].
pub fn max_document() -> Result<u64, InputError> {
    match std::env::var(MAX_DOCUMENT_VAR) {
        Ok(value) if !value.trim().is_empty() => {
            parse_size(&value).ok_or(InputError::BadLimit { value })
        }
        _ => Ok(DEFAULT_MAX_DOCUMENT),
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        _ => (t, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Reads a whole document as text under the cap in force.
pub fn read_document(source: &Source) -> Result<String, InputError> {
    read_capped(source, max_document()?)
}

/// [`read_document`] of a file.
pub fn read_document_file(path: &Path) -> Result<String, InputError> {
    read_document(&Source::File(path.to_path_buf()))
}

/// Reads `source` as UTF-8 text of at most `limit` bytes.
pub fn read_capped(source: &Source, limit: u64) -> Result<String, InputError> {
    let source_name = source.name();
    let io = |error| InputError::Io {
        source_name: source.name(),
        error,
    };
    let too_large = |size| InputError::TooLarge {
        source_name: source.name(),
        size,
        limit,
    };
    let mut bytes = Vec::new();
    match source {
        Source::Stdin => {
            std::io::stdin()
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(io)?;
        }
        Source::File(path) => {
            // Looked at before it is opened: opening a device can act on it, and a regular
            // file over the cap is refused without reading a byte.
            let meta = std::fs::metadata(path).map_err(io)?;
            let kind = meta.file_type();
            if !kind.is_file() && !kind.is_fifo() {
                return Err(InputError::NotAFile {
                    source_name,
                    kind: non_regular_kind(&meta).unwrap_or("not a regular file"),
                });
            }
            if kind.is_file() && meta.len() > limit {
                return Err(too_large(Some(meta.len())));
            }
            // A pipe (`<(…)`, a FIFO) is a stream like standard input, read up to the cap.
            let file = std::fs::File::open(path).map_err(io)?;
            if kind.is_file() {
                bytes.reserve_exact(meta.len() as usize);
            }
            file.take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(io)?;
        }
    }
    if bytes.len() as u64 > limit {
        return Err(too_large(None));
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        source_name,
        offset: e.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size(" 2g "), Some(2 << 30));
        assert_eq!(parse_size("1.5G"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(size_text(64 << 20), "64 MiB");
        assert_eq!(size_text(200 * 1_000_000), "190.7 MiB");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, vec![b' '; 2048]).unwrap();
        let source = Source::File(path);
        let e = read_capped(&source, 1024).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::TooLarge {
                    size: Some(2048),
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("PKGDECK_MAX_DOCUMENT"), "{e}");
        assert_eq!(read_capped(&source, 2048).unwrap().len(), 2048);
        let e = read_capped(&Source::File("/dev/zero".into()), 1024).unwrap_err();
        assert!(e.to_string().contains("is a device"), "{e}");
        let e = read_capped(&Source::File(dir.path().into()), 1024).unwrap_err();
        assert!(
            matches!(e, InputError::NotAFile { .. } | InputError::Io { .. }),
            "{e}"
        );
    }
}
