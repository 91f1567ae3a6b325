//! Storage calls off the UI thread, like gitui's asyncgit: the worker thread owns the
//! [`Registry`], and answers each [`Request`] with one call of a plain blocking function that
//! owns the logic (a registry method, or for the editor's files and the saved connections a
//! `document` or `connect` function) and sends the typed result back. It decides nothing. A
//! verify streams progress (at most every [`PROGRESS_EVERY`]) and stops when its cancel flag
//! is raised; switching the connection replaces the registry it owns, and only on success.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use super::document::{self, Validation};
use super::protocol::{Job, JobError, Reply, Request, Response};
use crate::config::Dirs;
use crate::connect;
use crate::registry::Registry;

/// The worker thread's name; the panic hook recognises it and leaves the terminal alone.
pub const THREAD_NAME: &str = "pkgdeck-worker";

/// Progress of a long verify is sent at most this often, so the channel never floods.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// Why the console cannot reach its worker.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The operating system refused to start the thread.
    #[error("cannot start the storage worker: {0}")]
    Spawn(#[source] std::io::Error),
    /// The thread is gone: nothing more will be answered.
    #[error("the storage worker has stopped")]
    Stopped,
}

/// The handle the console keeps: a job sender and a response receiver.
pub struct Worker {
    jobs: Sender<Job>,
    responses: Receiver<Response>,
}

impl Worker {
    /// Starts the worker thread; it owns `registry` until the console lets go of the handle.
    /// `dirs` holds the config file the saved connections come from.
    pub fn spawn(registry: Registry, dirs: Dirs) -> Result<Worker, WorkerError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (out, responses) = mpsc::channel::<Response>();
        thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                let mut registry = registry;
                for job in job_rx {
                    let ticket = job.ticket;
                    let request = job.request.clone();
                    let served =
                        catch_unwind(AssertUnwindSafe(|| serve(&mut registry, job, &dirs, &out)));
                    if let Err(payload) = served {
                        let reason = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        let _ = out.send(Response {
                            ticket,
                            reply: request.failed(JobError::Panicked(reason)),
                            last: true,
                        });
                    }
                }
            })
            .map_err(WorkerError::Spawn)?;
        Ok(Worker { jobs, responses })
    }

    pub fn send(&self, job: Job) -> Result<(), WorkerError> {
        self.jobs.send(job).map_err(|_| WorkerError::Stopped)
    }

    /// A response if one is ready; `Err` once the worker is gone.
    pub fn try_recv(&self) -> Result<Option<Response>, WorkerError> {
        match self.responses.try_recv() {
            Ok(r) => Ok(Some(r)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(WorkerError::Stopped),
        }
    }

    /// Waits up to `timeout` for a response.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Response>, WorkerError> {
        match self.responses.recv_timeout(timeout) {
            Ok(r) => Ok(Some(r)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(WorkerError::Stopped),
        }
    }
}

/// Answers one job: one call, its result sent back as it is.
fn serve(registry: &mut Registry, job: Job, dirs: &Dirs, out: &Sender<Response>) {
    let ticket = job.ticket;
    let send = |reply: Reply, last: bool| {
        out.send(Response {
            ticket,
            reply,
            last,
        })
        .is_ok()
    };
    let reply = match job.request {
        Request::Counts => Reply::Counts(registry.counts().map_err(JobError::from)),
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
            Reply::Packages {
                rows: listed.map(|()| Vec::new()).map_err(JobError::from),
                first,
                done: true,
            }
        }
        Request::Versions { id } => {
            let rows = registry.versions(&id).map_err(JobError::from);
            Reply::Versions { id, rows }
        }
        Request::Record { id, version } => {
            let record = registry
                .load_record(&id, &version)
                .map(Box::new)
                .map_err(JobError::from);
            Reply::Record {
                id,
                version,
                record,
            }
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
            Reply::Verified {
                scope,
                report: report.map_err(JobError::from),
                elapsed: started.elapsed(),
            }
        }
        Request::ReadFile { path } => {
            let text = document::read_file(&path).map_err(JobError::from);
            Reply::FileRead { path, text }
        }
        Request::Validate { text, generation } => Reply::Validated {
            generation,
            validation: Validation::of(&text),
        },
        Request::HotfixSource { id, version } => {
            // Pretty-printed here, not on the UI thread: a large document takes a while.
            let source = registry
                .hotfix_source(&id, &version)
                .map(|s| (document::hotfix_text(&s.document), s.bumped))
                .map_err(JobError::from);
            Reply::HotfixSource {
                id,
                version,
                source,
            }
        }
        Request::Review { prepared } => Reply::Review {
            hash: prepared.hash.clone(),
            review: registry
                .review_publish(*prepared)
                .map(Box::new)
                .map_err(JobError::from),
        },
        Request::Publish { prepared, options } => Reply::Published {
            report: registry
                .publish_and_verify(&prepared, options)
                .map(Box::new)
                .map_err(JobError::from),
            hash: prepared.hash,
        },
        Request::DeletePlan { id, version } => {
            let plan = registry
                .plan_delete(&id, version.as_deref())
                .map_err(JobError::from);
            Reply::DeletePlan { id, version, plan }
        }
        Request::Delete {
            id,
            version,
            rows,
            allow,
        } => {
            let report = registry
                .delete_planned(&id, rows, allow)
                .map_err(JobError::from);
            Reply::Deleted {
                id,
                version,
                report,
            }
        }
        Request::Trash => Reply::Trash {
            dir: registry.trash().dir().to_owned(),
            entries: Ok(registry.trash().entries()),
        },
        Request::RestorePlan { path } => {
            let plan = registry.plan_restore(&path).map_err(JobError::from);
            Reply::RestorePlan { path, plan }
        }
        Request::Restore { path, allow } => {
            let report = registry.restore(&path, allow).map_err(JobError::from);
            Reply::Restored { path, report }
        }
        Request::Boot => Reply::Boot(
            registry
                .doctor(&registry.boot_settings().clone())
                .map(Box::new)
                .map_err(JobError::from),
        ),
        Request::PromotePlan { id, version } => {
            let plan = registry.plan_promote(&id, &version).map_err(JobError::from);
            Reply::PromotePlan { id, version, plan }
        }
        Request::Promote { id, version, allow } => {
            let outcome = registry
                .promote(&id, &version, allow)
                .map(Box::new)
                .map_err(JobError::from);
            Reply::Promoted {
                id,
                version,
                outcome,
            }
        }
        Request::Connections => Reply::Connections(Ok(connect::saved_connections(dirs))),
        Request::Connect { name } => {
            // The registry is replaced only once the new one is open.
            let target = connect::open_saved(&name, registry.read_only(), dirs)
                .map(|opened| {
                    *registry = opened;
                    registry.target().to_owned()
                })
                .map_err(JobError::from);
            Reply::Connected { name, target }
        }
    };
    send(reply, true);
}
