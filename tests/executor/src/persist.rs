//! Saving an executor's state to bytes and loading it again, so a long load (a benchmark at
//! scale, a rollout) is done once and resumed later, or a command-line client keeps a deployment
//! between runs.
//!
//! Only a quiescent state is saved (no queued message, no open call context): what remains is
//! each canister's system state, stable memory, module, heap and mutable globals, what the
//! management canister keeps about it (settings, chunk store, history, snapshots), and the
//! executor's clock and id counters. Execution history, logs, ingress results and injected
//! faults are not kept. The format is CBOR, versioned; a state saved by another format version or
//! for modules the loader cannot compile is refused with a message.

use crate::canister::Canister;
use crate::engine;
use crate::executor::Executor;
use crate::instance::{Runtime, Snapshot};
use crate::lifecycle::{CanisterSnapshot, StoredSettings};
use ic_management_canister_types::Change;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use crate::stable::StableMemory;
use crate::system_api::SystemState;
use crate::types::CanisterStatus;
use candid::Principal;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use wasmtime::Val;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SavedExecutor {
    format: u32,
    now: u64,
    next_canister: u64,
    next_id: u64,
    rng: u64,
    subnet: Principal,
    canisters: Vec<SavedCanister>,
}

#[derive(Serialize, Deserialize)]
struct SavedCanister {
    id: Principal,
    controllers: Vec<Principal>,
    cycles: u128,
    certified_data: ByteBuf,
    global_timer: u64,
    version: u64,
    /// 0 = not set, 1 running, 2 stopping, 3 stopped.
    status: u8,
    env_vars: Vec<(String, String)>,
    freezing_threshold_seconds: u64,
    stable_pages: u64,
    stable: Vec<(u64, ByteBuf)>,
    module: Option<SavedModule>,
    // Management canister state (absent in states saved before it existed).
    #[serde(default)]
    settings: Option<StoredSettings>,
    #[serde(default)]
    chunks: Vec<ByteBuf>,
    #[serde(default)]
    history: Vec<Change>,
    #[serde(default)]
    total_changes: u64,
    #[serde(default)]
    snapshots: Vec<SavedSnapshot>,
}

#[derive(Serialize, Deserialize)]
struct SavedSnapshot {
    id: ByteBuf,
    taken_at: u64,
    canister_version: u64,
    wasm: ByteBuf,
    heap: ByteBuf,
    globals: Vec<SavedValue>,
    stable_pages: u64,
    stable: Vec<(u64, ByteBuf)>,
    certified_data: ByteBuf,
    global_timer: u64,
    chunks: Vec<ByteBuf>,
}

fn save_stable(s: &StableMemory) -> Vec<(u64, ByteBuf)> {
    s.allocated_pages().map(|(i, p)| (i, ByteBuf::from(p.to_vec()))).collect()
}

fn load_chunks(chunks: Vec<ByteBuf>) -> BTreeMap<[u8; 32], Vec<u8>> {
    chunks.into_iter().map(|c| (Sha256::digest(&c).into(), c.into_vec())).collect()
}

fn save_snapshot(s: &CanisterSnapshot) -> Result<SavedSnapshot, String> {
    Ok(SavedSnapshot {
        id: ByteBuf::from(s.id.clone()),
        taken_at: s.taken_at,
        canister_version: s.canister_version,
        wasm: ByteBuf::from(s.module.wasm.to_vec()),
        heap: ByteBuf::from(s.heap.clone()),
        globals: s.globals.iter().cloned().map(save_value).collect::<Result<_, _>>()?,
        stable_pages: s.stable.size_pages(),
        stable: save_stable(&s.stable),
        certified_data: ByteBuf::from(s.certified_data.clone()),
        global_timer: s.global_timer,
        chunks: s.chunks.values().map(|c| ByteBuf::from(c.clone())).collect(),
    })
}

fn load_snapshot(s: SavedSnapshot) -> Result<CanisterSnapshot, String> {
    Ok(CanisterSnapshot {
        id: s.id.into_vec(),
        taken_at: s.taken_at,
        canister_version: s.canister_version,
        module: engine::compile(&s.wasm)?,
        heap: s.heap.into_vec(),
        globals: s.globals.into_iter().map(load_value).collect(),
        stable: StableMemory::from_pages(s.stable_pages, s.stable.into_iter().map(|(i, p)| (i, p.into_vec())).collect())?,
        certified_data: s.certified_data.into_vec(),
        global_timer: s.global_timer,
        chunks: load_chunks(s.chunks),
    })
}

#[derive(Serialize, Deserialize)]
struct SavedModule {
    wasm: ByteBuf,
    heap: ByteBuf,
    globals: Vec<SavedValue>,
}

#[derive(Serialize, Deserialize)]
enum SavedValue {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

impl Executor {
    /// The whole state as bytes. Refused while anything is in flight.
    pub fn save_state(&mut self) -> Result<Vec<u8>, String> {
        if !self.is_quiescent() {
            return Err("cannot save: messages or calls are in flight (run the executor until idle first)".into());
        }
        let mut canisters = Vec::new();
        for (id, c) in self.canisters.iter_mut() {
            let module = match c.runtime.as_mut() {
                None => None,
                Some(rt) => {
                    let Snapshot { heap, globals } = rt.snapshot();
                    let globals = globals.into_iter().map(save_value).collect::<Result<_, _>>()?;
                    Some(SavedModule { wasm: ByteBuf::from(rt.module.wasm.to_vec()), heap: ByteBuf::from(heap), globals })
                }
            };
            let s = &c.sys;
            canisters.push(SavedCanister {
                id: *id,
                controllers: s.controllers.clone(),
                cycles: s.cycles,
                certified_data: ByteBuf::from(s.certified_data.clone()),
                global_timer: s.global_timer,
                version: s.version,
                status: match s.status {
                    None => 0,
                    Some(CanisterStatus::Running) => 1,
                    Some(CanisterStatus::Stopping) => 2,
                    Some(CanisterStatus::Stopped) => 3,
                },
                env_vars: s.env_vars.clone(),
                freezing_threshold_seconds: s.freezing_threshold_seconds,
                stable_pages: s.stable.size_pages(),
                stable: save_stable(&s.stable),
                module,
                settings: Some(c.mgmt.settings.clone()),
                chunks: c.mgmt.chunks.values().map(|v| ByteBuf::from(v.clone())).collect(),
                history: c.mgmt.history.iter().cloned().collect(),
                total_changes: c.mgmt.total_changes,
                snapshots: c.mgmt.snapshots.iter().map(save_snapshot).collect::<Result<_, _>>()?,
            });
        }
        let saved = SavedExecutor {
            format: FORMAT,
            now: self.now,
            next_canister: self.next_canister,
            next_id: self.next_id,
            rng: self.rng,
            subnet: self.subnet,
            canisters,
        };
        let mut out = Vec::new();
        ciborium::ser::into_writer(&saved, &mut out).map_err(|e| format!("encoding the state: {e}"))?;
        Ok(out)
    }

    /// An executor in the state [`Executor::save_state`] gave.
    pub fn load_state(bytes: &[u8]) -> Result<Executor, String> {
        let saved: SavedExecutor = ciborium::de::from_reader(bytes).map_err(|e| format!("not a saved executor state: {e}"))?;
        if saved.format != FORMAT {
            return Err(format!("saved state has format {}, this executor reads format {FORMAT}", saved.format));
        }
        let mut ex = Executor::new();
        ex.now = saved.now;
        ex.next_canister = saved.next_canister;
        ex.next_id = saved.next_id;
        ex.rng = saved.rng;
        ex.subnet = saved.subnet;
        for c in saved.canisters {
            let sys = SystemState {
                id: c.id,
                controllers: c.controllers,
                cycles: c.cycles,
                stable: StableMemory::from_pages(c.stable_pages, c.stable.into_iter().map(|(i, p)| (i, p.into_vec())).collect())?,
                certified_data: c.certified_data.into_vec(),
                global_timer: c.global_timer,
                version: c.version,
                status: match c.status {
                    0 => None,
                    1 => Some(CanisterStatus::Running),
                    2 => Some(CanisterStatus::Stopping),
                    3 => Some(CanisterStatus::Stopped),
                    n => return Err(format!("canister {}: unknown status {n}", c.id)),
                },
                env_vars: c.env_vars,
                freezing_threshold_seconds: c.freezing_threshold_seconds,
                ..SystemState::default()
            };
            let mut canister = Canister::new(sys);
            canister.mgmt.settings = c.settings.unwrap_or_default();
            canister.mgmt.chunks = load_chunks(c.chunks);
            canister.mgmt.history = c.history.into();
            canister.mgmt.total_changes = c.total_changes;
            canister.mgmt.snapshots = c.snapshots.into_iter().map(load_snapshot).collect::<Result<_, _>>()?;
            if let Some(m) = c.module {
                let module = engine::compile(&m.wasm)?;
                let mut rt = Runtime::new(module, ex.subnet)?;
                let globals = m.globals.into_iter().map(load_value).collect();
                rt.restore(Snapshot { heap: m.heap.into_vec(), globals }).map_err(|e| format!("canister {}: {e}", c.id))?;
                canister.runtime = Some(rt);
            }
            ex.canisters.insert(c.id, canister);
        }
        Ok(ex)
    }
}

fn save_value(v: Val) -> Result<SavedValue, String> {
    Ok(match v {
        Val::I32(x) => SavedValue::I32(x),
        Val::I64(x) => SavedValue::I64(x),
        Val::F32(x) => SavedValue::F32(x),
        Val::F64(x) => SavedValue::F64(x),
        _ => return Err("cannot save a global that is not a number (v128 or reference)".into()),
    })
}

fn load_value(v: SavedValue) -> Val {
    match v {
        SavedValue::I32(x) => Val::I32(x),
        SavedValue::I64(x) => Val::I64(x),
        SavedValue::F32(x) => Val::F32(x),
        SavedValue::F64(x) => Val::F64(x),
    }
}
