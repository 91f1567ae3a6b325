//! The ObjectStack server's view of the registry (spec 8.1–8.3): its `list()` and `get(id)`
//! queries, run verbatim on the target's own engine (how an engine orders same-second ties is
//! never guessed), the version each package is served at, and `doctor`: the boot replayed over
//! what the engine answers, with the served versions and the downgrades.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{mpsc, Condvar, Mutex};

use serde::Serialize;

use super::boot::{self, BootReport, CodePackage, ListRow, Outcome, ParsedRow, Rule};
use super::schema::{self, StoredCheck};
use super::{canonical, Registry, RegistryError, LATEST_FIRST};
use crate::store::{RowBatch, Rows, Span, Stmt, StoreError, Value, ValueRef};

/// The maps keyed by package id: a quicker hash than the standard one, still seeded per
/// process.
type FastMap<K, V> = foldhash::HashMap<K, V>;

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

    /// Adds the row from values borrowed from the store to `chunk`: the same as
    /// [`ServerColumns::take`] of their owned copies, without copying the columns the server
    /// does not read.
    fn push_into(&self, row: &[ValueRef<'_>], chunk: &mut RowBatch) {
        let at = |i: Option<usize>| i.and_then(|i| row.get(i)).copied();
        let text = |i| at(i).and_then(ValueRef::text).unwrap_or_default();
        let json = |i| match at(i) {
            Some(v @ ValueRef::Text(_)) => v.text(),
            _ => None,
        };
        let (id, version) = (text(self.id), text(self.version));
        let (manifest, metadata) = (json(self.manifest), json(self.metadata));
        fn json_value(text: Option<&str>) -> ValueRef<'_> {
            text.map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes()))
        }
        chunk.push(&[
            ValueRef::Text(id.as_bytes()),
            ValueRef::Text(version.as_bytes()),
            json_value(manifest.as_deref()),
            json_value(metadata.as_deref()),
        ]);
    }
}

/// `list()` rows are handed from the reading thread to a checking one in a [`RowBatch`] of
/// these many values a row: id, version, manifest and metadata (NULL when not text). A chunk
/// costs one allocation rather than four a row, and whichever thread checks it frees it at
/// once (freeing many small blocks another thread allocated makes both threads wait on the
/// allocator's lock).
const CHUNK_WIDTH: usize = 4;

/// The rows of `chunk`, as [`ServerColumns::push_into`] added them (its texts are UTF-8).
fn list_rows(chunk: &RowBatch) -> impl Iterator<Item = ListRow<'_>> {
    let mut values = Vec::with_capacity(CHUNK_WIDTH);
    (0..chunk.len()).map(move |i| {
        chunk.row(i, &mut values);
        let text = |i: usize| match values.get(i) {
            Some(ValueRef::Text(t)) => std::str::from_utf8(t).ok(),
            _ => None,
        };
        ListRow {
            row_id: text(0).unwrap_or(""),
            row_version: text(1).unwrap_or(""),
            manifest: text(2),
            metadata: text(3),
        }
    })
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
    /// Whether its texts parse is all that matters, so no tree is built.
    fn of_row(row: &ServerRow, latest: &str) -> Served {
        Served::judged(row, boot::served_version(&row.list_row()).is_some(), latest)
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
    highest: FastMap<String, Option<semver::Version>>,
    /// The package whose rows are being added and its highest so far: the rows come grouped
    /// by id (the primary key's index), so each id is looked up once, not once per version.
    run: Option<(String, Option<semver::Version>)>,
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
        versions.end_run();
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
        versions.end_run();
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
        if let Some((run, top)) = &mut self.run {
            if *run == id {
                raise(top, parsed);
                return;
            }
        }
        self.end_run();
        self.run = Some((id.into_owned(), parsed));
    }

    /// Puts the package being added into `highest`.
    fn end_run(&mut self) {
        if let Some((id, top)) = self.run.take() {
            match self.highest.entry(id) {
                Entry::Occupied(mut known) => raise(known.get_mut(), top),
                Entry::Vacant(slot) => {
                    slot.insert(top);
                }
            }
        }
    }

    /// The highest semver version of `id`.
    fn highest(&self, id: &str) -> Option<&semver::Version> {
        self.highest.get(id).and_then(Option::as_ref)
    }
}

/// `top` raised to `version` when that is higher; a `top` that is not semver takes it as is.
fn raise(top: &mut Option<semver::Version>, version: Option<semver::Version>) {
    match top {
        Some(h) => {
            if let Some(v) = version.filter(|v| v > h) {
                *h = v;
            }
        }
        None => *top = version,
    }
}

/// R10: a loaded version lower than the highest version of its package is a downgrade.
fn mark_downgrades(report: &mut BootReport, versions: &Versions) {
    // (load, the highest version): few loads are downgrades, so the steps are walked only
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
    // The loads were pushed in the order of their steps, and a step that loads or warns
    // pushed exactly one (a row that aborts after installing pushed one too, with no such
    // step): walking both in order pairs them, each row's (id, version) being unique.
    let mut marks = Vec::new();
    let mut downgrades = downgrades.into_iter().peekable();
    let mut loads = report.loads.iter().enumerate();
    for (i, step) in report.steps.iter().enumerate() {
        if !matches!(step.outcome, Outcome::Loads | Outcome::Warns) {
            continue;
        }
        let Some((at, load)) = loads
            .by_ref()
            .find(|(_, l)| l.row_id == step.row_id && l.row_version == step.row_version)
        else {
            break;
        };
        while downgrades.next_if(|(d, _)| *d < at).is_some() {}
        if let Some((_, top)) = downgrades.next_if(|(d, _)| *d == at) {
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
        each: &mut dyn FnMut(RowBatch),
    ) -> Result<Option<Rows>, RegistryError> {
        let list = Stmt::new(SERVER_LIST_SQL, vec![]);
        if self.store.pages() {
            let versions = Stmt::new(ALL_VERSIONS_SQL, vec![]);
            let mut answers = self.store.query_many(&[list, versions])?.into_iter();
            let rows = answers.next().unwrap_or_default();
            let columns = ServerColumns::of(&rows.columns);
            let mut values: Vec<ValueRef<'_>> = Vec::with_capacity(rows.columns.len());
            for rows in rows.rows.chunks(CHUNK) {
                let mut chunk = RowBatch::new(CHUNK_WIDTH, CHUNK, 0);
                for row in rows {
                    values.clear();
                    values.extend(row.iter().map(Value::as_value_ref));
                    columns.push_into(&values, &mut chunk);
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
        let mut chunk = RowBatch::new(CHUNK_WIDTH, CHUNK, 0);
        self.store.scan(&list, Span::Whole, &mut |row| {
            columns.push_into(row, &mut chunk);
            if chunk.len() == CHUNK {
                // The next chunk is likely the size of this one.
                let next = RowBatch::new(CHUNK_WIDTH, CHUNK, chunk.bytes() + chunk.bytes() / 8);
                each(std::mem::replace(&mut chunk, next));
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
        let (sender, receiver) = mpsc::channel::<(usize, RowBatch)>();
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
                    for (parsed, _) in &chunk {
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
        let rows = chunks.iter().map(Vec::len).sum();
        let mut checked = Checked {
            parsed: Vec::with_capacity(rows),
            schema: Vec::with_capacity(rows),
        };
        for chunk in chunks {
            for (parsed, schema) in chunk {
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
            parsed: list,
            schema: mut checks,
        } = checked;

        // Every package, newest first: in the order of its list() rows, then those that have
        // none (every created_at NULL).
        let mut rows_of = RowsOf::default();
        let mut ids: Vec<&str> = Vec::new();
        for (i, row) in list.iter().enumerate() {
            if rows_of.add(&row.row_id, i) {
                ids.push(row.row_id.as_str());
            }
        }
        let mut missing: Vec<&str> = versions
            .highest
            .keys()
            .map(String::as_str)
            .filter(|id| rows_of.get(id).is_none())
            .collect();
        missing.sort_unstable();
        ids.extend(missing);

        // A package with exactly one list() row: that row is its latest and what get() reads
        // (the one row with the newest created_at). A tie, or no row: ask the engine, its
        // latest and the server's get() verbatim, in one round trip.
        let rows: Vec<Option<&[usize]>> = ids.iter().map(|id| rows_of.get(id)).collect();
        let mut ask = Vec::new();
        for (id, rows) in ids.iter().zip(&rows) {
            if rows.is_none_or(|rows| rows.len() != 1) {
                ask.push(Stmt::new(latest_version_sql(), vec![(*id).into()]));
                ask.push(Stmt::new(SERVER_GET_SQL, vec![(*id).into()]));
            }
        }
        // The engine is asked on a connection of its own, when the store offers one, while
        // R10 is marked here and the packages with one row, which need no answer, are done.
        let reader = if ask.is_empty() {
            None
        } else {
            self.store.reader()
        };
        let ask = &ask;
        let mut latest = Vec::with_capacity(ids.len());
        let mut served = Vec::with_capacity(ids.len());
        let asked = std::thread::scope(|scope| {
            let asking = reader.map(|reader| scope.spawn(move || reader.query_many(ask)));
            mark_downgrades(&mut boot, &versions);
            for (id, rows) in ids.iter().zip(&rows) {
                let (version, judged) = match rows {
                    Some([only]) => {
                        let row = &list[*only];
                        let judged = if row.parses() {
                            Served::Latest
                        } else {
                            Served::Unreadable {
                                version: row.row_version.clone(),
                            }
                        };
                        (row.row_version.clone(), judged)
                    }
                    // Filled in from the engine's answers below.
                    _ => (String::new(), Served::Latest),
                };
                latest.push(((*id).to_string(), version));
                served.push(judged);
            }
            match asking.map(std::thread::ScopedJoinHandle::join) {
                Some(Ok(asked)) => asked,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => self.store.query_many(ask),
            }
        });
        let mut asked = asked?.into_iter();
        for (((_, version), judged), rows) in latest.iter_mut().zip(&mut served).zip(&rows) {
            if matches!(rows, Some([_])) {
                continue;
            }
            *version = asked
                .next()
                .and_then(|r| r.rows.into_iter().next())
                .and_then(|r| r.into_iter().next())
                .and_then(Value::into_text)
                .unwrap_or_default();
            // The row get() reads is judged on the texts the engine answers now (one of the
            // package's list() rows, or one that changed since).
            *judged = asked
                .next()
                .map(server_rows)
                .and_then(|rows| rows.into_iter().next())
                .map_or(Served::Latest, |row| Served::of_row(&row, version));
        }
        // The list() row of each package's latest version, when it has one.
        let mut latest_rows = Vec::with_capacity(ids.len());
        let mut served_differs = Vec::new();
        for (((id, version), judged), rows) in latest.iter().zip(&served).zip(rows) {
            if judged.differs() {
                served_differs.push(ServedDiffers {
                    id: id.clone(),
                    served: judged.version(version).map(str::to_string),
                    latest: version.clone(),
                });
            }
            latest_rows.push(
                rows.into_iter()
                    .flatten()
                    .copied()
                    .find(|&i| list[i].row_version == *version),
            );
        }
        let schema_warnings = schema_warnings(&list, &mut checks, &latest_rows);
        drop(rows_of);
        drop_later((list, checks, versions));
        Ok(DoctorReport {
            boot,
            served_differs,
            schema_warnings,
            latest,
        })
    }
}

/// Drops `value` on a thread of its own: freeing the many small blocks of a large registry's
/// rows or report one by one takes a while, which the caller need not wait for (nor, when
/// the process exits first, anyone).
pub fn drop_later<T: Send + 'static>(value: T) {
    // When no thread can be started, the closure, and the value with it, is dropped here.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// The `list()` rows of each package id, by index. Most packages have one; only those with
/// more (same-second ties) get a list of their own.
#[derive(Default)]
struct RowsOf<'r> {
    /// The package's one row, or [`RowsOf::TIED`].
    first: FastMap<&'r str, usize>,
    more: FastMap<&'r str, Vec<usize>>,
}

impl<'r> RowsOf<'r> {
    /// In `first`: the package's rows are in `more`.
    const TIED: usize = usize::MAX;

    /// Row `i` is one of `id`'s; `true` when it is the first.
    fn add(&mut self, id: &'r str, i: usize) -> bool {
        match self.first.entry(id) {
            Entry::Vacant(slot) => {
                slot.insert(i);
                true
            }
            Entry::Occupied(mut first) => {
                let first = std::mem::replace(first.get_mut(), Self::TIED);
                self.more.entry(id).or_insert_with(|| vec![first]).push(i);
                false
            }
        }
    }

    fn get(&self, id: &str) -> Option<&[usize]> {
        match self.first.get(id)? {
            &Self::TIED => self.more.get(id).map(Vec::as_slice),
            only => Some(std::slice::from_ref(only)),
        }
    }
}

/// How many `list()` rows the reading thread hands over at a time.
const CHUNK: usize = 256;

/// The server's `list()` rows, in the engine's order, with what `doctor` made of each (their
/// texts are not kept: a large registry's rows hold hundreds of megabytes).
#[derive(Default)]
struct Checked {
    parsed: Vec<ParsedRow>,
    /// The problems [`check_row`]'s schema check found in each row.
    schema: Vec<Option<Problems>>,
}

/// A row's first problems against the ObjectStack schemas as `doctor --json` writes them
/// (`path: message`), written on the thread that checked it.
struct Problems {
    problems: Vec<String>,
    /// Whether it has problems beyond these.
    more: bool,
}

impl Problems {
    /// What a row's check found; `None` when it has no problem (or a text is not JSON).
    fn of(check: Option<StoredCheck>) -> Option<Problems> {
        let check = check.filter(|c| !c.problems.is_empty())?;
        Some(Problems {
            problems: check.problems.iter().map(ToString::to_string).collect(),
            more: check.more,
        })
    }
}

/// `JSON.parse` of a `list()` row (its manifest cut down to what the boot reads), and the row
/// against the ObjectStack schemas as `schema::check_stored` reads a stored row (`None` when
/// a text is not JSON to it). Every row is checked, not only the latest ones, so that the
/// check runs while rows are still being read (ties make a few more rows than packages); the
/// manifest is read once for both.
fn check_row(row: &ListRow<'_>) -> (ParsedRow, Option<StoredCheck>) {
    check_written_row(row).unwrap_or_else(|| check_row_tree(row))
}

/// [`check_row`] through the parsed tree, for any row.
fn check_row_tree(row: &ListRow<'_>) -> (ParsedRow, Option<StoredCheck>) {
    let mut parsed = ParsedRow::parse(row);
    let schema = parsed.stored_manifest().and_then(|manifest| {
        let metadata = || canonical::parse_stored(row.metadata?).ok();
        schema::check_stored_tree(manifest, metadata, SCHEMA_PROBLEMS)
    });
    parsed.keep_boot_members();
    (parsed, schema)
}

/// [`check_row`] of a row whose two texts are exactly what the writer writes (every row the
/// service stored, in practice): the manifest is read once, straight into the value the
/// schemas check, and the boot's members are taken from that. `None` for any other row.
fn check_written_row(row: &ListRow<'_>) -> Option<(ParsedRow, Option<StoredCheck>)> {
    let (manifest, metadata) = (row.manifest?, row.metadata?);
    if !canonical::is_written_form(manifest.as_bytes())
        || !canonical::is_written_form(metadata.as_bytes())
    {
        return None;
    }
    let tree = schema::written_json(manifest)?;
    let metadata = || {
        schema::written_json(metadata)
            .or_else(|| Some(schema::to_json(&canonical::parse_stored(metadata).ok()?)))
    };
    let schema = schema::check_stored_json(&tree, metadata, SCHEMA_PROBLEMS);
    Some((
        ParsedRow::written(row.row_id, row.row_version, &tree),
        schema,
    ))
}

type CheckedChunk = Vec<(ParsedRow, Option<Problems>)>;

/// [`check_row`] of each row of a chunk. The rows' texts and the manifest trees beyond what
/// the boot reads are freed here, on the checking threads, rather than all at once at the
/// end.
fn check_rows(rows: RowBatch) -> CheckedChunk {
    list_rows(&rows)
        .map(|row| {
            let (parsed, check) = check_row(&row);
            (parsed, Problems::of(check))
        })
        .collect()
}

/// The next chunk of rows to check, waiting for one unless `now`; `None` when there is none
/// (every sender is gone, or `now` and none is waiting).
fn next_chunk(
    receiver: &Mutex<mpsc::Receiver<(usize, RowBatch)>>,
    now: bool,
) -> Option<(usize, RowBatch)> {
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

/// Every package's latest row (one of its `list()` rows, by index, in the order of the
/// packages) that breaks the ObjectStack schemas: the problems [`check_row`] found, taken.
fn schema_warnings(
    list: &[ParsedRow],
    checks: &mut [Option<Problems>],
    latest_rows: &[Option<usize>],
) -> Vec<SchemaWarning> {
    latest_rows
        .iter()
        .filter_map(|&i| {
            let i = i?;
            let row = &list[i];
            let found = checks[i].take()?;
            Some(SchemaWarning {
                id: row.row_id.clone(),
                version: row.row_version.clone(),
                problems: found.problems,
                more: found.more,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(manifest: &'a str, metadata: &'a str) -> ListRow<'a> {
        ListRow {
            row_id: "com.acme.crm",
            row_version: "1.0.0",
            manifest: Some(manifest),
            metadata: Some(metadata),
        }
    }

    /// The written-form shortcut answers what the tree gives, for rows that pass and rows
    /// that fail the schemas in the manifest, in the metadata, or in both.
    #[test]
    fn a_written_row_is_checked_as_its_tree_is() {
        let manifests = [
            r#"{"id":"com.acme.crm","version":"1.0.0","name":"CRM","type":"app"}"#,
            r#"{"id":"com.acme.crm","version":"1.0.0","name":"CRM","type":"app","engines":{"protocol":">=17"},"namespace":"crm","extra":[1,2.5,-3e-7,1e+21]}"#,
            r#"{"0":"index first","id":"com.acme.crm","version":"1.0.0","type":"ap","autor":{"name":"x\n\"y\u0001"}}"#,
            r#"{"id":5,"version":"9007199254740992","name":"é😀","__proto__":{"version":"2.0.0"}}"#,
            r#"["not","an","object"]"#,
            r#""a string""#,
            "{}",
        ];
        let metadatas = [
            "{}",
            r#"{"objects":[{"name":"crm_account","label":"Account","fields":{}}],"views":[]}"#,
            r#"{"objects":[{"name":"crm_account"}],"apps":[{"name":"x"}],"views":"not an array","unknown":[{}]}"#,
            "[]",
        ];
        let mut shortcuts = 0;
        for manifest in manifests {
            for metadata in metadatas {
                let row = row(manifest, metadata);
                if let Some(fast) = check_written_row(&row) {
                    shortcuts += 1;
                    assert_eq!(fast, check_row_tree(&row), "{manifest} {metadata}");
                }
            }
        }
        assert_eq!(shortcuts, manifests.len() * metadatas.len());
        // A text the writer would not write (whitespace) takes the tree.
        assert_eq!(check_written_row(&row(r#"{ "id":"x"}"#, "{}")), None);
    }
}
