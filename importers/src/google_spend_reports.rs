//! Google political ads transparency bundle, the aggregate files:
//! `google-political-ads-advertiser-stats.csv`,
//! `…-advertiser-weekly-spend.csv`, `…-geo-spend.csv` (2018 and 2019+
//! headers, any `Spend_<ISO 4217>` columns) and `advertiser_id_mapping.csv`
//! (`OldAdvertiserId,NewAdvertiserId`).
//!
//! Google's 2018–2019 files print each total once per currency
//! (`Spend_USD`, `Spend_EUR`, …), the same spend converted by Google: such
//! rows are marked `spend_alternatives` and never added across currencies.
//! Later files give each currency its own part of the spend (mostly a single
//! non-zero column), which can be added once converted. `Public_IDs_List` becomes typed
//! identifiers (`FEC ID C00676700` → FEC `C00676700`).

use std::io::Read;

use adarchive_schema::{Identifier, Platform, ReportKind, ReportRow, SpendRange, Timestamp};

use crate::csv_rows::{read_rows, sniff_header, Header, Row, RowOrProblem};
use crate::normalize::{country_code, currency_code, split_list, timestamp, whole_number};
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
    IdMapping,
}

fn file_of(names: &[String]) -> Option<File> {
    let has = |c: &str| names.iter().any(|n| n == c);
    if has("Ad_ID") {
        None
    } else if has("OldAdvertiserId") && has("NewAdvertiserId") {
        Some(File::IdMapping)
    } else if has("Advertiser_ID") && has("Week_Start_Date") {
        Some(File::WeeklySpend)
    } else if has("Advertiser_ID") && (has("Public_IDs_List") || has("Total_Creatives")) {
        Some(File::AdvertiserStats)
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
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Google transparency bundle aggregates (advertiser-stats, advertiser-weekly-spend, geo-spend, advertiser_id_mapping)"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_header(head).is_some_and(|h| file_of(&h).is_some())
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        // Decided once from the header, read for every row.
        let file = std::cell::Cell::new(None);
        read_rows(
            NAME,
            input,
            |header| {
                file.set(file_of(&header.names));
                file.get().map(|_| ()).ok_or_else(|| {
                    "the header is none of advertiser-stats, advertiser-weekly-spend, geo-spend or advertiser_id_mapping".into()
                })
            },
            |header, entry| {
                let entry = match (entry, file.get()) {
                    (RowOrProblem::Problem(p), _) => Entry::Problem(p),
                    (RowOrProblem::Row(row), Some(file)) => map_row(header, &row, file),
                    (RowOrProblem::Row(_), None) => return Ok(()),
                };
                sink(entry).map_err(ReadError::Sink)
            },
        )
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
        File::IdMapping => (ReportKind::AdvertiserIdChange, "all_time"),
    };
    let mut r = ReportRow::new(Platform::Google, kind, period);
    let mut unnormalized = 0;
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
                    unnormalized += 1;
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
                        unnormalized += 1;
                    }
                }
            }
            if let Some(week) = row.non_empty("Week_Start_Date") {
                let Some(start) = timestamp(week) else {
                    return problem(
                        "Week_Start_Date",
                        format!("`{week}` is not a date (YYYY-MM-DD)"),
                    );
                };
                r.period_start = Some(start);
                r.period_end = start
                    .as_offset_date_time()
                    .checked_add(time::Duration::days(6))
                    .map(Timestamp::from_offset_date_time);
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
                        unnormalized += 1;
                    }
                }
            }
        } else if !MAPPED.contains(&name.as_str()) {
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
