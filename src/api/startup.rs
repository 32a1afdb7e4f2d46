//! Building and running the server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::error::{query_error, ApiError};
use super::limit::RateLimiter;
use super::routes::{self, AppState};
use super::ApiDoc;
use crate::archive::Archive;

/// What `serve` needs.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The archive's data folder.
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Requests per second allowed per client address (bursts of twice
    /// that); 0 turns the limit off.
    pub rate_limit: u32,
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Opens the archive and binds the listener.
    pub fn build(config: &ApiConfig) -> anyhow::Result<Self> {
        let archive = Arc::new(Archive::open_for_serving(&config.data)?);
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { archive });
        let limiter =
            (config.rate_limit > 0).then(|| Arc::new(RateLimiter::new(config.rate_limit)));
        let server = HttpServer::new(move || {
            let limiter = limiter.clone();
            App::new()
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::NotFound(err.to_string()).into()
                }))
                .wrap(Compress::default())
                // Public data: any origin may read it.
                .wrap(
                    actix_cors::Cors::default()
                        .allow_any_origin()
                        .allowed_methods(["GET", "HEAD"])
                        .expose_headers(["etag", "retry-after"])
                        .max_age(86_400),
                )
                .wrap_fn(move |req, srv| {
                    let started = std::time::Instant::now();
                    let (method, path) = (req.method().clone(), req.path().to_owned());
                    let refused = match (&limiter, req.peer_addr()) {
                        (Some(limiter), Some(peer)) => limiter.check(peer.ip()).err(),
                        _ => None,
                    };
                    let outcome = match refused {
                        Some(wait) => Err(req.error_response(ApiError::TooManyRequests(
                            wait.as_secs() + 1,
                        ))),
                        None => Ok(srv.call(req)),
                    };
                    async move {
                        let res = match outcome {
                            Ok(fut) => fut.await.map(ServiceResponse::map_into_boxed_body),
                            Err(refused) => Ok(refused),
                        };
                        let status = res.as_ref().map(|r| r.status().as_u16()).unwrap_or(500);
                        tracing::info!(%method, %path, status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
                        res
                    }
                })
                .service(routes::healthz)
                .service(routes::ads)
                .service(routes::ad)
                .service(routes::history)
                .service(routes::provenance)
                .service(routes::spend)
                .service(routes::advertisers)
                .service(routes::advertiser)
                .service(routes::export)
                .service(routes::sources)
                .service(routes::source)
                .route(
                    "/openapi.json",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(super::openapi_json())
                    }),
                )
                .service(SwaggerUi::new("/docs/{_:.*}").url("/docs/openapi.json", ApiDoc::openapi()))
                .default_service(web::to(|| async {
                    Err::<HttpResponse, ApiError>(ApiError::NotFound(
                        "no such endpoint; see /docs".into(),
                    ))
                }))
        })
        // Slow or idle clients are not allowed to hold connections open.
        .client_request_timeout(std::time::Duration::from_secs(10))
        .keep_alive(std::time::Duration::from_secs(30))
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
