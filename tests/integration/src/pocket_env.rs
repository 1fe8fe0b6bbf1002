//! `Env` on PocketIC (pocket-ic 16, server >= 16.0, < 17), the reference implementation.

use crate::env::{skipped, Env, Reject, Unsupported, TEST_CONTROLLER};
use candid::Principal;
use ic_executor::{Fault, RejectCode};
use pocket_ic::{CanisterInstallMode, CanisterSettings, EnvironmentVariable, PocketIc, PocketIcBuilder, RejectResponse};
use std::time::Duration;

const START_CYCLES: u128 = 100_000_000_000_000;
/// Modules larger than this go through the chunk store: an ingress message (module and argument)
/// is limited to 2 MiB ("Ingress message limits" in the IC interface specification).
const SINGLE_MESSAGE_MODULE_LIMIT: usize = 2 * 1024 * 1024 - 64 * 1024;
/// The chunk store takes chunks of at most 1 MiB ("IC method upload_chunk").
const CHUNK_BYTES: usize = 1024 * 1024;
/// Rounds per `tick`: a timer's self-call and a call chain each need a round per hop.
const ROUNDS_PER_TICK: usize = 10;

pub struct PocketIcEnv {
    pub pic: PocketIc,
}

/// A PocketIC environment, or `None` after printing exactly one line
/// `SKIPPED <test>: POCKET_IC_BIN is not set` (pocket-ic would otherwise try to download
/// its server).
pub fn pocket_or_skip(test: &str) -> Option<PocketIcEnv> {
    if std::env::var_os("POCKET_IC_BIN").is_none() {
        skipped(test, "POCKET_IC_BIN is not set");
        return None;
    }
    // Start at the executor's genesis time, so time-stamped arguments (rates, report periods)
    // mean the same on both backends (PocketIC would otherwise start in 2021).
    let start = pocket_ic::Time::from_nanos_since_unix_epoch(ic_executor::GENESIS_NS);
    let pic = PocketIcBuilder::new().with_application_subnet().with_initial_time(start).build();
    Some(PocketIcEnv { pic })
}

/// PocketIC's reject as an `Env` reject (a function: `Reject` lives in suite_client).
fn reject(r: RejectResponse) -> Reject {
    Reject {
        code: RejectCode::from_u32(r.reject_code as u32).unwrap_or(RejectCode::SysFatal),
        message: r.reject_message,
        error_code: format!("{:?}", r.error_code),
    }
}

impl PocketIcEnv {
    /// `install_code` of a module too large for one message: the chunks go into the target's own
    /// chunk store (cleared first), then `install_chunked_code` with their hashes and the
    /// module's SHA-256.
    fn install_chunked(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>, mode: CanisterInstallMode) -> Result<(), Reject> {
        use sha2::{Digest, Sha256};
        self.pic.clear_chunk_store(id, Some(TEST_CONTROLLER)).map_err(reject)?;
        let mut hashes = Vec::new();
        for chunk in wasm.chunks(CHUNK_BYTES) {
            hashes.push(self.pic.upload_chunk(id, Some(TEST_CONTROLLER), chunk.to_vec()).map_err(reject)?);
        }
        let module_hash = Sha256::digest(wasm).to_vec();
        let installed = self.pic.install_chunked_canister(id, Some(TEST_CONTROLLER), mode, id, hashes, module_hash, arg).map_err(reject);
        self.pic.clear_chunk_store(id, Some(TEST_CONTROLLER)).map_err(reject)?;
        installed
    }

    fn top_up(&mut self, id: Principal) {
        let have = self.pic.cycle_balance(id);
        if have < START_CYCLES {
            self.pic.add_cycles(id, START_CYCLES - have);
        }
    }
}

impl Env for PocketIcEnv {
    fn backend(&self) -> &'static str {
        "pocket_ic"
    }
    fn create_canister(&mut self) -> Principal {
        self.create_canister_with_env(Vec::new())
    }
    fn create_canister_with_env(&mut self, env_vars: Vec<(String, String)>) -> Principal {
        let settings = CanisterSettings {
            controllers: Some(vec![TEST_CONTROLLER]),
            environment_variables: (!env_vars.is_empty())
                .then(|| env_vars.into_iter().map(|(name, value)| EnvironmentVariable { name, value }).collect()),
            ..Default::default()
        };
        let id = self.pic.create_canister_with_settings(Some(TEST_CONTROLLER), Some(settings));
        self.top_up(id);
        id
    }
    fn install(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        if wasm.len() > SINGLE_MESSAGE_MODULE_LIMIT {
            return self.install_chunked(id, wasm, arg, CanisterInstallMode::Install);
        }
        // pocket-ic's install_canister panics on failure; turn that into a Reject like the
        // other lifecycle calls return.
        let pic = &self.pic;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pic.install_canister(id, wasm.to_vec(), arg, Some(TEST_CONTROLLER))))
            .map_err(|p| Reject {
                code: RejectCode::CanisterError,
                message: p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "install_canister panicked".into()),
                error_code: String::new(),
            })
    }
    fn reinstall(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        if wasm.len() > SINGLE_MESSAGE_MODULE_LIMIT {
            return self.install_chunked(id, wasm, arg, CanisterInstallMode::Reinstall);
        }
        self.pic.reinstall_canister(id, wasm.to_vec(), arg, Some(TEST_CONTROLLER)).map_err(reject)
    }
    fn upgrade(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        if wasm.len() > SINGLE_MESSAGE_MODULE_LIMIT {
            return self.install_chunked(id, wasm, arg, CanisterInstallMode::Upgrade(None));
        }
        self.pic.upgrade_canister(id, wasm.to_vec(), arg, Some(TEST_CONTROLLER)).map_err(reject)
    }
    fn update_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.pic.update_call(id, sender, method, arg).map_err(reject)
    }
    fn query_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.pic.query_call(id, sender, method, arg).map_err(reject)
    }
    fn advance_time(&mut self, d: Duration) {
        self.pic.advance_time(d)
    }
    fn tick(&mut self) {
        for _ in 0..ROUNDS_PER_TICK {
            self.pic.tick();
        }
    }
    fn stop_canister(&mut self, id: Principal) -> Result<(), Reject> {
        self.pic.stop_canister(id, Some(TEST_CONTROLLER)).map_err(reject)
    }
    fn start_canister(&mut self, id: Principal) -> Result<(), Reject> {
        self.pic.start_canister(id, Some(TEST_CONTROLLER)).map_err(reject)
    }
    fn now_ns(&mut self) -> u64 {
        self.pic.get_time().as_nanos_since_unix_epoch()
    }
    fn controllers(&mut self, id: Principal) -> Result<Vec<Principal>, Reject> {
        let pic = &self.pic;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pic.get_controllers(id)))
            .map_err(|_| Reject { code: RejectCode::DestinationInvalid, message: format!("canister {id} not found"), error_code: String::new() })
    }
    fn add_controller(&mut self, id: Principal, controller: Principal) -> Result<(), Reject> {
        let mut controllers = self.pic.get_controllers(id);
        if !controllers.contains(&controller) {
            controllers.push(controller);
            self.pic.set_controllers(id, Some(crate::env::TEST_CONTROLLER), controllers).map_err(reject)?;
        }
        Ok(())
    }
    fn cycle_balance(&mut self, id: Principal) -> u128 {
        self.pic.cycle_balance(id)
    }
    fn inject_fault(&mut self, _canister: Principal, _method: &str, _fault: Fault) -> Result<(), Unsupported> {
        Err(Unsupported { backend: "pocket_ic", what: "fault injection" })
    }
    fn clear_faults(&mut self) {}
    fn certified_data(&mut self, _id: Principal) -> Result<Vec<u8>, Unsupported> {
        Err(Unsupported { backend: "pocket_ic", what: "reading certified data directly (use a certified query)" })
    }
}
