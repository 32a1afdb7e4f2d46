//! Load benchmark of the HTTP API: `cargo bench --bench api [-- --ads N]`.
//!
//! Generates and imports N ads (1,000,000 by default), starts `adarchive
//! serve` without a rate limit on loopback, then runs a mixed read workload
//! from 32 concurrent connections for 20 seconds, and downloads the full
//! NDJSON export while sampling the server's memory. Prints Markdown tables
//! (the whole workload, each kind of request, the export) for
//! `docs/benchmarks.md`. `-- --data DIR` serves an archive imported
//! before instead of generating one; `-- --uncached` starts the server
//! without its result cache, which otherwise answers the workload's
//! repeated requests; `-- --no-export` leaves the export out.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod util;

use util::{ads_arg, generate, percentiles, run, s, status_kib, Server};

const CONNECTIONS: usize = 32;
const DURATION: Duration = Duration::from_secs(20);
const PORT: u16 = 18_917;

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// Resident memory that is not a mapped file: the heap and caches of the
/// server, without the pages of the memory-mapped index.
fn anonymous_kib(pid: u32) -> u64 {
    status_kib(pid, "RssAnon")
}

/// How many ads the archive in `data` holds, from `adarchive search --json`.
fn archived_ads(binary: &str, data: &std::path::Path) -> u64 {
    let out = Command::new(binary)
        .args(["search", "--data", s(data), "--json", "--limit", "1", ""])
        .output()
        .expect("search the archive");
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("search JSON");
    reply["total"].as_u64().expect("a total")
}

/// The workload's kinds of request and their shares.
const KINDS: [(&str, &str); 5] = [
    ("one word", "40 %"),
    ("phrase", "20 %"),
    ("word + 3 filters + 4 facets", "20 %"),
    ("one ad", "15 %"),
    ("every ad, newest first, with a facet", "5 %"),
];

fn main() {
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let args: Vec<String> = std::env::args().collect();
    let given = args
        .iter()
        .position(|a| a == "--data")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let data = given.clone().unwrap_or_else(|| work.path().join("data"));
    let ads = if given.is_some() {
        archived_ads(binary, &data)
    } else {
        let ads = ads_arg(&[1_000_000])[0];
        let input = work.path().join("exports");
        generate(binary, &input, ads, 3);
        run(binary, &["import", "--data", s(&data), s(&input)]);
        let _ = Command::new("sync").status();
        ads
    };

    let bind = format!("127.0.0.1:{PORT}");
    let uncached = args.iter().any(|a| a == "--uncached");
    let no_export = args.iter().any(|a| a == "--no-export");
    let mut server_args = vec!["--rate-limit", "0"];
    if uncached {
        server_args.extend(["--cache-bytes", "0"]);
    }
    let server = Server::start(binary, &data, &bind, &server_args);
    let pid = server.pid();
    let base = format!("http://{bind}");
    let runtime = util::client_runtime();
    runtime.block_on(async move {
        util::install_tls();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()
            .expect("client");
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page: serde_json::Value = client
            .get(format!("{base}/v1/ads?limit=200"))
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        let uids: Arc<Vec<String>> = Arc::new(
            page["results"]
                .as_array()
                .map(|r| r.iter().filter_map(|h| h["uid"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        );
        let words = ["vote", "election", "schools", "water", "wahl", "เลือกตั้ง", "الانتخابات", "選挙"];
        let phrases = ["%22clean%20water%22", "%22election%20day%22", "%22health%20care%22"];
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..CONNECTIONS {
            let (client, base, uids, errors, stop) =
                (client.clone(), base.clone(), uids.clone(), errors.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    let (kind, path) = match i % 20 {
                        0..=7 => (0, format!("/v1/ads?q={}", words[i % words.len()])),
                        8..=11 => (1, format!("/v1/ads?q={}", phrases[i % phrases.len()])),
                        12..=15 => (2, format!(
                            "/v1/ads?q={}&platform=meta,google&currency=EUR&active=false&facets=country,language,advertiser,media_type",
                            words[i % 4]
                        )),
                        16..=18 => (3, format!("/v1/ads/{}", uids[i % uids.len().max(1)])),
                        _ => (4, "/v1/ads?sort=first_shown&limit=50&facets=platform".to_owned()),
                    };
                    let t = Instant::now();
                    match client.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            latencies.push((kind, t.elapsed()));
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    i += CONNECTIONS;
                }
                latencies
            }));
        }
        tokio::time::sleep(DURATION).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap_or_default());
        }
        let elapsed = started.elapsed();
        let all: Vec<Duration> = latencies.iter().map(|&(_, t)| t).collect();
        let (p50, p99) = percentiles(all);
        println!("| ads | cache | connections | requests | errors | req/s | p50 | p99 |");
        println!("|---:|---|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {ads} | {} | {CONNECTIONS} | {} | {} | {:.0} | {p50:.1} ms | {p99:.1} ms |",
            if uncached { "none" } else { "64 MiB" },
            latencies.len(),
            errors.load(Ordering::Relaxed),
            latencies.len() as f64 / elapsed.as_secs_f64(),
        );
        // Under a closed loop every request waits behind the others, so
        // these say which kinds hold the queue, not what each costs alone.
        println!();
        println!("| request kind | share | requests | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|");
        for (kind, (name, share)) in KINDS.iter().enumerate() {
            let times: Vec<Duration> = latencies
                .iter()
                .filter(|&&(k, _)| k == kind)
                .map(|&(_, t)| t)
                .collect();
            let count = times.len();
            let (p50, p99) = percentiles(times);
            println!("| {name} | {share} | {count} | {p50:.1} ms | {p99:.1} ms |");
        }

        if no_export {
            return;
        }
        let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
        let peak_anonymous = Arc::new(AtomicU64::new(anonymous_kib(pid)));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, peak_anonymous, done) = (peak.clone(), peak_anonymous.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                    peak_anonymous.fetch_max(anonymous_kib(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        let (before, before_anonymous) = (rss_kib(pid), anonymous_kib(pid));
        let t = Instant::now();
        let mut response = client
            .get(format!("{base}/v1/export?format=ndjson"))
            .send()
            .await
            .expect("export");
        let mut bytes = 0u64;
        let mut lines = 0u64;
        while let Ok(Some(chunk)) = response.chunk().await {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        println!();
        println!("| export | lines | size | time | MB/s | server memory before | peak during | heap before | heap peak |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| NDJSON | {lines} | {:.0} MB | {secs:.1} s | {:.0} | {:.0} MB | {:.0} MB | {:.0} MB | {:.0} MB |",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs,
            before as f64 / 1024.0,
            peak.load(Ordering::Relaxed) as f64 / 1024.0,
            before_anonymous as f64 / 1024.0,
            peak_anonymous.load(Ordering::Relaxed) as f64 / 1024.0
        );
    });
    drop(server);
}
