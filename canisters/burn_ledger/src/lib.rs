//! `burn_ledger` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.
//!
//! Modules: `reports` (admission, validation, recording once), `attribution` (caches, moving burns
//! from `Unattributed`), `buckets` (totals and hourly/daily series), `conversion` (cycles → XDR →
//! ICP), `rates` (the rate and issuance model), `meter` (burn rate, Mission 70 meter, checkpoint),
//! `tasks` (the async flows), `external_calls` (every outgoing call), `ledger` + `storage` (state).

use common::reply_endpoint as endpoint;

mod attribution;
mod breakdown;
mod buckets;
mod config;
mod conversion;
mod external_calls;
mod inspect;
mod ledger;
mod meter;
#[cfg(test)]
mod model_tests;
mod page;
mod rates;
mod reports;
mod spread;
mod storage;
mod tasks;

use candid::Principal;
use common::usage_reporter::{self, Transport};
use ic_cdk::api::{canister_self, msg_caller, time};
use ic_cdk::{query, update};
use interfaces::audit::{PageRequest, MAX_PAGE};
use interfaces::burn_ledger::{
    Amounts, Bucket, BurnCheckpoint, BurnError, BurnPage, BurnRate, BurnRecord, Config, ConversionRate, InitArgs,
    IssuanceModel, IssuanceModelArg, ListTotalsRequest, Mission70Meter, ReportReceipt, ReporterInfo, Scope, ScopeTotals,
    SeriesRequest, SequenceGap, UsageReport, UsageReportArg,
};
use std::time::Duration;
use storage::with_ledger;

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start_timers);

/// Runs after install and after every upgrade: settles schema 2's and 3's settings, builds the
/// reply headers, then starts the timers (timers do not survive upgrades).
fn start_timers() {
    with_ledger(|l| {
        l.adopt_schema_2();
        l.adopt_schema_3(time());
    });
    warm_replies();
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

/// Early rejection of ingress (see `inspect.rs`); the endpoints check everything again.
#[ic_cdk::inspect_message]
fn inspect_message() {
    let method = ic_cdk::api::msg_method_name();
    let arg_len = ic_cdk::api::msg_arg_data().len();
    match inspect::admit(&method, msg_caller(), arg_len, &storage::config()) {
        Ok(()) => ic_cdk::api::accept_message(),
        Err(why) => ic_cdk::trap(format!("{method} refused before execution: {why}")),
    }
}

endpoint! {
    #[update]
    /// Submits usage: cycles a reporter canister consumed over a period, with its sequence number.
    /// Only configured peers and app canisters license_issuer knows may report (an unknown caller
    /// waits for license_issuer's answer; meanwhile another report of the same caller gets
    /// `AlreadyInProgress`). Resending a recorded sequence is acknowledged (`duplicate = true`) and
    /// not counted again; a sequence after a skipped one records the skipped ones as a gap, and a
    /// skipped sequence can no longer be recorded. A period must not start before the caller's
    /// previous period ended, may end at most 300 s after the ledger's clock, covers at most 31
    /// days, and carries at most 10^13 cycles per second. The burn is spread uniformly over the
    /// hours of its period. It is recorded even when its attribution lookups fail; a timer retries
    /// them.
    async fn report_usage(report: UsageReportArg) -> Result<ReportReceipt, BurnError> {
        let report = UsageReport::try_from(report)?;
        tasks::report_usage(msg_caller(), report).await
    }
}

endpoint! {
    #[update]
    /// Authorities: sets the ICP/XDR rate new burns are converted at (on mainnet the CMC's rate).
    /// Recorded burns keep the rate they were recorded with. Refused: a zero rate, a rate above
    /// 10^9 (1 ICP = 100,000 XDR), a timestamp older than the rate in force or more than 300 s
    /// ahead of the ledger's clock.
    fn set_conversion_rate(rate: ConversionRate) -> Result<(), BurnError> {
        with_ledger(|l| l.set_rate(msg_caller(), rate, time()))
    }
}

/// The ICP/XDR rate in force, if one was set.
#[query]
fn conversion_rate() -> Option<ConversionRate> {
    with_ledger(|l| l.rate_in_force())
}

endpoint! {
    #[update]
    /// Authorities: sets the issuance model of the Mission 70 meter (gross minting and target at
    /// most 10,000 bps, supply from 1 e8s to 10^19 e8s).
    fn set_issuance_model(model: IssuanceModelArg) -> Result<(), BurnError> {
        let model = IssuanceModel::try_from(model)?;
        with_ledger(|l| l.set_model(msg_caller(), model, time()))
    }
}

/// Authorities: runs one bounded attribution retry now (the timer runs it periodically).
/// Returns how many burns were attributed.
#[update]
async fn retry_attribution() -> Result<u64, BurnError> {
    with_ledger(|l| l.require_authority(msg_caller()))?;
    tasks::retry_attribution().await
}

endpoint! {
    #[query]
    /// All-time totals of one scope (suite, canister, subnet, program, ...).
    fn totals(scope: Scope) -> Amounts {
        with_ledger(|l| l.totals(&scope).amounts())
    }
}

endpoint! {
    #[query]
    /// A page of totals of one family of scopes (canisters, subnets or programs); see
    /// `ListTotalsRequest` for paging.
    fn list_totals(request: ListTotalsRequest) -> Result<Vec<ScopeTotals>, BurnError> {
        if let Some(after) = request.after {
            if !buckets::is_of_kind(&after, request.kind) {
                return Err(BurnError::ScopeNotOfKind { after, kind: request.kind });
            }
        }
        let limit = request.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE) as usize;
        let rows = with_ledger(|l| l.list_totals(request.kind, request.after.as_ref(), limit));
        Ok(page::bounded(rows.into_iter().map(|(scope, sums)| ScopeTotals { scope, amounts: sums.amounts() }), limit, page::MAX_REPLY_BYTES))
    }
}

endpoint! {
    #[query]
    /// Hourly or daily buckets of one scope whose start lies in `[from_ns, to_ns)` (see
    /// `SeriesRequest` for paging). Each burn is spread uniformly over its period, so a bucket
    /// holds the part of every period it overlaps.
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
        let rows = with_ledger(|l| l.series(&request.scope, request.granularity, request.from_ns, request.to_ns, limit));
        Ok(page::bounded(rows.into_iter().map(|(start_ns, sums)| Bucket { start_ns, amounts: sums.amounts() }), limit, page::MAX_REPLY_BYTES))
    }
}

endpoint! {
    #[query]
    /// One recorded burn: the report, the rate used, its ICP equivalent and attribution.
    fn burn(burn_id: u64) -> Result<BurnRecord, BurnError> {
        with_ledger(|l| l.burn(burn_id)).ok_or(BurnError::BurnNotFound { burn_id })
    }
}

endpoint! {
    #[query]
    /// A page of recorded burns, oldest first; see `BurnPage` for paging.
    fn list_burns(request: PageRequest) -> BurnPage {
        let (start, limit) = request.bounds();
        with_ledger(|l| BurnPage {
            burns: page::bounded(l.burns.range(start..).take(limit).map(|e| e.value().0), limit, page::MAX_REPLY_BYTES),
            total: l.burns.len(),
        })
    }
}

endpoint! {
    #[query]
    /// What the ledger knows about a reporter: last sequence, last period end, reports, gaps.
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
}

endpoint! {
    #[query]
    /// Gaps in a reporter's sequence numbers, from the gap whose first missing sequence is `start`
    /// or later: at most `limit` (default and cap 500; 0 gives an empty page), never a reply past
    /// 1 MB. Continue with `start` = the last gap's `first + 1`.
    fn gaps(reporter: Principal, request: PageRequest) -> Vec<SequenceGap> {
        let (start, limit) = request.bounds();
        page::bounded(with_ledger(|l| l.gaps_of(reporter, start, limit)), limit, page::MAX_REPLY_BYTES)
    }
}

endpoint! {
    #[query]
    /// The suite's burn rate over `[now − window_seconds, now)` (1 hour to 31 days) and its share of
    /// the network-wide Mission 70 target. Each burn counts uniformly over its report's period: the
    /// hours inside the window count whole, the hour the window starts in counts pro rata (burn
    /// assumed uniform within that hour), the current hour counts what was reported up to now
    /// (which may include up to 300 s of a period ending after now, the clock skew allowed). The
    /// window is shortened to the whole seconds since the earliest reported period start.
    fn burn_rate(window_seconds: u64) -> Result<BurnRate, BurnError> {
        let window = meter::check_window(window_seconds)?;
        Ok(with_ledger(|l| l.burn_rate(window, time())))
    }
}

endpoint! {
    #[query]
    /// The Mission 70 meter: ICP burned per year at the burn rate over the window (as `burn_rate`
    /// computes it; default 24 hours) and its effect on net inflation under the issuance model.
    fn mission70_meter(window_seconds: Option<u64>) -> Result<Mission70Meter, BurnError> {
        let window = meter::check_window(window_seconds.unwrap_or(meter::CHECKPOINT_WINDOW_SECONDS))?;
        Ok(with_ledger(|l| l.meter(window, time())))
    }
}

endpoint! {
    #[query]
    /// The burn checkpoint: cycles, XDR, XDR/s, ICP and share of the Mission 70 target for the
    /// suite, per subnet and per program. Each list adds up exactly to the suite, field by field
    /// (an `Others` line sums what a full list leaves out).
    fn burn_checkpoint() -> BurnCheckpoint {
        with_ledger(|l| l.checkpoint(time()))
    }
}

/// Builds the reply headers of the queries, so their replies skip it (see `reply.rs`).
fn warm_replies() {
    common::reply::warm::<BurnCheckpoint>();
    common::reply::warm::<Amounts>();
    common::reply::warm::<Result<Vec<ScopeTotals>, BurnError>>();
    common::reply::warm::<Result<Vec<Bucket>, BurnError>>();
    common::reply::warm::<Result<BurnRecord, BurnError>>();
    common::reply::warm::<BurnPage>();
    common::reply::warm::<Option<ReporterInfo>>();
    common::reply::warm::<Vec<SequenceGap>>();
    common::reply::warm::<Result<BurnRate, BurnError>>();
    common::reply::warm::<Result<Mission70Meter, BurnError>>();
    common::reply::warm::<Result<ReportReceipt, BurnError>>();
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
