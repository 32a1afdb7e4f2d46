//! The end-to-end tests, in one binary so that two cores link it once:
//! the real binary, the archive on disk, and the HTTP server on a random
//! port called with a real client.

mod util;

mod advertisers;
mod api;
mod archive;
mod browser;
mod changes;
mod collect;
mod crash;
mod damaged;
mod export;
mod ingest;
mod live;
mod log;
mod platforms;
mod samples;
mod search;
mod spend_audit;
mod web;
mod wild_files;
