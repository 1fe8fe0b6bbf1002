//! `messaging` canister: one shard of a national end-to-end encrypted messenger.
//!
//! Endpoints only. They read the caller and time, call plain Rust in the modules below
//! (`users`, `conversations`, `messages`, `retention`, `metrics`, all on `state::State`), and
//! return typed results. The canister stores ciphertext envelopes and never sees plaintext.

mod config;
mod conversations;
mod external_calls;
mod messages;
mod metrics;
mod retention;
mod state;
mod storage;
mod users;
mod validate;

use candid::Principal;
use ic_cdk::api::{msg_caller, time};
use ic_cdk::{query, update};
use interfaces::audit::PageRequest;
use interfaces::messaging::{
    Config, ConversationView, CreateGroupArgs, Envelope, EnvelopeVersion, InboxPage, InitArgs, MemberPage,
    MessagePage, MessagingError, MessagingMetrics, PublicKeyRecord, ReadRequest, RegisterArgs, RetentionPolicy, Role,
    SendReceipt, UserView, Verification,
};
use std::time::Duration;

type Result<T> = std::result::Result<T, MessagingError>;

/// How often the retention sweep runs; each run does bounded work (see `retention.rs`).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The retention sweep, and usage reports to the burn ledger when one is configured.
fn start_timers() {
    ic_cdk_timers::set_timer_interval(SWEEP_INTERVAL, || async {
        storage::write(|s| {
            s.sweep_expired(time(), retention::SWEEP_MAX_MESSAGES, retention::SWEEP_MAX_CONVERSATIONS)
        });
    });
    external_calls::start_usage_reports(&storage::read(|s| s.config()));
}

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start_timers);

/// Shard totals (users, conversations, messages, bytes stored, daily active senders): no
/// content and no social graph. Read by the checkpoint report and the burn ledger.
#[query]
fn metrics() -> MessagingMetrics {
    storage::read(|s| s.metrics(time()))
}

// ---- users and the key directory ----

/// Registers the caller with a unique handle, a display name and an X25519 public key (32 bytes).
#[update]
fn register(args: RegisterArgs) -> Result<UserView> {
    storage::write(|s| s.register(msg_caller(), time(), args))
}

/// Changes the caller's display name (1..=64 characters). Handles are permanent.
#[update]
fn update_profile(display_name: String) -> Result<UserView> {
    storage::write(|s| s.update_profile(msg_caller(), display_name))
}

/// Makes a new public key current under the next epoch; earlier keys stay queryable so old
/// messages remain decryptable. Returns the new epoch.
#[update]
fn rotate_key(public_key: Vec<u8>) -> Result<u32> {
    storage::write(|s| s.rotate_key(msg_caller(), time(), public_key))
}

/// Deactivates the caller for good: nobody can message them; the handle stays reserved.
#[update]
fn deactivate() -> Result<()> {
    storage::write(|s| s.deactivate(msg_caller()))
}

/// Authority only: marks a user as a verified institution (shown to others). Audited.
#[update]
fn verify_institution(user: Principal, institution_name: String) -> Result<Verification> {
    storage::write(|s| s.verify_institution(msg_caller(), time(), user, institution_name))
}

/// Authority only: withdraws a verification. Audited.
#[update]
fn revoke_verification(user: Principal) -> Result<()> {
    storage::write(|s| s.revoke_verification(msg_caller(), time(), user))
}

/// The caller's own user record, if registered.
#[query]
fn me() -> Option<UserView> {
    storage::read(|s| s.user_view(msg_caller()))
}

/// A user's public record: handle, display name, verification, current key.
#[query]
fn get_user(user: Principal) -> Option<UserView> {
    storage::read(|s| s.user_view(user))
}

/// Looks a user up by handle.
#[query]
fn find_user_by_handle(handle: String) -> Option<UserView> {
    storage::read(|s| s.find_by_handle(&handle))
}

/// Current public keys of up to 256 users, so a client can encrypt to all of them.
#[query]
fn key_directory(users: Vec<Principal>) -> Result<Vec<PublicKeyRecord>> {
    storage::read(|s| s.key_directory(&users))
}

/// The key a user had at an earlier epoch (to decrypt old messages wrapped to it).
#[query]
fn public_key_at(user: Principal, epoch: u32) -> Option<PublicKeyRecord> {
    storage::read(|s| s.public_key_at(user, epoch))
}

/// Blocks a user: they can no longer open a direct conversation with the caller, send into
/// one, or add the caller to a group.
#[update]
fn block_user(user: Principal) -> Result<()> {
    storage::write(|s| s.block(msg_caller(), time(), user))
}

/// Lifts a block.
#[update]
fn unblock_user(user: Principal) -> Result<()> {
    storage::write(|s| s.unblock(msg_caller(), user))
}

/// A page of the users the caller blocked (visible to the caller only).
#[query]
fn blocked_users(page: PageRequest) -> Vec<Principal> {
    storage::read(|s| s.blocked_users(msg_caller(), &page))
}

// ---- conversations ----

/// Opens the direct conversation with `peer` (or returns the existing one: one per pair).
#[update]
fn open_direct(peer: Principal) -> Result<u64> {
    storage::write(|s| s.open_direct(msg_caller(), time(), peer))
}

/// Creates a group; the caller becomes its Owner, the listed users join as Members.
#[update]
fn create_group(args: CreateGroupArgs) -> Result<u64> {
    storage::write(|s| s.create_group(msg_caller(), time(), args))
}

/// Owner or Admin adds members (they see messages sent from now on). Returns the member count.
#[update]
fn add_members(conversation_id: u64, users: Vec<Principal>) -> Result<u32> {
    storage::write(|s| s.add_members(msg_caller(), time(), conversation_id, users))
}

/// Owner removes Admins and Members, Admin removes Members; Owners are never removed.
#[update]
fn remove_member(conversation_id: u64, user: Principal) -> Result<()> {
    storage::write(|s| s.remove_member(msg_caller(), conversation_id, user))
}

/// The caller leaves a group (the last Owner must hand over ownership first).
#[update]
fn leave_group(conversation_id: u64) -> Result<()> {
    storage::write(|s| s.leave(msg_caller(), conversation_id))
}

/// Owner only: changes a member's role; a group always keeps an Owner.
#[update]
fn set_role(conversation_id: u64, user: Principal, role: Role) -> Result<()> {
    storage::write(|s| s.set_role(msg_caller(), conversation_id, user, role))
}

/// Owner or Admin renames a group.
#[update]
fn rename_group(conversation_id: u64, name: String) -> Result<()> {
    storage::write(|s| s.rename_group(msg_caller(), conversation_id, name))
}

/// Sets the retention policy (group Owner/Admin, or either side of a direct conversation);
/// it applies to earlier messages too. Audited.
#[update]
fn set_retention(conversation_id: u64, policy: RetentionPolicy) -> Result<()> {
    storage::write(|s| s.set_retention(msg_caller(), time(), conversation_id, policy))
}

/// Authority only: legal hold — nothing in the conversation is removed or deleted while set.
/// Audited with the case reference.
#[update]
fn set_legal_hold(conversation_id: u64, case_reference: String) -> Result<()> {
    storage::write(|s| s.set_legal_hold(msg_caller(), time(), conversation_id, case_reference))
}

/// Authority only: lifts a legal hold. Audited.
#[update]
fn clear_legal_hold(conversation_id: u64) -> Result<()> {
    storage::write(|s| s.clear_legal_hold(msg_caller(), time(), conversation_id))
}

/// A conversation's metadata, for its members and authorities.
#[query]
fn conversation(conversation_id: u64) -> Result<ConversationView> {
    storage::read(|s| s.get_conversation(msg_caller(), conversation_id))
}

/// A page of a conversation's members, for its members.
#[query]
fn members(conversation_id: u64, start: Option<Principal>, limit: Option<u32>) -> Result<MemberPage> {
    storage::read(|s| s.list_members(msg_caller(), conversation_id, start, limit))
}

/// The caller's conversations with unread counts, paged by conversation id (`start`).
#[query]
fn inbox(page: PageRequest) -> InboxPage {
    storage::read(|s| s.inbox(msg_caller(), &page))
}

// ---- messages ----

/// Appends a ciphertext envelope; it gets the conversation's next sequence number.
#[update]
fn send_message(conversation_id: u64, envelope: Envelope) -> Result<SendReceipt> {
    storage::write(|s| s.send_message(msg_caller(), time(), conversation_id, envelope))
}

/// The sender replaces a message's envelope; the previous one is kept. Returns the edit count.
#[update]
fn edit_message(conversation_id: u64, seq: u64, envelope: Envelope) -> Result<u32> {
    storage::write(|s| s.edit_message(msg_caller(), time(), conversation_id, seq, envelope))
}

/// Deletes a message for everyone (tombstone): its sender, or a group Owner/Admin. Refused
/// under legal hold.
#[update]
fn delete_message(conversation_id: u64, seq: u64) -> Result<()> {
    storage::write(|s| s.delete_message(msg_caller(), time(), conversation_id, seq))
}

/// A page of messages from a sequence number, forward or backward, for members.
#[query]
fn read_messages(request: ReadRequest) -> Result<MessagePage> {
    storage::read(|s| s.read_messages(msg_caller(), &request))
}

/// Earlier versions of an edited message, oldest first.
#[query]
fn message_history(conversation_id: u64, seq: u64) -> Result<Vec<EnvelopeVersion>> {
    storage::read(|s| s.message_history(msg_caller(), conversation_id, seq))
}

/// Moves the caller's read marker forward; returns the conversation's remaining unread count.
#[update]
fn mark_read(conversation_id: u64, seq: u64) -> Result<u64> {
    storage::write(|s| s.mark_read(msg_caller(), conversation_id, seq))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "messaging");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
