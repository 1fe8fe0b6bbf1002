//! The management canister as canisters reach it: every method driven from the fixture canister
//! through inter-canister calls (`call_management`: raw Candid, cycles attached, unbounded
//! wait), checking replies, reject codes (what the canister would see on the IC), refunds and
//! the states that follow; and the same operations as `Executor` methods.
mod common;
use candid::{encode_args, encode_one, CandidType, Principal};
use common::*;
use ic_executor::{costs, mgmt, CanisterStatus, ErrorCode, Executor, RejectCode};
use mgmt::{
    CanisterIdRecord, CanisterInfoArgs, CanisterInfoResult, CanisterInstallMode, CanisterSettings, CanisterStatusResult, ChangeDetails, ChangeOrigin,
    ChunkHash, CreateCanisterArgs, DeleteCanisterSnapshotArgs, InstallChunkedCodeArgs, InstallCodeArgs, LoadCanisterSnapshotArgs, Snapshot,
    TakeCanisterSnapshotArgs, UpdateSettingsArgs, UpgradeFlags, UploadChunkArgs, WasmMemoryPersistence,
};
use sha2::{Digest, Sha256};
use std::time::Duration;

const T: u128 = 1_000_000_000_000;

#[derive(CandidType, candid::Deserialize, Debug)]
struct ManagementOutcome {
    reply: Result<Vec<u8>, CallError>,
    refunded: u128,
}

/// `from` calls `aaaaa-aa.method(arg)` with `cycles`: the raw reply or the reject, and the refund.
fn call(ex: &mut Executor, from: Principal, method: &str, arg: impl CandidType, cycles: u128) -> ManagementOutcome {
    let (o,): (ManagementOutcome,) = update(ex, from, "call_management", (method, encode_one(arg).unwrap(), cycles));
    o
}

/// The call's reply decoded as `R`; panics on a reject.
fn ok<R: CandidType + for<'a> candid::Deserialize<'a>>(o: ManagementOutcome) -> R {
    let bytes = o.reply.unwrap_or_else(|e| panic!("management call rejected: {e:?}"));
    candid::decode_one(&bytes).unwrap()
}

fn unit(o: ManagementOutcome) {
    let bytes = o.reply.unwrap_or_else(|e| panic!("management call rejected: {e:?}"));
    candid::decode_args::<()>(&bytes).unwrap();
}

/// The reject's code and message; panics on a reply.
fn rejected(o: ManagementOutcome) -> (u32, String) {
    let e = o.reply.expect_err("expected a reject");
    (e.code, e.message)
}

fn id(c: Principal) -> CanisterIdRecord {
    CanisterIdRecord { canister_id: c }
}

/// `parent` creates a canister with `cycles` attached (and optional settings).
fn create(ex: &mut Executor, parent: Principal, settings: Option<CanisterSettings>, cycles: u128) -> Principal {
    let r: CanisterIdRecord = ok(call(ex, parent, "create_canister", CreateCanisterArgs { settings, sender_canister_version: None }, cycles));
    r.canister_id
}

fn install_args(canister_id: Principal, mode: CanisterInstallMode, wasm: Vec<u8>, arg: Vec<u8>) -> InstallCodeArgs {
    InstallCodeArgs { mode, canister_id, wasm_module: wasm, arg, sender_canister_version: None }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The fixture with a custom section `name` holding `data` appended (a different module).
fn fixture_with_section(name: &str, data: &[u8]) -> Vec<u8> {
    fn leb(mut v: usize, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            out.push(if v == 0 { b } else { b | 0x80 });
            if v == 0 {
                break;
            }
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut wasm = fixture_wasm();
    wasm.push(0);
    leb(body.len(), &mut wasm);
    wasm.extend(body);
    wasm
}

/// The fixture padded by `extra` bytes of varied data (so no two 1 MiB chunks are equal).
fn fixture_padded(extra: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..extra).map(|i| (i % 251) as u8 ^ (i >> 16) as u8).collect();
    fixture_with_section("padding", &data)
}

fn status(ex: &mut Executor, from: Principal, of: Principal) -> CanisterStatusResult {
    ok(call(ex, from, "canister_status", id(of), 0))
}

fn info(ex: &mut Executor, from: Principal, of: Principal) -> CanisterInfoResult {
    ok(call(ex, from, "canister_info", CanisterInfoArgs { canister_id: of, num_requested_changes: Some(20) }, 0))
}

fn from_canister(c: Principal) -> ChangeOrigin {
    ChangeOrigin::FromCanister(mgmt::FromCanisterRecord { canister_id: c, canister_version: None })
}

#[test]
fn create_canister_charges_the_fee_and_defaults_the_controllers_to_the_caller() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let before = ex.cycle_balance(a);
    let o = call(&mut ex, a, "create_canister", CreateCanisterArgs::default(), 2 * T);
    assert_eq!(o.refunded, 0, "create_canister keeps every attached cycle");
    let b = candid::decode_one::<CanisterIdRecord>(&o.reply.unwrap()).unwrap().canister_id;
    assert_eq!(ex.cycle_balance(b), 2 * T - costs::CREATE_CANISTER_FEE, "the new balance is the attached cycles less the fee");
    let spent = before - ex.cycle_balance(a);
    assert!((2 * T..2 * T + 100_000_000).contains(&spent), "the caller paid the attached cycles and its own fees: {spent}");
    assert_eq!(ex.controllers(b), vec![a]);
    assert_eq!(ex.status(b), CanisterStatus::Running);
    assert_eq!(ex.module_hash(b), None, "a new canister is empty");
    // the history records the creation by the calling canister
    let i = info(&mut ex, a, b);
    assert_eq!(i.total_num_changes, 1);
    assert_eq!(i.recent_changes[0].origin, from_canister(a));
    assert_eq!(i.recent_changes[0].details, Some(ChangeDetails::Creation(mgmt::CreationRecord { controllers: vec![a], environment_variables_hash: None })));

    // settings given at creation apply
    let settings = CanisterSettings {
        controllers: Some(vec![CONTROLLER, a]),
        freezing_threshold: Some(1_000u64.into()),
        environment_variables: Some(vec![mgmt::EnvironmentVariable { name: "K".into(), value: "V".into() }]),
        ..Default::default()
    };
    let c = create(&mut ex, a, Some(settings), T);
    let s = status(&mut ex, a, c);
    assert_eq!(s.settings.controllers, vec![CONTROLLER, a]);
    assert_eq!(s.settings.freezing_threshold, 1_000u64);
    assert_eq!(s.settings.environment_variables.len(), 1);
    assert_eq!(s.cycles, T - costs::CREATE_CANISTER_FEE);
    match &info(&mut ex, a, c).recent_changes[0].details {
        Some(ChangeDetails::Creation(r)) => assert!(r.environment_variables_hash.as_ref().is_some_and(|h| h.len() == 32)),
        other => panic!("{other:?}"),
    }

    // too few cycles for the fee: rejected (CANISTER_REJECT, as the replica's
    // InsufficientCyclesForCreateCanister) and every cycle comes back
    let count = ex.canister_ids().len();
    let o = call(&mut ex, a, "create_canister", CreateCanisterArgs::default(), 100_000_000_000);
    assert_eq!(o.refunded, 100_000_000_000);
    let (code, msg) = rejected(o);
    assert_eq!(code, 4, "{msg}");
    assert!(msg.contains("fee"), "{msg}");
    assert_eq!(ex.canister_ids().len(), count, "nothing was created");
    // more than 10 controllers: refused
    let many = CanisterSettings { controllers: Some(vec![a; 11]), ..Default::default() };
    let o = call(&mut ex, a, "create_canister", CreateCanisterArgs { settings: Some(many), sender_canister_version: None }, T);
    assert_eq!(o.refunded, T);
    assert_eq!(rejected(o).0, 4);
    // users cannot create canisters through ingress
    let r = ex.update(Principal::management_canister(), CONTROLLER, "create_canister", encode_one(CreateCanisterArgs::default()).unwrap()).unwrap_err();
    assert_eq!(r.code, RejectCode::CanisterReject, "{r}");
}

#[test]
fn install_code_through_calls_with_every_mode_and_only_by_controllers() {
    let (mut ex, ids) = setup(2);
    let (a, stranger) = (ids[0], ids[1]);
    let b = create(&mut ex, a, None, 10 * T);
    let gz = gzip(&fixture_wasm());
    unit(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Install, gz.clone(), encode_args(()).unwrap()), 0));
    assert_eq!(ex.module_hash(b), Some(Sha256::digest(&gz).into()), "a gzipped module's hash is that of the bytes given");
    assert_eq!(state(&mut ex, b).journal, vec!["init"]);
    let _: (u64,) = update(&mut ex, b, "inc", ());

    // not a controller: CANISTER_ERROR (the replica's CanisterInvalidController), nothing changes
    let (code, msg) = rejected(call(&mut ex, stranger, "install_code", install_args(b, CanisterInstallMode::Reinstall, fixture_wasm(), encode_args(()).unwrap()), 0));
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("Only the controllers"), "{msg}");
    assert_eq!(state(&mut ex, b).stable, 1);
    // install on a non-empty canister: refused
    let (code, msg) = rejected(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap()), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("not empty"), "{msg}");
    // not a wasm module
    let (code, _) = rejected(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Reinstall, b"not wasm".to_vec(), vec![]), 0));
    assert_eq!(code, 5);
    assert_eq!(state(&mut ex, b).stable, 1, "a refused install changes nothing");

    // upgrade: pre_upgrade traps → refused; with skip_pre_upgrade it is not run
    let _: () = update(&mut ex, b, "set_trap_in_pre_upgrade", (true,));
    let upgrade = |flags| install_args(b, CanisterInstallMode::Upgrade(flags), fixture_wasm(), encode_one(None::<String>).unwrap());
    let (code, msg) = rejected(call(&mut ex, a, "install_code", upgrade(None), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("pre_upgrade refuses"), "{msg}");
    let skip = Some(UpgradeFlags { skip_pre_upgrade: Some(true), wasm_memory_persistence: None });
    unit(call(&mut ex, a, "install_code", upgrade(skip), 0));
    let s = state(&mut ex, b);
    assert_eq!((s.heap, s.stable, s.upgrades), (0, 1, 1), "upgraded: heap dropped, stable memory kept");
    // keeping the wasm memory needs a module with enhanced orthogonal persistence (as on the IC)
    let keep = Some(UpgradeFlags { skip_pre_upgrade: Some(true), wasm_memory_persistence: Some(WasmMemoryPersistence::Keep) });
    let (code, msg) = rejected(call(&mut ex, a, "install_code", upgrade(keep), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("enhanced orthogonal persistence"), "{msg}");
    // reinstall wipes stable memory
    unit(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Reinstall, fixture_wasm(), encode_args(()).unwrap()), 0));
    assert_eq!(state(&mut ex, b).stable, 0);

    // every deployment is in the history, by the calling canister, with the module hash
    let i = info(&mut ex, stranger, b);
    let modes: Vec<_> = i
        .recent_changes
        .iter()
        .filter_map(|c| match &c.details {
            Some(ChangeDetails::CodeDeployment(d)) => Some((d.mode, d.module_hash.clone(), c.origin.clone())),
            _ => None,
        })
        .collect();
    let plain = Sha256::digest(fixture_wasm()).to_vec();
    use mgmt::CodeDeploymentMode::*;
    assert_eq!(
        modes,
        vec![(Install, Sha256::digest(&gz).to_vec(), from_canister(a)), (Upgrade, plain.clone(), from_canister(a)), (Reinstall, plain, from_canister(a))]
    );
    assert_eq!(i.total_num_changes, 4, "creation + three deployments; refused installs leave no trace");
    let versions: Vec<u64> = i.recent_changes.iter().map(|c| c.canister_version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions grow: {versions:?}");
}

#[test]
fn update_settings_only_by_controllers_and_recorded_in_the_history() {
    let (mut ex, ids) = setup(2);
    let (a, stranger) = (ids[0], ids[1]);
    let b = create(&mut ex, a, None, T);
    let version = ex.canister_version(b);
    let args = |settings| UpdateSettingsArgs { canister_id: b, settings, sender_canister_version: Some(7) };
    let change = CanisterSettings { controllers: Some(vec![a, CONTROLLER]), freezing_threshold: Some(86_400u64.into()), ..Default::default() };
    let (code, msg) = rejected(call(&mut ex, stranger, "update_settings", args(change.clone()), 0));
    assert_eq!(code, 5, "{msg}");
    assert_eq!(ex.controllers(b), vec![a]);
    unit(call(&mut ex, a, "update_settings", args(change), 0));
    assert_eq!(ex.controllers(b), vec![a, CONTROLLER]);
    assert_eq!(ex.canister_version(b), version + 1);
    let s = status(&mut ex, a, b);
    assert_eq!(s.settings.freezing_threshold, 86_400u64);
    // absent fields stay as they are
    let wasm_limit = CanisterSettings { wasm_memory_limit: Some((1u64 << 30).into()), ..Default::default() };
    unit(call(&mut ex, a, "update_settings", args(wasm_limit), 0));
    let s = status(&mut ex, a, b);
    assert_eq!((s.settings.freezing_threshold.clone(), s.settings.wasm_memory_limit.clone()), (86_400u64.into(), (1u64 << 30).into()));
    assert_eq!(s.settings.controllers, vec![a, CONTROLLER]);
    // out of range: compute allocation above 100 (the replica's InvalidSettings)
    let bad = CanisterSettings { compute_allocation: Some(101u64.into()), ..Default::default() };
    assert_eq!(rejected(call(&mut ex, a, "update_settings", args(bad), 0)).0, 5);
    // the controllers change is in the history with the sender's canister version
    let last = info(&mut ex, a, b).recent_changes.into_iter().rev().find(|c| matches!(c.details, Some(ChangeDetails::ControllersChange(_)))).unwrap();
    assert_eq!(last.origin, ChangeOrigin::FromCanister(mgmt::FromCanisterRecord { canister_id: a, canister_version: Some(7) }));
    assert_eq!(last.details, Some(ChangeDetails::ControllersChange(mgmt::ControllersChangeRecord { controllers: vec![a, CONTROLLER] })));
    // a canister that is no longer a controller loses control
    let away = CanisterSettings { controllers: Some(vec![CONTROLLER]), ..Default::default() };
    unit(call(&mut ex, a, "update_settings", args(away.clone()), 0));
    assert_eq!(rejected(call(&mut ex, a, "update_settings", args(away), 0)).0, 5);
}

#[test]
fn a_module_larger_than_a_message_installs_from_chunks() {
    let (mut ex, ids) = setup(2);
    let (a, stranger) = (ids[0], ids[1]);
    let b = create(&mut ex, a, None, 10 * T);
    let big = fixture_padded(2_500_000);
    assert!(big.len() > 3 * 1024 * 1024 - 600_000 && big.len() > costs::MAX_PAYLOAD, "{}", big.len());
    let hash = Sha256::digest(&big).to_vec();
    // too large for one message: a canister cannot even make the install_code call
    let arg = encode_one(install_args(b, CanisterInstallMode::Install, big.clone(), encode_args(()).unwrap())).unwrap();
    let r = ex.update(a, USER, "call_management", encode_args(("install_code", arg, 0u128)).unwrap()).unwrap_err();
    assert!(r.code == RejectCode::CanisterError && r.message.contains("exceeds"), "{r}");

    // chunks in the caller's own store (the store canister may be another canister)
    let mut hashes = Vec::new();
    for chunk in big.chunks(1024 * 1024) {
        let h: ChunkHash = ok(call(&mut ex, a, "upload_chunk", UploadChunkArgs { canister_id: a, chunk: chunk.to_vec() }, 0));
        assert_eq!(h.hash, Sha256::digest(chunk).to_vec());
        hashes.push(h);
    }
    let stored: Vec<ChunkHash> = ok(call(&mut ex, a, "stored_chunks", id(a), 0));
    assert_eq!(stored.len(), hashes.len());
    // each chunk is charged as 1 MiB
    assert_eq!(ex.canister_status(a, CONTROLLER).unwrap().memory_metrics.wasm_chunk_store_size, (hashes.len() as u64) << 20);
    let args = |wasm_module_hash: Vec<u8>, chunk_hashes_list: Vec<ChunkHash>| InstallChunkedCodeArgs {
        mode: CanisterInstallMode::Install,
        target_canister: b,
        store_canister: Some(a),
        chunk_hashes_list,
        wasm_module_hash,
        arg: encode_args(()).unwrap(),
        sender_canister_version: None,
    };
    // a wrong hash, a missing chunk, a caller that controls neither: refused, nothing installed
    let (code, msg) = rejected(call(&mut ex, a, "install_chunked_code", args(vec![0; 32], hashes.clone()), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("does not match"), "{msg}");
    let (code, msg) = rejected(call(&mut ex, a, "install_chunked_code", args(hash.clone(), vec![ChunkHash { hash: vec![1; 32] }]), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("not found"), "{msg}");
    assert_eq!(rejected(call(&mut ex, stranger, "install_chunked_code", args(hash.clone(), hashes.clone()), 0)).0, 5);
    assert_eq!(ex.module_hash(b), None);
    // the right list installs the >2 MiB module
    unit(call(&mut ex, a, "install_chunked_code", args(hash.clone(), hashes.clone()), 0));
    assert_eq!(ex.module_hash(b).map(|h| h.to_vec()), Some(hash.clone()));
    assert_eq!(state(&mut ex, b).journal, vec!["init"]);
    assert_eq!(status(&mut ex, a, b).memory_metrics.wasm_binary_size, big.len() as u64);

    // the target's own store works too (default store_canister), here for an upgrade
    for chunk in big.chunks(1024 * 1024) {
        let _: ChunkHash = ok(call(&mut ex, a, "upload_chunk", UploadChunkArgs { canister_id: b, chunk: chunk.to_vec() }, 0));
    }
    let upgrade = InstallChunkedCodeArgs { mode: CanisterInstallMode::Upgrade(None), store_canister: None, arg: encode_one(None::<String>).unwrap(), ..args(hash.clone(), hashes) };
    unit(call(&mut ex, a, "install_chunked_code", upgrade, 0));
    assert_eq!(state(&mut ex, b).upgrades, 1);

    // chunks above 1 MiB are refused; strangers may not upload; clearing empties the store
    let (code, msg) = rejected(call(&mut ex, a, "upload_chunk", UploadChunkArgs { canister_id: a, chunk: vec![0; (1 << 20) + 1] }, 0));
    assert_eq!(code, 5);
    assert!(msg.contains("exceeds"), "{msg}");
    assert_eq!(rejected(call(&mut ex, stranger, "upload_chunk", UploadChunkArgs { canister_id: a, chunk: vec![1] }, 0)).0, 5);
    unit(call(&mut ex, a, "clear_chunk_store", id(a), 0));
    let stored: Vec<ChunkHash> = ok(call(&mut ex, a, "stored_chunks", id(a), 0));
    assert!(stored.is_empty());
}

/// `a` (a controller of `b`) asks to stop `b` while `b` waits for a reply from `c`.
fn stop_while_b_waits(ex: &mut Executor, a: Principal, b: Principal, c: Principal) -> ic_executor::MessageId {
    let stop = ex.submit_update(a, USER, "call_management", encode_args(("stop_canister", encode_one(id(b)).unwrap(), 0u128)).unwrap());
    let _slow = ex.submit_update(b, USER, "slow_journal", encode_args((c, "t")).unwrap());
    while ex.status(b) != CanisterStatus::Stopping {
        ex.step().expect("the stop request is delivered");
    }
    stop
}

fn outcome(ex: &Executor, msg: ic_executor::MessageId) -> ManagementOutcome {
    candid::decode_one(&ex.ingress_result(msg).expect("answered").expect("call_management replies")).unwrap()
}

#[test]
fn stop_canister_replies_once_the_open_call_contexts_close() {
    let (mut ex, ids) = setup(4);
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    ex.set_controllers(b, vec![CONTROLLER, a]);
    let stop = stop_while_b_waits(&mut ex, a, b, c);
    assert!(ex.ingress_result(stop).is_none(), "stop_canister has not replied while b is stopping");
    // new calls to a stopping canister are rejected; ingress and canisters alike
    let echo = ex.submit_update(b, USER, "echo", encode_one("x").unwrap());
    let r = ex.await_ingress(echo).unwrap().unwrap_err();
    assert_eq!(r.error_code, Some(ErrorCode::CanisterStopping), "{r}");
    assert_eq!(ex.status(b), CanisterStatus::Stopping);
    let (r,): (Result<String, CallError>,) = update(&mut ex, d, "call_text", (b, "echo", "x", false));
    let e = r.unwrap_err();
    assert_eq!(e.code, 5);
    ex.run_until_idle();
    // b's callback ran (responses still reach a stopping canister), then it stopped
    assert_eq!(ex.status(b), CanisterStatus::Stopped);
    unit(outcome(&ex, stop));
    let s = status(&mut ex, a, b);
    assert_eq!(s.status, mgmt::CanisterStatusType::Stopped);
    // stopped: calls are rejected (CANISTER_ERROR, "stopped")
    let (r,): (Result<String, CallError>,) = update(&mut ex, d, "call_text", (b, "echo", "x", false));
    let e = r.unwrap_err();
    assert!(e.code == 5 && e.message.contains("stopped"), "{e:?}");
    // stopping a stopped canister replies at once; start by a non-controller is refused
    unit(call(&mut ex, a, "stop_canister", id(b), 0));
    assert_eq!(rejected(call(&mut ex, d, "start_canister", id(b), 0)).0, 5);
    assert_eq!(rejected(call(&mut ex, d, "stop_canister", id(a), 0)).0, 5);
    unit(call(&mut ex, a, "start_canister", id(b), 0));
    assert_eq!(ex.status(b), CanisterStatus::Running);
    let (r,): (Result<String, CallError>,) = update(&mut ex, d, "call_text", (b, "echo", "x", false));
    assert_eq!(r, Ok("x".into()));
    assert!(state(&mut ex, b).journal.contains(&"t:end".to_string()), "the call context that delayed the stop completed");
}

#[test]
fn start_cancels_a_waiting_stop_and_a_stop_times_out_after_five_minutes() {
    let (mut ex, ids) = setup(3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    ex.set_controllers(b, vec![CONTROLLER, a]);
    // start while stopping: the waiting stop_canister is rejected
    let stop = stop_while_b_waits(&mut ex, a, b, c);
    ex.start_canister(b);
    ex.run_until_idle();
    let (code, msg) = rejected(outcome(&ex, stop));
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("cancelled"), "{msg}");
    assert_eq!(ex.status(b), CanisterStatus::Running);
    // a stop still waiting after 5 minutes is answered SYS_TRANSIENT; b stays stopping
    let stop = stop_while_b_waits(&mut ex, a, b, c);
    ex.advance_time(Duration::from_secs(301));
    let r = ex.await_ingress(stop).unwrap().unwrap();
    let o: ManagementOutcome = candid::decode_one(&r).unwrap();
    let (code, msg) = rejected(o);
    assert_eq!(code, 2, "{msg}");
    ex.run_until_idle();
    assert_eq!(ex.status(b), CanisterStatus::Stopped, "it stopped once its call context closed");
}

#[test]
fn delete_canister_only_when_stopped_and_only_by_controllers() {
    let (mut ex, ids) = setup(2);
    let (a, stranger) = (ids[0], ids[1]);
    let b = create(&mut ex, a, None, T);
    unit(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap()), 0));
    let (code, msg) = rejected(call(&mut ex, a, "delete_canister", id(b), 0));
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("must be stopped"), "{msg}");
    unit(call(&mut ex, a, "stop_canister", id(b), 0));
    assert_eq!(rejected(call(&mut ex, stranger, "delete_canister", id(b), 0)).0, 5);
    unit(call(&mut ex, a, "delete_canister", id(b), 0));
    assert!(!ex.canister_ids().contains(&b));
    // gone: DESTINATION_INVALID for calls and for the management canister
    let (r,): (Result<String, CallError>,) = update(&mut ex, a, "call_text", (b, "echo", "x", false));
    assert_eq!(r.unwrap_err().code, 3);
    assert_eq!(rejected(call(&mut ex, a, "canister_status", id(b), 0)).0, 3);
    assert_eq!(rejected(call(&mut ex, a, "delete_canister", id(b), 0)).0, 3);
    // the id is never reused
    let c = create(&mut ex, a, None, T);
    assert_ne!(c, b);
}

#[test]
fn deposit_cycles_gives_every_attached_cycle_to_the_target() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    let before = ex.cycle_balance(b);
    let o = call(&mut ex, a, "deposit_cycles", id(b), 3 * T);
    assert_eq!(o.refunded, 0);
    unit(o);
    assert_eq!(ex.cycle_balance(b), before + 3 * T, "any canister may top up any canister");
    // to an unknown canister: rejected, the cycles come back
    let o = call(&mut ex, a, "deposit_cycles", id(Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0x77, 0, 1, 1])), T);
    assert_eq!(o.refunded, T);
    assert_eq!(rejected(o).0, 3);
    // not through ingress
    assert!(ex.update(Principal::management_canister(), CONTROLLER, "deposit_cycles", encode_one(id(b)).unwrap()).is_err());
    // cycles attached to other methods come back
    ex.set_controllers(b, vec![CONTROLLER, a]);
    let o = call(&mut ex, a, "canister_status", id(b), T);
    assert_eq!(o.refunded, T);
}

#[test]
fn canister_status_reports_status_module_memory_settings_and_cycles() {
    let (mut ex, ids) = setup(2);
    let (a, stranger) = (ids[0], ids[1]);
    let b = create(&mut ex, a, None, 5 * T);
    let s = status(&mut ex, a, b);
    assert_eq!((s.status, s.module_hash.clone(), s.cycles.clone()), (mgmt::CanisterStatusType::Running, None, (5 * T - costs::CREATE_CANISTER_FEE).into()));
    assert_eq!(s.settings.freezing_threshold, costs::DEFAULT_FREEZING_THRESHOLD_SECONDS);
    unit(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap()), 0));
    let _: () = update(&mut ex, b, "put_blob", (1u64, 200_000u32));
    let s = status(&mut ex, a, b);
    assert_eq!(s.module_hash, ex.module_hash(b).map(|h| h.to_vec()));
    let m = &s.memory_metrics;
    assert_eq!(m.wasm_memory_size, ex.heap_size(b) as u64);
    assert_eq!(m.stable_memory_size, ex.stable_size_pages(b) * 65536);
    assert_eq!(m.wasm_binary_size, fixture_wasm().len() as u64);
    assert_eq!(s.memory_size, m.wasm_memory_size.clone() + m.stable_memory_size.clone() + m.wasm_binary_size.clone());
    assert!(s.idle_cycles_burned_per_day > 0u64);
    assert_eq!(s.version, ex.canister_version(b));
    // a canister that is neither controller nor the canister itself may not ask
    let (code, msg) = rejected(call(&mut ex, stranger, "canister_status", id(b), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("Only the controllers"), "{msg}");
    // through ingress, by a controller
    ex.set_controllers(b, vec![a, CONTROLLER]);
    let bytes = ex.update(Principal::management_canister(), CONTROLLER, "canister_status", encode_one(id(b)).unwrap()).unwrap();
    assert_eq!(candid::decode_one::<CanisterStatusResult>(&bytes).unwrap().settings.controllers, vec![a, CONTROLLER]);
    // and as a query call (users only; other methods are not queries)
    let bytes = ex.query(Principal::management_canister(), CONTROLLER, "canister_status", encode_one(id(b)).unwrap()).unwrap();
    assert_eq!(candid::decode_one::<CanisterStatusResult>(&bytes).unwrap().module_hash, ex.module_hash(b).map(|h| h.to_vec()));
    assert!(ex.query(Principal::management_canister(), USER, "canister_status", encode_one(id(b)).unwrap()).is_err());
    assert!(ex.query(Principal::management_canister(), CONTROLLER, "stop_canister", encode_one(id(b)).unwrap()).is_err());
}

#[test]
fn a_snapshot_restores_module_heap_stable_memory_certified_data_and_timer() {
    let (mut ex, ids) = setup(3);
    let (a, b, stranger) = (ids[0], ids[1], ids[2]);
    ex.set_controllers(b, vec![CONTROLLER, a]);
    for _ in 0..3 {
        let _: (u64,) = update(&mut ex, b, "inc", ());
    }
    let _: () = update(&mut ex, b, "set_certified", (vec![7u8; 32],));
    let _: () = update(&mut ex, b, "set_timer_secs", (60u64, "snap"));
    let timer = ex.global_timer(b);
    assert_ne!(timer, 0);
    let hash = ex.module_hash(b);
    unit(call(&mut ex, a, "stop_canister", id(b), 0));
    let take = |replace_snapshot| TakeCanisterSnapshotArgs { canister_id: b, replace_snapshot, uninstall_code: None, sender_canister_version: None };
    assert_eq!(rejected(call(&mut ex, stranger, "take_canister_snapshot", take(None), 0)).0, 5);
    let snap: Snapshot = ok(call(&mut ex, a, "take_canister_snapshot", take(None), 0));
    assert_eq!(snap.taken_at_timestamp, ex.time_ns());
    assert!(snap.total_size >= ex.heap_size(b) as u64);
    let list: Vec<Snapshot> = ok(call(&mut ex, a, "list_canister_snapshots", id(b), 0));
    assert_eq!(list, vec![snap.clone()]);
    assert_eq!(rejected(call(&mut ex, stranger, "list_canister_snapshots", id(b), 0)).0, 5);
    unit(call(&mut ex, a, "start_canister", id(b), 0));

    // change everything: more writes, new certified data, no timer, another module
    for _ in 0..2 {
        let _: (u64,) = update(&mut ex, b, "inc", ());
    }
    let _: () = update(&mut ex, b, "put_blob", (5u64, 1000u32));
    let _: () = update(&mut ex, b, "set_certified", (vec![9u8; 32],));
    ex.upgrade(b, &fixture_padded(10), encode_one(None::<String>).unwrap(), CONTROLLER).unwrap();
    assert_ne!(ex.module_hash(b), hash);

    unit(call(&mut ex, a, "stop_canister", id(b), 0));
    let load = |snapshot_id: Vec<u8>| LoadCanisterSnapshotArgs { canister_id: b, snapshot_id, sender_canister_version: None };
    assert_eq!(rejected(call(&mut ex, stranger, "load_canister_snapshot", load(snap.id.clone()), 0)).0, 5);
    let (code, _) = rejected(call(&mut ex, a, "load_canister_snapshot", load(vec![0; 18]), 0));
    assert_eq!(code, 3, "an unknown snapshot: DESTINATION_INVALID (CanisterSnapshotNotFound)");
    unit(call(&mut ex, a, "load_canister_snapshot", load(snap.id.clone()), 0));
    unit(call(&mut ex, a, "start_canister", id(b), 0));
    let s = state(&mut ex, b);
    assert_eq!((s.heap, s.stable, s.blobs, s.upgrades), (3, 3, 0, 0), "heap and stable memory as at the snapshot");
    assert_eq!(ex.certified_data(b), vec![7u8; 32]);
    assert_eq!(ex.module_hash(b), hash, "the module as at the snapshot");
    assert_eq!(ex.global_timer(b), timer, "the global timer as at the snapshot");
    let last = info(&mut ex, a, b).recent_changes.pop().unwrap();
    match last.details {
        Some(ChangeDetails::LoadSnapshot(r)) => assert_eq!((r.snapshot_id, r.from_canister_id), (snap.id.clone(), None)),
        other => panic!("{other:?}"),
    }

    // replace, then delete; deleting twice is refused
    let snap2: Snapshot = ok(call(&mut ex, a, "take_canister_snapshot", take(Some(snap.id.clone())), 0));
    let list: Vec<Snapshot> = ok(call(&mut ex, a, "list_canister_snapshots", id(b), 0));
    assert_eq!(list, vec![snap2.clone()]);
    let del = DeleteCanisterSnapshotArgs { canister_id: b, snapshot_id: snap2.id.clone() };
    assert_eq!(rejected(call(&mut ex, stranger, "delete_canister_snapshot", del.clone(), 0)).0, 5);
    unit(call(&mut ex, a, "delete_canister_snapshot", del.clone(), 0));
    assert_eq!(rejected(call(&mut ex, a, "delete_canister_snapshot", del, 0)).0, 3);
    let list: Vec<Snapshot> = ok(call(&mut ex, a, "list_canister_snapshots", id(b), 0));
    assert!(list.is_empty());
}

#[test]
fn snapshots_are_limited_and_count_as_memory() {
    let (mut ex, ids) = setup(1);
    let b = ids[0];
    let before = ex.canister_status(b, CONTROLLER).unwrap().memory_size;
    let mut taken = Vec::new();
    for _ in 0..ic_executor::MAX_SNAPSHOTS {
        taken.push(ex.take_canister_snapshot(b, CONTROLLER, None).unwrap());
    }
    let r = ex.take_canister_snapshot(b, CONTROLLER, None).unwrap_err();
    assert!(r.message.contains("maximum number of snapshots"), "{r}");
    let s = ex.canister_status(b, CONTROLLER).unwrap();
    let total: u64 = taken.iter().map(|t| t.total_size).sum();
    assert_eq!(s.memory_metrics.snapshots_size, total);
    assert_eq!(s.memory_size, before + total);
    // a canister with too few cycles for the snapshot's storage is refused
    ex.delete_canister_snapshot(b, CONTROLLER, taken[0].id.clone()).unwrap();
    ex.set_cycles(b, ex.freezing_limit(b) + 1);
    let r = ex.take_canister_snapshot(b, CONTROLLER, None).unwrap_err();
    assert_eq!((r.code, r.error_code), (RejectCode::SysTransient, Some(ErrorCode::CanisterOutOfCycles)), "{r}");
}

#[test]
fn the_same_operations_as_executor_methods() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let b = ex.create_canister(vec![CONTROLLER]);
    // chunked install from the Rust side
    let big = fixture_padded(2_200_000);
    let hashes: Vec<ChunkHash> = big.chunks(1 << 20).map(|c| ChunkHash { hash: ex.upload_chunk(b, CONTROLLER, c.to_vec()).unwrap().to_vec() }).collect();
    assert_eq!(ex.stored_chunks(b, CONTROLLER).unwrap().len(), hashes.len());
    assert!(ex.upload_chunk(b, USER, vec![1]).is_err(), "only controllers");
    let args = InstallChunkedCodeArgs {
        mode: CanisterInstallMode::Install,
        target_canister: b,
        store_canister: None,
        chunk_hashes_list: hashes,
        wasm_module_hash: Sha256::digest(&big).to_vec(),
        arg: encode_args(()).unwrap(),
        sender_canister_version: None,
    };
    assert_eq!(ex.install_chunked_code(USER, args.clone()).unwrap_err().error_code, Some(ErrorCode::CanisterInvalidController));
    ex.install_chunked_code(CONTROLLER, args).unwrap();
    ex.clear_chunk_store(b, CONTROLLER).unwrap();
    assert!(ex.stored_chunks(b, CONTROLLER).unwrap().is_empty());
    // settings
    ex.update_settings(b, CONTROLLER, CanisterSettings { controllers: Some(vec![CONTROLLER, a]), ..Default::default() }).unwrap();
    assert_eq!(ex.controllers(b), vec![CONTROLLER, a]);
    assert!(ex.update_settings(b, USER, CanisterSettings::default()).is_err());
    // upgrade options
    let _: (u64,) = update(&mut ex, b, "inc", ());
    let _: () = update(&mut ex, b, "set_trap_in_pre_upgrade", (true,));
    let skip = ic_executor::UpgradeOptions { skip_pre_upgrade: true, keep_wasm_memory: false };
    ex.install_code_with(b, ic_executor::InstallMode::Upgrade, skip, &fixture_wasm(), encode_one(None::<String>).unwrap(), CONTROLLER).unwrap();
    assert_eq!(state(&mut ex, b).stable, 1);
    // snapshots
    let snap = ex.take_canister_snapshot(b, CONTROLLER, None).unwrap();
    let _: (u64,) = update(&mut ex, b, "inc", ());
    ex.load_canister_snapshot(b, CONTROLLER, snap.id.clone()).unwrap();
    assert_eq!(state(&mut ex, b).stable, 1);
    assert_eq!(ex.list_canister_snapshots(b, CONTROLLER).unwrap().len(), 1);
    // a snapshot survives saving and loading the executor's state, as do chunks and history
    ex.upload_chunk(b, CONTROLLER, vec![3; 10]).unwrap();
    let (history, total) = ex.canister_history(b);
    let saved = ex.save_state().unwrap();
    let mut ex = Executor::load_state(&saved).unwrap();
    assert_eq!(ex.canister_history(b), (history, total));
    assert_eq!(ex.stored_chunks(b, CONTROLLER).unwrap().len(), 1);
    let _: (u64,) = update(&mut ex, b, "inc", ());
    ex.load_canister_snapshot(b, CONTROLLER, snap.id).unwrap();
    assert_eq!(state(&mut ex, b).stable, 1);
    // status, stop, delete
    assert_eq!(ex.canister_status(b, CONTROLLER).unwrap().status, mgmt::CanisterStatusType::Running);
    assert_eq!(ex.delete_canister(b, CONTROLLER).unwrap_err().error_code, Some(ErrorCode::CanisterNotStopped));
    ex.stop_canister(b).unwrap();
    ex.delete_canister(b, CONTROLLER).unwrap();
    assert!(!ex.canister_ids().contains(&b));
}

#[test]
fn keeping_the_wasm_memory_needs_enhanced_orthogonal_persistence() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let b = create(&mut ex, a, None, 10 * T);
    let eop = fixture_with_section("icp:private enhanced-orthogonal-persistence", b"");
    unit(call(&mut ex, a, "install_code", install_args(b, CanisterInstallMode::Install, eop.clone(), encode_args(()).unwrap()), 0));
    for _ in 0..2 {
        let _: (u64,) = update(&mut ex, b, "inc", ());
    }
    let upgrade = |persistence| {
        let flags = Some(UpgradeFlags { skip_pre_upgrade: None, wasm_memory_persistence: persistence });
        install_args(b, CanisterInstallMode::Upgrade(flags), eop.clone(), encode_one(None::<String>).unwrap())
    };
    // such a module must keep its memory
    let (code, msg) = rejected(call(&mut ex, a, "install_code", upgrade(None), 0));
    assert_eq!(code, 5);
    assert!(msg.contains("Missing upgrade option"), "{msg}");
    let (code, _) = rejected(call(&mut ex, a, "install_code", upgrade(Some(WasmMemoryPersistence::Replace)), 0));
    assert_eq!(code, 5);
    unit(call(&mut ex, a, "install_code", upgrade(Some(WasmMemoryPersistence::Keep)), 0));
    let s = state(&mut ex, b);
    assert_eq!((s.heap, s.stable, s.upgrades), (2, 2, 1), "the heap survived the upgrade, post_upgrade ran");
    assert_eq!(s.journal, vec!["init"], "heap data from before the upgrade");
}

#[test]
fn snapshots_across_canisters_and_the_refusals_on_the_way() {
    let (mut ex, ids) = setup(3);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    ex.set_controllers(b, vec![CONTROLLER, a]);
    ex.set_controllers(c, vec![CONTROLLER, a]);
    for _ in 0..4 {
        let _: (u64,) = update(&mut ex, b, "inc", ());
    }
    let snap: Snapshot = ok(call(&mut ex, a, "take_canister_snapshot", TakeCanisterSnapshotArgs { canister_id: b, replace_snapshot: None, uninstall_code: None, sender_canister_version: None }, 0));
    // b's snapshot loads onto c (same subnet, a controls both); the history names b
    unit(call(&mut ex, a, "load_canister_snapshot", LoadCanisterSnapshotArgs { canister_id: c, snapshot_id: snap.id.clone(), sender_canister_version: None }, 0));
    assert_eq!(state(&mut ex, c).stable, 4);
    match info(&mut ex, a, c).recent_changes.pop().unwrap().details {
        Some(ChangeDetails::LoadSnapshot(r)) => assert_eq!(r.from_canister_id, Some(b)),
        other => panic!("{other:?}"),
    }
    // a controller of the target only may not load another canister's snapshot
    ex.set_controllers(b, vec![CONTROLLER]);
    let (code, msg) = rejected(call(&mut ex, a, "load_canister_snapshot", LoadCanisterSnapshotArgs { canister_id: c, snapshot_id: snap.id.clone(), sender_canister_version: None }, 0));
    assert_eq!(code, 4, "{msg}");
    // an empty canister has nothing to snapshot
    let empty = create(&mut ex, a, None, T);
    let (code, msg) = rejected(call(&mut ex, a, "take_canister_snapshot", TakeCanisterSnapshotArgs { canister_id: empty, replace_snapshot: None, uninstall_code: None, sender_canister_version: None }, 0));
    assert_eq!(code, 4, "{msg}");
    // with uninstall_code the canister is empty afterwards, and the snapshot brings it back
    let s2: Snapshot = ok(call(&mut ex, a, "take_canister_snapshot", TakeCanisterSnapshotArgs { canister_id: c, replace_snapshot: None, uninstall_code: Some(true), sender_canister_version: None }, 0));
    assert_eq!(ex.module_hash(c), None);
    unit(call(&mut ex, a, "load_canister_snapshot", LoadCanisterSnapshotArgs { canister_id: c, snapshot_id: s2.id, sender_canister_version: None }, 0));
    assert_eq!(state(&mut ex, c).stable, 4);
    // a canister cannot delete itself (the replica's CanisterInvalidController)
    ex.set_controllers(a, vec![CONTROLLER, a]);
    assert_eq!(rejected(call(&mut ex, a, "delete_canister", id(a), 0)).0, 5);
}

#[test]
fn running_status_changes_bump_the_canister_version() {
    let (mut ex, ids) = setup(2);
    let (a, b) = (ids[0], ids[1]);
    ex.set_controllers(b, vec![CONTROLLER, a]);
    let v = ex.canister_version(b);
    unit(call(&mut ex, a, "stop_canister", id(b), 0));
    assert_eq!(ex.canister_version(b), v + 2, "running → stopping → stopped");
    unit(call(&mut ex, a, "start_canister", id(b), 0));
    assert_eq!(ex.canister_version(b), v + 3);
    unit(call(&mut ex, a, "start_canister", id(b), 0));
    assert_eq!(ex.canister_version(b), v + 3, "already running: no change");
}

#[test]
fn faults_on_management_methods_reach_the_caller() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let mc = Principal::management_canister();
    // the response of create_canister is lost: the canister exists (controlled by the caller,
    // funded by the cycles) but the caller sees SYS_UNKNOWN and gets nothing back
    ex.inject_fault(mc, "create_canister", ic_executor::Fault::ResponseLost);
    let before: Vec<Principal> = ex.canister_ids();
    let o = call(&mut ex, a, "create_canister", CreateCanisterArgs::default(), T);
    assert_eq!(o.refunded, 0);
    assert_eq!(rejected(o).0, 6);
    let new: Vec<Principal> = ex.canister_ids().into_iter().filter(|c| !before.contains(c)).collect();
    assert_eq!(new.len(), 1, "the canister was created although the caller never learnt its id");
    assert_eq!((ex.controllers(new[0]), ex.cycle_balance(new[0])), (vec![a], T - costs::CREATE_CANISTER_FEE));
    // a refused install_code: nothing installed, the cycles come back
    ex.clear_faults();
    ex.inject_fault(mc, "install_code", ic_executor::Fault::Reject("install refused".into()));
    let o = call(&mut ex, a, "install_code", install_args(new[0], CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap()), 5);
    assert_eq!(o.refunded, 5);
    assert_eq!(rejected(o), (4, "install refused".to_string()));
    assert_eq!(ex.module_hash(new[0]), None);
    ex.clear_faults();
    unit(call(&mut ex, a, "install_code", install_args(new[0], CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap()), 0));
}

#[test]
fn provisional_creation_and_top_up_for_users_and_canisters() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    let mc = Principal::management_canister();
    // by a user, through ingress: the user controls it, 100T by default
    let args = mgmt::ProvisionalCreateCanisterWithCyclesArgs::default();
    let r: CanisterIdRecord = candid::decode_one(&ex.update(mc, CONTROLLER, "provisional_create_canister_with_cycles", encode_one(args).unwrap()).unwrap()).unwrap();
    assert_eq!((ex.controllers(r.canister_id), ex.cycle_balance(r.canister_id)), (vec![CONTROLLER], ic_executor::DEFAULT_CYCLES));
    // by a canister, with an amount and a specified id; attached cycles come back
    let wanted = Principal::from_slice(&[0, 0, 0, 0, 0, 0x42, 0, 0, 1, 1]);
    let args = mgmt::ProvisionalCreateCanisterWithCyclesArgs { amount: Some(7u64.into()), specified_id: Some(wanted), ..Default::default() };
    let o = call(&mut ex, a, "provisional_create_canister_with_cycles", args.clone(), 9);
    assert_eq!(o.refunded, 9);
    let r: CanisterIdRecord = ok(o);
    assert_eq!((r.canister_id, ex.cycle_balance(wanted), ex.controllers(wanted)), (wanted, 7, vec![a]));
    // the id is taken now
    assert_eq!(rejected(call(&mut ex, a, "provisional_create_canister_with_cycles", args, 0)).0, 2);
    // anyone tops up any canister
    let bytes = ex.update(mc, USER, "provisional_top_up_canister", encode_one(mgmt::ProvisionalTopUpCanisterArgs { canister_id: wanted, amount: 5u64.into() }).unwrap()).unwrap();
    candid::decode_args::<()>(&bytes).unwrap();
    assert_eq!(ex.cycle_balance(wanted), 12);
}

#[test]
fn install_code_is_paid_by_the_canister_which_must_cover_the_instruction_limit_first() {
    let (mut ex, ids) = setup(1);
    let a = ids[0];
    // 100B cycles left after the creation fee: less than the 300B-instruction prepayment
    let poor = create(&mut ex, a, None, costs::CREATE_CANISTER_FEE + 100_000_000_000);
    let install = || install_args(poor, CanisterInstallMode::Install, fixture_wasm(), encode_args(()).unwrap());
    let (code, msg) = rejected(call(&mut ex, a, "install_code", install(), 0));
    assert_eq!(code, 2, "CanisterOutOfCycles is SYS_TRANSIENT: {msg}");
    assert!(msg.contains("out of cycles"), "{msg}");
    assert_eq!((ex.module_hash(poor), ex.cycle_balance(poor)), (None, 100_000_000_000), "refused: nothing installed, nothing charged");
    unit(call(&mut ex, a, "deposit_cycles", id(poor), T));
    let before = ex.cycle_balance(poor);
    unit(call(&mut ex, a, "install_code", install(), 0));
    let init = ex.executions().iter().rev().find(|e| e.canister == poor && e.kind == ic_executor::EntryKind::Init).unwrap().instructions;
    assert_eq!(before - ex.cycle_balance(poor), costs::execution_cost(init), "charged the init's instructions");
}
