//! Spend as the platforms' aggregate reports publish it: one row of an
//! advertiser, location, weekly or geographic spend report.
//!
//! A report row is not an ad. Platforms publish these totals beside their ad
//! libraries (Meta's Ad Library Report, Google's advertiser-stats,
//! weekly-spend and geo-spend files), and they disagree with sums over ads in
//! practice, so the archive keeps both and labels each figure by origin.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Advertiser, Platform, RecordHash, SpendRange, Timestamp};

/// Which kind of report a row comes from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Total spend per advertiser (Meta `_advertisers.csv`, Google
    /// advertiser-stats).
    Advertiser,
    /// Spend per advertiser within one region (Meta `regions/*.csv`).
    AdvertiserInRegion,
    /// Spend per location (Meta `_locations.csv`).
    Location,
    /// Spend per advertiser and week (Google advertiser-weekly-spend).
    AdvertiserWeek,
    /// Spend per country and subdivision (Google geo-spend).
    Geo,
    /// An advertiser id that replaced an older one (Google
    /// `advertiser_id_mapping.csv`); carries no spend.
    AdvertiserIdChange,
    /// The keywords with the most spend in one week (Google
    /// top-keywords-history, US, 2018–2019); the spend is per keyword, in
    /// `keywords`, never a total.
    TopKeywords,
    /// An ad campaign, its dates and targeting (Google campaign-targeting,
    /// until 2020); carries no spend.
    Campaign,
    /// What an advertiser declared to a regulator (Google
    /// advertiser-declared-stats: California committees, New Zealand
    /// promoter statements); carries no spend.
    AdvertiserDeclaration,
}

/// One keyword of a top-keywords row and the spend on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeywordSpend {
    /// The keyword as published.
    pub keyword: String,
    /// Its place in the row, 1 for the most spend.
    pub rank: u32,
    /// The spend on it, when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<SpendRange>,
}

/// An official identifier an advertiser published, such as an FEC
/// committee id or a US employer id.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Identifier {
    /// `FEC`, `EIN`, a committee register's name, `google_advertiser_id`, …
    pub kind: String,
    /// The identifier as published (`C00676700`, `46-3931666`).
    pub value: String,
}

/// One row of an aggregate spend report.
///
/// Fields are declared in alphabetical order, so serde's output is the
/// canonical JSON (see [`ReportRow::canonical_json`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportRow {
    /// The advertiser (Meta page, Google advertiser), when the row is one.
    #[serde(default)]
    pub advertiser: Advertiser,
    /// Ads the report counts for this row (`Number of ads in Library`,
    /// `Total_Creatives`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ads: Option<u64>,
    /// The country the figure is for, ISO 3166-1 alpha-2, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The countries a figure covers when it covers several (Google's
    /// advertiser stats list every country an advertiser ran ads in); then
    /// `country` is absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Elections or election cycles the row names (`US-Federal-2018`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elections: Vec<String>,
    /// Who paid, as the report prints it (Meta's `Disclaimer`). Meta's
    /// placeholder for ads run without one is kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder: Option<String>,
    /// Official identifiers the row lists (Google `Public_IDs_List`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
    /// Keywords and the spend on each (top-keywords rows only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<KeywordSpend>,
    /// The kind of report.
    pub kind: ReportKind,
    /// A place below the country: a region or location name, a
    /// subdivision code (`US-CA`), a district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The period the figure covers as the report names it: `yesterday`,
    /// `last_7_days`, `last_30_days`, `last_90_days`, `lifetime`,
    /// `this_week`, `to_date`, `week`, `all_time`.
    pub period: String,
    /// Last day of the period, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<Timestamp>,
    /// First day of the period, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<Timestamp>,
    /// The publishing platform.
    pub platform: Platform,
    /// Regions the row lists that are not countries (`EU`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// The date the report was published for, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_date: Option<Timestamp>,
    /// Spend per currency. Meta's `≤100` is the range 0–100; exact figures
    /// have `lower == upper`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spend: Vec<SpendRange>,
    /// True when the `spend` entries are one amount expressed in several
    /// currencies (Google's 2018–2019 files print every total in every
    /// currency) and must never be added together; false when each
    /// currency is a separate part of the spend (Google's later files).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spend_alternatives: bool,
    /// Source values with no place above, by the source's own column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmapped: BTreeMap<String, Value>,
}

impl ReportRow {
    /// An empty row of `kind` for `period`.
    ///
    /// ```
    /// use adarchive_schema::{Platform, ReportKind, ReportRow};
    /// let row = ReportRow::new(Platform::Meta, ReportKind::Advertiser, "yesterday");
    /// assert_eq!(row.period, "yesterday");
    /// assert!(row.spend.is_empty());
    /// ```
    pub fn new(platform: Platform, kind: ReportKind, period: &str) -> Self {
        ReportRow {
            advertiser: Advertiser::default(),
            ads: None,
            country: None,
            countries: Vec::new(),
            elections: Vec::new(),
            funder: None,
            identifiers: Vec::new(),
            keywords: Vec::new(),
            kind,
            location: None,
            period: period.to_owned(),
            period_end: None,
            period_start: None,
            platform,
            regions: Vec::new(),
            report_date: None,
            spend: Vec::new(),
            spend_alternatives: false,
            unmapped: BTreeMap::new(),
        }
    }

    /// The row's canonical JSON (sorted keys, no whitespace, absent fields
    /// omitted).
    pub fn canonical_json(&self) -> Vec<u8> {
        crate::to_canonical_json(self).unwrap_or_default()
    }

    /// `blake3(canonical_json)`.
    ///
    /// ```
    /// use adarchive_schema::{Platform, ReportKind, ReportRow};
    /// let row = ReportRow::new(Platform::Google, ReportKind::Geo, "all_time");
    /// assert_eq!(row.row_hash(), row.clone().row_hash());
    /// ```
    pub fn row_hash(&self) -> RecordHash {
        RecordHash::of(&self.canonical_json())
    }
}
