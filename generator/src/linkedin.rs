//! LinkedIn Ad Library API Rest.li pages (25 elements each), one reply per
//! line.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::vocab::{self, ADVERTISERS};
use crate::{IoContext, Result};

const PAGE: u64 = 25;
const TYPES: &[&str] = &[
    "SPONSORED_STATUS_UPDATE",
    "SPONSORED_VIDEO",
    "SPONSORED_UPDATE_CAROUSEL",
    "TEXT_AD",
];
const IMPRESSIONS: &[(u64, u64)] = &[
    (0, 1_000),
    (1_000, 5_000),
    (5_000, 10_000),
    (10_000, 50_000),
];
const COUNTRIES: &[(&str, &str)] = &[
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("PL", "Poland"),
    ("ES", "Spain"),
];

pub(super) fn write_pages(path: &Path, ads: u64, rng: &mut ChaCha8Rng) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let mut written = 0;
    while written < ads {
        let n = PAGE.min(ads - written);
        let mut elements = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let a = &ADVERTISERS[rng.random_range(0..ADVERTISERS.len())];
            let advertiser = ADVERTISERS
                .iter()
                .position(|x| x.name == a.name)
                .unwrap_or(0);
            let start = vocab::start_time(rng) * 1_000;
            let (country, country_name) = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
            let share = rng.random_range(60.0..100.0f64);
            let (low, high) = IMPRESSIONS[rng.random_range(0..IMPRESSIONS.len())];
            let mut details = json!({
                "type": TYPES[rng.random_range(0..TYPES.len())],
                "advertiser": {
                    "advertiserName": a.name,
                    "advertiserUrl": format!("https://www.linkedin.com/company/{}", 10_000_000 + advertiser * 7_919),
                    "adPayer": a.funder,
                },
                "adTargeting": [
                    {"facetName": "Location", "isIncluded": true, "isExcluded": false, "includedSegments": [country_name], "excludedSegments": []},
                    {"facetName": "Language", "isIncluded": true, "isExcluded": false, "includedSegments": [a.language], "excludedSegments": []},
                ],
            });
            // Only ads served in the EU carry statistics.
            if rng.random_bool(0.85) {
                details["adStatistics"] = json!({
                    "firstImpressionAt": start,
                    "latestImpressionAt": start + rng.random_range(86_400_000..30 * 86_400_000i64),
                    "totalImpressions": {"from": low, "to": high},
                    "impressionsDistributionByCountry": [
                        {"country": format!("urn:li:country:{country}"), "impressionPercentage": (share * 100.0).round() / 100.0},
                    ],
                });
            }
            elements.push(json!({
                "adUrl": format!("https://www.linkedin.com/ad-library/detail/14{}", vocab::digits(rng, 8)),
                "isRestricted": false,
                "details": details,
            }));
        }
        let start = written;
        written += n;
        let reply = json!({
            "elements": elements,
            "paging": {"count": PAGE, "start": start, "total": ads, "links": []},
        });
        serde_json::to_writer(&mut out, &reply)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(b"\n").at(path)?;
    }
    out.flush().at(path)
}
