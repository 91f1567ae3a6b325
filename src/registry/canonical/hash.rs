//! The registry's integrity hash,
//! `sha256('{"manifest":' + manifest_text + ',"metadata":' + metadata_text + '}')`, computed
//! over the pieces without concatenating them, and its hex form.

use sha2::{Digest, Sha256};

const HASH_PREFIX: &[u8] = b"{\"manifest\":";
const HASH_MIDDLE: &[u8] = b",\"metadata\":";
const HASH_SUFFIX: &[u8] = b"}";

/// Lowercase hex SHA-256 of `'{"manifest":' + manifest_text + ',"metadata":' +
/// metadata_text + '}'`, the registry's `hash` column.
pub fn integrity_hash(manifest_text: &str, metadata_text: &str) -> String {
    to_hex(&Hasher::new().hash(manifest_text, metadata_text))
}

/// Reusable integrity hasher for streaming verification: no allocation per
/// row.
#[derive(Clone, Default)]
pub struct Hasher {
    sha: Sha256,
}

impl Hasher {
    pub fn new() -> Self {
        Hasher { sha: Sha256::new() }
    }

    /// SHA-256 of `'{"manifest":' + manifest_text + ',"metadata":' + metadata_text + '}'`.
    pub fn hash(&mut self, manifest_text: &str, metadata_text: &str) -> [u8; 32] {
        self.hash_bytes(manifest_text.as_bytes(), metadata_text.as_bytes())
    }

    /// [`Hasher::hash`] of the texts' bytes as the store holds them.
    pub fn hash_bytes(&mut self, manifest: &[u8], metadata: &[u8]) -> [u8; 32] {
        self.sha.update(HASH_PREFIX);
        self.sha.update(manifest);
        self.sha.update(HASH_MIDDLE);
        self.sha.update(metadata);
        self.sha.update(HASH_SUFFIX);
        self.sha.finalize_reset().into()
    }

    /// Whether the row's texts hash to `expected_hex` (case-insensitive hex),
    /// without allocating.
    pub fn matches(
        &mut self,
        manifest_text: &str,
        metadata_text: &str,
        expected_hex: &str,
    ) -> bool {
        hex_eq(&self.hash(manifest_text, metadata_text), expected_hex)
    }

    /// Same as the free function [`to_hex`].
    pub fn to_hex(digest: &[u8; 32]) -> String {
        to_hex(digest)
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

/// Lowercase hex of a digest (64 characters).
pub fn to_hex(digest: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for &b in digest {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Whether `hex` (either case) spells `digest`: the digest written in lowercase, compared
/// byte for byte (case folded only when that differs).
pub fn hex_eq(digest: &[u8; 32], hex: &str) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut lower = [0u8; 64];
    for (pair, &b) in lower.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 0xf) as usize];
    }
    let hex = hex.as_bytes();
    hex == lower || hex.eq_ignore_ascii_case(&lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_hash_over_pieces() {
        let m = r#"{"id":"a","version":"1.0.0"}"#;
        let d = r#"{"objects":[]}"#;
        let whole = format!("{{\"manifest\":{m},\"metadata\":{d}}}");
        let expected = to_hex(&Sha256::digest(whole.as_bytes()).into());
        assert_eq!(integrity_hash(m, d), expected);
        assert_eq!(expected.len(), 64);
        assert!(expected
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        // Reusing a hasher gives the same digests.
        let mut h = Hasher::new();
        let first = h.hash(m, d);
        let _ = h.hash("{}", "{}");
        assert_eq!(h.hash(m, d), first);
        assert_eq!(Hasher::to_hex(&first), expected);
        assert!(h.matches(m, d, &expected));
        assert!(h.matches(m, d, &expected.to_uppercase()));
        assert!(!h.matches(m, "{}", &expected));
        assert!(!h.matches(m, d, &expected[..63]));
        // Known value: sha256('{"manifest":{},"metadata":{}}').
        assert_eq!(
            integrity_hash("{}", "{}"),
            to_hex(&Sha256::digest(br#"{"manifest":{},"metadata":{}}"#).into())
        );
        assert_ne!(integrity_hash("{}", "{}"), integrity_hash("{} ", "{}"));
    }
}
