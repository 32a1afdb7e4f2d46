//! The log's tables in the archive database, and what is read from them:
//! checkpoints, tiles, entry bundles and proofs.

use redb::{
    ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use tlog_tiles::{Hash, HashReader, Tile};

use super::paths::{TileKind, TilePath, TILE_HEIGHT};
use super::{LogEntry, LogError, LogKey};

/// entry index (the source's import sequence number) → the entry's text.
const LOG_ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_entries");
/// stored hash index (as `tlog_tiles` numbers the tree's hashes) → hash.
const LOG_HASHES: TableDefinition<u64, &[u8]> = TableDefinition::new("log_hashes");
/// tree size → the signed checkpoint of the tree of that size.
const LOG_CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("log_checkpoints");
/// `verifier_key` → the verifier key the checkpoints are signed for.
const LOG_META: TableDefinition<&str, &str> = TableDefinition::new("log_meta");

/// An inclusion or consistency proof: the hashes, and the tree it is for.
#[derive(Clone, Debug, PartialEq)]
pub struct Proof {
    /// The size of the tree the proof leads to.
    pub tree_size: u64,
    /// Its hashes, in RFC 9162 order.
    pub hashes: Vec<Hash>,
}

pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(LOG_ENTRIES)?;
    txn.open_table(LOG_HASHES)?;
    txn.open_table(LOG_CHECKPOINTS)?;
    txn.open_table(LOG_META)?;
    super::witness::create_tables(txn)?;
    super::witness::create_log_tables(txn)?;
    Ok(())
}

/// The tree's stored hashes, read from a table.
struct Hashes<'t, T>(&'t T);

impl<T: ReadableTable<u64, &'static [u8]>> HashReader for Hashes<'_, T> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                let value = self
                    .0
                    .get(i)
                    .map_err(|e| tlog_tiles::Error::InvalidInput(e.to_string()))?
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
                let bytes: [u8; 32] = value
                    .value()
                    .try_into()
                    .map_err(|_| tlog_tiles::Error::MalformedHash)?;
                Ok(Hash(bytes))
            })
            .collect()
    }
}

/// Appends the entry of `source` as entry `index` and signs the checkpoint
/// of the grown tree, in `txn`. An entry already logged at `index` (a
/// rebuild commits every source again) must be the same source's, and is
/// kept as it was: a log is never rewritten.
pub(crate) fn append(
    txn: &WriteTransaction,
    index: u64,
    source: &crate::archive::SourceEntry,
    key: &LogKey,
) -> Result<(), LogError> {
    let mut entries = txn.open_table(LOG_ENTRIES)?;
    let size = entries.len()?;
    if index < size {
        let logged = entries
            .get(index)?
            .and_then(|v| LogEntry::parse(v.value()))
            .ok_or_else(|| LogError::Disagrees {
                index,
                reason: "unreadable".into(),
            })?;
        if logged.blake3 != source.blake3 {
            return Err(LogError::Disagrees {
                index,
                reason: format!(
                    "the log has source {} where the manifest has {}",
                    logged.blake3, source.blake3
                ),
            });
        }
        return Ok(());
    }
    if index != size {
        return Err(LogError::Disagrees {
            index,
            reason: format!("the log has {size} entries; it cannot skip to {index}"),
        });
    }
    let text = LogEntry::of(source).to_bytes();
    let mut hashes = txn.open_table(LOG_HASHES)?;
    let new = tlog_tiles::stored_hashes(size, &text, &Hashes(&hashes))?;
    for (at, hash) in (tlog_tiles::stored_hash_index(0, size)..).zip(new) {
        hashes.insert(at, &hash.0[..])?;
    }
    entries.insert(size, &text[..])?;
    let root = tlog_tiles::tree_hash(size + 1, &Hashes(&hashes))?;
    let note = key.sign_checkpoint(size + 1, root)?;
    txn.open_table(LOG_CHECKPOINTS)?
        .insert(size + 1, &note[..])?;
    txn.open_table(LOG_META)?
        .insert("verifier_key", key.verifier_key())?;
    Ok(())
}

/// Copies the whole log of `from` into `to`, so that a rebuilt database
/// keeps the log the old one signed.
pub(crate) fn copy_log(from: &ReadTransaction, to: &WriteTransaction) -> Result<(), LogError> {
    for table in [LOG_ENTRIES, LOG_HASHES, LOG_CHECKPOINTS] {
        let source = from.open_table(table)?;
        let mut target = to.open_table(table)?;
        for item in source.iter()? {
            let (k, v) = item?;
            target.insert(k.value(), v.value())?;
        }
    }
    let source = from.open_table(LOG_META)?;
    let mut target = to.open_table(LOG_META)?;
    for item in source.iter()? {
        let (k, v) = item?;
        target.insert(k.value(), v.value())?;
    }
    Ok(())
}

/// How many entries the log has, as `txn` sees it.
pub(crate) fn logged(txn: &WriteTransaction) -> Result<u64, LogError> {
    Ok(txn.open_table(LOG_ENTRIES)?.len()?)
}

/// How many entries the log has.
pub fn tree_size(txn: &ReadTransaction) -> Result<u64, LogError> {
    Ok(txn.open_table(LOG_ENTRIES)?.len()?)
}

/// The newest signed checkpoint, or `None` for an empty log.
pub fn checkpoint(txn: &ReadTransaction) -> Result<Option<Vec<u8>>, LogError> {
    let table = txn.open_table(LOG_CHECKPOINTS)?;
    let last = table.last()?;
    Ok(last.map(|(_, v)| v.value().to_vec()))
}

/// The verifier key the checkpoints are signed for, once the log has one.
pub fn verifier_key(txn: &ReadTransaction) -> Result<Option<String>, LogError> {
    let table = txn.open_table(LOG_META)?;
    let key = table.get("verifier_key")?;
    Ok(key.map(|v| v.value().to_owned()))
}

/// The text of entry `index`.
pub fn entry_at(txn: &ReadTransaction, index: u64) -> Result<Option<Vec<u8>>, LogError> {
    let table = txn.open_table(LOG_ENTRIES)?;
    let entry = table.get(index)?;
    Ok(entry.map(|v| v.value().to_vec()))
}

/// The bytes of a tile or entry bundle, or `None` when the tree of `size`
/// entries does not have it yet.
pub fn tile_data(
    txn: &ReadTransaction,
    size: u64,
    tile: &TilePath,
) -> Result<Option<Vec<u8>>, LogError> {
    let Some((first, end)) = tile
        .index
        .checked_mul(u64::from(super::TILE_WIDTH))
        .and_then(|first| Some((first, first.checked_add(u64::from(tile.width))?)))
    else {
        return Ok(None);
    };
    match tile.kind {
        TileKind::Entries => {
            if end > size {
                return Ok(None);
            }
            let table = txn.open_table(LOG_ENTRIES)?;
            let mut bundle = Vec::new();
            for item in table.range(first..end)? {
                let (_, text) = item?;
                let text = text.value();
                let length = u16::try_from(text.len()).map_err(|_| LogError::Disagrees {
                    index: first,
                    reason: "an entry longer than a bundle can hold".into(),
                })?;
                bundle.extend_from_slice(&length.to_be_bytes());
                bundle.extend_from_slice(text);
            }
            Ok(Some(bundle))
        }
        TileKind::Hashes(level) => {
            // The tile's last hash stands for `end × 256^level` entries.
            let needed = end.checked_shl(u32::from(TILE_HEIGHT) * u32::from(level));
            if needed
                .is_none_or(|n| n > size || n >> (u32::from(TILE_HEIGHT) * u32::from(level)) != end)
            {
                return Ok(None);
            }
            let table = txn.open_table(LOG_HASHES)?;
            let tile = Tile::new(TILE_HEIGHT, level, tile.index, tile.width, false);
            Ok(Some(tile.read_data(&Hashes(&table))?))
        }
    }
}

/// The proof that entry `index` is in the tree of `size` entries.
pub fn inclusion_proof(txn: &ReadTransaction, size: u64, index: u64) -> Result<Proof, LogError> {
    if index >= size || size > tree_size(txn)? {
        return Err(LogError::OutOfRange(format!(
            "entry {index} is not in a tree of {size} entries"
        )));
    }
    let table = txn.open_table(LOG_HASHES)?;
    Ok(Proof {
        tree_size: size,
        hashes: tlog_tiles::prove_record(size, index, &Hashes(&table))?,
    })
}

/// The proof that the tree of `from` entries is a prefix of the tree of
/// `to` entries.
pub fn consistency_proof(txn: &ReadTransaction, from: u64, to: u64) -> Result<Proof, LogError> {
    if from == 0 || from > to {
        return Err(LogError::OutOfRange(format!(
            "no consistency proof from {from} to {to} entries: the first size must be between 1 and the second"
        )));
    }
    let size = tree_size(txn)?;
    if to > size {
        return Err(LogError::NotYet(format!(
            "the log has {size} entries, not yet {to}"
        )));
    }
    let table = txn.open_table(LOG_HASHES)?;
    Ok(Proof {
        tree_size: to,
        hashes: tlog_tiles::prove_tree(to, from, &Hashes(&table))?,
    })
}

/// Everything the log in `txn` shows of itself, for [`super::verify_log`];
/// `manifest` is the archive's sources (sequence number, blake3, size).
pub(crate) fn view(
    txn: &ReadTransaction,
    manifest: Vec<(u64, String, u64)>,
) -> Result<super::LogView, LogError> {
    let entries_table = txn.open_table(LOG_ENTRIES)?;
    let mut entries = Vec::new();
    for item in entries_table.iter()? {
        entries.push(item?.1.value().to_vec());
    }
    let size = entries.len() as u64;
    let mut tiles = Vec::new();
    for tile in super::tiles_of(size) {
        if let Some(data) = tile_data(txn, size, &tile)? {
            tiles.push((tile, data));
        }
    }
    let mut checkpoints = Vec::new();
    for item in txn.open_table(LOG_CHECKPOINTS)?.iter()? {
        checkpoints.push(item?.1.value().to_vec());
    }
    Ok(super::LogView {
        entries,
        tiles,
        checkpoints,
        verifier_key: verifier_key(txn)?.unwrap_or_default(),
        manifest,
    })
}
