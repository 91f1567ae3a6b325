//! Concurrent writers on a remote registry (spec 10.2): pkgdeck processes publishing side by
//! side to one real `tursodb --sync-server`, directly and through sqld's behaviours (batons,
//! `close`, a database that is busy now and then). No failure may surface, no row may be lost,
//! and every row must verify afterwards.

use std::process::Stdio;
use std::thread;

use crate::support::scratch::{pkgdeck, stored_rows, Scratch};
use crate::support::sqld::{Sqld, SqldRules};
use crate::support::tursodb::TursoServer;

/// A small document that passes the ObjectStack schemas (a warning on stderr would count as
/// a surfaced failure here).
fn doc(id: &str, version: &str) -> String {
    let object = format!("o_{}", version.replace('.', "_"));
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"Writer {id}"}},"metadata":{{"objects":[{{"name":"{object}","fields":{{"title":{{"type":"text"}}}}}}]}}}}"#
    )
}

/// `writers` processes at a time, each publishing `each` versions of its own package to
/// `url`; panics on any failure, naming it.
fn publish_concurrently(scratch: &Scratch, url: &str, prefix: &str, writers: usize, each: usize) {
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let url = url.to_owned();
            let dirs = scratch.dirs();
            let dir = scratch.dir.path().to_owned();
            let id = format!("{prefix}.w{w}");
            thread::spawn(move || {
                for i in 0..each {
                    let file = dir.join(format!("{id}-{i}.json"));
                    std::fs::write(&file, doc(&id, &format!("1.0.{i}"))).unwrap();
                    // Versions of one package published within a second tie, which the guard
                    // refuses (the server would load the first): this test is about writers.
                    let out = pkgdeck(&dirs)
                        .args(["--db", &url, "publish", "--allow-boot-change"])
                        .arg(&file)
                        .stdin(Stdio::null())
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success() && out.stderr.is_empty(),
                        "{id} 1.0.{i} exited {:?}: {}",
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a writer failed");
    }
}

#[test]
fn concurrent_remote_publishers_lose_nothing() {
    const WRITERS: usize = 6;
    const EACH: usize = 8;
    let scratch = Scratch::new();
    let server = TursoServer::start(&scratch.db);
    // sqld's behaviours in front of the same server, with the database busy for the first
    // batches (as when writers race for the write lock).
    let sqld = Sqld::start(
        &server.url,
        SqldRules {
            busy_batches: WRITERS,
            ..SqldRules::default()
        },
    );
    thread::scope(|s| {
        s.spawn(|| publish_concurrently(&scratch, &server.url, "direct", WRITERS, EACH));
        s.spawn(|| publish_concurrently(&scratch, &sqld.url, "sqld", WRITERS, EACH));
    });
    assert_eq!(sqld.busy_answers(), WRITERS);
    assert_eq!(sqld.open_streams(), 0, "a writer left a stream open");

    let expected = 12 + 2 * WRITERS * EACH;
    let out = pkgdeck(&scratch.dirs())
        .args(["--db", &server.url, "verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked"], expected as u64);
    assert_eq!(report["ok"], expected as u64);
    let out = pkgdeck(&scratch.dirs())
        .args(["--db", &sqld.url, "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let writers: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"].as_str().unwrap().contains(".w"))
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["versions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(writers.len(), 2 * WRITERS);
    assert!(
        writers.iter().all(|(_, n)| *n == EACH as u64),
        "{writers:?}"
    );

    drop(sqld);
    server.stop();
    // The file itself, read with SQLite: every row there once, and intact.
    let rows = stored_rows(&scratch.db);
    assert_eq!(rows.len(), expected);
    let c = rusqlite::Connection::open(&scratch.db).unwrap();
    let check: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
