//! Request handlers, one file per resource: each parses its parameters
//! (declared in [`super::params`]), runs one core call off the async
//! workers, and maps the result.

pub mod admin;
pub mod ads;
pub mod advertisers;
pub mod changes;
pub mod export;
pub mod health;
pub mod log;
pub mod sources;
pub mod spend;

use std::time::Duration;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::{ApiError, REQUEST_SECONDS};
use super::limit::ClientKey;
use super::middleware::Client;
pub use super::params::{AdsParams, AdvertisersQuery, ExportParams, SpendParams, MAX_SPEND_GROUPS};
pub use super::state::{AdvertiserCache, AppState, ExportSlots};
use crate::search::deadline::CancelOnDrop;
use crate::search::Deadline;
pub use advertisers::LISTED_MEMBERS;
pub use export::EXPORT_WRITE_TIMEOUT;

/// A deadline for one request's work, and the guard that cancels it when
/// the client goes away (the handler's future is then dropped).
pub(crate) fn deadline() -> (Deadline, CancelOnDrop) {
    let deadline = Deadline::after(Duration::from_secs(REQUEST_SECONDS));
    let guard = deadline.cancel_on_drop();
    (deadline, guard)
}

/// Runs heavy work (a search, spend totals, advertisers) off the async
/// workers once one of the client's work slots is free, waiting for one
/// for at most the time a request is allowed. `work` is told whether it
/// may spread over every core: only when nothing else runs.
pub(crate) async fn heavy<T: Send + 'static>(
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

/// What kept answers are valid for: the archive as it is now.
fn generation(state: &AppState) -> Result<crate::cache::Generation, ApiError> {
    Ok(crate::cache::Generation {
        sources: state.archive.source_count()?,
        searcher: state
            .archive
            .search_index()?
            .searcher()
            .generation()
            .generation_id(),
    })
}

/// Answers `req` as it was answered before, while the archive has not
/// changed since; or with `answer`, keeping a `200` for the next time.
pub(crate) async fn through_cache(
    state: &AppState,
    req: &HttpRequest,
    answer: impl std::future::Future<Output = Result<HttpResponse, ApiError>>,
) -> Result<HttpResponse, ApiError> {
    let key = crate::cache::request_key(req.path(), req.query_string());
    let generation = generation(state)?;
    if let Some(kept) = state.results.get(generation, &key) {
        let mut response = HttpResponse::Ok();
        for (name, value) in &kept.meta {
            response.insert_header((name.clone(), value.clone()));
        }
        return Ok(response.body(kept.body.clone()));
    }
    let response = answer.await?;
    if response.status() != actix_web::http::StatusCode::OK {
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| ApiError::Internal(e.to_string().into()))?;
    let headers = head
        .headers()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    state.results.put(
        generation,
        key,
        crate::cache::Kept {
            body: bytes.to_vec(),
            meta: headers,
        },
    );
    Ok(head.set_body(bytes).map_into_boxed_body())
}

/// A value as a JSON body: called inside the blocking work, so that large
/// answers are serialized off the async workers.
pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))
}

/// A `200` with a JSON body made by [`to_json`].
pub(super) fn json_response(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// The client a request counts against.
pub(super) fn client_of(req: &HttpRequest) -> Option<ClientKey> {
    req.extensions().get::<Client>().map(|c| c.0)
}

/// Whether the client's `If-None-Match` names `etag` (compared weakly, as
/// RFC 9110 asks for `If-None-Match`), for a resource that exists.
pub(super) fn not_modified(req: &actix_web::HttpRequest, etag: &str) -> bool {
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
pub(super) fn attachment(name: &str) -> actix_web::http::header::ContentDisposition {
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

/// The `sort` parameter, typed; empty means the default order.
pub(crate) fn sort_param(text: Option<&str>) -> Result<Option<crate::search::Sort>, ApiError> {
    Ok(text
        .filter(|t| !t.trim().is_empty())
        .map(str::parse)
        .transpose()?)
}
