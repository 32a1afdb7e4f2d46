//! Deriving observations, records and versions from one stored source,
//! inside the caller's write transaction. Import and rebuild both run this,
//! which is why a rebuild reproduces every record hash.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use std::collections::HashMap;

use adarchive_importers::{Entry, Importer, ListingScope, ReadError};
use adarchive_schema::{RecordHash, Timestamp};
use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;

use super::advertiser_facts::{gather, PlatformIdentity};
use super::codec::RecordCompressor;
use super::listings::{
    draft_ad, open_draft, status_in, AdStatus, ListingDraft, ListingSubject, AD_SCOPES, LISTED,
    OWN_ROWS,
};
use super::runs::Run;
use super::{
    ad_key, codec, latest_value, observation_key, tempfile_in, Archive, ImportCounts, Latest,
    QuarantineEntry, Version, WriteAdEntries, ADVERTISER_FACTS, DICTIONARIES, OBSERVATIONS,
    RATE_ROWS, RECORDS, REPORT_ROWS, TAG_LATEST, TAG_OBSERVATION, TAG_VERSION,
};
use crate::error::{IoContext, Result};
use crate::index::Updates;

/// Told how far the reading of a source has come, for progress bars.
pub trait Progress {
    /// A new file of `len` bytes starts.
    fn start(&self, _name: &str, _len: u64) {}
    /// `offset` bytes of the current file are done.
    fn advance(&self, _offset: u64) {}
    /// The current file is done.
    fn finish(&self) {}
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {}

/// A row that could not be read, as shown in import reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ProblemNote {
    /// 1-based line.
    pub line: u64,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

/// How many problems an import report lists one by one; all of them are in
/// the quarantine file.
pub const PROBLEMS_LISTED: usize = 20;

/// A value kept verbatim in `unmapped` because it could not be normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnnormalizedValue {
    /// 1-based line of its row.
    pub line: u64,
    /// Its field, by the source's name.
    pub field: String,
    /// The value as published (cut at [`UNNORMALIZED_VALUE_CHARS`]
    /// characters, then `…`).
    pub value: String,
}

/// How many values that could not be normalized an import report lists;
/// all of them stay in their records' `unmapped`.
pub const UNNORMALIZED_LISTED: usize = 20;

/// How much of one such value a report shows.
pub const UNNORMALIZED_VALUE_CHARS: usize = 200;

/// Values of one row that could not be normalized: how many, and those of
/// them a report still has room to list.
#[derive(Debug, Default)]
pub(crate) struct Unnormalized {
    count: u64,
    listed: Vec<UnnormalizedValue>,
}

/// The values named by `fields`, as `unmapped` keeps them; only while
/// fewer than [`UNNORMALIZED_LISTED`] have been `listed` in the file are
/// they copied, so a file full of them costs no more than a count.
fn unnormalized(
    line: u64,
    fields: Vec<String>,
    unmapped: &std::collections::BTreeMap<String, serde_json::Value>,
    listed: &mut usize,
) -> Unnormalized {
    let room = UNNORMALIZED_LISTED.saturating_sub(*listed);
    let values: Vec<UnnormalizedValue> = fields
        .iter()
        .take(room)
        .map(|field| {
            let value = match unmapped.get(field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let value = match value.char_indices().nth(UNNORMALIZED_VALUE_CHARS) {
                Some((cut, _)) => format!("{}…", &value[..cut]),
                None => value,
            };
            UnnormalizedValue {
                line,
                field: field.clone(),
                value,
            }
        })
        .collect();
    *listed += values.len();
    Unnormalized {
        count: fields.len() as u64,
        listed: values,
    }
}

/// What deriving one source produced.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub counts: ImportCounts,
    pub problems: Vec<ProblemNote>,
    /// The first values that could not be normalized.
    pub unnormalized_values: Vec<UnnormalizedValue>,
    /// The quarantine file, written and synced, to be put in place before
    /// the transaction commits.
    pub quarantine_tmp: Option<PathBuf>,
    /// For a complete listing, its scope; the ads it lists are in the
    /// transaction's listing draft.
    pub listing: Option<ListingDraft>,
}

impl Derived {
    fn note_unnormalized(&mut self, values: Unnormalized) {
        self.counts.unnormalized += values.count;
        let room = UNNORMALIZED_LISTED.saturating_sub(self.unnormalized_values.len());
        self.unnormalized_values
            .extend(values.listed.into_iter().take(room));
    }
}

/// A record or problem made ready for storage by the parsing thread.
pub(crate) enum Prepared {
    Record {
        uid: String,
        locator: adarchive_importers::Locator,
        raw_hash: [u8; 32],
        record_hash: RecordHash,
        /// The record as stored: hash and compressed canonical JSON.
        stored: Vec<u8>,
        unnormalized: Unnormalized,
        /// The search document, when the index is being kept current.
        document: Option<tantivy::TantivyDocument>,
    },
    /// A report row or a day of rates: not an ad, stored by position.
    Row {
        rates: bool,
        locator: adarchive_importers::Locator,
        /// The row as stored (see `codec::encode_report_row`).
        stored: Vec<u8>,
        unnormalized: Unnormalized,
    },
    Problem(QuarantineEntry),
    /// What the source says of its advertisers: in parts of
    /// [`ADVERTISERS_PER_BATCH`] once it has records, the rest at the end.
    Advertisers(HashMap<String, PlatformIdentity>),
    /// How many of its ads were first shown in each year, sent once at
    /// the end (a yearly listing whose name lost its year says it so).
    Years(std::collections::BTreeMap<i32, u64>),
    /// The dictionary the source's records were compressed against, made
    /// from its first records, to be stored with them.
    Dictionary(Vec<u8>),
}

/// How many prepared items travel between the threads at once.
const BATCH: usize = 64;
/// How many advertisers a source's parsing gathers before it hands them
/// to the writer (once the source has records): a few MB at most with one
/// advertiser per ad, and no extra merges with the table for a file of
/// fewer advertisers.
const ADVERTISERS_PER_BATCH: usize = 8_192;

/// One stored source to derive records from.
pub(crate) struct SourceJob<'a> {
    pub blake3: &'a str,
    /// The name it was imported under, for quarantine entries.
    pub name: &'a str,
    pub importer: &'a dyn Importer,
    /// The time every observation gets.
    pub observed_at: Timestamp,
    /// The scope of which the source is a complete listing, if it is one
    /// (see [`Importer::listing_scope`]).
    pub listing_scope: Option<ListingScope>,
}

/// Derives everything from the stored source of `job` into `txn`.
///
/// A thread of its own reads the source (see [`parse_source`]); this thread
/// writes everything, in order, into the transaction and hands new
/// documents to the index writer, whose own thread indexes them.
///
/// Returns `Ok(Err(reason))` when the source cannot be read as a whole (the
/// caller must then not commit), and `Err` when the archive itself failed.
pub(crate) fn derive_source(
    archive: &Archive,
    txn: &WriteTransaction,
    job: &SourceJob<'_>,
    progress: &dyn Progress,
    index: Option<&Updates<'_>>,
) -> Result<std::result::Result<Derived, String>> {
    let mut reader = archive.open_source(job.blake3)?;
    let compressor = archive.record_compressor(job.importer.name())?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(PARSED_AHEAD);
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("parse".into())
            .spawn_scoped(scope, move || {
                parse_source(
                    job.importer,
                    job.name,
                    job.blake3,
                    &mut reader,
                    index,
                    compressor,
                    &tx,
                )
            });
        let parser = parser.map_err(|e| crate::Error::Io {
            path: archive.tmp_dir(),
            source: e,
        })?;
        let written = write_prepared(archive, txn, job, rx, progress, index);
        let outcome = parser
            .join()
            .unwrap_or_else(|_| Err("the parsing thread failed".into()));
        finish_derived(archive, txn, job, written, outcome, index)
    })
}

/// Batches a parsing thread may have ready before the writer takes them.
pub(crate) const PARSED_AHEAD: usize = 8;

/// Prepared items on their way from a parsing thread to the writer.
pub(crate) type Parsed = Vec<Prepared>;

/// Reads one source on the calling thread: maps each row, canonicalizes,
/// hashes and compresses the record, hashes the raw bytes and builds the
/// search document, sending them in batches to `tx`. `Err` names why the
/// source cannot be read as a whole.
pub(crate) fn parse_source(
    importer: &dyn Importer,
    name: &str,
    blake3: &str,
    reader: &mut dyn std::io::Read,
    index: Option<&Updates<'_>>,
    compressor: RecordCompressor,
    tx: &std::sync::mpsc::SyncSender<Parsed>,
) -> std::result::Result<(), String> {
    parse_source_in_parts(
        importer,
        (name, blake3),
        reader,
        index,
        compressor,
        tx,
        ADVERTISERS_PER_BATCH,
    )
}

/// [`parse_source`], handing over the advertisers in parts of
/// `advertisers_per_part` once the source has records.
fn parse_source_in_parts(
    importer: &dyn Importer,
    (name, blake3): (&str, &str),
    reader: &mut dyn std::io::Read,
    index: Option<&Updates<'_>>,
    mut compressor: RecordCompressor,
    tx: &std::sync::mpsc::SyncSender<Parsed>,
    advertisers_per_part: usize,
) -> std::result::Result<(), String> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut advertisers = HashMap::new();
    let mut years = std::collections::BTreeMap::new();
    let mut listed = 0;
    let outcome = importer.read_named(name, reader, &mut |entry| {
        gather(&mut advertisers, &entry);
        if let Entry::Record(r) = &entry {
            if let Some(shown) = r.ad.first_shown {
                *years
                    .entry(shown.as_offset_date_time().year())
                    .or_insert(0u64) += 1;
            }
        }
        batch.push(prepare(
            entry,
            blake3,
            name,
            index,
            &mut compressor,
            &mut listed,
        ));
        // With one advertiser per ad, or a spend report of a million
        // advertisers, a large file would hold them all in memory; the
        // writer merges each part into the table while this thread reads
        // on.
        if advertisers.len() >= advertisers_per_part {
            batch.push(Prepared::Advertisers(std::mem::take(&mut advertisers)));
        }
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            tx.send(full).map_err(|_| "the archive stopped writing")?;
        }
        Ok(())
    });
    if !advertisers.is_empty() {
        batch.push(Prepared::Advertisers(advertisers));
    }
    if !years.is_empty() {
        batch.push(Prepared::Years(years));
    }
    if let Some(made) = compressor.take_made() {
        batch.push(Prepared::Dictionary(made));
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    outcome.map_err(|e: ReadError| e.to_string())
}

/// Writes what a parsing thread sends for `job` into `txn`, in order, and
/// hands new documents to the index writer; the parsing thread's `outcome`
/// decides whether the source can be committed.
pub(crate) fn derive_parsed(
    archive: &Archive,
    txn: &WriteTransaction,
    job: &SourceJob<'_>,
    parsed: std::sync::mpsc::Receiver<Parsed>,
    outcome: impl FnOnce() -> std::result::Result<(), String>,
    progress: &dyn Progress,
    index: Option<&Updates<'_>>,
) -> Result<std::result::Result<Derived, String>> {
    let written = write_prepared(archive, txn, job, parsed, progress, index);
    finish_derived(archive, txn, job, written, outcome(), index)
}

/// A source that could not be read whole is not committed: its quarantine
/// file is dropped, and the index documents it handed over are put back
/// as the archive has them, so that the index shows none of it either.
fn finish_derived(
    archive: &Archive,
    txn: &WriteTransaction,
    job: &SourceJob<'_>,
    written: Result<Derived>,
    outcome: std::result::Result<(), String>,
    index: Option<&Updates<'_>>,
) -> Result<std::result::Result<Derived, String>> {
    let mut derived = written?;
    match outcome {
        Ok(()) => Ok(Ok(derived)),
        Err(reason) => {
            if let Some(path) = derived.quarantine_tmp.take() {
                let _ = std::fs::remove_file(path);
            }
            if let Some(updates) = index {
                restore_documents(archive, txn, job, updates)?;
            }
            Ok(Err(reason))
        }
    }
}

/// Gives every ad the uncommitted source observed in `txn` the document of
/// its committed latest version, or none when the archive has no such ad.
fn restore_documents(
    archive: &Archive,
    txn: &WriteTransaction,
    job: &SourceJob<'_>,
    updates: &Updates<'_>,
) -> Result<()> {
    let source_key = source_key(job.blake3)?;
    let (from, to) = (
        observation_key(&source_key, 0),
        observation_key(&source_key, u64::MAX),
    );
    let mut uids = std::collections::BTreeSet::new();
    for item in txn.open_table(OBSERVATIONS)?.range(&from[..]..=&to[..])? {
        let (_, value) = item?;
        let observation = codec::decode_observation(value.value())
            .ok_or_else(|| super::damaged(job.blake3, "unreadable observation"))?;
        uids.insert(observation.uid.to_owned());
    }
    let ad_scopes = txn.open_table(AD_SCOPES)?;
    let listed = txn.open_table(LISTED)?;
    for uid in &uids {
        match archive.latest_with_hash(uid)? {
            Some((hash, ad)) => {
                let mut doc = updates.document(&ad, &hash);
                updates.add_status(&mut doc, status_in(&ad_scopes, &listed, uid)?.as_str());
                updates.upsert(uid, doc, true)?
            }
            None => updates.remove(uid)?,
        }
    }
    Ok(())
}

/// The key bytes of the source whose hash is `blake3`.
fn source_key(blake3: &str) -> Result<[u8; 32]> {
    Ok(*blake3::Hash::from_hex(blake3)
        .map_err(|_| super::damaged(blake3, "not a blake3 hash"))?
        .as_bytes())
}

/// Makes one entry read from a source ready for storage: the one
/// derivation of what is stored, shared by import, rebuild and `verify`.
pub(super) fn prepare(
    entry: Entry<'_>,
    blake3: &str,
    name: &str,
    index: Option<&Updates<'_>>,
    compressor: &mut RecordCompressor,
    listed: &mut usize,
) -> Prepared {
    match entry {
        Entry::Record(r) => {
            let canonical = r.ad.canonical_json();
            let record_hash = RecordHash::of(&canonical);
            Prepared::Record {
                document: index.map(|u| u.document(&r.ad, &record_hash)),
                stored: compressor.encode(&record_hash, &canonical),
                record_hash,
                raw_hash: *blake3::hash(r.raw).as_bytes(),
                locator: r.locator,
                unnormalized: unnormalized(r.locator.line, r.unnormalized, &r.ad.unmapped, listed),
                uid: r.ad.uid,
            }
        }
        Entry::Report(r) => prepared_row(
            false,
            r.locator,
            r.raw,
            &r.row.canonical_json(),
            unnormalized(r.locator.line, r.unnormalized, &r.row.unmapped, listed),
        ),
        Entry::Rates(r) => prepared_row(
            true,
            r.locator,
            r.raw,
            &r.row.canonical_json(),
            Unnormalized::default(),
        ),
        Entry::Problem(p) => Prepared::Problem(QuarantineEntry {
            source_blake3: blake3.to_owned(),
            source_name: name.to_owned(),
            ordinal: 0,
            line: p.locator.line,
            byte_start: p.locator.byte_start,
            byte_end: p.locator.byte_end,
            field: p.field,
            reason: p.reason,
            raw_hash: blake3::hash(p.raw).to_hex().to_string(),
            raw: String::from_utf8_lossy(p.raw).into_owned(),
        }),
    }
}

/// A report row or day of rates, ready to store by position.
fn prepared_row(
    rates: bool,
    locator: adarchive_importers::Locator,
    raw: &[u8],
    canonical: &[u8],
    unnormalized: Unnormalized,
) -> Prepared {
    Prepared::Row {
        rates,
        stored: codec::encode_report_row(
            blake3::hash(raw).as_bytes(),
            locator,
            &RecordHash::of(canonical),
            canonical,
        ),
        locator,
        unnormalized,
    }
}

/// How many entries of new ads are held before they are written: about a
/// MB, a few thousand ads.
const FRESH_ENTRIES_HELD: usize = 12_288;

/// The per-ad entries of ads first seen in this source. Their numbers are
/// greater than any in the table, so their entries are held and written
/// as one run of full pages after every other key; an ad among them met
/// again is first written out with the rest, then updated in place.
struct FreshAds {
    /// The number of the first ad held.
    from: u64,
    /// The number the next new ad gets.
    next: u64,
    /// Their entries, in key order.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl FreshAds {
    fn new(next: u64) -> Self {
        FreshAds {
            from: next,
            next,
            entries: Vec::new(),
        }
    }

    /// Writes the entries held at the end of `table`.
    fn write(&mut self, table: &mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<()> {
        if !self.entries.is_empty() {
            let mut run = Run::at_end(table)?;
            for (key, value) in self.entries.drain(..) {
                run.insert(&key[..], &value[..])?;
            }
            run.finish()?;
        }
        self.from = self.next;
        Ok(())
    }
}

fn write_prepared(
    archive: &Archive,
    txn: &WriteTransaction,
    job: &SourceJob<'_>,
    rx: std::sync::mpsc::Receiver<Parsed>,
    progress: &dyn Progress,
    index: Option<&Updates<'_>>,
) -> Result<Derived> {
    let observed_at = job.observed_at;
    let source_key = &source_key(job.blake3)?;
    let mut records_table = txn.open_table(RECORDS)?;
    let mut next_record = match records_table.last()? {
        Some((n, _)) => n.value() + 1,
        None => 0,
    };
    // Records, observations and rows are numbered in the order they come:
    // each table receives one ascending run, written as full pages.
    let mut records = Run::at_end(&mut records_table)?;
    let mut observations_table = txn.open_table(OBSERVATIONS)?;
    let mut observations = Run::under_prefix(&mut observations_table, source_key)?;
    let mut ads = WriteAdEntries::write(txn)?;
    let mut fresh = FreshAds::new(ads.next_number()?);
    let mut report_rows_table = txn.open_table(REPORT_ROWS)?;
    let mut report_rows = Run::under_prefix(&mut report_rows_table, source_key)?;
    let mut rate_rows_table = txn.open_table(RATE_ROWS)?;
    let mut rate_rows = Run::under_prefix(&mut rate_rows_table, source_key)?;
    let mut advertiser_facts = txn.open_table(ADVERTISER_FACTS)?;
    let mut dictionaries = txn.open_table(DICTIONARIES)?;
    let ad_scopes = txn.open_table(AD_SCOPES)?;
    let listed = txn.open_table(LISTED)?;
    let mut listing_draft = open_draft(txn)?;

    let mut years = std::collections::BTreeMap::new();
    let mut derived = Derived {
        listing: job.listing_scope.as_ref().map(|scope| {
            // Known once the whole source is read, when the ads say it.
            ListingDraft::new(match scope {
                ListingScope::Named(scope) => scope.clone(),
                ListingScope::YearFirstShown(_) => String::new(),
            })
        }),
        ..Derived::default()
    };
    let mut quarantine: Option<(PathBuf, BufWriter<File>)> = None;
    let mut ordinal = 0u64;
    let mut value = Vec::with_capacity(256);
    let mut key = Vec::with_capacity(128);
    for batch in rx {
        for item in batch {
            match item {
                Prepared::Record {
                    uid,
                    locator,
                    raw_hash,
                    record_hash,
                    stored,
                    unnormalized,
                    document,
                } => {
                    let obs_key = observation_key(source_key, ordinal);
                    codec::encode_observation(
                        &codec::StoredObservation {
                            uid: &uid,
                            locator,
                            raw_hash,
                            record_hash,
                        },
                        &mut value,
                    );
                    observations.insert(&obs_key[..], &value[..])?;
                    let known = ads.number(&uid)?;
                    let number = match known {
                        Some(number) => {
                            if number >= fresh.from {
                                fresh.write(&mut ads.entries)?;
                            }
                            number
                        }
                        None => {
                            let number = fresh.next;
                            fresh.next += 1;
                            ads.numbers.insert(uid.as_str(), number)?;
                            number
                        }
                    };
                    let previous = match known {
                        Some(number) => ads.latest_of_number(number, &uid)?,
                        None => None,
                    };
                    let next_seq = match previous {
                        Some(latest) if latest.hash == record_hash => {
                            derived.counts.unchanged += 1;
                            None
                        }
                        Some(latest) => {
                            derived.counts.updated += 1;
                            Some(latest.seq + 1)
                        }
                        None => {
                            derived.counts.new += 1;
                            Some(0)
                        }
                    };
                    let mut entries = Vec::with_capacity(3);
                    ad_key(number, TAG_OBSERVATION, &obs_key, &mut key);
                    entries.push((key.clone(), Vec::new()));
                    if let Some(seq) = next_seq {
                        // A record names its ad's uid, so only a version of
                        // this same ad can hold it already (an ad changed
                        // back to what it once was).
                        let stored_before = match previous {
                            Some(_) => ads.record_of_number(number, &uid, &record_hash)?,
                            None => None,
                        };
                        let record = match stored_before {
                            Some(number) => number,
                            None => {
                                let number = next_record;
                                records.insert(number, &stored[..])?;
                                next_record += 1;
                                number
                            }
                        };
                        let version = Version {
                            uid: String::new(),
                            seq,
                            record_hash,
                            supersedes: previous.map(|latest| latest.hash),
                            source_blake3: String::new(),
                            ordinal,
                            observed_at,
                        };
                        codec::encode_version(&version, source_key, record, &mut value);
                        let latest = Latest {
                            seq,
                            hash: record_hash,
                            record,
                        };
                        ad_key(number, TAG_LATEST, &[], &mut key);
                        entries.push((key.clone(), latest_value(&latest, &uid)));
                        ad_key(number, TAG_VERSION, &seq.to_be_bytes(), &mut key);
                        entries.push((key.clone(), value.clone()));
                    }
                    if known.is_some() {
                        for (key, value) in &entries {
                            ads.entries.insert(&key[..], &value[..])?;
                        }
                    } else {
                        // In key order: latest, observation, version.
                        entries.sort_unstable();
                        fresh.entries.extend(entries);
                        if fresh.entries.len() >= FRESH_ENTRIES_HELD {
                            fresh.write(&mut ads.entries)?;
                        }
                    }
                    if next_seq.is_some() {
                        if let (Some(updates), Some(mut doc)) = (index, document) {
                            // An ad a listing lists is listed once it commits.
                            let status = match derived.listing {
                                Some(_) => AdStatus::Listed,
                                None => status_in(&ad_scopes, &listed, &uid)?,
                            };
                            updates.add_status(&mut doc, status.as_str());
                            updates.upsert(&uid, doc, previous.is_some())?;
                        }
                    }
                    if let Some(draft) = derived.listing.as_mut() {
                        if !draft.subject.is_ads() {
                            // A source listing ads after report rows is a
                            // listing of its ads: the advertisers drafted
                            // from its rows so far go.
                            listing_draft.retain(|_, _| false)?;
                            draft.subject = ListingSubject::Ads;
                            draft.rows = 0;
                        }
                        let version = next_seq.or(previous.map(|latest| latest.seq));
                        draft.rows += 1;
                        draft_ad(
                            &mut listing_draft,
                            &uid,
                            OWN_ROWS,
                            version.unwrap_or_default(),
                            index.is_some() && next_seq.is_some(),
                        )?;
                    }
                    derived.counts.records += 1;
                    derived.note_unnormalized(unnormalized);
                    progress.advance(locator.byte_end);
                }
                Prepared::Row {
                    rates,
                    locator,
                    stored,
                    unnormalized,
                } => {
                    let key = observation_key(source_key, ordinal);
                    if rates {
                        rate_rows.insert(&key[..], &stored[..])?;
                        derived.counts.rate_rows += 1;
                    } else {
                        report_rows.insert(&key[..], &stored[..])?;
                        derived.counts.report_rows += 1;
                    }
                    derived.note_unnormalized(unnormalized);
                    progress.advance(locator.byte_end);
                }
                Prepared::Years(found) => {
                    years = found;
                    continue;
                }
                Prepared::Dictionary(bytes) => {
                    let id = blake3::hash(&bytes).to_hex();
                    let key = format!("{}/{}", job.importer.name(), &id[..16]);
                    dictionaries.insert(key.as_str(), &bytes[..])?;
                    continue;
                }
                Prepared::Advertisers(found) => {
                    // In key order, each insertion into the tables below
                    // lands beside the one before.
                    let mut found: Vec<_> = found.into_iter().collect();
                    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    // A spend report lists advertisers, not ads.
                    if let Some(draft) = derived.listing.as_mut() {
                        if derived.counts.records == 0 && derived.counts.report_rows > 0 {
                            draft.subject = ListingSubject::Advertisers;
                            for (key, _) in &found {
                                // An advertiser may come again in a later part.
                                if draft_ad(&mut listing_draft, key, OWN_ROWS, 0, true)? {
                                    draft.rows += 1;
                                }
                            }
                        }
                    }
                    for (key, facts) in found {
                        let merged = match advertiser_facts.get(key.as_str())? {
                            Some(known) => {
                                let mut known: PlatformIdentity =
                                    super::decode(&key, known.value())?;
                                known.merge(&facts);
                                known
                            }
                            None => facts,
                        };
                        advertiser_facts.insert(key.as_str(), &encode(&merged)[..])?;
                    }
                    // Not a row of the source.
                    continue;
                }
                Prepared::Problem(mut entry) => {
                    entry.ordinal = ordinal;
                    if quarantine.is_none() {
                        let path = tempfile_in(&archive.tmp_dir())?;
                        let file = File::create(&path).at(&path)?;
                        quarantine = Some((path, BufWriter::new(file)));
                    }
                    if let Some((path, out)) = quarantine.as_mut() {
                        out.write_all(&encode(&entry))
                            .and_then(|()| out.write_all(b"\n"))
                            .at(path.as_path())?;
                    }
                    derived.counts.quarantined += 1;
                    if derived.problems.len() < PROBLEMS_LISTED {
                        derived.problems.push(ProblemNote {
                            line: entry.line,
                            field: entry.field,
                            reason: entry.reason,
                        });
                    }
                    progress.advance(entry.byte_end);
                }
            }
            ordinal += 1;
        }
    }
    records.finish()?;
    observations.finish()?;
    report_rows.finish()?;
    rate_rows.finish()?;
    if let Some(ListingScope::YearFirstShown(platform)) = &job.listing_scope {
        // The year most of the ads were first shown in (the later of two
        // as common); without dates, no year and no listing.
        let year = years
            .iter()
            .max_by_key(|(year, count)| (**count, **year))
            .map(|(year, _)| *year);
        match (year, derived.listing.as_mut()) {
            (Some(year), Some(members)) => members.scope = format!("{platform}:{year}"),
            _ => derived.listing = None,
        }
    }
    fresh.write(&mut ads.entries)?;
    if let Some((path, out)) = quarantine {
        out.into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(&path)?;
        derived.quarantine_tmp = Some(path);
    }
    Ok(derived)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // The archive's own types always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate_samples, GenerateOptions};
    use crate::index::IndexState;

    /// A generated Snap `PoliticalAds.csv` of about 200 ads.
    fn snap_export(dir: &std::path::Path, seed: u64) -> PathBuf {
        let out = dir.join(format!("exports-{seed}"));
        generate_samples(
            &out,
            &GenerateOptions {
                ads: 1000,
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        out.join("snap").join("PoliticalAds.csv")
    }

    #[test]
    fn advertisers_are_handed_over_in_parts_that_add_up_to_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exports");
        generate_samples(
            &out,
            &GenerateOptions {
                ads: 1000,
                seed: 4,
                advertisers: crate::generate::AdvertiserShape::OnePerAd,
                ..Default::default()
            },
        )
        .unwrap();
        let bytes = std::fs::read(out.join("snap").join("PoliticalAds.csv")).unwrap();
        let importer = adarchive_importers::by_name("snap-political-ads").unwrap();
        let parse = |part: usize| {
            let (tx, rx) = std::sync::mpsc::sync_channel(PARSED_AHEAD);
            let mut reader = &bytes[..];
            std::thread::scope(|scope| {
                let parsing = scope.spawn(move || {
                    parse_source_in_parts(
                        importer,
                        ("PoliticalAds.csv", "00"),
                        &mut reader,
                        None,
                        RecordCompressor::plain(),
                        &tx,
                        part,
                    )
                });
                let mut records = 0;
                let mut parts = Vec::new();
                // Ends when the parsing thread drops its sender.
                for item in rx.iter().flatten() {
                    match item {
                        Prepared::Record { .. } => records += 1,
                        Prepared::Advertisers(found) => {
                            assert!(records > 0, "a part before any record");
                            parts.push(found);
                        }
                        _ => {}
                    }
                }
                parsing.join().unwrap().unwrap();
                parts
            })
        };

        let whole = parse(usize::MAX);
        assert_eq!(whole.len(), 1);
        let whole = whole.into_iter().next().unwrap();
        assert!(whole.len() > 100, "{}", whole.len());

        let parts = parse(16);
        assert!(parts.len() > whole.len() / 16 - 1, "{} parts", parts.len());
        assert!(parts.iter().all(|p| p.len() <= 16));
        let mut merged: HashMap<String, PlatformIdentity> = HashMap::new();
        for facts in parts.into_iter().flat_map(HashMap::into_values) {
            crate::archive::collect(&mut merged, Some(facts));
        }
        assert_eq!(merged, whole);
    }

    /// Derives `bytes` as a Snap `PoliticalAds.csv` in a transaction it
    /// returns uncommitted, the advertisers handed over in parts of
    /// `part`, the reading of the file ending with `outcome`.
    fn derive_snap(
        archive: &Archive,
        bytes: &[u8],
        part: usize,
        index: Option<&Updates<'_>>,
        outcome: std::result::Result<(), String>,
    ) -> (WriteTransaction, std::result::Result<Derived, String>) {
        let snap = adarchive_importers::by_name("snap-political-ads").unwrap();
        let source = ("PoliticalAds.csv", snap, None);
        derive_bytes(archive, source, bytes, part, index, outcome)
    }

    /// Derives `bytes` as the source `(name, importer, listing scope)`,
    /// like [`derive_snap`].
    fn derive_bytes(
        archive: &Archive,
        (name, importer, listing_scope): (&str, &dyn Importer, Option<ListingScope>),
        bytes: &[u8],
        part: usize,
        index: Option<&Updates<'_>>,
        outcome: std::result::Result<(), String>,
    ) -> (WriteTransaction, std::result::Result<Derived, String>) {
        let blake3 = blake3::hash(bytes).to_hex().to_string();
        let job = SourceJob {
            blake3: &blake3,
            name,
            importer,
            observed_at: Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc()),
            listing_scope,
        };
        let txn = archive.db().begin_write().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(PARSED_AHEAD);
        let derived = std::thread::scope(|scope| {
            let parsing = scope.spawn(move || {
                let mut reader = bytes;
                parse_source_in_parts(
                    job.importer,
                    (job.name, job.blake3),
                    &mut reader,
                    index,
                    RecordCompressor::plain(),
                    &tx,
                    part,
                )
            });
            let derived =
                derive_parsed(archive, &txn, &job, rx, || outcome, &NoProgress, index).unwrap();
            parsing.join().unwrap().unwrap();
            derived
        });
        (txn, derived)
    }

    /// The `advertiser_facts` table after deriving each of `sources` in
    /// turn, its advertisers handed to the writer in parts of `part`.
    fn facts_after(sources: &[&[u8]], part: usize) -> Vec<(String, PlatformIdentity)> {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path()).unwrap();
        for bytes in sources {
            let (txn, derived) = derive_snap(&archive, bytes, part, None, Ok(()));
            assert!(derived.unwrap().counts.records > 100);
            txn.commit().unwrap();
        }
        let txn = redb::ReadableDatabase::begin_read(archive.db()).unwrap();
        let table = txn.open_table(ADVERTISER_FACTS).unwrap();
        table
            .iter()
            .unwrap()
            .map(|entry| {
                let (key, value) = entry.unwrap();
                let key = key.value().to_owned();
                let facts = crate::archive::decode(&key, value.value()).unwrap();
                (key, facts)
            })
            .collect()
    }

    #[test]
    fn the_writer_merges_each_part_of_advertisers_into_what_the_table_holds() {
        let dir = tempfile::tempdir().unwrap();
        // Realistic advertisers recur throughout a file and across files,
        // so later parts, and the second file, meet facts already stored.
        let first = std::fs::read(snap_export(dir.path(), 5)).unwrap();
        let second = String::from_utf8(std::fs::read(snap_export(dir.path(), 6)).unwrap()).unwrap();
        // One advertiser names a second funder in every other of its ads,
        // so only a merge of each part with the table keeps both.
        let funder = "Citizens for Clean Water PAC";
        let mut pieces = second.split(funder);
        let mut second = pieces.next().unwrap().to_owned();
        for (n, piece) in pieces.enumerate() {
            second.push_str(if n % 2 == 0 {
                funder
            } else {
                "Clean Water Action Fund"
            });
            second.push_str(piece);
        }
        let second = second.into_bytes();
        let whole = facts_after(&[&first, &second], usize::MAX);
        let in_parts = facts_after(&[&first, &second], 4);
        assert!(whole.len() > 8, "{} advertisers", whole.len());
        assert_eq!(in_parts, whole);
        let funders = whole
            .iter()
            .find(|(key, _)| key == "snap:name:Citizens for Clean Water")
            .map(|(_, facts)| facts.funders.len());
        assert_eq!(funders, Some(2));
        let first_alone = facts_after(&[&first], usize::MAX);
        assert_ne!(first_alone, whole, "the second file adds to the facts");
    }

    /// A generated Google advertiser-stats report (a complete listing of
    /// its advertisers, one advertiser per ad), its rows given twice: the
    /// second time, each advertiser comes again, as in a weekly report.
    fn advertiser_stats_twice(dir: &std::path::Path) -> Vec<u8> {
        let out = dir.join("exports-stats");
        generate_samples(
            &out,
            &GenerateOptions {
                ads: 3000,
                seed: 8,
                advertisers: crate::generate::AdvertiserShape::OnePerAd,
                ..Default::default()
            },
        )
        .unwrap();
        let bundle = out.join("google-political-ads-transparency-bundle.zip");
        let mut zip = zip::ZipArchive::new(File::open(bundle).unwrap()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut zip
                .by_name("google-political-ads-advertiser-stats.csv")
                .unwrap(),
            &mut text,
        )
        .unwrap();
        let (header, rows) = text.split_once('\n').unwrap();
        format!("{header}\n{rows}{rows}").into_bytes()
    }

    /// What deriving a source left in its uncommitted transaction: the
    /// listing's subject and rows, its draft's keys in order, and the
    /// `advertiser_facts` table.
    type Left = (ListingSubject, u64, Vec<Vec<u8>>, Vec<(String, Vec<u8>)>);

    /// [`Left`] by `derived` in `txn`.
    fn listing_and_facts(txn: &WriteTransaction, derived: &Derived) -> Left {
        let listing = derived.listing.as_ref().unwrap();
        let draft = open_draft(txn).unwrap();
        let drafted = draft
            .iter()
            .unwrap()
            .map(|entry| entry.unwrap().0.value().to_vec())
            .collect();
        let facts = txn.open_table(ADVERTISER_FACTS).unwrap();
        let facts = facts
            .iter()
            .unwrap()
            .map(|entry| {
                let (key, value) = entry.unwrap();
                (key.value().to_owned(), value.value().to_vec())
            })
            .collect();
        (listing.subject, listing.rows, drafted, facts)
    }

    #[test]
    fn a_spend_report_handed_over_in_parts_lists_each_advertiser_once() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = advertiser_stats_twice(dir.path());
        let name = "google-political-ads-advertiser-stats.csv";
        let importer = adarchive_importers::by_name("google-spend-reports").unwrap();
        let scope = importer.listing_scope(name, &bytes);
        assert!(scope.is_some());
        let derive = |part: usize| {
            let dir = tempfile::tempdir().unwrap();
            let archive = Archive::open(dir.path()).unwrap();
            let source = (name, importer, scope.clone());
            let (txn, derived) = derive_bytes(&archive, source, &bytes, part, None, Ok(()));
            let derived = derived.unwrap();
            assert_eq!(derived.counts.records, 0);
            listing_and_facts(&txn, &derived)
        };
        let whole = derive(usize::MAX);
        let in_parts = derive(4);
        let distinct: std::collections::BTreeSet<&str> = std::str::from_utf8(&bytes)
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|line| line.split(',').next())
            .collect();
        assert!(distinct.len() > 500, "{} advertisers", distinct.len());
        assert_eq!(whole.0, ListingSubject::Advertisers);
        assert_eq!(whole.1, distinct.len() as u64);
        assert_eq!(whole.2.len(), distinct.len());
        assert_eq!(whole.3.len(), distinct.len());
        assert_eq!(in_parts, whole);
    }

    /// A format whose files hold Google's advertiser stats and then a
    /// Snap `PoliticalAds.csv`: report rows first, ads after them.
    struct ReportsThenAds {
        reports: Vec<u8>,
        ads: Vec<u8>,
    }

    impl Importer for ReportsThenAds {
        fn name(&self) -> &'static str {
            "reports-then-ads"
        }
        fn platform(&self) -> Option<adarchive_schema::Platform> {
            None
        }
        fn version(&self) -> &'static str {
            "1"
        }
        fn description(&self) -> &'static str {
            "report rows, then ads"
        }
        fn media_type(&self) -> &'static str {
            "text/csv"
        }
        fn detect(&self, _head: &[u8]) -> bool {
            false
        }
        fn read(
            &self,
            _input: &mut dyn std::io::Read,
            sink: &mut adarchive_importers::Sink<'_>,
        ) -> std::result::Result<(), ReadError> {
            let reports = adarchive_importers::by_name("google-spend-reports").unwrap();
            let name = "google-political-ads-advertiser-stats.csv";
            reports.read_named(name, &mut &self.reports[..], sink)?;
            let ads = adarchive_importers::by_name("snap-political-ads").unwrap();
            ads.read(&mut &self.ads[..], sink)
        }
    }

    #[test]
    fn a_source_listing_ads_after_report_rows_is_a_listing_of_its_ads() {
        let dir = tempfile::tempdir().unwrap();
        let importer = ReportsThenAds {
            reports: advertiser_stats_twice(dir.path()),
            ads: std::fs::read(snap_export(dir.path(), 7)).unwrap(),
        };
        let derive = |part: usize| {
            let dir = tempfile::tempdir().unwrap();
            let archive = Archive::open(dir.path()).unwrap();
            let scope = Some(ListingScope::Named("test:mixed".into()));
            let source = ("mixed.csv", &importer as &dyn Importer, scope);
            let (txn, derived) = derive_bytes(&archive, source, b"", part, None, Ok(()));
            let derived = derived.unwrap();
            assert!(derived.counts.report_rows > 1000, "{:?}", derived.counts);
            (derived.counts.records, listing_and_facts(&txn, &derived))
        };
        let (records, whole) = derive(usize::MAX);
        // Parts of advertisers reach the writer while it reads report rows,
        // before the first ad.
        let (_, in_parts) = derive(4);
        assert!(records > 100, "{records} ads");
        assert_eq!(whole.0, ListingSubject::Ads);
        assert_eq!(whole.1, records);
        assert!(whole.2.iter().all(|key| !key.starts_with(b"google:")));
        assert_eq!(in_parts, whole);
    }

    /// Derives `bytes` as a source whose reading fails at its end.
    fn derive_failing(archive: &Archive, updates: &Updates<'_>, bytes: &[u8]) {
        let failed = Err("the disk failed".into());
        let (txn, derived) =
            derive_snap(archive, bytes, ADVERTISERS_PER_BATCH, Some(updates), failed);
        assert_eq!(derived.unwrap_err(), "the disk failed");
        drop(txn);
    }

    #[test]
    fn a_source_that_fails_part_way_leaves_no_trace_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path()).unwrap();
        let first = snap_export(dir.path(), 1);
        crate::ingest::import_paths(
            &archive,
            std::slice::from_ref(&first),
            Default::default(),
            &NoProgress,
        )
        .unwrap();
        let before = crate::check::verify(&archive).unwrap();
        assert!(before.ok());
        assert!(before.indexed > 100);

        let updates = archive.index().unwrap().begin().unwrap();
        // New ads: their documents must go.
        let other = std::fs::read(snap_export(dir.path(), 2)).unwrap();
        derive_failing(&archive, &updates, &other);
        // Changed versions of archived ads: their committed documents must
        // come back.
        let changed = String::from_utf8(std::fs::read(&first).unwrap())
            .unwrap()
            .replace("https://", "http://");
        assert_ne!(changed.as_bytes(), std::fs::read(&first).unwrap());
        derive_failing(&archive, &updates, changed.as_bytes());
        updates
            .commit(IndexState {
                sources: archive.source_count().unwrap(),
            })
            .unwrap();

        let after = crate::check::verify(&archive).unwrap();
        assert!(after.ok(), "{after:?}");
        assert_eq!((after.index_behind, after.indexed), (0, before.indexed));
        let total = crate::search::search(&archive, &Default::default())
            .unwrap()
            .total;
        assert_eq!(total, before.indexed);
    }
}
