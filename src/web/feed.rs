//! `/feed.atom?<search parameters>`: the newest ads matching a search, as
//! an Atom feed (RFC 4287), so that a search can be followed in any feed
//! reader without an account. The parameters are the search page's and
//! `/v1/ads`'s; the order is the newest first shown unless `sort` says
//! otherwise. An ad whose record changes is the same entry, updated.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::api::error::ApiError;
use crate::api::params::AdsParams;
use crate::api::routes::{deadline, heavy, sort_param};
use crate::api::state::AppState;
use crate::search::{search, SearchRequest, Sort, SortField};

/// Entries in a feed: readers poll often, so the newest few are enough.
pub(super) const ENTRIES: usize = 50;

/// An Atom feed; every text already made fit for XML by [`xml_text`].
#[derive(Template)]
#[template(path = "feed.xml", escape = "html")]
pub(super) struct Feed {
    pub title: String,
    pub subtitle: String,
    pub id: String,
    pub self_href: String,
    pub search_href: String,
    pub updated: String,
    pub entries: Vec<FeedEntry>,
}

pub(super) struct FeedEntry {
    pub title: String,
    pub id: String,
    pub href: String,
    pub updated: String,
    pub author: String,
    pub categories: Vec<String>,
    pub summary: String,
}

/// The feed as a response.
pub(super) fn atom(feed: Feed) -> HttpResponse {
    match feed.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/atom+xml; charset=utf-8")
            .insert_header(("cache-control", "public, max-age=300"))
            .body(body),
        Err(e) => {
            use actix_web::ResponseError;
            ApiError::Internal(Box::new(e)).error_response()
        }
    }
}

/// Text as XML 1.0 can carry it: without the control characters it
/// forbids, which published ad text sometimes holds.
pub(super) fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c < ' '
                    || ('\u{7f}'..='\u{84}').contains(&c)
                    || c == '\u{fffe}'
                    || c == '\u{ffff}')
        })
        .collect()
}

/// A one-line excerpt of at most `limit` characters.
pub(super) fn excerpt(text: &str, limit: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= limit {
        return line;
    }
    let cut: String = line.chars().take(limit).collect();
    format!("{cut}…")
}

/// The feed of the search the query string asks for.
pub async fn search_feed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match feed(&req, &state).await {
        Ok(feed) => atom(feed),
        Err(e) => {
            use actix_web::ResponseError;
            e.error_response()
        }
    }
}

async fn feed(req: &HttpRequest, state: &AppState) -> Result<Feed, ApiError> {
    let query_string = req.query_string().to_owned();
    let mut params: AdsParams = serde_urlencoded::from_str(&query_string).map_err(|e| {
        crate::api::error::query_error(actix_web::error::QueryPayloadError::Deserialize(e))
    })?;
    let (query, filters) = params.take_filters()?;
    let sort = sort_param(params.sort.as_deref())?.or(Some(Sort {
        field: SortField::FirstShown,
        descending: true,
    }));
    let (deadline, _cancel) = deadline();
    let request = SearchRequest {
        query: query.clone(),
        filters,
        sort,
        limit: ENTRIES,
        deadline,
        ..SearchRequest::default()
    };
    let archive = state.archive.clone();
    let found = heavy(state, req, move |parallel| {
        let mut request = request;
        request.parallel = parallel;
        let response = search(&archive, &request)?;
        let mut entries = Vec::with_capacity(response.results.len());
        for hit in response.results {
            let ad = hit.ad;
            // The entry changes when the archive reads a new version.
            let updated = archive
                .history(&ad.uid)?
                .last()
                .map(|v| v.observed_at.to_string())
                .unwrap_or_default();
            entries.push((ad, updated));
        }
        Ok::<_, ApiError>(entries)
    })
    .await?;
    let info = req.connection_info();
    let base = format!("{}://{}", info.scheme(), info.host());
    let search_href = format!("{base}/?{query_string}");
    let mut feed = Feed {
        title: xml_text(&if query.trim().is_empty() {
            "adarchive: newest political ads".to_owned()
        } else {
            format!("adarchive: {}", excerpt(&query, 120))
        }),
        id: xml_text(&format!("{base}/feed.atom?{query_string}")),
        self_href: xml_text(&format!("{base}/feed.atom?{query_string}")),
        search_href: xml_text(&search_href),
        subtitle: "The newest political ads in the archive matching this search, newest first."
            .into(),
        updated: String::new(),
        entries: Vec::new(),
    };
    for (ad, updated) in found {
        let href = format!("{base}{}", super::views::ad_href(&ad.uid));
        let advertiser = ad
            .advertiser
            .name
            .clone()
            .or_else(|| ad.funder.clone())
            .unwrap_or_else(|| "unknown advertiser".into());
        let text = ad
            .creative
            .bodies
            .first()
            .or(ad.creative.titles.first())
            .cloned()
            .unwrap_or_default();
        let mut summary = format!("{} ad", ad.platform.display_name());
        if let Some(first) = ad.first_shown {
            summary.push_str(&format!(", first shown {first}"));
        }
        if !ad.countries.is_empty() {
            summary.push_str(&format!(", in {}", ad.countries.join(", ")));
        }
        if !text.is_empty() {
            summary.push_str(&format!(": {}", excerpt(&text, 500)));
        }
        if updated > feed.updated {
            feed.updated.clone_from(&updated);
        }
        feed.entries.push(FeedEntry {
            title: xml_text(&if text.is_empty() {
                advertiser.clone()
            } else {
                format!("{advertiser}: {}", excerpt(&text, 100))
            }),
            id: xml_text(&href),
            href: xml_text(&href),
            updated,
            author: xml_text(&advertiser),
            categories: std::iter::once(ad.platform.as_str().to_owned())
                .chain(ad.countries.iter().cloned())
                .map(|c| xml_text(&c))
                .collect(),
            summary: xml_text(&summary),
        });
    }
    if feed.updated.is_empty() {
        feed.updated = "1970-01-01T00:00:00Z".into();
    }
    Ok(feed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_loses_what_xml_forbids_and_keeps_the_rest() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c\td\ne"), "abc\td\ne");
        assert_eq!(xml_text("ภาษาไทย – ok"), "ภาษาไทย – ok");
        assert_eq!(excerpt("one  two\nthree", 7), "one two…");
    }
}
