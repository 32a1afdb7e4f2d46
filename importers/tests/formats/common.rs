//! Helpers shared by the importer tests.
#![allow(dead_code)]

use std::path::PathBuf;

use adarchive_importers::{Entry, Importer, Locator};
use adarchive_schema::{Ad, RateRow, ReportRow};

/// Which importers claim `bytes` (by their first 64 KiB, as import does).
pub fn claims(bytes: &[u8]) -> Vec<&'static str> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    adarchive_importers::all()
        .iter()
        .filter(|i| i.detect(head))
        .map(|i| i.name())
        .collect()
}

/// Every fixture, as `platform/file`, with the platform whose folder holds
/// it: a new format's fixtures are found here without being listed.
pub fn fixture_files() -> Vec<(String, adarchive_schema::Platform)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
        let platform: adarchive_schema::Platform = folder
            .parse()
            .unwrap_or_else(|e| panic!("fixtures/{folder}: {e}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        out.extend(
            files
                .into_iter()
                .map(|f| (format!("{folder}/{f}"), platform)),
        );
    }
    out
}

pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples")
}

/// Whether a test that reads the real samples is skipped: it is when
/// `../shared/samples` (the platforms' exports, beside the repository and
/// not part of it) is absent, after saying so, unless
/// `ADARCHIVE_REQUIRE_SAMPLES` is set, as CI sets it: then their absence
/// fails the test.
pub fn skip_without_samples() -> bool {
    let dir = samples();
    if dir.is_dir() {
        return false;
    }
    assert!(
        std::env::var_os("ADARCHIVE_REQUIRE_SAMPLES").is_none(),
        "{} is missing, and ADARCHIVE_REQUIRE_SAMPLES asks for it",
        dir.display()
    );
    eprintln!(
        "skipped: {} is absent (set ADARCHIVE_REQUIRE_SAMPLES to make that a failure)",
        dir.display()
    );
    true
}

pub fn sample(rel: &str) -> Vec<u8> {
    let path = samples().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A hand-written file in `tests/fixtures`, shaped after a format's
/// documentation.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub struct Read {
    pub records: Vec<(Locator, Vec<u8>, Ad, Vec<String>)>,
    pub problems: Vec<(Locator, Option<String>, String)>,
    pub reports: Vec<(Locator, ReportRow, Vec<String>)>,
    pub rates: Vec<(Locator, RateRow)>,
}

pub fn read(importer: &dyn Importer, bytes: &[u8]) -> Read {
    let mut out = Read {
        records: Vec::new(),
        problems: Vec::new(),
        reports: Vec::new(),
        rates: Vec::new(),
    };
    read_named(importer, "", bytes, &mut out);
    out
}

/// Reads `bytes` as the file `name`.
pub fn read_as(importer: &dyn Importer, name: &str, bytes: &[u8]) -> Read {
    let mut out = Read {
        records: Vec::new(),
        problems: Vec::new(),
        reports: Vec::new(),
        rates: Vec::new(),
    };
    read_named(importer, name, bytes, &mut out);
    out
}

fn read_named(importer: &dyn Importer, name: &str, bytes: &[u8], out: &mut Read) {
    importer
        .read_named(name, &mut &bytes[..], &mut |entry| {
            match entry {
                Entry::Record(r) => {
                    assert_eq!(
                        &bytes[r.locator.byte_start as usize..r.locator.byte_end as usize],
                        r.raw,
                        "raw bytes must be the bytes at the locator"
                    );
                    out.records
                        .push((r.locator, r.raw.to_vec(), r.ad, r.unnormalized))
                }
                Entry::Report(r) => {
                    assert_eq!(
                        &bytes[r.locator.byte_start as usize..r.locator.byte_end as usize],
                        r.raw
                    );
                    out.reports.push((r.locator, r.row, r.unnormalized))
                }
                Entry::Rates(r) => out.rates.push((r.locator, r.row)),
                Entry::Problem(p) => out.problems.push((p.locator, p.field, p.reason)),
            }
            Ok(())
        })
        .unwrap();
}

pub fn find<'a>(read: &'a Read, uid: &str) -> &'a Ad {
    &read
        .records
        .iter()
        .find(|r| r.2.uid == uid)
        .unwrap_or_else(|| panic!("{uid} not found"))
        .2
}
