//! What wraps every request: who the client is, whether its limits let
//! the request in, what the request cost, the security headers of the
//! response, the request log, and cross-origin reading.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpMessage;

use super::error::ApiError;
use super::limit::{ClientKey, ClientResolver, RateLimiter, Refusal};

/// The client a request counts against, as the middleware found it.
#[derive(Clone, Copy, Debug)]
pub struct Client(pub ClientKey);

/// Finds the request's client, lets the request in or refuses it by the
/// client's limits, charges it for its work, sets the security headers
/// and logs it. A refusal is answered after a pause (at most a second, as
/// nginx's `limit_req` delays): a client that ignores `Retry-After` cannot
/// spin the server on refusals.
pub(super) fn clients<S, B>(
    req: ServiceRequest,
    srv: &S,
    limiter: Option<&Arc<RateLimiter>>,
    resolver: &ClientResolver,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
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
    let (method, path) = (req.method().clone(), req.path().to_owned());
    // The admin API's query strings are not logged, lest a key sent in
    // the wrong place reach the log.
    let query = if path.starts_with("/v1/admin") {
        String::new()
    } else {
        req.query_string().to_owned()
    };
    let admitted = match (limiter, client) {
        (Some(limiter), Some(client)) => Some(limiter.admit(client)),
        _ => None,
    };
    let outcome = match admitted {
        Some(Err(Refusal::Rate(wait))) => Err((
            req.error_response(ApiError::TooManyRequests(wait.as_secs() + 1)),
            wait.min(Duration::from_secs(1)),
        )),
        Some(Err(Refusal::Busy)) => Err((
            req.error_response(ApiError::TooManyAtOnce(
                "this client has as many requests in flight as it may; wait for one to finish"
                    .into(),
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
            // An upload takes as long as the operator's line, and is
            // bounded by the upload limits instead.
            admission.charge(if path.starts_with("/v1/admin") {
                Duration::ZERO
            } else {
                work
            });
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
}

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

/// Public data: any origin may read it, refusals included, so that a
/// browser can read `Retry-After`.
pub(super) fn cors() -> actix_cors::Cors {
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
        .max_age(86_400)
}
