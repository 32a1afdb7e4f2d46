//! Collectors of the search: the sorted page after a cursor
//! ([`SortedCollector`]), the same page by relevance with pruning
//! ([`PrunedRelevancePage`]), facet counts ([`FacetCounts`]) and ads per
//! month with how many still run ([`Timeline`]). Each
//! reads fast fields only.

mod facets;
mod relevance;
mod sorted;
mod timeline;

use std::cmp::Ordering;

use tantivy::columnar::StrColumn;
use tantivy::{DocAddress, Score};

pub use facets::{FacetCounts, FacetSegment};
pub use relevance::PrunedRelevancePage;
pub use sorted::{SegmentPage, SortedCollector, SortedSegment};
pub use timeline::{Timeline, TimelineCounts, TimelineSegment};

/// What results are ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// BM25 score.
    Relevance,
    /// Lower bound of spend in one currency (number from `currency_number`).
    SpendLower(u64),
    /// Upper bound of spend in one currency (open-ended sorts as the largest).
    SpendUpper(u64),
    /// First shown.
    FirstShown,
    /// Last shown (still running sorts as the latest).
    LastShown,
    /// Lower bound of impressions.
    Impressions,
}

/// A position in the total order of results: smaller comes first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    pub key: u64,
    pub uid: String,
}

/// The page of results after `after`, in `(key, uid)` order.
#[derive(Clone, Debug)]
pub struct SortedPage {
    pub sort: SortBy,
    pub descending: bool,
    pub limit: usize,
    pub after: Option<SortKey>,
}

/// One result: where it is, its sort key and its score.
#[derive(Clone, Debug)]
pub struct Ranked {
    pub key: SortKey,
    pub address: DocAddress,
    pub score: Score,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// The strings of `ords` (ascending) in a string column, read in one pass
/// over its dictionary instead of one block decode per ordinal.
pub(crate) fn sorted_ords_to_strings(column: &StrColumn, ords: &[u64]) -> Vec<String> {
    let mut read = Vec::with_capacity(ords.len());
    let found = column
        .dictionary()
        .sorted_ords_to_term_cb(ords, |bytes| {
            read.push(String::from_utf8_lossy(bytes).into_owned());
        })
        .unwrap_or(false);
    if !found || read.len() != ords.len() {
        read = ords
            .iter()
            .map(|&ord| {
                let mut text = String::new();
                let _ = column.ord_to_str(ord, &mut text);
                text
            })
            .collect();
    }
    read
}
