//! The best page by relevance, skipping what cannot enter it.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Weight;
use tantivy::{Score, SegmentOrdinal, SegmentReader};

use super::sorted::merge_pages;
use super::{Ranked, SegmentPage, SortedCollector, SortedPage, SortedSegment};

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
