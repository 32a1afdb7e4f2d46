//! No input makes an importer panic: every importer reads every fixture and
//! sample cut short and with bytes damaged, and either reads it or says why.

mod common;

use adarchive_importers::{all, Entry};
use common::{fixture, sample};

fn inputs() -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = [
        "microsoft/ads_page.json",
        "microsoft/ad_detail.json",
        "tiktok/query_page.json",
        "tiktok/ad_detail.json",
        "linkedin/ad_library_page.json",
        "x/political_ads.csv",
        "google-atc/creative_stats.jsonl",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    for s in [
        "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
        "google/2019_google-political-ads-advertiser-stats.csv",
    ] {
        files.push(sample(s)[..4_000].to_vec());
    }
    let mut out = Vec::new();
    for file in files {
        // A deterministic spread of cuts and damage.
        for i in 1..12usize {
            let cut = file.len() * i / 12;
            out.push(file[..cut].to_vec());
            let mut damaged = file.clone();
            for j in (cut..damaged.len()).step_by(97) {
                damaged[j] = [b'"', b'{', b']', b',', 0xFF, b'\n', b'\\'][j % 7];
            }
            out.push(damaged);
        }
        out.push(file);
    }
    out
}

#[test]
fn damaged_and_cut_files_never_panic() {
    let mut read = 0usize;
    for bytes in inputs() {
        for importer in all() {
            let _ = importer.detect(&bytes);
            let outcome = importer.read_named(
                "FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
                &mut &bytes[..],
                &mut |entry| {
                    if let Entry::Record(r) = &entry {
                        let _ = r.ad.canonical_json();
                    }
                    Ok(())
                },
            );
            read += usize::from(outcome.is_ok());
        }
    }
    assert!(read > 100, "only {read} reads succeeded");
}
