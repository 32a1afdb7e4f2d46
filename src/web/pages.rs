//! The page handlers: each reads the same parameters as its JSON twin,
//! runs the same core call, and renders a template.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::format::{counted, cut, day, moment, percent, thousands};
use super::views::{ad_href, facets, page_href, total, Card, Facet, FacetLink};
use crate::api::error::ApiError;
use crate::api::links::{query_string, search_pairs};
use crate::api::params::AdsParams;
use crate::api::routes::{deadline, heavy, sort_param, AppState};
use crate::archive::{Archive, Observation, SourceEntry};
use crate::search::collect::TimelineCounts;
use crate::search::{search, Filters, SearchRequest, Sort};
use crate::spend::Grouping;

/// The pages run no script and load nothing from elsewhere: styles and
/// images come from this server only, forms submit only to it.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Facets counted for the sidebar.
const SIDEBAR_FACETS: &[&str] = &[
    "platform",
    "country",
    "language",
    "media_type",
    "currency",
    "status",
];

/// How much of a raw row a page shows.
const RAW_SHOWN: u64 = 16 * 1024;

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>This page could not be made.</p>".into(),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    title: String,
    detail: String,
}

/// An error as a page: the same status and words as the API's problem.
pub(super) fn problem_page(e: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let problem = e.problem();
    render(
        e.status_code(),
        &ProblemPage {
            title: problem.title,
            detail: problem.detail,
        },
    )
}

/// One choice of the order menu.
struct SortOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// One bar of the chart, and its row in the table beside it.
struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    label: String,
    count: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    query: String,
    from: String,
    to: String,
    currency: String,
    spend_min: String,
    spend_max: String,
    refined: bool,
    sorts: Vec<SortOption>,
    /// Filters the form has no field for, kept when it is submitted.
    hidden_filters: Vec<(&'static str, String)>,
    problem: Option<String>,
    total: String,
    facets: Vec<Facet>,
    active: Vec<FacetLink>,
    cards: Vec<Card>,
    next_href: Option<String>,
    export_csv: String,
    /// The Atom feed of this search.
    feed_href: String,
    export_ndjson: String,
    json_href: String,
    chart: Vec<Bar>,
    chart_width: u32,
}

/// What one search page needs from the core.
struct Found {
    response: crate::search::SearchResponse,
    /// Per result, whether the listings still hold it.
    statuses: Vec<crate::archive::AdStatus>,
    running: u64,
    ended: u64,
    months: Vec<(String, u64)>,
}

fn sort_options(current: Option<Sort>) -> Vec<SortOption> {
    let current = current.map(|s| s.to_string());
    [
        ("", "Best match with words, else newest"),
        ("relevance:desc", "Best match"),
        ("first_shown:desc", "Newest first"),
        ("first_shown:asc", "Oldest first"),
        ("last_shown:desc", "Last shown, latest first"),
        ("impressions:desc", "Most impressions"),
        ("spend_lower:desc", "Most spend (needs one currency)"),
    ]
    .into_iter()
    .map(|(value, label)| SortOption {
        value,
        label,
        selected: current.as_deref().unwrap_or_default() == value,
    })
    .collect()
}

fn chart(months: &[(String, u64)]) -> (Vec<Bar>, u32) {
    let most = months.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            let height = ((*n as f64 / most as f64) * 58.0).round() as u32;
            Bar {
                x: i as u32 * 10,
                y: 60 - height,
                width: 8,
                height,
                label: label.clone(),
                count: thousands(*n),
            }
        })
        .collect();
    (bars, (months.len() as u32 * 10).max(10))
}

/// Filters that have no field in the form, as hidden inputs.
fn hidden(filters: &Filters) -> Vec<(&'static str, String)> {
    filters
        .pairs()
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                *name,
                "from" | "to" | "currency" | "spend_min" | "spend_max"
            )
        })
        .collect()
}

/// `/`: the search page, for the same parameters as `/v1/ads`.
pub async fn search_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let answer = async { Ok(searched_page(&req, &state).await) };
    crate::api::routes::through_cache(&state, &req, answer)
        .await
        .unwrap_or_else(|e| problem_page(&e))
}

async fn searched_page(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let given = given_query(req);
    let query_text = serde_urlencoded::to_string(&given).unwrap_or_default();
    let mut params: AdsParams = match serde_urlencoded::from_str(&query_text) {
        Ok(p) => p,
        Err(e) => {
            return problem_page(&crate::api::error::query_error(
                actix_web::error::QueryPayloadError::Deserialize(e),
            ))
        }
    };
    let parsed = params
        .take_filters()
        .and_then(|(q, f)| Ok((q, f, sort_param(params.sort.as_deref())?)));
    let (query, filters, sort) = match parsed {
        Ok(p) => p,
        Err(e) => return problem_page(&e),
    };
    let form_value = |v: Option<String>| v.unwrap_or_default();
    let mut page = SearchPage {
        query: query.clone(),
        from: form_value(filters.from.map(|t| day(&t))),
        to: form_value(filters.to.map(|t| day(&t))),
        currency: filters.currency.join(","),
        spend_min: form_value(filters.spend_min.map(|n| n.to_string())),
        spend_max: form_value(filters.spend_max.map(|n| n.to_string())),
        refined: filters.from.is_some()
            || filters.to.is_some()
            || filters.spend_min.is_some()
            || filters.spend_max.is_some()
            || sort.is_some(),
        sorts: sort_options(sort),
        hidden_filters: hidden(&filters),
        problem: None,
        total: String::new(),
        facets: Vec::new(),
        active: Vec::new(),
        cards: Vec::new(),
        next_href: None,
        export_csv: String::new(),
        feed_href: String::new(),
        export_ndjson: String::new(),
        json_href: format!("/v1/ads?{query_text}"),
        chart: Vec::new(),
        chart_width: 10,
    };
    let (deadline, _cancel) = deadline();
    let request = SearchRequest {
        query: query.clone(),
        filters: filters.clone(),
        sort,
        cursor: params.cursor.clone(),
        facets: SIDEBAR_FACETS.iter().map(|f| (*f).to_owned()).collect(),
        deadline,
        ..SearchRequest::default()
    };
    let archive = state.archive.clone();
    let cache = state.timeline_of_all.clone();
    let found = heavy(state, req, move |parallel| -> Result<Found, ApiError> {
        let mut request = request;
        request.parallel = parallel;
        // Every ad's timeline changes only with an import: it is kept.
        let everything = request.query.trim().is_empty() && request.filters == Filters::default();
        let generation = archive.source_count()?;
        let kept = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .filter(|(g, _)| everything && *g == generation);
        request.timeline = kept.is_none();
        let mut response = search(&archive, &request)?;
        let timeline = match kept {
            Some((_, timeline)) => timeline,
            None => {
                let timeline = response.timeline.take().unwrap_or_default();
                if everything {
                    *cache
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some((generation, timeline.clone()));
                }
                timeline
            }
        };
        let months = timeline
            .months
            .iter()
            .map(|(month, n)| (TimelineCounts::label(*month), *n))
            .collect();
        let (running, ended) = (timeline.running, timeline.ended);
        let statuses = response
            .results
            .iter()
            .map(|hit| archive.ad_listings(&hit.ad.uid).map(|l| l.status))
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(Found {
            statuses,
            response,
            running,
            ended,
            months,
        })
    })
    .await;
    let found = match found {
        Ok(found) => found,
        Err(ApiError::BadParameter { message, .. }) => {
            page.problem = Some(message);
            return render(StatusCode::BAD_REQUEST, &page);
        }
        Err(e) => return problem_page(&e),
    };
    let response = &found.response;
    page.total = total(response.total);
    page.facets = facets(response, &query, &filters, sort);
    page.active = [
        (true, "still running", found.running),
        (false, "ended", found.ended),
    ]
    .into_iter()
    .map(|(value, label, n)| {
        let mut next = filters.clone();
        let active = filters.active == Some(value);
        next.active = (!active).then_some(value);
        FacetLink {
            value: label.into(),
            count: thousands(n),
            href: page_href(&query, &next, sort),
            active,
        }
    })
    .collect();
    page.cards = response
        .results
        .iter()
        .zip(&found.statuses)
        .map(|(hit, status)| Card::of(hit, *status))
        .collect();
    page.next_href = response.next_cursor.as_ref().map(|cursor| {
        let mut pairs = search_pairs(&query, &filters);
        if let Some(sort) = sort {
            pairs.push(("sort", sort.to_string()));
        }
        pairs.push(("cursor", cursor.clone()));
        format!("/?{}", query_string(&pairs))
    });
    let export = |format: &str| {
        let mut pairs = search_pairs(&query, &filters);
        if let Some(sort) = sort {
            pairs.push(("sort", sort.to_string()));
        }
        pairs.push(("format", format.to_owned()));
        format!("/v1/export?{}", query_string(&pairs))
    };
    page.export_csv = export("csv");
    page.export_ndjson = export("ndjson");
    page.feed_href = format!(
        "/feed.atom?{}",
        query_string(&search_pairs(&query, &filters))
    );
    (page.chart, page.chart_width) = chart(&found.months);
    render(StatusCode::OK, &page)
}

/// A share of impressions by age and gender.
struct ShareRow {
    age: String,
    gender: String,
    percent: String,
    width: u32,
}

/// One version and what changed in it.
struct VersionRow {
    seq: u32,
    previous: u32,
    observed: String,
    source_href: String,
    source_short: String,
    record_hash: String,
    changes: Vec<(String, String, String)>,
}

/// One reading of the ad, with its source.
struct ObservationRow {
    name: String,
    file_name: String,
    format: String,
    importer: String,
    blake3: String,
    line: u64,
    byte_start: u64,
    byte_end: u64,
    observed: String,
    raw_hash: String,
    raw: String,
    download: String,
    /// The source's entry in the transparency log, and the number of
    /// hashes proving it is in the newest checkpoint's tree.
    log_entry: Option<(u64, usize)>,
}

#[derive(Template)]
#[template(path = "ad.html")]
struct AdPage {
    uid: String,
    platform: String,
    heading: String,
    lang: Option<String>,
    snapshot: Option<String>,
    texts: Vec<(&'static str, String)>,
    links: Vec<(String, Option<String>)>,
    fields: Vec<(&'static str, String)>,
    targeting: Vec<(String, String)>,
    age_gender: Vec<ShareRow>,
    regions: Vec<(String, String)>,
    unmapped: Vec<(String, String)>,
    versions: Vec<VersionRow>,
    observations: Vec<ObservationRow>,
    /// The size of the log's newest checkpoint, when it has one.
    log_size: Option<u64>,
    json_href: String,
    advertiser_href: Option<String>,
}

/// A JSON value as one line of text.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The top-level fields whose values differ between two records.
fn changes(
    before: &adarchive_schema::Ad,
    after: &adarchive_schema::Ad,
) -> Vec<(String, String, String)> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| cut(&v.map(plain).unwrap_or_default(), 300);
            (k.clone(), show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

/// At most [`RAW_SHOWN`] bytes of a source's row, as text.
fn raw_row(archive: &Archive, o: &Observation) -> String {
    let mut out = Vec::new();
    let len = o.locator.byte_end.saturating_sub(o.locator.byte_start);
    let read = archive.open_source(&o.source_blake3).and_then(|mut f| {
        f.seek(SeekFrom::Start(o.locator.byte_start))
            .and_then(|_| f.take(len.min(RAW_SHOWN)).read_to_end(&mut out))
            .map_err(|e| crate::Error::Io {
                path: archive.source_path(&o.source_blake3),
                source: e,
            })
    });
    match read {
        Ok(_) => {
            let mut text = String::from_utf8_lossy(&out).into_owned();
            if len > RAW_SHOWN {
                text.push_str(&format!(
                    "… ({} more bytes in the file)",
                    thousands(len - RAW_SHOWN)
                ));
            }
            text
        }
        Err(_) => "(the stored file cannot be read)".into(),
    }
}

fn ad_page_of(archive: &Archive, uid: &str) -> crate::Result<Option<AdPage>> {
    let versions = archive.history_with_records(uid)?;
    let Some((_, ad)) = versions.last() else {
        return Ok(None);
    };
    let provenance = archive.provenance(uid)?;
    let sources: BTreeMap<String, SourceEntry> = provenance
        .as_ref()
        .map(|p| {
            p.sources
                .iter()
                .map(|s| (s.blake3.clone(), s.clone()))
                .collect()
        })
        .unwrap_or_default();
    let c = &ad.creative;
    let mut texts = Vec::new();
    for (label, list) in [
        ("Title", &c.titles),
        ("Text", &c.bodies),
        ("Description", &c.descriptions),
        ("Caption", &c.captions),
    ] {
        texts.extend(list.iter().map(|t| (label, t.clone())));
    }
    let heading = c
        .titles
        .first()
        .or(c.bodies.first())
        .map(|t| cut(t, 120))
        .unwrap_or_else(|| format!("Ad {uid}"));
    let join = |v: &[String]| v.join(", ");
    let mut fields: Vec<(&'static str, String)> = vec![
        ("Platform", ad.platform.display_name().to_owned()),
        ("Platform's ad id", ad.platform_ad_id.clone()),
        (
            "Advertiser",
            ad.advertiser
                .name
                .clone()
                .unwrap_or_else(|| "not published".into()),
        ),
    ];
    let mut optional = |label: &'static str, value: String| {
        if !value.is_empty() {
            fields.push((label, value));
        }
    };
    optional(
        "Advertiser id",
        ad.advertiser.id.clone().unwrap_or_default(),
    );
    optional("Paid for by", ad.funder.clone().unwrap_or_default());
    optional("Payers", join(&ad.payers));
    optional("Beneficiaries", join(&ad.beneficiaries));
    optional(
        "Shown",
        super::format::shown(ad.first_shown.as_ref(), ad.last_shown.as_ref()),
    );
    optional(
        "Spend",
        ad.spend
            .iter()
            .map(super::format::spend)
            .collect::<Vec<_>>()
            .join("; "),
    );
    optional(
        "Impressions",
        ad.impressions
            .as_ref()
            .map(super::format::count_range)
            .unwrap_or_default(),
    );
    optional(
        "Reach",
        ad.reach
            .as_ref()
            .map(super::format::count_range)
            .unwrap_or_default(),
    );
    optional(
        "Audience size",
        ad.audience_size
            .as_ref()
            .map(super::format::count_range)
            .unwrap_or_default(),
    );
    optional(
        "In the listings",
        listing_status(&archive.ad_listings(uid)?),
    );
    optional("Countries", join(&ad.countries));
    optional("Regions", join(&ad.regions));
    optional("Languages", join(&ad.languages));
    optional(
        "Media type",
        c.media_type
            .map(|m| {
                serde_json::to_value(m)
                    .map(|v| plain(&v))
                    .unwrap_or_default()
            })
            .unwrap_or_default(),
    );
    let t = &ad.targeting;
    let mut targeting: Vec<(String, String)> = [
        ("Ages", &t.ages),
        ("Genders", &t.genders),
        ("Locations included", &t.locations_included),
        ("Locations excluded", &t.locations_excluded),
        ("Interests", &t.interests),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_owned(), join(v)))
    .collect();
    targeting.extend(t.other.iter().map(|(k, v)| (k.clone(), join(v))));
    let age_gender = ad
        .delivery
        .age_gender
        .iter()
        .map(|s| ShareRow {
            age: s.age.clone(),
            gender: s.gender.clone(),
            percent: percent(s.share),
            width: (s.share.clamp(0.0, 1.0) * 100.0).round() as u32,
        })
        .collect();
    let regions = ad
        .delivery
        .regions
        .iter()
        .map(|r| (r.region.clone(), percent(r.share)))
        .collect();
    let unmapped = ad
        .unmapped
        .iter()
        .map(|(k, v)| (k.clone(), cut(&plain(v), 500)))
        .collect();
    let versions = versions
        .iter()
        .enumerate()
        .map(|(i, (v, record))| VersionRow {
            seq: v.seq,
            previous: v.seq.saturating_sub(1),
            observed: moment(&v.observed_at),
            source_href: format!("/v1/sources/{}", v.source_blake3),
            source_short: v.source_blake3.chars().take(16).collect(),
            record_hash: v.record_hash.to_string(),
            changes: match i.checked_sub(1).and_then(|p| versions.get(p)) {
                Some((_, before)) => changes(before, record),
                None => Vec::new(),
            },
        })
        .collect();
    let log = provenance.as_ref().and_then(|p| p.log.clone());
    let log_entry = |blake3: &str| {
        log.as_ref()?
            .sources
            .iter()
            .find(|s| s.blake3 == blake3)
            .map(|s| (s.log_index, s.inclusion_proof.len()))
    };
    let observations = provenance
        .map(|p| p.observations)
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let source = sources.get(&o.source_blake3);
            let name = source
                .and_then(|s| s.names.first().cloned())
                .unwrap_or_else(|| o.source_blake3.clone());
            let file_name = name
                .rsplit(['/', '!'])
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or(&o.source_blake3)
                .to_owned();
            ObservationRow {
                file_name,
                name,
                format: source.map(|s| s.format.clone()).unwrap_or_default(),
                importer: format!("{} {}", o.importer, o.importer_version),
                blake3: o.source_blake3.clone(),
                line: o.locator.line,
                byte_start: o.locator.byte_start,
                byte_end: o.locator.byte_end,
                observed: moment(&o.observed_at),
                raw_hash: o.raw_hash.clone(),
                raw: raw_row(archive, o),
                download: format!("/v1/sources/{}", o.source_blake3),
                log_entry: log_entry(&o.source_blake3),
            }
        })
        .collect();
    Ok(Some(AdPage {
        uid: uid.to_owned(),
        platform: ad.platform.display_name().to_owned(),
        heading,
        lang: ad.languages.first().cloned(),
        snapshot: c.snapshot_url.as_deref().and_then(super::format::safe_url),
        texts,
        links: c
            .link_urls
            .iter()
            .map(|l| (l.clone(), super::format::safe_url(l)))
            .collect(),
        fields,
        targeting,
        age_gender,
        regions,
        unmapped,
        versions,
        observations,
        log_size: log.as_ref().map(|l| l.tree_size),
        json_href: format!("/v1/ads/{}", ad_href(uid).trim_start_matches("/ads/")),
        advertiser_href: None,
    }))
}

/// The page of the advertiser an ad's identity belongs to.
fn advertiser_of(state: &AppState, uid: &str) -> crate::Result<Option<String>> {
    let Some(ad) = state.archive.latest(uid)? else {
        return Ok(None);
    };
    let Some(facts) = crate::advertisers::facts_of_ad(&ad) else {
        return Ok(None);
    };
    let all = state.advertisers.get(&state.archive)?;
    Ok(all
        .iter()
        .find(|e| e.members.iter().any(|m| m.key == facts.key))
        .map(|e| format!("/advertisers/{}", e.id)))
}

/// `/ads/{uid}`: the latest version, its history and its provenance.
pub async fn ad_page(state: web::Data<AppState>, uid: web::Path<String>) -> HttpResponse {
    let uid = uid.into_inner();
    let shared = state.into_inner();
    let key = uid.clone();
    let page = web::block(move || {
        let page = ad_page_of(&shared.archive, &key)?;
        page.map(|mut page| {
            page.advertiser_href = advertiser_of(&shared, &key)?;
            Ok::<AdPage, crate::Error>(page)
        })
        .transpose()
    })
    .await;
    match page {
        Ok(Ok(Some(page))) => render(StatusCode::OK, &page),
        Ok(Ok(None)) => problem_page(&ApiError::NotFound(format!("no ad with uid `{uid}`"))),
        Ok(Err(e)) => problem_page(&ApiError::from(e)),
        Err(e) => problem_page(&ApiError::from(e)),
    }
}

/// One row of a spend table.
struct SpendRow {
    label: String,
    count: String,
    spend: Vec<String>,
    ads_href: Option<String>,
    sources: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "spend.html")]
struct SpendPage {
    group_by: String,
    groupings: Vec<(&'static str, bool)>,
    query: String,
    currency: String,
    convert_to: String,
    hidden_filters: Vec<(&'static str, String)>,
    problem: Option<String>,
    total: String,
    csv_href: String,
    json_href: String,
    ads_origin: String,
    ads_ordered_by: String,
    ads: Vec<SpendRow>,
    reports_origin: String,
    not_applied: String,
    reports: Vec<SpendRow>,
    conversion: String,
}

/// A group as people read it: its name with its key, or the key alone.
fn group_label(name: Option<&str>, key: &str) -> String {
    match name {
        Some(name) => format!("{name} ({key})"),
        None => key.to_owned(),
    }
}

/// A page's query string without the blank fields a form sends: a blank
/// field is no parameter.
pub(super) fn given_query(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect()
}

/// A summed range: `lower – upper` in `currency`, or open.
fn summed(currency: &str, lower: u128, upper: Option<u128>) -> String {
    let n = |v: u128| thousands(u64::try_from(v).unwrap_or(u64::MAX));
    match upper {
        Some(upper) if upper == lower => format!("{} {currency}", n(lower)),
        Some(upper) => format!("{} – {} {currency}", n(lower), n(upper)),
        None => format!("{} {currency} or more", n(lower)),
    }
}

/// `/spend`: the audit table, for the same parameters as `/v1/spend`.
pub async fn spend_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut given: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
    if !given.iter().any(|(k, _)| k == "group_by") {
        given.push(("group_by".into(), "advertiser".into()));
    }
    given.retain(|(k, _)| k != "format");
    let query_text = serde_urlencoded::to_string(&given).unwrap_or_default();
    let mut params: crate::api::params::SpendParams = match serde_urlencoded::from_str(&query_text)
    {
        Ok(p) => p,
        Err(e) => {
            return problem_page(&crate::api::error::query_error(
                actix_web::error::QueryPayloadError::Deserialize(e),
            ))
        }
    };
    let (query, filters) = match params.take_filters() {
        Ok(p) => p,
        Err(e) => return problem_page(&e),
    };
    let group_by: Grouping = match params.group_by.as_deref().unwrap_or("advertiser").parse() {
        Ok(g) => g,
        Err(e) => return problem_page(&ApiError::from(e)),
    };
    let limit = match crate::api::params::bounded(
        "limit",
        params.limit.clone(),
        1,
        crate::api::params::MAX_SPEND_GROUPS,
    ) {
        Ok(limit) => limit.unwrap_or(crate::api::params::DEFAULT_SPEND_GROUPS),
        Err(e) => return problem_page(&e),
    };
    let mut page = SpendPage {
        group_by: group_by.to_string(),
        groupings: Grouping::ALL
            .iter()
            .map(|g| (g.as_str(), *g == group_by))
            .collect(),
        query: query.clone(),
        currency: filters.currency.join(","),
        convert_to: params.convert_to.clone().unwrap_or_default(),
        hidden_filters: filters
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != "currency")
            .collect(),
        problem: None,
        total: String::new(),
        csv_href: format!("/v1/spend?{query_text}&format=csv"),
        json_href: format!("/v1/spend?{query_text}"),
        ads_origin: String::new(),
        ads_ordered_by: String::new(),
        ads: Vec::new(),
        reports_origin: String::new(),
        not_applied: String::new(),
        reports: Vec::new(),
        conversion: String::new(),
    };
    let report = crate::spend::ReportQuery::from_filters(
        &filters,
        params.report_kind.clone(),
        crate::api::params::list(params.period.clone()),
    );
    let (deadline, _cancel) = deadline();
    let request = SearchRequest {
        query: query.clone(),
        filters: filters.clone(),
        deadline,
        ..SearchRequest::default()
    };
    let archive = state.archive.clone();
    let convert_to = params.convert_to.clone();
    let audit = heavy(&state, &req, move |parallel| {
        let mut request = request;
        request.parallel = parallel;
        let mut audit = crate::spend::spend_audit(
            &archive,
            &request,
            &report,
            group_by,
            limit,
            convert_to.as_deref(),
        )?;
        crate::api::links::link_audit(&mut audit, &request.query);
        Ok(audit)
    })
    .await;
    let audit = match audit {
        Ok(a) => a,
        Err(ApiError::BadParameter { message, .. }) => {
            page.problem = Some(message);
            return render(StatusCode::BAD_REQUEST, &page);
        }
        Err(e) => return problem_page(&e),
    };
    page.total = counted(audit.total_ads, "ad", "ads");
    page.ads_origin = audit.origin.clone();
    page.ads_ordered_by = audit.ordered_by.clone();
    page.ads = audit
        .groups
        .iter()
        .map(|g| SpendRow {
            label: group_label(g.name.as_deref(), &g.key),
            count: thousands(g.ads),
            spend: g
                .spend
                .iter()
                .map(|s| summed(&s.currency, s.lower, s.upper))
                .collect(),
            ads_href: g
                .narrowed
                .as_ref()
                .map(|f| super::views::page_href(&query, f, None)),
            sources: Vec::new(),
        })
        .collect();
    page.reports_origin = audit.reports.origin.clone();
    page.not_applied = audit.reports.not_applied.join(", ");
    page.reports = audit
        .reports
        .groups
        .iter()
        .map(|g| SpendRow {
            label: group_label(g.name.as_deref(), &g.key),
            count: thousands(g.rows),
            spend: g
                .spend
                .iter()
                .map(|s| summed(&s.currency, s.lower, Some(s.upper)))
                .collect(),
            ads_href: None,
            sources: g
                .reports
                .iter()
                .map(|r| (r.name.clone(), format!("/v1/sources/{}", r.source)))
                .collect(),
        })
        .collect();
    page.conversion = audit.conversion.note.clone();
    render(StatusCode::OK, &page)
}

/// One platform identity of an advertiser.
struct MemberRow {
    key: String,
    names: String,
    funders: String,
    identifiers: String,
    seen_in: String,
    ads_href: Option<String>,
}

/// One link between two identities.
struct LinkRow {
    from: String,
    to: String,
    evidence: String,
    value: String,
}

#[derive(Template)]
#[template(path = "advertiser.html")]
struct AdvertiserPage {
    id: String,
    name: String,
    platforms: String,
    name_only: bool,
    ads_href: Option<String>,
    members: Vec<MemberRow>,
    links: Vec<LinkRow>,
    ads_origin: String,
    reports_origin: String,
    /// Platform, ad-level figures, report-level figures.
    by_platform: Vec<(String, Vec<String>, Vec<String>)>,
    report_sources: Vec<(String, String)>,
    /// Per platform, its months.
    over_time: Vec<(String, Vec<MonthRow>)>,
    /// Identities known by name only, whose ads no filter can find.
    unsearchable: usize,
    json_href: String,
}

/// One month of an advertiser's ad-level spend: month, ads, spend per
/// currency.
type MonthRow = (String, String, Vec<String>);

/// The ad-level spend of an advertiser's identities per platform and
/// month: one month-grouped sum per platform over its identities' ids.
fn spend_over_time(
    archive: &Archive,
    entity: &crate::advertisers::Entity,
    deadline: &crate::search::Deadline,
    parallel: bool,
) -> Result<Vec<(String, Vec<MonthRow>)>, crate::search::SearchError> {
    let mut by_platform: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for m in &entity.members {
        if let Some(id) = &m.advertiser_id {
            by_platform
                .entry(m.platform.as_str())
                .or_default()
                .push(id.clone());
        }
    }
    let mut out = Vec::new();
    for (platform, ids) in by_platform {
        let request = SearchRequest {
            filters: Filters {
                platform: vec![platform.to_owned()],
                advertiser_id: ids,
                ..Filters::default()
            },
            deadline: deadline.clone(),
            parallel,
            ..SearchRequest::default()
        };
        let months = crate::spend::spend_totals(archive, &request, Grouping::Month, 1_000)?;
        let rows = months
            .groups
            .iter()
            .map(|g| {
                (
                    g.key.clone(),
                    thousands(g.ads),
                    g.spend
                        .iter()
                        .map(|s| summed(&s.currency, s.lower, s.upper))
                        .collect(),
                )
            })
            .collect::<Vec<_>>();
        if !rows.is_empty() {
            let name = platform
                .parse::<adarchive_schema::Platform>()
                .map(|p| p.display_name().to_owned())
                .unwrap_or_else(|_| platform.to_owned());
            out.push((name, rows));
        }
    }
    Ok(out)
}

/// The filters that find an identity's ads, when it has an id.
fn identity_filters(m: &crate::advertisers::PlatformIdentity) -> Option<Filters> {
    let id = m.advertiser_id.clone()?;
    Some(Filters {
        platform: vec![m.platform.clone()],
        advertiser_id: vec![id],
        ..Filters::default()
    })
}

/// `/advertisers/{id}`: one advertiser across platforms, the evidence that
/// joins its identities, and its spend as ads and reports give it.
pub async fn advertiser_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let id = id.into_inner();
    let key = id.clone();
    let (deadline, _cancel) = deadline();
    let shared = state.clone().into_inner();
    let found = heavy(&state, &req, move |parallel| {
        let all = shared.advertisers.get(&shared.archive)?;
        let Some(entity) = all.iter().find(|e| e.id == key) else {
            return Ok(None);
        };
        let detail =
            crate::advertisers::detail_of(&shared.archive, entity.clone(), &deadline, parallel)?;
        let over_time = spend_over_time(&shared.archive, entity, &deadline, parallel)?;
        Ok(Some((detail, over_time)))
    })
    .await;
    let (detail, over_time) = match found {
        Ok(Some(d)) => d,
        Ok(None) => return problem_page(&ApiError::NotFound(format!("no advertiser `{id}`"))),
        Err(e) => return problem_page(&e),
    };
    let entity = &detail.entity;
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().cloned().collect::<Vec<_>>().join("; ")
    };
    let members: Vec<MemberRow> = entity
        .members
        .iter()
        .map(|m| MemberRow {
            key: m.key.clone(),
            names: join(&m.names),
            funders: join(&m.funders),
            identifiers: m
                .identifiers
                .iter()
                .map(|i| format!("{} {}", i.kind, i.value))
                .collect::<Vec<_>>()
                .join("; "),
            seen_in: match (m.in_ads, m.in_reports) {
                (true, true) => "ads and spend reports".into(),
                (true, false) => "ads".into(),
                (false, true) => "spend reports".into(),
                (false, false) => "–".into(),
            },
            ads_href: identity_filters(m).map(|f| page_href("", &f, None)),
        })
        .collect();
    // Every identity with an id on one platform can be searched at once.
    let ads_href = match entity.members.as_slice() {
        [only] => identity_filters(only).map(|f| page_href("", &f, None)),
        _ => {
            let platforms: std::collections::BTreeSet<&str> =
                entity.members.iter().map(|m| m.platform.as_str()).collect();
            let ids: Vec<String> = entity
                .members
                .iter()
                .filter_map(|m| m.advertiser_id.clone())
                .collect();
            (platforms.len() == 1 && ids.len() == entity.members.len()).then(|| {
                let f = Filters {
                    platform: platforms.iter().map(|p| (*p).to_owned()).collect(),
                    advertiser_id: ids,
                    ..Filters::default()
                };
                page_href("", &f, None)
            })
        }
    };
    let evidence = |l: &crate::advertisers::Link| match l.evidence.as_str() {
        "identifier" => "a shared official id".to_owned(),
        "google_id_mapping" => "Google's mapping of old to new advertiser ids".to_owned(),
        "name" => "the same name only (not proof)".to_owned(),
        other => other.to_owned(),
    };
    let money = |currency: &str, lower: u128, upper: Option<u128>| summed(currency, lower, upper);
    let mut platforms: Vec<String> = detail
        .ads
        .by_platform
        .iter()
        .chain(&detail.reports.by_platform)
        .map(|p| p.platform.clone())
        .collect();
    platforms.sort();
    platforms.dedup();
    let by_platform = platforms
        .into_iter()
        .map(|p| {
            let figures = |totals: &[crate::advertisers::PlatformTotal]| -> Vec<String> {
                totals
                    .iter()
                    .filter(|t| t.platform == p)
                    .map(|t| money(&t.currency, t.lower, t.upper))
                    .collect()
            };
            let ads = figures(&detail.ads.by_platform);
            let reports = figures(&detail.reports.by_platform);
            (p, ads, reports)
        })
        .collect();
    let mut report_sources: Vec<(String, String)> = detail
        .reports
        .by_identity
        .iter()
        .flat_map(|g| g.reports.iter())
        .map(|r| (r.name.clone(), format!("/v1/sources/{}", r.source)))
        .collect();
    report_sources.sort();
    report_sources.dedup();
    let page = AdvertiserPage {
        id: entity.id.clone(),
        name: entity.name.clone(),
        platforms: entity.platforms.join(", "),
        name_only: entity.name_only_links,
        ads_href,
        members,
        links: entity
            .links
            .iter()
            .map(|l| LinkRow {
                from: l.from.clone(),
                to: l.to.clone(),
                evidence: evidence(l),
                value: l.value.clone(),
            })
            .collect(),
        ads_origin: detail.ads.origin.clone(),
        reports_origin: detail.reports.origin.clone(),
        by_platform,
        report_sources,
        over_time,
        unsearchable: entity
            .members
            .iter()
            .filter(|m| m.advertiser_id.is_none())
            .count(),
        json_href: format!("/v1/advertisers/{}", entity.id),
    };
    render(StatusCode::OK, &page)
}

/// One archived file.
struct SourceRow {
    name: String,
    format: String,
    size: String,
    imported: String,
    records: String,
    blake3: String,
    download: String,
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    summary: String,
    sources: Vec<SourceRow>,
}

/// `/sources`: every archived file and how to check it.
pub async fn sources_page(state: web::Data<AppState>) -> HttpResponse {
    let archive = state.archive.clone();
    let entries = match web::block(move || archive.sources()).await {
        Ok(Ok(entries)) => entries,
        Ok(Err(e)) => return problem_page(&ApiError::from(e)),
        Err(e) => return problem_page(&ApiError::from(e)),
    };
    let page = SourcesPage {
        summary: format!("{}.", counted(entries.len() as u64, "file", "files")),
        sources: entries
            .iter()
            .map(|s| SourceRow {
                name: s.names.first().cloned().unwrap_or_else(|| s.blake3.clone()),
                format: s.format.clone(),
                size: format!("{} bytes", thousands(s.size)),
                imported: moment(&s.imported_at),
                records: thousands(s.records + s.report_rows + s.rate_rows),
                blake3: s.blake3.clone(),
                download: format!("/v1/sources/{}", s.blake3),
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage;

/// `/about`: what the platforms publish and the limits of the data.
pub async fn about_page() -> HttpResponse {
    render(StatusCode::OK, &AboutPage)
}

/// The stylesheet, built into the binary.
pub const STYLE: &str = include_str!("../../assets/style.css");

/// `/assets/style.css`.
pub async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE)
}

/// Whether complete listings still hold an ad, and when they last did.
fn listing_status(listings: &crate::archive::AdListings) -> String {
    use crate::archive::AdStatus;
    let last = listings
        .scopes
        .iter()
        .max_by_key(|s| s.last_listed)
        .map(|s| format!("last listed {} in {}", moment(&s.last_listed), s.scope));
    match (listings.status, last) {
        (AdStatus::Unknown, _) | (_, None) => {
            "never in a complete listing (only partial files, such as pages of an API, hold it)"
                .into()
        }
        (AdStatus::Listed, Some(last)) => format!("listed: {last}"),
        (AdStatus::MissingOnce, Some(last)) => {
            format!("missing from the latest listing: {last}")
        }
        (AdStatus::Vanished, Some(last)) => {
            format!("vanished (absent from two listings in a row): {last}")
        }
    }
}
