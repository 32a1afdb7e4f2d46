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
/// the dictionary's id, then LZ4 (written by earlier versions, still read).
const LAYOUT_WITH_DICTIONARY: u8 = 2;

/// A record compressed against a dictionary with zstd: the layout byte,
/// the hash, the dictionary's id, then one zstd frame that names its
/// content's size. LZ4 has to hash its whole dictionary again for every
/// record; zstd loads it once per compressor, and gives smaller records.
const LAYOUT_ZSTD_WITH_DICTIONARY: u8 = 3;

/// zstd's fast level: at this size of record, it compresses faster than
/// LZ4 with a dictionary and still a fifth smaller (see
/// `docs/benchmarks.md`, "Where the database's bytes go").
const ZSTD_LEVEL: i32 = -1;

/// The largest canonical record a stored frame may claim to hold: a
/// damaged value must not make a reader allocate without bound.
const LARGEST_RECORD: u64 = 64 << 20;

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
            let (size, block) = lz4_claimed_size(c.bytes)?;
            let canonical = lz4_flex::block::decompress(block, size).ok()?;
            Some((hash, canonical))
        }
        [LAYOUT_WITH_DICTIONARY] => {
            let hash = RecordHash(c.hash()?);
            let id: [u8; 8] = c.take(8)?.try_into().ok()?;
            let dictionary = dictionary(&id)?;
            let (size, block) = lz4_claimed_size(c.bytes)?;
            let canonical = lz4_flex::block::decompress_with_dict(block, size, &dictionary).ok()?;
            Some((hash, canonical))
        }
        [LAYOUT_ZSTD_WITH_DICTIONARY] => {
            let hash = RecordHash(c.hash()?);
            let id: [u8; 8] = c.take(8)?.try_into().ok()?;
            Some((hash, decompress_zstd(&id, c.bytes)?))
        }
        _ => None,
    }
}

/// The size an LZ4 block says it decompresses to, and the block, when the
/// claim is possible: LZ4 writes at least one byte for every 255 it
/// repeats, so a larger claim is damage, and believing it would make a
/// reader allocate up to 4 GiB for a few stored bytes.
fn lz4_claimed_size(stored: &[u8]) -> Option<(usize, &[u8])> {
    let (size, block) = lz4_flex::block::uncompressed_size(stored).ok()?;
    let possible = block.len().saturating_mul(255).saturating_add(16);
    (size <= possible).then_some((size, block))
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

/// Dictionaries loaded for zstd's decompressors, by id: made once per
/// process, like the dictionaries themselves, which are never dropped.
static LOADED: std::sync::LazyLock<std::sync::RwLock<LoadedById>> =
    std::sync::LazyLock::new(Default::default);

type LoadedById =
    std::collections::HashMap<[u8; 8], &'static zstd::dict::DecoderDictionary<'static>>;

fn loaded(id: &[u8; 8]) -> Option<&'static zstd::dict::DecoderDictionary<'static>> {
    let known = LOADED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(id)
        .copied();
    if known.is_some() {
        return known;
    }
    let bytes = dictionary(id)?;
    let mut all = LOADED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(
        *all.entry(*id)
            .or_insert_with(|| Box::leak(Box::new(zstd::dict::DecoderDictionary::copy(&bytes)))),
    )
}

thread_local! {
    /// Each thread's zstd decompressor and the dictionary it refers to
    /// now: a context is reused, a loaded dictionary shared.
    static DECOMPRESSOR: std::cell::RefCell<Option<([u8; 8], zstd::bulk::Decompressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress_zstd(id: &[u8; 8], frame: &[u8]) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(frame).ok()??;
    if size > LARGEST_RECORD {
        return None;
    }
    let dictionary = loaded(id)?;
    DECOMPRESSOR.with(|cell| {
        let mut current = cell.borrow_mut();
        match current.as_mut() {
            Some((loaded_id, decompressor)) if loaded_id != id => {
                decompressor.set_prepared_dictionary(dictionary).ok()?;
                *loaded_id = *id;
            }
            Some(_) => {}
            None => {
                let decompressor =
                    zstd::bulk::Decompressor::with_prepared_dictionary(dictionary).ok()?;
                *current = Some((*id, decompressor));
            }
        }
        let (_, decompressor) = current.as_mut()?;
        let mut canonical = Vec::with_capacity(usize::try_from(size).ok()?);
        decompressor
            .decompress_to_buffer(frame, &mut canonical)
            .ok()?;
        (canonical.len() as u64 == size).then_some(canonical)
    })
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
    /// zstd with the dictionary loaded (none if zstd could not set up,
    /// when records fall back to LZ4 with the same dictionary).
    zstd: Option<zstd::bulk::Compressor<'static>>,
    sample: Vec<u8>,
    made: Option<Vec<u8>>,
    samples: bool,
}

impl RecordCompressor {
    /// For a source of a format whose dictionary is `existing`.
    pub(crate) fn new(existing: Option<Dictionary>) -> Self {
        RecordCompressor {
            samples: existing.is_none(),
            zstd: existing.as_ref().and_then(zstd_compressor),
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
                let dictionary = register_dictionary(&made);
                self.zstd = zstd_compressor(&dictionary);
                self.dictionary = Some(dictionary);
                self.made = Some(made);
            }
        }
        // A record above what a reader accepts from a zstd frame stays LZ4.
        let zstd = match &mut self.zstd {
            Some(zstd) if canonical.len() as u64 <= LARGEST_RECORD => Some(zstd),
            _ => None,
        };
        if let (Some(dictionary), Some(zstd)) = (&self.dictionary, zstd) {
            if let Ok(frame) = zstd.compress(canonical) {
                let mut out = Vec::with_capacity(1 + 32 + 8 + frame.len());
                out.push(LAYOUT_ZSTD_WITH_DICTIONARY);
                out.extend_from_slice(&hash.0);
                out.extend_from_slice(&dictionary.id);
                out.extend_from_slice(&frame);
                return out;
            }
        }
        encode_record_with(hash, canonical, self.dictionary.as_ref())
    }

    /// The dictionary it made, to be stored with the source's records.
    pub(crate) fn take_made(&mut self) -> Option<Vec<u8>> {
        self.made.take()
    }
}

fn zstd_compressor(dictionary: &Dictionary) -> Option<zstd::bulk::Compressor<'static>> {
    zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &dictionary.bytes).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> Vec<u8> {
        format!(
            r#"{{"advertiser":{{"id":"AR{i:08}","name":"Committee {i} for a Better Tomorrow"}},"creative":{{"body":"Vote on election day for candidate {i}, who will fix the roads, the schools and the trains.","link":"https://example.org/campaign/{i}"}},"delivery":{{"first_shown":"2024-05-01","last_shown":"2024-06-0{}"}},"platform":"google","regions":["NL","BE"],"spend":{{"currency":"EUR","lower":{i},"upper":{}}},"targeting":{{"ages":["25-34","35-44"],"genders":["female","male"]}}}}"#,
            i % 9 + 1,
            i * 2 + 100
        )
        .into_bytes()
    }

    #[test]
    fn records_compressed_against_a_dictionary_read_back_whatever_their_layout() {
        let sample: Vec<u8> = (0..200).flat_map(record).collect();
        let dictionary = register_dictionary(&sample[..DICTIONARY_BYTES.min(sample.len())]);
        let mut compressor = RecordCompressor::new(Some(dictionary.clone()));
        let canonical = record(123_456);
        let hash = RecordHash::of(&canonical);

        let zstd = compressor.encode(&hash, &canonical);
        assert_eq!(zstd[0], LAYOUT_ZSTD_WITH_DICTIONARY);
        assert_eq!(decode_record(&zstd), Some((hash, canonical.clone())));

        let lz4 = encode_record_with(&hash, &canonical, Some(&dictionary));
        assert_eq!(lz4[0], LAYOUT_WITH_DICTIONARY);
        assert_eq!(decode_record(&lz4), Some((hash, canonical.clone())));
        assert!(zstd.len() < lz4.len(), "{} vs {}", zstd.len(), lz4.len());

        // One thread reads records of two formats in turn.
        let other: Vec<u8> = sample.iter().rev().copied().collect();
        let mut other = RecordCompressor::new(Some(register_dictionary(&other[..20_000])));
        let second = record(99);
        let second_hash = RecordHash::of(&second);
        let second_stored = other.encode(&second_hash, &second);
        for _ in 0..3 {
            assert_eq!(
                decode_record(&second_stored),
                Some((second_hash, second.clone()))
            );
            assert_eq!(decode_record(&zstd), Some((hash, canonical.clone())));
        }
    }

    #[test]
    fn a_record_too_large_for_a_zstd_reader_is_stored_with_lz4() {
        let sample: Vec<u8> = (0..200).flat_map(record).collect();
        let mut compressor = RecordCompressor::new(Some(register_dictionary(&sample)));
        let huge = vec![b'a'; LARGEST_RECORD as usize + 1];
        let hash = RecordHash::of(&huge);
        let stored = compressor.encode(&hash, &huge);
        assert_eq!(stored[0], LAYOUT_WITH_DICTIONARY);
        assert_eq!(decode_record(&stored), Some((hash, huge)));
    }

    #[test]
    fn an_lz4_record_claiming_more_than_its_bytes_can_hold_reads_as_nothing() {
        let canonical = record(3);
        let hash = RecordHash::of(&canonical);
        for mut stored in [
            encode_record(&hash, &canonical),
            encode_record_with(&hash, &canonical, Some(&register_dictionary(&record(4)))),
        ] {
            assert_eq!(decode_record(&stored), Some((hash, canonical.clone())));
            let size_at = if stored[0] == LAYOUT { 33 } else { 41 };
            stored[size_at..size_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            assert_eq!(decode_record(&stored), None);
        }
    }

    #[test]
    fn a_damaged_zstd_record_reads_as_nothing() {
        let sample: Vec<u8> = (0..200).flat_map(record).collect();
        let dictionary = register_dictionary(&sample);
        let canonical = record(7);
        let hash = RecordHash::of(&canonical);
        let stored = RecordCompressor::new(Some(dictionary)).encode(&hash, &canonical);

        assert_eq!(decode_record(&stored[..stored.len() - 3]), None);
        let mut flipped = stored.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        // zstd frames carry no checksum: a flipped byte may still decode,
        // into other bytes, which `stored_record` then refuses by their hash.
        if let Some((read_hash, read)) = decode_record(&flipped) {
            assert_eq!(read_hash, hash);
            assert_ne!(RecordHash::of(&read), hash);
        }
        let mut unknown = stored;
        unknown[33..41].copy_from_slice(b"nosuchid");
        assert_eq!(decode_record(&unknown), None);
    }
}
