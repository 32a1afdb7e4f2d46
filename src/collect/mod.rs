//! Collectors: fetching the platforms' published libraries and handing
//! each answer, verbatim, to an import.
//!
//! One collector per published endpoint, same shape: build the requests,
//! fetch each one patiently ([`fetch`]), write the answer to a file, and
//! give it to the caller's import with the request it answered (address
//! and parameters, never a credential) and the time. What a collector
//! must remember between runs (an `ETag`, the next page of an unfinished
//! listing) is kept in `<data>/collections/state.json`, written after each
//! answer is imported: a run stopped at any moment resumes where it was.

pub mod fetch;
mod meta;
mod paged;
pub mod schedule;
mod tiktok;
mod whole;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};

use crate::archive::{Collected, FetchedFrom};
pub use fetch::{Fetcher, Patience};
pub use meta::{MetaQuery, META_GRAPH, RATE_LIMIT_CODES};
pub use paged::{LINKEDIN_REST, LINKEDIN_VERSION, MICROSOFT_AD_LIBRARY};
pub use tiktok::TIKTOK_API;
pub use whole::query_scope;

/// Google's political-ads transparency bundle, as its Transparency Report
/// links it.
pub const GOOGLE_BUNDLE: &str =
    "https://storage.googleapis.com/political-csv/google-political-ads-transparency-bundle.zip";
/// Where Snap's yearly `PoliticalAds.zip` files are, `<base>/<year>/PoliticalAds.zip`.
pub const SNAP_DUMPS: &str =
    "https://storage.googleapis.com/ad-manager-political-ads-dump/political";
/// The folder of collections in the data folder.
pub const COLLECTIONS_DIR: &str = "collections";

/// The collectors, by the format of what they fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collector {
    /// Google's bundle zip (creative stats and spend reports).
    GoogleCreativeStats,
    /// Snap's yearly zips.
    SnapPoliticalAds,
    /// Meta's Graph API `ads_archive`.
    MetaAdsArchive,
    /// Microsoft's Ad Library API (`Ads`, public).
    MicrosoftAdLibrary,
    /// LinkedIn's Ad Library API (`adLibrary`).
    LinkedinAdLibrary,
    /// TikTok's Commercial Content API (ad query and detail).
    TiktokCommercialContent,
}

impl Collector {
    /// Every collector, by name.
    pub const ALL: [(&'static str, Collector); 6] = [
        ("google-creative-stats", Collector::GoogleCreativeStats),
        ("snap-political-ads", Collector::SnapPoliticalAds),
        ("meta-ads-archive", Collector::MetaAdsArchive),
        ("microsoft-ad-library", Collector::MicrosoftAdLibrary),
        ("linkedin-ad-library", Collector::LinkedinAdLibrary),
        (
            "tiktok-commercial-content",
            Collector::TiktokCommercialContent,
        ),
    ];

    /// The environment variables holding the credentials it needs.
    pub fn secret_variables(self) -> &'static [&'static str] {
        match self {
            Collector::MetaAdsArchive => &["META_ACCESS_TOKEN"],
            Collector::LinkedinAdLibrary => &["LINKEDIN_ACCESS_TOKEN"],
            Collector::TiktokCommercialContent => &["TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"],
            _ => &[],
        }
    }

    /// Its name: the format name of what it fetches.
    pub fn name(self) -> &'static str {
        Collector::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("", |(n, _)| n)
    }

    /// The collector named `name`.
    pub fn by_name(name: &str) -> Option<Collector> {
        Collector::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }
}

/// What to collect.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    /// Where the endpoint is, instead of the published address (a mirror,
    /// a test server).
    pub api_base: Option<String>,
    /// Snap: the years.
    pub years: Vec<u16>,
    /// Meta: the query.
    pub meta: MetaQuery,
    /// Meta: ask for every ad of the query, not only those delivered since
    /// the last complete run; such a run is a complete listing of the
    /// query, whose changes are told (see [`MetaQuery::listing_scope`]).
    pub whole: bool,
}

impl Collection {
    /// The endpoint's base: `api_base` when given, else `published`,
    /// without a trailing `/`.
    fn base(&self, published: &str) -> String {
        self.api_base
            .as_deref()
            .unwrap_or(published)
            .trim_end_matches('/')
            .to_owned()
    }
}

/// One answer on disk, ready to import.
pub struct Fetched {
    /// The file holding the answer's bytes as they arrived.
    pub path: PathBuf,
    /// The request it answered and when.
    pub from: FetchedFrom,
}

impl Fetched {
    /// The answer's file name, as it is imported.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Answers fetched and imported.
    pub pages: u64,
    /// Answers the server said had not changed since the last run.
    pub unchanged: u64,
    /// Attempts repeated after a failure.
    pub retries: u64,
    /// Waits for a rate limit.
    pub rate_limited: u64,
    /// Whether an unfinished listing was resumed.
    pub resumed: bool,
    /// The first delivery day asked for when a run asked only for what
    /// was delivered since the last complete one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// What failed, and why.
    pub failures: Vec<String>,
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A fetch failed after every attempt.
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    /// The endpoint answered with an error that waiting does not cure.
    #[error("{0}")]
    Refused(String),
    /// Something the collector needs is missing.
    #[error("{0}")]
    Missing(String),
    /// The state of earlier runs could not be read or written.
    #[error("{path}: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The import of an answer failed.
    #[error("importing {name}: {reason}")]
    Import {
        /// The answer's file name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// What runs remember: validators of fetched addresses and the next page
/// of unfinished listings.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// `ETag` by address.
    #[serde(default)]
    etags: BTreeMap<String, String>,
    /// The next page (credentials removed) by listing.
    #[serde(default)]
    unfinished: BTreeMap<String, String>,
    /// TikTok ads whose detail was fetched.
    #[serde(default)]
    detailed: std::collections::BTreeSet<u64>,
    /// The day each Meta query last ran to its end, by the query.
    #[serde(default)]
    completed: BTreeMap<String, String>,
    /// The pages archived so far by an unfinished run that is a complete
    /// listing of its query, by listing.
    #[serde(default)]
    collected: BTreeMap<String, Vec<String>>,
}

/// The state file and where fetched answers are written.
pub(crate) struct Workspace {
    dir: PathBuf,
    state: State,
}

impl Workspace {
    fn open(data: &Path) -> Result<Self, CollectError> {
        let dir = data.join(COLLECTIONS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| CollectError::State {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        let path = dir.join("state.json");
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CollectError::State {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                return Err(CollectError::State {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        Ok(Workspace { dir, state })
    }

    /// Writes the state whole, replacing the file.
    fn save(&self) -> Result<(), CollectError> {
        let path = self.dir.join("state.json");
        let fail = |e: String| CollectError::State {
            path: path.clone(),
            reason: e,
        };
        let json = serde_json::to_vec_pretty(&self.state).map_err(|e| fail(e.to_string()))?;
        let tmp = self.dir.join("state.json.tmp");
        std::fs::write(&tmp, json).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, &path).map_err(|e| fail(e.to_string()))
    }

    /// The name of the listing that starts at `first`, and where an
    /// unfinished run of it stopped, if one did.
    fn listing(&self, first: &str, summary: &mut Summary) -> (String, Option<String>) {
        let listing = blake3::hash(first.as_bytes()).to_hex()[..16].to_owned();
        let resume = self.state.unfinished.get(&listing).cloned();
        summary.resumed |= resume.is_some();
        (listing, resume)
    }

    /// A fresh file for an answer called `name`.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The credentials of a run, by the name of their environment variable
/// (see [`Collector::secret_variables`]).
pub type Secrets<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Something that imports a fetched answer and says the blake3 of the
/// source it was archived as (`None` when the file was refused); an error
/// stops the run.
pub type Import<'a> = dyn FnMut(&Fetched) -> Result<Option<String>, String> + 'a;

fn now() -> Timestamp {
    Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc())
}

/// Runs `collector` for `collection` into the data folder `data`: every
/// answer goes to `import` as soon as it is whole. `token` is the
/// credentials the collector needs, from `secrets`; they are sent in
/// headers or a body and kept nowhere. What
/// failed is in the summary's `failures`, beside what was done before.
pub fn collect(
    collector: Collector,
    collection: &Collection,
    data: &Path,
    fetcher: &Fetcher,
    secrets: &Secrets<'_>,
    import: &mut Import<'_>,
) -> Summary {
    let mut summary = Summary::default();
    if let Err(e) = run(
        collector,
        collection,
        data,
        fetcher,
        secrets,
        import,
        &mut summary,
    ) {
        summary.failures.push(e.to_string());
    }
    summary
}

fn run(
    collector: Collector,
    collection: &Collection,
    data: &Path,
    fetcher: &Fetcher,
    secrets: &Secrets<'_>,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let mut workspace = Workspace::open(data)?;
    let secret = |name: &str| {
        secrets(name).ok_or_else(|| {
            CollectError::Missing(format!(
                "{} needs {name} in the environment",
                collector.name()
            ))
        })
    };
    match collector {
        Collector::GoogleCreativeStats => {
            let address = collection.base(GOOGLE_BUNDLE);
            whole_file(
                fetcher,
                &mut workspace,
                &address,
                "google-political-ads-transparency-bundle.zip",
                import,
                summary,
            )?;
        }
        Collector::SnapPoliticalAds => {
            if collection.years.is_empty() {
                return Err(CollectError::Missing(
                    "snap-political-ads needs the years to fetch: --year 2024 (repeatable)".into(),
                ));
            }
            let base = collection.base(SNAP_DUMPS);
            for year in &collection.years {
                let address = format!("{base}/{year}/PoliticalAds.zip");
                let name = format!("PoliticalAds-{year}.zip");
                if let Err(e) =
                    whole_file(fetcher, &mut workspace, &address, &name, import, summary)
                {
                    summary.failures.push(e.to_string());
                }
            }
        }
        Collector::MetaAdsArchive => {
            let token = secret("META_ACCESS_TOKEN")?;
            meta::collect(collection, fetcher, &mut workspace, &token, import, summary)?;
        }
        Collector::MicrosoftAdLibrary => {
            paged::microsoft(collection, fetcher, &mut workspace, import, summary)?;
        }
        Collector::LinkedinAdLibrary => {
            let token = secret("LINKEDIN_ACCESS_TOKEN")?;
            paged::linkedin(collection, fetcher, &mut workspace, &token, import, summary)?;
        }
        Collector::TiktokCommercialContent => {
            let (key, client_secret) = (
                secret("TIKTOK_CLIENT_KEY")?,
                secret("TIKTOK_CLIENT_SECRET")?,
            );
            tiktok::collect(
                collection,
                fetcher,
                &mut workspace,
                (&key, &client_secret),
                import,
                summary,
            )?;
        }
    }
    Ok(())
}

/// Gives the answer in `path` to `import`, with the request it answered
/// (and the collection it completes, when it is the last page of one),
/// and removes the file. Returns the blake3 it was archived as.
fn hand_in(
    path: PathBuf,
    address: &str,
    name: &str,
    completes: Option<Collected>,
    import: &mut Import<'_>,
) -> Result<Option<String>, CollectError> {
    let fetched = Fetched {
        path,
        from: FetchedFrom {
            request: adarchive_importers::redact::redact_text(address),
            at: now(),
            completes,
        },
    };
    let imported = import(&fetched);
    let _ = std::fs::remove_file(&fetched.path);
    imported.map_err(|reason| CollectError::Import {
        name: name.to_owned(),
        reason,
    })
}

/// Fetches one whole file (a zip) unless the server says it has not
/// changed since the last run, and imports it.
fn whole_file(
    fetcher: &Fetcher,
    workspace: &mut Workspace,
    address: &str,
    name: &str,
    import: &mut Import<'_>,
    summary: &mut Summary,
) -> Result<(), CollectError> {
    let known = workspace.state.etags.get(address).cloned();
    let headers: Vec<(&str, &str)> = known
        .as_deref()
        .map(|etag| vec![("if-none-match", etag)])
        .unwrap_or_default();
    let path = workspace.file(name);
    let answer = fetcher.get(address, &headers, &path)?;
    summary.retries += u64::from(answer.retries);
    if answer.status == 304 {
        summary.unchanged += 1;
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    if answer.status != 200 {
        let _ = std::fs::remove_file(&path);
        return Err(CollectError::Refused(format!(
            "{}: HTTP {}",
            adarchive_importers::redact::redact_text(address),
            answer.status
        )));
    }
    let etag = answer.header("etag").map(str::to_owned);
    hand_in(path, address, name, None, import)?;
    summary.pages += 1;
    if let Some(etag) = etag {
        workspace.state.etags.insert(address.to_owned(), etag);
        workspace.save()?;
    }
    Ok(())
}
