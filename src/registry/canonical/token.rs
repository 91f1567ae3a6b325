//! The two tokens that take real work inside the grammar: string literals (a scan eight bytes
//! at a time, escapes, UTF-16 surrogates, and where the decoded text goes) and numbers (read
//! through an `f64`, as JavaScript does; one that overflows is refused, not turned into `null`).

use super::parse::{line_col, Parser};
use super::CanonicalError;

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

impl Parser<'_> {
    /// The contents of a string literal, decoded into `out`; `self.pos` is at
    /// the opening quote and ends after the closing one.
    pub(super) fn string_into<O: StrOut>(&mut self, out: &mut O) -> Result<(), CanonicalError> {
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
            v = v * 16 + u32::from(d);
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
    pub(super) fn number(&mut self) -> Result<(f64, bool), CanonicalError> {
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
        let digits_start = start + usize::from(negative);
        if plain_integer && int_end - digits_start <= 15 {
            // Exact in an f64 (< 2^53): no rounding involved.
            let mut v = 0u64;
            for &d in &b[digits_start..int_end] {
                v = v * 10 + u64::from(d - b'0');
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

/// Where decoded string contents go.
pub(super) trait StrOut {
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

/// The index of the first byte at or after `i` that is '"', '\\' or a control
/// character (or `bytes.len()`), eight bytes at a time.
#[inline]
pub(super) fn scan_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Classic "has a byte below n" / "has a zero byte" tests; a false
        // positive can only sit above a true one, so the lowest flag is exact.
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q & HIGH;
        let b = w ^ (ONES * u64::from(b'\\'));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::test_support::err;
    use crate::registry::canonical::write::ESCAPE;
    use crate::registry::canonical::{canonicalize, parse, stringify};

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
}
