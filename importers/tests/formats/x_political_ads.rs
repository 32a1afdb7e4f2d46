//! X political ads disclosure CSV, from the documented columns.

use crate::common;

use adarchive_importers::detect;
use adarchive_importers::x_political_ads::XPoliticalAds;
use adarchive_schema::{CountRange, SpendRange};
use common::{find, fixture, read};

#[test]
fn known_columns_map_and_others_are_kept() {
    let bytes = fixture("x/political_ads.csv");
    assert_eq!(detect(&bytes).unwrap().name(), "x-political-ads");
    let got = read(&XPoliticalAds, &bytes);
    assert_eq!(got.records.len(), 2);
    let ad = find(&got, "x:1041087359135830016");
    assert_eq!(ad.platform_ad_id, "1041087359135830016");
    assert_eq!(ad.advertiser.name.as_deref(), Some("VoteForward"));
    assert_eq!(ad.advertiser.id.as_deref(), Some("VoteForward"));
    assert_eq!(
        ad.creative.snapshot_url.as_deref(),
        Some("https://twitter.com/VoteForward/status/1041087359135830016")
    );
    assert_eq!(ad.first_shown.unwrap().to_string(), "2018-09-15T00:00:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2018-11-06T00:00:00Z");
    assert_eq!(ad.targeting.other["targeting_name"], ["GOTV Ohio"]);
    assert_eq!(ad.targeting.interests, ["Politics", "News"]);
    assert_eq!(ad.targeting.locations_included, ["Ohio"]);
    assert_eq!(ad.targeting.genders, ["female"]);
    assert_eq!(ad.targeting.ages, ["18-34", "35-49"]);
    assert_eq!(ad.impressions, Some(CountRange::exact(12_345)));
    // Cents become the whole-dollar range that holds the amount.
    assert_eq!(
        ad.spend,
        [SpendRange {
            currency: "USD".into(),
            lower: 1_234,
            upper: Some(1_235)
        }]
    );
    assert_eq!(ad.unmapped["Advertiser Type"], "Political");

    let running = find(&got, "x:1041087359135830017");
    assert_eq!(
        running.first_shown.unwrap().to_string(),
        "2018-09-20T00:00:00Z"
    );
    assert!(running.last_shown.is_none());
    assert_eq!(running.spend, [SpendRange::exact("USD", 200)]);
    assert_eq!(running.advertiser.name.as_deref(), Some("SenateCandidate"));
}

#[test]
fn an_unknown_date_format_quarantines_the_row_showing_the_value() {
    let got = read(&XPoliticalAds, &fixture("x/political_ads.csv"));
    assert_eq!(got.problems.len(), 1);
    let (locator, field, reason) = &got.problems[0];
    assert_eq!(locator.line, 4);
    assert_eq!(field.as_deref(), Some("Day of Start Date Adgroup"));
    assert!(reason.contains("`2018.09.21`"), "{reason}");
}

#[test]
fn a_tweet_id_beyond_float_precision_is_kept_exactly() {
    let csv = "Tweet Id,Screen Name\n9007199254740993,a\n";
    let got = read(&XPoliticalAds, csv.as_bytes());
    assert_eq!(got.records[0].2.uid, "x:9007199254740993");
}
