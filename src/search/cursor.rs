//! The cursor that resumes a search: a page ends at a position in one
//! total order, `(sort key, uid)`, which the cursor carries with the sort
//! it was made for.

use serde::{Deserialize, Serialize};

use super::collect::SortKey;
use super::{bad, SearchError};

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
