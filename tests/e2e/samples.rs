//! Importing the real exports in `../shared/samples` end to end: counts,
//! provenance, idempotence, verify and rebuild.

use std::collections::BTreeMap;

use crate::util::*;
use adarchive::archive::Archive;
use adarchive::check::{quiet, rebuild, verify};

#[test]
fn real_samples_import_verify_reimport_and_rebuild() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_s = path_str(&data);
    let mut args = vec!["import", "--json", "--data", data_s];
    let paths = ad_samples();
    args.extend(paths.iter().map(|p| path_str(p)));

    let (code, report) = adarchive_json(&args);
    assert_eq!(code, 0, "{report:#}");
    let records: Vec<u64> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["records"].as_u64().unwrap())
        .collect();
    assert_eq!(records, [503, 25, 1, 659, 500, 500, 500]);
    for f in report["files"].as_array().unwrap() {
        for key in [
            "path",
            "blake3",
            "format",
            "records",
            "new",
            "updated",
            "unchanged",
            "quarantined",
            "skipped",
        ] {
            assert!(f.get(key).is_some(), "file report lacks {key}: {f}");
        }
        assert_eq!(f["quarantined"], 0, "{f}");
    }
    let totals = &report["totals"];
    assert_eq!(totals["records"], 2688);
    assert_eq!(totals["quarantined"], 0);
    assert_eq!(
        totals["new"].as_u64().unwrap() + totals["updated"].as_u64().unwrap(),
        2688,
        "every record is new or a new version of an ad seen earlier in the same run"
    );

    // Provenance: each stored source is the exact bytes of the input.
    for (file, path) in report["files"].as_array().unwrap().iter().zip(&paths) {
        let stored = data.join("sources").join(file["blake3"].as_str().unwrap());
        assert_eq!(std::fs::read(stored).unwrap(), std::fs::read(path).unwrap());
        assert_eq!(
            file["blake3"].as_str().unwrap(),
            blake3::hash(&std::fs::read(path).unwrap())
                .to_hex()
                .as_str()
        );
    }

    let out = adarchive(&["verify", "--data", data_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    let (code, again) = adarchive_json(&args);
    assert_eq!(code, 0);
    assert_eq!(again["totals"]["unchanged"], 2688);
    assert_eq!(again["totals"]["new"], 0);
    assert_eq!(again["totals"]["updated"], 0);

    let archive = Archive::open(&data).unwrap();
    let before = latest_hashes(&archive);
    let stats_before = archive.stats().unwrap();
    drop(archive);
    let rebuilt = rebuild(&data, quiet()).unwrap();
    assert!(rebuilt.failures.is_empty(), "{:?}", rebuilt.failures);
    assert_eq!(rebuilt.changed_record_hashes, 0);
    assert_eq!(rebuilt.observations, 2688);
    let archive = Archive::open(&data).unwrap();
    assert_eq!(latest_hashes(&archive), before);
    assert_eq!(archive.stats().unwrap(), stats_before);
    assert!(verify(&archive).unwrap().ok());
}

fn latest_hashes(archive: &Archive) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for source in archive.sources().unwrap() {
        for uid in uids_of(archive, &source.blake3) {
            let ad = archive.latest(&uid).unwrap().unwrap();
            out.insert(uid, ad.record_hash().to_hex());
        }
    }
    out
}

fn uids_of(archive: &Archive, source: &str) -> Vec<String> {
    archive
        .observations_in(source)
        .unwrap()
        .into_iter()
        .map(|o| o.uid)
        .collect()
}

#[test]
fn provenance_trail_points_at_the_raw_row() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let snap = sample(SNAP[2]);
    import(&archive, std::slice::from_ref(&snap));
    let bytes = std::fs::read(&snap).unwrap();
    let source = blake3::hash(&bytes).to_hex().to_string();
    let observations = archive.observations_in(&source).unwrap();
    assert_eq!(observations.len(), 500);
    let first = &observations[0];
    assert_eq!(
        first.locator.line, 2,
        "the first data row follows the header"
    );
    let raw = &bytes[first.locator.byte_start as usize..first.locator.byte_end as usize];
    assert_eq!(first.raw_hash, blake3::hash(raw).to_hex().as_str());
    assert!(raw.starts_with(first.uid.trim_start_matches("snap:").as_bytes()));
    let ad = archive
        .record(&first.uid, &first.record_hash)
        .unwrap()
        .unwrap();
    assert_eq!(ad.uid, first.uid);
    assert_eq!(
        archive.observations_of(&first.uid).unwrap(),
        vec![first.clone()]
    );
    let history = archive.history(&first.uid).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source_blake3, source);
}
