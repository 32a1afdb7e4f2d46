//! The importers against real exports in `../shared/samples`.

use crate::common;

use adarchive_importers::{
    detect, google_creative_stats::GoogleCreativeStats, meta_ads_archive::MetaAdsArchive,
    snap_political_ads::SnapPoliticalAds,
};
use adarchive_schema::{CountRange, MediaType, SpendRange};
use common::{find, read, sample};

const GOOGLE: &str =
    "google/creative_stats_2020-10_derived/creative_stats_NL_2020-10.RECONSTRUCTED.csv";
const META_2019: &str = "meta/ads_archive_api/ambanum_2019_ads_archive_25ads.redacted.json";
const META_2021: &str = "meta/ads_archive_api/lejo1_example_ad_2021.json";
const SNAP: [(&str, usize); 4] = [
    ("snap/2018_PoliticalAds2018.csv", 659),
    ("snap/2020_PoliticalAds.first500.csv", 500),
    ("snap/2023_PoliticalAds.sorted.first500.csv", 500),
    ("snap/2026_PoliticalAds.sorted.first500.csv", 500),
];

#[test]
fn google_creative_stats_sample() {
    if common::skip_without_samples() {
        return;
    }
    let bytes = sample(GOOGLE);
    assert_eq!(detect(&bytes).unwrap().name(), "google-creative-stats");
    let got = read(&GoogleCreativeStats, &bytes);
    assert_eq!(got.records.len(), 503);
    assert!(got.problems.is_empty(), "{:?}", got.problems);

    let ad = find(&got, "google:CR524874621665673216");
    assert_eq!(ad.advertiser.id.as_deref(), Some("AR130387441805688832"));
    assert_eq!(ad.creative.media_type, Some(MediaType::Image));
    assert_eq!(ad.countries, ["DE", "DK", "IE", "NL"]);
    assert_eq!(ad.regions, ["EU"]);
    assert_eq!(
        ad.impressions,
        Some(CountRange {
            lower: 100_000,
            upper: Some(1_000_000)
        })
    );
    assert_eq!(ad.first_shown.unwrap().to_string(), "2020-09-25T16:30:00Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2020-10-01T07:00:00Z");
    assert!(ad.spend.contains(&SpendRange {
        currency: "EUR".into(),
        lower: 50,
        upper: Some(500)
    }));
    assert!(ad.spend.contains(&SpendRange {
        currency: "HUF".into(),
        lower: 7500,
        upper: Some(75000)
    }));
    assert_eq!(
        ad.spend.len(),
        13,
        "one range per currency pair in the header"
    );
    assert!(
        ad.targeting.ages.is_empty(),
        "`Not targeted` is no targeting"
    );
    assert_eq!(
        ad.targeting.locations_included,
        ["France", "Germany", "Ireland", "Poland"]
    );
    assert!(ad.targeting.locations_excluded.is_empty());
    assert_eq!(ad.unmapped["Num_of_Days"], "6");

    let targeted = find(&got, "google:CR186242632496709632");
    assert_eq!(
        targeted.targeting.ages,
        ["18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"]
    );
    assert_eq!(targeted.targeting.genders, ["male", "female", "unknown"]);
    assert_eq!(
        targeted.impressions,
        Some(CountRange {
            lower: 10_000,
            upper: Some(100_000)
        })
    );

    // Against the raw file, independently: every ad's impressions bucket and
    // the EUR spend pair, with an empty max as the open top bucket.
    let mut raw = csv::Reader::from_reader(&bytes[..]);
    let headers = raw.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    for row in raw.records() {
        let row = row.unwrap();
        let ad = find(&got, &format!("google:{}", &row[col("Ad_ID")]));
        let eur = ad.spend.iter().find(|s| s.currency == "EUR").unwrap();
        assert_eq!(eur.lower.to_string(), &row[col("Spend_Range_Min_EUR")]);
        let max = &row[col("Spend_Range_Max_EUR")];
        assert_eq!(eur.upper.map(|u| u.to_string()).unwrap_or_default(), max);
        let expected = match &row[col("Impressions")] {
            "≤ 10k" => (0, Some(10_000)),
            "10k-100k" => (10_000, Some(100_000)),
            "100k-1M" => (100_000, Some(1_000_000)),
            other => panic!("unexpected bucket {other}"),
        };
        let imp = ad.impressions.unwrap();
        assert_eq!((imp.lower, imp.upper), expected);
    }
}

#[test]
fn meta_ads_archive_samples() {
    if common::skip_without_samples() {
        return;
    }
    let bytes = sample(META_2019);
    assert_eq!(detect(&bytes).unwrap().name(), "meta-ads-archive");
    let got = read(&MetaAdsArchive, &bytes);
    assert_eq!(got.records.len(), 25);
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    // No `id` field in 2019 items: the id comes from the snapshot URL.
    let ad = find(&got, "meta:408322803338923");
    assert_eq!(ad.advertiser.id.as_deref(), Some("48034275355"));
    assert_eq!(ad.funder.as_deref(), Some("EPP - European People's Party"));
    assert_eq!(
        ad.creative.snapshot_url.as_deref(),
        Some("https://www.facebook.com/ads/archive/render_ad/?id=408322803338923"),
        "no access_token in the record"
    );
    assert_eq!(
        ad.spend,
        [SpendRange {
            currency: "EUR".into(),
            lower: 0,
            upper: Some(99)
        }]
    );
    assert_eq!(
        ad.impressions,
        Some(CountRange {
            lower: 5000,
            upper: Some(9999)
        })
    );
    assert_eq!(ad.first_shown.unwrap().to_string(), "2019-05-13T15:30:13Z");
    assert_eq!(ad.last_shown.unwrap().to_string(), "2019-05-16T15:30:04Z");
    assert_eq!(ad.creative.captions, ["instagram.com"]);
    assert_eq!(ad.delivery.age_gender[0].share, 0.001114);
    assert!(ad
        .delivery
        .regions
        .iter()
        .any(|r| r.region == "Panevėžys County"));
    assert_eq!(ad.unmapped["ad_creation_time"], "2019-05-13T15:30:04+0000");
    let running = got
        .records
        .iter()
        .filter(|r| r.2.last_shown.is_none())
        .count();
    assert_eq!(running, 25 - 11, "absent stop time = still running");

    let bytes = sample(META_2021);
    let got = read(&MetaAdsArchive, &bytes);
    assert_eq!(got.records.len(), 1);
    let ad = &got.records[0].2;
    assert_eq!(ad.uid, "meta:679808276335343");
    assert_eq!(ad.first_shown.unwrap().to_string(), "2021-12-08T00:00:00Z");
    assert_eq!(
        ad.spend,
        [SpendRange {
            currency: "USD".into(),
            lower: 300,
            upper: Some(399)
        }]
    );
    assert_eq!(
        ad.audience_size,
        Some(CountRange {
            lower: 50001,
            upper: Some(100000)
        })
    );
    assert_eq!(ad.languages, ["en"]);
    assert_eq!(ad.funder.as_deref(), Some("Bloomberg Philanthropies"));
    assert_eq!(
        ad.unmapped["publisher_platforms"],
        serde_json::json!(["instagram"])
    );
}

#[test]
fn snap_samples() {
    if common::skip_without_samples() {
        return;
    }
    for (path, count) in SNAP {
        let bytes = sample(path);
        assert_eq!(
            detect(&bytes).unwrap().name(),
            "snap-political-ads",
            "{path}"
        );
        let got = read(&SnapPoliticalAds, &bytes);
        assert_eq!(got.records.len(), count, "{path}");
        assert!(got.problems.is_empty(), "{path}: {:?}", got.problems);

        // Independently from the raw file: spend, country and times.
        let mut raw = csv::Reader::from_reader(&bytes[..]);
        for (row, rec) in raw
            .deserialize::<std::collections::HashMap<String, String>>()
            .zip(&got.records)
        {
            let row = row.unwrap();
            let ad = &rec.2;
            assert_eq!(ad.platform_ad_id, row["ADID"]);
            assert_eq!(ad.spend[0].lower.to_string(), row["Spend"]);
            assert_eq!(ad.spend[0].upper, Some(ad.spend[0].lower));
            assert_eq!(ad.spend[0].currency, row["Currency Code"]);
            let start = row["StartDate"].replace('/', "-").replace(' ', "T");
            assert_eq!(ad.first_shown.unwrap().to_string(), start);
            assert_eq!(ad.last_shown.is_none(), row["EndDate"].is_empty());
            if row["CountryCode"] == "united states" {
                assert_eq!(ad.countries, ["US"]);
            }
            assert_eq!(
                ad.countries.len(),
                usize::from(!row["CountryCode"].is_empty()),
                "{}",
                row["CountryCode"]
            );
        }
    }
    let bytes = sample("snap/2023_PoliticalAds.sorted.first500.csv");
    let got = read(&SnapPoliticalAds, &bytes);
    let with_comma = got
        .records
        .iter()
        .find_map(|r| {
            r.2.targeting
                .other
                .get("advanced_demographics")
                .filter(|d| d.iter().any(|i| i.contains("Business")))
        })
        .expect("an ad targeting occupations");
    assert!(
        with_comma.contains(&"Occupation (Business, Finance or Mgmt)".to_string()),
        "{with_comma:?}"
    );
    assert!(!with_comma.iter().any(|i| i == "Finance or Mgmt)"));
    let radius = got
        .records
        .iter()
        .find_map(|r| r.2.targeting.other.get("radius_included"))
        .unwrap();
    assert!(radius[0].starts_with("latitude "));
    assert!(radius[0].contains(";radius "));
}
