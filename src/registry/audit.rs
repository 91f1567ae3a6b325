//! The audit log: `<data dir>/audit.log`, JSON lines. Every row a write touches gets an
//! intent line before the write and an outcome line after it, tied by the write's `op`; an
//! intent left without its outcome (kill -9, power loss) gets one the next time pkgdeck opens
//! that registry (see `journal`). A line holds the time, the user (`$USER`, else the OS
//! account), the target (masked, a local file's absolute path), the action, the row's id and
//! version, its old and new hash, and the outcome. Never a token: targets arrive masked.
//! Nothing here prints: a failure is returned to the registry, which decides.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: Option<PathBuf>,
}

/// Which half of a write a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Intent,
    Outcome,
}

/// What became of one row of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The row was written as the intent says.
    Written,
    /// The row already held exactly this; nothing was written.
    Unchanged,
    /// Nothing was written for this row (refused, or the row changed meanwhile and was kept).
    NotWritten,
    /// The write failed; nothing was written.
    Failed,
}

/// One row of a write: what it changes from and to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Change {
    pub id: String,
    pub version: String,
    /// The hash before the write; `None` where there was no row.
    pub old_hash: Option<String>,
    /// The hash after the write; `None` for a delete.
    pub new_hash: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    user: String,
    target: &'a str,
    action: &'a str,
    id: &'a str,
    version: &'a str,
    old_hash: Option<&'a str>,
    new_hash: Option<&'a str>,
    op: &'a str,
    phase: Phase,
    outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// The outcome was found by a later run, looking at the registry after the writer died.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    resolved_later: bool,
}

/// One line to append: which write, which phase, and for an outcome what happened.
pub struct Entry<'a> {
    pub target: &'a str,
    pub action: &'a str,
    pub op: &'a str,
    pub phase: Phase,
    pub outcome: Option<Outcome>,
    pub reason: Option<&'a str>,
    pub resolved_later: bool,
}

/// The audit log could not be appended to.
#[derive(Debug, thiserror::Error)]
#[error("cannot append to the audit log {}: {source}", .path.display())]
pub struct AuditError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: Some(path.into()),
        }
    }

    /// A log that records nothing (for read-only sessions and library users without a data dir).
    pub fn disabled() -> AuditLog {
        AuditLog { path: None }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one line per change, all in one write so that they stay together.
    pub fn append(&self, entry: &Entry<'_>, changes: &[Change]) -> Result<(), AuditError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fail = |source| AuditError {
            path: path.clone(),
            source,
        };
        let time = utc_timestamp(std::time::SystemTime::now());
        let user = current_user();
        let mut text = String::new();
        for c in changes {
            let line = Line {
                time: time.clone(),
                user: user.clone(),
                target: entry.target,
                action: entry.action,
                id: &c.id,
                version: &c.version,
                old_hash: c.old_hash.as_deref(),
                new_hash: c.new_hash.as_deref(),
                op: entry.op,
                phase: entry.phase,
                outcome: entry.outcome,
                reason: entry.reason,
                resolved_later: entry.resolved_later,
            };
            text.push_str(&serde_json::to_string(&line).map_err(|e| fail(e.into()))?);
            text.push('\n');
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        // A writer killed in the middle of its append (SIGKILL lands between the pages of
        // one write) left a line without its newline: end it, so that it stays one broken
        // line instead of swallowing this one.
        if !ends_a_line(&mut file).map_err(fail)? {
            text.insert(0, '\n');
        }
        file.write_all(text.as_bytes()).map_err(fail)
    }
}

/// Whether `file` is empty or ends with a newline.
fn ends_a_line(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The user for audit lines: `$USER` (or `$LOGNAME`), else the name of the OS account the
/// process runs as, else its numeric uid.
pub fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(os_account)
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            format!("uid {}", unsafe { libc::getuid() })
        })
}

/// The login name of the process's real uid, from the system's account database.
fn os_account() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf` outlives the strings it holds;
    // getuid cannot fail.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &raw mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &raw mut found,
        )
    };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name points at a NUL-terminated string in `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// A line a killed writer left without its newline stays a line of its own: the next
    /// append starts on a new line and parses whole.
    #[test]
    fn an_append_after_a_torn_line_starts_a_new_line() {
        let dir = std::env::temp_dir().join(format!("pkgdeck-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        let log = AuditLog::new(&path);
        let entry = Entry {
            target: "t.db",
            action: "delete",
            op: "op1",
            phase: Phase::Intent,
            outcome: None,
            reason: None,
            resolved_later: false,
        };
        let change = Change {
            id: "com.acme.crm".into(),
            version: "1.0.0".into(),
            old_hash: None,
            new_hash: None,
        };
        log.append(&entry, std::slice::from_ref(&change))
            .expect("append");
        let whole = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, format!("{whole}{}", &whole[..40])).expect("tear a line");
        log.append(&entry, &[change])
            .expect("append after the torn line");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[1], &whole[..40]);
        for line in [lines[0], lines[2]] {
            serde_json::from_str::<serde_json::Value>(line).expect("a whole line parses");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_795_482_061)),
            "2026-11-24T01:01:01Z"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_hours(264_384)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn the_os_account_names_the_user() {
        let name = os_account().expect("the process runs as an account with a name");
        assert!(!name.is_empty() && !name.contains('\0'));
    }
}
