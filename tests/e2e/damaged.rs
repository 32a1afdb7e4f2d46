//! Damaged copies of real samples: every valid row still imports, every bad
//! row is quarantined with its line, field and reason, nothing else is lost.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::*;
use adarchive::archive::{Archive, QuarantineEntry};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Record hashes of everything imported from `path` into a fresh archive,
/// with the quarantined entries.
fn import_one(
    path: &Path,
) -> (
    BTreeSet<String>,
    Vec<QuarantineEntry>,
    adarchive::ingest::FileReport,
) {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let report = import(&archive, &[path.to_path_buf()]);
    let file = report.files.into_iter().next().unwrap();
    let mut hashes = BTreeSet::new();
    let mut quarantined = Vec::new();
    if let Some(hash) = &file.blake3 {
        for o in archive.observations_in(hash).unwrap() {
            hashes.insert(o.record_hash.to_hex());
        }
        if let Ok(text) = std::fs::read_to_string(archive.quarantine_path(hash)) {
            quarantined = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        }
    }
    (hashes, quarantined, file)
}

fn lf_to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 50);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes()
}

/// Rewrites a CSV through a function of its rows, with a real CSV writer.
fn rewrite_csv(bytes: &[u8], f: impl Fn(Vec<String>) -> Vec<String>) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in reader.records() {
        let row: Vec<String> = row.unwrap().iter().map(str::to_owned).collect();
        writer.write_record(f(row)).unwrap();
    }
    writer.into_inner().unwrap()
}

#[test]
fn line_endings_bom_and_column_order_do_not_change_records() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (sample_path, expected) in [(SNAP[2], 500), (GOOGLE, 503)] {
        let original = std::fs::read(sample(sample_path)).unwrap();
        let (reference, q, _) = import_one(&sample(sample_path));
        assert_eq!(reference.len(), expected);
        assert!(q.is_empty());

        let crlf = original.windows(2).any(|w| w == b"\r\n");
        let flipped = if crlf {
            crlf_to_lf(&original)
        } else {
            lf_to_crlf(&original)
        };
        let (hashes, q, _) = import_one(&write(dir.path(), "flipped.csv", &flipped));
        assert!(
            hashes == reference,
            "{sample_path}: CRLF<->LF changed records"
        );
        assert!(q.is_empty());

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&original);
        let (hashes, q, _) = import_one(&write(dir.path(), "bom.csv", &bom));
        assert!(hashes == reference, "{sample_path}: a BOM changed records");
        assert!(q.is_empty());

        let reversed = rewrite_csv(&original, |mut row| {
            row.reverse();
            row
        });
        let (hashes, q, _) = import_one(&write(dir.path(), "reversed.csv", &reversed));
        assert!(
            hashes == reference,
            "{sample_path}: reordering columns changed records"
        );
        assert!(q.is_empty());
    }
}

#[test]
fn an_unknown_extra_column_is_kept_in_unmapped() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(sample(SNAP[3])).unwrap();
    let first = std::cell::Cell::new(true);
    let extended = rewrite_csv(&original, |mut row| {
        row.push(if first.replace(false) {
            "ReviewStatus".into()
        } else {
            "approved, with note".into()
        });
        row
    });
    let path = write(dir.path(), "extra.csv", &extended);
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let report = import(&archive, &[path]);
    let file = &report.files[0];
    assert_eq!((file.counts.records, file.counts.quarantined), (500, 0));
    let observations = archive
        .observations_in(file.blake3.as_deref().unwrap())
        .unwrap();
    let ad = archive
        .record(&observations[7].uid, &observations[7].record_hash)
        .unwrap()
        .unwrap();
    assert_eq!(ad.unmapped["ReviewStatus"], "approved, with note");
}

#[test]
fn a_truncated_last_row_is_quarantined_with_its_line() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(sample(SNAP[1])).unwrap();
    // Cut inside the last row, after its first few fields.
    let last_row_start = original[..original.len() - 2]
        .windows(2)
        .rposition(|w| w == b"\r\n")
        .unwrap()
        + 2;
    let truncated = &original[..last_row_start + 90];
    let (hashes, quarantined, file) = import_one(&write(dir.path(), "truncated.csv", truncated));
    assert_eq!(hashes.len(), 499);
    assert_eq!(file.counts.records, 499);
    assert_eq!(quarantined.len(), 1);
    let q = &quarantined[0];
    assert_eq!(q.line, 501);
    assert!(q.reason.contains("fields"), "{}", q.reason);
    assert_eq!(q.byte_start as usize, last_row_start);
    assert_eq!(q.raw.as_bytes(), &truncated[last_row_start..]);
    assert_eq!(file.problems[0].line, 501);
}

#[test]
fn an_invalid_utf8_byte_quarantines_only_its_row_naming_the_field() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(sample(GOOGLE)).unwrap();
    // Corrupt the advertiser name on line 4 (the third ad).
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let row = &bytes[line_starts[3]..line_starts[4]];
    let text = String::from_utf8_lossy(row).into_owned();
    let name_at = text.find("GroenLinks").expect("row 4 is a GroenLinks ad");
    bytes[line_starts[3] + name_at + 2] = 0xFF;
    let (hashes, quarantined, file) = import_one(&write(dir.path(), "utf8.csv", &bytes));
    assert_eq!(hashes.len(), 502);
    assert_eq!(file.counts.quarantined, 1);
    let q = &quarantined[0];
    assert_eq!(q.line, 4);
    assert_eq!(q.field.as_deref(), Some("Advertiser_Name"));
    assert!(q.reason.contains("UTF-8"), "{}", q.reason);
    assert_eq!(
        q.raw_hash,
        blake3::hash(&bytes[line_starts[3]..line_starts[4]])
            .to_hex()
            .as_str()
    );
}

#[test]
fn a_truncated_meta_array_keeps_every_complete_ad() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(sample(META_2019)).unwrap();
    let truncated = &original[..original.len() * 9 / 10];
    let (hashes, quarantined, file) = import_one(&write(dir.path(), "cut.json", truncated));
    assert!(file.error.is_none());
    // The sample is an indented array: each ad closes with "\n  }".
    let complete = truncated.windows(4).filter(|w| w == b"\n  }").count();
    assert!(complete > 10);
    assert_eq!(hashes.len(), complete);
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].reason.contains("truncated") || quarantined[0].reason.contains("ends"));
    assert!(quarantined[0].line > 1);
}

#[test]
fn empty_and_header_only_files() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", b"");
    let header = std::fs::read(sample(SNAP[0])).unwrap();
    let header_end = header.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let header_only = write(dir.path(), "PoliticalAds.csv", &header[..header_end]);
    let good = sample(META_2021);
    let data = dir.path().join("data");

    let (code, report) = adarchive_json(&[
        "import",
        "--json",
        "--data",
        path_str(&data),
        path_str(&empty),
        path_str(&header_only),
        path_str(&good),
    ]);
    assert_eq!(code, 1, "an unreadable file makes the exit status 1");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files[0]["path"], path_str(&empty));
    assert!(files[0]["error"].as_str().unwrap().contains("empty"));
    assert_eq!(files[1]["format"], "snap-political-ads");
    assert_eq!(files[1]["records"], 0);
    assert!(files[1].get("error").is_none());
    assert_eq!(files[2]["records"], 1, "other files still import");
}

#[test]
fn an_unknown_file_is_named_and_the_formats_tried_listed() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report_csv = sample("google/2019_bundle_README.txt");
    let data = dir.path().join("data");
    let out = adarchive(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&report_csv),
        path_str(&sample(META_2021)),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(path_str(&report_csv)), "{text}");
    for format in adarchive_importers::format_names() {
        assert!(text.contains(format), "{format} missing from: {text}");
    }
    assert!(text.contains("1 records (1 new"), "{text}");
}
