//! Public value types: rejects, faults, install modes, message ids.

use candid::Principal;
use std::fmt;

/// Reject codes of the IC interface specification ("Reject codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectCode {
    SysFatal = 1,
    SysTransient = 2,
    DestinationInvalid = 3,
    CanisterReject = 4,
    CanisterError = 5,
    SysUnknown = 6,
}

impl RejectCode {
    pub fn from_u32(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::SysFatal,
            2 => Self::SysTransient,
            3 => Self::DestinationInvalid,
            4 => Self::CanisterReject,
            5 => Self::CanisterError,
            6 => Self::SysUnknown,
            _ => return None,
        })
    }
}

/// The replica's finer error codes (the subset the executor produces). The first digit is
/// the reject code, as on the IC; names and numbers match `pocket_ic::ErrorCode` so tests can
/// compare (`InsufficientCyclesForCall` is the executor's own and not produced).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    CanisterIdAlreadyExists = 205,
    StopCanisterRequestTimeout = 206,
    /// A frozen canister: SYS_TRANSIENT (interface spec, `freezing_threshold`).
    CanisterOutOfCycles = 207,
    CanisterNotFound = 301,
    CanisterSnapshotNotFound = 305,
    InsufficientCyclesForCreateCanister = 403,
    CanisterRejectedMessage = 406,
    UnknownManagementMessage = 407,
    InvalidManagementPayload = 408,
    CanisterTrapped = 502,
    CanisterCalledTrap = 503,
    CanisterContractViolation = 504,
    CanisterInvalidWasm = 505,
    CanisterDidNotReply = 506,
    CanisterStopped = 508,
    CanisterStopping = 509,
    CanisterNotStopped = 510,
    CanisterStoppingCancelled = 511,
    CanisterInvalidController = 512,
    CanisterNonEmpty = 514,
    CanisterInstructionLimitExceeded = 522,
    InsufficientCyclesInMemoryGrow = 532,
    CanisterMethodNotFound = 536,
    CanisterWasmModuleNotFound = 537,
    InsufficientCyclesForCall = 204,
    DeadlineExpired = 601,
    ResponseDropped = 602,
}

#[allow(non_upper_case_globals)]
impl ErrorCode {
    /// Older name of [`ErrorCode::CanisterNotStopped`] (510).
    pub const CanisterNotRunning: ErrorCode = ErrorCode::CanisterNotStopped;
}

impl ErrorCode {
    pub fn reject_code(self) -> RejectCode {
        RejectCode::from_u32(self as u32 / 100).unwrap_or(RejectCode::CanisterError)
    }
}

/// A reject as seen by the sender: code, message and (for the test's benefit) the error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub code: RejectCode,
    pub message: String,
    /// `None` for explicit `msg_reject` by a canister whose message is passed through.
    pub error_code: Option<ErrorCode>,
}

impl Reject {
    pub fn new(error_code: ErrorCode, message: impl Into<String>) -> Self {
        Reject { code: error_code.reject_code(), message: message.into(), error_code: Some(error_code) }
    }
    /// `msg_reject` by a canister: code CANISTER_REJECT, message passed through verbatim.
    pub fn canister_reject(message: impl Into<String>) -> Self {
        Reject { code: RejectCode::CanisterReject, message: message.into(), error_code: Some(ErrorCode::CanisterRejectedMessage) }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reject {:?} ({}): {}", self.code, self.code as u32, self.message)?;
        if let Some(e) = self.error_code {
            write!(f, " [{e:?}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Reject {}

/// What an injected fault does to requests for (canister, method).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The method is not run; the caller gets CANISTER_REJECT with this message.
    Reject(String),
    /// The method is not run; the caller gets CANISTER_ERROR as if it called `ic0.trap(msg)`.
    Trap(String),
    /// The method is not run; the caller gets the reject of a stopped canister.
    Stopped,
    /// The request is dropped unexecuted; the caller gets SYS_UNKNOWN (a timeout).
    Timeout,
    /// The method runs and its effects persist, but the response is lost: the caller gets
    /// SYS_UNKNOWN. This is what a best-effort call may see on the IC.
    ResponseLost,
}

/// `install_code` modes (IC management canister).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    Install,
    Reinstall,
    Upgrade,
}

/// Id of an ingress message submitted through the step-wise API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// Result of one ingress message plus the instruction counts it caused.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    pub result: Result<Vec<u8>, Reject>,
    /// Instructions of the first message (the entry point) on the target canister.
    pub instructions: u64,
    /// Instructions of every message of the ingress' call context (entry + callbacks).
    pub call_context_instructions: u64,
    /// Instructions of every message the ingress caused, on all canisters (the call tree).
    pub tree_instructions: u64,
}

/// Canister run status (`canister_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanisterStatus {
    Running,
    Stopping,
    Stopped,
}

/// The management canister's principal.
pub fn management_canister() -> Principal {
    Principal::management_canister()
}

/// Options of `install_code` in mode `upgrade` (interface spec, "IC method install_code").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpgradeOptions {
    /// Do not run `canister_pre_upgrade` on the old instance.
    pub skip_pre_upgrade: bool,
    /// `wasm_memory_persistence = opt keep`: the new instance starts with the old heap (only for
    /// modules with enhanced orthogonal persistence, as on the IC).
    pub keep_wasm_memory: bool,
}
