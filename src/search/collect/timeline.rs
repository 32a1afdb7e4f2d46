//! Ads per month of first shown, and how many are still running, among
//! the matches: the search page's chart and its "running" facet in one
//! pass that reads two columns per match.

use std::collections::{BTreeMap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Collects [`TimelineCounts`].
pub struct Timeline;

/// Counts per month of first shown (months since year 0) and by whether
/// the ad still runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineCounts {
    /// Ads first shown in each month, by months since year 0.
    pub months: BTreeMap<i64, u64>,
    /// Ads with no last-shown date.
    pub running: u64,
    /// Ads that ended.
    pub ended: u64,
}

impl TimelineCounts {
    /// `2024-05` for a month counted since year 0.
    pub fn label(month: i64) -> String {
        format!(
            "{:04}-{:02}",
            month.div_euclid(12),
            month.rem_euclid(12) + 1
        )
    }
}

pub struct TimelineSegment {
    first_shown: Column<i64>,
    active: Column<u64>,
    /// By day since the epoch: a segment's ads start on few distinct days,
    /// so each day is turned into its month once, at the end.
    days: HashMap<i64, u64>,
    running: u64,
    ended: u64,
}

impl Collector for Timeline {
    type Fruit = TimelineCounts;
    type Child = TimelineSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<TimelineSegment> {
        let fast = reader.fast_fields();
        Ok(TimelineSegment {
            first_shown: fast.i64("first_shown")?,
            active: fast.u64("active")?,
            days: HashMap::new(),
            running: 0,
            ended: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<TimelineCounts>) -> tantivy::Result<TimelineCounts> {
        let mut merged = TimelineCounts::default();
        for fruit in fruits {
            merged.running += fruit.running;
            merged.ended += fruit.ended;
            for (month, n) in fruit.months {
                *merged.months.entry(month).or_insert(0) += n;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for TimelineSegment {
    type Fruit = TimelineCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self.active.first(doc) == Some(1) {
            self.running += 1;
        } else {
            self.ended += 1;
        }
        match self.first_shown.first(doc) {
            Some(seconds) if seconds != i64::MIN => {
                *self.days.entry(seconds.div_euclid(86_400)).or_insert(0) += 1;
            }
            _ => {}
        }
    }

    fn harvest(self) -> TimelineCounts {
        let mut months = BTreeMap::new();
        for (day, n) in self.days {
            let Ok(date) = time::OffsetDateTime::from_unix_timestamp(day * 86_400) else {
                continue;
            };
            let month = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1;
            *months.entry(month).or_insert(0) += n;
        }
        TimelineCounts {
            months,
            running: self.running,
            ended: self.ended,
        }
    }
}
