//! The management canister (`aaaaa-aa`): decodes a call's Candid argument (the types of
//! ic-management-canister-types 0.8, which ic-cdk 0.20 canisters encode), runs the typed
//! operation of `lifecycle.rs` / `executor.rs`, and encodes the reply. Every method cites the
//! section of the interface specification ("The IC management canister") it follows. Methods
//! not listed are rejected naming themselves.

use crate::canister::Origin;
use crate::executor::Executor;
use crate::lifecycle::{install_mode, ChangeBy};
use crate::types::{ErrorCode, Reject};
use candid::utils::ArgumentEncoder;
use candid::{CandidType, Principal};
use ic_management_canister_types as mgmt;
use serde::de::DeserializeOwned;

/// What a call to the management canister produced.
pub(crate) enum Outcome {
    /// The reply and the cycles returned to the caller.
    Reply(Vec<u8>, u128),
    /// Rejected; every attached cycle is returned.
    Reject(Reject),
    /// Answered later (`stop_canister` waits for the canister to stop).
    Deferred,
}

fn decode<T: DeserializeOwned + CandidType>(method: &str, arg: &[u8]) -> Result<T, Reject> {
    candid::decode_one(arg)
        .map_err(|e| Reject::new(ErrorCode::InvalidManagementPayload, format!("Error decoding candid of the argument to {method}: {e}")))
}

fn encode<T: ArgumentEncoder>(v: T) -> Vec<u8> {
    candid::encode_args(v).expect("encoding a management canister reply")
}

fn canisters_only(method: &str) -> Reject {
    Reject::new(ErrorCode::CanisterRejectedMessage, format!("Only canisters can call ic00 method {method}"))
}

pub(crate) fn handle(ex: &mut Executor, origin: &Origin, caller: Principal, method: &str, arg: &[u8], cycles: u128, tree: u64) -> Outcome {
    match dispatch(ex, origin, caller, method, arg, cycles, tree) {
        Ok(Some((bytes, refund))) => Outcome::Reply(bytes, refund),
        Ok(None) => Outcome::Deferred,
        Err(r) => Outcome::Reject(r),
    }
}

/// A query call to the management canister: only `canister_status` ("IC method
/// canister_status": "can also be called by external users via non-replicated (query) calls").
pub(crate) fn query(ex: &Executor, caller: Principal, method: &str, arg: &[u8]) -> Result<Vec<u8>, Reject> {
    match method {
        "canister_status" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            Ok(encode((ex.canister_status(args.canister_id, caller)?,)))
        }
        other => Err(Reject::new(ErrorCode::CanisterMethodNotFound, format!("Management canister has no query method '{other}'"))),
    }
}

/// `Ok(Some((reply, refund)))`, `Ok(None)` when deferred.
#[allow(clippy::type_complexity)]
fn dispatch(ex: &mut Executor, origin: &Origin, caller: Principal, method: &str, arg: &[u8], cycles: u128, tree: u64) -> Result<Option<(Vec<u8>, u128)>, Reject> {
    let from_canister = matches!(origin, Origin::Canister { .. });
    // Who the canister history names: a canister (with the version it sent) or a user.
    let by = |version: Option<u64>| if from_canister { ChangeBy::canister(caller, version) } else { ChangeBy::user(caller) };
    let done = |bytes: Vec<u8>| Ok(Some((bytes, cycles)));
    match method {
        // "IC method raw_rand": canisters only; 32 bytes (deterministic here).
        "raw_rand" => {
            candid::decode_args::<()>(arg).map_err(|e| Reject::new(ErrorCode::InvalidManagementPayload, format!("raw_rand takes no argument: {e}")))?;
            if !from_canister {
                return Err(canisters_only(method));
            }
            let bytes = ex.random_bytes(32);
            // `blob` and `vec nat8` are the same Candid type.
            done(encode((bytes,)))
        }
        // "IC method create_canister": canisters only; the attached cycles less the creation fee
        // become the new canister's balance; controllers default to the caller.
        "create_canister" => {
            let args: mgmt::CreateCanisterArgs = decode(method, arg)?;
            if !from_canister {
                return Err(canisters_only(method));
            }
            let id = ex.create_canister_by(&by(args.sender_canister_version), args.settings, cycles)?;
            Ok(Some((encode((mgmt::CanisterIdRecord { canister_id: id },)), 0)))
        }
        // "IC method provisional_create_canister_with_cycles" (development instances): anyone;
        // `amount` fresh cycles; attached cycles are returned.
        "provisional_create_canister_with_cycles" => {
            let args: mgmt::ProvisionalCreateCanisterWithCyclesArgs = decode(method, arg)?;
            let id = ex.provisional_create_by(&by(args.sender_canister_version), args)?;
            done(encode((mgmt::CanisterIdRecord { canister_id: id },)))
        }
        // "IC method provisional_top_up_canister" (development instances): anyone, any canister.
        "provisional_top_up_canister" => {
            let args: mgmt::ProvisionalTopUpCanisterArgs = decode(method, arg)?;
            let amount = u128::try_from(&args.amount.0)
                .map_err(|_| Reject::new(ErrorCode::InvalidManagementPayload, format!("amount {} is too large", args.amount)))?;
            ex.deposit_cycles(args.canister_id, amount)?;
            done(encode(()))
        }
        // "IC method update_settings": controllers only; absent settings unchanged.
        "update_settings" => {
            let args: mgmt::UpdateSettingsArgs = decode(method, arg)?;
            ex.update_settings_by(args.canister_id, &by(args.sender_canister_version), args.settings)?;
            done(encode(()))
        }
        // "IC method upload_chunk": controllers or the canister itself; ≤ 1 MiB; the hash back.
        "upload_chunk" => {
            let args: mgmt::UploadChunkArgs = decode(method, arg)?;
            let hash = ex.upload_chunk(args.canister_id, caller, args.chunk)?;
            done(encode((mgmt::ChunkHash { hash: hash.to_vec() },)))
        }
        // "IC method stored_chunks".
        "stored_chunks" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            let hashes: Vec<mgmt::ChunkHash> = ex.stored_chunks(args.canister_id, caller)?.into_iter().map(|h| mgmt::ChunkHash { hash: h.to_vec() }).collect();
            done(encode((hashes,)))
        }
        // "IC method clear_chunk_store".
        "clear_chunk_store" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            ex.clear_chunk_store(args.canister_id, caller)?;
            done(encode(()))
        }
        // "IC method install_code": controllers only; install / reinstall / upgrade (with
        // skip_pre_upgrade and wasm_memory_persistence); gzipped modules; atomic.
        "install_code" => {
            let args: mgmt::InstallCodeArgs = decode(method, arg)?;
            let (mode, options) = install_mode(&args.mode);
            ex.install_code_by(args.canister_id, mode, options, &args.wasm_module, args.arg, &by(args.sender_canister_version))?;
            done(encode(()))
        }
        // "IC method install_chunked_code": chunks from the target's or another canister's store,
        // SHA-256 checked against wasm_module_hash, then as install_code.
        "install_chunked_code" => {
            let args: mgmt::InstallChunkedCodeArgs = decode(method, arg)?;
            let b = by(args.sender_canister_version);
            ex.install_chunked_code_by(&b, args)?;
            done(encode(()))
        }
        // "IC method uninstall_code": controllers only.
        "uninstall_code" => {
            let args: mgmt::UninstallCodeArgs = decode(method, arg)?;
            ex.controlled_by(args.canister_id, caller)?;
            ex.uninstall_by(args.canister_id, &by(args.sender_canister_version));
            done(encode(()))
        }
        // "IC method stop_canister": controllers only; Stopping at once, the reply when Stopped.
        "stop_canister" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            ex.controlled_by(args.canister_id, caller)?;
            ex.stop_from_call(args.canister_id, origin.clone(), tree, cycles);
            Ok(None)
        }
        // "IC method start_canister": controllers only; waiting stop calls are rejected.
        "start_canister" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            ex.controlled_by(args.canister_id, caller)?;
            ex.start_canister(args.canister_id);
            done(encode(()))
        }
        // "IC method canister_status": controllers or the canister itself.
        "canister_status" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            let status = ex.canister_status(args.canister_id, caller)?;
            done(encode((status,)))
        }
        // "IC method canister_info": canisters only, about any canister.
        "canister_info" => {
            let args: mgmt::CanisterInfoArgs = decode(method, arg)?;
            if !from_canister {
                return Err(canisters_only(method));
            }
            let info = ex.canister_info(args.canister_id, args.num_requested_changes)?;
            done(encode((info,)))
        }
        // "IC method delete_canister": controllers only; the canister must be stopped.
        "delete_canister" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            ex.delete_canister(args.canister_id, caller)?;
            done(encode(()))
        }
        // "IC method deposit_cycles": canisters only; every attached cycle goes to the target.
        "deposit_cycles" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            if !from_canister {
                return Err(canisters_only(method));
            }
            ex.deposit_cycles(args.canister_id, cycles)?;
            Ok(Some((encode(()), 0)))
        }
        // "IC method take_canister_snapshot": controllers only.
        "take_canister_snapshot" => {
            let args: mgmt::TakeCanisterSnapshotArgs = decode(method, arg)?;
            let snap = ex.take_snapshot_by(args.canister_id, &by(args.sender_canister_version), args.replace_snapshot, args.uninstall_code.unwrap_or(false))?;
            done(encode((snap,)))
        }
        // "IC method load_canister_snapshot": controllers of the target and of the snapshot's canister.
        "load_canister_snapshot" => {
            let args: mgmt::LoadCanisterSnapshotArgs = decode(method, arg)?;
            ex.load_snapshot_by(args.canister_id, &by(args.sender_canister_version), args.snapshot_id)?;
            done(encode(()))
        }
        // "IC method list_canister_snapshots": as snapshot_visibility allows.
        "list_canister_snapshots" => {
            let args: mgmt::CanisterIdRecord = decode(method, arg)?;
            let list = ex.list_canister_snapshots(args.canister_id, caller)?;
            done(encode((list,)))
        }
        // "IC method delete_canister_snapshot": controllers only.
        "delete_canister_snapshot" => {
            let args: mgmt::DeleteCanisterSnapshotArgs = decode(method, arg)?;
            ex.delete_canister_snapshot(args.canister_id, caller, args.snapshot_id)?;
            done(encode(()))
        }
        other => Err(Reject::new(
            ErrorCode::CanisterMethodNotFound,
            format!("ic_executor: management canister method `{other}` is not implemented"),
        )),
    }
}
