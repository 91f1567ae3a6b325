//! What the console and its worker say to each other: a [`Request`] goes out in a [`Job`]
//! with its [`Ticket`], a [`Response`] with the same ticket carries the [`Reply`]. The replies
//! hold the registry's typed results as they are; the console decides on error kinds and
//! makes the one sentence the footer shows. A leaf module: screens build requests without
//! knowing the worker.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::document::{FileError, Validation};
use crate::connect::{ConnectError, Connections};
use crate::registry::manifest::DocumentProblem;
use crate::registry::trash::TrashEntry;
use crate::registry::{
    Allow, DeletePlan, DeleteReport, DoctorReport, LoadedRecord, PackageRecord, PackageSummary,
    PreparedPublish, PromoteOutcome, PromotePlan, PublishOptions, PublishReport, PublishReview,
    RegistryError, RestorePlan, RestoreReport, Scope, VerifyProgress, VerifyReport, VersionSummary,
};

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
    /// Deletes exactly the rows its confirm dialog showed (saved to the trash first); `allow`
    /// is what the operator overrode of the guards (spec 8.4) by typing the package id.
    Delete {
        id: String,
        version: Option<String>,
        rows: Vec<PackageRecord>,
        allow: Allow,
    },
    /// The files in the trash, newest first.
    Trash,
    /// What restoring a trash file puts back and changes in the server's boot.
    RestorePlan {
        path: PathBuf,
    },
    Restore {
        path: PathBuf,
        allow: Allow,
    },
    /// The server's boot replayed over the registry (the Boot screen).
    Boot,
    /// What promoting a version changes, for its confirm dialog.
    PromotePlan {
        id: String,
        version: String,
    },
    Promote {
        id: String,
        version: String,
        allow: Allow,
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
            Request::RestorePlan { .. } => "rehearsing the restore".into(),
            Request::Restore { .. } => "restoring".into(),
            Request::Boot => "replaying the server's boot".into(),
            Request::PromotePlan { .. } => "rehearsing the promote".into(),
            Request::Promote { .. } => "promoting".into(),
            Request::Connections => "reading the saved connections".into(),
            Request::Connect { name } => format!("connecting to {name}"),
        }
    }

    /// The reply that says this request failed with `error`.
    pub fn failed(self, error: JobError) -> Reply {
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
                validation: Validation::Problems(vec![DocumentProblem {
                    path: "$".into(),
                    message: format!("could not be checked: {error}"),
                }]),
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
            Request::RestorePlan { path } => Reply::RestorePlan {
                path,
                plan: Err(error),
            },
            Request::Restore { path, .. } => Reply::Restored {
                path,
                report: Err(error),
            },
            Request::Boot => Reply::Boot(Err(error)),
            Request::PromotePlan { id, version } => Reply::PromotePlan {
                id,
                version,
                plan: Err(error),
            },
            Request::Promote { id, version, .. } => Reply::Promoted {
                id,
                version,
                outcome: Err(error),
            },
            Request::Connections => Reply::Connections(Err(error)),
            Request::Connect { name } => Reply::Connected {
                name,
                target: Err(error),
            },
        }
    }
}

/// A request with the ticket its answer will carry.
#[derive(Debug, Clone)]
pub struct Job {
    pub ticket: Ticket,
    pub request: Request,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The registry refused or failed (read-only, not found, a conflict, the store…).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A document file cannot be opened in the editor.
    #[error(transparent)]
    File(#[from] FileError),
    /// A saved connection cannot be opened; the console stays where it was.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The worker panicked while serving the request; this is the panic's text.
    #[error("internal error: {0}")]
    Panicked(String),
}

impl JobError {
    /// The registry's error, when the registry is what failed.
    pub fn registry(&self) -> Option<&RegistryError> {
        match self {
            JobError::Registry(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum Reply {
    Counts(Result<(u64, u64), JobError>),
    /// One page of the package list; `first` replaces what was shown, `done` ends the list.
    Packages {
        rows: Result<Vec<PackageSummary>, JobError>,
        first: bool,
        done: bool,
    },
    Versions {
        id: String,
        rows: Result<Vec<VersionSummary>, JobError>,
    },
    Record {
        id: String,
        version: String,
        record: Result<Box<LoadedRecord>, JobError>,
    },
    /// A verify still running.
    Progress {
        progress: VerifyProgress,
        elapsed: Duration,
    },
    Verified {
        scope: Scope,
        report: Result<VerifyReport, JobError>,
        elapsed: Duration,
    },
    /// The file's text, made visible (`document::visible`) for the editor.
    FileRead {
        path: PathBuf,
        text: Result<String, JobError>,
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
        source: Result<(String, Option<String>), JobError>,
    },
    /// `hash` is the reviewed document's, so a review of an older text is dropped.
    Review {
        hash: String,
        review: Result<Box<PublishReview>, JobError>,
    },
    Published {
        hash: String,
        report: Result<Box<PublishReport>, JobError>,
    },
    DeletePlan {
        id: String,
        version: Option<String>,
        plan: Result<DeletePlan, JobError>,
    },
    Deleted {
        id: String,
        version: Option<String>,
        report: Result<DeleteReport, JobError>,
    },
    Trash {
        dir: PathBuf,
        entries: Result<Vec<TrashEntry>, JobError>,
    },
    RestorePlan {
        path: PathBuf,
        plan: Result<RestorePlan, JobError>,
    },
    Restored {
        path: PathBuf,
        report: Result<RestoreReport, JobError>,
    },
    Boot(Result<Box<DoctorReport>, JobError>),
    PromotePlan {
        id: String,
        version: String,
        plan: Result<PromotePlan, JobError>,
    },
    Promoted {
        id: String,
        version: String,
        outcome: Result<Box<PromoteOutcome>, JobError>,
    },
    Connections(Result<Connections, JobError>),
    /// The new target (masked) on success; on failure the old registry is still in place.
    Connected {
        name: String,
        target: Result<String, JobError>,
    },
}

/// One answer to a job.
#[derive(Debug)]
pub struct Response {
    pub ticket: Ticket,
    pub reply: Reply,
    /// False for progress and for list pages that more pages follow.
    pub last: bool,
}
