//! Meta Ad Library Report and Google aggregate spend files, checked against
//! sums computed independently from the raw CSVs.

use crate::common;

use std::collections::BTreeMap;

use adarchive_importers::detect;
use adarchive_importers::google_spend_reports::GoogleSpendReports;
use adarchive_importers::meta_ad_library_report::{MetaAdLibraryReport, NO_DISCLAIMER};
use adarchive_schema::{ReportKind, SpendRange};
use common::{read, read_as, sample, samples};

const TH: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv";
const TH_LOCATIONS: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_locations.csv";
const TH_BANGKOK: &str = "meta/ad_library_report_TH_2022-11-18/regions/FacebookAdLibraryReport_2022-11-18_TH_yesterday_Bangkok.csv";
const GB: &str =
    "meta/ad_library_report_2019/FacebookAdLibraryReportGB2019-05-11ThisWeekSpending.csv";
const UA: &str =
    "meta/ad_library_report_2019/FacebookAdLibraryReportUA2019-05-04ThisWeekSpending.csv";
const BE: &str = "meta/ad_library_report_BE_2025-07-12_excerpt/FacebookAdLibraryReport_2025-07-12_BE_last_30_days_advertisers.EXCERPT.csv";
const GOOGLE_2019: &str = "google/2019_google-political-ads-advertiser-stats.csv";
const GOOGLE_2025: &str = "google/2025_google-political-ads-advertiser-stats.head500.csv";

/// Raw rows by header name, read with nothing but the csv crate.
fn raw_rows(rel: &str) -> Vec<BTreeMap<String, String>> {
    let bytes = sample(rel);
    let text = String::from_utf8(bytes).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Meta's amount cell as (lower, upper): `≤100` is 0–100.
fn meta_amount(cell: &str) -> (u64, u64) {
    match cell.strip_prefix('≤') {
        Some(n) => (0, n.parse().unwrap()),
        None => {
            let n = cell.parse().unwrap();
            (n, n)
        }
    }
}

fn read_meta(rel: &str) -> common::Read {
    let bytes = sample(rel);
    assert_eq!(
        detect(&bytes).unwrap().name(),
        "meta-ad-library-report",
        "{rel}"
    );
    let path = samples().join(rel);
    let got = read_as(&MetaAdLibraryReport, path.to_str().unwrap(), &bytes);
    assert!(got.problems.is_empty(), "{rel}: {:?}", got.problems);
    assert!(got.records.is_empty());
    got
}

/// Per-page (lower, upper) sums from the importer's rows.
fn sums_by_page(got: &common::Read) -> BTreeMap<String, (u64, u64)> {
    let mut sums = BTreeMap::new();
    for (_, row, _) in &got.reports {
        let key = row
            .advertiser
            .id
            .clone()
            .or_else(|| row.advertiser.name.clone())
            .unwrap();
        let e = sums.entry(key).or_insert((0, 0));
        e.0 += row.spend[0].lower;
        e.1 += row.spend[0].upper.unwrap();
    }
    sums
}

#[test]
fn thailand_2022_advertisers_match_the_raw_file() {
    if common::skip_without_samples() {
        return;
    }
    let got = read_meta(TH);
    let raw = raw_rows(TH);
    assert_eq!(got.reports.len(), raw.len());
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &raw {
        let (lo, hi) = meta_amount(&r["Amount spent (THB)"]);
        let e = expected.entry(r["Page ID"].clone()).or_insert((0, 0));
        e.0 += lo;
        e.1 += hi;
    }
    assert_eq!(sums_by_page(&got), expected);

    let (_, first, unnormalized) = &got.reports[0];
    assert_eq!(unnormalized.len(), 0);
    assert_eq!(first.kind, ReportKind::Advertiser);
    assert_eq!(first.country.as_deref(), Some("TH"));
    assert_eq!(first.period, "yesterday");
    assert_eq!(
        first.report_date.unwrap().to_string(),
        "2022-11-18T00:00:00Z"
    );
    assert_eq!(first.period_start, first.period_end);
    assert_eq!(first.advertiser.id.as_deref(), Some("157659344260788"));
    assert_eq!(first.funder.as_deref(), Some("Ruthaikan Tanomkerd"));
    assert_eq!(first.spend, [SpendRange::exact("THB", 7212)]);
    assert_eq!(first.ads, Some(12));

    // One Page ID with two disclaimers stays two rows under one page.
    let twice: Vec<_> = got
        .reports
        .iter()
        .filter(|(_, r, _)| r.advertiser.id.as_deref() == Some("105505101947250"))
        .collect();
    assert_eq!(twice.len(), 2);
    assert_eq!(twice[0].1.funder.as_deref(), Some(NO_DISCLAIMER));
    assert_ne!(twice[0].1.funder, twice[1].1.funder);
    // `≤100` is the range 0–100.
    assert_eq!(
        twice[0].1.spend,
        [SpendRange {
            currency: "THB".into(),
            lower: 0,
            upper: Some(100)
        }]
    );
}

#[test]
fn thailand_locations_and_region_files() {
    if common::skip_without_samples() {
        return;
    }
    let got = read_meta(TH_LOCATIONS);
    let raw = raw_rows(TH_LOCATIONS);
    let expected: BTreeMap<String, (u64, u64)> = raw
        .iter()
        .map(|r| {
            (
                r["Location name"].clone(),
                meta_amount(&r["Amount spent (THB)"]),
            )
        })
        .collect();
    let actual: BTreeMap<String, (u64, u64)> = got
        .reports
        .iter()
        .map(|(_, r, _)| {
            assert_eq!(r.kind, ReportKind::Location);
            (
                r.location.clone().unwrap(),
                (r.spend[0].lower, r.spend[0].upper.unwrap()),
            )
        })
        .collect();
    assert_eq!(actual, expected);

    let region = read_meta(TH_BANGKOK);
    assert_eq!(region.reports.len(), raw_rows(TH_BANGKOK).len());
    let row = &region.reports[0].1;
    assert_eq!(row.kind, ReportKind::AdvertiserInRegion);
    assert_eq!(row.location.as_deref(), Some("Bangkok"));
    assert_eq!(row.ads, None);
}

#[test]
fn reports_of_2019_without_page_id_or_currency() {
    if common::skip_without_samples() {
        return;
    }
    for (rel, currency, date) in [(GB, "GBP", "2019-05-11"), (UA, "UAH", "2019-05-04")] {
        let got = read_meta(rel);
        let raw = raw_rows(rel);
        assert_eq!(got.reports.len(), raw.len(), "{rel}");
        let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for r in &raw {
            let (lo, hi) = meta_amount(&r["Amount Spent"]);
            let e = expected.entry(r["Page Name"].clone()).or_insert((0, 0));
            e.0 += lo;
            e.1 += hi;
        }
        assert_eq!(sums_by_page(&got), expected, "{rel}");
        let row = &got.reports[0].1;
        assert_eq!(row.spend[0].currency, currency);
        assert!(row.unmapped["currency_inferred"]
            .as_str()
            .unwrap()
            .starts_with(currency));
        assert_eq!(row.period, "this_week");
        assert_eq!(
            row.period_end.unwrap().to_string(),
            format!("{date}T00:00:00Z")
        );
        assert!(row.advertiser.id.is_none() && row.advertiser.name.is_some());
    }
}

#[test]
fn belgian_last_30_days_excerpt() {
    if common::skip_without_samples() {
        return;
    }
    let got = read_meta(BE);
    let row = &got.reports[0].1;
    assert_eq!(row.period, "last_30_days");
    assert_eq!(row.country.as_deref(), Some("BE"));
    assert_eq!(row.spend[0].currency, "EUR");
    assert_eq!(
        row.period_start.unwrap().to_string(),
        "2025-06-13T00:00:00Z"
    );
}

#[test]
fn google_advertiser_stats_match_the_raw_files_in_every_currency() {
    if common::skip_without_samples() {
        return;
    }
    for rel in [
        GOOGLE_2019,
        GOOGLE_2025,
        "google/2018/2018-09_google-political-ads-advertiser-stats.csv",
    ] {
        let bytes = sample(rel);
        assert_eq!(
            detect(&bytes).unwrap().name(),
            "google-spend-reports",
            "{rel}"
        );
        let got = read_as(&GoogleSpendReports, rel, &bytes);
        assert!(got.problems.is_empty(), "{rel}: {:?}", got.problems);
        let raw = raw_rows(rel);
        assert_eq!(got.reports.len(), raw.len());
        let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in &raw {
            for (column, value) in r {
                let currency = column
                    .strip_prefix("Spend_")
                    .or_else(|| column.strip_prefix("Total_Spend_"));
                if let (Some(c), false) = (currency, value.is_empty()) {
                    *expected
                        .entry((r["Advertiser_ID"].clone(), c.to_owned()))
                        .or_default() += value.parse::<u64>().unwrap();
                }
            }
        }
        let mut actual: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (_, row, _) in &got.reports {
            assert_eq!(row.kind, ReportKind::Advertiser);
            for s in &row.spend {
                assert_eq!(Some(s.lower), s.upper);
                *actual
                    .entry((row.advertiser.id.clone().unwrap(), s.currency.clone()))
                    .or_default() += s.lower;
            }
        }
        assert_eq!(actual, expected, "{rel}");
    }
}

#[test]
fn public_ids_become_typed_identifiers() {
    if common::skip_without_samples() {
        return;
    }
    let got = read_as(&GoogleSpendReports, GOOGLE_2019, &sample(GOOGLE_2019));
    let row = &got.reports[0].1;
    assert_eq!(row.advertiser.id.as_deref(), Some("AR100207290732249088"));
    assert_eq!(row.identifiers[0].kind, "EIN");
    assert_eq!(row.identifiers[0].value, "46-3931666");
    assert_eq!(row.country.as_deref(), Some("US"));
    assert_eq!(row.elections, ["US-Federal"]);
    assert_eq!(row.ads, Some(1));
    let fec = got
        .reports
        .iter()
        .flat_map(|(_, r, _)| &r.identifiers)
        .filter(|i| i.kind == "FEC")
        .count();
    assert!(fec > 100, "{fec} FEC ids");
    // An unparseable list is kept verbatim and counted.
    let odd = got
        .reports
        .iter()
        .find(|(_, r, _)| r.unmapped.contains_key("Public_IDs_List"))
        .unwrap();
    assert_eq!(odd.2, ["Public_IDs_List"]);
}

#[test]
fn weekly_geo_and_id_mapping_files() {
    if common::skip_without_samples() {
        return;
    }
    let weekly = "google/2019_google-political-ads-advertiser-weekly-spend.head500.csv";
    let got = read_as(&GoogleSpendReports, weekly, &sample(weekly));
    let row = &got.reports[1].1;
    assert_eq!(row.kind, ReportKind::AdvertiserWeek);
    assert_eq!(
        row.period_start.unwrap().to_string(),
        "2018-09-23T00:00:00Z"
    );
    assert_eq!(row.period_end.unwrap().to_string(), "2018-09-29T00:00:00Z");
    assert_eq!(row.elections, ["US-Federal-2018"]);
    assert!(row.spend.contains(&SpendRange::exact("INR", 250)));

    let geo = "google/2019_google-political-ads-geo-spend.csv";
    let got = read_as(&GoogleSpendReports, geo, &sample(geo));
    assert_eq!(got.reports[0].1.country.as_deref(), Some("AT"));
    assert!(got.reports[0]
        .1
        .spend
        .contains(&SpendRange::exact("EUR", 303_000)));
    assert!(got.reports.iter().any(|(_, r, _)| r.location.is_some()));

    let geo_2018 = "google/2018/2018-09_google-political-ads-geo-spend.csv";
    let got = read_as(&GoogleSpendReports, geo_2018, &sample(geo_2018));
    let row = &got.reports[0].1;
    assert_eq!(row.country.as_deref(), Some("US"));
    assert_eq!(row.location.as_deref(), Some("US-AK / AK-AT LARGE"));
    assert_eq!(row.spend, [SpendRange::exact("USD", 18_900)]);

    let mapping =
        "OldAdvertiserId,NewAdvertiserId\nAR100996740080992256,AR08395185106758664193\n,AR1\n";
    assert_eq!(
        detect(mapping.as_bytes()).unwrap().name(),
        "google-spend-reports"
    );
    let got = read_as(
        &GoogleSpendReports,
        "advertiser_id_mapping.csv",
        mapping.as_bytes(),
    );
    let row = &got.reports[0].1;
    assert_eq!(row.kind, ReportKind::AdvertiserIdChange);
    assert_eq!(row.advertiser.id.as_deref(), Some("AR08395185106758664193"));
    assert_eq!(row.identifiers[0].value, "AR100996740080992256");
    assert!(row.spend.is_empty());
    assert_eq!(got.problems.len(), 1);
    assert_eq!(got.problems[0].0.line, 3);
}

#[test]
fn keyword_histories_are_keyword_rows_never_totals() {
    if common::skip_without_samples() {
        return;
    }
    for (rel, first) in [
        (
            "google/2019_google-political-ads-top-keywords-history.csv",
            ("beto o rourke", 639_200, "2019-06-24T00:00:00Z"),
        ),
        (
            "google/2018/2018-09_google-political-ads-top-keywords-history.csv",
            ("ron desantis", 108_900, "2018-09-10T00:00:00Z"),
        ),
    ] {
        let bytes = sample(rel);
        assert_eq!(detect(&bytes).unwrap().name(), "google-spend-reports");
        let got = read(&GoogleSpendReports, &bytes);
        assert!(got.problems.is_empty(), "{rel}: {:?}", got.problems);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(got.reports.len(), lines - 1, "{rel}");
        for (_, row, _) in &got.reports {
            assert_eq!(row.kind, ReportKind::TopKeywords);
            assert_eq!(row.keywords.len(), 6, "{rel}");
            assert!(row.spend.is_empty(), "keyword spend is not a total");
            assert!(row.unmapped.is_empty(), "{rel}: {:?}", row.unmapped);
        }
        let row = &got.reports[0].1;
        assert_eq!(row.keywords[0].keyword, first.0);
        assert_eq!(
            row.keywords[0].spend,
            Some(SpendRange::exact("USD", first.1))
        );
        assert_eq!(row.period_start.unwrap().to_string(), first.2);
        assert!(row.elections.iter().any(|e| e == "US-Federal-2018"));
    }
}

#[test]
fn ecb_reference_rates() {
    use adarchive_importers::ecb_euro_rates::EcbEuroRates;
    let csv = "Date,USD,JPY,HRK,\n2024-06-03,1.0842,169.21,N/A,\n2024-05-31,1.0812,x,7.5,\n";
    assert_eq!(detect(csv.as_bytes()).unwrap().name(), "ecb-euro-rates");
    let got = read_as(&EcbEuroRates, "eurofxref-hist.csv", csv.as_bytes());
    assert_eq!(got.rates.len(), 1);
    let (locator, day) = &got.rates[0];
    assert_eq!(locator.line, 2);
    assert_eq!(day.date.to_string(), "2024-06-03T00:00:00Z");
    assert_eq!(day.per_euro["USD"], 1.0842);
    assert!(!day.per_euro.contains_key("HRK"), "N/A is no rate");
    let (locator, field, reason) = &got.problems[0];
    assert_eq!((locator.line, field.as_deref()), (3, Some("JPY")));
    assert!(reason.contains("`x`"), "{reason}");
}
