//! ECB euro foreign exchange reference rates, `eurofxref-hist.csv`:
//! `Date,USD,JPY,BGN,…,` (a trailing comma, so an empty last column), one
//! row per business day, newest first, units of currency per euro, `N/A`
//! where a currency has no rate that day.

use std::io::Read;

use adarchive_schema::{RateRow, Timestamp};
use time::Date;

use crate::csv_rows::{read_rows, sniff_header, Header, Row, RowOrProblem};
use crate::normalize::{currency_code, is_placeholder};
use crate::{Entry, Importer, ParsedRates, Problem, ReadError, Sink};

/// The ECB reference rates importer.
pub struct EcbEuroRates;

const NAME: &str = "ecb-euro-rates";

fn is_rates_header(names: &[String]) -> bool {
    let mut rest = names.iter().filter(|n| !n.is_empty());
    rest.next().is_some_and(|first| first == "Date")
        && names.len() >= 3
        && rest.all(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_uppercase()))
}

impl Importer for EcbEuroRates {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        None
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "ECB euro reference rates history (eurofxref-hist.csv), for converting spend"
    }

    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn detect(&self, head: &[u8]) -> bool {
        sniff_header(head).is_some_and(|h| is_rates_header(&h))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_rows(
            NAME,
            input,
            |header| {
                if is_rates_header(&header.names) {
                    Ok(())
                } else {
                    Err("the header is not `Date` followed by currency codes".into())
                }
            },
            |header, entry| {
                let entry = match entry {
                    RowOrProblem::Problem(p) => Entry::Problem(p),
                    RowOrProblem::Row(row) => map_row(header, &row),
                };
                sink(entry).map_err(ReadError::Sink)
            },
        )
    }
}

fn map_row<'a>(header: &Header, row: &Row<'a>) -> Entry<'a> {
    let problem = |field: &str, reason: String| {
        Entry::Problem(Problem {
            locator: row.locator,
            raw: row.raw,
            field: Some(field.to_owned()),
            reason,
        })
    };
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let day = row.non_empty("Date").unwrap_or_default();
    let Ok(date) = Date::parse(day, &iso) else {
        return problem("Date", format!("`{day}` is not a date (YYYY-MM-DD)"));
    };
    let mut rates = RateRow::new(Timestamp::from_date(date));
    for name in header.names.iter().skip(1) {
        let Some(code) = currency_code(name) else {
            continue;
        };
        let Some(value) = row.non_empty(name).filter(|v| !is_placeholder(v)) else {
            continue;
        };
        match value.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => {
                rates.per_euro.insert(code, rate);
            }
            _ => {
                return problem(
                    name,
                    format!("`{value}` is not a rate (a positive number or N/A)"),
                )
            }
        }
    }
    Entry::Rates(ParsedRates {
        locator: row.locator,
        raw: row.raw,
        row: rates,
    })
}
