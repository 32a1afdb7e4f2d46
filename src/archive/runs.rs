//! Ascending runs of keys written as full pages.
//!
//! A B-tree page that overflows splits in two. When keys arrive in
//! ascending order, the left half of every split never receives another
//! key, so a table written that way ends up with its pages half full: the
//! observations of a source (keyed by the source's hash and the row's
//! ordinal) took twice the space they needed. A cursor at the gap where
//! the whole run belongs buffers the keys and packs them into full pages.

use std::borrow::Borrow;
use std::ops::Bound;

use redb::{
    CursorMut, Key, ReadableTable, ReadableTableMetadata, Table, TableDefinition, Value,
    WriteTransaction,
};

use crate::error::Result;

/// Where a run of ascending keys is written: through a cursor when no
/// entry of the table falls among the run's keys, else by plain inserts.
pub(super) enum Run<'t, 'txn, K: Key + 'static, V: Value + 'static> {
    Packed(Box<CursorMut<'t, K, V>>),
    Plain(&'t mut Table<'txn, K, V>),
}

impl<'t, 'txn, V: Value + 'static> Run<'t, 'txn, &'static [u8], V> {
    /// A run of keys that all start with `prefix`, in ascending order:
    /// packed unless the table already holds a key with that prefix (a
    /// source derived again), which plain inserts overwrite.
    pub(super) fn under_prefix(
        table: &'t mut Table<'txn, &'static [u8], V>,
        prefix: &[u8],
    ) -> Result<Self> {
        let taken = match table.range::<&[u8]>(prefix..)?.next() {
            Some(entry) => entry?.0.value().starts_with(prefix),
            None => false,
        };
        if taken {
            return Ok(Run::Plain(table));
        }
        Ok(Run::Packed(Box::new(
            table.lower_bound_mut(Bound::Included(prefix))?,
        )))
    }
}

impl<'t, 'txn, K: Key + 'static, V: Value + 'static> Run<'t, 'txn, K, V> {
    /// A run of keys greater than every key of the table, in ascending
    /// order.
    pub(super) fn at_end(table: &'t mut Table<'txn, K, V>) -> Result<Self> {
        Ok(Run::Packed(Box::new(
            table.upper_bound_mut(Bound::<K::SelfType<'_>>::Unbounded)?,
        )))
    }
}

impl<K: Key + 'static, V: Value + 'static> Run<'_, '_, K, V> {
    /// Writes the next entry of the run. A key not greater than the one
    /// before it in a packed run is an error, and nothing is written.
    pub(super) fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<()> {
        match self {
            Run::Packed(cursor) => cursor
                .insert_before(key, value)
                .map_err(|e| redb::Error::from(e).into()),
            Run::Plain(table) => table.insert(key, value).map(|_| ()).map_err(Into::into),
        }
    }

    /// Writes what the run still buffers, and reports whether it could.
    pub(super) fn finish(self) -> Result<()> {
        match self {
            Run::Packed(cursor) => cursor.close().map_err(Into::into),
            Run::Plain(_) => Ok(()),
        }
    }
}

/// A table whose free space inside its pages is at least this share of it
/// (in tenths), and at least [`REPACKED_FROM_BYTES`], is worth writing
/// again.
const REPACKED_FROM_TENTHS: u64 = 1;

/// Below this much free space (64 pages), a table is left as it is: a
/// small table, or one of values a good part of a page each, cannot be
/// packed much tighter than it is.
const REPACKED_FROM_BYTES: u64 = 256 * 1024;

/// Writes `table` again as full pages when a tenth or more of it (and 64
/// pages or more) is free space inside its pages, as in tables keyed at
/// random, like the ads by uid, which fill theirs to about two thirds: its
/// entries in key order into `scratch` through a cursor, then `scratch`
/// takes its name. Free space that is not between entries (a value larger
/// than half a page takes a page of its own, rounded up) stays free
/// whatever the order, so the copy replaces the table only when it is
/// smaller by the same margin; else it is dropped and the table kept. One
/// transaction, so a crash leaves the table as it was. Returns whether it
/// replaced the table.
pub(super) fn repack<K: Key + 'static, V: Value + 'static>(
    txn: &WriteTransaction,
    table: TableDefinition<K, V>,
    scratch: TableDefinition<K, V>,
) -> Result<bool> {
    let occupied = |stats: &redb::TableStats| {
        stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes()
    };
    let before = {
        let source = txn.open_table(table)?;
        let stats = source.stats()?;
        let total = occupied(&stats);
        let free = stats.fragmented_bytes();
        if free < REPACKED_FROM_BYTES || free * 10 < total * REPACKED_FROM_TENTHS {
            return Ok(false);
        }
        txn.delete_table(scratch)?;
        let mut packed = txn.open_table(scratch)?;
        let mut run = Run::at_end(&mut packed)?;
        for entry in source.iter()? {
            let (key, value) = entry?;
            run.insert(key.value(), value.value())?;
        }
        run.finish()?;
        total
    };
    let after = occupied(&txn.open_table(scratch)?.stats()?);
    let gained = before.saturating_sub(after);
    if gained < REPACKED_FROM_BYTES || gained * 10 < before * REPACKED_FROM_TENTHS {
        txn.delete_table(scratch)?;
        return Ok(false);
    }
    txn.delete_table(table)?;
    txn.rename_table(scratch, table)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase};

    const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("observations");

    /// Leaf bytes of `TABLE` after writing `runs` sources of `rows` rows
    /// each, packed or one insert at a time.
    fn leaf_bytes(packed: bool, runs: u8, rows: u64) -> (u64, u64) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let value = [7u8; 60];
        // Sources arrive in no order of their hashes.
        for source in (0..runs).map(|n| n.wrapping_mul(97)) {
            let txn = db.begin_write().unwrap();
            {
                let mut table = txn.open_table(TABLE).unwrap();
                let prefix = [source; 32];
                let key = |row: u64| {
                    let mut key = prefix.to_vec();
                    key.extend_from_slice(&row.to_be_bytes());
                    key
                };
                if packed {
                    let mut run = Run::under_prefix(&mut table, &prefix).unwrap();
                    for row in 0..rows {
                        run.insert(&key(row)[..], &value[..]).unwrap();
                    }
                    run.finish().unwrap();
                } else {
                    for row in 0..rows {
                        table.insert(&key(row)[..], &value[..]).unwrap();
                    }
                }
            }
            txn.commit().unwrap();
        }
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        let stats = table.stats().unwrap();
        (table.len().unwrap(), stats.leaf_pages())
    }

    #[test]
    fn a_packed_run_fills_its_pages() {
        let (plain_entries, plain_pages) = leaf_bytes(false, 5, 20_000);
        let (packed_entries, packed_pages) = leaf_bytes(true, 5, 20_000);
        assert_eq!(plain_entries, 100_000);
        assert_eq!(packed_entries, 100_000);
        // Pages split in two when keys ascend one insert at a time; full
        // ones from a run (2,705 pages against 3,728 when measured).
        assert!(
            packed_pages * 10 < plain_pages * 8,
            "{packed_pages} pages packed, {plain_pages} plain"
        );
    }

    #[test]
    fn a_run_over_keys_already_there_overwrites_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let prefix = [3u8; 4];
        for value in [b"old", b"new"] {
            let txn = db.begin_write().unwrap();
            {
                let mut table = txn.open_table(TABLE).unwrap();
                table.insert(&[9u8; 8][..], &b"another"[..]).unwrap();
                let mut run = Run::under_prefix(&mut table, &prefix).unwrap();
                assert_eq!(matches!(run, Run::Plain(_)), value == b"new");
                for row in 0u8..10 {
                    run.insert(&[3, 3, 3, 3, row][..], &value[..]).unwrap();
                }
                run.finish().unwrap();
            }
            txn.commit().unwrap();
        }
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        assert_eq!(table.len().unwrap(), 11);
        assert_eq!(
            table.get(&[3, 3, 3, 3, 5][..]).unwrap().unwrap().value(),
            b"new"
        );
    }

    #[test]
    fn a_key_out_of_order_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        let mut table = txn.open_table(TABLE).unwrap();
        let mut run = Run::under_prefix(&mut table, &[1]).unwrap();
        run.insert(&[1, 5][..], &b""[..]).unwrap();
        assert!(run.insert(&[1, 4][..], &b""[..]).is_err());
    }

    #[test]
    fn a_table_keyed_at_random_is_written_again_as_full_pages() {
        const SCRATCH: TableDefinition<&[u8], &[u8]> = TableDefinition::new("scratch");
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let key = |n: u64| blake3::hash(&n.to_le_bytes()).as_bytes().to_vec();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TABLE).unwrap();
            for n in 0..30_000u64 {
                table.insert(&key(n)[..], &n.to_le_bytes()[..]).unwrap();
            }
        }
        txn.commit().unwrap();
        let pages = || {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(TABLE).unwrap();
            (table.len().unwrap(), table.stats().unwrap().leaf_pages())
        };
        let (entries, before) = pages();

        let txn = db.begin_write().unwrap();
        assert!(repack(&txn, TABLE, SCRATCH).unwrap());
        txn.commit().unwrap();
        let (entries_after, after) = pages();
        assert_eq!(entries_after, entries);
        assert!(
            after * 10 < before * 8,
            "{after} pages after, {before} before"
        );
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        for n in (0..30_000u64).step_by(101) {
            assert_eq!(
                table.get(&key(n)[..]).unwrap().unwrap().value(),
                n.to_le_bytes()
            );
        }
        assert!(
            txn.open_table(SCRATCH).is_err(),
            "the scratch table is gone"
        );
        drop((table, txn));

        // Full pages are left as they are.
        let txn = db.begin_write().unwrap();
        assert!(!repack(&txn, TABLE, SCRATCH).unwrap());
        txn.commit().unwrap();
    }

    #[test]
    fn a_table_of_values_larger_than_half_a_page_is_left_as_it_is() {
        const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
        const SCRATCH: TableDefinition<u64, &[u8]> = TableDefinition::new("scratch");
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(RECORDS).unwrap();
            let mut run = Run::at_end(&mut table).unwrap();
            for n in 0..400u64 {
                run.insert(n, &vec![n as u8; 5_000][..]).unwrap();
            }
            run.finish().unwrap();
        }
        txn.commit().unwrap();
        let txn = db.begin_read().unwrap();
        let stats = txn.open_table(RECORDS).unwrap().stats().unwrap();
        // Each value takes a page of 8 KiB, 3 KiB of it free.
        assert!(stats.fragmented_bytes() >= REPACKED_FROM_BYTES);
        drop(txn);

        let txn = db.begin_write().unwrap();
        assert!(!repack(&txn, RECORDS, SCRATCH).unwrap());
        txn.commit().unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(RECORDS).unwrap();
        assert_eq!(table.len().unwrap(), 400);
        assert_eq!(table.get(399).unwrap().unwrap().value(), vec![143u8; 5_000]);
        assert!(txn.open_table(SCRATCH).is_err(), "the copy is dropped");
    }
}
