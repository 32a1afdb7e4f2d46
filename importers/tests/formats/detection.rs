//! Every format is recognized from content alone, as itself and nothing
//! else.

use crate::common;

use adarchive_importers::{detect, format_names};
use common::{claims, fixture, fixture_files, sample, samples};

#[test]
fn every_fixture_is_its_own_format_only() {
    let fixtures = fixture_files();
    for platform in adarchive_importers::platforms() {
        let has_fixtures = fixtures.iter().any(|(_, p)| *p == platform);
        let read_from_samples = matches!(
            platform,
            adarchive_schema::Platform::Google
                | adarchive_schema::Platform::Meta
                | adarchive_schema::Platform::Snap
        );
        assert!(
            has_fixtures || read_from_samples,
            "{platform} has no fixtures in importers/tests/fixtures/{platform}/"
        );
    }
    for (file, platform) in fixtures {
        let claimed = claims(&fixture(&file));
        let own: Vec<&str> = adarchive_importers::all()
            .iter()
            .filter(|i| i.platform() == Some(platform))
            .map(|i| i.name())
            .collect();
        match claimed.as_slice() {
            [one] => assert!(own.contains(one), "{file} is claimed by {one}"),
            // Bare error replies of some platforms carry nothing that names
            // the platform: no importer claims them (they import with
            // `--format`).
            [] => assert!(
                file.rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with("error")),
                "{file} is claimed by no importer"
            ),
            several => panic!("{file} is claimed by {several:?}"),
        }
    }
    assert_eq!(
        claims(&fixture("tiktok/error.json")),
        ["tiktok-commercial-content"]
    );
    for file in ["microsoft/error.json", "linkedin/error.json"] {
        assert!(claims(&fixture(file)).is_empty(), "{file}");
    }
}

#[test]
fn every_real_sample_is_its_own_format_only() {
    if common::skip_without_samples() {
        return;
    }
    let ads = [
        (
            "google/creative_stats_2020-10_derived/creative_stats_NL_2020-10.RECONSTRUCTED.csv",
            "google-creative-stats",
        ),
        (
            "meta/ads_archive_api/ambanum_2019_ads_archive_25ads.redacted.json",
            "meta-ads-archive",
        ),
        (
            "meta/ads_archive_api/lejo1_example_ad_2021.json",
            "meta-ads-archive",
        ),
        ("snap/2018_PoliticalAds2018.csv", "snap-political-ads"),
        ("snap/2020_PoliticalAds.first500.csv", "snap-political-ads"),
        (
            "snap/2023_PoliticalAds.sorted.first500.csv",
            "snap-political-ads",
        ),
        (
            "snap/2026_PoliticalAds.sorted.first500.csv",
            "snap-political-ads",
        ),
    ];
    for (file, format) in ads {
        assert_eq!(claims(&sample(file)), [format], "{file}");
    }
    let reports = walk(&samples())
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(samples())
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let format = if rel.contains("FacebookAdLibraryReport") {
                "meta-ad-library-report"
            } else if rel.contains("advertiser-stats")
                || rel.contains("weekly-spend")
                || rel.contains("geo-spend")
                || rel.contains("top-keywords-history")
            {
                "google-spend-reports"
            } else {
                return None;
            };
            Some((rel, format))
        })
        .collect::<Vec<_>>();
    assert!(reports.len() >= 15, "{reports:?}");
    for (rel, format) in &reports {
        assert_eq!(claims(&sample(rel)), [*format], "{rel}");
    }
    // Everything else in the samples (READMEs, provenance notes) is claimed
    // by no importer.
    let mut others = 0;
    for entry in walk(&samples()) {
        let rel = entry
            .strip_prefix(samples())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if ads.iter().any(|(f, _)| *f == rel) || reports.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        let got = claims(&std::fs::read(&entry).unwrap());
        assert!(got.is_empty(), "{rel} claimed by {got:?}");
        others += 1;
    }
    assert!(others >= 6, "only {others} other sample files seen");
}

#[test]
fn a_file_of_another_kind_is_refused() {
    let text = b"Date,Region,Votes\n2024-06-03,NL,120\n";
    assert!(detect(text).is_none());
    assert!(detect(b"<html><body>Ad Library</body></html>").is_none());
    assert!(detect(br#"{"kind":"youtube#video","id":"x"}"#).is_none());
    // Messages that list the formats tried name all eleven.
    assert_eq!(format_names().len(), 11);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
