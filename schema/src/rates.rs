//! Reference exchange rates, for converting spend into a reporting
//! currency. No rate is ever built in: rates come from imported files.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{RecordHash, Timestamp};

/// One day of the ECB euro reference rates.
///
/// ```
/// use adarchive_schema::{RateRow, Timestamp};
/// let mut row = RateRow::new(Timestamp::parse_rfc3339("2024-06-03T00:00:00Z").unwrap());
/// row.per_euro.insert("USD".into(), 1.0842);
/// assert_eq!(row.per_euro["USD"], 1.0842);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RateRow {
    /// The day the rates are for.
    pub date: Timestamp,
    /// Units of each currency one euro buys (`USD: 1.0842`), ISO 4217.
    pub per_euro: BTreeMap<String, f64>,
}

impl RateRow {
    /// A day without rates yet.
    pub fn new(date: Timestamp) -> Self {
        RateRow {
            date,
            per_euro: BTreeMap::new(),
        }
    }

    /// The row's canonical JSON.
    pub fn canonical_json(&self) -> Vec<u8> {
        crate::to_canonical_json(self).unwrap_or_default()
    }

    /// `blake3(canonical_json)`.
    pub fn row_hash(&self) -> RecordHash {
        RecordHash::of(&self.canonical_json())
    }
}
