//! Collectors against a local server that answers as the platforms'
//! endpoints do (built from the real samples), and misbehaves as they do:
//! paging, rate limits with their header, server errors, dropped
//! connections, truncated bodies and slow answers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adarchive::archive::Archive;
use serde_json::{json, Value};

use crate::util::{json_with_key, path_str, sample, skip_without_samples, GOOGLE, META_2019, SNAP};

/// Shaped like a real token, so that a leak would also trip the archive's
/// own scan for live credentials.
const TOKEN: &str = "EAAGtestTOKENdoNotLeak0123456789abcdef";

/// How the test server answers one request.
enum Reply {
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Declares the whole length, sends half, and closes.
    Truncated(Vec<u8>),
    /// Closes without a word.
    Dropped,
    /// Answers after a pause longer than the collector waits.
    Slow(Vec<u8>),
}

type Script = dyn Fn(&str, usize, &str) -> Reply + Send + Sync;

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    target: String,
    authorization: Option<String>,
    if_none_match: Option<String>,
    body: String,
}

struct Platform {
    address: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Platform {
    /// Serves `script(target, times this target was asked before)`.
    fn start(script: Arc<Script>) -> Platform {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, log) = (script.clone(), log.clone());
                std::thread::spawn(move || answer(stream, &*script, &log));
            }
        });
        Platform { address, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn answer(mut stream: TcpStream, script: &Script, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let (mut authorization, mut if_none_match, mut length) = (None, None, 0usize);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_owned()),
                "if-none-match" => if_none_match = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let before = {
        let mut log = log.lock().unwrap();
        let before = log.iter().filter(|s| s.target == target).count();
        log.push(Seen {
            target: target.clone(),
            authorization,
            if_none_match,
            body: body.clone(),
        });
        before
    };
    let head = |status: u16, headers: &[(String, String)], length: usize| {
        let mut head =
            format!("HTTP/1.1 {status} X\r\ncontent-length: {length}\r\nconnection: close\r\n");
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head + "\r\n"
    };
    let _ = match script(&target, before, &body) {
        Reply::Full(status, headers, body) => stream
            .write_all(head(status, &headers, body.len()).as_bytes())
            .and_then(|_| stream.write_all(&body)),
        Reply::Truncated(body) => stream
            .write_all(head(200, &[], body.len()).as_bytes())
            .and_then(|_| stream.write_all(&body[..body.len() / 2])),
        Reply::Dropped => Ok(()),
        Reply::Slow(body) => {
            std::thread::sleep(Duration::from_secs(3));
            stream
                .write_all(head(200, &[], body.len()).as_bytes())
                .and_then(|_| stream.write_all(&body))
        }
    };
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(bytes).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

fn collect(data: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args(["collect", "--data", path_str(data)])
        .args([
            "--attempts",
            "4",
            "--timeout",
            "2",
            "--backoff-ms",
            "50",
            "--json",
        ])
        .args(args)
        .env_remove("ADARCHIVE_DATA")
        .env("META_ACCESS_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn summary(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn zips_are_fetched_through_errors_once_and_not_again_when_unchanged() {
    if skip_without_samples() {
        return;
    }
    let bundle = zip_of(
        "google-political-ads-creative-stats.csv",
        &std::fs::read(sample(GOOGLE)).unwrap(),
    );
    let snap = zip_of("PoliticalAds.csv", &std::fs::read(sample(SNAP[2])).unwrap());
    let served = snap.clone();
    let script: Arc<Script> = Arc::new(move |target: &str, before: usize, _: &str| match target {
        "/bundle.zip" => match before {
            0 => Reply::Full(500, vec![], b"busy".to_vec()),
            1 => Reply::Truncated(bundle.clone()),
            2 => Reply::Full(200, vec![("etag".into(), "\"v1\"".into())], bundle.clone()),
            // Asked again with its tag (checked below): not modified.
            _ => Reply::Full(304, vec![], Vec::new()),
        },
        "/snap/2023/PoliticalAds.zip" => match before {
            0 => Reply::Dropped,
            1 => Reply::Slow(served.clone()),
            _ => Reply::Full(200, vec![], served.clone()),
        },
        _ => Reply::Full(404, vec![], b"no".to_vec()),
    });
    let platform = Platform::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let bundle_at = format!("{}/bundle.zip", platform.address);
    let out = collect(&data, &["google-creative-stats", "--api-base", &bundle_at]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = summary(&out);
    assert_eq!(first["summary"]["pages"], 1);
    assert_eq!(first["summary"]["retries"], 2, "a 500 and a truncated body");
    let new = first["imported"]["new"].as_u64().unwrap();
    assert!(new > 400, "{first}");
    // Unchanged since: the server says so, and nothing is fetched.
    let again = summary(&collect(
        &data,
        &["google-creative-stats", "--api-base", &bundle_at],
    ));
    assert_eq!(again["summary"]["unchanged"], 1);
    assert_eq!(again["imported"]["records"], 0);
    let asked = platform.seen();
    assert_eq!(
        asked.last().unwrap().if_none_match.as_deref(),
        Some("\"v1\"")
    );

    let snap_base = format!("{}/snap", platform.address);
    let out = collect(
        &data,
        &[
            "snap-political-ads",
            "--api-base",
            &snap_base,
            "--year",
            "2023",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snapped = summary(&out);
    assert_eq!(
        snapped["summary"]["retries"], 2,
        "a dropped connection and a slow answer"
    );
    assert_eq!(snapped["imported"]["new"], 500);

    // Stored verbatim, with the request each answered.
    let archive = Archive::open(&data).unwrap();
    let sources = archive.sources().unwrap();
    let zips: Vec<_> = sources.iter().filter(|s| s.format == "zip").collect();
    assert_eq!(zips.len(), 2);
    assert_eq!(zips[0].fetched.as_ref().unwrap().request, bundle_at);
    assert_eq!(
        zips[1].fetched.as_ref().unwrap().request,
        format!("{snap_base}/2023/PoliticalAds.zip")
    );
    assert_eq!(
        std::fs::read(archive.source_path(&zips[1].blake3)).unwrap(),
        snap,
        "the bytes as they were served"
    );
    // A year that is not there fails the run, saying which.
    drop(archive);
    let out = collect(
        &data,
        &[
            "snap-political-ads",
            "--api-base",
            &snap_base,
            "--year",
            "1999",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1999/PoliticalAds.zip: HTTP 404"));
}

/// Meta's pages of the 25-ad sample: 10, 10 and 5 ads, each pointing to
/// the next with the caller's token in the address, as Meta does.
fn meta_pages(address: &str) -> Vec<Vec<u8>> {
    let ads: Vec<Value> =
        serde_json::from_slice(&std::fs::read(sample(META_2019)).unwrap()).unwrap();
    meta_pages_of(&ads, 10, address)
}

/// The page a Meta address asks for, from its cursor (`after=c2`): 0 for
/// the first.
fn page_of(target: &str) -> usize {
    target
        .split("after=c")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn meta_pages_are_followed_through_rate_limits_and_an_interrupted_run_resumes() {
    if skip_without_samples() {
        return;
    }
    let pages: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
    // The third page fails for good until the test says otherwise.
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let script: Arc<Script> = {
        let (pages, broken) = (pages.clone(), broken.clone());
        Arc::new(move |target: &str, before: usize, _: &str| {
            let pages = pages.lock().unwrap();
            match page_of(target) {
                1 if before == 0 => Reply::Full(
                    400,
                    vec![(
                        "x-business-use-case-usage".into(),
                        r#"{"1":[{"type":"ads_archive","call_count":100,"estimated_time_to_regain_access":0}]}"#.into(),
                    )],
                    br#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}"#.to_vec(),
                ),
                2 if broken.load(std::sync::atomic::Ordering::SeqCst) => {
                    Reply::Full(500, vec![], b"{}".to_vec())
                }
                n => Reply::Full(200, vec![], pages[n].clone()),
            }
        })
    };
    let platform = Platform::start(script);
    *pages.lock().unwrap() = meta_pages(&platform.address);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let base = format!("{}/v21.0", platform.address);
    let args = [
        "meta-ads-archive",
        "--api-base",
        &base,
        "--country",
        "NL,BE",
        "--search-terms",
        "europe",
        "--limit",
        "10",
    ];

    // Interrupted on the third page: what came before is kept.
    let out = collect(&data, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = summary(&out);
    assert_eq!(first["summary"]["pages"], 2);
    assert_eq!(first["summary"]["rate_limited"], 1);
    assert_eq!(first["imported"]["new"], 20);
    let failure = first["summary"]["failures"][0].as_str().unwrap();
    assert!(failure.contains("HTTP 500"), "{failure}");

    // Resumed: only the third page is asked for.
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let asked_before = platform.seen().len();
    let out = collect(&data, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = summary(&out);
    assert_eq!(resumed["summary"]["resumed"], true);
    assert_eq!(resumed["summary"]["pages"], 1);
    assert_eq!(resumed["imported"]["new"], 5);
    let asked: Vec<Seen> = platform.seen()[asked_before..].to_vec();
    assert!(asked.iter().all(|s| page_of(&s.target) == 2), "{asked:?}");

    // Every ad once; a complete listing asked again asks only for the ads
    // delivered since the day before it ended, and brings nothing new.
    let asked_before = platform.seen().len();
    let again = summary(&collect(&data, &args));
    let yesterday = time::OffsetDateTime::now_utc()
        .date()
        .previous_day()
        .unwrap()
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap();
    assert_eq!(again["summary"]["since"], yesterday.as_str());
    let next_first = &platform.seen()[asked_before].target;
    assert!(
        next_first.contains(&format!("ad_delivery_date_min={yesterday}")),
        "{next_first}"
    );
    assert_eq!(again["summary"]["pages"], 3);
    assert_eq!(again["imported"]["new"], 0);
    assert_eq!(again["imported"]["unchanged"], 25);
    let archive = Archive::open(&data).unwrap();
    assert_eq!(archive.stats().unwrap().ads, 25);

    // The documented parameters were sent; the token only in a header.
    let seen = platform.seen();
    let first_request = &seen[0].target;
    for parameter in [
        "ad_reached_countries=%5B%22NL%22%2C%22BE%22%5D",
        "search_terms=europe",
        "ad_type=POLITICAL_AND_ISSUE_ADS",
        "limit=10",
        "fields=",
    ] {
        assert!(first_request.contains(parameter), "{first_request}");
    }
    for s in &seen {
        assert!(!s.target.contains(TOKEN), "{}", s.target);
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let page = archive
        .sources()
        .unwrap()
        .into_iter()
        .find(|s| s.format == "meta-ads-archive")
        .unwrap();
    let request = page.fetched.unwrap().request;
    assert!(
        request.starts_with(&format!("{base}/ads_archive?")),
        "{request}"
    );
    // No token anywhere in the data folder, or in what the runs printed.
    drop(archive);
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !contains(&bytes, TOKEN),
            "{} holds the token",
            file.display()
        );
    }
    for printed in [&out.stdout, &out.stderr] {
        assert!(!contains(printed, TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_collects_on_its_schedule_and_says_how_it_went() {
    if skip_without_samples() {
        return;
    }
    let bundle = zip_of(
        "google-political-ads-creative-stats.csv",
        &std::fs::read(sample(GOOGLE)).unwrap(),
    );
    let script: Arc<Script> = Arc::new(move |target: &str, _, _: &str| match target {
        "/bundle.zip" => Reply::Full(200, vec![], bundle.clone()),
        _ => Reply::Full(404, vec![], Vec::new()),
    });
    let platform = Platform::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = adarchive::keys::Keys::of(&data).create("ops").unwrap();
    let spec = format!(
        "google-creative-stats:api_base={}/bundle.zip",
        platform.address
    );
    let missing = format!(
        "snap-political-ads:api_base={}/snap,year=1999",
        platform.address
    );
    let config = adarchive::api::startup::ApiConfig {
        data: data.clone(),
        bind: "127.0.0.1:0".into(),
        rate_limit: 0,
        collect: vec![spec.parse().unwrap(), missing.parse().unwrap()],
        collect_every: Duration::from_secs(3600),
        ..Default::default()
    };
    let app = crate::api::helpers::spawn_config(config, tempfile::tempdir().unwrap()).await;
    let started = std::time::Instant::now();
    let runs = loop {
        let listed: Value = json_with_key(
            &app.client,
            &format!("{}/v1/admin/collections", app.address),
            &key,
        )
        .await;
        let runs = listed["collections"].as_array().unwrap().clone();
        if runs.iter().all(|r| !r["finished_at"].is_null()) {
            break runs;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{listed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(runs[0]["spec"], spec.as_str());
    assert_eq!(runs[0]["pages"], 1);
    assert_eq!(runs[0]["every_seconds"], 3600);
    assert!(runs[0]["imported"]["new"].as_u64().unwrap() > 400);
    assert_eq!(runs[0]["failures"], json!([]));
    let failure = runs[1]["failures"][0].as_str().unwrap();
    assert!(
        failure.contains("1999/PoliticalAds.zip: HTTP 404"),
        "{failure}"
    );
    let found = app.json("/v1/ads?limit=1").await;
    assert_eq!(found["total"], runs[0]["imported"]["new"]);
    let tasks: Value = json_with_key(
        &app.client,
        &format!("{}/v1/admin/tasks", app.address),
        &key,
    )
    .await;
    assert_eq!(
        tasks["tasks"][0]["origin"],
        format!("collection {spec}").as_str()
    );
}

/// A page of `n` Microsoft ads from `first`, as the OData API answers.
fn microsoft_page(first: u64, n: u64, total: u64) -> Vec<u8> {
    let ads: Vec<Value> = (first..first + n)
        .map(|i| {
            json!({
                "AdId": 900_000 + i,
                "AdvertiserName": format!("Advertiser {i}"),
                "AdvertiserId": 77,
                "Title": format!("Vote on election day {i}"),
                "Description": "Every vote counts.",
                "DisplayUrl": "example.org",
                "DestinationUrl": "https://example.org/",
                "AssetJson": "",
            })
        })
        .collect();
    serde_json::to_vec(&json!({"@odata.count": total, "value": ads})).unwrap()
}

#[test]
fn offset_paged_libraries_are_followed_to_their_end() {
    // Microsoft: 30 ads, 24 a page; the second page fails once.
    let script: Arc<Script> = Arc::new(|target: &str, before: usize, _: &str| {
        let skip: u64 = target
            .split("skip=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if target.starts_with("/ms/Ads?") {
            return match skip {
                0 => Reply::Full(200, vec![], microsoft_page(0, 24, 30)),
                24 if before == 0 => Reply::Full(503, vec![], Vec::new()),
                24 => Reply::Full(200, vec![], microsoft_page(24, 6, 30)),
                _ => Reply::Full(200, vec![], microsoft_page(0, 0, 30)),
            };
        }
        if target.starts_with("/li/adLibrary?") {
            let start: u64 = target
                .split("start=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let elements: Vec<Value> = (start..(start + 25).min(40))
                .map(|i| {
                    json!({
                        "adUrl": format!("https://www.linkedin.com/ad-library/detail/{}", 1_470_000_000 + i),
                        "isRestricted": false,
                        "details": {"type": "SPONSORED_UPDATE", "advertiser": {"advertiserName": format!("Org {i}"), "adPayer": "Org"}},
                    })
                })
                .collect();
            let page =
                json!({"elements": elements, "paging": {"count": 25, "start": start, "total": 40}});
            return Reply::Full(200, vec![], serde_json::to_vec(&page).unwrap());
        }
        Reply::Full(404, vec![], Vec::new())
    });
    let platform = Platform::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let ms = format!("{}/ms", platform.address);
    let out = collect(
        &data,
        &[
            "microsoft-ad-library",
            "--api-base",
            &ms,
            "--search-terms",
            "vote",
            "--country",
            "72",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ms_summary = summary(&out);
    assert_eq!(ms_summary["summary"]["pages"], 2);
    assert_eq!(ms_summary["summary"]["retries"], 1);
    assert_eq!(ms_summary["imported"]["new"], 30);
    let first = &platform.seen()[0].target;
    assert!(
        first.contains("searchText=vote")
            && first.contains("countryCodes=72")
            && first.contains("top=24&skip=0"),
        "{first}"
    );

    // LinkedIn needs its token, sent in a header with the API's version.
    let li = format!("{}/li", platform.address);
    let without = std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args([
            "collect",
            "--data",
            path_str(&data),
            "linkedin-ad-library",
            "--api-base",
            &li,
        ])
        .env_remove("LINKEDIN_ACCESS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(without.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&without.stdout).contains("LINKEDIN_ACCESS_TOKEN"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args([
            "collect",
            "--json",
            "--data",
            path_str(&data),
            "linkedin-ad-library",
            "--api-base",
            &li,
            "--search-terms",
            "election",
            "--country",
            "DE",
        ])
        .env("LINKEDIN_ACCESS_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let li_summary = summary(&out);
    assert_eq!(li_summary["summary"]["pages"], 2);
    assert_eq!(li_summary["imported"]["new"], 40);
    let asked: Vec<Seen> = platform
        .seen()
        .into_iter()
        .filter(|s| s.target.starts_with("/li/"))
        .collect();
    assert_eq!(asked.len(), 2);
    assert!(
        asked[0].target.contains(
            "q=criteria&keyword=election&countries=List(urn%3Ali%3Acountry%3Ade)&start=0&count=25"
        ),
        "{}",
        asked[0].target
    );
    assert!(asked
        .iter()
        .all(|s| s.authorization.as_deref() == Some(format!("Bearer {TOKEN}").as_str())));
    let archive = Archive::open(&data).unwrap();
    assert_eq!(archive.stats().unwrap().ads, 70);
}

#[test]
fn runs_of_offset_paged_libraries_to_their_end_are_listings_of_their_query() {
    use adarchive::archive::ChangeKind;
    use std::collections::BTreeSet;
    // Microsoft announces its total; LinkedIn here does not, and ends its
    // listing with an empty page.
    let microsoft_ads: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new((0..30).collect()));
    let linkedin_ads: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new((0..50).collect()));
    let script: Arc<Script> = {
        let (microsoft_ads, linkedin_ads) = (microsoft_ads.clone(), linkedin_ads.clone());
        Arc::new(move |target: &str, _: usize, _: &str| {
            let number = |name: &str| -> usize {
                target
                    .split(name)
                    .nth(1)
                    .and_then(|s| s.split('&').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            };
            if target.starts_with("/ms/Ads?") {
                let ads = microsoft_ads.lock().unwrap().clone();
                let skip = number("skip=");
                let page: Vec<Value> = ads
                    .iter()
                    .skip(skip)
                    .take(24)
                    .map(|&i| json!({"AdId": 900_000 + i, "AdvertiserName": format!("Advertiser {i}"), "Title": format!("Vote {i}")}))
                    .collect();
                let body = json!({"@odata.count": ads.len(), "value": page});
                return Reply::Full(200, vec![], serde_json::to_vec(&body).unwrap());
            }
            if target.starts_with("/li/adLibrary?") {
                let ads = linkedin_ads.lock().unwrap().clone();
                let start = number("start=");
                let elements: Vec<Value> = ads
                    .iter()
                    .skip(start)
                    .take(25)
                    .map(|&i| json!({
                        "adUrl": format!("https://www.linkedin.com/ad-library/detail/{}", 1_470_000_000 + i),
                        "isRestricted": false,
                        "details": {"type": "SPONSORED_UPDATE", "advertiser": {"advertiserName": format!("Org {i}"), "adPayer": "Org"}},
                    }))
                    .collect();
                let body = json!({"elements": elements, "paging": {"count": 25, "start": start}});
                return Reply::Full(200, vec![], serde_json::to_vec(&body).unwrap());
            }
            Reply::Full(404, vec![], Vec::new())
        })
    };
    let platform = Platform::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ms, li) = (
        format!("{}/ms", platform.address),
        format!("{}/li", platform.address),
    );
    let run = |library: &str, base: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
            .args(["collect", "--json", "--data", path_str(&data), library])
            .args([
                "--api-base",
                base,
                "--search-terms",
                "vote",
                "--country",
                "72",
            ])
            .env("LINKEDIN_ACCESS_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        summary(&out)
    };

    // Each library's first run; then one ad gone from each, twice.
    run("microsoft-ad-library", &ms);
    run("linkedin-ad-library", &li);
    microsoft_ads.lock().unwrap().retain(|&i| i != 5);
    linkedin_ads.lock().unwrap().retain(|&i| i != 40);
    for _ in 0..2 {
        run("microsoft-ad-library", &ms);
        run("linkedin-ad-library", &li);
    }

    let archive = Archive::open(&data).unwrap();
    let listings = archive.listings().unwrap();
    let of_scope = |prefix: &str| -> Vec<&adarchive::archive::Listing> {
        listings
            .iter()
            .filter(|l| l.scope.starts_with(prefix))
            .collect()
    };
    let microsoft = of_scope("microsoft:query:72:");
    let linkedin = of_scope("linkedin:query:72:");
    assert_eq!(
        microsoft.len() + linkedin.len(),
        listings.len(),
        "{listings:#?}"
    );
    assert_eq!(numbers_and_sizes(&microsoft), [(1, 30), (2, 29), (3, 29)]);
    // Two pages: the listing names the one before the last.
    assert!(microsoft.iter().all(|l| l.pages.len() == 1));
    assert_eq!(numbers_and_sizes(&linkedin), [(1, 50), (2, 49), (3, 49)]);
    // Full pages up to an empty answer: the last full page was the last,
    // and every page of the first two runs is named.
    assert_eq!(linkedin[0].pages.len(), 1);
    assert_eq!(linkedin[1].pages.len(), 1);
    let changes = archive.changes_from((0, 0), 1000).unwrap();
    let of = |listing: &adarchive::archive::Listing, kind: ChangeKind| -> BTreeSet<String> {
        changes
            .iter()
            .filter(|c| c.listing == listing.id && c.kind == kind)
            .map(|c| c.uid.clone())
            .collect()
    };
    let gone_from_microsoft = BTreeSet::from([format!("microsoft:{}", 900_005)]);
    assert_eq!(
        of(microsoft[1], ChangeKind::MissingOnce),
        gone_from_microsoft
    );
    assert_eq!(of(microsoft[2], ChangeKind::Vanished), gone_from_microsoft);
    assert_eq!(of(linkedin[1], ChangeKind::MissingOnce).len(), 1);
    assert_eq!(
        of(linkedin[1], ChangeKind::MissingOnce),
        of(linkedin[2], ChangeKind::Vanished)
    );
    assert!(of(linkedin[2], ChangeKind::Vanished)
        .iter()
        .all(|uid| uid.starts_with("linkedin:") && uid.ends_with("1470000040")));
    assert_eq!(changes.len(), 4, "{changes:#?}");
    // The pages held while a run went on are gone with it.
    let held: Vec<_> = files_under(&data.join("collections"))
        .into_iter()
        .filter(|f| !f.ends_with("state.json"))
        .collect();
    assert!(held.is_empty(), "{held:?}");
    drop(archive);
    let (code, verified) =
        crate::util::adarchive_json(&["verify", "--data", path_str(&data), "--json"]);
    assert_eq!(code, 0, "{verified}");
    assert_eq!(verified["listings"], 6);
}

#[test]
fn tiktok_ads_are_queried_page_by_page_and_detailed_once() {
    const KEY: &str = "aw-client-key";
    const SECRET: &str = "client-secret-doNotLeak-4242";
    const ACCESS: &str = "clt.accessTOKENdoNotLeak0123456789";
    let item = |id: u64| {
        json!({
            "ad": {"id": id, "first_shown_date": 20240105, "last_shown_date": 20240110, "status": "active", "reach": {"unique_users_seen": "11K"}},
            "advertiser": {"business_id": 7_000 + id, "business_name": format!("Party {id}"), "paid_for_by": "Party"}
        })
    };
    let script: Arc<Script> = Arc::new(move |target: &str, _, body: &str| {
        if target == "/tt/oauth/token/" {
            let form: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
            let good = form.contains(&("client_key".into(), KEY.into()))
                && form.contains(&("client_secret".into(), SECRET.into()))
                && form.contains(&("grant_type".into(), "client_credentials".into()));
            return if good {
                Reply::Full(200, vec![], serde_json::to_vec(&json!({"access_token": ACCESS, "expires_in": 7200, "token_type": "Bearer"})).unwrap())
            } else {
                Reply::Full(
                    401,
                    vec![],
                    br#"{"error":"invalid_client","error_description":"bad key"}"#.to_vec(),
                )
            };
        }
        let asked: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if target.starts_with("/tt/research/adlib/ad/query/?fields=") {
            let (ads, more) = match asked["search_id"].as_str() {
                None => (vec![item(1), item(2)], true),
                Some("s-1") => (vec![item(2), item(3)], false),
                Some(_) => (vec![], false),
            };
            let page = json!({"data": {"ads": ads, "has_more": more, "search_id": "s-1"}, "error": {"code": "ok", "message": "", "log_id": "x"}});
            return Reply::Full(200, vec![], serde_json::to_vec(&page).unwrap());
        }
        if target.starts_with("/tt/research/adlib/ad/detail/?fields=") {
            let id = asked["ad_id"].as_u64().unwrap_or(0);
            let mut detail = item(id);
            detail["ad"]["title"] = json!(format!("Vote {id}"));
            detail["advertiser"]["country_code"] = json!("FR");
            let reply =
                json!({"data": detail, "error": {"code": "ok", "message": "", "log_id": "y"}});
            return Reply::Full(200, vec![], serde_json::to_vec(&reply).unwrap());
        }
        Reply::Full(404, vec![], Vec::new())
    });
    let platform = Platform::start(script);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let base = format!("{}/tt", platform.address);
    let run = |secret: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
            .args([
                "collect",
                "--json",
                "--data",
                path_str(&data),
                "tiktok-commercial-content",
                "--api-base",
                &base,
            ])
            .args([
                "--country",
                "FR",
                "--search-terms",
                "vote",
                "--ad-delivery-date-min",
                "2024-01-01",
                "--ad-delivery-date-max",
                "2024-01-31",
            ])
            .env("TIKTOK_CLIENT_KEY", KEY)
            .env("TIKTOK_CLIENT_SECRET", secret)
            .output()
            .unwrap()
    };
    let refused = run("wrong");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("no access token"));

    let out = run(SECRET);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = summary(&out);
    // Two query pages and three details: ad 2 came twice, detailed once.
    assert_eq!(first["summary"]["pages"], 5, "{first}");
    assert_eq!(first["imported"]["new"], 3, "{first}");
    let seen = platform.seen();
    let queries: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target.contains("/ad/query/"))
        .collect();
    let sent: Value = serde_json::from_str(&queries[0].body).unwrap();
    assert_eq!(
        sent["filters"]["ad_published_date_range"],
        json!({"min": "20240101", "max": "20240131"})
    );
    assert_eq!(sent["filters"]["country_code"], "FR");
    assert_eq!(sent["search_term"], "vote");
    assert_eq!(
        serde_json::from_str::<Value>(&queries[1].body).unwrap()["search_id"],
        "s-1"
    );
    let details: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target.contains("/ad/detail/"))
        .collect();
    assert_eq!(details.len(), 3);
    assert!(seen
        .iter()
        .filter(|s| !s.target.contains("/oauth/"))
        .all(|s| s.authorization.as_deref() == Some(format!("Bearer {ACCESS}").as_str())));

    // Asked again, nothing is detailed twice.
    let again = summary(&run(SECRET));
    assert_eq!(again["summary"]["pages"], 2);
    assert_eq!(again["imported"]["new"], 0);
    let archive = Archive::open(&data).unwrap();
    let detailed = archive.latest("tiktok:3").unwrap().unwrap();
    assert_eq!(detailed.uid, "tiktok:3");
    // Each run of the query's pages is a listing of it; the second's
    // pages were all archived before.
    let listings = archive.listings().unwrap();
    assert!(
        listings
            .iter()
            .all(|l| l.scope.starts_with("tiktok:query:FR:") && l.scope == listings[0].scope),
        "{listings:#?}"
    );
    assert_eq!(
        listings
            .iter()
            .map(|l| (l.number, l.ads, l.pages.len(), l.again))
            .collect::<Vec<_>>(),
        [(1, 3, 1, false), (2, 3, 1, true)]
    );
    drop(archive);
    for file in files_under(&data) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for secret in [SECRET, ACCESS] {
            assert!(
                !contains(&bytes, secret),
                "{} holds a credential",
                file.display()
            );
        }
    }
}

/// Each listing's number in its scope and how many ads it lists.
fn numbers_and_sizes<L: std::borrow::Borrow<adarchive::archive::Listing>>(
    listings: &[L],
) -> Vec<(u64, u64)> {
    listings
        .iter()
        .map(|l| (l.borrow().number, l.borrow().ads))
        .collect()
}

/// `ads` as Meta pages them, `per` to a page, each pointing to the next.
fn meta_pages_of(ads: &[Value], per: usize, address: &str) -> Vec<Vec<u8>> {
    let chunks: Vec<&[Value]> = ads.chunks(per).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut page = json!({"data": chunk});
            if i + 1 < chunks.len() {
                page["paging"] = json!({
                    "cursors": {"after": format!("c{}", i + 1)},
                    "next": format!("{address}/v21.0/ads_archive?after=c{}&access_token={TOKEN}&limit={per}", i + 1),
                });
            }
            serde_json::to_vec(&page).unwrap()
        })
        .collect()
}

/// The ad id in a Meta ad's snapshot address.
fn meta_id(ad: &Value) -> String {
    let url = ad["ad_snapshot_url"].as_str().unwrap();
    let id = url.split("id=").nth(1).unwrap();
    id.split('&').next().unwrap().to_owned()
}

#[test]
fn a_whole_run_of_a_meta_query_is_a_listing_of_it_and_tells_what_vanished() {
    use adarchive::archive::ChangeKind;
    use std::collections::BTreeSet;
    if skip_without_samples() {
        return;
    }
    let pages: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let script: Arc<Script> = {
        let (pages, broken) = (pages.clone(), broken.clone());
        Arc::new(move |target: &str, _: usize, _: &str| {
            let n = page_of(target);
            if n == 2 && broken.load(std::sync::atomic::Ordering::SeqCst) {
                return Reply::Full(500, vec![], b"{}".to_vec());
            }
            match pages.lock().unwrap().get(n) {
                Some(page) => Reply::Full(200, vec![], page.clone()),
                None => Reply::Full(404, vec![], b"{}".to_vec()),
            }
        })
    };
    let platform = Platform::start(script);
    let serve = |ads: &[Value]| *pages.lock().unwrap() = meta_pages_of(ads, 10, &platform.address);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let base = format!("{}/v21.0", platform.address);
    let args = [
        "meta-ads-archive",
        "--api-base",
        &base,
        "--country",
        "NL",
        "--search-terms",
        "europe",
        "--limit",
        "10",
    ];
    let whole: Vec<&str> = args.iter().copied().chain(["--whole"]).collect();
    let succeeded = |out: Output| {
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        summary(&out)
    };

    // The query's first run, from its first page to its last: its
    // baseline listing.
    let ads: Vec<Value> =
        serde_json::from_slice(&std::fs::read(sample(META_2019)).unwrap()).unwrap();
    serve(&ads);
    succeeded(collect(&data, &args));

    // The next whole run: two ads gone, one with another spend, one new;
    // interrupted on its third page, then resumed.
    let gone: BTreeSet<String> = [3, 17]
        .iter()
        .map(|&i| format!("meta:{}", meta_id(&ads[i])))
        .collect();
    let mut second = ads.clone();
    second[5]["spend"] = json!({"lower_bound": "100", "upper_bound": "199"});
    let changed = format!("meta:{}", meta_id(&ads[5]));
    let mut fresh = ads[0].clone();
    fresh["ad_snapshot_url"] = json!(
        "https://www.facebook.com/ads/archive/render_ad/?id=999000000000001&access_token=REDACTED"
    );
    second.push(fresh);
    second.remove(17);
    second.remove(3);
    serve(&second);
    broken.store(true, std::sync::atomic::Ordering::SeqCst);
    let out = collect(&data, &whole);
    assert_eq!(out.status.code(), Some(1));
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let resumed = succeeded(collect(&data, &whole));
    assert_eq!(resumed["summary"]["resumed"], true);
    assert_eq!(resumed["summary"]["pages"], 1);

    // An ordinary run asks only for what was delivered since: no listing.
    let since = succeeded(collect(&data, &args));
    assert!(since["summary"]["since"].is_string());

    // A whole run answered with the same bytes as the one before: the two
    // ads absent twice in a row have vanished.
    succeeded(collect(&data, &whole));

    let check = |archive: &Archive| {
        let listings = archive.listings().unwrap();
        assert_eq!(listings.len(), 3, "{listings:#?}");
        let scope = &listings[0].scope;
        assert!(scope.starts_with("meta:query:NL:"), "{scope}");
        assert!(listings.iter().all(|l| &l.scope == scope));
        assert_eq!(numbers_and_sizes(&listings), [(1, 25), (2, 24), (3, 24)]);
        // Three pages: the listing names the two before the last.
        assert!(listings.iter().all(|l| l.pages.len() == 2));
        // The last run's pages were all archived before.
        assert_eq!(
            listings.iter().map(|l| l.again).collect::<Vec<_>>(),
            [false, false, true]
        );
        let changes = archive.changes_from((0, 0), 1000).unwrap();
        let of = |listing: u64, kind: ChangeKind| -> BTreeSet<String> {
            changes
                .iter()
                .filter(|c| c.listing == listings[listing as usize].id && c.kind == kind)
                .map(|c| c.uid.clone())
                .collect()
        };
        assert!(changes.iter().all(|c| c.listing != listings[0].id));
        assert_eq!(
            of(1, ChangeKind::New),
            BTreeSet::from(["meta:999000000000001".to_owned()])
        );
        assert_eq!(
            of(1, ChangeKind::Changed),
            BTreeSet::from([changed.clone()])
        );
        assert_eq!(of(1, ChangeKind::MissingOnce), gone);
        assert_eq!(of(2, ChangeKind::Vanished), gone);
        assert_eq!(changes.len(), 1 + 1 + 2 + 2, "{changes:#?}");
        changes
            .iter()
            .map(|c| (c.listing, c.kind, c.uid.clone()))
            .collect::<Vec<_>>()
    };
    let archive = Archive::open(&data).unwrap();
    let before = check(&archive);
    // The first run's last page imported again by hand, alone, is a
    // partial file: it lists five ads, not the query's.
    let last_page = dir.path().join("page.json");
    let first = archive.listings().unwrap().remove(0);
    std::fs::copy(archive.source_path(&first.source), &last_page).unwrap();
    drop(archive);
    let (code, imported) = crate::util::adarchive_json(&[
        "import",
        "--data",
        path_str(&data),
        "--json",
        path_str(&last_page),
    ]);
    assert_eq!(code, 0, "{imported}");
    assert!(imported["files"][0]["listing"].is_null(), "{imported}");
    let archive = Archive::open(&data).unwrap();
    assert_eq!(check(&archive), before);
    drop(archive);

    // rebuild derives the same listings from the archived pages.
    let (code, _) = crate::util::adarchive_json(&["rebuild", "--data", path_str(&data), "--json"]);
    assert_eq!(code, 0);
    let archive = Archive::open(&data).unwrap();
    assert_eq!(check(&archive), before);
    drop(archive);
    // verify derives the listings again from the pages they name.
    let (code, verified) =
        crate::util::adarchive_json(&["verify", "--data", path_str(&data), "--json"]);
    assert_eq!(code, 0, "{verified}");
    assert_eq!(verified["listings"], 3);
    assert_eq!(verified["changes"], 6);
}
