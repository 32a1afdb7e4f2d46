//! Bulk export of every match, for academics: NDJSON or CSV, written page by
//! page from one snapshot of the index, with resume points.
//!
//! Memory holds one page of ads whatever the number of matches. Facets and
//! snippets are never computed for an export.

use std::io::Write;

use adarchive_schema::Ad;

use super::{bad, rank, search_in, SearchError, SearchRequest};
use crate::archive::Archive;

/// Ads per page of an export; also the distance between resume points.
/// Each page is one pass over the matches, so larger pages make large
/// exports faster, at the cost of one page of records in memory.
pub const EXPORT_PAGE: usize = 10_000;

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON record per line; every page ends with a `{"next_cursor":…}`
    /// line to resume from.
    Ndjson,
    /// One row per ad with the columns of [`CSV_COLUMNS`]; the last row of
    /// every page carries the cursor to resume from in `resume_cursor`.
    Csv,
    /// One Apache Parquet file (see [`super::parquet`]); no resume points.
    Parquet,
}

impl ExportFormat {
    /// Parses `ndjson`, `csv` or `parquet`.
    pub fn parse(name: &str) -> Result<Self, SearchError> {
        match name {
            "ndjson" => Ok(ExportFormat::Ndjson),
            "csv" => Ok(ExportFormat::Csv),
            "parquet" => Ok(ExportFormat::Parquet),
            other => Err(bad(
                "format",
                format!("`{other}` is not `ndjson`, `csv` or `parquet`"),
            )),
        }
    }

    /// The media type of the output.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// CSV columns, in order. Lists are JSON arrays and nested objects JSON, so
/// that cells keep their structure.
pub const CSV_COLUMNS: &[&str] = &[
    "uid",
    "platform",
    "platform_ad_id",
    "advertiser_id",
    "advertiser_name",
    "funder",
    "first_shown",
    "last_shown",
    "countries",
    "regions",
    "languages",
    "media_type",
    "spend",
    "impressions_lower",
    "impressions_upper",
    "audience_lower",
    "audience_upper",
    "creative",
    "targeting",
    "delivery",
    "payers",
    "beneficiaries",
    "unmapped",
    "resume_cursor",
];

/// A cell a spreadsheet would run as a formula gets a leading `'`.
///
/// ```
/// use adarchive::search::export::defuse;
/// assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
/// assert_eq!(defuse("-12"), "'-12");
/// assert_eq!(defuse("Vote"), "Vote");
/// ```
pub fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn csv_row(ad: &Ad, cursor: &str) -> Vec<String> {
    let range = |r: Option<adarchive_schema::CountRange>| {
        (
            r.map(|r| r.lower.to_string()).unwrap_or_default(),
            r.and_then(|r| r.upper)
                .map(|u| u.to_string())
                .unwrap_or_default(),
        )
    };
    let (imp_lo, imp_hi) = range(ad.impressions);
    let (aud_lo, aud_hi) = range(ad.audience_size);
    let row = vec![
        ad.uid.clone(),
        ad.platform.to_string(),
        ad.platform_ad_id.clone(),
        ad.advertiser.id.clone().unwrap_or_default(),
        ad.advertiser.name.clone().unwrap_or_default(),
        ad.funder.clone().unwrap_or_default(),
        ad.first_shown.map(|t| t.to_string()).unwrap_or_default(),
        ad.last_shown.map(|t| t.to_string()).unwrap_or_default(),
        json(&ad.countries),
        json(&ad.regions),
        json(&ad.languages),
        ad.creative
            .media_type
            .map(crate::index::schema::media_type_name)
            .unwrap_or_default()
            .to_owned(),
        json(&ad.spend),
        imp_lo,
        imp_hi,
        aud_lo,
        aud_hi,
        json(&ad.creative),
        json(&ad.targeting),
        json(&ad.delivery),
        json(&ad.payers),
        json(&ad.beneficiaries),
        json(&ad.unmapped),
        cursor.to_owned(),
    ];
    row.iter().map(|c| defuse(c)).collect()
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Ads written.
    pub ads: u64,
    /// Where a resumed export would start; `None` when it finished.
    pub last_cursor: Option<String>,
}

/// Writes every ad matching `request` (from its `cursor` on, in its `sort`)
/// to `out`. Stops early, without error, when `out` refuses more bytes
/// (the client went away).
pub fn export(
    archive: &Archive,
    request: &SearchRequest,
    format: ExportFormat,
    page_size: usize,
    out: &mut dyn Write,
) -> Result<ExportSummary, SearchError> {
    if format == ExportFormat::Parquet {
        return super::parquet::write_parquet(archive, request, out).map_err(|e| match e {
            super::parquet::ParquetExportError::Search(e) => e,
            other => SearchError::Archive(crate::Error::Io {
                path: std::path::PathBuf::from("Parquet export"),
                source: std::io::Error::other(other.to_string()),
            }),
        });
    }
    let index = archive.search_index()?;
    let searcher = index.searcher();
    let mut page_request = SearchRequest {
        limit: page_size.max(1),
        facets: Vec::new(),
        snippets: false,
        ..request.clone()
    };
    let mut summary = ExportSummary::default();
    let mut first = true;
    loop {
        let mut chunk = Vec::new();
        let (count, next) = match format {
            ExportFormat::Csv => {
                let page = search_in(archive, &searcher, &page_request)?;
                write_csv(
                    &page.results,
                    page.next_cursor.as_deref(),
                    first,
                    &mut chunk,
                );
                (page.results.len(), page.next_cursor)
            }
            ExportFormat::Parquet => (0, None),
            ExportFormat::Ndjson => {
                // Records are written as stored: canonical JSON is the record's JSON.
                let ranking = rank(archive, &searcher, &page_request)?;
                let uids: Vec<String> = ranking.ranked.iter().map(|r| r.key.uid.clone()).collect();
                let mut count = 0;
                for record in archive.latest_canonical(&uids)?.into_iter().flatten() {
                    chunk.extend_from_slice(&record);
                    chunk.push(b'\n');
                    count += 1;
                }
                if let Some(c) = &ranking.next_cursor {
                    let _ = writeln!(chunk, "{{\"next_cursor\":\"{c}\"}}");
                }
                (count, ranking.next_cursor)
            }
        };
        first = false;
        if out.write_all(&chunk).is_err() {
            return Ok(summary);
        }
        summary.ads += count as u64;
        summary.last_cursor = next.clone();
        match next {
            Some(c) => page_request.cursor = Some(c),
            None => return Ok(summary),
        }
    }
}

/// Appends CSV rows for one page (the header first on the first page).
fn write_csv(results: &[super::Hit], next: Option<&str>, header: bool, chunk: &mut Vec<u8>) {
    let count = results.len();
    let resume = next.unwrap_or_default();
    // Writing into a Vec cannot fail.
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(chunk);
    if header {
        let _ = w.write_record(CSV_COLUMNS);
    }
    for (i, hit) in results.iter().enumerate() {
        let cursor = if i + 1 == count { resume } else { "" };
        let _ = w.write_record(csv_row(&hit.ad, cursor));
    }
    let _ = w.flush();
}
