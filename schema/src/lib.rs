//! The normalized political-ad record.
//!
//! Every importer in adarchive maps a platform's export rows into one [`Ad`].
//! The record is plain data: it knows nothing of where it came from (that is
//! the archive's provenance trail) and it is hashed through its canonical
//! JSON form, so two importers that produce the same values produce the same
//! [`RecordHash`].
//!
//! ```
//! use adarchive_schema::{Ad, Platform, SpendRange};
//!
//! let mut ad = Ad::new(Platform::Snap, "0001136c");
//! ad.spend.push(SpendRange::exact("USD", 120));
//! assert_eq!(ad.uid, "snap:0001136c");
//! let hash = ad.record_hash();
//! assert_eq!(hash, ad.clone().record_hash());
//! ```

mod canonical;
mod rates;
mod record;
mod report;
mod timestamp;

pub use canonical::{canonical_json, to_canonical_json, RecordHash};
pub use rates::RateRow;
pub use record::{
    Ad, Advertiser, AgeGenderShare, CountRange, Creative, Delivery, MediaType, Platform,
    RegionShare, SpendRange, Targeting,
};
pub use report::{Identifier, KeywordSpend, ReportKind, ReportRow};
pub use timestamp::{Timestamp, TimestampError};

/// The JSON Schema of [`Ad`], generated from the Rust types.
///
/// The committed copy lives at `schema/ad.schema.json`; a test fails when it
/// is stale.
///
/// ```
/// let schema = adarchive_schema::ad_json_schema();
/// assert_eq!(schema["title"], "Ad");
/// ```
pub fn ad_json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Ad);
    serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null)
}
