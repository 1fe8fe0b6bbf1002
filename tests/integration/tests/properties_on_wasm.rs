//! A few property-test cases on the real wasm (most property tests run natively on each
//! canister's domain code, where thousands of cases are cheap): random sequences of usage reports
//! from the ledger's reporters and from strangers, after every step checked against what the
//! ledger promises. Totals equal the sum of the reports it accepted, each counted once; a refused
//! report or a retry changes nothing; every hour's bucket adds up to the total.

use interfaces::burn_ledger::{Bucket, BurnError, Granularity, ReportReceipt, Scope, SeriesRequest};
use proptest::prelude::*;
use std::time::Duration;
use suite_tests::hostile::stable_digest;
use suite_tests::scenarios::burn_ledger as bl;
use suite_tests::*;

const HOUR_NS: u64 = 3_600_000_000_000;

#[derive(Clone, Debug)]
enum Step {
    /// Reporter `who` (0..3 configured, 3 a stranger) reports sequence `last + skip` (skip 0 =
    /// resend the last), over the `hours` before now (0 = a minute), with `cycles`.
    Report { who: usize, skip: u64, hours: u64, cycles: u128 },
    /// Time passes.
    Wait { minutes: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize, 0..3u64, 0..40u64, 0..5_000_000_000u128).prop_map(|(who, skip, hours, cycles)| Step::Report { who, skip, hours, cycles }),
        1 => (1..600u64).prop_map(|minutes| Step::Wait { minutes }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn ledger_totals_are_the_accepted_reports(steps in proptest::collection::vec(step(), 1..24)) {
        let mut env = ExecutorEnv::new();
        let env: &mut dyn Env = &mut env;
        let reporters: Vec<Principal> = (0..4).map(|_| env.create_canister()).collect();
        let ledger = env.create_canister();
        bl::install_ledger(env, ledger, bl::ledger_args(None, None, reporters[..3].to_vec(), None));
        let genesis = env.now_ns();
        env.advance_time(Duration::from_secs(40 * 3600));
        let mut last = [0u64; 4];
        let mut last_end = [0u64; 4];
        let mut accepted: u128 = 0;
        for s in steps {
            match s {
                Step::Wait { minutes } => env.advance_time(Duration::from_secs(minutes * 60)),
                Step::Report { who, skip, hours, cycles } => {
                    let now = env.now_ns();
                    let start = if hours == 0 { now - 60_000_000_000 } else { now - hours * HOUR_NS };
                    let sequence = last[who] + skip;
                    let before = stable_digest(env, ledger);
                    let r = bl::report_usage(env, ledger, reporters[who], bl::usage(sequence, start.max(last_end[who]), now, cycles));
                    match r {
                        Ok(ReportReceipt { duplicate: false, .. }) => {
                            prop_assert!(who < 3, "a stranger's report was accepted");
                            prop_assert!(sequence > last[who]);
                            accepted += cycles;
                            last[who] = sequence;
                            last_end[who] = now;
                        }
                        Ok(ReportReceipt { duplicate: true, .. }) => prop_assert_eq!(sequence, last[who]),
                        Err(e) => {
                            prop_assert!(!matches!(e, BurnError::AlreadyInProgress { .. }), "no call was in flight");
                            prop_assert_eq!(stable_digest(env, ledger), before, "refused {:?} changed the ledger", e);
                        }
                    }
                    let total = bl::totals(env, ledger, Scope::Suite).cycles;
                    prop_assert_eq!(total, accepted, "after {:?}", s);
                }
            }
        }
        // The hourly series adds up to the total: every report spread over its period, no part lost
        // (installed at `genesis`; at most 40 + 24 × 10 hours have passed, under one page of 500).
        let request = SeriesRequest { scope: Scope::Suite, granularity: Granularity::Hour, from_ns: genesis, to_ns: env.now_ns() + HOUR_NS, limit: None };
        let series: Result<Vec<Bucket>, BurnError> = query1(env, ledger, Principal::anonymous(), "series", (request,));
        let spread: u128 = series.unwrap().iter().map(|b| b.amounts.cycles).sum();
        prop_assert_eq!(spread, accepted);
    }
}
