//! Collecting on a schedule, inside the server: each collection runs at
//! start and then every period, its answers imported as tasks of the
//! server's one queue, its last outcome kept for `/v1/admin/collections`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use adarchive_schema::Timestamp;
use serde::Serialize;

use super::{collect, now, Collection, Collector, Fetcher, Patience};
use crate::archive::ImportCounts;
use crate::tasks::{TaskStatus, Tasks, Work};

/// A collection as an operator wrote it: `FORMAT[:name=value,…]`.
#[derive(Clone, Debug)]
pub struct Scheduled {
    /// As written, to name it.
    pub spec: String,
    /// The collector.
    pub collector: Collector,
    /// What it collects.
    pub collection: Collection,
}

impl std::str::FromStr for Scheduled {
    type Err = String;

    /// Reads `meta-ads-archive:country=NL,country=BE,search_terms=*`,
    /// `snap-political-ads:year=2024`, `google-creative-stats`; a name
    /// may repeat; `api_base` points elsewhere.
    ///
    /// ```
    /// use adarchive::collect::schedule::Scheduled;
    /// let s: Scheduled = "meta-ads-archive:country=NL,country=BE,search_terms=*".parse().unwrap();
    /// assert_eq!(s.collection.meta.ad_reached_countries, ["NL", "BE"]);
    /// assert!("meta-ads-archive:colour=red".parse::<Scheduled>().is_err());
    /// ```
    fn from_str(spec: &str) -> Result<Self, String> {
        let (name, settings) = spec.split_once(':').unwrap_or((spec, ""));
        let collector = Collector::by_name(name.trim()).ok_or_else(|| {
            format!(
                "`{name}` is not a collector: {}",
                Collector::ALL.map(|(n, _)| n).join(", ")
            )
        })?;
        let mut collection = Collection::default();
        for pair in settings.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` in `{spec}` is not name=value"))?;
            let value = value.trim().to_owned();
            let meta = &mut collection.meta;
            match key.trim() {
                "api_base" => collection.api_base = Some(value),
                "year" => collection.years.push(
                    value
                        .parse()
                        .map_err(|_| format!("`{value}` is not a year"))?,
                ),
                "country" | "ad_reached_countries" => meta.ad_reached_countries.push(value),
                "search_terms" => meta.search_terms = Some(value),
                "search_page_ids" | "search_page_id" => meta.search_page_ids.push(value),
                "ad_type" => meta.ad_type = Some(value),
                "ad_active_status" => meta.ad_active_status = Some(value),
                "whole" => {
                    collection.whole = value
                        .parse()
                        .map_err(|_| format!("`{value}` is not true or false"))?
                }
                "ad_delivery_date_min" => meta.ad_delivery_date_min = Some(value),
                "ad_delivery_date_max" => meta.ad_delivery_date_max = Some(value),
                "fields" => meta.fields = Some(value),
                "limit" => {
                    meta.limit = Some(
                        value
                            .parse()
                            .map_err(|_| format!("`{value}` is not a number"))?,
                    )
                }
                other => return Err(format!("`{other}` is not a setting of a collection")),
            }
        }
        Ok(Scheduled {
            spec: spec.to_owned(),
            collector,
            collection,
        })
    }
}

/// Reads a period: `24h`, `30m`, `90s`, `1d`.
///
/// ```
/// use adarchive::collect::schedule::period;
/// assert_eq!(period("24h"), Ok(std::time::Duration::from_secs(86_400)));
/// assert!(period("soon").is_err());
/// ```
pub fn period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a period such as 24h, 30m or 1d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{text}` is not a period such as 24h, 30m or 1d")),
    };
    if seconds == 0 {
        return Err("a period is longer than nothing".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// The last run of one scheduled collection.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionRun {
    /// The collection as written.
    pub spec: String,
    /// Whether it runs now.
    pub running: bool,
    /// When the last run started (UTC).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    /// When it ended.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// Answers fetched and imported.
    pub pages: u64,
    /// Answers unchanged since the run before.
    pub unchanged: u64,
    /// Attempts repeated.
    pub retries: u64,
    /// Waits for a rate limit.
    pub rate_limited: u64,
    /// What the imports gave.
    #[schema(value_type = Object)]
    pub imported: ImportCounts,
    /// What failed, and why.
    pub failures: Vec<String>,
    /// Seconds between runs.
    pub every_seconds: u64,
}

/// The scheduled collections' last runs.
#[derive(Default)]
pub struct Collections(Mutex<Vec<CollectionRun>>);

impl Collections {
    /// Every scheduled collection's last run, in the order they were given.
    pub fn list(&self) -> Vec<CollectionRun> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, spec: &str, change: impl FnOnce(&mut CollectionRun)) {
        let mut runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(run) = runs.iter_mut().find(|r| r.spec == spec) {
            change(run);
        }
    }
}

/// Starts the thread that runs `scheduled` now and every `every`, into the
/// archive of `data` through `tasks`. Credentials are read from the
/// environment (see [`Collector::secret_variables`]) as each run starts.
pub fn start(
    scheduled: Vec<Scheduled>,
    every: Duration,
    patience: Patience,
    data: PathBuf,
    tasks: Tasks,
) -> std::io::Result<Arc<Collections>> {
    let collections = Arc::new(Collections(Mutex::new(
        scheduled
            .iter()
            .map(|s| CollectionRun {
                spec: s.spec.clone(),
                running: false,
                started_at: None,
                finished_at: None,
                pages: 0,
                unchanged: 0,
                retries: 0,
                rate_limited: 0,
                imported: ImportCounts::default(),
                failures: Vec::new(),
                every_seconds: every.as_secs(),
            })
            .collect(),
    )));
    if scheduled.is_empty() {
        return Ok(collections);
    }
    let shared = Arc::clone(&collections);
    std::thread::Builder::new()
        .name("collect".into())
        .spawn(move || loop {
            for s in &scheduled {
                run_once(s, patience, &data, &tasks, &shared);
            }
            std::thread::sleep(every);
        })?;
    Ok(collections)
}

fn run_once(
    scheduled: &Scheduled,
    patience: Patience,
    data: &std::path::Path,
    tasks: &Tasks,
    collections: &Collections,
) {
    let secrets = |name: &str| std::env::var(name).ok().filter(|t| !t.is_empty());
    collections.update(&scheduled.spec, |r| {
        r.running = true;
        r.started_at = Some(now());
    });
    let mut imported = ImportCounts::default();
    let mut failures = Vec::new();
    let origin = format!("collection {}", scheduled.spec);
    let summary = match Fetcher::new(patience) {
        Ok(fetcher) => {
            let mut import = |fetched: &super::Fetched| -> Result<Option<String>, String> {
                let name = fetched.name();
                let work = Work::Import {
                    paths: vec![fetched.path.clone()],
                    shown: vec![name.clone()],
                    options: Box::default(),
                    fetched: Some(fetched.from.clone()),
                    remove_after: None,
                };
                let id = tasks.submit(work, &origin).map_err(|e| e.to_string())?;
                let task = loop {
                    match tasks.wait(id, Duration::from_secs(60)) {
                        Some(t)
                            if matches!(t.status, TaskStatus::Succeeded | TaskStatus::Failed) =>
                        {
                            break t
                        }
                        Some(_) => continue,
                        None => return Err("the import task was forgotten".into()),
                    }
                };
                let report = task
                    .report
                    .ok_or_else(|| task.error.unwrap_or_else(|| "the import failed".into()))?;
                let mut archived = None;
                for file in &report.files {
                    match &file.error {
                        Some(error) => failures.push(format!("{name}: {error}")),
                        None => archived.clone_from(&file.blake3),
                    }
                }
                imported += report.totals;
                Ok(archived)
            };
            collect(
                scheduled.collector,
                &scheduled.collection,
                data,
                &fetcher,
                &secrets,
                &mut import,
            )
        }
        Err(e) => super::Summary {
            failures: vec![e.to_string()],
            ..super::Summary::default()
        },
    };
    if !summary.failures.is_empty() || !failures.is_empty() {
        tracing::warn!(spec = %scheduled.spec, failures = ?summary.failures, "a scheduled collection failed");
    }
    collections.update(&scheduled.spec, |r| {
        r.running = false;
        r.finished_at = Some(now());
        r.pages = summary.pages;
        r.unchanged = summary.unchanged;
        r.retries = summary.retries;
        r.rate_limited = summary.rate_limited;
        r.imported = imported;
        r.failures = summary.failures.into_iter().chain(failures).collect();
    });
}
