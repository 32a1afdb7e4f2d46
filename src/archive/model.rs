//! What the archive stores about sources, observations and versions.

use adarchive_importers::redact::redact_text;
use adarchive_importers::Locator;
use adarchive_schema::{RecordHash, Timestamp};
use serde::{Deserialize, Serialize};

/// The format name of a zip bundle in the manifest.
pub const ZIP_FORMAT: &str = "zip";

/// What importing a source did, counted: one type for a file, a bundle,
/// a whole run and a re-derivation, added up with `+=`.
///
/// ```
/// use adarchive::archive::ImportCounts;
/// let mut total = ImportCounts::default();
/// total += ImportCounts { records: 3, new: 2, unchanged: 1, ..Default::default() };
/// total += ImportCounts { records: 1, updated: 1, quarantined: 4, ..Default::default() };
/// assert_eq!((total.records, total.new, total.updated, total.quarantined), (4, 2, 1, 4));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ImportCounts {
    /// Records read.
    pub records: u64,
    /// Ads not in the archive before.
    pub new: u64,
    /// Ads whose record changed: a new version.
    pub updated: u64,
    /// Ads whose record is the one already archived.
    pub unchanged: u64,
    /// Rows sent to quarantine.
    pub quarantined: u64,
    /// Rows of aggregate spend reports (not ads).
    pub report_rows: u64,
    /// Days of exchange rates.
    pub rate_rows: u64,
    /// Values kept verbatim because they could not be normalized.
    pub unnormalized: u64,
}

impl std::ops::AddAssign for ImportCounts {
    fn add_assign(&mut self, other: Self) {
        self.records += other.records;
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.quarantined += other.quarantined;
        self.report_rows += other.report_rows;
        self.rate_rows += other.rate_rows;
        self.unnormalized += other.unnormalized;
    }
}

impl ImportCounts {
    /// What importing an archived source again does: every record is one
    /// the archive holds.
    pub fn again(entry: &SourceEntry) -> Self {
        ImportCounts {
            records: entry.records,
            unchanged: entry.records,
            quarantined: entry.quarantined,
            report_rows: entry.report_rows,
            rate_rows: entry.rate_rows,
            unnormalized: entry.unnormalized,
            ..Self::default()
        }
    }
}

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
    /// The scope of which it is a complete listing (`snap:2024`), decided
    /// when it was first imported, from its format and the name it had
    /// then (a folder or zip called `2024` names Snap's year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_scope: Option<String>,
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
    /// For a file a collector fetched: the request it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched: Option<FetchedFrom>,
}

/// The request a collected file answered, as the manifest keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchedFrom {
    /// The address with its parameters, credentials removed.
    pub request: String,
    /// When the answer arrived (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// When the answer was the last page of a collection that asked one
    /// query from its first page to its end: that collection, a complete
    /// listing of what the query finds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completes: Option<Collected>,
}

/// A collection of one query, run from its first page to its last: the
/// pages together are a complete listing of the query's scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Collected {
    /// The query's scope (`meta:query:NL:4f1c9a0b2e7d`).
    pub scope: String,
    /// The blake3 of each page before the last, in the order they came.
    pub pages: Vec<String>,
}

impl SourceEntry {
    /// The entry of a source imported for the first time, under `name`,
    /// as `format`, having given `counts`; its sequence number is given
    /// when it is committed.
    pub fn new(
        blake3: &str,
        size: u64,
        name: &str,
        format: &str,
        imported_at: Timestamp,
        counts: &ImportCounts,
    ) -> Self {
        let mut entry = SourceEntry {
            blake3: blake3.to_owned(),
            original_blake3: None,
            redacted_tokens: 0,
            size,
            names: vec![name.to_owned()],
            read_as: None,
            format: format.to_owned(),
            listing_scope: None,
            importer_version: None,
            imported_at,
            seq: 0,
            records: 0,
            quarantined: 0,
            report_rows: 0,
            rate_rows: 0,
            unnormalized: 0,
            members: Vec::new(),
            fetched: None,
        };
        entry.set_counts(counts);
        entry
    }

    /// Keeps in the manifest what stays true of the source whatever the
    /// archive held before it: how many rows of each kind it gave.
    pub fn set_counts(&mut self, counts: &ImportCounts) {
        self.records = counts.records;
        self.quarantined = counts.quarantined;
        self.report_rows = counts.report_rows;
        self.rate_rows = counts.rate_rows;
        self.unnormalized = counts.unnormalized;
    }

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

/// The provenance trail of an ad: where every reading of it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Provenance {
    /// The ad.
    pub uid: String,
    /// Every observation, in import order of their sources.
    pub observations: Vec<Observation>,
    /// The manifest entries of the sources observed, in that order.
    pub sources: Vec<SourceEntry>,
    /// Where the transparency log holds those sources, with the proofs
    /// against its newest checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::tlog::LogInclusion>,
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
