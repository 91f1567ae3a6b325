//! What the console knows about integrity: the result of every row verified this session,
//! kept with a fingerprint of the row's stored hash and turned into the badges the lists
//! show. Nothing is known until a verify says so. A result outlives refreshes and writes for
//! as long as the row keeps its hash: the lists hand every row they receive to
//! [`Integrity::seen`], which forgets a result whose row now has another hash, and a package
//! or version that is gone is forgotten with it.

use std::collections::{HashMap, HashSet};

use super::protocol::{fingerprint, Checked};
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
        Verdict::from_codes(
            !v.ok(),
            v.problems
                .iter()
                .map(|p| p.code())
                .chain(v.warnings.iter().map(|w| w.code()))
                .collect(),
            !v.warnings.is_empty(),
        )
    }

    fn checked(c: &Checked) -> Verdict {
        Verdict::from_codes(
            !c.problems.is_empty(),
            c.problems
                .iter()
                .map(|p| p.code())
                .chain(c.warnings.iter().map(|w| w.code()))
                .collect(),
            !c.warnings.is_empty(),
        )
    }

    fn from_codes(failed: bool, codes: Vec<&'static str>, warned: bool) -> Verdict {
        let badge = if failed {
            Badge::Fail
        } else if warned {
            Badge::Warn
        } else {
            Badge::Ok
        };
        Verdict { badge, codes }
    }
}

/// The problem codes of a row, then its warning codes.
pub fn codes(v: &Verification) -> Vec<&'static str> {
    Verdict::of(v).codes
}

/// One row's result, with the fingerprint of the stored hash it was found for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Known {
    hash: u64,
    verdict: Verdict,
}

#[derive(Debug, Default, Clone)]
pub struct Integrity {
    /// Per package, per version.
    rows: HashMap<String, HashMap<String, Known>>,
}

impl Integrity {
    pub fn clear(&mut self) {
        self.rows.clear();
    }

    fn insert(&mut self, id: &str, version: &str, hash: u64, verdict: Verdict) {
        self.rows
            .entry(id.to_owned())
            .or_default()
            .insert(version.to_owned(), Known { hash, verdict });
    }

    /// The result of verifying one version (a detail screen's load, a publish's read-back).
    pub fn record(&mut self, v: &Verification) {
        self.insert(
            &v.id,
            &v.version,
            fingerprint(&v.stored_hash),
            Verdict::of(v),
        );
    }

    /// The result of a verify of `scope`, with every row it checked. A complete verify
    /// replaces what was known inside its scope (rows it did not meet are gone); a cancelled
    /// one only adds what it checked.
    pub fn apply(&mut self, scope: &Scope, report: &VerifyReport, rows: &[Checked]) {
        if !report.cancelled {
            match scope {
                Scope::All => self.clear(),
                Scope::Package(id) => {
                    self.rows.remove(id);
                }
                Scope::Version(id, version) => self.forget(id, version),
            }
        }
        for c in rows {
            self.insert(&c.id, &c.version, c.hash, Verdict::checked(c));
        }
    }

    /// A row as a list received it: a result found for another hash is forgotten.
    pub fn seen(&mut self, id: &str, version: &str, hash: &str) {
        let stale = self
            .rows
            .get(id)
            .and_then(|m| m.get(version))
            .is_some_and(|k| k.hash != fingerprint(hash));
        if stale {
            self.forget(id, version);
        }
    }

    /// Every version of `id` as the registry has it now: results of versions that are gone
    /// or changed are forgotten.
    pub fn seen_versions<'a>(
        &mut self,
        id: &str,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let Some(known) = self.rows.get_mut(id) else {
            return;
        };
        let now: HashMap<&str, u64> = rows
            .into_iter()
            .map(|(version, hash)| (version, fingerprint(hash)))
            .collect();
        known.retain(|version, k| now.get(version.as_str()) == Some(&k.hash));
        if known.is_empty() {
            self.rows.remove(id);
        }
    }

    /// Every package the registry has now: results of packages that are gone are forgotten.
    pub fn keep_packages(&mut self, ids: &HashSet<&str>) {
        self.rows.retain(|id, _| ids.contains(id.as_str()));
    }

    pub fn forget(&mut self, id: &str, version: &str) {
        if let Some(m) = self.rows.get_mut(id) {
            m.remove(version);
            if m.is_empty() {
                self.rows.remove(id);
            }
        }
    }

    /// The verdict on one version whose stored hash is `hash`, when one is known.
    pub fn version(&self, id: &str, version: &str, hash: &str) -> Option<Verdict> {
        let k = self.rows.get(id)?.get(version)?;
        (k.hash == fingerprint(hash)).then(|| k.verdict.clone())
    }

    /// A package fails or warns when any version does, and is ok once all `versions` of it
    /// were verified ok.
    pub fn package(&self, id: &str, versions: u64) -> Badge {
        let Some(known) = self.rows.get(id) else {
            return Badge::Unknown;
        };
        let worst = known
            .values()
            .map(|k| k.verdict.badge)
            .max()
            .unwrap_or(Badge::Unknown);
        match worst {
            Badge::Fail | Badge::Warn => worst,
            _ if known.len() as u64 == versions => Badge::Ok,
            _ => Badge::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Problem;

    fn checked(id: &str, version: &str, hash: &str, failed: bool) -> Checked {
        Checked {
            id: id.into(),
            version: version.into(),
            hash: fingerprint(hash),
            problems: if failed {
                vec![Problem::HashMismatch]
            } else {
                vec![]
            },
            warnings: vec![],
        }
    }

    #[test]
    fn badges_follow_the_verifies_and_the_hashes() {
        let mut i = Integrity::default();
        assert_eq!(i.package("p", 2), Badge::Unknown);
        let report = VerifyReport {
            checked: 3,
            ok: 2,
            ..VerifyReport::default()
        };
        let rows = [
            checked("p", "1.0.0", "h1", true),
            checked("p", "2.0.0", "h2", false),
            checked("q", "1.0.0", "h3", false),
        ];
        i.apply(&Scope::All, &report, &rows);
        assert_eq!(i.package("p", 2), Badge::Fail);
        assert_eq!(i.package("q", 1), Badge::Ok);
        assert_eq!(
            i.package("q", 2),
            Badge::Unknown,
            "a version nobody verified"
        );
        assert_eq!(
            i.version("p", "1.0.0", "h1").unwrap().codes,
            vec!["hash_mismatch"]
        );
        assert_eq!(i.version("p", "2.0.0", "h2").unwrap().badge, Badge::Ok);
        assert_eq!(i.version("p", "2.0.0", "other"), None, "another hash");

        // A refresh that finds p 1.0.0 rewritten forgets only that result.
        i.seen_versions("p", [("1.0.0", "h1-new"), ("2.0.0", "h2")]);
        assert_eq!(i.version("p", "1.0.0", "h1-new"), None);
        assert_eq!(i.package("p", 2), Badge::Unknown);
        i.seen("q", "1.0.0", "h3");
        assert_eq!(
            i.package("q", 1),
            Badge::Ok,
            "an unchanged row keeps its result"
        );
        i.keep_packages(&HashSet::from(["p"]));
        assert_eq!(i.package("q", 1), Badge::Unknown, "a package that is gone");
    }
}
