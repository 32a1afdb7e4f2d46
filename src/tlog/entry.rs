//! The text of one log entry: what was archived, when, and how it was read.

use crate::archive::SourceEntry;

/// The first line of every entry, naming its format.
const MAGIC: &str = "adarchive source v1";

/// A file name longer than this is cut in the entry (the blake3 names the
/// bytes; the name is a help for people), so that every entry fits the
/// 65,535 bytes of a C2SP entry bundle.
const NAME_LIMIT: usize = 1024;

/// One archived source as the log records it.
///
/// ```
/// use adarchive::tlog::LogEntry;
/// let entry = LogEntry {
///     blake3: "ab".repeat(32),
///     size: 1234,
///     name: "creative_stats.csv".into(),
///     format: "google-creative-stats".into(),
///     importer: "google-creative-stats".into(),
///     importer_version: "3".into(),
///     archived_at: "2026-11-03T09:00:00Z".into(),
///     original_blake3: None,
/// };
/// let text = entry.to_bytes();
/// assert!(text.starts_with(b"adarchive source v1\nblake3 abab"));
/// assert_eq!(LogEntry::parse(&text), Some(entry));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// blake3 of the stored bytes, hex.
    pub blake3: String,
    /// Size of the stored bytes.
    pub size: u64,
    /// The name it was first archived under (a JSON string in the text,
    /// so that no name can add a line).
    pub name: String,
    /// Its format (`zip` for a bundle).
    pub format: String,
    /// The importer that read it.
    pub importer: String,
    /// That importer's version (`-` when none applies).
    pub importer_version: String,
    /// When it was archived, RFC 3339 UTC.
    pub archived_at: String,
    /// For a redacted copy: blake3 of the file as published.
    pub original_blake3: Option<String>,
}

impl LogEntry {
    /// The entry for a manifest entry.
    pub fn of(source: &SourceEntry) -> LogEntry {
        let mut name = source.names.first().cloned().unwrap_or_default();
        if name.len() > NAME_LIMIT {
            let mut cut = NAME_LIMIT;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
            name.push('…');
        }
        LogEntry {
            blake3: source.blake3.clone(),
            size: source.size,
            name,
            format: source.format.clone(),
            importer: source.format.clone(),
            importer_version: source
                .importer_version
                .clone()
                .unwrap_or_else(|| "-".into()),
            archived_at: source.imported_at.to_string(),
            original_blake3: source.original_blake3.clone(),
        }
    }

    /// Its text, as logged and hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let name = serde_json::to_string(&self.name).unwrap_or_else(|_| "\"\"".into());
        let mut text = format!(
            "{MAGIC}\nblake3 {}\nsize {}\nname {name}\nformat {}\nimporter {} {}\narchived {}\n",
            self.blake3,
            self.size,
            one_word(&self.format),
            one_word(&self.importer),
            one_word(&self.importer_version),
            self.archived_at,
        );
        if let Some(original) = &self.original_blake3 {
            text.push_str(&format!("original-blake3 {original}\n"));
        }
        text.into_bytes()
    }

    /// Reads an entry's text; `None` when it is not one.
    pub fn parse(text: &[u8]) -> Option<LogEntry> {
        let text = std::str::from_utf8(text).ok()?;
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != MAGIC {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .map(str::to_owned)
        };
        let blake3 = field("blake3")?;
        let size = field("size")?.parse().ok()?;
        let name = serde_json::from_str(&field("name")?).ok()?;
        let format = field("format")?;
        let (importer, importer_version) = {
            let both = field("importer")?;
            let (a, b) = both.split_once(' ')?;
            (a.to_owned(), b.to_owned())
        };
        let archived_at = field("archived")?;
        let original_blake3 = field("original-blake3");
        if lines.next().is_some() {
            return None;
        }
        Some(LogEntry {
            blake3,
            size,
            name,
            format,
            importer,
            importer_version,
            archived_at,
            original_blake3,
        })
    }
}

/// Names and versions come from the program, but one word each keeps the
/// text unambiguous whatever they become.
fn one_word(text: &str) -> String {
    let word: String = text
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    if word.is_empty() {
        "-".into()
    } else {
        word
    }
}
