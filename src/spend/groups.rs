//! Spend grouped by a keyword column (advertiser, funder, platform,
//! country, region), in two passes over the matches whose cost follows the
//! number of matching ads, not the number of groups.
//!
//! 1. [`GroupRanking`] counts each group's ads, and its lower bound while
//!    all spend is in one currency, into dense arrays indexed by global
//!    ordinal ([`crate::index::ordinals`]): no string, no allocation per
//!    group. Its [`Ranking`] picks the groups to return with a partial
//!    selection, not a sort of every group.
//! 2. [`ChosenSpend`] sums the spend per currency of the chosen groups
//!    only, and reads only their keys and display names as strings.

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::collect::{spend_entries, ColumnBlock, GroupSums};
use crate::index::ordinals::GlobalOrdinals;
use crate::index::schema::currency_code;
use crate::search::collect::sorted_ords_to_strings;

/// Currency numbers are below 26³.
const CURRENCY_WORDS: usize = (26usize * 26 * 26).div_ceil(64);

/// The currencies seen with spend that is not zero.
#[derive(Clone, Debug)]
struct Currencies {
    bits: Box<[u64; CURRENCY_WORDS]>,
    /// The first one seen: while it is the only one, lower bounds are
    /// summed in it for the ranking.
    first: Option<u64>,
    several: bool,
}

impl Default for Currencies {
    fn default() -> Self {
        Currencies {
            bits: Box::new([0; CURRENCY_WORDS]),
            first: None,
            several: false,
        }
    }
}

impl Currencies {
    fn see(&mut self, currency: u64) {
        let (word, bit) = ((currency / 64) as usize, currency % 64);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= 1 << bit;
        }
        match self.first {
            None => self.first = Some(currency),
            Some(first) if first != currency => self.several = true,
            Some(_) => {}
        }
    }

    fn merge(&mut self, other: &Currencies) {
        for (a, b) in self.bits.iter_mut().zip(other.bits.iter()) {
            *a |= b;
        }
        self.several |= other.several;
        match (self.first, other.first) {
            (None, first) => self.first = first,
            (Some(a), Some(b)) if a != b => self.several = true,
            _ => {}
        }
    }

    /// ISO codes, sorted.
    fn codes(&self) -> Vec<String> {
        let mut codes = Vec::new();
        for (w, word) in self.bits.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let bit = u64::from(rest.trailing_zeros());
                codes.push(currency_code(w as u64 * 64 + bit));
                rest &= rest - 1;
            }
        }
        codes.sort();
        codes
    }

    /// The one currency, when there is exactly one.
    fn only_one(&self) -> Option<u64> {
        self.first.filter(|_| !self.several)
    }
}

/// Whether a spend entry says anything: a zero range (`0`–`0`) in a
/// currency does not make that currency part of the comparison.
fn says_something(lower: u64, upper: Option<u64>) -> bool {
    lower > 0 || upper.is_none_or(|u| u > 0)
}

/// The first pass: each group's ads and ranking figure.
pub struct GroupRanking {
    /// The keyword column grouped by.
    pub field: &'static str,
    /// Its global ordinals for the searcher searched.
    pub ordinals: Arc<GlobalOrdinals>,
    /// The one currency asked for (`currency=EUR`), if any.
    pub only: Option<u64>,
}

/// What the first pass found.
#[derive(Debug, Default)]
pub struct Ranking {
    /// Ads per group, by global ordinal.
    ads: Vec<u32>,
    /// Summed lower bounds in the one currency, by global ordinal; empty
    /// when the spend is in several.
    lower: Vec<u128>,
    currencies: Currencies,
}

pub struct RankingSegment {
    part: SegmentRanking,
    keys: Option<StrColumn>,
    lower: Column<u64>,
    upper: Column<u64>,
    only: Option<u64>,
    key_block: ColumnBlock,
    lower_block: ColumnBlock,
    upper_block: ColumnBlock,
    spend: Vec<(u64, u64, Option<u64>)>,
}

/// One segment's part of a [`Ranking`], by the segment's own ordinals.
pub struct SegmentRanking {
    segment: usize,
    ads: Vec<u32>,
    /// Lower bounds summed in `currencies.first`.
    lower: Vec<u128>,
    currencies: Currencies,
}

impl Collector for GroupRanking {
    type Fruit = Ranking;
    type Child = RankingSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<RankingSegment> {
        let fast = reader.fast_fields();
        let keys = fast.str(self.field)?;
        let size = keys.as_ref().map_or(0, |k| k.dictionary().num_terms());
        Ok(RankingSegment {
            part: SegmentRanking {
                segment: segment as usize,
                ads: vec![0; size],
                lower: vec![0; size],
                currencies: Currencies::default(),
            },
            keys,
            lower: fast.u64("spend_lower")?,
            upper: fast.u64("spend_upper")?,
            only: self.only,
            key_block: ColumnBlock::default(),
            lower_block: ColumnBlock::default(),
            upper_block: ColumnBlock::default(),
            spend: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, parts: Vec<SegmentRanking>) -> tantivy::Result<Ranking> {
        let mut currencies = Currencies::default();
        for part in &parts {
            currencies.merge(&part.currencies);
        }
        let one = currencies.only_one();
        let count = self.ordinals.count();
        let mut ads = vec![0u32; count];
        let mut lower = if one.is_some() {
            vec![0u128; count]
        } else {
            Vec::new()
        };
        for part in parts {
            let global = self.ordinals.of_segment(part.segment);
            for (ord, &n) in part.ads.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let Some(&g) = global.get(ord) else { continue };
                let g = g as usize;
                ads[g] += n;
                // Every part's sums are in the one currency when there is one.
                if let (Some(total), Some(&l)) = (lower.get_mut(g), part.lower.get(ord)) {
                    *total += l;
                }
            }
        }
        Ok(Ranking {
            ads,
            lower,
            currencies,
        })
    }
}

impl SegmentCollector for RankingSegment {
    type Fruit = SegmentRanking;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(keys) = &self.keys else { return };
        self.key_block.read(keys.ords(), docs);
        self.lower_block.read(&self.lower, docs);
        self.upper_block.read(&self.upper, docs);
        let part = &mut self.part;
        for &doc in docs {
            let ords = self.key_block.take(doc);
            let lower = self.lower_block.take(doc);
            let upper = self.upper_block.take(doc);
            if ords.is_empty() {
                continue;
            }
            spend_entries(lower, upper, &mut self.spend);
            let mut in_first = 0u128;
            for &(cur, low, high) in &self.spend {
                if self.only.is_some_and(|o| o != cur) || !says_something(low, high) {
                    continue;
                }
                part.currencies.see(cur);
                if part.currencies.first == Some(cur) {
                    in_first += u128::from(low);
                }
            }
            for &ord in ords {
                let ord = ord as usize;
                if let Some(n) = part.ads.get_mut(ord) {
                    *n += 1;
                }
                if let Some(l) = part.lower.get_mut(ord) {
                    *l += in_first;
                }
            }
        }
    }

    fn harvest(self) -> SegmentRanking {
        self.part
    }
}

impl Ranking {
    /// How the groups are ordered: by the lower bound when all spend is in
    /// one currency, else by ads.
    pub fn ordered_by(&self) -> String {
        super::ordered_by("ads", &self.currencies.codes())
    }

    /// The global ordinals of the first `limit` groups, in order: by the
    /// lower bound in the one currency when all spend is in one, else by
    /// ads; then by key. A partial selection, then a sort of those alone.
    pub fn top(&self, limit: usize) -> Vec<u32> {
        let mut groups: Vec<u32> = (0..self.ads.len() as u32)
            .filter(|&g| self.ads[g as usize] > 0)
            .collect();
        let lower = |g: u32| self.lower.get(g as usize).copied().unwrap_or(0);
        let ads = |g: u32| self.ads[g as usize];
        // Global ordinals follow the keys' byte order, which is the
        // keys' order as strings.
        let order = |a: &u32, b: &u32| {
            lower(*b)
                .cmp(&lower(*a))
                .then_with(|| ads(*b).cmp(&ads(*a)))
                .then_with(|| a.cmp(b))
        };
        if groups.len() > limit {
            if limit > 0 {
                groups.select_nth_unstable_by(limit - 1, order);
            }
            groups.truncate(limit);
        }
        groups.sort_unstable_by(order);
        groups
    }
}

/// Orders groups whose sums are all known (every group was chosen, so
/// the ranking pass was not needed) as [`Ranking::top`] would, and says
/// how.
pub fn order_summed(found: &mut [(String, GroupSums)], only: Option<u64>) -> String {
    let mut currencies = Currencies::default();
    for (_, sums) in found.iter() {
        for (cur, c) in &sums.currencies {
            let open = c.open_ended > 0;
            if only.is_none_or(|o| o == *cur) && (c.lower > 0 || c.upper > 0 || open) {
                currencies.see(*cur);
            }
        }
    }
    match currencies.only_one() {
        Some(one) => {
            let lower = |g: &GroupSums| {
                g.currencies
                    .iter()
                    .find(|(c, _)| *c == one)
                    .map_or(0, |(_, s)| s.lower)
            };
            found.sort_by(|(ka, a), (kb, b)| {
                lower(b)
                    .cmp(&lower(a))
                    .then_with(|| b.ads.cmp(&a.ads))
                    .then_with(|| ka.cmp(kb))
            });
        }
        None => found.sort_by(|(ka, a), (kb, b)| b.ads.cmp(&a.ads).then_with(|| ka.cmp(kb))),
    }
    super::ordered_by("ads", &currencies.codes())
}

/// The second pass: the spend per currency of the chosen groups.
pub struct ChosenSpend {
    /// The keyword column grouped by.
    pub field: &'static str,
    /// The column of display names, for advertisers.
    pub names: Option<&'static str>,
    pub ordinals: Arc<GlobalOrdinals>,
    /// Per global ordinal: its place among the chosen, or `u32::MAX`.
    pub places: Arc<Vec<u32>>,
    /// How many were chosen.
    pub chosen: usize,
}

impl ChosenSpend {
    /// The collector for the groups `chosen` (global ordinals, in order).
    pub fn new(
        field: &'static str,
        names: Option<&'static str>,
        ordinals: Arc<GlobalOrdinals>,
        chosen: &[u32],
    ) -> ChosenSpend {
        let mut places = vec![u32::MAX; ordinals.count()];
        for (place, &g) in chosen.iter().enumerate() {
            if let Some(p) = places.get_mut(g as usize) {
                *p = place as u32;
            }
        }
        ChosenSpend {
            field,
            names,
            ordinals,
            places: Arc::new(places),
            chosen: chosen.len(),
        }
    }
}

pub struct ChosenSegment {
    keys: Option<StrColumn>,
    names: Option<StrColumn>,
    lower: Column<u64>,
    upper: Column<u64>,
    /// Per segment ordinal: its place among the chosen, or `u32::MAX`.
    places: Vec<u32>,
    /// Per place: the sums, the segment ordinal of its key and of its name.
    found: Vec<Option<(GroupSums, u64, Option<u64>)>>,
    key_block: ColumnBlock,
    lower_block: ColumnBlock,
    upper_block: ColumnBlock,
    wanted: Vec<DocId>,
    spend: Vec<(u64, u64, Option<u64>)>,
}

impl Collector for ChosenSpend {
    /// Per place: the key and its sums.
    type Fruit = Vec<Option<(String, GroupSums)>>;
    type Child = ChosenSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<ChosenSegment> {
        let fast = reader.fast_fields();
        let places = self
            .ordinals
            .of_segment(segment as usize)
            .iter()
            .map(|&g| self.places.get(g as usize).copied().unwrap_or(u32::MAX))
            .collect();
        Ok(ChosenSegment {
            keys: fast.str(self.field)?,
            names: match self.names {
                Some(names) => fast.str(names)?,
                None => None,
            },
            lower: fast.u64("spend_lower")?,
            upper: fast.u64("spend_upper")?,
            places,
            found: vec![None; self.chosen],
            key_block: ColumnBlock::default(),
            lower_block: ColumnBlock::default(),
            upper_block: ColumnBlock::default(),
            wanted: Vec::new(),
            spend: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        parts: Vec<Vec<Option<(String, GroupSums)>>>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut merged: Vec<Option<(String, GroupSums)>> = vec![None; self.chosen];
        for part in parts {
            for (place, found) in part.into_iter().enumerate() {
                let Some((key, sums)) = found else { continue };
                match merged.get_mut(place) {
                    Some(Some((_, into))) => into.add(sums),
                    Some(slot) => *slot = Some((key, sums)),
                    None => {}
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for ChosenSegment {
    type Fruit = Vec<Option<(String, GroupSums)>>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(keys) = &self.keys else { return };
        self.key_block.read(keys.ords(), docs);
        // Only the chosen groups' ads have their spend read.
        self.wanted.clear();
        for &doc in docs {
            let ords = self.key_block.take(doc);
            if ords
                .iter()
                .any(|&o| self.places.get(o as usize).is_some_and(|&p| p != u32::MAX))
            {
                self.wanted.push(doc);
            }
        }
        if self.wanted.is_empty() {
            return;
        }
        self.key_block.read(keys.ords(), &self.wanted);
        self.lower_block.read(&self.lower, &self.wanted);
        self.upper_block.read(&self.upper, &self.wanted);
        for i in 0..self.wanted.len() {
            let doc = self.wanted[i];
            let lower = self.lower_block.take(doc);
            let upper = self.upper_block.take(doc);
            spend_entries(lower, upper, &mut self.spend);
            let ords = self.key_block.take(doc);
            for &ord in ords {
                let Some(&place) = self.places.get(ord as usize) else {
                    continue;
                };
                let Some(slot) = self.found.get_mut(place as usize) else {
                    continue;
                };
                let (sums, _, name) = slot.get_or_insert_with(|| (GroupSums::default(), ord, None));
                if name.is_none() {
                    if let Some(names) = &self.names {
                        *name = names.term_ords(doc).next();
                    }
                }
                sums.add_ad(&self.spend);
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out: Vec<Option<(String, GroupSums)>> = vec![None; self.found.len()];
        let Some(keys) = &self.keys else { return out };
        let mut by_key: Vec<(u64, usize)> = Vec::new();
        let mut by_name: Vec<(u64, usize)> = Vec::new();
        let mut sums: Vec<Option<GroupSums>> = Vec::with_capacity(self.found.len());
        for (place, found) in self.found.into_iter().enumerate() {
            match found {
                Some((s, key, name)) => {
                    by_key.push((key, place));
                    if let Some(name) = name {
                        by_name.push((name, place));
                    }
                    sums.push(Some(s));
                }
                None => sums.push(None),
            }
        }
        by_name.sort_unstable();
        if let Some(names) = &self.names {
            let ords: Vec<u64> = by_name.iter().map(|&(o, _)| o).collect();
            for ((_, place), name) in by_name.iter().zip(sorted_ords_to_strings(names, &ords)) {
                if let Some(Some(s)) = sums.get_mut(*place) {
                    s.name = Some(name);
                }
            }
        }
        by_key.sort_unstable();
        let ords: Vec<u64> = by_key.iter().map(|&(o, _)| o).collect();
        for ((_, place), key) in by_key.iter().zip(sorted_ords_to_strings(keys, &ords)) {
            if let Some(s) = sums.get_mut(*place).and_then(Option::take) {
                out[*place] = Some((key, s));
            }
        }
        out
    }
}
