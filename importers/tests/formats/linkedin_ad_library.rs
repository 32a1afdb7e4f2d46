//! LinkedIn Ad Library API pages, from the documented shapes.

use crate::common;

use adarchive_importers::linkedin_ad_library::LinkedInAdLibrary;
use adarchive_importers::{by_name, detect};
use adarchive_schema::{CountRange, MediaType};
use common::{find, fixture, read};

#[test]
fn a_page_maps_statistics_and_targeting() {
    let bytes = fixture("linkedin/ad_library_page.json");
    assert_eq!(detect(&bytes).unwrap().name(), "linkedin-ad-library");
    let got = read(&LinkedInAdLibrary, &bytes);
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    assert_eq!(got.records.len(), 2);
    let ad = find(&got, "linkedin:1470155666");
    assert_eq!(
        ad.creative.snapshot_url.as_deref(),
        Some("https://www.linkedin.com/ad-library/detail/1470155666")
    );
    assert_eq!(ad.creative.media_type, Some(MediaType::Video));
    assert_eq!(ad.unmapped["details.type"], "SPONSORED_VIDEO");
    assert_eq!(ad.unmapped["isRestricted"], false);
    assert_eq!(
        ad.advertiser.name.as_deref(),
        Some("Europäische Bewegung Deutschland")
    );
    assert_eq!(ad.advertiser.id.as_deref(), Some("10123456"));
    assert_eq!(
        ad.funder.as_deref(),
        Some("Europäische Bewegung Deutschland e.V.")
    );
    assert_eq!(ad.first_shown.unwrap().to_string(), "2024-05-01T10:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2024-06-03T00:00:00Z");
    assert_eq!(
        ad.impressions,
        Some(CountRange {
            lower: 0,
            upper: Some(1_000)
        })
    );
    assert_eq!(ad.countries, ["DE", "AT"]);
    assert!((ad.delivery.regions[0].share - 0.9154).abs() < 1e-9);
    assert_eq!(ad.targeting.locations_included, ["Germany", "Austria"]);
    assert_eq!(ad.targeting.locations_excluded, ["Bavaria, Germany"]);
    assert_eq!(ad.targeting.other["language_included"], ["German"]);
    assert_eq!(
        ad.targeting.other["company_size_included"],
        ["51-200", "201-500"]
    );

    // No adStatistics (not served in the EU): still imported, without dates.
    let plain = find(&got, "linkedin:1470159999");
    assert!(plain.first_shown.is_none() && plain.impressions.is_none());
    assert_eq!(plain.creative.media_type, None);
    assert_eq!(
        plain.unmapped["details.type"],
        "SPONSORED_UPDATE_NEW_FORMAT"
    );
    assert_eq!(plain.advertiser.id.as_deref(), Some("thinktank-europa"));
}

#[test]
fn json_lines_with_bad_urls_and_times() {
    let got = read(
        &LinkedInAdLibrary,
        &fixture("linkedin/elements_minimal.jsonl"),
    );
    assert_eq!(got.records.len(), 2);
    assert_eq!(got.records[0].2.creative.media_type, Some(MediaType::Text));
    let carousel = &got.records[1];
    assert_eq!(carousel.0.line, 3);
    assert_eq!(carousel.2.creative.media_type, Some(MediaType::Carousel));
    assert_eq!(
        carousel.2.impressions,
        Some(CountRange {
            lower: 1_000,
            upper: Some(5_000)
        })
    );
    assert_eq!(carousel.3.len(), 1);
    assert_eq!(
        carousel.2.unmapped["details.adStatistics.firstImpressionAt"],
        "not a time"
    );
    let (locator, field, reason) = &got.problems[0];
    assert_eq!((locator.line, field.as_deref()), (2, Some("adUrl")));
    assert!(reason.contains("no ad id"), "{reason}");
}

#[test]
fn an_error_reply_is_a_problem_with_the_api_message() {
    let bytes = fixture("linkedin/error.json");
    assert!(detect(&bytes).is_none());
    let got = read(by_name("linkedin-ad-library").unwrap(), &bytes);
    assert!(got.records.is_empty());
    assert!(got.problems[0].2.contains("Invalid access token"));
}
