//! `JSON.parse` of a stored column, as the service's client hands it over: the canonical
//! reader of stored rows, widened where V8 accepts more (a number that overflows a double,
//! nesting of any depth).

use super::js::JsThrow;
use crate::registry::canonical::{self, CanonicalError, JsValue};

/// Nesting at which the slow path cuts a document into pieces `canonical::parse_stored`
/// takes (it refuses more than `canonical::MAX_DEPTH`; V8's `JSON.parse` has no limit).
const SPLIT_DEPTH: usize = 256;

/// `JSON.parse(column)` as the service's client hands it over: the tree, or why it throws.
#[cfg(test)]
pub(super) fn stored_json(column: Option<&str>) -> Result<JsValue, JsThrow> {
    stored_json_read(column).0
}

/// [`stored_json`], and whether `canonical::parse_stored` itself read the text (not the
/// widened slow path): the tree is then exactly what `parse_stored` gives.
pub(super) fn stored_json_read(column: Option<&str>) -> (Result<JsValue, JsThrow>, bool) {
    let Some(text) = column else {
        return (Err(JsThrow::new("it is not text")), false);
    };
    match canonical::parse_stored(text) {
        Ok(v) => (Ok(v), true),
        Err(CanonicalError::NumberOverflow { .. } | CanonicalError::TooDeep { .. }) => {
            (js_parse_widened(text), false)
        }
        Err(e) => (Err(e.into()), false),
    }
}

/// Whether `JSON.parse(column)` succeeds, without building the tree.
pub(super) fn stored_json_valid(column: Option<&str>) -> Result<(), JsThrow> {
    stored_json_check(column).0
}

/// [`stored_json_valid`], and whether `canonical::parse_stored` accepts the text too (its
/// recogniser and its parser refuse exactly what the parser refuses).
pub(super) fn stored_json_check(column: Option<&str>) -> (Result<(), JsThrow>, bool) {
    let Some(text) = column else {
        return (Err(JsThrow::new("it is not text")), false);
    };
    match canonical::is_canonical_stored(text) {
        Ok(_) => (Ok(()), true),
        Err(CanonicalError::NumberOverflow { .. } | CanonicalError::TooDeep { .. }) => {
            (js_parse_widened(text).map(|_| ()), false)
        }
        Err(e) => (Err(e.into()), false),
    }
}

/// A piece of the document being cut up by [`js_parse_widened`].
struct Piece {
    /// The piece's text so far, with its own cut-out pieces written as `0`.
    text: String,
    /// Where in the source the next uncopied byte of this piece starts.
    copied: usize,
    /// Bracket depth inside the piece.
    depth: usize,
}

/// The slow path for what `JSON.parse` accepts and `canonical::parse_stored` refuses, in one
/// pass over the text:
/// * A number literal that overflows a double is `Infinity` in JavaScript. At the top level it
///   is written as a finite stand-in that occurs nowhere else in the text and turned back
///   after parsing.
/// * A value that opens at depth [`SPLIT_DEPTH`] is cut out, parsed as a document of its own,
///   and replaced by `0`. JSON's grammar is context-free, so the whole parses exactly when
///   every piece does. The boot reads nothing that deep (its values sit at depth three); only
///   the tree of the top piece is kept.
pub(super) fn js_parse_widened(text: &str) -> Result<JsValue, JsThrow> {
    let b = text.as_bytes();
    let mut pieces = vec![Piece {
        text: String::with_capacity(text.len()),
        copied: 0,
        depth: 0,
    }];
    let mut finite = Vec::new();
    let mut overflows = Vec::new(); // (offset in the top piece's text, negative)
    let mut i = 0;
    while i < b.len() {
        let top = pieces.len() == 1;
        let Some(piece) = pieces.last_mut() else {
            break;
        };
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'[' | b'{' if piece.depth + 1 == SPLIT_DEPTH => {
                piece.text.push_str(&text[piece.copied..i]);
                piece.text.push('0');
                pieces.push(Piece {
                    text: String::new(),
                    copied: i,
                    depth: 1,
                });
                i += 1;
            }
            b'[' | b'{' => {
                piece.depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                i += 1;
                piece.depth = piece.depth.saturating_sub(1);
                if piece.depth == 0 && !top {
                    let mut done = pieces.pop().ok_or_else(|| JsThrow::new("no piece"))?;
                    done.text.push_str(&text[done.copied..i]);
                    canonical::parse_stored(&done.text).map_err(JsThrow::from)?;
                    if let Some(parent) = pieces.last_mut() {
                        parent.copied = i;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let literal = &text[start..i];
                if !is_json_number(literal) {
                    continue;
                }
                match literal.parse::<f64>() {
                    Ok(n) if n.is_infinite() => {
                        piece.text.push_str(&text[piece.copied..start]);
                        piece.copied = i;
                        if top {
                            overflows.push((piece.text.len(), n < 0.0));
                        } else {
                            // Only its validity matters down here.
                            piece.text.push('0');
                        }
                    }
                    Ok(n) if top => finite.push(n.abs()),
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    if pieces.len() > 1 {
        return Err(JsThrow::new(
            "unexpected end of JSON input (an array or object is not closed)",
        ));
    }
    let Some(mut top) = pieces.pop() else {
        return Err(JsThrow::new("empty document"));
    };
    top.text.push_str(&text[top.copied..]);

    if overflows.is_empty() {
        return canonical::parse_stored(&top.text).map_err(JsThrow::from);
    }
    // The largest finite magnitude that occurs nowhere in the text.
    let mut stand_in = f64::MAX;
    while finite.contains(&stand_in) {
        stand_in = f64::from_bits(stand_in.to_bits() - 1);
    }
    let literal = format!("{stand_in:e}");
    let mut with_stand_ins = String::with_capacity(top.text.len() + overflows.len() * 24);
    let mut from = 0;
    for (at, negative) in &overflows {
        with_stand_ins.push_str(&top.text[from..*at]);
        if *negative {
            with_stand_ins.push('-');
        }
        with_stand_ins.push_str(&literal);
        from = *at;
    }
    with_stand_ins.push_str(&top.text[from..]);
    let mut value = canonical::parse_stored(&with_stand_ins).map_err(JsThrow::from)?;
    restore_infinity(&mut value, stand_in);
    Ok(value)
}

fn restore_infinity(value: &mut JsValue, stand_in: f64) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            JsValue::Number(n) if n.abs() == stand_in => *n = n.signum() * f64::INFINITY,
            JsValue::Array(items) => stack.extend(items.iter_mut()),
            JsValue::Object(members) => stack.extend(members.iter_mut().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// RFC 8259 `number`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
