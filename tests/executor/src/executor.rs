//! The executor: canisters, the message queue, and how each kind of message is executed
//! and committed (or rolled back) with the IC's semantics.

use crate::canister::{CallContext, Callback, Canister, Origin};
use crate::costs;
use crate::engine;
use crate::instance::{Runtime, Target, TrapInfo};
use crate::management;
use crate::system_api::{CallBuilder, EntryKind, MessageCtx, SystemState};
use crate::types::*;
use candid::Principal;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

/// Cycles a new canister starts with: ic-cdk's `Call` and ic-cdk-timers check the liquid
/// balance before calling and silently stop when it is too low.
pub const DEFAULT_CYCLES: u128 = 100_000_000_000_000;
/// 2025-01-01T00:00:00Z: time starts here and only moves with `advance_time`.
pub const GENESIS_NS: u64 = 1_735_689_600_000_000_000;
/// Safety net against message loops in `run_until_idle`.
const MAX_MESSAGES_PER_RUN: usize = 1_000_000;

#[derive(Clone, Debug)]
pub(crate) enum Payload {
    Reply(Vec<u8>),
    Reject(RejectCode, String),
}

#[derive(Debug)]
enum Message {
    Request {
        origin: Origin,
        to: Principal,
        caller: Principal,
        method: String,
        arg: Vec<u8>,
        cycles: u128,
        deadline: u64,
        tree: u64,
    },
    Response {
        to: Principal,
        callback: u64,
        payload: Payload,
        refund: u128,
        tree: u64,
    },
}

/// One executed message, for tests and debugging.
#[derive(Clone, Debug)]
pub struct ExecutionRecord {
    pub canister: Principal,
    pub kind: EntryKind,
    /// Method name for calls; the export name otherwise.
    pub method: String,
    pub instructions: u64,
    pub trap: Option<TrapInfo>,
}

/// What `step` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A request was delivered to `to` (executed, or rejected without running).
    Request { to: Principal, method: String },
    /// A response was delivered to the caller's callback.
    Response { to: Principal },
}

#[derive(Default)]
struct IngressEntry {
    result: Option<Result<Vec<u8>, Reject>>,
    first_instructions: Option<u64>,
    context_instructions: u64,
    tree: u64,
}

/// Settings of a new canister.
#[derive(Clone, Debug)]
pub struct CanisterSettings {
    pub controllers: Vec<Principal>,
    pub cycles: u128,
    pub env_vars: Vec<(String, String)>,
}

impl Default for CanisterSettings {
    fn default() -> Self {
        CanisterSettings { controllers: Vec::new(), cycles: DEFAULT_CYCLES, env_vars: Vec::new() }
    }
}

pub struct Executor {
    pub(crate) canisters: BTreeMap<Principal, Canister>,
    queue: VecDeque<Message>,
    pub(crate) now: u64,
    pub(crate) next_canister: u64,
    pub(crate) next_id: u64,
    ingress: HashMap<MessageId, IngressEntry>,
    trees: HashMap<u64, u64>,
    faults: HashMap<(Principal, String), Fault>,
    pub(crate) subnet: Principal,
    pub(crate) rng: u64,
    history: Vec<ExecutionRecord>,
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    pub fn new() -> Self {
        Executor {
            canisters: BTreeMap::new(),
            queue: VecDeque::new(),
            now: GENESIS_NS,
            next_canister: 0,
            next_id: 1,
            ingress: HashMap::new(),
            trees: HashMap::new(),
            faults: HashMap::new(),
            subnet: Principal::from_slice(&[0x5b; 29]),
            rng: 0x1c_e0_ec_07_00_00_00_01,
            history: Vec::new(),
        }
    }

    /// Whether nothing is in flight: no queued message, no open call context or callback (a
    /// state that can be saved, see `persist`).
    pub fn is_quiescent(&self) -> bool {
        self.queue.is_empty() && self.canisters.values().all(|c| c.call_contexts.is_empty() && c.callbacks.is_empty())
    }

    pub(crate) fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    // ------------------------------------------------------------------ canisters

    /// Creates an empty canister with `controllers` and 100T cycles.
    pub fn create_canister(&mut self, controllers: Vec<Principal>) -> Principal {
        self.create_canister_with(CanisterSettings { controllers, ..Default::default() })
    }

    /// Creates an empty canister (recorded in its history as created by its first controller).
    pub fn create_canister_with(&mut self, settings: CanisterSettings) -> Principal {
        let by = crate::lifecycle::ChangeBy::user(settings.controllers.first().copied().unwrap_or(Principal::anonymous()));
        let id = self.new_canister(settings);
        self.record_creation(id, &by);
        id
    }

    pub(crate) fn new_canister(&mut self, settings: CanisterSettings) -> Principal {
        // Ids like the IC's first application subnet range: u64 index + 0x01 0x01 (skipping an
        // id taken by `provisional_create_canister_with_cycles` with `specified_id`).
        let id = loop {
            let mut bytes = [0u8; 10];
            bytes[..8].copy_from_slice(&self.next_canister.to_be_bytes());
            bytes[8] = 0x01;
            bytes[9] = 0x01;
            self.next_canister += 1;
            let id = Principal::from_slice(&bytes);
            if !self.canisters.contains_key(&id) {
                break id;
            }
        };
        self.insert_canister(id, settings);
        id
    }

    pub(crate) fn insert_canister(&mut self, id: Principal, settings: CanisterSettings) {
        let mut env_vars = settings.env_vars;
        env_vars.sort();
        let sys = SystemState {
            id,
            controllers: settings.controllers,
            cycles: settings.cycles,
            status: Some(CanisterStatus::Running),
            env_vars,
            ..Default::default()
        };
        self.canisters.insert(id, Canister::new(sys));
    }

    pub fn canister_ids(&self) -> Vec<Principal> {
        self.canisters.keys().copied().collect()
    }

    fn canister(&self, id: Principal) -> &Canister {
        self.canisters.get(&id).unwrap_or_else(|| panic!("no canister {id}"))
    }

    fn canister_mut(&mut self, id: Principal) -> &mut Canister {
        self.canisters.get_mut(&id).unwrap_or_else(|| panic!("no canister {id}"))
    }

    pub fn controllers(&self, id: Principal) -> Vec<Principal> {
        self.canister(id).sys.controllers.clone()
    }

    /// Sets the controllers (recorded in the canister's history as a change by its first
    /// controller before the change, as its developer would make it).
    pub fn set_controllers(&mut self, id: Principal, controllers: Vec<Principal>) {
        let c = self.canister_mut(id);
        let by = crate::lifecycle::ChangeBy::user(c.sys.controllers.first().copied().unwrap_or(Principal::anonymous()));
        c.sys.controllers = controllers.clone();
        c.sys.version += 1;
        self.record_change(id, &by, ic_management_canister_types::ChangeDetails::ControllersChange(ic_management_canister_types::ControllersChangeRecord { controllers }));
    }

    /// Sets the canister's environment variables (read with `ic0.env_var_*`).
    pub fn set_env_vars(&mut self, id: Principal, mut vars: Vec<(String, String)>) {
        vars.sort();
        let c = self.canister_mut(id);
        c.sys.env_vars = vars;
        c.sys.version += 1;
    }

    pub fn cycle_balance(&self, id: Principal) -> u128 {
        self.canister(id).sys.cycles
    }

    /// The balance below which `id` is frozen (its idle storage burn over its freezing threshold).
    pub fn freezing_limit(&self, id: Principal) -> u128 {
        let c = self.canister(id);
        costs::freezing_limit(c.memory_bytes(), c.sys.freezing_threshold_seconds)
    }

    /// Sets the canister's freezing threshold (seconds of idle burn kept in reserve).
    pub fn set_freezing_threshold(&mut self, id: Principal, seconds: u64) {
        self.canister_mut(id).sys.freezing_threshold_seconds = seconds;
    }

    /// Sets the canister's balance (e.g. to bring it near its freezing limit).
    pub fn set_cycles(&mut self, id: Principal, amount: u128) {
        self.canister_mut(id).sys.cycles = amount;
    }

    pub fn add_cycles(&mut self, id: Principal, amount: u128) {
        self.canister_mut(id).sys.cycles += amount;
    }

    pub fn certified_data(&self, id: Principal) -> Vec<u8> {
        self.canister(id).sys.certified_data.clone()
    }

    /// Everything the canister printed with `debug_print` (including messages that trapped).
    pub fn logs(&self, id: Principal) -> &[String] {
        &self.canister(id).sys.logs
    }

    pub fn take_logs(&mut self, id: Principal) -> Vec<String> {
        std::mem::take(&mut self.canister_mut(id).sys.logs)
    }

    pub fn status(&self, id: Principal) -> CanisterStatus {
        self.canister(id).sys.status.unwrap_or(CanisterStatus::Running)
    }

    pub fn canister_version(&self, id: Principal) -> u64 {
        self.canister(id).sys.version
    }

    /// The global timer (0 = not set).
    pub fn global_timer(&self, id: Principal) -> u64 {
        self.canister(id).sys.global_timer
    }

    pub fn stable_size_pages(&self, id: Principal) -> u64 {
        self.canister(id).sys.stable.size_pages()
    }

    /// SHA-256 over the stable memory's size and every page written so far (pages never written
    /// read as zeros and are skipped): equal digests mean equal stable memory. Cheap for a large,
    /// sparsely written memory.
    pub fn stable_digest(&self, id: Principal) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let stable = &self.canister(id).sys.stable;
        let mut h = Sha256::new();
        h.update(stable.size_pages().to_le_bytes());
        for (i, page) in stable.allocated_pages() {
            if page.iter().any(|b| *b != 0) {
                h.update(i.to_le_bytes());
                h.update(page);
            }
        }
        h.finalize().into()
    }

    pub fn stable_read(&self, id: Principal, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.canister(id).sys.stable.read(offset, &mut buf).expect("stable_read in bounds");
        buf
    }

    pub fn heap_size(&self, id: Principal) -> usize {
        self.canister(id).runtime.as_ref().map_or(0, |r| r.heap_size())
    }

    pub fn module_hash(&self, id: Principal) -> Option<[u8; 32]> {
        self.canister(id).runtime.as_ref().map(|r| r.module.hash)
    }

    /// Every message executed so far.
    pub fn executions(&self) -> &[ExecutionRecord] {
        &self.history
    }

    // ------------------------------------------------------------------ time

    pub fn time_ns(&self) -> u64 {
        self.now
    }

    /// Moves time forward. Best-effort calls whose deadline passed are answered with
    /// SYS_UNKNOWN (their responses are queued; run them with `tick` or `run_until_idle`).
    pub fn advance_time(&mut self, d: Duration) {
        self.now += d.as_nanos() as u64;
        self.expire_deadlines();
    }

    pub fn set_time_ns(&mut self, t: u64) {
        assert!(t >= self.now, "time cannot go backwards");
        self.now = t;
        self.expire_deadlines();
    }

    fn expire_deadlines(&mut self) {
        let now = self.now;
        let mut expired = Vec::new();
        for (cid, c) in self.canisters.iter_mut() {
            for (id, cb) in c.callbacks.iter_mut() {
                if cb.deadline != 0 && !cb.expired && now >= cb.deadline {
                    cb.expired = true;
                    let tree = c.call_contexts.get(&cb.call_context).map_or(0, |cc| cc.tree);
                    expired.push(Message::Response {
                        to: *cid,
                        callback: *id,
                        payload: Payload::Reject(RejectCode::SysUnknown, "Timeout expired".into()),
                        refund: 0,
                        tree,
                    });
                }
            }
        }
        self.queue.extend(expired);
        self.expire_stop_requests();
    }

    /// One round: fires due global timers (and heartbeats), then delivers every message until
    /// the queue is empty.
    pub fn tick(&mut self) {
        self.expire_deadlines();
        let ids: Vec<Principal> = self.canisters.keys().copied().collect();
        for id in ids {
            let c = &self.canisters[&id];
            if c.runtime.is_none() || c.sys.status != Some(CanisterStatus::Running) {
                continue;
            }
            if c.sys.global_timer != 0 && self.now >= c.sys.global_timer && c.exports("canister_global_timer") {
                self.run_system_task(id, EntryKind::GlobalTimer, "canister_global_timer");
            }
            if self.canisters[&id].exports("canister_heartbeat") {
                self.run_system_task(id, EntryKind::Heartbeat, "canister_heartbeat");
            }
        }
        self.run_until_idle();
    }

    // ------------------------------------------------------------------ faults

    /// Until cleared, requests (ingress or inter-canister) for `method` of `canister` get
    /// `fault` instead of running normally. `method` "*" matches every method.
    pub fn inject_fault(&mut self, canister: Principal, method: &str, fault: Fault) {
        self.faults.insert((canister, method.to_string()), fault);
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    fn fault_for(&self, canister: Principal, method: &str) -> Option<Fault> {
        self.faults
            .get(&(canister, method.to_string()))
            .or_else(|| self.faults.get(&(canister, "*".to_string())))
            .cloned()
    }

    // ------------------------------------------------------------------ install / lifecycle

    pub fn install(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>, sender: Principal) -> Result<(), Reject> {
        self.install_code(id, InstallMode::Install, wasm, arg, sender)
    }

    pub fn reinstall(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>, sender: Principal) -> Result<(), Reject> {
        self.install_code(id, InstallMode::Reinstall, wasm, arg, sender)
    }

    pub fn upgrade(&mut self, id: Principal, wasm: &[u8], arg: Vec<u8>, sender: Principal) -> Result<(), Reject> {
        self.install_code(id, InstallMode::Upgrade, wasm, arg, sender)
    }

    /// `install_code` (interface spec: "IC method install_code"). All or nothing: if a hook
    /// traps, the canister keeps its previous module and state.
    pub fn install_code(&mut self, id: Principal, mode: InstallMode, wasm: &[u8], arg: Vec<u8>, sender: Principal) -> Result<(), Reject> {
        self.install_code_with(id, mode, UpgradeOptions::default(), wasm, arg, sender)
    }

    /// `install_code` with the `upgrade` options (`skip_pre_upgrade`, `wasm_memory_persistence`).
    pub fn install_code_with(&mut self, id: Principal, mode: InstallMode, options: UpgradeOptions, wasm: &[u8], arg: Vec<u8>, sender: Principal) -> Result<(), Reject> {
        let origin = crate::lifecycle::ChangeBy::user(sender);
        self.install_code_by(id, mode, options, wasm, arg, &origin)
    }

    pub(crate) fn install_code_by(
        &mut self,
        id: Principal,
        mode: InstallMode,
        options: UpgradeOptions,
        wasm: &[u8],
        arg: Vec<u8>,
        by: &crate::lifecycle::ChangeBy,
    ) -> Result<(), Reject> {
        let sender = by.principal;
        self.controlled_by(id, sender)?;
        let c = &self.canisters[&id];
        match (mode, c.runtime.is_some()) {
            (InstallMode::Install, true) => {
                return Err(Reject::new(
                    ErrorCode::CanisterNonEmpty,
                    format!("Canister {id} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead."),
                ))
            }
            (InstallMode::Upgrade, false) => {
                return Err(Reject::new(ErrorCode::CanisterWasmModuleNotFound, format!("Canister {id} has no module to upgrade")))
            }
            _ => {}
        }
        if mode != InstallMode::Upgrade && options != UpgradeOptions::default() {
            return Err(Reject::new(ErrorCode::InvalidManagementPayload, "upgrade options are only allowed with mode upgrade".to_string()));
        }
        let module = engine::compile(wasm).map_err(|e| Reject::new(ErrorCode::CanisterInvalidWasm, format!("Error from Canister {id}: Canister's Wasm module is not valid: {e}")))?;
        // Enhanced orthogonal persistence (interface spec, "Canister upgrades"): the heap may be
        // kept only by a module that declares it, and such a module must keep it.
        if mode == InstallMode::Upgrade {
            match (options.keep_wasm_memory, module.enhanced_orthogonal_persistence) {
                (true, false) => {
                    return Err(Reject::new(
                        ErrorCode::CanisterContractViolation,
                        "Invalid upgrade option: `wasm_memory_persistence: opt keep` requires that the new canister module supports enhanced orthogonal persistence.".to_string(),
                    ))
                }
                (false, true) => {
                    return Err(Reject::new(
                        ErrorCode::CanisterContractViolation,
                        "Missing upgrade option: Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.".to_string(),
                    ))
                }
                _ => {}
            }
        }
        // The replica prepays the install's whole instruction limit and refuses the install when
        // that would take the balance below the freezing limit (`InstallCodeNotEnoughCycles`).
        let prepay = costs::execution_cost(costs::INSTALL_INSTRUCTION_LIMIT);
        let (have, limit) = (self.canisters[&id].sys.cycles, self.freezing_limit(id));
        if have < prepay + limit {
            return Err(Reject::new(
                ErrorCode::CanisterOutOfCycles,
                format!(
                    "Canister installation failed with `Canister {id} is out of cycles: please top up the canister with at least {} additional cycles`.",
                    prepay + limit - have
                ),
            ));
        }
        let now = self.now;
        let subnet = self.subnet;
        let c = self.canisters.get_mut(&id).unwrap();
        let backup_sys = c.sys.clone();
        let mut old_runtime = c.runtime.take();
        let mut budget = costs::INSTALL_INSTRUCTION_LIMIT;
        let mut records = Vec::new();
        // pre_upgrade changes the old instance's heap: keep it to undo a failed upgrade.
        let mut old_heap = old_runtime.as_mut().map(|rt| rt.snapshot());

        let result = (|| -> Result<Runtime, TrapInfo> {
            if mode == InstallMode::Upgrade {
                let rt = old_runtime.as_mut().unwrap();
                if rt.module.exports_fn("canister_pre_upgrade") && !options.skip_pre_upgrade {
                    let msg = lifecycle_msg(EntryKind::PreUpgrade, sender, Vec::new(), now, budget);
                    let (_, n, trap) = rt.run(&mut c.sys, msg, &Target::Export("canister_pre_upgrade".into()));
                    budget -= n;
                    records.push((EntryKind::PreUpgrade, n, trap.clone()));
                    if let Some(t) = trap {
                        return Err(t);
                    }
                }
            } else {
                // Reinstall/install: fresh stable memory and certified data.
                c.sys.stable = Default::default();
                c.sys.certified_data.clear();
            }
            // The IC deactivates the global timer on install, reinstall and upgrade.
            c.sys.global_timer = 0;
            let mut rt = Runtime::new(module.clone(), subnet)
                .map_err(|e| TrapInfo { error_code: ErrorCode::CanisterContractViolation, message: e })?;
            if options.keep_wasm_memory {
                let heap = old_runtime.as_mut().unwrap().snapshot().heap;
                rt.load_heap(&heap).map_err(|e| TrapInfo { error_code: ErrorCode::CanisterContractViolation, message: e })?;
            }
            let (hook, kind) = match mode {
                InstallMode::Upgrade => ("canister_post_upgrade", EntryKind::PostUpgrade),
                _ => ("canister_init", EntryKind::Init),
            };
            if rt.module.exports_fn(hook) {
                let msg = lifecycle_msg(kind, sender, arg.clone(), now, budget);
                let (_, n, trap) = rt.run(&mut c.sys, msg, &Target::Export(hook.into()));
                records.push((kind, n, trap.clone()));
                if let Some(t) = trap {
                    return Err(t);
                }
            }
            Ok(rt)
        })();

        let used: u64 = records.iter().map(|r| r.1).sum();
        for (kind, n, trap) in records {
            self.history.push(ExecutionRecord { canister: id, kind, method: format!("{kind:?}"), instructions: n, trap });
        }
        let c = self.canisters.get_mut(&id).unwrap();
        c.sys.stable.commit();
        // The install's instructions are charged to the canister; it "traps if the canister's
        // cycle balance decreases below the canister's freezing limit after executing".
        let cost = costs::execution_cost(used);
        let result = result.map_err(|t| Reject::new(t.error_code, t.message)).and_then(|rt| {
            let memory = (rt.heap_size() + rt.module.wasm.len()) as u64 + c.sys.stable.size_bytes() + c.mgmt.chunk_store_bytes() + c.mgmt.snapshots_bytes();
            let limit = costs::freezing_limit(memory, c.sys.freezing_threshold_seconds);
            if c.sys.cycles < cost + limit {
                return Err(Reject::new(
                    ErrorCode::CanisterOutOfCycles,
                    format!("Canister installation failed with `Canister {id} is out of cycles: its balance would fall below its freezing limit of {limit}`."),
                ));
            }
            Ok(rt)
        });
        match result {
            Ok(rt) => {
                c.runtime = Some(rt);
                c.sys.cycles -= cost;
                c.sys.version += 1;
                let hash = module.hash.to_vec();
                self.record_change(id, by, crate::lifecycle::deployment(mode, hash));
                Ok(())
            }
            Err(reject) => {
                c.sys = backup_sys;
                if let (Some(rt), Some(snap)) = (old_runtime.as_mut(), old_heap.take()) {
                    rt.restore(snap).unwrap_or_else(|e| panic!("restoring canister {id} after a failed upgrade: {e}"));
                }
                c.runtime = old_runtime;
                Err(reject)
            }
        }
    }

    /// Removes the module and state; outstanding calls are rejected (interface spec:
    /// "IC method uninstall_code").
    pub fn uninstall(&mut self, id: Principal) {
        let by = crate::lifecycle::ChangeBy::user(self.canister(id).sys.controllers.first().copied().unwrap_or(Principal::anonymous()));
        self.uninstall_by(id, &by)
    }

    pub(crate) fn uninstall_by(&mut self, id: Principal, by: &crate::lifecycle::ChangeBy) {
        let c = self.canister_mut(id);
        c.runtime = None;
        c.sys.stable = Default::default();
        c.sys.certified_data.clear();
        c.sys.global_timer = 0;
        c.sys.version += 1;
        // Responses to the deleted callbacks will find nothing to run; their prepayments return now.
        let prepaid: u128 = c.callbacks.values().map(|cb| cb.prepaid).sum();
        c.sys.cycles += prepaid;
        c.callbacks.clear();
        let contexts = std::mem::take(&mut c.call_contexts);
        for (_, cc) in contexts {
            if !cc.responded {
                // As the replica: CANISTER_REJECT "Canister has been uninstalled."
                let reject = Reject::new(ErrorCode::CanisterRejectedMessage, format!("Canister {id} has been uninstalled."));
                self.respond(&cc.origin, Payload::Reject(reject.code, reject.message.clone()), Some(reject.error_code.unwrap()), cc.cycles_available, cc.tree);
            }
        }
        self.record_change(id, by, ic_management_canister_types::ChangeDetails::CodeUninstall);
        self.update_stopping(id);
    }

    /// Stops the canister: new calls are rejected; it becomes Stopped once its open call
    /// contexts are closed (this delivers pending messages until then).
    pub fn stop_canister(&mut self, id: Principal) -> Result<(), Reject> {
        if self.status(id) == CanisterStatus::Running {
            self.set_status(id, CanisterStatus::Stopping);
        }
        self.run_until_idle();
        self.update_stopping(id);
        match self.status(id) {
            CanisterStatus::Stopped => Ok(()),
            _ => Err(Reject::new(
                ErrorCode::CanisterStopping,
                format!("Canister {id} still has open call contexts waiting for responses and is stopping"),
            )),
        }
    }

    /// Starts the canister (interface spec, "IC method start_canister"): `stop_canister` calls
    /// still waiting for a stopping canister are rejected.
    pub fn start_canister(&mut self, id: Principal) {
        self.set_status(id, CanisterStatus::Running);
        let c = self.canister_mut(id);
        let waiting = std::mem::take(&mut c.mgmt.pending_stops);
        for w in waiting {
            let r = Reject::new(ErrorCode::CanisterStoppingCancelled, format!("Canister {id}'s stop request was cancelled."));
            self.respond(&w.origin, Payload::Reject(r.code, r.message), r.error_code, w.refund, w.tree);
        }
    }

    /// A change of the running status bumps the canister version (interface spec, "Canister
    /// version": "guaranteed to be incremented upon every change of ... running status").
    fn set_status(&mut self, id: Principal, status: CanisterStatus) {
        let c = self.canister_mut(id);
        if c.sys.status != Some(status) {
            c.sys.status = Some(status);
            c.sys.version += 1;
        }
    }

    /// A stopping canister without open call contexts becomes Stopped, and the `stop_canister`
    /// calls waiting for it are answered.
    pub(crate) fn update_stopping(&mut self, id: Principal) {
        let Some(c) = self.canisters.get(&id) else { return };
        if c.sys.status == Some(CanisterStatus::Stopping) && c.call_contexts.is_empty() {
            self.set_status(id, CanisterStatus::Stopped);
        }
        let c = self.canister_mut(id);
        if c.sys.status == Some(CanisterStatus::Stopped) && !c.mgmt.pending_stops.is_empty() {
            let waiting = std::mem::take(&mut c.mgmt.pending_stops);
            for w in waiting {
                self.respond(&w.origin, Payload::Reply(candid::encode_args(()).expect("encode ()")), None, w.refund, w.tree);
            }
        }
    }

    /// `stop_canister` from a call: answered when the canister is stopped (now, or when its
    /// last call context closes), or rejected after the replica's timeout.
    pub(crate) fn stop_from_call(&mut self, id: Principal, origin: Origin, tree: u64, refund: u128) {
        let deadline = self.now + crate::lifecycle::STOP_CANISTER_TIMEOUT_NS;
        if self.status(id) == CanisterStatus::Running {
            self.set_status(id, CanisterStatus::Stopping);
        }
        let c = self.canister_mut(id);
        c.mgmt.pending_stops.push(crate::lifecycle::PendingStop { origin, tree, deadline, refund });
        self.update_stopping(id);
    }

    // ------------------------------------------------------------------ ingress

    /// Update call: submits it and delivers messages until the system is idle.
    pub fn update(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.update_with_stats(id, sender, method, arg).result
    }

    pub fn update_with_stats(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> CallOutcome {
        let msg = self.submit_update(id, sender, method, arg);
        self.run_until_idle();
        self.outcome(msg).unwrap_or_else(|| panic!("ingress {msg:?} to {id}.{method} got no response"))
    }

    /// Submits an ingress update call without running anything (step-wise API). The
    /// canister's `canister_inspect_message` runs now, as the IC runs it before accepting.
    pub fn submit_update(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> MessageId {
        let msg = MessageId(self.fresh_id());
        let tree = self.fresh_id();
        self.ingress.insert(msg, IngressEntry { tree, ..Default::default() });
        if let Some(reject) = self.inspect_message(id, sender, method, &arg) {
            self.ingress.get_mut(&msg).unwrap().result = Some(Err(reject));
            return msg;
        }
        self.queue.push_back(Message::Request {
            origin: Origin::Ingress(msg),
            to: id,
            caller: sender,
            method: method.to_string(),
            arg,
            cycles: 0,
            deadline: 0,
            tree,
        });
        msg
    }

    /// The response of an ingress message, once there is one.
    pub fn ingress_result(&self, msg: MessageId) -> Option<Result<Vec<u8>, Reject>> {
        self.ingress.get(&msg).and_then(|e| e.result.clone())
    }

    pub fn outcome(&self, msg: MessageId) -> Option<CallOutcome> {
        let e = self.ingress.get(&msg)?;
        Some(CallOutcome {
            result: e.result.clone()?,
            instructions: e.first_instructions.unwrap_or(0),
            call_context_instructions: e.context_instructions,
            tree_instructions: self.trees.get(&e.tree).copied().unwrap_or(0),
        })
    }

    /// Query call: runs the query entry point non-replicated; nothing it does persists.
    pub fn query(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> Result<Vec<u8>, Reject> {
        self.query_with_stats(id, sender, method, arg).result
    }

    pub fn query_with_stats(&mut self, id: Principal, sender: Principal, method: &str, arg: Vec<u8>) -> CallOutcome {
        let outcome = |result, n| CallOutcome { result, instructions: n, call_context_instructions: n, tree_instructions: n };
        if id == Principal::management_canister() {
            return outcome(management::query(self, sender, method, &arg), 0);
        }
        if let Err(r) = self.check_callable(id, method) {
            return outcome(Err(r), 0);
        }
        let Some(entry) = self.canister(id).query_entry(method) else {
            return outcome(Err(method_not_found(id, method, "query")), 0);
        };
        let msg = MessageCtx {
            kind: EntryKind::Query,
            now: self.now,
            caller: sender,
            method: method.to_string(),
            arg,
            can_respond: true,
            instruction_limit: costs::QUERY_INSTRUCTION_LIMIT,
            ..Default::default()
        };
        let (msg, n, trap) = self.execute(id, msg, Target::Export(entry), false, method);
        let result = match (trap, msg.response) {
            (Some(t), _) => Err(Reject::new(t.error_code, t.message)),
            (None, Some(Ok(bytes))) => Ok(bytes),
            (None, Some(Err(text))) => Err(Reject::canister_reject(text)),
            (None, None) => Err(did_not_reply(id)),
        };
        outcome(result, n)
    }

    fn inspect_message(&mut self, id: Principal, sender: Principal, method: &str, arg: &[u8]) -> Option<Reject> {
        let c = self.canisters.get(&id)?;
        if !c.exports("canister_inspect_message") || c.sys.status != Some(CanisterStatus::Running) {
            return None;
        }
        let msg = MessageCtx {
            kind: EntryKind::InspectMessage,
            now: self.now,
            caller: sender,
            method: method.to_string(),
            arg: arg.to_vec(),
            instruction_limit: costs::INSPECT_INSTRUCTION_LIMIT,
            ..Default::default()
        };
        let (msg, _, trap) = self.execute(id, msg, Target::Export("canister_inspect_message".into()), false, method);
        match trap {
            Some(t) => Some(Reject::new(t.error_code, t.message)),
            None if !msg.accepted => Some(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Error from Canister {id}: Canister rejected the message"),
            )),
            None => None,
        }
    }

    // ------------------------------------------------------------------ stepping

    /// Messages waiting to be delivered.
    pub fn pending_messages(&self) -> usize {
        self.queue.len()
    }

    /// Delivers the oldest queued message (a request or a response). `None` when idle.
    pub fn step(&mut self) -> Option<Step> {
        let m = self.queue.pop_front()?;
        Some(match m {
            Message::Request { origin, to, caller, method, arg, cycles, deadline, tree } => {
                let step = Step::Request { to, method: method.clone() };
                self.deliver_request(origin, to, caller, method, arg, cycles, deadline, tree);
                step
            }
            Message::Response { to, callback, payload, refund, tree } => {
                self.deliver_response(to, callback, payload, refund, tree);
                Step::Response { to }
            }
        })
    }

    /// Delivers messages until none is left; returns how many were delivered.
    pub fn run_until_idle(&mut self) -> usize {
        let mut n = 0;
        while self.step().is_some() {
            n += 1;
            assert!(n < MAX_MESSAGES_PER_RUN, "more than {MAX_MESSAGES_PER_RUN} messages without becoming idle: a message loop?");
        }
        n
    }

    /// Runs messages until `msg` has a response (or nothing is left to run).
    pub fn await_ingress(&mut self, msg: MessageId) -> Option<Result<Vec<u8>, Reject>> {
        while self.ingress_result(msg).is_none() && self.step().is_some() {}
        self.ingress_result(msg)
    }

    // ------------------------------------------------------------------ delivery

    fn check_callable(&self, id: Principal, _method: &str) -> Result<(), Reject> {
        let Some(c) = self.canisters.get(&id) else {
            return Err(Reject::new(ErrorCode::CanisterNotFound, format!("Canister {id} not found")));
        };
        match c.sys.status {
            Some(CanisterStatus::Stopped) => return Err(stopped(id)),
            Some(CanisterStatus::Stopping) => {
                return Err(Reject::new(ErrorCode::CanisterStopping, format!("Canister {id} is stopping")))
            }
            _ => {}
        }
        if c.runtime.is_none() {
            return Err(Reject::new(
                ErrorCode::CanisterWasmModuleNotFound,
                format!("Error from Canister {id}: Attempted to execute a message, but the canister contains no Wasm module."),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver_request(&mut self, origin: Origin, to: Principal, caller: Principal, method: String, arg: Vec<u8>, cycles: u128, deadline: u64, tree: u64) {
        if deadline != 0 && self.now >= deadline {
            // A best-effort request past its deadline is dropped; the caller's callback
            // already got (or will get) SYS_UNKNOWN from the deadline expiry.
            return;
        }
        let fail = |ex: &mut Self, r: Reject| {
            let code = r.error_code;
            ex.respond(&origin, Payload::Reject(r.code, r.message), code, cycles, tree)
        };
        if to == Principal::management_canister() {
            // Faults injected on (aaaaa-aa, method): as for canisters; `ResponseLost` lets the
            // method take effect (a canister is created, cycles move) and answers SYS_UNKNOWN.
            let fault = self.fault_for(to, &method);
            let lose = matches!(fault, Some(Fault::ResponseLost));
            match fault {
                Some(Fault::Reject(m)) => return fail(self, Reject::canister_reject(m)),
                Some(Fault::Trap(m)) => return fail(self, Reject::new(ErrorCode::CanisterCalledTrap, m)),
                Some(Fault::Stopped) => return fail(self, stopped(to)),
                Some(Fault::Timeout) => return fail(self, Reject::new(ErrorCode::DeadlineExpired, "Timeout expired (injected fault)")),
                Some(Fault::ResponseLost) | None => {}
            }
            let lost = |ex: &mut Self, refund: u128| {
                let payload = Payload::Reject(RejectCode::SysUnknown, "Response lost (injected fault)".into());
                ex.respond(&origin, payload, Some(ErrorCode::ResponseDropped), refund, tree)
            };
            match management::handle(self, &origin, caller, &method, &arg, cycles, tree) {
                management::Outcome::Reply(_, refund) if lose => lost(self, refund),
                management::Outcome::Reply(bytes, refund) => self.respond(&origin, Payload::Reply(bytes), None, refund, tree),
                management::Outcome::Reject(_) if lose => lost(self, cycles),
                management::Outcome::Reject(r) => fail(self, r),
                // A waiting stop_canister is answered when the canister stops (never lost).
                management::Outcome::Deferred => {}
            }
            return;
        }
        let mut lose_response = false;
        if let Some(fault) = self.fault_for(to, &method) {
            match fault {
                Fault::Reject(m) => return fail(self, Reject::canister_reject(m)),
                Fault::Trap(m) => {
                    return fail(
                        self,
                        Reject::new(ErrorCode::CanisterCalledTrap, format!("Error from Canister {to}: Canister called `ic0.trap` with message: '{m}'")),
                    )
                }
                Fault::Stopped => return fail(self, stopped(to)),
                Fault::Timeout => return fail(self, Reject::new(ErrorCode::DeadlineExpired, "Timeout expired (injected fault)")),
                Fault::ResponseLost => lose_response = true,
            }
        }
        if let Err(r) = self.check_callable(to, &method) {
            return fail(self, r);
        }
        let Some((entry, is_query)) = self.canister(to).update_entry(&method) else {
            return fail(self, method_not_found(to, &method, "update"));
        };
        // A frozen canister (balance at or below its freezing limit) accepts no message; ingress
        // must also leave the induction fee above the limit.
        let fee = match origin {
            Origin::Ingress(_) => costs::ingress_cost(method.len(), arg.len()),
            _ => 0,
        };
        let limit = self.freezing_limit(to);
        let c = self.canister_mut(to);
        if c.sys.cycles < fee + limit {
            let r = Reject::new(ErrorCode::CanisterOutOfCycles, format!("Canister {to} is out of cycles: balance {}, freezing limit {limit}", c.sys.cycles));
            return fail(self, r);
        }
        c.sys.cycles -= fee;
        let cc_id = self.fresh_id();
        let ingress = match origin {
            Origin::Ingress(m) => Some(m),
            _ => None,
        };
        self.canister_mut(to).call_contexts.insert(
            cc_id,
            CallContext {
                origin,
                caller,
                responded: false,
                outstanding: 0,
                cycles_available: cycles,
                deadline,
                instructions: 0,
                tree,
                lose_response,
            },
        );
        let msg = MessageCtx {
            kind: if is_query { EntryKind::ReplicatedQuery } else { EntryKind::Update },
            now: self.now,
            caller,
            method: method.clone(),
            arg,
            replicated: true,
            can_respond: true,
            cycles_available: if is_query { 0 } else { cycles },
            instruction_limit: costs::UPDATE_INSTRUCTION_LIMIT,
            deadline,
            ..Default::default()
        };
        let (msg, n, trap) = self.execute(to, msg, Target::Export(entry), !is_query, &method);
        if let Some(m) = ingress {
            self.ingress.get_mut(&m).unwrap().first_instructions = Some(n);
        }
        self.after_message(to, cc_id, msg, n, trap, tree);
    }

    fn deliver_response(&mut self, to: Principal, callback: u64, payload: Payload, refund: u128, tree: u64) {
        let Some(c) = self.canisters.get_mut(&to) else { return };
        c.sys.cycles += refund;
        let Some(cb) = c.callbacks.remove(&callback) else {
            return; // answered already (deadline expiry) or deleted
        };
        let response_bytes = match &payload {
            Payload::Reply(bytes) => bytes.len(),
            Payload::Reject(_, message) => message.len(),
        };
        c.sys.cycles += cb.prepaid.saturating_sub(costs::XNET_BYTE_FEE * response_bytes as u128);
        let cc_id = cb.call_context;
        let Some(cc) = c.call_contexts.get_mut(&cc_id) else { return };
        cc.outstanding -= 1;
        if c.runtime.is_none() {
            self.close_if_done(to, cc_id, None, tree);
            self.update_stopping(to);
            return;
        }
        let cc = &c.call_contexts[&cc_id];
        let (kind, target, arg, reject) = match payload {
            Payload::Reply(bytes) => (EntryKind::ReplyCallback, cb.reply, bytes, None),
            Payload::Reject(code, m) => (EntryKind::RejectCallback, cb.reject, Vec::new(), Some((code as u32, m))),
        };
        let msg = MessageCtx {
            kind,
            now: self.now,
            caller: cc.caller,
            arg,
            reject,
            replicated: true,
            can_respond: !cc.responded,
            cycles_available: cc.cycles_available,
            cycles_refunded: refund,
            instruction_limit: costs::UPDATE_INSTRUCTION_LIMIT,
            call_context_instructions: cc.instructions,
            deadline: cc.deadline,
            ..Default::default()
        };
        let (msg, n, trap) = self.execute(to, msg, Target::Callback { fun: target.0, env: target.1 }, true, "<callback>");
        if trap.is_some() {
            if let Some((fun, env)) = cb.cleanup {
                // The callback's changes are gone; the cleanup runs and its changes persist.
                let cleanup = MessageCtx {
                    kind: EntryKind::Cleanup,
                    now: self.now,
                    caller: self.canister(to).call_contexts[&cc_id].caller,
                    replicated: true,
                    instruction_limit: costs::UPDATE_INSTRUCTION_LIMIT,
                    ..Default::default()
                };
                let (_, n2, _) = self.execute(to, cleanup, Target::Callback { fun, env }, true, "<cleanup>");
                self.account(to, cc_id, n2, tree);
            }
        }
        self.after_message(to, cc_id, msg, n, trap, tree);
    }

    /// Common bookkeeping after an update, callback or timer message on call context `cc_id`.
    fn after_message(&mut self, id: Principal, cc_id: u64, msg: MessageCtx, n: u64, trap: Option<TrapInfo>, tree: u64) {
        self.account(id, cc_id, n, tree);
        if trap.is_none() {
            let now = self.now;
            let c = self.canister_mut(id);
            let cc = c.call_contexts.get_mut(&cc_id).expect("call context");
            cc.cycles_available = msg.cycles_available;
            let mut requests = Vec::new();
            for call in msg.outgoing {
                let CallBuilder { callee, method, arg, cycles, reply, reject, cleanup, timeout_seconds } = call;
                let deadline = timeout_seconds.map_or(0, |s| now + s as u64 * 1_000_000_000);
                requests.push((callee, method, arg, cycles, deadline, Callback { call_context: cc_id, reply, reject, cleanup, deadline, expired: false, prepaid: costs::response_prepayment() }));
            }
            let mut queued = Vec::new();
            for (callee, method, arg, cycles, deadline, cb) in requests {
                let cb_id = self.next_id + 1;
                self.next_id += 1;
                let c = self.canister_mut(id);
                c.callbacks.insert(cb_id, cb);
                c.call_contexts.get_mut(&cc_id).unwrap().outstanding += 1;
                queued.push(Message::Request {
                    origin: Origin::Canister { caller: id, callback: cb_id },
                    to: callee,
                    caller: id,
                    method,
                    arg,
                    cycles,
                    deadline,
                    tree,
                });
            }
            self.queue.extend(queued);
            if let Some(response) = msg.response {
                let cc = self.canister_mut(id).call_contexts.get_mut(&cc_id).unwrap();
                cc.responded = true;
                let (origin, refund, lose) = (cc.origin.clone(), std::mem::take(&mut cc.cycles_available), cc.lose_response);
                let payload = match response {
                    _ if lose => Payload::Reject(RejectCode::SysUnknown, "Response lost (injected fault)".into()),
                    Ok(bytes) => Payload::Reply(bytes),
                    Err(text) => Payload::Reject(RejectCode::CanisterReject, text),
                };
                let code = if lose { Some(ErrorCode::ResponseDropped) } else { None };
                self.respond(&origin, payload, code, refund, tree);
            }
        }
        self.close_if_done(id, cc_id, trap, tree);
        self.update_stopping(id);
    }

    /// A call context with no outstanding callbacks is closed; if it never responded, its
    /// caller gets CANISTER_ERROR (the trap's message, or "did not reply").
    fn close_if_done(&mut self, id: Principal, cc_id: u64, trap: Option<TrapInfo>, tree: u64) {
        let c = self.canister_mut(id);
        let Some(cc) = c.call_contexts.get(&cc_id) else { return };
        if cc.outstanding > 0 {
            return;
        }
        let cc = c.call_contexts.remove(&cc_id).unwrap();
        if cc.responded || cc.origin == Origin::System {
            return;
        }
        let reject = match trap {
            Some(t) => Reject::new(t.error_code, t.message),
            None => did_not_reply(id),
        };
        let payload = if cc.lose_response {
            Payload::Reject(RejectCode::SysUnknown, "Response lost (injected fault)".into())
        } else {
            Payload::Reject(reject.code, reject.message)
        };
        self.respond(&cc.origin, payload, reject.error_code, cc.cycles_available, tree);
    }

    pub(crate) fn respond(&mut self, origin: &Origin, payload: Payload, error_code: Option<ErrorCode>, refund: u128, tree: u64) {
        match origin {
            Origin::Ingress(m) => {
                let result = match payload {
                    Payload::Reply(b) => Ok(b),
                    Payload::Reject(code, message) => {
                        let error_code = match code {
                            RejectCode::CanisterReject => Some(ErrorCode::CanisterRejectedMessage),
                            RejectCode::SysUnknown => error_code.or(Some(ErrorCode::ResponseDropped)),
                            _ => error_code,
                        };
                        Err(Reject { code, message, error_code })
                    }
                };
                if let Some(e) = self.ingress.get_mut(m) {
                    e.result = Some(result);
                }
            }
            Origin::Canister { caller, callback } => {
                self.queue.push_back(Message::Response { to: *caller, callback: *callback, payload, refund, tree });
            }
            Origin::System => {}
        }
    }

    fn account(&mut self, id: Principal, cc_id: u64, n: u64, tree: u64) {
        *self.trees.entry(tree).or_default() += n;
        let c = self.canister_mut(id);
        c.sys.cycles = c.sys.cycles.saturating_sub(costs::execution_cost(n));
        if let Some(cc) = c.call_contexts.get_mut(&cc_id) {
            cc.instructions += n;
            if let Origin::Ingress(m) = cc.origin {
                if let Some(e) = self.ingress.get_mut(&m) {
                    e.context_instructions += n;
                }
            }
        }
    }

    fn run_system_task(&mut self, id: Principal, kind: EntryKind, export: &str) {
        let tree = self.fresh_id();
        let cc_id = self.fresh_id();
        let c = self.canister_mut(id);
        if kind == EntryKind::GlobalTimer {
            // The timer is deactivated when it fires (interface spec: "Global timer").
            c.sys.global_timer = 0;
        }
        c.call_contexts.insert(
            cc_id,
            CallContext {
                origin: Origin::System,
                caller: Principal::management_canister(),
                responded: true,
                outstanding: 0,
                cycles_available: 0,
                deadline: 0,
                instructions: 0,
                tree,
                lose_response: false,
            },
        );
        let msg = MessageCtx {
            kind,
            now: self.now,
            caller: Principal::management_canister(),
            replicated: true,
            instruction_limit: costs::UPDATE_INSTRUCTION_LIMIT,
            ..Default::default()
        };
        let (msg, n, trap) = self.execute(id, msg, Target::Export(export.into()), true, export);
        self.after_message(id, cc_id, msg, n, trap, tree);
    }

    /// Runs one message on canister `id`. With `persist` false, or when it traps, every
    /// change it made is rolled back: heap, globals, stable memory, cycles, certified data,
    /// timer; its outgoing calls and response are still returned in the context but the
    /// callers ignore them after a trap.
    fn execute(&mut self, id: Principal, msg: MessageCtx, target: Target, persist: bool, method: &str) -> (MessageCtx, u64, Option<TrapInfo>) {
        let kind = msg.kind;
        let c = self.canisters.get_mut(&id).expect("canister");
        c.sys.freezing_limit = costs::freezing_limit(c.memory_bytes(), c.sys.freezing_threshold_seconds);
        let rt = c.runtime.as_mut().expect("installed");
        let snap = rt.snapshot();
        let (cycles, certified, timer) = (c.sys.cycles, c.sys.certified_data.clone(), c.sys.global_timer);
        c.sys.stable.begin();
        let (mut msg, n, trap) = rt.run(&mut c.sys, msg, &target);
        if trap.is_some() || !persist {
            rt.restore(snap).unwrap_or_else(|e| panic!("rolling back canister {id}: {e}"));
            c.sys.stable.rollback();
            c.sys.cycles = cycles;
            c.sys.certified_data = certified;
            c.sys.global_timer = timer;
        } else {
            c.sys.stable.commit();
            c.sys.version += 1;
        }
        if trap.is_some() {
            msg.outgoing.clear();
            msg.response = None;
        }
        self.history.push(ExecutionRecord { canister: id, kind, method: method.to_string(), instructions: n, trap: trap.clone() });
        (msg, n, trap)
    }

    /// Deterministic bytes for `raw_rand`.
    pub(crate) fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            // splitmix64
            self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

fn lifecycle_msg(kind: EntryKind, sender: Principal, arg: Vec<u8>, now: u64, limit: u64) -> MessageCtx {
    MessageCtx { kind, now, caller: sender, arg, replicated: true, instruction_limit: limit, ..Default::default() }
}

fn stopped(id: Principal) -> Reject {
    Reject::new(ErrorCode::CanisterStopped, format!("Canister {id} is stopped"))
}

fn did_not_reply(id: Principal) -> Reject {
    Reject::new(ErrorCode::CanisterDidNotReply, format!("Error from Canister {id}: Canister did not produce a response"))
}

fn method_not_found(id: Principal, method: &str, kind: &str) -> Reject {
    Reject::new(ErrorCode::CanisterMethodNotFound, format!("Error from Canister {id}: Canister has no {kind} method '{method}'"))
}
