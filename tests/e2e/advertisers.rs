//! Advertisers across platforms: identities, the evidence that joins them,
//! and their spend per platform and overall.

use std::path::PathBuf;

use crate::util::{import, sample};
use adarchive::advertisers::{entity_detail, list_entities};
use adarchive::archive::Archive;
use adarchive::check::verify;
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive::search::{Filters, SearchRequest};
use adarchive::spend::{spend_totals, Grouping};

#[test]
fn one_committee_on_google_meta_and_snap_is_one_advertiser() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("samples");
    let written = generate_samples(
        &out,
        &GenerateOptions {
            ads: 3_000,
            seed: 21,
            ..Default::default()
        },
    )
    .unwrap();
    // Only the three platforms of this story.
    let paths: Vec<PathBuf> = written
        .files
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| {
            let p = p.to_string_lossy();
            p.contains("google-political-ads") || p.contains("/meta/") || p.contains("/snap/")
        })
        .collect();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    assert!(import(&archive, &paths).all_recognized());
    assert!(verify(&archive).unwrap().ok());

    let found = list_entities(&archive, Some("Friends of Jane Alvarez"), &[]).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    let entity = &found[0];
    assert_eq!(entity.platforms, ["google", "meta", "snap"]);
    assert_eq!(entity.members.len(), 3);
    // Google's advertiser stats and Snap's committee column share the FEC id.
    let by_id = entity
        .links
        .iter()
        .find(|l| l.evidence == "identifier")
        .expect("an identifier link");
    assert!(!by_id.name_only);
    assert!(
        by_id.from.starts_with("google:") && by_id.to.starts_with("snap:"),
        "{by_id:?}"
    );
    assert!(
        by_id.value.contains("FEC") && by_id.value.contains("C00"),
        "{}",
        by_id.value
    );
    // Meta's page is joined by its name alone, and says so.
    let by_name = entity
        .links
        .iter()
        .find(|l| l.to.starts_with("meta:"))
        .unwrap();
    assert_eq!(by_name.evidence, "name");
    assert!(by_name.name_only && entity.name_only_links);
    assert_eq!(by_name.value, "friends of jane alvarez");

    let detail = entity_detail(&archive, &entity.id).unwrap().unwrap();
    assert!(detail.ads.origin.starts_with("ads:"));
    for member in &detail.entity.members {
        // Each identity's ad-level sum equals a search of its own ads.
        let platform = member.platform.clone();
        let mine = detail
            .ads
            .by_identity
            .iter()
            .find(|g| g.key == member.key)
            .unwrap_or_else(|| panic!("{} has no ad totals", member.key));
        let request = SearchRequest {
            filters: Filters {
                platform: vec![platform.clone()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        };
        let all = spend_totals(&archive, &request, Grouping::Advertiser, 100_000).unwrap();
        let independent = all.groups.iter().find(|g| g.key == member.key).unwrap();
        assert_eq!(mine.spend, independent.spend, "{}", member.key);
        for s in &mine.spend {
            let p = detail
                .ads
                .by_platform
                .iter()
                .find(|t| t.platform == platform && t.currency == s.currency)
                .unwrap();
            assert_eq!(p.lower, s.lower);
        }
    }
    // Overall is the sum over platforms, currency by currency.
    for total in &detail.ads.overall {
        let sum: u128 = detail
            .ads
            .by_platform
            .iter()
            .filter(|t| t.currency == total.currency)
            .map(|t| t.lower)
            .sum();
        assert_eq!(total.lower, sum, "{}", total.currency);
    }
    // The Google advertiser report is there too, beside the ad sums.
    assert_eq!(detail.reports.by_identity.len(), 1);
    assert!(detail.reports.by_identity[0].key.starts_with("google:"));
    assert!(entity_detail(&archive, "adv-0000000000000000")
        .unwrap()
        .is_none());
}

#[test]
fn google_id_mapping_and_two_disclaimers() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("advertiser_id_mapping.csv");
    // FreedomWorks (2018 bundle) re-IDed as the first advertiser of 2019.
    std::fs::write(
        &mapping,
        "OldAdvertiserId,NewAdvertiserId\nAR100996740080992256,AR100207290732249088\n",
    )
    .unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let report = import(
        &archive,
        &[
            sample("google/2018/2018-09_google-political-ads-advertiser-stats.csv"),
            sample("google/2019_google-political-ads-advertiser-stats.csv"),
            sample("meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv"),
            mapping,
        ],
    );
    assert!(report.all_recognized());
    assert!(verify(&archive).unwrap().ok());

    let all = list_entities(&archive, None, &[]).unwrap();
    let mapped = all
        .iter()
        .find(|e| {
            e.members
                .iter()
                .any(|m| m.key == "google:AR100996740080992256")
        })
        .unwrap();
    let keys: Vec<&str> = mapped.members.iter().map(|m| m.key.as_str()).collect();
    assert!(keys.contains(&"google:AR100207290732249088"), "{keys:?}");
    assert!(mapped
        .links
        .iter()
        .any(|l| l.evidence == "google_id_mapping" && !l.name_only));

    // A page with two disclaimers: one identity, both funders (the
    // no-disclaimer placeholder names nobody and is not a funder).
    let page = all
        .iter()
        .flat_map(|e| &e.members)
        .find(|m| m.key == "meta:105505101947250")
        .unwrap();
    assert_eq!(page.funders.len(), 1);
    assert!(page.in_reports && !page.in_ads);

    // Typed identifiers are carried.
    let fec = all
        .iter()
        .flat_map(|e| &e.members)
        .flat_map(|m| &m.identifiers)
        .filter(|i| i.kind == "FEC")
        .count();
    assert!(fec > 100);
    assert!(
        list_entities(&archive, Some("freedomworks"), &["google".into()])
            .unwrap()
            .iter()
            .any(|e| e.id == mapped.id)
    );
}
