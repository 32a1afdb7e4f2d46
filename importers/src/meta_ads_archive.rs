//! Meta Ad Library API `ads_archive`: a JSON array of ads, an API response
//! page (`{"data":[…],"paging":…}`), a single ad, or JSON Lines.
//!
//! Both the 2019 singular fields (`ad_creative_body`, `funding_entity`,
//! `region_distribution`, `potential_reach`) and the later plural ones
//! (`ad_creative_bodies`, `bylines`, `delivery_by_region`,
//! `estimated_audience_size`) are read. Every number arrives as a string.
//! `access_token` values in URLs are credentials: see [`crate::redact`].

use std::io::Read;

use adarchive_schema::{Ad, AgeGenderShare, CountRange, Platform, RegionShare, SpendRange};
use serde_json::{Map, Value};

use crate::google_creative_stats::gender_label;
use crate::json_objects::{for_each_object, Item};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{currency_code, language_code, timestamp, whole_number};
use crate::redact::strip_access_token;
use crate::{Entry, Importer, Locator, ParsedRecord, Problem, ReadError, Sink};

/// The Meta `ads_archive` importer.
pub struct MetaAdsArchive;

const NAME: &str = "meta-ads-archive";

/// Fields that only Meta's ad objects carry, for detection.
const SIGNATURE_FIELDS: &[&[u8]] = &[
    b"\"ad_snapshot_url\"",
    b"\"ad_delivery_start_time\"",
    b"\"ad_creation_time\"",
    b"\"ad_creative_bodies\"",
    b"\"ad_creative_body\"",
];

impl Importer for MetaAdsArchive {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Meta Ad Library API ads_archive JSON (response pages, arrays of ads, or JSON Lines)"
    }

    fn detect(&self, head: &[u8]) -> bool {
        let first = head
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(head)
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        matches!(first, Some(b'[' | b'{'))
            && SIGNATURE_FIELDS
                .iter()
                .any(|f| head.windows(f.len()).any(|w| w == *f))
    }

    fn carries_credentials(&self) -> bool {
        true
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        for_each_object(input, |item| {
            let entry = match item {
                Item::Malformed {
                    locator,
                    raw,
                    reason,
                } => Entry::Problem(Problem {
                    locator,
                    raw,
                    field: None,
                    reason,
                }),
                Item::Object { locator, raw } => map_object(locator, raw),
            };
            sink(entry).map_err(ReadError::Sink)
        })
    }
}

fn map_object(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let problem = |field: Option<&str>, reason: String| {
        Entry::Problem(Problem {
            locator,
            raw,
            field: field.map(str::to_owned),
            reason,
        })
    };
    let mut fields: Map<String, Value> = match serde_json::from_slice(raw) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return problem(None, "not a JSON object".into()),
        Err(e) => {
            return problem(
                None,
                format!(
                    "invalid JSON at line {} column {} of the object: {e}",
                    e.line(),
                    e.column()
                ),
            )
        }
    };
    let snapshot_url = take_string(&mut fields, "ad_snapshot_url");
    let id = take_id(&mut fields, "id")
        .or_else(|| take_id(&mut fields, "_id"))
        .or_else(|| snapshot_url.as_deref().and_then(id_from_snapshot_url));
    let Some(id) = id else {
        return problem(
            Some("id"),
            "the ad has no `id` and no `ad_snapshot_url` with an `id=` parameter".into(),
        );
    };
    let mut m = Mapping::new(Ad::new(Platform::Meta, &id));
    m.ad.creative.snapshot_url = snapshot_url.map(|u| strip_access_token(&u));

    m.ad.advertiser.id = take_id(&mut fields, "page_id");
    m.ad.advertiser.name = take_string(&mut fields, "page_name");
    let funding_entity = take_string(&mut fields, "funding_entity");
    let bylines = take_string(&mut fields, "bylines");
    m.ad.funder = funding_entity.clone().or_else(|| bylines.clone());
    if let (Some(f), Some(b)) = (&funding_entity, &bylines) {
        if f != b {
            m.keep("bylines", b.as_str());
        }
    }
    if let Some(value) = fields.remove("beneficiary_payers") {
        map_beneficiary_payers(&mut m, value);
    }

    for (plural, singular, slot) in [
        ("ad_creative_bodies", "ad_creative_body", 0),
        ("ad_creative_link_titles", "ad_creative_link_title", 1),
        (
            "ad_creative_link_descriptions",
            "ad_creative_link_description",
            2,
        ),
        ("ad_creative_link_captions", "ad_creative_link_caption", 3),
    ] {
        let mut texts = Vec::new();
        for key in [plural, singular] {
            if let Some(value) = fields.remove(key) {
                if !collect_strings(&value, &mut texts) {
                    m.keep_unnormalized(key, value);
                }
            }
        }
        let target = match slot {
            0 => &mut m.ad.creative.bodies,
            1 => &mut m.ad.creative.titles,
            2 => &mut m.ad.creative.descriptions,
            _ => &mut m.ad.creative.captions,
        };
        *target = texts;
    }

    for (key, first) in [
        ("ad_delivery_start_time", true),
        ("ad_delivery_stop_time", false),
    ] {
        if let Some(value) = fields.remove(key) {
            match value.as_str().and_then(timestamp) {
                Some(t) if first => m.ad.first_shown = Some(t),
                Some(t) => m.ad.last_shown = Some(t),
                None => m.keep_unnormalized(key, value),
            }
        }
    }

    let currency = fields.remove("currency");
    let code = currency
        .as_ref()
        .and_then(Value::as_str)
        .and_then(currency_code);
    if let Some(spend) = fields.remove("spend") {
        match (&code, range(&spend)) {
            (Some(code), Some(r)) => m.ad.spend.push(SpendRange {
                currency: code.clone(),
                lower: r.lower,
                upper: r.upper,
            }),
            _ => {
                m.keep_unnormalized("spend", spend);
                if let Some(c) = &currency {
                    m.keep("currency", c.clone());
                }
            }
        }
    } else if let Some(c) = currency {
        if code.is_none() {
            m.keep_unnormalized("currency", c);
        }
    }
    if let Some(value) = fields.remove("impressions") {
        match range(&value) {
            Some(r) => m.ad.impressions = Some(r),
            None => m.keep_unnormalized("impressions", value),
        }
    }
    for key in ["estimated_audience_size", "potential_reach"] {
        if let Some(value) = fields.remove(key) {
            match range(&value) {
                Some(r) if m.ad.audience_size.is_none() => m.ad.audience_size = Some(r),
                Some(_) => m.keep(key, value),
                None => m.keep_unnormalized(key, value),
            }
        }
    }

    if let Some(value) = fields.remove("demographic_distribution") {
        match age_gender_shares(&value) {
            Some(shares) => m.ad.delivery.age_gender = shares,
            None => m.keep_unnormalized("demographic_distribution", value),
        }
    }
    for key in ["delivery_by_region", "region_distribution"] {
        if let Some(value) = fields.remove(key) {
            match region_shares(&value) {
                Some(shares) if m.ad.delivery.regions.is_empty() => m.ad.delivery.regions = shares,
                Some(_) => m.keep(key, value),
                None => m.keep_unnormalized(key, value),
            }
        }
    }

    if let Some(value) = fields.remove("languages") {
        let mut codes = Vec::new();
        let ok = value.as_array().is_some_and(|items| {
            items
                .iter()
                .all(|l| match l.as_str().and_then(language_code) {
                    Some(code) => {
                        push_unique(&mut codes, code);
                        true
                    }
                    None => false,
                })
        });
        if ok {
            m.ad.languages = codes;
        } else {
            m.keep_unnormalized("languages", value);
        }
    }

    if let Some(value) = fields.remove("target_ages") {
        let mut ages = Vec::new();
        if collect_strings(&value, &mut ages) {
            m.ad.targeting.ages = ages;
        } else {
            m.keep_unnormalized("target_ages", value);
        }
    }
    if let Some(value) = fields.remove("target_gender") {
        match value.as_str() {
            Some("All" | "all") => {}
            Some(g) => m.ad.targeting.genders = vec![gender_label(g)],
            None => m.keep_unnormalized("target_gender", value),
        }
    }
    if let Some(value) = fields.remove("target_locations") {
        if !map_target_locations(&mut m, &value) {
            m.keep_unnormalized("target_locations", value);
        }
    }

    // Everything else (ad_creation_time, publisher_platforms, reach
    // breakdowns, fields of future API versions) is kept verbatim.
    for (key, value) in fields {
        if !value.is_null() {
            m.keep(&key, value);
        }
    }
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn take_string(fields: &mut Map<String, Value>, key: &str) -> Option<String> {
    match fields.remove(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::String(_) | Value::Null => None,
        other => {
            fields.insert(key.to_owned(), other);
            None
        }
    }
}

/// An id that may be a string or a number.
fn take_id(fields: &mut Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::Number(n) if n.is_u64() => {
            let id = n.to_string();
            fields.remove(key);
            Some(id)
        }
        Value::String(s) if is_ad_id(s) => take_string(fields, key),
        _ => None,
    }
}

fn is_ad_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn id_from_snapshot_url(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|p| p.strip_prefix("id="))
        .filter(|id| is_ad_id(id))
        .map(str::to_owned)
}

/// Appends the strings of a string or an array of strings; false on any
/// other shape.
fn collect_strings(value: &Value, out: &mut Vec<String>) -> bool {
    match value {
        Value::String(s) => {
            out.push(s.clone());
            true
        }
        Value::Array(items) => items.iter().all(|item| match item {
            Value::String(s) => {
                out.push(s.clone());
                true
            }
            _ => false,
        }),
        Value::Null => true,
        _ => false,
    }
}

fn number(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => whole_number(s),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn fraction(value: &Value) -> Option<f64> {
    let f = match value {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (f.is_finite() && (0.0..=1.0).contains(&f)).then_some(f)
}

/// `{"lower_bound":"300","upper_bound":"399"}`; the top bucket has no upper bound.
fn range(value: &Value) -> Option<CountRange> {
    let obj = value.as_object()?;
    let lower = obj.get("lower_bound").map(number).unwrap_or(Some(0))?;
    let upper = match obj.get("upper_bound") {
        None | Some(Value::Null) => None,
        Some(v) => Some(number(v)?),
    };
    if upper.is_some_and(|u| u < lower) {
        return None;
    }
    Some(CountRange { lower, upper })
}

fn age_gender_shares(value: &Value) -> Option<Vec<AgeGenderShare>> {
    value
        .as_array()?
        .iter()
        .map(|item| {
            Some(AgeGenderShare {
                age: item.get("age")?.as_str()?.to_owned(),
                gender: item.get("gender")?.as_str()?.to_owned(),
                share: fraction(item.get("percentage")?)?,
            })
        })
        .collect()
}

fn region_shares(value: &Value) -> Option<Vec<RegionShare>> {
    value
        .as_array()?
        .iter()
        .map(|item| {
            Some(RegionShare {
                region: item.get("region")?.as_str()?.to_owned(),
                share: fraction(item.get("percentage")?)?,
            })
        })
        .collect()
}

fn map_beneficiary_payers(m: &mut Mapping, value: Value) {
    let Some(items) = value.as_array() else {
        m.keep_unnormalized("beneficiary_payers", value);
        return;
    };
    let mut payers = Vec::new();
    let mut beneficiaries = Vec::new();
    for item in items {
        if let Some(p) = item.get("payer").and_then(Value::as_str) {
            push_unique(&mut payers, p);
        }
        if let Some(b) = item.get("beneficiary").and_then(Value::as_str) {
            push_unique(&mut beneficiaries, b);
        }
    }
    if payers.is_empty() && beneficiaries.is_empty() && !items.is_empty() {
        m.keep_unnormalized("beneficiary_payers", value);
        return;
    }
    m.ad.payers = payers;
    m.ad.beneficiaries = beneficiaries;
}

/// `[{"name":"Ohio","type":"region","excluded":false}, …]`.
fn map_target_locations(m: &mut Mapping, value: &Value) -> bool {
    let Some(items) = value.as_array() else {
        return false;
    };
    for item in items {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return false;
        };
        let excluded = item
            .get("excluded")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let list = if excluded {
            &mut m.ad.targeting.locations_excluded
        } else {
            &mut m.ad.targeting.locations_included
        };
        push_unique(list, name);
    }
    true
}
