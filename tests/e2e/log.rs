//! The transparency log, read by an implementation of the C2SP formats of
//! its own (`tests/c2sp_check.py`: Python's hashlib and `cryptography`).

use std::path::{Path, PathBuf};

use adarchive::archive::{Archive, NoProgress};
use adarchive::generate::{generate_samples, GenerateOptions, Generated};
use adarchive::ingest::{import_paths, ImportOptions};

use crate::api::helpers::spawn_with;

/// A folder with `ads` generated ads under `exports/`, and where its
/// archive goes.
fn generated(ads: u64, seed: u64) -> (tempfile::TempDir, PathBuf, Generated) {
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        ads,
        seed,
        ..Default::default()
    };
    let written = generate_samples(&dir.path().join("exports"), &options).unwrap();
    let data = dir.path().join("data");
    (dir, data, written)
}

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
    let (dir, data, written) = generated(6_000, 21);
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

/// Copies a data folder, so that each tampering starts from the same log.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_folder(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), &target).unwrap();
        }
    }
}

/// Rewrites one value of a table of the archive's database, as someone
/// with the files in hand could.
fn tamper<K: redb::Key + 'static>(
    data: &Path,
    table: redb::TableDefinition<K, &[u8]>,
    key: K::SelfType<'_>,
    change: impl FnOnce(&mut Vec<u8>),
) {
    use redb::ReadableTable;
    let db = redb::Database::open(data.join("archive.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn.open_table(table).unwrap();
        let mut value = t.get(&key).unwrap().unwrap().value().to_vec();
        change(&mut value);
        t.insert(&key, &value[..]).unwrap();
    }
    txn.commit().unwrap();
}

/// `adarchive log verify` against a data folder; its exit code and output.
fn log_verify(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args(["log", "verify"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A tampered tile, a tampered entry, a rewritten manifest and a swapped
/// key are each found by `adarchive log verify`, naming what; an intact
/// log verifies from the data folder and from its server, against a key
/// and a checkpoint saved before the last import.
#[tokio::test]
async fn log_verify_finds_every_tampering_and_accepts_an_intact_log() {
    let (dir, data, written) = generated(2_000, 22);
    let saved = dir.path().join("checkpoint.txt");
    let key_file = dir.path().join("key.txt");
    {
        let archive = Archive::open(&data).unwrap();
        let (first, rest) = written.files.split_at(4);
        let paths: Vec<_> = first.iter().map(|f| f.path.clone()).collect();
        import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
        std::fs::write(&saved, archive.log_checkpoint().unwrap().unwrap()).unwrap();
        std::fs::write(&key_file, archive.log_verifier_key().unwrap().unwrap()).unwrap();
        let paths: Vec<_> = rest.iter().map(|f| f.path.clone()).collect();
        import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
        let report = archive.verify_log(None, None).unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert!(report.size > 8, "{} entries", report.size);
        // `verify` checks the log too.
        let whole = adarchive::check::verify(&archive).unwrap();
        assert_eq!(whole.log_entries, report.size);
        assert!(whole.ok(), "{:?}", whole.mismatches);
    }
    let (s, d) = (saved.to_str().unwrap(), data.to_str().unwrap());
    let k = key_file.to_str().unwrap();
    let (code, out) = log_verify(&["--data", d, "--since", s, "--key", k]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("consistent with the saved checkpoint"),
        "{out}"
    );

    const ENTRIES: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log_entries");
    const HASHES: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log_hashes");
    const SOURCES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("sources");
    let first_source = Archive::open(&data).unwrap().sources().unwrap()[2].clone();
    type Tampering = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tampering, &str)> = vec![
        (
            "a tampered tile",
            Box::new(|copy: &Path| tamper(copy, HASHES, 1, |v| v[0] ^= 1)),
            "does not hold the hashes of the entries",
        ),
        (
            "a tampered entry",
            Box::new(|copy: &Path| {
                tamper(copy, ENTRIES, 2, |v| {
                    let text = String::from_utf8(v.clone()).unwrap();
                    *v = text.replacen("\nsize ", "\nsize 1", 1).into_bytes();
                })
            }),
            "does not match the entries",
        ),
        (
            "a rewritten manifest",
            Box::new(move |copy: &Path| {
                tamper(copy, SOURCES, first_source.blake3.as_str(), |v| {
                    let mut entry: serde_json::Value = serde_json::from_slice(v).unwrap();
                    entry["size"] = serde_json::json!(first_source.size + 1);
                    *v = serde_json::to_vec(&entry).unwrap();
                })
            }),
            "the manifest was rewritten",
        ),
        (
            "a swapped key",
            Box::new(|copy: &Path| {
                let other = copy.join("other-key");
                adarchive::tlog::LogKey::load_or_create(&other, None).unwrap();
                std::fs::rename(&other, copy.join("log/signing-key")).unwrap();
                // The next import signs with the new key.
                let archive = Archive::open(copy).unwrap();
                let more = copy.parent().unwrap().join("more");
                generate_samples(
                    &more,
                    &GenerateOptions {
                        ads: 100,
                        seed: 23,
                        ..Default::default()
                    },
                )
                .unwrap();
                import_paths(&archive, &[more], ImportOptions::default(), &NoProgress).unwrap();
            }),
            "the key was swapped",
        ),
    ];
    for (i, (what, change, expected)) in cases.iter().enumerate() {
        let copy = dir.path().join(format!("copy-{i}/data"));
        copy_folder(&data, &copy);
        change(&copy);
        let (code, out) = log_verify(&["--data", copy.to_str().unwrap(), "--since", s]);
        assert_eq!(code, 1, "{what} went unseen:\n{out}");
        assert!(
            out.contains("PROBLEM") && out.contains(expected),
            "{what}:\n{out}"
        );
    }

    // The same checks from the server's tiles, as a client elsewhere.
    let app = spawn_with(data, dir, 0).await;
    let (address, saved, key) = (app.address.clone(), s.to_owned(), k.to_owned());
    let (code, out) = tokio::task::spawn_blocking(move || {
        log_verify(&["--server", &address, "--since", &saved, "--key", &key])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");
}
