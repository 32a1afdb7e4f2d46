//! The query parameters of each endpoint, declared once: the search
//! endpoints (`/v1/ads`, `/v1/export`, `/v1/spend`) share `q` and the
//! filters through `search_params!`, and each adds only what it takes, so
//! that the OpenAPI document lists for every endpoint exactly the
//! parameters, bounds and values the server accepts, and an unknown
//! parameter is refused by name.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::search::filters::FilterText;
use crate::search::{Filters, DEFAULT_LIMIT, MAX_FACET_VALUES, MAX_LIMIT};

/// An empty text value is no value: `cursor=` is no cursor, `country=` no
/// country, as a web form sends its blank fields. Typed values (numbers,
/// dates, named choices) are never empty: there an empty value is an error.
pub(crate) fn empty_as_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

/// Comma-separated values, empty items dropped.
pub(crate) fn list(v: Option<String>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Parses a typed parameter, naming it when the value does not parse.
pub(crate) fn typed<T: std::str::FromStr>(
    param: &str,
    v: Option<String>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    v.map(|text| {
        text.trim()
            .parse::<T>()
            .map_err(|_| ApiError::BadParameter {
                param: param.to_owned(),
                message: format!("`{text}` is not {what}"),
            })
    })
    .transpose()
}

/// A whole number within `min..=max`, or the parameter's error.
pub(crate) fn bounded(
    param: &str,
    v: Option<String>,
    min: usize,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    let n = typed::<usize>(param, v, "a whole number")?;
    match n {
        Some(n) if !(min..=max).contains(&n) => Err(ApiError::BadParameter {
            param: param.to_owned(),
            message: format!("`{param}` must be between {min} and {max}"),
        }),
        n => Ok(n),
    }
}

/// Declares the parameters of a search endpoint: `q` and every filter
/// (from [`crate::with_filters`]), then the endpoint's own fields.
/// Unknown parameters are refused.
macro_rules! search_params {
    ( $($endpoint:tt)* ) => {
        crate::with_filters!(search_params_with_filters { $($endpoint)* });
    };
}

macro_rules! search_params_with_filters {
    (
        {
            $(#[$meta:meta])*
            pub struct $name:ident {
                $( $(#[$field_meta:meta])* pub $field:ident: $ty:ty, )*
            }
        }
        lists: [ $( $list:ident: $list_help:literal, )* ],
        texts: [ $( $text:ident: $text_help:literal, )* ],
        flags: [ $( $flag:ident: $flag_help:literal, )* ],
        dates: [ $( $date:ident: $date_help:literal, )* ],
        amounts: [ $( $amount:ident: $amount_help:literal, )* ],
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Query: words (all must match), "phrases", -excluded, OR, field:value.
            #[serde(default, deserialize_with = "empty_as_none")]
            pub q: Option<String>,
            $(
                #[doc = $list_help]
                #[serde(default, deserialize_with = "empty_as_none")]
                pub $list: Option<String>,
            )*
            $(
                #[doc = $text_help]
                #[serde(default, deserialize_with = "empty_as_none")]
                pub $text: Option<String>,
            )*
            $(
                #[doc = $flag_help]
                #[param(value_type = Option<bool>)]
                pub $flag: Option<String>,
            )*
            $(
                #[doc = $date_help]
                #[param(value_type = Option<String>, format = Date)]
                pub $date: Option<String>,
            )*
            $(
                #[doc = $amount_help]
                #[param(value_type = Option<u64>)]
                pub $amount: Option<String>,
            )*
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $name {
            /// The query and filters, taken out and checked.
            pub(crate) fn take_filters(&mut self) -> Result<(String, Filters), ApiError> {
                let filters = FilterText {
                    $( $list: list(self.$list.take()), )*
                    // Whole values: a funder's name may hold commas.
                    $( $text: self.$text.take().into_iter().collect(), )*
                    $( $flag: self.$flag.take(), )*
                    $( $date: self.$date.take(), )*
                    $( $amount: self.$amount.take(), )*
                }
                .parse()?;
                Ok((self.q.take().unwrap_or_default(), filters))
            }
        }
    };
}

search_params! {
    /// Parameters of `/v1/ads`.
    pub struct AdsParams {
        /// `relevance`, `spend_lower`, `spend_upper`, `first_shown`, `last_shown`, `impressions`, optionally `:asc`/`:desc` (the spend sorts need one `currency`).
        #[param(pattern = "^((relevance|spend_lower|spend_upper|first_shown|last_shown|impressions)(:(asc|desc))?)?$")]
        #[serde(default, deserialize_with = "empty_as_none")]
        pub sort: Option<String>,
        /// Results per page, 1 to 1000 (default 20).
        #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
        pub limit: Option<String>,
        /// `next_cursor` of the previous page.
        #[serde(default, deserialize_with = "empty_as_none")]
        pub cursor: Option<String>,
        /// Facets to count, comma-separated: `platform`, `country`, `region`, `language`, `currency`, `media_type`, `advertiser`, `advertiser_id`, `funder`, `gender`, `age`, `status`.
        #[param(pattern = "^((platform|country|region|language|currency|media_type|advertiser|advertiser_id|funder|gender|age|status)(,(platform|country|region|language|currency|media_type|advertiser|advertiser_id|funder|gender|age|status))*)?$")]
        #[serde(default, deserialize_with = "empty_as_none")]
        pub facets: Option<String>,
        /// Values per facet, 1 to 1000 (default 10).
        #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
        pub facet_limit: Option<String>,
    }
}

search_params! {
    /// Parameters of `/v1/export`.
    pub struct ExportParams {
        /// As on `/v1/ads`.
        #[param(pattern = "^((relevance|spend_lower|spend_upper|first_shown|last_shown|impressions)(:(asc|desc))?)?$")]
        #[serde(default, deserialize_with = "empty_as_none")]
        pub sort: Option<String>,
        /// A `next_cursor` line (NDJSON) or `resume_cursor` cell (CSV) of an
        /// earlier export of the same query, to resume after it (a Parquet
        /// export starts from it too).
        #[serde(default, deserialize_with = "empty_as_none")]
        pub cursor: Option<String>,
        /// `ndjson` (default), `csv` or `parquet`.
        #[param(value_type = Option<ExportFormatName>, inline)]
        pub format: Option<String>,
    }
}

search_params! {
    /// Parameters of `/v1/spend`.
    pub struct SpendParams {
        /// What the groups are.
        #[param(value_type = crate::spend::Grouping, inline, required = true)]
        pub group_by: Option<String>,
        /// `json` (default) or `csv` (for spreadsheets: UTF-8 with a byte-order mark).
        #[param(value_type = Option<SpendFormatName>, inline)]
        pub format: Option<String>,
        /// The spend reports giving the report-level figures (default `advertiser`).
        #[param(value_type = Option<ReportKindName>, inline)]
        pub report_kind: Option<String>,
        /// Only reports of these periods, comma-separated (`yesterday`,
        /// `last_7_days`, `last_30_days`, `last_90_days`, `lifetime`,
        /// `this_week`, `to_date`, `week`, `all_time`, `unknown`).
        #[param(pattern = "^((lifetime|to_date|all_time|last_90_days|last_30_days|last_7_days|this_week|week|yesterday|unknown)(,(lifetime|to_date|all_time|last_90_days|last_30_days|last_7_days|this_week|week|yesterday|unknown))*)?$")]
        #[serde(default, deserialize_with = "empty_as_none")]
        pub period: Option<String>,
        /// Also convert every figure into this ISO 4217 currency at imported
        /// ECB reference rates (an estimate).
        #[param(value_type = Option<String>, pattern = "^[A-Za-z]{3}$")]
        pub convert_to: Option<String>,
        /// Groups listed, 1 to 1000 (default 100).
        #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
        pub limit: Option<String>,
    }
}

search_params! {
    /// Parameters of `/v1/changes`: the search's `q` and filters choose
    /// the ads whose changes are listed.
    pub struct ChangesParams {
        /// Only changes of listings archived at or after this date or time
        /// (YYYY-MM-DD or RFC 3339).
        #[param(value_type = Option<String>, format = Date)]
        pub since: Option<String>,
        /// Kinds of change, comma-separated: `new`, `changed`, `missing_once`, `vanished`, `reappeared` (default: all).
        #[param(pattern = "^((new|changed|missing_once|vanished|reappeared)(,(new|changed|missing_once|vanished|reappeared))*)?$")]
        #[serde(default, deserialize_with = "empty_as_none")]
        pub kind: Option<String>,
        /// Scopes, comma-separated (`snap:2024`, `google:creative-stats`; see `/v1/scopes`).
        #[serde(default, deserialize_with = "empty_as_none")]
        pub scope: Option<String>,
        /// Changes per page, 1 to 1000 (default 50).
        #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
        pub limit: Option<String>,
        /// `next_cursor` of the previous page.
        #[serde(default, deserialize_with = "empty_as_none")]
        pub cursor: Option<String>,
    }
}

/// The search endpoints that take a parameter called `name`.
pub(crate) fn endpoints_taking(name: &str) -> Vec<&'static str> {
    let takes =
        |params: Vec<utoipa::openapi::path::Parameter>| params.iter().any(|p| p.name == name);
    [
        ("/v1/ads", takes(AdsParams::into_params(|| None))),
        ("/v1/export", takes(ExportParams::into_params(|| None))),
        ("/v1/spend", takes(SpendParams::into_params(|| None))),
        ("/v1/changes", takes(ChangesParams::into_params(|| None))),
    ]
    .into_iter()
    .filter_map(|(path, takes)| takes.then_some(path))
    .collect()
}

/// Groups `/v1/spend` lists at most.
pub const MAX_SPEND_GROUPS: usize = 1_000;

/// Groups `/v1/spend` lists unless told.
pub const DEFAULT_SPEND_GROUPS: usize = 100;

/// The kinds of spend report `/v1/spend` totals.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ReportKindName {
    Advertiser,
    AdvertiserInRegion,
    Location,
    AdvertiserWeek,
    Geo,
}

/// What `/v1/export` writes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ExportFormatName {
    Ndjson,
    Csv,
    Parquet,
}

/// What `/v1/spend` writes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SpendFormatName {
    Json,
    Csv,
}

/// The page size asked for on `/v1/ads`.
pub(crate) fn page_limit(v: Option<String>) -> Result<usize, ApiError> {
    Ok(bounded("limit", v, 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT))
}

/// The facet values asked for on `/v1/ads`.
pub(crate) fn facet_limit(v: Option<String>) -> Result<usize, ApiError> {
    Ok(bounded("facet_limit", v, 1, MAX_FACET_VALUES)?.unwrap_or(10))
}

/// Parameters of `/v1/advertisers`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdvertisersQuery {
    /// Words of a name, funder or key to look for (case and accents ignored).
    #[serde(default, deserialize_with = "empty_as_none")]
    pub q: Option<String>,
    /// Only advertisers on these platforms, comma-separated.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub platform: Option<String>,
    /// Advertisers listed, 1 to 1000 (default 50).
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    /// The values the document promises are the values the core accepts.
    #[test]
    fn documented_values_are_the_accepted_ones() {
        let names = |schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
            serde_json::to_value(schema).unwrap()["enum"].clone()
        };
        assert_eq!(
            names(crate::spend::Grouping::schema()),
            serde_json::json!(crate::spend::Grouping::names())
        );
        assert_eq!(
            names(ReportKindName::schema()),
            serde_json::json!(crate::spend::reports::REPORT_KINDS)
        );
    }

    /// The list patterns name exactly the facets and periods the core
    /// knows, and the sort pattern its sorts.
    #[test]
    fn documented_patterns_are_the_accepted_names() {
        let pattern = |params: Vec<utoipa::openapi::path::Parameter>, name: &str| {
            let param = params.into_iter().find(|p| p.name == name).unwrap();
            serde_json::to_value(param.schema).unwrap()["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let list = |names: Vec<&str>| {
            let one = names.join("|");
            format!("^(({one})(,({one}))*)?$")
        };
        let facets: Vec<&str> = crate::search::FACET_FIELDS
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(
            pattern(AdsParams::into_params(|| None), "facets"),
            list(facets)
        );
        assert_eq!(
            pattern(SpendParams::into_params(|| None), "period"),
            list(crate::spend::reports::PERIODS.to_vec())
        );
        for params in [
            AdsParams::into_params(|| None),
            ExportParams::into_params(|| None),
        ] {
            assert_eq!(
                pattern(params, "sort"),
                "^((relevance|spend_lower|spend_upper|first_shown|last_shown|impressions)(:(asc|desc))?)?$"
            );
        }
    }
}
