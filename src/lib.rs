//! adarchive: an archive and search engine for political ads.
//!
//! The original export files are the ground truth: [`archive`] keeps each
//! one verbatim by its blake3 hash, and derives normalized records, their
//! versions and their provenance from them with the importers of
//! [`adarchive_importers`]. [`ingest`] brings files in; [`archive::check`] verifies
//! and rebuilds everything from the stored bytes.

pub mod advertisers;
pub mod api;
pub mod archive;
pub mod cache;
pub mod changes;
pub mod collect;
pub mod error;
pub mod index;
pub mod ingest;
pub mod keys;
pub mod search;
pub mod spend;
pub mod tasks;
pub mod tlog;
pub mod web;

pub use adarchive_generate as generate;
pub use archive::check;
pub use error::{Error, Result};
