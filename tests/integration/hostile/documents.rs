//! Hostile publish documents: malformed JSON, invalid manifests and metadata, and every other
//! text the parser must refuse.

use super::*;

pub(super) fn documents(f: &Files, cases: &mut Vec<Case>) {
    let publish = |name: &str, text: &str, code: i32, says: &[&str]| {
        let file = f.write(name, text);
        let mut pieces = vec![file.clone()];
        pieces.extend(says.iter().map(|s| s.to_string()));
        let says: Vec<&str> = pieces.iter().map(String::as_str).collect();
        Case::new(format!("document {name}"), code, &["publish", &file], &says)
    };
    let m = manifest;
    let invalid = [
        ("empty.json", String::new(), "expected a value"),
        ("spaces.json", "  \n\t ".into(), "expected a value"),
        (
            "truncated.json",
            r#"{"manifest":{"id":"a""#.into(),
            "line 1",
        ),
        (
            "trailing.json",
            format!("{GOOD} x"),
            "after the end of the JSON value",
        ),
        (
            "two-docs.json",
            format!("{GOOD}{GOOD}"),
            "after the end of the JSON value",
        ),
        ("nan.json", GOOD.replace("\"New\"", "NaN"), "found 'N'"),
        (
            "infinity.json",
            GOOD.replace("\"New\"", "Infinity"),
            "found 'I'",
        ),
        (
            "single-quotes.json",
            GOOD.replace("\"New\"", "'New'"),
            "found '''",
        ),
        ("comment.json", format!("// hi\n{GOOD}"), "found '/'"),
        (
            "trailing-comma.json",
            GOOD.replace("\"New\"}", "\"New\",}"),
            "trailing comma",
        ),
        ("bom.json", format!("\u{feff}{GOOD}"), "U+FEFF"),
        (
            "raw-control.json",
            GOOD.replace("New", "N\u{1}ew"),
            "U+0001",
        ),
        (
            "raw-escape.json",
            GOOD.replace("New", "\u{1b}]0;PWNED\u{7}"),
            "U+001B",
        ),
        (
            "raw-c1.json",
            "{\"manifest\": \u{9b}2J}".to_string(),
            "found",
        ),
        (
            "raw-bidi.json",
            "{\"manifest\": \u{202e}x}".to_string(),
            "found",
        ),
        (
            "raw-zwsp.json",
            "{\"manifest\": \u{200b}}".to_string(),
            "found",
        ),
        (
            "lone-surrogate.json",
            GOOD.replace("New", "\\ud800"),
            "surrogate",
        ),
        ("overflow.json", GOOD.replace("\"New\"", "1e400"), "1e400"),
        ("deep.json", "[".repeat(100_000), "deep"),
        (
            "leading-zero.json",
            GOOD.replace("\"New\"", "01"),
            "leading zeros",
        ),
        ("bare-minus.json", GOOD.replace("\"New\"", "-"), "found"),
        (
            "bad-escape.json",
            GOOD.replace("New", "\\x41"),
            "invalid escape",
        ),
        (
            "long-string.json",
            format!(
                "{{\"manifest\":{{\"name\":\"{}\"}} trailing",
                "\\u001b]0;PWNED\\u0007".repeat(50_000)
            ),
            "found",
        ),
    ];
    for (name, text, says) in invalid {
        cases.push(publish(name, &text, 2, &["not valid JSON", says]));
    }
    let rules = [
        (
            "null.json",
            "null".to_owned(),
            "not a valid package document",
        ),
        ("array.json", "[]".into(), "not a valid package document"),
        (
            "string.json",
            "\"doc\"".into(),
            "not a valid package document",
        ),
        ("no-manifest.json", "{}".into(), "$.manifest"),
        (
            "no-metadata.json",
            json!({"manifest": m()}).to_string(),
            "$.metadata",
        ),
        (
            "manifest-number.json",
            doc(json!(3), json!({})),
            "$.manifest",
        ),
        ("metadata-array.json", doc(m(), json!([])), "$.metadata"),
        (
            "id-empty.json",
            doc(
                json!({"id": "", "version": "1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.id",
        ),
        (
            "id-number.json",
            doc(
                json!({"id": 7, "version": "1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.id",
        ),
        (
            "version-short.json",
            doc(
                json!({"id": "a", "version": "1.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-v.json",
            doc(
                json!({"id": "a", "version": "v1.0.0", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-escape.json",
            doc(
                json!({"id": "a", "version": "1.0.0\u{1b}[2J\u{1b}]52;c;cHduZWQ=\u{7}", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "version-bidi.json",
            doc(
                json!({"id": "a", "version": "1.0.0\u{202e}", "type": "app", "name": "N"}),
                json!({}),
            ),
            "$.manifest.version",
        ),
        (
            "type-unknown.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "virus", "name": "N"}),
                json!({}),
            ),
            "$.manifest.type",
        ),
        (
            "name-empty.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "app", "name": ""}),
                json!({}),
            ),
            "$.manifest.name",
        ),
        (
            "name-missing.json",
            doc(
                json!({"id": "a", "version": "1.0.0", "type": "app"}),
                json!({}),
            ),
            "$.manifest.name",
        ),
        (
            "objects-object.json",
            doc(m(), json!({"objects": {"name": "x"}})),
            "$.metadata.objects",
        ),
        (
            "views-string.json",
            doc(m(), json!({"views": "x"})),
            "$.metadata.views",
        ),
        (
            "everything-wrong.json",
            doc(
                json!({"id": "", "version": "x", "type": 1}),
                json!({"apps": 1, "flows": null}),
            ),
            "$.metadata.flows",
        ),
    ];
    for (name, text, says) in rules {
        cases.push(publish(name, &text, 2, &[says]));
    }
    // The stored row's hash is echoed in the refusal.
    let crm = f.write(
        "overwrite.json",
        r#"{"manifest":{"id":"com.acme.crm","version":"1.2.0","type":"app","name":"CRM!"},"metadata":{}}"#,
    );
    cases.push(Case::new(
        "document overwrites without the flag",
        2,
        &["publish", &crm],
        &["com.acme.crm 1.2.0 already exists", "--allow-overwrite"],
    ));
    let ok = f.write("ok.json", GOOD);
    cases.push(
        Case::new(
            "document over PKGDECK_MAX_DOCUMENT",
            2,
            &["publish", &ok],
            &[
                "larger than the 100 bytes document size limit",
                "PKGDECK_MAX_DOCUMENT",
            ],
        )
        .env("PKGDECK_MAX_DOCUMENT", "100"),
    );
    let big = f.sparse("big.json", 65 << 20);
    cases.push(Case::new(
        "document of 65 MiB",
        2,
        &["publish", &big],
        &["larger than the 64 MiB document size limit"],
    ));
    cases.push(Case::new(
        "document is /dev/zero",
        2,
        &["publish", "/dev/zero"],
        &["/dev/zero is a device, not a document"],
    ));
    let dir = f.dir("a-directory");
    cases.push(Case::new(
        "document is a directory",
        2,
        &["publish", &dir],
        &["is a directory, not a document"],
    ));
    let socket = f.socket("doc.sock");
    cases.push(Case::new(
        "document is a socket",
        2,
        &["publish", &socket],
        &["is a socket, not a document"],
    ));
    let missing = f.path("missing.json").display().to_string();
    cases.push(Case::new(
        "document is missing",
        2,
        &["publish", &missing],
        &["cannot read", "missing.json"],
    ));
    cases.push(
        Case::new(
            "PKGDECK_MAX_DOCUMENT is not a size",
            2,
            &["publish", &ok],
            &["PKGDECK_MAX_DOCUMENT=\"lots\" is not a size"],
        )
        .env("PKGDECK_MAX_DOCUMENT", "lots"),
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(GOOD.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let utf16 = f.write("utf16.json", utf16);
    cases.push(Case::new(
        "document in UTF-16",
        2,
        &["publish", &utf16],
        &["is not UTF-8 text"],
    ));
    let latin1 = f.write("latin1.json", b"{\"manifest\":{\"name\":\"caf\xe9\"}}");
    cases.push(Case::new(
        "document in Latin-1",
        2,
        &["publish", &latin1],
        &["is not UTF-8 text (invalid byte at offset 24)"],
    ));
    cases.push(
        Case::new(
            "standard input not JSON",
            2,
            &["publish", "-"],
            &["standard input is not valid JSON"],
        )
        .stdin("{\"manifest\": \u{1b}[2J"),
    );
    cases.push(
        Case::new(
            "standard input over the limit",
            2,
            &["publish", "-"],
            &["standard input is larger than the 1 KiB document size limit"],
        )
        .stdin(vec![b' '; 4096])
        .env("PKGDECK_MAX_DOCUMENT", "1K"),
    );
    cases.push(
        Case::new(
            "standard input empty",
            2,
            &["publish", "-"],
            &["standard input is not valid JSON"],
        )
        .stdin(""),
    );
    cases.push(Case::new(
        "publish in read-only mode",
        2,
        &["--read-only", "publish", &ok],
        &["is open read-only: publish refused"],
    ));
}
