//! Request handlers: each parses its parameters, runs one core call off the
//! async workers, and maps the result.

use std::time::Duration;

use actix_web::{route, web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, Problem, REQUEST_SECONDS};
use super::limit::ClientKey;
use super::startup::Client;
pub use super::state::{AdvertiserCache, AppState, ExportSlots};
use crate::advertisers::Entity;
use crate::archive::{Archive, Observation, SourceEntry};
use crate::search::deadline::CancelOnDrop;
use crate::search::export::{export as export_ads, ExportFormat, EXPORT_PAGE};
use crate::search::Deadline;
use crate::search::{search, spend_audit, ReportQuery, SearchRequest};

use super::params::{bounded, facet_limit, list, page_limit, DEFAULT_SPEND_GROUPS};
pub use super::params::{AdsParams, AdvertisersQuery, ExportParams, SpendParams, MAX_SPEND_GROUPS};

/// A deadline for one request's work, and the guard that cancels it when
/// the client goes away (the handler's future is then dropped).
fn deadline() -> (Deadline, CancelOnDrop) {
    let deadline = Deadline::after(Duration::from_secs(REQUEST_SECONDS));
    let guard = deadline.cancel_on_drop();
    (deadline, guard)
}

/// Runs heavy work (a search, spend totals, advertisers) off the async
/// workers once one of the client's work slots is free, waiting for one
/// for at most the time a request is allowed. `work` is told whether it
/// may spread over every core: only when nothing else runs.
async fn heavy<T: Send + 'static>(
    state: &AppState,
    req: &HttpRequest,
    work: impl FnOnce(bool) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let slot = tokio::time::timeout(
        Duration::from_secs(REQUEST_SECONDS),
        state.work.take(client_of(req)),
    )
    .await
    .map_err(|_| ApiError::DeadlineExceeded(REQUEST_SECONDS))??;
    web::block(move || work(slot.alone())).await?
}

/// A value as a JSON body: called inside the blocking work, so that large
/// answers are serialized off the async workers.
fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A `200` with a JSON body made by [`to_json`].
fn json_response(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The client a request counts against.
fn client_of(req: &HttpRequest) -> Option<ClientKey> {
    req.extensions().get::<Client>().map(|c| c.0)
}

/// Liveness and the number of ads served.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Ads in the search index.
    pub ads: u64,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
#[route("/healthz", method = "GET", method = "HEAD")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let count = state.archive.index().map_or(0, |i| i.num_docs());
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        ads: count,
    })
}

/// Search ads: the latest version of each, one page at a time.
#[utoipa::path(
    get,
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
    let mut params = query.into_inner();
    let (query, filters) = params.take_filters()?;
    let (deadline, _cancel) = deadline();
    let mut request = SearchRequest {
        query,
        filters,
        sort: params.sort.unwrap_or_default(),
        limit: page_limit(params.limit)?,
        cursor: params.cursor,
        facets: list(params.facets),
        facet_limit: facet_limit(params.facet_limit)?,
        deadline,
        ..SearchRequest::default()
    };
    let archive = state.archive.clone();
    let page = heavy(&state, &req, move |parallel| {
        request.parallel = parallel;
        to_json(&search(&archive, &request)?)
    })
    .await?;
    Ok(json_response(page))
}

/// Spend by group: ad-level sums and report-level figures side by side.
#[utoipa::path(
    get,
    path = "/v1/spend",
    params(SpendParams),
    responses(
        (status = 200, description = "`origin`, `total_ads`, `group_by`, `ordered_by` (by spend when all of it is in one currency, else by number of ads; weeks and months by period) and `groups` (ad-level: summed lower and upper bounds of the matching ads' published ranges, per currency); `reports` (report-level: the figures of the platforms' spend reports of `report_kind`, per currency, with the reports and rows they come from); `conversion` (with `convert_to` and imported ECB rates: each figure converted on its own, labelled as an estimate with the rate's date; otherwise why there is none). With `format=csv`: the same as CSV for spreadsheets"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/spend", method = "GET", method = "HEAD")]
pub async fn spend(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SpendParams>,
) -> Result<HttpResponse, ApiError> {
    let mut params = query.into_inner();
    let (query, filters) = params.take_filters()?;
    let group_by = params.group_by.ok_or_else(|| ApiError::BadParameter {
        param: "group_by".into(),
        message:
            "`group_by` is required: advertiser, funder, platform, country, region, week or month"
                .into(),
    })?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadParameter {
                param: "format".into(),
                message: format!("`{other}` is not `json` or `csv`"),
            })
        }
    };
    let limit =
        bounded("limit", params.limit, 1, MAX_SPEND_GROUPS)?.unwrap_or(DEFAULT_SPEND_GROUPS);
    if let Some(code) = &params.convert_to {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::BadParameter {
                param: "convert_to".into(),
                message: format!("`{code}` is not an ISO 4217 currency code such as EUR"),
            });
        }
    }
    let mut request = SearchRequest {
        query,
        filters,
        ..SearchRequest::default()
    };
    let report =
        ReportQuery::from_filters(&request.filters, params.report_kind, list(params.period));
    let (deadline, _cancel) = deadline();
    request.deadline = deadline;
    let archive = state.archive.clone();
    let convert_to = params.convert_to;
    // Built and serialized off the async workers: a response of a thousand
    // groups is large.
    let (body, group_by) = heavy(
        &state,
        &req,
        move |parallel| -> Result<(Vec<u8>, String), ApiError> {
            request.parallel = parallel;
            let audit = spend_audit(
                &archive,
                &request,
                &report,
                &group_by,
                limit,
                convert_to.as_deref(),
            )?;
            let mut body = Vec::new();
            if csv {
                crate::search::audit::write_csv(&audit, &mut body)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            } else {
                body = to_json(&audit)?;
            }
            Ok((body, audit.group_by.clone()))
        },
    )
    .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment(&format!("spend-by-{group_by}.csv")))
            .body(body));
    }
    Ok(json_response(body))
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

/// Whether the client's `If-None-Match` names `etag` (compared weakly, as
/// RFC 9110 asks for `If-None-Match`), for a resource that exists.
fn not_modified(req: &actix_web::HttpRequest, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    req.headers()
        .get_all("if-none-match")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == ours)
}

/// A `Content-Disposition: attachment` with the name as plain ASCII (no
/// quotes, controls or path) and, when it is not ASCII, as RFC 8187
/// UTF-8 in `filename*` too.
fn attachment(name: &str) -> actix_web::http::header::ContentDisposition {
    use actix_web::http::header::{
        Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    };
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '/' | '\\' | '"') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let ascii: String = clean
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !clean.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: clean.into_bytes(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

/// One version of an ad with its record.
#[derive(Serialize)]
struct VersionWithRecord {
    #[serde(flatten)]
    version: crate::archive::Version,
    record: Option<adarchive_schema::Ad>,
}

/// Every version of an ad, oldest first, each naming the one it supersedes.
#[utoipa::path(
    get,
    path = "/v1/ads/{uid}/history",
    params(("uid" = String, Path, description = "`<platform>:<platform_ad_id>`")),
    responses(
        (status = 200, description = "Versions: `seq`, `record_hash`, `supersedes`, `source_blake3`, `observed_at`, `record`"),
        (status = 404, description = "No such ad", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/ads/{uid}/history", method = "GET", method = "HEAD")]
pub async fn history(
    state: web::Data<AppState>,
    uid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let versions = read_ad(&state, uid.into_inner(), |archive, uid| {
        let versions: Vec<_> = archive
            .history_with_records(uid)?
            .into_iter()
            .map(|(version, record)| VersionWithRecord {
                version,
                record: Some(record),
            })
            .collect();
        Ok((!versions.is_empty()).then_some(versions))
    })
    .await?;
    Ok(HttpResponse::Ok().json(versions))
}

/// The provenance trail of an ad.
#[derive(Serialize)]
struct Provenance {
    uid: String,
    observations: Vec<Observation>,
    sources: Vec<SourceEntry>,
}

/// Every observation of an ad (source hash, line and byte range, raw and
/// record hashes, importer and version) and the sources they come from.
#[utoipa::path(
    get,
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
        let observations = archive.observations_of(uid)?;
        if observations.is_empty() {
            return Ok(None);
        }
        let mut entries: Vec<SourceEntry> = Vec::new();
        for o in &observations {
            if !entries.iter().any(|s| s.blake3 == o.source_blake3) {
                entries.extend(archive.source(&o.source_blake3)?);
            }
        }
        Ok(Some(Provenance {
            uid: uid.to_owned(),
            observations,
            sources: entries,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(trail))
}

/// Every stored source, in import order.
#[utoipa::path(get, path = "/v1/sources", responses((status = 200, description = "Manifest entries")))]
#[route("/v1/sources", method = "GET", method = "HEAD")]
pub async fn sources(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let archive = state.archive.clone();
    let entries = web::block(move || to_json(&archive.sources()?)).await??;
    Ok(json_response(entries))
}

/// The first bytes of a stored source, enough to tell JSON from CSV.
fn first_bytes(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(256);
    std::fs::File::open(path)?
        .take(256)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// The stored bytes of a source (credentials redacted), as published.
#[utoipa::path(
    get,
    path = "/v1/sources/{blake3}",
    params(("blake3" = String, Path, description = "blake3 of the stored bytes, 64 hex digits")),
    responses(
        (status = 200, description = "The original bytes; `ETag` is the hash"),
        (status = 304, description = "Not modified since the `If-None-Match` tag"),
        (status = 404, description = "No such source", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/sources/{blake3}", method = "GET", method = "HEAD")]
pub async fn source(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    hash: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = hash.into_inner().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound(format!("`{hash}` is not a source hash")));
    }
    let archive = state.archive.clone();
    let key = hash.clone();
    let entry = web::block(move || archive.source(&key)).await??;
    let entry = entry.ok_or_else(|| ApiError::NotFound(format!("no source `{hash}`")))?;
    // Sources are addressed by their content: the hash is the tag, forever.
    // They are always sent as stored, never compressed on the fly, so one
    // strong tag fits every response.
    let etag = format!("\"{hash}\"");
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header(("etag", etag))
            .finish());
    }
    let path = state.archive.source_path(&hash);
    let media_type = match entry.format.as_str() {
        "zip" => "application/zip",
        format => match adarchive_importers::by_name(format) {
            None => "application/octet-stream",
            Some(importer) => {
                let at = path.clone();
                let head = web::block(move || first_bytes(&at))
                    .await?
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                importer.media_type_of(&head)
            }
        },
    };
    let name = entry
        .names
        .first()
        .and_then(|n| n.rsplit(['/', '!']).next().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| hash.clone());
    let file = actix_files::NamedFile::open(path)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .set_content_type(
            media_type
                .parse::<mime::Mime>()
                .unwrap_or(mime::APPLICATION_OCTET_STREAM),
        )
        .set_content_disposition(attachment(&name))
        .set_content_encoding(actix_web::http::header::ContentEncoding::Identity)
        .use_etag(false)
        .use_last_modified(false);
    let mut response = file.into_response(&req);
    let headers = response.headers_mut();
    if let Ok(v) = etag.parse() {
        headers.insert(actix_web::http::header::ETAG, v);
    }
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}

/// How long an export waits for its client to take the next piece before
/// it gives up: a client that stopped reading frees its slot and memory.
pub const EXPORT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pieces of an export the response stream may hold; with
/// [`EXPORT_PIECE`], what one export queues for a slow client.
const EXPORT_QUEUE: usize = 4;
const EXPORT_PIECE: usize = 64 * 1024;

/// Hands written bytes to the response stream in small pieces; fails once
/// the client is gone or has not taken a piece for the write timeout.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    timeout: Duration,
}

impl ChannelWriter {
    /// Waits for room in the stream for at most the write timeout. Runs on
    /// a blocking thread of the server's runtime, which drives the timer.
    fn send(&self, item: Result<web::Bytes, std::io::Error>) -> std::io::Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        match runtime.block_on(tokio::time::timeout(self.timeout, self.tx.send(item))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client gone",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            )),
        }
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let piece = &buf[..buf.len().min(EXPORT_PIECE)];
        self.send(Ok(web::Bytes::copy_from_slice(piece)))?;
        Ok(piece.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every matching ad, streamed as NDJSON or CSV from one snapshot of the
/// index, with no page limit.
#[utoipa::path(
    get,
    path = "/v1/export",
    params(ExportParams),
    responses(
        (status = 200, description = "NDJSON: one ad per line, and after every 10,000 ads a `{\"next_cursor\":…}` line to resume from (pass it as `cursor`). CSV: the columns of docs/api.md, lists and objects as JSON cells, formula-like cells prefixed with `'`, and `resume_cursor` on the last row of every 10,000"),
        (status = 400, description = "A parameter is unknown or not allowed", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/export", method = "GET", method = "HEAD")]
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let mut params = query.into_inner();
    let format = ExportFormat::parse(params.format.as_deref().unwrap_or("ndjson"))?;
    let (query, filters) = params.take_filters()?;
    let request = SearchRequest {
        query,
        filters,
        sort: params.sort.unwrap_or_default(),
        cursor: params.cursor,
        ..SearchRequest::default()
    };
    // Parameters are checked before the stream starts, so that a mistake is
    // a 400 and not a broken download.
    let archive = state.archive.clone();
    let (deadline, _cancel) = deadline();
    let probe = SearchRequest {
        limit: 1,
        snippets: false,
        deadline,
        ..request.clone()
    };
    heavy(&state, &req, move |parallel| {
        Ok(search(&archive, &SearchRequest { parallel, ..probe })?)
    })
    .await?;

    // The slot is taken here, so that a refusal is an answer and not a
    // broken stream, and held by the export's thread until it ends: it
    // finished, failed, or its client went away or stopped reading.
    let slot = state.exports.take(client_of(&req))?;
    // Exports are long and several may run: each on its own thread, never
    // in the pool a short search may use.
    let request = SearchRequest {
        parallel: false,
        ..request
    };
    let archive = state.archive.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
    actix_web::rt::task::spawn_blocking(move || {
        let _slot = slot;
        let mut out = ChannelWriter {
            tx,
            timeout: EXPORT_WRITE_TIMEOUT,
        };
        if let Err(e) = export_ads(&archive, &request, format, EXPORT_PAGE, &mut out) {
            tracing::warn!(error = %e, "export ended early");
            let _ = out.send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let name = match format {
        ExportFormat::Ndjson => "adarchive-export.ndjson",
        ExportFormat::Csv => "adarchive-export.csv",
    };
    let http10 = req.version() == actix_web::http::Version::HTTP_10;
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(attachment(name));
    if http10 {
        // HTTP/1.0 has no chunked encoding: the body ends when the
        // connection closes.
        response.force_close();
    }
    let mut response = response.streaming(stream);
    if http10 {
        response.head_mut().no_chunking(true);
    }
    Ok(response)
}

/// Advertisers across platforms: each entity with its platform identities
/// and the evidence that joins them.
#[utoipa::path(
    get,
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
            let detail =
                crate::advertisers::detail_of(&state.archive, entity.clone(), &deadline, parallel)?;
            to_json(&detail).map(Some)
        },
    )
    .await?;
    match found {
        Some(body) => Ok(json_response(body)),
        None => Err(ApiError::NotFound(format!("no advertiser `{id}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn an_export_whose_client_stops_reading_gives_up() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(EXPORT_QUEUE);
        let written = tokio::task::spawn_blocking(move || {
            let mut out = ChannelWriter {
                tx,
                timeout: Duration::from_millis(200),
            };
            let piece = vec![b'x'; EXPORT_PIECE];
            (0..100)
                .map(|_| out.write_all(&piece))
                .find_map(Result::err)
        });
        // The reader takes one piece and then stops reading.
        assert!(rx.recv().await.is_some());
        let stopped = written.await.unwrap().expect("the writer gives up");
        assert_eq!(stopped.kind(), std::io::ErrorKind::TimedOut);
        drop(rx);
    }
}
