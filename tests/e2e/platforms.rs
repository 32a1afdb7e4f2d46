//! The Microsoft, TikTok, LinkedIn, X and Google Ads Transparency Center
//! formats through the real import path: provenance, quarantine, search.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::import;
use adarchive::archive::Archive;
use adarchive::check::verify;
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::search::{search, Filters, SearchRequest};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("importers/tests/fixtures")
        .join(rel)
}

/// The X fixture inside a zip, as X publishes it.
fn x_zip(dir: &Path) -> PathBuf {
    let path = dir.join("political_ads.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(
        "political_ads.csv",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(&std::fs::read(fixture("x/political_ads.csv")).unwrap())
        .unwrap();
    zip.finish().unwrap();
    path
}

fn count(archive: &Archive, platform: &str) -> u64 {
    search(
        archive,
        &SearchRequest {
            filters: Filters {
                platform: vec![platform.into()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        },
    )
    .unwrap()
    .total
}

#[test]
fn fixtures_import_with_their_provenance_and_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let paths = vec![
        fixture("microsoft/ads_page.json"),
        fixture("microsoft/ad_detail.json"),
        fixture("tiktok/query_page.json"),
        fixture("tiktok/ad_detail.json"),
        fixture("linkedin/ad_library_page.json"),
        fixture("linkedin/elements_minimal.jsonl"),
        x_zip(dir.path()),
        fixture("google-atc/creative_stats.jsonl"),
    ];
    let report = import(&archive, &paths);
    assert!(report.all_recognized(), "{:?}", report.files);
    let by_path = |suffix: &str| {
        report
            .files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not in report"))
    };
    // An API error reply yields no row: it is refused with the API's words.
    let refused = import(&archive, &[fixture("tiktok/error.json")]);
    assert!(!refused.all_recognized());
    let error = refused.files[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("access_token_invalid"), "{error}");
    assert_eq!(by_path("elements_minimal.jsonl").counts.quarantined, 1);
    let member = by_path("political_ads.zip!/political_ads.csv");
    assert_eq!(member.format.as_deref(), Some("x-political-ads"));
    assert_eq!((member.counts.records, member.counts.quarantined), (2, 1));

    // The ad detail updates the ad first seen in a query page.
    assert_eq!(by_path("tiktok/ad_detail.json").counts.updated, 1);
    assert_eq!(by_path("microsoft/ad_detail.json").counts.updated, 1);

    let verified = verify(&archive).unwrap();
    assert!(verified.ok(), "{:?}", verified.mismatches);

    for (platform, ads) in [
        ("microsoft", 2),
        ("tiktok", 2),
        ("linkedin", 4),
        ("x", 2),
        ("google-atc", 2),
    ] {
        assert_eq!(count(&archive, platform), ads, "{platform}");
    }

    // Every observation points at bytes of the stored source with its hash.
    for uid in [
        "tiktok:1923845247199999",
        "microsoft:160543120999",
        "linkedin:1470155666",
        "x:1041087359135830016",
        "google-atc:CR04418124404568186881",
    ] {
        let observations = archive.observations_of(uid).unwrap();
        assert!(!observations.is_empty(), "{uid}");
        for o in observations {
            let stored = std::fs::read(archive.source_path(&o.source_blake3)).unwrap();
            let raw = &stored[o.locator.byte_start as usize..o.locator.byte_end as usize];
            assert_eq!(blake3::hash(raw).to_hex().as_str(), o.raw_hash, "{uid}");
        }
    }
    // The TikTok detail is the latest version: its targeting is searchable.
    let latest = archive.latest("tiktok:1923845247192304").unwrap().unwrap();
    assert_eq!(latest.targeting.ages, ["18-24", "25-34"]);
    assert_eq!(archive.history("tiktok:1923845247192304").unwrap().len(), 2);
}

#[test]
fn generated_samples_show_every_platform_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("samples");
    let written = generate_samples(
        &out,
        &GenerateOptions {
            ads: 1_000,
            seed: 11,
            ..Default::default()
        },
    )
    .unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let paths: Vec<PathBuf> = written.files.iter().map(|f| f.path.clone()).collect();
    let report = import(&archive, &paths);
    assert!(report.all_recognized());
    assert_eq!(report.totals.quarantined, 0);
    assert_eq!(
        report
            .files
            .iter()
            .map(|f| f.counts.unnormalized)
            .sum::<u64>(),
        0
    );
    assert_eq!(report.totals.records, 1_000);
    for platform in adarchive_schema::Platform::ALL {
        let written: u64 = written
            .files
            .iter()
            .filter(|f| f.platform == platform)
            .map(|f| f.ads)
            .sum();
        assert!(
            written > 0,
            "{platform}: the generator writes none of its ads"
        );
        assert_eq!(count(&archive, platform.as_str()), written, "{platform}");
    }
    let facets = search(
        &archive,
        &SearchRequest {
            facets: vec!["platform".into()],
            ..SearchRequest::default()
        },
    )
    .unwrap()
    .facets;
    assert_eq!(
        facets["platform"].len(),
        adarchive_schema::Platform::ALL.len()
    );
}
