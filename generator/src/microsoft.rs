//! Microsoft Advertising Ad Library single-ad replies with `AdDetails`
//! (`Ads/{id}?expand=AdDetails(expand=ImpressionsByCountry,Targets)`), one
//! per line, as a collector that fetches every ad's details keeps them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{IoContext, Result};

/// Ranges as the Ad Library prints them.
const IMPRESSIONS: &[&str] = &[
    "<1K",
    "1K - 2.5K",
    "2.5K - 5K",
    "5K - 10K",
    "10K - 50K",
    ">1M",
];
/// EU countries by their English names, as `ImpressionsByCountry` gives them.
const COUNTRIES: &[&str] = &[
    "Germany",
    "France",
    "Netherlands",
    "Poland",
    "Austria",
    "Romania",
];
const TARGETS: &[&str] = &["Location", "Age", "Gender", "MicrosoftAudiences"];

pub(super) fn write_replies(path: &Path, ads: u64, rng: &mut ChaCha8Rng) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let stamp = format_description!("[year]-[month]-[day]T00:00:00Z");
    for _ in 0..ads {
        let a = &ADVERTISERS[rng.random_range(0..ADVERTISERS.len())];
        let advertiser = ADVERTISERS
            .iter()
            .position(|x| x.name == a.name)
            .unwrap_or(0);
        let start = vocab::start_time(rng);
        let first = rng.random_range(0..COUNTRIES.len());
        let share = rng.random_range(50.0..100.0f64);
        let mut by_country =
            vec![json!({"Country": COUNTRIES[first], "ImpressionShare": format!("{share:.1}%")})];
        if share < 99.95 {
            let second = (first + 1) % COUNTRIES.len();
            by_country.push(json!({"Country": COUNTRIES[second], "ImpressionShare": format!("{:.1}%", 100.0 - share)}));
        }
        let mut targets = Vec::new();
        for t in TARGETS {
            if rng.random_bool(0.5) {
                targets.push(json!({"TargetType": t, "UsedForExclusion": rng.random_bool(0.1)}));
            }
        }
        let sentences = vocab::sentences(a.language);
        let reply = json!({
            "@odata.context": "https://adlibrary.api.bingads.microsoft.com/api/v1/$metadata#Ads/$entity",
            "AdId": 160_000_000_000u64 + rng.random_range(0..1_000_000_000u64),
            "AdvertiserName": a.name,
            "AdvertiserId": 187_000_000 + advertiser as u64 * 7_919,
            "Title": sentences[0],
            "Description": vocab::body(rng, a.language),
            "DisplayUrl": "example.org",
            "DestinationUrl": "https://example.org/vote",
            "AssetJson": "",
            "AdDetails": {
                "PaidForByName": a.funder,
                "StartDate": vocab::datetime(start).format(stamp).unwrap_or_default(),
                "EndDate": vocab::datetime(start + rng.random_range(86_400..40 * 86_400i64)).format(stamp).unwrap_or_default(),
                "TotalImpressionsRange": IMPRESSIONS[rng.random_range(0..IMPRESSIONS.len())],
                "ImpressionsByCountry": by_country,
                "Targets": targets,
            },
        });
        serde_json::to_writer(&mut out, &reply)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(b"\n").at(path)?;
    }
    out.flush().at(path)
}
