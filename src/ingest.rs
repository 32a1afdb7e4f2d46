//! `adarchive import`: files, folders and zip bundles into the archive.
//!
//! For each file: copy it into staging while hashing it, detect its format,
//! redact credentials where the format carries them, put the bytes in
//! `sources/<blake3>`, then derive its records in one transaction. A file
//! already in the manifest is reported unchanged without being read again.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use adarchive_importers::redact::{redact_text, CredentialScanner, Redactor};
use adarchive_importers::{self as importers, Importer, ListingScope, StatedFacts};
use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};

use crate::archive::catch_up_index;
pub use crate::archive::public_name;
use crate::archive::{
    clear_staging, parse_source, tempfile_in, Archive, Derived, FetchedFrom, ImportCounts,
    MemberEntry, Parsed, ProblemNote, Progress, SourceEntry, SourceJob, UnnormalizedValue,
    ZIP_FORMAT,
};
use crate::error::{IoContext, Result};
use crate::index::{IndexState, Updates};

/// How many bytes format detection looks at.
const HEAD_LEN: usize = 64 * 1024;

/// Options of an import.
#[derive(Clone, Default)]
pub struct ImportOptions<'a> {
    /// Read every file given as this format instead of detecting it. Zip
    /// bundles are still opened, and their members detected by content.
    pub format: Option<&'static dyn Importer>,
    /// Leave the search index as it is; the next import that indexes (or
    /// `reindex`) adds what this one imported. For loading many files at
    /// once, where indexing once at the end is cheaper.
    pub skip_index: bool,
    /// Facts a format keeps only in file names (Meta's spend reports),
    /// stated for files whose names lost them; recorded in the manifest.
    pub facts: StatedFacts,
    /// The request a collector made for these files, kept in the manifest
    /// of each source they give.
    pub fetched: Option<&'a FetchedFrom>,
    /// Whether the files are complete listings (see
    /// [`Importer::listing_scope`]).
    pub listing: ListingChoice,
}

/// Whether the files of an import are complete listings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListingChoice {
    /// As each format says, from its content and name.
    #[default]
    AsTheFormatSays,
    /// None is: pages, excerpts, a query's answer.
    Partial,
    /// Each is a complete listing of this scope (`snap:2024`), whose
    /// platform must be the file's.
    Scope(String),
}

impl ListingChoice {
    /// The choice a setting names: `partial`, or a scope
    /// `<platform>:<name>`.
    ///
    /// ```
    /// use adarchive::ingest::ListingChoice;
    /// assert_eq!(ListingChoice::parse("partial"), Some(ListingChoice::Partial));
    /// assert_eq!(ListingChoice::parse("snap:2024"), Some(ListingChoice::Scope("snap:2024".into())));
    /// assert_eq!(ListingChoice::parse("myspace:2024"), None);
    /// assert_eq!(ListingChoice::parse("snap:"), None);
    /// ```
    pub fn parse(text: &str) -> Option<ListingChoice> {
        if text == "partial" {
            return Some(ListingChoice::Partial);
        }
        let (platform, name) = text.split_once(':')?;
        platform.parse::<adarchive_schema::Platform>().ok()?;
        let fit = !name.is_empty()
            && name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        fit.then(|| ListingChoice::Scope(text.to_owned()))
    }

    /// The scope of a file of `importer` given as `name` that starts with
    /// `head`, and why a scope asked for does not fit it.
    fn scope_of(
        &self,
        importer: &dyn Importer,
        name: &str,
        head: &[u8],
    ) -> (Option<ListingScope>, Option<String>) {
        match self {
            ListingChoice::AsTheFormatSays => (importer.listing_scope(name, head), None),
            ListingChoice::Partial => (None, None),
            ListingChoice::Scope(scope) => {
                let platform = importer.platform().map(|p| p.as_str());
                if scope.split(':').next() == platform {
                    (Some(ListingScope::Named(scope.clone())), None)
                } else {
                    (
                        None,
                        Some(format!(
                            "read as a partial file: it is not a {} file, so it cannot be a listing of {scope}",
                            scope.split(':').next().unwrap_or_default()
                        )),
                    )
                }
            }
        }
    }
}

/// What an import is asked, by name, as the command line, the control
/// socket and the ingest API carry it; [`ImportSettings::options`] checks
/// it once for all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct ImportSettings {
    /// A format name to read every file as, instead of detecting it.
    pub format: Option<String>,
    /// Leave the search index as it is (see [`ImportOptions::skip_index`]).
    pub no_index: bool,
    /// The country of a Meta Ad Library Report whose file name lost it
    /// (ISO code or English name).
    pub report_country: Option<String>,
    /// The date of such a report (`YYYY-MM-DD`).
    pub report_date: Option<String>,
    /// The period of such a report, as the format names it.
    pub report_period: Option<String>,
    /// `partial` when the files are not complete listings whatever their
    /// format and names say, or the scope they are complete listings of
    /// (`snap:2024`).
    pub listing: Option<String>,
}

/// Why import settings cannot be used, naming the setting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingError {
    /// No importer has that name.
    #[error("format: unknown format `{0}`; formats: {formats}", formats = importers::format_names().join(", "))]
    UnknownFormat(String),
    /// Not a country.
    #[error("report_country: `{0}` is no country code or English country name")]
    Country(String),
    /// Not a date.
    #[error("report_date: `{0}` is not a date written YYYY-MM-DD")]
    Date(String),
    /// Not a period of the format.
    #[error("report_period: `{0}` is not one of {periods}", periods = importers::meta_ad_library_report::PERIODS.join(", "))]
    Period(String),
    /// Neither `partial` nor a scope.
    #[error("listing: `{0}` is neither `partial` nor a scope `<platform>:<name>` (snap:2024)")]
    Listing(String),
}

impl SettingError {
    /// The setting at fault, by its name.
    pub fn setting(&self) -> &'static str {
        match self {
            SettingError::UnknownFormat(_) => "format",
            SettingError::Country(_) => "report_country",
            SettingError::Date(_) => "report_date",
            SettingError::Period(_) => "report_period",
            SettingError::Listing(_) => "listing",
        }
    }
}

impl ImportSettings {
    /// The options these settings ask for, or the first that is wrong.
    ///
    /// ```
    /// use adarchive::ingest::{ImportSettings, SettingError};
    /// let settings = ImportSettings { report_country: Some("Netherlands".into()), ..Default::default() };
    /// assert_eq!(settings.options().unwrap().facts.country, Some("NL"));
    /// let wrong = ImportSettings { format: Some("fax".into()), ..Default::default() };
    /// assert!(matches!(wrong.options(), Err(SettingError::UnknownFormat(_))));
    /// ```
    pub fn options(&self) -> std::result::Result<ImportOptions<'static>, SettingError> {
        let format = match &self.format {
            Some(name) => Some(
                importers::by_name(name)
                    .ok_or_else(|| SettingError::UnknownFormat(name.clone()))?,
            ),
            None => None,
        };
        let country = match &self.report_country {
            Some(c) => Some(
                importers::normalize::country_code(c)
                    .ok_or_else(|| SettingError::Country(c.clone()))?,
            ),
            None => None,
        };
        let date = match &self.report_date {
            Some(d) => Some(
                time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| SettingError::Date(d.clone()))?,
            ),
            None => None,
        };
        let period = match &self.report_period {
            Some(p) => Some(
                importers::meta_ad_library_report::PERIODS
                    .iter()
                    .copied()
                    .find(|known| known == p)
                    .ok_or_else(|| SettingError::Period(p.clone()))?,
            ),
            None => None,
        };
        let listing = match &self.listing {
            Some(text) => {
                ListingChoice::parse(text).ok_or_else(|| SettingError::Listing(text.clone()))?
            }
            None => ListingChoice::AsTheFormatSays,
        };
        Ok(ImportOptions {
            format,
            listing,
            skip_index: self.no_index,
            facts: StatedFacts {
                country,
                date,
                period,
            },
            fetched: None,
        })
    }
}

/// A bundle member that was not imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path inside the bundle.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// What importing one file (or one bundle member) did.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileReport {
    /// The path as given (bundle members as `bundle.zip!/member.csv`).
    pub path: String,
    /// blake3 of the stored bytes.
    pub blake3: Option<String>,
    /// blake3 of the file as published, when the stored copy is redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_blake3: Option<String>,
    /// Format name.
    pub format: Option<String>,
    /// What it gave: records new, updated and unchanged, rows quarantined,
    /// report rows, days of rates, values not normalized.
    #[serde(flatten)]
    pub counts: ImportCounts,
    /// The first of them, with line, field and value (the rest are in the
    /// records' `unmapped`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unnormalized_values: Vec<UnnormalizedValue>,
    /// Credentials redacted from the stored copy.
    pub redacted_tokens: u64,
    /// Bundle members not imported.
    pub skipped: Vec<Skipped>,
    /// The first quarantined rows, with line and field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ProblemNote>,
    /// Things the user should know about this file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the file could not be imported at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a complete listing: its scope and what changed since the last
    /// listing of that scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<crate::archive::Listing>,
    /// Whether this is a bundle, whose members have reports of their own.
    #[serde(skip)]
    pub bundle: bool,
}

/// The report of one `import` run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportReport {
    /// One entry per file and bundle member.
    pub files: Vec<FileReport>,
    /// Sums over `files` (bundles counted through their members).
    pub totals: ImportCounts,
}

impl ImportReport {
    /// True when every file was recognized and read (quarantined rows allowed).
    pub fn all_recognized(&self) -> bool {
        self.files.iter().all(|f| f.error.is_none())
    }

    fn push(&mut self, file: FileReport) {
        if !file.bundle && file.error.is_none() {
            self.totals += file.counts;
        }
        self.files.push(file);
    }
}

/// Imports files, folders (recursively, in name order, hidden files left
/// out) and zip bundles.
///
/// ```
/// use adarchive::{archive::{Archive, NoProgress}, ingest::{import_paths, ImportOptions}};
/// let dir = tempfile::tempdir().unwrap();
/// let file = dir.path().join("PoliticalAds.csv");
/// std::fs::write(&file, "ADID,Currency Code,Spend\r\nab12,EUR,40\r\n").unwrap();
/// let archive = Archive::open(&dir.path().join("data")).unwrap();
/// let report = import_paths(&archive, &[file], ImportOptions::default(), &NoProgress).unwrap();
/// assert_eq!((report.totals.records, report.totals.new), (1, 1));
/// ```
pub fn import_paths(
    archive: &Archive,
    paths: &[PathBuf],
    options: ImportOptions<'_>,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    clear_staging(&archive.tmp_dir())?;
    let updates = if options.skip_index {
        None
    } else {
        catch_up_index(archive)?;
        archive.index().map(|i| i.begin()).transpose()?
    };
    let run = Run {
        archive,
        progress,
        index: updates.as_ref(),
        facts: options.facts,
        fetched: options.fetched,
        listing: options.listing,
    };
    let mut report = ImportReport::default();
    let detect = match options.format {
        Some(importer) => Detect::Forced(importer),
        None => Detect::Any,
    };
    // Files are staged (copied, hashed, detected) one ahead on their own
    // thread, and parsed on another: while this thread writes and commits
    // one file, the next is already being read, so that the cores never
    // wait for a file to start.
    std::thread::scope(|scope| -> Result<()> {
        let (staged_tx, staged_rx) = std::sync::mpsc::sync_channel::<Prefetched>(1);
        let stager = std::thread::Builder::new()
            .name("stage".into())
            .spawn_scoped(scope, move || {
                for path in paths {
                    for file in walk(path) {
                        let item = match file {
                            Ok(file) => {
                                let staged = stage_file(archive, &file, detect);
                                Prefetched::Staged(file.display().to_string(), staged)
                            }
                            Err(error) => Prefetched::Unreadable(path.display().to_string(), error),
                        };
                        if staged_tx.send(item).is_err() {
                            return;
                        }
                    }
                }
            })
            .at(archive.tmp_dir())?;
        let (ahead_tx, ahead_rx) = std::sync::mpsc::sync_channel::<(Prefetched, Option<Ahead>)>(1);
        let (index, facts) = (run.index, run.facts);
        let parser = std::thread::Builder::new()
            .name("parse".into())
            .spawn_scoped(scope, move || {
                for item in staged_rx {
                    let Some((importer, name, blake3, opened)) = parsable(&item, &facts) else {
                        if ahead_tx.send((item, None)).is_err() {
                            return;
                        }
                        continue;
                    };
                    let (batches_tx, batches) = std::sync::mpsc::sync_channel(PARSED_AHEAD);
                    let (outcome_tx, outcome) = std::sync::mpsc::channel();
                    if ahead_tx
                        .send((item, Some(Ahead { batches, outcome })))
                        .is_err()
                    {
                        return;
                    }
                    let compressor = archive.record_compressor(importer.name());
                    let parsed = match (opened, compressor) {
                        (Ok(file), Ok(compressor)) => {
                            let mut reader = BufReader::with_capacity(256 * 1024, file);
                            parse_source(
                                importer,
                                &name,
                                &blake3,
                                &mut reader,
                                index,
                                compressor,
                                &batches_tx,
                            )
                        }
                        (Err(e), _) => Err(format!("cannot read the staged copy: {e}")),
                        (_, Err(e)) => Err(format!("cannot read the archive's dictionaries: {e}")),
                    };
                    drop(batches_tx);
                    let _ = outcome_tx.send(parsed);
                }
            })
            .at(archive.tmp_dir())?;
        for (item, ahead) in ahead_rx {
            match item {
                Prefetched::Staged(name, staged) => match staged? {
                    Ok(staged) if staged.zip => import_bundle(&run, &name, staged, &mut report)?,
                    Ok(staged) => report.push(import_staged(&run, &name, staged, ahead)?),
                    Err(refused) => report.push(failed(&name, refused.into_reason())),
                },
                Prefetched::Unreadable(name, error) => report.push(FileReport {
                    path: name,
                    error: Some(error),
                    ..FileReport::default()
                }),
            }
        }
        let _ = stager.join();
        let _ = parser.join();
        Ok(())
    })?;
    // The index is committed only once the archive's commits are durable,
    // so that it is never ahead of the archive.
    match updates {
        Some(updates) => {
            let sources = archive.source_count()?;
            updates.commit_after(IndexState { sources }, || archive.checkpoint())?;
        }
        None => archive.checkpoint()?,
    }
    Ok(report)
}

/// The files under `path`, sorted; folders are walked recursively.
fn walk(path: &Path) -> Vec<std::result::Result<PathBuf, String>> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return vec![Err(format!("cannot read: {e}"))],
    };
    if !meta.is_dir() {
        return vec![Ok(path.to_path_buf())];
    }
    let mut entries: Vec<PathBuf> = match fs::read_dir(path) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => return vec![Err(format!("cannot read folder: {e}"))],
    };
    entries.sort();
    entries
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .flat_map(|p| walk(&p))
        .collect()
}

/// What every file of one import run shares.
struct Run<'a> {
    archive: &'a Archive,
    progress: &'a dyn Progress,
    index: Option<&'a Updates<'a>>,
    facts: StatedFacts,
    fetched: Option<&'a FetchedFrom>,
    listing: ListingChoice,
}

/// Batches of one file a parsing thread may have ready before this thread
/// starts writing it: about one Meta page, so that a file is parsed while
/// the one before is committed.
const PARSED_AHEAD: usize = 32;

/// A file being parsed ahead of its writing.
struct Ahead {
    batches: std::sync::mpsc::Receiver<Parsed>,
    /// Whether the whole file could be read; sent once the batches end.
    outcome: std::sync::mpsc::Receiver<std::result::Result<(), String>>,
}

/// For a staged file the parsing thread reads ahead (a non-empty file of a
/// known format, not a bundle): its importer, name and hash, and the staged
/// copy opened — before the file is handed on, since the writer then moves
/// the copy into the archive.
fn parsable(
    item: &Prefetched,
    facts: &StatedFacts,
) -> Option<(&'static dyn Importer, String, String, io::Result<File>)> {
    let Prefetched::Staged(name, Ok(Ok(staged))) = item else {
        return None;
    };
    let importer = staged.importer.filter(|_| !staged.zip && staged.size > 0)?;
    let public = public_name(name);
    Some((
        importer,
        reading_name(importer, &public, facts).unwrap_or(public),
        staged.blake3.clone(),
        File::open(&staged.tmp),
    ))
}

/// The name a file called `name` is read under when `facts` are stated,
/// for a format whose names carry facts; `None` when it is read under its
/// own name.
fn reading_name(importer: &dyn Importer, name: &str, facts: &StatedFacts) -> Option<String> {
    (!facts.is_empty())
        .then(|| importer.name_stating(name, facts))
        .flatten()
}

/// A file staged ahead of its import, or why it could not be.
enum Prefetched {
    /// The file's name and its staged copy.
    Staged(String, Result<std::result::Result<Staged, Refused>>),
    /// A path given on the command line that cannot be read.
    Unreadable(String, String),
}

/// Opens and stages one file; `Ok(Err)` names why it cannot be.
fn stage_file(
    archive: &Archive,
    path: &Path,
    detect: Detect,
) -> Result<std::result::Result<Staged, Refused>> {
    match File::open(path) {
        Ok(mut file) => stage(archive, &mut file, path, detect),
        Err(e) => Ok(Err(Refused::Unreadable(format!("cannot read: {e}")))),
    }
}

fn failed(name: &str, reason: String) -> FileReport {
    FileReport {
        path: name.to_owned(),
        error: Some(reason),
        ..FileReport::default()
    }
}

/// A file copied into staging, its format detected.
struct Staged {
    tmp: PathBuf,
    /// blake3 of the staged (stored) bytes.
    blake3: String,
    /// blake3 of the input, when redaction changed it.
    original_blake3: Option<String>,
    redacted_tokens: u64,
    size: u64,
    /// The importer for these bytes, when one recognized them.
    importer: Option<&'static dyn Importer>,
    /// Whether the bytes are a zip bundle.
    zip: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Staged copies that were not put in place are never kept.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// How staging decides what a file is.
#[derive(Clone, Copy)]
enum Detect {
    /// By content, zip bundles included.
    Any,
    /// By content, but a zip is not opened (bundle members).
    NoBundles,
    /// This format, whatever the content (zip bundles are still opened).
    Forced(&'static dyn Importer),
}

/// Copies `input` into staging in one pass: reads the head, detects the
/// format, then writes every byte through the redactor (whatever the
/// format: credentials are never stored, wherever they turn up) and the
/// live-credential scanner, hashing what was read and what was written.
/// `Ok(Err)` when the input cannot be read or still holds something shaped
/// like a live credential, which is then not stored.
fn stage(
    archive: &Archive,
    input: &mut dyn Read,
    origin: &Path,
    detect: Detect,
) -> Result<std::result::Result<Staged, Refused>> {
    let unreadable =
        |e: io::Error| Refused::Unreadable(format!("cannot read {}: {e}", origin.display()));
    let mut head = Vec::with_capacity(HEAD_LEN);
    if let Err(e) = input.take(HEAD_LEN as u64).read_to_end(&mut head) {
        return Ok(Err(unreadable(e)));
    }
    // Bundles are always opened; their members are detected by content.
    let zip = !matches!(detect, Detect::NoBundles) && head.starts_with(b"PK\x03\x04");
    let importer = match detect {
        _ if zip => None,
        Detect::Forced(importer) => Some(importer),
        _ => importers::detect(&head),
    };

    let tmp = tempfile_in(&archive.tmp_dir())?;
    let file = BufWriter::with_capacity(256 * 1024, File::create(&tmp).at(&tmp)?);
    // The stored bytes differ from the input only where a credential was
    // redacted: they are hashed as written only for formats that carry
    // credentials, and otherwise read back in the rare case they differ.
    let stored = HashingWriter {
        inner: file,
        hasher: importer
            .is_some_and(|i| i.carries_credentials())
            .then(blake3::Hasher::new),
        size: 0,
    };
    let mut original = blake3::Hasher::new();
    // A zip's members are compressed: they are redacted and scanned one
    // by one as members, and the bundle rewritten when one of them changed.
    let copied = if zip {
        let mut stored = stored;
        copy_hashing(&head, input, &mut original, &mut stored).map(|_| (stored, 0, None))
    } else {
        let mut redactor = Redactor::new(CredentialScanner::new(stored));
        copy_hashing(&head, input, &mut original, &mut redactor).and_then(|_| {
            let (scanner, tokens) = redactor.finish()?;
            let (stored, live) = scanner.finish()?;
            Ok((stored, tokens, live))
        })
    };
    let (stored, tokens, live) = match copied {
        Ok(copied) => copied,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Ok(Err(unreadable(e)));
        }
    };
    if let Some(live) = live {
        drop(stored);
        let _ = fs::remove_file(&tmp);
        return Ok(Err(Refused::Credential(format!(
            "{live}, outside any parameter adarchive redacts; the file is not stored: remove the token (or tell adarchive's maintainers which parameter carried it) and import it again"
        ))));
    }
    let original = original.finalize().to_hex().to_string();
    let size = stored.size;
    let written = stored.hasher.map(|h| h.finalize().to_hex().to_string());
    let file = stored
        .inner
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))
        .at(&tmp)?;
    let blake3 = match written {
        _ if tokens == 0 => original.clone(),
        Some(written) => written,
        None => hash_file(&tmp)?,
    };
    // Files staged ahead on their own thread reach the disk there, while
    // the archive works on the one before; any other staged copy is synced
    // when the commit that first refers to it is made durable.
    if std::env::var_os("NOSYNC").is_none() && !matches!(detect, Detect::NoBundles) {
        file.sync_data().at(&tmp)?;
    }
    Ok(Ok(Staged {
        tmp,
        original_blake3: (original != blake3).then_some(original),
        blake3,
        redacted_tokens: tokens,
        size,
        importer,
        zip,
    }))
}

/// Why a file was not staged.
enum Refused {
    /// It cannot be read.
    Unreadable(String),
    /// It holds something shaped like a live credential.
    Credential(String),
}

impl Refused {
    fn into_reason(self) -> String {
        match self {
            Refused::Unreadable(reason) | Refused::Credential(reason) => reason,
        }
    }
}

/// Writes `head` and then the rest of `input` to `out`, hashing every byte
/// read; returns how many bytes that was.
fn copy_hashing(
    head: &[u8],
    input: &mut dyn Read,
    hasher: &mut blake3::Hasher,
    out: &mut dyn Write,
) -> io::Result<u64> {
    hasher.update(head);
    out.write_all(head)?;
    let mut total = head.len() as u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// blake3 of a file.
fn hash_file(path: &Path) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path).at(path)?).at(path)?;
    Ok(hasher.finalize().to_hex().to_string())
}

struct HashingWriter<W> {
    inner: W,
    hasher: Option<blake3::Hasher>,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn now() -> Timestamp {
    Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc())
}

/// The first bytes of a staged file, as formats look at them (a file that
/// cannot be read has none: its import fails when it is read).
fn head_of(path: &Path) -> Vec<u8> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    if let Ok(file) = File::open(path) {
        let _ = file.take(HEAD_LEN as u64).read_to_end(&mut head);
    }
    head
}

/// The message for a file no importer recognizes.
fn unrecognized() -> String {
    format!(
        "not a format adarchive reads (tried: {}); use --format to force one",
        importers::format_names().join(", ")
    )
}

/// Imports one staged file. `ahead` is the file being parsed on another
/// thread; without it (bundle members) the file is parsed here.
fn import_staged(
    run: &Run<'_>,
    name: &str,
    stored: Staged,
    ahead: Option<Ahead>,
) -> Result<FileReport> {
    let (archive, progress) = (run.archive, run.progress);
    let mut report = FileReport {
        path: name.to_owned(),
        ..FileReport::default()
    };
    if stored.size == 0 {
        report.error = Some("the file is empty".into());
        return Ok(report);
    }
    let Some(importer) = stored.importer else {
        report.error = Some(unrecognized());
        return Ok(report);
    };
    report.format = Some(importer.name().to_owned());
    report.blake3 = Some(stored.blake3.clone());
    report.original_blake3 = stored.original_blake3.clone();
    report.redacted_tokens = stored.redacted_tokens;
    let (original_blake3, tokens) = (stored.original_blake3.clone(), stored.redacted_tokens);
    // What is kept and served is the file's name, not where it lay.
    let given_name = name;
    let public = public_name(name);
    let name = public.as_str();

    if let Some(entry) = archive.source(&stored.blake3)? {
        // A format that reads facts from the name derived this source from
        // its first name: say so when this name tells another story.
        let facts = importers::by_name(&entry.format).and_then(|i| {
            let first = entry.reading_name().to_owned();
            let now_read_as = reading_name(i, name, &run.facts);
            let (then, now) = (
                i.facts_from_name(&first)?,
                i.facts_from_name(now_read_as.as_deref().unwrap_or(name))?,
            );
            (then != now).then_some((first.clone(), then, now))
        });
        if let Some((first, then, now)) = facts {
            report.warnings.push(format!(
                "the same bytes were imported before as {first} ({then}); its rows keep those facts, not this name's ({now})"
            ));
        }
        archive.add_source_name(&entry, name)?;
        report.listing = match run.fetched.and_then(|f| f.completes.as_ref()) {
            Some(collected) => {
                archive.relist_collection(&entry, name, now(), collected, run.index)?
            }
            None => archive.relist(&entry, name, now(), run.index)?,
        };
        report.counts = ImportCounts::again(&entry);
        report.format = Some(entry.format);
        return Ok(report);
    }

    let read_as = reading_name(importer, name, &run.facts);
    let missing = importer.facts_missing_from_name(read_as.as_deref().unwrap_or(name));
    if !missing.is_empty() {
        let listed = match missing.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        report.warnings.push(format!(
            "the file's name does not say its {listed}: this format carries them only in file names (FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv), so its rows have none and country filters will not find them. State them with --report-country, --report-date and --report-period when importing it into an archive that does not hold it yet"
        ));
    }
    // The name as given: a folder called `2024` says Snap's year.
    let (listing_scope, unfit) = match run.fetched.and_then(|f| f.completes.as_ref()) {
        // The last page of a collection of one query: the collection is
        // the listing, whatever the page says of itself.
        Some(collected) => (Some(ListingScope::Named(collected.scope.clone())), None),
        None => run.listing.scope_of(
            importer,
            read_as.as_deref().unwrap_or(given_name),
            &head_of(&stored.tmp),
        ),
    };
    report.warnings.extend(unfit);
    let writer = archive.begin_source(&stored.blake3, Some(&stored.tmp))?;
    progress.start(name, stored.size);
    let imported_at = now();
    let job = SourceJob {
        blake3: &stored.blake3,
        name: read_as.as_deref().unwrap_or(name),
        importer,
        observed_at: imported_at,
        listing_scope,
    };
    let derived = match ahead {
        Some(Ahead { batches, outcome }) => {
            let outcome = || {
                outcome
                    .recv()
                    .unwrap_or_else(|_| Err("the parsing thread failed".into()))
            };
            writer.derive_parsed(&job, batches, outcome, progress, run.index)?
        }
        None => writer.derive(&job, progress, run.index)?,
    };
    progress.finish();
    let derived = match derived {
        Ok(d)
            if d.counts.records + d.counts.report_rows + d.counts.rate_rows == 0
                && d.counts.quarantined > 0 =>
        {
            if let Some(tmp) = &d.quarantine_tmp {
                let _ = std::fs::remove_file(tmp);
            }
            Err(nothing_importable(&d))
        }
        other => other,
    };
    let mut derived = match derived {
        Ok(d) => d,
        Err(reason) => {
            // Nothing of a refused file is kept: the transaction is dropped
            // unwritten, and the copy placed for it goes too.
            if let Err(e) = writer.abandon() {
                report.warnings.push(format!(
                    "could not remove {}: {e}",
                    archive.source_path(&stored.blake3).display()
                ));
            }
            report.error = Some(reason);
            return Ok(report);
        }
    };
    let entry = SourceEntry {
        original_blake3,
        redacted_tokens: tokens,
        read_as: read_as.clone(),
        importer_version: Some(importer.version().to_owned()),
        fetched: run.fetched.cloned(),
        listing_scope: derived.listing.as_ref().map(|l| l.scope.clone()),
        ..SourceEntry::new(
            &stored.blake3,
            stored.size,
            name,
            importer.name(),
            imported_at,
            &derived.counts,
        )
    };
    report.listing = writer.commit(
        entry,
        derived.quarantine_tmp.take(),
        derived.listing.as_ref(),
        run.index,
    )?;

    report.counts = derived.counts;
    report.unnormalized_values = std::mem::take(&mut derived.unnormalized_values);
    report.problems = derived.problems;
    Ok(report)
}

/// Why a file of a known format, every row of which was quarantined, is
/// refused: a file that yields nothing is more likely a damaged or re-saved
/// copy than a file of bad rows, and importing it would hide that.
fn nothing_importable(derived: &Derived) -> String {
    let mut reason = format!(
        "no row of the file could be imported: all {} rows were refused, so nothing of it was kept",
        derived.counts.quarantined
    );
    for p in derived.problems.iter().take(3) {
        reason.push_str(&format!("; line {}", p.line));
        if let Some(field) = &p.field {
            reason.push_str(&format!(", field {field}"));
        }
        reason.push_str(&format!(": {}", p.reason));
    }
    reason
}

fn import_bundle(
    run: &Run<'_>,
    name: &str,
    staged: Staged,
    report: &mut ImportReport,
) -> Result<()> {
    let archive = run.archive;
    let public = public_name(name);
    let mut bundle_report = FileReport {
        path: name.to_owned(),
        blake3: Some(staged.blake3.clone()),
        format: Some(ZIP_FORMAT.to_owned()),
        bundle: true,
        ..FileReport::default()
    };
    let file = File::open(&staged.tmp).at(&staged.tmp)?;
    let mut zip = match zip::ZipArchive::new(BufReader::new(file)) {
        Ok(z) => z,
        Err(e) => {
            bundle_report.error = Some(format!("not a readable zip bundle: {e}"));
            report.push(bundle_report);
            return Ok(());
        }
    };
    let mut members = Vec::new();
    let mut member_reports = Vec::new();
    // Whether a member's stored copy differs from the published one: the
    // bundle is then stored as a redacted copy too.
    let mut redacted = false;
    for i in 0..zip.len() {
        let mut member = match zip.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                bundle_report.error = Some(format!("member {i} cannot be read: {e}"));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let member_name = member_name(&member);
        let display = format!("{name}!/{member_name}");
        let member_staged = match stage(
            archive,
            &mut member,
            Path::new(&display),
            Detect::NoBundles,
        )? {
            Ok(s) => s,
            Err(refused) => {
                if let Refused::Credential(_) = &refused {
                    bundle_report.error = Some(format!(
                            "member {member_name} holds what looks like a live credential: the bundle is not stored"
                        ));
                }
                member_reports.push(failed(&display, refused.into_reason()));
                continue;
            }
        };
        drop(member);
        redacted |= member_staged.original_blake3.is_some();
        if member_staged.importer.is_none() || member_staged.size == 0 {
            let reason = if member_staged.size == 0 {
                "the member is empty".to_owned()
            } else {
                unrecognized()
            };
            bundle_report.skipped.push(Skipped {
                name: member_name.clone(),
                reason: reason.clone(),
            });
            members.push(MemberEntry {
                name: member_name,
                blake3: None,
                skipped: Some(reason),
            });
            continue;
        }
        let member_report = import_staged(run, &display, member_staged, None)?;
        members.push(MemberEntry {
            name: member_name,
            blake3: member_report.blake3.clone(),
            skipped: member_report.error.clone(),
        });
        // Values not normalized are listed, and counted, by each member.
        bundle_report.counts += ImportCounts {
            unnormalized: 0,
            ..member_report.counts
        };
        bundle_report.redacted_tokens += member_report.redacted_tokens;
        member_reports.push(member_report);
    }

    // A bundle whose members held credentials is never stored as
    // published: a copy with every member redacted takes its place.
    let stored = if redacted && bundle_report.error.is_none() {
        let copy = redacted_bundle(archive, &mut zip, &staged.blake3)?;
        bundle_report.original_blake3 = Some(staged.blake3.clone());
        bundle_report.blake3 = Some(copy.blake3.clone());
        copy
    } else {
        staged
    };
    drop(zip);

    if bundle_report.error.is_none() && archive.source(&stored.blake3)?.is_none() {
        let writer = archive.begin_source(&stored.blake3, Some(&stored.tmp))?;
        let entry = SourceEntry {
            original_blake3: stored.original_blake3.clone(),
            redacted_tokens: stored.redacted_tokens,
            members,
            fetched: run.fetched.cloned(),
            ..SourceEntry::new(
                &stored.blake3,
                stored.size,
                &public,
                ZIP_FORMAT,
                now(),
                &bundle_report.counts,
            )
        };
        writer.commit(entry, None, None, None)?;
    } else if let Some(entry) = archive.source(&stored.blake3)? {
        archive.add_source_name(&entry, &public)?;
    }
    report.push(bundle_report);
    for r in member_reports {
        report.push(r);
    }
    Ok(())
}

/// A member's name as it is kept: decoded as the zip says, and redacted.
fn member_name<R: Read + ?Sized>(member: &zip::read::ZipFile<'_, R>) -> String {
    match member.name() {
        Ok(name) => redact_text(&name),
        Err(_) => redact_text(&String::from_utf8_lossy(member.name_raw())),
    }
}

/// A copy of a bundle in which every member (and member name) has passed
/// through the redactor, staged. Member order, names, times and
/// compression are kept, so the copy is the same for the same bundle.
fn redacted_bundle<R: Read + io::Seek>(
    archive: &Archive,
    zip: &mut zip::ZipArchive<R>,
    original_blake3: &str,
) -> Result<Staged> {
    let tmp = tempfile_in(&archive.tmp_dir())?;
    let fail = |e: zip::result::ZipError| crate::Error::Io {
        path: tmp.clone(),
        source: io::Error::other(e.to_string()),
    };
    let mut writer = zip::ZipWriter::new(BufWriter::new(File::create(&tmp).at(&tmp)?));
    let mut tokens = 0;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(fail)?;
        let name = member_name(&member);
        let mut options = zip::write::SimpleFileOptions::default()
            .compression_method(match member.compression() {
                zip::CompressionMethod::Stored => zip::CompressionMethod::Stored,
                _ => zip::CompressionMethod::Deflated,
            })
            .large_file(member.size() >= u64::from(u32::MAX));
        if let Some(time) = member.last_modified() {
            options = options.last_modified_time(time);
        }
        if member.is_dir() {
            writer.add_directory(name, options).map_err(fail)?;
            continue;
        }
        writer.start_file(name, options).map_err(fail)?;
        let mut redactor = Redactor::new(&mut writer);
        io::copy(&mut member, &mut redactor).at(&tmp)?;
        tokens += redactor.finish().at(&tmp)?.1;
    }
    let file = writer
        .finish()
        .map_err(fail)?
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))
        .at(&tmp)?;
    file.sync_data().at(&tmp)?;
    let size = file.metadata().at(&tmp)?.len();
    let blake3 = hash_file(&tmp)?;
    Ok(Staged {
        tmp,
        blake3,
        original_blake3: Some(original_blake3.to_owned()),
        redacted_tokens: tokens,
        size,
        importer: None,
        zip: true,
    })
}
