//! Snap Political Ads Library: `PoliticalAds.csv` from each year's zip,
//! 34 columns (2020 and before) or 38 (with the committee columns).
//!
//! Spend and impressions are exact; `CountryCode` holds a lower-case country
//! *name*; list cells are joined by `,` while items may hold commas inside
//! parentheses (`Occupation (Business, Finance or Mgmt)`).

use std::io::Read;

use adarchive_schema::{Ad, CountRange, Platform, SpendRange};

use crate::csv_rows::{read_mapped, sniff_header, Header, Row};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{
    country_code, currency_code, language_code, split_list, timestamp, whole_number,
};
use crate::{Entry, Importer, ParsedRecord, Problem, ReadError, Sink};

/// The Snap importer.
pub struct SnapPoliticalAds;

const NAME: &str = "snap-political-ads";

/// Targeting columns that have no dedicated schema field, by the key they
/// get under `targeting.other`.
const OTHER_TARGETING: &[(&str, &str)] = &[
    (
        "Electoral Districts (Included)",
        "electoral_districts_included",
    ),
    (
        "Electoral Districts (Excluded)",
        "electoral_districts_excluded",
    ),
    ("Radius Targeting (Included)", "radius_included"),
    ("Radius Targeting (Excluded)", "radius_excluded"),
    ("Metros (Included)", "metros_included"),
    ("Metros (Excluded)", "metros_excluded"),
    ("Postal Codes (Included)", "postal_codes_included"),
    ("Postal Codes (Excluded)", "postal_codes_excluded"),
    (
        "Location Categories (Included)",
        "location_categories_included",
    ),
    (
        "Location Categories (Excluded)",
        "location_categories_excluded",
    ),
    ("OsType", "os_type"),
    ("Segments", "segments"),
    ("AdvancedDemographics", "advanced_demographics"),
    ("Targeting Connection Type", "connection_type"),
    ("Targeting Carrier (ISP)", "carrier"),
];

/// The columns of Snap's `PoliticalAds.csv` of 2020 onwards, in the order
/// Snap publishes them (earlier years have fewer; the reading goes by name).
pub const COLUMNS: &[&str] = &[
    "ADID",
    "CreativeUrl",
    "Currency Code",
    "Spend",
    "Impressions",
    "StartDate",
    "EndDate",
    "OrganizationName",
    "BillingAddress",
    "CandidateBallotInformation",
    "PayingAdvertiserName",
    "CommitteeName",
    "CommitteeIdentificationNumber",
    "DisclosureNameOfCommittee",
    "AdvertisingJurisdiction",
    "Gender",
    "AgeBracket",
    "CountryCode",
    "Regions (Included)",
    "Regions (Excluded)",
    "Electoral Districts (Included)",
    "Electoral Districts (Excluded)",
    "Radius Targeting (Included)",
    "Radius Targeting (Excluded)",
    "Metros (Included)",
    "Metros (Excluded)",
    "Postal Codes (Included)",
    "Postal Codes (Excluded)",
    "Location Categories (Included)",
    "Location Categories (Excluded)",
    "Interests",
    "OsType",
    "Segments",
    "Language",
    "AdvancedDemographics",
    "Targeting Connection Type",
    "Targeting Carrier (ISP)",
    "CreativeProperties",
];

/// Columns mapped to dedicated fields; every other column not in
/// [`OTHER_TARGETING`] is kept in `unmapped`.
const MAPPED: &[&str] = &[
    "ADID",
    "CreativeUrl",
    "Currency Code",
    "Spend",
    "Impressions",
    "StartDate",
    "EndDate",
    "OrganizationName",
    "PayingAdvertiserName",
    "Gender",
    "AgeBracket",
    "CountryCode",
    "Regions (Included)",
    "Regions (Excluded)",
    "Interests",
    "Language",
    "CreativeProperties",
];

impl Importer for SnapPoliticalAds {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Snap)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "2"
    }

    fn description(&self) -> &'static str {
        "Snap Political Ads Library CSV (PoliticalAds.csv in each year's PoliticalAds.zip)"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_header(head).is_some_and(|h| h.iter().any(|c| c == "ADID"))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped(NAME, input, sink, "ADID", map_row)
    }

    /// Snap publishes one complete file per year, `PoliticalAds.csv` in
    /// that year's zip: its name (or its zip's, or its folder's) says the
    /// year, and when it does not, the ads do: most of them were first
    /// shown in it.
    fn listing_scope(&self, name: &str, _head: &[u8]) -> Option<crate::ListingScope> {
        Some(match crate::year_in_name(name) {
            Some(year) => crate::ListingScope::Named(format!("snap:{year}")),
            None => crate::ListingScope::YearFirstShown("snap"),
        })
    }
}

fn map_row<'a>(header: &Header, row: &Row<'a>) -> Entry<'a> {
    let Some(id) = row.value("ADID") else {
        return Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some("ADID".into()),
            reason: "the ad id is empty".into(),
        });
    };
    let mut m = Mapping::new(Ad::new(Platform::Snap, id));
    m.ad.creative.snapshot_url = row.value("CreativeUrl").map(str::to_owned);

    let currency = row.value("Currency Code");
    if let Some(spend) = row.value("Spend") {
        match (currency.and_then(currency_code), whole_number(spend)) {
            (Some(code), Some(amount)) => m.ad.spend.push(SpendRange::exact(&code, amount)),
            _ => {
                m.keep_unnormalized("Spend", spend);
                if let Some(c) = currency {
                    m.keep("Currency Code", c);
                }
            }
        }
    } else if let Some(c) = currency {
        m.keep("Currency Code", c);
    }
    if let Some(impressions) = row.value("Impressions") {
        match whole_number(impressions) {
            Some(n) => m.ad.impressions = Some(CountRange::exact(n)),
            None => m.keep_unnormalized("Impressions", impressions),
        }
    }
    for (column, slot) in [
        ("StartDate", &mut m.ad.first_shown),
        ("EndDate", &mut m.ad.last_shown),
    ] {
        if let Some(v) = row.value(column) {
            match timestamp(v) {
                Some(t) => *slot = Some(t),
                None => {
                    m.ad.unmapped.insert(column.into(), v.into());
                    m.unnormalized.push(column.to_owned());
                }
            }
        }
    }
    m.ad.advertiser.name = row.value("OrganizationName").map(str::to_owned);
    m.ad.funder = row.value("PayingAdvertiserName").map(str::to_owned);

    if let Some(gender) = row.value("Gender") {
        m.ad.targeting.genders = vec![crate::normalize::gender(gender)];
    }
    if let Some(age) = row.value("AgeBracket") {
        m.ad.targeting.ages = vec![age.to_owned()];
    }
    if let Some(country) = row.value("CountryCode") {
        match country_code(country) {
            Some(code) => push_unique(&mut m.ad.countries, code),
            None => m.keep_unnormalized("CountryCode", country),
        }
    }
    m.ad.targeting.locations_included = row.list("Regions (Included)");
    m.ad.targeting.locations_excluded = row.list("Regions (Excluded)");
    m.ad.targeting.interests = row.list("Interests");
    for (column, key) in OTHER_TARGETING {
        let items = row.list(column);
        if !items.is_empty() {
            m.ad.targeting.other.insert((*key).to_owned(), items);
        }
    }
    if let Some(cell) = row.value("Language") {
        let items = split_list(cell, ",");
        if items.iter().all(|l| language_code(l).is_some()) {
            for l in &items {
                if let Some(code) = language_code(l) {
                    push_unique(&mut m.ad.languages, code);
                }
            }
        } else {
            m.keep_unnormalized("Language", cell);
        }
    }
    if let Some(props) = row.value("CreativeProperties") {
        let mut kept = Vec::new();
        for (key, value) in creative_properties(props) {
            match link_of(key, value) {
                Some(url) => push_unique(&mut m.ad.creative.link_urls, url),
                None if key.is_empty() => kept.push(value.to_owned()),
                None => kept.push(format!("{key}:{value}")),
            }
        }
        if !kept.is_empty() {
            m.keep("CreativeProperties", kept.join(","));
        }
    }
    for name in &header.names {
        let handled =
            MAPPED.contains(&name.as_str()) || OTHER_TARGETING.iter().any(|(c, _)| c == name);
        if !handled {
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

/// The `key:value` entries of a `CreativeProperties` cell
/// (`web_view_url:https://…`, `deep_link_uri:snapchat://…`,
/// `ios_app:…`); a comma inside a value (a URL's query) stays in it.
fn creative_properties(cell: &str) -> Vec<(&str, &str)> {
    let mut entries: Vec<(&str, &str)> = Vec::new();
    let starts_entry = |rest: &str| {
        rest.split_once(':').is_some_and(|(key, _)| {
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
    };
    let mut cuts = vec![0];
    for (i, _) in cell.match_indices(',') {
        if starts_entry(cell[i + 1..].trim_start()) {
            cuts.push(i + 1);
        }
    }
    cuts.push(cell.len() + 1);
    for pair in cuts.windows(2) {
        let piece = cell[pair[0]..pair[1] - 1].trim();
        if piece.is_empty() {
            continue;
        }
        match piece.split_once(':') {
            Some((key, value)) if starts_entry(piece) => entries.push((key, value.trim())),
            _ => entries.push(("", piece)),
        }
    }
    entries
}

/// The link an entry names, when it is one: a web view or a deep link with
/// a URI scheme. App ids (`ios_app`, `android_app`) are not links.
fn link_of<'a>(key: &str, value: &'a str) -> Option<&'a str> {
    let is_uri = value.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            && !rest.is_empty()
    });
    (matches!(key, "web_view_url" | "deep_link_uri") && is_uri).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creative_properties_links() {
        let cell =
            "web_view_url:https://example.org/a?x=1,2,deep_link_uri:snapchat://add/x,ios_app:1234";
        assert_eq!(
            creative_properties(cell),
            [
                ("web_view_url", "https://example.org/a?x=1,2"),
                ("deep_link_uri", "snapchat://add/x"),
                ("ios_app", "1234"),
            ]
        );
        assert_eq!(
            link_of("deep_link_uri", "snapchat://add/x"),
            Some("snapchat://add/x")
        );
        assert_eq!(link_of("ios_app", "1234"), None);
        assert_eq!(link_of("web_view_url", ""), None);
    }
}
