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

use rustc_hash::FxHashMap as HashMap;

use adarchive_schema::{ReportKind, ReportRow, Timestamp};
use serde::{Deserialize, Serialize};

use super::Grouping;
use crate::archive::{Archive, ArchivedReportRow};
use crate::index::schema::{currency_code, currency_number};
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
fn report_scope(row: &ReportRow) -> Scope<'_> {
    let meta = matches!(row.platform, adarchive_schema::Platform::Meta);
    (
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

/// Platform, kind, and for Meta the country and for regional advertiser
/// reports the region: rows of one scope are versions of the same figures.
type Scope<'a> = (
    adarchive_schema::Platform,
    ReportKind,
    Option<&'a str>,
    Option<&'a str>,
);

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
    let shared = archive.report_rows_shared().map_err(SearchError::Archive)?;
    let made_here;
    let prepared = match shared.derived(Prepared::of) {
        Some(prepared) => prepared,
        None => {
            made_here = Prepared::of(&shared.rows);
            &made_here
        }
    };
    Ok(total_rows(
        &shared.rows,
        prepared,
        query,
        kind,
        kind_name,
        group_by,
        limit,
    ))
}

/// Prepares what spend requests read once per state of the archive (see
/// [`Archive::warm`]), and the report rows' index with its groups by
/// advertiser, the grouping asked for most, so that no client waits for
/// them after a start or an import.
pub fn warm(archive: &Archive) {
    archive.warm();
    if let Ok(shared) = archive.report_rows_shared() {
        if let Some(prepared) = shared.derived(Prepared::of) {
            prepared.groups(&shared.rows, Grouping::Advertiser);
        }
    }
}

/// What a row's period and place say of which report counts.
#[derive(Clone, Copy)]
struct Facts {
    scope: u32,
    overlapping: bool,
    preference: usize,
}

/// A figure of nothing, left out of the currencies a total names.
fn figure_is_zero(figure: &adarchive_schema::SpendRange) -> bool {
    figure.lower == 0 && figure.upper.unwrap_or(figure.lower) == 0
}

/// A row that falls in no group (no advertiser id or name, no country …).
const NO_GROUP: u32 = u32::MAX;

/// Each row's group under one grouping as a number, and each number's
/// key.
struct Groups {
    of_row: Vec<u32>,
    keys: Vec<String>,
}

/// What totals read of each row, found once per state of the archive and
/// not per request: totals run over every row of every archived report.
struct Prepared {
    /// Per row: its scope's number and its period's preference and kind.
    facts: Vec<Facts>,
    /// How many scopes there are.
    scopes: usize,
    /// Per row: the number of the set of currencies it has figures in
    /// (other than zero), and the sum of those figures' lower bounds.
    /// Totals without a currency filter rank groups by these alone,
    /// without reading every figure of every row.
    currency_set: Vec<u32>,
    nonzero_lower: Vec<u128>,
    /// The sets of currencies, by number: ISO codes as numbers, any other
    /// currency as text.
    currency_sets: Vec<(Vec<u64>, Vec<String>)>,
    /// Per grouping, made when first asked for.
    groups: [std::sync::OnceLock<Groups>; 7],
}

impl Prepared {
    fn of(rows: &[ArchivedReportRow]) -> Self {
        let mut scope_ids: HashMap<Scope<'_>, u32> = HashMap::default();
        let facts = rows
            .iter()
            .map(|r| {
                let next = scope_ids.len() as u32;
                Facts {
                    scope: *scope_ids.entry(report_scope(&r.row)).or_insert(next),
                    overlapping: overlapping(&r.row.period),
                    preference: preference(&r.row.period),
                }
            })
            .collect();
        let mut set_ids: HashMap<(Vec<u64>, Vec<String>), u32> = HashMap::default();
        let mut currency_sets = Vec::new();
        let mut currency_set = Vec::with_capacity(rows.len());
        let mut nonzero_lower = Vec::with_capacity(rows.len());
        for r in rows {
            let (mut codes, mut odd, mut lower) = (Vec::new(), Vec::new(), 0u128);
            for s in r.row.spend.iter().filter(|s| !figure_is_zero(s)) {
                match currency_number(&s.currency) {
                    Some(code) => codes.push(code),
                    None => odd.push(s.currency.clone()),
                }
                lower += u128::from(s.lower);
            }
            codes.sort_unstable();
            codes.dedup();
            odd.sort_unstable();
            odd.dedup();
            let next = set_ids.len() as u32;
            let id = *set_ids.entry((codes, odd)).or_insert_with_key(|set| {
                currency_sets.push(set.clone());
                next
            });
            currency_set.push(id);
            nonzero_lower.push(lower);
        }
        Prepared {
            facts,
            scopes: scope_ids.len(),
            currency_set,
            nonzero_lower,
            currency_sets,
            groups: Default::default(),
        }
    }

    fn groups(&self, rows: &[ArchivedReportRow], group_by: Grouping) -> &Groups {
        let slot = match group_by {
            Grouping::Advertiser => 0,
            Grouping::Funder => 1,
            Grouping::Platform => 2,
            Grouping::Country => 3,
            Grouping::Region => 4,
            Grouping::Week => 5,
            Grouping::Month => 6,
        };
        self.groups[slot].get_or_init(|| {
            let mut index: HashMap<String, u32> = HashMap::default();
            let mut keys: Vec<String> = Vec::new();
            let of_row = rows
                .iter()
                .map(|r| match group_key(group_by, &r.row) {
                    None => NO_GROUP,
                    Some((key, _)) => *index.entry(key).or_insert_with_key(|key| {
                        keys.push(key.clone());
                        (keys.len() - 1) as u32
                    }),
                })
                .collect();
            Groups { of_row, keys }
        })
    }
}

fn total_rows(
    rows: &[ArchivedReportRow],
    prepared: &Prepared,
    query: &ReportQuery,
    kind: ReportKind,
    kind_name: &str,
    group_by: Grouping,
    limit: usize,
) -> ReportTotals {
    let facts = &prepared.facts;
    // Which reports count is decided over every row of the kind and period
    // asked for, before the advertiser, place and currency filters, so that
    // one advertiser's figures agree with the whole table.
    let candidates: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].row.kind == kind && in_period(query, &rows[i].row))
        .collect();
    // Per scope: the preferred period, with its preference.
    let mut period_of: Vec<Option<(usize, &str)>> = vec![None; prepared.scopes];
    for &i in &candidates {
        let f = &facts[i];
        let chosen = &mut period_of[f.scope as usize];
        match chosen {
            Some((preference, _)) if f.preference >= *preference => {}
            _ => *chosen = Some((f.preference, &rows[i].row.period)),
        }
    }
    // A known period is told by its preference alone.
    let is_chosen = |i: usize| {
        let f = &facts[i];
        period_of[f.scope as usize].is_some_and(|(preference, period)| {
            preference == f.preference
                && (preference < PERIODS.len() || period == rows[i].row.period)
        })
    };
    // The latest report per scope (overlapping periods) or per scope and
    // date (disjoint periods), by report date and then import order.
    type Snapshot = (u32, Option<Timestamp>, Option<Timestamp>);
    let snapshot = |i: usize| -> Snapshot {
        let f = &facts[i];
        if f.overlapping {
            (f.scope, None, None)
        } else {
            (f.scope, rows[i].row.report_date, rows[i].row.period_start)
        }
    };
    let version = |i: usize| {
        (
            if facts[i].overlapping {
                rows[i].row.report_date
            } else {
                None
            },
            rows[i].source_seq,
        )
    };
    let mut latest: HashMap<Snapshot, (Option<Timestamp>, u64)> = HashMap::default();
    for &i in &candidates {
        if !is_chosen(i) {
            continue;
        }
        let version = version(i);
        let best = latest.entry(snapshot(i)).or_insert(version);
        if version > *best {
            *best = version;
        }
    }
    let mut used: Vec<String> = Vec::new();
    let mut selected: Vec<usize> = Vec::new();
    let mut superseded = 0u64;
    // What the last label was written for: rows of one report follow
    // each other.
    let mut labelled: Option<(u64, Option<&str>, &str)> = None;
    for &i in &candidates {
        let r = &rows[i];
        if !is_chosen(i) || latest.get(&snapshot(i)) != Some(&version(i)) {
            if matches(query, &r.row) {
                superseded += 1;
            }
            continue;
        }
        if matches(query, &r.row) {
            // A label names the country of Meta's reports alone, which are
            // downloaded per country; other reports' rows each name theirs.
            let meta = matches!(r.row.platform, adarchive_schema::Platform::Meta);
            let report = (
                r.source_seq,
                r.row.country.as_deref().filter(|_| meta),
                r.row.period.as_str(),
            );
            if labelled != Some(report) {
                labelled = Some(report);
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
            }
            selected.push(i);
        }
    }
    used.sort();
    let wanted = |currency: &str| {
        query.currency.is_empty()
            || query
                .currency
                .iter()
                .any(|c| c.eq_ignore_ascii_case(currency))
    };
    // First pass: each group's rows and ranking figure, without building
    // the group: only the groups returned are built.
    let groups = prepared.groups(rows, group_by);
    let keys = &groups.keys;
    let mut rows_of: Vec<u64> = vec![0; keys.len()];
    // Lower bounds in the first currency seen, which rank the groups
    // while it is the only one.
    let mut lower_of: Vec<u128> = vec![0; keys.len()];
    // Currencies as numbers (compared far faster than strings), and any
    // that is not an ISO code as text.
    let mut codes: Vec<u64> = Vec::new();
    let mut odd: Vec<&str> = Vec::new();
    let mut first: Option<Result<u64, &str>> = None;
    let mut counted = 0u64;
    let mut set_seen = vec![false; prepared.currency_sets.len()];
    for &i in &selected {
        let g = groups.of_row[i];
        if g == NO_GROUP {
            continue;
        }
        counted += 1;
        rows_of[g as usize] += 1;
        if query.currency.is_empty() {
            // Every figure counts: the row's set of currencies and the sum
            // of its lower bounds, which is the sum in the first currency
            // whenever there is one currency, the only case it ranks by.
            let set = prepared.currency_set[i] as usize;
            if !set_seen[set] {
                set_seen[set] = true;
                let (set_codes, set_odd) = &prepared.currency_sets[set];
                for code in set_codes {
                    if !codes.contains(code) {
                        codes.push(*code);
                    }
                }
                for text in set_odd {
                    if !odd.contains(&text.as_str()) {
                        odd.push(text);
                    }
                }
            }
            lower_of[g as usize] += prepared.nonzero_lower[i];
            continue;
        }
        for s in rows[i].row.spend.iter().filter(|s| wanted(&s.currency)) {
            if figure_is_zero(s) {
                continue;
            }
            let currency = currency_number(&s.currency).ok_or(s.currency.as_str());
            match currency {
                Ok(code) if !codes.contains(&code) => codes.push(code),
                Err(text) if !odd.contains(&text) => odd.push(text),
                _ => {}
            }
            if *first.get_or_insert(currency) == currency {
                lower_of[g as usize] += u128::from(s.lower);
            }
        }
    }
    let time = group_by.is_time();
    let one_currency = codes.len() + odd.len() == 1;
    let order = |a: &u32, b: &u32| {
        let (a, b) = (*a as usize, *b as usize);
        let by_key = keys[a].cmp(&keys[b]);
        if time {
            by_key
        } else if one_currency {
            lower_of[b]
                .cmp(&lower_of[a])
                .then_with(|| rows_of[b].cmp(&rows_of[a]))
                .then(by_key)
        } else {
            rows_of[b].cmp(&rows_of[a]).then(by_key)
        }
    };
    let mut chosen: Vec<u32> = (0..keys.len() as u32)
        .filter(|&g| rows_of[g as usize] > 0)
        .collect();
    if chosen.len() > limit {
        if limit > 0 {
            chosen.select_nth_unstable_by(limit - 1, order);
        }
        chosen.truncate(limit);
    }
    chosen.sort_unstable_by(order);
    let ordered_by = if time {
        "period, earliest first".to_owned()
    } else {
        let mut named: Vec<String> = codes.iter().map(|c| currency_code(*c)).collect();
        named.extend(odd.iter().map(|c| (*c).to_owned()));
        named.sort();
        super::ordered_by("rows", &named)
    };
    let mut place_of: Vec<Option<usize>> = vec![None; keys.len()];
    for (place, &g) in chosen.iter().enumerate() {
        place_of[g as usize] = Some(place);
    }
    // The currencies of each built group's figures as numbers, compared
    // faster than their codes as strings.
    let mut figure_keys: Vec<Vec<u64>> = vec![Vec::new(); chosen.len()];
    let mut built: Vec<ReportGroup> = chosen
        .iter()
        .map(|&g| ReportGroup {
            key: keys[g as usize].clone(),
            name: None,
            rows: 0,
            spend: Vec::new(),
            reports: Vec::new(),
            lines: Vec::new(),
            currencies_are_alternatives: false,
        })
        .collect();
    // Second pass: the chosen groups, built from their rows.
    for &i in &selected {
        let (r, g) = (&rows[i], groups.of_row[i]);
        let Some(place) = place_of.get(g as usize).copied().flatten() else {
            continue;
        };
        let group = &mut built[place];
        if group.name.is_none() {
            group.name = group_key(group_by, &r.row).and_then(|(_, name)| name);
        }
        group.currencies_are_alternatives |= r.row.spend_alternatives;
        group.rows += 1;
        let keys = &mut figure_keys[place];
        for s in r.row.spend.iter().filter(|s| wanted(&s.currency)) {
            let key = currency_number(&s.currency).unwrap_or(u64::MAX);
            let found = keys
                .iter()
                .zip(&group.spend)
                .position(|(k, f)| *k == key && (key != u64::MAX || f.currency == s.currency));
            let at = match found {
                Some(at) => at,
                None => {
                    keys.push(key);
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
        // Compared before it is copied: most rows name a report already listed.
        let listed = group.reports.iter().any(|x| {
            x.report_date == r.row.report_date
                && x.period == r.row.period
                && x.source == r.source_blake3
                && x.name == r.source_name
        });
        if !listed {
            group.reports.push(ReportRef {
                source: r.source_blake3.clone(),
                name: r.source_name.clone(),
                period: r.row.period.clone(),
                report_date: r.row.report_date,
            });
        }
        if group.lines.len() < ROWS_LISTED {
            group.lines.push(RowRef {
                source: r.source_blake3.clone(),
                line: r.line,
            });
        }
    }
    for g in &mut built {
        g.spend.sort_by(|a, b| a.currency.cmp(&b.currency));
        g.reports.sort();
    }
    let groups = built;
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
