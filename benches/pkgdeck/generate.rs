//! Generating a registry the way the reference service writes one: canonical JSON texts,
//! correct hashes, `CURRENT_TIMESTAMP`-shaped times with same-second ties, rows inserted in
//! time order.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use pkgdeck::registry::audit::utc_timestamp;
use pkgdeck::registry::{self, canonical};

use crate::document::{document, package_shape, version_sequence, PackageShape, Weight};
use crate::rng;
use crate::sample::registry_counts;
use crate::Opts;

/// `YYYY-MM-DD HH:MM:SS` of Unix time `t` (UTC, after 1970), as SQLite's CURRENT_TIMESTAMP
/// writes it: the audit log's timestamp without its `T` and `Z`.
fn sqlite_timestamp(t: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(t.unsigned_abs());
    utc_timestamp(at).replacen('T', " ", 1).replace('Z', "")
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
    let mut r = rng::seeded(42);
    let mut order: Vec<usize> = (0..packages)
        .flat_map(|p| std::iter::repeat_n(p, versions))
        .collect();
    for i in (1..order.len()).rev() {
        let j = r.between(0, i);
        order.swap(i, j);
    }
    let bulk: Vec<bool> = (0..packages).map(|_| r.probability(0.03)).collect();
    let mut next_version = vec![0usize; packages];
    let mut t: i64 = 1_609_459_200; // 2021-01-01 00:00:00
    let mut events = Vec::with_capacity(packages * versions);
    for p in order {
        if next_version[p] >= versions {
            continue;
        }
        t += if r.probability(0.12) {
            0
        } else {
            r.between(1, 1200) as i64
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

/// The version of what [`generate`] writes. Cached registries carry it in their file names:
/// change it whenever the generator's output changes, and the next run regenerates them.
pub const GENERATOR_VERSION: u32 = 2;

/// One generated registry the benchmark measures: its size and the weight of its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    pub packages: usize,
    pub versions: usize,
    pub weight: Weight,
}

impl Generated {
    pub fn rows(&self) -> usize {
        self.packages * self.versions
    }

    /// "100k light" for the table.
    pub fn label(&self) -> String {
        let rows = self.rows();
        let size = if rows >= 1000 && rows.is_multiple_of(1000) {
            format!("{}k", rows / 1000)
        } else {
            rows.to_string()
        };
        format!("{size} {}", self.weight.name())
    }

    /// The cache file's name: the shape and the generator version that wrote it.
    fn file_name(&self, version: u32) -> String {
        format!(
            "registry-{}-{}x{}-g{version}.db",
            self.weight.name(),
            self.packages,
            self.versions
        )
    }

    /// The registry in `dir`, generated unless a file of this generator version is there
    /// with the right counts; files of older generator versions are removed. Returns the
    /// path and whether it was generated now.
    pub fn cached(&self, dir: &Path) -> Result<(PathBuf, bool), String> {
        for old in 1..GENERATOR_VERSION {
            let _ = std::fs::remove_file(dir.join(self.file_name(old)));
        }
        let path = dir.join(self.file_name(GENERATOR_VERSION));
        let wrote = generate(&path, self.packages, self.versions, self.weight, false)?;
        Ok((path, wrote))
    }
}

/// Generates `packages` x `versions` rows of `weight` into `path` (through a temporary file,
/// so a cache is never half written), unless `path` already holds that many rows. Returns
/// whether it wrote.
pub fn generate(
    path: &Path,
    packages: usize,
    versions: usize,
    weight: Weight,
    force: bool,
) -> Result<bool, String> {
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
    let shapes: Vec<PackageShape> = (0..packages)
        .map(|p| package_shape(p, packages, weight))
        .collect();
    let sequences: Vec<Vec<String>> = (0..packages)
        .map(|p| version_sequence(p, versions))
        .collect();
    let events = history(packages, versions);
    let mut r = rng::seeded(7);
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
            let updated = if r.probability(0.02) {
                sqlite_timestamp(e.created + r.between(3600, 90 * 86_400) as i64)
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
        "generated {} ({} packages x {} versions, {} rows, {:.0} MB of JSON) in {:.1} s",
        path.display(),
        packages,
        versions,
        weight.name(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

pub fn cmd_gen(args: &[String]) -> Result<(), String> {
    let o = Opts::parse(args, &["packages", "versions"])?;
    let path = o.path("PATH")?;
    let weight = if o.flag("light") {
        Weight::Light
    } else {
        Weight::Heavy
    };
    let wrote = generate(
        &path,
        o.num("packages", 20_000)?,
        o.num("versions", 5)?,
        weight,
        o.flag("force"),
    )?;
    if !wrote {
        eprintln!("{} already holds the right rows; kept", path.display());
    }
    Ok(())
}
