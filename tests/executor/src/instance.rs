//! A running instance of a canister module: the wasmtime store, its heap, table and globals,
//! and how one message is run on it with fuel and rolled back after a trap.

use crate::engine::{engine, CompiledModule};
use crate::instrument::{GLOBAL_EXPORT_PREFIX, MEMORY_EXPORT, TABLE_EXPORT};
use crate::system_api::{HostState, HostTrap, MessageCtx, SystemState};
use crate::types::ErrorCode;
use candid::Principal;
use std::sync::Arc;
use wasmtime::{Global, Instance, Memory, Store, Table, Trap, Val};

/// What to invoke.
#[derive(Clone, Debug)]
pub enum Target {
    /// An exported function `() -> ()` (`canister_update foo`, `canister_init`, ...).
    Export(String),
    /// A function-table entry `(env: i32) -> ()` (call callbacks and cleanups).
    Callback { fun: u32, env: u32 },
}

/// A message that trapped: the replica's error code and the message the caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapInfo {
    pub error_code: ErrorCode,
    pub message: String,
}

/// Heap and globals as they were before a message.
pub struct Snapshot {
    pub(crate) heap: Vec<u8>,
    pub(crate) globals: Vec<Val>,
}

pub struct Runtime {
    pub module: Arc<CompiledModule>,
    store: Store<HostState>,
    instance: Instance,
    memory: Option<Memory>,
    table: Option<Table>,
    globals: Vec<Global>,
    subnet: Principal,
}

impl Runtime {
    /// Instantiates the module (data segments applied, no code run: canister modules have no
    /// start function that matters; `canister_init` is run by the caller).
    pub fn new(module: Arc<CompiledModule>, subnet: Principal) -> Result<Self, String> {
        let mut store = Store::new(
            engine(),
            HostState { sys: SystemState::default(), msg: MessageCtx::default(), memory: None, subnet },
        );
        store.set_fuel(0).map_err(|e| e.to_string())?;
        let instance = module.pre.instantiate(&mut store).map_err(|e| format!("cannot instantiate canister module: {e:#}"))?;
        let memory = instance.get_memory(&mut store, MEMORY_EXPORT);
        let table = instance.get_table(&mut store, TABLE_EXPORT);
        let globals = module
            .mutable_globals
            .iter()
            .map(|g| instance.get_global(&mut store, &format!("{GLOBAL_EXPORT_PREFIX}{g}")).expect("instrumented global export"))
            .collect();
        store.data_mut().memory = memory;
        Ok(Runtime { module, store, instance, memory, table, globals, subnet })
    }

    pub fn heap_size(&self) -> usize {
        self.memory.map_or(0, |m| m.data_size(&self.store))
    }

    pub fn snapshot(&mut self) -> Snapshot {
        let heap = self.memory.map(|m| m.data(&self.store).to_vec()).unwrap_or_default();
        let globals = self.globals.iter().map(|g| g.get(&mut self.store)).collect();
        Snapshot { heap, globals }
    }

    /// Puts heap and globals back as they were at `snap`. A memory cannot shrink, so if the
    /// message grew it, a fresh instance of the same module takes over.
    pub fn restore(&mut self, snap: Snapshot) -> Result<(), String> {
        if self.heap_size() > snap.heap.len() {
            *self = Runtime::new(self.module.clone(), self.subnet)?;
        }
        // A fresh instance (above, or one loading a saved state) may be smaller than the snapshot.
        if let Some(m) = self.memory {
            let have = m.data_size(&self.store);
            if have < snap.heap.len() {
                let pages = ((snap.heap.len() - have) / 65536) as u64;
                m.grow(&mut self.store, pages).map_err(|e| format!("regrowing heap: {e}"))?;
            }
        }
        if let Some(m) = self.memory {
            m.data_mut(&mut self.store)[..snap.heap.len()].copy_from_slice(&snap.heap);
        }
        for (g, v) in self.globals.iter().zip(snap.globals) {
            g.set(&mut self.store, v).map_err(|e| format!("restoring global: {e}"))?;
        }
        Ok(())
    }

    /// Replaces the heap's contents with `heap` (grown as needed; a larger heap keeps its tail
    /// zeroed): an upgrade that keeps the wasm memory, or a loaded snapshot.
    pub fn load_heap(&mut self, heap: &[u8]) -> Result<(), String> {
        let Some(m) = self.memory else {
            return if heap.is_empty() { Ok(()) } else { Err("the module has no memory to load a heap into".into()) };
        };
        let have = m.data_size(&self.store);
        if have < heap.len() {
            m.grow(&mut self.store, ((heap.len() - have) / 65536) as u64).map_err(|e| format!("growing heap: {e}"))?;
        }
        let data = m.data_mut(&mut self.store);
        data[..heap.len()].copy_from_slice(heap);
        data[heap.len()..].fill(0);
        Ok(())
    }

    /// Runs `target` with `msg` over `sys` (swapped in for the duration) and at most
    /// `msg.instruction_limit` instructions. Returns the context (with what the message
    /// produced), the instructions executed, and the trap if any. Rolling back is the
    /// caller's decision.
    pub fn run(&mut self, sys: &mut SystemState, msg: MessageCtx, target: &Target) -> (MessageCtx, u64, Option<TrapInfo>) {
        let limit = msg.instruction_limit;
        std::mem::swap(&mut self.store.data_mut().sys, sys);
        self.store.data_mut().msg = msg;
        self.store.set_fuel(limit).expect("fuel is enabled");
        let result = self.invoke(target);
        let left = self.store.get_fuel().unwrap_or(0);
        self.store.set_fuel(0).expect("fuel is enabled");
        std::mem::swap(&mut self.store.data_mut().sys, sys);
        let msg = std::mem::take(&mut self.store.data_mut().msg);
        let instructions = limit.saturating_sub(left);
        let trap = result.err().map(|e| classify(e, sys.id, limit));
        (msg, instructions, trap)
    }

    fn invoke(&mut self, target: &Target) -> wasmtime::Result<()> {
        match target {
            Target::Export(name) => {
                let func = self.instance.get_typed_func::<(), ()>(&mut self.store, name).map_err(|_| {
                    wasmtime::Error::new(HostTrap::Violation(format!("the module does not export `{name}` as () -> ()")))
                })?;
                func.call(&mut self.store, ())
            }
            Target::Callback { fun, env } => {
                let Some(table) = self.table else {
                    return Err(wasmtime::Error::new(HostTrap::Violation("module has no function table for callbacks".into())));
                };
                let func = table
                    .get(&mut self.store, *fun as u64)
                    .and_then(|r| r.as_func().flatten().cloned())
                    .ok_or_else(|| wasmtime::Error::new(HostTrap::Violation(format!("callback {fun} is not a function in the table"))))?;
                let typed = func
                    .typed::<i32, ()>(&self.store)
                    .map_err(|_| wasmtime::Error::new(HostTrap::Violation(format!("callback {fun} does not have type (i32) -> ()"))))?;
                typed.call(&mut self.store, *env as i32)
            }
        }
    }
}

fn classify(e: wasmtime::Error, canister: Principal, limit: u64) -> TrapInfo {
    let (error_code, text) = if let Some(t) = e.downcast_ref::<HostTrap>() {
        match t {
            HostTrap::Called(_) => (ErrorCode::CanisterCalledTrap, t.to_string()),
            HostTrap::Violation(_) => (ErrorCode::CanisterContractViolation, t.to_string()),
        }
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        if *trap == Trap::OutOfFuel {
            (
                ErrorCode::CanisterInstructionLimitExceeded,
                format!("Canister exceeded the limit of {limit} instructions for single message execution."),
            )
        } else {
            (ErrorCode::CanisterTrapped, format!("Canister trapped: {trap}"))
        }
    } else {
        (ErrorCode::CanisterTrapped, format!("Canister trapped: {e:#}"))
    };
    TrapInfo { error_code, message: format!("Error from Canister {canister}: {text}") }
}
