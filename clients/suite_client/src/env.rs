//! The backend-neutral test environment.

use candid::Principal;
use ic_executor::{Executor, Fault, RejectCode};
use std::fmt;
use std::time::Duration;

/// Controller of every canister an `Env` creates (and the sender of install/upgrade).
pub const TEST_CONTROLLER: Principal = Principal::from_slice(&[0x7e, 0x57, 0xc0, 0x17, 0x01]);

/// A reject as both backends report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub code: RejectCode,
    pub message: String,
    /// The replica's error code name (`CanisterCalledTrap`, `CanisterRejectedMessage`, ...);
    /// empty when the backend gave none.
    pub error_code: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({}) [{}]: {}", self.code, self.code as u32, self.error_code, self.message)
    }
}

impl std::error::Error for Reject {}

impl From<ic_executor::Reject> for Reject {
    fn from(r: ic_executor::Reject) -> Self {
        Reject { code: r.code, message: r.message, error_code: r.error_code.map(|e| format!("{e:?}")).unwrap_or_default() }
    }
}

/// A capability the backend does not have (the scenario prints one SKIPPED line for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub backend: &'static str,
    pub what: &'static str,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} does not support {}", self.backend, self.what)
    }
}

/// What scenarios are written against. Canisters are created with [`TEST_CONTROLLER`] as
/// controller and at least 100T cycles.
pub trait Env {
    /// "executor" or "pocket_ic".
    fn backend(&self) -> &'static str;
    fn create_canister(&mut self) -> Principal;
    /// With canister environment variables (`ic0.env_var_*`), e.g. `PUBLIC_CANISTER_ID:<name>`.
    fn create_canister_with_env(&mut self, env_vars: Vec<(String, String)>) -> Principal;
    fn install(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject>;
    fn reinstall(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject>;
    fn upgrade(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject>;
    fn update_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject>;
    fn query_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject>;
    fn advance_time(&mut self, d: Duration);
    /// Fires due timers and delivers pending messages.
    fn tick(&mut self);
    /// Adds `controller` to the controllers of `id` (a canister this `Env` created), as its
    /// developer would with `dfx canister update-settings --add-controller`.
    fn add_controller(&mut self, id: Principal, controller: Principal) -> Result<(), Reject>;
    /// The controllers of `id`, as the IC knows them (any canister, not only this `Env`'s).
    fn controllers(&mut self, id: Principal) -> Result<Vec<Principal>, Reject>;
    fn stop_canister(&mut self, id: Principal) -> Result<(), Reject>;
    fn start_canister(&mut self, id: Principal) -> Result<(), Reject>;
    fn now_ns(&mut self) -> u64;
    fn cycle_balance(&mut self, id: Principal) -> u128;
    /// Until `clear_faults`, requests for `method` ("*" = all) of `canister` get `fault`.
    fn inject_fault(&mut self, canister: Principal, method: &str, fault: Fault) -> Result<(), Unsupported>;
    fn clear_faults(&mut self);
    /// Certified data as the canister last set it.
    fn certified_data(&mut self, id: Principal) -> Result<Vec<u8>, Unsupported>;
    /// The executor, for executor-only checks (instruction counts, logs, stepping).
    fn executor(&mut self) -> Option<&mut Executor> {
        None
    }
}

/// Injects a fault, or prints `SKIPPED <part>: <why>` and returns false.
pub fn fault_or_skip(env: &mut dyn Env, part: &str, canister: Principal, method: &str, fault: Fault) -> bool {
    match env.inject_fault(canister, method, fault) {
        Ok(()) => true,
        Err(u) => {
            skipped(part, &u.to_string());
            false
        }
    }
}

/// Prints one `SKIPPED` line to stderr (not captured by the test harness, so always visible).
pub fn skipped(part: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {part}: {why}");
}
