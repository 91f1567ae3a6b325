//! The non-interactive commands of spec section 4 and their output: human tables by default,
//! `--json` in the documented shapes (keys in order). Exit codes: 0 success, 1 negative answer,
//! 2 refused input, 3 storage or connection failure, 130 interrupted.
//!
//! Every human line goes through [`emit_human`] and every error sentence through
//! [`crate::untrusted::printable`] (in `main`), so no text from a registry, a server or a file
//! reaches the terminal raw; `--json` output is exact JSON. Each command opens the registry
//! the way it needs it: reads with [`connect::open_existing`] (nothing is created), writes
//! with [`connect::open`] (the first write creates the registry).

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Dirs;
use crate::connect::{self, ConnectError, Request};
use crate::input::{self, InputError, Source};
use crate::output::{write_output, OutputError};
use crate::registry::trash::Trash;
use crate::registry::{
    self, Allow, BootChange, PackageDiff, PackageRecord, PublishOptions, PublishReport, Registry,
    RegistryError, VerifyOptions,
};
use crate::store::StoreError;
use crate::untrusted::{cut, printable, printable_lines};

mod check;
mod compare;
mod trash;
mod verify;

/// Terminal console and CLI for ObjectStack package registries.
#[derive(Debug, Parser)]
#[command(
    name = "pkgdeck",
    version,
    about,
    long_about = None,
    disable_help_subcommand = true
)]
pub struct Args {
    /// The registry: a path, file:PATH, libsql://HOST, https://… or http://… (env PKGDECK_DB).
    /// Without it: the registry.db in pkgdeck's data dir.
    // The value is never shown in --help: it may carry a token.
    #[arg(
        long,
        global = true,
        env = "PKGDECK_DB",
        hide_env_values = true,
        value_name = "TARGET",
        conflicts_with = "connection"
    )]
    pub db: Option<String>,
    /// A saved connection from config.toml.
    #[arg(short = 'c', long = "connection", global = true, value_name = "NAME")]
    pub connection: Option<String>,
    /// Refuse every write; open local files read-only.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Open the console on a scratch registry filled with the sample packages.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The shells `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The latest version of every package.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every version of one package, newest first.
    Versions {
        /// The package id.
        id: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One record; VERSION defaults to the latest.
    Get {
        /// The package id.
        id: String,
        /// The version (default: latest, the most recently inserted one).
        version: Option<String>,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish a {"manifest", "metadata"} document from FILE, or - for standard input.
    Publish {
        /// The document: a file, or - for standard input (at most 64 MiB unless
        /// PKGDECK_MAX_DOCUMENT raises it).
        file: String,
        /// Replace an existing version with different contents (the old row goes to the trash).
        #[arg(long)]
        allow_overwrite: bool,
        #[command(flatten)]
        guards: GuardFlags,
        /// Refuse a document the ObjectStack schemas warn about (nothing is written).
        #[arg(long)]
        strict: bool,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check documents as publish would (JSON, manifest rules, ObjectStack schemas), writing
    /// nothing; with --db or -c, also what publishing them would change in the server's boot.
    Check {
        /// The documents: files, or - for standard input (each at most 64 MiB unless
        /// PKGDECK_MAX_DOCUMENT raises it).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Treat the ObjectStack schemas' warnings as errors, as publish --strict does.
        #[arg(long)]
        strict: bool,
        /// Print one JSON object per document, one line each, in the order given.
        #[arg(long)]
        json: bool,
    },
    /// Delete one version, or every version of ID (saved to the trash first).
    Delete {
        /// The package id.
        id: String,
        /// The version to delete (default: every version of the package).
        version: Option<String>,
        /// Confirm the delete.
        #[arg(long)]
        yes: bool,
        /// Delete even when another package would stop loading on the ObjectStack server.
        #[arg(long)]
        allow_boot_change: bool,
    },
    /// Make VERSION the one the ObjectStack server answers and loads (re-inserted as the
    /// newest row; the old row goes to the trash).
    Promote {
        /// The package id.
        id: String,
        /// The version to promote.
        version: String,
        #[command(flatten)]
        guards: GuardFlags,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What the ObjectStack server will load from this registry at boot, and why not.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The server's protocol version (default: [runtime] protocol in config.toml, else
        /// 17.0.0).
        #[arg(long, value_name = "V")]
        runtime_protocol: Option<String>,
        /// A package the server defines in code, ID or ID:NAMESPACE (repeatable; added to
        /// [runtime] code_packages in config.toml).
        #[arg(long = "code-package", value_name = "ID[:NS]")]
        code_packages: Vec<String>,
    },
    /// Check integrity hashes of every row, one package or one version.
    Verify {
        /// Only this package.
        id: Option<String>,
        /// Only this version of the package.
        version: Option<String>,
        /// Also check every row against the ObjectStack schemas (warning schema_invalid;
        /// parses every item, so it is slower).
        #[arg(long)]
        schema: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a publishable {"manifest", "metadata"} document.
    Export {
        /// The package id.
        id: String,
        /// The version (default: latest).
        version: Option<String>,
        /// Write to FILE instead of standard output (replaced atomically, keeping its
        /// permissions; a device, FIFO, socket or directory is refused).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// What changed between two versions.
    Diff {
        /// The package id.
        id: String,
        /// The version to compare from.
        from: String,
        /// The version to compare to.
        to: String,
        /// Print the diff as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put the rows of a trash file back exactly.
    Restore {
        /// The trash file (see `pkgdeck trash`).
        file: PathBuf,
        /// Restore even a file that fails the check (a hash that does not match its texts,
        /// an id or version that is not its manifest's, a write that never finished).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        guards: GuardFlags,
    },
    /// Compare two registries (targets or saved connection names): every version only in A,
    /// only in B, the same, or the same version with different contents; exit 1 unless
    /// identical.
    Compare(compare::CompareArgs),
    /// Copy a version (default: the latest) with its exact stored texts and hash from one
    /// registry to another, guarded at the destination.
    Copy(compare::CopyArgs),
    /// List the trash files.
    Trash {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a shell completion script to standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the help of pkgdeck or of one of its commands.
    Help {
        /// The command to explain (none: pkgdeck itself).
        command: Vec<String>,
    },
}

/// The overrides of the guards of spec 8.4.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct GuardFlags {
    /// Write even when a package would stop loading on the ObjectStack server, or the written
    /// version would not load.
    #[arg(long)]
    pub allow_boot_change: bool,
    /// Write even when the package would load at a lower version than before.
    #[arg(long)]
    pub allow_downgrade: bool,
}

impl GuardFlags {
    fn allow(self) -> Allow {
        Allow {
            boot_change: self.allow_boot_change,
            downgrade: self.allow_downgrade,
        }
    }
}

/// A failure with its exit code; the message is one sentence for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Failure {
        let code = match &e {
            RegistryError::Store(StoreError::ReadOnly { .. }) => 2,
            RegistryError::Store(_)
            | RegistryError::Trash { .. }
            | RegistryError::Audit(_)
            | RegistryError::Corrupt { .. } => 3,
            RegistryError::Conflict { .. } | RegistryError::PromoteBlocked { .. } => 3,
            RegistryError::NotFound { .. } => 1,
            RegistryError::InvalidJson { .. }
            | RegistryError::InvalidDocument { .. }
            | RegistryError::SchemaRefused { .. }
            | RegistryError::WouldOverwrite { .. }
            | RegistryError::ReadOnly { .. }
            | RegistryError::BadTrashFile { .. }
            | RegistryError::UntrustedTrashFile { .. }
            | RegistryError::Guard { .. }
            | RegistryError::RestoreConflict { .. } => 2,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Failure {
        match e {
            ConnectError::Registry(e) => e.into(),
            e => Failure::new(2, e.to_string()),
        }
    }
}

/// A document that cannot be read is refused input.
impl From<InputError> for Failure {
    fn from(e: InputError) -> Failure {
        Failure::new(2, e.to_string())
    }
}

/// An output path that cannot take a file (a device, a directory…) is a refused argument;
/// a file system that fails is a storage failure.
impl From<OutputError> for Failure {
    fn from(e: OutputError) -> Failure {
        Failure::new(if e.is_refusal() { 2 } else { 3 }, e.to_string())
    }
}

type Outcome = Result<i32, Failure>;

/// Writes `value` as one line of JSON to standard output: the one way JSON output is written
/// whole.
fn write_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    // Serialized straight into a buffered standard output rather than into one string first:
    // a doctor report runs to many megabytes.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match serde_json::to_writer(&mut out, value) {
        Ok(()) => out.write_all(b"\n").and_then(|()| out.flush()),
        Err(e) if e.io_error_kind().is_some() => Err(std::io::Error::from(e)),
        Err(e) => return Err(Failure::new(3, e.to_string())),
    };
    match written {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(3, format!("cannot write the output: {e}"))),
    }
}

/// Prints a listing in the form asked for: a JSON array of `json_row`s, or a table of `cells`
/// under `columns`. Only the form asked for is built.
fn print_listing<'a, R, J: Serialize>(
    rows: &'a [R],
    json: bool,
    json_row: impl Fn(&'a R) -> J,
    columns: &[Column],
    cells: impl Fn(&'a R) -> Vec<String>,
) -> Result<(), Failure> {
    if json {
        write_json(&rows.iter().map(json_row).collect::<Vec<J>>())
    } else {
        emit_human(&table(columns, rows.iter().map(cells).collect()))
    }
}

/// `list --json`: the JSON array written package by package as the registry hands them over
/// (the same bytes as the whole list serialized at once), so memory stays flat at any size.
fn list_json(registry: &Registry) -> Outcome {
    use serde::ser::{SerializeSeq, Serializer as _};
    let written = |e: serde_json::Error| match e.io_error_kind() {
        // A closed pipe (`| head`) is not an error worth a message.
        Some(std::io::ErrorKind::BrokenPipe) => Ok(0),
        Some(_) => Err(Failure::new(3, format!("cannot write the output: {e}"))),
        None => Err(Failure::new(3, e.to_string())),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut serializer = serde_json::Serializer::new(&mut out);
    let mut seq = match serializer.serialize_seq(None) {
        Ok(seq) => seq,
        Err(e) => return written(e),
    };
    let mut failed = None;
    registry.list_each(&mut |r| {
        let row = ListRow {
            id: &r.id,
            version: &r.version,
            name: r.name.as_deref(),
            kind: r.kind.as_deref(),
            hash: &r.hash,
            created_at: r.created_at.as_deref(),
            updated_at: r.updated_at.as_deref(),
            versions: r.versions,
            served: r.served.version(&r.version),
        };
        match seq.serialize_element(&row) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return written(e);
    }
    if let Err(e) = seq.end() {
        return written(e);
    }
    match out.write_all(b"\n").and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Failure::new(3, format!("cannot write the output: {e}"))),
    }
}

/// Writes `text` to standard output exactly (JSON, an exported document).
fn emit(text: &str) -> Result<(), Failure> {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(3, format!("cannot write the output: {e}"))),
    }
}

/// Writes human output: every line made safe for a terminal, real line breaks kept. The
/// one way human text reaches standard output.
fn emit_human(text: &str) -> Result<(), Failure> {
    emit(&printable_lines(text))
}

/// A stored JSON text as a JSON value in the output, exactly as stored; `null` when it is
/// not JSON.
fn raw(text: &str) -> Option<Box<RawValue>> {
    registry::canonical::parse(text).ok()?;
    RawValue::from_string(text.to_owned()).ok()
}

#[derive(Serialize)]
struct ListRow<'a> {
    id: &'a str,
    version: &'a str,
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    hash: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    versions: u64,
    served: Option<&'a str>,
}

#[derive(Serialize)]
struct VersionRow<'a> {
    id: &'a str,
    version: &'a str,
    hash: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    latest: bool,
    served: bool,
}

#[derive(Serialize)]
struct RecordJson<'a> {
    id: &'a str,
    version: &'a str,
    manifest: Option<Box<RawValue>>,
    metadata: Option<Box<RawValue>>,
    hash: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
}

#[derive(Serialize)]
struct Replaced<'a> {
    hash: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
}

#[derive(Serialize)]
struct PublishJson<'a> {
    id: &'a str,
    version: &'a str,
    hash: &'a str,
    replaced: Option<Replaced<'a>>,
    boot: &'a BootChange,
}

fn opt(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// A table column: its header and the widest a cell may be before it is cut with `…`
/// (`usize::MAX`: never cut, for a path the operator copies).
struct Column(&'static str, usize);

/// The widest an id, a name or a version may be in a table.
const CELL: usize = 64;
const NEVER_CUT: usize = usize::MAX;

/// Left-aligned columns, two spaces apart, every cell made printable and cut to its
/// column's width.
fn table(columns: &[Column], rows: Vec<Vec<String>>) -> String {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(columns)
                .map(|(c, col)| cut(&c, col.1).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.0.width()).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.width());
        }
    }
    let mut text = String::new();
    let mut line = |row: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in row.iter().enumerate() {
            l.push_str(c);
            if i + 1 < row.len() {
                l.push_str(&" ".repeat(widths[i] - c.width() + 2));
            }
        }
        text.push_str(l.trim_end());
        text.push('\n');
    };
    line(columns.iter().map(|c| c.0).collect());
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    text
}

mod server;

/// Runs one command: opens the registry the way the command needs it (or not at all) and
/// hands over.
pub fn run(command: Command, request: &Request, dirs: &Dirs) -> Outcome {
    // Reads never create anything; writes that can start a registry open it for writing.
    let existing = || connect::open_existing(request, dirs);
    // A write in read-only mode is refused before anything is opened or read.
    let write = match &command {
        Command::Publish { .. } => Some("publish"),
        Command::Delete { .. } => Some("delete"),
        Command::Restore { .. } => Some("restore"),
        Command::Promote { .. } => Some("promote"),
        _ => None,
    };
    if let (Some(action), true) = (write, request.read_only) {
        let target = connect::resolve_target(request, dirs)?;
        return Err(RegistryError::ReadOnly {
            target: target.to_string(),
            action: action.to_owned(),
        }
        .into());
    }
    let outcome = match command {
        Command::Completions { shell } => return completions(shell),
        Command::Help { command } => return help(&command),
        Command::Trash { json } => return trash::trash(&Trash::new(dirs.trash()), json),
        Command::Compare(args) => return compare::compare(&args, request.read_only, dirs),
        Command::Copy(args) => return compare::copy(args, request.read_only, dirs),
        Command::List { json } => list(&existing()?, json),
        Command::Versions { id, json } => versions(&existing()?, &id, json),
        Command::Get { id, version, json } => get(&existing()?, &id, version.as_deref(), json),
        Command::Check {
            files,
            strict,
            json,
        } => check::check(&files, strict, json, request, dirs),
        Command::Publish {
            file,
            allow_overwrite,
            guards,
            strict,
            json,
        } => {
            // The document is read and checked before the registry is opened: a refused
            // document touches nothing.
            let source = Source::from_arg(&file);
            let text = input::read_document(&source)?;
            let prepared = registry::prepare_publish(&text, &source.name())?;
            drop(text);
            if strict {
                prepared.refuse_warnings(&source.name())?;
            }
            let registry = connect::open(request, dirs)?;
            let result = publish(
                &registry,
                &prepared,
                &source.name(),
                allow_overwrite,
                guards.allow(),
                json,
            );
            report_bookkeeping(&registry);
            result
        }
        Command::Delete {
            id,
            version,
            yes,
            allow_boot_change,
        } => {
            if !yes {
                return Err(Failure::new(
                    2,
                    format!(
                        "deleting {} needs --yes (the rows go to the trash first)",
                        match &version {
                            Some(v) => format!("{id} {v}"),
                            None => format!("every version of {id}"),
                        }
                    ),
                ));
            }
            let registry = existing()?;
            let allow = Allow {
                boot_change: allow_boot_change,
                downgrade: false,
            };
            let result = delete(&registry, &id, version.as_deref(), allow);
            report_bookkeeping(&registry);
            result
        }
        Command::Promote {
            id,
            version,
            guards,
            json,
        } => {
            let registry = existing()?;
            let result = server::promote(&registry, &id, &version, guards.allow(), json);
            report_bookkeeping(&registry);
            result
        }
        Command::Doctor {
            json,
            runtime_protocol,
            code_packages,
        } => server::doctor(&existing()?, json, runtime_protocol, &code_packages),
        Command::Verify {
            id,
            version,
            schema,
            json,
        } => verify::verify(&existing()?, id, version, VerifyOptions { schema }, json),
        Command::Export {
            id,
            version,
            output,
        } => export(&existing()?, &id, version.as_deref(), output),
        Command::Diff { id, from, to, json } => diff(&existing()?, &id, &from, &to, json),
        Command::Restore {
            file,
            force,
            guards,
        } => {
            let registry = connect::open(request, dirs)?;
            let result = trash::restore(&registry, &file, force, guards.allow());
            report_bookkeeping(&registry);
            result
        }
    };
    outcome
}

/// What went wrong after a write that happened: one sentence each on stderr, after the
/// output; the write stands and the exit code says so.
fn report_bookkeeping(registry: &Registry) {
    for b in registry.take_bookkeeping() {
        eprintln!("pkgdeck: {}", printable(&b.to_string()));
    }
}

fn list(registry: &Registry, json: bool) -> Outcome {
    if json {
        return list_json(registry);
    }
    let rows = registry.list()?;
    // The SERVED column appears only when some package is served another version.
    let differs = rows.iter().any(|r| r.served.differs());
    let mut columns = vec![Column("ID", CELL), Column("VERSION", CELL)];
    if differs {
        columns.push(Column("SERVED", CELL));
    }
    columns.extend([
        Column("NAME", CELL),
        Column("TYPE", CELL),
        Column("VERSIONS", CELL),
        Column("CREATED", CELL),
    ]);
    let cells = rows
        .iter()
        .map(|r| {
            let mut row = vec![r.id.clone(), r.version.clone()];
            if differs {
                row.push(if r.served.differs() {
                    r.served.version(&r.version).unwrap_or("(none)").to_string()
                } else {
                    String::new()
                });
            }
            row.extend([
                r.name
                    .clone()
                    .unwrap_or_else(|| "(unreadable manifest)".into()),
                opt(r.kind.as_deref()).into(),
                r.versions.to_string(),
                opt(r.created_at.as_deref()).into(),
            ]);
            row
        })
        .collect();
    let mut text = table(&columns, cells);
    for r in rows.iter().filter(|r| r.served.differs()) {
        if let Some(why) = r.served.explain(&r.id, &r.version) {
            text.push_str(&format!("{}\n", printable(&why)));
        }
    }
    emit_human(&text)?;
    Ok(0)
}

fn versions(registry: &Registry, id: &str, json: bool) -> Outcome {
    let rows = registry.versions(id)?;
    if rows.is_empty() {
        return Err(Failure::new(
            1,
            format!("package {id} was not found in {}", registry.target()),
        ));
    }
    let highest = registry::manifest::highest_version(rows.iter().map(|r| r.version.as_str()));
    print_listing(
        &rows,
        json,
        |r| VersionRow {
            id: &r.id,
            version: &r.version,
            hash: &r.hash,
            created_at: r.created_at.as_deref(),
            updated_at: r.updated_at.as_deref(),
            latest: r.latest,
            served: r.served,
        },
        &[
            Column("VERSION", CELL),
            Column("", CELL),
            Column("CREATED", CELL),
            Column("UPDATED", CELL),
            Column("HASH", CELL),
        ],
        |r| {
            let mut marks = Vec::new();
            if r.latest {
                marks.push("latest");
            }
            if r.served {
                marks.push("served");
            }
            if highest == Some(r.version.as_str()) {
                marks.push("highest");
            }
            vec![
                r.version.clone(),
                marks.join(" "),
                opt(r.created_at.as_deref()).into(),
                opt(r.updated_at.as_deref()).into(),
                r.hash.chars().take(12).collect(),
            ]
        },
    )?;
    if !json {
        let latest = rows.iter().find(|r| r.latest);
        let served = match rows.iter().find(|r| r.served) {
            Some(s) => registry::Served::Tie {
                version: s.version.clone(),
            },
            None => registry::Served::Unreadable {
                version: "the one it picks".into(),
            },
        };
        if let Some(note) = latest
            .filter(|l| !l.served)
            .and_then(|l| served.explain(id, &l.version))
        {
            emit_human(&format!("{note}\n"))?;
        }
    }
    Ok(0)
}

fn record_json(r: &PackageRecord) -> RecordJson<'_> {
    RecordJson {
        id: &r.id,
        version: &r.version,
        manifest: raw(&r.manifest),
        metadata: raw(&r.metadata),
        hash: &r.hash,
        created_at: r.created_at.as_deref(),
        updated_at: r.updated_at.as_deref(),
    }
}

/// `get`: the record's fields, then the manifest and metadata as pretty JSON, one real
/// line per line (made safe by [`emit_human`]).
fn get(registry: &Registry, id: &str, version: Option<&str>, json: bool) -> Outcome {
    let r = registry.require(id, version)?;
    if json {
        write_json(&record_json(&r))?;
        return Ok(0);
    }
    // Single-line fields: a line break in them is shown, not obeyed.
    let field = |v: &str| printable(v).into_owned();
    let mut text = format!(
        "id:         {}\nversion:    {}\nhash:       {}\ncreated_at: {}\nupdated_at: {}\n",
        field(&r.id),
        field(&r.version),
        field(&r.hash),
        field(opt(r.created_at.as_deref())),
        field(opt(r.updated_at.as_deref()))
    );
    for (label, stored) in [("manifest", &r.manifest), ("metadata", &r.metadata)] {
        text.push_str(&format!("{label}:\n"));
        match registry::canonical::parse(stored) {
            Ok(v) => text.push_str(&registry::pretty::pretty(&v)),
            Err(e) => text.push_str(&format!(
                "(not valid JSON: {})\n{stored}",
                field(&e.to_string())
            )),
        }
        text.push('\n');
    }
    emit_human(&text)?;
    Ok(0)
}

/// Publishes, reads the row back and verifies it (the registry's `publish_and_verify`, as
/// the console does), then says the ObjectStack schemas' warnings on stderr. The JSON keeps
/// the spec's keys; a read-back that found a problem is a storage failure (exit 3) with its
/// sentence on stderr, after the output that says what was written.
fn publish(
    registry: &Registry,
    prepared: &registry::PreparedPublish,
    source_name: &str,
    allow_overwrite: bool,
    allow: Allow,
    json: bool,
) -> Outcome {
    let report = {
        let _writing = crate::interrupt::writing();
        registry.publish_and_verify(
            prepared,
            PublishOptions {
                allow_overwrite,
                replacing_hash: None,
                allow,
            },
        )?
    };
    // Said once the document is in: a refused publish stays one sentence on stderr.
    check::warn_on_stderr(source_name, &prepared.schema_warnings);
    let outcome = &report.outcome;
    if json {
        write_json(&PublishJson {
            id: &outcome.id,
            version: &outcome.version,
            hash: &outcome.hash,
            replaced: outcome.replaced.as_ref().map(|r| Replaced {
                hash: &r.hash,
                created_at: r.created_at.as_deref(),
                updated_at: r.updated_at.as_deref(),
            }),
            boot: &outcome.boot,
        })?;
    } else {
        let what = if outcome.unchanged {
            "already published with the same contents; nothing written".to_owned()
        } else if let Some(old) = &outcome.replaced {
            format!(
                "replaced hash {} (old row saved to {})",
                old.hash,
                outcome
                    .trash_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        } else {
            "published".to_owned()
        };
        let mut text = format!(
            "{} {} {}: {}\n",
            printable(&outcome.id),
            printable(&outcome.version),
            outcome.hash,
            what
        );
        if readback_problem(&report).is_none() {
            text.push_str("read back and verified: ok\n");
        }
        if !outcome.unchanged {
            text.push_str(&server::boot_change_text(&outcome.boot));
        }
        emit_human(&text)?;
    }
    match readback_problem(&report) {
        None => Ok(0),
        Some(problem) => Err(Failure::new(
            3,
            format!(
                "{} {} was written, but reading it back found a problem: {problem}",
                outcome.id, outcome.version
            ),
        )),
    }
}

/// What is wrong with the row a publish read back, or `None` when it is exactly what was
/// published and its hash matches.
fn readback_problem(report: &PublishReport) -> Option<String> {
    match &report.readback {
        Ok(read) if read.ok() => None,
        Ok(read) => {
            let mut problems = read.verification.details.clone();
            if !read.exact {
                problems.push("the stored texts or hash differ from the published ones".into());
            }
            Some(problems.join("; "))
        }
        Err(e) => Some(e.to_string()),
    }
}

fn delete(registry: &Registry, id: &str, version: Option<&str>, allow: Allow) -> Outcome {
    let outcome = {
        let _writing = crate::interrupt::writing();
        registry.delete(id, version, allow)?
    };
    let mut text = String::new();
    for r in &outcome.deleted {
        text.push_str(&format!("deleted {} {}\n", r.id, r.version));
    }
    if let Some(trash) = &outcome.trash_file {
        text.push_str(&format!("saved to the trash: {}\n", trash.display()));
    }
    text.push_str(&server::boot_change_text(&outcome.boot));
    emit_human(&text)?;
    if !outcome.kept.is_empty() {
        let kept: Vec<String> = outcome.kept.iter().map(|r| r.version.clone()).collect();
        return Err(Failure::new(
            3,
            format!(
                "{id} {} changed while it was being deleted and was kept",
                kept.join(", ")
            ),
        ));
    }
    Ok(0)
}

fn export(
    registry: &Registry,
    id: &str,
    version: Option<&str>,
    output: Option<PathBuf>,
) -> Outcome {
    let mut doc = registry.export(id, version)?;
    doc.push('\n');
    match output {
        // The document is JSON, exactly as stored: escapes keep control characters out.
        None => emit(&doc)?,
        Some(path) => {
            let _writing = crate::interrupt::writing();
            write_output(&path, doc.as_bytes())?;
        }
    }
    Ok(0)
}

/// The human form of a diff (untrusted text is made safe by [`emit_human`]; single-line
/// values by [`printable`]).
pub fn diff_text(d: &PackageDiff) -> String {
    let one = |v: &str| printable(v).into_owned();
    let mut text = format!("{} {} → {}\n", one(&d.id), one(&d.from), one(&d.to));
    if d.is_empty() {
        text.push_str("no differences\n");
        return text;
    }
    for c in &d.manifest {
        text.push_str(&format!(
            "manifest.{}: {} → {}\n",
            one(&c.key),
            one(c.old.as_deref().unwrap_or("(absent)")),
            one(c.new.as_deref().unwrap_or("(absent)"))
        ));
    }
    for s in &d.sections {
        text.push_str(&format!("{}:\n", one(&s.section)));
        for a in &s.added {
            text.push_str(&format!("  + {}\n", one(a)));
        }
        for r in &s.removed {
            text.push_str(&format!("  - {}\n", one(r)));
        }
        for c in &s.changed {
            text.push_str(&format!("  ~ {}\n", one(&c.name)));
            for (tag, line) in registry::diff::text_diff(&c.old, &c.new) {
                if tag != ' ' {
                    text.push_str(&format!("      {tag} {}\n", one(&line)));
                }
            }
        }
    }
    text
}

fn diff(registry: &Registry, id: &str, from: &str, to: &str, json: bool) -> Outcome {
    let d = registry.diff(id, from, to)?;
    if json {
        write_json(&d)?;
    } else {
        emit_human(&diff_text(&d))?;
    }
    Ok(0)
}

/// `completions SHELL`: the script clap_complete writes for `pkgdeck`.
fn completions(shell: Shell) -> Outcome {
    let mut command = Args::command();
    let mut script = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut command,
            "pkgdeck",
            &mut script,
        ),
        Shell::Zsh => clap_complete::generate(
            clap_complete::Shell::Zsh,
            &mut command,
            "pkgdeck",
            &mut script,
        ),
        Shell::Fish => clap_complete::generate(
            clap_complete::Shell::Fish,
            &mut command,
            "pkgdeck",
            &mut script,
        ),
    }
    emit(&String::from_utf8_lossy(&script))?;
    Ok(0)
}

/// `help [COMMAND…]`: the long help of pkgdeck or of the command named.
fn help(path: &[String]) -> Outcome {
    let mut command = Args::command();
    command.build();
    let mut at = &mut command;
    for name in path {
        at = match at.find_subcommand_mut(name) {
            Some(sub) => sub,
            None => {
                return Err(Failure::new(
                    2,
                    format!("pkgdeck has no command {name:?}; `pkgdeck help` lists them"),
                ))
            }
        };
    }
    emit(&at.render_long_help().to_string())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AuditLog, Trash};
    use crate::store::sqlite::SqliteStore;

    /// Options for publishing several versions within one second: the server would load the
    /// first of them (a same-second tie), which these tests are not about.
    fn within_a_second() -> PublishOptions {
        PublishOptions {
            allow: crate::registry::Allow::EVERYTHING,
            ..PublishOptions::default()
        }
    }

    const DOC: &str = r#"{"manifest":{"id":"com.acme.t","version":"1.0.0","type":"app","name":"T"},"metadata":{}}"#;

    #[test]
    fn every_command_argument_and_flag_has_a_help_line() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() {
                missing.push(format!("{path}: the command itself"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.get_help().is_none() && id != "help" && id != "version" {
                    missing.push(format!("{path}: {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Args::command(), "pkgdeck", &mut missing);
        assert!(missing.is_empty(), "no help line: {missing:#?}");
    }

    #[test]
    fn publish_reports_what_the_read_back_found() -> Result<(), RegistryError> {
        let dir = tempfile::tempdir().expect("a scratch dir");
        let db = dir.path().join("r.db");
        let registry = Registry::open(
            Box::new(SqliteStore::open(&db, false)?),
            Trash::new(dir.path().join("trash")),
            AuditLog::disabled(),
        )?;
        let prepared = registry::prepare_publish(DOC, "doc.json")?;
        let report = registry.publish_and_verify(&prepared, PublishOptions::default())?;
        assert_eq!(readback_problem(&report), None);

        // A trigger stores another hash than the one published: the read-back names it.
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.execute_batch(
                    "CREATE TRIGGER h AFTER INSERT ON sys_packages BEGIN \
                     UPDATE sys_packages SET hash = 'x' WHERE rowid = new.rowid; END;",
                )
            })
            .expect("a trigger");
        let prepared = registry::prepare_publish(&DOC.replace("1.0.0", "1.0.1"), "doc.json")?;
        let report = registry.publish_and_verify(&prepared, within_a_second())?;
        let problem = readback_problem(&report).expect("a problem");
        assert!(
            problem.starts_with("hash_mismatch: stored x but"),
            "{problem}"
        );
        assert!(
            problem.ends_with("; the stored texts or hash differ from the published ones"),
            "{problem}"
        );
        Ok(())
    }
}
