//! Differential test against Node.js itself: for thousands of generated JSON texts,
//! `canonicalize(text)` must be byte-identical to `JSON.stringify(JSON.parse(text))` as
//! computed by one `node` subprocess, and texts Node rejects must be rejected too.
//! Requires `node` on PATH: without it the test fails (it does not skip).

use pkgdeck::registry::canonical::{self, CanonicalError};
use std::fmt::Write as _;
use std::process::Command;

use pkgdeck_rng::Rng;

const WHITESPACE: &[&str] = &[" ", "\t", "\n", "\r\n", "  ", " \n\t ", "\r", "\n\n    "];

fn ws(rng: &mut Rng, out: &mut String) {
    if rng.chance(25) {
        out.push_str(rng.pick_str(WHITESPACE));
    }
}

fn digits(rng: &mut Rng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push((b'0' + rng.below(10) as u8) as char);
    }
}

fn nonzero_int(rng: &mut Rng, max_len: usize, out: &mut String) {
    out.push((b'1' + rng.below(9) as u8) as char);
    let n = rng.below(max_len as u64) as usize;
    digits(rng, n, out);
}

const SPECIAL_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "0.0",
    "0e0",
    "0E-0",
    "-0e+00",
    "0.0e+00",
    "1",
    "-1",
    "1.0",
    "1.50",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "-1.7976931348623157E+308",
    "2.2250738585072014e-308",
    "2.2250738585072011e-308",
    "1e-320",
    "-1e-320",
    "4.9e-324",
    "5e-324",
    "2.4703282292062328e-324",
    "2.4703282292062327e-324",
    "1e-400",
    "-1e-400",
    "0.000001",
    "0.0000001",
    "0.0000015",
    "-0.000001",
    "1e-6",
    "1e-7",
    "1.5e-7",
    "1e20",
    "1e21",
    "-1e21",
    "1E+20",
    "1E+21",
    "100000000000000000000",
    "1000000000000000000000",
    "999999999999999999999",
    "123456789012345678901",
    "99999999999999999999",
    "0.1",
    "0.2",
    "0.30000000000000004",
    "9007199254740991",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "1e15",
    "1e16",
    "999999999999999",
    "1000000000000000",
    "123456789012345.6",
    "1234567890123456.7",
    "12345678901234567890123456789012345678901234567890",
    "0.1000000000000000055511151231257827021181583404541015625",
    "1e007",
    "1E-007",
    "123.456e-2",
    "2.5e-7",
    "5e-7",
    "1.2345678901234567e-5",
    "3.14159265358979323846264338327950288",
];

fn number(rng: &mut Rng, out: &mut String) {
    match rng.below(6) {
        0 => {
            let _ = write!(out, "{}", rng.range(-1000, 1000));
        }
        1 => {
            // Long integers, often past 2^53 and past 17 significant digits.
            if rng.chance(40) {
                out.push('-');
            }
            nonzero_int(rng, 40, out);
        }
        2 => {
            if rng.chance(40) {
                out.push('-');
            }
            if rng.chance(40) {
                out.push('0');
            } else {
                nonzero_int(rng, 5, out);
            }
            out.push('.');
            let n = 1 + rng.below(25) as usize;
            digits(rng, n, out);
        }
        3 | 4 => {
            // Exponent forms; the mantissa stays below 1000 and the exponent at most
            // 305, so nothing overflows.
            if rng.chance(40) {
                out.push('-');
            }
            if rng.chance(30) {
                out.push('0');
            } else {
                nonzero_int(rng, 3, out);
            }
            if rng.chance(50) {
                out.push('.');
                let n = 1 + rng.below(20) as usize;
                digits(rng, n, out);
            }
            out.push(if rng.chance(50) { 'e' } else { 'E' });
            let exp = rng.range(-340, 305);
            if exp < 0 {
                out.push('-');
            } else if rng.chance(50) {
                out.push('+');
            }
            if rng.chance(10) {
                out.push('0');
            }
            let _ = write!(out, "{}", exp.abs());
        }
        _ => out.push_str(rng.pick_str(SPECIAL_NUMBERS)),
    }
}

const RAW_CHARS: &[char] = &[
    'é',
    '中',
    'ß',
    '\u{7f}',
    '\u{80}',
    '\u{a0}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    '😀',
    '𝄞',
    '\u{10ffff}',
    '\u{10000}',
    '/',
    '\'',
    ' ',
];

const SIMPLE_ESCAPES: &[&str] = &["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"];

fn hex4(rng: &mut Rng, v: u32, out: &mut String) {
    let s = format!("{v:04x}");
    for c in s.chars() {
        out.push(if rng.chance(50) {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
}

/// The contents of a string literal (without the quotes).
fn string_body(rng: &mut Rng, out: &mut String) {
    let pieces = rng.below(10);
    for _ in 0..pieces {
        match rng.below(9) {
            0 | 1 => {
                // Printable ASCII except '"' and '\'.
                let c = loop {
                    let c = (0x20 + rng.below(0x5f)) as u8 as char;
                    if c != '"' && c != '\\' {
                        break c;
                    }
                };
                out.push(c);
            }
            2 => out.push_str(rng.pick_str(SIMPLE_ESCAPES)),
            3 => {
                out.push_str("\\u");
                let v = rng.below(0x20) as u32;
                hex4(rng, v, out);
            }
            4 => {
                // Any BMP code point that is not a surrogate, as an escape.
                let v = loop {
                    let v = rng.below(0x10000) as u32;
                    if !(0xD800..0xE000).contains(&v) {
                        break v;
                    }
                };
                out.push_str("\\u");
                hex4(rng, v, out);
            }
            5 => {
                // An astral character as a surrogate-pair escape.
                let cp = 0x10000 + rng.below(0x100000) as u32;
                let hi = 0xD800 + ((cp - 0x10000) >> 10);
                let lo = 0xDC00 + ((cp - 0x10000) & 0x3ff);
                out.push_str("\\u");
                hex4(rng, hi, out);
                out.push_str("\\u");
                hex4(rng, lo, out);
            }
            6 => out.push(*rng.pick(RAW_CHARS)),
            7 => {
                // A random raw character from anywhere in Unicode.
                let c = loop {
                    let v = match rng.below(3) {
                        0 => 0x80 + rng.below(0x800 - 0x80),
                        1 => 0x800 + rng.below(0x10000 - 0x800),
                        _ => 0x10000 + rng.below(0x100000),
                    } as u32;
                    if let Some(c) = char::from_u32(v) {
                        break c;
                    }
                };
                out.push(c);
            }
            _ => out.push_str(rng.pick_str(&["abc", "name", "x y", "0", "1"])),
        }
    }
}

fn string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    string_body(rng, out);
    out.push('"');
}

const KEYS: &[&str] = &[
    "0",
    "7",
    "10",
    "2",
    "4294967294",
    "4294967295",
    "4294967296",
    "01",
    "00",
    "-1",
    "1.5",
    "1e3",
    " 1",
    "+1",
    "a",
    "b",
    "name",
    "id",
    "__proto__",
    "constructor",
    "length",
    "",
    "\\u0031",
    "\\u0030",
    "1\\u0030",
    "é",
    "😀",
];

fn key(rng: &mut Rng, previous: &[String], out: &mut String) -> String {
    let k = if !previous.is_empty() && rng.chance(15) {
        rng.pick(previous).clone()
    } else if rng.chance(60) {
        rng.pick_str(KEYS).to_owned()
    } else {
        let mut s = String::new();
        string_body(rng, &mut s);
        s
    };
    out.push('"');
    out.push_str(&k);
    out.push('"');
    k
}

fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let kind = if depth >= 6 {
        5 + rng.below(5)
    } else {
        rng.below(10)
    };
    match kind {
        0..=2 => {
            out.push('{');
            ws(rng, out);
            let n = rng.below(7);
            let mut keys = Vec::new();
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                    ws(rng, out);
                }
                keys.push(key(rng, &keys, out));
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                value(rng, depth + 1, out);
                ws(rng, out);
            }
            out.push('}');
        }
        3 | 4 => {
            out.push('[');
            ws(rng, out);
            let n = rng.below(6);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                    ws(rng, out);
                }
                value(rng, depth + 1, out);
                ws(rng, out);
            }
            out.push(']');
        }
        5 | 6 => string(rng, out),
        7 | 8 => number(rng, out),
        _ => out.push_str(rng.pick_str(&["true", "false", "null"])),
    }
}

fn document(rng: &mut Rng) -> String {
    let mut out = String::new();
    ws(rng, &mut out);
    if rng.chance(80) {
        // A container at the top, like publish documents.
        let mut inner = Rng::new(rng.next());
        loop {
            let mut candidate = String::new();
            value(&mut inner, 0, &mut candidate);
            if candidate.starts_with('{') || candidate.starts_with('[') {
                out.push_str(&candidate);
                break;
            }
        }
    } else {
        value(rng, 0, &mut out);
    }
    ws(rng, &mut out);
    out
}

const MUTATION_CHARS: &[&str] = &[
    ",", "]", "}", "{", "[", ":", "\"", "\\", "0", "1", "-", "+", ".", "e", "E", " ", "\t", "\n",
    "\u{feff}", "\u{a0}", "\u{1}", "\u{1f}", "x", "/", "'", "u", "\\u", "\\ud800", "\\udc00", "n",
    "t", "9", "e999", "NaN",
];

/// A small random edit that usually breaks the text, sometimes not.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = *rng.pick(&boundaries);
    let next = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..at]);
    match rng.below(4) {
        0 => {}                                          // delete one character
        1 => out.push_str(rng.pick_str(MUTATION_CHARS)), // replace it
        2 => {
            out.push_str(rng.pick_str(MUTATION_CHARS)); // insert before it
            out.push_str(&text[at..next]);
        }
        _ => {
            out.push_str(&text[at..next]); // double it
            out.push_str(&text[at..next]);
        }
    }
    out.push_str(&text[next..]);
    out
}

/// Texts that must be refused; Node either rejects them too, or (overflow, lone
/// surrogates) accepts them only by changing them or by keeping something a Rust
/// string cannot hold.
const REFUSALS: &[&str] = &[
    "1e400",
    "-1e400",
    "[1e400]",
    "{\"a\":-1e99999}",
    "1.7976931348623159e308",
    "123456789e301",
    "\"\\ud800\"",
    "\"\\uDC00\"",
    "\"\\ud800\\u0041\"",
    "\"\\ud800\\ud800\"",
    "\"x\\udbff\"",
    "01",
    "-01",
    "00",
    "[1,]",
    "{\"a\":1,}",
    "+1",
    ".5",
    "1.",
    "1.e3",
    "1e",
    "1e+",
    "-",
    "0x10",
    "1_000",
    "NaN",
    "Infinity",
    "-Infinity",
    "\u{feff}{}",
    "\u{feff}1",
    "{'a':1}",
    "['a']",
    "{a:1}",
    "[1] x",
    "1 2",
    "\"\t\"",
    "\"\n\"",
    "\"\u{0}\"",
    "\u{a0}1",
    "\u{c}1",
    "\u{b}1",
    "\u{2028}1",
    "1\u{2029}",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12G4\"",
    "\"\\U0041\"",
    "\"\\'\"",
    "",
    " ",
    "[",
    "]",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    "[1,,2]",
    "[,1]",
    "tru",
    "True",
    "nul",
    "nulll",
    "//c\n1",
    "/*c*/1",
    "\"abc",
    "[\"a\" \"b\"]",
];

struct NodeResult {
    /// `Some(JSON.stringify(JSON.parse(text)))`, or `None` when JSON.parse threw.
    output: Option<String>,
}

/// Runs ONE node process over all texts.
fn run_node(texts: &[String]) -> Vec<NodeResult> {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("inputs.jsonl");
    let output = dir.path().join("outputs.jsonl");
    let mut lines = String::new();
    for t in texts {
        lines.push_str(&serde_json::to_string(t).expect("encode input"));
        lines.push('\n');
    }
    std::fs::write(&input, lines).expect("write inputs");
    let script = r#"
const fs = require('fs');
const lines = fs.readFileSync(process.argv[1], 'utf8').split('\n');
const out = [];
for (const line of lines) {
  if (line === '') continue;
  const text = JSON.parse(line);
  let result = null;
  try { result = JSON.stringify(JSON.parse(text)); } catch (e) { result = null; }
  out.push(JSON.stringify(result));
}
fs.writeFileSync(process.argv[2], out.join('\n') + '\n');
"#;
    let run = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&input)
        .arg(&output)
        .output();
    let run = match run {
        Ok(run) => run,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`node` is not on PATH: this differential test compares canonicalize() with \
             Node.js's own JSON.stringify(JSON.parse(text)) and cannot run without it; \
             install Node.js (https://nodejs.org) and rerun"
        ),
        Err(e) => panic!("cannot start `node`: {e}"),
    };
    assert!(
        run.status.success(),
        "node failed ({}):\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let results = std::fs::read_to_string(&output).expect("read node outputs");
    let results: Vec<NodeResult> = results
        .lines()
        .map(|l| NodeResult {
            output: serde_json::from_str::<Option<String>>(l)
                .unwrap_or_else(|e| panic!("bad node output line {l:?}: {e}")),
        })
        .collect();
    assert_eq!(
        results.len(),
        texts.len(),
        "node returned a different count of results"
    );
    results
}

/// Whether a number literal from an error message overflows an f64 (long literals
/// are shortened with "..." in messages and cannot be rechecked here).
fn overflows(literal: &str) -> bool {
    literal.ends_with("...") || literal.parse::<f64>().is_ok_and(f64::is_infinite)
}

fn is_surrogate_escape(escape: &str) -> bool {
    escape.len() == 6
        && escape.starts_with("\\u")
        && u32::from_str_radix(&escape[2..], 16).is_ok_and(|u| (0xD800..0xE000).contains(&u))
}

/// Fails with the first 30 differences from Node.js, if there are any.
fn assert_agrees_with_node(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} differences from Node.js:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn show(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// What Node made of a text: its output, or that `JSON.parse` threw.
fn show_node(output: Option<&str>) -> String {
    output.map_or("(JSON.parse throws)".to_owned(), show)
}

#[test]
fn canonicalize_matches_node_json_stringify() {
    let mut valid = Vec::new();
    for seed in 1..=4u64 {
        let mut rng = Rng::new(seed.wrapping_mul(0x1234_5678_9ABC_DEF1));
        for _ in 0..1000 {
            valid.push(document(&mut rng));
        }
    }
    // Mutated copies of small documents: the grammar must accept and reject exactly
    // what JSON.parse does.
    let mut rng = Rng::new(0xC0FFEE);
    let small: Vec<&String> = valid.iter().filter(|t| t.len() < 400).collect();
    let mut mutated = Vec::new();
    for i in 0..2500 {
        let base = small[i % small.len()];
        let mut m = mutate(&mut rng, base);
        if rng.chance(30) {
            m = mutate(&mut rng, &m);
        }
        mutated.push(m);
    }
    let refusals: Vec<String> = REFUSALS.iter().map(|s| (*s).to_owned()).collect();

    let all: Vec<String> = valid
        .iter()
        .chain(&mutated)
        .chain(&refusals)
        .cloned()
        .collect();
    let node = run_node(&all);
    let (node_valid, rest) = node.split_at(valid.len());
    let (node_mutated, node_refusals) = rest.split_at(mutated.len());

    let mut failures = Vec::new();

    // 1. Generated valid texts: byte-identical output.
    let mut changed = 0;
    for (text, n) in valid.iter().zip(node_valid) {
        let Some(expected) = &n.output else {
            failures.push(format!(
                "generator bug: node rejected a generated text\n  input: {}",
                show(text)
            ));
            continue;
        };
        match canonical::canonicalize(text) {
            Ok(ours) if &ours == expected => {}
            Ok(ours) => failures.push(format!(
                "output differs\n  input: {}\n  node:  {}\n  ours:  {}",
                show(text),
                show(expected),
                show(&ours)
            )),
            Err(e) => failures.push(format!(
                "refused a text node accepts\n  input: {}\n  node:  {}\n  ours:  {e}",
                show(text),
                show(expected)
            )),
        }
        // The tree path (parse, then stringify) gives the same text.
        match canonical::parse(text).map(|v| canonical::stringify(&v)) {
            Ok(ours) if &ours == expected => {}
            other => failures.push(format!(
                "parse+stringify differs\n  input: {}\n  node:  {}\n  ours:  {:?}",
                show(text),
                show(expected),
                other
            )),
        }
        if expected != text {
            changed += 1;
        }
        // is_canonical agrees, and the output is a fixed point.
        if canonical::is_canonical(text) != Ok(expected == text) {
            failures.push(format!("is_canonical wrong for {}", show(text)));
        }
        if canonical::is_canonical(expected) != Ok(true) {
            failures.push(format!(
                "node's output not canonical for us: {}",
                show(expected)
            ));
        }
    }

    // 2. Mutated texts: same acceptance, same output.
    let (mut accepted, mut rejected) = (0, 0);
    for (text, n) in mutated.iter().zip(node_mutated) {
        let ours = canonical::canonicalize(text);
        assert_eq!(
            ours,
            canonical::parse(text).map(|v| canonical::stringify(&v)),
            "canonicalize and parse+stringify disagree on {}",
            show(text)
        );
        match (&n.output, &ours) {
            (Some(expected), Ok(ours)) if expected == ours => accepted += 1,
            // Node throws: any refusal will do. A text with a lone surrogate or an
            // overflowing number before its syntax error is refused for the first
            // problem in text order, while Node reports the syntax error.
            (None, Err(_)) => rejected += 1,
            // Node accepts by changing the number to null (or by dropping it for a
            // later duplicate key): refused, as long as the literal truly overflows.
            (Some(_), Err(CanonicalError::NumberOverflow { literal, .. }))
                if overflows(literal) =>
            {
                rejected += 1
            }
            // Node keeps an unpaired UTF-16 unit, which a Rust string cannot hold.
            (Some(_), Err(CanonicalError::LoneSurrogate { escape, .. }))
                if is_surrogate_escape(escape) =>
            {
                rejected += 1
            }
            (node_out, ours) => failures.push(format!(
                "mutated text handled differently\n  input: {}\n  node:  {}\n  ours:  {}",
                show(text),
                show_node(node_out.as_deref()),
                match ours {
                    Ok(o) => show(o),
                    Err(e) => e.to_string(),
                }
            )),
        }
    }

    // 3. Refusals: we refuse, and Node shows why.
    for (text, n) in refusals.iter().zip(node_refusals) {
        let why = match (canonical::canonicalize(text), &n.output) {
            (Ok(ours), _) => Some(format!("accepted as {}", show(&ours))),
            (Err(CanonicalError::Syntax { .. }), None) => None,
            (Err(CanonicalError::NumberOverflow { .. }), Some(out)) if out.contains("null") => None,
            (Err(CanonicalError::LoneSurrogate { escape, .. }), Some(out))
                if out.contains(&escape.to_ascii_lowercase()) =>
            {
                None
            }
            (Err(e), node_out) => Some(format!(
                "refused ({e}) but node gives {}",
                show_node(node_out.as_deref())
            )),
        };
        if let Some(why) = why {
            failures.push(format!("refusal case {}: {why}", show(text)));
        }
    }

    eprintln!(
        "{} generated texts ({changed} changed by canonicalization), {} mutated ({accepted} accepted, {rejected} refused), {} refusal cases",
        valid.len(),
        mutated.len(),
        refusals.len()
    );
    assert_agrees_with_node(&failures);
    assert!(
        changed > valid.len() / 2,
        "generator too tame: {changed} changed"
    );
    assert!(
        accepted > 100 && rejected > 1000,
        "mutations too tame: {accepted}/{rejected}"
    );
}

/// Stored texts (verify only): Node's well-formed JSON.stringify writes an unpaired
/// surrogate as a lowercase `\udxxx` escape, so the service can store one. For generated
/// documents with lone surrogate escapes inserted, `parse_stored` / `is_canonical_stored`
/// accept exactly what Node accepts, call a text canonical exactly when Node writes it back
/// unchanged, and call Node's own output canonical; publish (`canonicalize`) still refuses.
#[test]
fn stored_lone_surrogates_match_node_json_stringify() {
    const LONE: &[&str] = &[
        "\\ud800", "\\uD800", "\\udbff", "\\uDBFF", "\\udc00", "\\uDc00", "\\udfff", "\\udead",
        "\\uDEAD",
    ];
    let mut texts: Vec<String> = [
        r#"{"a":"\ud800"}"#,
        r#"{"id":"lone","version":"1.0.0","type":"app","name":"x\ud800y"}"#,
        r#""\uD800""#,
        r#""\ud83d\ude00""#,
        r#""\ud800\ud83d\ude00""#,
        r#""\udc00\ud800""#,
        r#"{"\ud800":1,"\uD800":2,"0":3}"#,
        r#"{ "a" : "\udfff" }"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut rng = Rng::new(0x5EED_D800);
    while texts.len() < 1500 {
        let base = document(&mut rng);
        let quotes: Vec<usize> = base.match_indices('"').map(|(i, _)| i).collect();
        if quotes.is_empty() {
            continue;
        }
        let mut text = base.clone();
        // Insert one to three lone escapes after (or before) quotes, back to front.
        let mut at: Vec<usize> = (0..1 + rng.below(3))
            .map(|_| {
                let q = *rng.pick(&quotes);
                if rng.chance(50) {
                    q + 1
                } else {
                    q
                }
            })
            .collect();
        at.sort_unstable();
        for &i in at.iter().rev() {
            text.insert_str(i, rng.pick_str(LONE));
        }
        texts.push(text);
    }
    let node = run_node(&texts);
    let mut failures = Vec::new();
    let (mut canonical_lone, mut accepted, mut rejected) = (0, 0, 0);
    for (text, n) in texts.iter().zip(&node) {
        let stored = canonical::is_canonical_stored(text);
        let tree = canonical::parse_stored(text);
        assert_eq!(
            stored.as_ref().err(),
            tree.as_ref().err(),
            "parse_stored and is_canonical_stored disagree on {}",
            show(text)
        );
        match (&n.output, &stored) {
            (Some(expected), Ok(c)) if *c == (expected == text) => {
                accepted += 1;
                if canonical::is_canonical_stored(expected) != Ok(true) {
                    failures.push(format!("node's output not canonical: {}", show(expected)));
                }
                let has_lone = expected.contains("\\ud") || expected.contains("\\uD");
                if has_lone {
                    if expected == text {
                        canonical_lone += 1;
                    }
                    // Publish stays strict.
                    if !matches!(
                        canonical::canonicalize(expected),
                        Err(CanonicalError::LoneSurrogate { .. })
                    ) {
                        failures.push(format!("publish accepts {}", show(expected)));
                    }
                }
            }
            (None, Err(_)) => rejected += 1,
            (Some(_), Err(CanonicalError::NumberOverflow { literal, .. }))
                if overflows(literal) =>
            {
                rejected += 1
            }
            (node_out, ours) => failures.push(format!(
                "stored text handled differently\n  input: {}\n  node:  {}\n  ours:  {:?}",
                show(text),
                show_node(node_out.as_deref()),
                ours
            )),
        }
    }
    eprintln!(
        "{} stored texts: {accepted} accepted ({canonical_lone} canonical with a lone surrogate), {rejected} refused",
        texts.len()
    );
    assert_agrees_with_node(&failures);
    assert!(
        accepted > 300 && rejected > 100 && canonical_lone >= 2,
        "cases too tame: {accepted}/{rejected}/{canonical_lone}"
    );
}
