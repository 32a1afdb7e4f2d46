//! Shared CSV reading: columns by header name, exact raw bytes and position
//! of every row, and problems (short rows, invalid UTF-8) reported per row.

use std::collections::HashMap;
use std::io::Read;

use crate::{Locator, Problem, ReadError};

/// A reader that keeps the bytes it has handed out until told to forget
/// them, so that each CSV row's exact bytes can be hashed.
struct Recording<R> {
    inner: R,
    kept: Vec<u8>,
    kept_from: u64,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.kept.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

impl<R> Recording<R> {
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let from = start.saturating_sub(self.kept_from) as usize;
        let to = (end.saturating_sub(self.kept_from) as usize).min(self.kept.len());
        self.kept.get(from..to).unwrap_or(&[])
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
    /// The value of column `name`, `None` when the file has no such column.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.columns
            .get(name)
            .and_then(|&i| self.fields.get(i).copied())
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

/// Reads `input` as CSV, checks the header with `check_header`, then calls
/// `on_row` for every row in order.
pub(crate) fn read_rows(
    format: &'static str,
    input: &mut dyn Read,
    check_header: impl FnOnce(&Header) -> Result<(), String>,
    mut on_row: impl FnMut(&Header, RowOrProblem<'_>) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Recording {
            inner: input,
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
    let header = Header { names };
    check_header(&header).map_err(|reason| ReadError::WrongFormat { format, reason })?;
    let mut columns = HashMap::with_capacity(header.names.len());
    for (i, name) in header.names.iter().enumerate() {
        columns.entry(name.clone()).or_insert(i);
    }
    let header_end = reader.position().byte();
    reader.get_mut().forget_before(header_end);

    loop {
        let more = reader.read_byte_record(&mut record).map_err(csv_error)?;
        if !more {
            return Ok(());
        }
        let start = record.position().map(|p| (p.byte(), p.line()));
        let (byte_start, line) = start.unwrap_or((header_end, 0));
        let byte_end = reader.position().byte();
        let locator = Locator {
            line,
            byte_start,
            byte_end,
        };
        let recording = reader.get_ref();
        let raw = recording.slice(byte_start, byte_end);
        let entry = classify(&header, &columns, &record, locator, raw);
        on_row(&header, entry)?;
        reader.get_mut().forget_before(byte_end);
    }
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
        let reason = if blank {
            "blank line".to_owned()
        } else {
            format!(
                "the row has {} fields but the header has {} (a truncated or damaged row)",
                record.len(),
                header.names.len()
            )
        };
        return RowOrProblem::Problem(Problem {
            locator,
            raw,
            field: header.names.get(record.len().saturating_sub(1)).cloned(),
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

/// The header line of `head` as column names, when it parses as CSV.
pub(crate) fn sniff_header(head: &[u8]) -> Option<Vec<String>> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&head[..line_end]);
    let mut record = csv::StringRecord::new();
    reader.read_record(&mut record).ok()?;
    Some(record.iter().map(|f| f.trim().to_owned()).collect())
}
