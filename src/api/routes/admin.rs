//! `/v1/admin/…`: the ingest API, for operators holding a key.
//!
//! While no key is in force (`adarchive keys create`), none of this
//! exists: every address answers 404. A request without a key, or with one
//! not in force, gets 401 before its body is read. Uploads are written to
//! `<data>/uploads/` as they arrive, bounded in size, in number at once and
//! in idle time, and become an import task of the server's one queue.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::api::error::{query_error, ApiError, Problem};
use crate::api::state::AppState;
use crate::ingest::ImportSettings;
use crate::keys::Keys;
use crate::tasks::{Task, Work};

/// The folder of uploads in the data folder; emptied when a server starts.
pub const UPLOADS_DIR: &str = "uploads";
/// How long an upload may send nothing before it is given up.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(60);
/// Files one upload may carry.
pub const FILES_PER_UPLOAD: usize = 100;

/// The uploads being received, and how many may be at once.
pub struct UploadSlots {
    max: usize,
    busy: AtomicUsize,
}

/// One upload being received; its slot is given back when dropped.
pub struct UploadSlot<'a>(&'a UploadSlots);

impl UploadSlots {
    /// At most `max` uploads at once.
    pub fn new(max: usize) -> Self {
        UploadSlots {
            max: max.max(1),
            busy: AtomicUsize::new(0),
        }
    }

    /// Uploads being received now.
    pub fn receiving(&self) -> usize {
        self.busy.load(Ordering::SeqCst).min(self.max)
    }

    fn take(&self) -> Result<UploadSlot<'_>, ApiError> {
        if self.busy.fetch_add(1, Ordering::SeqCst) >= self.max {
            self.busy.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Busy(format!(
                "the server receives {} upload(s) already, as many as it takes at once; try again when one has ended",
                self.max
            )));
        }
        Ok(UploadSlot(self))
    }
}

impl Drop for UploadSlot<'_> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The name of the key a request carries, or why it is refused: 404 while
/// no key is in force, 401 for a missing key or one not in force. The key
/// itself goes nowhere: not into an error, not into the log.
async fn operator(req: &HttpRequest, state: &AppState) -> Result<String, ApiError> {
    let keys = Keys::of(state.archive.root());
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| key.trim().to_owned())
        });
    let holder = web::block(
        move || -> Result<Option<Option<String>>, crate::keys::KeyError> {
            if !keys.any_in_force()? {
                return Ok(None);
            }
            Ok(Some(match presented {
                Some(key) => keys.holder(&key)?,
                None => None,
            }))
        },
    )
    .await?
    .map_err(|e| ApiError::Internal(Box::new(e)))?;
    match holder {
        None => Err(off()),
        Some(None) => Err(ApiError::Unauthorized),
        Some(Some(name)) => Ok(name),
    }
}

fn off() -> ApiError {
    ApiError::NotFound("no such endpoint; see /docs".into())
}

/// A file name as uploaded, if it is one: a last path component only, no
/// control characters, at most 255 bytes.
fn upload_name(given: &str) -> Result<String, ApiError> {
    let name = given.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let fine = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && !name.chars().any(char::is_control);
    if fine {
        Ok(name.to_owned())
    } else {
        Err(ApiError::BadParameter {
            param: "name".into(),
            message: format!(
                "`{}` is not a file name: 1 to 255 bytes, no control characters",
                given.escape_debug()
            ),
        })
    }
}

/// The settings in a query string, and the file name when one is given.
fn settings_of(query: &str) -> Result<(ImportSettings, Option<String>), ApiError> {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| ApiError::BadParameter {
            param: "query".into(),
            message: e.to_string(),
        })?;
    let mut name = None;
    pairs.retain(|(k, v)| {
        if k == "name" {
            name = Some(v.clone());
            false
        } else {
            true
        }
    });
    let rest = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let settings: ImportSettings = serde_urlencoded::from_str(&rest)
        .map_err(|e| query_error(actix_web::error::QueryPayloadError::Deserialize(e)))?;
    if let Err(e) = settings.options() {
        return Err(ApiError::BadParameter {
            param: e.setting().into(),
            message: e.to_string(),
        });
    }
    Ok((settings, name))
}

/// Files being written into one upload folder, with the bytes so far.
struct Receiving {
    folder: PathBuf,
    files: Vec<(PathBuf, String)>,
    bytes: u64,
    max_bytes: u64,
}

impl Receiving {
    fn new(data: &Path, max_bytes: u64) -> Result<Self, ApiError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| ApiError::Internal(e.to_string().into()))?;
        let folder = data
            .join(UPLOADS_DIR)
            .join(&blake3::hash(&random).to_hex().as_str()[..32]);
        std::fs::create_dir_all(&folder).map_err(|e| ApiError::Internal(Box::new(e)))?;
        Ok(Receiving {
            folder,
            files: Vec::new(),
            bytes: 0,
            max_bytes,
        })
    }

    fn too_large(&self) -> ApiError {
        ApiError::TooLarge(format!(
            "an upload is at most {} bytes; send the files in several requests, or import them with `adarchive import` on the server",
            self.max_bytes
        ))
    }

    /// Writes one file from `chunks`, refusing it once the upload passes
    /// its size or stops sending.
    async fn file<S, E>(&mut self, name: &str, mut chunks: S) -> Result<(), ApiError>
    where
        S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if self.files.len() >= FILES_PER_UPLOAD {
            return Err(ApiError::TooLarge(format!(
                "an upload carries at most {FILES_PER_UPLOAD} files"
            )));
        }
        let name = upload_name(name)?;
        // Each file in a folder of its own keeps its name as uploaded,
        // which formats such as Meta's spend reports read facts from.
        let dir = self.folder.join(self.files.len().to_string());
        let path = dir.join(&name);
        let internal = |e: std::io::Error| ApiError::Internal(Box::new(e));
        tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
        let mut out = tokio::fs::File::create(&path).await.map_err(internal)?;
        loop {
            let next = tokio::time::timeout(UPLOAD_IDLE, chunks.next())
                .await
                .map_err(|_| {
                    ApiError::Stalled(format!(
                        "the upload sent nothing for {} s",
                        UPLOAD_IDLE.as_secs()
                    ))
                })?;
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| ApiError::BadParameter {
                param: "body".into(),
                message: format!("the upload broke off: {e}"),
            })?;
            self.bytes += chunk.len() as u64;
            if self.bytes > self.max_bytes {
                return Err(self.too_large());
            }
            out.write_all(&chunk).await.map_err(internal)?;
        }
        out.flush().await.map_err(internal)?;
        self.files.push((path, name));
        Ok(())
    }
}

impl Drop for Receiving {
    fn drop(&mut self) {
        // Taken over by a task, the folder is the task's to remove; left
        // here, the upload failed.
        if !self.folder.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.folder);
        }
    }
}

/// Uploads files to import: the body is one file named by `name`, or a
/// `multipart/form-data` form whose file fields carry their names. Answers
/// `202` with the task, whose report (when it has ended) is the one
/// `adarchive import --json` prints.
#[utoipa::path(
    post,
    tag = "admin",
    path = "/v1/admin/imports",
    params(
        ("name" = Option<String>, Query, description = "The file's name, for a body that is one file (its format may be read from it)"),
        ImportSettings
    ),
    request_body(content = Vec<u8>, description = "One file as it was published, or a multipart/form-data form of files", content_type = "application/octet-stream"),
    responses(
        (status = 202, description = "Queued; `Location` names the task", body = Task),
        (status = 400, description = "A bad parameter or file name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or one not in force", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key is in force: the ingest API is off", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The upload stopped sending", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the server takes", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "As many uploads or tasks as the server takes", body = Problem, content_type = "application/problem+json")
    ),
    security(("key" = []))
)]
#[post("/v1/admin/imports")]
pub async fn imports(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let holder = operator(&req, &state).await?;
    let (settings, name) = settings_of(req.query_string())?;
    let options = settings
        .options()
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let max_bytes = state.uploads_max_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let _slot = state.uploads.take()?;
    let mut receiving = Receiving::new(state.archive.root(), max_bytes)?;
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(receiving.too_large());
    }
    let multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if multipart {
        let mut form = actix_multipart::Multipart::new(req.headers(), payload);
        while let Some(field) = form.next().await {
            let field = field.map_err(|e| ApiError::BadParameter {
                param: "body".into(),
                message: format!("not a multipart form: {e}"),
            })?;
            let Some(file_name) = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned)
            else {
                // Form fields that are not files carry nothing to import.
                continue;
            };
            receiving.file(&file_name, field).await?;
        }
    } else {
        let name = name.ok_or_else(|| ApiError::BadParameter {
            param: "name".into(),
            message: "a body that is one file needs its name: `?name=PoliticalAds.csv`".into(),
        })?;
        receiving.file(&name, payload).await?;
    }
    if receiving.files.is_empty() {
        return Err(ApiError::BadParameter {
            param: "body".into(),
            message: "the form carries no file".into(),
        });
    }
    let folder = std::mem::take(&mut receiving.folder);
    let (paths, shown) = receiving.files.drain(..).unzip();
    let work = Work::Import {
        paths,
        shown,
        options: Box::new(options),
        fetched: None,
        remove_after: Some(folder.clone()),
    };
    let origin = format!("key {holder}");
    let id = match state.tasks.submit(work, &origin) {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&folder);
            return Err(ApiError::Busy(e.to_string()));
        }
    };
    let queued = state
        .tasks
        .get(id)
        .ok_or_else(|| ApiError::Internal("a task vanished as it was queued".into()))?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/admin/tasks/{id}"),
        ))
        .json(queued))
}

/// The tasks of the server, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskList {
    /// Every task kept since the server started (the last 1,000).
    pub tasks: Vec<Task>,
}

/// The tasks: imports and reindexing, from the ingest API and the command
/// line, newest first.
#[utoipa::path(
    get,
    tag = "admin",
    path = "/v1/admin/tasks",
    responses(
        (status = 200, description = "The tasks", body = TaskList),
        (status = 401, description = "No key, or one not in force", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key is in force: the ingest API is off", body = Problem, content_type = "application/problem+json")
    ),
    security(("key" = []))
)]
#[get("/v1/admin/tasks")]
pub async fn tasks(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    operator(&req, &state).await?;
    Ok(HttpResponse::Ok().json(TaskList {
        tasks: state.tasks.list(),
    }))
}

/// One task; once it has ended, an import's report or a reindex's count.
#[utoipa::path(
    get,
    tag = "admin",
    path = "/v1/admin/tasks/{id}",
    params(("id" = u64, Path, description = "The task's number")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 401, description = "No key, or one not in force", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task, or the ingest API is off", body = Problem, content_type = "application/problem+json")
    ),
    security(("key" = []))
)]
#[get("/v1/admin/tasks/{id}")]
pub async fn task(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    operator(&req, &state).await?;
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.tasks.get(id))
        .ok_or_else(|| ApiError::NotFound(format!("no task `{}`", id.escape_debug())))?;
    Ok(HttpResponse::Ok().json(found))
}

/// The scheduled collections.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CollectionList {
    /// Each scheduled collection's last run, in the order given to
    /// `serve --collect`.
    pub collections: Vec<crate::collect::schedule::CollectionRun>,
}

/// The collections the server runs on a schedule, with their last outcome.
#[utoipa::path(
    get,
    tag = "admin",
    path = "/v1/admin/collections",
    responses(
        (status = 200, description = "The collections", body = CollectionList),
        (status = 401, description = "No key, or one not in force", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No key is in force: the ingest API is off", body = Problem, content_type = "application/problem+json")
    ),
    security(("key" = []))
)]
#[get("/v1/admin/collections")]
pub async fn collections(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    operator(&req, &state).await?;
    Ok(HttpResponse::Ok().json(CollectionList {
        collections: state.collections.list(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_last_components_without_control_characters() {
        assert_eq!(upload_name("PoliticalAds.csv").unwrap(), "PoliticalAds.csv");
        assert_eq!(upload_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(upload_name("C:\\exports\\a.csv").unwrap(), "a.csv");
        for bad in ["", "..", "dir/", "a\nb.csv", &"x".repeat(256)] {
            assert!(upload_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn settings_are_read_once_and_named_when_wrong() {
        let (settings, name) =
            settings_of("name=report.csv&report_country=Netherlands&no_index=true").unwrap();
        assert_eq!(name.as_deref(), Some("report.csv"));
        assert!(settings.no_index);
        let wrong = |q: &str| match settings_of(q) {
            Err(ApiError::BadParameter { param, .. }) => param,
            other => panic!("{other:?}"),
        };
        assert_eq!(wrong("format=fax"), "format");
        assert_eq!(wrong("report_date=yesterday"), "report_date");
        assert_eq!(wrong("key=adarchive_key_0"), "key");
    }
}
