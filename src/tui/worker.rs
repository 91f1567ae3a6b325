//! Storage calls off the UI thread. The worker thread owns the [`Registry`]; the console sends
//! it [`Job`]s over a channel and drains [`Response`]s, so a slow remote never freezes input.
//! A verify streams progress and stops when its cancel flag is raised.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::registry::canonical::{self, Hasher, JsValue};
use crate::registry::{
    verify_record, PackageRecord, PackageSummary, Registry, Scope, Verification, VerifyProgress,
    VerifyReport, VersionSummary,
};

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
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub ticket: Ticket,
    pub request: Request,
}

/// One version as the detail screen needs it: the stored row, its two texts parsed (or why
/// not), and its verification.
#[derive(Debug, Clone)]
pub struct LoadedRecord {
    pub record: PackageRecord,
    pub manifest: Result<JsValue, String>,
    pub metadata: Result<JsValue, String>,
    pub verification: Verification,
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
    pub fn spawn(registry: Registry) -> Result<Worker, String> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (out, responses) = mpsc::channel::<Response>();
        thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                for job in job_rx {
                    let ticket = job.ticket;
                    let request = job.request.clone();
                    let outcome = catch_unwind(AssertUnwindSafe(|| serve(&registry, job, &out)));
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

fn serve(registry: &Registry, job: Job, out: &Sender<Response>) {
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
                        rows: Ok(page.to_vec()),
                        first,
                        done: false,
                    },
                    false,
                );
                first = false;
            });
            let rows = match listed {
                Ok(_) => Ok(Vec::new()),
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
                .require(&id, Some(&version))
                .map(|record| Box::new(load(record)))
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
    }
}

fn load(record: PackageRecord) -> LoadedRecord {
    let verification = verify_record(&record, &mut Hasher::new());
    let parse = |text: &str| canonical::parse(text).map_err(|e| e.to_string());
    LoadedRecord {
        manifest: parse(&record.manifest),
        metadata: parse(&record.metadata),
        verification,
        record,
    }
}
