//! The one sentence made of each failure: a [`StoreError`] that names the masked target, never
//! the token or a proxy's credentials, and quotes at most a short single line of what the server
//! (or the proxy, or a certificate) said. TLS and proxy failures also say what fixes them.

use std::time::Duration;

use super::http::{Failure, ProxyDown, Retry, MAX_RESPONSE_BYTES};
use super::tls::{ConnectFailure, TlsProblem};
use super::HranaStore;
use crate::store::StoreError;
use crate::untrusted::printable;

/// At most this many characters of a server's error body are quoted.
const EXCERPT_CHARS: usize = 200;
/// At most this many characters of a statement are quoted in an error.
const SQL_EXCERPT_CHARS: usize = 80;

impl HranaStore {
    /// The one-sentence error for a failed request of kind `retry`: a write refused with 403
    /// while a token was sent means the token grants reads only (sqld answers 401 to a token it
    /// does not accept at all).
    pub(super) fn fail_request(&self, failure: Failure, retry: Retry) -> StoreError {
        match failure {
            Failure::Status(403, _)
                if matches!(retry, Retry::Write | Retry::Rehearsal) && self.token.is_some() =>
            {
                StoreError::TokenReadOnly {
                    target: self.shown.clone(),
                }
            }
            failure => self.fail(failure),
        }
    }

    /// The one-sentence error for a failure, naming the masked target and never the token.
    pub(super) fn fail(&self, failure: Failure) -> StoreError {
        let target = self.shown.clone();
        match failure {
            Failure::Refused => StoreError::Unreachable {
                target,
                reason: "the connection was refused (is the server running?)".into(),
            },
            Failure::Reset => StoreError::Unreachable {
                target,
                reason: "the connection was closed before an answer arrived".into(),
            },
            Failure::CutOff(bytes) => StoreError::Unreachable {
                target,
                reason: format!(
                    "the connection was closed in the middle of the answer (after {bytes} bytes of it)"
                ),
            },
            Failure::Dns => StoreError::Unreachable {
                target,
                reason: "the host name could not be resolved".into(),
            },
            Failure::Unreachable(reason) => StoreError::Unreachable {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::ConnectTimeout => StoreError::Timeout {
                target,
                seconds: whole_seconds(self.connect_timeout),
            },
            Failure::RequestTimeout => StoreError::Timeout {
                target,
                seconds: whole_seconds(self.request_timeout),
            },
            Failure::BadUrl(reason) => StoreError::Open {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::NotHttp(reason) => StoreError::Protocol {
                target,
                reason: format!("the answer is not HTTP ({})", self.clean(&reason, 80)),
            },
            Failure::NotHrana(reason) => StoreError::Protocol {
                target,
                reason: self.clean(&reason, EXCERPT_CHARS),
            },
            Failure::TooLarge => StoreError::TooLarge {
                target,
                reason: format!(
                    "its answer is larger than {}, the most pkgdeck reads in one answer, so it stopped reading there",
                    mib(MAX_RESPONSE_BYTES)
                ),
            },
            Failure::Redirect(status, location) => {
                let location = location.split('?').next().unwrap_or("").to_owned();
                StoreError::Http {
                    target,
                    status,
                    message: if location.is_empty() {
                        "a redirect, which is not followed (use the final URL)".into()
                    } else {
                        format!(
                            "a redirect to {}, which is not followed (use that URL)",
                            self.clean(&location, 120)
                        )
                    },
                }
            }
            Failure::Status(status @ (401 | 403), _) => StoreError::Auth {
                target,
                status,
                hint: if self.token.is_some() {
                    "token rejected (expired, revoked or issued for another database)".into()
                } else {
                    "token missing (add ?authToken=… to the URL or set PKGDECK_AUTH_TOKEN)".into()
                },
            },
            Failure::Status(404, _) => StoreError::Http {
                target,
                status: 404,
                message: "not a libSQL endpoint (no /v2/pipeline)".into(),
            },
            Failure::Status(status, body) => StoreError::Http {
                target,
                status,
                message: self.body_excerpt(&body),
            },
            Failure::Connect(ConnectFailure::Tls { host, problem }) => StoreError::Tls {
                target,
                reason: self.tls_reason(&self.clean(&host, 120), problem),
            },
            Failure::Connect(ConnectFailure::ProxyRefused {
                proxy,
                var,
                credentials,
                to,
                status,
                reason,
            }) => {
                let said = match self.untrusted(&reason, 60) {
                    r if r.is_empty() => format!("HTTP {status}"),
                    r => format!("HTTP {status} {r}"),
                };
                let host = to.rsplit_once(':').map_or(to.as_str(), |(h, _)| h);
                let reason = match status {
                    407 if credentials => format!(
                        "the proxy rejected its credentials ({said}); check the user:password@ in {var}"
                    ),
                    407 => format!(
                        "the proxy wants credentials ({said}); put user:password@ in {var}"
                    ),
                    502..=504 => format!(
                        "the proxy could not reach {to} ({said}); check that the server is up and reachable from the proxy"
                    ),
                    _ => format!(
                        "the proxy refused to open a tunnel to {to} ({said}); ask for {host} to be allowed through it, or add {host} to NO_PROXY if it is reachable directly"
                    ),
                };
                StoreError::Proxy {
                    target,
                    proxy,
                    reason,
                }
            }
            Failure::Connect(ConnectFailure::ProxyBroken { proxy, var, to, why }) => {
                StoreError::Proxy {
                    target,
                    proxy,
                    reason: format!(
                        "the proxy did not open the tunnel to {to}: {}; check that {var} names an http proxy",
                        self.clean(&why, 120)
                    ),
                }
            }
            Failure::ProxyDown { proxy, var, why } => StoreError::Proxy {
                target,
                proxy,
                reason: match why {
                    ProxyDown::Refused => format!(
                        "the proxy refused the connection; check {var} and that the proxy is running"
                    ),
                    ProxyDown::Dns => {
                        format!("the proxy's host name could not be resolved; check {var}")
                    }
                    ProxyDown::Timeout => format!(
                        "the proxy did not accept the connection within {} s; check {var}",
                        whole_seconds(self.connect_timeout)
                    ),
                    ProxyDown::Other(detail) => format!(
                        "the proxy cannot be reached ({}); check {var}",
                        self.clean(&detail, 120)
                    ),
                },
            },
        }
    }

    /// Why the TLS handshake with `host` failed, and what fixes it.
    fn tls_reason(&self, host: &str, problem: TlsProblem) -> String {
        match problem {
            TlsProblem::UnknownIssuer => match self.extra_cas() {
                None => format!(
                    "the certificate of {host} is not signed by an authority trusted here; set PKGDECK_CA_FILE to the PEM file of the CA that issued it"
                ),
                Some((var, file)) => format!(
                    "the certificate of {host} is not signed by an authority trusted here, nor by one in {file} ({var}); set PKGDECK_CA_FILE to the PEM file of the CA that issued it"
                ),
            },
            TlsProblem::Expired(at) => format!(
                "the certificate of {host} {}; the server needs a renewed certificate (or this machine's clock is wrong)",
                match at {
                    Some(at) => format!("expired on {}", utc_minute(at)),
                    None => "has expired".into(),
                }
            ),
            TlsProblem::NotYetValid(at) => format!(
                "the certificate of {host} {}; check this machine's clock, or the server's certificate",
                match at {
                    Some(at) => format!("is not valid before {}", utc_minute(at)),
                    None => "is not valid yet".into(),
                }
            ),
            TlsProblem::WrongHost(presented) => {
                let names: Vec<String> = presented
                    .iter()
                    .filter_map(|n| presented_name(n))
                    .take(3)
                    .map(|n| self.untrusted(&n, 80))
                    .collect();
                let names = if names.is_empty() {
                    "another host".to_owned()
                } else {
                    names.join(", ")
                };
                format!(
                    "the certificate of {host} is for {names}, not for {host}; connect with a name the certificate lists, or give the server a certificate for {host}"
                )
            }
            TlsProblem::Revoked => format!(
                "the certificate of {host} has been revoked; the server needs a new certificate"
            ),
            TlsProblem::WrongPurpose => format!(
                "the certificate of {host} is not meant for a TLS server; the server needs a server certificate"
            ),
            TlsProblem::Certificate(why) => format!(
                "the certificate of {host} was rejected ({}); the server needs a valid certificate",
                self.clean(&why, 80)
            ),
            TlsProblem::NotTls => format!(
                "{host} did not answer in TLS (is it plain http?); pkgdeck never falls back to http, so use the server's https address, or an http:// target if plain http is meant"
            ),
            TlsProblem::Alert(alert) => format!(
                "{host} ended the TLS handshake with the alert {}; the server may want a client certificate or TLS settings pkgdeck does not offer",
                self.clean(&alert, 60)
            ),
            TlsProblem::Incompatible(why) => format!(
                "{host} and pkgdeck share no TLS version or cipher suite ({}); the server needs TLS 1.2 or 1.3",
                self.clean(&why, 80)
            ),
            TlsProblem::NoAnswer(seconds) => format!(
                "{host} did not answer the TLS handshake within {seconds} s (is it plain http?); pkgdeck never falls back to http, so use the server's https address, or an http:// target if plain http is meant"
            ),
            TlsProblem::Closed => format!(
                "{host} closed the connection during the TLS handshake; check that this port serves https (pkgdeck never falls back to http)"
            ),
            TlsProblem::Other(why) => format!(
                "the TLS handshake with {host} failed ({})",
                self.clean(&why, 120)
            ),
        }
    }

    /// Text a server or proxy chose (a status reason, a certificate name): one short line, the
    /// token masked, and nothing that could steer a terminal.
    pub(super) fn untrusted(&self, text: &str, max: usize) -> String {
        self.clean(&printable(text), max)
    }

    /// A short, single-line, token-free quote of an error body.
    fn body_excerpt(&self, body: &str) -> String {
        let text = body.trim();
        if text.is_empty() {
            return "(empty body)".into();
        }
        // sqld answers some errors with a Hrana error object.
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
        {
            let message = map
                .get("message")
                .or_else(|| map.get("error"))
                .and_then(|m| match m {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Object(o) => {
                        o.get("message").and_then(|s| s.as_str()).map(str::to_owned)
                    }
                    _ => None,
                });
            if let Some(message) = message {
                return self.clean(&message, EXCERPT_CHARS);
            }
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
            let title = lower
                .find("<title>")
                .and_then(|start| {
                    let from = start + "<title>".len();
                    lower[from..]
                        .find("</title>")
                        .map(|end| &text[from..from + end])
                })
                .map(|t| self.clean(t, 120))
                .filter(|t| !t.is_empty());
            return match title {
                Some(t) => format!("an HTML page titled \"{t}\""),
                None => "an HTML page".into(),
            };
        }
        self.clean(text, EXCERPT_CHARS)
    }

    /// One line, at most `max` characters, with the token masked.
    fn clean(&self, text: &str, max: usize) -> String {
        let mut text = text.to_owned();
        if let Some(token) = self.token.as_deref().filter(|t| !t.is_empty()) {
            text = text.replace(token, "***");
        }
        one_line(&text, max)
    }

    pub(super) fn sql_error(&self, message: &str, place: String) -> StoreError {
        StoreError::Sql {
            target: self.shown.clone(),
            message: format!("{} ({place})", self.clean(message, EXCERPT_CHARS)),
        }
    }

    pub(super) fn protocol(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Protocol {
            target: self.shown.clone(),
            reason: reason.into(),
        }
    }
}

/// A name from a certificate as rustls describes it (`DnsName("db.example")`,
/// `IpAddress(10.0.0.1)`), or `None` for kinds an operator cannot connect to.
fn presented_name(described: &str) -> Option<String> {
    if let Some(rest) = described.strip_prefix("DnsName(\"") {
        return rest.strip_suffix("\")").map(str::to_owned);
    }
    if let Some(rest) = described.strip_prefix("IpAddress(") {
        return rest.strip_suffix(')').map(str::to_owned);
    }
    None
}

/// `YYYY-MM-DD HH:MM UTC` for a UNIX time (civil-from-days, Howard Hinnant's algorithm).
fn utc_minute(secs: u64) -> String {
    let secs = secs as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `64 MiB` for a byte count.
pub(super) fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes / (1024 * 1024))
}

/// Seconds for a timeout message, never 0.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Why a 2xx body is not a Hrana pipeline answer.
pub(super) fn not_hrana_reason(bytes: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "the body is empty".into();
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(e) if e.is_eof() => {
            return format!(
                "the JSON stops after {} bytes, in the middle of the answer (it was cut off)",
                bytes.len()
            )
        }
        Err(_) => {
            return format!(
                "the body is not JSON (it starts {:?})",
                printable(&one_line(text, 40))
            )
        }
        Ok(_) => {}
    }
    format!("the JSON is not a pipeline answer ({e})")
}

/// Collapses whitespace and control characters into single spaces and cuts at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if space {
            if count == max {
                out.push('…');
                return out;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count == max {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

pub(super) fn sql_excerpt(sql: &str) -> String {
    one_line(sql, SQL_EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hrana::http::ProxyDown;
    use crate::store::hrana::test_support::test_store;
    use serde_json::json;

    #[test]
    fn errors_never_show_the_token() {
        let token = "tok-SECRET-4242";
        let store = test_store(Some(token));
        let failures = vec![
            Failure::Refused,
            Failure::Reset,
            Failure::Dns,
            Failure::Unreachable(format!("bad thing with {token}")),
            Failure::ConnectTimeout,
            Failure::RequestTimeout,
            Failure::BadUrl(format!("url {token}")),
            Failure::NotHttp(format!("garbage {token}")),
            Failure::Status(401, String::new()),
            Failure::Status(403, token.into()),
            Failure::Status(404, token.into()),
            Failure::Status(500, format!("boom: token {token} is bad\nline two")),
            Failure::Status(500, json!({"message": format!("x {token}")}).to_string()),
            Failure::Redirect(302, format!("https://x/?authToken={token}")),
            Failure::NotHrana(format!("json {token}")),
            Failure::TooLarge,
            Failure::Connect(ConnectFailure::Tls {
                host: "db.example".into(),
                problem: TlsProblem::Other(format!("odd {token}")),
            }),
            Failure::Connect(ConnectFailure::ProxyRefused {
                proxy: "http://***@p:3128 (HTTPS_PROXY)".into(),
                var: "HTTPS_PROXY",
                credentials: true,
                to: "db.example:443".into(),
                status: 403,
                reason: format!("no {token}\n\x1b]0;title\x07"),
            }),
            Failure::Connect(ConnectFailure::ProxyBroken {
                proxy: "http://p:3128 (HTTPS_PROXY)".into(),
                var: "HTTPS_PROXY",
                to: "db.example:443".into(),
                why: format!("bad {token}"),
            }),
            Failure::ProxyDown {
                proxy: "http://p:3128 (HTTPS_PROXY)".into(),
                var: "HTTPS_PROXY",
                why: ProxyDown::Other(format!("weird {token}")),
            },
        ];
        for f in failures {
            let text = store.fail(f).to_string();
            assert!(!text.contains(token), "{text}");
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains("http://127.0.0.1:9 (token ***)"), "{text}");
        }
        let err = store.sql_error(&format!("near {token}: syntax error"), "in SELECT".into());
        assert!(!err.to_string().contains(token));
    }

    #[test]
    fn tls_and_proxy_failures_say_what_fixes_them() {
        let store = test_store(None);
        let tls = |problem| {
            store
                .fail(Failure::Connect(ConnectFailure::Tls {
                    host: "db.example".into(),
                    problem,
                }))
                .to_string()
        };
        let text = tls(TlsProblem::UnknownIssuer);
        assert!(
            text.starts_with("cannot connect securely to http://127.0.0.1:9 (token ***): ")
                && text.contains("PKGDECK_CA_FILE"),
            "{text}"
        );
        let text = tls(TlsProblem::Expired(Some(1_795_482_061)));
        assert!(text.contains("expired on 2026-11-24 01:01 UTC"), "{text}");
        let text = tls(TlsProblem::WrongHost(vec![
            "DnsName(\"other.example\")".into(),
            "IpAddress(10.0.0.1)".into(),
            "DirectoryName".into(),
        ]));
        assert!(
            text.contains("is for other.example, 10.0.0.1, not for db.example"),
            "{text}"
        );
        let text = tls(TlsProblem::WrongHost(vec![
            "DnsName(\"evil\u{202e}x\")".into()
        ]));
        assert!(!text.contains('\u{202e}'), "{text}");
        assert!(tls(TlsProblem::NotTls).contains("never falls back to http"));
        let refused = |status, credentials| {
            store
                .fail(Failure::Connect(ConnectFailure::ProxyRefused {
                    proxy: "http://p:3128 (https_proxy)".into(),
                    var: "https_proxy",
                    credentials,
                    to: "db.example:443".into(),
                    status,
                    reason: String::new(),
                }))
                .to_string()
        };
        let text = refused(403, false);
        assert!(
            text.contains("through the proxy http://p:3128 (https_proxy): ")
                && text.contains("(HTTP 403)")
                && text.contains("add db.example to NO_PROXY"),
            "{text}"
        );
        assert!(refused(407, false).contains("put user:password@ in https_proxy"));
        assert!(refused(407, true).contains("rejected its credentials"));
        assert!(refused(502, false).contains("could not reach db.example:443"));
        assert!(Failure::Connect(ConnectFailure::ProxyRefused {
            proxy: String::new(),
            var: "HTTPS_PROXY",
            credentials: false,
            to: String::new(),
            status: 503,
            reason: String::new(),
        })
        .transient());
    }

    #[test]
    fn a_write_refused_with_403_means_a_read_only_token() {
        let store = test_store(Some("t"));
        let write = store.fail_request(Failure::Status(403, String::new()), Retry::Write);
        assert!(
            matches!(write, StoreError::TokenReadOnly { .. }),
            "{write:?}"
        );
        assert!(
            write.to_string().contains("this token is read-only"),
            "{write}"
        );
        let read = store.fail_request(Failure::Status(403, String::new()), Retry::Read);
        assert!(read.to_string().contains("token rejected"), "{read}");
        let write = store.fail_request(Failure::Status(401, String::new()), Retry::Write);
        assert!(write.to_string().contains("token rejected"), "{write}");
        let anonymous =
            test_store(None).fail_request(Failure::Status(403, String::new()), Retry::Write);
        assert!(
            anonymous.to_string().contains("token missing"),
            "{anonymous}"
        );
    }

    #[test]
    fn truncated_and_garbage_bodies_say_which() {
        let e = serde_json::from_slice::<serde_json::Value>(b"{\"results\": [1").unwrap_err();
        assert!(not_hrana_reason(b"{\"results\": [1", &e).contains("stops after 14 bytes"));
        let e = serde_json::from_slice::<serde_json::Value>(b"\x1b]0;x\x07nope").unwrap_err();
        let reason = not_hrana_reason(b"\x1b]0;x\x07nope", &e);
        assert!(
            reason.contains("not JSON") && !reason.contains('\x1b'),
            "{reason}"
        );
    }

    #[test]
    fn auth_hint_depends_on_the_token() {
        let with = test_store(Some("t")).fail(Failure::Status(401, String::new()));
        assert!(with.to_string().contains("token rejected"), "{with}");
        let without = test_store(None).fail(Failure::Status(403, String::new()));
        assert!(without.to_string().contains("token missing"), "{without}");
        assert!(matches!(without, StoreError::Auth { status: 403, .. }));
    }

    #[test]
    fn body_excerpts_are_short_single_lines() {
        let store = test_store(None);
        let long = "x".repeat(1000);
        let text = store.body_excerpt(&long);
        assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(store.body_excerpt("  a\r\n\tb  "), "a b");
        assert_eq!(store.body_excerpt(""), "(empty body)");
        assert_eq!(
            store.body_excerpt("<html><head><title>502 Bad Gateway</title></head></html>"),
            "an HTML page titled \"502 Bad Gateway\""
        );
        assert_eq!(
            store.body_excerpt(
                r#"{"message":"The stream has expired due to inactivity","code":"STREAM_EXPIRED"}"#
            ),
            "The stream has expired due to inactivity"
        );
    }

    #[test]
    fn one_line_cuts_and_collapses() {
        assert_eq!(one_line("a  b\n\nc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("ab cd", 2), "ab…");
        assert_eq!(whole_seconds(Duration::from_millis(500)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
    }
}
