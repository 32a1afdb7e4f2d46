//! Google Political Ads transparency bundle, the files beside creative
//! stats: `google-political-ads-advertiser-stats.csv`,
//! `…-advertiser-weekly-spend.csv`, `…-geo-spend.csv` (2018 and 2019+
//! headers, any `Spend_<ISO 4217>` columns), `…-advertiser-geo-spend.csv`,
//! `…-top-keywords-history.csv`, `…-campaign-targeting.csv`,
//! `…-advertiser-declared-stats.csv` and `advertiser_id_mapping.csv`
//! (`OldAdvertiserId,NewAdvertiserId`); also the same tables from the
//! BigQuery dataset, as CSV or JSON Lines (see [`crate::google_tables`]).
//!
//! Google's 2018–2019 files print each total once per currency
//! (`Spend_USD`, `Spend_EUR`, …), the same spend converted by Google: such
//! rows are marked `spend_alternatives` and never added across currencies.
//! Later files give each currency its own part of the spend (mostly a single
//! non-zero column), which can be added once converted. `Public_IDs_List` becomes typed
//! identifiers (`FEC ID C00676700` → FEC `C00676700`).

use std::io::Read;

use adarchive_schema::{
    Identifier, KeywordSpend, Platform, ReportKind, ReportRow, SpendRange, Timestamp,
};

use crate::csv_rows::{Header, Row};
use crate::google_tables::{is_table_column, media_type_of, read_table, sniff_columns};
use crate::normalize::{
    country_code, currency_code, split_list, spreadsheet_date, timestamp, whole_number,
    SpreadsheetDate,
};
use crate::{Entry, Importer, ParsedReport, Problem, ReadError, Sink};

/// The Google aggregate spend files importer.
pub struct GoogleSpendReports;

const NAME: &str = "google-spend-reports";

/// Which of the files a header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum File {
    AdvertiserStats,
    WeeklySpend,
    GeoSpend,
    AdvertiserGeoSpend,
    TopKeywords,
    CampaignTargeting,
    DeclaredStats,
    IdMapping,
}

fn file_of(names: &[String]) -> Option<File> {
    let has = |c: &str| names.iter().any(|n| n == c);
    if has("Ad_ID") {
        None
    } else if has("OldAdvertiserId") && has("NewAdvertiserId") {
        Some(File::IdMapping)
    } else if has("Campaign_ID") && has("Ads_List") {
        Some(File::CampaignTargeting)
    } else if has("Keyword_1") && has("Report_Date") {
        Some(File::TopKeywords)
    } else if has("Advertiser_ID")
        && (has("Advertiser_Declared_Name")
            || has("Advertiser_Declared_Regulatory_ID")
            || has("Advertiser_Declared_Promoter_Name")
            || has("NZ_Advertiser_Declared_Name"))
    {
        Some(File::DeclaredStats)
    } else if has("Advertiser_ID") && has("Week_Start_Date") {
        Some(File::WeeklySpend)
    } else if has("Advertiser_ID") && (has("Public_IDs_List") || has("Total_Creatives")) {
        Some(File::AdvertiserStats)
    } else if has("Advertiser_ID") && has("Country") && has("Country_Subdivision_Primary") {
        Some(File::AdvertiserGeoSpend)
    } else if (has("Country") && has("Country_Subdivision_Primary"))
        || (has("State") && has("Congressional_District"))
    {
        Some(File::GeoSpend)
    } else {
        None
    }
}

/// The currency of a spend column: `Spend_USD`, `Total_Spend_USD`.
fn spend_currency(column: &str) -> Option<String> {
    column
        .strip_prefix("Spend_")
        .or_else(|| column.strip_prefix("Total_Spend_"))
        .and_then(currency_code)
}

/// Typed identifiers from a `Public_IDs_List` cell.
///
/// ```
/// use adarchive_importers::google_spend_reports::public_ids;
/// let ids = public_ids("FEC ID C00676700, EIN ID 46-3931666");
/// assert_eq!(ids[0].kind, "FEC");
/// assert_eq!(ids[0].value, "C00676700");
/// assert_eq!(ids[1].kind, "EIN");
/// assert_eq!(public_ids("Registered in US-WI 0106228")[0].kind, "Registered in US-WI");
/// assert!(public_ids("FEC ID PO Box 7156 Round Rock").is_empty());
/// assert!(public_ids("unknown words").is_empty());
/// ```
pub fn public_ids(cell: &str) -> Vec<Identifier> {
    cell.split([',', ';', '|'])
        .filter_map(|item| {
            let item = item.trim();
            let (kind, value) = match item.strip_prefix("Registered in ") {
                // `Registered in US-WI 0106228`: a state registry number.
                Some(rest) => {
                    let (region, number) = rest.split_once(' ')?;
                    (format!("Registered in {region}"), number)
                }
                None => {
                    let (kind, value) = item.split_once(" ID ")?;
                    (kind.trim().to_owned(), value)
                }
            };
            let value = value.trim();
            let plausible = !kind.is_empty()
                && !value.is_empty()
                && !value.contains(' ')
                && value.bytes().any(|b| b.is_ascii_digit());
            plausible.then(|| Identifier {
                kind,
                value: value.to_owned(),
            })
        })
        .collect()
}

impl Importer for GoogleSpendReports {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Google)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "2"
    }

    fn description(&self) -> &'static str {
        "Google transparency bundle aggregates (advertiser-stats, advertiser-weekly-spend, geo-spend, advertiser_id_mapping)"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn media_type_of(&self, head: &[u8]) -> &'static str {
        media_type_of(head)
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_columns(head).is_some_and(|h| file_of(&h).is_some())
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_table(
            NAME,
            input,
            sink,
            |names| {
                file_of(names).ok_or_else(|| {
                    "the header is none of advertiser-stats, advertiser-weekly-spend, geo-spend, advertiser-geo-spend, top-keywords-history, campaign-targeting, advertiser-declared-stats or advertiser_id_mapping".into()
                })
            },
            map_row,
        )
    }

    /// The bundle's `google-political-ads-advertiser-stats.csv` lists every
    /// advertiser with verified election ads: a listing of advertisers.
    /// Its other files, and any file named otherwise, are read as partial.
    fn listing_scope(&self, name: &str, _head: &[u8]) -> Option<crate::ListingScope> {
        let file = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
        let file = file.to_ascii_lowercase().replace('_', "-");
        file.contains("advertiser-stats")
            .then(|| crate::ListingScope::Named("google:report:advertiser-stats".to_owned()))
    }
}

const MAPPED: &[&str] = &[
    "Advertiser_ID",
    "Advertiser_Name",
    "Public_IDs_List",
    "Regions",
    "Elections",
    "Election_Cycle",
    "Total_Creatives",
    "Week_Start_Date",
    "Country",
    "Country_Subdivision_Primary",
    "Country_Subdivision_Secondary",
    "State",
    "Congressional_District",
    "OldAdvertiserId",
    "NewAdvertiserId",
    "Region",
    "Report_Date",
    "Campaign_ID",
    "Start_Date",
    "End_Date",
    "Advertiser_Declared_Name",
    "Advertiser_Declared_Regulatory_ID",
    "Advertiser_Declared_Promoter_Name",
    "NZ_Advertiser_Declared_Name",
];

fn map_row<'a>(header: &Header, row: &Row<'a>, file: File) -> Entry<'a> {
    let problem = |field: &str, reason: String| {
        Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some(field.to_owned()),
            reason,
        })
    };
    let (kind, period) = match file {
        File::AdvertiserStats => (ReportKind::Advertiser, "all_time"),
        File::WeeklySpend => (ReportKind::AdvertiserWeek, "week"),
        File::GeoSpend => (ReportKind::Geo, "all_time"),
        File::AdvertiserGeoSpend => (ReportKind::AdvertiserInRegion, "all_time"),
        File::TopKeywords => (ReportKind::TopKeywords, "week"),
        File::CampaignTargeting => (ReportKind::Campaign, "all_time"),
        File::DeclaredStats => (ReportKind::AdvertiserDeclaration, "all_time"),
        File::IdMapping => (ReportKind::AdvertiserIdChange, "all_time"),
    };
    let mut r = ReportRow::new(Platform::Google, kind, period);
    let mut unnormalized = Vec::new();
    match file {
        File::AdvertiserStats | File::WeeklySpend => {
            let Some(id) = row.non_empty("Advertiser_ID") else {
                return problem("Advertiser_ID", "the advertiser id is empty".into());
            };
            r.advertiser.id = Some(id.to_owned());
            r.advertiser.name = row.non_empty("Advertiser_Name").map(str::to_owned);
            if let Some(ids) = row.non_empty("Public_IDs_List") {
                r.identifiers = public_ids(ids);
                let items = ids
                    .split([',', ';', '|'])
                    .filter(|i| !i.trim().is_empty())
                    .count();
                if r.identifiers.len() < items {
                    // Some item did not parse: the cell is kept whole.
                    r.unmapped.insert("Public_IDs_List".into(), ids.into());
                    unnormalized.push("Public_IDs_List".to_owned());
                }
            }
            for column in ["Elections", "Election_Cycle"] {
                if let Some(cell) = row.non_empty(column) {
                    r.elections.extend(split_list(cell, ","));
                }
            }
            if let Some(regions) = row.non_empty("Regions") {
                let mut countries = Vec::new();
                for region in split_list(regions, ",") {
                    match country_code(&region) {
                        Some(code) => countries.push(code.to_owned()),
                        None => r.regions.push(region),
                    }
                }
                // One country is the figure's country; several are listed,
                // never attributed to the first.
                if countries.len() == 1 {
                    r.country = countries.pop();
                } else {
                    r.countries = countries;
                }
            }
            if let Some(n) = row.non_empty("Total_Creatives") {
                match whole_number(n) {
                    Some(n) => r.ads = Some(n),
                    None => {
                        r.unmapped.insert("Total_Creatives".into(), n.into());
                        unnormalized.push("Total_Creatives".to_owned());
                    }
                }
            }
            if let Some(week) = row.non_empty("Week_Start_Date") {
                let start = match week_start(week, time::Weekday::Sunday) {
                    Ok(start) => start,
                    Err(reason) => return problem("Week_Start_Date", reason),
                };
                set_week(&mut r, start);
            }
        }
        File::AdvertiserGeoSpend => {
            let Some(id) = row.non_empty("Advertiser_ID") else {
                return problem("Advertiser_ID", "the advertiser id is empty".into());
            };
            r.advertiser.id = Some(id.to_owned());
            r.advertiser.name = row.non_empty("Advertiser_Name").map(str::to_owned);
            if let Some(country) = row.non_empty("Country") {
                match country_code(country) {
                    Some(code) => r.country = Some(code.to_owned()),
                    None => r.regions.push(country.to_owned()),
                }
            }
            r.location = row
                .non_empty("Country_Subdivision_Primary")
                .map(str::to_owned);
        }
        File::TopKeywords => {
            let Some(date) = row.non_empty("Report_Date") else {
                return problem("Report_Date", "the report date is empty".into());
            };
            // The weeks of this file start on Mondays.
            match week_start(date, time::Weekday::Monday) {
                Ok(start) => set_week(&mut r, start),
                Err(reason) => return problem("Report_Date", reason),
            }
            place(&mut r, row.non_empty("Region"));
            for column in ["Elections", "Election_Cycle"] {
                if let Some(cell) = row.non_empty(column) {
                    for election in split_list(cell, ",") {
                        if !r.elections.contains(&election) {
                            r.elections.push(election);
                        }
                    }
                }
            }
            for rank in 1..=KEYWORD_RANKS {
                let Some(keyword) = row.non_empty(&format!("Keyword_{rank}")) else {
                    continue;
                };
                // 2018's file names the spend `Spend_1`, later ones
                // `Spend_USD_1`: US dollars both.
                let spend_column = [format!("Spend_USD_{rank}"), format!("Spend_{rank}")]
                    .into_iter()
                    .find(|c| row.get(c).is_some())
                    .unwrap_or_else(|| format!("Spend_USD_{rank}"));
                let spend = match row.non_empty(&spend_column) {
                    None => None,
                    Some(value) => match whole_number(value) {
                        Some(n) => Some(SpendRange::exact("USD", n)),
                        None => {
                            r.unmapped.insert(spend_column.clone(), value.into());
                            unnormalized.push(spend_column);
                            None
                        }
                    },
                };
                r.keywords.push(KeywordSpend {
                    keyword: keyword.to_owned(),
                    rank,
                    spend,
                });
            }
        }
        File::CampaignTargeting => {
            let Some(campaign) = row.non_empty("Campaign_ID") else {
                return problem("Campaign_ID", "the campaign id is empty".into());
            };
            r.identifiers.push(Identifier {
                kind: "google_campaign_id".into(),
                value: campaign.to_owned(),
            });
            r.advertiser.id = row.non_empty("Advertiser_ID").map(str::to_owned);
            r.advertiser.name = row.non_empty("Advertiser_Name").map(str::to_owned);
            for (column, slot) in [
                ("Start_Date", &mut r.period_start),
                ("End_Date", &mut r.period_end),
            ] {
                if let Some(value) = row.non_empty(column) {
                    match timestamp(value) {
                        Some(t) => *slot = Some(t),
                        None => {
                            r.unmapped.insert(column.into(), value.into());
                            unnormalized.push(column.to_owned());
                        }
                    }
                }
            }
            // The targeting and the ad list stay verbatim in `unmapped`;
            // the number of ads is counted from the list.
            if let Some(ads) = row.non_empty("Ads_List") {
                r.ads = Some(split_list(ads, ",").len() as u64);
            }
        }
        File::DeclaredStats => {
            let Some(id) = row.non_empty("Advertiser_ID") else {
                return problem("Advertiser_ID", "the advertiser id is empty".into());
            };
            r.advertiser.id = Some(id.to_owned());
            place(&mut r, row.non_empty("Region"));
            // California committees declare a name; New Zealand advertisers
            // a promoter statement: either is who the ads are paid for by.
            r.funder = [
                "Advertiser_Declared_Name",
                "Advertiser_Declared_Promoter_Name",
                "NZ_Advertiser_Declared_Name",
            ]
            .iter()
            .find_map(|c| row.non_empty(c))
            .map(str::to_owned);
            if let Some(value) = row.non_empty("Advertiser_Declared_Regulatory_ID") {
                r.identifiers.push(Identifier {
                    kind: "declared_regulatory_id".into(),
                    value: value.to_owned(),
                });
            }
        }
        File::GeoSpend => {
            if let Some(country) = row.non_empty("Country") {
                match country_code(country) {
                    Some(code) => r.country = Some(code.to_owned()),
                    None => r.regions.push(country.to_owned()),
                }
                let parts: Vec<&str> = [
                    "Country_Subdivision_Primary",
                    "Country_Subdivision_Secondary",
                ]
                .iter()
                .filter_map(|c| row.non_empty(c))
                .collect();
                if !parts.is_empty() {
                    r.location = Some(parts.join(" / "));
                }
            } else if let Some(state) = row.non_empty("State") {
                // 2018: `US-AK` and a congressional district.
                r.country = state
                    .split_once('-')
                    .and_then(|(c, _)| country_code(c))
                    .map(str::to_owned);
                let district = row.non_empty("Congressional_District");
                r.location = Some(match district {
                    Some(d) => format!("{state} / {d}"),
                    None => state.to_owned(),
                });
            } else {
                return problem("Country", "the row names no country".into());
            }
        }
        File::IdMapping => {
            let (Some(old), Some(new)) = (
                row.non_empty("OldAdvertiserId"),
                row.non_empty("NewAdvertiserId"),
            ) else {
                return problem(
                    "NewAdvertiserId",
                    "both the old and the new advertiser id are needed".into(),
                );
            };
            r.advertiser.id = Some(new.to_owned());
            r.identifiers.push(Identifier {
                kind: "google_advertiser_id_previous".into(),
                value: old.to_owned(),
            });
        }
    }
    for name in &header.names {
        if let Some(currency) = spend_currency(name) {
            if let Some(value) = row.non_empty(name) {
                match whole_number(value) {
                    Some(n) => r.spend.push(SpendRange::exact(&currency, n)),
                    None => {
                        r.unmapped.insert(name.clone(), value.into());
                        unnormalized.push(name.clone());
                    }
                }
            }
        } else if !MAPPED.contains(&name.as_str())
            && is_table_column(name)
            && !(file == File::TopKeywords && is_keyword_column(name))
        {
            if let Some(v) = row.non_empty(name) {
                r.unmapped.insert(name.clone(), v.into());
            }
        }
    }
    r.spend.sort_by(|a, b| a.currency.cmp(&b.currency));
    // Google's 2018–2019 files print each total converted into every
    // currency (all columns non-zero); later files give each currency's own
    // part (mostly one non-zero column). Only the former are alternatives.
    r.spend_alternatives = r.spend.len() > 1 && r.spend.iter().all(|s| s.lower > 0);
    Entry::Report(ParsedReport {
        locator: row.locator,
        raw: row.raw,
        row: r,
        unnormalized,
    })
}

/// How many keywords a top-keywords row names.
const KEYWORD_RANKS: u32 = 6;

/// `Keyword_3`, `Spend_USD_3`, `Spend_3`: a top-keywords column.
fn is_keyword_column(name: &str) -> bool {
    ["Keyword_", "Spend_USD_", "Spend_"]
        .iter()
        .filter_map(|prefix| name.strip_prefix(prefix))
        .any(|rank| {
            rank.parse::<u32>()
                .is_ok_and(|r| (1..=KEYWORD_RANKS).contains(&r))
        })
}

/// The country of a `Region` cell (`US`, `NZ`, `US-CA`), the subdivision
/// as the location; anything else is kept as a region.
fn place(r: &mut ReportRow, region: Option<&str>) {
    let Some(region) = region else { return };
    let country = region.split('-').next().and_then(country_code);
    match country {
        Some(code) => {
            r.country = Some(code.to_owned());
            if region.contains('-') {
                r.location = Some(region.to_owned());
            }
        }
        None => r.regions.push(region.to_owned()),
    }
}

fn set_week(r: &mut ReportRow, start: Timestamp) {
    r.period_start = Some(start);
    r.period_end = start
        .as_offset_date_time()
        .checked_add(time::Duration::days(6))
        .map(Timestamp::from_offset_date_time);
}

/// The first day of a week, as Google writes it (`2018-05-27`) or as a
/// spreadsheet re-saved it (`5/27/2018`). A spreadsheet date that reads
/// either way (`6/3/2018`) is the reading that falls on `first_day`, the
/// day Google's weeks start on in this file.
fn week_start(value: &str, first_day: time::Weekday) -> Result<Timestamp, String> {
    if let Some(t) = timestamp(value) {
        return Ok(t);
    }
    match spreadsheet_date(value) {
        Some(SpreadsheetDate::One(t)) => Ok(t),
        Some(SpreadsheetDate::Either {
            month_first,
            day_first,
        }) => {
            let starts = |t: &Timestamp| t.as_offset_date_time().weekday() == first_day;
            let day = |t: &Timestamp| t.as_offset_date_time().date();
            match (starts(&month_first), starts(&day_first)) {
                (true, false) => Ok(month_first),
                (false, true) => Ok(day_first),
                _ => Err(format!(
                    "`{value}` reads as {} (month first) or {} (day first), and not one of them alone is a {first_day}, the day this file's weeks start",
                    day(&month_first),
                    day(&day_first)
                )),
            }
        }
        None => Err(format!(
            "`{value}` is not a date (YYYY-MM-DD, or M/D/YYYY, D/M/YYYY, D.M.YYYY as spreadsheets write it)"
        )),
    }
}
