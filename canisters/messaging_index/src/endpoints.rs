//! The work behind each endpoint that needs more than one line: the shard wasm upload and shard
//! creation. Each checks everything before it changes anything.

use crate::config;
use crate::hex;
use crate::creation::Creation;
use crate::external_calls;
use crate::state::ShardRecord;
use crate::storage::{read_state, with_state, with_upload};
use crate::wasm_store::{Upload, UploadError};
use candid::{Nat, Principal};
use interfaces::messaging_index::*;

/// The caller, if it is an authority.
pub fn authority() -> Result<Principal, IndexError> {
    let caller = ic_cdk::api::msg_caller();
    if crate::storage::config().authorities.contains(&caller) {
        Ok(caller)
    } else {
        Err(IndexError::NotAuthorized)
    }
}

fn upload_error(e: UploadError) -> IndexError {
    IndexError::InvalidUpload { reason: format!("{e:?}") }
}

fn progress(u: &Upload) -> UploadProgress {
    UploadProgress { sha256: u.sha256.to_vec(), announced_bytes: u.announced_bytes, received_bytes: u.bytes.len() as u64 }
}

pub fn begin_upload(sha256: &[u8], bytes: u64) -> Result<UploadProgress, IndexError> {
    authority()?;
    let sha256: [u8; 32] = sha256.try_into().map_err(|_| IndexError::InvalidArgument { name: "sha256".into(), reason: "must be 32 bytes".into() })?;
    let upload = Upload::begin(sha256, bytes).map_err(upload_error)?;
    let p = progress(&upload);
    with_upload(|u| *u = Some(upload));
    Ok(p)
}

pub fn upload_chunk(offset: u64, chunk: &[u8]) -> Result<UploadProgress, IndexError> {
    authority()?;
    with_upload(|u| {
        let upload = u.as_mut().ok_or(IndexError::NoUploadInProgress)?;
        upload.append(offset, chunk).map_err(upload_error)?;
        Ok(progress(upload))
    })
}

/// Checks the finished upload and makes it the shard wasm (audited with its hash). A module
/// that fails the check is discarded: the upload must begin again.
pub fn commit_upload() -> Result<ShardWasm, IndexError> {
    let caller = authority()?;
    let upload = with_upload(|u| u.take()).ok_or(IndexError::NoUploadInProgress)?;
    let (module, sha256) = match upload.clone().finish() {
        Ok(done) => done,
        Err(e @ UploadError::Incomplete { .. }) => {
            with_upload(|u| *u = Some(upload)); // keep it: more chunks may come
            return Err(upload_error(e));
        }
        Err(e) => return Err(upload_error(e)),
    };
    let now = ic_cdk::api::time();
    let meta = ShardWasm { sha256: sha256.to_vec(), bytes: module.len() as u64, uploaded_at_ns: now, uploaded_by: caller };
    with_state(|s| {
        s.store_wasm(&module, meta.clone());
        s.core.audit(now, caller, "shard_wasm_uploaded", &(hex(&sha256), module.len() as u64));
    });
    Ok(meta)
}


/// The install argument of a new shard: the index's authorities are the shard's authorities,
/// and users register through this index.
fn shard_install_arg(authorities: Vec<Principal>) -> Vec<u8> {
    let index = Some(ic_cdk::api::canister_self());
    let args = interfaces::messaging::InitArgs { authorities, burn_ledger: None, limits: None, usage_report_interval_seconds: None, index };
    candid::encode_one(Some(args)).expect("encoding the shard's install argument")
}

/// Creates a shard from the stored shard wasm and adds it to the shards. With the management
/// canister it lands on this index's subnet; with the CMC on `subnet` (default: the allowed
/// subnet with the fewest shards under its cap). Checks first: an authority, a shard wasm, the
/// subnet allowed by the policy and under its shard cap, vouched for by the registry when one is
/// configured, and cycles enough. Then journals, creates, installs.
pub async fn create_shard(subnet: Option<Principal>) -> Result<ShardInfo, IndexError> {
    create_shard_as(authority()?, subnet).await
}

/// [`create_shard`] for `caller` (an authority, or the index itself when registration needs a
/// shard), without the authority check.
pub async fn create_shard_as(caller: Principal, subnet: Option<Principal>) -> Result<ShardInfo, IndexError> {
    let _guard = common::guard::CallerGuard::acquire("create_shard").map_err(|_| IndexError::Busy)?;
    let config = crate::storage::config();
    let (wasm, loads, thresholds) = read_state(|s| (s.wasm(), s.loads(), s.thresholds()));
    let wasm = wasm.ok_or(IndexError::NoShardWasm)?;
    let subnet = match (config.creation, subnet) {
        (CreationPath::ManagementCanister, Some(s)) if s != ic_cdk::api::subnet_self() => {
            return Err(IndexError::SubnetNotAllowed { subnet: s, reason: "the management canister creates on this index's own subnet".into() })
        }
        (CreationPath::ManagementCanister, _) => ic_cdk::api::subnet_self(),
        (CreationPath::Cmc(_), Some(s)) => s,
        (CreationPath::Cmc(_), None) => crate::capacity::subnet_for_new_shard(&loads, &thresholds).ok_or(IndexError::NoCapacity)?,
    };
    if !config.policy.allowed_subnets.contains(&subnet) {
        return Err(IndexError::SubnetNotAllowed { subnet, reason: "not in the policy's allowed subnets".into() });
    }
    if loads.iter().filter(|l| l.subnet == subnet).count() as u32 >= config.policy.max_shards_per_subnet {
        return Err(IndexError::NoCapacity);
    }
    if let Some(registry) = config.subnet_registry {
        external_calls::registry_vouches_for(registry, subnet).await.map_err(|reason| IndexError::SubnetNotAllowed { subnet, reason })?;
    }
    let cycles = config::cycles(&config.policy.new_shard_cycles);
    let available = ic_cdk::api::canister_cycle_balance();
    if available < cycles.saturating_add(FREEZING_RESERVE) {
        return Err(IndexError::InsufficientCycles { needed: Nat::from(cycles.saturating_add(FREEZING_RESERVE)), available: Nat::from(available) });
    }
    let now = ic_cdk::api::time();
    let journal = with_state(|s| s.begin_creation(Creation::requested(subnet, cycles, now)));
    let mut controllers = vec![ic_cdk::api::canister_self()];
    controllers.extend(config.authorities.iter().copied());
    let (created, creator) = match config.creation {
        CreationPath::ManagementCanister => (external_calls::create_canister(cycles, controllers).await, Principal::management_canister()),
        CreationPath::Cmc(cmc) => (external_calls::create_canister_through_cmc(cmc, subnet, cycles, controllers).await, cmc),
    };
    with_state(|s| s.update_creation(journal, |c| c.on_created(created.clone())));
    let canister = created.map_err(|reason| IndexError::CallFailed { canister: creator, method: "create_canister".into(), reason })?;
    let installed = external_calls::install(canister, wasm, shard_install_arg(config.authorities.clone())).await;
    let now = ic_cdk::api::time();
    with_state(|s| {
        s.update_creation(journal, |c| c.on_installed(installed.clone()));
        if installed.is_ok() {
            let record = ShardRecord {
                canister,
                subnet,
                status: ShardStatus::Open,
                users: 0,
                stored_bytes: 0,
                buckets: 0,
                added_at_ns: now,
                origin: ShardOrigin::Created,
                last_reading: None,
                last_error: None,
                snapshot: None,
            };
            let id = s.add_shard(record);
            s.core.audit(now, caller, "shard_created", &(id, canister, subnet));
        }
    });
    installed.map_err(|reason| IndexError::CallFailed { canister: Principal::management_canister(), method: "install_code".into(), reason })?;
    Ok(read_state(|s| s.shard_of_canister(canister).and_then(|id| s.shard_info(id))).expect("the shard was just added"))
}

/// Cycles the index keeps for itself when it creates a shard (its own freezing threshold and
/// the calls it still has to make).
pub const FREEZING_RESERVE: u128 = 500_000_000_000;

pub fn set_shard_status(shard: u32, status: ShardStatus) -> Result<ShardInfo, IndexError> {
    let caller = authority()?;
    if matches!(status, ShardStatus::Upgrading) {
        return Err(IndexError::InvalidArgument { name: "status".into(), reason: "Upgrading is set by rollouts only".into() });
    }
    with_state(|s| {
        let before = s.shard(shard).ok_or(IndexError::InvalidArgument { name: "shard".into(), reason: format!("no shard {shard}") })?;
        if before.status != status {
            s.update_shard(shard, |r| r.status = status);
            s.core.audit(ic_cdk::api::time(), caller, "shard_status_set", &(shard, format!("{status:?}")));
        }
        Ok(s.shard_info(shard).expect("exists"))
    })
}

/// Replaces the shard policy (validated like the install argument; audited with the new configuration).
pub fn set_policy(policy: ShardPolicy) -> Result<Config, IndexError> {
    let caller = authority()?;
    config::validate_policy(&policy).map_err(|e| IndexError::InvalidArgument { name: "policy".into(), reason: e.to_string() })?;
    let current = crate::storage::config();
    let args = InitArgs { authorities: current.authorities, subnet_registry: current.subnet_registry, policy: Some(policy), creation: Some(current.creation) };
    crate::storage::with_core(|core| core.install(args, config::build_config, ic_cdk::api::time(), caller, "policy_set"))
        .map_err(|e| IndexError::InvalidArgument { name: "policy".into(), reason: e.to_string() })?;
    Ok(crate::storage::config())
}
