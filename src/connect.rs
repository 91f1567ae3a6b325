//! Turns what the operator named (`--db`, `PKGDECK_DB`, `-c NAME`, or nothing) into an open
//! [`Registry`] with its trash and audit log, and lists the saved connections a switch can
//! go to.

use std::path::PathBuf;

use crate::config::{Config, ConfigError, Dirs};
use crate::registry::{AuditLog, Registry, RegistryError, Trash};
use crate::store::hrana::{HranaStore, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError, Target};

/// What the operator asked to open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `--db` (or `PKGDECK_DB`).
    pub db: Option<String>,
    /// `-c NAME`.
    pub connection: Option<String>,
    pub read_only: bool,
}

/// Why the registry the operator named cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The config file with the saved connections cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `-c NAME` names no saved connection.
    #[error("no saved connection {name:?} in {} (known: {})", .file.display(), known_list(.known))]
    UnknownConnection {
        name: String,
        file: PathBuf,
        known: Vec<String>,
    },
    /// A saved connection's target is not one pkgdeck can open.
    #[error("saved connection {name:?}: {reason}")]
    BadSavedTarget { name: String, reason: String },
    /// `--db` (or `PKGDECK_DB`) is not a target pkgdeck can open.
    #[error("{0}")]
    BadTarget(String),
    /// The target was found but the registry on it could not be opened.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl ConnectError {
    /// Whether the operator's input (arguments, config) is at fault, not the storage.
    pub fn is_usage(&self) -> bool {
        !matches!(self, ConnectError::Registry(_))
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        known.join(", ")
    }
}

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        ConnectError::Registry(e.into())
    }
}

/// Resolves the target: `-c NAME` from the config, else `--db`/`PKGDECK_DB`, else the default
/// registry in the data dir.
pub fn resolve_target(request: &Request, dirs: &Dirs) -> Result<Target, ConnectError> {
    if let Some(name) = &request.connection {
        let config = Config::load(&dirs.config_file())?;
        let Some(c) = config.connections.get(name) else {
            return Err(ConnectError::UnknownConnection {
                name: name.clone(),
                file: dirs.config_file(),
                known: config.connections.keys().cloned().collect(),
            });
        };
        let token = match &c.token_env {
            Some(var) => std::env::var(var).ok().filter(|v| !v.is_empty()),
            None => Target::token_from_env(),
        };
        return Target::parse(&c.target, token).map_err(|reason| ConnectError::BadSavedTarget {
            name: name.clone(),
            reason,
        });
    }
    match &request.db {
        Some(db) => Target::parse(db, Target::token_from_env()).map_err(ConnectError::BadTarget),
        None => Ok(Target::Local(dirs.default_registry())),
    }
}

/// Opens a store on `target`.
pub fn open_store(target: &Target, read_only: bool) -> Result<Box<dyn Store>, StoreError> {
    Ok(match target {
        Target::Local(path) => Box::new(SqliteStore::open(path, read_only)?),
        // The registry's first query (does sys_packages exist?) is the connection check.
        Target::Remote { url, token } => Box::new(HranaStore::connect(
            url,
            token.clone(),
            read_only,
            target.to_string(),
            DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_REQUEST_TIMEOUT,
        )?),
    })
}

/// Opens the registry the request names, with the trash and audit log of `dirs`.
pub fn open(request: &Request, dirs: &Dirs) -> Result<Registry, ConnectError> {
    let target = resolve_target(request, dirs)?;
    if let Target::Local(path) = &target {
        if path == &dirs.default_registry() && !request.read_only {
            std::fs::create_dir_all(&dirs.data).map_err(|e| StoreError::Open {
                target: path.display().to_string(),
                reason: format!("cannot create {}: {e}", dirs.data.display()),
            })?;
        }
    }
    // The server's runtime (spec 8.3) is part of every guard: read before the registry opens.
    let runtime = Config::load(&dirs.config_file())?.runtime.boot_settings();
    let store = open_store(&target, request.read_only)?;
    let audit = if request.read_only {
        AuditLog::disabled()
    } else {
        AuditLog::new(dirs.audit_log())
    };
    let mut registry = Registry::open(store, Trash::new(dirs.trash()), audit)?;
    registry.set_boot_settings(runtime);
    Ok(registry)
}

/// Opens the saved connection `name` (read-only when `read_only`), as `-c NAME` would.
pub fn open_saved(name: &str, read_only: bool, dirs: &Dirs) -> Result<Registry, ConnectError> {
    let request = Request {
        db: None,
        connection: Some(name.to_owned()),
        read_only,
    };
    open(&request, dirs)
}

/// A connection saved in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedConnection {
    pub name: String,
    pub target: String,
    pub token_env: Option<String>,
}

/// The saved connections: the config file, and what it holds or why it cannot be read.
#[derive(Debug)]
pub struct Connections {
    pub config_file: PathBuf,
    pub saved: Result<Vec<SavedConnection>, ConfigError>,
}

/// The connections saved in `dirs`' config file, in name order.
pub fn saved_connections(dirs: &Dirs) -> Connections {
    let config_file = dirs.config_file();
    let saved = Config::load(&config_file).map(|c| {
        c.connections
            .into_iter()
            .map(|(name, c)| SavedConnection {
                name,
                target: c.target,
                token_env: c.token_env,
            })
            .collect()
    });
    Connections { config_file, saved }
}
