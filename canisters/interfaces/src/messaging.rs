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
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub burn_ledger: Option<Principal>,
    pub limits: Limits,
    pub usage_report_interval_seconds: u64,
}
