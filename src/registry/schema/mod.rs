//! The ObjectStack JSON schemas (spec 9): the manifest and every known metadata item checked
//! against the schemas `@objectstack/spec` 17.4.0 publishes, each problem reported as a JSON
//! path in pkgdeck's style (`$.metadata.views[2].columns`) with a one-line reason.
//!
//! The schemas are data the binary carries: `scripts/extract-schemas` writes them (prose
//! dropped, constraints kept) to `assets/objectstack-spec/`, and they are embedded here. Each is
//! compiled once, on first use, with draft 2020-12 semantics; the crate is built without its
//! HTTP and file resolvers and every `$ref` points inside its own schema, so nothing is ever
//! fetched. `format` is checked (`uri`, `date-time`) because the protocol's zod schemas check it.
//!
//! This module compiles the schemas and checks items; `json` builds the values they see, and
//! `describe` words the errors.

use std::sync::OnceLock;

use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::canonical::{self, JsValue};
use super::manifest::DocumentProblem;

mod describe;
mod json;

use describe::describe_errors;
pub use json::{to_json, written_json};

/// The `@objectstack/spec` release the embedded schemas come from.
pub const SPEC_VERSION: &str = "17.4.0";

/// What one schema checks: the manifest, or the items of one metadata section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    Manifest,
    Object,
    View,
    App,
    Flow,
    Agent,
    Tool,
    Translation,
}

impl SchemaKind {
    pub const ALL: [SchemaKind; 8] = [
        SchemaKind::Manifest,
        SchemaKind::Object,
        SchemaKind::View,
        SchemaKind::App,
        SchemaKind::Flow,
        SchemaKind::Agent,
        SchemaKind::Tool,
        SchemaKind::Translation,
    ];

    /// The schema for the items of a metadata section (`"views"` → View), if it has one.
    pub fn for_section(section: &str) -> Option<SchemaKind> {
        SchemaKind::ALL
            .into_iter()
            .find(|kind| kind.section() == Some(section))
    }

    /// The metadata section whose items this schema checks (`None` for the manifest).
    pub fn section(self) -> Option<&'static str> {
        Some(match self {
            SchemaKind::Manifest => return None,
            SchemaKind::Object => "objects",
            SchemaKind::View => "views",
            SchemaKind::App => "apps",
            SchemaKind::Flow => "flows",
            SchemaKind::Agent => "agents",
            SchemaKind::Tool => "tools",
            SchemaKind::Translation => "translations",
        })
    }

    /// The schema's path in the spec package's `json-schema/` folder (and in
    /// `assets/objectstack-spec/`).
    pub fn file(self) -> &'static str {
        match self {
            SchemaKind::Manifest => "kernel/Manifest.json",
            SchemaKind::Object => "data/Object.json",
            SchemaKind::View => "ui/View.json",
            SchemaKind::App => "ui/App.json",
            SchemaKind::Flow => "automation/Flow.json",
            SchemaKind::Agent => "ai/Agent.json",
            SchemaKind::Tool => "ai/Tool.json",
            SchemaKind::Translation => "system/TranslationBundle.json",
        }
    }

    /// The embedded schema text.
    pub fn text(self) -> &'static str {
        match self {
            SchemaKind::Manifest => {
                include_str!("../../../assets/objectstack-spec/kernel/Manifest.json")
            }
            SchemaKind::Object => include_str!("../../../assets/objectstack-spec/data/Object.json"),
            SchemaKind::View => include_str!("../../../assets/objectstack-spec/ui/View.json"),
            SchemaKind::App => include_str!("../../../assets/objectstack-spec/ui/App.json"),
            SchemaKind::Flow => {
                include_str!("../../../assets/objectstack-spec/automation/Flow.json")
            }
            SchemaKind::Agent => include_str!("../../../assets/objectstack-spec/ai/Agent.json"),
            SchemaKind::Tool => include_str!("../../../assets/objectstack-spec/ai/Tool.json"),
            SchemaKind::Translation => {
                include_str!("../../../assets/objectstack-spec/system/TranslationBundle.json")
            }
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for SchemaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file())
    }
}

/// One schema, parsed and compiled.
struct Compiled {
    kind: SchemaKind,
    /// The schema document, to read the keys an object allows when suggesting a spelling.
    schema: Value,
    validator: Validator,
}

/// An embedded schema that cannot be used: a build that should never have passed its tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the embedded schema {kind} is not JSON: {reason}")]
    NotJson { kind: SchemaKind, reason: String },
    #[error("the embedded schema {kind} does not compile: {reason}")]
    Compile { kind: SchemaKind, reason: String },
}

static COMPILED: [OnceLock<Result<Compiled, SchemaError>>; 8] = [const { OnceLock::new() }; 8];

fn compiled(kind: SchemaKind) -> Result<&'static Compiled, &'static SchemaError> {
    COMPILED[kind.index()]
        .get_or_init(|| compile(kind))
        .as_ref()
}

fn compile(kind: SchemaKind) -> Result<Compiled, SchemaError> {
    let mut schema: Value =
        serde_json::from_str(kind.text()).map_err(|e| SchemaError::NotJson {
            kind,
            reason: e.to_string(),
        })?;
    defaults_optional(&mut schema);
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| SchemaError::Compile {
            kind,
            reason: e.to_string(),
        })?;
    Ok(Compiled {
        kind,
        schema,
        validator,
    })
}

/// Makes every key that has a `default` optional, returning how many `required` entries went.
///
/// The spec package generates most schemas from zod's input side, where a key with a default
/// may be left out; `ai/Agent.json` is generated from the output side, where zod has already
/// filled the default in, so it lists `surface`, `active`, `model.provider`, … as required. An
/// author writes input, and zod's `AgentSchema` accepts an agent without them: reading a
/// defaulted key as optional is the input side of the same schema (input-side schemas have no
/// required key with a default, so this changes nothing else).
fn defaults_optional(node: &mut Value) -> usize {
    let mut removed = 0;
    match node {
        Value::Object(map) => {
            let defaulted: Vec<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .map(|properties| {
                    properties
                        .iter()
                        .filter(|(_, p)| p.get("default").is_some())
                        .map(|(name, _)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Array(required)) = map.get_mut("required") {
                let before = required.len();
                required.retain(|r| !r.as_str().is_some_and(|r| defaulted.iter().any(|d| d == r)));
                removed += before - required.len();
            }
            for (key, value) in map.iter_mut() {
                // Values of these keywords are data, not schemas.
                if !matches!(key.as_str(), "enum" | "const" | "default" | "required") {
                    removed += defaults_optional(value);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                removed += defaults_optional(item);
            }
        }
        _ => {}
    }
    removed
}

/// Compiles every schema now (the first check of a kind otherwise pays for its compile).
/// Errs with one sentence when an embedded schema cannot be compiled.
pub fn compile_all() -> Result<(), SchemaError> {
    for kind in SchemaKind::ALL {
        compiled(kind).map_err(Clone::clone)?;
    }
    Ok(())
}

/// Whether `item` passes the schema of `kind` (the fast path: no problem is described).
pub fn is_valid(kind: SchemaKind, item: &Value) -> bool {
    compiled(kind).is_ok_and(|c| c.validator.is_valid(item))
}

/// Every problem of `item` against the schema of `kind`, with paths under `at` (the item's
/// own path, such as `$.metadata.views[2]`). Empty when the item passes.
pub fn check_item(kind: SchemaKind, item: &Value, at: &str) -> Vec<DocumentProblem> {
    let compiled = match compiled(kind) {
        Ok(c) => c,
        Err(e) => {
            return vec![DocumentProblem {
                path: at.to_owned(),
                message: e.to_string(),
            }]
        }
    };
    if compiled.validator.is_valid(item) {
        return Vec::new();
    }
    describe_item(compiled, item, at)
}

/// Every problem of `item`, which fails the schema `compiled`.
fn describe_item(compiled: &Compiled, item: &Value, at: &str) -> Vec<DocumentProblem> {
    let mut problems = Vec::new();
    let errors: Vec<ValidationError<'_>> = compiled.validator.iter_errors(item).collect();
    describe_errors(&errors, compiled, at, &mut problems);
    // Stable order by path: an item's problems read top to bottom, like the document.
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    problems.dedup();
    problems
}

/// Every schema problem of a publish document: the manifest against the manifest schema and
/// each item of each known metadata section against its section's schema. Parts that are
/// missing or of the wrong kind are left to the manifest rules (manifest.rs), which refuse them.
pub fn check_document(doc: &JsValue) -> Vec<DocumentProblem> {
    check_parts(doc.get("manifest"), doc.get("metadata"))
}

/// [`check_document`] of a manifest and a metadata value held apart (a stored row's two
/// texts, parsed), with the same paths (`$.manifest…`, `$.metadata…`).
pub fn check_parts(manifest: Option<&JsValue>, metadata: Option<&JsValue>) -> Vec<DocumentProblem> {
    let mut problems = Vec::new();
    for (kind, item, at) in items(manifest, metadata) {
        problems.extend(check_item(kind, &to_json(item), &at));
    }
    problems
}

/// The manifest and every item of every known metadata section, each with its schema and its
/// path. Parts that are missing or of the wrong kind are left out (the manifest rules refuse
/// them in a document; verify reports them in a row).
fn items<'v>(
    manifest: Option<&'v JsValue>,
    metadata: Option<&'v JsValue>,
) -> impl Iterator<Item = (SchemaKind, &'v JsValue, String)> {
    let manifest = manifest
        .filter(|m| m.as_object().is_some())
        .map(|m| (SchemaKind::Manifest, m, "$.manifest".to_owned()));
    let sections = metadata
        .and_then(JsValue::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(section, items)| {
            Some((
                section,
                SchemaKind::for_section(section)?,
                items.as_array()?,
            ))
        })
        .flat_map(|(section, kind, items)| {
            items
                .iter()
                .enumerate()
                .map(move |(i, item)| (kind, item, format!("$.metadata.{section}[{i}]")))
        });
    manifest.into_iter().chain(sections)
}

/// A stored row against the schemas, as verify reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredCheck {
    /// The row's first problems, in document order; empty when the row passes.
    pub problems: Vec<DocumentProblem>,
    /// Whether the row has problems beyond these.
    pub more: bool,
}

/// A stored row's two texts, read as verify reads them (a lone surrogate escape allowed),
/// against the schemas: whether they pass and their first `limit` problems. Every item is
/// tested with the fast yes/no check; only as many failing items are described as `limit`
/// takes, because describing is what costs on a registry full of invalid rows. `None` when a
/// text is not JSON, which verify reports as a failure of its own.
pub fn check_stored(manifest: &str, metadata: &str, limit: usize) -> Option<StoredCheck> {
    let manifest = canonical::parse_stored(manifest).ok()?;
    let metadata = canonical::parse_stored(metadata).ok()?;
    check_stored_tree(&manifest, || Some(metadata), limit)
}

/// [`check_stored`] of a row whose manifest is already parsed (`parse_stored`) and whose
/// metadata parses: `metadata` is asked for its tree only when the manifest alone does not
/// settle the answer (a manifest with more than `limit` problems needs no metadata item
/// looked at). `None` when `metadata` answers `None`.
pub fn check_stored_tree(
    manifest: &JsValue,
    metadata: impl FnOnce() -> Option<JsValue>,
    limit: usize,
) -> Option<StoredCheck> {
    let mut found = StoredCheck::default();
    found.note(
        SchemaKind::Manifest,
        Some(manifest).filter(|m| m.as_object().is_some()),
        "$.manifest",
        limit,
    );
    // Once problems beyond the limit are known, no later item can change the answer.
    if found.more {
        return Some(found);
    }
    let metadata = metadata()?;
    for (kind, item, at) in items(None, Some(&metadata)) {
        found.note(kind, Some(item), &at, limit);
        if found.more {
            break;
        }
    }
    Some(found)
}

/// [`check_stored_tree`] of a row whose manifest is already read as [`written_json`] (or
/// [`to_json`] of its tree) gives it: the same answer, without a second tree.
pub fn check_stored_json(
    manifest: &Value,
    metadata: impl FnOnce() -> Option<Value>,
    limit: usize,
) -> Option<StoredCheck> {
    let mut found = StoredCheck::default();
    found.note_json(
        SchemaKind::Manifest,
        Some(manifest).filter(|m| m.is_object()),
        "$.manifest",
        limit,
    );
    if found.more {
        return Some(found);
    }
    let metadata = metadata()?;
    let sections = metadata.as_object().into_iter().flatten();
    for (section, items) in sections {
        let (Some(kind), Some(items)) = (SchemaKind::for_section(section), items.as_array()) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            found.note_json(
                kind,
                Some(item),
                &format!("$.metadata.{section}[{i}]"),
                limit,
            );
            if found.more {
                return Some(found);
            }
        }
    }
    Some(found)
}

impl StoredCheck {
    /// Adds what `item` (checked against `kind`, at path `at`) contributes within `limit`.
    fn note(&mut self, kind: SchemaKind, item: Option<&JsValue>, at: &str, limit: usize) {
        if let Some(item) = item {
            self.note_json(kind, Some(&to_json(item)), at, limit);
        }
    }

    /// [`StoredCheck::note`] of an item already converted ([`to_json`]).
    fn note_json(&mut self, kind: SchemaKind, item: Option<&Value>, at: &str, limit: usize) {
        let Some(item) = item else {
            return;
        };
        let compiled = match compiled(kind) {
            Ok(compiled) if compiled.validator.is_valid(item) => return,
            Ok(compiled) => Some(compiled),
            Err(_) => None,
        };
        if self.problems.len() >= limit {
            self.more = true;
            return;
        }
        // The item is known to fail: describing it needs no second yes/no check.
        let mut problems = match compiled {
            Some(compiled) => describe_item(compiled, item, at),
            None => check_item(kind, item, at),
        };
        if self.problems.len() + problems.len() > limit {
            problems.truncate(limit - self.problems.len());
            self.more = true;
        }
        self.problems.append(&mut problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles_as_draft_2020_12() {
        for kind in SchemaKind::ALL {
            let schema: Value = serde_json::from_str(kind.text()).unwrap();
            assert_eq!(
                schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{kind}"
            );
            assert!(compiled(kind).is_ok(), "{kind}: {:?}", compiled(kind).err());
        }
        compile_all().unwrap();
    }

    #[test]
    fn every_reference_points_inside_its_own_schema() {
        fn refs(node: &Value, out: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    for (key, value) in map {
                        match (key.as_str(), value) {
                            ("$ref" | "$dynamicRef", Value::String(r)) => out.push(r.clone()),
                            ("enum" | "const" | "default", _) => {}
                            _ => refs(value, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut total = 0;
        for kind in SchemaKind::ALL {
            let mut found = Vec::new();
            refs(&serde_json::from_str(kind.text()).unwrap(), &mut found);
            assert!(
                found.iter().all(|r| r.starts_with("#/")),
                "{kind}: {found:?}"
            );
            total += found.len();
        }
        assert!(total > 0, "the schemas do use local references");
    }

    #[test]
    fn only_the_output_side_agent_schema_has_defaulted_keys_to_free() {
        for kind in SchemaKind::ALL {
            let mut schema: Value = serde_json::from_str(kind.text()).unwrap();
            let freed = defaults_optional(&mut schema);
            let expected = if kind == SchemaKind::Agent { 11 } else { 0 };
            assert_eq!(freed, expected, "{kind}");
        }
        let agent = json!({
            "name": "a", "label": "A", "role": "r", "instructions": "i",
            "model": { "model": "m" }
        });
        assert!(
            is_valid(SchemaKind::Agent, &agent),
            "{:?}",
            check_item(SchemaKind::Agent, &agent, "$")
        );
    }

    #[test]
    fn a_stored_row_is_described_only_as_far_as_the_limit() {
        let manifest = r#"{"id":"a","version":"1.0.0","type":"app","name":"A","x":1,"y":2}"#;
        let metadata = r#"{"objects":[{"name":"o","fields":{}},{"name":"p"},{"name":"q"}]}"#;
        let lines = |limit| {
            let found = check_stored(manifest, metadata, limit).expect("JSON");
            let lines: Vec<String> = found.problems.iter().map(ToString::to_string).collect();
            (lines, found.more)
        };
        let (all, more) = lines(10);
        assert_eq!(
            all,
            [
                "$.manifest.x: unknown key",
                "$.manifest.y: unknown key",
                "$.metadata.objects[1].fields: is missing",
                "$.metadata.objects[2].fields: is missing",
            ]
        );
        assert!(!more);
        assert_eq!(lines(4), (all.clone(), false));
        assert_eq!(lines(3), (all[..3].to_vec(), true));
        assert_eq!(lines(1), (all[..1].to_vec(), true));
        assert_eq!(check_stored("{", metadata, 5), None);
        let valid = check_stored(
            r#"{"id":"a","version":"1.0.0","type":"app","name":"A"}"#,
            "{}",
            5,
        );
        assert_eq!(valid, Some(StoredCheck::default()));
    }

    #[test]
    fn problems_name_the_path_and_the_fix() {
        let view = json!({
            "name": "v", "object": "o",
            "list": { "type": "grid", "colums": ["a"] }
        });
        let problems: Vec<String> = check_item(SchemaKind::View, &view, "$.metadata.views[2]")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            problems,
            [
                "$.metadata.views[2].list.columns: is missing",
                "$.metadata.views[2].list.colums: unknown key (did you mean \"columns\"?)",
            ]
        );
    }

    fn reasons(kind: SchemaKind, item: Value) -> Vec<String> {
        check_item(kind, &item, "$")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_near_miss_names_the_value_it_probably_meant() {
        assert_eq!(
            reasons(SchemaKind::Object, json!({"name": "o", "fields": {"a": {"type": "texts"}}})),
            ["$.fields.a.type: \"texts\" is not one of the 49 allowed values (did you mean \"text\"?)"]
        );
        assert_eq!(
            reasons(
                SchemaKind::Agent,
                json!({"name": "a", "label": "A", "role": "r", "instructions": "i", "surface": "database"})
            ),
            ["$.surface: \"database\" is not one of \"ask\", \"build\""]
        );
    }

    #[test]
    fn a_tagged_union_with_an_unknown_tag_lists_the_tags() {
        let app = json!({"name": "app", "label": "A", "navigation": [
            {"id": "nav", "type": "oject", "label": "N", "objectName": "o"}
        ]});
        let problems = reasons(SchemaKind::App, app);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "$.navigation[0].type: \"oject\" is not one of \"object\", \"dashboard\""
            ),
            "{problems:?}"
        );
        assert!(
            problems[0].ends_with("(did you mean \"object\"?)"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_alternative_the_author_meant_is_the_one_described() {
        // A navigation item of the right type with a misspelt key: the object branch speaks.
        let app = json!({"name": "app", "label": "A", "navigation": [
            {"id": "nav", "type": "object", "label": "N", "objectNme": "o"}
        ]});
        assert_eq!(
            reasons(SchemaKind::App, app),
            [
                "$.navigation[0].objectName: is missing",
                "$.navigation[0].objectNme: unknown key (did you mean \"objectName\"?)",
            ]
        );
        // Nothing fits the value's kind at all: say which kinds would.
        assert_eq!(
            reasons(SchemaKind::App, json!({"name": "app", "label": 7})),
            ["$.label: must be a string or an object, found the number 7"]
        );
    }
}
