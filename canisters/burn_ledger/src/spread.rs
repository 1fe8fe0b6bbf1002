//! Spreading a burn over the hours of its period.
//!
//! A report says "`cycles` were consumed over `[start, end)`"; nothing finer is known, so the ledger
//! treats the burn as uniform over the period. Hour `h` gets the part of the period that lies in
//! it, in integers that lose nothing: with `cum(h)` the time from `start` to the end of hour `h`
//! (capped at `end`), hour `h` gets `⌊cycles·cum(h)/len⌋ − ⌊cycles·cum(h−1)/len⌋`. The parts
//! telescope to exactly `cycles`, and each is within one cycle of the exact share. ICP e8s are
//! spread the same way, so each hour's ICP is within one e8s of its share and they sum to the
//! burn's ICP. The report itself is counted once, in the hour its period ends.
//!
//! A period of at most [`crate::reports::MAX_PERIOD_SECONDS`] (31 days) touches at most 745 hours
//! and 32 days: that bounds the bucket writes of one burn (see `buckets.rs`).

use crate::buckets::{Sums, DAY_SECONDS, HOUR_SECONDS};

const NS: u64 = 1_000_000_000;
const HOUR_NS: u64 = HOUR_SECONDS * NS;

/// `⌊a·b/c⌋` exactly, for `b ≤ c` and `c > 0` (no overflow for any `a`).
pub fn floor_mul_div(a: u128, b: u64, c: u64) -> u128 {
    debug_assert!(b <= c && c > 0);
    let (b, c) = (b as u128, c as u128);
    // a = q·c + r with r < c < 2^64, so r·b < 2^128 and q·b ≤ a.
    (a / c) * b + (a % c) * b / c
}

/// The hours (start, in seconds) a period `[start_ns, end_ns)` overlaps, oldest first.
pub fn hours_of(start_ns: u64, end_ns: u64) -> impl Iterator<Item = u64> {
    let first = start_ns / HOUR_NS;
    let last = end_ns.saturating_sub(1) / HOUR_NS;
    (first..=last.max(first)).map(|h| h * HOUR_SECONDS)
}

/// Splits `amount` over the hours of `[start_ns, end_ns)` (non-empty period) in proportion to the
/// time each hour holds. The parts sum to `amount` exactly.
pub fn split(amount: u128, start_ns: u64, end_ns: u64) -> Vec<(u64, u128)> {
    let len = end_ns - start_ns;
    let mut before = 0u128;
    hours_of(start_ns, end_ns)
        .map(|hour_s| {
            let hour_end_ns = (hour_s + HOUR_SECONDS).saturating_mul(NS);
            let cum = hour_end_ns.min(end_ns) - start_ns;
            let upto = floor_mul_div(amount, cum, len);
            let part = upto - before;
            before = upto;
            (hour_s, part)
        })
        .collect()
}

/// A burn's contribution to one scope: its totals, and its parts per hour and per day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spread {
    pub total: Sums,
    pub hours: Vec<(u64, Sums)>,
    pub days: Vec<(u64, Sums)>,
}

impl Spread {
    /// `total` spread uniformly over `[start_ns, end_ns)`.
    pub fn over(total: Sums, start_ns: u64, end_ns: u64) -> Spread {
        let cycles = split(total.cycles, start_ns, end_ns);
        let icp = split(total.icp_e8s, start_ns, end_ns);
        let last = cycles.len() - 1;
        let hours: Vec<(u64, Sums)> = cycles
            .iter()
            .zip(icp)
            .enumerate()
            .map(|(i, (&(hour_s, c), (_, icp_e8s)))| {
                let unpriced_cycles = if total.unpriced_cycles == 0 { 0 } else { c };
                let reports = if i == last { total.reports } else { 0 };
                (hour_s, Sums { cycles: c, icp_e8s, unpriced_cycles, reports })
            })
            .collect();
        Spread { total, days: days_of(&hours), hours }
    }

    /// The pre-spreading layout: everything in the hour and day of the period's end (burns
    /// recorded by schema 1 were stored so, and are moved between scopes the same way).
    pub fn at_end(total: Sums, end_ns: u64) -> Spread {
        let hour_s = end_ns.saturating_sub(1) / NS / HOUR_SECONDS * HOUR_SECONDS;
        let hours = vec![(hour_s, total)];
        Spread { total, days: days_of(&hours), hours }
    }
}

/// Sums hourly parts into their (UTC) days, so a day is exactly the sum of its hours.
fn days_of(hours: &[(u64, Sums)]) -> Vec<(u64, Sums)> {
    let mut days: Vec<(u64, Sums)> = Vec::new();
    for (hour_s, sums) in hours {
        let day_s = hour_s / DAY_SECONDS * DAY_SECONDS;
        match days.last_mut() {
            Some((d, acc)) if *d == day_s => acc.add(sums),
            _ => days.push((day_s, *sums)),
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: u64 = HOUR_NS;

    #[test]
    fn a_day_long_report_gives_each_hour_a_twenty_fourth() {
        let parts = split(24_000, 10 * H, 34 * H);
        assert_eq!(parts.len(), 24);
        assert!(parts.iter().all(|&(_, c)| c == 1_000));
        assert_eq!(parts[0].0, 10 * HOUR_SECONDS);
    }

    #[test]
    fn unaligned_periods_split_by_time_and_add_up() {
        // 90 minutes from 00:30: half an hour in the first hour, an hour in the second.
        assert_eq!(split(3, H / 2, 2 * H), vec![(0, 1), (HOUR_SECONDS, 2)]);
        // Indivisible amounts: parts differ by at most one and sum exactly.
        let parts = split(10, 0, 3 * H);
        assert_eq!(parts.iter().map(|p| p.1).collect::<Vec<_>>(), vec![3, 3, 4]);
        // A period inside one hour, and one ending exactly on an hour boundary.
        assert_eq!(split(7, H + 5, H + 9), vec![(HOUR_SECONDS, 7)]);
        assert_eq!(split(7, 0, H), vec![(0, 7)]);
    }

    #[test]
    fn days_are_sums_of_their_hours_and_the_report_counts_once_at_the_end() {
        let total = Sums { cycles: 48_000, icp_e8s: 480, unpriced_cycles: 0, reports: 1 };
        let s = Spread::over(total, 12 * H, 60 * H);
        assert_eq!(s.hours.len(), 48);
        assert_eq!(s.days.len(), 3);
        assert_eq!(s.days.iter().map(|d| (d.1.cycles, d.1.reports)).collect::<Vec<_>>(), vec![(12_000, 0), (24_000, 0), (12_000, 1)]);
        assert_eq!(s.hours.last().unwrap().1.reports, 1);
        let unpriced = Spread::over(Sums { unpriced_cycles: 48_000, icp_e8s: 0, ..total }, 12 * H, 60 * H);
        assert!(unpriced.hours.iter().all(|(_, s)| s.unpriced_cycles == s.cycles));
        let legacy = Spread::at_end(total, 60 * H);
        assert_eq!(legacy.hours, vec![(59 * HOUR_SECONDS, total)]);
    }

    #[test]
    fn exact_floor_mul_div_never_overflows() {
        assert_eq!(floor_mul_div(u128::MAX, 1, 1), u128::MAX);
        // 2^128 − 1 is divisible by 3.
        assert_eq!(floor_mul_div(u128::MAX, 2, 3), u128::MAX / 3 * 2);
        assert_eq!(floor_mul_div(u128::MAX, u64::MAX, u64::MAX), u128::MAX);
        assert_eq!(floor_mul_div(10, 1, 3), 3);
        assert_eq!(floor_mul_div(0, 0, 3), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Parts sum exactly, each is within one unit of its exact share, and only overlapped
        /// hours get a part.
        #[test]
        fn parts_are_exact_shares(amount in 0u128..1u128 << 70, start in 0u64..1u64 << 50, len in 1u64..(32 * 24 * H)) {
            let end = start + len;
            let parts = split(amount, start, end);
            prop_assert_eq!(parts.iter().map(|p| p.1).sum::<u128>(), amount);
            for &(hour_s, part) in &parts {
                let (h0, h1) = (hour_s * NS, (hour_s + HOUR_SECONDS) * NS);
                let overlap = (h1.min(end) - h0.max(start)) as u128;
                prop_assert!(overlap > 0);
                // |part·len − amount·overlap| < len, in exact arithmetic (both sides < 2^128 here).
                let (lhs, rhs) = (part * len as u128, amount * overlap);
                prop_assert!(lhs.abs_diff(rhs) < len as u128, "hour {} part {} overlap {}", hour_s, part, overlap);
            }
        }
    }
}
