//! `/healthz` and `/metrics`.

use actix_web::{route, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::state::AppState;
use crate::cache::CacheStats;

/// Liveness, the number of ads served, and the result cache.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Ads in the search index.
    pub ads: u64,
    /// The answers kept for repeated requests.
    pub cache: CacheStats,
}

#[utoipa::path(get, tag = "health", path = "/healthz", responses((status = 200, body = Health)))]
#[route("/healthz", method = "GET", method = "HEAD")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let count = state.archive.index().map_or(0, |i| i.num_docs());
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        ads: count,
        cache: state.results.stats(),
    })
}

/// The server's counters in the Prometheus text format.
#[utoipa::path(
    get,
    tag = "health",
    path = "/metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain"))
)]
#[route("/metrics", method = "GET", method = "HEAD")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let ads = state.archive.index().map_or(0, |i| i.num_docs());
    let cache = state.results.stats();
    let tasks = state.tasks.list();
    let waiting = tasks
        .iter()
        .filter(|t| t.status == crate::tasks::TaskStatus::Enqueued)
        .count();
    let gauges = [
        ("adarchive_ads", "gauge", "Ads in the search index.", ads),
        (
            "adarchive_cache_entries",
            "gauge",
            "Answers kept for repeated requests.",
            cache.entries,
        ),
        (
            "adarchive_cache_bytes",
            "gauge",
            "Bytes the kept answers take.",
            cache.bytes,
        ),
        (
            "adarchive_cache_budget_bytes",
            "gauge",
            "The most bytes kept answers may take.",
            cache.budget,
        ),
        (
            "adarchive_cache_hits_total",
            "counter",
            "Requests answered from the cache.",
            cache.hits,
        ),
        (
            "adarchive_cache_misses_total",
            "counter",
            "Requests the cache could not answer.",
            cache.misses,
        ),
        (
            "adarchive_tasks_waiting",
            "gauge",
            "Imports and reindexing waiting for their turn.",
            waiting as u64,
        ),
        (
            "adarchive_uploads_receiving",
            "gauge",
            "Uploads to the ingest API being received.",
            state.uploads.receiving() as u64,
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in gauges {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
