//! Rollout steps for `messaging`: deploying a shard, and a verified ministry talking with
//! citizens, one to one and in a group of twenty, end-to-end encrypted.
//!
//! The encryption is done on the client side by [`crate::messenger`] (x25519-dalek, hkdf,
//! chacha20poly1305), exactly as canisters/messaging/README.md describes: the canister only ever
//! receives and returns ciphertext envelopes. `pakistan_messaging(env, canister, citizens)` runs
//! the whole exchange for the demo and the tests.

use crate::actors::actor;
use crate::call::{deploy, query1, update1};
use crate::env::Env;
use crate::wasm::wasm;
use candid::Principal;
use interfaces::audit::PageRequest;
use interfaces::messaging::*;
use std::collections::BTreeMap;

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
    InitArgs { authorities: vec![authority()], burn_ledger, limits: None, usage_report_interval_seconds: None, index: None }
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

// Client-side encryption: crate::messenger (re-exported so existing paths hold).
pub use crate::messenger::{message_aad, seal, seal_with_key, Client, SCHEME};

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
