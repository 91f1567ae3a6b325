//! Comparing two registries (spec 11): every version of both, in (id, version) order, as only
//! in A, only in B, the same, or the same id@version with different contents (the dangerous
//! case), and for every package whether its latest or its served version differs.
//!
//! Cheap by construction: each side's (id, version, hash) rows are read in key-ordered chunks
//! through the primary key's index and merged, so nothing is held beyond a chunk and one
//! package; the latest and served versions come from each side's own list (the same query
//! as `list`). No manifest or metadata text is read here.

use std::collections::HashMap;
use std::sync::mpsc;

use super::{text, Registry, RegistryError, REMOTE_PAGE};
use crate::store::{Span, Stmt, Value, ValueRef};

/// Rows a local side hands over per chunk (a remote side sizes its own pages).
const LOCAL_CHUNK: usize = 4096;

/// How one id@version stands between the two registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    OnlyA,
    OnlyB,
    Same,
    /// The same id@version with a different hash: two registries answer different contents
    /// under one name.
    Differs,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::OnlyA => "only_a",
            VersionState::OnlyB => "only_b",
            VersionState::Same => "same",
            VersionState::Differs => "differs",
        }
    }
}

/// One version as the two registries hold it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionComparison {
    pub version: String,
    pub state: VersionState,
    pub a_hash: Option<String>,
    pub b_hash: Option<String>,
}

/// One package as the two registries hold it: its versions in version order, and which
/// version each side calls latest and serves (`None`: absent there, or served as nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageComparison {
    pub id: String,
    pub a_latest: Option<String>,
    pub b_latest: Option<String>,
    pub a_served: Option<String>,
    pub b_served: Option<String>,
    pub versions: Vec<VersionComparison>,
}

impl PackageComparison {
    /// Whether both registries hold the package and call different versions latest (a
    /// package on one side only is told by its versions).
    pub fn latest_differs(&self) -> bool {
        self.on_both() && self.a_latest != self.b_latest
    }

    /// Whether both registries hold the package and the server's `get(id)` answers
    /// differently.
    pub fn served_differs(&self) -> bool {
        self.on_both() && self.a_served != self.b_served
    }

    fn on_both(&self) -> bool {
        self.a_latest.is_some() && self.b_latest.is_some()
    }

    /// Every version the same, and the same latest and served version on both sides.
    pub fn identical(&self) -> bool {
        !self.latest_differs()
            && !self.served_differs()
            && self.versions.iter().all(|v| v.state == VersionState::Same)
    }
}

/// The counts of a comparison: versions by state, packages by what differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompareSummary {
    pub packages: u64,
    pub identical_packages: u64,
    pub versions: u64,
    pub only_a: u64,
    pub only_b: u64,
    pub same: u64,
    pub differs: u64,
    pub latest_differs: u64,
    pub served_differs: u64,
}

impl CompareSummary {
    /// Whether the two registries hold exactly the same packages, versions and contents,
    /// with the same latest and served versions.
    pub fn identical(&self) -> bool {
        self.packages == self.identical_packages
    }

    fn count(&mut self, p: &PackageComparison) {
        self.packages += 1;
        self.identical_packages += u64::from(p.identical());
        self.latest_differs += u64::from(p.latest_differs());
        self.served_differs += u64::from(p.served_differs());
        for v in &p.versions {
            self.versions += 1;
            *match v.state {
                VersionState::OnlyA => &mut self.only_a,
                VersionState::OnlyB => &mut self.only_b,
                VersionState::Same => &mut self.same,
                VersionState::Differs => &mut self.differs,
            } += 1;
        }
    }
}

/// Every package's latest version and the version the server's `get(id)` answers, by id.
pub type Heads = HashMap<String, (String, Option<String>)>;

/// One row of a side's key-ordered stream: (id, version, hash).
pub type KeyRow = (String, String, String);

/// Where a side's key-ordered rows come from, a chunk at a time (`None`: no more).
trait Chunks<E> {
    fn next_chunk(&mut self) -> Result<Option<Vec<KeyRow>>, E>;
}

/// A registry read a chunk at a time, in (id, version) order.
struct Side<'r> {
    registry: &'r Registry,
    /// The last key read, where the next chunk starts after.
    after: Option<(String, String)>,
    done: bool,
}

impl<'r> Side<'r> {
    fn new(registry: &'r Registry) -> Self {
        Side {
            registry,
            after: None,
            done: false,
        }
    }
}

impl Chunks<RegistryError> for Side<'_> {
    fn next_chunk(&mut self) -> Result<Option<Vec<KeyRow>>, RegistryError> {
        if self.done {
            return Ok(None);
        }
        let store = &self.registry.store;
        let rows = if store.pages() {
            REMOTE_PAGE
        } else {
            LOCAL_CHUNK
        };
        let after = self.after.clone();
        // `id >= ?` first, so the engine seeks the primary key's index instead of scanning.
        let page = |limit: usize| match &after {
            None => Stmt::new(
                format!(
                    "SELECT id, version, hash FROM sys_packages ORDER BY id, version LIMIT {limit}"
                ),
                vec![],
            ),
            Some((id, version)) => Stmt::new(
                format!(
                    "SELECT id, version, hash FROM sys_packages WHERE id >= ? \
                     AND (id > ? OR version > ?) ORDER BY id, version LIMIT {limit}"
                ),
                vec![id.clone().into(), id.clone().into(), version.clone().into()],
            ),
        };
        let mut chunk = Vec::new();
        let asked = store.query_page(rows, &page, &mut |row: &[Value]| {
            let cell = |i: usize| text(row.get(i).cloned());
            chunk.push((cell(0), cell(1), cell(2)));
            true
        })?;
        self.done = chunk.len() < asked;
        if let Some((id, version, _)) = chunk.last() {
            self.after = Some((id.clone(), version.clone()));
        }
        Ok((!chunk.is_empty()).then_some(chunk))
    }
}

/// A side's chunks as they arrive from the thread that reads it.
struct Received<E>(mpsc::Receiver<Message<E>>);

/// What a side's thread sends: first its target and heads, then its chunks, or why it failed.
enum Message<E> {
    Opened { target: String, heads: Heads },
    Chunk(Vec<KeyRow>),
    Failed(E),
}

impl<E> Chunks<E> for Received<E> {
    fn next_chunk(&mut self) -> Result<Option<Vec<KeyRow>>, E> {
        match self.0.recv() {
            Ok(Message::Chunk(chunk)) => Ok(Some(chunk)),
            Ok(Message::Failed(e)) => Err(e),
            // The thread finished (its sender is gone): no more rows.
            Ok(Message::Opened { .. }) | Err(_) => Ok(None),
        }
    }
}

/// A side's rows one at a time, over its chunks.
struct Rows<C> {
    chunks: C,
    chunk: std::collections::VecDeque<KeyRow>,
    done: bool,
}

impl<C> Rows<C> {
    fn new(chunks: C) -> Self {
        Rows {
            chunks,
            chunk: std::collections::VecDeque::default(),
            done: false,
        }
    }

    fn peek<E>(&mut self) -> Result<Option<(&str, &str)>, E>
    where
        C: Chunks<E>,
    {
        while self.chunk.is_empty() && !self.done {
            match self.chunks.next_chunk()? {
                Some(chunk) => self.chunk.extend(chunk),
                None => self.done = true,
            }
        }
        Ok(self.chunk.front().map(|(i, v, _)| (i.as_str(), v.as_str())))
    }

    fn next(&mut self) -> KeyRow {
        self.chunk.pop_front().unwrap_or_default()
    }
}

impl Registry {
    /// Every package's latest version and served version, from the list (one row per package).
    pub fn heads(&self) -> Result<Heads, RegistryError> {
        let mut heads = Heads::new();
        self.list_with(&mut |page| {
            for s in page {
                let served = s.served.version(&s.version).map(str::to_owned);
                heads.insert(s.id, (s.version, served));
            }
        })?;
        Ok(heads)
    }
}

/// Compares registry `a` with registry `b`: hands every package to `each` in id order, with
/// its versions in version order (byte order, as SQLite sorts text), and returns the counts.
/// `each` returns `false` to stop early (the counts then cover what was handed over).
pub fn compare(
    a: &Registry,
    b: &Registry,
    each: &mut dyn FnMut(PackageComparison) -> bool,
) -> Result<CompareSummary, RegistryError> {
    let (heads_a, heads_b) = (a.heads()?, b.heads()?);
    merge(
        (&heads_a, &heads_b),
        Rows::new(Side::new(a)),
        Rows::new(Side::new(b)),
        each,
    )
}

/// [`compare`] with each registry opened and read on its own thread (the two sides cost the
/// same and the machine has cores for both), merged on this one. `started` is told both
/// targets (as they may be shown) once both are open, before the first package.
pub fn compare_in_parallel<E: From<RegistryError> + Send>(
    open_a: impl FnOnce() -> Result<Registry, E> + Send,
    open_b: impl FnOnce() -> Result<Registry, E> + Send,
    started: &mut dyn FnMut(&str, &str) -> Result<(), E>,
    each: &mut dyn FnMut(PackageComparison) -> bool,
) -> Result<CompareSummary, E> {
    fn side<E: From<RegistryError>>(
        open: impl FnOnce() -> Result<Registry, E>,
        tx: &mpsc::SyncSender<Message<E>>,
    ) {
        let read = || -> Result<(), E> {
            let registry = open()?;
            let heads = registry.heads()?;
            let target = registry.target().to_owned();
            if tx.send(Message::Opened { target, heads }).is_err() {
                return Ok(());
            }
            if registry.store.pages() {
                let mut rows = Side::new(&registry);
                while let Some(chunk) = rows.next_chunk()? {
                    if tx.send(Message::Chunk(chunk)).is_err() {
                        break;
                    }
                }
                return Ok(());
            }
            // A local file in one pass through a memory map: the hash follows the texts in
            // the row, so every row's pages are walked, and a read() per page would double
            // the cost.
            let mut chunk = Vec::with_capacity(LOCAL_CHUNK);
            let mut open = true;
            registry
                .store
                .scan(
                    &Stmt::new(
                        "SELECT id, version, hash FROM sys_packages ORDER BY id, version",
                        vec![],
                    ),
                    Span::Whole,
                    &mut |row: &[ValueRef<'_>]| {
                        let cell = |i: usize| {
                            row.get(i)
                                .and_then(|v| v.text())
                                .map(std::borrow::Cow::into_owned)
                                .unwrap_or_default()
                        };
                        chunk.push((cell(0), cell(1), cell(2)));
                        if chunk.len() >= LOCAL_CHUNK {
                            let full =
                                std::mem::replace(&mut chunk, Vec::with_capacity(LOCAL_CHUNK));
                            open = tx.send(Message::Chunk(full)).is_ok();
                        }
                        open
                    },
                )
                .map_err(RegistryError::from)?;
            if open && !chunk.is_empty() {
                let _ = tx.send(Message::Chunk(chunk));
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = tx.send(Message::Failed(e));
        }
    }
    std::thread::scope(|scope| {
        let (tx_a, rx_a) = mpsc::sync_channel(4);
        let (tx_b, rx_b) = mpsc::sync_channel(4);
        scope.spawn(move || side(open_a, &tx_a));
        scope.spawn(move || side(open_b, &tx_b));
        let opened = |rx: &mpsc::Receiver<Message<E>>| match rx.recv() {
            Ok(Message::Opened { target, heads }) => Ok((target, heads)),
            Ok(Message::Failed(e)) => Err(e),
            Ok(Message::Chunk(_)) | Err(_) => Err(E::from(RegistryError::Store(
                crate::store::StoreError::Other {
                    target: String::new(),
                    message: "the comparison's reader stopped before opening its registry".into(),
                },
            ))),
        };
        let (target_a, heads_a) = opened(&rx_a)?;
        let (target_b, heads_b) = opened(&rx_b)?;
        started(&target_a, &target_b)?;
        merge(
            (&heads_a, &heads_b),
            Rows::new(Received(rx_a)),
            Rows::new(Received(rx_b)),
            each,
        )
    })
}

/// The merge of two sides' key-ordered rows into packages.
fn merge<E, CA: Chunks<E>, CB: Chunks<E>>(
    (heads_a, heads_b): (&Heads, &Heads),
    mut side_a: Rows<CA>,
    mut side_b: Rows<CB>,
    each: &mut dyn FnMut(PackageComparison) -> bool,
) -> Result<CompareSummary, E> {
    let mut summary = CompareSummary::default();
    let mut current: Option<PackageComparison> = None;
    loop {
        let order = match (side_a.peek()?, side_b.peek()?) {
            (None, None) => break,
            (Some(ka), Some(kb)) => Some(ka.cmp(&kb)),
            (Some(_), None) => Some(std::cmp::Ordering::Less),
            (None, Some(_)) => None,
        };
        let (id, version, a_hash, b_hash) = match order {
            Some(std::cmp::Ordering::Equal) => {
                let (id, version, ha) = side_a.next();
                let (_, _, hb) = side_b.next();
                (id, version, Some(ha), Some(hb))
            }
            Some(std::cmp::Ordering::Less) => {
                let (id, version, ha) = side_a.next();
                (id, version, Some(ha), None)
            }
            _ => {
                let (id, version, hb) = side_b.next();
                (id, version, None, Some(hb))
            }
        };
        if current.as_ref().is_some_and(|p| p.id != id) {
            if let Some(done) = current.take() {
                summary.count(&done);
                if !each(done) {
                    return Ok(summary);
                }
            }
        }
        let package = current.get_or_insert_with(|| {
            let (a_latest, a_served) = heads_a.get(&id).cloned().unzip();
            let (b_latest, b_served) = heads_b.get(&id).cloned().unzip();
            PackageComparison {
                a_latest,
                b_latest,
                a_served: a_served.flatten(),
                b_served: b_served.flatten(),
                id,
                versions: Vec::new(),
            }
        });
        let state = match (&a_hash, &b_hash) {
            (Some(x), Some(y)) if x == y => VersionState::Same,
            (Some(_), Some(_)) => VersionState::Differs,
            (Some(_), None) => VersionState::OnlyA,
            _ => VersionState::OnlyB,
        };
        package.versions.push(VersionComparison {
            version,
            state,
            a_hash,
            b_hash,
        });
    }
    if let Some(done) = current.take() {
        summary.count(&done);
        each(done);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{scratch_registry, Allow, PublishOptions};

    fn publish(r: &Registry, id: &str, version: &str, object: &str) -> Result<(), RegistryError> {
        let doc = format!(
            r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"T"}},"metadata":{{"objects":[{{"name":"{object}"}}]}}}}"#
        );
        let options = PublishOptions {
            allow: Allow::EVERYTHING,
            ..PublishOptions::default()
        };
        r.publish(&doc, "doc", options).map(|_| ())
    }

    #[test]
    fn every_state_is_found_and_chunks_do_not_split_packages_wrongly() -> Result<(), RegistryError>
    {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let (a, b) = (
            scratch_registry(&dir.path().join("a.db"))?,
            scratch_registry(&dir.path().join("b.db"))?,
        );
        // Enough rows that a local side reads several chunks (inserted directly: a publish
        // per row would replay the boot each time).
        publish(&a, "com.acme.p00000", "1.0.0", "x")?;
        publish(&b, "com.acme.p00000", "1.0.0", "x")?;
        for r in [&a, &b] {
            r.store.batch(&[Stmt::new(
                format!(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                     INSERT INTO sys_packages (id, version, manifest, metadata, hash) \
                     SELECT printf('com.acme.p%05d', i), '1.0.0', s.manifest, s.metadata, s.hash \
                     FROM n, sys_packages s",
                    LOCAL_CHUNK + 9
                ),
                vec![],
            )])?;
        }
        publish(&a, "com.acme.only", "1.0.0", "x")?;
        publish(&b, "com.acme.p00003", "2.0.0", "x")?;
        publish(&a, "com.acme.p00004", "1.0.1", "y")?;
        publish(&b, "com.acme.p00004", "1.0.1", "z")?;
        let mut seen = Vec::new();
        let summary = compare(&a, &b, &mut |p| {
            if !p.identical() {
                seen.push(p);
            }
            true
        })?;
        assert_eq!(summary.packages, LOCAL_CHUNK as u64 + 11);
        assert_eq!((summary.only_a, summary.only_b, summary.differs), (1, 1, 1));
        assert_eq!(summary.same, LOCAL_CHUNK as u64 + 10);
        assert!(!summary.identical());
        let ids: Vec<&str> = seen.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["com.acme.only", "com.acme.p00003", "com.acme.p00004"]);
        assert_eq!(seen[1].b_latest.as_deref(), Some("2.0.0"));
        assert_eq!(seen[1].a_latest.as_deref(), Some("1.0.0"));
        assert_eq!(seen[2].versions[1].state, VersionState::Differs);
        assert_eq!(seen[0].b_latest, None);

        let same = compare(&a, &a, &mut |_| true)?;
        assert!(same.identical());
        Ok(())
    }
}
