//! Generated items of every kind (objects with fields of several types, list and form views,
//! apps with navigation, flows, agents, tools, translations, manifests), from a seeded RNG.

use super::*;

pub(super) const WORDS: &[&str] = &[
    "account", "order", "ticket", "asset", "invoice", "project", "task", "lead", "case", "vendor",
    "contract", "shipment", "campaign", "device", "visit", "claim",
];
pub(super) const PREFIXES: &[&str] = &["acme", "ops", "sales", "fin", "hr", "it", "field"];

pub(super) fn snake(rng: &mut Rng) -> String {
    format!("{}_{}", rng.pick(PREFIXES), rng.pick(WORDS))
}

pub(super) fn title(word: &str) -> String {
    let mut text: String = word.replace('_', " ");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text
}

/// A field of a random type with the attributes that type takes.
pub(super) fn field(rng: &mut Rng, objects: &[String]) -> Value {
    let kind = *rng.pick(&[
        "text",
        "textarea",
        "email",
        "url",
        "phone",
        "number",
        "currency",
        "percent",
        "date",
        "datetime",
        "boolean",
        "toggle",
        "select",
        "multiselect",
        "radio",
        "lookup",
        "master_detail",
        "markdown",
        "image",
        "file",
        "tags",
        "rating",
        "color",
        "json",
    ]);
    let mut f = Map::new();
    f.insert("type".into(), json!(kind));
    f.insert("label".into(), json!(title(rng.pick::<&str>(WORDS))));
    if rng.chance(30) {
        f.insert("required".into(), json!(true));
    }
    match kind {
        "text" | "email" | "url" | "phone" if rng.chance(50) => {
            f.insert("maxLength".into(), json!(20 + rng.index(200)));
        }
        "textarea" if rng.chance(50) => {
            f.insert("rows".into(), json!(2 + rng.index(8)));
        }
        "number" | "currency" | "percent" => {
            f.insert("min".into(), json!(0));
            if rng.chance(50) {
                f.insert("max".into(), json!(100 + rng.index(10_000)));
            }
        }
        "select" | "multiselect" | "radio" => {
            let options: Vec<Value> = (0..2 + rng.index(4))
                .map(|i| json!({ "label": title(WORDS[i]), "value": WORDS[i] }))
                .collect();
            if rng.chance(40) {
                // A multi-value field's default is a list of option values.
                let value = options[0]["value"].clone();
                let default = if kind == "multiselect" {
                    json!([value])
                } else {
                    value
                };
                f.insert("defaultValue".into(), default);
            }
            f.insert("options".into(), Value::Array(options));
        }
        "lookup" | "master_detail" => {
            f.insert("reference".into(), json!(rng.pick(objects)));
        }
        "boolean" | "toggle" if rng.chance(50) => {
            f.insert("defaultValue".into(), json!(rng.chance(50)));
        }
        _ => {}
    }
    Value::Object(f)
}

pub(super) fn gen_object(rng: &mut Rng) -> Value {
    let name = snake(rng);
    let objects = vec![name.clone(), snake(rng)];
    let mut fields = Map::new();
    fields.insert(
        "name".into(),
        json!({ "type": "text", "label": "Name", "required": true }),
    );
    for _ in 0..1 + rng.index(7) {
        fields.insert(format!("f_{}", rng.pick(WORDS)), field(rng, &objects));
    }
    let mut o = Map::new();
    o.insert("name".into(), json!(name));
    o.insert("label".into(), json!(title(&name)));
    if rng.chance(60) {
        o.insert("pluralLabel".into(), json!(format!("{}s", title(&name))));
    }
    if rng.chance(50) {
        o.insert("nameField".into(), json!("name"));
    }
    if rng.chance(30) {
        o.insert(
            "icon".into(),
            json!(rng.pick(&["box", "star", "flag", "clock"])),
        );
    }
    o.insert("fields".into(), Value::Object(fields));
    if rng.chance(30) {
        o.insert("indexes".into(), json!([{ "fields": ["name"] }]));
    }
    if rng.chance(30) {
        o.insert(
            "enable".into(),
            json!({ "trackHistory": rng.chance(50), "searchable": true }),
        );
    }
    Value::Object(o)
}

pub(super) fn list_view(rng: &mut Rng, columns: &[String]) -> Value {
    let mut v = Map::new();
    let kind = *rng.pick(&["grid", "grid", "kanban", "gallery"]);
    v.insert("type".into(), json!(kind));
    if rng.chance(50) {
        v.insert("label".into(), json!(title(rng.pick::<&str>(WORDS))));
    }
    v.insert("columns".into(), json!(columns));
    if kind == "kanban" {
        v.insert(
            "kanban".into(),
            json!({ "groupByField": "status", "columns": ["new", "done"] }),
        );
    }
    if rng.chance(50) {
        v.insert(
            "sort".into(),
            json!([{ "field": columns[0], "order": rng.pick(&["asc", "desc"]) }]),
        );
    }
    if rng.chance(50) {
        let operator = *rng.pick(&["equals", "not_equals", "in", "greater_than", "is_empty"]);
        let value = match operator {
            "in" => json!(["a", "b"]),
            "greater_than" => json!(rng.index(100)),
            "is_empty" => Value::Null,
            _ => json!("open"),
        };
        v.insert(
            "filter".into(),
            json!([{ "field": columns[0], "operator": operator, "value": value }]),
        );
    }
    Value::Object(v)
}

pub(super) fn gen_view(rng: &mut Rng) -> Value {
    let object = snake(rng);
    let columns: Vec<String> = (0..1 + rng.index(5))
        .map(|i| format!("{}_{i}", rng.pick(WORDS)))
        .collect();
    let mut v = Map::new();
    v.insert("name".into(), json!(format!("{object}_views")));
    v.insert("object".into(), json!(object));
    if rng.chance(80) {
        v.insert("list".into(), list_view(rng, &columns));
    }
    if rng.chance(50) {
        let mut named = Map::new();
        for _ in 0..1 + rng.index(3) {
            named.insert(format!("v_{}", rng.pick(WORDS)), list_view(rng, &columns));
        }
        v.insert("listViews".into(), Value::Object(named));
    }
    if rng.chance(50) || !v.contains_key("list") {
        let form_type = *rng.pick(&["simple", "tabbed", "wizard"]);
        v.insert(
            "form".into(),
            json!({
                "type": form_type,
                "sections": [{ "name": "main", "label": "Main", "columns": 1 + rng.index(2), "fields": columns }]
            }),
        );
    }
    Value::Object(v)
}

pub(super) fn nav_item(rng: &mut Rng, i: usize) -> Value {
    let id = format!("nav_{i}_{}", rng.pick(WORDS));
    match rng.index(5) {
        0 => {
            json!({ "id": id, "type": "url", "label": "Docs", "url": "https://docs.acme.example", "target": "_blank" })
        }
        1 => {
            json!({ "id": id, "type": "dashboard", "label": "Overview", "dashboardName": "overview" })
        }
        2 => json!({ "type": "separator" }),
        _ => {
            let object = snake(rng);
            json!({ "id": id, "type": "object", "label": title(&object), "objectName": object })
        }
    }
}

pub(super) fn gen_app(rng: &mut Rng) -> Value {
    let name = format!("{}_{}", rng.pick(PREFIXES), rng.pick(WORDS));
    let mut navigation: Vec<Value> = (0..1 + rng.index(4)).map(|i| nav_item(rng, i)).collect();
    if rng.chance(40) {
        let children: Vec<Value> = (10..12).map(|i| nav_item(rng, i)).collect();
        navigation.push(
            json!({ "id": "nav_group", "type": "group", "label": "More", "children": children }),
        );
    }
    let mut a = Map::new();
    a.insert("name".into(), json!(name));
    a.insert("label".into(), json!(title(&name)));
    if rng.chance(50) {
        a.insert("icon".into(), json!(rng.pick(&["box", "grid", "users"])));
    }
    if rng.chance(30) {
        a.insert("description".into(), json!("An application"));
    }
    a.insert("navigation".into(), Value::Array(navigation));
    Value::Object(a)
}

pub(super) fn gen_flow(rng: &mut Rng) -> Value {
    let object = snake(rng);
    let kind = *rng.pick(&["record_change", "schedule", "autolaunched", "api"]);
    let start_config = match kind {
        "record_change" => json!({ "objectName": object, "triggerType": "record-after-update" }),
        "schedule" => json!({ "schedule": "0 * * * *" }),
        _ => json!({}),
    };
    let mut nodes =
        vec![json!({ "id": "start", "type": "start", "label": "Start", "config": start_config })];
    let steps = 1 + rng.index(3);
    for i in 0..steps {
        let node = match rng.index(3) {
            0 => {
                json!({ "id": format!("n{i}"), "type": "update_record", "label": "Update", "config": { "objectName": object, "fields": { "status": "done" } } })
            }
            1 => {
                json!({ "id": format!("n{i}"), "type": "get_record", "label": "Find", "config": { "objectName": object } })
            }
            _ => {
                json!({ "id": format!("n{i}"), "type": "notify", "label": "Notify", "config": { "channel": "email", "to": "ops@acme.example" } })
            }
        };
        nodes.push(node);
    }
    nodes.push(json!({ "id": "end", "type": "end", "label": "End" }));
    let edges: Vec<Value> = nodes
        .windows(2)
        .enumerate()
        .map(|(i, w)| json!({ "id": format!("e{i}"), "source": w[0]["id"], "target": w[1]["id"] }))
        .collect();
    let name = format!("{object}_{}", rng.pick(&["sync", "notify", "cleanup"]));
    let mut f = Map::new();
    f.insert("name".into(), json!(name));
    f.insert("label".into(), json!(title(&name)));
    if rng.chance(40) {
        f.insert("description".into(), json!("Generated flow"));
    }
    f.insert("type".into(), json!(kind));
    if rng.chance(30) {
        f.insert("status".into(), json!(rng.pick(&["draft", "active"])));
    }
    f.insert("nodes".into(), Value::Array(nodes));
    f.insert("edges".into(), Value::Array(edges));
    Value::Object(f)
}

pub(super) fn gen_agent(rng: &mut Rng) -> Value {
    let name = format!("{}_assistant", rng.pick(WORDS));
    let mut a = Map::new();
    a.insert("name".into(), json!(name));
    a.insert("label".into(), json!(title(&name)));
    a.insert("role".into(), json!("Assistant"));
    a.insert(
        "instructions".into(),
        json!("Help the user with their records."),
    );
    a.insert("surface".into(), json!(rng.pick(&["ask", "build"])));
    a.insert("active".into(), json!(rng.chance(80)));
    if rng.chance(70) {
        a.insert(
            "model".into(),
            json!({ "provider": rng.pick(&["openai", "anthropic", "local"]), "model": "m-1", "temperature": rng.index(10) as f64 / 10.0 }),
        );
    }
    if rng.chance(60) {
        a.insert(
            "skills".into(),
            json!([format!("{}_skill", rng.pick(WORDS))]),
        );
    }
    if rng.chance(30) {
        a.insert(
            "guardrails".into(),
            json!({ "maxExecutionTimeSec": 30 + rng.index(100) }),
        );
    }
    Value::Object(a)
}

pub(super) fn gen_tool(rng: &mut Rng) -> Value {
    let name = format!(
        "{}_{}",
        rng.pick(&["find", "update", "score", "sync"]),
        rng.pick(WORDS)
    );
    let mut t = Map::new();
    t.insert("name".into(), json!(name));
    t.insert("label".into(), json!(title(&name)));
    t.insert("description".into(), json!("Does one thing for the agent."));
    t.insert(
        "parameters".into(),
        json!({ "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"] }),
    );
    if rng.chance(40) {
        t.insert("objectName".into(), json!(snake(rng)));
    }
    if rng.chance(30) {
        t.insert(
            "outputSchema".into(),
            json!({ "type": "object", "properties": { "ok": { "type": "boolean" } } }),
        );
    }
    Value::Object(t)
}

pub(super) fn gen_translation(rng: &mut Rng) -> Value {
    let mut bundle = Map::new();
    for locale in ["en", "de", "fr", "pt-BR", "zh-CN"] {
        if bundle.is_empty() || rng.chance(40) {
            let object = snake(rng);
            let mut content = Map::new();
            content.insert(
                "objects".into(),
                json!({ object.clone(): { "label": title(&object), "fields": { "name": { "label": "Name" } } } }),
            );
            if rng.chance(50) {
                content.insert("apps".into(), json!({ "main": { "label": "Main" } }));
            }
            if rng.chance(50) {
                content.insert("messages".into(), json!({ "saved": "Saved" }));
            }
            bundle.insert(locale.into(), Value::Object(content));
        }
    }
    Value::Object(bundle)
}

pub(super) fn gen_manifest(rng: &mut Rng) -> Value {
    let word = rng.pick(WORDS);
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("com.acme.{word}")));
    if rng.chance(60) {
        m.insert("namespace".into(), json!(word));
    }
    m.insert(
        "version".into(),
        json!(format!(
            "{}.{}.{}",
            rng.index(4),
            rng.index(10),
            rng.index(10)
        )),
    );
    m.insert(
        "type".into(),
        json!(rng.pick(&["app", "module", "plugin", "gateway", "agent"])),
    );
    m.insert("name".into(), json!(title(word)));
    if rng.chance(50) {
        m.insert("description".into(), json!("A package"));
    }
    if rng.chance(50) {
        m.insert("engines".into(), json!({ "protocol": "^17.0.0" }));
    }
    if rng.chance(30) {
        m.insert("dependencies".into(), json!({ "com.acme.crm": "^1.0.0" }));
    }
    if rng.chance(30) {
        m.insert("objects".into(), json!([format!("{word}_record")]));
    }
    Value::Object(m)
}

pub(super) fn generated_cases(rng: &mut Rng, per_kind: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for kind in SchemaKind::ALL {
        for n in 0..per_kind {
            let item = match kind {
                SchemaKind::Manifest => gen_manifest(rng),
                SchemaKind::Object => gen_object(rng),
                SchemaKind::View => gen_view(rng),
                SchemaKind::App => gen_app(rng),
                SchemaKind::Flow => gen_flow(rng),
                SchemaKind::Agent => gen_agent(rng),
                SchemaKind::Tool => gen_tool(rng),
                SchemaKind::Translation => gen_translation(rng),
            };
            cases.push(Case {
                kind,
                origin: format!("generated {} #{n}", kind_name(kind)),
                item,
            });
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Mutations.
