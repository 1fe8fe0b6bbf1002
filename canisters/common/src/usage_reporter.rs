//! The suite's usage-reporting client: each canister measures what it burns and reports it to the
//! burn ledger on a timer.
//!
//! How it measures: at every tick it reads its own cycle balance and compares it with the balance
//! at the previous tick (the *baseline*). Consumption over the period is
//! `baseline + top-ups noted since − balance`. Top-ups the host tells it about
//! ([`note_cycles_accepted`]) are added back; an increase it was not told about is treated as a
//! top-up too (the delta saturates at zero), so a period with an unannounced top-up under-reports
//! rather than inventing burn.
//!
//! How it stays exact across failures: a closed period becomes the *pending* report, stored in the
//! stable memory the host gives it, with the next sequence number. Until the ledger acknowledges
//! it, every tick resends the very same report (same sequence, same period, same cycles); the
//! ledger recognises a sequence it already recorded and does not count it again, so a reply lost
//! to a timeout is harmless. Consumption during the retries accumulates into the next period.
//! A report the ledger refuses as invalid (a permanent error) is dropped and counted, so one bad
//! report cannot block reporting forever; the ledger then shows its sequence as a gap.
//!
//! Adoption by a canister (memory id chosen by the host, never reused):
//! ```ignore
//! // in init and post_upgrade, when the config names a burn ledger:
//! common::usage_reporter::start(storage::mem(USAGE_REPORTER_MEM), Transport::Call(ledger), interval);
//! // optional: when the canister accepts cycles
//! common::usage_reporter::note_cycles_accepted(accepted);
//! ```
//! [`ReporterState`] is plain Rust (unit-tested natively); only [`start`] and the timer body touch
//! the system API.

use crate::cbor::Cbor;
use candid::{CandidType, Principal};
use ic_stable_structures::{Memory, StableCell};
use interfaces::burn_ledger::{BurnError, ReportReceipt, UsageReport};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::time::Duration;

/// The cycle balance at the start of the open period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, CandidType)]
pub struct Baseline {
    pub balance: u128,
    pub at_ns: u64,
}

/// Extra figures a report may carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageDetail {
    pub instructions: Option<u64>,
    pub bytes_stored: Option<u64>,
    pub messages_handled: Option<u64>,
}

/// What became of one send of the pending report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The ledger recorded it (or had already recorded it: a duplicate is an acknowledgement).
    Acknowledged,
    /// The call failed or the ledger could not take it now: resend the same report later.
    RetryLater(String),
    /// The ledger refused the report itself as invalid: resending it can never succeed.
    Refused(String),
}

/// Maps the ledger's answer to what the client does next.
pub fn classify_reply(reply: &Result<ReportReceipt, BurnError>) -> SendOutcome {
    match reply {
        Ok(_) => SendOutcome::Acknowledged,
        // The caller's standing may change (config fixed, issuer back up): keep the report.
        Err(e @ (BurnError::UnknownReporter { .. }
        | BurnError::ReporterCheckUnavailable { .. }
        | BurnError::AnonymousCaller
        | BurnError::AlreadyInProgress { .. }
        | BurnError::PeriodInFuture { .. })) => SendOutcome::RetryLater(format!("{e:?}")),
        Err(e) => SendOutcome::Refused(format!("{e:?}")),
    }
}

/// Everything the client keeps, in the host's stable memory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, CandidType)]
pub struct ReporterState {
    /// Sequence number the next new report gets (the first report is 1).
    pub next_sequence: u64,
    /// Start of the open period; `None` until the first tick.
    pub baseline: Option<Baseline>,
    /// Cycles the host accepted since the baseline (added back when computing consumption).
    pub top_ups_since_baseline: u128,
    /// The closed period waiting for the ledger's acknowledgement.
    pub pending: Option<UsageReport>,
    /// Failed sends of the pending report.
    pub pending_attempts: u32,
    /// Why the last send failed.
    pub last_error: Option<String>,
    pub reports_acknowledged: u64,
    pub cycles_acknowledged: u128,
    /// Reports the ledger refused as invalid (their sequences show as gaps there).
    pub reports_refused: u64,
}

impl ReporterState {
    /// Records cycles the host accepted, so they are not mistaken for negative consumption.
    pub fn note_top_up(&mut self, cycles: u128) {
        self.top_ups_since_baseline = self.top_ups_since_baseline.saturating_add(cycles);
    }

    /// The report to send at this tick: the pending one if any (unchanged), otherwise the period
    /// from the baseline to `now_ns` is closed into a new pending report. The first tick only sets
    /// the baseline.
    pub fn due_report(&mut self, balance: u128, now_ns: u64, detail: UsageDetail) -> Option<UsageReport> {
        if let Some(pending) = &self.pending {
            return Some(pending.clone());
        }
        let Some(base) = self.baseline else {
            self.baseline = Some(Baseline { balance, at_ns: now_ns });
            self.top_ups_since_baseline = 0;
            return None;
        };
        if now_ns <= base.at_ns {
            return None; // no time has passed: a zero-length period is not a report
        }
        let consumed = base.balance.saturating_add(self.top_ups_since_baseline).saturating_sub(balance);
        let sequence = self.next_sequence.max(1);
        let report = UsageReport {
            sequence,
            period_start_ns: base.at_ns,
            period_end_ns: now_ns,
            cycles_consumed: consumed,
            instructions: detail.instructions,
            bytes_stored: detail.bytes_stored,
            messages_handled: detail.messages_handled,
        };
        self.next_sequence = sequence + 1;
        self.baseline = Some(Baseline { balance, at_ns: now_ns });
        self.top_ups_since_baseline = 0;
        self.pending = Some(report.clone());
        self.pending_attempts = 0;
        Some(report)
    }

    /// Applies the outcome of sending report `sequence`. Outcomes for anything but the pending
    /// report (a late reply) change nothing.
    pub fn on_outcome(&mut self, sequence: u64, outcome: SendOutcome) {
        let Some(pending) = &self.pending else { return };
        if pending.sequence != sequence {
            return;
        }
        match outcome {
            SendOutcome::Acknowledged => {
                self.reports_acknowledged += 1;
                self.cycles_acknowledged = self.cycles_acknowledged.saturating_add(pending.cycles_consumed);
                self.pending = None;
                self.pending_attempts = 0;
                self.last_error = None;
            }
            SendOutcome::RetryLater(why) => {
                self.pending_attempts = self.pending_attempts.saturating_add(1);
                self.last_error = Some(why);
            }
            SendOutcome::Refused(why) => {
                self.reports_refused += 1;
                self.pending = None;
                self.pending_attempts = 0;
                self.last_error = Some(why);
            }
        }
    }
}

/// The client over one stable cell.
pub struct UsageReporter<M: Memory> {
    cell: StableCell<Cbor<ReporterState>, M>,
}

impl<M: Memory> UsageReporter<M> {
    /// Opens the state kept in `memory` (or starts fresh).
    pub fn init(memory: M) -> Self {
        UsageReporter { cell: StableCell::init(memory, Cbor(ReporterState::default())) }
    }

    pub fn state(&self) -> ReporterState {
        self.cell.get().0.clone()
    }

    /// Runs `f` on the state and writes it back.
    pub fn update<R>(&mut self, f: impl FnOnce(&mut ReporterState) -> R) -> R {
        let mut state = self.state();
        let result = f(&mut state);
        self.cell.set(Cbor(state));
        result
    }
}

/// Where reports go.
#[derive(Clone, Copy)]
pub enum Transport {
    /// An inter-canister call to the burn ledger with this id (`Call::bounded_wait`).
    Call(Principal),
    /// A function in the same canister (the burn ledger reporting its own usage).
    Local(fn(UsageReport) -> Result<ReportReceipt, BurnError>),
}

/// Timeout of one `report_usage` call; shorter than any sane interval, so sends do not pile up.
const CALL_TIMEOUT_SECONDS: u32 = 60;

thread_local! {
    static REPORTER: RefCell<Option<UsageReporter<crate::Memory>>> = const { RefCell::new(None) };
    static TIMER: RefCell<Option<ic_cdk_timers::TimerId>> = const { RefCell::new(None) };
    static SENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts reporting (call from init and post_upgrade): opens the state in `memory`, takes the
/// first baseline now if there is none, and sends on every `interval`.
pub fn start(memory: crate::Memory, transport: Transport, interval: Duration) {
    REPORTER.with_borrow_mut(|r| {
        let reporter = r.insert(UsageReporter::init(memory));
        reporter.update(|s| {
            if s.baseline.is_none() {
                s.due_report(ic_cdk::api::canister_cycle_balance(), ic_cdk::api::time(), UsageDetail::default());
            }
        });
    });
    let id = ic_cdk_timers::set_timer_interval(interval, move || tick(transport));
    if let Some(old) = TIMER.replace(Some(id)) {
        ic_cdk_timers::clear_timer(old);
    }
}

/// Starts reporting to `ledger` every `interval_seconds` when a ledger is configured (the
/// three peers' adoption: registry, license issuer, messaging).
pub fn start_if_configured(memory: crate::Memory, ledger: Option<Principal>, interval_seconds: u64) {
    if let Some(ledger) = ledger {
        start(memory, Transport::Call(ledger), Duration::from_secs(interval_seconds));
    }
}

/// Tells the client the canister accepted `cycles` (e.g. from `msg_cycles_accept`).
pub fn note_cycles_accepted(cycles: u128) {
    REPORTER.with_borrow_mut(|r| {
        if let Some(r) = r.as_mut() {
            r.update(|s| s.note_top_up(cycles));
        }
    });
}

/// The client's state, for a status query; `None` when reporting was never started.
pub fn status() -> Option<ReporterState> {
    REPORTER.with_borrow(|r| r.as_ref().map(|r| r.state()))
}

/// Clears the in-flight flag when dropped (also when the task is cancelled after a trap).
struct SendingFlag;
impl Drop for SendingFlag {
    fn drop(&mut self) {
        SENDING.set(false);
    }
}

/// One timer run: close the period (or take the pending report), send it, apply the outcome.
/// Skipped while an earlier send is still in flight.
async fn tick(transport: Transport) {
    if SENDING.get() {
        return;
    }
    let balance = ic_cdk::api::canister_cycle_balance();
    let now = ic_cdk::api::time();
    let detail = UsageDetail { bytes_stored: Some(ic_cdk::stable::stable_size().saturating_mul(65_536)), ..Default::default() };
    let Some(report) = REPORTER.with_borrow_mut(|r| r.as_mut().and_then(|r| r.update(|s| s.due_report(balance, now, detail))))
    else {
        return;
    };
    let sequence = report.sequence;
    let outcome = match transport {
        Transport::Local(record) => classify_reply(&record(report)),
        Transport::Call(ledger) => {
            SENDING.set(true);
            let _flag = SendingFlag;
            send(ledger, report).await
        }
    };
    REPORTER.with_borrow_mut(|r| {
        if let Some(r) = r.as_mut() {
            r.update(|s| s.on_outcome(sequence, outcome));
        }
    });
}

async fn send(ledger: Principal, report: UsageReport) -> SendOutcome {
    let call = ic_cdk::call::Call::bounded_wait(ledger, "report_usage").with_arg(report).change_timeout(CALL_TIMEOUT_SECONDS);
    match call.await {
        Ok(response) => match response.candid::<Result<ReportReceipt, BurnError>>() {
            Ok(reply) => classify_reply(&reply),
            Err(e) => SendOutcome::RetryLater(format!("undecodable reply: {e}")),
        },
        Err(e) => SendOutcome::RetryLater(format!("call failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    const S: u64 = 1_000_000_000;

    fn receipt(sequence: u64) -> Result<ReportReceipt, BurnError> {
        Ok(ReportReceipt { sequence, burn_id: 0, duplicate: false, gap: None, attributed: true })
    }

    #[test]
    fn first_tick_sets_baseline_then_periods_chain_without_overlap() {
        let mut s = ReporterState::default();
        assert_eq!(s.due_report(1_000, 10 * S, UsageDetail::default()), None);
        let r1 = s.due_report(900, 20 * S, UsageDetail::default()).unwrap();
        assert_eq!((r1.sequence, r1.period_start_ns, r1.period_end_ns, r1.cycles_consumed), (1, 10 * S, 20 * S, 100));
        s.on_outcome(1, classify_reply(&receipt(1)));
        let r2 = s.due_report(850, 30 * S, UsageDetail::default()).unwrap();
        assert_eq!((r2.sequence, r2.period_start_ns, r2.cycles_consumed), (2, 20 * S, 50));
        assert_eq!(s.reports_acknowledged, 1);
        assert_eq!(s.cycles_acknowledged, 100);
    }

    #[test]
    fn noted_top_ups_are_added_back_and_unnoted_increases_count_as_zero() {
        let mut s = ReporterState::default();
        s.due_report(1_000, S, UsageDetail::default());
        s.note_top_up(500);
        // 1000 + 500 accepted - 1400 now = 100 consumed.
        assert_eq!(s.due_report(1_400, 2 * S, UsageDetail::default()).unwrap().cycles_consumed, 100);
        s.on_outcome(1, SendOutcome::Acknowledged);
        // The balance rose by 600 without a note: treated as a top-up, nothing invented.
        assert_eq!(s.due_report(2_000, 3 * S, UsageDetail::default()).unwrap().cycles_consumed, 0);
    }

    #[test]
    fn a_failed_send_resends_the_same_report_and_later_burn_goes_to_the_next() {
        let mut s = ReporterState::default();
        s.due_report(1_000, S, UsageDetail::default());
        let first = s.due_report(800, 2 * S, UsageDetail::default()).unwrap();
        s.on_outcome(1, SendOutcome::RetryLater("timeout".into()));
        // Later tick, more burn: the pending report comes back unchanged.
        let again = s.due_report(700, 3 * S, UsageDetail::default()).unwrap();
        assert_eq!(again, first);
        assert_eq!(s.pending_attempts, 1);
        assert_eq!(s.last_error.as_deref(), Some("timeout"));
        // A late reply for another sequence changes nothing.
        s.on_outcome(7, SendOutcome::Acknowledged);
        assert_eq!(s.pending.as_ref(), Some(&first));
        s.on_outcome(1, SendOutcome::Acknowledged);
        // The 100 burnt during the retries are in the next period, which starts where 1 ended.
        let next = s.due_report(700, 3 * S, UsageDetail::default()).unwrap();
        assert_eq!((next.sequence, next.period_start_ns, next.cycles_consumed), (2, 2 * S, 100));
    }

    #[test]
    fn a_refused_report_is_dropped_and_counted() {
        let mut s = ReporterState::default();
        s.due_report(1_000, S, UsageDetail::default());
        s.due_report(900, 2 * S, UsageDetail::default());
        let refused: Result<ReportReceipt, BurnError> = Err(BurnError::CyclesOutOfBounds { cycles: 100, max: 1 });
        s.on_outcome(1, classify_reply(&refused));
        assert_eq!(s.pending, None);
        assert_eq!(s.reports_refused, 1);
        assert_eq!(s.due_report(850, 3 * S, UsageDetail::default()).unwrap().sequence, 2);
    }

    #[test]
    fn transient_ledger_errors_keep_the_report() {
        let unknown: Result<ReportReceipt, BurnError> = Err(BurnError::UnknownReporter { caller: Principal::anonymous() });
        assert!(matches!(classify_reply(&unknown), SendOutcome::RetryLater(_)));
        let overlap: Result<ReportReceipt, BurnError> =
            Err(BurnError::OverlappingPeriod { period_start_ns: 1, previous_period_end_ns: 2 });
        assert!(matches!(classify_reply(&overlap), SendOutcome::Refused(_)));
    }

    #[test]
    fn no_report_for_a_zero_length_period() {
        let mut s = ReporterState::default();
        s.due_report(1_000, 5 * S, UsageDetail::default());
        assert_eq!(s.due_report(900, 5 * S, UsageDetail::default()), None);
        assert_eq!(s.next_sequence, 0);
    }

    #[test]
    fn state_survives_reopening_the_memory() {
        let mem = VectorMemory::default();
        let mut r = UsageReporter::init(mem.clone());
        r.update(|s| {
            s.due_report(1_000, S, UsageDetail::default());
            s.due_report(900, 2 * S, UsageDetail::default());
        });
        let reopened = UsageReporter::init(mem);
        let state = reopened.state();
        assert_eq!(state.pending.map(|p| p.sequence), Some(1));
        assert_eq!(state.next_sequence, 2);
    }
}
