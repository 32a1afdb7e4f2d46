//! What changed between listings: mutations of the real Snap and Google
//! samples (rows removed, changed and added), flicker, vanishing, a
//! listing imported again, and partial files, read through the served API
//! and the command line; each JSON Patch applied by a second
//! implementation of RFC 6902 (`tests/jsonpatch_check.py`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use adarchive::archive::{Archive, ChangeKind, NoProgress};
use adarchive::changes::{changes, ChangesRequest};
use adarchive::ingest::{import_paths, ImportOptions, ImportReport};

use crate::api::helpers::{spawn_with, TestApp};
use crate::util::{adarchive_json, sample, skip_without_samples, GOOGLE, META_2019};

const SNAP_2023: &str = "snap/2023_PoliticalAds.sorted.first500.csv";

/// A CSV file: its header and rows, as published.
struct Table {
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: &Path) -> Table {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .unwrap();
        let header = reader.headers().unwrap().clone();
        let rows = reader.records().map(Result::unwrap).collect();
        Table { header, rows }
    }

    fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// Writes `rows` under the header at `path` (CRLF, as Snap does).
    fn write(&self, path: &Path, rows: &[csv::StringRecord]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_path(path)
            .unwrap();
        writer.write_record(&self.header).unwrap();
        for row in rows {
            writer.write_record(row).unwrap();
        }
        writer.flush().unwrap();
    }
}

/// `row` with `column` set to `value`.
fn with(row: &csv::StringRecord, column: usize, value: &str) -> csv::StringRecord {
    row.iter()
        .enumerate()
        .map(|(i, v)| if i == column { value } else { v })
        .collect()
}

fn import(archive: &Archive, path: &Path) -> ImportReport {
    let report = import_paths(
        archive,
        &[path.to_path_buf()],
        ImportOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(report.all_recognized(), "{path:?}: {:?}", report.files);
    report
}

/// The uids of the changes of `kind` on `/v1/changes` (every page).
async fn changed(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/changes?limit=7&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.json(&path).await;
        for change in page["changes"].as_array().unwrap() {
            out.push((
                change["kind"].as_str().unwrap().to_owned(),
                change["uid"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn uids_of(changes: &[(String, String)], kind: &str) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, uid)| uid.clone())
        .collect()
}

fn set(uids: &[&String]) -> BTreeSet<String> {
    uids.iter().map(|u| (*u).clone()).collect()
}

/// Snap's 2023 file, then a week later with three rows removed, two
/// changed and two added: exactly those sets. Then one removed row back
/// (reappeared) and two absent again (vanished, never before), the first
/// file imported again (a listing again: back and changed back), and
/// partial files, which say nothing is missing.
#[tokio::test]
async fn a_newer_listing_gives_exactly_the_rows_removed_changed_and_added() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let table = Table::read(&sample(SNAP_2023));
    let (adid, spend) = (table.column("ADID"), table.column("Spend"));
    let uid = |row: &csv::StringRecord| format!("snap:{}", &row[adid]);
    let rows = &table.rows;
    // Week 3's name does not say the year: its ads do.
    let file = |week: &str| match week {
        "week3" => dir.path().join(week).join("PoliticalAds.csv"),
        _ => dir.path().join(week).join("2023_PoliticalAds.csv"),
    };

    let removed = [uid(&rows[3]), uid(&rows[40]), uid(&rows[41])];
    let changed_rows = [7usize, 100];
    let changed_uids: Vec<String> = changed_rows.iter().map(|&i| uid(&rows[i])).collect();
    let added = [
        with(&rows[0], adid, &"a".repeat(64)),
        with(&rows[1], adid, &"b".repeat(64)),
    ];
    let added_uids: Vec<String> = added.iter().map(&uid).collect();
    let mut week2: Vec<csv::StringRecord> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| ![3, 40, 41].contains(i))
        .map(|(i, row)| {
            if changed_rows.contains(&i) {
                let more = row[spend].parse::<u64>().unwrap_or(0) + 500;
                with(row, spend, &more.to_string())
            } else {
                row.clone()
            }
        })
        .collect();
    week2.extend(added.iter().cloned());
    // Week 3: the first removed row is back; the other two stay away.
    let mut week3 = week2.clone();
    week3.push(rows[3].clone());

    table.write(&file("week1"), rows);
    table.write(&file("week2"), &week2);
    table.write(&file("week3"), &week3);
    {
        let archive = Archive::open(&data).unwrap();
        let first = import(&archive, &file("week1"));
        let listing = first.files[0].listing.clone().expect("a listing");
        assert_eq!(
            (listing.scope.as_str(), listing.number, listing.ads),
            ("snap:2023", 1, 500)
        );
        assert_eq!(listing.new, 0, "a first listing is the baseline");
        let second = import(&archive, &file("week2"));
        let listing = second.files[0].listing.clone().unwrap();
        assert_eq!((listing.number, listing.ads, listing.absent), (2, 499, 3));
        assert_eq!(
            (
                listing.new,
                listing.changed,
                listing.missing_once,
                listing.vanished
            ),
            (2, 2, 3, 0)
        );
    }
    let app = serve_copy(&data).await;
    let after_week2 = changed(&app, "").await;
    assert_eq!(
        uids_of(&after_week2, "new"),
        set(&added_uids.iter().collect::<Vec<_>>())
    );
    assert_eq!(
        uids_of(&after_week2, "changed"),
        set(&changed_uids.iter().collect::<Vec<_>>())
    );
    assert_eq!(
        uids_of(&after_week2, "missing_once"),
        set(&removed.iter().collect::<Vec<_>>())
    );
    assert!(uids_of(&after_week2, "vanished").is_empty());
    assert_eq!(after_week2.len(), 7, "nothing else: {after_week2:?}");

    // The change carries the fields that changed, as a JSON Patch.
    let page = app.json("/v1/changes?kind=changed&q=&limit=1").await;
    let patch = &page["changes"][0]["patch"];
    let paths: BTreeSet<&str> = patch
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/spend/")),
        "only the spend changed: {patch}"
    );
    assert!(!paths.is_empty());
    // Applied by another implementation of RFC 6902, every version's patch
    // turns the version before into it.
    jsonpatch_check(&app.address, &changed_uids).await;

    // Status: the removed ads are missing once, a filter and a facet.
    let facets = app.json("/v1/ads?facets=status&limit=1").await;
    let counts: Vec<(String, u64)> = facets["facets"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("missing_once".into(), 3)), "{counts:?}");
    assert!(counts.contains(&("listed".into(), 499)), "{counts:?}");

    // Week 3: flicker is "missing once" then "reappeared", never "vanished".
    {
        let archive = Archive::open(&data).unwrap();
        let third = import(&archive, &file("week3"));
        let listing = third.files[0].listing.clone().unwrap();
        assert_eq!(
            listing.scope, "snap:2023",
            "the year its ads were first shown in"
        );
        assert_eq!((listing.reappeared, listing.vanished), (1, 2));
        // The same file again changes nothing: an import run twice.
        let again = import(&archive, &file("week3"));
        assert!(again.files[0].listing.is_none());
    }
    let app = serve_copy(&data).await;
    let all = changed(&app, "").await;
    assert_eq!(uids_of(&all, "reappeared"), set(&[&removed[0]]));
    assert_eq!(uids_of(&all, "vanished"), set(&[&removed[1], &removed[2]]));
    assert!(
        !all.iter()
            .any(|(kind, uid)| kind == "vanished" && uid == &removed[0]),
        "a row absent once and back never vanished"
    );
    let vanished = app.json("/v1/ads?status=vanished&limit=10").await;
    assert_eq!(vanished["total"], 2);
    let listings = app.json(&format!("/v1/ads/{}/listings", removed[1])).await;
    assert_eq!(listings["status"], "vanished");
    assert_eq!(listings["scopes"][0]["scope"], "snap:2023");
    assert_eq!(listings["scopes"][0]["absent_from"], 2);
    let back = app.json(&format!("/v1/ads/{}/listings", removed[0])).await;
    assert_eq!(back["status"], "listed");

    // Filters join the search: kinds, platforms, the ads' own fields.
    assert_eq!(
        uids_of(&changed(&app, "kind=vanished,reappeared").await, "vanished").len(),
        2
    );
    assert_eq!(changed(&app, "kind=new").await.len(), 2);
    assert!(changed(&app, "platform=meta").await.is_empty());
    assert_eq!(changed(&app, "platform=snap").await, all);
    assert_eq!(
        changed(&app, "status=vanished").await.len(),
        4,
        "the two vanished ads: missing once, then vanished"
    );
    let country = app.json(&format!("/v1/ads/{}", removed[1])).await["countries"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(changed(&app, &format!("country={country}&kind=vanished"))
        .await
        .contains(&("vanished".into(), removed[1].clone())));
    assert!(changed(&app, "country=ZZ").await.is_empty());
    assert!(changed(&app, "since=2999-01-01").await.is_empty());
    assert_eq!(changed(&app, "since=2000-01-01").await, all);
    assert!(changed(&app, "scope=snap:2024").await.is_empty());
    let bad = app.get("/v1/changes?kind=gone").await;
    assert_eq!(bad.status(), 400);
    let bad = app.get("/v1/changes?cursor=nonsense").await;
    assert_eq!(bad.status(), 400);

    // Listing sizes over time.
    let scopes = app.json("/v1/scopes").await;
    let sizes: Vec<u64> = scopes[0]["listings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ads"].as_u64().unwrap())
        .collect();
    assert_eq!(scopes[0]["scope"], "snap:2023");
    assert_eq!(sizes, [500, 499, 500]);

    // The first week's file again, after others: the scope's newest
    // listing. The vanished rows are back, the changed rows changed back,
    // the added rows missing.
    {
        let archive = Archive::open(&data).unwrap();
        let again = import(&archive, &file("week1"));
        let listing = again.files[0].listing.clone().expect("listed again");
        assert!(listing.again);
        assert_eq!(
            (
                listing.number,
                listing.reappeared,
                listing.changed,
                listing.missing_once
            ),
            (4, 2, 2, 2)
        );
        // Partial files: a page of Meta's API, and an excerpt of Snap's
        // file imported as what it is. Neither makes anything absent.
        let excerpt = dir.path().join("2023_PoliticalAds.excerpt.csv");
        table.write(&excerpt, &rows[..5]);
        let before = changes(&archive, &ChangesRequest::default()).unwrap();
        let report = import(&archive, &sample(META_2019));
        assert!(
            report.files[0].listing.is_none(),
            "a page of an API is partial"
        );
        let options = adarchive::ingest::ImportSettings {
            listing: Some("partial".into()),
            ..Default::default()
        }
        .options()
        .unwrap();
        let report = import_paths(&archive, &[excerpt], options, &NoProgress).unwrap();
        assert!(report.files[0].listing.is_none(), "told it is an excerpt");
        let after = changes(&archive, &ChangesRequest::default()).unwrap();
        assert_eq!(before, after);

        // rebuild derives the same changes, the relisting in its place.
        let mut request = ChangesRequest {
            limit: 1000,
            ..ChangesRequest::default()
        };
        let all_before = changes(&archive, &request).unwrap();
        drop(archive);
        let (code, _) = adarchive_json(&["rebuild", "--data", data.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0);
        let archive = Archive::open(&data).unwrap();
        request.cursor = None;
        let all_after = changes(&archive, &request).unwrap();
        assert_eq!(all_before.changes, all_after.changes);
        // verify derives every listing again and finds what was recorded.
        let verified = adarchive::check::verify(&archive).unwrap();
        assert!(verified.ok(), "{:?}", verified.mismatches);
        assert_eq!(verified.listings, 4);
        assert_eq!(verified.changes, all_after.changes.len() as u64);
    }

    // The command line reads the same.
    let (code, page) = adarchive_json(&[
        "changes",
        "--data",
        data.to_str().unwrap(),
        "--kind",
        "vanished",
        "--json",
    ]);
    assert_eq!(code, 0);
    let vanished: BTreeSet<String> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(vanished, set(&[&removed[1], &removed[2]]));

    // A change rewritten, or a membership, is found by verify.
    for (table, name) in [("changes", "a change's kind"), ("listed", "a membership")] {
        let copy = dir.path().join(format!("tampered-{table}"));
        copy_dir(&data, &copy);
        {
            let db = redb::Database::open(copy.join(adarchive::archive::DATABASE_FILE)).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let definition: redb::TableDefinition<&[u8], &[u8]> =
                    redb::TableDefinition::new(table);
                let mut rows = txn.open_table(definition).unwrap();
                let (key, mut value) = {
                    use redb::ReadableTable;
                    let (key, value) = rows.last().unwrap().unwrap();
                    (key.value().to_vec(), value.value().to_vec())
                };
                // A change's first byte is its kind; a membership ends
                // with how many listings in a row missed the ad.
                match table {
                    "changes" => value[0] = if value[0] == 1 { 2 } else { 1 },
                    _ => *value.last_mut().unwrap() ^= 1,
                }
                rows.insert(&key[..], &value[..]).unwrap();
            }
            txn.commit().unwrap();
        }
        let (code, verified) =
            adarchive_json(&["verify", "--data", copy.to_str().unwrap(), "--json"]);
        assert_eq!(code, 1, "{name} rewritten: {verified}");
        let mismatches = verified["mismatches"].as_array().unwrap();
        assert!(
            mismatches
                .iter()
                .all(|m| m.as_str().unwrap().starts_with("listings: ")),
            "{name} rewritten: {verified}"
        );
        assert!(!mismatches.is_empty());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Google's creative stats: a listing of every Google ad. Rows removed
/// from it are missing; a query's answer saved under its own name is
/// partial.
#[tokio::test]
async fn google_creative_stats_are_a_listing_and_a_query_is_not() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(&dir.path().join("data")).unwrap();
    let table = Table::read(&sample(GOOGLE));
    let ad_id = table.column("Ad_ID");
    let bundle = |n: &str| -> PathBuf {
        dir.path()
            .join(n)
            .join("google-political-ads-creative-stats.csv")
    };
    table.write(&bundle("1"), &table.rows);
    let kept: Vec<csv::StringRecord> = table.rows[10..].to_vec();
    table.write(&bundle("2"), &kept);
    let first = import(&archive, &bundle("1"));
    assert_eq!(
        first.files[0].listing.as_ref().map(|l| l.scope.as_str()),
        Some("google:creative-stats")
    );
    import(&archive, &bundle("2"));
    let missing: BTreeSet<String> = changes(&archive, &ChangesRequest::default())
        .unwrap()
        .changes
        .into_iter()
        .filter(|c| c.kind.as_str() == "missing_once")
        .map(|c| c.uid)
        .collect();
    let still: BTreeSet<&str> = kept.iter().map(|r| &r[ad_id]).collect();
    let expected: BTreeSet<String> = table.rows[..10]
        .iter()
        .filter(|r| !still.contains(&r[ad_id]))
        .map(|r| format!("google:{}", &r[ad_id]))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(missing, expected);

    // A BigQuery answer (its columns in lower case) saved under a name of
    // its own is partial; the bundle's columns say the bundle's file.
    let query = dir.path().join("my_query_results.csv");
    let bigquery = Table {
        header: table.header.iter().map(|h| h.to_lowercase()).collect(),
        rows: Vec::new(),
    };
    bigquery.write(&query, &table.rows[..3]);
    assert!(import(&archive, &query).files[0].listing.is_none());
    let renamed = dir.path().join("3").join("nl.csv");
    table.write(&renamed, &table.rows[..table.rows.len() - 1]);
    let report = import(&archive, &renamed);
    let listing = report.files[0]
        .listing
        .clone()
        .expect("a listing by its columns");
    assert_eq!((listing.number, listing.again), (3, false));

    // The importer's word can be overruled: a listing saved under a name
    // of its own, a file named like a listing that is an excerpt, and a
    // scope of another platform, refused with a warning.
    let import_as = |path: &Path, listing: &str| {
        let options = adarchive::ingest::ImportSettings {
            listing: Some(listing.into()),
            ..Default::default()
        }
        .options()
        .unwrap();
        import_paths(&archive, &[path.to_path_buf()], options, &NoProgress).unwrap()
    };
    let saved = dir.path().join("export-from-the-console.csv");
    table.write(&saved, &table.rows[1..]);
    let report = import_as(&saved, "google:creative-stats");
    assert_eq!(report.files[0].listing.as_ref().map(|l| l.number), Some(4));
    let excerpt = dir
        .path()
        .join("4")
        .join("google-political-ads-creative-stats.csv");
    table.write(&excerpt, &table.rows[..2]);
    assert!(import_as(&excerpt, "partial").files[0].listing.is_none());
    let other = dir
        .path()
        .join("5")
        .join("google-political-ads-creative-stats.csv");
    table.write(&other, &table.rows[2..]);
    let report = import_as(&other, "snap:2024");
    assert!(report.files[0].listing.is_none());
    assert!(
        report.files[0].warnings[0].contains("not a snap file"),
        "{:?}",
        report.files[0].warnings
    );
    assert!(adarchive::ingest::ImportSettings {
        listing: Some("everything".into()),
        ..Default::default()
    }
    .options()
    .is_err());
    let verified = adarchive::check::verify(&archive).unwrap();
    assert!(verified.ok(), "{:?}", verified.mismatches);
    assert_eq!(verified.listings, 4);
}

/// Serves a copy of the archive at `data` as it is now (a served archive
/// is locked; the test goes on importing into the original).
async fn serve_copy(data: &Path) -> TestApp {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("data");
    copy(data, &served);
    spawn_with(served, dir, 0).await
}

/// Runs `tests/jsonpatch_check.py` on the histories of `uids`.
async fn jsonpatch_check(address: &str, uids: &[String]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsonpatch_check.py");
    let mut command = std::process::Command::new("python3");
    command.arg(script).arg(address).args(uids);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 (with `pip install jsonpatch`) applies the patches");
    assert!(
        out.status.success(),
        "the patches do not apply:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Meta Ad Library Report of one country and period lists advertisers:
/// a newer report without some of them says which left; its locations
/// file lists none and is partial.
#[tokio::test]
async fn a_spend_report_is_a_listing_of_advertisers() {
    if skip_without_samples() {
        return;
    }
    const REPORT: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv";
    const LOCATIONS: &str = "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_locations.csv";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let table = Table::read(&sample(REPORT));
    let page = table.column("Page ID");
    let name = "FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv";
    let gone: BTreeSet<String> = table.rows[..3].iter().map(|r| r[page].to_owned()).collect();
    let kept: Vec<csv::StringRecord> = table
        .rows
        .iter()
        .filter(|r| !gone.contains(&r[page]))
        .cloned()
        .collect();
    table.write(&dir.path().join("1").join(name), &table.rows);
    table.write(&dir.path().join("2").join(name), &kept);
    {
        let archive = Archive::open(&data).unwrap();
        let first = import(&archive, &dir.path().join("1").join(name));
        let listing = first.files[0].listing.clone().expect("a listing");
        assert_eq!(listing.scope, "meta:report:TH:yesterday");
        let second = import(&archive, &dir.path().join("2").join(name));
        let listing = second.files[0].listing.clone().expect("a listing");
        assert_eq!(listing.missing_once, gone.len() as u64);
        let locations = import(&archive, &sample(LOCATIONS));
        assert!(locations.files[0].listing.is_none());
        let verified = adarchive::check::verify(&archive).unwrap();
        assert!(verified.ok(), "{:?}", verified.mismatches);
        assert_eq!(verified.listings, 2);
    }
    let app = serve_copy(&data).await;
    let page = app.json("/v1/changes").await;
    let missing: BTreeSet<String> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["subject"], "advertisers");
            assert_eq!(c["kind"], "missing_once");
            c["uid"]
                .as_str()
                .unwrap()
                .trim_start_matches("meta:")
                .to_owned()
        })
        .collect();
    assert_eq!(missing, gone);
    // No ad took a status from them.
    let facets = app.json("/v1/ads?facets=status&limit=1").await;
    assert_eq!(facets["total"], 0);
    let html = app.get("/changes").await.text().await.unwrap();
    for id in &gone {
        assert!(html.contains(&format!("advertiser_id={id}")), "{id}");
    }
}

/// A listing of 9,000 ads, more than a listing's ads and memberships are
/// met at once, then a newer one with every seventh ad gone, every
/// eleventh changed and 1,000 added, then the newer one again, its rows in
/// the other order: exactly those changes, in uid order, and what `verify`
/// derives again.
#[tokio::test]
async fn listings_larger_than_one_merge_give_exactly_their_changes() {
    if skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let table = Table::read(&sample(SNAP_2023));
    let (adid, spend) = (table.column("ADID"), table.column("Spend"));
    let row = |n: usize| {
        with(
            &table.rows[n % table.rows.len()],
            adid,
            &format!("{n:064x}"),
        )
    };
    let uid = |n: usize| format!("snap:{n:064x}");
    let week1: Vec<csv::StringRecord> = (0..9_000).map(row).collect();
    let gone = |n: usize| n % 7 == 3;
    let changed_n = |n: usize| n % 11 == 5 && !gone(n);
    let mut week2: Vec<csv::StringRecord> = (0..9_000)
        .filter(|&n| !gone(n))
        .map(|n| {
            let r = row(n);
            if changed_n(n) {
                let more = r[spend].parse::<u64>().unwrap_or(0) + 500;
                with(&r, spend, &more.to_string())
            } else {
                r
            }
        })
        .collect();
    week2.extend((9_000..10_000).map(row));
    let file = |week: &str| dir.path().join(week).join("2023_PoliticalAds.csv");
    table.write(&file("week1"), &week1);
    table.write(&file("week2"), &week2);
    let week3: Vec<csv::StringRecord> = week2.iter().rev().cloned().collect();
    table.write(&file("week3"), &week3);

    let archive = Archive::open(&dir.path().join("data")).unwrap();
    import(&archive, &file("week1"));
    let second = import(&archive, &file("week2"));
    let listing = second.files[0].listing.clone().unwrap();
    let gone_uids: BTreeSet<String> = (0..9_000).filter(|&n| gone(n)).map(uid).collect();
    let changed_uids: BTreeSet<String> = (0..9_000).filter(|&n| changed_n(n)).map(uid).collect();
    let added_uids: BTreeSet<String> = (9_000..10_000).map(uid).collect();
    assert_eq!(
        (
            listing.ads,
            listing.absent,
            listing.new,
            listing.changed,
            listing.missing_once
        ),
        (
            week2.len() as u64,
            gone_uids.len() as u64,
            1_000,
            changed_uids.len() as u64,
            gone_uids.len() as u64
        )
    );
    let third = import(&archive, &file("week3"));
    let listing = third.files[0].listing.clone().unwrap();
    assert_eq!(
        (
            listing.number,
            listing.vanished,
            listing.new,
            listing.changed
        ),
        (3, gone_uids.len() as u64, 0, 0)
    );

    let all = archive.changes_from((0, 0), 1_000_000).unwrap();
    let of = |id: u64, kind: ChangeKind| -> BTreeSet<String> {
        all.iter()
            .filter(|c| c.listing == id && c.kind == kind)
            .map(|c| c.uid.clone())
            .collect()
    };
    assert_eq!(of(1, ChangeKind::New), added_uids);
    assert_eq!(of(1, ChangeKind::Changed), changed_uids);
    assert_eq!(of(1, ChangeKind::MissingOnce), gone_uids);
    assert_eq!(of(2, ChangeKind::Vanished), gone_uids);
    let listing_2: Vec<&str> = all
        .iter()
        .filter(|c| c.listing == 1)
        .map(|c| c.uid.as_str())
        .collect();
    assert!(
        listing_2.windows(2).all(|w| w[0] <= w[1]),
        "changes in uid order"
    );
    assert_eq!(
        all.len(),
        added_uids.len() + changed_uids.len() + 2 * gone_uids.len()
    );
    let verified = adarchive::check::verify(&archive).unwrap();
    assert!(verified.ok(), "{:?}", verified.mismatches);
    assert_eq!((verified.listings, verified.changes), (3, all.len() as u64));
}
