//! Import benchmark: `cargo bench --bench import [-- --ads 100000,300000]
//! [--files many|one-per-platform]`.
//!
//! For each size, writes `generate-samples` output (Google bundle, Meta API
//! pages, Snap CSV and the other platforms' files; many files, or one
//! large file per platform) and times the release binary importing it into
//! an empty archive (with its search index), then a second import of the
//! same files (all unchanged), a `verify`, and an import into another
//! empty archive without indexing (`--no-index`). Peak memory is the child
//! process's maximum resident set size. Then the database's size beside
//! the exports': after the import, and after `adarchive compact`.
//! Prints Markdown tables for `docs/benchmarks.md`.

mod util;

use util::{ads_arg, arg_value, folder_size, generate_with, run, s};

fn main() {
    let sizes = ads_arg(&[100_000, 300_000]);
    let binary = env!("CARGO_BIN_EXE_adarchive");
    let work = tempfile::tempdir().expect("temporary folder");
    let files = arg_value("--files").unwrap_or_else(|| "many".into());
    let mut sizes_table = Vec::new();

    println!(
        "| ads | export size | import | ads/s | CPU (user + kernel) | peak memory | re-import (unchanged) | verify | archive only (`--no-index`) | ads/s | peak memory |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for ads in sizes {
        let input = work.path().join(format!("exports-{ads}"));
        let data = work.path().join(format!("data-{ads}"));
        let bare = work.path().join(format!("bare-{ads}"));
        generate_with(binary, &input, ads, 1, &["--files", &files]);
        // The generator's writes reach the disk before the import is timed.
        let _ = std::process::Command::new("sync").status();
        let size = folder_size(&input);
        let import = run(binary, &["import", "--data", s(&data), s(&input)]);
        let reimport = run(binary, &["import", "--data", s(&data), s(&input)]);
        let verify = run(binary, &["verify", "--data", s(&data)]);
        let no_index = ["import", "--no-index", "--data", s(&bare), s(&input)];
        let archive_only = run(binary, &no_index);
        let database = || {
            std::fs::metadata(data.join("archive.redb"))
                .expect("the database")
                .len()
        };
        let imported = database();
        let compact = run(binary, &["compact", "--data", s(&data)]);
        let compacted = database();
        sizes_table.push(format!(
            "| {ads} | {files} | {:.0} MB | {:.0} MB ({:.2}×) | {:.0} MB ({:.2}×) | {:.1} s |",
            size as f64 / 1e6,
            imported as f64 / 1e6,
            imported as f64 / size as f64,
            compacted as f64 / 1e6,
            compacted as f64 / size as f64,
            compact.wall.as_secs_f64(),
        ));
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
    println!();
    println!(
        "| ads | files | exports | database after the import | after `adarchive compact` | compact |"
    );
    println!("|---:|---|---:|---:|---:|---:|");
    for line in sizes_table {
        println!("{line}");
    }
}
