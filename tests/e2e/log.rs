//! The transparency log, read by an implementation of the C2SP formats of
//! its own (`tests/c2sp_check.py`: Python's hashlib and `cryptography`).

use std::path::Path;

use adarchive::archive::{Archive, NoProgress};
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::ingest::{import_paths, ImportOptions};

use crate::api::helpers::spawn_with;

/// Runs the independent checker against a server; its JSON report.
async fn independent_check(address: &str, uids: &[String]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c2sp_check.py");
    let mut command = std::process::Command::new("python3");
    command.arg(script).arg(address).args(uids);
    // Blocking here would stop the server this test runs on its runtime.
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 (with `pip install cryptography`) runs the C2SP checker");
    assert!(
        out.status.success(),
        "the independent checker refused the log:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Ten imports, one checkpoint after each source: the served checkpoint,
/// every tile and entry bundle, the manifest's sources and nothing else,
/// consistency from every earlier size and inclusion of an ad's sources,
/// as checked by a second implementation; a rebuild keeps the log.
#[tokio::test]
async fn the_log_holds_every_source_and_a_second_implementation_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let exports = dir.path().join("exports");
    let written = generate_samples(
        &exports,
        &GenerateOptions {
            ads: 6_000,
            seed: 21,
            ..Default::default()
        },
    )
    .unwrap();
    let mut checkpoints = Vec::new();
    {
        let archive = Archive::open(&data).unwrap();
        let key = archive.open_log(Some("ads.example.org/log")).unwrap();
        assert_eq!(key.origin(), "ads.example.org/log");
        assert!(
            archive.log_checkpoint().unwrap().is_none(),
            "empty at first"
        );
        for file in written.files.iter().take(10) {
            import_paths(
                &archive,
                std::slice::from_ref(&file.path),
                ImportOptions::default(),
                &NoProgress,
            )
            .unwrap();
            checkpoints.push(archive.log_checkpoint().unwrap().unwrap());
        }
        let sources = archive.sources().unwrap();
        let note = String::from_utf8(checkpoints.last().unwrap().clone()).unwrap();
        let mut lines = note.lines();
        assert_eq!(lines.next(), Some("ads.example.org/log"));
        assert_eq!(lines.next(), Some(sources.len().to_string().as_str()));
        assert!(sources.len() >= 10, "{} sources", sources.len());
        // The key is the owner's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(archive.log_key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Another origin for the same log is refused, naming both.
        let error = archive.open_log(Some("other.example/log")).unwrap_err();
        assert!(error.to_string().contains("ads.example.org/log"), "{error}");
    }
    let root_of = |note: &[u8]| {
        String::from_utf8_lossy(note)
            .lines()
            .nth(2)
            .map(str::to_owned)
    };
    let before_rebuild = checkpoints.last().cloned().unwrap();
    adarchive::archive::check::rebuild(&data, &NoProgress).unwrap();
    {
        let archive = Archive::open(&data).unwrap();
        assert_eq!(
            archive.log_checkpoint().unwrap().unwrap(),
            before_rebuild,
            "a rebuild re-derives the records, never the log"
        );
    }

    let app = spawn_with(data, dir, 0).await;
    let served = app.get("/v1/log/checkpoint").await;
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        root_of(&served.bytes().await.unwrap()),
        root_of(&before_rebuild)
    );
    let full = app.get("/v1/log/tile/0/000.p/1").await;
    assert_eq!(full.status(), 200);
    assert!(full.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    for missing in [
        "/v1/log/tile/0/001",
        "/v1/log/tile/9/000",
        "/v1/log/tile/0/1",
    ] {
        assert_eq!(app.get(missing).await.status(), 404, "{missing}");
    }
    let wrong = app.get("/v1/log/proof/consistency?from=0&to=1").await;
    assert_eq!(wrong.status(), 400);

    let ads = app.json("/v1/ads?limit=3").await;
    let uids: Vec<String> = ads["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(uids.len(), 3);
    // The ad's page says where the log holds each of its sources.
    let page = app.get(&adarchive::web::views::ad_href(&uids[0])).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<dt>Transparency log</dt>"), "{html}");
    assert!(html.contains("signed checkpoint"));

    let report = independent_check(&app.address, &uids).await;
    assert_eq!(report["origin"], "ads.example.org/log");
    assert!(report["inclusion_proofs"].as_u64().unwrap() >= 3);
    assert!(report["tiles"].as_u64().unwrap() >= 1);
}
