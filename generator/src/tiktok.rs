//! TikTok Commercial Content API ad query pages (50 ads each, the API's
//! maximum), one reply per line.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{IoContext, Result};

const PAGE: u64 = 50;
const REACH: &[&str] = &["0-1K", "1K-10K", "11K", "10K-100K", "100K+"];

pub(super) fn write_pages(path: &Path, ads: u64, rng: &mut ChaCha8Rng) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    let day = format_description!("[year][month][day]");
    let mut written = 0;
    while written < ads {
        let n = PAGE.min(ads - written);
        let mut page = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let a = &ADVERTISERS[rng.random_range(0..ADVERTISERS.len())];
            let advertiser = ADVERTISERS
                .iter()
                .position(|x| x.name == a.name)
                .unwrap_or(0);
            let start = vocab::start_time(rng);
            let stop = start + rng.random_range(86_400..30 * 86_400i64);
            let date = |t: i64| -> u64 {
                vocab::datetime(t)
                    .format(day)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            };
            let id = format!("19{}", vocab::digits(rng, 14));
            let media = if rng.random_bool(0.8) {
                json!({"videos": [{"url": format!("https://library.tiktok.com/video/{id}.mp4"), "cover_image_url": format!("https://library.tiktok.com/cover/{id}.jpg")}], "image_urls": []})
            } else {
                json!({"videos": [], "image_urls": [format!("https://library.tiktok.com/image/{id}.jpg")]})
            };
            let mut ad = json!({
                "id": id.parse::<u64>().unwrap_or(0),
                "first_shown_date": date(start),
                "last_shown_date": date(stop),
                "status": "inactive",
                "status_statement": "",
                "reach": {"unique_users_seen": REACH[rng.random_range(0..REACH.len())]},
            });
            if let (Some(ad), Some(media)) = (ad.as_object_mut(), media.as_object()) {
                ad.extend(media.clone());
            }
            let payer = if rng.random_bool(0.5) {
                "paid_for_by"
            } else {
                "paid_by"
            };
            page.push(json!({
                "ad": ad,
                "advertiser": {
                    "business_id": 7_000_000_000_000_000_000u64 + advertiser as u64 * 104_729,
                    "business_name": a.name,
                    payer: a.funder,
                },
            }));
        }
        written += n;
        let reply = json!({
            "data": {"ads": page, "has_more": written < ads, "search_id": vocab::digits(rng, 19)},
            "error": {"code": "ok", "message": "", "log_id": vocab::hex(rng, 24)},
        });
        serde_json::to_writer(&mut out, &reply)
            .map_err(std::io::Error::other)
            .at(path)?;
        out.write_all(b"\n").at(path)?;
    }
    out.flush().at(path)
}
