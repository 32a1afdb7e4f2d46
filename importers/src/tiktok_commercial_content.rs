//! TikTok Commercial Content API: ad query pages
//! (`{"data":{"ads":[{"ad":…,"advertiser":…}],"has_more","search_id"},"error":…}`)
//! and ad detail replies (`{"data":{"ad":…,"advertiser":…,"ad_group":…},"error":…}`),
//! alone, in arrays or as JSON Lines, and the `{"ad":…,"advertiser":…}`
//! items of query pages kept on their own (arrays or JSON Lines).
//!
//! Dates are `YYYYMMDD` integers; reach is a bucket string (`11K`, `0-10K`,
//! `100K+`). The documentation names the payer both `paid_for_by` and
//! `paid_by`: either is the funder. A reply whose `error.code` is not `ok`
//! is refused whole, with the API's message. Each page is held in memory
//! while it is mapped (the API returns at most 50 ads per page).

use std::io::Read;

use adarchive_schema::{Ad, MediaType, Platform};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::json_fields::{
    count_of, field_problem, locate_within, malformed, parse_object, text_of, Fields,
};
use crate::json_objects::{for_each_object, Item};
use crate::mapping::{push_unique, Mapping};
use crate::normalize::{count_bucket, country_code, timestamp};
use crate::sniff::{contains, starts_json};
use crate::{Entry, Importer, Locator, ParsedRecord, ReadError, Sink};

/// The TikTok Commercial Content API importer.
pub struct TikTokCommercialContent;

const NAME: &str = "tiktok-commercial-content";

impl Importer for TikTokCommercialContent {
    fn platform(&self) -> Option<adarchive_schema::Platform> {
        Some(adarchive_schema::Platform::Tiktok)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> &'static str {
        "1"
    }

    fn description(&self) -> &'static str {
        "TikTok Commercial Content API JSON (ad query pages and ad detail replies)"
    }

    fn media_type(&self) -> &'static str {
        "application/json"
    }

    fn detect(&self, head: &[u8]) -> bool {
        let ad_fields = contains(head, b"\"first_shown_date\"")
            || contains(head, b"\"business_id\"")
            || contains(head, b"\"unique_users_seen\"");
        starts_json(head)
            && ((contains(head, b"\"data\"")
                && (ad_fields
                    || (contains(head, b"\"ads\"") && contains(head, b"\"search_id\""))
                    || (contains(head, b"\"error\"") && contains(head, b"\"log_id\""))))
                || (contains(head, b"\"ad\"") && ad_fields))
    }

    fn read(&self, input: &mut dyn Read, sink: &mut Sink<'_>) -> Result<(), ReadError> {
        for_each_object(input, &[], |item| match item {
            Item::Object { locator, raw } => read_reply(locator, raw, sink),
            damaged => match malformed(damaged) {
                Some(entry) => sink(entry).map_err(ReadError::Sink),
                None => Ok(()),
            },
        })
    }
}

/// A reply, with the ads left as their exact bytes.
#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(borrow, default)]
    ad: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    log_id: Option<String>,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, default)]
    ads: Option<Vec<&'a RawValue>>,
}

fn read_reply(locator: Locator, raw: &[u8], sink: &mut Sink<'_>) -> Result<(), ReadError> {
    let mut emit = |entry| sink(entry).map_err(ReadError::Sink);
    let Ok(text) = std::str::from_utf8(raw) else {
        // Let the shared parser word the problem.
        return match parse_object(locator, raw) {
            Err(problem) => emit(Entry::Problem(problem)),
            Ok(_) => Ok(()),
        };
    };
    let reply: Reply<'_> = match serde_json::from_str(text) {
        Ok(reply) => reply,
        Err(e) => {
            return emit(field_problem(
                locator,
                raw,
                "data",
                format!(
                    "not a Commercial Content API reply (line {} column {} of the object): {e}",
                    e.line(),
                    e.column()
                ),
            ))
        }
    };
    if let Some(error) = &reply.error {
        let code = error.code.as_deref().unwrap_or("");
        if code != "ok" {
            return emit(field_problem(
                locator,
                raw,
                "error.code",
                format!(
                    "the API answered `{code}`: {} (log_id {})",
                    error.message.as_deref().unwrap_or("no message"),
                    error.log_id.as_deref().unwrap_or("none"),
                ),
            ));
        }
    }
    let Some(data) = reply.data else {
        // Collectors keep `data.ads[]` items on their own: one per line or
        // in an array.
        if reply.error.is_none() && reply.ad.is_some() {
            return emit(map_ad(locator, raw));
        }
        return emit(field_problem(
            locator,
            raw,
            "data",
            "neither a reply with `data` nor an ad item with `ad`".into(),
        ));
    };
    match serde_json::from_str::<Page<'_>>(data.get()) {
        Ok(Page { ads: Some(ads) }) => {
            for ad in ads {
                let at = locate_within(locator, raw, ad.get().as_bytes());
                let bytes = &raw[(at.byte_start - locator.byte_start) as usize
                    ..(at.byte_end - locator.byte_start) as usize];
                emit(map_ad(at, bytes))?;
            }
            Ok(())
        }
        // A detail reply: `data` is the ad itself.
        _ => {
            let at = locate_within(locator, raw, data.get().as_bytes());
            let bytes = &raw[(at.byte_start - locator.byte_start) as usize
                ..(at.byte_end - locator.byte_start) as usize];
            emit(map_ad(at, bytes))
        }
    }
}

/// Maps one `{"ad":…,"advertiser":…,"ad_group":…}` object.
fn map_ad(locator: Locator, raw: &[u8]) -> Entry<'_> {
    let mut fields = match parse_object(locator, raw) {
        Ok(f) => f,
        Err(problem) => return Entry::Problem(problem),
    };
    let mut ad = fields.take_object("ad");
    let Some(id) = ad.as_mut().and_then(|a| a.take_text("id")) else {
        return field_problem(locator, raw, "ad.id", "the ad has no `ad.id`".into());
    };
    let mut m = Mapping::new(Ad::new(Platform::Tiktok, &id));
    if let Some(ad) = ad {
        map_ad_block(&mut m, ad);
    }
    if let Some(advertiser) = fields.take_object("advertiser") {
        map_advertiser(&mut m, advertiser);
    }
    if let Some(mut group) = fields.take_object("ad_group") {
        if let Some(targeting) = group.take_object("targeting_info") {
            map_targeting(&mut m, targeting);
        }
        group.keep_rest(Some("ad_group"), &mut m);
    }
    fields.keep_rest(None, &mut m);
    Entry::Record(ParsedRecord {
        locator,
        raw,
        ad: m.ad,
        unnormalized: m.unnormalized,
    })
}

fn map_ad_block(m: &mut Mapping, mut ad: Fields) {
    for (key, first) in [("first_shown_date", true), ("last_shown_date", false)] {
        if let Some(text) = ad.take_text(key) {
            m.shown(first, timestamp(&text), &format!("ad.{key}"), text);
        }
    }
    if let Some(title) = ad.take_text("title") {
        m.ad.creative.titles.push(title);
    }
    if let Some(url) = ad.take_text("external_url") {
        m.ad.creative.link_urls.push(url);
    }
    // Media URLs are kept as published (they expire); the kind of media is
    // what the schema records.
    let has_video = ad
        .take_array("videos")
        .map(|videos| {
            let any = !videos.is_empty();
            if any {
                m.keep("ad.videos", videos);
            }
            any
        })
        .unwrap_or(false);
    let has_image = ad
        .take_array("image_urls")
        .map(|images| {
            let any = !images.is_empty();
            if any {
                m.keep("ad.image_urls", images);
            }
            any
        })
        .unwrap_or(false);
    m.ad.creative.media_type = if has_video {
        Some(MediaType::Video)
    } else if has_image {
        Some(MediaType::Image)
    } else {
        None
    };
    if let Some(mut reach) = ad.take_object("reach") {
        if let Some(bucket) = reach.take_text("unique_users_seen") {
            match count_bucket(&bucket) {
                Some(r) => m.ad.reach = Some(r),
                None => m.keep_unnormalized("ad.reach.unique_users_seen", bucket),
            }
        }
        if let Some(by_country) = reach.take_object("unique_users_seen_by_country") {
            let by_country = Value::Object(by_country.into_map());
            if let Value::Object(map) = &by_country {
                for code in map.keys() {
                    if let Some(iso) = country_code(code) {
                        push_unique(&mut m.ad.countries, iso);
                    }
                }
            }
            m.keep("ad.reach.unique_users_seen_by_country", by_country);
        }
        reach.keep_rest(Some("ad.reach"), m);
    }
    ad.keep_rest(Some("ad"), m);
}

fn map_advertiser(m: &mut Mapping, mut advertiser: Fields) {
    m.ad.advertiser.id = advertiser.take_text("business_id");
    if let Some(name) = advertiser.take_text("business_name") {
        // Some replies carry the business id where the name belongs: kept,
        // and flagged so that nobody reads it as a name.
        if name.bytes().all(|b| b.is_ascii_digit()) {
            m.keep(
                "flags",
                vec!["advertiser.business_name is numeric, not a name"],
            );
        }
        m.ad.advertiser.name = Some(name);
    }
    let paid_for_by = advertiser.take_text("paid_for_by");
    let paid_by = advertiser.take_text("paid_by");
    match (paid_for_by, paid_by) {
        (Some(a), Some(b)) if a != b => {
            m.ad.funder = Some(a);
            m.keep("advertiser.paid_by", b);
        }
        (a, b) => m.ad.funder = a.or(b),
    }
    advertiser.keep_rest(Some("advertiser"), m);
}

fn map_targeting(m: &mut Mapping, mut targeting: Fields) {
    if let Some(countries) = targeting.take_array("country") {
        for c in &countries {
            match text_of(c).as_deref().and_then(country_code) {
                Some(code) => {
                    push_unique(&mut m.ad.targeting.locations_included, code);
                    push_unique(&mut m.ad.countries, code);
                }
                None => m.keep_item_unnormalized("ad_group.targeting_info.country", c.clone()),
            }
        }
    }
    if let Some(ages) = targeting.take_object("age") {
        m.ad.targeting.ages = chosen(m, "age", ages);
    }
    if let Some(genders) = targeting.take_object("gender") {
        m.ad.targeting.genders = chosen(m, "gender", genders)
            .iter()
            .map(|g| match g.as_str() {
                "other_genders" => "other".to_owned(),
                other => crate::normalize::gender(other),
            })
            .collect();
    }
    if let Some(users) = targeting.take("number_of_users_targeted") {
        match count_of(&users)
            .map(adarchive_schema::CountRange::exact)
            .or_else(|| text_of(&users).as_deref().and_then(count_bucket))
        {
            Some(r) => m.ad.audience_size = Some(r),
            None => m.keep_unnormalized("ad_group.targeting_info.number_of_users_targeted", users),
        }
    }
    for key in ["interest", "interests"] {
        if let Some(value) = targeting.take(key) {
            match value {
                Value::Array(items) => {
                    for item in items {
                        match text_of(&item) {
                            Some(t) => push_unique(&mut m.ad.targeting.interests, &t),
                            None => m.keep_item(&format!("ad_group.targeting_info.{key}"), item),
                        }
                    }
                }
                other => match text_of(&other) {
                    Some(t) => push_unique(&mut m.ad.targeting.interests, &t),
                    None => m.keep_item(&format!("ad_group.targeting_info.{key}"), other),
                },
            }
        }
    }
    // Everything else TikTok targets by becomes `targeting.other`, as text.
    for (key, value) in targeting.into_map() {
        if value.is_null() {
            continue;
        }
        let items: Vec<String> = match &value {
            Value::Array(items) => items.iter().map(value_text).collect(),
            Value::Object(map) => map
                .iter()
                .filter(|(_, v)| v.as_bool() != Some(false))
                .map(|(k, v)| match v {
                    Value::Bool(true) => k.clone(),
                    other => format!("{k}: {}", value_text(other)),
                })
                .collect(),
            other => vec![value_text(other)],
        };
        m.ad.targeting.other.insert(key, items);
    }
}

/// The keys of an object of flags (`{"18-24":true,"25-34":false}`) that are
/// set; a value that is not a flag is kept verbatim.
fn chosen(m: &mut Mapping, key: &str, flags: Fields) -> Vec<String> {
    let mut set = Vec::new();
    for (name, value) in flags.into_map() {
        match value {
            Value::Bool(true) => set.push(name),
            Value::Bool(false) | Value::Null => {}
            other => m.keep_unnormalized(&format!("ad_group.targeting_info.{key}.{name}"), other),
        }
    }
    set
}

fn value_text(value: &Value) -> String {
    text_of(value).unwrap_or_else(|| value.to_string())
}
