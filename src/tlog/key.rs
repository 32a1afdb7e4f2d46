//! The log's Ed25519 signing key: made on first use, kept in the data
//! folder readable by its owner alone, and never served; only its verifier
//! key is.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use signed_note::{Note, StandardSigner};
use tlog_tiles::{Checkpoint, Hash};

use super::LogError;

/// The name of a log made without `--log-origin`, before a part unique to
/// its key.
pub const DEFAULT_ORIGIN_PREFIX: &str = "adarchive.invalid/log-";

/// The signed-note key type of Ed25519.
const ED25519: u8 = 0x01;

/// The signing key of one archive's log, named by the log's origin.
pub struct LogKey {
    signer: StandardSigner,
    origin: String,
    verifier_key: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private half is never printed.
        f.debug_struct("LogKey")
            .field("origin", &self.origin)
            .field("verifier_key", &self.verifier_key)
            .finish()
    }
}

impl LogKey {
    /// The key kept at `path`, or a new one made there. `origin` names a
    /// new log; for an existing key it must be the name it was made with
    /// (a log's origin never changes: clients know it by it). Without one,
    /// a new log is named [`DEFAULT_ORIGIN_PREFIX`] and part of its key's
    /// hash.
    pub fn load_or_create(path: &Path, origin: Option<&str>) -> Result<LogKey, LogError> {
        if let Some(origin) = origin {
            check_origin(origin)?;
        }
        let key = match fs::read_to_string(path) {
            Ok(text) => LogKey::from_private(path, text.trim())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LogKey::create(path, origin)?,
            Err(e) => return Err(key_error(path, e)),
        };
        match origin {
            Some(asked) if asked != key.origin => Err(LogError::Origin(format!(
                "the log in this data folder is named `{}`, not `{asked}`; a log's origin cannot change",
                key.origin
            ))),
            _ => Ok(key),
        }
    }

    /// The key kept at `path`; an error when there is none.
    pub fn read(path: &Path) -> Result<LogKey, LogError> {
        let text = fs::read_to_string(path).map_err(|e| key_error(path, e))?;
        LogKey::from_private(path, text.trim())
    }

    fn from_private(path: &Path, skey: &str) -> Result<LogKey, LogError> {
        let signer = StandardSigner::new(skey).map_err(|e| key_error(path, e))?;
        // PRIVATE+KEY+<name>+<id>+<base64(type || seed)>
        let mut parts = skey.splitn(5, '+');
        let (origin, encoded) = match (parts.nth(2), parts.nth(1)) {
            (Some(name), Some(encoded)) => (name.to_owned(), encoded),
            _ => return Err(key_error(path, "not a signed-note private key")),
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| key_error(path, e))?;
        let seed: [u8; 32] = match raw.as_slice() {
            [ED25519, seed @ ..] => seed
                .try_into()
                .map_err(|_| key_error(path, "not an Ed25519 key"))?,
            _ => return Err(key_error(path, "not an Ed25519 key")),
        };
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        Ok(LogKey {
            signer,
            verifier_key: signed_note::new_ed25519_verifier_key(&origin, &public),
            origin,
        })
    }

    fn create(path: &Path, origin: Option<&str>) -> Result<LogKey, LogError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| key_error(path, e))?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let origin = match origin {
            Some(o) => o.to_owned(),
            None => format!(
                "{DEFAULT_ORIGIN_PREFIX}{}",
                &blake3::hash(public.as_bytes()).to_hex()[..16]
            ),
        };
        let mut typed = vec![ED25519];
        typed.extend_from_slice(public.as_bytes());
        let id = signed_note::key_id(&origin, &typed);
        let mut private = vec![ED25519];
        private.extend_from_slice(&seed);
        let skey = format!(
            "PRIVATE+KEY+{origin}+{id:08x}+{}",
            base64::engine::general_purpose::STANDARD.encode(&private)
        );
        write_private(path, &skey)?;
        LogKey::from_private(path, &skey)
    }

    /// The log's origin, the first line of its checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed-note verifier key line (`<origin>+<id>+<key>`).
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The signed checkpoint of a tree of `size` entries with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<Vec<u8>, LogError> {
        let checkpoint = Checkpoint::new(&self.origin, size, root, "")
            .map_err(|e| LogError::Tree(e.to_string()))?;
        let mut note =
            Note::new(&checkpoint.to_bytes(), &[]).map_err(|e| LogError::Tree(e.to_string()))?;
        note.add_sigs(&[&self.signer])
            .map_err(|e| LogError::Tree(e.to_string()))?;
        Ok(note.to_bytes())
    }
}

/// A log origin must be one word without `+` (a signed-note key name) and
/// should be a URL without its scheme.
fn check_origin(origin: &str) -> Result<(), LogError> {
    if signed_note::is_key_name_valid(origin) && origin.len() <= 256 {
        Ok(())
    } else {
        Err(LogError::Origin(format!(
            "`{origin}` cannot name a log: one word of at most 256 characters, no `+`, such as ads.example.org/log"
        )))
    }
}

/// Writes the private key readable by its owner alone, whole or not at all.
pub(super) fn write_private(path: &Path, skey: &str) -> Result<(), LogError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| key_error(path, e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| key_error(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| key_error(path, e))?;
    }
    file.write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| key_error(path, e))?;
    // Never replace a key: two processes making one at once keep the first.
    file.persist_noclobber(path)
        .map_err(|e| key_error(path, e.error))?;
    Ok(())
}

fn key_error(path: &Path, reason: impl std::fmt::Display) -> LogError {
    LogError::Key {
        path: PathBuf::from(path),
        reason: reason.to_string(),
    }
}
