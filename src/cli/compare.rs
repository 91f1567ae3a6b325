//! The commands about two registries (spec 11): `compare A B` (every version of both, the
//! dangerous case first) and `copy ID [VERSION|--all] --from A --to B` (the stored texts and
//! hash written exactly, guarded at the destination, `--dry-run` to see what it would do).
//!
//! A and B are any targets: a saved connection's name (it wins over a file of the same name:
//! write `./NAME` for the file), a path, `file:PATH`, `libsql://…` or `http(s)://…`.

use serde::Serialize;

use super::{
    emit, emit_human, readback_problem, report_bookkeeping, server::boot_change_text, write_json,
    Failure, GuardFlags, Outcome, PublishJson, Replaced,
};
use crate::config::{Config, Dirs};
use crate::connect::{self, ConnectError, Request};
use crate::registry::{
    self, BootChange, CompareSummary, CopyOptions, PackageComparison, PublishReport, Registry,
    VersionState,
};
use crate::untrusted::printable;

/// The request that opens `arg`: a saved connection when the config has one by that name,
/// else a target.
fn request_for(arg: &str, read_only: bool, dirs: &Dirs) -> Result<Request, Failure> {
    let config = Config::load(&dirs.config_file()).map_err(ConnectError::from)?;
    let saved = config.connections.contains_key(arg);
    Ok(Request {
        db: (!saved).then(|| arg.to_owned()),
        connection: saved.then(|| arg.to_owned()),
        read_only,
    })
}

/// Output gathered in a buffer and written out in large pieces, so a long comparison is
/// streamed without a write per package.
struct Streamed(String);

impl Streamed {
    fn push(&mut self, text: &str) -> Result<(), Failure> {
        self.0.push_str(text);
        if self.0.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Failure> {
        emit(&self.0)?;
        self.0.clear();
        Ok(())
    }
}

fn json_text<T: Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure::new(3, e.to_string()))
}

/// The arguments of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The first registry: a saved connection's name, a path, libsql://… or https://….
    a: String,
    /// The second registry, named the same ways.
    b: String,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
}

/// `pkgdeck compare A B`: exit 0 when the two registries are identical, 1 otherwise. Each
/// registry is opened and read on its own thread.
pub(super) fn compare(args: &CompareArgs, read_only: bool, dirs: &Dirs) -> Outcome {
    let (request_a, request_b) = (
        request_for(&args.a, read_only, dirs)?,
        request_for(&args.b, read_only, dirs)?,
    );
    let open = |request: Request| move || connect::open_existing(&request, dirs);
    let summary = if args.json {
        compare_json(open(request_a), open(request_b))?
    } else {
        compare_human(open(request_a), open(request_b))?
    };
    Ok(i32::from(!summary.identical()))
}

/// Opens one side of a comparison.
trait Opener: FnOnce() -> Result<Registry, ConnectError> + Send {}
impl<T: FnOnce() -> Result<Registry, ConnectError> + Send> Opener for T {}

/// A failure of the comparison itself, or of writing its output.
enum CompareFailure {
    Connect(ConnectError),
    Output(Failure),
}

impl From<registry::RegistryError> for CompareFailure {
    fn from(e: registry::RegistryError) -> Self {
        CompareFailure::Connect(e.into())
    }
}

impl From<CompareFailure> for Failure {
    fn from(e: CompareFailure) -> Failure {
        match e {
            CompareFailure::Connect(e) => e.into(),
            CompareFailure::Output(f) => f,
        }
    }
}

fn run_compare(
    a: impl Opener,
    b: impl Opener,
    started: &mut dyn FnMut(&str, &str) -> Result<(), Failure>,
    each: &mut dyn FnMut(PackageComparison) -> bool,
) -> Result<CompareSummary, Failure> {
    let summary = registry::compare::compare_in_parallel(
        move || a().map_err(CompareFailure::Connect),
        move || b().map_err(CompareFailure::Connect),
        &mut |ta, tb| started(ta, tb).map_err(CompareFailure::Output),
        each,
    )?;
    Ok(summary)
}

fn compare_json(a: impl Opener, b: impl Opener) -> Result<CompareSummary, Failure> {
    let mut out = Streamed(String::new());
    let mut first = true;
    let mut failed = None;
    let summary = {
        let out = std::cell::RefCell::new(&mut out);
        run_compare(
            a,
            b,
            &mut |ta, tb| {
                out.borrow_mut().push(&format!(
                    "{{\"a\":{},\"b\":{},\"packages\":[",
                    json_text(&ta)?,
                    json_text(&tb)?
                ))
            },
            &mut |p| {
                let text = json_text(&p).and_then(|t| {
                    let mut out = out.borrow_mut();
                    out.push(if first { "" } else { "," })?;
                    out.push(&t)
                });
                first = false;
                match text {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            },
        )?
    };
    if let Some(e) = failed {
        return Err(e);
    }
    out.push(&format!("],\"summary\":{}}}\n", json_text(&summary)?))?;
    out.flush()?;
    Ok(summary)
}

/// The human report: the dangerous case first, then what the server would answer
/// differently, then the versions only on one side; identical packages are only counted.
fn compare_human(a: impl Opener, b: impl Opener) -> Result<CompareSummary, Failure> {
    let (mut differs, mut heads, mut only_a, mut only_b) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut targets = (String::new(), String::new());
    let summary = run_compare(
        a,
        b,
        &mut |ta, tb| {
            targets = (ta.to_owned(), tb.to_owned());
            Ok(())
        },
        &mut |p: PackageComparison| {
            let id = printable(&p.id).into_owned();
            let shown = |v: &Option<String>| printable(v.as_deref().unwrap_or("-")).into_owned();
            if p.latest_differs() || p.served_differs() {
                heads.push(format!(
                    "  {id}  latest A {} B {}  served A {} B {}",
                    shown(&p.a_latest),
                    shown(&p.b_latest),
                    shown(&p.a_served),
                    shown(&p.b_served)
                ));
            }
            for v in &p.versions {
                let version = printable(&v.version);
                match v.state {
                    VersionState::Differs => differs.push(format!(
                        "  {id} {version}  A {}  B {}",
                        printable(v.a_hash.as_deref().unwrap_or_default()),
                        printable(v.b_hash.as_deref().unwrap_or_default())
                    )),
                    VersionState::OnlyA => only_a.push(format!("  {id} {version}")),
                    VersionState::OnlyB => only_b.push(format!("  {id} {version}")),
                    VersionState::Same => {}
                }
            }
            true
        },
    )?;
    let mut text = format!(
        "A: {}\nB: {}\n",
        printable(&targets.0),
        printable(&targets.1)
    );
    let mut section = |title: &str, lines: &[String]| {
        if !lines.is_empty() {
            text.push_str(&format!("\n{title} ({}):\n", lines.len()));
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
        }
    };
    section(
        "SAME VERSION, DIFFERENT CONTENTS (hash in A, hash in B)",
        &differs,
    );
    section("LATEST OR SERVED VERSION DIFFERS", &heads);
    section("ONLY IN A", &only_a);
    section("ONLY IN B", &only_b);
    let s = &summary;
    text.push_str(&format!(
        "\n{} package(s), {} identical; {} version(s): {} same, {} different contents, {} only in A, {} only in B; latest differs for {}, served for {}\n",
        s.packages, s.identical_packages, s.versions, s.same, s.differs, s.only_a, s.only_b,
        s.latest_differs, s.served_differs
    ));
    if s.identical() {
        text.push_str("the two registries are identical\n");
    }
    emit_human(&text)?;
    Ok(summary)
}

/// The arguments of `copy`: one flag each, as the command line has them.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The package id.
    id: String,
    /// The version to copy (default: the latest).
    version: Option<String>,
    /// Copy every version, oldest first.
    #[arg(long, conflicts_with = "version")]
    all: bool,
    /// The registry to copy from: a saved connection's name or a target.
    #[arg(long, value_name = "A")]
    from: String,
    /// The registry to copy to: a saved connection's name or a target.
    #[arg(long, value_name = "B")]
    to: String,
    /// Replace a version B holds with different contents (the old row goes to B's trash).
    #[arg(long)]
    allow_overwrite: bool,
    #[command(flatten)]
    guards: GuardFlags,
    /// Write nothing; print what the copy would do, the boot change included.
    #[arg(long)]
    dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// One version in `copy --json`: publish's keys, plus what happened.
#[derive(Serialize)]
struct CopiedJson<'a> {
    #[serde(flatten)]
    publish: PublishJson<'a>,
    /// copied, overwritten or unchanged; with --dry-run: would_copy, would_overwrite,
    /// unchanged or refused.
    action: &'a str,
    refused: Option<String>,
}

#[derive(Serialize)]
struct CopyJson<'a> {
    from: &'a str,
    to: &'a str,
    dry_run: bool,
    versions: Vec<CopiedJson<'a>>,
}

/// `pkgdeck copy`: exit 0 when every version is at the destination (or, with --dry-run,
/// would be), 2 when a guard or an overwrite refuses (nothing written), 3 on a storage
/// failure or a read-back problem.
pub(super) fn copy(args: CopyArgs, read_only: bool, dirs: &Dirs) -> Outcome {
    // The source is only read: opened read-only, so nothing there can change.
    let from = connect::open_existing(&request_for(&args.from, true, dirs)?, dirs)?;
    let to_request = request_for(&args.to, read_only, dirs)?;
    if read_only {
        return Err(registry::RegistryError::ReadOnly {
            target: connect::resolve_target(&to_request, dirs)?.to_string(),
            action: "copy".into(),
        }
        .into());
    }
    let rows = from.copy_source(&args.id, args.version.as_deref(), args.all)?;
    let to = connect::open(&to_request, dirs)?;
    let options = CopyOptions {
        allow_overwrite: args.allow_overwrite,
        allow: args.guards.allow(),
    };
    // Every version is reviewed first: a refusal of any one of them writes nothing at all.
    let steps = to.plan_copy(&rows)?;
    let refusals: Vec<_> = steps.iter().map(|s| s.refusal(options)).collect();
    if args.dry_run {
        return dry_run(&args, &from, &to, &steps, &refusals);
    }
    if let Some(refused) = refusals.into_iter().flatten().next() {
        return Err(refused.into());
    }
    let mut reports = Vec::new();
    let mut result = Ok(0);
    {
        let _writing = crate::interrupt::writing();
        if let Err(e) = to.copy_all_in(&rows, options, &mut |report| reports.push(report)) {
            result = Err(Failure::from(e));
        }
    }
    let printed = print_copies(&args, &from, &to, &reports);
    report_bookkeeping(&to);
    printed?;
    if let Some(problem) = reports.iter().find_map(|r| {
        readback_problem(r).map(|p| format!("{} {}: {p}", r.outcome.id, r.outcome.version))
    }) {
        return Err(Failure::new(
            3,
            format!("the copy was written, but reading it back found a problem: {problem}"),
        ));
    }
    result
}

fn publish_json<'a>(
    id: &'a str,
    version: &'a str,
    hash: &'a str,
    replaced: Option<&'a registry::PackageRecord>,
    boot: &'a BootChange,
) -> PublishJson<'a> {
    PublishJson {
        id,
        version,
        hash,
        replaced: replaced.map(|r| Replaced {
            hash: &r.hash,
            created_at: r.created_at.as_deref(),
            updated_at: r.updated_at.as_deref(),
        }),
        boot,
    }
}

fn print_copies(
    args: &CopyArgs,
    from: &Registry,
    to: &Registry,
    reports: &[PublishReport],
) -> Result<(), Failure> {
    if args.json {
        let versions = reports
            .iter()
            .map(|r| {
                let o = &r.outcome;
                CopiedJson {
                    publish: publish_json(&o.id, &o.version, &o.hash, o.replaced.as_ref(), &o.boot),
                    action: if o.unchanged {
                        "unchanged"
                    } else if o.replaced.is_some() {
                        "overwritten"
                    } else {
                        "copied"
                    },
                    refused: None,
                }
            })
            .collect();
        return write_json(&CopyJson {
            from: from.target(),
            to: to.target(),
            dry_run: false,
            versions,
        });
    }
    let mut text = format!(
        "from {} to {}\n",
        printable(from.target()),
        printable(to.target())
    );
    for r in reports {
        let o = &r.outcome;
        let what = if o.unchanged {
            "already there with the same contents; nothing written".to_owned()
        } else if let Some(old) = &o.replaced {
            format!(
                "copied over hash {} (old row saved to {})",
                old.hash,
                o.trash_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        } else {
            "copied".to_owned()
        };
        text.push_str(&format!(
            "{} {} {}: {what}\n",
            printable(&o.id),
            printable(&o.version),
            o.hash
        ));
        if readback_problem(r).is_none() {
            text.push_str("read back and verified: ok\n");
        }
        if !o.unchanged {
            text.push_str(&boot_change_text(&o.boot));
        }
    }
    emit_human(&text)
}

fn dry_run(
    args: &CopyArgs,
    from: &Registry,
    to: &Registry,
    steps: &[registry::CopyStep],
    refusals: &[Option<registry::RegistryError>],
) -> Outcome {
    let action = |step: &registry::CopyStep, refused: &Option<_>| {
        if step.review.unchanged() {
            "unchanged"
        } else if refused.is_some() {
            "refused"
        } else if step.review.overwrites() {
            "would_overwrite"
        } else {
            "would_copy"
        }
    };
    if args.json {
        let versions = steps
            .iter()
            .zip(refusals)
            .map(|(s, refused)| {
                let p = &s.review.prepared;
                CopiedJson {
                    publish: publish_json(
                        &p.id,
                        &p.version,
                        &p.hash,
                        s.review.existing.as_ref().filter(|_| s.review.overwrites()),
                        &s.review.boot.change,
                    ),
                    action: action(s, refused),
                    refused: refused.as_ref().map(ToString::to_string),
                }
            })
            .collect();
        write_json(&CopyJson {
            from: from.target(),
            to: to.target(),
            dry_run: true,
            versions,
        })?;
    } else {
        let mut text = format!(
            "dry run: nothing is written\nfrom {} to {}\n",
            printable(from.target()),
            printable(to.target())
        );
        for (s, refused) in steps.iter().zip(refusals) {
            let p = &s.review.prepared;
            let what = match action(s, refused) {
                "unchanged" => "already there with the same contents; nothing to do".to_owned(),
                "would_overwrite" => format!(
                    "would copy over hash {} (the old row would go to the trash)",
                    s.review
                        .existing
                        .as_ref()
                        .map(|e| e.hash.as_str())
                        .unwrap_or_default()
                ),
                "refused" => "would be refused".to_owned(),
                _ => "would be copied".to_owned(),
            };
            text.push_str(&format!(
                "{} {} {}: {what}\n",
                printable(&p.id),
                printable(&p.version),
                p.hash
            ));
            if !s.review.unchanged() {
                text.push_str(
                    &boot_change_text(&s.review.boot.change)
                        .replace("now loads", "would load")
                        .replace("no longer loads", "would no longer load")
                        .replace("loads the same", "would load the same"),
                );
            }
            if let Some(e) = refused {
                text.push_str(&format!("{}\n", printable(&e.to_string())));
            }
        }
        emit_human(&text)?;
    }
    Ok(if refusals.iter().any(Option::is_some) {
        2
    } else {
        0
    })
}
