use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{to_canonical_json, RecordHash};
use crate::timestamp::Timestamp;

/// Declares the platforms, one line each: variant, uid prefix (also its
/// name in the schema and in filters), display name, and what it is.
macro_rules! platforms {
    ( $( $variant:ident, $prefix:literal, $display:literal, $doc:literal; )* ) => {
        /// The platform whose ad library published an ad. Its name is the prefix of
        /// every uid: `google:CR524874621665673216`, `meta:1234567890`, `snap:0001…`.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
        )]
        pub enum Platform {
            $( #[doc = $doc] #[serde(rename = $prefix)] $variant, )*
        }

        impl Platform {
            /// Every platform, in uid-prefix order of documentation.
            pub const ALL: [Platform; [$( $prefix ),*].len()] = [ $( Platform::$variant, )* ];

            /// The uid prefix, e.g. `google`.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( Platform::$variant => $prefix, )*
                }
            }

            /// The name people know it by, e.g. `Google Ads Transparency Center`.
            pub fn display_name(&self) -> &'static str {
                match self {
                    $( Platform::$variant => $display, )*
                }
            }
        }
    };
}

platforms! {
    Google, "google", "Google", "Google political ads (transparency report bundle).";
    Meta, "meta", "Meta", "Meta (Facebook, Instagram) Ad Library.";
    Snap, "snap", "Snap", "Snap Political Ads Library.";
    Microsoft, "microsoft", "Microsoft", "Microsoft Advertising Ad Library.";
    Tiktok, "tiktok", "TikTok", "TikTok Commercial Content library.";
    Linkedin, "linkedin", "LinkedIn", "LinkedIn Ad Library.";
    X, "x", "X", "X (Twitter) political ads disclosure.";
    GoogleAtc, "google-atc", "Google Ads Transparency Center", "Google Ads Transparency Center (DSA repository).";
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown platform `{s}`"))
    }
}

/// What kind of creative an ad is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// Text only.
    Text,
    /// A still image.
    Image,
    /// Video.
    Video,
    /// Audio.
    Audio,
    /// Several cards or items.
    Carousel,
}

/// An amount spent in one currency, as the range the platform published.
///
/// `lower == upper` means the platform gave an exact figure; `upper: None`
/// means the top bucket, open-ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpendRange {
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// Lower bound in whole units of the currency.
    pub lower: u64,
    /// Upper bound in whole units; absent for an open-ended top bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<u64>,
}

impl SpendRange {
    /// An exact amount.
    pub fn exact(currency: &str, amount: u64) -> Self {
        SpendRange {
            currency: currency.to_owned(),
            lower: amount,
            upper: Some(amount),
        }
    }
}

/// A count (impressions, audience size) as the range the platform published.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CountRange {
    /// Lower bound, inclusive.
    pub lower: u64,
    /// Upper bound, inclusive; absent for an open-ended top bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<u64>,
}

impl CountRange {
    /// An exact count.
    pub fn exact(n: u64) -> Self {
        CountRange {
            lower: n,
            upper: Some(n),
        }
    }
}

/// Who ran the ad, as the platform identifies them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Advertiser {
    /// The platform's advertiser or page id (`AR…` on Google, page id on Meta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The advertiser or page name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the ad showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Creative {
    /// Body texts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bodies: Vec<String>,
    /// Link captions (often a domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<String>,
    /// Link descriptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<String>,
    /// Landing-page URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_urls: Vec<String>,
    /// Kind of creative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// Where the platform shows the ad, without any credential in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_url: Option<String>,
    /// Link titles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<String>,
}

/// Whom the advertiser asked the platform to reach.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Targeting {
    /// Age brackets as published (`18-24`, `65+`, `18+`); `unknown` for the platform's unknown-age bucket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ages: Vec<String>,
    /// `female`, `male`, `unknown`, or the platform's own label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genders: Vec<String>,
    /// Interest categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interests: Vec<String>,
    /// Locations excluded, as named by the platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations_excluded: Vec<String>,
    /// Locations targeted, as named by the platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations_included: Vec<String>,
    /// Any other criterion, by the platform's own name for it (`segments`,
    /// `radius_included`, `postal_codes_excluded`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, Vec<String>>,
}

/// Share of an ad's delivery that reached one age and gender group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgeGenderShare {
    /// Age bracket, e.g. `25-34`.
    pub age: String,
    /// Gender label, e.g. `female`.
    pub gender: String,
    /// Fraction between 0 and 1.
    pub share: f64,
}

/// Share of an ad's delivery that reached one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegionShare {
    /// Region name as published.
    pub region: String,
    /// Fraction between 0 and 1.
    pub share: f64,
}

/// How the platform says the ad was actually delivered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// Age × gender shares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub age_gender: Vec<AgeGenderShare>,
    /// Region shares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionShare>,
}

/// One political ad, normalized from any platform's export.
///
/// Fields are declared in alphabetical order, which makes serde's output
/// the canonical JSON directly (see [`Ad::canonical_json`]).
///
/// Fields a platform does not publish are absent (`None` or empty). Values in
/// the source that have no place here, or could not be normalized, are kept
/// verbatim in [`Ad::unmapped`] under the source's own field name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ad {
    /// Who ran the ad.
    #[serde(default)]
    pub advertiser: Advertiser,
    /// Estimated audience size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_size: Option<CountRange>,
    /// Beneficiaries, where the platform lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beneficiaries: Vec<String>,
    /// Countries where the ad ran or was listed, ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// The creative.
    #[serde(default)]
    pub creative: Creative,
    /// Delivery distributions.
    #[serde(default)]
    pub delivery: Delivery,
    /// When the ad was first shown (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_shown: Option<Timestamp>,
    /// The funding entity, "paid for by" line or disclaimer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder: Option<String>,
    /// Impressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impressions: Option<CountRange>,
    /// Languages, ISO 639-1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// When the ad was last shown (UTC); absent while it still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_shown: Option<Timestamp>,
    /// Payers, where the platform lists them apart from the funder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payers: Vec<String>,
    /// The publishing platform.
    pub platform: Platform,
    /// The platform's own id for the ad.
    pub platform_ad_id: String,
    /// Unique people who saw the ad, as published (a range or a bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<CountRange>,
    /// Regions the platform lists the ad under that are not countries (`EU`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Spend, one range per currency the platform published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spend: Vec<SpendRange>,
    /// Targeting criteria.
    #[serde(default)]
    pub targeting: Targeting,
    /// `<platform>:<platform_ad_id>`.
    pub uid: String,
    /// Source fields kept verbatim: platform-specific fields and values that
    /// could not be normalized, by the source's own field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmapped: BTreeMap<String, Value>,
}

impl Ad {
    /// An empty ad with its identity set.
    pub fn new(platform: Platform, platform_ad_id: &str) -> Self {
        Ad {
            uid: format!("{platform}:{platform_ad_id}"),
            platform,
            platform_ad_id: platform_ad_id.to_owned(),
            advertiser: Advertiser::default(),
            funder: None,
            payers: Vec::new(),
            beneficiaries: Vec::new(),
            creative: Creative::default(),
            countries: Vec::new(),
            regions: Vec::new(),
            languages: Vec::new(),
            first_shown: None,
            last_shown: None,
            spend: Vec::new(),
            impressions: None,
            audience_size: None,
            reach: None,
            targeting: Targeting::default(),
            delivery: Delivery::default(),
            unmapped: BTreeMap::new(),
        }
    }

    /// The record's canonical JSON: sorted keys, no whitespace, absent
    /// fields omitted. Equal to [`crate::canonical_json`] of the record's
    /// JSON value, but written in one pass: every struct here declares its
    /// fields in alphabetical order and every map is a `BTreeMap`.
    pub fn canonical_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        // An Ad holds only strings, integers, finite floats and maps with
        // string keys, all of which serde_json writes without error.
        if serde_json::to_writer(&mut out, self).is_err() || !self.unmapped_is_canonical() {
            return to_canonical_json(self).unwrap_or_default();
        }
        out
    }

    /// Whether nested objects in `unmapped` already iterate in sorted key
    /// order (they do unless serde_json's `preserve_order` is enabled).
    fn unmapped_is_canonical(&self) -> bool {
        fn sorted(v: &Value) -> bool {
            match v {
                Value::Object(map) => {
                    map.keys()
                        .zip(map.keys().skip(1))
                        .all(|(a, b)| a.as_bytes() < b.as_bytes())
                        && map.values().all(sorted)
                }
                Value::Array(items) => items.iter().all(sorted),
                _ => true,
            }
        }
        self.unmapped.values().all(sorted)
    }

    /// `blake3(canonical_json)`.
    pub fn record_hash(&self) -> RecordHash {
        RecordHash::of(&self.canonical_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_long_floats_hash_the_same_after_decoding() {
        // Decoding must give back the very same f64, or a record read from
        // the archive would hash differently from the one stored.
        let mut ad = Ad::new(Platform::Linkedin, "1");
        for share in [91.54 / 100.0, 0.1 + 0.2, 1.0 / 3.0, 2.0e-7 / 3.0] {
            ad.delivery.regions.push(RegionShare {
                region: "DE".into(),
                share,
            });
        }
        let canonical = ad.canonical_json();
        let decoded: Ad = serde_json::from_slice(&canonical).unwrap();
        assert_eq!(decoded.record_hash(), ad.record_hash());
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }

    #[test]
    fn canonical_json_omits_absent_fields_and_round_trips() {
        let mut ad = Ad::new(Platform::Google, "CR1");
        ad.spend.push(SpendRange {
            currency: "EUR".into(),
            lower: 50,
            upper: None,
        });
        let json = ad.canonical_json();
        let text = String::from_utf8(json.clone()).unwrap();
        assert_eq!(
            text,
            r#"{"advertiser":{},"creative":{},"delivery":{},"platform":"google","platform_ad_id":"CR1","spend":[{"currency":"EUR","lower":50}],"targeting":{},"uid":"google:CR1"}"#
        );
        let back: Ad = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, ad);
        assert_eq!(back.record_hash(), ad.record_hash());
    }

    #[test]
    fn one_pass_serialization_is_canonical() {
        let mut ad = Ad::new(Platform::Meta, "42");
        ad.funder = Some("Ünïcode \"quoted\"".into());
        ad.creative.bodies = vec!["b".into(), "a".into()];
        ad.spend.push(SpendRange::exact("USD", 3));
        ad.impressions = Some(CountRange {
            lower: 1,
            upper: None,
        });
        ad.delivery.age_gender.push(AgeGenderShare {
            age: "18-24".into(),
            gender: "female".into(),
            share: 0.001114,
        });
        ad.delivery.regions.push(RegionShare {
            region: "Ohio".into(),
            share: 0.5,
        });
        ad.targeting
            .other
            .insert("segments".into(), vec!["x".into()]);
        ad.unmapped.insert(
            "z".into(),
            serde_json::json!({"b": [1, {"d": 1, "c": 2}], "a": null}),
        );
        ad.unmapped.insert("a".into(), "v".into());
        let generic = crate::canonical_json(&serde_json::to_value(&ad).unwrap());
        assert_eq!(
            String::from_utf8(ad.canonical_json()).unwrap(),
            String::from_utf8(generic).unwrap()
        );
    }

    #[test]
    fn any_change_changes_the_hash() {
        let ad = Ad::new(Platform::Meta, "1");
        let mut other = ad.clone();
        other.impressions = Some(CountRange::exact(0));
        assert_ne!(ad.record_hash(), other.record_hash());
    }
}
