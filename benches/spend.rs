//! Spend totals over many advertisers, beside DuckDB on the same ads.
//!
//! `cargo bench --bench spend [-- --ads N[,N…]]`: for each N (100,000 and
//! 1,000,000 by default) generates N ads where every Google, Meta and Snap
//! ad has an advertiser of its own (`--advertisers one-per-ad`, the shape
//! Meta's page ids give), imports them, and times, 20 times each after two
//! warm-up runs:
//!
//! - the ad-level totals by advertiser, country and platform, top 100
//!   (`adarchive::spend::spend_totals`, what `/v1/spend` sums from the ads);
//! - `GET /v1/spend?group_by=…` of a server without its result cache: the
//!   ad-level totals beside the report-level ones (the bundle's
//!   advertiser-stats give one report row per Google advertiser);
//! - when Python's `duckdb` is installed: the NDJSON export (`/v1/export`)
//!   loaded into a DuckDB table, then the same grouping (advertiser ×
//!   currency: ads and the sums of lower and upper bounds, top 100 by
//!   ads), timed in DuckDB alone.
//!
//! - `adarchive export --format parquet --out DIR` of the whole archive:
//!   time, CPU, the peak of its heap (sampled every 20 ms) and of its
//!   resident memory, and the folder's size.
//!
//! Prints p50 and p99 in milliseconds, then the export's table.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod util;

use adarchive::archive::Archive;
use adarchive::search::SearchRequest;
use adarchive::spend::{spend_totals, Grouping};
use util::{ads_arg, folder_size, percentiles, run, run_sampling_heap, s, Server};

const PORT: u16 = 18_931;
const ROUNDS: usize = 20;

/// The grouping asked of DuckDB: ads and sums per advertiser and currency.
const DUCKDB: &str = r#"
import sys, time, duckdb
db = duckdb.connect()
db.execute("SET threads TO 2")
db.execute(f"""CREATE TABLE ads AS SELECT platform, advertiser, spend
               FROM read_json('{sys.argv[1]}', format='newline_delimited',
                              columns={{'platform': 'VARCHAR',
                                        'advertiser': 'STRUCT(id VARCHAR, name VARCHAR)',
                                        'spend': 'STRUCT(currency VARCHAR, lower UBIGINT, upper UBIGINT)[]'}})""")
query = """
SELECT key, s.currency, count(*) AS ads, sum(s.lower) AS lower, sum(s.upper) AS upper
FROM (SELECT CASE WHEN advertiser.id IS NOT NULL THEN platform || ':' || advertiser.id
                  ELSE platform || ':name:' || advertiser.name END AS key,
             unnest(spend) AS s
      FROM ads)
GROUP BY key, s.currency
ORDER BY ads DESC, key
LIMIT 100
"""
for _ in range(2):
    db.execute(query).fetchall()
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    db.execute(query).fetchall()
    print(time.perf_counter() - started)
"#;

fn timed(mut work: impl FnMut()) -> (f64, f64) {
    work();
    work();
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        work();
        times.push(started.elapsed());
    }
    percentiles(times)
}

fn main() {
    util::install_tls();
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    println!("| ads | request | p50 | p99 |");
    println!("|---:|---|---:|---:|");
    let mut exports = Vec::new();
    for ads in ads_arg(&[100_000, 1_000_000]) {
        let generated = work.path().join(format!("exports-{ads}"));
        let data = work.path().join(format!("data-{ads}"));
        let count = ads.to_string();
        run(
            binary,
            &[
                "generate-samples",
                s(&generated),
                "--ads",
                &count,
                "--seed",
                "5",
                "--advertisers",
                "one-per-ad",
            ],
        );
        run(binary, &["import", "--data", s(&data), s(&generated)]);
        let _ = std::fs::remove_dir_all(&generated);
        let _ = Command::new("sync").status();

        {
            let archive = Archive::open(&data).expect("open the archive");
            for grouping in [Grouping::Advertiser, Grouping::Country, Grouping::Platform] {
                let request = SearchRequest::default();
                let (p50, p99) = timed(|| {
                    spend_totals(&archive, &request, grouping, 100).expect("spend totals");
                });
                println!("| {ads} | ad-level totals by {grouping} | {p50:.1} ms | {p99:.1} ms |");
            }
        }

        let bind = format!("127.0.0.1:{PORT}");
        let server = Server::start(
            binary,
            &data,
            &bind,
            &["--rate-limit", "0", "--cache-bytes", "0"],
        );
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .expect("client");
        let base = format!("http://{bind}");
        let started = Instant::now();
        while client.get(format!("{base}/healthz")).send().is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "no server");
            std::thread::sleep(Duration::from_millis(100));
        }
        for grouping in ["advertiser", "country", "platform"] {
            let url = format!("{base}/v1/spend?group_by={grouping}");
            let first = Instant::now();
            let answer = client.get(&url).send().expect("spend");
            assert!(answer.status().is_success(), "{url}: {}", answer.status());
            let first = first.elapsed().as_secs_f64() * 1000.0;
            let (p50, p99) = timed(|| {
                let answer = client.get(&url).send().expect("spend");
                assert!(answer.status().is_success());
                answer.bytes().expect("body");
            });
            println!(
                "| {ads} | `/v1/spend?group_by={grouping}` (first: {first:.0} ms) | {p50:.1} ms | {p99:.1} ms |"
            );
        }

        if Command::new("python3")
            .args(["-c", "import duckdb"])
            .status()
            .is_ok_and(|s| s.success())
        {
            let ndjson = work.path().join(format!("ads-{ads}.ndjson"));
            let mut answer = client
                .get(format!("{base}/v1/export"))
                .send()
                .expect("export");
            let mut file = std::fs::File::create(&ndjson).expect("export file");
            std::io::copy(&mut answer, &mut file).expect("write the export");
            drop(server);
            duckdb(&ndjson, ads);
            let _ = std::fs::remove_file(&ndjson);
        } else {
            drop(server);
            println!("| {ads} | DuckDB | not installed (pip install duckdb) | |");
        }
        let parquet = work.path().join(format!("parquet-{ads}"));
        let (export, heap_kib) = run_sampling_heap(
            binary,
            &[
                "export",
                "--data",
                s(&data),
                "--format",
                "parquet",
                "--out",
                s(&parquet),
            ],
        );
        exports.push(format!(
            "| {ads} | {:.1} s | {:.0} | {} | {} MiB | {} MiB | {:.0} MB |",
            export.wall.as_secs_f64(),
            ads as f64 / export.wall.as_secs_f64(),
            export.cpu(),
            heap_kib / 1024,
            export.peak_kib / 1024,
            folder_size(&parquet) as f64 / 1e6,
        ));
        let _ = std::fs::remove_dir_all(&parquet);
        let _ = std::fs::remove_dir_all(&data);
    }
    println!();
    println!(
        "| ads | `adarchive export --format parquet` | ads/s | CPU | peak heap (RssAnon) | peak resident (with mapped index files) | size |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for line in exports {
        println!("{line}");
    }
}

fn duckdb(ndjson: &Path, ads: u64) {
    let output = Command::new("python3")
        .args(["-c", DUCKDB, s(ndjson), &ROUNDS.to_string()])
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let times: Vec<Duration> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect();
    let (p50, p99) = percentiles(times);
    println!(
        "| {ads} | DuckDB: advertiser × currency over the export | {p50:.1} ms | {p99:.1} ms |"
    );
}
