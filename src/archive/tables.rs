//! Table layout of `archive.redb`. Manifest entries are JSON; the values
//! that exist once per record use the compact layouts of `codec`. Keys are
//! bytes that sort usefully.

use adarchive_schema::RecordHash;
use redb::{TableDefinition, WriteTransaction};

/// blake3 hex → [`super::SourceEntry`] JSON.
pub(super) const SOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("sources");
/// import sequence → blake3 hex.
pub(super) const SOURCE_ORDER: TableDefinition<u64, &str> = TableDefinition::new("source_order");
/// record number → a layout byte, the record hash (32 bytes) and its
/// compressed canonical JSON (see `codec`: zstd against its format's
/// dictionary; LZ4 for the first records of a format, and in archives
/// written by earlier versions).
/// Records are numbered in the order they were first seen, so that these
/// large values are appended rather than scattered by their hash. A record
/// is found through the versions of its ad, which carry its number: a
/// record names its ad, so no other ad can share it, and a table from hash
/// to number would cost an import one insert at a random place per record.
pub(super) const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// record hash → record number: the layout before versions carried record
/// numbers. Opening such an archive moves the numbers into the versions
/// and drops this table.
pub(super) const LEGACY_RECORD_INDEX: TableDefinition<&[u8], u64> =
    TableDefinition::new("record_index");
/// source hash (32 bytes) ++ ordinal (u64 BE) → observation (binary, see `codec`).
pub(super) const OBSERVATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("observations");
/// uid → the ad's number. Ads are numbered in the order they were first
/// seen, so that the entries of new ads are appended to [`ADS`] as full
/// pages instead of inserted among those of older ads at random, which
/// cost an import most of its writes and left a third of the pages empty.
pub(super) const AD_NUMBERS: TableDefinition<&str, u64> = TableDefinition::new("ad_numbers");
/// Everything kept per ad, under keys that start with its number (u64 BE,
/// see [`AD_NUMBERS`]) so that one ad's entries share leaf pages:
/// - `… ++ 'l'` → latest version: seq (u32 BE) ++ record hash (32 bytes)
///   ++ record number (u64 BE) ++ the ad's uid, which a scan of the table
///   meets before the ad's other entries;
/// - `… ++ 'o' ++ observation key` → () (every observation of the ad);
/// - `… ++ 'v' ++ seq (u32 BE)` → version (binary, see `codec`).
pub(super) const ADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("ad_entries");
/// The per-ad entries before ads were numbered: the same entries under
/// keys that start with `uid ++ 0x00`, and latest values without the uid.
/// Opening such an archive numbers its ads and drops this table.
pub(super) const LEGACY_ADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("ads");

/// source hash (32 bytes) ++ ordinal (u64 BE) → report row: raw hash (32
/// bytes) ++ line, byte start, byte end (u64 BE each) ++ row hash (32
/// bytes) ++ LZ4-compressed canonical JSON. Rows of aggregate spend reports
/// are not ads: they have no uid and no versions.
pub(super) const REPORT_ROWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("report_rows");

/// source hash ++ ordinal → a day of reference exchange rates, stored like
/// a [`REPORT_ROWS`] value.
pub(super) const RATE_ROWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("rate_rows");

/// identity key (`google:AR…`) → what ads and report rows say of that
/// advertiser (JSON of [`super::PlatformIdentity`]); the union
/// over every observation, so importing a file again changes nothing.
pub(super) const ADVERTISER_FACTS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("advertiser_facts");

/// format (importer name) ++ `/` ++ the dictionary's id in hex → a
/// dictionary records of that format are compressed against (see
/// `codec::RecordCompressor`). Written once, never changed.
pub(super) const DICTIONARIES: TableDefinition<&str, &[u8]> = TableDefinition::new("dictionaries");

/// The kinds of entry in [`ADS`].
pub(super) const TAG_LATEST: u8 = b'l';
pub(super) const TAG_OBSERVATION: u8 = b'o';
pub(super) const TAG_VERSION: u8 = b'v';

pub(super) fn create_all(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(SOURCES)?;
    txn.open_table(SOURCE_ORDER)?;
    txn.open_table(RECORDS)?;
    txn.open_table(OBSERVATIONS)?;
    txn.open_table(AD_NUMBERS)?;
    txn.open_table(ADS)?;
    txn.open_table(REPORT_ROWS)?;
    txn.open_table(RATE_ROWS)?;
    txn.open_table(ADVERTISER_FACTS)?;
    txn.open_table(DICTIONARIES)?;
    crate::tlog::create_tables(txn)?;
    super::listings::create_tables(txn)?;
    Ok(())
}

pub(super) fn observation_key(source: &[u8; 32], ordinal: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(source);
    key[32..].copy_from_slice(&ordinal.to_be_bytes());
    key
}

/// The [`ADS`] key of one entry of ad `number`.
pub(super) fn ad_key(number: u64, tag: u8, rest: &[u8], key: &mut Vec<u8>) {
    key.clear();
    key.extend_from_slice(&number.to_be_bytes());
    key.push(tag);
    key.extend_from_slice(rest);
}

/// Splits an [`ADS`] key into the ad's number, the tag and the rest.
pub(super) fn split_ad_key(key: &[u8]) -> Option<(u64, u8, &[u8])> {
    let number = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
    let tag = *key.get(8)?;
    Some((number, tag, &key[9..]))
}

/// Key bounds of the entries of ad `number` with `tag`.
pub(super) fn ad_bounds(number: u64, tag: u8) -> ([u8; 9], [u8; 9]) {
    let mut from = [0u8; 9];
    from[..8].copy_from_slice(&number.to_be_bytes());
    from[8] = tag;
    let mut to = from;
    to[8] = tag + 1;
    (from, to)
}

/// Splits a [`LEGACY_ADS`] key into uid, tag and the rest.
pub(super) fn split_legacy_ad_key(key: &[u8]) -> Option<(&str, u8, &[u8])> {
    let zero = key.iter().position(|&b| b == 0)?;
    let uid = std::str::from_utf8(&key[..zero]).ok()?;
    let tag = *key.get(zero + 1)?;
    Some((uid, tag, &key[zero + 2..]))
}

/// Where an ad's latest version is: its seq, record hash and record number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Latest {
    pub seq: u32,
    pub hash: RecordHash,
    pub record: u64,
}

/// Length of a [`Latest`] value in the layout before it held the record
/// number.
pub(super) const LEGACY_LATEST_LEN: usize = 36;

/// Length of a [`Latest`] value before the uid that follows it.
pub(super) const LATEST_LEN: usize = 44;

/// The [`ADS`] value of an ad's latest version.
pub(super) fn latest_value(latest: &Latest, uid: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(LATEST_LEN + uid.len());
    v.extend_from_slice(&latest.seq.to_be_bytes());
    v.extend_from_slice(&latest.hash.0);
    v.extend_from_slice(&latest.record.to_be_bytes());
    v.extend_from_slice(uid.as_bytes());
    v
}

/// The latest version a [`ADS`] value points at, and the ad's uid.
pub(super) fn split_latest(v: &[u8]) -> Option<(Latest, &str)> {
    let latest = Latest {
        seq: u32::from_be_bytes(v.get(..4)?.try_into().ok()?),
        hash: RecordHash(v.get(4..36)?.try_into().ok()?),
        record: u64::from_be_bytes(v.get(36..LATEST_LEN)?.try_into().ok()?),
    };
    let uid = std::str::from_utf8(v.get(LATEST_LEN..)?).ok()?;
    Some((latest, uid))
}
