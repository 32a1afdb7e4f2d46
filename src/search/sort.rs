//! What results are ordered by, as people write it (`spend_lower:asc`):
//! one typed value every edge parses the same way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::collect::SortBy;
use super::{bad, SearchError, SearchRequest};
use crate::index::schema::currency_number;

/// A field results can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortField {
    /// BM25 score of the query.
    Relevance,
    /// Lower bound of spend, in the one currency filtered on.
    SpendLower,
    /// Upper bound of spend, in the one currency filtered on.
    SpendUpper,
    /// First shown.
    FirstShown,
    /// Last shown (still running sorts as the latest).
    LastShown,
    /// Lower bound of impressions.
    Impressions,
}

impl SortField {
    /// Every field, in the order the documentation lists them.
    pub const ALL: [SortField; 6] = [
        SortField::Relevance,
        SortField::SpendLower,
        SortField::SpendUpper,
        SortField::FirstShown,
        SortField::LastShown,
        SortField::Impressions,
    ];

    /// Its name in a query string or on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Relevance => "relevance",
            SortField::SpendLower => "spend_lower",
            SortField::SpendUpper => "spend_upper",
            SortField::FirstShown => "first_shown",
            SortField::LastShown => "last_shown",
            SortField::Impressions => "impressions",
        }
    }
}

/// An order of results: a field, descending unless `:asc` is written.
///
/// ```
/// use adarchive::search::{Sort, SortField};
/// let sort: Sort = "spend_lower:asc".parse().unwrap();
/// assert_eq!((sort.field, sort.descending), (SortField::SpendLower, false));
/// assert_eq!("impressions".parse::<Sort>().unwrap().to_string(), "impressions:desc");
/// assert!("price".parse::<Sort>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// What is compared.
    pub field: SortField,
    /// Largest (or latest) first.
    pub descending: bool,
}

impl Sort {
    /// The order of `field`, descending.
    pub fn desc(field: SortField) -> Self {
        Sort {
            field,
            descending: true,
        }
    }
}

impl FromStr for Sort {
    type Err = SearchError;

    fn from_str(text: &str) -> Result<Self, SearchError> {
        let text = text.trim();
        let (name, order) = text.split_once(':').unwrap_or((text, "desc"));
        let descending = match order {
            "desc" => true,
            "asc" => false,
            other => {
                return Err(bad(
                    "sort",
                    format!("order `{other}` is not `asc` or `desc`"),
                ))
            }
        };
        let field = SortField::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                bad(
                    "sort",
                    format!("`{name}` is not a sort; use relevance, spend_lower, spend_upper, first_shown, last_shown or impressions"),
                )
            })?;
        Ok(Sort { field, descending })
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.descending { "desc" } else { "asc" };
        write!(f, "{}:{order}", self.field.as_str())
    }
}

impl Serialize for Sort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The order a request's results take: the one asked, else relevance
/// with a query and first shown without; with what the collectors compare
/// (the spend sorts in the one currency filtered on).
pub(super) fn resolve(request: &SearchRequest) -> Result<(SortBy, Sort), SearchError> {
    let sort = request.sort.unwrap_or_else(|| {
        Sort::desc(if request.query.trim().is_empty() {
            SortField::FirstShown
        } else {
            SortField::Relevance
        })
    });
    let currency = || -> Result<u64, SearchError> {
        let code = request.filters.single_currency("sort")?;
        currency_number(&code)
            .ok_or_else(|| bad("currency", format!("`{code}` is not an ISO 4217 code")))
    };
    let by = match sort.field {
        SortField::Relevance => SortBy::Relevance,
        SortField::SpendLower => SortBy::SpendLower(currency()?),
        SortField::SpendUpper => SortBy::SpendUpper(currency()?),
        SortField::FirstShown => SortBy::FirstShown,
        SortField::LastShown => SortBy::LastShown,
        SortField::Impressions => SortBy::Impressions,
    };
    Ok((by, sort))
}
