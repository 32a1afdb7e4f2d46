//! One function per command.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use adarchive::archive::Archive;
use adarchive::archive::NoProgress;
use adarchive::check;
use adarchive::generate::GenerateOptions;
use adarchive::ingest::{import_paths, ImportOptions, ImportSettings};
use adarchive::search::SearchRequest;
use adarchive::spend::{spend_audit, Grouping, ReportQuery};
use adarchive::tasks::handover::{Handover, Request};
use adarchive::tasks::{Task, TaskStatus};
use anyhow::{bail, Context};

use super::args::*;
use super::print::*;
use super::progress::Bar;
use super::{init_logs, open, status};

pub(crate) fn import(data: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let ImportArgs {
        format,
        json,
        log_origin,
        compact: compact_after,
        no_index,
        report_country,
        report_date,
        report_period,
        listing,
        paths,
    } = args;
    let settings = ImportSettings {
        format,
        no_index,
        report_country: report_country.map(str::to_owned),
        report_date: report_date.map(|d| d.to_string()),
        report_period,
        listing,
    };
    let options = settings.options()?;
    let progress = Bar::new();
    let mut compacted = None;
    let report = match open_for_writing(data, log_origin.as_deref())? {
        Writer::Here(mut archive) => {
            let report = import_paths(&archive, &paths, options, progress.as_progress())?;
            if compact_after {
                compacted = Some(
                    archive
                        .compact()
                        .with_context(|| format!("compacting {}", data.display()))?,
                );
            }
            report
        }
        Writer::Server(_) if compact_after => bail!(
            "the archive at {} is served by a running `adarchive serve`: `--compact` rewrites the database, which the server holds open; import without it, or stop the server first",
            data.display()
        ),
        Writer::Server(server) => {
            let absolute = paths
                .iter()
                .map(|p| std::path::absolute(p).with_context(|| format!("{}", p.display())))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let request = Request::Import {
                paths: absolute,
                shown: paths.iter().map(|p| p.display().to_string()).collect(),
                settings: Box::new(settings),
                fetched: None,
            };
            let task = handed_over(server, &request, &progress)?;
            task.report
                .context("the server's task ended without a report")?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_import(data, &report);
        if let Some(compacted) = &compacted {
            print_compacted(compacted);
        }
    }
    Ok(status(report.all_recognized()))
}

/// Where a command that writes does its work.
enum Writer {
    /// In this process, which opened the archive.
    Here(Box<Archive>),
    /// In the server that holds the archive open.
    Server(Handover),
}

/// Opens the archive to write into it here, its transparency log named
/// `log_origin` if its key is still to be made; or finds the server that
/// holds it open.
fn open_for_writing(data: &Path, log_origin: Option<&str>) -> anyhow::Result<Writer> {
    match Archive::open(data) {
        Ok(archive) => {
            archive.open_log(log_origin)?;
            Ok(Writer::Here(Box::new(archive)))
        }
        Err(adarchive::Error::Busy(_)) => match Handover::connect(data) {
            Some(server) => Ok(Writer::Server(server)),
            None => bail!(
                "the archive at {} is in use by another adarchive command (an import, verify or rebuild); one writes at a time: run this again when it has ended",
                data.display()
            ),
        },
        Err(e) => Err(e).with_context(|| format!("opening the archive at {}", data.display())),
    }
}

/// Runs `request` as a task of the server, showing its progress; gives the
/// task once it has succeeded.
fn handed_over(server: Handover, request: &Request, progress: &Bar) -> anyhow::Result<Task> {
    let mut announced = false;
    let mut file = String::new();
    let task = server.run(request, |task| {
        if !announced {
            eprintln!(
                "the archive is served by a running `adarchive serve`: this is its task {}",
                task.id
            );
            announced = true;
        }
        if let Some(p) = &task.progress {
            if p.file != file {
                file.clone_from(&p.file);
                progress.as_progress().start(&p.file, p.size);
            }
            progress.as_progress().advance(p.done);
        }
    })?;
    if !file.is_empty() {
        progress.as_progress().finish();
    }
    match task.status {
        TaskStatus::Failed => bail!(
            "{}",
            task.error.as_deref().unwrap_or("the server's task failed")
        ),
        _ => Ok(task),
    }
}

pub(crate) fn verify(data: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let VerifyArgs { json } = args;
    let archive = open(data)?;
    // An archive made before it had a log gets one first.
    archive.open_log(None)?;
    let report = check::verify(&archive)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_verify(&report);
    }
    Ok(status(report.ok()))
}

pub(crate) fn reindex(data: &Path, args: ReindexArgs) -> anyhow::Result<ExitCode> {
    let ReindexArgs { all } = args;
    let started = std::time::Instant::now();
    let indexed = match open_for_writing(data, None)? {
        Writer::Here(archive) if all => adarchive::archive::reindex_all(&archive)?,
        Writer::Here(archive) => adarchive::archive::catch_up_index(&archive)?,
        Writer::Server(server) => {
            let task = handed_over(server, &Request::Reindex { all }, &Bar::new())?;
            task.indexed
                .context("the server's task ended without a count")?
        }
    };
    println!(
        "indexed {indexed} ads in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rebuild(data: &Path, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let RebuildArgs { json } = args;
    if Handover::connect(data).is_some() {
        bail!(
            "the archive at {} is served by a running `adarchive serve`: `rebuild` replaces the whole database, which the server holds open; stop the server, rebuild, and start it again",
            data.display()
        );
    }
    let progress = Bar::new();
    let report = check::rebuild(data, progress.as_progress())
        .with_context(|| format!("rebuilding {}", data.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_rebuild(&report);
    }
    Ok(status(report.failures.is_empty()))
}

pub(crate) fn search(data: &Path, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let sort = args.sort()?;
    let SearchArgs {
        json,
        limit,
        cursor,
        facets,
        filters,
        query,
        ..
    } = args;
    let archive = open(data)?;
    let request = SearchRequest {
        query: query.join(" "),
        filters: filters.into_filters()?,
        sort,
        limit,
        cursor,
        facets,
        ..SearchRequest::default()
    };
    let page = adarchive::search::search(&archive, &request)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        print_page(&page);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn stats(data: &Path, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let archive = open(data)?;
    let counts = archive.stats()?;
    let tables = archive.table_sizes()?;
    let parts = [
        ("database", adarchive::archive::DATABASE_FILE),
        ("index", adarchive::archive::INDEX_DIR),
        ("sources", "sources"),
        ("quarantine", "quarantine"),
    ];
    let mut files = serde_json::Map::new();
    let mut on_disk = serde_json::Map::new();
    for (part, name) in parts {
        let (bytes, allocated) = folder_bytes(&data.join(name));
        files.insert(part.into(), bytes.into());
        on_disk.insert(part.into(), allocated.into());
    }
    // The database file grows by doubling; the part never written takes
    // no room on disk.
    files.insert("on_disk".into(), on_disk.into());
    let files = serde_json::Value::Object(files);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"counts": counts, "files": files, "tables": tables})
            )?
        );
    } else {
        print_stats(&counts, &files, &tables);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn compact(data: &Path) -> anyhow::Result<ExitCode> {
    if Handover::connect(data).is_some() {
        bail!(
            "the archive at {} is served by a running `adarchive serve`: `compact` rewrites the database, which the server holds open; stop the server, compact, and start it again",
            data.display()
        );
    }
    let mut archive = open(data)?;
    let started = std::time::Instant::now();
    let compacted = archive
        .compact()
        .with_context(|| format!("compacting {}", data.display()))?;
    print_compacted(&compacted);
    println!("compacted in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn print_compacted(compacted: &adarchive::archive::Compacted) {
    if !compacted.repacked.is_empty() {
        println!(
            "written again as full pages: {}",
            compacted.repacked.join(", ")
        );
    }
    println!(
        "database: {} before, {} after",
        bytes_in_words(compacted.before),
        bytes_in_words(compacted.after),
    );
}

/// The bytes of a file, or of every file under a folder.
/// The bytes of the files under `path`, and the bytes the disk gives them
/// (less for a file with holes, like a database that grew and is not yet
/// filled).
fn folder_bytes(path: &Path) -> (u64, u64) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| folder_bytes(&e.path()))
                    .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
            })
            .unwrap_or((0, 0)),
        Ok(m) => (m.len(), allocated_bytes(&m)),
        Err(_) => (0, 0),
    }
}

#[cfg(unix)]
fn allocated_bytes(metadata: &std::fs::Metadata) -> u64 {
    // `st_blocks` counts 512-byte units whatever the file system's block.
    std::os::unix::fs::MetadataExt::blocks(metadata) * 512
}

#[cfg(not(unix))]
fn allocated_bytes(metadata: &std::fs::Metadata) -> u64 {
    metadata.len()
}

pub(crate) fn changes(data: &Path, args: ChangesArgs) -> anyhow::Result<ExitCode> {
    use adarchive::changes::{changes, parse_kinds, parse_since, scopes, ChangesRequest};
    let archive = open(data)?;
    if args.scopes {
        let scopes = scopes(&archive)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&scopes)?);
        } else {
            print_scopes(&scopes);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let request = ChangesRequest {
        since: args
            .since
            .as_deref()
            .map(parse_since)
            .transpose()
            .map_err(flag_error)?,
        kinds: parse_kinds(&args.kind.join(",")).map_err(flag_error)?,
        scopes: args.scope,
        query: args.query.join(" "),
        filters: args.filters.into_filters()?,
        limit: args.limit,
        cursor: args.cursor,
        ..ChangesRequest::default()
    };
    let page = changes(&archive, &request).map_err(flag_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        print_changes(&page);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn export(data: &Path, args: ExportArgs) -> anyhow::Result<ExitCode> {
    use adarchive::search::export::{export, ExportFormat, EXPORT_PAGE};
    let format = ExportFormat::parse(&args.format).map_err(flag_error)?;
    let request = SearchRequest {
        query: args.query.join(" "),
        filters: args.filters.into_filters()?,
        sort: sort_flag(&args.sort)?,
        ..SearchRequest::default()
    };
    let archive = open(data)?;
    match (format, args.out) {
        (ExportFormat::Parquet, Some(folder)) => {
            let written =
                adarchive::search::parquet::export_partitioned(&archive, &request, &folder)?;
            eprintln!(
                "{} in {} under {}",
                counted(written.ads, "ad", "ads"),
                counted(written.files.len() as u64, "file", "files"),
                folder.display()
            );
        }
        (ExportFormat::Parquet, None) => {
            bail!("--format parquet writes a folder partitioned by platform and year: name it with --out FOLDER")
        }
        (format, Some(file)) => {
            let parent = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            let mut staged = tempfile::NamedTempFile::new_in(&parent)
                .with_context(|| format!("writing beside {}", file.display()))?;
            let summary = {
                // The export takes a refused write for a reader gone away
                // and stops; a file must say why instead.
                let mut out = KeepsError {
                    inner: std::io::BufWriter::new(staged.as_file_mut()),
                    error: None,
                };
                let summary = export(&archive, &request, format, EXPORT_PAGE, &mut out)?;
                if let Some(e) = out.error.take() {
                    return Err(e).with_context(|| format!("writing {}", file.display()));
                }
                out.inner
                    .flush()
                    .with_context(|| format!("writing {}", file.display()))?;
                summary
            };
            staged
                .as_file()
                .sync_all()
                .with_context(|| format!("writing {}", file.display()))?;
            staged
                .persist(&file)
                .with_context(|| format!("writing {}", file.display()))?;
            eprintln!(
                "{} in {}",
                counted(summary.ads, "ad", "ads"),
                file.display()
            );
        }
        (format, None) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            export(&archive, &request, format, EXPORT_PAGE, &mut out)?;
            // A closed standard output (`| head`) is not an error.
            let _ = out.flush();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A writer that keeps its first error.
struct KeepsError<W: Write> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Write for KeepsError<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            if self.error.is_none() {
                self.error = Some(std::io::Error::new(e.kind(), e.to_string()));
            }
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn spend(data: &Path, args: SpendArgs) -> anyhow::Result<ExitCode> {
    let SpendArgs {
        group_by,
        json,
        csv,
        report_kind,
        period,
        convert_to,
        limit,
        filters,
        query,
    } = args;
    let group_by: Grouping = group_by.parse().map_err(flag_error)?;
    let archive = open(data)?;
    let filters = filters.into_filters()?;
    let report = ReportQuery::from_filters(&filters, Some(report_kind), period);
    let request = SearchRequest {
        query: query.join(" "),
        filters,
        ..SearchRequest::default()
    };
    let mut audit = spend_audit(
        &archive,
        &request,
        &report,
        group_by,
        limit,
        convert_to.as_deref(),
    )?;
    adarchive::api::links::link_audit(&mut audit, &request.query);
    if json {
        println!("{}", serde_json::to_string_pretty(&audit)?);
    } else if csv {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        adarchive::spend::audit::write_csv(&audit, &mut out)?;
    } else {
        print_audit(&audit);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn advertisers(data: &Path, args: AdvertisersArgs) -> anyhow::Result<ExitCode> {
    let AdvertisersArgs {
        json,
        platform,
        id,
        limit,
        query,
    } = args;
    let archive = open(data)?;
    if let Some(id) = id {
        let Some(mut detail) = adarchive::advertisers::entity_detail(&archive, &id)? else {
            anyhow::bail!("no advertiser `{id}`");
        };
        adarchive::api::links::link_entity(&mut detail);
        if json {
            println!("{}", serde_json::to_string_pretty(&detail)?);
        } else {
            print_entity_detail(&detail);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let words = query.join(" ");
    let found = adarchive::advertisers::list_entities(
        &archive,
        (!words.is_empty()).then_some(words.as_str()),
        &platform,
    )?;
    if json {
        let page: Vec<_> = found.iter().take(limit).collect();
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        println!(
            "{}",
            counted(found.len() as u64, "advertiser", "advertisers")
        );
        for entity in found.iter().take(limit) {
            print_entity(entity);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn serve(data: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs { bind, limits } = args;
    init_logs();
    let config = limits.config(data.to_path_buf(), bind);
    let app = adarchive::api::startup::Application::build(&config)?;
    // A server outlives whoever started it: a closed stdout is no reason
    // to stop.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "serving {} on http://{}",
        data.display(),
        config.bind.replace(":0", &format!(":{}", app.port()))
    );
    let _ = writeln!(out, "API reference: http://127.0.0.1:{}/docs/", app.port());
    let _ = out.flush();
    actix_web::rt::System::new().block_on(app.run_until_stopped())?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let DemoArgs { ads, bind } = args;
    init_logs();
    // A demo leaves nothing behind: the folder goes when it stops,
    // by Ctrl-C or on an error.
    let folder = tempfile::Builder::new()
        .prefix("adarchive-demo-")
        .tempdir()
        .context("making the demo's folder")?;
    let dir = folder.path().to_path_buf();
    println!(
        "the demo archive is kept in {} while it runs and removed when it stops",
        dir.display()
    );
    let exports = dir.join("exports");
    let data = dir.join("data");
    println!(
        "generating {ads} ads in every supported format under {}",
        exports.display()
    );
    adarchive::generate::generate_samples(
        &exports,
        &GenerateOptions {
            ads,
            seed: 1,
            ..Default::default()
        },
    )?;
    let archive = open(&data)?;
    let report = import_paths(&archive, &[exports], ImportOptions::default(), &NoProgress)?;
    println!(
        "imported {} records from {} files into {}",
        report.totals.records,
        report.files.len(),
        data.display()
    );
    drop(archive);
    let config = adarchive::api::startup::ApiConfig {
        data,
        bind,
        rate_limit: 0,
        ..Default::default()
    };
    let app = adarchive::api::startup::Application::build(&config)?;
    let base = format!("http://127.0.0.1:{}", app.port());
    println!("search the ads: {base}/");
    println!("API reference:  {base}/docs/");
    println!("example query:  {base}/v1/ads?q=election&facets=platform,country&limit=5");
    println!("spend audit:    {base}/v1/spend?group_by=advertiser&currency=EUR");
    println!("advertisers:    {base}/v1/advertisers?q=jane+alvarez");
    println!("press Ctrl-C to stop");
    actix_web::rt::System::new().block_on(app.run_until_stopped())?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn generate_samples(args: GenerateSamplesArgs) -> anyhow::Result<ExitCode> {
    let GenerateSamplesArgs {
        out,
        ads,
        seed,
        advertisers,
        files,
    } = args;
    let options = GenerateOptions {
        ads,
        seed,
        advertisers,
        files,
    };
    let written = adarchive::generate::generate_samples(&out, &options)
        .with_context(|| format!("writing samples to {}", out.display()))?;
    for file in &written.files {
        println!(
            "{} ({})",
            file.path.display(),
            counted(file.ads, "ad", "ads")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn keys(data: &Path, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let keys = adarchive::keys::Keys::of(data);
    match command {
        KeysCommand::Create { name } => {
            let key = keys.create(&name)?;
            eprintln!("the key `{name}`, shown this once (only its hash is kept); send it as `Authorization: Bearer KEY`:");
            println!("{key}");
        }
        KeysCommand::List { json } => {
            let listed = keys.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else if listed.is_empty() {
                println!("no keys: the ingest API is off");
            } else {
                for key in listed {
                    match key.revoked_at {
                        Some(revoked) => {
                            println!("{}\tmade {}\trevoked {revoked}", key.name, key.created_at)
                        }
                        None => println!("{}\tmade {}\tin force", key.name, key.created_at),
                    }
                }
            }
        }
        KeysCommand::Revoke { name } => {
            keys.revoke(&name)?;
            println!("revoked `{name}`");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn collect(data: &Path, args: CollectArgs) -> anyhow::Result<ExitCode> {
    use adarchive::collect::{self, Collection, Collector, Fetcher, MetaQuery, Patience};
    let collector = Collector::by_name(&args.format)
        .with_context(|| format!("no collector `{}`", args.format))?;
    let collection = Collection {
        api_base: args.api_base,
        years: args.years,
        meta: MetaQuery {
            ad_reached_countries: args.countries,
            search_terms: args.search_terms,
            search_page_ids: args.search_page_ids,
            ad_type: args.ad_type,
            ad_active_status: args.ad_active_status,
            ad_delivery_date_min: args.ad_delivery_date_min,
            ad_delivery_date_max: args.ad_delivery_date_max,
            fields: args.fields,
            limit: args.limit,
        },
        whole: args.whole,
    };
    let mut fetcher = Fetcher::new(Patience {
        attempts: args.attempts,
        backoff: std::time::Duration::from_millis(args.backoff_ms),
        timeout: std::time::Duration::from_secs(args.timeout),
    })?;
    let progress = std::sync::Arc::new(super::progress::Collecting::new(collector.name()));
    let told = std::sync::Arc::clone(&progress);
    fetcher.on_retry = Box::new(move |wait, why| {
        told.line(&format!(
            "{why}; trying again in {:.1} s",
            wait.as_secs_f64()
        ));
    });
    let mut answers = 0u64;
    // Read from the environment, never from the command line, where every
    // user of the machine could see it.
    let secrets = |name: &str| std::env::var(name).ok().filter(|t| !t.is_empty());
    let local = match open_for_writing(data, None)? {
        Writer::Here(archive) => Some(archive),
        Writer::Server(_) => None,
    };
    let mut imported = adarchive::archive::ImportCounts::default();
    let mut failures = Vec::new();
    let mut import = |fetched: &collect::Fetched| -> Result<Option<String>, String> {
        let name = fetched.name();
        let report = match &local {
            Some(archive) => import_paths(
                archive,
                std::slice::from_ref(&fetched.path),
                ImportOptions {
                    fetched: Some(&fetched.from),
                    ..ImportOptions::default()
                },
                &adarchive::archive::NoProgress,
            )
            .map_err(|e| e.to_string())?,
            None => {
                let server =
                    Handover::connect(data).ok_or("the server holding the archive went away")?;
                let request = Request::Import {
                    paths: vec![fetched.path.clone()],
                    shown: vec![name.clone()],
                    settings: Box::default(),
                    fetched: Some(fetched.from.clone()),
                };
                let task = server.run(&request, |_| {}).map_err(|e| e.to_string())?;
                task.report
                    .ok_or_else(|| task.error.unwrap_or_else(|| "the task failed".into()))?
            }
        };
        let mut archived = None;
        for file in &report.files {
            match &file.error {
                Some(error) => failures.push(format!("{name}: {error}")),
                None => archived.clone_from(&file.blake3),
            }
            if let Some(listing) = &file.listing {
                progress.line(&super::print::listing_line(listing));
            }
        }
        imported += report.totals;
        answers += 1;
        progress.line(&format!(
            "{name}: {} records ({} new, {} updated, {} unchanged)",
            report.totals.records,
            report.totals.new,
            report.totals.updated,
            report.totals.unchanged
        ));
        progress.totals(answers, imported.new, imported.updated);
        Ok(archived)
    };
    let mut summary = collect::collect(
        collector,
        &collection,
        data,
        &fetcher,
        &secrets,
        &mut import,
    );
    progress.finish();
    summary.failures.extend(failures);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"summary": summary, "imported": imported})
            )?
        );
    } else {
        println!(
            "{}: {} answers imported ({} unchanged since the last run{}), {} records ({} new, {} updated, {} unchanged), {} retries, {} rate-limit waits",
            collector.name(),
            summary.pages,
            summary.unchanged,
            if summary.resumed { "; an unfinished run resumed" } else { "" },
            imported.records,
            imported.new,
            imported.updated,
            imported.unchanged,
            summary.retries,
            summary.rate_limited
        );
        if let Some(since) = &summary.since {
            println!("  only ads delivered since {since}, the day before the last complete run (pass --ad-delivery-date-min to ask for more)");
        }
        for failure in &summary.failures {
            println!("failed: {failure}");
        }
    }
    Ok(status(summary.failures.is_empty()))
}

pub(crate) fn log(data: &Path, command: LogCommand) -> anyhow::Result<ExitCode> {
    let LogCommand::Verify(LogVerifyArgs {
        server,
        key,
        since,
        json,
    }) = command;
    // A key given as a file holds the line; otherwise it is the line.
    let key = match key {
        Some(k) if Path::new(&k).is_file() => Some(
            std::fs::read_to_string(&k)
                .with_context(|| format!("reading the key in {k}"))?
                .trim()
                .to_owned(),
        ),
        other => other,
    };
    let since = since
        .map(|path| {
            std::fs::read(&path)
                .with_context(|| format!("reading the checkpoint {}", path.display()))
        })
        .transpose()?;
    let report = match server {
        Some(server) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let view = adarchive::tlog::fetch_view(&server)?;
            adarchive::tlog::verify_log(&view, key.as_deref(), since.as_deref())
        }
        None => open(data)?.verify_log(key.as_deref(), since.as_deref())?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_log_verify(&report);
    }
    Ok(status(report.ok()))
}
