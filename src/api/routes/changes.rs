//! `/v1/changes` and `/v1/scopes`: what complete listings say changed.

use actix_web::{route, web, HttpRequest, HttpResponse};

use super::{deadline, heavy, json_response, through_cache, to_json};
use crate::api::error::{ApiError, Problem};
use crate::api::params::{bounded, list, ChangesParams};
use crate::api::state::AppState;
use crate::changes::{changes, parse_kinds, parse_since, ChangesRequest, DEFAULT_LIMIT, MAX_LIMIT};

/// What changed between complete listings (Snap's yearly files, Google's
/// creative stats, X's disclosure file), in archive order: ads new to a
/// scope, changed (with an RFC 6902 JSON Patch), absent once, vanished
/// (absent from two listings in a row) and back. `q` and the search's
/// filters choose the ads.
#[utoipa::path(
    get,
    tag = "changes",
    path = "/v1/changes",
    params(ChangesParams),
    responses(
        (status = 200, description = "A page of changes and the cursor of the next", body = crate::changes::ChangesPage),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/changes", method = "GET", method = "HEAD")]
pub async fn changes_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ChangesParams>,
) -> Result<HttpResponse, ApiError> {
    through_cache(&state, &req, changes_read(&req, &state, query.into_inner())).await
}

/// The request `params` make, for the API and the pages alike.
pub(crate) fn changes_request(
    mut params: ChangesParams,
    deadline: crate::search::Deadline,
) -> Result<ChangesRequest, ApiError> {
    let (query, filters) = params.take_filters()?;
    Ok(ChangesRequest {
        since: params.since.as_deref().map(parse_since).transpose()?,
        kinds: parse_kinds(params.kind.as_deref().unwrap_or_default())?,
        scopes: list(params.scope),
        query,
        filters,
        limit: bounded("limit", params.limit, 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT),
        cursor: params.cursor,
        patches: true,
        deadline,
    })
}

async fn changes_read(
    req: &HttpRequest,
    state: &AppState,
    params: ChangesParams,
) -> Result<HttpResponse, ApiError> {
    let (deadline, _cancel) = deadline();
    let request = changes_request(params, deadline)?;
    let archive = state.archive.clone();
    let page = heavy(state, req, move |_| to_json(&changes(&archive, &request)?)).await?;
    Ok(json_response(page))
}

/// Every scope that complete listings define, with each listing's size
/// and what it changed ("snap:2024: 5,857 ads on 1 July, 5,803 on 8 July:
/// 61 vanished, 7 new").
#[utoipa::path(
    get,
    tag = "changes",
    path = "/v1/scopes",
    responses((status = 200, description = "Scopes and their listings, oldest first", body = Vec<crate::changes::Scope>))
)]
#[route("/v1/scopes", method = "GET", method = "HEAD")]
pub async fn scopes(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let archive = state.archive.clone();
    let body = web::block(move || to_json(&crate::changes::scopes(&archive)?)).await??;
    Ok(json_response(body))
}
