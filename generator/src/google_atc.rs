//! Google Ads Transparency Center `creative_stats` rows, as BigQuery exports
//! them (JSON Lines, 64-bit integers as strings).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{IoContext, Result};

const FORMATS: &[&str] = &["TEXT", "IMAGE", "VIDEO"];
const REGIONS: &[&str] = &["DE", "FR", "NL", "ES", "PL", "BE", "AT"];
const TIMES_SHOWN: &[(u64, Option<u64>)] = &[
    (0, Some(1_000)),
    (1_000, Some(2_000)),
    (10_000, Some(15_000)),
    (100_000, Some(125_000)),
    (1_000_000, None),
];

pub(super) fn write_rows(path: &Path, ads: u64, rng: &mut ChaCha8Rng) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let day = format_description!("[year]-[month]-[day]");
    let advertiser_ids: Vec<String> = ADVERTISERS
        .iter()
        .map(|_| format!("AR{}", vocab::digits(rng, 20)))
        .collect();
    for _ in 0..ads {
        let i = rng.random_range(0..ADVERTISERS.len());
        let a = &ADVERTISERS[i];
        let creative = format!("CR{}", vocab::digits(rng, 20));
        let regions: Vec<_> = (0..rng.random_range(1..=3usize))
            .map(|_| {
                let start = vocab::start_time(rng);
                let (low, high) = TIMES_SHOWN[rng.random_range(0..TIMES_SHOWN.len())];
                let mut region = json!({
                    "region_code": REGIONS[rng.random_range(0..REGIONS.len())],
                    "first_shown": vocab::datetime(start).format(day).unwrap_or_default(),
                    "last_shown": vocab::datetime(start + rng.random_range(0..20 * 86_400i64)).format(day).unwrap_or_default(),
                    "times_shown_lower_bound": low.to_string(),
                });
                if let Some(high) = high {
                    region["times_shown_upper_bound"] = json!(high.to_string());
                }
                region
            })
            .collect();
        let row = json!({
            "advertiser_id": advertiser_ids[i],
            "creative_id": creative,
            "creative_page_url": format!("https://adstransparency.google.com/advertiser/{}/creative/{creative}", advertiser_ids[i]),
            "ad_format_type": FORMATS[rng.random_range(0..FORMATS.len())],
            "advertiser_disclosed_name": a.funder,
            "advertiser_legal_name": a.name,
            "advertiser_location": a.country,
            "region_stats": regions,
            "topic": "Politics",
        });
        serde_json::to_writer(&mut out, &row)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(b"\n").at(path)?;
    }
    out.flush().at(path)
}
