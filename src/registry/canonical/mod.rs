//! Canonical JSON text and the package integrity hash.
//!
//! The reference registry service stores `JSON.stringify(manifest)` and
//! `JSON.stringify(metadata)` and sets
//! `hash = hex(sha256(JSON.stringify({ manifest, metadata })))`, so for every row
//!
//! ```text
//! hash == sha256('{"manifest":' + manifest_text + ',"metadata":' + metadata_text + '}')
//! ```
//!
//! This module owns everything needed to reproduce that byte for byte:
//!
//! * [`parse`] — a strict RFC 8259 parser with Node.js `JSON.parse` semantics
//!   (duplicate keys keep their first position and their last value; keys that
//!   are canonical array indices come first in ascending numeric order; every
//!   number goes through an `f64`). It is iterative, so deep nesting cannot
//!   overflow the stack; it refuses documents nested deeper than [`MAX_DEPTH`].
//! * [`stringify`](fn@stringify) / [`write_into`] — `JSON.stringify` (compact, ECMAScript
//!   `Number::toString`, minimal string escaping).
//! * [`canonicalize`] / [`is_canonical`] — `JSON.stringify(JSON.parse(text))`,
//!   written while parsing (the same grammar loop drives both the tree builder
//!   and this writer, so errors are identical) without building a tree.
//! * [`integrity_hash`] / [`Hasher`] — the row hash, computed without
//!   concatenating the texts.
//!
//! A document that JavaScript would silently change (a number that overflows
//! to `null`) or that a Rust string cannot hold (a lone UTF-16 surrogate) is
//! refused with a [`CanonicalError`] that carries the 1-based line and column
//! of the offending character, never mangled.
//!
//! Stored rows are the one exception, for reading only: well-formed
//! `JSON.stringify` (Node.js ≥ 12) writes a lone surrogate as the escape
//! `\udxxx` (lowercase hex), so a text the reference service stored can
//! legitimately contain one. [`parse_stored`] and [`is_canonical_stored`]
//! accept such escapes (everything else is exactly as in [`parse`] and
//! [`is_canonical`]); they serve verify and display, never publish.
//!
//! This file holds [`JsValue`] and the public surface; the parts live in `parse` (the grammar
//! loop, its errors and the tree), `token` (string and number tokens), `order` (JavaScript
//! property order), `write` (`JSON.stringify`, from a tree or while parsing), `stored` (the
//! canonical checks and the lenient reading of stored rows) and `hash` (the integrity hash).

mod hash;
mod order;
mod parse;
mod stored;
mod token;
mod write;

pub use hash::{hex_eq, integrity_hash, to_hex, Hasher};
pub use parse::{parse, CanonicalError, MAX_DEPTH};
pub use stored::{
    canonical_id_and_version, canonical_string_members, is_canonical, is_canonical_stored,
    is_written_form, parse_stored,
};
pub use write::{canonicalize, canonicalize_into, stringify, write_into};

/// A parsed JSON value as JavaScript holds it.
///
/// `Object` members are already in JavaScript property order and carry no
/// duplicate keys when produced by [`parse`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum JsValue {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<JsValue>),
    Object(Vec<(String, JsValue)>),
}

impl JsValue {
    /// The member `key` of an object (`None` for other kinds or a missing key).
    pub fn get(&self, key: &str) -> Option<&JsValue> {
        match self {
            JsValue::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[JsValue]> {
        match self {
            JsValue::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, JsValue)]> {
        match self {
            JsValue::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            JsValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            JsValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, JsValue::Null)
    }

    /// "object", "array", "string", "number", "boolean" or "null".
    pub fn kind_name(&self) -> &'static str {
        match self {
            JsValue::Null => "null",
            JsValue::Bool(_) => "boolean",
            JsValue::Number(_) => "number",
            JsValue::String(_) => "string",
            JsValue::Array(_) => "array",
            JsValue::Object(_) => "object",
        }
    }
}

/// Helpers shared by the unit tests of every part.
#[cfg(test)]
mod test_support {
    use super::{canonicalize, CanonicalError};

    pub(super) fn canon(text: &str) -> String {
        canonicalize(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
    }

    pub(super) fn err(text: &str) -> CanonicalError {
        match canonicalize(text) {
            Ok(out) => panic!("{text:?} accepted as {out:?}"),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        let v = parse(r#"{"s":"x","a":[1,true],"o":{},"n":null,"b":false,"f":1.5}"#).unwrap();
        assert_eq!(v.get("s").and_then(JsValue::as_str), Some("x"));
        assert_eq!(
            v.get("a").and_then(JsValue::as_array).map(<[_]>::len),
            Some(2)
        );
        assert_eq!(
            v.get("o").and_then(JsValue::as_object).map(<[_]>::len),
            Some(0)
        );
        assert_eq!(v.get("f").and_then(JsValue::as_f64), Some(1.5));
        assert_eq!(v.get("b").and_then(JsValue::as_bool), Some(false));
        assert!(v.get("n").is_some_and(JsValue::is_null));
        assert_eq!(v.get("missing"), None);
        assert_eq!(v.get("s").unwrap().get("s"), None);
        let kinds: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(_, v)| v.kind_name())
            .collect();
        assert_eq!(
            kinds,
            ["string", "array", "object", "null", "boolean", "number"]
        );
    }
}
