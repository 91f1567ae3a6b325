//! pkgdeck's own files: the data dir (default registry, trash, audit log) and
//! `<config dir>/config.toml` with saved connections. `PKGDECK_DATA_DIR` and
//! `PKGDECK_CONFIG_DIR` override the platform directories (tests use them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::registry::boot::CodePackage;
use crate::registry::BootSettings;

/// Why pkgdeck's own directories or config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither the environment nor the platform names a directory for pkgdeck's files.
    #[error("cannot find a home directory for pkgdeck's files; set {var}")]
    NoHome { var: String },
    /// The config file exists but cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not TOML of pkgdeck's shape.
    #[error("{} is not a valid pkgdeck config: {message}", .path.display())]
    Invalid { path: PathBuf, message: String },
    /// A saved connection holds a token in its target instead of naming a variable.
    #[error("{}: connection {name:?} has a token in its target; put the token in an environment variable and name it with token_env", .path.display())]
    TokenInTarget { path: PathBuf, name: String },
}

/// Where pkgdeck keeps its own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub data: PathBuf,
    pub config: PathBuf,
}

impl Dirs {
    /// The platform directories of the `directories` crate, or the environment overrides.
    pub fn discover() -> Result<Dirs, ConfigError> {
        let project = directories::ProjectDirs::from("", "", "pkgdeck");
        let pick = |var: &str, fallback: Option<&Path>| -> Result<PathBuf, ConfigError> {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(v) => Ok(PathBuf::from(v)),
                None => fallback
                    .map(Path::to_path_buf)
                    .ok_or_else(|| ConfigError::NoHome {
                        var: var.to_owned(),
                    }),
            }
        };
        Ok(Dirs {
            data: pick("PKGDECK_DATA_DIR", project.as_ref().map(|p| p.data_dir()))?,
            config: pick(
                "PKGDECK_CONFIG_DIR",
                project.as_ref().map(|p| p.config_dir()),
            )?,
        })
    }

    pub fn default_registry(&self) -> PathBuf {
        self.data.join("registry.db")
    }
    pub fn trash(&self) -> PathBuf {
        self.data.join("trash")
    }
    pub fn audit_log(&self) -> PathBuf {
        self.data.join("audit.log")
    }
    pub fn config_file(&self) -> PathBuf {
        self.config.join("config.toml")
    }
}

/// A saved connection: `[connections.NAME] target = "…", token_env = "…", read_only = …,
/// production = …`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub target: String,
    /// The environment variable that holds the token (the token itself is never stored).
    pub token_env: Option<String>,
    /// Opened read-only, as with `--read-only`, whatever the command line says.
    #[serde(default)]
    pub read_only: bool,
    /// A production registry: the console's header turns red and says PRODUCTION, and
    /// every write asks for the connection's name to be typed.
    #[serde(default)]
    pub production: bool,
}

/// `[runtime]`: what the ObjectStack server boots with besides the registry, for `doctor`,
/// the Boot screen and the guards of every write (spec 8.3, 8.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// The server's protocol version (default: 17.0.0, the 17.x line).
    pub protocol: Option<String>,
    /// Packages the server defines in code, as `ID` or `ID:NAMESPACE`.
    #[serde(default)]
    pub code_packages: Vec<String>,
}

impl Runtime {
    /// The boot settings this section names.
    pub fn boot_settings(&self) -> BootSettings {
        let mut settings = BootSettings::default();
        if let Some(protocol) = self.protocol.as_deref().filter(|p| !p.trim().is_empty()) {
            settings.runtime_protocol = protocol.to_string();
        }
        settings.code_packages = self.code_packages.iter().map(|c| code_package(c)).collect();
        settings
    }
}

/// `ID` or `ID:NAMESPACE` (`doctor --code-package`, `[runtime] code_packages`).
pub fn code_package(text: &str) -> CodePackage {
    match text.split_once(':') {
        Some((id, ns)) => CodePackage {
            id: id.to_string(),
            namespace: Some(ns.to_string()).filter(|ns| !ns.is_empty()),
        },
        None => CodePackage {
            id: text.to_string(),
            namespace: None,
        },
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
    #[serde(default)]
    pub runtime: Runtime,
}

impl Config {
    /// Reads the config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        if let Some(name) = config
            .connections
            .iter()
            .find_map(|(name, c)| crate::store::target::carries_token(&c.target).then_some(name))
        {
            return Err(ConfigError::TokenInTarget {
                path: path.to_path_buf(),
                name: name.clone(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_saved_connections_and_refuses_stored_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
        std::fs::write(
            &path,
            "[connections.prod]\ntarget = \"libsql://db.example\"\ntoken_env = \"PROD_TOKEN\"\n\n[connections.local]\ntarget = \"/tmp/r.db\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.connections["prod"].token_env.as_deref(),
            Some("PROD_TOKEN")
        );
        assert_eq!(c.connections["local"].target, "/tmp/r.db");
        std::fs::write(
            &path,
            "[connections.x]\ntarget = \"libsql://h?authToken=abc\"\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("token_env") && !err.contains("abc"), "{err}");
        std::fs::write(
            &path,
            "[runtime]\nprotocol = \"18.0.0\"\ncode_packages = [\"com.acme.core:crm\", \"com.acme.auth\"]\n",
        )
        .unwrap();
        let settings = Config::load(&path).unwrap().runtime.boot_settings();
        assert_eq!(settings.runtime_protocol, "18.0.0");
        assert_eq!(
            settings.code_packages,
            [
                CodePackage {
                    id: "com.acme.core".into(),
                    namespace: Some("crm".into())
                },
                CodePackage {
                    id: "com.acme.auth".into(),
                    namespace: None
                }
            ]
        );
        std::fs::write(
            &path,
            "[connections.prod]\ntarget = \"/r.db\"\nproduction = true\n\n[connections.audit]\ntarget = \"/r.db\"\nread_only = true\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert!(c.connections["prod"].production && !c.connections["prod"].read_only);
        assert!(c.connections["audit"].read_only && !c.connections["audit"].production);
        std::fs::write(&path, "[connections.x]\ntarget = 3\n").unwrap();
        assert!(Config::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a valid pkgdeck config"));
    }
}
