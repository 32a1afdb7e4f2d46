//! A Google transparency bundle: a zip holding
//! `google-political-ads-creative-stats.csv` (2020 header),
//! `google-political-ads-advertiser-stats.csv` (2019+ header, US committees
//! with their FEC ids) and a README.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use time::macros::format_description;

use super::vocab::{self, ADVERTISERS};
use crate::{AdvertiserShape, Branch, IoContext, Result};

const HEADER: &[&str] = adarchive_importers::google_creative_stats::COLUMNS;

/// Currencies of the 2020 header, with each bucket bound's factor against
/// USD in hundredths.
const CURRENCIES: &[(&str, u64)] = &[
    ("USD", 100),
    ("EUR", 50),
    ("INR", 2500),
    ("BGN", 250),
    ("HRK", 750),
    ("CZK", 2500),
    ("DKK", 750),
    ("HUF", 30000),
    ("PLN", 400),
    ("RON", 500),
    ("SEK", 1000),
    ("GBP", 50),
    ("NZD", 150),
];

/// USD spend buckets; the top one is open-ended.
const SPEND_BUCKETS: &[(u64, Option<u64>)] = &[
    (0, Some(100)),
    (100, Some(1_000)),
    (1_000, Some(50_000)),
    (50_000, Some(100_000)),
    (100_000, None),
];

const IMPRESSIONS: &[&str] = &["≤ 10k", "10k-100k", "100k-1M", "1M-10M", "> 10M"];
const EU: &[&str] = &["FR", "DE", "NL", "ES", "GR", "PL"];
const AGES: &str = "18-24, 25-34, 35-44, 45-54, 55-64, ≥65, Unknown age";
const README: &str = "Google political ads transparency bundle (generated sample).\n\
See google-political-ads-creative-stats.csv for one row per ad.\n";

pub(super) fn write_bundle(
    path: &Path,
    ads: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let file = File::create(path).at(path)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let zip_err = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    zip.start_file("google-political-ads-creative-stats.csv", options)
        .map_err(zip_err)
        .at(path)?;
    let advertisers = write_creative_stats(&mut zip, ads, shape, rng).at(path)?;
    zip.start_file("google-political-ads-advertiser-stats.csv", options)
        .map_err(zip_err)
        .at(path)?;
    write_advertiser_stats(&mut zip, &advertisers).at(path)?;
    zip.start_file("README.txt", options)
        .map_err(zip_err)
        .at(path)?;
    zip.write_all(README.as_bytes()).at(path)?;
    let mut inner = zip.finish().map_err(zip_err).at(path)?;
    inner.flush().at(path)
}

/// Writes the creative stats alone, as one plain CSV file (the bundle's
/// largest member, as people keep it unzipped or export it from BigQuery).
pub(super) fn write_creative_stats_file(
    path: &Path,
    ads: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(path).at(path)?);
    write_creative_stats(&mut out, ads, shape, rng).at(path)?;
    out.flush().at(path)
}

/// What the creative stats say of one advertiser, for its stats row.
struct AdvertiserTotals {
    id: String,
    /// The vocabulary's advertiser it is, or is a branch of.
    base: usize,
    name: String,
    /// Whether it is the vocabulary's own (a branch has no public ids).
    own: bool,
    creatives: u64,
    /// Per currency of [`CURRENCIES`]: summed lower bounds.
    spend: Vec<u64>,
}

fn write_advertiser_stats(out: &mut dyn Write, totals: &[AdvertiserTotals]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "Advertiser_ID",
        "Advertiser_Name",
        "Public_IDs_List",
        "Regions",
        "Elections",
        "Total_Creatives",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(CURRENCIES.iter().map(|(cur, _)| format!("Spend_{cur}")));
    csv.write_record(&header)?;
    for t in totals {
        if t.creatives == 0 {
            continue;
        }
        let a = &ADVERTISERS[t.base];
        let mut row = vec![
            t.id.clone(),
            t.name.to_uppercase(),
            vocab::fec_id(t.base)
                .filter(|_| t.own)
                .map(|id| format!("FEC ID {id}"))
                .unwrap_or_default(),
            a.country.to_owned(),
            if a.country == "US" {
                "US-Federal".to_owned()
            } else {
                String::new()
            },
            t.creatives.to_string(),
        ];
        row.extend(t.spend.iter().map(u64::to_string));
        csv.write_record(&row)?;
    }
    csv.flush()
}

fn write_creative_stats(
    out: &mut dyn Write,
    ads: u64,
    shape: AdvertiserShape,
    rng: &mut ChaCha8Rng,
) -> std::io::Result<Vec<AdvertiserTotals>> {
    let mut csv = csv::Writer::from_writer(out);
    let mut header: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
    for (cur, _) in CURRENCIES {
        header.push(format!("Spend_Range_Min_{cur}"));
        header.push(format!("Spend_Range_Max_{cur}"));
    }
    csv.write_record(&header)?;
    let advertiser_ids: Vec<String> = ADVERTISERS
        .iter()
        .map(|_| format!("AR{}", vocab::digits(rng, 20)))
        .collect();
    let mut totals: Vec<AdvertiserTotals> = advertiser_ids
        .iter()
        .enumerate()
        .map(|(base, id)| AdvertiserTotals {
            id: id.clone(),
            base,
            name: ADVERTISERS[base].name.to_owned(),
            own: true,
            creatives: 0,
            spend: vec![0; CURRENCIES.len()],
        })
        .collect();
    let date = format_description!("[year]-[month]-[day]");
    let stamp = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let fmt = |t: time::OffsetDateTime, f: &[time::format_description::BorrowedFormatItem<'_>]| {
        t.format(f).unwrap_or_default()
    };
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for serial in 0..ads {
        row.clear();
        let branch = Branch::pick(rng, shape, serial);
        let advertiser = &ADVERTISERS[branch.base];
        let a = match branch.serial {
            None => branch.base,
            Some(_) => {
                totals.push(AdvertiserTotals {
                    id: format!("AR{}", vocab::digits(rng, 20)),
                    base: branch.base,
                    name: branch.name(),
                    own: false,
                    creatives: 0,
                    spend: vec![0; CURRENCIES.len()],
                });
                totals.len() - 1
            }
        };
        let ad_id = format!("CR{}", vocab::digits(rng, 20));
        let first = vocab::start_time(rng);
        let last = first + rng.random_range(3_600..60 * 86_400i64);
        let (first_t, last_t) = (vocab::datetime(first), vocab::datetime(last));
        let regions = if EU.contains(&advertiser.country) {
            format!("EU, {}", advertiser.country)
        } else {
            advertiser.country.to_owned()
        };
        let kind = ["Text", "Image", "Video"][rng.random_range(0..3usize)];
        row.push(ad_id.clone());
        row.push(format!(
            "https://transparencyreport.google.com/political-ads/library/advertiser/{}/creative/{ad_id}",
            totals[a].id
        ));
        row.push(kind.to_owned());
        row.push(regions);
        row.push(totals[a].id.clone());
        row.push(totals[a].name.clone());
        row.push(String::new());
        row.push(fmt(first_t, date));
        row.push(fmt(last_t, date));
        row.push(((last - first) / 86_400 + 1).to_string());
        let bucket = (rng.random::<f64>().powi(3) * IMPRESSIONS.len() as f64) as usize;
        row.push(IMPRESSIONS[bucket.min(IMPRESSIONS.len() - 1)].to_owned());
        row.push(String::new());
        row.push(fmt(first_t, stamp));
        row.push(fmt(last_t, stamp));
        let targeted = rng.random_bool(0.4);
        row.push(if targeted { AGES } else { "Not targeted" }.to_owned());
        row.push(
            if targeted {
                "Male, Female, Unknown gender"
            } else {
                "Not targeted"
            }
            .to_owned(),
        );
        row.push(if rng.random_bool(0.5) {
            advertiser.country_name_title()
        } else {
            "Not targeted".to_owned()
        });
        row.push("Not targeted".to_owned());
        let spend = (rng.random::<f64>().powi(4) * SPEND_BUCKETS.len() as f64) as usize;
        let (lower, upper) = SPEND_BUCKETS[spend.min(SPEND_BUCKETS.len() - 1)];
        totals[a].creatives += 1;
        for (c, (_, factor)) in CURRENCIES.iter().enumerate() {
            totals[a].spend[c] += lower * factor / 100;
            row.push((lower * factor / 100).to_string());
            row.push(
                upper
                    .map(|u| (u * factor / 100).to_string())
                    .unwrap_or_default(),
            );
        }
        csv.write_record(&row)?;
    }
    csv.flush()?;
    Ok(totals)
}

impl vocab::Advertiser {
    /// The country name as Google's geo targeting prints it.
    fn country_name_title(&self) -> String {
        self.country_name
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
