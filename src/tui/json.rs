//! JSON as the detail screen shows it: the registry's own pretty form
//! (`JSON.stringify(value, null, 2)`), made printable, with keys, strings, numbers and
//! literals in their own colours.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::theme;
use crate::registry::canonical::JsValue;
use crate::registry::pretty::pretty;
use crate::untrusted::printable;

/// The value as coloured lines.
pub fn lines(value: &JsValue) -> Vec<Line<'static>> {
    pretty(value).lines().map(colour_line).collect()
}

/// Text that is not JSON (a corrupt row), made printable, uncoloured.
pub fn plain(text: &str) -> Vec<Line<'static>> {
    text.lines()
        .map(|l| Line::raw(printable(l).into_owned()))
        .collect()
}

/// Colours one line of pretty JSON. Pretty output holds at most one key and one scalar per
/// line, so a small scanner is enough; escapes inside strings are skipped so a `"` or `:`
/// in a value cannot confuse it.
fn colour_line(line: &str) -> Line<'static> {
    // printable() maps each control character to one placeholder and leaves quotes and
    // backslashes alone, so scanning its output is scanning the JSON.
    let text = printable(line);
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let style = match bytes[i] {
            b' ' => {
                while i < bytes.len() && bytes[i] == b' ' {
                    i += 1;
                }
                Style::new()
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                if bytes[i..].starts_with(b":") {
                    theme::JSON_KEY
                } else {
                    theme::JSON_STRING
                }
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' => {
                i += 1;
                theme::JSON_PUNCT
            }
            _ => {
                while i < bytes.len() && !b" ,:{}[]\"".contains(&bytes[i]) {
                    i += 1;
                }
                match &text[start..i] {
                    "true" | "false" | "null" => theme::JSON_LITERAL,
                    _ => theme::JSON_NUMBER,
                }
            }
        };
        spans.push(Span::styled(text[start..i].to_owned(), style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::canonical::parse;

    fn styled(line: &Line) -> Vec<(String, Style)> {
        line.spans
            .iter()
            .filter(|s| !s.content.trim().is_empty())
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    #[test]
    fn tokens_get_their_colours() {
        let v = parse(r#"{"a\":b":"x: \"y\"","n":-1.5e+21,"t":true,"z":null,"e":"\u001b[2J"}"#)
            .unwrap();
        let l = lines(&v);
        assert_eq!(
            styled(&l[1]),
            vec![
                (r#""a\":b""#.into(), theme::JSON_KEY),
                (":".into(), theme::JSON_PUNCT),
                (r#""x: \"y\"""#.into(), theme::JSON_STRING),
                (",".into(), theme::JSON_PUNCT),
            ]
        );
        assert_eq!(styled(&l[2])[2], ("-1.5e+21".into(), theme::JSON_NUMBER));
        assert_eq!(styled(&l[3])[2], ("true".into(), theme::JSON_LITERAL));
        assert_eq!(styled(&l[4])[2], ("null".into(), theme::JSON_LITERAL));
        let text: String = l
            .iter()
            .flat_map(|l| l.spans.iter())
            .map(|s| s.content.to_string())
            .collect();
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn raw_control_characters_become_placeholders() {
        // U+009B (CSI) is not escaped by JSON.stringify, so it reaches the pretty text raw.
        let v = JsValue::String("a\u{9b}2Jb".into());
        let l = lines(&v);
        assert_eq!(l[0].spans[0].content, "\"a�2Jb\"");
    }
}
