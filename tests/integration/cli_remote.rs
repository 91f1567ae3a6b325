//! The real binary against a real `tursodb --sync-server` on loopback and against broken
//! servers: same answers as on a file, exit code 3 with one sentence for every failure, and the
//! token never in any output.

use std::process::Output;

use crate::support::responder::{Reply, Responder};
use crate::support::scratch::{written_audit_lines, Scratch};
use crate::support::tursodb::{free_port, TursoServer};

const TOKEN: &str = "tok-SECRET-8f3a91c2";

/// `pkgdeck --db TARGET ARGS…` with the scratch dirs and [`TOKEN`] in the environment.
fn pkgdeck(scratch: &Scratch, target: &str, args: &[&str]) -> Output {
    scratch
        .pkgdeck()
        .arg("--db")
        .arg(target)
        .args(args)
        .env("PKGDECK_AUTH_TOKEN", TOKEN)
        .env_remove("TURSO_AUTH_TOKEN")
        .env_remove("LIBSQL_AUTH_TOKEN")
        .output()
        .unwrap()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_token(o: &Output) {
    assert!(
        !all_output(o).contains(TOKEN),
        "token leaked: {}",
        all_output(o)
    );
}

#[test]
fn commands_work_on_a_remote_registry_like_on_a_file() {
    let scratch = Scratch::new();
    let db = scratch.db.clone();
    let server = TursoServer::start(&db);
    let data = scratch.dirs().data;
    let url = server.url.clone();

    let o = pkgdeck(&scratch, &url, &["list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert_no_token(&o);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 9);
    assert_eq!(list[0]["id"], "com.acme.helpdesk");
    assert_eq!(list[0]["version"], "1.1.1");

    let o = pkgdeck(&scratch, &url, &["verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("checked 12 rows: 12 ok"));

    let doc = scratch.file(
        "hotfix.json",
        r#"{"manifest":{"id":"com.acme.helpdesk","version":"1.1.2","type":"app","name":"Helpdesk"},"metadata":{"objects":[{"name":"helpdesk_ticket"}]}}"#,
    );
    let o = pkgdeck(&scratch, &url, &["publish", &doc, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let published: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = pkgdeck(&scratch, &url, &["get", "com.acme.helpdesk", "--json"]);
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["version"], "1.1.2");
    assert_eq!(got["hash"], published["hash"]);

    let o = pkgdeck(&scratch, &url, &["delete", "com.acme.crm", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    assert_no_token(&o);
    // The audit log names the target without the token.
    let audit = std::fs::read_to_string(data.join("audit.log")).unwrap();
    assert_eq!(written_audit_lines(&data.join("audit.log")).len(), 2);
    assert!(audit.contains(&url) && !audit.contains(TOKEN), "{audit}");
    let trash = std::fs::read_dir(data.join("trash"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(!std::fs::read_to_string(trash.path())
        .unwrap()
        .contains(TOKEN));

    // What the server wrote is in its file, and verifies there.
    server.stop();
    let db = db.display().to_string();
    let o = pkgdeck(&scratch, &db, &["verify", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["checked"].as_u64(), v["ok"].as_u64()),
        (Some(12), Some(12))
    );
    let o = pkgdeck(&scratch, &db, &["versions", "com.acme.helpdesk", "--json"]);
    let versions: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(versions[0]["version"], "1.1.2");
    assert_eq!(
        pkgdeck(&scratch, &db, &["get", "com.acme.crm"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn broken_servers_exit_3_with_one_sentence_and_no_token() {
    let scratch = Scratch::empty();
    let check = |target: &str, expect: &str| {
        let o = pkgdeck(&scratch, target, &["list"]);
        assert_eq!(o.status.code(), Some(3), "{target}: {}", all_output(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{err:?} should contain {expect:?}");
        assert_no_token(&o);
        err
    };
    let port = free_port();
    let err = check(&format!("http://127.0.0.1:{port}"), "cannot reach");
    assert!(err.contains(&format!("127.0.0.1:{port}")));
    let r = Responder::start(vec![Reply::status(401, "unauthorized")]);
    check(&r.url, "rejected");
    // Opening a remote registry costs one request: its table check is the connection check.
    assert_eq!(r.count(), 1);
    let r = Responder::start(vec![Reply::status(200, "<html>not hrana</html>")]);
    check(&r.url, "not valid Hrana");
    let r = Responder::start(vec![Reply::status(404, "nope")]);
    check(&r.url, "not a libSQL endpoint");
    // A token given in the URL is masked too.
    let r = Responder::start(vec![Reply::status(500, "boom")]);
    check(&format!("{}?authToken={TOKEN}", r.url), "500");
    let o = pkgdeck(&scratch, "ftp://example", &["list"]);
    assert_eq!(o.status.code(), Some(2));
}
