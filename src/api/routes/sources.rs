//! `/v1/sources`: the manifest and the stored bytes.

use actix_web::{route, web, HttpResponse};

use super::{attachment, json_response, not_modified, to_json};
use crate::api::error::{ApiError, Problem};
use crate::api::state::AppState;

/// Every stored source, in import order.
#[utoipa::path(get, tag = "sources", path = "/v1/sources", responses((status = 200, description = "Manifest entries")))]
#[route("/v1/sources", method = "GET", method = "HEAD")]
pub async fn sources(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let archive = state.archive.clone();
    let entries = web::block(move || to_json(&archive.sources()?)).await??;
    Ok(json_response(entries))
}

/// The stored bytes of a source (credentials redacted), as published.
#[utoipa::path(
    get,
    tag = "sources",
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
    let archive = state.archive.clone();
    let described = entry.clone();
    let media_type = web::block(move || archive.media_type_of(&described)).await??;
    let name = entry
        .names
        .first()
        .and_then(|n| n.rsplit(['/', '!']).next().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| hash.clone());
    let file = actix_files::NamedFile::open(path)
        .map_err(|e| ApiError::Internal(e.into()))?
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
