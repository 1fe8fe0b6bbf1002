//! Usage reports: who may report, what a valid report is, and recording one exactly once.

use crate::conversion::cycles_to_icp_e8s;
use crate::ledger::{Ledger, ReporterState};
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::burn_ledger::{BurnError, BurnRecord, ReportReceipt, Scope, SequenceGap, UsageReport};

/// A period may end at most this far after the ledger's clock (reporters' clocks are the same IC
/// time, but a report built just before a round boundary may be a little ahead).
pub const MAX_CLOCK_SKEW_NS: u64 = 5 * 60 * 1_000_000_000;
/// One report covers at most 31 days.
pub const MAX_PERIOD_SECONDS: u64 = 31 * 24 * 3600;
/// No canister burns more than 10 XDR per second (13 times the whole network's Mission 70 target).
pub const MAX_CYCLES_PER_SECOND: u128 = 10_000_000_000_000;

/// How the ledger knows a caller may report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A configured peer, or the ledger itself.
    Peer,
    /// An app canister license_issuer confirmed (cached, not expired).
    KnownApp,
    /// Not known here: license_issuer must be asked.
    AskIssuer,
}

/// What `admit` found.
enum Admission {
    /// The same report was recorded before: acknowledged with this receipt.
    Duplicate(ReportReceipt),
    /// New and valid; the reporter's state before it.
    New(ReporterState),
}

/// What recording did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub receipt: ReportReceipt,
    /// The burn was stored unattributed: the caches could not attribute it.
    pub needs_lookup: bool,
}

impl<M: Memory> Ledger<M> {
    /// Who `caller` is as a reporter. Anonymous callers and unknown callers with no license
    /// issuer configured are refused here.
    pub fn standing(&self, caller: Principal, self_id: Principal, now_ns: u64) -> Result<Standing, BurnError> {
        if caller == Principal::anonymous() {
            return Err(BurnError::AnonymousCaller);
        }
        let config = self.config();
        if caller == self_id || config.reporters.contains(&caller) {
            return Ok(Standing::Peer);
        }
        if let Some(Some(_owner)) = self.fresh_owner(&caller, now_ns) {
            return Ok(Standing::KnownApp);
        }
        match config.license_issuer {
            Some(_) => Ok(Standing::AskIssuer),
            None => Err(BurnError::UnknownReporter { caller }),
        }
    }

    /// What recording `report` from `reporter` would do, without writing: acknowledge a retry of
    /// a recorded sequence, refuse it, or record it on top of the reporter's current state.
    fn admit(&self, reporter: Principal, report: &UsageReport, now_ns: u64) -> Result<Admission, BurnError> {
        if report.sequence == 0 {
            return Err(BurnError::ZeroSequence);
        }
        if let Some(burn_id) = self.by_sequence.get(&(reporter, report.sequence)) {
            let burn = self.burn(burn_id).expect("by_sequence points at a stored burn");
            if burn.report != *report {
                return Err(BurnError::ConflictingRetry { sequence: report.sequence, burn_id });
            }
            let receipt = ReportReceipt {
                sequence: report.sequence,
                burn_id,
                duplicate: true,
                gap: None,
                attributed: burn.attribution.is_some(),
            };
            return Ok(Admission::Duplicate(receipt));
        }
        check_shape(report, now_ns)?;
        let state = self.reporter(&reporter);
        if report.sequence <= state.last_sequence {
            return Err(BurnError::SequenceNotAfterLast { sequence: report.sequence, last_sequence: state.last_sequence });
        }
        if state.reports > 0 && report.period_start_ns < state.last_period_end_ns {
            return Err(BurnError::OverlappingPeriod {
                period_start_ns: report.period_start_ns,
                previous_period_end_ns: state.last_period_end_ns,
            });
        }
        Ok(Admission::New(state))
    }

    /// Refuses `report` now if recording it would be refused (checked before asking
    /// license_issuer about the caller, so a refused report caches nothing either).
    pub fn check_report(&self, reporter: Principal, report: &UsageReport, now_ns: u64) -> Result<(), BurnError> {
        self.admit(reporter, report, now_ns).map(|_| ())
    }

    /// Records `report` from `reporter` (whose standing was checked), or acknowledges a retry of a
    /// sequence already recorded. Refusals change nothing.
    pub fn record_report(&mut self, reporter: Principal, report: UsageReport, now_ns: u64) -> Result<Recorded, BurnError> {
        let mut state = match self.admit(reporter, &report, now_ns)? {
            Admission::Duplicate(receipt) => return Ok(Recorded { receipt, needs_lookup: false }),
            Admission::New(state) => state,
        };
        // Valid: from here on everything is written.
        let gap = (report.sequence > state.last_sequence + 1).then(|| SequenceGap {
            reporter,
            first: state.last_sequence + 1,
            last: report.sequence - 1,
            after_period_end_ns: state.last_period_end_ns,
            before_period_start_ns: report.period_start_ns,
            detected_at_ns: now_ns,
        });
        let burn_id = self.burns.len();
        let rate = self.rate_in_force();
        let cycles = report.cycles_consumed;
        let icp_e8s = rate.map_or(0, |r| cycles_to_icp_e8s(cycles, r.xdr_permyriad_per_icp));
        let attribution = self.cached_attribution(&reporter, now_ns);
        let burn = BurnRecord {
            burn_id,
            reporter,
            report: report.clone(),
            recorded_at_ns: now_ns,
            rate,
            icp_e8s,
            attribution: attribution.clone(),
            attribution_attempts: 0,
        };
        let spread = self.spread_of(&burn);
        self.add_to_scope(&Scope::Suite, &spread);
        self.add_to_scope(&Scope::Canister(reporter), &spread);
        match &attribution {
            Some(a) => {
                for scope in attributed_scopes(a) {
                    self.add_to_scope(&scope, &spread);
                }
            }
            None => {
                self.add_to_scope(&Scope::Unattributed, &spread);
                self.pending.insert((reporter, burn_id), 0);
            }
        }
        self.burns.insert(burn_id, Cbor(burn.clone()));
        self.by_sequence.insert((reporter, report.sequence), burn_id);
        if let Some(g) = &gap {
            self.gaps.insert((reporter, g.first), Cbor(g.clone()));
            state.gaps += 1;
            state.missing_sequences += g.last - g.first + 1;
        }
        state = ReporterState {
            last_sequence: report.sequence,
            last_period_end_ns: report.period_end_ns,
            reports: state.reports + 1,
            ..state
        };
        self.reporters.insert(reporter, Cbor(state));
        let newly_missing = gap.as_ref().map_or(0, |g| g.last - g.first + 1);
        let settings = self.settings();
        let first = settings.first_period_start_ns.map_or(report.period_start_ns, |f| f.min(report.period_start_ns));
        // Written only when it changes (rarely: an earlier period start, or a gap).
        if settings.first_period_start_ns != Some(first) || newly_missing > 0 || settings.missing_sequences.is_none() {
            self.update_settings(|s| {
                s.first_period_start_ns = Some(first);
                s.missing_sequences = Some(s.missing_sequences.unwrap_or(0).saturating_add(newly_missing));
            });
        }
        if let Some(g) = &gap {
            self.core.audit(now_ns, reporter, "sequence_gap", g);
        }
        self.core.audit(now_ns, reporter, "burn_recorded", &burn);
        let receipt = ReportReceipt { sequence: report.sequence, burn_id, duplicate: false, gap, attributed: attribution.is_some() };
        Ok(Recorded { receipt, needs_lookup: attribution.is_none() })
    }

    /// Gaps of one reporter, from its first missing sequence `from` on.
    pub fn gaps_of(&self, reporter: Principal, from: u64, limit: usize) -> Vec<SequenceGap> {
        self.gaps
            .range((reporter, from)..)
            .take_while(|e| e.key().0 == reporter)
            .take(limit)
            .map(|e| e.value().0)
            .collect()
    }
}

/// The scopes an attributed burn counts in besides the suite and its canister.
pub fn attributed_scopes(a: &interfaces::burn_ledger::Attribution) -> [Scope; 2] {
    let subnet = a.subnet_id.map_or(Scope::UnknownSubnet, Scope::Subnet);
    let program = a.owner.as_ref().map_or(Scope::NoProgram, |o| Scope::Program(o.program_id));
    [subnet, program]
}

/// Checks a report on its own: a forward, non-empty, not-future, bounded period and a sane cycle
/// count for its length.
pub fn check_shape(report: &UsageReport, now_ns: u64) -> Result<(), BurnError> {
    let (start, end) = (report.period_start_ns, report.period_end_ns);
    if end <= start {
        return Err(BurnError::EmptyOrBackwardsPeriod { period_start_ns: start, period_end_ns: end });
    }
    if end > now_ns.saturating_add(MAX_CLOCK_SKEW_NS) {
        return Err(BurnError::PeriodInFuture { period_end_ns: end, now_ns });
    }
    let length_ns = end - start;
    let seconds = length_ns / 1_000_000_000;
    if seconds > MAX_PERIOD_SECONDS {
        return Err(BurnError::PeriodTooLong { seconds, max_seconds: MAX_PERIOD_SECONDS });
    }
    // Per-second bound, rounded up to whole seconds so sub-second periods still allow one second.
    let max = MAX_CYCLES_PER_SECOND * (length_ns.div_ceil(1_000_000_000) as u128);
    if report.cycles_consumed > max {
        return Err(BurnError::CyclesOutOfBounds { cycles: report.cycles_consumed, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;
    use interfaces::burn_ledger::{ConversionRate, Granularity};

    const S: u64 = 1_000_000_000;
    const NOW: u64 = 1_000_000 * S;

    fn report(sequence: u64, start_s: u64, end_s: u64, cycles: u128) -> UsageReport {
        UsageReport {
            sequence,
            period_start_ns: NOW - 100_000 * S + start_s * S,
            period_end_ns: NOW - 100_000 * S + end_s * S,
            cycles_consumed: cycles,
            instructions: None,
            bytes_stored: Some(1024),
            messages_handled: None,
        }
    }

    #[test]
    fn standing_of_peers_self_apps_and_strangers() {
        let (l, _) = installed();
        assert_eq!(l.standing(p(MESSAGING), p(SELF), NOW), Ok(Standing::Peer));
        assert_eq!(l.standing(p(SELF), p(SELF), NOW), Ok(Standing::Peer));
        assert_eq!(l.standing(p(50), p(SELF), NOW), Ok(Standing::AskIssuer));
        assert_eq!(l.standing(Principal::anonymous(), p(SELF), NOW), Err(BurnError::AnonymousCaller));
    }

    #[test]
    fn a_retry_is_acknowledged_and_not_counted_twice() {
        let (mut l, _) = installed();
        let r = report(1, 0, 3600, 5_000);
        let first = l.record_report(p(MESSAGING), r.clone(), NOW).unwrap();
        let audit_len = l.core.audit_len();
        let again = l.record_report(p(MESSAGING), r.clone(), NOW + S).unwrap();
        assert!(again.receipt.duplicate);
        assert_eq!(again.receipt.burn_id, first.receipt.burn_id);
        assert_eq!(l.totals(&Scope::Suite).cycles, 5_000);
        assert_eq!(l.totals(&Scope::Suite).reports, 1);
        assert_eq!(l.core.audit_len(), audit_len, "an acknowledged retry writes nothing");
        let altered = UsageReport { cycles_consumed: 6_000, ..r };
        assert_eq!(
            l.record_report(p(MESSAGING), altered, NOW),
            Err(BurnError::ConflictingRetry { sequence: 1, burn_id: 0 })
        );
    }

    #[test]
    fn gaps_are_recorded_and_visible() {
        let (mut l, _) = installed();
        l.record_report(p(MESSAGING), report(1, 0, 10, 1), NOW).unwrap();
        let rec = l.record_report(p(MESSAGING), report(4, 10, 20, 1), NOW).unwrap();
        let gap = rec.receipt.gap.expect("2 and 3 are missing");
        assert_eq!((gap.first, gap.last), (2, 3));
        let state = l.reporter(&p(MESSAGING));
        assert_eq!((state.gaps, state.missing_sequences, state.last_sequence), (1, 2, 4));
        assert_eq!(l.gaps_of(p(MESSAGING), 0, 10), vec![gap]);
        // A late sequence that lies in the gap is refused: periods only move forward.
        assert_eq!(
            l.record_report(p(MESSAGING), report(2, 20, 30, 1), NOW),
            Err(BurnError::SequenceNotAfterLast { sequence: 2, last_sequence: 4 })
        );
    }

    #[test]
    fn bad_periods_and_absurd_values_are_refused_and_change_nothing() {
        let (mut l, _) = installed();
        l.record_report(p(MESSAGING), report(1, 100, 200, 1), NOW).unwrap();
        let audit_len = l.core.audit_len();
        let cases = [
            (report(0, 200, 300, 1), BurnError::ZeroSequence),
            (report(2, 300, 300, 1), BurnError::EmptyOrBackwardsPeriod { period_start_ns: report(2, 300, 300, 1).period_start_ns, period_end_ns: report(2, 300, 300, 1).period_end_ns }),
            (report(2, 150, 300, 1), BurnError::OverlappingPeriod { period_start_ns: report(2, 150, 300, 1).period_start_ns, previous_period_end_ns: report(1, 100, 200, 1).period_end_ns }),
            (report(2, 200, 300, 10_000_000_000_000 * 100 + 1), BurnError::CyclesOutOfBounds { cycles: 10_000_000_000_000 * 100 + 1, max: 10_000_000_000_000 * 100 }),
        ];
        for (r, expected) in cases {
            assert_eq!(l.record_report(p(MESSAGING), r, NOW), Err(expected));
        }
        let backwards = report(2, 300, 250, 1);
        assert!(matches!(l.record_report(p(MESSAGING), backwards, NOW), Err(BurnError::EmptyOrBackwardsPeriod { .. })));
        let future = UsageReport { period_end_ns: NOW + MAX_CLOCK_SKEW_NS + 1, ..report(2, 200, 300, 1) };
        assert!(matches!(l.record_report(p(MESSAGING), future, NOW), Err(BurnError::PeriodInFuture { .. })));
        let long = report(2, 200, 200 + MAX_PERIOD_SECONDS + 1, 1);
        assert!(matches!(l.record_report(p(MESSAGING), long, NOW + MAX_PERIOD_SECONDS * S), Err(BurnError::PeriodTooLong { .. })));
        assert_eq!(l.core.audit_len(), audit_len);
        assert_eq!(l.burns.len(), 1);
        assert_eq!(l.reporter(&p(MESSAGING)).last_sequence, 1);
        assert_eq!(l.totals(&Scope::Suite).reports, 1);
    }

    #[test]
    fn each_burn_keeps_the_rate_in_force_and_unattributed_burns_wait() {
        let (mut l, _) = installed();
        // Before any rate: cycles are kept, unpriced.
        l.record_report(p(MESSAGING), report(1, 0, 10, 2_000_000_000_000), NOW).unwrap();
        l.set_rate(p(AUTHORITY), ConversionRate { xdr_permyriad_per_icp: 35_000, timestamp_seconds: NOW / S }, NOW).unwrap();
        let rec = l.record_report(p(MESSAGING), report(2, 10, 20, 1_000_000_000_000), NOW).unwrap();
        assert!(rec.needs_lookup, "nothing cached yet");
        let burn = l.burn(rec.receipt.burn_id).unwrap();
        assert_eq!(burn.icp_e8s, 28_571_428);
        assert_eq!(burn.rate.unwrap().xdr_permyriad_per_icp, 35_000);
        // A later rate leaves recorded burns as they were.
        l.set_rate(p(AUTHORITY), ConversionRate { xdr_permyriad_per_icp: 70_000, timestamp_seconds: NOW / S + 1 }, NOW).unwrap();
        let suite = l.totals(&Scope::Suite);
        assert_eq!((suite.cycles, suite.icp_e8s, suite.unpriced_cycles), (3_000_000_000_000, 28_571_428, 2_000_000_000_000));
        assert_eq!(l.totals(&Scope::Unattributed), suite);
        assert_eq!(l.pending.len(), 2);
        assert_eq!(l.series(&Scope::Canister(p(MESSAGING)), Granularity::Hour, 0, u64::MAX, 10).len(), 1);
    }

    #[test]
    fn every_recorded_burn_is_an_audit_entry() {
        let (mut l, _) = installed();
        let before = l.core.audit_len();
        l.record_report(p(MESSAGING), report(1, 0, 10, 7), NOW).unwrap();
        let page = l.core.audit_page(&interfaces::audit::PageRequest { start: Some(before), limit: None });
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].kind, "burn_recorded");
        let logged: BurnRecord = common::cbor::decode(&page.entries[0].payload).unwrap();
        assert_eq!(logged, l.burn(0).unwrap());
    }

    #[test]
    fn reopening_the_memories_keeps_everything() {
        let (mut l, mems) = installed();
        l.record_report(p(MESSAGING), report(1, 0, 10, 7), NOW).unwrap();
        let audit_len = l.core.audit_len();
        drop(l);
        let mut again = mems.open(); // as after an upgrade: heap gone, stable memory kept
        assert_eq!(again.totals(&Scope::Suite).cycles, 7);
        assert_eq!(again.core.audit_len(), audit_len);
        assert!(again.record_report(p(MESSAGING), report(1, 0, 10, 7), NOW).unwrap().receipt.duplicate);
        assert_eq!(again.record_report(p(MESSAGING), report(2, 10, 20, 3), NOW).unwrap().receipt.burn_id, 1);
    }
}
