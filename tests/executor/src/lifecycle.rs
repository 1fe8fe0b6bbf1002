//! What the management canister keeps about each canister beyond its system state (settings,
//! the wasm chunk store, snapshots, the canister history, `stop_canister` calls waiting) and the
//! typed operations on it. `management.rs` decodes calls into these; tests call them directly.
//! Each operation names the interface spec section ("The IC management canister") it follows.

use crate::canister::{Canister, Origin};
use crate::costs;
use crate::engine::CompiledModule;
use crate::executor::Executor;
use crate::stable::StableMemory;
use crate::types::*;
use candid::{Nat, Principal};
use ic_management_canister_types as mgmt;
use mgmt::{Change, ChangeDetails, ChangeOrigin, LogVisibility, SnapshotVisibility};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use wasmtime::Val;

/// The replica answers a `stop_canister` that has not completed after 5 minutes with an error.
pub const STOP_CANISTER_TIMEOUT_NS: u64 = 5 * 60 * 1_000_000_000;
/// Interface spec, `create_canister` settings: at most 10 controllers.
pub const MAX_CONTROLLERS: usize = 10;
/// Interface spec, `upload_chunk`: a chunk is at most 1 MiB, and is charged as 1 MiB.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// `CHUNK_STORE_SIZE` of the interface spec.
pub const CHUNK_STORE_SIZE: usize = 10_000;
/// Snapshots a canister may keep (the replica's limit).
pub const MAX_SNAPSHOTS: usize = 10;
/// Changes kept in the history (the spec guarantees at least the 20 most recent).
pub const MAX_HISTORY: usize = 20;

/// Settings the executor stores and reports but does not enforce (controllers, freezing
/// threshold and environment variables live in the system state and are enforced).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredSettings {
    pub compute_allocation: u128,
    pub memory_allocation: u128,
    pub reserved_cycles_limit: u128,
    pub log_visibility: LogVisibility,
    pub log_memory_limit: u128,
    pub snapshot_visibility: SnapshotVisibility,
    pub wasm_memory_limit: u128,
    pub wasm_memory_threshold: u128,
}

impl Default for StoredSettings {
    fn default() -> Self {
        StoredSettings {
            compute_allocation: 0,
            memory_allocation: 0,
            reserved_cycles_limit: 5_000_000_000_000,
            log_visibility: LogVisibility::Controllers,
            log_memory_limit: 4096,
            snapshot_visibility: SnapshotVisibility::Controllers,
            wasm_memory_limit: 3 << 30,
            wasm_memory_threshold: 0,
        }
    }
}

/// A `stop_canister` call waiting for its canister to stop.
pub struct PendingStop {
    pub origin: Origin,
    pub tree: u64,
    pub deadline: u64,
    /// Cycles attached to the call, returned with the response.
    pub refund: u128,
}

/// A canister snapshot (interface spec, "IC method take_canister_snapshot": wasm memory, stable
/// memory, certified variables, wasm chunk store and wasm binary; plus the global timer as
/// `read_canister_snapshot_metadata` lists it).
#[derive(Clone)]
pub struct CanisterSnapshot {
    pub id: Vec<u8>,
    pub taken_at: u64,
    /// The canister's version when the snapshot was taken.
    pub canister_version: u64,
    pub module: Arc<CompiledModule>,
    pub heap: Vec<u8>,
    pub globals: Vec<Val>,
    pub stable: StableMemory,
    pub certified_data: Vec<u8>,
    pub global_timer: u64,
    pub chunks: BTreeMap<[u8; 32], Vec<u8>>,
}

impl CanisterSnapshot {
    pub fn size(&self) -> u64 {
        (self.module.wasm.len() + self.heap.len() + self.certified_data.len()) as u64
            + self.stable.size_bytes()
            + (self.chunks.len() * MAX_CHUNK_BYTES) as u64
    }
    fn describe(&self) -> mgmt::Snapshot {
        mgmt::Snapshot { id: self.id.clone(), taken_at_timestamp: self.taken_at, total_size: self.size() }
    }
}

#[derive(Default)]
pub struct ManagementState {
    pub settings: StoredSettings,
    /// Interface spec, "IC method upload_chunk": chunks by SHA-256.
    pub chunks: BTreeMap<[u8; 32], Vec<u8>>,
    pub snapshots: Vec<CanisterSnapshot>,
    /// The most recent changes (at most `MAX_HISTORY`), oldest first.
    pub history: VecDeque<Change>,
    pub total_changes: u64,
    pub pending_stops: Vec<PendingStop>,
}

impl ManagementState {
    pub fn chunk_store_bytes(&self) -> u64 {
        (self.chunks.len() * MAX_CHUNK_BYTES) as u64
    }
    pub fn snapshots_bytes(&self) -> u64 {
        self.snapshots.iter().map(|s| s.size()).sum()
    }
}

/// Who asks for a change (the origin the canister history records).
#[derive(Clone, Debug)]
pub struct ChangeBy {
    pub principal: Principal,
    /// `Some` when the caller is a canister: its `sender_canister_version`, if it gave one.
    pub canister: Option<Option<u64>>,
}

impl ChangeBy {
    pub fn user(principal: Principal) -> Self {
        ChangeBy { principal, canister: None }
    }
    pub fn canister(principal: Principal, sender_canister_version: Option<u64>) -> Self {
        ChangeBy { principal, canister: Some(sender_canister_version) }
    }
    fn origin(&self) -> ChangeOrigin {
        match self.canister {
            None => ChangeOrigin::FromUser(mgmt::FromUserRecord { user_id: self.principal }),
            Some(version) => ChangeOrigin::FromCanister(mgmt::FromCanisterRecord { canister_id: self.principal, canister_version: version }),
        }
    }
}

pub fn deployment(mode: InstallMode, module_hash: Vec<u8>) -> ChangeDetails {
    let mode = match mode {
        InstallMode::Install => mgmt::CodeDeploymentMode::Install,
        InstallMode::Reinstall => mgmt::CodeDeploymentMode::Reinstall,
        InstallMode::Upgrade => mgmt::CodeDeploymentMode::Upgrade,
    };
    ChangeDetails::CodeDeployment(mgmt::CodeDeploymentRecord { mode, module_hash })
}

/// The representation-independent hash of a text → text map (interface spec, "Hash of map"),
/// which the history records for environment variables at creation.
fn env_vars_hash(vars: &[(String, String)]) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = vars
        .iter()
        .map(|(k, v)| [Sha256::digest(k.as_bytes()).to_vec(), Sha256::digest(v.as_bytes()).to_vec()].concat())
        .collect();
    parts.sort();
    Sha256::digest(parts.concat()).to_vec()
}

/// A setting in range; else the replica's `InvalidSettings` (CanisterContractViolation).
fn nat(v: &Nat, what: &str, max: u128) -> Result<u128, Reject> {
    u128::try_from(&v.0)
        .ok()
        .filter(|x| *x <= max)
        .ok_or_else(|| Reject::new(ErrorCode::CanisterContractViolation, format!("Could not validate the settings: {what} {v} is out of range (at most {max})")))
}

fn n(v: impl Into<u128>) -> Nat {
    Nat::from(v.into())
}

pub(crate) fn not_found(id: Principal) -> Reject {
    Reject::new(ErrorCode::CanisterNotFound, format!("Canister {id} not found"))
}

fn not_controller(c: &Canister, sender: Principal) -> Reject {
    let list: Vec<String> = c.sys.controllers.iter().map(|p| p.to_text()).collect();
    Reject::new(
        ErrorCode::CanisterInvalidController,
        format!(
            "Only the controllers of the canister {} can control it.\nCanister's controllers: {}\nSender's ID: {sender}",
            c.sys.id,
            list.join(" ")
        ),
    )
}

fn snapshot_not_found(id: &[u8], canister: Principal) -> Reject {
    Reject::new(ErrorCode::CanisterSnapshotNotFound, format!("Could not find the snapshot ID {} for canister {canister}", hex::encode(id)))
}

/// Mode and options of `install_code` from the Candid variant.
pub fn install_mode(mode: &mgmt::CanisterInstallMode) -> (InstallMode, UpgradeOptions) {
    match mode {
        mgmt::CanisterInstallMode::Install => (InstallMode::Install, UpgradeOptions::default()),
        mgmt::CanisterInstallMode::Reinstall => (InstallMode::Reinstall, UpgradeOptions::default()),
        mgmt::CanisterInstallMode::Upgrade(flags) => {
            let f = flags.unwrap_or_default();
            (
                InstallMode::Upgrade,
                UpgradeOptions {
                    skip_pre_upgrade: f.skip_pre_upgrade.unwrap_or(false),
                    keep_wasm_memory: f.wasm_memory_persistence == Some(mgmt::WasmMemoryPersistence::Keep),
                },
            )
        }
    }
}

impl Executor {
    // ------------------------------------------------------------------ shared checks

    /// The canister exists and `sender` controls it ("Only controllers of the canister ...").
    pub(crate) fn controlled_by(&self, id: Principal, sender: Principal) -> Result<&Canister, Reject> {
        let c = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
        if !c.sys.controllers.contains(&sender) {
            return Err(not_controller(c, sender));
        }
        Ok(c)
    }

    /// Controllers or the canister itself (chunk store methods, `canister_status`).
    fn controlled_by_or_self(&self, id: Principal, sender: Principal) -> Result<&Canister, Reject> {
        let c = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
        if sender != id && !c.sys.controllers.contains(&sender) {
            return Err(not_controller(c, sender));
        }
        Ok(c)
    }

    // ------------------------------------------------------------------ history

    /// Appends to the canister history ("IC method canister_info"), with the canister's version
    /// after the change.
    pub(crate) fn record_change(&mut self, id: Principal, by: &ChangeBy, details: ChangeDetails) {
        let now = self.now;
        let Some(c) = self.canisters.get_mut(&id) else { return };
        let change = Change { timestamp_nanos: now, canister_version: c.sys.version, origin: by.origin(), details: Some(details) };
        c.mgmt.history.push_back(change);
        while c.mgmt.history.len() > MAX_HISTORY {
            c.mgmt.history.pop_front();
        }
        c.mgmt.total_changes += 1;
    }

    pub(crate) fn record_creation(&mut self, id: Principal, by: &ChangeBy) {
        let c = &self.canisters[&id];
        let vars = &c.sys.env_vars;
        let record = mgmt::CreationRecord {
            controllers: c.sys.controllers.clone(),
            environment_variables_hash: (!vars.is_empty()).then(|| env_vars_hash(vars)),
        };
        self.record_change(id, by, ChangeDetails::Creation(record));
    }

    /// The canister history: the most recent changes (oldest first) and how many were ever made.
    pub fn canister_history(&self, id: Principal) -> (Vec<Change>, u64) {
        let c = self.canisters.get(&id).unwrap_or_else(|| panic!("no canister {id}"));
        (c.mgmt.history.iter().cloned().collect(), c.mgmt.total_changes)
    }

    /// "IC method canister_info": anyone may ask (the caller check is the dispatcher's).
    pub fn canister_info(&self, id: Principal, num_requested_changes: Option<u64>) -> Result<mgmt::CanisterInfoResult, Reject> {
        let c = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
        let want = num_requested_changes.unwrap_or(0) as usize;
        let skip = c.mgmt.history.len().saturating_sub(want);
        Ok(mgmt::CanisterInfoResult {
            total_num_changes: c.mgmt.total_changes,
            recent_changes: c.mgmt.history.iter().skip(skip).cloned().collect(),
            module_hash: c.runtime.as_ref().map(|r| r.module.hash.to_vec()),
            controllers: c.sys.controllers.clone(),
        })
    }

    // ------------------------------------------------------------------ stop requests

    /// `stop_canister` calls past the replica's timeout are rejected; the canister stays
    /// Stopping ("IC method stop_canister": "Otherwise, this method returns an error").
    pub(crate) fn expire_stop_requests(&mut self) {
        let now = self.now;
        let mut expired = Vec::new();
        for (id, c) in self.canisters.iter_mut() {
            let (late, waiting): (Vec<PendingStop>, Vec<PendingStop>) = std::mem::take(&mut c.mgmt.pending_stops).into_iter().partition(|w| now >= w.deadline);
            c.mgmt.pending_stops = waiting;
            expired.extend(late.into_iter().map(|w| (*id, w)));
        }
        for (id, w) in expired {
            let r = Reject::new(ErrorCode::StopCanisterRequestTimeout, format!("Stop canister request for {id} timed out"));
            self.respond(&w.origin, crate::executor::Payload::Reject(r.code, r.message), r.error_code, w.refund, w.tree);
        }
    }

    // ------------------------------------------------------------------ settings

    fn validate_settings(&self, s: &mgmt::CanisterSettings) -> Result<(), Reject> {
        // Lists over 10 fail the replica's Candid decoding (bounded vectors): InvalidManagementPayload.
        if let Some(c) = &s.controllers {
            if c.len() > MAX_CONTROLLERS {
                return Err(Reject::new(
                    ErrorCode::InvalidManagementPayload,
                    format!("Invalid settings: Number of controllers {} exceeds the maximum of {MAX_CONTROLLERS}", c.len()),
                ));
            }
        }
        if let Some(v) = &s.compute_allocation {
            nat(v, "compute_allocation", 100)?;
        }
        if let Some(v) = &s.memory_allocation {
            nat(v, "memory_allocation", u64::MAX as u128)?;
        }
        if let Some(v) = &s.freezing_threshold {
            nat(v, "freezing_threshold", u64::MAX as u128)?;
        }
        for (v, what) in [(&s.reserved_cycles_limit, "reserved_cycles_limit"), (&s.log_memory_limit, "log_memory_limit")] {
            if let Some(v) = v {
                nat(v, what, u128::MAX)?;
            }
        }
        if let Some(v) = &s.wasm_memory_limit {
            nat(v, "wasm_memory_limit", (1u128 << 48) - 1)?;
        }
        if let Some(v) = &s.wasm_memory_threshold {
            nat(v, "wasm_memory_threshold", u64::MAX as u128)?;
        }
        if let Some(vars) = &s.environment_variables {
            let mut names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
            names.sort();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(Reject::new(ErrorCode::InvalidManagementPayload, "Invalid settings: duplicate environment variable names".to_string()));
            }
        }
        let viewers = |v: Option<usize>| v.unwrap_or(0) > MAX_CONTROLLERS;
        let log = s.log_visibility.as_ref().map(|v| if let LogVisibility::AllowedViewers(l) = v { l.len() } else { 0 });
        let snap = s.snapshot_visibility.as_ref().map(|v| if let SnapshotVisibility::AllowedViewers(l) = v { l.len() } else { 0 });
        if viewers(log) || viewers(snap) {
            return Err(Reject::new(ErrorCode::InvalidManagementPayload, format!("Invalid settings: at most {MAX_CONTROLLERS} allowed viewers")));
        }
        Ok(())
    }

    /// Applies the settings present (absent ones are unchanged); validated before.
    fn apply_settings(&mut self, id: Principal, s: &mgmt::CanisterSettings) {
        let c = self.canisters.get_mut(&id).expect("canister");
        let get = |v: &Option<Nat>| v.as_ref().map(|v| u128::try_from(&v.0).expect("validated"));
        if let Some(ctrl) = &s.controllers {
            c.sys.controllers = ctrl.clone();
        }
        if let Some(t) = get(&s.freezing_threshold) {
            c.sys.freezing_threshold_seconds = t as u64;
        }
        if let Some(vars) = &s.environment_variables {
            let mut vars: Vec<(String, String)> = vars.iter().map(|v| (v.name.clone(), v.value.clone())).collect();
            vars.sort();
            c.sys.env_vars = vars;
        }
        let st = &mut c.mgmt.settings;
        if let Some(v) = get(&s.compute_allocation) {
            st.compute_allocation = v;
        }
        if let Some(v) = get(&s.memory_allocation) {
            st.memory_allocation = v;
        }
        if let Some(v) = get(&s.reserved_cycles_limit) {
            st.reserved_cycles_limit = v;
        }
        if let Some(v) = &s.log_visibility {
            st.log_visibility = v.clone();
        }
        if let Some(v) = get(&s.log_memory_limit) {
            st.log_memory_limit = v;
        }
        if let Some(v) = &s.snapshot_visibility {
            st.snapshot_visibility = v.clone();
        }
        if let Some(v) = get(&s.wasm_memory_limit) {
            st.wasm_memory_limit = v;
        }
        if let Some(v) = get(&s.wasm_memory_threshold) {
            st.wasm_memory_threshold = v;
        }
    }

    /// "IC method create_canister" from a canister: `cycles` were attached; the creation fee is
    /// kept and the rest becomes the new canister's balance. Controllers default to the caller.
    pub(crate) fn create_canister_by(&mut self, by: &ChangeBy, settings: Option<mgmt::CanisterSettings>, cycles: u128) -> Result<Principal, Reject> {
        let settings = settings.unwrap_or_default();
        self.validate_settings(&settings)?;
        if cycles < costs::CREATE_CANISTER_FEE {
            return Err(Reject::new(
                ErrorCode::InsufficientCyclesForCreateCanister,
                format!(
                    "Creating a canister requires a fee of {} that is deducted from the canister's initial balance but only {cycles} cycles were received with the create_canister request.",
                    costs::CREATE_CANISTER_FEE
                ),
            ));
        }
        let id = self.new_canister(crate::executor::CanisterSettings {
            controllers: vec![by.principal],
            cycles: cycles - costs::CREATE_CANISTER_FEE,
            env_vars: Vec::new(),
        });
        self.apply_settings(id, &settings);
        self.record_creation(id, by);
        Ok(id)
    }

    /// "IC method provisional_create_canister_with_cycles": as `create_canister`, but anyone may
    /// call it and the balance is `amount` fresh cycles (default 100T); `specified_id` picks the id.
    pub(crate) fn provisional_create_by(&mut self, by: &ChangeBy, args: mgmt::ProvisionalCreateCanisterWithCyclesArgs) -> Result<Principal, Reject> {
        let settings = args.settings.unwrap_or_default();
        self.validate_settings(&settings)?;
        let cycles = match &args.amount {
            Some(a) => nat(a, "amount", u128::MAX)?,
            None => crate::executor::DEFAULT_CYCLES,
        };
        let initial = crate::executor::CanisterSettings { controllers: vec![by.principal], cycles, env_vars: Vec::new() };
        let id = match args.specified_id {
            Some(id) if self.canisters.contains_key(&id) => {
                return Err(Reject::new(ErrorCode::CanisterIdAlreadyExists, format!("Unsuccessful canister creation: canister id {id} already exists.")))
            }
            Some(id) => {
                self.insert_canister(id, initial);
                id
            }
            None => self.new_canister(initial),
        };
        self.apply_settings(id, &settings);
        self.record_creation(id, by);
        Ok(id)
    }

    /// "IC method update_settings": only controllers; absent fields are unchanged.
    pub fn update_settings(&mut self, id: Principal, sender: Principal, settings: mgmt::CanisterSettings) -> Result<(), Reject> {
        self.update_settings_by(id, &ChangeBy::user(sender), settings)
    }

    pub(crate) fn update_settings_by(&mut self, id: Principal, by: &ChangeBy, settings: mgmt::CanisterSettings) -> Result<(), Reject> {
        self.controlled_by(id, by.principal)?;
        self.validate_settings(&settings)?;
        self.apply_settings(id, &settings);
        self.canisters.get_mut(&id).unwrap().sys.version += 1;
        if let Some(controllers) = settings.controllers {
            self.record_change(id, by, ChangeDetails::ControllersChange(mgmt::ControllersChangeRecord { controllers }));
        }
        Ok(())
    }

    // ------------------------------------------------------------------ chunk store

    /// "IC method upload_chunk": controllers or the canister itself; at most 1 MiB; returns the
    /// chunk's SHA-256.
    pub fn upload_chunk(&mut self, id: Principal, sender: Principal, chunk: Vec<u8>) -> Result<[u8; 32], Reject> {
        let c = self.controlled_by_or_self(id, sender)?;
        if chunk.len() > MAX_CHUNK_BYTES {
            return Err(Reject::new(
                ErrorCode::CanisterContractViolation,
                format!("Error from Wasm chunk store: Wasm chunk size {} exceeds the maximum chunk size of {MAX_CHUNK_BYTES}.", chunk.len()),
            ));
        }
        let hash: [u8; 32] = Sha256::digest(&chunk).into();
        if !c.mgmt.chunks.contains_key(&hash) && c.mgmt.chunks.len() >= CHUNK_STORE_SIZE {
            return Err(Reject::new(ErrorCode::CanisterContractViolation, format!("Error from Wasm chunk store: Wasm chunk store of {id} is full ({CHUNK_STORE_SIZE} chunks).")));
        }
        // Each chunk is charged as 1 MiB of storage: the canister must not become frozen by it.
        let limit = costs::freezing_limit(c.memory_bytes() + MAX_CHUNK_BYTES as u64, c.sys.freezing_threshold_seconds);
        if c.sys.cycles < limit {
            return Err(Reject::new(
                ErrorCode::InsufficientCyclesInMemoryGrow,
                format!("Canister {id} does not have enough cycles to store another chunk: balance {}, freezing limit {limit}", c.sys.cycles),
            ));
        }
        self.canisters.get_mut(&id).unwrap().mgmt.chunks.insert(hash, chunk);
        Ok(hash)
    }

    /// "IC method stored_chunks": the hashes of the chunks in the store.
    pub fn stored_chunks(&self, id: Principal, sender: Principal) -> Result<Vec<[u8; 32]>, Reject> {
        let c = self.controlled_by_or_self(id, sender)?;
        Ok(c.mgmt.chunks.keys().copied().collect())
    }

    /// "IC method clear_chunk_store".
    pub fn clear_chunk_store(&mut self, id: Principal, sender: Principal) -> Result<(), Reject> {
        self.controlled_by_or_self(id, sender)?;
        self.canisters.get_mut(&id).unwrap().mgmt.chunks.clear();
        Ok(())
    }

    /// "IC method install_chunked_code": the caller controls the target, and controls (or is)
    /// the store canister; the chunks are concatenated, the SHA-256 checked, then `install_code`.
    pub fn install_chunked_code(&mut self, sender: Principal, args: mgmt::InstallChunkedCodeArgs) -> Result<(), Reject> {
        self.install_chunked_code_by(&ChangeBy::user(sender), args)
    }

    pub(crate) fn install_chunked_code_by(&mut self, by: &ChangeBy, args: mgmt::InstallChunkedCodeArgs) -> Result<(), Reject> {
        let target = args.target_canister;
        self.controlled_by(target, by.principal)?;
        let store_id = args.store_canister.unwrap_or(target);
        // One subnet: every existing canister is on the target's subnet.
        let store = self.controlled_by_or_self(store_id, by.principal)?;
        let mut wasm = Vec::new();
        for h in &args.chunk_hashes_list {
            let chunk = <[u8; 32]>::try_from(h.hash.as_slice()).ok().and_then(|k| store.mgmt.chunks.get(&k));
            let Some(chunk) = chunk else {
                return Err(Reject::new(
                    ErrorCode::CanisterContractViolation,
                    format!("Error from Wasm chunk store: Chunk {} not found in the chunk store of {store_id}.", hex::encode(&h.hash)),
                ));
            };
            wasm.extend_from_slice(chunk);
        }
        let actual = Sha256::digest(&wasm);
        if actual.as_slice() != args.wasm_module_hash.as_slice() {
            return Err(Reject::new(
                ErrorCode::CanisterContractViolation,
                format!(
                    "Error from Wasm chunk store: Wasm module hash {} does not match given hash {}.",
                    hex::encode(actual),
                    hex::encode(&args.wasm_module_hash)
                ),
            ));
        }
        let (mode, options) = install_mode(&args.mode);
        self.install_code_by(target, mode, options, &wasm, args.arg, by)
    }

    // ------------------------------------------------------------------ status, cycles, deletion

    /// "IC method canister_status": controllers or the canister itself.
    pub fn canister_status(&self, id: Principal, sender: Principal) -> Result<mgmt::CanisterStatusResult, Reject> {
        let c = self.controlled_by_or_self(id, sender)?;
        let heap = c.runtime.as_ref().map_or(0, |r| r.heap_size()) as u128;
        let stable = c.sys.stable.size_bytes() as u128;
        let (binary, custom) = c.runtime.as_ref().map_or((0, 0), |r| (r.module.wasm.len() as u128, r.module.custom_sections_size as u128));
        let memory = c.memory_bytes() as u128;
        let st = &c.mgmt.settings;
        Ok(mgmt::CanisterStatusResult {
            status: match c.sys.status.unwrap_or(CanisterStatus::Running) {
                CanisterStatus::Running => mgmt::CanisterStatusType::Running,
                CanisterStatus::Stopping => mgmt::CanisterStatusType::Stopping,
                CanisterStatus::Stopped => mgmt::CanisterStatusType::Stopped,
            },
            ready_for_migration: c.sys.status == Some(CanisterStatus::Stopped),
            version: c.sys.version,
            settings: mgmt::DefiniteCanisterSettings {
                controllers: c.sys.controllers.clone(),
                compute_allocation: n(st.compute_allocation),
                memory_allocation: n(st.memory_allocation),
                freezing_threshold: n(c.sys.freezing_threshold_seconds),
                reserved_cycles_limit: n(st.reserved_cycles_limit),
                log_visibility: st.log_visibility.clone(),
                log_memory_limit: n(st.log_memory_limit),
                snapshot_visibility: st.snapshot_visibility.clone(),
                wasm_memory_limit: n(st.wasm_memory_limit),
                wasm_memory_threshold: n(st.wasm_memory_threshold),
                environment_variables: c.sys.env_vars.iter().map(|(name, value)| mgmt::EnvironmentVariable { name: name.clone(), value: value.clone() }).collect(),
            },
            module_hash: c.runtime.as_ref().map(|r| r.module.hash.to_vec()),
            memory_size: n(memory),
            memory_metrics: mgmt::MemoryMetrics {
                wasm_memory_size: n(heap),
                stable_memory_size: n(stable),
                global_memory_size: n(0u8),
                wasm_binary_size: n(binary),
                custom_sections_size: n(custom),
                canister_history_size: n(0u8),
                wasm_chunk_store_size: n(c.mgmt.chunk_store_bytes()),
                snapshots_size: n(c.mgmt.snapshots_bytes()),
                log_memory_store_size: n(0u8),
            },
            cycles: n(c.sys.cycles),
            reserved_cycles: n(0u8),
            idle_cycles_burned_per_day: n(memory * costs::STORAGE_FEE_PER_GIB_SECOND * 86_400 / (1u128 << 30)),
            query_stats: mgmt::QueryStats {
                num_calls_total: n(0u8),
                num_instructions_total: n(0u8),
                request_payload_bytes_total: n(0u8),
                response_payload_bytes_total: n(0u8),
            },
        })
    }

    /// "IC method deposit_cycles": the cycles go to the target (any caller).
    pub(crate) fn deposit_cycles(&mut self, id: Principal, cycles: u128) -> Result<(), Reject> {
        let c = self.canisters.get_mut(&id).ok_or_else(|| not_found(id))?;
        c.sys.cycles += cycles;
        Ok(())
    }

    /// "IC method delete_canister": only controllers, only a stopped canister; its state,
    /// snapshots and cycles are gone and its id is never reused.
    pub fn delete_canister(&mut self, id: Principal, sender: Principal) -> Result<(), Reject> {
        let c = self.controlled_by(id, sender)?;
        if id == sender {
            return Err(Reject::new(ErrorCode::CanisterInvalidController, format!("Canister {id} cannot delete itself.")));
        }
        if c.sys.status != Some(CanisterStatus::Stopped) {
            return Err(Reject::new(ErrorCode::CanisterNotStopped, format!("Canister {id} must be stopped before it is deleted.")));
        }
        self.canisters.remove(&id);
        Ok(())
    }

    // ------------------------------------------------------------------ snapshots

    /// "IC method take_canister_snapshot": only controllers. The spec does not require the
    /// canister to be stopped (it advises it); with `replace_snapshot` that snapshot is deleted
    /// once the new one exists; with `uninstall_code` the code is then uninstalled.
    pub fn take_canister_snapshot(&mut self, id: Principal, sender: Principal, replace_snapshot: Option<Vec<u8>>) -> Result<mgmt::Snapshot, Reject> {
        self.take_snapshot_by(id, &ChangeBy::user(sender), replace_snapshot, false)
    }

    pub(crate) fn take_snapshot_by(&mut self, id: Principal, by: &ChangeBy, replace: Option<Vec<u8>>, uninstall: bool) -> Result<mgmt::Snapshot, Reject> {
        let c = self.controlled_by(id, by.principal)?;
        if let Some(r) = &replace {
            if !c.mgmt.snapshots.iter().any(|s| &s.id == r) {
                return Err(snapshot_not_found(r, id));
            }
        } else if c.mgmt.snapshots.len() >= MAX_SNAPSHOTS {
            return Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!("Canister {id} has reached the maximum number of snapshots allowed: {MAX_SNAPSHOTS}."),
            ));
        }
        if c.runtime.is_none() {
            return Err(Reject::new(ErrorCode::CanisterRejectedMessage, format!("Failed to create snapshot for empty canister {id}:")));
        }
        let local = self.fresh_id();
        let now = self.now;
        let c = self.canisters.get_mut(&id).unwrap();
        let rt = c.runtime.as_mut().unwrap();
        let heap = rt.snapshot();
        let snap = CanisterSnapshot {
            id: [local.to_be_bytes().as_slice(), id.as_slice()].concat(),
            taken_at: now,
            canister_version: c.sys.version,
            module: rt.module.clone(),
            heap: heap.heap,
            globals: heap.globals,
            stable: c.sys.stable.clone(),
            certified_data: c.sys.certified_data.clone(),
            global_timer: c.sys.global_timer,
            chunks: c.mgmt.chunks.clone(),
        };
        // The new snapshot is memory the canister pays for: it must not freeze it.
        let replaced = replace.as_ref().map_or(0, |r| c.mgmt.snapshots.iter().find(|s| &s.id == r).map_or(0, |s| s.size()));
        let memory = c.memory_bytes() + snap.size() - replaced;
        let limit = costs::freezing_limit(memory, c.sys.freezing_threshold_seconds);
        if c.sys.cycles < limit {
            return Err(Reject::new(
                ErrorCode::CanisterOutOfCycles,
                format!(
                    "Canister snapshotting failed with: `Canister {id} does not have enough cycles for a snapshot of {} bytes: balance {}, freezing limit {limit}`",
                    snap.size(),
                    c.sys.cycles
                ),
            ));
        }
        let described = snap.describe();
        if let Some(r) = replace {
            c.mgmt.snapshots.retain(|s| s.id != r);
        }
        c.mgmt.snapshots.push(snap);
        if uninstall {
            self.uninstall_by(id, by);
        }
        Ok(described)
    }

    fn find_snapshot(&self, snapshot_id: &[u8], for_canister: Principal) -> Result<&CanisterSnapshot, Reject> {
        let owner = snapshot_id.get(8..).map(Principal::from_slice);
        owner
            .and_then(|o| self.canisters.get(&o))
            .and_then(|c| c.mgmt.snapshots.iter().find(|s| s.id == snapshot_id))
            .ok_or_else(|| snapshot_not_found(snapshot_id, for_canister))
    }

    /// "IC method load_canister_snapshot": the caller controls the target and the snapshot's
    /// canister; module, heap, globals, stable memory, certified data, global timer and chunk
    /// store are restored. Open call contexts stay (stop the canister first).
    pub fn load_canister_snapshot(&mut self, id: Principal, sender: Principal, snapshot_id: Vec<u8>) -> Result<(), Reject> {
        self.load_snapshot_by(id, &ChangeBy::user(sender), snapshot_id)
    }

    pub(crate) fn load_snapshot_by(&mut self, id: Principal, by: &ChangeBy, snapshot_id: Vec<u8>) -> Result<(), Reject> {
        self.controlled_by(id, by.principal)?;
        let snap = self.find_snapshot(&snapshot_id, id)?.clone();
        let owner = Principal::from_slice(&snapshot_id[8..]);
        if owner != id && !self.canisters[&owner].sys.controllers.contains(&by.principal) {
            return Err(Reject::new(
                ErrorCode::CanisterRejectedMessage,
                format!(
                    "Only a controller of the canister that snapshot {} belongs to can load it on canister {id}. Sender: {}.",
                    hex::encode(&snapshot_id),
                    by.principal
                ),
            ));
        }
        let mut rt = crate::instance::Runtime::new(snap.module.clone(), self.subnet)
            .map_err(|e| Reject::new(ErrorCode::CanisterInvalidWasm, format!("Error from Canister {id}: {e}")))?;
        rt.restore(crate::instance::Snapshot { heap: snap.heap, globals: snap.globals })
            .map_err(|e| Reject::new(ErrorCode::CanisterContractViolation, format!("Error from Canister {id}: loading the snapshot: {e}")))?;
        let c = self.canisters.get_mut(&id).unwrap();
        c.runtime = Some(rt);
        c.sys.stable = snap.stable;
        c.sys.certified_data = snap.certified_data;
        c.sys.global_timer = snap.global_timer;
        c.mgmt.chunks = snap.chunks;
        c.sys.version += 1;
        let record = mgmt::LoadSnapshotRecord {
            from_canister_id: (owner != id).then_some(owner),
            snapshot_id,
            canister_version: snap.canister_version,
            taken_at_timestamp: snap.taken_at,
            source: mgmt::SnapshotSource::TakenFromCanister(candid::Reserved),
        };
        self.record_change(id, by, ChangeDetails::LoadSnapshot(record));
        Ok(())
    }

    /// "IC method list_canister_snapshots": who may list follows `snapshot_visibility`.
    pub fn list_canister_snapshots(&self, id: Principal, sender: Principal) -> Result<Vec<mgmt::Snapshot>, Reject> {
        let c = self.canisters.get(&id).ok_or_else(|| not_found(id))?;
        let allowed = c.sys.controllers.contains(&sender)
            || match &c.mgmt.settings.snapshot_visibility {
                SnapshotVisibility::Public => true,
                SnapshotVisibility::AllowedViewers(l) => l.contains(&sender),
                SnapshotVisibility::Controllers => false,
            };
        if !allowed {
            return Err(not_controller(c, sender));
        }
        Ok(c.mgmt.snapshots.iter().map(|s| s.describe()).collect())
    }

    /// "IC method delete_canister_snapshot": only controllers of the snapshot's canister.
    pub fn delete_canister_snapshot(&mut self, id: Principal, sender: Principal, snapshot_id: Vec<u8>) -> Result<(), Reject> {
        let c = self.controlled_by(id, sender)?;
        if !c.mgmt.snapshots.iter().any(|s| s.id == snapshot_id) {
            return Err(snapshot_not_found(&snapshot_id, id));
        }
        self.canisters.get_mut(&id).unwrap().mgmt.snapshots.retain(|s| s.id != snapshot_id);
        Ok(())
    }
}
