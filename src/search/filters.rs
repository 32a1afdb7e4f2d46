//! Filters that combine with the query: exact values, dates, spend within a
//! currency, impressions.

use std::ops::Bound;

use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::SearchError;
use crate::index::schema::{currency_number, pack, Fields, AMOUNT_MAX};

/// Filters on a search. Several values of one filter match any of them;
/// different filters must all match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Platforms (`google`, `meta`, `snap`, …).
    pub platform: Vec<String>,
    /// Countries, ISO 3166-1 alpha-2.
    pub country: Vec<String>,
    /// Regions listed by the platform (`EU`).
    pub region: Vec<String>,
    /// Languages, ISO 639-1.
    pub language: Vec<String>,
    /// Currencies the ad's spend is published in, ISO 4217.
    pub currency: Vec<String>,
    /// Media types (`text`, `image`, `video`, …).
    pub media_type: Vec<String>,
    /// Platform advertiser ids.
    pub advertiser_id: Vec<String>,
    /// Funders, exactly as published.
    pub funder: Vec<String>,
    /// Targeted genders (`female`, `male`, `unknown`).
    pub gender: Vec<String>,
    /// Targeted age brackets, as published (`18-24`, `65+`).
    pub age: Vec<String>,
    /// `true`: still running (no last-shown date); `false`: ended.
    pub active: Option<bool>,
    /// Shown on or after this time (the shown period overlaps `from`..`to`).
    pub from: Option<Timestamp>,
    /// Shown on or before this time.
    pub to: Option<Timestamp>,
    /// Spend certainly at least this much (lower bound ≥), in the one `currency`.
    pub spend_min: Option<u64>,
    /// Spend certainly at most this much (upper bound ≤), in the one `currency`.
    pub spend_max: Option<u64>,
    /// Impressions certainly at least this many (lower bound ≥).
    pub impressions_min: Option<u64>,
    /// Impressions certainly at most this many (upper bound ≤).
    pub impressions_max: Option<u64>,
}

/// The filters as people write them, on the command line or in a query
/// string: lists already split into values, everything else as text. One
/// [`FilterText::parse`] checks them for every edge, naming the parameter
/// (`from`, `spend_min`) of a value that does not parse.
#[derive(Clone, Debug, Default)]
pub struct FilterText {
    /// See [`Filters::platform`].
    pub platform: Vec<String>,
    /// See [`Filters::country`].
    pub country: Vec<String>,
    /// See [`Filters::region`].
    pub region: Vec<String>,
    /// See [`Filters::language`].
    pub language: Vec<String>,
    /// See [`Filters::currency`].
    pub currency: Vec<String>,
    /// See [`Filters::media_type`].
    pub media_type: Vec<String>,
    /// See [`Filters::advertiser_id`].
    pub advertiser_id: Vec<String>,
    /// See [`Filters::funder`].
    pub funder: Vec<String>,
    /// See [`Filters::gender`].
    pub gender: Vec<String>,
    /// See [`Filters::age`].
    pub age: Vec<String>,
    /// `true` or `false`.
    pub active: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub from: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    pub to: Option<String>,
    /// A whole number.
    pub spend_min: Option<String>,
    /// A whole number.
    pub spend_max: Option<String>,
    /// A whole number.
    pub impressions_min: Option<String>,
    /// A whole number.
    pub impressions_max: Option<String>,
}

impl FilterText {
    /// The filters, each value checked.
    ///
    /// ```
    /// use adarchive::search::filters::FilterText;
    /// let text = FilterText {
    ///     country: vec!["NL".into()],
    ///     from: Some("2021-03-01".into()),
    ///     spend_min: Some("100".into()),
    ///     ..FilterText::default()
    /// };
    /// let filters = text.parse().unwrap();
    /// assert_eq!(filters.spend_min, Some(100));
    /// let wrong = FilterText { from: Some("5/27/2018".into()), ..FilterText::default() };
    /// assert_eq!(wrong.parse().unwrap_err().to_string(),
    ///     "from: `5/27/2018` is not a date (YYYY-MM-DD) or an RFC 3339 time");
    /// ```
    pub fn parse(self) -> Result<Filters, SearchError> {
        Ok(Filters {
            platform: self.platform,
            country: self.country,
            region: self.region,
            language: self.language,
            currency: self.currency,
            media_type: self.media_type,
            advertiser_id: self.advertiser_id,
            funder: self.funder,
            gender: self.gender,
            age: self.age,
            active: self
                .active
                .map(|v| match v.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(bad("active", format!("`{v}` is not `true` or `false`"))),
                })
                .transpose()?,
            from: date("from", self.from)?,
            to: date("to", self.to)?,
            spend_min: amount("spend_min", self.spend_min)?,
            spend_max: amount("spend_max", self.spend_max)?,
            impressions_min: amount("impressions_min", self.impressions_min)?,
            impressions_max: amount("impressions_max", self.impressions_max)?,
        })
    }
}

/// A date or time as a parameter, in the forms whose shape says how to
/// read them (never a spreadsheet's `5/6/2018`).
fn date(param: &'static str, v: Option<String>) -> Result<Option<Timestamp>, SearchError> {
    v.map(|text| {
        adarchive_importers::normalize::timestamp_by_shape(&text).ok_or_else(|| {
            bad(
                param,
                format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"),
            )
        })
    })
    .transpose()
}

/// A whole amount or count, 0 to 2⁶³ − 1 (what an OpenAPI `int64` holds).
fn amount(param: &'static str, v: Option<String>) -> Result<Option<u64>, SearchError> {
    v.map(|text| match text.trim().parse::<u64>() {
        Ok(n) if n <= i64::MAX as u64 => Ok(n),
        Ok(_) => Err(bad(
            param,
            format!("`{param}` must be at most {}", i64::MAX),
        )),
        Err(_) => Err(bad(param, format!("`{text}` is not a whole number"))),
    })
    .transpose()
}

/// A keyword filter: parameter, index field, values, normalization.
type KeywordFilter<'a> = (
    &'static str,
    &'static str,
    &'a Vec<String>,
    fn(&str) -> String,
);

fn bad(param: &'static str, message: String) -> SearchError {
    SearchError::BadParameter { param, message }
}

impl Filters {
    /// The one currency that spend filters and spend sorting refer to.
    pub fn single_currency(&self, param: &'static str) -> Result<String, SearchError> {
        match self.currency.as_slice() {
            [one] => Ok(one.to_uppercase()),
            [] => Err(bad(
                param,
                format!("`{param}` needs a currency: add one `currency` filter, e.g. currency=EUR"),
            )),
            _ => Err(bad(
                param,
                format!(
                    "`{param}` needs exactly one `currency` filter, not {}",
                    self.currency.len()
                ),
            )),
        }
    }

    /// The queries that every result must match.
    pub fn queries(&self, fields: &Fields) -> Result<Vec<Box<dyn Query>>, SearchError> {
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let keyword_filters: [KeywordFilter<'_>; 10] = [
            ("platform", "platform", &self.platform, |v| v.to_lowercase()),
            ("country", "country", &self.country, |v| v.to_uppercase()),
            ("region", "region", &self.region, str::to_owned),
            ("language", "language", &self.language, |v| v.to_lowercase()),
            ("currency", "currency", &self.currency, |v| v.to_uppercase()),
            ("media_type", "media_type", &self.media_type, |v| {
                v.to_lowercase()
            }),
            (
                "advertiser_id",
                "advertiser_id",
                &self.advertiser_id,
                str::to_owned,
            ),
            ("funder", "funder_name", &self.funder, str::to_owned),
            ("gender", "gender", &self.gender, |v| v.to_lowercase()),
            ("age", "age", &self.age, str::to_owned),
        ];
        for (param, field_name, values, normalize) in keyword_filters {
            if values.is_empty() {
                continue;
            }
            if values.len() > 100 {
                return Err(bad(param, format!("`{param}` takes at most 100 values")));
            }
            let field = fields
                .keyword(field_name)
                .ok_or_else(|| bad(param, "unknown field".into()))?;
            out.push(any_of(field, values.iter().map(|v| normalize(v))));
        }
        if let Some(active) = self.active {
            out.push(Box::new(TermQuery::new(
                Term::from_field_u64(fields.active, u64::from(active)),
                IndexRecordOption::Basic,
            )));
        }
        // A `from` after `to` (like a spend or impressions minimum above
        // the maximum) matches nothing: a query with no answer, not a
        // mistake to refuse.
        if let Some(to) = self.to {
            out.push(i64_range(
                fields.first_shown,
                Bound::Unbounded,
                Bound::Included(to.unix_seconds()),
            ));
        }
        if let Some(from) = self.from {
            out.push(i64_range(
                fields.last_shown,
                Bound::Included(from.unix_seconds()),
                Bound::Unbounded,
            ));
        }
        if self.spend_min.is_some() || self.spend_max.is_some() {
            let param = if self.spend_min.is_some() {
                "spend_min"
            } else {
                "spend_max"
            };
            let currency = self.single_currency(param)?;
            let code = currency_number(&currency)
                .ok_or_else(|| bad("currency", format!("`{currency}` is not an ISO 4217 code")))?;
            if let Some(min) = self.spend_min {
                out.push(u64_range(
                    fields.spend_lower,
                    Bound::Included(pack(code, min)),
                    Bound::Included(pack(code, AMOUNT_MAX)),
                ));
            }
            if let Some(max) = self.spend_max {
                out.push(u64_range(
                    fields.spend_upper,
                    Bound::Included(pack(code, 0)),
                    Bound::Included(pack(code, max.min(AMOUNT_MAX - 1))),
                ));
            }
        }
        if let Some(min) = self.impressions_min {
            out.push(u64_range(
                fields.impressions_lower,
                Bound::Included(min),
                Bound::Unbounded,
            ));
        }
        if let Some(max) = self.impressions_max {
            out.push(u64_range(
                fields.impressions_upper,
                Bound::Unbounded,
                Bound::Included(max.min(u64::MAX - 1)),
            ));
        }
        Ok(out)
    }
}

fn any_of(field: Field, values: impl Iterator<Item = String>) -> Box<dyn Query> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = values
        .map(|v| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(field, &v),
                IndexRecordOption::Basic,
            ));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(clauses))
}

fn i64_range(field: Field, lower: Bound<i64>, upper: Bound<i64>) -> Box<dyn Query> {
    let term = |v: i64| Term::from_field_i64(field, v);
    Box::new(RangeQuery::new(lower.map(term), upper.map(term)))
}

fn u64_range(field: Field, lower: Bound<u64>, upper: Bound<u64>) -> Box<dyn Query> {
    let term = |v: u64| Term::from_field_u64(field, v);
    Box::new(RangeQuery::new(lower.map(term), upper.map(term)))
}
