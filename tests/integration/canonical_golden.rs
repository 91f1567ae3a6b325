//! Golden cases recorded from the reference service (Node.js): for every publish document,
//! the stored manifest and metadata texts (`JSON.stringify` of each member of
//! `JSON.parse(input)`) and the row hash.

use pkgdeck::registry::canonical::{self, JsValue};

use crate::support::scratch::GOLDEN;

#[test]
fn stringify_and_hash_match_golden_file() {
    let path = GOLDEN;
    let golden =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, line) in golden.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let lineno = i + 1;
        let case = canonical::parse(line)
            .unwrap_or_else(|e| panic!("{path}:{lineno} is not valid JSON: {e}"));
        let field = |name: &str| -> &str {
            case.get(name)
                .and_then(JsValue::as_str)
                .unwrap_or_else(|| panic!("{path}:{lineno} has no string field {name:?}"))
        };
        let input = field("input");
        let doc = canonical::parse(input)
            .unwrap_or_else(|e| panic!("{path}:{lineno}: input refused: {e}\n{input}"));
        let member = |name: &str| {
            doc.get(name)
                .unwrap_or_else(|| panic!("{path}:{lineno}: input has no {name:?} member"))
        };
        let manifest = canonical::stringify(member("manifest"));
        let metadata = canonical::stringify(member("metadata"));
        for (what, ours, expected) in [
            ("manifest", &manifest, field("manifest")),
            ("metadata", &metadata, field("metadata")),
        ] {
            if ours != expected {
                failures.push(format!(
                    "line {lineno} {what}:\n  input:    {input}\n  expected: {expected}\n  ours:     {ours}"
                ));
            }
        }
        let hash = canonical::integrity_hash(&manifest, &metadata);
        if hash != field("hash") {
            failures.push(format!(
                "line {lineno} hash: expected {} but computed {hash}",
                field("hash")
            ));
        }
        // The stored texts are canonical and reparse to themselves.
        assert_eq!(
            canonical::is_canonical(&manifest),
            Ok(true),
            "line {lineno}"
        );
        assert_eq!(
            canonical::is_canonical(&metadata),
            Ok(true),
            "line {lineno}"
        );
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 8, "only {checked} golden cases in {path}");
}
