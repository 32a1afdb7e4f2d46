//! `adarchive generate-samples`: realistic exports in the platforms' real
//! formats, for tests, benchmarks and the demo.
//!
//! The files use the exact headers and value spellings of the real exports
//! (see `docs/formats.md`): a Google transparency bundle zip with
//! `google-political-ads-creative-stats.csv`, Meta `ads_archive` API
//! response pages whose URLs carry (made-up) access tokens, and a Snap
//! `PoliticalAds.csv`. Texts are multilingual, in Latin and non-Latin
//! scripts; some spend is open-ended and some ads are still running.
//! Everything streams to disk, so memory does not grow with `--ads`.

mod google;
mod meta;
mod snap;
mod vocab;

use std::fs;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{IoContext, Result};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Ads in all, spread over the platforms.
    pub ads: u64,
    /// The same seed writes the same bytes.
    pub seed: u64,
}

/// One written file.
#[derive(Clone, Debug)]
pub struct GeneratedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Ads in it.
    pub ads: u64,
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// Every file, in writing order.
    pub files: Vec<GeneratedFile>,
}

/// How many Meta ads one API response page holds.
pub const META_PAGE_SIZE: u64 = 2_000;

/// Writes sample exports for `options.ads` ads into `out`: 40 % Google,
/// 35 % Meta, 25 % Snap.
///
/// ```
/// use adarchive::generate::{generate_samples, GenerateOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let written = generate_samples(dir.path(), &GenerateOptions { ads: 20, seed: 7 }).unwrap();
/// assert_eq!(written.files.iter().map(|f| f.ads).sum::<u64>(), 20);
/// ```
pub fn generate_samples(out: &Path, options: &GenerateOptions) -> Result<Generated> {
    fs::create_dir_all(out).at(out)?;
    let google_ads = options.ads * 40 / 100;
    let meta_ads = options.ads * 35 / 100;
    let snap_ads = options.ads - google_ads - meta_ads;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut generated = Generated::default();

    let path = out.join("google-political-ads-transparency-bundle.zip");
    google::write_bundle(&path, google_ads, &mut rng)?;
    generated.files.push(GeneratedFile {
        path,
        ads: google_ads,
    });

    let meta_dir = out.join("meta");
    fs::create_dir_all(&meta_dir).at(&meta_dir)?;
    let mut written = 0;
    let mut page = 1;
    while written < meta_ads {
        let n = META_PAGE_SIZE.min(meta_ads - written);
        let path = meta_dir.join(format!("ads_archive_page_{page:04}.json"));
        meta::write_page(&path, n, page, &mut rng)?;
        generated.files.push(GeneratedFile { path, ads: n });
        written += n;
        page += 1;
    }

    let snap_dir = out.join("snap");
    fs::create_dir_all(&snap_dir).at(&snap_dir)?;
    let path = snap_dir.join("PoliticalAds.csv");
    snap::write_csv(&path, snap_ads, &mut rng)?;
    generated.files.push(GeneratedFile {
        path,
        ads: snap_ads,
    });
    Ok(generated)
}
