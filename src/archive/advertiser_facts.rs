//! What a source says of its advertisers, gathered while it is imported
//! and kept in the archive as one union per platform identity (the
//! `advertiser_facts` table). Linking identities into entities is the
//! work of [`crate::advertisers`], which reads these facts.

use std::collections::{BTreeSet, HashMap};

use adarchive_schema::{Ad, Identifier, ReportKind, ReportRow};
use serde::{Deserialize, Serialize};

/// What is known of one platform identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlatformIdentity {
    /// `platform:advertiser id` (or `platform:name:<name>` where the
    /// platform prints no id), as in spend groups.
    pub key: String,
    /// The platform.
    pub platform: String,
    /// The platform's advertiser id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertiser_id: Option<String>,
    /// Names the identity appears under.
    pub names: BTreeSet<String>,
    /// Funders (paid for by, disclaimers, payers) of its ads and report rows.
    pub funders: BTreeSet<String>,
    /// Official identifiers.
    pub identifiers: BTreeSet<Identifier>,
    /// Older advertiser ids this one replaced (Google's id mapping).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub previous_ids: BTreeSet<String>,
    /// Whether ads carry it.
    pub in_ads: bool,
    /// Whether spend reports carry it.
    pub in_reports: bool,
}

impl PlatformIdentity {
    /// Adds everything `other` knows.
    pub fn merge(&mut self, other: &PlatformIdentity) {
        self.names.extend(other.names.iter().cloned());
        self.funders.extend(other.funders.iter().cloned());
        self.identifiers.extend(other.identifiers.iter().cloned());
        self.previous_ids.extend(other.previous_ids.iter().cloned());
        self.in_ads |= other.in_ads;
        self.in_reports |= other.in_reports;
        if self.advertiser_id.is_none() {
            self.advertiser_id.clone_from(&other.advertiser_id);
        }
    }
}

/// Funder texts that name nobody.
const PLACEHOLDERS: &[&str] = &["These ads ran without a disclaimer"];

fn identity(
    platform: &str,
    id: Option<&String>,
    name: Option<&String>,
) -> Option<PlatformIdentity> {
    let key = match (id, name) {
        (Some(id), _) => format!("{platform}:{id}"),
        (None, Some(name)) => format!("{platform}:name:{name}"),
        (None, None) => return None,
    };
    Some(PlatformIdentity {
        key,
        platform: platform.to_owned(),
        advertiser_id: id.cloned(),
        ..PlatformIdentity::default()
    })
}

/// The facts one ad gives about its advertiser.
pub fn facts_of_ad(ad: &Ad) -> Option<PlatformIdentity> {
    let mut map = HashMap::new();
    collect_ad(&mut map, ad);
    map.into_values().next()
}

/// Adds what `ad` says of its advertiser to `map`. Allocates only for what
/// is new, since a file repeats its advertisers ad after ad.
pub fn collect_ad(map: &mut HashMap<String, PlatformIdentity>, ad: &Ad) {
    let platform = ad.platform.as_str();
    let key = match (&ad.advertiser.id, &ad.advertiser.name) {
        (Some(id), _) => format!("{platform}:{id}"),
        (None, Some(name)) => format!("{platform}:name:{name}"),
        (None, None) => return,
    };
    let p = match map.get_mut(&key) {
        Some(p) => p,
        None => map.entry(key.clone()).or_insert_with(|| PlatformIdentity {
            key,
            platform: platform.to_owned(),
            advertiser_id: ad.advertiser.id.clone(),
            in_ads: true,
            ..PlatformIdentity::default()
        }),
    };
    p.in_ads = true;
    let add = |set: &mut BTreeSet<String>, value: &String| {
        if !set.contains(value) && !PLACEHOLDERS.contains(&value.as_str()) {
            set.insert(value.clone());
        }
    };
    if let Some(name) = &ad.advertiser.name {
        add(&mut p.names, name);
    }
    for funder in ad.funder.iter().chain(&ad.payers) {
        add(&mut p.funders, funder);
    }
    // Snap's committee columns; Google's and others' identifiers come with
    // their spend reports.
    if let Some(id) = ad
        .unmapped
        .get("CommitteeIdentificationNumber")
        .and_then(|v| v.as_str())
        .filter(|id| plausible_id(id))
    {
        let id = Identifier {
            kind: "committee".into(),
            value: id.trim().to_owned(),
        };
        if !p.identifiers.contains(&id) {
            p.identifiers.insert(id);
        }
    }
}

/// Whether a free-text id cell holds an identifier (`C00676700`), not a
/// web address, a placeholder or a note: one word with digits.
pub(crate) fn plausible_id(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 5
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The facts one spend report row gives about its advertiser.
pub fn facts_of_report(row: &ReportRow) -> Option<PlatformIdentity> {
    let mut p = identity(
        row.platform.as_str(),
        row.advertiser.id.as_ref(),
        row.advertiser.name.as_ref(),
    )?;
    p.in_reports = true;
    p.names.extend(row.advertiser.name.iter().cloned());
    p.funders.extend(
        row.funder
            .iter()
            .filter(|f| !PLACEHOLDERS.contains(&f.as_str()))
            .cloned(),
    );
    for id in &row.identifiers {
        if row.kind == ReportKind::AdvertiserIdChange {
            p.previous_ids.insert(id.value.clone());
        } else {
            p.identifiers.insert(id.clone());
        }
    }
    Some(p)
}

/// Adds `facts` to `map`, merging with what is there.
pub fn collect(map: &mut HashMap<String, PlatformIdentity>, facts: Option<PlatformIdentity>) {
    if let Some(f) = facts {
        match map.get_mut(&f.key) {
            Some(known) => known.merge(&f),
            None => {
                map.insert(f.key.clone(), f);
            }
        }
    }
}

/// Adds what one entry read from a source says of its advertiser.
pub(crate) fn gather(
    map: &mut HashMap<String, PlatformIdentity>,
    entry: &adarchive_importers::Entry<'_>,
) {
    match entry {
        adarchive_importers::Entry::Record(r) => collect_ad(map, &r.ad),
        adarchive_importers::Entry::Report(r) => collect(map, facts_of_report(&r.row)),
        _ => {}
    }
}
