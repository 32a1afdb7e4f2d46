//! Helpers shared by the benchmarks: running the release binary and
//! measuring its time, peak memory and output size.

#![allow(dead_code)] // each benchmark uses its own subset

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs the binary; returns wall time and peak resident memory in KiB.
pub fn run(binary: &str, args: &[&str]) -> (Duration, i64) {
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

pub fn folder_size(path: &Path) -> u64 {
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
