//! Shared CSV reading: columns by header name, exact raw bytes and position
//! of every row, and problems (short rows, invalid UTF-8) reported per row.

use std::collections::HashMap;
use std::io::Read;

use crate::{Locator, Problem, ReadError};

/// A reader that keeps the bytes it has handed out until told to forget
/// them, so that each CSV row's exact bytes can be hashed.
struct Recording<R> {
    inner: R,
    /// Bytes read ahead (while looking for a byte order mark) to hand out first.
    prefix: Vec<u8>,
    kept: Vec<u8>,
    kept_from: u64,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = if self.prefix.is_empty() {
            self.inner.read(out)?
        } else {
            let n = self.prefix.len().min(out.len());
            out[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            n
        };
        self.kept.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads past a UTF-8 byte order mark, returning its length (0 or 3) and
/// any bytes read that were not part of one. The csv reader never sees the
/// mark, so its positions are offsets after it.
fn skip_bom(input: &mut dyn Read) -> std::io::Result<(u64, Vec<u8>)> {
    let mut start = Vec::with_capacity(3);
    input.take(3).read_to_end(&mut start)?;
    if start == BOM {
        Ok((3, Vec::new()))
    } else {
        Ok((0, start))
    }
}

impl<R> Recording<R> {
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let from = start.saturating_sub(self.kept_from) as usize;
        let to = (end.saturating_sub(self.kept_from) as usize).min(self.kept.len());
        self.kept.get(from..to).unwrap_or(&[])
    }

    fn byte_at(&self, offset: u64) -> Option<u8> {
        let i = offset.checked_sub(self.kept_from)?;
        self.kept.get(usize::try_from(i).ok()?).copied()
    }

    /// Where a record that the csv reader says ends at `end` really ends:
    /// it stops a CRLF record at the `\r` and leaves the `\n` to the next.
    fn record_end(&self, end: u64) -> u64 {
        let crlf =
            end > 0 && self.byte_at(end - 1) == Some(b'\r') && self.byte_at(end) == Some(b'\n');
        end + u64::from(crlf)
    }

    fn forget_before(&mut self, offset: u64) {
        let n = (offset.saturating_sub(self.kept_from) as usize).min(self.kept.len());
        self.kept.drain(..n);
        self.kept_from += n as u64;
    }
}

/// One data row, its fields checked as UTF-8.
pub(crate) struct Row<'a> {
    pub locator: Locator,
    pub raw: &'a [u8],
    fields: Vec<&'a str>,
    columns: &'a HashMap<String, usize>,
}

impl<'a> Row<'a> {
    /// A row of `fields` under the names of `columns` (name → index), for
    /// rows read from something other than CSV.
    pub fn new(
        locator: Locator,
        raw: &'a [u8],
        fields: Vec<&'a str>,
        columns: &'a HashMap<String, usize>,
    ) -> Self {
        Row {
            locator,
            raw,
            fields,
            columns,
        }
    }

    /// The value of column `name`, `None` when the file has no such column.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.columns
            .get(name)
            .and_then(|&i| self.fields.get(i).copied())
    }

    /// The trimmed value of column `name`, `None` when absent, empty or a
    /// placeholder such as `N/A`.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !crate::normalize::is_placeholder(v))
    }

    /// The items of a comma-separated list cell (commas inside parentheses
    /// stay in their item).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.value(name)
            .map(|cell| crate::normalize::split_list(cell, ","))
            .unwrap_or_default()
    }

    /// The value of column `name`, `None` when absent or empty after trimming.
    pub fn non_empty(&self, name: &str) -> Option<&'a str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// What a row handler sees for each line of data.
pub(crate) enum RowOrProblem<'a> {
    Row(Row<'a>),
    Problem(Problem<'a>),
}

/// The header of a CSV file, once read.
pub(crate) struct Header {
    pub names: Vec<String>,
}

/// Reads a CSV whose header must name `key_column`, handing `sink` each row
/// as `map_row` maps it, or the problem that stopped it.
pub(crate) fn read_mapped(
    format: &'static str,
    input: &mut dyn Read,
    sink: &mut crate::Sink<'_>,
    key_column: &str,
    map_row: impl for<'a> Fn(&Header, &Row<'a>) -> crate::Entry<'a>,
) -> Result<(), ReadError> {
    read_rows(
        format,
        input,
        |header| {
            if header.names.iter().any(|n| n == key_column) {
                Ok(())
            } else {
                Err(format!("the header has no `{key_column}` column"))
            }
        },
        |header, entry| {
            let entry = match entry {
                RowOrProblem::Problem(p) => crate::Entry::Problem(p),
                RowOrProblem::Row(row) => map_row(header, &row),
            };
            sink(entry).map_err(ReadError::Sink)
        },
    )
}

/// Reads `input` as CSV, checks the header with `check_header` (which may
/// rename columns to the spelling the importer maps), then calls `on_row`
/// for every row in order.
pub(crate) fn read_rows(
    format: &'static str,
    input: &mut dyn Read,
    check_header: impl FnOnce(&mut Header) -> Result<(), String>,
    mut on_row: impl FnMut(&Header, RowOrProblem<'_>) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let (bom, mut prefix) = skip_bom(input)?;
    // The header line decides the separator; it is read ahead here and
    // handed to the csv reader first.
    while !prefix.contains(&b'\n') && prefix.len() < HEADER_READ_AHEAD {
        let before = prefix.len();
        input
            .take((HEADER_READ_AHEAD - before) as u64)
            .read_to_end(&mut prefix)?;
        if prefix.len() == before {
            break;
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator(&prefix))
        .from_reader(Recording {
            inner: input,
            prefix,
            kept: Vec::new(),
            kept_from: 0,
        });
    let mut record = csv::ByteRecord::new();
    let got_header = reader.read_byte_record(&mut record).map_err(csv_error)?;
    if !got_header {
        return Err(ReadError::Empty);
    }
    let names: Vec<String> = record
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let name = String::from_utf8_lossy(name);
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                &name
            };
            name.trim().to_owned()
        })
        .collect();
    let mut header = Header { names };
    check_header(&mut header).map_err(|reason| ReadError::WrongFormat { format, reason })?;
    let mut columns = HashMap::with_capacity(header.names.len());
    for (i, name) in header.names.iter().enumerate() {
        columns.entry(name.clone()).or_insert(i);
    }
    // Byte ranges and lines are tracked here, each row running from where
    // the previous one ended, so that the ranges cover the file exactly;
    // the csv reader's own positions split CRLF line ends between rows.
    let header_end = reader.get_ref().record_end(reader.position().byte());
    let mut line = 1 + newlines(reader.get_ref().slice(0, header_end));
    let mut next_start = header_end;
    reader.get_mut().forget_before(header_end);

    loop {
        let more = reader.read_byte_record(&mut record).map_err(csv_error)?;
        if !more {
            return Ok(());
        }
        let byte_start = next_start;
        let byte_end = reader.get_ref().record_end(reader.position().byte());
        next_start = byte_end;
        let recording = reader.get_ref();
        let raw = recording.slice(byte_start, byte_end);
        // Blank lines the csv reader skipped sit at the start of the range.
        let leading = raw
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|&&b| b == b'\n')
            .count() as u64;
        let locator = Locator {
            line: line + leading,
            byte_start: byte_start + bom,
            byte_end: byte_end + bom,
        };
        line += newlines(raw);
        let entry = classify(&header, &columns, &record, locator, raw);
        on_row(&header, entry)?;
        reader.get_mut().forget_before(byte_end);
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

fn classify<'a>(
    header: &Header,
    columns: &'a HashMap<String, usize>,
    record: &'a csv::ByteRecord,
    locator: Locator,
    raw: &'a [u8],
) -> RowOrProblem<'a> {
    if record.len() != header.names.len() {
        let blank = record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty());
        let (field, reason) = if blank {
            (None, "blank line".to_owned())
        } else if record.len() < header.names.len() {
            let missing = header.names.get(record.len()).cloned();
            let reason = format!(
                "the row ends after {} of {} fields (truncated or damaged): `{}` and the columns after it are missing",
                record.len(),
                header.names.len(),
                missing.as_deref().unwrap_or_default()
            );
            (missing, reason)
        } else {
            let reason = format!(
                "the row has {} fields but the header has {} (an unquoted separator or a damaged row)",
                record.len(),
                header.names.len()
            );
            (None, reason)
        };
        return RowOrProblem::Problem(Problem {
            locator,
            raw,
            field,
            reason,
        });
    }
    let mut fields = Vec::with_capacity(record.len());
    for (i, bytes) in record.iter().enumerate() {
        match std::str::from_utf8(bytes) {
            Ok(s) => fields.push(s),
            Err(e) => {
                return RowOrProblem::Problem(Problem {
                    locator,
                    raw,
                    field: header.names.get(i).cloned(),
                    reason: format!("invalid UTF-8 at byte {} of the value", e.valid_up_to()),
                })
            }
        }
    }
    RowOrProblem::Row(Row {
        locator,
        raw,
        fields,
        columns,
    })
}

fn csv_error(e: csv::Error) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        other => ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{other:?}"),
        )),
    }
}

/// How far ahead a header line is looked for.
const HEADER_READ_AHEAD: usize = 64 * 1024;

/// The separator of a CSV file whose header line starts `head`: a comma,
/// unless the header has none and has semicolons (as spreadsheets in many
/// European locales save CSV) or tabs.
fn separator(head: &[u8]) -> u8 {
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = &head[..line_end];
    let count = |b: u8| memchr::memchr_iter(b, line).count();
    if count(b',') > 0 {
        b','
    } else if count(b';') > 0 {
        b';'
    } else if count(b'\t') > 0 {
        b'\t'
    } else {
        b','
    }
}

/// The header line of `head` as column names, when it parses as CSV.
pub(crate) fn sniff_header(head: &[u8]) -> Option<Vec<String>> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator(head))
        .from_reader(&head[..line_end]);
    let mut record = csv::StringRecord::new();
    reader.read_record(&mut record).ok()?;
    Some(record.iter().map(|f| f.trim().to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locators(text: &[u8]) -> Vec<(u64, u64, u64, bool)> {
        let mut out = Vec::new();
        read_rows(
            "test",
            &mut &text[..],
            |_| Ok(()),
            |_, entry| {
                match entry {
                    RowOrProblem::Row(r) => out.push((
                        r.locator.line,
                        r.locator.byte_start,
                        r.locator.byte_end,
                        true,
                    )),
                    RowOrProblem::Problem(p) => out.push((
                        p.locator.line,
                        p.locator.byte_start,
                        p.locator.byte_end,
                        false,
                    )),
                }
                Ok(())
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn lines_and_byte_ranges_of_rows() {
        assert_eq!(
            locators(b"\xEF\xBB\xBFa,b\r\n1,2\r\n\"x\ny\",4\r\n5\r\n"),
            [(2, 8, 13, true), (3, 13, 22, true), (5, 22, 25, false)]
        );
        assert_eq!(locators(b"a,b\n1,2"), [(2, 4, 7, true)]);
    }
}
