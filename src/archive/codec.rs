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

/// Records are stored as their hash and LZ4-compressed canonical JSON.
pub(crate) fn encode_record(hash: &RecordHash, canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len() / 2 + 48);
    out.push(LAYOUT);
    out.extend_from_slice(&hash.0);
    out.extend_from_slice(&lz4_flex::block::compress_prepend_size(canonical));
    out
}

/// The hash a stored record was filed under, and its canonical JSON.
pub(crate) fn decode_record(bytes: &[u8]) -> Option<(RecordHash, Vec<u8>)> {
    let mut c = Cursor { bytes };
    if c.take(1)? != [LAYOUT] {
        return None;
    }
    let hash = RecordHash(c.hash()?);
    let canonical = lz4_flex::block::decompress_size_prepended(c.bytes).ok()?;
    Some((hash, canonical))
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
