//! X (Twitter) political ads disclosure CSV, alone or inside its zip.
//!
//! Columns are matched by name (`Screen Name`, `Tweet Id`, `Tweet Url`,
//! `Day of Start Date Adgroup`, `Day of End Date Adgroup`, `Targeting Name`,
//! `Interest Targeting`, `Geo Targeting`, `Gender Targeting`,
//! `Age Targeting`, `Impressions`, `Spend_USD`); any other column is kept in
//! `unmapped`. `Tweet Id` is read as text: the ids exceed what a float holds.
//! The date format of these files is not documented, so the common
//! spellings are accepted and a row with any other date is quarantined with
//! the value shown.

use std::io::Read;

use adarchive_schema::{Ad, CountRange, Platform, SpendRange, Timestamp};
use time::macros::format_description;
use time::Date;

use crate::csv_rows::{read_mapped, sniff_header, Header, Row};
use crate::mapping::Mapping;
use crate::normalize::{timestamp, whole_number};
use crate::{Entry, Importer, ParsedRecord, Problem, ReadError, Sink};

/// The X political ads importer.
pub struct XPoliticalAds;

const NAME: &str = "x-political-ads";

/// The columns known to exist in X's files, each mapped to a dedicated
/// field; every other column is kept in `unmapped`.
pub const KNOWN_COLUMNS: &[&str] = &[
    "Screen Name",
    "Tweet Id",
    "Tweet Url",
    "Day of Start Date Adgroup",
    "Day of End Date Adgroup",
    "Targeting Name",
    "Interest Targeting",
    "Geo Targeting",
    "Gender Targeting",
    "Age Targeting",
    "Impressions",
    "Spend_USD",
];

impl Importer for XPoliticalAds {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::X)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "X (Twitter) political ads disclosure CSV (alone or in its zip)"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_header(head).is_some_and(|h| h.iter().any(|c| c == "Tweet Id"))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped(NAME, input, sink, "Tweet Id", map_row)
    }

    /// X published one disclosure file of every political ad it ran.
    fn listing_scope(&self, _name: &str, _head: &[u8]) -> Option<crate::ListingScope> {
        Some(crate::ListingScope::Named("x:political-ads".to_owned()))
    }
}

/// A date as these files may spell it: `2018-09-12`, `9/12/2018` (month
/// first, as in X's US exports), `Sep 12, 2018`, `September 12, 2018`,
/// `12 September 2018`, or any timestamp the other importers accept
/// (`12.09.2018`, as a spreadsheet in a European locale re-saves it).
///
/// ```
/// use adarchive_importers::x_political_ads::disclosure_date;
/// let day = |s| disclosure_date(s).map(|t| t.to_string());
/// assert_eq!(day("9/12/2018").as_deref(), Some("2018-09-12T00:00:00Z"));
/// assert_eq!(day("September 12, 2018").as_deref(), Some("2018-09-12T00:00:00Z"));
/// assert_eq!(day("12 Sep 2018").as_deref(), Some("2018-09-12T00:00:00Z"));
/// assert_eq!(day("12.09.2018").as_deref(), Some("2018-09-12T00:00:00Z"));
/// assert_eq!(day("Sept 2018"), None);
/// ```
pub fn disclosure_date(value: &str) -> Option<Timestamp> {
    let v = value.trim();
    if let Some(t) = timestamp(v) {
        return Some(t);
    }
    let formats = [
        format_description!("[month padding:none]/[day padding:none]/[year]"),
        format_description!("[month repr:long] [day padding:none], [year]"),
        format_description!("[month repr:short] [day padding:none], [year]"),
        format_description!("[day padding:none] [month repr:long] [year]"),
        format_description!("[day padding:none] [month repr:short] [year]"),
        format_description!("[day padding:none]-[month repr:short]-[year]"),
    ];
    formats
        .iter()
        .find_map(|f| Date::parse(v, f).ok())
        .map(Timestamp::from_date)
}

/// A dollar amount such as `1,234.56` or `$12`, as the whole-dollar range
/// that contains it.
fn dollars(value: &str) -> Option<SpendRange> {
    let v = value.trim().trim_start_matches('$').trim();
    if let Some(n) = whole_number(v) {
        return Some(SpendRange::exact("USD", n));
    }
    let cleaned: String = v.chars().filter(|c| *c != ',').collect();
    let amount: f64 = cleaned.parse().ok()?;
    (amount.is_finite() && amount >= 0.0).then(|| SpendRange {
        currency: "USD".into(),
        lower: amount.floor() as u64,
        upper: Some(amount.ceil() as u64),
    })
}

fn map_row<'a>(header: &Header, row: &Row<'a>) -> Entry<'a> {
    let problem = |field: &str, reason: String| {
        Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some(field.into()),
            reason,
        })
    };
    let Some(id) = row.value("Tweet Id") else {
        return problem("Tweet Id", "the tweet id is empty".into());
    };
    let mut m = Mapping::new(Ad::new(Platform::X, id));
    for (column, first) in [
        ("Day of Start Date Adgroup", true),
        ("Day of End Date Adgroup", false),
    ] {
        if let Some(v) = row.value(column) {
            match disclosure_date(v) {
                Some(t) if first => m.ad.first_shown = Some(t),
                Some(t) => m.ad.last_shown = Some(t),
                None => {
                    return problem(
                        column,
                        format!(
                            "`{v}` is not a date in a known format \
                             (YYYY-MM-DD, M/D/YYYY, Month D, YYYY, D Month YYYY)"
                        ),
                    )
                }
            }
        }
    }
    if let Some(name) = row.value("Screen Name") {
        let handle = name.trim_start_matches('@');
        m.ad.advertiser.id = Some(handle.to_owned());
        m.ad.advertiser.name = Some(handle.to_owned());
    }
    m.ad.creative.snapshot_url = row.value("Tweet Url").map(str::to_owned);
    if let Some(name) = row.value("Targeting Name") {
        m.ad.targeting
            .other
            .insert("targeting_name".into(), vec![name.to_owned()]);
    }
    m.ad.targeting.interests = row.list("Interest Targeting");
    m.ad.targeting.locations_included = row.list("Geo Targeting");
    m.ad.targeting.genders = row
        .list("Gender Targeting")
        .iter()
        .map(|g| crate::normalize::gender(g))
        .collect();
    m.ad.targeting.ages = row.list("Age Targeting");
    if let Some(impressions) = row.value("Impressions") {
        match whole_number(impressions) {
            Some(n) => m.ad.impressions = Some(CountRange::exact(n)),
            None => m.keep_unnormalized("Impressions", impressions),
        }
    }
    if let Some(spend) = row.value("Spend_USD") {
        match dollars(spend) {
            Some(range) => m.ad.spend.push(range),
            None => m.keep_unnormalized("Spend_USD", spend),
        }
    }
    for name in &header.names {
        if !KNOWN_COLUMNS.contains(&name.as_str()) {
            if let Some(v) = row.value(name) {
                m.keep(name, v);
            }
        }
    }
    Entry::Record(ParsedRecord {
        locator: row.locator,
        raw: row.raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}
