//! `spawn_app`: an archive of the real samples, served on a free port.

use std::path::PathBuf;

use adarchive::api::startup::{ApiConfig, Application};
use adarchive::archive::{Archive, NoProgress};
use adarchive::ingest::{import_paths, ImportOptions};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub use crate::util::{sample, GOOGLE};

/// Imports the Google, Meta and Snap samples and starts the server.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let archive = Archive::open(&data).unwrap();
        let paths = vec![
            sample(GOOGLE),
            sample(crate::util::META_2019),
            sample("snap/2023_PoliticalAds.sorted.first500.csv"),
        ];
        import_paths(&archive, &paths, ImportOptions::default(), &NoProgress).unwrap();
    }
    spawn_with(data, dir, 0).await
}

/// Serves the archive at `data` with a rate limit (0: none).
pub async fn spawn_with(data: PathBuf, dir: tempfile::TempDir, rate_limit: u32) -> TestApp {
    spawn_config(
        ApiConfig {
            data,
            bind: "127.0.0.1:0".into(),
            rate_limit,
            ..ApiConfig::default()
        },
        dir,
    )
    .await
}

/// Serves with a configuration of the test's own.
pub async fn spawn_config(config: ApiConfig, dir: tempfile::TempDir) -> TestApp {
    let app = Application::build(&config).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: crate::util::http_client(),
        _dir: dir,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request")
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("json body")
    }
}
