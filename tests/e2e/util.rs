//! Shared helpers for the end-to-end tests: real sample paths, temporary
//! archives, and the built `adarchive` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use adarchive::archive::{Archive, NoProgress};
use adarchive::ingest::{import_paths, ImportOptions, ImportReport};

/// `../shared/samples`, beside the repository.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples")
}

/// Whether a test that reads the real samples is skipped: it is when
/// `../shared/samples` (the platforms' exports, beside the repository and
/// not part of it) is absent, after saying so, unless
/// `ADARCHIVE_REQUIRE_SAMPLES` is set, as CI sets it: then their absence
/// fails the test.
pub fn skip_without_samples() -> bool {
    let dir = samples();
    if dir.is_dir() {
        return false;
    }
    assert!(
        std::env::var_os("ADARCHIVE_REQUIRE_SAMPLES").is_none(),
        "{} is missing, and ADARCHIVE_REQUIRE_SAMPLES asks for it",
        dir.display()
    );
    eprintln!(
        "skipped: {} is absent (set ADARCHIVE_REQUIRE_SAMPLES to make that a failure)",
        dir.display()
    );
    true
}

pub fn sample(rel: &str) -> PathBuf {
    let path = samples().join(rel);
    assert!(path.exists(), "missing sample {}", path.display());
    path
}

pub const GOOGLE: &str =
    "google/creative_stats_2020-10_derived/creative_stats_NL_2020-10.RECONSTRUCTED.csv";
pub const META_2019: &str = "meta/ads_archive_api/ambanum_2019_ads_archive_25ads.redacted.json";
pub const META_2021: &str = "meta/ads_archive_api/lejo1_example_ad_2021.json";
pub const SNAP: [&str; 4] = [
    "snap/2018_PoliticalAds2018.csv",
    "snap/2020_PoliticalAds.first500.csv",
    "snap/2023_PoliticalAds.sorted.first500.csv",
    "snap/2026_PoliticalAds.sorted.first500.csv",
];

/// Every ad sample, in a fixed order.
pub fn ad_samples() -> Vec<PathBuf> {
    let mut paths = vec![sample(GOOGLE), sample(META_2019), sample(META_2021)];
    paths.extend(SNAP.iter().map(|s| sample(s)));
    paths
}

pub fn import(archive: &Archive, paths: &[PathBuf]) -> ImportReport {
    import_paths(archive, paths, ImportOptions::default(), &NoProgress).expect("import")
}

/// Runs the built binary.
pub fn adarchive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args(args)
        .env_remove("ADARCHIVE_DATA")
        .output()
        .expect("run adarchive")
}

/// Runs the binary and parses its JSON output.
pub fn adarchive_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = adarchive(args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Copies a data folder (the control socket of a server left out).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == adarchive::tasks::handover::SOCKET_FILE {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// GETs `url` with a bearer `key` and gives its JSON.
pub async fn json_with_key(client: &reqwest::Client, url: &str, key: &str) -> serde_json::Value {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json body")
}

/// An HTTP client. The collectors choose the process's TLS cryptography
/// (ring) when they first fetch; a client made earlier needs it chosen.
pub fn http_client() -> reqwest::Client {
    install_tls();
    reqwest::Client::new()
}

/// Chooses the process's TLS cryptography, as the collectors do, before a
/// client is built.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An import report without the times its listings were archived, to
/// compare the reports of two imports of the same files.
pub fn untimed(mut report: serde_json::Value) -> serde_json::Value {
    for file in report["files"].as_array_mut().into_iter().flatten() {
        if let Some(listing) = file.get_mut("listing").and_then(|l| l.as_object_mut()) {
            listing.remove("archived_at");
        }
    }
    report
}
