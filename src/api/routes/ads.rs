//! `/v1/ads`: the search, one ad, its history and its provenance.

use serde::Serialize;

use actix_web::{route, web, HttpRequest, HttpResponse};

use super::{deadline, heavy, json_response, not_modified, sort_param, through_cache, to_json};
use crate::api::error::{ApiError, Problem};
use crate::api::params::{facet_limit, list, page_limit, AdsParams};
use crate::api::state::AppState;
use crate::archive::Archive;
use crate::search::{search, SearchRequest};

/// Search ads: the latest version of each, one page at a time.
#[utoipa::path(
    get,
    tag = "ads",
    path = "/v1/ads",
    params(AdsParams),
    responses(
        (status = 200, description = "A page: `total`, `results` (ads with `score` and `snippets`), `next_cursor`, `facets`"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads", method = "GET", method = "HEAD")]
pub async fn ads(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AdsParams>,
) -> Result<HttpResponse, ApiError> {
    through_cache(&state, &req, ads_searched(&req, &state, query.into_inner())).await
}

async fn ads_searched(
    req: &HttpRequest,
    state: &AppState,
    mut params: AdsParams,
) -> Result<HttpResponse, ApiError> {
    let (query, filters) = params.take_filters()?;
    let (deadline, _cancel) = deadline();
    let mut request = SearchRequest {
        query,
        filters,
        sort: sort_param(params.sort.as_deref())?,
        limit: page_limit(params.limit)?,
        cursor: params.cursor,
        facets: list(params.facets),
        facet_limit: facet_limit(params.facet_limit)?,
        deadline,
        ..SearchRequest::default()
    };
    let archive = state.archive.clone();
    let page = heavy(state, req, move |parallel| {
        request.parallel = parallel;
        to_json(&search(&archive, &request)?)
    })
    .await?;
    Ok(json_response(page))
}

fn not_found(uid: &str) -> ApiError {
    ApiError::NotFound(format!("no ad with uid `{uid}`"))
}

/// Runs `read` for the ad `uid` off the async workers; `None` is a 404.
async fn read_ad<T: Send + 'static>(
    state: &AppState,
    uid: String,
    read: impl FnOnce(&Archive, &str) -> crate::Result<Option<T>> + Send + 'static,
) -> Result<T, ApiError> {
    let archive = state.archive.clone();
    let key = uid.clone();
    let found = web::block(move || read(&archive, &key)).await??;
    found.ok_or_else(|| not_found(&uid))
}

/// The latest version of one ad.
#[utoipa::path(
    get,
    tag = "ads",
    path = "/v1/ads/{uid}",
    params(("uid" = String, Path, description = "`<platform>:<platform_ad_id>`")),
    responses(
        (status = 200, description = "The ad, as in schema/ad.schema.json; `ETag` is its record hash"),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 404, description = "No such ad", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads/{uid}", method = "GET", method = "HEAD")]
pub async fn ad(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ad = read_ad(&state, uid.into_inner(), |archive, uid| archive.latest(uid)).await?;
    // The record hash identifies the version: a new version, a new tag. It
    // is weak: the bytes differ when the body is compressed.
    let etag = format!("W/\"{}\"", ad.record_hash());
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header(("etag", etag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag))
        .insert_header(("cache-control", "public, max-age=60"))
        .json(ad))
}

/// One version of an ad with its record.
#[derive(Serialize)]
struct VersionWithRecord {
    #[serde(flatten)]
    version: crate::archive::Version,
    record: Option<adarchive_schema::Ad>,
    /// The RFC 6902 JSON Patch from the version before (none for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<serde_json::Value>,
}

/// Every version of an ad, oldest first, each naming the one it supersedes.
#[utoipa::path(
    get,
    tag = "ads",
    path = "/v1/ads/{uid}/history",
    params(("uid" = String, Path, description = "`<platform>:<platform_ad_id>`")),
    responses(
        (status = 200, description = "Versions: `seq`, `record_hash`, `supersedes`, `source_blake3`, `observed_at`, `record`, and `patch`, the RFC 6902 JSON Patch from the version before"),
        (status = 404, description = "No such ad", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads/{uid}/history", method = "GET", method = "HEAD")]
pub async fn history(
    state: web::Data<AppState>,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let versions = read_ad(&state, uid.into_inner(), |archive, uid| {
        let history = archive.history_with_records(uid)?;
        let patches = crate::changes::history_patches(&history);
        let versions: Vec<_> = history
            .into_iter()
            .zip(patches)
            .map(|((version, record), patch)| VersionWithRecord {
                version,
                record: Some(record),
                patch,
            })
            .collect();
        Ok((!versions.is_empty()).then_some(versions))
    })
    .await?;
    Ok(HttpResponse::Ok().json(versions))
}

/// Every observation of an ad (source hash, line and byte range, raw and
/// record hashes, importer and version) and the sources they come from.
#[utoipa::path(
    get,
    tag = "ads",
    path = "/v1/ads/{uid}/provenance",
    params(("uid" = String, Path, description = "`<platform>:<platform_ad_id>`")),
    responses(
        (status = 200, description = "`observations` and their `sources`"),
        (status = 404, description = "No such ad", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads/{uid}/provenance", method = "GET", method = "HEAD")]
pub async fn provenance(
    state: web::Data<AppState>,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let trail = read_ad(&state, uid.into_inner(), |archive, uid| {
        archive.provenance(uid)
    })
    .await?;
    Ok(HttpResponse::Ok().json(trail))
}

/// Whether complete listings still hold an ad: its status (`listed`,
/// `missing_once`, `vanished`, or `unknown` when no complete listing ever
/// held it) and, per scope, when it was first and last listed.
#[utoipa::path(
    get,
    tag = "ads",
    path = "/v1/ads/{uid}/listings",
    params(("uid" = String, Path, description = "`<platform>:<platform_ad_id>`")),
    responses(
        (status = 200, description = "The ad's status and scopes", body = crate::archive::AdListings),
        (status = 404, description = "No such ad", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads/{uid}/listings", method = "GET", method = "HEAD")]
pub async fn listings(
    state: web::Data<AppState>,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = read_ad(&state, uid.into_inner(), |archive, uid| {
        match archive.latest_hash(uid)? {
            Some(_) => archive.ad_listings(uid).map(Some),
            None => Ok(None),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}
