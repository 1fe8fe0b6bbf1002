//! `burn_ledger` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.
//!
//! Modules: `reports` (admission, validation, recording once), `attribution` (caches, moving burns
//! from `Unattributed`), `buckets` (totals and hourly/daily series), `conversion` (cycles → XDR →
//! ICP), `rates` (the rate and issuance model), `meter` (burn rate, Mission 70 meter, checkpoint),
//! `tasks` (the async flows), `external_calls` (every outgoing call), `ledger` + `storage` (state).

mod attribution;
mod buckets;
mod config;
mod conversion;
mod external_calls;
mod ledger;
mod meter;
mod rates;
mod reports;
mod storage;
mod tasks;

use candid::Principal;
use common::usage_reporter::{self, Transport};
use ic_cdk::api::{canister_self, msg_caller, time};
use ic_cdk::{query, update};
use interfaces::audit::{PageRequest, MAX_PAGE};
use interfaces::burn_ledger::{
    Amounts, Bucket, BurnCheckpoint, BurnError, BurnPage, BurnRate, BurnRecord, Config, ConversionRate, InitArgs,
    IssuanceModel, ListTotalsRequest, Mission70Meter, ReportReceipt, ReporterInfo, Scope, ScopeTotals, SeriesRequest,
    SequenceGap, UsageReport,
};
use std::time::Duration;
use storage::with_ledger;

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start_timers);

/// Timers do not survive upgrades: both lifecycle hooks start them.
fn start_timers() {
    let config = storage::config();
    ic_cdk_timers::set_timer_interval(Duration::from_secs(config.attribution_retry_interval_seconds), || async {
        let _ = tasks::retry_attribution().await;
    });
    start_self_reporting(Duration::from_secs(config.usage_report_interval_seconds));
}

/// This canister reports its own usage with the shared client, through a direct local record
/// rather than a call to itself: a self-call would be a paid message that can time out and
/// would itself add to the burn being measured, while the local record runs the very same
/// `record_report` (same sequence rules, same idempotency, same audit entry) atomically in the
/// timer's message. The client's pending-report state machine is unchanged either way.
fn start_self_reporting(interval: Duration) {
    usage_reporter::start(storage::mem(storage::USAGE_REPORTER_MEM), Transport::Local(record_own_usage), interval);
}

fn record_own_usage(report: UsageReport) -> Result<ReportReceipt, BurnError> {
    let me = canister_self();
    with_ledger(|l| l.record_report(me, report, time())).map(|r| r.receipt)
}

/// Submits usage: cycles a reporter canister consumed over a period, with its sequence number.
/// Only configured peers and app canisters license_issuer knows may report. Resending a
/// recorded sequence is acknowledged (`duplicate = true`) and not counted again; skipped sequences
/// are recorded as a gap. The report is recorded even when its attribution lookups fail; a timer
/// retries them.
#[update]
async fn report_usage(report: UsageReport) -> Result<ReportReceipt, BurnError> {
    tasks::report_usage(msg_caller(), report).await
}

/// Authorities: sets the ICP/XDR rate new burns are converted at (on mainnet the CMC's rate).
/// Recorded burns keep the rate they were recorded with. Zero and out-of-order rates are refused.
#[update]
fn set_conversion_rate(rate: ConversionRate) -> Result<(), BurnError> {
    with_ledger(|l| l.set_rate(msg_caller(), rate, time()))
}

/// The ICP/XDR rate in force, if one was set.
#[query]
fn conversion_rate() -> Option<ConversionRate> {
    with_ledger(|l| l.rate_in_force())
}

/// Authorities: sets the issuance model of the Mission 70 meter (gross minting, target, supply).
#[update]
fn set_issuance_model(model: IssuanceModel) -> Result<(), BurnError> {
    with_ledger(|l| l.set_model(msg_caller(), model, time()))
}

/// Authorities: runs one bounded attribution retry now (the timer runs it periodically).
/// Returns how many burns were attributed.
#[update]
async fn retry_attribution() -> Result<u64, BurnError> {
    with_ledger(|l| l.require_authority(msg_caller()))?;
    tasks::retry_attribution().await
}

/// All-time totals of one scope (suite, canister, subnet, program, ...).
#[query]
fn totals(scope: Scope) -> Amounts {
    with_ledger(|l| l.totals(&scope).amounts())
}

/// A page of totals of one family of scopes (canisters, subnets or programs).
#[query]
fn list_totals(request: ListTotalsRequest) -> Vec<ScopeTotals> {
    let limit = request.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE) as usize;
    with_ledger(|l| l.list_totals(request.kind, request.after.as_ref(), limit))
        .into_iter()
        .map(|(scope, sums)| ScopeTotals { scope, amounts: sums.amounts() })
        .collect()
}

/// Hourly or daily buckets of one scope whose start lies in `[from_ns, to_ns)`.
#[query]
fn series(request: SeriesRequest) -> Result<Vec<Bucket>, BurnError> {
    if request.to_ns <= request.from_ns {
        return Err(BurnError::ArgumentOutOfRange {
            name: "to_ns".into(),
            value: request.to_ns,
            min: request.from_ns.saturating_add(1),
            max: u64::MAX,
        });
    }
    let limit = request.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE) as usize;
    Ok(with_ledger(|l| l.series(&request.scope, request.granularity, request.from_ns, request.to_ns, limit))
        .into_iter()
        .map(|(start_ns, sums)| Bucket { start_ns, amounts: sums.amounts() })
        .collect())
}

/// One recorded burn: the report, the rate used, its ICP equivalent and attribution.
#[query]
fn burn(burn_id: u64) -> Result<BurnRecord, BurnError> {
    with_ledger(|l| l.burn(burn_id)).ok_or(BurnError::BurnNotFound { burn_id })
}

/// A page of recorded burns, oldest first.
#[query]
fn list_burns(request: PageRequest) -> BurnPage {
    let (start, limit) = request.bounds();
    with_ledger(|l| BurnPage { burns: l.burns.range(start..).take(limit).map(|e| e.value().0).collect(), total: l.burns.len() })
}

/// What the ledger knows about a reporter: last sequence, last period end, reports, gaps.
#[query]
fn reporter(reporter: Principal) -> Option<ReporterInfo> {
    with_ledger(|l| {
        l.reporters.get(&reporter).map(|s| ReporterInfo {
            reporter,
            last_sequence: s.0.last_sequence,
            last_period_end_ns: s.0.last_period_end_ns,
            reports: s.0.reports,
            missing_sequences: s.0.missing_sequences,
            gaps: s.0.gaps,
        })
    })
}

/// Gaps in a reporter's sequence numbers; `start` is the first missing sequence to list from.
#[query]
fn gaps(reporter: Principal, request: PageRequest) -> Vec<SequenceGap> {
    let (start, limit) = request.bounds();
    with_ledger(|l| l.gaps_of(reporter, start, limit))
}

/// The suite's burn rate over the last `window_seconds` (1 hour to 31 days) and its share of the
/// network-wide Mission 70 target.
#[query]
fn burn_rate(window_seconds: u64) -> Result<BurnRate, BurnError> {
    let window = meter::check_window(window_seconds)?;
    Ok(with_ledger(|l| l.burn_rate(window, time())))
}

/// The Mission 70 meter: ICP burned per year at the current rate and its effect on net inflation
/// under the issuance model. Window defaults to 24 hours.
#[query]
fn mission70_meter(window_seconds: Option<u64>) -> Result<Mission70Meter, BurnError> {
    let window = meter::check_window(window_seconds.unwrap_or(meter::CHECKPOINT_WINDOW_SECONDS))?;
    Ok(with_ledger(|l| l.meter(window, time())))
}

/// The burn checkpoint: cycles, XDR, XDR/s, ICP and share of the Mission 70 target for the
/// suite, per subnet and per program (each list adds up to the suite).
#[query]
fn burn_checkpoint() -> BurnCheckpoint {
    with_ledger(|l| l.checkpoint(time()))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "burn_ledger");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
