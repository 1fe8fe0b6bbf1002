//! Property tests: random sequences of usage reports (peers, the ledger itself, known apps,
//! unknown callers and the anonymous principal; next, retried, skipped, stale and zero
//! sequences; periods from a second to past the 31-day limit), rate changes, attribution runs
//! and time passing, run on the native domain code and checked after every step against a
//! plain-Rust model: burn totals equal the sum of accepted reports per scope, hourly and daily
//! buckets equal the model's own spread of those reports, the burn rate lies between the hours
//! it covers, checkpoint lists add up, and a refused report changes no byte of stable memory.

use crate::ledger::test_support::*;
use crate::ledger::Ledger;
use crate::reports::{Standing, MAX_CLOCK_SKEW_NS, MAX_CYCLES_PER_SECOND, MAX_PERIOD_SECONDS};
use candid::Principal;
use ic_stable_structures::VectorMemory;
use interfaces::burn_ledger::{BurnError, CheckpointLine, ConversionRate, Granularity, Scope, SequenceGap, UsageReport};
use interfaces::license_issuer::{AppOwner, Sector};
use proptest::prelude::*;
use std::collections::BTreeMap;

const S: u64 = 1_000_000_000;
const HOUR: u64 = 3600 * S;
const DAY: u64 = 24 * HOUR;
const TTL: u64 = 6 * HOUR;
const START: u64 = 400 * DAY + 1_234 * S; // not on an hour boundary

/// Who calls. Apps 0 and 1 are known to the license issuer (programs 5 and 6).
#[derive(Clone, Copy, Debug)]
enum Who {
    Peer(u8),
    Itself,
    App(u8),
    Unknown,
    Anonymous,
}

impl Who {
    fn principal(self) -> Principal {
        match self {
            Who::Peer(i) => p([REGISTRY, ISSUER, MESSAGING][i as usize % 3]),
            Who::Itself => p(SELF),
            Who::App(i) => p(60 + i % 2),
            Who::Unknown => p(70),
            Who::Anonymous => Principal::anonymous(),
        }
    }
}

fn owner_of(c: Principal) -> Option<AppOwner> {
    let i = c.as_slice()[0];
    (i == 60 || i == 61).then(|| AppOwner {
        canister: c,
        app_id: i as u64,
        license_id: 1,
        program_id: i as u64 - 55,
        institution_id: 2,
        sector: Sector::Education,
        holder: p(77),
        subnet_id: p(20),
    })
}

#[derive(Clone, Copy, Debug)]
enum Seq {
    Next,
    /// The last recorded report again (changed cycles when `alter`).
    Retry { alter: bool },
    Skip(u64),
    Stale,
    Zero,
}

#[derive(Clone, Debug)]
enum Op {
    Report { who: Who, seq: Seq, gap_s: u64, overlap: bool, len_s: u64, per_second: u128, move_clock: bool },
    Rate(u64),
    /// Cache both answers about a reporter (placement on subnet 21 or none), then attribute
    /// within a burn limit and an hour budget.
    Attribute { who: Who, placed: bool, limit: usize, max_hours: usize },
    Wait(u64),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => (0u8..3).prop_map(Who::Peer),
        1 => Just(Who::Itself),
        3 => (0u8..2).prop_map(Who::App),
        1 => Just(Who::Unknown),
        1 => Just(Who::Anonymous),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let seq = prop_oneof![
        6 => Just(Seq::Next),
        2 => any::<bool>().prop_map(|alter| Seq::Retry { alter }),
        1 => (1u64..4).prop_map(Seq::Skip),
        1 => Just(Seq::Stale),
        1 => Just(Seq::Zero),
    ];
    // Mostly short periods; a tail up to past the 31-day limit.
    let len_s = prop_oneof![4 => 1u64..3 * 3600, 2 => 3600u64..5 * 86_400, 1 => 25 * 86_400u64..32 * 86_400];
    // Mostly sane burn; sometimes more than 10^13 cycles a second (refused).
    let per_second = prop_oneof![9 => 0u128..2_000_000, 1 => 9_000_000_000_000u128..11_000_000_000_000];
    let report = (who(), seq, 0u64..4000, proptest::bool::weighted(0.1), len_s, per_second, proptest::bool::weighted(0.8))
        .prop_map(|(who, seq, gap_s, overlap, len_s, per_second, move_clock)| Op::Report { who, seq, gap_s, overlap, len_s, per_second, move_clock });
    prop_oneof![
        8 => report,
        1 => (1u64..100_000).prop_map(Op::Rate),
        2 => (who(), any::<bool>(), 1usize..4, 0usize..2000).prop_map(|(who, placed, limit, max_hours)| Op::Attribute { who, placed, limit, max_hours }),
        1 => (0u64..3 * 86_400).prop_map(Op::Wait),
    ]
}

/// One accepted report as the model keeps it.
#[derive(Clone, Debug)]
struct Burn {
    reporter: Principal,
    report: UsageReport,
    icp_e8s: u128,
    unpriced: bool,
    /// `None` while unattributed; else (subnet scope, program scope).
    scopes: Option<(Scope, Scope)>,
}

#[derive(Clone, Debug, Default)]
struct ReporterModel {
    last_sequence: u64,
    last_end: u64,
    reports: u64,
    missing: u64,
    gaps: u64,
    by_sequence: BTreeMap<u64, usize>,
}

/// An accepted report: burn index, duplicate, the gap `(first, last)` it revealed.
type Answer = (usize, bool, Option<(u64, u64)>);

/// The rules, in plain Rust.
#[derive(Default)]
struct Model {
    now: u64,
    rate: Option<u64>,
    burns: Vec<Burn>,
    reporters: BTreeMap<Principal, ReporterModel>,
    /// license_issuer's and subnet_registry's cached answers, with the time they were fetched.
    owners: BTreeMap<Principal, (Option<AppOwner>, u64)>,
    placements: BTreeMap<Principal, (Option<Principal>, u64)>,
}

impl Model {
    fn fresh_owner(&self, c: Principal) -> Option<Option<AppOwner>> {
        self.owners.get(&c).filter(|(_, at)| self.now - at < TTL).map(|(o, _)| o.clone())
    }

    /// Where a burn of `c` is attributed now, if both answers are cached.
    fn fresh(&self, c: Principal) -> Option<(Scope, Scope)> {
        let owner = self.fresh_owner(c)?;
        let (placement, at) = self.placements.get(&c)?;
        (self.now - at < TTL).then(|| {
            let subnet = placement.or(owner.as_ref().map(|o| o.subnet_id)).map_or(Scope::UnknownSubnet, Scope::Subnet);
            let program = owner.as_ref().map_or(Scope::NoProgram, |o| Scope::Program(o.program_id));
            (subnet, program)
        })
    }

    /// The report's own checks, in the ledger's order (after the caller's standing).
    fn check(&self, reporter: Principal, r: &UsageReport) -> Result<Option<usize>, BurnError> {
        if r.sequence == 0 {
            return Err(BurnError::ZeroSequence);
        }
        let state = self.reporters.get(&reporter).cloned().unwrap_or_default();
        if let Some(&i) = state.by_sequence.get(&r.sequence) {
            return if self.burns[i].report == *r { Ok(Some(i)) } else { Err(BurnError::ConflictingRetry { sequence: r.sequence, burn_id: i as u64 }) };
        }
        let (start, end) = (r.period_start_ns, r.period_end_ns);
        if end <= start {
            return Err(BurnError::EmptyOrBackwardsPeriod { period_start_ns: start, period_end_ns: end });
        }
        if end > self.now + MAX_CLOCK_SKEW_NS {
            return Err(BurnError::PeriodInFuture { period_end_ns: end, now_ns: self.now });
        }
        let seconds = (end - start) / S;
        if seconds > MAX_PERIOD_SECONDS {
            return Err(BurnError::PeriodTooLong { seconds, max_seconds: MAX_PERIOD_SECONDS });
        }
        let max = MAX_CYCLES_PER_SECOND * (end - start).div_ceil(S) as u128;
        if r.cycles_consumed > max {
            return Err(BurnError::CyclesOutOfBounds { cycles: r.cycles_consumed, max });
        }
        if r.sequence <= state.last_sequence {
            return Err(BurnError::SequenceNotAfterLast { sequence: r.sequence, last_sequence: state.last_sequence });
        }
        if state.reports > 0 && start < state.last_end {
            return Err(BurnError::OverlappingPeriod { period_start_ns: start, previous_period_end_ns: state.last_end });
        }
        Ok(None)
    }

    /// Whether a report of `who` makes the ledger ask license_issuer first (a caller that is
    /// neither a peer nor an app whose owner answer is cached).
    fn asks_issuer(&self, who: Who) -> bool {
        matches!(who, Who::App(_) | Who::Unknown) && !matches!(self.fresh_owner(who.principal()), Some(Some(_)))
    }

    /// What `report_usage` answers: the burn index, whether a duplicate, the gap; or the refusal.
    fn report(&mut self, who: Who, r: &UsageReport) -> Result<Answer, BurnError> {
        let c = who.principal();
        if matches!(who, Who::Anonymous) {
            return Err(BurnError::AnonymousCaller);
        }
        let ask_issuer = self.asks_issuer(who);
        let known = self.check(c, r)?;
        if ask_issuer {
            match owner_of(c) {
                None => return Err(BurnError::UnknownReporter { caller: c }),
                Some(owner) => {
                    self.owners.insert(c, (Some(owner), self.now));
                }
            }
        }
        if let Some(i) = known {
            return Ok((i, true, None));
        }
        let state = self.reporters.entry(c).or_default();
        let gap = (r.sequence > state.last_sequence + 1).then(|| (state.last_sequence + 1, r.sequence - 1));
        if let Some((a, b)) = gap {
            state.gaps += 1;
            state.missing += b - a + 1;
        }
        state.last_sequence = r.sequence;
        state.last_end = r.period_end_ns;
        state.reports += 1;
        state.by_sequence.insert(r.sequence, self.burns.len());
        let scopes = self.fresh(c);
        self.burns.push(Burn {
            reporter: c,
            report: r.clone(),
            icp_e8s: self.rate.map_or(0, |rate| r.cycles_consumed / rate as u128),
            unpriced: self.rate.is_none(),
            scopes,
        });
        Ok((self.burns.len() - 1, false, gap))
    }

    /// The model's own spread: hour `h` gets `⌊c·(time up to the end of h)/len⌋` minus the
    /// same up to its start.
    fn hours(&self) -> BTreeMap<u64, u128> {
        let mut out = BTreeMap::new();
        for b in &self.burns {
            let (start, end, c) = (b.report.period_start_ns, b.report.period_end_ns, b.report.cycles_consumed);
            let len = (end - start) as u128;
            let mut h = start / HOUR * HOUR;
            while h < end {
                let upto = |t: u64| c * (t.clamp(start, end) - start) as u128 / len;
                *out.entry(h).or_default() += upto(h + HOUR) - upto(h);
                h += HOUR;
            }
        }
        out.retain(|_, v| *v != 0);
        out
    }

    fn sum(&self, f: impl Fn(&Burn) -> bool) -> (u128, u128, u128, u64) {
        self.burns.iter().filter(|b| f(b)).fold((0, 0, 0, 0), |(c, i, u, n), b| {
            let cycles = b.report.cycles_consumed;
            (c + cycles, i + b.icp_e8s, u + if b.unpriced { cycles } else { 0 }, n + 1)
        })
    }
}

fn sums(l: &Ledger<VectorMemory>, scope: &Scope) -> (u128, u128, u128, u64) {
    let s = l.totals(scope);
    (s.cycles, s.icp_e8s, s.unpriced_cycles, s.reports)
}

/// Builds the report an op describes, from the model's view of the reporter.
fn build(m: &Model, who: Who, seq: Seq, gap_s: u64, overlap: bool, len_s: u64, per_second: u128) -> UsageReport {
    let c = who.principal();
    let state = m.reporters.get(&c).cloned().unwrap_or_default();
    if let Seq::Retry { alter } = seq {
        if let Some(&i) = state.by_sequence.get(&state.last_sequence) {
            let mut r = m.burns[i].report.clone();
            if alter {
                r.cycles_consumed += 1;
            }
            return r;
        }
    }
    let sequence = match seq {
        Seq::Next | Seq::Retry { .. } => state.last_sequence + 1,
        Seq::Skip(n) => state.last_sequence + 1 + n,
        Seq::Stale => state.last_sequence.saturating_sub(1).max(1),
        Seq::Zero => 0,
    };
    let base = if state.reports == 0 { m.now.saturating_sub(2 * DAY) } else { state.last_end };
    let start = if overlap { base.saturating_sub(gap_s * S + 1) } else { base + gap_s * S };
    let len = len_s * S;
    UsageReport {
        sequence,
        period_start_ns: start,
        period_end_ns: start + len,
        cycles_consumed: per_second * len_s as u128,
        instructions: None,
        bytes_stored: Some(len_s),
        messages_handled: None,
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (mut l, mems) = installed();
    let mut m = Model { now: START, ..Default::default() };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Report { who, seq, gap_s, overlap, len_s, per_second, move_clock } => {
                let r = build(&m, who, seq, gap_s, overlap, len_s, per_second);
                if move_clock && r.period_end_ns > m.now {
                    m.now = r.period_end_ns;
                }
                let asks_issuer = m.asks_issuer(who);
                let expected = m.report(who, &r);
                let before = mems.snapshot();
                let got = ledger_report(&mut l, who, r.clone(), m.now);
                match (&expected, &got) {
                    (Ok((i, dup, gap)), Ok((burn_id, duplicate, got_gap))) => {
                        prop_assert_eq!((*i as u64, *dup), (*burn_id, *duplicate), "step {}: {:?}", step, r);
                        prop_assert_eq!(*gap, got_gap.as_ref().map(|g| (g.first, g.last)));
                        if *dup && !asks_issuer {
                            prop_assert!(mems.snapshot() == before, "step {}: an acknowledged retry wrote", step);
                        }
                    }
                    (Err(e), Err(g)) => {
                        prop_assert_eq!(e, g, "step {}: {:?}", step, r);
                        // The only write a refusal may leave: none at all.
                        prop_assert!(mems.snapshot() == before, "step {}: refused report changed stable memory", step);
                    }
                    _ => prop_assert!(false, "step {}: {:?} expected {:?}, got {:?}", step, r, expected, got),
                }
            }
            Op::Rate(rate) => {
                let set = l.set_rate(p(AUTHORITY), ConversionRate { xdr_permyriad_per_icp: rate, timestamp_seconds: m.now / S }, m.now);
                prop_assert_eq!(set, Ok(()));
                m.rate = Some(rate);
            }
            Op::Attribute { who, placed, limit, max_hours } => {
                let c = who.principal();
                let placement = placed.then(|| p(21));
                l.cache_owner(c, owner_of(c), m.now);
                l.cache_placement(c, placement, m.now);
                m.owners.insert(c, (owner_of(c), m.now));
                m.placements.insert(c, (placement, m.now));
                let scopes = m.fresh(c).expect("just cached");
                let (n, hours) = l.attribute_pending_within(c, m.now, limit, max_hours);
                let pending: Vec<usize> = (0..m.burns.len()).filter(|&i| m.burns[i].reporter == c && m.burns[i].scopes.is_none()).collect();
                let expected_n = if max_hours == 0 { 0 } else {
                    let mut moved = 0;
                    let mut h = 0;
                    for &i in pending.iter().take(limit) {
                        moved += 1;
                        h += hour_count(&m.burns[i].report);
                        if h >= max_hours { break; }
                    }
                    moved
                };
                prop_assert_eq!(n, expected_n, "step {}: attributed", step);
                let moved_hours: usize = pending.iter().take(n).map(|&i| hour_count(&m.burns[i].report)).sum();
                prop_assert_eq!(hours, moved_hours);
                for &i in pending.iter().take(n) {
                    m.burns[i].scopes = Some(scopes);
                }
            }
            Op::Wait(seconds) => m.now += seconds * S,
        }
        check(&l, &m, step)?;
    }
    Ok(())
}

fn hour_count(r: &UsageReport) -> usize {
    ((r.period_end_ns - 1) / HOUR - r.period_start_ns / HOUR + 1) as usize
}

/// `report_usage`'s admission as `tasks.rs` runs it, with license_issuer answering from
/// `owner_of` (the only await, reduced to a function call).
fn ledger_report(l: &mut Ledger<VectorMemory>, who: Who, r: UsageReport, now: u64) -> Result<(u64, bool, Option<SequenceGap>), BurnError> {
    let c = who.principal();
    let standing = l.standing(c, p(SELF), now)?;
    if standing == Standing::AskIssuer {
        l.check_report(c, &r, now)?;
        match owner_of(c) {
            Some(owner) => l.cache_owner(c, Some(owner), now),
            None => return Err(BurnError::UnknownReporter { caller: c }),
        }
    }
    l.record_report(c, r, now).map(|rec| (rec.receipt.burn_id, rec.receipt.duplicate, rec.receipt.gap))
}

fn check(l: &Ledger<VectorMemory>, m: &Model, step: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(sums(l, &Scope::Suite), m.sum(|_| true), "step {}: suite", step);
    prop_assert_eq!(sums(l, &Scope::Unattributed), m.sum(|b| b.scopes.is_none()), "step {}: unattributed", step);
    for c in m.reporters.keys() {
        prop_assert_eq!(sums(l, &Scope::Canister(*c)), m.sum(|b| b.reporter == *c), "step {}: canister {}", step, c);
        let info = l.reporter(c);
        let s = &m.reporters[c];
        prop_assert_eq!((info.last_sequence, info.reports, info.missing_sequences, info.gaps), (s.last_sequence, s.reports, s.missing, s.gaps));
    }
    for scope in [Scope::Subnet(p(20)), Scope::Subnet(p(21)), Scope::UnknownSubnet] {
        prop_assert_eq!(sums(l, &scope), m.sum(|b| b.scopes.is_some_and(|s| s.0 == scope)), "step {}: {:?}", step, scope);
    }
    for scope in [Scope::Program(5), Scope::Program(6), Scope::NoProgram] {
        prop_assert_eq!(sums(l, &scope), m.sum(|b| b.scopes.is_some_and(|s| s.1 == scope)), "step {}: {:?}", step, scope);
    }
    // Hourly buckets are the model's spread, days the sums of their hours.
    let hours: BTreeMap<u64, u128> =
        l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, usize::MAX).into_iter().map(|(t, s)| (t, s.cycles)).filter(|(_, c)| *c != 0).collect();
    let expected = m.hours();
    prop_assert_eq!(&hours, &expected, "step {}: hourly buckets", step);
    let mut days: BTreeMap<u64, u128> = BTreeMap::new();
    for (t, c) in &expected {
        *days.entry(t / DAY * DAY).or_default() += c;
    }
    days.retain(|_, c| *c != 0);
    let got_days: BTreeMap<u64, u128> =
        l.series(&Scope::Suite, Granularity::Day, 0, u64::MAX, usize::MAX).into_iter().map(|(t, s)| (t, s.cycles)).filter(|(_, c)| *c != 0).collect();
    prop_assert_eq!(got_days, days, "step {}: daily buckets", step);
    // Each report counts once, in the hour its period ends in.
    let mut report_hours: BTreeMap<u64, u64> = BTreeMap::new();
    for b in &m.burns {
        *report_hours.entry((b.report.period_end_ns - 1) / HOUR * HOUR).or_default() += 1;
    }
    let got_report_hours: BTreeMap<u64, u64> =
        l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, usize::MAX).into_iter().map(|(t, s)| (t, s.reports)).filter(|(_, n)| *n != 0).collect();
    prop_assert_eq!(got_report_hours, report_hours, "step {}: reports per hour", step);
    // The burn rate over a window, by the rule the .did states: hours starting in the window
    // whole (up to now), the hour the window starts in pro rata over the part of it after the
    // earliest period start.
    if let Some(first) = m.burns.iter().map(|b| b.report.period_start_ns).min() {
        // Fixed windows, and one that varies with the step (whole days read from daily buckets).
        let varying = 3600 + (step as u64).wrapping_mul(7_919_993) % (31 * 86_400 - 3600);
        for window in [3600u64, 86_400, 2 * 86_400 + 1_234, 31 * 86_400, varying] {
            let r = l.burn_rate(window, m.now);
            let effective = window.min(m.now.saturating_sub(first) / S).max(1);
            let from = m.now - effective * S;
            let edge_start = from / HOUR * HOUR;
            let whole: u128 = expected.range(from.div_ceil(HOUR) * HOUR..m.now).map(|(_, c)| c).sum();
            let edge = if edge_start == from { 0 } else { expected.get(&edge_start).copied().unwrap_or(0) };
            let (span_start, span_end) = (edge_start.max(first), (edge_start + HOUR).min(m.now));
            let edge_part = if from <= span_start || span_end <= span_start { edge } else { edge * (span_end - from) as u128 / (span_end - span_start) as u128 };
            prop_assert_eq!(r.window_seconds, effective);
            prop_assert_eq!(r.cycles_in_window, whole + edge_part, "step {}: window {}", step, window);
        }
    }
    // Checkpoint lists add up, field by field.
    let c = l.checkpoint(m.now);
    for lines in [&c.per_subnet, &c.per_program] {
        let total = |f: fn(&CheckpointLine) -> u128| lines.iter().map(f).sum::<u128>();
        prop_assert_eq!(total(|l| l.amounts.cycles), c.suite.cycles);
        prop_assert_eq!(total(|l| l.amounts.micro_xdr), c.suite.micro_xdr);
        prop_assert_eq!(total(|l| l.amounts.icp_e8s), c.suite.icp_e8s);
        prop_assert_eq!(total(|l| l.amounts.reports as u128), c.suite.reports as u128);
        prop_assert_eq!(total(|l| l.share_of_suite_bps), if c.suite.cycles == 0 { 0 } else { 10_000 });
    }
    prop_assert_eq!(c.missing_sequences, m.reporters.values().map(|r| r.missing).sum::<u64>());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn reports_against_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops)?;
    }
}
