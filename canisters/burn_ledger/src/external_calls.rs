//! Every call this canister makes to another canister, typed with the callee's interface types.
//! Callee ids come from the configuration. Each function returns the answer or why there is none
//! (reject, trap, stopped callee, timeout, undecodable reply) as text for the audit trail; callers
//! keep their state consistent whichever happens.
//!
//! The ICP/XDR rate is set by an authority here (`rates.rs`); on mainnet a function here would
//! call the Cycles Minting Canister's `get_icp_xdr_conversion_rate` and hand the answer to
//! `Ledger::set_rate`.
//!
//! This canister's own usage is not sent through a call: see `lib.rs` (`start_self_reporting`).

use candid::Principal;
use ic_cdk::call::Call;
use interfaces::license_issuer::AppOwner;
use interfaces::subnet_registry::Placement;

/// Timeout of a lookup: short, since a report waits for it (and the timer retries anyway).
const LOOKUP_TIMEOUT_SECONDS: u32 = 30;

/// Longest failure text kept (it reaches replies: `ReporterCheckUnavailable { reason }`).
pub const MAX_REASON_CHARS: usize = 256;

/// `what: error`, cut to [`MAX_REASON_CHARS`] characters.
fn reason(what: &str, error: impl std::fmt::Display) -> String {
    format!("{what}: {error}").chars().take(MAX_REASON_CHARS).collect()
}

/// subnet_registry `placement_of : (principal) -> (opt Placement) query`.
pub async fn placement_of(registry: Principal, canister: Principal) -> Result<Option<Placement>, String> {
    let response = Call::bounded_wait(registry, "placement_of")
        .with_arg(canister)
        .change_timeout(LOOKUP_TIMEOUT_SECONDS)
        .await
        .map_err(|e| reason("placement_of failed", e))?;
    response.candid::<Option<Placement>>().map_err(|e| reason("placement_of reply undecodable", e))
}

/// license_issuer `app_owner : (principal) -> (opt AppOwner) query`.
pub async fn app_owner(issuer: Principal, canister: Principal) -> Result<Option<AppOwner>, String> {
    let response = Call::bounded_wait(issuer, "app_owner")
        .with_arg(canister)
        .change_timeout(LOOKUP_TIMEOUT_SECONDS)
        .await
        .map_err(|e| reason("app_owner failed", e))?;
    response.candid::<Option<AppOwner>>().map_err(|e| reason("app_owner reply undecodable", e))
}
