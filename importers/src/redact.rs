//! Removal of credentials from source bytes before they are stored.
//!
//! Meta's `ad_snapshot_url` and paging links carry an `access_token` query
//! parameter: somebody's credential. The archive never stores it: files that
//! carry tokens are stored as a redacted copy in which every token value is
//! replaced by [`MARKER`]. The redaction is a pure function of the bytes, so
//! anyone holding the original file can reproduce the stored copy exactly.

use std::io::{self, Write};

/// What every token value becomes.
pub const MARKER: &[u8] = b"REDACTED";

const KEY: &[u8] = b"access_token=";

/// A writer that redacts `access_token=` values in everything written
/// through it, across any chunk boundaries.
///
/// ```
/// use std::io::Write;
/// use adarchive_importers::redact::Redactor;
/// let mut out = Redactor::new(Vec::new());
/// out.write_all(b"\"u\":\"https://x/?id=1&access_tok").unwrap();
/// out.write_all(b"en=EAAB12%3D&y=2\"").unwrap();
/// let (bytes, tokens) = out.finish().unwrap();
/// assert_eq!(bytes, b"\"u\":\"https://x/?id=1&access_token=REDACTED&y=2\"");
/// assert_eq!(tokens, 1);
/// ```
pub struct Redactor<W> {
    inner: W,
    matched: usize,
    in_token: bool,
    tokens: u64,
    out: Vec<u8>,
}

impl<W: Write> Redactor<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Redactor {
            inner,
            matched: 0,
            in_token: false,
            tokens: 0,
            out: Vec::with_capacity(64 * 1024),
        }
    }

    /// Flushes and returns the inner writer and how many token values were
    /// replaced (a value that already was the marker counts too).
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok((self.inner, self.tokens))
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'~' | b'%' | b'|' | b'+' | b'/' | b'='
        )
}

impl<W: Write> Write for Redactor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if !self.in_token && self.matched == 0 {
                // Nothing pending: jump to the next byte that can start the key.
                match memchr::memchr(KEY[0], rest) {
                    None => {
                        self.out.extend_from_slice(rest);
                        break;
                    }
                    Some(i) => {
                        self.out.extend_from_slice(&rest[..i]);
                        rest = &rest[i..];
                    }
                }
            }
            let b = rest[0];
            rest = &rest[1..];
            if self.in_token {
                if is_token_byte(b) {
                    continue;
                }
                self.in_token = false;
            }
            self.out.push(b);
            if b == KEY[self.matched] {
                self.matched += 1;
                if self.matched == KEY.len() {
                    self.matched = 0;
                    self.in_token = true;
                    self.tokens += 1;
                    self.out.extend_from_slice(MARKER);
                }
            } else {
                // `a` occurs only at the start of the key, so a mismatch can
                // only restart a match on this very byte.
                self.matched = usize::from(b == KEY[0]);
            }
        }
        if self.out.len() >= 64 * 1024 {
            self.inner.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()
    }
}

/// Removes the `access_token` parameter from a URL entirely, for values that
/// are served (`ad_snapshot_url`).
///
/// ```
/// use adarchive_importers::redact::strip_access_token;
/// assert_eq!(
///     strip_access_token("https://www.facebook.com/ads/archive/render_ad/?id=408&access_token=REDACTED"),
///     "https://www.facebook.com/ads/archive/render_ad/?id=408"
/// );
/// assert_eq!(strip_access_token("https://x/?access_token=abc&id=1"), "https://x/?id=1");
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
        .filter(|p| !p.starts_with("access_token=") && !p.is_empty())
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

    #[test]
    fn redaction_is_independent_of_chunking() {
        let text: &[u8] = b"{\"a\":\"?access_token=SECRET1\",\"b\":\"aaccess_token=SECRET2&x\"}";
        let whole = redact(&[text]);
        for split in 0..text.len() {
            assert_eq!(
                redact(&[&text[..split], &text[split..]]),
                whole,
                "split at {split}"
            );
        }
        assert_eq!(
            whole,
            b"{\"a\":\"?access_token=REDACTED\",\"b\":\"aaccess_token=REDACTED&x\"}"
        );
    }

    #[test]
    fn already_redacted_bytes_are_unchanged() {
        let text = b"id=1&access_token=REDACTED\"";
        assert_eq!(redact(&[text]), text);
    }
}
