//! Values as the schemas see them: a parsed tree, or a text in the written form read straight
//! into a `serde_json::Value`, with JavaScript's numbers (every literal a double; whole numbers
//! within 2^53 become integers, as `Number.isInteger` sees them).

use serde_json::{Map, Number, Value};

use super::super::canonical::JsValue;

/// A parsed value as `serde_json` holds it. Whole numbers within 2^53 become integers, so
/// `"type": "integer"` sees them as JavaScript's `Number.isInteger` would.
pub fn to_json(value: &JsValue) -> Value {
    match value {
        JsValue::Null => Value::Null,
        JsValue::Bool(b) => Value::Bool(*b),
        JsValue::Number(n) => number(*n),
        JsValue::String(s) => Value::String(s.clone()),
        JsValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        JsValue::Object(members) => {
            let mut map = Map::with_capacity(members.len());
            for (key, member) in members {
                map.insert(key.clone(), to_json(member));
            }
            Value::Object(map)
        }
    }
}

/// [`to_json`] of `parse_stored(text)`, read straight from `text` without the intermediate
/// tree, for a text that [`canonical::is_written_form`] vouches for: exactly what the writer
/// writes has unique keys already in JavaScript property order, no lone surrogate escape and
/// every number in its shortest form, so reading it in text order with JavaScript's numbers
/// gives the same value. `None` when serde_json refuses it (nesting deeper than its limit):
/// the caller reads it the long way.
pub fn written_json(text: &str) -> Option<Value> {
    use serde::de::DeserializeSeed;
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = JsNumbers.deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

/// Builds a [`Value`] whose numbers are JavaScript's (every literal an `f64`, then
/// [`number`]), as [`to_json`] of the parsed tree holds them.
#[derive(Clone, Copy)]
struct JsNumbers;

impl<'de> serde::de::DeserializeSeed<'de> for JsNumbers {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<Value, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsNumbers {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    // An integer literal's f64 is the nearest one to it, as the cast rounds.
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let member = map.next_value_seed(self)?;
            members.insert(key, member);
        }
        Ok(Value::Object(members))
    }
}

fn number(n: f64) -> Value {
    const SAFE: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() < SAFE {
        // Exact: |n| < 2^53, so the cast loses nothing; -0 becomes 0 as in JSON.stringify.
        Value::Number(Number::from(n as i64))
    } else {
        // The parser refuses non-finite numbers, so from_f64 always succeeds here.
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical;

    /// Reading a written text straight into a `Value` gives `to_json` of its tree: numbers
    /// as JavaScript holds them (an integer literal of 2^53 or more is a double), strings
    /// with their escapes, keys in order.
    #[test]
    fn a_written_text_reads_as_the_json_of_its_tree() {
        let texts = [
            "0",
            "-1",
            "[1.5,-2.25,1e+21,1e-7,9007199254740991,9007199254740992,123456789012345680000]",
            "[18446744073709552000,-9223372036854776000,5e-324,1.7976931348623157e+308]",
            r#"{"2":"a","10":"b","id":"x","":"","__proto__":{"toString":1}}"#,
            r#"["x\ny","q\"uote","back\\slash","\u0001\u001f","é 😀"]"#,
            r#"{"a":[[],{},[{"b":[true,false,null]}]]}"#,
        ];
        for text in texts {
            assert!(canonical::is_written_form(text.as_bytes()), "{text}");
            let tree = canonical::parse_stored(text).unwrap();
            assert_eq!(written_json(text), Some(to_json(&tree)), "{text}");
        }
        // Nesting serde_json refuses is read the long way.
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(canonical::is_written_form(deep.as_bytes()));
        assert_eq!(written_json(&deep), None);
    }
}
