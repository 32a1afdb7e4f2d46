//! Importing into a served archive: how fast the import runs when the
//! server does it, what the requests of everyone else see meanwhile, and
//! how soon the new ads are found.
//!
//! `cargo bench --bench live [-- --ads N]`: generates two sets of N ads
//! (100,000 by default), imports the first, then imports the second twice:
//! once by the command line alone into a copy (the baseline), once handed
//! to a running server while one client asks for searches, pages and spend
//! totals one at a time. Prints the import's time and the server's peak
//! memory, the requests' p50 and p99 before and during the import, the
//! failures, and the time from the command's end until the server finds
//! every new ad.

use std::process::Command;
use std::time::{Duration, Instant};

mod util;

use util::{ads_arg, generate, percentiles, run, s, status_kib, Server};

const PORT: u16 = 18_921;

/// What one client asks, in turn.
const REQUESTS: [&str; 5] = [
    "/v1/ads?q=vote&facets=platform,country",
    "/v1/ads?q=election&platform=meta&country=GB",
    "/?q=vote",
    "/v1/spend?group_by=country",
    "/v1/ads/{uid}",
];

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("copy");
    for entry in std::fs::read_dir(from).expect("copy").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn total_of(json: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(json).expect("json")["total"]
        .as_u64()
        .expect("total")
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let ads = ads_arg(&[100_000])[0];
    let work = tempfile::tempdir().expect("temporary folder");
    let (first, next) = (work.path().join("first"), work.path().join("next"));
    generate(binary, &first, ads, 3);
    generate(binary, &next, ads, 4);
    let data = work.path().join("data");
    run(binary, &["import", "--data", s(&data), s(&first)]);
    let alone = work.path().join("alone");
    copy_dir(&data, &alone);
    let _ = Command::new("sync").status();
    let baseline = run(binary, &["import", "--data", s(&alone), s(&next)]);
    let expected = Command::new(binary)
        .args(["search", "--json", "--limit", "1", "--data", s(&alone)])
        .output()
        .expect("search");
    let expected = total_of(&expected.stdout);

    let bind = format!("127.0.0.1:{PORT}");
    let server = Server::start(binary, &data, &bind, &["--rate-limit", "0"]);
    let base = format!("http://{bind}");
    let runtime = util::client_runtime();
    runtime.block_on(async move {
        let client = util::http_client();
        util::wait_until_serving(&client, &base, 120).await;
        let listed: serde_json::Value = client
            .get(format!("{base}/v1/ads?limit=1"))
            .send()
            .await
            .expect("ads")
            .json()
            .await
            .expect("json");
        let uid = listed["results"][0]["uid"].as_str().expect("uid").to_owned();
        let paths: Vec<String> = REQUESTS.iter().map(|p| p.replace("{uid}", &uid)).collect();

        // One client, one request at a time, for `seconds` or until `until`.
        let ask = |until: Option<std::process::Child>, seconds: u64| {
            let (client, base, paths) = (client.clone(), base.clone(), paths.clone());
            async move {
                let mut until = until;
                let (mut times, mut failed) = (Vec::new(), 0u64);
                let started = Instant::now();
                let mut i = 0;
                loop {
                    let over = match until.as_mut() {
                        Some(child) => child.try_wait().expect("import").is_some(),
                        None => started.elapsed() >= Duration::from_secs(seconds),
                    };
                    if over {
                        break;
                    }
                    let path = &paths[i % paths.len()];
                    i += 1;
                    let asked = Instant::now();
                    let answered = match client.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if answered {
                        times.push(asked.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                (times, failed, started.elapsed(), until)
            }
        };
        let (idle, idle_failed, _, _) = ask(None, 10).await;
        let pid = server.pid();
        let import = Command::new(binary)
            .args(["import", "--data", s(&data), s(&next)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("import");
        let (busy, busy_failed, took, import) = ask(Some(import), 0).await;
        let status = import.expect("import").wait().expect("import");
        assert!(status.success(), "the handed-over import failed");
        let ended = Instant::now();
        let found = loop {
            let r = client
                .get(format!("{base}/v1/ads?limit=1"))
                .send()
                .await
                .expect("ads");
            if total_of(&r.bytes().await.expect("body")) == expected {
                break ended.elapsed();
            }
            assert!(ended.elapsed() < Duration::from_secs(60), "the new ads never appeared");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let peak = status_kib(pid, "VmHWM");
        let (i50, i99) = percentiles(idle.clone());
        let (b50, b99) = percentiles(busy.clone());
        println!("| import of {ads} ads | wall | peak memory |");
        println!("|---|---:|---:|");
        println!(
            "| by the command line alone | {:.1} s ({:.0} ads/s) | {} MiB |",
            baseline.wall.as_secs_f64(),
            ads as f64 / baseline.wall.as_secs_f64(),
            baseline.peak_kib / 1024
        );
        println!(
            "| handed to the running server | {:.1} s ({:.0} ads/s) | {} MiB (the server's, serving included) |",
            took.as_secs_f64(),
            ads as f64 / took.as_secs_f64(),
            peak / 1024
        );
        println!();
        println!("| one client's requests | answered | failed | p50 | p99 |");
        println!("|---|---:|---:|---:|---:|");
        println!("| before the import (10 s) | {} | {idle_failed} | {i50:.2} ms | {i99:.2} ms |", idle.len());
        println!("| during the import | {} | {busy_failed} | {b50:.2} ms | {b99:.2} ms |", busy.len());
        println!();
        println!(
            "every new ad found {:.0} ms after the command ended ({expected} ads in all)",
            found.as_secs_f64() * 1000.0
        );
    });
}
