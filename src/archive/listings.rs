//! Complete listings, and what changed between two listings of one scope.
//!
//! Some files name every ad a platform published in a scope at the time
//! they were made: Snap's file of a year, Google's creative stats, X's
//! disclosure file (the importer says so, see
//! [`adarchive_importers::Importer::listing_scope`]). Importing a newer
//! listing of the same scope tells, per ad of the scope, whether it is new,
//! changed, absent once (libraries flicker), vanished (absent from two
//! listings in a row) or back. Partial files never make anything absent.
//!
//! Everything here is written by the commit that archives the listing, in
//! the same transaction, and is derived from the sources in archive order:
//! `rebuild` derives it again and finds the same.

use adarchive_schema::Timestamp;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::derive::encode;
use super::{damaged, decode, stored_record, AdEntries, SourceEntry, WriteAdEntries, RECORDS};
use crate::error::Result;
use crate::index::Updates;

mod replay;

/// scope → how many listings of it the archive holds.
pub(super) const SCOPES: TableDefinition<&str, u64> = TableDefinition::new("scopes");
/// listing number (from 0, in archive order) → its [`Listing`] (JSON).
pub(super) const LISTINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("listings");
/// import sequence of the last source archived before (u64 BE) ++ a
/// counter (u32 BE) → a [`Relisting`] (JSON): a listing archived before,
/// imported again after another listing of its scope. Not derived from
/// the sources: `rebuild` copies it and replays each in its place.
pub(super) const RELISTINGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("relistings");
/// scope ++ 0 ++ uid → the ad's [`Membership`] of the scope.
pub(super) const LISTED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("listed");
/// uid ++ 0 ++ scope → (): the scopes an ad belongs to.
pub(super) const AD_SCOPES: TableDefinition<&[u8], ()> = TableDefinition::new("ad_scopes");
/// listing number (u64 BE) ++ ordinal (u32 BE) → a change (see
/// [`encode_change`]). Keys sort in archive order.
pub(super) const CHANGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("changes");

/// The ads of the listing a transaction is recording: uid (or, for a
/// spend report, an advertiser's identity key) → precedence (u32 BE) ++
/// the version listed (u32 BE) ++ whether the ad's search document was
/// written with this source (one byte). An ad listed twice counts once,
/// with the version of the row that takes precedence: the later row of one
/// file, the later page of a collection, the last page over every other.
/// The ads wait here rather than in memory, so that a listing of millions
/// of ads costs an import no more memory than one of a thousand; the table
/// is deleted before the transaction commits, so no commit ever holds it.
const LISTING_DRAFT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("listing_draft");

/// The precedence of a source's own rows in [`LISTING_DRAFT`]: over any
/// page of a collection it ends.
pub(crate) const OWN_ROWS: u32 = u32::MAX;

/// Adds one listed ad to the [`LISTING_DRAFT`] of `txn`, unless a row of
/// higher precedence listed it already. Says whether the draft held nothing
/// under `uid` before.
pub(crate) fn draft_ad(
    draft: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    uid: &str,
    precedence: u32,
    version: u32,
    indexed: bool,
) -> Result<bool> {
    if precedence != OWN_ROWS {
        if let Some(known) = draft.get(uid.as_bytes())? {
            let known = known.value();
            if known.len() >= 4
                && u32::from_be_bytes([known[0], known[1], known[2], known[3]]) > precedence
            {
                return Ok(false);
            }
        }
    }
    let mut value = [0u8; 9];
    value[..4].copy_from_slice(&precedence.to_be_bytes());
    value[4..8].copy_from_slice(&version.to_be_bytes());
    value[8] = u8::from(indexed);
    Ok(draft.insert(uid.as_bytes(), &value[..])?.is_none())
}

/// Opens the [`LISTING_DRAFT`] of `txn`.
pub(crate) fn open_draft(
    txn: &WriteTransaction,
) -> Result<redb::Table<'_, &'static [u8], &'static [u8]>> {
    Ok(txn.open_table(LISTING_DRAFT)?)
}

/// Deletes the [`LISTING_DRAFT`] of `txn`, recorded or not: a transaction
/// never commits one.
pub(crate) fn discard_draft(txn: &WriteTransaction) -> Result<()> {
    txn.delete_table(LISTING_DRAFT)?;
    Ok(())
}

/// An entry of a table of byte keys and values, as a range yields it.
type RawEntry<'a> = std::result::Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

/// One ad of the [`LISTING_DRAFT`], as read back in uid order.
fn drafted(item: Option<RawEntry<'_>>) -> Result<Option<(String, u32, bool)>> {
    let Some(item) = item else {
        return Ok(None);
    };
    let (key, value) = item?;
    let uid = std::str::from_utf8(key.value())
        .map_err(|_| damaged("listing draft", "unreadable uid"))?
        .to_owned();
    let value = value.value();
    if value.len() != 9 {
        return Err(damaged(&uid, "unreadable listing draft"));
    }
    let version = u32::from_be_bytes([value[4], value[5], value[6], value[7]]);
    Ok(Some((uid, version, value[8] != 0)))
}

pub(super) fn create_tables(txn: &WriteTransaction) -> std::result::Result<(), redb::TableError> {
    txn.open_table(SCOPES)?;
    txn.open_table(LISTINGS)?;
    txn.open_table(RELISTINGS)?;
    txn.open_table(LISTED)?;
    txn.open_table(AD_SCOPES)?;
    txn.open_table(CHANGES)?;
    Ok(())
}

/// What happened to an ad between two listings of a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// In this listing, in none before of its scope.
    New,
    /// Listed again with a different record.
    Changed,
    /// Absent from this listing after being in the one before.
    MissingOnce,
    /// Absent from two listings in a row.
    Vanished,
    /// Listed again after being absent.
    Reappeared,
}

impl ChangeKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [ChangeKind; 5] = [
        ChangeKind::New,
        ChangeKind::Changed,
        ChangeKind::MissingOnce,
        ChangeKind::Vanished,
        ChangeKind::Reappeared,
    ];

    /// The kind's name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::Changed => "changed",
            ChangeKind::MissingOnce => "missing_once",
            ChangeKind::Vanished => "vanished",
            ChangeKind::Reappeared => "reappeared",
        }
    }

    /// The kind called `name`.
    ///
    /// ```
    /// use adarchive::archive::ChangeKind;
    /// assert_eq!(ChangeKind::parse("missing_once"), Some(ChangeKind::MissingOnce));
    /// assert_eq!(ChangeKind::parse("gone"), None);
    /// ```
    pub fn parse(name: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    fn byte(self) -> u8 {
        match self {
            ChangeKind::New => 0,
            ChangeKind::Changed => 1,
            ChangeKind::MissingOnce => 2,
            ChangeKind::Vanished => 3,
            ChangeKind::Reappeared => 4,
        }
    }

    fn from_byte(b: u8) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.byte() == b)
    }
}

/// Whether an ad is in the latest listings of its scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdStatus {
    /// In the latest listing of one of its scopes at least.
    Listed,
    /// Absent from the latest listing of each of its scopes, but listed in
    /// the one before of one of them.
    MissingOnce,
    /// Absent from the last two listings of each of its scopes.
    Vanished,
    /// Never in a complete listing: only partial files (pages of an API)
    /// hold it, and they cannot tell whether it is still published.
    Unknown,
}

impl AdStatus {
    /// Every status, in the order they are listed.
    pub const ALL: [AdStatus; 4] = [
        AdStatus::Listed,
        AdStatus::MissingOnce,
        AdStatus::Vanished,
        AdStatus::Unknown,
    ];

    /// The status's name, as the API spells it (and the index stores it).
    pub fn as_str(self) -> &'static str {
        match self {
            AdStatus::Listed => "listed",
            AdStatus::MissingOnce => "missing_once",
            AdStatus::Vanished => "vanished",
            AdStatus::Unknown => "unknown",
        }
    }

    /// The status of an ad absent from `misses` listings in a row.
    fn of_misses(misses: u32) -> AdStatus {
        match misses {
            0 => AdStatus::Listed,
            1 => AdStatus::MissingOnce,
            _ => AdStatus::Vanished,
        }
    }
}

/// One listing: a source that is a complete listing of its scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Listing {
    /// The scope (`snap:2024`, `google:creative-stats`).
    pub scope: String,
    /// The listing's number among every listing, from 0 in archive order.
    pub id: u64,
    /// What it lists: `ads`, or `advertisers` (a spend report's listing,
    /// whose changes name advertisers by platform identity, `meta:<page
    /// id>`, in `uid`).
    #[serde(default, skip_serializing_if = "ListingSubject::is_ads")]
    pub subject: ListingSubject,
    /// 1 for the scope's first listing, then 2, 3 …
    pub number: u64,
    /// The source's import sequence number.
    pub seq: u64,
    /// Whether the source was archived before, as an earlier listing of
    /// the scope, and imported again after another one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub again: bool,
    /// The source's blake3 (for a collection of one query, its last
    /// page's).
    pub source: String,
    /// For a collection of one query: the blake3 of each page before the
    /// last, in the order they came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<String>,
    /// The name it was imported under.
    pub name: String,
    /// When it was archived.
    #[schema(value_type = String, format = DateTime)]
    pub archived_at: Timestamp,
    /// Ads it lists.
    pub ads: u64,
    /// Ads of the scope it does not list (absent once, vanished or gone
    /// for longer).
    pub absent: u64,
    /// Ads new to the scope (0 for a first listing: it is the baseline,
    /// and its ads are not reported as new).
    pub new: u64,
    /// Ads listed again with another record.
    pub changed: u64,
    /// Ads absent for the first time.
    pub missing_once: u64,
    /// Ads absent for the second time in a row.
    pub vanished: u64,
    /// Ads listed again after being absent.
    pub reappeared: u64,
}

impl Listing {
    /// How many ads it reports as `kind`.
    pub fn count(&self, kind: ChangeKind) -> u64 {
        match kind {
            ChangeKind::New => self.new,
            ChangeKind::Changed => self.changed,
            ChangeKind::MissingOnce => self.missing_once,
            ChangeKind::Vanished => self.vanished,
            ChangeKind::Reappeared => self.reappeared,
        }
    }

    fn add(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::New => self.new += 1,
            ChangeKind::Changed => self.changed += 1,
            ChangeKind::MissingOnce => self.missing_once += 1,
            ChangeKind::Vanished => self.vanished += 1,
            ChangeKind::Reappeared => self.reappeared += 1,
        }
    }
}

/// What a listing lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListingSubject {
    /// Ads, by uid (Snap's yearly file, Google's creative stats).
    #[default]
    Ads,
    /// Advertisers, by their platform identity (`meta:<page id>`): a
    /// platform's spend report of one country and period.
    Advertisers,
}

impl ListingSubject {
    /// Whether the listing lists ads.
    pub fn is_ads(&self) -> bool {
        *self == ListingSubject::Ads
    }
}

/// A listing being recorded: its scope and pages; the ads it lists wait
/// in the transaction's [`LISTING_DRAFT`].
#[derive(Debug, Default)]
pub(crate) struct ListingDraft {
    pub scope: String,
    /// Ads, or for a spend report advertisers (their identity keys).
    pub subject: ListingSubject,
    /// How many rows listed an ad (an ad listed twice counts twice).
    pub rows: u64,
    /// For a collection of one query, the pages before the last.
    pub pages: Vec<String>,
}

impl ListingDraft {
    /// A draft of `scope` that lists nothing yet.
    pub(crate) fn new(scope: String) -> Self {
        ListingDraft {
            scope,
            ..ListingDraft::default()
        }
    }
}

/// The ads a listing lists, in memory, as `verify` derives them again.
#[derive(Debug, Default)]
pub(crate) struct ListingMembers {
    /// Ads, or for a spend report advertisers (their identity keys).
    pub subject: ListingSubject,
    /// uid, the seq of the version the listing shows, and whether the
    /// ad's search document was written with this source (with the status
    /// "listed"), in the order of the file.
    pub ads: Vec<(String, u32, bool)>,
}

/// A listing imported again: its bytes were archived before, as an
/// earlier listing of the scope, and a later listing came between (a
/// library that drops ads and then publishes them again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Relisting {
    /// The source.
    pub blake3: String,
    /// The name it was imported under this time.
    pub name: String,
    /// When.
    pub at: Timestamp,
    /// For the last page of a collection of one query (already archived,
    /// as pages of identical runs are): the collection's scope, when it
    /// is not the source's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// And the collection's pages before the last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<String>,
}

/// One ad's place in one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Membership {
    /// The id of the first listing that listed it.
    pub first_listing: u64,
    /// The id of the last listing that listed it, while `misses` is not 0;
    /// when it is, the scope's newest listing lists it (a membership is
    /// written only when it changes, not by every listing).
    pub last_listing: u64,
    /// The seq of the ad's version the last listing that listed it showed.
    pub version: u32,
    /// Listings in a row that did not list it since.
    pub misses: u32,
}

impl Membership {
    fn encode(&self) -> [u8; 24] {
        let mut v = [0u8; 24];
        v[..8].copy_from_slice(&self.first_listing.to_be_bytes());
        v[8..16].copy_from_slice(&self.last_listing.to_be_bytes());
        v[16..20].copy_from_slice(&self.version.to_be_bytes());
        v[20..].copy_from_slice(&self.misses.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<Membership> {
        let u64_at = |at: usize| Some(u64::from_be_bytes(v.get(at..at + 8)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_be_bytes(v.get(at..at + 4)?.try_into().ok()?));
        (v.len() == 24).then_some(())?;
        Some(Membership {
            first_listing: u64_at(0)?,
            last_listing: u64_at(8)?,
            version: u32_at(16)?,
            misses: u32_at(20)?,
        })
    }
}

/// The newest listing of `scope` in `listings`.
fn newest_listing_of(
    listings: &impl ReadableTable<u64, &'static [u8]>,
    scope: &str,
) -> Result<Option<Listing>> {
    for item in listings.iter()?.rev() {
        let (id, value) = item?;
        let listing: Listing = decode(&format!("listing {}", id.value()), value.value())?;
        if listing.scope == scope {
            return Ok(Some(listing));
        }
    }
    Ok(None)
}

/// A change as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChange {
    /// The listing's id.
    pub listing: u64,
    /// Its place among the listing's changes.
    pub ordinal: u32,
    pub kind: ChangeKind,
    pub uid: String,
    /// The version the scope's previous listing showed.
    pub from_version: Option<u32>,
    /// The version this listing shows.
    pub to_version: Option<u32>,
}

/// The key of a change in the archive: its listing, then its ordinal.
pub fn change_key(listing: u64, ordinal: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&listing.to_be_bytes());
    key[8..].copy_from_slice(&ordinal.to_be_bytes());
    key
}

const NO_VERSION: u32 = u32::MAX;

fn encode_change(change: &StoredChange) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + change.uid.len());
    v.push(change.kind.byte());
    v.extend_from_slice(&change.from_version.unwrap_or(NO_VERSION).to_be_bytes());
    v.extend_from_slice(&change.to_version.unwrap_or(NO_VERSION).to_be_bytes());
    v.extend_from_slice(change.uid.as_bytes());
    v
}

pub(super) fn decode_change(key: &[u8], v: &[u8]) -> Option<StoredChange> {
    let version = |at: usize| {
        let n = u32::from_be_bytes(v.get(at..at + 4)?.try_into().ok()?);
        Some((n != NO_VERSION).then_some(n))
    };
    Some(StoredChange {
        listing: u64::from_be_bytes(key.get(..8)?.try_into().ok()?),
        ordinal: u32::from_be_bytes(key.get(8..12)?.try_into().ok()?),
        kind: ChangeKind::from_byte(*v.first()?)?,
        from_version: version(1)?,
        to_version: version(5)?,
        uid: std::str::from_utf8(v.get(9..)?).ok()?.to_owned(),
    })
}

fn pair_key(first: &str, second: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(first.len() + second.len() + 1);
    key.extend_from_slice(first.as_bytes());
    key.push(0);
    key.extend_from_slice(second.as_bytes());
    key
}

/// Bounds of the keys that start with `first ++ 0`.
fn pair_bounds(first: &str) -> (Vec<u8>, Vec<u8>) {
    let mut from = first.as_bytes().to_vec();
    from.push(0);
    let mut to = first.as_bytes().to_vec();
    to.push(1);
    (from, to)
}

/// The status of `uid` from its memberships.
pub(crate) fn status_in(
    ad_scopes: &impl ReadableTable<&'static [u8], ()>,
    listed: &impl ReadableTable<&'static [u8], &'static [u8]>,
    uid: &str,
) -> Result<AdStatus> {
    let mut fewest: Option<u32> = None;
    let (from, to) = pair_bounds(uid);
    for item in ad_scopes.range(&from[..]..&to[..])? {
        let (key, _) = item?;
        let scope = std::str::from_utf8(&key.value()[from.len()..])
            .map_err(|_| damaged(uid, "unreadable scope"))?;
        if let Some(m) = listed.get(&pair_key(scope, uid)[..])? {
            let m = Membership::decode(m.value()).ok_or_else(|| damaged(uid, "bad membership"))?;
            fewest = Some(fewest.map_or(m.misses, |f| f.min(m.misses)));
        }
    }
    Ok(fewest.map_or(AdStatus::Unknown, AdStatus::of_misses))
}

/// Records, in the transaction archiving `entry` (or importing it again,
/// `again`), that it is a listing of `draft.scope`, whose ads are in the
/// transaction's [`LISTING_DRAFT`]: the ads' memberships, the listing, and
/// its changes. The search documents of ads whose status changed are
/// written again with their new status. Returns the listing; the draft is
/// deleted.
///
/// The draft and the scope's memberships are both read in uid order and
/// met in step, [`MERGED_AT_ONCE`] memberships at a time, so that memory
/// stays bounded whatever the size of the listing or the scope.
pub(crate) fn record_listing(
    txn: &WriteTransaction,
    entry: &SourceEntry,
    again: Option<&Relisting>,
    draft: &ListingDraft,
    index: Option<&Updates<'_>>,
) -> Result<Listing> {
    let scope = draft.scope.as_str();
    let mut listings = txn.open_table(LISTINGS)?;
    let id = match listings.last()? {
        Some((id, _)) => id.value() + 1,
        None => 0,
    };
    let previous = newest_listing_of(&listings, scope)?.map(|l| l.id);
    let mut scopes = txn.open_table(SCOPES)?;
    let before = scopes.get(scope)?.map_or(0, |n| n.value());
    let number = before + 1;
    scopes.insert(scope, number)?;
    drop(scopes);
    let baseline = before == 0;

    let mut listing = Listing {
        scope: scope.to_owned(),
        id,
        subject: draft.subject,
        number,
        seq: entry.seq,
        again: again.is_some(),
        source: entry.blake3.clone(),
        pages: draft.pages.clone(),
        name: match again {
            Some(r) => r.name.clone(),
            None => entry.names.first().cloned().unwrap_or_default(),
        },
        archived_at: again.map_or(entry.imported_at, |r| r.at),
        ads: 0,
        absent: 0,
        new: 0,
        changed: 0,
        missing_once: 0,
        vanished: 0,
        reappeared: 0,
    };
    let mut listed = txn.open_table(LISTED)?;
    let mut ad_scopes = txn.open_table(AD_SCOPES)?;
    let mut changes = txn.open_table(CHANGES)?;
    let mut ordinal = 0u32;
    let mut emit = |listing: &mut Listing,
                    kind: ChangeKind,
                    uid: &str,
                    from_version: Option<u32>,
                    to_version: Option<u32>|
     -> Result<()> {
        let change = StoredChange {
            listing: id,
            ordinal,
            kind,
            uid: uid.to_owned(),
            from_version,
            to_version,
        };
        changes.insert(&change_key(id, ordinal)[..], &encode_change(&change)[..])?;
        ordinal += 1;
        listing.add(kind);
        Ok(())
    };
    let restatus_from = match index {
        Some(updates) => Some((
            updates,
            WriteAdEntries::write(txn)?,
            txn.open_table(RECORDS)?,
        )),
        None => None,
    };
    // Ads whose status may differ from their search document's.
    let mut restatus: Vec<String> = Vec::new();
    let mut writes: Vec<(Vec<u8>, Membership)> = Vec::new();
    let draft_table = open_draft(txn)?;
    let mut drafts = draft_table.range::<&[u8]>(..)?;
    let mut next_listed = drafted(drafts.next())?;
    let (from, to) = pair_bounds(scope);
    let uid_of = |key: &[u8]| -> Result<String> {
        std::str::from_utf8(&key[from.len()..])
            .map(str::to_owned)
            .map_err(|_| damaged(scope, "unreadable uid"))
    };
    let mut known = Vec::new().into_iter().peekable();
    // The key of the last membership read, once one was.
    let mut read_to: Option<Vec<u8>> = None;
    let mut known_done = false;
    let mut listed_ads = 0u64;
    loop {
        if known.peek().is_none() && !known_done {
            let start = match &read_to {
                Some(key) => std::ops::Bound::Excluded(&key[..]),
                None => std::ops::Bound::Included(&from[..]),
            };
            let mut chunk: Vec<(Vec<u8>, Membership)> = Vec::with_capacity(MERGED_AT_ONCE);
            for item in listed
                .range::<&[u8]>((start, std::ops::Bound::Excluded(&to[..])))?
                .take(MERGED_AT_ONCE)
            {
                let (key, value) = item?;
                let m = Membership::decode(value.value())
                    .ok_or_else(|| damaged(scope, "bad membership"))?;
                chunk.push((key.value().to_vec(), m));
            }
            known_done = chunk.len() < MERGED_AT_ONCE;
            if let Some((key, _)) = chunk.last() {
                read_to = Some(key.clone());
            }
            known = chunk.into_iter().peekable();
        }
        let order = match (&next_listed, known.peek()) {
            (None, None) => None,
            (Some(_), None) => Some(std::cmp::Ordering::Less),
            (None, Some(_)) => Some(std::cmp::Ordering::Greater),
            (Some(ad), Some((key, _))) => Some(ad.0.as_bytes().cmp(&key[from.len()..])),
        };
        match order {
            None => {}
            Some(std::cmp::Ordering::Less) => {
                let Some((uid, version, indexed)) = next_listed.take() else {
                    break;
                };
                next_listed = drafted(drafts.next())?;
                listed_ads += 1;
                if !baseline {
                    emit(&mut listing, ChangeKind::New, &uid, None, Some(version))?;
                }
                // Only ads have a status; an advertiser's identity key may
                // look like an ad's uid.
                if draft.subject.is_ads() {
                    ad_scopes.insert(&pair_key(&uid, scope)[..], ())?;
                }
                writes.push((
                    pair_key(scope, &uid),
                    Membership {
                        first_listing: id,
                        last_listing: id,
                        version,
                        misses: 0,
                    },
                ));
                if !indexed {
                    // Known before from a partial file, or from another
                    // scope: its status may be other than "listed".
                    restatus.push(uid);
                }
            }
            Some(std::cmp::Ordering::Equal) => {
                let (Some((uid, version, indexed)), Some((key, m))) =
                    (next_listed.take(), known.next())
                else {
                    break;
                };
                next_listed = drafted(drafts.next())?;
                listed_ads += 1;
                if m.misses > 0 {
                    emit(
                        &mut listing,
                        ChangeKind::Reappeared,
                        &uid,
                        Some(m.version),
                        Some(version),
                    )?;
                }
                if m.version != version {
                    emit(
                        &mut listing,
                        ChangeKind::Changed,
                        &uid,
                        Some(m.version),
                        Some(version),
                    )?;
                }
                if m.misses > 0 || m.version != version {
                    writes.push((
                        key,
                        Membership {
                            last_listing: id,
                            version,
                            misses: 0,
                            ..m
                        },
                    ));
                }
                if m.misses > 0 && !indexed {
                    restatus.push(uid);
                }
            }
            Some(std::cmp::Ordering::Greater) => {
                let Some((key, m)) = known.next() else {
                    break;
                };
                listing.absent += 1;
                let misses = m.misses.saturating_add(1);
                let uid = uid_of(&key)?;
                match misses {
                    1 => emit(
                        &mut listing,
                        ChangeKind::MissingOnce,
                        &uid,
                        Some(m.version),
                        None,
                    )?,
                    2 => emit(
                        &mut listing,
                        ChangeKind::Vanished,
                        &uid,
                        Some(m.version),
                        None,
                    )?,
                    _ => {}
                }
                if misses <= 2 && draft.subject.is_ads() {
                    restatus.push(uid);
                }
                // Listed last by the scope's listing before this one, when
                // it was listed until now.
                let last_listing = match (m.misses, previous) {
                    (0, Some(previous)) => previous,
                    _ => m.last_listing,
                };
                writes.push((
                    key,
                    Membership {
                        misses,
                        last_listing,
                        ..m
                    },
                ));
            }
        }
        // Every write is at or before the last membership read, so the
        // next read, after it, never meets one.
        if order.is_none() || writes.len() >= MERGED_AT_ONCE || restatus.len() >= MERGED_AT_ONCE {
            write_memberships(
                &mut listed,
                &ad_scopes,
                &mut writes,
                &mut restatus,
                restatus_from.as_ref(),
            )?;
        }
        if order.is_none() {
            break;
        }
    }
    listing.ads = listed_ads;
    drop(drafts);
    drop(draft_table);
    discard_draft(txn)?;

    listings.insert(id, &encode(&listing)[..])?;
    Ok(listing)
}

/// Memberships met at once with a listing's ads, and written at once.
const MERGED_AT_ONCE: usize = 4096;

/// The tables the search documents of ads are written again from.
type RestatusFrom<'u, 't> = (
    &'u Updates<'u>,
    WriteAdEntries<'t>,
    redb::Table<'t, u64, &'static [u8]>,
);

/// Writes the memberships a listing changed, then the search documents of
/// the ads whose status that may change (an ad's status is read from its
/// memberships, so they go first).
fn write_memberships(
    listed: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    ad_scopes: &redb::Table<'_, &'static [u8], ()>,
    writes: &mut Vec<(Vec<u8>, Membership)>,
    restatus: &mut Vec<String>,
    restatus_from: Option<&RestatusFrom<'_, '_>>,
) -> Result<()> {
    for (key, m) in writes.drain(..) {
        listed.insert(&key[..], &m.encode()[..])?;
    }
    let Some((updates, ads, records)) = restatus_from else {
        restatus.clear();
        return Ok(());
    };
    for uid in restatus.drain(..) {
        let status = status_in(ad_scopes, &*listed, &uid)?;
        let Some(latest) = ads.latest(&uid)? else {
            continue;
        };
        let canonical = stored_record(records, latest.record, &latest.hash)?;
        let ad: adarchive_schema::Ad = decode(&uid, &canonical)?;
        let mut doc = updates.document(&ad, &latest.hash);
        updates.add_status(&mut doc, status.as_str());
        updates.upsert(&uid, doc, true)?;
    }
    Ok(())
}

/// An ad's place in one scope, as the API and the ad page show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScopeMembership {
    /// The scope.
    pub scope: String,
    /// When the first listing that listed it was archived.
    #[schema(value_type = String, format = DateTime)]
    pub first_listed: Timestamp,
    /// When the last listing that listed it was archived.
    #[schema(value_type = String, format = DateTime)]
    pub last_listed: Timestamp,
    /// Listings of the scope since then that did not list it (0: the
    /// latest lists it).
    pub absent_from: u32,
}

/// Whether listings still hold an ad.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdListings {
    /// `listed`, `missing_once`, `vanished` or `unknown`.
    pub status: AdStatus,
    /// The scopes whose listings held it, with when.
    pub scopes: Vec<ScopeMembership>,
}

impl super::Archive {
    /// Every listing, in archive order.
    pub fn listings(&self) -> Result<Vec<Listing>> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(LISTINGS)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (seq, value) = item?;
            out.push(decode(&format!("listing {}", seq.value()), value.value())?);
        }
        Ok(out)
    }

    /// Whether listings still hold the ad `uid`, and since when.
    pub fn ad_listings(&self, uid: &str) -> Result<AdListings> {
        let txn = self.db().begin_read()?;
        let ad_scopes = txn.open_table(AD_SCOPES)?;
        let listed = txn.open_table(LISTED)?;
        let listings = txn.open_table(LISTINGS)?;
        let archived_at = |id: u64| -> Result<Timestamp> {
            let value = listings
                .get(id)?
                .ok_or_else(|| damaged(uid, "membership of a listing the archive lacks"))?;
            let listing: Listing = decode(uid, value.value())?;
            Ok(listing.archived_at)
        };
        let mut scopes = Vec::new();
        let (from, to) = pair_bounds(uid);
        for item in ad_scopes.range(&from[..]..&to[..])? {
            let (key, _) = item?;
            let scope = std::str::from_utf8(&key.value()[from.len()..])
                .map_err(|_| damaged(uid, "unreadable scope"))?
                .to_owned();
            let Some(value) = listed.get(&pair_key(&scope, uid)[..])? else {
                continue;
            };
            let m =
                Membership::decode(value.value()).ok_or_else(|| damaged(uid, "bad membership"))?;
            let last_listing = match m.misses {
                0 => newest_listing_of(&listings, &scope)?.map_or(m.last_listing, |l| l.id),
                _ => m.last_listing,
            };
            scopes.push(ScopeMembership {
                first_listed: archived_at(m.first_listing)?,
                last_listed: archived_at(last_listing)?,
                absent_from: m.misses,
                scope,
            });
        }
        Ok(AdListings {
            status: status_in(&ad_scopes, &listed, uid)?,
            scopes,
        })
    }

    /// Up to `max` changes from the key `from` on, in archive order.
    pub fn changes_from(&self, from: (u64, u32), max: usize) -> Result<Vec<StoredChange>> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(CHANGES)?;
        let start = change_key(from.0, from.1);
        let mut out = Vec::new();
        for item in table.range(&start[..]..)?.take(max) {
            let (key, value) = item?;
            out.push(
                decode_change(key.value(), value.value())
                    .ok_or_else(|| damaged("changes", "unreadable change"))?,
            );
        }
        Ok(out)
    }

    /// The record of version `seq` of the ad `uid`.
    pub fn version_record(&self, uid: &str, seq: u32) -> Result<Option<adarchive_schema::Ad>> {
        let txn = self.db().begin_read()?;
        let Some((version, number)) = super::ReadAdEntries::read(&txn)?.version(uid, seq)? else {
            return Ok(None);
        };
        let canonical = stored_record(&txn.open_table(RECORDS)?, number, &version.record_hash)?;
        Ok(Some(decode(uid, &canonical)?))
    }
}

/// The tables a listing's members are read from, in a transaction that
/// writes or only reads.
struct SourceTables<T, N> {
    observations: T,
    ads: AdEntries<N, T>,
    rows: T,
}

impl<'t>
    SourceTables<redb::Table<'t, &'static [u8], &'static [u8]>, redb::Table<'t, &'static str, u64>>
{
    /// The tables of `txn`.
    fn of(txn: &'t WriteTransaction) -> Result<Self> {
        Ok(SourceTables {
            observations: txn.open_table(super::OBSERVATIONS)?,
            ads: WriteAdEntries::write(txn)?,
            rows: txn.open_table(super::REPORT_ROWS)?,
        })
    }
}

impl<T, N> SourceTables<T, N>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
    N: ReadableTable<&'static str, u64>,
{
    /// Hands `member` each ad the stored source `blake3` lists, from its
    /// observations, in the order of the file, with the last of its
    /// versions that `existed` and shows the observed record (an ad can
    /// show a record again, A, B, then A), and whether its search document
    /// was written with the source. A spend report lists the advertisers
    /// of its rows instead, handed over only when `ads_only` is false.
    /// Returns what the source lists.
    fn each_member_of_source(
        &self,
        blake3: &str,
        existed: &dyn Fn(&super::Version) -> bool,
        ads_only: bool,
        member: &mut dyn FnMut(&str, u32, bool) -> Result<()>,
    ) -> Result<ListingSubject> {
        let (observations, ads, rows) = (&self.observations, &self.ads, &self.rows);
        let source = *blake3::Hash::from_hex(blake3)
            .map_err(|_| damaged(blake3, "not a blake3 hash"))?
            .as_bytes();
        let (from, to) = (
            super::observation_key(&source, 0),
            super::observation_key(&source, u64::MAX),
        );
        let mut advertisers = std::collections::BTreeSet::new();
        for item in rows.range(&from[..]..=&to[..])? {
            let (_, value) = item?;
            let row = super::codec::decode_report_row(value.value())
                .ok_or_else(|| damaged(blake3, "unreadable report row"))?;
            let row: adarchive_schema::ReportRow = decode(blake3, &row.canonical)?;
            if let Some(facts) = super::facts_of_report(&row) {
                advertisers.insert(facts.key);
            }
        }
        if !advertisers.is_empty() {
            if !ads_only {
                for key in &advertisers {
                    member(key, 0, true)?;
                }
            }
            return Ok(ListingSubject::Advertisers);
        }
        for item in observations.range(&from[..]..=&to[..])? {
            let (_, value) = item?;
            let observation = super::codec::decode_observation(value.value())
                .ok_or_else(|| damaged(blake3, "unreadable observation"))?;
            let uid = observation.uid;
            let mut version = None;
            for (found, _) in ads.versions(uid)? {
                if found.record_hash == observation.record_hash && existed(&found) {
                    version = Some(found.seq);
                }
            }
            let version = version.ok_or_else(|| damaged(uid, "observation of no version"))?;
            member(uid, version, false)?;
        }
        Ok(ListingSubject::Ads)
    }

    /// The ads the stored source `blake3` lists (see
    /// [`Self::each_member_of_source`]), in memory.
    fn members_of_source(
        &self,
        blake3: &str,
        existed: &dyn Fn(&super::Version) -> bool,
    ) -> Result<ListingMembers> {
        let mut ads = Vec::new();
        let subject = self.each_member_of_source(blake3, existed, false, &mut |uid, v, i| {
            ads.push((uid.to_owned(), v, i));
            Ok(())
        })?;
        Ok(ListingMembers { subject, ads })
    }

    /// The ads a collection of `scope` lists (see [`draft_collection`]),
    /// in memory.
    fn members_of_collection(
        &self,
        pages: &[String],
        last: Option<&ListingMembers>,
        existed: &dyn Fn(&super::Version) -> bool,
    ) -> Result<ListingMembers> {
        let mut ads = Vec::new();
        for page in pages {
            self.each_member_of_source(page, existed, true, &mut |uid, v, i| {
                ads.push((uid.to_owned(), v, i));
                Ok(())
            })?;
        }
        if let Some(last) = last.filter(|l| l.subject.is_ads()) {
            ads.extend(last.ads.iter().cloned());
        }
        Ok(ListingMembers {
            subject: ListingSubject::Ads,
            ads,
        })
    }
}

/// Drafts, in `txn`'s [`LISTING_DRAFT`], the ads the stored source
/// `blake3` lists as a listing of `scope` (see
/// [`SourceTables::each_member_of_source`]).
fn draft_source(txn: &WriteTransaction, blake3: &str, scope: &str) -> Result<ListingDraft> {
    let tables = SourceTables::of(txn)?;
    let mut draft_table = open_draft(txn)?;
    let mut draft = ListingDraft::new(scope.to_owned());
    draft.subject = tables.each_member_of_source(blake3, &|_| true, false, &mut |uid, v, i| {
        draft.rows += 1;
        draft_ad(&mut draft_table, uid, OWN_ROWS, v, i).map(drop)
    })?;
    Ok(draft)
}

/// Makes the draft of a collection's last page, `last`, the draft of the
/// whole collection of one query: the ads of each of its pages, in their
/// order, and then the last page's, which take precedence. A page whose
/// import was refused lists nothing, and so does a spend report.
pub(crate) fn draft_collection(
    txn: &WriteTransaction,
    collected: &super::Collected,
    last: &ListingDraft,
) -> Result<ListingDraft> {
    let tables = SourceTables::of(txn)?;
    let mut draft = ListingDraft {
        scope: collected.scope.clone(),
        subject: ListingSubject::Ads,
        rows: 0,
        pages: collected.pages.clone(),
    };
    if last.subject.is_ads() {
        draft.rows = last.rows;
    } else {
        discard_draft(txn)?;
    }
    let mut draft_table = open_draft(txn)?;
    for (n, page) in collected.pages.iter().enumerate() {
        // Pages past u32::MAX - 1 share a precedence, kept in their order.
        let precedence = u32::try_from(n).unwrap_or(OWN_ROWS - 1).min(OWN_ROWS - 1);
        tables.each_member_of_source(page, &|_| true, true, &mut |uid, v, i| {
            draft.rows += 1;
            draft_ad(&mut draft_table, uid, precedence, v, i).map(drop)
        })?;
    }
    Ok(draft)
}

/// The key of a [`RELISTINGS`] entry.
fn relisting_key(after_seq: u64, n: u32) -> [u8; 12] {
    change_key(after_seq, n)
}

/// Records `relisting` of the archived listing `entry` of `scope`, replayed
/// or new, in `txn`.
fn relist_in(
    txn: &WriteTransaction,
    entry: &SourceEntry,
    scope: &str,
    relisting: &Relisting,
    index: Option<&Updates<'_>>,
) -> Result<Option<Listing>> {
    let draft = draft_source(txn, &entry.blake3, scope)?;
    let draft = match &relisting.scope {
        Some(scope) => {
            let collected = super::Collected {
                scope: scope.clone(),
                pages: relisting.pages.clone(),
            };
            draft_collection(txn, &collected, &draft)?
        }
        None => draft,
    };
    if draft.rows == 0 {
        discard_draft(txn)?;
        return Ok(None);
    }
    record_listing(txn, entry, Some(relisting), &draft, index).map(Some)
}

impl super::Archive {
    /// Records that the archived source `entry`, imported again under
    /// `name`, is the newest listing of its scope, if it is a listing:
    /// unless it is the scope's newest listing already, when importing it
    /// again says nothing new (and an import run twice changes nothing).
    pub(crate) fn relist(
        &self,
        entry: &SourceEntry,
        name: &str,
        at: Timestamp,
        index: Option<&Updates<'_>>,
    ) -> Result<Option<Listing>> {
        let Some(scope) = entry.listing_scope.as_deref() else {
            return Ok(None);
        };
        // The last page of a collection lists the collection's ads only
        // with the collection's other pages: alone, it is a partial file.
        if entry
            .fetched
            .as_ref()
            .is_some_and(|f| f.completes.is_some())
        {
            return Ok(None);
        }
        {
            let txn = self.db().begin_read()?;
            let listings = txn.open_table(LISTINGS)?;
            match newest_listing_of(&listings, scope)? {
                Some(newest) if newest.source != entry.blake3 => {}
                // The newest listing already.
                _ => return Ok(None),
            }
        }
        let relisting = Relisting {
            blake3: entry.blake3.clone(),
            name: name.to_owned(),
            at,
            scope: None,
            pages: Vec::new(),
        };
        self.record_relisting(entry, scope, &relisting, index)
    }

    /// Records that `collected`, whose last page is the archived source
    /// `entry` imported again under `name`, is the newest listing of its
    /// scope: a run of a query whose answers were all archived before is
    /// still the query's listing at the time it ran.
    pub(crate) fn relist_collection(
        &self,
        entry: &SourceEntry,
        name: &str,
        at: Timestamp,
        collected: &super::Collected,
        index: Option<&Updates<'_>>,
    ) -> Result<Option<Listing>> {
        let relisting = Relisting {
            blake3: entry.blake3.clone(),
            name: name.to_owned(),
            at,
            scope: Some(collected.scope.clone()),
            pages: collected.pages.clone(),
        };
        self.record_relisting(entry, &collected.scope, &relisting, index)
    }

    fn record_relisting(
        &self,
        entry: &SourceEntry,
        scope: &str,
        relisting: &Relisting,
        index: Option<&Updates<'_>>,
    ) -> Result<Option<Listing>> {
        let txn = self.db().begin_write()?;
        let after_seq = match txn.open_table(super::SOURCE_ORDER)?.last()? {
            Some((seq, _)) => seq.value(),
            None => 0,
        };
        let listing = relist_in(&txn, entry, scope, relisting, index)?;
        if listing.is_none() {
            return Ok(None);
        }
        {
            let mut relistings = txn.open_table(RELISTINGS)?;
            let (from, to) = (relisting_key(after_seq, 0), relisting_key(after_seq + 1, 0));
            let n = relistings.range(&from[..]..&to[..])?.count() as u32;
            relistings.insert(&relisting_key(after_seq, n)[..], &encode(relisting)[..])?;
        }
        self.commit(txn)?;
        Ok(listing)
    }

    /// For `rebuild`: copies the relistings of `old` into this archive's
    /// `txn`, to be replayed in their places.
    pub(crate) fn copy_relistings(
        old: &redb::ReadTransaction,
        txn: &WriteTransaction,
    ) -> Result<()> {
        let from = match old.open_table(RELISTINGS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut to = txn.open_table(RELISTINGS)?;
        for item in from.iter()? {
            let (key, value) = item?;
            to.insert(key.value(), value.value())?;
        }
        Ok(())
    }

    /// For `rebuild`: replays, after the source with import sequence
    /// `seq` is derived again, the relistings that came after it.
    pub(crate) fn replay_relistings(&self, seq: u64) -> Result<()> {
        let txn = self.db().begin_write()?;
        let relistings: Vec<Relisting> = {
            let table = txn.open_table(RELISTINGS)?;
            let (from, to) = (relisting_key(seq, 0), relisting_key(seq + 1, 0));
            let mut out = Vec::new();
            for item in table.range(&from[..]..&to[..])? {
                let (_, value) = item?;
                out.push(decode("relisting", value.value())?);
            }
            out
        };
        if relistings.is_empty() {
            return Ok(());
        }
        for relisting in &relistings {
            let entry = {
                let sources = txn.open_table(super::SOURCES)?;
                let value = sources
                    .get(relisting.blake3.as_str())?
                    .ok_or_else(|| damaged(&relisting.blake3, "relisting of no source"))?;
                super::decode_source(&relisting.blake3, value.value())?
            };
            let scope = relisting.scope.as_ref().or(entry.listing_scope.as_ref());
            if let Some(scope) = scope {
                relist_in(&txn, &entry, scope, relisting, None)?;
            }
        }
        self.commit(txn)
    }
}
