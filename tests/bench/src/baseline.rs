//! Driving the baseline canister (tests/bench_baseline): its maps are filled to the suite
//! canister's record count (unmeasured), the bytes the suite canister stored for a call are
//! handed over (`prepare`, unmeasured), then the same Candid argument is sent by the same caller
//! to the baseline's endpoint of the same name (measured).

use crate::bench::Bench;
use candid::Principal;

/// Entries inserted per `fill` call (a few billion instructions at most).
const FILL_CHUNK: u64 = 50_000;

/// Fills `map` of the baseline up to `count` entries of `value_len` bytes (see `fill` in
/// tests/bench_baseline; `spread` = conversations for messages).
pub fn fill_to(b: &mut Bench, map: &str, count: u64, value_len: usize, spread: u64) {
    let baseline = b.ids().baseline;
    let lengths: Vec<(String, u64)> = suite_tests::query1(b.env(), baseline, Principal::anonymous(), "lengths", ());
    let mut have = lengths.iter().find(|(m, _)| m == map).map_or(0, |(_, n)| *n);
    // Filled keys are numbered from 0; measured calls add keys of their own (counted in `have`).
    let mut next = have;
    while have < count {
        let to = (next + FILL_CHUNK).min(next + count - have);
        have = b.update::<_, (u64,)>(baseline, Principal::anonymous(), "fill", (map, next, to, value_len as u32, spread)).0;
        next = to;
    }
}

/// The baseline's instructions for `method(arg)` from `caller`, storing `values`.
pub fn measure(b: &mut Bench, caller: Principal, method: &str, arg: Vec<u8>, values: Vec<Vec<u8>>) -> u64 {
    let baseline = b.ids().baseline;
    let _: () = b.update(baseline, Principal::anonymous(), "prepare", (values,));
    let outcome = b.update_stats(baseline, caller, method, arg);
    outcome.result.unwrap_or_else(|r| panic!("baseline {method} rejected: {r}"));
    outcome.call_context_instructions
}
