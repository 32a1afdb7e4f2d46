//! TikTok Commercial Content API replies, from the documented shapes.

use crate::common;

use adarchive_importers::detect;
use adarchive_importers::tiktok_commercial_content::TikTokCommercialContent;
use adarchive_schema::{CountRange, MediaType};
use common::{find, fixture, read};

#[test]
fn a_query_page_maps_each_ad_with_its_own_bytes() {
    let bytes = fixture("tiktok/query_page.json");
    assert_eq!(detect(&bytes).unwrap().name(), "tiktok-commercial-content");
    let got = read(&TikTokCommercialContent, &bytes);
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    assert_eq!(got.records.len(), 2);
    let ad = find(&got, "tiktok:1923845247192304");
    assert_eq!(ad.first_shown.unwrap().to_string(), "2024-05-01T00:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2024-05-30T00:00:00Z");
    assert_eq!(ad.reach, Some(CountRange::exact(11_000)));
    assert_eq!(ad.creative.media_type, Some(MediaType::Video));
    assert_eq!(ad.advertiser.id.as_deref(), Some("7012345678901234567"));
    assert_eq!(
        ad.advertiser.name.as_deref(),
        Some("Citoyens pour l'Europe")
    );
    assert_eq!(
        ad.funder.as_deref(),
        Some("Association Citoyens pour l'Europe")
    );
    assert_eq!(ad.unmapped["ad.status"], "active");
    assert_eq!(
        ad.unmapped["ad.videos"][0]["cover_image_url"],
        "https://library.tiktok.com/cover/1.jpg"
    );
    assert!(!ad.unmapped.contains_key("flags"));
    // Page-level keys (has_more, search_id) belong to the query, not the ad.
    assert!(!ad.unmapped.keys().any(|k| k.contains("search_id")));
    assert_eq!(got.records[0].0.line, 4);
    assert!(got.records[1].0.line > got.records[0].0.line);

    let second = find(&got, "tiktok:1923845247199999");
    assert_eq!(
        second.reach,
        Some(CountRange {
            lower: 100_000,
            upper: None
        })
    );
    assert_eq!(second.creative.media_type, Some(MediaType::Image));
    // `paid_by` is the other spelling of the payer.
    assert_eq!(second.funder.as_deref(), Some("Partido Verde Europeo"));
    // A numeric business name is kept, and flagged.
    assert_eq!(
        second.advertiser.name.as_deref(),
        Some("7012345678901230000")
    );
    assert_eq!(
        second.unmapped["flags"][0],
        "advertiser.business_name is numeric, not a name"
    );
}

#[test]
fn a_detail_reply_maps_targeting_and_reach_by_country() {
    let bytes = fixture("tiktok/ad_detail.json");
    assert_eq!(detect(&bytes).unwrap().name(), "tiktok-commercial-content");
    let got = read(&TikTokCommercialContent, &bytes);
    assert_eq!(got.records.len(), 1);
    let (_, raw, ad, unnormalized) = &got.records[0];
    assert_eq!(unnormalized.len(), 0);
    assert!(std::str::from_utf8(raw)
        .unwrap()
        .starts_with("{\n    \"ad\""));
    assert_eq!(ad.uid, "tiktok:1923845247192304");
    assert_eq!(ad.creative.titles, ["Votez le 9 juin"]);
    assert_eq!(
        ad.creative.link_urls,
        ["https://citoyens-europe.example.fr"]
    );
    assert_eq!(
        ad.reach,
        Some(CountRange {
            lower: 0,
            upper: Some(10_000)
        })
    );
    assert_eq!(
        ad.unmapped["ad.reach.unique_users_seen_by_country"]["FR"],
        "9K"
    );
    assert_eq!(ad.countries, ["BE", "FR"]);
    assert_eq!(
        ad.funder.as_deref(),
        Some("Association Citoyens pour l'Europe")
    );
    assert_eq!(ad.unmapped["advertiser.paid_by"], "Citoyens SAS");
    assert_eq!(ad.unmapped["advertiser.country_code"], "FR");
    assert_eq!(ad.unmapped["ad.call_to_action"], "Learn more");
    assert_eq!(ad.unmapped["ad.advertising_objective"], "REACH");
    assert_eq!(
        ad.unmapped["ad.rejection_info"]["affected_countries"][0],
        "DE"
    );
    assert_eq!(ad.targeting.locations_included, ["FR", "BE"]);
    assert_eq!(ad.targeting.ages, ["18-24", "25-34"]);
    assert_eq!(ad.targeting.genders, ["female", "male"]);
    assert_eq!(ad.targeting.interests, ["News & Entertainment"]);
    assert_eq!(ad.targeting.other["language"], ["fr"]);
    assert_eq!(ad.targeting.other["video_interactions"], ["true"]);
    assert_eq!(
        ad.audience_size,
        Some(CountRange {
            lower: 1_000_000,
            upper: Some(5_000_000)
        })
    );
}

#[test]
fn an_error_reply_is_refused_with_the_api_message() {
    let bytes = fixture("tiktok/error.json");
    assert_eq!(detect(&bytes).unwrap().name(), "tiktok-commercial-content");
    let got = read(&TikTokCommercialContent, &bytes);
    assert!(got.records.is_empty());
    let (_, field, reason) = &got.problems[0];
    assert_eq!(field.as_deref(), Some("error.code"));
    assert!(
        reason.contains("access_token_invalid") && reason.contains("invalid or not found"),
        "{reason}"
    );
}

#[test]
fn missing_blocks_still_import_and_an_ad_without_id_is_quarantined() {
    let got = read(
        &TikTokCommercialContent,
        &fixture("tiktok/query_page_minimal.json"),
    );
    assert_eq!(got.records.len(), 1);
    let ad = &got.records[0].2;
    assert_eq!(ad.uid, "tiktok:1923845247100001");
    assert!(ad.first_shown.is_none() && ad.advertiser.name.is_none() && ad.unmapped.is_empty());
    assert_eq!(got.problems.len(), 1);
    assert_eq!(got.problems[0].1.as_deref(), Some("ad.id"));
}

#[test]
fn items_kept_on_their_own_import_too() {
    let items = "{\"ad\":{\"id\":1923845247100002,\"first_shown_date\":20240502},\"advertiser\":{\"business_id\":7,\"paid_by\":\"P\"}}\n[{\"ad\":{\"id\":1923845247100003}}]\n";
    assert_eq!(
        detect(items.as_bytes()).unwrap().name(),
        "tiktok-commercial-content"
    );
    let got = read(&TikTokCommercialContent, items.as_bytes());
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    let uids: Vec<&str> = got.records.iter().map(|r| r.2.uid.as_str()).collect();
    assert_eq!(uids, ["tiktok:1923845247100002", "tiktok:1923845247100003"]);
    assert_eq!(got.records[0].2.funder.as_deref(), Some("P"));
    assert_eq!(got.records[1].0.line, 2);
}
