//! Assertions that say what was missing: a text that must contain several pieces, and a
//! value that must match a pattern. Each piece is still its own check.

/// Asserts that `text` contains every one of `needles`; the failure names the missing
/// needle and shows the whole text (a screen, an error sentence, an output).
#[track_caller]
pub fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} is missing from:\n{text}");
    }
}

/// Asserts that a value matches a pattern (with an optional `if` guard), showing the value
/// when it does not.
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match &$value {
            $pattern $(if $guard)? => {}
            other => panic!(
                "expected {}, got {other:?}",
                stringify!($pattern $(if $guard)?)
            ),
        }
    };
}
pub(crate) use assert_matches;
