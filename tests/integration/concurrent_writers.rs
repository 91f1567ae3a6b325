//! Two writers at once on one SQLite file: pkgdeck processes publishing side by side with a
//! second process (the sqlite3 shell, as another service would) inserting its own rows. No
//! write may be lost and every row must verify afterwards.

use std::process::Stdio;

use crate::support::scratch::{pkgdeck, Scratch};

fn doc(id: &str, version: &str) -> String {
    format!(
        r#"{{"manifest":{{"id":"{id}","version":"{version}","type":"app","name":"W {id}"}},"metadata":{{"objects":[{{"name":"o_{version}"}}]}}}}"#
    )
}

#[test]
fn concurrent_publishers_lose_nothing() {
    let scratch = Scratch::empty();
    let db = scratch.db.display().to_string();
    // Create the registry once.
    let status = scratch
        .pkgdeck()
        .args(["--db", &db, "list"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

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
