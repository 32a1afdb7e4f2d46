//! Ads per month of first shown, and how many are still running, among
//! the matches: the search page's chart and its "running" facet in one
//! pass that reads two columns per match.

use std::collections::{BTreeMap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Collects [`TimelineCounts`] when `enabled`; otherwise reads nothing and
/// counts nothing, so that a search can always carry it.
pub struct Timeline {
    /// Whether to count.
    pub enabled: bool,
}

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

/// The widest span of days one segment counts in `days` (about 550
/// years); days beyond it are counted one by one.
const MAX_DAYS: usize = 200_000;

pub struct TimelineSegment {
    /// First shown and active, when counting.
    columns: Option<(Column<i64>, Column<u64>)>,
    /// Ads per day since the epoch, from `first_day` on: a segment's ads
    /// start within a few years, so a day is one index, and each day is
    /// turned into its month once, at the end.
    days: Vec<u64>,
    first_day: i64,
    /// Days too far from the others for `days`.
    outliers: HashMap<i64, u64>,
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
        let columns = if self.enabled {
            Some((fast.i64("first_shown")?, fast.u64("active")?))
        } else {
            None
        };
        Ok(TimelineSegment {
            columns,
            days: Vec::new(),
            first_day: 0,
            outliers: HashMap::new(),
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
        let Some((first_shown, active)) = &self.columns else {
            return;
        };
        if active.first(doc) == Some(1) {
            self.running += 1;
        } else {
            self.ended += 1;
        }
        match first_shown.first(doc) {
            Some(seconds) if seconds != i64::MIN => {
                let day = seconds.div_euclid(86_400);
                if self.days.is_empty() {
                    self.first_day = day;
                }
                if day < self.first_day {
                    let earlier = usize::try_from(self.first_day - day).unwrap_or(usize::MAX);
                    if earlier.saturating_add(self.days.len()) > MAX_DAYS {
                        *self.outliers.entry(day).or_insert(0) += 1;
                        return;
                    }
                    self.days.splice(0..0, std::iter::repeat_n(0, earlier));
                    self.first_day = day;
                }
                let at = usize::try_from(day - self.first_day).unwrap_or(usize::MAX);
                if at >= self.days.len() {
                    if at > MAX_DAYS {
                        *self.outliers.entry(day).or_insert(0) += 1;
                        return;
                    }
                    self.days.resize(at + 1, 0);
                }
                self.days[at] += 1;
            }
            _ => {}
        }
    }

    fn harvest(self) -> TimelineCounts {
        let mut months = BTreeMap::new();
        let first_day = self.first_day;
        let days = self
            .days
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(i, n)| (first_day + i as i64, n))
            .chain(self.outliers);
        for (day, n) in days {
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
