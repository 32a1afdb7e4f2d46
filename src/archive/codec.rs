//! Compact binary layouts of the database values that exist once per
//! record: observations, versions and records. Each starts with a layout
//! version byte so that the format can evolve.
//!
//! What is the same for every observation of a source (its hash, importer,
//! importer version and import time) lives in the source's manifest entry
//! and the key, not in each value.

use adarchive_importers::Locator;
use adarchive_schema::{RecordHash, Timestamp};

use super::{damaged, Observation, SourceEntry, Version};
use crate::error::Result;

const LAYOUT: u8 = 1;

/// The per-record part of an observation.
pub(crate) struct StoredObservation<'a> {
    pub uid: &'a str,
    pub locator: Locator,
    pub raw_hash: [u8; 32],
    pub record_hash: RecordHash,
}

pub(crate) fn encode_observation(o: &StoredObservation<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.push(LAYOUT);
    out.extend_from_slice(&(o.uid.len() as u32).to_le_bytes());
    out.extend_from_slice(o.uid.as_bytes());
    out.extend_from_slice(&o.locator.line.to_le_bytes());
    out.extend_from_slice(&o.locator.byte_start.to_le_bytes());
    out.extend_from_slice(&o.locator.byte_end.to_le_bytes());
    out.extend_from_slice(&o.raw_hash);
    out.extend_from_slice(&o.record_hash.0);
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn hash(&mut self) -> Option<[u8; 32]> {
        self.take(32)?.try_into().ok()
    }
}

pub(crate) fn decode_observation(bytes: &[u8]) -> Option<StoredObservation<'_>> {
    let mut c = Cursor { bytes };
    if c.take(1)? != [LAYOUT] {
        return None;
    }
    let len = c.u32()? as usize;
    let uid = std::str::from_utf8(c.take(len)?).ok()?;
    let locator = Locator {
        line: c.u64()?,
        byte_start: c.u64()?,
        byte_end: c.u64()?,
    };
    Some(StoredObservation {
        uid,
        locator,
        raw_hash: c.hash()?,
        record_hash: RecordHash(c.hash()?),
    })
}

/// The full observation, with what its source's entry contributes.
pub(crate) fn observation(bytes: &[u8], ordinal: u64, source: &SourceEntry) -> Result<Observation> {
    let o = decode_observation(bytes)
        .ok_or_else(|| damaged(&source.blake3, "unreadable observation"))?;
    Ok(Observation {
        uid: o.uid.to_owned(),
        source_blake3: source.blake3.clone(),
        ordinal,
        locator: o.locator,
        raw_hash: blake3::Hash::from_bytes(o.raw_hash).to_hex().to_string(),
        importer: source.format.clone(),
        importer_version: source.importer_version.clone().unwrap_or_default(),
        record_hash: o.record_hash,
        observed_at: source.imported_at,
    })
}

/// Versions since they carry the number of their record.
const VERSION_LAYOUT: u8 = 2;

/// Encodes a version of an ad whose record is stored as number `record`.
pub(crate) fn encode_version(v: &Version, source: &[u8; 32], record: u64, out: &mut Vec<u8>) {
    out.clear();
    out.push(VERSION_LAYOUT);
    out.extend_from_slice(&v.seq.to_le_bytes());
    out.extend_from_slice(&v.record_hash.0);
    match &v.supersedes {
        Some(h) => {
            out.push(1);
            out.extend_from_slice(&h.0);
        }
        None => out.push(0),
    }
    out.extend_from_slice(source);
    out.extend_from_slice(&v.ordinal.to_le_bytes());
    out.extend_from_slice(&v.observed_at.unix_seconds().to_le_bytes());
    out.extend_from_slice(&record.to_le_bytes());
}

/// A version and the number of its record.
pub(crate) fn decode_version(uid: &str, bytes: &[u8]) -> Option<(Version, u64)> {
    match decode_stored_version(uid, bytes)? {
        (version, Some(record)) => Some((version, record)),
        (_, None) => None,
    }
}

/// A version in either layout: without its record's number (`None`) when
/// it was written before versions carried it.
pub(crate) fn decode_stored_version(uid: &str, bytes: &[u8]) -> Option<(Version, Option<u64>)> {
    let mut c = Cursor { bytes };
    let layout = c.take(1)?[0];
    if layout != LAYOUT && layout != VERSION_LAYOUT {
        return None;
    }
    let seq = c.u32()?;
    let record_hash = RecordHash(c.hash()?);
    let supersedes = match c.take(1)? {
        [1] => Some(RecordHash(c.hash()?)),
        _ => None,
    };
    let source = c.hash()?;
    let ordinal = c.u64()?;
    let seconds = i64::from_le_bytes(c.take(8)?.try_into().ok()?);
    let observed_at = time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .map(Timestamp::from_offset_date_time)?;
    let record = match layout {
        VERSION_LAYOUT => Some(c.u64()?),
        _ => None,
    };
    if !c.bytes.is_empty() {
        return None;
    }
    let version = Version {
        uid: uid.to_owned(),
        seq,
        record_hash,
        supersedes,
        source_blake3: blake3::Hash::from_bytes(source).to_hex().to_string(),
        ordinal,
        observed_at,
    };
    Some((version, record))
}

/// A record compressed against a dictionary: the layout byte, the hash,
/// the dictionary's id, then LZ4.
const LAYOUT_WITH_DICTIONARY: u8 = 2;

/// Records are stored as their hash and LZ4-compressed canonical JSON.
pub(crate) fn encode_record(hash: &RecordHash, canonical: &[u8]) -> Vec<u8> {
    encode_record_with(hash, canonical, None)
}

/// A record stored as its hash and its canonical JSON compressed with LZ4
/// against `dictionary`, when there is one: records are short, and alone
/// LZ4 finds little to share, while the records of one format repeat the
/// same keys and values.
pub(crate) fn encode_record_with(
    hash: &RecordHash,
    canonical: &[u8],
    dictionary: Option<&Dictionary>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len() / 2 + 56);
    match dictionary {
        Some(d) => {
            out.push(LAYOUT_WITH_DICTIONARY);
            out.extend_from_slice(&hash.0);
            out.extend_from_slice(&d.id);
            out.extend_from_slice(&lz4_flex::block::compress_prepend_size_with_dict(
                canonical, &d.bytes,
            ));
        }
        None => {
            out.push(LAYOUT);
            out.extend_from_slice(&hash.0);
            out.extend_from_slice(&lz4_flex::block::compress_prepend_size(canonical));
        }
    }
    out
}

/// The hash a stored record was filed under, and its canonical JSON.
pub(crate) fn decode_record(bytes: &[u8]) -> Option<(RecordHash, Vec<u8>)> {
    let mut c = Cursor { bytes };
    match c.take(1)? {
        [LAYOUT] => {
            let hash = RecordHash(c.hash()?);
            let canonical = lz4_flex::block::decompress_size_prepended(c.bytes).ok()?;
            Some((hash, canonical))
        }
        [LAYOUT_WITH_DICTIONARY] => {
            let hash = RecordHash(c.hash()?);
            let id: [u8; 8] = c.take(8)?.try_into().ok()?;
            let dictionary = dictionary(&id)?;
            let canonical =
                lz4_flex::block::decompress_size_prepended_with_dict(c.bytes, &dictionary).ok()?;
            Some((hash, canonical))
        }
        _ => None,
    }
}

/// A dictionary records are compressed against: samples of the records of
/// one format, kept in the database (see [`super::tables::DICTIONARIES`])
/// and never changed, known by the first bytes of its blake3.
#[derive(Clone, Debug)]
pub(crate) struct Dictionary {
    pub id: [u8; 8],
    pub bytes: std::sync::Arc<[u8]>,
}

/// Every dictionary of every archive this process opened, by id. An id is
/// its content's hash, so archives share them without harm.
static DICTIONARIES: std::sync::LazyLock<std::sync::RwLock<DictionariesById>> =
    std::sync::LazyLock::new(Default::default);

type DictionariesById = std::collections::HashMap<[u8; 8], std::sync::Arc<[u8]>>;

/// Makes `bytes` a dictionary records can be read with from now on.
pub(crate) fn register_dictionary(bytes: &[u8]) -> Dictionary {
    let mut id = [0u8; 8];
    id.copy_from_slice(&blake3::hash(bytes).as_bytes()[..8]);
    let bytes: std::sync::Arc<[u8]> = bytes.into();
    DICTIONARIES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(id)
        .or_insert_with(|| bytes.clone());
    Dictionary { id, bytes }
}

fn dictionary(id: &[u8; 8]) -> Option<std::sync::Arc<[u8]>> {
    DICTIONARIES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(id)
        .cloned()
}

/// How much of a format's first records becomes its dictionary: enough to
/// hold its keys and common values many times over, small enough that
/// compressing against it stays cheap.
const DICTIONARY_BYTES: usize = 32 * 1024;

/// Compresses the records of one source: against the dictionary of its
/// format, or, when the archive has none yet, against one it makes from
/// the source's first records (which are stored without one).
pub(crate) struct RecordCompressor {
    dictionary: Option<Dictionary>,
    sample: Vec<u8>,
    made: Option<Vec<u8>>,
    samples: bool,
}

impl RecordCompressor {
    /// For a source of a format whose dictionary is `existing`.
    pub(crate) fn new(existing: Option<Dictionary>) -> Self {
        RecordCompressor {
            samples: existing.is_none(),
            dictionary: existing,
            sample: Vec::new(),
            made: None,
        }
    }

    /// One that compresses without a dictionary and makes none (for
    /// checking what is stored, where the bytes themselves are not kept).
    pub(crate) fn plain() -> Self {
        RecordCompressor {
            samples: false,
            ..RecordCompressor::new(None)
        }
    }

    /// The stored form of the record `canonical` hashed to `hash`.
    pub(crate) fn encode(&mut self, hash: &RecordHash, canonical: &[u8]) -> Vec<u8> {
        if self.samples && self.dictionary.is_none() {
            if self.sample.len() + canonical.len() <= DICTIONARY_BYTES {
                self.sample.extend_from_slice(canonical);
            } else if self.sample.len() >= DICTIONARY_BYTES / 2 {
                let made = std::mem::take(&mut self.sample);
                self.dictionary = Some(register_dictionary(&made));
                self.made = Some(made);
            }
        }
        encode_record_with(hash, canonical, self.dictionary.as_ref())
    }

    /// The dictionary it made, to be stored with the source's records.
    pub(crate) fn take_made(&mut self) -> Option<Vec<u8>> {
        self.made.take()
    }
}

/// A stored report row, see [`super::REPORT_ROWS`].
pub(crate) struct StoredReportRow {
    pub raw_hash: [u8; 32],
    pub locator: Locator,
    pub row_hash: RecordHash,
    pub canonical: Vec<u8>,
}

pub(crate) fn encode_report_row(
    raw_hash: &[u8; 32],
    locator: Locator,
    row_hash: &RecordHash,
    canonical: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(56 + canonical.len() / 2);
    out.extend_from_slice(raw_hash);
    out.extend_from_slice(&locator.line.to_be_bytes());
    out.extend_from_slice(&locator.byte_start.to_be_bytes());
    out.extend_from_slice(&locator.byte_end.to_be_bytes());
    out.extend_from_slice(&encode_record(row_hash, canonical));
    out
}

pub(crate) fn decode_report_row(bytes: &[u8]) -> Option<StoredReportRow> {
    let raw_hash: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
    let number = |at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
    };
    let locator = Locator {
        line: number(32)?,
        byte_start: number(40)?,
        byte_end: number(48)?,
    };
    let (row_hash, canonical) = decode_record(bytes.get(56..)?)?;
    Some(StoredReportRow {
        raw_hash,
        locator,
        row_hash,
        canonical,
    })
}
