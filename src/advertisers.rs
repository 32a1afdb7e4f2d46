//! Advertisers across platforms: one entity per real-world payer where the
//! evidence supports it, with every link and its evidence.
//!
//! Each platform identity (`google:AR…`, `meta:<page id>`, `snap:<org>`) is
//! described by the facts its ads and report rows carry: names, funders,
//! official identifiers (FEC, EIN, state registrations, committee ids) and
//! Google's old advertiser ids. Two identities are linked when they share an
//! identifier, when Google's id mapping says one replaced the other, or
//! when a normalized name or funder is equal — a link on a name alone is
//! marked `name_only`, so nobody mistakes it for proof. Linked identities
//! form one entity; nothing is merged without a listed link.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::archive::plausible_id;
pub use crate::archive::{collect, collect_ad, facts_of_ad, facts_of_report, PlatformIdentity};
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, SimpleTokenizer, TextAnalyzer};

/// Legal forms and filler words that do not tell payers apart.
const NOISE: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "plc",
    "pac",
    "gmbh",
    "ag",
    "ev",
    "e",
    "v",
    "bv",
    "nv",
    "sa",
    "sas",
    "sarl",
    "srl",
    "aps",
    "as",
    "ab",
    "oy",
    "asbl",
    "vzw",
    "the",
];

/// A name folded for comparison: lower case, accents and punctuation gone,
/// legal forms dropped (`Friends of Jane Alvarez, Inc.` → `friends of jane
/// alvarez`). Empty when nothing distinctive is left.
///
/// ```
/// use adarchive::advertisers::normalized_name;
/// assert_eq!(normalized_name("Comité pour l'Élection, SAS"), "comite pour l election");
/// assert_eq!(normalized_name("FRIENDS OF JANE ALVAREZ INC."), normalized_name("Friends of Jane Alvarez"));
/// assert_eq!(normalized_name("Inc."), "");
/// ```
pub fn normalized_name(name: &str) -> String {
    NameFolder::new().fold(name)
}

/// Folds many names with one analyzer.
struct NameFolder(TextAnalyzer);

impl NameFolder {
    fn new() -> Self {
        NameFolder(
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .build(),
        )
    }

    fn fold(&mut self, name: &str) -> String {
        let mut stream = self.0.token_stream(name);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            if !NOISE.contains(&token.text.as_str()) {
                words.push(token.text.clone());
            }
        }
        words.join(" ")
    }
}

/// An identifier value folded for comparison (`46-3931666` = `463931666`).
fn normalized_id(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Why two identities are linked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Link {
    /// One identity's key.
    pub from: String,
    /// The other's.
    pub to: String,
    /// `identifier`, `google_id_mapping` or `name`.
    pub evidence: String,
    /// What they share (`FEC C00676700`, the folded name).
    pub value: String,
    /// True when nothing but a name links them.
    pub name_only: bool,
}

/// One real-world advertiser as the evidence shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable id: `adv-` and the start of the blake3 of its first member's key.
    pub id: String,
    /// Its payer: the funder most of its identities name, else their most
    /// common name.
    pub name: String,
    /// Platforms it appears on.
    pub platforms: Vec<String>,
    /// True when some member is attached by a name alone.
    pub name_only_links: bool,
    /// Its platform identities.
    pub members: Vec<PlatformIdentity>,
    /// The links that join them, with their evidence.
    pub links: Vec<Link>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Groups identities into entities.
///
/// ```
/// use adarchive::advertisers::{entities, PlatformIdentity};
/// let mut a = PlatformIdentity { key: "google:AR1".into(), platform: "google".into(), ..Default::default() };
/// a.names.insert("CITIZENS FOR CLEAN WATER PAC".into());
/// let mut b = PlatformIdentity { key: "meta:7".into(), platform: "meta".into(), ..Default::default() };
/// b.names.insert("Citizens for Clean Water".into());
/// let found = entities(vec![a, b]);
/// assert_eq!(found.len(), 1);
/// assert!(found[0].name_only_links);
/// ```
pub fn entities(identities: Vec<PlatformIdentity>) -> Vec<Entity> {
    let mut identities = identities;
    identities.sort_by(|a, b| a.key.cmp(&b.key));
    let n = identities.len();
    let mut sets = UnionFind((0..n).collect());
    let mut links: Vec<(usize, usize, Link)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_value: HashMap<String, (usize, String)> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut link = |sets: &mut UnionFind,
                    a: usize,
                    b: usize,
                    evidence: &str,
                    value: String,
                    name_only: bool| {
        if a != b && sets.find(a) != sets.find(b) {
            sets.union(a, b);
            links.push((
                a,
                b,
                Link {
                    from: identities[a].key.clone(),
                    to: identities[b].key.clone(),
                    evidence: evidence.into(),
                    value,
                    name_only,
                },
            ));
        }
    };
    for (i, p) in identities.iter().enumerate() {
        if let Some(id) = &p.advertiser_id {
            by_id.insert(format!("{}:{id}", p.platform), i);
        }
    }
    // Strong evidence first, so that a name link is only recorded where
    // nothing better joins the two.
    for (i, p) in identities.iter().enumerate() {
        for old in &p.previous_ids {
            if let Some(&j) = by_id.get(&format!("{}:{old}", p.platform)) {
                link(
                    &mut sets,
                    j,
                    i,
                    "google_id_mapping",
                    format!(
                        "{old} became {}",
                        p.advertiser_id.clone().unwrap_or_default()
                    ),
                    false,
                );
            }
        }
        for id in &p.identifiers {
            if !plausible_id(&id.value) {
                continue;
            }
            // Registry numbers are unique only within their registry (a US
            // state); federal and committee ids compare across kinds.
            let value = if id.kind.starts_with("Registered in") {
                format!("{}:{}", id.kind, normalized_id(&id.value))
            } else {
                normalized_id(&id.value)
            };
            match by_value.get(&value) {
                Some((j, kind)) => {
                    let j = *j;
                    link(
                        &mut sets,
                        j,
                        i,
                        "identifier",
                        format!("{kind} / {} {}", id.kind, id.value),
                        false,
                    )
                }
                None => {
                    by_value.insert(value, (i, id.kind.clone()));
                }
            }
        }
    }
    let mut folder = NameFolder::new();
    for (i, p) in identities.iter().enumerate() {
        for name in p.names.iter().chain(&p.funders) {
            let folded = folder.fold(name);
            if folded.len() < 4 {
                continue;
            }
            match by_name.get(&folded) {
                Some(&j) => link(&mut sets, j, i, "name", folded, true),
                None => {
                    by_name.insert(folded, i);
                }
            }
        }
    }

    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        groups.entry(sets.find(i)).or_default().push(i);
    }
    let mut link_groups: HashMap<usize, Vec<Link>> = HashMap::new();
    for (a, _, l) in links {
        link_groups.entry(sets.find(a)).or_default().push(l);
    }
    groups
        .into_iter()
        .map(|(root, members)| {
            let members: Vec<PlatformIdentity> =
                members.into_iter().map(|i| identities[i].clone()).collect();
            let mut links = link_groups.remove(&root).unwrap_or_default();
            links.sort();
            // Named after its payer: the funder most members share, else
            // the most common name.
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for m in &members {
                for name in &m.funders {
                    *counts.entry(name.as_str()).or_default() += 1;
                }
            }
            if counts.is_empty() {
                for m in &members {
                    for name in &m.names {
                        *counts.entry(name.as_str()).or_default() += 1;
                    }
                }
            }
            let name = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(n, _)| (*n).to_owned())
                .unwrap_or_else(|| members[0].key.clone());
            let mut platforms: Vec<String> = members.iter().map(|m| m.platform.clone()).collect();
            platforms.sort();
            platforms.dedup();
            Entity {
                id: entity_id(&members[0].key),
                name,
                platforms,
                name_only_links: links.iter().any(|l| l.name_only),
                members,
                links,
            }
        })
        .collect()
}

/// The id of the entity whose first member (in key order) is `key`.
pub fn entity_id(key: &str) -> String {
    let hash = blake3::hash(key.as_bytes()).to_hex();
    format!("adv-{}", &hash.as_str()[..16])
}

/// An entity with its spend: ad-level sums and report-level figures, per
/// platform identity and overall, never mixed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntityDetail {
    /// The entity, its members and the evidence that joins them.
    #[serde(flatten)]
    pub entity: Entity,
    /// Ad-level sums per member, labelled by origin.
    pub ads: IdentityTotals<crate::spend::GroupTotal>,
    /// Report-level figures per member (advertiser reports), labelled by
    /// origin.
    pub reports: IdentityTotals<crate::spend::reports::ReportGroup>,
}

/// Totals per platform identity, and overall per currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityTotals<G> {
    /// What the figures are.
    pub origin: String,
    /// One group per member that has figures, keyed by the member's key.
    pub by_identity: Vec<G>,
    /// Per platform and currency: summed lower and upper bounds (`None`
    /// when some ad's spend is open-ended).
    pub by_platform: Vec<PlatformTotal>,
    /// Per currency over every member.
    pub overall: Vec<PlatformTotal>,
}

/// A sum in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformTotal {
    /// The platform, or `all`.
    pub platform: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of lower bounds.
    pub lower: u128,
    /// Sum of upper bounds; absent when one is open-ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<u128>,
}

fn add_total(
    totals: &mut Vec<PlatformTotal>,
    platform: &str,
    currency: &str,
    lower: u128,
    upper: Option<u128>,
) {
    match totals
        .iter_mut()
        .find(|t| t.platform == platform && t.currency == currency)
    {
        Some(t) => {
            t.lower += lower;
            t.upper = t.upper.zip(upper).map(|(a, b)| a + b);
        }
        None => totals.push(PlatformTotal {
            platform: platform.to_owned(),
            currency: currency.to_owned(),
            lower,
            upper,
        }),
    }
}

/// Every entity, those whose names, keys or identifiers contain `query`
/// (folded) when given, on
/// any of `platforms` when given; largest first (most identities, then
/// name).
pub fn list_entities(
    archive: &crate::archive::Archive,
    query: Option<&str>,
    platforms: &[String],
) -> crate::error::Result<Vec<Entity>> {
    let all = entities(archive.advertiser_identities()?);
    Ok(find_entities(&all, query, platforms)
        .into_iter()
        .cloned()
        .collect())
}

/// The entities of `all` that match, as [`list_entities`] orders them:
/// for a server that computes the entities once per archive generation.
pub fn find_entities<'a>(
    all: &'a [Entity],
    query: Option<&str>,
    platforms: &[String],
) -> Vec<&'a Entity> {
    let mut folder = NameFolder::new();
    let wanted = query.map(|q| folder.fold(q)).filter(|q| !q.is_empty());
    let mut found: Vec<&Entity> = all
        .iter()
        .filter(|e| {
            let on_platform =
                platforms.is_empty() || e.platforms.iter().any(|p| platforms.contains(p));
            let named = wanted.as_ref().is_none_or(|q| {
                e.members.iter().any(|m| {
                    m.names
                        .iter()
                        .chain(&m.funders)
                        .any(|n| folder.fold(n).contains(q.as_str()))
                        || m.key.to_lowercase().contains(q.as_str())
                        || query.is_some_and(|raw| m.key.eq_ignore_ascii_case(raw.trim()))
                        || m.identifiers.iter().any(|i| {
                            folder
                                .fold(&format!("{} {}", i.kind, i.value))
                                .contains(q.as_str())
                        })
                })
            });
            on_platform && named
        })
        .collect();
    found.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    found
}

/// The entity `id` with its spend, or `None`.
pub fn entity_detail(
    archive: &crate::archive::Archive,
    id: &str,
) -> Result<Option<EntityDetail>, crate::search::SearchError> {
    let identities = archive
        .advertiser_identities()
        .map_err(crate::search::SearchError::Archive)?;
    let Some(entity) = entities(identities).into_iter().find(|e| e.id == id) else {
        return Ok(None);
    };
    detail_of(archive, entity, &crate::search::Deadline::default(), true).map(Some)
}

/// The spend of one entity (see [`entity_detail`]), stopping at
/// `deadline`, spread over every core when `parallel` (see
/// [`crate::search::SearchRequest::parallel`]).
pub fn detail_of(
    archive: &crate::archive::Archive,
    entity: Entity,
    deadline: &crate::search::Deadline,
    parallel: bool,
) -> Result<EntityDetail, crate::search::SearchError> {
    let mut ads = IdentityTotals {
        origin: crate::spend::audit::ADS_ORIGIN.into(),
        by_identity: Vec::new(),
        by_platform: Vec::new(),
        overall: Vec::new(),
    };
    let mut reports = IdentityTotals {
        origin: "reports: figures printed in the platforms' advertiser spend reports".into(),
        by_identity: Vec::new(),
        by_platform: Vec::new(),
        overall: Vec::new(),
    };
    // One aggregation over every ad and one over every report row, keyed
    // like the identities, whatever the number of platforms.
    let platform_of: HashMap<&str, &str> = entity
        .members
        .iter()
        .map(|m| (m.key.as_str(), m.platform.as_str()))
        .collect();
    // When every member in ads has an advertiser id, only their ads are
    // summed; identities known by name alone need every ad looked at.
    let ids: Option<Vec<String>> = entity
        .members
        .iter()
        .filter(|m| m.in_ads)
        .map(|m| m.advertiser_id.clone())
        .collect();
    let mut request = crate::search::SearchRequest {
        deadline: deadline.clone(),
        parallel,
        ..Default::default()
    };
    if let Some(ids) = &ids {
        request.filters.advertiser_id = ids.clone();
        request.filters.platform = entity.platforms.clone();
    }
    if archive.index().is_some() && ids.as_ref().is_none_or(|ids| !ids.is_empty()) {
        let totals = crate::spend::spend_totals(
            archive,
            &request,
            crate::spend::Grouping::Advertiser,
            100_000,
        )?;
        for g in totals.groups {
            let Some(platform) = platform_of.get(g.key.as_str()) else {
                continue;
            };
            for s in &g.spend {
                add_total(
                    &mut ads.by_platform,
                    platform,
                    &s.currency,
                    s.lower,
                    s.upper,
                );
                add_total(&mut ads.overall, "all", &s.currency, s.lower, s.upper);
            }
            ads.by_identity.push(g);
        }
    }
    let query = crate::spend::ReportQuery::default();
    let totals =
        crate::spend::report_totals(archive, &query, crate::spend::Grouping::Advertiser, 100_000)?;
    for g in totals.groups {
        let Some(platform) = platform_of.get(g.key.as_str()) else {
            continue;
        };
        for s in &g.spend {
            add_total(
                &mut reports.by_platform,
                platform,
                &s.currency,
                s.lower,
                Some(s.upper),
            );
            add_total(
                &mut reports.overall,
                "all",
                &s.currency,
                s.lower,
                Some(s.upper),
            );
        }
        reports.by_identity.push(g);
    }
    Ok(EntityDetail {
        entity,
        ads,
        reports,
    })
}
