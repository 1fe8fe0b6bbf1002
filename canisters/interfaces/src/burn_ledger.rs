//! Candid types of `burn_ledger`.

use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that set the ICP/XDR rate and the issuance model.
    pub authorities: Vec<Principal>,
    /// Asked "which subnet is canister C on?".
    pub subnet_registry: Option<Principal>,
    /// Asked "which license / program owns canister C?" and "is C a known app?".
    pub license_issuer: Option<Principal>,
    /// Peers always accepted as reporters (the suite's canisters).
    pub reporters: Vec<Principal>,
    /// Network-wide Mission 70 burn target, in milli-XDR per second (default 770 = 0.77 XDR/s).
    pub network_target_milli_xdr_per_second: Option<u64>,
    /// How often this canister reports its own usage to itself (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub subnet_registry: Option<Principal>,
    pub license_issuer: Option<Principal>,
    pub reporters: Vec<Principal>,
    pub network_target_milli_xdr_per_second: u64,
    pub usage_report_interval_seconds: u64,
}

// ---- Contract with reporters (every suite canister and app canisters). Extend, don't rename. ----

/// Usage a reporter canister consumed over one period. `sequence` starts at 1 and increases by
/// one per report, so a retry (same sequence) is recognised and a gap is visible.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct UsageReport {
    pub sequence: u64,
    pub period_start_ns: u64,
    pub period_end_ns: u64,
    pub cycles_consumed: u128,
    pub instructions: Option<u64>,
    pub bytes_stored: Option<u64>,
    pub messages_handled: Option<u64>,
}
