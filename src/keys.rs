//! Keys for the ingest API: made by `adarchive keys create`, shown once,
//! and kept only as their blake3 hash.
//!
//! The hashes live in `<data>/keys.json` (owner-only), beside the archive
//! and never in it. A key is 256 random bits, so a fast hash is as good as
//! a slow one: nobody can guess a key from its hash. The server reads the
//! file on each admin request, so a key made or revoked takes effect at
//! once, and with no key in force the admin API does not exist.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use adarchive_schema::Timestamp;
use serde::{Deserialize, Serialize};

/// The file of key hashes in the data folder.
pub const KEYS_FILE: &str = "keys.json";
/// What every key starts with, so that a key found in a log or a paste can
/// be recognized (and revoked) by anyone.
pub const KEY_PREFIX: &str = "adarchive_key_";

/// A key as kept: its name and hash, never the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The name it was made with.
    pub name: String,
    /// blake3 of the key, in hex.
    pub blake3: String,
    /// When it was made (UTC).
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

/// Why the keys could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keys file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The keys file is not what adarchive writes.
    #[error("{path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A name that cannot be used.
    #[error("a key name is 1 to 64 letters, digits, `.`, `_` or `-`; `{0}` is not one")]
    BadName(String),
    /// A key in force has that name already.
    #[error("a key named `{0}` is in force already; revoke it first or choose another name")]
    Taken(String),
    /// No key in force has that name.
    #[error("no key in force is named `{0}`")]
    Unknown(String),
    /// The system gave no randomness.
    #[error("no random bytes for a key: {0}")]
    Random(String),
}

/// The keys of one data folder.
pub struct Keys {
    path: PathBuf,
}

fn now() -> Timestamp {
    Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc())
}

fn hash_of(key: &str) -> blake3::Hash {
    blake3::hash(key.as_bytes())
}

impl Keys {
    /// The keys of the data folder `data`.
    pub fn of(data: &Path) -> Keys {
        Keys {
            path: data.join(KEYS_FILE),
        }
    }

    fn io(&self, source: std::io::Error) -> KeyError {
        KeyError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Every key made, revoked ones too, oldest first.
    pub fn list(&self) -> Result<Vec<StoredKey>, KeyError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| KeyError::Damaged {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }

    /// Whether any key is in force (the admin API exists only then).
    pub fn any_in_force(&self) -> Result<bool, KeyError> {
        Ok(self.list()?.iter().any(|k| k.revoked_at.is_none()))
    }

    /// Makes a key named `name`; gives the key, which is kept nowhere.
    ///
    /// ```
    /// use adarchive::keys::Keys;
    /// let dir = tempfile::tempdir().unwrap();
    /// let keys = Keys::of(dir.path());
    /// let key = keys.create("loader").unwrap();
    /// assert_eq!(keys.holder(&key).unwrap().as_deref(), Some("loader"));
    /// assert!(!std::fs::read_to_string(dir.path().join("keys.json")).unwrap().contains(&key));
    /// keys.revoke("loader").unwrap();
    /// assert_eq!(keys.holder(&key).unwrap(), None);
    /// ```
    pub fn create(&self, name: &str) -> Result<String, KeyError> {
        let valid = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(KeyError::BadName(name.escape_debug().to_string()));
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = format!("{KEY_PREFIX}{}", blake3::Hash::from_bytes(random).to_hex());
        self.change(|keys| {
            if keys
                .iter()
                .any(|k| k.name == name && k.revoked_at.is_none())
            {
                return Err(KeyError::Taken(name.to_owned()));
            }
            keys.push(StoredKey {
                name: name.to_owned(),
                blake3: hash_of(&key).to_hex().to_string(),
                created_at: now(),
                revoked_at: None,
            });
            Ok(())
        })?;
        Ok(key)
    }

    /// Revokes the key in force named `name`.
    pub fn revoke(&self, name: &str) -> Result<(), KeyError> {
        self.change(|keys| {
            let key = keys
                .iter_mut()
                .find(|k| k.name == name && k.revoked_at.is_none())
                .ok_or_else(|| KeyError::Unknown(name.escape_debug().to_string()))?;
            key.revoked_at = Some(now());
            Ok(())
        })
    }

    /// The name of the key in force that `presented` is, if it is one.
    /// Every key's hash is compared, each in constant time.
    pub fn holder(&self, presented: &str) -> Result<Option<String>, KeyError> {
        let presented = hash_of(presented);
        let mut holder = None;
        for key in self.list()? {
            let Ok(stored) = blake3::Hash::from_hex(&key.blake3) else {
                continue;
            };
            // blake3::Hash compares in constant time.
            if stored == presented && key.revoked_at.is_none() {
                holder = Some(key.name);
            }
        }
        Ok(holder)
    }

    /// Reads, changes and writes the keys under an exclusive lock, and
    /// replaces the file whole: a reader never sees half of it.
    fn change(
        &self,
        edit: impl FnOnce(&mut Vec<StoredKey>) -> Result<(), KeyError>,
    ) -> Result<(), KeyError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let lock = File::create(dir.join("keys.lock")).map_err(|e| self.io(e))?;
        let _held = Locked::exclusive(&lock).map_err(|e| self.io(e))?;
        let mut keys = self.list()?;
        edit(&mut keys)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| self.io(e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(|e| self.io(e))?;
        }
        let json =
            serde_json::to_vec_pretty(&keys).map_err(|e| self.io(std::io::Error::other(e)))?;
        tmp.write_all(&json).map_err(|e| self.io(e))?;
        tmp.as_file().sync_all().map_err(|e| self.io(e))?;
        tmp.persist(&self.path).map_err(|e| self.io(e.error))?;
        Ok(())
    }
}

/// An advisory lock on a file, released when dropped.
struct Locked<'f>(&'f File);

impl<'f> Locked<'f> {
    fn exclusive(file: &'f File) -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock(2) on a descriptor this process owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(Locked(file))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: as above.
            unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::of(dir.path());
        assert!(!keys.any_in_force().unwrap());
        for bad in ["", "a b", "<script>", "ключ", &"x".repeat(65)] {
            assert!(
                matches!(keys.create(bad), Err(KeyError::BadName(_))),
                "{bad}"
            );
        }
        let first = keys.create("ops").unwrap();
        assert!(first.starts_with(KEY_PREFIX));
        assert_eq!(first.len(), KEY_PREFIX.len() + 64);
        assert!(matches!(keys.create("ops"), Err(KeyError::Taken(_))));
        let second = keys.create("loader").unwrap();
        assert_ne!(first, second);
        assert_eq!(keys.holder(&second).unwrap().as_deref(), Some("loader"));
        assert_eq!(keys.holder("adarchive_key_00").unwrap(), None);
        assert_eq!(keys.holder("").unwrap(), None);
        keys.revoke("ops").unwrap();
        assert!(matches!(keys.revoke("ops"), Err(KeyError::Unknown(_))));
        assert_eq!(keys.holder(&first).unwrap(), None);
        assert!(keys.any_in_force().unwrap());
        // A revoked name can be made again, as a new key.
        let again = keys.create("ops").unwrap();
        assert_eq!(keys.holder(&again).unwrap().as_deref(), Some("ops"));
        assert_eq!(keys.list().unwrap().len(), 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
