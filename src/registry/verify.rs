//! Verifying rows from their stored texts: one row ([`verify_record`]: the hash over exactly
//! those texts, the identity against the manifest, the canonical form), one version loaded
//! for inspection with its texts parsed, and every row of a scope streamed with progress and
//! a way to cancel — on a local file split among one reader connection per core.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use super::canonical::{self, CanonicalError, Hasher, JsValue};
use super::manifest::DocumentProblem;
use super::record::{PackageRecord, Problem, Verification, VerifyReport, Warning};
use super::schema;
use super::{Registry, RegistryError, BYTE_BOUND_ROWS};
use crate::store::{Span, Stmt, Store, StoreError, Value, ValueRef};

/// Which rows a verify covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Package(String),
    Version(String, String),
}

/// Progress of a running verify, handed to the caller after each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    pub checked: u64,
    pub total: u64,
    pub bytes: u64,
    pub failed: u64,
}

/// What a verify checks beyond the hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Check every row against the ObjectStack schemas (`verify --schema`): the warning
    /// `schema_invalid`. Opt-in, because it parses every item of every row.
    pub schema: bool,
}

/// The most schema problems one row's details list.
const SCHEMA_DETAILS: usize = 5;

/// Adds the `schema_invalid` warning to `v` when the row's texts break the ObjectStack
/// schemas, with one detail line per problem (the first [`SCHEMA_DETAILS`], then a line
/// saying there are more). Texts that are not JSON are left to the failures verify already
/// reports.
pub fn add_schema_warnings(manifest: &str, metadata: &str, v: &mut Verification) {
    let Some(found) = schema::check_stored(manifest, metadata, SCHEMA_DETAILS) else {
        return;
    };
    if found.problems.is_empty() {
        return;
    }
    v.warnings.push(Warning::SchemaInvalid);
    for p in &found.problems {
        v.details.push(format!("schema_invalid: {p}"));
    }
    if found.more {
        v.details.push(
            "schema_invalid: … and more (`pkgdeck check` on the exported document lists every \
             problem)"
                .into(),
        );
    }
}

/// One version as an inspection needs it: the stored row, its two texts parsed (or why
/// not), its verification, and what the ObjectStack schemas say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRecord {
    pub record: PackageRecord,
    pub manifest: Result<JsValue, CanonicalError>,
    pub metadata: Result<JsValue, CanonicalError>,
    pub verification: Verification,
    /// The schema problems of the row (spec 9); `None` when a text is not JSON.
    pub schema: Option<Vec<DocumentProblem>>,
}

impl LoadedRecord {
    /// Parses, verifies and checks `record` against the schemas.
    pub fn new(record: PackageRecord) -> LoadedRecord {
        let verification = verify_record(&record, &mut Hasher::new());
        let manifest = canonical::parse(&record.manifest);
        let metadata = canonical::parse(&record.metadata);
        let schema = match (&manifest, &metadata) {
            (Ok(m), Ok(d)) => Some(schema::check_parts(Some(m), Some(d))),
            _ => None,
        };
        LoadedRecord {
            record,
            manifest,
            metadata,
            verification,
            schema,
        }
    }
}

/// The columns a verify reads, in the order [`StoredRow::from_values`] takes them.
const VERIFY_COLUMNS: &str = "rowid, id, version, manifest, metadata, hash";

/// A row as verify reads it: its texts borrowed from the store wherever they are valid UTF-8,
/// and otherwise exactly the texts a [`PackageRecord`] of the same row holds.
struct StoredRow<'a> {
    rowid: i64,
    id: Cow<'a, str>,
    version: Cow<'a, str>,
    manifest: Cow<'a, str>,
    metadata: Cow<'a, str>,
    hash: Cow<'a, str>,
}

impl<'a> StoredRow<'a> {
    /// From the values of [`VERIFY_COLUMNS`].
    fn from_values(row: &[ValueRef<'a>]) -> StoredRow<'a> {
        let text = |i: usize| row.get(i).and_then(|v| v.text()).unwrap_or_default();
        StoredRow {
            rowid: row.first().and_then(|v| v.as_i64()).unwrap_or_default(),
            id: text(1),
            version: text(2),
            manifest: text(3),
            metadata: text(4),
            hash: text(5),
        }
    }

    fn of(record: &'a PackageRecord) -> StoredRow<'a> {
        StoredRow {
            rowid: record.rowid,
            id: Cow::Borrowed(&record.id),
            version: Cow::Borrowed(&record.version),
            manifest: Cow::Borrowed(&record.manifest),
            metadata: Cow::Borrowed(&record.metadata),
            hash: Cow::Borrowed(&record.hash),
        }
    }

    fn bytes(&self) -> u64 {
        (self.manifest.len() + self.metadata.len()) as u64
    }
}

/// The bytes of a text (or BLOB) value as the store holds them.
fn raw<'a>(v: Option<&ValueRef<'a>>) -> Option<&'a [u8]> {
    match v? {
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(b),
        _ => None,
    }
}

/// The size of the row of [`VERIFY_COLUMNS`] `values` when it is certainly clean — its texts
/// hash to its hash, are UTF-8 exactly as JSON.stringify writes them, and its manifest names
/// it — decided on the bytes in place, without converting, copying or building anything.
/// `None` means "not sure": [`verify_row`] says what is wrong, if anything. (Bytes the
/// recogniser vouches for are UTF-8, so they are the very texts a [`PackageRecord`] holds.)
fn clean_row_bytes(values: &[ValueRef<'_>], hasher: &mut Hasher) -> Option<u64> {
    let text = |i: usize| std::str::from_utf8(raw(values.get(i))?).ok();
    let (id, version, hash) = (text(1)?, text(2)?, text(5)?);
    let (manifest, metadata) = (raw(values.get(3))?, raw(values.get(4))?);
    let clean = canonical::hex_eq(&hasher.hash_bytes(manifest, metadata), hash)
        && canonical::canonical_id_and_version(manifest) == Some((id, version))
        && canonical::is_written_form(metadata);
    clean.then_some((manifest.len() + metadata.len()) as u64)
}

/// The verification [`verify_row`] gives a row that [`clean_row_bytes`] vouched for, built
/// from the row alone: its computed hash is the stored one in lowercase (they are equal up
/// to case), its manifest names it, and nothing is wrong.
fn clean_verification(row: &StoredRow<'_>) -> Verification {
    Verification {
        rowid: row.rowid,
        id: row.id.to_string(),
        version: row.version.to_string(),
        stored_hash: row.hash.to_string(),
        computed_hash: row.hash.to_ascii_lowercase(),
        manifest_id: Some(row.id.to_string()),
        manifest_version: Some(row.version.to_string()),
        problems: Vec::new(),
        warnings: Vec::new(),
        details: Vec::new(),
    }
}

/// Verifies one row from its stored texts: the hash over exactly those texts, the identity
/// against the manifest, and the canonical form.
pub fn verify_record(record: &PackageRecord, hasher: &mut Hasher) -> Verification {
    verify_row(&StoredRow::of(record), hasher)
}

/// [`verify_record`] of a row as verify reads it.
fn verify_row(record: &StoredRow<'_>, hasher: &mut Hasher) -> Verification {
    let computed = canonical::to_hex(&hasher.hash(&record.manifest, &record.metadata));
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut details = Vec::new();
    if !computed.eq_ignore_ascii_case(&record.hash) {
        problems.push(Problem::HashMismatch);
        details.push(format!(
            "hash_mismatch: stored {} but the stored texts hash to {}",
            record.hash, computed
        ));
    }
    let (mut manifest_id, mut manifest_version) = (None, None);
    let mut noncanonical = Vec::new();
    // Stored texts may hold a lone surrogate escape (well-formed JSON.stringify writes one as
    // `\udxxx`), so they are read with the stored-text leniency; publish stays strict.
    match canonical::parse_stored(&record.manifest) {
        Err(e) => {
            problems.push(Problem::ManifestInvalidJson);
            details.push(format!("manifest_invalid_json: {e}"));
        }
        Ok(m) => {
            manifest_id = m.get("id").and_then(JsValue::as_str).map(str::to_owned);
            manifest_version = m
                .get("version")
                .and_then(JsValue::as_str)
                .map(str::to_owned);
            if manifest_id.as_deref() != Some(record.id.as_ref())
                || manifest_version.as_deref() != Some(record.version.as_ref())
            {
                problems.push(Problem::IdentityMismatch);
                details.push(format!(
                    "identity_mismatch: the row is {} {} but its manifest says {} {}",
                    record.id,
                    record.version,
                    manifest_id.as_deref().unwrap_or("(no id)"),
                    manifest_version.as_deref().unwrap_or("(no version)")
                ));
            }
            // Not `stringify(&m)`: the tree holds U+FFFD for a lone surrogate, so only the
            // text itself can say whether it is what JSON.stringify writes.
            if canonical::is_canonical_stored(&record.manifest) != Ok(true) {
                noncanonical.push("manifest");
            }
        }
    }
    // The metadata is the bulk of a row: check it without building a tree.
    match canonical::is_canonical_stored(&record.metadata) {
        Err(e) => {
            problems.push(Problem::MetadataInvalidJson);
            details.push(format!("metadata_invalid_json: {e}"));
        }
        Ok(false) => noncanonical.push("metadata"),
        Ok(true) => {}
    }
    if !noncanonical.is_empty() {
        warnings.push(Warning::NoncanonicalJson);
        details.push(format!(
            "noncanonical_json: the stored {} text is not what JSON.stringify writes",
            noncanonical.join(" and ")
        ));
    }
    Verification {
        rowid: record.rowid,
        id: record.id.to_string(),
        version: record.version.to_string(),
        stored_hash: record.hash.to_string(),
        computed_hash: computed,
        manifest_id,
        manifest_version,
        problems,
        warnings,
        details,
    }
}

/// One row checked: its size, and its verification when it has something to say (a clean row
/// carries none, so nothing is allocated for it).
struct Checked {
    bytes: u64,
    /// Boxed: most rows carry none, and a batch of them then stays small.
    found: Option<Box<Verification>>,
}

/// What a verify asks of each row beyond its verdict.
#[derive(Debug, Clone, Copy)]
struct Wants {
    options: VerifyOptions,
    /// Every row's verification, clean or not (the console keeps them all).
    every_row: bool,
}

/// Checks the row of [`VERIFY_COLUMNS`] `values`: the quick test on its bytes first, the
/// full verification only for a row that is not certainly clean.
fn check(values: &[ValueRef<'_>], hasher: &mut Hasher, wants: Wants) -> Checked {
    let clean = clean_row_bytes(values, hasher);
    if let (Some(bytes), false, false) = (clean, wants.options.schema, wants.every_row) {
        return Checked { bytes, found: None };
    }
    let row = StoredRow::from_values(values);
    let mut v = match clean {
        Some(_) => clean_verification(&row),
        None => verify_row(&row, hasher),
    };
    if wants.options.schema {
        add_schema_warnings(&row.manifest, &row.metadata, &mut v);
    }
    let keep = wants.every_row || !v.ok() || !v.warnings.is_empty();
    Checked {
        bytes: row.bytes(),
        found: keep.then(|| Box::new(v)),
    }
}

/// The report and the progress as rows are counted into them, in whatever order they come.
struct Tally<'p, 'e> {
    report: VerifyReport,
    state: VerifyProgress,
    progress: &'p mut dyn FnMut(VerifyProgress) -> bool,
    each_row: Option<&'e mut dyn FnMut(&Verification)>,
}

impl Tally<'_, '_> {
    /// Counts one row and tells the caller; `false` when the caller cancels.
    fn count(&mut self, checked: Checked) -> bool {
        self.state.checked += 1;
        self.state.bytes += checked.bytes;
        match checked.found {
            None => self.report.ok += 1,
            Some(v) => {
                let v = *v;
                if let Some(each_row) = self.each_row.as_mut() {
                    each_row(&v);
                }
                if v.ok() {
                    self.report.ok += 1;
                } else {
                    self.state.failed += 1;
                }
                if !v.warnings.is_empty() {
                    self.report.warnings.push(v.clone());
                }
                if !v.ok() {
                    self.report.failed.push(v);
                }
            }
        }
        (self.progress)(self.state)
    }

    fn finish(mut self, cancelled: bool) -> VerifyReport {
        self.report.checked = self.state.checked;
        self.report.cancelled = cancelled;
        self.report
    }
}

/// A registry this small is verified on one connection: the second one would cost more than
/// it saves.
const PARALLEL_MIN_ROWS: u64 = 2_000;

/// Parts of the rowid range per reader: the readers take them in turn, so one that drew
/// heavier rows does not hold the others up.
const PARTS_PER_READER: i64 = 8;

/// Rows a reader checks before it hands them to the calling thread.
const BATCH: usize = 256;

/// What a reader thread sends to the calling thread.
enum Message {
    Rows(Vec<Checked>),
    Failed(StoreError),
}

impl Registry {
    /// One version, parsed and verified, for inspection; a missing version is an error
    /// naming it.
    pub fn load_record(&self, id: &str, version: &str) -> Result<LoadedRecord, RegistryError> {
        self.require(id, Some(version)).map(LoadedRecord::new)
    }

    /// Verifies the rows of `scope` one at a time, streaming (never the whole registry in
    /// memory). `progress` is called after each row and returns `false` to cancel. The report
    /// lists failures and warnings in rowid order, however the rows were read: a whole local
    /// registry is split among one read-only connection per core.
    pub fn verify(
        &self,
        scope: &Scope,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
    ) -> Result<VerifyReport, RegistryError> {
        self.verify_with(scope, VerifyOptions::default(), progress, None)
    }

    /// [`Registry::verify`], also handing every row's verification to `each_row` (ok rows
    /// too: the console keeps each row's result by its hash). Rows split among readers reach
    /// `each_row` in the order they are checked, not always in rowid order.
    pub fn verify_rows(
        &self,
        scope: &Scope,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
        each_row: &mut dyn FnMut(&Verification),
    ) -> Result<VerifyReport, RegistryError> {
        self.verify_with(scope, VerifyOptions::default(), progress, Some(each_row))
    }

    /// [`Registry::verify_rows`] with the checks of `options` added to every row; `each_row`
    /// only when the caller wants every row's verification (it costs one for each clean row).
    pub fn verify_with(
        &self,
        scope: &Scope,
        options: VerifyOptions,
        progress: &mut dyn FnMut(VerifyProgress) -> bool,
        each_row: Option<&mut dyn FnMut(&Verification)>,
    ) -> Result<VerifyReport, RegistryError> {
        let wants = Wants {
            options,
            every_row: each_row.is_some(),
        };
        let (filter, args): (&str, Vec<Value>) = match scope {
            Scope::All => ("", vec![]),
            Scope::Package(id) => (" AND id = ?", vec![id.clone().into()]),
            Scope::Version(id, v) => (
                " AND id = ? AND version = ?",
                vec![id.clone().into(), v.clone().into()],
            ),
        };
        let total = {
            let rows = self.store.query(&Stmt::new(
                format!("SELECT count(*) FROM sys_packages WHERE 1 = 1{filter}"),
                args.clone(),
            ))?;
            rows.rows
                .first()
                .and_then(|r| r.first())
                .and_then(Value::as_i64)
                .unwrap_or(0) as u64
        };
        let mut tally = Tally {
            report: VerifyReport::default(),
            state: VerifyProgress {
                checked: 0,
                total,
                bytes: 0,
                failed: 0,
            },
            progress,
            each_row,
        };
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let remote = self.store.pages();
        if *scope == Scope::All && total >= PARALLEL_MIN_ROWS && threads > 1 {
            // Locally one connection per core; remotely one stream per core, so that the
            // server answers one reader while the other checks its page.
            let readers: Vec<Box<dyn Store>> =
                (0..threads).map_while(|_| self.store.reader()).collect();
            if readers.len() > 1 {
                return self.verify_in_parallel(readers, tally, wants);
            }
        }
        if remote {
            // The next page is fetched on a stream of its own while this one is checked.
            if let Some(reader) = self.store.reader() {
                return self.verify_prefetching(reader, filter, &args, tally, wants);
            }
        }
        let mut hasher = Hasher::new();
        let page = self.store.pages().then_some(BYTE_BOUND_ROWS);
        let mut last_rowid = i64::MIN;
        loop {
            let from = last_rowid;
            // A remote store picks the page size (`limit`), keeping each answer small enough.
            let stmt = |limit: usize| {
                let mut page_args = vec![Value::Integer(from)];
                page_args.extend(args.iter().cloned());
                let mut sql = format!(
                    "SELECT {VERIFY_COLUMNS} FROM sys_packages WHERE rowid > ?{filter} ORDER BY rowid"
                );
                if page.is_some() {
                    sql.push_str(&format!(" LIMIT {limit}"));
                }
                Stmt::new(sql, page_args)
            };
            let mut in_page = 0usize;
            let mut cancelled = false;
            let mut one = |values: &[ValueRef<'_>]| {
                last_rowid = values.first().and_then(|v| v.as_i64()).unwrap_or_default();
                in_page += 1;
                if !tally.count(check(values, &mut hasher, wants)) {
                    cancelled = true;
                    return false;
                }
                true
            };
            let asked = match page {
                // A local file: one borrowed pass over the rows.
                None => {
                    self.store.scan(&stmt(usize::MAX), Span::Whole, &mut one)?;
                    usize::MAX
                }
                Some(rows) => self.store.query_page(rows, &stmt, &mut |row| {
                    let values: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
                    one(&values)
                })?,
            };
            if cancelled {
                return Ok(tally.finish(true));
            }
            if page.is_none() || in_page < asked {
                return Ok(tally.finish(false));
            }
        }
    }

    /// The rows of a remote scope, page by page: a thread reads the pages through `reader`
    /// one after the other (each as many rows as fit in one answer), at most one page ahead of
    /// this thread, which checks them; the report comes out in rowid order as the pages do.
    fn verify_prefetching(
        &self,
        reader: Box<dyn Store>,
        filter: &str,
        args: &[Value],
        mut tally: Tally<'_, '_>,
        wants: Wants,
    ) -> Result<VerifyReport, RegistryError> {
        let (sender, receiver) = mpsc::sync_channel::<Result<Vec<Vec<Value>>, StoreError>>(1);
        let mut outcome = Ok(false);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut last_rowid = i64::MIN;
                loop {
                    let from = last_rowid;
                    let stmt = |limit: usize| {
                        let mut page_args = vec![Value::Integer(from)];
                        page_args.extend(args.iter().cloned());
                        Stmt::new(
                            format!(
                                "SELECT {VERIFY_COLUMNS} FROM sys_packages WHERE rowid > ?{filter} \
                                 ORDER BY rowid LIMIT {limit}"
                            ),
                            page_args,
                        )
                    };
                    let mut rows = Vec::new();
                    let asked = match reader.query_page(BYTE_BOUND_ROWS, &stmt, &mut |row| {
                        rows.push(row.to_vec());
                        true
                    }) {
                        Ok(asked) => asked,
                        Err(e) => {
                            let _ = sender.send(Err(e));
                            return;
                        }
                    };
                    let last = rows.len() < asked;
                    last_rowid = match rows.last().and_then(|r| r.first()).and_then(Value::as_i64) {
                        Some(rowid) => rowid,
                        None => return,
                    };
                    // The checking thread went away (a cancel): stop reading.
                    if sender.send(Ok(rows)).is_err() || last {
                        return;
                    }
                }
            });
            let mut hasher = Hasher::new();
            'pages: for page in &receiver {
                let rows = match page {
                    Ok(rows) => rows,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                };
                for row in &rows {
                    let values: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
                    if !tally.count(check(&values, &mut hasher, wants)) {
                        outcome = Ok(true);
                        break 'pages;
                    }
                }
            }
            // A reader blocked on the full channel wakes up with an error and ends.
            drop(receiver);
        });
        let cancelled = outcome?;
        Ok(tally.finish(cancelled))
    }

    /// Every row, split among `readers` by rowid ranges; each reader checks its rows as they
    /// stream and hands them over in batches, and this thread counts them, calls `progress`
    /// and puts the report back in rowid order. A cancel stops every reader.
    fn verify_in_parallel(
        &self,
        readers: Vec<Box<dyn Store>>,
        mut tally: Tally<'_, '_>,
        wants: Wants,
    ) -> Result<VerifyReport, RegistryError> {
        let Some((first, last)) = self.rowid_bounds()? else {
            return Ok(tally.finish(false));
        };
        // A remote reader pages through its part, each answer as large as the server sends.
        let paged = self.store.pages();
        // A remote reader takes one part: each part starts with a small page (its size is
        // learned from the rows), and the server answers the readers side by side anyway.
        let parts = readers.len() as i64 * if paged { 1 } else { PARTS_PER_READER };
        // Part k covers rowids [start(k), start(k + 1)); i128 so that no range overflows.
        let start = |k: i64| -> i64 {
            let span = i128::from(last) - i128::from(first) + 1;
            (i128::from(first) + span * i128::from(k) / i128::from(parts)) as i64
        };
        let next_part = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let (sender, receiver) = mpsc::sync_channel::<Message>(readers.len() * 4);
        let mut failure = None;
        let mut cancelled = false;
        std::thread::scope(|scope| {
            for reader in readers {
                let sender = sender.clone();
                let (next_part, stop) = (&next_part, &stop);
                scope.spawn(move || {
                    let mut hasher = Hasher::new();
                    let mut batch = Vec::with_capacity(BATCH);
                    loop {
                        let k = next_part.fetch_add(1, Ordering::Relaxed) as i64;
                        if k >= parts || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        // The last part has no upper bound: rows written during the scan
                        // past the old maximum are read as a single scan would read them.
                        let upper = k + 1 < parts;
                        let mut each = |values: &[ValueRef<'_>]| {
                            batch.push(check(values, &mut hasher, wants));
                            if batch.len() == BATCH {
                                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                                if sender.send(Message::Rows(full)).is_err() {
                                    return false;
                                }
                            }
                            !stop.load(Ordering::Relaxed)
                        };
                        let to = upper.then(|| start(k + 1));
                        let read = if paged {
                            scan_paged(&*reader, start(k), to, &mut each)
                        } else {
                            let stmt = range_stmt(Bound::From(start(k)), to, None);
                            reader.scan(&stmt, Span::Whole, &mut each)
                        };
                        if let Err(e) = read {
                            let _ = sender.send(Message::Failed(e));
                            return;
                        }
                    }
                    if !batch.is_empty() {
                        let _ = sender.send(Message::Rows(batch));
                    }
                });
            }
            // Only the readers hold senders now: the channel ends when the last one is done.
            drop(sender);
            'receive: for message in &receiver {
                match message {
                    Message::Rows(rows) => {
                        for checked in rows {
                            if !tally.count(checked) {
                                cancelled = true;
                                break 'receive;
                            }
                        }
                    }
                    Message::Failed(e) => {
                        failure = Some(e);
                        break 'receive;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            // A reader blocked on a full channel wakes up with an error and ends.
            drop(receiver);
        });
        if let Some(e) = failure {
            return Err(e.into());
        }
        let mut report = tally.finish(cancelled);
        report.failed.sort_by_key(|v| v.rowid);
        report.warnings.sort_by_key(|v| v.rowid);
        Ok(report)
    }
}

/// The rows of `reader` with rowids from `from` up to `to` (excluded; no bound when `None`),
/// in rowid order, a page at a time (each as many rows as the store finds fit in one answer),
/// to `each` until it returns `false`.
fn scan_paged(
    reader: &dyn Store,
    from: i64,
    to: Option<i64>,
    each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool,
) -> Result<(), StoreError> {
    let mut after: Option<i64> = None;
    loop {
        let lower = after.map_or(Bound::From(from), Bound::After);
        let stmt = |limit: usize| range_stmt(lower, to, Some(limit));
        let (mut got, mut going, mut last) = (0usize, true, None);
        let asked = reader.query_page(BYTE_BOUND_ROWS, &stmt, &mut |row| {
            got += 1;
            last = row.first().and_then(Value::as_i64);
            let values: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
            going = each(&values);
            going
        })?;
        match last {
            Some(rowid) if going && got >= asked => after = Some(rowid),
            _ => return Ok(()),
        }
    }
}

/// Where a range of rowids starts: at a rowid, or just after one.
#[derive(Clone, Copy)]
enum Bound {
    From(i64),
    After(i64),
}

/// The rows of [`VERIFY_COLUMNS`] from `lower` up to `to` (excluded; no bound when `None`), in
/// rowid order, at most `limit` of them.
fn range_stmt(lower: Bound, to: Option<i64>, limit: Option<usize>) -> Stmt {
    let (op, from) = match lower {
        Bound::From(rowid) => (">=", rowid),
        Bound::After(rowid) => (">", rowid),
    };
    let mut args = vec![Value::Integer(from)];
    let mut sql = format!("SELECT {VERIFY_COLUMNS} FROM sys_packages WHERE rowid {op} ?");
    if let Some(to) = to {
        args.push(Value::Integer(to));
        sql.push_str(" AND rowid < ?");
    }
    sql.push_str(" ORDER BY rowid");
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Stmt::new(sql, args)
}
