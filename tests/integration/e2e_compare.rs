//! The Compare screen in the real binary in tmux: a saved connection to a second registry
//! file, its states, a copy across confirmed in the dialog (the destination file then holds
//! the row byte for byte), and a diff of a version that differs.

use crate::support::scratch::Scratch;
use crate::support::tmux::Tmux;
use crate::tui_compare::{second_registry, texts, DIFFERS, ONLY_A};

#[test]
fn compare_copies_a_version_across_and_diffs_one_that_differs() {
    let scratch = Scratch::new();
    let b = second_registry(&scratch);
    let t = Tmux::console(&scratch);
    t.wait_for("9 packages");
    t.keys(&["c"]);
    t.wait_for("= compare");
    t.keys(&["Down", "="]);
    let screen = t.wait_for("1 differ, 1 only A, 0 only B, 10 same");
    let selected = screen.lines().find(|l| l.contains('▶')).unwrap_or_default();
    assert!(
        selected.contains(DIFFERS.0) && selected.contains("differs"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains(" order ") && l.contains("only_a")),
        "{screen}"
    );

    // `=` on the row that differs: A's row against B's.
    t.keys(&["="]);
    t.wait_for("changed_in_b");
    t.keys(&["Escape"]);
    t.wait_for("C copy across");

    // `C` on the row only in A: the review, confirmed, writes it into B exactly.
    t.type_text("/order");
    t.keys(&["Enter"]);
    t.wait_for("filter: order");
    t.keys(&["C"]);
    let dialog = t.wait_for("Copy order 1.0.0 to B");
    if dialog.contains("Type the package id") {
        t.type_text("order");
        t.keys(&["Enter"]);
    } else {
        t.keys(&["y"]);
    }
    t.wait_for("copied order 1.0.0");
    let screen = t.wait_until("order shown as the same", |s| {
        s.lines()
            .any(|l| l.contains(" order ") && l.contains("same"))
    });
    assert!(
        screen.contains("1 differ, 0 only A, 0 only B, 11 same"),
        "{screen}"
    );
    let copied = texts(&b, ONLY_A.0, ONLY_A.1);
    assert!(copied.is_some(), "b.db holds order 1.0.0 now");
    assert_eq!(
        copied,
        texts(&scratch.db, ONLY_A.0, ONLY_A.1),
        "the same manifest, metadata and hash"
    );
    t.keys(&["q"]);
    t.wait_exit();
}
