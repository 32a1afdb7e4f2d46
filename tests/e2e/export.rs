//! Exports for analysts: Parquet folders and files, read back by this
//! crate's Parquet reader and by DuckDB, pyarrow, Polars and Spark.

use std::collections::BTreeMap;
use std::path::Path;

use adarchive::archive::Archive;
use adarchive::generate::{generate_samples, GenerateOptions};
use arrow_array::{Array, Int64Array, ListArray, StringArray, StructArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::*;

/// Per currency: spend entries, sum of lower bounds, sum of the bounded
/// upper bounds, open-ended entries.
type Sums = BTreeMap<String, (u64, u128, u128, u64)>;

/// Every ad's uid and spend in the Parquet files under `path` (a file or a
/// folder), read with this crate's reader.
fn read_back(path: &Path) -> (Vec<String>, Sums) {
    let mut files = Vec::new();
    if path.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "parquet") {
                    files.push(p);
                }
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
    let (mut uids, mut sums) = (Vec::new(), Sums::new());
    for file in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let uid = batch.column_by_name("uid").unwrap();
            let uid = uid.as_any().downcast_ref::<StringArray>().unwrap();
            uids.extend(uid.iter().map(|u| u.unwrap().to_owned()));
            let spend = batch.column_by_name("spend").unwrap();
            let spend = spend.as_any().downcast_ref::<ListArray>().unwrap();
            let entries = spend
                .values()
                .as_any()
                .downcast_ref::<StructArray>()
                .unwrap();
            let currency = entries.column_by_name("currency").unwrap();
            let currency = currency.as_any().downcast_ref::<StringArray>().unwrap();
            let lower = entries.column_by_name("lower").unwrap();
            let lower = lower.as_any().downcast_ref::<Int64Array>().unwrap();
            let upper = entries.column_by_name("upper").unwrap();
            let upper = upper.as_any().downcast_ref::<Int64Array>().unwrap();
            let (start, end) = (
                spend.value_offsets()[0] as usize,
                spend.value_offsets()[spend.len()] as usize,
            );
            for i in start..end {
                let s = sums.entry(currency.value(i).to_owned()).or_default();
                s.0 += 1;
                s.1 += lower.value(i) as u128;
                if upper.is_null(i) {
                    s.3 += 1;
                } else {
                    s.2 += upper.value(i) as u128;
                }
            }
        }
    }
    (uids, sums)
}

#[tokio::test]
async fn parquet_exports_hold_every_ad_with_the_spend_of_v1_spend() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    let options = GenerateOptions {
        ads: 3_000,
        seed: 41,
        ..Default::default()
    };
    generate_samples(&exports, &options).unwrap();
    let data = dir.path().join("data");
    {
        let archive = Archive::open(&data).unwrap();
        import(&archive, &[exports]);
    }

    // The command line writes a folder partitioned by platform and year.
    let folder = dir.path().join("ads");
    let out = adarchive(&[
        "export",
        "--data",
        path_str(&data),
        "--format",
        "parquet",
        "--out",
        path_str(&folder),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("3000 ads in "));
    let meta = folder.join("platform=meta");
    let years: Vec<String> = std::fs::read_dir(&meta)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !years.is_empty() && years.iter().all(|y| y.starts_with("year=")),
        "{years:?}"
    );
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".adarchive-export-")),
        "no staging folder is left behind"
    );
    // A folder is never written over, and Parquet needs one.
    let again = adarchive(&[
        "export",
        "--data",
        path_str(&data),
        "--format",
        "parquet",
        "--out",
        path_str(&folder),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    let to_stdout = adarchive(&["export", "--data", path_str(&data), "--format", "parquet"]);
    assert_eq!(to_stdout.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&to_stdout.stderr).contains("--out FOLDER"));
    // NDJSON to a file has every ad too.
    let ndjson = dir.path().join("ads.ndjson");
    let out = adarchive(&[
        "export",
        "--data",
        path_str(&data),
        "--out",
        path_str(&ndjson),
        "--platform",
        "snap",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(&ndjson).unwrap();
    let snap_ads = lines
        .lines()
        .filter(|l| l.starts_with("{\"advertiser\""))
        .count();
    assert!(snap_ads > 0);
    assert!(lines
        .lines()
        .filter(|l| l.starts_with("{\"advertiser\""))
        .all(|l| l.contains("\"platform\":\"snap\"")));

    // The API writes one file.
    let app = crate::api::helpers::spawn_with(data.clone(), tempfile::tempdir().unwrap(), 0).await;
    let answer = app.get("/v1/export?format=parquet").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"].to_str().unwrap(),
        "application/vnd.apache.parquet"
    );
    assert!(answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("adarchive-export.parquet"));
    let file = dir.path().join("ads.parquet");
    std::fs::write(&file, answer.bytes().await.unwrap()).unwrap();
    // Asked the moment the first one ended: its slot is free again.
    let filtered = app.get("/v1/export?format=parquet&platform=snap").await;
    assert_eq!(filtered.status(), 200);
    let snap_file = dir.path().join("snap.parquet");
    std::fs::write(&snap_file, filtered.bytes().await.unwrap()).unwrap();
    assert_eq!(read_back(&snap_file).0.len(), snap_ads);

    // What /v1/spend says of the same ads.
    let spend: serde_json::Value = app
        .get("/v1/spend?group_by=platform")
        .await
        .json()
        .await
        .unwrap();
    let total = spend["total_ads"].as_u64().unwrap();
    assert_eq!(total, 3_000);
    let mut platforms = serde_json::Map::new();
    let mut expected = Sums::new();
    for group in spend["groups"].as_array().unwrap() {
        platforms.insert(
            group["key"].as_str().unwrap().to_owned(),
            group["ads"].clone(),
        );
        for s in group["spend"].as_array().unwrap() {
            let e = expected
                .entry(s["currency"].as_str().unwrap().to_owned())
                .or_default();
            e.0 += s["ads"].as_u64().unwrap();
            e.1 += s["lower"].as_u64().unwrap() as u128;
            e.3 += s["open_ended_ads"].as_u64().unwrap();
            e.2 += s["upper"].as_u64().unwrap_or(0) as u128;
        }
    }
    for path in [&folder, &file] {
        let (uids, sums) = read_back(path);
        assert_eq!(uids.len() as u64, total, "{}", path.display());
        let distinct: std::collections::HashSet<&String> = uids.iter().collect();
        assert_eq!(distinct.len(), uids.len(), "each ad once");
        // Upper sums are compared where /v1/spend gives them (no open end).
        let comparable = |s: &Sums| -> Sums {
            s.iter()
                .map(|(c, &(n, l, u, open))| {
                    (c.clone(), (n, l, if open > 0 { 0 } else { u }, open))
                })
                .collect()
        };
        assert_eq!(
            comparable(&sums),
            comparable(&expected),
            "{}",
            path.display()
        );
    }

    // Other engines read both the same way.
    let currencies: serde_json::Map<String, serde_json::Value> = expected
        .iter()
        .map(|(c, &(ads, lower, upper, open))| {
            (
                c.clone(),
                serde_json::json!({
                    "ads": ads,
                    "lower": lower as u64,
                    "upper": if open > 0 { None } else { Some(upper as u64) },
                    "open_ended": open,
                }),
            )
        })
        .collect();
    let expectation = dir.path().join("expected.json");
    std::fs::write(
        &expectation,
        serde_json::json!({"ads": total, "platforms": platforms, "currencies": currencies})
            .to_string(),
    )
    .unwrap();
    check_with_other_engines(&folder, &file, &expectation);
}

/// Runs `tests/parquet_readers.py` (DuckDB, pyarrow, Polars, Spark). Where
/// `ADARCHIVE_PARQUET_READERS=required` (as in CI) a missing engine fails
/// the test; elsewhere it is said and skipped.
fn check_with_other_engines(folder: &Path, file: &Path, expectation: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parquet_readers.py");
    let run = std::process::Command::new("python3")
        .arg(&script)
        .args([folder, file, expectation])
        .output();
    let required = std::env::var("ADARCHIVE_PARQUET_READERS").is_ok_and(|v| v == "required");
    match run {
        Ok(out) if out.status.success() => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(out) if out.status.code() == Some(2) && !required => {
            eprintln!(
                "not checked with other engines: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out) => panic!(
            "other engines disagree or are missing:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if !required => eprintln!("not checked with other engines: python3: {e}"),
        Err(e) => panic!("python3: {e}"),
    }
}
