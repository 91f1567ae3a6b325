//! Storage calls off the UI thread, like gitui's asyncgit: the worker thread owns the
//! [`Registry`]; the console sends it [`Job`]s over a channel and drains [`Response`]s, so a
//! slow remote never freezes input. Each request is answered by one call of a plain blocking
//! function that owns the logic (a registry method for everything about the registry: the
//! review, the publish with its read-back, the delete plan, restore, verify), whose result is
//! sent back. A verify streams progress and stops when its cancel flag is raised. Switching
//! the connection replaces the registry the worker owns, and only on success.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::document::{self, Validation};
use crate::config::{Config, Dirs};
use crate::connect;
use crate::registry::trash::TrashEntry;
use crate::registry::{
    DeletePlan, DeleteReport, LoadedRecord, PackageRecord, PackageSummary, PreparedPublish,
    PublishOptions, PublishReport, PublishReview, Registry, RegistryError, Scope, VerifyProgress,
    VerifyReport, VersionSummary,
};

/// Files larger than this are not opened in the editor (`pkgdeck publish FILE` takes them).
pub const EDITOR_FILE_LIMIT: u64 = 8 * 1024 * 1024;

/// The worker thread's name; the panic hook recognises it and leaves the terminal alone.
pub const THREAD_NAME: &str = "pkgdeck-worker";

/// Progress of a long verify is sent at most this often, so the channel never floods.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// Identifies one job; every response carries the ticket of the job it answers.
pub type Ticket = u64;

/// What the console asks of the registry.
#[derive(Debug, Clone)]
pub enum Request {
    /// Package and row counts for the header.
    Counts,
    /// The latest version of every package, page by page.
    Packages,
    Versions {
        id: String,
    },
    /// One version, parsed and verified, for the detail screen.
    Record {
        id: String,
        version: String,
    },
    Verify {
        scope: Scope,
        cancel: Arc<AtomicBool>,
    },
    /// A document file to open in the editor.
    ReadFile {
        path: PathBuf,
    },
    /// Validation of an editor text too large to check on every keystroke; `generation`
    /// tells the editor whether the text changed since.
    Validate {
        text: Arc<str>,
        generation: u64,
    },
    /// The stored document of a version with its patch version bumped, for a hotfix.
    HotfixSource {
        id: String,
        version: String,
    },
    /// What publishing would replace, and the diff against it (or against the latest).
    Review {
        prepared: Box<PreparedPublish>,
    },
    /// A publish, read back and verified; `options` come from the review
    /// ([`PublishReview::options`]), so only the row it showed can be overwritten.
    Publish {
        prepared: Box<PreparedPublish>,
        options: PublishOptions,
    },
    /// The rows a delete would remove, for its confirm dialog.
    DeletePlan {
        id: String,
        version: Option<String>,
    },
    /// Deletes exactly the rows its confirm dialog showed (saved to the trash first).
    Delete {
        id: String,
        version: Option<String>,
        rows: Vec<PackageRecord>,
    },
    /// The files in the trash, newest first.
    Trash,
    Restore {
        path: PathBuf,
    },
    /// The saved connections of the config file.
    Connections,
    /// Replace the registry with the saved connection `name`.
    Connect {
        name: String,
    },
}

impl Request {
    pub fn verify(scope: Scope) -> Request {
        Request::Verify {
            scope,
            cancel: Arc::default(),
        }
    }

    /// A few words for the header while the request runs.
    pub fn describe(&self) -> String {
        match self {
            Request::Counts => "counting rows".into(),
            Request::Packages => "loading packages".into(),
            Request::Versions { .. } => "loading versions".into(),
            Request::Record { .. } => "loading the version".into(),
            Request::Verify { .. } => "verifying".into(),
            Request::ReadFile { .. } => "reading the file".into(),
            Request::Validate { .. } => "validating".into(),
            Request::HotfixSource { .. } => "loading the version to hotfix".into(),
            Request::Review { .. } => "preparing the review".into(),
            Request::Publish { .. } => "publishing".into(),
            Request::DeletePlan { .. } => "looking up what to delete".into(),
            Request::Delete { .. } => "deleting".into(),
            Request::Trash => "reading the trash".into(),
            Request::Restore { .. } => "restoring".into(),
            Request::Connections => "reading the saved connections".into(),
            Request::Connect { name } => format!("connecting to {name}"),
        }
    }

    /// The reply that says this request failed with `error`.
    fn failed(self, error: String) -> Reply {
        match self {
            Request::Counts => Reply::Counts(Err(error)),
            Request::Packages => Reply::Packages {
                rows: Err(error),
                first: true,
                done: true,
            },
            Request::Versions { id } => Reply::Versions {
                id,
                rows: Err(error),
            },
            Request::Record { id, version } => Reply::Record {
                id,
                version,
                record: Err(error),
            },
            Request::Verify { scope, .. } => Reply::Verified {
                scope,
                report: Err(error),
                elapsed: Duration::ZERO,
            },
            Request::ReadFile { path } => Reply::FileRead {
                path,
                text: Err(error),
            },
            // A failed validation leaves the text marked as not yet checked.
            Request::Validate { generation, .. } => Reply::Validated {
                generation,
                validation: Validation::Problems(vec![
                    crate::registry::manifest::DocumentProblem {
                        path: "$".into(),
                        message: format!("could not be checked: {error}"),
                    },
                ]),
            },
            Request::HotfixSource { id, version } => Reply::HotfixSource {
                id,
                version,
                source: Err(error),
            },
            Request::Review { prepared } => Reply::Review {
                hash: prepared.hash,
                review: Err(error),
            },
            Request::Publish { prepared, .. } => Reply::Published {
                hash: prepared.hash,
                report: Err(error),
            },
            Request::DeletePlan { id, version } => Reply::DeletePlan {
                id,
                version,
                plan: Err(error),
            },
            Request::Delete { id, version, .. } => Reply::Deleted {
                id,
                version,
                report: Err(error),
            },
            Request::Trash => Reply::Trash {
                dir: PathBuf::new(),
                entries: Err(error),
            },
            Request::Restore { path } => Reply::Restored {
                path,
                rows: Err(error),
            },
            Request::Connections => Reply::Connections(Err(error)),
            Request::Connect { name } => Reply::Connected {
                name,
                target: Err(error),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub ticket: Ticket,
    pub request: Request,
}

/// A connection saved in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedConnection {
    pub name: String,
    pub target: String,
    pub token_env: Option<String>,
}

/// The connection picker's list: the config file and what it holds.
#[derive(Debug, Clone)]
pub struct Connections {
    pub config_file: PathBuf,
    pub saved: Result<Vec<SavedConnection>, String>,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Counts(Result<(u64, u64), String>),
    /// One page of the package list; `first` replaces what was shown, `done` ends the list.
    Packages {
        rows: Result<Vec<PackageSummary>, String>,
        first: bool,
        done: bool,
    },
    Versions {
        id: String,
        rows: Result<Vec<VersionSummary>, String>,
    },
    Record {
        id: String,
        version: String,
        record: Result<Box<LoadedRecord>, String>,
    },
    /// A verify still running.
    Progress {
        progress: VerifyProgress,
        elapsed: Duration,
    },
    Verified {
        scope: Scope,
        report: Result<VerifyReport, String>,
        elapsed: Duration,
    },
    /// The file's text, made visible (`document::visible`) for the editor.
    FileRead {
        path: PathBuf,
        text: Result<String, String>,
    },
    Validated {
        generation: u64,
        validation: Validation,
    },
    /// The editor's starting text for a hotfix and the bumped version (`None` when the
    /// version cannot be bumped).
    HotfixSource {
        id: String,
        version: String,
        source: Result<(String, Option<String>), String>,
    },
    /// `hash` is the reviewed document's, so a review of an older text is dropped.
    Review {
        hash: String,
        review: Result<Box<PublishReview>, String>,
    },
    Published {
        hash: String,
        report: Result<Box<PublishReport>, String>,
    },
    DeletePlan {
        id: String,
        version: Option<String>,
        plan: Result<DeletePlan, String>,
    },
    Deleted {
        id: String,
        version: Option<String>,
        report: Result<DeleteReport, String>,
    },
    Trash {
        dir: PathBuf,
        entries: Result<Vec<TrashEntry>, String>,
    },
    Restored {
        path: PathBuf,
        rows: Result<Vec<PackageRecord>, String>,
    },
    Connections(Result<Connections, String>),
    /// The new target (masked) on success; on failure the old registry is still in place.
    Connected {
        name: String,
        target: Result<String, String>,
    },
}

#[derive(Debug, Clone)]
pub struct Response {
    pub ticket: Ticket,
    pub reply: Reply,
    /// False for progress and for list pages that more pages follow.
    pub last: bool,
}

/// The handle the console keeps: a job sender and a response receiver.
pub struct Worker {
    jobs: Sender<Job>,
    responses: Receiver<Response>,
}

impl Worker {
    /// Starts the worker thread; it owns `registry` until the console lets go of the handle.
    /// `dirs` holds the config file the saved connections come from.
    pub fn spawn(registry: Registry, dirs: Dirs) -> Result<Worker, String> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (out, responses) = mpsc::channel::<Response>();
        thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                let mut registry = registry;
                for job in job_rx {
                    let ticket = job.ticket;
                    let request = job.request.clone();
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        if let Request::Connect { name } = &job.request {
                            let target = connect_to(&mut registry, name, &dirs);
                            let name = name.clone();
                            let _ = out.send(Response {
                                ticket,
                                reply: Reply::Connected { name, target },
                                last: true,
                            });
                        } else {
                            serve(&registry, job, &dirs, &out)
                        }
                    }));
                    if let Err(payload) = outcome {
                        let reason = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        let reply = request.failed(format!("internal error: {reason}"));
                        let _ = out.send(Response {
                            ticket,
                            reply,
                            last: true,
                        });
                    }
                }
            })
            .map_err(|e| format!("cannot start the storage worker: {e}"))?;
        Ok(Worker { jobs, responses })
    }

    pub fn send(&self, job: Job) -> Result<(), String> {
        self.jobs
            .send(job)
            .map_err(|_| "the storage worker has stopped".to_owned())
    }

    /// A response if one is ready; `Err` once the worker is gone.
    pub fn try_recv(&self) -> Result<Option<Response>, String> {
        match self.responses.try_recv() {
            Ok(r) => Ok(Some(r)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err("the storage worker has stopped".into()),
        }
    }

    /// Waits up to `timeout` for a response.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Response>, String> {
        match self.responses.recv_timeout(timeout) {
            Ok(r) => Ok(Some(r)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err("the storage worker has stopped".into()),
        }
    }
}

/// Opens the saved connection `name` in the current mode and, only if that works, replaces
/// `registry` with it; returns the new target (masked).
fn connect_to(registry: &mut Registry, name: &str, dirs: &Dirs) -> Result<String, String> {
    let request = connect::Request {
        db: None,
        connection: Some(name.to_owned()),
        read_only: registry.read_only(),
    };
    let opened = connect::open(&request, dirs).map_err(|e| match e {
        connect::ConnectError::Usage(m) => m,
        connect::ConnectError::Registry(e) => e.to_string(),
    })?;
    *registry = opened;
    Ok(registry.target().to_owned())
}

fn serve(registry: &Registry, job: Job, dirs: &Dirs, out: &Sender<Response>) {
    let ticket = job.ticket;
    let send = |reply: Reply, last: bool| {
        out.send(Response {
            ticket,
            reply,
            last,
        })
        .is_ok()
    };
    match job.request {
        Request::Counts => {
            send(
                Reply::Counts(registry.counts().map_err(|e| e.to_string())),
                true,
            );
        }
        Request::Packages => {
            let mut first = true;
            let listed = registry.list_with(&mut |page| {
                send(
                    Reply::Packages {
                        rows: Ok(page),
                        first,
                        done: false,
                    },
                    false,
                );
                first = false;
            });
            let rows = match listed {
                Ok(()) => Ok(Vec::new()),
                Err(e) => Err(e.to_string()),
            };
            send(
                Reply::Packages {
                    rows,
                    first,
                    done: true,
                },
                true,
            );
        }
        Request::Versions { id } => {
            let rows = registry.versions(&id).map_err(|e| e.to_string());
            send(Reply::Versions { id, rows }, true);
        }
        Request::Record { id, version } => {
            let record = registry
                .load_record(&id, &version)
                .map(Box::new)
                .map_err(|e| e.to_string());
            send(
                Reply::Record {
                    id,
                    version,
                    record,
                },
                true,
            );
        }
        Request::Verify { scope, cancel } => {
            let started = Instant::now();
            let mut last_sent = started;
            let report = registry.verify(&scope, &mut |progress| {
                if cancel.load(Ordering::Relaxed) {
                    return false;
                }
                if last_sent.elapsed() >= PROGRESS_EVERY {
                    last_sent = Instant::now();
                    let elapsed = started.elapsed();
                    // A console that went away cancels the scan too.
                    return send(Reply::Progress { progress, elapsed }, false);
                }
                true
            });
            send(
                Reply::Verified {
                    scope,
                    report: report.map_err(|e| e.to_string()),
                    elapsed: started.elapsed(),
                },
                true,
            );
        }
        Request::ReadFile { path } => {
            let text = read_document(&path).map(|t| document::visible(&t));
            send(Reply::FileRead { path, text }, true);
        }
        Request::Validate { text, generation } => {
            let validation = Validation::of(&text);
            send(
                Reply::Validated {
                    generation,
                    validation,
                },
                true,
            );
        }
        Request::HotfixSource { id, version } => {
            // Pretty-printed here, not on the UI thread: a large document takes a while.
            let source = registry
                .hotfix_source(&id, &version)
                .map(|s| (document::hotfix_text(&s.document), s.bumped))
                .map_err(|e| e.to_string());
            send(
                Reply::HotfixSource {
                    id,
                    version,
                    source,
                },
                true,
            );
        }
        Request::Review { prepared } => {
            let hash = prepared.hash.clone();
            let review = registry
                .review_publish(*prepared)
                .map(Box::new)
                .map_err(|e| e.to_string());
            send(Reply::Review { hash, review }, true);
        }
        Request::Publish { prepared, options } => {
            let report = registry
                .publish_and_verify(&prepared, options)
                .map(Box::new)
                .map_err(|e| e.to_string());
            send(
                Reply::Published {
                    hash: prepared.hash,
                    report,
                },
                true,
            );
        }
        Request::DeletePlan { id, version } => {
            let plan = registry
                .plan_delete(&id, version.as_deref())
                .map_err(|e| match e {
                    RegistryError::NotFound { .. } => match &version {
                        Some(v) => format!("{id} {v} is not in the registry any more"),
                        None => format!("{id} has no versions in the registry any more"),
                    },
                    e => e.to_string(),
                });
            send(Reply::DeletePlan { id, version, plan }, true);
        }
        Request::Delete { id, version, rows } => {
            let report = registry
                .delete_planned(&id, rows)
                .map_err(|e| e.to_string());
            send(
                Reply::Deleted {
                    id,
                    version,
                    report,
                },
                true,
            );
        }
        Request::Trash => {
            let dir = registry.trash().dir().to_owned();
            let entries = Ok(registry.trash().entries());
            send(Reply::Trash { dir, entries }, true);
        }
        Request::Restore { path } => {
            let rows = registry.restore(&path).map_err(|e| e.to_string());
            send(Reply::Restored { path, rows }, true);
        }
        Request::Connections => {
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
            send(
                Reply::Connections(Ok(Connections { config_file, saved })),
                true,
            );
        }
        // Handled by the loop, which owns the registry mutably.
        Request::Connect { .. } => {}
    }
}

/// The text of a document file for the editor, or why it cannot be opened.
fn read_document(path: &std::path::Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory, not a document file"));
    }
    if meta.len() > EDITOR_FILE_LIMIT {
        return Err(format!(
            "{shown} is {} MB, too large to edit in the console; publish it with pkgdeck publish FILE",
            meta.len() / 1_000_000
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
