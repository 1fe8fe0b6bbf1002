//! Candid types of `messaging`.

use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Limits a shard enforces; every breach is a typed error carrying the limit.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest ciphertext envelope accepted, in bytes (default 64 KiB).
    pub max_envelope_bytes: u32,
    /// Most per-recipient wrapped keys one envelope may carry (default 64).
    pub max_recipients: u32,
    /// Most members a group may have (default 256).
    pub max_group_size: u32,
    /// Messages one user may send per minute (default 60).
    pub messages_per_minute: u32,
    /// Conversations one user may belong to (default 1,000).
    pub max_conversations_per_user: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_envelope_bytes: 64 * 1024,
            max_recipients: 64,
            max_group_size: 256,
            messages_per_minute: 60,
            max_conversations_per_user: 1_000,
        }
    }
}

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that verify institutions and set or clear legal holds.
    pub authorities: Vec<Principal>,
    /// The burn ledger this shard reports its usage to; `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// Limits; `None` means the defaults.
    pub limits: Option<Limits>,
    /// How often usage is reported to the burn ledger (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
    /// The `messaging_index` this shard belongs to: users then register through it (handles
    /// unique across all shards) and `register` is refused here. `None`: a standalone shard.
    pub index: Option<Principal>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub burn_ledger: Option<Principal>,
    pub limits: Limits,
    pub usage_report_interval_seconds: u64,
    /// The index users register through, if this shard belongs to one.
    #[serde(default)]
    pub index: Option<Principal>,
}

// ---------------------------------------------------------------------------------------------
// Users and the key directory
// ---------------------------------------------------------------------------------------------

/// Length of a public encryption key: an X25519 public key (Montgomery u-coordinate).
pub const PUBLIC_KEY_BYTES: u32 = 32;
/// Handles are 3..=32 characters: lowercase ASCII letters, digits, `_` and `.`; they start with a
/// letter and do not end with `.`. Lowercase only, so uniqueness needs no case folding.
pub const HANDLE_MIN_CHARS: u32 = 3;
pub const HANDLE_MAX_CHARS: u32 = 32;
/// Display names, group names: 1..=64 characters (see `MessagingError::InvalidText`,
/// `InvisibleText` and `BidiControl` for what else is refused).
pub const NAME_MAX_CHARS: u32 = 64;
/// Institution names and legal-hold case references: 1..=128 characters, same rules as names.
pub const LONG_NAME_MAX_CHARS: u32 = 128;
/// Most principals one call may name (members to add, users to look up).
pub const MAX_USERS_PER_CALL: u32 = 256;
/// Most users one user may block.
pub const MAX_BLOCKED_USERS: u32 = 1_000;
/// Most times one message may be edited (every earlier version is kept).
pub const MAX_EDITS_PER_MESSAGE: u32 = 20;
/// Most messages one read returns.
pub const MAX_MESSAGE_PAGE: u32 = 200;
/// A page of `read_messages` or `message_history` stops before the Candid size of its items
/// would pass this many bytes, except that it always holds its first item (at most one envelope
/// of `max_envelope_bytes` ≤ 1 MiB). Every reply therefore stays under the IC's 2 MiB limit.
pub const MAX_MESSAGE_PAGE_BYTES: u32 = 1_500_000;

/// Why a handle was refused.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum HandleRule {
    /// Fewer than `min` or more than `max` characters.
    Length { min: u32, max: u32, actual: u32 },
    /// The first character must be a lowercase ASCII letter.
    MustStartWithLetter,
    /// The last character must not be `.`.
    MustNotEndWithDot,
    /// Only `a-z`, `0-9`, `_` and `.` are allowed; `position` is the 0-based index of the first
    /// character outside that set.
    InvalidCharacter { position: u32 },
}

/// The handle rules (`HandleRule`), shared by every shard and the index: 3..=32 of
/// `a-z 0-9 _ .`, starting with a letter, not ending with `.`.
pub fn check_handle(handle: &str) -> Result<(), HandleRule> {
    let len = handle.chars().count() as u32;
    if !(HANDLE_MIN_CHARS..=HANDLE_MAX_CHARS).contains(&len) {
        return Err(HandleRule::Length { min: HANDLE_MIN_CHARS, max: HANDLE_MAX_CHARS, actual: len });
    }
    if let Some(position) = handle.chars().position(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.')) {
        return Err(HandleRule::InvalidCharacter { position: position as u32 });
    }
    if !handle.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(HandleRule::MustStartWithLetter);
    }
    if handle.ends_with('.') {
        return Err(HandleRule::MustNotEndWithDot);
    }
    Ok(())
}

/// Registration of the caller as a user of this shard.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RegisterArgs {
    /// Unique handle others find the user by (see `HandleRule`).
    pub handle: String,
    /// Name shown to others, 1..=64 characters.
    pub display_name: String,
    /// The user's X25519 public key, exactly 32 bytes; becomes key epoch 1.
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
}

/// An authority's statement that a user is an institution (a ministry, a university, ...).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The institution's official name, shown to others next to the handle.
    pub institution_name: String,
    /// The authority that verified it.
    pub verified_by: Principal,
    pub verified_at_ns: u64,
}

/// A user as others see them.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    pub user: Principal,
    pub handle: String,
    pub display_name: String,
    /// Set when an authority verified the user as an institution.
    pub verified: Option<Verification>,
    /// Epoch of the current public key (1 at registration, +1 per rotation).
    pub key_epoch: u32,
    /// The current X25519 public key to encrypt to.
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
    /// False once the user deactivated: nobody can message them any more.
    pub active: bool,
    pub registered_at_ns: u64,
}

/// One public key of a user at one epoch. Old epochs stay queryable so clients can still
/// decrypt (and verify) messages wrapped to a key that has since been rotated.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyRecord {
    pub user: Principal,
    pub epoch: u32,
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
    /// When this key became the current one.
    pub since_ns: u64,
}

// ---------------------------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------------------------

/// A member's role in a group. Who may do what:
/// - add members, rename, set retention: Owner or Admin;
/// - remove a member: Owner removes Admins and Members, Admin removes Members; an Owner is never
///   removed (another owner demotes them first, or they leave);
/// - change roles: Owner only; a group always keeps at least one Owner;
/// - delete someone else's message: Owner or Admin;
/// - leave: anyone, except the last Owner while other members remain.
///
/// Both participants of a direct conversation have the role Member and may set its retention,
/// unless either has blocked the other or either has deactivated.
///
/// When a user deactivates they leave every conversation; if they were a group's only Owner,
/// its first Admin (in principal order), or else its first Member, becomes Owner.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

/// How long messages of a conversation are kept. The policy applies to every message of the
/// conversation, earlier ones included, except while the conversation is under legal hold. An
/// expired message reads as a tombstone at once (and no longer counts as unread); a timer then
/// frees its envelope. A message that expired stays expired when the policy is later relaxed.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionPolicy {
    KeepForever,
    /// Messages older than this many days (1..=36,500) are removed.
    KeepDays(u32),
    /// Messages disappear this many seconds (5..=2,419,200, i.e. four weeks) after being sent.
    Disappearing { after_seconds: u64 },
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum ConversationKind {
    /// Exactly two users; at most one per pair.
    Direct { users: (Principal, Principal) },
    Group { name: String },
}

/// Set by an authority: while present, nothing in the conversation is removed or deleted.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    /// The authority's case reference, 1..=128 characters (no content of messages).
    pub case_reference: String,
    pub set_by: Principal,
    pub set_at_ns: u64,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ConversationView {
    pub id: u64,
    pub kind: ConversationKind,
    pub created_by: Principal,
    pub created_at_ns: u64,
    /// Sequence number of the newest message (0 when empty); numbers start at 1 with no gaps.
    pub last_seq: u64,
    pub member_count: u32,
    pub retention: RetentionPolicy,
    pub legal_hold: Option<LegalHold>,
    pub last_activity_ns: u64,
    /// The last change of `retention`: who made it and when. Shown to members (and
    /// authorities) only; it is never written to the public audit log, which would reveal who
    /// talks to whom.
    pub retention_changed: Option<RetentionChange>,
}

/// Who last changed a conversation's retention policy, and when.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RetentionChange {
    pub by: Principal,
    pub at_ns: u64,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub user: Principal,
    pub role: Role,
    pub joined_at_ns: u64,
    /// Highest sequence number the member has marked read.
    pub last_read_seq: u64,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<MemberView>,
    /// Pass as `start` to get the next page (always past this page's members); `None` at the
    /// end, or when `limit` was 0 (an empty page).
    pub next_start: Option<Principal>,
}

/// Creating a group: the caller becomes its Owner, `members` join as Members.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateGroupArgs {
    /// 1..=64 characters.
    pub name: String,
    /// At most `max_group_size - 1` distinct registered, active users, not the caller.
    pub members: Vec<Principal>,
    /// `None` means KeepForever.
    pub retention: Option<RetentionPolicy>,
}

/// One line of the caller's inbox.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InboxEntry {
    pub conversation: ConversationView,
    pub role: Role,
    pub last_read_seq: u64,
    /// Messages after the caller's read marker, deleted ones included and expired ones not.
    pub unread: u64,
}

/// At most `limit` (≤ 500) entries; an entry is at most about 1 KB of Candid (names and case
/// references are bounded), so a page stays far below the 2 MiB reply limit.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InboxPage {
    pub entries: Vec<InboxEntry>,
    /// Pass as `start` (a conversation id) to get the next page (always past this page's
    /// entries); `None` at the end, or when `limit` was 0 (an empty page).
    pub next_start: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Messages: ciphertext envelopes
// ---------------------------------------------------------------------------------------------

/// A content key wrapped for one recipient (see canisters/messaging/README.md for the scheme).
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// A member of the conversation.
    pub recipient: Principal,
    /// The recipient's public-key epoch the key was wrapped to (at most their current epoch).
    pub recipient_key_epoch: u32,
    /// AEAD-encrypted content key, 16..=128 bytes.
    #[serde(with = "serde_bytes")]
    pub wrapped_key: Vec<u8>,
}

/// What the canister stores for a message: ciphertext and the data a client needs to decrypt
/// it. The canister checks shapes and sizes only; it can never decrypt.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// AEAD ciphertext with its tag; at least 16 bytes.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
    /// AEAD nonce: 12 bytes (ChaCha20-Poly1305) or 24 bytes (XChaCha20-Poly1305).
    #[serde(with = "serde_bytes")]
    pub nonce: Vec<u8>,
    /// Epoch of the content or group key used (lets groups rotate keys).
    pub key_epoch: u32,
    /// The sender's ephemeral X25519 public key used to wrap `wrapped_keys`: 32 bytes, canonical
    /// and not of small order (as for registered keys), or empty when the envelope carries no
    /// wrapped keys.
    #[serde(with = "serde_bytes")]
    pub ephemeral_public_key: Vec<u8>,
    /// The content key wrapped per recipient (at most `max_recipients`, one per recipient).
    pub wrapped_keys: Vec<WrappedKey>,
}

/// Why a message no longer has an envelope.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum DeletionReason {
    /// Deleted by its sender.
    Sender,
    /// Deleted by a group Owner or Admin.
    GroupAdmin,
    /// Removed by the retention timer.
    Retention,
}

/// What is left of a deleted or expired message. An expired message reads as a `Retention`
/// tombstone from the moment it expires, whether or not the timer has removed its envelope yet.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub reason: DeletionReason,
    /// Who deleted it (`None` for retention).
    pub deleted_by: Option<Principal>,
    /// When it was deleted; for `Retention`, when it expired: its send time plus the retention
    /// period in force then.
    pub deleted_at_ns: u64,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum MessageContent {
    Envelope(Envelope),
    Deleted(Tombstone),
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    pub seq: u64,
    pub sender: Principal,
    pub sent_at_ns: u64,
    /// Number of edits; earlier versions via `message_history`.
    pub edit_count: u32,
    pub edited_at_ns: Option<u64>,
    pub content: MessageContent,
}

/// An earlier version of an edited message.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeVersion {
    /// 0 is the original; version `k` is what edit `k + 1` replaced.
    pub version: u32,
    pub stored_at_ns: u64,
    pub envelope: Envelope,
}

#[derive(CandidType, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Increasing sequence numbers.
    Forward,
    /// Decreasing sequence numbers.
    Backward,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    pub conversation_id: u64,
    /// First sequence number to return (inclusive); `None` = oldest (Forward) or newest (Backward).
    pub from_seq: Option<u64>,
    pub direction: Direction,
    /// At most `MAX_MESSAGE_PAGE` (default and cap); 0 gives an empty page. A page also stops
    /// at `MAX_MESSAGE_PAGE_BYTES`.
    pub limit: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// `from_seq` of the next page in the same direction (always past this page); `None` when
    /// there is nothing more, or when `limit` was 0.
    pub next_seq: Option<u64>,
    pub last_seq: u64,
}

/// A page of a message's earlier versions, oldest first, bounded by `MAX_MESSAGE_PAGE_BYTES`
/// (always at least one version when any is left).
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub versions: Vec<EnvelopeVersion>,
    /// Pass as `start_version` for the next page; `None` at the end.
    pub next_version: Option<u32>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    pub conversation_id: u64,
    pub seq: u64,
    pub sent_at_ns: u64,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Which free-text input was refused.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    DisplayName,
    GroupName,
    InstitutionName,
    CaseReference,
}

/// Every refused call returns one of these and changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum MessagingError {
    /// Anonymous callers may only query.
    AnonymousCaller,
    /// The caller must register first.
    NotRegistered,
    AlreadyRegistered,
    /// This shard belongs to `index`: register there (handles are unique across all shards).
    RegisterThroughIndex { index: Principal },
    /// Only this shard's index may do this.
    NotIndex,
    UserNotFound { user: Principal },
    /// `user` deactivated: they can no longer act, read, be added, be messaged, or be named as
    /// a wrapped-key recipient.
    UserDeactivated { user: Principal },
    /// Only an authority of this shard may do this.
    NotAuthority,
    InvalidPublicKey { expected_len: u32, actual_len: u32 },
    /// Not a canonical X25519 public key of large order: the u-coordinate must be below
    /// 2^255 - 19 with the top bit clear, and not one of the points of order dividing 8
    /// (u = 0, 1, 2^255 - 20 and the two order-8 points), whose shared secret with any key is
    /// predictable.
    WeakPublicKey,
    /// The envelope's ephemeral key is not a canonical X25519 key of large order (see
    /// `WeakPublicKey`): its wrapped keys would be readable by anyone.
    WeakEphemeralKey,
    /// Rotating to the key already in force.
    KeyUnchanged { epoch: u32 },
    InvalidHandle { handle: String, rule: HandleRule },
    HandleTaken { handle: String },
    /// A display name, group name, institution name or case reference outside 1..=`max_chars`
    /// characters, or containing control characters or line/paragraph separators.
    InvalidText { field: TextField, max_chars: u32 },
    /// The text has no visible character: only whitespace, zero-width or other format
    /// characters (U+200B..U+200D, U+2060, U+FEFF, U+00AD, Hangul fillers, variation selectors,
    /// tags, ...).
    InvisibleText { field: TextField },
    /// The text contains a bidirectional control at character `position` (0-based): an
    /// embedding, override or isolate (U+202A..U+202E, U+2066..U+2069) or a direction mark
    /// (U+200E, U+200F, U+061C). They can make a name display as something else.
    BidiControl { field: TextField, position: u32, code_point: u32 },
    TooManyUsersInCall { count: u32, max: u32 },
    DuplicateUser { user: Principal },
    CannotTargetSelf,
    /// The pair has a block in place (`blocker` blocked the other).
    Blocked { blocker: Principal },
    BlockListFull { max: u32 },
    TooManyConversations { user: Principal, max: u32 },
    GroupFull { max: u32 },
    ConversationNotFound { conversation_id: u64 },
    NotAMember { conversation_id: u64 },
    NotAGroup { conversation_id: u64 },
    AlreadyMember { user: Principal },
    /// The caller's role is below what the action requires.
    InsufficientRole { role: Role, required: Role },
    /// Owners are never removed by others; demote first.
    CannotRemoveOwner { user: Principal },
    /// The group would be left without an Owner.
    LastOwner,
    EmptyEnvelope,
    EnvelopeTooLarge { bytes: u64, max: u32 },
    CiphertextTooShort { min: u32 },
    InvalidNonce { actual_len: u32 },
    InvalidEphemeralKey { actual_len: u32 },
    TooManyRecipients { count: u32, max: u32 },
    DuplicateRecipient { user: Principal },
    RecipientNotMember { user: Principal },
    InvalidWrappedKey { recipient: Principal, actual_len: u32, min: u32, max: u32 },
    /// The wrapped key names a key epoch the recipient never had.
    UnknownRecipientKeyEpoch { recipient: Principal, epoch: u32, current: u32 },
    RateLimited { messages_per_minute: u32, retry_after_ns: u64 },
    MessageNotFound { conversation_id: u64, seq: u64 },
    NotMessageSender { sender: Principal },
    MessageDeleted { conversation_id: u64, seq: u64 },
    TooManyEdits { max: u32 },
    LegalHoldActive { conversation_id: u64 },
    NoLegalHold { conversation_id: u64 },
    RetentionOutOfRange { min: u64, max: u64, actual: u64 },
    /// A read marker beyond the newest message.
    SequenceOutOfRange { seq: u64, last_seq: u64 },
}

impl std::fmt::Display for MessagingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

// ---- Contract with the checkpoint report and burn_ledger. Extend, don't rename. ----

/// Totals of one shard: no content, no social graph.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MessagingMetrics {
    /// Registered users (active or not).
    pub users: u64,
    pub active_users: u64,
    pub verified_institutions: u64,
    pub conversations: u64,
    pub direct_conversations: u64,
    pub groups: u64,
    /// Messages ever accepted (edits not counted).
    pub messages_sent: u64,
    /// Messages that still carry an envelope (an expired one until the retention timer removes
    /// it; it is hidden from readers from the moment it expires).
    pub messages_stored: u64,
    /// Envelope bytes stored, earlier versions of edited messages included.
    pub bytes_stored: u64,
    /// Distinct users who sent at least one new message in the current UTC day (edits do not
    /// count).
    pub daily_active_senders: u64,
    /// The current UTC day (days since the Unix epoch) `daily_active_senders` refers to.
    pub day: u64,
    /// Messages the retention timer has removed so far.
    pub messages_expired: u64,
    pub legal_holds_active: u64,
}
