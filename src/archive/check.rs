//! `adarchive verify` and `adarchive rebuild`: everything derived can be
//! checked against, and re-derived from, the stored source bytes.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use adarchive_importers as importers;
use adarchive_importers::redact::{scan, scan_reader, CredentialScan, ScanReport};
use adarchive_schema::RecordHash;
use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;

use std::collections::HashMap;

use super::advertiser_facts::{gather, PlatformIdentity};
use super::derive::{prepare, Prepared};
use super::ImportCounts;
use crate::archive::SourceJob;
use crate::archive::{
    decode_observation, decode_record, decode_report_row, decode_version, reindex_all,
    split_ad_key, split_latest, Archive, Latest, NoProgress, Progress, SourceEntry, Version, ADS,
    ADVERTISER_FACTS, AD_NUMBERS, DATABASE_FILE, OBSERVATIONS, RATE_ROWS, RECORDS, REPORT_ROWS,
    TAG_LATEST, TAG_VERSION, ZIP_FORMAT,
};
use crate::error::{IoContext, Result};

/// What `verify` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    /// Sources whose bytes were re-hashed.
    pub sources: u64,
    /// Report rows and days of rates re-derived from their raw bytes.
    pub report_rows: u64,
    /// Observations re-derived from their raw bytes.
    pub observations: u64,
    /// Records re-hashed.
    pub records: u64,
    /// Versions whose chain was checked.
    pub versions: u64,
    /// Search index documents checked against the latest versions.
    pub indexed: u64,
    /// Sources imported but not yet in the search index (after an
    /// interrupted import; the next import or `rebuild` indexes them).
    pub index_behind: u64,
    /// Stored sources and records that hold a credential (each also
    /// listed in `mismatches`).
    pub credentials: u64,
    /// Transparency log entries checked (see `adarchive log verify`).
    pub log_entries: u64,
    /// Listings derived again from their sources' observations, with
    /// their changes and the memberships they leave.
    pub listings: u64,
    /// Changes compared with those derived again.
    pub changes: u64,
    /// Everything that does not match, one line each.
    pub mismatches: Vec<String>,
    /// Source files without a manifest entry: left by an interrupted
    /// import, completed by importing the file again. Not an error.
    pub unreferenced_sources: Vec<String>,
}

impl VerifyReport {
    /// True when nothing mismatched.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Re-hashes every stored source, re-runs the importer over each one and
/// compares every observation's raw hash and record hash, re-hashes every
/// record, and checks every version chain.
pub fn verify(archive: &Archive) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let mut advertisers = HashMap::new();
    let entries = archive.sources()?;
    for entry in &entries {
        report.sources += 1;
        check_source_bytes(archive, entry, &mut report)?;
        if entry.format == ZIP_FORMAT {
            for member in &entry.members {
                if let Some(hash) = &member.blake3 {
                    if archive.source(hash)?.is_none() {
                        report.mismatches.push(format!(
                            "bundle {}: member {} ({hash}) is not in the manifest",
                            entry.blake3, member.name
                        ));
                    }
                }
            }
        } else {
            check_observations(archive, entry, &mut report, &mut advertisers)?;
        }
    }
    check_advertisers(archive, &advertisers, &mut report)?;
    check_orphan_rows(archive, &entries, &mut report)?;
    check_records_and_versions(archive, &mut report)?;
    check_index(archive, &mut report)?;
    // A damaged table is one more mismatch, not the end of the check.
    match archive.verify_listings() {
        Ok(listings) => {
            report.listings = listings.listings;
            report.changes = listings.changes;
            report.mismatches.extend(
                listings
                    .problems
                    .into_iter()
                    .map(|p| format!("listings: {p}")),
            );
        }
        Err(e) => report
            .mismatches
            .push(format!("listings: could not be derived again: {e}")),
    }
    let log = archive.verify_log(None, None)?;
    report.log_entries = log.size;
    report.mismatches.extend(
        log.problems
            .into_iter()
            .map(|p| format!("transparency log: {p}")),
    );

    let known: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.blake3.as_str()).collect();
    let dir = archive.root().join("sources");
    for item in fs::read_dir(&dir).at(&dir)? {
        let name = item.at(&dir)?.file_name().to_string_lossy().into_owned();
        if !known.contains(name.as_str()) {
            report.unreferenced_sources.push(name);
        }
    }
    report.unreferenced_sources.sort();
    Ok(report)
}

fn check_source_bytes(
    archive: &Archive,
    entry: &SourceEntry,
    report: &mut VerifyReport,
) -> Result<()> {
    let path = archive.source_path(&entry.blake3);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            report
                .mismatches
                .push(format!("source {}: stored file missing: {e}", entry.blake3));
            return Ok(());
        }
    };
    let mut hasher = blake3::Hasher::new();
    // Credentials are looked for in the bytes as they would be served; a
    // bundle's members are compressed, so they are read one by one below.
    let mut credentials = (entry.format != ZIP_FORMAT).then(CredentialScan::default);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).at(&path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(scan) = &mut credentials {
            scan.update(&buf[..n]);
        }
        size += n as u64;
    }
    let actual = hasher.finalize().to_hex().to_string();
    if actual != entry.blake3 || size != entry.size {
        report.mismatches.push(format!(
            "source {}: stored bytes hash to {actual} ({size} bytes, manifest says {})",
            entry.blake3, entry.size
        ));
    }
    let found = match credentials {
        Some(scan) => scan.finish(),
        None => scan_bundle(&path)?,
    };
    if !found.clean() {
        report.credentials += 1;
        report.mismatches.push(format!(
            "source {} ({}): {}; this file must not be served: {}",
            entry.blake3,
            entry.reading_name(),
            describe_credentials(&found),
            REMOVE_CREDENTIALS
        ));
    }
    Ok(())
}

/// What to do about a stored file that holds a credential.
const REMOVE_CREDENTIALS: &str = "stop serving this archive, delete the file from sources/, \
import the original again (it is stored redacted now) and run `adarchive rebuild`";

fn describe_credentials(found: &ScanReport) -> String {
    let mut parts = Vec::new();
    if found.unredacted > 0 {
        parts.push(format!(
            "{} credential value(s) not redacted",
            found.unredacted
        ));
    }
    if let Some(live) = &found.live {
        parts.push(live.to_string());
    }
    parts.join("; ")
}

/// Scans every member of a stored bundle for credentials.
fn scan_bundle(path: &Path) -> Result<ScanReport> {
    let mut found = ScanReport::default();
    let file = File::open(path).at(path)?;
    // An unreadable bundle is reported by its members' checks.
    let Ok(mut zip) = zip::ZipArchive::new(io::BufReader::new(file)) else {
        return Ok(found);
    };
    for i in 0..zip.len() {
        let Ok(mut member) = zip.by_index(i) else {
            continue;
        };
        let name = member.name_raw().to_vec();
        let names = scan(&name);
        let member = scan_reader(&mut member).at(path)?;
        found.unredacted += names.unredacted + member.unredacted;
        found.live = found.live.or(names.live).or(member.live);
    }
    Ok(found)
}

/// Every stored report row and day of rates belongs to a source in the
/// manifest.
fn check_orphan_rows(
    archive: &Archive,
    entries: &[SourceEntry],
    report: &mut VerifyReport,
) -> Result<()> {
    let known: std::collections::HashSet<[u8; 32]> = entries
        .iter()
        .filter_map(|e| blake3::Hash::from_hex(&e.blake3).ok())
        .map(|h| *h.as_bytes())
        .collect();
    let txn = archive.db().begin_read()?;
    for (table, what) in [(REPORT_ROWS, "report rows"), (RATE_ROWS, "days of rates")] {
        let table = txn.open_table(table)?;
        let mut orphans = 0u64;
        for item in table.iter()? {
            let (key, _) = item?;
            let source: Option<[u8; 32]> = key.value().get(..32).and_then(|b| b.try_into().ok());
            if source.is_none_or(|s| !known.contains(&s)) {
                orphans += 1;
            }
        }
        if orphans > 0 {
            report.mismatches.push(format!(
                "{orphans} {what} belong to no source in the manifest; `adarchive rebuild` drops them"
            ));
        }
    }
    Ok(())
}

/// The advertiser facts table must be what every source says, no more.
fn check_advertisers(
    archive: &Archive,
    expected: &HashMap<String, PlatformIdentity>,
    report: &mut VerifyReport,
) -> Result<()> {
    let txn = archive.db().begin_read()?;
    let table = txn.open_table(ADVERTISER_FACTS)?;
    let mut stored = 0usize;
    for item in table.iter()? {
        let (key, value) = item?;
        stored += 1;
        let key = key.value();
        let facts: Option<PlatformIdentity> = serde_json::from_slice(value.value()).ok();
        if facts.as_ref() != expected.get(key) {
            report.mismatches.push(format!(
                "advertiser {key}: the archived facts differ from what its sources say; `adarchive rebuild` re-derives them"
            ));
        }
    }
    if stored != expected.len() {
        report.mismatches.push(format!(
            "advertisers: {stored} archived, the sources name {}; `adarchive rebuild` re-derives them (archives made before advertisers were recorded need it once)",
            expected.len()
        ));
    }
    Ok(())
}

fn check_observations(
    archive: &Archive,
    entry: &SourceEntry,
    report: &mut VerifyReport,
    advertisers: &mut HashMap<String, PlatformIdentity>,
) -> Result<()> {
    let source = &entry.blake3;
    let Some(importer) = importers::by_name(&entry.format) else {
        report.mismatches.push(format!(
            "source {source}: no importer named {}",
            entry.format
        ));
        return Ok(());
    };
    if entry.importer_version.as_deref() != Some(importer.version()) {
        report.mismatches.push(format!(
            "source {source}: derived by {} version {:?}, this build has version {}; run `adarchive rebuild`",
            entry.format,
            entry.importer_version,
            importer.version()
        ));
    }
    let Some(stored) = archive.source_rows(source)? else {
        report
            .mismatches
            .push(format!("source {source}: not a blake3 hash"));
        return Ok(());
    };
    let mut reader = match archive.open_source(source) {
        Ok(r) => r,
        Err(_) => return Ok(()), // already reported as missing
    };
    let mut ordinal = 0u64;
    let mut counts = ImportCounts::default();
    let mut failure = None;
    let mut listed = 0;
    // Records are compared by their hash, not by their stored bytes.
    let mut plain = super::codec::RecordCompressor::plain();
    let name = entry.reading_name();
    let outcome = importer.read_named(name, &mut reader, &mut |item| {
        gather(advertisers, &item);
        let at = |line: u64| format!("source {source} line {line}");
        // Re-derived exactly as an import derives what it stores.
        let checked = match prepare(item, source, name, None, &mut plain, &mut listed) {
            Prepared::Row {
                rates,
                locator,
                stored: derived,
                ..
            } => {
                let what = if rates { "day of rates" } else { "report row" };
                if rates {
                    counts.rate_rows += 1;
                } else {
                    counts.report_rows += 1;
                }
                stored.row(rates, ordinal).map(|row| {
                    let derived = decode_report_row(&derived);
                    match (row, derived) {
                        (None, _) => report
                            .mismatches
                            .push(format!("{}: the {what} is not in the archive", at(locator.line))),
                        (Some(None), _) | (_, None) => report
                            .mismatches
                            .push(format!("{}: the stored {what} is damaged", at(locator.line))),
                        (Some(Some(s)), Some(d)) => {
                            if s.locator != d.locator || s.raw_hash != d.raw_hash {
                                report.mismatches.push(format!(
                                    "{}: the {what}'s raw bytes differ from the stored source",
                                    at(locator.line)
                                ));
                            } else if s.row_hash != d.row_hash
                                || RecordHash::of(&s.canonical) != s.row_hash
                            {
                                report.mismatches.push(format!(
                                    "{}: the {what} hashes to {}, archive says {}",
                                    at(locator.line),
                                    d.row_hash,
                                    s.row_hash
                                ));
                            }
                        }
                    }
                })
            }
            Prepared::Record {
                uid,
                locator,
                raw_hash,
                record_hash,
                ..
            } => {
                counts.records += 1;
                report.observations += 1;
                stored.observation(ordinal).map(|obs| match obs {
                    Some(obs) if obs.uid != uid || obs.locator != locator => {
                        report.mismatches.push(format!(
                            "{}: observation {ordinal} is {} at {:?}, re-reading gives {uid} at {locator:?}",
                            at(locator.line),
                            obs.uid,
                            obs.locator,
                        ));
                    }
                    Some(obs) if obs.raw_hash != raw_hash => {
                        report.mismatches.push(format!(
                            "{}: raw bytes of {} hash to {}, archive says {}",
                            at(locator.line),
                            obs.uid,
                            hex(&raw_hash),
                            hex(&obs.raw_hash)
                        ));
                    }
                    Some(obs) if obs.record_hash != record_hash => {
                        report.mismatches.push(format!(
                            "{}: record of {} hashes to {record_hash}, archive says {}",
                            at(locator.line),
                            obs.uid,
                            obs.record_hash
                        ));
                    }
                    Some(_) => {}
                    None => report.mismatches.push(format!(
                        "{}: {uid} has no observation in the archive",
                        at(locator.line)
                    )),
                })
            }
            Prepared::Problem(problem) => {
                counts.quarantined += 1;
                report.observations += 1;
                stored.observation(ordinal).map(|obs| {
                    if obs.is_some() {
                        report.mismatches.push(format!(
                            "{}: the row is unreadable ({}) but the archive has an observation for it",
                            at(problem.line),
                            problem.reason
                        ));
                    }
                })
            }
            Prepared::Advertisers(_) | Prepared::Years(_) | Prepared::Dictionary(_) => Ok(()),
        };
        match checked {
            Ok(()) => {}
            Err(crate::Error::Damaged { what, reason }) => {
                report.mismatches.push(format!("{what}: {reason}"));
            }
            Err(e) => {
                failure = Some(e);
                return Err("database read failed".into());
            }
        }
        ordinal += 1;
        Ok(())
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Err(e) = outcome {
        report
            .mismatches
            .push(format!("source {source}: cannot be re-read: {e}"));
    }
    let archived = stored.counts()?;
    report.report_rows += counts.report_rows + counts.rate_rows;
    if archived.report_rows != counts.report_rows
        || counts.report_rows != entry.report_rows
        || archived.rate_rows != counts.rate_rows
        || counts.rate_rows != entry.rate_rows
    {
        report.mismatches.push(format!(
            "source {source}: re-reading gives {} report rows and {} days of \
             rates; the archive has {} and {}, the manifest says {} and {}",
            counts.report_rows,
            counts.rate_rows,
            archived.report_rows,
            archived.rate_rows,
            entry.report_rows,
            entry.rate_rows
        ));
    }
    if archived.observations != counts.records
        || counts.records != entry.records
        || counts.quarantined != entry.quarantined
    {
        report.mismatches.push(format!(
            "source {source}: re-reading gives {} records and {} quarantined rows; \
             the archive has {} observations and the manifest says {} and {}",
            counts.records,
            counts.quarantined,
            archived.observations,
            entry.records,
            entry.quarantined
        ));
    }
    Ok(())
}

fn check_records_and_versions(archive: &Archive, report: &mut VerifyReport) -> Result<()> {
    let txn = archive.db().begin_read()?;
    let records = txn.open_table(RECORDS)?;
    // Record number, the hash it is filed under (none when it cannot be
    // read, which is reported once, here), whether a version refers to it;
    // in number order, as the table iterates.
    let mut filed: Vec<(u64, Option<RecordHash>, bool)> = Vec::new();
    for item in records.iter()? {
        let (number, value) = item?;
        report.records += 1;
        match decode_record(value.value()) {
            Some((hash, canonical)) => {
                let actual = RecordHash::of(&canonical);
                if actual != hash {
                    report
                        .mismatches
                        .push(format!("record {hash}: stored JSON hashes to {actual}"));
                }
                let found = scan(&canonical);
                if !found.clean() {
                    report.credentials += 1;
                    report.mismatches.push(format!(
                        "record {hash}: {}; it must not be served: {REMOVE_CREDENTIALS}",
                        describe_credentials(&found)
                    ));
                }
                filed.push((number.value(), Some(hash), false));
            }
            None => {
                report.mismatches.push(format!(
                    "record number {}: cannot be decompressed",
                    number.value()
                ));
                filed.push((number.value(), None, false));
            }
        }
    }
    let ads = txn.open_table(ADS)?;
    let numbers = txn.open_table(AD_NUMBERS)?;
    let mut numbered = 0u64;
    // Per ad number, keys sort as latest ('l', which names the ad's uid),
    // observations ('o'), versions ('v').
    let mut current: Option<AdState> = None;
    let finish = |state: &AdState, report: &mut VerifyReport| {
        let (_, uid, pointer, last) = state;
        let last = last.as_ref().map(|(v, record)| Latest {
            seq: v.seq,
            hash: v.record_hash,
            record: *record,
        });
        if *pointer != last {
            report.mismatches.push(format!(
                "ad {uid}: latest is {pointer:?}, its last version is {last:?}"
            ));
        }
    };
    for item in ads.iter()? {
        let (key, value) = item?;
        let Some((number, tag, _)) = split_ad_key(key.value()) else {
            report
                .mismatches
                .push(format!("unreadable ad key {}", hex(key.value())));
            continue;
        };
        if current.as_ref().is_none_or(|c| c.0 != number) {
            if let Some(state) = &current {
                finish(state, report);
            }
            current = Some(match (tag, split_latest(value.value())) {
                (TAG_LATEST, Some((latest, uid))) => {
                    numbered += 1;
                    let listed = numbers.get(uid)?.map(|n| n.value());
                    if listed != Some(number) {
                        report.mismatches.push(format!(
                            "ad {uid}: its entries are under number {number}, the table of ad numbers says {listed:?}"
                        ));
                    }
                    (number, uid.to_owned(), Some(latest), None)
                }
                _ => {
                    report.mismatches.push(format!(
                        "ad number {number}: its first entry is not a readable latest version naming the ad"
                    ));
                    (number, format!("number {number}"), None, None)
                }
            });
            if tag == TAG_LATEST {
                continue;
            }
        }
        let Some(state) = current.as_mut() else {
            continue;
        };
        let uid = state.1.as_str();
        match tag {
            TAG_LATEST => {
                report
                    .mismatches
                    .push(format!("ad {uid}: a second latest entry"));
            }
            TAG_VERSION => {
                let Some((version, record)) = decode_version(uid, value.value()) else {
                    report
                        .mismatches
                        .push(format!("ad {uid}: unreadable version"));
                    continue;
                };
                report.versions += 1;
                match filed.binary_search_by_key(&record, |f| f.0) {
                    Ok(at) => {
                        filed[at].2 = true;
                        if let Some(stored) = filed[at].1.filter(|h| *h != version.record_hash) {
                            report.mismatches.push(format!(
                                "ad {uid} version {}: names record {}, but record number {record} is {stored}",
                                version.seq, version.record_hash
                            ));
                        }
                    }
                    Err(_) => report.mismatches.push(format!(
                        "ad {uid} version {}: record {} (number {record}) is missing",
                        version.seq, version.record_hash
                    )),
                }
                let expected = match &state.3 {
                    Some((prev, _)) => (prev.seq + 1, Some(prev.record_hash)),
                    None => (0, None),
                };
                if (version.seq, version.supersedes) != expected {
                    report.mismatches.push(format!(
                        "ad {uid} version {}: supersedes {:?}, expected version {} superseding {:?}",
                        version.seq, version.supersedes, expected.0, expected.1
                    ));
                }
                state.3 = Some((version, record));
            }
            _ => {}
        }
    }
    if let Some(state) = &current {
        finish(state, report);
    }
    let listed = redb::ReadableTableMetadata::len(&numbers)?;
    if listed != numbered {
        report.mismatches.push(format!(
            "the table of ad numbers lists {listed} uids, the per-ad entries {numbered} ads"
        ));
    }
    for (number, hash, _) in filed.iter().filter(|f| !f.2) {
        let hash = hash.map_or_else(|| "that cannot be read".to_owned(), |h| h.to_string());
        report.mismatches.push(format!(
            "record {hash} (number {number}): no version of any ad refers to it"
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many index mismatches are listed one by one.
const INDEX_MISMATCHES_LISTED: usize = 20;

/// The index must reflect every source and hold exactly the latest version
/// of every ad.
fn check_index(archive: &Archive, report: &mut VerifyReport) -> Result<()> {
    let Some(index) = archive.index() else {
        return Ok(());
    };
    let sources = archive.source_count()?;
    let state = index.state()?;
    if state.sources > sources {
        report.mismatches.push(format!(
            "search index: reflects {} sources but the archive has {sources}; `adarchive rebuild` recreates it",
            state.sources
        ));
        return Ok(());
    }
    if state.sources < sources {
        // An import stopped between the archive's commit and the index's:
        // the archive is whole and the next import indexes what is missing.
        report.index_behind = sources - state.sources;
        return Ok(());
    }
    let searcher = index.searcher();
    let (mut docs, mut wrong) = (0u64, 0usize);
    let mut uid = String::new();
    let mut seen = std::collections::HashSet::new();
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let uids = fast.str("uid").map_err(crate::index::IndexError::from)?;
        let hashes = fast
            .u64("record_hash")
            .map_err(crate::index::IndexError::from)?;
        let Some(uids) = uids else { continue };
        for doc in segment.doc_ids_alive() {
            docs += 1;
            uid.clear();
            let found = uids
                .term_ords(doc)
                .next()
                .map(|ord| uids.ord_to_str(ord, &mut uid))
                .transpose()
                .map_err(|e| crate::index::IndexError::from(tantivy::TantivyError::from(e)))?
                .unwrap_or(false);
            // An unreadable latest pointer is a mismatch of the archive,
            // reported with the versions; here it only means no match.
            let latest = match found.then(|| archive.latest_hash(&uid)).transpose() {
                Ok(latest) => latest.flatten(),
                Err(crate::Error::Damaged { .. }) => None,
                Err(e) => return Err(e),
            };
            let indexed = hashes.first(doc);
            let expected = latest.map(|h| crate::index::schema::hash_prefix(&h.0));
            let duplicate = !seen.insert(uid.clone());
            if expected.is_none() || indexed != expected || duplicate {
                wrong += 1;
                if wrong <= INDEX_MISMATCHES_LISTED {
                    report.mismatches.push(format!(
                        "search index: document {uid:?} is not the latest version of an archived ad{}",
                        if duplicate { " (indexed twice)" } else { "" }
                    ));
                }
            }
        }
    }
    if wrong > INDEX_MISMATCHES_LISTED {
        report.mismatches.push(format!(
            "search index: … {} more such documents",
            wrong - INDEX_MISMATCHES_LISTED
        ));
    }
    let ads = archive.stats()?.ads;
    if docs != ads {
        report.mismatches.push(format!(
            "search index: {docs} documents for {ads} ads; `adarchive rebuild` recreates it"
        ));
    }
    report.indexed = docs;
    Ok(())
}

/// While checking one ad: its uid, latest pointer and last version seen.
/// An ad's uid, its latest pointer, and its last version so far with its
/// record number.
/// An ad met in a scan of the per-ad entries: its number, its uid, its
/// latest pointer and its last version so far.
type AdState = (u64, String, Option<Latest>, Option<(Version, u64)>);

/// What `rebuild` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RebuildReport {
    /// Sources re-derived (bundles included).
    pub sources: u64,
    /// Observations re-derived.
    pub observations: u64,
    /// Observations whose record hash differs from before the rebuild.
    pub changed_record_hashes: u64,
    /// Sources that could not be re-derived, with the reason.
    pub failures: Vec<String>,
    /// Ads in the recreated search index.
    pub indexed: u64,
}

/// Re-derives the whole archive from the stored sources into a new
/// database, in the original import order with the original import times,
/// then swaps it in atomically.
pub fn rebuild(root: &Path, progress: &dyn Progress) -> Result<RebuildReport> {
    let old = Archive::open(root)?;
    let entries = old.sources()?;
    let tmp_db = root.join(format!("{DATABASE_FILE}.rebuild"));
    match fs::remove_file(&tmp_db) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).at(&tmp_db),
    }
    let mut report = RebuildReport::default();
    {
        let new = Archive::open_database(root, &tmp_db)?;
        // The log is never rewritten: the rebuilt database keeps the one
        // the old database signed, and each source re-committed finds its
        // entry there.
        let txn = new.db().begin_write()?;
        crate::tlog::copy_log(&old.db().begin_read()?, &txn)?;
        Archive::copy_relistings(&old.db().begin_read()?, &txn)?;
        new.commit(txn)?;
        for entry in &entries {
            let writer = new.begin_source(&entry.blake3, None)?;
            let mut rebuilt = entry.clone();
            let mut quarantine = None;
            let mut listing = None;
            if entry.format != ZIP_FORMAT {
                let Some(importer) = importers::by_name(&entry.format) else {
                    report.failures.push(format!(
                        "{}: no importer named {}",
                        entry.blake3, entry.format
                    ));
                    continue;
                };
                let name = entry.reading_name();
                progress.start(name, entry.size);
                let job = SourceJob {
                    blake3: &entry.blake3,
                    name,
                    importer,
                    observed_at: entry.imported_at,
                    listing_scope: entry
                        .listing_scope
                        .clone()
                        .map(adarchive_importers::ListingScope::Named),
                };
                let derived = writer.derive(&job, progress, None)?;
                progress.finish();
                let mut derived = match derived {
                    Ok(d) => d,
                    Err(reason) => {
                        report.failures.push(format!("{}: {reason}", entry.blake3));
                        continue;
                    }
                };
                rebuilt.set_counts(&derived.counts);
                rebuilt.importer_version = Some(importer.version().to_owned());
                report.observations += derived.counts.records;
                quarantine = derived.quarantine_tmp.take();
                listing = derived.listing.take();
            }
            writer.commit(rebuilt, quarantine, listing.as_ref(), None)?;
            new.replay_relistings(entry.seq)?;
            report.sources += 1;
        }
        new.checkpoint()?;
        report.changed_record_hashes = count_changed(&old, &new)?;
    }
    drop(old);
    crate::archive::persist(&tmp_db, &root.join(DATABASE_FILE))?;
    let archive = Archive::open(root)?;
    report.indexed = reindex_all(&archive)?;
    Ok(report)
}

/// Observations present in both archives whose record hash differs, plus
/// those present in only one.
fn count_changed(old: &Archive, new: &Archive) -> Result<u64> {
    let old_txn = old.db().begin_read()?;
    let new_txn = new.db().begin_read()?;
    let old_obs = old_txn.open_table(OBSERVATIONS)?;
    let new_obs = new_txn.open_table(OBSERVATIONS)?;
    let mut changed = 0u64;
    for item in new_obs.iter()? {
        let (key, value) = item?;
        let now = decode_observation(value.value())
            .ok_or_else(|| crate::archive::damaged("observation", "unreadable"))?;
        match old_obs.get(key.value())? {
            Some(before) => {
                let before = decode_observation(before.value())
                    .ok_or_else(|| crate::archive::damaged("observation", "unreadable"))?;
                if before.record_hash != now.record_hash {
                    changed += 1;
                }
            }
            None => changed += 1,
        }
    }
    let (old_len, new_len) = (
        redb::ReadableTableMetadata::len(&old_obs)?,
        redb::ReadableTableMetadata::len(&new_obs)?,
    );
    Ok(changed + old_len.saturating_sub(new_len))
}

/// Progress that prints nothing; the default for library callers.
pub fn quiet() -> &'static dyn Progress {
    &NoProgress
}
