//! `adarchive log verify`: everything a log says of itself, checked from
//! its entries up, whether read from a data folder or from a server.
//!
//! The tree is recomputed from the entries alone; every stored hash (or
//! served tile), every checkpoint's signature and root, the manifest's
//! sources and a checkpoint the user saved earlier are compared with it.

use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash, HashReader};

use super::paths::{TileKind, TilePath, TILE_WIDTH};
use super::LogEntry;

/// What a log shows of itself, however it was read.
#[derive(Debug, Default)]
pub struct LogView {
    /// Every entry's text, in order.
    pub entries: Vec<Vec<u8>>,
    /// The tree's hashes as the log keeps or serves them: each hash tile
    /// with its bytes.
    pub tiles: Vec<(TilePath, Vec<u8>)>,
    /// Signed checkpoints, newest last (a data folder keeps one per size;
    /// a server shows its newest).
    pub checkpoints: Vec<Vec<u8>>,
    /// The verifier key the log names for itself.
    pub verifier_key: String,
    /// The manifest: each source's import sequence number, blake3 and
    /// size.
    pub manifest: Vec<(u64, String, u64)>,
}

/// What the check found.
#[derive(Debug, Default, serde::Serialize)]
pub struct LogReport {
    /// The log's origin.
    pub origin: String,
    /// Entries in the newest checkpoint's tree.
    pub size: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Hash tiles compared with the recomputed tree.
    pub tiles: u64,
    /// The size of the saved checkpoint found consistent, when one was
    /// given.
    pub consistent_since: Option<u64>,
    /// Everything wrong, each naming what and where.
    pub problems: Vec<String>,
}

impl LogReport {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The tree's stored hashes, recomputed from the entries.
struct Recomputed(Vec<Hash>);

impl HashReader for Recomputed {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                self.0
                    .get(usize::try_from(i).map_err(|_| tlog_tiles::Error::IndexesNotInTree)?)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Checks `view`: with `trusted_key`, a verifier key the user holds, every
/// checkpoint must be signed by it (else by the key the log names); with
/// `since`, a checkpoint saved earlier, the log must extend it.
pub fn verify_log(view: &LogView, trusted_key: Option<&str>, since: Option<&[u8]>) -> LogReport {
    let mut report = LogReport::default();
    if view.entries.is_empty() && view.checkpoints.is_empty() {
        // Nothing logged, nothing signed yet: only the manifest can be
        // ahead of it.
        for (seq, blake3, _) in &view.manifest {
            report.problems.push(format!(
                "source {seq} of the manifest ({blake3}) is not in the log"
            ));
        }
        return report;
    }
    let key = trusted_key.unwrap_or(&view.verifier_key).trim();
    if let Some(trusted) = trusted_key {
        if trusted.trim() != view.verifier_key.trim() {
            report.problems.push(format!(
                "the log names the key {}, not the key you trust ({})",
                view.verifier_key.trim(),
                trusted.trim()
            ));
        }
    }
    let verifiers = match StandardVerifier::new(key) {
        Ok(v) => VerifierList::new(vec![Box::new(v)]),
        Err(e) => {
            report
                .problems
                .push(format!("`{key}` is not a signed-note verifier key: {e}"));
            return report;
        }
    };

    // The tree, from the entries alone.
    let mut tree = Recomputed(Vec::new());
    for (index, entry) in view.entries.iter().enumerate() {
        match tlog_tiles::stored_hashes(index as u64, entry, &tree) {
            Ok(hashes) => tree.0.extend(hashes),
            Err(e) => {
                report.problems.push(format!("entry {index}: {e}"));
                return report;
            }
        }
        if LogEntry::parse(entry).is_none() {
            report
                .problems
                .push(format!("entry {index} is not a source entry"));
        }
    }
    let size = view.entries.len() as u64;
    report.size = size;

    // Every checkpoint: signed by the key, and the root of the tree of
    // its size.
    for note in &view.checkpoints {
        match open_checkpoint(note, &verifiers) {
            Ok(checkpoint) => {
                report.origin = checkpoint.origin().to_owned();
                report.checkpoints += 1;
                let at = checkpoint.size();
                if at > size {
                    report.problems.push(format!(
                        "the checkpoint of size {at} is larger than the log's {size} entries"
                    ));
                    continue;
                }
                match tlog_tiles::tree_hash(at, &tree) {
                    Ok(root) if root == *checkpoint.hash() => {}
                    Ok(_) => report.problems.push(format!(
                        "the checkpoint of size {at} does not match the entries: an entry or the checkpoint was changed"
                    )),
                    Err(e) => report.problems.push(format!("size {at}: {e}")),
                }
            }
            Err(e) => report.problems.push(e),
        }
    }
    match view
        .checkpoints
        .last()
        .map(|n| open_checkpoint(n, &verifiers))
    {
        Some(Ok(newest)) if newest.size() != size => report.problems.push(format!(
            "the newest checkpoint is of {} entries, the log has {size}",
            newest.size()
        )),
        None if size > 0 => report.problems.push("the log has no checkpoint".into()),
        _ => {}
    }

    // Every hash tile, against the recomputed tree.
    for (tile, data) in &view.tiles {
        report.tiles += 1;
        let TileKind::Hashes(level) = tile.kind else {
            continue;
        };
        let expected =
            tlog_tiles::Tile::new(super::TILE_HEIGHT, level, tile.index, tile.width, false)
                .read_data(&tree);
        match expected {
            Ok(expected) if expected == *data => {}
            Ok(_) => report.problems.push(format!(
                "tile {tile} does not hold the hashes of the entries: it was changed"
            )),
            Err(_) => report
                .problems
                .push(format!("tile {tile} is beyond the log's {size} entries")),
        }
    }

    // The manifest's sources, and nothing else, in order.
    if view.manifest.len() as u64 != size {
        report.problems.push(format!(
            "the manifest lists {} sources, the log {size} entries",
            view.manifest.len()
        ));
    }
    for (seq, blake3, bytes) in &view.manifest {
        let logged = usize::try_from(*seq)
            .ok()
            .and_then(|i| view.entries.get(i))
            .and_then(|e| LogEntry::parse(e));
        match logged {
            Some(entry) if entry.blake3 == *blake3 && entry.size == *bytes => {}
            Some(entry) => report.problems.push(format!(
                "source {seq} of the manifest is {blake3} ({bytes} bytes); the log has {} ({} bytes) there: the manifest was rewritten",
                entry.blake3, entry.size
            )),
            None => report.problems.push(format!(
                "source {seq} of the manifest ({blake3}) is not in the log"
            )),
        }
    }

    // A checkpoint saved earlier: signed by the same key, and the tree of
    // its size is the start of this one.
    if let Some(saved) = since {
        match open_checkpoint(saved, &verifiers) {
            Ok(old) => {
                let proved = tlog_tiles::tree_hash(size, &tree).and_then(|root| {
                    if old.size() == 0 || old.size() > size {
                        return Err(tlog_tiles::Error::IndexesNotInTree);
                    }
                    let proof = tlog_tiles::prove_tree(size, old.size(), &tree)?;
                    tlog_tiles::check_tree(&proof, size, root, old.size(), *old.hash())
                });
                match proved {
                    Ok(()) => report.consistent_since = Some(old.size()),
                    Err(_) => report.problems.push(format!(
                        "the saved checkpoint of size {} is not the start of this log: the log was rewritten since",
                        old.size()
                    )),
                }
            }
            Err(e) => report.problems.push(format!("the saved checkpoint: {e}")),
        }
    }
    report
}

fn open_checkpoint(note: &[u8], verifiers: &VerifierList) -> Result<Checkpoint, String> {
    let parsed =
        Note::from_bytes(note).map_err(|e| format!("a checkpoint is not a signed note: {e}"))?;
    let checkpoint = Checkpoint::from_bytes(parsed.text())
        .map_err(|e| format!("a checkpoint's text is malformed: {e}"))?;
    parsed.verify(verifiers).map_err(|e| {
        format!(
            "the checkpoint of size {} is not signed by the log's key ({e}): the key was swapped or the checkpoint forged",
            checkpoint.size()
        )
    })?;
    Ok(checkpoint)
}

/// Every hash tile of a tree of `size` entries, full and partial, level by
/// level: what a client reads to check the whole tree.
pub fn tiles_of(size: u64) -> Vec<TilePath> {
    let mut tiles = Vec::new();
    let mut level = 0u8;
    let mut span: u64 = 1;
    while size >= span && level <= 7 {
        let count = size / span;
        let width = u64::from(TILE_WIDTH);
        for index in 0..count.div_ceil(width) {
            let this = (count - index * width).min(width);
            tiles.push(TilePath {
                kind: TileKind::Hashes(level),
                index,
                width: u32::try_from(this).unwrap_or(TILE_WIDTH),
            });
        }
        level += 1;
        span = span.saturating_mul(width);
        if span == u64::MAX {
            break;
        }
    }
    tiles
}

/// The entry bundles of a tree of `size` entries.
pub fn bundles_of(size: u64) -> Vec<TilePath> {
    let width = u64::from(TILE_WIDTH);
    (0..size.div_ceil(width))
        .map(|index| TilePath {
            kind: TileKind::Entries,
            index,
            width: u32::try_from((size - index * width).min(width)).unwrap_or(TILE_WIDTH),
        })
        .collect()
}

/// The entries of an entry bundle; `None` when it is malformed.
pub fn split_bundle(bundle: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut entries = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let (length, tail) = rest.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_be_bytes(*length));
        if tail.len() < length {
            return None;
        }
        entries.push(tail[..length].to_vec());
        rest = &tail[length..];
    }
    Some(entries)
}
