//! Terminal injection through every screen and dialog of the real binary (spec 10.2): a
//! registry whose every text field (id, version, manifest, metadata, hash, timestamps) holds
//! an OSC title change, an OSC 52 clipboard write, a clear-screen, cursor moves, bidi
//! controls, C1 controls, wide characters and 100 KB values; saved connections, a draft, a
//! trash file and a document file name that hold them too. tmux runs the console with
//! `set-clipboard on`: after every screen the pane title is unchanged, no paste buffer
//! appeared, the header is intact and every bordered line is exactly as wide as the pane.
//! Controls at the end prove the same bytes written raw do change the title and the
//! clipboard here, so the checks can fail.

use std::path::PathBuf;

use pkgdeck::registry::PublishOptions;
use pkgdeck::tui::drafts;
use pkgdeck::tui::screens::editor::Origin;
use unicode_width::UnicodeWidthStr;

use crate::support::assert::assert_contains;
use crate::support::scratch::Scratch;
use crate::support::tmux::{self, Tmux};

const TITLE: &str = "\u{1b}]0;PWNED\u{7}";
/// "Hacked", base64, for the clipboard.
const CLIPBOARD: &str = "\u{1b}]52;c;SGFja2Vk\u{7}";
const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
const MOVES: &str = "\u{1b}[10;10H\u{1b}[5A\u{1b}7\u{1b}8";
const BIDI: &str = "\u{202e}\u{2066}\u{200f}";
const WIDE: &str = "中文😀";
const C1: &str = "\u{9b}31m\u{85}\u{7f}";

/// `tag` followed by every hostile sequence.
fn hostile(tag: &str) -> String {
    format!("{tag}{TITLE}{CLIPBOARD}{CLEAR}{MOVES}{BIDI}{WIDE}{C1}")
}

/// About 100 KB of hostile text.
fn big(tag: &str) -> String {
    let one = hostile(tag);
    one.repeat(100_000 / one.len() + 1)
}

/// The registry: the fixture, two raw rows whose every column is hostile (written with
/// SQLite, as another writer could), a third deleted through pkgdeck so the trash holds it,
/// and a valid package published through pkgdeck whose texts are hostile.
fn hostile_registry() -> Scratch {
    let scratch = Scratch::new();
    let id = hostile("id");
    let db = rusqlite::Connection::open(&scratch.db).unwrap();
    for version in ["1.0.0", "2.0.0", "0.9.0"] {
        let version = hostile(version);
        let manifest = serde_json::to_string(&serde_json::json!({
            "id": id, "version": version, "type": "app", "name": big("name"),
        }))
        .unwrap();
        let metadata = serde_json::to_string(&serde_json::json!({
            "objects": [{"name": hostile("object"), "label": big("label")}],
            "views": [{"name": big("view")}],
        }))
        .unwrap();
        db.execute(
            "INSERT INTO sys_packages (id, version, manifest, metadata, hash, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                id,
                version,
                manifest,
                metadata,
                hostile("hash"),
                hostile("2026-11-29"),
                hostile("2026-11-30")
            ],
        )
        .unwrap();
    }
    drop(db);
    let registry = scratch.registry(false);
    registry
        // Hostile rows break the server's boot; the guard is not what this test is about.
        .delete(
            &id,
            Some(&hostile("0.9.0")),
            pkgdeck::registry::Allow::EVERYTHING,
        )
        .expect("delete a hostile row into the trash");
    let doc = serde_json::json!({
        "manifest": {"id": "com.evil.doc", "version": "1.0.0", "type": "app", "name": hostile("doc")},
        "metadata": {"objects": [{"name": hostile("item"), "label": big("item-label")}]},
    });
    registry
        .publish(&doc.to_string(), "doc.json", PublishOptions::default())
        .expect("publish the hostile document");
    scratch
}

/// Saved connections, a draft and a document file whose names and texts are hostile.
fn hostile_files(scratch: &Scratch) {
    let config = scratch.dirs().config;
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "[connections.\"evil\\u001b]0;PWNED\\u0007\\u001b]52;c;SGFja2Vk\\u0007\"]\n\
         target = \"/tmp/x\\u001b[2J\\u202e.db\"\n\
         token_env = \"T\\u001b[5A\"\n",
    )
    .unwrap();
    let origin = Origin::File(PathBuf::from(hostile("/tmp/draft")));
    drafts::save(&drafts::new_path(&scratch.dirs()), &origin, &big("draft")).unwrap();
    std::fs::write(
        scratch.dir.path().join(format!("evil{TITLE}.json")),
        format!("{{\"manifest\": {{\"name\": \"{}\"}}}}", hostile("raw")),
    )
    .unwrap();
}

/// What must hold after every screen: the title and the clipboard untouched, the header
/// in place, every bordered line as wide as the pane.
#[track_caller]
fn intact(t: &Tmux, title: &str, where_: &str) -> String {
    let screen = t.screen();
    assert_eq!(
        t.display("#{pane_title}"),
        title,
        "the pane title changed on {where_}:\n{screen}"
    );
    assert_eq!(
        t.buffer(),
        None,
        "the clipboard was written on {where_}:\n{screen}"
    );
    assert!(
        screen.starts_with(" pkgdeck "),
        "the header is gone on {where_}:\n{screen}"
    );
    for line in screen.lines() {
        if line.starts_with(['│', '┌', '└']) {
            assert_eq!(
                line.width(),
                160,
                "a line out of place on {where_}: {line:?}\n{screen}"
            );
        }
    }
    screen
}

#[test]
fn hostile_text_reaches_no_screen_and_no_dialog_raw() {
    let scratch = hostile_registry();
    hostile_files(&scratch);
    let t = Tmux::console(&scratch);
    t.tmux(&["set", "-s", "set-clipboard", "on"]);
    let drafts_offered = t.wait_for("Unsaved drafts (1)");
    let title = t.display("#{pane_title}");
    assert!(!title.contains("PWNED"), "{title}");
    assert_contains(&drafts_offered, &["␛]0;PWNED␇"]);
    intact(&t, &title, "the drafts overlay");
    t.keys(&["Escape"]);
    let packages = t.wait_until("the packages", |s| {
        s.contains("com.evil.doc") && !s.contains("Unsaved drafts")
    });
    assert_contains(&packages, &["id␛]0;PWNED␇␛]52;c;SGFja2Vk␇␛[2J␛[H"]);
    intact(&t, &title, "Packages");

    // Verify all: the hostile rows fail; the first failure opens on its Integrity tab.
    t.keys(&["V"]);
    t.wait_for("rows checked in");
    intact(&t, &title, "the verify results");
    t.keys(&["Enter"]);
    t.wait_for("Stored hash");
    intact(&t, &title, "the Integrity tab");
    for tab in 0..9 {
        t.keys(&["Tab"]);
        std::thread::sleep(std::time::Duration::from_millis(60));
        intact(&t, &title, &format!("detail tab {tab}"));
    }
    // A search in the hostile manifest.
    t.keys(&["Tab"]);
    t.wait_for("┌ manifest ─");
    t.keys(&["/"]);
    t.type_text("PWNED");
    t.wait_for("/PWNED█");
    intact(&t, &title, "a search in a hostile JSON");
    // Keep it, step through the matches, end it, and back to the versions.
    t.keys(&["Enter", "n", "N", "Escape", "Escape"]);
    t.wait_for("MARKS");
    intact(&t, &title, "the hostile Versions");
    // Mark the selected version, diff the other one against it.
    t.keys(&["m", "g", "="]);
    t.wait_for("Diff:");
    intact(&t, &title, "the diff of two hostile versions");
    t.keys(&["Escape", "?"]);
    t.wait_for("Keys: Versions");
    intact(&t, &title, "the help");
    t.keys(&["Escape", "v"]);
    t.wait_for("verify id␛]0;PWNED");
    intact(&t, &title, "a footer message about a hostile row");

    t.keys(&[":"]);
    t.type_text("id");
    t.keys(&["Tab"]);
    t.wait_for(":id␛]0;PWNED");
    intact(&t, &title, "the command line");
    t.keys(&["Escape", "c"]);
    t.wait_for("Connections");
    intact(&t, &title, "the connection picker");
    t.keys(&["Escape", "t"]);
    t.wait_for("Trash (1)");
    intact(&t, &title, "the trash");
    t.keys(&["Enter"]);
    t.wait_for("Restore from the trash");
    intact(&t, &title, "the restore dialog");
    t.keys(&["n"]);

    // The valid hostile document: hotfix, its review, and the delete dialog.
    t.keys(&[":"]);
    t.type_text("com.evil.doc");
    t.keys(&["Enter"]);
    t.wait_for("│▶ 1.0.0 ");
    t.keys(&["h"]);
    t.wait_for("✓ valid");
    intact(&t, &title, "the hotfix editor");
    t.keys(&["C-s"]);
    t.wait_for("Review: com.evil.doc 1.0.1");
    intact(&t, &title, "the review");
    t.keys(&["n", "Escape", "D"]);
    t.wait_for("Type the package id com.evil.doc");
    intact(&t, &title, "the delete dialog");
    t.type_text("com.evil.doc");
    t.keys(&["Enter"]);
    t.wait_for("deleted 1 row of com.evil.doc");
    intact(&t, &title, "after the delete");

    // A document file whose name and text are hostile, through the path prompt.
    t.keys(&["p"]);
    t.type_text(&format!("{}/evil", scratch.dir.path().display()));
    t.keys(&["Tab"]);
    t.wait_for("evil␛]0;PWNED␇.json");
    intact(&t, &title, "the path prompt");
    t.keys(&["Enter"]);
    t.wait_for("✗ invalid JSON");
    intact(&t, &title, "the editor on a raw hostile file");
    t.keys(&["Escape", "q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
    assert_eq!(
        t.display("#{pane_title}"),
        title,
        "the title after quitting"
    );
    assert_eq!(t.buffer(), None, "the clipboard after quitting");

    // Controls: the same bytes written raw do retitle a pane and write the clipboard here.
    let raw = t.window(r"printf '\033]0;PWNED\007\033]52;c;SGFja2Vk\007'; exec sleep 600");
    let deadline = std::time::Instant::now() + tmux::WAIT;
    while t.display_in(&raw, "#{pane_title}") != "PWNED" || t.buffer().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "tmux ignored a raw OSC title or clipboard sequence: the checks above prove nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    assert_eq!(t.buffer().as_deref(), Some("Hacked"));
}
