//! Files as they are found in the wild, and the command line as a new user
//! meets it: spreadsheet re-saves, refused formats, renamed reports, values
//! that cannot be normalized, spend in several currencies, closed pipes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::*;

/// Runs the binary on the archive at `data`.
fn on(data: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--data", path_str(data)];
    all.extend_from_slice(args);
    adarchive(&all)
}

/// Runs the binary on the archive at `data` and parses its JSON output.
fn on_json(data: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--data", path_str(data)];
    all.extend_from_slice(args);
    adarchive_json(&all)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Google's weekly spend file as Excel re-saves it: CRLF line ends and
/// month-first dates.
fn excel_weekly_spend(dates: &[&str]) -> Vec<u8> {
    let mut out =
        String::from("Advertiser_ID,Advertiser_Name,Election_Cycle,Week_Start_Date,Spend_USD\r\n");
    for (i, date) in dates.iter().enumerate() {
        out.push_str(&format!(
            "AR{i},Advertiser {i},US-Federal-2018,{date},{}\r\n",
            100 * (i + 1)
        ));
    }
    out.into_bytes()
}

#[test]
fn an_excel_copy_of_weekly_spend_imports_every_row() {
    let dir = tempfile::tempdir().unwrap();
    // 5/27/2018 reads one way only; 6/3/2018 (3 June or 6 March) is the
    // reading that starts a week (a Sunday).
    let file = write(
        dir.path(),
        "weekly.csv",
        &excel_weekly_spend(&["5/27/2018", "6/3/2018", "6/10/2018", "12/2/2018"]),
    );
    let data = dir.path().join("data");
    let (code, json) = on_json(&data, &["import", "--json", path_str(&file)]);
    assert_eq!(code, 0, "{json}");
    let report = &json["files"][0];
    assert_eq!(report["format"], "google-spend-reports");
    assert_eq!(report["report_rows"], 4, "{json}");
    assert_eq!(report["quarantined"], 0, "{json}");
}

#[test]
fn a_recognized_file_with_no_importable_row_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Day-first dates of which neither reading is a Sunday: no row imports.
    let file = write(
        dir.path(),
        "weekly.csv",
        &excel_weekly_spend(&["2/1/2018", "3/1/2018"]),
    );
    let data = dir.path().join("data");
    let out = on(&data, &["import", path_str(&file)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("no row of the file could be imported"),
        "{stdout}"
    );
    assert!(stdout.contains("line 2, field Week_Start_Date"), "{stdout}");
    assert_eq!(std::fs::read_dir(data.join("sources")).unwrap().count(), 0);
}

#[test]
fn a_refused_format_leaves_no_stray_file_and_verify_stays_quiet() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let snap = sample(SNAP[0]);
    let data = dir.path().join("data");
    let out = on(
        &data,
        &[
            "import",
            "--format",
            "google-creative-stats",
            path_str(&snap),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let sources: Vec<_> = std::fs::read_dir(data.join("sources")).unwrap().collect();
    assert!(sources.is_empty(), "{sources:?}");
    let out = on(&data, &["verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("no manifest entry"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
}

#[test]
fn a_renamed_meta_report_warns_and_takes_stated_facts() {
    if crate::util::skip_without_samples() {
        return;
    }
    let original = sample(
        "meta/ad_library_report_TH_2022-11-18/FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv",
    );
    let bytes = std::fs::read(&original).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let renamed = write(dir.path(), "AR.csv", &bytes);

    let data = dir.path().join("warned");
    let (code, json) = on_json(&data, &["import", "--json", path_str(&renamed)]);
    assert_eq!(code, 0);
    let warnings = json["files"][0]["warnings"].to_string();
    assert!(warnings.contains("country, date and period"), "{warnings}");
    assert!(warnings.contains("--report-country"), "{warnings}");

    let data = dir.path().join("stated");
    let (code, json) = on_json(
        &data,
        &[
            "import",
            "--json",
            "--report-country",
            "TH",
            "--report-date",
            "2022-11-18",
            "--report-period",
            "yesterday",
            path_str(&renamed),
        ],
    );
    assert_eq!(code, 0, "{json}");
    assert!(json["files"][0].get("warnings").is_none(), "{json}");
    // The rows are those of the report under its own name, and the stated
    // facts are in the manifest, so `verify` derives them again alike.
    let (_, spend) = on_json(&data, &["spend", "--json", "--group-by", "country"]);
    assert_eq!(spend["reports"]["groups"][0]["key"], "TH", "{spend}");
    {
        let archive = adarchive::archive::Archive::open(&data).unwrap();
        let sources = archive.sources().unwrap();
        assert_eq!(sources[0].names, ["AR.csv"]);
        assert_eq!(
            sources[0].read_as.as_deref(),
            Some("FacebookAdLibraryReport_2022-11-18_TH_yesterday_advertisers.csv")
        );
    }
    let out = on(&data, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = on(
        &data,
        &["import", "--report-period", "fortnight", path_str(&renamed)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("last_7_days"));
}

#[test]
fn values_that_cannot_be_normalized_are_listed_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "ADID,CreativeUrl,Currency Code,Spend,Impressions,StartDate,EndDate,OrganizationName,CountryCode\n\
               0a1b,https://example.org,USD,120,4000,2020/09/09 21:57:05Z,,Ferris,atlantis\n\
               0a1c,https://example.org,USD,120,4000,not a date,,Ferris,\"\u{1b}[31mred\"\n";
    let file = write(dir.path(), "snap.csv", csv.as_bytes());
    let data = dir.path().join("data");
    let (code, json) = on_json(&data, &["import", "--json", path_str(&file)]);
    assert_eq!(code, 0);
    let values = &json["files"][0]["unnormalized_values"];
    assert_eq!(json["files"][0]["unnormalized"], 3, "{json}");
    assert_eq!(values[0]["line"], 2);
    assert_eq!(values[0]["field"], "CountryCode");
    assert_eq!(values[0]["value"], "atlantis");
    assert_eq!(values[1]["field"], "StartDate");
    assert_eq!(values[1]["value"], "not a date");

    let data = dir.path().join("text");
    let out = on(&data, &["import", path_str(&file)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("3 values could not be normalized"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 2, field CountryCode: \"atlantis\""),
        "{stdout}"
    );
    // A terminal escape in a value is shown, never sent.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(stdout.contains("\\u{1b}[31mred"), "{stdout}");
}

#[test]
fn spend_groups_in_several_currencies_are_ordered_by_ads_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "ADID,CreativeUrl,Currency Code,Spend,Impressions,StartDate,EndDate,OrganizationName,CountryCode\n\
               a1,https://example.org,HUF,9000000,4000,2021/09/09 21:57:05Z,,Forint Party,hungary\n\
               a2,https://example.org,USD,500,4000,2021/09/09 21:57:05Z,,Dollar Party,united states\n\
               a3,https://example.org,USD,700,4000,2021/09/10 21:57:05Z,,Dollar Party,united states\n";
    let file = write(dir.path(), "snap.csv", csv.as_bytes());
    let data = dir.path().join("data");
    let out = on(&data, &["import", path_str(&file)]);
    assert_eq!(out.status.code(), Some(0));
    let (_, spend) = on_json(&data, &["spend", "--json", "--group-by", "advertiser"]);
    assert_eq!(spend["groups"][0]["name"], "Dollar Party", "{spend}");
    let ordered = spend["ordered_by"].as_str().unwrap();
    assert!(ordered.starts_with("number of ads"), "{ordered}");
    assert!(ordered.contains("HUF, USD"), "{ordered}");

    let out = on(
        &data,
        &["spend", "--group-by", "advertiser", "--country", "US"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ordered by spend in USD"), "{stdout}");
    assert!(stdout.contains("2 ads"), "{stdout}");
    assert!(
        !stdout.contains("1 rows") && !stdout.contains("1 ads"),
        "{stdout}"
    );
}

#[test]
fn a_command_whose_output_is_closed_ends_quietly() {
    if crate::util::skip_without_samples() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = on(&data, &["import", path_str(&sample(SNAP[1]))]);
    assert_eq!(out.status.code(), Some(0));
    let mut child = Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args(["--data", path_str(&data), "search", "--limit", "100"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_stopped_demo_leaves_no_archive_behind() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_adarchive"))
        .args(["demo", "--ads", "100", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let folder = first
        .split_whitespace()
        .find(|w| w.contains("adarchive-demo-"))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no folder named in: {first}"));
    let mut address = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("API reference:") {
            address = url
                .trim()
                .strip_prefix("http://")
                .and_then(|u| u.split('/').next())
                .map(str::to_owned);
        }
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    // Serving once it answers: the archive is there.
    let address = address.expect("the demo names its address");
    let answered = (0..100).any(|_| {
        use std::io::Write;
        let answer = std::net::TcpStream::connect(&address).and_then(|mut s| {
            s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n")?;
            let mut reply = String::new();
            s.read_to_string(&mut reply)?;
            Ok(reply)
        });
        let ok =
            answer.is_ok_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"));
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        ok
    });
    assert!(answered, "the demo never answered at {address}");
    assert!(folder.join("data").exists());
    // SAFETY: sends a signal to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!folder.exists(), "{} left behind", folder.display());
}

#[test]
fn spreadsheet_dates_are_for_files_not_for_typed_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = on(&data, &["search", "--from", "5/27/2018"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--from: `5/27/2018` is not a date"),
        "{stderr}"
    );
}
