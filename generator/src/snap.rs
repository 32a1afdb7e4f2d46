//! Snap `PoliticalAds.csv` (38 columns, CRLF).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{AdvertiserShape, Branch, IoContext, Result};

const HEADER: &[&str] = adarchive_importers::snap_political_ads::COLUMNS;

const INTERESTS: &[&str] = &[
    "Advocates & Activists",
    "Political News Watchers",
    "Green Living Enthusiasts",
    "Philanthropists",
    "Parents & Family-Focused",
    "Film & TV Fans",
];
const DEMOGRAPHICS: &[&str] = &[
    "Education (Bachelor Degree)",
    "Occupation (Business, Finance or Mgmt)",
    "Occupation (Legal, Education or Health)",
    "Occupation (Office & Administrative)",
];
const AGES: &[&str] = &["18+", "18-34", "25+", "18-24", "35+"];

pub(super) fn write_csv(
    path: &Path,
    ads: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let file = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(file);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    csv.write_record(HEADER).map_err(io).at(path)?;
    let stamp = format_description!("[year]/[month]/[day] [hour]:[minute]:[second]Z");
    let mut row: Vec<String> = vec![String::new(); HEADER.len()];
    for serial in 0..ads {
        for cell in row.iter_mut() {
            cell.clear();
        }
        let branch = Branch::pick(rng, shape, serial);
        let index = branch.base;
        let a = &ADVERTISERS[index];
        let start = vocab::start_time(rng);
        row[0] = vocab::hex(rng, 64);
        row[1] = format!(
            "https://www.snap.com/political-ads/asset/{}?mediaType=mp4",
            vocab::hex(rng, 64)
        );
        row[2] = a.currency.to_owned();
        row[3] = (rng.random::<f64>().powi(3) * 20_000.0).round().to_string();
        row[4] = (rng.random::<f64>().powi(2) * 2_000_000.0)
            .round()
            .to_string();
        row[5] = vocab::datetime(start).format(stamp).unwrap_or_default();
        if rng.random_bool(0.7) {
            let end = start + rng.random_range(86_400..30 * 86_400i64);
            row[6] = vocab::datetime(end).format(stamp).unwrap_or_default();
        }
        row[7] = branch.name();
        row[8] = a.country.to_owned();
        row[10] = a.funder.to_owned();
        if a.country == "US" && rng.random_bool(0.5) && branch.serial.is_none() {
            row[11] = a.funder.to_owned();
            row[12] = vocab::fec_id(index).unwrap_or_default();
            row[13] = a.funder.to_owned();
            row[14] = "Federal".to_owned();
        }
        if rng.random_bool(0.15) {
            row[15] = ["FEMALE", "MALE"][rng.random_range(0..2usize)].to_owned();
        }
        row[16] = AGES[rng.random_range(0..AGES.len())].to_owned();
        row[17] = a.country_name.to_owned();
        if rng.random_bool(0.2) {
            row[22] = format!(
                "latitude {:.4};longitude {:.4};radius 15.0",
                rng.random_range(-60.0..60.0f64),
                rng.random_range(-120.0..120.0f64)
            );
        }
        let n = rng.random_range(0..3usize);
        row[30] = (0..n)
            .map(|_| INTERESTS[rng.random_range(0..INTERESTS.len())])
            .collect::<Vec<_>>()
            .join(",");
        row[32] = "Provided by Advertiser".to_owned();
        row[33] = a.language.to_owned();
        if rng.random_bool(0.1) {
            row[34] = DEMOGRAPHICS.join(",");
        }
        row[37] = "web_view_url:https://example.org/vote?utm_source=snapchat".to_owned();
        csv.write_record(&row).map_err(io).at(path)?;
    }
    csv.flush().at(path)
}
