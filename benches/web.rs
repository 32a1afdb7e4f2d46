//! The search page beside `/v1/ads` for the same request, and the weight
//! of the page.
//!
//! `cargo bench --bench web [-- --ads N | -- --data DIR]`: imports N
//! generated ads (1,000,000 by default) or serves an archive imported
//! before, then asks, one request at a time on one connection, for the
//! search page and for `/v1/ads` with the same query, filters and facets
//! (the page also counts running and ended ads and ads per month),
//! alternating, and prints p50 and p99 of each. Then it weighs the page
//! and its stylesheet, as sent plain, gzip and brotli.

use std::time::Instant;

mod util;

use util::{percentiles, Server};

const PORT: u16 = 18_919;
const ROUNDS: usize = 1_000;

/// What the page counts for its sidebar, asked of the API too.
const FACETS: &str = "facets=platform,country,language,media_type,currency&facet_limit=10";

fn main() {
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let data = util::given_or_generated(binary, work.path());
    let bind = format!("127.0.0.1:{PORT}");
    let _server = Server::start(binary, &data, &bind, &["--rate-limit", "0"]);
    let base = format!("http://{bind}");
    let runtime = util::client_runtime();
    runtime.block_on(async move {
        let client = util::http_client();
        util::wait_until_serving(&client, &base, 300).await;
        let requests = [
            ("one word", "q=vote"),
            ("one word in Thai", "q=%E0%B9%80%E0%B8%A5%E0%B8%B7%E0%B8%AD%E0%B8%81%E0%B8%95%E0%B8%B1%E0%B9%89%E0%B8%87"),
            ("word + platform + country", "q=election&platform=meta&country=GB"),
            ("every ad", ""),
        ];
        println!("| request ({ROUNDS} runs each) | page p50 | page p99 | /v1/ads p50 | /v1/ads p99 |");
        println!("|---|---:|---:|---:|---:|");
        for (name, query) in requests {
            let page = format!("{base}/?{query}");
            let api = format!("{base}/v1/ads?{query}&{FACETS}");
            let time = |url: String| {
                let client = client.clone();
                async move {
                    let started = Instant::now();
                    let response = client.get(&url).send().await.expect("request");
                    assert!(response.status().is_success(), "{url}: {}", response.status());
                    response.bytes().await.expect("body");
                    started.elapsed()
                }
            };
            for _ in 0..10 {
                time(page.clone()).await;
                time(api.clone()).await;
            }
            let (mut pages, mut apis) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                pages.push(time(page.clone()).await);
                apis.push(time(api.clone()).await);
            }
            let (p50, p99) = percentiles(pages);
            let (a50, a99) = percentiles(apis);
            println!("| {name} | {p50:.2} ms | {p99:.2} ms | {a50:.2} ms | {a99:.2} ms |");
        }

        println!();
        println!("| resource | plain | gzip | brotli |");
        println!("|---|---:|---:|---:|");
        let mut totals = [0usize; 3];
        for (name, path) in [("search page (`/?q=vote`)", "/?q=vote"), ("stylesheet", "/assets/style.css")] {
            let mut sizes = [0usize; 3];
            for (i, encoding) in ["identity", "gzip", "br"].into_iter().enumerate() {
                let body = client
                    .get(format!("{base}{path}"))
                    .header("accept-encoding", encoding)
                    .send()
                    .await
                    .expect("request")
                    .bytes()
                    .await
                    .expect("body");
                sizes[i] = body.len();
                totals[i] += body.len();
            }
            println!("| {name} | {} B | {} B | {} B |", sizes[0], sizes[1], sizes[2]);
        }
        println!("| everything the page loads | {} B | {} B | {} B |", totals[0], totals[1], totals[2]);
    });
}
