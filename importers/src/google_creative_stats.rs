//! Google Political Ads transparency bundle: `google-political-ads-creative-stats.csv`,
//! one row per ad; also the BigQuery table `creative_stats` saved as CSV or
//! JSON Lines (see [`crate::google_tables`]).
//!
//! Every `Spend_Range_Min_<CUR>` / `Spend_Range_Max_<CUR>` pair becomes a
//! spend range in that currency (an empty max is the open top bucket);
//! impression buckets become ranges; `Not targeted` means no targeting.

use std::io::Read;

use adarchive_schema::{Ad, MediaType, Platform, SpendRange};

use crate::csv_rows::{Header, Row};
use crate::google_tables::{is_table_column, media_type_of, read_table, sniff_columns};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{count_bucket, country_code, gender, split_list, timestamp, whole_number};
use crate::{Entry, Importer, ParsedRecord, Problem, ReadError, Sink};

/// The creative-stats importer.
pub struct GoogleCreativeStats;

const NAME: &str = "google-creative-stats";
const MIN_PREFIX: &str = "Spend_Range_Min_";
const MAX_PREFIX: &str = "Spend_Range_Max_";
const NOT_TARGETED: &str = "Not targeted";

/// The columns of the bundle's `google-political-ads-creative-stats.csv`
/// before its per-currency spend columns (`Spend_Range_Min_<CUR>`,
/// `Spend_Range_Max_<CUR>`), in the order Google publishes them.
pub const COLUMNS: &[&str] = &[
    "Ad_ID",
    "Ad_URL",
    "Ad_Type",
    "Regions",
    "Advertiser_ID",
    "Advertiser_Name",
    "Ad_Campaigns_List",
    "Date_Range_Start",
    "Date_Range_End",
    "Num_of_Days",
    "Impressions",
    "Spend_USD",
    "First_Served_Timestamp",
    "Last_Served_Timestamp",
    "Age_Targeting",
    "Gender_Targeting",
    "Geo_Targeting_Included",
    "Geo_Targeting_Excluded",
];

/// Columns this importer maps; every other column is kept in `unmapped`.
const MAPPED: &[&str] = &[
    "Ad_ID",
    "Ad_URL",
    "Ad_Type",
    "Regions",
    "Advertiser_ID",
    "Advertiser_Name",
    "Impressions",
    "First_Served_Timestamp",
    "Last_Served_Timestamp",
    "Age_Targeting",
    "Gender_Targeting",
    "Geo_Targeting_Included",
    "Geo_Targeting_Excluded",
];

impl Importer for GoogleCreativeStats {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Google)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Google political ads creative stats: google-political-ads-creative-stats.csv in the transparency bundle zip, or the BigQuery table creative_stats as CSV or JSON Lines"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn media_type_of(&self, head: &[u8]) -> &'static str {
        media_type_of(head)
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_columns(head).is_some_and(|h| {
            h.iter().any(|c| c == "Ad_ID") && h.iter().any(|c| c == "Advertiser_ID")
        })
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_table(
            NAME,
            input,
            sink,
            |names| {
                if names.iter().any(|n| n == "Ad_ID") {
                    Ok(())
                } else {
                    Err("the header has no `Ad_ID` (BigQuery: `ad_id`) column".into())
                }
            },
            |header, row, ()| map_row(header, row),
        )
    }

    /// The bundle's `google-political-ads-creative-stats.csv`, and the
    /// whole `creative_stats` table, list every ad Google published: a
    /// file named for them is a listing, and so is a file with the
    /// bundle's own columns (`Ad_ID`), which only the bundle writes. A
    /// BigQuery answer (`ad_id`) saved under a name of its own is read as
    /// a partial file: a query picks the ads it wants.
    fn listing_scope(&self, name: &str, head: &[u8]) -> Option<crate::ListingScope> {
        let file = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
        let file = file.to_ascii_lowercase().replace('_', "-");
        // The header as written: BigQuery's `ad_id` reads as `Ad_ID` too.
        let header = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let bundle_columns = header.windows(5).any(|w| w == b"Ad_ID");
        (file.contains("creative-stats") || bundle_columns)
            .then(|| crate::ListingScope::Named("google:creative-stats".to_owned()))
    }
}

fn map_row<'a>(header: &Header, row: &Row<'a>) -> Entry<'a> {
    let Some(id) = row.non_empty("Ad_ID") else {
        return Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some("Ad_ID".into()),
            reason: "the ad id is empty".into(),
        });
    };
    let mut m = Mapping::new(Ad::new(Platform::Google, id));

    m.ad.creative.snapshot_url = row.non_empty("Ad_URL").map(str::to_owned);
    if let Some(kind) = row.non_empty("Ad_Type") {
        match kind.to_ascii_lowercase().as_str() {
            "text" => m.ad.creative.media_type = Some(MediaType::Text),
            "image" => m.ad.creative.media_type = Some(MediaType::Image),
            "video" => m.ad.creative.media_type = Some(MediaType::Video),
            _ => m.keep_unnormalized("Ad_Type", kind),
        }
    }
    if let Some(regions) = row.non_empty("Regions") {
        map_regions(&mut m, regions);
    }
    m.ad.advertiser.id = row.non_empty("Advertiser_ID").map(str::to_owned);
    m.ad.advertiser.name = row.non_empty("Advertiser_Name").map(str::to_owned);
    // Google's disclosure on the ad itself reads "Paid for by <advertiser>".
    m.ad.funder = m.ad.advertiser.name.clone();

    if let Some(bucket) = row.non_empty("Impressions") {
        match count_bucket(bucket) {
            Some(range) => m.ad.impressions = Some(range),
            None => m.keep_unnormalized("Impressions", bucket),
        }
    }
    for (column, slot) in [
        ("First_Served_Timestamp", &mut m.ad.first_shown),
        ("Last_Served_Timestamp", &mut m.ad.last_shown),
    ] {
        if let Some(value) = row.non_empty(column) {
            match timestamp(value) {
                Some(t) => *slot = Some(t),
                None => {
                    m.ad.unmapped.insert(column.into(), value.into());
                    m.unnormalized.push(column.to_owned());
                }
            }
        }
    }
    if let Some(ages) = targeted(row, "Age_Targeting") {
        m.ad.targeting.ages = ages.iter().map(|a| age_label(a)).collect();
    }
    if let Some(genders) = targeted(row, "Gender_Targeting") {
        m.ad.targeting.genders = genders.iter().map(|g| gender(g)).collect();
    }
    if let Some(places) = targeted(row, "Geo_Targeting_Included") {
        m.ad.targeting.locations_included = places;
    }
    if let Some(places) = targeted(row, "Geo_Targeting_Excluded") {
        m.ad.targeting.locations_excluded = places;
    }

    for name in &header.names {
        if let Some(currency) = name.strip_prefix(MIN_PREFIX) {
            map_spend(&mut m, row, currency);
        } else if name.starts_with(MAX_PREFIX)
            || MAPPED.contains(&name.as_str())
            || !is_table_column(name)
        {
            continue;
        } else if let Some(value) = row.non_empty(name) {
            m.keep(name, value);
        }
    }

    // Column order must not change the record.
    m.ad.spend.sort_by(|a, b| a.currency.cmp(&b.currency));
    Entry::Record(ParsedRecord {
        locator: row.locator,
        raw: row.raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

/// `Regions` lists ISO codes and `EU` (the EU-wide library).
fn map_regions(m: &mut Mapping, cell: &str) {
    let mut unknown = false;
    for item in split_list(cell, ",") {
        if item.eq_ignore_ascii_case("EU") {
            push_unique(&mut m.ad.regions, "EU");
        } else if let Some(code) = country_code(&item).filter(|_| item.len() == 2) {
            push_unique(&mut m.ad.countries, code);
        } else {
            unknown = true;
        }
    }
    if unknown {
        m.keep_unnormalized("Regions", cell);
    }
}

fn map_spend(m: &mut Mapping, row: &Row<'_>, currency: &str) {
    let min_col = format!("{MIN_PREFIX}{currency}");
    let max_col = format!("{MAX_PREFIX}{currency}");
    let min = row.non_empty(&min_col);
    let max = row.non_empty(&max_col);
    if min.is_none() && max.is_none() {
        return;
    }
    let code = crate::normalize::currency_code(currency);
    let lower = min.and_then(whole_number);
    let upper = max.map(whole_number);
    match (code, lower, upper) {
        (Some(currency), Some(lower), None) => m.ad.spend.push(SpendRange {
            currency,
            lower,
            upper: None,
        }),
        (Some(currency), Some(lower), Some(Some(upper))) if lower <= upper => {
            m.ad.spend.push(SpendRange {
                currency,
                lower,
                upper: Some(upper),
            })
        }
        _ => {
            if let Some(v) = min {
                m.keep_unnormalized(&min_col, v);
            }
            if let Some(v) = max {
                m.keep_unnormalized(&max_col, v);
            }
        }
    }
}

/// The items of a targeting cell, `None` for `Not targeted` or empty.
fn targeted(row: &Row<'_>, column: &str) -> Option<Vec<String>> {
    let cell = row.non_empty(column)?;
    if cell.eq_ignore_ascii_case(NOT_TARGETED) {
        return None;
    }
    Some(split_list(cell, ", "))
}

fn age_label(age: &str) -> String {
    if let Some(rest) = age.strip_prefix('≥') {
        return format!("{}+", rest.trim());
    }
    if age.eq_ignore_ascii_case("Unknown age") {
        return "unknown".into();
    }
    age.to_owned()
}
