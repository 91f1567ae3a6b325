//! The ObjectStack server's view of the registry (spec 8.1–8.3): its `list()` and `get(id)`
//! queries, run verbatim on the target's own engine (how an engine orders same-second ties is
//! never guessed), the version each package is served at, and `doctor`: the boot replayed over
//! what the engine answers, with the served versions and the downgrades.

use std::collections::HashMap;

use serde::Serialize;

use super::boot::{self, BootReport, CodePackage, ListRow, Outcome, ParsedRow, Rule};
use super::{Registry, RegistryError, LATEST_FIRST};
use crate::store::{Rows, Stmt, Value};

/// The service's `list()` query, verbatim (`dist/index.js` of `@objectstack/service-package`
/// 17.4.0, whitespace included): the rows the server boots from, ties included, in the order
/// the engine returns them.
pub const SERVER_LIST_SQL: &str = "
              SELECT * FROM sys_packages
              WHERE (id, created_at) IN (
                SELECT id, MAX(created_at) FROM sys_packages GROUP BY id
              )
              ORDER BY created_at DESC
            ";

/// The service's `get(id)` query for `latest`, verbatim: what clients asking for the latest
/// version receive.
pub const SERVER_GET_SQL: &str =
    "SELECT * FROM sys_packages WHERE id = ? ORDER BY created_at DESC LIMIT 1";

/// pkgdeck's latest version of every package, newest first, read through the index (the
/// rows' texts are not read).
fn latest_versions_sql() -> String {
    format!(
        "SELECT p.id, p.version FROM \
         (SELECT (SELECT q.rowid FROM sys_packages q WHERE q.id = o.id ORDER BY {LATEST_FIRST} LIMIT 1) AS rid \
          FROM sys_packages o GROUP BY o.id) g \
         JOIN sys_packages p ON p.rowid = g.rid \
         ORDER BY coalesce(p.created_at, '') DESC, p.rowid DESC"
    )
}

/// Every (id, version) of the registry: the primary key's index holds them all.
const ALL_VERSIONS_SQL: &str = "SELECT id, version FROM sys_packages";

/// What the server boots with besides the registry: its protocol version and the packages it
/// defines in code (`[runtime]` in config.toml, `doctor --runtime-protocol`, `--code-package`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootSettings {
    pub runtime_protocol: String,
    pub code_packages: Vec<CodePackage>,
}

impl Default for BootSettings {
    fn default() -> Self {
        BootSettings {
            runtime_protocol: boot::RUNTIME_PROTOCOL.to_string(),
            code_packages: Vec::new(),
        }
    }
}

/// One row as the server's `SELECT *` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRow {
    pub id: String,
    pub version: String,
    /// `None` when the column does not hold text (the service's `JSON.parse` never accepts
    /// what its client hands over for a BLOB).
    pub manifest: Option<String>,
    pub metadata: Option<String>,
}

impl ServerRow {
    pub fn list_row(&self) -> ListRow<'_> {
        ListRow {
            row_id: &self.id,
            row_version: &self.version,
            manifest: self.manifest.as_deref(),
            metadata: self.metadata.as_deref(),
        }
    }
}

/// The rows of a `SELECT *`, columns found by name.
pub(crate) fn server_rows(rows: Rows) -> Vec<ServerRow> {
    let at = |name: &str| rows.columns.iter().position(|c| c == name);
    let (id, version, manifest, metadata) =
        (at("id"), at("version"), at("manifest"), at("metadata"));
    let text = |row: &[Value], i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .cloned()
            .and_then(Value::into_text)
            .unwrap_or_default()
    };
    let json_text = |row: &[Value], i: Option<usize>| match i.and_then(|i| row.get(i)) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    rows.rows
        .iter()
        .map(|row| ServerRow {
            id: text(row, id),
            version: text(row, version),
            manifest: json_text(row, manifest),
            metadata: json_text(row, metadata),
        })
        .collect()
}

/// Which version the server's `get(id)` answers, when it is not pkgdeck's latest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Served {
    /// `get(id)` answers pkgdeck's latest version (the one inserted last).
    #[default]
    Latest,
    /// A same-second tie: several versions share the newest `created_at` and the engine's plan
    /// answers `version`, not the one inserted last.
    Tie { version: String },
    /// The row `get(id)` reads (`version`) is not JSON, so it answers "not found".
    Unreadable { version: String },
}

impl Served {
    /// What the server's `get(id)` answers for a package whose latest version is `latest`.
    pub fn version<'a>(&'a self, latest: &'a str) -> Option<&'a str> {
        match self {
            Served::Latest => Some(latest),
            Served::Tie { version } => Some(version),
            Served::Unreadable { .. } => None,
        }
    }

    pub fn differs(&self) -> bool {
        *self != Served::Latest
    }

    /// What `get(id)` answering `row` means for a package whose latest version is `latest`.
    fn of_row(row: &ServerRow, latest: &str) -> Served {
        if !ParsedRow::parse(&row.list_row()).parses() {
            Served::Unreadable {
                version: row.version.clone(),
            }
        } else if row.version == latest {
            Served::Latest
        } else {
            Served::Tie {
                version: row.version.clone(),
            }
        }
    }

    /// One sentence for the operator: what clients receive, why, and the way out; `None` when
    /// they receive the latest version.
    pub fn explain(&self, id: &str, latest: &str) -> Option<String> {
        match self {
            Served::Latest => None,
            Served::Tie { version } => Some(format!(
                "the ObjectStack server serves {id} {version}, not {latest}: both were \
                 published in the same second and the server's query does not break the tie \
                 by insertion order; `pkgdeck promote {id} {latest}` makes {latest} the one it \
                 serves"
            )),
            Served::Unreadable { version } => Some(format!(
                "the ObjectStack server serves no version of {id}: the row it reads ({version}) \
                 is not JSON, so its get() answers \"not found\"; publish or promote a readable \
                 version"
            )),
        }
    }
}

/// A package whose served version is not pkgdeck's latest, as `doctor --json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedDiffers {
    pub id: String,
    pub latest: String,
    /// `null` when the server answers "not found".
    pub served: Option<String>,
}

/// `doctor`: the boot replayed on the target's engine, and what is served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    #[serde(flatten)]
    pub boot: BootReport,
    pub served_differs: Vec<ServedDiffers>,
    /// Every package with pkgdeck's latest version, newest first.
    #[serde(skip)]
    pub latest: Vec<(String, String)>,
}

impl DoctorReport {
    /// Spec 8.3's exit 0: every package loads at pkgdeck's latest version, and no row is
    /// refused, skipped or aborts (a warning is fine).
    pub fn ok(&self) -> bool {
        let boot = &self.boot;
        if boot.list_failed.is_some() || boot.aborted.is_some() {
            return false;
        }
        if boot
            .steps
            .iter()
            .any(|s| !matches!(s.outcome, Outcome::Loads | Outcome::Warns))
        {
            return false;
        }
        self.latest.iter().all(|(id, version)| {
            boot.loads.iter().any(|l| {
                l.row_id == *id && l.row_version == *version && l.id.as_str() == Some(id.as_str())
            })
        })
    }
}

/// The highest version of each package that reads as semver.
fn highest_versions(rows: &Rows) -> HashMap<String, semver::Version> {
    let mut highest: HashMap<String, semver::Version> = HashMap::new();
    for row in &rows.rows {
        let (Some(Value::Text(id)), Some(Value::Text(version))) = (row.first(), row.get(1)) else {
            continue;
        };
        let Ok(v) = semver::Version::parse(version) else {
            continue;
        };
        match highest.get_mut(id) {
            Some(h) if *h >= v => {}
            Some(h) => *h = v,
            None => {
                highest.insert(id.clone(), v);
            }
        }
    }
    highest
}

/// R10: a loaded version lower than the highest version of its package is a downgrade.
fn mark_downgrades(report: &mut BootReport, highest: &HashMap<String, semver::Version>) {
    for load in &report.loads {
        let Some(loaded) = load
            .version
            .as_str()
            .and_then(|v| semver::Version::parse(v).ok())
        else {
            continue;
        };
        let Some(top) = highest.get(&load.row_id).filter(|top| loaded < **top) else {
            continue;
        };
        let Some(step) = report.steps.iter_mut().find(|s| {
            s.row_id == load.row_id
                && s.row_version == load.row_version
                && matches!(s.outcome, Outcome::Loads | Outcome::Warns)
        }) else {
            continue;
        };
        step.rule = Rule::R10;
        step.message = format!(
            "a downgrade: {}; the highest version of {} in the registry is {top}",
            step.message, load.row_id
        );
    }
}

impl Registry {
    /// The rows the server's `list()` returns, in the engine's order.
    pub fn server_list(&self) -> Result<Vec<ServerRow>, RegistryError> {
        Ok(server_rows(
            self.store.query(&Stmt::new(SERVER_LIST_SQL, vec![]))?,
        ))
    }

    /// The version the server serves for each of `ids` (pkgdeck's latest given with each), in
    /// one round trip: its `get(id)` run verbatim.
    pub(crate) fn served_of(&self, ids: &[(&str, &str)]) -> Result<Vec<Served>, RegistryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let stmts: Vec<Stmt> = ids
            .iter()
            .map(|(id, _)| Stmt::new(SERVER_GET_SQL, vec![(*id).into()]))
            .collect();
        let answers = self.store.query_many(&stmts)?;
        Ok(answers
            .into_iter()
            .zip(ids)
            .map(|(rows, (_, latest))| match server_rows(rows).first() {
                Some(row) => Served::of_row(row, latest),
                None => Served::Latest,
            })
            .collect())
    }

    /// `doctor` (spec 8.3): the server's `list()` on the target's engine, the boot replayed
    /// over it with `settings`, the served version of every package, and R10 (a downgrade)
    /// marked. One round trip remotely, two when some package's newest second is shared.
    pub fn doctor(&self, settings: &BootSettings) -> Result<DoctorReport, RegistryError> {
        let mut answers = self
            .store
            .query_many(&[
                Stmt::new(SERVER_LIST_SQL, vec![]),
                Stmt::new(latest_versions_sql(), vec![]),
                Stmt::new(ALL_VERSIONS_SQL, vec![]),
            ])?
            .into_iter();
        let list = server_rows(answers.next().unwrap_or_default());
        let latest: Vec<(String, String)> = answers
            .next()
            .unwrap_or_default()
            .rows
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                let mut text = || it.next().and_then(Value::into_text).unwrap_or_default();
                (text(), text())
            })
            .collect();
        let highest = highest_versions(&answers.next().unwrap_or_default());

        let parsed: Vec<ParsedRow> = list
            .iter()
            .map(|r| ParsedRow::parse(&r.list_row()))
            .collect();
        let mut boot =
            boot::replay_parsed(&parsed, &settings.code_packages, &settings.runtime_protocol);
        mark_downgrades(&mut boot, &highest);

        // An id with exactly one list() row is served that row (get() picks the one row with
        // the newest created_at); a tie, or no row at all (every created_at NULL), is asked.
        let mut rows_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, row) in list.iter().enumerate() {
            rows_of.entry(row.id.as_str()).or_default().push(i);
        }
        let mut served: Vec<Option<Served>> = Vec::with_capacity(latest.len());
        let mut ask = Vec::new();
        for (id, version) in &latest {
            match rows_of.get(id.as_str()).map(Vec::as_slice) {
                Some([only]) => served.push(Some(if parsed[*only].parses() {
                    if list[*only].version == *version {
                        Served::Latest
                    } else {
                        Served::Tie {
                            version: list[*only].version.clone(),
                        }
                    }
                } else {
                    Served::Unreadable {
                        version: list[*only].version.clone(),
                    }
                })),
                _ => {
                    ask.push((id.as_str(), version.as_str()));
                    served.push(None);
                }
            }
        }
        let mut asked = self.served_of(&ask)?.into_iter();
        let served_differs = latest
            .iter()
            .zip(served)
            .filter_map(|((id, version), served)| {
                let served = served.or_else(|| asked.next()).unwrap_or_default();
                served.differs().then(|| ServedDiffers {
                    id: id.clone(),
                    latest: version.clone(),
                    served: served.version(version).map(str::to_string),
                })
            })
            .collect();
        Ok(DoctorReport {
            boot,
            served_differs,
            latest,
        })
    }
}
