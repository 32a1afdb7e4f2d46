use std::io;
use std::path::PathBuf;

/// Errors of the archive core. File-level problems carry the path they
/// concern; row-level problems are never errors (they go to quarantine).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The archive database failed.
    #[error("archive database: {0}")]
    Database(#[from] redb::Error),
    /// Another process has the archive open for writing.
    #[error("the archive at {0} is in use by another adarchive process")]
    Busy(PathBuf),
    /// Stored metadata could not be decoded: the archive is damaged.
    #[error("damaged archive entry {what}: {reason}")]
    Damaged {
        /// Which entry.
        what: String,
        /// Why it could not be read.
        reason: String,
    },
    /// The archive was opened without its search index (only `rebuild`
    /// opens one so, for a database it is writing), and a search was asked.
    #[error("the archive at {0} was opened without its search index")]
    NoSearchIndex(PathBuf),
    /// The search index failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// The transparency log failed.
    #[error(transparent)]
    Log(#[from] crate::tlog::LogError),
    /// A zip bundle could not be opened.
    #[error("{path}: not a readable zip bundle: {reason}")]
    Zip {
        /// The bundle.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
}

/// Result with the archive's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Database(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);
