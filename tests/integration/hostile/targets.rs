//! Hostile targets (files that are not registries, devices, FIFOs, broken URLs and tokens)
//! and hostile arguments.

use super::*;

pub(super) fn targets(f: &Files, cases: &mut Vec<Case>) {
    let missing = f.path("typo.db");
    for command in [
        &["list"][..],
        &["get", "com.acme.crm"],
        &["versions", "com.acme.crm"],
        &["verify"],
        &["export", "com.acme.crm"],
        &["diff", "com.acme.helpdesk", "1.0.0", "1.1.0"],
        &["delete", "com.acme.crm", "--yes"],
        &["--read-only", "list"],
    ] {
        cases.push(
            Case::new(
                format!("missing registry: {}", command.join(" ")),
                3,
                command,
                &[&format!("no registry at {}", missing.display())],
            )
            .db(Db::Path(missing.clone())),
        );
    }
    let deep = f.path("no-such-dir/reg.db");
    cases.push(
        Case::new(
            "missing registry in a missing directory",
            3,
            &["list"],
            &["no registry at", "no-such-dir/reg.db"],
        )
        .db(Db::Path(deep)),
    );
    let fifo = PathBuf::from(f.fifo("reg.fifo"));
    for command in [&["list"][..], &["publish", "-"]] {
        cases.push(
            Case::new(
                format!("FIFO target: {}", command.join(" ")),
                3,
                command,
                &["is a FIFO, not a registry file"],
            )
            .db(Db::Path(fifo.clone()))
            .stdin(GOOD),
        );
    }
    for (name, path, says) in [
        (
            "/dev/null",
            PathBuf::from("/dev/null"),
            "/dev/null is a device",
        ),
        (
            "/dev/zero",
            PathBuf::from("/dev/zero"),
            "/dev/zero is a device",
        ),
        (
            "directory",
            PathBuf::from(f.dir("reg-dir")),
            "is a directory",
        ),
        ("socket", PathBuf::from(f.socket("reg.sock")), "is a socket"),
        (
            "symlink to a FIFO",
            PathBuf::from(f.link("to-fifo.db", &fifo.display().to_string())),
            "is a FIFO",
        ),
    ] {
        cases.push(
            Case::new(
                format!("{name} target"),
                3,
                &["list"],
                &[says, "not a registry file"],
            )
            .db(Db::Path(path)),
        );
    }
    let ok = f.write("ok-for-targets.json", GOOD);
    cases.push(
        Case::new(
            "/dev/zero target: publish",
            3,
            &["publish", &ok],
            &["/dev/zero is a device"],
        )
        .db(Db::Path("/dev/zero".into())),
    );
    let looped = f.link("loop.db", "loop.db");
    cases.push(
        Case::new("symlink loop target", 3, &["list"], &["loop.db"]).db(Db::Path(looped.into())),
    );
    let dangling = f.link("dangling.db", "nowhere.db");
    cases.push(
        Case::new(
            "dangling symlink target",
            3,
            &["list"],
            &["no registry at", "dangling.db"],
        )
        .db(Db::Path(dangling.into())),
    );
    let text = PathBuf::from(f.write("notes.txt", "these are my notes, not a database\n"));
    for command in [&["list"][..], &["publish", &ok]] {
        cases.push(
            Case::new(
                format!("text file target: {}", command[0]),
                3,
                command,
                &["is not an SQLite database"],
            )
            .db(Db::Path(text.clone())),
        );
    }
    let other = PathBuf::from(f.sqlite_without_table("someone-elses.db"));
    for command in [
        &["list"][..],
        &["verify"],
        &["get", "x"],
        &["delete", "x", "--yes"],
        &["--read-only", "versions", "x"],
    ] {
        cases.push(
            Case::new(
                format!("SQLite file without sys_packages: {}", command.join(" ")),
                3,
                command,
                &[&format!("{} has no sys_packages table", other.display())],
            )
            .db(Db::Path(other.clone())),
        );
    }
    let empty = PathBuf::from(f.write("empty.db", ""));
    cases.push(
        Case::new(
            "empty file target",
            3,
            &["list"],
            &["has no sys_packages table"],
        )
        .db(Db::Path(empty)),
    );
    let schemes: [(&str, String, i32, &str); 8] = [
        (
            "unsupported scheme with a password",
            format!("ftp://user:{SECRET}@host/x"),
            2,
            "scheme",
        ),
        ("file: naming nothing", "file:".into(), 2, "names no file"),
        (
            "file: with only a token",
            format!("file:?authToken={SECRET}"),
            2,
            "names no file",
        ),
        ("http with no host", "http://".into(), 2, "names no host"),
        (
            "libsql with only a token",
            format!("libsql://?AuthToken={SECRET}"),
            2,
            "names no host",
        ),
        (
            "userinfo token, nothing listening",
            format!("http://user:{SECRET}@127.0.0.1:1"),
            3,
            "127.0.0.1:1",
        ),
        (
            "AUTHTOKEN, nothing listening",
            format!("http://127.0.0.1:1/?AUTHTOKEN={SECRET}"),
            3,
            "127.0.0.1:1",
        ),
        ("empty target", String::new(), 2, "the target is empty"),
    ];
    for (name, target, code, says) in schemes {
        cases.push(
            Case::new(format!("target: {name}"), code, &["list"], &[says])
                .db(Db::Omit)
                .env("PKGDECK_DB", target),
        );
    }
    let escaped = f.path("reg\u{1b}]0;PWNED\u{7}\u{202e}.db");
    cases.push(
        Case::new(
            "target path with an escape sequence",
            3,
            &["list"],
            &["no registry at", "reg␛]0;PWNED␇"],
        )
        .db(Db::Path(escaped)),
    );
    cases.push(
        Case::new(
            "target text with an escape sequence",
            2,
            &["list"],
            &["is not supported"],
        )
        .db(Db::Text("go\u{1b}[2J\u{9b}pher://x".into())),
    );
}

pub(super) fn arguments(f: &Files, cases: &mut Vec<Case>) {
    let simple: [(&str, &[&str], i32, &str); 21] = [
        (
            "unknown command",
            &["frobnicate"],
            2,
            "unrecognized subcommand",
        ),
        (
            "unknown flag",
            &["list", "--jsn"],
            2,
            "unexpected argument '--jsn'",
        ),
        ("get without an id", &["get"], 2, "<ID>"),
        (
            "diff without versions",
            &["diff", "com.acme.helpdesk"],
            2,
            "<FROM>",
        ),
        (
            "delete without --yes",
            &["delete", "com.acme.crm"],
            2,
            "needs --yes",
        ),
        (
            "delete everything without --yes",
            &["delete", "com.acme.helpdesk"],
            2,
            "every version of com.acme.helpdesk",
        ),
        (
            "completions for an unknown shell",
            &["completions", "tcsh"],
            2,
            "'tcsh'",
        ),
        (
            "help for an unknown command",
            &["help", "frobnicate"],
            2,
            "no command \"frobnicate\"",
        ),
        (
            "read-only delete",
            &["--read-only", "delete", "com.acme.crm", "--yes"],
            2,
            "read-only: delete refused",
        ),
        (
            "read-only restore",
            &["--read-only", "restore", "/nonexistent"],
            2,
            "read-only: restore refused",
        ),
        (
            "get of a missing package",
            &["get", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "get of a missing version",
            &["get", "com.acme.helpdesk", "9.9.9"],
            1,
            "version 9.9.9 was not found",
        ),
        (
            "get of an empty version",
            &["get", "com.acme.helpdesk", ""],
            1,
            "was not found",
        ),
        (
            "versions of a missing package",
            &["versions", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "verify of a missing package",
            &["verify", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "verify of a missing version",
            &["verify", "com.acme.crm", "0.0.0"],
            1,
            "version 0.0.0 was not found",
        ),
        (
            "export of a missing package",
            &["export", "nope"],
            1,
            "package nope was not found",
        ),
        (
            "diff to a missing version",
            &["diff", "com.acme.helpdesk", "1.0.0", "9.9.9"],
            1,
            "version 9.9.9 was not found",
        ),
        (
            "delete of a missing package",
            &["delete", "nope", "--yes"],
            1,
            "package nope was not found",
        ),
        (
            "get with escapes in the id",
            &["get", "x\u{1b}]0;PWNED\u{7}\u{9b}2J\u{202e}"],
            1,
            "x␛]0;PWNED␇",
        ),
        (
            "unknown flag with escapes",
            &["list", "--\u{1b}[2J\u{9b}"],
            2,
            "unexpected argument",
        ),
    ];
    for (name, args, code, says) in simple {
        cases.push(Case::new(name, code, args, &[says]));
    }
    cases.push(
        Case::new(
            "an unknown saved connection",
            2,
            &["-c", "nope", "list"],
            &["no saved connection \"nope\""],
        )
        .db(Db::Omit),
    );
    cases.push(
        Case::new(
            "--db and -c together",
            2,
            &["--db", "x.db", "-c", "y", "list"],
            &["cannot be used with"],
        )
        .db(Db::Omit),
    );
    let export = |name: &str, to: &str, code: i32, says: &str| {
        Case::new(
            format!("export -o {name}"),
            code,
            &["export", "com.acme.crm", "-o", to],
            &[says],
        )
    };
    let fifo = f.fifo("out.fifo");
    let socket = f.socket("out.sock");
    let dir = f.dir("out-dir");
    let to_null = f.link("out-null.json", "/dev/null");
    let to_fifo = f.link("out-fifo.json", &fifo);
    let looped = f.link("out-loop.json", "out-loop.json");
    let in_missing = f.path("no-dir/out.json").display().to_string();
    for case in [
        export(
            "/dev/full",
            "/dev/full",
            2,
            "/dev/full is a device, not a regular file",
        ),
        export("/dev/null", "/dev/null", 2, "/dev/null is a device"),
        export("a FIFO", &fifo, 2, "is a FIFO, not a regular file"),
        export("a socket", &socket, 2, "is a socket"),
        export("a directory", &dir, 2, "is a directory"),
        export(
            "a symlink to /dev/null",
            &to_null,
            2,
            "/dev/null is a device",
        ),
        export("a symlink to a FIFO", &to_fifo, 2, "is a FIFO"),
        export("a symlink loop", &looped, 2, "symlink loop"),
        export("a missing directory", &in_missing, 3, "cannot write"),
    ] {
        cases.push(case);
    }
}
