//! The shapes researchers keep Meta ads in, and ads that cannot be read.

use crate::common;

use adarchive_importers::{detect, meta_ads_archive::MetaAdsArchive};
use common::read;

const AD: &str = r#"{"id":"101","page_id":"7","page_name":"Page","currency":"EUR","spend":{"lower_bound":"100","upper_bound":"199"},"ad_delivery_start_time":"2024-05-01T10:00:00+0000"}"#;

#[test]
fn page_array_and_json_lines_give_the_same_record() {
    let page = format!(
        r#"{{"data":[{AD}],"paging":{{"cursors":{{"after":"x"}},"next":"https://graph.facebook.com/v21.0/ads_archive?access_token=abc&after=x"}}}}"#
    );
    let array = format!("[\n  {AD}\n]");
    let lines = format!("{AD}\n{}\n", AD.replace("\"101\"", "\"102\""));
    let mut hashes = Vec::new();
    for text in [&page, &array, &lines] {
        assert_eq!(detect(text.as_bytes()).unwrap().name(), "meta-ads-archive");
        let got = read(&MetaAdsArchive, text.as_bytes());
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        hashes.push(got.records[0].2.record_hash());
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(
        read(&MetaAdsArchive, lines.as_bytes()).records[1].2.uid,
        "meta:102"
    );
}

#[test]
fn numbers_sent_as_numbers_or_as_strings_give_the_same_record() {
    let as_strings = r#"[{"id":"101","ad_creation_time":"2024-05-01","currency":"EUR","spend":{"lower_bound":"100","upper_bound":"199"},"impressions":{"lower_bound":"1000","upper_bound":"4999"},"demographic_distribution":[{"age":"18-24","gender":"female","percentage":"0.25"},{"age":"25-34","gender":"male","percentage":"0.75"}]}]"#;
    let as_numbers = r#"[{"id":101,"ad_creation_time":"2024-05-01","currency":"EUR","spend":{"lower_bound":100,"upper_bound":199},"impressions":{"lower_bound":1000,"upper_bound":4999},"demographic_distribution":[{"age":"18-24","gender":"female","percentage":0.25},{"age":"25-34","gender":"male","percentage":0.75}]}]"#;
    let strings = read(&MetaAdsArchive, as_strings.as_bytes());
    let numbers = read(&MetaAdsArchive, as_numbers.as_bytes());
    let (_, _, ad, unnormalized) = &strings.records[0];
    assert_eq!(unnormalized.len(), 0, "{:?}", ad.unmapped);
    assert_eq!((ad.spend[0].lower, ad.spend[0].upper), (100, Some(199)));
    assert_eq!(ad.delivery.age_gender.len(), 2);
    assert_eq!(
        numbers.records[0].3.len(),
        0,
        "{:?}",
        numbers.records[0].2.unmapped
    );
    assert_eq!(numbers.records[0].2.record_hash(), ad.record_hash());
    // Neither a number nor a string: kept verbatim, counted.
    let odd = as_strings.replace(r#""lower_bound":"100""#, r#""lower_bound":true"#);
    let odd = read(&MetaAdsArchive, odd.as_bytes());
    assert_eq!(odd.records[0].3.len(), 1);
    assert!(odd.records[0].2.spend.is_empty());
    assert_eq!(odd.records[0].2.unmapped["spend"]["lower_bound"], true);
}

#[test]
fn unexpected_nested_shapes_are_kept_verbatim_and_counted() {
    let text = r#"[{"id":"5","ad_creation_time":"2024-01-01","demographic_distribution":[{"age":"18-24","gender":"female","percentage":"0.5","extra":"x"}],"spend":"lots","currency":"EUR","languages":["en","klingon"]}]"#;
    let got = read(&MetaAdsArchive, text.as_bytes());
    let (_, _, ad, unnormalized) = &got.records[0];
    assert_eq!(unnormalized.len(), 3);
    assert!(ad.delivery.age_gender.is_empty());
    assert_eq!(ad.unmapped["demographic_distribution"][0]["extra"], "x");
    assert_eq!(ad.unmapped["spend"], "lots");
    assert_eq!(ad.unmapped["currency"], "EUR");
    assert_eq!(ad.unmapped["languages"][1], "klingon");
    assert!(ad.spend.is_empty());
}

#[test]
fn ads_without_an_id_or_valid_json_are_problems_with_their_line() {
    let text = "{\"id\":\"1\",\"ad_creation_time\":\"2024-01-01\"}\n{\"page_name\":\"no id\",\"ad_creation_time\":\"2024-01-01\"}\n{\"id\":\"3\",\"spend\":{\"lower_bound\":1,}}\n{\"id\":\"4\",\"ad_creation_time\":\"2024-01-01\"}\n";
    let got = read(&MetaAdsArchive, text.as_bytes());
    let uids: Vec<_> = got.records.iter().map(|r| r.2.uid.as_str()).collect();
    assert_eq!(uids, ["meta:1", "meta:4"]);
    assert_eq!(got.problems.len(), 2);
    assert_eq!(
        (got.problems[0].0.line, got.problems[0].1.as_deref()),
        (2, Some("id"))
    );
    assert_eq!(got.problems[1].0.line, 3);
    assert!(got.problems[1].2.contains("JSON"), "{}", got.problems[1].2);
}
