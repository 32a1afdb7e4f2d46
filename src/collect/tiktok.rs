//! TikTok's Commercial Content API: a client access token from the app's
//! key and secret, the ad query paged by `search_id` while `has_more`, and
//! a detail request for each ad not detailed before.

use serde_json::{json, Value};

use super::whole::WholeRun;
use super::{CollectError, Collection, Fetcher, Import, Summary, Workspace};
use adarchive_importers::redact::redact_text;

/// The API's base.
pub const TIKTOK_API: &str = "https://open.tiktokapis.com/v2";
/// Ads per query page: the most the API gives.
const MAX_COUNT: u64 = 50;
/// The first day the library holds.
const FIRST_DAY: &str = "20221001";
/// Fields of a query page.
const QUERY_FIELDS: &str = "ad.id,ad.first_shown_date,ad.last_shown_date,ad.status,ad.status_statement,ad.videos,ad.image_urls,ad.reach,advertiser.business_id,advertiser.business_name,advertiser.paid_for_by";
/// Fields of a detail answer.
const DETAIL_FIELDS: &str = "ad.id,ad.first_shown_date,ad.last_shown_date,ad.status,ad.status_statement,ad.videos,ad.image_urls,ad.reach,ad.title,ad.external_url,ad.call_to_action,ad.advertising_objective,ad.rejection_info,advertiser.business_id,advertiser.business_name,advertiser.paid_for_by,advertiser.country_code,ad_group.targeting_info";

/// `YYYY-MM-DD` as the API writes days, `YYYYMMDD`.
fn day(date: &str) -> String {
    date.chars().filter(char::is_ascii_digit).collect()
}

/// A client access token; the answer holding it is read in memory only.
fn client_token(
    fetcher: &Fetcher,
    base: &str,
    key: &str,
    secret: &str,
) -> Result<String, CollectError> {
    let form = serde_urlencoded::to_string([
        ("client_key", key),
        ("client_secret", secret),
        ("grant_type", "client_credentials"),
    ])
    .unwrap_or_default();
    let address = format!("{base}/oauth/token/");
    let (answer, bytes) = fetcher.post_in_memory(
        &address,
        &[],
        ("application/x-www-form-urlencoded", form.as_bytes()),
    )?;
    let reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match reply["access_token"].as_str() {
        Some(token) if answer.status == 200 && !token.is_empty() => Ok(token.to_owned()),
        _ => Err(CollectError::Refused(format!(
            "TikTok gave no access token for this client key (HTTP {}): {}",
            answer.status,
            redact_text(
                reply["error_description"]
                    .as_str()
                    .unwrap_or("no reason given")
            )
        ))),
    }
}

/// The API's own error in an answer, if it reports one.
fn api_error(reply: &Value) -> Option<String> {
    let code = reply["error"]["code"].as_str()?;
    (code != "ok").then(|| {
        format!(
            "{code}: {}",
            redact_text(reply["error"]["message"].as_str().unwrap_or(""))
        )
    })
}

/// POSTs the JSON `body` with the access token into `path`; gives the
/// answer and what it says (null when it is not JSON).
fn ask(
    fetcher: &Fetcher,
    address: &str,
    authorization: &str,
    body: &str,
    path: &std::path::Path,
    summary: &mut Summary,
) -> Result<(super::fetch::Answer, Value), CollectError> {
    let answer = fetcher.post(
        address,
        &[("authorization", authorization)],
        ("application/json", body.as_bytes()),
        path,
    )?;
    summary.retries += u64::from(answer.retries);
    let reply = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    Ok((answer, reply))
}

pub(super) fn collect(
    collection: &Collection,
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    client: (&str, &str),
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let base = collection.base(TIKTOK_API);
    let query = &collection.meta;
    let country = query
        .ad_reached_countries
        .first()
        .cloned()
        .unwrap_or_else(|| "ALL".into());
    let today = time::OffsetDateTime::now_utc().date();
    let mut body = json!({
        "filters": {
            "ad_published_date_range": {
                "min": query.ad_delivery_date_min.as_deref().map_or(FIRST_DAY.to_owned(), day),
                "max": query.ad_delivery_date_max.as_deref().map_or_else(
                    || format!("{:04}{:02}{:02}", today.year(), u8::from(today.month()), today.day()),
                    day,
                ),
            },
            "country_code": country,
        },
        "max_count": query.limit.map_or(MAX_COUNT, u64::from).min(MAX_COUNT),
    });
    if let Some(terms) = &query.search_terms {
        body["search_term"] = json!(terms);
    }
    if !query.search_page_ids.is_empty() {
        body["filters"]["advertiser_business_ids"] = json!(query.search_page_ids);
    }
    let first = format!("{base}/research/adlib/ad/query/ {body}");
    let (listing, resume) = workspace.listing(&first, summary);
    // A run from the first page lists every ad the query finds: its scope
    // is the query as asked, whose last day, when not given, is the day
    // the run starts.
    let deciding = [
        (
            "search_term",
            query.search_terms.clone().unwrap_or_default(),
        ),
        ("country_code", country.clone()),
        ("advertiser_business_ids", query.search_page_ids.join(",")),
        (
            "min",
            query
                .ad_delivery_date_min
                .as_deref()
                .map(day)
                .unwrap_or_default(),
        ),
        (
            "max",
            query
                .ad_delivery_date_max
                .as_deref()
                .map(day)
                .unwrap_or_default(),
        ),
    ];
    let scope = super::query_scope(
        "tiktok",
        std::slice::from_ref(&country),
        &serde_urlencoded::to_string(deciding).unwrap_or_default(),
    );
    let whole = WholeRun::begin(workspace, &listing, Some(scope), resume.is_some());
    if let Some(search_id) = resume {
        body["search_id"] = json!(search_id);
    }
    let token = client_token(fetcher, &base, client.0, client.1)?;
    let authorization = format!("Bearer {token}");
    let query_address = format!("{base}/research/adlib/ad/query/?fields={QUERY_FIELDS}");
    let detail_address = format!("{base}/research/adlib/ad/detail/?fields={DETAIL_FIELDS}");
    let mut page_number = 0u64;
    loop {
        page_number += 1;
        let name = format!("tiktok-commercial-content-{listing}-{page_number:05}.json");
        let path = workspace.file(&name);
        let sent = body.to_string();
        let (answer, reply) = ask(
            fetcher,
            &query_address,
            &authorization,
            &sent,
            &path,
            summary,
        )?;
        if answer.status != 200 || api_error(&reply).is_some() {
            let _ = std::fs::remove_file(&path);
            return Err(CollectError::Refused(format!(
                "TikTok refused the query (HTTP {}): {}",
                answer.status,
                api_error(&reply).unwrap_or_else(|| "no reason given".into())
            )));
        }
        let ids: Vec<u64> = reply["data"]["ads"]
            .as_array()
            .map(|ads| ads.iter().filter_map(|a| a["ad"]["id"].as_u64()).collect())
            .unwrap_or_default();
        let more = reply["data"]["has_more"].as_bool().unwrap_or(false);
        let search_id = reply["data"]["search_id"].as_str().map(str::to_owned);
        let last = !(more && search_id.is_some());
        let completes = whole.completes(workspace, last);
        let archived = super::hand_in(
            path,
            &format!("POST {query_address} {sent}"),
            &name,
            completes,
            import,
        )?;
        summary.pages += 1;
        if !last {
            whole.archived(workspace, archived);
        }
        for id in ids {
            if !workspace.state.detailed.insert(id) {
                continue;
            }
            let name = format!("tiktok-commercial-content-ad-{id}.json");
            let path = workspace.file(&name);
            let asked = json!({"ad_id": id}).to_string();
            let (answer, reply) = ask(
                fetcher,
                &detail_address,
                &authorization,
                &asked,
                &path,
                summary,
            )?;
            if answer.status != 200 || api_error(&reply).is_some() {
                let _ = std::fs::remove_file(&path);
                workspace.state.detailed.remove(&id);
                summary.failures.push(format!(
                    "the detail of TikTok ad {id} (HTTP {}): {}",
                    answer.status,
                    api_error(&reply).unwrap_or_else(|| "no reason given".into())
                ));
                continue;
            }
            super::hand_in(
                path,
                &format!("POST {detail_address} {asked}"),
                &name,
                None,
                import,
            )?;
            summary.pages += 1;
        }
        match (more, search_id) {
            (true, Some(search_id)) => {
                body["search_id"] = json!(search_id);
                workspace
                    .state
                    .unfinished
                    .insert(listing.clone(), search_id);
                workspace.save()?;
            }
            _ => {
                whole.end(workspace);
                workspace.state.unfinished.remove(&listing);
                return workspace.save();
            }
        }
    }
}
