//! `Env` on the in-process executor.

use crate::env::{Env, Reject, Unsupported, TEST_CONTROLLER};
use candid::Principal;
use ic_executor::{CanisterSettings, Executor, Fault};
use std::time::Duration;

pub struct ExecutorEnv {
    pub ex: Executor,
}

impl ExecutorEnv {
    pub fn new() -> Self {
        ExecutorEnv { ex: Executor::new() }
    }
}

impl Default for ExecutorEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for ExecutorEnv {
    fn backend(&self) -> &'static str {
        "executor"
    }
    fn create_canister(&mut self) -> Principal {
        self.ex.create_canister(vec![TEST_CONTROLLER])
    }
    fn create_canister_with_env(&mut self, env_vars: Vec<(String, String)>) -> Principal {
        self.ex.create_canister_with(CanisterSettings { controllers: vec![TEST_CONTROLLER], env_vars, ..Default::default() })
    }
    fn install(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        Ok(self.ex.install(id, wasm, arg, TEST_CONTROLLER)?)
    }
    fn reinstall(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        Ok(self.ex.reinstall(id, wasm, arg, TEST_CONTROLLER)?)
    }
    fn upgrade(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>) -> Result<(), Reject> {
        Ok(self.ex.upgrade(id, wasm, arg, TEST_CONTROLLER)?)
    }
    fn update_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        Ok(self.ex.update(id, sender, method, arg)?)
    }
    fn query_raw(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        Ok(self.ex.query(id, sender, method, arg)?)
    }
    fn advance_time(&mut self, d: Duration) {
        self.ex.advance_time(d)
    }
    fn tick(&mut self) {
        self.ex.tick()
    }
    fn controllers(&mut self, id: Principal) -> Result<Vec<Principal>, Reject> {
        if !self.ex.canister_ids().contains(&id) {
            return Err(Reject { code: ic_executor::RejectCode::DestinationInvalid, message: format!("canister {id} not found"), error_code: "IC0301".into() });
        }
        Ok(self.ex.controllers(id))
    }
    fn add_controller(&mut self, id: Principal, controller: Principal) -> Result<(), Reject> {
        let mut controllers = self.ex.controllers(id);
        if !controllers.contains(&controller) {
            controllers.push(controller);
            self.ex.set_controllers(id, controllers);
        }
        Ok(())
    }
    fn stop_canister(&mut self, id: Principal) -> Result<(), Reject> {
        Ok(self.ex.stop_canister(id)?)
    }
    fn start_canister(&mut self, id: Principal) -> Result<(), Reject> {
        self.ex.start_canister(id);
        Ok(())
    }
    fn now_ns(&mut self) -> u64 {
        self.ex.time_ns()
    }
    fn cycle_balance(&mut self, id: Principal) -> u128 {
        self.ex.cycle_balance(id)
    }
    fn inject_fault(&mut self, canister: Principal, method: &str, fault: Fault) -> Result<(), Unsupported> {
        self.ex.inject_fault(canister, method, fault);
        Ok(())
    }
    fn clear_faults(&mut self) {
        self.ex.clear_faults()
    }
    fn certified_data(&mut self, id: Principal) -> Result<Vec<u8>, Unsupported> {
        Ok(self.ex.certified_data(id))
    }
    fn executor(&mut self) -> Option<&mut Executor> {
        Some(&mut self.ex)
    }
}
