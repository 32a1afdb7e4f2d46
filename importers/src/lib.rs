//! Readers for the ad libraries' real exports.
//!
//! Each module reads one source format and has the same shape: **detect**
//! the format from the first bytes of a file, **parse** it row by row while
//! streaming, **map** each row to an [`Ad`], and **report** every row that
//! cannot be read as a [`Problem`] that names its line and field. Importers
//! know nothing of storage, indexing or HTTP: bytes in, entries out.
//!
//! ```
//! use adarchive_importers::{detect, Entry};
//!
//! let csv = "ADID,CreativeUrl,Currency Code,Spend,Impressions,StartDate,EndDate,OrganizationName,CountryCode\n\
//!            0a1b,https://example.org,USD,120,4000,2020/09/09 21:57:05Z,,Ferris,united states\n";
//! let importer = detect(csv.as_bytes()).expect("a Snap file");
//! assert_eq!(importer.name(), "snap-political-ads");
//! let mut uids = Vec::new();
//! importer
//!     .read(&mut csv.as_bytes(), &mut |entry| {
//!         if let Entry::Record(r) = entry {
//!             uids.push(r.ad.uid.clone());
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! assert_eq!(uids, ["snap:0a1b"]);
//! ```

mod csv_rows;
mod error;
mod json_fields;
mod json_objects;
mod mapping;
pub mod normalize;
pub mod redact;
mod sniff;

pub mod google_tables;

use std::io::Read;

pub use adarchive_schema::{Ad, RateRow, ReportRow};
pub use error::{ReadError, SinkError};

/// Where a row or object sits in its source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Locator {
    /// 1-based line on which the row or object starts.
    pub line: u64,
    /// Offset of its first byte.
    pub byte_start: u64,
    /// Offset just past its last byte (a CSV row's line ending included).
    pub byte_end: u64,
}

/// A row or object that became a record.
#[derive(Debug)]
pub struct ParsedRecord<'a> {
    /// Where it came from.
    pub locator: Locator,
    /// Its bytes, exactly as in the source.
    pub raw: &'a [u8],
    /// The normalized record.
    pub ad: Ad,
    /// The fields (keys of the record's `unmapped`) whose values could not
    /// be normalized and were kept verbatim; one entry per value.
    pub unnormalized: Vec<String>,
}

/// A row of an aggregate spend report that became a [`ReportRow`].
#[derive(Debug)]
pub struct ParsedReport<'a> {
    /// Where it came from.
    pub locator: Locator,
    /// Its bytes, exactly as in the source.
    pub raw: &'a [u8],
    /// The normalized row.
    pub row: ReportRow,
    /// The fields (keys of the row's `unmapped`) whose values could not be
    /// normalized and were kept verbatim; one entry per value.
    pub unnormalized: Vec<String>,
}

/// A day of reference exchange rates.
#[derive(Debug)]
pub struct ParsedRates<'a> {
    /// Where it came from.
    pub locator: Locator,
    /// Its bytes, exactly as in the source.
    pub raw: &'a [u8],
    /// The rates.
    pub row: RateRow,
}

/// A row or object that could not be read; everything else still imports.
#[derive(Debug)]
pub struct Problem<'a> {
    /// Where it is.
    pub locator: Locator,
    /// Its bytes, exactly as in the source.
    pub raw: &'a [u8],
    /// The field at fault, by its name in the source, when one is.
    pub field: Option<String>,
    /// What is wrong, in words a user can act on.
    pub reason: String,
}

/// What an importer hands to its caller for each row or object.
// Entries are built once and moved straight into the sink; boxing the large
// variant would add an allocation per record on the import hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Entry<'a> {
    /// A record.
    Record(ParsedRecord<'a>),
    /// A row of an aggregate spend report.
    Report(ParsedReport<'a>),
    /// A day of exchange rates.
    Rates(ParsedRates<'a>),
    /// A row that goes to quarantine.
    Problem(Problem<'a>),
}

/// How the scope of a complete listing is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListingScope {
    /// Outright: `snap:2024`, `google:creative-stats`.
    Named(String),
    /// `<platform>:<year>`, the year in which most of the listed ads were
    /// first shown: a yearly file whose name lost its year (Snap's
    /// `PoliticalAds.csv`, taken out of its year's zip).
    YearFirstShown(&'static str),
}

/// Facts about a file that its format carries only in the file's name
/// (Meta's spend reports: country, date, period), stated by whoever imports
/// a copy whose name lost them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatedFacts {
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<&'static str>,
    /// The day the report was published for.
    pub date: Option<time::Date>,
    /// The period, as the format names it (`yesterday`, `last_7_days`, …).
    pub period: Option<&'static str>,
}

impl StatedFacts {
    /// Whether nothing is stated.
    pub fn is_empty(&self) -> bool {
        *self == StatedFacts::default()
    }
}

/// The receiver of entries; an error from it stops the read.
pub type Sink<'s> = dyn FnMut(Entry<'_>) -> Result<(), SinkError> + 's;

/// One source format.
pub trait Importer: Send + Sync {
    /// Stable format name, used by `--format` and kept in the manifest.
    fn name(&self) -> &'static str;
    /// The platform whose ads or spend reports the format holds (`None`
    /// for data that belongs to no platform, such as exchange rates).
    fn platform(&self) -> Option<adarchive_schema::Platform>;
    /// Version of the mapping; a change in output is a new version.
    fn version(&self) -> &'static str;
    /// One line for users: what file this is and where it comes from.
    fn description(&self) -> &'static str;
    /// The media type of this format's files (`text/csv`, `application/json`),
    /// for serving the stored originals.
    fn media_type(&self) -> &'static str;
    /// The media type of a file of this format that starts with `head`, for
    /// formats published both as CSV and as JSON (Google's tables from
    /// BigQuery); [`Importer::media_type`] for the others.
    fn media_type_of(&self, head: &[u8]) -> &'static str {
        let _ = head;
        self.media_type()
    }
    /// Whether `head` (the first bytes of a file, up to 64 KiB) is this format.
    fn detect(&self, head: &[u8]) -> bool;
    /// Whether files of this format usually carry credentials (see
    /// [`redact`]). Every file is redacted whatever its format; this only
    /// says whether the stored copy is worth hashing as it is written.
    fn carries_credentials(&self) -> bool {
        false
    }
    /// Streams `input`, handing each record or problem to `sink`.
    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError>;
    /// What the format reads from a file's name (for Meta's spend reports:
    /// country, date, period, region), in words, or `None` when names do
    /// not matter. Two names with different answers are different reports.
    fn facts_from_name(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }
    /// The facts (`country`, `date`, `period`) a file called `name` should
    /// carry in its name but does not; empty for formats whose names do not
    /// matter.
    fn facts_missing_from_name(&self, name: &str) -> Vec<&'static str> {
        let _ = name;
        Vec::new()
    }
    /// The name under which a file called `name` reads with `facts` stated
    /// (each stated fact replacing what the name says), for formats whose
    /// names carry facts; `None` for the others.
    fn name_stating(&self, name: &str, facts: &StatedFacts) -> Option<String> {
        let _ = (name, facts);
        None
    }
    /// The scope of which a file called `name` that starts with `head`
    /// (its first bytes, up to 64 KiB) is a complete listing, or `None`
    /// for a partial file (a page of an API, a query's answer).
    ///
    /// A complete listing names every ad the platform published in its
    /// scope at the time, so an ad of the scope absent from it has left the
    /// library; importing a partial file never says anything is missing.
    /// Formats that publish one complete file per scope (Snap's yearly
    /// file, Google's creative stats, X's disclosure file) say so here.
    fn listing_scope(&self, name: &str, head: &[u8]) -> Option<ListingScope> {
        let _ = (name, head);
        None
    }
    /// Like [`Importer::read`], for a file called `name` (its last path
    /// component matters). Formats that carry facts only in their file
    /// names — Meta's spend reports name their country, date and period
    /// there — read them from `name`; the others ignore it.
    fn read_named(
        &self,
        name: &str,
        input: &mut dyn Read,
        sink: &mut Sink<'_>,
    ) -> Result<(), ReadError> {
        let _ = name;
        self.read(input, sink)
    }
}

/// Registers the importers, one line each (module and type), in
/// detection order: a new format is its module and one line here.
macro_rules! importers {
    ( $( $module:ident :: $importer:ident, )* ) => {
        $( pub mod $module; )*

        /// Every importer, in detection order.
        pub fn all() -> &'static [&'static dyn Importer] {
            &[ $( &$module::$importer, )* ]
        }
    };
}

importers! {
    google_creative_stats::GoogleCreativeStats,
    meta_ads_archive::MetaAdsArchive,
    snap_political_ads::SnapPoliticalAds,
    microsoft_ad_library::MicrosoftAdLibrary,
    tiktok_commercial_content::TikTokCommercialContent,
    linkedin_ad_library::LinkedInAdLibrary,
    x_political_ads::XPoliticalAds,
    google_ads_transparency::GoogleAdsTransparency,
    meta_ad_library_report::MetaAdLibraryReport,
    google_spend_reports::GoogleSpendReports,
    ecb_euro_rates::EcbEuroRates,
}

/// The year a file's name gives (`2024.zip!/PoliticalAds.csv`,
/// `snap/2018_PoliticalAds2018.csv`), read from the last part of the path
/// that has one; `None` when no part has one or that part gives different
/// years. Years are four digits from 2000 to 2099 standing apart from
/// other digits.
///
/// ```
/// use adarchive_importers::year_in_name;
/// assert_eq!(year_in_name("2024.zip!/PoliticalAds.csv"), Some(2024));
/// assert_eq!(year_in_name("2018_PoliticalAds2018.csv"), Some(2018));
/// assert_eq!(year_in_name("exports-2026/2023_PoliticalAds.csv"), Some(2023));
/// assert_eq!(year_in_name("PoliticalAds.csv"), None);
/// assert_eq!(year_in_name("2023_to_2024.csv"), None);
/// assert_eq!(year_in_name("ads_120245.csv"), None);
/// ```
pub fn year_in_name(name: &str) -> Option<u16> {
    name.rsplit(['/', '\\', '!'])
        .map(years_in)
        .find(|years| !years.is_empty())
        .and_then(|years| match years.as_slice() {
            [first, rest @ ..] if rest.iter().all(|y| y == first) => Some(*first),
            _ => None,
        })
}

/// The years written in one part of a path, in order.
fn years_in(part: &str) -> Vec<u16> {
    part.split(|c: char| !c.is_ascii_digit())
        .filter(|digits| digits.len() == 4 && digits.starts_with("20"))
        .filter_map(|digits| digits.parse().ok())
        .collect()
}

/// The platforms some importer reads, in the schema's order.
///
/// ```
/// assert_eq!(adarchive_importers::platforms(), adarchive_schema::Platform::ALL);
/// ```
pub fn platforms() -> Vec<adarchive_schema::Platform> {
    adarchive_schema::Platform::ALL
        .into_iter()
        .filter(|p| all().iter().any(|i| i.platform() == Some(*p)))
        .collect()
}

/// The importer whose format `head` is, if any.
pub fn detect(head: &[u8]) -> Option<&'static dyn Importer> {
    all().iter().copied().find(|i| i.detect(head))
}

/// The importer called `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Importer> {
    all().iter().copied().find(|i| i.name() == name)
}

/// The names of every format, for messages that list what was tried.
pub fn format_names() -> Vec<&'static str> {
    all().iter().map(|i| i.name()).collect()
}
