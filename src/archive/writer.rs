//! The one way a source enters the archive.
//!
//! [`Archive::begin_source`] puts a staged file in place under its hash and
//! opens the source's transaction; the [`SourceWriter`] it returns derives
//! the source's rows into that transaction and then either commits them
//! with the manifest entry and the quarantine file, or abandons them and
//! takes the placed bytes back. Import, bundle members and `rebuild` all
//! write through it, so the order of those steps — bytes in place, rows,
//! manifest, quarantine, commit — is written down once.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use redb::{ReadableTable, WriteTransaction};

use super::derive::{derive_parsed, derive_source, encode, Derived, Parsed, Progress, SourceJob};
use super::listings::{Listing, ListingDraft};
use super::{Archive, SourceEntry, SOURCES, SOURCE_ORDER};
use crate::error::Result;
use crate::index::Updates;

/// One source being written: its transaction and, when this writer put the
/// bytes in place, their path, so that an abandoned source leaves nothing.
pub(crate) struct SourceWriter<'a> {
    archive: &'a Archive,
    txn: WriteTransaction,
    blake3: String,
    placed: Option<PathBuf>,
}

impl Archive {
    /// Begins writing the source `blake3`. `staged` is its fully written
    /// copy in the staging folder, moved into `sources/`; `None` when the
    /// bytes are there already (a rebuild).
    ///
    /// A file already at that path without a manifest entry was left by an
    /// interrupted import and may never have reached the disk whole: the
    /// fresh copy replaces it.
    pub(crate) fn begin_source(
        &self,
        blake3: &str,
        staged: Option<&Path>,
    ) -> Result<SourceWriter<'_>> {
        let placed = match staged {
            Some(tmp) => {
                let path = self.source_path(blake3);
                self.place_file(tmp, &path)?;
                Some(path)
            }
            None => None,
        };
        Ok(SourceWriter {
            archive: self,
            txn: self.db().begin_write()?,
            blake3: blake3.to_owned(),
            placed,
        })
    }

    /// Records another name a known source was imported under.
    pub(crate) fn add_source_name(&self, entry: &SourceEntry, name: &str) -> Result<()> {
        if entry.names.iter().any(|n| n == name) {
            return Ok(());
        }
        let mut entry = entry.clone();
        entry.names.push(name.to_owned());
        let txn = self.db().begin_write()?;
        {
            let mut sources = txn.open_table(SOURCES)?;
            sources.insert(entry.blake3.as_str(), &encode(&entry)[..])?;
        }
        self.commit(txn)
    }
}

impl SourceWriter<'_> {
    /// Derives the rows of the stored source, read on a thread of its own.
    /// `Ok(Err(reason))` when the source cannot be read as a whole: the
    /// writer must then be abandoned.
    pub(crate) fn derive(
        &self,
        job: &SourceJob<'_>,
        progress: &dyn Progress,
        index: Option<&Updates<'_>>,
    ) -> Result<std::result::Result<Derived, String>> {
        derive_source(self.archive, &self.txn, job, progress, index)
    }

    /// Derives the rows a parsing thread already reads (see
    /// [`super::parse_source`]); `outcome` waits for that thread's verdict.
    pub(crate) fn derive_parsed(
        &self,
        job: &SourceJob<'_>,
        parsed: Receiver<Parsed>,
        outcome: impl FnOnce() -> std::result::Result<(), String>,
        progress: &dyn Progress,
        index: Option<&Updates<'_>>,
    ) -> Result<std::result::Result<Derived, String>> {
        derive_parsed(
            self.archive,
            &self.txn,
            job,
            parsed,
            outcome,
            progress,
            index,
        )
    }

    /// Adds the manifest entry under the next import sequence number, and
    /// for a complete listing what changed since the last listing of its
    /// scope (rewriting the search documents of the ads whose status that
    /// changes into `index`); puts the quarantine file in place, and
    /// commits everything at once. Returns the listing, if the source is one.
    pub(crate) fn commit(
        self,
        mut entry: SourceEntry,
        quarantine: Option<PathBuf>,
        listing: Option<&ListingDraft>,
        index: Option<&Updates<'_>>,
    ) -> Result<Option<Listing>> {
        {
            let mut order = self.txn.open_table(SOURCE_ORDER)?;
            entry.seq = match order.last()? {
                Some((seq, _)) => seq.value() + 1,
                None => 0,
            };
            order.insert(entry.seq, entry.blake3.as_str())?;
            let mut sources = self.txn.open_table(SOURCES)?;
            sources.insert(entry.blake3.as_str(), &encode(&entry)[..])?;
        }
        // The source's log entry and the signed checkpoint of the grown
        // tree go in the same commit as its manifest entry.
        let started = std::time::Instant::now();
        let key = self.archive.log_signing_key()?;
        super::log_sources(&self.txn, entry.seq, key)?;
        crate::tlog::append(&self.txn, entry.seq, &entry, key)?;
        self.archive.add_log_append_time(started.elapsed());
        let started = std::time::Instant::now();
        // The last page of a collection of one query lists the ads of
        // the whole collection.
        let collected = match (
            listing,
            entry.fetched.as_ref().and_then(|f| f.completes.as_ref()),
        ) {
            (Some(last), Some(collected)) => Some(super::listings::draft_collection(
                &self.txn, collected, last,
            )?),
            _ => None,
        };
        let listing = match collected.as_ref().or(listing) {
            // A file that lists nothing (every row refused, a locations
            // report) is no listing: it would make the whole scope absent.
            Some(draft) if draft.rows > 0 => Some(super::listings::record_listing(
                &self.txn, &entry, None, draft, index,
            )?),
            _ => None,
        };
        // The ads a file that is no listing drafted are not kept.
        super::listings::discard_draft(&self.txn)?;
        self.archive.add_listing_time(started.elapsed());
        if let Some(tmp) = quarantine {
            self.archive
                .place_file(&tmp, &self.archive.quarantine_path(&self.blake3))?;
        }
        self.archive.commit(self.txn)?;
        Ok(listing)
    }

    /// Drops the transaction unwritten and takes back the bytes this
    /// writer put in place, so that nothing of a refused source is kept.
    pub(crate) fn abandon(self) -> std::io::Result<()> {
        drop(self.txn);
        match &self.placed {
            Some(path) => self.archive.unplace_file(path),
            None => Ok(()),
        }
    }
}
