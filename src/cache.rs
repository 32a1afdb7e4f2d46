//! Answers kept for the next identical request, until the archive changes.
//!
//! Totals and facet counts are exact, and computing them over a large
//! archive costs a search over every match; many readers ask the same
//! things (the front page, a candidate's name, a country). So the answers
//! are kept, keyed by the normalized request, for one generation of the
//! archive: the number of sources it holds and the search index's commit.
//! The first request after an import commits sees a new generation and
//! empties the cache. The cache is bounded in bytes and forgets the least
//! recently used answers first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use serde::Serialize;

/// What answers are valid for: the archive's sources and the index's
/// commit, both of which change when an import commits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generation {
    /// Sources in the manifest.
    pub sources: u64,
    /// The generation of the index's searcher.
    pub searcher: u64,
}

/// One kept answer: its bytes and whatever the caller needs to give it
/// again (for the server, its headers).
#[derive(Debug)]
pub struct Kept<M> {
    /// The answer as sent.
    pub body: Vec<u8>,
    /// What goes with it.
    pub meta: M,
}

/// Counters of a cache, for `/healthz` and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CacheStats {
    /// Answers kept.
    pub entries: u64,
    /// Bytes they take.
    pub bytes: u64,
    /// The most they may take.
    pub budget: u64,
    /// Requests answered from the cache since the server started.
    pub hits: u64,
    /// Requests that were not.
    pub misses: u64,
}

/// Answers by normalized request, for the current generation.
pub struct ResultCache<M> {
    budget: usize,
    state: Mutex<State<M>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct State<M> {
    generation: Generation,
    answers: LruCache<String, Arc<Kept<M>>>,
    bytes: usize,
}

/// What an entry costs beyond its body: its key, and the bookkeeping.
fn weight<M>(key: &str, kept: &Kept<M>) -> usize {
    key.len() + kept.body.len() + std::mem::size_of::<Kept<M>>() + 64
}

impl<M> ResultCache<M> {
    /// A cache of at most `budget` bytes; 0 keeps nothing.
    pub fn new(budget: usize) -> Self {
        ResultCache {
            budget,
            state: Mutex::new(State {
                generation: Generation::default(),
                answers: LruCache::unbounded(),
                bytes: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<M>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer kept for `key` in `generation`. A generation other than
    /// the cache's empties it: the archive has changed.
    ///
    /// ```
    /// use adarchive::cache::{Generation, Kept, ResultCache};
    /// let cache = ResultCache::new(1 << 20);
    /// let now = Generation { sources: 3, searcher: 1 };
    /// assert!(cache.get(now, "/v1/ads?q=vote").is_none());
    /// cache.put(now, "/v1/ads?q=vote".into(), Kept { body: b"{}".to_vec(), meta: () });
    /// assert!(cache.get(now, "/v1/ads?q=vote").is_some());
    /// let after_an_import = Generation { sources: 4, searcher: 2 };
    /// assert!(cache.get(after_an_import, "/v1/ads?q=vote").is_none());
    /// assert_eq!(cache.stats().entries, 0);
    /// ```
    pub fn get(&self, generation: Generation, key: &str) -> Option<Arc<Kept<M>>> {
        if self.budget == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut state = self.lock();
        if state.generation != generation {
            state.answers.clear();
            state.bytes = 0;
            state.generation = generation;
        }
        let found = state.answers.get(key).cloned();
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `kept` for `key`, computed in `generation`, the one the
    /// request asked [`ResultCache::get`] in; an answer of another
    /// generation than the cache's (the archive changed meanwhile), or
    /// larger than an eighth of the budget, is not kept. Forgets the least recently used answers to make room.
    pub fn put(&self, generation: Generation, key: String, kept: Kept<M>) {
        let cost = weight(&key, &kept);
        if cost > self.budget / 8 {
            return;
        }
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if let Some(old) = state.answers.put(key.clone(), Arc::new(kept)) {
            state.bytes -= weight(&key, &old);
        }
        state.bytes += cost;
        while state.bytes > self.budget {
            match state.answers.pop_lru() {
                Some((k, v)) => state.bytes -= weight(&k, &v),
                None => break,
            }
        }
    }

    /// Its counters now.
    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            entries: state.answers.len() as u64,
            bytes: state.bytes as u64,
            budget: self.budget as u64,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The key of a request: its path and its query's parameters in order of
/// name (the values of a repeated name keep their order), so that the
/// same question asked in another order is the same key.
///
/// ```
/// use adarchive::cache::request_key;
/// assert_eq!(
///     request_key("/v1/ads", "q=vote&country=NL&platform=meta"),
///     request_key("/v1/ads", "platform=meta&q=vote&country=NL"),
/// );
/// assert_ne!(request_key("/v1/ads", "q=vote"), request_key("/", "q=vote"));
/// ```
pub fn request_key(path: &str, query: &str) -> String {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let normalized = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{path}?{normalized}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(n: usize) -> Kept<()> {
        Kept {
            body: vec![b'x'; n],
            meta: (),
        }
    }

    #[test]
    fn bounded_in_bytes_least_recently_used_first() {
        let cache = ResultCache::new(8_000);
        let g = Generation::default();
        for i in 0..20 {
            cache.put(g, format!("k{i}"), kept(500));
            // k0 stays in use.
            assert!(cache.get(g, "k0").is_some());
        }
        let stats = cache.stats();
        assert!(stats.bytes <= 8_000, "{stats:?}");
        assert!(stats.entries < 20);
        assert!(cache.get(g, "k0").is_some(), "the one in use is kept");
        assert!(cache.get(g, "k1").is_none(), "the oldest unused went first");
        assert!(cache.get(g, "k19").is_some());
        // Too large for a share of the budget: not kept.
        cache.put(g, "big".into(), kept(1_500));
        assert!(cache.get(g, "big").is_none());
    }

    #[test]
    fn an_answer_of_an_older_generation_is_not_kept() {
        let cache = ResultCache::new(1 << 20);
        let (old, new) = (
            Generation {
                sources: 1,
                searcher: 1,
            },
            Generation {
                sources: 2,
                searcher: 2,
            },
        );
        assert!(cache.get(new, "k").is_none());
        cache.put(old, "k".into(), kept(10));
        assert!(cache.get(new, "k").is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (0, 2));
        let off = ResultCache::new(0);
        off.put(new, "k".into(), kept(1));
        assert!(off.get(new, "k").is_none());
    }
}
