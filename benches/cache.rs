//! The result cache on a realistic mix of requests: the same sequence
//! asked of a server with its cache and of one without.
//!
//! `cargo bench --bench cache [-- --ads N | -- --data DIR] [-- --distinct N
//! --asked N --clients N --cache-mib N]`: imports N generated ads
//! (1,000,000 by default) or serves an archive imported before. The
//! requests are `--distinct` questions (10,000 by default) made from the
//! generator's vocabulary — a word with facets and filters, a phrase, every
//! ad newest first, the search page, spend by country, platform, month or
//! advertiser (on a word, or on everything) — drawn `--asked` times (40,000) with a Zipf law (s = 1.1,
//! the shape of the queries people ask a search engine), by `--clients`
//! connections at once (32), of a server without the cache, one with it
//! (`--cache-mib`, 64), and one without again (the first run warms the
//! system's page cache). Prints requests per second, p50 and p99 overall
//! and by kind of request, and the cache's hit rate and size.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod util;

use util::{percentiles, status_kib, Server};

const PORT: u16 = 18_923;

/// What the run asks: how many distinct questions, how many requests,
/// over how many connections, of a cache of how many MiB.
struct Plan {
    distinct: usize,
    asked: usize,
    clients: usize,
    cache_mib: u64,
}

impl Plan {
    fn from_args() -> Plan {
        let number = |name: &str, default: usize| {
            util::arg_value(name)
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name} takes a number"))
                })
                .unwrap_or(default)
        };
        Plan {
            distinct: number("--distinct", 10_000).max(1),
            asked: number("--asked", 40_000),
            clients: number("--clients", 32).max(1),
            cache_mib: number("--cache-mib", 64) as u64,
        }
    }
}

const PLATFORMS: [&str; 7] = [
    "meta",
    "google",
    "snap",
    "tiktok",
    "microsoft",
    "linkedin",
    "x",
];
const COUNTRIES: [&str; 6] = ["US", "GB", "NL", "DE", "FR", "TH"];
const LANGUAGES: [&str; 5] = ["en", "fr", "de", "nl", "th"];
const GROUPINGS: [&str; 4] = ["country", "platform", "month", "advertiser"];

/// The kinds of request, as the latency table names them.
const KINDS: [&str; 5] = [
    "a word, filters and 4 facets",
    "a phrase",
    "every ad, newest first",
    "the search page",
    "spend",
];

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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `choices` with probability `1 / odds`, else nothing.
    fn maybe<'a>(&mut self, odds: u64, choices: &[&'a str]) -> Option<&'a str> {
        (self.next() % odds == 0).then(|| choices[self.below(choices.len())])
    }
}

/// A query parameter's value, percent-encoded.
fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The distinct questions with their kind, most asked first.
fn questions(rng: &mut Rng, wanted: usize) -> Vec<(usize, String)> {
    let words = adarchive_generate::vocabulary();
    let mut seen = std::collections::HashSet::new();
    let mut asked = Vec::with_capacity(wanted);
    while asked.len() < wanted {
        let at = rng.below(words.len());
        let word = &words[at];
        let mut filters: Vec<String> = Vec::new();
        for (name, odds, choices) in [
            ("platform", 2, &PLATFORMS[..]),
            ("country", 3, &COUNTRIES[..]),
            ("language", 5, &LANGUAGES[..]),
        ] {
            if let Some(value) = rng.maybe(odds, choices) {
                filters.push(format!("{name}={value}"));
            }
        }
        let filters = filters.join("&");
        let (kind, question) = match rng.next() % 20 {
            0..=8 => (
                0,
                format!(
                    "/v1/ads?q={}&{filters}&facets=platform,country,language,currency",
                    encoded(word)
                ),
            ),
            9..=10 => {
                // Neighbours in the vocabulary are mostly neighbours in a sentence.
                let next = &words[(at + 1) % words.len()];
                let phrase = format!("\"{word} {next}\"");
                (1, format!("/v1/ads?q={}&{filters}", encoded(&phrase)))
            }
            11..=12 => (
                2,
                format!("/v1/ads?{filters}&sort=first_shown:desc&facets=platform"),
            ),
            13..=16 => (3, format!("/?q={}&{filters}", encoded(word))),
            _ => {
                // Spend on a subject, or (one time in three) on everything.
                let grouping = GROUPINGS[rng.below(GROUPINGS.len())];
                let subject = match rng.next() % 3 {
                    0 => String::new(),
                    _ => format!("q={}&", encoded(word)),
                };
                (
                    4,
                    format!("/v1/spend?group_by={grouping}&{subject}{filters}"),
                )
            }
        };
        if seen.insert(question.clone()) {
            asked.push((kind, question));
        }
    }
    asked
}

/// `asked` draws from `distinct` ranks with a Zipf law of exponent 1.1.
fn draws(rng: &mut Rng, distinct: usize, asked: usize) -> Vec<usize> {
    let weights: Vec<f64> = (1..=distinct).map(|r| 1.0 / (r as f64).powf(1.1)).collect();
    let sum: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(distinct);
    let mut acc = 0.0;
    for w in weights {
        acc += w / sum;
        cumulative.push(acc);
    }
    (0..asked)
        .map(|_| {
            let u = rng.unit();
            cumulative.partition_point(|c| *c < u).min(distinct - 1)
        })
        .collect()
}

struct Outcome {
    wall: Duration,
    /// Each answered request's kind and time.
    times: Vec<(usize, Duration)>,
    failed: usize,
    health: serde_json::Value,
    peak_mib: u64,
}

fn ask_all(
    binary: &str,
    data: &std::path::Path,
    cache_bytes: u64,
    clients: usize,
    sequence: &[(usize, String)],
) -> Outcome {
    let bind = format!("127.0.0.1:{PORT}");
    let cache_bytes = cache_bytes.to_string();
    let server = Server::start(
        binary,
        data,
        &bind,
        &["--rate-limit", "0", "--cache-bytes", &cache_bytes],
    );
    let base = format!("http://{bind}");
    let sequence = Arc::new(sequence.to_vec());
    let runtime = util::client_runtime();
    let outcome = runtime.block_on(async move {
        let client = util::http_client();
        util::wait_until_serving(&client, &base, 300).await;
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, base, sequence, next) =
                (client.clone(), base.clone(), sequence.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let (mut times, mut failed) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((kind, path)) = sequence.get(i) else {
                        break;
                    };
                    let asked = Instant::now();
                    let ok = match client.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if ok {
                        times.push((*kind, asked.elapsed()));
                    } else {
                        failed += 1;
                    }
                }
                (times, failed)
            }));
        }
        let (mut times, mut failed) = (Vec::new(), 0);
        for task in tasks {
            let (t, f) = task.await.expect("client");
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
    let plan = Plan::from_args();
    let work = tempfile::tempdir().expect("temporary folder");
    let data = util::given_or_generated(binary, work.path());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let distinct = questions(&mut rng, plan.distinct);
    let sequence: Vec<(usize, String)> = draws(&mut rng, plan.distinct, plan.asked)
        .into_iter()
        .map(|rank| distinct[rank].clone())
        .collect();
    let asked_once: std::collections::HashSet<&String> = sequence.iter().map(|(_, q)| q).collect();
    println!(
        "{} requests by {} connections, {} distinct of {} (Zipf, s = 1.1)",
        plan.asked,
        plan.clients,
        asked_once.len(),
        plan.distinct
    );
    let mut by_kind = Vec::new();
    println!();
    println!("| server | req/s | p50 | p99 | failed | hit rate | kept | peak memory |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    // The system's page cache warms during the first run: the run without
    // the result cache is made again after the one with it.
    let with_cache = format!("with the cache ({} MiB)", plan.cache_mib);
    for (name, bytes) in [
        ("without the cache", 0),
        (with_cache.as_str(), plan.cache_mib << 20),
        ("without the cache, again", 0),
    ] {
        let o = ask_all(binary, &data, bytes, plan.clients, &sequence);
        let (p50, p99) = percentiles(o.times.iter().map(|(_, t)| *t).collect());
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
        by_kind.push((name.to_owned(), o.times));
    }
    println!();
    print!("| request kind | share |");
    for (name, _) in &by_kind {
        print!(" {name}: p50 / p99 |");
    }
    println!();
    println!("|---|---:|{}", "---:|".repeat(by_kind.len()));
    for (kind, label) in KINDS.iter().enumerate() {
        let share = sequence.iter().filter(|(k, _)| *k == kind).count() as f64
            / sequence.len().max(1) as f64;
        print!("| {label} | {:.0} % |", share * 100.0);
        for (_, times) in &by_kind {
            let (p50, p99) = percentiles(
                times
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, t)| *t)
                    .collect(),
            );
            print!(" {p50:.2} / {p99:.2} ms |");
        }
        println!();
    }
}
