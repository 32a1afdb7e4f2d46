//! LinkedIn Ad Library API: Rest.li pages (`{"elements":[…],"paging":…}`),
//! arrays and JSON Lines of elements.
//!
//! The ad id is the last path segment of `adUrl`; times are epoch
//! milliseconds; `adStatistics` is present only for ads served in the EU
//! (the others still import, without dates or impressions). Targeting
//! facets carry included and excluded segments.

use std::io::Read;

use adarchive_schema::{Ad, CountRange, MediaType, Platform, Timestamp};
use serde_json::Value;

use crate::json_fields::{
    count_of, field_problem, parse_object, percent_share, read_mapped_objects, text_of, Fields,
};
use crate::mapping::Mapping;
use crate::normalize::country_code;
use crate::sniff::{contains, starts_json};
use crate::{Entry, Importer, Locator, ParsedRecord, ReadError, Sink};

/// The LinkedIn Ad Library importer.
pub struct LinkedInAdLibrary;

const NAME: &str = "linkedin-ad-library";

impl Importer for LinkedInAdLibrary {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Linkedin)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "LinkedIn Ad Library API JSON (Rest.li pages of adLibrary elements)"
    }

    fn media_type(&self) -> &'static str {
        "application/json"
    }

    fn detect(&self, head: &[u8]) -> bool {
        starts_json(head) && contains(head, b"\"adUrl\"") && contains(head, b"linkedin.com/")
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped_objects(input, &["elements"], sink, map_object)
    }
}

/// The ad id in an ad's URL: its last path segment, a number.
///
/// ```
/// use adarchive_importers::linkedin_ad_library::ad_id;
/// assert_eq!(ad_id("https://www.linkedin.com/ad-library/detail/1470155666"), Some("1470155666"));
/// assert_eq!(ad_id("https://www.linkedin.com/ad-library/detail/42/?trk=x"), Some("42"));
/// assert_eq!(ad_id("https://www.linkedin.com/ad-library/"), None);
/// ```
pub fn ad_id(url: &str) -> Option<&str> {
    last_segment(url).filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
}

/// The last non-empty path segment of a URL.
fn last_segment(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let (_, path) = path.split_once('/')?;
    path.rsplit('/').find(|s| !s.is_empty())
}

/// An epoch-millisecond time.
fn epoch_millis(value: &Value) -> Option<Timestamp> {
    let ms = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    Some(Timestamp::from_offset_date_time(t))
}

fn map_object(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let mut fields = match parse_object(locator, raw) {
        Ok(f) => f,
        Err(problem) => return Entry::Problem(problem),
    };
    let Some(url) = fields.take_text("adUrl") else {
        if let Some(message) = fields.take_text("message") {
            return field_problem(
                locator,
                raw,
                "adUrl",
                format!("the API answered with an error: {message}"),
            );
        }
        return field_problem(locator, raw, "adUrl", "the element has no `adUrl`".into());
    };
    let Some(id) = ad_id(&url).map(str::to_owned) else {
        return field_problem(
            locator,
            raw,
            "adUrl",
            format!("`{url}` has no ad id (a number) as its last path segment"),
        );
    };
    let mut m = Mapping::new(Ad::new(Platform::Linkedin, &id));
    m.ad.creative.snapshot_url = Some(url);
    if let Some(mut details) = fields.take_object("details") {
        map_details(&mut m, &mut details);
        details.keep_rest(Some("details"), &mut m);
    }
    fields.keep_rest(None, &mut m);
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn map_details(m: &mut Mapping, details: &mut Fields) {
    if let Some(kind) = details.take_text("type") {
        m.ad.creative.media_type = match kind.as_str() {
            "SPONSORED_VIDEO" => Some(MediaType::Video),
            "SPONSORED_UPDATE_CAROUSEL" => Some(MediaType::Carousel),
            "TEXT_AD" => Some(MediaType::Text),
            _ => None,
        };
        // The type says more than the media type (sponsored update, message
        // ad, …), so it is always kept.
        m.keep("details.type", kind);
    }
    if let Some(mut advertiser) = details.take_object("advertiser") {
        m.ad.advertiser.name = advertiser.take_text("advertiserName");
        if let Some(url) = advertiser.take_text("advertiserUrl") {
            m.ad.advertiser.id = last_segment(&url).map(str::to_owned);
            m.keep("details.advertiser.advertiserUrl", url);
        }
        m.ad.funder = advertiser.take_text("adPayer");
        advertiser.keep_rest(Some("details.advertiser"), m);
    }
    if let Some(mut stats) = details.take_object("adStatistics") {
        for (key, first) in [("firstImpressionAt", true), ("latestImpressionAt", false)] {
            if let Some(value) = stats.take(key) {
                let parsed = epoch_millis(&value);
                m.shown(first, parsed, &format!("details.adStatistics.{key}"), value);
            }
        }
        if let Some(total) = stats.take("totalImpressions") {
            match impression_range(&total) {
                Some(r) => m.ad.impressions = Some(r),
                None => m.keep_unnormalized("details.adStatistics.totalImpressions", total),
            }
        }
        if let Some(shares) = stats.take_array("impressionsDistributionByCountry") {
            for share in shares {
                match country_share(&share) {
                    Some((code, fraction)) => m.country_share(code, fraction),
                    None => m.keep_item_unnormalized(
                        "details.adStatistics.impressionsDistributionByCountry",
                        share,
                    ),
                }
            }
        }
        stats.keep_rest(Some("details.adStatistics"), m);
    }
    if let Some(facets) = details.take_array("adTargeting") {
        for facet in facets {
            if !map_facet(m, &facet) {
                m.keep_item_unnormalized("details.adTargeting", facet);
            }
        }
    }
}

fn impression_range(value: &Value) -> Option<CountRange> {
    let Value::Object(map) = value else {
        return None;
    };
    let lower = map.get("from").map_or(Some(0), count_of)?;
    let upper = match map.get("to") {
        None | Some(Value::Null) => None,
        Some(v) => Some(count_of(v)?),
    };
    (upper.is_none_or(|u| lower <= u)).then_some(CountRange { lower, upper })
}

fn country_share(value: &Value) -> Option<(&'static str, f64)> {
    let urn = value.get("country").and_then(Value::as_str)?;
    let code = country_code(urn.strip_prefix("urn:li:country:").unwrap_or(urn))?;
    let share = percent_share(value.get("impressionPercentage")?)?;
    Some((code, share))
}

/// Maps one targeting facet; false when it is not a facet.
fn map_facet(m: &mut Mapping, facet: &Value) -> bool {
    let Some(name) = facet.get("facetName").and_then(Value::as_str) else {
        return false;
    };
    let segments = |key: &str| -> Vec<String> {
        facet
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(text_of).collect())
            .unwrap_or_default()
    };
    let included = segments("includedSegments");
    let excluded = segments("excludedSegments");
    let t = &mut m.ad.targeting;
    match name {
        "Location" | "Locations" => {
            t.locations_included.extend(included);
            t.locations_excluded.extend(excluded);
        }
        "Age" | "Member age" | "Member Age" => t.ages.extend(included),
        "Gender" | "Member gender" | "Member Gender" => t
            .genders
            .extend(included.iter().map(|g| crate::normalize::gender(g))),
        "Interests" | "Member interests" | "Member Interests" => t.interests.extend(included),
        other => {
            let key = facet_key(other);
            if !included.is_empty() {
                t.other.insert(format!("{key}_included"), included);
            }
            if !excluded.is_empty() {
                t.other.insert(format!("{key}_excluded"), excluded);
            }
        }
    }
    // Exclusions on the dedicated fields have no slot of their own.
    if matches!(
        name,
        "Age"
            | "Member age"
            | "Member Age"
            | "Gender"
            | "Member gender"
            | "Member Gender"
            | "Interests"
            | "Member interests"
            | "Member Interests"
    ) {
        let excluded = segments("excludedSegments");
        if !excluded.is_empty() {
            m.ad.targeting
                .other
                .insert(format!("{}_excluded", facet_key(name)), excluded);
        }
    }
    true
}

/// `Company size` → `company_size`.
fn facet_key(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}
