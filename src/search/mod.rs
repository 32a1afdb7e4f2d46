//! The search core: full-text query, filters, sorting with deep paging by
//! cursor, facet counts and snippets ([`crate::spend`] sums what a search
//! matches). It knows nothing of HTTP; the CLI and the API both call it.
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

pub mod collect;
mod cursor;
pub mod deadline;
pub mod export;
pub mod filters;
pub mod parquet;
pub mod query;
mod snippets;
mod sort;

use std::collections::BTreeMap;

use adarchive_schema::Ad;
use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query};
use tantivy::snippet::SnippetGenerator;

pub use collect::SortBy;
pub use deadline::{Deadline, DeadlineQuery};
pub use filters::Filters;
pub use sort::{Sort, SortField};

use crate::archive::Archive;
use crate::index::schema::TEXT_FIELDS;
use collect::{FacetCounts, PrunedRelevancePage, SortedCollector, SortedPage};
use cursor::{decode_cursor, encode_cursor};
use snippets::snippets_of;

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
    ("status", "status"),
];

/// A search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The query (empty: every ad).
    pub query: String,
    /// Filters.
    pub filters: Filters,
    /// The order of results. None: relevance with a query, first shown
    /// without.
    pub sort: Option<Sort>,
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
    /// Whether to count the matches per month of first shown and by
    /// whether they still run ([`SearchResponse::timeline`]), in the same
    /// pass as the rest.
    #[serde(skip)]
    pub timeline: bool,
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
            sort: None,
            limit: DEFAULT_LIMIT,
            cursor: None,
            facets: Vec::new(),
            facet_limit: 10,
            snippets: true,
            timeline: false,
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
    /// The matches per month and by whether they run, when asked for
    /// ([`SearchRequest::timeline`]).
    #[serde(skip)]
    pub timeline: Option<collect::TimelineCounts>,
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

pub(crate) fn bad(param: &'static str, message: impl Into<String>) -> SearchError {
    SearchError::BadParameter {
        param,
        message: message.into(),
    }
}

/// The text query alone (for snippets), and with the filters (for matching).
pub(crate) struct Queries {
    text: Box<dyn Query>,
    pub full: Box<dyn Query>,
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
pub(crate) fn full_query(
    archive: &Archive,
    request: &SearchRequest,
) -> Result<Queries, SearchError> {
    let index = archive.search_index()?;
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

/// The query of every ad that matches `query` and `filters`, unranked.
fn matches_of(
    archive: &Archive,
    query: &str,
    filters: &Filters,
    deadline: &Deadline,
) -> Result<Box<dyn Query>, SearchError> {
    let request = SearchRequest {
        query: query.to_owned(),
        filters: filters.clone(),
        deadline: deadline.clone(),
        ..SearchRequest::default()
    };
    Ok(full_query(archive, &request)?.full)
}

/// Every ad that matches `query` and `filters`, when at most `limit` do;
/// `None` when more do (counted first, which is cheap).
pub fn uids_if_few(
    archive: &Archive,
    query: &str,
    filters: &Filters,
    limit: u64,
    deadline: &Deadline,
) -> Result<Option<std::collections::HashSet<String>>, SearchError> {
    let index = archive.search_index()?;
    let full = matches_of(archive, query, filters, deadline)?;
    let searcher = index.searcher();
    let total = searcher.search(&*full, &Count)? as u64;
    if total > limit {
        return Ok(None);
    }
    let found = searcher.search(&*full, &tantivy::collector::DocSetCollector)?;
    if deadline.passed() {
        return Err(SearchError::DeadlineExceeded);
    }
    uids_of(&searcher, found).map(Some)
}

/// The uids of the documents at `addresses`.
fn uids_of(
    searcher: &tantivy::Searcher,
    addresses: impl IntoIterator<Item = tantivy::DocAddress>,
) -> Result<std::collections::HashSet<String>, SearchError> {
    let mut out = std::collections::HashSet::new();
    let mut uid = String::new();
    let mut columns = std::collections::HashMap::new();
    for address in addresses {
        let column = match columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let segment = searcher.segment_reader(address.segment_ord);
                e.insert(segment.fast_fields().str("uid")?)
            }
        };
        let Some(column) = column.as_ref() else {
            continue;
        };
        let ord = column.term_ords(address.doc_id).next();
        if let Some(ord) = ord {
            uid.clear();
            if column
                .ord_to_str(ord, &mut uid)
                .map_err(tantivy::TantivyError::from)?
            {
                out.insert(uid.clone());
            }
        }
    }
    Ok(out)
}

/// Tells which of the ads named elsewhere (the ads of a page of changes)
/// match a query and filters, at a cost that grows with the ads asked
/// about, not with the ads the query matches: each ad's document is found
/// by its uid, and the query's matches are only asked whether they hold
/// it.
pub struct Matcher {
    searcher: tantivy::Searcher,
    weight: Box<dyn tantivy::query::Weight>,
    uid_field: tantivy::schema::Field,
    deadline: Deadline,
}

impl Matcher {
    /// The matcher of `query` and `filters` over the index as it is now.
    pub fn new(
        archive: &Archive,
        query: &str,
        filters: &Filters,
        deadline: &Deadline,
    ) -> Result<Matcher, SearchError> {
        let index = archive.search_index()?;
        let full = matches_of(archive, query, filters, deadline)?;
        let searcher = index.searcher();
        let weight = full.weight(tantivy::query::EnableScoring::disabled_from_searcher(
            &searcher,
        ))?;
        Ok(Matcher {
            searcher,
            weight,
            uid_field: index.fields().uid,
            deadline: deadline.clone(),
        })
    }

    /// Which of `uids` match.
    pub fn matching(
        &self,
        uids: &[String],
    ) -> Result<std::collections::HashSet<String>, SearchError> {
        use tantivy::DocSet;
        let mut out = std::collections::HashSet::new();
        for segment in self.searcher.segment_readers() {
            let postings = segment.inverted_index(self.uid_field)?;
            let alive = segment.alive_bitset();
            let mut docs: Vec<(tantivy::DocId, usize)> = Vec::new();
            for (i, uid) in uids.iter().enumerate() {
                let term = tantivy::Term::from_field_text(self.uid_field, uid);
                let Some(mut found) = postings
                    .read_postings(&term, tantivy::schema::IndexRecordOption::Basic)
                    .map_err(tantivy::TantivyError::from)?
                else {
                    continue;
                };
                while found.doc() != tantivy::TERMINATED {
                    if alive.is_none_or(|a| a.is_alive(found.doc())) {
                        docs.push((found.doc(), i));
                    }
                    found.advance();
                }
            }
            if docs.is_empty() {
                continue;
            }
            // A scorer only moves forward.
            docs.sort_unstable();
            let mut matches = self.weight.scorer(segment, 1.0)?;
            for (doc, i) in docs {
                if matches.doc() < doc {
                    matches.seek(doc);
                }
                if matches.doc() == doc {
                    out.insert(uids[i].clone());
                }
            }
        }
        if self.deadline.passed() {
            return Err(SearchError::DeadlineExceeded);
        }
        Ok(out)
    }
}

/// Runs `collector` over the matches of `query`: spread over every core,
/// or on this thread when the request asks (see
/// [`SearchRequest::parallel`]).
pub(crate) fn run<C: tantivy::collector::Collector>(
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

/// Ads per month of first shown and how many still run, among the ads the
/// request matches, in one pass over two columns.
pub fn timeline(
    archive: &Archive,
    request: &SearchRequest,
) -> Result<collect::TimelineCounts, SearchError> {
    let query = full_query(archive, request)?.full;
    let searcher = archive.search_index()?.searcher();
    let counts = run(
        &searcher,
        &*query,
        &collect::Timeline { enabled: true },
        request,
    )?;
    if request.deadline.passed() {
        return Err(SearchError::DeadlineExceeded);
    }
    Ok(counts)
}

/// Runs a search.
pub fn search(archive: &Archive, request: &SearchRequest) -> Result<SearchResponse, SearchError> {
    if request.limit > MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let index = archive.search_index()?;
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
    timeline: collect::TimelineCounts,
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
    let (sort, order) = sort::resolve(request)?;
    let (descending, sort_name) = (order.descending, order.to_string());
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
    let timeline = collect::Timeline {
        enabled: request.timeline,
    };
    let (total, mut ranked, facet_counts, months) = match shortcut {
        Shortcut::TermUnion(union) if sort == SortBy::Relevance && descending => {
            let ranked = run(searcher, &*union, &PrunedRelevancePage(page), request)?;
            let (total, facet_counts, months) = if facets.fields.is_empty() && !request.timeline {
                (union.count(searcher)?, Vec::new(), Default::default())
            } else {
                run(searcher, &*union, &(Count, facets, timeline), request)?
            };
            (total, ranked, facet_counts, months)
        }
        Shortcut::Everything => {
            let index = archive.search_index()?;
            let (ranked, months) = run(
                searcher,
                &*query,
                &(SortedCollector(page), timeline),
                request,
            )?;
            let facet_counts = facets.of_all(searcher, index.fields())?;
            (searcher.num_docs() as usize, ranked, facet_counts, months)
        }
        _ => run(
            searcher,
            &*query,
            &(Count, SortedCollector(page), facets, timeline),
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
        timeline: months,
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
        timeline,
    } = rank(archive, searcher, request)?;
    let index = archive.search_index()?;

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
        timeline: request.timeline.then_some(timeline),
    })
}
