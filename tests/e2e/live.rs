//! Importing into an archive while it is served: the command hands its
//! work to the server, every request is answered throughout, the new ads
//! are found as soon as the import ends, and a `kill -9` of either process
//! loses nothing committed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adarchive::archive::Archive;
use adarchive::generate::{generate_samples, GenerateOptions};

use crate::api::helpers::spawn_with;
use crate::util::{adarchive, adarchive_json, copy_dir, path_str};

fn generated(dir: &Path, name: &str, ads: u64, seed: u64) -> PathBuf {
    let out = dir.join(name);
    generate_samples(
        &out,
        &GenerateOptions {
            ads,
            seed,
            ..Default::default()
        },
    )
    .unwrap();
    out
}

fn import_command(data: &Path, input: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adarchive"));
    cmd.args([
        "import",
        "--json",
        "--data",
        path_str(data),
        path_str(input),
    ])
    .env_remove("ADARCHIVE_DATA")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

fn total(archive_total: &serde_json::Value) -> u64 {
    archive_total["total"].as_u64().unwrap()
}

/// The pages and API calls people make, asked over and over by `workers`
/// clients until `done`; gives how many were answered and every failure.
async fn mixed_load(
    address: String,
    uid: String,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (usize, Vec<String>) {
    let paths = [
        "/v1/ads?q=vote&facets=platform,country,currency".to_owned(),
        format!("/v1/ads/{uid}"),
        format!("/v1/ads/{uid}/provenance"),
        format!("/ads/{uid}"),
        "/?q=election&platform=meta".to_owned(),
        "/".to_owned(),
        "/v1/spend?group_by=country".to_owned(),
        "/v1/advertisers?limit=20".to_owned(),
        "/v1/sources".to_owned(),
        "/v1/export?format=ndjson&platform=snap&country=GB".to_owned(),
        "/healthz".to_owned(),
    ];
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (address, paths, done) = (address.clone(), paths.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let client = crate::util::http_client();
            let (mut answered, mut failures) = (0, Vec::new());
            let mut i = worker;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let path = &paths[i % paths.len()];
                i += 1;
                // One export at a time is what one client may run.
                if path.starts_with("/v1/export") && worker != 0 {
                    continue;
                }
                match client.get(format!("{address}{path}")).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(_) => answered += 1,
                        Err(e) => failures.push(format!("{path}: body: {e}")),
                    },
                    Ok(r) => failures.push(format!("{path}: {}", r.status())),
                    Err(e) => failures.push(format!("{path}: {e}")),
                }
            }
            (answered, failures)
        }));
    }
    let (mut answered, mut failures) = (0, Vec::new());
    for w in workers {
        let (a, f) = w.await.unwrap();
        answered += a;
        failures.extend(f);
    }
    (answered, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_beside_the_server_is_handed_to_it_and_every_request_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let first = generated(dir.path(), "first", 2_000, 31);
    let next = generated(dir.path(), "next", 100_000, 32);
    let data = dir.path().join("data");
    let out = adarchive(&["import", "--data", path_str(&data), path_str(&first)]);
    assert!(out.status.success());
    // The same import without a server, for the report it should give.
    let reference = dir.path().join("reference");
    copy_dir(&data, &reference);
    let (code, expected) = adarchive_json(&[
        "import",
        "--json",
        "--data",
        path_str(&reference),
        path_str(&next),
    ]);
    assert_eq!(code, 0);
    let (_, everything) = adarchive_json(&[
        "search",
        "--json",
        "--limit",
        "1",
        "--data",
        path_str(&reference),
    ]);

    let app = spawn_with(data.clone(), tempfile::tempdir().unwrap(), 0).await;
    let before = app.json("/v1/ads?limit=1").await;
    let uid = before["results"][0]["uid"].as_str().unwrap().to_owned();
    assert!(total(&before) < total(&everything));

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(mixed_load(app.address.clone(), uid, done.clone()));
    let mut import = import_command(&data, &next).spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = import.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the import never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ended = Instant::now();
    let output = import.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("adarchive serve"),
        "says it was handed over: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // Listings say when they were archived: the two imports ran apart.
    let untimed = crate::util::untimed;
    assert_eq!(
        untimed(report),
        untimed(expected),
        "the same report as without a server"
    );

    // The new ads are found through the running server, at once: the
    // answer to this same request, kept before the import, is not given
    // again once the archive has changed.
    let found = loop {
        let now = total(&app.json("/v1/ads?limit=1").await);
        if now == total(&everything) || ended.elapsed() > Duration::from_secs(5) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(found, total(&everything), "within 5 s of the import's end");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (answered, failures) = load.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert!(
        answered > 100,
        "only {answered} requests were answered during the import"
    );
    eprintln!(
        "{answered} requests answered during an import of {} s",
        (ended - started).as_secs()
    );

    // Commands that cannot run beside the server say why.
    let out = adarchive(&["verify", "--data", path_str(&data)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it for `verify`"));
    let out = adarchive(&["rebuild", "--data", path_str(&data)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("replaces the whole database"));
    // reindex is handed over too.
    let out = adarchive(&["reindex", "--data", path_str(&data)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("indexed 0 ads"));
}

/// `adarchive serve` in a process of its own, killed when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) address: String,
}

impl Served {
    fn start(data: &Path) -> Served {
        Served::start_with(data, &["--rate-limit", "0"], Stdio::null())
    }

    /// Serves `data` with more arguments, its log going to `log`.
    pub(crate) fn start_with(data: &Path, args: &[&str], log: impl Into<Stdio>) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_adarchive"))
            .args(["serve", "--data", path_str(data), "--bind", "127.0.0.1:0"])
            .args(args)
            .env_remove("ADARCHIVE_DATA")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let address = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Served { child, address }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn ads_total(client: &reqwest::Client, address: &str, when: &str) -> u64 {
    let r = client
        .get(format!("{address}/v1/ads?limit=1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{when}: the server does not answer: {e}"));
    assert_eq!(r.status(), 200);
    total(&r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_import_or_the_server_half_way_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let first = generated(dir.path(), "first", 1_000, 41);
    let next = generated(dir.path(), "next", 20_000, 42);
    let reference = dir.path().join("reference");
    let started = Instant::now();
    for input in [&first, &next] {
        assert!(
            adarchive(&["import", "--data", path_str(&reference), path_str(input)])
                .status
                .success()
        );
    }
    let full = started.elapsed();
    let expected = Archive::open(&reference).unwrap().stats().unwrap();

    let data = dir.path().join("data");
    assert!(
        adarchive(&["import", "--data", path_str(&data), path_str(&first)])
            .status
            .success()
    );
    let client = crate::util::http_client();
    let mut server = Served::start(&data);
    let before = ads_total(&client, &server.address, "before").await;

    // The command killed half-way: the server goes on serving, and on
    // importing what it was handed.
    let mut import = import_command(&data, &next).spawn().unwrap();
    tokio::time::sleep(full / 4).await;
    import.kill().unwrap();
    import.wait().unwrap();
    assert!(ads_total(&client, &server.address, "after the command was killed").await >= before);

    // The server killed half-way through the next import of the same files
    // (the one handed over before may still be running).
    let import = import_command(&data, &next).spawn().unwrap();
    tokio::time::sleep(full / 4).await;
    server.kill();
    let output = import.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "the command says its server went away"
    );

    // Started again, the server serves what was committed; the next
    // import completes the rest.
    let server = Served::start(&data);
    assert!(ads_total(&client, &server.address, "after a restart").await >= before);
    let output = import_command(&data, &next).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = ads_total(&client, &server.address, "at the end").await;
    drop(server);
    let out = adarchive(&["verify", "--data", path_str(&data)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let archive = Archive::open(&data).unwrap();
    assert_eq!(archive.stats().unwrap(), expected);
    assert_eq!(after, expected.ads);
}
