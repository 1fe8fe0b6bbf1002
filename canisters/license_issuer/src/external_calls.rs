//! Every outgoing inter-canister call of `license_issuer`, typed with the callee's interface
//! types; callee ids come from the configuration.

use crate::registration::{CallFailure, CanisterFacts, Management, Registry};
use candid::Principal;
use ic_cdk::call::{Call, CallFailed, RejectCode};
use ic_management_canister_types::{CanisterInfoArgs, CanisterInfoResult};
use interfaces::subnet_registry::{Placement, RegistryError};

/// The subnet registry at `config.subnet_registry`.
pub struct SubnetRegistry {
    pub id: Principal,
}

/// Seconds a registry call may take before it ends in SysUnknown.
const TIMEOUT_SECONDS: u32 = 60;

fn failure(e: CallFailed) -> CallFailure {
    match e {
        CallFailed::CallRejected(r) if r.reject_code() == Ok(RejectCode::SysUnknown) => {
            CallFailure::Unknown { reject_code: r.raw_reject_code(), message: r.reject_message().to_string() }
        }
        CallFailed::CallRejected(r) => {
            CallFailure::Rejected { reject_code: r.raw_reject_code(), message: r.reject_message().to_string() }
        }
        // Not sent at all: nothing can have happened at the registry.
        other => CallFailure::Rejected { reject_code: 0, message: other.to_string() },
    }
}

fn undecodable(e: impl std::fmt::Display) -> CallFailure {
    CallFailure::Unknown { reject_code: 0, message: format!("undecodable reply: {e}") }
}

impl Registry for SubnetRegistry {
    /// `record_placement : (principal, principal) -> (variant { Ok : Placement; Err : RegistryError })`.
    async fn record_placement(
        &self,
        canister: Principal,
        subnet_id: Principal,
    ) -> Result<Result<Placement, RegistryError>, CallFailure> {
        let reply = Call::bounded_wait(self.id, "record_placement")
            .with_args(&(canister, subnet_id))
            .change_timeout(TIMEOUT_SECONDS)
            .await
            .map_err(failure)?;
        reply.candid::<Result<Placement, RegistryError>>().map_err(undecodable)
    }

    /// `placement_of : (principal) -> (opt Placement) query`.
    async fn placement_of(&self, canister: Principal) -> Result<Option<Placement>, CallFailure> {
        let reply = Call::bounded_wait(self.id, "placement_of")
            .with_arg(canister)
            .change_timeout(TIMEOUT_SECONDS)
            .await
            .map_err(failure)?;
        reply.candid::<Option<Placement>>().map_err(undecodable)
    }
}

/// The management canister (`aaaaa-aa`), asked about an app's controllers.
pub struct ManagementCanister;

impl Management for ManagementCanister {
    /// `canister_info : (canister_info_args) -> (canister_info_result)`: any canister may ask.
    async fn canister_info(&self, canister: Principal) -> Result<CanisterFacts, CallFailure> {
        let args = CanisterInfoArgs { canister_id: canister, num_requested_changes: None };
        let reply = Call::bounded_wait(Principal::management_canister(), "canister_info")
            .with_arg(&args)
            .change_timeout(TIMEOUT_SECONDS)
            .await
            .map_err(failure)?;
        let info: CanisterInfoResult = reply.candid().map_err(undecodable)?;
        Ok(CanisterFacts { controllers: info.controllers, module_hash: info.module_hash })
    }
}

/// Starts (or restarts, after an upgrade) usage reporting when a burn ledger is configured.
pub fn start_usage_reports(config: &interfaces::license_issuer::Config) {
    common::usage_reporter::start_if_configured(
        crate::storage::mem(crate::storage::USAGE_REPORTER_MEM),
        config.burn_ledger,
        config.usage_report_interval_seconds,
    );
}
