//! Spend: ad-level totals summed from the published ranges of the ads a
//! search matches ([`spend_totals`]), the platforms' own report-level
//! figures ([`reports`]), both side by side with optional conversion
//! ([`audit`]). It knows nothing of HTTP; the CLI and the API both call it.

pub mod audit;
pub mod collect;
pub mod groups;
pub mod reports;

use serde::{Deserialize, Serialize};
use tantivy::collector::Count;

pub use audit::{spend_audit, Conversion, SpendAudit};
pub use collect::GroupBy;
pub use reports::{report_totals, warm, ReportQuery, ReportTotals};

use crate::archive::Archive;
use crate::index::schema::{currency_code, currency_number};
use crate::search::{bad, full_query, run, Filters, SearchError, SearchRequest};
use collect::{GroupSums, PeriodSpend};
use groups::{ChosenSpend, GroupRanking};

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
    /// The address that lists exactly the ads summed here, each with its
    /// provenance (absent for week and month groups and for advertisers
    /// known only by name): written by the edge that serves the totals,
    /// from [`GroupTotal::narrowed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The filters that find exactly the ads summed here.
    #[serde(skip)]
    pub narrowed: Option<Filters>,
}

/// Spend totals by group, for the ads matching a query and filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendResponse {
    /// Ads matching.
    pub total_ads: u64,
    /// What the groups are.
    pub group_by: Grouping,
    /// How the groups are ordered: by spend when all of it is in one
    /// currency, else by number of ads (sums in different currencies are
    /// not comparable), by period for weeks and months.
    pub ordered_by: String,
    /// Groups, in the order `ordered_by` says.
    pub groups: Vec<GroupTotal>,
}

/// What spend is grouped by: the same names on the command line, in the
/// API and on the web pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// The platform identity of the advertiser (`google:AR…`).
    Advertiser,
    /// The funder, as published.
    Funder,
    /// The platform.
    Platform,
    /// The country.
    Country,
    /// The region the platform lists.
    Region,
    /// The week (from Monday, UTC) of first shown.
    Week,
    /// The month (UTC) of first shown.
    Month,
}

impl Grouping {
    /// Every grouping, in the order the documentation lists them.
    pub const ALL: [Grouping; 7] = [
        Grouping::Advertiser,
        Grouping::Funder,
        Grouping::Platform,
        Grouping::Country,
        Grouping::Region,
        Grouping::Week,
        Grouping::Month,
    ];

    /// Its name in a query string or on the command line.
    ///
    /// ```
    /// use adarchive::spend::Grouping;
    /// assert_eq!("country".parse::<Grouping>().unwrap(), Grouping::Country);
    /// assert_eq!(Grouping::Week.as_str(), "week");
    /// assert!("colour".parse::<Grouping>().is_err());
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::Advertiser => "advertiser",
            Grouping::Funder => "funder",
            Grouping::Platform => "platform",
            Grouping::Country => "country",
            Grouping::Region => "region",
            Grouping::Week => "week",
            Grouping::Month => "month",
        }
    }

    /// Every name, for documentation and error messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|g| g.as_str()).collect()
    }

    /// Every name, as a sentence lists them (`…, week or month`).
    pub fn listed() -> String {
        let names = Self::names();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Whether groups are periods of time.
    pub fn is_time(self) -> bool {
        matches!(self, Grouping::Week | Grouping::Month)
    }

    /// How the spend collector groups the index's documents.
    fn collector(self) -> GroupBy {
        match self {
            Grouping::Advertiser => GroupBy::Keyword("advertiser_key"),
            Grouping::Funder => GroupBy::Keyword("funder_name"),
            Grouping::Platform => GroupBy::Keyword("platform"),
            Grouping::Country => GroupBy::Keyword("country"),
            Grouping::Region => GroupBy::Keyword("region"),
            Grouping::Week => GroupBy::Week,
            Grouping::Month => GroupBy::Month,
        }
    }
}

impl std::str::FromStr for Grouping {
    type Err = SearchError;

    fn from_str(text: &str) -> Result<Self, SearchError> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| {
                bad(
                    "group_by",
                    format!(
                        "`{text}` is not a grouping; use {}",
                        Self::names().join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for Grouping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sums the spend of the matching ads per group, as lower and upper bounds
/// per currency. An ad listed under several values (two countries) counts in
/// each of their groups. `limit` caps the number of groups returned.
pub fn spend_totals(
    archive: &Archive,
    request: &SearchRequest,
    group_by: Grouping,
    limit: usize,
) -> Result<SpendResponse, SearchError> {
    let grouping = group_by.collector();
    if limit == 0 || limit > 100_000 {
        return Err(bad("limit", "`limit` must be between 1 and 100000"));
    }
    let query = full_query(archive, request)?.full;
    let index = archive.search_index()?;
    let searcher = index.searcher();
    let only: Option<u64> = match request.filters.currency.as_slice() {
        [one] => currency_number(&one.to_uppercase()),
        _ => None,
    };
    let (total, ordered_by, found): (usize, String, Vec<(String, GroupSums)>) = match grouping {
        GroupBy::Keyword(field) if index.global_ordinals(&searcher, field)?.count() <= limit => {
            // Every group is returned: one pass sums them all, then they
            // are ordered.
            let ordinals = index.global_ordinals(&searcher, field)?;
            let every: Vec<u32> = (0..ordinals.count() as u32).collect();
            let names = (field == "advertiser_key").then_some("advertiser_name");
            let spend = ChosenSpend::new(field, names, ordinals, &every);
            let (total, found) = run(&searcher, &*query, &(Count, spend), request)?;
            let mut found: Vec<(String, GroupSums)> = found.into_iter().flatten().collect();
            let ordered_by = groups::order_summed(&mut found, only);
            (total, ordered_by, found)
        }
        GroupBy::Keyword(field) => {
            let ordinals = index.global_ordinals(&searcher, field)?;
            let ranking = GroupRanking {
                field,
                ordinals: std::sync::Arc::clone(&ordinals),
                only,
            };
            let (total, ranking) = run(&searcher, &*query, &(Count, ranking), request)?;
            if request.deadline.passed() {
                return Err(SearchError::DeadlineExceeded);
            }
            let chosen = ranking.top(limit);
            let names = (field == "advertiser_key").then_some("advertiser_name");
            let spend = ChosenSpend::new(field, names, ordinals, &chosen);
            let found = run(&searcher, &*query, &spend, request)?;
            (
                total,
                ranking.ordered_by(),
                found.into_iter().flatten().collect(),
            )
        }
        period => {
            let (total, by_period) = run(
                &searcher,
                &*query,
                &(Count, PeriodSpend { group_by: period }),
                request,
            )?;
            let mut found: Vec<(String, GroupSums)> = by_period.into_iter().collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            (total, "period, earliest first".to_owned(), found)
        }
    };
    if request.deadline.passed() {
        return Err(SearchError::DeadlineExceeded);
    }
    let mut groups: Vec<GroupTotal> = found
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
                narrowed: narrowed(request, group_by, &key),
                trace: None,
                key,
                name: g.name,
                ads: g.ads,
                spend,
            }
        })
        .collect();
    groups.truncate(limit);
    Ok(SpendResponse {
        total_ads: total as u64,
        group_by,
        ordered_by,
        groups,
    })
}

/// What groups are ordered by, given the currencies (sorted) their spend
/// is in: by spend when all of it is in one currency; otherwise by how
/// many `counted` (ads, rows) each holds, since sums in different
/// currencies cannot be compared without converting them (a larger number
/// of forints is not more money than a smaller number of dollars). Ties go
/// by key.
pub(crate) fn ordered_by(counted: &str, currencies: &[String]) -> String {
    match currencies {
        [one] => format!("spend in {one} (lower bound), largest first"),
        [] => format!("number of {counted}, most first"),
        several => format!(
            "number of {counted}, most first: the spend is in {} currencies ({}), which are not compared without a conversion",
            several.len(),
            several.join(", ")
        ),
    }
}

/// The filters that find exactly the ads of group `key`: the request's,
/// narrowed to the group; `None` where no filter can (weeks and months,
/// advertisers known only by name, a key holding a comma, which list
/// filters would split).
fn narrowed(request: &SearchRequest, group_by: Grouping, key: &str) -> Option<Filters> {
    let mut filters = request.filters.clone();
    match group_by {
        Grouping::Advertiser => {
            let (platform, id) = key.split_once(':')?;
            if id.starts_with("name:") || id == "unknown" {
                return None;
            }
            filters.platform = vec![platform.to_owned()];
            filters.advertiser_id = vec![id.to_owned()];
        }
        Grouping::Funder => filters.funder = vec![key.to_owned()],
        _ if key.contains(',') => return None,
        Grouping::Platform => filters.platform = vec![key.to_owned()],
        Grouping::Country => filters.country = vec![key.to_owned()],
        Grouping::Region => filters.region = vec![key.to_owned()],
        Grouping::Week | Grouping::Month => return None,
    }
    Some(filters)
}

/// Ad counts per week or month of first shown, oldest first.
pub fn date_histogram(
    archive: &Archive,
    request: &SearchRequest,
    interval: Grouping,
) -> Result<Vec<(String, u64)>, SearchError> {
    if !interval.is_time() {
        return Err(bad(
            "interval",
            format!("`{interval}` is not `week` or `month`"),
        ));
    }
    let totals = spend_totals(archive, request, interval, 100_000)?;
    Ok(totals.groups.into_iter().map(|g| (g.key, g.ads)).collect())
}
