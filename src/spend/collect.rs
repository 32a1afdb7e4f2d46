//! Spend totals (and ad counts) per period among the matches, from fast
//! fields alone, and the pieces the keyword groupings ([`super::groups`])
//! share with it.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::schema::{unpack, AMOUNT_MAX};

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
    pub(super) fn currency(&mut self, cur: u64) -> &mut CurrencySums {
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

/// Spend totals (and ad counts) per week or month among the matches.
pub struct PeriodSpend {
    pub group_by: GroupBy,
}

pub struct PeriodSegment {
    group_by: GroupBy,
    first_shown: Column<i64>,
    lower: Column<u64>,
    upper: Column<u64>,
    by_time: HashMap<u64, GroupSums>,
    spend: Vec<(u64, u64, Option<u64>)>,
    /// One block of matches' columns, read a column at a time.
    lower_block: ColumnBlock,
    upper_block: ColumnBlock,
    times: Vec<Option<i64>>,
}

/// The values a column holds for a block of documents, read in one call
/// per column rather than one per value.
#[derive(Default)]
pub(super) struct ColumnBlock {
    docs: Vec<DocId>,
    rows: Vec<u32>,
    values: Vec<u64>,
    /// How far [`ColumnBlock::take`] has read.
    at: usize,
}

impl ColumnBlock {
    pub(super) fn read(&mut self, column: &Column<u64>, docs: &[DocId]) {
        self.docs.clear();
        self.rows.clear();
        self.at = 0;
        column.row_ids_for_docs(docs, &mut self.docs, &mut self.rows);
        self.values.clear();
        self.values.resize(self.rows.len(), 0);
        column.values.get_vals(&self.rows, &mut self.values);
    }

    /// The values of `doc`; documents are taken in the block's order.
    pub(super) fn take(&mut self, doc: DocId) -> &[u64] {
        let start = self.at;
        while self.docs.get(self.at) == Some(&doc) {
            self.at += 1;
        }
        &self.values[start..self.at]
    }
}

/// The spend entries of one ad from its packed lower and upper bounds:
/// (currency, lower, upper unless open-ended).
pub(super) fn spend_entries(lower: &[u64], upper: &[u64], into: &mut Vec<(u64, u64, Option<u64>)>) {
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

impl Collector for PeriodSpend {
    type Fruit = HashMap<String, GroupSums>;
    type Child = PeriodSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<PeriodSegment> {
        let fast = reader.fast_fields();
        Ok(PeriodSegment {
            group_by: self.group_by.clone(),
            first_shown: fast.i64("first_shown")?,
            lower: fast.u64("spend_lower")?,
            upper: fast.u64("spend_upper")?,
            by_time: HashMap::new(),
            spend: Vec::new(),
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
                merged.entry(key).or_default().add(sums);
            }
        }
        Ok(merged)
    }
}

impl GroupSums {
    /// Adds another part of the same group (from another segment).
    pub(super) fn add(&mut self, other: GroupSums) {
        self.ads += other.ads;
        if self.name.is_none() {
            self.name = other.name;
        }
        for (cur, c) in other.currencies {
            let t = self.currency(cur);
            t.ads += c.ads;
            t.lower += c.lower;
            t.upper += c.upper;
            t.open_ended += c.open_ended;
        }
    }

    /// Adds one ad with spend entries `spend` (currency, lower, upper
    /// unless open-ended).
    pub(super) fn add_ad(&mut self, spend: &[(u64, u64, Option<u64>)]) {
        self.ads += 1;
        for (cur, lower, upper) in spend {
            let sums = self.currency(*cur);
            sums.ads += 1;
            sums.lower += u128::from(*lower);
            match upper {
                Some(u) => sums.upper += u128::from(*u),
                None => sums.open_ended += 1,
            }
        }
    }
}

impl SegmentCollector for PeriodSegment {
    type Fruit = HashMap<String, GroupSums>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.times.clear();
        self.times.resize(docs.len(), None);
        self.first_shown.first_vals(docs, &mut self.times);
        self.lower_block.read(&self.lower, docs);
        self.upper_block.read(&self.upper, docs);
        for (i, &doc) in docs.iter().enumerate() {
            let lower = self.lower_block.take(doc);
            let upper = self.upper_block.take(doc);
            let Some(bucket) = self.times[i].and_then(|s| time_bucket(&self.group_by, s)) else {
                continue;
            };
            spend_entries(lower, upper, &mut self.spend);
            self.by_time.entry(bucket).or_default().add_ad(&self.spend);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.by_time
            .into_iter()
            .map(|(bucket, sums)| (bucket_label(&self.group_by, bucket), sums))
            .collect()
    }
}
