//! The control socket: how `adarchive import` and `reindex` hand their
//! work to the server that holds the archive open.
//!
//! The server listens on `<data>/adarchive.sock`, a Unix socket only its
//! owner may connect to: whoever may write the data folder may import into
//! it, and no key or secret is needed or kept. A command that finds the
//! archive busy connects, sends one request, and reads the task's progress
//! until it ends; the task runs in the server, so a command killed half-way
//! leaves its import running there (and the next one queued behind it).
//!
//! The protocol is one JSON object a line: the command sends a
//! [`Request`]; the server answers [`Reply::Accepted`] or
//! [`Reply::Refused`], then [`Reply::Progress`] as the task moves, then
//! [`Reply::Finished`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Task, TaskStatus, Tasks, Work};
use crate::archive::FetchedFrom;
use crate::ingest::ImportSettings;

/// The socket's name in the data folder.
pub const SOCKET_FILE: &str = "adarchive.sock";
/// Connections served at once; more are refused.
const CONNECTIONS: usize = 16;
/// The longest request line read.
const REQUEST_BYTES: u64 = 1024 * 1024;
/// How often a waiting command hears of its task at least.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What a command asks of the server.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Import files the server can read.
    Import {
        /// Absolute paths of the files, folders and bundles.
        paths: Vec<PathBuf>,
        /// How each was typed, for the report.
        shown: Vec<String>,
        /// The import's settings.
        settings: Box<ImportSettings>,
        /// The request a collector made for the files.
        #[serde(default)]
        fetched: Option<FetchedFrom>,
    },
    /// Index what the search index lacks, or everything when `all`.
    Reindex {
        /// Everything again.
        all: bool,
    },
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The task was queued.
    Accepted(Task),
    /// The request was not taken, and why.
    Refused(String),
    /// The task moved.
    Progress(Task),
    /// The task ended.
    Finished(Task),
}

/// Why a command could not hand its work over.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    /// The socket could not be reached or broke off.
    #[error("the server's control socket {path}: {source}")]
    Socket {
        /// The socket.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The server answered something that is not this protocol.
    #[error("the server's control socket {path} answered something unreadable: {reason}")]
    Protocol {
        /// The socket.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The server refused the request.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The connection ended before the task did.
    #[error(
        "the server closed the connection before task {0} ended; it may still be running there"
    )]
    Cut(u64),
}

/// The socket of the data folder `data`.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET_FILE)
}

/// A listening control socket; it stops listening, and the socket file
/// goes, when this is dropped.
pub struct Listening {
    path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees it should stop.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listens on the control socket of `data` and turns each request into a
/// task of `tasks`. Call it only while holding the archive open, which
/// makes any socket file left there by a killed server stale.
pub fn listen(data: &Path, tasks: Tasks) -> std::io::Result<Listening> {
    let path = socket_path(data);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let open = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                if open.fetch_add(1, Ordering::SeqCst) >= CONNECTIONS {
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = send(
                        &mut stream,
                        &Reply::Refused(format!("{CONNECTIONS} commands are connected already")),
                    );
                    continue;
                }
                let (tasks, open) = (tasks.clone(), Arc::clone(&open));
                let spawned = std::thread::Builder::new()
                    .name("control-connection".into())
                    .spawn(move || {
                        answer(stream, &tasks);
                        open.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    tracing::warn!("cannot start a thread for a control connection");
                }
            }
        })?;
    Ok(Listening { path, stop })
}

fn send(stream: &mut UnixStream, reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Serves one connection: one request, then the task until it ends or the
/// command goes away (the task runs on).
fn answer(stream: UnixStream, tasks: &Tasks) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut line = String::new();
    let read = BufReader::new(std::io::Read::take(stream, REQUEST_BYTES)).read_line(&mut line);
    let request: Request = match read
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str(&line).map_err(|e| format!("not a request: {e}")))
    {
        Ok(r) => r,
        Err(e) => {
            let _ = send(&mut writer, &Reply::Refused(e));
            return;
        }
    };
    let work = match request {
        Request::Import {
            paths,
            shown,
            settings,
            fetched,
        } => match settings.options() {
            Ok(options) => Work::Import {
                paths,
                shown,
                options: Box::new(options),
                fetched,
                remove_after: None,
            },
            Err(e) => {
                let _ = send(&mut writer, &Reply::Refused(e.to_string()));
                return;
            }
        },
        Request::Reindex { all } => Work::Reindex { all },
    };
    let id = match tasks.submit(work, "command line") {
        Ok(id) => id,
        Err(e) => {
            let _ = send(&mut writer, &Reply::Refused(e.to_string()));
            return;
        }
    };
    let Some(mut seen) = tasks.get(id) else {
        return;
    };
    if send(&mut writer, &Reply::Accepted(seen.clone())).is_err() {
        return;
    }
    loop {
        let Some(now) = tasks.wait_for_change(id, Some(&seen), PROGRESS_EVERY) else {
            return;
        };
        let ended = matches!(now.status, TaskStatus::Succeeded | TaskStatus::Failed);
        let reply = if ended {
            Reply::Finished(now.clone())
        } else {
            Reply::Progress(now.clone())
        };
        if send(&mut writer, &reply).is_err() || ended {
            return;
        }
        seen = now;
    }
}

/// A connection to the server serving a data folder.
pub struct Handover {
    path: PathBuf,
    stream: UnixStream,
}

impl Handover {
    /// Connects to the server serving `data`; `None` when no server
    /// listens there (no socket, or one left by a server that stopped).
    pub fn connect(data: &Path) -> Option<Handover> {
        let path = socket_path(data);
        let stream = UnixStream::connect(&path).ok()?;
        Some(Handover { path, stream })
    }

    fn socket_error(&self, source: std::io::Error) -> HandoverError {
        HandoverError::Socket {
            path: self.path.clone(),
            source,
        }
    }

    /// Sends `request` and follows its task to its end, telling
    /// `on_progress` each time it moves; gives the ended task.
    pub fn run(
        mut self,
        request: &Request,
        mut on_progress: impl FnMut(&Task),
    ) -> Result<Task, HandoverError> {
        let mut line = serde_json::to_vec(request).map_err(|e| HandoverError::Protocol {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        self.stream
            .write_all(&line)
            .map_err(|e| self.socket_error(e))?;
        let reader = BufReader::new(self.stream.try_clone().map_err(|e| self.socket_error(e))?);
        let mut accepted = None;
        for line in reader.lines() {
            let line = line.map_err(|e| self.socket_error(e))?;
            let reply: Reply =
                serde_json::from_str(&line).map_err(|e| HandoverError::Protocol {
                    path: self.path.clone(),
                    reason: e.to_string(),
                })?;
            match reply {
                Reply::Refused(why) => return Err(HandoverError::Refused(why)),
                Reply::Accepted(task) | Reply::Progress(task) => {
                    accepted = Some(task.id);
                    on_progress(&task);
                }
                Reply::Finished(task) => return Ok(task),
            }
        }
        Err(match accepted {
            Some(id) => HandoverError::Cut(id),
            None => HandoverError::Protocol {
                path: self.path.clone(),
                reason: "no answer".into(),
            },
        })
    }
}
