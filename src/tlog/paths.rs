//! The C2SP `tlog-tiles` names of tiles and entry bundles:
//! `<L>/<N>[.p/<W>]` under `tile/` and `entries/<N>[.p/<W>]`, the index
//! `N` written in groups of three digits, every group but the last
//! prefixed with `x`.

use std::fmt;

/// Tiles are 2⁸ hashes wide.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u32 = 1 << TILE_HEIGHT;

/// Levels above this would stand for more entries than a u64 counts.
const MAX_LEVEL: u8 = 7;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Hashes of tree level `8 × L`.
    Hashes(u8),
    /// The entries themselves (an entry bundle).
    Entries,
}

/// One tile or entry bundle, by its path under `tile/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePath {
    /// Hashes of which level, or entries.
    pub kind: TileKind,
    /// Its index within its level.
    pub index: u64,
    /// How many hashes or entries: [`TILE_WIDTH`] for a full tile.
    pub width: u32,
}

impl TilePath {
    /// Reads a path under `tile/`; `None` unless it is one in its only
    /// spelling.
    pub fn parse(path: &str) -> Option<TilePath> {
        let (kind, rest) = path.split_once('/')?;
        let kind = match kind {
            "entries" => TileKind::Entries,
            level => {
                let level: u8 = level.parse().ok()?;
                if level > MAX_LEVEL || level.to_string() != kind {
                    return None;
                }
                TileKind::Hashes(level)
            }
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w: u32 = width.parse().ok()?;
                if !(1..TILE_WIDTH).contains(&w) || w.to_string() != width {
                    return None;
                }
                (index, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index.split('/').collect();
        let (last, leading) = groups.split_last()?;
        let mut n: u64 = 0;
        for (i, group) in leading.iter().map(|g| g.strip_prefix('x')).enumerate() {
            let group = group?;
            // No leading zero groups: one spelling per index.
            if i == 0 && group == "000" {
                return None;
            }
            n = n.checked_mul(1000)?.checked_add(three_digits(group)?)?;
        }
        n = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
        // A tile's first entry, N × 256^(L+1), must be countable.
        let level = match kind {
            TileKind::Hashes(l) => u32::from(l),
            TileKind::Entries => 0,
        };
        n.checked_mul(1u64.checked_shl(8 * (level + 1))?)?;
        Some(TilePath {
            kind,
            index: n,
            width,
        })
    }

    /// Whether it is a full tile (a partial one is a prefix of it).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }
}

fn three_digits(group: &str) -> Option<u64> {
    if group.len() == 3 && group.bytes().all(|b| b.is_ascii_digit()) {
        group.parse().ok()
    } else {
        None
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes(level) => write!(f, "{level}/")?,
            TileKind::Entries => f.write_str("entries/")?,
        }
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for (i, group) in groups.iter().rev().enumerate() {
            let prefix = if i + 1 < groups.len() { "x" } else { "" };
            let slash = if i + 1 < groups.len() { "/" } else { "" };
            write!(f, "{prefix}{group:03}{slash}")?;
        }
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_back_as_written() {
        for (path, kind, index, width) in [
            ("0/000", TileKind::Hashes(0), 0, 256),
            ("0/x001/234.p/5", TileKind::Hashes(0), 1234, 5),
            ("2/x001/x234/067", TileKind::Hashes(2), 1_234_067, 256),
            ("entries/042.p/255", TileKind::Entries, 42, 255),
        ] {
            let parsed = TilePath::parse(path).unwrap();
            assert_eq!(parsed, TilePath { kind, index, width }, "{path}");
            assert_eq!(parsed.to_string(), path);
        }
        for wrong in [
            "0/1",
            "0/0000",
            "0/x000/001",
            "0/001.p/256",
            "0/001.p/0",
            "0/001.p/05",
            "8/000",
            "00/000",
            "data/000",
            "0/x001",
            "0/001/",
            "-1/000",
            "0/x99999999999999999/000",
        ] {
            assert_eq!(TilePath::parse(wrong), None, "{wrong}");
        }
    }
}
