//! One abusive client beside a well-behaved one:
//! `cargo bench --bench abuse [-- --ads N]`.
//!
//! Generates and imports N ads (200,000 by default) and serves them with
//! the default per-client limits on loopback. A well-behaved client (one
//! connection from 127.0.0.1, a search with two facets every 50 ms) is
//! timed alone for 30 seconds, then again for 30 seconds while an abusive
//! client from 127.0.0.2 loops over the expensive requests a review found
//! (a facet named 4,000 times, every advertiser, spend by advertiser with
//! the most groups, phrases with every facet) on 16 connections and holds
//! 50 exports it never reads. Prints the well-behaved client's p50/p99
//! both times, what the abusive client got, and the server's peak memory,
//! as Markdown for `docs/benchmarks.md`. Every loop stops by itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod util;

use util::{ads_arg, generate, percentiles, run, s, status_kib, Server};

const PORT: u16 = 18_918;
const PHASE: Duration = Duration::from_secs(30);
const ABUSIVE_CONNECTIONS: usize = 16;
const STALLED_EXPORTS: usize = 50;

/// The well-behaved client: one search with two facets every 50 ms.
async fn polite(client: &reqwest::Client, base: &str, errors: &AtomicU64) -> Vec<Duration> {
    let words = ["vote", "election", "schools", "water", "wahl"];
    let mut times = Vec::new();
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < PHASE {
        let path = format!(
            "/v1/ads?q={}&facets=platform,country&limit=20",
            words[i % words.len()]
        );
        let t = Instant::now();
        match client.get(format!("{base}{path}")).send().await {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                times.push(t.elapsed());
            }
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    times
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let ads = ads_arg(&[200_000])[0];
    let input = work.path().join("exports");
    let data = work.path().join("data");
    generate(binary, &input, ads, 3);
    run(binary, &["import", "--data", s(&data), s(&input)]);

    let bind = format!("127.0.0.1:{PORT}");
    let server = Server::start(binary, &data, &bind, &[]);
    let pid = server.pid();
    let base = format!("http://{bind}");
    let runtime = util::client_runtime();
    runtime.block_on(async move {
        util::install_tls();
        let polite_client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 1]))
            .build()
            .expect("client");
        let abusive_client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        for _ in 0..100 {
            if polite_client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let errors = AtomicU64::new(0);
        let alone = polite(&polite_client, &base, &errors).await;

        let stop = Arc::new(AtomicBool::new(false));
        let statuses: Arc<Mutex<BTreeMap<u16, u64>>> = Arc::default();
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(status_kib(pid, "VmRSS") / 1024, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        // Exports the abusive client asks for and never reads.
        let mut stalled = Vec::new();
        for _ in 0..STALLED_EXPORTS {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            let _ = socket.set_recv_buffer_size(4096);
            socket.bind(([127, 0, 0, 2], 0).into()).expect("bind");
            if let Ok(mut stream) = socket.connect(([127, 0, 0, 1], PORT).into()).await {
                use tokio::io::AsyncWriteExt;
                let _ = stream
                    .write_all(b"GET /v1/export HTTP/1.1\r\nHost: adarchive\r\n\r\n")
                    .await;
                stalled.push(stream);
            }
        }
        let facets = vec!["funder"; 4_000].join(",");
        let expensive = [
            format!("/v1/ads?facets={facets}&facet_limit=1000"),
            "/v1/advertisers?limit=1000".to_owned(),
            "/v1/advertisers?q=a".to_owned(),
            "/v1/spend?group_by=advertiser&limit=100000".to_owned(),
            "/v1/spend?group_by=advertiser&limit=1000".to_owned(),
            "/v1/ads?q=%22clean%20water%22&facets=platform,country,region,language,currency,media_type,advertiser,advertiser_id,funder,gender,age&facet_limit=1000".to_owned(),
        ];
        let mut abusers = Vec::new();
        for worker in 0..ABUSIVE_CONNECTIONS {
            let (client, base, stop, statuses, expensive) = (
                abusive_client.clone(),
                base.clone(),
                stop.clone(),
                statuses.clone(),
                expensive.clone(),
            );
            abusers.push(tokio::spawn(async move {
                let mut i = worker;
                while !stop.load(Ordering::Relaxed) {
                    let path = &expensive[i % expensive.len()];
                    let status = match client.get(format!("{base}{path}")).send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    *statuses.lock().expect("statuses").entry(status).or_default() += 1;
                    i += 1;
                }
            }));
        }
        let loaded = polite(&polite_client, &base, &errors).await;
        stop.store(true, Ordering::Relaxed);
        for a in abusers {
            let _ = a.await;
        }
        let _ = sampler.join();
        let healthz = Instant::now();
        let alive = polite_client.get(format!("{base}/healthz")).send().await.is_ok();
        let healthz = healthz.elapsed();
        drop(stalled);

        let (alone50, alone99) = percentiles(alone.clone());
        let (loaded50, loaded99) = percentiles(loaded.clone());
        println!("| ads | well-behaved client | requests | p50 | p99 |");
        println!("|---:|---|---:|---:|---:|");
        println!("| {ads} | alone | {} | {alone50:.1} ms | {alone99:.1} ms |", alone.len());
        println!(
            "| {ads} | beside the abusive client | {} | {loaded50:.1} ms | {loaded99:.1} ms |",
            loaded.len()
        );
        println!();
        println!(
            "p99 beside / alone: {:.2}×; failed well-behaved requests: {}; /healthz after: {} in {:.1} ms; server peak memory: {} MB",
            loaded99 / alone99.max(0.001),
            errors.load(Ordering::Relaxed),
            if alive { "answered" } else { "no answer" },
            healthz.as_secs_f64() * 1000.0,
            peak.load(Ordering::Relaxed)
        );
        println!();
        println!("| abusive client's answers | count |");
        println!("|---|---:|");
        for (status, count) in statuses.lock().expect("statuses").iter() {
            let label = if *status == 0 {
                "no answer".to_owned()
            } else {
                status.to_string()
            };
            println!("| {label} | {count} |");
        }
    });
    drop(server);
}
