//! Microsoft Advertising Ad Library API: OData replies of ads
//! (`{"@odata.count":N,"value":[ad,…]}`), single ads with their
//! `AdDetails`, arrays and JSON Lines of either.
//!
//! Countries arrive as names (`Austria`) or as Microsoft's own numeric
//! codes (`10`), never as ISO codes; target types as names (`Location`) or
//! numbers (`3`). An `{"error":{…}}` reply becomes a problem carrying the
//! API's message.

use std::io::Read;

use adarchive_schema::{Ad, Platform};
use serde_json::Value;

use crate::json_fields::{
    field_problem, parse_object, percent_share, read_mapped_objects, text_of, Fields,
};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{count_bucket, country_code, timestamp};
use crate::sniff::{contains, starts_json};
use crate::{Entry, Importer, Locator, ParsedRecord, ReadError, Sink};

/// The Microsoft Ad Library importer.
pub struct MicrosoftAdLibrary;

const NAME: &str = "microsoft-ad-library";

/// Microsoft's numeric country codes, as listed in the Ad Library API's
/// "Country" value set (the EU and EEA countries it reports on).
const COUNTRY_CODES: &[(u32, &str)] = &[
    (10, "AT"),
    (14, "BE"),
    (26, "BG"),
    (49, "HR"),
    (51, "CZ"),
    (53, "DK"),
    (61, "EE"),
    (65, "FI"),
    (66, "FR"),
    (72, "DE"),
    (76, "GR"),
    (88, "HU"),
    (89, "IS"),
    (92, "IE"),
    (93, "IT"),
    (104, "LV"),
    (107, "LI"),
    (108, "LT"),
    (109, "LU"),
    (115, "MT"),
    (129, "NL"),
    (139, "NO"),
    (151, "PL"),
    (152, "PT"),
    (165, "SK"),
    (167, "SI"),
    (170, "ES"),
    (175, "SE"),
    (207, "CY"),
    (226, "RO"),
];

/// Target types by their numeric value in the API.
const TARGET_TYPES: &[(u64, &str)] = &[
    (1, "Gender"),
    (2, "Age"),
    (3, "Location"),
    (22, "MicrosoftAudiences"),
    (25, "AdvertiserAudiences"),
];

/// ISO code for a Microsoft country value: a numeric code, a name, or an
/// ISO code.
///
/// ```
/// use adarchive_importers::microsoft_ad_library::country;
/// assert_eq!(country("72"), Some("DE"));
/// assert_eq!(country("Austria"), Some("AT"));
/// assert_eq!(country("999"), None);
/// ```
pub fn country(value: &str) -> Option<&'static str> {
    let v = value.trim();
    match v.parse::<u32>() {
        Ok(n) => COUNTRY_CODES
            .binary_search_by_key(&n, |(code, _)| *code)
            .ok()
            .map(|i| COUNTRY_CODES[i].1),
        Err(_) => country_code(v),
    }
}

impl Importer for MicrosoftAdLibrary {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Microsoft)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Microsoft Advertising Ad Library API JSON (OData pages of Ads, single ads with AdDetails)"
    }

    fn media_type(&self) -> &'static str {
        "application/json"
    }

    fn detect(&self, head: &[u8]) -> bool {
        starts_json(head)
            && contains(head, b"\"AdId\"")
            && (contains(head, b"\"AdvertiserName\"")
                || contains(head, b"\"AdvertiserId\"")
                || contains(head, b"\"@odata."))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped_objects(input, &["value"], sink, map_object)
    }
}

fn map_object(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let mut fields = match parse_object(locator, raw) {
        Ok(f) => f,
        Err(problem) => return Entry::Problem(problem),
    };
    let Some(id) = fields.take_text("AdId") else {
        if let Some(mut error) = fields.take_object("error") {
            let code = error.take_text("code").unwrap_or_default();
            let message = error.take_text("message").unwrap_or_default();
            return field_problem(
                locator,
                raw,
                "error",
                format!("the Ad Library API answered with an error `{code}`: {message}"),
            );
        }
        return field_problem(locator, raw, "AdId", "the ad has no `AdId`".into());
    };
    let mut m = Mapping::new(Ad::new(Platform::Microsoft, &id));
    m.ad.creative.snapshot_url = Some(format!("https://adlibrary.ads.microsoft.com/ad/{id}"));
    m.ad.advertiser.id = fields.take_text("AdvertiserId");
    m.ad.advertiser.name = fields.take_text("AdvertiserName");
    if let Some(title) = fields.take_text("Title") {
        m.ad.creative.titles.push(title);
    }
    if let Some(description) = fields.take_text("Description") {
        m.ad.creative.bodies.push(description);
    }
    if let Some(display) = fields.take_text("DisplayUrl") {
        m.ad.creative.captions.push(display);
    }
    if let Some(url) = fields.take_text("DestinationUrl") {
        m.ad.creative.link_urls.push(url);
    }
    // An empty `AssetJson` is the API's way of saying "no assets".
    if let Some(assets) = fields.take_text("AssetJson") {
        m.keep("AssetJson", assets);
    }
    if let Some(details) = fields.take_object("AdDetails") {
        map_details(&mut m, details);
    }
    fields.keep_rest(None, &mut m);
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn map_details(m: &mut Mapping, mut details: Fields) {
    m.ad.funder = details.take_text("PaidForByName");
    for (key, first) in [("StartDate", true), ("EndDate", false)] {
        if let Some(text) = details.take_text(key) {
            m.shown(first, timestamp(&text), &format!("AdDetails.{key}"), text);
        }
    }
    if let Some(range) = details.take_text("TotalImpressionsRange") {
        match count_bucket(&range) {
            Some(r) => m.ad.impressions = Some(r),
            None => m.keep_unnormalized("AdDetails.TotalImpressionsRange", range),
        }
    }
    if let Some(shares) = details.take_array("ImpressionsByCountry") {
        for share in shares {
            let pair = Fields::of(share.clone()).and_then(|mut f| {
                let code = f.take_text("Country").as_deref().and_then(country)?;
                let share = f.take("ImpressionShare").as_ref().and_then(percent_share)?;
                Some((code, share))
            });
            match pair {
                Some((code, share)) => m.country_share(code, share),
                None => m.keep_item_unnormalized("AdDetails.ImpressionsByCountry", share),
            }
        }
    }
    for key in ["Targets", "TargetTypes"] {
        if let Some(targets) = details.take_array(key) {
            for target in targets {
                match target_type(&target) {
                    Some((name, excluded)) => {
                        let slot = if excluded {
                            "target_types_excluded"
                        } else {
                            "target_types_included"
                        };
                        let list = m.ad.targeting.other.entry(slot.to_owned()).or_default();
                        push_unique(list, &name);
                    }
                    None => m.keep_item_unnormalized(&format!("AdDetails.{key}"), target),
                }
            }
        }
    }
    details.keep_rest(Some("AdDetails"), m);
}

/// A target's type name and whether it was used to exclude.
fn target_type(target: &Value) -> Option<(String, bool)> {
    let (kind, excluded) = match target {
        Value::Object(map) => (
            map.get("TargetType")?,
            map.get("UsedForExclusion")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        other => (other, false),
    };
    let name = match kind {
        Value::Number(n) => {
            let n = n.as_u64()?;
            TARGET_TYPES
                .iter()
                .find(|(code, _)| *code == n)
                .map_or_else(|| format!("TargetType {n}"), |(_, name)| (*name).to_owned())
        }
        other => text_of(other)?,
    };
    Some((name, excluded))
}
