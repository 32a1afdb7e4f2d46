//! Google Ads Transparency Center (the DSA repository), as exported from its
//! BigQuery table `creative_stats`: JSON Lines (or an array) of rows with
//! `advertiser_id`, `creative_id`, `creative_page_url`, `ad_format_type`,
//! `advertiser_disclosed_name`, `advertiser_legal_name`,
//! `advertiser_location`, `region_stats[…]` and `topic`.
//!
//! Each region carries its own first/last shown dates and times-shown
//! range. The ad's dates span every region, its impressions are the sum of
//! the regions' bounds (open when any region's upper bound is missing), and
//! the per-region figures are kept verbatim under `unmapped.region_stats`.

use std::io::Read;

use adarchive_schema::{Ad, CountRange, MediaType, Platform};
use serde_json::Value;

use crate::json_fields::{count_of, field_problem, parse_object, read_mapped_objects, text_of};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{country_code, timestamp};
use crate::sniff::{contains, starts_json};
use crate::{Entry, Importer, Locator, ParsedRecord, ReadError, Sink};

/// The Google Ads Transparency Center importer.
pub struct GoogleAdsTransparency;

const NAME: &str = "google-ads-transparency";

impl Importer for GoogleAdsTransparency {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::GoogleAtc)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Google Ads Transparency Center creative_stats rows (BigQuery JSON export)"
    }

    fn media_type(&self) -> &'static str {
        "application/json"
    }

    fn detect(&self, head: &[u8]) -> bool {
        starts_json(head)
            && contains(head, b"\"creative_id\"")
            && (contains(head, b"\"region_stats\"")
                || contains(head, b"\"advertiser_disclosed_name\"")
                || contains(head, b"\"advertiser_legal_name\""))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped_objects(input, &[], sink, map_object)
    }
}

fn map_object(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let mut fields = match parse_object(locator, raw) {
        Ok(f) => f,
        Err(problem) => return Entry::Problem(problem),
    };
    let Some(id) = fields.take_text("creative_id") else {
        return field_problem(
            locator,
            raw,
            "creative_id",
            "the row has no `creative_id`".into(),
        );
    };
    let mut m = Mapping::new(Ad::new(Platform::GoogleAtc, &id));
    m.ad.advertiser.id = fields.take_text("advertiser_id");
    m.ad.advertiser.name = fields.take_text("advertiser_legal_name");
    m.ad.funder = fields.take_text("advertiser_disclosed_name");
    m.ad.creative.snapshot_url = fields.take_text("creative_page_url");
    if let Some(format) = fields.take_text("ad_format_type") {
        match format.to_ascii_uppercase().as_str() {
            "TEXT" => m.ad.creative.media_type = Some(MediaType::Text),
            "IMAGE" => m.ad.creative.media_type = Some(MediaType::Image),
            "VIDEO" => m.ad.creative.media_type = Some(MediaType::Video),
            _ => m.keep_unnormalized("ad_format_type", format),
        }
    }
    if let Some(stats) = fields.take_array("region_stats") {
        map_region_stats(&mut m, &stats);
        m.keep("region_stats", stats);
    }
    fields.keep_rest(None, &mut m);
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn map_region_stats(m: &mut Mapping, stats: &[Value]) {
    let mut lower = 0u64;
    let mut upper = Some(0u64);
    let mut any_count = false;
    for region in stats {
        if let Some(code) = region.get("region_code").and_then(text_of) {
            match country_code(&code) {
                Some(iso) => push_unique(&mut m.ad.countries, iso),
                None => push_unique(&mut m.ad.regions, &code),
            }
        }
        for (key, first) in [("first_shown", true), ("last_shown", false)] {
            let Some(text) = region.get(key).and_then(text_of) else {
                continue;
            };
            match timestamp(&text) {
                Some(t) if first => {
                    if m.ad.first_shown.as_ref().is_none_or(|f| t < *f) {
                        m.ad.first_shown = Some(t);
                    }
                }
                Some(t) => {
                    if m.ad.last_shown.as_ref().is_none_or(|l| t > *l) {
                        m.ad.last_shown = Some(t);
                    }
                }
                None => m.unnormalized.push("region_stats".into()),
            }
        }
        let low = region.get("times_shown_lower_bound").and_then(count_of);
        let high = region.get("times_shown_upper_bound").and_then(count_of);
        if low.is_some() || high.is_some() {
            any_count = true;
            lower = lower.saturating_add(low.unwrap_or(0));
            upper = match (upper, high) {
                (Some(u), Some(h)) => Some(u.saturating_add(h)),
                _ => None,
            };
        }
    }
    if any_count {
        m.ad.impressions = Some(CountRange { lower, upper });
    }
}
