//! The archive's transparency log: one entry per archived source, in
//! archive order, in a Merkle tree hashed as RFC 6962 and RFC 9162 define,
//! with a signed checkpoint after every source, readable by any client of
//! the C2SP `tlog-tiles` and `tlog-checkpoint` specifications.
//!
//! The log lives in the archive's database: a source's entry, the tree's
//! new hashes and the checkpoint of the grown tree are written in the
//! transaction that adds the source to the manifest, so a crash can never
//! leave the two disagreeing. Entry `n` is the source with import sequence
//! number `n`.
//!
//! The format work is done by the `tlog_tiles` (tree hashes, proofs,
//! tiles, checkpoints) and `signed_note` (signatures) crates; this module
//! stores, serves and names.
//!
//! ```
//! use adarchive::tlog::TilePath;
//! let path = TilePath::parse("0/x001/234.p/5").unwrap();
//! assert_eq!(path.to_string(), "0/x001/234.p/5");
//! assert_eq!(path.index, 1234);
//! assert_eq!(path.width, 5);
//! assert!(TilePath::parse("0/1234").is_none(), "not three digits");
//! ```

use redb::ReadableDatabase;

mod entry;
mod key;
mod paths;
mod remote;
mod store;
mod verify;
mod witness;

pub use entry::LogEntry;
pub use key::{LogKey, DEFAULT_ORIGIN_PREFIX};
pub use paths::{TileKind, TilePath, TILE_HEIGHT, TILE_WIDTH};
pub use remote::{fetch_view, RemoteError};
pub(crate) use store::{append, copy_log, create_tables, logged};
pub use store::{
    checkpoint, consistency_proof, entry_at, inclusion_proof, tile_data, tree_size, verifier_key,
    Proof,
};
pub use verify::{bundles_of, split_bundle, tiles_of, verify_log, LogReport, LogView};
pub use witness::{add_checkpoint_request, check_cosignature, Witness, WitnessAnswer, WitnessKey};

/// What went wrong with the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The database failed.
    #[error("archive database: {0}")]
    Database(#[from] redb::Error),
    /// The tree's hashes do not fit together: the log is damaged.
    #[error("transparency log: {0}")]
    Tree(String),
    /// The signing key could not be read, made or used.
    #[error("transparency log key {path}: {reason}")]
    Key {
        /// The key's file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// The origin asked for is not the one the log was made with, or not
    /// a valid name.
    #[error("transparency log origin: {0}")]
    Origin(String),
    /// The log and the manifest disagree.
    #[error("transparency log entry {index}: {reason}")]
    Disagrees {
        /// The entry.
        index: u64,
        /// How.
        reason: String,
    },
    /// A proof was asked for sizes or indexes that no tree can have.
    #[error("{0}")]
    OutOfRange(String),
    /// A proof was asked for a tree larger than the log is yet.
    #[error("{0}")]
    NotYet(String),
}

impl From<tlog_tiles::Error> for LogError {
    fn from(e: tlog_tiles::Error) -> Self {
        LogError::Tree(e.to_string())
    }
}

macro_rules! log_from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for LogError {
            fn from(e: $t) -> Self {
                LogError::Database(e.into())
            }
        }
    )*};
}

log_from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Hashes as checkpoints write them: standard base64.
pub fn base64_hashes(hashes: &[tlog_tiles::Hash]) -> Vec<String> {
    use base64::Engine;
    hashes
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.encode(h.0))
        .collect()
}

/// Where the log holds some sources, proved against one checkpoint.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogInclusion {
    /// The signed checkpoint every proof leads to (its size and root).
    pub checkpoint: String,
    /// The size of that checkpoint's tree.
    pub tree_size: u64,
    /// Each source's entry and its inclusion proof.
    pub sources: Vec<SourceInclusion>,
}

/// One source's entry in the log.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceInclusion {
    /// The source (blake3 of the stored bytes).
    pub blake3: String,
    /// Its entry's index: its import sequence number.
    pub log_index: u64,
    /// The entry's text, as hashed into the tree.
    pub entry: String,
    /// The RFC 9162 inclusion proof of the entry in the checkpoint's tree,
    /// base64 hashes in order.
    pub inclusion_proof: Vec<String>,
}

/// The entries and inclusion proofs of `sources`, against the newest
/// checkpoint, all read in `txn`; `None` while the log is empty.
pub fn inclusion_of(
    txn: &redb::ReadTransaction,
    sources: &[crate::archive::SourceEntry],
) -> Result<Option<LogInclusion>, LogError> {
    let size = tree_size(txn)?;
    let Some(note) = checkpoint(txn)? else {
        return Ok(None);
    };
    let mut proved = Vec::new();
    for source in sources.iter().filter(|s| s.seq < size) {
        let Some(entry) = entry_at(txn, source.seq)? else {
            continue;
        };
        let proof = inclusion_proof(txn, size, source.seq)?;
        proved.push(SourceInclusion {
            blake3: source.blake3.clone(),
            log_index: source.seq,
            entry: String::from_utf8_lossy(&entry).into_owned(),
            inclusion_proof: base64_hashes(&proof.hashes),
        });
    }
    Ok(Some(LogInclusion {
        checkpoint: String::from_utf8_lossy(&note).into_owned(),
        tree_size: size,
        sources: proved,
    }))
}

impl crate::archive::Archive {
    /// The log's newest signed checkpoint; `None` while it is empty.
    pub fn log_checkpoint(&self) -> crate::Result<Option<Vec<u8>>> {
        Ok(checkpoint(&self.db().begin_read()?)?)
    }

    /// The verifier key of the log's checkpoints; `None` while it is empty.
    pub fn log_verifier_key(&self) -> crate::Result<Option<String>> {
        Ok(verifier_key(&self.db().begin_read()?)?)
    }

    /// A tile or entry bundle of the log as it is now; `None` when the log
    /// does not have it (yet).
    pub fn log_tile(&self, tile: &TilePath) -> crate::Result<Option<Vec<u8>>> {
        let txn = self.db().begin_read()?;
        let size = tree_size(&txn)?;
        Ok(tile_data(&txn, size, tile)?)
    }

    /// The proof that entry `index` is in the log as it is now.
    pub fn log_inclusion(&self, index: u64) -> crate::Result<Proof> {
        let txn = self.db().begin_read()?;
        let size = tree_size(&txn)?;
        Ok(inclusion_proof(&txn, size, index)?)
    }

    /// The proof that the log of `from` entries is a prefix of the log of
    /// `to` entries.
    pub fn log_consistency(&self, from: u64, to: u64) -> crate::Result<Proof> {
        Ok(consistency_proof(&self.db().begin_read()?, from, to)?)
    }

    /// Everything the log shows of itself, with the manifest beside it.
    pub fn log_view(&self) -> crate::Result<LogView> {
        let manifest = self
            .sources()?
            .into_iter()
            .map(|s| (s.seq, s.blake3, s.size))
            .collect();
        Ok(store::view(&self.db().begin_read()?, manifest)?)
    }

    /// Checks the log (see [`verify_log`]); also that the key it names is
    /// the one kept in the data folder.
    pub fn verify_log(
        &self,
        trusted_key: Option<&str>,
        since: Option<&[u8]>,
    ) -> crate::Result<LogReport> {
        let view = self.log_view()?;
        let mut report = verify_log(&view, trusted_key, since);
        if view.entries.is_empty() {
            return Ok(report);
        }
        match key::LogKey::read(&self.log_key_path()) {
            Ok(kept) if kept.verifier_key() == view.verifier_key => {}
            Ok(kept) => report.problems.push(format!(
                "the signing key in {} is {}, but the log is signed by {}: the key was swapped",
                self.log_key_path().display(),
                kept.verifier_key(),
                view.verifier_key
            )),
            Err(e) => report.problems.push(e.to_string()),
        }
        Ok(report)
    }
}
