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
use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::json_fields::read_mapped_objects;
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{currency_code, language_code, timestamp, whole_number};
use crate::redact::strip_access_token;
use crate::sniff::contains;
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
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Meta)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "Meta Ad Library API ads_archive JSON (response pages, arrays of ads, or JSON Lines)"
    }

    fn media_type(&self) -> &'static str {
        "application/json"
    }

    fn detect(&self, head: &[u8]) -> bool {
        crate::sniff::starts_json(head) && SIGNATURE_FIELDS.iter().any(|f| contains(head, f))
    }

    fn carries_credentials(&self) -> bool {
        true
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        read_mapped_objects(input, &["data"], sink, map_object)
    }
}

/// The top-level fields of one ad, each left unparsed until it is mapped,
/// so that only what the record needs is ever allocated.
type Fields<'a> = BTreeMap<Cow<'a, str>, &'a RawValue>;

fn map_object(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let problem = |field: Option<&str>, reason: String| {
        Entry::Problem(Problem {
            locator,
            raw,
            field: field.map(str::to_owned),
            reason,
        })
    };
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return problem(
                None,
                format!("invalid UTF-8 at byte {} of the object", e.valid_up_to()),
            )
        }
    };
    let mut fields: Fields<'_> = match serde_json::from_str(text) {
        Ok(map) => map,
        Err(e) => {
            return problem(
                None,
                format!(
                    "not a valid JSON object (line {} column {} of the object): {e}",
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
    if let Some(raw) = fields.remove("beneficiary_payers") {
        map_beneficiary_payers(&mut m, raw);
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
            if let Some(raw) = fields.remove(key) {
                if !collect_strings(raw, &mut texts) {
                    m.keep_unnormalized(key, value(raw));
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
        if let Some(raw) = fields.remove(key) {
            let parsed = parse::<Cow<'_, str>>(raw).as_deref().and_then(timestamp);
            m.shown(first, parsed, key, value(raw));
        }
    }

    let currency = fields.remove("currency");
    let code = currency
        .and_then(parse::<Cow<'_, str>>)
        .as_deref()
        .and_then(currency_code);
    if let Some(spend) = fields.remove("spend") {
        match (&code, range(spend)) {
            (Some(code), Some(r)) => m.ad.spend.push(SpendRange {
                currency: code.clone(),
                lower: r.lower,
                upper: r.upper,
            }),
            _ => {
                m.keep_unnormalized("spend", value(spend));
                if let Some(c) = currency {
                    m.keep("currency", value(c));
                }
            }
        }
    } else if let Some(c) = currency {
        if code.is_none() {
            m.keep_unnormalized("currency", value(c));
        }
    }
    if let Some(raw) = fields.remove("impressions") {
        match range(raw) {
            Some(r) => m.ad.impressions = Some(r),
            None => m.keep_unnormalized("impressions", value(raw)),
        }
    }
    for key in ["estimated_audience_size", "potential_reach"] {
        if let Some(raw) = fields.remove(key) {
            match range(raw) {
                Some(r) if m.ad.audience_size.is_none() => m.ad.audience_size = Some(r),
                Some(_) => m.keep(key, value(raw)),
                None => m.keep_unnormalized(key, value(raw)),
            }
        }
    }

    if let Some(raw) = fields.remove("demographic_distribution") {
        match age_gender_shares(raw) {
            Some(shares) => m.ad.delivery.age_gender = shares,
            None => m.keep_unnormalized("demographic_distribution", value(raw)),
        }
    }
    for key in ["delivery_by_region", "region_distribution"] {
        if let Some(raw) = fields.remove(key) {
            match region_shares(raw) {
                Some(shares) if m.ad.delivery.regions.is_empty() => m.ad.delivery.regions = shares,
                Some(_) => m.keep(key, value(raw)),
                None => m.keep_unnormalized(key, value(raw)),
            }
        }
    }

    if let Some(raw) = fields.remove("languages") {
        let mut codes = Vec::new();
        let ok = parse::<Vec<Cow<'_, str>>>(raw).is_some_and(|items| {
            items.iter().all(|l| match language_code(l) {
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
            m.keep_unnormalized("languages", value(raw));
        }
    }

    if let Some(raw) = fields.remove("target_ages") {
        let mut ages = Vec::new();
        if collect_strings(raw, &mut ages) {
            m.ad.targeting.ages = ages;
        } else {
            m.keep_unnormalized("target_ages", value(raw));
        }
    }
    if let Some(raw) = fields.remove("target_gender") {
        match parse::<Cow<'_, str>>(raw).as_deref() {
            Some("All" | "all") => {}
            Some(g) => m.ad.targeting.genders = vec![crate::normalize::gender(g)],
            None => m.keep_unnormalized("target_gender", value(raw)),
        }
    }
    if let Some(raw) = fields.remove("target_locations") {
        if !map_target_locations(&mut m, raw) {
            m.keep_unnormalized("target_locations", value(raw));
        }
    }

    // Everything else (ad_creation_time, publisher_platforms, reach
    // breakdowns, fields of future API versions) is kept verbatim.
    for (key, raw) in fields {
        let v = value(raw);
        if !v.is_null() {
            m.keep(&key, v);
        }
    }
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
    serde_json::from_str(raw.get()).ok()
}

/// A field as a JSON value, to keep verbatim.
fn value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

fn take_string(fields: &mut Fields<'_>, key: &str) -> Option<String> {
    let raw = *fields.get(key)?;
    match parse::<Option<Cow<'_, str>>>(raw) {
        Some(Some(s)) if !s.trim().is_empty() => {
            fields.remove(key);
            Some(s.into_owned())
        }
        Some(_) => {
            fields.remove(key);
            None
        }
        // Not a string: left in place, to be kept verbatim.
        None => None,
    }
}

/// An id that may be a string or a number.
fn take_id(fields: &mut Fields<'_>, key: &str) -> Option<String> {
    let raw = *fields.get(key)?;
    let id = match parse::<NumberOrText<'_>>(raw)? {
        NumberOrText::Number(n) if n.is_u64() => n.to_string(),
        NumberOrText::Text(s) if is_ad_id(&s) => s.into_owned(),
        _ => return None,
    };
    fields.remove(key);
    Some(id)
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
fn collect_strings(raw: &RawValue, out: &mut Vec<String>) -> bool {
    if let Some(list) = parse::<Option<Vec<Cow<'_, str>>>>(raw) {
        out.extend(list.unwrap_or_default().into_iter().map(Cow::into_owned));
        return true;
    }
    match parse::<Cow<'_, str>>(raw) {
        Some(s) => {
            out.push(s.into_owned());
            true
        }
        None => false,
    }
}

/// Meta sends numbers as strings; accept both.
enum NumberOrText<'a> {
    Number(serde_json::Number),
    Text(Cow<'a, str>),
}

// By hand rather than `#[serde(untagged)]`, which buffers each value and
// builds (and formats) an error for every string before trying the second
// variant: a tenth of the time spent reading Meta's pages.
impl<'de: 'a, 'a> Deserialize<'de> for NumberOrText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = NumberOrText<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number or a string")
            }

            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(NumberOrText::Number(n.into()))
            }

            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(NumberOrText::Number(n.into()))
            }

            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Self::Value, E> {
                serde_json::Number::from_f64(n)
                    .map(NumberOrText::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(NumberOrText::Text(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(NumberOrText::Text(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(NumberOrText::Text(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_any(Either)
    }
}

impl NumberOrText<'_> {
    fn whole(&self) -> Option<u64> {
        match self {
            NumberOrText::Text(s) => whole_number(s),
            NumberOrText::Number(n) => n.as_u64(),
        }
    }

    fn fraction(&self) -> Option<f64> {
        let f = match self {
            NumberOrText::Text(s) => s.trim().parse::<f64>().ok()?,
            NumberOrText::Number(n) => n.as_f64()?,
        };
        (f.is_finite() && (0.0..=1.0).contains(&f)).then_some(f)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bounds<'a> {
    #[serde(borrow, default)]
    lower_bound: Option<NumberOrText<'a>>,
    #[serde(borrow, default)]
    upper_bound: Option<NumberOrText<'a>>,
}

/// `{"lower_bound":"300","upper_bound":"399"}`; the top bucket has no upper bound.
fn range(raw: &RawValue) -> Option<CountRange> {
    let bounds: Bounds<'_> = parse(raw)?;
    let lower = match &bounds.lower_bound {
        Some(v) => v.whole()?,
        None => 0,
    };
    let upper = match &bounds.upper_bound {
        Some(v) => Some(v.whole()?),
        None => None,
    };
    if upper.is_some_and(|u| u < lower) {
        return None;
    }
    Some(CountRange { lower, upper })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeGender<'a> {
    #[serde(borrow)]
    age: Cow<'a, str>,
    #[serde(borrow)]
    gender: Cow<'a, str>,
    #[serde(borrow)]
    percentage: NumberOrText<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Region<'a> {
    #[serde(borrow)]
    region: Cow<'a, str>,
    #[serde(borrow)]
    percentage: NumberOrText<'a>,
}

fn age_gender_shares(raw: &RawValue) -> Option<Vec<AgeGenderShare>> {
    parse::<Vec<AgeGender<'_>>>(raw)?
        .into_iter()
        .map(|item| {
            Some(AgeGenderShare {
                share: item.percentage.fraction()?,
                age: item.age.into_owned(),
                gender: item.gender.into_owned(),
            })
        })
        .collect()
}

fn region_shares(raw: &RawValue) -> Option<Vec<RegionShare>> {
    parse::<Vec<Region<'_>>>(raw)?
        .into_iter()
        .map(|item| {
            Some(RegionShare {
                share: item.percentage.fraction()?,
                region: item.region.into_owned(),
            })
        })
        .collect()
}

/// `[{"payer":"…","beneficiary":"…","current":true}]`. The list is also
/// kept verbatim, since it carries more than the two names.
fn map_beneficiary_payers(m: &mut Mapping, raw: &RawValue) {
    let v = value(raw);
    let Some(items) = v.as_array() else {
        m.keep_unnormalized("beneficiary_payers", v);
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
        m.keep_unnormalized("beneficiary_payers", v);
        return;
    }
    m.ad.payers = payers;
    m.ad.beneficiaries = beneficiaries;
    m.keep("beneficiary_payers", v);
}

/// `[{"name":"Ohio","type":"region","excluded":false,"num_obfuscated":0}]`:
/// names to the targeting lists, the list itself kept verbatim for its
/// location types.
fn map_target_locations(m: &mut Mapping, raw: &RawValue) -> bool {
    let v = value(raw);
    let Some(items) = v.as_array() else {
        return false;
    };
    let mut included = Vec::new();
    let mut excluded = Vec::new();
    for item in items {
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return false;
        };
        let is_excluded = item
            .get("excluded")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        push_unique(
            if is_excluded {
                &mut excluded
            } else {
                &mut included
            },
            name,
        );
    }
    m.ad.targeting.locations_included = included;
    m.ad.targeting.locations_excluded = excluded;
    m.keep("target_locations", v);
    true
}
