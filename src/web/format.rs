//! Numbers, money, dates and links written for people. Every text here is
//! plain: the templates escape it when they show it.

use adarchive_schema::{CountRange, SpendRange, Timestamp};

/// `2702` → `2,702`.
///
/// ```
/// use adarchive::web::format::thousands;
/// assert_eq!(thousands(2702), "2,702");
/// assert_eq!(thousands(1_000_000), "1,000,000");
/// assert_eq!(thousands(7), "7");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 ad`, `2,702 ads`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The symbol people read for a currency, where one is unambiguous;
/// otherwise the code is written after the amount.
fn symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "EUR" => "€",
        "USD" => "US$",
        "GBP" => "£",
        "INR" => "₹",
        "JPY" => "¥",
        "ILS" => "₪",
        "KRW" => "₩",
        "TRY" => "₺",
        "THB" => "฿",
        _ => return None,
    })
}

fn money(code: &str, amount: u64) -> String {
    match symbol(code) {
        Some(symbol) => format!("{symbol}{}", thousands(amount)),
        None => format!("{} {code}", thousands(amount)),
    }
}

/// A published spend range, with an open top bucket written honestly.
///
/// ```
/// use adarchive::web::format::spend;
/// use adarchive_schema::SpendRange;
/// let open = SpendRange { currency: "EUR".into(), lower: 100_000, upper: None };
/// assert_eq!(spend(&open), "€100,000 or more");
/// let range = SpendRange { currency: "HUF".into(), lower: 0, upper: Some(30_000) };
/// assert_eq!(spend(&range), "0 HUF – 30,000 HUF");
/// assert_eq!(spend(&SpendRange::exact("USD", 40)), "US$40");
/// ```
pub fn spend(range: &SpendRange) -> String {
    match range.upper {
        None => format!("{} or more", money(&range.currency, range.lower)),
        Some(upper) if upper == range.lower => money(&range.currency, upper),
        Some(upper) => format!(
            "{} – {}",
            money(&range.currency, range.lower),
            money(&range.currency, upper)
        ),
    }
}

/// A count range (impressions, reach).
///
/// ```
/// use adarchive::web::format::count_range;
/// use adarchive_schema::CountRange;
/// assert_eq!(count_range(&CountRange { lower: 10_000, upper: Some(100_000) }), "10,000 – 100,000");
/// assert_eq!(count_range(&CountRange { lower: 1_000_000, upper: None }), "1,000,000 or more");
/// ```
pub fn count_range(range: &CountRange) -> String {
    match range.upper {
        None => format!("{} or more", thousands(range.lower)),
        Some(upper) if upper == range.lower => thousands(upper),
        Some(upper) => format!("{} – {}", thousands(range.lower), thousands(upper)),
    }
}

/// A day, stated as UTC: `2024-11-03`.
pub fn day(t: &Timestamp) -> String {
    let d = t.as_offset_date_time().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A moment, stated as UTC: `2024-11-03 14:05 UTC`.
pub fn moment(t: &Timestamp) -> String {
    let t = t.as_offset_date_time();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// When an ad ran: `2024-10-01 – 2024-11-03 (UTC)`, or still running.
pub fn shown(first: Option<&Timestamp>, last: Option<&Timestamp>) -> String {
    match (first, last) {
        (Some(a), Some(b)) => format!("{} – {} (UTC)", day(a), day(b)),
        (Some(a), None) => format!("since {} (UTC), still running", day(a)),
        (None, Some(b)) => format!("until {} (UTC)", day(b)),
        (None, None) => "dates not published".into(),
    }
}

/// A link anyone may follow: only `http` and `https` addresses become
/// links; anything else (`javascript:`, `data:`) stays text.
///
/// ```
/// use adarchive::web::format::safe_url;
/// assert!(safe_url("https://www.facebook.com/ads/library/?id=1").is_some());
/// assert!(safe_url("javascript:alert(1)").is_none());
/// assert!(safe_url(" JaVaScRiPt:alert(1)").is_none());
/// assert!(safe_url("data:text/html,x").is_none());
/// ```
pub fn safe_url(text: &str) -> Option<String> {
    let text = text.trim();
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let allowed = lower.starts_with("https://") || lower.starts_with("http://");
    (allowed && !text.chars().any(|c| c.is_control() || c.is_whitespace())).then(|| text.to_owned())
}

/// At most `chars` characters of `text`, cut at a character, with `…`.
pub fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A share (0..1) as a percentage: `12.5 %`.
pub fn percent(share: f64) -> String {
    if share.is_finite() {
        format!("{:.1} %", share * 100.0)
    } else {
        "–".into()
    }
}
