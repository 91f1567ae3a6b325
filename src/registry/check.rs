//! Checking a publish document without publishing it (`pkgdeck check`): everything a publish
//! checks about the document — JSON, the manifest rules of spec 4 (errors), the ObjectStack
//! schemas of spec 9 (warnings, or errors when strict) — in one list of problems with their
//! JSON paths. The boot effect on a target needs a registry, so the caller adds it.

use super::canonical;
use super::manifest::DocumentProblem;
use super::publish::{prepare_parsed, PreparedPublish};
use super::{schema, RegistryError};

/// What checking one document found.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentCheck {
    /// What publishing the document would store; `None` when an error refuses it.
    pub prepared: Option<PreparedPublish>,
    /// What refuses a publish: invalid JSON, the manifest rules, and (strict) the schemas.
    pub errors: Vec<DocumentProblem>,
    /// What the ObjectStack schemas say and a publish only warns about.
    pub warnings: Vec<DocumentProblem>,
}

impl DocumentCheck {
    /// Whether a publish would take the document.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The check as `--strict` sees it: every schema warning is an error, and nothing would
    /// be published.
    pub fn strict(mut self) -> DocumentCheck {
        if !self.warnings.is_empty() {
            self.errors.append(&mut self.warnings);
            self.prepared = None;
        }
        self
    }
}

/// Checks `text` as a publish of it would. Touches no store.
pub fn check(text: &str) -> DocumentCheck {
    let doc = match canonical::parse(text) {
        Ok(doc) => doc,
        Err(error) => {
            return DocumentCheck {
                prepared: None,
                errors: vec![DocumentProblem {
                    path: "$".into(),
                    message: error.to_string(),
                }],
                warnings: Vec::new(),
            }
        }
    };
    match prepare_parsed(&doc, "the document") {
        Ok(prepared) => DocumentCheck {
            warnings: prepared.schema_warnings.clone(),
            prepared: Some(prepared),
            errors: Vec::new(),
        },
        Err(RegistryError::InvalidDocument { problems, .. }) => DocumentCheck {
            warnings: beside_errors(schema::check_document(&doc), &problems),
            prepared: None,
            errors: problems,
        },
        // prepare_parsed refuses with InvalidDocument only; anything else is said as it is.
        Err(other) => DocumentCheck {
            prepared: None,
            errors: vec![DocumentProblem {
                path: "$".into(),
                message: other.to_string(),
            }],
            warnings: Vec::new(),
        },
    }
}

/// The schema problems not already said by a manifest rule: a warning at the path of an
/// error, or inside it, repeats it (`$.manifest.version` is not a version; it does not match
/// the schema's pattern either).
pub fn beside_errors(
    warnings: Vec<DocumentProblem>,
    errors: &[DocumentProblem],
) -> Vec<DocumentProblem> {
    warnings
        .into_iter()
        .filter(|w| !errors.iter().any(|e| within(&w.path, &e.path)))
        .collect()
}

/// Whether `path` is `parent` or a path inside it (`$.a.b` and `$.a[0]` are inside `$.a`;
/// `$.ab` is not).
fn within(path: &str, parent: &str) -> bool {
    match path.strip_prefix(parent) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"manifest":{"id":"com.acme.t","version":"1.0.0","type":"app","name":"T"},"metadata":{"views":[{"name":"v","object":"o","list":{"type":"grid","columns":["a"]}}]}}"#;

    fn lines(problems: &[DocumentProblem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_valid_document_is_ok_and_prepared() {
        let c = check(VALID);
        assert!(
            c.ok() && c.errors.is_empty() && c.warnings.is_empty(),
            "{c:?}"
        );
        let prepared = c.prepared.expect("prepared");
        assert_eq!(
            (prepared.id.as_str(), prepared.version.as_str()),
            ("com.acme.t", "1.0.0")
        );
    }

    #[test]
    fn a_misspelt_key_is_a_warning_and_strict_makes_it_an_error() {
        let c = check(&VALID.replace("columns", "colums"));
        assert!(c.ok());
        assert_eq!(
            lines(&c.warnings),
            [
                "$.metadata.views[0].list.columns: is missing",
                "$.metadata.views[0].list.colums: unknown key (did you mean \"columns\"?)",
            ]
        );
        assert_eq!(
            c.prepared.as_ref().map(|p| p.schema_warnings.len()),
            Some(2)
        );
        let strict = c.strict();
        assert!(!strict.ok() && strict.prepared.is_none() && strict.warnings.is_empty());
        assert_eq!(strict.errors.len(), 2);
        // Strict changes nothing about a document without warnings.
        assert_eq!(check(VALID).strict(), check(VALID));
    }

    #[test]
    fn a_warning_that_repeats_an_error_is_left_out() {
        let c = check(&VALID.replace("\"1.0.0\"", "\"1.0\""));
        assert_eq!(
            lines(&c.errors),
            ["$.manifest.version: \"1.0\" is not a version of the form MAJOR.MINOR.PATCH (like 1.2.3)"]
        );
        assert!(
            c.warnings.iter().all(|w| w.path != "$.manifest.version"),
            "{:?}",
            c.warnings
        );
        // The same document's other schema problems stay.
        let c = check(
            &VALID
                .replace("\"1.0.0\"", "\"1.0\"")
                .replace("columns", "colums"),
        );
        assert_eq!(c.errors.len(), 1);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }

    #[test]
    fn invalid_json_is_one_error_at_the_root_with_its_position() {
        let c = check("{\n  \"manifest\": {,\n}");
        assert_eq!(c.errors.len(), 1);
        assert_eq!(c.errors[0].path, "$");
        assert!(
            c.errors[0]
                .message
                .starts_with("invalid JSON at line 2, column 16: "),
            "{}",
            c.errors[0].message
        );
    }

    #[test]
    fn paths_inside_a_path() {
        assert!(within("$.a", "$.a"));
        assert!(within("$.a.b", "$.a"));
        assert!(within("$.a[0]", "$.a"));
        assert!(!within("$.ab", "$.a"));
        assert!(!within("$.a", "$.a.b"));
    }
}
