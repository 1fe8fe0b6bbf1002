//! The shard's durable state: every map lives in stable memory, so upgrades cost the same at ten
//! messages or ten million, and nothing is serialised in `pre_upgrade`.
//!
//! `State` is generic over the memory so unit tests run natively on `VectorMemory`; the canister
//! opens it over the `MemoryManager` (see `storage.rs` for the memory ids).
//!
//! Stored records are this module's own types. Schema 3 stores the hot records (users, keys,
//! conversations, members, messages, sender activity, counters) in a compact binary form with a
//! version tag byte (`codec.rs`, `records.rs`); records written by schemas 1 and 2 are CBOR
//! maps and still read, so nothing is rewritten on upgrade. Edit history stays CBOR.

use crate::codec::Compact;
use common::cbor::Cbor;
use common::core_state::CoreState;
use candid::Principal;
use ic_stable_structures::memory_manager::MemoryId;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use interfaces::messaging::{
    Config, ConversationKind, Envelope, LegalHold, RetentionChange, RetentionPolicy, Role, Tombstone, Verification,
};
use serde::{Deserialize, Serialize};

pub const CONFIG_MEM: MemoryId = MemoryId::new(0);
pub const AUDIT_INDEX_MEM: MemoryId = MemoryId::new(1);
pub const AUDIT_DATA_MEM: MemoryId = MemoryId::new(2);
pub const USERS_MEM: MemoryId = MemoryId::new(3);
pub const HANDLES_MEM: MemoryId = MemoryId::new(4);
pub const KEYS_MEM: MemoryId = MemoryId::new(5);
pub const CONVERSATIONS_MEM: MemoryId = MemoryId::new(6);
pub const MEMBERS_MEM: MemoryId = MemoryId::new(7);
pub const USER_CONVERSATIONS_MEM: MemoryId = MemoryId::new(8);
pub const DIRECT_PAIRS_MEM: MemoryId = MemoryId::new(9);
pub const MESSAGES_MEM: MemoryId = MemoryId::new(10);
pub const EDIT_HISTORY_MEM: MemoryId = MemoryId::new(11);
pub const BLOCKS_MEM: MemoryId = MemoryId::new(12);
pub const SENDER_ACTIVITY_MEM: MemoryId = MemoryId::new(13);
/// Retired in schema 2 (the sweep drains it into `SWEEP_DUE_MEM`); never reused.
pub const RETAINED_MEM: MemoryId = MemoryId::new(14);
pub const COUNTERS_MEM: MemoryId = MemoryId::new(15);
// 16 is the usage reporter's (storage.rs).
pub const SWEEP_DUE_MEM: MemoryId = MemoryId::new(17);

/// A registered user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Unique handle (also the key of the handle index).
    pub handle: String,
    /// Name shown to others.
    pub display_name: String,
    /// Epoch of the current key in `keys`; starts at 1.
    pub key_epoch: u32,
    /// Set by an authority for institutions.
    pub verified: Option<Verification>,
    /// False after deactivation; the handle stays reserved so nobody can impersonate the user.
    pub active: bool,
    pub registered_at_ns: u64,
    /// Conversations the user belongs to, kept here so the per-user limit is O(1) to check.
    pub conversation_count: u32,
    /// Users this user has blocked, kept here so the block-list limit is O(1) to check.
    pub blocked_count: u32,
    /// A copy of the key at `key_epoch` (also in `keys`), so a user's view and the key
    /// directory read one record. Schema 3; `None` in records written before (read `keys`).
    #[serde(default)]
    pub current_key: Option<StoredKey>,
}

/// One public key of a user, at one epoch (never deleted: old messages stay decryptable).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
    pub since_ns: u64,
}

/// A conversation (direct or group).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub kind: ConversationKind,
    pub created_by: Principal,
    pub created_at_ns: u64,
    /// Newest sequence number handed out; the next message gets `last_seq + 1`.
    pub last_seq: u64,
    pub member_count: u32,
    pub retention: RetentionPolicy,
    pub legal_hold: Option<LegalHold>,
    pub last_activity_ns: u64,
    /// Lowest sequence number the retention sweep has not examined yet (starts at 1). Messages
    /// are in time order, so the sweep only ever moves this forward; every message below it has
    /// expired.
    pub retention_floor_seq: u64,
    /// Messages sent at or before this time expired when the policy was last changed or a
    /// legal hold was set; they stay expired whatever the policy becomes (schema 2).
    #[serde(default)]
    pub expired_through_ns: Option<u64>,
    /// The retention period in force when `expired_through_ns` was set: the messages it covers
    /// expired that long after they were sent.
    #[serde(default)]
    pub expired_keep_ns: u64,
    /// This conversation's key in the sweep's due queue (`State::sweep_due`), if it has one.
    #[serde(default)]
    pub sweep_due_ns: Option<u64>,
    /// Who last changed the retention policy, and when: shown to members, never audited.
    #[serde(default)]
    pub retention_changed: Option<RetentionChange>,
}

/// A user's membership of a conversation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub role: Role,
    pub joined_at_ns: u64,
    /// First sequence number the member may read (messages from before they joined stay hidden).
    pub first_visible_seq: u64,
    /// Highest sequence number the member marked read.
    pub last_read_seq: u64,
}

/// What a message currently holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum StoredContent {
    Envelope(Envelope),
    Deleted(Tombstone),
}

/// One message of a conversation, keyed by (conversation id, sequence number).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub sender: Principal,
    pub sent_at_ns: u64,
    /// Edits so far; earlier versions are in the edit-history map under versions 0..edit_count.
    pub edit_count: u32,
    pub edited_at_ns: Option<u64>,
    /// When the current envelope was stored (sent or last edited).
    pub content_stored_at_ns: u64,
    pub content: StoredContent,
}

/// An earlier version of an edited message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StoredVersion {
    pub stored_at_ns: u64,
    pub envelope: Envelope,
}

/// Per-sender state for the rate limit and the daily-active count.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SenderActivity {
    /// Start of the current one-minute rate window.
    pub window_start_ns: u64,
    /// Messages sent (or edited) in that window.
    pub sent_in_window: u32,
    /// Last UTC day (days since the epoch) the user sent a message; `None` before the first.
    pub last_send_day: Option<u64>,
}

/// Shard-wide counters and cursors, in one small cell.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Id the next conversation gets (ids start at 1).
    pub next_conversation_id: u64,
    pub users: u64,
    pub active_users: u64,
    pub verified_institutions: u64,
    pub direct_conversations: u64,
    pub groups: u64,
    pub messages_sent: u64,
    pub messages_stored: u64,
    pub bytes_stored: u64,
    pub messages_expired: u64,
    pub legal_holds_active: u64,
    /// UTC day `daily_active_senders` counts.
    pub day: u64,
    pub daily_active_senders: u64,
    /// Conversation id the schema-1 retention sweep resumed from (no longer used).
    pub sweep_cursor: u64,
}

/// All of the shard's state.
pub struct State<M: Memory> {
    /// Configuration and the hash-chained audit log (memory ids 0..=2).
    pub core: CoreState<Config, M>,
    pub users: StableBTreeMap<Principal, Compact<User>, M>,
    /// handle → user.
    pub handles: StableBTreeMap<String, Principal, M>,
    /// (user, epoch) → key.
    pub keys: StableBTreeMap<(Principal, u32), Compact<StoredKey>, M>,
    pub conversations: StableBTreeMap<u64, Compact<Conversation>, M>,
    /// (conversation, user) → membership.
    pub members: StableBTreeMap<(u64, Principal), Compact<Member>, M>,
    /// (user, conversation): the inbox index.
    pub user_conversations: StableBTreeMap<(Principal, u64), (), M>,
    /// (lower principal, higher principal) → direct conversation id: one per pair.
    pub direct_pairs: StableBTreeMap<(Principal, Principal), u64, M>,
    /// (conversation, seq) → message.
    pub messages: StableBTreeMap<(u64, u64), Compact<StoredMessage>, M>,
    /// (conversation, seq, version) → earlier version of an edited message.
    pub edit_history: StableBTreeMap<(u64, u64, u32), Cbor<StoredVersion>, M>,
    /// (blocker, blocked) → time of the block.
    pub blocks: StableBTreeMap<(Principal, Principal), u64, M>,
    pub sender_activity: StableBTreeMap<Principal, Compact<SenderActivity>, M>,
    /// Schema 1's list of conversations the sweep visited; the sweep now drains it into
    /// `sweep_due` (each one rescheduled once) and nothing writes it.
    pub retained: StableBTreeMap<u64, (), M>,
    pub counters: StableCell<Compact<Counters>, M>,
    /// (time, conversation): the time the conversation's oldest unswept message expires. One
    /// entry per conversation with something left to expire; the sweep takes the due ones.
    pub sweep_due: StableBTreeMap<(u64, u64), (), M>,
}

impl<M: Memory> State<M> {
    /// Opens (or creates) the state in the memories `mem` hands out per id.
    pub fn init(mem: impl Fn(MemoryId) -> M) -> Self {
        State {
            core: CoreState::init(mem(CONFIG_MEM), mem(AUDIT_INDEX_MEM), mem(AUDIT_DATA_MEM)),
            users: StableBTreeMap::init(mem(USERS_MEM)),
            handles: StableBTreeMap::init(mem(HANDLES_MEM)),
            keys: StableBTreeMap::init(mem(KEYS_MEM)),
            conversations: StableBTreeMap::init(mem(CONVERSATIONS_MEM)),
            members: StableBTreeMap::init(mem(MEMBERS_MEM)),
            user_conversations: StableBTreeMap::init(mem(USER_CONVERSATIONS_MEM)),
            direct_pairs: StableBTreeMap::init(mem(DIRECT_PAIRS_MEM)),
            messages: StableBTreeMap::init(mem(MESSAGES_MEM)),
            edit_history: StableBTreeMap::init(mem(EDIT_HISTORY_MEM)),
            blocks: StableBTreeMap::init(mem(BLOCKS_MEM)),
            sender_activity: StableBTreeMap::init(mem(SENDER_ACTIVITY_MEM)),
            retained: StableBTreeMap::init(mem(RETAINED_MEM)),
            counters: StableCell::init(mem(COUNTERS_MEM), Compact(Counters { next_conversation_id: 1, ..Counters::default() })),
            sweep_due: StableBTreeMap::init(mem(SWEEP_DUE_MEM)),
        }
    }

    pub fn config(&self) -> Config {
        self.core.config()
    }

    pub fn counters(&self) -> Counters {
        self.counters.get().0.clone()
    }

    /// Applies `f` to the counters and stores them.
    pub fn update_counters(&mut self, f: impl FnOnce(&mut Counters)) {
        let mut c = self.counters();
        f(&mut c);
        self.counters.set(Compact(c));
    }

    pub fn user(&self, user: &Principal) -> Option<User> {
        self.users.get(user).map(|c| c.0)
    }

    pub fn put_user(&mut self, user: Principal, record: User) {
        self.users.insert(user, Compact(record));
    }

    pub fn conversation(&self, id: u64) -> Option<Conversation> {
        self.conversations.get(&id).map(|c| c.0)
    }

    pub fn put_conversation(&mut self, id: u64, conversation: Conversation) {
        self.conversations.insert(id, Compact(conversation));
    }

    pub fn member(&self, conversation_id: u64, user: Principal) -> Option<Member> {
        self.members.get(&(conversation_id, user)).map(|c| c.0)
    }

    pub fn put_member(&mut self, conversation_id: u64, user: Principal, member: Member) {
        self.members.insert((conversation_id, user), Compact(member));
    }

    pub fn message(&self, conversation_id: u64, seq: u64) -> Option<StoredMessage> {
        self.messages.get(&(conversation_id, seq)).map(|c| c.0)
    }

    pub fn put_message(&mut self, conversation_id: u64, seq: u64, message: StoredMessage) {
        self.messages.insert((conversation_id, seq), Compact(message));
    }

    pub fn is_authority(&self, who: &Principal) -> bool {
        self.config().authorities.contains(who)
    }

    /// Whether `blocker` has blocked `blocked`.
    pub fn has_blocked(&self, blocker: Principal, blocked: Principal) -> bool {
        self.blocks.contains_key(&(blocker, blocked))
    }
}

/// The direct-pair key: the two principals in order, so (a, b) and (b, a) are the same pair.
pub fn pair_key(a: Principal, b: Principal) -> (Principal, Principal) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

#[cfg(test)]
pub mod test_support {
    //! A fresh state over `VectorMemory`, installed with one authority.

    use super::*;
    use ic_stable_structures::VectorMemory;
    use interfaces::messaging::{InitArgs, Limits};

    pub const AUTHORITY: u8 = 200;

    pub fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }

    pub fn fresh_with(limits: Limits) -> State<VectorMemory> {
        let mut s = State::init(|_| VectorMemory::default());
        let args = InitArgs {
            authorities: vec![p(AUTHORITY)],
            burn_ledger: None,
            limits: Some(limits),
            usage_report_interval_seconds: None,
            index: None,
        };
        s.core.install(args, crate::config::build_config, 0, p(AUTHORITY), "installed").unwrap();
        s
    }

    pub fn fresh() -> State<VectorMemory> {
        fresh_with(Limits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use ic_stable_structures::Storable;
    use std::borrow::Cow;

    #[test]
    fn stored_records_round_trip() {
        let m = StoredMessage {
            sender: p(1),
            sent_at_ns: 5,
            edit_count: 1,
            edited_at_ns: Some(7),
            content_stored_at_ns: 7,
            content: StoredContent::Envelope(Envelope {
                ciphertext: vec![1; 40],
                nonce: vec![2; 12],
                key_epoch: 3,
                ephemeral_public_key: vec![4; 32],
                wrapped_keys: vec![],
            }),
        };
        let c = Compact(m.clone());
        assert_eq!(Compact::<StoredMessage>::from_bytes(Cow::Owned(c.into_bytes())).0, m);
        let counters = Counters { next_conversation_id: 9, bytes_stored: 77, ..Counters::default() };
        assert_eq!(Compact::<Counters>::from_bytes(Compact(counters.clone()).to_bytes()).0, counters);
    }

    #[test]
    fn pair_key_is_symmetric() {
        assert_eq!(pair_key(p(1), p(2)), pair_key(p(2), p(1)));
    }

    #[test]
    fn reopening_memories_keeps_everything() {
        use ic_stable_structures::memory_manager::MemoryManager;
        use ic_stable_structures::VectorMemory;
        // The same layout the canister uses: one memory manager over one (stable) memory.
        let stable = VectorMemory::default();
        let open = || {
            let manager = MemoryManager::init(stable.clone());
            State::init(|id| manager.get(id))
        };
        let mut s = open();
        s.update_counters(|c| c.users = 3);
        s.handles.insert("amina".into(), p(1));
        let s = open();
        assert_eq!(s.counters().users, 3);
        assert_eq!(s.handles.get(&"amina".to_string()), Some(p(1)));
    }
}
