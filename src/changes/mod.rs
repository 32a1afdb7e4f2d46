//! What changed between complete listings, for people to follow: the
//! changes of every listing page by page, filtered by kind, scope, time
//! and any search; the scopes with their listing sizes over time; and
//! each change of an ad's record as an RFC 6902 JSON Patch.
//!
//! The archive works out the changes when it archives a listing (see
//! [`crate::archive::Listing`]); this module reads them and knows nothing
//! of HTTP.
//!
//! ```
//! use adarchive::archive::{Archive, NoProgress};
//! use adarchive::changes::{changes, ChangesRequest};
//! use adarchive::ingest::{import_paths, ImportOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let archive = Archive::open(&dir.path().join("data")).unwrap();
//! let head = "ADID,Currency Code,Spend,OrganizationName\r\n";
//! for (i, rows) in ["a1,EUR,40,Alpha\r\nb2,EUR,9,Beta\r\n", "a1,EUR,55,Alpha\r\n"].iter().enumerate() {
//!     let file = dir.path().join(format!("{i}-2024_PoliticalAds.csv"));
//!     std::fs::write(&file, format!("{head}{rows}")).unwrap();
//!     import_paths(&archive, &[file], ImportOptions::default(), &NoProgress).unwrap();
//! }
//! let page = changes(&archive, &ChangesRequest::default()).unwrap();
//! let kinds: Vec<_> = page.changes.iter().map(|c| (c.kind.as_str(), c.uid.as_str())).collect();
//! assert_eq!(kinds, [("changed", "snap:a1"), ("missing_once", "snap:b2")]);
//! ```

use std::collections::{BTreeMap, HashMap};

use adarchive_schema::{Ad, Timestamp};
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, ChangeKind, Listing, ListingSubject, StoredChange, Version};
use crate::search::{bad, Deadline, Filters, Matcher, SearchError};

/// Most changes one page may hold.
pub const MAX_LIMIT: usize = 1_000;
/// Changes per page when no limit is given.
pub const DEFAULT_LIMIT: usize = 50;
/// Most changes one request reads before it answers with what it found
/// and a cursor to go on from: a search that matches few changes costs a
/// bounded amount of work per page, never a scan of every change.
pub const MAX_SCANNED: usize = 20_000;
/// Most changes read from the archive at once (and matched against a
/// search in one pass of the index). The first read is the page's size,
/// and each further read twice the one before, up to this.
const MAX_BATCH: usize = 5_000;
/// A search that matches at most this many ads is run once, and its ads
/// kept for the whole request: cheaper than a pass of the index per batch
/// of changes when few changes match.
const FEW_MATCHES: u64 = 5_000;

/// Which changes to list.
#[derive(Clone, Debug)]
pub struct ChangesRequest {
    /// Only changes of listings archived at or after this time.
    pub since: Option<Timestamp>,
    /// Only these kinds (empty: every kind).
    pub kinds: Vec<ChangeKind>,
    /// Only these scopes (empty: every scope).
    pub scopes: Vec<String>,
    /// Only ads that match this search query (empty: any ad).
    pub query: String,
    /// Only ads that match these filters.
    pub filters: Filters,
    /// Changes per page, at most [`MAX_LIMIT`].
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// Whether each change of a record carries its JSON Patch.
    pub patches: bool,
    /// When the work must stop.
    pub deadline: Deadline,
}

impl Default for ChangesRequest {
    fn default() -> Self {
        ChangesRequest {
            since: None,
            kinds: Vec::new(),
            scopes: Vec::new(),
            query: String::new(),
            filters: Filters::default(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            patches: true,
            deadline: Deadline::default(),
        }
    }
}

/// One change of one ad between two listings of a scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// The change's stable id (`<listing id>.<ordinal>`); as a `cursor`, it
    /// starts a page at this change.
    pub id: String,
    /// `new`, `changed`, `missing_once`, `vanished` or `reappeared`.
    pub kind: ChangeKind,
    /// The ad; for a listing of advertisers (a spend report), the
    /// advertiser's platform identity (`meta:<page id>`).
    pub uid: String,
    /// `advertisers` when the listing is a spend report's, whose changes
    /// name advertisers; absent for ads.
    #[serde(default, skip_serializing_if = "ListingSubject::is_ads")]
    pub subject: ListingSubject,
    /// The scope whose listings differ.
    pub scope: String,
    /// The number of the listing (in its scope) that shows the change.
    pub listing: u64,
    /// The blake3 of that listing's source.
    pub source: String,
    /// When that listing was archived.
    #[schema(value_type = String, format = DateTime)]
    pub archived_at: Timestamp,
    /// The ad's version the scope's previous listing showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_version: Option<u32>,
    /// The ad's version this listing shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_version: Option<u32>,
    /// For `changed`: the RFC 6902 JSON Patch from the earlier record to
    /// the later one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub patch: Option<serde_json::Value>,
}

/// A page of changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangesPage {
    /// The changes, in archive order.
    pub changes: Vec<Change>,
    /// Pass as `cursor` for the next page; absent at the end. A page can
    /// hold fewer changes than asked and still have a next one, when a
    /// narrow search had to read many changes to find them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Changes read to answer.
    pub scanned: u64,
}

/// A scope and its listings over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scope {
    /// `snap:2024`, `google:creative-stats`, `x:political-ads`.
    pub scope: String,
    /// The platform whose listing it is.
    pub platform: String,
    /// Ads its latest listing lists.
    pub ads: u64,
    /// Its listings, oldest first.
    pub listings: Vec<Listing>,
}

/// Every scope, by name, with its listings.
pub fn scopes(archive: &Archive) -> crate::Result<Vec<Scope>> {
    let mut by_scope: BTreeMap<String, Vec<Listing>> = BTreeMap::new();
    for listing in archive.listings()? {
        by_scope
            .entry(listing.scope.clone())
            .or_default()
            .push(listing);
    }
    Ok(by_scope
        .into_iter()
        .map(|(scope, listings)| Scope {
            platform: scope.split(':').next().unwrap_or_default().to_owned(),
            ads: listings.last().map_or(0, |l| l.ads),
            scope,
            listings,
        })
        .collect())
}

/// The RFC 6902 JSON Patch that turns the record of `from` into that of
/// `to` (their canonical JSON: provenance is not part of a record).
///
/// ```
/// use adarchive::changes::patch_between;
/// let mut a = adarchive_schema::Ad::new(adarchive_schema::Platform::Snap, "x1");
/// let mut b = a.clone();
/// b.funder = Some("Grüne Zukunft".into());
/// let patch = patch_between(&a, &b);
/// assert_eq!(patch, serde_json::json!([{"op": "add", "path": "/funder", "value": "Grüne Zukunft"}]));
/// ```
pub fn patch_between(from: &Ad, to: &Ad) -> serde_json::Value {
    let value = |ad: &Ad| {
        serde_json::from_slice::<serde_json::Value>(&ad.canonical_json()).unwrap_or_default()
    };
    let patch = json_patch::diff(&value(from), &value(to));
    serde_json::to_value(patch).unwrap_or_default()
}

/// The JSON Patch of each version of a history from the one before it
/// (`None` for the first).
pub fn history_patches(history: &[(Version, Ad)]) -> Vec<Option<serde_json::Value>> {
    let mut out = Vec::with_capacity(history.len());
    let mut previous: Option<&Ad> = None;
    for (_, ad) in history {
        out.push(previous.map(|p| patch_between(p, ad)));
        previous = Some(ad);
    }
    out
}

/// A page of the changes `request` asks for.
pub fn changes(archive: &Archive, request: &ChangesRequest) -> Result<ChangesPage, SearchError> {
    if request.limit == 0 || request.limit > MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("`limit` must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let listings: HashMap<u64, Listing> =
        archive.listings()?.into_iter().map(|l| (l.id, l)).collect();
    let mut position = match &request.cursor {
        Some(cursor) => decode_cursor(cursor)?,
        None => {
            let first = request.since.map_or(Some(0), |since| {
                listings
                    .values()
                    .filter(|l| l.archived_at >= since)
                    .map(|l| l.id)
                    .min()
            });
            match first {
                Some(seq) => (seq, 0),
                None => {
                    return Ok(ChangesPage {
                        changes: Vec::new(),
                        next_cursor: None,
                        scanned: 0,
                    })
                }
            }
        }
    };
    let platforms: Vec<String> = request
        .filters
        .platform
        .iter()
        .map(|p| p.to_lowercase())
        .collect();
    let searching = !request.query.trim().is_empty()
        || Filters {
            platform: Vec::new(),
            ..request.filters.clone()
        } != Filters::default();

    // A narrow search is run once; a broad one batch by batch, where it
    // soon fills the page. Only ads of the platforms that publish listings
    // can have changes: the search needs to find no others.
    let few = if searching {
        let mut filters = request.filters.clone();
        if filters.platform.is_empty() {
            let mut listing_platforms: Vec<String> = listings
                .values()
                .map(|l| l.scope.split(':').next().unwrap_or_default().to_owned())
                .collect();
            listing_platforms.sort();
            listing_platforms.dedup();
            filters.platform = listing_platforms;
        }
        crate::search::uids_if_few(
            archive,
            &request.query,
            &filters,
            FEW_MATCHES,
            &request.deadline,
        )?
    } else {
        None
    };
    let matcher = match &few {
        None if searching => Some(Matcher::new(
            archive,
            &request.query,
            &request.filters,
            &request.deadline,
        )?),
        _ => None,
    };
    let mut batch_size = request.limit + 1;
    let mut out = Vec::new();
    let mut scanned = 0usize;
    let next_cursor = loop {
        let batch = archive.changes_from(position, batch_size)?;
        batch_size = (batch_size * 2).min(MAX_BATCH);
        let Some(last) = batch.last() else {
            break None;
        };
        let after_batch = (last.listing, last.ordinal.saturating_add(1));
        let read = batch.len();
        let candidates: Vec<StoredChange> = batch
            .into_iter()
            .filter(|c| request.kinds.is_empty() || request.kinds.contains(&c.kind))
            .filter(|c| {
                request.scopes.is_empty()
                    || listings
                        .get(&c.listing)
                        .is_some_and(|l| request.scopes.contains(&l.scope))
            })
            .filter(|c| {
                platforms.is_empty()
                    || platforms
                        .iter()
                        .any(|p| c.uid.split(':').next() == Some(p.as_str()))
            })
            .collect();
        let in_batch;
        let matching = if let Some(few) = &few {
            Some(few)
        } else if let Some(matcher) = matcher.as_ref().filter(|_| !candidates.is_empty()) {
            let uids: Vec<String> = candidates.iter().map(|c| c.uid.clone()).collect();
            in_batch = matcher.matching(&uids)?;
            Some(&in_batch)
        } else {
            None
        };
        let mut full_at = None;
        for change in candidates {
            if matching.as_ref().is_some_and(|m| !m.contains(&change.uid)) {
                continue;
            }
            if out.len() == request.limit {
                full_at = Some((change.listing, change.ordinal));
                break;
            }
            let Some(listing) = listings.get(&change.listing) else {
                continue;
            };
            out.push(present(archive, change, listing, request.patches)?);
        }
        if let Some(at) = full_at {
            break Some(at);
        }
        scanned += read;
        position = after_batch;
        if scanned >= MAX_SCANNED || request.deadline.passed() {
            // Whether anything is left is for the next page to find.
            break Some(position);
        }
    };
    Ok(ChangesPage {
        changes: out,
        next_cursor: next_cursor.map(|(seq, ordinal)| encode_cursor(seq, ordinal)),
        scanned: scanned as u64,
    })
}

/// The newest `n` changes `request` matches (its `cursor`, `since` and
/// `limit` aside), newest first: those of the latest listings, read from
/// the listing at which the newest `n` changes of any kind begin, at most
/// [`MAX_SCANNED`] changes in all.
pub fn newest(
    archive: &Archive,
    request: &ChangesRequest,
    n: usize,
) -> Result<Vec<Change>, SearchError> {
    let listings = archive.listings()?;
    let mut counted = 0u64;
    let mut start = 0;
    for listing in listings.iter().rev() {
        start = listing.id;
        counted += ChangeKind::ALL
            .iter()
            .map(|k| listing.count(*k))
            .sum::<u64>();
        if counted >= MAX_SCANNED as u64 || (counted >= n as u64 && request.kinds.is_empty()) {
            break;
        }
    }
    let mut page_request = ChangesRequest {
        cursor: Some(encode_cursor(start, 0)),
        limit: MAX_LIMIT,
        since: None,
        ..request.clone()
    };
    let mut found: std::collections::VecDeque<Change> = std::collections::VecDeque::new();
    let mut scanned = 0u64;
    loop {
        let page = changes(archive, &page_request)?;
        scanned += page.scanned;
        for change in page.changes {
            if found.len() == n {
                found.pop_front();
            }
            found.push_back(change);
        }
        match page.next_cursor {
            Some(next) if scanned < MAX_SCANNED as u64 => page_request.cursor = Some(next),
            _ => break,
        }
    }
    Ok(found.into_iter().rev().collect())
}

/// How many changes of each kind the listings that `request` reads hold
/// (by its `scopes` and `since`), when no search narrows it: the listings
/// count them as they are recorded. `None` when a query or filter narrows
/// the changes, which only reading them all could count.
pub fn kind_counts(
    archive: &Archive,
    request: &ChangesRequest,
) -> crate::Result<Option<Vec<(ChangeKind, u64)>>> {
    if !request.query.trim().is_empty() || request.filters != Filters::default() {
        return Ok(None);
    }
    let mut counts: Vec<(ChangeKind, u64)> = ChangeKind::ALL.iter().map(|k| (*k, 0)).collect();
    for listing in archive.listings()? {
        if !request.scopes.is_empty() && !request.scopes.contains(&listing.scope) {
            continue;
        }
        if request
            .since
            .is_some_and(|since| listing.archived_at < since)
        {
            continue;
        }
        for (kind, count) in &mut counts {
            *count += listing.count(*kind);
        }
    }
    Ok(Some(counts))
}

/// The top-level fields a JSON Patch touches (`spend`, `creative`), in
/// order, each once.
///
/// ```
/// use adarchive::changes::patched_fields;
/// let patch = serde_json::json!([{"op": "replace", "path": "/spend/0/lower", "value": 5},
///     {"op": "add", "path": "/funder", "value": "x"}, {"op": "remove", "path": "/spend/1"}]);
/// assert_eq!(patched_fields(&patch), ["spend", "funder"]);
/// ```
pub fn patched_fields(patch: &serde_json::Value) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for op in patch.as_array().into_iter().flatten() {
        let Some(path) = op.get("path").and_then(|p| p.as_str()) else {
            continue;
        };
        let field = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~");
        if !field.is_empty() && !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

fn present(
    archive: &Archive,
    change: StoredChange,
    listing: &Listing,
    patches: bool,
) -> Result<Change, SearchError> {
    let patch = match (change.kind, change.from_version, change.to_version) {
        (ChangeKind::Changed, Some(from), Some(to)) if patches => {
            match (
                archive.version_record(&change.uid, from)?,
                archive.version_record(&change.uid, to)?,
            ) {
                (Some(a), Some(b)) => Some(patch_between(&a, &b)),
                _ => None,
            }
        }
        _ => None,
    };
    Ok(Change {
        id: encode_cursor(change.listing, change.ordinal),
        kind: change.kind,
        subject: listing.subject,
        uid: change.uid,
        scope: listing.scope.clone(),
        listing: listing.number,
        source: listing.source.clone(),
        archived_at: listing.archived_at,
        from_version: change.from_version,
        to_version: change.to_version,
        patch,
    })
}

/// The cursor of the change `ordinal` of listing `listing`.
pub fn encode_cursor(listing: u64, ordinal: u32) -> String {
    format!("{listing}.{ordinal}")
}

fn decode_cursor(text: &str) -> Result<(u64, u32), SearchError> {
    let invalid = || {
        bad(
            "cursor",
            "not a cursor from this API: pass `next_cursor` from the previous page unchanged",
        )
    };
    let (seq, ordinal) = text.split_once('.').ok_or_else(invalid)?;
    Ok((
        seq.parse().map_err(|_| invalid())?,
        ordinal.parse().map_err(|_| invalid())?,
    ))
}

/// The `since` of a request: a date (its start, UTC) or an RFC 3339 time.
///
/// ```
/// use adarchive::changes::parse_since;
/// assert!(parse_since("2024-07-01").is_ok());
/// assert_eq!(parse_since("last week").unwrap_err().to_string(),
///     "since: `last week` is not a date (YYYY-MM-DD) or an RFC 3339 time");
/// ```
pub fn parse_since(text: &str) -> Result<Timestamp, SearchError> {
    adarchive_importers::normalize::timestamp_by_shape(text).ok_or_else(|| {
        bad(
            "since",
            format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })
}

/// The kinds named in `text` (comma-separated), for every edge.
///
/// ```
/// use adarchive::changes::parse_kinds;
/// use adarchive::archive::ChangeKind;
/// assert_eq!(parse_kinds("new,vanished").unwrap(), [ChangeKind::New, ChangeKind::Vanished]);
/// assert!(parse_kinds("gone").is_err());
/// ```
pub fn parse_kinds(text: &str) -> Result<Vec<ChangeKind>, SearchError> {
    text.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            ChangeKind::parse(k).ok_or_else(|| {
                let names: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
                bad(
                    "kind",
                    format!("`{k}` is not a kind of change; kinds: {}", names.join(", ")),
                )
            })
        })
        .collect()
}
