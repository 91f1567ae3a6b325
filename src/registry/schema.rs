//! The ObjectStack JSON schemas (spec 9): the manifest and every known metadata item checked
//! against the schemas `@objectstack/spec` 17.4.0 publishes, each problem reported as a JSON
//! path in pkgdeck's style (`$.metadata.views[2].columns`) with a one-line reason.
//!
//! The schemas are data the binary carries: `scripts/extract-schemas` writes them (prose
//! dropped, constraints kept) to `assets/objectstack-spec/`, and they are embedded here. Each is
//! compiled once, on first use, with draft 2020-12 semantics; the crate is built without its
//! HTTP and file resolvers and every `$ref` points inside its own schema, so nothing is ever
//! fetched. `format` is checked (`uri`, `date-time`) because the protocol's zod schemas check it.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Number, Value};

use super::canonical::{self, JsValue};
use super::manifest::DocumentProblem;

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
                include_str!("../../assets/objectstack-spec/kernel/Manifest.json")
            }
            SchemaKind::Object => include_str!("../../assets/objectstack-spec/data/Object.json"),
            SchemaKind::View => include_str!("../../assets/objectstack-spec/ui/View.json"),
            SchemaKind::App => include_str!("../../assets/objectstack-spec/ui/App.json"),
            SchemaKind::Flow => {
                include_str!("../../assets/objectstack-spec/automation/Flow.json")
            }
            SchemaKind::Agent => include_str!("../../assets/objectstack-spec/ai/Agent.json"),
            SchemaKind::Tool => include_str!("../../assets/objectstack-spec/ai/Tool.json"),
            SchemaKind::Translation => {
                include_str!("../../assets/objectstack-spec/system/TranslationBundle.json")
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

/// A parsed value as `serde_json` holds it. Whole numbers within 2^53 become integers, so
/// `"type": "integer"` sees them as JavaScript's `Number.isInteger` would.
pub fn to_json(value: &JsValue) -> Value {
    match value {
        JsValue::Null => Value::Null,
        JsValue::Bool(b) => Value::Bool(*b),
        JsValue::Number(n) => number(*n),
        JsValue::String(s) => Value::String(s.clone()),
        JsValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        JsValue::Object(members) => {
            let mut map = Map::with_capacity(members.len());
            for (key, member) in members {
                map.insert(key.clone(), to_json(member));
            }
            Value::Object(map)
        }
    }
}

/// [`to_json`] of `parse_stored(text)`, read straight from `text` without the intermediate
/// tree, for a text that [`canonical::is_written_form`] vouches for: exactly what the writer
/// writes has unique keys already in JavaScript property order, no lone surrogate escape and
/// every number in its shortest form, so reading it in text order with JavaScript's numbers
/// gives the same value. `None` when serde_json refuses it (nesting deeper than its limit):
/// the caller reads it the long way.
pub fn written_json(text: &str) -> Option<Value> {
    use serde::de::DeserializeSeed;
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = JsNumbers.deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

/// Builds a [`Value`] whose numbers are JavaScript's (every literal an `f64`, then
/// [`number`]), as [`to_json`] of the parsed tree holds them.
#[derive(Clone, Copy)]
struct JsNumbers;

impl<'de> serde::de::DeserializeSeed<'de> for JsNumbers {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<Value, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsNumbers {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    // An integer literal's f64 is the nearest one to it, as the cast rounds.
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let member = map.next_value_seed(self)?;
            members.insert(key, member);
        }
        Ok(Value::Object(members))
    }
}

fn number(n: f64) -> Value {
    const SAFE: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() < SAFE {
        // Exact: |n| < 2^53, so the cast loses nothing; -0 becomes 0 as in JSON.stringify.
        Value::Number(Number::from(n as i64))
    } else {
        // The parser refuses non-finite numbers, so from_f64 always succeeds here.
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

// ---------------------------------------------------------------------------------------------
// Describing errors: one short line per problem, at the path where the author has to look.

/// Appends the problems of sibling errors. A value of the wrong type also fails its `enum` or
/// `const`; the type is the one thing to say about it, so those repeats are left out.
fn describe_errors(
    errors: &[ValidationError<'_>],
    compiled: &Compiled,
    at: &str,
    out: &mut Vec<DocumentProblem>,
) {
    let mistyped: Vec<&str> = errors
        .iter()
        .filter(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
        .map(|e| e.instance_path().as_str())
        .collect();
    for error in errors {
        let repeats_type = matches!(
            error.kind(),
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
        ) && mistyped.contains(&error.instance_path().as_str());
        if !repeats_type {
            describe_error(error, compiled, at, out);
        }
    }
}

/// Appends the problems `error` stands for. `anyOf`/`oneOf` failures descend into the one
/// alternative the author most likely meant (see [`best_alternative`]).
fn describe_error(
    error: &ValidationError<'_>,
    compiled: &Compiled,
    at: &str,
    out: &mut Vec<DocumentProblem>,
) {
    let here = json_path(at, error.instance_path().segments());
    let mut push = |path: String, message: String| out.push(DocumentProblem { path, message });
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            push(join_key(&here, key), "is missing".into());
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let mut near = NearKeys::new(compiled, error);
            for key in unexpected {
                let message = match near.closest(key) {
                    Some(near) => format!("unknown key (did you mean {near:?}?)"),
                    None => "unknown key".into(),
                };
                push(join_key(&here, key), message);
            }
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            match best_alternative(error, context) {
                Alternative::Branch(errors) => describe_errors(errors, compiled, at, out),
                Alternative::Summary(message) => push(here, message),
                Alternative::Tag { key, message } => push(join_key(&here, &key), message),
            }
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = error_instance_str(inner).unwrap_or_default();
            let reason = reason(inner, None).unwrap_or_else(|| "is not allowed".into());
            push(
                join_key(&here, &key),
                format!("is not an allowed key: {reason}"),
            );
        }
        _ => {
            let message = reason(error, Some(compiled)).unwrap_or_else(|| error.to_string());
            push(here, message);
        }
    }
}

/// The one-line reason for a leaf error (`None` for kinds described elsewhere).
fn reason(error: &ValidationError<'_>, compiled: Option<&Compiled>) -> Option<String> {
    let found = error.instance();
    Some(match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected: Vec<&str> = match kind {
                TypeKind::Single(t) => vec![t.as_str()],
                TypeKind::Multiple(set) => set.iter().map(jsonschema::JsonType::as_str).collect(),
            };
            format!(
                "must be {}, found {}",
                type_list(&expected),
                describe(found)
            )
        }
        ValidationErrorKind::Enum { options } => match options.as_array() {
            Some(items) if items.iter().all(Value::is_string) => {
                let allowed: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                not_one_of(found, &allowed)
            }
            _ => format!("{} is not one of {}", describe(found), value_list(options)),
        },
        ValidationErrorKind::Constant { expected_value } => {
            format!("must be {expected_value}, found {}", describe(found))
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{} does not match {pattern}", describe(found))
        }
        ValidationErrorKind::MinLength { limit: 1 } => "must not be empty".into(),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} characters long")
        }
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("must be a multiple of {multiple_of}")
        }
        ValidationErrorKind::MinItems { limit: 1 } => "must not be empty".into(),
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
        ValidationErrorKind::MinProperties { limit } => {
            format!("must have at least {limit} keys")
        }
        ValidationErrorKind::MaxProperties { limit } => format!("must have at most {limit} keys"),
        ValidationErrorKind::UniqueItems => "has duplicate items".into(),
        ValidationErrorKind::Format { format } => {
            format!("{} is not a valid {format}", describe(found))
        }
        // `not: {}` is how the protocol refuses a key that must be absent (a removed key).
        ValidationErrorKind::Not { .. } | ValidationErrorKind::FalseSchema => {
            "is not allowed here".into()
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the shapes allowed here".into()
        }
        _ if compiled.is_none() => return None,
        _ => error.to_string(),
    })
}

/// What to say about a failed `anyOf`/`oneOf`.
enum Alternative<'e, 'a> {
    /// The alternative the value most likely meant: describe its own errors.
    Branch(&'e [ValidationError<'a>]),
    /// A tagged union whose tag (`type`, `provider`, …) names no alternative: the tags that would.
    Tag { key: String, message: String },
    /// No alternative fits the value's kind at all: one line naming what would.
    Summary(String),
}

/// Picks the alternative of an `anyOf`/`oneOf` that the author most likely meant, so that the
/// reason names the one thing to fix rather than every alternative's complaint. An alternative
/// that refuses the value's very kind (a `type`, `const` or `enum` failure at the value
/// itself) or that names another variant (a `const` failure on a direct key, the tag of a
/// tagged union) is a poor guess; among the rest the one with the fewest errors wins, then
/// the one whose errors lie deepest (it matched furthest).
fn best_alternative<'e, 'a>(
    error: &ValidationError<'_>,
    context: &'e [Vec<ValidationError<'a>>],
) -> Alternative<'e, 'a> {
    let depth = error.instance_path().segments().count();
    let rank = |errors: &[ValidationError<'_>]| {
        let refuses_kind = errors.iter().any(|e| {
            e.instance_path().segments().count() == depth
                && matches!(
                    e.kind(),
                    ValidationErrorKind::Type { .. }
                        | ValidationErrorKind::Constant { .. }
                        | ValidationErrorKind::Enum { .. }
                )
        });
        let other_tag = errors.iter().any(|e| {
            e.instance_path().segments().count() == depth + 1
                && matches!(e.kind(), ValidationErrorKind::Constant { .. })
        });
        let deepest = errors
            .iter()
            .map(|e| e.instance_path().segments().count())
            .max()
            .unwrap_or(0);
        (
            refuses_kind,
            other_tag,
            errors.len(),
            std::cmp::Reverse(deepest),
        )
    };
    if let Some(tag) = unknown_tag(depth, context) {
        return tag;
    }
    let best = context
        .iter()
        .filter(|errors| !errors.is_empty())
        .min_by_key(|errors| rank(errors));
    match best {
        Some(errors) if !rank(errors).0 => Alternative::Branch(errors),
        // Every alternative refuses the value's kind: say which kinds and values would do.
        _ => Alternative::Summary(summarize_kinds(error, context)),
    }
}

/// When every alternative refuses the same direct key with a `const` (a tagged union such as
/// navigation items by `type`), the tag itself is what is wrong: name the tags that exist.
fn unknown_tag<'e, 'a>(
    depth: usize,
    context: &'e [Vec<ValidationError<'a>>],
) -> Option<Alternative<'e, 'a>> {
    let mut key: Option<String> = None;
    let mut tags: Vec<String> = Vec::new();
    let mut found = None;
    for errors in context {
        let tag_error = errors.iter().find(|e| {
            e.instance_path().segments().count() == depth + 1
                && matches!(e.kind(), ValidationErrorKind::Constant { .. })
        })?;
        let ValidationErrorKind::Constant { expected_value } = tag_error.kind() else {
            return None;
        };
        let LocationSegment::Property(name) = tag_error.instance_path().segments().last()? else {
            return None;
        };
        if key.get_or_insert_with(|| name.to_string()) != &name {
            return None;
        }
        tags.push(expected_value.as_str()?.to_owned());
        found = Some(tag_error.instance());
    }
    let found = found?;
    Some(Alternative::Tag {
        key: key?,
        message: not_one_of(found, &tags),
    })
}

/// `"oject" is not one of "object", "page", … (did you mean "object"?)`.
fn not_one_of(found: &Value, allowed: &[String]) -> String {
    let quoted: Vec<String> = allowed
        .iter()
        .map(|a| Value::String(a.clone()).to_string())
        .collect();
    let near = found.as_str().and_then(|f| closest(f, allowed));
    match near {
        Some(near) if allowed.len() > 10 => format!(
            "{} is not one of the {} allowed values (did you mean {near:?}?)",
            describe(found),
            allowed.len()
        ),
        Some(near) => format!(
            "{} is not one of {} (did you mean {near:?}?)",
            describe(found),
            quoted.join(", ")
        ),
        None => format!("{} is not one of {}", describe(found), shorten(&quoted)),
    }
}

/// "must be a string or an object, found a number" for an `anyOf` nothing matched at all.
fn summarize_kinds(error: &ValidationError<'_>, context: &[Vec<ValidationError<'_>>]) -> String {
    let depth = error.instance_path().segments().count();
    let mut kinds: Vec<&str> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for e in context
        .iter()
        .flatten()
        .filter(|e| e.instance_path().segments().count() == depth)
    {
        match e.kind() {
            ValidationErrorKind::Type { kind } => {
                let names: Vec<&str> = match kind {
                    TypeKind::Single(t) => vec![t.as_str()],
                    TypeKind::Multiple(set) => {
                        set.iter().map(jsonschema::JsonType::as_str).collect()
                    }
                };
                for name in names {
                    if !kinds.contains(&name) {
                        kinds.push(name);
                    }
                }
            }
            ValidationErrorKind::Constant { expected_value } => {
                values.push(expected_value.to_string());
            }
            ValidationErrorKind::Enum { options } => {
                if let Some(options) = options.as_array() {
                    values.extend(options.iter().map(Value::to_string));
                }
            }
            _ => {}
        }
    }
    let found = describe(error.instance());
    let mut wanted = Vec::new();
    if !values.is_empty() {
        values.dedup();
        wanted.push(format!("one of {}", shorten(&values)));
    }
    if !kinds.is_empty() {
        wanted.push(type_list(&kinds));
    }
    if wanted.is_empty() {
        return format!("{found} matches none of the shapes allowed here");
    }
    format!("must be {}, found {found}", wanted.join(" or "))
}

/// The keys the object schema that produced an `additionalProperties` error allows, read from
/// the schema next to the failing keyword (keys the schema refuses with `not` are left out).
fn allowed_keys(compiled: &Compiled, parent: Option<&str>) -> Vec<String> {
    let Some(properties) = parent
        .and_then(|parent| compiled.schema.pointer(parent))
        .and_then(|node| node.get("properties"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    properties
        .iter()
        .filter(|(_, schema)| schema.get("not").is_none())
        .map(|(key, _)| key.clone())
        .collect()
}

/// The JSON pointer of the object schema whose failing keyword `error` is.
fn keyword_parent(error: &ValidationError<'_>) -> Option<String> {
    let pointer = error
        .absolute_keyword_location()
        .and_then(|uri| uri.fragment().map(|f| f.as_str().to_owned()))
        .unwrap_or_else(|| error.schema_path().as_str().to_owned());
    let pointer = percent_decode(&pointer);
    pointer
        .rsplit_once('/')
        .map(|(parent, _)| parent.to_owned())
}

/// How many "did you mean" answers a thread remembers: a registry repeats the same unknown
/// keys row after row, and measuring a key against every allowed one is most of what
/// describing such a row costs.
const NEAR_CACHE: usize = 4096;

/// What a thread remembers of one `additionalProperties` keyword of one schema.
struct NearAt {
    /// The pointer of the object schema it sits in ([`keyword_parent`]).
    parent: Option<String>,
    /// The keys that object schema allows, read on the first key not remembered.
    allowed: Option<Vec<String>>,
    /// Unknown key → the allowed key it most likely meant.
    closest: HashMap<String, Option<String>>,
}

/// Per schema, by the keyword's schema path (which fixes its place in the schema, so its
/// parent): looked up with borrowed text, so that a row whose unknown keys were seen before
/// costs no allocation.
#[derive(Default)]
struct Near {
    by_kind: [HashMap<String, NearAt>; SchemaKind::ALL.len()],
    answers: usize,
}

thread_local! {
    static NEAR: std::cell::RefCell<Near> = std::cell::RefCell::new(Near::default());
}

/// [`closest`] among the keys an `additionalProperties` error's schema allows, remembered per
/// schema location and key.
struct NearKeys<'c, 'e, 'a> {
    compiled: &'c Compiled,
    error: &'e ValidationError<'a>,
}

impl<'c, 'e, 'a> NearKeys<'c, 'e, 'a> {
    fn new(compiled: &'c Compiled, error: &'e ValidationError<'a>) -> Self {
        NearKeys { compiled, error }
    }

    fn closest(&mut self, key: &str) -> Option<String> {
        let (compiled, error) = (self.compiled, self.error);
        NEAR.with(|near| {
            let mut near = near.borrow_mut();
            let Near { by_kind, answers } = &mut *near;
            let keywords = &mut by_kind[compiled.kind.index()];
            let path = error.schema_path().as_str();
            if !keywords.contains_key(path) {
                let at = NearAt {
                    parent: keyword_parent(error),
                    allowed: None,
                    closest: HashMap::new(),
                };
                keywords.insert(path.to_owned(), at);
            }
            let at = keywords.get_mut(path)?;
            if let Some(known) = at.closest.get(key) {
                return known.clone();
            }
            let parent = at.parent.as_deref()?;
            let allowed = at
                .allowed
                .get_or_insert_with(|| allowed_keys(compiled, Some(parent)));
            let found = closest(key, allowed).map(str::to_owned);
            if *answers < NEAR_CACHE {
                *answers += 1;
                at.closest.insert(key.to_owned(), found.clone());
            }
            found
        })
    }
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The allowed key a misspelt `key` most likely meant: the nearest by edit distance, when it is
/// close (at most 2 edits, and fewer than a third of the key's length).
fn closest<'k>(key: &str, allowed: &'k [String]) -> Option<&'k str> {
    let limit = (key.chars().count() / 3).clamp(1, 2);
    let key: Vec<char> = key.to_lowercase().chars().collect();
    allowed
        .iter()
        .filter_map(|candidate| {
            // The distance is at least the difference in length: most keys go unmeasured
            // (lower-casing keeps an ASCII key's length, so it is known before it is made).
            if candidate.is_ascii() && candidate.len().abs_diff(key.len()) > limit {
                return None;
            }
            let other: Vec<char> = candidate.to_lowercase().chars().collect();
            (other.len().abs_diff(key.len()) <= limit)
                .then(|| (edit_distance(&key, &other), candidate))
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate.as_str())
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

fn error_instance_str(error: &ValidationError<'_>) -> Option<String> {
    error.instance().as_str().map(str::to_owned)
}

/// `$.metadata.views[2]` + instance segments → `$.metadata.views[2].list.columns[0]`.
fn json_path<'s>(at: &str, segments: impl Iterator<Item = LocationSegment<'s>>) -> String {
    let mut path = at.to_owned();
    for segment in segments {
        match segment {
            LocationSegment::Index(i) => {
                path.push('[');
                path.push_str(&i.to_string());
                path.push(']');
            }
            LocationSegment::Property(key) => path = join_key(&path, &key),
        }
    }
    path
}

/// `path.key`, or `path["odd key"]` when the key is not a plain identifier.
fn join_key(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

/// The found value in a reason: short strings quoted, anything else by its kind.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".into(),
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn type_list(types: &[&str]) -> String {
    let named: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "null" => "null".to_owned(),
            "integer" | "array" | "object" => format!("an {t}"),
            other => format!("a {other}"),
        })
        .collect();
    match named.as_slice() {
        [] => "something else".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn value_list(options: &Value) -> String {
    match options.as_array() {
        Some(items) => shorten(&items.iter().map(Value::to_string).collect::<Vec<_>>()),
        None => options.to_string(),
    }
}

/// At most eight values, then how many there are in all.
fn shorten(values: &[String]) -> String {
    const SHOWN: usize = 8;
    if values.len() <= SHOWN {
        values.join(", ")
    } else {
        format!(
            "{}, … ({} in all)",
            values[..SHOWN].join(", "),
            values.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reading a written text straight into a `Value` gives `to_json` of its tree: numbers
    /// as JavaScript holds them (an integer literal of 2^53 or more is a double), strings
    /// with their escapes, keys in order.
    #[test]
    fn a_written_text_reads_as_the_json_of_its_tree() {
        let texts = [
            "0",
            "-1",
            "[1.5,-2.25,1e+21,1e-7,9007199254740991,9007199254740992,123456789012345680000]",
            "[18446744073709552000,-9223372036854776000,5e-324,1.7976931348623157e+308]",
            r#"{"2":"a","10":"b","id":"x","":"","__proto__":{"toString":1}}"#,
            r#"["x\ny","q\"uote","back\\slash","\u0001\u001f","é 😀"]"#,
            r#"{"a":[[],{},[{"b":[true,false,null]}]]}"#,
        ];
        for text in texts {
            assert!(canonical::is_written_form(text.as_bytes()), "{text}");
            let tree = canonical::parse_stored(text).unwrap();
            assert_eq!(written_json(text), Some(to_json(&tree)), "{text}");
        }
        // Nesting serde_json refuses is read the long way.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(canonical::is_written_form(deep.as_bytes()));
        assert_eq!(written_json(&deep), None);
    }

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
