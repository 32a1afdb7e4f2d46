//! What the pages show, prepared from the core's answers: plain texts and
//! addresses, which the templates escape. Nothing here knows HTTP.

use adarchive_schema::Ad;

use super::format::{count_range, counted, cut, shown, spend, thousands};
use crate::api::links::{query_string, search_pairs};
use crate::search::{Filters, Hit, SearchResponse, Snippet, Sort};

/// A run of text, marked where the query matched.
pub struct Segment {
    /// The text.
    pub text: String,
    /// Whether the query matched it.
    pub mark: bool,
}

/// `text` cut into segments at the byte ranges that matched.
pub fn segments(text: &str, highlights: &[(usize, usize)]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(start, end) in highlights {
        let (Some(before), Some(marked)) = (text.get(at..start), text.get(start..end)) else {
            continue;
        };
        if !before.is_empty() {
            out.push(Segment {
                text: before.to_owned(),
                mark: false,
            });
        }
        out.push(Segment {
            text: marked.to_owned(),
            mark: true,
        });
        at = end;
    }
    if let Some(rest) = text.get(at..) {
        if !rest.is_empty() {
            out.push(Segment {
                text: rest.to_owned(),
                mark: false,
            });
        }
    }
    out
}

/// One result card.
pub struct Card {
    pub uid: String,
    pub href: String,
    pub platform: String,
    pub advertiser: String,
    pub paid_for_by: Option<String>,
    /// The creative text, with the query's matches marked.
    pub text: Vec<Segment>,
    /// The language of the text, for `lang`.
    pub lang: Option<String>,
    pub shown: String,
    pub spend: Vec<String>,
    pub impressions: Option<String>,
    pub countries: String,
    /// For an ad the platform's complete listings left out: its status
    /// and how it reads.
    pub gone: Option<(&'static str, &'static str)>,
}

/// The first creative text of an ad.
fn creative_text(ad: &Ad) -> Option<&str> {
    let c = &ad.creative;
    c.bodies
        .iter()
        .chain(&c.titles)
        .chain(&c.descriptions)
        .chain(&c.captions)
        .map(String::as_str)
        .find(|t| !t.trim().is_empty())
}

impl Card {
    /// The card of one result, whose listing status is `status`.
    pub fn of(hit: &Hit, status: crate::archive::AdStatus) -> Self {
        let ad = &hit.ad;
        let snippet: Option<&Snippet> = hit.snippets.iter().find(|s| s.field == "creative");
        let text = match snippet {
            Some(s) => segments(&s.fragment, &s.highlights),
            None => segments(&cut(creative_text(ad).unwrap_or_default(), 300), &[]),
        };
        Card {
            uid: ad.uid.clone(),
            href: ad_href(&ad.uid),
            platform: ad.platform.display_name().to_owned(),
            advertiser: ad
                .advertiser
                .name
                .clone()
                .or_else(|| ad.advertiser.id.clone())
                .unwrap_or_else(|| "advertiser not published".into()),
            paid_for_by: ad
                .funder
                .clone()
                .or_else(|| (!ad.payers.is_empty()).then(|| ad.payers.join("; "))),
            text,
            lang: ad.languages.first().cloned(),
            shown: shown(ad.first_shown.as_ref(), ad.last_shown.as_ref()),
            spend: ad.spend.iter().map(spend).collect(),
            impressions: ad.impressions.as_ref().map(count_range),
            countries: ad.countries.join(", "),
            gone: match status {
                crate::archive::AdStatus::MissingOnce => {
                    Some(("missing_once", "Missing from the latest listing"))
                }
                crate::archive::AdStatus::Vanished => {
                    Some(("vanished", "Vanished from the listings"))
                }
                _ => None,
            },
        }
    }
}

/// The address of an ad's page: the uid as one path segment, every byte
/// but letters, digits and `-._~:` percent-encoded.
///
/// ```
/// use adarchive::web::views::ad_href;
/// assert_eq!(ad_href("snap:ab12"), "/ads/snap:ab12");
/// assert_eq!(ad_href("x:a/b?c"), "/ads/x:a%2Fb%3Fc");
/// ```
pub fn ad_href(uid: &str) -> String {
    let mut out = String::from("/ads/");
    for b in uid.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One value of a facet: a link that adds the filter, or removes it.
pub struct FacetLink {
    pub value: String,
    pub count: String,
    pub href: String,
    pub active: bool,
}

/// One facet of the sidebar.
pub struct Facet {
    pub label: &'static str,
    pub values: Vec<FacetLink>,
}

/// The facets the search page shows: label, facet name, and the filter
/// each value toggles.
pub const PAGE_FACETS: &[(&str, &str)] = &[
    ("Platform", "platform"),
    ("Country", "country"),
    ("Language", "language"),
    ("Media type", "media_type"),
    ("Currency", "currency"),
    ("In the listings", "status"),
];

/// The values a list filter holds, by its facet's name.
fn filter_values<'a>(filters: &'a mut Filters, facet: &str) -> Option<&'a mut Vec<String>> {
    Some(match facet {
        "platform" => &mut filters.platform,
        "country" => &mut filters.country,
        "language" => &mut filters.language,
        "media_type" => &mut filters.media_type,
        "currency" => &mut filters.currency,
        "status" => &mut filters.status,
        _ => return None,
    })
}

/// The search page's address for a query, filters and sort.
pub fn page_href(query: &str, filters: &Filters, sort: Option<Sort>) -> String {
    let mut pairs = search_pairs(query, filters);
    if let Some(sort) = sort {
        pairs.push(("sort", sort.to_string()));
    }
    if pairs.is_empty() {
        "/".into()
    } else {
        format!("/?{}", query_string(&pairs))
    }
}

/// The sidebar: every counted facet, its values linking to the same
/// search with that value added or removed.
pub fn facets(
    response: &SearchResponse,
    query: &str,
    filters: &Filters,
    sort: Option<Sort>,
) -> Vec<Facet> {
    PAGE_FACETS
        .iter()
        .filter_map(|&(label, name)| {
            let counted = response.facets.get(name)?;
            let values = counted
                .iter()
                .map(|v| {
                    let mut next = filters.clone();
                    let list = filter_values(&mut next, name).map(|l| {
                        let active = l.iter().any(|s| s.eq_ignore_ascii_case(&v.value));
                        if active {
                            l.retain(|s| !s.eq_ignore_ascii_case(&v.value));
                        } else {
                            l.push(v.value.clone());
                        }
                        active
                    });
                    FacetLink {
                        value: shown_value(name, &v.value),
                        count: thousands(v.count),
                        href: page_href(query, &next, sort),
                        active: list.unwrap_or(false),
                    }
                })
                .collect();
            Some(Facet { label, values })
        })
        .collect()
}

/// A facet value as people read it: platforms by their names.
fn shown_value(facet: &str, value: &str) -> String {
    match (facet, value.parse::<adarchive_schema::Platform>()) {
        ("platform", Ok(p)) => p.display_name().to_owned(),
        ("status", _) => status_label(value).to_owned(),
        _ => value.to_owned(),
    }
}

/// A listing status as people read it.
pub fn status_label(status: &str) -> &str {
    match status {
        "listed" => "Listed",
        "missing_once" => "Missing once",
        "vanished" => "Vanished",
        "unknown" => "Never in a full listing",
        other => other,
    }
}

/// "2,702 ads".
pub fn total(n: u64) -> String {
    counted(n, "ad", "ads")
}
