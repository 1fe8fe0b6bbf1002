//! The checkpoint's per-subnet and per-program lists, built so that every figure of a list adds
//! up exactly to the suite's: the integer sums (cycles, ICP e8s, unpriced cycles, reports) add up
//! because each burn adds the same sums to one scope of each family; a full list gets an `Others`
//! line holding what it leaves out; and the rounded figures (micro-XDR, share in bps) are
//! apportioned by largest remainder instead of rounded line by line.

use crate::buckets::Sums;
use crate::conversion::cycles_to_micro_xdr;
use crate::ledger::Ledger;
use ic_stable_structures::Memory;
use interfaces::burn_ledger::{CheckpointLine, Scope, ScopeKind};

/// Family lines a checkpoint list shows at most (the rest is summed into `Others`).
pub const CHECKPOINT_LINES: usize = 500;

impl<M: Memory> Ledger<M> {
    /// The lines of one family (in key order, at most [`CHECKPOINT_LINES`]), then `Others`, then
    /// `extra`, each when non-zero; they add up to `suite`.
    pub fn breakdown(&self, kind: ScopeKind, extra: [Scope; 2], suite: &Sums) -> Vec<CheckpointLine> {
        let mut rows = self.list_totals(kind, None, CHECKPOINT_LINES);
        let extras: Vec<(Scope, Sums)> =
            extra.into_iter().map(|scope| (scope, self.totals(&scope))).filter(|(_, s)| *s != Sums::default()).collect();
        let mut rest = *suite;
        for (_, sums) in rows.iter().chain(&extras) {
            rest.remove(sums);
        }
        if rest != Sums::default() {
            rows.push((Scope::Others, rest));
        }
        rows.extend(extras);
        lines(&rows, suite)
    }
}

/// Checkpoint lines for `rows` (which add up to `suite`), rounded figures apportioned.
pub fn lines(rows: &[(Scope, Sums)], suite: &Sums) -> Vec<CheckpointLine> {
    let cycles: Vec<u128> = rows.iter().map(|(_, s)| s.cycles).collect();
    let micro_xdr = apportion(&cycles, 1_000_000, cycles_to_micro_xdr(suite.cycles));
    let bps = if suite.cycles == 0 {
        vec![0; rows.len()]
    } else {
        let scaled: Vec<u128> = cycles.iter().map(|c| c.saturating_mul(10_000)).collect();
        apportion(&scaled, suite.cycles, 10_000)
    };
    rows.iter()
        .zip(micro_xdr.into_iter().zip(bps))
        .map(|(&(scope, sums), (micro_xdr, share_of_suite_bps))| {
            let mut amounts = sums.amounts();
            amounts.micro_xdr = micro_xdr;
            CheckpointLine { scope, amounts, share_of_suite_bps }
        })
        .collect()
}

/// Splits `target` into parts proportional to `values / divisor`: each part is its rounded-down
/// quotient, plus one for the largest remainders (earlier lines first on ties) until the parts
/// sum to `target`. `target` must lie between the sum of the quotients and that sum plus the
/// number of values (true when `target` is the rounded-down quotient of the values' sum).
pub fn apportion(values: &[u128], divisor: u128, target: u128) -> Vec<u128> {
    let mut parts: Vec<u128> = values.iter().map(|v| v / divisor).collect();
    let floor_sum = parts.iter().fold(0u128, |a, p| a.saturating_add(*p));
    let missing = target.saturating_sub(floor_sum) as usize;
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| (values[b] % divisor).cmp(&(values[a] % divisor)).then(a.cmp(&b)));
    for &i in order.iter().take(missing) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;
    use crate::spread::Spread;
    use proptest::prelude::*;

    fn sums(cycles: u128) -> Sums {
        Sums { cycles, icp_e8s: cycles / 7, unpriced_cycles: 0, reports: 1 }
    }

    #[test]
    fn three_equal_thirds_still_make_ten_thousand_bps() {
        let rows: Vec<(Scope, Sums)> = (1..=3).map(|i| (Scope::Program(i), sums(1_000_001))).collect();
        let suite = Sums { cycles: 3_000_003, icp_e8s: 3 * (1_000_001 / 7), unpriced_cycles: 0, reports: 3 };
        let l = lines(&rows, &suite);
        assert_eq!(l.iter().map(|l| l.share_of_suite_bps).collect::<Vec<_>>(), vec![3_334, 3_333, 3_333]);
        assert_eq!(l.iter().map(|l| l.amounts.micro_xdr).sum::<u128>(), 3, "⌊3,000,003 / 10^6⌋");
        assert_eq!(l.iter().map(|l| l.amounts.micro_xdr).collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    #[test]
    fn a_full_list_gets_an_others_line_and_still_adds_up() {
        let (mut l, _) = installed();
        let h = 3_600_000_000_000u64;
        let mut suite = Sums::default();
        for id in 0..(CHECKPOINT_LINES as u64 + 7) {
            let s = sums(1_000_000 * id as u128 + 999_999);
            l.add_to_scope(&Scope::Program(id), &Spread::over(s, 0, h));
            suite.add(&s);
        }
        let extra = sums(5);
        l.add_to_scope(&Scope::NoProgram, &Spread::over(extra, 0, h));
        suite.add(&extra);
        let list = l.breakdown(ScopeKind::Program, [Scope::NoProgram, Scope::Unattributed], &suite);
        assert_eq!(list.len(), CHECKPOINT_LINES + 2);
        assert_eq!(list[CHECKPOINT_LINES].scope, Scope::Others);
        assert_eq!(list[CHECKPOINT_LINES].amounts.reports, 7);
        assert_eq!(list.last().unwrap().scope, Scope::NoProgram);
        let total = |f: fn(&CheckpointLine) -> u128| list.iter().map(f).sum::<u128>();
        assert_eq!(total(|l| l.amounts.cycles), suite.cycles);
        assert_eq!(total(|l| l.amounts.icp_e8s), suite.icp_e8s);
        assert_eq!(total(|l| l.amounts.micro_xdr), cycles_to_micro_xdr(suite.cycles));
        assert_eq!(total(|l| l.amounts.reports as u128), suite.reports as u128);
        assert_eq!(total(|l| l.share_of_suite_bps), 10_000);
        // The whole list stays far under the 2 MiB reply limit at its largest.
        assert!(candid::encode_one(&list).unwrap().len() < 200_000);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn apportioned_parts_sum_to_the_target_and_stay_within_one(values in proptest::collection::vec(0u128..1u128 << 90, 0..40), divisor in 1u128..1_000_000_000u128) {
            let total: u128 = values.iter().sum();
            let parts = apportion(&values, divisor, total / divisor);
            prop_assert_eq!(parts.iter().sum::<u128>(), total / divisor);
            for (v, p) in values.iter().zip(&parts) {
                prop_assert!(*p == v / divisor || *p == v / divisor + 1);
            }
        }
    }
}
