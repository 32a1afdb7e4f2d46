//! The web pages, served by the same binary as the API: server-rendered
//! HTML (askama templates, escaped by default) over the same core and the
//! same parameters as the JSON API, with no script and nothing loaded
//! from another host. Every page is a permalink whose query string uses
//! the API's parameter names, and links its JSON twin.
//!
//! - `/` searches, as `/v1/ads` does, with facets, a chart of ads per
//!   month and the export links;
//! - `/ads/{uid}` shows one ad: every field, versions and what changed,
//!   and the provenance of every reading down to the bytes;
//! - `/advertisers/{id}` shows one advertiser across platforms, the
//!   evidence joining its identities and its spend as ads and reports
//!   give it;
//! - `/spend` sets ad-level sums beside the platforms' report figures, as
//!   `/v1/spend` does, with its CSV;
//! - `/sources` lists every archived file and how to check it;
//! - `/about` says what the data is and is not;
//! - `/feed.atom` follows a search: its newest ads, as Atom;
//! - `/changes` lists what changed between complete listings, as
//!   `/v1/changes` does, with every scope's listings over time, and
//!   `/changes.atom` follows them.

mod changes;
mod feed;
pub mod format;
mod pages;
pub mod views;

use actix_web::{guard, web};

pub use pages::PAGE_POLICY;

/// A route answering GET and HEAD.
fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the pages and their stylesheet.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", read().to(pages::search_page))
        .route("/ads/{uid}", read().to(pages::ad_page))
        .route("/advertisers/{id}", read().to(pages::advertiser_page))
        .route("/spend", read().to(pages::spend_page))
        .route("/sources", read().to(pages::sources_page))
        .route("/about", read().to(pages::about_page))
        .route("/feed.atom", read().to(feed::search_feed))
        .route("/changes", read().to(changes::changes_page))
        .route("/changes.atom", read().to(changes::changes_feed))
        .route("/assets/style.css", read().to(pages::style));
}
