//! Global ordinals: one number per distinct value of a keyword column
//! across every segment of a searcher, in the values' byte order.
//!
//! A segment numbers its column's values on its own, so grouping by them
//! across segments would otherwise mean turning every value into a string
//! and hashing it. With global ordinals a grouping counts into one dense
//! array, ranks its groups by number, and reads as strings only the groups
//! it returns. They are built once per field and set of segments (one pass
//! over the segments' sorted dictionaries) and kept until the segments
//! change, as Elasticsearch and Lucene do.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::columnar::StrColumn;
use tantivy::index::SegmentId;
use tantivy::Searcher;

/// Segment ordinals mapped to global ones, for one field of one searcher.
#[derive(Debug, Default)]
pub struct GlobalOrdinals {
    /// The segments, in the searcher's order, these were built for.
    segments: Vec<SegmentId>,
    /// Per segment, per segment ordinal: the global ordinal.
    by_segment: Vec<Vec<u32>>,
    /// Distinct values in all segments.
    count: usize,
}

impl GlobalOrdinals {
    /// Builds them for `field` over the segments of `searcher` by merging
    /// the segments' sorted dictionaries.
    ///
    /// ```
    /// use adarchive::index::ordinals::GlobalOrdinals;
    /// let dir = tempfile::tempdir().unwrap();
    /// let index = adarchive::index::SearchIndex::open(dir.path()).unwrap();
    /// let ords = GlobalOrdinals::build(&index.searcher(), "country").unwrap();
    /// assert_eq!(ords.count(), 0);
    /// ```
    pub fn build(searcher: &Searcher, field: &str) -> tantivy::Result<GlobalOrdinals> {
        let readers = searcher.segment_readers();
        let mut columns: Vec<Option<StrColumn>> = Vec::with_capacity(readers.len());
        for reader in readers {
            columns.push(reader.fast_fields().str(field)?);
        }
        let mut by_segment: Vec<Vec<u32>> = columns
            .iter()
            .map(|c| vec![0; c.as_ref().map_or(0, |c| c.dictionary().num_terms())])
            .collect();
        let mut streams = Vec::with_capacity(columns.len());
        for column in columns.iter().flatten() {
            streams.push(Some(column.dictionary().stream()?));
        }
        // Which stream belongs to which segment (segments without the
        // column have none).
        let stream_segment: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i)
            .collect();
        // The smallest current key of every stream, smallest first.
        let mut heap: BinaryHeap<Reverse<(Vec<u8>, usize)>> = BinaryHeap::new();
        for (i, stream) in streams.iter_mut().enumerate() {
            if let Some(s) = stream {
                if s.advance() {
                    heap.push(Reverse((s.key().to_vec(), i)));
                } else {
                    *stream = None;
                }
            }
        }
        let mut count: usize = 0;
        let mut last: Option<Vec<u8>> = None;
        while let Some(Reverse((key, i))) = heap.pop() {
            // The popped key's buffer carries the stream's next key.
            let mut buffer = if last.as_deref() == Some(key.as_slice()) {
                key
            } else {
                count += 1;
                last.replace(key).unwrap_or_default()
            };
            let Some(stream) = streams[i].as_mut() else {
                continue;
            };
            let global = u32::try_from(count - 1).map_err(|_| {
                tantivy::TantivyError::InvalidArgument(format!(
                    "`{field}` has more than {} distinct values",
                    u32::MAX
                ))
            })?;
            if let Some(slot) = by_segment[stream_segment[i]].get_mut(stream.term_ord() as usize) {
                *slot = global;
            }
            if stream.advance() {
                buffer.clear();
                buffer.extend_from_slice(stream.key());
                heap.push(Reverse((buffer, i)));
            } else {
                streams[i] = None;
            }
        }
        Ok(GlobalOrdinals {
            segments: readers.iter().map(|r| r.segment_id()).collect(),
            by_segment,
            count,
        })
    }

    /// Distinct values across the segments.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The global ordinal of each ordinal of segment `segment` (by its
    /// position in the searcher).
    pub fn of_segment(&self, segment: usize) -> &[u32] {
        self.by_segment.get(segment).map_or(&[], Vec::as_slice)
    }

    fn built_for(&self, searcher: &Searcher) -> bool {
        let readers = searcher.segment_readers();
        readers.len() == self.segments.len()
            && readers
                .iter()
                .zip(&self.segments)
                .all(|(r, s)| r.segment_id() == *s)
    }
}

/// Global ordinals per field, kept while the searcher's segments stay the
/// same.
#[derive(Debug, Default)]
pub struct OrdinalsCache {
    fields: Mutex<HashMap<String, Arc<GlobalOrdinals>>>,
}

impl OrdinalsCache {
    /// The global ordinals of `field` for `searcher`, built when its
    /// segments differ from the last ones seen.
    pub fn get(&self, searcher: &Searcher, field: &str) -> tantivy::Result<Arc<GlobalOrdinals>> {
        // Held while building, so that concurrent requests build once.
        let mut fields = self
            .fields
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ords) = fields.get(field).filter(|o| o.built_for(searcher)) {
            return Ok(Arc::clone(ords));
        }
        let ords = Arc::new(GlobalOrdinals::build(searcher, field)?);
        fields.insert(field.to_owned(), Arc::clone(&ords));
        Ok(ords)
    }
}
