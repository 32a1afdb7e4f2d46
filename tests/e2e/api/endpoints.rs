use crate::api::helpers::{sample, spawn_app, GOOGLE};

async fn problem(app: &crate::api::helpers::TestApp, path: &str, status: u16) -> serde_json::Value {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), status, "{path}");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json",
        "{path}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

#[tokio::test]
async fn health_and_search() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let health = app.json("/healthz").await;
    assert_eq!(health["ads"], 1028);

    let page = app
        .json("/v1/ads?q=groenlinks&country=NL&facets=platform,media_type&limit=5")
        .await;
    assert_eq!(page["total"], 12);
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert!(page["results"][0]["snippets"][0]["fragment"]
        .as_str()
        .unwrap()
        .contains("GroenLinks"));
    assert_eq!(page["facets"]["platform"][0]["value"], "google");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = app
        .json(&format!(
            "/v1/ads?q=groenlinks&country=NL&limit=10&cursor={cursor}"
        ))
        .await;
    assert_eq!(next["results"].as_array().unwrap().len(), 7);
    assert!(next["next_cursor"].is_null());
}

#[tokio::test]
async fn one_ad_its_history_and_provenance() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let ad = app.json("/v1/ads/google:CR524874621665673216").await;
    assert_eq!(ad["advertiser"]["id"], "AR130387441805688832");
    let history = app
        .json("/v1/ads/google:CR524874621665673216/history")
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["record"]["uid"], "google:CR524874621665673216");
    let trail = app
        .json("/v1/ads/google:CR524874621665673216/provenance")
        .await;
    let observation = &trail["observations"][0];
    let bytes = std::fs::read(sample(GOOGLE)).unwrap();
    let (start, end) = (
        observation["locator"]["byte_start"].as_u64().unwrap() as usize,
        observation["locator"]["byte_end"].as_u64().unwrap() as usize,
    );
    assert_eq!(
        observation["raw_hash"],
        blake3::hash(&bytes[start..end]).to_hex().as_str()
    );
    assert_eq!(
        trail["sources"][0]["blake3"],
        blake3::hash(&bytes).to_hex().as_str()
    );

    let body = problem(&app, "/v1/ads/google:nope", 404).await;
    assert_eq!(body["code"], "not_found");
    problem(&app, "/v1/ads/google:nope/history", 404).await;
    problem(&app, "/v1/ads/google:nope/provenance", 404).await;
}

#[tokio::test]
async fn sources_are_served_byte_for_byte() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let sources = app.json("/v1/sources").await;
    assert_eq!(sources.as_array().unwrap().len(), 3);
    let bytes = std::fs::read(sample(GOOGLE)).unwrap();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let response = app.get(&format!("/v1/sources/{hash}")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[..]);
    problem(&app, &format!("/v1/sources/{}", "0".repeat(64)), 404).await;
    problem(&app, "/v1/sources/not-a-hash", 404).await;
}

#[tokio::test]
async fn spend_totals() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let totals = app.json("/v1/spend?group_by=platform&currency=EUR").await;
    let google = totals["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "google")
        .unwrap();
    assert_eq!(google["ads"], 503);
    assert_eq!(google["spend"][0]["currency"], "EUR");
    let body = problem(&app, "/v1/spend?currency=EUR", 400).await;
    assert_eq!(body["param"], "group_by");
}

#[tokio::test]
async fn bad_requests_are_400_problems_naming_the_parameter() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    for (path, param) in [
        ("/v1/ads?q=%22open", "q"),
        ("/v1/ads?limit=100000", "limit"),
        ("/v1/ads?limit=abc", "limit"),
        ("/v1/ads?cursor=zz", "cursor"),
        ("/v1/ads?bogus=1", "bogus"),
        ("/v1/ads?sort=price", "sort"),
        ("/v1/ads?from=yesterday", "from"),
        ("/v1/ads?spend_min=10", "spend_min"),
        ("/v1/ads?active=maybe", "active"),
        ("/v1/ads?facets=colour", "facets"),
    ] {
        let body = problem(&app, path, 400).await;
        assert_eq!(body["code"], "bad_parameter", "{path}");
        assert_eq!(body["param"], param, "{path}: {body}");
    }
    problem(&app, "/v1/nothing-here", 404).await;
}

#[tokio::test]
async fn openapi_and_docs_are_served_locally() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let spec = app.json("/openapi.json").await;
    for path in [
        "/v1/ads",
        "/v1/ads/{uid}",
        "/v1/ads/{uid}/history",
        "/v1/ads/{uid}/provenance",
        "/v1/spend",
        "/v1/sources",
        "/v1/sources/{blake3}",
        "/healthz",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is documented");
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "the Swagger UI page");
    assert!(
        !html.contains("cdn") && !html.contains("unpkg"),
        "no asset from a CDN"
    );
}

#[test]
fn committed_openapi_json_is_current() {
    let generated = adarchive::api::openapi_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var_os("ADARCHIVE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `ADARCHIVE_BLESS=1 cargo test --test e2e` and commit it"
    );
}

#[tokio::test]
async fn etags_cors_and_compression() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let url = format!("{}/v1/ads/google:CR524874621665673216", app.address);
    let first = app.client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let ad: serde_json::Value = first.json().await.unwrap();
    // Weak: the body may be compressed, and the tag names the record.
    assert_eq!(etag.len(), 68, "the weakly quoted record hash");
    assert!(etag.starts_with("W/\""));
    let again = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(ad["uid"], "google:CR524874621665673216");

    let hash = blake3::hash(&std::fs::read(sample(GOOGLE)).unwrap())
        .to_hex()
        .to_string();
    let source_url = format!("{}/v1/sources/{hash}", app.address);
    let tagged = app
        .client
        .get(&source_url)
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status(), 304);

    let cors = app
        .client
        .get(format!("{}/v1/ads?limit=1", app.address))
        .header("origin", "https://newsroom.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cors.headers()["access-control-allow-origin"],
        "https://newsroom.example"
    );

    let gz = app
        .client
        .get(format!("{}/v1/ads?limit=50", app.address))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let br = app
        .client
        .get(format!("{}/v1/ads?limit=50", app.address))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
}

#[tokio::test]
async fn exports_stream_every_match_in_order_with_resume_points() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    // The search pages, for comparison: the default order without a query.
    let mut expected = Vec::new();
    let mut url = "/v1/ads?limit=1000".to_owned();
    loop {
        let page = app.json(&url).await;
        expected.extend(page["results"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/ads?limit=1000&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(expected.len(), 1028);

    let response = app.get("/v1/export?format=ndjson").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ads: Vec<&serde_json::Value> = lines.iter().filter(|l| l.get("uid").is_some()).collect();
    let cursors: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["next_cursor"].as_str())
        .collect();
    assert_eq!(ads.len(), 1028);
    assert!(
        cursors.is_empty(),
        "the first resume point comes after 10,000 ads"
    );
    for (ad, hit) in ads.iter().zip(&expected) {
        let mut hit = hit.clone();
        hit.as_object_mut().unwrap().remove("snippets");
        assert_eq!(**ad, hit, "row by row, the records search returns");
    }
    let response = app.get("/v1/export?format=csv").await;
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&body[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        adarchive::search::export::CSV_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1028);
    for (row, ad) in rows.iter().zip(&ads) {
        assert_eq!(&row[0], ad["uid"].as_str().unwrap());
        let spend: serde_json::Value = serde_json::from_str(&row[12]).unwrap_or_default();
        assert_eq!(spend, ad["spend"], "JSON cells keep their structure");
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula-like cell {cell:?} not escaped"
            );
        }
    }
    assert!(
        rows.iter().all(|r| r[23].is_empty()),
        "no resume point before 10,000 rows"
    );

    let body = problem(&app, "/v1/export?format=xml", 400).await;
    assert_eq!(body["param"], "format");
    problem(&app, "/v1/export?limit=5", 400).await;
    problem(&app, "/v1/ads?format=csv", 400).await;
}

#[test]
fn csv_cells_that_look_like_formulas_are_defused() {
    use adarchive::search::export::defuse;
    for cell in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx"] {
        assert!(defuse(cell).starts_with('\''), "{cell}");
    }
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(adarchive::archive::Archive::open(&data).unwrap());
    let app = crate::api::helpers::spawn_with(data, dir, 2).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = app.get("/healthz").await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(
                r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
        }
    }
    assert_eq!(
        &statuses[..4],
        [200, 200, 200, 200],
        "a burst of twice the rate"
    );
    assert!(statuses[4..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn the_curl_examples_in_the_api_guide_work() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    let hash = blake3::hash(&std::fs::read(sample(GOOGLE)).unwrap())
        .to_hex()
        .to_string();
    let mut tried = 0;
    for line in guide.lines().filter(|l| l.starts_with("curl ")) {
        let url = line.split('\'').nth(1).expect("a quoted URL");
        let path = url
            .strip_prefix("http://127.0.0.1:8080")
            .expect("examples use the default address")
            .replace("<blake3>", &hash);
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{line}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{line}");
        tried += 1;
    }
    assert_eq!(tried, 11);
}

#[tokio::test]
async fn spend_reports_conversion_csv_and_advertisers() {
    if crate::util::skip_without_samples() {
        return;
    }
    use adarchive::archive::{Archive, NoProgress};
    use adarchive::ingest::{import_paths, ImportOptions};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rates = dir.path().join("eurofxref-hist.csv");
    std::fs::write(&rates, "Date,USD,THB,\n2022-11-18,1.0375,37.05,\n").unwrap();
    {
        let archive = Archive::open(&data).unwrap();
        let paths = vec![
            sample("meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv"),
            sample("google/2019_google-political-ads-advertiser-stats.csv"),
            sample("snap/2023_PoliticalAds.sorted.first500.csv"),
            rates,
        ];
        import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
    }
    let app = crate::api::helpers::spawn_with(data, dir, 0).await;

    let spend = app
        .json("/v1/spend?group_by=country&platform=meta&convert_to=EUR")
        .await;
    assert!(spend["origin"].as_str().unwrap().starts_with("ads:"));
    assert_eq!(spend["reports"]["kind"], "advertiser");
    let th = &spend["reports"]["groups"][0];
    assert_eq!(th["key"], "TH");
    assert_eq!(th["spend"][0]["currency"], "THB");
    assert!(th["reports"][0]["name"]
        .as_str()
        .unwrap()
        .ends_with("TH_yesterday_advertisers.csv"));
    assert_eq!(spend["conversion"]["available"], true);
    assert!(spend["conversion"]["note"]
        .as_str()
        .unwrap()
        .starts_with("estimate"));
    assert_eq!(
        spend["conversion"]["reports"][0]["figures"][0]["from_currency"],
        "THB"
    );

    let csv = app
        .get("/v1/spend?group_by=advertiser&format=csv&platform=meta")
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("spend-by-advertiser.csv"));
    let body = csv.bytes().await.unwrap();
    assert!(body.starts_with("\u{feff}origin,group_by,key".as_bytes()));

    problem(&app, "/v1/spend?group_by=country&report_kind=weekly", 400).await;
    problem(&app, "/v1/spend?group_by=country&convert_to=euro", 400).await;
    problem(&app, "/v1/spend?group_by=country&format=xml", 400).await;
    let misplaced = problem(&app, "/v1/ads?convert_to=EUR", 400).await;
    let text = misplaced.to_string();
    assert!(
        text.contains("convert_to") && text.contains("/v1/spend"),
        "{text}"
    );

    let list = app.json("/v1/advertisers?q=committee&limit=5").await;
    assert!(list["total"].as_u64().unwrap() >= 1);
    let first = &list["advertisers"][0];
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("adv-"));
    assert!(!first["members"].as_array().unwrap().is_empty());
    let detail = app.json(&format!("/v1/advertisers/{id}")).await;
    assert_eq!(detail["id"], id);
    assert!(detail["ads"]["origin"]
        .as_str()
        .unwrap()
        .starts_with("ads:"));
    assert!(detail["reports"]["origin"]
        .as_str()
        .unwrap()
        .starts_with("reports:"));
    problem(&app, "/v1/advertisers/adv-0000000000000000", 404).await;
    problem(&app, "/v1/advertisers?limit=0", 400).await;
    problem(&app, "/v1/advertisers?name=x", 400).await;
}

#[tokio::test]
async fn each_ad_level_figure_traces_to_the_ads_it_sums() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    for group_by in ["country", "platform", "advertiser", "funder"] {
        let spend = app
            .json(&format!("/v1/spend?group_by={group_by}&limit=3"))
            .await;
        let mut traced = 0;
        for g in spend["groups"].as_array().unwrap() {
            let Some(trace) = g["trace"].as_str() else {
                continue;
            };
            let body = app.get(trace).await.text().await.unwrap();
            let ads = body
                .lines()
                .filter(|l| !l.starts_with("{\"next_cursor\""))
                .count() as u64;
            assert_eq!(ads, g["ads"].as_u64().unwrap(), "{group_by} {trace}");
            traced += 1;
        }
        assert!(traced > 0, "{group_by}: no group carries a trace");
    }
}

#[tokio::test]
async fn a_google_table_saved_as_json_lines_is_served_as_json() {
    use adarchive::archive::{Archive, NoProgress};
    use adarchive::ingest::{import_paths, ImportOptions};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("creative_stats.jsonl");
    let bytes = br#"{"ad_id":"CR1","advertiser_id":"AR1","ad_type":"TEXT","first_served_timestamp":"2022-01-14 05:00:00 UTC"}
"#;
    std::fs::write(&file, bytes).unwrap();
    let data = dir.path().join("data");
    {
        let archive = Archive::open(&data).unwrap();
        let report =
            import_paths(&archive, &[file], ImportOptions::default(), &NoProgress).unwrap();
        assert_eq!(report.totals.records, 1, "{:?}", report.files);
    }
    let app = crate::api::helpers::spawn_with(data, dir, 0).await;
    let hash = blake3::hash(bytes).to_hex().to_string();
    let response = app.get(&format!("/v1/sources/{hash}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &bytes[..]);
}

#[tokio::test]
async fn repeated_requests_are_answered_from_the_cache() {
    if crate::util::skip_without_samples() {
        return;
    }
    let app = spawn_app().await;
    let stats = |health: &serde_json::Value| {
        (
            health["cache"]["hits"].as_u64().unwrap(),
            health["cache"]["misses"].as_u64().unwrap(),
        )
    };
    let before = stats(&app.json("/healthz").await);
    let first = app.get("/v1/ads?q=vote&platform=meta&facets=country").await;
    let first_type = first.headers()["content-type"].clone();
    let first = first.text().await.unwrap();
    // The same question in another order is the same answer, kept.
    let again = app.get("/v1/ads?facets=country&platform=meta&q=vote").await;
    assert_eq!(again.headers()["content-type"], first_type);
    assert_eq!(again.text().await.unwrap(), first);
    let page = app.get("/?q=vote").await.text().await.unwrap();
    assert_eq!(app.get("/?q=vote").await.text().await.unwrap(), page);
    let csv = app.get("/v1/spend?group_by=country&format=csv").await;
    let disposition = csv.headers()["content-disposition"].clone();
    let kept = app.get("/v1/spend?group_by=country&format=csv").await;
    assert_eq!(kept.headers()["content-disposition"], disposition);
    let health = app.json("/healthz").await;
    let after = stats(&health);
    assert_eq!(after.0 - before.0, 3, "three answers came from the cache");
    assert_eq!(after.1 - before.1, 3, "three were computed");
    assert!(health["cache"]["bytes"].as_u64().unwrap() > first.len() as u64);
    // Errors are never kept.
    for _ in 0..2 {
        assert_eq!(app.get("/v1/ads?sort=nonsense").await.status(), 400);
    }
    assert_eq!(stats(&app.json("/healthz").await).0, after.0);
    let metrics = app.get("/metrics").await;
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains(&format!("adarchive_cache_hits_total {}", after.0)));
    assert!(metrics.contains("# TYPE adarchive_cache_misses_total counter"));
}
