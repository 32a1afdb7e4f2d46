//! Spend totals (and ad counts) per group among the matches, from fast
//! fields alone.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::schema::{unpack, AMOUNT_MAX};
use crate::search::collect::sorted_ords_to_strings;

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
