//! Import exports into an archive, then search it: the library's core path,
//! from published files to ranked results with facets and provenance.
//!
//! ```sh
//! cargo run --example import_and_search
//! ```
//!
//! The exports here are generated (every supported format, realistic
//! shapes); point `import_paths` at real downloads to do the same with them.

use std::path::Path;

use adarchive::archive::{Archive, NoProgress};
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::ingest::{import_paths, ImportOptions};
use adarchive::search::{search, SearchRequest};

fn main() -> anyhow::Result<()> {
    let folder = tempfile::tempdir()?;
    run(folder.path())
}

fn run(folder: &Path) -> anyhow::Result<()> {
    // 1. Exports as the platforms publish them: Google's bundle CSVs, Meta's
    //    API pages, Snap's yearly CSV, and the others.
    let exports = folder.join("exports");
    generate_samples(
        &exports,
        &GenerateOptions {
            ads: 500,
            seed: 7,
            ..Default::default()
        },
    )?;

    // 2. An archive is a data folder. Importing detects each file's format,
    //    stores its exact bytes, and derives one record per row, each with
    //    the source's blake3 and the row's line and byte range.
    let archive = Archive::open(&folder.join("data"))?;
    let report = import_paths(&archive, &[exports], ImportOptions::default(), &NoProgress)?;
    println!(
        "imported {} records ({} new) from {} files, {} rows quarantined",
        report.totals.records,
        report.totals.new,
        report.files.len(),
        report.totals.quarantined
    );
    assert!(
        report.all_recognized(),
        "every generated file is a known format"
    );

    // 3. Search: words, filters and facets, the same request the API's
    //    `GET /v1/ads?q=election&facets=platform,country` makes.
    let request = SearchRequest {
        query: "election".into(),
        facets: vec!["platform".into(), "country".into()],
        limit: 5,
        ..SearchRequest::default()
    };
    let page = search(&archive, &request)?;
    println!("{} ads match `election`", page.total);
    for hit in &page.results {
        let ad = &hit.ad;
        println!(
            "  {} by {}",
            ad.uid,
            ad.advertiser.name.as_deref().unwrap_or("(no name)")
        );
    }
    for (facet, values) in &page.facets {
        let counts: Vec<String> = values
            .iter()
            .map(|v| format!("{} {}", v.value, v.count))
            .collect();
        println!("  {facet}: {}", counts.join(", "));
    }

    // 4. Every record traces back to the bytes it came from.
    if let Some(hit) = page.results.first() {
        for observation in archive.observations_of(&hit.ad.uid)? {
            println!(
                "  {} came from source {} line {} (bytes {}–{})",
                hit.ad.uid,
                observation.source_blake3,
                observation.locator.line,
                observation.locator.byte_start,
                observation.locator.byte_end
            );
        }
    }
    Ok(())
}

#[test]
fn the_example_runs() {
    let folder = tempfile::tempdir().unwrap();
    run(folder.path()).unwrap();
}
