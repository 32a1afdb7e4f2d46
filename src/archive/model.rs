//! What the archive stores about sources, observations and versions.

use adarchive_importers::redact::redact_text;
use adarchive_importers::Locator;
use adarchive_schema::{RecordHash, Timestamp};
use serde::{Deserialize, Serialize};

/// The format name of a zip bundle in the manifest.
pub const ZIP_FORMAT: &str = "zip";

/// One stored source file: the manifest entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// blake3 of the stored bytes; the file is `sources/<blake3>`.
    pub blake3: String,
    /// blake3 of the file as published, when the stored copy is redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_blake3: Option<String>,
    /// Credentials replaced by the redaction marker.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redacted_tokens: u64,
    /// Size of the stored bytes.
    pub size: u64,
    /// Names the file was imported under (a zip member as `bundle.zip/member.csv`).
    pub names: Vec<String>,
    /// The name its rows were read under when the importer stated facts
    /// its own name lacks (`FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv`
    /// for a Meta report saved as `AR.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_as: Option<String>,
    /// Importer name, or `zip` for a bundle.
    pub format: String,
    /// Importer version that derived the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importer_version: Option<String>,
    /// When it was first imported; also every observation's time.
    pub imported_at: Timestamp,
    /// Import order, from 0.
    pub seq: u64,
    /// Records read.
    pub records: u64,
    /// Rows sent to quarantine.
    pub quarantined: u64,
    /// Rows of aggregate spend reports derived from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub report_rows: u64,
    /// Days of exchange rates derived from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rate_rows: u64,
    /// Values kept verbatim because they could not be normalized.
    pub unnormalized: u64,
    /// For a bundle: its members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberEntry>,
}

impl SourceEntry {
    /// The name its rows are derived under: the stated one, else the first
    /// it was imported as.
    pub fn reading_name(&self) -> &str {
        self.read_as
            .as_deref()
            .or(self.names.first().map(String::as_str))
            .unwrap_or_default()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A member of a zip bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// Path inside the zip.
    pub name: String,
    /// Stored source hash, when it was imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// Why it was not imported, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// One record read from one place in one source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The ad.
    pub uid: String,
    /// The stored source it was read from.
    pub source_blake3: String,
    /// Position among the source's records and quarantined rows, from 0.
    pub ordinal: u64,
    /// Line and byte range of the raw row or object.
    pub locator: Locator,
    /// blake3 of the raw bytes.
    pub raw_hash: String,
    /// Importer and version.
    pub importer: String,
    /// Importer version.
    pub importer_version: String,
    /// Hash of the record derived.
    pub record_hash: RecordHash,
    /// When it was observed (the source's import time).
    pub observed_at: Timestamp,
}

/// One version of an ad.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// The ad.
    pub uid: String,
    /// 0 for the first version.
    pub seq: u32,
    /// The record.
    pub record_hash: RecordHash,
    /// The version this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<RecordHash>,
    /// The source that first showed this version.
    pub source_blake3: String,
    /// The observation in that source.
    pub ordinal: u64,
    /// When it was first observed.
    pub observed_at: Timestamp,
}

/// A quarantined row, as written to `quarantine/<source>.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// Stored source hash.
    pub source_blake3: String,
    /// Name the source was imported under.
    pub source_name: String,
    /// Position among the source's rows, from 0.
    pub ordinal: u64,
    /// 1-based line of the row.
    pub line: u64,
    /// Byte range of the row in the stored source.
    pub byte_start: u64,
    /// End of that range.
    pub byte_end: u64,
    /// The field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why the row was not imported.
    pub reason: String,
    /// blake3 of the raw bytes.
    pub raw_hash: String,
    /// The raw bytes as text (invalid UTF-8 replaced; the exact bytes are in the source at the byte range).
    pub raw: String,
}

/// The name of a source as it is kept and served: the file's own name,
/// never the folders it lay in on the importer's disk (a bundle member
/// keeps its path inside the bundle: `bundle.zip!/folder/member.csv`),
/// without control characters and with any credential redacted.
///
/// ```
/// use adarchive::archive::public_name;
/// assert_eq!(public_name("/home/alice/secret/PoliticalAds.csv"), "PoliticalAds.csv");
/// assert_eq!(public_name("C:\\Users\\b\\x.zip!/dir/a.csv"), "x.zip!/dir/a.csv");
/// assert_eq!(public_name("page?access_token=EAAB1&x\r\n.json"), "page?access_token=REDACTED&x.json");
/// ```
pub fn public_name(name: &str) -> String {
    let (file, member) = match name.split_once("!/") {
        Some((file, member)) => (file, Some(member)),
        None => (name, None),
    };
    let mut public = file.rsplit(['/', '\\']).next().unwrap_or(file).to_owned();
    if let Some(member) = member {
        public.push_str("!/");
        public.push_str(member);
    }
    let public: String = public.chars().filter(|c| !c.is_control()).collect();
    redact_text(&public)
}
