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
use super::drafts::{Draft, DraftError};
use crate::connect::{self, ConnectError, Connections};
use crate::registry::manifest::DocumentProblem;
use crate::registry::trash::TrashEntry;
use crate::registry::{
    Allow, Bookkeeping, ChangeMark, CompareSummary, CopyOptions, CopyStep, DeletePlan,
    DeleteReport, DoctorReport, LoadedRecord, PackageComparison, PackageDiff, PackageRecord,
    PackageSummary, PreparedPublish, Problem, PromoteOutcome, PromotePlan, PublishOptions,
    PublishReport, PublishReview, RegistryError, RestorePlan, RestoreReport, Scope, Verification,
    VerifyProgress, VerifyReport, VersionSummary, Warning,
};

/// Identifies one job; every response carries the ticket of the job it answers.
pub type Ticket = u64;

/// What the console asks of the registry.
#[derive(Debug, Clone)]
pub enum Request {
    /// Open the registry the operator named: the console's first request, so that its first
    /// frame is drawn before any storage call returns.
    Open {
        request: connect::Request,
    },
    /// Package and row counts for the header.
    Counts,
    /// Whether another process changed the registry: its [`ChangeMark`] now.
    Changes,
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
        /// For `$VISUAL`/`$EDITOR` rather than the built-in editor.
        outside: bool,
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
    /// What changed between two versions of a package.
    Diff {
        id: String,
        from: String,
        to: String,
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
    /// The drafts kept in the data dir, newest first.
    Drafts,
    /// A draft's text, to resume it in the editor.
    ResumeDraft {
        draft: Draft,
    },
    /// Drops a draft: it was published or discarded.
    DiscardDraft {
        path: PathBuf,
    },
    /// The saved connections of the config file.
    Connections,
    /// Replace the registry with the saved connection `name`.
    Connect {
        name: String,
    },
    /// The registry compared with the saved connection `name` (spec 11): the worker opens
    /// it (or keeps the one it opened for the same name) and holds it beside the current one.
    Compare {
        name: String,
    },
    /// What copying `id@version` across would do at the destination (its review), for the
    /// confirm dialog; `to_other` copies from the current registry to the compared one.
    CopyPlan {
        id: String,
        version: String,
        to_other: bool,
    },
    /// Copies exactly the row its dialog showed; `production` is the destination's
    /// connection name when it is a production one (the compared registry's; the current
    /// one's is the app's own).
    Copy {
        row: Box<PackageRecord>,
        to_other: bool,
        options: CopyOptions,
        production: Option<String>,
    },
    /// The Compare screen closed: the compared registry is let go.
    EndCompare,
    /// What differs between `id@version` in the current registry and in the compared one.
    CompareDiff {
        id: String,
        version: String,
    },
}

impl Request {
    pub fn verify(scope: Scope) -> Request {
        Request::Verify {
            scope,
            cancel: Arc::default(),
        }
    }

    /// The write this request makes, in a few words for a confirmation; `None` for reads.
    pub fn write(&self) -> Option<String> {
        match self {
            Request::Publish { prepared, .. } => {
                Some(format!("publish {} {}", prepared.id, prepared.version))
            }
            Request::Delete { id, rows, .. } => Some(format!(
                "delete {} of {id}",
                super::count(rows.len() as u64, "row")
            )),
            Request::Restore { path, .. } => Some(format!("restore {}", super::file_name(path))),
            Request::Promote { id, version, .. } => Some(format!("promote {id} {version}")),
            Request::Copy { row, .. } => Some(format!("copy {} {}", row.id, row.version)),
            _ => None,
        }
    }

    /// A few words for the header while the request runs.
    pub fn describe(&self) -> String {
        match self {
            Request::Open { .. } => "connecting".into(),
            Request::Counts => "counting rows".into(),
            Request::Changes => "looking for changes".into(),
            Request::Packages => "loading packages".into(),
            Request::Versions { .. } => "loading versions".into(),
            Request::Record { .. } => "loading the version".into(),
            Request::Verify { .. } => "verifying".into(),
            Request::ReadFile { .. } => "reading the file".into(),
            Request::Validate { .. } => "validating".into(),
            Request::HotfixSource { .. } => "loading the version to hotfix".into(),
            Request::Review { .. } => "preparing the review".into(),
            Request::Publish { .. } => "publishing".into(),
            Request::Diff { .. } => "comparing the versions".into(),
            Request::DeletePlan { .. } => "looking up what to delete".into(),
            Request::Delete { .. } => "deleting".into(),
            Request::Trash => "reading the trash".into(),
            Request::RestorePlan { .. } => "rehearsing the restore".into(),
            Request::Restore { .. } => "restoring".into(),
            Request::Boot => "replaying the server's boot".into(),
            Request::PromotePlan { .. } => "rehearsing the promote".into(),
            Request::Promote { .. } => "promoting".into(),
            Request::Drafts => "looking for drafts".into(),
            Request::ResumeDraft { .. } => "reading the draft".into(),
            Request::DiscardDraft { .. } => "discarding the draft".into(),
            Request::Connections => "reading the saved connections".into(),
            Request::Connect { name } => format!("connecting to {name}"),
            Request::Compare { name } => format!("comparing with {name}"),
            Request::CopyPlan { .. } => "rehearsing the copy".into(),
            Request::Copy { .. } => "copying".into(),
            Request::CompareDiff { .. } => "comparing the two rows".into(),
            Request::EndCompare => "closing the compared registry".into(),
        }
    }

    /// The reply that says this request failed with `error`.
    pub fn failed(self, error: JobError) -> Reply {
        match self {
            Request::Open { .. } => Reply::Opened(Err(error)),
            Request::Counts => Reply::Counts(Err(error)),
            Request::Changes => Reply::Changes(Err(error)),
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
                rows: Vec::new(),
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
            Request::HotfixSource {
                id,
                version,
                outside,
            } => Reply::HotfixSource {
                id,
                version,
                outside,
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
            Request::Diff { id, from, to } => Reply::Diff {
                id,
                from,
                to,
                diff: Err(error),
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
            Request::Drafts => Reply::Drafts(Vec::new()),
            Request::ResumeDraft { draft } => Reply::DraftRead {
                draft,
                text: Err(error),
            },
            Request::DiscardDraft { path } => Reply::DraftDiscarded {
                path,
                result: Err(error),
            },
            Request::Connections => Reply::Connections(Err(error)),
            Request::Connect { name } => Reply::Connected {
                name,
                opened: Err(error),
            },
            Request::Compare { name } => Reply::Compared {
                name,
                compared: Err(error),
            },
            Request::CopyPlan {
                id,
                version,
                to_other,
            } => Reply::CopyPlan {
                id,
                version,
                to_other,
                plan: Err(error),
            },
            Request::Copy { row, .. } => Reply::Copied {
                id: row.id,
                version: row.version,
                report: Err(error),
            },
            Request::EndCompare => Reply::CompareEnded,
            Request::CompareDiff { id, version } => Reply::Diff {
                from: format!("{version} (A)"),
                to: format!("{version} (B)"),
                id,
                diff: Err(error),
            },
        }
    }
}

/// One verified row as the console keeps it: which row, a [`fingerprint`] of the stored hash
/// the result holds for, and what was found (nothing, for an ok row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub id: String,
    pub version: String,
    pub hash: u64,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Warning>,
}

impl Checked {
    pub fn of(v: &Verification) -> Checked {
        Checked {
            id: v.id.clone(),
            version: v.version.clone(),
            hash: fingerprint(&v.stored_hash),
            problems: v.problems.clone(),
            warnings: v.warnings.clone(),
        }
    }
}

/// A short stand-in for a stored hash: whether a row still has the hash a result was found
/// for, without keeping 64 characters for each of 100,000 rows.
pub fn fingerprint(hash: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash.hash(&mut h);
    h.finish()
}

/// A request with the ticket its answer will carry.
#[derive(Debug, Clone)]
pub struct Job {
    pub ticket: Ticket,
    pub request: Request,
}

/// A registry the worker opened, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The target, token masked.
    pub target: String,
    pub read_only: bool,
    /// The saved connection's name when it is a production one.
    pub production: Option<String>,
    /// How often to ask whether another process changed it.
    pub poll: Duration,
    /// Whether it holds a registry yet (a local file that does not exist yet does not, until
    /// the first publish creates it).
    pub exists: bool,
    /// The proxy requests go through, credentials masked (`None`: directly, or a file).
    pub proxy: Option<String>,
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
    /// A draft cannot be read or removed.
    #[error(transparent)]
    Draft(#[from] DraftError),
    /// No registry is open (the one named could not be opened; pick a connection).
    #[error("no registry is open: pick a connection (c)")]
    NotConnected,
    /// A copy or diff across two registries with no second registry open (the Compare
    /// screen opens it).
    #[error("no registry is open to compare with: pick one in the connection picker (c, then =)")]
    NotCompared,
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
    /// Bookkeeping that failed after a write happened (an audit line, a trash file): the
    /// write stands and the next run finishes it; the footer says so.
    Bookkeeping(Vec<Bookkeeping>),
    Counts(Result<(u64, u64), JobError>),
    Changes(Result<ChangeMark, JobError>),
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
        /// Every row checked, ok ones too, for the results kept by hash.
        rows: Vec<Checked>,
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
        outside: bool,
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
    Diff {
        id: String,
        from: String,
        to: String,
        diff: Result<Box<PackageDiff>, JobError>,
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
    Drafts(Vec<Draft>),
    DraftRead {
        draft: Draft,
        text: Result<String, JobError>,
    },
    DraftDiscarded {
        path: PathBuf,
        result: Result<(), JobError>,
    },
    Connections(Result<Connections, JobError>),
    /// The registry the console opened with.
    Opened(Result<Opened, JobError>),
    /// The new registry on success; on failure the old one is still in place.
    Connected {
        name: String,
        opened: Result<Opened, JobError>,
    },
    Compared {
        name: String,
        compared: Result<Box<Compared>, JobError>,
    },
    CopyPlan {
        id: String,
        version: String,
        to_other: bool,
        plan: Result<Box<CopyPlan>, JobError>,
    },
    Copied {
        id: String,
        version: String,
        report: Result<Box<PublishReport>, JobError>,
    },
    /// The compared registry was let go.
    CompareEnded,
}

/// The current registry (A) compared with a saved connection (B).
#[derive(Debug)]
pub struct Compared {
    /// The compared registry as the console shows it.
    pub other: Opened,
    /// Every package of both, in id order.
    pub packages: Vec<PackageComparison>,
    pub summary: CompareSummary,
}

/// A copy across, rehearsed: the source row and what writing it at the destination does.
#[derive(Debug)]
pub struct CopyPlan {
    pub row: PackageRecord,
    pub step: CopyStep,
    /// The source and destination targets.
    pub from: String,
    pub to: String,
}

/// One answer to a job.
#[derive(Debug)]
pub struct Response {
    pub ticket: Ticket,
    pub reply: Reply,
    /// False for progress and for list pages that more pages follow.
    pub last: bool,
}
