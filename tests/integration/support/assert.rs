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

/// The first character in `text` that a terminal would act on or that hides what a text
/// holds: ESC and every other C0 control but the line feed, DEL, the C1 controls, bidi
/// overrides and isolates, and the invisible format characters (zero-width spaces and
/// joiners, direction marks, the byte-order mark, line and paragraph separators). Written
/// out here, apart from pkgdeck's own list, so that the tests check it.
pub fn first_unsafe_char(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|(_, c)| {
        let u = *c as u32;
        (u < 0x20 && *c != '\n')
            || (0x7f..=0x9f).contains(&u)
            || (0x200b..=0x200f).contains(&u)
            || (0x2028..=0x202e).contains(&u)
            || (0x2060..=0x2069).contains(&u)
            || u == 0xfeff
            || u == 0x061c
            || u == 0x00ad
            || (0xe0000..=0xe007f).contains(&u)
    })
}

/// Asserts that output meant for a terminal holds no character it would act on (see
/// [`first_unsafe_char`]) and is UTF-8; the failure says where and shows the bytes around.
#[track_caller]
pub fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => panic!("{what} is not UTF-8: {e}"),
    };
    if let Some((at, c)) = first_unsafe_char(text) {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(40)
            .map_or(0, |(i, _)| i);
        let to = text[at..]
            .char_indices()
            .nth(40)
            .map_or(text.len(), |(i, _)| at + i);
        panic!(
            "{what} holds U+{:04X} at byte {at}: {:?}",
            c as u32,
            &text[from..to]
        );
    }
}
