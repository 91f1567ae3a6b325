//! What changed between two versions of a package: top-level manifest keys, and per metadata
//! section the items added, removed and changed, matched by their `name`.

use super::canonical::{self, JsValue};
use super::pretty::pretty;
use super::record::{FieldChange, ItemChange, PackageDiff, PackageRecord, SectionDiff, SECTIONS};
use super::{Registry, RegistryError};

/// The name an item is matched by: its `name`, else its `id`, else `#index`.
pub fn item_name(item: &JsValue, index: usize) -> String {
    ["name", "id"]
        .iter()
        .find_map(|k| item.get(k).and_then(JsValue::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("#{index}"))
}

/// Section names of a metadata object: the known ones first, then any other array member.
pub fn section_names(metadata: &JsValue) -> Vec<String> {
    let mut names: Vec<String> = SECTIONS
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    if let Some(members) = metadata.as_object() {
        for (k, v) in members {
            if v.as_array().is_some() && !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

/// Diffs two parsed documents. `Err((true, reason))` when the newer one cannot be read,
/// `Err((false, reason))` for the older.
pub fn diff_records(
    old: &PackageRecord,
    new: &PackageRecord,
) -> Result<PackageDiff, (bool, String)> {
    let parse = |r: &PackageRecord, which: bool| -> Result<(JsValue, JsValue), (bool, String)> {
        let m = canonical::parse(&r.manifest)
            .map_err(|e| (which, format!("its manifest is not valid JSON ({e})")))?;
        let d = canonical::parse(&r.metadata)
            .map_err(|e| (which, format!("its metadata is not valid JSON ({e})")))?;
        Ok((m, d))
    };
    let (old_m, old_d) = parse(old, false)?;
    let (new_m, new_d) = parse(new, true)?;
    Ok(diff_documents(
        &old.id,
        &old.version,
        &new.version,
        (&old_m, &old_d),
        (&new_m, &new_d),
    ))
}

/// Diffs (manifest, metadata) pairs.
pub fn diff_documents(
    id: &str,
    from: &str,
    to: &str,
    old: (&JsValue, &JsValue),
    new: (&JsValue, &JsValue),
) -> PackageDiff {
    let mut manifest = Vec::new();
    let empty = Vec::new();
    let old_members = old.0.as_object().unwrap_or(&empty);
    let new_members = new.0.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old_members.iter().map(|(k, _)| k).collect();
    for (k, _) in new_members {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for key in keys {
        let a = old.0.get(key).map(canonical::stringify);
        let b = new.0.get(key).map(canonical::stringify);
        if a != b {
            manifest.push(FieldChange {
                key: key.clone(),
                old: a,
                new: b,
            });
        }
    }
    let mut names = section_names(old.1);
    for n in section_names(new.1) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let mut sections = Vec::new();
    for section in names {
        let (a, b) = (
            section_items(old.1, &section),
            section_items(new.1, &section),
        );
        let mut diff = SectionDiff {
            section: section.clone(),
            added: vec![],
            removed: vec![],
            changed: vec![],
        };
        for (name, item) in &a {
            match b.iter().find(|(n, _)| n == name) {
                None => diff.removed.push(name.clone()),
                Some((_, other)) if canonical::stringify(item) != canonical::stringify(other) => {
                    diff.changed.push(ItemChange {
                        name: name.clone(),
                        old: pretty(item),
                        new: pretty(other),
                    });
                }
                Some(_) => {}
            }
        }
        for (name, _) in &b {
            if !a.iter().any(|(n, _)| n == name) {
                diff.added.push(name.clone());
            }
        }
        if !(diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty()) {
            sections.push(diff);
        }
    }
    PackageDiff {
        id: id.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        manifest,
        sections,
    }
}

/// The items of one section with the names they are matched by.
pub fn section_items<'a>(metadata: &'a JsValue, section: &str) -> Vec<(String, &'a JsValue)> {
    metadata
        .get(section)
        .and_then(JsValue::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, v)| (item_name(v, i), v))
                .collect()
        })
        .unwrap_or_default()
}

/// A unified line diff of two texts (for changed items), `-`/`+`/` ` prefixed.
pub fn text_diff(old: &str, new: &str) -> Vec<(char, String)> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| {
            let tag = match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            (tag, c.value().trim_end_matches('\n').to_owned())
        })
        .collect()
}

impl Registry {
    /// What changed between two versions of `id`.
    pub fn diff(&self, id: &str, from: &str, to: &str) -> Result<PackageDiff, RegistryError> {
        let old = self.require(id, Some(from))?;
        let new = self.require(id, Some(to))?;
        diff_records(&old, &new).map_err(|(which, reason)| RegistryError::Corrupt {
            target: self.target().to_owned(),
            id: id.to_owned(),
            version: if which {
                to.to_owned()
            } else {
                from.to_owned()
            },
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::parse;

    #[test]
    fn items_are_matched_by_name() {
        let m1 = parse(r#"{"id":"a","version":"1.0.0"}"#).unwrap();
        let m2 = parse(r#"{"id":"a","version":"1.0.1","name":"A"}"#).unwrap();
        let d1 = parse(r#"{"objects":[{"name":"x","f":1},{"name":"y"}],"views":[]}"#).unwrap();
        let d2 = parse(
            r#"{"objects":[{"name":"y"},{"name":"x","f":2},{"name":"z"}],"flows":[{"label":"q"}]}"#,
        )
        .unwrap();
        let d = diff_documents("a", "1.0.0", "1.0.1", (&m1, &d1), (&m2, &d2));
        assert_eq!(d.manifest.len(), 2);
        assert_eq!(d.manifest[0].key, "version");
        assert_eq!(d.manifest[1].old, None);
        assert_eq!(d.sections.len(), 2);
        assert_eq!(d.sections[0].section, "objects");
        assert_eq!(d.sections[0].added, vec!["z"]);
        assert_eq!(d.sections[0].changed[0].name, "x");
        assert_eq!(d.sections[1].section, "flows");
        assert_eq!(d.sections[1].added, vec!["#0"]);
        let lines = text_diff(&d.sections[0].changed[0].old, &d.sections[0].changed[0].new);
        assert!(lines.contains(&('-', "  \"f\": 1".into())));
        assert!(lines.contains(&('+', "  \"f\": 2".into())));
    }
}
