//! Bounded work: a request's deadline, checked inside the loops that visit
//! matches, and cancelled when whoever asked has gone away.
//!
//! The core knows nothing of HTTP: an edge hands a [`Deadline`] in with the
//! request and cancels it (for the API, when the client disconnects: see
//! [`Deadline::cancel_on_drop`]). Every query run by the search core is
//! wrapped in a [`DeadlineQuery`], whose scorers stop handing out matches
//! once the deadline has passed; the search then fails with
//! [`SearchError::DeadlineExceeded`](super::SearchError) instead of
//! answering with a part of the matches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, COLLECT_BLOCK_BUFFER_LEN, TERMINATED};

/// Matches visited between two looks at the clock.
const CHECK_EVERY: u32 = 4096;

/// When a request's work must stop. The default never stops.
///
/// ```
/// use std::time::Duration;
/// use adarchive::search::Deadline;
/// let deadline = Deadline::after(Duration::from_secs(60));
/// assert!(!deadline.passed());
/// {
///     let _client = deadline.cancel_on_drop();
/// } // the client went away
/// assert!(deadline.passed());
/// assert!(!Deadline::default().passed());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Deadline(Option<Arc<Limit>>);

#[derive(Debug)]
struct Limit {
    until: Instant,
    cancelled: AtomicBool,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Deadline(Some(Arc::new(Limit {
            until: Instant::now() + budget,
            cancelled: AtomicBool::new(false),
        })))
    }

    /// Stops the work now.
    pub fn cancel(&self) {
        if let Some(limit) = &self.0 {
            limit.cancelled.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the work must stop: the time is up or it was cancelled.
    pub fn passed(&self) -> bool {
        self.0.as_ref().is_some_and(|limit| {
            limit.cancelled.load(Ordering::Relaxed) || Instant::now() >= limit.until
        })
    }

    /// A guard that cancels the work when dropped: held by the future that
    /// answers a client, which is dropped when the client disconnects.
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// Deadlines are not part of what is asked: two requests that differ only
/// in their deadline ask the same.
impl PartialEq for Deadline {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// Cancels a [`Deadline`] when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(Deadline);

impl CancelOnDrop {
    /// Keeps the work going after all (it finished, or it is handed on).
    pub fn disarm(mut self) {
        self.0 = Deadline::default();
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A query whose matching stops at a deadline.
#[derive(Debug)]
pub struct DeadlineQuery {
    inner: Box<dyn Query>,
    deadline: Deadline,
}

impl Clone for DeadlineQuery {
    fn clone(&self) -> Self {
        DeadlineQuery {
            inner: self.inner.box_clone(),
            deadline: self.deadline.clone(),
        }
    }
}

impl DeadlineQuery {
    /// `inner`, stopping at `deadline`.
    pub fn new(inner: Box<dyn Query>, deadline: Deadline) -> Self {
        DeadlineQuery { inner, deadline }
    }
}

impl Query for DeadlineQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(scoring)?;
        if self.deadline.0.is_none() {
            return Ok(inner);
        }
        Ok(Box::new(DeadlineWeight {
            inner,
            deadline: self.deadline.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct DeadlineWeight {
    inner: Box<dyn Weight>,
    deadline: Deadline,
}

impl Weight for DeadlineWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(DeadlineScorer {
            inner: self.inner.scorer(reader, boost)?,
            deadline: self.deadline.clone(),
            countdown: CHECK_EVERY,
            stopped: false,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    // Counting is left to the inner weight: a term counts from its
    // document frequency without visiting a match, and any other count is
    // one pass as cheap as the collection it stands for; the deadline is
    // looked at as soon as it ends.
    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        // The inner weight keeps its own pruning (block-max WAND); past the
        // deadline, a threshold no score reaches makes it skip the rest.
        let mut countdown = CHECK_EVERY;
        let mut stopped = false;
        self.inner
            .for_each_pruning(threshold, reader, &mut |doc, score| {
                if stopped {
                    return Score::MAX;
                }
                countdown -= 1;
                if countdown == 0 {
                    countdown = CHECK_EVERY;
                    if self.deadline.passed() {
                        stopped = true;
                        return Score::MAX;
                    }
                }
                callback(doc, score)
            })
    }
}

struct DeadlineScorer {
    inner: Box<dyn Scorer>,
    deadline: Deadline,
    countdown: u32,
    stopped: bool,
}

impl DeadlineScorer {
    /// Counts `visited` matches against the next look at the clock.
    fn spend(&mut self, visited: u32) -> bool {
        self.countdown = self.countdown.saturating_sub(visited);
        if self.countdown == 0 {
            self.countdown = CHECK_EVERY;
            self.stopped = self.deadline.passed();
        }
        self.stopped
    }
}

impl DocSet for DeadlineScorer {
    fn advance(&mut self) -> DocId {
        if self.stopped || self.spend(1) {
            return TERMINATED;
        }
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.stopped || self.spend(1) {
            return TERMINATED;
        }
        self.inner.seek(target)
    }

    fn fill_buffer(&mut self, buffer: &mut [DocId; COLLECT_BLOCK_BUFFER_LEN]) -> usize {
        if self.stopped || self.spend(COLLECT_BLOCK_BUFFER_LEN as u32) {
            return 0;
        }
        self.inner.fill_buffer(buffer)
    }

    fn doc(&self) -> DocId {
        if self.stopped {
            TERMINATED
        } else {
            self.inner.doc()
        }
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for DeadlineScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, DocSetCollector};
    use tantivy::query::AllQuery;
    use tantivy::schema::{Schema, STRING};
    use tantivy::{doc, Index};

    #[test]
    fn a_passed_deadline_stops_the_matching() {
        let mut schema = Schema::builder();
        let uid = schema.add_text_field("uid", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..20_000 {
            writer.add_document(doc!(uid => i.to_string())).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let open = DeadlineQuery::new(Box::new(AllQuery), Deadline::after(Duration::from_secs(60)));
        assert_eq!(
            searcher.search(&open, &DocSetCollector).unwrap().len(),
            20_000
        );
        let gone = Deadline::after(Duration::from_secs(60));
        gone.cancel();
        let stopped = DeadlineQuery::new(Box::new(AllQuery), gone);
        assert!(searcher.search(&stopped, &DocSetCollector).unwrap().len() < 20_000);
        // Counts are the inner query's own (a term's from its frequency):
        // the search checks the deadline right after.
        assert_eq!(searcher.search(&stopped, &Count).unwrap(), 20_000);
    }
}
