//! X political ads disclosure: a zip holding one CSV.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{IoContext, Result};

/// X's known columns, in the order the importer documents them.
const HEADER: &[&str] = adarchive_importers::x_political_ads::KNOWN_COLUMNS;
const INTERESTS: &[&str] = &["Politics", "News", "Government", "Education", "Environment"];
const AGES: &[&str] = &["18-34", "35-49", "50+", "18+"];

pub(super) fn write_zip(path: &Path, ads: u64, rng: &mut ChaCha8Rng) -> Result<()> {
    let file = File::create(path).at(path)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let zip_err = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    zip.start_file("political_ads_disclosure.csv", options)
        .map_err(zip_err)
        .at(path)?;
    write_csv(&mut zip, ads, rng).at(path)?;
    let mut inner = zip.finish().map_err(zip_err).at(path)?;
    inner.flush().at(path)
}

fn write_csv(out: &mut dyn Write, ads: u64, rng: &mut ChaCha8Rng) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(HEADER)?;
    let day = format_description!("[month padding:none]/[day padding:none]/[year]");
    for _ in 0..ads {
        let a = &ADVERTISERS[rng.random_range(0..ADVERTISERS.len())];
        let handle: String = a
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(15)
            .collect();
        let handle = if handle.is_empty() {
            "Campaign".to_owned()
        } else {
            handle
        };
        let id = format!("10{}", vocab::digits(rng, 17));
        let start = vocab::start_time(rng);
        let end = start + rng.random_range(86_400..60 * 86_400i64);
        let interests: Vec<&str> = INTERESTS
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.3))
            .collect();
        let spend = rng.random::<f64>().powi(3) * 50_000.0;
        csv.write_record([
            format!("@{handle}"),
            id.clone(),
            format!("https://twitter.com/{handle}/status/{id}"),
            vocab::datetime(start).format(day).unwrap_or_default(),
            vocab::datetime(end).format(day).unwrap_or_default(),
            format!(
                "{} {}",
                a.country,
                ["GOTV", "Persuasion", "Fundraising"][rng.random_range(0..3usize)]
            ),
            interests.join(", "),
            a.country_name.to_owned(),
            ["", "Female", "Male"][rng.random_range(0..3usize)].to_owned(),
            AGES[rng.random_range(0..AGES.len())].to_owned(),
            (rng.random::<f64>().powi(2) * 1_000_000.0)
                .round()
                .to_string(),
            format!("{spend:.2}"),
        ])?;
    }
    csv.flush()
}
