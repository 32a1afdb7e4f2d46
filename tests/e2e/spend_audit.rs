//! Report-level figures, side by side with ad-level sums, through the real
//! import path; conversion at ECB rates; the spreadsheet CSV.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::util::{import, sample};
use adarchive::archive::Archive;
use adarchive::check::verify;
use adarchive::search::{Filters, SearchRequest};
use adarchive::spend::audit::{write_csv, CSV_COLUMNS};
use adarchive::spend::{report_totals, spend_audit, Grouping, ReportQuery};

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
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = archive_with(&[TH, TH_LOCATIONS, GB, UA, GOOGLE_2019, GOOGLE_2025]);
    assert!(verify(&archive).unwrap().ok());

    let totals = report_totals(
        &archive,
        &query("meta", "TH", "advertiser"),
        Grouping::Advertiser,
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

    let locations = report_totals(
        &archive,
        &query("meta", "TH", "location"),
        Grouping::Region,
        10_000,
    )
    .unwrap();
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
            Grouping::Advertiser,
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
        Grouping::Advertiser,
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
    if crate::util::skip_without_samples() {
        return;
    }
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
    let no_rates = import(
        &archive,
        &[sample(TH), sample(UA), sample(crate::util::GOOGLE)],
    );
    assert!(no_rates.all_recognized());

    let request = SearchRequest {
        filters: Filters {
            platform: vec!["meta".into()],
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let without = spend_audit(
        &archive,
        &request,
        &report,
        Grouping::Country,
        10,
        Some("EUR"),
    )
    .unwrap();
    assert!(!without.conversion.available);
    assert!(
        without.conversion.note.contains("no exchange rates"),
        "{}",
        without.conversion.note
    );

    import(&archive, &[rates]);
    let audit = spend_audit(
        &archive,
        &request,
        &report,
        Grouping::Country,
        10,
        Some("EUR"),
    )
    .unwrap();
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

    let bad = spend_audit(
        &archive,
        &request,
        &report,
        Grouping::Country,
        10,
        Some("euro"),
    );
    assert!(bad.unwrap_err().to_string().contains("convert_to"));
}

#[test]
fn spreadsheet_csv_has_a_bom_quotes_and_no_formulas() {
    if crate::util::skip_without_samples() {
        return;
    }
    let (_dir, archive) = archive_with(&[TH]);
    let request = SearchRequest::default();
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let audit = spend_audit(&archive, &request, &report, Grouping::Funder, 1_000, None).unwrap();
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
    if crate::util::skip_without_samples() {
        return;
    }
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
    let audit = spend_audit(&archive, &request, &report, Grouping::Country, 10, None).unwrap();
    assert_eq!(audit.reports.not_applied, ["q", "language"]);
    // The country filter does apply.
    assert_eq!(audit.reports.groups.len(), 1);
}

/// A Meta advertisers report made for the test, in Meta's layout and name.
fn meta_report(dir: &std::path::Path, date: &str, period: &str, rows: &[(&str, u64)]) -> PathBuf {
    let path = dir.join(format!(
        "FacebookAdLibraryReport_{date}_NL_{period}_advertisers.csv"
    ));
    let mut text = String::from(
        "\u{feff}Page ID,Page name,Disclaimer,Amount spent (EUR),Number of ads in Library\n",
    );
    for (page, amount) in rows {
        text.push_str(&format!("{page},Page {page},Payer {page},{amount},1\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn overlapping_reports_are_never_added_up() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let files = [
        meta_report(
            dir.path(),
            "2024-06-01",
            "lifetime",
            &[("1", 1000), ("2", 500)],
        ),
        meta_report(
            dir.path(),
            "2024-06-08",
            "lifetime",
            &[("1", 1200), ("2", 700)],
        ),
        meta_report(
            dir.path(),
            "2024-06-08",
            "last_7_days",
            &[("1", 200), ("2", 200)],
        ),
        meta_report(dir.path(), "2024-06-07", "yesterday", &[("1", 30)]),
        meta_report(dir.path(), "2024-06-08", "yesterday", &[("1", 40)]),
    ];
    assert!(import(&archive, &files).all_recognized());
    let q = query("meta", "NL", "advertiser");
    // By default the broadest period, and only its latest report.
    let totals = report_totals(&archive, &q, Grouping::Advertiser, 10).unwrap();
    let one = totals.groups.iter().find(|g| g.key == "meta:1").unwrap();
    assert_eq!((one.spend[0].lower, one.spend[0].upper), (1200, 1200));
    assert_eq!(
        totals.reports_used,
        ["meta advertiser NL: lifetime of 2024-06-08"]
    );
    assert_eq!(totals.superseded_rows, 2 + 2 + 2);
    // Disjoint days add up.
    let days = report_totals(
        &archive,
        &ReportQuery {
            period: vec!["yesterday".into()],
            ..q.clone()
        },
        Grouping::Advertiser,
        10,
    )
    .unwrap();
    let one = days.groups.iter().find(|g| g.key == "meta:1").unwrap();
    assert_eq!((one.spend[0].lower, one.rows), (70, 2));
    // The same snapshot whatever the advertiser filter.
    let just_two = report_totals(
        &archive,
        &ReportQuery {
            advertiser_id: vec!["2".into()],
            ..q.clone()
        },
        Grouping::Advertiser,
        10,
    )
    .unwrap();
    assert_eq!(just_two.groups[0].spend[0].lower, 700);
    let bad = report_totals(
        &archive,
        &ReportQuery {
            period: vec!["last30days".into()],
            ..q
        },
        Grouping::Advertiser,
        10,
    );
    assert!(bad.unwrap_err().to_string().contains("period"));
}

#[test]
fn google_weeks_and_countries_line_up() {
    if crate::util::skip_without_samples() {
        return;
    }
    let weekly = "google/2019_google-political-ads-advertiser-weekly-spend.head500.csv";
    let (_dir, archive) = archive_with(&[weekly, GOOGLE_2025]);
    let weeks = report_totals(
        &archive,
        &query("google", "", "advertiser_week"),
        Grouping::Week,
        1000,
    )
    .unwrap();
    // Google's weeks start on Sunday; they are filed under the Monday-based
    // week that holds them, as ad-level weeks are.
    let mut reader = csv::Reader::from_path(sample(weekly)).unwrap();
    let mut expected: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[3].to_owned())
        .map(|start| {
            let start = start.as_str();
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            let sunday = time::Date::parse(start, &fmt).unwrap();
            assert_eq!(sunday.weekday(), time::Weekday::Sunday);
            (sunday + time::Duration::days(1)).format(&fmt).unwrap()
        })
        .collect();
    expected.sort();
    expected.dedup();
    let keys: Vec<String> = weeks.groups.iter().map(|g| g.key.clone()).collect();
    assert_eq!(keys, expected);
    // An advertiser active in many EU countries is not filed under the first.
    let romania = report_totals(
        &archive,
        &query("google", "RO", "advertiser"),
        Grouping::Country,
        1000,
    )
    .unwrap();
    assert!(romania.groups.iter().any(|g| g.key == "several"));
}

#[test]
fn google_parts_in_several_currencies_add_up_once_converted() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("eurofxref-hist.csv");
    std::fs::write(
        &rates,
        "Date,USD,HUF,CZK,DKK,SEK,PLN,RON,BGN,INR,GBP,\n\
         2025-06-02,1.14,403.0,24.8,7.46,10.9,4.26,5.0,1.9558,97.5,0.84,\n",
    )
    .unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    assert!(import(&archive, &[sample(GOOGLE_2025), rates]).all_recognized());
    let request = SearchRequest {
        filters: Filters {
            platform: vec!["google".into()],
            advertiser_id: vec!["AR18183851547882946561".into()],
            ..Filters::default()
        },
        ..SearchRequest::default()
    };
    let report = ReportQuery::from_filters(&request.filters, None, vec![]);
    let audit = spend_audit(
        &archive,
        &request,
        &report,
        Grouping::Advertiser,
        10,
        Some("EUR"),
    )
    .unwrap();
    let group = &audit.reports.groups[0];
    assert!(!group.currencies_are_alternatives);
    let converted = &audit.conversion.reports[0];
    let total = converted.total.expect("parts add up");
    // EUR 2550 + HUF 20000 + CZK 1500 + DKK 500 + SEK 1000 + PLN 250 + RON 250 + BGN 100.
    let expected = 2550.0
        + 20000.0 / 403.0
        + 1500.0 / 24.8
        + 500.0 / 7.46
        + 1000.0 / 10.9
        + 250.0 / 4.26
        + 250.0 / 5.0
        + 100.0 / 1.9558;
    assert!(
        (total.lower as f64 - expected).abs() < 5.0,
        "{total:?} vs {expected}"
    );

    // 2019 rows give one amount in every currency: never added.
    let (_d, old) = archive_with(&[GOOGLE_2019]);
    let totals = report_totals(
        &old,
        &query("google", "", "advertiser"),
        Grouping::Advertiser,
        5,
    )
    .unwrap();
    assert!(totals.groups[0].currencies_are_alternatives);
}

#[test]
fn the_same_report_bytes_under_another_name_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let first = meta_report(dir.path(), "2024-06-07", "yesterday", &[("1", 30)]);
    let second = dir
        .path()
        .join("FacebookAdLibraryReport_2024-06-08_NL_yesterday_advertisers.csv");
    std::fs::copy(&first, &second).unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    import(&archive, std::slice::from_ref(&first));
    let report = import(&archive, std::slice::from_ref(&second));
    let warning = &report.files[0].warnings[0];
    assert!(
        warning.contains("2024-06-07") && warning.contains("2024-06-08"),
        "{warning}"
    );
    // Importing it again under its own name says nothing.
    assert!(import(&archive, &[first]).files[0].warnings.is_empty());
}

#[test]
fn report_groups_rank_alike_whether_currencies_are_named_or_not() {
    if crate::util::skip_without_samples() {
        return;
    }
    // Meta's Thai report is in one currency (groups rank by spend), Google's
    // advertiser-stats in many (groups rank by rows).
    let (_dir, archive) = archive_with(&[TH, TH_LOCATIONS, GOOGLE_2025]);
    for platform in ["meta", "google"] {
        for kind in ["advertiser", "location"] {
            let every = query(platform, "", kind);
            let all = report_totals(&archive, &every, Grouping::Advertiser, 10_000).unwrap();
            let mut currencies: Vec<String> = all
                .groups
                .iter()
                .flat_map(|g| g.spend.iter().map(|s| s.currency.clone()))
                .collect();
            currencies.sort();
            currencies.dedup();
            let named = ReportQuery {
                currency: currencies,
                ..every.clone()
            };
            for grouping in Grouping::ALL {
                for limit in [3, 10_000] {
                    let unnamed = report_totals(&archive, &every, grouping, limit).unwrap();
                    let named = report_totals(&archive, &named, grouping, limit).unwrap();
                    assert_eq!(
                        unnamed, named,
                        "{platform} {kind} by {grouping}, top {limit}"
                    );
                    if kind == "advertiser" && grouping == Grouping::Advertiser {
                        assert!(!unnamed.groups.is_empty(), "{platform}");
                    }
                }
            }
        }
    }
    // Ranked by spend in the one currency: the top three are the three
    // largest lower bounds of the file.
    let top = report_totals(
        &archive,
        &query("meta", "", "advertiser"),
        Grouping::Advertiser,
        3,
    )
    .unwrap();
    assert!(top.ordered_by.contains("THB"), "{}", top.ordered_by);
    let mut lowers: Vec<u128> = raw_sums(TH, "Page ID", "Amount spent (THB)")
        .values()
        .map(|(lower, _)| *lower)
        .collect();
    lowers.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<u128> = top.groups.iter().map(|g| g.spend[0].lower).collect();
    assert_eq!(got, lowers[..3]);
}
