//! What the archive holds of one source, read by position: the
//! observation, report row or day of rates at each ordinal, and how many
//! of each there are. `verify` compares a re-reading of the source with it.

use adarchive_schema::RecordHash;
use redb::{ReadOnlyTable, ReadableDatabase};

use super::codec::{decode_observation, decode_report_row, StoredReportRow};
use super::{damaged, observation_key, Archive, OBSERVATIONS, RATE_ROWS, REPORT_ROWS};
use crate::error::Result;

/// The stored parts of an observation that re-reading must reproduce.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StoredObservation {
    pub uid: String,
    pub locator: adarchive_importers::Locator,
    pub raw_hash: [u8; 32],
    pub record_hash: RecordHash,
}

/// The rows of one source in one read transaction.
pub(crate) struct SourceRows {
    blake3: String,
    key: [u8; 32],
    observations: ReadOnlyTable<&'static [u8], &'static [u8]>,
    report_rows: ReadOnlyTable<&'static [u8], &'static [u8]>,
    rate_rows: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

/// How many rows of each kind the archive holds for one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RowCounts {
    pub observations: u64,
    pub report_rows: u64,
    pub rate_rows: u64,
}

impl Archive {
    /// The rows stored for source `blake3`; `None` when it is no blake3 hash.
    pub(crate) fn source_rows(&self, blake3: &str) -> Result<Option<SourceRows>> {
        let Ok(key) = blake3::Hash::from_hex(blake3) else {
            return Ok(None);
        };
        let txn = self.db().begin_read()?;
        Ok(Some(SourceRows {
            blake3: blake3.to_owned(),
            key: *key.as_bytes(),
            observations: txn.open_table(OBSERVATIONS)?,
            report_rows: txn.open_table(REPORT_ROWS)?,
            rate_rows: txn.open_table(RATE_ROWS)?,
        }))
    }
}

impl SourceRows {
    /// The observation at `ordinal`; `Err` when it is unreadable.
    pub fn observation(&self, ordinal: u64) -> Result<Option<StoredObservation>> {
        let key = observation_key(&self.key, ordinal);
        let Some(value) = self.observations.get(&key[..])? else {
            return Ok(None);
        };
        let o = decode_observation(value.value())
            .ok_or_else(|| damaged(&self.blake3, "unreadable observation"))?;
        Ok(Some(StoredObservation {
            uid: o.uid.to_owned(),
            locator: o.locator,
            raw_hash: o.raw_hash,
            record_hash: o.record_hash,
        }))
    }

    /// The report row (or, with `rates`, day of rates) at `ordinal`:
    /// `Some(None)` when it is stored but cannot be decoded.
    pub fn row(&self, rates: bool, ordinal: u64) -> Result<Option<Option<StoredReportRow>>> {
        let key = observation_key(&self.key, ordinal);
        let table = if rates {
            &self.rate_rows
        } else {
            &self.report_rows
        };
        Ok(table
            .get(&key[..])?
            .map(|value| decode_report_row(value.value())))
    }

    /// How many rows of each kind are stored.
    pub fn counts(&self) -> Result<RowCounts> {
        let (from, to) = (
            observation_key(&self.key, 0),
            observation_key(&self.key, u64::MAX),
        );
        let count = |table: &ReadOnlyTable<&'static [u8], &'static [u8]>| -> Result<u64> {
            Ok(table.range(&from[..]..=&to[..])?.count() as u64)
        };
        Ok(RowCounts {
            observations: count(&self.observations)?,
            report_rows: count(&self.report_rows)?,
            rate_rows: count(&self.rate_rows)?,
        })
    }
}
