//! The tantivy index over the latest version of every ad.
//!
//! The index is derived from the archive and lives beside it in
//! `<data>/index/`. Import keeps it current: each new or changed ad replaces
//! its document (by uid), and the index is committed only after the
//! archive's own durable commit, with the number of sources it reflects as
//! the commit payload. The index is therefore never ahead of the archive; if
//! a crash leaves it behind, the next import catches up, `verify` reports
//! it, and `rebuild` recreates it.

pub mod deletion;
pub mod ordinals;
pub mod schema;
pub mod tokenizer;

use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use adarchive_schema::{Ad, RecordHash};
use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::indexer::LogMergePolicy;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use schema::Fields;

use deletion::TermDeletion;

/// Heap for the index writer; the writer flushes segments when it fills.
/// Smaller segments are merged more often, but on two cores a 24 MiB heap
/// indexes as fast as 96 MiB, and keeps an import's memory bounded.
const WRITER_MEMORY: usize = 24 * 1024 * 1024;
/// Segments with more documents are not merged further.
const MAX_DOCS_MERGED: usize = 300_000;

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index folder could not be opened.
    #[error("search index at {path}: {reason}")]
    Open {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What the last index commit reflects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexState {
    /// Sources of the archive (by import sequence) reflected in the index.
    pub sources: u64,
}

/// The search index of one archive.
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    writer: Arc<Mutex<Option<IndexWriter>>>,
    recreated: bool,
    ordinals: ordinals::OrdinalsCache,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when absent. An index built
    /// with another schema (by an earlier adarchive) is removed and created
    /// empty: it is derived data, and [`SearchIndex::was_recreated`] tells
    /// the caller to fill it again from the archive.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        let cannot = |e: std::io::Error| IndexError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        let fields = Fields::new();
        let outdated = dir.join("meta.json").exists()
            && Index::open_in_dir(dir).is_ok_and(|old| old.schema() != fields.schema);
        if outdated {
            std::fs::remove_dir_all(dir).map_err(cannot)?;
        }
        std::fs::create_dir_all(dir).map_err(cannot)?;
        let directory = MmapDirectory::open(dir).map_err(|e| IndexError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut index = Index::open_or_create(directory, fields.schema.clone())?;
        // Searches may spread their segments over every core (see
        // `SearchRequest::parallel`).
        index.set_default_multithread_executor()?;
        index
            .tokenizers()
            .register(tokenizer::ANALYZER, tokenizer::analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            fields,
            reader,
            writer: Arc::new(Mutex::new(None)),
            recreated: outdated,
            ordinals: ordinals::OrdinalsCache::default(),
        })
    }

    /// Whether [`SearchIndex::open`] found an index of another schema and
    /// replaced it with an empty one.
    pub fn was_recreated(&self) -> bool {
        self.recreated
    }

    /// The fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The global ordinals of keyword column `field` for `searcher`, kept
    /// while its segments stay the same.
    pub fn global_ordinals(
        &self,
        searcher: &tantivy::Searcher,
        field: &str,
    ) -> tantivy::Result<Arc<ordinals::GlobalOrdinals>> {
        self.ordinals.get(searcher, field)
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// What the last commit reflects.
    pub fn state(&self) -> Result<IndexState, IndexError> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default())
    }

    /// Starts (or continues) a batch of updates.
    pub fn begin(&self) -> Result<Updates<'_>, IndexError> {
        let mut guard = lock(&self.writer);
        if guard.is_none() {
            let writer: IndexWriter = self.index.writer_with_num_threads(1, WRITER_MEMORY)?;
            // Merging stops at segments of this many documents: larger merges
            // would map whole segments into memory for little gain in speed.
            let mut policy = LogMergePolicy::default();
            policy.set_max_docs_before_merge(MAX_DOCS_MERGED);
            writer.set_merge_policy(Box::new(policy));
            *guard = Some(writer);
        }
        drop(guard);
        let writer = Arc::clone(&self.writer);
        let (ops, received) = sync_channel::<Vec<Op>>(QUEUED_DOCUMENTS / OPS_PER_SEND);
        let thread = std::thread::Builder::new()
            .name("index-feed".into())
            .spawn(move || feed(&writer, received))
            .map_err(|e| IndexError::Open {
                path: "index-feed".into(),
                reason: e.to_string(),
            })?;
        Ok(Updates {
            index: self,
            feeder: Mutex::new(Some(Feeder {
                pending: Vec::with_capacity(OPS_PER_SEND),
                ops,
                thread,
            })),
        })
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter) -> T) -> Option<T> {
        with_writer(&self.writer, f)
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.searcher().num_docs()
    }
}

fn with_writer<T>(
    writer: &Mutex<Option<IndexWriter>>,
    f: impl FnOnce(&mut IndexWriter) -> T,
) -> Option<T> {
    lock(writer).as_mut().map(f)
}

/// Hands queued changes to the index writer, in order, one batch per lock.
fn feed(
    writer: &Mutex<Option<IndexWriter>>,
    received: std::sync::mpsc::Receiver<Vec<Op>>,
) -> Result<(), IndexError> {
    for batch in received {
        with_writer(writer, |w| -> Result<(), IndexError> {
            for op in batch {
                match op {
                    Op::Upsert { replaces, doc } => {
                        if let Some(term) = replaces {
                            w.delete_query(Box::new(TermDeletion::new(term)))?;
                        }
                        w.add_document(doc)?;
                    }
                    Op::Remove(term) => {
                        w.delete_query(Box::new(TermDeletion::new(term)))?;
                    }
                    Op::Clear => {
                        w.delete_all_documents()?;
                    }
                }
            }
            Ok(())
        })
        .unwrap_or(Ok(()))?;
    }
    Ok(())
}

/// Documents waiting for the index writer. tantivy's own queue is short:
/// while its thread writes out a segment, importing would stop; this queue
/// lets the archive go on meanwhile. A segment of [`WRITER_MEMORY`] is
/// written in a fraction of a second, which these cover; each document
/// holds its ad's text, so a longer queue costs memory and gains nothing.
const QUEUED_DOCUMENTS: usize = 1024;
/// Changes handed over at once: one wake-up of the feeding thread each.
const OPS_PER_SEND: usize = 256;

/// One change waiting for the index writer, in order.
enum Op {
    Upsert {
        /// The uid term whose older document this one replaces.
        replaces: Option<Term>,
        doc: TantivyDocument,
    },
    Remove(Term),
    Clear,
}

/// The thread that hands queued changes to the index writer.
struct Feeder {
    /// Changes not yet handed over.
    pending: Vec<Op>,
    ops: SyncSender<Vec<Op>>,
    thread: JoinHandle<Result<(), IndexError>>,
}

/// Pending updates; nothing is visible until [`Updates::commit`].
pub struct Updates<'a> {
    index: &'a SearchIndex,
    feeder: Mutex<Option<Feeder>>,
}

impl Drop for Updates<'_> {
    fn drop(&mut self) {
        let _ = self.drain();
    }
}

impl Updates<'_> {
    /// The document for an ad whose record hashes to `record_hash`.
    pub fn document(&self, ad: &Ad, record_hash: &RecordHash) -> TantivyDocument {
        self.index.fields.document(ad, record_hash)
    }

    /// Adds an ad's listing status to its document (see
    /// [`Fields::add_status`]).
    pub fn add_status(&self, doc: &mut TantivyDocument, status: &str) {
        self.index.fields.add_status(doc, status);
    }

    /// Adds the latest version of an ad, replacing the document it had.
    pub fn upsert(
        &self,
        uid: &str,
        doc: TantivyDocument,
        replaces: bool,
    ) -> Result<(), IndexError> {
        let replaces = replaces.then(|| Term::from_field_text(self.index.fields.uid, uid));
        self.send(Op::Upsert { replaces, doc })
    }

    /// Removes the document of the ad `uid`, if it has one.
    pub fn remove(&self, uid: &str) -> Result<(), IndexError> {
        self.send(Op::Remove(Term::from_field_text(
            self.index.fields.uid,
            uid,
        )))
    }

    /// Removes every document.
    pub fn clear(&self) -> Result<(), IndexError> {
        self.send(Op::Clear)
    }

    fn send(&self, op: Op) -> Result<(), IndexError> {
        let sent = match &mut *lock(&self.feeder) {
            Some(feeder) => {
                feeder.pending.push(op);
                feeder.pending.len() < OPS_PER_SEND || {
                    let full =
                        std::mem::replace(&mut feeder.pending, Vec::with_capacity(OPS_PER_SEND));
                    feeder.ops.send(full).is_ok()
                }
            }
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The feeding thread stopped: its error says why.
        self.drain()?;
        Err(stopped())
    }

    /// Waits until the writer has every queued change.
    fn drain(&self) -> Result<(), IndexError> {
        let Some(Feeder {
            pending,
            ops,
            thread,
        }) = lock(&self.feeder).take()
        else {
            return Ok(());
        };
        if !pending.is_empty() {
            // A failed send means the thread stopped; joining tells why.
            let _ = ops.send(pending);
        }
        drop(ops);
        thread.join().unwrap_or_else(|_| Err(stopped()))
    }

    /// Commits like [`Updates::commit`], but only once `durable` has
    /// succeeded: the pending documents are written out while `durable`
    /// runs on another thread (it makes the archive durable, which the
    /// index must never be ahead of), and are published only after it.
    /// When `durable` fails, nothing is published.
    pub fn commit_after<E: From<IndexError> + Send>(
        self,
        state: IndexState,
        durable: impl FnOnce() -> Result<(), E> + Send,
    ) -> Result<(), E> {
        self.drain()?;
        let payload = serde_json::to_string(&state).unwrap_or_default();
        let published = std::thread::scope(|scope| -> Result<bool, E> {
            let mut waiting = Some(scope.spawn(durable));
            let mut wait = || match waiting.take() {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => Ok(()),
            };
            let written = self.index.with_writer(|w| -> Result<(), E> {
                let mut prepared = w.prepare_commit().map_err(IndexError::from)?;
                prepared.set_payload(&payload);
                match wait() {
                    Ok(()) => {
                        prepared.commit().map_err(IndexError::from)?;
                        Ok(())
                    }
                    Err(e) => {
                        prepared.abort().map_err(IndexError::from)?;
                        Err(e)
                    }
                }
            });
            match written {
                Some(result) => result.map(|()| true),
                None => wait().map(|()| false),
            }
        })?;
        if published {
            self.index.reader.reload().map_err(IndexError::from)?;
        }
        Ok(())
    }

    /// Commits, recording what the index now reflects, and makes it visible.
    pub fn commit(self, state: IndexState) -> Result<(), IndexError> {
        self.drain()?;
        let payload = serde_json::to_string(&state).unwrap_or_default();
        self.index
            .with_writer(|w| -> Result<(), tantivy::TantivyError> {
                let mut prepared = w.prepare_commit()?;
                prepared.set_payload(&payload);
                prepared.commit()?;
                Ok(())
            })
            .unwrap_or(Ok(()))?;
        self.index.reader.reload()?;
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn stopped() -> IndexError {
    IndexError::Tantivy(tantivy::TantivyError::SystemError(
        "the thread feeding the index writer stopped".into(),
    ))
}
