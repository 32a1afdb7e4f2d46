//! Deriving observations, records and versions from one stored source,
//! inside the caller's write transaction. Import and rebuild both run this,
//! which is why a rebuild reproduces every record hash.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use adarchive_importers::{Entry, Importer, ReadError};
use adarchive_schema::{RecordHash, Timestamp};
use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;

use super::{
    latest_value, observation_key, persist, split_latest, tempfile_in, uid_prefixed, Archive,
    Observation, QuarantineEntry, Version, LATEST, OBSERVATIONS, RECORDS, UID_OBSERVATIONS,
    VERSIONS,
};
use crate::error::{Error, IoContext, Result};

/// Told how far the reading of a source has come, for progress bars.
pub trait Progress {
    /// A new file of `len` bytes starts.
    fn start(&self, _name: &str, _len: u64) {}
    /// `offset` bytes of the current file are done.
    fn advance(&self, _offset: u64) {}
    /// The current file is done.
    fn finish(&self) {}
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {}

/// A row that could not be read, as shown in import reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProblemNote {
    /// 1-based line.
    pub line: u64,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

/// How many problems an import report lists one by one; all of them are in
/// the quarantine file.
pub const PROBLEMS_LISTED: usize = 20;

/// What deriving one source produced.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub records: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub unnormalized: u64,
    pub problems: Vec<ProblemNote>,
    /// The quarantine file, written and synced, to be put in place before
    /// the transaction commits.
    pub quarantine_tmp: Option<PathBuf>,
}

/// Derives everything from source `blake3` into `txn`.
///
/// Returns `Ok(Err(reason))` when the source cannot be read as a whole (the
/// caller must then not commit), and `Err` when the archive itself failed.
pub(crate) fn derive_source(
    archive: &Archive,
    txn: &WriteTransaction,
    blake3: &str,
    name: &str,
    importer: &dyn Importer,
    observed_at: Timestamp,
    progress: &dyn Progress,
) -> Result<std::result::Result<Derived, String>> {
    let source_key: [u8; 32] = *blake3::Hash::from_hex(blake3)
        .map_err(|_| super::damaged(blake3, "not a blake3 hash"))?
        .as_bytes();
    let mut records = txn.open_table(RECORDS)?;
    let mut observations = txn.open_table(OBSERVATIONS)?;
    let mut uid_observations = txn.open_table(UID_OBSERVATIONS)?;
    let mut versions = txn.open_table(VERSIONS)?;
    let mut latest = txn.open_table(LATEST)?;

    let mut derived = Derived::default();
    let mut quarantine: Option<(PathBuf, BufWriter<File>)> = None;
    let mut failure: Option<Error> = None;
    let mut ordinal = 0u64;
    let mut reader = archive.open_source(blake3)?;

    let mut on_entry = |entry: Entry<'_>| -> Result<()> {
        match entry {
            Entry::Record(r) => {
                let canonical = r.ad.canonical_json();
                let record_hash = RecordHash::of(&canonical);
                if records.get(&record_hash.0[..])?.is_none() {
                    records.insert(&record_hash.0[..], &canonical[..])?;
                }
                let obs_key = observation_key(&source_key, ordinal);
                let observation = Observation {
                    uid: r.ad.uid.clone(),
                    source_blake3: blake3.to_owned(),
                    ordinal,
                    locator: r.locator,
                    raw_hash: blake3::hash(r.raw).to_hex().to_string(),
                    importer: importer.name().to_owned(),
                    importer_version: importer.version().to_owned(),
                    record_hash,
                    observed_at,
                };
                observations.insert(&obs_key[..], &encode(&observation)[..])?;
                uid_observations.insert(&uid_prefixed(&r.ad.uid, &obs_key)[..], ())?;

                let previous = latest
                    .get(r.ad.uid.as_str())?
                    .and_then(|v| split_latest(v.value()));
                let next_seq = match previous {
                    Some((_, hash)) if hash == record_hash => {
                        derived.unchanged += 1;
                        None
                    }
                    Some((seq, _)) => {
                        derived.updated += 1;
                        Some(seq + 1)
                    }
                    None => {
                        derived.new += 1;
                        Some(0)
                    }
                };
                if let Some(seq) = next_seq {
                    let version = Version {
                        uid: r.ad.uid.clone(),
                        seq,
                        record_hash,
                        supersedes: previous.map(|(_, h)| h),
                        source_blake3: blake3.to_owned(),
                        ordinal,
                        observed_at,
                    };
                    let key = uid_prefixed(&r.ad.uid, &seq.to_be_bytes());
                    versions.insert(&key[..], &encode(&version)[..])?;
                    latest.insert(r.ad.uid.as_str(), &latest_value(seq, &record_hash)[..])?;
                }
                derived.records += 1;
                derived.unnormalized += u64::from(r.unnormalized);
                progress.advance(r.locator.byte_end);
            }
            Entry::Problem(p) => {
                if quarantine.is_none() {
                    let path = tempfile_in(&archive.tmp_dir())?;
                    let file = File::create(&path).at(&path)?;
                    quarantine = Some((path, BufWriter::new(file)));
                }
                let entry = QuarantineEntry {
                    source_blake3: blake3.to_owned(),
                    source_name: name.to_owned(),
                    ordinal,
                    line: p.locator.line,
                    byte_start: p.locator.byte_start,
                    byte_end: p.locator.byte_end,
                    field: p.field.clone(),
                    reason: p.reason.clone(),
                    raw_hash: blake3::hash(p.raw).to_hex().to_string(),
                    raw: String::from_utf8_lossy(p.raw).into_owned(),
                };
                if let Some((path, out)) = quarantine.as_mut() {
                    out.write_all(&encode(&entry))
                        .and_then(|()| out.write_all(b"\n"))
                        .at(path.as_path())?;
                }
                derived.quarantined += 1;
                if derived.problems.len() < PROBLEMS_LISTED {
                    derived.problems.push(ProblemNote {
                        line: p.locator.line,
                        field: p.field,
                        reason: p.reason,
                    });
                }
                progress.advance(p.locator.byte_end);
            }
        }
        ordinal += 1;
        Ok(())
    };

    let outcome = importer.read(&mut reader, &mut |entry| {
        on_entry(entry).map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            message.into()
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((path, out)) = quarantine {
        let file = out
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(&path)?;
        file.sync_all().at(&path)?;
        derived.quarantine_tmp = Some(path);
    }
    match outcome {
        Ok(()) => Ok(Ok(derived)),
        Err(ReadError::Sink(e)) => Err(super::damaged(blake3, &e.to_string())),
        Err(e) => {
            if let Some(path) = derived.quarantine_tmp.take() {
                let _ = std::fs::remove_file(path);
            }
            Ok(Err(e.to_string()))
        }
    }
}

/// Puts a derived source's quarantine file in place (before commit).
pub(crate) fn place_quarantine(archive: &Archive, blake3: &str, derived: &mut Derived) -> Result<()> {
    if let Some(tmp) = derived.quarantine_tmp.take() {
        persist(&tmp, &archive.quarantine_path(blake3))?;
    }
    Ok(())
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The archive's own types always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}
