//! The Hrana wire format (JSON): pipeline requests and answers, and how a [`Value`] is written as
//! an argument and read from a row.

use std::borrow::Cow;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::Error as _;
use serde::ser::{Error as _, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::store::{Rows, Stmt, Value};

/// Base64 for blobs: servers send it unpadded (sqld, tursodb); padded is accepted too.
const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The JSON of one pipeline: `requests` on the stream `baton` (a new stream when `None`), with
/// a `close` after them when `close` is set.
pub(super) fn pipeline_body(
    baton: Option<&str>,
    requests: &[Request<'_>],
    close: bool,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&PipelineReq {
        baton,
        requests: Requests { requests, close },
    })
}

// ---------------------------------------------------------------------------------------------
// Wire format (JSON), requests

#[derive(Serialize)]
struct PipelineReq<'a> {
    baton: Option<&'a str>,
    requests: Requests<'a>,
}

/// The requests of a pipeline, and the `close` that may end it.
struct Requests<'a> {
    requests: &'a [Request<'a>],
    close: bool,
}

impl Serialize for Requests<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let close = self.close.then_some(&Request::Close);
        s.collect_seq(self.requests.iter().chain(close))
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum Request<'a> {
    Execute { stmt: WireStmt<'a> },
    Batch { batch: WireBatch<'a> },
    Close,
}

#[derive(Serialize, Clone)]
pub(super) struct WireStmt<'a> {
    sql: &'a str,
    args: Vec<WireValue<'a>>,
    want_rows: bool,
}

impl<'a> WireStmt<'a> {
    pub(super) fn new(stmt: &'a Stmt) -> Self {
        WireStmt {
            sql: &stmt.sql,
            args: stmt.args.iter().map(WireValue).collect(),
            want_rows: true,
        }
    }
}

#[derive(Serialize)]
pub(super) struct WireBatch<'a> {
    pub(super) steps: Vec<WireStep<'a>>,
}

#[derive(Serialize, Clone)]
pub(super) struct WireStep<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) condition: Option<Cond>,
    pub(super) stmt: WireStmt<'a>,
}

impl WireStep<'static> {
    pub(super) fn plain(sql: &'static str, condition: Option<Cond>) -> Self {
        WireStep {
            condition,
            stmt: WireStmt {
                sql,
                args: Vec::new(),
                want_rows: true,
            },
        }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum Cond {
    Ok { step: usize },
    Not { cond: Box<Cond> },
}

/// A value as an argument: `{"type": "integer", "value": "123"}` and so on.
#[derive(Clone, Copy)]
struct WireValue<'a>(&'a Value);

impl Serialize for WireValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        match self.0 {
            Value::Null => map.serialize_entry("type", "null")?,
            Value::Integer(i) => {
                map.serialize_entry("type", "integer")?;
                map.serialize_entry("value", &i.to_string())?;
            }
            Value::Real(f) if f.is_nan() => map.serialize_entry("type", "null")?,
            Value::Real(f) if f.is_infinite() => {
                return Err(S::Error::custom(
                    "an infinite number cannot be sent to the server (JSON has no infinity)",
                ))
            }
            Value::Real(f) => {
                map.serialize_entry("type", "float")?;
                map.serialize_entry("value", f)?;
            }
            Value::Text(t) => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("value", t)?;
            }
            Value::Blob(b) => {
                map.serialize_entry("type", "blob")?;
                map.serialize_entry("base64", &STANDARD_NO_PAD.encode(b))?;
            }
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format (JSON), answers

#[derive(Deserialize)]
pub(super) struct PipelineResp {
    #[serde(default)]
    pub(super) baton: Option<String>,
    #[serde(default)]
    pub(super) base_url: Option<String>,
    pub(super) results: Vec<StreamResult>,
}

/// The answer to one request of a pipeline. Read field by field as it streams (serde's
/// internally tagged enums buffer the whole object, every row of a page, before reading it:
/// that copy was a third of a remote verify's time): `response` means ok, `error` an error,
/// whatever order the server writes the keys in.
pub(super) enum StreamResult {
    Ok { response: StreamResponse },
    Error { error: WireError },
}

#[derive(Deserialize)]
struct StreamResultBody {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    response: Option<StreamResponseBody>,
    #[serde(default)]
    error: Option<WireError>,
}

impl<'de> Deserialize<'de> for StreamResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let body = StreamResultBody::deserialize(d)?;
        match (body.ty.as_deref(), body.response, body.error) {
            (Some("ok"), Some(response), _) => Ok(StreamResult::Ok {
                response: response.into_response()?,
            }),
            (Some("error"), _, Some(error)) => Ok(StreamResult::Error { error }),
            (Some("ok"), None, _) => Err(D::Error::missing_field("response")),
            (Some("error"), _, None) => Err(D::Error::missing_field("error")),
            (Some(other), _, _) => Err(D::Error::unknown_variant(other, &["ok", "error"])),
            (None, _, _) => Err(D::Error::missing_field("type")),
        }
    }
}

/// The response to an `ok` request: what the statement or batch answered.
pub(super) enum StreamResponse {
    Execute { result: StmtResult },
    Batch { result: BatchResult },
    Close,
    Other,
}

/// A response as it streams: `result` is read before its `type` may be known, so it holds the
/// fields of both kinds of result (absent ones empty).
#[derive(Deserialize)]
struct StreamResponseBody {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    result: Option<AnyResult>,
}

#[derive(Deserialize)]
struct AnyResult {
    #[serde(default)]
    cols: Option<Vec<WireCol>>,
    #[serde(default)]
    rows: Option<Vec<Vec<WireIn>>>,
    #[serde(default)]
    affected_row_count: u64,
    #[serde(default)]
    step_results: Option<Vec<Option<StmtResult>>>,
    #[serde(default)]
    step_errors: Option<Vec<Option<WireError>>>,
}

impl StreamResponseBody {
    fn into_response<E: serde::de::Error>(self) -> Result<StreamResponse, E> {
        match (self.ty.as_str(), self.result) {
            ("execute", Some(r)) => Ok(StreamResponse::Execute {
                result: StmtResult {
                    cols: r.cols.unwrap_or_default(),
                    rows: r.rows.unwrap_or_default(),
                    affected_row_count: r.affected_row_count,
                },
            }),
            ("batch", Some(r)) => Ok(StreamResponse::Batch {
                result: BatchResult {
                    step_results: r
                        .step_results
                        .ok_or_else(|| E::missing_field("step_results"))?,
                    step_errors: r
                        .step_errors
                        .ok_or_else(|| E::missing_field("step_errors"))?,
                },
            }),
            ("execute" | "batch", None) => Err(E::missing_field("result")),
            ("close", _) => Ok(StreamResponse::Close),
            _ => Ok(StreamResponse::Other),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct WireError {
    pub(super) message: String,
    /// sqld's error code (`SQLITE_BUSY`, `RESPONSE_TOO_LARGE`, …); tursodb sends its own.
    #[serde(default)]
    pub(super) code: Option<String>,
}

impl WireError {
    /// The database was busy (another writer held the lock): the statement did nothing, and
    /// trying again later may succeed. sqld says `SQLITE_BUSY` ("database is locked") or
    /// `TRANSACTION_BUSY`; other servers may only say it in the message.
    pub(super) fn busy(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("SQLITE_BUSY" | "SQLITE_LOCKED" | "TRANSACTION_BUSY")
        ) || {
            let m = self.message.to_ascii_lowercase();
            m.contains("database is locked") || m.contains("database table is locked")
        }
    }

    /// The answer would have been larger than the server sends (sqld's
    /// `--max-response-size`, 10 MB by default): nothing was read; a smaller page may fit.
    pub(super) fn too_large(&self) -> bool {
        self.code.as_deref() == Some("RESPONSE_TOO_LARGE")
            || self
                .message
                .to_ascii_lowercase()
                .contains("response is too large")
    }
}

#[derive(Deserialize)]
pub(super) struct StmtResult {
    #[serde(default)]
    cols: Vec<WireCol>,
    #[serde(default)]
    pub(super) rows: Vec<Vec<WireIn>>,
    #[serde(default)]
    affected_row_count: u64,
}

impl StmtResult {
    /// The rows; `changed` is the row count measured around the statement, used when the
    /// server's own count is zero.
    pub(super) fn into_rows(self, changed: Option<u64>) -> Rows {
        let affected = match (self.affected_row_count, changed) {
            (0, Some(c)) => c,
            (n, _) => n,
        };
        Rows {
            columns: self
                .cols
                .into_iter()
                .map(|c| c.name.unwrap_or_default())
                .collect(),
            rows: self
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(|v| v.0).collect())
                .collect(),
            affected,
        }
    }
}

#[derive(Deserialize)]
struct WireCol {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct BatchResult {
    pub(super) step_results: Vec<Option<StmtResult>>,
    pub(super) step_errors: Vec<Option<WireError>>,
}

/// A value in an answer.
#[derive(Debug, PartialEq)]
pub(super) struct WireIn(pub(super) Value);

#[derive(Deserialize)]
struct RawValue<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default, borrow)]
    base64: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for WireIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawValue::deserialize(d)?;
        decode_value(raw).map(WireIn).map_err(D::Error::custom)
    }
}

/// Why a value on the wire is not one pkgdeck can read (serde's error carries it).
#[derive(Debug)]
struct BadValue(String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for BadValue {
    fn from(why: &str) -> BadValue {
        BadValue(why.to_owned())
    }
}

fn decode_value(raw: RawValue<'_>) -> Result<Value, BadValue> {
    use serde_json::Value as J;
    match raw.ty.as_ref() {
        "null" => Ok(Value::Null),
        "integer" => match raw.value {
            Some(J::String(s)) => s
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| BadValue(format!("integer value {s:?} is not a 64-bit integer"))),
            Some(J::Number(n)) => n
                .as_i64()
                .map(Value::Integer)
                .ok_or_else(|| BadValue(format!("integer value {n} is not a 64-bit integer"))),
            _ => Err("an integer value has no \"value\"".into()),
        },
        "float" => match raw.value {
            Some(J::Number(n)) => n
                .as_f64()
                .map(Value::Real)
                .ok_or_else(|| BadValue(format!("float value {n} is not a number"))),
            Some(J::String(s)) => s
                .parse::<f64>()
                .map(Value::Real)
                .map_err(|_| BadValue(format!("float value {s:?} is not a number"))),
            // Servers write an infinite float as null (JSON has no infinity).
            None | Some(J::Null) => Ok(Value::Null),
            Some(other) => Err(BadValue(format!("float value {other} is not a number"))),
        },
        "text" => match raw.value {
            Some(J::String(s)) => Ok(Value::Text(s)),
            _ => Err("a text value has no string \"value\"".into()),
        },
        "blob" => match raw.base64 {
            Some(b) => BASE64_LENIENT
                .decode(b.as_bytes())
                .map(Value::Blob)
                .map_err(|e| BadValue(format!("a blob value is not base64 ({e})"))),
            None => Err("a blob value has no \"base64\"".into()),
        },
        other => Err(BadValue(format!("unknown value type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hrana::test_support::stmt_result;
    use serde_json::json;

    fn enc(v: &Value) -> serde_json::Value {
        serde_json::to_value(WireValue(v)).unwrap()
    }

    fn dec(j: serde_json::Value) -> Result<Value, serde_json::Error> {
        serde_json::from_value::<WireIn>(j).map(|w| w.0)
    }

    #[test]
    fn values_encode_per_spec() {
        assert_eq!(enc(&Value::Null), json!({"type": "null"}));
        assert_eq!(
            enc(&Value::Integer(123)),
            json!({"type": "integer", "value": "123"})
        );
        assert_eq!(
            enc(&Value::Integer(i64::MIN)),
            json!({"type": "integer", "value": "-9223372036854775808"})
        );
        assert_eq!(
            enc(&Value::Real(1.5)),
            json!({"type": "float", "value": 1.5})
        );
        assert_eq!(
            enc(&Value::Text("hé \"x\"".into())),
            json!({"type": "text", "value": "hé \"x\""})
        );
        assert_eq!(
            enc(&Value::Blob(vec![1, 2])),
            json!({"type": "blob", "base64": "AQI"})
        );
        assert_eq!(
            enc(&Value::Blob(vec![])),
            json!({"type": "blob", "base64": ""})
        );
        assert_eq!(enc(&Value::Real(f64::NAN)), json!({"type": "null"}));
        assert!(serde_json::to_value(WireValue(&Value::Real(f64::INFINITY))).is_err());
    }

    #[test]
    fn values_decode_per_spec() {
        assert_eq!(dec(json!({"type": "null"})).unwrap(), Value::Null);
        assert_eq!(
            dec(json!({"type": "integer", "value": "9223372036854775807"})).unwrap(),
            Value::Integer(i64::MAX)
        );
        assert_eq!(
            dec(json!({"type": "integer", "value": 42})).unwrap(),
            Value::Integer(42)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": 1.5})).unwrap(),
            Value::Real(1.5)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": -0.0})).unwrap(),
            Value::Real(-0.0)
        );
        assert_eq!(
            dec(json!({"type": "float", "value": null})).unwrap(),
            Value::Null
        );
        assert_eq!(
            dec(json!({"type": "text", "value": "a\u{0}b"})).unwrap(),
            Value::Text("a\u{0}b".into())
        );
        // Unpadded (what servers send) and padded both decode.
        assert_eq!(
            dec(json!({"type": "blob", "base64": "AQI"})).unwrap(),
            Value::Blob(vec![1, 2])
        );
        assert_eq!(
            dec(json!({"type": "blob", "base64": "AQI="})).unwrap(),
            Value::Blob(vec![1, 2])
        );
        assert_eq!(
            dec(json!({"type": "blob", "base64": ""})).unwrap(),
            Value::Blob(vec![])
        );
        assert!(dec(json!({"type": "integer", "value": "12x"})).is_err());
        assert!(dec(json!({"type": "integer", "value": "9223372036854775808"})).is_err());
        assert!(dec(json!({"type": "blob", "base64": "!!"})).is_err());
        assert!(dec(json!({"type": "text"})).is_err());
        assert!(dec(json!({"type": "decimal", "value": "1"})).is_err());
        assert!(dec(json!({"value": "1"})).is_err());
    }

    #[test]
    fn values_round_trip() {
        for v in [
            Value::Null,
            Value::Integer(-7),
            Value::Real(0.1),
            Value::Text(String::new()),
            Value::Blob((0u8..=255).collect()),
        ] {
            assert_eq!(dec(enc(&v)).unwrap(), v);
        }
    }

    #[test]
    fn execute_request_shape() {
        let stmt = Stmt::new(
            "SELECT ? , ?",
            vec![Value::Text("a".into()), Value::Integer(1)],
        );
        let reqs = [Request::Execute {
            stmt: WireStmt::new(&stmt),
        }];
        let body: serde_json::Value =
            serde_json::from_str(&pipeline_body(None, &reqs, false).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "baton": null,
                "requests": [{
                    "type": "execute",
                    "stmt": {
                        "sql": "SELECT ? , ?",
                        "args": [
                            {"type": "text", "value": "a"},
                            {"type": "integer", "value": "1"}
                        ],
                        "want_rows": true
                    }
                }]
            })
        );
        let body: serde_json::Value =
            serde_json::from_str(&pipeline_body(Some("b1"), &[], true).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"baton": "b1", "requests": [{"type": "close"}]})
        );
        let body: serde_json::Value =
            serde_json::from_str(&pipeline_body(Some("b2"), &reqs, true).unwrap()).unwrap();
        assert_eq!(body["requests"].as_array().unwrap().len(), 2);
        assert_eq!(body["requests"][1], json!({"type": "close"}));
    }

    #[test]
    fn pipeline_answer_parses_both_families() {
        let sqld = json!({"baton": "abc", "base_url": "https://x.example", "results": [
            {"type": "ok", "response": {"type": "execute", "result": stmt_result(json!([]), 0)}},
            {"type": "ok", "response": {"type": "close"}},
            {"type": "error", "error": {"message": "no such table: t", "code": "SQLITE_ERROR"}}
        ]});
        let resp: PipelineResp = serde_json::from_value(sqld).unwrap();
        assert_eq!(resp.baton.as_deref(), Some("abc"));
        assert_eq!(resp.results.len(), 3);
        assert!(matches!(
            resp.results[1],
            StreamResult::Ok {
                response: StreamResponse::Close
            }
        ));
        let turso = json!({"baton": null, "base_url": null, "results": []});
        let resp: PipelineResp = serde_json::from_value(turso).unwrap();
        assert!(resp.baton.is_none());
        assert!(serde_json::from_value::<PipelineResp>(json!({"hello": 1})).is_err());
    }
}
