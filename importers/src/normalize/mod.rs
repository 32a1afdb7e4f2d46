//! Turning the many spellings platforms use into the schema's normal forms:
//! ISO country, language and currency codes, UTC timestamps, ranges, lists.
//!
//! Every function returns `None` when a value cannot be normalized; the
//! importer then keeps the value verbatim in `unmapped` and counts it.

mod tables;

use adarchive_schema::{CountRange, Timestamp};
use time::macros::format_description;
use time::{Date, PrimitiveDateTime};

/// ISO 3166-1 alpha-2 code for a code or an English country name, any case.
///
/// ```
/// use adarchive_importers::normalize::country_code;
/// assert_eq!(country_code("united states"), Some("US"));
/// assert_eq!(country_code("nl"), Some("NL"));
/// assert_eq!(country_code("Czech Republic"), Some("CZ"));
/// assert_eq!(country_code("slovakia (slovak republic)"), Some("SK"));
/// assert_eq!(country_code("Atlantis"), None);
/// ```
pub fn country_code(value: &str) -> Option<&'static str> {
    let trimmed = value.trim();
    if trimmed.len() == 2 {
        let upper = trimmed.to_ascii_uppercase();
        if let Ok(i) = tables::COUNTRY_CODES.binary_search(&upper.as_str()) {
            return Some(tables::COUNTRY_CODES[i]);
        }
    }
    let by_name = |name: &str| {
        let folded = fold_name(name);
        tables::COUNTRY_NAMES
            .binary_search_by(|(known, _)| known.cmp(&folded.as_str()))
            .ok()
            .map(|i| tables::COUNTRY_NAMES[i].1)
    };
    by_name(trimmed).or_else(|| {
        // `slovakia (slovak republic)`, `falkland islands (malvinas)`: the
        // name before the parenthesis, else the one inside it.
        let (outside, inside) = trimmed.split_once('(')?;
        let inside = inside.strip_suffix(')')?;
        by_name(outside).or_else(|| by_name(inside))
    })
}

fn fold_name(value: &str) -> String {
    let lower = value.to_lowercase().replace(',', " ");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// ISO 639-1 code for a two-letter language code, any case.
///
/// ```
/// use adarchive_importers::normalize::language_code;
/// assert_eq!(language_code("EN"), Some("en"));
/// assert_eq!(language_code("english"), None);
/// ```
pub fn language_code(value: &str) -> Option<&'static str> {
    let lower = value.trim().to_ascii_lowercase();
    tables::LANGUAGE_CODES
        .binary_search(&lower.as_str())
        .ok()
        .map(|i| tables::LANGUAGE_CODES[i])
}

/// An ISO 4217 code: three ASCII letters, returned upper-case.
///
/// ```
/// use adarchive_importers::normalize::currency_code;
/// assert_eq!(currency_code("thb"), Some("THB".to_string()));
/// assert_eq!(currency_code("€"), None);
/// ```
pub fn currency_code(value: &str) -> Option<String> {
    let trimmed = value.trim();
    (trimmed.len() == 3 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| trimmed.to_ascii_uppercase())
}

/// Parses the timestamp and date spellings the ad libraries use, as UTC:
/// RFC 3339, `2019-05-13T15:30:13+0000`, `2020-09-25 16:30:00`,
/// `2020/09/09 21:57:05Z`, BigQuery's `2022-01-14 05:00:00 UTC` and
/// pandas' `2022-01-14 05:00:00+00:00` (fractions of a second dropped), bare
/// dates `2021-12-08`, and the dates spreadsheet programs write when only
/// one reading is possible (see [`spreadsheet_date`]).
///
/// ```
/// use adarchive_importers::normalize::timestamp;
/// let t = timestamp("2020/09/09 21:57:05Z").unwrap();
/// assert_eq!(t.to_string(), "2020-09-09T21:57:05Z");
/// assert_eq!(timestamp("2019-05-13T15:30:13+0000").unwrap().to_string(), "2019-05-13T15:30:13Z");
/// assert_eq!(timestamp("2022-01-14 05:00:00+00:00").unwrap().to_string(), "2022-01-14T05:00:00Z");
/// assert_eq!(timestamp("2022-01-14 05:00:00.250 UTC").unwrap().to_string(), "2022-01-14T05:00:00Z");
/// assert_eq!(timestamp("2021-12-08").unwrap().to_string(), "2021-12-08T00:00:00Z");
/// assert_eq!(timestamp("5/27/2018").unwrap().to_string(), "2018-05-27T00:00:00Z");
/// assert!(timestamp("6/3/2018").is_none(), "3 June or 6 March");
/// assert!(timestamp("yesterday").is_none());
/// ```
pub fn timestamp(value: &str) -> Option<Timestamp> {
    let v = value.trim();
    timestamp_by_shape(v).or_else(|| match spreadsheet_date(v) {
        Some(SpreadsheetDate::One(t)) => Some(t),
        _ => None,
    })
}

/// The forms of [`timestamp`] whose shape alone says how to read them,
/// without the spreadsheet forms: for dates people type as parameters
/// (`--from`, `from=`), where `27/5/2018` is more likely a typing slip than
/// a date.
///
/// ```
/// use adarchive_importers::normalize::timestamp_by_shape;
/// assert!(timestamp_by_shape("2018-05-27").is_some());
/// assert!(timestamp_by_shape("5/27/2018").is_none());
/// ```
pub fn timestamp_by_shape(value: &str) -> Option<Timestamp> {
    let v = value.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(v) {
        return Some(t);
    }
    let offset_formats = [
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
        ),
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
        ),
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][offset_minute]"
        ),
    ];
    for fmt in offset_formats {
        if let Ok(t) = time::OffsetDateTime::parse(v, &fmt) {
            return Some(Timestamp::from_offset_date_time(t));
        }
    }
    let naive_formats = [
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]/[month]/[day] [hour]:[minute]:[second]Z"),
        format_description!("[year]/[month]/[day] [hour]:[minute]:[second]"),
        format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]] UTC"
        ),
    ];
    for fmt in naive_formats {
        if let Ok(t) = PrimitiveDateTime::parse(v, &fmt) {
            return Some(Timestamp::from_offset_date_time(t.assume_utc()));
        }
    }
    let date_formats = [
        format_description!("[year]-[month]-[day]"),
        format_description!("[year]/[month]/[day]"),
        format_description!("[year][month][day]"),
    ];
    for fmt in date_formats {
        if let Ok(d) = Date::parse(v, &fmt) {
            return Some(Timestamp::from_date(d));
        }
    }
    None
}

/// How a date re-saved by a spreadsheet program reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpreadsheetDate {
    /// Only one reading is a date (or both readings are the same day).
    One(Timestamp),
    /// `6/3/2018`: month first (as US spreadsheets write) or day first (as
    /// most others do) are both dates; the caller must choose.
    Either {
        /// The month-first reading.
        month_first: Timestamp,
        /// The day-first reading.
        day_first: Timestamp,
    },
}

/// A date as spreadsheet programs write it when they re-save a file:
/// `5/27/2018` or `27/5/2018` (slashes, month or day first, both tried),
/// `27.05.2018` (dots: always day first), each optionally followed by a
/// time `13:05` or `13:05:09`, read as UTC.
///
/// ```
/// use adarchive_importers::normalize::{spreadsheet_date, SpreadsheetDate};
/// let one = |v| match spreadsheet_date(v) {
///     Some(SpreadsheetDate::One(t)) => Some(t.to_string()),
///     _ => None,
/// };
/// assert_eq!(one("5/27/2018").as_deref(), Some("2018-05-27T00:00:00Z"));
/// assert_eq!(one("27/5/2018").as_deref(), Some("2018-05-27T00:00:00Z"));
/// assert_eq!(one("27.05.2018 13:05").as_deref(), Some("2018-05-27T13:05:00Z"));
/// assert_eq!(one("7/7/2018").as_deref(), Some("2018-07-07T00:00:00Z"));
/// assert!(matches!(spreadsheet_date("6/3/2018"), Some(SpreadsheetDate::Either { .. })));
/// assert!(spreadsheet_date("13/13/2018").is_none());
/// assert!(spreadsheet_date("2018-05-27").is_none());
/// ```
pub fn spreadsheet_date(value: &str) -> Option<SpreadsheetDate> {
    let v = value.trim();
    let (date, clock) = match v.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (v, None),
    };
    let time_of_day = match clock {
        None => time::Time::MIDNIGHT,
        Some(t) => {
            let mut parts = t.split(':');
            let hour: u8 = parts.next()?.parse().ok()?;
            let minute: u8 = parts.next()?.parse().ok()?;
            let second: u8 = match parts.next() {
                Some(s) => s.parse().ok()?,
                None => 0,
            };
            if parts.next().is_some() {
                return None;
            }
            time::Time::from_hms(hour, minute, second).ok()?
        }
    };
    let (separator, day_first_only) = if date.contains('/') {
        ('/', false)
    } else if date.contains('.') {
        ('.', true)
    } else {
        return None;
    };
    let mut parts = date.split(separator);
    let (a, b, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || year.len() != 4
        || !(1..=2).contains(&a.len())
        || !(1..=2).contains(&b.len())
    {
        return None;
    }
    let (a, b, year): (u8, u8, i32) = (a.parse().ok()?, b.parse().ok()?, year.parse().ok()?);
    let on = |month: u8, day: u8| {
        let month = time::Month::try_from(month).ok()?;
        let date = Date::from_calendar_date(year, month, day).ok()?;
        Some(Timestamp::from_offset_date_time(
            PrimitiveDateTime::new(date, time_of_day).assume_utc(),
        ))
    };
    let day_first = on(b, a);
    if day_first_only {
        return day_first.map(SpreadsheetDate::One);
    }
    match (on(a, b), day_first) {
        (Some(m), Some(d)) if m == d => Some(SpreadsheetDate::One(m)),
        (Some(month_first), Some(day_first)) => Some(SpreadsheetDate::Either {
            month_first,
            day_first,
        }),
        (Some(one), None) | (None, Some(one)) => Some(SpreadsheetDate::One(one)),
        (None, None) => None,
    }
}

/// A targeted gender in the schema's words: `male`, `female`, `unknown`,
/// any other value lower-cased as published.
///
/// ```
/// use adarchive_importers::normalize::gender;
/// assert_eq!(gender("Women"), "female");
/// assert_eq!(gender("Unknown gender"), "unknown");
/// assert_eq!(gender(" Male "), "male");
/// ```
pub fn gender(value: &str) -> String {
    let lower = value.trim().to_lowercase();
    match lower.as_str() {
        "unknown gender" | "unknown" => "unknown".into(),
        "men" => "male".into(),
        "women" => "female".into(),
        _ => lower,
    }
}

/// A placeholder the platforms print for "no value".
pub fn is_placeholder(value: &str) -> bool {
    matches!(
        value.trim(),
        "" | "N/A" | "n/a" | "NA" | "na" | "Na" | "null" | "NULL" | "None"
    )
}

/// A whole, non-negative number such as `1000`, `1,000` or `1000.0`.
///
/// ```
/// use adarchive_importers::normalize::whole_number;
/// assert_eq!(whole_number("1,500"), Some(1500));
/// assert_eq!(whole_number("12.0"), Some(12));
/// assert_eq!(whole_number("12.5"), None);
/// ```
pub fn whole_number(value: &str) -> Option<u64> {
    let v = value.trim();
    let cleaned: String = v.chars().filter(|c| *c != ',' && *c != '_').collect();
    if let Ok(n) = cleaned.parse::<u64>() {
        return Some(n);
    }
    let (int, frac) = cleaned.split_once('.')?;
    (!int.is_empty() && frac.bytes().all(|b| b == b'0'))
        .then(|| int.parse::<u64>().ok())
        .flatten()
}

/// A count with an optional `k`/`K`, `M` or `B` suffix: `10k` → 10,000.
fn scaled_count(value: &str) -> Option<u64> {
    let v = value.trim();
    let (digits, factor) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1_000),
        (i, 'm' | 'M') => (&v[..i], 1_000_000),
        (i, 'b' | 'B') => (&v[..i], 1_000_000_000),
        _ => (v, 1),
    };
    let digits = digits.trim();
    if let Some(n) = whole_number(digits) {
        return n.checked_mul(factor);
    }
    let f: f64 = digits.parse().ok()?;
    (f.is_finite() && f >= 0.0).then(|| (f * factor as f64).round() as u64)
}

/// A count bucket as printed by the libraries: `≤ 10k`, `10k-100k`,
/// `> 10M`, `10000-15000`, `100K+`, `<1K`, or an exact number.
///
/// ```
/// use adarchive_importers::normalize::count_bucket;
/// use adarchive_schema::CountRange;
/// assert_eq!(count_bucket("≤ 10k"), Some(CountRange { lower: 0, upper: Some(10_000) }));
/// assert_eq!(count_bucket("10k-100k"), Some(CountRange { lower: 10_000, upper: Some(100_000) }));
/// assert_eq!(count_bucket("> 10M"), Some(CountRange { lower: 10_000_000, upper: None }));
/// assert_eq!(count_bucket("10000-15000"), Some(CountRange { lower: 10_000, upper: Some(15_000) }));
/// assert_eq!(count_bucket("lots"), None);
/// ```
pub fn count_bucket(value: &str) -> Option<CountRange> {
    let v = value.trim();
    for prefix in ["≤", "<=", "<"] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return Some(CountRange {
                lower: 0,
                upper: Some(scaled_count(rest)?),
            });
        }
    }
    for prefix in ["≥", ">=", ">"] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return Some(CountRange {
                lower: scaled_count(rest)?,
                upper: None,
            });
        }
    }
    if let Some(rest) = v.strip_suffix('+') {
        return Some(CountRange {
            lower: scaled_count(rest)?,
            upper: None,
        });
    }
    if let Some((low, high)) = v.split_once('-') {
        let (lower, upper) = (scaled_count(low)?, scaled_count(high)?);
        return (lower <= upper).then_some(CountRange {
            lower,
            upper: Some(upper),
        });
    }
    scaled_count(v).map(CountRange::exact)
}

/// Splits a list cell on `separator`, never inside parentheses, trimming
/// items and dropping empty ones.
///
/// ```
/// use adarchive_importers::normalize::split_list;
/// let items = split_list("Education (Bachelor Degree),Occupation (Business, Finance or Mgmt)", ",");
/// assert_eq!(items, ["Education (Bachelor Degree)", "Occupation (Business, Finance or Mgmt)"]);
/// assert_eq!(split_list("23237,Virginia,United States, Ohio", ", "), ["23237,Virginia,United States", "Ohio"]);
/// ```
pub fn split_list(cell: &str, separator: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let bytes = cell.as_bytes();
    let sep = separator.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && bytes[i..].starts_with(sep) {
            items.push(&cell[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += 1;
    }
    items.push(&cell[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_tables_are_sorted_for_binary_search() {
        assert!(tables::COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(tables::COUNTRY_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(tables::LANGUAGE_CODES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn snap_country_names() {
        for (name, code) in [
            ("united kingdom", "GB"),
            ("kuwait", "KW"),
            ("qatar", "QA"),
            ("united arab emirates", "AE"),
            ("norway", "NO"),
            ("netherlands", "NL"),
        ] {
            assert_eq!(country_code(name), Some(code), "{name}");
        }
    }

    #[test]
    fn buckets_reject_inverted_ranges() {
        assert_eq!(count_bucket("100-10"), None);
        assert_eq!(count_bucket("11K"), Some(CountRange::exact(11_000)));
        assert_eq!(count_bucket("100K+").unwrap().upper, None);
        assert_eq!(count_bucket("<1K").unwrap().upper, Some(1_000));
    }

    #[test]
    fn timestamps_reject_impossible_dates() {
        assert!(timestamp("2020-02-30").is_none());
        assert!(timestamp("2020-13-01 00:00:00").is_none());
        assert_eq!(
            timestamp("20210101").unwrap().to_string(),
            "2021-01-01T00:00:00Z"
        );
    }
}

#[cfg(test)]
mod country_name_tests {
    use super::*;

    /// Country names as Snap's library prints them: lower-case English
    /// short names of the older ISO 3166 list, parentheses and inverted
    /// `, republic of` forms included.
    #[test]
    fn snap_country_names() {
        let names = [
            ("slovakia (slovak republic)", "SK"),
            ("holy see (vatican city state)", "VA"),
            ("falkland islands (malvinas)", "FK"),
            ("sint maarten (dutch part)", "SX"),
            ("saint martin (french part)", "MF"),
            ("korea, republic of", "KR"),
            ("korea, democratic people's republic of", "KP"),
            ("iran, islamic republic of", "IR"),
            ("moldova, republic of", "MD"),
            ("tanzania, united republic of", "TZ"),
            ("micronesia, federated states of", "FM"),
            ("macedonia, the former yugoslav republic of", "MK"),
            ("congo, the democratic republic of the", "CD"),
            ("bolivia, plurinational state of", "BO"),
            ("venezuela, bolivarian republic of", "VE"),
            ("palestinian territory, occupied", "PS"),
            ("taiwan, province of china", "TW"),
            ("virgin islands, british", "VG"),
            ("virgin islands, u.s.", "VI"),
            ("libyan arab jamahiriya", "LY"),
            ("lao people's democratic republic", "LA"),
            ("syrian arab republic", "SY"),
            ("russian federation", "RU"),
            ("viet nam", "VN"),
            ("brunei darussalam", "BN"),
            ("cote d'ivoire", "CI"),
            ("côte d'ivoire", "CI"),
            ("cape verde", "CV"),
            ("swaziland", "SZ"),
            ("czechia", "CZ"),
            ("czech republic", "CZ"),
            ("bosnia and herzegovina", "BA"),
            ("timor-leste", "TL"),
            ("united states", "US"),
            ("united kingdom", "GB"),
            ("united arab emirates", "AE"),
            ("netherlands", "NL"),
            ("norway", "NO"),
            ("turkey", "TR"),
            ("south africa", "ZA"),
            ("new zealand", "NZ"),
            ("hong kong", "HK"),
            ("macao", "MO"),
            ("reunion", "RE"),
            ("curacao", "CW"),
        ];
        let missing: Vec<_> = names
            .iter()
            .filter(|(name, code)| country_code(name) != Some(code))
            .map(|(name, code)| format!("{name} → {:?}, not {code}", country_code(name)))
            .collect();
        assert!(missing.is_empty(), "{missing:#?}");
        assert_eq!(country_code("atlantis (lost)"), None);
        assert_eq!(country_code("(slovak republic"), None);
    }
}
