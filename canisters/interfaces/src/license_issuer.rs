//! Candid types of `license_issuer`.

use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that create institutions and programs, set quotas and policies.
    pub authorities: Vec<Principal>,
    /// Seats that may ever be in use at once across all programs (1,500 for Pakistan).
    pub global_seat_cap: u32,
    /// The registry asked whether a subnet is live and told where apps are placed.
    pub subnet_registry: Option<Principal>,
    /// The burn ledger this canister reports its usage to; `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// How long an offer may be accepted (default 14 days).
    pub offer_ttl_seconds: Option<u64>,
    /// Days without activity after which a seat may be reclaimed (default 90).
    pub idle_reclaim_days: Option<u32>,
    /// How often usage is reported to the burn ledger (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub global_seat_cap: u32,
    pub subnet_registry: Option<Principal>,
    pub burn_ledger: Option<Principal>,
    pub offer_ttl_seconds: u64,
    pub idle_reclaim_days: u32,
    pub usage_report_interval_seconds: u64,
}

// ---- Contract with peer canisters (burn_ledger). Extend, don't rename. ----

/// Sector of an institution.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sector {
    Government,
    Education,
    Startup,
    Other,
}

/// Who owns an app canister: the answer burn_ledger needs to attribute burn to a program.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AppOwner {
    pub canister: Principal,
    pub app_id: u64,
    pub license_id: u64,
    pub program_id: u64,
    pub institution_id: u64,
    pub sector: Sector,
    pub holder: Principal,
    pub subnet_id: Principal,
}
