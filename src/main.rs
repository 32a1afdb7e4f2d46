//! The `adarchive` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use adarchive::api::startup;
use adarchive::archive::{Archive, NoProgress, Progress};
use adarchive::check::{rebuild, verify};
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::ingest::{import_paths, ImportOptions, ImportReport};
use adarchive::search::{search, spend_audit, Filters, ReportQuery, SearchRequest, SearchResponse};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

// Importing allocates many short-lived strings; mimalloc handles that
// pattern markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An archive and search engine for political ads from every platform's ad library.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The archive's data folder.
    #[arg(
        long,
        global = true,
        env = "ADARCHIVE_DATA",
        default_value = "adarchive-data"
    )]
    data: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import export files, folders and zip bundles into the archive.
    ///
    /// Formats are detected from the content. Rows that cannot be read are
    /// quarantined with their line and field; every other row imports. Exits
    /// 0 when every file was recognized, 1 otherwise.
    Import {
        /// Read every file as this format instead of detecting it.
        /// Zip bundles are still opened and their members detected.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(adarchive_importers::format_names()))]
        format: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Do not update the search index now (for loading many files):
        /// the next import, or `adarchive reindex`, indexes what was imported.
        #[arg(long)]
        no_index: bool,
        /// The country of a Meta Ad Library Report whose file name lost it
        /// (ISO code or English name); recorded in the manifest.
        #[arg(long, value_name = "COUNTRY", value_parser = parse_report_country)]
        report_country: Option<&'static str>,
        /// The date of a Meta Ad Library Report whose file name lost it
        /// (YYYY-MM-DD); recorded in the manifest.
        #[arg(long, value_name = "DATE", value_parser = parse_report_date)]
        report_date: Option<time::Date>,
        /// The period of a Meta Ad Library Report whose file name lost it;
        /// recorded in the manifest.
        #[arg(long, value_name = "PERIOD", value_parser = clap::builder::PossibleValuesParser::new(adarchive_importers::meta_ad_library_report::PERIODS))]
        report_period: Option<String>,
        /// Files, folders or zip bundles.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Re-hash every stored source, re-derive every record from its raw
    /// bytes and check every version chain. Exits 1 on any mismatch.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Bring the search index up to date with the archive: index the
    /// sources imported since its last commit, or with --all recreate it.
    Reindex {
        /// Recreate the whole index.
        #[arg(long)]
        all: bool,
    },
    /// Re-derive everything from the stored sources.
    Rebuild {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the archive: the latest version of every ad.
    ///
    /// QUERY: words (all must match), "exact phrases", -excluded words, OR
    /// between alternatives, and field:value (country:NL, platform:meta,
    /// creative:…, advertiser:…, funder:…, targeting:…).
    Search {
        /// Print the page as JSON.
        #[arg(long)]
        json: bool,
        /// Results per page (at most 1000).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Continue after the page that printed this cursor.
        #[arg(long)]
        cursor: Option<String>,
        /// relevance, spend_lower, spend_upper, first_shown, last_shown or
        /// impressions, optionally with :asc or :desc.
        #[arg(long, default_value = "")]
        sort: String,
        /// Facets to count, comma-separated (platform,country,language,currency,
        /// media_type,advertiser,advertiser_id,funder,region,gender,age).
        #[arg(long, value_delimiter = ',')]
        facets: Vec<String>,
        #[command(flatten)]
        filters: FilterArgs,
        /// The query.
        query: Vec<String>,
    },
    /// Spend totals of the matching ads, grouped, as summed lower and upper
    /// bounds per currency.
    Spend {
        /// advertiser, funder, platform, country, region, week or month.
        #[arg(long)]
        group_by: String,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV for spreadsheets (UTF-8 with a byte-order mark).
        #[arg(long)]
        csv: bool,
        /// Which spend reports give the report-level figures: advertiser,
        /// advertiser_in_region, location, advertiser_week or geo.
        #[arg(long, default_value = "advertiser")]
        report_kind: String,
        /// Only reports of these periods (yesterday, last_7_days, last_30_days,
        /// last_90_days, lifetime, this_week, to_date, week, all_time).
        #[arg(long)]
        period: Vec<String>,
        /// Also show every figure converted into this currency at imported ECB
        /// reference rates (an estimate, beside the published figures).
        #[arg(long)]
        convert_to: Option<String>,
        /// Most groups listed.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        filters: FilterArgs,
        /// A query restricting the ads.
        query: Vec<String>,
    },
    /// Advertisers across platforms: identities joined by shared official
    /// identifiers, Google id mappings, or (marked as such) names alone.
    Advertisers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only advertisers on these platforms.
        #[arg(long)]
        platform: Vec<String>,
        /// Show one advertiser (`adv-…`) with its spend.
        #[arg(long)]
        id: Option<String>,
        /// Most advertisers listed.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Words of a name, funder or key.
        query: Vec<String>,
    },
    /// Serve the public search API (docs at /docs) until SIGINT or SIGTERM.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ADARCHIVE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        limits: ServeLimits,
    },
    /// Generate sample exports, import them into a fresh archive, and serve it.
    Demo {
        /// How many ads to generate.
        #[arg(long, default_value_t = 20_000)]
        ads: u64,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
    /// Write realistic exports in every supported format (Google, Meta, Snap,
    /// Microsoft, TikTok, LinkedIn, X, Google Ads Transparency Center).
    GenerateSamples {
        /// Folder to write into.
        out: PathBuf,
        /// How many ads in all.
        #[arg(long, default_value_t = 1000)]
        ads: u64,
        /// Seed; the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Filters shared by `search` and `spend`. Repeat a flag for several values.
#[derive(clap::Args, Default)]
struct FilterArgs {
    /// Platform (google, meta, snap, …).
    #[arg(long)]
    platform: Vec<String>,
    /// Country, ISO 3166-1 alpha-2.
    #[arg(long)]
    country: Vec<String>,
    /// Region the platform lists (EU).
    #[arg(long)]
    region: Vec<String>,
    /// Language, ISO 639-1.
    #[arg(long)]
    language: Vec<String>,
    /// Currency of the published spend, ISO 4217.
    #[arg(long)]
    currency: Vec<String>,
    /// text, image, video, audio or carousel.
    #[arg(long)]
    media_type: Vec<String>,
    /// The platform's advertiser id.
    #[arg(long)]
    advertiser_id: Vec<String>,
    /// Funder, exactly as published.
    #[arg(long)]
    funder: Vec<String>,
    /// Targeted gender.
    #[arg(long)]
    gender: Vec<String>,
    /// Targeted age bracket, as published.
    #[arg(long)]
    age: Vec<String>,
    /// true: still running; false: ended.
    #[arg(long)]
    active: Option<bool>,
    /// Shown on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Shown on or before this date.
    #[arg(long)]
    to: Option<String>,
    /// Spend lower bound at least this (needs one --currency).
    #[arg(long)]
    spend_min: Option<u64>,
    /// Spend upper bound at most this (needs one --currency).
    #[arg(long)]
    spend_max: Option<u64>,
    /// Impressions lower bound at least this.
    #[arg(long)]
    impressions_min: Option<u64>,
    /// Impressions upper bound at most this.
    #[arg(long)]
    impressions_max: Option<u64>,
}

impl FilterArgs {
    fn into_filters(self) -> anyhow::Result<Filters> {
        let date = |flag: &str,
                    v: Option<String>|
         -> anyhow::Result<Option<adarchive_schema::Timestamp>> {
            v.map(|text| {
                adarchive_importers::normalize::timestamp_by_shape(&text).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--{flag}: `{text}` is not a date (YYYY-MM-DD) or RFC 3339 time"
                    )
                })
            })
            .transpose()
        };
        Ok(Filters {
            platform: self.platform,
            country: self.country,
            region: self.region,
            language: self.language,
            currency: self.currency,
            media_type: self.media_type,
            advertiser_id: self.advertiser_id,
            funder: self.funder,
            gender: self.gender,
            age: self.age,
            active: self.active,
            from: date("from", self.from)?,
            to: date("to", self.to)?,
            spend_min: self.spend_min,
            spend_max: self.spend_max,
            impressions_min: self.impressions_min,
            impressions_max: self.impressions_max,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. } | Command::Demo { .. }) {
        quiet_on_closed_output();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A command whose output is closed early (`adarchive spend … | head`)
/// ends quietly, as other command-line tools do, instead of panicking on
/// the next print. Not for the server, whose sockets must never raise it.
fn quiet_on_closed_output() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE, before any
    // thread is started, touches no memory of this program.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn parse_report_country(value: &str) -> Result<&'static str, String> {
    adarchive_importers::normalize::country_code(value)
        .ok_or_else(|| format!("`{value}` is no country code or English country name"))
}

fn parse_report_date(value: &str) -> Result<time::Date, String> {
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("`{value}` is not a date (YYYY-MM-DD)"))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Import {
            format,
            json,
            no_index,
            report_country,
            report_date,
            report_period,
            paths,
        } => {
            let facts = adarchive_importers::StatedFacts {
                country: report_country,
                date: report_date,
                period: report_period.as_deref().and_then(|p| {
                    adarchive_importers::meta_ad_library_report::PERIODS
                        .iter()
                        .copied()
                        .find(|known| *known == p)
                }),
            };
            let format = match format {
                Some(name) => match adarchive_importers::by_name(&name) {
                    Some(importer) => Some(importer),
                    None => bail!(
                        "unknown format `{name}`; formats: {}",
                        adarchive_importers::format_names().join(", ")
                    ),
                },
                None => None,
            };
            let archive = open(&cli.data)?;
            let progress = Bar::new();
            let report = import_paths(
                &archive,
                &paths,
                ImportOptions {
                    format,
                    skip_index: no_index,
                    facts,
                },
                progress.as_progress(),
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_import(&archive, &report);
            }
            Ok(status(report.all_recognized()))
        }
        Command::Verify { json } => {
            let archive = open(&cli.data)?;
            let report = verify(&archive)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for m in &report.mismatches {
                    println!("MISMATCH {m}");
                }
                if report.index_behind > 0 {
                    println!(
                        "note: the search index lacks the last {} imported sources (an interrupted import); the next import or `adarchive rebuild` adds them",
                        report.index_behind
                    );
                }
                for s in &report.unreferenced_sources {
                    println!("note: sources/{s} has no manifest entry: its import did not finish, and nothing refers to it. It can be deleted; importing the file again stores it anew if the import succeeds");
                }
                println!(
                    "verified {} sources, {} observations, {} report rows, {} records, {} versions, {} indexed ads: {}",
                    report.sources,
                    report.observations,
                    report.report_rows,
                    report.records,
                    report.versions,
                    report.indexed,
                    if report.ok() {
                        "OK".to_owned()
                    } else {
                        format!("{} mismatches", report.mismatches.len())
                    }
                );
            }
            Ok(status(report.ok()))
        }
        Command::Reindex { all } => {
            let archive = open(&cli.data)?;
            let started = std::time::Instant::now();
            let indexed = if all {
                adarchive::archive::reindex_all(&archive)?
            } else {
                adarchive::archive::catch_up_index(&archive)?
            };
            println!(
                "indexed {indexed} ads in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Rebuild { json } => {
            let progress = Bar::new();
            let report = rebuild(&cli.data, progress.as_progress())
                .with_context(|| format!("rebuilding {}", cli.data.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for f in &report.failures {
                    println!("FAILED {f}");
                }
                println!(
                    "rebuilt {} sources, {} observations, {} indexed ads; {} record hashes differ from before",
                    report.sources, report.observations, report.indexed, report.changed_record_hashes
                );
            }
            Ok(status(report.failures.is_empty()))
        }
        Command::Search {
            json,
            limit,
            cursor,
            sort,
            facets,
            filters,
            query,
        } => {
            let archive = open(&cli.data)?;
            let request = SearchRequest {
                query: query.join(" "),
                filters: filters.into_filters()?,
                sort,
                limit,
                cursor,
                facets,
                ..SearchRequest::default()
            };
            let page = search(&archive, &request)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else {
                print_page(&page);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Spend {
            group_by,
            json,
            csv,
            report_kind,
            period,
            convert_to,
            limit,
            filters,
            query,
        } => {
            let archive = open(&cli.data)?;
            let filters = filters.into_filters()?;
            let report = ReportQuery::from_filters(&filters, Some(report_kind), period);
            let request = SearchRequest {
                query: query.join(" "),
                filters,
                ..SearchRequest::default()
            };
            let audit = spend_audit(
                &archive,
                &request,
                &report,
                &group_by,
                limit,
                convert_to.as_deref(),
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&audit)?);
            } else if csv {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                adarchive::search::audit::write_csv(&audit, &mut out)?;
            } else {
                print_audit(&audit);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Advertisers {
            json,
            platform,
            id,
            limit,
            query,
        } => {
            let archive = open(&cli.data)?;
            if let Some(id) = id {
                let Some(detail) = adarchive::advertisers::entity_detail(&archive, &id)? else {
                    anyhow::bail!("no advertiser `{id}`");
                };
                if json {
                    println!("{}", serde_json::to_string_pretty(&detail)?);
                } else {
                    print_entity(&detail.entity);
                    for (origin, totals) in [
                        (&detail.ads.origin, &detail.ads.by_platform),
                        (&detail.reports.origin, &detail.reports.by_platform),
                    ] {
                        println!("{origin}");
                        for t in totals {
                            let upper = t
                                .upper
                                .map(|u| u.to_string())
                                .unwrap_or_else(|| "unbounded".into());
                            println!("  {} {} {} – {upper}", t.platform, t.currency, t.lower);
                        }
                    }
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
                println!("{} advertisers", found.len());
                for entity in found.iter().take(limit) {
                    print_entity(entity);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { bind, limits } => {
            init_logs();
            let config = limits.config(cli.data.clone(), bind);
            let app = adarchive::api::startup::Application::build(&config)?;
            println!(
                "serving {} on http://{}",
                cli.data.display(),
                config.bind.replace(":0", &format!(":{}", app.port()))
            );
            println!("API reference: http://127.0.0.1:{}/docs/", app.port());
            actix_web::rt::System::new().block_on(app.run_until_stopped())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { ads, bind } => {
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
            generate_samples(&exports, &GenerateOptions { ads, seed: 1 })?;
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
            println!("API reference:  {base}/docs/");
            println!("example query:  {base}/v1/ads?q=election&facets=platform,country&limit=5");
            println!("spend audit:    {base}/v1/spend?group_by=advertiser&currency=EUR");
            println!("advertisers:    {base}/v1/advertisers?q=jane+alvarez");
            println!("press Ctrl-C to stop");
            actix_web::rt::System::new().block_on(app.run_until_stopped())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::GenerateSamples { out, ads, seed } => {
            let written = generate_samples(&out, &GenerateOptions { ads, seed })
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
    }
}

fn print_page(page: &SearchResponse) {
    println!("{}", counted(page.total, "ad", "ads"));
    for hit in &page.results {
        let ad = &hit.ad;
        let who = ad.advertiser.name.as_deref().unwrap_or("?");
        let when = ad.first_shown.map(|t| t.to_string()).unwrap_or_default();
        let spend: Vec<String> = ad
            .spend
            .iter()
            .map(|s| match s.upper {
                Some(u) if u == s.lower => format!("{} {}", s.currency, s.lower),
                Some(u) => format!("{} {}–{}", s.currency, s.lower, u),
                None => format!("{} {}+", s.currency, s.lower),
            })
            .collect();
        println!("{}  {who}  {when}  {}", ad.uid, spend.join(", "));
        for s in &hit.snippets {
            println!("    {}: {}", s.field, s.fragment.replace('\n', " "));
        }
    }
    for (name, values) in &page.facets {
        let list: Vec<String> = values
            .iter()
            .map(|v| format!("{} {}", v.value, v.count))
            .collect();
        println!("{name}: {}", list.join(", "));
    }
    if let Some(c) = &page.next_cursor {
        println!("next page: --cursor {c}");
    }
}

/// Request logs on stderr; `RUST_LOG` overrides the level.
fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// 0 when the command did all it was asked, 1 otherwise.
fn status(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn open(data: &std::path::Path) -> anyhow::Result<Archive> {
    Archive::open(data).with_context(|| format!("opening the archive at {}", data.display()))
}

fn print_entity(entity: &adarchive::advertisers::Entity) {
    println!(
        "{} {} [{}]{}",
        entity.id,
        entity.name,
        entity.platforms.join(", "),
        if entity.name_only_links {
            " (some links are names only)"
        } else {
            ""
        }
    );
    for m in &entity.members {
        let ids: Vec<String> = m
            .identifiers
            .iter()
            .map(|i| format!("{} {}", i.kind, i.value))
            .collect();
        println!("  {} {}", m.key, ids.join(", "));
    }
    for l in &entity.links {
        println!("  {} = {}: {} {}", l.from, l.to, l.evidence, l.value);
    }
}

fn print_audit(audit: &adarchive::search::SpendAudit) {
    let name = |n: &Option<String>| n.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
    println!(
        "{} — {}, by {}, ordered by {}",
        audit.origin,
        counted(audit.total_ads, "ad", "ads"),
        audit.group_by,
        audit.ordered_by
    );
    for g in &audit.groups {
        println!(
            "{}{}: {}",
            g.key,
            name(&g.name),
            counted(g.ads, "ad", "ads")
        );
        for s in &g.spend {
            let upper = s
                .upper
                .map(|u| u.to_string())
                .unwrap_or_else(|| format!("unbounded ({} open-ended)", s.open_ended_ads));
            println!("  {} {} – {}", s.currency, s.lower, upper);
        }
    }
    let r = &audit.reports;
    println!(
        "\n{} — kind {}, {} ({} left out as superseded by a later import of the same report), ordered by {}",
        r.origin,
        r.kind,
        counted(r.rows, "row", "rows"),
        r.superseded_rows,
        r.ordered_by
    );
    for g in &r.groups {
        println!(
            "{}{}: {}",
            g.key,
            name(&g.name),
            counted(g.rows, "row", "rows")
        );
        for s in &g.spend {
            println!("  {} {} – {}", s.currency, s.lower, s.upper);
        }
        for report in &g.reports {
            println!("  from {} ({})", report.name, report.period);
        }
    }
    let c = &audit.conversion;
    println!("\nconversion: {}", c.note);
    for (label, groups) in [("ads", &c.ads), ("reports", &c.reports)] {
        for g in groups {
            for f in &g.figures {
                println!(
                    "  {label} {}: {} {} – {} (from {}, rate {:.6} of {})",
                    g.key,
                    c.currency.as_deref().unwrap_or(""),
                    f.lower,
                    f.upper
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "unbounded".into()),
                    f.from_currency,
                    f.rate,
                    f.rate_date.as_offset_date_time().date()
                );
            }
        }
    }
}

/// `1 row`, `2 rows`.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn print_import(archive: &Archive, report: &ImportReport) {
    for f in &report.files {
        if let Some(error) = &f.error {
            println!("{}: error: {error}", f.path);
            continue;
        }
        let format = f.format.as_deref().unwrap_or("?");
        if f.rate_rows > 0 && f.records == 0 {
            println!(
                "{}: {format}, {} days of exchange rates, {} quarantined",
                f.path, f.rate_rows, f.quarantined
            );
        } else if f.report_rows > 0 && f.records == 0 {
            println!(
                "{}: {format}, {} spend report rows, {} quarantined",
                f.path, f.report_rows, f.quarantined
            );
        } else {
            println!(
                "{}: {format}, {} records ({} new, {} updated, {} unchanged), {} quarantined",
                f.path, f.records, f.new, f.updated, f.unchanged, f.quarantined
            );
        }
        if f.redacted_tokens > 0 {
            println!(
                "  {} access tokens redacted from the stored copy (original blake3 {})",
                f.redacted_tokens,
                f.original_blake3.as_deref().unwrap_or("?")
            );
        }
        if f.unnormalized > 0 {
            println!(
                "  {} could not be normalized and {} kept verbatim in `unmapped`:",
                counted(f.unnormalized, "value", "values"),
                if f.unnormalized == 1 { "is" } else { "are" }
            );
            for v in &f.unnormalized_values {
                println!(
                    "    line {}, field {}: \"{}\"",
                    v.line,
                    v.field.escape_debug(),
                    v.value.escape_debug()
                );
            }
            let listed = f.unnormalized_values.len() as u64;
            if f.unnormalized > listed {
                println!("    … {} more", f.unnormalized - listed);
            }
        }
        for p in &f.problems {
            match &p.field {
                Some(field) => println!("  line {}, field {field}: {}", p.line, p.reason),
                None => println!("  line {}: {}", p.line, p.reason),
            }
        }
        if f.quarantined > f.problems.len() as u64 {
            println!("  … {} more", f.quarantined - f.problems.len() as u64);
        }
        if f.quarantined > 0 {
            if let Some(hash) = &f.blake3 {
                println!(
                    "  quarantined rows: {}",
                    archive.quarantine_path(hash).display()
                );
            }
        }
        for s in &f.skipped {
            println!("  skipped {}: {}", s.name, s.reason);
        }
        for w in &f.warnings {
            println!("  warning: {w}");
        }
    }
    let t = report.totals;
    println!(
        "total: {} records ({} new, {} updated, {} unchanged), {} spend report rows, {} quarantined",
        t.records, t.new, t.updated, t.unchanged, t.report_rows, t.quarantined
    );
}

/// A progress bar over the bytes of the current file, on a terminal only.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Self {
        Bar(std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }))
    }

    fn as_progress(&self) -> &dyn Progress {
        match &self.0 {
            Some(_) => self,
            None => &NoProgress,
        }
    }
}

impl Progress for Bar {
    fn start(&self, name: &str, len: u64) {
        if let Some(bar) = &self.0 {
            bar.reset();
            bar.set_length(len);
            bar.set_message(name.to_owned());
        }
    }

    fn advance(&self, offset: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(offset);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// What a public server allows each client and all of them.
#[derive(clap::Args)]
struct ServeLimits {
    /// Requests per second per client (an IPv4 address or an IPv6 /64;
    /// bursts of twice that), each weighed by its work: a request costs one
    /// for every 4 ms it took, at least one. 0: no per-client limits at all.
    #[arg(long, env = "ADARCHIVE_RATE_LIMIT", default_value_t = startup::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Requests one client may have in flight at once.
    #[arg(long, env = "ADARCHIVE_MAX_IN_FLIGHT", default_value_t = startup::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: u32,
    /// Exports running at once, over all clients.
    #[arg(long, env = "ADARCHIVE_MAX_EXPORTS", default_value_t = startup::DEFAULT_MAX_EXPORTS)]
    max_exports: usize,
    /// Exports one client may run at once.
    #[arg(long, env = "ADARCHIVE_MAX_EXPORTS_PER_CLIENT", default_value_t = startup::DEFAULT_MAX_EXPORTS_PER_CLIENT)]
    max_exports_per_client: usize,
    /// A reverse proxy (address or network, e.g. 10.0.0.0/8) whose
    /// X-Forwarded-For header names the client; repeat for several.
    /// Without one, the header is ignored.
    #[arg(long = "trusted-proxy", env = "ADARCHIVE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl ServeLimits {
    fn config(self, data: PathBuf, bind: String) -> startup::ApiConfig {
        startup::ApiConfig {
            data,
            bind,
            rate_limit: self.rate_limit,
            max_in_flight: self.max_in_flight,
            max_exports: self.max_exports,
            max_exports_per_client: self.max_exports_per_client,
            trusted_proxies: self.trusted_proxies,
        }
    }
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.2`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an address or a network such as 10.0.0.0/8"))
}
