//! Report-level spend: the figures the platforms print in their aggregate
//! reports (Meta's Ad Library Report, Google's advertiser-stats,
//! weekly-spend and geo-spend), grouped and summed like the ad-level totals
//! but never mixed with them.
//!
//! Reports are snapshots. When two imported files are the same report (same
//! platform, kind, period, report date and, for Meta, country and region
//! file) only the one imported last counts, and the response says how many
//! rows that left out. Rows of different kinds (advertiser totals, location
//! totals, …) always overlap, so one kind is summed at a time.

use std::collections::{BTreeMap, HashMap};

use adarchive_schema::{ReportKind, ReportRow, Timestamp};
use serde::{Deserialize, Serialize};

use super::Grouping;
use crate::archive::{Archive, ArchivedReportRow};
use crate::search::{bad, SearchError};

/// Which report rows to total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// The kind of report: `advertiser` (the default), `advertiser_in_region`,
    /// `location`, `advertiser_week` or `geo`.
    pub kind: Option<String>,
    /// Platforms.
    pub platform: Vec<String>,
    /// Countries, ISO 3166-1 alpha-2.
    pub country: Vec<String>,
    /// Periods as the reports name them (`yesterday`, `last_30_days`, …).
    pub period: Vec<String>,
    /// Advertiser ids (Meta page ids, Google `AR…`).
    pub advertiser_id: Vec<String>,
    /// One funder (Meta disclaimer), exactly.
    pub funder: Option<String>,
    /// Currencies to keep.
    pub currency: Vec<String>,
    /// Only rows whose period (or report date) ends on or after this time.
    pub from: Option<Timestamp>,
    /// Only rows whose period (or report date) starts on or before this time.
    pub to: Option<Timestamp>,
}

impl ReportQuery {
    /// The report rows that correspond to the ad filters `filters` (platform,
    /// country, advertiser id, funder, currency, period), of `kind` and
    /// `period`.
    pub fn from_filters(
        filters: &super::Filters,
        kind: Option<String>,
        period: Vec<String>,
    ) -> Self {
        ReportQuery {
            kind,
            platform: filters.platform.clone(),
            country: filters.country.clone(),
            period,
            advertiser_id: filters.advertiser_id.clone(),
            funder: filters.funder.first().cloned(),
            currency: filters.currency.clone(),
            from: filters.from,
            to: filters.to,
        }
    }
}

/// A figure in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFigure {
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of the rows' lower bounds (`≤100` counts 0).
    pub lower: u128,
    /// Sum of the rows' upper bounds.
    pub upper: u128,
    /// Rows summed.
    pub rows: u64,
}

/// One report that contributed to a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReportRef {
    /// The stored source file (blake3).
    pub source: String,
    /// Its file name.
    pub name: String,
    /// Its period (`yesterday`, `week`, …).
    pub period: String,
    /// Its report date, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_date: Option<Timestamp>,
}

/// One row a figure comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRef {
    /// The stored source file (blake3).
    pub source: String,
    /// 1-based line in it.
    pub line: u64,
}

/// The report-level totals of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportGroup {
    /// The group's key, in the same form as the ad-level groups
    /// (`meta:157659344260788`, `TH`, `2018-09`).
    pub key: String,
    /// A display name where the key is an id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Rows summed.
    pub rows: u64,
    /// Per currency, never converted.
    pub spend: Vec<ReportFigure>,
    /// The reports the rows come from.
    pub reports: Vec<ReportRef>,
    /// The rows themselves (the first [`ROWS_LISTED`]).
    pub lines: Vec<RowRef>,
    /// True when some row gives one amount in several currencies (Google's
    /// 2018–2019 files), so the currencies must not be added together;
    /// false when each currency is a separate part of the spend.
    pub currencies_are_alternatives: bool,
}

/// How many rows a group lists by source and line.
pub const ROWS_LISTED: usize = 50;

/// Report-level totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTotals {
    /// What these figures are.
    pub origin: String,
    /// The kind of report summed.
    pub kind: String,
    /// Rows matching.
    pub rows: u64,
    /// Matching rows left out: of an older report of the same place and
    /// period, of a later import of the same report, or of a narrower period
    /// where a broader one exists.
    pub superseded_rows: u64,
    /// The reports totalled: platform, kind, country, period and date.
    pub reports_used: Vec<String>,
    /// How the groups are ordered (see [`super::SpendResponse::ordered_by`]).
    pub ordered_by: String,
    /// Groups, in the order `ordered_by` says.
    pub groups: Vec<ReportGroup>,
    /// Filters of the request that report rows cannot honour (they have no
    /// text, language, media type, targeting or ranges), so these figures
    /// are not narrowed by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<String>,
}

/// Kinds a [`ReportQuery`] accepts.
pub const REPORT_KINDS: &[&str] = &[
    "advertiser",
    "advertiser_in_region",
    "location",
    "advertiser_week",
    "geo",
];

fn kind_named(name: &str) -> Option<ReportKind> {
    Some(match name {
        "advertiser" => ReportKind::Advertiser,
        "advertiser_in_region" => ReportKind::AdvertiserInRegion,
        "location" => ReportKind::Location,
        "advertiser_week" => ReportKind::AdvertiserWeek,
        "geo" => ReportKind::Geo,
        _ => return None,
    })
}

/// The key under which a row's advertiser groups: `platform:id`, or
/// `platform:name:<name>` for reports that print no id (Meta, 2019), as the
/// ad-level groups do.
pub fn advertiser_key(row: &ReportRow) -> Option<String> {
    let platform = row.platform.as_str();
    match (&row.advertiser.id, &row.advertiser.name) {
        (Some(id), _) => Some(format!("{platform}:{id}")),
        (None, Some(name)) => Some(format!("{platform}:name:{name}")),
        (None, None) => None,
    }
}

/// Periods as the reports name them, the broadest first: where one place
/// has reports of several periods, the broadest is the one totalled.
pub const PERIODS: &[&str] = &[
    "lifetime",
    "to_date",
    "all_time",
    "last_90_days",
    "last_30_days",
    "last_7_days",
    "this_week",
    "week",
    "yesterday",
    "unknown",
];

/// Periods whose reports overlap one another: cumulative (`lifetime`,
/// `to_date`, `all_time`) or rolling windows. Of these only the latest
/// report counts; reports of the other periods (a day, a week) are disjoint
/// and add up.
fn overlapping(period: &str) -> bool {
    matches!(
        period,
        "lifetime"
            | "to_date"
            | "all_time"
            | "last_7_days"
            | "last_30_days"
            | "last_90_days"
            | "unknown"
    )
}

/// Where a report applies: its platform, kind and, for Meta, the country
/// and region file it was downloaded for.
fn report_scope(row: &ReportRow) -> String {
    let meta = matches!(row.platform, adarchive_schema::Platform::Meta);
    format!(
        "{}|{:?}|{:?}|{:?}",
        row.platform,
        row.kind,
        if meta { row.country.as_deref() } else { None },
        if row.kind == ReportKind::AdvertiserInRegion {
            row.location.as_deref()
        } else {
            None
        },
    )
}

fn preference(period: &str) -> usize {
    PERIODS
        .iter()
        .position(|p| *p == period)
        .unwrap_or(PERIODS.len())
}

/// Whether the row's period and dates are those asked for.
fn in_period(query: &ReportQuery, row: &ReportRow) -> bool {
    let start = row.period_start.or(row.report_date);
    let end = row.period_end.or(row.report_date);
    (query.period.is_empty() || query.period.iter().any(|p| p == &row.period))
        && query.from.is_none_or(|from| end.is_none_or(|e| e >= from))
        && query.to.is_none_or(|to| start.is_none_or(|s| s <= to))
}

/// Whether the row is one of the advertisers, places and currencies asked
/// for.
fn matches(query: &ReportQuery, row: &ReportRow) -> bool {
    let any = |list: &[String], value: Option<&str>| {
        list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l.eq_ignore_ascii_case(v)))
    };
    let country = query.country.is_empty()
        || row
            .country
            .iter()
            .chain(&row.countries)
            .any(|c| query.country.iter().any(|q| q.eq_ignore_ascii_case(c)));
    any(&query.platform, Some(row.platform.as_str()))
        && country
        && any(&query.advertiser_id, row.advertiser.id.as_deref())
        && query
            .funder
            .as_ref()
            .is_none_or(|f| row.funder.as_deref() == Some(f.as_str()))
}

fn group_key(group_by: Grouping, row: &ReportRow) -> Option<(String, Option<String>)> {
    // A period is filed under the week or month holding its middle, so
    // that Google's Sunday-to-Saturday weeks land on the Monday-based weeks
    // of the ad-level figures.
    let time = || match (row.period_start, row.period_end) {
        (Some(a), Some(b)) => {
            let middle = a.unix_seconds() + (b.unix_seconds() - a.unix_seconds()) / 2;
            time::OffsetDateTime::from_unix_timestamp(middle)
                .ok()
                .map(adarchive_schema::Timestamp::from_offset_date_time)
        }
        (a, b) => a.or(b).or(row.report_date),
    };
    Some(match group_by {
        Grouping::Advertiser => (advertiser_key(row)?, row.advertiser.name.clone()),
        Grouping::Funder => (row.funder.clone()?, None),
        Grouping::Platform => (row.platform.as_str().to_owned(), None),
        Grouping::Country => match (&row.country, row.countries.is_empty()) {
            (Some(c), _) => (c.clone(), None),
            // A total over several countries cannot be split among them.
            (None, false) => (
                "several".to_owned(),
                Some("figures covering several countries".to_owned()),
            ),
            (None, true) => return None,
        },
        Grouping::Region => (row.location.clone()?, None),
        Grouping::Week => {
            let d = time()?.as_offset_date_time().date();
            let monday = d - time::Duration::days(i64::from(d.weekday().number_days_from_monday()));
            (
                format!(
                    "{:04}-{:02}-{:02}",
                    monday.year(),
                    u8::from(monday.month()),
                    monday.day()
                ),
                None,
            )
        }
        Grouping::Month => {
            let d = time()?.as_offset_date_time().date();
            (format!("{:04}-{:02}", d.year(), u8::from(d.month())), None)
        }
    })
}

/// Totals the report rows matching `query` per group (`advertiser`,
/// `funder`, `platform`, `country`, `region`, `week`, `month`).
pub fn report_totals(
    archive: &Archive,
    query: &ReportQuery,
    group_by: Grouping,
    limit: usize,
) -> Result<ReportTotals, SearchError> {
    let kind_name = query.kind.as_deref().unwrap_or("advertiser");
    let kind = kind_named(kind_name).ok_or_else(|| {
        bad(
            "report_kind",
            format!(
                "`{kind_name}` is not a report kind; use {}",
                REPORT_KINDS.join(", ")
            ),
        )
    })?;
    if let Some(unknown) = query.period.iter().find(|p| !PERIODS.contains(&p.as_str())) {
        return Err(bad(
            "period",
            format!(
                "`{unknown}` is not a report period; use {}",
                PERIODS.join(", ")
            ),
        ));
    }
    let rows = archive.report_rows().map_err(SearchError::Archive)?;
    Ok(total_rows(rows, query, kind, kind_name, group_by, limit))
}

fn total_rows(
    rows: Vec<ArchivedReportRow>,
    query: &ReportQuery,
    kind: ReportKind,
    kind_name: &str,
    group_by: Grouping,
    limit: usize,
) -> ReportTotals {
    // Which reports count is decided over every row of the kind and period
    // asked for, before the advertiser, place and currency filters, so that
    // one advertiser's figures agree with the whole table.
    let candidates: Vec<ArchivedReportRow> = rows
        .into_iter()
        .filter(|r| r.row.kind == kind && in_period(query, &r.row))
        .collect();
    let mut period_of: HashMap<String, String> = HashMap::new();
    for r in &candidates {
        let chosen = period_of
            .entry(report_scope(&r.row))
            .or_insert_with(|| r.row.period.clone());
        if preference(&r.row.period) < preference(chosen) {
            chosen.clone_from(&r.row.period);
        }
    }
    // The latest report per scope (overlapping periods) or per scope and
    // date (disjoint periods), by report date and then import order.
    let snapshot = |row: &ReportRow| {
        if overlapping(&row.period) {
            report_scope(row)
        } else {
            format!(
                "{}|{:?}|{:?}",
                report_scope(row),
                row.report_date,
                row.period_start
            )
        }
    };
    let mut latest: HashMap<String, (Option<adarchive_schema::Timestamp>, u64)> = HashMap::new();
    for r in &candidates {
        if period_of.get(&report_scope(&r.row)) != Some(&r.row.period) {
            continue;
        }
        let version = (
            if overlapping(&r.row.period) {
                r.row.report_date
            } else {
                None
            },
            r.source_seq,
        );
        let best = latest.entry(snapshot(&r.row)).or_insert(version);
        if version > *best {
            *best = version;
        }
    }
    let mut used: Vec<String> = Vec::new();
    let mut selected = Vec::new();
    let mut superseded = 0u64;
    for r in candidates {
        let chosen = period_of.get(&report_scope(&r.row)) == Some(&r.row.period);
        let version = (
            if overlapping(&r.row.period) {
                r.row.report_date
            } else {
                None
            },
            r.source_seq,
        );
        if !chosen || latest.get(&snapshot(&r.row)) != Some(&version) {
            if matches(query, &r.row) {
                superseded += 1;
            }
            continue;
        }
        if matches(query, &r.row) {
            let label = format!(
                "{} {}{}: {}{}",
                r.row.platform,
                kind_name,
                r.row
                    .country
                    .as_ref()
                    .filter(|_| matches!(r.row.platform, adarchive_schema::Platform::Meta))
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default(),
                r.row.period,
                r.row
                    .report_date
                    .map(|d| format!(" of {}", d.as_offset_date_time().date()))
                    .unwrap_or_default()
            );
            if !used.contains(&label) {
                used.push(label);
            }
            selected.push(r);
        }
    }
    used.sort();
    let mut groups: BTreeMap<String, ReportGroup> = BTreeMap::new();
    let mut counted = 0u64;
    for r in selected {
        let Some((key, name)) = group_key(group_by, &r.row) else {
            continue;
        };
        counted += 1;
        let group = groups.entry(key.clone()).or_insert_with(|| ReportGroup {
            key,
            name: None,
            rows: 0,
            spend: Vec::new(),
            reports: Vec::new(),
            lines: Vec::new(),
            currencies_are_alternatives: false,
        });
        group.currencies_are_alternatives |= r.row.spend_alternatives;
        if group.name.is_none() {
            group.name = name;
        }
        group.rows += 1;
        for s in &r.row.spend {
            if !query.currency.is_empty()
                && !query
                    .currency
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(&s.currency))
            {
                continue;
            }
            let at = match group.spend.iter().position(|f| f.currency == s.currency) {
                Some(at) => at,
                None => {
                    group.spend.push(ReportFigure {
                        currency: s.currency.clone(),
                        lower: 0,
                        upper: 0,
                        rows: 0,
                    });
                    group.spend.len() - 1
                }
            };
            let figure = &mut group.spend[at];
            figure.lower += u128::from(s.lower);
            // Report figures are exact or `≤N`: never open-ended.
            figure.upper += u128::from(s.upper.unwrap_or(s.lower));
            figure.rows += 1;
        }
        let reference = ReportRef {
            source: r.source_blake3.clone(),
            name: r.source_name.clone(),
            period: r.row.period.clone(),
            report_date: r.row.report_date,
        };
        if !group.reports.contains(&reference) {
            group.reports.push(reference);
        }
        if group.lines.len() < ROWS_LISTED {
            group.lines.push(RowRef {
                source: r.source_blake3,
                line: r.line,
            });
        }
    }
    let mut groups: Vec<ReportGroup> = groups.into_values().collect();
    for g in &mut groups {
        g.spend.sort_by(|a, b| a.currency.cmp(&b.currency));
        g.reports.sort();
    }
    let time = group_by.is_time();
    let ordered_by = super::order_groups(
        &mut groups,
        time,
        "rows",
        |g| g.rows,
        |g| {
            g.spend
                .iter()
                .filter(|s| s.lower > 0 || s.upper > 0)
                .map(|s| (s.currency.as_str(), s.lower))
                .collect()
        },
        |g| g.key.as_str(),
    );
    groups.truncate(limit);
    ReportTotals {
        origin: "reports: figures printed in the platforms' aggregate spend reports".into(),
        kind: kind_name.to_owned(),
        ordered_by,
        rows: counted,
        superseded_rows: superseded,
        reports_used: used,
        groups,
        not_applied: Vec::new(),
    }
}
