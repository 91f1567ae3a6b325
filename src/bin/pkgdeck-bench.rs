//! pkgdeck-bench: the benchmark of spec section 7. `scripts/bench` builds this binary and the
//! `pkgdeck` binary in release mode and runs `pkgdeck-bench run`.
//!
//! It generates registries the way the reference service writes them (canonical JSON texts,
//! correct hashes, `CURRENT_TIMESTAMP`-shaped times with same-second ties, rows inserted in time
//! order), times the real `pkgdeck` binary against the `sqlite3` shell on the same file, times
//! single operations in process through the library, measures the remote store against
//! `tursodb --sync-server` through a request-counting proxy, and prints one table (also written
//! as markdown to `<out>/latest.md`) with every measurement, its budget and PASS/FAIL.
//!
//! A failed budget is printed, not fatal: the exit code is non-zero only when the benchmark
//! itself broke (a command failed, a file could not be written).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pkgdeck::registry::canonical::{self, JsValue};
use pkgdeck::registry::{self, AuditLog, PublishOptions, Registry, Scope, Trash};
use pkgdeck::store::hrana::HranaStore;
use pkgdeck::store::sqlite::SqliteStore;

const USAGE: &str = "\
usage: pkgdeck-bench COMMAND

  run [--out DIR] [--reps N] [--quick] [--no-remote]
        the whole benchmark: builds nothing, expects target/release/pkgdeck next to this
        binary; prints the table and writes DIR/latest.md (DIR defaults to target/bench).
        --quick: a 2,000-package registry and 3 repetitions; tursodb is found through
        PKGDECK_TURSODB or .tools/tursodb (scripts/install-tursodb)
  gen PATH [--packages N] [--versions V] [--force]
        writes a registry of N packages x V versions (default 20000 x 5) to PATH, or keeps
        PATH when it already holds that many rows
  ops PATH [--reps N]
        in-process timings of get, publish, diff, list and verify on PATH (publish writes
        new versions into PATH: use a scratch copy)
  time [--reps N] -- COMMAND [ARGS...]
        median wall time of COMMAND (stdout to /dev/null)
  console PATH [--reps N]
        console first frame and the slowest filter keystroke (pkgdeck::tui::bench)
  sql PATH SQL [--reps N]
        median time of one statement through the bundled SQLite (all rows stepped, every
        column read), its query plan, and the bytes one run reads from the file
  remote PATH --tursodb BIN [--reps N]
        list/get/publish/delete/verify against `tursodb --sync-server` serving a copy of PATH,
        with HTTP round trips counted by a proxy
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => cmd_run(&args[1..]),
        Some("gen") => cmd_gen(&args[1..]),
        Some("ops") => cmd_ops(&args[1..]),
        Some("time") => cmd_time(&args[1..]),
        Some("console") => cmd_console(&args[1..]),
        Some("remote") => cmd_remote(&args[1..]),
        Some("sql") => cmd_sql(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("pkgdeck-bench: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/// `--name value` options and bare flags, plus positional arguments; `--` ends options.
struct Opts {
    positional: Vec<String>,
    named: BTreeMap<String, String>,
    flags: Vec<String>,
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String], valued: &[&str]) -> Result<Opts, String> {
        let mut o = Opts {
            positional: vec![],
            named: BTreeMap::new(),
            flags: vec![],
            rest: vec![],
        };
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a == "--" {
                o.rest = args[i + 1..].to_vec();
                break;
            }
            if let Some(name) = a.strip_prefix("--") {
                if valued.contains(&name) {
                    let v = args.get(i + 1).ok_or(format!("--{name} needs a value"))?;
                    o.named.insert(name.to_owned(), v.clone());
                    i += 2;
                    continue;
                }
                o.flags.push(name.to_owned());
            } else {
                o.positional.push(a.clone());
            }
            i += 1;
        }
        Ok(o)
    }
    fn num(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.named.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name} {v}: not a number")),
        }
    }
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
    fn path(&self, what: &str) -> Result<PathBuf, String> {
        self.positional
            .first()
            .map(PathBuf::from)
            .ok_or(format!("missing {what}"))
    }
}

// ---------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.range(0, items.len() - 1)]
    }
}

// ---------------------------------------------------------------------------
// Generating a registry
// ---------------------------------------------------------------------------

const VENDORS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "oscorp",
    "aperture",
    "vandelay",
    "dunder",
    "pied",
    "massive",
    "gringotts",
    "monarch",
    "nakatomi",
    "objectstack",
    "steelcase",
    "contoso",
    "fabrikam",
    "northwind",
    "adventure",
    "tailspin",
    "litware",
    "proseware",
    "lucerne",
];
const NOUNS: &[&str] = &[
    "helpdesk",
    "crm",
    "billing",
    "invoices",
    "inventory",
    "payroll",
    "recruiting",
    "assets",
    "projects",
    "timesheets",
    "expenses",
    "contracts",
    "knowledge",
    "survey",
    "events",
    "fleet",
    "procurement",
    "warehouse",
    "shipping",
    "returns",
    "loyalty",
    "marketing",
    "campaigns",
    "leads",
    "quotes",
    "orders",
    "catalog",
    "pricing",
    "tax",
    "ledger",
    "audit",
    "compliance",
    "identity",
    "sso",
    "notifications",
    "scheduler",
    "reports",
    "dashboards",
    "forms",
    "portal",
];
const ADJECTIVES: &[&str] = &[
    "Smart",
    "Simple",
    "Enterprise",
    "Cloud",
    "Open",
    "Rapid",
    "Unified",
    "Secure",
    "Modern",
    "Lean",
    "Global",
    "Instant",
];
const TYPES: &[&str] = &[
    "plugin", "plugin", "plugin", "app", "app", "app", "ui", "ui", "driver", "server", "theme",
    "agent", "agent", "objectql", "module", "module", "gateway", "adapter",
];
const FIELD_TYPES: &[&str] = &[
    "text",
    "text",
    "text",
    "textarea",
    "number",
    "currency",
    "percent",
    "boolean",
    "date",
    "datetime",
    "select",
    "lookup",
    "email",
    "phone",
    "url",
    "autonumber",
    "formula",
];
const FIELD_WORDS: &[&str] = &[
    "name",
    "title",
    "status",
    "priority",
    "owner",
    "amount",
    "due_date",
    "description",
    "category",
    "email",
    "phone",
    "account",
    "contact",
    "stage",
    "probability",
    "region",
    "quantity",
    "unit_price",
    "discount",
    "notes",
    "created_by",
    "closed_at",
    "score",
    "tags",
    "reference",
    "approved",
    "currency",
    "country",
    "city",
    "postal_code",
];
const LOCALES: &[(&str, &[&str])] = &[
    (
        "de-DE",
        &[
            "Übersicht",
            "Größe",
            "Schließen",
            "Straße",
            "Genehmigt",
            "Fällig",
        ],
    ),
    (
        "fr-FR",
        &[
            "Aperçu",
            "Élément",
            "Fermé",
            "Créé le",
            "Priorité élevée",
            "Reçu",
        ],
    ),
    (
        "ja-JP",
        &["概要", "顧客", "請求書", "承認済み", "優先度", "締め切り"],
    ),
    (
        "zh-CN",
        &["概览", "客户", "发票", "已批准", "优先级", "截止日期"],
    ),
    (
        "es-ES",
        &[
            "Resumen",
            "Categoría",
            "Añadir",
            "Teléfono",
            "Aprobación",
            "Región",
        ],
    ),
    (
        "pt-BR",
        &[
            "Visão geral",
            "Cotação",
            "Endereço",
            "Ação",
            "Situação",
            "Não",
        ],
    ),
];

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
struct PackageShape {
    id: String,
    vendor: &'static str,
    noun: &'static str,
    name: String,
    kind: &'static str,
    /// Size class: 0 tiny, 1 small, 2 usual, 3 large.
    size: usize,
    deps: Vec<(String, String)>,
}

fn package_shape(p: usize, packages: usize) -> PackageShape {
    let mut r = Rng::new(p as u64 * 7919 + 17);
    let vendor = VENDORS[p % VENDORS.len()];
    let noun = NOUNS[(p / VENDORS.len()) % NOUNS.len()];
    let serial = p / (VENDORS.len() * NOUNS.len());
    let id = if serial == 0 {
        format!("com.{vendor}.{noun}")
    } else {
        format!("com.{vendor}.{noun}-{serial}")
    };
    let name = format!("{} {} {}", title(vendor), r.pick(ADJECTIVES), title(noun));
    let kind = r.pick(TYPES);
    let size = match r.range(0, 99) {
        0..=11 => 0,
        12..=44 => 1,
        45..=91 => 2,
        _ => 3,
    };
    let mut deps: Vec<(String, String)> = Vec::new();
    for _ in 0..r.range(0, 4) {
        let dep = {
            let q = r.range(0, packages - 1);
            let dep_vendor = VENDORS[q % VENDORS.len()];
            let dep_noun = NOUNS[(q / VENDORS.len()) % NOUNS.len()];
            (
                format!("com.{dep_vendor}.{dep_noun}"),
                format!("^{}.{}.0", r.range(0, 3), r.range(0, 9)),
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
fn version_sequence(p: usize, count: usize) -> Vec<String> {
    let mut r = Rng::new(p as u64 * 104_729 + 3);
    let (mut major, mut minor, mut patch) = (r.range(0, 2), r.range(0, 5), 0usize);
    if major == 0 && minor == 0 {
        minor = 1;
    }
    let mut out = vec![format!("{major}.{minor}.{patch}")];
    let hotfix_last = count >= 3 && r.chance(0.05);
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
        match r.range(0, 9) {
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
    let kind = r.pick(FIELD_TYPES);
    let mut m: Vec<(&str, JsValue)> = vec![
        ("name", s(word)),
        ("label", s(title(word))),
        ("type", s(kind)),
    ];
    if r.chance(0.4) {
        m.push(("required", JsValue::Bool(true)));
    }
    match kind {
        "text" | "email" | "phone" | "url" => {
            m.push(("maxLength", n([80.0, 255.0, 1000.0][r.range(0, 2)])))
        }
        "number" | "currency" | "percent" => {
            m.push(("precision", n(18.0)));
            m.push(("scale", n(r.range(0, 4) as f64)));
            if r.chance(0.3) {
                m.push((
                    "defaultValue",
                    n([0.0, 0.5, 0.15, 99.99, 1e-7][r.range(0, 4)]),
                ));
            }
        }
        "select" => {
            let options = (0..r.range(2, 5 + version % 2))
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
        "lookup" => m.push(("reference", s(r.pick(NOUNS)))),
        "formula" => m.push((
            "expression",
            s(format!(
                "IF({} > 0, \"yes\", \"no\")\n",
                r.pick(FIELD_WORDS)
            )),
        )),
        _ => {}
    }
    if r.chance(0.2) {
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

/// The publish document of version `k` (0-based) of package `shape`.
fn document(p: usize, shape: &PackageShape, version: &str, k: usize) -> JsValue {
    let mut r = Rng::new(p as u64 * 31 + 5);
    let size = shape.size;
    let (objects, max_fields, views, flows, agents, tools, locales) = match size {
        0 => (r.range(0, 1), 4, r.range(0, 1), 0, 0, 0, 0),
        1 => (
            r.range(1, 2),
            6,
            r.range(1, 2),
            r.range(0, 1),
            0,
            r.range(0, 1),
            r.range(0, 1),
        ),
        2 => (
            r.range(1, 2),
            6,
            r.range(1, 3),
            r.range(0, 2),
            r.range(0, 1),
            r.range(0, 1),
            r.range(1, 2),
        ),
        _ => (
            r.range(2, 5),
            10,
            r.range(2, 4),
            r.range(1, 3),
            r.range(1, 2),
            r.range(1, 3),
            r.range(2, 3),
        ),
    };
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
        let count = r.range(2, max_fields) + if i == 0 { k } else { 0 };
        let fields = (0..count)
            .map(|f| field(&mut r, FIELD_WORDS[(f * 3 + i) % FIELD_WORDS.len()], k))
            .collect();
        let mut members = vec![
            ("name", s(oname.as_str())),
            ("label", s(title(oname))),
            ("pluralLabel", s(format!("{}s", title(oname)))),
            ("fields", arr(fields)),
        ];
        if r.chance(0.5) {
            members.push(("enableHistory", JsValue::Bool(true)));
        }
        if r.chance(0.3) {
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
            let columns = (0..r.range(3, 7))
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
            let steps = (0..r.range(2, 5))
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
                            s(format!("Step {} – {}", st + 1, r.pick(FIELD_WORDS))),
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

/// `YYYY-MM-DD HH:MM:SS` of Unix time `t` (UTC), as SQLite's CURRENT_TIMESTAMP writes it.
fn sqlite_timestamp(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// One row to insert, in insertion order.
struct Event {
    package: usize,
    version: usize,
    created: i64,
}

/// The publish history: every package's versions spread over about two years, in order, with
/// same-second ties (about one publish in eight shares its second with the one before) and a
/// few bulk imports (all versions of a package in one second, as in the reference fixture).
fn history(packages: usize, versions: usize) -> Vec<Event> {
    let mut r = Rng::new(42);
    let mut order: Vec<usize> = (0..packages)
        .flat_map(|p| std::iter::repeat_n(p, versions))
        .collect();
    for i in (1..order.len()).rev() {
        let j = r.range(0, i);
        order.swap(i, j);
    }
    let bulk: Vec<bool> = (0..packages).map(|_| r.chance(0.03)).collect();
    let mut next_version = vec![0usize; packages];
    let mut t: i64 = 1_609_459_200; // 2021-01-01 00:00:00
    let mut events = Vec::with_capacity(packages * versions);
    for p in order {
        if next_version[p] >= versions {
            continue;
        }
        t += if r.chance(0.12) {
            0
        } else {
            r.range(1, 1200) as i64
        };
        let upto = if bulk[p] {
            versions
        } else {
            next_version[p] + 1
        };
        while next_version[p] < upto {
            events.push(Event {
                package: p,
                version: next_version[p],
                created: t,
            });
            next_version[p] += 1;
        }
    }
    events
}

/// Generates `packages` x `versions` rows into `path` (through a temporary file, so a cache
/// is never half written), unless `path` already holds exactly that. Returns whether it wrote.
fn generate(path: &Path, packages: usize, versions: usize, force: bool) -> Result<bool, String> {
    if !force && path.exists() {
        if let Ok(counts) = registry_counts(path) {
            if counts == (packages as u64, (packages * versions) as u64) {
                return Ok(false);
            }
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("db.partial");
    let _ = std::fs::remove_file(&tmp);
    let started = Instant::now();
    let conn = rusqlite::Connection::open(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let sql_err = |e: rusqlite::Error| format!("{}: {e}", tmp.display());
    // Only this connection's durability: the file is renamed into place when complete.
    conn.execute_batch("PRAGMA synchronous = OFF")
        .map_err(sql_err)?;
    for stmt in registry::SCHEMA {
        conn.execute_batch(stmt).map_err(sql_err)?;
    }
    let shapes: Vec<PackageShape> = (0..packages).map(|p| package_shape(p, packages)).collect();
    let sequences: Vec<Vec<String>> = (0..packages)
        .map(|p| version_sequence(p, versions))
        .collect();
    let events = history(packages, versions);
    let mut r = Rng::new(7);
    let mut bytes = 0usize;
    conn.execute_batch("BEGIN").map_err(sql_err)?;
    {
        let mut insert = conn
            .prepare(
                "INSERT INTO sys_packages (id, version, manifest, metadata, hash, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sql_err)?;
        let mut manifest = String::new();
        let mut metadata = String::new();
        for (i, e) in events.iter().enumerate() {
            let shape = &shapes[e.package];
            let version = &sequences[e.package][e.version];
            let doc = document(e.package, shape, version, e.version);
            let (Some(m), Some(d)) = (doc.get("manifest"), doc.get("metadata")) else {
                unreachable!("document() builds both members")
            };
            manifest.clear();
            metadata.clear();
            canonical::write_into(m, &mut manifest);
            canonical::write_into(d, &mut metadata);
            let hash = canonical::integrity_hash(&manifest, &metadata);
            if !canonical::is_canonical(&manifest).unwrap_or(false) {
                return Err(format!(
                    "generated manifest of {} {version} is not canonical",
                    shape.id
                ));
            }
            if i % 97 == 0 {
                // The texts must be exactly what a publish of the same document stores.
                let text = canonical::stringify(&doc);
                let prepared =
                    registry::prepare_publish(&text, "generated document").map_err(|err| {
                        format!(
                            "generated document {} {version} is refused: {err}",
                            shape.id
                        )
                    })?;
                if prepared.manifest != manifest
                    || prepared.metadata != metadata
                    || prepared.hash != hash
                {
                    return Err(format!(
                        "generated document {} {version} is not canonical",
                        shape.id
                    ));
                }
            }
            bytes += manifest.len() + metadata.len();
            let created = sqlite_timestamp(e.created);
            // A few rows were re-published later: updated_at moves, created_at stays.
            let updated = if r.chance(0.02) {
                sqlite_timestamp(e.created + r.range(3600, 90 * 86_400) as i64)
            } else {
                created.clone()
            };
            insert
                .execute(rusqlite::params![
                    shape.id, version, manifest, metadata, hash, created, updated
                ])
                .map_err(sql_err)?;
        }
    }
    conn.execute_batch("COMMIT").map_err(sql_err)?;
    drop(conn);
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))?;
    eprintln!(
        "generated {} ({} packages x {} versions, {:.0} MB of JSON) in {:.1} s",
        path.display(),
        packages,
        versions,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

/// "20000 packages, 100000 rows" for the table.
fn size_label(db: &Path) -> Result<String, String> {
    let (packages, rows) = registry_counts(db)?;
    Ok(format!("{packages} packages, {rows} rows"))
}

fn registry_counts(path: &Path) -> Result<(u64, u64), String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    conn.query_row(
        "SELECT count(DISTINCT id), count(*) FROM sys_packages",
        [],
        |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
    )
    .map_err(|e| e.to_string())
}

fn cmd_gen(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["packages", "versions"])?;
    let path = o.path("PATH")?;
    let wrote = generate(
        &path,
        o.num("packages", 20_000)?,
        o.num("versions", 5)?,
        o.flag("force"),
    )?;
    if !wrote {
        eprintln!("{} already holds the right rows; kept", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    runs: usize,
}

impl Stats {
    /// From samples in seconds.
    fn of(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(|a, b| a.total_cmp(b));
        let k = samples.len();
        let median = if k % 2 == 1 {
            samples[k / 2]
        } else {
            (samples[k / 2 - 1] + samples[k / 2]) / 2.0
        };
        Stats {
            median,
            min: samples[0],
            max: samples[k - 1],
            runs: k,
        }
    }
    fn ms(&self) -> String {
        format!(
            "{} (min {}, max {}, n={})",
            fmt_ms(self.median),
            fmt_ms(self.min),
            fmt_ms(self.max),
            self.runs
        )
    }
}

fn fmt_ms(seconds: f64) -> String {
    let ms = seconds * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.3} ms")
    }
}

/// A command line to run: the program, its arguments, extra environment.
#[derive(Clone)]
struct Cmd {
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Cmd {
    fn new<I: IntoIterator<Item = S>, S: Into<String>>(argv: I) -> Cmd {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![],
        }
    }
    fn shell(script: &str) -> Cmd {
        Cmd::new(["sh", "-c", script])
    }
    fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }
    fn command(&self) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..]);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.stdin(Stdio::null());
        c
    }
    fn shown(&self) -> String {
        self.argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// Runs once, capturing stdout; fails unless the exit code is one of `ok_codes`.
    fn output(&self, ok_codes: &[i32]) -> Result<Vec<u8>, String> {
        let out = self
            .command()
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.shown()))?;
        let code = out.status.code().unwrap_or(-1);
        if !ok_codes.contains(&code) {
            return Err(format!(
                "{} exited with {code}: {}",
                self.shown(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }
    /// Runs once with stdout to /dev/null; returns the wall time.
    fn timed(&self, ok_codes: &[i32]) -> Result<f64, String> {
        let mut c = self.command();
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let started = Instant::now();
        let child = c
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.shown()))?;
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{}: {e}", self.shown()))?;
        let elapsed = started.elapsed().as_secs_f64();
        let code = out.status.code().unwrap_or(-1);
        if !ok_codes.contains(&code) {
            return Err(format!(
                "{} exited with {code}: {}",
                self.shown(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(elapsed)
    }
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// CPU seconds (user + system) used so far by this process's waited-for children, from
/// `/proc/self/stat` (cutime + cstime, in clock ticks).
fn children_cpu() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 3, cutime 16 and cstime 17 (1-based).
    (field(13) + field(14)) / ticks
}

/// Wall-clock statistics of a command and its mean CPU time (user + system) per run.
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall: Stats,
    cpu: f64,
}

impl Timing {
    fn shown(&self) -> String {
        format!("{}, cpu {}", self.wall.ms(), fmt_ms(self.cpu))
    }
}

fn use_hyperfine() -> Option<PathBuf> {
    let wanted = std::env::var("PKGDECK_BENCH_HYPERFINE").map_or(true, |v| v != "0");
    wanted.then(|| which("hyperfine")).flatten()
}

fn side_by_side_timer() -> String {
    match use_hyperfine() {
        Some(hf) => Command::new(&hf)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|_| "hyperfine".into()),
        None => "pkgdeck-bench (alternating runs; cpu from /proc/self/stat)".into(),
    }
}

/// Times `a` and `b` side by side, `reps` runs each after one warm-up run of each: through
/// hyperfine when it is installed (unless `PKGDECK_BENCH_HYPERFINE=0`), else here, alternating
/// the two commands so that a busy machine slows both alike.
fn time_pair(a: &Cmd, b: &Cmd, reps: usize, scratch: &Path) -> Result<(Timing, Timing), String> {
    if let Some(hf) = use_hyperfine() {
        let both = hyperfine(&hf, &[a, b], reps, scratch)?;
        return Ok((both[0], both[1]));
    }
    a.timed(&[0])?;
    b.timed(&[0])?;
    let (mut wall_a, mut wall_b, mut cpu_a, mut cpu_b) = (vec![], vec![], 0.0, 0.0);
    for i in 0..reps {
        let order: [(&Cmd, bool); 2] = if i % 2 == 0 {
            [(a, true), (b, false)]
        } else {
            [(b, false), (a, true)]
        };
        for (cmd, is_a) in order {
            let before = children_cpu();
            let t = cmd.timed(&[0])?;
            let cpu = children_cpu() - before;
            if is_a {
                wall_a.push(t);
                cpu_a += cpu;
            } else {
                wall_b.push(t);
                cpu_b += cpu;
            }
        }
    }
    Ok((
        Timing {
            wall: Stats::of(wall_a),
            cpu: cpu_a / reps as f64,
        },
        Timing {
            wall: Stats::of(wall_b),
            cpu: cpu_b / reps as f64,
        },
    ))
}

/// Times several commands with hyperfine (one warm-up run each); their environments are
/// merged onto hyperfine's own, so the commands must not disagree about them.
fn hyperfine(hf: &Path, cmds: &[&Cmd], reps: usize, scratch: &Path) -> Result<Vec<Timing>, String> {
    let json = scratch.join("hyperfine.json");
    let mut c = Command::new(hf);
    c.args(["--style", "none", "--warmup", "1", "--runs"])
        .arg(reps.to_string())
        .arg("--export-json")
        .arg(&json)
        .arg("--");
    for cmd in cmds {
        c.arg(cmd.shown());
        for (k, v) in &cmd.env {
            c.env(k, v);
        }
    }
    let status = c
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run hyperfine: {e}"))?;
    if !status.success() {
        return Err(format!(
            "hyperfine failed on {}",
            cmds.iter()
                .map(|c| c.shown())
                .collect::<Vec<_>>()
                .join(" / ")
        ));
    }
    let text = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    (0..cmds.len())
        .map(|i| {
            let r = &v["results"][i];
            let get = |k: &str| r[k].as_f64().ok_or(format!("hyperfine output without {k}"));
            Ok(Timing {
                wall: Stats {
                    median: get("median")?,
                    min: get("min")?,
                    max: get("max")?,
                    runs: r["times"].as_array().map_or(reps, Vec::len),
                },
                cpu: get("user")? + get("system")?,
            })
        })
        .collect()
}

/// Peak resident set size (kB) of one run of `cmd`, from `/usr/bin/time -f %M`.
fn peak_rss_kb(cmd: &Cmd, scratch: &Path) -> Result<Option<u64>, String> {
    let time = Path::new("/usr/bin/time");
    if !time.is_file() {
        return Ok(None);
    }
    let report = scratch.join("time.out");
    let mut argv = vec![
        time.display().to_string(),
        "-f".into(),
        "%M".into(),
        "-o".into(),
        report.display().to_string(),
    ];
    argv.extend(cmd.argv.iter().cloned());
    let mut wrapped = Cmd::new(argv);
    wrapped.env = cmd.env.clone();
    wrapped.timed(&[0])?;
    let text = std::fs::read_to_string(&report).map_err(|e| e.to_string())?;
    let kb = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or(format!("cannot read /usr/bin/time's report: {text}"))?;
    Ok(Some(kb))
}

/// Times `f` `reps` times (after one warm-up call) and returns the stats.
fn time_fn<T>(reps: usize, mut f: impl FnMut(usize) -> Result<T, String>) -> Result<Stats, String> {
    f(usize::MAX)?;
    let mut samples = Vec::with_capacity(reps);
    for i in 0..reps {
        let started = Instant::now();
        std::hint::black_box(f(i)?);
        samples.push(started.elapsed().as_secs_f64());
    }
    Ok(Stats::of(samples))
}

fn cmd_time(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    if o.rest.is_empty() {
        return Err("time: missing COMMAND after --".into());
    }
    let stats = timed_cmd_stats(&Cmd::new(o.rest.clone()), o.num("reps", 7)?)?;
    println!("{}", stats.ms());
    Ok(())
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Pass,
    Fail,
    Info,
    NotMeasured,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Info => "info",
            Status::NotMeasured => "TODO",
        }
    }
}

struct Row {
    what: String,
    measured: String,
    budget: String,
    ratio: String,
    status: Status,
}

impl Row {
    fn info(
        what: impl Into<String>,
        measured: impl Into<String>,
        reference: impl Into<String>,
    ) -> Row {
        Row {
            what: what.into(),
            measured: measured.into(),
            budget: reference.into(),
            ratio: String::new(),
            status: Status::Info,
        }
    }
    fn todo(what: impl Into<String>, why: impl Into<String>, budget: impl Into<String>) -> Row {
        Row {
            what: what.into(),
            measured: why.into(),
            budget: budget.into(),
            ratio: String::new(),
            status: Status::NotMeasured,
        }
    }
    /// `value` against an upper bound `limit` (same unit); `ratio` = value / limit.
    fn at_most(
        what: impl Into<String>,
        measured: impl Into<String>,
        budget: impl Into<String>,
        value: f64,
        limit: f64,
    ) -> Row {
        let ratio = value / limit;
        Row {
            what: what.into(),
            measured: measured.into(),
            budget: budget.into(),
            ratio: format!("{ratio:.2}"),
            status: if value <= limit {
                Status::Pass
            } else {
                Status::Fail
            },
        }
    }
}

struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    fn push(&mut self, row: Row) {
        eprintln!(
            "  {:<44} {:<40} {:<24} {:>6} {}",
            row.what,
            row.measured,
            row.budget,
            row.ratio,
            row.status.word()
        );
        self.rows.push(row);
    }
    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("  note: {note}");
        self.notes.push(note);
    }
    fn markdown(&self) -> String {
        let mut t = String::from(
            "| measurement | measured | budget | ratio | status |\n|---|---|---|---:|---|\n",
        );
        // A '|' inside a cell (sqlite3 | sha256sum) would end the cell.
        let cell = |c: &str| c.replace('|', "\\|");
        for r in &self.rows {
            t.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&r.what),
                cell(&r.measured),
                cell(&r.budget),
                r.ratio,
                r.status.word()
            ));
        }
        t
    }
    fn plain(&self) -> String {
        let w = |f: &dyn Fn(&Row) -> &str, h: &str| {
            self.rows
                .iter()
                .map(|r| f(r).chars().count())
                .max()
                .unwrap_or(0)
                .max(h.len())
        };
        let (a, b, c, d) = (
            w(&|r| &r.what, "measurement"),
            w(&|r| &r.measured, "measured"),
            w(&|r| &r.budget, "budget"),
            w(&|r| &r.ratio, "ratio"),
        );
        let line = |x: &str, y: &str, z: &str, q: &str, st: &str| {
            format!("{x:<a$}  {y:<b$}  {z:<c$}  {q:>d$}  {st}\n")
        };
        let mut t = line("measurement", "measured", "budget", "ratio", "status");
        t.push_str(&format!("{}\n", "-".repeat(a + b + c + d + 16)));
        for r in &self.rows {
            t.push_str(&line(
                &r.what,
                &r.measured,
                &r.budget,
                &r.ratio,
                r.status.word(),
            ));
        }
        t
    }
}

fn machine_description() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let sha_ni = if flags.split_whitespace().any(|f| f == "sha_ni") {
        "yes"
    } else {
        "no"
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let sqlite3 = Command::new("sqlite3")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_else(|_| "missing".into());
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    vec![
        format!("date: {date}"),
        format!("nproc: {nproc}"),
        format!("cpu: {model} (sha_ni: {sha_ni})"),
        format!("memory: {:.1} GiB", mem_kb as f64 / 1024.0 / 1024.0),
        format!(
            "sqlite3 shell: {sqlite3}; bundled SQLite (rusqlite): {}",
            rusqlite::version()
        ),
        format!(
            "commit: {commit}{}",
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        ),
        format!("side-by-side timer: {}", side_by_side_timer()),
    ]
}

// ---------------------------------------------------------------------------
// Local: the CLI against the sqlite3 shell
// ---------------------------------------------------------------------------

/// The sqlite3 shell's equivalent of `pkgdeck list --json`: one row per package, latest by
/// `created_at DESC, rowid DESC`, the same columns (name and type through json_extract), JSON
/// output. The same index-driven plan as pkgdeck's own query.
const SQLITE3_LIST: &str = "SELECT p.id, p.version, json_extract(p.manifest, '$.name') AS name, \
json_extract(p.manifest, '$.type') AS type, p.hash, p.created_at, p.updated_at, g.n AS versions \
FROM (SELECT o.id AS id, count(*) AS n, (SELECT q.rowid FROM sys_packages q WHERE q.id = o.id \
ORDER BY q.created_at DESC, q.rowid DESC LIMIT 1) AS rid FROM sys_packages o GROUP BY o.id) g \
JOIN sys_packages p ON p.rowid = g.rid ORDER BY p.created_at DESC, p.rowid DESC;";

/// Reads the same bytes as a verify of every row.
const SQLITE3_READ_ALL: &str = "SELECT manifest, metadata FROM sys_packages;";

struct Env {
    pkgdeck: PathBuf,
    out: PathBuf,
    home: PathBuf,
    reps: usize,
}

impl Env {
    fn pkgdeck(&self, args: &[&str]) -> Cmd {
        let mut argv = vec![self.pkgdeck.display().to_string()];
        argv.extend(args.iter().map(|s| s.to_string()));
        Cmd::new(argv)
            .env(
                "PKGDECK_DATA_DIR",
                &self.home.join("data").display().to_string(),
            )
            .env(
                "PKGDECK_CONFIG_DIR",
                &self.home.join("config").display().to_string(),
            )
    }
}

fn timed_cmd_stats(cmd: &Cmd, reps: usize) -> Result<Stats, String> {
    cmd.timed(&[0])?;
    let samples = (0..reps)
        .map(|_| cmd.timed(&[0]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Stats::of(samples))
}

/// `list --json` of pkgdeck and the sqlite3 query must agree row for row.
fn check_list_agrees(env: &Env, db: &str) -> Result<usize, String> {
    let ours = env
        .pkgdeck(&["--db", db, "--read-only", "list", "--json"])
        .output(&[0])?;
    let theirs = Cmd::new(["sqlite3", "-readonly", "-json", db, SQLITE3_LIST]).output(&[0])?;
    let ours: serde_json::Value =
        serde_json::from_slice(&ours).map_err(|e| format!("pkgdeck list --json: {e}"))?;
    let theirs: serde_json::Value =
        serde_json::from_slice(&theirs).map_err(|e| format!("sqlite3 -json: {e}"))?;
    let (Some(a), Some(b)) = (ours.as_array(), theirs.as_array()) else {
        return Err("list output is not an array".into());
    };
    if a.len() != b.len() {
        return Err(format!(
            "pkgdeck list has {} rows, the sqlite3 query {}",
            a.len(),
            b.len()
        ));
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return Err(format!(
                "pkgdeck list and the sqlite3 query differ: {x} vs {y}"
            ));
        }
    }
    Ok(a.len())
}

/// The query plan of the sqlite3 baseline query, one line per step.
fn baseline_plan(db: &Path) -> Result<Vec<String>, String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            SQLITE3_LIST.trim_end_matches(';')
        ))
        .map_err(|e| e.to_string())?;
    let details = stmt
        .query_map([], |row| row.get::<_, String>(3))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string());
    details
}

/// Bytes this process has read through read(2) and pread(2) so far (`rchar` of
/// /proc/self/io): SQLite reads every page it needs that way.
fn self_rchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Bytes read from the file by one `list()`, and by one 60-row `list_page`, each on a freshly
/// opened registry (empty page cache): what the list really reads, whatever its plan.
fn list_reads(db: &Path, state: &Path) -> Result<(u64, u64), String> {
    let open = || -> Result<Registry, String> {
        let store = SqliteStore::open(db, true).map_err(|e| e.to_string())?;
        Registry::open(
            Box::new(store),
            Trash::new(state.join("trash")),
            AuditLog::disabled(),
        )
        .map_err(|e| e.to_string())
    };
    let reg = open()?;
    let before = self_rchar();
    reg.list().map_err(|e| e.to_string())?;
    let list = self_rchar() - before;
    drop(reg);
    let reg = open()?;
    let before = self_rchar();
    reg.list_page(None, Some(60)).map_err(|e| e.to_string())?;
    Ok((list, self_rchar() - before))
}

fn local_cli(env: &Env, db: &Path, table: &mut Table) -> Result<(), String> {
    let dbs = db.display().to_string();
    let reps = env.reps;
    eprintln!("list: checking that pkgdeck and the sqlite3 query agree …");
    let rows = check_list_agrees(env, &dbs)?;
    table.note(format!(
        "list: pkgdeck `list --json` and the sqlite3 query return the same {rows} rows"
    ));

    table.note(format!(
        "sqlite3 list query plan: {}",
        baseline_plan(db)?.join(" / ")
    ));
    let file = std::fs::metadata(db).map_err(|e| e.to_string())?.len();
    let (list_bytes, page_bytes) = list_reads(db, &env.home.join("reads"))?;
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
    table.push(Row::at_most(
        "list reads only the latest rows (bytes read by list())",
        format!("{} of a {} file", mb(list_bytes), mb(file)),
        "< 50% of the file (a scan reads all)",
        list_bytes as f64,
        0.5 * file as f64,
    ));
    table.push(Row::info(
        "list_page(first 60 rows): bytes read",
        mb(page_bytes),
        "(index + 60 rows)",
    ));

    let ours = env.pkgdeck(&["--db", &dbs, "list", "--json"]);
    let sqlite = Cmd::new(["sqlite3", "-readonly", "-json", &dbs, SQLITE3_LIST]);
    eprintln!("list: timing pkgdeck and sqlite3 ({reps} runs each) …");
    let (a, b) = time_pair(&ours, &sqlite, reps, &env.out)?;
    let mut row = Row::at_most(
        format!("list --json ({}), whole process", size_label(db)?),
        a.shown(),
        format!("≤ 1.5 × sqlite3 ({})", fmt_ms(b.wall.median)),
        a.wall.median,
        1.5 * b.wall.median,
    );
    row.ratio = format!("{:.2}×", a.wall.median / b.wall.median);
    table.push(row);
    table.push(Row::info(
        "sqlite3 shell, same list query",
        b.shown(),
        "(baseline)",
    ));
    match peak_rss_kb(&ours, &env.out)? {
        Some(kb) => table.push(Row::at_most(
            "list --json peak RSS",
            format!("{:.1} MB", kb as f64 / 1024.0),
            "< 64 MB",
            kb as f64,
            64.0 * 1024.0,
        )),
        None => table.push(Row::todo(
            "list --json peak RSS",
            "not measured (/usr/bin/time missing)",
            "< 64 MB",
        )),
    }

    let ours = env.pkgdeck(&["--db", &dbs, "verify"]);
    let script = format!(
        "sqlite3 -readonly {} {} | sha256sum",
        shell_quote(&dbs),
        shell_quote(SQLITE3_READ_ALL)
    );
    let sqlite = Cmd::shell(&script);
    let check = String::from_utf8_lossy(&ours.output(&[0])?).into_owned();
    table.note(format!("verify: {}", check.trim()));
    eprintln!("verify: timing pkgdeck and sqlite3 | sha256sum ({reps} runs each) …");
    let (a, b) = time_pair(&ours, &sqlite, reps, &env.out)?;
    let mut row = Row::at_most(
        format!("verify ({}), whole process", size_label(db)?),
        a.shown(),
        format!("≤ 2 × sqlite3|sha256sum ({})", fmt_ms(b.wall.median)),
        a.wall.median,
        2.0 * b.wall.median,
    );
    row.ratio = format!("{:.2}×", a.wall.median / b.wall.median);
    table.push(row);
    table.push(Row::info(
        "sqlite3 | sha256sum, same bytes",
        b.shown(),
        "(baseline)",
    ));
    if let Some(kb) = peak_rss_kb(&ours, &env.out)? {
        table.push(Row::info(
            "verify peak RSS",
            format!("{:.1} MB", kb as f64 / 1024.0),
            "(streams: no budget)",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Single operations, in process and as whole processes
// ---------------------------------------------------------------------------

fn open_registry(path: &Path, state: &Path) -> Result<Registry, String> {
    let store = SqliteStore::open(path, false).map_err(|e| e.to_string())?;
    Registry::open(
        Box::new(store),
        Trash::new(state.join("trash")),
        AuditLog::new(state.join("audit.log")),
    )
    .map_err(|e| e.to_string())
}

/// Package ids and their versions (insertion order), read without pkgdeck.
fn sample_packages(db: &Path, count: usize) -> Result<Vec<(String, Vec<String>)>, String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let total: i64 = conn
        .query_row("SELECT count(DISTINCT id) FROM sys_packages", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    let step = (total as usize / count.max(1)).max(1);
    let mut stmt = conn
        .prepare("SELECT id, group_concat(version, ' ') FROM (SELECT id, version FROM sys_packages ORDER BY id, rowid) GROUP BY id")
        .map_err(|e| e.to_string())?;
    let all: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(all
        .into_iter()
        .step_by(step)
        .take(count)
        .map(|(id, v)| (id, v.split(' ').map(str::to_owned).collect()))
        .collect())
}

/// The publish document of a new version `version` of `id`, made from its latest row.
fn new_version_document(reg: &Registry, id: &str, version: &str) -> Result<String, String> {
    let latest = reg.require(id, None).map_err(|e| e.to_string())?;
    let m = canonical::parse(&latest.manifest).map_err(|e| e.to_string())?;
    let JsValue::Object(mut members) = m else {
        return Err(format!("{id}: manifest is not an object"));
    };
    for (k, v) in members.iter_mut() {
        if k == "version" {
            *v = JsValue::String(version.to_owned());
        }
    }
    Ok(registry::export_document(
        &canonical::stringify(&JsValue::Object(members)),
        &latest.metadata,
    ))
}

struct OpTimes {
    get: Stats,
    get_latest: Stats,
    publish: Stats,
    diff: Stats,
    list: Stats,
    first_page: Stats,
    verify: Stats,
}

/// In-process timings on `db`, which gets new versions (use a scratch copy).
fn ops_in_process(db: &Path, state: &Path, reps: usize) -> Result<OpTimes, String> {
    let reg = open_registry(db, state)?;
    let sample = sample_packages(db, 1000)?;
    let e = |e: registry::RegistryError| e.to_string();
    let pick = |i: usize| &sample[i.wrapping_mul(7919) % sample.len()];
    let get = time_fn(2000, |i| {
        let (id, versions) = pick(i);
        let v = &versions[i % versions.len()];
        reg.get(id, Some(v))
            .map_err(e)?
            .ok_or(format!("{id} {v} not found"))
    })?;
    let get_latest = time_fn(2000, |i| {
        let (id, _) = pick(i);
        reg.get(id, None)
            .map_err(e)?
            .ok_or(format!("{id} not found"))
    })?;
    let docs: Vec<(String, String)> = (0..=reps.max(20))
        .map(|i| {
            let (id, _) = pick(i + 500);
            let version = format!("9.{}.{}", std::process::id() % 1000, i);
            new_version_document(&reg, id, &version).map(|d| (id.clone(), d))
        })
        .collect::<Result<_, _>>()?;
    let publish = time_fn(docs.len() - 1, |i| {
        let (id, doc) = &docs[if i == usize::MAX { docs.len() - 1 } else { i }];
        let out = reg.publish(doc, id, PublishOptions::default()).map_err(e)?;
        if out.unchanged || out.replaced.is_some() {
            return Err(format!("publish of {id} did not insert a new version"));
        }
        Ok(out)
    })?;
    let diff = time_fn(500, |i| {
        let (id, versions) = pick(i);
        reg.diff(id, &versions[0], &versions[versions.len() - 1])
            .map_err(e)
    })?;
    let list = time_fn(reps.min(5), |_| reg.list().map_err(e))?;
    let first_page = time_fn(reps.min(10), |_| reg.list_page(None, Some(60)).map_err(e))?;
    // The console reads the list through list_with (a first page, then the rest): it must
    // give exactly what list() gives, across same-second ties.
    let whole = reg.list().map_err(e)?;
    let mut pages = Vec::new();
    let mut paged = Vec::new();
    reg.list_with(&mut |page| {
        pages.push(page.len());
        paged.extend(page);
    })
    .map_err(e)?;
    if paged != whole {
        return Err(format!("list_with (pages {pages:?}) differs from list()"));
    }
    let verify = time_fn(reps.min(3), |_| {
        let report = reg.verify(&Scope::All, &mut |_| true).map_err(e)?;
        if !report.failed.is_empty() || !report.warnings.is_empty() {
            return Err(format!(
                "verify found {} failures, {} warnings",
                report.failed.len(),
                report.warnings.len()
            ));
        }
        Ok(report.checked)
    })?;
    Ok(OpTimes {
        get,
        get_latest,
        publish,
        diff,
        list,
        first_page,
        verify,
    })
}

fn copy_scratch(from: &Path, to: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
    }
    std::fs::copy(from, to)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    Ok(())
}

fn local_ops(env: &Env, db: &Path, table: &mut Table) -> Result<(), String> {
    let scratch = env.out.join("scratch.db");
    eprintln!("ops: copying the registry to {} …", scratch.display());
    copy_scratch(db, &scratch)?;
    let state = env.home.join("inprocess");
    eprintln!("ops: in-process timings …");
    let t = ops_in_process(&scratch, &state, env.reps.max(30))?;
    table.push(Row::info(
        "get ID VERSION, in process",
        t.get.ms(),
        "reference 0.05–0.07 ms",
    ));
    table.push(Row::info(
        "get ID (latest), in process",
        t.get_latest.ms(),
        "reference 0.05–0.07 ms",
    ));
    table.push(Row::info(
        "publish (new version), in process",
        t.publish.ms(),
        "reference ≈ 1 ms",
    ));
    table.push(Row::info(
        "diff ID FIRST LAST, in process",
        t.diff.ms(),
        "—",
    ));
    table.push(Row::info(
        format!("list ({}), in process", size_label(db)?),
        t.list.ms(),
        "reference list() 443 ms",
    ));
    table.push(Row::info(
        "list_page(first 60 rows), in process",
        t.first_page.ms(),
        "—",
    ));
    table.push(Row::info(
        format!("verify ({}), in process", size_label(db)?),
        t.verify.ms(),
        "—",
    ));

    eprintln!("ops: whole-process timings …");
    let sample = sample_packages(&scratch, 50)?;
    let dbs = scratch.display().to_string();
    let (id, versions) = &sample[sample.len() / 2];
    let get = timed_cmd_stats(
        &env.pkgdeck(&["--db", &dbs, "get", id, &versions[1], "--json"]),
        env.reps,
    )?;
    table.push(Row::info(
        "pkgdeck get ID VERSION --json, whole process",
        get.ms(),
        "—",
    ));
    let diff = timed_cmd_stats(
        &env.pkgdeck(&[
            "--db",
            &dbs,
            "diff",
            id,
            &versions[0],
            &versions[versions.len() - 1],
        ]),
        env.reps,
    )?;
    table.push(Row::info(
        "pkgdeck diff ID FIRST LAST, whole process",
        diff.ms(),
        "—",
    ));
    let reg = open_registry(&scratch, &state)?;
    let docs_dir = env.out.join("docs");
    std::fs::create_dir_all(&docs_dir).map_err(|e| e.to_string())?;
    let mut samples = Vec::new();
    for i in 0..=env.reps {
        let version = format!("8.{}.{}", std::process::id() % 1000, i);
        let doc = new_version_document(&reg, id, &version)?;
        let file = docs_dir.join(format!("publish-{i}.json"));
        std::fs::write(&file, doc).map_err(|e| e.to_string())?;
        let elapsed = env
            .pkgdeck(&[
                "--db",
                &dbs,
                "publish",
                &file.display().to_string(),
                "--json",
            ])
            .timed(&[0])?;
        if i > 0 {
            samples.push(elapsed);
        }
    }
    table.push(Row::info(
        "pkgdeck publish FILE --json, whole process",
        Stats::of(samples).ms(),
        "—",
    ));
    drop(reg);
    let _ = std::fs::remove_file(&scratch);
    Ok(())
}

fn cmd_ops(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let db = o.path("PATH")?;
    let state = std::env::temp_dir().join(format!("pkgdeck-bench-{}", std::process::id()));
    let t = ops_in_process(&db, &state, o.num("reps", 30)?)?;
    println!("get ID VERSION  {}", t.get.ms());
    println!("get ID latest   {}", t.get_latest.ms());
    println!("publish         {}", t.publish.ms());
    println!("diff            {}", t.diff.ms());
    println!("list            {}", t.list.ms());
    println!("list first 60   {}", t.first_page.ms());
    println!("verify          {}", t.verify.ms());
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

fn cmd_sql(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let (Some(db), Some(sql)) = (o.positional.first(), o.positional.get(1)) else {
        return Err("usage: sql PATH SQL [--reps N]".into());
    };
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let e = |e: rusqlite::Error| e.to_string();
    let mut plan = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(e)?;
    for line in plan.query_map([], |r| r.get::<_, String>(3)).map_err(e)? {
        println!("plan: {}", line.map_err(e)?);
    }
    let mut stmt = conn.prepare(sql).map_err(e)?;
    let width = stmt.column_count();
    let mut count = 0usize;
    let stats = time_fn(o.num("reps", 7)?, |_| {
        let mut rows = stmt.query([]).map_err(e)?;
        let mut bytes = 0usize;
        count = 0;
        while let Some(row) = rows.next().map_err(e)? {
            count += 1;
            for i in 0..width {
                if let rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) =
                    row.get_ref(i).map_err(e)?
                {
                    bytes += t.len();
                }
            }
        }
        Ok(bytes)
    })?;
    // What one more run reads from the file, through a connection with an empty page cache.
    let cold =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let mut stmt = cold.prepare(sql).map_err(e)?;
    let before = self_rchar();
    let mut rows = stmt.query([]).map_err(e)?;
    while rows.next().map_err(e)?.is_some() {}
    let read = self_rchar() - before;
    println!(
        "{count} rows: {}; {:.1} MB read from the file",
        stats.ms(),
        read as f64 / 1e6
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Console
// ---------------------------------------------------------------------------

/// Filters typed in the console benchmark: one character (matches nearly every row, the
/// widest refilter), a vendor, a full id, and one that matches nothing.
const CONSOLE_FILTERS: [&str; 4] = ["a", "acme", "com.acme.helpdesk", "zzzz"];

struct ConsoleTimes {
    first_frame: Stats,
    /// The slowest filter's median keystroke, and that filter.
    keystroke: Stats,
    worst_filter: &'static str,
}

/// Opens the console on `db` (read-only) `reps` times per filter through
/// `pkgdeck::tui::bench`, which draws into an off-screen buffer.
fn console_times(db: &Path, state: &Path, reps: usize) -> Result<ConsoleTimes, String> {
    let mut first = Vec::new();
    let mut worst: Option<(Stats, &'static str)> = None;
    for filter in CONSOLE_FILTERS {
        let mut keys = Vec::new();
        for _ in 0..=reps {
            let store = SqliteStore::open(db, true).map_err(|e| e.to_string())?;
            let reg = Registry::open(
                Box::new(store),
                Trash::new(state.join("trash")),
                AuditLog::disabled(),
            )
            .map_err(|e| e.to_string())?;
            let (f, k) = pkgdeck::tui::bench::first_frame_and_filter(reg, filter)?;
            first.push(f.as_secs_f64());
            keys.push(k.as_secs_f64());
        }
        keys.remove(0); // warm-up
        let stats = Stats::of(keys);
        if worst.as_ref().is_none_or(|(w, _)| stats.median > w.median) {
            worst = Some((stats, filter));
        }
    }
    first.remove(0); // warm-up
    let (keystroke, worst_filter) = worst.expect("at least one filter");
    Ok(ConsoleTimes {
        first_frame: Stats::of(first),
        keystroke,
        worst_filter,
    })
}

fn console(db: &Path, state: &Path, reps: usize, table: &mut Table) -> Result<(), String> {
    eprintln!("console: timing the first frame and filter keystrokes …");
    let t = console_times(db, state, reps)?;
    table.push(Row::at_most(
        format!("console first frame ({})", size_label(db)?),
        t.first_frame.ms(),
        "< 150 ms",
        t.first_frame.median,
        0.150,
    ));
    table.push(Row::at_most(
        format!(
            "console filter keystroke ({}; worst of {:?}: {:?})",
            size_label(db)?,
            CONSOLE_FILTERS,
            t.worst_filter
        ),
        t.keystroke.ms(),
        "< 16 ms",
        t.keystroke.median,
        0.016,
    ));
    Ok(())
}

fn cmd_console(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["reps"])?;
    let db = o.path("PATH")?;
    let state = std::env::temp_dir().join(format!("pkgdeck-bench-console-{}", std::process::id()));
    let t = console_times(&db, &state, o.num("reps", 5)?);
    let _ = std::fs::remove_dir_all(&state);
    let t = t?;
    println!("first frame  {}", t.first_frame.ms());
    println!(
        "keystroke    {} (slowest filter {:?})",
        t.keystroke.ms(),
        t.worst_filter
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Remote: tursodb --sync-server behind a request-counting proxy
// ---------------------------------------------------------------------------

/// A loopback HTTP/1.1 proxy that forwards every connection to `upstream` unchanged and counts
/// the requests it sees (keep-alive connections carry several).
struct CountingProxy {
    url: String,
    requests: Arc<AtomicU64>,
}

impl CountingProxy {
    fn start(upstream: SocketAddr) -> Result<CountingProxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = forward(client, upstream, &counter);
                });
            }
        });
        Ok(CountingProxy {
            url: format!("http://127.0.0.1:{port}"),
            requests,
        })
    }
    fn count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn forward(client: TcpStream, upstream: SocketAddr, counter: &AtomicU64) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut back_from, mut back_to) = (server.try_clone()?, client.try_clone()?);
    let answers = std::thread::spawn(move || {
        let _ = std::io::copy(&mut back_from, &mut back_to);
        let _ = back_to.shutdown(std::net::Shutdown::Write);
    });
    let mut from = BufReader::new(client);
    let mut to = server;
    loop {
        // One request: its head, then a body of Content-Length bytes or chunks.
        let mut head = Vec::new();
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let start = head.len();
            if from.read_until(b'\n', &mut head)? == 0 {
                let _ = to.shutdown(std::net::Shutdown::Write);
                let _ = answers.join();
                return Ok(());
            }
            let line = String::from_utf8_lossy(&head[start..]).to_ascii_lowercase();
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line.starts_with("transfer-encoding:") && line.contains("chunked") {
                chunked = true;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
        }
        counter.fetch_add(1, Ordering::SeqCst);
        to.write_all(&head)?;
        if chunked {
            loop {
                let mut size_line = Vec::new();
                from.read_until(b'\n', &mut size_line)?;
                to.write_all(&size_line)?;
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&size_line)
                        .trim()
                        .split(';')
                        .next()
                        .unwrap_or("0"),
                    16,
                )
                .unwrap_or(0);
                let mut chunk = vec![0u8; size + 2];
                from.read_exact(&mut chunk)?;
                to.write_all(&chunk)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            let mut body = vec![0u8; length];
            from.read_exact(&mut body)?;
            to.write_all(&body)?;
        }
    }
}

/// `tursodb --sync-server` serving one file on a free loopback port; killed on drop.
struct Tursodb {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Tursodb {
    fn start(binary: &Path, db: &Path, log: &Path) -> Result<Tursodb, String> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let addr: SocketAddr = format!("127.0.0.1:{port}")
                .parse()
                .expect("loopback address");
            let stderr = std::fs::File::create(log).map_err(|e| e.to_string())?;
            let child = Command::new(binary)
                .arg("--sync-server")
                .arg(addr.to_string())
                .arg(db)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(stderr))
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let mut server = Tursodb { child, addr };
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_millis(500))
                .build();
            let url = format!("http://{addr}/v2/pipeline");
            let probe =
                r#"{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}"#;
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = server.child.try_wait() {
                    last = format!(
                        "tursodb exited ({status}): {}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    );
                    break;
                }
                if let Ok(resp) = agent.post(&url).send_string(probe) {
                    if resp.into_string().is_ok_and(|b| b.contains("\"results\"")) {
                        return Ok(server);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if last.is_empty() {
                last = format!("no answer on {url}");
            }
            if !last.contains("in use") {
                break;
            }
        }
        Err(format!("tursodb --sync-server did not come up: {last}"))
    }
}

impl Drop for Tursodb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_tursodb(repo: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PKGDECK_TURSODB").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let scope = repo.join(".tools/tursodb/node_modules/@tursodatabase");
    std::fs::read_dir(scope)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cli-"))
        .map(|e| e.path().join("tursodb"))
        .find(|p| p.is_file())
}

/// Requests `f` makes through `proxy`, and its result.
fn counted<T>(
    proxy: &CountingProxy,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<(u64, T), String> {
    let before = proxy.count();
    let out = f()?;
    Ok((proxy.count() - before, out))
}

fn remote(
    tursodb: &Path,
    db: &Path,
    work: &Path,
    pkgdeck: Option<&Env>,
    reps: usize,
    table: &mut Table,
) -> Result<(), String> {
    let copy = work.join("remote.db");
    copy_scratch(db, &copy)?;
    let server = Tursodb::start(tursodb, &copy, &work.join("tursodb.log"))?;
    let proxy = CountingProxy::start(server.addr)?;
    let (packages, rows) = registry_counts(db)?;
    let label = format!("{}k rows", rows / 1000);
    let store =
        HranaStore::open(&proxy.url, None, false, proxy.url.clone()).map_err(|e| e.to_string())?;
    let state = work.join("remote-state");
    let (open_requests, reg) = counted(&proxy, || {
        Registry::open(
            Box::new(store),
            Trash::new(state.join("trash")),
            AuditLog::new(state.join("audit.log")),
        )
        .map_err(|e| e.to_string())
    })?;
    table.note(format!(
        "remote: tursodb --sync-server on loopback serving a copy of {} ({packages} packages, {rows} rows); opening the registry took {open_requests} request(s)",
        db.display()
    ));
    let e = |e: registry::RegistryError| e.to_string();
    let (proxy_start, store_start) = (proxy.count(), reg.round_trips());

    // list: the first page, then all of it.
    let started = Instant::now();
    let mut first_page: Option<(u64, f64)> = None;
    let before = proxy.count();
    let mut all = Vec::new();
    reg.list_with(&mut |page| {
        if first_page.is_none() {
            first_page = Some((proxy.count() - before, started.elapsed().as_secs_f64()));
        }
        all.extend(page);
    })
    .map_err(e)?;
    let list_total = (proxy.count() - before, started.elapsed().as_secs_f64());
    if all.len() as u64 != packages {
        return Err(format!(
            "remote list returned {} packages, expected {packages}",
            all.len()
        ));
    }
    let (first_requests, first_time) = first_page.unwrap_or((0, 0.0));
    table.push(Row::at_most(
        format!("remote list: round trips to first page ({label})"),
        format!("{first_requests} ({})", fmt_ms(first_time)),
        "1 round trip",
        first_requests as f64,
        1.0,
    ));
    table.push(Row::info(
        format!("remote list: all {packages} packages"),
        format!("{} round trips, {}", list_total.0, fmt_ms(list_total.1)),
        "—",
    ));

    let sample = sample_packages(db, 200)?;
    let mut get_requests = Vec::new();
    let get = time_fn(reps.max(20), |i| {
        let (id, versions) = &sample[if i == usize::MAX { 0 } else { i % sample.len() }];
        let (n, r) = counted(&proxy, || reg.get(id, Some(&versions[0])).map_err(e))?;
        get_requests.push(n);
        r.ok_or(format!("remote get {id}: not found"))
    })?;
    let worst = get_requests.iter().copied().max().unwrap_or(0);
    table.push(Row::at_most(
        "remote get: round trips",
        worst.to_string(),
        "1 round trip",
        worst as f64,
        1.0,
    ));
    table.push(Row::info(
        "remote get ID VERSION, in process",
        get.ms(),
        "—",
    ));

    let mut publish_requests = Vec::new();
    let mut published = Vec::new();
    let publish = time_fn(reps.max(10), |i| {
        let (id, _) = &sample[if i == usize::MAX {
            1
        } else {
            (i + 7) % sample.len()
        }];
        let version = format!("7.{}.{}", std::process::id() % 1000, published.len());
        let doc = new_version_document(&reg, id, &version)?;
        let (n, out) = counted(&proxy, || {
            reg.publish(&doc, id, PublishOptions::default()).map_err(e)
        })?;
        publish_requests.push(n);
        published.push((id.clone(), version));
        Ok(out)
    })?;
    let worst = publish_requests.iter().copied().max().unwrap_or(0);
    table.push(Row::at_most(
        "remote publish: round trips",
        worst.to_string(),
        "1 round trip",
        worst as f64,
        1.0,
    ));
    table.push(Row::info(
        "remote publish (new version), in process",
        publish.ms(),
        "—",
    ));

    // A delete as the console runs it: its confirm dialog has read the rows (delete_plan),
    // the confirmed delete saves exactly those to the trash and deletes them.
    let mut plan_requests = Vec::new();
    let mut delete_requests = Vec::new();
    let mut delete_samples = Vec::new();
    for (id, version) in &published {
        let (p, rows) = counted(&proxy, || reg.delete_plan(id, Some(version)).map_err(e))?;
        plan_requests.push(p);
        let started = Instant::now();
        let (n, _) = counted(&proxy, || {
            reg.delete_rows(rows, registry::Allow::NOTHING).map_err(e)
        })?;
        delete_samples.push(started.elapsed().as_secs_f64());
        delete_requests.push(n);
    }
    let worst = delete_requests.iter().copied().max().unwrap_or(0);
    let worst_plan = plan_requests.iter().copied().max().unwrap_or(0);
    table.push(Row::at_most(
        "remote delete (one version, confirmed rows): round trips",
        worst.to_string(),
        "1 round trip",
        worst as f64,
        1.0,
    ));
    table.push(Row::info(
        "remote delete: reading the rows to confirm (and trash first)",
        format!("{worst_plan} round trip(s)"),
        "—",
    ));
    table.push(Row::info(
        "remote delete (one version), in process",
        Stats::of(delete_samples).ms(),
        "—",
    ));

    let started = Instant::now();
    let (n, report) = counted(&proxy, || reg.verify(&Scope::All, &mut |_| true).map_err(e))?;
    if !report.failed.is_empty() {
        return Err(format!(
            "remote verify found {} failures",
            report.failed.len()
        ));
    }
    table.push(Row::info(
        format!("remote verify ({label}), in process"),
        format!(
            "{n} round trips, {}",
            fmt_ms(started.elapsed().as_secs_f64())
        ),
        "—",
    ));

    let (by_proxy, by_store) = (proxy.count() - proxy_start, reg.round_trips() - store_start);
    table.note(format!(
        "remote: the proxy counted {by_proxy} HTTP requests from the in-process registry; the store's own round_trips() counter says {by_store}"
    ));
    if by_proxy != by_store {
        table.push(Row::todo(
            "remote: request counters agree",
            format!("proxy {by_proxy} vs store {by_store}"),
            "equal",
        ));
    }

    if let Some(env) = pkgdeck {
        let url = proxy.url.clone();
        let (id, versions) = &sample[3];
        for (what, args) in [
            ("list --json", vec!["--db", &url, "list", "--json"]),
            (
                "get ID VERSION --json",
                vec!["--db", &url, "get", id, &versions[0], "--json"],
            ),
            ("verify", vec!["--db", &url, "verify"]),
        ] {
            let cmd = env.pkgdeck(&args);
            let mut samples = Vec::new();
            let mut requests = 0;
            for i in 0..=reps.min(5) {
                let before = proxy.count();
                let t = cmd.timed(&[0])?;
                requests = proxy.count() - before;
                if i > 0 {
                    samples.push(t);
                }
            }
            table.push(Row::info(
                format!("remote pkgdeck {what}, whole process"),
                format!("{requests} requests, {}", Stats::of(samples).ms()),
                "—",
            ));
        }
    }
    drop(reg);
    drop(server);
    let _ = std::fs::remove_file(&copy);
    Ok(())
}

fn cmd_remote(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["tursodb", "reps"])?;
    let db = o.path("PATH")?;
    let tursodb = o
        .named
        .get("tursodb")
        .map(PathBuf::from)
        .ok_or("missing --tursodb BIN")?;
    let work = std::env::temp_dir().join(format!("pkgdeck-bench-remote-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let mut table = Table {
        rows: vec![],
        notes: vec![],
    };
    let result = remote(&tursodb, &db, &work, None, o.num("reps", 20)?, &mut table);
    let _ = std::fs::remove_dir_all(&work);
    result?;
    print!("{}", table.plain());
    Ok(())
}

// ---------------------------------------------------------------------------
// The whole benchmark
// ---------------------------------------------------------------------------

fn cmd_run(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["out", "reps"])?;
    let quick = o.flag("quick");
    let reps = o.num("reps", if quick { 3 } else { 7 })?;
    let repo = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = o
        .named
        .get("out")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let pkgdeck = exe.with_file_name("pkgdeck");
    if !pkgdeck.is_file() {
        return Err(format!(
            "{} is missing: build it first (cargo build --release --bins)",
            pkgdeck.display()
        ));
    }
    if which("sqlite3").is_none() {
        return Err("the sqlite3 shell is missing (apt-get install sqlite3)".into());
    }
    let home = out.join("home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let env = Env {
        pkgdeck,
        out: out.clone(),
        home,
        reps,
    };
    let mut table = Table {
        rows: vec![],
        notes: vec![],
    };

    let (packages, db_name) = if quick {
        (2_000, "registry-2k.db")
    } else {
        (20_000, "registry-20k.db")
    };
    let db = out.join(db_name);
    let started = Instant::now();
    if generate(&db, packages, 5, false)? {
        table.note(format!(
            "generated {} in {:.1} s",
            db.display(),
            started.elapsed().as_secs_f64()
        ));
    } else {
        table.note(format!("reused {}", db.display()));
    }
    let bytes: i64 = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT sum(length(CAST(manifest AS BLOB)) + length(CAST(metadata AS BLOB))) FROM sys_packages", [], |r| r.get(0)))
        .map_err(|e| e.to_string())?;
    let file_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    table.note(format!(
        "registry: {packages} packages × 5 versions, {:.0} MB of JSON, file {:.0} MB",
        bytes as f64 / 1e6,
        file_size as f64 / 1e6
    ));

    local_cli(&env, &db, &mut table)?;
    local_ops(&env, &db, &mut table)?;
    console(&db, &env.home.join("console"), reps, &mut table)?;

    if o.flag("no-remote") {
        table.push(Row::todo(
            "remote",
            "remote: not measured (--no-remote)",
            "1 round trip per op",
        ));
    } else {
        match find_tursodb(&repo) {
            None => table.push(Row::todo(
                "remote",
                "remote: not measured (tursodb missing: run scripts/install-tursodb)",
                "1 round trip per op",
            )),
            Some(tursodb) => {
                let small = out.join("registry-2k.db");
                generate(&small, 2_000, 5, false)?;
                let work = out.join("remote");
                std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
                if let Err(err) = remote(&tursodb, &small, &work, Some(&env), reps, &mut table) {
                    table.push(Row::todo(
                        "remote",
                        format!("remote: not measured ({err})"),
                        "1 round trip per op",
                    ));
                }
            }
        }
    }

    let machine = machine_description();
    let mut md = String::from("# pkgdeck benchmark (spec section 7)\n\n");
    for m in &machine {
        md.push_str(&format!("- {m}\n"));
    }
    md.push_str(&format!("- repetitions: {reps} (median shown)\n\n"));
    md.push_str(&table.markdown());
    md.push_str("\nNotes:\n\n");
    for n in &table.notes {
        md.push_str(&format!("- {n}\n"));
    }
    md.push_str(&format!(
        "\nsqlite3 list query:\n\n```sql\n{SQLITE3_LIST}\n```\n"
    ));
    let latest = out.join("latest.md");
    std::fs::write(&latest, &md).map_err(|e| format!("cannot write {}: {e}", latest.display()))?;

    println!();
    for m in &machine {
        println!("{m}");
    }
    println!();
    print!("{}", table.plain());
    let failed = table
        .rows
        .iter()
        .filter(|r| r.status == Status::Fail)
        .count();
    let todo = table
        .rows
        .iter()
        .filter(|r| r.status == Status::NotMeasured)
        .count();
    println!();
    println!(
        "{} budgets passed, {failed} failed, {todo} not measured; written to {}",
        table
            .rows
            .iter()
            .filter(|r| r.status == Status::Pass)
            .count(),
        latest.display()
    );
    Ok(())
}
