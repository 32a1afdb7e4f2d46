//! The page of results after a cursor, in sort order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use super::{sorted_ords_to_strings, Ranked, SortBy, SortKey, SortedPage};
use crate::index::schema::{unpack, AMOUNT_MAX};

/// Maps an `i64` to a `u64` with the same order.
fn ordered_i64(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// Within a segment, uids are compared by their term ordinal: the uid
/// dictionary is sorted, so ordinals sort like the uids, and a uid string is
/// read only for the results kept.
pub struct SortedSegment {
    spec: SortedPage,
    segment: SegmentOrdinal,
    uids: StrColumn,
    values: Option<Column<u64>>,
    dates: Option<Column<i64>>,
    /// (key, uid ordinal, doc, score), worst on top.
    heap: BinaryHeap<(u64, u64, DocId, FloatOrd)>,
    /// The smallest uid ordinal after the cursor's uid, for docs whose key
    /// equals the cursor's.
    after_ord: u64,
}

/// A score that can sit in a heap; never compared for order.
#[derive(Clone, Copy, Debug)]
struct FloatOrd(Score);

impl PartialEq for FloatOrd {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for FloatOrd {}
impl PartialOrd for FloatOrd {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FloatOrd {
    fn cmp(&self, _: &Self) -> Ordering {
        Ordering::Equal
    }
}

impl SortedSegment {
    fn value_key(&self, doc: DocId, score: Score) -> u64 {
        let ascending = |v: u64| {
            if self.spec.descending {
                u64::MAX - v
            } else {
                v
            }
        };
        match self.spec.sort {
            SortBy::Relevance => {
                let bits = u64::from(score.max(0.0).to_bits());
                ascending(bits)
            }
            SortBy::SpendLower(cur) | SortBy::SpendUpper(cur) => {
                let amount = self
                    .values
                    .as_ref()
                    .and_then(|c| c.values_for_doc(doc).map(unpack).find(|(c, _)| *c == cur))
                    .map(|(_, a)| a);
                match amount {
                    // Ads without spend in that currency come last either way.
                    None => u64::MAX,
                    Some(a) if self.spec.descending => AMOUNT_MAX - a,
                    Some(a) => a,
                }
            }
            SortBy::FirstShown | SortBy::LastShown => {
                match self.dates.as_ref().and_then(|c| c.first(doc)) {
                    Some(v) => ascending(ordered_i64(v)),
                    None => u64::MAX,
                }
            }
            SortBy::Impressions => match self.values.as_ref().and_then(|c| c.first(doc)) {
                Some(v) => ascending(v),
                None => u64::MAX,
            },
        }
    }

    /// For a page by descending relevance: the score a match must exceed to
    /// enter the page. Just below the worst kept score, so that a match
    /// scoring the same still enters when its uid sorts first.
    pub(super) fn score_threshold(&self) -> Score {
        if self.heap.len() <= self.spec.limit {
            return Score::MIN;
        }
        match self.heap.peek() {
            Some(worst) => match (u64::MAX - worst.0) as u32 {
                0 => Score::MIN,
                bits => Score::from_bits(bits - 1),
            },
            None => Score::MIN,
        }
    }

    /// The first ordinal whose uid sorts after `uid` (binary search over
    /// the sorted dictionary).
    fn first_ord_after(uids: &StrColumn, uid: &str) -> u64 {
        let (mut low, mut high) = (0u64, uids.num_terms() as u64);
        let mut text = String::new();
        while low < high {
            let mid = low + (high - low) / 2;
            text.clear();
            let _ = uids.ord_to_str(mid, &mut text);
            if text.as_str() <= uid {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }
}

impl SegmentCollector for SortedSegment {
    type Fruit = SegmentPage;

    fn collect(&mut self, doc: DocId, score: Score) {
        let key = self.value_key(doc, score);
        // Most matches fall before the cursor or behind a full page on
        // their sort value alone; the uid's ordinal, which breaks ties, is
        // read only for the others.
        if self
            .spec
            .after
            .as_ref()
            .is_some_and(|after| key < after.key)
        {
            return;
        }
        if self.heap.len() > self.spec.limit && self.heap.peek().is_some_and(|w| key > w.0) {
            return;
        }
        let Some(ord) = self.uids.term_ords(doc).next() else {
            return;
        };
        if let Some(after) = &self.spec.after {
            if key == after.key && ord < self.after_ord {
                return;
            }
        }
        let candidate = (key, ord, doc, FloatOrd(score));
        if self.heap.len() > self.spec.limit {
            match self.heap.peek() {
                Some(worst) if (key, ord) < (worst.0, worst.1) => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push(candidate);
    }

    fn harvest(self) -> SegmentPage {
        SegmentPage {
            segment: self.segment,
            uids: self.uids,
            kept: self
                .heap
                .into_iter()
                .map(|(key, ord, doc, score)| (key, ord, doc, score.0))
                .collect(),
        }
    }
}

/// What one segment keeps of a page: (key, uid ordinal, doc, score). The
/// uid strings are read only for the results that make the page.
pub struct SegmentPage {
    segment: SegmentOrdinal,
    uids: StrColumn,
    kept: Vec<(u64, u64, DocId, Score)>,
}

/// The page of `limit` results from every segment's best, in `(key, uid)`
/// order. Results are ordered by key first; uids are read (one pass over
/// each segment's sorted dictionary) only for the results up to the
/// `limit`-th and those sharing its key, which decide ties.
pub(super) fn merge_pages(pages: Vec<SegmentPage>, limit: usize) -> Vec<Ranked> {
    let mut all: Vec<(u64, usize, usize)> = pages
        .iter()
        .enumerate()
        .flat_map(|(p, page)| (0..page.kept.len()).map(move |i| (page.kept[i].0, p, i)))
        .collect();
    all.sort_unstable_by_key(|&(key, _, _)| key);
    if all.len() > limit {
        let boundary = all[limit - 1].0;
        let end = all[limit..]
            .iter()
            .position(|&(key, _, _)| key != boundary)
            .map_or(all.len(), |n| limit + n);
        all.truncate(end);
    }
    let mut uids: Vec<Vec<Option<String>>> =
        pages.iter().map(|p| vec![None; p.kept.len()]).collect();
    for (p, page) in pages.iter().enumerate() {
        let mut wanted: Vec<(u64, usize)> = all
            .iter()
            .filter(|&&(_, q, _)| q == p)
            .map(|&(_, _, i)| (page.kept[i].1, i))
            .collect();
        wanted.sort_unstable();
        let ords: Vec<u64> = wanted.iter().map(|&(ord, _)| ord).collect();
        let read = sorted_ords_to_strings(&page.uids, &ords);
        for ((_, i), uid) in wanted.into_iter().zip(read) {
            uids[p][i] = Some(uid);
        }
    }
    let mut ranked: Vec<Ranked> = all
        .into_iter()
        .map(|(key, p, i)| {
            let (_, _, doc, score) = pages[p].kept[i];
            Ranked {
                key: SortKey {
                    key,
                    uid: uids[p][i].take().unwrap_or_default(),
                },
                address: DocAddress::new(pages[p].segment, doc),
                score,
            }
        })
        .collect();
    ranked.sort();
    ranked.truncate(limit);
    ranked
}

/// Collects one page of results in sort order, after a cursor.
pub struct SortedCollector(pub SortedPage);

impl Collector for SortedCollector {
    type Fruit = Vec<Ranked>;
    type Child = SortedSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SortedSegment> {
        let fast = reader.fast_fields();
        let uids = fast
            .str("uid")?
            .ok_or_else(|| tantivy::TantivyError::SchemaError("uid is not a fast field".into()))?;
        let spec = self.0.clone();
        let (values, dates) = match spec.sort {
            SortBy::SpendLower(_) => (Some(fast.u64("spend_lower")?), None),
            SortBy::SpendUpper(_) => (Some(fast.u64("spend_upper")?), None),
            SortBy::Impressions => (Some(fast.u64("impressions_lower")?), None),
            SortBy::FirstShown => (None, Some(fast.i64("first_shown")?)),
            SortBy::LastShown => (None, Some(fast.i64("last_shown")?)),
            SortBy::Relevance => (None, None),
        };
        let after_ord = spec
            .after
            .as_ref()
            .map_or(0, |after| SortedSegment::first_ord_after(&uids, &after.uid));
        Ok(SortedSegment {
            spec,
            segment,
            uids,
            values,
            dates,
            heap: BinaryHeap::new(),
            after_ord,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.0.sort == SortBy::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<SegmentPage>) -> tantivy::Result<Vec<Ranked>> {
        Ok(merge_pages(fruits, self.0.limit + 1))
    }
}
