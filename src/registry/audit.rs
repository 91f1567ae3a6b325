//! The audit log: one JSON line per write in `<data dir>/audit.log` (time, user, masked
//! target, action, id, version, old and new hash). Never a token: targets arrive masked.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: Option<PathBuf>,
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

    /// Appends one line. A write already happened when this is called, so a failure to log is
    /// reported on stderr rather than undoing it.
    pub fn record(
        &self,
        target: &str,
        action: &str,
        id: &str,
        version: &str,
        old_hash: Option<&str>,
        new_hash: Option<&str>,
    ) {
        let Some(path) = &self.path else { return };
        let line = Line {
            time: utc_timestamp(std::time::SystemTime::now()),
            user: current_user(),
            target,
            action,
            id,
            version,
            old_hash,
            new_hash,
        };
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
            text.push('\n');
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(text.as_bytes())
        })();
        if let Err(e) = result {
            eprintln!(
                "pkgdeck: could not append to the audit log {}: {e}",
                path.display()
            );
        }
    }
}

/// The operating-system user, for audit lines.
pub fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC.
pub fn utc_timestamp(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
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

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_795_482_061)),
            "2026-11-24T01:01:01Z"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
