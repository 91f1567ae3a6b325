//! JavaScript values as the boot loop sees them: truthiness, conversion to text (and when it
//! throws), the package record's prototype lookup, and values written back out as JSON.

use serde_json::Value;

use crate::registry::canonical::{self, CanonicalError, JsValue};

/// What the server's JavaScript throws (`JSON.parse`'s `SyntaxError`, the protocol check's
/// `TypeError`): its message, which pkgdeck reports where the server would log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsThrow(pub String);

impl JsThrow {
    pub(super) fn new(message: impl Into<String>) -> JsThrow {
        JsThrow(message.into())
    }
}

impl std::fmt::Display for JsThrow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<CanonicalError> for JsThrow {
    fn from(e: CanonicalError) -> JsThrow {
        JsThrow(e.to_string())
    }
}

/// JavaScript truthiness.
pub(super) fn truthy(v: &JsValue) -> bool {
    match v {
        JsValue::Null => false,
        JsValue::Bool(b) => *b,
        JsValue::Number(n) => *n != 0.0 && !n.is_nan(),
        JsValue::String(s) => !s.is_empty(),
        JsValue::Array(_) | JsValue::Object(_) => true,
    }
}

/// Whether `${v}` throws: an object with its own `toString` key (never callable in JSON) falls
/// back to `Object.prototype.valueOf`, which answers the object itself, so there is no
/// primitive; an array converts through `join`, which converts every element.
pub(super) fn to_string_throws(v: &JsValue) -> bool {
    match v {
        JsValue::Object(members) => members.iter().any(|(k, _)| k == "toString"),
        JsValue::Array(items) => items.iter().any(to_string_throws),
        _ => false,
    }
}

/// The value the server's package record answers for `key`. The record is a copy made with
/// `out[key] = value`, so a manifest key `__proto__` holding an object becomes the copy's
/// prototype: a key the manifest lacks is read from there.
pub(super) fn record_lookup<'a>(manifest: &'a JsValue, key: &str) -> Option<&'a JsValue> {
    let mut at = manifest;
    loop {
        if let Some(v) = at.get(key) {
            return Some(v);
        }
        match at.get("__proto__") {
            Some(proto @ JsValue::Object(_)) => at = proto,
            _ => return None,
        }
    }
}

/// A short description of a value for messages: its JSON text, shortened.
pub(super) fn describe(v: &JsValue) -> String {
    let kind = match v {
        JsValue::Null => return "null".to_string(),
        JsValue::Bool(b) => return format!("the boolean {b}"),
        JsValue::Number(_) => "the number",
        JsValue::String(_) => "the string",
        JsValue::Array(_) => "the array",
        JsValue::Object(_) => "the object",
    };
    format!("{kind} {}", shorten(&json_text(v)))
}

/// A value as the operator reads it in a message: a string as itself, anything else as JSON.
pub(super) fn js_text(v: &JsValue) -> String {
    match v {
        JsValue::String(s) => shorten(s),
        other => shorten(&json_text(other)),
    }
}

fn json_text(v: &JsValue) -> String {
    match v {
        JsValue::Number(n) if n.is_infinite() => {
            if *n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
        }
        other => canonical::stringify(other),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// A value as JSON output, as `JSON.stringify` would write it (`Infinity` becomes null).
pub(super) fn to_json(v: &JsValue) -> Value {
    match v {
        JsValue::Null => Value::Null,
        JsValue::Bool(b) => Value::Bool(*b),
        JsValue::Number(n) => {
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if n.fract() == 0.0 && n.abs() <= EXACT {
                // Integral and exact: written without a fraction, as JavaScript does.
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        JsValue::String(s) => Value::String(s.clone()),
        JsValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        JsValue::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// The tree of a value `schema::to_json` made: its numbers are f64s written as integers only
/// where that is exact (below 2^53), so each converts back to the same f64.
pub(super) fn from_json(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::Null,
        Value::Bool(b) => JsValue::Bool(*b),
        Value::Number(n) => JsValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsValue::String(s.clone()),
        Value::Array(items) => JsValue::Array(items.iter().map(from_json).collect()),
        Value::Object(members) => JsValue::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect(),
        ),
    }
}
