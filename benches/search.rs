//! Search benchmark: `cargo bench --bench search [-- --ads 1000000] [--import-runs 3]`.
//!
//! Generates exports, imports and indexes them with the release binary
//! (throughput and peak memory; best and median of several runs), then
//! opens the archive in this process and times each kind of request many
//! times: (a) one word, (b) a phrase, (c) words with three filters and four
//! facets, (d) spend totals by advertiser, (e) the spend audit, (f) one
//! advertiser across platforms, (g) every ad newest first with a facet.
//! Prints Markdown tables for `docs/benchmarks.md`. `-- --data DIR` times
//! the requests on an archive imported before, without importing.

use std::time::{Duration, Instant};

mod util;

use util::{ads_arg, folder_size, generate, run, s};

use adarchive::archive::Archive;
use adarchive::search::{search, Filters, SearchRequest};
use adarchive::spend::{spend_audit, spend_totals, Grouping, ReportQuery};

const ROUNDS: usize = 300;

/// How many times the import is timed: `--import-runs N` (default 3).
fn import_runs() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--import-runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

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
    if given.is_none() {
        import_timed(binary, work.path(), &data);
    }

    let archive = Archive::open(&data).expect("open archive");
    let words = [
        "vote",
        "election",
        "schools",
        "water",
        "health",
        "climate",
        "wahl",
        "verkiezing",
        "เลือกตั้ง",
        "الانتخابات",
        "選挙",
        "투표",
    ];
    let phrases = [
        "\"clean water\"",
        "\"election day\"",
        "\"health care\"",
        "\"full funding\"",
        "\"make a plan\"",
        "\"école publique\"",
    ];
    let platforms = ["google", "meta", "snap"];
    let currencies = ["EUR", "USD", "GBP"];
    let mut rows = Vec::new();

    let word = time_it(|i| {
        let r = SearchRequest {
            query: words[i % words.len()].into(),
            ..SearchRequest::default()
        };
        search(&archive, &r).map(|p| p.total)
    });
    rows.push(("(a) one word", word));
    let phrase = time_it(|i| {
        let r = SearchRequest {
            query: phrases[i % phrases.len()].into(),
            ..SearchRequest::default()
        };
        search(&archive, &r).map(|p| p.total)
    });
    rows.push(("(b) phrase", phrase));
    let filtered = time_it(|i| {
        let r = SearchRequest {
            query: words[i % 6].into(),
            filters: Filters {
                platform: vec![platforms[i % 3].into()],
                currency: vec![currencies[i % 3].into()],
                active: Some(i % 2 == 0),
                ..Filters::default()
            },
            facets: vec![
                "country".into(),
                "language".into(),
                "advertiser".into(),
                "media_type".into(),
            ],
            ..SearchRequest::default()
        };
        search(&archive, &r).map(|p| p.total)
    });
    rows.push(("(c) word + 3 filters + 4 facets", filtered));
    let spend = time_it(|i| {
        let r = SearchRequest {
            filters: Filters {
                currency: vec![currencies[i % 3].into()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        };
        spend_totals(&archive, &r, Grouping::Advertiser, 100).map(|t| t.total_ads)
    });
    rows.push(("(d) spend totals by advertiser", spend));
    let audit = time_it(|i| {
        let r = SearchRequest {
            filters: Filters {
                currency: vec![currencies[i % 3].into()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        };
        let report = ReportQuery::from_filters(&r.filters, None, Vec::new());
        spend_audit(&archive, &r, &report, Grouping::Advertiser, 100, None).map(|t| t.total_ads)
    });
    rows.push((
        "(e) spend audit by advertiser (ad-level + report-level)",
        audit,
    ));
    let entities = adarchive::advertisers::list_entities(&archive, None, &[]).expect("advertisers");
    let detail = time_it(|i| {
        let entity = &entities[i % entities.len()];
        adarchive::advertisers::entity_detail(&archive, &entity.id)
            .map(|d| d.map_or(0, |d| d.entity.members.len() as u64))
    });
    rows.push(("(f) one advertiser across platforms, with spend", detail));
    let newest = time_it(|i| {
        let r = SearchRequest {
            sort: Some("first_shown".parse().unwrap()),
            limit: 50,
            facets: vec![["platform", "country", "language"][i % 3].into()],
            ..SearchRequest::default()
        };
        search(&archive, &r).map(|p| p.total)
    });
    rows.push(("(g) every ad, newest first, with one facet", newest));

    println!();
    println!("| request ({ROUNDS} runs) | mean matches | mean | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, (mut times, matches)) in rows {
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "| {name} | {matches} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            ms(mean),
            ms(at(0.5)),
            ms(at(0.99)),
            ms(times[times.len() - 1])
        );
    }
    println!();
    println!("memory while serving (resident): {}", status_line("VmRSS"));
}

/// Generates the exports, imports them [`import_runs`] times into a new
/// archive at `data`, and prints the import table.
fn import_timed(binary: &str, work: &std::path::Path, data: &std::path::Path) {
    let ads = ads_arg(&[1_000_000])[0];
    let input = work.join("exports");
    generate(binary, &input, ads, 2);
    // The generator's writes reach the disk before the import is timed.
    let _ = std::process::Command::new("sync").status();
    // The same import several times, each into a new archive: a shared
    // machine's speed drifts from minute to minute, so one run says little.
    let mut imports = Vec::new();
    let mut peak = 0;
    for run_number in 0..import_runs() {
        if run_number > 0 {
            std::fs::remove_dir_all(data).expect("remove the previous archive");
        }
        let _ = std::process::Command::new("sync").status();
        let import = run(binary, &["import", "--data", s(data), s(&input)]);
        peak = peak.max(import.peak_kib);
        imports.push(import);
    }
    imports.sort_by_key(|r| r.wall);
    let (best, median) = (imports[0].wall, imports[imports.len() / 2].wall);
    // Let the import's writes reach the disk before timing searches.
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_secs(5));
    let export_size = folder_size(&input);
    let index_size = folder_size(&data.join("index"));
    let runs: Vec<String> = imports
        .iter()
        .map(|r| format!("{:.1}", r.wall.as_secs_f64()))
        .collect();
    let cpu: Vec<String> = imports.iter().map(util::Run::cpu).collect();
    println!("| ads | export size | import + index: best, median (runs) | ads/s: best, median | CPU (user + kernel) per run | peak memory | index size |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {ads} | {:.0} MB | {:.1} s, {:.1} s ({} s) | {:.0}, {:.0} | {} | {:.0} MB | {:.0} MB ({:.0} % of the exports) |",
        export_size as f64 / 1e6,
        best.as_secs_f64(),
        median.as_secs_f64(),
        runs.join(", "),
        ads as f64 / best.as_secs_f64(),
        ads as f64 / median.as_secs_f64(),
        cpu.join("; "),
        peak as f64 / 1024.0,
        index_size as f64 / 1e6,
        100.0 * index_size as f64 / export_size as f64
    );
}

/// Runs `f` [`ROUNDS`] times; returns the durations and the mean number of matches.
fn time_it<E: std::fmt::Debug>(mut f: impl FnMut(usize) -> Result<u64, E>) -> (Vec<Duration>, u64) {
    for i in 0..20 {
        f(i).expect("warm-up query");
    }
    let mut matches = 0;
    let times = (0..ROUNDS)
        .map(|i| {
            let started = Instant::now();
            matches += f(i).expect("query");
            started.elapsed()
        })
        .collect();
    (times, matches / ROUNDS as u64)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn status_line(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l[key.len() + 1..].trim().to_owned())
        })
        .unwrap_or_default()
}
