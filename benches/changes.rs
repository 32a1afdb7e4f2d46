//! What listings cost, and how fast their changes are served.
//!
//! `cargo bench --bench changes [-- --ads N]`: generates N ads (170,000 by
//! default: about 100,000 of them in Google's creative stats and Snap's
//! file, the two listings) as one file per platform, and imports three
//! weeks of those two listings: the files as generated, then without every
//! 20th row and with every 50th Snap row's spend changed, then without
//! every 40th row (most rows come back, some vanish). For each week it
//! prints the import time and the part spent working out the changes.
//! Then a server answers, one client asking 1,000 times each, `/v1/changes`
//! pages (the first, by kind, with a search, filtered, deep by cursor) and
//! `/v1/ads` with the same search beside them. Prints milliseconds at p50
//! and p99.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adarchive::archive::{Archive, NoProgress};
use adarchive::ingest::{import_paths, ImportOptions};

mod util;

use util::{ads_arg, percentiles, run, s, Server};

const PORT: u16 = 18_932;
const ASKED: usize = 1_000;

/// One week's copy of a listing: every row but those `drop` leaves out,
/// with `change` applied to the rows it picks.
fn week(
    from: &Path,
    to: &Path,
    drop: impl Fn(usize) -> bool,
    change: impl Fn(usize, &csv::StringRecord, &csv::StringRecord) -> Option<csv::StringRecord>,
) {
    std::fs::create_dir_all(to.parent().expect("folder")).expect("folder");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(from)
        .expect("listing");
    let header = reader.headers().expect("header").clone();
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(to)
        .expect("copy");
    writer.write_record(&header).expect("write");
    for (i, row) in reader.records().enumerate() {
        let row = row.expect("row");
        if drop(i) {
            continue;
        }
        let row = change(i, &header, &row).unwrap_or(row);
        writer.write_record(&row).expect("write");
    }
    writer.flush().expect("write");
}

/// Snap's row with its spend 7 higher.
fn more_spend(header: &csv::StringRecord, row: &csv::StringRecord) -> Option<csv::StringRecord> {
    let column = header.iter().position(|h| h == "Spend")?;
    let spend: u64 = row.get(column)?.parse().unwrap_or(0);
    Some(
        row.iter()
            .enumerate()
            .map(|(i, v)| {
                if i == column {
                    (spend + 7).to_string()
                } else {
                    v.to_owned()
                }
            })
            .collect(),
    )
}

fn main() {
    util::install_tls();
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let ads = ads_arg(&[170_000])[0];
    let exports = work.path().join("exports");
    let data = work.path().join("data");
    let count = ads.to_string();
    run(
        binary,
        &[
            "generate-samples",
            s(&exports),
            "--ads",
            &count,
            "--seed",
            "9",
            "--files",
            "one-per-platform",
        ],
    );
    let snap = exports.join("snap/PoliticalAds.csv");
    let google = exports.join("google-political-ads-creative-stats.csv");
    let weeks: Vec<(String, Vec<PathBuf>)> = (1..=3)
        .map(|n| {
            let folder = work.path().join(format!("week{n}-2024"));
            let (snap_copy, google_copy) = (
                folder.join("PoliticalAds.csv"),
                folder.join("google-political-ads-creative-stats.csv"),
            );
            let drop = move |i: usize| match n {
                2 => i % 20 == 19,
                3 => i % 40 == 39,
                _ => false,
            };
            week(&snap, &snap_copy, drop, |i, header, row| {
                (n == 2 && i % 50 == 0)
                    .then(|| more_spend(header, row))
                    .flatten()
            });
            week(&google, &google_copy, drop, |_, _, _| None);
            (format!("week {n}"), vec![snap_copy, google_copy])
        })
        .collect();

    let archive = Archive::open(&data).expect("archive");
    println!("| import | ads listed | time | working out the changes | share |");
    println!("|---|---:|---:|---:|---:|");
    for (label, files) in &weeks {
        let before = archive.listing_time();
        let started = Instant::now();
        let report =
            import_paths(&archive, files, ImportOptions::default(), &NoProgress).expect("import");
        let took = started.elapsed();
        let spent = archive.listing_time() - before;
        let listed: u64 = report
            .files
            .iter()
            .filter_map(|f| f.listing.as_ref())
            .map(|l| l.ads)
            .sum();
        let said: Vec<String> = report
            .files
            .iter()
            .filter_map(|f| f.listing.as_ref())
            .map(|l| {
                format!(
                    "{} #{}: {} new, {} changed, {} missing once, {} vanished, {} back",
                    l.scope, l.number, l.new, l.changed, l.missing_once, l.vanished, l.reappeared
                )
            })
            .collect();
        println!(
            "| {label} | {listed} | {:.2} s | {:.0} ms | {:.1} % |",
            took.as_secs_f64(),
            spent.as_secs_f64() * 1000.0,
            100.0 * spent.as_secs_f64() / took.as_secs_f64()
        );
        eprintln!("{label}: {}", said.join("; "));
    }
    let total = adarchive::changes::changes(
        &archive,
        &adarchive::changes::ChangesRequest {
            limit: 1,
            ..Default::default()
        },
    )
    .expect("changes");
    assert_eq!(total.changes.len(), 1, "the weeks changed something");
    let listings = archive.listings().expect("listings");
    let changes: u64 = listings
        .iter()
        .map(|l| l.new + l.changed + l.missing_once + l.vanished + l.reappeared)
        .sum();
    drop(archive);

    let bind = format!("127.0.0.1:{PORT}");
    let _server = Server::start(
        binary,
        &data,
        &bind,
        &["--rate-limit", "0", "--cache-bytes", "0"],
    );
    let client = reqwest::blocking::Client::new();
    let base = format!("http://{bind}");
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "no server");
        std::thread::sleep(Duration::from_millis(100));
    }
    let country = client
        .get(format!("{base}/v1/ads?facets=country&limit=1"))
        .send()
        .and_then(|r| r.json::<serde_json::Value>())
        .expect("facets")["facets"]["country"][0]["value"]
        .as_str()
        .unwrap_or("US")
        .to_owned();
    println!("\n{changes} changes in {} listings\n", listings.len());
    println!("| request | p50 | p99 |");
    println!("|---|---:|---:|");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut below = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    };
    let deep: Vec<String> = (0..ASKED)
        .map(|_| {
            let listing = &listings[1 + below(listings.len() as u64 - 1) as usize];
            let kinds = listing.new + listing.changed + listing.missing_once + listing.vanished;
            format!("{}.{}", listing.id, below(kinds.max(1)))
        })
        .collect();
    let fixed = |path: &str| vec![path.to_owned(); ASKED];
    let requests: Vec<(&str, Vec<String>)> = vec![
        (
            "`/v1/changes`, the first page of 50",
            fixed("/v1/changes?limit=50"),
        ),
        (
            "`/v1/changes?kind=vanished`",
            fixed("/v1/changes?limit=50&kind=vanished"),
        ),
        (
            "`/v1/changes?kind=changed`, each with its JSON Patch",
            fixed("/v1/changes?limit=50&kind=changed"),
        ),
        ("`/v1/changes?q=vote`", fixed("/v1/changes?limit=50&q=vote")),
        (
            "`/v1/changes?country=…&kind=missing_once`",
            fixed(&format!(
                "/v1/changes?limit=50&country={country}&kind=missing_once"
            )),
        ),
        (
            "`/v1/changes?cursor=…`, a random page deep in the changes",
            deep.iter()
                .map(|c| format!("/v1/changes?limit=50&cursor={c}"))
                .collect(),
        ),
        ("`/v1/scopes`", fixed("/v1/scopes")),
        (
            "beside them: `/v1/ads?q=vote`",
            fixed("/v1/ads?limit=50&q=vote"),
        ),
        (
            "beside them: `/v1/ads?status=vanished&facets=status`",
            fixed("/v1/ads?limit=50&status=vanished&facets=status"),
        ),
    ];
    for (label, paths) in requests {
        let mut times = Vec::with_capacity(paths.len());
        for path in &paths {
            let url = format!("{base}{path}");
            let started = Instant::now();
            let answer = client.get(&url).send().expect("request");
            assert!(answer.status().is_success(), "{url}: {}", answer.status());
            answer.bytes().expect("body");
            times.push(started.elapsed());
        }
        let (p50, p99) = percentiles(times);
        println!("| {label} | {p50:.2} ms | {p99:.2} ms |");
    }
}
