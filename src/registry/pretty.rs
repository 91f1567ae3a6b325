//! Indented JSON for people: what `JSON.stringify(value, null, 2)` prints.

use super::canonical::{write_into, JsValue};

/// `JSON.stringify(value, null, 2)`.
pub fn pretty(value: &JsValue) -> String {
    let mut out = String::new();
    write_pretty(value, 0, &mut out);
    out
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_pretty(value: &JsValue, level: usize, out: &mut String) {
    match value {
        JsValue::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                indent(level + 1, out);
                write_pretty(item, level + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            indent(level, out);
            out.push(']');
        }
        JsValue::Object(members) if !members.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in members.iter().enumerate() {
                indent(level + 1, out);
                write_into(&JsValue::String(key.clone()), out);
                out.push_str(": ");
                write_pretty(item, level + 1, out);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            indent(level, out);
            out.push('}');
        }
        scalar_or_empty => write_into(scalar_or_empty, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::parse;

    #[test]
    fn indents_like_json_stringify_with_two_spaces() {
        let v = parse(r#"{"a":[1,{"b":null}],"c":{},"d":[]}"#).unwrap();
        assert_eq!(
            pretty(&v),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}"
        );
    }
}
