//! The ingest API: off without a key, 401 for a wrong one, uploads become
//! tasks whose reports are the command line's, limits refuse clearly, and
//! no key reaches the log or the data folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::live::Served;
use crate::util::{
    adarchive, copy_dir, json_with_key, path_str, sample, skip_without_samples, META_2019,
};

const SNAP: &str = "snap/2023_PoliticalAds.sorted.first500.csv";

fn new_key(data: &Path, name: &str) -> String {
    let out = adarchive(&["keys", "create", "--name", name, "--data", path_str(data)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits for a task to end and gives it.
async fn ended(client: &reqwest::Client, address: &str, key: &str, location: &str) -> Value {
    let started = Instant::now();
    loop {
        let task: Value = json_with_key(client, &format!("{address}{location}"), key).await;
        if task["status"] == "succeeded" || task["status"] == "failed" {
            return task;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What `adarchive import --json` prints for `file`, run from its folder
/// (so that it is named as an upload is) into a copy of `data`.
fn cli_report(data: &Path, copy: &Path, file: &Path) -> Value {
    copy_dir(data, copy);
    let out = Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .current_dir(file.parent().unwrap())
        .args(["import", "--json", "--data", path_str(copy)])
        .arg(file.file_name().unwrap())
        .env_remove("ADARCHIVE_DATA")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_become_tasks_with_the_command_lines_report_and_keys_stay_secret() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Served::start_with(&data, &[], log);
    let (address, client) = (server.address.clone(), crate::util::http_client());
    let upload = |query: &str, body: Vec<u8>, key: Option<&str>| {
        let mut request = client
            .post(format!("{address}/v1/admin/imports{query}"))
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send()
    };
    let snap = std::fs::read(sample(SNAP)).unwrap();

    // No key made: the admin API does not exist.
    let r = upload("?name=a.csv", snap.clone(), None).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(format!("{address}/v1/admin/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A key made while the server runs works at once.
    let key = new_key(&data, "loader");
    assert!(key.starts_with("adarchive_key_"));
    let wrong = format!("adarchive_key_{}", "0".repeat(64));
    for presented in [None, Some(wrong.as_str()), Some("Basic xyz")] {
        let r = upload("?name=a.csv", snap.clone(), presented)
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{presented:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"adarchive admin\""
        );
        let body = r.text().await.unwrap();
        assert!(!body.contains(&wrong));
    }

    // One file as the body: the report is the command line's.
    let expected = cli_report(&data, &dir.path().join("copy"), &sample(SNAP));
    let name = sample(SNAP)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let r = upload(&format!("?name={name}"), snap.clone(), Some(&key))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let queued: Value = r.json().await.unwrap();
    assert_eq!(queued["origin"], "key loader");
    assert_eq!(queued["files"], serde_json::json!([name]));
    let task = ended(&client, &address, &key, &location).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(
        crate::util::untimed(task["report"].clone()),
        crate::util::untimed(expected.clone())
    );
    let found: Value = client
        .get(format!("{address}/v1/ads?platform=snap&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 500);

    // Several files in one form, and two uploads at once.
    let form = |files: &[(&str, Vec<u8>)]| {
        let mut form = reqwest::multipart::Form::new().text("note", "not a file");
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        form
    };
    let meta = std::fs::read(sample(META_2019)).unwrap();
    let meta_name = sample(META_2019)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let both = client
        .post(format!("{address}/v1/admin/imports"))
        .bearer_auth(&key)
        .multipart(form(&[
            (&meta_name, meta.clone()),
            ("again.csv", snap.clone()),
        ]))
        .send();
    let other = client
        .post(format!("{address}/v1/admin/imports?no_index=false"))
        .bearer_auth(&key)
        .multipart(form(&[("snap-copy.csv", snap.clone())]))
        .send();
    let (both, other) = tokio::join!(both, other);
    let (both, other) = (both.unwrap(), other.unwrap());
    assert_eq!(
        (both.status().as_u16(), other.status().as_u16()),
        (202, 202)
    );
    let both_at = both.headers()["location"].to_str().unwrap().to_owned();
    let other_at = other.headers()["location"].to_str().unwrap().to_owned();
    let both = ended(&client, &address, &key, &both_at).await;
    let other = ended(&client, &address, &key, &other_at).await;
    assert_eq!(both["status"], "succeeded", "{both}");
    let files = both["report"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], meta_name.as_str());
    assert_eq!(files[0]["format"], "meta-ads-archive");
    assert_eq!(files[1]["path"], "again.csv");
    assert_eq!(
        files[1]["unchanged"], 500,
        "the same bytes are known already"
    );
    assert_eq!(other["status"], "succeeded", "{other}");
    let listed: Value = json_with_key(&client, &format!("{address}/v1/admin/tasks"), &key).await;
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 3);

    // Refusals name what is wrong.
    let r = upload("", snap.clone(), Some(&key)).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["param"], "name");
    let r = upload("?name=a.csv&format=fax", snap.clone(), Some(&key))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["param"], "format");
    let r = upload(&format!("?name=a.csv&key={key}"), snap.clone(), Some(&key))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .get(format!("{address}/v1/admin/tasks/999"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A revoked key stops working at once.
    assert!(
        adarchive(&["keys", "revoke", "loader", "--data", path_str(&data)])
            .status
            .success()
    );
    let r = upload("?name=a.csv", snap.clone(), Some(&key))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "with no key in force the admin API is off again"
    );
    let listing = adarchive(&["keys", "list", "--data", path_str(&data)]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains("loader") && listing.contains("revoked"));

    // Neither key was written anywhere: not in the log, not in the data
    // folder, not in the listing.
    drop(server);
    let logged = std::fs::read(&log_path).unwrap();
    assert!(
        contains(&logged, "/v1/admin/imports"),
        "requests are logged"
    );
    for secret in [&key, &wrong] {
        assert!(!contains(&logged, secret), "the log holds a key");
        assert!(!listing.contains(secret.as_str()));
        for file in files_under(&data) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(!contains(&bytes, secret), "{} holds a key", file.display());
        }
    }
    assert!(
        !data.join("uploads").exists() || files_under(&data.join("uploads")).is_empty(),
        "uploads are removed once imported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_beyond_the_limits_are_refused_and_leave_nothing() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Served::start_with(
        &data,
        &["--max-upload-bytes", "10000", "--max-uploads", "1"],
        std::process::Stdio::null(),
    );
    let key = new_key(&data, "ops");
    let (address, client) = (server.address.clone(), crate::util::http_client());
    let snap = std::fs::read(sample(SNAP)).unwrap();
    assert!(snap.len() > 10_000);

    // Declared too large: refused before a byte is read.
    let r = client
        .post(format!("{address}/v1/admin/imports?name=big.csv"))
        .bearer_auth(&key)
        .body(snap.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("10000 bytes"));

    // Sent without a length, and found too large as it arrives.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        snap.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    let r = client
        .post(format!("{address}/v1/admin/imports?name=big.csv"))
        .bearer_auth(&key)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // One upload at a time: a second one while the first still sends.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let slow = tokio::spawn({
        let (client, address, key) = (client.clone(), address.clone(), key.clone());
        async move {
            client
                .post(format!("{address}/v1/admin/imports?name=small.csv"))
                .bearer_auth(&key)
                .body(reqwest::Body::wrap_stream(tokio_stream_of(rx)))
                .send()
                .await
                .unwrap()
        }
    });
    tx.send(Ok(b"ADID,Currency Code,Spend\r\n".to_vec()))
        .await
        .unwrap();
    // Once the server is receiving the first upload, a second is refused.
    let started = Instant::now();
    loop {
        let metrics = client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("adarchive_uploads_receiving 1") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first upload never arrived: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = client
        .post(format!("{address}/v1/admin/imports?name=other.csv"))
        .bearer_auth(&key)
        .body("ADID,Currency Code,Spend\r\nx1,EUR,4\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 503);
    assert!(second.text().await.unwrap().contains("upload"));
    tx.send(Ok(b"ab12,EUR,40\r\n".to_vec())).await.unwrap();
    drop(tx);
    let first = slow.await.unwrap();
    assert_eq!(first.status(), 202);
    let uploads = data.join("uploads");
    let started = Instant::now();
    while uploads.exists() && !files_under(&uploads).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "uploads are left behind"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A stream of the chunks a channel receives, until it closes.
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
