//! Reading a server's log as any C2SP client would: the key, the newest
//! checkpoint, every entry bundle and hash tile, and its manifest.

use std::time::Duration;

use super::verify::{bundles_of, split_bundle, tiles_of, LogView};

/// Why a server's log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The request failed or the answer was not a success.
    #[error("{url}: {reason}")]
    Fetch {
        /// What was asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// An answer was not what the format says.
    #[error("{url}: {reason}")]
    Malformed {
        /// What was asked.
        url: String,
        /// How it is wrong.
        reason: String,
    },
}

/// The manifest as `/v1/sources` lists it, the fields the log needs.
#[derive(serde::Deserialize)]
struct ListedSource {
    seq: u64,
    blake3: String,
    size: u64,
}

/// Reads the log of the server at `base` (`https://ads.example.org`).
pub fn fetch_view(base: &str) -> Result<LogView, RemoteError> {
    let base = base.trim_end_matches('/');
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| RemoteError::Fetch {
            url: base.to_owned(),
            reason: e.to_string(),
        })?;
    let get = |path: &str| -> Result<Vec<u8>, RemoteError> {
        let url = format!("{base}{path}");
        let fail = |reason: String| RemoteError::Fetch {
            url: url.clone(),
            reason,
        };
        let answer = client.get(&url).send().map_err(|e| fail(e.to_string()))?;
        if !answer.status().is_success() {
            return Err(fail(format!("answered {}", answer.status())));
        }
        Ok(answer.bytes().map_err(|e| fail(e.to_string()))?.to_vec())
    };
    let malformed = |path: &str, reason: &str| RemoteError::Malformed {
        url: format!("{base}{path}"),
        reason: reason.to_owned(),
    };
    let verifier_key = String::from_utf8(get("/v1/log/key")?)
        .map_err(|_| malformed("/v1/log/key", "not text"))?
        .trim()
        .to_owned();
    let checkpoint = get("/v1/log/checkpoint")?;
    let size: u64 = std::str::from_utf8(&checkpoint)
        .ok()
        .and_then(|text| text.lines().nth(1))
        .and_then(|line| line.parse().ok())
        .ok_or_else(|| malformed("/v1/log/checkpoint", "no tree size on its second line"))?;
    let mut entries = Vec::new();
    for bundle in bundles_of(size) {
        let path = format!("/v1/log/tile/{bundle}");
        let data = get(&path)?;
        let found = split_bundle(&data).ok_or_else(|| malformed(&path, "not an entry bundle"))?;
        if found.len() != bundle.width as usize {
            return Err(malformed(
                &path,
                &format!("{} entries, not {}", found.len(), bundle.width),
            ));
        }
        entries.extend(found);
    }
    let mut tiles = Vec::new();
    for tile in tiles_of(size) {
        let path = format!("/v1/log/tile/{tile}");
        tiles.push((tile, get(&path)?));
    }
    let listed: Vec<ListedSource> = serde_json::from_slice(&get("/v1/sources")?)
        .map_err(|e| malformed("/v1/sources", &e.to_string()))?;
    Ok(LogView {
        entries,
        tiles,
        checkpoints: vec![checkpoint],
        verifier_key,
        manifest: listed
            .into_iter()
            .map(|s| (s.seq, s.blake3, s.size))
            .collect(),
    })
}
