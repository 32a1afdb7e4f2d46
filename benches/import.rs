//! Import benchmark: `cargo bench --bench import [-- --ads 100000,300000]`.
//!
//! For each size, writes `generate-samples` output (Google bundle, Meta API
//! pages, Snap CSV) and times the release binary importing it into an empty
//! archive (with its search index), then a second import of the same files
//! (all unchanged), a `verify`, and an import into another empty archive
//! without indexing (`--no-index`). Peak memory is the child process's
//! maximum resident set size.
//! Prints a Markdown table for `docs/benchmarks.md`.

mod util;

use util::{ads_arg, folder_size, generate, run, s};

fn main() {
    let sizes = ads_arg(&[100_000, 300_000]);
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");

    println!(
        "| ads | export size | import | ads/s | CPU (user + kernel) | peak memory | re-import (unchanged) | verify | archive only (`--no-index`) | ads/s | peak memory |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ads in sizes {
        let input = work.path().join(format!("exports-{ads}"));
        let data = work.path().join(format!("data-{ads}"));
        let bare = work.path().join(format!("bare-{ads}"));
        generate(binary, &input, ads, 1);
        // The generator's writes reach the disk before the import is timed.
        let _ = std::process::Command::new("sync").status();
        let size = folder_size(&input);
        let import = run(binary, &["import", "--data", s(&data), s(&input)]);
        let reimport = run(binary, &["import", "--data", s(&data), s(&input)]);
        let verify = run(binary, &["verify", "--data", s(&data)]);
        let no_index = ["import", "--no-index", "--data", s(&bare), s(&input)];
        let archive_only = run(binary, &no_index);
        println!(
            "| {ads} | {:.0} MB | {:.2} s | {:.0} | {} | {:.0} MB | {:.2} s | {:.2} s | {:.2} s | {:.0} | {:.0} MB |",
            size as f64 / 1e6,
            import.wall.as_secs_f64(),
            ads as f64 / import.wall.as_secs_f64(),
            import.cpu(),
            import.peak_kib as f64 / 1024.0,
            reimport.wall.as_secs_f64(),
            verify.wall.as_secs_f64(),
            archive_only.wall.as_secs_f64(),
            ads as f64 / archive_only.wall.as_secs_f64(),
            archive_only.peak_kib as f64 / 1024.0,
        );
    }
}
