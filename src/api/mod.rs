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
        routes::health::metrics,
        routes::ads::ads,
        routes::ads::ad,
        routes::ads::history,
        routes::ads::provenance,
        routes::ads::listings,
        routes::changes::changes_page,
        routes::changes::scopes,
        routes::spend::spend,
        routes::advertisers::advertisers,
        routes::advertisers::advertiser,
        routes::export::export,
        routes::sources::sources,
        routes::sources::source,
        routes::log::checkpoint,
        routes::log::key,
        routes::log::tile,
        routes::log::consistency,
        routes::log::witness_key,
        routes::log::add_checkpoint,
        routes::admin::imports,
        routes::admin::tasks,
        routes::admin::task,
        routes::admin::collections
    ),
    components(schemas(error::Problem, routes::health::Health)),
    modifiers(&AdminKey)
)]
pub struct ApiDoc;

/// The ingest API's key, as the document declares it.
struct AdminKey;

impl utoipa::Modify for AdminKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A key made with `adarchive keys create`; the admin endpoints exist only while one is in force."
                .into(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("key", SecurityScheme::Http(scheme));
    }
}

/// The OpenAPI document as pretty JSON (committed as `openapi/openapi.json`).
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}
