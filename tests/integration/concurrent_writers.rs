//! Writers at once on one SQLite file: pkgdeck processes publishing side by side with another
//! process inserting its own rows (plain SQL, as another service would), and with the real
//! ObjectStack package service publishing through its own code. No write may be lost, no busy
//! database may surface as a failure, and every row must verify afterwards.

use crate::support::scratch::{pkgdeck, Scratch};

/// A small document that passes the ObjectStack schemas (a warning on stderr would count as
/// a surfaced failure here).
fn doc(id: &str, version: &str) -> String {
    let object = format!("o_{}", version.replace('.', "_"));
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"W {id}"}},"metadata":{{"objects":[{{"name":"{object}","fields":{{"title":{{"type":"text"}}}}}}]}}}}"#
    )
}

#[test]
fn concurrent_publishers_lose_nothing() {
    let scratch = Scratch::empty();
    let db = scratch.db.display().to_string();
    // The registry exists before the writers start, as the service creates it when it starts.
    let conn = rusqlite::Connection::open(&scratch.db).unwrap();
    for stmt in pkgdeck::registry::SCHEMA {
        conn.execute(stmt, []).unwrap();
    }
    drop(conn);

    const EACH: usize = 25;
    let writer = |id: &'static str| {
        let db = db.clone();
        let dirs = scratch.dirs();
        let dir = scratch.dir.path().to_owned();
        std::thread::spawn(move || {
            for i in 0..EACH {
                let file = dir.join(format!("{id}-{i}.json"));
                std::fs::write(&file, doc(id, &format!("1.0.{i}"))).unwrap();
                // Versions of one package published within a second tie, which the guard
                // refuses (the server would load the first): this test is about concurrency.
                let out = pkgdeck(&dirs)
                    .args(["--db", &db, "publish", "--allow-boot-change"])
                    .arg(&file)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{id} 1.0.{i}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        })
    };
    // The second process: plain SQL inserts in transactions, as another service would write.
    let shell_db = db.clone();
    let shell = std::thread::spawn(move || {
        for i in 0..EACH {
            let conn = rusqlite::Connection::open(&shell_db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let prepared = pkgdeck::registry::prepare_publish(
                &doc("other.writer", &format!("2.0.{i}")),
                "doc",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sys_packages (id, version, manifest, metadata, hash) VALUES (?, ?, ?, ?, ?)",
                rusqlite::params![prepared.id, prepared.version, prepared.manifest, prepared.metadata, prepared.hash],
            )
            .unwrap();
        }
    });
    let a = writer("writer.a");
    let b = writer("writer.b");
    a.join().unwrap();
    b.join().unwrap();
    shell.join().unwrap();

    let out = scratch.run(&["verify", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked"], (3 * EACH) as u64);
    assert_eq!(report["ok"], (3 * EACH) as u64);
    let list = scratch.run(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let versions: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["versions"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![EACH as u64; 3]);
}

/// Two pkgdeck processes and the real ObjectStack package service (its own `publish`, in
/// Node, through @libsql/client on `file:`) write the same registry file at once. Every write
/// of each must land (0 lost rows), no pkgdeck command may report a busy database (they wait
/// for the lock), and every row verifies afterwards.
#[test]
fn two_pkgdeck_writers_and_the_objectstack_service_lose_nothing() {
    use std::sync::{Arc, Barrier};

    const EACH: usize = 25;
    let scratch = Scratch::new();
    let before = crate::support::scratch::stored_rows(&scratch.db).len();
    let install = crate::support::objectstack::install_dir();
    let script = crate::support::repo_root().join("tests/oracle/service-writer.mjs");
    let start = Arc::new(Barrier::new(3));

    let service = {
        let db = scratch.db.clone();
        let start = Arc::clone(&start);
        std::thread::spawn(move || {
            let child = std::process::Command::new("node")
                .arg(&script)
                .arg(&install)
                .arg(&db)
                .arg("service.pkg")
                .arg(EACH.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start node ({e}): the service writer needs Node.js")
                });
            start.wait();
            child
                .wait_with_output()
                .expect("wait for the service writer")
        })
    };
    let writer = |prefix: &'static str| {
        let db = scratch.db.display().to_string();
        let dirs = scratch.dirs();
        let dir = scratch.dir.path().to_owned();
        let start = Arc::clone(&start);
        std::thread::spawn(move || {
            let files: Vec<String> = (0..EACH)
                .map(|i| {
                    let file = dir.join(format!("{prefix}-{i}.json"));
                    std::fs::write(&file, doc(&format!("{prefix}.{i}"), "1.0.0")).unwrap();
                    file.display().to_string()
                })
                .collect();
            start.wait();
            let mut refused = Vec::new();
            for file in &files {
                let out = pkgdeck(&dirs)
                    .args(["--db", &db, "publish", file])
                    .output()
                    .unwrap();
                if !out.status.success() || !out.stderr.is_empty() {
                    refused.push(format!(
                        "{file}: {:?} {}",
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            refused
        })
    };
    let a = writer("writer.a");
    let b = writer("writer.b");
    let refused: Vec<String> = [a, b]
        .into_iter()
        .flat_map(|w| w.join().expect("a pkgdeck writer"))
        .collect();
    let service = service.join().expect("the service writer");
    assert!(
        service.status.success(),
        "the service writer failed: {}",
        String::from_utf8_lossy(&service.stderr)
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&service.stdout).expect("the service writer's answer is JSON");
    assert_eq!(refused, Vec::<String>::new(), "pkgdeck surfaced failures");
    assert_eq!(
        answer["failed"],
        serde_json::json!([]),
        "the service's own publishes failed"
    );
    assert_eq!(answer["published"].as_array().map(Vec::len), Some(EACH));

    // Every write of every writer is there, and every row verifies.
    let rows = crate::support::scratch::stored_rows(&scratch.db);
    assert_eq!(rows.len(), before + 3 * EACH, "rows were lost");
    for prefix in ["writer.a", "writer.b", "service.pkg"] {
        for i in 0..EACH {
            let id = format!("{prefix}.{i}");
            assert!(rows.iter().any(|r| r.0 == id), "{id} was lost");
        }
    }
    let out = scratch.run(&["verify", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checked"], (before + 3 * EACH) as u64);
    assert_eq!(report["ok"], (before + 3 * EACH) as u64);
}
