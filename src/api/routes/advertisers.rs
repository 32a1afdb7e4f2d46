//! `/v1/advertisers`: identities across platforms.

use actix_web::{route, web, HttpRequest, HttpResponse};

use super::{deadline, heavy, json_response, to_json};
use crate::advertisers::Entity;
use crate::api::error::{ApiError, Problem};
use crate::api::params::{bounded, list, AdvertisersQuery};
use crate::api::state::AppState;

/// Advertisers across platforms: each entity with its platform identities
/// and the evidence that joins them.
#[utoipa::path(
    get,
    tag = "advertisers",
    path = "/v1/advertisers",
    params(AdvertisersQuery),
    responses(
        (status = 200, description = "`total` and `advertisers`: each with `id`, `name`, `platforms`, `members` (platform identities with their names, funders and official identifiers), `links` (the evidence joining them: `identifier`, `google_id_mapping` or `name`, the last marked `name_only`) and `name_only_links`"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/advertisers", method = "GET", method = "HEAD")]
pub async fn advertisers(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AdvertisersQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = bounded("limit", query.limit, 1, 1000)?.unwrap_or(50);
    let platforms = list(query.platform);
    let words = query.q;
    let state = state.into_inner();
    let work_state = state.clone();
    let body = heavy(&work_state, &req, move |_| -> Result<Vec<u8>, ApiError> {
        let all = state.advertisers.get(&state.archive)?;
        let found = crate::advertisers::find_entities(&all, words.as_deref(), &platforms);
        let page: Vec<serde_json::Value> = found
            .iter()
            .take(limit)
            .map(|entity| listed(entity))
            .collect();
        to_json(&serde_json::json!({
            "total": found.len(),
            "advertisers": page,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// Members and links an entity lists in `/v1/advertisers`; the rest are
/// counted, and listed by `/v1/advertisers/{id}`.
pub const LISTED_MEMBERS: usize = 20;

/// An entity as the list shows it: its first members and links, with how
/// many there are in all.
fn listed(entity: &Entity) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": entity.id,
        "name": entity.name,
        "platforms": entity.platforms,
        "name_only_links": entity.name_only_links,
        "members": &entity.members[..entity.members.len().min(LISTED_MEMBERS)],
        "links": &entity.links[..entity.links.len().min(LISTED_MEMBERS)],
    });
    if entity.members.len() > LISTED_MEMBERS || entity.links.len() > LISTED_MEMBERS {
        value["members_total"] = entity.members.len().into();
        value["links_total"] = entity.links.len().into();
    }
    value
}

/// One advertiser across platforms, with its spend: ad-level sums and
/// report-level figures per platform identity, per platform and overall.
#[utoipa::path(
    get,
    tag = "advertisers",
    path = "/v1/advertisers/{id}",
    params(("id" = String, Path, description = "An advertiser id from /v1/advertisers (`adv-…`)")),
    responses(
        (status = 200, description = "The entity (as in /v1/advertisers) with `ads` and `reports`, each labelled by `origin`, with `by_identity`, `by_platform` and `overall` figures per currency"),
        (status = 404, description = "No such advertiser", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/advertisers/{id}", method = "GET", method = "HEAD")]
pub async fn advertiser(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let state = state.into_inner();
    let key = id.clone();
    let (deadline, _cancel) = deadline();
    let work_state = state.clone();
    let found = heavy(
        &work_state,
        &req,
        move |parallel| -> Result<Option<Vec<u8>>, ApiError> {
            let all = state.advertisers.get(&state.archive)?;
            let Some(entity) = all.iter().find(|e| e.id == key) else {
                return Ok(None);
            };
            let mut detail =
                crate::advertisers::detail_of(&state.archive, entity.clone(), &deadline, parallel)?;
            crate::api::links::link_entity(&mut detail);
            to_json(&detail).map(Some)
        },
    )
    .await?;
    match found {
        Some(body) => Ok(json_response(body)),
        None => Err(ApiError::NotFound(format!("no advertiser `{id}`"))),
    }
}
