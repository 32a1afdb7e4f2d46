//! Links into the API, written at the edge from the core's typed values:
//! the core says which ads (a query and filters), and this module alone
//! says how an address names them, with the API's parameter names.
//!
//! ```
//! use adarchive::api::links::export_address;
//! use adarchive::search::Filters;
//! let filters = Filters { country: vec!["NL".into(), "BE".into()], ..Filters::default() };
//! assert_eq!(export_address("klimaat", &filters), "/v1/export?q=klimaat&country=NL%2CBE");
//! ```

use crate::advertisers::EntityDetail;
use crate::search::Filters;
use crate::spend::{GroupTotal, SpendAudit};

/// The query-string pairs of a search, in the API's parameter names and in
/// the order the documentation lists them; lists joined by commas, as the
/// API splits them (one funder, whose name may hold commas).
pub fn search_pairs(query: &str, filters: &Filters) -> Vec<(&'static str, String)> {
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    if !query.is_empty() {
        pairs.push(("q", query.to_owned()));
    }
    for (name, values) in [
        ("platform", &filters.platform),
        ("country", &filters.country),
        ("region", &filters.region),
        ("language", &filters.language),
        ("currency", &filters.currency),
        ("media_type", &filters.media_type),
        ("advertiser_id", &filters.advertiser_id),
        ("gender", &filters.gender),
        ("age", &filters.age),
    ] {
        if !values.is_empty() {
            pairs.push((name, values.join(",")));
        }
    }
    if let Some(funder) = filters.funder.first() {
        pairs.push(("funder", funder.clone()));
    }
    if let Some(active) = filters.active {
        pairs.push(("active", active.to_string()));
    }
    for (name, value) in [("from", filters.from), ("to", filters.to)] {
        if let Some(t) = value {
            pairs.push((name, t.to_string()));
        }
    }
    for (name, value) in [
        ("spend_min", filters.spend_min),
        ("spend_max", filters.spend_max),
        ("impressions_min", filters.impressions_min),
        ("impressions_max", filters.impressions_max),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.to_string()));
        }
    }
    pairs
}

/// `pairs` as a query string.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// The `/v1/export` address of every ad the search finds.
pub fn export_address(query: &str, filters: &Filters) -> String {
    format!("/v1/export?{}", query_string(&search_pairs(query, filters)))
}

/// Gives each group whose ads filters can find its `trace`: the export of
/// exactly those ads.
pub fn link_groups(groups: &mut [GroupTotal], query: &str) {
    for group in groups {
        group.trace = group
            .narrowed
            .as_ref()
            .map(|filters| export_address(query, filters));
    }
}

/// [`link_groups`] for the ad-level groups of a spend audit.
pub fn link_audit(audit: &mut SpendAudit, query: &str) {
    link_groups(&mut audit.groups, query);
}

/// [`link_groups`] for an advertiser's ad-level groups.
pub fn link_entity(detail: &mut EntityDetail) {
    link_groups(&mut detail.ads.by_identity, "");
}
