//! The result cache on a realistic mix of requests: the same sequence
//! asked of a server with its cache and of one without.
//!
//! `cargo bench --bench cache [-- --ads N | -- --data DIR]`: imports N
//! generated ads (1,000,000 by default) or serves an archive imported
//! before. The requests are 400 distinct questions — searches with facets
//! (a word or none, perhaps a platform, perhaps a country), the search page,
//! spend by country, platform or month — drawn 4,000 times with a Zipf
//! law (s = 1.1, the shape of the queries people ask a search engine), by
//! four clients at once, of a server without the cache, one with it, and
//! one without again (the first run warms the system's page cache). Prints
//! requests per second, p50 and p99, and the cache's hit rate and size.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod util;

use util::{percentiles, status_kib, Server};

const PORT: u16 = 18_923;
const DISTINCT: usize = 400;
const ASKED: usize = 4_000;
const CLIENTS: usize = 4;

const WORDS: [&str; 12] = [
    "",
    "vote",
    "election",
    "water",
    "schools",
    "health",
    "voting",
    "family",
    "funding",
    "corporations",
    "\"clean water\"",
    "plan",
];
const PLATFORMS: [&str; 8] = [
    "",
    "meta",
    "google",
    "snap",
    "tiktok",
    "microsoft",
    "linkedin",
    "x",
];
const COUNTRIES: [&str; 7] = ["", "US", "GB", "NL", "DE", "FR", "TH"];
const GROUPINGS: [&str; 3] = ["country", "platform", "month"];

/// A small xorshift generator: the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The distinct questions, most asked first.
fn questions(rng: &mut Rng) -> Vec<String> {
    let mut asked = Vec::new();
    while asked.len() < DISTINCT {
        let pick = |rng: &mut Rng, n: usize| (rng.next() % n as u64) as usize;
        let word = WORDS[pick(rng, WORDS.len())];
        let mut filters = Vec::new();
        if !word.is_empty() {
            filters.push(format!("q={}", word.replace(' ', "+").replace('"', "%22")));
        }
        let platform = PLATFORMS[pick(rng, PLATFORMS.len())];
        if !platform.is_empty() {
            filters.push(format!("platform={platform}"));
        }
        let country = COUNTRIES[pick(rng, COUNTRIES.len())];
        if !country.is_empty() {
            filters.push(format!("country={country}"));
        }
        let filters = filters.join("&");
        let question = match rng.next() % 20 {
            0..=11 => format!("/v1/ads?{filters}&facets=platform,country,language,currency"),
            12..=16 => format!("/?{filters}"),
            _ => format!(
                "/v1/spend?group_by={}&{filters}",
                GROUPINGS[pick(rng, GROUPINGS.len())]
            ),
        };
        if !asked.contains(&question) {
            asked.push(question);
        }
    }
    asked
}

/// `ASKED` draws from `DISTINCT` ranks with a Zipf law of exponent 1.1.
fn draws(rng: &mut Rng) -> Vec<usize> {
    let weights: Vec<f64> = (1..=DISTINCT).map(|r| 1.0 / (r as f64).powf(1.1)).collect();
    let sum: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(DISTINCT);
    let mut acc = 0.0;
    for w in weights {
        acc += w / sum;
        cumulative.push(acc);
    }
    (0..ASKED)
        .map(|_| {
            let u = rng.unit();
            cumulative.partition_point(|c| *c < u).min(DISTINCT - 1)
        })
        .collect()
}

struct Outcome {
    wall: Duration,
    times: Vec<Duration>,
    failed: usize,
    health: serde_json::Value,
    peak_mib: u64,
}

fn ask_all(
    binary: &str,
    data: &std::path::Path,
    cache_bytes: &str,
    sequence: &[String],
) -> Outcome {
    let bind = format!("127.0.0.1:{PORT}");
    let server = Server::start(
        binary,
        data,
        &bind,
        &["--rate-limit", "0", "--cache-bytes", cache_bytes],
    );
    let base = format!("http://{bind}");
    let sequence = Arc::new(sequence.to_vec());
    let runtime = util::client_runtime();
    let outcome = runtime.block_on(async move {
        let client = util::http_client();
        util::wait_until_serving(&client, &base, 300).await;
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let (client, base, sequence, next) =
                (client.clone(), base.clone(), sequence.clone(), next.clone());
            clients.push(tokio::spawn(async move {
                let (mut times, mut failed) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(path) = sequence.get(i) else { break };
                    let asked = Instant::now();
                    let ok = match client.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        times.push(asked.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                (times, failed)
            }));
        }
        let (mut times, mut failed) = (Vec::new(), 0);
        for c in clients {
            let (t, f) = c.await.expect("client");
            times.extend(t);
            failed += f;
        }
        let wall = started.elapsed();
        let health: serde_json::Value = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .json()
            .await
            .expect("json");
        (wall, times, failed, health)
    });
    let peak_mib = status_kib(server.pid(), "VmHWM") / 1024;
    drop(server);
    Outcome {
        wall: outcome.0,
        times: outcome.1,
        failed: outcome.2,
        health: outcome.3,
        peak_mib,
    }
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let data = util::given_or_generated(binary, work.path());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let distinct = questions(&mut rng);
    let sequence: Vec<String> = draws(&mut rng)
        .into_iter()
        .map(|rank| distinct[rank].clone())
        .collect();
    let asked_once: std::collections::HashSet<&String> = sequence.iter().collect();
    println!(
        "{ASKED} requests by {CLIENTS} clients, {} distinct of {DISTINCT} (Zipf, s = 1.1)",
        asked_once.len()
    );
    println!();
    println!("| server | req/s | p50 | p99 | failed | hit rate | kept | peak memory |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    // The system's page cache warms during the first run: the run without
    // the result cache is made again after the one with it.
    for (name, bytes) in [
        ("without the cache", "0"),
        ("with the cache (64 MiB)", "67108864"),
        ("without the cache, again", "0"),
    ] {
        let o = ask_all(binary, &data, bytes, &sequence);
        let (p50, p99) = percentiles(o.times.clone());
        let cache = &o.health["cache"];
        let hits = cache["hits"].as_f64().unwrap_or(0.0);
        let misses = cache["misses"].as_f64().unwrap_or(0.0);
        let rate = if hits + misses > 0.0 {
            hits / (hits + misses)
        } else {
            0.0
        };
        println!(
            "| {name} | {:.0} | {p50:.2} ms | {p99:.2} ms | {} | {:.1} % | {} entries, {:.1} MiB | {} MiB |",
            o.times.len() as f64 / o.wall.as_secs_f64(),
            o.failed,
            rate * 100.0,
            cache["entries"],
            cache["bytes"].as_f64().unwrap_or(0.0) / (1 << 20) as f64,
            o.peak_mib
        );
    }
}
