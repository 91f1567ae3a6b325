//! The worker's answers, taken into the state: lists and records to their screens, verify
//! results to the integrity kept by hash, the editor, review and delete dialogs their
//! answers open, a registry opened or switched to.

use super::{
    integrity, App, CompareScreen, Confirm, ConnectionPicker, DeleteReport, DiffView, DraftsPicker,
    Editor, ExternalEdit, JobError, Live, Message, MessageKind, Modal, Opened, Origin,
    PackageRecord, PackagesScreen, PathBuf, PublishReview, RegistryError, Reply, Request, Response,
    Review, Scope, Screen, Ticket, VerifyReport, VerifyRun,
};

impl App {
    pub(super) fn apply_reply(&mut self, response: Response) {
        if response.last {
            self.in_flight.retain(|(t, _)| *t != response.ticket);
        }
        match response.reply {
            Reply::Bookkeeping(unfinished) => {
                for b in unfinished {
                    self.say(Message::warning(b.to_string()));
                }
            }
            Reply::Changes(mark) => self.changes(mark),
            Reply::Counts(Ok(c)) => self.counts = Some(c),
            Reply::Counts(Err(e)) => self.error(e.to_string()),
            Reply::Packages { rows, first, done } => {
                match &rows {
                    Ok(rows) => {
                        for r in rows {
                            self.integrity.seen(&r.id, &r.version, &r.hash);
                        }
                    }
                    Err(e) => self.error(e.to_string()),
                }
                if let Some(Screen::Packages(p)) = self.screens.first_mut() {
                    let complete = done && rows.is_ok();
                    p.receive(rows, first, done);
                    if complete {
                        self.integrity.keep_packages(&p.ids());
                    }
                }
            }
            Reply::Versions { id, rows } => {
                match &rows {
                    Ok(rows) => self.integrity.seen_versions(
                        &id,
                        rows.iter().map(|v| (v.version.as_str(), v.hash.as_str())),
                    ),
                    Err(e) => self.error(e.to_string()),
                }
                if let Some(s) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Versions(v) if v.id() == id => Some(v),
                    _ => None,
                }) {
                    s.receive(rows);
                }
            }
            Reply::Record {
                id,
                version,
                record,
            } => {
                match &record {
                    Ok(r) => self.integrity.record(&r.verification),
                    Err(e) => self.error(e.to_string()),
                }
                if let Some(s) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Detail(d) if d.id() == id && d.version() == version => Some(d),
                    _ => None,
                }) {
                    s.receive(record);
                }
            }
            Reply::Progress { progress, elapsed } => {
                if let Some(v) = self.verify_run(response.ticket) {
                    v.progress(progress, elapsed);
                }
            }
            Reply::Verified {
                scope,
                report,
                elapsed,
                rows,
            } => {
                if let Ok(r) = &report {
                    self.integrity.apply(&scope, r, &rows);
                }
                match self.verify_run(response.ticket) {
                    Some(v) => v.finish(report, elapsed),
                    None => match report {
                        Ok(r) => self.say(verify_message(&scope, &r)),
                        Err(e) => self.error(e.to_string()),
                    },
                }
            }
            Reply::FileRead { path, text } => match text {
                Ok(text) => {
                    self.say(Message::info(format!(
                        "editing {}: Ctrl-S reviews the publish once the document is valid",
                        path.display()
                    )));
                    self.open_editor(Editor::new(Origin::File(path), &text));
                }
                Err(e) => self.error(format!("nothing opened: {e}")),
            },
            Reply::Validated {
                generation,
                validation,
            } => {
                if let Some(e) = self.editor_mut() {
                    e.validated(generation, validation);
                }
            }
            Reply::HotfixSource {
                id,
                version,
                outside,
                source,
            } => self.open_hotfix(id, version, outside, source),
            Reply::Review { hash, review } => self.reviewed(&hash, review),
            Reply::Published { hash, report } => {
                let published = report.is_ok();
                let message = match &report {
                    Ok(r) if r.outcome.unchanged => Message::info(format!(
                        "{} {} was already stored exactly like this: nothing written",
                        r.outcome.id, r.outcome.version
                    )),
                    Ok(r) => match &r.readback {
                        Ok(read) if read.ok() => Message::info(format!(
                            "published {} {}; read back and verified: ok{}",
                            r.outcome.id,
                            r.outcome.version,
                            boot_summary(&r.outcome.boot)
                                .map(|b| format!("; {b}"))
                                .unwrap_or_default()
                        )),
                        _ => Message::error(format!(
                            "published {} {}, but reading it back found a problem (see the review)",
                            r.outcome.id, r.outcome.version
                        )),
                    },
                    Err(e) => Message::error(format!("not published: {e}")),
                };
                // Published: the draft the text came from has done its job.
                if report.is_ok() {
                    let draft = self.modals.iter().find_map(|m| match m {
                        Modal::Editor(e) => e.draft().map(PathBuf::from),
                        _ => None,
                    });
                    if let Some(path) = draft {
                        self.dispatch_quietly(Request::DiscardDraft { path });
                    }
                }
                // The new row's read-back is its verify; without one, what was known is stale.
                if let Ok(r) = &report {
                    match &r.readback {
                        Ok(read) => self.integrity.record(&read.verification),
                        Err(_) => self.integrity.forget(&r.outcome.id, &r.outcome.version),
                    }
                }
                if let Some(r) = self.review_mut(&hash) {
                    r.finish(report);
                }
                if published {
                    self.wrote();
                    self.reload();
                }
                self.say(message);
            }
            Reply::Diff { id, from, to, diff } => match diff {
                Ok(diff) => {
                    self.modals
                        .push(Modal::Diff(Box::new(DiffView::new(&diff))));
                }
                Err(e) => self.error(format!("cannot diff {id} {from} and {to}: {e}")),
            },
            Reply::DeletePlan { id, version, plan } => match plan {
                // A dialog opens only over a screen: the operator may have moved on.
                Ok(plan) if self.modals.is_empty() => {
                    let confirm = Confirm::delete(&id, version.as_deref(), &plan);
                    self.message = None;
                    self.modals.push(Modal::Confirm(Box::new(confirm)));
                }
                Ok(_) => {}
                // The screen showed it, so it went away since.
                Err(e) if matches!(e.registry(), Some(RegistryError::NotFound { .. })) => self
                    .error(match &version {
                        Some(v) => {
                            format!("nothing deleted: {id} {v} is not in the registry any more")
                        }
                        None => format!(
                            "nothing deleted: {id} has no versions in the registry any more"
                        ),
                    }),
                Err(e) => self.error(format!("nothing deleted: {e}")),
            },
            Reply::Deleted {
                id,
                version: _,
                report,
            } => match report {
                Ok(r) => self.deleted(&id, r),
                Err(e) => self.error(format!("delete failed: {e}")),
            },
            Reply::Trash { dir, entries } => {
                if let Err(e) = &entries {
                    self.error(e.to_string());
                }
                if let Some(t) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Trash(t) => Some(t),
                    _ => None,
                }) {
                    t.receive(dir, entries);
                }
            }
            Reply::RestorePlan { path, plan } => match plan {
                Ok(plan) if self.modals.is_empty() => {
                    let dialog = self.screens.iter().rev().find_map(|s| match s {
                        Screen::Trash(t) => t.restore_dialog(&path, &plan),
                        _ => None,
                    });
                    if let Some(dialog) = dialog {
                        self.message = None;
                        self.modals.push(Modal::Confirm(Box::new(dialog)));
                    }
                }
                Ok(_) => {}
                Err(e) => self.error(format!("restore refused, nothing changed: {e}")),
            },
            Reply::Restored { path, report } => match report {
                Ok(report) => {
                    self.wrote();
                    for r in &report.restored {
                        self.integrity.forget(&r.id, &r.version);
                    }
                    let mut message = restored_message(&path, &report.restored);
                    if let Some(boot) = boot_summary(&report.boot) {
                        message.text.push_str(&format!("; {boot}"));
                    }
                    self.say(message);
                    self.reload();
                }
                Err(e) => self.error(format!("restore refused, nothing changed: {e}")),
            },
            Reply::Boot(report) => {
                if let Err(e) = &report {
                    self.error(e.to_string());
                }
                if let Some(b) = self.screens.iter_mut().rev().find_map(|s| match s {
                    Screen::Boot(b) => Some(b),
                    _ => None,
                }) {
                    b.receive(report);
                }
            }
            Reply::PromotePlan { id, version, plan } => match plan {
                Ok(plan) if self.modals.is_empty() => {
                    self.message = None;
                    self.modals.push(Modal::Confirm(Box::new(Confirm::promote(
                        &plan,
                        &self.target,
                    ))));
                }
                Ok(_) => {}
                Err(e) => self.error(format!("nothing promoted: {id} {version}: {e}")),
            },
            Reply::Promoted {
                id,
                version,
                outcome,
            } => match outcome {
                Ok(o) => {
                    self.wrote();
                    self.integrity.forget(&id, &version);
                    let mut text = format!(
                        "promoted {id} {version}: it is now the newest row (created {}), so the \
                         server serves and loads it",
                        o.created_at.as_deref().unwrap_or("-"),
                    );
                    if let Some(file) = &o.trash_file {
                        text.push_str(&format!("; the old row was saved to {}", file.display()));
                    }
                    if let Some(boot) = boot_summary(&o.boot) {
                        text.push_str(&format!("; {boot}"));
                    }
                    self.say(Message::info(text));
                    self.reload();
                }
                Err(e) => self.error(format!("not promoted: {e}")),
            },
            Reply::Drafts(drafts) => {
                let asked = std::mem::take(&mut self.drafts_asked);
                if drafts.is_empty() {
                    if asked {
                        self.say(Message::info("no drafts: nothing unpublished was kept"));
                    }
                } else if self.modals.is_empty() {
                    if !asked {
                        self.say(Message::info(format!(
                            "{} kept from an earlier session: Enter resumes one, Esc keeps them",
                            crate::tui::count(drafts.len() as u64, "unpublished draft")
                        )));
                    }
                    self.modals
                        .push(Modal::Drafts(Box::new(DraftsPicker::new(drafts))));
                }
            }
            Reply::DraftRead { draft, text } => match text {
                Ok(text) => {
                    self.say(Message::info(format!(
                        "resumed {}: Ctrl-S reviews the publish once the document is valid",
                        draft.origin.describe()
                    )));
                    self.open_editor(Editor::new(draft.origin, &text).with_draft(draft.path));
                }
                Err(e) => self.error(format!("cannot resume the draft: {e}")),
            },
            Reply::DraftDiscarded { path: _, result } => {
                if let Err(e) = result {
                    self.error(e.to_string());
                }
            }
            Reply::Connections(listed) => match listed {
                Ok(c) if self.modals.is_empty() => {
                    let mut picker = ConnectionPicker::new(&self.target, c);
                    if let Some(note) = self.picker_note.take() {
                        picker = picker.with_problem(note);
                    }
                    self.modals.push(Modal::Connections(Box::new(picker)));
                }
                Ok(_) => {}
                Err(e) => self.error(e.to_string()),
            },
            Reply::Opened(Ok(opened)) => {
                let exists = opened.exists;
                self.take_opened(opened);
                self.note_missing(exists);
                self.reload();
            }
            Reply::Opened(Err(e)) => self.cannot_open(&e),
            Reply::Connected { name, opened } => match opened {
                Ok(opened) => self.switched(&name, opened),
                Err(e) if self.connected => self.error(format!(
                    "cannot switch to {name}: {e}; still on {}",
                    self.target
                )),
                Err(e) => self.error(format!("cannot switch to {name}: {e}")),
            },
            Reply::CompareEnded => {}
            Reply::Compared { name, compared } => {
                if let Err(e) = &compared {
                    self.error(format!("cannot compare with {name}: {e}"));
                }
                if let Some(c) = self.compare_screen(&name) {
                    c.receive(compared);
                }
            }
            Reply::CopyPlan {
                id,
                version,
                to_other,
                plan,
            } => match plan {
                Ok(plan) if plan.step.review.unchanged() => self.say(Message::info(format!(
                    "{id} {version} is already stored exactly like this there: nothing to copy"
                ))),
                Ok(plan) if self.modals.is_empty() => {
                    let production = if to_other {
                        self.compared().and_then(|o| o.production.clone())
                    } else {
                        None
                    };
                    self.message = None;
                    self.modals.push(Modal::Confirm(Box::new(Confirm::copy(
                        &plan, to_other, production,
                    ))));
                }
                Ok(_) => {}
                Err(e) => self.error(format!("nothing copied: {id} {version}: {e}")),
            },
            Reply::Copied {
                id,
                version,
                report,
            } => match report {
                Ok(r) => {
                    let text = match &r.readback {
                        _ if r.outcome.unchanged => format!(
                            "{id} {version} was already stored exactly like this: nothing written"
                        ),
                        Ok(read) if read.ok() => format!(
                            "copied {id} {version}; read back and verified: ok{}",
                            boot_summary(&r.outcome.boot)
                                .map(|b| format!("; {b}"))
                                .unwrap_or_default()
                        ),
                        _ => format!(
                            "copied {id} {version}, but reading it back found a problem: run verify"
                        ),
                    };
                    self.wrote();
                    self.integrity.forget(&id, &version);
                    self.say(Message::info(text));
                    self.reload();
                }
                Err(e) => self.error(format!("not copied: {e}")),
            },
        }
    }

    /// The Compare screen with `name`, if it is open.
    pub(super) fn compare_screen(&mut self, name: &str) -> Option<&mut CompareScreen> {
        self.screens.iter_mut().rev().find_map(|s| match s {
            Screen::Compare(c) if c.name() == name => Some(c.as_mut()),
            _ => None,
        })
    }

    /// The registry the open Compare screen compares with.
    pub(super) fn compared(&self) -> Option<&Opened> {
        self.screens.iter().rev().find_map(|s| match s {
            Screen::Compare(c) => c.other(),
            _ => None,
        })
    }

    /// The review of the document with `hash`, if it is open.
    pub(super) fn review_mut(&mut self, hash: &str) -> Option<&mut Review> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Review(r) if r.hash() == hash => Some(r.as_mut()),
            _ => None,
        })
    }

    /// A write on a production connection waits for its name to be typed.
    pub(super) fn ask_production(&mut self, name: &str, what: &str, write: Request) {
        if let Request::Publish { prepared, .. } = &write {
            if let Some(review) = self.review_mut(&prepared.hash) {
                review.unconfirm();
            }
        }
        let target = match &write {
            Request::Copy { to_other: true, .. } => self
                .compared()
                .map_or_else(|| self.target.clone(), |o| o.target.clone()),
            _ => self.target.clone(),
        };
        let confirm = Confirm::production(name, &target, what, write);
        self.modals.push(Modal::Confirm(Box::new(confirm)));
    }

    /// Lets every screen see what is known about integrity now (a list sorted failures first
    /// sorts again).
    pub(super) fn integrity_changed(&mut self) {
        for screen in &mut self.screens {
            screen.component_mut().integrity_changed(&self.integrity);
        }
    }

    pub(super) fn verify_run(&mut self, ticket: Ticket) -> Option<&mut VerifyRun> {
        self.modals.iter_mut().find_map(|m| match m {
            Modal::Verify(v) if v.ticket() == ticket => Some(v.as_mut()),
            _ => None,
        })
    }

    pub(super) fn open_editor(&mut self, mut editor: Editor) {
        if let Some(request) = editor.pending() {
            self.dispatch(request);
        }
        self.modals.push(Modal::Editor(Box::new(editor)));
    }

    pub(super) fn open_hotfix(
        &mut self,
        id: String,
        version: String,
        outside: bool,
        source: Result<(String, Option<String>), JobError>,
    ) {
        let (text, bumped) = match source {
            Ok(b) => b,
            Err(e) => return self.error(format!("cannot hotfix {id} {version}: {e}")),
        };
        self.say(match &bumped {
            Some(to) => Message::info(format!(
                "hotfix of {id} {version}: manifest.version is now {to} (the next free patch \
                 version); edit, then Ctrl-S to review"
            )),
            None => Message::warning(format!(
                "hotfix of {id} {version}: the version is not MAJOR.MINOR.PATCH, so it was not \
                 bumped; set manifest.version by hand"
            )),
        });
        let origin = Origin::Hotfix {
            id,
            from: version,
            to: bumped,
        };
        if outside {
            return self.edit_outside(ExternalEdit {
                origin,
                text,
                draft: None,
            });
        }
        self.open_editor(Editor::new(origin, &text));
    }

    /// The worker's review: it opens over the editor that asked for it, if that editor is
    /// still on top with the same document.
    pub(super) fn reviewed(&mut self, hash: &str, review: Result<Box<PublishReview>, JobError>) {
        let asked = match self.modals.last_mut() {
            Some(Modal::Editor(e)) if e.reviewing() == Some(hash) => {
                e.review_answered();
                true
            }
            _ => {
                if let Some(e) = self.editor_mut() {
                    e.review_answered();
                }
                false
            }
        };
        match review {
            Ok(data) if asked => {
                self.say(if !data.unchanged() && !data.boot.problems.is_empty() {
                    Message::error(format!(
                        "review: this publish would break what the ObjectStack server loads; \
                         type {} and Enter to publish anyway, Esc goes back",
                        data.prepared.id
                    ))
                } else if data.overwrites() {
                    Message::info(
                        "review: this publish OVERWRITES a stored row; y confirms, n goes back",
                    )
                } else {
                    Message::info("review: y publishes, n goes back to the editor")
                });
                self.modals.push(Modal::Review(Box::new(Review::new(data))));
            }
            Ok(_) => {}
            Err(e) => self.error(format!("cannot review: {e}")),
        }
    }

    pub(super) fn deleted(&mut self, id: &str, r: DeleteReport) {
        self.wrote();
        let gone: Vec<&str> = r
            .outcome
            .deleted
            .iter()
            .map(|row| row.version.as_str())
            .collect();
        let rows = crate::tui::count(gone.len() as u64, "row");
        let mut text = format!("deleted {rows} of {id} ({})", gone.join(", "));
        if let Some(file) = &r.outcome.trash_file {
            text.push_str(&format!("; saved in the trash: {}", file.display()));
        }
        if !r.outcome.kept.is_empty() {
            text.push_str(&format!(
                "; {} changed meanwhile and stayed (they are in the trash file too)",
                crate::tui::count(r.outcome.kept.len() as u64, "row")
            ));
        }
        // Screens of what is gone close: a deleted version's detail, the whole package's
        // screens when no version is left.
        let deleted: Vec<String> = gone.iter().map(std::string::ToString::to_string).collect();
        for v in &deleted {
            self.integrity.forget(id, v);
        }
        let first_gone = self.screens.iter().position(|s| match s {
            Screen::Detail(d) => d.id() == id && deleted.iter().any(|v| v == d.version()),
            Screen::Versions(v) => v.id() == id && r.remaining == 0,
            _ => false,
        });
        if let Some(at) = first_gone.filter(|&at| at > 0) {
            let comparing = self.comparing();
            self.screens.truncate(at);
            self.left_compare(comparing);
        }
        if r.remaining == 0 {
            text.push_str(&format!("; {id} has no versions left"));
        }
        if let Some(boot) = boot_summary(&r.outcome.boot) {
            text.push_str(&format!("; {boot}"));
        }
        self.say(if r.outcome.kept.is_empty() {
            Message::info(text)
        } else {
            Message::warning(text)
        });
        self.reload();
    }

    /// What the worker opened: the header and the live poll follow it.
    pub(super) fn take_opened(&mut self, opened: Opened) {
        self.target = opened.target;
        self.proxy = opened.proxy;
        self.read_only = opened.read_only;
        self.production = opened.production;
        self.live = Live::default();
        self.set_live_interval(opened.poll);
        self.connected = true;
    }

    /// The registry named on the command line cannot be opened: the connection picker opens
    /// with the reason, instead of a blank screen or an exit.
    pub(super) fn cannot_open(&mut self, error: &JobError) {
        let text = format!("cannot open {}: {error}", self.target);
        self.error(text.clone());
        self.picker_note = Some(text);
        if let Some(Screen::Packages(p)) = self.screens.first_mut() {
            p.receive(Err(JobError::NotConnected), true, true);
        }
        self.dispatch(Request::Connections);
    }

    /// A registry that does not exist yet: the Packages screen says where the first publish
    /// will create it, rather than "no packages".
    fn note_missing(&mut self, exists: bool) {
        let note = (!exists).then(|| {
            format!(
                "no registry at {} yet: the first publish (p) creates it",
                self.target
            )
        });
        if let Some(Screen::Packages(p)) = self.screens.first_mut() {
            p.set_missing(note);
        }
    }

    pub(super) fn switched(&mut self, name: &str, opened: Opened) {
        let exists = opened.exists;
        self.take_opened(opened);
        self.modals.clear();
        self.screens.clear();
        self.integrity.clear();
        self.counts = None;
        self.push(Screen::Packages(PackagesScreen::default()));
        self.note_missing(exists);
        self.dispatch(Request::Counts);
        let mode = match (&self.production, self.read_only) {
            (Some(_), true) => " (PRODUCTION, read-only)",
            (Some(_), false) => " (PRODUCTION: every write asks for its name)",
            (None, true) => " (read-only)",
            (None, false) => "",
        };
        self.say(Message::info(format!(
            "connected to {name}: {}{mode}",
            self.target
        )));
    }
}

/// A write's change to the server's boot in a few words for the footer (`None`: no change).
fn boot_summary(change: &crate::registry::BootChange) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut parts: Vec<String> = change
        .changed
        .iter()
        .map(|c| format!("{} {} → {}", text(&c.id), text(&c.from), text(&c.to)))
        .collect();
    parts.extend(
        change
            .gained()
            .iter()
            .map(|l| format!("{} {} loads", text(&l.id), text(&l.version))),
    );
    parts.extend(
        change
            .lost
            .iter()
            .map(|id| format!("{} no longer loads", text(id))),
    );
    (!parts.is_empty()).then(|| format!("ObjectStack boot: {}", parts.join(", ")))
}

/// The footer line after a restore.
fn restored_message(path: &std::path::Path, rows: &[PackageRecord]) -> Message {
    let file = crate::tui::file_name(path);
    if rows.is_empty() {
        return Message::info(format!(
            "nothing to restore from {file}: every row is already in the registry unchanged"
        ));
    }
    let what: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.id, r.version))
        .collect();
    Message::info(format!(
        "restored {} from {file}: {}",
        crate::tui::count(rows.len() as u64, "row"),
        what.join(", ")
    ))
}

/// The footer line after verifying a package or a version.
fn verify_message(scope: &Scope, r: &VerifyReport) -> Message {
    let what = match scope {
        Scope::All => "the registry".to_owned(),
        Scope::Package(id) => id.clone(),
        Scope::Version(id, v) => format!("{id} {v}"),
    };
    let codes = |list: &[crate::registry::Verification]| {
        let mut codes: Vec<&str> = list.iter().flat_map(integrity::codes).collect();
        codes.sort_unstable();
        codes.dedup();
        codes.join(", ")
    };
    if r.checked == 0 {
        return Message {
            kind: MessageKind::Warning,
            text: format!("verify {what}: no rows found (refresh with r)"),
        };
    }
    let rows = crate::tui::count(r.checked, "row");
    if !r.failed.is_empty() {
        Message {
            kind: MessageKind::Error,
            text: format!(
                "verify {what}: FAIL, {} of {rows} failed ({})",
                r.failed.len(),
                codes(&r.failed)
            ),
        }
    } else if !r.warnings.is_empty() {
        Message {
            kind: MessageKind::Warning,
            text: format!(
                "verify {what}: warn, {rows} intact ({})",
                codes(&r.warnings)
            ),
        }
    } else {
        Message {
            kind: MessageKind::Info,
            text: format!("verify {what}: ok, {rows} checked, hashes match"),
        }
    }
}
