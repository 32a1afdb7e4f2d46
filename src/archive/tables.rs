//! Table layout of `archive.redb`. Manifest entries are JSON; the values
//! that exist once per record use the compact layouts of `codec`. Keys are
//! bytes that sort usefully.

use adarchive_schema::RecordHash;
use redb::{TableDefinition, WriteTransaction};

/// blake3 hex → [`super::SourceEntry`] JSON.
pub(crate) const SOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("sources");
/// import sequence → blake3 hex.
pub(crate) const SOURCE_ORDER: TableDefinition<u64, &str> = TableDefinition::new("source_order");
/// record hash → LZ4-compressed canonical JSON of the record.
pub(crate) const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");
/// source hash (32 bytes) ++ ordinal (u64 BE) → observation (binary, see `codec`).
pub(crate) const OBSERVATIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("observations");
/// uid ++ 0x00 ++ observation key → ().
pub(crate) const UID_OBSERVATIONS: TableDefinition<&[u8], ()> =
    TableDefinition::new("uid_observations");
/// uid ++ 0x00 ++ version seq (u32 BE) → version (binary, see `codec`).
pub(crate) const VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("versions");
/// uid → version seq (u32 BE) ++ record hash (32 bytes).
pub(crate) const LATEST: TableDefinition<&str, &[u8]> = TableDefinition::new("latest");

pub(crate) fn create_all(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(SOURCES)?;
    txn.open_table(SOURCE_ORDER)?;
    txn.open_table(RECORDS)?;
    txn.open_table(OBSERVATIONS)?;
    txn.open_table(UID_OBSERVATIONS)?;
    txn.open_table(VERSIONS)?;
    txn.open_table(LATEST)?;
    Ok(())
}

pub(crate) fn observation_key(source: &[u8; 32], ordinal: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(source);
    key[32..].copy_from_slice(&ordinal.to_be_bytes());
    key
}

pub(crate) fn uid_prefixed(uid: &str, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(uid.len() + 1 + rest.len());
    key.extend_from_slice(uid.as_bytes());
    key.push(0);
    key.extend_from_slice(rest);
    key
}

/// Key bounds of everything stored under `uid ++ 0x00`.
pub(crate) fn uid_bounds(uid: &str) -> (Vec<u8>, Vec<u8>) {
    let from = uid_prefixed(uid, &[]);
    let mut to = from.clone();
    if let Some(last) = to.last_mut() {
        *last = 1;
    }
    (from, to)
}

pub(crate) fn latest_value(seq: u32, hash: &RecordHash) -> [u8; 36] {
    let mut v = [0u8; 36];
    v[..4].copy_from_slice(&seq.to_be_bytes());
    v[4..].copy_from_slice(&hash.0);
    v
}

pub(crate) fn split_latest(v: &[u8]) -> Option<(u32, RecordHash)> {
    let seq = u32::from_be_bytes(v.get(..4)?.try_into().ok()?);
    let hash: [u8; 32] = v.get(4..36)?.try_into().ok()?;
    Some((seq, RecordHash(hash)))
}
