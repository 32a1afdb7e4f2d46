//! Helpers every importer uses while mapping one row to an [`Ad`].

use adarchive_schema::{Ad, RegionShare, Timestamp};
use serde_json::Value;

/// An [`Ad`] under construction, counting the values that could not be
/// normalized.
pub(crate) struct Mapping {
    pub ad: Ad,
    /// Fields of `ad.unmapped` holding a value that could not be normalized.
    pub unnormalized: Vec<String>,
}

impl Mapping {
    pub fn new(ad: Ad) -> Self {
        Mapping {
            ad,
            unnormalized: Vec::new(),
        }
    }

    /// Keeps a platform-specific value verbatim.
    pub fn keep(&mut self, field: &str, value: impl Into<Value>) {
        self.ad.unmapped.insert(field.to_owned(), value.into());
    }

    /// Sets the first (`first`) or last shown time, or keeps `raw` under
    /// `field` as a value that could not be read as a time.
    pub fn shown(
        &mut self,
        first: bool,
        parsed: Option<Timestamp>,
        field: &str,
        raw: impl Into<Value>,
    ) {
        match parsed {
            Some(t) if first => self.ad.first_shown = Some(t),
            Some(t) => self.ad.last_shown = Some(t),
            None => self.keep_unnormalized(field, raw),
        }
    }

    /// Records that `share` (0–1) of the ad's delivery reached country
    /// `code`.
    pub fn country_share(&mut self, code: &str, share: f64) {
        push_unique(&mut self.ad.countries, code);
        self.ad.delivery.regions.push(RegionShare {
            region: code.to_owned(),
            share,
        });
    }

    /// Keeps one item of a list verbatim under `field`, beside the items
    /// kept before it (an array).
    pub fn keep_item(&mut self, field: &str, value: impl Into<Value>) {
        match self.ad.unmapped.get_mut(field) {
            Some(Value::Array(items)) => items.push(value.into()),
            Some(other) => {
                let first = other.take();
                *other = Value::Array(vec![first, value.into()]);
            }
            None => {
                self.ad
                    .unmapped
                    .insert(field.to_owned(), Value::Array(vec![value.into()]));
            }
        }
    }

    /// Like [`Mapping::keep_item`], for an item that could not be
    /// normalized; counts it.
    pub fn keep_item_unnormalized(&mut self, field: &str, value: impl Into<Value>) {
        self.keep_item(field, value);
        self.unnormalized.push(field.to_owned());
    }

    /// Keeps a value that should have been normalized but could not be, and
    /// counts it.
    pub fn keep_unnormalized(&mut self, field: &str, value: impl Into<Value>) {
        self.keep(field, value);
        self.unnormalized.push(field.to_owned());
    }
}

/// Pushes `value` unless it is already present, keeping first-seen order.
pub(crate) fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}
