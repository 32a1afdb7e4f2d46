//! Google Ads Transparency Center rows, from the BigQuery table's columns.

use crate::common;

use adarchive_importers::detect;
use adarchive_importers::google_ads_transparency::GoogleAdsTransparency;
use adarchive_schema::{CountRange, MediaType};
use common::{find, fixture, read};

#[test]
fn rows_map_regions_dates_and_times_shown() {
    let bytes = fixture("google-atc/creative_stats.jsonl");
    assert_eq!(detect(&bytes).unwrap().name(), "google-ads-transparency");
    let got = read(&GoogleAdsTransparency, &bytes);
    assert_eq!(got.records.len(), 2);
    let ad = find(&got, "google-atc:CR04418124404568186881");
    assert_eq!(ad.advertiser.id.as_deref(), Some("AR17828074650563772417"));
    assert_eq!(ad.advertiser.name.as_deref(), Some("Groene Toekomst B.V."));
    assert_eq!(ad.funder.as_deref(), Some("Stichting Groene Toekomst"));
    assert_eq!(ad.creative.media_type, Some(MediaType::Video));
    assert!(ad
        .creative
        .snapshot_url
        .as_deref()
        .unwrap()
        .ends_with("/creative/CR04418124404568186881"));
    assert_eq!(ad.countries, ["NL", "BE"]);
    // Dates span the regions; counts are summed over them.
    assert_eq!(ad.first_shown.unwrap().to_string(), "2024-04-28T00:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2024-06-05T00:00:00Z");
    assert_eq!(
        ad.impressions,
        Some(CountRange {
            lower: 11_000,
            upper: Some(17_000)
        })
    );
    // Per-region figures are kept as published.
    assert_eq!(
        ad.unmapped["region_stats"][1]["times_shown_upper_bound"],
        "2000"
    );
    assert_eq!(ad.unmapped["advertiser_location"], "NL");
    assert_eq!(ad.unmapped["topic"], "Politics");
    assert_eq!(ad.unmapped["advertiser_verification_status"], "VERIFIED");

    let open = find(&got, "google-atc:CR04418124404568180000");
    assert_eq!(
        open.impressions,
        Some(CountRange {
            lower: 100_000,
            upper: None
        })
    );
    assert_eq!(open.creative.media_type, Some(MediaType::Text));
    assert!(open.advertiser.name.is_none());

    let (locator, field, _) = &got.problems[0];
    assert_eq!((locator.line, field.as_deref()), (3, Some("creative_id")));
}
