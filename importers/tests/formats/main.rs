//! The importers' tests, in one binary: every format against its fixtures,
//! the real samples, damaged and re-saved copies.

mod common;
mod detection;
mod google_ads_transparency;
mod google_bigquery;
mod linkedin_ad_library;
mod meta_shapes;
mod microsoft_ad_library;
mod robustness;
mod samples;
mod spend_reports;
mod tiktok_commercial_content;
mod x_political_ads;
