//! The spend audit: ad-level sums and report-level figures side by side,
//! each labelled by origin, with an optional conversion into one reporting
//! currency at imported ECB reference rates.
//!
//! A conversion converts each currency's figure on its own and says which
//! day's rates it used. Figures are added across currencies only where the
//! currencies are separate parts of the spend: an ad's ranges, and Google's
//! 2018–2019 report rows, give one amount in many currencies, and a sum
//! would count it many times.

use std::collections::BTreeMap;

use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};

use super::reports::{report_totals, ReportQuery, ReportTotals};
use super::{spend_totals, GroupTotal, Grouping};
use crate::archive::{Archive, RateDay};
use crate::search::{bad, SearchError, SearchRequest};

/// Ad-level and report-level spend for one grouping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpendAudit {
    /// What the ad-level figures are.
    pub origin: String,
    /// Ads matching the query and filters.
    pub total_ads: u64,
    /// What the groups are.
    pub group_by: Grouping,
    /// How the ad-level groups are ordered (see
    /// [`super::SpendResponse::ordered_by`]).
    pub ordered_by: String,
    /// Ad-level groups: summed lower and upper bounds of the ads' published
    /// ranges, per currency.
    pub groups: Vec<GroupTotal>,
    /// Report-level groups: the figures of the platforms' spend reports.
    pub reports: ReportTotals,
    /// Figures in one reporting currency, when asked for and possible.
    pub conversion: Conversion,
}

/// A conversion into one reporting currency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    /// Whether figures were converted.
    pub available: bool,
    /// The reporting currency asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// What the converted figures are, or why there are none.
    pub note: String,
    /// Ad-level groups, converted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ads: Vec<ConvertedGroup>,
    /// Report-level groups, converted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ConvertedGroup>,
}

/// One group's figures, converted currency by currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvertedGroup {
    /// The group's key.
    pub key: String,
    /// One entry per original currency.
    pub figures: Vec<ConvertedFigure>,
    /// The converted figures added up, where the currencies are separate
    /// parts of the spend (report rows of Google's later files, Meta's
    /// reports) and every one of them could be converted; absent where they
    /// are one amount in several currencies (ads, Google's 2018–2019 files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<ConvertedTotal>,
}

/// A sum of converted figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvertedTotal {
    /// Sum of the converted lower bounds.
    pub lower: u128,
    /// Sum of the converted upper bounds.
    pub upper: u128,
}

/// One figure, converted: an estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvertedFigure {
    /// The currency the platform published.
    pub from_currency: String,
    /// Lower bound in the reporting currency, rounded.
    pub lower: u128,
    /// Upper bound in the reporting currency, when the original has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<u128>,
    /// The ECB day whose rates were used.
    pub rate_date: Timestamp,
    /// Reporting-currency units per unit of the original currency.
    pub rate: f64,
    /// The stored rates file (blake3) and line the rates come from.
    pub rate_source: String,
    /// Its line.
    pub rate_line: u64,
}

/// How many days a rate may precede the date it is used for.
pub const MAX_RATE_AGE_DAYS: i64 = 7;

/// Label of ad-level figures.
pub const ADS_ORIGIN: &str = "ads: sums of the spend ranges published for each matching ad";

/// Ad-level totals (see [`spend_totals`]) and report-level totals (see
/// [`report_totals`]) for `group_by`, converted into `convert_to` when it
/// is given and rates were imported.
pub fn spend_audit(
    archive: &Archive,
    request: &SearchRequest,
    report: &ReportQuery,
    group_by: Grouping,
    limit: usize,
    convert_to: Option<&str>,
) -> Result<SpendAudit, SearchError> {
    // The two totals read different data: when the request may use every
    // core, the report rows are summed beside the ads.
    let (ads, reports) = if request.parallel {
        std::thread::scope(|scope| {
            let reports = scope.spawn(|| report_totals(archive, report, group_by, limit));
            let ads = spend_totals(archive, request, group_by, limit);
            let reports = reports
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (ads, reports)
        })
    } else {
        (
            spend_totals(archive, request, group_by, limit),
            report_totals(archive, report, group_by, limit),
        )
    };
    let (ads, mut reports) = (ads?, reports?);
    let f = &request.filters;
    for (name, given) in [
        ("q", !request.query.trim().is_empty()),
        ("region", !f.region.is_empty()),
        ("language", !f.language.is_empty()),
        ("media_type", !f.media_type.is_empty()),
        ("gender", !f.gender.is_empty()),
        ("age", !f.age.is_empty()),
        ("active", f.active.is_some()),
        ("spend_min", f.spend_min.is_some()),
        ("spend_max", f.spend_max.is_some()),
        ("impressions_min", f.impressions_min.is_some()),
        ("impressions_max", f.impressions_max.is_some()),
    ] {
        if given {
            reports.not_applied.push(name.to_owned());
        }
    }
    let rates = archive.rate_days().map_err(SearchError::Archive)?;
    let conversion = match convert_to {
        None if rates.is_empty() => Conversion {
            note: "no conversion: no exchange rates are archived (import the ECB's eurofxref-hist.csv to allow one)".into(),
            ..Conversion::default()
        },
        None => Conversion {
            note: "no conversion asked for: add a reporting currency (convert_to) to see estimates at ECB reference rates".into(),
            ..Conversion::default()
        },
        Some(target) => {
            let target = target.trim().to_ascii_uppercase();
            if target.len() != 3 || !target.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(bad(
                    "convert_to",
                    format!("`{target}` is not an ISO 4217 currency code"),
                ));
            }
            if rates.is_empty() {
                Conversion {
                    currency: Some(target),
                    note: "no conversion: no exchange rates are archived (import the ECB's eurofxref-hist.csv to allow one)".into(),
                    ..Conversion::default()
                }
            } else {
                convert(&ads.groups, &reports, &rates, &target, request.filters.to)
            }
        }
    };
    Ok(SpendAudit {
        origin: ADS_ORIGIN.into(),
        total_ads: ads.total_ads,
        group_by: ads.group_by,
        ordered_by: ads.ordered_by,
        groups: ads.groups,
        reports,
        conversion,
    })
}

/// The rates of the last ECB day on or before `date`.
fn rates_on(
    rates: &BTreeMap<Timestamp, RateDay>,
    date: Timestamp,
) -> Option<(&Timestamp, &RateDay)> {
    rates.range(..=date).next_back()
}

fn per_euro(day: &RateDay, currency: &str) -> Option<f64> {
    if currency == "EUR" {
        Some(1.0)
    } else {
        day.per_euro.get(currency).copied()
    }
}

/// The first day of a time group's key (`2024-05-06`, `2024-05`).
fn key_date(key: &str) -> Option<Timestamp> {
    let full = if key.len() == 7 {
        format!("{key}-01")
    } else {
        key.to_owned()
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&full, &fmt)
        .ok()
        .map(Timestamp::from_date)
}

fn convert_figure(
    rates: &BTreeMap<Timestamp, RateDay>,
    date: Timestamp,
    from: &str,
    target: &str,
    lower: u128,
    upper: Option<u128>,
) -> Option<ConvertedFigure> {
    let (day, rates_of_day) = rates_on(rates, date)?;
    // The ECB publishes every business day: an older rate means the rates
    // for that time were not imported, and converting would mislead.
    if date.unix_seconds() - day.unix_seconds() > MAX_RATE_AGE_DAYS * 86_400 {
        return None;
    }
    let rate = per_euro(rates_of_day, target)? / per_euro(rates_of_day, from)?;
    let scale = |amount: u128| (amount as f64 * rate).round() as u128;
    Some(ConvertedFigure {
        from_currency: from.to_owned(),
        lower: scale(lower),
        upper: upper.map(scale),
        rate_date: *day,
        rate,
        rate_source: rates_of_day.source_blake3.clone(),
        rate_line: rates_of_day.line,
    })
}

fn convert(
    ad_groups: &[GroupTotal],
    reports: &ReportTotals,
    rates: &BTreeMap<Timestamp, RateDay>,
    target: &str,
    to: Option<Timestamp>,
) -> Conversion {
    let Some(latest) = rates.keys().next_back().copied() else {
        return Conversion::default();
    };
    // Groups that are not periods are converted at the end of the period
    // asked for, or at the latest rates archived.
    let default_date = to.unwrap_or(latest);
    let mut missing = 0usize;
    let ads = ad_groups
        .iter()
        .map(|g| {
            let date = key_date(&g.key).unwrap_or(default_date);
            let figures: Vec<ConvertedFigure> = g
                .spend
                .iter()
                .filter_map(|s| {
                    let f = convert_figure(rates, date, &s.currency, target, s.lower, s.upper);
                    missing += usize::from(f.is_none());
                    f
                })
                .collect();
            ConvertedGroup {
                key: g.key.clone(),
                figures,
                total: None,
            }
        })
        .collect();
    let report_groups = reports
        .groups
        .iter()
        .map(|g| {
            // A report is converted at its own date.
            let date = key_date(&g.key)
                .or_else(|| g.reports.iter().filter_map(|r| r.report_date).max())
                .unwrap_or(default_date);
            let figures: Vec<ConvertedFigure> = g
                .spend
                .iter()
                .filter_map(|s| {
                    let f =
                        convert_figure(rates, date, &s.currency, target, s.lower, Some(s.upper));
                    missing += usize::from(f.is_none());
                    f
                })
                .collect();
            // Every non-zero part must have been converted.
            let additive = !g.currencies_are_alternatives
                && !figures.is_empty()
                && g.spend
                    .iter()
                    .filter(|s| s.upper > 0)
                    .all(|s| figures.iter().any(|f| f.from_currency == s.currency));
            let total = additive.then(|| ConvertedTotal {
                lower: figures.iter().map(|f| f.lower).sum(),
                upper: figures.iter().map(|f| f.upper.unwrap_or(f.lower)).sum(),
            });
            ConvertedGroup {
                key: g.key.clone(),
                figures,
                total,
            }
        })
        .collect();
    let mut note = format!(
        "estimate: each currency's figure converted to {target} at the ECB euro reference rates \
         of the last business day on or before the group's date (at most {MAX_RATE_AGE_DAYS} days before) (its week or month, the \
         report's date, else {}); the original figures above are the published ones",
        default_date.as_offset_date_time().date()
    );
    if missing > 0 {
        note.push_str(&format!(
            "; {missing} figures are not converted: no rate for their currency within {MAX_RATE_AGE_DAYS} days before their date"
        ));
    }
    Conversion {
        available: true,
        currency: Some(target.to_owned()),
        note,
        ads,
        reports: report_groups,
    }
}

/// Columns of [`write_csv`], in order.
pub const CSV_COLUMNS: &[&str] = &[
    "origin",
    "group_by",
    "key",
    "name",
    "currency",
    "lower",
    "upper",
    "count",
    "open_ended",
    "sources",
    "converted_currency",
    "converted_lower",
    "converted_upper",
    "rate_date",
];

/// Writes the audit as CSV for spreadsheets: a UTF-8 byte-order mark (so
/// that spreadsheet programs read names in every script correctly), RFC 4180
/// quoting, CRLF, one line per group, origin and currency, and cells that
/// start with `=`, `+`, `-` or `@` escaped against formula injection.
///
/// ```
/// use adarchive::spend::audit::{write_csv, CSV_COLUMNS};
/// use adarchive::spend::{Conversion, Grouping, ReportTotals, SpendAudit};
/// let audit = SpendAudit {
///     origin: "ads".into(),
///     total_ads: 0,
///     group_by: Grouping::Country,
///     ordered_by: "number of ads, most first".into(),
///     groups: vec![],
///     reports: ReportTotals {
///         origin: "reports".into(),
///         kind: "advertiser".into(),
///         ordered_by: "number of rows, most first".into(),
///         rows: 0,
///         superseded_rows: 0,
///         reports_used: vec![],
///         groups: vec![],
///         not_applied: vec![],
///     },
///     conversion: Conversion::default(),
/// };
/// let mut out = Vec::new();
/// write_csv(&audit, &mut out).unwrap();
/// assert!(out.starts_with("\u{feff}origin,group_by".as_bytes()));
/// assert_eq!(CSV_COLUMNS.len(), 14);
/// ```
pub fn write_csv(audit: &SpendAudit, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all("\u{feff}".as_bytes())?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    csv.write_record(CSV_COLUMNS).map_err(io)?;
    let converted = |groups: &[ConvertedGroup], key: &str, currency: &str| {
        groups
            .iter()
            .find(|g| g.key == key)
            .and_then(|g| g.figures.iter().find(|f| f.from_currency == currency))
            .cloned()
    };
    let target = audit.conversion.currency.clone().unwrap_or_default();
    let conversion_cells = |f: Option<ConvertedFigure>| -> [String; 4] {
        match f {
            Some(f) => [
                target.clone(),
                f.lower.to_string(),
                f.upper.map(|u| u.to_string()).unwrap_or_default(),
                f.rate_date.as_offset_date_time().date().to_string(),
            ],
            None => Default::default(),
        }
    };
    for g in &audit.groups {
        for s in &g.spend {
            let [cc, cl, cu, rd] =
                conversion_cells(converted(&audit.conversion.ads, &g.key, &s.currency));
            let record = [
                "ads".to_owned(),
                audit.group_by.to_string(),
                g.key.clone(),
                g.name.clone().unwrap_or_default(),
                s.currency.clone(),
                s.lower.to_string(),
                s.upper.map(|u| u.to_string()).unwrap_or_default(),
                s.ads.to_string(),
                s.open_ended_ads.to_string(),
                g.trace.clone().unwrap_or_default(),
                cc,
                cl,
                cu,
                rd,
            ];
            csv.write_record(record.iter().map(|c| crate::search::export::defuse(c)))
                .map_err(io)?;
        }
    }
    for g in &audit.reports.groups {
        let sources = g
            .reports
            .iter()
            .map(|r| {
                let lines: Vec<String> = g
                    .lines
                    .iter()
                    .filter(|l| l.source == r.source)
                    .map(|l| l.line.to_string())
                    .collect();
                format!(
                    "{} ({}) lines {}",
                    r.name,
                    &r.source[..12.min(r.source.len())],
                    lines.join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        for s in &g.spend {
            let [cc, cl, cu, rd] =
                conversion_cells(converted(&audit.conversion.reports, &g.key, &s.currency));
            let record = [
                format!("reports:{}", audit.reports.kind),
                audit.group_by.to_string(),
                g.key.clone(),
                g.name.clone().unwrap_or_default(),
                s.currency.clone(),
                s.lower.to_string(),
                s.upper.to_string(),
                s.rows.to_string(),
                "0".to_owned(),
                sources.clone(),
                cc,
                cl,
                cu,
                rd,
            ];
            csv.write_record(record.iter().map(|c| crate::search::export::defuse(c)))
                .map_err(io)?;
        }
    }
    csv.flush()
}
