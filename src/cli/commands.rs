//! One function per command.

use std::path::Path;
use std::process::ExitCode;

use adarchive::archive::NoProgress;
use adarchive::check;
use adarchive::generate::GenerateOptions;
use adarchive::ingest::{import_paths, ImportOptions};
use adarchive::search::SearchRequest;
use adarchive::spend::{spend_audit, Grouping, ReportQuery};
use anyhow::{bail, Context};

use super::args::*;
use super::print::*;
use super::progress::Bar;
use super::{init_logs, open, status};

pub(crate) fn import(data: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let ImportArgs {
        format,
        json,
        no_index,
        report_country,
        report_date,
        report_period,
        paths,
    } = args;
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
    let archive = open(data)?;
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

pub(crate) fn verify(data: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let VerifyArgs { json } = args;
    let archive = open(data)?;
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
    let archive = open(data)?;
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

pub(crate) fn rebuild(data: &Path, args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let RebuildArgs { json } = args;
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
    println!(
        "serving {} on http://{}",
        data.display(),
        config.bind.replace(":0", &format!(":{}", app.port()))
    );
    println!("API reference: http://127.0.0.1:{}/docs/", app.port());
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
    adarchive::generate::generate_samples(&exports, &GenerateOptions { ads, seed: 1 })?;
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
    let GenerateSamplesArgs { out, ads, seed } = args;
    let written = adarchive::generate::generate_samples(&out, &GenerateOptions { ads, seed })
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
