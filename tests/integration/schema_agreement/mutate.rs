//! Mutations of valid items: a key renamed, a value's type changed, a required key dropped,
//! an enum value changed.

use super::*;

/// Every location in `value`: (path of JSON pointer tokens, is an object member).
pub(super) fn locations(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                at.push(key.clone());
                out.push(at.clone());
                locations(member, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(i.to_string());
                out.push(at.clone());
                locations(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

pub(super) fn parent_mut<'v>(root: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    let mut node = root;
    for token in &path[..path.len() - 1] {
        node = match node {
            Value::Object(map) => map.get_mut(token)?,
            Value::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

pub(super) fn pointer(path: &[String]) -> String {
    path.iter().map(|t| format!("/{t}")).collect()
}

/// A plausible misspelling: a letter dropped, two letters swapped, or an `s` added.
pub(super) fn misspell(rng: &mut Rng, key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    match rng.index(3) {
        0 if chars.len() > 2 => {
            let i = 1 + rng.index(chars.len() - 1);
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c)
                .collect()
        }
        1 if chars.len() > 2 => {
            let i = rng.index(chars.len() - 1);
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            swapped.into_iter().collect()
        }
        _ => format!("{key}s"),
    }
}

/// A value of another JSON type than `value`.
pub(super) fn other_type(rng: &mut Rng, value: &Value) -> Value {
    let choices = [
        json!("text"),
        json!(7),
        json!(true),
        Value::Null,
        json!([]),
        json!({}),
        json!(["x"]),
    ];
    loop {
        let candidate = rng.pick(&choices).clone();
        let same = std::mem::discriminant(&candidate) == std::mem::discriminant(value);
        if !same {
            return candidate;
        }
    }
}

/// Every enum and const string a schema names, to change an enum value into another real one.
pub(super) fn schema_words(kind: SchemaKind) -> Vec<String> {
    fn walk(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("enum", Value::Array(items)) => {
                            out.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)))
                        }
                        ("const", Value::String(s)) => out.push(s.clone()),
                        _ => walk(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(kind.text()).unwrap();
    let mut words = Vec::new();
    walk(&schema, &mut words);
    words.sort();
    words.dedup();
    words
}

pub(super) fn root_required(kind: SchemaKind) -> Vec<String> {
    let schema: Value = serde_json::from_str(kind.text()).unwrap();
    schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Mutation {
    RenameKey,
    ChangeType,
    DropKey,
    ChangeEnum,
}

/// `base` with one mutation applied, and what was done; `None` when nothing fits.
pub(super) fn mutate(
    rng: &mut Rng,
    kind: SchemaKind,
    base: &Value,
    how: Mutation,
) -> Option<(Value, String)> {
    let mut item = base.clone();
    let mut all = Vec::new();
    locations(&item, &mut Vec::new(), &mut all);
    let members: Vec<&Vec<String>> = all
        .iter()
        .filter(|p| {
            let parent = item.pointer(&pointer(&p[..p.len() - 1]));
            parent.is_some_and(Value::is_object)
        })
        .collect();
    match how {
        Mutation::RenameKey => {
            if members.is_empty() {
                return None;
            }
            let path = (*rng.pick(&members)).clone();
            let key = path.last()?.clone();
            let renamed = misspell(rng, &key);
            let map = parent_mut(&mut item, &path)?.as_object_mut()?;
            if map.contains_key(&renamed) {
                return None;
            }
            // Keep the member's position: rebuild the map with the new key in place.
            let old = std::mem::take(map);
            for (k, v) in old {
                map.insert(if k == key { renamed.clone() } else { k }, v);
            }
            Some((item, format!("renamed {} to {renamed:?}", pointer(&path))))
        }
        Mutation::ChangeType => {
            if all.is_empty() {
                return None;
            }
            let path = rng.pick(&all).clone();
            let target = item.pointer_mut(&pointer(&path))?;
            let replacement = other_type(rng, target);
            let description = format!("{} became {replacement}", pointer(&path));
            *target = replacement;
            Some((item, description))
        }
        Mutation::DropKey => {
            let required = root_required(kind);
            let path: Vec<String> = if !required.is_empty() && rng.chance(50) {
                vec![rng.pick(&required).clone()]
            } else if members.is_empty() {
                return None;
            } else {
                (*rng.pick(&members)).clone()
            };
            let map = parent_mut(&mut item, &path)?.as_object_mut()?;
            map.shift_remove(path.last()?)?;
            Some((item, format!("dropped {}", pointer(&path))))
        }
        Mutation::ChangeEnum => {
            let words = schema_words(kind);
            let enum_leaves: Vec<&Vec<String>> = all
                .iter()
                .filter(|p| {
                    base.pointer(&pointer(p))
                        .and_then(Value::as_str)
                        .is_some_and(|s| words.binary_search(&s.to_owned()).is_ok())
                })
                .collect();
            if enum_leaves.is_empty() {
                return None;
            }
            let path = (*rng.pick(&enum_leaves)).clone();
            let target = item.pointer_mut(&pointer(&path))?;
            let old = target.as_str()?.to_owned();
            let new = if rng.chance(50) {
                rng.pick(&words).clone()
            } else {
                misspell(rng, &old)
            };
            let description = format!("{} {old:?} became {new:?}", pointer(&path));
            *target = json!(new);
            Some((item, description))
        }
    }
}

pub(super) fn mutated_cases(rng: &mut Rng, bases: &[Case]) -> Vec<Case> {
    let mut cases = Vec::new();
    for base in bases {
        for how in [
            Mutation::RenameKey,
            Mutation::ChangeType,
            Mutation::DropKey,
            Mutation::ChangeEnum,
        ] {
            // A few tries: a drawn location may not fit the mutation.
            for _ in 0..4 {
                if let Some((item, what)) = mutate(rng, base.kind, &base.item, how) {
                    cases.push(Case {
                        kind: base.kind,
                        origin: format!("{} with {what}", base.origin),
                        item,
                    });
                    break;
                }
            }
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// The oracle.
