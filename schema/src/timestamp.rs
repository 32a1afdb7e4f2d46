use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time, always stored and printed in UTC as RFC 3339
/// (`2020-09-25T16:30:00Z`).
///
/// ```
/// use adarchive_schema::Timestamp;
/// let t = Timestamp::parse_rfc3339("2019-05-13T15:30:13+02:00").unwrap();
/// assert_eq!(t.to_string(), "2019-05-13T13:30:13Z");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A timestamp that is not in a form adarchive reads.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is not a recognised date or timestamp")]
pub struct TimestampError {
    /// The value as it was given.
    pub value: String,
}

impl Timestamp {
    /// Wraps a time, converting it to UTC.
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        Timestamp(
            t.to_offset(UtcOffset::UTC)
                .replace_nanosecond(0)
                .unwrap_or(t),
        )
    }

    /// Midnight UTC at the start of `date`.
    pub fn from_date(date: Date) -> Self {
        Timestamp(date.midnight().assume_utc())
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The wrapped time (UTC).
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Parses an RFC 3339 timestamp, any offset.
    pub fn parse_rfc3339(value: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(value, &Rfc3339)
            .map(Self::from_offset_date_time)
            .map_err(|_| TimestampError {
                value: value.to_owned(),
            })
    }

    /// From a naive date-time that the source documents as UTC.
    pub fn from_utc_primitive(t: PrimitiveDateTime) -> Self {
        Timestamp(t.assume_utc())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "UTC time as RFC 3339, e.g. 2020-09-25T16:30:00Z"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let t = Timestamp::parse_rfc3339("2020-09-25T16:30:00Z").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2020-09-25T16:30:00Z\"");
        let back: Timestamp = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn drops_sub_second_precision() {
        let t = Timestamp::parse_rfc3339("2020-09-25T16:30:00.75Z").unwrap();
        assert_eq!(t.to_string(), "2020-09-25T16:30:00Z");
    }
}
