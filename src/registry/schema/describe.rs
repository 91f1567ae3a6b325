//! Describing the schemas' errors: one short line per problem, at the JSON path where the
//! author has to look, with the likely fix (the tag or key probably meant, the values allowed).

use std::collections::HashMap;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::ValidationError;
use serde_json::Value;

use super::super::manifest::DocumentProblem;
use super::{Compiled, SchemaKind};

/// Appends the problems of sibling errors. A value of the wrong type also fails its `enum` or
/// `const`; the type is the one thing to say about it, so those repeats are left out.
pub(super) fn describe_errors(
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
