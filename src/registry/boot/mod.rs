//! Boot replay: what the ObjectStack server loads from `sys_packages` when it starts (spec 8.3).
//!
//! A pure function of the rows the server's `list()` query returns, in the engine's order, plus
//! the packages the server defines in code and its protocol version. It reproduces
//! `PackageServicePlugin.start` of `@objectstack/service-package` 17.4.0 (dist/index.js), which
//! calls `checkProtocolCompat` of `@objectstack/metadata-core` (dist/index.js,
//! "src/protocol-handshake.ts") and `SchemaRegistry.installPackage` of `@objectstack/objectql`
//! (dist/index.js), statement by statement, JavaScript semantics included:
//!
//! * R1 `list()` maps every row through `JSON.parse(manifest)` then `JSON.parse(metadata)`; the
//!   first failure makes it catch and answer `[]`: nothing loads.
//! * R6 `rec?.manifest?.id` missing or falsy (`""`, `0`, `false`, `null`, a manifest that is not
//!   an object): skipped.
//! * R8 `registry.getPackage(id)` already answers (an earlier row, a code package): skipped.
//!   Keys compare as a JavaScript `Map` does: `5` and `"5"` differ, every object is new. R9 is
//!   the same skip when the earlier row is a same-second tie of the same row id.
//! * `checkProtocolCompat(manifest)`: the range is `engines.protocol`, else `engines.platform`,
//!   else `engine.objectstack`, each `?.trim()`ed, stopping at the first non-empty one. R2: a
//!   value looked at that is not a string, null or absent has no callable `trim`: the TypeError
//!   escapes the loop and aborts the boot. R5: no range, or one `rangeAdmitsMajor` cannot read:
//!   loads with a warning. R4: a range that excludes the runtime major: refused, the loop goes on.
//! * R3 `installPackage`: a truthy `namespace` other than `base`, `system`, `sys` that a loaded
//!   package already owns throws `NamespaceConflictError`: the boot aborts.
//! * R7 the package is installed under `manifest.id`, whatever the row id.
//! * R11 (not in spec 8.3): the loop writes `manifest.id`, `manifest.name` and
//!   `manifest.namespace` into log lines with template literals. An object with its own
//!   `toString` key (or an array holding one) cannot be converted to text: the TypeError aborts
//!   the boot. On the "Installed package" line that happens after the package was installed,
//!   so that package stays loaded.
//!
//! `JSON.parse` is `canonical::parse_stored` (the service stores `JSON.stringify` output, lone
//! surrogate escapes included), widened in `json` where `JSON.parse` accepts more: a number
//! that overflows a double (JavaScript reads `Infinity`) and nesting deeper than
//! `canonical::MAX_DEPTH` (V8 has no limit). Known limit: the tree holds a lone surrogate as
//! U+FFFD, so two strings that differ only in lone surrogates compare equal here.
//!
//! This file holds the report's types, [`replay`] and the loop; `protocol` is
//! `checkProtocolCompat`, `js` the JavaScript value semantics the loop relies on, `json` the
//! widened `JSON.parse`.

mod js;
mod json;
mod protocol;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

use super::canonical::JsValue;
pub use js::JsThrow;
use js::{describe, from_json, js_text, record_lookup, to_json, to_string_throws, truthy};
use json::{stored_json_check, stored_json_read, stored_json_valid};
pub use protocol::{check_protocol_compat, range_admits_major, Compat, RangeSource};
use protocol::{declared_range, leading_major};

/// The protocol version of the 17.x server line (`PROTOCOL_VERSION` of
/// `@objectstack/spec/kernel` 17.4.0): what `checkProtocolCompat` compares ranges with.
pub const RUNTIME_PROTOCOL: &str = "17.0.0";

/// One row of the server's `list()` answer, as the engine returned it.
#[derive(Debug, Clone, Copy)]
pub struct ListRow<'a> {
    /// The `id` column.
    pub row_id: &'a str,
    /// The `version` column.
    pub row_version: &'a str,
    /// The `manifest` column; `None` when it is not text (a BLOB, which the service's client
    /// hands to `JSON.parse` as `[object ArrayBuffer]`, so it never parses).
    pub manifest: Option<&'a str>,
    /// The `metadata` column, like `manifest`.
    pub metadata: Option<&'a str>,
}

/// A package the server defines in code: installed before the registry rows are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePackage {
    pub id: String,
    pub namespace: Option<String>,
}

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Installed.
    Loads,
    /// Installed, with a protocol warning (no range, or one the server cannot read).
    Warns,
    /// Refused by the protocol check; the boot goes on.
    Refused,
    /// Not installed: no id, already installed, or never looked at (list failed, boot aborted).
    Skipped,
    /// The boot stopped on this row: no later row loads.
    Aborts,
}

/// Why: the rule of spec 8.3 (plus R11, which the spec does not list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Rule {
    /// `list()` failed to parse a row and answered `[]`.
    R1,
    /// An `engines.protocol` / `engines.platform` / `engine.objectstack` value that is not a
    /// string: TypeError, boot aborted.
    R2,
    /// Namespace already owned by a loaded package: boot aborted.
    R3,
    /// The range excludes the runtime's major: refused.
    R4,
    /// No range, or a range the server cannot read: loads with a warning.
    R5,
    /// `manifest.id` missing or falsy: skipped.
    R6,
    /// Loads under `manifest.id`, which is not the row's id.
    R7,
    /// `manifest.id` already installed by an earlier row or by code: skipped.
    R8,
    /// Already installed by a same-second tie of the same row id: skipped.
    R9,
    /// Loads a version lower than the highest one of its package: a downgrade. Not decided by
    /// the replay (it needs every version of the package): `doctor` marks it.
    R10,
    /// An id, name or namespace that cannot be converted to text: TypeError, boot aborted.
    R11,
    /// The range admits the runtime's major: loads.
    #[serde(rename = "protocol")]
    Protocol,
}

impl Outcome {
    /// The outcome as `doctor --json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Loads => "loads",
            Outcome::Warns => "warns",
            Outcome::Refused => "refused",
            Outcome::Skipped => "skipped",
            Outcome::Aborts => "aborts",
        }
    }
}

impl Rule {
    /// The rule as `doctor --json` writes it: `R4`, or `protocol` for a range that admits
    /// the runtime.
    pub fn name(self) -> &'static str {
        match self {
            Rule::R1 => "R1",
            Rule::R2 => "R2",
            Rule::R3 => "R3",
            Rule::R4 => "R4",
            Rule::R5 => "R5",
            Rule::R6 => "R6",
            Rule::R7 => "R7",
            Rule::R8 => "R8",
            Rule::R9 => "R9",
            Rule::R10 => "R10",
            Rule::R11 => "R11",
            Rule::Protocol => "protocol",
        }
    }
}

/// A package the boot installs, from the row it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootLoad {
    /// `manifest.id` as the registry holds it (a string for every sane row).
    pub id: Value,
    /// `manifest.version` as the registry's record answers it (null when absent).
    pub version: Value,
    pub row_id: String,
    pub row_version: String,
}

/// One row of the `list()` answer and what the boot did with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootStep {
    pub row_id: String,
    pub row_version: String,
    /// `manifest.id` (null when absent or when the row is not JSON).
    pub id: Value,
    pub outcome: Outcome,
    pub rule: Rule,
    pub message: String,
}

/// Where the boot loop threw: no later row loads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootAbort {
    pub row_id: String,
    pub row_version: String,
    pub rule: Rule,
    pub message: String,
}

/// The row whose JSON made `list()` answer `[]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListFailure {
    pub row_id: String,
    pub row_version: String,
    pub message: String,
}

/// The boot's part of `doctor --json`, keys in the order of spec 8.3.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BootReport {
    pub runtime_protocol: String,
    /// Installed packages, in install order (code packages left out).
    pub loads: Vec<BootLoad>,
    /// One per `list()` row, in its order.
    pub steps: Vec<BootStep>,
    pub aborted: Option<BootAbort>,
    pub list_failed: Option<ListFailure>,
}

/// The members of a manifest the boot reads: [`ParsedRow::keep_boot_members`].
const BOOT_MEMBERS: [&str; 7] = [
    "id",
    "name",
    "namespace",
    "version",
    "engines",
    "engine",
    "__proto__",
];

/// One `list()` row after `JSON.parse`: what the boot reads of it. Parsing is the expensive
/// part of a replay, so a caller that replays twice over mostly the same rows (a write's boot
/// before and after) parses each row once.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow {
    pub row_id: String,
    pub row_version: String,
    /// The parsed manifest, or why `JSON.parse` throws on it.
    manifest: Result<JsValue, JsThrow>,
    /// Whether `JSON.parse` accepts the metadata (its tree is never needed), or why not.
    metadata: Result<(), JsThrow>,
    /// Whether `canonical::parse_stored` reads both texts (as verify and the schema check
    /// read a stored row), so that `manifest` is its tree.
    strict: bool,
}

impl ParsedRow {
    /// `JSON.parse` of the row's manifest and metadata, as `list()` and `get()` do.
    pub fn parse(row: &ListRow<'_>) -> ParsedRow {
        let (manifest, manifest_strict) = stored_json_read(row.manifest);
        let (metadata, metadata_strict) = stored_json_check(row.metadata);
        ParsedRow {
            row_id: row.row_id.to_string(),
            row_version: row.row_version.to_string(),
            manifest,
            metadata,
            strict: manifest_strict && metadata_strict,
        }
    }

    /// The manifest's tree as `canonical::parse_stored` reads it, when it reads both texts of
    /// the row; `None` when either is not JSON to it.
    pub fn stored_manifest(&self) -> Option<&JsValue> {
        self.manifest.as_ref().ok().filter(|_| self.strict)
    }

    /// Drops the members of the manifest's tree the boot never reads (it reads `id`, `name`,
    /// `namespace`, `version`, `engines`, `engine` and the `__proto__` a record inherits
    /// from), keeping the order of the rest: what a caller that keeps many rows for a later
    /// replay holds, once it has used the whole tree.
    pub fn keep_boot_members(&mut self) {
        if let Ok(JsValue::Object(members)) = &mut self.manifest {
            members.retain(|(key, _)| BOOT_MEMBERS.contains(&key.as_str()));
        }
    }

    /// [`ParsedRow::parse`] then [`ParsedRow::keep_boot_members`] of a row whose two texts
    /// `canonical::is_written_form` vouches for, from its manifest already read as
    /// `schema::written_json` reads it (`schema::to_json` of its tree): only the members the
    /// boot reads are converted.
    pub fn written(row_id: &str, row_version: &str, manifest: &Value) -> ParsedRow {
        let tree = match manifest {
            Value::Object(members) => JsValue::Object(
                members
                    .iter()
                    .filter(|(key, _)| BOOT_MEMBERS.contains(&key.as_str()))
                    .map(|(key, member)| (key.clone(), from_json(member)))
                    .collect(),
            ),
            other => from_json(other),
        };
        ParsedRow {
            row_id: row_id.to_string(),
            row_version: row_version.to_string(),
            manifest: Ok(tree),
            metadata: Ok(()),
            strict: true,
        }
    }

    /// Whether both texts parse: the service's `get(id)` answers this row only then (it
    /// catches the error and answers "not found" otherwise).
    pub fn parses(&self) -> bool {
        self.manifest.is_ok() && self.metadata.is_ok()
    }

    /// Why `list()` fails on this row (manifest first, as it parses it first).
    fn failure(&self) -> Option<String> {
        match (&self.manifest, &self.metadata) {
            (Err(e), _) => Some(format!("its manifest is not JSON: {e}")),
            (Ok(_), Err(e)) => Some(format!("its metadata is not JSON: {e}")),
            _ => None,
        }
    }

    fn as_list_row(&self) -> ListRow<'_> {
        ListRow {
            row_id: &self.row_id,
            row_version: &self.row_version,
            manifest: None,
            metadata: None,
        }
    }
}

/// Replays the server's boot over the rows its `list()` query returned, in that order.
pub fn replay(rows: &[ListRow<'_>], code: &[CodePackage], runtime_protocol: &str) -> BootReport {
    let parsed: Vec<ParsedRow> = rows.iter().map(ParsedRow::parse).collect();
    replay_parsed(&parsed, code, runtime_protocol)
}

/// [`replay`] over rows already parsed.
pub fn replay_parsed(
    rows: &[ParsedRow],
    code: &[CodePackage],
    runtime_protocol: &str,
) -> BootReport {
    let mut replay = Replay::new(code, runtime_protocol);
    for row in rows {
        replay.push(row);
    }
    replay.finish(rows)
}

/// The boot loop fed the `list()` rows one at a time, in their order, so that it can run
/// while later rows are still being parsed; [`Replay::finish`] gives what [`replay_parsed`]
/// gives over the same rows.
pub struct Replay<'p> {
    report: BootReport,
    boot: Boot,
    runtime_major: f64,
    runtime_protocol: &'p str,
    /// A row does not parse: `list()` answers `[]` and the loop never runs (R1).
    failed: bool,
}

impl<'p> Replay<'p> {
    pub fn new(code: &[CodePackage], runtime_protocol: &'p str) -> Self {
        Replay {
            report: BootReport {
                runtime_protocol: runtime_protocol.to_string(),
                loads: Vec::new(),
                steps: Vec::new(),
                aborted: None,
                list_failed: None,
            },
            boot: Boot::new(code),
            runtime_major: leading_major(runtime_protocol).unwrap_or(0.0),
            runtime_protocol,
            failed: false,
        }
    }

    /// The next row of the `list()` answer.
    pub fn push(&mut self, parsed: &ParsedRow) {
        let (Ok(manifest), Ok(())) = (&parsed.manifest, &parsed.metadata) else {
            self.failed = true;
            return;
        };
        if self.failed {
            return;
        }
        let row = &parsed.as_list_row();
        let report = &mut self.report;
        if let Some(abort) = &report.aborted {
            let message = format!(
                "not reached: the boot aborted at row {} {}",
                abort.row_id, abort.row_version
            );
            let rule = abort.rule;
            report.steps.push(step(
                row,
                manifest.get("id"),
                Outcome::Skipped,
                rule,
                message,
            ));
            return;
        }
        let (outcome, rule, message) = self.boot.row(
            row,
            manifest,
            self.runtime_major,
            self.runtime_protocol,
            &mut report.loads,
        );
        if outcome == Outcome::Aborts {
            report.aborted = Some(BootAbort {
                row_id: row.row_id.to_string(),
                row_version: row.row_version.to_string(),
                rule,
                message: message.clone(),
            });
        }
        report
            .steps
            .push(step(row, manifest.get("id"), outcome, rule, message));
    }

    /// The report over `rows`, every one of which was pushed, in order.
    pub fn finish(self, rows: &[ParsedRow]) -> BootReport {
        // R1: list() parses every row (manifest, then metadata) before the loop sees any.
        let failure = rows
            .iter()
            .enumerate()
            .find_map(|(i, row)| row.failure().map(|why| (i, why)));
        match failure {
            Some((at, why)) if self.failed => list_failed(rows, at, &why, self.report),
            _ => self.report,
        }
    }
}

/// The report when row `at` of `rows` does not parse (`why`): `list()` answers `[]`.
fn list_failed(rows: &[ParsedRow], at: usize, why: &str, mut report: BootReport) -> BootReport {
    report.loads.clear();
    report.steps.clear();
    report.aborted = None;
    report.steps.reserve(rows.len());
    let culprit = &rows[at];
    let which = format!("row {} {}", culprit.row_id, culprit.row_version);
    for (i, row) in rows.iter().enumerate() {
        let id = row
            .manifest
            .as_ref()
            .ok()
            .filter(|_| i < at)
            .and_then(|m| m.get("id"));
        let message = if i == at {
            format!("no package loads: {which} does not parse ({why}), so list() answers []")
        } else {
            format!("not loaded: list() answers [] because {which} does not parse")
        };
        report.steps.push(step(
            &row.as_list_row(),
            id,
            Outcome::Skipped,
            Rule::R1,
            message,
        ));
    }
    report.list_failed = Some(ListFailure {
        row_id: culprit.row_id.clone(),
        row_version: culprit.row_version.clone(),
        message: format!(
            "{which} does not parse, so list() answers [] and no package loads: {why}"
        ),
    });
    report
}

/// What the service's `get(id)` answers when its query returned `row`: the row's version, or
/// nothing when its manifest or metadata does not parse (`get` catches the error and answers
/// "not found").
pub fn served_version<'a>(row: &ListRow<'a>) -> Option<&'a str> {
    let parses = stored_json_valid(row.manifest).is_ok() && stored_json_valid(row.metadata).is_ok();
    parses.then_some(row.row_version)
}

fn step(
    row: &ListRow<'_>,
    id: Option<&JsValue>,
    outcome: Outcome,
    rule: Rule,
    message: String,
) -> BootStep {
    BootStep {
        row_id: row.row_id.to_string(),
        row_version: row.row_version.to_string(),
        id: id.map_or(Value::Null, to_json),
        outcome,
        rule,
        message,
    }
}

// ---------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------

/// A JavaScript `Map`/`Set` key (SameValueZero): objects and arrays are fresh per parse, so
/// each gets a key equal to nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Num(u64),
    Bool(bool),
    Null,
    Fresh(usize),
}

/// Who installed a package.
#[derive(Debug, Clone)]
enum Installer {
    Code,
    Row { row_id: String, row_version: String },
}

struct Boot {
    /// `registry.getPackage` answers for these (a quicker hash than the standard one, still
    /// seeded per process).
    installed: foldhash::HashMap<Key, Installer>,
    /// Namespace → owners (package ids, in registration order, with their text).
    namespaces: foldhash::HashMap<Key, Vec<(Key, String)>>,
    fresh: usize,
}

impl Boot {
    fn new(code: &[CodePackage]) -> Self {
        let mut boot = Boot {
            installed: foldhash::HashMap::default(),
            namespaces: foldhash::HashMap::default(),
            fresh: 0,
        };
        for pkg in code {
            let id = Key::Str(pkg.id.clone());
            boot.installed.insert(id.clone(), Installer::Code);
            if let Some(ns) = pkg.namespace.as_deref().filter(|ns| !ns.is_empty()) {
                boot.register_namespace(Key::Str(ns.to_string()), id, pkg.id.clone());
            }
        }
        boot
    }

    fn key(&mut self, value: &JsValue) -> Key {
        match value {
            JsValue::String(s) => Key::Str(s.clone()),
            // -0 and 0 are one key.
            JsValue::Number(n) => Key::Num(if *n == 0.0 { 0 } else { n.to_bits() }),
            JsValue::Bool(b) => Key::Bool(*b),
            JsValue::Null => Key::Null,
            JsValue::Array(_) | JsValue::Object(_) => {
                self.fresh += 1;
                Key::Fresh(self.fresh)
            }
        }
    }

    fn register_namespace(&mut self, ns: Key, owner: Key, owner_text: String) {
        let owners = self.namespaces.entry(ns).or_default();
        if !owners.iter().any(|(k, _)| *k == owner) {
            owners.push((owner, owner_text));
        }
    }

    /// One iteration of the service's hydration loop.
    fn row(
        &mut self,
        row: &ListRow<'_>,
        manifest: &JsValue,
        runtime_major: f64,
        runtime_protocol: &str,
        loads: &mut Vec<BootLoad>,
    ) -> (Outcome, Rule, String) {
        let which = format!("row {} {}", row.row_id, row.row_version);
        // `rec?.manifest?.id`: only an object manifest has an id.
        let Some(id) = manifest.get("id").filter(|id| truthy(id)) else {
            let why = match manifest.get("id") {
                Some(id) => format!("its manifest.id is {}", describe(id)),
                None if matches!(manifest, JsValue::Object(_)) => {
                    "its manifest has no id".to_string()
                }
                None => format!("its manifest is {}, not an object", describe(manifest)),
            };
            return (
                Outcome::Skipped,
                Rule::R6,
                format!("not loaded: {why}, so the server skips {which}"),
            );
        };
        let id_text = js_text(id);
        let key = self.key(id);
        if let Some(installer) = self.installed.get(&key) {
            let (rule, message) = match installer {
                Installer::Code => (
                    Rule::R8,
                    format!(
                        "not loaded: {id_text} is a package the server defines in code, which \
                         wins over {which}"
                    ),
                ),
                Installer::Row {
                    row_id,
                    row_version,
                    ..
                } if row_id == row.row_id => (
                    Rule::R9,
                    format!(
                        "not loaded: same-second tie with {row_id} {row_version}, which the \
                         engine returned first and the server loaded instead"
                    ),
                ),
                Installer::Row {
                    row_id,
                    row_version,
                    ..
                } => (
                    Rule::R8,
                    format!(
                        "not loaded: {id_text} was already loaded from row {row_id} \
                         {row_version}"
                    ),
                ),
            };
            return (Outcome::Skipped, rule, message);
        }

        // checkProtocolCompat(rec.manifest)
        let declared = match declared_range(manifest) {
            Ok(declared) => declared,
            Err((source, value)) => {
                return (
                    Outcome::Aborts,
                    Rule::R2,
                    format!(
                        "boot aborted: {source} of {which} is {}, not a string, so the server's \
                         protocol check throws a TypeError and no later row loads",
                        describe(value)
                    ),
                );
            }
        };
        let id_throws = to_string_throws(id);
        let text_abort = |what: &str| {
            (
                Outcome::Aborts,
                Rule::R11,
                format!(
                    "boot aborted: the manifest.{what} of {which} is an object with its own \
                     toString key, which the server cannot write into its log, so it throws a \
                     TypeError and no later row loads"
                ),
            )
        };
        let mut warning = None;
        match &declared {
            None => {
                if id_throws {
                    return text_abort("id");
                }
                warning = Some(
                    "it declares no protocol range (engines.protocol), so the server loads it \
                     unchecked"
                        .to_string(),
                );
            }
            Some((range, source)) => match range_admits_major(range, runtime_major) {
                None => {
                    if id_throws {
                        return text_abort("id");
                    }
                    warning = Some(format!(
                        "its {source} range '{range}' is one the server cannot read, so the \
                         server loads it unchecked"
                    ));
                }
                Some(false) => {
                    if id_throws {
                        return text_abort("id");
                    }
                    return (
                        Outcome::Refused,
                        Rule::R4,
                        format!(
                            "refused: {id_text} targets protocol '{range}' ({source}) but the \
                             server runs protocol {runtime_protocol}"
                        ),
                    );
                }
                Some(true) => {}
            },
        }

        // registry.installPackage(rec.manifest)
        let namespace = manifest.get("namespace").filter(|ns| truthy(ns));
        if let Some(ns) = namespace {
            let ns_key = self.key(ns);
            let shareable = matches!(ns.as_str(), Some("base" | "system" | "sys"));
            if !shareable {
                let conflict = self
                    .namespaces
                    .get(&ns_key)
                    .and_then(|owners| owners.iter().find(|(owner, _)| *owner != key));
                if let Some((_, owner)) = conflict {
                    return (
                        Outcome::Aborts,
                        Rule::R3,
                        format!(
                            "boot aborted: namespace {} of {which} ({id_text}) is already owned \
                             by {owner}, so the server throws NamespaceConflictError and no \
                             later row loads",
                            js_text(ns)
                        ),
                    );
                }
            }
            self.register_namespace(ns_key, key.clone(), id_text.clone());
            if to_string_throws(ns) {
                return text_abort("namespace");
            }
            if id_throws {
                return text_abort("id");
            }
        }
        self.installed.insert(
            key,
            Installer::Row {
                row_id: row.row_id.to_string(),
                row_version: row.row_version.to_string(),
            },
        );
        let version = record_lookup(manifest, "version");
        loads.push(BootLoad {
            id: to_json(id),
            version: version.map_or(Value::Null, to_json),
            row_id: row.row_id.to_string(),
            row_version: row.row_version.to_string(),
        });
        // `[Registry] Installed package: ${manifest.id} (${manifest.name})`
        if id_throws {
            return text_abort("id");
        }
        if manifest.get("name").is_some_and(to_string_throws) {
            return text_abort("name");
        }

        let version_text = version.map_or_else(|| "no version".to_string(), js_text);
        let mismatch = match id {
            JsValue::String(s) if s == row.row_id => None,
            _ => Some(format!(
                " under manifest.id {id_text}, not its row id {}",
                row.row_id
            )),
        };
        match (warning, mismatch) {
            (Some(warning), mismatch) => (
                Outcome::Warns,
                Rule::R5,
                format!(
                    "loads {id_text} {version_text}{} with a warning: {warning}",
                    mismatch.unwrap_or_default()
                ),
            ),
            (None, Some(mismatch)) => (
                Outcome::Loads,
                Rule::R7,
                format!("loads {id_text} {version_text}{mismatch}"),
            ),
            (None, None) => {
                let (range, source) = declared.unwrap_or_default();
                (
                    Outcome::Loads,
                    Rule::Protocol,
                    format!(
                        "loads {id_text} {version_text}: its {source} range '{range}' admits \
                         protocol {runtime_protocol}"
                    ),
                )
            }
        }
    }
}
