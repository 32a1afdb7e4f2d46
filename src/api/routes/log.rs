//! `/v1/log/`: the transparency log at the addresses of C2SP `tlog-tiles`
//! (checkpoint, tiles, entry bundles), its verifier key, and consistency
//! proofs between two of its sizes.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{route, web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::error::{ApiError, Problem};
use crate::api::state::AppState;
use crate::tlog::TilePath;

const TEXT: &str = "text/plain; charset=utf-8";
/// A tile's bytes never change once it exists: the same path always holds
/// the same hashes (a partial tile is a different path).
const FOREVER: &str = "public, max-age=31536000, immutable";
/// The checkpoint grows with every import.
const BRIEFLY: &str = "public, max-age=5";

/// What the log says of itself (checkpoint, key) as short-lived text, or
/// a 404 while it is empty.
async fn log_text(
    state: &AppState,
    read: impl FnOnce(&crate::archive::Archive) -> crate::Result<Option<Vec<u8>>> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let archive = state.archive.clone();
    let text = web::block(move || read(&archive)).await??.ok_or_else(|| {
        ApiError::NotFound("the log is empty: nothing has been archived yet".into())
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, TEXT))
        .insert_header((CACHE_CONTROL, BRIEFLY))
        .body(text))
}

/// The newest signed checkpoint (C2SP `tlog-checkpoint`).
#[utoipa::path(
    get,
    tag = "log",
    path = "/v1/log/checkpoint",
    responses(
        (status = 200, description = "The checkpoint as a signed note: origin, tree size, root hash (base64), then the log's Ed25519 signature line and the cosignatures (cosignature/v1) of the witnesses that cosigned this size", content_type = "text/plain"),
        (status = 404, description = "Nothing archived yet", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/log/checkpoint", method = "GET", method = "HEAD")]
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    log_text(&state, |archive| archive.log_checkpoint_cosigned()).await
}

/// The key the checkpoints are signed with, as a signed-note verifier key.
#[utoipa::path(
    get,
    tag = "log",
    path = "/v1/log/key",
    responses(
        (status = 200, description = "`<origin>+<key id>+<base64 key>`, one line", content_type = "text/plain"),
        (status = 404, description = "Nothing archived yet", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/log/key", method = "GET", method = "HEAD")]
pub async fn key(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    log_text(&state, |archive| {
        Ok(archive
            .log_verifier_key()?
            .map(|key| format!("{key}\n").into_bytes()))
    })
    .await
}

/// A tile of the log's hashes (`tile/<L>/<N>[.p/<W>]`) or an entry bundle
/// (`tile/entries/<N>[.p/<W>]`), as C2SP `tlog-tiles` names and encodes
/// them.
#[utoipa::path(
    get,
    tag = "log",
    path = "/v1/log/tile/{tile}",
    params(("tile" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in three-digit groups (`x001/234`)")),
    responses(
        (status = 200, description = "The tile's hashes (32 bytes each) or the bundle's entries (each after its length, 2 bytes big-endian); immutable", content_type = "application/octet-stream"),
        (status = 404, description = "Not a tile path, or a tile the log does not have yet", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/log/tile/{tile:.+}", method = "GET", method = "HEAD")]
pub async fn tile(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let asked = path.into_inner();
    let tile = TilePath::parse(&asked)
        .ok_or_else(|| ApiError::NotFound("not a tile: see C2SP tlog-tiles".into()))?;
    let archive = state.archive.clone();
    let data = web::block(move || archive.log_tile(&tile))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("the log has no tile {tile} yet")))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/octet-stream"))
        .insert_header((CACHE_CONTROL, FOREVER))
        .body(data))
}

/// The two tree sizes of a consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The earlier tree size (at least 1).
    #[param(minimum = 1)]
    pub from: u64,
    /// The later tree size (at most the log's).
    #[param(minimum = 1)]
    pub to: u64,
}

/// A consistency proof (RFC 9162 §2.1.4) between two sizes of the log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub from: u64,
    /// The later size.
    pub to: u64,
    /// The proof's hashes, base64, in order.
    pub proof: Vec<String>,
}

/// The proof that the log of `from` entries is a prefix of the log of `to`
/// entries: what a client that saved an earlier checkpoint checks the
/// current one against.
#[utoipa::path(
    get,
    tag = "log",
    path = "/v1/log/proof/consistency",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyProof),
        (status = 400, description = "`from` is 0 or larger than `to`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The log is not yet `to` entries long", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/log/proof/consistency", method = "GET", method = "HEAD")]
pub async fn consistency(
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let ConsistencyQuery { from, to } = query.into_inner();
    let archive = state.archive.clone();
    let proof = web::block(move || archive.log_consistency(from, to))
        .await?
        .map_err(|e| match e {
            crate::Error::Log(crate::tlog::LogError::OutOfRange(message)) => {
                ApiError::BadParameter {
                    param: "from".into(),
                    message,
                }
            }
            crate::Error::Log(crate::tlog::LogError::NotYet(message)) => {
                ApiError::NotFound(message)
            }
            other => other.into(),
        })?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        from,
        to,
        proof: crate::tlog::base64_hashes(&proof.hashes),
    }))
}

/// This instance's witness key (cosignature/v1), when it witnesses logs.
#[utoipa::path(
    get,
    tag = "log",
    path = "/v1/witness/key",
    responses(
        (status = 200, description = "`<name>+<key id>+<base64 of 0x04 and the key>`", content_type = "text/plain"),
        (status = 404, description = "This instance witnesses no log", body = Problem, content_type = "application/problem+json")
    )
)]
#[route("/v1/witness/key", method = "GET", method = "HEAD")]
pub async fn witness_key(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let witness = state
        .witness
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this instance witnesses no log".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, TEXT))
        .body(format!("{}\n", witness.1.verifier_key())))
}

/// C2SP `tlog-witness`: cosigns a checkpoint of a log this instance
/// witnesses, once it extends the last one cosigned for that log.
#[utoipa::path(
    post,
    tag = "log",
    path = "/v1/witness/add-checkpoint",
    request_body(content = String, content_type = "text/plain", description = "`old <size>`, the consistency proof's lines (base64), an empty line, the signed checkpoint"),
    responses(
        (status = 200, description = "The cosignature line (cosignature/v1)", content_type = "text/plain"),
        (status = 400, description = "Malformed, or the old size is past the checkpoint's", content_type = "text/plain"),
        (status = 403, description = "Not signed by the log's key", content_type = "text/plain"),
        (status = 404, description = "A log this instance does not witness", content_type = "text/plain"),
        (status = 409, description = "The old size is not the one last cosigned: that size", content_type = "text/x.tlog.size"),
        (status = 422, description = "The checkpoint does not extend the one last cosigned", content_type = "text/plain")
    )
)]
#[route("/v1/witness/add-checkpoint", method = "POST")]
pub async fn add_checkpoint(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    use crate::tlog::WitnessAnswer;
    use actix_web::http::StatusCode;
    let Some(witness) = state.witness.clone() else {
        return Ok(HttpResponse::NotFound()
            .insert_header((CONTENT_TYPE, TEXT))
            .body("this instance witnesses no log\n"));
    };
    let archive = state.archive.clone();
    let answer =
        web::block(move || archive.witness_add_checkpoint(&witness.0, &witness.1, &body)).await??;
    let (status, content_type, body) = match answer {
        WitnessAnswer::Cosigned(line) => (StatusCode::OK, TEXT, line),
        WitnessAnswer::BadRequest(why) => (StatusCode::BAD_REQUEST, TEXT, why + "\n"),
        WitnessAnswer::Forbidden(why) => (StatusCode::FORBIDDEN, TEXT, why + "\n"),
        WitnessAnswer::UnknownLog(why) => (StatusCode::NOT_FOUND, TEXT, why + "\n"),
        WitnessAnswer::Conflict(size) => (
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{size}\n"),
        ),
        WitnessAnswer::Inconsistent(why) => (StatusCode::UNPROCESSABLE_ENTITY, TEXT, why + "\n"),
    };
    Ok(HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, content_type))
        .body(body))
}
