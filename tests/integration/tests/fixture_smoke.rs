//! Smoke scenario on the executor's fixture canister: shows the `Env` API and that both
//! backends run the same scenario.

use std::time::Duration;
use suite_tests::*;

const ALICE: Principal = Principal::from_slice(&[0xa1, 0x1c, 0xe0]);

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
struct State {
    heap: u64,
    stable: u64,
    upgrades: u64,
    journal: Vec<String>,
    blobs: u64,
    locked: bool,
}

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
struct CallError {
    code: u32,
    message: String,
}

fn fixture_round_trip(env: &mut dyn Env) {
    let wasm = fixture_wasm();
    let a = deploy(env, &wasm, ());
    let b = deploy(env, &wasm, ());

    let s: String = update1(env, a, ALICE, "echo", ("hi",));
    assert_eq!(s, "hi");
    let me: Principal = update1(env, a, Principal::anonymous(), "whoami", ());
    assert_eq!(me, Principal::anonymous());

    // a trap rolls everything back
    let _: u64 = update1(env, a, ALICE, "inc", ());
    let r = env.update_raw(a, ALICE, "mutate_then_trap", candid::encode_one(1u32).unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterError);
    assert!(r.message.contains("mutate_then_trap: boom"), "{r}");
    let st: State = query1(env, a, ALICE, "state", ());
    assert_eq!((st.heap, st.stable), (1, 1));

    // explicit reject passes the message through
    let r = try_update::<_, ()>(env, a, ALICE, "reject_with", ("no",)).unwrap_err();
    assert_eq!((r.code, r.message.as_str()), (RejectCode::CanisterReject, "no"));

    // A -> B, reply and reject
    let r: Result<String, CallError> = update1(env, a, ALICE, "call_text", (b, "echo", "ping", false));
    assert_eq!(r, Ok("ping".to_string()));
    let r: Result<String, CallError> = update1(env, a, ALICE, "call_text", (b, "reject_with", "nope", false));
    assert_eq!(r, Err(CallError { code: 4, message: "nope".into() }));

    // upgrade keeps stable memory, drops the heap; post_upgrade arms a 10 s timer
    env.upgrade(a, &wasm, candid::encode_one(None::<String>).unwrap()).unwrap();
    let st: State = query1(env, a, ALICE, "state", ());
    assert_eq!((st.heap, st.stable, st.upgrades), (0, 1, 1));
    env.advance_time(Duration::from_secs(11));
    env.tick();
    let fired: u64 = query1(env, a, ALICE, "timer_fires", ("post_upgrade_timer",));
    assert_eq!(fired, 1);

    // stopped callee
    env.stop_canister(b).unwrap();
    let r: Result<String, CallError> = update1(env, a, ALICE, "call_text", (b, "echo", "ping", false));
    assert_eq!(r.unwrap_err().code, 5);
    env.start_canister(b).unwrap();

    // fault injection exists only on the executor
    if fault_or_skip(env, "fixture_round_trip fault injection", b, "echo", Fault::Trap("injected".into())) {
        let r: Result<String, CallError> = update1(env, a, ALICE, "call_text", (b, "echo", "ping", false));
        let e = r.unwrap_err();
        assert!(e.code == 5 && e.message.contains("injected"), "{e:?}");
        env.clear_faults();
    }

    // executor-only: instruction counts of the call tree
    if let Some(ex) = env.executor() {
        let out = ex.update_with_stats(a, ALICE, "fan_out", candid::encode_args((b, 3u32)).unwrap());
        assert!(out.tree_instructions > out.call_context_instructions && out.call_context_instructions > out.instructions);
    }
    assert!(env.cycle_balance(a) > 90_000_000_000_000);
}

scenario!(fixture_round_trip);
