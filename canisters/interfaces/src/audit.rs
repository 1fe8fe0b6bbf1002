//! Types shared by every canister: the hash-chained audit log and paging.

use candid::{CandidType, Deserialize, Principal};
use serde::Serialize;

/// One entry of a canister's append-only audit log, as returned to readers.
///
/// `hash = SHA-256(prev_hash || CBOR(index, time_ns, actor, kind, payload))`, so anyone holding
/// the entries can recompute the chain and compare the tip with the certified data.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, starting at 0.
    pub index: u64,
    /// IC time (nanoseconds since the epoch) at which the change was made.
    pub time_ns: u64,
    /// Who made the change (a user, an authority, a peer canister or the canister itself).
    pub actor: Principal,
    /// Short machine-readable name of the change, e.g. `subnet_created`.
    pub kind: String,
    /// CBOR encoding of the change's details.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// Hash of the previous entry (32 zero bytes for the first).
    #[serde(with = "serde_bytes")]
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    #[serde(with = "serde_bytes")]
    pub hash: Vec<u8>,
}

/// A page of the audit log.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Number of entries in the whole log.
    pub total: u64,
    /// Hash of the last entry (the value set as certified data); 32 zero bytes when empty.
    #[serde(with = "serde_bytes")]
    pub tip_hash: Vec<u8>,
}

/// Outcome of re-verifying a range of the chain.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every entry in the range hashes to its stored hash and links to its predecessor.
    Valid { checked: u64 },
    /// The first entry whose stored hash or link does not match what was recomputed.
    Broken { index: u64, reason: String },
}

/// Maximum number of items a paged query returns, whatever the caller asks.
pub const MAX_PAGE: u32 = 500;

/// Paging request: start at `start` (default 0), return at most `limit` (default and cap `MAX_PAGE`).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub start: Option<u64>,
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The start index and the effective limit, capped at `MAX_PAGE`.
    pub fn bounds(&self) -> (u64, usize) {
        let limit = self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        (self.start.unwrap_or(0), limit as usize)
    }
}

/// Errors every canister's lifecycle can report when its install argument is invalid.
#[derive(CandidType, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    NoAuthorities,
    AnonymousAuthority,
    DuplicateAuthority { authority: Principal },
    QuorumOutOfRange { quorum: u32, authorities: u32 },
    LimitOutOfRange { name: String, value: u64, min: u64, max: u64 },
    /// A principal (list) of the install argument other than `authorities` names the anonymous principal.
    AnonymousPrincipal { field: String },
    /// A principal list of the install argument other than `authorities` names the same principal twice.
    DuplicatePrincipal { field: String, principal: Principal },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
