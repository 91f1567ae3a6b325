//! JavaScript property order, for a tree being built and for text being written: a duplicated
//! key keeps its first position and its last value; keys that are canonical array indices come
//! first, in ascending numeric order; the others keep insertion order.

use std::collections::{HashMap, HashSet};

use super::JsValue;

/// `Some(n)` when `key` is a canonical array index ("0", "7", "10", … up to
/// 4294967294; not "01", "-1" or "4294967295").
#[inline]
pub(super) fn array_index(key: &str) -> Option<u32> {
    array_index_bytes(key.as_bytes())
}

/// [`array_index`] of a key's bytes, with no UTF-8 check: an index is ASCII digits, and a
/// key whose first byte is not a digit is answered at once.
#[inline]
pub(super) fn array_index_bytes(b: &[u8]) -> Option<u32> {
    match b {
        [] => None,
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] if b.len() <= 10 => {
            let mut v = 0u64;
            for &d in b {
                if !d.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u64::from(d - b'0');
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
pub(super) fn js_property_order(mut members: Vec<(String, JsValue)>) -> Vec<(String, JsValue)> {
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
                let mut seen: HashSet<&str> = HashSet::with_capacity(n);
                members.iter().any(|(k, _)| !seen.insert(k.as_str()))
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

/// A member written by [`CanonicalWriter`]: byte ranges in the output.
pub(super) struct Span {
    /// Start of the key's opening quote.
    pub(super) key_start: usize,
    /// After the key's closing quote (the ':' follows).
    pub(super) key_end: usize,
    /// After the value.
    pub(super) end: usize,
}

/// `Some(n)` for a written key `"n"` that is a canonical array index.
#[inline]
fn quoted_array_index(key: &[u8]) -> Option<u32> {
    match key {
        [b'"', inner @ .., b'"'] => array_index_bytes(inner),
        _ => None,
    }
}

/// Put the members of the object just written (the text after `spans[0]`'s
/// key start is exactly these members, comma-separated) in JavaScript property
/// order, if they are not already.
pub(super) fn reorder_written_object(out: &mut String, spans: &[Span]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::test_support::canon;

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
}
