//! Text from a registry is untrusted: before it reaches a terminal, control characters and
//! escape sequences become visible placeholders, so a package name cannot retitle the window,
//! clear the screen, move the cursor, write the clipboard or reorder the line.
//!
//! [`printable`] is the one function that makes text safe; [`safe_cell`] applies the same
//! rule to one drawn cell, for the console's last pass over every frame.

use std::borrow::Cow;

/// Replaces every control character (C0, DEL, C1) with a visible placeholder: `␛` for ESC,
/// the Unicode control pictures `␀`…`␟` for the rest of C0, `␡` for DEL, `�` for C1, for
/// bidi controls that would reorder the line and for the other invisible format characters
/// (zero-width spaces and joiners, line and paragraph separators, the byte-order mark,
/// invisible operators, tags).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_placeholder) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(placeholder).collect())
}

/// Whether `c` may not reach a terminal as it is.
pub fn needs_placeholder(c: char) -> bool {
    c.is_control() || invisible_format(c)
}

/// Bidi controls and the other format characters a terminal draws as nothing.
fn invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                       // soft hyphen
        | '\u{061C}'                     // Arabic letter mark
        | '\u{180E}'                     // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'        // zero-width space, joiners, LRM, RLM
        | '\u{2028}'..='\u{2029}'        // line and paragraph separators
        | '\u{202A}'..='\u{202E}'        // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'        // word joiner, invisible operators
        | '\u{2066}'..='\u{206F}'        // bidi isolates, deprecated format controls
        | '\u{FEFF}'                     // byte-order mark
        | '\u{FFF9}'..='\u{FFFB}'        // interlinear annotations
        | '\u{E0000}'..='\u{E007F}'      // tags
    )
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

/// The placeholder a drawn cell must show instead of its symbol, when the symbol holds a
/// character that may not reach the terminal (a widget that drew text without
/// [`printable`] appends a zero-width ESC to the cell before it). One column, like the cell.
pub fn safe_cell(symbol: &str) -> Option<char> {
    symbol
        .chars()
        .find(|&c| needs_placeholder(c))
        .map(placeholder)
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
        assert_eq!(printable("a\u{200b}b\u{2066}c\u{feff}"), "a�b�c�");
        assert_eq!(printable("x\u{e0041}"), "x�");
    }

    #[test]
    fn cells_with_hidden_characters_get_one_placeholder() {
        assert_eq!(safe_cell("a"), None);
        assert_eq!(safe_cell("é"), None);
        assert_eq!(safe_cell("中"), None);
        assert_eq!(safe_cell("x\u{1b}"), Some('␛'));
        assert_eq!(safe_cell("\u{202e}"), Some('�'));
    }
}
