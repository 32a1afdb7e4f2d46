//! Helpers shared by the benchmarks: running the release binary and
//! measuring its time, peak memory and output size.

#![allow(dead_code)] // each benchmark uses its own subset

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// What one run of the binary took.
pub struct Run {
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time in user space.
    pub user: Duration,
    /// CPU time in the kernel.
    pub kernel: Duration,
    /// Peak resident memory, KiB.
    pub peak_kib: i64,
}

impl Run {
    /// `user + kernel` CPU seconds, e.g. `36.6 + 6.1 s`.
    pub fn cpu(&self) -> String {
        format!(
            "{:.1} + {:.1} s",
            self.user.as_secs_f64(),
            self.kernel.as_secs_f64()
        )
    }
}

/// Runs the binary; returns its wall time, CPU time and peak memory.
pub fn run(binary: &str, args: &[&str]) -> Run {
    let (child, started) = spawn(binary, args);
    wait(child, started, args)
}

/// Starts the binary, its output discarded; [`wait`] reaps it.
fn spawn(binary: &str, args: &[&str]) -> (std::process::Child, Instant) {
    let started = Instant::now();
    // Reaped by wait4 in `wait`, which also reports the peak memory.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(binary)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start adarchive");
    (child, started)
}

/// Waits for `child`, started at `started`, and reads its resource usage.
fn wait(child: std::process::Child, started: Instant, args: &[&str]) -> Run {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: wait4 writes a rusage for the child we just started.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, usage.as_mut_ptr()) };
    let wall = started.elapsed();
    assert!(
        pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "adarchive {args:?} failed"
    );
    // SAFETY: wait4 succeeded, so the rusage is initialized.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Run {
        wall,
        user: time(usage.ru_utime),
        kernel: time(usage.ru_stime),
        peak_kib: usage.ru_maxrss,
    }
}

/// Runs the binary like [`run`], and also samples its anonymous memory
/// (`RssAnon`: the heap, not the index files it maps) every 20 ms; returns
/// the run and that peak in KiB.
pub fn run_sampling_heap(binary: &str, args: &[&str]) -> (Run, u64) {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;
    let pid = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (pid, done) = (pid.clone(), done.clone());
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                let pid = pid.load(Ordering::Relaxed);
                if pid != 0 {
                    peak = peak.max(status_kib(pid, "RssAnon"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let (child, started) = spawn(binary, args);
    pid.store(child.id(), Ordering::Relaxed);
    let run = wait(child, started, args);
    done.store(true, Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");
    (run, peak)
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

/// The sizes given as `--ads N[,N…]` on the command line, or `default`.
pub fn ads_arg(default: &[u64]) -> Vec<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--ads")
        .and_then(|i| args.get(i + 1))
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| default.to_vec())
}

/// Writes `ads` generated ads into `out` with the release binary.
pub fn generate(binary: &str, out: &Path, ads: u64, seed: u64) {
    generate_with(binary, out, ads, seed, &[]);
}

/// [`generate`] with more arguments of `generate-samples`.
pub fn generate_with(binary: &str, out: &Path, ads: u64, seed: u64, extra: &[&str]) {
    let (count, seed) = (ads.to_string(), seed.to_string());
    let mut args = vec!["generate-samples", s(out), "--ads", &count, "--seed", &seed];
    args.extend_from_slice(extra);
    run(binary, &args);
}

/// The value after `name` on the benchmark's command line.
pub fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A server started from the release binary, stopped when dropped.
pub struct Server(pub std::process::Child);

impl Server {
    /// `adarchive serve --data DATA --bind BIND` with `extra` arguments,
    /// its output discarded.
    pub fn start(binary: &str, data: &Path, bind: &str, extra: &[&str]) -> Self {
        Server(
            Command::new(binary)
                .args(["serve", "--data", s(data), "--bind", bind])
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start the server"),
        )
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `RssAnon`), 0 if unknown.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// The p50 and p99 of `times`, in milliseconds (0 when there are none).
pub fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    if times.is_empty() {
        return (0.0, 0.0);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
    )
}

/// The clients' runtime: one worker, so that the load generator leaves the
/// server as much of the machine as it can.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Waits until the server at `base` answers, for at most `seconds`
/// (opening a large archive takes a while the first time).
pub async fn wait_until_serving(client: &reqwest::Client, base: &str, seconds: u64) {
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP client, the process's TLS cryptography chosen first (the
/// collectors' choice, ring).
pub fn http_client() -> reqwest::Client {
    install_tls();
    reqwest::Client::new()
}

/// Chooses the process's TLS cryptography, as the collectors do, before a
/// client is built.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The archive to measure: the one named by `--data DIR`, or one of
/// `--ads N` generated ads (1,000,000 by default) imported into `work`.
pub fn given_or_generated(binary: &str, work: &Path) -> std::path::PathBuf {
    let args: Vec<String> = std::env::args().collect();
    if let Some(given) = args
        .iter()
        .position(|a| a == "--data")
        .and_then(|i| args.get(i + 1))
    {
        return std::path::PathBuf::from(given);
    }
    let data = work.join("data");
    let ads = ads_arg(&[1_000_000])[0];
    let input = work.join("exports");
    generate(binary, &input, ads, 3);
    run(binary, &["import", "--data", s(&data), s(&input)]);
    let _ = Command::new("sync").status();
    data
}
