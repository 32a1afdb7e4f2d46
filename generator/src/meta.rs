//! Meta `ads_archive` API response pages (API v21 fields).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{AdvertiserShape, Branch, IoContext, Result};

const SPEND: &[(u64, Option<u64>)] = &[
    (0, Some(99)),
    (100, Some(199)),
    (300, Some(399)),
    (1_000, Some(1_499)),
    (5_000, Some(9_999)),
    (10_000, Some(14_999)),
    (50_000, Some(99_999)),
    (1_000_000, None),
];
const IMPRESSIONS: &[(u64, Option<u64>)] = &[
    (1_000, Some(1_999)),
    (5_000, Some(9_999)),
    (10_000, Some(14_999)),
    (100_000, Some(124_999)),
    (1_000_000, None),
];
const AGES: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];
const GENDERS: &[&str] = &["female", "male", "unknown"];

fn bound(range: (u64, Option<u64>)) -> Value {
    match range.1 {
        Some(u) => json!({"lower_bound": range.0.to_string(), "upper_bound": u.to_string()}),
        None => json!({"lower_bound": range.0.to_string()}),
    }
}

/// Writes one page `{"data":[…],"paging":{…}}` of `ads` ads. The snapshot
/// and paging URLs carry a made-up access token, as real downloads do.
pub(super) fn write_page(
    path: &Path,
    ads: u64,
    page: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let token = format!("EAAG{}", vocab::hex(rng, 48));
    out.write_all(b"{\"data\":[\n").at(path)?;
    for i in 0..ads {
        let ad = one_ad(rng, shape, (page - 1) * crate::META_PAGE_SIZE + i, &token);
        serde_json::to_writer(&mut out, &ad)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(if i + 1 < ads { b",\n" } else { b"\n" })
            .at(path)?;
    }
    let after = vocab::hex(rng, 32);
    let paging = json!({
        "cursors": {"before": vocab::hex(rng, 32), "after": after},
        "next": format!("https://graph.facebook.com/v21.0/ads_archive?access_token={token}&limit={ads}&after={after}&page={page}"),
    });
    writeln!(out, "],\"paging\":{paging}}}").at(path)?;
    out.flush().at(path)
}

/// Writes `ads` ads as JSON Lines, one ad object per line, as a collection
/// of many pages is commonly saved: one large file.
pub(super) fn write_lines(
    path: &Path,
    ads: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let token = format!("EAAG{}", vocab::hex(rng, 48));
    for serial in 0..ads {
        let ad = one_ad(rng, shape, serial, &token);
        serde_json::to_writer(&mut out, &ad)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(b"\n").at(path)?;
    }
    out.flush().at(path)
}

/// One ad of the `ads_archive` API, its snapshot URL carrying `token`.
fn one_ad(rng: &mut ChaCha8Rng, shape: AdvertiserShape, serial: u64, token: &str) -> Value {
    let date = format_description!("[year]-[month]-[day]");
    let stamp = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");
    let branch = Branch::pick(rng, shape, serial);
    let a = &ADVERTISERS[branch.base];
    // A branch's page id is past every vocabulary page's.
    let page_id = match branch.serial {
        None => 100_000_000 + branch.base as u64 * 7919,
        Some(n) => 900_000_000 + n,
    };
    let id = vocab::digits(rng, 16);
    let start = vocab::start_time(rng);
    let running = rng.random_bool(0.2);
    let stop = start + rng.random_range(86_400..45 * 86_400i64);
    let spend = SPEND[((rng.random::<f64>().powi(3)) * SPEND.len() as f64) as usize % SPEND.len()];
    let impressions = IMPRESSIONS
        [((rng.random::<f64>().powi(3)) * IMPRESSIONS.len() as f64) as usize % IMPRESSIONS.len()];
    let mut shares = Vec::new();
    for age in AGES {
        for gender in GENDERS {
            if rng.random_bool(0.5) {
                shares.push(json!({"percentage": format!("{:.6}", rng.random::<f64>() / 10.0), "age": age, "gender": gender}));
            }
        }
    }
    let mut ad = json!({
        "id": id,
        "ad_creation_time": vocab::datetime(start - 86_400).format(date).unwrap_or_default(),
        "ad_creative_bodies": [vocab::body(rng, a.language)],
        "ad_creative_link_captions": ["example.org"],
        "ad_creative_link_titles": [vocab::sentences(a.language)[0]],
        "ad_creative_link_descriptions": [vocab::sentences(a.language)[1]],
        "ad_delivery_start_time": vocab::datetime(start).format(stamp).unwrap_or_default(),
        "ad_snapshot_url": format!("https://www.facebook.com/ads/archive/render_ad/?id={id}&access_token={token}"),
        "beneficiary_payers": [{"payer": a.funder, "beneficiary": a.name, "current": true}],
        "bylines": a.funder,
        "currency": a.currency,
        "delivery_by_region": [{"percentage": "1", "region": a.country_name}],
        "demographic_distribution": shares,
        "estimated_audience_size": {"lower_bound": "10000", "upper_bound": "50000"},
        "impressions": bound(impressions),
        "languages": [a.language.get(..2).unwrap_or("en")],
        "page_id": page_id.to_string(),
        "page_name": branch.name(),
        "publisher_platforms": ["facebook", "instagram"],
        "spend": bound(spend),
        "target_ages": ["18", "65+"],
        "target_gender": "All",
        "target_locations": [{"name": a.country_name, "type": "countries", "excluded": false, "num_obfuscated": 0}],
    });
    if !running {
        ad["ad_delivery_stop_time"] =
            json!(vocab::datetime(stop).format(stamp).unwrap_or_default());
    }
    ad
}
