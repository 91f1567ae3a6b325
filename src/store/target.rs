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

impl Target {
    /// Parses a `--db` value. `libsql://` means https. A token in the URL is taken out of it
    /// and used as the bearer token: an `authToken=` query parameter (the name in any letter
    /// case), else the password (or the lone user) of a `user:password@` part; otherwise the
    /// token comes from `env_token`. The URL kept never holds either. Errors never show the
    /// text with its token: see [`mask`].
    pub fn parse(text: &str, env_token: Option<String>) -> Result<Target, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the target is empty".into());
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
                return Err(format!("the target {:?} names no file", mask(text)));
            }
            return Ok(Target::Local(PathBuf::from(path)));
        } else if lower.contains("://") {
            let scheme = &text[..text.find("://").unwrap_or(0)];
            return Err(format!(
                "the target scheme {:?} is not supported (use a path, file:PATH, libsql://, https:// or http://)",
                mask(scheme)
            ));
        } else {
            return Ok(Target::Local(PathBuf::from(text)));
        };
        let (base, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match base.find('/') {
            Some(i) => (&base[..i], &base[i..]),
            None => (base, ""),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err("the remote target names no host".into());
        }
        let mut token = userinfo
            .map(|u| u.split_once(':').map_or(u, |(_, password)| password))
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
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
        let mut url = format!("{scheme}{host}{}", path.trim_end_matches('/'));
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
    let mut shown = text.to_owned();
    if let Some(start) = shown.find("://").map(|i| i + 3) {
        let end = shown[start..]
            .find(['/', '?', '#'])
            .map_or(shown.len(), |i| start + i);
        if let Some(at) = shown[start..end].rfind('@') {
            shown.replace_range(start..start + at, "***");
        }
    }
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

/// Whether a target text carries a token of its own (an `authToken=` parameter in any
/// letter case, or a `user:password@` part), which a saved connection must not.
pub fn carries_token(text: &str) -> bool {
    mask(text) != text
}

/// The masked form: a remote target shows `token=***` when it carries a token.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local(path) => write!(f, "{}", path.display()),
            Target::Remote { url, token } => {
                write!(f, "{url}")?;
                if token.is_some() {
                    write!(f, " (token ***)")?;
                }
                Ok(())
            }
        }
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
        assert!(Target::parse("ftp://x", None).is_err());
        assert!(Target::parse("http://", None).is_err());
    }

    #[test]
    fn a_token_in_any_form_is_taken_out_and_never_shown() {
        for (text, url) in [
            (
                "libsql://db.example.io?AuthToken=SECRET",
                "https://db.example.io",
            ),
            (
                "https://db.example.io/?AUTHTOKEN=SECRET&x=1",
                "https://db.example.io?x=1",
            ),
            ("http://user:SECRET@127.0.0.1:8080", "http://127.0.0.1:8080"),
            (
                "http://SECRET@127.0.0.1:8080/db?authtoken=SECRET",
                "http://127.0.0.1:8080/db",
            ),
        ] {
            let t = Target::parse(text, None).unwrap();
            assert_eq!(
                t,
                Target::Remote {
                    url: url.into(),
                    token: Some("SECRET".into())
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
        let e = Target::parse("ftp://u:SECRET@h", None).unwrap_err();
        assert!(!e.contains("SECRET"), "{e}");
        let e = Target::parse("file:?authToken=SECRET", None).unwrap_err();
        assert!(!e.contains("SECRET"), "{e}");
        assert!(!carries_token("libsql://db.example.io"));
    }
}
