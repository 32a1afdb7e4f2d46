//! Who spent what: spend totals from the ads' published ranges beside the
//! platforms' own spend reports, and an estimate in one currency at the
//! ECB's reference rates.
//!
//! ```sh
//! cargo run --example spend
//! ```
//!
//! Spend is published as ranges (`€100–€499`) in the currency the ad was
//! bought in; sums are therefore ranges per currency, never one number,
//! and figures in different currencies are only ever added after an
//! explicit, labelled conversion.

use std::path::Path;

use adarchive::archive::{Archive, NoProgress};
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::ingest::{import_paths, ImportOptions};
use adarchive::search::SearchRequest;
use adarchive::spend::{spend_audit, Grouping, ReportQuery};

fn main() -> anyhow::Result<()> {
    let folder = tempfile::tempdir()?;
    run(folder.path())
}

fn run(folder: &Path) -> anyhow::Result<()> {
    // Generated exports include Meta's and Google's spend reports and the
    // ECB's rates, as the real downloads would.
    let exports = folder.join("exports");
    generate_samples(
        &exports,
        &GenerateOptions {
            ads: 500,
            seed: 11,
            ..Default::default()
        },
    )?;
    let archive = Archive::open(&folder.join("data"))?;
    import_paths(&archive, &[exports], ImportOptions::default(), &NoProgress)?;

    // The ads of every platform, grouped by advertiser, with the spend
    // reports of kind `advertiser` beside them, converted to euros.
    let request = SearchRequest::default();
    let reports =
        ReportQuery::from_filters(&request.filters, Some("advertiser".into()), Vec::new());
    let audit = spend_audit(
        &archive,
        &request,
        &reports,
        Grouping::Advertiser,
        5,
        Some("EUR"),
    )?;

    println!(
        "{} ads by advertiser, ordered by {}",
        audit.total_ads, audit.ordered_by
    );
    for group in &audit.groups {
        let name = group.name.as_deref().unwrap_or(&group.key);
        println!("  {name}: {} ads", group.ads);
        for total in &group.spend {
            let upper = total
                .upper
                .map_or_else(|| "open-ended".to_owned(), |u| u.to_string());
            println!("    {} {} – {upper}", total.currency, total.lower);
        }
    }
    println!(
        "reports ({}): {} rows, ordered by {}",
        audit.reports.origin, audit.reports.rows, audit.reports.ordered_by
    );
    println!("conversion: {}", audit.conversion.note);
    for group in audit.conversion.ads.iter().take(3) {
        if let Some(total) = &group.total {
            println!("  {}: {total:?}", group.key);
        }
    }
    Ok(())
}

#[test]
fn the_example_runs() {
    let folder = tempfile::tempdir().unwrap();
    run(folder.path()).unwrap();
}
