//! The command line's arguments, declared once with clap.

use std::path::PathBuf;

use adarchive::api::startup;
use adarchive::search::filters::FilterText;
use adarchive::search::{Filters, SearchError};
use clap::{Parser, Subcommand};

/// An archive and search engine for political ads from every platform's ad library.
#[derive(Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// The archive's data folder.
    #[arg(
        long,
        global = true,
        env = "ADARCHIVE_DATA",
        default_value = "adarchive-data"
    )]
    pub(crate) data: PathBuf,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Import export files, folders and zip bundles into the archive.
    ///
    /// Formats are detected from the content. Rows that cannot be read are
    /// quarantined with their line and field; every other row imports. Exits
    /// 0 when every file was recognized, 1 otherwise.
    Import(ImportArgs),
    /// Re-hash every stored source, re-derive every record from its raw
    /// bytes and check every version chain. Exits 1 on any mismatch.
    Verify(VerifyArgs),
    /// Bring the search index up to date with the archive: index the
    /// sources imported since its last commit, or with --all recreate it.
    Reindex(ReindexArgs),
    /// Re-derive everything from the stored sources.
    Rebuild(RebuildArgs),
    /// Search the archive: the latest version of every ad.
    ///
    /// QUERY: words (all must match), "exact phrases", -excluded words, OR
    /// between alternatives, and field:value (country:NL, platform:meta,
    /// creative:…, advertiser:…, funder:…, targeting:…).
    Search(SearchArgs),
    /// Spend totals of the matching ads, grouped, as summed lower and upper
    /// bounds per currency.
    Spend(SpendArgs),
    /// Write every matching ad out: NDJSON or CSV to a file (or standard
    /// output), or Apache Parquet into a folder partitioned by platform and
    /// year (`platform=meta/year=2024/part-00000.parquet`), which DuckDB,
    /// Polars, pyarrow and Spark read as one table.
    Export(ExportArgs),
    /// What changed between complete listings (Snap's yearly files,
    /// Google's creative stats, X's disclosure file): ads new to a scope,
    /// changed (with the fields that changed), absent once, vanished
    /// (absent from two listings in a row) and back. The query and filters
    /// choose the ads. With --scopes, every scope's listings instead.
    Changes(ChangesArgs),
    /// What the data folder holds and where its bytes go: counts, the
    /// size of the database, the index and the stored files, and each
    /// table of the database.
    Stats(StatsArgs),
    /// Give the database's free pages back to the disk (after a large
    /// import or a rebuild). Needs the archive to itself: stop the server
    /// first.
    Compact,
    /// Advertisers across platforms: identities joined by shared official
    /// identifiers, Google id mappings, or (marked as such) names alone.
    Advertisers(AdvertisersArgs),
    /// Serve the public search API (docs at /docs) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Generate sample exports, import them into a fresh archive, and serve it.
    Demo(DemoArgs),
    /// Fetch a platform's published library and import what it gives.
    ///
    /// Each answer is stored verbatim as a source, with the request it
    /// answered (never a credential) and the time. A run stopped at any
    /// moment resumes where it was; exits 1 when anything failed.
    Collect(CollectArgs),
    /// Keys for the ingest API (`/v1/admin/…`), which is off until one is
    /// made. A key is shown once when made; only its hash is kept.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The transparency log of every archived source (see docs/trust.md).
    #[command(subcommand)]
    Log(LogCommand),
    /// Write realistic exports in every supported format (Google, Meta, Snap,
    /// Microsoft, TikTok, LinkedIn, X, Google Ads Transparency Center).
    GenerateSamples(GenerateSamplesArgs),
}

/// The arguments of `import`.
#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// Read every file as this format instead of detecting it.
    /// Zip bundles are still opened and their members detected.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(adarchive_importers::format_names()))]
    pub(crate) format: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The name of the archive's transparency log (a URL without its
    /// scheme, such as ads.example.org/log), set once: when its key is
    /// made; afterwards it must be the same or absent.
    #[arg(long, env = "ADARCHIVE_LOG_ORIGIN")]
    pub(crate) log_origin: Option<String>,
    /// Compact the database once the files are imported, as `adarchive
    /// compact` does (for loading an archive in bulk: its tables written
    /// as full pages, its free pages given back). Needs the archive to
    /// itself: refused while a server holds it.
    #[arg(long)]
    pub(crate) compact: bool,
    /// Do not update the search index now (for loading many files):
    /// the next import, or `adarchive reindex`, indexes what was imported.
    #[arg(long)]
    pub(crate) no_index: bool,
    /// The country of a Meta Ad Library Report whose file name lost it
    /// (ISO code or English name); recorded in the manifest.
    #[arg(long, value_name = "COUNTRY", value_parser = parse_report_country)]
    pub(crate) report_country: Option<&'static str>,
    /// The date of a Meta Ad Library Report whose file name lost it
    /// (YYYY-MM-DD); recorded in the manifest.
    #[arg(long, value_name = "DATE", value_parser = parse_report_date)]
    pub(crate) report_date: Option<time::Date>,
    /// The period of a Meta Ad Library Report whose file name lost it;
    /// recorded in the manifest.
    #[arg(long, value_name = "PERIOD", value_parser = clap::builder::PossibleValuesParser::new(adarchive_importers::meta_ad_library_report::PERIODS))]
    pub(crate) report_period: Option<String>,
    /// `partial` when the files are not complete listings whatever their
    /// format and names say (an excerpt, a query's answer), or the scope
    /// each is a complete listing of (`snap:2024`, `google:creative-stats`)
    /// when its name does not say it. Without it, each format decides.
    #[arg(long, value_name = "partial|SCOPE")]
    pub(crate) listing: Option<String>,
    /// Files, folders or zip bundles.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

/// The arguments of `verify`.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The arguments of `reindex`.
#[derive(clap::Args)]
pub(crate) struct ReindexArgs {
    /// Recreate the whole index.
    #[arg(long)]
    pub(crate) all: bool,
}

/// The arguments of `stats`.
#[derive(clap::Args)]
pub(crate) struct StatsArgs {
    /// Print them as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The arguments of `rebuild`.
#[derive(clap::Args)]
pub(crate) struct RebuildArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The arguments of `search`.
#[derive(clap::Args)]
pub(crate) struct SearchArgs {
    /// Print the page as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Results per page (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    /// relevance, spend_lower, spend_upper, first_shown, last_shown or
    /// impressions, optionally with :asc or :desc.
    #[arg(long, default_value = "")]
    pub(crate) sort: String,
    /// Facets to count, comma-separated (platform,country,language,currency,
    /// media_type,advertiser,advertiser_id,funder,region,gender,age).
    #[arg(long, value_delimiter = ',')]
    pub(crate) facets: Vec<String>,
    #[command(flatten)]
    pub(crate) filters: FilterArgs,
    /// The query.
    pub(crate) query: Vec<String>,
}

/// The arguments of `changes`.
#[derive(clap::Args)]
pub(crate) struct ChangesArgs {
    /// Print the page as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// List every scope with the size of each listing instead.
    #[arg(long)]
    pub(crate) scopes: bool,
    /// Only changes of listings archived at or after this date or time
    /// (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Kinds of change: new, changed, missing_once, vanished, reappeared.
    #[arg(long, value_delimiter = ',')]
    pub(crate) kind: Vec<String>,
    /// Scopes (snap:2024, google:creative-stats; see --scopes).
    #[arg(long, value_delimiter = ',')]
    pub(crate) scope: Vec<String>,
    /// Changes per page (at most 1000).
    #[arg(long, default_value_t = adarchive::changes::DEFAULT_LIMIT)]
    pub(crate) limit: usize,
    /// Continue after the page that printed this cursor.
    #[arg(long)]
    pub(crate) cursor: Option<String>,
    #[command(flatten)]
    pub(crate) filters: FilterArgs,
    /// The query.
    pub(crate) query: Vec<String>,
}

/// The arguments of `export`.
#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// ndjson, csv or parquet.
    #[arg(long, default_value = "ndjson")]
    pub(crate) format: String,
    /// The file to write (NDJSON, CSV; standard output without it), or
    /// the folder to create (Parquet: it must be new or empty). It appears
    /// whole once the export has ended, never half-written.
    #[arg(long)]
    pub(crate) out: Option<std::path::PathBuf>,
    /// relevance, spend_lower, spend_upper, first_shown, last_shown or
    /// impressions, optionally with :asc or :desc (NDJSON and CSV; a
    /// Parquet folder is written oldest first within each partition).
    #[arg(long, default_value = "")]
    pub(crate) sort: String,
    #[command(flatten)]
    pub(crate) filters: FilterArgs,
    /// The query.
    pub(crate) query: Vec<String>,
}

/// The arguments of `spend`.
#[derive(clap::Args)]
pub(crate) struct SpendArgs {
    /// advertiser, funder, platform, country, region, week or month.
    #[arg(long)]
    pub(crate) group_by: String,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub(crate) json: bool,
    /// Print CSV for spreadsheets (UTF-8 with a byte-order mark).
    #[arg(long)]
    pub(crate) csv: bool,
    /// Which spend reports give the report-level figures: advertiser,
    /// advertiser_in_region, location, advertiser_week or geo.
    #[arg(long, default_value = "advertiser")]
    pub(crate) report_kind: String,
    /// Only reports of these periods (yesterday, last_7_days, last_30_days,
    /// last_90_days, lifetime, this_week, to_date, week, all_time).
    #[arg(long)]
    pub(crate) period: Vec<String>,
    /// Also show every figure converted into this currency at imported ECB
    /// reference rates (an estimate, beside the published figures).
    #[arg(long)]
    pub(crate) convert_to: Option<String>,
    /// Most groups listed.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    #[command(flatten)]
    pub(crate) filters: FilterArgs,
    /// A query restricting the ads.
    pub(crate) query: Vec<String>,
}

/// The arguments of `advertisers`.
#[derive(clap::Args)]
pub(crate) struct AdvertisersArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only advertisers on these platforms.
    #[arg(long)]
    pub(crate) platform: Vec<String>,
    /// Show one advertiser (`adv-…`) with its spend.
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// Most advertisers listed.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: usize,
    /// Words of a name, funder or key.
    pub(crate) query: Vec<String>,
}

/// The arguments of `serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ADARCHIVE_BIND", default_value = "127.0.0.1:8080")]
    pub(crate) bind: String,
    #[command(flatten)]
    pub(crate) limits: ServeLimits,
}

/// The arguments of `collect`.
#[derive(clap::Args)]
pub(crate) struct CollectArgs {
    /// What to fetch: google-creative-stats (Google's bundle zip),
    /// snap-political-ads (Snap's yearly zips), meta-ads-archive (Meta's
    /// Graph API; token in META_ACCESS_TOKEN), microsoft-ad-library
    /// (public), linkedin-ad-library (token in LINKEDIN_ACCESS_TOKEN),
    /// tiktok-commercial-content (TIKTOK_CLIENT_KEY, TIKTOK_CLIENT_SECRET).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(adarchive::collect::Collector::ALL.map(|(n, _)| n)))]
    pub(crate) format: String,
    /// Fetch from here instead of the published address (a mirror, a test
    /// server): the bundle's address, Snap's base, or the base of Meta's,
    /// Microsoft's, LinkedIn's or TikTok's API.
    #[arg(long, value_name = "URL")]
    pub(crate) api_base: Option<String>,
    /// snap-political-ads: a year to fetch (repeatable).
    #[arg(long = "year")]
    pub(crate) years: Vec<u16>,
    /// Countries: Meta's `ad_reached_countries` (ISO codes), Microsoft's
    /// `countryCodes` (its numeric codes), LinkedIn's `countries`, TikTok's
    /// `country_code` (repeatable or comma-separated).
    #[arg(long = "country", value_delimiter = ',')]
    pub(crate) countries: Vec<String>,
    /// Words to look for: `search_terms` (Meta), `searchText` (Microsoft),
    /// `keyword` (LinkedIn), `search_term` (TikTok).
    #[arg(long)]
    pub(crate) search_terms: Option<String>,
    /// Advertisers: Meta's `search_page_ids`, Microsoft's `advertiserId`,
    /// LinkedIn's `advertiser`, TikTok's `advertiser_business_ids`
    /// (repeatable or comma-separated).
    #[arg(long = "search-page-id", value_delimiter = ',')]
    pub(crate) search_page_ids: Vec<String>,
    /// meta-ads-archive: `ad_type` (default POLITICAL_AND_ISSUE_ADS).
    #[arg(long)]
    pub(crate) ad_type: Option<String>,
    /// meta-ads-archive: `ad_active_status`, ALL (the default), ACTIVE
    /// or INACTIVE.
    #[arg(long, value_parser = ["ALL", "ACTIVE", "INACTIVE"])]
    pub(crate) ad_active_status: Option<String>,
    /// meta-ads-archive: ask for every ad of the query again, not only
    /// those delivered since the last complete run. A whole run is a
    /// complete listing of the query: `adarchive changes` tells what it
    /// added, changed and lost since the last one.
    #[arg(long)]
    pub(crate) whole: bool,
    /// The first day (YYYY-MM-DD): Meta's `ad_delivery_date_min`,
    /// Microsoft's `startDate`, TikTok's published-date range.
    #[arg(long)]
    pub(crate) ad_delivery_date_min: Option<String>,
    /// The last day (YYYY-MM-DD): Meta's `ad_delivery_date_max`,
    /// Microsoft's `endDate`, TikTok's published-date range.
    #[arg(long)]
    pub(crate) ad_delivery_date_max: Option<String>,
    /// meta-ads-archive: `fields` (default: every field adarchive reads).
    #[arg(long)]
    pub(crate) fields: Option<String>,
    /// Ads per page: Meta's `limit` (default 250), TikTok's `max_count`
    /// (at most 50).
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Attempts of one request, the first included.
    #[arg(long, default_value_t = 5)]
    pub(crate) attempts: u32,
    /// Seconds one attempt may take, its body included.
    #[arg(long, default_value_t = 300)]
    pub(crate) timeout: u64,
    /// Milliseconds to wait before the first retry (doubling after).
    #[arg(long, default_value_t = 2000)]
    pub(crate) backoff_ms: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What `keys` does.
#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a key and print it, once.
    Create {
        /// What the key is for (letters, digits, `.`, `_`, `-`); tasks it
        /// starts are marked with it.
        #[arg(long)]
        name: String,
    },
    /// List the keys made: names and dates, never a key.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        /// The key's name.
        name: String,
    },
}

/// What `log` does.
#[derive(Subcommand)]
pub(crate) enum LogCommand {
    /// Check the log from its entries up: every checkpoint's signature and
    /// root, every tile of hashes, every manifest source in it and nothing
    /// else, and that it extends a checkpoint saved earlier. Exits 1 on any
    /// problem.
    Verify(LogVerifyArgs),
}

/// The arguments of `log verify`.
#[derive(clap::Args)]
pub(crate) struct LogVerifyArgs {
    /// Check the log a server serves (https://ads.example.org) instead of
    /// the one in the data folder.
    #[arg(long)]
    pub(crate) server: Option<String>,
    /// The verifier key you trust (the line `/v1/log/key` gave you, or a
    /// file holding it): every checkpoint must be signed by it.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// A checkpoint saved earlier (`/v1/log/checkpoint`): the log must
    /// extend it.
    #[arg(long)]
    pub(crate) since: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The arguments of `demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// How many ads to generate.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) ads: u64,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) bind: String,
}

/// The arguments of `generate-samples`.
#[derive(clap::Args)]
pub(crate) struct GenerateSamplesArgs {
    /// Folder to write into.
    pub(crate) out: PathBuf,
    /// How many ads in all.
    #[arg(long, default_value_t = 1000)]
    pub(crate) ads: u64,
    /// Seed; the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// How many advertisers: `realistic` (a few dozen, each with many
    /// ads) or `one-per-ad` (every Google, Meta and Snap ad its own, as
    /// Meta's page ids give).
    #[arg(long, default_value = "realistic")]
    pub(crate) advertisers: adarchive::generate::AdvertiserShape,
    /// How each platform's ads are split into files: `many` (Google's
    /// bundle, Meta's API pages of 2,000 ads, Snap's CSV) or
    /// `one-per-platform` (one large file each: Google's creative stats as
    /// CSV, Meta's ads as one JSON Lines file, Snap's CSV).
    #[arg(long, default_value = "many")]
    pub(crate) files: adarchive::generate::FileShape,
}

/// Writes the filter flags shared by `search` and `spend` from the one
/// declaration of the filters ([`adarchive::with_filters`]).
macro_rules! filter_args {
    (
        {}
        lists: [ $( $list:ident: $list_help:literal, )* ],
        texts: [ $( $text:ident: $text_help:literal, )* ],
        flags: [ $( $flag:ident: $flag_help:literal, )* ],
        dates: [ $( $date:ident: $date_help:literal, )* ],
        amounts: [ $( $amount:ident: $amount_help:literal, )* ],
    ) => {
        /// Filters shared by `search` and `spend`. Repeat a flag for several
        /// values.
        #[derive(clap::Args, Default)]
        pub(crate) struct FilterArgs {
            $( #[doc = $list_help] #[arg(long, value_delimiter = ',')] $list: Vec<String>, )*
            $( #[doc = $text_help] #[arg(long)] $text: Vec<String>, )*
            $( #[doc = $flag_help] #[arg(long)] $flag: Option<bool>, )*
            $( #[doc = $date_help] #[arg(long)] $date: Option<String>, )*
            $( #[doc = $amount_help] #[arg(long)] $amount: Option<String>, )*
        }

        impl FilterArgs {
            pub(crate) fn into_filters(self) -> anyhow::Result<Filters> {
                FilterText {
                    $( $list: self.$list, )*
                    $( $text: self.$text, )*
                    $( $flag: self.$flag.map(|v| v.to_string()), )*
                    $( $date: self.$date, )*
                    $( $amount: self.$amount, )*
                }
                .parse()
                .map_err(flag_error)
            }
        }
    };
}

adarchive::with_filters!(filter_args {});

/// A value the core refused, named as the flag it was given with.
pub(crate) fn flag_error(e: SearchError) -> anyhow::Error {
    match e {
        SearchError::BadParameter { param, message } => {
            anyhow::anyhow!("--{}: {message}", param.replace('_', "-"))
        }
        other => other.into(),
    }
}

impl SearchArgs {
    /// `--sort`, typed; empty means the default order.
    pub(crate) fn sort(&self) -> anyhow::Result<Option<adarchive::search::Sort>> {
        sort_flag(&self.sort)
    }
}

/// A `--sort` flag, typed; empty means the default order.
pub(crate) fn sort_flag(text: &str) -> anyhow::Result<Option<adarchive::search::Sort>> {
    let text = text.trim();
    (!text.is_empty())
        .then(|| text.parse().map_err(flag_error))
        .transpose()
}

/// What a public server allows each client and all of them.
#[derive(clap::Args)]
pub(crate) struct ServeLimits {
    /// Requests per second per client (an IPv4 address or an IPv6 /64;
    /// bursts of twice that), each weighed by its work: a request costs one
    /// for every 4 ms it took, at least one. 0: no per-client limits at all.
    #[arg(long, env = "ADARCHIVE_RATE_LIMIT", default_value_t = startup::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Requests one client may have in flight at once.
    #[arg(long, env = "ADARCHIVE_MAX_IN_FLIGHT", default_value_t = startup::DEFAULT_MAX_IN_FLIGHT)]
    max_in_flight: u32,
    /// Exports running at once, over all clients.
    #[arg(long, env = "ADARCHIVE_MAX_EXPORTS", default_value_t = startup::DEFAULT_MAX_EXPORTS)]
    max_exports: usize,
    /// Exports one client may run at once.
    #[arg(long, env = "ADARCHIVE_MAX_EXPORTS_PER_CLIENT", default_value_t = startup::DEFAULT_MAX_EXPORTS_PER_CLIENT)]
    max_exports_per_client: usize,
    /// A reverse proxy (address or network, e.g. 10.0.0.0/8) whose
    /// X-Forwarded-For header names the client; repeat for several.
    /// Without one, the header is ignored.
    #[arg(long = "trusted-proxy", env = "ADARCHIVE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// The largest upload the ingest API takes, in bytes (all files of one
    /// request together).
    #[arg(long, env = "ADARCHIVE_MAX_UPLOAD_BYTES", default_value_t = startup::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: u64,
    /// Uploads the ingest API receives at once.
    #[arg(long, env = "ADARCHIVE_MAX_UPLOADS", default_value_t = startup::DEFAULT_MAX_UPLOADS)]
    max_uploads: usize,
    /// A collection to run at start and then every --every, its answers
    /// imported as they come: `FORMAT[:name=value,…]`, e.g.
    /// `meta-ads-archive:country=NL,search_terms=*` (the token in
    /// META_ACCESS_TOKEN), `snap-political-ads:year=2026`,
    /// `google-creative-stats`. Repeatable.
    #[arg(long = "collect", value_name = "COLLECTION")]
    collect: Vec<adarchive::collect::schedule::Scheduled>,
    /// The period of the collections: 24h, 30m, 1d.
    #[arg(long, default_value = "24h", value_parser = adarchive::collect::schedule::period)]
    every: std::time::Duration,
    /// Bytes of answers (searches, spend totals, the search page) kept for
    /// repeated requests until the archive changes; 0 keeps none.
    #[arg(long, env = "ADARCHIVE_CACHE_BYTES", default_value_t = startup::DEFAULT_CACHE_BYTES)]
    cache_bytes: usize,
    /// The name of the archive's transparency log (a URL without its
    /// scheme, such as ads.example.org/log), set once: when its key is
    /// made; afterwards it must be the same or absent.
    #[arg(long, env = "ADARCHIVE_LOG_ORIGIN")]
    log_origin: Option<String>,
    /// Witness the log with this verifier key (`/v1/log/key` of another
    /// instance): cosign its checkpoints at /v1/witness/add-checkpoint,
    /// each once it extends the last. Repeatable.
    #[arg(long = "witness-for", value_name = "VERIFIER_KEY")]
    witness_for: Vec<String>,
    /// Ask this witness to cosign this log's checkpoints:
    /// `URL,VERIFIER_KEY` (its address and its `/v1/witness/key`).
    /// Repeatable.
    #[arg(long = "witness", value_name = "URL,VERIFIER_KEY")]
    witnesses: Vec<adarchive::tlog::Witness>,
}

impl ServeLimits {
    pub(crate) fn config(self, data: PathBuf, bind: String) -> startup::ApiConfig {
        startup::ApiConfig {
            data,
            bind,
            rate_limit: self.rate_limit,
            max_in_flight: self.max_in_flight,
            max_exports: self.max_exports,
            max_exports_per_client: self.max_exports_per_client,
            trusted_proxies: self.trusted_proxies,
            max_upload_bytes: self.max_upload_bytes,
            max_uploads: self.max_uploads,
            cache_bytes: self.cache_bytes,
            collect: self.collect,
            collect_every: self.every,
            log_origin: self.log_origin,
            witness_for: self.witness_for,
            witnesses: self.witnesses,
            ..startup::ApiConfig::default()
        }
    }
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.2`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an address or a network such as 10.0.0.0/8"))
}

pub(crate) fn parse_report_country(value: &str) -> Result<&'static str, String> {
    adarchive_importers::normalize::country_code(value)
        .ok_or_else(|| format!("`{value}` is no country code or English country name"))
}

fn parse_report_date(value: &str) -> Result<time::Date, String> {
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("`{value}` is not a date (YYYY-MM-DD)"))
}
