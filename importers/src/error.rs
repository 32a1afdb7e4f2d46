use std::io;

/// Why a receiver stopped a read.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// A failure that stops reading a whole file. Bad rows are not errors: they
/// are reported as [`crate::Problem`]s and the read goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
    /// The file has no content.
    #[error("the file is empty")]
    Empty,
    /// The file is not of the format it was read as.
    #[error("not a {format} file: {reason}")]
    WrongFormat {
        /// The format tried.
        format: &'static str,
        /// What did not fit, e.g. a missing column.
        reason: String,
    },
    /// The receiver of records failed (for example, the archive could not write).
    #[error("{0}")]
    Sink(SinkError),
}
