//! The latest version of every package, streamed: a local file in one borrowed pass whose
//! sort holds only keys (for a console, after a first page found from the index alone, so
//! that it does not wait for the whole latest-per-package query), a remote store with the
//! latest set computed once (only its keys, in the list's order, from the `(id, created_at)`
//! index) and the rows then fetched page by page by rowid, so no page runs the
//! latest-per-package query again.

use std::collections::HashMap;
use std::sync::mpsc;

use super::canonical::{self, JsValue};
use super::server::{served_asks, served_from};
use super::{
    fill_served, PackageSummary, Registry, RegistryError, Served, FIRST_PAGE, LATEST_FIRST,
};
use crate::store::{RowBatch, Rows, Span, Stmt, Store, StoreError, Value, ValueRef};

/// Rows of a local list between two asks for the versions the server serves.
const CHUNK: usize = 256;

/// Rows of a local list handed over together after its first page: few enough that the
/// pages in flight stay small, enough that a console does not redraw for every few rows.
const LOCAL_PAGE: usize = 4096;

/// Packages the first page is chosen among: more than the page, so that a tie on
/// `created_at` at the page's edge shows (see [`Registry::first_page`]).
const CANDIDATES: usize = FIRST_PAGE + FIRST_PAGE / 4;

/// The most keys one answer of the latest set asks for (the store still bounds it by bytes).
const KEYS_PAGE: usize = 1_000_000;

/// The most rows one remote page of list rows asks for by rowid (the store still bounds it by
/// bytes): tursodb answers 5,000 rowids in one `IN` list in about 50 ms.
const ROWS_PAGE: usize = 5_000;

/// The latest row of every package: its rowid and its `coalesce(max(created_at), '')`, the
/// first key of the list's order (the latest row's `created_at` is its package's maximum).
pub(super) fn latest_set_sql() -> String {
    format!(
        "SELECT count(*) AS n, coalesce(max(o.created_at), '') AS ca, \
         (SELECT q.rowid FROM sys_packages q WHERE q.id = o.id ORDER BY {} LIMIT 1) AS rid \
         FROM sys_packages o GROUP BY o.id",
        super::LATEST_FIRST
    )
}

/// The columns of a list row, `p` being the latest row: what [`summary_from_values`] reads.
/// `tied`: another version shares the newest second, so the server's get(id) may answer it
/// instead (asked afterwards, for those packages only).
pub(super) const LIST_COLUMNS: &str =
    "p.rowid, p.id, p.version, p.manifest, p.hash, p.created_at, p.updated_at, \
     EXISTS (SELECT 1 FROM sys_packages t WHERE t.id = p.id \
             AND t.created_at IS p.created_at AND t.rowid <> p.rowid) AS tied";

/// Every list row of a local file after `after` (a `(created_at, rowid)` key of the list's
/// order; all of them without), newest first. The latest set is sorted on its keys alone and
/// only then joined to the table (`LIMIT -1` keeps it a sorted table of its own, and the CROSS
/// JOIN keeps it the outer loop), so the sort never holds a manifest.
fn local_stmt(after: Option<After>) -> Stmt {
    let (filter, args) = match after {
        Some((created_at, rowid)) => (
            " WHERE ca < ?1 OR (ca = ?1 AND rid < ?2)",
            vec![created_at, Value::Integer(rowid)],
        ),
        None => ("", vec![]),
    };
    Stmt::new(
        format!(
            "SELECT {LIST_COLUMNS}, k.n \
             FROM (SELECT rid, ca, n FROM ({}){filter} ORDER BY ca DESC, rid DESC LIMIT -1) k \
             CROSS JOIN sys_packages p ON p.rowid = k.rid",
            latest_set_sql()
        ),
        args,
    )
}

/// Rows at the end of the table a first page's threshold is guessed from (see
/// [`threshold_stmt`]).
const SAMPLE: usize = 2 * CANDIDATES;

/// A guess of a `created_at` that at least [`CANDIDATES`] packages reach: the
/// [`CANDIDATES`]-th newest package among the last [`SAMPLE`] rows inserted (nothing when they
/// hold fewer packages). Reading those rows costs a fraction of a millisecond, and on a
/// registry written in time order it lets [`candidates_stmt`] step past nearly every entry
/// of the index at the price of one comparison.
fn threshold_stmt() -> Stmt {
    Stmt::new(
        format!(
            "SELECT ca FROM (SELECT coalesce(max(created_at), '') AS ca FROM \
               (SELECT id, created_at FROM sys_packages ORDER BY rowid DESC LIMIT {SAMPLE}) \
               GROUP BY id) \
             ORDER BY ca DESC LIMIT 1 OFFSET {}",
            CANDIDATES - 1
        ),
        vec![],
    )
}

/// A local registry with at least this many rows has its first page's index scan split
/// between two threads (below it, opening a second connection costs more than it saves).
const SPLIT_MIN_ROWS: i64 = 50_000;

/// Rows whose ids the split point is chosen among (see [`Registry::split_id`]).
const SPLIT_PROBES: i64 = 15;

/// Which packages a scan for candidates covers: every one, or those on one side of an id.
#[derive(Debug, Clone, Copy)]
enum Half<'a> {
    All,
    Below(&'a str),
    From(&'a str),
}

/// The packages with the newest `max(created_at)`, at most `limit`, newest first, each with
/// its latest row's rowid: the grouping reads `idx_packages_latest` alone (a covering scan, no
/// row of the table), and only the chosen packages look up their latest row. With a
/// `threshold`, only the packages that have a row at least that new are grouped (their
/// `max(created_at)` is the same, since their newest row passes); with a `half`, only the
/// ids on that side (a range of the index).
fn candidates_stmt(limit: usize, threshold: Option<&str>, half: Half<'_>) -> Stmt {
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    if let Some(t) = threshold {
        conditions.push("created_at >= ?");
        args.push(Value::from(t));
    }
    match half {
        Half::All => {}
        Half::Below(id) => {
            conditions.push("id < ?");
            args.push(Value::from(id));
        }
        Half::From(id) => {
            conditions.push("id >= ?");
            args.push(Value::from(id));
        }
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    Stmt::new(
        format!(
            "SELECT g.ca, (SELECT q.rowid FROM sys_packages q WHERE q.id = g.id \
                           ORDER BY {LATEST_FIRST} LIMIT 1) AS rid \
             FROM (SELECT id, coalesce(max(created_at), '') AS ca FROM sys_packages{filter} \
                   GROUP BY id ORDER BY ca DESC LIMIT {limit}) g \
             ORDER BY g.ca DESC"
        ),
        args,
    )
}

/// The rows a scan of one statement hands over, on whichever connection reads them.
type Scan<'a> =
    &'a dyn Fn(&Stmt, &mut dyn FnMut(&[ValueRef<'_>]) -> bool) -> Result<(), StoreError>;

/// The candidates of `half`, newest first, read by `scan`.
fn scan_candidates(
    scan: Scan<'_>,
    threshold: Option<&str>,
    half: Half<'_>,
) -> Result<Vec<(RawKey, i64)>, StoreError> {
    let mut candidates = Vec::with_capacity(CANDIDATES);
    scan(&candidates_stmt(CANDIDATES, threshold, half), &mut |row| {
        let rowid = row.get(1).and_then(|v| v.as_i64());
        candidates.push((RawKey::of(row.first()), rowid.unwrap_or_default()));
        true
    })?;
    Ok(candidates)
}

/// `rowids` in the list's order, at most `limit`, with each one's first key.
fn order_stmt(rowids: &[i64], limit: usize) -> Stmt {
    let list: Vec<String> = rowids.iter().map(i64::to_string).collect();
    Stmt::new(
        format!(
            "SELECT rowid, coalesce(created_at, '') AS ca FROM sys_packages \
             WHERE rowid IN ({}) ORDER BY ca DESC, rowid DESC LIMIT {limit}",
            list.join(", ")
        ),
        vec![],
    )
}

/// Where a list goes on from: the `(created_at, rowid)` key of the last row handed over.
type After = (Value, i64);

/// A value exactly as stored, for telling two keys apart: SQLite's `=` on the TEXT and BLOB
/// values a `created_at` key can hold (anything else is never taken as equal).
#[derive(Debug, Clone, PartialEq)]
enum RawKey {
    Text(Vec<u8>),
    Blob(Vec<u8>),
    Other,
}

impl RawKey {
    fn of(value: Option<&ValueRef<'_>>) -> RawKey {
        match value {
            Some(ValueRef::Text(b)) => RawKey::Text(b.to_vec()),
            Some(ValueRef::Blob(b)) => RawKey::Blob(b.to_vec()),
            _ => RawKey::Other,
        }
    }

    /// The key as a statement argument, when it can be bound exactly.
    fn to_value(&self) -> Option<Value> {
        match self {
            RawKey::Text(b) => String::from_utf8(b.clone()).ok().map(Value::Text),
            RawKey::Blob(b) => Some(Value::Blob(b.clone())),
            RawKey::Other => None,
        }
    }
}

/// A list row (the columns of [`LIST_COLUMNS`], then the row count), from values borrowed
/// from the store: a manifest in its written form gives its name and type without a tree.
pub(super) fn summary_from_values(row: &[ValueRef<'_>]) -> (PackageSummary, bool) {
    let text = |i: usize| row.get(i).and_then(|v| v.text());
    let owned = |i: usize| text(i).map(std::borrow::Cow::into_owned);
    let raw = match row.get(3) {
        Some(ValueRef::Text(b) | ValueRef::Blob(b)) => Some(*b),
        _ => None,
    };
    let (name, kind, readable) =
        match raw.and_then(|b| canonical::canonical_string_members(b, [b"name", b"type"])) {
            Some([name, kind]) => (name.map(str::to_owned), kind.map(str::to_owned), true),
            None => {
                let manifest = text(3).unwrap_or_default();
                // For display: a lone surrogate escape the service stored shows as U+FFFD.
                let parsed = canonical::parse_stored(&manifest).ok();
                let field = |key: &str| {
                    parsed
                        .as_ref()
                        .and_then(|m| m.get(key))
                        .and_then(JsValue::as_str)
                        .map(str::to_owned)
                };
                (field("name"), field("type"), parsed.is_some())
            }
        };
    let summary = PackageSummary {
        rowid: row.first().and_then(|v| v.as_i64()).unwrap_or_default(),
        id: owned(1).unwrap_or_default(),
        version: owned(2).unwrap_or_default(),
        name,
        kind,
        manifest_readable: readable,
        hash: owned(4).unwrap_or_default(),
        created_at: owned(5),
        updated_at: owned(6),
        versions: row.get(8).and_then(|v| v.as_i64()).unwrap_or(0) as u64,
        served: Served::Latest,
    };
    (summary, is_tied(row))
}

/// Whether the list row's package shares its newest second with another version (its `tied`
/// column).
fn is_tied(row: &[ValueRef<'_>]) -> bool {
    row.get(7).and_then(|v| v.as_i64()).unwrap_or(0) != 0
}

/// The values of a list row: [`LIST_COLUMNS`], then the row count.
const LIST_WIDTH: usize = 9;

/// Rows of a local `list_each` handed from the reading thread at a time: the first batch
/// this many, so that the writing thread starts early; each next one twice as many, up to
/// [`HAND_OVER_MAX`], so that a large list is handed over in few batches.
const HAND_OVER: usize = 64;
const HAND_OVER_MAX: usize = 256;

/// Rows of a local list as the reading thread hands them over, with the answers of the
/// server's `get()` for their tied packages, in the order those come.
struct ListChunk {
    rows: RowBatch,
    gets: Vec<Rows>,
}

impl ListChunk {
    /// The summaries of its rows, with what the server serves; and its batch, to be filled
    /// again.
    fn summaries(self) -> (Vec<PackageSummary>, RowBatch) {
        let mut values = Vec::with_capacity(LIST_WIDTH);
        let page: Vec<(PackageSummary, bool)> = (0..self.rows.len())
            .map(|i| {
                self.rows.row(i, &mut values);
                summary_from_values(&values)
            })
            .collect();
        let tied = page.iter().filter(|(_, tied)| *tied);
        let served = served_from(self.gets, tied.map(|(s, _)| s.version.as_str()));
        (fill_served(page, served), self.rows)
    }
}

/// Runs the list statement `stmt` on `store`, its rows copied into batches of [`HAND_OVER`]
/// rows and more (a `recycled` batch when there is one), each handed to `hand_over` with the
/// answers of the server's `get()` for its tied packages (asked while the statement is still
/// open, so in its read transaction) until `hand_over` returns `false`.
fn read_chunks(
    store: &dyn Store,
    stmt: &Stmt,
    recycled: &dyn Fn() -> Option<RowBatch>,
    hand_over: &mut dyn FnMut(ListChunk) -> bool,
) -> Result<(), RegistryError> {
    let batch = || recycled().unwrap_or_else(|| RowBatch::new(LIST_WIDTH, HAND_OVER_MAX, 0));
    let mut size = HAND_OVER;
    let mut send = |rows: RowBatch| -> Result<bool, RegistryError> {
        let mut values = Vec::with_capacity(LIST_WIDTH);
        let mut tied = Vec::new();
        for i in 0..rows.len() {
            rows.row(i, &mut values);
            if is_tied(&values) {
                let id = values.get(1).and_then(|v| v.text()).unwrap_or_default();
                tied.push(id.into_owned());
            }
        }
        let gets = if tied.is_empty() {
            Vec::new()
        } else {
            store.query_many(&served_asks(tied.iter().map(String::as_str)))?
        };
        Ok(hand_over(ListChunk { rows, gets }))
    };
    let mut rows = batch();
    let (mut failed, mut stopped) = (None, false);
    store.scan(stmt, Span::Part, &mut |values| {
        rows.push(values);
        if rows.len() < size {
            return true;
        }
        size = (size * 2).min(HAND_OVER_MAX);
        match send(std::mem::replace(&mut rows, batch())) {
            Ok(going) => {
                stopped = !going;
                going
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if !stopped && !rows.is_empty() {
        send(rows)?;
    }
    Ok(())
}

/// The latest set as a remote store computes it: for every package its latest row's rowid
/// (the highest rowid among its rows at `max(created_at)`), its row count, and whether another
/// version shares that newest second; `ca` is the first key of the list's order. Two
/// aggregations over the `(id, created_at)` index and a lookup per package: tursodb answers it
/// for 20,000 packages in about 0.15 s, where a correlated subquery per package (what
/// [`latest_set_sql`] asks, fine for SQLite) takes it 0.6 s.
const REMOTE_KEYS_SQL: &str = "SELECT coalesce(k.m, '') AS ca, max(p.rowid) AS rid, k.n AS n, \
     count(*) > 1 AS tied \
     FROM (SELECT id, max(created_at) AS m, count(*) AS n FROM sys_packages GROUP BY id) k \
     CROSS JOIN sys_packages p WHERE p.id = k.id AND p.created_at IS k.m GROUP BY k.id";

/// The keys of the latest set after `after` (a `(created_at, rowid)` key), newest first, at
/// most `limit`: `ca, rid, n, tied`.
fn keys_stmt(after: Option<&(String, i64)>, limit: usize) -> Stmt {
    let mut sql = format!("SELECT ca, rid, n, tied FROM ({REMOTE_KEYS_SQL})");
    let mut args = Vec::new();
    if let Some((created_at, rowid)) = after {
        sql.push_str(" WHERE ca < ? OR (ca = ? AND rid < ?)");
        args.extend([
            created_at.as_str().into(),
            created_at.as_str().into(),
            Value::Integer(*rowid),
        ]);
    }
    sql.push_str(&format!(" ORDER BY ca DESC, rid DESC LIMIT {limit}"));
    Stmt::new(sql, args)
}

/// The list rows of `rowids` (in no particular order), each with its package's row count.
fn page_rows_stmt(rowids: &[i64]) -> Stmt {
    let list: Vec<String> = rowids.iter().map(i64::to_string).collect();
    Stmt::new(
        format!(
            "SELECT {LIST_COLUMNS}, (SELECT count(*) FROM sys_packages c WHERE c.id = p.id) AS n \
             FROM sys_packages p WHERE p.rowid IN ({})",
            list.join(", ")
        ),
        vec![],
    )
}

/// The first `limit` rows of the list with their keys, in the list's order: the whole list of
/// a small registry in one request.
fn first_page_stmt(limit: usize) -> Stmt {
    Stmt::new(
        format!(
            "SELECT p.rowid, p.id, p.version, p.manifest, p.hash, p.created_at, p.updated_at, \
             k.tied, k.n, k.ca FROM ({}) k CROSS JOIN sys_packages p ON p.rowid = k.rid \
             ORDER BY k.ca DESC, k.rid DESC",
            keys_stmt(None, limit).sql
        ),
        vec![],
    )
}

/// The rows of `rowids` (in no particular order), the columns of [`LIST_COLUMNS`] that are the
/// row's own; `tied` and the row count come with the keys.
fn remote_rows_stmt(rowids: &[i64]) -> Stmt {
    let list: Vec<String> = rowids.iter().map(i64::to_string).collect();
    Stmt::new(
        format!(
            "SELECT rowid, id, version, manifest, hash, created_at, updated_at \
             FROM sys_packages WHERE rowid IN ({})",
            list.join(", ")
        ),
        vec![],
    )
}

/// A key of the latest set: the latest row's rowid, whether it is tied, the row count.
#[derive(Clone, Copy)]
struct LatestKey {
    rowid: i64,
    tied: bool,
    versions: i64,
}

impl Registry {
    /// The newest [`FIRST_PAGE`] rows of a local list, and the key of the last one to go on
    /// from (`None`: the page is the whole list), without the latest-per-package query over
    /// the whole table: the packages whose `max(created_at)` is newest come from the index
    /// alone ([`candidates_stmt`], narrowed by [`threshold_stmt`]'s guess when it has one),
    /// then only the page's rows are read. When the candidates cannot be shown to hold the
    /// page (see [`Registry::candidates`]), the page comes from the whole query as before.
    fn first_page(&self) -> Result<(Vec<PackageSummary>, Option<After>), RegistryError> {
        let mut threshold = None;
        self.store.scan(&threshold_stmt(), Span::Part, &mut |row| {
            // '' (no date at all) would leave out the packages without one: no guess then.
            threshold = row
                .first()
                .and_then(|v| match v {
                    ValueRef::Text(t) => std::str::from_utf8(t).ok(),
                    _ => None,
                })
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            false
        })?;
        let page = match self.candidates(threshold.as_deref())? {
            Some(page) => Some(page),
            None if threshold.is_some() => self.candidates(None)?,
            None => None,
        };
        let Some(order) = page else {
            let page = self.list_page(None, Some(FIRST_PAGE))?;
            let after = (page.len() == FIRST_PAGE)
                .then(|| page.last())
                .flatten()
                .map(|s| {
                    (
                        Value::from(s.created_at.clone().unwrap_or_default()),
                        s.rowid,
                    )
                });
            return Ok((page, after));
        };
        let rowids: Vec<i64> = order.iter().map(|(_, r)| *r).collect();
        let mut rows = Vec::with_capacity(rowids.len());
        if !rowids.is_empty() {
            self.store
                .scan(&page_rows_stmt(&rowids), Span::Part, &mut |row| {
                    rows.push(summary_from_values(row));
                    true
                })?;
        }
        let place: HashMap<i64, usize> = rowids.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        rows.sort_by_key(|(s, _)| place.get(&s.rowid).copied().unwrap_or(usize::MAX));
        let page = self.with_served(rows)?;
        let after = match order.last() {
            Some((key, rowid)) if page.len() == FIRST_PAGE => key.to_value().map(|k| (k, *rowid)),
            _ => None,
        };
        Ok((page, after))
    }

    /// The first page's rowids and keys in the list's order, from the [`CANDIDATES`] newest
    /// packages (of those that reach `threshold`, with one); `None` when they cannot be shown
    /// to hold it. They hold it when they are every package there is, or when every package
    /// they may have missed is older than the page's last: the LIMIT may have cut a tie at
    /// the candidates' last `created_at`, so that must not be the page's last; a threshold
    /// leaves out only packages older than it, so fewer candidates than the limit must still
    /// fill the page. A page whose last key cannot be bound again is not taken either.
    fn candidates(
        &self,
        threshold: Option<&str>,
    ) -> Result<Option<Vec<(RawKey, i64)>>, RegistryError> {
        let split = self.split_id()?;
        let here = |stmt: &Stmt, each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool| {
            self.store.scan(stmt, Span::Part, each)
        };
        let parts = match split
            .as_deref()
            .zip(split.as_ref().and_then(|_| self.store.reader()))
        {
            // The two halves of the index at once, the other on a connection of its own.
            Some((mid, reader)) => std::thread::scope(|scope| {
                let other = scope.spawn(move || {
                    let there = |stmt: &Stmt, each: &mut dyn FnMut(&[ValueRef<'_>]) -> bool| {
                        reader.scan(stmt, Span::Part, each)
                    };
                    scan_candidates(&there, threshold, Half::From(mid))
                });
                let mine = scan_candidates(&here, threshold, Half::Below(mid));
                let other = other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                Ok::<_, StoreError>(vec![mine?, other?])
            })?,
            None => vec![scan_candidates(&here, threshold, Half::All)?],
        };
        // The last key of each scan that its LIMIT cut: packages it left out are no newer.
        let cuts: Vec<RawKey> = parts
            .iter()
            .filter(|p| p.len() == CANDIDATES)
            .filter_map(|p| p.last().map(|(key, _)| key.clone()))
            .collect();
        let candidates = parts.concat();
        let mut order: Vec<(RawKey, i64)> = Vec::with_capacity(FIRST_PAGE);
        if !candidates.is_empty() {
            let rowids: Vec<i64> = candidates.iter().map(|(_, r)| *r).collect();
            self.store
                .scan(&order_stmt(&rowids, FIRST_PAGE), Span::Part, &mut |row| {
                    let rowid = row.first().and_then(|v| v.as_i64()).unwrap_or_default();
                    order.push((RawKey::of(row.get(1)), rowid));
                    true
                })?;
        }
        let last = order.last().map(|(key, _)| key);
        let holds = if order.len() == FIRST_PAGE {
            last.is_some_and(|key| *key != RawKey::Other && cuts.iter().all(|cut| cut != key))
        } else {
            // Fewer than a page: every package there is, unless something was left out.
            threshold.is_none() && cuts.is_empty()
        };
        let bindable = order.len() < FIRST_PAGE || last.is_some_and(|k| k.to_value().is_some());
        Ok((holds && bindable).then_some(order))
    }

    /// An id that splits a large local registry's packages in about two halves: the median
    /// of the ids of [`SPLIT_PROBES`] rows spread evenly over the rowids (a seek each). `None`
    /// for a registry of fewer than [`SPLIT_MIN_ROWS`] rows or a machine of one core.
    fn split_id(&self) -> Result<Option<String>, RegistryError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if cores < 2 {
            return Ok(None);
        }
        let Some((low, high)) = self.rowid_bounds()? else {
            return Ok(None);
        };
        let span = i128::from(high) - i128::from(low);
        if span < i128::from(SPLIT_MIN_ROWS) {
            return Ok(None);
        }
        let probes: Vec<Stmt> = (1..=SPLIT_PROBES)
            .map(|k| {
                let at = i128::from(low) + span * i128::from(k) / i128::from(SPLIT_PROBES + 1);
                Stmt::new(
                    "SELECT id FROM sys_packages WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                    vec![Value::Integer(at as i64)],
                )
            })
            .collect();
        let mut ids: Vec<String> = self
            .store
            .query_many(&probes)?
            .into_iter()
            .filter_map(|rows| rows.rows.into_iter().next()?.into_iter().next())
            .filter_map(|v| match v {
                Value::Text(id) => Some(id),
                _ => None,
            })
            .collect();
        // Byte order: SQLite's order of UTF-8 text.
        ids.sort_unstable();
        Ok(ids.get(ids.len() / 2).cloned())
    }

    /// [`Registry::list_with`] on a local file: [`Registry::first_page`], then the rest in
    /// one pass whose sort holds only keys, handed over [`LOCAL_PAGE`] rows at a time, so
    /// that neither side ever holds more than a page of rows beside what it keeps.
    pub(super) fn list_local(
        &self,
        each_page: &mut dyn FnMut(Vec<PackageSummary>),
    ) -> Result<(), RegistryError> {
        let (first, after) = self.first_page()?;
        each_page(first);
        let Some(after) = after else {
            return Ok(());
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut page = Vec::with_capacity(LOCAL_PAGE);
        let mut failed = None;
        self.store
            .scan(&local_stmt(Some(after)), Span::Part, &mut |values| {
                chunk.push(summary_from_values(values));
                if chunk.len() < CHUNK {
                    return true;
                }
                match self.with_served(std::mem::take(&mut chunk)) {
                    Ok(rows) => page.extend(rows),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
                if page.len() >= LOCAL_PAGE {
                    each_page(std::mem::replace(&mut page, Vec::with_capacity(LOCAL_PAGE)));
                }
                true
            })?;
        if let Some(e) = failed {
            return Err(e);
        }
        page.extend(self.with_served(chunk)?);
        if !page.is_empty() {
            each_page(page);
        }
        Ok(())
    }

    /// The latest version of every package, newest first, one at a time to `each` (which
    /// returns `false` to stop); nothing is held but a few hundred rows. A local file is read
    /// on a second connection by a thread of its own, which steps the query, copies the rows
    /// out a chunk at a time and asks the server's `get()` for the chunk's tied packages, all
    /// in one read transaction; this thread makes the summaries and hands them on, so reading
    /// and writing the list overlap.
    pub fn list_each(
        &self,
        each: &mut dyn FnMut(PackageSummary) -> bool,
    ) -> Result<(), RegistryError> {
        if self.store.pages() {
            let mut going = true;
            return self.list_remote(&mut |page| {
                for summary in page {
                    going = going && each(summary);
                }
            });
        }
        let stmt = local_stmt(None);
        let Some(reader) = self.store.reader() else {
            // No second connection: no table yet (nothing to list), or it could not be
            // opened, and this one reads.
            if !self.store.table_exists()? {
                return Ok(());
            }
            return read_chunks(self.store.store.as_ref(), &stmt, &|| None, &mut |chunk| {
                chunk.summaries().0.into_iter().all(&mut *each)
            });
        };
        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::sync_channel::<ListChunk>(2);
            // Batches go back to the reading thread to be filled again, not freed.
            let (give_back, given_back) = mpsc::channel::<RowBatch>();
            let stmt = &stmt;
            let reading = scope.spawn(move || {
                let recycled = || {
                    let mut rows = given_back.try_recv().ok()?;
                    rows.clear();
                    Some(rows)
                };
                read_chunks(reader.as_ref(), stmt, &recycled, &mut |chunk| {
                    sender.send(chunk).is_ok()
                })
            });
            // Stopping drops the receiver: the reading thread's next hand-over fails and it
            // stops too.
            for chunk in receiver {
                let (summaries, rows) = chunk.summaries();
                if !summaries.into_iter().all(&mut *each) {
                    break;
                }
                let _ = give_back.send(rows);
            }
            match reading.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// The latest set after `after`, in the list's order (newest first), computed once per
    /// answer: usually one answer, as many as the store's byte bound needs.
    fn latest_keys(
        &self,
        mut after: Option<(String, i64)>,
    ) -> Result<Vec<LatestKey>, RegistryError> {
        let mut keys = Vec::new();
        loop {
            let mut got = 0usize;
            let mut last = None;
            let asked = self.store.query_page(
                KEYS_PAGE,
                &|limit| keys_stmt(after.as_ref(), limit),
                &mut |row| {
                    got += 1;
                    let int = |i: usize| row.get(i).and_then(Value::as_i64).unwrap_or_default();
                    let key = LatestKey {
                        rowid: int(1),
                        versions: int(2),
                        tied: int(3) != 0,
                    };
                    keys.push(key);
                    last = Some((
                        row.first()
                            .cloned()
                            .and_then(Value::into_text)
                            .unwrap_or_default(),
                        key.rowid,
                    ));
                    true
                },
            )?;
            if got < asked || last.is_none() {
                return Ok(keys);
            }
            after = last;
        }
    }

    /// [`Registry::list_with`] on a remote store: the first page with its keys in one request
    /// (the whole list of a small registry); then the keys of the rest of the latest set in
    /// one answer, and its rows by rowid a page at a time (as many as the store finds fit in
    /// one answer, at most [`ROWS_PAGE`]), each page put back in the list's order. Every row
    /// is read as a local list reads its rows. A row deleted between the reads is left out.
    pub(super) fn list_remote(
        &self,
        each_page: &mut dyn FnMut(Vec<PackageSummary>),
    ) -> Result<(), RegistryError> {
        let mut first = Vec::new();
        let mut after = None;
        let asked = self
            .store
            .query_page(ROWS_PAGE, &first_page_stmt, &mut |row| {
                let values: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
                let (summary, tied) = summary_from_values(&values);
                let ca = row
                    .get(9)
                    .cloned()
                    .and_then(Value::into_text)
                    .unwrap_or_default();
                after = Some((ca, summary.rowid));
                first.push((summary, tied));
                true
            })?;
        let done = first.len() < asked;
        each_page(self.with_served(first)?);
        if done || after.is_none() {
            return Ok(());
        }
        let keys = self.latest_keys(after)?;
        let mut at = 0;
        while at < keys.len() {
            let rest = &keys[at..];
            let rowids: Vec<i64> = rest.iter().take(ROWS_PAGE).map(|k| k.rowid).collect();
            let mut got: HashMap<i64, Vec<Value>> = HashMap::new();
            let asked = self.store.query_page(
                rowids.len(),
                &|limit| remote_rows_stmt(&rowids[..limit.min(rowids.len())]),
                &mut |row| {
                    let rowid = row.first().and_then(Value::as_i64).unwrap_or_default();
                    got.insert(rowid, row.to_vec());
                    true
                },
            )?;
            let asked = asked.clamp(1, rest.len());
            let page = rest[..asked]
                .iter()
                .filter_map(|key| {
                    let mut row = got.remove(&key.rowid)?;
                    row.extend([
                        Value::Integer(i64::from(key.tied)),
                        Value::Integer(key.versions),
                    ]);
                    let values: Vec<ValueRef<'_>> = row.iter().map(Value::as_value_ref).collect();
                    Some(summary_from_values(&values))
                })
                .collect();
            at += asked;
            each_page(self.with_served(page)?);
        }
        Ok(())
    }
}
