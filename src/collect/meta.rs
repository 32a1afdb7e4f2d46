//! Meta's Ad Library API: `GET /ads_archive` with the documented
//! parameters, following `paging.next`, waiting out rate limits, resuming
//! an unfinished listing.

use std::time::Duration;

use adarchive_importers::redact::{redact_text, strip_access_token};
use serde::Deserialize;

use super::whole::WholeRun;
use super::{CollectError, Collection, Fetcher, Import, Summary, Workspace};

/// The Graph API, at the version whose fields adarchive reads.
pub const META_GRAPH: &str = "https://graph.facebook.com/v21.0";
/// Error codes with which Meta says to slow down: application, user and
/// ads-archive request limits, and business-use-case limits.
pub const RATE_LIMIT_CODES: [i64; 4] = [4, 17, 613, 80004];
/// Rate-limit waits one page may take before the run gives up.
const RATE_LIMIT_WAITS: u32 = 10;
/// The longest wait for a rate limit the run accepts.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The `ads_archive` query, by the API's parameter names.
#[derive(Clone, Debug, Default)]
pub struct MetaQuery {
    /// `ad_reached_countries` (required by the API).
    pub ad_reached_countries: Vec<String>,
    /// `search_terms`.
    pub search_terms: Option<String>,
    /// `search_page_ids`.
    pub search_page_ids: Vec<String>,
    /// `ad_type` (default `POLITICAL_AND_ISSUE_ADS`).
    pub ad_type: Option<String>,
    /// `ad_active_status`: `ALL` (the default here, where Meta's is
    /// `ACTIVE`: an archive keeps the ads that stopped too), `ACTIVE` or
    /// `INACTIVE`.
    pub ad_active_status: Option<String>,
    /// `ad_delivery_date_min` (YYYY-MM-DD).
    pub ad_delivery_date_min: Option<String>,
    /// `ad_delivery_date_max` (YYYY-MM-DD).
    pub ad_delivery_date_max: Option<String>,
    /// `fields` (default: every field adarchive reads).
    pub fields: Option<String>,
    /// `limit`, ads per page.
    pub limit: Option<u32>,
}

/// Days as the API writes them.
const DAY: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// The fields asked for by default: those of the Graph API v21 that the
/// meta-ads-archive importer reads.
const FIELDS: &str = "id,ad_creation_time,ad_creative_bodies,ad_creative_link_captions,ad_creative_link_descriptions,ad_creative_link_titles,ad_delivery_start_time,ad_delivery_stop_time,ad_snapshot_url,age_country_gender_reach_breakdown,beneficiary_payers,br_total_reach,bylines,currency,delivery_by_region,demographic_distribution,estimated_audience_size,eu_total_reach,impressions,languages,page_id,page_name,publisher_platforms,spend,target_ages,target_gender,target_locations";

impl MetaQuery {
    /// The query's parameters, in a fixed order.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let mut pairs = vec![
            ("ad_reached_countries", list(&self.ad_reached_countries)),
            (
                "ad_type",
                self.ad_type
                    .clone()
                    .unwrap_or_else(|| "POLITICAL_AND_ISSUE_ADS".into()),
            ),
        ];
        pairs.push((
            "ad_active_status",
            self.ad_active_status
                .clone()
                .unwrap_or_else(|| "ALL".into()),
        ));
        if let Some(terms) = &self.search_terms {
            pairs.push(("search_terms", terms.clone()));
        }
        if !self.search_page_ids.is_empty() {
            pairs.push(("search_page_ids", self.search_page_ids.join(",")));
        }
        if let Some(min) = &self.ad_delivery_date_min {
            pairs.push(("ad_delivery_date_min", min.clone()));
        }
        if let Some(max) = &self.ad_delivery_date_max {
            pairs.push(("ad_delivery_date_max", max.clone()));
        }
        pairs.push((
            "fields",
            self.fields.clone().unwrap_or_else(|| FIELDS.into()),
        ));
        pairs.push(("limit", self.limit.unwrap_or(250).to_string()));
        pairs
    }
}

impl MetaQuery {
    /// The scope of which a run of this query from its first page to its
    /// last is a complete listing: `meta:query:<countries>:<digest>`, the
    /// digest of every parameter that decides which ads it finds (not the
    /// fields asked for, nor the page size). `None` for a query of active
    /// ads only, which loses every ad that stops running: that is no news.
    ///
    /// ```
    /// use adarchive::collect::MetaQuery;
    /// let query = MetaQuery {
    ///     ad_reached_countries: vec!["NL".into(), "BE".into()],
    ///     search_terms: Some("klimaat".into()),
    ///     ..MetaQuery::default()
    /// };
    /// let scope = query.listing_scope().unwrap();
    /// assert!(scope.starts_with("meta:query:NL-BE:"));
    /// let smaller_pages = MetaQuery { limit: Some(50), ..query.clone() };
    /// assert_eq!(smaller_pages.listing_scope(), Some(scope.clone()));
    /// let other_words = MetaQuery { search_terms: Some("zorg".into()), ..query.clone() };
    /// assert_ne!(other_words.listing_scope(), Some(scope));
    /// let active = MetaQuery { ad_active_status: Some("ACTIVE".into()), ..query };
    /// assert_eq!(active.listing_scope(), None);
    /// ```
    pub fn listing_scope(&self) -> Option<String> {
        let status = self.ad_active_status.as_deref().unwrap_or("ALL");
        if status.eq_ignore_ascii_case("ACTIVE") {
            return None;
        }
        let deciding: Vec<(&str, String)> = self
            .pairs()
            .into_iter()
            .filter(|(name, _)| !matches!(*name, "fields" | "limit"))
            .collect();
        Some(super::query_scope(
            "meta",
            &self.ad_reached_countries,
            &serde_urlencoded::to_string(&deciding).unwrap_or_default(),
        ))
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    paging: Option<Paging>,
    #[serde(default)]
    error: Option<GraphError>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
}

/// The wait Meta's `X-Business-Use-Case-Usage` header announces, the
/// longest `estimated_time_to_regain_access` (minutes) in it.
pub(crate) fn regain_access(header: Option<&str>) -> Option<Duration> {
    let usage: serde_json::Value = serde_json::from_str(header?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    Some(Duration::from_secs(minutes * 60))
}

pub(super) fn collect(
    collection: &Collection,
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    token: &str,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let mut query = collection.meta.clone();
    if query.ad_reached_countries.is_empty() {
        return Err(CollectError::Missing(
            "meta-ads-archive needs ad_reached_countries: --country NL (repeatable)".into(),
        ));
    }
    // After a complete run, the next asks only for the ads delivered since
    // the day before it: ads still running are among them, with what
    // changed; an ad that stopped before then no longer changes.
    let query_key = format!(
        "{}/ads_archive?{}",
        collection.base(META_GRAPH),
        serde_urlencoded::to_string(query.pairs()).unwrap_or_default()
    );
    let today = time::OffsetDateTime::now_utc().date();
    if query.ad_delivery_date_min.is_none() && !collection.whole {
        if let Some(last) = workspace.state.completed.get(&query_key) {
            let since = time::Date::parse(last, DAY)
                .ok()
                .and_then(|d| d.previous_day())
                .and_then(|d| d.format(DAY).ok());
            summary.since.clone_from(&since);
            query.ad_delivery_date_min = since;
        }
    }
    let first = format!(
        "{}/ads_archive?{}",
        collection.base(META_GRAPH),
        serde_urlencoded::to_string(query.pairs()).unwrap_or_default()
    );
    // A listing is known by its first address: the same query resumes.
    let (listing, resume) = workspace.listing(&first, summary);
    // A run of the whole query, from its first page, is a complete listing
    // of it; one asking only for what was delivered since is not. The
    // pages are remembered as they are archived, so a resumed run is one.
    let scope = query.listing_scope().filter(|_| summary.since.is_none());
    let whole = WholeRun::begin(workspace, &listing, scope, resume.is_some());
    let mut next = resume.unwrap_or(first);
    let authorization = format!("Bearer {token}");
    let mut page_number = 0u64;
    loop {
        page_number += 1;
        // Meta writes the caller's token into every `paging.next`; it is
        // sent in a header instead, and never written down.
        let address = strip_access_token(&next);
        let name = format!("meta-ads-archive-{listing}-{page_number:05}.json");
        let path = workspace.file(&name);
        let mut waits = 0;
        let page: Page = loop {
            let answer = fetcher.get(&address, &[("authorization", &authorization)], &path)?;
            summary.retries += u64::from(answer.retries);
            let bytes = std::fs::read(&path).map_err(|e| CollectError::State {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let page: Page = match serde_json::from_slice(&bytes) {
                Ok(p) => p,
                Err(e) if answer.status == 200 => {
                    return Err(CollectError::Refused(format!(
                        "{}: the answer is not a page of ads: {e}",
                        redact_text(&address)
                    )))
                }
                Err(_) => Page {
                    paging: None,
                    error: Some(GraphError {
                        message: format!("HTTP {}", answer.status),
                        code: 0,
                    }),
                },
            };
            match &page.error {
                None if answer.status == 200 => break page,
                Some(error)
                    if RATE_LIMIT_CODES.contains(&error.code) && waits < RATE_LIMIT_WAITS =>
                {
                    waits += 1;
                    summary.rate_limited += 1;
                    let announced = regain_access(answer.header("x-business-use-case-usage"));
                    let backoff = fetcher.patience().backoff * 2u32.saturating_pow(waits.min(8));
                    let wait = announced
                        .unwrap_or(backoff)
                        .max(fetcher.patience().backoff)
                        .min(LONGEST_WAIT);
                    (fetcher.on_retry)(wait, &format!("rate limited (code {})", error.code));
                    std::thread::sleep(wait);
                }
                Some(error) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(CollectError::Refused(format!(
                        "Meta refused {}: {} (code {})",
                        redact_text(&address),
                        redact_text(&error.message),
                        error.code
                    )));
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                    return Err(CollectError::Refused(format!(
                        "{}: HTTP {}",
                        redact_text(&address),
                        answer.status
                    )));
                }
            }
        };
        let following = page.paging.and_then(|p| p.next);
        let completes = whole.completes(workspace, following.is_none());
        let archived = super::hand_in(path, &address, &name, completes, import)?;
        summary.pages += 1;
        match following {
            Some(following) => {
                next = strip_access_token(&following);
                workspace
                    .state
                    .unfinished
                    .insert(listing.clone(), next.clone());
                whole.archived(workspace, archived);
                workspace.save()?;
            }
            None => {
                workspace.state.unfinished.remove(&listing);
                whole.end(workspace);
                if let Ok(day) = today.format(DAY) {
                    workspace.state.completed.insert(query_key, day);
                }
                workspace.save()?;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_wait_is_the_longest_in_the_header() {
        let header = r#"{"1234":[{"type":"ads_archive","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":7},{"type":"ads_management","estimated_time_to_regain_access":2}]}"#;
        assert_eq!(regain_access(Some(header)), Some(Duration::from_secs(420)));
        assert_eq!(regain_access(Some("not json")), None);
        assert_eq!(regain_access(None), None);
    }

    #[test]
    fn parameters_are_the_documented_ones() {
        let query = MetaQuery {
            ad_reached_countries: vec!["NL".into(), "BE".into()],
            search_terms: Some("*".into()),
            limit: Some(50),
            ..MetaQuery::default()
        };
        let encoded = serde_urlencoded::to_string(query.pairs()).unwrap();
        assert!(encoded.starts_with("ad_reached_countries=%5B%22NL%22%2C%22BE%22%5D&ad_type=POLITICAL_AND_ISSUE_ADS&ad_active_status=ALL&search_terms=*"), "{encoded}");
        assert!(encoded.ends_with("&limit=50"));
        assert!(!encoded.contains("access_token"));
    }
}
