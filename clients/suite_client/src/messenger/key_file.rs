//! A messenger client's keys on disk: its principal and handle, its X25519 secrets by epoch (old
//! ones stay, so old messages stay readable) and the group keys it was given. One JSON file,
//! readable only by its owner (mode 0600 on Unix).
//!
//! A save never leaves a half-written file: the keys go to a temporary file in the same folder,
//! are flushed to disk, and only then replace the old file by a rename (atomic on one file
//! system). A save refuses to overwrite the keys of another principal, since losing them loses
//! that user's messages.

use super::Client;
use candid::Principal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use x25519_dalek::StaticSecret;

const FORMAT: &str = "sovereign-suite-messenger-keys";
const VERSION: u32 = 1;

#[derive(Debug, PartialEq, Eq)]
pub enum KeyFileError {
    /// Reading or writing the file failed.
    Io { path: PathBuf, reason: String },
    /// The file is not a key file of this format and version, or a field is malformed.
    Invalid { path: PathBuf, reason: String },
    /// The file holds another principal's keys; it was left as it was.
    OtherPrincipal { path: PathBuf, holds: Principal },
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Io { path, reason } => write!(f, "key file {}: {reason}", path.display()),
            KeyFileError::Invalid { path, reason } => write!(f, "key file {} is not valid: {reason}", path.display()),
            KeyFileError::OtherPrincipal { path, holds } => {
                write!(f, "key file {} holds the keys of {holds}; refusing to overwrite them", path.display())
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    version: u32,
    principal: String,
    handle: String,
    epoch: u32,
    /// Epoch → hex of the 32-byte X25519 secret.
    secrets: BTreeMap<u32, String>,
    group_keys: Vec<StoredGroupKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredGroupKey {
    conversation: u64,
    epoch: u32,
    key: String,
}

/// Writes `client`'s keys to `path` (created with its folder, or replaced if it holds the same
/// principal's keys).
pub fn save(client: &Client, path: &Path) -> Result<(), KeyFileError> {
    let io = |reason: String| KeyFileError::Io { path: path.to_path_buf(), reason };
    if path.exists() {
        let holds = load(path)?.principal;
        if holds != client.principal {
            return Err(KeyFileError::OtherPrincipal { path: path.to_path_buf(), holds });
        }
    }
    let stored = Stored {
        format: FORMAT.into(),
        version: VERSION,
        principal: client.principal.to_text(),
        handle: client.handle.clone(),
        epoch: client.epoch,
        secrets: client.secrets.iter().map(|(e, s)| (*e, hex::encode(s.to_bytes()))).collect(),
        group_keys: client
            .group_keys
            .iter()
            .map(|((conversation, epoch), key)| StoredGroupKey { conversation: *conversation, epoch: *epoch, key: hex::encode(key) })
            .collect(),
    };
    let text = serde_json::to_vec_pretty(&stored).map_err(|e| io(format!("encoding: {e}")))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(format!("creating {}: {e}", dir.display())))?;
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("keys"), std::process::id()));
    let written = write_private(&tmp, &text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e.to_string()));
    }
    Ok(())
}

/// Creates `path` readable by its owner only, writes `bytes` and flushes them to disk.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Reads the keys saved at `path`.
pub fn load(path: &Path) -> Result<Client, KeyFileError> {
    let invalid = |reason: String| KeyFileError::Invalid { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| KeyFileError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if stored.format != FORMAT || stored.version != VERSION {
        return Err(invalid(format!("format {:?} version {} (expected {FORMAT:?} version {VERSION})", stored.format, stored.version)));
    }
    let principal = Principal::from_text(&stored.principal).map_err(|e| invalid(format!("principal: {e}")))?;
    let mut secrets = BTreeMap::new();
    for (epoch, text) in &stored.secrets {
        secrets.insert(*epoch, StaticSecret::from(key32(text).map_err(|e| invalid(format!("secret of epoch {epoch}: {e}")))?));
    }
    if !secrets.contains_key(&stored.epoch) {
        return Err(invalid(format!("no secret for the current epoch {}", stored.epoch)));
    }
    let mut group_keys = BTreeMap::new();
    for g in &stored.group_keys {
        let key = key32(&g.key).map_err(|e| invalid(format!("group key of conversation {} epoch {}: {e}", g.conversation, g.epoch)))?;
        group_keys.insert((g.conversation, g.epoch), key);
    }
    Ok(Client { principal, handle: stored.handle, epoch: stored.epoch, secrets, group_keys })
}

fn key32(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text).map_err(|e| e.to_string())?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("{} bytes, expected 32", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messenger::seal;
    use interfaces::messaging::{MessageContent, MessageView, PublicKeyRecord};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("suite-key-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn view(sender: Principal, envelope: interfaces::messaging::Envelope) -> MessageView {
        MessageView { seq: 1, sender, sent_at_ns: 0, edit_count: 0, edited_at_ns: None, content: MessageContent::Envelope(envelope) }
    }

    #[test]
    fn saved_keys_open_the_same_messages_after_loading() {
        let path = dir("round-trip").join("bob.keys");
        let alice = Client::new(Principal::from_slice(&[1; 29]), "alice");
        let mut bob = Client::new(Principal::from_slice(&[2; 29]), "bob");
        let record = |c: &Client| PublicKeyRecord { user: c.principal, public_key: c.public_key(), epoch: c.epoch, since_ns: 0 };
        let (envelope, key) = seal(7, alice.principal, 0, b"salaam", &[record(&alice), record(&bob)]);
        bob.group_keys.insert((9, 2), key);
        save(&bob, &path).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!((loaded.principal, loaded.handle.as_str(), loaded.epoch), (bob.principal, "bob", 1));
        assert_eq!(loaded.public_key(), bob.public_key());
        assert_eq!(loaded.open(7, &view(alice.principal, envelope)).as_deref(), Some(&b"salaam"[..]));
        assert_eq!(loaded.group_keys.get(&(9, 2)), Some(&key));
        #[cfg(unix)]
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions()) & 0o777, 0o600);
        // Saving again (e.g. after a key rotation) replaces the file; no temporary file is left.
        save(&loaded, &path).unwrap();
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("bob.keys")]);
    }

    #[test]
    fn another_principals_keys_are_never_overwritten() {
        let path = dir("other").join("keys.json");
        save(&Client::new(Principal::from_slice(&[1; 29]), "alice"), &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = save(&Client::new(Principal::from_slice(&[2; 29]), "bob"), &path).unwrap_err();
        assert!(matches!(err, KeyFileError::OtherPrincipal { holds, .. } if holds == Principal::from_slice(&[1; 29])), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_damaged_file_is_refused_with_its_path_and_left_alone() {
        let d = dir("damaged");
        std::fs::create_dir_all(&d).unwrap();
        let cases = [
            ("truncated", r#"{"format":"sovereign-suite-messenger-keys","version":1,"#.to_string()),
            ("version", r#"{"format":"sovereign-suite-messenger-keys","version":9,"principal":"2vxsx-fae","handle":"a","epoch":1,"secrets":{},"group_keys":[]}"#.to_string()),
            ("short-secret", r#"{"format":"sovereign-suite-messenger-keys","version":1,"principal":"2vxsx-fae","handle":"a","epoch":1,"secrets":{"1":"abcd"},"group_keys":[]}"#.to_string()),
            ("no-current-secret", format!(r#"{{"format":"sovereign-suite-messenger-keys","version":1,"principal":"2vxsx-fae","handle":"a","epoch":2,"secrets":{{"1":"{}"}},"group_keys":[]}}"#, "00".repeat(32))),
        ];
        for (name, text) in cases {
            let path = d.join(name);
            std::fs::write(&path, &text).unwrap();
            let err = load(&path).err().expect("refused");
            assert!(matches!(err, KeyFileError::Invalid { .. }) && err.to_string().contains(name), "{name}: {err}");
            // Saving over a damaged file is refused too: it cannot be told whose keys it held.
            assert!(save(&Client::new(Principal::from_slice(&[1; 29]), "a"), &path).is_err(), "{name}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{name}: left as it was");
        }
        let missing = load(&d.join("missing")).err().expect("refused");
        assert!(matches!(missing, KeyFileError::Io { .. }) && missing.to_string().contains("missing"));
    }
}
