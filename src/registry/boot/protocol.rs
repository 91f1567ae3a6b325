//! `checkProtocolCompat` of `@objectstack/metadata-core` 17.4.0 (src/protocol-handshake.ts):
//! where a manifest declares its protocol range, and `rangeAdmitsMajor` /
//! `comparatorAdmitsMajor`, which compare only majors, with their exact rules.

use super::js::describe;
use crate::registry::canonical::JsValue;

/// Where a range was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeSource {
    #[default]
    EnginesProtocol,
    EnginesPlatform,
    EngineObjectstack,
}

impl std::fmt::Display for RangeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RangeSource::EnginesProtocol => "engines.protocol",
            RangeSource::EnginesPlatform => "engines.platform",
            RangeSource::EngineObjectstack => "engine.objectstack",
        })
    }
}

/// `resolveDeclaredRange`: `manifest.engines?.protocol?.trim()`, then `engines.platform`,
/// then `engine.objectstack`; the first non-empty one wins. A value looked at that is neither
/// a string nor null/absent has no callable `trim`: `Err` with where and what it is.
pub(super) fn declared_range(
    manifest: &JsValue,
) -> Result<Option<(String, RangeSource)>, (RangeSource, &JsValue)> {
    let lookups = [
        ("engines", "protocol", RangeSource::EnginesProtocol),
        ("engines", "platform", RangeSource::EnginesPlatform),
        ("engine", "objectstack", RangeSource::EngineObjectstack),
    ];
    for (outer, inner, source) in lookups {
        // Only an object holds these keys: on a string, number, boolean or array the property
        // is undefined, and `?.` stops at undefined and null.
        match manifest.get(outer).and_then(|o| o.get(inner)) {
            None | Some(JsValue::Null) => {}
            Some(JsValue::String(s)) => {
                let trimmed = js_trim(s);
                if !trimmed.is_empty() {
                    return Ok(Some((trimmed.to_string(), source)));
                }
            }
            Some(other) => return Err((source, other)),
        }
    }
    Ok(None)
}

/// `checkProtocolCompat`'s verdict on a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compat {
    /// No range declared: loads with a warning.
    NoRange,
    /// A range `rangeAdmitsMajor` cannot read: loads with a warning.
    Unparsed { range: String, source: RangeSource },
    /// The range admits the runtime's major.
    Ok { range: String, source: RangeSource },
    /// The range excludes it: refused.
    Incompatible { range: String, source: RangeSource },
}

/// `checkProtocolCompat(manifest, runtimeVersion)`; `Err` is the TypeError it throws (R2),
/// naming the field.
pub fn check_protocol_compat(manifest: &JsValue, runtime_protocol: &str) -> Result<Compat, String> {
    let runtime_major = leading_major(runtime_protocol).unwrap_or(0.0);
    let declared = declared_range(manifest).map_err(|(source, value)| {
        format!("{source} is {}, which has no trim()", describe(value))
    })?;
    let Some((range, source)) = declared else {
        return Ok(Compat::NoRange);
    };
    Ok(match range_admits_major(&range, runtime_major) {
        None => Compat::Unparsed { range, source },
        Some(true) => Compat::Ok { range, source },
        Some(false) => Compat::Incompatible { range, source },
    })
}

/// `leadingMajor`: trim, drop one leading `v`/`V`, then the leading ASCII digits as a number.
pub(super) fn leading_major(token: &str) -> Option<f64> {
    let t = js_trim(token);
    let t = t
        .strip_prefix('v')
        .or_else(|| t.strip_prefix('V'))
        .unwrap_or(t);
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    digit_value(&t[..digits])
}

/// `Number.parseInt(digits, 10)` of a non-empty ASCII digit string (correctly rounded, as V8
/// does; only comparisons with the runtime major use it).
fn digit_value(digits: &str) -> Option<f64> {
    if digits.is_empty() {
        return None;
    }
    digits.parse::<f64>().ok()
}

/// `rangeAdmitsMajor(range, runtimeMajor)`: `Some(admits)`, or `None` for a range it cannot
/// read. Only majors are compared.
pub fn range_admits_major(range: &str, runtime_major: f64) -> Option<bool> {
    let r = js_trim(range);
    if r.is_empty() || r.encode_utf16().count() > 128 {
        return None;
    }
    if matches!(r, "*" | "x" | "latest") {
        return Some(true);
    }
    // `r.split(/[\s,]+/).filter(Boolean)`: a list of comparators, all of which must admit.
    let parts: Vec<&str> = r
        .split(|c: char| is_js_space(c) || c == ',')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > 1 && parts.iter().all(|p| starts_comparator(p)) {
        // Every comparator is read (an unreadable one makes the range unreadable even after
        // one that excludes).
        let mut ok = true;
        for p in parts {
            let admits = comparator_admits_major(p, runtime_major)?;
            ok = ok && admits;
        }
        return Some(ok);
    }
    // `r.split(/\s+-\s+/)` into exactly two parts: a hyphen range.
    if let Some((lo, hi)) = hyphen_split(r) {
        let lo = leading_major(lo)?;
        let hi = leading_major(hi)?;
        return Some(runtime_major >= lo && runtime_major <= hi);
    }
    if starts_comparator(r) {
        return comparator_admits_major(r, runtime_major);
    }
    if let Some(rest) = r.strip_prefix('^').or_else(|| r.strip_prefix('~')) {
        return leading_major(rest).map(|major| runtime_major == major);
    }
    // `/^(\d+)\.(?:x|\*)/i`
    let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        let after = &r.as_bytes()[digits..];
        if after.len() >= 2 && after[0] == b'.' && matches!(after[1], b'x' | b'X' | b'*') {
            return digit_value(&r[..digits]).map(|major| runtime_major == major);
        }
    }
    // A bare version: `/^\d+(\.\d+){0,2}$/`.
    if digits > 0 && is_bare_version(r) {
        return digit_value(&r[..digits]).map(|major| runtime_major == major);
    }
    None
}

/// `/^[<>]=?/.test(p)`
fn starts_comparator(p: &str) -> bool {
    p.starts_with('<') || p.starts_with('>')
}

/// `/^\d+(\.\d+){0,2}$/`
fn is_bare_version(r: &str) -> bool {
    let pieces: Vec<&str> = r.split('.').collect();
    pieces.len() <= 3
        && pieces
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `r.split(/\s+-\s+/)` when it yields exactly two parts. A match is a whitespace run, `-`,
/// and a whitespace run (taken whole); a whitespace run not followed by `-` and whitespace
/// matches nowhere inside it either.
pub(super) fn hyphen_split(r: &str) -> Option<(&str, &str)> {
    let mut matches = Vec::new();
    let mut chars = r.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !is_js_space(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if !is_js_space(c) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        if r[end..].starts_with('-') {
            let after = end + 1;
            let tail = &r[after..];
            let spaces = tail.len() - tail.trim_start_matches(is_js_space).len();
            if spaces > 0 {
                matches.push((start, after + spaces));
                // Continue after the match.
                while chars.peek().is_some_and(|&(i, _)| i < after + spaces) {
                    chars.next();
                }
            }
        }
    }
    match matches.as_slice() {
        [(start, end)] => Some((&r[..*start], &r[*end..])),
        _ => None,
    }
}

/// `comparatorAdmitsMajor(comparator, runtimeMajor)`.
fn comparator_admits_major(comparator: &str, runtime_major: f64) -> Option<bool> {
    let (op, rest) = if let Some(rest) = comparator.strip_prefix(">=") {
        (">=", rest)
    } else if let Some(rest) = comparator.strip_prefix("<=") {
        ("<=", rest)
    } else if let Some(rest) = comparator.strip_prefix('>') {
        (">", rest)
    } else if let Some(rest) = comparator.strip_prefix('<') {
        ("<", rest)
    } else {
        return None;
    };
    let bound = js_trim(rest);
    let bound = bound
        .strip_prefix('v')
        .or_else(|| bound.strip_prefix('V'))
        .unwrap_or(bound);
    // `/^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/`
    if !is_bare_version(bound) {
        return None;
    }
    let mut pieces = bound.split('.');
    let major = digit_value(pieces.next()?)?;
    let minor = pieces.next().map(digit_value);
    let patch = pieces.next().map(digit_value);
    let bare = minor.is_none() && patch.is_none();
    let at_major_floor =
        minor.flatten().unwrap_or(0.0) == 0.0 && patch.flatten().unwrap_or(0.0) == 0.0;
    Some(match op {
        ">=" => runtime_major >= major,
        ">" if bare => runtime_major > major,
        ">" => runtime_major >= major,
        "<=" => runtime_major <= major,
        _ if at_major_floor => runtime_major < major,
        _ => runtime_major <= major,
    })
}

/// JavaScript's WhiteSpace and LineTerminator (what `trim()` and `\s` match).
pub(super) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `String.prototype.trim`.
pub(super) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}
