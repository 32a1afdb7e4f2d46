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

/// A port free now, for servers that must know each other's address
/// before they start.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two instances witness each other on loopback: each asks the other to
/// cosign its checkpoint, and serves it with the cosignature, which
/// verifies with the witness's key.
#[tokio::test]
async fn two_instances_cosign_each_other() {
    use adarchive::api::startup::ApiConfig;
    use adarchive::tlog::{check_cosignature, Witness};
    let mut sides = Vec::new();
    for (seed, origin) in [(31, "a.example/log"), (32, "b.example/log")] {
        let (dir, data, written) = generated(300, seed);
        let archive = Archive::open(&data).unwrap();
        archive.open_log(Some(origin)).unwrap();
        let paths: Vec<_> = written.files.iter().map(|f| f.path.clone()).collect();
        import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
        let log_key = archive.log_verifier_key().unwrap().unwrap();
        let witness_key = archive
            .witness_key(&format!("{origin}/witness"))
            .unwrap()
            .verifier_key();
        drop(archive);
        sides.push((dir, data, log_key, witness_key, free_port()));
    }
    let mut apps = Vec::new();
    for i in 0..2 {
        let other = &sides[1 - i];
        let config = ApiConfig {
            data: sides[i].1.clone(),
            bind: format!("127.0.0.1:{}", sides[i].4),
            rate_limit: 0,
            witness_for: vec![other.2.clone()],
            witnesses: vec![Witness {
                url: format!("http://127.0.0.1:{}", other.4),
                verifier_key: other.3.clone(),
            }],
            witness_every: std::time::Duration::from_millis(200),
            ..ApiConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        apps.push(crate::api::helpers::spawn_config(config, dir).await);
    }
    for i in 0..2 {
        let witness = &sides[1 - i].3;
        let served = app_checkpoint_with(&apps[i], witness).await;
        let text_end = served.find("\n\n").unwrap() + 1;
        let line = served
            .lines()
            .find(|l| l.starts_with(&format!("\u{2014} {}", witness.split('+').next().unwrap())))
            .unwrap();
        let time = check_cosignature(witness, &served.as_bytes()[..text_end], line);
        assert!(time.is_some_and(|t| t > 1_700_000_000), "{served}");
        // The witness's own key is served where clients find it.
        let key = apps[1 - i]
            .get("/v1/witness/key")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(key.trim(), witness);
        // And a second implementation verifies the cosignature too.
        let args = ["--witness".to_owned(), witness.clone()];
        let report = independent_check(&apps[i].address, &args).await;
        assert!(report["cosigned_at"][0].as_u64().unwrap() > 1_700_000_000);
    }
}

/// Polls an instance's checkpoint until `witness` has cosigned it.
async fn app_checkpoint_with(app: &crate::api::helpers::TestApp, witness: &str) -> String {
    let name = witness.split('+').next().unwrap().to_owned();
    for _ in 0..100 {
        let note = app.get("/v1/log/checkpoint").await.text().await.unwrap();
        if note.contains(&format!("\u{2014} {name} ")) {
            return note;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{name} never cosigned");
}

/// The witness refuses what C2SP `tlog-witness` says it must: an unknown
/// log (404), a checkpoint not signed by the log's key (403), an old size
/// that is not the one it cosigned last (409, naming it), a checkpoint
/// that does not extend that one (422), an old size past the checkpoint
/// (400); and cosigns a consistent one.
#[test]
fn the_witness_cosigns_only_checkpoints_that_extend_the_last() {
    use adarchive::tlog::{add_checkpoint_request, WitnessAnswer};
    let (dir, data, written) = generated(600, 33);
    let log = Archive::open(&data).unwrap();
    log.open_log(Some("log.example/log")).unwrap();
    let mut notes = Vec::new();
    for file in written.files.iter().take(4) {
        import_paths(
            &log,
            std::slice::from_ref(&file.path),
            ImportOptions::default(),
            &NoProgress,
        )
        .unwrap();
        notes.push(log.log_checkpoint().unwrap().unwrap());
    }
    let size_of = |note: &[u8]| -> u64 {
        String::from_utf8_lossy(note)
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let log_key = log.log_verifier_key().unwrap().unwrap();
    let witness = Archive::open(&dir.path().join("witness")).unwrap();
    let key = witness.witness_key("witness.example/w").unwrap();
    let trusted = vec![log_key.clone()];
    let ask = |old: u64, proof: &[tlog_tiles::Hash], note: &[u8]| {
        witness
            .witness_add_checkpoint(&trusted, &key, &add_checkpoint_request(old, proof, note))
            .unwrap()
    };
    let (first, second) = (notes[0].clone(), notes[3].clone());
    let (m, n) = (size_of(&first), size_of(&second));
    assert!(m < n);

    // First contact: old 0, no proof.
    assert!(matches!(ask(0, &[], &first), WitnessAnswer::Cosigned(_)));
    // Asked again from 0: the witness names the size it holds.
    assert_eq!(ask(0, &[], &second), WitnessAnswer::Conflict(m));
    // A proof that does not lead from its checkpoint to this one.
    let wrong = vec![tlog_tiles::Hash([7; 32]); 3];
    assert!(matches!(
        ask(m, &wrong, &second),
        WitnessAnswer::Inconsistent(_)
    ));
    assert!(matches!(
        ask(n + 1, &[], &second),
        WitnessAnswer::BadRequest(_)
    ));
    // The consistent proof is cosigned, with a line the key verifies.
    let proof = log.log_consistency(m, n).unwrap().hashes;
    let WitnessAnswer::Cosigned(line) = ask(m, &proof, &second) else {
        panic!("a consistent checkpoint was refused");
    };
    let text = &second[..second.windows(2).position(|w| w == b"\n\n").unwrap() + 1];
    assert!(adarchive::tlog::check_cosignature(&key.verifier_key(), text, &line).is_some());

    // A checkpoint signed by another key, and one of an unknown log.
    let impostor = adarchive::tlog::LogKey::load_or_create(
        &dir.path().join("impostor"),
        Some("log.example/log"),
    )
    .unwrap();
    let root = String::from_utf8_lossy(&second)
        .lines()
        .nth(2)
        .unwrap()
        .to_owned();
    let forged = impostor
        .sign_checkpoint(n, tlog_tiles::Hash::parse_hash(&root).unwrap())
        .unwrap();
    assert!(matches!(ask(n, &[], &forged), WitnessAnswer::Forbidden(_)));
    let other = Archive::open(&dir.path().join("other")).unwrap();
    other.open_log(Some("other.example/log")).unwrap();
    import_paths(
        &other,
        std::slice::from_ref(&written.files[5].path),
        ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let unknown = other.log_checkpoint().unwrap().unwrap();
    assert!(matches!(
        ask(0, &[], &unknown),
        WitnessAnswer::UnknownLog(_)
    ));
}
