//! Removal of credentials from source bytes before they are stored.
//!
//! Meta's `ad_snapshot_url` and paging links carry an `access_token` query
//! parameter: somebody's credential. The archive never stores one: every
//! byte it keeps passes through [`Redactor`], which replaces the value of
//! every credential parameter or key ([`CREDENTIAL_KEYS`]) by [`MARKER`].
//! The key is matched whatever its case, and the separator after it however
//! it was escaped: `access_token=…`, `ACCESS_TOKEN=…`, `access_token%3D…`
//! (and `%253D…`, a URL inside a URL), `access_token\u003d…` (JSON),
//! `"access_token":"…"` and `\"access_token\": \"…\"` (a JSON key, or one
//! inside a JSON string). The redaction is a pure function of the bytes, so
//! anyone holding the original file can reproduce the stored copy exactly,
//! and it is idempotent: redacting a redacted copy changes nothing.
//!
//! [`CredentialScanner`] then looks at what is about to be stored for
//! anything still shaped like a live token (Meta's `EAA…` access tokens,
//! TikTok's `act.…`/`clt.…` tokens) outside such a key; a file in which it
//! finds one is refused rather than stored.

use std::io::{self, Write};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What every token value becomes.
pub const MARKER: &[u8] = b"REDACTED";

/// Parameter and key names whose values are credentials.
pub const CREDENTIAL_KEYS: &[&str] = &[
    "access_token",
    "client_secret",
    "appsecret_proof",
    "refresh_token",
];

/// The longest separator (`"` + spaces + `:` + spaces + `"`, each possibly
/// escaped) looked at after a key; past it, the key was just a word.
const MAX_SEPARATOR: usize = 96;

/// Bytes of one chunk collected before they go to the inner writer.
const OUT_CHUNK: usize = 64 * 1024;

/// The key spellings to look for: each key with its `_` written as is,
/// percent-encoded or JSON-escaped; matched ASCII case-insensitively.
fn anchors() -> &'static (AhoCorasick, usize) {
    static ANCHORS: OnceLock<(AhoCorasick, usize)> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        let mut patterns = Vec::new();
        for key in CREDENTIAL_KEYS {
            for underscore in ["_", "%5f", "\\u005f"] {
                patterns.push(key.replace('_', underscore));
            }
        }
        let longest = patterns.iter().map(String::len).max().unwrap_or(0);
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .unwrap_or_else(|e| panic!("the credential key patterns are fixed and valid: {e}"));
        (automaton, longest)
    })
}

/// Bytes a token value is made of. `%` stays in, since tokens arrive
/// percent-encoded; an encoded `&` ends the value (see [`Redactor`]).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'~' | b'%' | b'|' | b'+' | b'/' | b'='
        )
}

/// One character read through the escapes a URL or JSON may put on it.
enum Decoded {
    /// The character and how many bytes spell it.
    Char(u8, usize),
    /// The bytes end before the character does.
    More,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reads one character at `buf[i]`: as is, `%XX` (also `%25XX`,
/// `%2525XX`…: percent-encoding applied more than once), `\uXXXX` below
/// 0x80 and `\"`, `\'` with any number of backslashes. An escape that does
/// not decode is read as its first byte.
fn decode_at(buf: &[u8], i: usize, eof: bool) -> Decoded {
    let more = |end: usize| !eof && end >= buf.len();
    match buf[i] {
        b'%' => {
            let mut j = i + 1;
            loop {
                let (Some(&h), Some(&l)) = (buf.get(j), buf.get(j + 1)) else {
                    return if more(j + 2) {
                        Decoded::More
                    } else {
                        Decoded::Char(b'%', 1)
                    };
                };
                match (hex_value(h), hex_value(l)) {
                    (Some(2), Some(5)) if buf.get(j + 2).is_some_and(|b| b.is_ascii_hexdigit()) => {
                        j += 2
                    }
                    (Some(2), Some(5)) if more(j + 3) => return Decoded::More,
                    (Some(h), Some(l)) => return Decoded::Char(h * 16 + l, j + 2 - i),
                    _ => return Decoded::Char(b'%', 1),
                }
            }
        }
        b'\\' => {
            let mut j = i;
            while j < buf.len() && buf[j] == b'\\' && j - i < 16 {
                j += 1;
            }
            match buf.get(j) {
                None if more(j + 1) => Decoded::More,
                Some(b'"') | Some(b'\'') => Decoded::Char(buf[j], j + 1 - i),
                Some(b'n') | Some(b'r') | Some(b't') => Decoded::Char(b' ', j + 1 - i),
                Some(b'u') | Some(b'U') => {
                    let digits = buf.get(j + 1..j + 5);
                    match digits {
                        None if more(j + 5) => Decoded::More,
                        Some(d) => {
                            let mut value = 0u32;
                            for &b in d {
                                match hex_value(b) {
                                    Some(v) => value = value * 16 + u32::from(v),
                                    None => return Decoded::Char(b'\\', 1),
                                }
                            }
                            match u8::try_from(value) {
                                Ok(c) if c.is_ascii() => Decoded::Char(c, j + 5 - i),
                                _ => Decoded::Char(b'\\', 1),
                            }
                        }
                        None => Decoded::Char(b'\\', 1),
                    }
                }
                _ => Decoded::Char(b'\\', 1),
            }
        }
        b => Decoded::Char(b, 1),
    }
}

/// What follows a key.
enum Separator {
    /// A separator: the value starts at this offset.
    Value(usize),
    /// Not a key with a value (a word in a text, `"access_token": null`).
    None,
    /// The bytes end before this can be told.
    More,
}

/// Reads the separator after a key ending at `i`: `=` (however escaped),
/// or a closing quote, `:` and an opening quote (however escaped, with
/// white space between).
fn separator(buf: &[u8], i: usize, eof: bool) -> Separator {
    let limit = i + MAX_SEPARATOR;
    let mut at = i;
    let next = |at: &mut usize| -> Option<Option<u8>> {
        if *at >= buf.len() || *at >= limit {
            return if eof || *at >= limit {
                Some(None)
            } else {
                None
            };
        }
        match decode_at(buf, *at, eof) {
            Decoded::More => None,
            Decoded::Char(c, len) => {
                *at += len;
                Some(Some(c))
            }
        }
    };
    macro_rules! read {
        () => {
            match next(&mut at) {
                None => return Separator::More,
                Some(None) => return Separator::None,
                Some(Some(c)) => c,
            }
        };
    }
    let first = read!();
    match first {
        b'=' => Separator::Value(at),
        b'"' | b'\'' => {
            let mut c = read!();
            while matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                c = read!();
            }
            if c != b':' {
                return Separator::None;
            }
            c = read!();
            while matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                c = read!();
            }
            if matches!(c, b'"' | b'\'') {
                Separator::Value(at)
            } else {
                Separator::None
            }
        }
        _ => Separator::None,
    }
}

/// Where a token value starting at `i` ends: at the first byte that
/// cannot be part of it, or an encoded `&` (`%26`, `%2526`…).
enum ValueEnd {
    At(usize),
    More(usize),
}

fn value_end(buf: &[u8], mut i: usize, eof: bool) -> ValueEnd {
    while i < buf.len() {
        let b = buf[i];
        if b == b'%' {
            match decode_at(buf, i, eof) {
                Decoded::More => return ValueEnd::More(i),
                Decoded::Char(b'&', _) => return ValueEnd::At(i),
                Decoded::Char(..) => i += 1,
            }
        } else if is_token_byte(b) {
            i += 1;
        } else {
            return ValueEnd::At(i);
        }
    }
    if eof {
        ValueEnd::At(i)
    } else {
        ValueEnd::More(i)
    }
}

/// A writer that replaces every credential value in everything written
/// through it, across any chunk boundaries.
///
/// ```
/// use std::io::Write;
/// use adarchive_importers::redact::Redactor;
/// let mut out = Redactor::new(Vec::new());
/// out.write_all(b"\"u\":\"https://x/?id=1&ACCESS_tok").unwrap();
/// out.write_all(b"en%3DEAAB12%26y=2\",\"access_token\": \"EAAC9\"").unwrap();
/// let (bytes, tokens) = out.finish().unwrap();
/// assert_eq!(
///     bytes,
///     b"\"u\":\"https://x/?id=1&ACCESS_token%3DREDACTED%26y=2\",\"access_token\": \"REDACTED\""
/// );
/// assert_eq!(tokens, 2);
/// ```
pub struct Redactor<W> {
    inner: W,
    /// Bytes read but not yet decided on (a key whose separator has not
    /// arrived, a value that may go on).
    pending: Vec<u8>,
    in_value: bool,
    /// Bytes of the current value, and whether they are the marker so far.
    value_len: usize,
    value_is_marker: bool,
    tokens: u64,
    replaced: u64,
    out: Vec<u8>,
}

impl<W: Write> Redactor<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Redactor {
            inner,
            pending: Vec::new(),
            in_value: false,
            value_len: 0,
            value_is_marker: true,
            tokens: 0,
            replaced: 0,
            out: Vec::with_capacity(OUT_CHUNK),
        }
    }

    /// Credential values that were not already the marker: what a scan of
    /// bytes that should hold no credential reports.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Decides on every byte written so far, as at the end of the input,
    /// and returns [`Redactor::replaced`]: for a scan, whose output is
    /// thrown away.
    pub fn replaced_at_end(mut self) -> u64 {
        self.process(true);
        self.replaced
    }

    /// Flushes and returns the inner writer and how many credential values
    /// were replaced (a value that already was the marker counts too).
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.process(true);
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok((self.inner, self.tokens))
    }

    /// Drops the value bytes `buf[from..to]`, noting whether they spell
    /// the marker.
    fn skip_value(&mut self, buf: &[u8]) {
        for &b in buf {
            if self.value_len >= MARKER.len() || MARKER[self.value_len] != b {
                self.value_is_marker = false;
            }
            self.value_len += 1;
        }
    }

    fn end_value(&mut self) {
        if !(self.value_is_marker && self.value_len == MARKER.len()) {
            self.replaced += 1;
        }
        self.in_value = false;
    }

    /// Decides on as much of `pending` as can be decided; at `eof`, on all.
    fn process(&mut self, eof: bool) {
        let buf = std::mem::take(&mut self.pending);
        let (anchors, longest) = anchors();
        let mut i = 0;
        loop {
            if self.in_value {
                match value_end(&buf, i, eof) {
                    ValueEnd::At(end) => {
                        self.skip_value(&buf[i..end]);
                        self.end_value();
                        i = end;
                    }
                    ValueEnd::More(end) => {
                        self.skip_value(&buf[i..end]);
                        self.pending = buf[end..].to_vec();
                        return;
                    }
                }
            }
            let Some(found) = anchors.find(&buf[i..]) else {
                let keep = if eof {
                    buf.len()
                } else {
                    buf.len().saturating_sub(longest - 1).max(i)
                };
                self.out.extend_from_slice(&buf[i..keep]);
                self.pending = buf[keep..].to_vec();
                return;
            };
            let (start, end) = (i + found.start(), i + found.end());
            match separator(&buf, end, eof) {
                Separator::Value(value) => {
                    self.out.extend_from_slice(&buf[i..value]);
                    self.out.extend_from_slice(MARKER);
                    self.tokens += 1;
                    self.in_value = true;
                    self.value_len = 0;
                    self.value_is_marker = true;
                    i = value;
                }
                Separator::None => {
                    self.out.extend_from_slice(&buf[i..start + 1]);
                    i = start + 1;
                }
                Separator::More => {
                    self.out.extend_from_slice(&buf[i..start]);
                    self.pending = buf[start..].to_vec();
                    return;
                }
            }
        }
    }
}

impl<W: Write> Write for Redactor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.process(false);
        if self.out.len() >= OUT_CHUNK {
            self.inner.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Undecided bytes stay pending: flushing must not change the output.
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()
    }
}

/// Redacts one text, for names and values shown outside a stored file.
///
/// ```
/// use adarchive_importers::redact::redact_text;
/// assert_eq!(redact_text("a?Access_Token=abc&b=1"), "a?Access_Token=REDACTED&b=1");
/// ```
pub fn redact_text(text: &str) -> String {
    let mut redactor = Redactor::new(Vec::with_capacity(text.len()));
    // Writing to a vector cannot fail.
    let _ = redactor.write_all(text.as_bytes());
    match redactor.finish() {
        Ok((bytes, _)) => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(_) => String::new(),
    }
}

/// Whether a query parameter (`name=value`, the name possibly
/// percent-encoded) names a credential.
fn is_credential_parameter(parameter: &str) -> bool {
    let name = parameter.split('=').next().unwrap_or(parameter);
    let name = name.replace("%5f", "_").replace("%5F", "_");
    CREDENTIAL_KEYS
        .iter()
        .any(|key| name.eq_ignore_ascii_case(key))
}

/// Removes credential parameters from a URL entirely, for values that are
/// served (`ad_snapshot_url`).
///
/// ```
/// use adarchive_importers::redact::strip_access_token;
/// assert_eq!(
///     strip_access_token("https://www.facebook.com/ads/archive/render_ad/?id=408&access_token=REDACTED"),
///     "https://www.facebook.com/ads/archive/render_ad/?id=408"
/// );
/// assert_eq!(strip_access_token("https://x/?ACCESS_TOKEN=abc&id=1"), "https://x/?id=1");
/// ```
pub fn strip_access_token(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !is_credential_parameter(p) && !p.is_empty())
        .collect();
    let mut out = base.to_owned();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Something in bytes about to be stored that looks like a live credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveCredential {
    /// Byte offset of its start.
    pub offset: u64,
    /// Line of its start (1-based).
    pub line: u64,
    /// What it looks like.
    pub kind: &'static str,
}

impl std::fmt::Display for LiveCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, byte {}: something shaped like {}",
            self.line, self.offset, self.kind
        )
    }
}

/// Token shapes: a prefix, the characters after it, and how many of them
/// at least make a token.
const TOKEN_SHAPES: &[(&[u8], usize, &str)] = &[
    (b"EAA", 60, "a Meta access token (EAA…)"),
    (b"act.", 30, "a TikTok access token (act.…)"),
    (b"clt.", 30, "a TikTok client token (clt.…)"),
];

/// How far past a prefix the scanner must see to judge it.
const SHAPE_WINDOW: usize = 72;

/// A writer that passes bytes through and notes the first one that looks
/// like a live token (Meta's `EAA…`, TikTok's `act.…` and `clt.…`): a run of letters and digits
/// after a known prefix, not itself inside a longer word.
///
/// ```
/// use std::io::Write;
/// use adarchive_importers::redact::CredentialScanner;
/// let token = format!("EAAB{}", "x1".repeat(40));
/// let mut scan = CredentialScanner::new(std::io::sink());
/// scan.write_all(format!("id,url\n1,https://x/?t={token}\n").as_bytes()).unwrap();
/// let found = scan.finish().unwrap().1.unwrap();
/// assert_eq!((found.line, found.offset), (2, 22));
/// let mut clean = CredentialScanner::new(std::io::sink());
/// clean.write_all(b"access_token=REDACTED EAAB but short").unwrap();
/// assert!(clean.finish().unwrap().1.is_none());
/// ```
pub struct CredentialScanner<W> {
    inner: W,
    /// The last bytes seen, not yet judged (a prefix near the end).
    tail: Vec<u8>,
    /// Offset and line of `tail[0]`.
    offset: u64,
    line: u64,
    /// The byte before `tail[0]`.
    before: u8,
    found: Option<LiveCredential>,
}

impl<W: Write> CredentialScanner<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        CredentialScanner {
            inner,
            tail: Vec::new(),
            offset: 0,
            line: 1,
            before: b'\n',
            found: None,
        }
    }

    /// What was found so far.
    pub fn found(&self) -> Option<&LiveCredential> {
        self.found.as_ref()
    }

    /// The inner writer and the first live-looking token, if any.
    pub fn finish(mut self) -> io::Result<(W, Option<LiveCredential>)> {
        let tail = std::mem::take(&mut self.tail);
        self.scan(&tail, true);
        self.inner.flush()?;
        Ok((self.inner, self.found))
    }

    /// Judges `buf` (which starts at `self.offset`); keeps its last bytes
    /// for the next call unless `eof`.
    fn scan(&mut self, buf: &[u8], eof: bool) {
        let judged = if eof {
            buf.len()
        } else {
            buf.len().saturating_sub(SHAPE_WINDOW)
        };
        if self.found.is_none() {
            for (prefix, min, kind) in TOKEN_SHAPES {
                let finder = memchr::memmem::find_iter(&buf[..buf.len()], prefix);
                for start in finder.take_while(|&s| s < judged) {
                    let before = if start == 0 {
                        self.before
                    } else {
                        buf[start - 1]
                    };
                    if before.is_ascii_alphanumeric() {
                        continue;
                    }
                    let run = buf[start + prefix.len()..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric())
                        .count();
                    if run >= *min {
                        let line =
                            self.line + memchr::memchr_iter(b'\n', &buf[..start]).count() as u64;
                        let candidate = LiveCredential {
                            offset: self.offset + start as u64,
                            line,
                            kind,
                        };
                        if self
                            .found
                            .as_ref()
                            .is_none_or(|f| f.offset > candidate.offset)
                        {
                            self.found = Some(candidate);
                        }
                        break;
                    }
                }
            }
        }
        if judged > 0 {
            self.before = buf[judged - 1];
        }
        self.line += memchr::memchr_iter(b'\n', &buf[..judged]).count() as u64;
        self.offset += judged as u64;
        self.tail = buf[judged..].to_vec();
    }
}

impl<W: Write> Write for CredentialScanner<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(&buf[..n]);
        self.scan(&joined, false);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What [`scan`] finds in bytes that should hold no credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Credential values that are not the marker.
    pub unredacted: u64,
    /// The first live-looking token outside a credential key.
    pub live: Option<LiveCredential>,
}

impl ScanReport {
    /// Whether nothing was found.
    pub fn clean(&self) -> bool {
        self.unredacted == 0 && self.live.is_none()
    }
}

/// Both credential checks over bytes given in pieces: values of
/// credential keys that are not the marker, and live-looking tokens.
///
/// ```
/// use adarchive_importers::redact::CredentialScan;
/// let mut scan = CredentialScan::default();
/// scan.update(b"{\"Access_To");
/// scan.update(b"ken\":\"abc\"} and access_token=REDACTED");
/// assert_eq!(scan.finish().unredacted, 1);
/// ```
pub struct CredentialScan {
    redactor: Redactor<io::Sink>,
    scanner: CredentialScanner<io::Sink>,
}

impl Default for CredentialScan {
    fn default() -> Self {
        CredentialScan {
            redactor: Redactor::new(io::sink()),
            scanner: CredentialScanner::new(io::sink()),
        }
    }
}

impl CredentialScan {
    /// Looks at the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        // Both write to a sink, which cannot fail.
        let _ = self.redactor.write_all(bytes);
        let _ = self.scanner.write_all(bytes);
    }

    /// What the pieces held.
    pub fn finish(self) -> ScanReport {
        ScanReport {
            unredacted: self.redactor.replaced_at_end(),
            live: self.scanner.finish().ok().and_then(|(_, found)| found),
        }
    }
}

/// Scans bytes for credentials (see [`CredentialScan`]).
///
/// ```
/// use adarchive_importers::redact::scan;
/// assert!(scan(b"x?access_token=REDACTED").clean());
/// assert_eq!(scan(b"{\"Access_Token\":\"abc\"}").unredacted, 1);
/// ```
pub fn scan(bytes: &[u8]) -> ScanReport {
    let mut scan = CredentialScan::default();
    scan.update(bytes);
    scan.finish()
}

/// Scans a reader (a stored file) as [`scan`] does, in pieces.
pub fn scan_reader(reader: &mut dyn io::Read) -> io::Result<ScanReport> {
    let mut scan = CredentialScan::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(scan.finish()),
            Ok(n) => scan.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(chunks: &[&[u8]]) -> Vec<u8> {
        let mut r = Redactor::new(Vec::new());
        for c in chunks {
            r.write_all(c).unwrap();
        }
        r.finish().unwrap().0
    }

    const SPELLINGS: &[(&str, &str)] = &[
        ("?access_token=SECRET1&x", "?access_token=REDACTED&x"),
        ("aaccess_token=SECRET2&x", "aaccess_token=REDACTED&x"),
        ("?ACCESS_TOKEN=SECRET3&x", "?ACCESS_TOKEN=REDACTED&x"),
        (
            "%3Faccess_token%3DSECRET4%26id%3D1",
            "%3Faccess_token%3DREDACTED%26id%3D1",
        ),
        (
            "%253Faccess_token%253DSECRET5%2526id",
            "%253Faccess_token%253DREDACTED%2526id",
        ),
        (
            "{\"access_token\":\"SECRET6\"}",
            "{\"access_token\":\"REDACTED\"}",
        ),
        (
            "{\"Access_Token\" : \"SECRET7\"}",
            "{\"Access_Token\" : \"REDACTED\"}",
        ),
        (
            "\"{\\\"access_token\\\":\\\"SECRET8\\\"}\"",
            "\"{\\\"access_token\\\":\\\"REDACTED\\\"}\"",
        ),
        (
            "access_token\\u003dSECRET9\\u0026id",
            "access_token\\u003dREDACTED\\u0026id",
        ),
        ("access%5Ftoken=SECRET10&", "access%5Ftoken=REDACTED&"),
        ("client_secret=SECRET11", "client_secret=REDACTED"),
        (
            "{'refresh_token': 'SECRET12'}",
            "{'refresh_token': 'REDACTED'}",
        ),
    ];

    #[test]
    fn every_spelling_is_redacted_whatever_the_chunking() {
        for (input, expected) in SPELLINGS {
            let text = input.as_bytes();
            let whole = redact(&[text]);
            assert_eq!(String::from_utf8_lossy(&whole), *expected, "{input}");
            for split in 0..text.len() {
                assert_eq!(
                    redact(&[&text[..split], &text[split..]]),
                    whole,
                    "{input} split at {split}"
                );
            }
            let bytes: Vec<&[u8]> = text.chunks(1).collect();
            assert_eq!(redact(&bytes), whole, "{input} byte by byte");
            assert_eq!(redact(&[&whole]), whole, "{input} redacted twice");
            assert!(scan(&whole).clean(), "{input}");
            assert_eq!(scan(text).unredacted, 1, "{input}");
        }
    }

    #[test]
    fn words_and_other_keys_are_left_alone() {
        for text in [
            "the access_token parameter is documented",
            "{\"access_token\": null, \"tokens\": 3}",
            "access_tokens=5",
            "token=abc&access=1",
        ] {
            let out = redact(&[text.as_bytes()]);
            if text == "access_tokens=5" {
                // A longer key is not a credential key; only its prefix is,
                // and it is not followed by a separator.
                assert_eq!(out, text.as_bytes());
            } else {
                assert_eq!(String::from_utf8_lossy(&out), text);
            }
        }
    }

    #[test]
    fn already_redacted_bytes_are_unchanged() {
        let text = b"id=1&access_token=REDACTED\"";
        assert_eq!(redact(&[text]), text);
        let mut r = Redactor::new(Vec::new());
        r.write_all(text).unwrap();
        r.process(true);
        assert_eq!(r.replaced(), 0);
    }

    #[test]
    fn live_tokens_are_found_across_chunks() {
        let token = format!("EAAGm0PX4ZCps{}", "Ab3".repeat(30));
        let text = format!("{}\nsee {token} here\n", "x".repeat(300));
        let bytes = text.as_bytes();
        for split in [0, 100, 302, 305, 310, 330, 380, bytes.len()] {
            let mut scanner = CredentialScanner::new(io::sink());
            scanner.write_all(&bytes[..split]).unwrap();
            scanner.write_all(&bytes[split..]).unwrap();
            let found = scanner.finish().unwrap().1.unwrap();
            assert_eq!((found.line, found.offset), (2, 305), "split at {split}");
        }
        // Inside a longer word (a hash, an id): not a token.
        assert!(scan(format!("xyz{token}").as_bytes()).live.is_none());
        assert!(scan(b"EAAB short").live.is_none());
        assert!(scan(format!("clt.{}", "a".repeat(40)).as_bytes())
            .live
            .is_some());
    }
}
