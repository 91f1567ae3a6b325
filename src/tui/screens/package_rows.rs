//! The Packages screen's rows, kept compact: every text of every package in one arena, and a
//! fixed-size record per package (the usual SHA-256 hex hash as its 32 bytes). A list of
//! 100,000 packages then holds about 20 MB instead of the 60 MB of as many
//! [`PackageSummary`]s, each with its eight allocations. A summary is made again, exactly as
//! received, for the one row that is opened, copied or verified.

use crate::registry::{PackageSummary, Served};

/// The texts of a row, in the order they sit in the arena.
const ID: usize = 0;
const VERSION: usize = 1;
const NAME: usize = 2;
const KIND: usize = 3;
const CREATED: usize = 4;
const UPDATED: usize = 5;
/// The version the server serves, when not the latest.
const SERVED: usize = 6;
/// The hash, when it is not 64 lowercase hex digits.
const HASH: usize = 7;
const TEXTS: usize = 8;

/// Which optional texts are there (`None` and `Some("")` differ), and the rest of a row.
const HAS_NAME: u8 = 1;
const HAS_KIND: u8 = 1 << 1;
const HAS_CREATED: u8 = 1 << 2;
const HAS_UPDATED: u8 = 1 << 3;
const READABLE: u8 = 1 << 4;
const HEX_HASH: u8 = 1 << 5;
const SERVED_TIE: u8 = 1 << 6;
const SERVED_UNREADABLE: u8 = 1 << 7;

#[derive(Debug, Clone)]
struct Packed {
    rowid: i64,
    versions: u64,
    /// Where the row's texts start in the arena; each text's length follows.
    start: usize,
    lens: [u32; TEXTS],
    hash: [u8; 32],
    flags: u8,
}

#[derive(Debug, Default, Clone)]
pub struct PackageRows {
    text: String,
    rows: Vec<Packed>,
}

/// The 32 bytes of a hash written as 64 lowercase hex digits (the only form that is kept
/// as bytes, so that writing it back gives the same text).
fn hex_bytes(hash: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = hash.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn hex_text(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

impl PackageRows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push(&mut self, p: &PackageSummary) {
        let hash = hex_bytes(&p.hash);
        let (served, served_flag) = match &p.served {
            Served::Latest => ("", 0),
            Served::Tie { version } => (version.as_str(), SERVED_TIE),
            Served::Unreadable { version } => (version.as_str(), SERVED_UNREADABLE),
        };
        let mut texts = [""; TEXTS];
        texts[ID] = &p.id;
        texts[VERSION] = &p.version;
        texts[NAME] = p.name.as_deref().unwrap_or("");
        texts[KIND] = p.kind.as_deref().unwrap_or("");
        texts[CREATED] = p.created_at.as_deref().unwrap_or("");
        texts[UPDATED] = p.updated_at.as_deref().unwrap_or("");
        texts[SERVED] = served;
        texts[HASH] = if hash.is_some() { "" } else { &p.hash };
        let start = self.text.len();
        let mut lens = [0u32; TEXTS];
        for (len, t) in lens.iter_mut().zip(texts) {
            // SQLite holds no text near 4 GiB; a longer one would be cut, not misread.
            *len = u32::try_from(t.len()).unwrap_or(u32::MAX);
            self.text.push_str(&t[..*len as usize]);
        }
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        self.rows.push(Packed {
            rowid: p.rowid,
            versions: p.versions,
            start,
            lens,
            hash: hash.unwrap_or_default(),
            flags: flag(p.name.is_some(), HAS_NAME)
                | flag(p.kind.is_some(), HAS_KIND)
                | flag(p.created_at.is_some(), HAS_CREATED)
                | flag(p.updated_at.is_some(), HAS_UPDATED)
                | flag(p.manifest_readable, READABLE)
                | flag(hash.is_some(), HEX_HASH)
                | served_flag,
        });
    }

    fn text(&self, r: usize, which: usize) -> &str {
        let p = &self.rows[r];
        let at = p.start + p.lens[..which].iter().map(|l| *l as usize).sum::<usize>();
        &self.text[at..at + p.lens[which] as usize]
    }

    fn optional(&self, r: usize, which: usize, flag: u8) -> Option<&str> {
        (self.rows[r].flags & flag != 0).then(|| self.text(r, which))
    }

    pub fn id(&self, r: usize) -> &str {
        self.text(r, ID)
    }

    pub fn version(&self, r: usize) -> &str {
        self.text(r, VERSION)
    }

    pub fn name(&self, r: usize) -> Option<&str> {
        self.optional(r, NAME, HAS_NAME)
    }

    pub fn kind(&self, r: usize) -> Option<&str> {
        self.optional(r, KIND, HAS_KIND)
    }

    pub fn created_at(&self, r: usize) -> Option<&str> {
        self.optional(r, CREATED, HAS_CREATED)
    }

    pub fn versions(&self, r: usize) -> u64 {
        self.rows[r].versions
    }

    pub fn manifest_readable(&self, r: usize) -> bool {
        self.rows[r].flags & READABLE != 0
    }

    pub fn served(&self, r: usize) -> Served {
        let flags = self.rows[r].flags;
        let version = || self.text(r, SERVED).to_owned();
        if flags & SERVED_TIE != 0 {
            Served::Tie { version: version() }
        } else if flags & SERVED_UNREADABLE != 0 {
            Served::Unreadable { version: version() }
        } else {
            Served::Latest
        }
    }

    pub fn hash(&self, r: usize) -> String {
        let p = &self.rows[r];
        if p.flags & HEX_HASH != 0 {
            hex_text(&p.hash)
        } else {
            self.text(r, HASH).to_owned()
        }
    }

    /// Whether row `r` has the same latest version, hash and version count as row `o` of
    /// `other` (a reload highlights the packages where it does not).
    pub fn same_state(&self, r: usize, other: &PackageRows, o: usize) -> bool {
        self.rows[r].versions == other.rows[o].versions
            && self.version(r) == other.version(o)
            && self.hash_key(r) == other.hash_key(o)
    }

    /// The hash as kept: equal exactly when the hashes' texts are.
    fn hash_key(&self, r: usize) -> (bool, &[u8; 32], &str) {
        let p = &self.rows[r];
        (p.flags & HEX_HASH != 0, &p.hash, self.text(r, HASH))
    }

    /// The row as the registry handed it over.
    pub fn summary(&self, r: usize) -> PackageSummary {
        let p = &self.rows[r];
        PackageSummary {
            rowid: p.rowid,
            id: self.id(r).to_owned(),
            version: self.version(r).to_owned(),
            name: self.name(r).map(str::to_owned),
            kind: self.kind(r).map(str::to_owned),
            hash: self.hash(r),
            created_at: self.created_at(r).map(str::to_owned),
            updated_at: self.optional(r, UPDATED, HAS_UPDATED).map(str::to_owned),
            versions: p.versions,
            manifest_readable: p.flags & READABLE != 0,
            served: self.served(r),
        }
    }

    /// The row of the package `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        (0..self.rows.len()).find(|&r| self.id(r) == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, hash: &str, served: Served) -> PackageSummary {
        PackageSummary {
            rowid: 7,
            id: id.into(),
            version: "1.0.0".into(),
            name: Some(String::new()),
            kind: None,
            hash: hash.into(),
            created_at: Some("2024-01-01 00:00:00".into()),
            updated_at: None,
            versions: 3,
            manifest_readable: false,
            served,
        }
    }

    #[test]
    fn every_row_comes_back_as_it_was_received() {
        let hex = "00ff10ab".repeat(8);
        let rows = [
            summary("a", &hex, Served::Latest),
            // Not the hex form that is kept as bytes: kept as text.
            summary(
                "b",
                &hex.to_uppercase(),
                Served::Tie {
                    version: "0.9.0".into(),
                },
            ),
            summary(
                "é",
                "short",
                Served::Unreadable {
                    version: String::new(),
                },
            ),
            summary("", "", Served::Latest),
        ];
        let mut packed = PackageRows::default();
        for r in &rows {
            packed.push(r);
        }
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(&packed.summary(i), r);
        }
        assert_eq!(packed.name(0), Some(""));
        assert_eq!(packed.kind(0), None);
        assert_eq!(packed.position("é"), Some(2));
        assert!(packed.same_state(0, &packed, 0));
        assert!(!packed.same_state(0, &packed, 1));
    }
}
