//! Timers (including across upgrades) and instruction counting / limits.
mod common;
use candid::encode_args;
use common::*;
use ic_executor::{ErrorCode, RejectCode};
use std::time::Duration;

fn fires(ex: &mut ic_executor::Executor, id: candid::Principal, key: &str) -> u64 {
    let (n,): (u64,) = query(ex, id, "timer_fires", (key,));
    n
}

#[test]
fn timers_fire_only_when_due() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let _: () = update(&mut ex, a, "set_timer_secs", (60u64, "t"));
    assert_ne!(ex.global_timer(a), 0);
    ex.tick();
    assert_eq!(fires(&mut ex, a, "t"), 0, "not due yet");
    ex.advance_time(Duration::from_secs(59));
    ex.tick();
    assert_eq!(fires(&mut ex, a, "t"), 0);
    ex.advance_time(Duration::from_secs(1));
    ex.tick();
    assert_eq!(fires(&mut ex, a, "t"), 1);
    ex.advance_time(Duration::from_secs(600));
    ex.tick();
    assert_eq!(fires(&mut ex, a, "t"), 1, "one-shot");
}

#[test]
fn upgrade_resets_the_timer_and_post_upgrade_rearms() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let _: () = update(&mut ex, a, "set_timer_secs", (5u64, "old"));
    ex.upgrade(a, &fixture_wasm(), candid::encode_one(None::<String>).unwrap(), CONTROLLER).unwrap();
    // post_upgrade armed a 10 s timer; the old 5 s one is gone
    ex.advance_time(Duration::from_secs(6));
    ex.tick();
    assert_eq!(fires(&mut ex, a, "old"), 0, "timers do not survive upgrades");
    assert_eq!(fires(&mut ex, a, "post_upgrade_timer"), 0);
    ex.advance_time(Duration::from_secs(5));
    ex.tick();
    assert_eq!(fires(&mut ex, a, "post_upgrade_timer"), 1);
}

#[test]
fn instruction_counts_grow_with_work() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let small = ex.update_with_stats(a, USER, "work", encode_args((1_000u64,)).unwrap());
    let big = ex.update_with_stats(a, USER, "work", encode_args((1_000_000u64,)).unwrap());
    assert!(small.result.is_ok() && big.result.is_ok());
    assert!(small.instructions > 1_000, "{}", small.instructions);
    assert!(big.instructions > 1_000_000 && big.instructions > 100 * small.instructions, "{} vs {}", big.instructions, small.instructions);
    let q = ex.query_with_stats(a, USER, "work_query", encode_args((1_000_000u64,)).unwrap());
    assert!(q.instructions.abs_diff(big.instructions) < big.instructions / 10);

    // performance_counter(0) inside the message agrees with the executor's count
    let out = ex.update_with_stats(a, USER, "counted_work", encode_args((100_000u64,)).unwrap());
    let inside: u64 = candid::decode_one(&out.result.unwrap()).unwrap();
    assert!(inside > 100_000 && inside <= out.instructions, "{inside} vs {}", out.instructions);
}

#[test]
fn call_tree_counts_include_the_callee() {
    let (mut ex, ids) = setup(2);
    let out = ex.update_with_stats(ids[0], USER, "fan_out", encode_args((ids[1], 5u32)).unwrap());
    assert!(out.result.is_ok());
    assert!(out.call_context_instructions > out.instructions, "callbacks add to the call context");
    assert!(out.tree_instructions > out.call_context_instructions, "B's executions add to the tree");
}

#[test]
fn instruction_limits_are_enforced() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    // ~5 instructions per iteration: 2B iterations exceed the 5B query limit
    let r = ex.query(a, USER, "work_query", encode_args((2_000_000_000u64,)).unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterError);
    assert_eq!(r.error_code, Some(ErrorCode::CanisterInstructionLimitExceeded));
    assert!(r.message.contains("5000000000"), "{}", r.message);
    let (n,): (u64,) = update(&mut ex, a, "inc", ());
    assert_eq!(n, 1, "the canister still works");
}
