//! Bringing the search index up to date with the archive.

use std::collections::HashSet;

use redb::{ReadableDatabase, ReadableTable};

use super::listings::{status_in, AD_SCOPES, CHANGES, LISTED};
use super::{
    change_key, split_ad_key, split_latest, stored_record, Archive, ADS, RECORDS, TAG_LATEST,
    ZIP_FORMAT,
};
use crate::error::Result;
use crate::index::IndexState;

/// Indexes the ads of every source imported after the index's last commit
/// (after a crash between the two commits), and those whose status a
/// listing among them changed. Returns how many ads it indexed.
pub fn catch_up_index(archive: &Archive) -> Result<u64> {
    let Some(index) = archive.index() else {
        return Ok(0);
    };
    let sources = archive.source_count()?;
    let state = index.state()?;
    if state.sources >= sources {
        return Ok(0);
    }
    let updates = index.begin()?;
    let mut seen = HashSet::new();
    let mut indexed = 0;
    let txn = archive.db().begin_read()?;
    let (ad_scopes, listed) = (txn.open_table(AD_SCOPES)?, txn.open_table(LISTED)?);
    let changes = txn.open_table(CHANGES)?;
    let listings = archive.listings()?;
    for entry in archive.sources()? {
        if entry.seq < state.sources || entry.format == ZIP_FORMAT {
            continue;
        }
        let mut uids: Vec<String> = archive
            .observations_in(&entry.blake3)?
            .into_iter()
            .map(|observation| observation.uid)
            .collect();
        for listing in listings.iter().filter(|l| l.seq == entry.seq) {
            let (from, to) = (change_key(listing.id, 0), change_key(listing.id + 1, 0));
            for item in changes.range(&from[..]..&to[..])? {
                let (key, value) = item?;
                if let Some(change) = super::listings::decode_change(key.value(), value.value()) {
                    uids.push(change.uid);
                }
            }
        }
        for uid in uids {
            if !seen.insert(uid.clone()) {
                continue;
            }
            // The document carries the archive's own hash of the record,
            // never one recomputed from the decoded record.
            let Some((hash, ad)) = archive.latest_with_hash(&uid)? else {
                continue;
            };
            let mut doc = updates.document(&ad, &hash);
            updates.add_status(&mut doc, status_in(&ad_scopes, &listed, &uid)?.as_str());
            updates.upsert(&ad.uid, doc, true)?;
            indexed += 1;
        }
    }
    updates.commit(IndexState { sources })?;
    Ok(indexed)
}

/// Recreates the index from the latest version of every ad.
pub fn reindex_all(archive: &Archive) -> Result<u64> {
    let Some(index) = archive.index() else {
        return Ok(0);
    };
    let sources = archive.source_count()?;
    let updates = index.begin()?;
    updates.clear()?;
    let txn = archive.db().begin_read()?;
    let ads = txn.open_table(ADS)?;
    let records = txn.open_table(RECORDS)?;
    let (ad_scopes, listed) = (txn.open_table(AD_SCOPES)?, txn.open_table(LISTED)?);
    let mut indexed = 0;
    for item in ads.iter()? {
        let (key, value) = item?;
        let Some((number, TAG_LATEST, _)) = split_ad_key(key.value()) else {
            continue;
        };
        let (latest, uid) = split_latest(value.value())
            .ok_or_else(|| super::damaged(&format!("ad number {number}"), "bad latest pointer"))?;
        let canonical = stored_record(&records, latest.record, &latest.hash)?;
        let ad: adarchive_schema::Ad = super::decode(uid, &canonical)?;
        let mut doc = updates.document(&ad, &latest.hash);
        updates.add_status(&mut doc, status_in(&ad_scopes, &listed, uid)?.as_str());
        updates.upsert(uid, doc, false)?;
        indexed += 1;
    }
    updates.commit(IndexState { sources })?;
    Ok(indexed)
}
