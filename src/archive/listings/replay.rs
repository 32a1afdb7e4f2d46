//! `verify` of the listings: every listing derived again, in archive
//! order, from the observations of the sources it names, and compared with
//! what the imports recorded: its number and counts, its changes one by
//! one, and at the end every membership of every scope.

use std::collections::{BTreeMap, HashMap};

use redb::{ReadableDatabase, ReadableTable};

use super::{
    change_key, decode_change, pair_bounds, pair_key, ChangeKind, Listing, ListingMembers,
    Membership, SourceTables, AD_SCOPES, CHANGES, LISTED, LISTINGS, RELISTINGS, SCOPES,
};
use crate::archive::{decode, Archive};
use crate::error::Result;

/// Mismatches of one kind listed one by one before they are only counted.
const LISTED_MISMATCHES: usize = 20;

/// A change as derived again: its kind, the ad, and the versions.
type Derived = (ChangeKind, String, Option<u32>, Option<u32>);

/// What the listings of one scope left, as derived again.
#[derive(Default)]
struct ScopeState {
    listings: u64,
    newest: Option<u64>,
    members: BTreeMap<String, Membership>,
    ads: bool,
}

/// What [`Archive::verify_listings`] found.
#[derive(Debug, Default)]
pub(crate) struct ListingsCheck {
    /// Listings derived again.
    pub listings: u64,
    /// Changes compared.
    pub changes: u64,
    /// What differs, one line each.
    pub problems: Vec<String>,
}

impl ListingsCheck {
    fn problem(&mut self, seen: &mut usize, text: String) {
        *seen += 1;
        if *seen <= LISTED_MISMATCHES {
            self.problems.push(text);
        }
    }
}

impl Archive {
    /// Derives every listing again from the observations of the sources
    /// it names, as if the listings were imported one after another, and
    /// says where the stored listings, changes and memberships differ.
    pub(crate) fn verify_listings(&self) -> Result<ListingsCheck> {
        let txn = self.db().begin_read()?;
        let tables = SourceTables {
            observations: txn.open_table(crate::archive::OBSERVATIONS)?,
            ads: crate::archive::ReadAdEntries::read(&txn)?,
            rows: txn.open_table(crate::archive::REPORT_ROWS)?,
        };
        let (listings, changes) = (txn.open_table(LISTINGS)?, txn.open_table(CHANGES)?);
        // A listing shows the versions that existed when it was recorded:
        // those of the sources archived up to it, or for a listing
        // imported again up to the source it came after (the re-listings
        // are kept in the order of the listings imported again).
        let seq_of: HashMap<String, u64> = self
            .sources()?
            .into_iter()
            .map(|entry| (entry.blake3, entry.seq))
            .collect();
        let mut relisted_after = Vec::new();
        for item in txn.open_table(RELISTINGS)?.iter()? {
            let (key, _) = item?;
            let after = key
                .value()
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| super::damaged("relistings", "unreadable key"))?;
            relisted_after.push(after);
        }
        let mut relisted_after = relisted_after.into_iter();
        let mut check = ListingsCheck::default();
        let mut differing = 0usize;
        let mut scopes: HashMap<String, ScopeState> = HashMap::new();
        for (expected_id, item) in (0u64..).zip(listings.iter()?) {
            let (id, value) = item?;
            let id = id.value();
            let listing: Listing = decode(&format!("listing {id}"), value.value())?;
            check.listings += 1;
            if id != expected_id || listing.id != id {
                check.problem(
                    &mut differing,
                    format!(
                        "listing {id}: numbered {} among the listings, expected {expected_id}",
                        listing.id
                    ),
                );
            }
            let horizon = match listing.again {
                true => relisted_after.next().unwrap_or(u64::MAX),
                false => listing.seq,
            };
            let existed = |version: &crate::archive::Version| {
                seq_of
                    .get(&version.source_blake3)
                    .is_some_and(|&seq| seq <= horizon)
            };
            let members = members_of(&tables, &listing, &existed)?;
            let state = scopes.entry(listing.scope.clone()).or_default();
            let (derived, counted) = derive(state, &listing, &members);
            let mut stored = Vec::new();
            for item in changes.range(&change_key(id, 0)[..]..&change_key(id + 1, 0)[..])? {
                let (key, value) = item?;
                let change = decode_change(key.value(), value.value())
                    .ok_or_else(|| super::damaged(&listing.scope, "unreadable change"))?;
                stored.push((
                    change.kind,
                    change.uid,
                    change.from_version,
                    change.to_version,
                ));
            }
            check.changes += stored.len() as u64;
            if counted.number != listing.number {
                check.problem(
                    &mut differing,
                    format!(
                        "listing {id} ({}): number {} of its scope, derived again {}",
                        listing.scope, listing.number, counted.number
                    ),
                );
            }
            let counts = |l: &Listing| {
                [
                    l.ads,
                    l.absent,
                    l.new,
                    l.changed,
                    l.missing_once,
                    l.vanished,
                    l.reappeared,
                ]
            };
            if counts(&counted) != counts(&listing) {
                check.problem(
                    &mut differing,
                    format!(
                        "listing {id} ({}): says ads/absent/new/changed/missing once/vanished/reappeared {:?}, derived again {:?}",
                        listing.scope,
                        counts(&listing),
                        counts(&counted)
                    ),
                );
            }
            if stored != derived {
                let first = stored
                    .iter()
                    .zip(&derived)
                    .position(|(a, b)| a != b)
                    .unwrap_or(stored.len().min(derived.len()));
                check.problem(
                    &mut differing,
                    format!(
                        "listing {id} ({}): {} changes stored, {} derived again; the first to differ is #{first}: stored {:?}, derived {:?}",
                        listing.scope,
                        stored.len(),
                        derived.len(),
                        stored.get(first),
                        derived.get(first)
                    ),
                );
            }
        }

        let (listed, ad_scopes, scope_counts) = (
            txn.open_table(LISTED)?,
            txn.open_table(AD_SCOPES)?,
            txn.open_table(SCOPES)?,
        );
        let mut scopes: Vec<(String, ScopeState)> = scopes.into_iter().collect();
        scopes.sort_by(|a, b| a.0.cmp(&b.0));
        // Each scope's memberships are let go once compared.
        for (scope, state) in scopes {
            let scope = scope.as_str();
            let number = scope_counts.get(scope)?.map(|n| n.value());
            if number != Some(state.listings) {
                check.problem(
                    &mut differing,
                    format!(
                        "scope {scope}: counts {number:?} listings, derived again {}",
                        state.listings
                    ),
                );
            }
            // Both in uid order: met as they come, neither held twice.
            let (from, to) = pair_bounds(scope);
            let mut stored = listed.range(&from[..]..&to[..])?.peekable();
            let mut derived = state.members.iter().peekable();
            let mut seen = 0usize;
            loop {
                let next_stored = match stored.peek() {
                    Some(Ok((key, _))) => Some(key.value()[from.len()..].to_vec()),
                    Some(Err(_)) => {
                        if let Some(Err(e)) = stored.next() {
                            return Err(e.into());
                        }
                        continue;
                    }
                    None => None,
                };
                let order = match (&next_stored, derived.peek()) {
                    (None, None) => break,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(key), Some((uid, _))) => key.as_slice().cmp(uid.as_bytes()),
                };
                let uid = |key: &[u8]| String::from_utf8_lossy(key).into_owned();
                match order {
                    std::cmp::Ordering::Less => {
                        stored.next();
                        let key = next_stored.unwrap_or_default();
                        check.problem(
                            &mut seen,
                            format!(
                                "scope {scope}: a membership of {}, whom no listing lists",
                                uid(&key)
                            ),
                        );
                    }
                    std::cmp::Ordering::Greater | std::cmp::Ordering::Equal => {
                        let found = match order {
                            std::cmp::Ordering::Equal => stored
                                .next()
                                .and_then(|item| item.ok())
                                .map(|(_, value)| Membership::decode(value.value())),
                            _ => None,
                        };
                        let Some((uid, derived)) = derived.next() else {
                            break;
                        };
                        match found {
                            Some(Some(m)) if m == *derived => {}
                            found => check.problem(
                                &mut seen,
                                format!(
                                    "scope {scope}: the membership of {uid} is {found:?}, derived again {derived:?}"
                                ),
                            ),
                        }
                        if state.ads && ad_scopes.get(&pair_key(uid, scope)[..])?.is_none() {
                            check.problem(
                                &mut seen,
                                format!(
                                    "scope {scope}: {uid} is listed but not known as one of its ads"
                                ),
                            );
                        }
                    }
                }
            }
            if seen > LISTED_MISMATCHES {
                check.problems.push(format!(
                    "scope {scope}: {} more memberships differ",
                    seen - LISTED_MISMATCHES
                ));
            }
        }
        if differing > LISTED_MISMATCHES {
            check.problems.push(format!(
                "{} more listings differ",
                differing - LISTED_MISMATCHES
            ));
        }
        Ok(check)
    }
}

/// What `listing` lists: its source's ads or advertisers, and for a
/// collection of one query its pages' ads before them.
fn members_of<T, N>(
    tables: &SourceTables<T, N>,
    listing: &Listing,
    existed: &dyn Fn(&crate::archive::Version) -> bool,
) -> Result<ListingMembers>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
    N: ReadableTable<&'static str, u64>,
{
    let last = tables.members_of_source(&listing.source, existed)?;
    if listing.pages.is_empty() {
        return Ok(last);
    }
    tables.members_of_collection(&listing.pages, Some(&last), existed)
}

/// The changes `listing` brings to its scope's `state`, and the listing's
/// number and counts, derived again; `state` becomes the scope's after it.
fn derive(
    state: &mut ScopeState,
    listing: &Listing,
    members: &ListingMembers,
) -> (Vec<Derived>, Listing) {
    let id = listing.id;
    let baseline = state.listings == 0;
    state.listings += 1;
    state.ads = members.subject.is_ads();
    let mut counted = Listing {
        number: state.listings,
        ads: 0,
        absent: 0,
        new: 0,
        changed: 0,
        missing_once: 0,
        vanished: 0,
        reappeared: 0,
        ..listing.clone()
    };
    // An ad listed twice counts once, with the version its last row showed.
    let mut listed: BTreeMap<&str, u32> = BTreeMap::new();
    for (uid, version, _) in &members.ads {
        listed.insert(uid, *version);
    }
    counted.ads = listed.len() as u64;
    let mut derived = Vec::new();
    let mut emit = |counted: &mut Listing, change: Derived| {
        counted.add(change.0);
        derived.push(change);
    };
    let previous = state.newest.replace(id);
    let mut members_after = BTreeMap::new();
    let mut known = std::mem::take(&mut state.members).into_iter().peekable();
    let mut listed = listed.into_iter().peekable();
    loop {
        let order = match (listed.peek(), known.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((uid, _)), Some((known_uid, _))) => uid.as_bytes().cmp(known_uid.as_bytes()),
        };
        match order {
            std::cmp::Ordering::Less => {
                let Some((uid, version)) = listed.next() else {
                    break;
                };
                if !baseline {
                    emit(
                        &mut counted,
                        (ChangeKind::New, uid.to_owned(), None, Some(version)),
                    );
                }
                let m = Membership {
                    first_listing: id,
                    last_listing: id,
                    version,
                    misses: 0,
                };
                members_after.insert(uid.to_owned(), m);
            }
            std::cmp::Ordering::Equal => {
                let (Some((uid, version)), Some((_, m))) = (listed.next(), known.next()) else {
                    break;
                };
                if m.misses > 0 {
                    emit(
                        &mut counted,
                        (
                            ChangeKind::Reappeared,
                            uid.to_owned(),
                            Some(m.version),
                            Some(version),
                        ),
                    );
                }
                if m.version != version {
                    emit(
                        &mut counted,
                        (
                            ChangeKind::Changed,
                            uid.to_owned(),
                            Some(m.version),
                            Some(version),
                        ),
                    );
                }
                let m = if m.misses > 0 || m.version != version {
                    Membership {
                        last_listing: id,
                        version,
                        misses: 0,
                        ..m
                    }
                } else {
                    m
                };
                members_after.insert(uid.to_owned(), m);
            }
            std::cmp::Ordering::Greater => {
                let Some((uid, m)) = known.next() else { break };
                counted.absent += 1;
                let misses = m.misses.saturating_add(1);
                match misses {
                    1 => emit(
                        &mut counted,
                        (ChangeKind::MissingOnce, uid.clone(), Some(m.version), None),
                    ),
                    2 => emit(
                        &mut counted,
                        (ChangeKind::Vanished, uid.clone(), Some(m.version), None),
                    ),
                    _ => {}
                }
                let last_listing = match (m.misses, previous) {
                    (0, Some(previous)) => previous,
                    _ => m.last_listing,
                };
                members_after.insert(
                    uid,
                    Membership {
                        misses,
                        last_listing,
                        ..m
                    },
                );
            }
        }
    }
    state.members = members_after;
    (derived, counted)
}
