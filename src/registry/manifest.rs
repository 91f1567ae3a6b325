//! Validation of a publish document `{"manifest": …, "metadata": …}` against the ObjectStack
//! manifest schema. Every problem is reported at once, each with its JSON path.

use super::canonical::JsValue;
use super::record::SECTIONS;

/// Package types the ObjectStack manifest schema accepts.
pub const PACKAGE_TYPES: [&str; 11] = [
    "plugin", "ui", "driver", "server", "app", "theme", "agent", "objectql", "module", "gateway",
    "adapter",
];

/// One thing wrong with a document, at a JSON path such as `$.manifest.version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentProblem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for DocumentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `^\d+\.\d+\.\d+$` with ASCII digits, as the schema's regular expression.
pub fn is_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn describe(value: &JsValue) -> String {
    match value {
        JsValue::String(s) => format!("{s:?}"),
        JsValue::Null => "null".into(),
        JsValue::Object(_) | JsValue::Array(_) => format!("an {}", value.kind_name()),
        other => format!("a {}", other.kind_name()),
    }
}

/// Checks a parsed publish document; an empty result means it can be published.
pub fn validate_document(doc: &JsValue) -> Vec<DocumentProblem> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(DocumentProblem {
            path: path.to_owned(),
            message,
        })
    };
    if doc.as_object().is_none() {
        problem(
            "$",
            format!(
                "must be an object with \"manifest\" and \"metadata\", found {}",
                describe(doc)
            ),
        );
        return problems;
    }
    match doc.get("manifest") {
        None => problem("$.manifest", "is missing".into()),
        Some(manifest) if manifest.as_object().is_none() => problem(
            "$.manifest",
            format!("must be an object, found {}", describe(manifest)),
        ),
        Some(manifest) => {
            for key in ["id", "name"] {
                let path = format!("$.manifest.{key}");
                match manifest.get(key) {
                    None => problem(&path, "is missing".into()),
                    Some(JsValue::String(s)) if !s.is_empty() => {}
                    Some(JsValue::String(_)) => problem(&path, "must not be empty".into()),
                    Some(v) => problem(&path, format!("must be a string, found {}", describe(v))),
                }
            }
            match manifest.get("version") {
                None => problem("$.manifest.version", "is missing".into()),
                Some(JsValue::String(s)) if is_version(s) => {}
                Some(v) => problem(
                    "$.manifest.version",
                    format!(
                        "{} is not a version of the form MAJOR.MINOR.PATCH (like 1.2.3)",
                        describe(v)
                    ),
                ),
            }
            match manifest.get("type") {
                None => problem("$.manifest.type", "is missing".into()),
                Some(JsValue::String(s)) if PACKAGE_TYPES.contains(&s.as_str()) => {}
                Some(v) => problem(
                    "$.manifest.type",
                    format!("{} is not one of {}", describe(v), PACKAGE_TYPES.join(", ")),
                ),
            }
        }
    }
    match doc.get("metadata") {
        None => problem("$.metadata", "is missing".into()),
        Some(metadata) if metadata.as_object().is_none() => problem(
            "$.metadata",
            format!("must be an object, found {}", describe(metadata)),
        ),
        Some(metadata) => {
            for section in SECTIONS {
                if let Some(v) = metadata.get(section) {
                    if v.as_array().is_none() {
                        problem(
                            &format!("$.metadata.{section}"),
                            format!("must be an array, found {}", describe(v)),
                        );
                    }
                }
            }
        }
    }
    problems
}

/// The highest of `versions` that read as semver (`None` when none does).
pub fn highest_version<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    versions
        .into_iter()
        .filter_map(|v| semver::Version::parse(v).ok().map(|parsed| (parsed, v)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::parse;

    fn problems(text: &str) -> Vec<String> {
        validate_document(&parse(text).unwrap())
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn a_valid_document_has_no_problems() {
        assert!(problems(
            r#"{"manifest":{"id":"a","version":"1.0.0","type":"app","name":"A"},"metadata":{"objects":[]}}"#
        )
        .is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let p = problems(
            r#"{"manifest":{"id":"","version":"1.0","type":"nope","name":3},"metadata":{"objects":{},"views":[],"tools":"x"}}"#,
        );
        assert_eq!(p.len(), 6, "{p:#?}");
        assert!(p[0].starts_with("$.manifest.id: must not be empty"));
        assert!(p[1].starts_with("$.manifest.name: must be a string, found a number"));
        assert!(p[2].starts_with("$.manifest.version: \"1.0\" is not a version"));
        assert!(p[3].starts_with("$.manifest.type: \"nope\" is not one of plugin"));
        assert!(p[4].starts_with("$.metadata.objects: must be an array, found an object"));
        assert!(p[5].starts_with("$.metadata.tools: must be an array"));
        assert_eq!(
            problems("[]"),
            vec!["$: must be an object with \"manifest\" and \"metadata\", found an array"]
        );
        assert_eq!(problems("{}").len(), 2);
    }

    #[test]
    fn versions_need_three_ascii_numbers() {
        assert!(is_version("1.2.3"));
        assert!(is_version("10.0.0123"));
        assert!(!is_version("1.2"));
        assert!(!is_version("1.2.3-beta"));
        assert!(!is_version("v1.2.3"));
        assert!(!is_version("1..3"));
        assert!(!is_version("١.٢.٣"));
    }
}

/// The version a hotfix of `base` gets: its patch number bumped, skipping versions that
/// already exist (1.1.1 → 1.1.2, or 1.1.3 when 1.1.2 is taken). `None` when `base` is not
/// `MAJOR.MINOR.PATCH` or the patch number cannot grow.
pub fn hotfix_version(base: &str, existing: &[&str]) -> Option<String> {
    if !is_version(base) {
        return None;
    }
    let mut parts = base.splitn(3, '.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let mut patch: u64 = parts.next()?.parse().ok()?;
    loop {
        patch = patch.checked_add(1)?;
        let candidate = format!("{major}.{minor}.{patch}");
        if !existing.contains(&candidate.as_str()) {
            return Some(candidate);
        }
    }
}

#[cfg(test)]
mod hotfix_tests {
    use super::hotfix_version;

    #[test]
    fn bumps_the_patch_and_skips_taken_versions() {
        assert_eq!(
            hotfix_version("1.1.1", &["1.1.1", "2.0.0"]).as_deref(),
            Some("1.1.2")
        );
        assert_eq!(
            hotfix_version("1.1.1", &["1.1.1", "1.1.2", "1.1.3"]).as_deref(),
            Some("1.1.4")
        );
        assert_eq!(hotfix_version("1.0.9", &[]).as_deref(), Some("1.0.10"));
        assert_eq!(hotfix_version("1.0", &[]), None);
        assert_eq!(hotfix_version("1.0.18446744073709551615", &[]), None);
    }
}
