//! `messaging` canister: one shard of a national end-to-end encrypted messenger.
//!
//! Endpoints only. They read the caller and time, call plain Rust in the modules below
//! (`users`, `conversations`, `messages`, `retention`, `metrics`, all on `state::State`), and
//! return typed results. The canister stores ciphertext envelopes and never sees plaintext.

mod codec;
mod config;
mod conversations;
mod external_calls;
mod inspect;
mod messages;
mod metrics;
#[cfg(test)]
mod model_tests;
mod records;
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
    Config, ConversationView, CreateGroupArgs, Envelope, HistoryPage, InboxPage, InitArgs, MemberPage, MessagePage,
    MessagingError, MessagingMetrics, PublicKeyRecord, ReadRequest, RegisterArgs, RetentionPolicy, Role, SendReceipt,
    UserView, Verification,
};
use std::cell::Cell;
use std::time::Duration;

type Result<T> = std::result::Result<T, MessagingError>;

/// How often the retention sweep looks for due work when it has none left.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Instructions one sweep run may use (of an update message's 40 billion); past it the run
/// stops between two messages and the timer runs again in the next round.
pub const SWEEP_INSTRUCTION_BUDGET: u64 = 4_000_000_000;
/// Instructions an `inbox` page may use for unread counts (of a query's 5 billion); past it
/// the page ends early with a cursor.
const INBOX_INSTRUCTION_BUDGET: u64 = 2_000_000_000;

use common::reply_endpoint as endpoint;

/// Builds the reply type tables of the hot updates and the client pages' queries (about 1.1M
/// instructions each), once per install or upgrade.
fn warm_replies() {
    common::reply::warm::<Result<SendReceipt>>();
    common::reply::warm::<Result<UserView>>();
    common::reply::warm::<Result<u64>>();
    common::reply::warm::<Result<MessagePage>>();
    common::reply::warm::<Result<ConversationView>>();
    common::reply::warm::<Result<MemberPage>>();
    common::reply::warm::<Result<Vec<PublicKeyRecord>>>();
    common::reply::warm::<InboxPage>();
    common::reply::warm::<Option<UserView>>();
}

thread_local! {
    /// A follow-up sweep run is already scheduled.
    static SWEEP_ARMED: Cell<bool> = const { Cell::new(false) };
}

/// One sweep run within the budget; while due work is left, the next run is scheduled at once.
fn sweep_run() {
    let report = storage::write(|s| s.sweep(time(), || ic_cdk::api::performance_counter(0) < SWEEP_INSTRUCTION_BUDGET));
    if report.backlog && !SWEEP_ARMED.replace(true) {
        ic_cdk_timers::set_timer(Duration::ZERO, async {
            SWEEP_ARMED.set(false);
            sweep_run();
        });
    }
}

/// The retention sweep, and usage reports to the burn ledger when one is configured.
fn start_timers() {
    warm_replies();
    ic_cdk_timers::set_timer_interval(SWEEP_INTERVAL, || async { sweep_run() });
    external_calls::start_usage_reports(&storage::read(|s| s.config()));
}

/// Early refusal of ingress that can only fail: anonymous or unregistered callers of updates,
/// and arguments larger than any legal call (see `inspect.rs`). Never the only check: every
/// endpoint checks again.
#[ic_cdk::inspect_message]
fn inspect_message() {
    let (method, caller, arg_len) = (ic_cdk::api::msg_method_name(), msg_caller(), ic_cdk::api::msg_arg_data().len());
    match storage::read(|s| s.inspect(&method, caller, arg_len as u64)) {
        Ok(()) => ic_cdk::api::accept_message(),
        Err(reason) => ic_cdk::trap(format!("inspect_message refused {method}: {reason}")),
    }
}

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start_timers);

/// Shard totals (users, conversations, messages, bytes stored, daily active senders): no
/// content and no social graph. Read by the checkpoint report and the burn ledger.
#[query]
fn metrics() -> MessagingMetrics {
    storage::read(|s| s.metrics(time()))
}

// ---- users and the key directory ----

endpoint! {
    #[update]
    /// Registers the caller with a unique handle, a display name and an X25519 public key (32 bytes). On a shard that belongs to an index (`config.index`), refused with `RegisterThroughIndex`: register there.
    fn register(args: RegisterArgs) -> Result<UserView> {
        if let Some(index) = storage::config().index {
            return Err(MessagingError::RegisterThroughIndex { index });
        }
        storage::write(|s| s.register(msg_caller(), time(), args))
    }
}

endpoint! {
    #[update]
    /// The index only: registers `user` here (their home shard) after the index reserved the handle across all shards. Idempotent: the same user and handle again return the existing user.
    fn register_from_index(user: Principal, args: RegisterArgs) -> Result<UserView> {
        if storage::config().index != Some(msg_caller()) {
            return Err(MessagingError::NotIndex);
        }
        storage::write(|s| s.register_for(user, time(), args))
    }
}

endpoint! {
    #[update]
    /// Changes the caller's display name (1..=64 characters). Handles are permanent.
    fn update_profile(display_name: String) -> Result<UserView> {
        storage::write(|s| s.update_profile(msg_caller(), display_name))
    }
}

endpoint! {
    #[update]
    /// Makes a new public key current under the next epoch; earlier keys stay queryable so old
    /// messages remain decryptable. Returns the new epoch.
    fn rotate_key(public_key: Vec<u8>) -> Result<u32> {
        storage::write(|s| s.rotate_key(msg_caller(), time(), public_key))
    }
}

/// Deactivates the caller for good: they leave every conversation (a group they owned alone
/// gets its first Admin, or else first Member, as Owner), and can no longer act, read, be added
/// or be messaged; the handle stays reserved.
#[update]
fn deactivate() -> Result<()> {
    storage::write(|s| s.deactivate(msg_caller()))
}

endpoint! {
    #[update]
    /// Authority only: marks a user as a verified institution (shown to others). Audited.
    fn verify_institution(user: Principal, institution_name: String) -> Result<Verification> {
        storage::write(|s| s.verify_institution(msg_caller(), time(), user, institution_name))
    }
}

endpoint! {
    #[update]
    /// Authority only: withdraws a verification. Audited.
    fn revoke_verification(user: Principal) -> Result<()> {
        storage::write(|s| s.revoke_verification(msg_caller(), time(), user))
    }
}

endpoint! {
    #[query]
    /// The caller's own user record, if registered.
    fn me() -> Option<UserView> {
        storage::read(|s| s.user_view(msg_caller()))
    }
}

endpoint! {
    #[query]
    /// A user's public record: handle, display name, verification, current key.
    fn get_user(user: Principal) -> Option<UserView> {
        storage::read(|s| s.user_view(user))
    }
}

endpoint! {
    #[query]
    /// Looks a user up by handle.
    fn find_user_by_handle(handle: String) -> Option<UserView> {
        storage::read(|s| s.find_by_handle(&handle))
    }
}

endpoint! {
    #[query]
    /// Current public keys of up to 256 users, so a client can encrypt to all of them; unknown
    /// and deactivated users are left out.
    fn key_directory(users: Vec<Principal>) -> Result<Vec<PublicKeyRecord>> {
        storage::read(|s| s.key_directory(&users))
    }
}

endpoint! {
    #[query]
    /// The key a user had at an earlier epoch (to decrypt old messages wrapped to it).
    fn public_key_at(user: Principal, epoch: u32) -> Option<PublicKeyRecord> {
        storage::read(|s| s.public_key_at(user, epoch))
    }
}

endpoint! {
    #[update]
    /// Blocks a user: they can no longer open a direct conversation with the caller, send into
    /// one, or add the caller to a group.
    fn block_user(user: Principal) -> Result<()> {
        storage::write(|s| s.block(msg_caller(), time(), user))
    }
}

endpoint! {
    #[update]
    /// Lifts a block.
    fn unblock_user(user: Principal) -> Result<()> {
        storage::write(|s| s.unblock(msg_caller(), user))
    }
}

endpoint! {
    #[query]
    /// A page of the users the caller blocked (visible to the caller only); at most `limit`.
    fn blocked_users(page: PageRequest) -> Vec<Principal> {
        storage::read(|s| s.blocked_users(msg_caller(), &page))
    }
}

// ---- conversations ----

endpoint! {
    #[update]
    /// Opens the direct conversation with `peer` (or returns the existing one: one per pair).
    fn open_direct(peer: Principal) -> Result<u64> {
        storage::write(|s| s.open_direct(msg_caller(), time(), peer))
    }
}

endpoint! {
    #[update]
    /// Creates a group; the caller becomes its Owner, the listed users join as Members.
    fn create_group(args: CreateGroupArgs) -> Result<u64> {
        storage::write(|s| s.create_group(msg_caller(), time(), args))
    }
}

endpoint! {
    #[update]
    /// Owner or Admin adds members (they see messages sent from now on). Returns the member count.
    fn add_members(conversation_id: u64, users: Vec<Principal>) -> Result<u32> {
        storage::write(|s| s.add_members(msg_caller(), time(), conversation_id, users))
    }
}

endpoint! {
    #[update]
    /// Owner removes Admins and Members, Admin removes Members; Owners are never removed.
    fn remove_member(conversation_id: u64, user: Principal) -> Result<()> {
        storage::write(|s| s.remove_member(msg_caller(), conversation_id, user))
    }
}

endpoint! {
    #[update]
    /// The caller leaves a group (the last Owner must hand over ownership first).
    fn leave_group(conversation_id: u64) -> Result<()> {
        storage::write(|s| s.leave(msg_caller(), conversation_id))
    }
}

endpoint! {
    #[update]
    /// Owner only: changes a member's role; a group always keeps an Owner.
    fn set_role(conversation_id: u64, user: Principal, role: Role) -> Result<()> {
        storage::write(|s| s.set_role(msg_caller(), conversation_id, user, role))
    }
}

endpoint! {
    #[update]
    /// Owner or Admin renames a group.
    fn rename_group(conversation_id: u64, name: String) -> Result<()> {
        storage::write(|s| s.rename_group(msg_caller(), conversation_id, name))
    }
}

endpoint! {
    #[update]
    /// Sets the retention policy (group Owner/Admin, or either side of a direct conversation that
    /// has no block either way); it applies to earlier messages too, and what had expired stays
    /// expired. Shown to members in `conversation`; not in the public audit log.
    fn set_retention(conversation_id: u64, policy: RetentionPolicy) -> Result<()> {
        storage::write(|s| s.set_retention(msg_caller(), time(), conversation_id, policy))
    }
}

endpoint! {
    #[update]
    /// Authority only: legal hold — nothing in the conversation is removed or deleted while set.
    /// Audited with the case reference.
    fn set_legal_hold(conversation_id: u64, case_reference: String) -> Result<()> {
        storage::write(|s| s.set_legal_hold(msg_caller(), time(), conversation_id, case_reference))
    }
}

endpoint! {
    #[update]
    /// Authority only: lifts a legal hold. Audited.
    fn clear_legal_hold(conversation_id: u64) -> Result<()> {
        storage::write(|s| s.clear_legal_hold(msg_caller(), time(), conversation_id))
    }
}

endpoint! {
    #[query]
    /// A conversation's metadata, for its members and authorities.
    fn conversation(conversation_id: u64) -> Result<ConversationView> {
        storage::read(|s| s.get_conversation(msg_caller(), conversation_id))
    }
}

endpoint! {
    #[query]
    /// A page of a conversation's members, for its members; at most `limit` (≤ 500, 0 gives an
    /// empty page).
    fn members(conversation_id: u64, start: Option<Principal>, limit: Option<u32>) -> Result<MemberPage> {
        storage::read(|s| s.list_members(msg_caller(), conversation_id, start, limit))
    }
}

endpoint! {
    #[query]
    /// The caller's conversations with unread counts (expired messages are not unread), paged by
    /// conversation id (`start`); at most `limit` entries (≤ 500, 0 gives an empty page).
    fn inbox(page: PageRequest) -> InboxPage {
        storage::read(|s| s.inbox(msg_caller(), time(), &page, || ic_cdk::api::performance_counter(0) < INBOX_INSTRUCTION_BUDGET))
    }
}

// ---- messages ----

endpoint! {
    #[update]
    /// Appends a ciphertext envelope; it gets the conversation's next sequence number.
    fn send_message(conversation_id: u64, envelope: Envelope) -> Result<SendReceipt> {
        storage::write(|s| s.send_message(msg_caller(), time(), conversation_id, envelope))
    }
}

endpoint! {
    #[update]
    /// The sender replaces a message's envelope; the previous one is kept. Returns the edit count.
    fn edit_message(conversation_id: u64, seq: u64, envelope: Envelope) -> Result<u32> {
        storage::write(|s| s.edit_message(msg_caller(), time(), conversation_id, seq, envelope))
    }
}

endpoint! {
    #[update]
    /// Deletes a message for everyone (tombstone): its sender, or a group Owner/Admin. Refused
    /// under legal hold.
    fn delete_message(conversation_id: u64, seq: u64) -> Result<()> {
        storage::write(|s| s.delete_message(msg_caller(), time(), conversation_id, seq))
    }
}

endpoint! {
    #[query]
    /// A page of messages from a sequence number, forward or backward, for members. Expired
    /// messages read as tombstones. At most `limit` messages and about 1.5 MB.
    fn read_messages(request: ReadRequest) -> Result<MessagePage> {
        storage::read(|s| s.read_messages(msg_caller(), time(), &request))
    }
}

endpoint! {
    #[query]
    /// Earlier versions of an edited message, oldest first, from `start_version` (default 0), in
    /// pages of about 1.5 MB at most.
    fn message_history(conversation_id: u64, seq: u64, start_version: Option<u32>) -> Result<HistoryPage> {
        storage::read(|s| s.message_history(msg_caller(), time(), conversation_id, seq, start_version))
    }
}

endpoint! {
    #[update]
    /// Moves the caller's read marker forward; returns the conversation's remaining unread count.
    fn mark_read(conversation_id: u64, seq: u64) -> Result<u64> {
        storage::write(|s| s.mark_read(msg_caller(), time(), conversation_id, seq))
    }
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
