//! Hostile local state: tampered or malformed trash files and config files.

use super::*;

pub(super) fn trash_files(f: &Files, cases: &mut Vec<Case>) {
    let restore = |name: &str, file: &str, says: &[&str]| {
        Case::new(format!("trash file: {name}"), 2, &["restore", file], says)
    };
    cases.push(restore(
        "not JSON",
        &f.write("t-not-json.json", "not json at all"),
        &["cannot be restored", "not a pkgdeck trash file"],
    ));
    cases.push(restore(
        "an empty object",
        &f.write("t-empty.json", "{}"),
        &["not a pkgdeck trash file"],
    ));
    let wrong = [
        ("wrong format", "t-format.json", "unknown format"),
        ("rows not a list", "t-rows.json", "not a pkgdeck trash file"),
        ("no rows", "t-no-rows.json", "holds no rows"),
        (
            "manifest tampered",
            "t-manifest.json",
            "hash does not match",
        ),
        ("hash tampered", "t-hash.json", "hash does not match"),
        (
            "id not the manifest's",
            "t-id.json",
            "its manifest says com.acme.crm 9.9.9",
        ),
        (
            "version not the manifest's",
            "t-version.json",
            "its manifest says com.acme.crm 9.9.9",
        ),
        (
            "manifest not JSON",
            "t-manifest-text.json",
            "manifest is not valid JSON",
        ),
        (
            "metadata not JSON",
            "t-metadata-text.json",
            "metadata is not valid JSON",
        ),
        ("pending", "t-pending.json", "it is pending"),
        ("escapes in the id", "t-escapes.json", "row x␛]0;PWNED␇"),
    ];
    for (name, file, says) in wrong {
        let path = trash_file(f, file, |t| match name {
            "wrong format" => t["format"] = json!("pkgdeck-trash/99"),
            "rows not a list" => t["rows"] = json!({"id": "x"}),
            "no rows" => t["rows"] = json!([]),
            "manifest tampered" => {
                let m = t["rows"][0]["manifest"].as_str().unwrap_or_default();
                t["rows"][0]["manifest"] = json!(m.replace("CRM", "CRM (changed)"));
            }
            "hash tampered" => t["rows"][0]["hash"] = json!("0".repeat(64)),
            "id not the manifest's" => {
                t["rows"][0]["id"] = json!("com.acme.other");
            }
            "version not the manifest's" => t["rows"][0]["version"] = json!("1.0.0"),
            "manifest not JSON" => {
                t["rows"][0]["manifest"] = json!("{not json");
                rehash(t);
            }
            "metadata not JSON" => {
                t["rows"][0]["metadata"] = json!("[1,");
                rehash(t);
            }
            "pending" => t["state"] = json!("pending"),
            "escapes in the id" => t["rows"][0]["id"] = json!("x\u{1b}]0;PWNED\u{7}\u{202e}"),
            _ => unreachable!("{name}"),
        });
        let mut says = vec![says];
        if name != "wrong format" && name != "rows not a list" {
            says.push("pass --force");
        }
        cases.push(restore(name, &path, &says));
    }
    // Checked and trusted, but a different row is stored at its (id, version).
    let conflict = trash_file(f, "t-conflict.json", |t| {
        let m = t["rows"][0]["manifest"].as_str().unwrap_or_default();
        t["rows"][0]["manifest"] = json!(m.replace("9.9.9", "1.2.0").replace("CRM", "CRM old"));
        t["rows"][0]["version"] = json!("1.2.0");
        rehash(t);
    });
    cases.push(restore(
        "a different row is stored there",
        &conflict,
        &["would overwrite a different row"],
    ));
    cases.push(restore(
        "a directory",
        &f.dir("t-dir.json"),
        &["is a directory, not a document"],
    ));
    cases.push(restore(
        "/dev/zero",
        "/dev/zero",
        &["/dev/zero is a device"],
    ));
    cases.push(restore(
        "missing",
        &f.path("t-missing.json").display().to_string(),
        &["cannot be restored", "cannot read"],
    ));
    cases.push(restore(
        "invalid UTF-8",
        &f.write("t-latin1.json", b"{\"format\":\"caf\xe9\"}"),
        &["not UTF-8 text"],
    ));
    let fine = trash_file(f, "t-too-big.json", |_| {});
    cases.push(
        restore("over the size limit", &fine, &["larger than the 200 bytes"])
            .env("PKGDECK_MAX_DOCUMENT", "200"),
    );
}

pub(super) fn config_files(f: &Files, cases: &mut Vec<Case>) {
    let fifo = f.fifo("conn.fifo");
    let missing = f.path("conn-missing.db").display().to_string();
    let configs: Vec<(&str, String, i32, &str)> = vec![
        (
            "not TOML",
            "[connections.main\ntarget = 1".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "unknown top-level key",
            "colour = \"red\"\n".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "a connection without a target",
            "[connections.main]\ntoken_env = \"X\"\n".into(),
            2,
            "missing field `target`",
        ),
        (
            "a target that is a number",
            "[connections.main]\ntarget = 3\n".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "an unknown connection field",
            "[connections.main]\ntarget = \"x.db\"\ncolour = \"red\"\n".into(),
            2,
            "unknown field `colour`",
        ),
        (
            "a token in the target",
            format!("[connections.main]\ntarget = \"libsql://db.example?authToken={SECRET}\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "a token in any letter case",
            format!("[connections.main]\ntarget = \"libsql://db.example?AUTHTOKEN={SECRET}\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "a password in the target",
            format!("[connections.main]\ntarget = \"https://user:{SECRET}@db.example\"\n"),
            2,
            "has a token in its target",
        ),
        (
            "an unsupported scheme",
            "[connections.main]\ntarget = \"gopher://db\"\n".into(),
            2,
            "saved connection \"main\"",
        ),
        (
            "binary garbage",
            "\u{0}\u{1}\u{2}\u{1b}[2J".into(),
            2,
            "is not a valid pkgdeck config",
        ),
        (
            "a FIFO target",
            format!("[connections.main]\ntarget = \"{fifo}\"\n"),
            3,
            "is a FIFO",
        ),
        (
            "a missing target",
            format!("[connections.main]\ntarget = \"{missing}\"\n"),
            3,
            "no registry at",
        ),
    ];
    for (name, text, code, says) in configs {
        cases.push(
            Case::new(
                format!("config: {name}"),
                code,
                &["-c", "main", "list"],
                &[says],
            )
            .db(Db::Omit)
            .config(Config::Text(text)),
        );
    }
    cases.push(
        Case::new(
            "config: the file is a directory",
            2,
            &["-c", "main", "list"],
            &["cannot read", "config.toml"],
        )
        .db(Db::Omit)
        .config(Config::Directory),
    );
    cases.push(
        Case::new(
            "config: a connection name with escapes",
            2,
            &["-c", "x\u{1b}]0;PWNED\u{7}", "list"],
            &["no saved connection"],
        )
        .db(Db::Omit)
        .config(Config::Text(
            "[connections.main]\ntarget = \"x.db\"\n".into(),
        )),
    );
}
