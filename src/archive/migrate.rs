//! Bringing an archive written in an earlier layout up to date, once, in
//! the transaction that opens it.
//!
//! The changes so far, oldest first:
//! - versions and latest pointers carry the number of their record, and
//!   the table from record hash to record number that they were looked up
//!   in is gone;
//! - ads are numbered, and their entries kept under their numbers instead
//!   of their uids.

use std::ops::Bound;

use redb::{ReadableTable, TableHandle, WriteTransaction};

use super::runs::Run;
use super::{
    ad_key, codec, latest_value, split_legacy_ad_key, Latest, ADS, AD_NUMBERS, LATEST_LEN,
    LEGACY_ADS, LEGACY_LATEST_LEN, LEGACY_RECORD_INDEX, TAG_LATEST, TAG_VERSION,
};
use crate::error::Result;

/// Whether `txn` has a table of that name.
fn has_table(txn: &WriteTransaction, name: &str) -> Result<bool> {
    Ok(txn.list_tables()?.any(|table| table.name() == name))
}

/// Entries rewritten per pass over the per-ad table, so that what is held
/// in memory stays small whatever the size of the archive.
const BATCH: usize = 50_000;

/// Moves record numbers into the versions and latest pointers of an
/// archive written before they carried them. Returns whether there was
/// anything to do.
///
/// An entry whose record the old table does not list is left as it was:
/// `verify` reports it and `rebuild` derives it again from the sources.
pub(crate) fn record_numbers_into_versions(txn: &WriteTransaction) -> Result<bool> {
    if !has_table(txn, LEGACY_RECORD_INDEX.name())? {
        return Ok(false);
    }
    tracing::info!("moving record numbers into the versions of every ad (once)");
    {
        let index = txn.open_table(LEGACY_RECORD_INDEX)?;
        let number_of =
            |hash: &[u8]| -> Result<Option<u64>> { Ok(index.get(hash)?.map(|n| n.value())) };
        let mut ads = txn.open_table(LEGACY_ADS)?;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let start = after.take();
            let from = match &start {
                Some(key) => Bound::Excluded(&key[..]),
                None => Bound::Unbounded,
            };
            let mut seen = 0;
            let mut rewrites: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for item in ads.range::<&[u8]>((from, Bound::Unbounded))?.take(BATCH) {
                let (key, value) = item?;
                seen += 1;
                after = Some(key.value().to_vec());
                let Some((uid, tag, _)) = split_legacy_ad_key(key.value()) else {
                    continue;
                };
                let value = value.value();
                let rewritten = match tag {
                    TAG_LATEST if value.len() == LEGACY_LATEST_LEN => {
                        legacy_latest(value, &number_of)?
                    }
                    TAG_VERSION => legacy_version(uid, value, &number_of)?,
                    _ => None,
                };
                if let Some(rewritten) = rewritten {
                    rewrites.push((key.value().to_vec(), rewritten));
                }
            }
            for (key, value) in &rewrites {
                ads.insert(&key[..], &value[..])?;
            }
            if seen < BATCH {
                break;
            }
        }
    }
    txn.delete_table(LEGACY_RECORD_INDEX)?;
    Ok(true)
}

/// Numbers the ads of an archive written before ads were numbered, in uid
/// order, and moves their entries under their numbers, the uid into each
/// latest pointer. Returns whether there was anything to do.
///
/// A latest pointer of the layout before record numbers whose record the
/// old table did not list (see [`record_numbers_into_versions`]) points at
/// no record once moved: `verify` reports it and `rebuild` derives it
/// again from the sources.
pub(crate) fn number_the_ads(txn: &WriteTransaction) -> Result<bool> {
    if !has_table(txn, LEGACY_ADS.name())? {
        return Ok(false);
    }
    tracing::info!("numbering the ads and moving their entries under their numbers (once)");
    {
        let legacy = txn.open_table(LEGACY_ADS)?;
        let mut numbers_table = txn.open_table(AD_NUMBERS)?;
        let mut entries_table = txn.open_table(ADS)?;
        // Numbers follow uids, so both tables are written in key order.
        let mut numbers = Run::at_end(&mut numbers_table)?;
        let mut entries = Run::at_end(&mut entries_table)?;
        let mut current: Option<(String, u64)> = None;
        let mut next = 0u64;
        let mut key = Vec::new();
        for item in legacy.iter()? {
            let (legacy_key, value) = item?;
            // A key that names no uid is no ad's: `verify` would not read it.
            let Some((uid, tag, rest)) = split_legacy_ad_key(legacy_key.value()) else {
                continue;
            };
            let number = match &current {
                Some((known, number)) if known == uid => *number,
                _ => {
                    let number = next;
                    next += 1;
                    numbers.insert(uid, number)?;
                    current = Some((uid.to_owned(), number));
                    number
                }
            };
            ad_key(number, tag, rest, &mut key);
            let value = value.value();
            match tag {
                TAG_LATEST => {
                    let mut latest = match value.get(..LATEST_LEN) {
                        Some(numbered) => numbered.to_vec(),
                        None => {
                            // The record was never numbered: none matches.
                            let mut unnumbered = value.to_vec();
                            unnumbered.resize(LATEST_LEN - 8, 0);
                            unnumbered.extend_from_slice(&u64::MAX.to_be_bytes());
                            unnumbered
                        }
                    };
                    latest.extend_from_slice(uid.as_bytes());
                    entries.insert(&key[..], &latest[..])?;
                }
                _ => entries.insert(&key[..], value)?,
            }
        }
        numbers.finish()?;
        entries.finish()?;
    }
    txn.delete_table(LEGACY_ADS)?;
    Ok(true)
}

type NumberOf<'a> = dyn Fn(&[u8]) -> Result<Option<u64>> + 'a;

fn legacy_latest(value: &[u8], number_of: &NumberOf<'_>) -> Result<Option<Vec<u8>>> {
    let (Some(seq), Some(hash)) = (
        value.get(..4).and_then(|b| b.try_into().ok()),
        value.get(4..36).and_then(|b| <[u8; 32]>::try_from(b).ok()),
    ) else {
        return Ok(None);
    };
    let Some(record) = number_of(&hash)? else {
        return Ok(None);
    };
    let latest = Latest {
        seq: u32::from_be_bytes(seq),
        hash: adarchive_schema::RecordHash(hash),
        record,
    };
    Ok(Some(latest_value(&latest, "")))
}

fn legacy_version(uid: &str, value: &[u8], number_of: &NumberOf<'_>) -> Result<Option<Vec<u8>>> {
    let Some((version, None)) = codec::decode_stored_version(uid, value) else {
        return Ok(None);
    };
    let (Some(record), Ok(source)) = (
        number_of(&version.record_hash.0)?,
        blake3::Hash::from_hex(&version.source_blake3),
    ) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(value.len() + 8);
    codec::encode_version(&version, source.as_bytes(), record, &mut out);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use redb::ReadableDatabase;

    use super::*;
    use crate::archive::{Archive, NoProgress, RECORDS};
    use crate::check::{rebuild, verify};
    use crate::generate::{generate_samples, GenerateOptions};

    /// Imports a generated Snap export, a newer one in which most ads
    /// changed, and the first one's rows again in another order, so that
    /// those ads have three versions and the third is the record of the
    /// first.
    fn archive_with_versions(dir: &Path) -> PathBuf {
        let exports = dir.join("exports");
        generate_samples(&exports, &GenerateOptions::default()).unwrap();
        let first = exports.join("snap").join("PoliticalAds.csv");
        let bytes = std::fs::read(&first).unwrap();
        let changed = dir.join("PoliticalAds-changed.csv");
        let text = String::from_utf8(bytes.clone()).unwrap();
        std::fs::write(&changed, text.replace("https://", "http://")).unwrap();
        let mut rows: Vec<csv::ByteRecord> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[..])
            .byte_records()
            .map(Result::unwrap)
            .collect();
        rows[1..].reverse();
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for row in &rows {
            writer.write_byte_record(row).unwrap();
        }
        let again = dir.join("PoliticalAds-again.csv");
        std::fs::write(&again, writer.into_inner().unwrap()).unwrap();
        let root = dir.join("data");
        let archive = Archive::open(&root).unwrap();
        for path in [&first, &changed, &again] {
            crate::ingest::import_paths(
                &archive,
                std::slice::from_ref(path),
                Default::default(),
                &NoProgress,
            )
            .unwrap();
        }
        root
    }

    /// Rewrites an archive in the layout before ads were numbered: the
    /// entries of each ad under its uid, latest pointers without the uid,
    /// and no table of numbers.
    fn write_unnumbered_layout(archive: &Archive) {
        let txn = archive.db().begin_write().unwrap();
        {
            let entries = txn.open_table(ADS).unwrap();
            let mut legacy = txn.open_table(LEGACY_ADS).unwrap();
            let mut uid = String::new();
            for item in entries.iter().unwrap() {
                let (key, value) = item.unwrap();
                let (_, tag, rest) = crate::archive::split_ad_key(key.value()).unwrap();
                let mut value = value.value().to_vec();
                if tag == TAG_LATEST {
                    uid = crate::archive::split_latest(&value).unwrap().1.to_owned();
                    value.truncate(LATEST_LEN);
                }
                let mut legacy_key = uid.as_bytes().to_vec();
                legacy_key.extend_from_slice(&[0, tag]);
                legacy_key.extend_from_slice(rest);
                legacy.insert(&legacy_key[..], &value[..]).unwrap();
            }
        }
        txn.delete_table(ADS).unwrap();
        txn.delete_table(AD_NUMBERS).unwrap();
        txn.commit().unwrap();
    }

    /// Rewrites an archive in the layout before versions carried record
    /// numbers: a table from record hash to number, latest pointers without
    /// the number, versions of layout 1 without it (and ads not numbered).
    fn write_legacy_layout(archive: &Archive) {
        write_unnumbered_layout(archive);
        let txn = archive.db().begin_write().unwrap();
        {
            let mut index = txn.open_table(LEGACY_RECORD_INDEX).unwrap();
            let records = txn.open_table(RECORDS).unwrap();
            for item in records.iter().unwrap() {
                let (number, value) = item.unwrap();
                let (hash, _) = codec::decode_record(value.value()).unwrap();
                index.insert(&hash.0[..], number.value()).unwrap();
            }
            let mut ads = txn.open_table(LEGACY_ADS).unwrap();
            let entries: Vec<(Vec<u8>, Vec<u8>)> = ads
                .iter()
                .unwrap()
                .map(|item| {
                    let (key, value) = item.unwrap();
                    (key.value().to_vec(), value.value().to_vec())
                })
                .collect();
            for (key, value) in entries {
                let legacy = match split_legacy_ad_key(&key).unwrap().1 {
                    TAG_LATEST => value[..LEGACY_LATEST_LEN].to_vec(),
                    TAG_VERSION => {
                        let mut old = value[..value.len() - 8].to_vec();
                        old[0] = 1;
                        old
                    }
                    _ => continue,
                };
                ads.insert(&key[..], &legacy[..]).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    fn has_table(archive: &Archive, name: &str) -> bool {
        let txn = archive.db().begin_read().unwrap();
        let found = txn.list_tables().unwrap().any(|t| t.name() == name);
        found
    }

    fn has_legacy_table(archive: &Archive) -> bool {
        has_table(archive, LEGACY_RECORD_INDEX.name())
    }

    #[test]
    fn an_archive_whose_ads_are_not_numbered_is_numbered_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let root = archive_with_versions(dir.path());
        let before = {
            let archive = Archive::open(&root).unwrap();
            let before = histories(&archive);
            write_unnumbered_layout(&archive);
            assert!(has_table(&archive, LEGACY_ADS.name()));
            assert!(archive.latest(&before[0].0).is_err());
            before
        };

        let archive = Archive::open(&root).unwrap();
        assert!(!has_table(&archive, LEGACY_ADS.name()));
        assert_eq!(histories(&archive), before);
        for (uid, versions) in &before {
            assert_eq!(
                archive.latest(uid).unwrap().as_ref(),
                versions.last().map(|v| &v.1)
            );
        }
        // Numbered in uid order, from 0.
        let txn = archive.db().begin_read().unwrap();
        let numbers: Vec<(String, u64)> = txn
            .open_table(AD_NUMBERS)
            .unwrap()
            .iter()
            .unwrap()
            .map(|item| {
                let (uid, number) = item.unwrap();
                (uid.value().to_owned(), number.value())
            })
            .collect();
        drop(txn);
        assert_eq!(numbers.len(), before.len());
        assert!(numbers.iter().enumerate().all(|(i, (_, n))| *n == i as u64));
        let report = verify(&archive).unwrap();
        assert!(report.ok(), "{:?}", report.mismatches);
        assert_eq!(archive.stats().unwrap().ads, before.len() as u64);

        // New ads are numbered after them.
        crate::archive::import_generated_snap(&archive, &dir.path().join("more"), 9);
        let report = verify(&archive).unwrap();
        assert!(report.ok(), "{:?}", report.mismatches);
        assert!(archive.stats().unwrap().ads > before.len() as u64);
    }

    /// Every ad's versions with the record of each.
    fn histories(archive: &Archive) -> Vec<(String, Vec<(u32, adarchive_schema::Ad)>)> {
        let mut uids: Vec<String> = archive
            .observations_in(&archive.sources().unwrap()[0].blake3)
            .unwrap()
            .into_iter()
            .map(|o| o.uid)
            .collect();
        uids.sort();
        uids.dedup();
        uids.into_iter()
            .map(|uid| {
                let versions = archive
                    .history(&uid)
                    .unwrap()
                    .into_iter()
                    .map(|v| {
                        (
                            v.seq,
                            archive.record(&uid, &v.record_hash).unwrap().unwrap(),
                        )
                    })
                    .collect();
                (uid, versions)
            })
            .collect()
    }

    #[test]
    fn an_archive_of_the_earlier_layout_is_moved_to_record_numbers_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let root = archive_with_versions(dir.path());
        let (before, records) = {
            let archive = Archive::open(&root).unwrap();
            let before = histories(&archive);
            let changed = before.iter().filter(|(_, v)| v.len() == 3).count();
            assert!(changed > 100, "{changed} ads changed");
            // An ad that changed back has its first record again, stored once.
            let records = archive.stats().unwrap().records;
            assert_eq!(records, (before.len() + changed) as u64);
            for (_, versions) in before.iter().filter(|(_, v)| v.len() == 3) {
                assert_eq!(versions[2].1, versions[0].1);
            }
            write_legacy_layout(&archive);
            assert!(has_legacy_table(&archive));
            assert!(archive.latest(&before[0].0).is_err());
            (before, records)
        };

        let archive = Archive::open(&root).unwrap();
        assert!(!has_legacy_table(&archive));
        assert_eq!(histories(&archive), before);
        assert_eq!(archive.stats().unwrap().records, records);
        for (uid, versions) in &before {
            assert_eq!(
                archive.latest(uid).unwrap().as_ref(),
                versions.last().map(|v| &v.1)
            );
        }
        let report = verify(&archive).unwrap();
        assert!(report.ok(), "{:?}", report.mismatches);
        let versions: usize = before.iter().map(|(_, v)| v.len()).sum();
        assert_eq!(report.versions, versions as u64);
        drop(archive);
        // Once moved, opening again changes nothing.
        let archive = Archive::open(&root).unwrap();
        assert_eq!(histories(&archive), before);
    }

    #[test]
    fn an_entry_whose_record_the_old_table_lost_is_reported_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let root = archive_with_versions(dir.path());
        let (lost_uid, lost) = {
            let archive = Archive::open(&root).unwrap();
            let histories = histories(&archive);
            let (uid, _) = histories.iter().find(|(_, v)| v.len() == 3).unwrap();
            let uid = uid.clone();
            let first = archive.history(&uid).unwrap()[0].record_hash;
            write_legacy_layout(&archive);
            let txn = archive.db().begin_write().unwrap();
            txn.open_table(LEGACY_RECORD_INDEX)
                .unwrap()
                .remove(&first.0[..])
                .unwrap();
            txn.commit().unwrap();
            (uid, first)
        };

        let archive = Archive::open(&root).unwrap();
        let report = verify(&archive).unwrap();
        assert!(!report.ok());
        // Versions 0 and 2 name the lost record: they stay unreadable (so
        // version 1 seems to supersede nothing), the latest pointer names
        // no record number and so not the last version read, and the
        // stored record has no version; nor can the listings be derived
        // again.
        assert!(
            report
                .mismatches
                .iter()
                .all(|m| m.contains(&lost_uid) || m.contains(&lost.to_string())),
            "{:?}",
            report.mismatches
        );
        assert_eq!(report.mismatches.len(), 6, "{:?}", report.mismatches);
        assert!(archive.history(&lost_uid).is_err());
        assert!(archive.latest(&lost_uid).is_err());
        drop(archive);

        rebuild(&root, &NoProgress).unwrap();
        let archive = Archive::open(&root).unwrap();
        let report = verify(&archive).unwrap();
        assert!(report.ok(), "{:?}", report.mismatches);
        assert_eq!(archive.history(&lost_uid).unwrap().len(), 3);
    }
}
