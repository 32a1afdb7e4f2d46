//! Fetching one address patiently: timeouts, retries with backoff on
//! server errors, broken connections and truncated bodies, and a body
//! written to disk as it arrives, never trusted until it is whole.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use adarchive_importers::redact::redact_text;

/// How patient a fetch is.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// Attempts of one request, the first included.
    pub attempts: u32,
    /// The wait before the first retry; each next wait is twice as long.
    pub backoff: Duration,
    /// How long one attempt may take, the body included.
    pub timeout: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            attempts: 5,
            backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
        }
    }
}

/// What one request gave.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Selected headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// Bytes written to the file.
    pub size: u64,
    /// Attempts that failed before this one.
    pub retries: u32,
}

impl Answer {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a fetch failed after every attempt.
#[derive(Debug, thiserror::Error)]
#[error("{address}: {reason} (after {attempts} attempts)")]
pub struct FetchError {
    /// The address, credentials redacted.
    pub address: String,
    /// The last failure.
    pub reason: String,
    /// Attempts made.
    pub attempts: u32,
}

/// Told of each wait before another attempt, and why.
pub type OnRetry = Box<dyn Fn(Duration, &str) + Send + Sync>;

/// An HTTP client for collectors.
pub struct Fetcher {
    client: reqwest::blocking::Client,
    patience: Patience,
    /// Called with the wait and the reason before each retry.
    pub on_retry: OnRetry,
}

/// Whether a status is worth another attempt.
fn transient(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

impl Fetcher {
    /// A client with `patience`.
    pub fn new(patience: Patience) -> Result<Self, FetchError> {
        // One process-wide choice of cryptography; a second call finds it
        // made already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(patience.timeout)
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!("adarchive/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError {
                address: String::new(),
                reason: e.to_string(),
                attempts: 0,
            })?;
        Ok(Fetcher {
            client,
            patience,
            on_retry: Box::new(|_, _| {}),
        })
    }

    /// How patient it is.
    pub fn patience(&self) -> Patience {
        self.patience
    }

    /// GETs `address` with `headers` into the file `out`; retries on
    /// server errors, broken connections, timeouts and bodies shorter than
    /// their `Content-Length`. Any answer that is not a server error is
    /// given back whole, whatever its status, for the caller to judge.
    /// Credentials in the address never reach an error or the log.
    pub fn get(
        &self,
        address: &str,
        headers: &[(&str, &str)],
        out: &Path,
    ) -> Result<Answer, FetchError> {
        let shown = redact_text(address);
        let mut wait = self.patience.backoff;
        let mut last = String::new();
        for attempt in 0..self.patience.attempts.max(1) {
            if attempt > 0 {
                (self.on_retry)(wait, &last);
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
            match self.attempt(address, headers, out) {
                Ok(answer) if transient(answer.status) && attempt + 1 < self.patience.attempts => {
                    last = format!("HTTP {}", answer.status);
                }
                Ok(mut answer) => {
                    answer.retries = attempt;
                    return Ok(answer);
                }
                Err(reason) => last = redact_text(&reason),
            }
        }
        Err(FetchError {
            address: shown,
            reason: last,
            attempts: self.patience.attempts.max(1),
        })
    }

    fn attempt(
        &self,
        address: &str,
        headers: &[(&str, &str)],
        out: &Path,
    ) -> Result<Answer, String> {
        let mut request = self.client.get(address);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // The error of a request names its address, token and all: only
        // its kind is kept.
        let mut response = request.send().map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let kept = [
            "content-length",
            "content-type",
            "etag",
            "x-business-use-case-usage",
            "x-app-usage",
            "retry-after",
        ];
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| kept.contains(&n.as_str()))
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let declared = response.content_length();
        let mut file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut buffer = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = match response.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(format!(
                        "the body broke off after {size} bytes: {}",
                        e.kind()
                    ))
                }
            };
            file.write_all(&buffer[..n])
                .map_err(|e| format!("{}: {e}", out.display()))?;
            size += n as u64;
        }
        if let Some(declared) = declared {
            if size != declared {
                return Err(format!("the body ended after {size} of {declared} bytes"));
            }
        }
        file.sync_all()
            .map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(Answer {
            status,
            headers,
            size,
            retries: 0,
        })
    }
}

/// What went wrong with a request, without its address.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the body could not be read"
    } else {
        "the request failed"
    };
    let mut cause = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(c) = cause {
        detail = c.to_string();
        cause = c.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", redact_text(&detail))
    }
}
