//! Versions, zip bundles, credential redaction and the sample generator.

use std::io::Write;

use crate::util::*;
use adarchive::archive::Archive;
use adarchive::check::verify;
use adarchive::generate::{generate_samples, GenerateOptions};
use adarchive_importers::redact::Redactor;

#[test]
fn a_changed_ad_in_a_newer_export_becomes_a_new_version() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(sample(SNAP[3])).unwrap();
    // The newer export: the first ad spent more and has stopped running.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&original[..]);
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut changed_id = String::new();
    for (i, row) in reader.records().enumerate() {
        let mut row: Vec<String> = row.unwrap().iter().map(str::to_owned).collect();
        if i == 1 {
            changed_id = row[0].clone();
            row[3] = "999".into();
            row[6] = "2026/08/01 00:00:00Z".into();
        }
        writer.write_record(&row).unwrap();
    }
    let newer = dir.path().join("PoliticalAds-newer.csv");
    std::fs::write(&newer, writer.into_inner().unwrap()).unwrap();

    let archive = Archive::open(&dir.path().join("data")).unwrap();
    import(&archive, &[sample(SNAP[3])]);
    let report = import(&archive, &[newer]);
    let file = &report.files[0];
    assert_eq!(
        (
            file.counts.records,
            file.counts.new,
            file.counts.updated,
            file.counts.unchanged
        ),
        (500, 0, 1, 499)
    );

    let uid = format!("snap:{changed_id}");
    let history = archive.history(&uid).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].supersedes, None);
    assert_eq!(history[1].supersedes, Some(history[0].record_hash));
    assert_eq!(history[1].seq, 1);
    let latest = archive.latest(&uid).unwrap().unwrap();
    assert_eq!(latest.record_hash(), history[1].record_hash);
    assert_eq!(latest.spend[0].lower, 999);
    assert_eq!(
        latest.last_shown.unwrap().to_string(),
        "2026-08-01T00:00:00Z"
    );
    let first = archive
        .record(&uid, &history[0].record_hash)
        .unwrap()
        .unwrap();
    assert!(
        first.last_shown.is_none(),
        "the first version was still running"
    );
    assert_eq!(archive.observations_of(&uid).unwrap().len(), 2);
    assert!(verify(&archive).unwrap().ok());

    // Search sees only the latest version, once.
    let request = adarchive::search::SearchRequest {
        filters: adarchive::search::Filters {
            currency: vec![latest.spend[0].currency.clone()],
            spend_min: Some(999),
            spend_max: Some(999),
            ..Default::default()
        },
        ..Default::default()
    };
    let page = adarchive::search::search(&archive, &request).unwrap();
    assert_eq!(
        page.results
            .iter()
            .map(|h| h.ad.uid.as_str())
            .collect::<Vec<_>>(),
        [uid.as_str()]
    );
    let everything = adarchive::search::search(&archive, &Default::default()).unwrap();
    assert_eq!(everything.total, 500);
}

#[test]
fn a_lost_index_is_noticed_and_recreated() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let archive = Archive::open(&data).unwrap();
    import(&archive, &[sample(GOOGLE), sample(SNAP[1])]);
    drop(archive);
    std::fs::remove_dir_all(data.join("index")).unwrap();

    let archive = Archive::open(&data).unwrap();
    let report = verify(&archive).unwrap();
    assert_eq!(
        report.index_behind, 2,
        "both sources are missing from the index"
    );
    drop(archive);
    let rebuilt = adarchive::check::rebuild(&data, adarchive::check::quiet()).unwrap();
    assert_eq!(rebuilt.indexed, 1003);
    let archive = Archive::open(&data).unwrap();
    let report = verify(&archive).unwrap();
    assert!(
        report.ok() && report.index_behind == 0 && report.indexed == 1003,
        "{report:?}"
    );
    assert_eq!(
        adarchive::search::search(&archive, &Default::default())
            .unwrap()
            .total,
        1003
    );
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.add_directory("docs/", options).unwrap();
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn zip_bundle_members_are_sources_and_unknown_members_are_listed() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = std::fs::read(sample(GOOGLE)).unwrap();
    let readme = std::fs::read(sample("google/2019_bundle_README.txt")).unwrap();
    let bundle = zip_of(&[
        ("google-political-ads-creative-stats.csv", &csv),
        ("docs/README.txt", &readme),
    ]);
    let path = dir
        .path()
        .join("google-political-ads-transparency-bundle.zip");
    std::fs::write(&path, &bundle).unwrap();
    let data = dir.path().join("data");
    let (code, report) = adarchive_json(&[
        "import",
        "--json",
        "--data",
        path_str(&data),
        path_str(&path),
    ]);
    assert_eq!(
        code, 0,
        "unknown members are skipped, not errors: {report:#}"
    );
    let files = report["files"].as_array().unwrap();
    assert_eq!(files[0]["format"], "zip");
    assert_eq!(files[0]["blake3"], blake3::hash(&bundle).to_hex().as_str());
    assert_eq!(files[0]["skipped"][0]["name"], "docs/README.txt");
    assert!(files[0]["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("tried"));
    assert_eq!(files[1]["format"], "google-creative-stats");
    assert_eq!(files[1]["records"], 503);
    assert!(files[1]["path"]
        .as_str()
        .unwrap()
        .ends_with(".zip!/google-political-ads-creative-stats.csv"));
    assert_eq!(
        report["totals"]["records"], 503,
        "a bundle is counted through its members"
    );

    let archive = Archive::open(&data).unwrap();
    let entry = archive
        .source(files[0]["blake3"].as_str().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(entry.members.len(), 2);
    assert_eq!(
        entry.members[0].blake3.as_deref(),
        Some(blake3::hash(&csv).to_hex().as_str())
    );
    assert!(entry.members[1].skipped.is_some());
    assert_eq!(
        std::fs::read(archive.source_path(&entry.blake3)).unwrap(),
        bundle
    );
    assert!(verify(&archive).unwrap().ok());
    drop(archive);

    let (_, again) = adarchive_json(&[
        "import",
        "--json",
        "--data",
        path_str(&data),
        path_str(&path),
    ]);
    assert_eq!(again["totals"]["unchanged"], 503);
    assert_eq!(again["totals"]["new"], 0);
}

#[test]
fn access_tokens_are_never_stored_and_the_redaction_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("samples");
    generate_samples(
        &out,
        &GenerateOptions {
            ads: 50,
            seed: 3,
            ..Default::default()
        },
    )
    .unwrap();
    let page = out.join("meta/ads_archive_page_0001.json");
    let original = std::fs::read(&page).unwrap();
    let token = {
        let text = String::from_utf8_lossy(&original);
        let at = text.find("access_token=").unwrap() + "access_token=".len();
        text[at..at + 30].to_owned()
    };
    assert!(token.starts_with("EAAG"));

    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let report = import(&archive, std::slice::from_ref(&page));
    let file = &report.files[0];
    assert_eq!(file.counts.records, 16);
    assert_eq!(
        file.redacted_tokens, 17,
        "each snapshot URL and the paging link"
    );
    assert_eq!(
        file.original_blake3.as_deref(),
        Some(blake3::hash(&original).to_hex().as_str())
    );

    let stored = std::fs::read(archive.source_path(file.blake3.as_deref().unwrap())).unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&token[..12]));
    assert!(String::from_utf8_lossy(&stored).contains("access_token=REDACTED"));
    // Anyone holding the original can reproduce the stored copy.
    let mut redactor = Redactor::new(Vec::new());
    redactor.write_all(&original).unwrap();
    let (reproduced, _) = redactor.finish().unwrap();
    assert_eq!(
        blake3::hash(&reproduced).to_hex().as_str(),
        file.blake3.as_deref().unwrap()
    );
    let entry = archive
        .source(file.blake3.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(entry.original_blake3, file.original_blake3);

    for o in archive.observations_in(&entry.blake3).unwrap() {
        let ad = archive.record(&o.uid, &o.record_hash).unwrap().unwrap();
        let url = ad.creative.snapshot_url.unwrap();
        assert!(!url.contains("access_token"), "{url}");
        assert!(url.ends_with(ad.platform_ad_id.as_str()));
    }
    assert!(verify(&archive).unwrap().ok());
}

/// The one-large-file shape holds the same number of ads in one file per
/// platform, and they import as the many-file shape's do.
#[test]
fn generated_samples_in_one_file_per_platform_import_whole() {
    use adarchive::generate::FileShape;
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        ads: 5_000,
        seed: 12,
        files: FileShape::OnePerPlatform,
        ..Default::default()
    };
    let written = generate_samples(&dir.path().join("a"), &options).unwrap();
    let names: Vec<String> = written
        .files
        .iter()
        .take(3)
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "google-political-ads-creative-stats.csv",
            "ads_archive.jsonl",
            "PoliticalAds.csv"
        ]
    );
    assert_eq!(written.files[1].ads, 1_600, "every Meta ad in one file");
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let report = import(&archive, &[dir.path().join("a")]);
    assert!(report.all_recognized());
    assert_eq!(report.totals.records, 5_000);
    assert_eq!(report.totals.quarantined, 0);
    let meta = report
        .files
        .iter()
        .find(|f| f.path.ends_with("ads_archive.jsonl"))
        .unwrap();
    assert_eq!(meta.format.as_deref(), Some("meta-ads-archive"));
    assert_eq!(meta.counts.records, 1_600);
    assert!(meta.redacted_tokens >= 1_600, "every snapshot URL's token");
}

#[test]
fn generated_samples_are_deterministic_realistic_and_importable() {
    let dir = tempfile::tempdir().unwrap();
    let options = GenerateOptions {
        ads: 3_000,
        seed: 11,
        ..Default::default()
    };
    let a = generate_samples(&dir.path().join("a"), &options).unwrap();
    let b = generate_samples(&dir.path().join("b"), &options).unwrap();
    for (fa, fb) in a.files.iter().zip(&b.files) {
        assert_eq!(
            std::fs::read(&fa.path).unwrap(),
            std::fs::read(&fb.path).unwrap()
        );
    }
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let report = import(&archive, &[dir.path().join("a")]);
    assert!(report.all_recognized());
    assert_eq!(report.totals.records, 3_000);
    assert_eq!(report.totals.quarantined, 0);
    let formats: std::collections::BTreeSet<_> = report
        .files
        .iter()
        .filter_map(|f| f.format.clone())
        .collect();
    assert!(
        formats.contains("google-creative-stats")
            && formats.contains("meta-ads-archive")
            && formats.contains("snap-political-ads")
    );

    let mut scripts = (false, false, false);
    let (mut open_ended, mut running) = (0, 0);
    for f in report
        .files
        .iter()
        .filter(|f| f.format.as_deref() != Some("zip"))
    {
        for o in archive
            .observations_in(f.blake3.as_deref().unwrap())
            .unwrap()
        {
            let ad = archive.record(&o.uid, &o.record_hash).unwrap().unwrap();
            let text = format!(
                "{} {}",
                ad.creative.bodies.join(" "),
                ad.advertiser.name.unwrap_or_default()
            );
            scripts.0 |= text.contains("เลือกตั้ง");
            scripts.1 |= text.contains("الانتخابات");
            scripts.2 |= text.contains("選挙");
            open_ended += usize::from(ad.spend.iter().any(|s| s.upper.is_none()));
            running += usize::from(ad.last_shown.is_none());
            assert!(
                ad.unmapped.keys().all(|k| !k.starts_with("Spend_Range")),
                "{:?}",
                ad.unmapped
            );
        }
    }
    assert_eq!(
        scripts,
        (true, true, true),
        "Thai, Arabic and Japanese texts"
    );
    assert!(
        open_ended > 0 && running > 0,
        "{open_ended} open-ended, {running} running"
    );
}

#[test]
fn an_import_without_indexing_is_indexed_later() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let archive = Archive::open(&data).unwrap();
    let options = adarchive::ingest::ImportOptions {
        skip_index: true,
        ..Default::default()
    };
    let report = adarchive::ingest::import_paths(
        &archive,
        &[sample(SNAP[0])],
        options,
        &adarchive::archive::NoProgress,
    )
    .unwrap();
    assert_eq!(report.totals.records, 659);
    assert_eq!(
        adarchive::search::search(&archive, &Default::default())
            .unwrap()
            .total,
        0
    );
    let report = verify(&archive).unwrap();
    assert!(report.ok());
    assert_eq!(report.index_behind, 1);
    drop(archive);

    let out = adarchive(&["reindex", "--data", path_str(&data)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 659 ads"));
    let archive = Archive::open(&data).unwrap();
    let report = verify(&archive).unwrap();
    assert_eq!((report.index_behind, report.indexed), (0, 659));
    assert_eq!(
        adarchive::search::search(&archive, &Default::default())
            .unwrap()
            .total,
        659
    );
}

#[test]
fn an_index_of_an_earlier_schema_is_rebuilt_when_the_archive_opens() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let archive = Archive::open(&data).unwrap();
        let report = import(&archive, &[sample(SNAP[0])]);
        assert_eq!(report.totals.records, 659);
    }
    // An index written with another schema, as an earlier release would
    // have left it.
    let index_dir = data.join("index");
    std::fs::remove_dir_all(&index_dir).unwrap();
    std::fs::create_dir_all(&index_dir).unwrap();
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_text_field("uid", tantivy::schema::STRING);
    tantivy::Index::create_in_dir(&index_dir, builder.build()).unwrap();

    let archive = Archive::open(&data).unwrap();
    assert!(archive.index().unwrap().was_recreated());
    assert_eq!(
        adarchive::search::search(&archive, &Default::default())
            .unwrap()
            .total,
        659
    );
    let report = verify(&archive).unwrap();
    assert!(report.ok());
    assert_eq!((report.index_behind, report.indexed), (0, 659));
    drop(archive);
    let archive = Archive::open(&data).unwrap();
    assert!(!archive.index().unwrap().was_recreated());
}

#[test]
fn stats_say_where_the_bytes_of_the_data_folder_go() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let archive = Archive::open(&data).unwrap();
    import(&archive, &ad_samples());
    let counts = archive.stats().unwrap();
    drop(archive);
    let (code, stats) = adarchive_json(&["stats", "--data", path_str(&data), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(stats["counts"]["ads"], counts.ads);
    let tables = stats["tables"].as_array().unwrap();
    let table = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no table {name}: {stats}"))
    };
    assert_eq!(table("records")["entries"], counts.records);
    assert_eq!(table("observations")["entries"], counts.observations);
    assert_eq!(table("sources")["entries"], counts.sources);
    // Largest first, and no table holds more than the database file.
    let database = stats["files"]["database"].as_u64().unwrap();
    let total = |t: &serde_json::Value| {
        ["stored_bytes", "metadata_bytes", "fragmented_bytes"]
            .iter()
            .map(|k| t[k].as_u64().unwrap())
            .sum::<u64>()
    };
    let totals: Vec<u64> = tables.iter().map(total).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    assert!(totals.iter().sum::<u64>() <= database);
    let stored: u64 = std::fs::read_dir(data.join("sources"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(stats["files"]["sources"], stored);
    // What the disk gives the database: some, and no more than the file
    // (whose end, grown and not yet written, may take none).
    let on_disk = stats["files"]["on_disk"]["database"].as_u64().unwrap();
    assert!(on_disk > 0 && on_disk <= database + 4096, "{stats}");
    // Records are compressed against a dictionary of their format's own
    // first records, kept in the database: read back by another process
    // (verify), they are stored in well under half their JSON's size.
    let dictionaries = table("dictionaries")["entries"].as_u64().unwrap();
    assert!(dictionaries >= 1, "{stats}");
    let (code, verified) = adarchive_json(&["verify", "--data", path_str(&data), "--json"]);
    assert_eq!(code, 0, "{verified}");
    let out = adarchive(&["export", "--data", path_str(&data)]);
    let json_bytes = out.stdout.len() as u64;
    let stored_records = table("records")["stored_bytes"].as_u64().unwrap();
    assert!(
        stored_records * 2 < json_bytes,
        "{stored_records} bytes stored for {json_bytes} bytes of JSON"
    );
    // The same in words.
    let out = adarchive(&["stats", "--data", path_str(&data)]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("{} ads", counts.ads)), "{text}");
    assert!(text.lines().any(|l| l.starts_with("records ")), "{text}");
}

#[test]
fn an_import_with_compact_leaves_full_pages_and_the_same_archive() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    generate_samples(
        &exports,
        &GenerateOptions {
            ads: 12_000,
            seed: 11,
            ..Default::default()
        },
    )
    .unwrap();
    let (plain, packed) = (dir.path().join("plain"), dir.path().join("packed"));
    let out = adarchive(&["import", "--data", path_str(&plain), path_str(&exports)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = adarchive(&[
        "import",
        "--compact",
        "--data",
        path_str(&packed),
        path_str(&exports),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    // Ads are numbered by uid, which arrive in no order: the pages of the
    // table of numbers are written again.
    assert!(
        printed.contains("written again as full pages: ad_numbers"),
        "{printed}"
    );
    assert!(printed.contains("database: "), "{printed}");

    let size = |data: &std::path::Path| std::fs::metadata(data.join("archive.redb")).unwrap().len();
    assert!(
        size(&packed) < size(&plain),
        "{} compacted, {} not",
        size(&packed),
        size(&plain)
    );
    let table = |data: &std::path::Path, name: &str| {
        let archive = Archive::open(data).unwrap();
        archive
            .table_sizes()
            .unwrap()
            .into_iter()
            .find(|t| t.name == name)
            .unwrap()
    };
    let (plain_numbers, packed_numbers) =
        (table(&plain, "ad_numbers"), table(&packed, "ad_numbers"));
    assert_eq!(plain_numbers.entries, packed_numbers.entries);
    assert!(
        packed_numbers.fragmented_bytes * 4 < plain_numbers.fragmented_bytes,
        "{packed_numbers:?} packed, {plain_numbers:?} not"
    );
    // The entries of new ads are appended as full pages by the import
    // itself.
    let entries = table(&plain, "ad_entries");
    assert_eq!(entries.entries, 3 * plain_numbers.entries);
    assert!(
        entries.fragmented_bytes * 10 < entries.total_bytes(),
        "{entries:?}"
    );

    // The same archive: every check passes and it answers alike.
    for data in [&plain, &packed] {
        let archive = Archive::open(data).unwrap();
        let verified = verify(&archive).unwrap();
        assert!(verified.ok(), "{:?}", verified);
    }
    let (a, b) = (
        Archive::open(&plain).unwrap(),
        Archive::open(&packed).unwrap(),
    );
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    let mut snap = csv::Reader::from_path(exports.join("snap").join("PoliticalAds.csv")).unwrap();
    let ids: Vec<String> = snap
        .records()
        .map(|r| format!("snap:{}", &r.unwrap()[0]))
        .collect();
    assert!(ids.len() > 100);
    for uid in ids.iter().step_by(37) {
        // The two imports ran at different times.
        let trail = |archive: &Archive| -> Vec<_> {
            archive
                .history(uid)
                .unwrap()
                .into_iter()
                .map(|v| {
                    (
                        v.seq,
                        v.record_hash,
                        v.supersedes,
                        v.source_blake3,
                        v.ordinal,
                    )
                })
                .collect()
        };
        assert!(!trail(&a).is_empty(), "{uid}");
        assert_eq!(trail(&a), trail(&b));
        assert_eq!(a.latest(uid).unwrap(), b.latest(uid).unwrap());
    }

    // Compacting again finds nothing worth writing again.
    drop(b);
    let out = adarchive(&["compact", "--data", path_str(&packed)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("written again"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
