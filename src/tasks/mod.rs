//! Work that writes to the archive, done one task at a time by the
//! process that holds it open.
//!
//! A served archive is open in the server, and only one process may write
//! to it. So the server takes the writing work itself, the way a search
//! engine takes documents through a task queue: `adarchive import` and
//! `reindex` hand their work over through the data folder's control socket
//! ([`handover`]), operators upload files through the ingest API, and both
//! become tasks here. One thread runs them in the order they came, while
//! every search keeps reading the last committed state; each import
//! commits source by source exactly as it does from the command line.

pub mod handover;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};

use crate::archive::{catch_up_index, reindex_all, Archive, FetchedFrom, Progress};
use crate::ingest::{import_paths, ImportOptions, ImportReport};

/// Tasks kept for reading after they end; older ones are forgotten.
pub const TASKS_KEPT: usize = 1_000;
/// Tasks that may wait for their turn; beyond that a new one is refused.
pub const TASKS_WAITING: usize = 64;

/// What a task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Imports files, as `adarchive import` does.
    Import,
    /// Indexes what the search index lacks (`adarchive reindex`), or
    /// everything again (`reindex --all`).
    Reindex,
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for the tasks before it.
    Enqueued,
    /// Running.
    Processing,
    /// Ran to its end; an import's report says what each file gave.
    Succeeded,
    /// Stopped on an error, named in `error`; what it committed before
    /// stays committed.
    Failed,
}

/// How far the file being imported is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileProgress {
    /// The file's name.
    pub file: String,
    /// Bytes read.
    pub done: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// A task as it stands.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    /// Its number, counted from 1 since the server started.
    pub id: u64,
    /// What it does.
    pub kind: TaskKind,
    /// Where it stands.
    pub status: TaskStatus,
    /// Who asked: `command line`, or `key NAME` for the ingest API.
    pub origin: String,
    /// The files to import, as they were named.
    pub files: Vec<String>,
    /// When it was asked for (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub enqueued_at: Timestamp,
    /// When it started.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// When it ended.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// While an import runs: the file it reads and how far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<FileProgress>,
    /// When an import has ended: the same report as `import --json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<ImportReport>,
    /// When a reindex has ended: how many ads it indexed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed: Option<u64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The work of a task.
pub enum Work {
    /// Import files.
    Import {
        /// The files, folders and bundles, as the server reads them.
        paths: Vec<PathBuf>,
        /// How each path is named in the report, when not as it is read:
        /// the path the user typed, or an uploaded file's name.
        shown: Vec<String>,
        /// The import's options, checked.
        options: Box<ImportOptions<'static>>,
        /// The request a collector made for the files.
        fetched: Option<FetchedFrom>,
        /// A folder removed once the task ends (uploaded files).
        remove_after: Option<PathBuf>,
    },
    /// Index what the index lacks, or everything when `all`.
    Reindex {
        /// Everything again.
        all: bool,
    },
}

/// Why a task was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// Too many tasks wait already.
    #[error("{TASKS_WAITING} tasks are waiting already; try again when some have ended")]
    QueueFull,
    /// The server is stopping.
    #[error("the server is stopping")]
    Stopping,
}

/// The task queue of one archive, and the thread that works through it.
#[derive(Clone)]
pub struct Tasks {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Every task kept, oldest first.
    tasks: VecDeque<Task>,
    /// Work not yet started, in order.
    waiting: VecDeque<(u64, Work)>,
    stopping: bool,
}

impl State {
    fn task_mut(&mut self, id: u64) -> Option<&mut Task> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }
}

fn now() -> Timestamp {
    Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc())
}

impl Tasks {
    /// Starts the thread that runs the tasks of `archive`.
    ///
    /// ```
    /// use adarchive::tasks::{Tasks, TaskStatus, Work};
    /// let dir = tempfile::tempdir().unwrap();
    /// let archive = std::sync::Arc::new(adarchive::archive::Archive::open(dir.path()).unwrap());
    /// let tasks = Tasks::start(archive).unwrap();
    /// let id = tasks.submit(Work::Reindex { all: true }, "command line").unwrap();
    /// let done = tasks.wait(id, std::time::Duration::from_secs(30)).unwrap();
    /// assert_eq!((done.status, done.indexed), (TaskStatus::Succeeded, Some(0)));
    /// ```
    pub fn start(archive: Arc<Archive>) -> std::io::Result<Self> {
        let tasks = Tasks::idle();
        let worker = Arc::clone(&tasks.shared);
        std::thread::Builder::new()
            .name("tasks".into())
            .spawn(move || work_through(&worker, &archive))?;
        Ok(tasks)
    }

    /// A queue no thread works through yet.
    fn idle() -> Self {
        Tasks {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    next_id: 1,
                    ..State::default()
                }),
                changed: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `work`, asked by `origin`; gives the task's number.
    pub fn submit(&self, work: Work, origin: &str) -> Result<u64, Refusal> {
        let mut state = self.lock();
        if state.stopping {
            return Err(Refusal::Stopping);
        }
        if state.waiting.len() >= TASKS_WAITING {
            return Err(Refusal::QueueFull);
        }
        let id = state.next_id;
        state.next_id += 1;
        let (kind, files) = match &work {
            Work::Import { paths, shown, .. } => (
                TaskKind::Import,
                paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        shown
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| p.display().to_string())
                    })
                    .collect(),
            ),
            Work::Reindex { .. } => (TaskKind::Reindex, Vec::new()),
        };
        state.tasks.push_back(Task {
            id,
            kind,
            status: TaskStatus::Enqueued,
            origin: origin.to_owned(),
            files,
            enqueued_at: now(),
            started_at: None,
            finished_at: None,
            progress: None,
            report: None,
            indexed: None,
            error: None,
        });
        forget_old(&mut state);
        state.waiting.push_back((id, work));
        drop(state);
        self.shared.changed.notify_all();
        Ok(id)
    }

    /// The task numbered `id`, while it is kept.
    pub fn get(&self, id: u64) -> Option<Task> {
        self.lock().tasks.iter().find(|t| t.id == id).cloned()
    }

    /// The tasks kept, newest first.
    pub fn list(&self) -> Vec<Task> {
        self.lock().tasks.iter().rev().cloned().collect()
    }

    /// The task numbered `id` once it has ended, or as it stands after
    /// `timeout`, or as soon as its status or file differs from `seen`.
    pub fn wait_for_change(&self, id: u64, seen: Option<&Task>, timeout: Duration) -> Option<Task> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            let task = state.tasks.iter().find(|t| t.id == id)?;
            let ended = matches!(task.status, TaskStatus::Succeeded | TaskStatus::Failed);
            let moved =
                seen.is_some_and(|s| s.status != task.status || s.progress != task.progress);
            let left = deadline.saturating_duration_since(Instant::now());
            if ended || moved || left.is_zero() {
                return Some(task.clone());
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The task numbered `id` once it has ended, or as it stands after
    /// `timeout`.
    pub fn wait(&self, id: u64, timeout: Duration) -> Option<Task> {
        self.wait_for_change(id, None, timeout)
    }

    /// Takes no more tasks; the one running ends on its own (every import
    /// commits source by source, so stopping half-way loses nothing
    /// committed).
    pub fn stop(&self) {
        let mut state = self.lock();
        state.stopping = true;
        let never_run: Vec<u64> = state.waiting.drain(..).map(|(id, _)| id).collect();
        for id in never_run {
            if let Some(task) = state.task_mut(id) {
                task.status = TaskStatus::Failed;
                task.finished_at = Some(now());
                task.error = Some("the server stopped before this task ran".into());
            }
        }
        drop(state);
        self.shared.changed.notify_all();
    }
}

/// Forgets the oldest ended tasks beyond [`TASKS_KEPT`].
fn forget_old(state: &mut State) {
    while state.tasks.len() > TASKS_KEPT {
        let Some(oldest) = state
            .tasks
            .iter()
            .position(|t| matches!(t.status, TaskStatus::Succeeded | TaskStatus::Failed))
        else {
            return;
        };
        state.tasks.remove(oldest);
    }
}

/// The worker: runs each task in turn until told to stop.
fn work_through(shared: &Arc<Shared>, archive: &Archive) {
    loop {
        let (id, work) = {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if state.stopping {
                    return;
                }
                if let Some(next) = state.waiting.pop_front() {
                    break next;
                }
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        update(shared, id, |t| {
            t.status = TaskStatus::Processing;
            t.started_at = Some(now());
        });
        let outcome = run(shared, id, archive, &work);
        if let Work::Import {
            remove_after: Some(folder),
            ..
        } = &work
        {
            if let Err(e) = std::fs::remove_dir_all(folder) {
                tracing::warn!(
                    "cannot remove the uploads of task {id} in {}: {e}",
                    folder.display()
                );
            }
        }
        update(shared, id, |t| {
            t.finished_at = Some(now());
            t.progress = None;
            match outcome {
                Ok(Outcome::Imported(report)) => {
                    t.status = TaskStatus::Succeeded;
                    t.report = Some(report);
                }
                Ok(Outcome::Indexed(n)) => {
                    t.status = TaskStatus::Succeeded;
                    t.indexed = Some(n);
                }
                Err(e) => {
                    t.status = TaskStatus::Failed;
                    t.error = Some(e);
                }
            }
        });
        let idle = shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .is_empty();
        if idle {
            crate::spend::warm(archive);
        }
    }
}

enum Outcome {
    Imported(ImportReport),
    Indexed(u64),
}

fn run(shared: &Arc<Shared>, id: u64, archive: &Archive, work: &Work) -> Result<Outcome, String> {
    let error = |e: crate::Error| {
        // Only the chain of causes: never a backtrace or a debug dump.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    };
    match work {
        Work::Import {
            paths,
            shown,
            options,
            fetched,
            ..
        } => {
            let progress = TaskProgress {
                shared: Arc::clone(shared),
                id,
            };
            let options = ImportOptions {
                fetched: fetched.as_ref(),
                ..(**options).clone()
            };
            let mut report = import_paths(archive, paths, options, &progress).map_err(error)?;
            name_as_shown(&mut report, paths, shown);
            Ok(Outcome::Imported(report))
        }
        Work::Reindex { all } => {
            let indexed = if *all {
                reindex_all(archive)
            } else {
                catch_up_index(archive)
            };
            indexed.map(Outcome::Indexed).map_err(error)
        }
    }
}

/// Writes each report path under the name its path was given by: the
/// report reads as the one the command line would have printed.
fn name_as_shown(report: &mut ImportReport, paths: &[PathBuf], shown: &[String]) {
    for file in &mut report.files {
        for (path, name) in paths.iter().zip(shown) {
            let read = path.display().to_string();
            if let Some(rest) = file.path.strip_prefix(&read) {
                if rest.is_empty()
                    || rest.starts_with(std::path::MAIN_SEPARATOR)
                    || rest.starts_with('!')
                {
                    file.path = format!("{name}{rest}");
                    break;
                }
            }
        }
    }
}

fn update(shared: &Shared, id: u64, change: impl FnOnce(&mut Task)) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(task) = state.task_mut(id) {
        change(task);
    }
    drop(state);
    shared.changed.notify_all();
}

/// Progress of a running import, kept on its task.
struct TaskProgress {
    shared: Arc<Shared>,
    id: u64,
}

impl Progress for TaskProgress {
    fn start(&self, name: &str, len: u64) {
        update(&self.shared, self.id, |t| {
            t.progress = Some(FileProgress {
                file: crate::ingest::public_name(name),
                done: 0,
                size: len,
            })
        });
    }

    fn advance(&self, offset: u64) {
        // Written often, told seldom: waiters wake on a new file, not on
        // every batch.
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = state.task_mut(self.id).and_then(|t| t.progress.as_mut()) {
            p.done = offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_name_files_as_they_were_given() {
        let mut report = ImportReport::default();
        for path in [
            "/abs/exports/a.csv",
            "/abs/bundle.zip!/b.csv",
            "/abs/other.csv",
            "/abs/exportsx/c.csv",
        ] {
            report.files.push(crate::ingest::FileReport {
                path: path.into(),
                ..Default::default()
            });
        }
        let paths = [
            PathBuf::from("/abs/exports"),
            PathBuf::from("/abs/bundle.zip"),
        ];
        let shown = ["exports".to_owned(), "bundle.zip".to_owned()];
        name_as_shown(&mut report, &paths, &shown);
        let named: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            named,
            [
                "exports/a.csv",
                "bundle.zip!/b.csv",
                "/abs/other.csv",
                "/abs/exportsx/c.csv"
            ]
        );
    }

    #[test]
    fn a_full_queue_refuses() {
        let tasks = Tasks::idle();
        for _ in 0..TASKS_WAITING {
            tasks.submit(Work::Reindex { all: false }, "test").unwrap();
        }
        assert_eq!(
            tasks.submit(Work::Reindex { all: false }, "test"),
            Err(Refusal::QueueFull)
        );
        assert_eq!(tasks.list().len(), TASKS_WAITING);
        assert_eq!(tasks.list()[0].id, TASKS_WAITING as u64, "newest first");
        tasks.stop();
        assert_eq!(
            tasks.submit(Work::Reindex { all: false }, "test"),
            Err(Refusal::Stopping)
        );
        let first = tasks.wait(1, Duration::ZERO).unwrap();
        assert_eq!(first.status, TaskStatus::Failed, "tasks left waiting end");
        assert!(first.error.unwrap().contains("stopped"));
    }

    #[test]
    fn tasks_run_in_order_and_old_ones_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Arc::new(Archive::open(dir.path()).unwrap());
        let tasks = Tasks::start(archive).unwrap();
        let ids: Vec<u64> = (0..3)
            .map(|_| tasks.submit(Work::Reindex { all: false }, "test").unwrap())
            .collect();
        let mut started = Vec::new();
        for id in &ids {
            let done = tasks.wait(*id, Duration::from_secs(30)).unwrap();
            assert_eq!(
                (done.status, done.indexed),
                (TaskStatus::Succeeded, Some(0))
            );
            started.push(done.started_at.unwrap());
        }
        assert!(started.windows(2).all(|w| w[0] <= w[1]));
        let mut state = State::default();
        for id in 0..(TASKS_KEPT as u64 + 5) {
            state.tasks.push_back(Task {
                id,
                status: if id == 0 {
                    TaskStatus::Enqueued
                } else {
                    TaskStatus::Succeeded
                },
                ..tasks.get(1).unwrap()
            });
        }
        forget_old(&mut state);
        assert_eq!(state.tasks.len(), TASKS_KEPT);
        assert_eq!(
            state.tasks[0].id, 0,
            "a task not yet run is never forgotten"
        );
        assert_eq!(state.tasks[1].id, 6);
    }
}
