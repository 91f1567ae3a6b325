//! The registry's records as the rest of pkgdeck sees them, and the problem codes of
//! verification.

use serde::Serialize;

/// The metadata sections the ObjectStack manifest schema knows, in display order.
pub const SECTIONS: [&str; 7] = [
    "objects",
    "views",
    "apps",
    "flows",
    "agents",
    "tools",
    "translations",
];

/// One row of `sys_packages`, texts exactly as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRecord {
    pub rowid: i64,
    pub id: String,
    pub version: String,
    pub manifest: String,
    pub metadata: String,
    pub hash: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// The latest version of one package, as `list` shows it. `name` and `kind` are `None` when
/// the manifest cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSummary {
    pub rowid: i64,
    pub id: String,
    pub version: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub hash: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub versions: u64,
    /// False when the manifest text of the latest row is not JSON.
    pub manifest_readable: bool,
    /// Which version the ObjectStack server's `get(id)` answers, when not this one.
    pub served: super::Served,
}

/// One version of a package, as `versions` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSummary {
    pub rowid: i64,
    pub id: String,
    pub version: String,
    pub hash: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// The most recently inserted version (what `get ID` returns).
    pub latest: bool,
    /// The version the ObjectStack server's `get(id)` answers (none when its row is not JSON).
    pub served: bool,
}

/// A hard verification failure of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    HashMismatch,
    IdentityMismatch,
    ManifestInvalidJson,
    MetadataInvalidJson,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::HashMismatch => "hash_mismatch",
            Problem::IdentityMismatch => "identity_mismatch",
            Problem::ManifestInvalidJson => "manifest_invalid_json",
            Problem::MetadataInvalidJson => "metadata_invalid_json",
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// A verification warning: the row is intact but not as the reference service writes it, or
/// (with `verify --schema`) not what the ObjectStack schemas describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Warning {
    NoncanonicalJson,
    /// The manifest or a metadata item breaks its ObjectStack schema (spec 9).
    SchemaInvalid,
}

impl Warning {
    pub fn code(self) -> &'static str {
        match self {
            Warning::NoncanonicalJson => "noncanonical_json",
            Warning::SchemaInvalid => "schema_invalid",
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// The verification of one row, with what was compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub rowid: i64,
    pub id: String,
    pub version: String,
    pub stored_hash: String,
    pub computed_hash: String,
    /// `manifest.id` / `manifest.version` when the manifest is readable.
    pub manifest_id: Option<String>,
    pub manifest_version: Option<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Warning>,
    /// One sentence per problem or warning, naming what differs.
    pub details: Vec<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The outcome of verifying many rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    pub checked: u64,
    pub ok: u64,
    pub failed: Vec<Verification>,
    pub warnings: Vec<Verification>,
    /// True when the scan was stopped before the end.
    pub cancelled: bool,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishOutcome {
    pub id: String,
    pub version: String,
    pub hash: String,
    /// The row that was overwritten, when there was one with another hash.
    pub replaced: Option<PackageRecord>,
    /// True when the same (id, version, hash) was already there and nothing was written.
    pub unchanged: bool,
    /// Where the replaced row was saved before it was overwritten.
    pub trash_file: Option<std::path::PathBuf>,
    /// What the publish changed in the ObjectStack server's boot (spec 8.4).
    pub boot: super::BootChange,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOutcome {
    pub deleted: Vec<PackageRecord>,
    /// Rows that changed between being saved to the trash and the delete, and were kept.
    pub kept: Vec<PackageRecord>,
    pub trash_file: Option<std::path::PathBuf>,
    /// What the delete changed in the ObjectStack server's boot (spec 8.4).
    pub boot: super::BootChange,
}

/// What changed between two versions of a package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageDiff {
    pub id: String,
    pub from: String,
    pub to: String,
    /// Top-level manifest keys whose values differ: (key, old JSON or null, new JSON or null).
    pub manifest: Vec<FieldChange>,
    pub sections: Vec<SectionDiff>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionDiff {
    pub section: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ItemChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemChange {
    pub name: String,
    /// Pretty JSON of the item before and after, for a text diff.
    pub old: String,
    pub new: String,
}

impl PackageDiff {
    pub fn is_empty(&self) -> bool {
        self.manifest.is_empty() && self.sections.is_empty()
    }
}
