//! Building and running the server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::error::{query_error, ApiError};
use super::limit::{ClientResolver, RateLimiter};
use super::middleware;
pub use super::middleware::Client;
use super::routes::{self, AppState, ExportSlots};
use super::state::WorkSlots;
use super::ApiDoc;
use crate::archive::Archive;
use crate::tasks::handover::{self, Listening};
use crate::tasks::Tasks;

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
    /// The largest upload the ingest API takes, in bytes.
    pub max_upload_bytes: u64,
    /// Uploads the ingest API receives at once.
    pub max_uploads: usize,
    /// Bytes of answers kept for repeated requests; 0 keeps none.
    pub cache_bytes: usize,
    /// Collections run at start and every `collect_every`.
    pub collect: Vec<crate::collect::schedule::Scheduled>,
    /// The period of the scheduled collections.
    pub collect_every: Duration,
    /// The transparency log's origin, when its key is still to be made.
    pub log_origin: Option<String>,
    /// Verifier keys of the logs this instance cosigns as a witness.
    pub witness_for: Vec<String>,
    /// Witnesses this instance's log asks to cosign its checkpoints.
    pub witnesses: Vec<crate::tlog::Witness>,
    /// How often the witnesses are asked.
    pub witness_every: Duration,
}

/// Tokens per second per client, by default.
pub const DEFAULT_RATE_LIMIT: u32 = 50;
/// Requests one client may have in flight, by default.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 4;
/// Exports at once over all clients, by default.
pub const DEFAULT_MAX_EXPORTS: usize = 4;
/// Exports at once per client, by default.
pub const DEFAULT_MAX_EXPORTS_PER_CLIENT: usize = 1;
/// The largest upload, by default: 4 GiB, room for the largest exports
/// the platforms publish as one file.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 << 30;
/// Uploads received at once, by default.
pub const DEFAULT_MAX_UPLOADS: usize = 2;
/// Bytes of kept answers, by default: 64 MiB, about a thousand pages of
/// results with facets.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

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
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_uploads: DEFAULT_MAX_UPLOADS,
            cache_bytes: DEFAULT_CACHE_BYTES,
            collect: Vec::new(),
            collect_every: Duration::from_secs(86_400),
            log_origin: None,
            witness_for: Vec::new(),
            witnesses: Vec::new(),
            witness_every: Duration::from_secs(60),
        }
    }
}

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The archive could not be opened for serving.
    #[error("cannot serve the archive at {}", data.display())]
    Archive {
        /// The data folder.
        data: PathBuf,
        /// Why.
        #[source]
        source: crate::Error,
    },
    /// The thread that runs imports could not be started.
    #[error("cannot start the task thread")]
    Tasks(#[source] std::io::Error),
    /// The address cannot be listened on.
    #[error("cannot listen on {bind}")]
    Listen {
        /// The address asked for.
        bind: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    tasks: StopWhenDropped,
    /// The control socket, while the server runs.
    control: Option<Listening>,
}

/// The task queue, told to stop when the server is dropped, whether it
/// ran to its end or not.
struct StopWhenDropped(Tasks);

impl Drop for StopWhenDropped {
    fn drop(&mut self) {
        self.0.stop();
    }
}

impl Application {
    /// Opens the archive and binds the listener.
    pub fn build(config: &ApiConfig) -> Result<Self, StartupError> {
        let opened = Archive::open_for_serving(&config.data).and_then(|archive| {
            archive.open_log(config.log_origin.as_deref())?;
            Ok(archive)
        });
        let archive = Arc::new(opened.map_err(|source| StartupError::Archive {
            data: config.data.clone(),
            source,
        })?);
        let tasks = Tasks::start(Arc::clone(&archive)).map_err(StartupError::Tasks)?;
        let warming = Arc::clone(&archive);
        let _ = std::thread::Builder::new()
            .name("warm".into())
            .spawn(move || crate::spend::warm(&warming));
        // Commands that find the archive busy hand their work over here.
        let control = match handover::listen(&config.data, tasks.clone()) {
            Ok(listening) => Some(listening),
            Err(e) => {
                tracing::warn!(
                    "cannot listen on {}: {e}; `adarchive import` cannot run while this server does",
                    handover::socket_path(&config.data).display()
                );
                None
            }
        };
        let listen = |source| StartupError::Listen {
            bind: config.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&config.bind).map_err(listen)?;
        let port = listener.local_addr().map_err(listen)?.port();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let collections = crate::collect::schedule::start(
            config.collect.clone(),
            config.collect_every,
            crate::collect::Patience::default(),
            config.data.clone(),
            tasks.clone(),
        )
        .map_err(StartupError::Tasks)?;
        // Uploads a stopped server left half-received.
        let uploads = config.data.join(routes::admin::UPLOADS_DIR);
        if let Err(e) = std::fs::remove_dir_all(&uploads) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot empty {}: {e}", uploads.display());
            }
        }
        let witness = if config.witness_for.is_empty() {
            None
        } else {
            let origin = archive
                .open_log(None)
                .map(|k| format!("{}/witness", k.origin()))
                .map_err(|source| StartupError::Archive {
                    data: config.data.clone(),
                    source,
                })?;
            let key = archive
                .witness_key(&origin)
                .map_err(|source| StartupError::Archive {
                    data: config.data.clone(),
                    source,
                })?;
            Some(Arc::new((config.witness_for.clone(), key)))
        };
        if !config.witnesses.is_empty() {
            let (archive, witnesses, every) = (
                Arc::clone(&archive),
                config.witnesses.clone(),
                config.witness_every,
            );
            let _ = std::thread::Builder::new()
                .name("witnesses".into())
                .spawn(move || loop {
                    match archive.ask_witnesses(&witnesses) {
                        Ok(failures) => {
                            for failure in failures {
                                tracing::warn!("witness: {failure}");
                            }
                        }
                        Err(e) => tracing::warn!("asking the witnesses: {e}"),
                    }
                    std::thread::sleep(every);
                });
        }
        let state = web::Data::new(AppState {
            witness,
            archive,
            tasks: tasks.clone(),
            results: crate::cache::ResultCache::new(config.cache_bytes),
            collections,
            uploads: routes::admin::UploadSlots::new(config.max_uploads),
            uploads_max_bytes: config.max_upload_bytes,
            exports: Arc::new(ExportSlots::new(
                config.max_exports,
                config.max_exports_per_client,
            )),
            advertisers: Default::default(),
            timeline_of_all: Default::default(),
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
                .app_data(
                    web::QueryConfig::default().error_handler(|err, _| query_error(err).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|err, _| ApiError::NotFound(err.to_string()).into()),
                )
                // Innermost: who the client is, its limits, the cost of
                // its request and the request log.
                .wrap_fn(move |req, srv| middleware::clients(req, srv, limiter.as_ref(), &resolver))
                .wrap(Compress::default())
                .wrap(middleware::cors())
                .configure(crate::web::configure)
                .service(routes::health::healthz)
                .service(routes::health::metrics)
                .service(routes::ads::ads)
                .service(routes::ads::ad)
                .service(routes::ads::history)
                .service(routes::ads::provenance)
                .service(routes::ads::listings)
                .service(routes::changes::changes_page)
                .service(routes::changes::scopes)
                .service(routes::spend::spend)
                .service(routes::advertisers::advertisers)
                .service(routes::advertisers::advertiser)
                .service(routes::export::export)
                .service(routes::sources::sources)
                .service(routes::sources::source)
                .service(routes::log::checkpoint)
                .service(routes::log::key)
                .service(routes::log::tile)
                .service(routes::log::consistency)
                .service(routes::log::witness_key)
                .service(routes::log::add_checkpoint)
                .service(routes::admin::imports)
                .service(routes::admin::tasks)
                .service(routes::admin::task)
                .service(routes::admin::collections)
                .route(
                    "/openapi.json",
                    web::route()
                        .guard(
                            actix_web::guard::Any(actix_web::guard::Get())
                                .or(actix_web::guard::Head()),
                        )
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
                .service(
                    SwaggerUi::new("/docs/{_:.*}").url("/docs/openapi.json", ApiDoc::openapi()),
                )
                .default_service(web::to(|req: actix_web::HttpRequest| async move {
                    use actix_web::http::Method;
                    let method = req.method();
                    // Uploads and a witness's checkpoints are the resources
                    // written to; every other is read.
                    let (allowed, answered): (&'static str, &[Method]) = if req.path()
                        == "/v1/admin/imports"
                        || req.path() == "/v1/witness/add-checkpoint"
                    {
                        ("POST, OPTIONS", &[Method::POST])
                    } else {
                        ("GET, HEAD, OPTIONS", &[Method::GET, Method::HEAD])
                    };
                    if method == Method::OPTIONS {
                        return Ok(HttpResponse::NoContent()
                            .insert_header((header::ALLOW, allowed))
                            .finish());
                    }
                    if !answered.contains(method) {
                        return Err(ApiError::MethodNotAllowed(allowed));
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
        .listen(listener)
        .map_err(listen)?
        .run();
        Ok(Application {
            port,
            server,
            tasks: StopWhenDropped(tasks),
            control,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    /// The task queue takes nothing more; the import running ends on its
    /// own or with the process (each source commits whole or not at all).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        drop(self.control);
        drop(self.tasks);
        served
    }
}
