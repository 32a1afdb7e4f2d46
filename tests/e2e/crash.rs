//! An import killed with SIGKILL at random moments leaves an archive that
//! `verify` accepts (its transparency log included: signed, whole, and
//! holding exactly the manifest's sources), and importing again completes
//! it: the result matches an uninterrupted import.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::util::*;
use adarchive::archive::Archive;
use adarchive::generate::{generate_samples, GenerateOptions};

fn import_command(data: &std::path::Path, input: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adarchive"));
    cmd.args(["import", "--data", path_str(data), path_str(input)])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A small xorshift generator: the kill points differ on every run, and the
/// seed is printed so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_imports_verify_and_complete_on_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("exports");
    generate_samples(
        &input,
        &GenerateOptions {
            ads: 20_000,
            seed: 5,
            ..Default::default()
        },
    )
    .unwrap();

    let reference = dir.path().join("reference");
    let started = Instant::now();
    assert!(import_command(&reference, &input)
        .status()
        .unwrap()
        .success());
    let full = started.elapsed();
    let expected = Archive::open(&reference).unwrap().stats().unwrap();

    let seed = std::env::var("ADARCHIVE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash seed {seed} (set ADARCHIVE_CRASH_SEED to replay); full import {full:?}");
    let mut rng = Rng(seed);

    let crashed = dir.path().join("crashed");
    let mut kills = 0;
    for round in 0..12 {
        if kills == 6 {
            break;
        }
        let delay = Duration::from_micros(rng.next() % full.as_micros().max(1) as u64);
        let mut child = import_command(&crashed, &input).spawn().unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        let out = adarchive(&["verify", "--data", path_str(&crashed)]);
        assert!(
            out.status.success(),
            "round {round} (killed after {delay:?}, seed {seed}): {}",
            String::from_utf8_lossy(&out.stdout)
        );
        if finished {
            // A complete archive has nothing left to interrupt: start over,
            // so that later rounds kill imports that are still working.
            std::fs::remove_dir_all(&crashed).unwrap();
        }
    }
    assert!(kills > 0, "no import was interrupted (seed {seed})");

    assert!(import_command(&crashed, &input).status().unwrap().success());
    let out = adarchive(&["verify", "--data", path_str(&crashed)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let archive = Archive::open(&crashed).unwrap();
    assert_eq!(archive.stats().unwrap(), expected, "seed {seed}");
    let report = adarchive::check::verify(&archive).unwrap();
    assert_eq!(
        report.index_behind, 0,
        "the completed import caught the index up"
    );
    assert_eq!(report.indexed, expected.ads);
    // Every staged leftover of a killed run is gone after a completed one.
    assert_eq!(std::fs::read_dir(crashed.join("tmp")).unwrap().count(), 0);
}
