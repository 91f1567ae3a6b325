//! What the console knows about integrity: the results of the verifies run in this session,
//! turned into the badges the lists show. Nothing is known until a verify says so; a refresh
//! forgets everything, because the rows may have changed.

use std::collections::{HashMap, HashSet};

use crate::registry::{Scope, Verification, VerifyReport};

/// The integrity badge of a version or a package; the order is "how bad".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Badge {
    Unknown,
    Ok,
    Warn,
    Fail,
}

impl Badge {
    pub fn label(self) -> &'static str {
        match self {
            Badge::Unknown => "unknown",
            Badge::Ok => "ok",
            Badge::Warn => "warn",
            Badge::Fail => "FAIL",
        }
    }
}

/// The verdict on one version and the codes behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub badge: Badge,
    pub codes: Vec<&'static str>,
}

impl Verdict {
    pub fn of(v: &Verification) -> Verdict {
        let badge = if !v.ok() {
            Badge::Fail
        } else if !v.warnings.is_empty() {
            Badge::Warn
        } else {
            Badge::Ok
        };
        Verdict {
            badge,
            codes: codes(v),
        }
    }
}

/// The problem codes of a row, then its warning codes.
pub fn codes(v: &Verification) -> Vec<&'static str> {
    v.problems
        .iter()
        .map(|p| p.code())
        .chain(v.warnings.iter().map(|w| w.code()))
        .collect()
}

#[derive(Debug, Default, Clone)]
pub struct Integrity {
    /// A complete verify of every row ran: whatever it did not flag is ok.
    all: bool,
    /// Packages whose every version was verified.
    packages: HashSet<String>,
    /// Results of single versions and the flagged rows of wider verifies, per package.
    versions: HashMap<String, HashMap<String, Verdict>>,
}

impl Integrity {
    pub fn clear(&mut self) {
        *self = Integrity::default();
    }

    /// The result of verifying one version.
    pub fn record(&mut self, v: &Verification) {
        self.versions
            .entry(v.id.clone())
            .or_default()
            .insert(v.version.clone(), Verdict::of(v));
    }

    /// The result of a verify of `scope`. A complete wider verify replaces what was known
    /// inside its scope; a cancelled one only adds what it flagged.
    pub fn apply(&mut self, scope: &Scope, report: &VerifyReport) {
        if !report.cancelled {
            match scope {
                Scope::All => self.clear(),
                Scope::Package(id) => {
                    self.versions.remove(id);
                }
                Scope::Version(id, version) => {
                    if let Some(v) = self.versions.get_mut(id) {
                        v.remove(version);
                    }
                }
            }
        }
        for v in report.failed.iter().chain(&report.warnings) {
            self.record(v);
        }
        if report.cancelled {
            return;
        }
        match scope {
            Scope::All => self.all = true,
            Scope::Package(id) => {
                self.packages.insert(id.clone());
            }
            Scope::Version(id, version) if report.ok > 0 => {
                self.versions
                    .entry(id.clone())
                    .or_default()
                    .entry(version.clone())
                    .or_insert(Verdict {
                        badge: Badge::Ok,
                        codes: vec![],
                    });
            }
            Scope::Version(..) => {}
        }
    }

    fn covered(&self, id: &str) -> bool {
        self.all || self.packages.contains(id)
    }

    /// The verdict on one version, when one is known.
    pub fn version(&self, id: &str, version: &str) -> Option<Verdict> {
        if let Some(v) = self.versions.get(id).and_then(|m| m.get(version)) {
            return Some(v.clone());
        }
        self.covered(id).then(|| Verdict {
            badge: Badge::Ok,
            codes: vec![],
        })
    }

    /// A package fails or warns when any version does, and is ok once all were verified.
    pub fn package(&self, id: &str) -> Badge {
        let worst = self
            .versions
            .get(id)
            .and_then(|m| m.values().map(|v| v.badge).max())
            .unwrap_or(Badge::Unknown);
        match worst {
            Badge::Fail | Badge::Warn => worst,
            _ if self.covered(id) => Badge::Ok,
            _ => Badge::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Problem;

    fn failed(id: &str, version: &str) -> Verification {
        Verification {
            rowid: 1,
            id: id.into(),
            version: version.into(),
            stored_hash: "a".into(),
            computed_hash: "b".into(),
            manifest_id: None,
            manifest_version: None,
            problems: vec![Problem::HashMismatch],
            warnings: vec![],
            details: vec![],
        }
    }

    #[test]
    fn badges_follow_the_verifies() {
        let mut i = Integrity::default();
        assert_eq!(i.package("p"), Badge::Unknown);
        let report = VerifyReport {
            checked: 3,
            ok: 2,
            failed: vec![failed("p", "1.0.0")],
            warnings: vec![],
            cancelled: false,
        };
        i.apply(&Scope::All, &report);
        assert_eq!(i.package("p"), Badge::Fail);
        assert_eq!(i.package("q"), Badge::Ok);
        assert_eq!(
            i.version("p", "1.0.0").unwrap().codes,
            vec!["hash_mismatch"]
        );
        assert_eq!(i.version("p", "2.0.0").unwrap().badge, Badge::Ok);
        i.apply(
            &Scope::Package("p".into()),
            &VerifyReport {
                checked: 2,
                ok: 2,
                ..VerifyReport::default()
            },
        );
        assert_eq!(
            i.package("p"),
            Badge::Ok,
            "a fresh verify of the package replaces the old"
        );
        i.clear();
        assert_eq!(i.version("q", "1.0.0"), None);
    }
}
