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
//! * [`stringify`] / [`write_into`] — `JSON.stringify` (compact, ECMAScript
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

use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Deepest nesting of arrays/objects [`parse`] accepts.
pub const MAX_DEPTH: usize = 512;

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

/// Why a text was refused. Every variant knows the 1-based line and column
/// (counted in characters) of the offending character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The text is not JSON that `JSON.parse` accepts.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A `\uXXXX` escape of an unpaired UTF-16 surrogate.
    #[error(
        "lone surrogate {escape} at line {line}, column {column}: it is half of a UTF-16 \
         surrogate pair, not a character, so it cannot be held as UTF-8 text (a UTF-8 store \
         would turn it into U+FFFD); pair it with its other half or remove it"
    )]
    LoneSurrogate {
        line: usize,
        column: usize,
        escape: String,
    },
    /// A number too large for an `f64`.
    #[error(
        "number {literal} at line {line}, column {column} overflows a 64-bit float \
         (JavaScript would store it as null)"
    )]
    NumberOverflow {
        line: usize,
        column: usize,
        literal: String,
    },
    /// Arrays/objects nested deeper than [`MAX_DEPTH`].
    #[error(
        "nesting too deep at line {line}, column {column}: more than {limit} levels of arrays \
         and objects are not accepted"
    )]
    TooDeep {
        line: usize,
        column: usize,
        limit: usize,
    },
}

impl CanonicalError {
    /// 1-based line of the offending character.
    pub fn line(&self) -> usize {
        match self {
            CanonicalError::Syntax { line, .. }
            | CanonicalError::LoneSurrogate { line, .. }
            | CanonicalError::NumberOverflow { line, .. }
            | CanonicalError::TooDeep { line, .. } => *line,
        }
    }

    /// 1-based column (in characters) of the offending character.
    pub fn column(&self) -> usize {
        match self {
            CanonicalError::Syntax { column, .. }
            | CanonicalError::LoneSurrogate { column, .. }
            | CanonicalError::NumberOverflow { column, .. }
            | CanonicalError::TooDeep { column, .. } => *column,
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parse `text` with `JSON.parse` semantics.
pub fn parse(text: &str) -> Result<JsValue, CanonicalError> {
    let mut tree = TreeBuilder::default();
    Parser::new(text).run(&mut tree)?;
    Ok(tree.value)
}

/// [`parse`] for a text read back from the registry: a lone surrogate escape
/// (`\ud800`, which well-formed `JSON.stringify` writes for an unpaired
/// surrogate) is accepted instead of refused, and its code unit becomes
/// U+FFFD in the tree. The tree is therefore lossy: it is only for reading
/// fields (id, version, name …) and for display, never for writing a text
/// back or computing a hash (use the stored text itself, and
/// [`is_canonical_stored`] to check its form). Every other error is exactly
/// as in [`parse`].
pub fn parse_stored(text: &str) -> Result<JsValue, CanonicalError> {
    let mut tree = TreeBuilder::default();
    Parser::stored(text).run(&mut tree)?;
    Ok(tree.value)
}

/// `true` for bytes that end the fast scan inside a string literal.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Accept lone surrogate escapes (reading stored rows) instead of refusing
    /// them.
    lone_surrogates: bool,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn syntax(&self, pos: usize, message: impl Into<String>) -> CanonicalError {
        let (line, column) = line_col(self.text, pos);
        CanonicalError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }

    /// "'x'", "end of input", "U+000A" … for the character at `pos`.
    fn found(&self, pos: usize) -> String {
        match self.text.get(pos..).and_then(|s| s.chars().next()) {
            None => "end of input".to_owned(),
            Some(c) if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{feff}' => {
                format!("U+{:04X}", c as u32)
            }
            Some(c) => format!("'{c}'"),
        }
    }

    fn expected(&self, what: &str) -> CanonicalError {
        let found = self.found(self.pos);
        self.syntax(self.pos, format!("expected {what} but found {found}"))
    }

    fn expected_value(&self) -> CanonicalError {
        let hint = match self.peek() {
            Some(b'+') => " (a number cannot start with '+')",
            Some(b'.') => " (a number must have a digit before the decimal point)",
            Some(b'N' | b'I') => " (NaN and Infinity are not JSON)",
            Some(b'\'') => " (strings must use double quotes)",
            Some(b'/') => " (comments are not allowed in JSON)",
            _ => "",
        };
        let found = self.found(self.pos);
        self.syntax(
            self.pos,
            format!("expected a value (object, array, string, number, true, false or null) but found {found}{hint}"),
        )
    }

    fn too_deep(&self) -> CanonicalError {
        let (line, column) = line_col(self.text, self.pos);
        CanonicalError::TooDeep {
            line,
            column,
            limit: MAX_DEPTH,
        }
    }

    fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            lone_surrogates: false,
        }
    }

    /// A parser for a stored text: lone surrogate escapes are accepted and
    /// handed to [`StrOut::lone`].
    fn stored(text: &'a str) -> Self {
        Parser {
            lone_surrogates: true,
            ..Parser::new(text)
        }
    }

    /// The one grammar loop, shared by the tree builder ([`parse`]) and the
    /// canonical writer ([`canonicalize`]). Iterative: `frames` (true for an
    /// object) replaces recursion, so nesting costs heap, not stack.
    fn run<H: Handler>(&mut self, h: &mut H) -> Result<(), CanonicalError> {
        if self.text.starts_with('\u{feff}') {
            return Err(self.syntax(
                0,
                "the text starts with a byte order mark (U+FEFF), which JSON.parse rejects",
            ));
        }
        let mut frames: Vec<bool> = Vec::new();
        'value: loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    if frames.len() >= MAX_DEPTH {
                        return Err(self.too_deep());
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        h.empty_object();
                    } else {
                        h.open_object();
                        self.member_key(h, true)?;
                        frames.push(true);
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    if frames.len() >= MAX_DEPTH {
                        return Err(self.too_deep());
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        h.empty_array();
                    } else {
                        h.open_array();
                        frames.push(false);
                        continue 'value;
                    }
                }
                Some(b'"') => h.string(self)?,
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    let (n, short_integer) = self.number()?;
                    h.number(n, &self.text[start..self.pos], short_integer);
                }
                Some(b't') => {
                    self.literal("true")?;
                    h.literal(Literal::True);
                }
                Some(b'f') => {
                    self.literal("false")?;
                    h.literal(Literal::False);
                }
                Some(b'n') => {
                    self.literal("null")?;
                    h.literal(Literal::Null);
                }
                _ => return Err(self.expected_value()),
            }
            // A value is complete: hand it to its container, closing containers
            // for as long as their closing bracket follows.
            loop {
                match frames.last() {
                    None => {
                        self.skip_ws();
                        if self.pos != self.bytes.len() {
                            let found = self.found(self.pos);
                            return Err(self.syntax(
                                self.pos,
                                format!("unexpected {found} after the end of the JSON value"),
                            ));
                        }
                        return Ok(());
                    }
                    Some(false) => {
                        h.end_element();
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                if self.peek() == Some(b']') {
                                    return Err(self.syntax(
                                        self.pos,
                                        "trailing comma before ']' is not allowed",
                                    ));
                                }
                                h.element_separator();
                                continue 'value;
                            }
                            Some(b']') => {
                                self.pos += 1;
                                frames.pop();
                                h.close_array();
                            }
                            _ => return Err(self.expected("',' or ']' after an array element")),
                        }
                    }
                    Some(true) => {
                        h.end_member();
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                self.skip_ws();
                                self.member_key(h, false)?;
                                continue 'value;
                            }
                            Some(b'}') => {
                                self.pos += 1;
                                frames.pop();
                                h.close_object();
                            }
                            _ => return Err(self.expected("',' or '}' after an object member")),
                        }
                    }
                }
            }
        }
    }

    /// An object key and its ':' (whitespace before the key already skipped).
    fn member_key<H: Handler>(&mut self, h: &mut H, first: bool) -> Result<(), CanonicalError> {
        match self.peek() {
            Some(b'"') => {}
            Some(b'}') if !first => {
                return Err(self.syntax(self.pos, "trailing comma before '}' is not allowed"))
            }
            Some(b'\'') => {
                let found = self.found(self.pos);
                return Err(self.syntax(
                    self.pos,
                    format!("expected an object key in double quotes but found {found} (strings must use double quotes)"),
                ));
            }
            _ => return Err(self.expected("an object key in double quotes")),
        }
        h.key(self, first)?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.expected("':' after an object key"));
        }
        self.pos += 1;
        Ok(())
    }

    fn literal(&mut self, word: &'static str) -> Result<(), CanonicalError> {
        let w = word.as_bytes();
        for (i, &expected) in w.iter().enumerate() {
            if self.bytes.get(self.pos + i) != Some(&expected) {
                let at = self.pos + i;
                let found = self.found(at);
                return Err(self.syntax(
                    at,
                    format!("invalid literal: expected '{word}' but found {found}"),
                ));
            }
        }
        self.pos += w.len();
        Ok(())
    }

    /// The contents of a string literal, decoded into `out`; `self.pos` is at
    /// the opening quote and ends after the closing one.
    fn string_into<O: StrOut>(&mut self, out: &mut O) -> Result<(), CanonicalError> {
        let open = self.pos;
        let bytes = self.bytes;
        let mut i = open + 1;
        loop {
            let run = i;
            i = scan_plain(bytes, i);
            if run < i {
                out.raw(&self.text[run..i]);
            }
            let Some(&c) = bytes.get(i) else {
                return Err(self.syntax(
                    open,
                    "unterminated string: no closing '\"' before the end of input",
                ));
            };
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    i = self.escape(i, out)?;
                }
                _ => {
                    return Err(self.syntax(
                        i,
                        format!(
                            "control character U+{c:04X} must be escaped inside a string (write \\u{c:04x})"
                        ),
                    ));
                }
            }
        }
    }

    /// Decode the escape starting at the backslash at `i`; returns the index
    /// after it.
    fn escape<O: StrOut>(&self, i: usize, out: &mut O) -> Result<usize, CanonicalError> {
        let c = match self.bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let unit = self.hex4(i + 2)?;
                if (0xDC00..0xE000).contains(&unit) {
                    return self.lone(i, unit, out);
                }
                if (0xD800..0xDC00).contains(&unit) {
                    let low = if self.bytes.get(i + 6) == Some(&b'\\')
                        && self.bytes.get(i + 7) == Some(&b'u')
                    {
                        Some(self.hex4(i + 8)?)
                    } else {
                        None
                    };
                    match low {
                        Some(low) if (0xDC00..0xE000).contains(&low) => {
                            let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            out.ch(char::from_u32(cp).expect("valid surrogate pair"));
                            return Ok(i + 12);
                        }
                        _ => return self.lone(i, unit, out),
                    }
                }
                out.ch(char::from_u32(unit).expect("non-surrogate BMP code point"));
                return Ok(i + 6);
            }
            _ => {
                let found = self.found(i + 1);
                return Err(self.syntax(
                    i + 1,
                    format!(
                        "invalid escape: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX but found {found} after the backslash"
                    ),
                ));
            }
        };
        out.ch(c);
        Ok(i + 2)
    }

    fn hex4(&self, at: usize) -> Result<u32, CanonicalError> {
        let mut v = 0u32;
        for k in 0..4 {
            let d = match self.bytes.get(at + k) {
                Some(&b @ b'0'..=b'9') => b - b'0',
                Some(&b @ b'a'..=b'f') => b - b'a' + 10,
                Some(&b @ b'A'..=b'F') => b - b'A' + 10,
                _ => {
                    let found = self.found(at + k);
                    return Err(self.syntax(
                        at + k,
                        format!("invalid \\u escape: expected 4 hex digits but found {found}"),
                    ));
                }
            };
            v = v * 16 + d as u32;
        }
        Ok(v)
    }

    /// The escape at `i` is the unpaired surrogate `unit`: refused, or (for a
    /// stored text) handed to `out`.
    fn lone<O: StrOut>(&self, i: usize, unit: u32, out: &mut O) -> Result<usize, CanonicalError> {
        if !self.lone_surrogates {
            return Err(self.lone_surrogate(i));
        }
        out.lone(unit);
        Ok(i + 6)
    }

    fn lone_surrogate(&self, at: usize) -> CanonicalError {
        let (line, column) = line_col(self.text, at);
        CanonicalError::LoneSurrogate {
            line,
            column,
            escape: self.text[at..at + 6].to_owned(),
        }
    }

    /// A number token converted through `f64`, and whether the token is a
    /// plain integer of at most 15 digits; `self.pos` is at '-' or a digit.
    fn number(&mut self) -> Result<(f64, bool), CanonicalError> {
        let b = self.bytes;
        let start = self.pos;
        let mut i = start;
        let negative = b[i] == b'-';
        if negative {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if matches!(b.get(i), Some(b'0'..=b'9')) {
                    return Err(self.syntax(i, "numbers cannot have leading zeros"));
                }
            }
            Some(b'1'..=b'9') => {
                i += 1;
                while matches!(b.get(i), Some(b'0'..=b'9')) {
                    i += 1;
                }
            }
            _ => {
                let found = self.found(i);
                return Err(self.syntax(i, format!("expected a digit after '-' but found {found}")));
            }
        }
        let int_end = i;
        let mut plain_integer = true;
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                let found = self.found(i);
                return Err(self.syntax(
                    i,
                    format!("expected a digit after the decimal point but found {found}"),
                ));
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            plain_integer = false;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !matches!(b.get(i), Some(b'0'..=b'9')) {
                let found = self.found(i);
                return Err(self.syntax(
                    i,
                    format!("expected a digit in the exponent but found {found}"),
                ));
            }
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            plain_integer = false;
        }
        self.pos = i;
        let digits_start = start + negative as usize;
        if plain_integer && int_end - digits_start <= 15 {
            // Exact in an f64 (< 2^53): no rounding involved.
            let mut v = 0u64;
            for &d in &b[digits_start..int_end] {
                v = v * 10 + (d - b'0') as u64;
            }
            let v = v as f64;
            return Ok((if negative { -v } else { v }, true));
        }
        let token = &self.text[start..i];
        let v: f64 = token
            .parse()
            .expect("a JSON number token is a valid Rust float literal");
        if v.is_infinite() {
            let (line, column) = line_col(self.text, start);
            let literal = if token.chars().count() > 40 {
                let head: String = token.chars().take(37).collect();
                format!("{head}...")
            } else {
                token.to_owned()
            };
            return Err(CanonicalError::NumberOverflow {
                line,
                column,
                literal,
            });
        }
        Ok((v, false))
    }
}

/// 1-based line and column (in characters) of byte offset `pos`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = 1 + text[line_start..pos].chars().count();
    (line, column)
}

/// `Some(n)` when `key` is a canonical array index ("0", "7", "10", … up to
/// 4294967294; not "01", "-1" or "4294967295").
#[inline]
fn array_index(key: &str) -> Option<u32> {
    let b = key.as_bytes();
    match b {
        [] => None,
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] if b.len() <= 10 => {
            let mut v = 0u64;
            for &d in b {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + (d - b'0') as u64;
            }
            if v <= 4_294_967_294 {
                Some(v as u32)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Objects up to this many members are deduplicated by linear scan.
const LINEAR_DEDUPE_MAX: usize = 24;

/// Turn members in source order into JavaScript property order: a duplicated
/// key keeps its first position and its last value; array-index keys come
/// first in ascending numeric order, the others keep insertion order.
fn js_property_order(mut members: Vec<(String, JsValue)>) -> Vec<(String, JsValue)> {
    let n = members.len();
    if n > 1 {
        if n <= LINEAR_DEDUPE_MAX {
            let mut w = 0;
            for r in 0..n {
                match (0..w).find(|&j| members[j].0 == members[r].0) {
                    Some(j) => {
                        let v = std::mem::replace(&mut members[r].1, JsValue::Null);
                        members[j].1 = v;
                    }
                    None => {
                        members.swap(w, r);
                        w += 1;
                    }
                }
            }
            members.truncate(w);
        } else {
            let has_duplicates = {
                let mut seen: HashMap<&str, ()> = HashMap::with_capacity(n);
                members
                    .iter()
                    .any(|(k, _)| seen.insert(k.as_str(), ()).is_some())
            };
            if has_duplicates {
                let mut first: HashMap<String, usize> = HashMap::with_capacity(n);
                let mut out: Vec<(String, JsValue)> = Vec::with_capacity(n);
                for (k, v) in members {
                    match first.get(&k) {
                        Some(&j) => out[j].1 = v,
                        None => {
                            first.insert(k.clone(), out.len());
                            out.push((k, v));
                        }
                    }
                }
                members = out;
            }
        }
    }
    if members.iter().any(|(k, _)| array_index(k).is_some()) {
        let mut indexed: Vec<(u32, (String, JsValue))> = Vec::new();
        let mut named: Vec<(String, JsValue)> = Vec::with_capacity(members.len());
        for m in members {
            match array_index(&m.0) {
                Some(i) => indexed.push((i, m)),
                None => named.push(m),
            }
        }
        // Keys are unique here, so an unstable sort is deterministic.
        indexed.sort_unstable_by_key(|e| e.0);
        let mut out = Vec::with_capacity(indexed.len() + named.len());
        out.extend(indexed.into_iter().map(|(_, m)| m));
        out.extend(named);
        out
    } else {
        members
    }
}

/// Where decoded string contents go.
trait StrOut {
    /// A run of characters that appeared literally (never '"', '\\' or a
    /// control character).
    fn raw(&mut self, s: &str);
    /// A character written as an escape.
    fn ch(&mut self, c: char);
    /// An unpaired UTF-16 surrogate written as an escape (only from a stored
    /// text; see [`parse_stored`]).
    fn lone(&mut self, unit: u32);
}

impl StrOut for String {
    #[inline]
    fn raw(&mut self, s: &str) {
        self.push_str(s);
    }
    #[inline]
    fn ch(&mut self, c: char) {
        self.push(c);
    }
    /// A Rust string cannot hold it: U+FFFD stands in (display only).
    fn lone(&mut self, _unit: u32) {
        self.push(char::REPLACEMENT_CHARACTER);
    }
}

/// Writes decoded string contents as `JSON.stringify` escapes them.
struct EscapedOut<'o>(&'o mut String);

impl StrOut for EscapedOut<'_> {
    #[inline]
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }
    #[inline]
    fn ch(&mut self, c: char) {
        if (c as u32) < 0x80 && ESCAPE[c as usize] != 0 {
            push_escape(c as u8, self.0);
        } else {
            self.0.push(c);
        }
    }
    /// Well-formed `JSON.stringify` writes an unpaired surrogate as `\udxxx`
    /// with lowercase hex digits.
    fn lone(&mut self, unit: u32) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.0.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            self.0.push(HEX[(unit >> shift) as usize & 0xf] as char);
        }
    }
}

/// The index of the first byte at or after `i` that is '"', '\\' or a control
/// character (or `bytes.len()`), eight bytes at a time.
#[inline]
fn scan_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Classic "has a byte below n" / "has a zero byte" tests; a false
        // positive can only sit above a true one, so the lowest flag is exact.
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let q = w ^ (ONES * b'"' as u64);
        let quote = q.wrapping_sub(ONES) & !q & HIGH;
        let b = w ^ (ONES * b'\\' as u64);
        let backslash = b.wrapping_sub(ONES) & !b & HIGH;
        let found = control | quote | backslash;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !STRING_STOP[bytes[i] as usize] {
        i += 1;
    }
    i
}

#[derive(Clone, Copy)]
enum Literal {
    Null,
    True,
    False,
}

/// What the grammar loop reports, in text order.
trait Handler {
    fn empty_array(&mut self);
    fn empty_object(&mut self);
    fn open_array(&mut self);
    fn open_object(&mut self);
    /// Before every array element but the first.
    fn element_separator(&mut self);
    /// Decode an object key; the parser is at its opening quote.
    fn key(&mut self, p: &mut Parser<'_>, first: bool) -> Result<(), CanonicalError>;
    /// Decode a string value; the parser is at its opening quote.
    fn string(&mut self, p: &mut Parser<'_>) -> Result<(), CanonicalError>;
    /// A number; `short_integer` when `token` is a plain integer of at most 15
    /// digits (exact in an `f64`).
    fn number(&mut self, n: f64, token: &str, short_integer: bool);
    fn literal(&mut self, l: Literal);
    /// The value just completed is an array element.
    fn end_element(&mut self);
    /// The value just completed is the value of the last key.
    fn end_member(&mut self);
    fn close_array(&mut self);
    fn close_object(&mut self);
}

/// Builds a [`JsValue`]. Elements and members of open containers share two
/// scratch stacks, so each finished container is one exactly-sized `Vec`.
#[derive(Default)]
struct TreeBuilder {
    /// The last completed value.
    value: JsValue,
    elements: Vec<JsValue>,
    /// Members of open objects; the last one of an object waits for its value.
    members: Vec<(String, JsValue)>,
    arrays: Vec<usize>,
    objects: Vec<usize>,
}

impl Handler for TreeBuilder {
    fn empty_array(&mut self) {
        self.value = JsValue::Array(Vec::new());
    }
    fn empty_object(&mut self) {
        self.value = JsValue::Object(Vec::new());
    }
    fn open_array(&mut self) {
        self.arrays.push(self.elements.len());
    }
    fn open_object(&mut self) {
        self.objects.push(self.members.len());
    }
    fn element_separator(&mut self) {}
    fn key(&mut self, p: &mut Parser<'_>, _first: bool) -> Result<(), CanonicalError> {
        let mut key = String::new();
        p.string_into(&mut key)?;
        self.members.push((key, JsValue::Null));
        Ok(())
    }
    fn string(&mut self, p: &mut Parser<'_>) -> Result<(), CanonicalError> {
        let mut s = String::new();
        p.string_into(&mut s)?;
        self.value = JsValue::String(s);
        Ok(())
    }
    fn number(&mut self, n: f64, _token: &str, _short_integer: bool) {
        self.value = JsValue::Number(n);
    }
    fn literal(&mut self, l: Literal) {
        self.value = match l {
            Literal::Null => JsValue::Null,
            Literal::True => JsValue::Bool(true),
            Literal::False => JsValue::Bool(false),
        };
    }
    fn end_element(&mut self) {
        self.elements.push(std::mem::take(&mut self.value));
    }
    fn end_member(&mut self) {
        if let Some(last) = self.members.last_mut() {
            last.1 = std::mem::take(&mut self.value);
        }
    }
    fn close_array(&mut self) {
        let start = self.arrays.pop().unwrap_or(0);
        self.value = JsValue::Array(self.elements.drain(start..).collect());
    }
    fn close_object(&mut self) {
        let start = self.objects.pop().unwrap_or(0);
        let members: Vec<(String, JsValue)> = self.members.drain(start..).collect();
        self.value = JsValue::Object(js_property_order(members));
    }
}

/// A member written by [`CanonicalWriter`]: byte ranges in the output.
struct Span {
    /// Start of the key's opening quote.
    key_start: usize,
    /// After the key's closing quote (the ':' follows).
    key_end: usize,
    /// After the value.
    end: usize,
}

/// Writes `JSON.stringify(JSON.parse(text))` while parsing, without building
/// values. Members are written in text order; when an object closes, it is
/// rewritten only if it has duplicate or array-index keys. Keys are compared
/// in their written (canonical) form, which is one-to-one with their value.
struct CanonicalWriter<'o> {
    out: &'o mut String,
    spans: Vec<Span>,
    objects: Vec<usize>,
}

impl Handler for CanonicalWriter<'_> {
    fn empty_array(&mut self) {
        self.out.push_str("[]");
    }
    fn empty_object(&mut self) {
        self.out.push_str("{}");
    }
    fn open_array(&mut self) {
        self.out.push('[');
    }
    fn open_object(&mut self) {
        self.out.push('{');
        self.objects.push(self.spans.len());
    }
    fn element_separator(&mut self) {
        self.out.push(',');
    }
    fn key(&mut self, p: &mut Parser<'_>, first: bool) -> Result<(), CanonicalError> {
        if !first {
            self.out.push(',');
        }
        let key_start = self.out.len();
        self.out.push('"');
        p.string_into(&mut EscapedOut(self.out))?;
        self.out.push('"');
        let key_end = self.out.len();
        self.out.push(':');
        self.spans.push(Span {
            key_start,
            key_end,
            end: 0,
        });
        Ok(())
    }
    fn string(&mut self, p: &mut Parser<'_>) -> Result<(), CanonicalError> {
        self.out.push('"');
        p.string_into(&mut EscapedOut(self.out))?;
        self.out.push('"');
        Ok(())
    }
    fn number(&mut self, n: f64, token: &str, short_integer: bool) {
        if short_integer && token != "-0" {
            // Already Number::toString's output.
            self.out.push_str(token);
        } else {
            write_number(n, self.out);
        }
    }
    fn literal(&mut self, l: Literal) {
        self.out.push_str(match l {
            Literal::Null => "null",
            Literal::True => "true",
            Literal::False => "false",
        });
    }
    fn end_element(&mut self) {}
    fn end_member(&mut self) {
        let end = self.out.len();
        if let Some(last) = self.spans.last_mut() {
            last.end = end;
        }
    }
    fn close_array(&mut self) {
        self.out.push(']');
    }
    fn close_object(&mut self) {
        let start = self.objects.pop().unwrap_or(0);
        reorder_written_object(self.out, &self.spans[start..]);
        self.spans.truncate(start);
        self.out.push('}');
    }
}

/// `Some(n)` for a written key `"n"` that is a canonical array index.
#[inline]
fn quoted_array_index(key: &[u8]) -> Option<u32> {
    match key {
        [b'"', inner @ .., b'"'] if inner.first().is_some_and(u8::is_ascii_digit) => {
            std::str::from_utf8(inner).ok().and_then(array_index)
        }
        _ => None,
    }
}

/// Put the members of the object just written (the text after `spans[0]`'s
/// key start is exactly these members, comma-separated) in JavaScript property
/// order, if they are not already.
fn reorder_written_object(out: &mut String, spans: &[Span]) {
    let n = spans.len();
    let Some(first) = spans.first() else { return };
    let bytes = out.as_bytes();
    let key = |s: &Span| &bytes[s.key_start..s.key_end];
    let has_index = spans.iter().any(|s| quoted_array_index(key(s)).is_some());
    // slots: (span giving the key and position, span giving the value).
    let mut slots: Vec<(usize, usize)> = Vec::new();
    let mut has_duplicates = false;
    if n <= LINEAR_DEDUPE_MAX {
        for i in 1..n {
            if (0..i).any(|j| key(&spans[j]) == key(&spans[i])) {
                has_duplicates = true;
                break;
            }
        }
        if !has_index && !has_duplicates {
            return;
        }
        slots.reserve(n);
        for i in 0..n {
            match slots
                .iter_mut()
                .find(|(k, _)| key(&spans[*k]) == key(&spans[i]))
            {
                Some(slot) => slot.1 = i,
                None => slots.push((i, i)),
            }
        }
    } else {
        let mut seen: HashMap<&[u8], usize> = HashMap::with_capacity(n);
        for (i, s) in spans.iter().enumerate() {
            match seen.get(key(s)) {
                Some(&slot) => {
                    has_duplicates = true;
                    slots[slot].1 = i;
                }
                None => {
                    seen.insert(key(s), slots.len());
                    slots.push((i, i));
                }
            }
        }
        if !has_index && !has_duplicates {
            return;
        }
    }
    let mut indexed: Vec<(u32, (usize, usize))> = Vec::new();
    let mut named: Vec<(usize, usize)> = Vec::with_capacity(slots.len());
    for slot in slots {
        match quoted_array_index(key(&spans[slot.0])) {
            Some(i) => indexed.push((i, slot)),
            None => named.push(slot),
        }
    }
    indexed.sort_unstable_by_key(|e| e.0);
    let segment_start = first.key_start;
    let mut rewritten = String::with_capacity(out.len() - segment_start);
    for (i, (k, v)) in indexed
        .into_iter()
        .map(|(_, slot)| slot)
        .chain(named)
        .enumerate()
    {
        if i > 0 {
            rewritten.push(',');
        }
        rewritten.push_str(&out[spans[k].key_start..spans[k].key_end]);
        rewritten.push(':');
        rewritten.push_str(&out[spans[v].key_end + 1..spans[v].end]);
    }
    out.truncate(segment_start);
    out.push_str(&rewritten);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// `JSON.stringify(value)`.
pub fn stringify(value: &JsValue) -> String {
    // Growing beats a sizing pass over the tree: large reallocations are cheap.
    let mut out = String::new();
    write_into(value, &mut out);
    out
}

/// `JSON.stringify(value)`, appended to `out`.
pub fn write_into(value: &JsValue, out: &mut String) {
    write_value(value, out);
}

/// `JSON.stringify(JSON.parse(text))`, written while parsing (no tree is
/// built); same errors as [`parse`].
pub fn canonicalize(text: &str) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(text.len() + 16);
    canonicalize_into(text, &mut out)?;
    Ok(out)
}

/// [`canonicalize`], appending to `out` (which may be a reused buffer). On
/// error, `out` holds its old contents plus an unspecified partial output.
pub fn canonicalize_into(text: &str, out: &mut String) -> Result<(), CanonicalError> {
    write_canonical(Parser::new(text), out)
}

fn write_canonical(mut parser: Parser<'_>, out: &mut String) -> Result<(), CanonicalError> {
    let mut writer = CanonicalWriter {
        out,
        spans: Vec::new(),
        objects: Vec::new(),
    };
    parser.run(&mut writer)
}

/// Whether `text` is already `JSON.stringify(JSON.parse(text))`; errors for
/// text that [`parse`] refuses.
pub fn is_canonical(text: &str) -> Result<bool, CanonicalError> {
    if WrittenForm::with(|w| w.recognises(text)) {
        return Ok(true);
    }
    Ok(canonicalize(text)? == text)
}

/// [`is_canonical`] for a text read back from the registry: a lone surrogate
/// escape is accepted (as in [`parse_stored`]), and the text is canonical
/// exactly when it is what well-formed `JSON.stringify` writes — which writes
/// an unpaired surrogate as `\udxxx` in lowercase hex (`\uD800` is not
/// canonical) and a surrogate pair as the raw character (`\ud83d\ude00` is
/// not canonical). Every other answer and error is exactly as in
/// [`is_canonical`].
pub fn is_canonical_stored(text: &str) -> Result<bool, CanonicalError> {
    // The fast path only says "certainly canonical" for text whose `\u`
    // escapes are all `\u00xx` control characters, i.e. text without lone
    // surrogates, for which both checks agree; anything else is decided by
    // writing it.
    if WrittenForm::with(|w| w.recognises(text)) {
        return Ok(true);
    }
    let mut out = String::with_capacity(text.len() + 16);
    write_canonical(Parser::stored(text), &mut out)?;
    Ok(out == text)
}

// ---------------------------------------------------------------------------
// Recognising canonical text without writing it
// ---------------------------------------------------------------------------

/// A one-pass, non-allocating check that answers "certainly canonical" for text exactly as
/// the writer produces it (no whitespace, the writer's escapes only, numbers as
/// `Number::toString` writes their value, no duplicate keys, array-index keys first and
/// ascending). Anything else, valid or not, is "not sure" and goes to the full parser, so
/// [`is_canonical`] gives the same answers and errors as before; verify of a registry written
/// by the reference service (all canonical) never builds output. About 3× faster than
/// [`canonicalize`] and compare on registry metadata.
#[derive(Default)]
struct WrittenForm {
    /// Open containers: `Some(index of its first key in keys)` for an object, `None` for an
    /// array.
    frames: Vec<Option<usize>>,
    /// Byte ranges (inside the quotes) of the keys of every open object.
    keys: Vec<(usize, usize)>,
    sorted: Vec<(usize, usize)>,
    number: String,
}

thread_local! {
    static WRITTEN_FORM: std::cell::RefCell<WrittenForm> = std::cell::RefCell::default();
}

impl WrittenForm {
    /// Runs `f` with this thread's reusable state.
    fn with<R>(f: impl FnOnce(&mut WrittenForm) -> R) -> R {
        WRITTEN_FORM.with(|w| match w.try_borrow_mut() {
            Ok(mut w) => f(&mut w),
            Err(_) => f(&mut WrittenForm::default()),
        })
    }

    /// `true` only when `text` is certainly `JSON.stringify(JSON.parse(text))`.
    fn recognises(&mut self, text: &str) -> bool {
        let b = text.as_bytes();
        self.frames.clear();
        self.keys.clear();
        let mut i = 0;
        'value: loop {
            // A value starts at `i`.
            match b.get(i) {
                Some(b'{') | Some(b'[') if self.frames.len() >= MAX_DEPTH - 1 => return false,
                Some(b'{') => {
                    i += 1;
                    if b.get(i) == Some(&b'}') {
                        i += 1;
                    } else {
                        self.frames.push(Some(self.keys.len()));
                        match self.key(b, i) {
                            Some(next) => i = next,
                            None => return false,
                        }
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    i += 1;
                    if b.get(i) == Some(&b']') {
                        i += 1;
                    } else {
                        self.frames.push(None);
                        continue 'value;
                    }
                }
                Some(b'"') => match written_string_end(b, i) {
                    Some(end) => i = end,
                    None => return false,
                },
                Some(b'-' | b'0'..=b'9') => match self.written_number_end(text, i) {
                    Some(end) => i = end,
                    None => return false,
                },
                Some(b't') if b[i..].starts_with(b"true") => i += 4,
                Some(b'f') if b[i..].starts_with(b"false") => i += 5,
                Some(b'n') if b[i..].starts_with(b"null") => i += 4,
                _ => return false,
            }
            // A value ended at `i`: a separator, or containers closing.
            loop {
                let Some(&frame) = self.frames.last() else {
                    return i == b.len();
                };
                match (frame, b.get(i)) {
                    (_, Some(b',')) => {
                        i += 1;
                        if frame.is_some() {
                            match self.key(b, i) {
                                Some(next) => i = next,
                                None => return false,
                            }
                        }
                        continue 'value;
                    }
                    (None, Some(b']')) => {
                        i += 1;
                        self.frames.pop();
                    }
                    (Some(first), Some(b'}')) => {
                        i += 1;
                        if !self.keys_in_property_order(b, first) {
                            return false;
                        }
                        self.keys.truncate(first);
                        self.frames.pop();
                    }
                    _ => return false,
                }
            }
        }
    }

    /// A key and its ':' at `i`: records the key and returns where its value starts.
    fn key(&mut self, b: &[u8], i: usize) -> Option<usize> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = written_string_end(b, i)?;
        if b.get(end) != Some(&b':') {
            return None;
        }
        self.keys.push((i + 1, end - 1));
        Some(end + 1)
    }

    /// The end of the number token at `i`, when the writer writes its value as that token.
    fn written_number_end(&mut self, text: &str, i: usize) -> Option<usize> {
        let b = text.as_bytes();
        let mut j = i;
        while j < b.len() && matches!(b[j], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            j += 1;
        }
        let token = &text[i..j];
        let digits = token.strip_prefix('-').unwrap_or(token).as_bytes();
        // The usual case: "0", or an integer of at most 15 digits without a leading zero
        // (exact in an f64, written back digit for digit).
        if token == "0"
            || (!digits.is_empty()
                && digits.len() <= 15
                && digits[0] != b'0'
                && digits.iter().all(u8::is_ascii_digit))
        {
            return Some(j);
        }
        // Anything else must be a JSON number whose f64 the writer writes as this token.
        let mut p = Parser::new(token);
        let (value, _) = p.number().ok()?;
        if p.pos != token.len() || !value.is_finite() {
            return None;
        }
        self.number.clear();
        write_number(value, &mut self.number);
        (self.number == token).then_some(j)
    }

    /// Whether the keys of the object whose keys start at `first` are unique, with its
    /// array-index keys first and ascending (JavaScript property order).
    fn keys_in_property_order(&mut self, b: &[u8], first: usize) -> bool {
        let keys = &self.keys[first..];
        let text = |&(s, e): &(usize, usize)| &b[s..e];
        let mut last_index: Option<u32> = None;
        let mut named = false;
        for k in keys {
            // An index key is plain digits, so its written form is the key itself.
            match std::str::from_utf8(text(k)).ok().and_then(array_index) {
                Some(n) => {
                    if named || last_index.is_some_and(|l| n <= l) {
                        return false;
                    }
                    last_index = Some(n);
                }
                None => named = true,
            }
        }
        // Written forms are one-to-one with key values, so equal values are equal bytes.
        if keys.len() <= 16 {
            // A filter on (length, first byte, last byte) clears most objects without
            // comparing keys.
            let (mut seen, mut suspect) = (0u64, false);
            for k in keys {
                let t = text(k);
                let h = (t.len() as u64 * 31
                    + *t.first().unwrap_or(&0) as u64 * 7
                    + *t.last().unwrap_or(&0) as u64)
                    % 64;
                suspect |= seen & (1 << h) != 0;
                seen |= 1 << h;
            }
            return !suspect
                || keys
                    .iter()
                    .enumerate()
                    .all(|(x, a)| keys[x + 1..].iter().all(|c| text(c) != text(a)));
        }
        self.sorted.clear();
        self.sorted.extend_from_slice(keys);
        self.sorted.sort_unstable_by(|x, y| text(x).cmp(text(y)));
        self.sorted.windows(2).all(|w| text(&w[0]) != text(&w[1]))
    }
}

/// The end (after the closing quote) of the string literal at `i`, when it is written
/// exactly as the writer writes strings: raw characters but for `"`, `\\` and U+0000–U+001F,
/// the short escapes, and lowercase `\u00xx` for the other control characters.
#[inline]
fn written_string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j = scan_plain(b, j);
        match *b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => match *b.get(j + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                b'u' => {
                    let hex = |c: u8| match c {
                        b'0'..=b'9' => Some(c - b'0'),
                        b'a'..=b'f' => Some(c - b'a' + 10),
                        _ => None,
                    };
                    let [b'0', b'0', h, l] = *b.get(j + 2..j + 6)? else {
                        return None;
                    };
                    let c = hex(h)? * 16 + hex(l)?;
                    if c >= 0x20 || ESCAPE[c as usize] != b'u' {
                        return None;
                    }
                    j += 6;
                }
                _ => return None,
            },
            // A raw control character: not JSON.
            _ => return None,
        }
    }
}

fn write_value(value: &JsValue, out: &mut String) {
    match value {
        JsValue::Null => out.push_str("null"),
        JsValue::Bool(true) => out.push_str("true"),
        JsValue::Bool(false) => out.push_str("false"),
        JsValue::Number(n) => write_number(*n, out),
        JsValue::String(s) => write_string(s, out),
        JsValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        JsValue::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

/// ECMAScript `Number::toString`; non-finite values become `null` as in
/// `JSON.stringify`.
#[inline]
fn write_number(n: f64, out: &mut String) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    if n == n.trunc() && n.abs() < 1e15 {
        // Integers below 1e15 print as their plain digits ("-0" prints "0").
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut v = n.abs() as u64;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0.0 {
            i -= 1;
            buf[i] = b'-';
        }
        out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
        return;
    }
    out.push_str(ryu_js::Buffer::new().format_finite(n));
}

/// What `JSON.stringify` writes for a byte that needs escaping (0 = raw).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// The escape `JSON.stringify` writes for byte `b` (one with `ESCAPE[b] != 0`).
#[inline]
fn escape_text(b: u8, buf: &mut [u8; 6]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let e = ESCAPE[b as usize];
    let len = if e == b'u' {
        *buf = [
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xf) as usize],
        ];
        6
    } else {
        buf[0] = b'\\';
        buf[1] = e;
        2
    };
    std::str::from_utf8(&buf[..len]).expect("ASCII escape")
}

#[inline]
fn push_escape(b: u8, out: &mut String) {
    let mut buf = [0u8; 6];
    out.push_str(escape_text(b, &mut buf));
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    loop {
        // The bytes to escape are exactly those `scan_plain` stops at.
        let i = scan_plain(bytes, run);
        out.push_str(&s[run..i]);
        match bytes.get(i) {
            Some(&b) => {
                push_escape(b, out);
                run = i + 1;
            }
            None => break,
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------
// Integrity hash
// ---------------------------------------------------------------------------

const HASH_PREFIX: &[u8] = b"{\"manifest\":";
const HASH_MIDDLE: &[u8] = b",\"metadata\":";
const HASH_SUFFIX: &[u8] = b"}";

/// Lowercase hex SHA-256 of `'{"manifest":' + manifest_text + ',"metadata":' +
/// metadata_text + '}'`, the registry's `hash` column.
pub fn integrity_hash(manifest_text: &str, metadata_text: &str) -> String {
    to_hex(&Hasher::new().hash(manifest_text, metadata_text))
}

/// Reusable integrity hasher for streaming verification: no allocation per
/// row.
#[derive(Clone, Default)]
pub struct Hasher {
    sha: Sha256,
}

impl Hasher {
    pub fn new() -> Self {
        Hasher { sha: Sha256::new() }
    }

    /// SHA-256 of `'{"manifest":' + manifest_text + ',"metadata":' + metadata_text + '}'`.
    pub fn hash(&mut self, manifest_text: &str, metadata_text: &str) -> [u8; 32] {
        self.sha.update(HASH_PREFIX);
        self.sha.update(manifest_text.as_bytes());
        self.sha.update(HASH_MIDDLE);
        self.sha.update(metadata_text.as_bytes());
        self.sha.update(HASH_SUFFIX);
        self.sha.finalize_reset().into()
    }

    /// Whether the row's texts hash to `expected_hex` (case-insensitive hex),
    /// without allocating.
    pub fn matches(
        &mut self,
        manifest_text: &str,
        metadata_text: &str,
        expected_hex: &str,
    ) -> bool {
        hex_eq(&self.hash(manifest_text, metadata_text), expected_hex)
    }

    /// Same as the free function [`to_hex`].
    pub fn to_hex(digest: &[u8; 32]) -> String {
        to_hex(digest)
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

/// Lowercase hex of a digest (64 characters).
pub fn to_hex(digest: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for &b in digest {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Whether `hex` (either case) spells `digest`.
pub fn hex_eq(digest: &[u8; 32], hex: &str) -> bool {
    let h = hex.as_bytes();
    if h.len() != 64 {
        return false;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    digest.iter().enumerate().all(|(i, &b)| {
        matches!((nibble(h[2 * i]), nibble(h[2 * i + 1])), (Some(hi), Some(lo)) if (hi << 4 | lo) == b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonicalize(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
    }

    fn err(text: &str) -> CanonicalError {
        match canonicalize(text) {
            Ok(out) => panic!("{text:?} accepted as {out:?}"),
            Err(e) => e,
        }
    }

    fn syntax_at(text: &str, line: usize, column: usize, needle: &str) {
        let e = err(text);
        assert!(
            matches!(e, CanonicalError::Syntax { .. }),
            "{text:?}: expected a syntax error, got {e}"
        );
        assert_eq!((e.line(), e.column()), (line, column), "{text:?}: {e}");
        assert!(
            e.to_string().contains(needle),
            "{text:?}: {e} lacks {needle:?}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("invalid JSON at line {line}, column {column}: ")),
            "{e}"
        );
    }

    #[test]
    fn compact_output() {
        assert_eq!(
            canon(" {\n\t\"a\" : [ 1 , 2 , { } , [ ] ] ,\r\n \"b\" : null } \n"),
            r#"{"a":[1,2,{},[]],"b":null}"#
        );
        assert_eq!(canon("true"), "true");
        assert_eq!(canon(" false "), "false");
        assert_eq!(canon("null"), "null");
        assert_eq!(canon("\"x\""), "\"x\"");
        assert_eq!(canon("[[[]]]"), "[[[]]]");
    }

    #[test]
    fn key_order_integer_like_first() {
        assert_eq!(
            canon(
                r#"{"b":1,"10":2,"2":3,"a":4,"-1":5,"01":6,"0":7,"1.5":8,"4294967294":9,"4294967295":10}"#
            ),
            r#"{"0":7,"2":3,"10":2,"4294967294":9,"b":1,"a":4,"-1":5,"01":6,"1.5":8,"4294967295":10}"#
        );
        assert_eq!(canon(r#"{"z":1,"y":2,"x":3}"#), r#"{"z":1,"y":2,"x":3}"#);
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("4294967294"), Some(4_294_967_294));
        for k in [
            "",
            "00",
            "01",
            "-1",
            "+1",
            "1.0",
            "1e3",
            " 1",
            "4294967295",
            "99999999999",
            "1a",
        ] {
            assert_eq!(array_index(k), None, "{k:?}");
        }
    }

    #[test]
    fn duplicate_keys_first_position_last_value() {
        assert_eq!(
            canon(r#"{"name":"first","z":1,"name":"second","a":2,"z":3}"#),
            r#"{"name":"second","z":3,"a":2}"#
        );
        assert_eq!(
            canon(r#"{"1":"a","0":"b","1":"c"}"#),
            r#"{"0":"b","1":"c"}"#
        );
        // Large objects take the hash-map path.
        let mut text = String::from("{");
        let mut expected = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\":{i},"));
            expected.push_str(&format!("\"k{i}\":{},", if i == 5 { 999 } else { i }));
        }
        text.push_str("\"k5\":999,\"7\":true}");
        expected.insert_str(1, "\"7\":true,");
        expected.pop();
        expected.push('}');
        assert_eq!(canon(&text), expected);
    }

    #[test]
    fn numbers_as_ecmascript_number_to_string() {
        let cases = [
            ("1.0", "1"),
            ("1.50", "1.5"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("0e5", "0"),
            ("0.1", "0.1"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1E2", "100"),
            ("2e0", "2"),
            ("-1.25e-3", "-0.00125"),
            ("1E+2", "100"),
            ("123456789012345678901234567890", "1.2345678901234568e+29"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("5e-324", "5e-324"),
            ("1e-400", "0"),
            ("-1e-400", "0"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("-1.7976931348623157e308", "-1.7976931348623157e+308"),
            ("9007199254740993", "9007199254740992"),
            ("9007199254740992", "9007199254740992"),
            ("999999999999999", "999999999999999"),
            ("-999999999999999", "-999999999999999"),
            ("1000000000000000", "1000000000000000"),
            ("123456789012345678", "123456789012345680"),
            ("-42", "-42"),
            ("100", "100"),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(input), expected, "{input}");
            assert_eq!(canon(&format!("[{input}]")), format!("[{expected}]"));
        }
    }

    #[test]
    fn non_finite_numbers_in_values_write_null() {
        let v = JsValue::Array(vec![
            JsValue::Number(f64::NAN),
            JsValue::Number(f64::INFINITY),
            JsValue::Number(-0.0),
        ]);
        assert_eq!(stringify(&v), "[null,null,0]");
    }

    #[test]
    fn number_overflow_refused() {
        for (text, literal, col) in [
            ("1e400", "1e400", 1),
            ("-1e400", "-1e400", 1),
            ("[1, 1.8e308]", "1.8e308", 5),
        ] {
            let e = err(text);
            assert_eq!(
                e,
                CanonicalError::NumberOverflow {
                    line: 1,
                    column: col,
                    literal: literal.into()
                }
            );
            assert_eq!(
                e.to_string(),
                format!("number {literal} at line 1, column {col} overflows a 64-bit float (JavaScript would store it as null)")
            );
        }
        let e = err(&format!("{{\n  \"n\": {}\n}}", "9".repeat(400)));
        assert_eq!((e.line(), e.column()), (2, 8));
        assert!(e.to_string().contains("9999..."), "{e}");
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            canon(r#""q\" b\\ s\/ t\t n\n r\r b\b f\f""#),
            r#""q\" b\\ s/ t\t n\n r\r b\b f\f""#
        );
        assert_eq!(
            canon(r#""\u0000\u001F\u001f\u000b\u0007""#),
            r#""\u0000\u001f\u001f\u000b\u0007""#
        );
        // U+007F, U+2028, U+2029, "/" and non-ASCII are written raw.
        assert_eq!(
            canon(r#""\u007f\u2028\u2029\u00e9\u4E2D""#),
            "\"\u{7f}\u{2028}\u{2029}é中\""
        );
        assert_eq!(canon("\"\u{7f}\u{2028}é😀\""), "\"\u{7f}\u{2028}é😀\"");
        assert_eq!(canon(r#""\ud83d\ude00""#), "\"😀\"");
        assert_eq!(canon(r#""\uD83D\uDE00x""#), "\"😀x\"");
        assert_eq!(canon(r#"{"\u0061":1}"#), r#"{"a":1}"#);
        assert_eq!(
            stringify(&JsValue::String("\u{1}\u{8}\u{c}\n\r\t\"\\\u{1f} ".into())),
            r#""\u0001\b\f\n\r\t\"\\\u001f ""#
        );
    }

    #[test]
    fn string_scan_finds_every_special_byte_at_every_offset() {
        let specials = [
            "\"", "\\n", "\u{1f}", "\\u0000", "\\\"", "é", "\u{7f}", "\u{80}", "~",
        ];
        for len in 0..20 {
            for at in 0..=len {
                for special in specials {
                    let mut body = "a".repeat(len);
                    body.insert_str(at, special);
                    let text = format!("\"{body}\"");
                    let via_tree = parse(&text).map(|v| stringify(&v));
                    assert_eq!(canonicalize(&text), via_tree, "{text:?}");
                    if special == "\"" {
                        let e = err(&text);
                        assert!(
                            e.to_string().contains("after the end")
                                || e.to_string().contains("unterminated"),
                            "{e}"
                        );
                    }
                }
            }
        }
        for b in 0u8..=0x7f {
            let c = b as char;
            let text = format!("\"abcdefghijklmnop{c}qrstuvwxyz\"");
            let ok = parse(&text).is_ok();
            assert_eq!(ok, b >= 0x20 && c != '"' && c != '\\', "{b:#x}");
        }
        assert_eq!(scan_plain(b"abcdefgh\x1fz", 0), 8);
        assert_eq!(scan_plain(b"\xff\xe0\xa0\x9f\x80\x7f\x60\x21\x22", 0), 8);
        assert_eq!(scan_plain(b"\x21\x5b\x5d\x5c", 0), 3);
        assert_eq!(scan_plain(b"abc", 0), 3);
    }

    #[test]
    fn escape_table_matches_scan_stops() {
        for b in 0..=255u8 {
            assert_eq!(ESCAPE[b as usize] != 0, STRING_STOP[b as usize], "{b:#x}");
            assert_eq!(scan_plain(&[b], 0) == 0, STRING_STOP[b as usize], "{b:#x}");
        }
    }

    #[test]
    fn lone_surrogates_refused() {
        for (text, escape, col) in [
            (r#""\ud800""#, r"\ud800", 2),
            (r#""ab\uDC00""#, r"\uDC00", 4),
            (r#""\ud800\u0041""#, r"\ud800", 2),
            (r#""\ud800\ud800""#, r"\ud800", 2),
            (r#""\ud800x""#, r"\ud800", 2),
            (r#"["é", "\udfff"]"#, r"\udfff", 8),
        ] {
            let e = err(text);
            assert_eq!(
                e,
                CanonicalError::LoneSurrogate {
                    line: 1,
                    column: col,
                    escape: escape.into()
                },
                "{text}"
            );
            assert!(
                e.to_string().starts_with(&format!(
                    "lone surrogate {escape} at line 1, column {col}: "
                )),
                "{e}"
            );
        }
        let e = err("{\n\"k\": \"\\ud83d\"}");
        assert_eq!((e.line(), e.column()), (2, 7));
    }

    #[test]
    fn grammar_errors_with_position() {
        syntax_at("", 1, 1, "expected a value");
        syntax_at("   ", 1, 4, "end of input");
        syntax_at(
            "{\n  \"a\": 1\n  \"b\": 2\n}",
            3,
            3,
            "expected ',' or '}' after an object member",
        );
        syntax_at("[1,]", 1, 4, "trailing comma before ']'");
        syntax_at("{\"a\":1,}", 1, 8, "trailing comma before '}'");
        syntax_at("[1 2]", 1, 4, "expected ',' or ']' after an array element");
        syntax_at("01", 1, 2, "leading zeros");
        syntax_at("[-01]", 1, 4, "leading zeros");
        syntax_at("+1", 1, 1, "'+'");
        syntax_at(".5", 1, 1, "decimal point");
        syntax_at("1.", 1, 3, "after the decimal point");
        syntax_at("1.e5", 1, 3, "after the decimal point");
        syntax_at("1e", 1, 3, "exponent");
        syntax_at("1e+", 1, 4, "exponent");
        syntax_at("-", 1, 2, "after '-'");
        syntax_at("-a", 1, 2, "after '-'");
        syntax_at("NaN", 1, 1, "NaN and Infinity");
        syntax_at("[Infinity]", 1, 2, "NaN and Infinity");
        syntax_at("-Infinity", 1, 2, "after '-'");
        syntax_at("tru", 1, 4, "expected 'true'");
        syntax_at("nul", 1, 4, "expected 'null'");
        syntax_at("[fals]", 1, 6, "expected 'false'");
        syntax_at("{'a':1}", 1, 2, "double quotes");
        syntax_at("{a:1}", 1, 2, "an object key");
        syntax_at("{\"a\" 1}", 1, 6, "':'");
        syntax_at("[1] // c", 1, 5, "after the end of the JSON value");
        syntax_at("/* c */ 1", 1, 1, "comments");
        syntax_at("1 2", 1, 3, "after the end");
        syntax_at("{} x", 1, 4, "'x'");
        syntax_at("\u{feff}{}", 1, 1, "byte order mark");
        syntax_at("\u{a0}1", 1, 1, "expected a value");
        syntax_at("1\u{a0}", 1, 2, "after the end");
        syntax_at("\u{c}1", 1, 1, "U+000C");
        syntax_at("\"a\tb\"", 1, 3, "control character U+0009");
        syntax_at("\"a\nb\"", 1, 3, "control character U+000A");
        syntax_at("\"\\x\"", 1, 3, "invalid escape");
        syntax_at("\"\\u12g4\"", 1, 6, "4 hex digits");
        syntax_at("\"\\u12", 1, 6, "4 hex digits");
        syntax_at("\"abc", 1, 1, "unterminated string");
        syntax_at("[\"é\", \"abc", 1, 7, "unterminated string");
        syntax_at("\"é\\", 1, 4, "invalid escape");
        syntax_at("[", 1, 2, "end of input");
        syntax_at("{", 1, 2, "an object key");
        syntax_at("{\"a\":", 1, 6, "expected a value");
        syntax_at("[1,,2]", 1, 4, "expected a value");
        // Columns count characters, not bytes.
        syntax_at("[\"中文😀\" x]", 1, 8, "'x'");
        syntax_at("{\r\n\"a\":1\r\n,,}", 3, 2, "an object key");
    }

    #[test]
    fn deep_nesting_refused_without_crash() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(canon(&ok), ok);
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(canon(&ok), ok);
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = err(&too_deep);
        assert_eq!(
            e,
            CanonicalError::TooDeep {
                line: 1,
                column: MAX_DEPTH + 1,
                limit: MAX_DEPTH
            }
        );
        assert!(e.to_string().contains("more than 512 levels"), "{e}");
        // Far deeper than any stack would take recursively.
        let huge = "{\"a\":[".repeat(1_000_000);
        let e = err(&huge);
        assert!(matches!(e, CanonicalError::TooDeep { .. }), "{e}");
        let e = err(&"[".repeat(5_000_000));
        assert!(matches!(e, CanonicalError::TooDeep { .. }), "{e}");
    }

    #[test]
    fn is_canonical_agrees_with_canonicalize() {
        for text in [
            r#"{"a":1}"#,
            r#"{"a":1.0}"#,
            r#"{ "a":1}"#,
            r#"{"b":1,"0":2}"#,
            r#"{"0":2,"b":1}"#,
            r#"[1,"x\/y"]"#,
            r#"[1,"x/y"]"#,
            r#"{"a":1,"a":2}"#,
            "1 ",
            "\"\\u00e9\"",
            "\"é\"",
            "[]",
            "[1,2]x",
        ] {
            match canonicalize(text) {
                Ok(c) => assert_eq!(is_canonical(text), Ok(c == text), "{text}"),
                Err(e) => assert_eq!(is_canonical(text), Err(e)),
            }
        }
        assert_eq!(is_canonical(r#"{"a":[1,{"b":null}]}"#), Ok(true));
        assert_eq!(is_canonical(r#"{"a":[1,{"b":null}]} "#), Ok(false));
    }

    /// `canonicalize` (written while parsing) and `stringify(parse(..))` (via the
    /// tree) give the same text and the same errors.
    #[test]
    fn writer_and_tree_agree() {
        let big_dup: String = {
            let mut t = String::from("{");
            for i in 0..60 {
                t.push_str(&format!("\"k{}\":{i},\"{}\":[{i}],", i % 40, 100 - i));
            }
            t.push_str("\"z\":{\"b\":1,\"1\":2,\"b\":{\"y\":1,\"0\":0,\"y\":2}}}");
            t
        };
        let cases = [
            r#"{"b":1,"10":2,"2":3,"a":4,"2":5,"b":{"x":1,"0":2,"x":[3,{"1":1,"1":2}]}}"#,
            r#"[{"a":1,"a":2},{"\u0031":1,"1":2},{"\/":1,"/":2}]"#,
            r#"{"\u00e9":1,"é":2,"\n":3,"\u000a":4}"#,
            r#"[-0, -0.0, 0, 1.0, 1e21, 123456789012345, 1234567890123456, -123, 9007199254740993]"#,
            r#""\u0000\u001f\u007f\u2028\ud83d\ude00\"\\\/""#,
            "[1,2,{\"a\":[]}] ",
            "[1,2,{\"a\":[]}] x",
            "{\"a\":1,}",
            "\"\\ud800\"",
            "[1e999]",
            &big_dup,
        ];
        for text in cases {
            let via_tree = parse(text).map(|v| stringify(&v));
            assert_eq!(canonicalize(text), via_tree, "{text}");
            if let Ok(c) = &via_tree {
                assert_eq!(canonicalize(c).as_ref(), Ok(c), "not a fixed point: {c}");
            }
        }
        assert_eq!(
            canon(r#"{"b":1,"1":2,"b":{"y":1,"0":0,"y":2}}"#),
            r#"{"1":2,"b":{"0":0,"y":2}}"#
        );
        let mut out = String::from("x=");
        canonicalize_into("[ 1 ]", &mut out).unwrap();
        assert_eq!(out, "x=[1]");
    }

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

    #[test]
    fn write_into_appends() {
        let mut out = String::from("x=");
        write_into(&parse("[1, {\"a\" : \"b\"}]").unwrap(), &mut out);
        assert_eq!(out, r#"x=[1,{"a":"b"}]"#);
    }

    #[test]
    fn integrity_hash_over_pieces() {
        let m = r#"{"id":"a","version":"1.0.0"}"#;
        let d = r#"{"objects":[]}"#;
        let whole = format!("{{\"manifest\":{m},\"metadata\":{d}}}");
        let expected = to_hex(&Sha256::digest(whole.as_bytes()).into());
        assert_eq!(integrity_hash(m, d), expected);
        assert_eq!(expected.len(), 64);
        assert!(expected
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        // Reusing a hasher gives the same digests.
        let mut h = Hasher::new();
        let first = h.hash(m, d);
        let _ = h.hash("{}", "{}");
        assert_eq!(h.hash(m, d), first);
        assert_eq!(Hasher::to_hex(&first), expected);
        assert!(h.matches(m, d, &expected));
        assert!(h.matches(m, d, &expected.to_uppercase()));
        assert!(!h.matches(m, "{}", &expected));
        assert!(!h.matches(m, d, &expected[..63]));
        // Known value: sha256('{"manifest":{},"metadata":{}}').
        assert_eq!(
            integrity_hash("{}", "{}"),
            to_hex(&Sha256::digest(br#"{"manifest":{},"metadata":{}}"#).into())
        );
        assert_ne!(integrity_hash("{}", "{}"), integrity_hash("{} ", "{}"));
    }

    /// The written-form recogniser behind [`is_canonical`] never calls a text canonical that
    /// the full parse-and-write disagrees with, and recognises what the writer writes.
    #[test]
    fn written_form_is_recognised_and_nothing_else() {
        let recognises = |t: &str| WrittenForm::default().recognises(t);
        let full = |t: &str| canonicalize(t).is_ok_and(|c| c == t);
        let written = [
            r#"{"id":"a","version":"1.0.0","n":[0,-1,123456789012345,0.5,1e+21,1e-7,-2.5e-8]}"#,
            "{\"0\":\"x\",\"2\":\"y\",\"10\":\"z\",\"a\":{\"1\":[],\"b\":{}},\"s\":\"q\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f/\u{7f}\u{2028}é😀\"}",
            "[]",
            "[[],{},null,true,false,\"\"]",
            "1.7976931348623157e+308",
        ];
        for t in written {
            assert!(full(t), "{t:?} is not what the writer writes");
            assert!(recognises(t), "{t:?} was not recognised");
        }
        let not_written = [
            " {}",
            "{} ",
            "{\"a\" :1}",
            "[1 ,2]",
            "-0",
            "1.0",
            "1E2",
            "1e21",
            "01",
            "1.",
            ".5",
            "9007199254740993",
            "1e400",
            "-",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\":1,\"a\":2}",
            "{\"b\":1,\"0\":2}",
            "{\"2\":1,\"1\":2}",
            "{\"1\":1,\"1\":2}",
            "\"\\/\"",
            "\"\\u0041\"",
            "\"\\u001F\"",
            "\"\\u000a\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"\u{1}\"",
            "\"a",
            "[",
            "{",
            "nul",
            "tru",
            "\u{feff}{}",
            "",
            "{\"a\":1}x",
            "{\"01\":1,\"1\":2}",
        ];
        for t in not_written {
            assert!(!recognises(t), "{t:?} was recognised");
        }
        // Nesting at and past the parser's limit is left to the parser.
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!recognises(&deep));
        assert!(is_canonical(&deep).is_err());
        // Every one-byte deletion or insertion in a written text: recognised only when the
        // full check agrees.
        let base = written[1];
        for at in (0..=base.len()).filter(|&a| base.is_char_boundary(a)) {
            let next = (at + 1..=base.len()).find(|&e| base.is_char_boundary(e));
            let mut variants: Vec<String> = [" ", "\\", "\"", "0", "-", ",", ":", "}", "]", "e"]
                .iter()
                .map(|x| format!("{}{x}{}", &base[..at], &base[at..]))
                .collect();
            if let Some(end) = next {
                variants.push(format!("{}{}", &base[..at], &base[end..]));
            }
            for v in variants {
                assert!(
                    !recognises(&v) || full(&v),
                    "{v:?} recognised but not canonical"
                );
            }
        }
        // Objects past the linear duplicate check.
        let many: Vec<String> = (0..40).map(|k| format!("\"k{k}\":{k}")).collect();
        let unique = format!("{{{}}}", many.join(","));
        assert!(recognises(&unique) && full(&unique));
        let dup = format!("{{{},\"k7\":1}}", many.join(","));
        assert!(!recognises(&dup) && !full(&dup));
    }

    #[test]
    fn stored_texts_accept_lone_surrogates() {
        // Refused for publish, accepted when read back; the tree holds U+FFFD.
        for (text, tree) in [
            (r#""\ud800""#, JsValue::String("\u{FFFD}".into())),
            (r#""x\uDC00y""#, JsValue::String("x\u{FFFD}y".into())),
            (
                r#""\ud800\ud800""#,
                JsValue::String("\u{FFFD}\u{FFFD}".into()),
            ),
            // A lone high half, then a real pair.
            (
                r#""\ud800\ud83d\ude00""#,
                JsValue::String("\u{FFFD}\u{1F600}".into()),
            ),
            (r#""\ud800\u0041""#, JsValue::String("\u{FFFD}A".into())),
            (
                r#""\udc00\ud800""#,
                JsValue::String("\u{FFFD}\u{FFFD}".into()),
            ),
            (
                r#"{"name":"x\ud800y","\udfff":[1]}"#,
                JsValue::Object(vec![
                    ("name".into(), JsValue::String("x\u{FFFD}y".into())),
                    (
                        "\u{FFFD}".into(),
                        JsValue::Array(vec![JsValue::Number(1.0)]),
                    ),
                ]),
            ),
        ] {
            assert!(
                matches!(parse(text), Err(CanonicalError::LoneSurrogate { .. })),
                "{text}"
            );
            assert!(
                matches!(
                    is_canonical(text),
                    Err(CanonicalError::LoneSurrogate { .. })
                ),
                "{text}"
            );
            assert_eq!(parse_stored(text), Ok(tree), "{text}");
            assert!(is_canonical_stored(text).is_ok(), "{text}");
        }
        // Without lone surrogates the stored functions are the strict ones.
        for text in [
            r#"{"a":1}"#,
            r#"{ "a":1}"#,
            r#""\ud83d\ude00""#,
            r#"{"a":1,"a":2}"#,
            "\"\\u00e9\"",
            "\"\\u001f\"",
            "[1,2]x",
            "1e400",
            "",
        ] {
            assert_eq!(parse_stored(text), parse(text), "{text}");
            assert_eq!(is_canonical_stored(text), is_canonical(text), "{text}");
        }
    }

    #[test]
    fn stored_lone_surrogates_are_canonical_as_json_stringify_writes_them() {
        // Node.js >= 12 (well-formed JSON.stringify):
        //   JSON.stringify({a:"\ud800"})          === '{"a":"\\ud800"}'
        //   JSON.stringify("\uDEAD")              === '"\\udead"'   (lowercase hex)
        //   JSON.stringify("\ud83d\ude00")        === '"😀"'        (a pair is written raw)
        // (tests/canonical_node.rs checks these against node itself.)
        for (text, canonical) in [
            (r#"{"a":"\ud800"}"#, true),
            (r#""\udead""#, true),
            (r#""x\udbffy\udc00""#, true),
            (r#"{"\ud800":1}"#, true),
            (r#""\udc00\ud800""#, true),
            (r#""\ud800😀""#, true),
            // Uppercase hex is not what JSON.stringify writes.
            (r#""\uD800""#, false),
            (r#""\udEAD""#, false),
            (r#"{"a":"\uDBFF"}"#, false),
            // A valid pair written as escapes is written back as the raw character.
            (r#""\ud83d\ude00""#, false),
            (r#""\ud800\ud83d\ude00""#, false),
            // Whitespace, duplicate keys and key order still count.
            (r#"{ "a":"\ud800"}"#, false),
            (r#"{"\ud800":1,"\uD800":2}"#, false),
            (r#"{"b":"\ud800","0":1}"#, false),
        ] {
            assert_eq!(is_canonical_stored(text), Ok(canonical), "{text}");
        }
        // Written forms: lowercase escapes, pairs raw, duplicates merged.
        let written = |text: &str| {
            let mut out = String::new();
            write_canonical(Parser::stored(text), &mut out).map(|()| out)
        };
        assert_eq!(written(r#""\uD800""#).unwrap(), r#""\ud800""#);
        assert_eq!(written(r#""\ud83d\ude00""#).unwrap(), "\"\u{1F600}\"");
        assert_eq!(
            written(r#"{"\ud800":1,"\uD800":2, "0":3}"#).unwrap(),
            r#"{"0":3,"\ud800":2}"#
        );
        // The fast path never vouches for a lone surrogate: the full check decides.
        WrittenForm::with(|w| {
            assert!(!w.recognises(r#""\ud800""#));
            assert!(!w.recognises(r#""\uD800""#));
        });
    }

    #[test]
    fn stored_texts_keep_every_other_error_with_its_position() {
        for (text, line, column) in [
            ("{\n\"a\": \"\\ud800\",}", 2, 15),
            ("[\"\\ud800\" 1]", 1, 11),
            ("\"\\ud800\\uZZ00\"", 1, 10),
            ("\"\\ud800\\u12\"", 1, 12),
            ("{\"a\":\"\\ud800\"", 1, 14),
            ("\"\\ud800", 1, 1),
        ] {
            // The same error as the strict parser gives once the lone surrogate is replaced
            // by a non-surrogate escape of the same length.
            let strict = parse(&text.replace("\\ud800", "\\u0041")).unwrap_err();
            for e in [
                parse_stored(text).unwrap_err(),
                is_canonical_stored(text).unwrap_err(),
            ] {
                assert!(matches!(e, CanonicalError::Syntax { .. }), "{text:?}: {e}");
                assert_eq!((e.line(), e.column()), (line, column), "{text:?}: {e}");
                assert_eq!(e, strict, "{text:?}");
            }
        }
        let e = is_canonical_stored("{\"a\":\"\\ud800\",\"n\":1e400}").unwrap_err();
        assert!(
            matches!(
                e,
                CanonicalError::NumberOverflow {
                    line: 1,
                    column: 19,
                    ..
                }
            ),
            "{e}"
        );
        let deep = format!(
            "{}\"\\ud800\"{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            parse_stored(&deep),
            Err(CanonicalError::TooDeep { .. })
        ));
    }
}
