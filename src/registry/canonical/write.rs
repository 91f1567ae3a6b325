//! `JSON.stringify` text: from a tree ([`stringify`], [`write_into`]) and while parsing, without
//! a tree ([`canonicalize`]), with ECMAScript `Number::toString` for numbers and
//! `JSON.stringify`'s minimal escaping for strings.

use super::order::{reorder_written_object, Span};
use super::parse::{Handler, Literal, Parser};
use super::token::{scan_plain, StrOut};
use super::{CanonicalError, JsValue};

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
/// built); same errors as [`parse`](super::parse()).
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

pub(super) fn write_canonical(
    mut parser: Parser<'_>,
    out: &mut String,
) -> Result<(), CanonicalError> {
    let mut writer = CanonicalWriter {
        out,
        spans: Vec::new(),
        objects: Vec::new(),
    };
    parser.run(&mut writer)
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
pub(super) fn write_number(n: f64, out: &mut String) {
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
pub(super) static ESCAPE: [u8; 256] = {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::parse;
    use crate::registry::canonical::test_support::canon;

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
            r"[-0, -0.0, 0, 1.0, 1e21, 123456789012345, 1234567890123456, -123, 9007199254740993]",
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
    fn write_into_appends() {
        let mut out = String::from("x=");
        write_into(&parse("[1, {\"a\" : \"b\"}]").unwrap(), &mut out);
        assert_eq!(out, r#"x=[1,{"a":"b"}]"#);
    }
}
