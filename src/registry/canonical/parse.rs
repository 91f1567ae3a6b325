//! The one grammar loop behind every reading of JSON text (iterative, so nesting costs heap,
//! not stack), the errors it gives ([`CanonicalError`], with line and column) and the tree it
//! builds for [`parse`]. What it reports goes to a [`Handler`]: the tree builder here, or the
//! canonical writer in `write`.

use super::order::js_property_order;
use super::JsValue;

/// Deepest nesting of arrays/objects [`parse`] accepts.
pub const MAX_DEPTH: usize = 512;

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

/// Parse `text` with `JSON.parse` semantics.
pub fn parse(text: &str) -> Result<JsValue, CanonicalError> {
    build_tree(Parser::new(text))
}

/// The tree of the text `parser` reads (strict for [`parse`], lenient for `parse_stored`).
pub(super) fn build_tree(mut parser: Parser<'_>) -> Result<JsValue, CanonicalError> {
    let mut tree = TreeBuilder::default();
    parser.run(&mut tree)?;
    Ok(tree.value)
}

/// A cursor over one text: the grammar loop is here, the string and number tokens in `token`.
pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    /// Accept lone surrogate escapes (reading stored rows) instead of refusing
    /// them.
    pub(super) lone_surrogates: bool,
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

    pub(super) fn syntax(&self, pos: usize, message: impl Into<String>) -> CanonicalError {
        let (line, column) = line_col(self.text, pos);
        CanonicalError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }

    /// "'x'", "end of input", "U+000A" … for the character at `pos`.
    pub(super) fn found(&self, pos: usize) -> String {
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

    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            lone_surrogates: false,
        }
    }

    /// A parser for a stored text: lone surrogate escapes are accepted and
    /// handed to [`StrOut::lone`].
    pub(super) fn stored(text: &'a str) -> Self {
        Parser {
            lone_surrogates: true,
            ..Parser::new(text)
        }
    }

    /// The one grammar loop, shared by the tree builder ([`parse`]) and the
    /// canonical writer ([`canonicalize`]). Iterative: `frames` (true for an
    /// object) replaces recursion, so nesting costs heap, not stack.
    pub(super) fn run<H: Handler>(&mut self, h: &mut H) -> Result<(), CanonicalError> {
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
}

/// 1-based line and column (in characters) of byte offset `pos`.
pub(super) fn line_col(text: &str, pos: usize) -> (usize, usize) {
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

#[derive(Clone, Copy)]
pub(super) enum Literal {
    Null,
    True,
    False,
}

/// What the grammar loop reports, in text order.
pub(super) trait Handler {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::test_support::{canon, err};

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
}
