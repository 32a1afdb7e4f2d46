//! Report-level figures, side by side with ad-level sums, through the real
//! import path; conversion at ECB rates; the spreadsheet CSV.

mod util;

use std::collections::BTreeMap;
use std::path::PathBuf;

use adarchive::archive::Archive;
use adarchive::check::verify;
use adarchive::search::audit::{write_csv, CSV_COLUMNS};
use adarchive::search::{report_totals, spend_audit, Filters, ReportQuery, SearchRequest};
use util::{import, sample};

const TH: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv";
const TH_LOCATIONS: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_locations.csv";
const GB: &str =
    "meta/ad_library_report_2019/FacebookAdLibraryReportGB2019-05-11ThisWeekSpending.csv";
const UA: &str =
    "meta/ad_library_report_2019/FacebookAdLibraryReportUA2019-05-04ThisWeekSpending.csv";
const GOOGLE_2019: &str = "google/2019_google-political-ads-advertiser-stats.csv";
const GOOGLE_2025: &str = "google/2025_google-political-ads-advertiser-stats.head500.csv";

/// (key column value → (lower, upper)) summed from the raw CSV with the csv
/// crate alone; `≤100` is 0–100.
fn raw_sums(rel: &str, key: &str, amount: &str) -> BTreeMap<String, (u128, u128)> {
    let text = std::fs::read_to_string(sample(rel)).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (k, a) = (at(key), at(amount));
    let mut sums = BTreeMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        let (lo, hi): (u128, u128) = match r[a].strip_prefix('≤') {
            Some(n) => (0, n.parse().unwrap()),
            None => (r[a].parse().unwrap(), r[a].parse().unwrap()),
        };
        let e = sums.entry(r[k].to_owned()).or_insert((0u128, 0u128));
        e.0 += lo;
        e.1 += hi;
    }
    sums
}

fn archive_with(paths: &[&str]) -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let paths: Vec<PathBuf> = paths.iter().map(|p| sample(p)).collect();
    let report = import(&archive, &paths);
    assert!(report.all_recognized(), "{:?}", report.files);
    (dir, archive)
}

fn query(platform: &str, country: &str, kind: &str) -> ReportQuery {
    ReportQuery {
        kind: Some(kind.into()),
        platform: vec![platform.into()],
        country: if country.is_empty() {
            vec![]
        } else {
            vec![country.into()]
        },
        ..ReportQuery::default()
    }
}

#[test]
fn per_advertiser_and_per_location_totals_equal_the_raw_files() {
    let (_dir, archive) = archive_with(&[TH, TH_LOCATIONS, GB, UA, GOOGLE_2019, GOOGLE_2025]);
    assert!(verify(&archive).unwrap().ok());

    let totals = report_totals(
        &archive,
        &query("meta", "TH", "advertiser"),
        "advertiser",
        10_000,
    )
    .unwrap();
    let got: BTreeMap<String, (u128, u128)> = totals
        .groups
        .iter()
        .map(|g| {
            assert_eq!(g.spend.len(), 1);
            assert_eq!(g.spend[0].currency, "THB");
            (
                g.key
                    .trim_start_matches("meta:")
                    .trim_start_matches("name:")
                    .to_owned(),
                (g.spend[0].lower, g.spend[0].upper),
            )
        })
        .collect();
    assert_eq!(got, raw_sums(TH, "Page ID", "Amount spent (THB)"));
    // The page with two disclaimers: one group, two rows, both listed.
    let two = totals
        .groups
        .iter()
        .find(|g| g.key == "meta:105505101947250")
        .unwrap();
    assert_eq!((two.rows, two.lines.len()), (2, 2));
    assert_eq!((two.spend[0].lower, two.spend[0].upper), (0, 200));

    let locations =
        report_totals(&archive, &query("meta", "TH", "location"), "region", 10_000).unwrap();
    let got: BTreeMap<String, (u128, u128)> = locations
        .groups
        .iter()
        .map(|g| (g.key.clone(), (g.spend[0].lower, g.spend[0].upper)))
        .collect();
    assert_eq!(
        got,
        raw_sums(TH_LOCATIONS, "Location name", "Amount spent (THB)")
    );

    for (rel, country) in [(GB, "GB"), (UA, "UA")] {
        let totals = report_totals(
            &archive,
            &query("meta", country, "advertiser"),
            "advertiser",
            10_000,
        )
        .unwrap();
        let got: BTreeMap<String, (u128, u128)> = totals
            .groups
            .iter()
            .map(|g| {
                (
                    g.key
                        .trim_start_matches("meta:")
                        .trim_start_matches("name:")
                        .to_owned(),
                    (g.spend[0].lower, g.spend[0].upper),
                )
            })
            .collect();
        assert_eq!(got, raw_sums(rel, "Page Name", "Amount Spent"), "{rel}");
    }

    // Google: the 2025 file was imported after 2019; both are the
    // all-time advertiser report, so only the later one counts.
    let google = report_totals(
        &archive,
        &ReportQuery {
            currency: vec!["USD".into()],
            ..query("google", "", "advertiser")
        },
        "advertiser",
        10_000,
    )
    .unwrap();
    let raw_2025 = raw_sums(GOOGLE_2025, "Advertiser_ID", "Spend_USD");
    assert_eq!(google.rows, raw_2025.values().count() as u64);
    assert_eq!(google.superseded_rows, 1_193);
    for g in &google.groups {
        let id = g.key.trim_start_matches("google:");
        assert_eq!((g.spend[0].lower, g.spend[0].upper), raw_2025[id], "{id}");
    }
}

#[test]
fn ad_level_and_report_level_side_by_side_with_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("eurofxref-hist.csv");
    // Made for this test in the ECB's format: newest first, trailing comma,
    // N/A for a missing rate.
    std::fs::write(
        &rates,
        "Date,USD,THB,GBP,UAH,\n\
         2022-11-18,1.0375,37.05,0.87,N/A,\n\
         2022-11-17,1.0390,37.20,0.8725,N/A,\n\
         2019-05-10,1.1250,35.70,0.8630,N/A,\n",
    )
    .unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let no_rates = import(&archive, &[sample(TH), sample(UA), sample(util::GOOGLE)]);
    assert!(no_rates.all_recognized());

    let request = SearchRequest {
        filters: Filters {
            platform: vec!["meta".into()],
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let without = spend_audit(&archive, &request, &report, "country", 10, Some("EUR")).unwrap();
    assert!(!without.conversion.available);
    assert!(
        without.conversion.note.contains("no exchange rates"),
        "{}",
        without.conversion.note
    );

    import(&archive, &[rates]);
    let audit = spend_audit(&archive, &request, &report, "country", 10, Some("EUR")).unwrap();
    assert!(audit.origin.starts_with("ads:"));
    assert!(audit.reports.origin.starts_with("reports:"));
    let th = audit.reports.groups.iter().find(|g| g.key == "TH").unwrap();
    let raw: (u128, u128) = raw_sums(TH, "Page ID", "Amount spent (THB)")
        .values()
        .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    assert_eq!((th.spend[0].lower, th.spend[0].upper), raw);

    let c = &audit.conversion;
    assert!(c.available);
    assert!(c.note.starts_with("estimate"), "{}", c.note);
    let converted = c.reports.iter().find(|g| g.key == "TH").unwrap();
    let figure = &converted.figures[0];
    assert_eq!(figure.from_currency, "THB");
    // The report's own date, 2022-11-18: 1 EUR = 37.05 THB.
    assert_eq!(figure.rate_date.to_string(), "2022-11-18T00:00:00Z");
    assert!((figure.rate - 1.0 / 37.05).abs() < 1e-12);
    assert_eq!(figure.lower, (raw.0 as f64 / 37.05).round() as u128);
    assert_eq!(figure.upper, Some((raw.1 as f64 / 37.05).round() as u128));
    // UAH has no rate: not converted, and the note says so.
    assert!(c
        .reports
        .iter()
        .find(|g| g.key == "UA")
        .unwrap()
        .figures
        .is_empty());
    assert!(c.note.contains("not converted"), "{}", c.note);

    let bad = spend_audit(&archive, &request, &report, "country", 10, Some("euro"));
    assert!(bad.unwrap_err().to_string().contains("convert_to"));
}

#[test]
fn spreadsheet_csv_has_a_bom_quotes_and_no_formulas() {
    let (_dir, archive) = archive_with(&[TH]);
    let request = SearchRequest::default();
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let audit = spend_audit(&archive, &request, &report, "funder", 1_000, None).unwrap();
    let mut out = Vec::new();
    write_csv(&audit, &mut out).unwrap();
    assert!(out.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(out).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        CSV_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), audit.reports.groups.len());
    assert!(text.contains("\r\n"));
    // Every key comes back whole through the quoting (funder names hold
    // commas and quotes); Thai survives.
    let keys: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    let expected: Vec<&str> = audit
        .reports
        .groups
        .iter()
        .map(|g| g.key.as_str())
        .collect();
    assert_eq!(keys, expected);
    assert!(rows
        .iter()
        .any(|r| r[2].chars().any(|c| ('\u{0e00}'..='\u{0e7f}').contains(&c))));
    for r in &rows {
        assert!(!r[2].starts_with(['=', '+', '-', '@']), "{:?}", r);
        assert_eq!(&r[0], "reports:advertiser");
        assert!(r[9].contains("FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv"));
    }
}

#[test]
fn filters_that_reports_cannot_honour_are_named() {
    let (_dir, archive) = archive_with(&[TH]);
    let request = SearchRequest {
        query: "vote".into(),
        filters: Filters {
            language: vec!["th".into()],
            country: vec!["TH".into()],
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let audit = spend_audit(&archive, &request, &report, "country", 10, None).unwrap();
    assert_eq!(audit.reports.not_applied, ["q", "language"]);
    // The country filter does apply.
    assert_eq!(audit.reports.groups.len(), 1);
}
