//! A publish document as the console edits it: the file it is read from, what validation
//! says about the text (the registry's own `prepare_publish`, so the editor can never
//! disagree with a publish), the text of a hotfix's document, and how invisible characters
//! are kept off the screen without changing what the document means.

use std::path::{Path, PathBuf};

use crate::registry::canonical::{CanonicalError, JsValue};
use crate::registry::manifest::DocumentProblem;
use crate::registry::pretty::pretty;
use crate::registry::{prepare_publish, PreparedPublish, RegistryError};

/// Files larger than this are not opened in the editor (`pkgdeck publish FILE` takes them).
pub const EDITOR_FILE_LIMIT: u64 = 8 * 1024 * 1024;

/// Documents up to this size are validated on every keystroke on the UI thread (a parse, a
/// stringify, a SHA-256 and the ObjectStack schemas: about a millisecond at this size in a
/// release build); larger ones are validated by the worker once typing pauses.
pub const INLINE_LIMIT: usize = 64 * 1024;

/// What validating an editor's text found.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// Publishable: exactly what would be stored.
    Valid(Box<PreparedPublish>),
    /// Not JSON; `line` and `column` are 1-based.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a valid package document: every problem with its JSON path.
    Problems(Vec<DocumentProblem>),
}

impl Validation {
    pub fn of(text: &str) -> Validation {
        match prepare_publish(text, "the editor") {
            Ok(p) => Validation::Valid(Box::new(p)),
            Err(RegistryError::InvalidJson { error, .. }) => Validation::Syntax {
                line: error.line(),
                column: error.column(),
                // The position is shown on its own; the other kinds say it mid-sentence.
                message: match &error {
                    CanonicalError::Syntax { message, .. } => message.clone(),
                    other => other.to_string(),
                },
            },
            Err(RegistryError::InvalidDocument { problems, .. }) => Validation::Problems(problems),
            // prepare_publish touches no store: these two are all it returns.
            Err(other) => Validation::Problems(vec![DocumentProblem {
                path: "$".into(),
                message: other.to_string(),
            }]),
        }
    }

    pub fn prepared(&self) -> Option<&PreparedPublish> {
        match self {
            Validation::Valid(p) => Some(p),
            _ => None,
        }
    }
}

/// The editor's starting text for a hotfix: the document the registry made
/// ([`crate::registry::Registry::hotfix_source`]) pretty-printed and made visible.
pub fn hotfix_text(document: &JsValue) -> String {
    visible(&pretty(document))
}

/// Why a document file cannot be opened in the editor.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file cannot be found or its metadata read.
    #[error("cannot open {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The path names a directory.
    #[error("{} is a directory, not a document file", .path.display())]
    Directory { path: PathBuf },
    /// The file is larger than [`EDITOR_FILE_LIMIT`].
    #[error("{} is {megabytes} MB, too large to edit in the console; publish it with pkgdeck publish FILE", .path.display())]
    TooLarge { path: PathBuf, megabytes: u64 },
    /// The file's bytes cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not UTF-8; `offset` is its first invalid byte.
    #[error("{} is not UTF-8 text (invalid byte at offset {offset})", .path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
}

/// The text of a document file for the editor, made [`visible`], or why it cannot be opened.
pub fn read_file(path: &Path) -> Result<String, FileError> {
    let path_buf = || path.to_path_buf();
    let meta = std::fs::metadata(path).map_err(|source| FileError::Open {
        path: path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return Err(FileError::Directory { path: path_buf() });
    }
    if meta.len() > EDITOR_FILE_LIMIT {
        return Err(FileError::TooLarge {
            path: path_buf(),
            megabytes: meta.len() / 1_000_000,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| FileError::Read {
        path: path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| FileError::NotUtf8 {
        path: path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    Ok(visible(&text))
}

/// The text with every character the terminal would not show faithfully (DEL, C1 controls,
/// bidi controls, zero-width and other invisible format characters: what
/// [`crate::untrusted::printable`] replaces) written as a `\uXXXX` escape (a surrogate pair
/// above U+FFFF). Such characters can only stand inside JSON strings, where the escape means
/// the same character, so the document's value (and so its hash) does not change; C0
/// controls are left alone because JSON does not allow them raw, and escaping them would turn
/// an invalid document into a valid one. The editor shows this text, and `y` copies it.
pub fn visible(text: &str) -> String {
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn hidden(c: char) -> bool {
    crate::untrusted::needs_placeholder(c) && !matches!(c, '\0'..='\u{1f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"manifest":{"id":"a","version":"1.1.1","type":"app","name":"A\u009b2J"},"metadata":{"objects":[]}}"#;

    #[test]
    fn hotfix_bumps_the_patch_and_keeps_everything_else() {
        let existing = ["1.1.1", "1.1.2"];
        let parsed = crate::registry::canonical::parse(DOC).unwrap();
        let (doc, bumped) = crate::registry::hotfix_document(parsed, "1.1.1", &existing);
        let text = hotfix_text(&doc);
        assert_eq!(bumped.as_deref(), Some("1.1.3"));
        assert!(text.contains("\"version\": \"1.1.3\""), "{text}");
        assert!(text.contains("\"name\": \"A\\u009b2J\""), "escaped: {text}");
        let Validation::Valid(p) = Validation::of(&text) else {
            panic!("the hotfix text validates");
        };
        let original = prepare_publish(DOC, "doc").unwrap();
        assert_eq!(p.metadata, original.metadata);
        assert_eq!(
            p.manifest,
            original.manifest.replace("1.1.1", "1.1.3"),
            "the escape stores the same character"
        );
    }

    #[test]
    fn validation_reports_where_and_what() {
        match Validation::of("{\n  \"manifest\": {,\n}") {
            Validation::Syntax { line, column, .. } => assert_eq!((line, column), (2, 16)),
            other => panic!("{other:?}"),
        }
        match Validation::of(
            r#"{"manifest":{"id":"a","version":"1.2","type":"app","name":"A"},"metadata":{}}"#,
        ) {
            Validation::Problems(p) => assert_eq!(p[0].path, "$.manifest.version"),
            other => panic!("{other:?}"),
        }
        assert_eq!(visible("plain \u{1b}"), "plain \u{1b}");
        assert_eq!(
            visible("\"a\u{200b}\u{e0041}\""),
            "\"a\\u200b\\udb40\\udc41\"",
            "zero-width and tag characters, as JSON escapes"
        );
    }
}
