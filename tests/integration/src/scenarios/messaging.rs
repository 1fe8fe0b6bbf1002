//! Rollout steps for `messaging`: deploying a shard, and a verified ministry talking with
//! citizens, one to one and in a group of twenty, end-to-end encrypted.
//!
//! The encryption is done here, on the client side, with real libraries (x25519-dalek, hkdf,
//! chacha20poly1305), exactly as canisters/messaging/README.md describes: the canister only ever
//! receives and returns ciphertext envelopes. `pakistan_messaging(env, canister, citizens)` runs
//! the whole exchange for the demo and the tests.

use crate::actors::actor;
use crate::call::{deploy, query1, update1};
use crate::env::Env;
use crate::wasm::wasm;
use candid::Principal;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use interfaces::audit::PageRequest;
use interfaces::messaging::*;
use sha2::Sha256;
use std::collections::BTreeMap;
use x25519_dalek::{PublicKey, StaticSecret};

/// The shard's authority (verifies institutions, sets legal holds).
pub fn authority() -> Principal {
    actor("messaging-authority")
}

/// The Ministry of IT & Telecom's principal.
pub fn ministry() -> Principal {
    actor("ministry-of-it")
}

/// Citizen `n`'s principal.
pub fn citizen(n: u16) -> Principal {
    actor(&format!("citizen-{n}"))
}

pub fn init_args(burn_ledger: Option<Principal>) -> InitArgs {
    InitArgs { authorities: vec![authority()], burn_ledger, limits: None, usage_report_interval_seconds: None }
}

/// Installs a shard into a canister created beforehand (so peers can be wired first).
pub fn install_messaging(env: &mut dyn Env, canister: Principal, args: InitArgs) {
    let backend = env.backend();
    env.install(canister, &wasm("messaging"), candid::encode_one(Some(args)).expect("encode InitArgs"))
        .unwrap_or_else(|r| panic!("[{backend}] installing messaging into {canister}: {r}"));
}

/// Creates and installs a shard with [`init_args`] adjusted by `edit`.
pub fn deploy_messaging(env: &mut dyn Env, edit: impl FnOnce(&mut InitArgs)) -> Principal {
    let mut args = init_args(None);
    edit(&mut args);
    deploy(env, &wasm("messaging"), (Some(args),))
}

// ---------------------------------------------------------------------------------------------
// Client-side encryption
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Typed calls
// ---------------------------------------------------------------------------------------------

/// All members of a conversation (paging through `members`).
pub fn all_members(env: &mut dyn Env, canister: Principal, who: Principal, conversation_id: u64) -> Result<Vec<MemberView>, MessagingError> {
    let mut out = vec![];
    let mut start = None;
    loop {
        let page: Result<MemberPage, MessagingError> = query1(env, canister, who, "members", (conversation_id, start, None::<u32>));
        let page = page?;
        out.extend(page.members);
        match page.next_start {
            Some(s) => start = Some(s),
            None => return Ok(out),
        }
    }
}

pub fn key_directory(env: &mut dyn Env, canister: Principal, users: Vec<Principal>) -> Vec<PublicKeyRecord> {
    let r: Result<Vec<PublicKeyRecord>, MessagingError> = query1(env, canister, Principal::anonymous(), "key_directory", (users,));
    r.unwrap_or_else(|e| panic!("key_directory: {e:?}"))
}

pub fn send(env: &mut dyn Env, canister: Principal, from: Principal, conversation_id: u64, envelope: Envelope) -> Result<SendReceipt, MessagingError> {
    update1(env, canister, from, "send_message", (conversation_id, envelope))
}

/// What a client does to send text: look up the members' current keys, seal, send.
pub fn send_text(env: &mut dyn Env, canister: Principal, from: &Client, conversation_id: u64, text: &str) -> Result<SendReceipt, MessagingError> {
    let members = all_members(env, canister, from.principal, conversation_id)?;
    let keys = key_directory(env, canister, members.iter().map(|m| m.user).collect());
    let (envelope, _) = seal(conversation_id, from.principal, 0, text.as_bytes(), &keys);
    send(env, canister, from.principal, conversation_id, envelope)
}

pub fn read(env: &mut dyn Env, canister: Principal, who: Principal, conversation_id: u64, from_seq: Option<u64>, direction: Direction, limit: Option<u32>) -> Result<MessagePage, MessagingError> {
    query1(env, canister, who, "read_messages", (ReadRequest { conversation_id, from_seq, direction, limit },))
}

/// One message by sequence number.
pub fn message(env: &mut dyn Env, canister: Principal, who: Principal, conversation_id: u64, seq: u64) -> MessageView {
    let page = read(env, canister, who, conversation_id, Some(seq), Direction::Forward, Some(1)).unwrap_or_else(|e| panic!("read {conversation_id}/{seq}: {e:?}"));
    page.messages.into_iter().find(|m| m.seq == seq).unwrap_or_else(|| panic!("message {conversation_id}/{seq} missing"))
}

pub fn open_direct(env: &mut dyn Env, canister: Principal, who: Principal, peer: Principal) -> Result<u64, MessagingError> {
    update1(env, canister, who, "open_direct", (peer,))
}

pub fn create_group(env: &mut dyn Env, canister: Principal, owner: Principal, name: &str, members: Vec<Principal>) -> Result<u64, MessagingError> {
    update1(env, canister, owner, "create_group", (CreateGroupArgs { name: name.into(), members, retention: None },))
}

pub fn verify_institution(env: &mut dyn Env, canister: Principal, by: Principal, user: Principal, name: &str) -> Result<Verification, MessagingError> {
    update1(env, canister, by, "verify_institution", (user, name.to_string()))
}

pub fn inbox(env: &mut dyn Env, canister: Principal, who: Principal) -> InboxPage {
    query1(env, canister, who, "inbox", (PageRequest::default(),))
}

/// Unread count of one conversation in `who`'s inbox.
pub fn unread(env: &mut dyn Env, canister: Principal, who: Principal, conversation_id: u64) -> u64 {
    inbox(env, canister, who)
        .entries
        .iter()
        .find(|e| e.conversation.id == conversation_id)
        .unwrap_or_else(|| panic!("conversation {conversation_id} not in {who}'s inbox"))
        .unread
}

pub fn mark_read(env: &mut dyn Env, canister: Principal, who: Principal, conversation_id: u64, seq: u64) -> Result<u64, MessagingError> {
    update1(env, canister, who, "mark_read", (conversation_id, seq))
}

pub fn metrics(env: &mut dyn Env, canister: Principal) -> MessagingMetrics {
    query1(env, canister, Principal::anonymous(), "metrics", ())
}

// ---------------------------------------------------------------------------------------------
// The Pakistan exchange
// ---------------------------------------------------------------------------------------------

/// What [`pakistan_messaging`] leaves behind.
pub struct PakistanMessaging {
    pub canister: Principal,
    pub ministry: Client,
    pub citizens: Vec<Client>,
    /// Ministry ↔ citizens[0].
    pub direct: u64,
    /// The ministry (Owner) and all citizens.
    pub group: u64,
    /// Plaintexts sent, by (conversation, seq).
    pub sent: BTreeMap<(u64, u64), String>,
}

pub const MINISTRY_NAME: &str = "Ministry of IT & Telecom";
pub const GROUP_NAME: &str = "Digital Pakistan pilot";

/// On an installed shard: the ministry and `citizens` citizens register with fresh X25519 keys,
/// the authority verifies the ministry, a citizen and the ministry exchange encrypted messages
/// one to one, and the ministry's group (itself plus all citizens) gets an encrypted
/// announcement and a reply.
pub fn pakistan_messaging(env: &mut dyn Env, canister: Principal, citizens: u16) -> PakistanMessaging {
    let ministry = Client::new(ministry(), "moitt.gov");
    ministry.register(env, canister, MINISTRY_NAME).unwrap_or_else(|e| panic!("ministry register: {e:?}"));
    verify_institution(env, canister, authority(), ministry.principal, MINISTRY_NAME).unwrap_or_else(|e| panic!("verify: {e:?}"));
    let citizens: Vec<Client> = (1..=citizens).map(|n| Client::new(citizen(n), &format!("citizen{n:03}"))).collect();
    for (n, c) in citizens.iter().enumerate() {
        c.register(env, canister, &format!("Citizen {}", n + 1)).unwrap_or_else(|e| panic!("{} register: {e:?}", c.handle));
    }
    let mut sent = BTreeMap::new();
    let mut say = |env: &mut dyn Env, from: &Client, conversation: u64, text: &str| {
        let receipt = send_text(env, canister, from, conversation, text).unwrap_or_else(|e| panic!("{} sending: {e:?}", from.handle));
        sent.insert((conversation, receipt.seq), text.to_string());
    };

    let first = &citizens[0];
    let direct = open_direct(env, canister, first.principal, ministry.principal).unwrap_or_else(|e| panic!("open_direct: {e:?}"));
    say(env, first, direct, "Assalam-o-Alaikum. When will my CNIC renewal be processed?");
    say(env, &ministry, direct, "Your CNIC renewal #4411 is approved; collect it at NADRA Blue Area.");
    say(env, first, direct, "Shukriya!");

    let members = citizens.iter().map(|c| c.principal).collect();
    let group = create_group(env, canister, ministry.principal, GROUP_NAME, members).unwrap_or_else(|e| panic!("create_group: {e:?}"));
    say(env, &ministry, group, "The e-services portal opens on 1 July; pilot users get early access.");
    if let Some(last) = citizens.last() {
        say(env, last, group, "Will the portal work in Urdu?");
    }
    PakistanMessaging { canister, ministry, citizens, direct, group, sent }
}
