//! Deleting documents by one term, with little memory per deletion.

use tantivy::query::{ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentReader, TantivyError, Term};

/// The documents holding one term (an ad's uid), as a deletion.
///
/// tantivy keeps every deletion's weight until the commit, and
/// `IndexWriter::delete_term` builds a full term weight for it — a relevance
/// cache and an explanation, about 1.2 KB — so that an import updating
/// 220,000 ads held a quarter of a gigabyte of them. This weight is the
/// term alone.
///
/// ```
/// use adarchive::index::deletion::TermDeletion;
/// use tantivy::schema::{Schema, STRING};
/// use tantivy::{doc, Index, Term};
///
/// let mut schema = Schema::builder();
/// let uid = schema.add_text_field("uid", STRING);
/// let index = Index::create_in_ram(schema.build());
/// let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
/// writer.add_document(doc!(uid => "snap:1")).unwrap();
/// writer.add_document(doc!(uid => "snap:2")).unwrap();
/// writer.commit().unwrap();
/// let deletion = TermDeletion::new(Term::from_field_text(uid, "snap:1"));
/// writer.delete_query(Box::new(deletion)).unwrap();
/// writer.commit().unwrap();
/// let reader = index.reader().unwrap();
/// reader.reload().unwrap();
/// assert_eq!(reader.searcher().num_docs(), 1);
/// ```
#[derive(Clone, Debug)]
pub struct TermDeletion(Term);

impl TermDeletion {
    /// The deletion of every document holding `term`.
    pub fn new(term: Term) -> Self {
        TermDeletion(term)
    }
}

impl Query for TermDeletion {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for TermDeletion {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let postings = reader
            .inverted_index(self.0.field())?
            .read_postings(&self.0, IndexRecordOption::Basic)?;
        Ok(match postings {
            Some(postings) => Box::new(ConstScorer::new(postings, boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, _reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        Err(TantivyError::InvalidArgument(format!(
            "document {doc}: a deletion does not score"
        )))
    }
}
