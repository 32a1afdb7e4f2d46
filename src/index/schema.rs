//! The index schema and how an [`Ad`] becomes a document.

use adarchive_schema::{Ad, RecordHash};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STRING,
};
use tantivy::TantivyDocument;

use super::tokenizer::ANALYZER;

/// Full-text fields and their weight in relevance.
pub const TEXT_FIELDS: &[(&str, f32)] = &[
    ("creative", 1.0),
    ("advertiser", 2.0),
    ("funder", 2.0),
    ("targeting", 0.5),
];

/// Keyword fields: exact values, filterable and countable.
pub const KEYWORD_FIELDS: &[&str] = &[
    "platform",
    "country",
    "region",
    "language",
    "currency",
    "media_type",
    "advertiser_id",
    "advertiser_key",
    "advertiser_name",
    "funder_name",
    "gender",
    "age",
    "status",
];

/// Keyword fields that are only counted and grouped by, never matched:
/// they have a column but no terms (a term dictionary of every advertiser
/// would cost import time and disk for nothing).
const COLUMN_ONLY: &[&str] = &["advertiser_key", "advertiser_name"];

/// The fields of the index.
#[derive(Clone)]
pub struct Fields {
    pub schema: Schema,
    pub uid: Field,
    pub text: Vec<Field>,
    pub keywords: Vec<Field>,
    pub first_shown: Field,
    pub last_shown: Field,
    pub active: Field,
    pub spend_lower: Field,
    pub spend_upper: Field,
    pub impressions_lower: Field,
    pub impressions_upper: Field,
    pub record_hash: Field,
}

/// Seconds stored for "still running": the shown period is open-ended.
pub const STILL_RUNNING: i64 = i64::MAX;
/// Stored for an open upper bound.
pub const UNBOUNDED: u64 = u64::MAX;

impl Fields {
    pub fn new() -> Self {
        let mut b = Schema::builder();
        let uid = b.add_text_field("uid", STRING | FAST);
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let text = TEXT_FIELDS
            .iter()
            .map(|(name, _)| {
                b.add_text_field(
                    name,
                    TextOptions::default().set_indexing_options(indexing.clone()),
                )
            })
            .collect();
        let keywords = KEYWORD_FIELDS
            .iter()
            .map(|name| {
                if COLUMN_ONLY.contains(name) {
                    b.add_text_field(name, FAST)
                } else {
                    b.add_text_field(name, STRING | FAST)
                }
            })
            .collect();
        let number = || NumericOptions::default().set_fast();
        let first_shown = b.add_i64_field("first_shown", number());
        let last_shown = b.add_i64_field("last_shown", number());
        let active = b.add_u64_field("active", INDEXED | FAST);
        let spend_lower = b.add_u64_field("spend_lower", number());
        let spend_upper = b.add_u64_field("spend_upper", number());
        let impressions_lower = b.add_u64_field("impressions_lower", number());
        let impressions_upper = b.add_u64_field("impressions_upper", number());
        let record_hash = b.add_u64_field("record_hash", FAST);
        Fields {
            schema: b.build(),
            uid,
            text,
            keywords,
            first_shown,
            last_shown,
            active,
            spend_lower,
            spend_upper,
            impressions_lower,
            impressions_upper,
            record_hash,
        }
    }

    /// The keyword field called `name`.
    pub fn keyword(&self, name: &str) -> Option<Field> {
        KEYWORD_FIELDS
            .iter()
            .position(|k| *k == name)
            .map(|i| self.keywords[i])
    }

    /// Whether `field` has terms (a keyword field may be a column only).
    pub fn is_indexed(&self, field: Field) -> bool {
        self.schema.get_field_entry(field).is_indexed()
    }

    /// The full-text field called `name`.
    pub fn text_field(&self, name: &str) -> Option<Field> {
        TEXT_FIELDS
            .iter()
            .position(|(k, _)| *k == name)
            .map(|i| self.text[i])
    }

    /// The document for the latest version of an ad, whose record hashes
    /// to `record_hash` (passed in: the importer has just computed it).
    pub fn document(&self, ad: &Ad, record_hash: &RecordHash) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.uid, &ad.uid);
        let c = &ad.creative;
        for t in c
            .bodies
            .iter()
            .chain(&c.titles)
            .chain(&c.descriptions)
            .chain(&c.captions)
        {
            doc.add_text(self.text[0], t);
        }
        for t in ad.advertiser.name.iter() {
            doc.add_text(self.text[1], t);
        }
        for t in ad.funder.iter().chain(&ad.payers).chain(&ad.beneficiaries) {
            doc.add_text(self.text[2], t);
        }
        let tg = &ad.targeting;
        for t in tg
            .interests
            .iter()
            .chain(&tg.locations_included)
            .chain(tg.other.values().flatten())
        {
            doc.add_text(self.text[3], t);
        }

        let kw = |name: &str| self.keyword(name);
        let mut add = |name: &str, value: &str| {
            if let Some(f) = kw(name) {
                doc.add_text(f, value);
            }
        };
        add("platform", ad.platform.as_str());
        for v in &ad.countries {
            add("country", v);
        }
        for v in &ad.regions {
            add("region", v);
        }
        for v in &ad.languages {
            add("language", v);
        }
        for s in &ad.spend {
            add("currency", &s.currency);
        }
        if let Some(m) = ad.creative.media_type {
            add("media_type", media_type_name(m));
        }
        if let Some(id) = &ad.advertiser.id {
            add("advertiser_id", id);
        }
        add("advertiser_key", &advertiser_key(ad));
        if let Some(name) = &ad.advertiser.name {
            add("advertiser_name", name);
        }
        if let Some(f) = &ad.funder {
            add("funder_name", f);
        }
        for g in &tg.genders {
            add("gender", g);
        }
        for a in &tg.ages {
            add("age", a);
        }

        doc.add_i64(
            self.first_shown,
            ad.first_shown.map_or(i64::MIN, |t| t.unix_seconds()),
        );
        doc.add_i64(
            self.last_shown,
            ad.last_shown.map_or(STILL_RUNNING, |t| t.unix_seconds()),
        );
        doc.add_u64(self.active, u64::from(ad.last_shown.is_none()));
        for s in &ad.spend {
            if let Some(code) = currency_number(&s.currency) {
                doc.add_u64(self.spend_lower, pack(code, s.lower));
                doc.add_u64(self.spend_upper, pack(code, s.upper.unwrap_or(AMOUNT_MAX)));
            }
        }
        if let Some(r) = ad.impressions {
            doc.add_u64(self.impressions_lower, r.lower);
            doc.add_u64(self.impressions_upper, r.upper.unwrap_or(UNBOUNDED));
        }
        doc.add_u64(self.record_hash, hash_prefix(&record_hash.0));
        doc
    }
}

impl Fields {
    /// Adds an ad's listing status (`listed`, `missing_once`, `vanished`,
    /// `unknown`) to its document: it comes from the archive's listings,
    /// not from the record.
    pub fn add_status(&self, doc: &mut TantivyDocument, status: &str) {
        if let Some(field) = self.keyword("status") {
            doc.add_text(field, status);
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self::new()
    }
}

/// The media type as indexed and filtered on.
pub fn media_type_name(m: adarchive_schema::MediaType) -> &'static str {
    match m {
        adarchive_schema::MediaType::Text => "text",
        adarchive_schema::MediaType::Image => "image",
        adarchive_schema::MediaType::Video => "video",
        adarchive_schema::MediaType::Audio => "audio",
        adarchive_schema::MediaType::Carousel => "carousel",
    }
}

/// One advertiser on one platform: `google:AR…`, or the name where the
/// platform gives no advertiser id (`snap:name:Ferris for Congress`).
pub fn advertiser_key(ad: &Ad) -> String {
    match (&ad.advertiser.id, &ad.advertiser.name) {
        (Some(id), _) => format!("{}:{id}", ad.platform),
        (None, Some(name)) => format!("{}:name:{name}", ad.platform),
        (None, None) => format!("{}:unknown", ad.platform),
    }
}

/// The first 8 bytes of a record hash, enough to tell whether the indexed
/// version is the latest.
pub fn hash_prefix(hash: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(b)
}

/// Bits of a packed spend value that hold the amount.
const AMOUNT_BITS: u32 = 48;
/// The largest amount a packed value holds; also "open-ended".
pub const AMOUNT_MAX: u64 = (1 << AMOUNT_BITS) - 1;

/// An ISO 4217 code as a number below 26³.
pub fn currency_number(code: &str) -> Option<u64> {
    let b = code.as_bytes();
    if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    Some(b.iter().fold(0u64, |n, c| n * 26 + u64::from(c - b'A')))
}

/// The ISO code of [`currency_number`]'s output.
pub fn currency_code(n: u64) -> String {
    let mut s = [b'A'; 3];
    let mut n = n;
    for i in (0..3).rev() {
        s[i] = b'A' + (n % 26) as u8;
        n /= 26;
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// Spend in one currency as a single number that sorts by currency, then
/// amount: range queries and sorting within a currency use it directly.
pub fn pack(currency: u64, amount: u64) -> u64 {
    (currency << AMOUNT_BITS) | amount.min(AMOUNT_MAX)
}

/// The currency and amount of a packed value.
pub fn unpack(v: u64) -> (u64, u64) {
    (v >> AMOUNT_BITS, v & AMOUNT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_pack_and_sort() {
        let eur = currency_number("EUR").unwrap();
        assert_eq!(currency_code(eur), "EUR");
        assert_eq!(unpack(pack(eur, 500)), (eur, 500));
        assert!(pack(eur, AMOUNT_MAX) < pack(currency_number("EUS").unwrap(), 0));
        assert!(currency_number("eur").is_none());
    }
}
