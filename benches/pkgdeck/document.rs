//! What a generated package looks like: its shape (id, name, type, size, dependencies), its
//! version numbers, and the publish document of each version, built as the JavaScript values
//! the reference service would stringify (keys already in JavaScript property order).

use pkgdeck::registry::canonical::JsValue;

use crate::rng::{self, Rng};
use crate::words::{ADJECTIVES, FIELD_TYPES, FIELD_WORDS, LOCALES, NOUNS, TYPES, VENDORS};

fn s(text: impl Into<String>) -> JsValue {
    JsValue::String(text.into())
}
fn n(v: f64) -> JsValue {
    JsValue::Number(v)
}
fn arr(items: Vec<JsValue>) -> JsValue {
    JsValue::Array(items)
}
/// An object whose keys are given in JavaScript property order already.
fn obj(members: Vec<(&str, JsValue)>) -> JsValue {
    JsValue::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn title(word: &str) -> String {
    word.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What stays the same across the versions of one package.
pub struct PackageShape {
    pub id: String,
    vendor: &'static str,
    noun: &'static str,
    name: String,
    kind: &'static str,
    /// Size class: 0 tiny, 1 small, 2 usual, 3 large.
    size: usize,
    deps: Vec<(String, String)>,
}

/// How much metadata a generated row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Every package of the smallest size class: rows of about a kilobyte, each fitting in a
    /// page.
    Light,
    /// The size classes mixed (about 2.8 kB a row on average; the large ones overflow pages).
    Heavy,
}

impl Weight {
    pub fn name(self) -> &'static str {
        match self {
            Weight::Light => "light",
            Weight::Heavy => "heavy",
        }
    }
}

pub fn package_shape(p: usize, packages: usize, weight: Weight) -> PackageShape {
    let mut r = rng::seeded(p as u64 * 7919 + 17);
    let vendor = VENDORS[p % VENDORS.len()];
    let noun = NOUNS[(p / VENDORS.len()) % NOUNS.len()];
    let serial = p / (VENDORS.len() * NOUNS.len());
    let id = if serial == 0 {
        format!("com.{vendor}.{noun}")
    } else {
        format!("com.{vendor}.{noun}-{serial}")
    };
    let name = format!(
        "{} {} {}",
        title(vendor),
        r.pick_str(ADJECTIVES),
        title(noun)
    );
    let kind = r.pick_str(TYPES);
    let size = match r.between(0, 99) {
        _ if weight == Weight::Light => 0,
        0..=11 => 0,
        12..=44 => 1,
        45..=91 => 2,
        _ => 3,
    };
    let mut deps: Vec<(String, String)> = Vec::new();
    for _ in 0..r.between(0, 4) {
        let dep = {
            let q = r.between(0, packages - 1);
            let dep_vendor = VENDORS[q % VENDORS.len()];
            let dep_noun = NOUNS[(q / VENDORS.len()) % NOUNS.len()];
            (
                format!("com.{dep_vendor}.{dep_noun}"),
                format!("^{}.{}.0", r.between(0, 3), r.between(0, 9)),
            )
        };
        // Object keys are unique in anything JSON.stringify wrote.
        if !deps.iter().any(|(d, _)| *d == dep.0) {
            deps.push(dep);
        }
    }
    PackageShape {
        id,
        vendor,
        noun,
        name,
        kind,
        size,
        deps,
    }
}

/// The semver strings of a package's versions, in insertion order. Some packages publish a
/// hotfix of an older line last, so the latest-inserted version is not the highest.
pub fn version_sequence(p: usize, count: usize) -> Vec<String> {
    let mut r = rng::seeded(p as u64 * 104_729 + 3);
    let (mut major, mut minor, mut patch) = (r.between(0, 2), r.between(0, 5), 0usize);
    if major == 0 && minor == 0 {
        minor = 1;
    }
    let mut out = vec![format!("{major}.{minor}.{patch}")];
    let hotfix_last = count >= 3 && r.probability(0.05);
    while out.len() < count {
        if hotfix_last && out.len() == count - 1 {
            // A patch of the second-to-last line, published after the newer line.
            let old = out[out.len() - 2].clone();
            let parts: Vec<usize> = old.split('.').map(|x| x.parse().unwrap_or(0)).collect();
            let candidate = format!("{}.{}.{}", parts[0], parts[1], parts[2] + 1);
            if !out.contains(&candidate) {
                out.push(candidate);
                continue;
            }
        }
        match r.between(0, 9) {
            0..=5 => patch += 1,
            6..=8 => {
                minor += 1;
                patch = 0;
            }
            _ => {
                major += 1;
                minor = 0;
                patch = 0;
            }
        }
        out.push(format!("{major}.{minor}.{patch}"));
    }
    out
}

fn field(r: &mut Rng, word: &str, version: usize) -> JsValue {
    let kind = r.pick_str(FIELD_TYPES);
    let mut m: Vec<(&str, JsValue)> = vec![
        ("name", s(word)),
        ("label", s(title(word))),
        ("type", s(kind)),
    ];
    if r.probability(0.4) {
        m.push(("required", JsValue::Bool(true)));
    }
    match kind {
        "text" | "email" | "phone" | "url" => {
            m.push(("maxLength", n([80.0, 255.0, 1000.0][r.between(0, 2)])))
        }
        "number" | "currency" | "percent" => {
            m.push(("precision", n(18.0)));
            m.push(("scale", n(r.between(0, 4) as f64)));
            if r.probability(0.3) {
                m.push((
                    "defaultValue",
                    n([0.0, 0.5, 0.15, 99.99, 1e-7][r.between(0, 4)]),
                ));
            }
        }
        "select" => {
            let options = (0..r.between(2, 5 + version % 2))
                .map(|i| {
                    obj(vec![
                        (
                            "label",
                            s(title(FIELD_WORDS[(i * 7 + 3) % FIELD_WORDS.len()])),
                        ),
                        ("value", s(FIELD_WORDS[(i * 7 + 3) % FIELD_WORDS.len()])),
                    ])
                })
                .collect();
            m.push(("options", arr(options)));
        }
        "lookup" => m.push(("reference", s(r.pick_str(NOUNS)))),
        "formula" => m.push((
            "expression",
            s(format!(
                "IF({} > 0, \"yes\", \"no\")\n",
                r.pick_str(FIELD_WORDS)
            )),
        )),
        _ => {}
    }
    if r.probability(0.2) {
        m.push((
            "helpText",
            s(format!(
                "Shown as a \"hint\" under the {} field.",
                title(word)
            )),
        ));
    }
    obj(m)
}

/// Per size class (tiny, small, usual, large), the ranges of a document's counts: objects,
/// fields of an object at most, views, flows, agents, tools, translations.
const SIZE_CLASSES: [[(usize, usize); 7]; 4] = [
    [(0, 1), (4, 4), (0, 1), (0, 0), (0, 0), (0, 0), (0, 0)],
    [(1, 2), (6, 6), (1, 2), (0, 1), (0, 0), (0, 1), (0, 1)],
    [(1, 2), (6, 6), (1, 3), (0, 2), (0, 1), (0, 1), (1, 2)],
    [(2, 5), (10, 10), (2, 4), (1, 3), (1, 2), (1, 3), (2, 3)],
];

/// The publish document of version `k` (0-based) of package `shape`.
pub fn document(p: usize, shape: &PackageShape, version: &str, k: usize) -> JsValue {
    let mut r = rng::seeded(p as u64 * 31 + 5);
    let size = shape.size;
    // A range of one value is a constant: it draws nothing from `r`.
    let [objects, max_fields, views, flows, agents, tools, locales] =
        SIZE_CLASSES[size.min(3)].map(|(lo, hi)| if lo == hi { lo } else { r.between(lo, hi) });
    let object_names: Vec<String> = (0..objects)
        .map(|i| {
            format!(
                "{}_{}",
                shape.noun,
                ["record", "item", "line", "entry", "request", "task"][i % 6]
            )
        })
        .collect();

    let mut object_items = Vec::new();
    for (i, oname) in object_names.iter().enumerate() {
        // Later versions add fields to the first object.
        let count = r.between(2, max_fields) + if i == 0 { k } else { 0 };
        let fields = (0..count)
            .map(|f| field(&mut r, FIELD_WORDS[(f * 3 + i) % FIELD_WORDS.len()], k))
            .collect();
        let mut members = vec![
            ("name", s(oname.as_str())),
            ("label", s(title(oname))),
            ("pluralLabel", s(format!("{}s", title(oname)))),
            ("fields", arr(fields)),
        ];
        if r.probability(0.5) {
            members.push(("enableHistory", JsValue::Bool(true)));
        }
        if r.probability(0.3) {
            members.push((
                "description",
                s(format!(
                    "Stores one {} of {}.\nCreated by the {} package.",
                    oname, shape.name, shape.id
                )),
            ));
        }
        object_items.push(obj(members));
    }
    let view_items = (0..views)
        .map(|i| {
            let object = object_names
                .get(i % objects.max(1))
                .cloned()
                .unwrap_or_else(|| shape.noun.to_owned());
            let columns = (0..r.between(3, 7))
                .map(|c| s(FIELD_WORDS[(c * 5 + i) % FIELD_WORDS.len()]))
                .collect();
            obj(vec![
                (
                    "name",
                    s(format!(
                        "{object}_{}",
                        ["all", "mine", "open", "recent", "board", "calendar"][i % 6]
                    )),
                ),
                (
                    "label",
                    s(format!(
                        "{} {}",
                        ["All", "My", "Open", "Recent", "Board of", "Calendar of"][i % 6],
                        title(&object)
                    )),
                ),
                ("object", s(object)),
                ("type", s(["grid", "kanban", "calendar", "list"][i % 4])),
                ("columns", arr(columns)),
                (
                    "sort",
                    arr(vec![obj(vec![
                        ("field", s("created_at")),
                        ("order", s(["desc", "asc"][k % 2])),
                    ])]),
                ),
                ("pageSize", n([25.0, 50.0, 100.0][i % 3])),
            ])
        })
        .collect();
    let app_items = if objects > 0 || size > 0 {
        vec![obj(vec![
            ("name", s(shape.noun)),
            ("label", s(shape.name.as_str())),
            (
                "icon",
                s(["briefcase", "inbox", "chart", "users", "box"][p % 5]),
            ),
            (
                "navigation",
                arr(object_names
                    .iter()
                    .map(|o| obj(vec![("type", s("object")), ("object", s(o.as_str()))]))
                    .collect()),
            ),
        ])]
    } else {
        vec![]
    };
    let flow_items = (0..flows)
        .map(|i| {
            let steps = (0..r.between(2, 5))
                .map(|st| {
                    obj(vec![
                        ("id", s(format!("step{}", st + 1))),
                        (
                            "type",
                            s(
                                ["assign", "decision", "update_record", "send_email", "wait"]
                                    [st % 5],
                            ),
                        ),
                        (
                            "label",
                            s(format!("Step {} – {}", st + 1, r.pick_str(FIELD_WORDS))),
                        ),
                    ])
                })
                .collect();
            obj(vec![
                ("name", s(format!("{}_flow_{}", shape.noun, i + 1))),
                (
                    "label",
                    s(format!("{} automation {}", title(shape.noun), i + 1)),
                ),
                (
                    "trigger",
                    obj(vec![
                        ("type", s("record_change")),
                        (
                            "object",
                            s(object_names.first().cloned().unwrap_or_default()),
                        ),
                        ("condition", s("status == \"open\" && priority >= 2")),
                    ]),
                ),
                ("steps", arr(steps)),
                ("active", JsValue::Bool(k % 3 != 2)),
            ])
        })
        .collect();
    let agent_items = (0..agents)
        .map(|i| {
            obj(vec![
                ("name", s(format!("{}_assistant_{}", shape.noun, i + 1))),
                ("role", s("assistant")),
                (
                    "instructions",
                    s(format!(
                        "You help operators of {}.\n\t- Answer in the user's language.\n\t- Never change \"closed\" records.",
                        shape.name
                    )),
                ),
                ("model", obj(vec![("provider", s("openai")), ("name", s("gpt-4o-mini")), ("temperature", n([0.2, 0.7, 0.0][i % 3]))])),
                ("tools", arr(vec![s(format!("{}_search", shape.noun)), s("send_email")])),
            ])
        })
        .collect();
    let tool_items = (0..tools)
        .map(|i| {
            obj(vec![
                (
                    "name",
                    s(format!(
                        "{}_{}",
                        shape.noun,
                        ["search", "create", "summarize", "export"][i % 4]
                    )),
                ),
                (
                    "description",
                    s(format!(
                        "Runs the {} action on {}.",
                        ["search", "create", "summarize", "export"][i % 4],
                        shape.noun
                    )),
                ),
                (
                    "parameters",
                    obj(vec![
                        ("type", s("object")),
                        (
                            "properties",
                            obj(vec![
                                (
                                    "query",
                                    obj(vec![("type", s("string")), ("maxLength", n(500.0))]),
                                ),
                                (
                                    "limit",
                                    obj(vec![
                                        ("type", s("integer")),
                                        ("minimum", n(1.0)),
                                        ("maximum", n(100.0)),
                                    ]),
                                ),
                            ]),
                        ),
                        ("required", arr(vec![s("query")])),
                    ]),
                ),
            ])
        })
        .collect();
    let translation_items = (0..locales)
        .map(|i| {
            let (locale, words) = LOCALES[(p + i) % LOCALES.len()];
            let mut messages: Vec<(&str, JsValue)> = Vec::new();
            for (w, word) in words.iter().enumerate().take(3 + k % 3) {
                messages.push((FIELD_WORDS[w * 4 % FIELD_WORDS.len()], s(*word)));
            }
            // Plural forms keyed by array-index strings, which JavaScript orders first.
            let plural = obj(vec![
                ("0", s(words[0])),
                ("1", s(words[1])),
                ("2", s(format!("{} 🎉", words[2]))),
            ]);
            obj(vec![
                ("locale", s(locale)),
                ("messages", obj(messages)),
                ("plural", plural),
            ])
        })
        .collect();

    let mut manifest = vec![
        ("id", s(shape.id.as_str())),
        ("name", s(shape.name.as_str())),
        ("version", s(version)),
        ("type", s(shape.kind)),
        (
            "description",
            s(format!(
                "{} for {} teams. Release {version}.",
                shape.name,
                title(shape.vendor)
            )),
        ),
        (
            "author",
            obj(vec![
                ("name", s(format!("{} Inc.", title(shape.vendor)))),
                ("email", s(format!("packages@{}.example", shape.vendor))),
            ]),
        ),
        ("license", s(["MIT", "Apache-2.0", "proprietary"][p % 3])),
        (
            "keywords",
            arr(vec![s(shape.noun), s(shape.kind), s(shape.vendor)]),
        ),
        ("engines", obj(vec![("objectstack", s(">=1.0.0"))])),
    ];
    if !shape.deps.is_empty() {
        manifest.push((
            "dependencies",
            JsValue::Object(
                shape
                    .deps
                    .iter()
                    .map(|(d, v)| (d.clone(), s(v.as_str())))
                    .collect(),
            ),
        ));
    }
    if size >= 2 {
        manifest.push((
            "permissions",
            arr(vec![
                s(format!("{}.read", shape.noun)),
                s(format!("{}.write", shape.noun)),
            ]),
        ));
    }
    obj(vec![
        ("manifest", obj(manifest)),
        (
            "metadata",
            obj(vec![
                ("objects", arr(object_items)),
                ("views", arr(view_items)),
                ("apps", arr(app_items)),
                ("flows", arr(flow_items)),
                ("agents", arr(agent_items)),
                ("tools", arr(tool_items)),
                ("translations", arr(translation_items)),
            ]),
        ),
    ])
}
