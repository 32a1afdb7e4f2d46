//! Google's political-ads tables, whichever way they were saved.
//!
//! Google publishes the same tables twice: as CSV files in its transparency
//! bundle, with columns spelled `Ad_ID`, `Spend_Range_Min_USD`, and as the
//! BigQuery public dataset `google_political_ads`, whose columns are the
//! same names in lower case (`ad_id`, `spend_range_min_usd`). Researchers
//! save BigQuery tables as CSV from the console or `bq extract`, through
//! pandas (which adds an unnamed index column in front), or as JSON Lines
//! (`bq extract --destination_format NEWLINE_DELIMITED_JSON`).
//!
//! Every spelling is read here into rows under the bundle's column names,
//! so a row maps to the same record, with the same hash, whichever file it
//! came from. Values need no translation: BigQuery's integers and dates
//! print as the bundle's do, and its timestamps
//! (`2022-01-14 05:00:00 UTC`, pandas' `2022-01-14 05:00:00+00:00`) are
//! read by [`crate::normalize::timestamp`] like the bundle's.

use std::collections::HashMap;
use std::io::Read;

use serde_json::{Map, Value};

use crate::csv_rows::{read_rows, sniff_header, Header, Row, RowOrProblem};
use crate::json_fields::{malformed, parse_object};
use crate::json_objects::{for_each_object, Item};
use crate::sniff::starts_json_object;
use crate::{Entry, ReadError, Sink};

/// Every column of every table, as the bundle spells it. Spend columns,
/// whose names carry a currency (`Spend_EUR`, `Spend_Range_Max_NZD`) or a
/// rank (`Spend_USD_3`, `Keyword_3`), are recognised by their shape.
const BUNDLE_COLUMNS: &[&str] = &[
    "Ad_Campaigns_List",
    "Ad_ID",
    "Ad_Type",
    "Ad_URL",
    "Ads_List",
    "Advertiser_Declared_Name",
    "Advertiser_Declared_Promoter_Address",
    "Advertiser_Declared_Promoter_Name",
    "Advertiser_Declared_Regulatory_ID",
    "Advertiser_Declared_Scope",
    "Advertiser_ID",
    "Advertiser_Name",
    "Age_Targeting",
    "Campaign_ID",
    "Congressional_District",
    "Country",
    "Country_Subdivision_Primary",
    "Country_Subdivision_Secondary",
    "Date_Range_End",
    "Date_Range_Start",
    "Election_Cycle",
    "Elections",
    "End_Date",
    "First_Served_Timestamp",
    "Gender_Targeting",
    "Geo_Targeting_Excluded",
    "Geo_Targeting_Included",
    "Impressions",
    "Last_Served_Timestamp",
    "NZ_Advertiser_Declared_Address",
    "NZ_Advertiser_Declared_Name",
    "NewAdvertiserId",
    "Num_of_Days",
    "OldAdvertiserId",
    "Public_IDs_List",
    "Region",
    "Regions",
    "Report_Data_Updated_Date",
    "Report_Date",
    "Start_Date",
    "State",
    "Total_Creatives",
    "Week_Start_Date",
];

/// The bundle's spelling of a column named `name` in any spelling; a name
/// Google never used is returned as it is.
///
/// ```
/// use adarchive_importers::google_tables::bundle_spelling;
/// assert_eq!(bundle_spelling("ad_id"), "Ad_ID");
/// assert_eq!(bundle_spelling("num_of_days"), "Num_of_Days");
/// assert_eq!(bundle_spelling("spend_range_min_usd"), "Spend_Range_Min_USD");
/// assert_eq!(bundle_spelling("spend_nzd"), "Spend_NZD");
/// assert_eq!(bundle_spelling("spend_usd_3"), "Spend_USD_3");
/// assert_eq!(bundle_spelling("keyword_3"), "Keyword_3");
/// assert_eq!(bundle_spelling("Ad_ID"), "Ad_ID");
/// assert_eq!(bundle_spelling("something_else"), "something_else");
/// ```
pub fn bundle_spelling(name: &str) -> String {
    if let Some(known) = BUNDLE_COLUMNS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
    {
        return (*known).to_owned();
    }
    let lower = name.to_ascii_lowercase();
    let is_currency = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let is_rank = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    for (prefix, spelled) in [
        ("spend_range_min_", "Spend_Range_Min_"),
        ("spend_range_max_", "Spend_Range_Max_"),
        ("total_spend_", "Total_Spend_"),
    ] {
        if let Some(currency) = lower.strip_prefix(prefix).filter(|c| is_currency(c)) {
            return format!("{spelled}{}", currency.to_ascii_uppercase());
        }
    }
    if let Some(rest) = lower.strip_prefix("spend_") {
        if is_currency(rest) {
            return format!("Spend_{}", rest.to_ascii_uppercase());
        }
        if is_rank(rest) {
            return format!("Spend_{rest}");
        }
        if let Some((currency, rank)) = rest.split_once('_') {
            if is_currency(currency) && is_rank(rank) {
                return format!("Spend_{}_{rank}", currency.to_ascii_uppercase());
            }
        }
    }
    if let Some(rank) = lower.strip_prefix("keyword_").filter(|r| is_rank(r)) {
        return format!("Keyword_{rank}");
    }
    name.to_owned()
}

/// Whether the column at `index` named `name` is the row number pandas
/// writes in front of a saved table (`,ad_id,…` or `Unnamed: 0,ad_id,…`).
fn is_pandas_index(index: usize, name: &str) -> bool {
    index == 0 && (name.is_empty() || name.starts_with("Unnamed: "))
}

/// Names in the bundle's spelling; a pandas index column becomes the empty
/// name, which importers never map nor keep (it numbers the rows of one
/// saved copy and is not part of the table).
pub(crate) fn to_bundle_spelling(names: &mut [String]) {
    for (i, name) in names.iter_mut().enumerate() {
        *name = if is_pandas_index(i, name) {
            String::new()
        } else {
            bundle_spelling(name)
        };
    }
}

/// Whether a column is one a table keeps in `unmapped` when no importer
/// maps it: every column but a pandas index.
pub(crate) fn is_table_column(name: &str) -> bool {
    !name.is_empty()
}

/// The columns of the table `head` starts, in the bundle's spelling: the
/// CSV header, or the keys of the first JSON object.
pub(crate) fn sniff_columns(head: &[u8]) -> Option<Vec<String>> {
    let mut names = if starts_json_object(head) {
        first_object_keys(head)?
    } else {
        sniff_header(head)?
    };
    to_bundle_spelling(&mut names);
    Some(names)
}

/// `application/json` for a table saved as JSON, else `text/csv`.
pub(crate) fn media_type_of(head: &[u8]) -> &'static str {
    if starts_json_object(head) {
        "application/json"
    } else {
        "text/csv"
    }
}

/// The keys of the first object in `head`. A first object longer than
/// `head` (a row with megabytes of targeting) is read up to where `head`
/// ends: its keys so far are enough to tell the table.
fn first_object_keys(head: &[u8]) -> Option<Vec<String>> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|&b| b == b'{')?;
    let text = &head[start..];
    let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<Map<String, Value>>();
    match stream.next() {
        Some(Ok(object)) => return Some(object.keys().cloned().collect()),
        Some(Err(e)) if !e.is_eof() => return None,
        _ => {}
    }
    // Cut short: the keys at the object's own depth, read by hand.
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let mut end = i + 1;
                while end < text.len() && text[end] != b'"' {
                    end += if text[end] == b'\\' { 2 } else { 1 };
                }
                let after = text[end.min(text.len())..]
                    .iter()
                    .skip(1)
                    .find(|b| !b.is_ascii_whitespace());
                if depth == 1 && after == Some(&b':') {
                    keys.push(String::from_utf8_lossy(&text[i + 1..end.min(text.len())]).into());
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    (!keys.is_empty()).then_some(keys)
}

/// Reads a Google table saved as CSV (any spelling) or as JSON Lines (or a
/// JSON array of rows). `table_of` tells from the columns which table the
/// file is, or why it is none; `map_row` maps each row of it.
pub(crate) fn read_table<T: Copy>(
    format: &'static str,
    input: &mut dyn Read,
    sink: &mut Sink<'_>,
    table_of: impl Fn(&[String]) -> Result<T, String>,
    map_row: impl for<'a> Fn(&Header, &Row<'a>, T) -> Entry<'a>,
) -> Result<(), ReadError> {
    let mut head = Vec::with_capacity(4096);
    input.take(4096).read_to_end(&mut head)?;
    let mut whole = head.as_slice().chain(input);
    if starts_json_object(&head) {
        return read_json_rows(format, &mut whole, sink, table_of, map_row);
    }
    let table = std::cell::Cell::new(None);
    read_rows(
        format,
        &mut whole,
        |header| {
            to_bundle_spelling(&mut header.names);
            table.set(Some(table_of(&header.names)?));
            Ok(())
        },
        |header, entry| {
            let entry = match (entry, table.get()) {
                (RowOrProblem::Problem(p), _) => Entry::Problem(p),
                (RowOrProblem::Row(row), Some(table)) => map_row(header, &row, table),
                (RowOrProblem::Row(_), None) => return Ok(()),
            };
            sink(entry).map_err(ReadError::Sink)
        },
    )
}

fn read_json_rows<T: Copy>(
    format: &'static str,
    input: &mut dyn Read,
    sink: &mut Sink<'_>,
    table_of: impl Fn(&[String]) -> Result<T, String>,
    map_row: impl for<'a> Fn(&Header, &Row<'a>, T) -> Entry<'a>,
) -> Result<(), ReadError> {
    let mut table = None;
    // Rows of one file share their keys: each is spelled once.
    let mut spelled: HashMap<String, String> = HashMap::new();
    let mut columns: HashMap<String, usize> = HashMap::new();
    for_each_object(input, &[], |item| {
        let Item::Object { locator, raw } = item else {
            return match malformed(item) {
                Some(problem) => sink(problem).map_err(ReadError::Sink),
                None => Ok(()),
            };
        };
        let object = match parse_object(locator, raw) {
            Ok(fields) => fields.into_map(),
            Err(problem) => return sink(Entry::Problem(problem)).map_err(ReadError::Sink),
        };
        let names: Vec<String> = object
            .keys()
            .map(|key| {
                spelled
                    .entry(key.clone())
                    .or_insert_with(|| bundle_spelling(key))
                    .clone()
            })
            .collect();
        let table = match table {
            Some(t) => t,
            None => {
                let t =
                    table_of(&names).map_err(|reason| ReadError::WrongFormat { format, reason })?;
                table = Some(t);
                t
            }
        };
        let values: Vec<String> = object.values().map(cell_text).collect();
        columns.clear();
        for (i, name) in names.iter().enumerate() {
            columns.entry(name.clone()).or_insert(i);
        }
        let header = Header { names };
        let fields = values.iter().map(String::as_str).collect();
        let row = Row::new(locator, raw, fields, &columns);
        sink(map_row(&header, &row, table)).map_err(ReadError::Sink)
    })
}

/// A JSON value as its CSV cell would read: strings as they are, numbers
/// and booleans as written, `null` empty, anything else as JSON text.
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_first_object_longer_than_the_head() {
        let head = br#"{"ad_id":"CR1","advertiser_id":"AR2","geo_targeting_included":"a, b, c"#;
        assert_eq!(
            first_object_keys(head).unwrap(),
            ["ad_id", "advertiser_id", "geo_targeting_included"]
        );
        let nested = br#"[{"ad_id":"CR1","x":{"inner":1},"ad_url":"u"#;
        assert_eq!(first_object_keys(nested).unwrap(), ["ad_id", "x", "ad_url"]);
    }

    #[test]
    fn pandas_index_columns_are_dropped() {
        let mut names = vec!["Unnamed: 0".to_owned(), "ad_id".to_owned()];
        to_bundle_spelling(&mut names);
        assert_eq!(names, ["", "Ad_ID"]);
        let mut names = vec![String::new(), "week_start_date".to_owned()];
        to_bundle_spelling(&mut names);
        assert_eq!(names, ["", "Week_Start_Date"]);
    }
}
