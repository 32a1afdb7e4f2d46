//! The web pages, served by the real server on a random port and read with
//! a real client: the same answers as the API, permalinks in the API's
//! parameter names, hostile ad text shown as text, and headers that keep
//! a page from running anything.

use adarchive::archive::{Archive, NoProgress};
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::ingest::{import_paths, ImportOptions};

use crate::api::helpers::{spawn_with, TestApp};

/// A Meta API page whose ad and advertiser try everything a page must not
/// run or be broken by.
const HOSTILE: &str = r#"{"data":[{"id":"990001","ad_snapshot_url":"javascript:alert(1)","page_name":"<img src=x onerror=alert(1)>\u202eevil","page_id":"77","ad_creative_bodies":["<script>alert('x')</script> vote \u202e reversed and a very long word AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],"ad_creative_link_urls":["javascript:alert(2)","https://example.org/x?a=1&b=\"2\""],"bylines":"\"><svg onload=alert(3)>","ad_delivery_start_time":"2024-05-01","languages":["ar"],"currency":"EUR","spend":{"lower_bound":"100000"}}]}"#;

/// A Snap row whose links and names try the same.
const HOSTILE_SNAP: &str = "ADID,CreativeUrl,Currency Code,Spend,OrganizationName,CreativeProperties\r\nzz99,javascript:alert(5),EUR,40,<b onmouseover=alert(6)>Org</b>,\"web_view_url:https://example.org/x?a=1&b=2,deep_link_uri:javascript:alert(7)\"\r\n";

pub(crate) async fn spawn() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let exports = dir.path().join("exports");
        let written = generate_samples(
            &exports,
            &GenerateOptions {
                ads: 2_000,
                seed: 5,
                ..Default::default()
            },
        )
        .unwrap();
        let hostile = dir.path().join("hostile.json");
        std::fs::write(&hostile, HOSTILE).unwrap();
        let snap = dir.path().join("PoliticalAds.csv");
        std::fs::write(&snap, HOSTILE_SNAP).unwrap();
        let mut paths: Vec<_> = written.files.iter().map(|f| f.path.clone()).collect();
        paths.push(hostile);
        paths.push(snap);
        // Snap's file again a week later, without every seventh row: a
        // scope with ads missing from its newest listing. Neither name
        // says the year; the ads do.
        let snap_rows =
            std::fs::read_to_string(dir.path().join("exports/snap/PoliticalAds.csv")).unwrap();
        let mut lines = snap_rows.split_inclusive('\n');
        let header = lines.next().unwrap().to_owned();
        let kept: String = lines
            .enumerate()
            .filter(|(i, _)| i % 7 != 0)
            .map(|(_, row)| row)
            .collect();
        let later = dir.path().join("a-week-later").join("PoliticalAds.csv");
        std::fs::create_dir_all(later.parent().unwrap()).unwrap();
        std::fs::write(&later, format!("{header}{kept}")).unwrap();
        paths.push(later);
        let archive = Archive::open(&data).unwrap();
        let report = import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
        assert!(report.all_recognized(), "{:?}", report.files);
    }
    spawn_with(data, dir, 0).await
}

/// `html` with its character references decoded, to look for what a
/// reader sees (never to look for markup: that is checked on the HTML).
fn decoded(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e <= 8) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

async fn page(
    app: &TestApp,
    path: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let response = app.get(path).await;
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_search_page_shows_what_the_api_finds_with_facets_that_are_links() {
    let app = spawn().await;
    let (status, headers, html) = page(&app, "/?q=vote&platform=meta").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = decoded(&html);
    let api = app.json("/v1/ads?q=vote&platform=meta").await;
    let total = api["total"].as_u64().unwrap();
    let words = if total == 1 { "ad" } else { "ads" };
    let shown = format!("{} {words}", adarchive::web::format::thousands(total));
    assert!(html.contains(&shown), "{shown} not on the page");
    // The JSON twin, the exports of the same search, and the facet links
    // in the API's parameter names.
    assert!(html.contains(
        r#"<link rel="alternate" type="application/json" href="/v1/ads?q=vote&platform=meta">"#
    ));
    assert!(html.contains("/v1/export?q=vote&platform=meta&format=csv"));
    // The active platform links to the search without it.
    assert!(
        html.contains(r#"<a href="/?q=vote" aria-current="true" class="active">"#),
        "no link removing the platform"
    );
    // Another country adds itself.
    let country = api["facets"]["country"][0]["value"].as_str();
    if let Some(country) = country {
        assert!(html.contains(&format!("/?q=vote&platform=meta&country={country}")));
    }
    // Each result links its page.
    for hit in api["results"].as_array().unwrap() {
        let uid = hit["uid"].as_str().unwrap();
        assert!(html.contains(&format!("/ads/{uid}")), "{uid}");
    }
    // Matches are marked.
    assert!(html.contains("<mark>"));
    // The running and ended counts, counted along with a one-word search,
    // are what the `active` filter finds.
    let (_, _, raw) = page(&app, "/?q=vote").await;
    let one_word = decoded(&raw);
    for (active, label) in [(true, "still running"), (false, "ended")] {
        let n = app.json(&format!("/v1/ads?q=vote&active={active}")).await["total"]
            .as_u64()
            .unwrap();
        let shown = format!(
            "{label} <span class=\"count\">{}</span>",
            adarchive::web::format::thousands(n)
        );
        assert!(one_word.contains(&shown), "{shown}");
    }
    // The next page goes on with the cursor.
    if let Some(cursor) = api["next_cursor"].as_str() {
        assert!(html.contains(&format!("cursor={cursor}")));
    }
}

#[tokio::test]
async fn a_bad_parameter_is_a_page_naming_it() {
    let app = spawn().await;
    let (status, _, html) = page(&app, "/?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(html.contains("from"), "{html}");
    let (status, _, html) = page(&app, "/?colour=red").await;
    assert_eq!(status, 400);
    assert!(html.contains("colour"));
}

#[tokio::test]
async fn hostile_text_is_shown_as_text_and_nothing_can_run() {
    let app = spawn().await;
    for path in [
        "/?q=vote",
        "/ads/meta:990001",
        "/?q=evil",
        "/ads/snap:zz99",
        "/?q=org",
    ] {
        let (status, headers, html) = page(&app, path).await;
        assert_eq!(status, 200, "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(!policy.contains("script-src"), "{policy}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("referrer-policy"));
        for needle in [
            "<script>",
            "<img src=x",
            "<svg onload",
            "href=\"javascript:",
            "<b onmouseover",
        ] {
            assert!(!html.contains(needle), "{path} holds {needle}");
        }
    }
    let (_, _, raw) = page(&app, "/ads/meta:990001").await;
    let html = decoded(&raw);
    assert!(
        html.contains("<script>alert('x')</script> vote"),
        "the text is not shown"
    );
    assert!(html.contains("<img src=x onerror=alert(1)>"));
    assert!(
        !html.contains("See it in Meta"),
        "a javascript: snapshot became a link"
    );
    // Only http and https links become links; others stay text.
    let (_, _, raw_snap) = page(&app, "/ads/snap:zz99").await;
    let snap = decoded(&raw_snap);
    assert!(
        snap.contains(r#"<a href="https://example.org/x?a=1&b=2" rel="noopener noreferrer nofollow external">"#),
        "{snap}"
    );
    assert!(snap.contains(r#"<span class="unlinked">javascript:alert(7)</span>"#));
    assert!(!snap.contains("See it in Snap"));
    assert!(snap.contains("<b onmouseover=alert(6)>Org</b>"));
    // The text runs in its own direction and language.
    assert!(html.contains(r#"dir="auto" lang="ar""#));
    // An open top bucket is written as one.
    assert!(html.contains("€100,000 or more"));
}

#[tokio::test]
async fn the_ad_page_traces_each_reading_to_the_bytes_of_its_file() {
    let app = spawn().await;
    let api = app.json("/v1/ads?platform=snap&limit=1").await;
    let uid = api["results"][0]["uid"].as_str().unwrap().to_owned();
    let (status, _, html) = page(&app, &format!("/ads/{uid}")).await;
    assert_eq!(status, 200);
    let provenance = app.json(&format!("/v1/ads/{uid}/provenance")).await;
    for o in provenance["observations"].as_array().unwrap() {
        let blake3 = o["source_blake3"].as_str().unwrap();
        assert!(html.contains(&format!("/v1/sources/{blake3}")));
        assert!(html.contains(&format!(
            "b3sum PoliticalAds.csv</code> prints <code>{blake3}"
        )));
        assert!(html.contains(o["raw_hash"].as_str().unwrap()));
        let line = o["locator"]["line"].as_u64().unwrap();
        assert!(html.contains(&format!("line {line}, bytes")));
        // The downloaded file is the one the hash names.
        let bytes = app
            .get(&format!("/v1/sources/{blake3}"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), blake3);
    }
    assert!(html.contains(&format!(r#"href="/v1/ads/{uid}""#)));
    let (status, _, _) = page(&app, "/ads/snap:no-such-ad").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sources_about_and_assets_are_served_from_this_server_only() {
    let app = spawn().await;
    let (status, _, html) = page(&app, "/sources").await;
    assert_eq!(status, 200);
    let sources = app.json("/v1/sources").await;
    for s in sources.as_array().unwrap() {
        assert!(html.contains(s["blake3"].as_str().unwrap()));
    }
    let (status, _, html) = page(&app, "/about").await;
    assert_eq!(status, 200);
    assert!(html.contains("or more"));
    let (status, headers, css) = page(&app, "/assets/style.css").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(!css.contains("http://") && !css.contains("https://") && !css.contains("@import"));
    for path in ["/", "/sources", "/about"] {
        let (_, _, html) = page(&app, path).await;
        for attr in ["src=\"http", "href=\"http://", "href=\"//", "<script"] {
            assert!(!html.contains(attr), "{path} loads {attr}");
        }
    }
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
}

#[tokio::test]
async fn the_spend_page_is_the_audit_of_v1_spend_with_its_csv() {
    let app = spawn().await;
    let (status, _, raw) = page(&app, "/spend?group_by=platform").await;
    assert_eq!(status, 200);
    let html = decoded(&raw);
    let audit = app.json("/v1/spend?group_by=platform").await;
    for g in audit["groups"].as_array().unwrap() {
        let key = g["key"].as_str().unwrap();
        let ads = adarchive::web::format::thousands(g["ads"].as_u64().unwrap());
        assert!(
            html.contains(&format!(
                "<td dir=\"auto\">{key}</td><td class=\"num\">{ads}</td>"
            )),
            "{key}"
        );
    }
    assert!(html.contains(r#"href="/v1/spend?group_by=platform&format=csv""#));
    assert!(html.contains(
        r#"<link rel="alternate" type="application/json" href="/v1/spend?group_by=platform">"#
    ));
    // The CSV the page links holds the same figures.
    let csv = app
        .get("/v1/spend?group_by=platform&format=csv")
        .await
        .text()
        .await
        .unwrap();
    for g in audit["groups"].as_array().unwrap() {
        for s in g["spend"].as_array().unwrap() {
            let lower = s["lower"].as_u64().unwrap().to_string();
            assert!(csv.contains(&lower), "{lower} not in the CSV");
        }
    }
    // Without a grouping the page groups by advertiser; a bad one is named.
    let (status, _, html) = page(&app, "/spend").await;
    assert_eq!(status, 200);
    assert!(html.contains("Spend by advertiser"));
    let (status, _, html) = page(&app, "/spend?group_by=colour").await;
    assert_eq!(status, 400);
    assert!(html.contains("colour"));
}

#[tokio::test]
async fn an_advertiser_across_platforms_with_its_evidence_and_spend() {
    let app = spawn().await;
    let listed = app.json("/v1/advertisers?limit=50").await;
    let entity = listed["advertisers"]
        .as_array()
        .or_else(|| listed.as_array())
        .unwrap()
        .iter()
        .find(|e| e["members"].as_array().is_some_and(|m| m.len() > 1))
        .expect("an advertiser on several platforms")
        .clone();
    let id = entity["id"].as_str().unwrap();
    let (status, _, raw) = page(&app, &format!("/advertisers/{id}")).await;
    assert_eq!(status, 200);
    let html = decoded(&raw);
    assert!(html.contains(&format!(
        r#"<link rel="alternate" type="application/json" href="/v1/advertisers/{id}">"#
    )));
    for m in entity["members"].as_array().unwrap() {
        assert!(html.contains(m["key"].as_str().unwrap()));
    }
    for l in entity["links"].as_array().unwrap() {
        let evidence = match l["evidence"].as_str().unwrap() {
            "identifier" => "a shared official id",
            "google_id_mapping" => "Google's mapping",
            _ => "the same name only (not proof)",
        };
        assert!(html.contains(evidence), "{evidence}");
    }
    let detail = app.json(&format!("/v1/advertisers/{id}")).await;
    for t in detail["ads"]["by_platform"].as_array().unwrap() {
        let lower = adarchive::web::format::thousands(t["lower"].as_u64().unwrap());
        assert!(html.contains(&format!("{lower} ")), "{lower}");
    }
    // Its ad-level spend per platform and month is what /v1/spend says for
    // the same identities.
    assert!(html.contains("Ad-level spend over time"));
    let member = entity["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["advertiser_id"].is_string())
        .unwrap();
    let platform = member["platform"].as_str().unwrap();
    let ids: Vec<&str> = entity["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"] == platform)
        .filter_map(|m| m["advertiser_id"].as_str())
        .collect();
    let months = app
        .json(&format!(
            "/v1/spend?group_by=month&platform={platform}&advertiser_id={}",
            ids.join(",")
        ))
        .await;
    for g in months["groups"].as_array().unwrap() {
        let row = format!(
            "<tr><td>{}</td><td class=\"num\">{}</td>",
            g["key"].as_str().unwrap(),
            adarchive::web::format::thousands(g["ads"].as_u64().unwrap())
        );
        assert!(html.contains(&row), "{row}");
    }
    // An ad of one of its identities links here.
    let member = &entity["members"][0];
    if let (Some(platform), Some(advertiser)) = (
        member["platform"].as_str(),
        member["advertiser_id"].as_str(),
    ) {
        let ads = app
            .json(&format!(
                "/v1/ads?platform={platform}&advertiser_id={advertiser}&limit=1"
            ))
            .await;
        let uid = ads["results"][0]["uid"].as_str().unwrap();
        let (_, _, ad) = page(&app, &format!("/ads/{uid}")).await;
        assert!(
            ad.contains(&format!(r#"<a href="/advertisers/{id}">"#)),
            "{uid}"
        );
    }
    let (status, _, _) = page(&app, "/advertisers/adv-nobody").await;
    assert_eq!(status, 404);
}

/// Reads a feed with `tests/atom_check.py` (a strict XML parser and
/// `feedparser`, as feed readers do); its JSON report.
async fn atom_check(url: String) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/atom_check.py");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 (with `pip install feedparser`) reads the feed");
    assert!(
        out.status.success(),
        "feed readers would refuse it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A search followed as an Atom feed: readers accept it, hostile text
/// included, and its entries are the search's newest ads, in order.
#[tokio::test]
async fn a_search_is_followed_as_an_atom_feed_that_readers_accept() {
    let app = spawn().await;
    let facets = app.json("/v1/ads?q=vote&facets=country&limit=1").await;
    let country = facets["facets"]["country"][0]["value"].as_str().unwrap();
    let narrowed = format!("q=vote&country={country}");
    for query in ["q=vote", "platform=meta", &narrowed, "", "q=reversed"] {
        let api = app
            .json(&format!("/v1/ads?{query}&sort=first_shown&limit=50"))
            .await;
        let expected: Vec<String> = api["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| adarchive::web::views::ad_href(a["uid"].as_str().unwrap()))
            .collect();
        assert!(!expected.is_empty(), "{query}");
        let report = atom_check(format!("{}/feed.atom?{query}", app.address)).await;
        let links: Vec<String> = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["link"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches(&app.address)
                    .to_owned()
            })
            .collect();
        assert_eq!(links, expected, "{query}");
    }
    // The search page offers its feed.
    let html = app.get("/?q=vote").await.text().await.unwrap();
    assert!(html.contains(r#"type="application/atom+xml""#));
    assert!(html.contains("/feed.atom?q=vote"));
    let bad = app.get("/feed.atom?sort=sideways").await;
    assert_eq!(bad.status(), 400);
}

/// The changes page lists what `/v1/changes` lists, with kinds to narrow
/// it and every scope's listings; its feed is what readers accept and
/// holds the newest changes; an ad page says when the ad was last listed.
#[tokio::test]
async fn the_changes_page_and_feed_show_what_v1_changes_finds() {
    let app = spawn().await;
    let api = app.json("/v1/changes?limit=1000").await;
    let changes = api["changes"].as_array().unwrap();
    assert!(
        changes.len() > 10,
        "every seventh row left out: {} changes",
        changes.len()
    );
    assert!(changes.iter().all(|c| c["kind"] == "missing_once"));
    let (status, _, html) = page(&app, "/changes?kind=missing_once&limit=1000").await;
    assert_eq!(status, 200);
    for change in changes {
        let uid = change["uid"].as_str().unwrap();
        assert!(html.contains(&adarchive::web::views::ad_href(uid)), "{uid}");
    }
    assert!(html.contains("Missing once"));
    assert!(html.contains("snap:20"));
    assert!(html.contains(r#"href="/changes.atom?kind=missing_once"#));
    // The kind facet counts what the listings recorded.
    assert!(
        html.contains(&format!(
            r#"Missing once <span class="count">{}</span>"#,
            changes.len()
        )),
        "{html}"
    );
    let (status, _, _) = page(&app, "/changes?kind=gone").await;
    assert_eq!(status, 400);

    let report = atom_check(format!("{}/changes.atom", app.address)).await;
    let ids: Vec<String> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["id"]
                .as_str()
                .unwrap()
                .rsplit("cursor=")
                .next()
                .unwrap()
                .replace("&limit=1", "")
        })
        .collect();
    let mut newest: Vec<String> = changes
        .iter()
        .rev()
        .take(50)
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    newest.truncate(ids.len());
    assert_eq!(
        ids, newest,
        "the feed holds the newest changes, newest first"
    );

    let missing = changes[0]["uid"].as_str().unwrap();
    let (_, _, ad) = page(&app, &adarchive::web::views::ad_href(missing)).await;
    assert!(
        decoded(&ad).contains("missing from the latest listing: last listed"),
        "{ad}"
    );
    // The search page marks the ads the listings left out.
    let (_, _, search) = page(&app, "/?status=missing_once&limit=20").await;
    assert_eq!(
        search
            .matches(r#"<span class="kind missing_once">Missing from the latest listing</span>"#)
            .count(),
        changes.len().min(20),
        "{search}"
    );
    let (_, _, listed) = page(&app, "/?status=listed&limit=20").await;
    assert!(!listed.contains(r#"class="kind "#));
    let facets = app.json("/v1/ads?facets=status&limit=1").await;
    assert!(facets["facets"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["value"] == "missing_once" && v["count"] == changes.len() as u64));
}
