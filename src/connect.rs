//! Turns what the operator named (`--db`, `PKGDECK_DB`, `-c NAME`, or nothing) into an open
//! [`Registry`] with its trash and audit log, and lists the saved connections a switch can
//! go to.
//!
//! Two ways to open, because reads never create anything (spec 3):
//! - [`open_existing`], for reads (and deletes): the registry must be there. A missing file
//!   is "no registry at PATH", a database without `sys_packages` is "PATH has no
//!   sys_packages table"; nothing is created and the file stays byte-identical.
//! - [`open`], for writes and for the console: a target that holds no registry yet opens
//!   empty ([`Registry::exists`] is false, so a console can say where the first publish will
//!   create it) and the first write creates the file and the table.

use std::path::PathBuf;

use crate::config::{Config, ConfigError, Dirs};
use crate::registry::{AuditLog, Open, Registry, RegistryError, Trash};
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

/// Opens a store on `target`. A local file is never created here (its first write does);
/// `default_registry` lets that write also create pkgdeck's data dir.
pub fn open_store(target: &Target, read_only: bool) -> Result<Box<dyn Store>, StoreError> {
    open_store_of(target, read_only, false)
}

fn open_store_of(
    target: &Target,
    read_only: bool,
    default_registry: bool,
) -> Result<Box<dyn Store>, StoreError> {
    Ok(match target {
        Target::Local(path) if default_registry => {
            Box::new(SqliteStore::open_default(path, read_only)?)
        }
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

/// How a connection is to be used: its saved name, whether it is read-only (the command
/// line's `--read-only`, or `read_only = true` in its saved connection) and whether it is a
/// production registry (`production = true`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub read_only: bool,
    pub production: bool,
}

/// The profile of what `request` names (a saved connection's flags, or the command line's).
pub fn profile(request: &Request, dirs: &Dirs) -> Result<Profile, ConnectError> {
    let Some(name) = &request.connection else {
        return Ok(Profile {
            name: None,
            read_only: request.read_only,
            production: false,
        });
    };
    let config = Config::load(&dirs.config_file())?;
    let saved = config.connections.get(name);
    Ok(Profile {
        name: Some(name.clone()),
        read_only: request.read_only || saved.is_some_and(|c| c.read_only),
        production: saved.is_some_and(|c| c.production),
    })
}

/// Opens the registry the request names for writing, with the trash and audit log of
/// `dirs`: a target that holds no registry yet opens empty and its first write creates it
/// (see the module docs). The console opens this way.
pub fn open(request: &Request, dirs: &Dirs) -> Result<Registry, ConnectError> {
    open_as(request, dirs, Open::CreateOnWrite)
}

/// Opens the registry the request names for reading: it must exist, and nothing is
/// created (see the module docs).
pub fn open_existing(request: &Request, dirs: &Dirs) -> Result<Registry, ConnectError> {
    open_as(request, dirs, Open::Existing)
}

/// [`open`] or [`open_existing`], as `mode` says.
pub fn open_as(request: &Request, dirs: &Dirs, mode: Open) -> Result<Registry, ConnectError> {
    let target = resolve_target(request, dirs)?;
    // A saved connection may be read-only whatever the command line says.
    let request = &Request {
        read_only: profile(request, dirs)?.read_only,
        ..request.clone()
    };
    let default_registry = matches!(&target, Target::Local(p) if *p == dirs.default_registry());
    // The server's runtime (spec 8.3) is part of every guard: read before the registry opens.
    let runtime = Config::load(&dirs.config_file())?.runtime.boot_settings();
    let store = open_store_of(&target, request.read_only, default_registry)?;
    let audit = if request.read_only {
        AuditLog::disabled()
    } else {
        AuditLog::new(dirs.audit_log())
    };
    let mut registry = Registry::open_as(store, Trash::new(dirs.trash()), audit, mode)?;
    registry.set_boot_settings(runtime);
    Ok(registry)
}

/// A connection saved in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedConnection {
    pub name: String,
    pub target: String,
    pub token_env: Option<String>,
    pub read_only: bool,
    pub production: bool,
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
                read_only: c.read_only,
                production: c.production,
            })
            .collect()
    });
    Connections { config_file, saved }
}
