//! What `--db` names: a local SQLite file or a remote libSQL server, and how it is shown
//! (never with its token).

use std::fmt;
use std::path::PathBuf;

/// Environment variables searched for a remote token, first match wins.
pub const TOKEN_ENV_VARS: [&str; 3] = [
    "PKGDECK_AUTH_TOKEN",
    "TURSO_AUTH_TOKEN",
    "LIBSQL_AUTH_TOKEN",
];

#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A local SQLite file.
    Local(PathBuf),
    /// A libSQL server reached over Hrana-over-HTTP: `url` is `http(s)://host[:port][/path]`
    /// without any `authToken` parameter.
    Remote { url: String, token: Option<String> },
}

/// Why a `--db` value is not a target; never quotes a secret (see [`mask`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the target is empty")]
    Empty,
    #[error("the target {0:?} names no file")]
    NoFile(String),
    #[error(
        "the target scheme {0:?} is not supported (use a path, file:PATH, libsql://, https:// or http://)"
    )]
    Scheme(String),
    #[error("the remote target names no host")]
    NoHost,
}

impl Target {
    /// Parses a `--db` value. `libsql://` means https; an `authToken=` query parameter (the
    /// name in any letter case) is taken out of the URL and used as the token; otherwise the
    /// token comes from `env_token`. A `user:password@` part stays in the URL and is masked
    /// wherever the target is shown. Errors never quote the text with a secret: see [`mask`].
    pub fn parse(text: &str, env_token: Option<String>) -> Result<Target, TargetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TargetError::Empty);
        }
        let lower = text.to_ascii_lowercase();
        let (scheme, rest) = if let Some(rest) = lower.strip_prefix("libsql://") {
            ("https://", &text[text.len() - rest.len()..])
        } else if let Some(rest) = lower.strip_prefix("https://") {
            ("https://", &text[text.len() - rest.len()..])
        } else if let Some(rest) = lower.strip_prefix("http://") {
            ("http://", &text[text.len() - rest.len()..])
        } else if let Some(rest) = text.strip_prefix("file:") {
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() {
                return Err(TargetError::NoFile(mask(text)));
            }
            return Ok(Target::Local(PathBuf::from(path)));
        } else if lower.contains("://") {
            let scheme = &text[..text.find("://").unwrap_or(0)];
            return Err(TargetError::Scheme(mask(scheme)));
        } else {
            return Ok(Target::Local(PathBuf::from(text)));
        };
        let (base, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = base.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host.is_empty() {
            return Err(TargetError::NoHost);
        }
        let mut token = None;
        let mut kept = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name.eq_ignore_ascii_case("authtoken") {
                if !value.is_empty() {
                    token = Some(value.to_owned());
                }
            } else {
                kept.push(pair);
            }
        }
        let mut url = format!("{scheme}{}", base.trim_end_matches('/'));
        if !kept.is_empty() {
            url.push('?');
            url.push_str(&kept.join("&"));
        }
        Ok(Target::Remote {
            url,
            token: token.or(env_token),
        })
    }

    /// The first token found in the environment variables of [`TOKEN_ENV_VARS`].
    pub fn token_from_env() -> Option<String> {
        TOKEN_ENV_VARS
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.is_empty())
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Target::Remote { .. })
    }
}

/// A target as the operator typed it, made fit to be shown: the value of every `authToken=`
/// parameter (any letter case) and the `user:password@` part of a URL become `***`. For
/// messages about a text that did not parse; a parsed [`Target`] shows itself masked.
pub fn mask(text: &str) -> String {
    let shown = mask_userinfo(text).into_owned();
    let lower = shown.to_ascii_lowercase();
    let mut out = String::new();
    let mut rest = 0;
    let mut from = 0;
    while let Some(i) = lower[from..].find("authtoken=") {
        let value = from + i + "authtoken=".len();
        let end = shown[value..]
            .find(['&', '#'])
            .map_or(shown.len(), |j| value + j);
        out.push_str(&shown[rest..value]);
        out.push_str("***");
        rest = end;
        from = end;
    }
    out.push_str(&shown[rest..]);
    out
}

/// Whether a target text carries a secret of its own (an `authToken=` parameter in any
/// letter case, or a `user:password@` part), which a saved connection must not.
pub fn carries_token(text: &str) -> bool {
    mask(text) != text
}

/// The masked form: a remote target shows `(token ***)` when it carries a token, and `***@`
/// in place of any `user:password@` in its URL.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local(path) => write!(f, "{}", path.display()),
            Target::Remote { url, token } => {
                write!(f, "{}", mask_userinfo(url))?;
                if token.is_some() {
                    write!(f, " (token ***)")?;
                }
                Ok(())
            }
        }
    }
}

/// `scheme://user:password@host…` as `scheme://***@host…`; other URLs unchanged.
fn mask_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.into();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]).into(),
        None => url.into(),
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_remote_targets() {
        assert_eq!(
            Target::parse("reg.db", None).unwrap(),
            Target::Local("reg.db".into())
        );
        assert_eq!(
            Target::parse("file:/tmp/x.db", None).unwrap(),
            Target::Local("/tmp/x.db".into())
        );
        let t = Target::parse("libsql://db.example.io?authToken=SECRET", None).unwrap();
        assert_eq!(
            t,
            Target::Remote {
                url: "https://db.example.io".into(),
                token: Some("SECRET".into())
            }
        );
        assert!(!t.to_string().contains("SECRET"));
        assert!(!format!("{t:?}").contains("SECRET"));
        let t = Target::parse("http://127.0.0.1:8080/", Some("envtok".into())).unwrap();
        assert_eq!(
            t,
            Target::Remote {
                url: "http://127.0.0.1:8080".into(),
                token: Some("envtok".into())
            }
        );
        let t = Target::parse("https://admin:pa55@db.example:8443/x?authToken=T", None).unwrap();
        assert_eq!(t.to_string(), "https://***@db.example:8443/x (token ***)");
        assert!(!format!("{t:?}").contains("pa55"));
        assert_eq!(mask_userinfo("http://h/p@x"), "http://h/p@x");
        assert!(Target::parse("ftp://x", None).is_err());
        assert!(Target::parse("http://", None).is_err());
    }

    #[test]
    fn a_token_in_any_form_is_never_shown() {
        for (text, url, token) in [
            (
                "libsql://db.example.io?AuthToken=SECRET",
                "https://db.example.io",
                true,
            ),
            (
                "https://db.example.io/?AUTHTOKEN=SECRET&x=1",
                "https://db.example.io?x=1",
                true,
            ),
            (
                "http://user:SECRET@127.0.0.1:8080",
                "http://user:SECRET@127.0.0.1:8080",
                false,
            ),
            (
                "http://SECRET@127.0.0.1:8080/db?authtoken=SECRET",
                "http://SECRET@127.0.0.1:8080/db",
                true,
            ),
        ] {
            let t = Target::parse(text, None).unwrap();
            assert_eq!(
                t,
                Target::Remote {
                    url: url.into(),
                    token: token.then(|| "SECRET".into())
                },
                "{text}"
            );
            assert!(!t.to_string().contains("SECRET"), "{t}");
            assert!(!mask(text).contains("SECRET"), "{}", mask(text));
            assert!(carries_token(text));
        }
        assert_eq!(
            mask("ftp://u:SECRET@h/x?authToken=S2&a=b"),
            "ftp://***@h/x?authToken=***&a=b"
        );
        for text in [
            "ftp://u:SECRET@h",
            "file:?authToken=SECRET",
            "http://u:SECRET@/x",
        ] {
            let e = Target::parse(text, None).unwrap_err().to_string();
            assert!(!e.contains("SECRET"), "{e}");
        }
        assert!(!carries_token("libsql://db.example.io"));
    }
}
