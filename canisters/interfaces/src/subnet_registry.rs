//! Candid types of `subnet_registry`.

use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// Install argument (init and upgrade). On upgrade, `None` keeps the stored configuration.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct InitArgs {
    /// Principals that approve proposals and write data centre / provider / node records.
    pub authorities: Vec<Principal>,
    /// Approvals a proposal needs to execute (e.g. 2 of 3 authorities).
    pub quorum: u32,
    /// Canisters (the license issuer) allowed to record canister placements.
    pub placement_recorders: Vec<Principal>,
    /// The burn ledger this canister reports its usage to; `None` disables reporting.
    pub burn_ledger: Option<Principal>,
    /// How long a proposal stays open before it expires (default 7 days).
    pub proposal_ttl_seconds: Option<u64>,
    /// How often usage is reported to the burn ledger (default 1 hour).
    pub usage_report_interval_seconds: Option<u64>,
}

/// The configuration in force, as stored.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub schema_version: u32,
    pub authorities: Vec<Principal>,
    pub quorum: u32,
    pub placement_recorders: Vec<Principal>,
    pub burn_ledger: Option<Principal>,
    pub proposal_ttl_seconds: u64,
    pub usage_report_interval_seconds: u64,
}

// ---- Contract with peer canisters (license_issuer, burn_ledger). Extend, don't rename. ----

/// Lifecycle of a subnet: `Proposed → Approved → Provisioning → Live ⇄ Suspended → Decommissioned`.
#[derive(CandidType, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubnetStatus {
    Proposed,
    Approved,
    Provisioning,
    Live,
    Suspended,
    Decommissioned,
}

/// A canister recorded as running on a subnet.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub canister: Principal,
    pub subnet_id: Principal,
    /// The recorder (e.g. the license issuer) that recorded it.
    pub recorded_by: Principal,
    pub recorded_at_ns: u64,
}

/// Why a registry call was refused. Each variant carries what the caller needs to understand it;
/// a refused call changes nothing.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// The caller may not make this call (anonymous, not an authority, not a recorder, ...).
    NotAuthorized { caller: Principal, required: String },
    SubnetNotFound { subnet_id: Principal },
    /// Placements are only recorded on `Live` subnets.
    SubnetNotLive { subnet_id: Principal, status: SubnetStatus },
    /// The canister is already recorded on another subnet.
    CanisterAlreadyPlaced { canister: Principal, subnet_id: Principal },
}
