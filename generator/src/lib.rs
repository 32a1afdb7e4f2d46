//! Realistic exports in the platforms' real formats, for the tests, the
//! benchmarks and the demo of adarchive (`adarchive generate-samples`).
//!
//! The files use the exact headers and value spellings of the real exports
//! (see `docs/formats.md`): a Google transparency bundle zip with
//! `google-political-ads-creative-stats.csv`, Meta `ads_archive` API
//! response pages whose URLs carry (made-up) access tokens, a Snap
//! `PoliticalAds.csv`, Microsoft Ad Library detail replies, TikTok
//! Commercial Content query pages, LinkedIn Ad Library pages, an X
//! disclosure zip and Google Ads Transparency Center rows. Texts are multilingual, in Latin and non-Latin
//! scripts; some spend is open-ended and some ads are still running.
//! Everything streams to disk, so memory does not grow with `--ads`.

mod google;
mod google_atc;
mod linkedin;
mod meta;
mod microsoft;
mod snap;
mod tiktok;
mod vocab;
mod x;

use std::fs;
use std::path::{Path, PathBuf};

use adarchive_schema::Platform;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct Error {
    /// The file.
    pub path: PathBuf,
    /// What the system said.
    pub source: std::io::Error,
}

/// Result with the generator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error {
            path: path.into(),
            source,
        })
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Ads in all, spread over the platforms.
    pub ads: u64,
    /// The same seed writes the same bytes.
    pub seed: u64,
    /// How many advertisers the ads come from.
    pub advertisers: AdvertiserShape,
    /// How the ads of each platform are split into files.
    pub files: FileShape,
}

/// How the ads of Google, Meta and Snap are split into files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileShape {
    /// As the platforms hand them out: Google's bundle zip, Meta's API
    /// pages of 2,000 ads, Snap's yearly CSV.
    #[default]
    Many,
    /// One large file per platform: Google's creative stats as a plain
    /// CSV, every Meta ad in one JSON Lines file, Snap's CSV.
    OnePerPlatform,
}

impl FileShape {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            FileShape::Many => "many",
            FileShape::OnePerPlatform => "one-per-platform",
        }
    }
}

impl std::str::FromStr for FileShape {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        [FileShape::Many, FileShape::OnePerPlatform]
            .into_iter()
            .find(|shape| shape.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not `many` or `one-per-platform`"))
    }
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            ads: 1_000,
            seed: 1,
            advertisers: AdvertiserShape::Realistic,
            files: FileShape::Many,
        }
    }
}

/// How many advertisers the ads come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdvertiserShape {
    /// A few dozen advertisers, each with many ads, as in one election.
    #[default]
    Realistic,
    /// Every Google, Meta and Snap ad from an advertiser of its own, as
    /// Meta's page ids give when every candidate, branch and supporter
    /// runs a page: the high-cardinality case for grouping by advertiser.
    OnePerAd,
}

impl AdvertiserShape {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AdvertiserShape::Realistic => "realistic",
            AdvertiserShape::OnePerAd => "one-per-ad",
        }
    }
}

impl std::str::FromStr for AdvertiserShape {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        [AdvertiserShape::Realistic, AdvertiserShape::OnePerAd]
            .into_iter()
            .find(|shape| shape.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not `realistic` or `one-per-ad`"))
    }
}

/// The advertiser of the `serial`th ad of a platform: the vocabulary's
/// `base`, itself or (one advertiser per ad) a numbered branch of it.
pub(crate) struct Branch {
    /// The vocabulary's advertiser it is modelled on.
    pub base: usize,
    /// `None` for the vocabulary's own advertiser.
    pub serial: Option<u64>,
}

impl Branch {
    pub(crate) fn pick(rng: &mut ChaCha8Rng, shape: AdvertiserShape, serial: u64) -> Branch {
        use rand::RngExt;
        Branch {
            base: rng.random_range(0..vocab::ADVERTISERS.len()),
            serial: (shape == AdvertiserShape::OnePerAd).then_some(serial),
        }
    }

    /// Its display name.
    pub(crate) fn name(&self) -> String {
        let name = vocab::ADVERTISERS[self.base].name;
        match self.serial {
            Some(n) => format!("{name} {}", n + 1),
            None => name.to_owned(),
        }
    }
}

/// The words the generated ads say, in every language and script, each
/// once: what a benchmark's searches ask for.
///
/// ```
/// let words = adarchive_generate::vocabulary();
/// assert!(words.iter().any(|w| w == "election"));
/// assert!(words.iter().all(|w| w.chars().count() >= 2));
/// ```
pub fn vocabulary() -> Vec<String> {
    vocab::words()
}

/// One written file.
#[derive(Clone, Debug)]
pub struct GeneratedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Whose format it is in.
    pub platform: Platform,
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

/// Writes sample exports for `options.ads` ads into `out`: 36 % Google,
/// 32 % Meta, 22 % Snap, and 2 % each for Microsoft, TikTok, LinkedIn, X
/// and the Google Ads Transparency Center.
///
/// ```
/// use adarchive_generate::{generate_samples, GenerateOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let written = generate_samples(dir.path(), &GenerateOptions { ads: 20, seed: 7, ..Default::default() }).unwrap();
/// assert_eq!(written.files.iter().map(|f| f.ads).sum::<u64>(), 20);
/// ```
pub fn generate_samples(out: &Path, options: &GenerateOptions) -> Result<Generated> {
    fs::create_dir_all(out).at(out)?;
    let google_ads = options.ads * 36 / 100;
    let meta_ads = options.ads * 32 / 100;
    let each_other = options.ads * 2 / 100;
    let snap_ads = options.ads - google_ads - meta_ads - 5 * each_other;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut generated = Generated::default();

    let one_per_platform = options.files == FileShape::OnePerPlatform;
    let path = if one_per_platform {
        let path = out.join("google-political-ads-creative-stats.csv");
        google::write_creative_stats_file(&path, google_ads, options.advertisers, &mut rng)?;
        path
    } else {
        let path = out.join("google-political-ads-transparency-bundle.zip");
        google::write_bundle(&path, google_ads, options.advertisers, &mut rng)?;
        path
    };
    generated.files.push(GeneratedFile {
        path,
        platform: Platform::Google,
        ads: google_ads,
    });

    let meta_dir = out.join("meta");
    fs::create_dir_all(&meta_dir).at(&meta_dir)?;
    if one_per_platform {
        let path = meta_dir.join("ads_archive.jsonl");
        meta::write_lines(&path, meta_ads, options.advertisers, &mut rng)?;
        generated.files.push(GeneratedFile {
            path,
            platform: Platform::Meta,
            ads: meta_ads,
        });
    }
    let mut written = if one_per_platform { meta_ads } else { 0 };
    let mut page = 1;
    while written < meta_ads {
        let n = META_PAGE_SIZE.min(meta_ads - written);
        let path = meta_dir.join(format!("ads_archive_page_{page:04}.json"));
        meta::write_page(&path, n, page, options.advertisers, &mut rng)?;
        generated.files.push(GeneratedFile {
            path,
            platform: Platform::Meta,
            ads: n,
        });
        written += n;
        page += 1;
    }

    let snap_dir = out.join("snap");
    fs::create_dir_all(&snap_dir).at(&snap_dir)?;
    let path = snap_dir.join("PoliticalAds.csv");
    snap::write_csv(&path, snap_ads, options.advertisers, &mut rng)?;
    generated.files.push(GeneratedFile {
        path,
        platform: Platform::Snap,
        ads: snap_ads,
    });

    type Writer = fn(&Path, u64, &mut ChaCha8Rng) -> Result<()>;
    let others: [(Platform, &str, Writer); 5] = [
        (
            Platform::Microsoft,
            "ads_details.jsonl",
            microsoft::write_replies,
        ),
        (
            Platform::Tiktok,
            "adlib_query_pages.jsonl",
            tiktok::write_pages,
        ),
        (
            Platform::Linkedin,
            "ad_library_pages.jsonl",
            linkedin::write_pages,
        ),
        (Platform::X, "political_ads_disclosure.zip", x::write_zip),
        (
            Platform::GoogleAtc,
            "creative_stats.jsonl",
            google_atc::write_rows,
        ),
    ];
    for (platform, name, write) in others {
        if each_other == 0 {
            break;
        }
        let dir = out.join(platform.as_str());
        fs::create_dir_all(&dir).at(&dir)?;
        let path = dir.join(name);
        write(&path, each_other, &mut rng)?;
        generated.files.push(GeneratedFile {
            path,
            platform,
            ads: each_other,
        });
    }
    Ok(generated)
}
