//! The messenger's client side: X25519 key pairs, sealing and opening envelopes, exactly as
//! canisters/messaging/README.md describes (X25519 key agreement, HKDF-SHA256, ChaCha20-Poly1305).
//! The canister only ever receives and returns ciphertext envelopes.

pub mod key_file;

use crate::call::update1;
use crate::env::Env;
use candid::Principal;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use interfaces::messaging::*;
use sha2::Sha256;
use std::collections::BTreeMap;
use x25519_dalek::{PublicKey, StaticSecret};


/// Domain-separation label of this scheme's version.
pub const SCHEME: &[u8] = b"sovereign-messaging/v1";

/// Associated data of a message: binds the ciphertext to its conversation, sender and key
/// epoch, so the canister (or anyone) cannot move it elsewhere undetected.
pub fn message_aad(conversation_id: u64, sender: Principal, key_epoch: u32) -> Vec<u8> {
    let mut aad = SCHEME.to_vec();
    aad.extend_from_slice(&conversation_id.to_be_bytes());
    aad.extend_from_slice(sender.as_slice());
    aad.extend_from_slice(&key_epoch.to_be_bytes());
    aad
}

/// The key-encryption key for one recipient: HKDF-SHA256 over the X25519 shared secret, salted
/// with both public keys.
fn wrapping_key(shared: &[u8; 32], ephemeral_public: &[u8; 32], recipient_public: &[u8; 32]) -> Key {
    let mut salt = ephemeral_public.to_vec();
    salt.extend_from_slice(recipient_public);
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared).expand(b"sovereign-messaging/v1/wrap", &mut okm).expect("32 bytes is a valid HKDF length");
    Key::from(okm)
}

/// Each wrapping key encrypts exactly one content key, so a fixed nonce is safe.
const WRAP_NONCE: [u8; 12] = [0; 12];

fn to_array(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32-byte key")
}

/// Encrypts `plaintext` under a fresh content key and wraps that key for every recipient (their
/// current keys from the key directory). Returns the envelope and the content key.
pub fn seal(conversation_id: u64, sender: Principal, key_epoch: u32, plaintext: &[u8], recipients: &[PublicKeyRecord]) -> (Envelope, [u8; 32]) {
    let content_key = ChaCha20Poly1305::generate_key(&mut OsRng);
    let ephemeral = StaticSecret::random_from_rng(OsRng);
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let wrapped_keys = recipients
        .iter()
        .map(|r| {
            let recipient_public = to_array(&r.public_key);
            let shared = ephemeral.diffie_hellman(&PublicKey::from(recipient_public));
            assert!(shared.was_contributory(), "low-order recipient key");
            let kek = wrapping_key(shared.as_bytes(), &ephemeral_public, &recipient_public);
            let wrapped = ChaCha20Poly1305::new(&kek)
                .encrypt(Nonce::from_slice(&WRAP_NONCE), Payload { msg: content_key.as_slice(), aad: r.user.as_slice() })
                .expect("wrapping encrypts");
            WrappedKey { recipient: r.user, recipient_key_epoch: r.epoch, wrapped_key: wrapped }
        })
        .collect();
    let mut envelope = seal_with_key(conversation_id, sender, key_epoch, plaintext, content_key.into());
    envelope.ephemeral_public_key = ephemeral_public.to_vec();
    envelope.wrapped_keys = wrapped_keys;
    (envelope, content_key.into())
}

/// Encrypts `plaintext` under an existing (group) key of `key_epoch`; no wrapped keys.
pub fn seal_with_key(conversation_id: u64, sender: Principal, key_epoch: u32, plaintext: &[u8], key: [u8; 32]) -> Envelope {
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = message_aad(conversation_id, sender, key_epoch);
    let ciphertext = ChaCha20Poly1305::new(&Key::from(key))
        .encrypt(&nonce, Payload { msg: plaintext, aad: &aad })
        .expect("content encrypts");
    Envelope { ciphertext, nonce: nonce.to_vec(), key_epoch, ephemeral_public_key: vec![], wrapped_keys: vec![] }
}

/// A user's device: their principal, their X25519 secrets by key epoch (old ones are kept so
/// old messages stay readable), and group keys they were given.
pub struct Client {
    pub principal: Principal,
    pub handle: String,
    pub epoch: u32,
    secrets: BTreeMap<u32, StaticSecret>,
    group_keys: BTreeMap<(u64, u32), [u8; 32]>,
}

impl Client {
    pub fn new(principal: Principal, handle: &str) -> Self {
        let mut secrets = BTreeMap::new();
        secrets.insert(1, StaticSecret::random_from_rng(OsRng));
        Client { principal, handle: handle.into(), epoch: 1, secrets, group_keys: BTreeMap::new() }
    }

    /// The current public key.
    pub fn public_key(&self) -> Vec<u8> {
        PublicKey::from(&self.secrets[&self.epoch]).to_bytes().to_vec()
    }

    /// Registers on the shard with the current key.
    pub fn register(&self, env: &mut dyn Env, canister: Principal, display_name: &str) -> Result<UserView, MessagingError> {
        let args = RegisterArgs { handle: self.handle.clone(), display_name: display_name.into(), public_key: self.public_key() };
        update1(env, canister, self.principal, "register", (args,))
    }

    /// Makes a new key pair and registers its public key as the next epoch.
    pub fn rotate_key(&mut self, env: &mut dyn Env, canister: Principal) -> Result<u32, MessagingError> {
        let secret = StaticSecret::random_from_rng(OsRng);
        let public = PublicKey::from(&secret).to_bytes().to_vec();
        let epoch: Result<u32, MessagingError> = update1(env, canister, self.principal, "rotate_key", (public,));
        if let Ok(e) = epoch {
            self.secrets.insert(e, secret);
            self.epoch = e;
        }
        epoch
    }

    /// The content key of an envelope: unwrapped from the entry for this client, or the group
    /// key of the envelope's epoch.
    pub fn content_key(&self, conversation_id: u64, envelope: &Envelope) -> Option<[u8; 32]> {
        let Some(w) = envelope.wrapped_keys.iter().find(|w| w.recipient == self.principal) else {
            return self.group_keys.get(&(conversation_id, envelope.key_epoch)).copied();
        };
        let secret = self.secrets.get(&w.recipient_key_epoch)?;
        let ephemeral_public = to_array(&envelope.ephemeral_public_key);
        let shared = secret.diffie_hellman(&PublicKey::from(ephemeral_public));
        let kek = wrapping_key(shared.as_bytes(), &ephemeral_public, &PublicKey::from(secret).to_bytes());
        let key = ChaCha20Poly1305::new(&kek)
            .decrypt(Nonce::from_slice(&WRAP_NONCE), Payload { msg: &w.wrapped_key, aad: self.principal.as_slice() })
            .ok()?;
        Some(to_array(&key))
    }

    /// Decrypts a message; `None` if this client holds no key for it or it was tampered with.
    pub fn open(&self, conversation_id: u64, message: &MessageView) -> Option<Vec<u8>> {
        let MessageContent::Envelope(envelope) = &message.content else { return None };
        let key = self.content_key(conversation_id, envelope)?;
        let aad = message_aad(conversation_id, message.sender, envelope.key_epoch);
        ChaCha20Poly1305::new(&Key::from(key))
            .decrypt(Nonce::from_slice(&envelope.nonce), Payload { msg: &envelope.ciphertext, aad: &aad })
            .ok()
    }

    /// Takes the content key of a key-distribution message as the group key of its epoch.
    pub fn accept_group_key(&mut self, conversation_id: u64, message: &MessageView) -> bool {
        let MessageContent::Envelope(envelope) = &message.content else { return false };
        match self.content_key(conversation_id, envelope) {
            Some(key) if self.open(conversation_id, message).is_some() => {
                self.group_keys.insert((conversation_id, envelope.key_epoch), key);
                true
            }
            _ => false,
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn record(client: &Client) -> PublicKeyRecord {
        PublicKeyRecord { user: client.principal, public_key: client.public_key(), epoch: client.epoch, since_ns: 0 }
    }

    #[test]
    fn a_sealed_message_opens_for_recipients_only_and_not_when_moved() {
        let alice = Client::new(Principal::from_slice(&[1; 29]), "alice");
        let bob = Client::new(Principal::from_slice(&[2; 29]), "bob");
        let eve = Client::new(Principal::from_slice(&[3; 29]), "eve");
        let (envelope, _) = seal(7, alice.principal, 0, b"salaam", &[record(&alice), record(&bob)]);
        let message = |_conversation: u64, envelope: Envelope| MessageView {
            seq: 1,
            sender: alice.principal,
            sent_at_ns: 0,
            edit_count: 0,
            edited_at_ns: None,
            content: MessageContent::Envelope(envelope),
        };
        assert_eq!(bob.open(7, &message(7, envelope.clone())).as_deref(), Some(&b"salaam"[..]));
        assert_eq!(alice.open(7, &message(7, envelope.clone())).as_deref(), Some(&b"salaam"[..]));
        assert_eq!(eve.open(7, &message(7, envelope.clone())), None, "not a recipient");
        assert_eq!(bob.open(8, &message(8, envelope)), None, "moved to another conversation");
    }
}
