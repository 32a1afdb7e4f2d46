//! The order of results and the cursor that resumes it: a page ends at a
//! position in one total order, `(sort key, uid)`, which the cursor
//! carries with the sort it was made for.

use serde::{Deserialize, Serialize};

use super::collect::{SortBy, SortKey};
use super::{bad, SearchError, SearchRequest};
use crate::index::schema::currency_number;

/// Parses `sort` into what to sort by and whether descending.
pub(super) fn parse_sort(request: &SearchRequest) -> Result<(SortBy, bool, String), SearchError> {
    let spec = if request.sort.trim().is_empty() {
        if request.query.trim().is_empty() {
            "first_shown".to_owned()
        } else {
            "relevance".to_owned()
        }
    } else {
        request.sort.trim().to_owned()
    };
    let (name, order) = spec.split_once(':').unwrap_or((&spec, "desc"));
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
    let currency = || -> Result<u64, SearchError> {
        let code = request.filters.single_currency("sort")?;
        currency_number(&code)
            .ok_or_else(|| bad("currency", format!("`{code}` is not an ISO 4217 code")))
    };
    let sort = match name {
        "relevance" => SortBy::Relevance,
        "spend_lower" => SortBy::SpendLower(currency()?),
        "spend_upper" => SortBy::SpendUpper(currency()?),
        "first_shown" => SortBy::FirstShown,
        "last_shown" => SortBy::LastShown,
        "impressions" => SortBy::Impressions,
        other => {
            return Err(bad(
                "sort",
                format!("`{other}` is not a sort; use relevance, spend_lower, spend_upper, first_shown, last_shown or impressions"),
            ))
        }
    };
    let normalized = format!("{name}:{}", if descending { "desc" } else { "asc" });
    Ok((sort, descending, normalized))
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    sort: String,
    key: u64,
    uid: String,
}

pub(super) fn encode_cursor(sort: &str, key: &SortKey) -> String {
    let json = serde_json::to_vec(&Cursor {
        sort: sort.to_owned(),
        key: key.key,
        uid: key.uid.clone(),
    })
    .unwrap_or_default();
    json.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn decode_cursor(text: &str, sort: &str) -> Result<SortKey, SearchError> {
    let invalid = || {
        bad(
            "cursor",
            "not a cursor from this API: pass `next_cursor` from the previous page unchanged",
        )
    };
    if text.len() > 2_048 || text.len() % 2 != 0 {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    let cursor: Cursor = bytes
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid)?;
    if cursor.sort != sort {
        return Err(bad(
            "cursor",
            format!(
                "the cursor was made for sort `{}`, not `{sort}`",
                cursor.sort
            ),
        ));
    }
    Ok(SortKey {
        key: cursor.key,
        uid: cursor.uid,
    })
}
