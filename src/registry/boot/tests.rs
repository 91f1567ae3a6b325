//! The boot replay's unit tests: every rule, the range forms, and JSON.parse's edges.

use super::json::*;
use super::protocol::*;
use super::*;
use crate::registry::canonical;

/// Rows `(row_id, row_version, manifest)` with `{}` metadata, in list order.
fn rows<'a>(specs: &'a [(&'a str, &'a str, &'a str)]) -> Vec<ListRow<'a>> {
    specs
        .iter()
        .map(|(id, version, manifest)| ListRow {
            row_id: id,
            row_version: version,
            manifest: Some(manifest),
            metadata: Some("{}"),
        })
        .collect()
}

fn boot(specs: &[(&str, &str, &str)]) -> BootReport {
    replay(&rows(specs), &[], RUNTIME_PROTOCOL)
}

fn loads(report: &BootReport) -> Vec<(String, String)> {
    report
        .loads
        .iter()
        .map(|l| (l.id.to_string(), l.version.to_string()))
        .collect()
}

fn outcomes(report: &BootReport) -> Vec<(Outcome, Rule)> {
    report.steps.iter().map(|s| (s.outcome, s.rule)).collect()
}

/// Every range form, with the verdict the real `checkProtocolCompat` of
/// @objectstack/metadata-core 17.4.0 gave for runtime protocol 17.0.0 (`None`: it cannot
/// read the range).
#[test]
fn range_forms_match_the_real_check() {
    let table: &[(&str, Option<bool>)] = &[
        ("^17", Some(true)),
        ("^17.2.1", Some(true)),
        ("^16", Some(false)),
        ("^18", Some(false)),
        ("^v17", Some(true)),
        ("^ v17", Some(true)),
        ("^v 17", None),
        ("~17", Some(true)),
        ("~17.4", Some(true)),
        ("~16.9", Some(false)),
        ("~>17", None),
        ("17.x", Some(true)),
        ("17.X", Some(true)),
        ("17.*", Some(true)),
        ("16.x", Some(false)),
        ("17.x.9", Some(true)),
        ("17.*.junk", Some(true)),
        ("*", Some(true)),
        ("x", Some(true)),
        ("latest", Some(true)),
        ("X", None),
        ("Latest", None),
        ("17", Some(true)),
        ("17.1", Some(true)),
        ("17.1.2", Some(true)),
        ("17.1.2.3", None),
        ("16", Some(false)),
        ("v17", None),
        ("=17", None),
        ("17.0.0-beta", None),
        ("017", Some(true)),
        (">=17", Some(true)),
        (">=18", Some(false)),
        (">= 17", Some(true)),
        (">=v17", Some(true)),
        (">17", Some(false)),
        (">16", Some(true)),
        (">17.0", Some(true)),
        (">17.0.1", Some(true)),
        ("<18", Some(true)),
        ("<17", Some(false)),
        ("<17.0.1", Some(true)),
        ("<17.1", Some(true)),
        ("<18.0.0", Some(true)),
        ("<=17", Some(true)),
        ("<=16", Some(false)),
        (">=16 <18", Some(true)),
        (">=16, <18", Some(true)),
        (">=16,<18", Some(true)),
        (">=17 <17", Some(false)),
        (">=18 <19", Some(false)),
        (">=16 <18 || >=19", None),
        (">=16 <=17.5 >17.0", Some(true)),
        (">=16 <x", None),
        ("16 - 18", Some(true)),
        ("17 - 17", Some(true)),
        ("18 - 19", Some(false)),
        ("v16 - v18", Some(true)),
        ("16 - 18 - 20", None),
        ("16 -18", None),
        ("16- 18", None),
        (">=16 - 18", None),
        ("^16 || ^17", Some(false)),
        ("^17 || ^16", Some(true)),
        ("<15,<=17.x", None),
        (">=18 <17.x", None),
        ("17.x || 18.x", Some(true)),
        ("16.x || 17.x", Some(false)),
        ("banana", None),
        ("\u{a0}17\u{a0}", Some(true)),
        ("\u{3000}17", Some(true)),
        ("\u{feff}^17", Some(true)),
        ("\u{85}^17", None),
        ("\u{180e}^17", None),
        ("17\u{2028}", Some(true)),
        ("^17\u{200b}", Some(true)),
        ("99999999999999999999", Some(false)),
        ("^99999999999999999999", Some(false)),
        (">=0", Some(true)),
        ("<0", Some(false)),
        ("<=0", Some(false)),
        (">0", Some(true)),
        ("> 17", Some(false)),
        ("< 18", Some(true)),
        (">=", None),
        ("<", None),
        ("<>17", None),
        ("><17", None),
        (">==17", None),
        ("^", None),
        ("~", None),
        ("-", None),
        ("17 -", None),
        ("- 17", None),
        ("17\t-\t18", Some(true)),
        ("16 \u{a0}-\u{a0}18", Some(true)),
        ("17,", None),
        (",17", None),
        (">=16,", None),
        ("x.x", None),
        ("17.", None),
        ("17.0.", None),
        ("17..0", None),
        ("0.17", Some(false)),
        ("^0", Some(false)),
        ("^17-beta", Some(true)),
        ("~v17", Some(true)),
        ("V17", None),
        ("^V17", Some(true)),
        (">V17", Some(false)),
        ("17.x.x", Some(true)),
    ];
    for (range, expected) in table {
        assert_eq!(
            range_admits_major(range, 17.0),
            *expected,
            "range {range:?}"
        );
    }
}

#[test]
fn range_length_is_counted_in_utf16_units_after_trimming() {
    let at_limit = format!("^{}", "1".repeat(127));
    assert_eq!(range_admits_major(&at_limit, 17.0), Some(false));
    let over = format!("^{}", "1".repeat(128));
    assert_eq!(range_admits_major(&over, 17.0), None);
    // 64 characters outside the BMP are 128 UTF-16 units.
    let astral = format!("^17{}", "\u{1F600}".repeat(63));
    assert_eq!(range_admits_major(&astral, 17.0), None);
    let padded = format!("   ^17{}", " ".repeat(200));
    assert_eq!(range_admits_major(&padded, 17.0), Some(true));
}

#[test]
fn runtime_major_comes_from_the_runtime_version() {
    let manifest = canonical::parse(r#"{"id":"p","engines":{"protocol":"^18"}}"#).unwrap();
    assert!(matches!(
        check_protocol_compat(&manifest, "18.2.0"),
        Ok(Compat::Ok { .. })
    ));
    assert!(matches!(
        check_protocol_compat(&manifest, RUNTIME_PROTOCOL),
        Ok(Compat::Incompatible { .. })
    ));
    // No leading major: the runtime counts as protocol 0.
    let zero = canonical::parse(r#"{"id":"p","engines":{"protocol":"^0"}}"#).unwrap();
    assert!(matches!(
        check_protocol_compat(&zero, "banana"),
        Ok(Compat::Ok { .. })
    ));
    let one = canonical::parse(r#"{"id":"p","engines":{"protocol":"^1"}}"#).unwrap();
    assert!(matches!(
        check_protocol_compat(&one, "v1.0"),
        Ok(Compat::Ok { .. })
    ));
}

#[test]
fn the_range_comes_from_the_first_non_empty_string_in_order() {
    let check = |m: &str| check_protocol_compat(&canonical::parse(m).unwrap(), "17.0.0");
    let source = |m: &str| match check(m) {
        Ok(Compat::Ok { source, .. } | Compat::Incompatible { source, .. }) => Some(source),
        _ => None,
    };
    assert_eq!(
        source(r#"{"engines":{"protocol":"^17","platform":"^16"}}"#),
        Some(RangeSource::EnginesProtocol)
    );
    assert_eq!(
        source(r#"{"engines":{"protocol":" ","platform":"^16"}}"#),
        Some(RangeSource::EnginesPlatform)
    );
    assert_eq!(
        source(r#"{"engines":{"protocol":null},"engine":{"objectstack":"^17"}}"#),
        Some(RangeSource::EngineObjectstack)
    );
    // engines that is not an object has no protocol: the legacy key is read.
    assert_eq!(
        source(r#"{"engines":"^16","engine":{"objectstack":"^17"}}"#),
        Some(RangeSource::EngineObjectstack)
    );
    assert_eq!(check(r#"{"engines":{"protocol":""}}"#), Ok(Compat::NoRange));
    assert_eq!(check(r#"{"engines":[1],"engine":7}"#), Ok(Compat::NoRange));
    // A value looked at that is not a string throws; one never looked at does not.
    for bad in ["17", "{}", "[]", "true", "false", "0"] {
        let m = format!(r#"{{"engines":{{"protocol":{bad}}}}}"#);
        assert!(check(&m).is_err(), "{m}");
        let m = format!(r#"{{"engines":{{"protocol":"","platform":{bad}}}}}"#);
        assert!(check(&m).is_err(), "{m}");
        let m = format!(r#"{{"engine":{{"objectstack":{bad}}}}}"#);
        assert!(check(&m).is_err(), "{m}");
        let m = format!(r#"{{"engines":{{"protocol":"^17","platform":{bad}}}}}"#);
        assert!(check(&m).is_ok(), "{m}");
    }
}

#[test]
fn r1_a_row_that_does_not_parse_empties_the_list() {
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a"}"#),
        ("b", "1.0.0", r#"{"id":"b""#),
        ("c", "1.0.0", "not json"),
    ]);
    assert!(report.loads.is_empty());
    let failed = report.list_failed.as_ref().expect("list failed");
    assert_eq!(
        (failed.row_id.as_str(), failed.row_version.as_str()),
        ("b", "1.0.0")
    );
    assert_eq!(outcomes(&report), vec![(Outcome::Skipped, Rule::R1); 3]);
    assert!(report.aborted.is_none());

    // Metadata counts too, and so does a column that is not text.
    let mut r = rows(&[
        ("a", "1.0.0", r#"{"id":"a"}"#),
        ("b", "1.0.0", r#"{"id":"b"}"#),
    ]);
    r[1].metadata = Some("{");
    assert!(replay(&r, &[], RUNTIME_PROTOCOL).list_failed.is_some());
    r[1].metadata = Some("{}");
    r[0].manifest = None;
    let report = replay(&r, &[], RUNTIME_PROTOCOL);
    assert_eq!(report.list_failed.map(|f| f.row_id), Some("a".to_string()));
}

#[test]
fn json_parse_accepts_what_parse_stored_refuses() {
    // Overflow is Infinity in JavaScript: a truthy number id.
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","x":1e400,"y":[-1e999]}"#),
        ("b", "1.0.0", r#"{"id":1e400}"#),
        ("c", "1.0.0", r#"{"id":1.7976931348623157e308}"#),
        ("d", "1.0.0", r#"{"id":1e401}"#),
    ]);
    assert!(report.list_failed.is_none(), "{:?}", report.list_failed);
    assert_eq!(report.loads.len(), 3, "{:?}", loads(&report));
    assert_eq!(report.steps[3].rule, Rule::R8);
    // Nesting far deeper than canonical::MAX_DEPTH.
    let deep = format!(
        r#"{{"id":"a","x":{}1e400{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(js_parse_widened(&deep).is_ok());
    assert!(stored_json(Some(&deep)).is_ok());
    let deep_meta = format!("{}{}", "{\"a\":".repeat(3000), "}".repeat(3000));
    assert!(
        stored_json_valid(Some(&deep_meta)).is_err(),
        "no value at the bottom"
    );
    let deep_meta = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
    assert!(stored_json_valid(Some(&deep_meta)).is_ok());
    let unclosed = format!("{}1{}", "[".repeat(3000), "]".repeat(2999));
    assert!(stored_json_valid(Some(&unclosed)).is_err());
    let broken_deep = format!("{}1,]{}", "[".repeat(3000), "]".repeat(2999));
    assert!(stored_json_valid(Some(&broken_deep)).is_err());
    let brace_for_bracket = format!("{}1{}}}", "[".repeat(3000), "]".repeat(2999));
    assert!(stored_json_valid(Some(&brace_for_bracket)).is_err());
    // A bad literal next to an overflow is still refused.
    assert!(js_parse_widened("[1e400, 01]").is_err());
    assert!(js_parse_widened("[1.e400]").is_err());
    let v = js_parse_widened("[1e400,-1e400,1.7976931348623157e308]").unwrap();
    assert_eq!(
        v,
        JsValue::Array(vec![
            JsValue::Number(f64::INFINITY),
            JsValue::Number(f64::NEG_INFINITY),
            JsValue::Number(f64::MAX)
        ])
    );
    // Strings are not numbers, and a string's brackets do not nest.
    let v = js_parse_widened(r#"{"s":"[[1e400","n":1e400}"#).unwrap();
    assert_eq!(v.get("s"), Some(&JsValue::String("[[1e400".to_string())));
}

#[test]
fn r6_no_id_or_a_falsy_one_is_skipped() {
    for manifest in [
        r#"{"version":"1.0.0"}"#,
        r#"{"id":""}"#,
        r#"{"id":0}"#,
        r#"{"id":-0}"#,
        r#"{"id":false}"#,
        r#"{"id":null}"#,
        "null",
        "[]",
        r#""a""#,
        "5",
    ] {
        let report = boot(&[("a", "1.0.0", manifest)]);
        assert_eq!(
            outcomes(&report),
            vec![(Outcome::Skipped, Rule::R6)],
            "{manifest}"
        );
        assert!(report.loads.is_empty());
    }
}

#[test]
fn r7_r8_the_first_row_of_an_id_loads_under_manifest_id() {
    let report = boot(&[
        ("a", "2.0.0", r#"{"id":"b","version":"2.0.0"}"#),
        ("b", "1.0.0", r#"{"id":"b","version":"1.0.0"}"#),
        ("c", "1.0.0", r#"{"id":5,"version":"1.0.0"}"#),
        ("d", "1.0.0", r#"{"id":"5","version":"1.0.0"}"#),
        ("e", "1.0.0", r#"{"id":5}"#),
        ("f", "1.0.0", r#"{"id":{},"version":"x"}"#),
        ("g", "1.0.0", r#"{"id":{}}"#),
        ("h", "1.0.0", r#"{"id":true}"#),
        ("i", "1.0.0", r#"{"id":true}"#),
    ]);
    assert_eq!(
        loads(&report),
        [
            (r#""b""#, r#""2.0.0""#),
            ("5", r#""1.0.0""#),
            (r#""5""#, r#""1.0.0""#),
            ("{}", r#""x""#),
            ("{}", "null"),
            ("true", "null"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(report.loads[0].row_id, "a");
    let rules: Vec<Rule> = report.steps.iter().map(|s| s.rule).collect();
    assert_eq!(
        rules,
        [
            Rule::R5,
            Rule::R8,
            Rule::R5,
            Rule::R5,
            Rule::R8,
            Rule::R5,
            Rule::R5,
            Rule::R5,
            Rule::R8
        ]
    );
    let with_range = boot(&[("a", "1.0.0", r#"{"id":"b","engines":{"protocol":"^17"}}"#)]);
    assert_eq!(outcomes(&with_range), [(Outcome::Loads, Rule::R7)]);
}

#[test]
fn r9_a_same_second_tie_loads_the_first_row_the_engine_returns() {
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","version":"1.0.0"}"#),
        ("a", "1.1.1", r#"{"id":"a","version":"1.1.1"}"#),
    ]);
    assert_eq!(loads(&report), [(r#""a""#.into(), r#""1.0.0""#.into())]);
    assert_eq!(report.steps[1].outcome, Outcome::Skipped);
    assert_eq!(report.steps[1].rule, Rule::R9);
}

#[test]
fn code_packages_win_and_own_their_namespaces() {
    let code = [
        CodePackage {
            id: "a".into(),
            namespace: Some("crm".into()),
        },
        CodePackage {
            id: "z".into(),
            namespace: None,
        },
    ];
    let r = rows(&[
        ("a", "1.0.0", r#"{"id":"a"}"#),
        ("z", "1.0.0", r#"{"id":"z","namespace":"hr"}"#),
        ("b", "1.0.0", r#"{"id":"b","namespace":"crm"}"#),
    ]);
    let report = replay(&r, &code, RUNTIME_PROTOCOL);
    assert_eq!(
        outcomes(&report),
        [
            (Outcome::Skipped, Rule::R8),
            (Outcome::Skipped, Rule::R8),
            (Outcome::Aborts, Rule::R3)
        ]
    );
    assert!(report.loads.is_empty());
}

#[test]
fn r2_a_range_value_that_is_not_a_string_aborts_the_boot() {
    for value in ["17", "{}", "[]", "true", "false", "0", "{\"trim\":1}"] {
        let bad = format!(r#"{{"id":"b","engines":{{"protocol":{value}}}}}"#);
        let report = boot(&[
            ("a", "1.0.0", r#"{"id":"a"}"#),
            ("b", "1.0.0", &bad),
            ("c", "1.0.0", r#"{"id":"c"}"#),
        ]);
        assert_eq!(
            outcomes(&report),
            [
                (Outcome::Warns, Rule::R5),
                (Outcome::Aborts, Rule::R2),
                (Outcome::Skipped, Rule::R2)
            ],
            "{bad}"
        );
        assert_eq!(loads(&report).len(), 1);
        let aborted = report.aborted.as_ref().expect("aborted");
        assert_eq!((aborted.row_id.as_str(), aborted.rule), ("b", Rule::R2));
    }
    // A row that is skipped before the check never throws.
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a"}"#),
        ("a", "0.9.0", r#"{"id":"a","engines":{"protocol":17}}"#),
        ("x", "1.0.0", r#"{"engines":{"protocol":17}}"#),
        ("c", "1.0.0", r#"{"id":"c"}"#),
    ]);
    assert!(report.aborted.is_none());
    assert_eq!(report.loads.len(), 2);
}

#[test]
fn r3_a_shared_namespace_aborts_except_base_system_sys() {
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","namespace":"crm"}"#),
        ("b", "1.0.0", r#"{"id":"b","namespace":"hr"}"#),
        ("c", "1.0.0", r#"{"id":"c","namespace":"crm"}"#),
        ("d", "1.0.0", r#"{"id":"d"}"#),
    ]);
    assert_eq!(report.loads.len(), 2);
    assert_eq!(report.steps[2].outcome, Outcome::Aborts);
    assert_eq!(report.steps[2].rule, Rule::R3);
    assert_eq!(report.steps[3].outcome, Outcome::Skipped);
    for shared in ["base", "system", "sys"] {
        let a = format!(r#"{{"id":"a","namespace":"{shared}"}}"#);
        let b = format!(r#"{{"id":"b","namespace":"{shared}"}}"#);
        let report = boot(&[("a", "1.0.0", &a), ("b", "1.0.0", &b)]);
        assert!(report.aborted.is_none(), "{shared}");
        assert_eq!(report.loads.len(), 2);
    }
    // Case matters; numbers and booleans are keys too; objects never collide; a refused
    // package does not register its namespace; falsy namespaces are none.
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","namespace":{"n":1}}"#),
        ("b", "1.0.0", r#"{"id":"b","namespace":{"n":1}}"#),
        (
            "c",
            "1.0.0",
            r#"{"id":"c","namespace":"crm","engines":{"protocol":"^16"}}"#,
        ),
        ("d", "1.0.0", r#"{"id":"d","namespace":"crm"}"#),
        ("e", "1.0.0", r#"{"id":"e","namespace":""}"#),
        ("f", "1.0.0", r#"{"id":"f","namespace":""}"#),
        ("g", "1.0.0", r#"{"id":"g","namespace":0}"#),
        ("h", "1.0.0", r#"{"id":"h","namespace":0}"#),
        ("i", "1.0.0", r#"{"id":"i","namespace":"Base"}"#),
        ("j", "1.0.0", r#"{"id":"j","namespace":5}"#),
        ("k", "1.0.0", r#"{"id":"k","namespace":"5"}"#),
        ("l", "1.0.0", r#"{"id":"l","namespace":5}"#),
    ]);
    assert_eq!(report.steps[2].outcome, Outcome::Refused);
    let aborted = report.aborted.as_ref().expect("aborted");
    assert_eq!((aborted.row_id.as_str(), aborted.rule), ("l", Rule::R3));
    assert_eq!(report.loads.len(), 10);
    let report = boot(&[
        ("i", "1.0.0", r#"{"id":"i","namespace":"Base"}"#),
        ("j", "1.0.0", r#"{"id":"j","namespace":"Base"}"#),
    ]);
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R3));
    let report = boot(&[
        ("i", "1.0.0", r#"{"id":"i","namespace":true}"#),
        ("j", "1.0.0", r#"{"id":"j","namespace":true}"#),
    ]);
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R3));
}

#[test]
fn r4_r5_refused_and_warned_rows() {
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","engines":{"protocol":"^16"}}"#),
        (
            "b",
            "1.0.0",
            r#"{"id":"b","engines":{"protocol":"banana"}}"#,
        ),
        ("c", "1.0.0", r#"{"id":"c"}"#),
        (
            "d",
            "1.0.0",
            r#"{"id":"d","engines":{"protocol":">=17 <18"}}"#,
        ),
        // The refused id is not installed: a later row with the same manifest.id loads.
        ("a2", "1.0.0", r#"{"id":"a","engines":{"protocol":"^17"}}"#),
    ]);
    assert_eq!(
        outcomes(&report),
        [
            (Outcome::Refused, Rule::R4),
            (Outcome::Warns, Rule::R5),
            (Outcome::Warns, Rule::R5),
            (Outcome::Loads, Rule::Protocol),
            (Outcome::Loads, Rule::R7),
        ]
    );
    assert_eq!(report.loads.len(), 4);
}

#[test]
fn r11_text_conversion_failures_abort_the_boot() {
    // name: installed first, then the log line throws.
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","name":{"toString":1}}"#),
        ("b", "1.0.0", r#"{"id":"b"}"#),
    ]);
    assert_eq!(report.loads.len(), 1);
    assert_eq!(outcomes(&report)[0], (Outcome::Aborts, Rule::R11));
    let report = boot(&[("a", "1.0.0", r#"{"id":"a","name":[[{"toString":1}]]}"#)]);
    assert_eq!(report.loads.len(), 1);
    assert!(report.aborted.is_some());
    // Objects without their own toString convert fine.
    let report = boot(&[("a", "1.0.0", r#"{"id":"a","name":{"x":{"toString":1}}}"#)]);
    assert!(report.aborted.is_none());
    // id: the protocol warning line throws before the install.
    let report = boot(&[("a", "1.0.0", r#"{"id":{"toString":1}}"#)]);
    assert!(report.loads.is_empty());
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
    // id with an admitted range: installed, then the install line throws.
    let report = boot(&[(
        "a",
        "1.0.0",
        r#"{"id":{"toString":1},"engines":{"protocol":"^17"}}"#,
    )]);
    assert_eq!(report.loads.len(), 1);
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
    // namespace: registered, then its log line throws before the install.
    let report = boot(&[(
        "a",
        "1.0.0",
        r#"{"id":"a","namespace":{"toString":1},"engines":{"protocol":"^17"}}"#,
    )]);
    assert!(report.loads.is_empty());
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
    // An incompatible id aborts too (the refusal message is a template).
    let report = boot(&[(
        "a",
        "1.0.0",
        r#"{"id":[{"toString":1}],"engines":{"protocol":"^16"}}"#,
    )]);
    assert_eq!(report.aborted.map(|a| a.rule), Some(Rule::R11));
}

#[test]
fn the_loaded_version_is_what_the_registry_record_answers() {
    let report = boot(&[
        (
            "a",
            "1.0.0",
            r#"{"id":"a","__proto__":{"version":"7.7.7"}}"#,
        ),
        (
            "b",
            "1.0.0",
            r#"{"id":"b","version":"1.0.0","__proto__":{"version":"7"}}"#,
        ),
        (
            "c",
            "1.0.0",
            r#"{"id":"c","__proto__":{"__proto__":{"version":"3"}}}"#,
        ),
        ("d", "1.0.0", r#"{"id":"d","__proto__":["x"]}"#),
        ("e", "1.0.0", r#"{"id":"e","version":17}"#),
    ]);
    let versions: Vec<String> = report.loads.iter().map(|l| l.version.to_string()).collect();
    assert_eq!(
        versions,
        [r#""7.7.7""#, r#""1.0.0""#, r#""3""#, "null", "17"]
    );
}

#[test]
fn served_version_is_null_when_the_row_does_not_parse() {
    let mut row = ListRow {
        row_id: "a",
        row_version: "1.0.0",
        manifest: Some(r#"{"id":"a"}"#),
        metadata: Some("{}"),
    };
    assert_eq!(served_version(&row), Some("1.0.0"));
    row.metadata = Some("{");
    assert_eq!(served_version(&row), None);
    row.metadata = Some("[1e400]");
    assert_eq!(served_version(&row), Some("1.0.0"));
    row.manifest = None;
    assert_eq!(served_version(&row), None);
}

#[test]
fn the_report_serializes_in_the_order_of_spec_8_3() {
    let report = boot(&[
        ("a", "1.0.0", r#"{"id":"a","engines":{"protocol":"^17"}}"#),
        ("b", "1.0.0", r#"{"id":"b","engines":{"protocol":17}}"#),
    ]);
    let json = serde_json::to_string(&report).unwrap();
    let order = [
        r#"{"runtime_protocol":"17.0.0","loads":[{"id":"a","version":null,"row_id":"a","row_version":"1.0.0"}],"steps":[{"row_id":"a","row_version":"1.0.0","id":"a","outcome":"loads","rule":"protocol","message":"#,
        r#"{"row_id":"b","row_version":"1.0.0","id":"b","outcome":"aborts","rule":"R2","message":"#,
        r#""aborted":{"row_id":"b","row_version":"1.0.0","rule":"R2","message":"#,
        r#""list_failed":null}"#,
    ];
    let mut at = 0;
    for part in order {
        let found = json[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} in {json}"));
        at += found + part.len();
    }
    let failed = boot(&[("a", "1.0.0", "{")]);
    let json = serde_json::to_string(&failed).unwrap();
    assert!(
        json.contains(r#""list_failed":{"row_id":"a","row_version":"1.0.0","message":"#),
        "{json}"
    );
}

#[test]
fn hyphen_ranges_split_like_the_javascript_regex() {
    assert_eq!(hyphen_split("16 - 18"), Some(("16", "18")));
    assert_eq!(hyphen_split("16  -\t 18"), Some(("16", "18")));
    assert_eq!(hyphen_split("1 - - 2"), Some(("1", "- 2")));
    assert_eq!(hyphen_split("1 - 2 - 3"), None);
    assert_eq!(hyphen_split("1 -2"), None);
    assert_eq!(hyphen_split("1- 2"), None);
    assert_eq!(hyphen_split("1 x - 2"), Some(("1 x", "2")));
}

#[test]
fn js_whitespace_is_javascripts_not_rusts() {
    assert_eq!(js_trim("\u{feff}\u{a0}x\u{2028}\u{3000}"), "x");
    assert_eq!(js_trim("\u{85}x"), "\u{85}x");
    assert_eq!(js_trim("\u{180e}x"), "\u{180e}x");
    assert_eq!(js_trim("\u{200b}x"), "\u{200b}x");
}
