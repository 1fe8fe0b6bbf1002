//! Round trip, callers, trap rollback, query isolation, upgrades.
mod common;
use candid::{encode_args, encode_one, Principal};
use common::*;
use ic_executor::{ErrorCode, Executor, RejectCode};

#[test]
fn round_trip_and_callers() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let (s,): (String,) = update(&mut ex, a, "echo", ("hello",));
    assert_eq!(s, "hello");
    let (s,): (String,) = query(&mut ex, a, "echo_query", ("q",));
    assert_eq!(s, "q");
    for sender in [USER, Principal::anonymous(), CONTROLLER] {
        let bytes = ex.update(a, sender, "whoami", encode_args(()).unwrap()).unwrap();
        assert_eq!(candid::decode_one::<Principal>(&bytes).unwrap(), sender);
    }
    // init ran once, with the journal entry it writes
    assert_eq!(state(&mut ex, a).journal, vec!["init"]);
}

#[test]
fn unknown_method_and_missing_canister_are_rejected() {
    let (mut ex, ids) = setup(1);
    let r = ex.update(ids[0], USER, "nope", encode_args(()).unwrap()).unwrap_err();
    // reject codes as the replica maps its error codes (ic-error-types)
    assert_eq!(r.code, RejectCode::CanisterError);
    assert_eq!(r.error_code, Some(ErrorCode::CanisterMethodNotFound));
    let empty = ex.create_canister(vec![CONTROLLER]);
    let r = ex.update(empty, USER, "echo", encode_args(("x",)).unwrap()).unwrap_err();
    assert_eq!((r.code, r.error_code), (RejectCode::CanisterError, Some(ErrorCode::CanisterWasmModuleNotFound)));
    let r = ex.update(Principal::from_slice(&[9; 10]), USER, "echo", vec![]).unwrap_err();
    assert_eq!((r.code, r.error_code), (RejectCode::DestinationInvalid, Some(ErrorCode::CanisterNotFound)));
}

#[test]
fn trap_rolls_back_heap_stable_certified_data_and_timer() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let _: (u64,) = update(&mut ex, a, "inc", ());
    let _: () = update(&mut ex, a, "set_certified", (vec![1u8, 2, 3],));
    let before = state(&mut ex, a);
    let stable_pages = ex.stable_size_pages(a);
    let heap = ex.heap_size(a);
    let timer = ex.global_timer(a);
    let cycles = ex.cycle_balance(a);

    // grows the heap by 8 MiB, writes stable structures, sets certified data and the timer
    let r = ex.update(a, USER, "mutate_then_trap", encode_one(8u32).unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterError);
    assert_eq!(r.error_code, Some(ErrorCode::CanisterCalledTrap));
    assert!(r.message.contains("mutate_then_trap: boom"), "{}", r.message);

    assert_eq!(state(&mut ex, a), before, "heap and stable state after the trap");
    assert_eq!(ex.stable_size_pages(a), stable_pages);
    assert_eq!(ex.heap_size(a), heap, "a grown heap is replaced by a fresh instance of the old size");
    assert_eq!(ex.certified_data(a), vec![1, 2, 3]);
    assert_eq!(ex.global_timer(a), timer);
    // only the execution fee was charged; no cycles moved by the trapped message remain
    assert!(ex.cycle_balance(a) < cycles && cycles - ex.cycle_balance(a) < 20_000_000_000);

    // the canister keeps working normally after the rollback
    let (n,): (u64,) = update(&mut ex, a, "inc", ());
    assert_eq!(n, 2);
    assert_eq!(state(&mut ex, a).stable, 2);
}

#[test]
fn panics_reject_with_the_panic_message() {
    let (mut ex, ids) = setup(1);
    let r = ex.update(ids[0], USER, "panic_with", encode_one("oh no").unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterError);
    assert!(r.message.contains("oh no"), "{}", r.message);
}

#[test]
fn explicit_reject_and_missing_reply() {
    let (mut ex, ids) = setup(1);
    let r = ex.update(ids[0], USER, "reject_with", encode_one("not today").unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterReject);
    assert_eq!(r.message, "not today");
    let r = ex.update(ids[0], USER, "no_reply", encode_args(()).unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterError);
    assert_eq!(r.error_code, Some(ErrorCode::CanisterDidNotReply));
}

#[test]
fn queries_never_persist() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let _: (u64,) = update(&mut ex, a, "inc", ());
    let heap = ex.heap_size(a);
    let (inside,): (State,) = query(&mut ex, a, "query_mutate", ());
    assert_eq!((inside.heap, inside.stable), (2, 2), "the query sees its own writes");
    let after = state(&mut ex, a);
    assert_eq!((after.heap, after.stable), (1, 1));
    assert_eq!(after.journal, vec!["init"]);
    assert_eq!(ex.heap_size(a), heap);
    // an update call to a query method runs it replicated, and still discards its changes
    let _ = ex.update(a, USER, "query_mutate", encode_args(()).unwrap()).unwrap();
    assert_eq!(state(&mut ex, a).stable, 1);
}

#[test]
fn upgrade_keeps_stable_memory_and_drops_heap() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let wasm = fixture_wasm();
    for _ in 0..3 {
        let _: (u64,) = update(&mut ex, a, "inc", ());
    }
    let _: () = update(&mut ex, a, "put_blob", (7u64, 100_000u32));
    ex.upgrade(a, &wasm, encode_one(None::<String>).unwrap(), CONTROLLER).unwrap();
    let s = state(&mut ex, a);
    assert_eq!(s.heap, 0, "heap is dropped");
    assert_eq!(s.stable, 3, "stable memory is kept");
    assert_eq!(s.blobs, 1);
    assert_eq!(s.upgrades, 1, "post_upgrade ran");
    assert!(s.journal.is_empty(), "init does not run on upgrade, heap journal is gone");

    // only controllers may upgrade
    let r = ex.upgrade(a, &wasm, encode_one(None::<String>).unwrap(), USER).unwrap_err();
    assert_eq!(r.error_code, Some(ErrorCode::CanisterInvalidController));
}

#[test]
fn failed_upgrade_leaves_old_module_and_state() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let wasm = fixture_wasm();
    let _: (u64,) = update(&mut ex, a, "inc", ());
    let version = ex.canister_version(a);

    let r = ex.upgrade(a, &wasm, encode_one(Some("trap")).unwrap(), CONTROLLER).unwrap_err();
    assert!(r.message.contains("post_upgrade refuses"), "{}", r.message);
    let s = state(&mut ex, a);
    assert_eq!((s.heap, s.stable, s.upgrades), (1, 1, 0), "heap kept, post_upgrade's write undone");
    assert_eq!(ex.canister_version(a), version);

    let _: () = update(&mut ex, a, "set_trap_in_pre_upgrade", (true,));
    let r = ex.upgrade(a, &wasm, encode_one(None::<String>).unwrap(), CONTROLLER).unwrap_err();
    assert!(r.message.contains("pre_upgrade refuses"), "{}", r.message);
    assert_eq!(state(&mut ex, a).heap, 1);
    let _: () = update(&mut ex, a, "set_trap_in_pre_upgrade", (false,));
    ex.upgrade(a, &wasm, encode_one(None::<String>).unwrap(), CONTROLLER).unwrap();
    assert_eq!(state(&mut ex, a).heap, 0);
}

#[test]
fn reinstall_wipes_stable_memory() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let _: (u64,) = update(&mut ex, a, "inc", ());
    ex.reinstall(a, &fixture_wasm(), encode_args(()).unwrap(), CONTROLLER).unwrap();
    let s = state(&mut ex, a);
    assert_eq!((s.heap, s.stable), (0, 0));
    assert_eq!(s.journal, vec!["init"]);
    let r = ex.install(a, &fixture_wasm(), encode_args(()).unwrap(), CONTROLLER).unwrap_err();
    assert_eq!(r.error_code, Some(ErrorCode::CanisterNonEmpty));
}

#[test]
fn stopped_canister_rejects_calls_until_started() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    ex.stop_canister(a).unwrap();
    let r = ex.update(a, USER, "echo", encode_one("x").unwrap()).unwrap_err();
    assert_eq!(r.error_code, Some(ErrorCode::CanisterStopped));
    assert_eq!(r.code, RejectCode::CanisterError);
    let r = ex.query(a, USER, "echo_query", encode_one("x").unwrap()).unwrap_err();
    assert_eq!(r.error_code, Some(ErrorCode::CanisterStopped));
    ex.start_canister(a);
    let (s,): (String,) = update(&mut ex, a, "echo", ("x",));
    assert_eq!(s, "x");
}

#[test]
fn env_vars_cycles_and_time() {
    let mut ex = Executor::new();
    let a = ex.create_canister_with(ic_executor::CanisterSettings {
        controllers: vec![CONTROLLER],
        env_vars: vec![("PUBLIC_CANISTER_ID:peer".into(), "aaaaa-aa".into())],
        ..Default::default()
    });
    ex.install(a, &fixture_wasm(), encode_args(()).unwrap(), CONTROLLER).unwrap();
    let (v,): (Option<String>,) = query(&mut ex, a, "env_var", ("PUBLIC_CANISTER_ID:peer",));
    assert_eq!(v.as_deref(), Some("aaaaa-aa"));
    let (v,): (Option<String>,) = query(&mut ex, a, "env_var", ("missing",));
    assert_eq!(v, None);

    let (bal,): (candid::Nat,) = query(&mut ex, a, "balance", ());
    assert_eq!(bal, candid::Nat::from(ex.cycle_balance(a)));
    assert!(ex.cycle_balance(a) > 99_000_000_000_000);

    let (t0,): (u64,) = query(&mut ex, a, "now", ());
    assert_eq!(t0, ex.time_ns());
    ex.tick();
    let (t1,): (u64,) = query(&mut ex, a, "now", ());
    assert_eq!(t1, t0, "time only moves when told");
    ex.advance_time(std::time::Duration::from_secs(5));
    let (t2,): (u64,) = query(&mut ex, a, "now", ());
    assert_eq!(t2, t0 + 5_000_000_000);
}

#[test]
fn every_ic0_import_of_the_fixture_is_implemented() {
    let missing = ic_executor::unimplemented_imports(&fixture_wasm()).unwrap();
    assert!(missing.is_empty(), "unimplemented: {missing:?}");
}

#[test]
fn unimplemented_imports_link_and_trap_naming_themselves() {
    let wasm = wat::parse_str(
        r#"(module
            (import "ic0" "mint_cycles128" (func $mint (param i64 i64 i32)))
            (memory 1)
            (func (export "canister_update mint") (call $mint (i64.const 0) (i64.const 1) (i32.const 0))))"#,
    )
    .unwrap();
    assert_eq!(ic_executor::unimplemented_imports(&wasm).unwrap(), vec!["ic0.mint_cycles128"]);
    let mut ex = Executor::new();
    let a = ex.create_canister(vec![CONTROLLER]);
    ex.install(a, &wasm, vec![], CONTROLLER).unwrap();
    let r = ex.update(a, USER, "mint", vec![]).unwrap_err();
    assert!(r.message.contains("ic0.mint_cycles128 is not implemented"), "{}", r.message);
}

#[test]
fn a_gzipped_module_installs_and_keeps_the_hash_of_the_bytes_given() {
    use sha2::Digest;
    use std::io::Write;
    let wasm = fixture_wasm();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&wasm).unwrap();
    let gz = gz.finish().unwrap();
    let mut ex = Executor::new();
    let id = ex.create_canister(vec![CONTROLLER]);
    ex.install(id, &gz, candid::encode_args(()).unwrap(), CONTROLLER).expect("gzipped install");
    let hash: [u8; 32] = sha2::Sha256::digest(&gz).into();
    assert_eq!(ex.module_hash(id), Some(hash));
    let (n,): (u64,) = update(&mut ex, id, "inc", ());
    assert_eq!(n, 1);
    // Not a wasm inside: refused with a message.
    let mut bad = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    bad.write_all(b"not wasm").unwrap();
    let other = ex.create_canister(vec![CONTROLLER]);
    assert!(ex.install(other, &bad.finish().unwrap(), candid::encode_args(()).unwrap(), CONTROLLER).is_err());
}

#[test]
fn a_saved_state_loads_with_heap_stable_memory_and_clock_intact() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    for _ in 0..3 {
        let (_,): (u64,) = update(&mut ex, a, "inc", ());
    }
    let (): () = update(&mut ex, a, "put_blob", (7u64, 100_000u32));
    ex.advance_time(std::time::Duration::from_secs(3600));
    ex.set_controllers(b, vec![CONTROLLER, a]);
    let before = state(&mut ex, a);
    let bytes = ex.save_state().unwrap();

    let mut loaded = Executor::load_state(&bytes).unwrap();
    assert_eq!(state(&mut loaded, a), before, "heap counter, stable counter and blobs survive");
    assert_eq!(loaded.time_ns(), ex.time_ns());
    assert_eq!(loaded.module_hash(a), ex.module_hash(a));
    assert_eq!(loaded.controllers(b), vec![CONTROLLER, a]);
    assert_eq!(loaded.cycle_balance(a), ex.cycle_balance(a));
    assert_eq!(loaded.stable_read(a, 0, 4096), ex.stable_read(a, 0, 4096));
    // It keeps running: more messages, an upgrade, new canisters with fresh ids.
    let (n,): (u64,) = update(&mut loaded, a, "inc", ());
    assert_eq!(n, before.heap + 1);
    loaded.upgrade(a, &fixture_wasm(), candid::encode_args(()).unwrap(), CONTROLLER).unwrap();
    assert_eq!(state(&mut loaded, a).stable, before.stable + 1);
    let c = loaded.create_canister(vec![CONTROLLER]);
    assert!(c != a && c != b);
    // Garbage is refused with a message, and so is a state with calls in flight.
    assert!(Executor::load_state(b"not a state").is_err());
    ex.submit_update(a, CONTROLLER, "call_text", encode_args((b, "echo", "x", false)).unwrap());
    ex.step();
    assert!(ex.save_state().unwrap_err().contains("in flight"));
}
