//! Import benchmark: `cargo bench --bench import [-- --ads 100000,300000]`.
//!
//! For each size, writes `generate-samples` output (Google bundle, Meta API
//! pages, Snap CSV) and times the release binary importing it into an empty
//! archive (with its search index), then a second import of the same files
//! (all unchanged), a `verify`, and an import into another empty archive
//! without indexing (`--no-index`). Peak memory is the child process's
//! maximum resident set size.
//! Prints a Markdown table for `docs/benchmarks.md`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<u64> = args
        .iter()
        .position(|a| a == "--ads")
        .and_then(|i| args.get(i + 1))
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![100_000, 300_000]);
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");

    println!(
        "| ads | export size | import | ads/s | peak memory | re-import (unchanged) | verify | archive only (`--no-index`) | ads/s | peak memory |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ads in sizes {
        let input = work.path().join(format!("exports-{ads}"));
        let data = work.path().join(format!("data-{ads}"));
        let bare = work.path().join(format!("bare-{ads}"));
        let count = ads.to_string();
        run(
            binary,
            &[
                "generate-samples",
                s(&input),
                "--ads",
                &count,
                "--seed",
                "1",
            ],
        );
        let size = folder_size(&input);
        let (import, peak) = run(binary, &["import", "--data", s(&data), s(&input)]);
        let (reimport, _) = run(binary, &["import", "--data", s(&data), s(&input)]);
        let (verify, _) = run(binary, &["verify", "--data", s(&data)]);
        let no_index = ["import", "--no-index", "--data", s(&bare), s(&input)];
        let (archive_only, archive_peak) = run(binary, &no_index);
        println!(
            "| {ads} | {:.0} MB | {:.2} s | {:.0} | {:.0} MB | {:.2} s | {:.2} s | {:.2} s | {:.0} | {:.0} MB |",
            size as f64 / 1e6,
            import.as_secs_f64(),
            ads as f64 / import.as_secs_f64(),
            peak as f64 / 1024.0,
            reimport.as_secs_f64(),
            verify.as_secs_f64(),
            archive_only.as_secs_f64(),
            ads as f64 / archive_only.as_secs_f64(),
            archive_peak as f64 / 1024.0,
        );
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs the binary; returns wall time and peak resident memory in KiB.
fn run(binary: &str, args: &[&str]) -> (Duration, i64) {
    let started = Instant::now();
    // Reaped by wait4 below, which also reports the peak memory.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(binary)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start adarchive");
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes a rusage for the child we just started.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr()) };
    let elapsed = started.elapsed();
    assert!(
        pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "adarchive {args:?} failed"
    );
    // SAFETY: wait4 succeeded, so the rusage is initialized.
    let usage = unsafe { usage.assume_init() };
    (elapsed, usage.ru_maxrss)
}

fn folder_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        folder_size(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
