//! `pkgdeck --demo`: a scratch registry in a fresh temporary directory, filled from the
//! sample packages in `assets/` (embedded in the binary). Later versions are derived from
//! each sample in code; the history includes the classic pitfall (a 1.1.1 hotfix published
//! after 2.0.0), a hotfix written by hand with a misspelt view key (valid JSON that passes
//! the manifest rules, so only the ObjectStack schemas notice it), a hotfix published in the
//! same second as the version it fixes (so the ObjectStack server serves the older one), a
//! version whose `engines.protocol` is a number (the server's boot aborts on it, so the Boot
//! screen has an abort to show), and one row edited by hand behind the registry's back, so
//! verify has something to find. Every other row passes the schemas. The directory (registry,
//! trash, audit log) goes when the value drops.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::config::Dirs;
use crate::connect::{self, ConnectError, Request};
use crate::registry::{Allow, PublishOptions, RegistryError};

/// Why the demo registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The scratch directory cannot be created.
    #[error("cannot create {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// The scratch registry cannot be opened.
    #[error(transparent)]
    Open(#[from] ConnectError),
    /// A sample package in `assets/` is not JSON.
    #[error("assets/{name} is not JSON: {source}")]
    Sample {
        name: &'static str,
        source: serde_json::Error,
    },
    /// The history names a package no sample provides.
    #[error("no sample package {id} in assets/")]
    NoSample { id: &'static str },
    /// Publishing a sample failed.
    #[error(transparent)]
    Publish(#[from] RegistryError),
    /// The scratch registry cannot be opened with SQLite to backdate it.
    #[error("cannot open {}: {source}", .path.display())]
    OpenDb {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Backdating or tampering failed.
    #[error("{}: {source}", .path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The sample no longer has the value the tampering changes.
    #[error("the demo could not edit {} {}: the sample no longer has a USD default", TAMPERED.0, TAMPERED.1)]
    Tamper,
}

/// The sample packages: (asset name, text).
const SAMPLES: [(&str, &str); 6] = [
    ("crm.json", include_str!("../assets/crm.json")),
    ("helpdesk.json", include_str!("../assets/helpdesk.json")),
    ("billing.json", include_str!("../assets/billing.json")),
    ("inventory.json", include_str!("../assets/inventory.json")),
    ("people.json", include_str!("../assets/people.json")),
    (
        "slack-gateway.json",
        include_str!("../assets/slack-gateway.json"),
    ),
];

/// The publication history, oldest first: (package id, version, days ago).
const HISTORY: [(&str, &str, u32); 19] = [
    ("com.acme.people", "3.0.0", 540),
    ("com.acme.crm", "1.0.0", 480),
    ("com.acme.helpdesk", "1.0.0", 450),
    ("com.acme.billing", "0.9.0", 420),
    ("com.acme.crm", "1.1.0", 360),
    ("com.acme.people", "3.1.0", 330),
    ("com.acme.helpdesk", "1.1.0", 300),
    ("com.acme.inventory", "1.0.0", 270),
    ("com.acme.billing", "1.0.0", 240),
    ("com.acme.crm", "1.2.0", 200),
    ("com.acme.slack-gateway", "0.1.0", 180),
    ("com.acme.helpdesk", "2.0.0", 120),
    ("com.acme.billing", "1.0.1", 90),
    ("com.acme.inventory", "1.1.0", 75),
    // Published in the same second as 1.1.0 (see TIED): the server serves 1.1.0.
    ("com.acme.inventory", "1.1.1", 75),
    ("com.acme.people", "3.2.0", 60),
    ("com.acme.crm", "2.0.0", 40),
    ("com.acme.slack-gateway", "0.2.0", 20),
    // Published after 2.0.0, so it is what "latest" serves.
    ("com.acme.helpdesk", "1.1.1", 6),
];

/// The row edited by hand: its stored metadata no longer matches its hash.
const TAMPERED: (&str, &str) = ("com.acme.billing", "1.0.0");

/// A hotfix that shares its `created_at` second with the version before it: pkgdeck's latest
/// is the one inserted last, the server's `get()` answers the first (spec 8.2).
const TIED: (&str, &str, &str) = ("com.acme.inventory", "1.1.0", "1.1.1");

/// A version whose `engines.protocol` is the number 17, not a range string: the server's boot
/// throws on it and loads nothing after it (spec 8.3 R2). It is the latest of its package but
/// not the newest row, so the boot loads the packages published after it first.
const ABORTS: (&str, &str) = ("com.acme.slack-gateway", "0.2.0");

/// The hotfix written by hand: its first view's `columns` is misspelt `colums`, which the
/// ObjectStack schemas warn about (the Integrity tab and `verify --schema` show it).
pub const MISSPELT: (&str, &str) = ("com.acme.helpdesk", "1.1.1");

/// Fields a minor release adds to a package's first object, in release order.
fn minor_fields() -> [(&'static str, Value); 4] {
    [
        ("notes", json!({ "type": "textarea" })),
        ("tags", json!({ "type": "multiselect" })),
        (
            "owner",
            json!({ "type": "lookup", "reference": "sys_user" }),
        ),
        ("archived_at", json!({ "type": "datetime" })),
    ]
}

/// A scratch registry; its directory is removed on drop.
pub struct Demo {
    dir: PathBuf,
}

impl Demo {
    pub fn registry_path(&self) -> PathBuf {
        self.dir.join("registry.db")
    }

    /// The request that opens the scratch registry.
    pub fn request(&self, read_only: bool) -> Request {
        Request {
            db: Some(self.registry_path().display().to_string()),
            connection: None,
            read_only,
        }
    }

    /// pkgdeck's own files for the demo (trash, audit log), inside the scratch directory.
    pub fn dirs(&self) -> Dirs {
        Dirs {
            data: self.dir.join("data"),
            config: self.dir.join("config"),
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds the scratch registry under the OS temp dir. Prints nothing.
pub fn build() -> Result<Demo, DemoError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("pkgdeck-demo-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|source| DemoError::CreateDir {
        dir: dir.clone(),
        source,
    })?;
    let demo = Demo { dir };
    fill(&demo)?;
    Ok(demo)
}

fn fill(demo: &Demo) -> Result<(), DemoError> {
    let registry = connect::open(&demo.request(false), &demo.dirs())?;
    let samples = SAMPLES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str::<Value>(text)
                .map(|doc| (*name, doc))
                .map_err(|source| DemoError::Sample { name, source })
        })
        .collect::<Result<Vec<_>, DemoError>>()?;
    for (id, version, _) in HISTORY {
        let (name, base) = samples
            .iter()
            .find(|(_, doc)| doc["manifest"]["id"] == id)
            .ok_or(DemoError::NoSample { id })?;
        let mut doc = derive(base, version);
        if (id, version) == ABORTS {
            doc["manifest"]["engines"] = json!({ "protocol": 17 });
        }
        if (id, version) == MISSPELT {
            misspell_columns(&mut doc);
        }
        registry.publish(
            &doc.to_string(),
            &format!("assets/{name}"),
            // The history is published in one go and backdated afterwards; it deliberately
            // holds what the guards refuse (a hotfix published after a higher version).
            PublishOptions {
                allow: Allow::EVERYTHING,
                ..PublishOptions::default()
            },
        )?;
    }
    drop(registry);
    backdate_and_tamper(&demo.registry_path())
}

/// The sample `base` as it looks at `version`: each minor release adds a field to the first
/// object, a major release beyond the sample's adds a kanban board of it (grouped by its first
/// select field), a patch makes the first field required.
fn derive(base: &Value, version: &str) -> Value {
    let mut doc = base.clone();
    let parse = |v: &str| -> Vec<u64> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    let first = parse(base["manifest"]["version"].as_str().unwrap_or("0.0.0"));
    let at = parse(version);
    let (major, minor, patch) = (
        at.first().copied().unwrap_or(0),
        at.get(1).copied().unwrap_or(0),
        at.get(2).copied().unwrap_or(0),
    );
    doc["manifest"]["version"] = json!(version);
    let object_name = doc["metadata"]["objects"][0]["name"]
        .as_str()
        .unwrap_or("record")
        .to_owned();
    if let Some(fields) = doc["metadata"]["objects"][0]["fields"].as_object_mut() {
        for (name, field) in minor_fields().into_iter().take(minor as usize) {
            fields.insert(name.into(), field);
        }
        if patch > 0 {
            if let Some((_, field)) = fields.iter_mut().next() {
                field["required"] = json!(true);
            }
        }
    }
    if major > first.first().copied().unwrap_or(0) {
        let board = board_view(&doc["metadata"]["objects"][0], &object_name);
        if let (Some(board), Some(views)) = (board, doc["metadata"]["views"].as_array_mut()) {
            views.push(board);
        }
    }
    doc
}

/// A kanban list view of `object`, one column per option of its first select field; `None`
/// when it has no such field.
fn board_view(object: &Value, object_name: &str) -> Option<Value> {
    let fields = object["fields"].as_object()?;
    let (group, options) = fields.iter().find_map(|(name, field)| {
        let options: Vec<Value> = field["options"]
            .as_array()?
            .iter()
            .filter_map(|o| o["value"].as_str().map(|v| json!(v)))
            .collect();
        (field["type"] == "select" && !options.is_empty()).then_some((name, options))
    })?;
    let shown: Vec<&String> = fields.keys().filter(|k| *k != group).take(3).collect();
    Some(json!({
        "name": format!("{object_name}_board"),
        "object": object_name,
        "list": {
            "type": "kanban",
            "columns": shown,
            "kanban": { "groupByField": group, "columns": options }
        }
    }))
}

/// The hand-made slip of [`MISSPELT`]: the first view's list `columns` renamed `colums`.
fn misspell_columns(doc: &mut Value) {
    if let Some(list) = doc["metadata"]["views"][0]["list"].as_object_mut() {
        if let Some(columns) = list.remove("columns") {
            list.insert("colums".into(), columns);
        }
    }
}

/// Spreads the rows over the history's dates (the registry writes CURRENT_TIMESTAMP, so
/// everything would sit in one second) and edits one row by hand, as a careless operator
/// with the sqlite3 shell would.
fn backdate_and_tamper(path: &Path) -> Result<(), DemoError> {
    let db = rusqlite::Connection::open(path).map_err(|source| DemoError::OpenDb {
        path: path.to_path_buf(),
        source,
    })?;
    let sql_err = |source| DemoError::Sql {
        path: path.to_path_buf(),
        source,
    };
    for (hour, (id, version, days)) in HISTORY.iter().enumerate() {
        db.execute(
            "UPDATE sys_packages SET created_at = datetime('now', ?3, ?4), \
             updated_at = datetime('now', ?3, ?4) WHERE id = ?1 AND version = ?2",
            rusqlite::params![
                id,
                version,
                format!("-{days} days"),
                format!("+{hour} minutes")
            ],
        )
        .map_err(sql_err)?;
    }
    // The tie: the hotfix gets the very second of the version it fixes.
    db.execute(
        "UPDATE sys_packages SET created_at = (SELECT created_at FROM sys_packages \
         WHERE id = ?1 AND version = ?2), updated_at = (SELECT updated_at FROM sys_packages \
         WHERE id = ?1 AND version = ?2) WHERE id = ?1 AND version = ?3",
        rusqlite::params![TIED.0, TIED.1, TIED.2],
    )
    .map_err(sql_err)?;
    let changed = db
        .execute(
            "UPDATE sys_packages SET metadata = replace(metadata, '\"defaultValue\":\"USD\"', \
             '\"defaultValue\":\"EUR\"') WHERE id = ?1 AND version = ?2 \
             AND instr(metadata, '\"defaultValue\":\"USD\"') > 0",
            rusqlite::params![TAMPERED.0, TAMPERED.1],
        )
        .map_err(sql_err)?;
    if changed != 1 {
        return Err(DemoError::Tamper);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Scope;

    #[test]
    fn the_demo_has_the_pitfall_and_one_tampered_row() {
        let demo = build().unwrap();
        let dir = demo.dir.clone();
        let registry = connect::open(&demo.request(true), &demo.dirs()).unwrap();
        let list = registry.list().unwrap();
        assert_eq!(list.len(), SAMPLES.len());
        let helpdesk = registry.versions("com.acme.helpdesk").unwrap();
        let order: Vec<&str> = helpdesk.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(order, ["1.1.1", "2.0.0", "1.1.0", "1.0.0"]);
        // The tie: pkgdeck's latest is the hotfix, the server serves the version before.
        let inventory = list.iter().find(|p| p.id == TIED.0).unwrap();
        assert_eq!(inventory.version, TIED.2);
        assert_eq!(
            inventory.served,
            crate::registry::Served::Tie {
                version: TIED.1.into()
            }
        );
        // The abort: the Boot screen shows where.
        let doctor = registry
            .doctor(&crate::registry::BootSettings::default())
            .unwrap();
        let aborted = doctor.boot.aborted.as_ref().expect("the boot aborts");
        assert_eq!(
            (aborted.row_id.as_str(), aborted.row_version.as_str()),
            ABORTS
        );
        assert!(!doctor.boot.loads.is_empty(), "newer packages load first");
        let report = registry.verify(&Scope::All, &mut |_| true).unwrap();
        assert_eq!(report.checked, HISTORY.len() as u64);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(
            (
                report.failed[0].id.as_str(),
                report.failed[0].version.as_str()
            ),
            TAMPERED
        );
        assert!(report.warnings.is_empty());
        // The ObjectStack schemas find exactly the two deliberate defects they can see: the
        // hand-made slip, and the number where the manifest schema wants a range string.
        let schema = registry
            .verify_with(
                &Scope::All,
                crate::registry::VerifyOptions { schema: true },
                &mut |_| true,
                None,
            )
            .unwrap();
        let warned: Vec<(&str, &str)> = schema
            .warnings
            .iter()
            .map(|v| (v.id.as_str(), v.version.as_str()))
            .collect();
        assert_eq!(warned, [ABORTS, MISSPELT]);
        assert!(
            schema.warnings[1]
                .details
                .iter()
                .any(|d| d.contains(".list.colums: unknown key (did you mean \"columns\"?)")),
            "{:?}",
            schema.warnings[1].details
        );
        drop(registry);
        drop(demo);
        assert!(!dir.exists(), "the scratch directory is removed");
    }
}
