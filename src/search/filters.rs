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

/// Every filter a search takes, declared once: its name (the API's
/// parameter, `--name` on the command line), what kind of value it takes,
/// and its help text. `with_filters!(callback { … })` calls `callback!`
/// with the tokens given, then the filters grouped by kind:
///
/// - `lists`: values joined by commas in a query string, repeated or
///   joined by commas on the command line;
/// - `texts`: whole values that may hold commas (a funder's name);
/// - `flags`: `true` or `false`;
/// - `dates`: YYYY-MM-DD or an RFC 3339 time;
/// - `amounts`: whole numbers.
///
/// [`Filters`] and [`FilterText`], the API's parameters, the command
/// line's flags and every link to a search are written from this list.
#[doc(hidden)]
#[macro_export]
macro_rules! with_filters {
    ($callback:ident { $($pass:tt)* }) => {
        $callback! {
            { $($pass)* }
            lists: [
                platform: "Platforms, e.g. `google,meta`.",
                country: "Countries, ISO 3166-1 alpha-2, e.g. `NL,BE`.",
                region: "Regions the platform lists, e.g. `EU`.",
                language: "Languages, ISO 639-1.",
                currency: "Currencies of published spend, ISO 4217.",
                media_type: "`text`, `image`, `video`, `audio`, `carousel`.",
                advertiser_id: "Platform advertiser ids.",
                gender: "Targeted genders (`female`, `male`, `unknown`).",
                age: "Targeted age brackets, as published (`18-24`, `65+`).",
                status: "Whether complete listings still hold the ad: `listed`, `missing_once`, `vanished`, or `unknown` (never in a complete listing).",
            ],
            texts: [
                funder: "A funder, exactly as published.",
            ],
            flags: [
                active: "`true`: still running; `false`: ended.",
            ],
            dates: [
                from: "Shown on or after (YYYY-MM-DD or RFC 3339).",
                to: "Shown on or before (YYYY-MM-DD or RFC 3339).",
            ],
            amounts: [
                spend_min: "Spend lower bound at least this, in the one `currency`.",
                spend_max: "Spend upper bound at most this, in the one `currency`.",
                impressions_min: "Impressions lower bound at least this.",
                impressions_max: "Impressions upper bound at most this.",
            ],
        }
    };
}

/// Writes [`Filters`], [`FilterText`] and the parse from one to the other.
macro_rules! filter_types {
    (
        {}
        lists: [ $( $list:ident: $list_help:literal, )* ],
        texts: [ $( $text:ident: $text_help:literal, )* ],
        flags: [ $( $flag:ident: $flag_help:literal, )* ],
        dates: [ $( $date:ident: $date_help:literal, )* ],
        amounts: [ $( $amount:ident: $amount_help:literal, )* ],
    ) => {
        /// Filters on a search. Several values of one filter match any of
        /// them; different filters must all match. A spend range is certain:
        /// `spend_min` matches ads whose lower bound is at least it.
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Filters {
            $( #[doc = $list_help] pub $list: Vec<String>, )*
            $( #[doc = $text_help] pub $text: Vec<String>, )*
            $( #[doc = $flag_help] pub $flag: Option<bool>, )*
            $( #[doc = $date_help] pub $date: Option<Timestamp>, )*
            $( #[doc = $amount_help] pub $amount: Option<u64>, )*
        }

        /// The filters as people write them, on the command line or in a
        /// query string: lists already split into values, everything else
        /// as text. One [`FilterText::parse`] checks them for every edge,
        /// naming the parameter (`from`, `spend_min`) of a value that does
        /// not parse.
        #[derive(Clone, Debug, Default)]
        pub struct FilterText {
            $( #[doc = $list_help] pub $list: Vec<String>, )*
            $( #[doc = $text_help] pub $text: Vec<String>, )*
            $( #[doc = $flag_help] pub $flag: Option<String>, )*
            $( #[doc = $date_help] pub $date: Option<String>, )*
            $( #[doc = $amount_help] pub $amount: Option<String>, )*
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
                    $( $list: self.$list, )*
                    $( $text: self.$text, )*
                    $( $flag: flag(stringify!($flag), self.$flag)?, )*
                    $( $date: date(stringify!($date), self.$date)?, )*
                    $( $amount: amount(stringify!($amount), self.$amount)?, )*
                })
            }
        }

        impl Filters {
            /// The filters as query-string pairs, by the API's parameter
            /// names and in the order they are declared: lists joined by
            /// commas, a text filter by its first value.
            ///
            /// ```
            /// use adarchive::search::Filters;
            /// let filters = Filters { country: vec!["NL".into(), "BE".into()], active: Some(true), ..Filters::default() };
            /// assert_eq!(filters.pairs(), [("country", "NL,BE".to_owned()), ("active", "true".to_owned())]);
            /// ```
            pub fn pairs(&self) -> Vec<(&'static str, String)> {
                let mut pairs = Vec::new();
                $( if !self.$list.is_empty() { pairs.push((stringify!($list), self.$list.join(","))); } )*
                $( if let Some(first) = self.$text.first() { pairs.push((stringify!($text), first.clone())); } )*
                $( if let Some(v) = self.$flag { pairs.push((stringify!($flag), v.to_string())); } )*
                $( if let Some(v) = self.$date { pairs.push((stringify!($date), v.to_string())); } )*
                $( if let Some(v) = self.$amount { pairs.push((stringify!($amount), v.to_string())); } )*
                pairs
            }
        }
    };
}

crate::with_filters!(filter_types {});

/// `true` or `false`.
fn flag(param: &'static str, v: Option<String>) -> Result<Option<bool>, SearchError> {
    v.map(|text| match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(param, format!("`{text}` is not `true` or `false`"))),
    })
    .transpose()
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
        let keyword_filters: [KeywordFilter<'_>; 11] = [
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
            ("status", "status", &self.status, |v| v.to_lowercase()),
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
