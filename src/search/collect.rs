//! Collectors: the sorted page after a cursor, facet counts, spend totals and
//! date histograms. Each reads fast fields only.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::schema::{unpack, Fields, AMOUNT_MAX};

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
    fn score_threshold(&self) -> Score {
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
fn merge_pages(pages: Vec<SegmentPage>, limit: usize) -> Vec<Ranked> {
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

/// Collects one page by descending relevance, letting tantivy skip the
/// matches that cannot enter it: given a union of term queries, it passes
/// over whole postings blocks whose best possible score is below the
/// page's worst (block-max WAND). The page is the same as
/// [`SortedCollector`]'s for the same query; the matches are not counted.
pub struct PrunedRelevancePage(pub SortedPage);

impl Collector for PrunedRelevancePage {
    type Fruit = Vec<Ranked>;
    type Child = SortedSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SortedSegment> {
        SortedCollector(self.0.clone()).for_segment(segment, reader)
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<SegmentPage>) -> tantivy::Result<Vec<Ranked>> {
        Ok(merge_pages(fruits, self.0.limit + 1))
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentPage> {
        let mut page = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        let mut threshold = Score::MIN;
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                return threshold;
            }
            page.collect(doc, score);
            threshold = page.score_threshold();
            threshold
        })?;
        Ok(page.harvest())
    }
}

/// Counts of the values of keyword fields among the matches.
pub struct FacetCounts {
    pub fields: Vec<String>,
}

pub struct FacetSegment {
    columns: Vec<Option<StrColumn>>,
    counts: Vec<Vec<u64>>,
    /// The values of one ad with several, to count each once.
    several: Vec<u64>,
}

impl Collector for FacetCounts {
    type Fruit = Vec<HashMap<String, u64>>;
    type Child = FacetSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<FacetSegment> {
        let fast = reader.fast_fields();
        let mut columns = Vec::new();
        let mut counts = Vec::new();
        for f in &self.fields {
            let column = fast.str(f)?;
            counts.push(vec![0; column.as_ref().map_or(0, |c| c.num_terms())]);
            columns.push(column);
        }
        Ok(FacetSegment {
            columns,
            counts,
            several: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<HashMap<String, u64>>>) -> tantivy::Result<Self::Fruit> {
        let mut merged = vec![HashMap::new(); self.fields.len()];
        for fruit in fruits {
            for (i, counts) in fruit.into_iter().enumerate() {
                for (k, v) in counts {
                    *merged[i].entry(k).or_insert(0) += v;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = Vec<HashMap<String, u64>>;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            let Some(column) = column else {
                continue;
            };
            let mut ords = column.term_ords(doc);
            let Some(first) = ords.next() else {
                continue;
            };
            self.several.clear();
            self.several.push(first);
            self.several.extend(ords);
            if self.several.len() > 1 {
                // An ad listing a value twice still counts once for it.
                self.several.sort_unstable();
                self.several.dedup();
            }
            for &ord in &self.several {
                if let Some(c) = counts.get_mut(ord as usize) {
                    *c += 1;
                }
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = Vec::new();
        let mut text = String::new();
        for (column, counts) in self.columns.iter().zip(self.counts) {
            let mut map = HashMap::new();
            if let Some(column) = column {
                for (ord, n) in counts.into_iter().enumerate() {
                    if n > 0 {
                        text.clear();
                        if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                            map.insert(text.clone(), n);
                        }
                    }
                }
            }
            out.push(map);
        }
        out
    }
}

impl FacetCounts {
    /// The counts over every ad in the index, without visiting them where
    /// that can be avoided: in a segment without deleted documents, the
    /// number of ads with a value is its term's document frequency. Fields
    /// without terms, and segments with deletions, are counted from the
    /// columns. Gives what collecting every ad would.
    pub fn of_all(
        &self,
        searcher: &tantivy::Searcher,
        fields: &Fields,
    ) -> tantivy::Result<Vec<HashMap<String, u64>>> {
        let mut fruits = Vec::new();
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let mut fruit = vec![None; self.fields.len()];
            let mut rest = Vec::new();
            for (i, name) in self.fields.iter().enumerate() {
                match fields.keyword(name).filter(|f| fields.is_indexed(*f)) {
                    Some(field) if reader.alive_bitset().is_none() => {
                        let mut counts = HashMap::new();
                        let index = reader.inverted_index(field)?;
                        let mut terms = index.terms().stream()?;
                        while terms.advance() {
                            let value = String::from_utf8_lossy(terms.key()).into_owned();
                            counts.insert(value, u64::from(terms.value().doc_freq));
                        }
                        fruit[i] = Some(counts);
                    }
                    _ => rest.push(i),
                }
            }
            if !rest.is_empty() {
                let scan = FacetCounts {
                    fields: rest.iter().map(|&i| self.fields[i].clone()).collect(),
                };
                let mut segment = scan.for_segment(ord as SegmentOrdinal, reader)?;
                for doc in reader.doc_ids_alive() {
                    segment.collect(doc, 0.0);
                }
                for (i, counts) in rest.into_iter().zip(segment.harvest()) {
                    fruit[i] = Some(counts);
                }
            }
            fruits.push(fruit.into_iter().map(Option::unwrap_or_default).collect());
        }
        self.merge_fruits(fruits)
    }
}

/// How spend totals and histograms are grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// By the values of a keyword field (an ad with two countries counts in both).
    Keyword(&'static str),
    /// By the week (starting Monday, UTC) of first shown.
    Week,
    /// By the month (UTC) of first shown.
    Month,
}

/// Sums for one currency within one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CurrencySums {
    /// Ads with spend in this currency.
    pub ads: u64,
    /// Sum of lower bounds.
    pub lower: u128,
    /// Sum of the upper bounds that are bounded.
    pub upper: u128,
    /// Ads whose upper bound is open-ended (their upper sum is unbounded).
    pub open_ended: u64,
}

/// Totals of one group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSums {
    /// Ads in the group.
    pub ads: u64,
    /// A display name (the advertiser name for advertiser groups).
    pub name: Option<String>,
    /// Per currency number (see `currency_number`); a group has few.
    pub currencies: Vec<(u64, CurrencySums)>,
}

impl GroupSums {
    fn currency(&mut self, cur: u64) -> &mut CurrencySums {
        let i = match self.currencies.iter().position(|(c, _)| *c == cur) {
            Some(i) => i,
            None => {
                self.currencies.push((cur, CurrencySums::default()));
                self.currencies.len() - 1
            }
        };
        &mut self.currencies[i].1
    }
}

/// The strings of `ords` (ascending) in a string column, read in one pass
/// over its dictionary instead of one block decode per ordinal.
fn sorted_ords_to_strings(column: &StrColumn, ords: &[u64]) -> Vec<String> {
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

/// Spend totals (and ad counts) per group among the matches.
pub struct SpendTotals {
    pub group_by: GroupBy,
}

pub struct SpendSegment {
    group_by: GroupBy,
    keys: Option<StrColumn>,
    names: Option<StrColumn>,
    first_shown: Column<i64>,
    lower: Column<u64>,
    upper: Column<u64>,
    /// By keyword ordinal (dense) or by time bucket.
    by_ord: Vec<Option<GroupSums>>,
    /// Per keyword ordinal, the ordinal of its display name: the names are
    /// read once, in order, when the segment is done.
    name_ords: Vec<Option<u64>>,
    by_time: HashMap<u64, GroupSums>,
    buckets: Vec<u64>,
    spend: Vec<(u64, u64, Option<u64>)>,
    /// One block of matches' columns, read a column at a time.
    key_block: ColumnBlock,
    lower_block: ColumnBlock,
    upper_block: ColumnBlock,
    times: Vec<Option<i64>>,
}

/// The values a column holds for a block of documents, read in one call
/// per column rather than one per value.
#[derive(Default)]
struct ColumnBlock {
    docs: Vec<DocId>,
    rows: Vec<u32>,
    values: Vec<u64>,
    /// How far [`ColumnBlock::take`] has read.
    at: usize,
}

impl ColumnBlock {
    fn read(&mut self, column: &Column<u64>, docs: &[DocId]) {
        self.docs.clear();
        self.rows.clear();
        self.at = 0;
        column.row_ids_for_docs(docs, &mut self.docs, &mut self.rows);
        self.values.clear();
        self.values.resize(self.rows.len(), 0);
        column.values.get_vals(&self.rows, &mut self.values);
    }

    /// The values of `doc`; documents are taken in the block's order.
    fn take(&mut self, doc: DocId) -> &[u64] {
        let start = self.at;
        while self.docs.get(self.at) == Some(&doc) {
            self.at += 1;
        }
        &self.values[start..self.at]
    }
}

/// The spend entries of one ad from its packed lower and upper bounds:
/// (currency, lower, upper unless open-ended).
fn spend_entries(lower: &[u64], upper: &[u64], into: &mut Vec<(u64, u64, Option<u64>)>) {
    into.clear();
    for (cur, low) in lower.iter().copied().map(unpack) {
        let high = upper
            .iter()
            .copied()
            .map(unpack)
            .find(|(c, _)| *c == cur)
            .map(|(_, u)| u)
            .filter(|u| *u != AMOUNT_MAX);
        into.push((cur, low, high));
    }
}

/// The bucket of a time: days since the epoch of its Monday, or months since year 0.
fn time_bucket(group_by: &GroupBy, seconds: i64) -> Option<u64> {
    if seconds == i64::MIN {
        return None;
    }
    let days = seconds.div_euclid(86_400);
    match group_by {
        // 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier.
        GroupBy::Week => Some((days - (days + 3).rem_euclid(7)) as u64 ^ (1 << 63)),
        GroupBy::Month => {
            let date = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
            Some((date.year() as i64 * 12 + i64::from(u8::from(date.month())) - 1) as u64)
        }
        GroupBy::Keyword(_) => None,
    }
}

/// The label of a time bucket: `2024-05-06` (a week's Monday) or `2024-05`.
pub fn bucket_label(group_by: &GroupBy, bucket: u64) -> String {
    match group_by {
        GroupBy::Week => {
            let days = (bucket ^ (1 << 63)) as i64;
            time::OffsetDateTime::from_unix_timestamp(days * 86_400)
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
                .unwrap_or_default()
        }
        GroupBy::Month => format!("{:04}-{:02}", bucket / 12, bucket % 12 + 1),
        GroupBy::Keyword(_) => String::new(),
    }
}

impl Collector for SpendTotals {
    type Fruit = HashMap<String, GroupSums>;
    type Child = SpendSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SpendSegment> {
        let fast = reader.fast_fields();
        let (keys, names) = match &self.group_by {
            GroupBy::Keyword(field) => {
                let names = if *field == "advertiser_key" {
                    fast.str("advertiser_name")?
                } else {
                    None
                };
                (fast.str(field)?, names)
            }
            _ => (None, None),
        };
        Ok(SpendSegment {
            group_by: self.group_by.clone(),
            keys,
            names,
            first_shown: fast.i64("first_shown")?,
            lower: fast.u64("spend_lower")?,
            upper: fast.u64("spend_upper")?,
            by_ord: Vec::new(),
            name_ords: Vec::new(),
            by_time: HashMap::new(),
            buckets: Vec::new(),
            spend: Vec::new(),
            key_block: ColumnBlock::default(),
            lower_block: ColumnBlock::default(),
            upper_block: ColumnBlock::default(),
            times: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut merged: HashMap<String, GroupSums> = HashMap::new();
        for fruit in fruits {
            for (key, sums) in fruit {
                let into = merged.entry(key).or_default();
                into.ads += sums.ads;
                if into.name.is_none() {
                    into.name = sums.name;
                }
                for (cur, c) in sums.currencies {
                    let t = into.currency(cur);
                    t.ads += c.ads;
                    t.lower += c.lower;
                    t.upper += c.upper;
                    t.open_ended += c.open_ended;
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for SpendSegment {
    type Fruit = HashMap<String, GroupSums>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        match &self.keys {
            Some(keys) => self.key_block.read(keys.ords(), docs),
            None => {
                self.times.clear();
                self.times.resize(docs.len(), None);
                self.first_shown.first_vals(docs, &mut self.times);
            }
        }
        self.lower_block.read(&self.lower, docs);
        self.upper_block.read(&self.upper, docs);
        for (i, &doc) in docs.iter().enumerate() {
            self.buckets.clear();
            match &self.keys {
                Some(_) => self.buckets.extend_from_slice(self.key_block.take(doc)),
                None => self
                    .buckets
                    .extend(self.times[i].and_then(|s| time_bucket(&self.group_by, s))),
            }
            let lower = self.lower_block.take(doc);
            let upper = self.upper_block.take(doc);
            if self.buckets.is_empty() {
                continue;
            }
            spend_entries(lower, upper, &mut self.spend);
            self.add(doc);
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out = HashMap::new();
        if let Some(keys) = &self.keys {
            let mut groups: Vec<(u64, GroupSums)> = self
                .by_ord
                .into_iter()
                .enumerate()
                .filter_map(|(ord, sums)| Some((ord as u64, sums?)))
                .collect();
            if let Some(names) = &self.names {
                let mut named: Vec<(u64, usize)> = groups
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (ord, _))| Some((self.name_ords[*ord as usize]?, i)))
                    .collect();
                named.sort_unstable();
                let name_ords: Vec<u64> = named.iter().map(|&(ord, _)| ord).collect();
                let read = sorted_ords_to_strings(names, &name_ords);
                for ((_, i), name) in named.into_iter().zip(read) {
                    groups[i].1.name = Some(name);
                }
            }
            let ords: Vec<u64> = groups.iter().map(|(ord, _)| *ord).collect();
            let read = sorted_ords_to_strings(keys, &ords);
            for ((_, sums), key) in groups.into_iter().zip(read) {
                out.insert(key, sums);
            }
        } else {
            for (bucket, sums) in self.by_time {
                out.insert(bucket_label(&self.group_by, bucket), sums);
            }
        }
        out
    }
}

impl SpendSegment {
    /// Adds the ad `doc`, whose groups are in `buckets` and spend in
    /// `spend`, to its groups' sums.
    fn add(&mut self, doc: DocId) {
        for i in 0..self.buckets.len() {
            let bucket = self.buckets[i];
            let group = if self.keys.is_some() {
                let ord = bucket as usize;
                if self.by_ord.len() <= ord {
                    self.by_ord.resize_with(ord + 1, || None);
                    self.name_ords.resize(ord + 1, None);
                }
                if self.name_ords[ord].is_none() {
                    if let Some(names) = &self.names {
                        self.name_ords[ord] = names.term_ords(doc).next();
                    }
                }
                self.by_ord[ord].get_or_insert_with(GroupSums::default)
            } else {
                self.by_time.entry(bucket).or_default()
            };
            group.ads += 1;
            for (cur, lower, upper) in &self.spend {
                let sums = group.currency(*cur);
                sums.ads += 1;
                sums.lower += u128::from(*lower);
                match upper {
                    Some(u) => sums.upper += u128::from(*u),
                    None => sums.open_ended += 1,
                }
            }
        }
    }
}
