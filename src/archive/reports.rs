//! Reading the stored rows of aggregate spend reports.

use adarchive_schema::{RateRow, RecordHash, ReportRow, Timestamp};
use redb::{ReadableDatabase, TableDefinition};

use super::{codec, damaged, decode, Archive, SourceEntry, RATE_ROWS, REPORT_ROWS};
use crate::error::Result;

/// One report row as archived, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchivedReportRow {
    /// The stored source (blake3 of its bytes).
    pub source_blake3: String,
    /// The name the source was first imported under.
    pub source_name: String,
    /// The source's import sequence number: later imports have larger ones.
    pub source_seq: u64,
    /// Position among the source's rows, from 0.
    pub ordinal: u64,
    /// 1-based line of the row in the source.
    pub line: u64,
    /// blake3 of the row's raw bytes, hex.
    pub raw_hash: String,
    /// Hash of the row's canonical JSON.
    pub row_hash: RecordHash,
    /// The row.
    pub row: ReportRow,
}

/// The report rows of one state of the archive, shared by the requests
/// that read them, with an index a reader derives from them once.
pub struct SharedReportRows {
    /// The rows, as [`Archive::report_rows`] gives them.
    pub rows: Vec<ArchivedReportRow>,
    derived: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl SharedReportRows {
    /// What `derive` makes of the rows: made by the first caller, then kept
    /// as long as the rows are. One reader's index: `None` when another
    /// kind of index was kept first.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// let shared = archive.report_rows_shared().unwrap();
    /// let count = shared.derived(|rows| rows.len());
    /// assert_eq!(count, Some(&0));
    /// assert_eq!(shared.derived(|_| 7usize), Some(&0), "made once");
    /// assert_eq!(shared.derived(|_| "another kind"), None);
    /// ```
    pub fn derived<T: std::any::Any + Send + Sync>(
        &self,
        derive: impl FnOnce(&[ArchivedReportRow]) -> T,
    ) -> Option<&T> {
        self.derived
            .get_or_init(|| Box::new(derive(&self.rows)))
            .downcast_ref()
    }
}

/// One day of exchange rates as archived.
#[derive(Clone, Debug, PartialEq)]
pub struct RateDay {
    /// The stored source (blake3).
    pub source_blake3: String,
    /// 1-based line in it.
    pub line: u64,
    /// Units of each currency per euro.
    pub per_euro: std::collections::BTreeMap<String, f64>,
}

impl Archive {
    /// Every archived report row, sources in import order and rows in file
    /// order.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// assert!(archive.report_rows().unwrap().is_empty());
    /// ```
    pub fn report_rows(&self) -> Result<Vec<ArchivedReportRow>> {
        let mut out = Vec::new();
        self.stored_rows(
            REPORT_ROWS,
            |s| s.report_rows > 0,
            |source, ordinal, stored| {
                out.push(ArchivedReportRow {
                    source_blake3: source.blake3.clone(),
                    source_name: source.names.first().cloned().unwrap_or_default(),
                    source_seq: source.seq,
                    ordinal,
                    line: stored.locator.line,
                    raw_hash: blake3::Hash::from_bytes(stored.raw_hash)
                        .to_hex()
                        .to_string(),
                    row_hash: stored.row_hash,
                    row: decode(&source.blake3, &stored.canonical)?,
                });
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Every archived report row, as [`Archive::report_rows`], decoded
    /// once per set of sources: spend requests read them all, and decoding
    /// them each time would cost more than the totals.
    pub fn report_rows_shared(&self) -> Result<std::sync::Arc<SharedReportRows>> {
        let sources = self.source_count()?;
        let mut memo = self
            .report_rows_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((count, rows)) = memo.as_ref() {
            if *count == sources {
                return Ok(std::sync::Arc::clone(rows));
            }
        }
        let rows = std::sync::Arc::new(SharedReportRows {
            rows: self.report_rows()?,
            derived: std::sync::OnceLock::new(),
        });
        *memo = Some((sources, std::sync::Arc::clone(&rows)));
        Ok(rows)
    }

    /// Prepares what spend requests read once per state of the archive (the
    /// decoded report rows, the global ordinals of advertisers and
    /// funders), so that no client waits for it after a start or an
    /// import. A failure is left for the request that needs the data to
    /// report.
    pub fn warm(&self) {
        let _ = self.report_rows_shared();
        if let Ok(index) = self.search_index() {
            let searcher = index.searcher();
            for field in ["advertiser_key", "funder_name"] {
                let _ = index.global_ordinals(&searcher, field);
            }
        }
    }

    /// Every archived day of exchange rates, by date; when two imports hold
    /// the same day, the later one's rates win, currency by currency.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// assert!(archive.rate_days().unwrap().is_empty());
    /// ```
    pub fn rate_days(&self) -> Result<std::collections::BTreeMap<Timestamp, RateDay>> {
        let mut out = std::collections::BTreeMap::new();
        self.stored_rows(
            RATE_ROWS,
            |s| s.rate_rows > 0,
            |source, _, stored| {
                let row: RateRow = decode(&source.blake3, &stored.canonical)?;
                // A later import wins currency by currency; the day keeps
                // the source and line of its latest rates.
                let day = out.entry(row.date).or_insert_with(|| RateDay {
                    source_blake3: source.blake3.clone(),
                    line: stored.locator.line,
                    per_euro: Default::default(),
                });
                day.source_blake3.clone_from(&source.blake3);
                day.line = stored.locator.line;
                day.per_euro.extend(row.per_euro);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// What the archived ads and report rows say of every advertiser.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = adarchive::archive::Archive::open(dir.path()).unwrap();
    /// assert!(archive.advertiser_identities().unwrap().is_empty());
    /// ```
    pub fn advertiser_identities(&self) -> Result<Vec<super::PlatformIdentity>> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(super::ADVERTISER_FACTS)?;
        let mut out = Vec::new();
        for item in redb::ReadableTable::iter(&table)? {
            let (key, value) = item?;
            out.push(decode(key.value(), value.value())?);
        }
        Ok(out)
    }

    /// Calls `each` for every stored row of `table`, sources in import order.
    fn stored_rows(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        has_rows: impl Fn(&SourceEntry) -> bool,
        mut each: impl FnMut(&SourceEntry, u64, codec::StoredReportRow) -> Result<()>,
    ) -> Result<()> {
        let sources = self.sources()?;
        let txn = self.db().begin_read()?;
        let table = txn.open_table(table)?;
        for source in sources.iter().filter(|s| has_rows(s)) {
            let Ok(key) = blake3::Hash::from_hex(&source.blake3) else {
                return Err(damaged(&source.blake3, "not a blake3 hash"));
            };
            let from = super::observation_key(key.as_bytes(), 0);
            let to = super::observation_key(key.as_bytes(), u64::MAX);
            for item in table.range(&from[..]..=&to[..])? {
                let (k, v) = item?;
                let ordinal = k
                    .value()
                    .get(32..40)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or_default();
                let stored = codec::decode_report_row(v.value())
                    .ok_or_else(|| damaged(&source.blake3, "a stored row is damaged"))?;
                each(source, ordinal, stored)?;
            }
        }
        Ok(())
    }
}
