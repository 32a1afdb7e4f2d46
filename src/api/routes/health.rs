//! `/healthz`.

use actix_web::{route, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::state::AppState;

/// Liveness and the number of ads served.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Ads in the search index.
    pub ads: u64,
}

#[utoipa::path(get, tag = "health", path = "/healthz", responses((status = 200, body = Health)))]
#[route("/healthz", method = "GET", method = "HEAD")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let count = state.archive.index().map_or(0, |i| i.num_docs());
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        ads: count,
    })
}
