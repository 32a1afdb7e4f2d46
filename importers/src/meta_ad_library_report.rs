//! Meta Ad Library Report: the spend-total CSVs Meta publishes per country
//! (`FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv`,
//! `…_locations.csv`, `regions/…_Bangkok.csv`; in 2019
//! `FacebookAdLibraryReportGB2019-05-11ThisWeekSpending.csv`).
//!
//! The country, report date and period exist only in the file name, so this
//! importer reads them from it ([`Importer::read_named`]). The currency sits
//! inside the amount's header (`Amount spent (THB)`); the 2019 header names
//! none, and Meta's README of the time says the amounts are in the country's
//! own currency, which is used and labelled as inferred. `≤100` is the range
//! 0–100. One Page ID can have several rows, one per disclaimer; the
//! placeholder `These ads ran without a disclaimer` is kept as the funder.

use std::io::Read;

use adarchive_schema::{Platform, ReportKind, ReportRow, SpendRange, Timestamp};
use time::Date;

use crate::csv_rows::{read_rows, sniff_header, Header, Row, RowOrProblem};
use crate::normalize::{country_code, currency_code, whole_number};
use crate::{Entry, Importer, ParsedReport, Problem, ReadError, Sink, StatedFacts};

/// The Meta Ad Library Report importer.
pub struct MetaAdLibraryReport;

const NAME: &str = "meta-ad-library-report";

/// Local currencies of the countries Meta published 2019 reports for, whose
/// headers name no currency.
const LOCAL_CURRENCIES: &[(&str, &str)] = &[
    ("AT", "EUR"),
    ("BE", "EUR"),
    ("BG", "BGN"),
    ("BR", "BRL"),
    ("CA", "CAD"),
    ("CY", "EUR"),
    ("CZ", "CZK"),
    ("DE", "EUR"),
    ("DK", "DKK"),
    ("EE", "EUR"),
    ("ES", "EUR"),
    ("FI", "EUR"),
    ("FR", "EUR"),
    ("GB", "GBP"),
    ("GR", "EUR"),
    ("HR", "HRK"),
    ("HU", "HUF"),
    ("IE", "EUR"),
    ("IL", "ILS"),
    ("IN", "INR"),
    ("IT", "EUR"),
    ("LT", "EUR"),
    ("LU", "EUR"),
    ("LV", "EUR"),
    ("MT", "EUR"),
    ("NL", "EUR"),
    ("PL", "PLN"),
    ("PT", "EUR"),
    ("RO", "RON"),
    ("SE", "SEK"),
    ("SI", "EUR"),
    ("SK", "EUR"),
    ("UA", "UAH"),
    ("US", "USD"),
];

/// The placeholder Meta prints for ads that ran without a disclaimer.
pub const NO_DISCLAIMER: &str = "These ads ran without a disclaimer";

/// What a report's file name says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportName {
    /// ISO country code.
    pub country: Option<String>,
    /// The report date.
    pub date: Option<Date>,
    /// `yesterday`, `last_7_days`, `last_30_days`, `last_90_days`,
    /// `lifetime` (2022+), `this_week` or `to_date` (2019).
    pub period: Option<String>,
    /// The region of a `regions/` file (`Bangkok`).
    pub region: Option<String>,
}

/// The periods the 2022+ reports name, as `--report-period` accepts them.
pub const PERIODS: &[&str] = &[
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "lifetime",
];

/// Reads the country, date, period and region from a report's file name.
///
/// ```
/// use adarchive_importers::meta_ad_library_report::report_name;
/// let n = report_name("x/FacebookAdLibraryReport_2022-11-18_TH_yesterday_Chiang Mai.csv");
/// assert_eq!(n.country.as_deref(), Some("TH"));
/// assert_eq!(n.period.as_deref(), Some("yesterday"));
/// assert_eq!(n.region.as_deref(), Some("Chiang Mai"));
/// let old = report_name("FacebookAdLibraryReportGB2019-05-11ThisWeekSpending.csv");
/// assert_eq!((old.country.as_deref(), old.period.as_deref()), (Some("GB"), Some("this_week")));
/// assert_eq!(old.date.unwrap().to_string(), "2019-05-11");
/// let copy = report_name("FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers (1).csv");
/// assert_eq!(copy.region, None);
/// let dotted = report_name("FacebookAdLibraryReport_2025-07-12_CH_last_7_days_St. Gallen.csv");
/// assert_eq!(dotted.region.as_deref(), Some("St. Gallen"));
/// ```
pub fn report_name(path: &str) -> ReportName {
    let file = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    let stem = file
        .strip_suffix(".csv")
        .or_else(|| file.strip_suffix(".CSV"))
        .unwrap_or(file);
    // A browser's copy: `… (1).csv`.
    let stem = match stem.rsplit_once(" (") {
        Some((head, n))
            if n.strip_suffix(')')
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())) =>
        {
            head
        }
        _ => stem,
    };
    let Some(rest) = stem.strip_prefix("FacebookAdLibraryReport") else {
        return ReportName::default();
    };
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let mut name = ReportName::default();
    if let Some(rest) = rest.strip_prefix('_') {
        // 2022+: _<date>_<CC>_<period>_<advertisers|locations|region>
        let mut parts = rest.splitn(3, '_');
        name.date = parts.next().and_then(|d| Date::parse(d, &iso).ok());
        name.country = parts.next().and_then(country_code).map(str::to_owned);
        if let Some(tail) = parts.next() {
            if let Some(period) = PERIODS.iter().find(|p| tail.starts_with(*p)) {
                name.period = Some((*period).to_owned());
                let what = tail[period.len()..].trim_start_matches('_');
                // `advertisers`, `locations` (perhaps `advertisers.EXCERPT`),
                // or a region's name, which may hold dots (`St. Gallen`).
                let national = what.is_empty()
                    || ["advertisers", "locations"].iter().any(|kind| {
                        what == *kind || what.strip_prefix(kind).is_some_and(|r| r.starts_with('.'))
                    });
                if !national {
                    name.region = Some(what.to_owned());
                }
            }
        }
    } else if rest.len() >= 12 {
        // 2019: <CC><date><ThisWeekSpending|SpendingToDate>
        name.country = rest.get(..2).and_then(country_code).map(str::to_owned);
        name.date = rest.get(2..12).and_then(|d| Date::parse(d, &iso).ok());
        name.period = match rest.get(12..).map(|p| p.split('.').next().unwrap_or(p)) {
            Some("ThisWeekSpending") => Some("this_week".into()),
            Some("SpendingToDate") => Some("to_date".into()),
            _ => None,
        };
    }
    name
}

fn is_amount_column(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("amount spent")
}

impl Importer for MetaAdLibraryReport {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Meta)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Meta Ad Library Report CSV (advertisers, locations and regions spend totals)"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_header(head).is_some_and(|h| {
            h.iter().any(|c| is_amount_column(c))
                && h.iter().any(|c| c == "Disclaimer" || c == "Location name")
        })
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        self.read_named("", input, sink)
    }

    fn facts_from_name(&self, name: &str) -> Option<String> {
        let n = report_name(name);
        Some(format!(
            "country {}, date {}, period {}{}",
            n.country.as_deref().unwrap_or("unknown"),
            n.date
                .map_or_else(|| "unknown".to_owned(), |d| d.to_string()),
            n.period.as_deref().unwrap_or("unknown"),
            n.region
                .map(|r| format!(", region {r}"))
                .unwrap_or_default()
        ))
    }

    /// A national advertisers report of one country and period lists every
    /// advertiser that spent on such ads then: a listing of advertisers,
    /// `meta:report:<country>:<period>`. Locations and regions files, and
    /// a report whose name gives no country or period, are partial.
    fn listing_scope(&self, name: &str, _head: &[u8]) -> Option<crate::ListingScope> {
        let n = report_name(name);
        let file = name.rsplit(['/', '\\', '!']).next().unwrap_or(name);
        let national_advertisers = file.contains("_advertisers")
            || file.ends_with("Spending.csv")
            || file.ends_with("SpendingToDate.csv");
        match (n.country, n.period, n.region) {
            (Some(country), Some(period), None) if national_advertisers => {
                Some(crate::ListingScope::Named(format!("meta:report:{country}:{period}")))
            }
            _ => None,
        }
    }

    fn facts_missing_from_name(&self, name: &str) -> Vec<&'static str> {
        let n = report_name(name);
        [
            ("country", n.country.is_none()),
            ("date", n.date.is_none()),
            ("period", n.period.is_none()),
        ]
        .into_iter()
        .filter_map(|(fact, missing)| missing.then_some(fact))
        .collect()
    }

    fn name_stating(&self, name: &str, facts: &StatedFacts) -> Option<String> {
        let n = report_name(name);
        let iso = time::macros::format_description!("[year]-[month]-[day]");
        let date = facts
            .date
            .or(n.date)
            .and_then(|d| d.format(&iso).ok())
            .unwrap_or_else(|| "unknown".into());
        let country = facts
            .country
            .map(str::to_owned)
            .or(n.country)
            .unwrap_or_else(|| "unknown".into());
        let period = facts
            .period
            .map(str::to_owned)
            .or(n.period)
            .unwrap_or_else(|| "unknown".into());
        // 2019's periods only exist in 2019's names, whose parts have fixed
        // widths: an unknown part is written as one that reads as nothing.
        let legacy = match period.as_str() {
            "this_week" => Some("ThisWeekSpending"),
            "to_date" => Some("SpendingToDate"),
            _ => None,
        };
        if let Some(suffix) = legacy {
            let country = if country.len() == 2 {
                country
            } else {
                "??".into()
            };
            let date = if date.len() == 10 {
                date
            } else {
                "????-??-??".into()
            };
            return Some(format!(
                "FacebookAdLibraryReport{country}{date}{suffix}.csv"
            ));
        }
        let what = n.region.unwrap_or_else(|| "advertisers".into());
        Some(format!(
            "FacebookAdLibraryReport_{date}_{country}_{period}_{what}.csv"
        ))
    }

    fn read_named(
        &self,
        name: &str,
        input: &mut dyn Read,
        sink: &mut Sink<'_>,
    ) -> Result<(), ReadError> {
        let file = report_name(name);
        read_rows(
            NAME,
            input,
            |header| {
                if header.names.iter().any(|n| is_amount_column(n)) {
                    Ok(())
                } else {
                    Err("the header has no `Amount spent` column".into())
                }
            },
            |header, entry| {
                let entry = match entry {
                    RowOrProblem::Problem(p) => Entry::Problem(p),
                    RowOrProblem::Row(row) => map_row(header, &row, &file),
                };
                sink(entry).map_err(ReadError::Sink)
            },
        )
    }
}

/// The amount column's name and the currency it names, if any.
fn amount_column(header: &Header) -> Option<(&str, Option<String>)> {
    let name = header.names.iter().find(|n| is_amount_column(n))?;
    let currency = name
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(currency_code);
    Some((name.as_str(), currency))
}

/// `≤100` → 0–100; a whole number → exact.
fn amount(value: &str, currency: &str) -> Option<SpendRange> {
    let v = value.trim();
    for prefix in ["≤", "<="] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return Some(SpendRange {
                currency: currency.to_owned(),
                lower: 0,
                upper: Some(whole_number(rest)?),
            });
        }
    }
    whole_number(v).map(|n| SpendRange::exact(currency, n))
}

const MAPPED: &[&str] = &[
    "Page ID",
    "Page name",
    "Page Name",
    "Disclaimer",
    "Number of ads in Library",
    "Number of Ads in Library",
    "Location name",
];

fn map_row<'a>(header: &Header, row: &Row<'a>, file: &ReportName) -> Entry<'a> {
    let problem = |field: &str, reason: String| {
        Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some(field.to_owned()),
            reason,
        })
    };
    let location_report = header.names.iter().any(|n| n == "Location name");
    let kind = if location_report {
        ReportKind::Location
    } else if file.region.is_some() {
        ReportKind::AdvertiserInRegion
    } else {
        ReportKind::Advertiser
    };
    let period = file.period.as_deref().unwrap_or("unknown");
    let mut r = ReportRow::new(Platform::Meta, kind, period);
    let mut unnormalized = Vec::new();
    r.country = file.country.clone();
    r.location = file.region.clone();
    r.report_date = file.date.map(Timestamp::from_date);
    if let Some(date) = file.date {
        let days_before = match period {
            "yesterday" => Some(0),
            "last_7_days" | "this_week" => Some(6),
            "last_30_days" => Some(29),
            "last_90_days" => Some(89),
            _ => None,
        };
        if let Some(days) = days_before {
            r.period_end = Some(Timestamp::from_date(date));
            r.period_start = date
                .checked_sub(time::Duration::days(days))
                .map(Timestamp::from_date);
        } else if period == "to_date" || period == "lifetime" {
            r.period_end = Some(Timestamp::from_date(date));
        }
    }

    if location_report {
        let Some(place) = row.non_empty("Location name") else {
            return problem("Location name", "the location name is empty".into());
        };
        r.location = Some(place.to_owned());
    } else {
        r.advertiser.id = row.non_empty("Page ID").map(str::to_owned);
        r.advertiser.name = row
            .non_empty("Page name")
            .or_else(|| row.non_empty("Page Name"))
            .map(str::to_owned);
        if r.advertiser.id.is_none() && r.advertiser.name.is_none() {
            return problem("Page name", "the row names no page".into());
        }
        r.funder = row.non_empty("Disclaimer").map(str::to_owned);
        if let Some(ads) = row
            .non_empty("Number of ads in Library")
            .or_else(|| row.non_empty("Number of Ads in Library"))
        {
            match whole_number(ads) {
                Some(n) => r.ads = Some(n),
                None => {
                    r.unmapped
                        .insert("Number of ads in Library".into(), ads.into());
                    unnormalized.push("Number of ads in Library".to_owned());
                }
            }
        }
    }

    if let Some((column, named)) = amount_column(header) {
        let inferred = file
            .country
            .as_deref()
            .and_then(|c| LOCAL_CURRENCIES.iter().find(|(cc, _)| *cc == c))
            .map(|(_, cur)| (*cur).to_owned());
        let currency = match (&named, inferred) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(c)) => {
                r.unmapped.insert(
                    "currency_inferred".into(),
                    format!("{c}: the header names no currency; Meta reported amounts in the country's currency").into(),
                );
                Some(c)
            }
            (None, None) => None,
        };
        if let Some(value) = row.non_empty(column) {
            match currency.as_deref().and_then(|c| amount(value, c)) {
                Some(spend) => r.spend.push(spend),
                None => {
                    r.unmapped.insert(column.to_owned(), value.into());
                    unnormalized.push(column.to_owned());
                }
            }
        }
    }
    let first_amount = amount_column(header).map(|(name, _)| name.to_owned());
    for name in &header.names {
        // A second amount column (never seen, but possible) is kept as is.
        let mapped_amount = first_amount.as_deref() == Some(name.as_str());
        if !MAPPED.contains(&name.as_str()) && !mapped_amount {
            if let Some(v) = row.non_empty(name) {
                r.unmapped.insert(name.clone(), v.into());
            }
        }
    }
    Entry::Report(ParsedReport {
        locator: row.locator,
        raw: row.raw,
        row: r,
        unnormalized,
    })
}

#[cfg(test)]
mod stated_facts_tests {
    use super::*;

    #[test]
    fn stated_facts_replace_what_the_name_says() {
        let facts = StatedFacts {
            country: Some("AR"),
            date: Some(time::macros::date!(2022 - 11 - 18)),
            period: Some("last_7_days"),
        };
        let name = MetaAdLibraryReport.name_stating("AR.csv", &facts).unwrap();
        let read = report_name(&name);
        assert_eq!(read.country.as_deref(), Some("AR"));
        assert_eq!(read.period.as_deref(), Some("last_7_days"));
        assert_eq!(read.date, facts.date);

        // A 2019 report keeps its period when only its country is stated.
        let only_country = StatedFacts {
            country: Some("GB"),
            ..StatedFacts::default()
        };
        let name = MetaAdLibraryReport
            .name_stating(
                "FacebookAdLibraryReportUA2019-05-04ThisWeekSpending.csv",
                &only_country,
            )
            .unwrap();
        let read = report_name(&name);
        assert_eq!(read.country.as_deref(), Some("GB"));
        assert_eq!(read.period.as_deref(), Some("this_week"));
        assert_eq!(read.date, Some(time::macros::date!(2019 - 05 - 04)));

        // A region file keeps its region.
        let name = MetaAdLibraryReport
            .name_stating(
                "FacebookAdLibraryReport_2022-11-18_TH_yesterday_Bangkok.csv",
                &only_country,
            )
            .unwrap();
        assert_eq!(report_name(&name).region.as_deref(), Some("Bangkok"));
    }
}
