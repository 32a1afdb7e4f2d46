//! What the transparency log costs: its share of an import, and the time
//! to serve its proofs and tiles.
//!
//! `cargo bench --bench log [-- --ads N]`: generates N ads (100,000 by
//! default) and imports them, reading the time the import spent appending
//! to the log (hashing the tree and signing a checkpoint per source); then
//! imports 2,000 one-ad Snap files, so that the log has thousands of
//! entries, as an archive fed by daily collections does. Then a server
//! answers, one client asking 1,000 times each: a consistency proof between
//! a random earlier size and the newest, an ad's provenance with the
//! inclusion proof of each of its sources, a full tile of hashes, an entry
//! bundle, and the checkpoint. Prints milliseconds at p50 and p99.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use adarchive::archive::{Archive, NoProgress};
use adarchive::ingest::{import_paths, ImportOptions};

mod util;

use util::{ads_arg, generate, percentiles, Server};

const PORT: u16 = 18_931;
const SINGLE_FILES: usize = 2_000;
const ASKED: usize = 1_000;

/// Makes the path of one request.
type PathOf<'a> = Box<dyn Fn(&mut Rng) -> String + 'a>;

/// A small xorshift generator: the same requests on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn main() {
    util::install_tls();
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let ads = ads_arg(&[100_000])[0];
    let exports = work.path().join("exports");
    let data = work.path().join("data");
    generate(binary, &exports, ads, 4);
    let singles = one_ad_files(
        &exports.join("snap/PoliticalAds.csv"),
        &work.path().join("singles"),
    );

    let archive = Archive::open(&data).expect("archive");
    archive.open_log(Some("bench.example/log")).expect("log");
    let started = Instant::now();
    let report =
        import_paths(&archive, &[exports], ImportOptions::default(), &NoProgress).expect("import");
    let import = started.elapsed();
    let logged = archive.log_append_time();
    let sources = report.files.len();
    println!(
        "import of {ads} ads ({sources} files): {:.2} s, of which appending to the log {:.2} ms ({:.3} %)",
        import.as_secs_f64(),
        logged.as_secs_f64() * 1000.0,
        100.0 * logged.as_secs_f64() / import.as_secs_f64()
    );
    let started = Instant::now();
    import_paths(&archive, &[singles], ImportOptions::default(), &NoProgress).expect("import");
    let import = started.elapsed();
    let appended = archive.log_append_time() - logged;
    println!(
        "import of {SINGLE_FILES} one-ad files: {:.2} s, of which appending to the log {:.2} ms ({:.1} %, {:.0} µs per source)",
        import.as_secs_f64(),
        appended.as_secs_f64() * 1000.0,
        100.0 * appended.as_secs_f64() / import.as_secs_f64(),
        appended.as_secs_f64() * 1e6 / SINGLE_FILES as f64
    );
    let size = archive.sources().expect("sources").len() as u64;
    let uids: Vec<String> = archive
        .observations_in(&archive.sources().expect("sources")[0].blake3)
        .expect("observations")
        .into_iter()
        .map(|o| o.uid)
        .take(500)
        .collect();
    drop(archive);

    let bind = format!("127.0.0.1:{PORT}");
    let _server = Server::start(
        binary,
        &data,
        &bind,
        &["--rate-limit", "0", "--cache-bytes", "0"],
    );
    let client = reqwest::blocking::Client::new();
    let base = format!("http://{bind}");
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "no server");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("\nthe log has {size} entries\n");
    println!("| request | p50 | p99 |");
    println!("|---|---:|---:|");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let full_tiles = size / 256;
    let kinds: [(&str, PathOf); 5] = [
        (
            "`/v1/log/proof/consistency` from a random size to the newest",
            Box::new(|r: &mut Rng| {
                format!(
                    "/v1/log/proof/consistency?from={}&to={size}",
                    1 + r.below(size)
                )
            }),
        ),
        (
            "`/v1/ads/{uid}/provenance` with inclusion proofs",
            Box::new(|r: &mut Rng| {
                format!(
                    "/v1/ads/{}/provenance",
                    uids[r.below(uids.len() as u64) as usize]
                )
            }),
        ),
        (
            "`/v1/log/tile/0/<N>`, a full tile of hashes",
            Box::new(|r: &mut Rng| format!("/v1/log/tile/0/{:03}", r.below(full_tiles))),
        ),
        (
            "`/v1/log/tile/entries/<N>`, a full entry bundle",
            Box::new(|r: &mut Rng| format!("/v1/log/tile/entries/{:03}", r.below(full_tiles))),
        ),
        (
            "`/v1/log/checkpoint`",
            Box::new(|_: &mut Rng| "/v1/log/checkpoint".to_owned()),
        ),
    ];
    for (label, path) in kinds {
        let mut times = Vec::with_capacity(ASKED);
        for _ in 0..ASKED {
            let url = format!("{base}{}", path(&mut rng));
            let started = Instant::now();
            let answer = client.get(&url).send().expect("request");
            assert!(answer.status().is_success(), "{url}: {}", answer.status());
            answer.bytes().expect("body");
            times.push(started.elapsed());
        }
        let (p50, p99) = percentiles(times);
        println!("| {label} | {p50:.2} ms | {p99:.2} ms |");
    }
}

/// Writes each of the first [`SINGLE_FILES`] ads of a Snap CSV as a file of
/// its own, under the same header; returns their folder.
fn one_ad_files(csv: &std::path::Path, out: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(out).expect("folder");
    let mut lines = std::io::BufReader::new(std::fs::File::open(csv).expect("snap csv")).lines();
    let header = lines.next().expect("header").expect("header");
    for (i, row) in lines.take(SINGLE_FILES).enumerate() {
        let row = row.expect("row");
        let path = out.join(format!("PoliticalAds-{i:05}.csv"));
        let mut file = std::fs::File::create(&path).expect("file");
        writeln!(file, "{header}\n{row}").expect("write");
    }
    out.to_path_buf()
}
