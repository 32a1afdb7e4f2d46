//! Reading what is kept per ad: its number by uid, then its entries by
//! number (see [`super::tables::AD_NUMBERS`] and [`super::tables::ADS`]).

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, Table, WriteTransaction};

use super::tables::{
    ad_bounds, ad_key, split_latest, Latest, ADS, AD_NUMBERS, TAG_LATEST, TAG_OBSERVATION,
    TAG_VERSION,
};
use super::{codec, damaged, Version};
use crate::error::Result;

/// The two tables of the per-ad entries, in a transaction that reads or
/// writes.
pub(crate) struct AdEntries<N, E> {
    pub numbers: N,
    pub entries: E,
}

/// The per-ad tables of a read transaction.
pub(crate) type ReadAdEntries =
    AdEntries<ReadOnlyTable<&'static str, u64>, ReadOnlyTable<&'static [u8], &'static [u8]>>;

/// The per-ad tables of a write transaction.
pub(crate) type WriteAdEntries<'txn> =
    AdEntries<Table<'txn, &'static str, u64>, Table<'txn, &'static [u8], &'static [u8]>>;

impl ReadAdEntries {
    pub(crate) fn read(txn: &ReadTransaction) -> Result<Self> {
        Ok(AdEntries {
            numbers: txn.open_table(AD_NUMBERS)?,
            entries: txn.open_table(ADS)?,
        })
    }
}

impl<'txn> WriteAdEntries<'txn> {
    pub(crate) fn write(txn: &'txn WriteTransaction) -> Result<Self> {
        Ok(AdEntries {
            numbers: txn.open_table(AD_NUMBERS)?,
            entries: txn.open_table(ADS)?,
        })
    }

    /// The number the next new ad gets: one more than any in the table.
    pub(crate) fn next_number(&self) -> Result<u64> {
        Ok(match self.entries.last()? {
            Some((key, _)) => super::tables::split_ad_key(key.value())
                .map(|(number, _, _)| number + 1)
                .ok_or_else(|| damaged("ad entries", "unreadable key"))?,
            None => 0,
        })
    }
}

impl<N, E> AdEntries<N, E>
where
    N: ReadableTable<&'static str, u64>,
    E: ReadableTable<&'static [u8], &'static [u8]>,
{
    /// The number of the ad `uid`, if the archive has it.
    pub(crate) fn number(&self, uid: &str) -> Result<Option<u64>> {
        Ok(self.numbers.get(uid)?.map(|n| n.value()))
    }

    /// Where the latest version of `uid` is.
    pub(crate) fn latest(&self, uid: &str) -> Result<Option<Latest>> {
        match self.number(uid)? {
            Some(number) => self.latest_of_number(number, uid),
            None => Ok(None),
        }
    }

    /// Where the latest version of ad `number` (uid `uid`) is; an error
    /// when its entry is unreadable or names another ad.
    pub(crate) fn latest_of_number(&self, number: u64, uid: &str) -> Result<Option<Latest>> {
        let mut key = Vec::with_capacity(9);
        ad_key(number, TAG_LATEST, &[], &mut key);
        let Some(value) = self.entries.get(&key[..])? else {
            return Ok(None);
        };
        match split_latest(value.value()) {
            Some((latest, named)) if named == uid => Ok(Some(latest)),
            Some(_) => Err(damaged(uid, "its number is another ad's")),
            None => Err(damaged(uid, "bad latest pointer")),
        }
    }

    /// The versions of `uid`, oldest first, with their record numbers.
    pub(crate) fn versions(&self, uid: &str) -> Result<Vec<(Version, u64)>> {
        let Some(number) = self.number(uid)? else {
            return Ok(Vec::new());
        };
        self.versions_of_number(number, uid)
    }

    /// The versions of ad `number` (uid `uid`), oldest first, with their
    /// record numbers.
    pub(crate) fn versions_of_number(&self, number: u64, uid: &str) -> Result<Vec<(Version, u64)>> {
        let (from, to) = ad_bounds(number, TAG_VERSION);
        let mut out = Vec::new();
        for item in self.entries.range(&from[..]..&to[..])? {
            let (_, value) = item?;
            out.push(
                codec::decode_version(uid, value.value())
                    .ok_or_else(|| damaged(uid, "unreadable version"))?,
            );
        }
        Ok(out)
    }

    /// Version `seq` of `uid` with its record number.
    pub(crate) fn version(&self, uid: &str, seq: u32) -> Result<Option<(Version, u64)>> {
        let Some(number) = self.number(uid)? else {
            return Ok(None);
        };
        let mut key = Vec::with_capacity(13);
        ad_key(number, TAG_VERSION, &seq.to_be_bytes(), &mut key);
        let Some(value) = self.entries.get(&key[..])? else {
            return Ok(None);
        };
        codec::decode_version(uid, value.value())
            .map(Some)
            .ok_or_else(|| damaged(uid, "unreadable version"))
    }

    /// The number of the record with this hash among the versions of `uid`:
    /// a record names its ad, so no other ad's versions can hold it.
    pub(crate) fn record_of(
        &self,
        uid: &str,
        hash: &adarchive_schema::RecordHash,
    ) -> Result<Option<u64>> {
        match self.number(uid)? {
            Some(number) => self.record_of_number(number, uid, hash),
            None => Ok(None),
        }
    }

    /// [`Self::record_of`] for ad `number` (uid `uid`).
    pub(crate) fn record_of_number(
        &self,
        number: u64,
        uid: &str,
        hash: &adarchive_schema::RecordHash,
    ) -> Result<Option<u64>> {
        Ok(self
            .versions_of_number(number, uid)?
            .into_iter()
            .find(|(version, _)| version.record_hash == *hash)
            .map(|(_, record)| record))
    }

    /// The keys of every observation of `uid`: source hash ++ ordinal.
    pub(crate) fn observation_keys(&self, uid: &str) -> Result<Vec<Vec<u8>>> {
        let Some(number) = self.number(uid)? else {
            return Ok(Vec::new());
        };
        let (from, to) = ad_bounds(number, TAG_OBSERVATION);
        let mut out = Vec::new();
        for item in self.entries.range(&from[..]..&to[..])? {
            let (key, _) = item?;
            out.push(key.value()[from.len()..].to_vec());
        }
        Ok(out)
    }
}
