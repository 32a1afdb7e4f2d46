//! Helpers every importer uses while mapping one row to an [`Ad`].

use adarchive_schema::Ad;
use serde_json::Value;

/// An [`Ad`] under construction, counting the values that could not be
/// normalized.
pub(crate) struct Mapping {
    pub ad: Ad,
    pub unnormalized: u32,
}

impl Mapping {
    pub fn new(ad: Ad) -> Self {
        Mapping {
            ad,
            unnormalized: 0,
        }
    }

    /// Keeps a platform-specific value verbatim.
    pub fn keep(&mut self, field: &str, value: impl Into<Value>) {
        self.ad.unmapped.insert(field.to_owned(), value.into());
    }

    /// Keeps a value that should have been normalized but could not be, and
    /// counts it.
    pub fn keep_unnormalized(&mut self, field: &str, value: impl Into<Value>) {
        self.keep(field, value);
        self.unnormalized += 1;
    }
}

/// Pushes `value` unless it is already present, keeping first-seen order.
pub(crate) fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}
