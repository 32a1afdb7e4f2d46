//! Ads as Apache Parquet, for analysts who take the archive to their own
//! engines: DuckDB, Polars, pyarrow, and Apache Spark on many machines.
//!
//! One row per ad (its latest version), with the record's structure kept
//! as Arrow types: lists of strings, structs for ranges, lists of structs
//! for spend and delivery, a map for the other targeting criteria. The one
//! place with JSON text is `unmapped`: source fields kept verbatim, whose
//! values can have any shape. The schema is [`ad_schema`], documented in
//! `docs/api.md`.
//!
//! Memory stays flat whatever the number of ads: ads are turned into
//! columns [`BATCH`] at a time, and a row group is written out once it
//! holds [`ROW_GROUP_BYTES`] or [`ROW_GROUP_ROWS`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adarchive_schema::{Ad, CountRange, Timestamp};
use arrow_array::builder::{ListBuilder, MapBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::export::ExportSummary;

use super::{search_in, SearchError, SearchRequest};
use crate::archive::Archive;

/// Ads turned into columns at a time.
pub const BATCH: usize = 1_024;
/// A row group is written out once its columns hold this much.
pub const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;
/// Rows of a row group at most.
pub const ROW_GROUP_ROWS: usize = 16 * 1024;
/// Ads read from the archive per page.
const PAGE: usize = 4_096;

/// Why a Parquet export failed.
#[derive(Debug, thiserror::Error)]
pub enum ParquetExportError {
    /// The search failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// Columns could not be built.
    #[error("building columns: {0}")]
    Arrow(#[from] ArrowError),
    /// The Parquet writer failed (often: the output went away).
    #[error("writing Parquet: {0}")]
    Parquet(#[from] ParquetError),
    /// A file or folder could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The output stopped taking bytes.
    #[error("the output stopped taking bytes")]
    Stopped,
    /// The output folder exists and is not empty.
    #[error("{0} already exists and is not empty: give a new folder")]
    NotEmpty(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ParquetExportError + '_ {
    move |source| ParquetExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The Arrow schema of an exported ad; without the `platform` column in a
/// folder partitioned by platform (the folder names carry it).
///
/// ```
/// let schema = adarchive::search::parquet::ad_schema(true);
/// assert_eq!(schema.field(0).name(), "uid");
/// assert!(schema.field_with_name("spend").unwrap().data_type().is_nested());
/// assert!(adarchive::search::parquet::ad_schema(false).field_with_name("platform").is_err());
/// ```
pub fn ad_schema(with_platform: bool) -> SchemaRef {
    // The schema is the one the column builders produce, so that the two
    // cannot disagree.
    match AdColumns::new(with_platform).finish() {
        Ok(batch) => batch.schema(),
        // Empty columns always build; an empty schema would be refused by
        // every reader, which says where to look.
        Err(_) => Arc::new(arrow_schema::Schema::empty()),
    }
}

fn list_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

/// A batch of ads as columns.
struct AdColumns {
    with_platform: bool,
    uid: Vec<String>,
    platform: Vec<String>,
    platform_ad_id: Vec<String>,
    advertiser_id: Vec<Option<String>>,
    advertiser_name: Vec<Option<String>>,
    funder: Vec<Option<String>>,
    payers: ListBuilder<StringBuilder>,
    beneficiaries: ListBuilder<StringBuilder>,
    countries: ListBuilder<StringBuilder>,
    regions: ListBuilder<StringBuilder>,
    languages: ListBuilder<StringBuilder>,
    first_shown: Vec<Option<i64>>,
    last_shown: Vec<Option<i64>>,
    spend_lengths: Vec<usize>,
    spend_currency: Vec<String>,
    spend_lower: Vec<i64>,
    spend_upper: Vec<Option<i64>>,
    impressions: Vec<Option<CountRange>>,
    audience_size: Vec<Option<CountRange>>,
    reach: Vec<Option<CountRange>>,
    bodies: ListBuilder<StringBuilder>,
    titles: ListBuilder<StringBuilder>,
    captions: ListBuilder<StringBuilder>,
    descriptions: ListBuilder<StringBuilder>,
    link_urls: ListBuilder<StringBuilder>,
    media_type: Vec<Option<&'static str>>,
    snapshot_url: Vec<Option<String>>,
    ages: ListBuilder<StringBuilder>,
    genders: ListBuilder<StringBuilder>,
    interests: ListBuilder<StringBuilder>,
    locations_included: ListBuilder<StringBuilder>,
    locations_excluded: ListBuilder<StringBuilder>,
    other_targeting: MapBuilder<StringBuilder, ListBuilder<StringBuilder>>,
    age_gender_lengths: Vec<usize>,
    age_gender: (Vec<String>, Vec<String>, Vec<f64>),
    region_lengths: Vec<usize>,
    region_shares: (Vec<String>, Vec<f64>),
    unmapped: MapBuilder<StringBuilder, StringBuilder>,
}

fn strings() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new()).with_field(list_item())
}

fn push_strings(list: &mut ListBuilder<StringBuilder>, values: &[String]) {
    for v in values {
        list.values().append_value(v);
    }
    list.append(true);
}

/// Amounts are unsigned in the archive and signed in Parquet readers
/// (Spark has no unsigned integers); none of a real library's comes near
/// the limit.
fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn micros(t: Timestamp) -> i64 {
    let nanos = t.as_offset_date_time().unix_timestamp_nanos() / 1_000;
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

impl AdColumns {
    fn new(with_platform: bool) -> Self {
        AdColumns {
            with_platform,
            uid: Vec::new(),
            platform: Vec::new(),
            platform_ad_id: Vec::new(),
            advertiser_id: Vec::new(),
            advertiser_name: Vec::new(),
            funder: Vec::new(),
            payers: strings(),
            beneficiaries: strings(),
            countries: strings(),
            regions: strings(),
            languages: strings(),
            first_shown: Vec::new(),
            last_shown: Vec::new(),
            spend_lengths: Vec::new(),
            spend_currency: Vec::new(),
            spend_lower: Vec::new(),
            spend_upper: Vec::new(),
            impressions: Vec::new(),
            audience_size: Vec::new(),
            reach: Vec::new(),
            bodies: strings(),
            titles: strings(),
            captions: strings(),
            descriptions: strings(),
            link_urls: strings(),
            media_type: Vec::new(),
            snapshot_url: Vec::new(),
            ages: strings(),
            genders: strings(),
            interests: strings(),
            locations_included: strings(),
            locations_excluded: strings(),
            other_targeting: MapBuilder::new(None, StringBuilder::new(), strings()),
            age_gender_lengths: Vec::new(),
            age_gender: Default::default(),
            region_lengths: Vec::new(),
            region_shares: Default::default(),
            unmapped: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
        }
    }

    fn len(&self) -> usize {
        self.uid.len()
    }

    fn push(&mut self, ad: &Ad) -> Result<(), ArrowError> {
        self.uid.push(ad.uid.clone());
        self.platform.push(ad.platform.to_string());
        self.platform_ad_id.push(ad.platform_ad_id.clone());
        self.advertiser_id.push(ad.advertiser.id.clone());
        self.advertiser_name.push(ad.advertiser.name.clone());
        self.funder.push(ad.funder.clone());
        push_strings(&mut self.payers, &ad.payers);
        push_strings(&mut self.beneficiaries, &ad.beneficiaries);
        push_strings(&mut self.countries, &ad.countries);
        push_strings(&mut self.regions, &ad.regions);
        push_strings(&mut self.languages, &ad.languages);
        self.first_shown.push(ad.first_shown.map(micros));
        self.last_shown.push(ad.last_shown.map(micros));
        self.spend_lengths.push(ad.spend.len());
        for s in &ad.spend {
            self.spend_currency.push(s.currency.clone());
            self.spend_lower.push(signed(s.lower));
            self.spend_upper.push(s.upper.map(signed));
        }
        self.impressions.push(ad.impressions);
        self.audience_size.push(ad.audience_size);
        self.reach.push(ad.reach);
        let c = &ad.creative;
        push_strings(&mut self.bodies, &c.bodies);
        push_strings(&mut self.titles, &c.titles);
        push_strings(&mut self.captions, &c.captions);
        push_strings(&mut self.descriptions, &c.descriptions);
        push_strings(&mut self.link_urls, &c.link_urls);
        self.media_type
            .push(c.media_type.map(crate::index::schema::media_type_name));
        self.snapshot_url.push(c.snapshot_url.clone());
        let t = &ad.targeting;
        push_strings(&mut self.ages, &t.ages);
        push_strings(&mut self.genders, &t.genders);
        push_strings(&mut self.interests, &t.interests);
        push_strings(&mut self.locations_included, &t.locations_included);
        push_strings(&mut self.locations_excluded, &t.locations_excluded);
        for (criterion, values) in &t.other {
            self.other_targeting.keys().append_value(criterion);
            push_strings(self.other_targeting.values(), values);
        }
        self.other_targeting.append(true)?;
        self.age_gender_lengths.push(ad.delivery.age_gender.len());
        for share in &ad.delivery.age_gender {
            self.age_gender.0.push(share.age.clone());
            self.age_gender.1.push(share.gender.clone());
            self.age_gender.2.push(share.share);
        }
        self.region_lengths.push(ad.delivery.regions.len());
        for share in &ad.delivery.regions {
            self.region_shares.0.push(share.region.clone());
            self.region_shares.1.push(share.share);
        }
        for (field, value) in &ad.unmapped {
            self.unmapped.keys().append_value(field);
            self.unmapped.values().append_value(value.to_string());
        }
        self.unmapped.append(true)?;
        Ok(())
    }

    /// The columns so far as one batch; the builders start again empty.
    fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
        let mut columns: Vec<(Field, ArrayRef)> = Vec::new();
        let mut add = |field: Field, array: ArrayRef| {
            let field = field.with_data_type(array.data_type().clone());
            columns.push((field, array));
        };
        add(
            text("uid", false),
            Arc::new(StringArray::from(std::mem::take(&mut self.uid))),
        );
        let platform = StringArray::from(std::mem::take(&mut self.platform));
        if self.with_platform {
            add(text("platform", false), Arc::new(platform));
        }
        add(
            text("platform_ad_id", false),
            Arc::new(StringArray::from(std::mem::take(&mut self.platform_ad_id))),
        );
        add(
            Field::new("advertiser", DataType::Null, false),
            Arc::new(structure(
                vec![
                    (
                        text("id", true),
                        Arc::new(StringArray::from(std::mem::take(&mut self.advertiser_id))),
                    ),
                    (
                        text("name", true),
                        Arc::new(StringArray::from(std::mem::take(&mut self.advertiser_name))),
                    ),
                ],
                None,
            )?),
        );
        add(
            text("funder", true),
            Arc::new(StringArray::from(std::mem::take(&mut self.funder))),
        );
        for (name, list) in [
            ("payers", &mut self.payers),
            ("beneficiaries", &mut self.beneficiaries),
            ("countries", &mut self.countries),
            ("regions", &mut self.regions),
            ("languages", &mut self.languages),
        ] {
            add(
                Field::new(name, DataType::Null, false),
                Arc::new(list.finish()),
            );
        }
        for (name, times) in [
            ("first_shown", &mut self.first_shown),
            ("last_shown", &mut self.last_shown),
        ] {
            let array = TimestampMicrosecondArray::from(std::mem::take(times)).with_timezone("UTC");
            add(Field::new(name, DataType::Null, true), Arc::new(array));
        }
        let spend = structure(
            vec![
                (
                    text("currency", false),
                    Arc::new(StringArray::from(std::mem::take(&mut self.spend_currency))),
                ),
                (
                    Field::new("lower", DataType::Int64, false),
                    Arc::new(Int64Array::from(std::mem::take(&mut self.spend_lower))),
                ),
                (
                    Field::new("upper", DataType::Int64, true),
                    Arc::new(Int64Array::from(std::mem::take(&mut self.spend_upper))),
                ),
            ],
            None,
        )?;
        add(
            Field::new("spend", DataType::Null, false),
            Arc::new(list_of(spend, std::mem::take(&mut self.spend_lengths))?),
        );
        for (name, ranges) in [
            ("impressions", &mut self.impressions),
            ("audience_size", &mut self.audience_size),
            ("reach", &mut self.reach),
        ] {
            add(
                Field::new(name, DataType::Null, true),
                Arc::new(count_ranges(std::mem::take(ranges))?),
            );
        }
        let creative = structure(
            vec![
                list_field("bodies", &mut self.bodies),
                list_field("titles", &mut self.titles),
                list_field("captions", &mut self.captions),
                list_field("descriptions", &mut self.descriptions),
                list_field("link_urls", &mut self.link_urls),
                (
                    text("media_type", true),
                    Arc::new(StringArray::from(std::mem::take(&mut self.media_type))),
                ),
                (
                    text("snapshot_url", true),
                    Arc::new(StringArray::from(std::mem::take(&mut self.snapshot_url))),
                ),
            ],
            None,
        )?;
        add(
            Field::new("creative", DataType::Null, false),
            Arc::new(creative),
        );
        let other = Arc::new(self.other_targeting.finish());
        let targeting = structure(
            vec![
                list_field("ages", &mut self.ages),
                list_field("genders", &mut self.genders),
                list_field("interests", &mut self.interests),
                list_field("locations_included", &mut self.locations_included),
                list_field("locations_excluded", &mut self.locations_excluded),
                (Field::new("other", other.data_type().clone(), false), other),
            ],
            None,
        )?;
        add(
            Field::new("targeting", DataType::Null, false),
            Arc::new(targeting),
        );
        let (ages, genders, shares) = std::mem::take(&mut self.age_gender);
        let age_gender = structure(
            vec![
                (text("age", false), Arc::new(StringArray::from(ages))),
                (text("gender", false), Arc::new(StringArray::from(genders))),
                (
                    Field::new("share", DataType::Float64, false),
                    Arc::new(Float64Array::from(shares)),
                ),
            ],
            None,
        )?;
        let (regions, shares) = std::mem::take(&mut self.region_shares);
        let region_shares = structure(
            vec![
                (text("region", false), Arc::new(StringArray::from(regions))),
                (
                    Field::new("share", DataType::Float64, false),
                    Arc::new(Float64Array::from(shares)),
                ),
            ],
            None,
        )?;
        let age_gender = list_of(age_gender, std::mem::take(&mut self.age_gender_lengths))?;
        let region_shares = list_of(region_shares, std::mem::take(&mut self.region_lengths))?;
        let delivery = structure(
            vec![
                (
                    Field::new("age_gender", age_gender.data_type().clone(), false),
                    Arc::new(age_gender),
                ),
                (
                    Field::new("regions", region_shares.data_type().clone(), false),
                    Arc::new(region_shares),
                ),
            ],
            None,
        )?;
        add(
            Field::new("delivery", DataType::Null, false),
            Arc::new(delivery),
        );
        add(
            Field::new("unmapped", DataType::Null, false),
            Arc::new(self.unmapped.finish()),
        );
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
        RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), arrays)
    }
}

fn list_field(name: &str, list: &mut ListBuilder<StringBuilder>) -> (Field, ArrayRef) {
    let array = list.finish();
    (
        Field::new(name, array.data_type().clone(), false),
        Arc::new(array),
    )
}

/// A struct column of `children`, null where `valid` says so.
fn structure(
    children: Vec<(Field, ArrayRef)>,
    valid: Option<Vec<bool>>,
) -> Result<StructArray, ArrowError> {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = children.into_iter().unzip();
    StructArray::try_new(Fields::from(fields), arrays, valid.map(NullBuffer::from))
}

/// A list column whose rows hold `lengths` consecutive items of `items`.
fn list_of(items: StructArray, lengths: Vec<usize>) -> Result<ListArray, ArrowError> {
    let field = Arc::new(Field::new("item", items.data_type().clone(), false));
    ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(items),
        None,
    )
}

/// `{lower, upper}` structs, null where the ad has no such range.
fn count_ranges(ranges: Vec<Option<CountRange>>) -> Result<StructArray, ArrowError> {
    let valid: Vec<bool> = ranges.iter().map(Option::is_some).collect();
    let lower: Vec<i64> = ranges
        .iter()
        .map(|r| r.map_or(0, |r| signed(r.lower)))
        .collect();
    let upper: Vec<Option<i64>> = ranges
        .iter()
        .map(|r| r.and_then(|r| r.upper).map(signed))
        .collect();
    structure(
        vec![
            (
                Field::new("lower", DataType::Int64, false),
                Arc::new(Int64Array::from(lower)),
            ),
            (
                Field::new("upper", DataType::Int64, true),
                Arc::new(Int64Array::from(upper)),
            ),
        ],
        Some(valid),
    )
}

/// A Parquet file of ads, written to any output.
pub struct ParquetAds<W: Write + Send> {
    writer: ArrowWriter<W>,
    columns: AdColumns,
    ads: u64,
}

impl<W: Write + Send> ParquetAds<W> {
    /// Starts a file (with or without the `platform` column) on `out`.
    pub fn new(out: W, with_platform: bool) -> Result<Self, ParquetExportError> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("adarchive {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(ParquetAds {
            writer: ArrowWriter::try_new(out, ad_schema(with_platform), Some(properties))?,
            columns: AdColumns::new(with_platform),
            ads: 0,
        })
    }

    /// Adds an ad.
    pub fn push(&mut self, ad: &Ad) -> Result<(), ParquetExportError> {
        self.columns.push(ad)?;
        self.ads += 1;
        if self.columns.len() >= BATCH {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), ParquetExportError> {
        if self.columns.len() == 0 {
            return Ok(());
        }
        let batch = self.columns.finish()?;
        self.writer.write(&batch)?;
        if self.writer.in_progress_size() >= ROW_GROUP_BYTES {
            self.writer.flush()?;
        }
        Ok(())
    }

    /// Ads added so far.
    pub fn ads(&self) -> u64 {
        self.ads
    }

    /// Writes what is left and the footer; gives the output back.
    pub fn finish(mut self) -> Result<W, ParquetExportError> {
        self.write_batch()?;
        Ok(self.writer.into_inner()?)
    }
}

/// Bytes the Parquet writer has produced and `out` has not taken yet.
#[derive(Clone, Default)]
struct Written(Arc<std::sync::Mutex<Vec<u8>>>);

impl Written {
    /// Hands everything written so far to `out`.
    fn drain_into(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.write_all(&bytes)?;
        bytes.clear();
        Ok(())
    }
}

impl Write for Written {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes every ad matching `request` (from its `cursor` on) to `out` as
/// one Parquet file with the `platform` column. Memory holds one page of
/// ads and one row group: each row group goes to `out` once written.
/// Stops early, without error, when `out` refuses more bytes (the client
/// went away); the file is then cut short, and readers refuse it.
pub fn write_parquet(
    archive: &Archive,
    request: &SearchRequest,
    out: &mut dyn Write,
) -> Result<ExportSummary, ParquetExportError> {
    let written = Written::default();
    let mut file = ParquetAds::new(written.clone(), true)?;
    let outcome = each_ad(archive, request, |ad| {
        file.push(ad)?;
        written
            .drain_into(out)
            .map_err(|_| ParquetExportError::Stopped)
    });
    let summary = ExportSummary {
        ads: file.ads(),
        last_cursor: None,
    };
    match outcome {
        Err(ParquetExportError::Stopped) => return Ok(summary),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    file.finish()?;
    // A client gone before the footer is a client gone, not an error.
    let _ = written.drain_into(out);
    Ok(summary)
}

/// Calls `each` with every ad matching `request`, page by page from one
/// snapshot of the index; gives the cursor after the last page written,
/// which is `None` once every ad was given.
fn each_ad(
    archive: &Archive,
    request: &SearchRequest,
    mut each: impl FnMut(&Ad) -> Result<(), ParquetExportError>,
) -> Result<Option<String>, ParquetExportError> {
    let index = archive.search_index().map_err(SearchError::from)?;
    let searcher = index.searcher();
    let mut page_request = SearchRequest {
        limit: PAGE,
        facets: Vec::new(),
        snippets: false,
        ..request.clone()
    };
    loop {
        let page = search_in(archive, &searcher, &page_request)?;
        for hit in &page.results {
            each(&hit.ad)?;
        }
        match page.next_cursor {
            Some(c) => page_request.cursor = Some(c),
            None => return Ok(None),
        }
    }
}

/// What a partitioned export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionedExport {
    /// Ads written.
    pub ads: u64,
    /// The files, relative to the folder (`platform=meta/year=2024/part-00000.parquet`).
    pub files: Vec<String>,
}

/// The partition being written: its year, file and writer.
type OpenPartition = (
    String,
    PathBuf,
    ParquetAds<std::io::BufWriter<std::fs::File>>,
);

/// The Hive value of an ad's year: `__HIVE_DEFAULT_PARTITION__` (what
/// Spark, DuckDB and pyarrow read as null) when it was never shown.
fn year_of(ad: &Ad) -> String {
    ad.first_shown
        .map(|t| t.as_offset_date_time().year().to_string())
        .unwrap_or_else(|| "__HIVE_DEFAULT_PARTITION__".to_owned())
}

/// Writes every ad matching `request` into folder `out`, partitioned the
/// Hive way by platform and year of first shown
/// (`platform=meta/year=2024/part-00000.parquet`), the layout DuckDB,
/// Polars, pyarrow and Spark read as one table with `platform` and `year`
/// columns. The folder appears whole or not at all: it is written beside
/// `out` and renamed when done.
pub fn export_partitioned(
    archive: &Archive,
    request: &SearchRequest,
    out: &Path,
) -> Result<PartitionedExport, ParquetExportError> {
    if std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ParquetExportError::NotEmpty(out.to_path_buf()));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".adarchive-export-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    let mut written = PartitionedExport::default();
    // Platform by platform, oldest first: each partition's ads come
    // together, so one file is open at a time.
    for platform in adarchive_schema::Platform::ALL {
        let mut filters = request.filters.clone();
        if !filters.platform.is_empty()
            && !filters
                .platform
                .iter()
                .any(|p| p.eq_ignore_ascii_case(platform.as_str()))
        {
            continue;
        }
        filters.platform = vec![platform.as_str().to_owned()];
        let by_platform = SearchRequest {
            filters,
            sort: Some(super::Sort {
                field: super::SortField::FirstShown,
                descending: false,
            }),
            cursor: None,
            ..request.clone()
        };
        let mut open: Option<OpenPartition> = None;
        let close = |file: Option<OpenPartition>,
                     written: &mut PartitionedExport|
         -> Result<(), ParquetExportError> {
            if let Some((_, path, ads)) = file {
                written.ads += ads.ads();
                let mut buffered = ads.finish()?;
                buffered.flush().map_err(io(&path))?;
                written.files.push(
                    path.strip_prefix(staging.path())
                        .unwrap_or(&path)
                        .display()
                        .to_string(),
                );
            }
            Ok(())
        };
        each_ad(archive, &by_platform, |ad| {
            let year = year_of(ad);
            if open.as_ref().is_none_or(|(y, _, _)| *y != year) {
                close(open.take(), &mut written)?;
                let dir = staging
                    .path()
                    .join(format!("platform={}", platform.as_str()))
                    .join(format!("year={year}"));
                std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                let taken = std::fs::read_dir(&dir).map_err(io(&dir))?.count();
                let path = dir.join(format!("part-{taken:05}.parquet"));
                let file = std::fs::File::create(&path).map_err(io(&path))?;
                let ads = ParquetAds::new(std::io::BufWriter::new(file), false)?;
                open = Some((year, path, ads));
            }
            match open.as_mut() {
                Some((_, _, ads)) => ads.push(ad),
                None => Ok(()),
            }
        })?;
        close(open.take(), &mut written)?;
    }
    written.files.sort();
    // Everything is on disk before the folder takes its name.
    for file in &written.files {
        let path = staging.path().join(file);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io(&path))?;
    }
    let staged = staging.keep();
    if out.exists() {
        std::fs::remove_dir(out).map_err(io(out))?;
    }
    std::fs::rename(&staged, out).map_err(io(out))?;
    Ok(written)
}
