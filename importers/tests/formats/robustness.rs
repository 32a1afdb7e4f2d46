//! No input makes an importer panic: every importer reads every fixture and
//! sample cut short and with bytes damaged, and either reads it or says why.

use crate::common;

use adarchive_importers::{all, Entry};
use common::{fixture, fixture_files, sample};

fn inputs() -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = fixture_files().iter().map(|(f, _)| fixture(f)).collect();
    // The fixtures are damaged whatever happens; the real samples too when
    // they are there.
    let real: &[&str] = if common::skip_without_samples() {
        &[]
    } else {
        &[
            "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
            "google/2019_google-political-ads-advertiser-stats.csv",
        ]
    };
    for s in real {
        files.push(sample(s)[..4_000].to_vec());
    }
    let mut out = Vec::new();
    for file in files {
        // A deterministic spread of cuts and damage.
        for i in 1..12usize {
            let cut = file.len() * i / 12;
            out.push(file[..cut].to_vec());
            let mut damaged = file.clone();
            for j in (cut..damaged.len()).step_by(97) {
                damaged[j] = [b'"', b'{', b']', b',', 0xFF, b'\n', b'\\'][j % 7];
            }
            out.push(damaged);
        }
        out.push(file);
    }
    out
}

#[test]
fn damaged_and_cut_files_never_panic() {
    let mut read = 0usize;
    for bytes in inputs() {
        for importer in all() {
            let _ = importer.detect(&bytes);
            let outcome = importer.read_named(
                "FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
                &mut &bytes[..],
                &mut |entry| {
                    if let Entry::Record(r) = &entry {
                        let _ = r.ad.canonical_json();
                    }
                    Ok(())
                },
            );
            read += usize::from(outcome.is_ok());
        }
    }
    assert!(read > 100, "only {read} reads succeeded");
}

/// Every real CSV sample, with the importer that reads it.
const CSV_SAMPLES: &[(&str, &str)] = &[
    (
        "google/creative_stats_2020-10_derived/creative_stats_NL_2020-10.RECONSTRUCTED.csv",
        "google-creative-stats",
    ),
    ("google/2019_google-political-ads-advertiser-stats.csv", "google-spend-reports"),
    (
        "google/2019_google-political-ads-advertiser-weekly-spend.head500.csv",
        "google-spend-reports",
    ),
    ("google/2019_google-political-ads-geo-spend.csv", "google-spend-reports"),
    (
        "google/2019_google-political-ads-top-keywords-history.csv",
        "google-spend-reports",
    ),
    ("snap/2018_PoliticalAds2018.csv", "snap-political-ads"),
    ("snap/2023_PoliticalAds.sorted.first500.csv", "snap-political-ads"),
    (
        "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
        "meta-ad-library-report",
    ),
    (
        "meta/ad_library_report_2019/FacebookAdLibraryReportUA2019-05-04ThisWeekSpending.csv",
        "meta-ad-library-report",
    ),
];

/// `bytes` parsed as CSV and written again by `writer`, with `cell`
/// applied to each value and `extra` empty columns added to every line.
fn resave(
    bytes: &[u8],
    mut writer: csv::WriterBuilder,
    cell: impl Fn(&str) -> String,
    extra: usize,
    bom: bool,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = if bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    {
        let mut w = writer.flexible(true).from_writer(&mut out);
        for record in reader.records() {
            let record = record.unwrap();
            let mut fields: Vec<String> = record.iter().map(&cell).collect();
            fields.extend(std::iter::repeat_n(String::new(), extra));
            w.write_record(&fields).unwrap();
        }
    }
    out
}

/// A European spreadsheet writes numbers with a decimal comma.
fn decimal_comma(value: &str) -> String {
    if value.contains('.') && value.parse::<f64>().is_ok() {
        value.replace('.', ",")
    } else {
        value.to_owned()
    }
}

/// Record and row hashes, and the lines of every problem.
fn outcome(format: &str, name: &str, bytes: &[u8]) -> (Vec<String>, Vec<u64>) {
    let importer = adarchive_importers::by_name(format).unwrap();
    let mut hashes = Vec::new();
    let mut problems = Vec::new();
    let result = importer.read_named(name, &mut &bytes[..], &mut |entry| {
        match entry {
            Entry::Record(r) => hashes.push(r.ad.record_hash().to_hex()),
            Entry::Report(r) => hashes.push(r.row.row_hash().to_hex()),
            Entry::Rates(r) => hashes.push(format!("{:?}", r.row)),
            Entry::Problem(p) => problems.push(p.locator.line),
        }
        Ok(())
    });
    if let Err(e) = result {
        // A refusal must name what is wrong.
        assert!(!e.to_string().is_empty());
        return (Vec::new(), vec![0]);
    }
    (hashes, problems)
}

#[test]
fn spreadsheet_resaves_read_the_same_records_or_say_why() {
    if common::skip_without_samples() {
        return;
    }
    for (rel, format) in CSV_SAMPLES {
        let bytes = sample(rel);
        let name = rel.rsplit('/').next().unwrap();
        let (expected, expected_problems) = outcome(format, name, &bytes);
        assert!(!expected.is_empty(), "{rel}");
        let comma = || csv::WriterBuilder::new();
        let copies: Vec<(&str, Vec<u8>)> = vec![
            (
                "CRLF",
                resave(
                    &bytes,
                    {
                        let mut b = comma();
                        b.terminator(csv::Terminator::CRLF);
                        b
                    },
                    str::to_owned,
                    0,
                    false,
                ),
            ),
            ("BOM", resave(&bytes, comma(), str::to_owned, 0, true)),
            (
                "every cell quoted",
                resave(
                    &bytes,
                    {
                        let mut b = comma();
                        b.quote_style(csv::QuoteStyle::Always);
                        b
                    },
                    str::to_owned,
                    0,
                    false,
                ),
            ),
            (
                "trailing empty columns",
                resave(&bytes, comma(), str::to_owned, 2, false),
            ),
            (
                "semicolons",
                resave(
                    &bytes,
                    {
                        let mut b = comma();
                        b.delimiter(b';');
                        b
                    },
                    str::to_owned,
                    0,
                    false,
                ),
            ),
            (
                "semicolons and decimal commas",
                resave(
                    &bytes,
                    {
                        let mut b = comma();
                        b.delimiter(b';').terminator(csv::Terminator::CRLF);
                        b
                    },
                    decimal_comma,
                    0,
                    true,
                ),
            ),
        ];
        for (how, copy) in copies {
            let head = &copy[..copy.len().min(64 * 1024)];
            assert_eq!(
                adarchive_importers::detect(head).map(|i| i.name()),
                Some(*format),
                "{rel} re-saved with {how}"
            );
            let (hashes, problems) = outcome(format, name, &copy);
            if hashes == expected && problems.len() == expected_problems.len() {
                continue;
            }
            // Not the same records: then every row that differs must be a
            // problem with its line (quarantined, not lost), and no row may
            // vanish.
            assert_eq!(
                hashes.len() + problems.len(),
                expected.len() + expected_problems.len(),
                "{rel} re-saved with {how}: rows lost"
            );
            assert!(
                how.contains("decimal commas"),
                "{rel} re-saved with {how}: records differ"
            );
        }
    }
}
