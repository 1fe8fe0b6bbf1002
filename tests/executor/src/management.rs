//! The management canister (`aaaaa-aa`) methods that canisters call: `raw_rand`,
//! `canister_status` and `canister_info`. Anything else is rejected with a message naming the method.

use crate::executor::Executor;
use crate::types::{CanisterStatus, ErrorCode, Reject};
use candid::{CandidType, Deserialize, Nat, Principal};
use ic_management_canister_types::{CanisterInfoArgs, CanisterInfoResult};

#[derive(CandidType, Deserialize)]
struct CanisterIdRecord {
    canister_id: Principal,
}

#[derive(CandidType)]
#[allow(non_camel_case_types)]
enum Status {
    running,
    stopping,
    stopped,
}

#[derive(CandidType)]
#[allow(non_camel_case_types)]
enum LogVisibility {
    controllers,
}

#[derive(CandidType)]
struct EnvironmentVariable {
    name: String,
    value: String,
}

#[derive(CandidType)]
struct DefiniteCanisterSettings {
    controllers: Vec<Principal>,
    compute_allocation: Nat,
    memory_allocation: Nat,
    freezing_threshold: Nat,
    reserved_cycles_limit: Nat,
    log_visibility: LogVisibility,
    log_memory_limit: Nat,
    snapshot_visibility: LogVisibility,
    wasm_memory_limit: Nat,
    wasm_memory_threshold: Nat,
    environment_variables: Vec<EnvironmentVariable>,
}

#[derive(CandidType)]
struct MemoryMetrics {
    wasm_memory_size: Nat,
    stable_memory_size: Nat,
    global_memory_size: Nat,
    wasm_binary_size: Nat,
    custom_sections_size: Nat,
    canister_history_size: Nat,
    wasm_chunk_store_size: Nat,
    snapshots_size: Nat,
    log_memory_store_size: Nat,
}

#[derive(CandidType)]
struct QueryStats {
    num_calls_total: Nat,
    num_instructions_total: Nat,
    request_payload_bytes_total: Nat,
    response_payload_bytes_total: Nat,
}

/// `canister_status_result` as in ic-management-canister-types 0.8 (a superset is harmless:
/// extra record fields are ignored by the decoder; a missing one would fail it).
#[derive(CandidType)]
struct CanisterStatusResult {
    status: Status,
    ready_for_migration: bool,
    version: u64,
    settings: DefiniteCanisterSettings,
    module_hash: Option<Vec<u8>>,
    memory_size: Nat,
    memory_metrics: MemoryMetrics,
    cycles: Nat,
    reserved_cycles: Nat,
    idle_cycles_burned_per_day: Nat,
    query_stats: QueryStats,
}

fn n(v: impl Into<u128>) -> Nat {
    Nat::from(v.into())
}

pub(crate) fn handle(ex: &mut Executor, caller: Principal, method: &str, arg: &[u8]) -> Result<Vec<u8>, Reject> {
    let bad = |e: candid::Error| Reject::new(ErrorCode::CanisterContractViolation, format!("management canister: bad argument to {method}: {e}"));
    match method {
        "raw_rand" => {
            candid::decode_args::<()>(arg).map_err(bad)?;
            let bytes = ex.random_bytes(32);
            // `blob` and `vec nat8` are the same Candid type.
            Ok(candid::encode_one(bytes).expect("encode raw_rand"))
        }
        // Spec: any canister may ask about any canister; users cannot (ingress is refused).
        "canister_info" => {
            // The executor keeps no canister history: `recent_changes` is empty, `total_num_changes` 0.
            let (args,): (CanisterInfoArgs,) = candid::decode_args(arg).map_err(bad)?;
            if ex.canister_opt(caller).is_none() {
                return Err(Reject::new(ErrorCode::CanisterContractViolation, "canister_info can only be called by canisters".to_string()));
            }
            let id = args.canister_id;
            let Some(c) = ex.canister_opt(id) else {
                return Err(Reject::new(ErrorCode::CanisterNotFound, format!("Canister {id} not found")));
            };
            let result = CanisterInfoResult {
                total_num_changes: 0,
                recent_changes: Vec::new(),
                module_hash: c.runtime.as_ref().map(|r| r.module.hash.to_vec()),
                controllers: c.sys.controllers.clone(),
            };
            Ok(candid::encode_one(result).expect("encode canister_info"))
        }
        "canister_status" => {
            let (rec,): (CanisterIdRecord,) = candid::decode_args(arg).map_err(bad)?;
            let id = rec.canister_id;
            let Some(c) = ex.canister_opt(id) else {
                return Err(Reject::new(ErrorCode::CanisterNotFound, format!("Canister {id} not found")));
            };
            if !c.sys.controllers.contains(&caller) {
                return Err(Reject::new(
                    ErrorCode::CanisterInvalidController,
                    format!("Only the controllers of the canister {id} can control it."),
                ));
            }
            let heap = c.runtime.as_ref().map_or(0, |r| r.heap_size()) as u128;
            let stable = c.sys.stable.size_bytes() as u128;
            let result = CanisterStatusResult {
                status: match c.sys.status.unwrap_or(CanisterStatus::Running) {
                    CanisterStatus::Running => Status::running,
                    CanisterStatus::Stopping => Status::stopping,
                    CanisterStatus::Stopped => Status::stopped,
                },
                ready_for_migration: false,
                version: c.sys.version,
                settings: DefiniteCanisterSettings {
                    controllers: c.sys.controllers.clone(),
                    compute_allocation: n(0u8),
                    memory_allocation: n(0u8),
                    freezing_threshold: n(c.sys.freezing_threshold_seconds),
                    reserved_cycles_limit: n(5_000_000_000_000u64),
                    log_visibility: LogVisibility::controllers,
                    log_memory_limit: n(0u8),
                    snapshot_visibility: LogVisibility::controllers,
                    wasm_memory_limit: n(3u64 << 30),
                    wasm_memory_threshold: n(0u8),
                    environment_variables: c
                        .sys
                        .env_vars
                        .iter()
                        .map(|(name, value)| EnvironmentVariable { name: name.clone(), value: value.clone() })
                        .collect(),
                },
                module_hash: c.runtime.as_ref().map(|r| r.module.hash.to_vec()),
                memory_size: n(heap + stable),
                memory_metrics: MemoryMetrics {
                    wasm_memory_size: n(heap),
                    stable_memory_size: n(stable),
                    global_memory_size: n(0u8),
                    wasm_binary_size: n(0u8),
                    custom_sections_size: n(0u8),
                    canister_history_size: n(0u8),
                    wasm_chunk_store_size: n(0u8),
                    snapshots_size: n(0u8),
                    log_memory_store_size: n(0u8),
                },
                cycles: n(c.sys.cycles),
                reserved_cycles: n(0u8),
                idle_cycles_burned_per_day: n(0u8),
                query_stats: QueryStats {
                    num_calls_total: n(0u8),
                    num_instructions_total: n(0u8),
                    request_payload_bytes_total: n(0u8),
                    response_payload_bytes_total: n(0u8),
                },
            };
            Ok(candid::encode_one(result).expect("encode canister_status"))
        }
        other => Err(Reject::new(
            ErrorCode::CanisterMethodNotFound,
            format!("ic_executor: management canister method `{other}` is not implemented"),
        )),
    }
}
