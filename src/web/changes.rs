//! `/changes` and `/changes.atom`: what changed between complete listings,
//! with the parameters of `/v1/changes` (the search's `q` and filters,
//! `kind`, `scope`, `since`, `cursor`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::format::{counted, moment, thousands};
use super::pages::{given_query, problem_page, render};
use super::views::ad_href;
use crate::api::error::ApiError;
use crate::api::links::{query_string, search_pairs};
use crate::api::params::ChangesParams;
use crate::api::routes::changes::changes_request;
use crate::api::routes::{deadline, heavy, AppState};
use crate::archive::{Archive, ChangeKind, ListingSubject};
use crate::changes::{
    changes, kind_counts, newest, patched_fields, scopes, Change, ChangesRequest, Scope,
};

/// A kind as people read it.
fn kind_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::New => "New",
        ChangeKind::Changed => "Changed",
        ChangeKind::MissingOnce => "Missing once",
        ChangeKind::Vanished => "Vanished",
        ChangeKind::Reappeared => "Back",
    }
}

/// The query-string pairs of a request (its cursor aside), in the API's
/// names, so that every link keeps the search.
fn pairs_of(request: &ChangesRequest, kinds: &[ChangeKind]) -> Vec<(&'static str, String)> {
    let mut pairs = search_pairs(&request.query, &request.filters);
    if !kinds.is_empty() {
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        pairs.push(("kind", names.join(",")));
    }
    if !request.scopes.is_empty() {
        pairs.push(("scope", request.scopes.join(",")));
    }
    if let Some(since) = request.since {
        pairs.push(("since", since.to_string()));
    }
    pairs
}

fn href(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query_string(pairs))
    }
}

struct KindLink {
    label: &'static str,
    count: Option<String>,
    href: String,
    active: bool,
}

struct ScopeLink {
    scope: String,
    href: String,
    active: bool,
}

struct ChangeRow {
    when: String,
    kind: &'static str,
    kind_class: &'static str,
    uid: String,
    href: String,
    advertiser: String,
    scope: String,
    listing: u64,
    what: String,
}

struct ListingRow {
    number: u64,
    archived: String,
    ads: String,
    new: String,
    changed: String,
    missing_once: String,
    vanished: String,
    reappeared: String,
    name: String,
    source_href: String,
}

struct ScopeTable {
    scope: String,
    listings: Vec<ListingRow>,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    query: String,
    since: String,
    hidden: Vec<(&'static str, String)>,
    kinds: Vec<KindLink>,
    counted: bool,
    scope_links: Vec<ScopeLink>,
    rows: Vec<ChangeRow>,
    summary: String,
    next_href: Option<String>,
    json_href: String,
    feed_href: String,
    scopes: Vec<ScopeTable>,
}

/// The search for the ads of an advertiser named by its platform identity
/// (`meta:123`; `meta:name:…` when the platform gave no id).
fn advertiser_search(key: &str) -> String {
    let (platform, id) = key.split_once(':').unwrap_or(("", key));
    let mut pairs = vec![("platform", platform.to_owned())];
    match id.strip_prefix("name:") {
        Some(name) => pairs.push(("q", format!("advertiser:\"{}\"", name.replace('"', " ")))),
        None => pairs.push(("advertiser_id", id.to_owned())),
    }
    href("/", &pairs)
}

/// What a change says of the record, in words.
fn what_changed(change: &Change) -> String {
    match change.kind {
        ChangeKind::Changed => match &change.patch {
            Some(patch) => {
                let fields = patched_fields(patch);
                if fields.is_empty() {
                    "the record".into()
                } else {
                    fields.join(", ")
                }
            }
            None => String::new(),
        },
        ChangeKind::New => "first in this scope's listings".into(),
        ChangeKind::MissingOnce => "absent from this listing".into(),
        ChangeKind::Vanished => "absent from two listings in a row".into(),
        ChangeKind::Reappeared => "listed again".into(),
    }
}

fn rows_of(archive: &Archive, found: Vec<Change>) -> crate::Result<Vec<ChangeRow>> {
    let of_ads = |c: &Change| c.subject == ListingSubject::Ads;
    let uids: Vec<String> = found
        .iter()
        .map(|c| {
            if of_ads(c) {
                c.uid.clone()
            } else {
                String::new()
            }
        })
        .collect();
    let records = archive.latest_canonical(&uids)?;
    Ok(found
        .into_iter()
        .zip(records)
        .map(|(change, record)| {
            let ad = record
                .filter(|_| of_ads(&change))
                .and_then(|r| serde_json::from_slice::<adarchive_schema::Ad>(&r).ok());
            let advertiser = match (&ad, of_ads(&change)) {
                (_, false) => format!("advertiser {}", change.uid),
                (Some(a), true) => a
                    .advertiser
                    .name
                    .clone()
                    .or_else(|| a.funder.clone())
                    .unwrap_or_else(|| "advertiser not published".into()),
                (None, true) => "advertiser not published".into(),
            };
            let href = if of_ads(&change) {
                ad_href(&change.uid)
            } else {
                advertiser_search(&change.uid)
            };
            ChangeRow {
                when: moment(&change.archived_at),
                kind: kind_label(change.kind),
                kind_class: change.kind.as_str(),
                href,
                what: what_changed(&change),
                uid: change.uid,
                advertiser,
                scope: change.scope,
                listing: change.listing,
            }
        })
        .collect())
}

fn scope_tables(scopes: Vec<Scope>) -> Vec<ScopeTable> {
    scopes
        .into_iter()
        .map(|s| ScopeTable {
            scope: s.scope,
            listings: s
                .listings
                .into_iter()
                .map(|l| {
                    let first = l.number == 1;
                    let n = |v: u64| {
                        if first {
                            "–".to_owned()
                        } else {
                            thousands(v)
                        }
                    };
                    ListingRow {
                        number: l.number,
                        archived: moment(&l.archived_at),
                        ads: thousands(l.ads),
                        new: n(l.new),
                        changed: n(l.changed),
                        missing_once: n(l.missing_once),
                        vanished: n(l.vanished),
                        reappeared: n(l.reappeared),
                        name: l.name,
                        source_href: format!("/v1/sources/{}", l.source),
                    }
                })
                .collect(),
        })
        .collect()
}

fn parsed(req: &HttpRequest) -> Result<ChangesParams, ApiError> {
    let given = serde_urlencoded::to_string(given_query(req)).unwrap_or_default();
    serde_urlencoded::from_str(&given).map_err(|e| {
        crate::api::error::query_error(actix_web::error::QueryPayloadError::Deserialize(e))
    })
}

/// `/changes`: a page of changes, the kinds and scopes to narrow them, and
/// every scope's listings over time.
pub async fn changes_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (deadline, _cancel) = deadline();
    let request = match parsed(&req).and_then(|p| changes_request(p, deadline)) {
        Ok(r) => r,
        Err(e) => return problem_page(&e),
    };
    let archive = state.archive.clone();
    let made = heavy(&state, &req, move |_| {
        let page = changes(&archive, &request)?;
        let counts = kind_counts(&archive, &request)?;
        let all_scopes = scopes(&archive)?;
        let rows = rows_of(&archive, page.changes)?;
        Ok::<_, ApiError>((request, page.next_cursor, counts, all_scopes, rows))
    })
    .await;
    let (request, next_cursor, counts, all_scopes, rows) = match made {
        Ok(made) => made,
        Err(e) => return problem_page(&e),
    };
    let kinds = ChangeKind::ALL
        .iter()
        .map(|&kind| {
            let active = request.kinds.contains(&kind);
            let toggled: Vec<ChangeKind> = if active {
                request
                    .kinds
                    .iter()
                    .copied()
                    .filter(|k| *k != kind)
                    .collect()
            } else {
                let mut k = request.kinds.clone();
                k.push(kind);
                k
            };
            KindLink {
                label: kind_label(kind),
                count: counts.as_ref().and_then(|c| {
                    c.iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, n)| thousands(*n))
                }),
                href: href("/changes", &pairs_of(&request, &toggled)),
                active,
            }
        })
        .collect();
    let scope_links = all_scopes
        .iter()
        .map(|s| {
            let active = request.scopes.contains(&s.scope);
            let mut next = request.clone();
            if active {
                next.scopes.retain(|x| x != &s.scope);
            } else {
                next.scopes.push(s.scope.clone());
            }
            ScopeLink {
                scope: s.scope.clone(),
                href: href("/changes", &pairs_of(&next, &request.kinds)),
                active,
            }
        })
        .collect();
    let pairs = pairs_of(&request, &request.kinds);
    let hidden = pairs
        .iter()
        .filter(|(name, _)| !matches!(*name, "q" | "since"))
        .cloned()
        .collect();
    let summary = match (rows.len(), &next_cursor) {
        (0, None) => "No change matches.".to_owned(),
        (n, None) => format!("{}.", counted(n as u64, "change", "changes")),
        (n, Some(_)) => format!(
            "{}, and more on the next page.",
            counted(n as u64, "change", "changes")
        ),
    };
    let next_href = next_cursor.map(|cursor| {
        let mut with_cursor = pairs.clone();
        with_cursor.push(("cursor", cursor));
        href("/changes", &with_cursor)
    });
    let page = ChangesPage {
        query: request.query.clone(),
        since: request
            .since
            .map(|t| super::format::day(&t))
            .unwrap_or_default(),
        hidden,
        counted: counts.is_some(),
        kinds,
        scope_links,
        rows,
        summary,
        next_href,
        json_href: href("/v1/changes", &pairs),
        feed_href: href("/changes.atom", &pairs),
        scopes: scope_tables(all_scopes),
    };
    render(StatusCode::OK, &page)
}

/// `/changes.atom`: the newest changes `/changes` would list, as Atom.
pub async fn changes_feed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (deadline, _cancel) = deadline();
    let request = match parsed(&req).and_then(|p| changes_request(p, deadline)) {
        Ok(r) => r,
        Err(e) => {
            use actix_web::ResponseError;
            return e.error_response();
        }
    };
    let archive = state.archive.clone();
    let feed_request = request.clone();
    let found = heavy(&state, &req, move |_| {
        let found = newest(&archive, &feed_request, super::feed::ENTRIES)?;
        let rows = rows_of(&archive, found.clone())?;
        Ok::<_, ApiError>((found, rows))
    })
    .await;
    let (found, rows) = match found {
        Ok(f) => f,
        Err(e) => {
            use actix_web::ResponseError;
            return e.error_response();
        }
    };
    let info = req.connection_info();
    let base = format!("{}://{}", info.scheme(), info.host());
    let pairs = pairs_of(&request, &request.kinds);
    let entries = found
        .iter()
        .zip(rows)
        .map(|(change, row)| super::feed::FeedEntry {
            title: super::feed::xml_text(&format!(
                "{}: {} ({})",
                row.kind,
                super::feed::excerpt(&row.advertiser, 100),
                change.uid
            )),
            id: super::feed::xml_text(&format!("{base}/v1/changes?cursor={}&limit=1", change.id)),
            href: super::feed::xml_text(&format!("{base}{}", row.href)),
            updated: change.archived_at.to_string(),
            author: super::feed::xml_text(&row.advertiser),
            categories: vec![
                change.kind.as_str().to_owned(),
                super::feed::xml_text(&change.scope),
            ],
            summary: super::feed::xml_text(&format!(
                "{} in {} listing {}, archived {}: {}.",
                row.kind, change.scope, change.listing, row.when, row.what
            )),
        })
        .collect();
    super::feed::atom(super::feed::Feed {
        title: "adarchive: what changed between listings".into(),
        subtitle: "Ads new, changed, missing, vanished or back in the platforms' complete listings, newest first.".into(),
        id: super::feed::xml_text(&href(&format!("{base}/changes.atom"), &pairs)),
        self_href: super::feed::xml_text(&href(&format!("{base}/changes.atom"), &pairs)),
        search_href: super::feed::xml_text(&href(&format!("{base}/changes"), &pairs)),
        updated: found
            .first()
            .map(|c| c.archived_at.to_string())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
        entries,
    })
}
