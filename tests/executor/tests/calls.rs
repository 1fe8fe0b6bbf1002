//! Inter-canister calls: replies, every kind of reject, trapping callbacks, interleaving at
//! await points, fault injection, the management canister.
mod common;
use candid::{encode_args, Principal};
use common::*;
use ic_executor::{Fault, Step};
use std::time::Duration;

fn call_text(ex: &mut ic_executor::Executor, a: Principal, b: Principal, method: &str, unbounded: bool) -> Result<String, CallError> {
    let (r,): (Result<String, CallError>,) = update(ex, a, "call_text", (b, method, "ping", unbounded));
    r
}

#[test]
fn a_calls_b_and_gets_the_reply() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    assert_eq!(call_text(&mut ex, a, b, "echo", false), Ok("ping".into()));
    assert_eq!(call_text(&mut ex, a, b, "echo", true), Ok("ping".into()));
    // B saw A as its caller
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "whoami", "", false));
    assert!(r.unwrap_err().message.starts_with("decode"), "whoami takes no text arg and returns a principal");
}

#[test]
fn each_kind_of_reject_reaches_the_caller() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    // explicit reject: CANISTER_REJECT with the callee's message
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "reject_with", "nope", false));
    assert_eq!(r, Err(CallError { code: 4, message: "nope".into() }));
    // trap: CANISTER_ERROR carrying the trap message
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "trap_with", "kaboom", false));
    let e = r.unwrap_err();
    assert_eq!(e.code, 5);
    assert!(e.message.contains("kaboom"), "{}", e.message);
    // no reply
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "no_reply", "", false));
    assert_eq!(r.unwrap_err().code, 5);
    // unknown method: CANISTER_ERROR (the replica's CanisterMethodNotFound, 536)
    assert_eq!(call_text(&mut ex, a, b, "missing", false).unwrap_err().code, 5);
    // unknown canister
    assert_eq!(call_text(&mut ex, a, Principal::from_slice(&[0xab; 10]), "echo", false).unwrap_err().code, 3);
    // stopped callee
    ex.stop_canister(b).unwrap();
    let e = call_text(&mut ex, a, b, "echo", false).unwrap_err();
    assert_eq!(e.code, 5);
    assert!(e.message.contains("stopped"), "{}", e.message);
    ex.start_canister(b);
    assert_eq!(call_text(&mut ex, a, b, "echo", false), Ok("ping".into()));
}

#[test]
fn injected_faults_reach_the_caller() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    ex.inject_fault(b, "echo", Fault::Reject("injected".into()));
    assert_eq!(call_text(&mut ex, a, b, "echo", false), Err(CallError { code: 4, message: "injected".into() }));
    ex.inject_fault(b, "echo", Fault::Trap("injected trap".into()));
    let e = call_text(&mut ex, a, b, "echo", false).unwrap_err();
    assert!(e.code == 5 && e.message.contains("injected trap"), "{e:?}");
    ex.inject_fault(b, "echo", Fault::Stopped);
    assert_eq!(call_text(&mut ex, a, b, "echo", false).unwrap_err().code, 5);
    ex.inject_fault(b, "echo", Fault::Timeout);
    assert_eq!(call_text(&mut ex, a, b, "echo", false).unwrap_err().code, 6);

    // ResponseLost: the callee runs (its state changes) but the caller sees SYS_UNKNOWN
    ex.inject_fault(b, "inc", Fault::ResponseLost);
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "inc", "", false));
    assert_eq!(r.unwrap_err().code, 6);
    ex.clear_faults();
    assert_eq!(state(&mut ex, b).stable, 1, "the call executed although its response was lost");
    // faults apply to ingress too
    ex.inject_fault(a, "*", Fault::Reject("all methods".into()));
    let r = ex.update(a, USER, "echo", encode_args(("x",)).unwrap()).unwrap_err();
    assert_eq!(r.message, "all methods");
    ex.clear_faults();
    assert_eq!(call_text(&mut ex, a, b, "echo", false), Ok("ping".into()));
}

#[test]
fn bounded_wait_times_out_when_time_passes_the_deadline() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let msg = ex.submit_update(a, USER, "call_text", encode_args((b, "echo", "ping", false)).unwrap());
    assert_eq!(ex.step(), Some(Step::Request { to: a, method: "call_text".into() }));
    // the request to B is queued; 301 s pass before it is delivered
    ex.advance_time(Duration::from_secs(301));
    ex.run_until_idle();
    let bytes = ex.ingress_result(msg).unwrap().unwrap();
    let r: Result<String, CallError> = candid::decode_one(&bytes).unwrap();
    assert_eq!(r.unwrap_err().code, 6, "SYS_UNKNOWN after the deadline");
    assert!(!ex.executions().iter().any(|e| e.canister == b && e.method == "echo"), "the expired request never ran");
}

#[test]
fn trapping_callback_keeps_state_before_await_and_runs_cleanup() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let r = ex.update(a, USER, "call_then_trap", encode_args((b,)).unwrap()).unwrap_err();
    assert_eq!(r.code, ic_executor::RejectCode::CanisterError);
    assert!(r.message.contains("callback trap"), "{}", r.message);
    let s = state(&mut ex, a);
    assert_eq!(s.journal, vec!["init", "before_await"], "the part before the await was committed");
    assert_eq!(s.heap, 0, "the part after the await was rolled back");
    assert!(!s.locked, "ic-cdk's cleanup dropped the future, so the lock guard ran");
    let kinds: Vec<_> = ex.executions().iter().filter(|e| e.canister == a).map(|e| e.kind).collect();
    assert!(kinds.contains(&ic_executor::EntryKind::Cleanup), "{kinds:?}");
}

#[test]
fn messages_interleave_at_await_points() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let slow = ex.submit_update(a, USER, "slow_journal", encode_args((b, "slow")).unwrap());
    assert_eq!(ex.step(), Some(Step::Request { to: a, method: "slow_journal".into() }));
    assert_eq!(ex.pending_messages(), 1, "the call to B waits in the queue");
    let quick = ex.submit_update(a, USER, "journal_now", encode_args(("quick",)).unwrap());
    assert_eq!(ex.step(), Some(Step::Request { to: b, method: "echo".into() }));
    assert_eq!(ex.step(), Some(Step::Request { to: a, method: "journal_now".into() }));
    assert!(ex.ingress_result(quick).unwrap().is_ok());
    assert!(ex.ingress_result(slow).is_none(), "slow is still waiting for B's reply");
    assert_eq!(ex.step(), Some(Step::Response { to: a }));
    assert!(ex.ingress_result(slow).unwrap().is_ok());
    assert_eq!(ex.step(), None);
    assert_eq!(state(&mut ex, a).journal, vec!["init", "slow:start", "quick", "slow:end"]);
}

#[test]
fn concurrent_calls_from_one_message() {
    let (mut ex, ids) = setup(2);
    let (n,): (u32,) = update(&mut ex, ids[0], "fan_out", (ids[1], 20u32));
    assert_eq!(n, 20);
}

#[test]
fn raw_rand_from_the_management_canister() {
    let (mut ex, ids) = setup(1);
    let (r1,): (Result<Vec<u8>, CallError>,) = update(&mut ex, ids[0], "raw_rand", ());
    let (r2,): (Result<Vec<u8>, CallError>,) = update(&mut ex, ids[0], "raw_rand", ());
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.len(), 32);
    assert_ne!(r1, r2);
}

#[test]
fn calls_cost_cycles() {
    let (mut ex, ids) = setup(2);
    let before = ex.cycle_balance(ids[0]);
    assert_eq!(call_text(&mut ex, ids[0], ids[1], "echo", false), Ok("ping".into()));
    let spent = before - ex.cycle_balance(ids[0]);
    // at least the call fee and two execution fees; far less than a billion
    assert!(spent > 260_000 + 2 * 5_000_000 && spent < 1_000_000_000, "spent {spent}");
}

#[test]
fn a_call_withholds_the_response_prepayment_until_the_response_arrives() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let before = ex.cycle_balance(a);
    let msg = ex.submit_update(a, CONTROLLER, "call_text", encode_args((b, "echo", "ping", false)).unwrap());
    ex.step(); // a runs and makes the call; b has not answered yet
    let in_flight = before - ex.cycle_balance(a);
    assert!(in_flight > ic_executor::costs::response_prepayment(), "withheld {in_flight}");
    assert!(ic_executor::costs::response_prepayment() > 7_000_000_000);
    ex.run_until_idle();
    assert!(ex.ingress_result(msg).unwrap().is_ok());
    let spent = before - ex.cycle_balance(a);
    assert!(spent < 1_000_000_000, "the prepayment came back, less the response's cost: spent {spent}");
}

#[test]
fn a_frozen_canister_takes_no_messages_and_makes_no_calls() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let limit = ex.freezing_limit(a);
    assert!(limit > 0, "a canister with memory has a freezing limit");
    // Enough for the message itself, not for a call's prepayment above the limit.
    ex.set_cycles(a, limit + 1_000_000_000);
    assert!(call_text(&mut ex, a, b, "echo", false).is_err(), "the call would take the balance below the freezing limit");
    let (liquid,): (u128,) = update(&mut ex, a, "liquid_balance", ());
    assert!(liquid < 1_000_000_000, "liquid balance excludes the frozen reserve: {liquid}");
    // At the limit: frozen, ingress refused.
    ex.set_cycles(a, limit);
    let r = ex.update(a, CONTROLLER, "echo", encode_args(("x",)).unwrap()).unwrap_err();
    assert_eq!(r.error_code, Some(ic_executor::ErrorCode::CanisterOutOfCycles), "{r}");
    // A threshold of 0 unfreezes it.
    ex.set_freezing_threshold(a, 0);
    assert_eq!(ex.freezing_limit(a), 0);
    assert!(ex.update(a, CONTROLLER, "echo", encode_args(("x",)).unwrap()).is_ok());
}

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
enum RunStatus {
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
}

#[derive(candid::CandidType, candid::Deserialize, Clone, Debug, PartialEq)]
struct SelfStatus {
    status: RunStatus,
    cycles: candid::Nat,
    module_hash: Option<Vec<u8>>,
}

#[test]
fn canister_status_of_self_is_allowed_to_the_canister_itself() {
    // Interface spec, "IC method canister_status": "Only the controllers of the canister or the
    // canister itself ... can request its status".
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let (r,): (Result<SelfStatus, CallError>,) = update(&mut ex, a, "self_status", ());
    let s = r.unwrap();
    assert_eq!(s.status, RunStatus::Running);
    assert_eq!(s.module_hash, ex.module_hash(a).map(|h| h.to_vec()));
    assert!(s.cycles > 90_000_000_000_000u64);
}

#[test]
fn canister_info_tells_any_canister_the_controllers_and_module_hash() {
    use ic_management_canister_types::{CanisterInfoArgs, CanisterInfoResult};
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let ask = |ex: &mut ic_executor::Executor, about: Principal| {
        let arg = candid::encode_one(CanisterInfoArgs { canister_id: about, num_requested_changes: Some(5) }).unwrap();
        let (r,): (Result<Vec<u8>, CallError>,) = update(ex, a, "call_raw", (Principal::management_canister(), "canister_info", arg));
        r.map(|bytes| candid::decode_one::<CanisterInfoResult>(&bytes).unwrap())
    };
    // a is not b's controller, yet may ask (unlike canister_status)
    let info = ask(&mut ex, b).unwrap();
    assert_eq!(info.controllers, ex.controllers(b));
    assert_eq!(info.module_hash, ex.module_hash(b).map(|h| h.to_vec()));
    // the history: created by its controller, then the fixture installed
    let kinds: Vec<_> = info.recent_changes.iter().map(|c| c.details.clone()).collect();
    assert!(matches!(kinds.as_slice(), [Some(ic_management_canister_types::ChangeDetails::Creation(_)), Some(ic_management_canister_types::ChangeDetails::CodeDeployment(_))]), "{kinds:?}");
    assert_eq!(info.total_num_changes, 2);
    // an empty canister has no module hash
    let empty = ex.create_canister(vec![CONTROLLER, a]);
    let info = ask(&mut ex, empty).unwrap();
    assert_eq!((info.module_hash, info.controllers), (None, vec![CONTROLLER, a]));
    // an unknown id is rejected by the management canister
    let unknown = Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0x99, 0, 1, 1]);
    assert_eq!(ask(&mut ex, unknown).unwrap_err().code, 3, "DESTINATION_INVALID: canister not found");
    // users cannot call it
    let arg = candid::encode_one(CanisterInfoArgs { canister_id: b, num_requested_changes: None }).unwrap();
    assert!(ex.update(Principal::management_canister(), CONTROLLER, "canister_info", arg).is_err());
}
