//! The public HTTP API (actix-web). Handlers are thin: they parse
//! parameters, run one call of the search core or the archive off the async
//! workers, and map the result; errors are `application/problem+json`.

pub mod error;
pub mod limit;
pub mod links;
mod middleware;
pub mod params;
pub mod routes;
pub mod startup;
pub mod state;

use utoipa::OpenApi;

/// The OpenAPI description of the API, generated from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "adarchive",
        description = "Search the political ads of every platform's ad library, with every record traceable to the published file."
    ),
    paths(
        routes::health::healthz,
        routes::ads::ads,
        routes::ads::ad,
        routes::ads::history,
        routes::ads::provenance,
        routes::spend::spend,
        routes::advertisers::advertisers,
        routes::advertisers::advertiser,
        routes::export::export,
        routes::sources::sources,
        routes::sources::source
    ),
    components(schemas(error::Problem, routes::health::Health))
)]
pub struct ApiDoc;

/// The OpenAPI document as pretty JSON (committed as `openapi/openapi.json`).
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}
