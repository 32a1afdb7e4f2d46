//! The archive on disk: original files stored by blake3, and the derived
//! manifest, observations, records and versions in one transactional
//! database.
//!
//! ```text
//! <data>/sources/<blake3>          the bytes as published (credentials redacted)
//! <data>/quarantine/<blake3>.jsonl rows of that source that could not be read
//! <data>/archive.redb              manifest, observations, records, versions
//! <data>/index/                    the search index (derived, see `crate::index`)
//! <data>/tmp/                      staging; anything here is unfinished
//! ```
//!
//! Every import of one source is a single database transaction, committed
//! only after the source bytes are durably in place: a crash at any moment
//! leaves either the whole source imported or none of it.

mod ad_entries;
mod advertiser_facts;
pub mod check;
mod codec;
mod derive;
mod index_sync;
mod listings;
mod migrate;
mod model;
mod reports;
mod runs;
mod source_rows;
mod tables;
mod writer;

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use adarchive_schema::{Ad, RecordHash};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

pub(crate) use ad_entries::{AdEntries, ReadAdEntries, WriteAdEntries};
pub(crate) use advertiser_facts::plausible_id;
pub use advertiser_facts::{collect, collect_ad, facts_of_ad, facts_of_report, PlatformIdentity};
pub(crate) use codec::{decode_observation, decode_record, decode_report_row, decode_version};
pub(crate) use derive::{parse_source, Derived, Parsed, SourceJob};
pub use derive::{
    NoProgress, ProblemNote, Progress, UnnormalizedValue, PROBLEMS_LISTED, UNNORMALIZED_LISTED,
    UNNORMALIZED_VALUE_CHARS,
};
pub use index_sync::{catch_up_index, reindex_all};
pub use listings::{
    change_key, AdListings, AdStatus, ChangeKind, Listing, ListingSubject, ScopeMembership,
    StoredChange,
};
pub use model::{
    public_name, Collected, FetchedFrom, ImportCounts, MemberEntry, Observation, Provenance,
    QuarantineEntry, SourceEntry, Version, ZIP_FORMAT,
};
pub use reports::{ArchivedReportRow, RateDay, SharedReportRows};
use tables::*;

use crate::error::{Error, IoContext, Result};
use crate::index::SearchIndex;

/// Name of the database file inside the data folder.
pub const DATABASE_FILE: &str = "archive.redb";
/// Name of the search index folder inside the data folder.
pub const INDEX_DIR: &str = "index";

/// How often a long import makes its progress durable. Each checkpoint
/// waits for the disk; every 30 s costs a large import about 4 % of its
/// time, and a crash loses at most that much work (importing again redoes
/// it).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(30);
/// Pages of the database kept in memory, read cache and write buffer
/// together. An import inserts at random places of the per-ad tables, so
/// beyond a few tens of MiB a larger cache buys little: the pages it
/// evicts are read back from the system's page cache. Importing 1,000,000
/// ads took as long with 48 MiB as with 256 MiB, and peaked at 235 MiB
/// resident instead of 582 (`docs/benchmarks.md`, "Memory of an import").
const DATABASE_CACHE: usize = 48 * 1024 * 1024;
/// The page cache of a server, which reads only the records it returns.
const SERVING_CACHE: usize = 64 * 1024 * 1024;

/// A poisoned lock only means another thread panicked while holding it; the
/// guarded values (a time, a list of paths) stay valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An open archive.
pub struct Archive {
    root: PathBuf,
    db: Database,
    last_durable: Mutex<Instant>,
    /// Files put in place since the last durable commit, to sync before it.
    unsynced: Mutex<Vec<PathBuf>>,
    /// The search index, in `<root>/index`.
    index: Option<SearchIndex>,
    /// The report rows decoded, with the number of sources they are of.
    report_rows_memo: Mutex<Option<(u64, std::sync::Arc<reports::SharedReportRows>)>>,
    /// The transparency log's signing key, once a commit or
    /// [`Archive::open_log`] needed it.
    log_key: std::sync::OnceLock<crate::tlog::LogKey>,
    /// Time spent appending to the log since the archive was opened.
    log_append_nanos: std::sync::atomic::AtomicU64,
    listing_nanos: std::sync::atomic::AtomicU64,
}

impl Archive {
    /// Opens the archive in `root`, creating it when absent.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// assert_eq!(archive.sources().unwrap().len(), 0);
    /// ```
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_with_cache(root, DATABASE_CACHE)
    }

    /// Opens the archive for a long-running reader such as the API
    /// server, which reads a few records per request: a smaller page cache
    /// keeps its memory flat.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open_for_serving(dir.path()).unwrap();
    /// assert!(archive.index().is_some());
    /// ```
    pub fn open_for_serving(root: &Path) -> Result<Self> {
        Self::open_with_cache(root, SERVING_CACHE)
    }

    fn open_with_cache(root: &Path, cache: usize) -> Result<Self> {
        let mut archive = Self::open_database_with_cache(root, &root.join(DATABASE_FILE), cache)?;
        let index = SearchIndex::open(&root.join(INDEX_DIR))?;
        let recreated = index.was_recreated();
        archive.index = Some(index);
        if recreated {
            // The index of an earlier schema is gone: fill the new one now,
            // so that no search ever sees it half empty.
            tracing::warn!(
                "the search index was built by an earlier version of adarchive; indexing the archive again"
            );
            reindex_all(&archive)?;
        }
        Ok(archive)
    }

    /// The search index.
    pub fn index(&self) -> Option<&SearchIndex> {
        self.index.as_ref()
    }

    /// The search index, for a search: an archive opened with
    /// [`Archive::open`] or [`Archive::open_for_serving`] always has one.
    pub fn search_index(&self) -> Result<&SearchIndex> {
        self.index
            .as_ref()
            .ok_or_else(|| Error::NoSearchIndex(self.root.clone()))
    }

    /// How many sources the manifest lists (the next import sequence number).
    pub fn source_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(SOURCE_ORDER)?;
        let last = order.last()?;
        Ok(last.map_or(0, |(seq, _)| seq.value() + 1))
    }

    pub(crate) fn open_database(root: &Path, db_path: &Path) -> Result<Self> {
        Self::open_database_with_cache(root, db_path, DATABASE_CACHE)
    }

    fn open_database_with_cache(root: &Path, db_path: &Path, cache: usize) -> Result<Self> {
        for dir in ["sources", "quarantine", "tmp"] {
            fs::create_dir_all(root.join(dir)).at(root.join(dir))?;
        }
        let db = match Database::builder().set_cache_size(cache).create(db_path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(Error::Busy(root.to_path_buf()))
            }
            Err(e) => return Err(e.into()),
        };
        let txn = db.begin_write()?;
        tables::create_all(&txn)?;
        for item in txn.open_table(DICTIONARIES)?.iter()? {
            let (_, bytes) = item?;
            codec::register_dictionary(bytes.value());
        }
        migrate::record_numbers_into_versions(&txn)?;
        migrate::number_the_ads(&txn)?;
        txn.commit()?;
        Ok(Archive {
            root: root.to_path_buf(),
            db,
            last_durable: Mutex::new(Instant::now()),
            unsynced: Mutex::new(Vec::new()),
            index: None,
            report_rows_memo: Mutex::new(None),
            log_key: std::sync::OnceLock::new(),
            log_append_nanos: std::sync::atomic::AtomicU64::new(0),
            listing_nanos: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Commits a transaction atomically. Most commits skip the disk flush;
    /// one every few seconds, and [`Archive::checkpoint`], make everything
    /// before them durable. A crash rolls back to the last durable commit,
    /// never to a partial one, and importing again completes the work.
    pub(crate) fn commit(&self, mut txn: redb::WriteTransaction) -> Result<()> {
        let durable = lock(&self.last_durable).elapsed() >= CHECKPOINT_EVERY;
        if durable {
            self.sync_placed_files()?;
        }
        let durability = if durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        };
        txn.set_durability(durability)
            .map_err(|e| damaged("transaction", &e.to_string()))?;
        txn.commit()?;
        if durable {
            *lock(&self.last_durable) = Instant::now();
        }
        Ok(())
    }

    /// Where the transparency log's signing key is kept.
    pub fn log_key_path(&self) -> PathBuf {
        self.root.join("log").join("signing-key")
    }

    /// Opens the transparency log: loads its key, or makes it named
    /// `origin` (see [`crate::tlog::LogKey::load_or_create`]), and logs
    /// every source the manifest has and the log not yet (an archive made
    /// before the log existed), in one commit.
    pub fn open_log(&self, origin: Option<&str>) -> Result<&crate::tlog::LogKey> {
        let key = match self.log_key.get() {
            Some(key) => {
                if let Some(asked) = origin.filter(|o| *o != key.origin()) {
                    return Err(crate::tlog::LogError::Origin(format!(
                        "the log in this data folder is named `{}`, not `{asked}`; a log's origin cannot change",
                        key.origin()
                    ))
                    .into());
                }
                key
            }
            None => {
                let key = crate::tlog::LogKey::load_or_create(&self.log_key_path(), origin)?;
                self.log_key.get_or_init(|| key)
            }
        };
        let count = self.source_count()?;
        let logged = crate::tlog::tree_size(&self.db.begin_read()?)?;
        if logged < count {
            let txn = self.db.begin_write()?;
            log_sources(&txn, count, key)?;
            self.commit(txn)?;
        }
        Ok(key)
    }

    /// The time this process has spent appending sources to the
    /// transparency log (hashing the tree and signing checkpoints), for
    /// weighing it against the imports it is part of.
    pub fn log_append_time(&self) -> Duration {
        Duration::from_nanos(
            self.log_append_nanos
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// The time this process has spent working out what listings changed
    /// (memberships, changes, the search documents of ads whose status
    /// changed), for weighing it against the imports it is part of.
    pub fn listing_time(&self) -> Duration {
        Duration::from_nanos(
            self.listing_nanos
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    pub(crate) fn add_listing_time(&self, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.listing_nanos
            .fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn add_log_append_time(&self, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.log_append_nanos
            .fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    /// The log's signing key, loaded (or made, with a default origin) the
    /// first time it is needed.
    pub(crate) fn log_signing_key(&self) -> Result<&crate::tlog::LogKey> {
        if let Some(key) = self.log_key.get() {
            return Ok(key);
        }
        let key = crate::tlog::LogKey::load_or_create(&self.log_key_path(), None)?;
        Ok(self.log_key.get_or_init(|| key))
    }

    /// Makes every commit so far durable.
    pub fn checkpoint(&self) -> Result<()> {
        self.sync_placed_files()?;
        let txn = self.db.begin_write()?;
        txn.commit()?;
        *lock(&self.last_durable) = Instant::now();
        Ok(())
    }

    /// Moves a fully written staging file into place. Its bytes reach the
    /// disk before the next durable commit, which is the first that can
    /// refer to it after a crash.
    pub(crate) fn place_file(&self, tmp: &Path, path: &Path) -> Result<()> {
        fs::rename(tmp, path).at(path)?;
        lock(&self.unsynced).push(path.to_path_buf());
        Ok(())
    }

    /// Takes back a file placed for a source whose import was refused: it
    /// is removed and no longer waits to be synced.
    pub(crate) fn unplace_file(&self, path: &Path) -> std::io::Result<()> {
        lock(&self.unsynced).retain(|p| p != path);
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn sync_placed_files(&self) -> Result<()> {
        let files = std::mem::take(&mut *lock(&self.unsynced));
        let mut dirs: Vec<&Path> = Vec::new();
        for path in &files {
            File::open(path).and_then(|f| f.sync_all()).at(path)?;
            if let Some(dir) = path.parent() {
                if !dirs.contains(&dir) {
                    dirs.push(dir);
                }
            }
        }
        for dir in dirs {
            File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
        }
        Ok(())
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    /// Where a stored source's bytes are.
    pub fn source_path(&self, blake3: &str) -> PathBuf {
        self.root.join("sources").join(blake3)
    }

    /// Where a source's quarantined rows are.
    pub fn quarantine_path(&self, blake3: &str) -> PathBuf {
        quarantine_path_in(&self.root, blake3)
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Opens a stored source for reading.
    pub fn open_source(&self, blake3: &str) -> Result<BufReader<File>> {
        let path = self.source_path(blake3);
        Ok(BufReader::with_capacity(
            256 * 1024,
            File::open(&path).at(&path)?,
        ))
    }

    /// Every manifest entry, in import order.
    pub fn sources(&self) -> Result<Vec<SourceEntry>> {
        let txn = self.db.begin_read()?;
        let order = txn.open_table(SOURCE_ORDER)?;
        let sources = txn.open_table(SOURCES)?;
        let mut out = Vec::with_capacity(order.len()? as usize);
        for item in order.iter()? {
            let (_, hash) = item?;
            let Some(entry) = sources.get(hash.value())? else {
                return Err(damaged(
                    hash.value(),
                    "listed in the import order but not in the manifest",
                ));
            };
            out.push(decode_source(hash.value(), entry.value())?);
        }
        Ok(out)
    }

    /// One manifest entry.
    pub fn source(&self, blake3: &str) -> Result<Option<SourceEntry>> {
        let txn = self.db.begin_read()?;
        let sources = txn.open_table(SOURCES)?;
        let entry = sources.get(blake3)?;
        entry.map(|e| decode_source(blake3, e.value())).transpose()
    }

    /// The latest version of an ad.
    pub fn latest(&self, uid: &str) -> Result<Option<Ad>> {
        Ok(self.latest_with_hash(uid)?.map(|(_, ad)| ad))
    }

    /// The latest version of an ad with the hash the archive files it
    /// under (what its search document must carry), in one read.
    pub(crate) fn latest_with_hash(&self, uid: &str) -> Result<Option<(RecordHash, Ad)>> {
        let txn = self.db.begin_read()?;
        let Some(latest) = ReadAdEntries::read(&txn)?.latest(uid)? else {
            return Ok(None);
        };
        let canonical = stored_record(&txn.open_table(RECORDS)?, latest.record, &latest.hash)?;
        Ok(Some((latest.hash, decode(uid, &canonical)?)))
    }

    /// The canonical JSON of the latest version of each ad, in one read
    /// (exports write it as it is stored, without decoding it); `None` for
    /// a uid the archive does not know. A known ad whose record is missing
    /// is an error: the archive is damaged.
    pub fn latest_canonical(&self, uids: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        // Each table is read in key order (uids, ad numbers, then record
        // numbers), so that neighbouring lookups share pages: in result
        // order they jump across the whole database, and for large pages
        // the page cache misses on almost every one.
        let txn = self.db.begin_read()?;
        let mut by_uid: Vec<usize> = (0..uids.len()).collect();
        by_uid.sort_unstable_by(|&a, &b| uids[a].cmp(&uids[b]));
        let mut found: Vec<(Latest, usize)> = Vec::with_capacity(uids.len());
        {
            let ads = ReadAdEntries::read(&txn)?;
            let mut numbered: Vec<(u64, usize)> = Vec::with_capacity(uids.len());
            for i in by_uid {
                if let Some(number) = ads.number(&uids[i])? {
                    numbered.push((number, i));
                }
            }
            numbered.sort_unstable();
            for (number, i) in numbered {
                if let Some(latest) = ads.latest_of_number(number, &uids[i])? {
                    found.push((latest, i));
                }
            }
        }
        found.sort_unstable_by_key(|(latest, _)| latest.record);
        let mut out = vec![None; uids.len()];
        let records = txn.open_table(RECORDS)?;
        for (latest, i) in found {
            out[i] = Some(stored_record(&records, latest.record, &latest.hash)?);
        }
        Ok(out)
    }

    /// The record hash of an ad's latest version, without reading the record.
    pub fn latest_hash(&self, uid: &str) -> Result<Option<RecordHash>> {
        let txn = self.db.begin_read()?;
        Ok(ReadAdEntries::read(&txn)?
            .latest(uid)?
            .map(|latest| latest.hash))
    }

    /// Every version of an ad, oldest first.
    pub fn history(&self, uid: &str) -> Result<Vec<Version>> {
        let txn = self.db.begin_read()?;
        let versions = ReadAdEntries::read(&txn)?.versions(uid)?;
        Ok(versions.into_iter().map(|(version, _)| version).collect())
    }

    /// Every version of an ad with its record, oldest first, in one read.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// assert!(archive.history_with_records("snap:0").unwrap().is_empty());
    /// ```
    pub fn history_with_records(&self, uid: &str) -> Result<Vec<(Version, Ad)>> {
        let txn = self.db.begin_read()?;
        let versions = ReadAdEntries::read(&txn)?.versions(uid)?;
        let records = txn.open_table(RECORDS)?;
        versions
            .into_iter()
            .map(|(version, number)| {
                let canonical = stored_record(&records, number, &version.record_hash)?;
                let ad = decode(uid, &canonical)?;
                Ok((version, ad))
            })
            .collect()
    }

    /// Every observation of an ad, in import order of their sources.
    pub fn observations_of(&self, uid: &str) -> Result<Vec<Observation>> {
        let txn = self.db.begin_read()?;
        let observation_keys = ReadAdEntries::read(&txn)?.observation_keys(uid)?;
        let observations = txn.open_table(OBSERVATIONS)?;
        let sources = txn.open_table(SOURCES)?;
        let mut out = Vec::new();
        for obs_key in &observation_keys {
            let obs_key = &obs_key[..];
            let (Some(source_key), Some(ordinal)) = (obs_key.get(..32), obs_key.get(32..40)) else {
                return Err(damaged(uid, "bad observation key"));
            };
            let source_hex = blake3::Hash::from_slice(source_key)
                .map(|h| h.to_hex().to_string())
                .map_err(|_| damaged(uid, "bad observation key"))?;
            let ordinal = u64::from_be_bytes(ordinal.try_into().unwrap_or_default());
            let Some(entry) = sources.get(source_hex.as_str())? else {
                return Err(damaged(uid, "observation of a source not in the manifest"));
            };
            let entry: SourceEntry = decode(&source_hex, entry.value())?;
            let Some(value) = observations.get(obs_key)? else {
                return Err(damaged(uid, "indexed observation missing"));
            };
            out.push(codec::observation(value.value(), ordinal, &entry)?);
        }
        out.sort_by_key(|o: &Observation| o.observed_at);
        Ok(out)
    }

    /// The provenance trail of an ad: every observation of it and the
    /// manifest entries of the sources they come from, in the order first
    /// observed; `None` for an ad the archive does not know.
    pub fn provenance(&self, uid: &str) -> Result<Option<Provenance>> {
        let observations = self.observations_of(uid)?;
        if observations.is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<SourceEntry> = Vec::new();
        for o in &observations {
            if !sources.iter().any(|s| s.blake3 == o.source_blake3) {
                sources.extend(self.source(&o.source_blake3)?);
            }
        }
        let log = crate::tlog::inclusion_of(&self.db.begin_read()?, &sources)?;
        Ok(Some(Provenance {
            uid: uid.to_owned(),
            observations,
            sources,
            log,
        }))
    }

    /// The media type a stored source is served as: its format's, told by
    /// its first bytes where a format is saved in several forms.
    pub fn media_type_of(&self, entry: &SourceEntry) -> Result<&'static str> {
        if entry.format == ZIP_FORMAT {
            return Ok("application/zip");
        }
        let Some(importer) = adarchive_importers::by_name(&entry.format) else {
            return Ok("application/octet-stream");
        };
        let path = self.source_path(&entry.blake3);
        let mut head = Vec::with_capacity(256);
        File::open(&path)
            .and_then(|f| f.take(256).read_to_end(&mut head))
            .at(&path)?;
        Ok(importer.media_type_of(&head))
    }

    /// Every observation read from one source, in source order.
    pub fn observations_in(&self, blake3: &str) -> Result<Vec<Observation>> {
        let Some(entry) = self.source(blake3)? else {
            return Ok(Vec::new());
        };
        let key =
            blake3::Hash::from_hex(blake3).map_err(|_| damaged(blake3, "not a blake3 hash"))?;
        let txn = self.db.begin_read()?;
        let observations = txn.open_table(OBSERVATIONS)?;
        let (from, to) = (
            observation_key(key.as_bytes(), 0),
            observation_key(key.as_bytes(), u64::MAX),
        );
        let mut out = Vec::new();
        for item in observations.range(&from[..]..=&to[..])? {
            let (k, value) = item?;
            let ordinal = k
                .value()
                .get(32..40)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| damaged(blake3, "bad observation key"))?;
            out.push(codec::observation(value.value(), ordinal, &entry)?);
        }
        Ok(out)
    }

    /// A record of an ad by its hash: any of its versions, or what one of
    /// its observations read.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// # let hash = adarchive_schema::RecordHash::of(b"{}");
    /// // An archive without that ad has none of its records.
    /// assert!(archive.record("snap:0", &hash).unwrap().is_none());
    /// ```
    pub fn record(&self, uid: &str, hash: &RecordHash) -> Result<Option<Ad>> {
        let txn = self.db.begin_read()?;
        let Some(number) = ReadAdEntries::read(&txn)?.record_of(uid, hash)? else {
            return Ok(None);
        };
        let canonical = stored_record(&txn.open_table(RECORDS)?, number, hash)?;
        decode(uid, &canonical).map(Some)
    }

    /// Counts of what the archive holds.
    pub fn stats(&self) -> Result<Stats> {
        let txn = self.db.begin_read()?;
        Ok(Stats {
            sources: txn.open_table(SOURCES)?.len()?,
            observations: txn.open_table(OBSERVATIONS)?.len()?,
            records: txn.open_table(RECORDS)?.len()?,
            ads: count_tagged(&txn, TAG_LATEST)?,
            versions: count_tagged(&txn, TAG_VERSION)?,
        })
    }
}

/// Where the database's bytes go: one table's share.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableSize {
    /// The table's name.
    pub name: String,
    /// Its entries.
    pub entries: u64,
    /// Bytes of its keys and values as stored.
    pub stored_bytes: u64,
    /// Bytes of the tree around them (branch pages, page headers).
    pub metadata_bytes: u64,
    /// Bytes of its pages that hold nothing.
    pub fragmented_bytes: u64,
}

impl TableSize {
    /// Every byte of its pages.
    pub fn total_bytes(&self) -> u64 {
        self.stored_bytes + self.metadata_bytes + self.fragmented_bytes
    }
}

impl Archive {
    /// What compresses the records of a new source of `format`: against
    /// the format's dictionary, or making one.
    pub(crate) fn record_compressor(&self, format: &str) -> Result<codec::RecordCompressor> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(DICTIONARIES)?;
        let prefix = format!("{format}/");
        let existing = match table.range(prefix.as_str()..)?.next() {
            Some(item) => {
                let (key, bytes) = item?;
                key.value()
                    .starts_with(&prefix)
                    .then(|| codec::register_dictionary(bytes.value()))
            }
            None => None,
        };
        Ok(codec::RecordCompressor::new(existing))
    }

    /// Makes the database smaller: writes again as full pages the tables
    /// whose pages are a tenth or more free space, when that makes them a
    /// tenth smaller (those keyed at random,
    /// like the ads by uid, and those of archives written before sources'
    /// rows were written as runs), in one transaction, then gives the
    /// database's free pages back to the disk (after a large import or a
    /// rebuild, the pages its transactions wrote and freed again). Needs
    /// the archive to itself (no server reading it).
    pub fn compact(&mut self) -> Result<Compacted> {
        use redb::TableDefinition;
        let path = self.root.join(DATABASE_FILE);
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).at(p);
        let before = size(&path)?;
        // Its commit is durable, and so makes every commit before it
        // durable: the source files those name must be on disk first.
        self.sync_placed_files()?;
        let txn = self.db.begin_write()?;
        let mut repacked = Vec::new();
        // Each table is written into a scratch table of its name.
        macro_rules! repack {
            ($($name:literal: $table:expr),* $(,)?) => {$(
                debug_assert_eq!(redb::TableHandle::name(&$table), $name);
                let scratch = TableDefinition::new(concat!("repacking:", $name));
                if runs::repack(&txn, $table, scratch)? {
                    repacked.push($name);
                }
            )*};
        }
        repack!(
            "ad_numbers": AD_NUMBERS,
            "ad_entries": ADS,
            "observations": OBSERVATIONS,
            "records": RECORDS,
            "report_rows": REPORT_ROWS,
            "advertiser_facts": ADVERTISER_FACTS,
            "listed": listings::LISTED,
            "ad_scopes": listings::AD_SCOPES,
            "changes": listings::CHANGES,
        );
        txn.commit()?;
        // Each pass moves what it can towards the start of the file.
        while self.db.compact()? {}
        Ok(Compacted {
            before,
            after: size(&path)?,
            repacked,
        })
    }

    /// Every table of the database with its size, largest first.
    pub fn table_sizes(&self) -> Result<Vec<TableSize>> {
        use redb::ReadableTableMetadata;
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        for handle in txn.list_tables()? {
            let name = redb::TableHandle::name(&handle).to_owned();
            let table = txn.open_untyped_table(handle)?;
            let stats = table.stats()?;
            out.push(TableSize {
                name,
                entries: table.len()?,
                stored_bytes: stats.stored_bytes(),
                metadata_bytes: stats.metadata_bytes(),
                fragmented_bytes: stats.fragmented_bytes(),
            });
        }
        out.sort_by(|a, b| {
            b.total_bytes()
                .cmp(&a.total_bytes())
                .then(a.name.cmp(&b.name))
        });
        Ok(out)
    }
}

/// What [`Archive::compact`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compacted {
    /// The database file's size before, in bytes.
    pub before: u64,
    /// Its size after.
    pub after: u64,
    /// The tables written again as full pages.
    pub repacked: Vec<&'static str>,
}

/// Counts of what the archive holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Stored sources, bundles included.
    pub sources: u64,
    /// Observations of records.
    pub observations: u64,
    /// Distinct records.
    pub records: u64,
    /// Distinct ads.
    pub ads: u64,
    /// Versions of ads.
    pub versions: u64,
}

/// Where the quarantined rows of a source are, in the data folder `root`.
pub fn quarantine_path_in(root: &Path, blake3: &str) -> PathBuf {
    root.join("quarantine").join(format!("{blake3}.jsonl"))
}

/// The canonical JSON of record `number`, checked against the hash it is
/// filed under: both the hash written beside it and the blake3 of the JSON
/// itself, so that a damaged record is refused rather than served as the
/// platform's.
pub(crate) fn stored_record(
    records: &impl ReadableTable<u64, &'static [u8]>,
    number: u64,
    hash: &RecordHash,
) -> Result<Vec<u8>> {
    let Some(stored) = records.get(number)? else {
        return Err(damaged(&hash.to_hex(), "indexed record missing"));
    };
    match codec::decode_record(stored.value()) {
        Some((filed, canonical)) if filed == *hash => {
            if RecordHash::of(&canonical) == *hash {
                Ok(canonical)
            } else {
                Err(damaged(
                    &hash.to_hex(),
                    "the stored JSON does not hash to the record's hash",
                ))
            }
        }
        _ => Err(damaged(&hash.to_hex(), "unreadable record")),
    }
}

fn count_tagged(txn: &redb::ReadTransaction, tag: u8) -> Result<u64> {
    let ads = txn.open_table(ADS)?;
    let mut n = 0;
    for item in ads.iter()? {
        let (key, _) = item?;
        if split_ad_key(key.value()).is_some_and(|(_, t, _)| t == tag) {
            n += 1;
        }
    }
    Ok(n)
}

/// A manifest entry as it is read: with the public form of its names, so
/// that an archive imported before names were kept that way never shows
/// where its files lay.
/// Logs, in `txn`, the sources of the manifest the log does not have yet,
/// up to (not including) import sequence number `up_to`.
pub(crate) fn log_sources(
    txn: &redb::WriteTransaction,
    up_to: u64,
    key: &crate::tlog::LogKey,
) -> Result<()> {
    let logged = crate::tlog::logged(txn)?;
    if logged >= up_to {
        return Ok(());
    }
    let order = txn.open_table(SOURCE_ORDER)?;
    let sources = txn.open_table(SOURCES)?;
    for seq in logged..up_to {
        let blake3 = order
            .get(seq)?
            .map(|v| v.value().to_owned())
            .ok_or_else(|| damaged("source order", &format!("no source numbered {seq}")))?;
        let bytes = sources
            .get(blake3.as_str())?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| damaged("manifest", &format!("no entry for {blake3}")))?;
        let entry = decode_source(&blake3, &bytes)?;
        crate::tlog::append(txn, seq, &entry, key)?;
    }
    Ok(())
}

pub(crate) fn decode_source(blake3: &str, bytes: &[u8]) -> Result<SourceEntry> {
    let mut entry: SourceEntry = decode(blake3, bytes)?;
    for name in &mut entry.names {
        *name = public_name(name);
    }
    Ok(entry)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| damaged(what, &e.to_string()))
}

pub(crate) fn damaged(what: &str, reason: &str) -> Error {
    Error::Damaged {
        what: what.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Renames a fully written, synced file into place and syncs the folder.
pub(crate) fn persist(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path).at(path)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    }
    Ok(())
}

/// A fresh path in the staging folder.
pub(crate) fn tempfile_in(dir: &Path) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Ok(dir.join(format!("{}-{nanos}-{n}.part", std::process::id())))
}

/// Removes leftovers of interrupted imports from the staging folder.
pub(crate) fn clear_staging(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).at(dir),
    }
}

/// Imports into `archive` the Snap file of the samples generated with
/// `seed` into `exports`.
#[cfg(test)]
pub(crate) fn import_generated_snap(archive: &Archive, exports: &Path, seed: u64) {
    let options = crate::generate::GenerateOptions {
        seed,
        ..Default::default()
    };
    crate::generate::generate_samples(exports, &options).unwrap();
    crate::ingest::import_paths(
        archive,
        &[exports.join("snap").join("PoliticalAds.csv")],
        Default::default(),
        &NoProgress,
    )
    .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap_archive(dir: &Path) -> Archive {
        let archive = Archive::open(&dir.join("data")).unwrap();
        import_generated_snap(&archive, &dir.join("exports"), 1);
        archive
    }

    #[test]
    fn a_record_whose_json_no_longer_matches_its_hash_is_refused_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let archive = snap_archive(dir.path());
        let uid = {
            let txn = archive.db().begin_read().unwrap();
            let ads = txn.open_table(ADS).unwrap();
            ads.iter()
                .unwrap()
                .map(Result::unwrap)
                .find_map(|(key, value)| {
                    let (_, tag, _) = split_ad_key(key.value())?;
                    let (latest, uid) = split_latest(value.value())?;
                    (tag == TAG_LATEST && latest.record == 0).then(|| uid.to_owned())
                })
                .unwrap()
        };
        let before = archive.latest(&uid).unwrap().unwrap();
        assert_eq!(before.uid, uid);

        let txn = archive.db().begin_write().unwrap();
        let filed = {
            let mut records = txn.open_table(RECORDS).unwrap();
            let filed = codec::decode_record(records.get(0).unwrap().unwrap().value())
                .unwrap()
                .0;
            let other = codec::encode_record(&filed, br#"{"uid":"snap:other"}"#);
            records.insert(0, &other[..]).unwrap();
            filed
        };
        txn.commit().unwrap();

        let refused = archive.latest(&uid).unwrap_err().to_string();
        assert!(refused.contains(&filed.to_hex()), "{refused}");
        assert!(refused.contains("does not hash"), "{refused}");
    }

    #[test]
    fn verify_names_each_damaged_misfiled_and_orphaned_record() {
        let dir = tempfile::tempdir().unwrap();
        let archive = snap_archive(dir.path());
        assert!(crate::check::verify(&archive).unwrap().ok());

        let txn = archive.db().begin_write().unwrap();
        let (rewritten, moved_uid) = {
            let mut records = txn.open_table(RECORDS).unwrap();
            let count = records.len().unwrap();
            let filed = |n: u64| {
                let value = records.get(n).unwrap().unwrap();
                codec::decode_record(value.value()).unwrap().0
            };
            // Record 0 keeps its hash over other JSON; record 1 is garbage;
            // one more record belongs to no version.
            let rewritten = filed(0);
            let other = codec::encode_record(&rewritten, br#"{"uid":"snap:other"}"#);
            records.insert(0, &other[..]).unwrap();
            records.insert(1, &[1u8, 0xff, 0xff][..]).unwrap();
            let json = br#"{"uid":"snap:orphan"}"#;
            let orphan = codec::encode_record(&RecordHash::of(json), json);
            records.insert(count, &orphan[..]).unwrap();

            // The ad of record 2 now points its version and latest pointer
            // at record 3.
            let mut ads = WriteAdEntries::write(&txn).unwrap();
            let found = ads
                .entries
                .iter()
                .unwrap()
                .map(Result::unwrap)
                .find_map(|(key, value)| {
                    let (number, tag, _) = split_ad_key(key.value())?;
                    let (version, _) = codec::decode_version("", value.value())
                        .filter(|(_, record)| tag == TAG_VERSION && *record == 2)?;
                    Some((key.value().to_vec(), number, version))
                });
            let (key, number, version) = found.unwrap();
            let source = blake3::Hash::from_hex(&version.source_blake3).unwrap();
            let mut value = Vec::new();
            codec::encode_version(&version, source.as_bytes(), 3, &mut value);
            ads.entries.insert(&key[..], &value[..]).unwrap();
            let mut key = Vec::new();
            ad_key(number, TAG_LATEST, &[], &mut key);
            let latest = ads.entries.get(&key[..]).unwrap().unwrap().value().to_vec();
            let (mut latest, uid) = split_latest(&latest)
                .map(|(l, u)| (l, u.to_owned()))
                .unwrap();
            latest.record = 3;
            ads.entries
                .insert(&key[..], &latest_value(&latest, &uid)[..])
                .unwrap();
            (rewritten, uid)
        };
        txn.commit().unwrap();

        let report = crate::check::verify(&archive).unwrap();
        let has = |needle: &str| report.mismatches.iter().any(|m| m.contains(needle));
        assert!(has(&format!("record {rewritten}: stored JSON hashes to")));
        assert!(has("record number 1: cannot be decompressed"));
        assert!(has(&format!(
            "ad {moved_uid} version 0: names record {}, but record number 3 is",
            archive.history(&moved_uid).unwrap()[0].record_hash
        )));
        assert!(has("(number 2): no version of any ad refers to it"));
        let orphan = RecordHash::of(br#"{"uid":"snap:orphan"}"#);
        assert!(has(&format!("record {orphan} (number ")));
        assert_eq!(report.mismatches.len(), 5, "{:#?}", report.mismatches);
    }
}
