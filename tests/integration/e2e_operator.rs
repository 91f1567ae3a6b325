//! What an operator who lives in the console all day relies on, with the real binary in a
//! real terminal (tmux): nothing but the renderer writes to the screen, the clipboard, the
//! external editor, the mouse, changes made by other processes, production and read-only
//! connections, and an unreachable target. tmux is required: without it these fail.

use crate::support::assert::assert_contains;
use crate::support::scratch::Scratch;
use crate::support::tmux::Tmux;

/// Publishes the hotfix of com.acme.helpdesk 1.1.1 (→ 1.1.2) through the editor and the
/// review, and waits for the read-back.
fn publish_helpdesk_hotfix(t: &Tmux) {
    t.open_helpdesk_versions();
    t.keys(&["h"]);
    t.wait_for("✓ valid");
    t.keys(&["C-s"]);
    t.wait_for("Review: com.acme.helpdesk 1.1.2");
    t.keys(&["y"]);
    t.wait_for("read back and verified: ok");
}

#[test]
fn a_failed_audit_write_goes_to_the_footer_not_across_the_screen() {
    let scratch = Scratch::new();
    // A directory where the audit log should be: appending to it fails after the publish.
    std::fs::create_dir_all(scratch.dirs().audit_log()).expect("block the audit log");
    let t = Tmux::console(&scratch);
    publish_helpdesk_hotfix(&t);
    let screen = t.wait_for("could not append to the audit log");
    let lines: Vec<&str> = screen.lines().collect();
    let at: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("audit log"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at,
        [lines.len() - 1],
        "the warning is on the footer's message line only:\n{screen}"
    );
    assert!(
        lines[0].contains("pkgdeck"),
        "the header is intact:\n{screen}"
    );
    assert_contains(&screen, &["published com.acme.helpdesk 1.1.2"]);
    t.keys(&["Enter", "q"]);
    assert_eq!(t.wait_exit(), "EXIT=0");
}
