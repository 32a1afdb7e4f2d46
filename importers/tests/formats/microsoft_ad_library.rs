//! Microsoft Advertising Ad Library replies, from the documented shapes.

use crate::common;

use adarchive_importers::microsoft_ad_library::MicrosoftAdLibrary;
use adarchive_importers::{by_name, detect};
use adarchive_schema::{CountRange, MediaType};
use common::{find, fixture, read};

#[test]
fn an_ads_page_maps_every_field() {
    let bytes = fixture("microsoft/ads_page.json");
    assert_eq!(detect(&bytes).unwrap().name(), "microsoft-ad-library");
    let got = read(&MicrosoftAdLibrary, &bytes);
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    assert_eq!(got.records.len(), 2);
    let ad = find(&got, "microsoft:160543120123");
    assert_eq!(ad.platform_ad_id, "160543120123");
    assert_eq!(ad.advertiser.id.as_deref(), Some("187234012"));
    assert_eq!(ad.advertiser.name.as_deref(), Some("Grüne Zukunft e.V."));
    assert_eq!(ad.creative.titles, ["Wählen Sie am 9. Juni"]);
    assert_eq!(
        ad.creative.bodies,
        ["Für ein klimaneutrales Europa. Jetzt informieren."]
    );
    assert_eq!(ad.creative.captions, ["gruene-zukunft.example.de"]);
    assert_eq!(
        ad.creative.link_urls,
        ["https://gruene-zukunft.example.de/europawahl"]
    );
    assert_eq!(
        ad.creative.snapshot_url.as_deref(),
        Some("https://adlibrary.ads.microsoft.com/ad/160543120123")
    );
    // An empty AssetJson is no value; the page's @odata keys are not the ad's.
    assert!(ad.unmapped.is_empty(), "{:?}", ad.unmapped);
    let second = find(&got, "microsoft:160543120999");
    assert_eq!(
        second.unmapped["AssetJson"],
        r#"{"images":[{"url":"https://example.ro/a.png"}]}"#
    );
    // Each record's raw bytes are the ad object inside the page.
    let raw = std::str::from_utf8(&got.records[1].1).unwrap();
    assert!(raw.starts_with('{') && raw.contains("160543120999") && !raw.contains("odata"));
    assert_eq!(got.records[1].0.line, 15);
}

#[test]
fn a_single_ad_with_details_maps_dates_impressions_countries_and_targets() {
    let bytes = fixture("microsoft/ad_detail.json");
    assert_eq!(detect(&bytes).unwrap().name(), "microsoft-ad-library");
    let got = read(&MicrosoftAdLibrary, &bytes);
    assert_eq!(got.records.len(), 1);
    let (_, _, ad, unnormalized) = &got.records[0];
    assert_eq!(unnormalized.len(), 0);
    assert_eq!(ad.funder.as_deref(), Some("Grüne Zukunft Bundesverband"));
    assert_eq!(ad.first_shown.unwrap().to_string(), "2024-05-02T00:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2024-06-08T00:00:00Z");
    assert_eq!(
        ad.impressions,
        Some(CountRange {
            lower: 2_500,
            upper: Some(5_000)
        })
    );
    // A country name and Microsoft's numeric code (10 = Austria) both map to ISO.
    assert_eq!(ad.countries, ["DE", "AT"]);
    let shares: Vec<_> = ad
        .delivery
        .regions
        .iter()
        .map(|r| (r.region.as_str(), r.share))
        .collect();
    assert_eq!(shares.len(), 2);
    assert_eq!(shares[0].0, "DE");
    assert!((shares[0].1 - 0.827).abs() < 1e-9);
    assert!((shares[1].1 - 0.173).abs() < 1e-9);
    assert_eq!(
        ad.targeting.other["target_types_included"],
        ["Location", "Age"]
    );
    assert_eq!(ad.targeting.other["target_types_excluded"], ["Gender"]);
    assert!(!ad.unmapped.contains_key("AdDetails.RestrictionReason"));
    assert_eq!(
        ad.unmapped
            .get("@odata.context")
            .and_then(|v| v.as_str())
            .map(|s| s.ends_with("$entity")),
        Some(true)
    );
    assert_eq!(ad.creative.media_type, None::<MediaType>);
}

#[test]
fn older_target_types_and_unknown_countries_are_kept() {
    let got = read(
        &MicrosoftAdLibrary,
        &fixture("microsoft/ad_detail_minimal.json"),
    );
    let (_, _, ad, unnormalized) = &got.records[0];
    assert_eq!(ad.uid, "microsoft:160543121000");
    assert_eq!(ad.targeting.other["target_types_included"], ["Location"]);
    assert!(ad.countries.is_empty());
    assert_eq!(unnormalized.len(), 1);
    assert_eq!(
        ad.unmapped["AdDetails.ImpressionsByCountry"][0]["Country"],
        "Atlantis"
    );
}

#[test]
fn an_error_reply_is_a_problem_with_the_api_message() {
    let bytes = fixture("microsoft/error.json");
    // An error reply names no platform: it is read with an explicit format.
    assert!(detect(&bytes).is_none());
    let got = read(by_name("microsoft-ad-library").unwrap(), &bytes);
    assert!(got.records.is_empty());
    let (locator, field, reason) = &got.problems[0];
    assert_eq!(locator.line, 1);
    assert_eq!(field.as_deref(), Some("error"));
    assert!(
        reason.contains("InvalidParameter") && reason.contains("between 1 and 24"),
        "{reason}"
    );
}

#[test]
fn several_unreadable_items_are_all_kept() {
    let text = r#"{"AdId":1,"AdvertiserName":"A","AdDetails":{"ImpressionsByCountry":[{"Country":"Atlantis","ImpressionShare":"50%"},{"Country":"Lemuria","ImpressionShare":"50%"}]}}"#;
    let got = read(&MicrosoftAdLibrary, text.as_bytes());
    let (_, _, ad, unnormalized) = &got.records[0];
    assert_eq!(unnormalized.len(), 2);
    assert_eq!(
        ad.unmapped["AdDetails.ImpressionsByCountry"][1]["Country"],
        "Lemuria"
    );
}
