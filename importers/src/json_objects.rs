//! Streaming split of a JSON file into ad objects, with each object's exact
//! bytes, first line and byte range.
//!
//! Accepts what researchers keep: a JSON array of objects, an API response
//! page whose items sit in an array under one of the format's container keys
//! (`{"data":[…],"paging":…}`), a single object, and JSON Lines (or any
//! sequence of these). Memory holds one object at a time.

use std::io::{self, Read};

use crate::{Locator, ReadError};

/// One top-level ad object, or bytes that could not be read as one.
pub(crate) enum Item<'a> {
    Object {
        locator: Locator,
        raw: &'a [u8],
    },
    Malformed {
        locator: Locator,
        raw: &'a [u8],
        reason: String,
    },
}

enum ScanError {
    Io(io::Error),
    Bad(String),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

struct Bytes<'r> {
    reader: &'r mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Offset of the next byte.
    offset: u64,
    /// Line of the next byte, 1-based.
    line: u64,
}

impl Bytes<'_> {
    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = loop {
                match self.reader.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if self.len == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    fn bump(&mut self) -> io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.pos += 1;
            self.offset += 1;
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    fn take_into(&mut self, out: &mut Vec<u8>) -> io::Result<Option<u8>> {
        let b = self.bump()?;
        if let Some(b) = b {
            out.push(b);
        }
        Ok(b)
    }

    fn skip_ws(&mut self, out: Option<&mut Vec<u8>>) -> io::Result<()> {
        let mut out = out;
        while let Some(b) = self.peek()? {
            if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.bump()?;
            if let Some(out) = out.as_deref_mut() {
                out.push(b);
            }
        }
        Ok(())
    }

    /// Skips the rest of the current line, to resynchronise after damage.
    fn skip_line(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        while let Some(b) = self.take_into(out)? {
            if b == b'\n' {
                break;
            }
        }
        Ok(())
    }

    /// Makes sure unread bytes are buffered; false at the end of input.
    fn fill(&mut self) -> io::Result<bool> {
        Ok(self.peek()?.is_some())
    }

    /// Takes `n` buffered bytes into `out`, counting `newlines` among them.
    fn consume_into(&mut self, n: usize, newlines: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.offset += n as u64;
        self.line += newlines;
    }

    /// Reads one string (the opening quote is next) into `out`.
    fn string(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        self.take_into(out)?;
        loop {
            if !self.fill()? {
                return Err(ScanError::Bad("the file ends inside a string".into()));
            }
            let window = &self.buf[self.pos..self.len];
            match memchr::memchr3(b'"', b'\\', b'\n', window) {
                None => {
                    let n = window.len();
                    self.consume_into(n, 0, out);
                }
                Some(i) => {
                    let found = window[i];
                    self.consume_into(i + 1, u64::from(found == b'\n'), out);
                    match found {
                        b'"' => return Ok(()),
                        b'\\' => {
                            if self.take_into(out)?.is_none() {
                                return Err(ScanError::Bad("the file ends inside a string".into()));
                            }
                        }
                        _ => {
                            return Err(ScanError::Bad(
                                "a string is not closed before the end of its line".into(),
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Reads one complete value (next byte is its first) into `out`.
    fn value(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        match self.peek()? {
            None => Err(ScanError::Bad(
                "the file ends where a value was expected".into(),
            )),
            Some(b'"') => self.string(out),
            Some(b'{' | b'[') => {
                let mut stack = Vec::new();
                loop {
                    if !self.fill()? {
                        return Err(ScanError::Bad(
                            "the file ends before this object is closed (truncated)".into(),
                        ));
                    }
                    // Scan the buffered bytes up to the next string or the
                    // end of the value, in one pass.
                    let window = &self.buf[self.pos..self.len];
                    let mut newlines = 0u64;
                    let mut stop = None;
                    for (i, &b) in window.iter().enumerate() {
                        match b {
                            b'\n' => newlines += 1,
                            b'"' => {
                                stop = Some((i, false));
                                break;
                            }
                            b'{' => stack.push(b'}'),
                            b'[' => stack.push(b']'),
                            b'}' | b']' => {
                                if stack.pop() != Some(b) {
                                    return Err(ScanError::Bad(format!(
                                        "unexpected `{}`",
                                        b as char
                                    )));
                                }
                                if stack.is_empty() {
                                    stop = Some((i + 1, true));
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    match stop {
                        None => {
                            let n = window.len();
                            self.consume_into(n, newlines, out);
                        }
                        Some((n, done)) => {
                            self.consume_into(n, newlines, out);
                            if done {
                                return Ok(());
                            }
                            self.string(out)?;
                        }
                    }
                }
            }
            Some(_) => {
                while let Some(b) = self.peek()? {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.take_into(out)?;
                }
                Ok(())
            }
        }
    }
}

struct Splitter<'r, F> {
    bytes: Bytes<'r>,
    /// Keys of a top-level object whose array value holds the items.
    containers: &'r [&'r str],
    buf: Vec<u8>,
    emit: F,
}

impl<F> Splitter<'_, F>
where
    F: FnMut(Item<'_>) -> Result<(), ReadError>,
{
    fn here(&self) -> (u64, u64) {
        (self.bytes.offset, self.bytes.line)
    }

    fn locator(&self, (byte_start, line): (u64, u64)) -> Locator {
        Locator {
            line,
            byte_start,
            byte_end: self.bytes.offset,
        }
    }

    fn run(&mut self) -> Result<(), ReadError> {
        loop {
            self.bytes.skip_ws(None)?;
            let start = self.here();
            self.buf.clear();
            let outcome = match self.bytes.peek()? {
                None => return Ok(()),
                Some(b'[') => {
                    self.bytes.bump()?;
                    self.elements()
                }
                Some(b'{') => self.top_object(start),
                // Separators left over after resynchronising inside an array.
                Some(b',' | b']') => {
                    self.bytes.bump()?;
                    Ok(())
                }
                Some(other) => Err(ScanError::Bad(format!(
                    "expected `{{` or `[` but found `{}`",
                    other as char
                ))),
            };
            match outcome {
                Ok(()) => {}
                Err(ScanError::Io(e)) => return Err(ReadError::Io(e)),
                Err(ScanError::Bad(reason)) => self.malformed(start, reason)?,
            }
        }
    }

    /// Reports the damaged bytes from `start` to the end of the current line
    /// and carries on after it.
    fn malformed(&mut self, start: (u64, u64), reason: String) -> Result<(), ReadError> {
        let at_line_start = self.buf.last() == Some(&b'\n');
        if !at_line_start {
            self.bytes.skip_line(&mut self.buf)?;
        }
        let locator = self.locator(start);
        (self.emit)(Item::Malformed {
            locator,
            raw: &self.buf,
            reason,
        })
    }

    /// Elements of an array whose `[` has been read, each an ad object.
    fn elements(&mut self) -> Result<(), ScanError> {
        loop {
            self.bytes.skip_ws(None)?;
            match self.bytes.peek()? {
                None => {
                    return Err(ScanError::Bad(
                        "the file ends before the array is closed (truncated)".into(),
                    ))
                }
                Some(b']') => {
                    self.bytes.bump()?;
                    return Ok(());
                }
                Some(b',') => {
                    self.bytes.bump()?;
                }
                Some(first) => {
                    let start = self.here();
                    self.buf.clear();
                    if let Err(e) = self.bytes.value(&mut self.buf) {
                        return match e {
                            ScanError::Io(io) => Err(ScanError::Io(io)),
                            // The array cannot be followed past a damaged
                            // element; scanning resumes at the next line.
                            ScanError::Bad(reason) => {
                                self.malformed(start, reason).map_err(sink_to_scan)?;
                                self.buf.clear();
                                Ok(())
                            }
                        };
                    }
                    let locator = self.locator(start);
                    let item = if first == b'{' {
                        Item::Object {
                            locator,
                            raw: &self.buf,
                        }
                    } else {
                        Item::Malformed {
                            locator,
                            raw: &self.buf,
                            reason: "an element of the array is not an object".into(),
                        }
                    };
                    (self.emit)(item).map_err(sink_to_scan)?;
                    self.buf.clear();
                }
            }
        }
    }

    /// A top-level object: an API page when it holds an array under a
    /// container key, else one item.
    fn top_object(&mut self, start: (u64, u64)) -> Result<(), ScanError> {
        let mut page = false;
        self.bytes.take_into(&mut self.buf)?;
        loop {
            self.bytes.skip_ws(Some(&mut self.buf))?;
            match self.bytes.peek()? {
                None => {
                    return Err(ScanError::Bad(
                        "the file ends before this object is closed (truncated)".into(),
                    ))
                }
                Some(b'}') => {
                    self.bytes.take_into(&mut self.buf)?;
                    break;
                }
                Some(b',') => {
                    self.bytes.take_into(&mut self.buf)?;
                }
                Some(b'"') => {
                    let key_start = self.buf.len();
                    self.bytes.string(&mut self.buf)?;
                    let key = &self.buf[key_start + 1..self.buf.len() - 1];
                    let is_container = self.containers.iter().any(|c| c.as_bytes() == key);
                    self.bytes.skip_ws(Some(&mut self.buf))?;
                    if self.bytes.take_into(&mut self.buf)? != Some(b':') {
                        return Err(ScanError::Bad("expected `:` after a key".into()));
                    }
                    self.bytes.skip_ws(Some(&mut self.buf))?;
                    if is_container && !page && self.bytes.peek()? == Some(b'[') {
                        page = true;
                        self.bytes.bump()?;
                        self.elements()?;
                        self.buf.clear();
                    } else {
                        self.bytes.value(&mut self.buf)?;
                    }
                }
                Some(other) => {
                    return Err(ScanError::Bad(format!(
                        "expected a key but found `{}`",
                        other as char
                    )))
                }
            }
        }
        if !page {
            let locator = self.locator(start);
            (self.emit)(Item::Object {
                locator,
                raw: &self.buf,
            })
            .map_err(sink_to_scan)?;
        }
        Ok(())
    }
}

/// Errors from the receiver travel through the scanner unchanged.
fn sink_to_scan(e: ReadError) -> ScanError {
    match e {
        ReadError::Io(io) => ScanError::Io(io),
        other => ScanError::Io(io::Error::other(SinkPassthrough(other))),
    }
}

#[derive(Debug)]
struct SinkPassthrough(ReadError);

impl std::fmt::Display for SinkPassthrough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SinkPassthrough {}

/// Calls `emit` for every item object (or damaged stretch) in `input`; the
/// items of a page are found under any of the `containers` keys.
pub(crate) fn for_each_object(
    input: &mut dyn Read,
    containers: &[&str],
    emit: impl FnMut(Item<'_>) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut splitter = Splitter {
        bytes: Bytes {
            reader: input,
            buf: vec![0; 256 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            offset: 0,
            line: 1,
        },
        containers,
        buf: Vec::new(),
        emit,
    };
    splitter.run().map_err(|e| match e {
        ReadError::Io(io) if io.get_ref().is_some_and(|r| r.is::<SinkPassthrough>()) => {
            match io.into_inner().map(|b| b.downcast::<SinkPassthrough>()) {
                Some(Ok(pass)) => pass.0,
                Some(Err(other)) => ReadError::Io(io::Error::other(other)),
                None => ReadError::Io(io::Error::other("read failed")),
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<(String, u64, bool)> {
        let mut out = Vec::new();
        for_each_object(&mut text.as_bytes(), &["data"], |item| {
            match item {
                Item::Object { locator, raw } => {
                    assert_eq!(
                        &text.as_bytes()[locator.byte_start as usize..locator.byte_end as usize],
                        raw
                    );
                    out.push((
                        String::from_utf8_lossy(raw).into_owned(),
                        locator.line,
                        true,
                    ))
                }
                Item::Malformed { locator, raw, .. } => out.push((
                    String::from_utf8_lossy(raw).into_owned(),
                    locator.line,
                    false,
                )),
            }
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn array_page_single_and_lines() {
        let got = split("[\n {\"id\":\"1\"},\n {\"id\":\"2\",\"x\":[1,{\"y\":\"}\"}]}\n]");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, "{\"id\":\"2\",\"x\":[1,{\"y\":\"}\"}]}");
        assert_eq!(got[1].1, 3);

        let page = split("{\"paging\":{\"next\":\"u\"},\"data\":[{\"id\":\"1\"},{\"id\":\"2\"}]}");
        assert_eq!(
            page.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(),
            ["{\"id\":\"1\"}", "{\"id\":\"2\"}"]
        );

        let single = split("{ \"_id\": \"5\", \"data_x\": [1] }\n");
        assert_eq!(single[0].0, "{ \"_id\": \"5\", \"data_x\": [1] }");

        let lines = split("{\"id\":\"1\"}\n{\"id\":\"2\"}\r\n{\"id\":\"3\"}");
        assert_eq!(lines.iter().map(|g| g.1).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn damage_is_reported_and_reading_goes_on() {
        let got = split(
            "{\"id\":\"1\"}\n{\"id\":\"2\",\"s\":\"unterminated\n{\"id\":\"3\"}\n[{\"id\":\"4\"}",
        );
        let good: Vec<_> = got.iter().filter(|g| g.2).map(|g| g.0.clone()).collect();
        assert_eq!(good, ["{\"id\":\"1\"}", "{\"id\":\"3\"}", "{\"id\":\"4\"}"]);
        let bad: Vec<_> = got.iter().filter(|g| !g.2).map(|g| g.1).collect();
        assert_eq!(bad, [2, 4]);
    }
}
