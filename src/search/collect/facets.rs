//! Counts of the values of keyword fields among the matches.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::schema::Fields;

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
