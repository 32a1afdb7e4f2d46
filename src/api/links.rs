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

/// The query-string pairs of a search: `q`, then the filters (see
/// [`Filters::pairs`]).
pub fn search_pairs(query: &str, filters: &Filters) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if !query.is_empty() {
        pairs.push(("q", query.to_owned()));
    }
    pairs.extend(filters.pairs());
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
