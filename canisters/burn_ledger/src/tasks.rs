//! The asynchronous flows: admitting and recording a report, then looking up what attribution
//! still needs, and the timer that retries attribution. State is written before every `await`
//! and re-read after it; the plain-Rust steps they call live in the other modules.

use crate::attribution::HOURS_MOVED_PER_MESSAGE;
use crate::external_calls;
use crate::storage::{config, with_ledger};
use candid::Principal;
use common::guard::CallerGuard;
use ic_cdk::api::{canister_self, time};
use interfaces::burn_ledger::{BurnError, ReportReceipt, UsageReport};

/// Burns of one canister attributed inline after a report.
const INLINE_BURNS: usize = 50;
/// Per timer run: at most this many canisters looked up, this many burns each.
pub const RETRY_CANISTERS_PER_RUN: usize = 10;
pub const RETRY_BURNS_PER_CANISTER: usize = 100;

/// Admits `caller`, records the report, then tries to attribute it.
///
/// A configured peer's report is recorded before anything is awaited. An app canister not yet in
/// the cache must first be confirmed by license_issuer: until then nothing is recorded, and if the
/// issuer cannot be asked the reporter gets `ReporterCheckUnavailable` and resends the same report
/// later (nothing is lost: the report stays pending at the reporter). While one report of a
/// caller is being admitted, another of the same caller gets `AlreadyInProgress`: a later
/// sequence recorded first would turn the earlier one into a gap it could never fill. Once
/// recorded, a failing attribution lookup only leaves the burn `Unattributed` for the timer.
pub async fn report_usage(caller: Principal, report: UsageReport) -> Result<ReportReceipt, BurnError> {
    let standing = with_ledger(|l| l.standing(caller, canister_self(), time()))?;
    let admission = CallerGuard::acquire(format!("admit:{caller}"))
        .map_err(|_| BurnError::AlreadyInProgress { what: format!("admitting another report of {caller}") })?;
    if standing == crate::reports::Standing::AskIssuer {
        with_ledger(|l| l.check_report(caller, &report, time()))?;
        let issuer = config().license_issuer.ok_or(BurnError::UnknownReporter { caller })?;
        match external_calls::app_owner(issuer, caller).await {
            Ok(Some(owner)) => with_ledger(|l| l.cache_owner(caller, Some(owner), time())),
            Ok(None) => return Err(BurnError::UnknownReporter { caller }),
            Err(reason) => return Err(BurnError::ReporterCheckUnavailable { caller, reason }),
        }
    }
    // No await between here and the record: the report is stored in this message.
    let recorded = with_ledger(|l| l.record_report(caller, report, time()))?;
    drop(admission);
    let mut receipt = recorded.receipt;
    if recorded.needs_lookup && attribute_canister(caller, INLINE_BURNS, HOURS_MOVED_PER_MESSAGE).await.is_ok() {
        receipt.attributed = with_ledger(|l| l.burn(receipt.burn_id).is_some_and(|b| b.attribution.is_some()));
    }
    Ok(receipt)
}

/// Asks what the caches lack about `canister`, caches the answers, and attributes up to `limit`
/// of its pending burns, moving at most about `max_hours` hourly parts. Returns the burns
/// attributed and the parts moved. On a failed lookup the failure is counted on the burns and
/// they stay pending. A second concurrent attempt for the same canister does nothing.
pub async fn attribute_canister(canister: Principal, limit: usize, max_hours: usize) -> Result<(usize, usize), String> {
    let Ok(_guard) = CallerGuard::acquire(format!("attribute:{canister}")) else {
        return Ok((0, 0));
    };
    let needed = with_ledger(|l| l.needed_lookups(&canister, time()));
    let mut failure = None;
    if let Some(issuer) = needed.owner {
        match external_calls::app_owner(issuer, canister).await {
            Ok(owner) => with_ledger(|l| l.cache_owner(canister, owner, time())),
            Err(e) => failure = Some(e),
        }
    }
    if let (None, Some(registry)) = (&failure, needed.placement) {
        match external_calls::placement_of(registry, canister).await {
            Ok(placement) => with_ledger(|l| l.cache_placement(canister, placement.map(|p| p.subnet_id), time())),
            Err(e) => failure = Some(e),
        }
    }
    with_ledger(|l| match failure {
        Some(e) => {
            l.note_attribution_failure(canister, limit);
            Err(e)
        }
        None => Ok(l.attribute_pending_within(canister, time(), limit, max_hours)),
    })
}

/// One retry run: a bounded batch of canisters with pending burns. Returns the burns attributed,
/// or `AlreadyInProgress` while another run is still awaiting lookups.
pub async fn retry_attribution() -> Result<u64, BurnError> {
    let _guard =
        CallerGuard::acquire("attribution-retry").map_err(|_| BurnError::AlreadyInProgress { what: "attribution retry".into() })?;
    let canisters = with_ledger(|l| l.pending_canisters(RETRY_CANISTERS_PER_RUN));
    let mut attributed = 0u64;
    // One budget for the whole run: canisters whose answers are cached need no await, so their
    // moves may all run in one message.
    let mut hours_left = HOURS_MOVED_PER_MESSAGE;
    for canister in canisters {
        if hours_left == 0 {
            break;
        }
        if let Ok((burns, hours)) = attribute_canister(canister, RETRY_BURNS_PER_CANISTER, hours_left).await {
            attributed += burns as u64;
            hours_left = hours_left.saturating_sub(hours);
        }
    }
    Ok(attributed)
}
