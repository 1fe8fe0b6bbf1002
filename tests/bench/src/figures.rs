//! What the benchmark measures, kept in the state directory between stages and printed at the end.

use serde::{Deserialize, Serialize};

/// One query as a client page calls it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryFigure {
    pub canister: String,
    pub label: String,
    pub instructions: u64,
    pub reply_bytes: u64,
}

/// One hot update and its baseline (means over `samples` calls).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UpdateFigure {
    pub canister: String,
    pub label: String,
    /// Instructions of the entry message (what one message of this update costs).
    pub instructions: u64,
    /// Every message of the call context on the canister (entry and callbacks).
    pub context_instructions: u64,
    /// Every message the call caused, on all canisters.
    pub tree_instructions: u64,
    /// The baseline's instructions for the same argument and stored bytes (0 = no baseline).
    pub baseline: u64,
    /// Candid argument bytes (the same for the baseline).
    pub arg_bytes: u64,
    /// Bytes the call stored as its records (what the baseline inserts).
    pub stored_bytes: u64,
    /// Cycles the call cost on the Normal 13-node schedule, all canisters together, as the
    /// executor charged them (ingress, execution, calls).
    pub cycles: u128,
    /// Calls the means are over.
    #[serde(default)]
    pub samples: u32,
    /// Whether the ratio target applies (the hot path) or the figure is for information.
    pub hot: bool,
}

impl UpdateFigure {
    pub fn ratio(&self) -> Option<f64> {
        (self.baseline > 0).then(|| self.context_instructions as f64 / self.baseline as f64)
    }
}

/// Upgrade (pre_upgrade + post_upgrade) of one canister.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpgradeFigure {
    pub canister: String,
    pub records: u64,
    pub instructions: u64,
}

/// The retention sweep, run on expired messages.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SweepFigure {
    pub removed: u64,
    pub runs: u64,
    pub instructions: u64,
}

impl SweepFigure {
    pub fn per_message(&self) -> f64 {
        self.instructions as f64 / self.removed.max(1) as f64
    }
}

/// Storage of messages and users.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StorageFigure {
    pub messages: u64,
    /// Envelope bytes as the canister counts them (ciphertext, nonce, keys), summed.
    pub envelope_bytes: u64,
    /// Bytes of the message records (stored values) in the messages map, summed over a sample.
    pub record_bytes_sample: u64,
    pub record_sample: u64,
    /// Size of the messages map's virtual memory (B-tree nodes and values).
    pub messages_memory_bytes: u64,
    /// Size of the canister's whole stable memory.
    pub stable_bytes: u64,
    pub users: u64,
    /// Bytes of the user maps (users, handles, keys, activity, inbox index) per registered user.
    pub user_memory_bytes: u64,
}

impl StorageFigure {
    pub fn envelope_per_message(&self) -> f64 {
        self.envelope_bytes as f64 / self.messages.max(1) as f64
    }
    pub fn record_per_message(&self) -> f64 {
        self.record_bytes_sample as f64 / self.record_sample.max(1) as f64
    }
    pub fn memory_per_message(&self) -> f64 {
        self.messages_memory_bytes as f64 / self.messages.max(1) as f64
    }
    pub fn memory_per_user(&self) -> f64 {
        self.user_memory_bytes as f64 / self.users.max(1) as f64
    }
}

/// Everything measured at one point (the reference state or the target scale).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Figures {
    pub queries: Vec<QueryFigure>,
    pub updates: Vec<UpdateFigure>,
    pub upgrades: Vec<UpgradeFigure>,
    pub sweep: Option<SweepFigure>,
    pub storage: Option<StorageFigure>,
    /// Records loaded, by kind.
    pub counts: Vec<(String, u64)>,
}
