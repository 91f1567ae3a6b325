//! Which proxy a remote target is reached through: `https_proxy`/`HTTPS_PROXY`,
//! `http_proxy`/`HTTP_PROXY`, `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY`, read the way
//! curl reads them, and how a proxy is shown (its credentials masked).
//!
//! curl's rules, kept here: an https URL uses `https_proxy`, an http URL `http_proxy`, either
//! falls back to `all_proxy`; the lower-case name wins over the upper-case one; an empty value
//! is unset. `NO_PROXY` is a comma (or space) separated list: `*` bypasses the proxy for every
//! host; a name bypasses it for that host and every subdomain (a leading `.` or `*.` changes
//! nothing); an IP address or CIDR block matches hosts written as IP literals (no DNS lookup); an
//! entry with `:PORT` matches that port only. Loopback is not exempt by itself (curl's rule, and
//! what lets the tests put a proxy in front of a local server).

use std::net::IpAddr;

use base64::Engine;

/// The variables that name a proxy, in the order they are consulted, for https and http URLs.
const HTTPS_VARS: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
const HTTP_VARS: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];
const NO_PROXY_VARS: [&str; 2] = ["no_proxy", "NO_PROXY"];
/// curl's default proxy port.
const DEFAULT_PROXY_PORT: u16 = 1080;

/// The proxy variables of the environment, read once when a store is opened.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyEnv {
    vars: Vec<(&'static str, String)>,
}

impl ProxyEnv {
    /// A snapshot of the process environment.
    pub(crate) fn from_env() -> ProxyEnv {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A snapshot taken through `lookup` (the environment, or a table in tests).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let vars = HTTPS_VARS
            .iter()
            .chain(HTTP_VARS.iter())
            .chain(NO_PROXY_VARS.iter())
            .filter_map(|&name| {
                let value = lookup(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_owned()))
            })
            .collect();
        ProxyEnv { vars }
    }

    fn first_of(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names.iter().find_map(|&name| {
            self.vars
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, v)| (*n, v.as_str()))
        })
    }

    /// The proxy for a request to `host:port` (`host` without brackets) over https or http,
    /// or `None` when no variable names one or `NO_PROXY` exempts the host. A variable whose
    /// value is not a usable proxy is an error naming it.
    pub(crate) fn proxy_for(
        &self,
        https: bool,
        host: &str,
        port: u16,
    ) -> Result<Option<Proxy>, String> {
        let Some((var, value)) = self.first_of(if https { &HTTPS_VARS } else { &HTTP_VARS }) else {
            return Ok(None);
        };
        if let Some((_, list)) = self.first_of(&NO_PROXY_VARS) {
            if no_proxy_matches(list, host, port) {
                return Ok(None);
            }
        }
        Proxy::parse(var, value).map(Some)
    }
}

/// An http proxy: where it listens, its credentials, and the variable that named it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// Without brackets for an IPv6 address.
    pub(crate) host: String,
    pub(crate) port: u16,
    user: Option<String>,
    password: Option<String>,
    /// The environment variable it came from, named in errors.
    pub(crate) var: &'static str,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proxy({})", self.shown())
    }
}

impl Proxy {
    /// Parses `[http://][user[:password]@]host[:port][/]` from the variable `var`.
    pub(crate) fn parse(var: &'static str, value: &str) -> Result<Proxy, String> {
        let bad = |why: &str| format!("{var} is not a usable proxy address ({why})");
        let value = value.trim();
        let rest =
            match value.split_once("://") {
                Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                    "http" => rest,
                    "https" => return Err(bad(
                        "pkgdeck cannot speak TLS to the proxy itself: give its http:// address",
                    )),
                    other => {
                        return Err(bad(&format!(
                            "{} proxies are not supported, only http:// ones",
                            one_word(other)
                        )))
                    }
                },
                None => value,
            };
        // The authority ends at the first '/' (a trailing path is ignored, as curl does).
        let authority = rest.split('/').next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => {
                let (u, p) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                (Some(percent_decode(u)), p.map(percent_decode))
            }
            None => (None, None),
        };
        let (host, port) =
            split_host_port(hostport).ok_or_else(|| bad("its port is not a number"))?;
        if host.is_empty() {
            return Err(bad("it names no host"));
        }
        if host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '@') {
            return Err(bad("its host name is not valid"));
        }
        Ok(Proxy {
            host: host.to_owned(),
            port: port.unwrap_or(DEFAULT_PROXY_PORT),
            user,
            password,
            var,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The proxy as it may be shown: `http://***@host:port (HTTPS_PROXY)`; credentials, user
    /// name included, never appear.
    pub(crate) fn shown(&self) -> String {
        let creds = if self.user.is_some() { "***@" } else { "" };
        format!("http://{creds}{} ({})", self.authority(), self.var)
    }

    /// The `Proxy-Authorization` value, when the proxy URL carries credentials.
    pub(crate) fn authorization(&self) -> Option<String> {
        let user = self.user.as_deref()?;
        let pair = format!("{user}:{}", self.password.as_deref().unwrap_or(""));
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when a port is there but not a number. A bare
/// IPv6 address (several colons, no brackets) is all host.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(inner) = text.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((text, None)),
    }
}

/// Whether the `NO_PROXY` list exempts `host:port` (see the module comment for the rules).
pub(crate) fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.parse().ok();
    for entry in list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
    {
        if entry == "*" {
            return true;
        }
        let (name, entry_port) = if entry.contains('/') {
            (entry, None)
        } else {
            match split_host_port(entry) {
                Some(parts) => parts,
                None => continue,
            }
        };
        if entry_port.is_some_and(|p| p != port) {
            continue;
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some((net, bits)) = name.split_once('/') {
            if let (Some(ip), Ok(net), Ok(bits)) = (host_ip, net.parse::<IpAddr>(), bits.parse()) {
                if in_cidr(ip, net, bits) {
                    return true;
                }
            }
            continue;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        let name = name.trim_start_matches("*.").trim_start_matches('.');
        if name.is_empty() {
            continue;
        }
        if host == name
            || (host.len() > name.len()
                && host.ends_with(name)
                && host.as_bytes()[host.len() - name.len() - 1] == b'.')
        {
            return true;
        }
    }
    false
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// `%XX` escapes decoded (proxy credentials may hold `@` or `:` written that way).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// A scheme name safe to quote: letters, digits and `+-.` only, at most 16 characters.
fn one_word(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ProxyEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn picks_the_variable_for_the_scheme_like_curl() {
        let e = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("HTTP_PROXY", "plain:3"),
            ("ALL_PROXY", "all:4"),
        ]);
        let p = e.proxy_for(true, "db.example", 443).unwrap().unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.var),
            ("lower", 2, "https_proxy")
        );
        let p = e.proxy_for(false, "db.example", 80).unwrap().unwrap();
        assert_eq!((p.host.as_str(), p.port, p.var), ("plain", 3, "HTTP_PROXY"));
        let e = env(&[("ALL_PROXY", "all"), ("https_proxy", "  ")]);
        let p = e.proxy_for(true, "db.example", 443).unwrap().unwrap();
        assert_eq!((p.host.as_str(), p.port, p.var), ("all", 1080, "ALL_PROXY"));
        // HTTP_PROXY alone does not serve https URLs (curl's rule).
        let e = env(&[("HTTP_PROXY", "http://p:3128")]);
        assert_eq!(e.proxy_for(true, "db.example", 443).unwrap(), None);
        assert_eq!(env(&[]).proxy_for(true, "x", 1).unwrap(), None);
    }

    #[test]
    fn parses_and_masks_proxy_addresses() {
        let p = Proxy::parse("HTTPS_PROXY", "http://al%40ice:s3cr%3At@proxy.corp:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.shown(), "http://***@proxy.corp:3128 (HTTPS_PROXY)");
        assert!(!format!("{p:?}").contains("s3cr"));
        let expected = base64::engine::general_purpose::STANDARD.encode("al@ice:s3cr:t");
        assert_eq!(p.authorization(), Some(format!("Basic {expected}")));
        let p = Proxy::parse("HTTPS_PROXY", "[::1]:8080").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 8080));
        assert_eq!(p.authority(), "[::1]:8080");
        assert_eq!(p.authorization(), None);
        assert_eq!(p.shown(), "http://[::1]:8080 (HTTPS_PROXY)");
        let p = Proxy::parse("http_proxy", "HTTP://10.0.0.1").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("10.0.0.1", 1080));
        for bad in [
            "https://p:1",
            "socks5://p:1",
            "http://p:port",
            "http://:8080",
            "http://u:pw@",
        ] {
            let err = Proxy::parse("HTTPS_PROXY", bad).unwrap_err();
            assert!(
                err.starts_with("HTTPS_PROXY is not a usable proxy"),
                "{err}"
            );
            assert!(!err.contains("pw"), "{err}");
        }
    }

    #[test]
    fn no_proxy_follows_curl() {
        let cases: &[(&str, &str, u16, bool)] = &[
            ("*", "anything.example", 443, true),
            ("example.com", "example.com", 443, true),
            ("example.com", "db.example.com", 443, true),
            ("example.com", "badexample.com", 443, false),
            (".example.com", "example.com", 443, true),
            (".example.com", "a.b.example.com", 443, true),
            ("*.example.com", "db.example.com", 443, true),
            ("EXAMPLE.com.", "Db.Example.COM", 443, true),
            ("other.org, example.com", "db.example.com", 443, true),
            ("other.org example.com", "db.example.com", 443, true),
            ("localhost:8443", "localhost", 8443, true),
            ("localhost:8443", "localhost", 443, false),
            ("10.1.2.3", "10.1.2.3", 443, true),
            ("10.1.2.3", "10.1.2.4", 443, false),
            ("10.0.0.0/8", "10.200.1.1", 443, true),
            ("10.0.0.0/8", "11.0.0.1", 443, false),
            ("10.0.0.0/8", "ten.example", 443, false),
            ("::1", "[::1]", 443, true),
            ("[::1]:8080", "::1", 8080, true),
            ("[::1]:8080", "::1", 8081, false),
            ("fd00::/8", "fd12::1", 443, true),
            ("", "example.com", 443, false),
            ("localhost", "127.0.0.1", 443, false),
        ];
        for &(list, host, port, expected) in cases {
            assert_eq!(
                no_proxy_matches(list, host, port),
                expected,
                "NO_PROXY={list:?} host={host} port={port}"
            );
        }
        let e = env(&[("HTTPS_PROXY", "p:1"), ("no_proxy", "db.example")]);
        assert_eq!(e.proxy_for(true, "db.example", 443).unwrap(), None);
        assert!(e.proxy_for(true, "other.example", 443).unwrap().is_some());
        // A bad proxy variable is only an error for the hosts that would use it.
        let e = env(&[("HTTPS_PROXY", "socks5://p"), ("NO_PROXY", "db.example")]);
        assert_eq!(e.proxy_for(true, "db.example", 443).unwrap(), None);
        assert!(e.proxy_for(true, "other", 443).is_err());
    }

    #[test]
    fn percent_decoding_keeps_broken_escapes() {
        assert_eq!(percent_decode("a%40b"), "a@b");
        assert_eq!(percent_decode("a%4"), "a%4");
        assert_eq!(percent_decode("%zz%"), "%zz%");
    }
}
