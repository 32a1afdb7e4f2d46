//! Mapping one JSON object field by field: each field is taken once, so what
//! is left at the end is exactly what the schema has no place for, and it
//! goes to `unmapped` verbatim.

use serde_json::{Map, Value};

use crate::json_objects::{for_each_object, Item};
use crate::mapping::Mapping;
use crate::{Entry, Locator, Problem};

/// The fields of one JSON object not yet mapped.
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    /// Fields of `value` when it is an object.
    pub fn of(value: Value) -> Option<Fields> {
        match value {
            Value::Object(map) => Some(Fields(map)),
            _ => None,
        }
    }

    /// Removes `key`; `null` counts as absent.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|v| !v.is_null())
    }

    /// Removes `key` when it holds text or a number, returned trimmed as a
    /// string; empty text counts as absent. Any other value stays, to be
    /// kept verbatim.
    pub fn take_text(&mut self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => {
                let text = s.trim().to_owned();
                self.0.remove(key);
                (!text.is_empty()).then_some(text)
            }
            Value::Number(n) => {
                let text = n.to_string();
                self.0.remove(key);
                Some(text)
            }
            Value::Null => {
                self.0.remove(key);
                None
            }
            _ => None,
        }
    }

    /// Removes `key` when it holds an object. Any other value stays.
    pub fn take_object(&mut self, key: &str) -> Option<Fields> {
        match self.0.get(key)? {
            Value::Object(_) => self.take(key).and_then(Fields::of),
            _ => None,
        }
    }

    /// Removes `key` when it holds an array. Any other value stays.
    pub fn take_array(&mut self, key: &str) -> Option<Vec<Value>> {
        match self.0.get(key)? {
            Value::Array(_) => match self.0.remove(key) {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            },
            _ => None,
        }
    }

    /// The fields not taken, as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// Keeps every field not taken in `unmapped`, each under `prefix.key`
    /// (or `key` without a prefix).
    pub fn keep_rest(self, prefix: Option<&str>, m: &mut Mapping) {
        for (key, value) in self.0 {
            if value.is_null() {
                continue;
            }
            match prefix {
                Some(p) => m.keep(&format!("{p}.{key}"), value),
                None => m.keep(&key, value),
            }
        }
    }
}

/// Text of a JSON value that is a string or a number.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A whole non-negative count from a JSON number or numeric string.
pub(crate) fn count_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => crate::normalize::whole_number(s),
        _ => None,
    }
}

/// The fields of the object `raw`, or the problem that says why it has none.
pub(crate) fn parse_object(locator: Locator, raw: &[u8]) -> Result<Fields, Problem<'_>> {
    let problem = |reason: String| Problem {
        locator,
        raw,
        field: None,
        reason,
    };
    let text = std::str::from_utf8(raw).map_err(|e| {
        problem(format!(
            "invalid UTF-8 at byte {} of the object",
            e.valid_up_to()
        ))
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Fields::of(value).ok_or_else(|| problem("not a JSON object".into())),
        Err(e) => Err(problem(format!(
            "not a valid JSON object (line {} column {} of the object): {e}",
            e.line(),
            e.column()
        ))),
    }
}

/// Reads every item object of `input` (see [`for_each_object`]), handing
/// `sink` each as `map_object` maps it, or the damage found instead.
pub(crate) fn read_mapped_objects(
    input: &mut dyn std::io::Read,
    containers: &[&str],
    sink: &mut crate::Sink<'_>,
    map_object: fn(Locator, &[u8]) -> Entry<'_>,
) -> Result<(), crate::ReadError> {
    for_each_object(input, containers, |item| {
        let entry = match item {
            Item::Object { locator, raw } => map_object(locator, raw),
            damaged => match malformed(damaged) {
                Some(entry) => entry,
                None => return Ok(()),
            },
        };
        sink(entry).map_err(crate::ReadError::Sink)
    })
}

/// The problem entry for a damaged stretch the splitter reported.
pub(crate) fn malformed(item: Item<'_>) -> Option<Entry<'_>> {
    match item {
        Item::Malformed {
            locator,
            raw,
            reason,
        } => Some(Entry::Problem(Problem {
            locator,
            raw,
            field: None,
            reason,
        })),
        Item::Object { .. } => None,
    }
}

/// A problem naming `field` for the object at `locator`.
pub(crate) fn field_problem<'a>(
    locator: Locator,
    raw: &'a [u8],
    field: &str,
    reason: String,
) -> Entry<'a> {
    Entry::Problem(Problem {
        locator,
        raw,
        field: Some(field.to_owned()),
        reason,
    })
}

/// Where `inner`, a slice of `outer_raw`, sits in the file, given where
/// `outer_raw` sits.
pub(crate) fn locate_within(outer: Locator, outer_raw: &[u8], inner: &[u8]) -> Locator {
    let start = (inner.as_ptr() as usize)
        .saturating_sub(outer_raw.as_ptr() as usize)
        .min(outer_raw.len());
    let newlines = memchr::memchr_iter(b'\n', &outer_raw[..start]).count() as u64;
    Locator {
        line: outer.line + newlines,
        byte_start: outer.byte_start + start as u64,
        byte_end: outer.byte_start + (start + inner.len()) as u64,
    }
}

/// A percentage such as `"17.3%"`, `"91.54"` or `91.54` as a fraction.
pub(crate) fn percent_share(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().trim_end_matches('%').trim().parse().ok()?,
        _ => return None,
    };
    // Rounded to a millionth, as precise as any platform publishes, so that
    // `91.54` becomes 0.9154 and not 0.9154000000000001.
    (n.is_finite() && (0.0..=100.0).contains(&n)).then(|| (n * 10_000.0).round() / 1_000_000.0)
}
