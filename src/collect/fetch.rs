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
        self.to_file(reqwest::Method::GET, address, headers, None, out)
    }

    /// POSTs `body` (of `content_type`) to `address` like [`Fetcher::get`].
    pub fn post(
        &self,
        address: &str,
        headers: &[(&str, &str)],
        body: (&str, &[u8]),
        out: &Path,
    ) -> Result<Answer, FetchError> {
        self.to_file(reqwest::Method::POST, address, headers, Some(body), out)
    }

    fn to_file(
        &self,
        method: reqwest::Method,
        address: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        out: &Path,
    ) -> Result<Answer, FetchError> {
        let mut file = None;
        self.patiently(address, |fetcher| {
            let mut sink = Sink::File(out, &mut file);
            fetcher.attempt(method.clone(), address, headers, body, &mut sink)
        })
    }

    /// POSTs like [`Fetcher::post`], the answer (at most 1 MiB) kept in
    /// memory only: for answers that hold a credential, which must never
    /// touch the disk.
    pub fn post_in_memory(
        &self,
        address: &str,
        headers: &[(&str, &str)],
        body: (&str, &[u8]),
    ) -> Result<(Answer, Vec<u8>), FetchError> {
        let mut kept = Vec::new();
        let answer = self.patiently(address, |fetcher| {
            kept.clear();
            let mut sink = Sink::Memory(&mut kept);
            fetcher.attempt(
                reqwest::Method::POST,
                address,
                headers,
                Some(body),
                &mut sink,
            )
        })?;
        Ok((answer, kept))
    }

    /// Runs `attempt` until it gives an answer that is not a passing
    /// failure, waiting longer each time.
    fn patiently(
        &self,
        address: &str,
        mut attempt: impl FnMut(&Self) -> Result<Answer, String>,
    ) -> Result<Answer, FetchError> {
        let mut wait = self.patience.backoff;
        let mut last = String::new();
        for tried in 0..self.patience.attempts.max(1) {
            if tried > 0 {
                (self.on_retry)(wait, &last);
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
            match attempt(self) {
                Ok(answer) if transient(answer.status) && tried + 1 < self.patience.attempts => {
                    last = format!("HTTP {}", answer.status);
                }
                Ok(mut answer) => {
                    answer.retries = tried;
                    return Ok(answer);
                }
                Err(reason) => last = redact_text(&reason),
            }
        }
        Err(FetchError {
            address: redact_text(address),
            reason: last,
            attempts: self.patience.attempts.max(1),
        })
    }

    fn attempt(
        &self,
        method: reqwest::Method,
        address: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        sink: &mut Sink<'_>,
    ) -> Result<Answer, String> {
        let mut request = self.client.request(method, address);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, bytes)) = body {
            request = request
                .header("content-type", content_type)
                .body(bytes.to_vec());
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
        sink.begin()?;
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
            sink.write(&buffer[..n])?;
            size += n as u64;
        }
        if let Some(declared) = declared {
            if size != declared {
                return Err(format!("the body ended after {size} of {declared} bytes"));
            }
        }
        sink.finish()?;
        Ok(Answer {
            status,
            headers,
            size,
            retries: 0,
        })
    }
}

/// Where an answer's body goes.
enum Sink<'a> {
    /// A file, made anew for each attempt.
    File(&'a Path, &'a mut Option<std::fs::File>),
    /// Memory, for answers that must not touch the disk.
    Memory(&'a mut Vec<u8>),
}

/// The most an answer kept in memory may hold.
const IN_MEMORY: usize = 1 << 20;

impl Sink<'_> {
    fn begin(&mut self) -> Result<(), String> {
        match self {
            Sink::File(path, file) => {
                let path: &Path = path;
                **file = Some(
                    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
                );
            }
            Sink::Memory(kept) => kept.clear(),
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Sink::File(path, Some(file)) => file
                .write_all(bytes)
                .map_err(|e| format!("{}: {e}", path.display())),
            Sink::File(path, None) => Err(format!("{}: not open", path.display())),
            Sink::Memory(kept) if kept.len() + bytes.len() > IN_MEMORY => {
                Err(format!("the answer is larger than {IN_MEMORY} bytes"))
            }
            Sink::Memory(kept) => {
                kept.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> Result<(), String> {
        match self {
            Sink::File(path, Some(file)) => file
                .sync_all()
                .map_err(|e| format!("{}: {e}", path.display())),
            _ => Ok(()),
        }
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
