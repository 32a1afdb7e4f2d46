//! Building and running the server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::error::{query_error, ApiError};
use super::limit::{ClientKey, ClientResolver, RateLimiter, Refusal};
use super::routes::{self, AppState, ExportSlots};
use super::state::WorkSlots;
use super::ApiDoc;
use crate::archive::Archive;

/// What `serve` needs.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The archive's data folder.
    pub data: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Requests per second allowed per client (bursts of twice that), each
    /// request weighed by the work it took; 0 turns the per-client limits
    /// off (for benchmarks and private instances).
    pub rate_limit: u32,
    /// Requests one client may have in flight at once.
    pub max_in_flight: u32,
    /// Exports running at once, over all clients.
    pub max_exports: usize,
    /// Exports one client may run at once.
    pub max_exports_per_client: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Tokens per second per client, by default.
pub const DEFAULT_RATE_LIMIT: u32 = 50;
/// Requests one client may have in flight, by default.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 4;
/// Exports at once over all clients, by default.
pub const DEFAULT_MAX_EXPORTS: usize = 4;
/// Exports at once per client, by default.
pub const DEFAULT_MAX_EXPORTS_PER_CLIENT: usize = 1;

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            data: PathBuf::from("adarchive-data"),
            bind: "127.0.0.1:8080".into(),
            rate_limit: DEFAULT_RATE_LIMIT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_exports: DEFAULT_MAX_EXPORTS,
            max_exports_per_client: DEFAULT_MAX_EXPORTS_PER_CLIENT,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
}

/// The client a request counts against, as the middleware found it.
#[derive(Clone, Copy, Debug)]
pub struct Client(pub ClientKey);

/// Security headers every response carries. The API and its documents
/// never need scripts, styles or frames from anywhere; the API reference
/// (`/docs/`) runs its own scripts and styles and nothing else.
fn security_headers(path: &str, headers: &mut header::HeaderMap) {
    let policy = if path.starts_with("/docs") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    };
    let set = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "cross-origin",
        ),
    ];
    for (name, value) in set {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

impl Application {
    /// Opens the archive and binds the listener.
    pub fn build(config: &ApiConfig) -> anyhow::Result<Self> {
        let archive = Arc::new(Archive::open_for_serving(&config.data)?);
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = web::Data::new(AppState {
            archive,
            exports: Arc::new(ExportSlots::new(
                config.max_exports,
                config.max_exports_per_client,
            )),
            advertisers: Default::default(),
            // Twice the cores: a request's reading of records and writing
            // of JSON overlaps another's search; half of them per client.
            work: Arc::new(WorkSlots::new(
                2 * cores,
                if config.rate_limit > 0 {
                    cores
                } else {
                    2 * cores
                },
            )),
        });
        let limiter = (config.rate_limit > 0)
            .then(|| Arc::new(RateLimiter::new(config.rate_limit, config.max_in_flight)));
        let resolver = Arc::new(ClientResolver::new(config.trusted_proxies.clone()));
        let server = HttpServer::new(move || {
            let limiter = limiter.clone();
            let resolver = resolver.clone();
            App::new()
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::NotFound(err.to_string()).into()
                }))
                // Innermost: who the client is, its limits, the cost of
                // its request and the request log.
                .wrap_fn(move |req, srv| {
                    let started = Instant::now();
                    let peer = req.peer_addr().map(|a| a.ip());
                    let client = peer.map(|peer| {
                        let forwarded = req
                            .headers()
                            .get_all("x-forwarded-for")
                            .filter_map(|v| v.to_str().ok());
                        ClientKey::of(resolver.client(peer, forwarded))
                    });
                    if let Some(client) = client {
                        req.extensions_mut().insert(Client(client));
                    }
                    let (method, path, query) = (
                        req.method().clone(),
                        req.path().to_owned(),
                        req.query_string().to_owned(),
                    );
                    let admitted = match (&limiter, client) {
                        (Some(limiter), Some(client)) => Some(limiter.admit(client)),
                        _ => None,
                    };
                    // A refusal is answered after a pause (at most a second,
                    // as nginx's limit_req delays): a client that ignores
                    // Retry-After cannot spin the server on refusals.
                    let outcome = match admitted {
                        Some(Err(Refusal::Rate(wait))) => Err((
                            req.error_response(ApiError::TooManyRequests(wait.as_secs() + 1)),
                            wait.min(Duration::from_secs(1)),
                        )),
                        Some(Err(Refusal::Busy)) => Err((
                            req.error_response(ApiError::TooManyAtOnce(
                                "this client has as many requests in flight as it may; wait for one to finish".into(),
                            )),
                            Duration::from_millis(250),
                        )),
                        Some(Ok(admission)) => Ok((srv.call(req), Some(admission))),
                        None => Ok((srv.call(req), None)),
                    };
                    async move {
                        let (res, admission) = match outcome {
                            Ok((fut, admission)) => (
                                fut.await.map(ServiceResponse::map_into_boxed_body),
                                admission,
                            ),
                            Err((refused, pause)) => {
                                actix_web::rt::time::sleep(pause).await;
                                (Ok(refused), None)
                            }
                        };
                        let work = started.elapsed();
                        let cost = super::limit::cost(work);
                        if let Some(admission) = &admission {
                            admission.charge(work);
                        }
                        let res = res.map(|mut res| {
                            security_headers(&path, res.headers_mut());
                            res
                        });
                        let status = res.as_ref().map(|r| r.status().as_u16()).unwrap_or(500);
                        let client = client.map(|c| c.to_string()).unwrap_or_default();
                        tracing::info!(
                            %client,
                            %method,
                            %path,
                            %query,
                            status,
                            elapsed_ms = work.as_millis() as u64,
                            cost,
                            "request"
                        );
                        res
                    }
                })
                .wrap(Compress::default())
                // Public data: any origin may read it, refusals included, so
                // that a browser can read `Retry-After`.
                .wrap(
                    actix_cors::Cors::default()
                        .allow_any_origin()
                        .allowed_methods(["GET", "HEAD"])
                        .allowed_headers([
                            header::IF_NONE_MATCH,
                            header::ACCEPT,
                            header::ACCEPT_LANGUAGE,
                            header::CONTENT_LANGUAGE,
                            header::RANGE,
                        ])
                        .expose_headers(["etag", "retry-after", "content-disposition"])
                        .max_age(86_400),
                )
                .service(routes::health::healthz)
                .service(routes::ads::ads)
                .service(routes::ads::ad)
                .service(routes::ads::history)
                .service(routes::ads::provenance)
                .service(routes::spend::spend)
                .service(routes::advertisers::advertisers)
                .service(routes::advertisers::advertiser)
                .service(routes::export::export)
                .service(routes::sources::sources)
                .service(routes::sources::source)
                .route(
                    "/openapi.json",
                    web::route()
                        .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
                        .to(|| async {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(super::openapi_json())
                        }),
                )
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header((header::LOCATION, "/docs/"))
                            .finish()
                    }),
                )
                .service(SwaggerUi::new("/docs/{_:.*}").url("/docs/openapi.json", ApiDoc::openapi()))
                .default_service(web::to(|req: actix_web::HttpRequest| async move {
                    let method = req.method();
                    if method == actix_web::http::Method::OPTIONS {
                        return Ok(HttpResponse::NoContent()
                            .insert_header((header::ALLOW, "GET, HEAD, OPTIONS"))
                            .finish());
                    }
                    if method != actix_web::http::Method::GET && method != actix_web::http::Method::HEAD {
                        return Err(ApiError::MethodNotAllowed);
                    }
                    Err::<HttpResponse, ApiError>(ApiError::NotFound(
                        "no such endpoint; see /docs".into(),
                    ))
                }))
        })
        // Slow or idle clients are not allowed to hold connections open.
        .client_request_timeout(Duration::from_secs(10))
        .client_disconnect_timeout(Duration::from_secs(5))
        .keep_alive(Duration::from_secs(30))
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
