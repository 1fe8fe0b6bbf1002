//! Candid types of `messaging_index`: the messenger's shards, their wasm, the bucket → shard
//! routing table and the country-wide handle directory.

use candid::{CandidType, Deserialize, Nat, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that upload the shard wasm, change the policy and create or adopt shards.
    pub authorities: Vec<Principal>,
    /// The registry that vouches for subnets (Live and compliant) before a shard is created on one.
    pub subnet_registry: Option<Principal>,
    /// Capacity thresholds, cycles and allowed subnets (defaults: see `ShardPolicy`).
    pub policy: Option<ShardPolicy>,
    /// How shards are created (default: the management canister).
    pub creation: Option<CreationPath>,
}

/// How the index creates a shard canister.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreationPath {
    /// The management canister's `create_canister` (a local replica, the executor): the shard
    /// lands on the index's own subnet.
    ManagementCanister,
    /// The cycles minting canister's `create_canister` with a subnet selection (mainnet): the
    /// shard lands on the chosen allowed subnet, if the CMC authorises the index for it.
    Cmc(Principal),
}

/// When shards stop taking new users, and where and with what new shards are created.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardPolicy {
    /// A shard with this many users takes no new buckets (its buckets keep growing).
    pub max_users_per_shard: u64,
    /// A shard storing this many bytes takes no new buckets.
    pub max_stored_bytes_per_shard: u64,
    /// Shards on one subnet share its throughput and storage: at most this many per subnet.
    pub max_shards_per_subnet: u32,
    /// Cycles a new shard is created with.
    pub new_shard_cycles: Nat,
    /// Subnets new shards may be created on, in order of preference.
    pub allowed_subnets: Vec<Principal>,
    /// Shards upgraded at a time by a rollout.
    pub rollout_batch_size: u32,
    /// A shard whose balance falls below this is topped up from the index's balance.
    pub shard_min_cycles: Nat,
    /// Cycles sent to a shard per top-up.
    pub shard_top_up_cycles: Nat,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Version of the stored schema (upgrades refuse to go back).
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub subnet_registry: Option<Principal>,
    pub policy: ShardPolicy,
    pub creation: CreationPath,
}

/// The shard wasm the index holds.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardWasm {
    /// SHA-256 of the module as stored (gzipped if uploaded gzipped): what `canister_status`
    /// reports as the module hash of a shard running it.
    #[serde(with = "serde_bytes")]
    pub sha256: Vec<u8>,
    pub bytes: u64,
    pub uploaded_at_ns: u64,
    pub uploaded_by: Principal,
}

/// Where an upload in progress stands.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    #[serde(with = "serde_bytes")]
    pub sha256: Vec<u8>,
    pub announced_bytes: u64,
    /// Bytes received: the offset of the next chunk.
    pub received_bytes: u64,
}

/// A shard's state in the index.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardStatus {
    /// Takes new buckets while under the policy's thresholds.
    Open,
    /// Closed to new buckets by an authority; its users stay.
    Closed,
    /// Being upgraded by a rollout.
    Upgrading,
    /// Stopped or unreachable when last seen.
    Stopped,
}

/// One shard.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    /// The shard's number: buckets in the routing table point to it.
    pub id: u32,
    pub canister: Principal,
    pub subnet: Principal,
    pub status: ShardStatus,
    /// Users registered through the index (or found on the shard when adopted).
    pub users: u64,
    /// Stored bytes as last reported by the shard.
    pub stored_bytes: u64,
    /// Buckets routed to it.
    pub buckets: u32,
    /// Whether it currently takes new buckets.
    pub takes_new_buckets: bool,
    pub added_at_ns: u64,
    /// How the shard came to the index.
    pub origin: ShardOrigin,
    /// The shard's figures as the index last read them (its `metrics` and the management
    /// canister's `canister_status`); `null` before the first reading.
    pub last_reading: Option<ShardReading>,
    /// Why the last reading or top-up failed, if it did.
    pub last_error: Option<String>,
}

/// What the index read from a shard, and when.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardReading {
    pub at_ns: u64,
    pub users: u64,
    pub stored_bytes: u64,
    pub messages_stored: u64,
    pub daily_active_senders: u64,
    /// The shard's cycle balance (`canister_status`).
    pub cycles: Nat,
    /// Whether the shard was running.
    pub running: bool,
}

/// The messenger across all shards, from the index's last readings.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct IndexMetrics {
    pub shards: u32,
    /// Distinct subnets the shards are on.
    pub subnets: u32,
    pub users: u64,
    pub stored_bytes: u64,
    pub messages_stored: u64,
    /// Sum over shards (a user sending on two shards' conversations counts on each).
    pub daily_active_senders: u64,
    /// The oldest reading the totals include; `null` when a shard was never read.
    pub oldest_reading_ns: Option<u64>,
    /// Shards never read or whose last reading failed.
    pub shards_unread: u32,
    pub index_cycles: Nat,
    /// Warnings for operators: shards below their cycle floor the index could not top up, the
    /// index's own balance too low for another top-up or a new shard.
    pub warnings: Vec<String>,
    pub per_shard: Vec<ShardInfo>,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardOrigin {
    /// Created by the index from its shard wasm.
    Created,
    /// An existing `messaging` canister the index adopted (e.g. the single canister before the index).
    Adopted,
}

/// A run of consecutive buckets routed to one shard.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct BucketRun {
    pub first: u16,
    pub last: u16,
    pub shard: u32,
    pub canister: Principal,
}

/// A page of the routing table, in bucket order; buckets not listed are unassigned.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RoutingPage {
    pub runs: Vec<BucketRun>,
    /// Where the next page starts; `null` at the end.
    pub next: Option<u16>,
    /// Buckets assigned in the whole table.
    pub assigned_buckets: u32,
}

/// Where a principal's messages live.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// SHA-256(principal) mod 65,536.
    pub bucket: u16,
    /// The shard the bucket is routed to; `null` while the bucket is unassigned.
    pub shard: Option<u32>,
    pub canister: Option<Principal>,
}

/// A registration the index completed: the user's home shard and the user there.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub shard: u32,
    pub canister: Principal,
    pub bucket: u16,
    pub user: crate::messaging::UserView,
}

/// A journaled shard creation.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct CreationView {
    pub id: u64,
    pub subnet: Principal,
    pub cycles: Nat,
    pub requested_at_ns: u64,
    pub state: CreationStateView,
    /// A lost answer or installs that kept failing: an authority must look.
    pub needs_attention: bool,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum CreationStateView {
    Requested,
    Created { canister: Principal, attempts: u32, last_error: Option<String> },
    Installed { canister: Principal, shard: u32 },
    Refused { error: String },
}

/// Errors of `messaging_index` endpoints. A refused call changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// Only an authority may do this.
    NotAuthorized,
    /// The upload was refused: `reason` says why (size, offset, hash, not a module).
    InvalidUpload { reason: String },
    /// No upload is in progress (begin one first).
    NoUploadInProgress,
    /// No shard wasm has been uploaded yet.
    NoShardWasm,
    /// The canister is a shard already.
    AlreadyAShard { shard: u32 },
    /// The canister is not a `messaging` shard the index can use (`reason`).
    NotAShard { canister: Principal, reason: String },
    /// The subnet is not allowed by the policy (or not vouched for by the registry).
    SubnetNotAllowed { subnet: Principal, reason: String },
    /// Every allowed subnet is at its shard cap.
    NoCapacity,
    /// A call to another canister failed.
    CallFailed { canister: Principal, method: String, reason: String },
    /// The index holds too few cycles for this (`needed`, `available`).
    InsufficientCycles { needed: Nat, available: Nat },
    /// A value is out of range.
    InvalidArgument { name: String, reason: String },
    /// Another call is doing this already; retry when it finishes.
    Busy,
    /// A rollout is running; it must finish (or halt) first.
    RolloutInProgress,
    /// Anonymous callers cannot register.
    AnonymousCaller,
    /// The handle breaks the handle rules every shard applies.
    InvalidHandle { handle: String, rule: crate::messaging::HandleRule },
    /// Someone else holds, or is registering, this handle (across all shards).
    HandleTaken { handle: String },
    /// The caller is registered already, as `handle` on `shard`.
    AlreadyRegistered { handle: String, shard: u32, canister: Principal },
    /// The caller's registration awaits its home shard's answer (an unknown outcome is resolved
    /// by asking the shard, within minutes); the handle stays reserved meanwhile.
    RegistrationPending { handle: String, shard: u32 },
    /// The home shard refused the registration (its own typed error); nothing was kept.
    ShardRefused { shard: u32, error: crate::messaging::MessagingError },
}

/// Where one shard is in a rollout.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutStage {
    Waiting,
    Stopping,
    Snapshotting,
    Upgrading,
    Starting,
    Verifying,
    /// Runs the target module.
    Done,
    /// The upgrade failed; its snapshot is being loaded back.
    Restoring,
    /// Restored; being started again.
    RestartingOld,
    /// Back on its old module and running; the rollout halted because of it.
    RolledBack,
    /// A failure that could not be undone: the shard needs an operator.
    Stuck,
}

#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ShardRollout {
    pub shard: u32,
    pub canister: Principal,
    pub stage: RolloutStage,
    /// What went wrong, for a shard restored or stuck.
    pub error: Option<String>,
}

/// The current (or last) rollout: every shard moved to `target_sha256`, a batch at a time.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct RolloutView {
    #[serde(with = "serde_bytes")]
    pub target_sha256: Vec<u8>,
    pub batch_size: u32,
    pub started_at_ns: u64,
    pub started_by: Principal,
    /// Every shard done, or halted.
    pub finished: bool,
    /// Why it stopped before the end: the first shard that failed.
    pub halted: Option<String>,
    pub shards: Vec<ShardRollout>,
}
