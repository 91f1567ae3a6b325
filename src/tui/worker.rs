//! Storage calls off the UI thread, like gitui's asyncgit: the worker thread owns the
//! [`Registry`], and answers each [`Request`] with one call of a plain blocking function that
//! owns the logic (a registry method, or for the editor's files and the saved connections a
//! `document` or `connect` function) and sends the typed result back. It decides nothing. A
//! verify streams progress (at most every [`PROGRESS_EVERY`]) and stops when its cancel flag
//! is raised; switching the connection replaces the registry it owns, and only on success.
//! While the Compare screen is open it also holds the compared registry (a saved connection)
//! beside the current one: the comparison, a copy across and a diff across are registry
//! calls on the two.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use super::document::{self, Validation};
use super::drafts;
use super::protocol::{
    Checked, Compared, CopyPlan, Job, JobError, Opened, Reply, Request, Response,
};
use crate::config::Dirs;
use crate::connect::{self, Profile};
use crate::registry::{self as reg, Open, Registry, RegistryError};

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
    /// Starts the worker thread; it owns `registry` (or, when `None`, the one a
    /// [`Request::Open`] opens) until the console lets go of the handle, and drops it then:
    /// a remote's stream is closed. `read_only` is the command line's `--read-only`, kept for
    /// connection switches; `dirs` holds the config file the saved connections come from.
    pub fn spawn(
        registry: Option<Registry>,
        read_only: bool,
        dirs: Dirs,
    ) -> Result<Worker, WorkerError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (out, responses) = mpsc::channel::<Response>();
        thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                let mut held = Held {
                    registry,
                    read_only,
                    other: None,
                };
                for job in job_rx {
                    let ticket = job.ticket;
                    let request = job.request.clone();
                    let served =
                        catch_unwind(AssertUnwindSafe(|| serve(&mut held, job, &dirs, &out)));
                    let unfinished = held
                        .registry
                        .as_ref()
                        .map(Registry::take_bookkeeping)
                        .unwrap_or_default();
                    if !unfinished.is_empty() {
                        let _ = out.send(Response {
                            ticket,
                            reply: Reply::Bookkeeping(unfinished),
                            last: false,
                        });
                    }
                    if let Err(payload) = served {
                        let reason = payload
                            .downcast_ref::<&str>()
                            .map(std::string::ToString::to_string)
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

    /// Lets the worker go: it finishes the job in hand, drops the registry (closing a
    /// remote's stream) and ends. Waits at most `wait` for that, so a registry that does not
    /// answer cannot keep the console from quitting.
    pub fn shutdown(self, wait: Duration) {
        let Worker { jobs, responses } = self;
        drop(jobs);
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            // Answers still in flight are dropped; the end of the channel is the end.
            if let Err(RecvTimeoutError::Disconnected) = responses.recv_timeout(left) {
                return;
            }
        }
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

/// What the worker holds: the registry once one is open, and the command line's
/// `--read-only` for the connections it switches to.
struct Held {
    registry: Option<Registry>,
    read_only: bool,
    /// The saved connection the Compare screen compares with (its name, the registry and how
    /// the console shows it), held beside the current one while that screen reloads.
    other: Option<(String, Registry, Opened)>,
}

/// The console's view of an open registry.
fn opened(registry: &Registry, profile: &Profile) -> Opened {
    Opened {
        target: registry.target().to_owned(),
        read_only: registry.read_only(),
        production: profile.production.then(|| profile.name.clone()).flatten(),
        poll: registry.change_poll_interval(),
        exists: registry.exists(),
        proxy: registry.proxy(),
    }
}

/// Opens what `request` names, and holds it on success.
fn open(
    held: &mut Held,
    request: &connect::Request,
    dirs: &Dirs,
    mode: Open,
) -> Result<Opened, JobError> {
    let profile = connect::profile(request, dirs)?;
    let registry = connect::open_as(request, dirs, mode)?;
    let answer = opened(&registry, &profile);
    // The old registry (a switch) goes only once the new one is open.
    held.registry = Some(registry);
    Ok(answer)
}

/// Answers one job: one call, its result sent back as it is.
fn serve(held: &mut Held, job: Job, dirs: &Dirs, out: &Sender<Response>) {
    let ticket = job.ticket;
    let send = |reply: Reply, last: bool| {
        out.send(Response {
            ticket,
            reply,
            last,
        })
        .is_ok()
    };
    // What needs no registry first.
    let request = match job.request {
        Request::Open { request } => {
            // The registry the console starts on may not exist yet: it opens empty.
            let opened = open(held, &request, dirs, Open::CreateOnWrite);
            send(Reply::Opened(opened), true);
            return;
        }
        Request::Connect { name } => {
            let request = connect::Request {
                db: None,
                connection: Some(name.clone()),
                read_only: held.read_only,
            };
            // A saved connection switched to must hold a registry.
            let opened = open(held, &request, dirs, Open::Existing);
            // The registry compared with was the old current one's partner.
            held.other = None;
            send(Reply::Connected { name, opened }, true);
            return;
        }
        Request::EndCompare => {
            held.other = None;
            send(Reply::CompareEnded, true);
            return;
        }
        Request::Connections => {
            send(
                Reply::Connections(Ok(connect::saved_connections(dirs))),
                true,
            );
            return;
        }
        Request::Drafts => {
            send(Reply::Drafts(drafts::list(dirs)), true);
            return;
        }
        Request::ResumeDraft { draft } => {
            let text = drafts::read(&draft.path)
                .map(|t| document::visible(&t))
                .map_err(JobError::from);
            send(Reply::DraftRead { draft, text }, true);
            return;
        }
        Request::DiscardDraft { path } => {
            let result = drafts::remove(&path).map_err(JobError::from);
            send(Reply::DraftDiscarded { path, result }, true);
            return;
        }
        Request::ReadFile { path } => {
            let text = document::read_file(&path).map_err(JobError::from);
            send(Reply::FileRead { path, text }, true);
            return;
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
            return;
        }
        other => other,
    };
    let Some(registry) = held.registry.as_mut() else {
        send(request.failed(JobError::NotConnected), true);
        return;
    };
    let reply = match request {
        Request::Counts => Reply::Counts(registry.counts().map_err(JobError::from)),
        Request::Changes => Reply::Changes(registry.change_mark().map_err(JobError::from)),
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
            let mut rows = Vec::new();
            let report = registry.verify_rows(
                &scope,
                &mut |progress| {
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
                },
                &mut |v| rows.push(Checked::of(v)),
            );
            Reply::Verified {
                scope,
                report: report.map_err(JobError::from),
                elapsed: started.elapsed(),
                rows,
            }
        }
        Request::HotfixSource {
            id,
            version,
            outside,
        } => {
            // Pretty-printed here, not on the UI thread: a large document takes a while.
            let source = registry
                .hotfix_source(&id, &version)
                .map(|s| (document::hotfix_text(&s.document), s.bumped))
                .map_err(JobError::from);
            Reply::HotfixSource {
                id,
                version,
                outside,
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
        Request::Diff { id, from, to } => {
            let diff = registry
                .diff(&id, &from, &to)
                .map(Box::new)
                .map_err(JobError::from);
            Reply::Diff { id, from, to, diff }
        }
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
            let plan = registry.plan_restore(&path, true).map_err(JobError::from);
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
        Request::Compare { name } => {
            let compared = compare(registry, &mut held.other, &name, held.read_only, dirs);
            Reply::Compared { name, compared }
        }
        Request::CopyPlan {
            id,
            version,
            to_other,
        } => {
            let plan = match &held.other {
                Some((_, other, _)) => copy_plan(registry, other, &id, &version, to_other),
                None => Err(JobError::NotCompared),
            };
            Reply::CopyPlan {
                id,
                version,
                to_other,
                plan,
            }
        }
        Request::Copy {
            row,
            to_other,
            options,
            ..
        } => {
            let destination = if to_other {
                held.other.as_ref().map(|(_, other, _)| other)
            } else {
                Some(&*registry)
            };
            let report = match destination {
                Some(to) => to
                    .copy_in(&row, options)
                    .map(Box::new)
                    .map_err(JobError::from),
                None => Err(JobError::NotCompared),
            };
            if to_other {
                if let Some((_, other, _)) = &held.other {
                    // The compared registry's unfinished bookkeeping is told like the current one's.
                    let unfinished = other.take_bookkeeping();
                    if !unfinished.is_empty() {
                        send(Reply::Bookkeeping(unfinished), false);
                    }
                }
            }
            Reply::Copied {
                id: row.id,
                version: row.version,
                report,
            }
        }
        Request::CompareDiff { id, version } => {
            let diff = match &held.other {
                Some((_, other, _)) => compare_diff(registry, other, &id, &version).map(Box::new),
                None => Err(JobError::NotCompared),
            };
            Reply::Diff {
                from: format!("{version} (A)"),
                to: format!("{version} (B)"),
                id,
                diff,
            }
        }
        // Answered above, before the registry was needed.
        Request::Open { .. }
        | Request::Connect { .. }
        | Request::Drafts
        | Request::ResumeDraft { .. }
        | Request::DiscardDraft { .. }
        | Request::Connections
        | Request::EndCompare
        | Request::ReadFile { .. }
        | Request::Validate { .. } => return,
    };
    send(reply, true);
}

/// Compares the current registry with the saved connection `name`, opened once (in the
/// console's mode) and kept in `other` while the Compare screen reloads.
fn compare(
    current: &Registry,
    other: &mut Option<(String, Registry, Opened)>,
    name: &str,
    read_only: bool,
    dirs: &Dirs,
) -> Result<Box<Compared>, JobError> {
    if other.as_ref().is_none_or(|(held, _, _)| held != name) {
        *other = None;
        let request = connect::Request {
            db: None,
            connection: Some(name.to_owned()),
            read_only,
        };
        let profile = connect::profile(&request, dirs)?;
        let registry = connect::open_as(&request, dirs, Open::Existing)?;
        let shown = opened(&registry, &profile);
        *other = Some((name.to_owned(), registry, shown));
    }
    let Some((_, b, shown)) = other.as_ref() else {
        return Err(JobError::NotCompared);
    };
    let mut packages = Vec::new();
    let summary = reg::compare(current, b, &mut |p| {
        packages.push(p);
        true
    })?;
    Ok(Box::new(Compared {
        other: shown.clone(),
        packages,
        summary,
    }))
}

/// The source row of a copy across and the destination's review of it.
fn copy_plan(
    current: &Registry,
    other: &Registry,
    id: &str,
    version: &str,
    to_other: bool,
) -> Result<Box<CopyPlan>, JobError> {
    let (from, to) = if to_other {
        (current, other)
    } else {
        (other, current)
    };
    if to.read_only() {
        return Err(RegistryError::ReadOnly {
            target: to.target().to_owned(),
            action: "copy".into(),
        }
        .into());
    }
    let mut rows = from.copy_source(id, Some(version), false)?;
    let mut steps = to.plan_copy(&rows)?;
    let (Some(row), Some(step)) = (rows.pop(), steps.pop()) else {
        return Err(JobError::NotCompared);
    };
    Ok(Box::new(CopyPlan {
        row,
        step,
        from: from.target().to_owned(),
        to: to.target().to_owned(),
    }))
}

/// What differs between `id@version` in the current registry (A) and the compared one (B).
fn compare_diff(
    a: &Registry,
    b: &Registry,
    id: &str,
    version: &str,
) -> Result<reg::PackageDiff, JobError> {
    let old = a.require(id, Some(version))?;
    let new = b.require(id, Some(version))?;
    let mut diff =
        reg::diff::diff_records(&old, &new).map_err(|(in_b, reason)| RegistryError::Corrupt {
            target: if in_b { b.target() } else { a.target() }.to_owned(),
            id: id.to_owned(),
            version: version.to_owned(),
            reason,
        })?;
    diff.from = format!("{version} (A)");
    diff.to = format!("{version} (B)");
    Ok(diff)
}
