//! Spend: ad-level totals summed from the published ranges of the ads a
//! search matches ([`spend_totals`]), the platforms' own report-level
//! figures ([`reports`]), both side by side with optional conversion
//! ([`audit`]). It knows nothing of HTTP; the CLI and the API both call it.

pub mod audit;
pub mod collect;
pub mod reports;

use serde::{Deserialize, Serialize};
use tantivy::collector::Count;

pub use audit::{spend_audit, Conversion, SpendAudit};
pub use collect::GroupBy;
pub use reports::{report_totals, ReportQuery, ReportTotals};

use crate::archive::Archive;
use crate::index::schema::{currency_code, currency_number};
use crate::search::{bad, full_query, run, Filters, SearchError, SearchRequest};
use collect::SpendTotals;

/// Spend in one currency summed over a group of ads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Ads with spend in this currency.
    pub ads: u64,
    /// Sum of the lower bounds.
    pub lower: u128,
    /// Sum of the upper bounds; absent when any ad's upper bound is open-ended.
    pub upper: Option<u128>,
    /// Ads with an open-ended upper bound.
    pub open_ended_ads: u64,
}

/// The totals of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTotal {
    /// The group's key (`google:AR…`, `NL`, `2024-05`).
    pub key: String,
    /// A display name where the key is an id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Ads in the group.
    pub ads: u64,
    /// Spend per currency, never converted.
    pub spend: Vec<CurrencyTotal>,
    /// The `/v1/export` query that lists exactly the ads summed here, each
    /// with its provenance (absent for week and month groups and for
    /// advertisers known only by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Spend totals by group, for the ads matching a query and filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendResponse {
    /// Ads matching.
    pub total_ads: u64,
    /// What the groups are.
    pub group_by: String,
    /// How the groups are ordered: by spend when all of it is in one
    /// currency, else by number of ads (sums in different currencies are
    /// not comparable), by period for weeks and months.
    pub ordered_by: String,
    /// Groups, in the order `ordered_by` says.
    pub groups: Vec<GroupTotal>,
}

/// Group names accepted by [`spend_totals`].
pub const GROUP_BY: &[&str] = &[
    "advertiser",
    "funder",
    "platform",
    "country",
    "region",
    "week",
    "month",
];

/// Sums the spend of the matching ads per group, as lower and upper bounds
/// per currency. An ad listed under several values (two countries) counts in
/// each of their groups. `limit` caps the number of groups returned.
pub fn spend_totals(
    archive: &Archive,
    request: &SearchRequest,
    group_by: &str,
    limit: usize,
) -> Result<SpendResponse, SearchError> {
    let grouping = match group_by {
        "advertiser" => GroupBy::Keyword("advertiser_key"),
        "funder" => GroupBy::Keyword("funder_name"),
        "platform" => GroupBy::Keyword("platform"),
        "country" => GroupBy::Keyword("country"),
        "region" => GroupBy::Keyword("region"),
        "week" => GroupBy::Week,
        "month" => GroupBy::Month,
        other => {
            return Err(bad(
                "group_by",
                format!("`{other}` is not a grouping; use {}", GROUP_BY.join(", ")),
            ))
        }
    };
    if limit == 0 || limit > 100_000 {
        return Err(bad("limit", "`limit` must be between 1 and 100000"));
    }
    let query = full_query(archive, request)?.full;
    let index = archive
        .index()
        .ok_or_else(|| bad("q", "the archive has no search index"))?;
    let searcher = index.searcher();
    let (total, sums) = run(
        &searcher,
        &*query,
        &(
            Count,
            SpendTotals {
                group_by: grouping.clone(),
            },
        ),
        request,
    )?;
    if request.deadline.passed() {
        return Err(SearchError::DeadlineExceeded);
    }
    let only: Option<u64> = match request.filters.currency.as_slice() {
        [one] => currency_number(&one.to_uppercase()),
        _ => None,
    };
    let mut groups: Vec<GroupTotal> = sums
        .into_iter()
        .map(|(key, g)| {
            let mut spend: Vec<CurrencyTotal> = g
                .currencies
                .into_iter()
                .filter(|(cur, _)| only.is_none_or(|o| o == *cur))
                .map(|(cur, c)| CurrencyTotal {
                    currency: currency_code(cur),
                    ads: c.ads,
                    lower: c.lower,
                    upper: (c.open_ended == 0).then_some(c.upper),
                    open_ended_ads: c.open_ended,
                })
                .collect();
            spend.sort_by(|a, b| a.currency.cmp(&b.currency));
            GroupTotal {
                trace: trace(request, group_by, &key),
                key,
                name: g.name,
                ads: g.ads,
                spend,
            }
        })
        .collect();
    let time = matches!(grouping, GroupBy::Week | GroupBy::Month);
    let ordered_by = order_groups(
        &mut groups,
        time,
        "ads",
        |g| g.ads,
        |g| {
            g.spend
                .iter()
                .filter(|s| s.lower > 0 || s.upper.is_none_or(|u| u > 0))
                .map(|s| (s.currency.as_str(), s.lower))
                .collect()
        },
        |g| g.key.as_str(),
    );
    groups.truncate(limit);
    Ok(SpendResponse {
        total_ads: total as u64,
        group_by: group_by.to_owned(),
        ordered_by,
        groups,
    })
}

/// Orders spend groups by something that means the same in every group,
/// and says what: by key for weeks and months; by spend when every group's
/// spend is in one currency; otherwise by how many `counted` (ads, rows)
/// each holds, since sums in different currencies cannot be compared
/// without converting them (a larger number of forints is not more money
/// than a smaller number of dollars).
pub(crate) fn order_groups<G>(
    groups: &mut [G],
    time: bool,
    counted: &str,
    count: fn(&G) -> u64,
    spend: fn(&G) -> Vec<(&str, u128)>,
    key: fn(&G) -> &str,
) -> String {
    if time {
        groups.sort_by(|a, b| key(a).cmp(key(b)));
        return "period, earliest first".into();
    }
    let mut currencies: Vec<String> = Vec::new();
    for g in groups.iter() {
        for (currency, _) in spend(g) {
            if !currencies.iter().any(|c| c == currency) {
                currencies.push(currency.to_owned());
            }
        }
    }
    currencies.sort();
    match currencies.as_slice() {
        [one] => {
            // Each group's figure is found once, not once per comparison.
            let lower = |g: &G| {
                spend(g)
                    .into_iter()
                    .find(|(c, _)| c == one)
                    .map_or(0, |(_, l)| l)
            };
            groups.sort_by_cached_key(|g| {
                (
                    std::cmp::Reverse(lower(g)),
                    std::cmp::Reverse(count(g)),
                    key(g).to_owned(),
                )
            });
            format!("spend in {one} (lower bound), largest first")
        }
        several => {
            groups.sort_by(|a, b| count(b).cmp(&count(a)).then_with(|| key(a).cmp(key(b))));
            if several.is_empty() {
                format!("number of {counted}, most first")
            } else {
                format!(
                    "number of {counted}, most first: the spend is in {} currencies ({}), which are not compared without a conversion",
                    several.len(),
                    several.join(", ")
                )
            }
        }
    }
}

/// The `/v1/export` query string for the ads of group `key`: the request's
/// query and filters, narrowed to the group.
fn trace(request: &SearchRequest, group_by: &str, key: &str) -> Option<String> {
    let f = &request.filters;
    let mut params: Vec<(&str, String)> = Vec::new();
    if !request.query.is_empty() {
        params.push(("q", request.query.clone()));
    }
    let mut lists = vec![
        ("platform", f.platform.clone()),
        ("country", f.country.clone()),
        ("region", f.region.clone()),
        ("language", f.language.clone()),
        ("currency", f.currency.clone()),
        ("media_type", f.media_type.clone()),
        ("advertiser_id", f.advertiser_id.clone()),
        ("gender", f.gender.clone()),
        ("age", f.age.clone()),
    ];
    let mut funder = f.funder.first().cloned();
    let narrow = |lists: &mut Vec<(&str, Vec<String>)>, name: &str, value: &str| {
        if let Some((_, values)) = lists.iter_mut().find(|(n, _)| *n == name) {
            *values = vec![value.to_owned()];
        }
    };
    match group_by {
        "advertiser" => {
            let (platform, id) = key.split_once(':')?;
            if id.starts_with("name:") || id == "unknown" {
                return None;
            }
            narrow(&mut lists, "platform", platform);
            narrow(&mut lists, "advertiser_id", id);
        }
        "funder" => funder = Some(key.to_owned()),
        // List filters split at commas: a key holding one cannot be one value.
        "platform" | "country" | "region" if !key.contains(',') => {
            narrow(&mut lists, group_by, key)
        }
        _ => return None,
    }
    for (name, values) in lists {
        if !values.is_empty() {
            params.push((name, values.join(",")));
        }
    }
    if let Some(funder) = funder {
        params.push(("funder", funder));
    }
    if let Some(active) = f.active {
        params.push(("active", active.to_string()));
    }
    for (name, value) in [("from", f.from), ("to", f.to)] {
        if let Some(t) = value {
            params.push((name, t.to_string()));
        }
    }
    for (name, value) in [
        ("spend_min", f.spend_min),
        ("spend_max", f.spend_max),
        ("impressions_min", f.impressions_min),
        ("impressions_max", f.impressions_max),
    ] {
        if let Some(v) = value {
            params.push((name, v.to_string()));
        }
    }
    serde_urlencoded::to_string(&params)
        .ok()
        .map(|q| format!("/v1/export?{q}"))
}

/// Ad counts per week or month of first shown, oldest first.
pub fn date_histogram(
    archive: &Archive,
    request: &SearchRequest,
    interval: &str,
) -> Result<Vec<(String, u64)>, SearchError> {
    if !matches!(interval, "week" | "month") {
        return Err(bad(
            "interval",
            format!("`{interval}` is not `week` or `month`"),
        ));
    }
    let totals = spend_totals(archive, request, interval, 100_000)?;
    Ok(totals.groups.into_iter().map(|g| (g.key, g.ads)).collect())
}
