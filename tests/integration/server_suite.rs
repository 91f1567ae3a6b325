//! The server's view through the registry (spec 8), run once per backend like the registry
//! suite: served versions from the engine's own answers, `doctor`, a guarded write refused and
//! shown to break the real server's boot, and promote across the second boundary.

use std::path::Path;

use pkgdeck::registry::server::SERVER_GET_SQL;
use pkgdeck::registry::{Allow, BootSettings, PublishOptions, RegistryError, Served};

use crate::guard_oracle::real_change;
use crate::registry_suite::{suite, Backend, Env};
use crate::support::objectstack::Oracle;

/// What the engine itself answers to the server's `get(id)`: through rusqlite on a file, or
/// the raw HTTP API of the tursodb serving it (no pkgdeck code either way).
fn engine_get(env: &Env, id: &str) -> String {
    match &env.server {
        Some(server) => {
            let rows = server
                .raw_rows(SERVER_GET_SQL, &[id])
                .expect("tursodb get()");
            rows[0][1]["value"].as_str().expect("a version").to_string()
        }
        None => rusqlite::Connection::open(&env.scratch.db)
            .and_then(|c| c.query_row(SERVER_GET_SQL, [id], |r| r.get("version")))
            .expect("SQLite get()"),
    }
}

/// A copy of the registry file as it is before the test writes (taken before tursodb opens it).
fn env_with_copy(b: Backend, copy: &Path) -> Env {
    let copy = copy.display().to_string().replace('\'', "''");
    Env::new(b, true, |c| {
        c.execute_batch(&format!("VACUUM INTO '{copy}'"))
            .expect("copy the registry");
    })
}

fn served_versions_are_what_the_engine_answers(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    // The fixture's four versions of helpdesk share one second: get() answers what the
    // engine's plan finds first, never guessed.
    let engine = engine_get(&env, "com.acme.helpdesk");
    let list = r.list().unwrap();
    let helpdesk = list.iter().find(|s| s.id == "com.acme.helpdesk").unwrap();
    assert_eq!(helpdesk.version, "1.1.1", "pkgdeck's latest: inserted last");
    assert_eq!(
        helpdesk.served.version(&helpdesk.version),
        Some(engine.as_str())
    );
    assert_eq!(
        helpdesk.served.differs(),
        engine != "1.1.1",
        "{:?}",
        helpdesk.served
    );
    for s in list.iter().filter(|s| s.id != "com.acme.helpdesk") {
        assert_eq!(s.served, Served::Latest, "{} has one version", s.id);
    }
    let versions = r.versions("com.acme.helpdesk").unwrap();
    let served: Vec<&str> = versions
        .iter()
        .filter(|v| v.served)
        .map(|v| v.version.as_str())
        .collect();
    assert_eq!(served, [engine.as_str()]);

    let doctor = r.doctor(&BootSettings::default()).unwrap();
    assert_eq!(
        doctor
            .served_differs
            .iter()
            .map(|d| (d.id.as_str(), d.served.as_deref()))
            .collect::<Vec<_>>(),
        [("com.acme.helpdesk", Some(engine.as_str()))]
    );
    assert_eq!(doctor.boot.loads.len(), 9);
    assert!(!doctor.ok(), "three helpdesk rows are skipped");
}

fn a_write_that_breaks_the_boot_is_refused_in_one_round_trip(b: Backend) {
    let copies = tempfile::tempdir().unwrap();
    let before = copies.path().join("before.db");
    let mut env = env_with_copy(b, &before);
    let r = env.registry();
    // A number where the server expects a range string throws inside its boot loop: every
    // later row is lost (spec 8.3 R2), and the new row is the newest of all.
    let doc = r#"{"manifest":{"id":"com.acme.bad","version":"1.0.0","type":"app","name":"Bad","engines":{"protocol":17}},"metadata":{}}"#;
    let trips = r.round_trips();
    let refused = r.publish(doc, "bad.json", PublishOptions::default());
    let Err(RegistryError::Guard {
        problems, flags, ..
    }) = &refused
    else {
        panic!("the publish should be refused: {refused:?}")
    };
    assert_eq!(flags, &["--allow-boot-change"]);
    // One problem for the 9 packages lost to the same abort (named, five and "4 more"), one
    // for the new row.
    assert_eq!(
        problems.len(),
        2,
        "9 packages lost and the new one: {problems:?}"
    );
    assert!(
        problems[0].contains(" and 4 more: boot aborted: "),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("(R2)")), "{problems:?}");
    if b == Backend::Turso {
        assert_eq!(r.round_trips() - trips, 1, "the rehearsal only");
    }
    assert_eq!(
        r.versions("com.acme.bad").unwrap().len(),
        0,
        "nothing written"
    );

    // Forced, the real server indeed loads nothing it loaded before.
    let forced = PublishOptions {
        allow: Allow::EVERYTHING,
        ..PublishOptions::default()
    };
    let out = r.publish(doc, "bad.json", forced).unwrap();
    assert_eq!(out.boot.after.len(), 0);
    drop(r);
    env.finish();
    let mut oracle = Oracle::start();
    let was = oracle.boot(&before, &[]);
    let now = oracle.boot(&env.scratch.db, &[]);
    let written = [("com.acme.bad".to_string(), "1.0.0".to_string())];
    let real = real_change(&was, &now, &written, true, &[], &env.scratch.db);
    assert_eq!(real.lost.len(), 9, "{:?}", now["loaded"]);
    assert_eq!(real.not_loaded, written);
}

fn promote_makes_a_version_served_and_loaded_across_the_second(b: Backend) {
    let env = Env::seeded(b);
    let r = env.registry();
    let trips = r.round_trips();
    let out = r
        .promote("com.acme.helpdesk", "1.1.1", Allow::NOTHING)
        .unwrap();
    if b == Backend::Turso {
        assert_eq!(r.round_trips() - trips, 2, "the rehearsal, then the batch");
    }
    assert_eq!(out.attempts, 1);
    assert!(out.created_at > out.previous_created_at);
    assert_eq!(engine_get(&env, "com.acme.helpdesk"), "1.1.1");
    let versions = r.versions("com.acme.helpdesk").unwrap();
    assert!(versions[0].latest && versions[0].served && versions[0].version == "1.1.1");
    assert!(r.doctor(&BootSettings::default()).unwrap().ok());

    // 2.0.0 right away: 1.1.1's created_at is now, so it waits for the next second.
    let again = r
        .promote("com.acme.helpdesk", "2.0.0", Allow::NOTHING)
        .unwrap();
    assert!(again.attempts >= 1);
    assert!(
        again.created_at > out.created_at,
        "strictly later: {again:?}"
    );
    assert_eq!(engine_get(&env, "com.acme.helpdesk"), "2.0.0");
    let actions: Vec<String> = env
        .audit_lines()
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["promote", "promote"]);
    let saved = std::fs::read_dir(env.dir().join("trash")).unwrap().count();
    assert_eq!(saved, 2, "each promote saved its row first");
}

suite!(
    served_versions_are_what_the_engine_answers,
    a_write_that_breaks_the_boot_is_refused_in_one_round_trip,
    promote_makes_a_version_served_and_loaded_across_the_second,
);
