//! The search core: full-text query, filters, sorting with deep paging by
//! cursor, facet counts, snippets, and spend totals. It knows nothing of
//! HTTP; the CLI and the API both call it.
//!
//! ```
//! use adarchive::archive::{Archive, NoProgress};
//! use adarchive::ingest::{import_paths, ImportOptions};
//! use adarchive::search::{search, SearchRequest};
//! let dir = tempfile::tempdir().unwrap();
//! let file = dir.path().join("PoliticalAds.csv");
//! std::fs::write(&file, "ADID,Currency Code,Spend,OrganizationName,CountryCode\r\nab12,EUR,40,Grüne Zukunft,germany\r\n").unwrap();
//! let archive = Archive::open(&dir.path().join("data")).unwrap();
//! import_paths(&archive, &[file], ImportOptions::default(), &NoProgress).unwrap();
//! let found = search(&archive, &SearchRequest { query: "grune".into(), ..SearchRequest::default() }).unwrap();
//! assert_eq!(found.total, 1);
//! assert_eq!(found.results[0].ad.uid, "snap:ab12");
//! ```

pub mod audit;
pub mod collect;
pub mod deadline;
pub mod export;
pub mod filters;
pub mod query;
pub mod reports;

use std::collections::BTreeMap;

use adarchive_schema::Ad;
use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query};
use tantivy::snippet::SnippetGenerator;

pub use audit::{spend_audit, Conversion, SpendAudit};
pub use collect::{GroupBy, SortBy};
pub use deadline::{Deadline, DeadlineQuery};
pub use filters::Filters;
pub use reports::{report_totals, ReportQuery, ReportTotals};

use crate::archive::Archive;
use crate::index::schema::{currency_code, currency_number, TEXT_FIELDS};
use collect::{
    FacetCounts, PrunedRelevancePage, SortKey, SortedCollector, SortedPage, SpendTotals,
};

/// Most results one page may hold.
pub const MAX_LIMIT: usize = 1_000;
/// Results per page when no limit is given.
pub const DEFAULT_LIMIT: usize = 20;
/// Most values listed per facet.
pub const MAX_FACET_VALUES: usize = 1_000;

/// Keyword fields that can be counted as facets.
pub const FACET_FIELDS: &[(&str, &str)] = &[
    ("platform", "platform"),
    ("country", "country"),
    ("region", "region"),
    ("language", "language"),
    ("currency", "currency"),
    ("media_type", "media_type"),
    ("advertiser", "advertiser_key"),
    ("advertiser_id", "advertiser_id"),
    ("funder", "funder_name"),
    ("gender", "gender"),
    ("age", "age"),
];

/// A search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The query (empty: every ad).
    pub query: String,
    /// Filters.
    pub filters: Filters,
    /// `relevance`, `spend_lower`, `spend_upper`, `first_shown`,
    /// `last_shown` or `impressions`, optionally with `:asc` or `:desc`
    /// (the default). Empty: relevance with a query, `first_shown` without.
    pub sort: String,
    /// Results per page, at most [`MAX_LIMIT`].
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// Facets to count (names in [`FACET_FIELDS`]).
    pub facets: Vec<String>,
    /// Values listed per facet.
    pub facet_limit: usize,
    /// Whether results carry snippets.
    pub snippets: bool,
    /// When the work must stop (none by default).
    #[serde(skip)]
    pub deadline: Deadline,
    /// Whether the search may spread over every core (the default), or
    /// runs on the calling thread: a server running several searches at
    /// once keeps each on its own thread, so that the system shares the
    /// cores between them and a long one never holds a short one back in
    /// the shared pool.
    #[serde(skip)]
    pub parallel: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: String::new(),
            filters: Filters::default(),
            sort: String::new(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            facets: Vec::new(),
            facet_limit: 10,
            snippets: true,
            deadline: Deadline::default(),
            parallel: true,
        }
    }
}

/// A highlighted fragment of a matching text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// The full-text field (`creative`, `advertiser`, `funder`, `targeting`).
    pub field: String,
    /// The fragment.
    pub fragment: String,
    /// Byte ranges of the matching words within the fragment.
    pub highlights: Vec<(usize, usize)>,
}

/// One result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The latest version of the ad.
    #[serde(flatten)]
    pub ad: Ad,
    /// Relevance, when sorted by relevance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Where the query matched.
    pub snippets: Vec<Snippet>,
}

/// A facet value and how many matching ads have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// Matching ads with it.
    pub count: u64,
}

/// A page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Ads matching the query and filters.
    pub total: u64,
    /// This page.
    pub results: Vec<Hit>,
    /// The cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Requested facets, top values first.
    pub facets: BTreeMap<String, Vec<FacetValue>>,
}

/// A search that cannot be run, naming the parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A parameter has a value that is not allowed.
    #[error("{param}: {message}")]
    BadParameter {
        /// The parameter.
        param: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The work took longer than its deadline allows, or whoever asked
    /// went away.
    #[error("the request took longer than the time it is allowed")]
    DeadlineExceeded,
    /// The archive or index failed.
    #[error(transparent)]
    Archive(#[from] crate::Error),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Archive(crate::Error::Index(e.into()))
    }
}

fn bad(param: &'static str, message: impl Into<String>) -> SearchError {
    SearchError::BadParameter {
        param,
        message: message.into(),
    }
}

/// Parses `sort` into what to sort by and whether descending.
fn parse_sort(request: &SearchRequest) -> Result<(SortBy, bool, String), SearchError> {
    let spec = if request.sort.trim().is_empty() {
        if request.query.trim().is_empty() {
            "first_shown".to_owned()
        } else {
            "relevance".to_owned()
        }
    } else {
        request.sort.trim().to_owned()
    };
    let (name, order) = spec.split_once(':').unwrap_or((&spec, "desc"));
    let descending = match order {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(bad(
                "sort",
                format!("order `{other}` is not `asc` or `desc`"),
            ))
        }
    };
    let currency = || -> Result<u64, SearchError> {
        let code = request.filters.single_currency("sort")?;
        currency_number(&code)
            .ok_or_else(|| bad("currency", format!("`{code}` is not an ISO 4217 code")))
    };
    let sort = match name {
        "relevance" => SortBy::Relevance,
        "spend_lower" => SortBy::SpendLower(currency()?),
        "spend_upper" => SortBy::SpendUpper(currency()?),
        "first_shown" => SortBy::FirstShown,
        "last_shown" => SortBy::LastShown,
        "impressions" => SortBy::Impressions,
        other => {
            return Err(bad(
                "sort",
                format!("`{other}` is not a sort; use relevance, spend_lower, spend_upper, first_shown, last_shown or impressions"),
            ))
        }
    };
    let normalized = format!("{name}:{}", if descending { "desc" } else { "asc" });
    Ok((sort, descending, normalized))
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    sort: String,
    key: u64,
    uid: String,
}

fn encode_cursor(sort: &str, key: &SortKey) -> String {
    let json = serde_json::to_vec(&Cursor {
        sort: sort.to_owned(),
        key: key.key,
        uid: key.uid.clone(),
    })
    .unwrap_or_default();
    json.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(text: &str, sort: &str) -> Result<SortKey, SearchError> {
    let invalid = || {
        bad(
            "cursor",
            "not a cursor from this API: pass `next_cursor` from the previous page unchanged",
        )
    };
    if text.len() > 2_048 || text.len() % 2 != 0 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    let cursor: Cursor = bytes
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid)?;
    if cursor.sort != sort {
        return Err(bad(
            "cursor",
            format!(
                "the cursor was made for sort `{}`, not `{sort}`",
                cursor.sort
            ),
        ));
    }
    Ok(SortKey {
        key: cursor.key,
        uid: cursor.uid,
    })
}

/// The text query alone (for snippets), and with the filters (for matching).
struct Queries {
    text: Box<dyn Query>,
    full: Box<dyn Query>,
    /// How the matches can be found faster than by running `full` on each.
    shortcut: Shortcut,
}

/// A faster way to the same results, decided by the query and filters
/// alone (never by the page or the facets), so that every page of one
/// search is ranked the same way.
enum Shortcut {
    /// None: every match is scored and counted in one pass.
    None,
    /// No query and no filters: every ad matches, so the total and the facet
    /// counts of indexed fields are known without visiting the ads.
    Everything,
    /// Words joined by `OR` and no filters: as one flat union of terms, whose
    /// best page tantivy finds skipping what cannot enter it, then counts
    /// without scoring.
    TermUnion(Box<dyn Query>),
}

/// The query and filters as one tantivy query.
fn full_query(archive: &Archive, request: &SearchRequest) -> Result<Queries, SearchError> {
    let index = archive
        .index()
        .ok_or_else(|| bad("q", "the archive has no search index"))?;
    let fields = index.fields();
    let text = query::build(fields, &request.query).map_err(|e| bad("q", e.0))?;
    let filters = request.filters.queries(fields)?;
    let shortcut = if !filters.is_empty() {
        Shortcut::None
    } else if request.query.trim().is_empty() {
        Shortcut::Everything
    } else {
        match query::term_union(fields, &request.query).map_err(|e| bad("q", e.0))? {
            Some(union) => Shortcut::TermUnion(Box::new(DeadlineQuery::new(
                union,
                request.deadline.clone(),
            ))),
            None => Shortcut::None,
        }
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text.box_clone())];
    for f in filters {
        // A filter narrows the matches and leaves their relevance alone:
        // scored, a filter term would favour the ads of its rarer values.
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(f, 0.0))));
    }
    Ok(Queries {
        text,
        full: Box::new(DeadlineQuery::new(
            Box::new(BooleanQuery::new(clauses)),
            request.deadline.clone(),
        )),
        shortcut,
    })
}

/// Runs `collector` over the matches of `query`: spread over every core,
/// or on this thread when the request asks (see
/// [`SearchRequest::parallel`]).
fn run<C: tantivy::collector::Collector>(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    collector: &C,
    request: &SearchRequest,
) -> tantivy::Result<C::Fruit> {
    if request.parallel {
        return searcher.search(query, collector);
    }
    let scoring = if collector.requires_scoring() {
        tantivy::query::EnableScoring::enabled_from_searcher(searcher)
    } else {
        tantivy::query::EnableScoring::disabled_from_searcher(searcher)
    };
    searcher.search_with_executor(
        query,
        collector,
        &tantivy::Executor::single_thread(),
        scoring,
    )
}

/// Runs a search.
pub fn search(archive: &Archive, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
    if request.limit > MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let index = archive
        .index()
        .ok_or_else(|| bad("q", "the archive has no search index"))?;
    search_in(archive, &index.searcher(), request)
}

/// Runs a search on a given snapshot of the index, without the cap on
/// `limit` (an export pages through one snapshot in large pages).
/// One page of a search before its records are read: what the collectors found.
pub(crate) struct Ranking {
    pub total: u64,
    pub ranked: Vec<collect::Ranked>,
    pub next_cursor: Option<String>,
    facet_names: Vec<String>,
    facet_counts: Vec<std::collections::HashMap<String, u64>>,
    text_query: Box<dyn Query>,
    sort: SortBy,
}

/// Validates a request and runs its collectors on `searcher`.
pub(crate) fn rank(
    archive: &Archive,
    searcher: &tantivy::Searcher,
    request: &SearchRequest,
) -> Result<Ranking, SearchError> {
    if request.limit == 0 {
        return Err(bad("limit", "`limit` must be at least 1"));
    }
    if request.facet_limit == 0 || request.facet_limit > MAX_FACET_VALUES {
        return Err(bad(
            "facet_limit",
            format!("`facet_limit` must be between 1 and {MAX_FACET_VALUES}"),
        ));
    }
    // A facet named twice is counted once: the work per request is bounded
    // by the number of facet fields, however long the list.
    let mut facet_fields = Vec::new();
    let mut facet_names: Vec<String> = Vec::new();
    for name in &request.facets {
        let Some((_, field)) = FACET_FIELDS.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = FACET_FIELDS.iter().map(|(n, _)| *n).collect();
            return Err(bad(
                "facets",
                format!("`{name}` is not a facet; facets: {}", names.join(", ")),
            ));
        };
        if facet_names.contains(name) {
            continue;
        }
        facet_names.push(name.clone());
        facet_fields.push((*field).to_owned());
    }
    let (sort, descending, sort_name) = parse_sort(request)?;
    let after = request
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c, &sort_name))
        .transpose()?;
    let Queries {
        text: text_query,
        full: query,
        shortcut,
    } = full_query(archive, request)?;
    let page = SortedPage {
        sort,
        descending,
        limit: request.limit,
        after,
    };
    let facets = FacetCounts {
        fields: facet_fields,
    };
    let (total, mut ranked, facet_counts) = match shortcut {
        Shortcut::TermUnion(union) if sort == SortBy::Relevance && descending => {
            let ranked = run(searcher, &*union, &PrunedRelevancePage(page), request)?;
            let (total, facet_counts) = if facets.fields.is_empty() {
                (union.count(searcher)?, Vec::new())
            } else {
                run(searcher, &*union, &(Count, facets), request)?
            };
            (total, ranked, facet_counts)
        }
        Shortcut::Everything => {
            let index = archive
                .index()
                .ok_or_else(|| bad("q", "the archive has no search index"))?;
            let ranked = run(searcher, &*query, &SortedCollector(page), request)?;
            let facet_counts = facets.of_all(searcher, index.fields())?;
            (searcher.num_docs() as usize, ranked, facet_counts)
        }
        _ => run(
            searcher,
            &*query,
            &(Count, SortedCollector(page), facets),
            request,
        )?,
    };
    if request.deadline.passed() {
        return Err(SearchError::DeadlineExceeded);
    }

    let next_cursor = if ranked.len() > request.limit {
        ranked.truncate(request.limit);
        ranked.last().map(|r| encode_cursor(&sort_name, &r.key))
    } else {
        None
    };

    Ok(Ranking {
        total: total as u64,
        ranked,
        next_cursor,
        facet_names,
        facet_counts,
        text_query,
        sort,
    })
}

pub fn search_in(
    archive: &Archive,
    searcher: &tantivy::Searcher,
    request: &SearchRequest,
) -> Result<SearchResponse, SearchError> {
    let Ranking {
        total,
        ranked,
        next_cursor,
        facet_names,
        facet_counts,
        text_query,
        sort,
    } = rank(archive, searcher, request)?;
    let index = archive
        .index()
        .ok_or_else(|| bad("q", "the archive has no search index"))?;

    let generators: Vec<(String, SnippetGenerator)> =
        if request.query.trim().is_empty() || !request.snippets {
            Vec::new()
        } else {
            TEXT_FIELDS
                .iter()
                .filter_map(|(name, _)| {
                    let field = index.fields().text_field(name)?;
                    let mut g = SnippetGenerator::create(searcher, &*text_query, field).ok()?;
                    g.set_max_num_chars(200);
                    Some(((*name).to_owned(), g))
                })
                .collect()
        };

    let mut results = Vec::with_capacity(ranked.len());
    let uids: Vec<String> = ranked.iter().map(|r| r.key.uid.clone()).collect();
    let records = archive.latest_canonical(&uids)?;
    for (r, canonical) in ranked.into_iter().zip(records) {
        let Some(canonical) = canonical else {
            continue;
        };
        let ad: Ad = crate::archive::decode(&r.key.uid, &canonical)?;
        let snippets = snippets_of(&ad, &generators);
        results.push(Hit {
            score: (sort == SortBy::Relevance).then_some(r.score),
            ad,
            snippets,
        });
    }

    let mut facets = BTreeMap::new();
    for (name, counts) in facet_names.into_iter().zip(facet_counts) {
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .map(|(value, count)| FacetValue { value, count })
            .collect();
        let order = |a: &FacetValue, b: &FacetValue| {
            b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value))
        };
        // The top values are chosen before sorting: a facet of every
        // advertiser may have hundreds of thousands.
        if values.len() > request.facet_limit {
            values.select_nth_unstable_by(request.facet_limit, order);
            values.truncate(request.facet_limit);
        }
        values.sort_by(order);
        facets.insert(name, values);
    }
    Ok(SearchResponse {
        total,
        results,
        next_cursor,
        facets,
    })
}

/// The texts of an ad per full-text field, as indexed.
fn texts_of<'a>(ad: &'a Ad, field: &str) -> Vec<&'a str> {
    let c = &ad.creative;
    match field {
        "creative" => c
            .bodies
            .iter()
            .chain(&c.titles)
            .chain(&c.descriptions)
            .chain(&c.captions)
            .map(String::as_str)
            .collect(),
        "advertiser" => ad.advertiser.name.iter().map(String::as_str).collect(),
        "funder" => ad
            .funder
            .iter()
            .chain(&ad.payers)
            .chain(&ad.beneficiaries)
            .map(String::as_str)
            .collect(),
        _ => ad
            .targeting
            .interests
            .iter()
            .chain(&ad.targeting.locations_included)
            .chain(ad.targeting.other.values().flatten())
            .map(String::as_str)
            .collect(),
    }
}

fn snippets_of(ad: &Ad, generators: &[(String, SnippetGenerator)]) -> Vec<Snippet> {
    let mut out = Vec::new();
    for (field, generator) in generators {
        let best = texts_of(ad, field)
            .into_iter()
            .map(|text| generator.snippet(text))
            .filter(|s| !s.highlighted().is_empty())
            .max_by_key(|s| s.highlighted().len());
        if let Some(s) = best {
            out.push(Snippet {
                field: field.clone(),
                fragment: s.fragment().to_owned(),
                highlights: s.highlighted().iter().map(|r| (r.start, r.end)).collect(),
            });
        }
    }
    out
}

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
