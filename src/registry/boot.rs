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
//! `JSON.parse` is [`canonical::parse_stored`] (the service stores `JSON.stringify` output,
//! lone surrogate escapes included), widened where `JSON.parse` accepts more: a number that
//! overflows a double (JavaScript reads `Infinity`) and nesting deeper than
//! [`canonical::MAX_DEPTH`] (V8 has no limit). Known limit: the tree holds a lone surrogate as
//! U+FFFD, so two strings that differ only in lone surrogates compare equal here.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::canonical::{self, CanonicalError, JsValue};

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
    /// An id, name or namespace that cannot be converted to text: TypeError, boot aborted.
    R11,
    /// The range admits the runtime's major: loads.
    #[serde(rename = "protocol")]
    Protocol,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootReport {
    pub runtime_protocol: String,
    /// Installed packages, in install order (code packages left out).
    pub loads: Vec<BootLoad>,
    /// One per `list()` row, in its order.
    pub steps: Vec<BootStep>,
    pub aborted: Option<BootAbort>,
    pub list_failed: Option<ListFailure>,
}

/// Replays the server's boot over the rows its `list()` query returned, in that order.
pub fn replay(rows: &[ListRow<'_>], code: &[CodePackage], runtime_protocol: &str) -> BootReport {
    let mut report = BootReport {
        runtime_protocol: runtime_protocol.to_string(),
        loads: Vec::new(),
        steps: Vec::with_capacity(rows.len()),
        aborted: None,
        list_failed: None,
    };

    // R1: list() parses every row (manifest, then metadata) before the loop sees any.
    let mut manifests = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in rows {
        let parsed = stored_json(row.manifest)
            .map_err(|e| format!("its manifest is not JSON: {e}"))
            .and_then(|manifest| {
                stored_json_valid(row.metadata)
                    .map(|()| manifest)
                    .map_err(|e| format!("its metadata is not JSON: {e}"))
            });
        match parsed {
            Ok(manifest) => manifests.push(manifest),
            Err(why) => {
                failure = Some(why);
                break;
            }
        }
    }
    if let Some(why) = failure {
        let culprit = &rows[manifests.len()];
        let which = format!("row {} {}", culprit.row_id, culprit.row_version);
        for (i, row) in rows.iter().enumerate() {
            let id = manifests.get(i).and_then(|m| m.get("id"));
            let message = if i == manifests.len() {
                format!("no package loads: {which} does not parse ({why}), so list() answers []")
            } else {
                format!("not loaded: list() answers [] because {which} does not parse")
            };
            report
                .steps
                .push(step(row, id, Outcome::Skipped, Rule::R1, message));
        }
        report.list_failed = Some(ListFailure {
            row_id: culprit.row_id.to_string(),
            row_version: culprit.row_version.to_string(),
            message: format!(
                "{which} does not parse, so list() answers [] and no package loads: {why}"
            ),
        });
        return report;
    }

    let mut boot = Boot::new(code);
    let runtime_major = leading_major(runtime_protocol).unwrap_or(0.0);
    for (row, manifest) in rows.iter().zip(&manifests) {
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
            continue;
        }
        let (outcome, rule, message) = boot.row(
            row,
            manifest,
            runtime_major,
            runtime_protocol,
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
    /// `registry.getPackage` answers for these.
    installed: HashMap<Key, Installer>,
    /// Namespace → owners (package ids, in registration order, with their text).
    namespaces: HashMap<Key, Vec<(Key, String)>>,
    fresh: usize,
}

impl Boot {
    fn new(code: &[CodePackage]) -> Self {
        let mut boot = Boot {
            installed: HashMap::new(),
            namespaces: HashMap::new(),
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

// ---------------------------------------------------------------------------
// checkProtocolCompat (@objectstack/metadata-core, src/protocol-handshake.ts)
// ---------------------------------------------------------------------------

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
fn declared_range(
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
fn leading_major(token: &str) -> Option<f64> {
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
fn hyphen_split(r: &str) -> Option<(&str, &str)> {
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
fn is_js_space(c: char) -> bool {
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
fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

// ---------------------------------------------------------------------------
// JavaScript values
// ---------------------------------------------------------------------------

/// JavaScript truthiness.
fn truthy(v: &JsValue) -> bool {
    match v {
        JsValue::Null => false,
        JsValue::Bool(b) => *b,
        JsValue::Number(n) => *n != 0.0 && !n.is_nan(),
        JsValue::String(s) => !s.is_empty(),
        JsValue::Array(_) | JsValue::Object(_) => true,
    }
}

/// Whether `${v}` throws: an object with its own `toString` key (never callable in JSON) falls
/// back to `Object.prototype.valueOf`, which answers the object itself, so there is no
/// primitive; an array converts through `join`, which converts every element.
fn to_string_throws(v: &JsValue) -> bool {
    match v {
        JsValue::Object(members) => members.iter().any(|(k, _)| k == "toString"),
        JsValue::Array(items) => items.iter().any(to_string_throws),
        _ => false,
    }
}

/// The value the server's package record answers for `key`. The record is a copy made with
/// `out[key] = value`, so a manifest key `__proto__` holding an object becomes the copy's
/// prototype: a key the manifest lacks is read from there.
fn record_lookup<'a>(manifest: &'a JsValue, key: &str) -> Option<&'a JsValue> {
    let mut at = manifest;
    loop {
        if let Some(v) = at.get(key) {
            return Some(v);
        }
        match at.get("__proto__") {
            Some(proto @ JsValue::Object(_)) => at = proto,
            _ => return None,
        }
    }
}

/// A short description of a value for messages: its JSON text, shortened.
fn describe(v: &JsValue) -> String {
    let kind = match v {
        JsValue::Null => return "null".to_string(),
        JsValue::Bool(b) => return format!("the boolean {b}"),
        JsValue::Number(_) => "the number",
        JsValue::String(_) => "the string",
        JsValue::Array(_) => "the array",
        JsValue::Object(_) => "the object",
    };
    format!("{kind} {}", shorten(&json_text(v)))
}

/// A value as the operator reads it in a message: a string as itself, anything else as JSON.
fn js_text(v: &JsValue) -> String {
    match v {
        JsValue::String(s) => shorten(s),
        other => shorten(&json_text(other)),
    }
}

fn json_text(v: &JsValue) -> String {
    match v {
        JsValue::Number(n) if n.is_infinite() => {
            if *n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
        }
        other => canonical::stringify(other),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// A value as JSON output, as `JSON.stringify` would write it (`Infinity` becomes null).
fn to_json(v: &JsValue) -> Value {
    match v {
        JsValue::Null => Value::Null,
        JsValue::Bool(b) => Value::Bool(*b),
        JsValue::Number(n) => {
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if n.fract() == 0.0 && n.abs() <= EXACT {
                // Integral and exact: written without a fraction, as JavaScript does.
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        JsValue::String(s) => Value::String(s.clone()),
        JsValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        JsValue::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------
// JSON.parse of a stored column
// ---------------------------------------------------------------------------

/// Nesting at which the slow path cuts a document into pieces [`canonical::parse_stored`]
/// takes (it refuses more than [`canonical::MAX_DEPTH`]; V8's `JSON.parse` has no limit).
const SPLIT_DEPTH: usize = 256;

/// `JSON.parse(column)` as the service's client hands it over: the tree, or why it throws.
fn stored_json(column: Option<&str>) -> Result<JsValue, String> {
    let text = column.ok_or_else(|| "it is not text".to_string())?;
    match canonical::parse_stored(text) {
        Ok(v) => Ok(v),
        Err(CanonicalError::NumberOverflow { .. } | CanonicalError::TooDeep { .. }) => {
            js_parse_widened(text)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Whether `JSON.parse(column)` succeeds, without building the tree.
fn stored_json_valid(column: Option<&str>) -> Result<(), String> {
    let text = column.ok_or_else(|| "it is not text".to_string())?;
    match canonical::is_canonical_stored(text) {
        Ok(_) => Ok(()),
        Err(CanonicalError::NumberOverflow { .. } | CanonicalError::TooDeep { .. }) => {
            js_parse_widened(text).map(|_| ())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A piece of the document being cut up by [`js_parse_widened`].
struct Piece {
    /// The piece's text so far, with its own cut-out pieces written as `0`.
    text: String,
    /// Where in the source the next uncopied byte of this piece starts.
    copied: usize,
    /// Bracket depth inside the piece.
    depth: usize,
}

/// The slow path for what `JSON.parse` accepts and [`canonical::parse_stored`] refuses, in one
/// pass over the text:
/// * A number literal that overflows a double is `Infinity` in JavaScript. At the top level it
///   is written as a finite stand-in that occurs nowhere else in the text and turned back
///   after parsing.
/// * A value that opens at depth [`SPLIT_DEPTH`] is cut out, parsed as a document of its own,
///   and replaced by `0`. JSON's grammar is context-free, so the whole parses exactly when
///   every piece does. The boot reads nothing that deep (its values sit at depth three); only
///   the tree of the top piece is kept.
fn js_parse_widened(text: &str) -> Result<JsValue, String> {
    let b = text.as_bytes();
    let mut pieces = vec![Piece {
        text: String::with_capacity(text.len()),
        copied: 0,
        depth: 0,
    }];
    let mut finite = Vec::new();
    let mut overflows = Vec::new(); // (offset in the top piece's text, negative)
    let mut i = 0;
    while i < b.len() {
        let top = pieces.len() == 1;
        let Some(piece) = pieces.last_mut() else {
            break;
        };
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'[' | b'{' if piece.depth + 1 == SPLIT_DEPTH => {
                piece.text.push_str(&text[piece.copied..i]);
                piece.text.push('0');
                pieces.push(Piece {
                    text: String::new(),
                    copied: i,
                    depth: 1,
                });
                i += 1;
            }
            b'[' | b'{' => {
                piece.depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                i += 1;
                piece.depth = piece.depth.saturating_sub(1);
                if piece.depth == 0 && !top {
                    let mut done = pieces.pop().ok_or("no piece")?;
                    done.text.push_str(&text[done.copied..i]);
                    canonical::parse_stored(&done.text).map_err(|e| e.to_string())?;
                    if let Some(parent) = pieces.last_mut() {
                        parent.copied = i;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let literal = &text[start..i];
                if !is_json_number(literal) {
                    continue;
                }
                match literal.parse::<f64>() {
                    Ok(n) if n.is_infinite() => {
                        piece.text.push_str(&text[piece.copied..start]);
                        piece.copied = i;
                        if top {
                            overflows.push((piece.text.len(), n < 0.0));
                        } else {
                            // Only its validity matters down here.
                            piece.text.push('0');
                        }
                    }
                    Ok(n) if top => finite.push(n.abs()),
                    _ => {}
                }
            }
            _ => i += 1,
        }
    }
    if pieces.len() > 1 {
        return Err("unexpected end of JSON input (an array or object is not closed)".to_string());
    }
    let Some(mut top) = pieces.pop() else {
        return Err("empty document".to_string());
    };
    top.text.push_str(&text[top.copied..]);

    if overflows.is_empty() {
        return canonical::parse_stored(&top.text).map_err(|e| e.to_string());
    }
    // The largest finite magnitude that occurs nowhere in the text.
    let mut stand_in = f64::MAX;
    while finite.contains(&stand_in) {
        stand_in = f64::from_bits(stand_in.to_bits() - 1);
    }
    let literal = format!("{stand_in:e}");
    let mut with_stand_ins = String::with_capacity(top.text.len() + overflows.len() * 24);
    let mut from = 0;
    for (at, negative) in &overflows {
        with_stand_ins.push_str(&top.text[from..*at]);
        if *negative {
            with_stand_ins.push('-');
        }
        with_stand_ins.push_str(&literal);
        from = *at;
    }
    with_stand_ins.push_str(&top.text[from..]);
    let mut value = canonical::parse_stored(&with_stand_ins).map_err(|e| e.to_string())?;
    restore_infinity(&mut value, stand_in);
    Ok(value)
}

fn restore_infinity(value: &mut JsValue, stand_in: f64) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            JsValue::Number(n) if n.abs() == stand_in => *n = n.signum() * f64::INFINITY,
            JsValue::Array(items) => stack.extend(items.iter_mut()),
            JsValue::Object(members) => stack.extend(members.iter_mut().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// RFC 8259 `number`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows `(row_id, row_version, manifest)` with `{}` metadata, in list order.
    fn rows<'a>(specs: &'a [(&'a str, &'a str, &'a str)]) -> Vec<ListRow<'a>> {
        specs
            .iter()
            .map(|(id, version, manifest)| ListRow {
                row_id: id,
                row_version: version,
                manifest: Some(manifest),
                metadata: Some("{}"),
            })
            .collect()
    }

    fn boot(specs: &[(&str, &str, &str)]) -> BootReport {
        replay(&rows(specs), &[], RUNTIME_PROTOCOL)
    }

    fn loads(report: &BootReport) -> Vec<(String, String)> {
        report
            .loads
            .iter()
            .map(|l| (l.id.to_string(), l.version.to_string()))
            .collect()
    }

    fn outcomes(report: &BootReport) -> Vec<(Outcome, Rule)> {
        report.steps.iter().map(|s| (s.outcome, s.rule)).collect()
    }

    /// Every range form, with the verdict the real `checkProtocolCompat` of
    /// @objectstack/metadata-core 17.4.0 gave for runtime protocol 17.0.0 (`None`: it cannot
    /// read the range).
    #[test]
    fn range_forms_match_the_real_check() {
        let table: &[(&str, Option<bool>)] = &[
            ("^17", Some(true)),
            ("^17.2.1", Some(true)),
            ("^16", Some(false)),
            ("^18", Some(false)),
            ("^v17", Some(true)),
            ("^ v17", Some(true)),
            ("^v 17", None),
            ("~17", Some(true)),
            ("~17.4", Some(true)),
            ("~16.9", Some(false)),
            ("~>17", None),
            ("17.x", Some(true)),
            ("17.X", Some(true)),
            ("17.*", Some(true)),
            ("16.x", Some(false)),
            ("17.x.9", Some(true)),
            ("17.*.junk", Some(true)),
            ("*", Some(true)),
            ("x", Some(true)),
            ("latest", Some(true)),
            ("X", None),
            ("Latest", None),
            ("17", Some(true)),
            ("17.1", Some(true)),
            ("17.1.2", Some(true)),
            ("17.1.2.3", None),
            ("16", Some(false)),
            ("v17", None),
            ("=17", None),
            ("17.0.0-beta", None),
            ("017", Some(true)),
            (">=17", Some(true)),
            (">=18", Some(false)),
            (">= 17", Some(true)),
            (">=v17", Some(true)),
            (">17", Some(false)),
            (">16", Some(true)),
            (">17.0", Some(true)),
            (">17.0.1", Some(true)),
            ("<18", Some(true)),
            ("<17", Some(false)),
            ("<17.0.1", Some(true)),
            ("<17.1", Some(true)),
            ("<18.0.0", Some(true)),
            ("<=17", Some(true)),
            ("<=16", Some(false)),
            (">=16 <18", Some(true)),
            (">=16, <18", Some(true)),
            (">=16,<18", Some(true)),
            (">=17 <17", Some(false)),
            (">=18 <19", Some(false)),
            (">=16 <18 || >=19", None),
            (">=16 <=17.5 >17.0", Some(true)),
            (">=16 <x", None),
            ("16 - 18", Some(true)),
            ("17 - 17", Some(true)),
            ("18 - 19", Some(false)),
            ("v16 - v18", Some(true)),
            ("16 - 18 - 20", None),
            ("16 -18", None),
            ("16- 18", None),
            (">=16 - 18", None),
            ("^16 || ^17", Some(false)),
            ("^17 || ^16", Some(true)),
            ("<15,<=17.x", None),
            (">=18 <17.x", None),
            ("17.x || 18.x", Some(true)),
            ("16.x || 17.x", Some(false)),
            ("banana", None),
            ("\u{a0}17\u{a0}", Some(true)),
            ("\u{3000}17", Some(true)),
            ("\u{feff}^17", Some(true)),
            ("\u{85}^17", None),
            ("\u{180e}^17", None),
            ("17\u{2028}", Some(true)),
            ("^17\u{200b}", Some(true)),
            ("99999999999999999999", Some(false)),
            ("^99999999999999999999", Some(false)),
            (">=0", Some(true)),
            ("<0", Some(false)),
            ("<=0", Some(false)),
            (">0", Some(true)),
            ("> 17", Some(false)),
            ("< 18", Some(true)),
            (">=", None),
            ("<", None),
            ("<>17", None),
            ("><17", None),
            (">==17", None),
            ("^", None),
            ("~", None),
            ("-", None),
            ("17 -", None),
            ("- 17", None),
            ("17\t-\t18", Some(true)),
            ("16 \u{a0}-\u{a0}18", Some(true)),
            ("17,", None),
            (",17", None),
            (">=16,", None),
            ("x.x", None),
            ("17.", None),
            ("17.0.", None),
            ("17..0", None),
            ("0.17", Some(false)),
            ("^0", Some(false)),
            ("^17-beta", Some(true)),
            ("~v17", Some(true)),
            ("V17", None),
            ("^V17", Some(true)),
            (">V17", Some(false)),
            ("17.x.x", Some(true)),
        ];
        for (range, expected) in table {
            assert_eq!(
                range_admits_major(range, 17.0),
                *expected,
                "range {range:?}"
            );
        }
    }

    #[test]
    fn range_length_is_counted_in_utf16_units_after_trimming() {
        let at_limit = format!("^{}", "1".repeat(127));
        assert_eq!(range_admits_major(&at_limit, 17.0), Some(false));
        let over = format!("^{}", "1".repeat(128));
        assert_eq!(range_admits_major(&over, 17.0), None);
        // 64 characters outside the BMP are 128 UTF-16 units.
        let astral = format!("^17{}", "\u{1F600}".repeat(63));
        assert_eq!(range_admits_major(&astral, 17.0), None);
        let padded = format!("   ^17{}", " ".repeat(200));
        assert_eq!(range_admits_major(&padded, 17.0), Some(true));
    }

    #[test]
    fn runtime_major_comes_from_the_runtime_version() {
        let manifest = canonical::parse(r#"{"id":"p","engines":{"protocol":"^18"}}"#).unwrap();
        assert!(matches!(
            check_protocol_compat(&manifest, "18.2.0"),
            Ok(Compat::Ok { .. })
        ));
        assert!(matches!(
            check_protocol_compat(&manifest, RUNTIME_PROTOCOL),
            Ok(Compat::Incompatible { .. })
        ));
        // No leading major: the runtime counts as protocol 0.
        let zero = canonical::parse(r#"{"id":"p","engines":{"protocol":"^0"}}"#).unwrap();
        assert!(matches!(
            check_protocol_compat(&zero, "banana"),
            Ok(Compat::Ok { .. })
        ));
        let one = canonical::parse(r#"{"id":"p","engines":{"protocol":"^1"}}"#).unwrap();
        assert!(matches!(
            check_protocol_compat(&one, "v1.0"),
            Ok(Compat::Ok { .. })
        ));
    }

    #[test]
    fn the_range_comes_from_the_first_non_empty_string_in_order() {
        let check = |m: &str| check_protocol_compat(&canonical::parse(m).unwrap(), "17.0.0");
        let source = |m: &str| match check(m) {
            Ok(Compat::Ok { source, .. } | Compat::Incompatible { source, .. }) => Some(source),
            _ => None,
        };
        assert_eq!(
            source(r#"{"engines":{"protocol":"^17","platform":"^16"}}"#),
            Some(RangeSource::EnginesProtocol)
        );
        assert_eq!(
            source(r#"{"engines":{"protocol":" ","platform":"^16"}}"#),
            Some(RangeSource::EnginesPlatform)
        );
        assert_eq!(
            source(r#"{"engines":{"protocol":null},"engine":{"objectstack":"^17"}}"#),
            Some(RangeSource::EngineObjectstack)
        );
        // engines that is not an object has no protocol: the legacy key is read.
        assert_eq!(
            source(r#"{"engines":"^16","engine":{"objectstack":"^17"}}"#),
            Some(RangeSource::EngineObjectstack)
        );
        assert_eq!(check(r#"{"engines":{"protocol":""}}"#), Ok(Compat::NoRange));
        assert_eq!(check(r#"{"engines":[1],"engine":7}"#), Ok(Compat::NoRange));
        // A value looked at that is not a string throws; one never looked at does not.
        for bad in ["17", "{}", "[]", "true", "false", "0"] {
            let m = format!(r#"{{"engines":{{"protocol":{bad}}}}}"#);
            assert!(check(&m).is_err(), "{m}");
            let m = format!(r#"{{"engines":{{"protocol":"","platform":{bad}}}}}"#);
            assert!(check(&m).is_err(), "{m}");
            let m = format!(r#"{{"engine":{{"objectstack":{bad}}}}}"#);
            assert!(check(&m).is_err(), "{m}");
            let m = format!(r#"{{"engines":{{"protocol":"^17","platform":{bad}}}}}"#);
            assert!(check(&m).is_ok(), "{m}");
        }
    }

    #[test]
    fn r1_a_row_that_does_not_parse_empties_the_list() {
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a"}"#),
            ("b", "1.0.0", r#"{"id":"b""#),
            ("c", "1.0.0", "not json"),
        ]);
        assert!(report.loads.is_empty());
        let failed = report.list_failed.as_ref().expect("list failed");
        assert_eq!(
            (failed.row_id.as_str(), failed.row_version.as_str()),
            ("b", "1.0.0")
        );
        assert_eq!(outcomes(&report), vec![(Outcome::Skipped, Rule::R1); 3]);
        assert!(report.aborted.is_none());

        // Metadata counts too, and so does a column that is not text.
        let mut r = rows(&[
            ("a", "1.0.0", r#"{"id":"a"}"#),
            ("b", "1.0.0", r#"{"id":"b"}"#),
        ]);
        r[1].metadata = Some("{");
        assert!(replay(&r, &[], RUNTIME_PROTOCOL).list_failed.is_some());
        r[1].metadata = Some("{}");
        r[0].manifest = None;
        let report = replay(&r, &[], RUNTIME_PROTOCOL);
        assert_eq!(report.list_failed.map(|f| f.row_id), Some("a".to_string()));
    }

    #[test]
    fn json_parse_accepts_what_parse_stored_refuses() {
        // Overflow is Infinity in JavaScript: a truthy number id.
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","x":1e400,"y":[-1e999]}"#),
            ("b", "1.0.0", r#"{"id":1e400}"#),
            ("c", "1.0.0", r#"{"id":1.7976931348623157e308}"#),
            ("d", "1.0.0", r#"{"id":1e401}"#),
        ]);
        assert!(report.list_failed.is_none(), "{:?}", report.list_failed);
        assert_eq!(report.loads.len(), 3, "{:?}", loads(&report));
        assert_eq!(report.steps[3].rule, Rule::R8);
        // Nesting far deeper than canonical::MAX_DEPTH.
        let deep = format!(
            r#"{{"id":"a","x":{}1e400{}}}"#,
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(js_parse_widened(&deep).is_ok());
        assert!(stored_json(Some(&deep)).is_ok());
        let deep_meta = format!("{}{}", "{\"a\":".repeat(3000), "}".repeat(3000));
        assert!(
            stored_json_valid(Some(&deep_meta)).is_err(),
            "no value at the bottom"
        );
        let deep_meta = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
        assert!(stored_json_valid(Some(&deep_meta)).is_ok());
        let unclosed = format!("{}1{}", "[".repeat(3000), "]".repeat(2999));
        assert!(stored_json_valid(Some(&unclosed)).is_err());
        let broken_deep = format!("{}1,]{}", "[".repeat(3000), "]".repeat(2999));
        assert!(stored_json_valid(Some(&broken_deep)).is_err());
        let brace_for_bracket = format!("{}1{}}}", "[".repeat(3000), "]".repeat(2999));
        assert!(stored_json_valid(Some(&brace_for_bracket)).is_err());
        // A bad literal next to an overflow is still refused.
        assert!(js_parse_widened("[1e400, 01]").is_err());
        assert!(js_parse_widened("[1.e400]").is_err());
        let v = js_parse_widened("[1e400,-1e400,1.7976931348623157e308]").unwrap();
        assert_eq!(
            v,
            JsValue::Array(vec![
                JsValue::Number(f64::INFINITY),
                JsValue::Number(f64::NEG_INFINITY),
                JsValue::Number(f64::MAX)
            ])
        );
        // Strings are not numbers, and a string's brackets do not nest.
        let v = js_parse_widened(r#"{"s":"[[1e400","n":1e400}"#).unwrap();
        assert_eq!(v.get("s"), Some(&JsValue::String("[[1e400".to_string())));
    }

    #[test]
    fn r6_no_id_or_a_falsy_one_is_skipped() {
        for manifest in [
            r#"{"version":"1.0.0"}"#,
            r#"{"id":""}"#,
            r#"{"id":0}"#,
            r#"{"id":-0}"#,
            r#"{"id":false}"#,
            r#"{"id":null}"#,
            "null",
            "[]",
            r#""a""#,
            "5",
        ] {
            let report = boot(&[("a", "1.0.0", manifest)]);
            assert_eq!(
                outcomes(&report),
                vec![(Outcome::Skipped, Rule::R6)],
                "{manifest}"
            );
            assert!(report.loads.is_empty());
        }
    }

    #[test]
    fn r7_r8_the_first_row_of_an_id_loads_under_manifest_id() {
        let report = boot(&[
            ("a", "2.0.0", r#"{"id":"b","version":"2.0.0"}"#),
            ("b", "1.0.0", r#"{"id":"b","version":"1.0.0"}"#),
            ("c", "1.0.0", r#"{"id":5,"version":"1.0.0"}"#),
            ("d", "1.0.0", r#"{"id":"5","version":"1.0.0"}"#),
            ("e", "1.0.0", r#"{"id":5}"#),
            ("f", "1.0.0", r#"{"id":{},"version":"x"}"#),
            ("g", "1.0.0", r#"{"id":{}}"#),
            ("h", "1.0.0", r#"{"id":true}"#),
            ("i", "1.0.0", r#"{"id":true}"#),
        ]);
        assert_eq!(
            loads(&report),
            [
                (r#""b""#, r#""2.0.0""#),
                ("5", r#""1.0.0""#),
                (r#""5""#, r#""1.0.0""#),
                ("{}", r#""x""#),
                ("{}", "null"),
                ("true", "null"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(report.loads[0].row_id, "a");
        let rules: Vec<Rule> = report.steps.iter().map(|s| s.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::R5,
                Rule::R8,
                Rule::R5,
                Rule::R5,
                Rule::R8,
                Rule::R5,
                Rule::R5,
                Rule::R5,
                Rule::R8
            ]
        );
        let with_range = boot(&[("a", "1.0.0", r#"{"id":"b","engines":{"protocol":"^17"}}"#)]);
        assert_eq!(outcomes(&with_range), [(Outcome::Loads, Rule::R7)]);
    }

    #[test]
    fn r9_a_same_second_tie_loads_the_first_row_the_engine_returns() {
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","version":"1.0.0"}"#),
            ("a", "1.1.1", r#"{"id":"a","version":"1.1.1"}"#),
        ]);
        assert_eq!(loads(&report), [(r#""a""#.into(), r#""1.0.0""#.into())]);
        assert_eq!(report.steps[1].outcome, Outcome::Skipped);
        assert_eq!(report.steps[1].rule, Rule::R9);
    }

    #[test]
    fn code_packages_win_and_own_their_namespaces() {
        let code = [
            CodePackage {
                id: "a".into(),
                namespace: Some("crm".into()),
            },
            CodePackage {
                id: "z".into(),
                namespace: None,
            },
        ];
        let r = rows(&[
            ("a", "1.0.0", r#"{"id":"a"}"#),
            ("z", "1.0.0", r#"{"id":"z","namespace":"hr"}"#),
            ("b", "1.0.0", r#"{"id":"b","namespace":"crm"}"#),
        ]);
        let report = replay(&r, &code, RUNTIME_PROTOCOL);
        assert_eq!(
            outcomes(&report),
            [
                (Outcome::Skipped, Rule::R8),
                (Outcome::Skipped, Rule::R8),
                (Outcome::Aborts, Rule::R3)
            ]
        );
        assert!(report.loads.is_empty());
    }

    #[test]
    fn r2_a_range_value_that_is_not_a_string_aborts_the_boot() {
        for value in ["17", "{}", "[]", "true", "false", "0", "{\"trim\":1}"] {
            let bad = format!(r#"{{"id":"b","engines":{{"protocol":{value}}}}}"#);
            let report = boot(&[
                ("a", "1.0.0", r#"{"id":"a"}"#),
                ("b", "1.0.0", &bad),
                ("c", "1.0.0", r#"{"id":"c"}"#),
            ]);
            assert_eq!(
                outcomes(&report),
                [
                    (Outcome::Warns, Rule::R5),
                    (Outcome::Aborts, Rule::R2),
                    (Outcome::Skipped, Rule::R2)
                ],
                "{bad}"
            );
            assert_eq!(loads(&report).len(), 1);
            let aborted = report.aborted.as_ref().expect("aborted");
            assert_eq!((aborted.row_id.as_str(), aborted.rule), ("b", Rule::R2));
        }
        // A row that is skipped before the check never throws.
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a"}"#),
            ("a", "0.9.0", r#"{"id":"a","engines":{"protocol":17}}"#),
            ("x", "1.0.0", r#"{"engines":{"protocol":17}}"#),
            ("c", "1.0.0", r#"{"id":"c"}"#),
        ]);
        assert!(report.aborted.is_none());
        assert_eq!(report.loads.len(), 2);
    }

    #[test]
    fn r3_a_shared_namespace_aborts_except_base_system_sys() {
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","namespace":"crm"}"#),
            ("b", "1.0.0", r#"{"id":"b","namespace":"hr"}"#),
            ("c", "1.0.0", r#"{"id":"c","namespace":"crm"}"#),
            ("d", "1.0.0", r#"{"id":"d"}"#),
        ]);
        assert_eq!(report.loads.len(), 2);
        assert_eq!(report.steps[2].outcome, Outcome::Aborts);
        assert_eq!(report.steps[2].rule, Rule::R3);
        assert_eq!(report.steps[3].outcome, Outcome::Skipped);
        for shared in ["base", "system", "sys"] {
            let a = format!(r#"{{"id":"a","namespace":"{shared}"}}"#);
            let b = format!(r#"{{"id":"b","namespace":"{shared}"}}"#);
            let report = boot(&[("a", "1.0.0", &a), ("b", "1.0.0", &b)]);
            assert!(report.aborted.is_none(), "{shared}");
            assert_eq!(report.loads.len(), 2);
        }
        // Case matters; numbers and booleans are keys too; objects never collide; a refused
        // package does not register its namespace; falsy namespaces are none.
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","namespace":{"n":1}}"#),
            ("b", "1.0.0", r#"{"id":"b","namespace":{"n":1}}"#),
            (
                "c",
                "1.0.0",
                r#"{"id":"c","namespace":"crm","engines":{"protocol":"^16"}}"#,
            ),
            ("d", "1.0.0", r#"{"id":"d","namespace":"crm"}"#),
            ("e", "1.0.0", r#"{"id":"e","namespace":""}"#),
            ("f", "1.0.0", r#"{"id":"f","namespace":""}"#),
            ("g", "1.0.0", r#"{"id":"g","namespace":0}"#),
            ("h", "1.0.0", r#"{"id":"h","namespace":0}"#),
            ("i", "1.0.0", r#"{"id":"i","namespace":"Base"}"#),
            ("j", "1.0.0", r#"{"id":"j","namespace":5}"#),
            ("k", "1.0.0", r#"{"id":"k","namespace":"5"}"#),
            ("l", "1.0.0", r#"{"id":"l","namespace":5}"#),
        ]);
        assert_eq!(report.steps[2].outcome, Outcome::Refused);
        let aborted = report.aborted.as_ref().expect("aborted");
        assert_eq!((aborted.row_id.as_str(), aborted.rule), ("l", Rule::R3));
        assert_eq!(report.loads.len(), 10);
        let report = boot(&[
            ("i", "1.0.0", r#"{"id":"i","namespace":"Base"}"#),
            ("j", "1.0.0", r#"{"id":"j","namespace":"Base"}"#),
        ]);
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R3));
        let report = boot(&[
            ("i", "1.0.0", r#"{"id":"i","namespace":true}"#),
            ("j", "1.0.0", r#"{"id":"j","namespace":true}"#),
        ]);
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R3));
    }

    #[test]
    fn r4_r5_refused_and_warned_rows() {
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","engines":{"protocol":"^16"}}"#),
            (
                "b",
                "1.0.0",
                r#"{"id":"b","engines":{"protocol":"banana"}}"#,
            ),
            ("c", "1.0.0", r#"{"id":"c"}"#),
            (
                "d",
                "1.0.0",
                r#"{"id":"d","engines":{"protocol":">=17 <18"}}"#,
            ),
            // The refused id is not installed: a later row with the same manifest.id loads.
            ("a2", "1.0.0", r#"{"id":"a","engines":{"protocol":"^17"}}"#),
        ]);
        assert_eq!(
            outcomes(&report),
            [
                (Outcome::Refused, Rule::R4),
                (Outcome::Warns, Rule::R5),
                (Outcome::Warns, Rule::R5),
                (Outcome::Loads, Rule::Protocol),
                (Outcome::Loads, Rule::R7),
            ]
        );
        assert_eq!(report.loads.len(), 4);
    }

    #[test]
    fn r11_text_conversion_failures_abort_the_boot() {
        // name: installed first, then the log line throws.
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","name":{"toString":1}}"#),
            ("b", "1.0.0", r#"{"id":"b"}"#),
        ]);
        assert_eq!(report.loads.len(), 1);
        assert_eq!(outcomes(&report)[0], (Outcome::Aborts, Rule::R11));
        let report = boot(&[("a", "1.0.0", r#"{"id":"a","name":[[{"toString":1}]]}"#)]);
        assert_eq!(report.loads.len(), 1);
        assert!(report.aborted.is_some());
        // Objects without their own toString convert fine.
        let report = boot(&[("a", "1.0.0", r#"{"id":"a","name":{"x":{"toString":1}}}"#)]);
        assert!(report.aborted.is_none());
        // id: the protocol warning line throws before the install.
        let report = boot(&[("a", "1.0.0", r#"{"id":{"toString":1}}"#)]);
        assert!(report.loads.is_empty());
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
        // id with an admitted range: installed, then the install line throws.
        let report = boot(&[(
            "a",
            "1.0.0",
            r#"{"id":{"toString":1},"engines":{"protocol":"^17"}}"#,
        )]);
        assert_eq!(report.loads.len(), 1);
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
        // namespace: registered, then its log line throws before the install.
        let report = boot(&[(
            "a",
            "1.0.0",
            r#"{"id":"a","namespace":{"toString":1},"engines":{"protocol":"^17"}}"#,
        )]);
        assert!(report.loads.is_empty());
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
        // An incompatible id aborts too (the refusal message is a template).
        let report = boot(&[(
            "a",
            "1.0.0",
            r#"{"id":[{"toString":1}],"engines":{"protocol":"^16"}}"#,
        )]);
        assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
    }

    #[test]
    fn the_loaded_version_is_what_the_registry_record_answers() {
        let report = boot(&[
            (
                "a",
                "1.0.0",
                r#"{"id":"a","__proto__":{"version":"7.7.7"}}"#,
            ),
            (
                "b",
                "1.0.0",
                r#"{"id":"b","version":"1.0.0","__proto__":{"version":"7"}}"#,
            ),
            (
                "c",
                "1.0.0",
                r#"{"id":"c","__proto__":{"__proto__":{"version":"3"}}}"#,
            ),
            ("d", "1.0.0", r#"{"id":"d","__proto__":["x"]}"#),
            ("e", "1.0.0", r#"{"id":"e","version":17}"#),
        ]);
        let versions: Vec<String> = report.loads.iter().map(|l| l.version.to_string()).collect();
        assert_eq!(
            versions,
            [r#""7.7.7""#, r#""1.0.0""#, r#""3""#, "null", "17"]
        );
    }

    #[test]
    fn served_version_is_null_when_the_row_does_not_parse() {
        let mut row = ListRow {
            row_id: "a",
            row_version: "1.0.0",
            manifest: Some(r#"{"id":"a"}"#),
            metadata: Some("{}"),
        };
        assert_eq!(served_version(&row), Some("1.0.0"));
        row.metadata = Some("{");
        assert_eq!(served_version(&row), None);
        row.metadata = Some("[1e400]");
        assert_eq!(served_version(&row), Some("1.0.0"));
        row.manifest = None;
        assert_eq!(served_version(&row), None);
    }

    #[test]
    fn the_report_serializes_in_the_order_of_spec_8_3() {
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a","engines":{"protocol":"^17"}}"#),
            ("b", "1.0.0", r#"{"id":"b","engines":{"protocol":17}}"#),
        ]);
        let json = serde_json::to_string(&report).unwrap();
        let order = [
            r#"{"runtime_protocol":"17.0.0","loads":[{"id":"a","version":null,"row_id":"a","row_version":"1.0.0"}],"steps":[{"row_id":"a","row_version":"1.0.0","id":"a","outcome":"loads","rule":"protocol","message":"#,
            r#"{"row_id":"b","row_version":"1.0.0","id":"b","outcome":"aborts","rule":"R2","message":"#,
            r#""aborted":{"row_id":"b","row_version":"1.0.0","rule":"R2","message":"#,
            r#""list_failed":null}"#,
        ];
        let mut at = 0;
        for part in order {
            let found = json[at..]
                .find(part)
                .unwrap_or_else(|| panic!("{part} in {json}"));
            at += found + part.len();
        }
        let failed = boot(&[("a", "1.0.0", "{")]);
        let json = serde_json::to_string(&failed).unwrap();
        assert!(
            json.contains(r#""list_failed":{"row_id":"a","row_version":"1.0.0","message":"#),
            "{json}"
        );
    }

    #[test]
    fn hyphen_ranges_split_like_the_javascript_regex() {
        assert_eq!(hyphen_split("16 - 18"), Some(("16", "18")));
        assert_eq!(hyphen_split("16  -\t 18"), Some(("16", "18")));
        assert_eq!(hyphen_split("1 - - 2"), Some(("1", "- 2")));
        assert_eq!(hyphen_split("1 - 2 - 3"), None);
        assert_eq!(hyphen_split("1 -2"), None);
        assert_eq!(hyphen_split("1- 2"), None);
        assert_eq!(hyphen_split("1 x - 2"), Some(("1 x", "2")));
    }

    #[test]
    fn js_whitespace_is_javascripts_not_rusts() {
        assert_eq!(js_trim("\u{feff}\u{a0}x\u{2028}\u{3000}"), "x");
        assert_eq!(js_trim("\u{85}x"), "\u{85}x");
        assert_eq!(js_trim("\u{180e}x"), "\u{180e}x");
        assert_eq!(js_trim("\u{200b}x"), "\u{200b}x");
    }
}
