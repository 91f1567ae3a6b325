//! Text from a registry is untrusted: before it reaches a terminal, control characters and
//! escape sequences become visible placeholders, so a package name cannot retitle the window,
//! clear the screen or move the cursor.

use std::borrow::Cow;

/// Replaces every control character (C0, DEL, C1) with a visible placeholder: `␛` for ESC,
/// the Unicode control pictures `␀`…`␟` for the rest of C0, `␡` for DEL, `�` for C1 and for
/// bidi overrides that would reorder the line.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_placeholder) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(placeholder).collect())
}

fn needs_placeholder(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn placeholder(c: char) -> char {
    match c {
        '\u{1b}' => '␛',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('�'),
        '\u{7f}' => '␡',
        c if needs_placeholder(c) => '�',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        assert_eq!(printable("plain ✓ 中文"), "plain ✓ 中文");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("\u{1b}]0;pwned\u{7}x"), "␛]0;pwned␇x");
        assert_eq!(printable("a\u{1b}[2Jb\r\n"), "a␛[2Jb␍␊");
        assert_eq!(printable("\u{9b}31m\u{7f}"), "�31m␡");
        assert_eq!(printable("\u{202e}abc"), "�abc");
    }
}
