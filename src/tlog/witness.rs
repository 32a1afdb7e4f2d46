//! Witnessing, as C2SP `tlog-witness` and `tlog-cosignature` define it: an
//! instance cosigns the checkpoints of logs it was told to trust, each only
//! once it has checked that the checkpoint extends the last one it
//! cosigned for that log, so that a log can never show two histories; and
//! a log asks its witnesses, keeping their cosignatures to serve with its
//! checkpoint.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

use super::LogError;

/// The signed-note key type of a cosignature/v1 key.
const COSIGNATURE_V1: u8 = 0x04;

/// origin → size (8 bytes BE) ++ root (32 bytes) of the newest checkpoint
/// this instance cosigned for that log.
const WITNESSED: TableDefinition<&str, &[u8]> = TableDefinition::new("witnessed");

pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(WITNESSED)?;
    Ok(())
}

/// This instance's witness key: Ed25519, cosignature/v1, named once.
pub struct WitnessKey {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessKey")
            .field("verifier_key", &self.verifier_key())
            .finish()
    }
}

impl WitnessKey {
    /// The key kept at `path` (`<name>\n<base64 seed>\n`, owner-only), or a
    /// new one named `name` made there.
    pub fn load_or_create(path: &Path, name: &str) -> Result<WitnessKey, LogError> {
        let fail = |reason: String| LogError::Key {
            path: PathBuf::from(path),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !signed_note::is_key_name_valid(name) {
                    return Err(LogError::Origin(format!("`{name}` cannot name a witness")));
                }
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| fail(e.to_string()))?;
                let text = format!(
                    "{name}\n{}\n",
                    base64::engine::general_purpose::STANDARD.encode(seed)
                );
                super::key::write_private(path, &text)?;
                text
            }
            Err(e) => return Err(fail(e.to_string())),
        };
        let mut lines = text.lines();
        let (Some(name), Some(seed)) = (lines.next(), lines.next()) else {
            return Err(fail("not a witness key".into()));
        };
        let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(seed)
            .ok()
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| fail("not a witness key".into()))?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(WitnessKey {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// Its name, as it signs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its verifier key: `<name>+<id>+base64(0x04 || key)`.
    pub fn verifier_key(&self) -> String {
        let mut typed = vec![COSIGNATURE_V1];
        typed.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex(&self.id),
            base64::engine::general_purpose::STANDARD.encode(typed)
        )
    }

    /// The cosignature/v1 line of a checkpoint's note text, at `time`
    /// (seconds since 1970, not 0).
    fn cosign(&self, text: &[u8], time: u64) -> String {
        let mut message = format!("cosignature/v1\ntime {time}\n").into_bytes();
        message.extend_from_slice(text);
        let signature = self.key.sign(&message);
        let mut raw = self.id.to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&signature.to_bytes());
        format!(
            "\u{2014} {} {}\n",
            self.name,
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut typed = vec![COSIGNATURE_V1];
    typed.extend_from_slice(public);
    signed_note::key_id(name, &typed).to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a cosignature line of `verifier_key` (a cosignature/v1 key) on
/// a checkpoint's note text; its time.
pub fn check_cosignature(verifier_key: &str, text: &[u8], line: &str) -> Option<u64> {
    let mut parts = verifier_key.trim().splitn(3, '+');
    let (name, id, key) = (parts.next()?, parts.next()?, parts.next()?);
    let key = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    let (&kind, public) = key.split_first()?;
    let public: [u8; 32] = public.try_into().ok()?;
    if kind != COSIGNATURE_V1 || hex(&key_id(name, &public)) != id {
        return None;
    }
    let (signer, encoded) = line.trim_end().strip_prefix("\u{2014} ")?.split_once(' ')?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    if signer != name || raw.len() != 4 + 8 + 64 || hex(&raw[..4]) != id {
        return None;
    }
    let time = u64::from_be_bytes(raw[4..12].try_into().ok()?);
    let mut message = format!("cosignature/v1\ntime {time}\n").into_bytes();
    message.extend_from_slice(text);
    let signature = ed25519_dalek::Signature::from_slice(&raw[12..]).ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&public)
        .ok()?
        .verify_strict(&message, &signature)
        .ok()?;
    Some(time)
}

/// How a witness answers an add-checkpoint request (C2SP `tlog-witness`).
#[derive(Debug, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// 200: the cosignature line.
    Cosigned(String),
    /// 400: the request is malformed, or its old size is past the
    /// checkpoint's.
    BadRequest(String),
    /// 403: not signed by the log's key.
    Forbidden(String),
    /// 404: a log this witness does not know.
    UnknownLog(String),
    /// 409: the old size is not the one last cosigned; that size.
    Conflict(u64),
    /// 422: the checkpoint does not extend the one last cosigned.
    Inconsistent(String),
}

/// Answers an add-checkpoint `body` for the logs `trusted` (their
/// verifier keys, named by their origins), cosigning with `key` and
/// recording the newest checkpoint cosigned per log in `txn`; the caller
/// commits `txn` before answering, and holds one write transaction at a
/// time, which makes the check and the update one step.
pub fn add_checkpoint(
    txn: &WriteTransaction,
    trusted: &[String],
    key: &WitnessKey,
    body: &[u8],
) -> Result<WitnessAnswer, LogError> {
    let Some((old, proof, note)) = parse_request(body) else {
        return Ok(WitnessAnswer::BadRequest(
            "not an add-checkpoint request: `old N`, the proof's lines, an empty line, the checkpoint".into(),
        ));
    };
    let Ok(parsed) = Note::from_bytes(note) else {
        return Ok(WitnessAnswer::BadRequest(
            "the checkpoint is not a signed note".into(),
        ));
    };
    let Ok(checkpoint) = Checkpoint::from_bytes(parsed.text()) else {
        return Ok(WitnessAnswer::BadRequest(
            "the checkpoint's text is malformed".into(),
        ));
    };
    let origin = checkpoint.origin();
    let Some(log_key) = trusted.iter().find(|k| k.split('+').next() == Some(origin)) else {
        return Ok(WitnessAnswer::UnknownLog(format!(
            "no log `{origin}` is witnessed here"
        )));
    };
    let verifiers = match StandardVerifier::new(log_key) {
        Ok(v) => VerifierList::new(vec![Box::new(v)]),
        Err(e) => return Err(LogError::Origin(format!("the key of `{origin}`: {e}"))),
    };
    if parsed.verify(&verifiers).is_err() {
        return Ok(WitnessAnswer::Forbidden(format!(
            "the checkpoint is not signed by the key of `{origin}`"
        )));
    }
    let size = checkpoint.size();
    if old > size {
        return Ok(WitnessAnswer::BadRequest(format!(
            "old size {old} is past the checkpoint's {size}"
        )));
    }
    let mut table = txn.open_table(WITNESSED)?;
    let (latest, latest_root) = match table.get(origin)? {
        Some(v) => decode_state(v.value())
            .ok_or_else(|| LogError::Tree(format!("the state of `{origin}` is unreadable")))?,
        None => (0, tlog_tiles::EMPTY_HASH),
    };
    if old != latest {
        return Ok(WitnessAnswer::Conflict(latest));
    }
    let root = *checkpoint.hash();
    let consistent = if size == 0 {
        root == tlog_tiles::EMPTY_HASH && proof.is_empty()
    } else if old == 0 {
        proof.is_empty()
    } else if old == size {
        proof.is_empty() && root == latest_root
    } else {
        tlog_tiles::check_tree(&proof, size, root, old, latest_root).is_ok()
    };
    if !consistent {
        return Ok(WitnessAnswer::Inconsistent(format!(
            "the checkpoint of {size} entries does not extend the one of {old} cosigned before"
        )));
    }
    let mut state = size.to_be_bytes().to_vec();
    state.extend_from_slice(&root.0);
    table.insert(origin, &state[..])?;
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1));
    Ok(WitnessAnswer::Cosigned(key.cosign(parsed.text(), time)))
}

fn decode_state(bytes: &[u8]) -> Option<(u64, Hash)> {
    let (size, root) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*size), Hash(root.try_into().ok()?)))
}

/// `old N\n`, proof lines, `\n`, the note.
fn parse_request(body: &[u8]) -> Option<(u64, Vec<Hash>, &[u8])> {
    let split = body.windows(2).position(|w| w == b"\n\n")?;
    let head = std::str::from_utf8(&body[..split]).ok()?;
    let note = &body[split + 2..];
    let mut lines = head.split('\n');
    let old = lines.next()?.strip_prefix("old ")?;
    if old.len() > 1 && old.starts_with('0') {
        return None;
    }
    let old: u64 = old.parse().ok()?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == 63 {
            return None;
        }
        let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(line)
            .ok()?
            .try_into()
            .ok()?;
        proof.push(Hash(bytes));
    }
    Some((old, proof, note))
}

/// The body of an add-checkpoint request: `old`, the consistency proof
/// from it, and the signed checkpoint.
pub fn add_checkpoint_request(old: u64, proof: &[Hash], checkpoint: &[u8]) -> Vec<u8> {
    let mut body = format!("old {old}\n").into_bytes();
    for hash in proof {
        body.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(hash.0)
                .as_bytes(),
        );
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(checkpoint);
    body
}

/// witness name → size (8 bytes BE) ++ the cosignature line it gave for
/// this log's checkpoint of that size.
const COSIGNATURES: TableDefinition<&str, &[u8]> = TableDefinition::new("log_cosignatures");

pub(crate) fn create_log_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(COSIGNATURES)?;
    Ok(())
}

/// A witness this log asks to cosign its checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    /// Its address (`https://witness.example.org`); requests go to
    /// `<url>/v1/witness/add-checkpoint`.
    pub url: String,
    /// Its cosignature/v1 verifier key.
    pub verifier_key: String,
}

impl std::str::FromStr for Witness {
    type Err = String;

    /// `URL,VERIFIER_KEY`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (url, key) = text
            .split_once(',')
            .ok_or_else(|| format!("`{text}` is not URL,VERIFIER_KEY"))?;
        Ok(Witness {
            url: url.trim_end_matches('/').to_owned(),
            verifier_key: key.trim().to_owned(),
        })
    }
}

impl crate::archive::Archive {
    /// This instance's witness key, kept at `<data>/log/witness-key`, made
    /// named `name` on first use.
    pub fn witness_key(&self, name: &str) -> crate::Result<WitnessKey> {
        let path = self.log_key_path().with_file_name("witness-key");
        Ok(WitnessKey::load_or_create(&path, name)?)
    }

    /// Answers an add-checkpoint request as a witness of the logs
    /// `trusted`; the newest cosigned checkpoint of each is durable before
    /// the answer.
    pub fn witness_add_checkpoint(
        &self,
        trusted: &[String],
        key: &WitnessKey,
        body: &[u8],
    ) -> crate::Result<WitnessAnswer> {
        let txn = self.db().begin_write()?;
        let answer = add_checkpoint(&txn, trusted, key, body)?;
        if matches!(answer, WitnessAnswer::Cosigned(_)) {
            self.commit(txn)?;
            self.checkpoint()?;
        }
        Ok(answer)
    }

    /// The newest checkpoint with the cosignatures its witnesses gave it.
    pub fn log_checkpoint_cosigned(&self) -> crate::Result<Option<Vec<u8>>> {
        let txn = self.db().begin_read()?;
        let Some(mut note) = super::checkpoint(&txn)? else {
            return Ok(None);
        };
        let size = super::tree_size(&txn)?;
        for item in txn.open_table(COSIGNATURES)?.iter()? {
            let (_, value) = item?;
            if let Some((at, line)) = value.value().split_first_chunk::<8>() {
                if u64::from_be_bytes(*at) == size {
                    note.extend_from_slice(line);
                }
            }
        }
        Ok(Some(note))
    }

    /// Asks each witness to cosign the newest checkpoint, from the size it
    /// cosigned last; keeps each cosignature that verifies. Returns what
    /// went wrong, one line per witness.
    pub fn ask_witnesses(&self, witnesses: &[Witness]) -> crate::Result<Vec<String>> {
        let mut failures = Vec::new();
        let txn = self.db().begin_read()?;
        let Some(note) = super::checkpoint(&txn)? else {
            return Ok(failures);
        };
        let size = super::tree_size(&txn)?;
        let text_len = note
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(note.len(), |at| at + 1);
        let text = note[..text_len].to_vec();
        let mut asked = Vec::new();
        {
            let table = txn.open_table(COSIGNATURES)?;
            for witness in witnesses {
                let name = witness.verifier_key.split('+').next().unwrap_or_default();
                let last = table
                    .get(name)?
                    .and_then(|v| {
                        v.value()
                            .split_first_chunk::<8>()
                            .map(|(s, _)| u64::from_be_bytes(*s))
                    })
                    .unwrap_or(0);
                if last != size {
                    asked.push((witness, name.to_owned(), last));
                }
            }
        }
        drop(txn);
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| LogError::Tree(e.to_string()))?;
        for (witness, name, mut old) in asked {
            let url = format!("{}/v1/witness/add-checkpoint", witness.url);
            // One retry: a 409 names the size the witness holds.
            let mut answer = None;
            for _ in 0..2 {
                let proof = if old > 0 && old < size {
                    self.log_consistency(old, size)?.hashes
                } else {
                    Vec::new()
                };
                let body = add_checkpoint_request(old, &proof, &note);
                match client.post(&url).body(body).send() {
                    Ok(r) if r.status() == reqwest::StatusCode::CONFLICT => {
                        let held = r.text().ok().and_then(|t| t.trim().parse().ok());
                        match held {
                            Some(held) if held != old => old = held,
                            _ => break,
                        }
                    }
                    Ok(r) if r.status().is_success() => {
                        answer = r.text().ok();
                        break;
                    }
                    Ok(r) => {
                        failures.push(format!(
                            "{url}: {} {}",
                            r.status(),
                            r.text().unwrap_or_default().trim()
                        ));
                        break;
                    }
                    Err(e) => {
                        failures.push(format!("{url}: {e}"));
                        break;
                    }
                }
            }
            let Some(lines) = answer else { continue };
            let Some(line) = lines
                .lines()
                .find(|l| check_cosignature(&witness.verifier_key, &text, l).is_some())
            else {
                failures.push(format!(
                    "{url}: no cosignature by {} verifies",
                    witness.verifier_key
                ));
                continue;
            };
            let txn = self.db().begin_write()?;
            {
                let mut table = txn.open_table(COSIGNATURES)?;
                let mut value = size.to_be_bytes().to_vec();
                value.extend_from_slice(format!("{line}\n").as_bytes());
                table.insert(name.as_str(), &value[..])?;
            }
            self.commit(txn)?;
        }
        Ok(failures)
    }
}
