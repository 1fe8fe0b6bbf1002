//! Burn rate, the Mission 70 meter and the checkpoint summary (read-only).

use crate::buckets::{DAY_SECONDS, HOUR_SECONDS};
use crate::conversion::{mul_div, SECONDS_PER_YEAR};
use crate::ledger::Ledger;
use crate::spread::floor_mul_div;
use ic_stable_structures::Memory;
use interfaces::burn_ledger::{
    BurnCheckpoint, BurnError, BurnRate, Granularity, Mission70Meter, Scope, ScopeKind,
};

const NS: u64 = 1_000_000_000;
const HOUR_NS: u64 = HOUR_SECONDS * NS;
const DAY_NS: u64 = DAY_SECONDS * NS;
/// Shortest and longest burn-rate windows.
pub const MIN_WINDOW_SECONDS: u64 = HOUR_SECONDS;
pub const MAX_WINDOW_SECONDS: u64 = 31 * 24 * HOUR_SECONDS;
/// Window the checkpoint uses.
pub const CHECKPOINT_WINDOW_SECONDS: u64 = 24 * HOUR_SECONDS;

/// The whole UTC days `[from, to)` read from daily buckets for a window whose edge hour starts
/// at `edge_hour_ns`, up to `now_ns`: from the first day boundary after the edge hour (the edge
/// hour itself is read as an hour, since it may count pro rata) to the start of today (today is
/// still filling: read by the hour). Empty (`from == to`) when no whole day lies between; then
/// `from == to == edge hour` is never below the edge hour, so the hour reads cover everything.
pub fn whole_days(edge_hour_ns: u64, now_ns: u64) -> (u64, u64) {
    let first = (edge_hour_ns / DAY_NS + 1) * DAY_NS;
    let today = now_ns / DAY_NS * DAY_NS;
    if first < today {
        (first, today)
    } else {
        (now_ns, now_ns)
    }
}

pub fn check_window(window_seconds: u64) -> Result<u64, BurnError> {
    if (MIN_WINDOW_SECONDS..=MAX_WINDOW_SECONDS).contains(&window_seconds) {
        Ok(window_seconds)
    } else {
        Err(BurnError::ArgumentOutOfRange {
            name: "window_seconds".into(),
            value: window_seconds,
            min: MIN_WINDOW_SECONDS,
            max: MAX_WINDOW_SECONDS,
        })
    }
}

impl<M: Memory> Ledger<M> {
    /// The suite's burn rate over `[now − window, now)`, the window shortened to the whole
    /// seconds since the earliest reported period start (at least one second).
    pub fn burn_rate(&self, window_seconds: u64, now_ns: u64) -> BurnRate {
        let target = self.config().network_target_milli_xdr_per_second;
        let first = self.settings().first_period_start_ns.unwrap_or(now_ns);
        let since_first = now_ns.saturating_sub(first) / NS;
        let effective = window_seconds.min(since_first).max(1);
        let from_ns = now_ns.saturating_sub(effective * NS);
        let cycles = self.suite_cycles_since(from_ns, first, now_ns);
        let w = effective as u128;
        BurnRate {
            window_seconds: effective,
            cycles_in_window: cycles,
            cycles_per_second: cycles / w,
            micro_xdr_per_second: mul_div(cycles, 1, w * 1_000_000),
            network_target_milli_xdr_per_second: target,
            share_of_target_bps: mul_div(cycles, 10_000, w * target as u128 * 1_000_000_000),
        }
    }

    /// Suite cycles burned from `from_ns` to now. Hours that start at or after `from_ns` count
    /// whole (the current one holds what was reported up to now); the hour `from_ns` falls in
    /// counts in proportion to the part of it after `from_ns`, over the part of it that can hold
    /// burn (not before `first_ns`, the earliest period start).
    ///
    /// Whole UTC days between the edge hour and today are read from the daily buckets (each is
    /// exactly the sum of its hours), so a 31-day window reads about 30 days and at most 48
    /// hours instead of 744 hours.
    fn suite_cycles_since(&self, from_ns: u64, first_ns: u64, now_ns: u64) -> u128 {
        let edge_hour = from_ns / HOUR_NS * HOUR_NS;
        let (days_from, days_to) = whole_days(edge_hour, now_ns);
        let hours = |from: u64, to: u64| self.series(&Scope::Suite, Granularity::Hour, from, to, usize::MAX);
        let mut parts = hours(edge_hour, days_from);
        if days_from < days_to {
            parts.extend(self.series(&Scope::Suite, Granularity::Day, days_from, days_to, usize::MAX));
        }
        parts.extend(hours(days_to.max(edge_hour), now_ns));
        parts
            .into_iter()
            .map(|(start_ns, s)| {
                let (span_start, span_end) = (start_ns.max(first_ns), (start_ns + HOUR_NS).min(now_ns));
                if start_ns != edge_hour || from_ns <= span_start || span_end <= span_start {
                    s.cycles
                } else {
                    floor_mul_div(s.cycles, span_end.saturating_sub(from_ns), span_end - span_start)
                }
            })
            .fold(0u128, u128::saturating_add)
    }

    /// The Mission 70 meter at the burn rate over `window_seconds`.
    pub fn meter(&self, window_seconds: u64, now_ns: u64) -> Mission70Meter {
        let burn_rate = self.burn_rate(window_seconds, now_ns);
        let settings = self.settings();
        let model = settings.model;
        let rate = settings.rate;
        let w = burn_rate.window_seconds as u128;
        let icp_per_year = rate.map(|r| mul_div(burn_rate.cycles_in_window, SECONDS_PER_YEAR, w * r.xdr_permyriad_per_icp as u128));
        let burn_centi_bps = icp_per_year.map(|icp| mul_div(icp, 1_000_000, model.total_supply_e8s));
        let net = burn_centi_bps.map(|b| model.annual_gross_minting_bps as i128 * 100 - i128::try_from(b).unwrap_or(i128::MAX));
        let target_cycles_per_second = burn_rate.network_target_milli_xdr_per_second as u128 * 1_000_000_000;
        let network_target = rate.map(|r| mul_div(target_cycles_per_second, SECONDS_PER_YEAR, r.xdr_permyriad_per_icp as u128));
        Mission70Meter {
            burn_rate,
            rate,
            model,
            icp_e8s_burned_per_year: icp_per_year,
            burn_centi_bps_of_supply: burn_centi_bps,
            net_inflation_centi_bps: net,
            network_target_icp_e8s_per_year: network_target,
        }
    }

    /// The end-to-end summary: suite totals, meter, per subnet and per program (each list adds
    /// up to the suite, see `breakdown.rs`).
    pub fn checkpoint(&self, now_ns: u64) -> BurnCheckpoint {
        let suite = self.totals(&Scope::Suite);
        BurnCheckpoint {
            now_ns,
            suite: suite.amounts(),
            meter: self.meter(CHECKPOINT_WINDOW_SECONDS, now_ns),
            per_subnet: self.breakdown(ScopeKind::Subnet, [Scope::UnknownSubnet, Scope::Unattributed], &suite),
            per_program: self.breakdown(ScopeKind::Program, [Scope::NoProgram, Scope::Unattributed], &suite),
            reporters: self.reporters.len(),
            pending_attribution: self.pending.len(),
            missing_sequences: self.settings().missing_sequences.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;
    use interfaces::burn_ledger::{CheckpointLine, ConversionRate, IssuanceModel, UsageReport};

    const H: u64 = 3600 * NS;
    const T0: u64 = 1_000 * H; // an hour boundary

    /// One report per peer in the hour [T0, T0+1h) totalling 0.77 XDR/s.
    fn burn_at_target(l: &mut Ledger<ic_stable_structures::VectorMemory>) {
        let per_hour: u128 = 770_000_000_000 * 3600; // 0.77 XDR/s × 3600 s in cycles
        for (i, peer) in [REGISTRY, ISSUER, MESSAGING].into_iter().enumerate() {
            let cycles = if i == 0 { per_hour - 2 * (per_hour / 3) } else { per_hour / 3 };
            let r = UsageReport {
                sequence: 1,
                period_start_ns: T0,
                period_end_ns: T0 + H,
                cycles_consumed: cycles,
                instructions: None,
                bytes_stored: None,
                messages_handled: None,
            };
            l.record_report(p(peer), r, T0 + H).unwrap();
        }
    }

    #[test]
    fn burning_at_the_target_is_ten_thousand_bps_of_it() {
        let (mut l, _) = installed();
        burn_at_target(&mut l);
        let rate = l.burn_rate(3600, T0 + H);
        assert_eq!(rate.window_seconds, 3600);
        assert_eq!(rate.cycles_per_second, 770_000_000_000);
        assert_eq!(rate.micro_xdr_per_second, 770_000);
        assert_eq!(rate.share_of_target_bps, 10_000);
        // A day window cannot reach back before the first report: still one hour.
        assert_eq!(l.burn_rate(86_400, T0 + H).window_seconds, 3600);
        // Two hours later, over a 3-hour window: the same burn spread over 3 hours.
        let later = l.burn_rate(3 * 3600, T0 + 3 * H);
        assert_eq!(later.window_seconds, 3 * 3600);
        assert_eq!(later.share_of_target_bps, 3_333);
    }

    fn report(sequence: u64, start: u64, end: u64, cycles: u128) -> UsageReport {
        UsageReport { sequence, period_start_ns: start, period_end_ns: end, cycles_consumed: cycles, instructions: None, bytes_stored: None, messages_handled: None }
    }

    #[test]
    fn a_long_report_counts_only_its_share_of_the_window() {
        for days in [1u64, 31] {
            let (mut l, _) = installed();
            let cycles: u128 = 3_600 * 1_000_000 * 24 * days as u128; // 10^6 cycles a second
            let end = T0 + 40 * 24 * H;
            l.record_report(p(MESSAGING), report(1, end - days * 24 * H, end, cycles), end).unwrap();
            let hour = l.burn_rate(3600, end);
            assert_eq!((hour.window_seconds, hour.cycles_in_window, hour.cycles_per_second), (3600, 3_600_000_000, 1_000_000), "{days} days");
            let day = l.burn_rate(86_400, end);
            assert_eq!((day.window_seconds, day.cycles_per_second), (86_400, 1_000_000));
            // Half an hour later nothing new was burned: the hour window holds half an hour of it.
            let later = l.burn_rate(3600, end + H / 2);
            assert_eq!(later.cycles_in_window, 1_800_000_000);
        }
    }

    #[test]
    fn the_window_is_the_one_asked_for_not_rounded_to_the_hour() {
        let (mut l, _) = installed();
        // 1,000 cycles a second for 10 hours, reported hourly.
        for i in 0..10 {
            l.record_report(p(MESSAGING), report(i + 1, T0 + i * H, T0 + (i + 1) * H, 3_600_000), T0 + 10 * H).unwrap();
        }
        // At 10:30 past T0 with nothing reported after 10:00, the last hour is [9:30, 10:30):
        // half of hour 9 (1,800,000) and nothing of hour 10.
        let r = l.burn_rate(3600, T0 + 10 * H + H / 2);
        assert_eq!((r.window_seconds, r.cycles_in_window), (3600, 1_800_000));
        // 90 minutes at 10:00: half of hour 8 and all of hour 9.
        let r = l.burn_rate(5400, T0 + 10 * H);
        assert_eq!((r.window_seconds, r.cycles_in_window, r.cycles_per_second), (5400, 5_400_000, 1_000));
        // A window reaching before the first report shortens to it, to the second.
        let r = l.burn_rate(20 * 3600, T0 + 10 * H + 7 * NS);
        assert_eq!((r.window_seconds, r.cycles_in_window), (10 * 3600 + 7, 36_000_000));
    }

    #[test]
    fn meter_figures_match_hand_computation() {
        let (mut l, _) = installed();
        burn_at_target(&mut l);
        l.set_rate(p(AUTHORITY), ConversionRate { xdr_permyriad_per_icp: 35_000, timestamp_seconds: 1 }, T0 + H).unwrap();
        let model = IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: 540_000_000 * 100_000_000 };
        l.set_model(p(AUTHORITY), model, T0 + H).unwrap();
        let m = l.meter(3600, T0 + H);
        // 0.77 XDR/s × 31,536,000 s = 24,282,720 XDR/yr; at 3.5 XDR/ICP = 6,937,920 ICP/yr.
        assert_eq!(m.icp_e8s_burned_per_year, Some(6_937_920 * 100_000_000));
        assert_eq!(m.network_target_icp_e8s_per_year, Some(6_937_920 * 100_000_000));
        // 6,937,920 / 540,000,000 = 1.28480 % = 128.48 bps = 12,848 centi-bps (rounded down).
        assert_eq!(m.burn_centi_bps_of_supply, Some(12_848));
        assert_eq!(m.net_inflation_centi_bps, Some(97_200 - 12_848));
    }

    #[test]
    fn meter_without_a_rate_has_no_icp_figures() {
        let (mut l, _) = installed();
        burn_at_target(&mut l);
        let m = l.meter(3600, T0 + H);
        assert_eq!(m.icp_e8s_burned_per_year, None);
        assert_eq!(m.net_inflation_centi_bps, None);
        assert_eq!(m.burn_rate.share_of_target_bps, 10_000);
    }

    #[test]
    fn checkpoint_lines_add_up_to_the_suite() {
        let (mut l, _) = installed();
        burn_at_target(&mut l);
        l.cache_owner(p(MESSAGING), None, T0 + H);
        l.cache_placement(p(MESSAGING), Some(p(30)), T0 + H);
        l.attribute_pending_of(p(MESSAGING), T0 + H, 10);
        let c = l.checkpoint(T0 + H);
        let sum = |lines: &[CheckpointLine]| lines.iter().map(|l| l.amounts.cycles).sum::<u128>();
        assert_eq!(sum(&c.per_subnet), c.suite.cycles);
        assert_eq!(sum(&c.per_program), c.suite.cycles);
        assert_eq!(c.per_subnet[0].scope, Scope::Subnet(p(30)));
        assert_eq!(c.per_subnet[0].share_of_suite_bps, 3_333);
        assert_eq!(c.pending_attribution, 2);
        assert_eq!(c.reporters, 3);
        assert!(matches!(check_window(60), Err(BurnError::ArgumentOutOfRange { .. })));
    }

    #[test]
    fn whole_days_lie_strictly_after_the_edge_hour_and_before_today() {
        const D: u64 = 24 * H;
        assert_eq!(whole_days(10 * D, 10 * D + 5 * H), (10 * D + 5 * H, 10 * D + 5 * H), "no whole day");
        assert_eq!(whole_days(10 * D, 11 * D + 5 * H), (11 * D + 5 * H, 11 * D + 5 * H), "the edge day is read by the hour");
        assert_eq!(whole_days(10 * D + 3 * H, 41 * D + 2 * H), (11 * D, 41 * D));
    }

    /// The suite's cycles in `[from, now)` by hourly buckets only: the rule `burn_rate` states,
    /// computed the way schema 2 did (every hour of the window read).
    fn by_hours(l: &Ledger<ic_stable_structures::VectorMemory>, from: u64, first: u64, now: u64) -> u128 {
        let edge = from / H * H;
        l.series(&Scope::Suite, Granularity::Hour, edge, now, usize::MAX)
            .into_iter()
            .map(|(start, s)| {
                let (span_start, span_end) = (start.max(first), (start + H).min(now));
                if start != edge || from <= span_start || span_end <= span_start {
                    s.cycles
                } else {
                    floor_mul_div(s.cycles, span_end - from, span_end - span_start)
                }
            })
            .sum()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Over random report sequences (periods from a minute to 31 days, with pauses), an
        /// upgrade to schema 3 at a random point, and random windows and times: every daily bucket of every scope is the sum of its hourly
        /// buckets, and the burn rate read through daily buckets equals the one read hour by hour.
        #[test]
        fn daily_rollups_equal_their_hours_and_the_burn_rate_reads_them_exactly(
            reports in proptest::collection::vec((0u64..3, 60u64..(31 * 86_400), 0u64..(3 * 86_400), 0u128..10_000_000_000_000), 1..12),
            windows in proptest::collection::vec((3_600u64..=(31 * 86_400), 0u64..(2 * 86_400)), 1..6),
            upgrade_after in 0usize..12,
        ) {
            // Schema 2's layout first; the upgrade to schema 3 after `upgrade_after` reports, so
            // buckets lie on both sides of the day the compact maps start.
            let (mut l, _) = installed_schema_1();
            l.adopt_schema_2();
            let peers = [REGISTRY, ISSUER, MESSAGING];
            let mut now = T0 + 1_234 * NS;
            let mut ends = [0u64; 3];
            let mut seqs = [0u64; 3];
            for (i, (who, len_s, pause_s, cycles)) in reports.into_iter().enumerate() {
                if i == upgrade_after {
                    l.adopt_schema_3(now);
                }
                let w = who as usize;
                now += (len_s + pause_s) * NS;
                let start = (now - len_s * NS).max(ends[w]);
                seqs[w] += 1;
                l.record_report(p(peers[w]), report(seqs[w], start, now, cycles.min(len_s as u128 * 10_000_000_000_000)), now).unwrap();
                ends[w] = now;
            }
            for scope in [Scope::Suite, Scope::Unattributed, Scope::Canister(p(REGISTRY)), Scope::Canister(p(MESSAGING))] {
                let mut days: std::collections::BTreeMap<u64, u128> = Default::default();
                for (t, s) in l.series(&scope, Granularity::Hour, 0, u64::MAX, usize::MAX) {
                    *days.entry(t / (24 * H) * (24 * H)).or_default() += s.cycles;
                }
                days.retain(|_, c| *c != 0);
                let got: std::collections::BTreeMap<u64, u128> = l.series(&scope, Granularity::Day, 0, u64::MAX, usize::MAX).into_iter().map(|(t, s)| (t, s.cycles)).filter(|(_, c)| *c != 0).collect();
                proptest::prop_assert_eq!(got, days, "{:?}", scope);
            }
            let first = l.settings().first_period_start_ns.unwrap();
            for (window, later_s) in windows {
                let at = now + later_s * NS;
                let r = l.burn_rate(window, at);
                let from = at - r.window_seconds * NS;
                proptest::prop_assert_eq!(r.cycles_in_window, by_hours(&l, from, first, at), "window {} at {}", window, at);
            }
        }
    }
}
