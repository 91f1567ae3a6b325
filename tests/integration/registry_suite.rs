//! The registry's behaviour, run once per backend: a local SQLite file, and a real
//! `tursodb --sync-server` on loopback serving a file (Hrana over HTTP). Every test states
//! its expectations once; the `suite!` macro instantiates it for both backends.

use std::path::Path;

use pkgdeck::registry::{
    canonical, Allow, AuditLog, Problem, PublishOptions, PublishOutcome, Registry, RegistryError,
    Scope, Trash, Warning,
};
use pkgdeck::store::hrana::HranaStore;
use pkgdeck::store::sqlite::SqliteStore;
use pkgdeck::store::Store;

use crate::support::scratch::{
    stored_rows, stored_rows_of, written_audit_lines, Scratch, FIXTURE, GOLDEN,
};
use crate::support::tursodb::TursoServer;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Turso,
}

/// One test's registry: a scratch database file, served by tursodb when the backend is
/// remote, plus the trash and audit log beside it.
pub(crate) struct Env {
    pub scratch: Scratch,
    pub server: Option<TursoServer>,
}

impl Env {
    /// A registry made from the fixture (or empty), after `prepare` has run on the file.
    pub(crate) fn new(
        backend: Backend,
        seed: bool,
        prepare: impl FnOnce(&rusqlite::Connection),
    ) -> Env {
        let scratch = if seed {
            Scratch::new()
        } else {
            Scratch::empty()
        };
        {
            let conn = rusqlite::Connection::open(&scratch.db).unwrap();
            for s in pkgdeck::registry::SCHEMA {
                conn.execute_batch(s).unwrap();
            }
            prepare(&conn);
        }
        let server = (backend == Backend::Turso).then(|| TursoServer::start(&scratch.db));
        Env { scratch, server }
    }

    pub(crate) fn seeded(backend: Backend) -> Env {
        Env::new(backend, true, |_| {})
    }

    pub(crate) fn empty(backend: Backend) -> Env {
        Env::new(backend, false, |_| {})
    }

    pub(crate) fn store(&self, read_only: bool) -> Box<dyn Store> {
        match &self.server {
            None => Box::new(SqliteStore::open(&self.scratch.db, read_only).unwrap()),
            Some(s) => Box::new(HranaStore::open(&s.url, None, read_only, s.url.clone()).unwrap()),
        }
    }

    pub(crate) fn registry(&self) -> Registry {
        Registry::open(
            self.store(false),
            Trash::new(self.dir().join("trash")),
            AuditLog::new(self.dir().join("audit.log")),
        )
        .unwrap()
    }

    pub(crate) fn read_only_registry(&self) -> Registry {
        Registry::open(
            self.store(true),
            Trash::new(self.dir().join("trash")),
            AuditLog::disabled(),
        )
        .unwrap()
    }

    /// Stops the server (if any) and returns a connection to the file as it is on disk.
    pub(crate) fn finish(&mut self) -> rusqlite::Connection {
        if let Some(s) = self.server.take() {
            s.stop();
        }
        rusqlite::Connection::open(&self.scratch.db).unwrap()
    }

    pub(crate) fn dir(&self) -> &Path {
        self.scratch.dir.path()
    }

    /// The outcome lines of the writes that happened.
    pub(crate) fn audit_lines(&self) -> Vec<serde_json::Value> {
        written_audit_lines(&self.dir().join("audit.log"))
    }
}

fn doc(id: &str, version: &str, extra_object: &str) -> String {
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"Pkg {id}"}},"metadata":{{"objects":[{{"name":"{extra_object}","label":"L"}}],"views":[]}}}}"#
    )
}

/// Publishes a document without overwriting; the test fails if it is refused.
fn publish(r: &Registry, text: &str, source: &str) -> PublishOutcome {
    r.publish(text, source, PublishOptions::default())
        .unwrap_or_else(|e| panic!("publish {source}: {e}"))
}

/// Publishes a version within the second of another one: the server would load the one it
/// reads first (a same-second tie the guard refuses), which the test allows.
fn publish_tied(r: &Registry, text: &str, source: &str) -> PublishOutcome {
    let options = PublishOptions {
        allow: Allow::EVERYTHING,
        ..PublishOptions::default()
    };
    r.publish(text, source, options)
        .unwrap_or_else(|e| panic!("publish {source}: {e}"))
}

/// Publishes with `--allow-overwrite`, over the row with `replacing_hash` when one is given
/// (as after a review).
fn publish_over(
    r: &Registry,
    text: &str,
    source: &str,
    replacing_hash: Option<String>,
) -> Result<PublishOutcome, RegistryError> {
    let options = PublishOptions {
        allow_overwrite: true,
        replacing_hash,
        allow: Allow::NOTHING,
    };
    r.publish(text, source, options)
}

/// Publishes a document that must be refused, and returns why.
fn refused(r: &Registry, text: &str, source: &str) -> RegistryError {
    match r.publish(text, source, PublishOptions::default()) {
        Ok(out) => panic!("publish {source} should be refused but wrote {out:?}"),
        Err(e) => e,
    }
}

fn golden() -> Vec<serde_json::Value> {
    std::fs::read_to_string(GOLDEN)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn versions_of(r: &Registry, id: &str) -> Vec<String> {
    r.versions(id)
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect()
}

// ---- the tests, each written once ----

fn fixture_written_by_the_service_reads_right(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let list = r.list().unwrap();
    assert_eq!(list.len(), 9, "one row per package");
    let mut ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 9);
    let helpdesk = list.iter().find(|s| s.id == "com.acme.helpdesk").unwrap();
    assert_eq!(helpdesk.version, "1.1.1");
    assert_eq!(helpdesk.versions, 4);
    assert_eq!(helpdesk.name.as_deref(), Some("Helpdesk"));
    assert_eq!(helpdesk.kind.as_deref(), Some("app"));
    // Inserted last, listed first.
    assert_eq!(list[0].id, "com.acme.helpdesk");
    assert_eq!(list[8].id, "com.acme.crm");
    assert_eq!(
        r.get("com.acme.helpdesk", None).unwrap().unwrap().version,
        "1.1.1"
    );
    assert_eq!(
        r.get("com.acme.helpdesk", Some("latest"))
            .unwrap()
            .unwrap()
            .version,
        "1.1.1"
    );
    assert_eq!(
        versions_of(&r, "com.acme.helpdesk"),
        ["1.1.1", "2.0.0", "1.1.0", "1.0.0"]
    );
    let v = r.versions("com.acme.helpdesk").unwrap();
    assert!(v[0].latest && v.iter().skip(1).all(|x| !x.latest));
    assert_eq!(r.counts().unwrap(), (9, 12));
    let report = r.verify(&Scope::All, &mut |_| true).unwrap();
    assert_eq!(report.checked, 12);
    assert_eq!(report.ok, 12);
    assert!(
        report.failed.is_empty() && report.warnings.is_empty(),
        "{report:#?}"
    );
    assert!(r.get("nope", None).unwrap().is_none());
    assert!(r.versions("nope").unwrap().is_empty());
    assert!(matches!(
        r.require("nope", Some("1.0.0")),
        Err(RegistryError::NotFound { .. })
    ));
}

fn golden_vectors_publish_to_the_expected_texts_and_hash(b: Backend) {
    let mut env = Env::empty(b);
    let r = env.registry();
    let vectors = golden();
    assert!(vectors.len() >= 8);
    for g in &vectors {
        let out = publish(&r, g["input"].as_str().unwrap(), "golden");
        assert_eq!(out.hash, g["hash"].as_str().unwrap());
        let rec = r.get(&out.id, Some(&out.version)).unwrap().unwrap();
        assert_eq!(rec.manifest, g["manifest"].as_str().unwrap());
        assert_eq!(rec.metadata, g["metadata"].as_str().unwrap());
        assert_eq!(rec.hash, g["hash"].as_str().unwrap());
    }
    let report = r.verify(&Scope::All, &mut |_| true).unwrap();
    assert_eq!(
        (report.checked, report.failed.len()),
        (vectors.len() as u64, 0)
    );
    drop(r);
    // What the server wrote is in its file, byte for byte.
    let conn = env.finish();
    for g in &vectors {
        let m: String = conn
            .query_row(
                "SELECT manifest FROM sys_packages WHERE hash = ?",
                [g["hash"].as_str().unwrap()],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(m, g["manifest"].as_str().unwrap());
    }
}

fn publish_is_an_upsert_that_refuses_silent_overwrites(b: Backend) {
    let mut env = Env::seeded(b);
    let r = env.registry();
    let first = publish(&r, &doc("p.one", "1.0.0", "a"), "one.json");
    assert!(first.replaced.is_none() && !first.unchanged);
    // Same contents again: a no-op success.
    let again = publish(&r, &doc("p.one", "1.0.0", "a"), "one.json");
    assert!(again.unchanged);
    assert_eq!(again.hash, first.hash);
    // Different contents: refused without the flag, and nothing changes.
    let err = refused(&r, &doc("p.one", "1.0.0", "b"), "two.json");
    assert!(matches!(err, RegistryError::WouldOverwrite { .. }), "{err}");
    assert!(err.to_string().contains("--allow-overwrite"));
    assert_eq!(
        r.get("p.one", Some("1.0.0")).unwrap().unwrap().hash,
        first.hash
    );
    let before = r.get("p.one", Some("1.0.0")).unwrap().unwrap();
    // Overwriting a row other than the one reviewed is a conflict, and writes nothing.
    let stale = publish_over(
        &r,
        &doc("p.one", "1.0.0", "b"),
        "two.json",
        Some("0".repeat(64)),
    )
    .unwrap_err();
    assert!(matches!(stale, RegistryError::Conflict { .. }), "{stale}");
    assert_eq!(r.get("p.one", Some("1.0.0")).unwrap().unwrap(), before);
    // With the flag: replaced, old row in the trash, created_at kept.
    let over = publish_over(
        &r,
        &doc("p.one", "1.0.0", "b"),
        "two.json",
        Some(first.hash.clone()),
    )
    .unwrap();
    let replaced = over.replaced.clone().unwrap();
    assert_eq!(replaced.hash, first.hash);
    let trash = Trash::read(over.trash_file.as_ref().unwrap()).unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].manifest, before.manifest);
    assert_eq!(trash[0].metadata, before.metadata);
    let after = r.get("p.one", Some("1.0.0")).unwrap().unwrap();
    assert_eq!(after.hash, over.hash);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(after.rowid, before.rowid, "an overwrite keeps the row");
    let audit = env.audit_lines();
    assert_eq!(audit.len(), 2, "{audit:#?}");
    assert_eq!(audit[1]["action"], "overwrite");
    assert_eq!(audit[1]["old_hash"], first.hash.as_str());
    assert_eq!(audit[1]["new_hash"], over.hash.as_str());
    drop(r);
    let conn = env.finish();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM sys_packages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 13);
}

fn latest_is_the_most_recently_inserted_even_in_the_same_second(b: Backend) {
    let env = Env::empty(b);
    let r = env.registry();
    for v in ["1.0.0", "2.0.0", "1.1.1", "1.5.0", "1.1.2"] {
        publish_tied(&r, &doc("p.same", v, "x"), "doc");
    }
    assert_eq!(r.get("p.same", None).unwrap().unwrap().version, "1.1.2");
    assert_eq!(
        versions_of(&r, "p.same"),
        ["1.1.2", "1.5.0", "1.1.1", "2.0.0", "1.0.0"]
    );
    let list = r.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].version.as_str(), list[0].versions), ("1.1.2", 5));
}

fn refused_documents_change_nothing(b: Backend) {
    let mut env = Env::seeded(b);
    let r = env.registry();
    let cases: Vec<(String, &str)> = vec![
        (doc("p.bad", "1.0", "x"), "$.manifest.version"),
        ("{\"manifest\": {\"id\": \"x\",}".to_owned(), "line 1, column"),
        (
            r#"{"manifest":{"id":"p.bad","version":"1.0.0","type":"app","name":"B"},"metadata":{"objects":{"name":"x"}}}"#.to_owned(),
            "$.metadata.objects",
        ),
        (
            r#"{"manifest":{"id":"p.bad","version":"1.0.0","type":"nope","name":""},"metadata":[]}"#.to_owned(),
            "$.manifest.type",
        ),
        (r#"{"manifest":{"id":"\ud800"}}"#.to_owned(), "surrogate"),
        (r#"{"manifest":{"n":1e400}}"#.to_owned(), "1e400"),
        // The fixture's own row with other contents: an overwrite without the flag.
        (doc("com.acme.helpdesk", "1.1.1", "changed"), "--allow-overwrite"),
    ];
    for (text, expect) in &cases {
        let err = refused(&r, text, "bad.json");
        let msg = err.to_string();
        assert!(msg.contains(expect), "{msg:?} should mention {expect:?}");
        assert!(!msg.contains('\n'), "one sentence: {msg:?}");
    }
    drop(r);
    let conn = env.finish();
    assert_eq!(stored_rows_of(&conn), stored_rows(Path::new(FIXTURE)));
}

fn tampered_rows_are_reported_and_never_hidden(b: Backend) {
    let env = Env::new(b, true, |c| {
        c.execute_batch(
            "UPDATE sys_packages SET metadata = '{\"objects\":[]}' WHERE id = 'com.acme.crm';
             UPDATE sys_packages SET manifest = '{\"id\": broken' WHERE id = 'keys';
             UPDATE sys_packages SET id = 'renamed' WHERE id = 'nest';
             UPDATE sys_packages SET metadata = '{ \"objects\" : [] }', hash = '4e127f849be9e98e96be52f74aa9a1cf8572f6c6f42f61eb57feaececd581e0b' WHERE id = 'order';",
        )
        .unwrap();
    });
    let r = env.registry();
    let report = r.verify(&Scope::All, &mut |_| true).unwrap();
    assert_eq!(report.checked, 12);
    let problems = |id: &str| -> Vec<Problem> {
        report
            .failed
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.problems.clone())
            .unwrap_or_default()
    };
    assert_eq!(problems("com.acme.crm"), [Problem::HashMismatch]);
    assert_eq!(
        problems("keys"),
        [Problem::HashMismatch, Problem::ManifestInvalidJson]
    );
    assert_eq!(problems("renamed"), [Problem::IdentityMismatch]);
    assert!(problems("order").contains(&Problem::HashMismatch));
    let warned: Vec<&str> = report
        .warnings
        .iter()
        .filter(|v| v.warnings.contains(&Warning::NoncanonicalJson))
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(warned, ["order"]);
    assert_eq!(report.failed.len(), 4);
    assert_eq!(report.ok, 8);
    // The list still works and shows the corrupt rows.
    let list = r.list().unwrap();
    assert_eq!(list.len(), 9);
    let keys = list.iter().find(|s| s.id == "keys").unwrap();
    assert_eq!((keys.name.as_ref(), keys.manifest_readable), (None, false));
    assert!(list.iter().any(|s| s.id == "renamed"));
    // One row, one package.
    let one = r
        .verify(&Scope::Version("keys".into(), "1.0.0".into()), &mut |_| {
            true
        })
        .unwrap();
    assert_eq!((one.checked, one.failed.len()), (1, 1));
    let pkg = r
        .verify(&Scope::Package("com.acme.helpdesk".into()), &mut |_| true)
        .unwrap();
    assert_eq!((pkg.checked, pkg.ok), (4, 4));
    // A corrupt row cannot be exported or diffed, with a sentence naming it.
    let err = r.export("keys", None).unwrap_err().to_string();
    assert!(
        err.contains("keys 1.0.0") && err.contains("not valid JSON"),
        "{err}"
    );
}

fn verify_can_be_cancelled_and_reports_progress(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let mut seen = Vec::new();
    let report = r
        .verify(&Scope::All, &mut |p| {
            seen.push(p.checked);
            p.checked < 5
        })
        .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.checked, 5);
    assert_eq!(seen, [1, 2, 3, 4, 5]);
}

fn delete_saves_to_the_trash_and_restore_puts_rows_back_exactly(b: Backend) {
    let mut env = Env::seeded(b);
    let r = env.registry();
    let before = r.get("com.acme.helpdesk", Some("1.1.0")).unwrap().unwrap();
    let one = r
        .delete("com.acme.helpdesk", Some("1.1.0"), Allow::NOTHING)
        .unwrap();
    assert_eq!(one.deleted.len(), 1);
    assert!(one.kept.is_empty());
    assert_eq!(
        versions_of(&r, "com.acme.helpdesk"),
        ["1.1.1", "2.0.0", "1.0.0"]
    );
    let all = r.delete("com.acme.helpdesk", None, Allow::NOTHING).unwrap();
    assert_eq!(all.deleted.len(), 3);
    assert!(r.versions("com.acme.helpdesk").unwrap().is_empty());
    assert_eq!(r.list().unwrap().len(), 8);
    assert!(matches!(
        r.delete("com.acme.helpdesk", None, Allow::NOTHING),
        Err(RegistryError::NotFound { .. })
    ));
    // Restore both trash files: every row back with its texts, hash and timestamps.
    let restored = r
        .restore(one.trash_file.as_ref().unwrap(), Allow::NOTHING)
        .unwrap();
    assert_eq!(restored.restored.len(), 1);
    let back = r.get("com.acme.helpdesk", Some("1.1.0")).unwrap().unwrap();
    assert_eq!(
        (
            &back.manifest,
            &back.metadata,
            &back.hash,
            &back.created_at,
            &back.updated_at
        ),
        (
            &before.manifest,
            &before.metadata,
            &before.hash,
            &before.created_at,
            &before.updated_at
        )
    );
    assert_eq!(back.rowid, before.rowid, "restored under its old rowid");
    // The three rows tie with 1.1.0 in one second and the server loads the first it reads,
    // 1.0.0: a downgrade from 1.1.0 (refused without the flag: guard_oracle checks that kind of
    // refusal against the real server), allowed here.
    let allow_downgrade = Allow {
        downgrade: true,
        ..Allow::NOTHING
    };
    r.restore(all.trash_file.as_ref().unwrap(), allow_downgrade)
        .unwrap();
    // Same-second ties are broken by insertion order, which the restore kept.
    assert_eq!(
        versions_of(&r, "com.acme.helpdesk"),
        ["1.1.1", "2.0.0", "1.1.0", "1.0.0"]
    );
    assert_eq!(
        r.get("com.acme.helpdesk", None).unwrap().unwrap().version,
        "1.1.1"
    );
    // Restoring again is a no-op; restoring over a different row is refused.
    assert!(r
        .restore(all.trash_file.as_ref().unwrap(), Allow::NOTHING)
        .unwrap()
        .restored
        .is_empty());
    publish(&r, &doc("p.two", "1.0.0", "a"), "d");
    let gone = r.delete("p.two", None, Allow::NOTHING).unwrap();
    publish(&r, &doc("p.two", "1.0.0", "b"), "d");
    assert!(matches!(
        r.restore(gone.trash_file.as_ref().unwrap(), Allow::NOTHING),
        Err(RegistryError::RestoreConflict { .. })
    ));
    let actions: Vec<String> = env
        .audit_lines()
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "delete").count(), 5);
    assert_eq!(actions.iter().filter(|a| *a == "restore").count(), 4);
    drop(r);
    let conn = env.finish();
    let mut now = stored_rows_of(&conn);
    now.retain(|row| row.0 != "p.two");
    assert_eq!(
        now,
        stored_rows(Path::new(FIXTURE)),
        "every fixture row is back exactly"
    );
}

fn read_only_refuses_every_write(b: Backend) {
    let mut env = Env::seeded(b);
    let r = env.read_only_registry();
    assert!(r.read_only());
    assert_eq!(r.list().unwrap().len(), 9);
    for err in [
        refused(&r, &doc("p.ro", "1.0.0", "x"), "d"),
        r.delete("com.acme.crm", None, Allow::NOTHING).unwrap_err(),
    ] {
        assert!(matches!(err, RegistryError::ReadOnly { .. }), "{err}");
        assert!(err.to_string().contains("read-only"));
    }
    drop(r);
    let conn = env.finish();
    assert_eq!(stored_rows_of(&conn), stored_rows(Path::new(FIXTURE)));
}

fn diff_and_export_round_trip(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let d = r.diff("com.acme.helpdesk", "1.0.0", "1.1.0").unwrap();
    assert_eq!(
        d.manifest
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>(),
        ["version", "description"]
    );
    let objects = d.sections.iter().find(|s| s.section == "objects").unwrap();
    assert_eq!(objects.removed, ["helpdesk_ticket"]);
    assert!(r.diff("com.acme.helpdesk", "1.0.0", "9.9.9").is_err());
    for rec in [
        r.get("str", None).unwrap().unwrap(),
        r.get("num", None).unwrap().unwrap(),
        r.get("com.acme.helpdesk", Some("2.0.0")).unwrap().unwrap(),
    ] {
        let exported = r.export(&rec.id, Some(&rec.version)).unwrap();
        assert_eq!(canonical::canonicalize(&exported).unwrap(), exported);
        let again = publish(&r, &exported, "export");
        assert!(again.unchanged, "re-publishing an export is a no-op");
        assert_eq!(again.hash, rec.hash);
    }
}

fn list_pages_keep_one_row_per_package_in_order(b: Backend) {
    let env = Env::empty(b);
    let r = env.registry();
    for i in 0..25 {
        for v in ["1.0.0", "1.0.1"] {
            publish_tied(&r, &doc(&format!("p.{i:02}"), v, "o"), "d");
        }
    }
    let all = r.list().unwrap();
    assert_eq!(all.len(), 25);
    assert!(all.iter().all(|s| s.version == "1.0.1" && s.versions == 2));
    assert_eq!(all[0].id, "p.24");
    let mut paged = Vec::new();
    let mut after: Option<(String, i64)> = None;
    loop {
        let page = r
            .list_page(after.as_ref().map(|(c, id)| (c.as_str(), *id)), Some(7))
            .unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some((last.created_at.clone().unwrap(), last.rowid));
        paged.extend(page);
    }
    assert_eq!(paged, all);
}

fn a_missing_table_is_created_read_write_and_reported_read_only(b: Backend) {
    let env = Env::new(b, false, |c| {
        c.execute_batch("DROP TABLE sys_packages").unwrap();
    });
    let err = Registry::open(
        env.store(true),
        Trash::new(env.dir().join("t")),
        AuditLog::disabled(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no sys_packages table"), "{err}");
    let r = env.registry();
    assert_eq!(r.counts().unwrap(), (0, 0));
}

fn remote_operations_take_one_round_trip_each(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let cost = |f: &dyn Fn()| {
        let before = r.round_trips();
        f();
        r.round_trips() - before
    };
    let per_op = [
        cost(&|| {
            publish(&r, &doc("p.rt", "1.0.0", "x"), "d");
        }),
        cost(&|| {
            r.get("p.rt", None).unwrap().unwrap();
        }),
        cost(&|| {
            r.get("com.acme.helpdesk", Some("1.0.0")).unwrap().unwrap();
        }),
        cost(&|| {
            assert_eq!(r.list().unwrap().len(), 10);
        }),
        cost(&|| {
            assert_eq!(r.versions("com.acme.helpdesk").unwrap().len(), 4);
        }),
    ];
    let plan = r.delete_plan("p.rt", Some("1.0.0")).unwrap();
    let delete = cost(&|| {
        assert_eq!(
            r.delete_rows(plan.clone(), Allow::NOTHING)
                .unwrap()
                .deleted
                .len(),
            1
        );
    });
    // A write is rehearsed (with the server's list() before and after it) and then done: two
    // round trips. The fixture's packages tie in one second, so list asks the server's get()
    // of the tied ones in a second round trip.
    let expected = match b {
        Backend::Sqlite => [0; 6],
        Backend::Turso => [2, 1, 1, 2, 1, 2],
    };
    assert_eq!(
        [per_op.as_slice(), &[delete]].concat(),
        expected,
        "publish, get latest, get version, list, versions, delete of planned rows"
    );
}

fn a_delete_removes_only_the_rows_it_planned(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let plan = r.delete_plan("com.acme.helpdesk", None).unwrap();
    assert_eq!(plan.len(), 4);
    // Someone overwrites one planned row and adds a version before the delete runs.
    publish_over(&r, &doc("com.acme.helpdesk", "1.0.0", "changed"), "d", None).unwrap();
    publish(&r, &doc("com.acme.helpdesk", "3.0.0", "new"), "d");
    let out = r.delete_rows(plan, Allow::NOTHING).unwrap();
    assert_eq!(out.deleted.len(), 3);
    assert_eq!(out.kept.len(), 1);
    assert_eq!(out.kept[0].version, "1.0.0");
    assert_eq!(versions_of(&r, "com.acme.helpdesk"), ["3.0.0", "1.0.0"]);
    // The trash holds the three rows that went and not the kept one, which is still in the
    // registry (its old text is in the trash of the overwrite that changed it).
    let trashed = Trash::read(out.trash_file.as_ref().unwrap()).unwrap();
    assert_eq!(trashed.len(), 3);
    assert!(trashed.iter().all(|t| t.version != "1.0.0"));
}

fn a_lone_surrogate_written_by_the_service_verifies(b: Backend) {
    // Node's well-formed JSON.stringify writes an unpaired surrogate as the escape `\ud800`
    // (lowercase hex), so the service can store one; verify must take it as it is.
    let manifest = r#"{"id":"lone","version":"1.0.0","type":"app","name":"x\ud800y"}"#;
    // The same with uppercase hex: readable, but not what JSON.stringify writes.
    let upper = r#"{"id":"upper","version":"1.0.0","type":"app","name":"x\uD800y"}"#;
    let env = Env::new(b, false, |c| {
        for (id, text) in [("lone", manifest), ("upper", upper)] {
            c.execute(
                "INSERT INTO sys_packages (id, version, manifest, metadata, hash) \
                 VALUES (?1, '1.0.0', ?2, '{}', ?3)",
                rusqlite::params![id, text, canonical::integrity_hash(text, "{}")],
            )
            .unwrap();
        }
    });
    let r = env.registry();
    let report = r
        .verify(&Scope::Version("lone".into(), "1.0.0".into()), &mut |_| {
            true
        })
        .unwrap();
    assert_eq!((report.checked, report.ok), (1, 1), "{report:#?}");
    assert!(
        report.failed.is_empty() && report.warnings.is_empty(),
        "{report:#?}"
    );
    let report = r
        .verify(&Scope::Version("upper".into(), "1.0.0".into()), &mut |_| {
            true
        })
        .unwrap();
    assert_eq!((report.checked, report.ok), (1, 1), "{report:#?}");
    assert!(report.failed.is_empty(), "{report:#?}");
    assert_eq!(report.warnings.len(), 1, "{report:#?}");
    assert_eq!(report.warnings[0].warnings, [Warning::NoncanonicalJson]);
    assert!(
        report.warnings[0]
            .details
            .iter()
            .any(|d| d.contains("stored manifest text")),
        "{report:#?}"
    );
    // Listed, with the unpaired half shown as U+FFFD.
    let list = r.list().unwrap();
    let lone = list.iter().find(|s| s.id == "lone").unwrap();
    assert_eq!(lone.name.as_deref(), Some("x\u{FFFD}y"));
    assert_eq!(lone.kind.as_deref(), Some("app"));
    assert!(lone.manifest_readable);
    // Publishing one is still refused, and changes nothing.
    let err = refused(
        &r,
        r#"{"manifest":{"id":"lone","version":"2.0.0","type":"app","name":"x\ud800y"},"metadata":{}}"#,
        "lone.json",
    );
    assert!(
        matches!(err, RegistryError::InvalidJson { .. }) && err.to_string().contains("surrogate"),
        "{err}"
    );
    assert_eq!(versions_of(&r, "lone"), ["1.0.0"]);
}

fn the_change_mark_moves_when_another_client_writes(b: Backend) {
    let env = Env::seeded(b);
    let console = env.registry();
    let other = env.registry();
    let expected = match b {
        Backend::Sqlite => std::time::Duration::from_millis(500),
        Backend::Turso => std::time::Duration::from_secs(3),
    };
    assert_eq!(console.change_poll_interval(), expected);
    let start = console.change_mark().unwrap();
    assert_eq!(console.change_mark().unwrap(), start, "nothing was written");
    publish(&other, &doc("com.acme.live", "1.0.0", ""), "live.json");
    let published = console.change_mark().unwrap();
    assert_ne!(published, start, "another client published");
    other
        .delete("com.acme.live", Some("1.0.0"), Allow::NOTHING)
        .unwrap();
    assert_ne!(
        console.change_mark().unwrap(),
        published,
        "another client deleted"
    );
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod turso {
            $( #[test] fn $name() { super::$name(super::Backend::Turso) } )*
        }
    };
}

pub(crate) use suite;

suite!(
    fixture_written_by_the_service_reads_right,
    golden_vectors_publish_to_the_expected_texts_and_hash,
    publish_is_an_upsert_that_refuses_silent_overwrites,
    latest_is_the_most_recently_inserted_even_in_the_same_second,
    refused_documents_change_nothing,
    tampered_rows_are_reported_and_never_hidden,
    verify_can_be_cancelled_and_reports_progress,
    delete_saves_to_the_trash_and_restore_puts_rows_back_exactly,
    read_only_refuses_every_write,
    diff_and_export_round_trip,
    list_pages_keep_one_row_per_package_in_order,
    a_missing_table_is_created_read_write_and_reported_read_only,
    remote_operations_take_one_round_trip_each,
    a_delete_removes_only_the_rows_it_planned,
    a_lone_surrogate_written_by_the_service_verifies,
    the_change_mark_moves_when_another_client_writes,
);
