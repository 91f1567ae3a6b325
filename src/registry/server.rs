//! The ObjectStack server's view of the registry (spec 8.1–8.3): its `list()` and `get(id)`
//! queries, run verbatim on the target's own engine (how an engine orders same-second ties is
//! never guessed), the version each package is served at, and `doctor`: the boot replayed over
//! what the engine answers, with the served versions and the downgrades.

use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Condvar, Mutex};

use serde::Serialize;

use super::boot::{self, BootReport, CodePackage, ListRow, Outcome, ParsedRow, Rule};
use super::schema::{self, StoredCheck};
use super::{canonical, Registry, RegistryError, LATEST_FIRST};
use crate::store::{Rows, Span, Stmt, StoreError, Value, ValueRef};

/// What a store's scan hands each row to.
type Each<'e> = &'e mut dyn FnMut(&[ValueRef<'_>]) -> bool;

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

/// pkgdeck's latest version of one package (the one inserted last).
fn latest_version_sql() -> String {
    format!("SELECT version FROM sys_packages WHERE id = ? ORDER BY {LATEST_FIRST} LIMIT 1")
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

/// Where the columns the server reads sit in a `SELECT *` row, found by name.
#[derive(Debug, Clone, Copy, Default)]
struct ServerColumns {
    id: Option<usize>,
    version: Option<usize>,
    manifest: Option<usize>,
    metadata: Option<usize>,
}

impl ServerColumns {
    fn of(columns: &[String]) -> ServerColumns {
        let at = |name: &str| columns.iter().position(|c| c == name);
        ServerColumns {
            id: at("id"),
            version: at("version"),
            manifest: at("manifest"),
            metadata: at("metadata"),
        }
    }

    /// The row, its values taken (a row of a large registry holds megabytes of text).
    fn take(&self, mut row: Vec<Value>) -> ServerRow {
        let mut take = |i: Option<usize>| {
            i.and_then(|i| row.get_mut(i))
                .map_or(Value::Null, |v| std::mem::replace(v, Value::Null))
        };
        let text = |v: Value| v.into_text().unwrap_or_default();
        // JSON.parse never accepts what the service's client hands over for a non-text value.
        let json = |v: Value| match v {
            Value::Text(t) => Some(t),
            _ => None,
        };
        ServerRow {
            id: text(take(self.id)),
            version: text(take(self.version)),
            manifest: json(take(self.manifest)),
            metadata: json(take(self.metadata)),
        }
    }

    /// The row from values borrowed from the store: the same as [`ServerColumns::take`] of
    /// their owned copies, without copying the columns the server does not read.
    fn borrowed(&self, row: &[ValueRef<'_>]) -> ServerRow {
        let at = |i: Option<usize>| i.and_then(|i| row.get(i)).copied();
        let text = |i| {
            at(i)
                .and_then(ValueRef::text)
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default()
        };
        let json = |i| match at(i) {
            Some(v @ ValueRef::Text(_)) => v.text().map(std::borrow::Cow::into_owned),
            _ => None,
        };
        ServerRow {
            id: text(self.id),
            version: text(self.version),
            manifest: json(self.manifest),
            metadata: json(self.metadata),
        }
    }
}

/// The rows of a `SELECT *`, columns found by name.
pub(crate) fn server_rows(rows: Rows) -> Vec<ServerRow> {
    let columns = ServerColumns::of(&rows.columns);
    rows.rows.into_iter().map(|row| columns.take(row)).collect()
}

/// The server's `get(id)`, verbatim, for each of `ids`: what [`served_from`] judges.
pub(crate) fn served_asks<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<Stmt> {
    ids.map(|id| Stmt::new(SERVER_GET_SQL, vec![id.into()]))
        .collect()
}

/// The version the server serves for each package asked by [`served_asks`], from its
/// `answers` and pkgdeck's latest version of each (`latest`, in the same order).
pub(crate) fn served_from<'a>(
    answers: Vec<Rows>,
    latest: impl Iterator<Item = &'a str>,
) -> Vec<Served> {
    answers
        .into_iter()
        .zip(latest)
        .map(|(rows, latest)| match server_rows(rows).first() {
            Some(row) => Served::of_row(row, latest),
            None => Served::Latest,
        })
        .collect()
}

/// `JSON.parse` of every row, on two threads: it is most of the work of a boot replay.
pub(crate) fn parse_rows(rows: &[ServerRow]) -> Vec<ParsedRow> {
    let parse = |rows: &[ServerRow]| -> Vec<ParsedRow> {
        rows.iter()
            .map(|r| ParsedRow::parse(&r.list_row()))
            .collect()
    };
    if rows.len() < 256 {
        return parse(rows);
    }
    let (first, second) = rows.split_at(rows.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| parse(second));
        let mut parsed = parse(first);
        // A panic while parsing is a bug; the rows are parsed again here rather than lost.
        parsed.extend(other.join().unwrap_or_else(|_| parse(second)));
        parsed
    })
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
        Served::judged(row, ParsedRow::parse(&row.list_row()).parses(), latest)
    }

    /// [`Served::of_row`] for a row whose texts are known to parse or not.
    fn judged(row: &ServerRow, parses: bool, latest: &str) -> Served {
        if !parses {
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

/// A latest row that breaks the ObjectStack schemas (spec 9), as `doctor --json` lists it: a
/// warning, because the 17.x server loads it anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaWarning {
    pub id: String,
    pub version: String,
    /// Its first problems as `path: message`, in document order.
    pub problems: Vec<String>,
    /// Whether it has problems beyond these.
    pub more: bool,
}

/// How many schema problems `doctor` describes per row: describing is what costs (every item
/// still gets the fast yes/no check), and `check` on the exported document lists them all.
const SCHEMA_PROBLEMS: usize = 1;

/// `doctor`: the boot replayed on the target's engine, and what is served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    #[serde(flatten)]
    pub boot: BootReport,
    pub served_differs: Vec<ServedDiffers>,
    /// The latest rows that break the ObjectStack schemas, newest first.
    pub schema_warnings: Vec<SchemaWarning>,
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
        self.not_at_latest() == 0
    }

    /// How many packages do not load at pkgdeck's latest version (under their own id).
    pub fn not_at_latest(&self) -> usize {
        let loaded: HashSet<(&str, &str)> = self
            .boot
            .loads
            .iter()
            .filter(|l| l.id.as_str() == Some(l.row_id.as_str()))
            .map(|l| (l.row_id.as_str(), l.row_version.as_str()))
            .collect();
        self.latest
            .iter()
            .filter(|(id, version)| !loaded.contains(&(id.as_str(), version.as_str())))
            .count()
    }
}

/// Every package id of the registry (as text) with the highest of its versions that reads as
/// semver (`None` when none does).
#[derive(Debug, Default)]
struct Versions {
    highest: HashMap<String, Option<semver::Version>>,
}

impl Versions {
    /// Reads every (id, version) of the registry with `scan` (a store's [`crate::store::Store::scan`]),
    /// borrowed row by row.
    fn read(
        scan: impl FnOnce(&Stmt, Span, Each<'_>) -> Result<(), StoreError>,
    ) -> Result<Versions, RegistryError> {
        let mut versions = Versions::default();
        scan(
            &Stmt::new(ALL_VERSIONS_SQL, vec![]),
            Span::Whole,
            &mut |row| {
                if let (Some(id), Some(version)) = (row.first(), row.get(1)) {
                    versions.add(*id, *version);
                }
                true
            },
        )?;
        Ok(versions)
    }

    /// The (id, version) rows of [`ALL_VERSIONS_SQL`] already fetched.
    fn of_rows(rows: &Rows) -> Versions {
        let mut versions = Versions::default();
        for row in &rows.rows {
            if let (Some(id), Some(version)) = (row.first(), row.get(1)) {
                versions.add(id.as_value_ref(), version.as_value_ref());
            }
        }
        versions
    }

    /// One (id, version): an id that is not text is no package of the listing; a version that
    /// is not text or not semver takes no part in the highest.
    fn add(&mut self, id: ValueRef<'_>, version: ValueRef<'_>) {
        let ValueRef::Text(_) = id else {
            return;
        };
        let Some(id) = id.text() else {
            return;
        };
        let parsed = match version {
            ValueRef::Text(_) => version.text().and_then(|v| semver::Version::parse(&v).ok()),
            _ => None,
        };
        match self.highest.get_mut(id.as_ref()) {
            Some(Some(h)) => {
                if let Some(v) = parsed.filter(|v| v > h) {
                    *h = v;
                }
            }
            Some(slot @ None) => *slot = parsed,
            None => {
                self.highest.insert(id.into_owned(), parsed);
            }
        }
    }

    /// The highest semver version of `id`.
    fn highest(&self, id: &str) -> Option<&semver::Version> {
        self.highest.get(id).and_then(Option::as_ref)
    }
}

/// R10: a loaded version lower than the highest version of its package is a downgrade.
fn mark_downgrades(report: &mut BootReport, versions: &Versions) {
    // (load, the highest version): few loads are downgrades, so the steps are indexed only
    // when there is one.
    let downgrades: Vec<(usize, &semver::Version)> = report
        .loads
        .iter()
        .enumerate()
        .filter_map(|(i, load)| {
            let top = versions.highest(&load.row_id)?;
            let loaded = semver::Version::parse(load.version.as_str()?).ok()?;
            (loaded < *top).then_some((i, top))
        })
        .collect();
    if downgrades.is_empty() {
        return;
    }
    let step_of: HashMap<(&str, &str), usize> = report
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.outcome, Outcome::Loads | Outcome::Warns))
        .map(|(i, s)| ((s.row_id.as_str(), s.row_version.as_str()), i))
        .collect();
    let mut marks = Vec::new();
    for (i, top) in downgrades {
        let load = &report.loads[i];
        if let Some(&i) = step_of.get(&(load.row_id.as_str(), load.row_version.as_str())) {
            marks.push((
                i,
                format!(
                    "; the highest version of {} in the registry is {top}",
                    load.row_id
                ),
            ));
        }
    }
    for (i, tail) in marks {
        let step = &mut report.steps[i];
        step.rule = Rule::R10;
        step.message = format!("a downgrade: {}{tail}", step.message);
    }
}

impl Registry {
    /// The rows the server's `list()` returns, in the engine's order, handed to `each` a chunk
    /// at a time. A local file streams the rows (no copy of the whole answer); a remote asks
    /// for them and every (id, version) of the registry in one round trip, and answers the
    /// latter.
    fn server_list_rows(
        &self,
        each: &mut dyn FnMut(Vec<ServerRow>),
    ) -> Result<Option<Rows>, RegistryError> {
        let list = Stmt::new(SERVER_LIST_SQL, vec![]);
        if self.store.pages() {
            let versions = Stmt::new(ALL_VERSIONS_SQL, vec![]);
            let mut answers = self.store.query_many(&[list, versions])?.into_iter();
            let mut rows = server_rows(answers.next().unwrap_or_default()).into_iter();
            loop {
                let chunk: Vec<ServerRow> = rows.by_ref().take(CHUNK).collect();
                if chunk.is_empty() {
                    break;
                }
                each(chunk);
            }
            return Ok(Some(answers.next().unwrap_or_default()));
        }
        let columns = ServerColumns::of(
            &self
                .store
                .query(&Stmt::new("SELECT * FROM sys_packages LIMIT 0", vec![]))?
                .columns,
        );
        let mut chunk = Vec::with_capacity(CHUNK);
        self.store.scan(&list, Span::Whole, &mut |row| {
            chunk.push(columns.borrowed(row));
            if chunk.len() == CHUNK {
                each(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
            }
            true
        })?;
        if !chunk.is_empty() {
            each(chunk);
        }
        Ok(None)
    }

    /// The server's `list()` rows with what `doctor` needs of each ([`check_row`]), the boot
    /// replayed over them with `settings`, and every package id with its highest version.
    ///
    /// The reading thread hands chunks of rows to a second thread as it goes; that thread first
    /// reads the versions on a connection of its own (when the store offers one), then checks
    /// chunks. Once everything is read, the reading thread replays the boot over the chunks
    /// that are checked, in order, and checks waiting chunks itself in between, so reading,
    /// checking and the replay overlap.
    fn server_list_replayed(
        &self,
        settings: &BootSettings,
    ) -> Result<(Checked, Versions, BootReport), RegistryError> {
        let (sender, receiver) = mpsc::channel::<(usize, Vec<ServerRow>)>();
        let receiver = Mutex::new(receiver);
        let checked = Ready::default();
        let reader = self.store.reader();
        let mut replay = boot::Replay::new(&settings.code_packages, &settings.runtime_protocol);
        let (read, versions, chunks) = std::thread::scope(|scope| {
            let helper = scope.spawn(|| {
                let versions = reader
                    .map(|reader| Versions::read(|stmt, span, each| reader.scan(stmt, span, each)));
                while let Some((index, rows)) = next_chunk(&receiver, false) {
                    checked.put(index, check_rows(rows));
                }
                versions
            });
            let mut count = 0;
            let read = self.server_list_rows(&mut |chunk| {
                // The receiving thread lives until every sender is gone: it cannot fail.
                let _ = sender.send((count, chunk));
                count += 1;
            });
            drop(sender);
            let mut chunks = Vec::with_capacity(count);
            while chunks.len() < count {
                let next = chunks.len();
                if let Some(chunk) = checked.take(next) {
                    for (_, parsed, _) in &chunk {
                        replay.push(parsed);
                    }
                    chunks.push(chunk);
                } else if let Some((index, rows)) = next_chunk(&receiver, true) {
                    checked.put(index, check_rows(rows));
                } else if !checked.wait_for(next, || helper.is_finished()) {
                    // The other thread ended without handing the chunk over: it panicked.
                    break;
                }
            }
            let versions = match helper.join() {
                Ok(versions) => versions,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (read, versions, chunks)
        });
        let versions = match (read?, versions) {
            (Some(rows), _) => Versions::of_rows(&rows),
            (None, Some(read)) => read?,
            (None, None) => Versions::read(|stmt, span, each| self.store.scan(stmt, span, each))?,
        };
        let mut checked = Checked::default();
        for chunk in chunks {
            for (row, parsed, schema) in chunk {
                checked.list.push(row);
                checked.parsed.push(parsed);
                checked.schema.push(schema);
            }
        }
        let report = replay.finish(&checked.parsed);
        Ok((checked, versions, report))
    }

    /// The version the server serves for each of `ids` (pkgdeck's latest given with each), in
    /// one round trip: its `get(id)` run verbatim.
    pub(crate) fn served_of(&self, ids: &[(&str, &str)]) -> Result<Vec<Served>, RegistryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let answers = self
            .store
            .query_many(&served_asks(ids.iter().map(|(id, _)| *id)))?;
        Ok(served_from(answers, ids.iter().map(|(_, latest)| *latest)))
    }

    /// `doctor` (spec 8.3): the server's `list()` on the target's engine, the boot replayed
    /// over it with `settings`, the served version of every package, and R10 (a downgrade)
    /// marked. One round trip remotely, two when some package's newest second is shared.
    pub fn doctor(&self, settings: &BootSettings) -> Result<DoctorReport, RegistryError> {
        let (checked, versions, mut boot) = self.server_list_replayed(settings)?;
        let Checked {
            list,
            parsed,
            schema: checks,
        } = checked;
        mark_downgrades(&mut boot, &versions);

        // Every package, newest first: in the order of its list() rows, then those that have
        // none (every created_at NULL).
        let mut rows_of: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut ids: Vec<&str> = Vec::new();
        for (i, row) in list.iter().enumerate() {
            let rows = rows_of.entry(row.id.as_str()).or_default();
            if rows.is_empty() {
                ids.push(row.id.as_str());
            }
            rows.push(i);
        }
        let mut missing: Vec<&str> = versions
            .highest
            .keys()
            .map(String::as_str)
            .filter(|id| !rows_of.contains_key(id))
            .collect();
        missing.sort_unstable();
        ids.extend(missing);

        // A package with exactly one list() row: that row is its latest and what get() reads
        // (the one row with the newest created_at). A tie, or no row: ask the engine, its
        // latest and the server's get() verbatim, in one round trip.
        let mut ask = Vec::new();
        for id in &ids {
            if rows_of.get(id).is_none_or(|rows| rows.len() != 1) {
                ask.push(Stmt::new(latest_version_sql(), vec![(*id).into()]));
                ask.push(Stmt::new(SERVER_GET_SQL, vec![(*id).into()]));
            }
        }
        let mut asked = self.store.query_many(&ask)?.into_iter();
        let mut latest = Vec::with_capacity(ids.len());
        let mut served_differs = Vec::new();
        for id in ids {
            let (version, served) = match rows_of.get(id).map(Vec::as_slice) {
                Some([only]) => {
                    let row = &list[*only];
                    let served = if parsed[*only].parses() {
                        Served::Latest
                    } else {
                        Served::Unreadable {
                            version: row.version.clone(),
                        }
                    };
                    (row.version.clone(), served)
                }
                _ => {
                    let version = asked
                        .next()
                        .and_then(|r| r.rows.into_iter().next())
                        .and_then(|r| r.into_iter().next())
                        .and_then(Value::into_text)
                        .unwrap_or_default();
                    // The row get() reads is one of the package's list() rows, already
                    // parsed: compared by its texts, so a row that changed since is parsed.
                    let served = asked
                        .next()
                        .map(server_rows)
                        .and_then(|rows| rows.into_iter().next())
                        .map_or(Served::Latest, |row| {
                            let known = rows_of
                                .get(id)
                                .into_iter()
                                .flatten()
                                .find(|&&i| list[i] == row);
                            match known {
                                Some(&i) => Served::judged(&row, parsed[i].parses(), &version),
                                None => Served::of_row(&row, &version),
                            }
                        });
                    (version, served)
                }
            };
            if served.differs() {
                served_differs.push(ServedDiffers {
                    id: id.to_string(),
                    served: served.version(&version).map(str::to_string),
                    latest: version.clone(),
                });
            }
            latest.push((id.to_string(), version));
        }
        let schema_warnings = schema_warnings(&list, &checks, &rows_of, &latest);
        Ok(DoctorReport {
            boot,
            served_differs,
            schema_warnings,
            latest,
        })
    }
}

/// How many `list()` rows the reading thread hands over at a time.
const CHUNK: usize = 256;

/// The server's `list()` rows, in the engine's order, with what `doctor` made of each.
#[derive(Default)]
struct Checked {
    list: Vec<ServerRow>,
    parsed: Vec<ParsedRow>,
    /// [`check_row`]'s schema check of each row.
    schema: Vec<Option<StoredCheck>>,
}

/// `JSON.parse` of a `list()` row, and the row against the ObjectStack schemas as
/// `schema::check_stored` reads a stored row (`None` when a text is not JSON to it). Every
/// row is checked, not only the latest ones, so that the check runs while rows are still
/// being read (ties make a few more rows than packages); the manifest's tree is the one the
/// boot parsed.
fn check_row(row: ServerRow) -> (ServerRow, ParsedRow, Option<StoredCheck>) {
    let parsed = ParsedRow::parse(&row.list_row());
    let schema = parsed.stored_manifest().and_then(|manifest| {
        let metadata = || canonical::parse_stored(row.metadata.as_deref()?).ok();
        schema::check_stored_tree(manifest, metadata, SCHEMA_PROBLEMS)
    });
    (row, parsed, schema)
}

type CheckedChunk = Vec<(ServerRow, ParsedRow, Option<StoredCheck>)>;

/// [`check_row`] of each row of a chunk. The manifest trees are cut down to what the boot
/// reads once the schema check is done with them: freed here, on the checking threads,
/// rather than all at once at the end.
fn check_rows(rows: Vec<ServerRow>) -> CheckedChunk {
    rows.into_iter()
        .map(|row| {
            let (row, mut parsed, schema) = check_row(row);
            parsed.keep_boot_members();
            (row, parsed, schema)
        })
        .collect()
}

/// The next chunk of rows to check, waiting for one unless `now`; `None` when there is none
/// (every sender is gone, or `now` and none is waiting).
fn next_chunk(
    receiver: &Mutex<mpsc::Receiver<(usize, Vec<ServerRow>)>>,
    now: bool,
) -> Option<(usize, Vec<ServerRow>)> {
    // A poisoned lock: the thread that panicked is reported when it is joined.
    let receiver = receiver
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if now {
        receiver.try_recv().ok()
    } else {
        receiver.recv().ok()
    }
}

/// Checked chunks by index, until the replay takes them in order.
#[derive(Default)]
struct Ready {
    chunks: Mutex<HashMap<usize, CheckedChunk>>,
    put: Condvar,
}

impl Ready {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, CheckedChunk>> {
        self.chunks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put(&self, index: usize, chunk: CheckedChunk) {
        self.lock().insert(index, chunk);
        self.put.notify_all();
    }

    fn take(&self, index: usize) -> Option<CheckedChunk> {
        self.lock().remove(&index)
    }

    /// Waits until chunk `index` is in; `false` when `gone()` says it never will be.
    fn wait_for(&self, index: usize, gone: impl Fn() -> bool) -> bool {
        let mut chunks = self.lock();
        while !chunks.contains_key(&index) {
            if gone() {
                return chunks.contains_key(&index);
            }
            chunks = match self
                .put
                .wait_timeout(chunks, std::time::Duration::from_millis(50))
            {
                Ok((chunks, _)) => chunks,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

/// Every package's latest row (one of its `list()` rows) against the ObjectStack schemas, in
/// the order of `latest`: the checks [`check_row`] made.
fn schema_warnings(
    list: &[ServerRow],
    checks: &[Option<StoredCheck>],
    rows_of: &HashMap<&str, Vec<usize>>,
    latest: &[(String, String)],
) -> Vec<SchemaWarning> {
    latest
        .iter()
        .filter_map(|(id, version)| {
            let rows = rows_of.get(id.as_str())?;
            let i = rows
                .iter()
                .copied()
                .find(|&i| list[i].version == *version)?;
            let row = &list[i];
            let found = checks[i].as_ref()?;
            (!found.problems.is_empty()).then(|| SchemaWarning {
                id: row.id.clone(),
                version: row.version.clone(),
                problems: found.problems.iter().map(ToString::to_string).collect(),
                more: found.more,
            })
        })
        .collect()
}
