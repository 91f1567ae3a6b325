//! Text from a registry, a server or a file is untrusted: before it reaches a terminal,
//! control characters, escape sequences, bidi overrides and invisible format characters
//! become visible placeholders, so a package name cannot retitle the window, write the
//! clipboard, clear the screen, move the cursor or reorder what the operator reads.
//! [`printable`] is the one function that decides; [`printable_lines`] and [`cut`] are the
//! two ways output uses it (keeping real line breaks, and fitting a table cell), and
//! [`safe_cell`] applies the same rule to one drawn cell, for the console's last pass over
//! every frame.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// Replaces every character a terminal would act on or hide with a visible placeholder:
/// `␛` for ESC, the Unicode control pictures `␀`…`␟` for the rest of C0 (line breaks
/// included), `␡` for DEL, and `�` for C1 controls, bidi overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069) and the other invisible format characters (zero-width
/// spaces and joiners, direction marks, the byte-order mark, tags, …).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_placeholder) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(placeholder).collect())
}

/// [`printable`] line by line: real line breaks (`\n`) stay line breaks, everything else a
/// terminal would act on becomes a placeholder. For output that is meant to span lines (a
/// pretty JSON document); a `\r` stays visible as `␍`.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_placeholder(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if c == '\n' { c } else { placeholder(c) })
            .collect(),
    )
}

/// [`printable`] text cut to at most `width` terminal columns, the cut marked with `…`.
pub fn cut(text: &str, width: usize) -> Cow<'_, str> {
    let safe = printable(text);
    if unicode_width::UnicodeWidthStr::width(safe.as_ref()) <= width {
        return safe;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in safe.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Whether `c` may not reach a terminal as it is.
pub fn needs_placeholder(c: char) -> bool {
    c.is_control() || invisible_format(c)
}

/// Bidi controls and the other characters of Unicode's "format" category, which draw nothing
/// (or reorder what follows) and so hide what a text really holds.
fn invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{115F}'..='\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
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
    }

    #[test]
    fn bidi_and_invisible_format_characters_become_visible() {
        for c in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200B}',
            '\u{200E}',
            '\u{200F}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{00AD}',
            '\u{061C}',
            '\u{E0041}',
            '\u{85}',
            '\u{9d}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(printable(&text), "a�b", "U+{:04X}", c as u32);
        }
        // Visible characters that merely look unusual stay as they are.
        assert_eq!(printable("e\u{301} 😀 ｗｉｄｅ"), "e\u{301} 😀 ｗｉｄｅ");
    }

    #[test]
    fn cells_with_hidden_characters_get_one_placeholder() {
        assert_eq!(safe_cell("a"), None);
        assert_eq!(safe_cell("é"), None);
        assert_eq!(safe_cell("中"), None);
        assert_eq!(safe_cell("x\u{1b}"), Some('␛'));
        assert_eq!(safe_cell("\u{202e}"), Some('�'));
    }

    #[test]
    fn lines_keep_their_breaks_and_lose_everything_else() {
        assert_eq!(
            printable_lines("{\n  \"a\": \"\u{1b}]52;c;eA==\u{7}\"\r\n}"),
            "{\n  \"a\": \"␛]52;c;eA==␇\"␍\n}"
        );
        assert!(matches!(printable_lines("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_values_are_cut_with_a_mark() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("com.acme.pkg019319", 10), "com.acme.…");
        assert_eq!(cut("中文中文中文", 6), "中文…");
        assert_eq!(cut("\u{1b}[2J\u{1b}[2J", 4), "␛[2…");
        let long = "x".repeat(100_000);
        assert_eq!(
            unicode_width::UnicodeWidthStr::width(cut(&long, 80).as_ref()),
            80
        );
    }
}
