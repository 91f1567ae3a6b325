//! `pkgdeck check FILE…|-`: everything publish would check, writing nothing (spec 4 and 9),
//! and the ObjectStack schemas' warnings that `publish` prints on stderr.
//!
//! Several documents may be named (`pkgdeck check assets/*.json`): each is checked on its own
//! and reported in the order given; `--json` prints the spec's object for each, one line per
//! document. Every document is read and checked before anything is printed, so a file that
//! cannot be read refuses the command without a partial report. Without `--db`/`-c`/
//! `PKGDECK_DB` no registry is opened (the default one is neither required nor created);
//! with one, the registry must exist (reads never create) and `boot` says what publishing
//! each document would change in the server's boot.

use serde::Serialize;

use super::{emit_human, write_json, Failure, Outcome};
use crate::config::Dirs;
use crate::connect::{self, Request};
use crate::input::{self, Source};
use crate::registry::check::DocumentCheck;
use crate::registry::manifest::DocumentProblem;
use crate::registry::{self, BootChange, PreparedPublish, Registry};
use crate::tui::count;
use crate::untrusted::printable;

#[derive(Serialize)]
struct ProblemJson<'a> {
    path: &'a str,
    message: &'a str,
}

/// Spec 9's `check --json` shape, keys in order.
#[derive(Serialize)]
struct CheckJson<'a> {
    ok: bool,
    errors: Vec<ProblemJson<'a>>,
    warnings: Vec<ProblemJson<'a>>,
    boot: Option<&'a BootJson>,
}

fn problems(list: &[DocumentProblem]) -> Vec<ProblemJson<'_>> {
    list.iter()
        .map(|p| ProblemJson {
            path: &p.path,
            message: &p.message,
        })
        .collect()
}

/// One document checked.
struct Checked {
    name: String,
    check: DocumentCheck,
    boot: Option<BootJson>,
}

pub(super) fn check(
    files: &[String],
    strict: bool,
    json: bool,
    request: &Request,
    dirs: &Dirs,
) -> Outcome {
    if files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(Failure::new(
            2,
            "standard input (-) can be checked once per command",
        ));
    }
    let mut checked = Vec::with_capacity(files.len());
    for file in files {
        let source = Source::from_arg(file);
        let text = input::read_document(&source)?;
        let check = registry::check::check(&text);
        drop(text);
        checked.push(Checked {
            name: source.name(),
            check: if strict { check.strict() } else { check },
            boot: None,
        });
    }
    // A target named explicitly: the boot effect of each publishable document on it (a
    // refused document has none, so it alone opens nothing).
    let named = request.db.is_some() || request.connection.is_some();
    if named && checked.iter().any(|c| c.check.prepared.is_some()) {
        let registry = connect::open_existing(request, dirs)?;
        for c in &mut checked {
            if let Some(prepared) = &c.check.prepared {
                c.boot = Some(boot_effect(&registry, prepared)?);
            }
        }
    }
    if json {
        for c in &checked {
            write_json(&CheckJson {
                ok: c.check.ok(),
                errors: problems(&c.check.errors),
                warnings: problems(&c.check.warnings),
                boot: c.boot.as_ref(),
            })?;
        }
    } else {
        emit_human(&checked.iter().map(human).collect::<String>())?;
    }
    // A document a guard would refuse on this target is refused as publish would (exit 2).
    let refused = |c: &Checked| c.boot.as_ref().is_some_and(|b| !b.refusals.is_empty());
    Ok(if checked.iter().all(|c| c.check.ok() && !refused(c)) {
        0
    } else {
        2
    })
}

/// Spec 8.4's boot effect of publishing one document: the change, and each guard that a
/// publish would refuse it for, with the flag that overrides it.
#[derive(Serialize)]
struct BootJson {
    #[serde(flatten)]
    change: BootChange,
    refusals: Vec<RefusalJson>,
}

#[derive(Serialize)]
struct RefusalJson {
    message: String,
    flag: &'static str,
}

/// What publishing `prepared` on `registry` would change in the ObjectStack server's boot
/// (spec 8.4), as check's `boot`: the publish's own review (one rehearsal, rolled back).
fn boot_effect(registry: &Registry, prepared: &PreparedPublish) -> Result<BootJson, Failure> {
    let review = registry.review_publish(prepared.clone())?;
    Ok(BootJson {
        change: review.boot.change.clone(),
        refusals: review
            .boot
            .problems
            .iter()
            .map(|p| RefusalJson {
                message: p.message.clone(),
                flag: p.flag.flag(),
            })
            .collect(),
    })
}

/// The human report of one document: a summary line, then one line per problem.
fn human(c: &Checked) -> String {
    let check = &c.check;
    let mut text = format!("{}: ", c.name);
    match &check.prepared {
        Some(p) if check.warnings.is_empty() => text.push_str(&format!(
            "ok: {} {} can be published (hash {})\n",
            p.id, p.version, p.hash
        )),
        Some(p) => text.push_str(&format!(
            "ok with {}: {} {} can be published (hash {}); --strict refuses it\n",
            count(check.warnings.len() as u64, "ObjectStack schema warning"),
            p.id,
            p.version,
            p.hash
        )),
        None => {
            text.push_str(&format!(
                "refused: {}",
                count(check.errors.len() as u64, "error")
            ));
            if !check.warnings.is_empty() {
                text.push_str(&format!(
                    ", {}",
                    count(check.warnings.len() as u64, "ObjectStack schema warning")
                ));
            }
            text.push('\n');
        }
    }
    for (label, problems) in [("error  ", &check.errors), ("warning", &check.warnings)] {
        for p in problems {
            // One line per problem: a line break inside a path or a message is shown.
            text.push_str(&format!(
                "  {label} {}: {}\n",
                printable(&p.path),
                printable(&p.message)
            ));
        }
    }
    if let Some(boot) = &c.boot {
        for line in super::server::boot_change_text(&boot.change).lines() {
            text.push_str(&format!("  boot    {line}\n"));
        }
        for r in &boot.refusals {
            text.push_str(&format!(
                "  refused {} (publish needs {})\n",
                printable(&r.message),
                r.flag
            ));
        }
    }
    text
}

/// The ObjectStack schemas' warnings about a document being published: one line each on
/// stderr, made safe (`--json` keeps the publish output to spec 4's keys; `check --json` has
/// them as data).
pub(super) fn warn_on_stderr(source_name: &str, warnings: &[DocumentProblem]) {
    for w in warnings {
        eprintln!(
            "pkgdeck: warning: {}: {}",
            printable(source_name),
            printable(&w.to_string())
        );
    }
}
