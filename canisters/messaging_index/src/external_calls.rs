//! The index's calls to other canisters. Calls that create canisters or attach cycles wait
//! unboundedly (a bounded-wait call that times out may lose the cycles and the new canister's
//! id: IC interface specification, "Ordinary and best-effort calls" / ic-cdk `Call::unbounded_wait`).

use candid::Principal;
use ic_cdk::call::Call;
use ic_management_canister_types::{CanisterIdRecord, CanisterInstallMode, CanisterSettings, CreateCanisterArgs, InstallCodeArgs};
use interfaces::subnet_registry::{ComplianceReport, RegistryError, SubnetStatus};

const IC: Principal = Principal::management_canister();

/// `create_canister` with `cycles` attached (they become the new canister's balance, less the
/// creation fee) and these controllers. Spec: "IC method create_canister".
pub async fn create_canister(cycles: u128, controllers: Vec<Principal>) -> Result<Principal, String> {
    let args = CreateCanisterArgs {
        settings: Some(CanisterSettings { controllers: Some(controllers), ..Default::default() }),
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    let reply = Call::unbounded_wait(IC, "create_canister").with_arg(&args).with_cycles(cycles).await.map_err(|e| e.to_string())?;
    let record: CanisterIdRecord = reply.candid().map_err(|e| format!("decoding the reply: {e}"))?;
    Ok(record.canister_id)
}

/// `install_code` in mode install (the module may be gzipped). Spec: "IC method install_code".
pub async fn install(canister_id: Principal, wasm_module: Vec<u8>, arg: Vec<u8>) -> Result<(), String> {
    let args = InstallCodeArgs {
        mode: CanisterInstallMode::Install,
        canister_id,
        wasm_module,
        arg,
        sender_canister_version: Some(ic_cdk::api::canister_version()),
    };
    Call::unbounded_wait(IC, "install_code").with_arg(&args).await.map(drop).map_err(|e| e.to_string())
}

/// Whether `registry` vouches for `subnet`: its compliance report says Live and compliant.
pub async fn registry_vouches_for(registry: Principal, subnet: Principal) -> Result<(), String> {
    let reply = Call::bounded_wait(registry, "compliance_report").with_arg(subnet).await.map_err(|e| format!("subnet_registry {registry}: {e}"))?;
    let report: Result<ComplianceReport, RegistryError> = reply.candid().map_err(|e| format!("subnet_registry {registry}: decoding: {e}"))?;
    match report {
        Ok(r) if r.status == SubnetStatus::Live && r.compliant => Ok(()),
        Ok(r) => Err(format!("subnet_registry reports it {:?}, {}", r.status, if r.compliant { "compliant" } else { "not compliant" })),
        Err(e) => Err(format!("subnet_registry: {e:?}")),
    }
}

/// One rollout step on a shard through the management canister (spec: "IC method stop_canister",
/// "start_canister", "take_canister_snapshot", "load_canister_snapshot", "canister_status",
/// "install_code"). Unbounded waits: each step's outcome must be known before the next.
/// `replace` is the shard's snapshot from the last rollout, replaced by the new one.
pub async fn rollout_step(canister: Principal, call: &crate::rollout::Call, wasm: &[u8], replace: Option<Vec<u8>>) -> crate::rollout::Outcome {
    use crate::rollout::{Call as Step, Outcome};
    use ic_management_canister_types::{CanisterIdRecord as Id, LoadCanisterSnapshotArgs, Snapshot, TakeCanisterSnapshotArgs};
    let id = Id { canister_id: canister };
    let version = Some(ic_cdk::api::canister_version());
    let result: Result<Outcome, String> = async {
        Ok(match call {
            Step::Stop => Call::unbounded_wait(IC, "stop_canister").with_arg(&id).await.map(|_| Outcome::Ok).map_err(|e| e.to_string())?,
            Step::Start => Call::unbounded_wait(IC, "start_canister").with_arg(&id).await.map(|_| Outcome::Ok).map_err(|e| e.to_string())?,
            Step::TakeSnapshot => {
                let args = TakeCanisterSnapshotArgs { canister_id: canister, replace_snapshot: replace, uninstall_code: None, sender_canister_version: version };
                let reply = Call::unbounded_wait(IC, "take_canister_snapshot").with_arg(&args).await.map_err(|e| e.to_string())?;
                let snapshot: Snapshot = reply.candid().map_err(|e| format!("decoding the snapshot: {e}"))?;
                Outcome::Snapshot(snapshot.id)
            }
            Step::LoadSnapshot(snapshot_id) => {
                let args = LoadCanisterSnapshotArgs { canister_id: canister, snapshot_id: snapshot_id.clone(), sender_canister_version: version };
                Call::unbounded_wait(IC, "load_canister_snapshot").with_arg(&args).await.map(|_| Outcome::Ok).map_err(|e| e.to_string())?
            }
            Step::Status => {
                let reply = Call::unbounded_wait(IC, "canister_status").with_arg(&id).await.map_err(|e| e.to_string())?;
                let status: ModuleHashOnly = reply.candid().map_err(|e| format!("decoding the status: {e}"))?;
                Outcome::ModuleHash(status.module_hash)
            }
            Step::Upgrade => {
                let args = InstallCodeArgs {
                    mode: CanisterInstallMode::Upgrade(None),
                    canister_id: canister,
                    wasm_module: wasm.to_vec(),
                    arg: candid::encode_one(None::<()>).expect("encoding null"),
                    sender_canister_version: version,
                };
                Call::unbounded_wait(IC, "install_code").with_arg(&args).await.map(|_| Outcome::Ok).map_err(|e| e.to_string())?
            }
        })
    }
    .await;
    result.unwrap_or_else(Outcome::Failed)
}

/// The one field of `canister_status` a rollout reads (Candid records decode into a subset of
/// their fields).
#[derive(candid::CandidType, candid::Deserialize)]
struct ModuleHashOnly {
    module_hash: Option<Vec<u8>>,
}

/// What the index learns of a shard: from the IC (`canister_status`: cycles, running; the index
/// is a controller) and, when it runs, from the shard itself (`metrics`).
pub struct ShardFacts {
    pub cycles: candid::Nat,
    pub running: bool,
    pub metrics: Result<interfaces::messaging::MessagingMetrics, String>,
}

/// Reads a shard. Read-only calls, so bounded waits: a timeout only means no reading this time.
/// Fails only when `canister_status` does; a stopped or frozen shard still gives its cycles.
pub async fn read_shard(canister: Principal) -> Result<ShardFacts, String> {
    let status: StatusAndCycles = Call::bounded_wait(IC, "canister_status")
        .with_arg(&ic_management_canister_types::CanisterIdRecord { canister_id: canister })
        .await
        .map_err(|e| format!("canister_status: {e}"))?
        .candid()
        .map_err(|e| format!("canister_status: decoding: {e}"))?;
    let running = matches!(status.status, RunStatus::Running);
    let metrics = if running {
        match Call::bounded_wait(canister, "metrics").await {
            Ok(reply) => reply.candid().map_err(|e| format!("metrics: decoding: {e}")),
            Err(e) => Err(format!("metrics: {e}")),
        }
    } else {
        Err("the shard is not running".into())
    };
    Ok(ShardFacts { cycles: status.cycles, running, metrics })
}

/// `deposit_cycles` of `cycles` to `canister` (spec: "IC method deposit_cycles"); unbounded
/// wait, since cycles are attached.
pub async fn deposit_cycles(canister: Principal, cycles: u128) -> Result<(), String> {
    Call::unbounded_wait(IC, "deposit_cycles")
        .with_arg(&ic_management_canister_types::CanisterIdRecord { canister_id: canister })
        .with_cycles(cycles)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The fields of `canister_status` the readings use.
#[derive(candid::CandidType, candid::Deserialize)]
struct StatusAndCycles {
    status: RunStatus,
    cycles: candid::Nat,
}

#[derive(candid::CandidType, candid::Deserialize)]
enum RunStatus {
    #[serde(rename = "running")]
    Running,
    #[serde(rename = "stopping")]
    Stopping,
    #[serde(rename = "stopped")]
    Stopped,
}

/// The CMC's `create_canister` with a subnet selection (rs/nns/cmc/cmc.did): the cycles attached
/// pay for the canister; a refusal returns them (`Refunded`). Unbounded wait, as cycles are attached.
pub async fn create_canister_through_cmc(cmc: Principal, subnet: Principal, cycles: u128, controllers: Vec<Principal>) -> Result<Principal, String> {
    let arg = cmc_types::CreateCanisterArg {
        settings: Some(CanisterSettings { controllers: Some(controllers), ..Default::default() }),
        subnet_type: None,
        subnet_selection: Some(cmc_types::SubnetSelection::Subnet(cmc_types::SubnetRecord { subnet })),
    };
    let reply = Call::unbounded_wait(cmc, "create_canister").with_arg(&arg).with_cycles(cycles).await.map_err(|e| e.to_string())?;
    match reply.candid::<cmc_types::CreateCanisterResult>().map_err(|e| format!("decoding the CMC's reply: {e}"))? {
        cmc_types::CreateCanisterResult::Ok(id) => Ok(id),
        cmc_types::CreateCanisterResult::Err(cmc_types::CreateCanisterError::Refunded { refund_amount, create_error }) => {
            Err(format!("refused ({refund_amount} cycles refunded): {create_error}"))
        }
    }
}

/// The CMC's types for `create_canister`, as rs/nns/cmc/cmc.did declares them.
mod cmc_types {
    use candid::{CandidType, Deserialize, Nat, Principal};
    use ic_management_canister_types::CanisterSettings;

    #[derive(CandidType, Deserialize)]
    pub struct SubnetRecord {
        pub subnet: Principal,
    }

    #[derive(CandidType, Deserialize)]
    pub struct SubnetFilter {
        pub subnet_type: Option<String>,
    }

    #[derive(CandidType, Deserialize)]
    #[allow(dead_code)] // Filter is part of the interface; the index always names its subnet.
    pub enum SubnetSelection {
        Subnet(SubnetRecord),
        Filter(SubnetFilter),
    }

    #[derive(CandidType, Deserialize)]
    pub struct CreateCanisterArg {
        pub settings: Option<CanisterSettings>,
        pub subnet_type: Option<String>,
        pub subnet_selection: Option<SubnetSelection>,
    }

    #[derive(CandidType, Deserialize)]
    pub enum CreateCanisterError {
        Refunded { refund_amount: Nat, create_error: String },
    }

    #[derive(CandidType, Deserialize)]
    pub enum CreateCanisterResult {
        Ok(Principal),
        Err(CreateCanisterError),
    }
}

/// How a call to a shard ended, as registration needs to tell it apart.
pub enum ShardAnswer<T> {
    Replied(T),
    /// The shard did not take the call (stopped, missing, rejected it): nothing happened there.
    Refused(String),
    /// The outcome is unknown (a bounded wait timed out): the call may or may not have run.
    Unknown(String),
}

/// `register_from_index(user, args)` on the home shard. A bounded wait, so a stuck shard cannot
/// hold the index back from an upgrade; an unknown outcome is resolved later by asking the shard.
/// The shard's handler makes no calls of its own, so every reject but SysUnknown (a stopped or
/// missing shard, a trap: its changes rolled back) means the user was not created.
pub async fn register_on_shard(
    shard: Principal,
    user: Principal,
    args: &interfaces::messaging::RegisterArgs,
) -> ShardAnswer<Result<interfaces::messaging::UserView, interfaces::messaging::MessagingError>> {
    use ic_cdk::call::{CallFailed, RejectCode};
    match Call::bounded_wait(shard, "register_from_index").with_args(&(user, args)).await {
        Ok(reply) => match reply.candid() {
            Ok(result) => ShardAnswer::Replied(result),
            Err(e) => ShardAnswer::Unknown(format!("decoding the shard's reply: {e}")),
        },
        Err(CallFailed::CallRejected(r)) if r.reject_code() == Ok(RejectCode::SysUnknown) => ShardAnswer::Unknown(r.to_string()),
        Err(e) => ShardAnswer::Refused(e.to_string()),
    }
}

/// The shard's `get_user(user)`: whether the user exists there (resolving an unknown outcome).
pub async fn user_on_shard(shard: Principal, user: Principal) -> Result<Option<interfaces::messaging::UserView>, String> {
    Call::bounded_wait(shard, "get_user").with_arg(user).await.map_err(|e| e.to_string())?.candid().map_err(|e| e.to_string())
}
