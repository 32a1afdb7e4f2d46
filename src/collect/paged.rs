//! Libraries paged by offset: Microsoft's Ad Library (`top`/`skip`, OData)
//! and LinkedIn's (`start`/`count`, Rest.li). Each page is fetched, handed
//! in, and the next one remembered until the listing ends.

use serde_json::Value;

use super::whole::WholeRun;
use super::{CollectError, Collection, Fetcher, Import, Summary, Workspace};
use adarchive_importers::redact::redact_text;

/// Microsoft's Ad Library API.
pub const MICROSOFT_AD_LIBRARY: &str = "https://adlibrary.api.bingads.microsoft.com/api/v1";
/// LinkedIn's REST API.
pub const LINKEDIN_REST: &str = "https://api.linkedin.com/rest";
/// The LinkedIn API version asked for (`LinkedIn-Version`, YYYYMM).
pub const LINKEDIN_VERSION: &str = "202409";
/// Ads per Microsoft page: the most the API gives.
const MICROSOFT_TOP: u64 = 24;
/// Ads per LinkedIn page.
const LINKEDIN_COUNT: u64 = 25;

/// How one library pages.
struct Paging {
    /// The address of the page at `offset`.
    page_at: Box<dyn Fn(u64) -> String>,
    /// Items per page.
    size: u64,
    /// How many items a page holds, and the total it announces.
    read: fn(&Value) -> (u64, Option<u64>),
    headers: Vec<(&'static str, String)>,
    /// The file-name prefix of its pages.
    prefix: &'static str,
    /// The scope of which a run from the first page to the last is a
    /// complete listing (see [`super::query_scope`]).
    scope: String,
}

fn odata(page: &Value) -> (u64, Option<u64>) {
    let items = page["value"].as_array().map_or(0, |v| v.len() as u64);
    (items, page["@odata.count"].as_u64())
}

fn restli(page: &Value) -> (u64, Option<u64>) {
    let items = page["elements"].as_array().map_or(0, |v| v.len() as u64);
    (items, page["paging"]["total"].as_u64())
}

pub(super) fn microsoft(
    collection: &Collection,
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let query = &collection.meta;
    let base = collection.base(MICROSOFT_AD_LIBRARY);
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(text) = &query.search_terms {
        pairs.push(("searchText", text.clone()));
    }
    if !query.ad_reached_countries.is_empty() {
        // Microsoft's own numeric country codes, as its documentation lists them.
        pairs.push(("countryCodes", query.ad_reached_countries.join(",")));
    }
    if let Some(id) = query.search_page_ids.first() {
        pairs.push(("advertiserId", id.clone()));
    }
    if let Some(min) = &query.ad_delivery_date_min {
        pairs.push(("startDate", min.clone()));
    }
    if let Some(max) = &query.ad_delivery_date_max {
        pairs.push(("endDate", max.clone()));
    }
    let fixed = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let scope = super::query_scope("microsoft", &query.ad_reached_countries, &fixed);
    let paging = Paging {
        page_at: Box::new(move |offset| {
            let sep = if fixed.is_empty() { "" } else { "&" };
            format!("{base}/Ads?{fixed}{sep}top={MICROSOFT_TOP}&skip={offset}")
        }),
        size: MICROSOFT_TOP,
        read: odata,
        headers: Vec::new(),
        prefix: "microsoft-ad-library",
        scope,
    };
    follow(paging, fetcher, workspace, import, summary)
}

pub(super) fn linkedin(
    collection: &Collection,
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    token: &str,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let query = &collection.meta;
    let base = collection.base(LINKEDIN_REST);
    let mut pairs: Vec<(&str, String)> = vec![("q", "criteria".into())];
    if let Some(text) = &query.search_terms {
        pairs.push(("keyword", text.clone()));
    }
    if let Some(advertiser) = query.search_page_ids.first() {
        pairs.push(("advertiser", advertiser.clone()));
    }
    let mut fixed = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if !query.ad_reached_countries.is_empty() {
        // Rest.li lists are written in the query as they are, not encoded.
        let countries: Vec<String> = query
            .ad_reached_countries
            .iter()
            .map(|c| format!("urn%3Ali%3Acountry%3A{}", c.to_ascii_lowercase()))
            .collect();
        fixed.push_str(&format!("&countries=List({})", countries.join(",")));
    }
    let scope = super::query_scope("linkedin", &query.ad_reached_countries, &fixed);
    let paging = Paging {
        page_at: Box::new(move |offset| {
            format!("{base}/adLibrary?{fixed}&start={offset}&count={LINKEDIN_COUNT}")
        }),
        size: LINKEDIN_COUNT,
        read: restli,
        headers: vec![
            ("authorization", format!("Bearer {token}")),
            ("linkedin-version", LINKEDIN_VERSION.into()),
            ("x-restli-protocol-version", "2.0.0".into()),
        ],
        prefix: "linkedin-ad-library",
        scope,
    };
    follow(paging, fetcher, workspace, import, summary)
}

/// Fetches page after page from the remembered one, until a page is short,
/// empty, or reaches the announced total. Every run starts from the first
/// page, so a run to the end is a complete listing of the query.
fn follow(
    paging: Paging,
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let (listing, resume) = workspace.listing(&(paging.page_at)(0), summary);
    let mut offset = resume.as_ref().and_then(|r| r.parse().ok()).unwrap_or(0);
    let whole = WholeRun::begin(
        workspace,
        &listing,
        Some(paging.scope.clone()),
        resume.is_some(),
    );
    let headers: Vec<(&str, &str)> = paging
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    loop {
        let address = (paging.page_at)(offset);
        let name = format!("{}-{listing}-{offset:07}.json", paging.prefix);
        let path = workspace.file(&name);
        let answer = fetcher.get(&address, &headers, &path)?;
        summary.retries += u64::from(answer.retries);
        let bytes = std::fs::read(&path).map_err(|e| CollectError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let page: Value = match (answer.status, serde_json::from_slice(&bytes)) {
            (200, Ok(page)) => page,
            (status, _) => {
                let _ = std::fs::remove_file(&path);
                let said = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                return Err(CollectError::Refused(format!(
                    "{}: HTTP {status}: {}",
                    redact_text(&address),
                    redact_text(&said)
                )));
            }
        };
        let (items, total) = (paging.read)(&page);
        if items == 0 {
            let _ = std::fs::remove_file(&path);
            whole.ended_on_empty_answer(workspace, &address, import)?;
            whole.end(workspace);
            workspace.state.unfinished.remove(&listing);
            return workspace.save();
        }
        offset += items;
        let ended = items < paging.size || total.is_some_and(|t| offset >= t);
        let completes = whole.completes(workspace, ended);
        if !ended {
            whole.hold(workspace, &path);
        }
        let archived = super::hand_in(path, &address, &name, completes, import)?;
        summary.pages += 1;
        if ended {
            whole.end(workspace);
            workspace.state.unfinished.remove(&listing);
        } else {
            whole.archived(workspace, archived);
            workspace
                .state
                .unfinished
                .insert(listing.clone(), offset.to_string());
        }
        workspace.save()?;
        if ended {
            return Ok(());
        }
    }
}
