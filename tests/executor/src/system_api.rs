//! The `ic0` System API imports, over the state of one canister and the message it runs.
//!
//! Every function the executor knows is defined here; any other import of a module is linked
//! to a function that traps naming itself, so a canister that uses something unimplemented
//! fails loudly instead of getting a silent default.

use crate::costs;
use crate::instrument::MEMORY_EXPORT;
use crate::stable::StableMemory;
use crate::types::CanisterStatus;
use candid::Principal;
use std::fmt;
use wasmtime::{Caller, Engine, Extern, Linker, Memory, Module, Result};

/// Which entry point a message runs; decides which System API functions are available
/// (interface spec, "Overview of imports").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryKind {
    #[default]
    Idle,
    Init,
    PreUpgrade,
    PostUpgrade,
    Update,
    Query,
    /// A query method invoked by an update call or another canister: runs replicated, state
    /// changes discarded.
    ReplicatedQuery,
    InspectMessage,
    ReplyCallback,
    RejectCallback,
    Cleanup,
    GlobalTimer,
    Heartbeat,
}

impl EntryKind {
    pub fn is_callback(self) -> bool {
        matches!(self, Self::ReplyCallback | Self::RejectCallback)
    }
    fn may_call(self) -> bool {
        matches!(self, Self::Update | Self::ReplyCallback | Self::RejectCallback | Self::GlobalTimer | Self::Heartbeat)
    }
    fn is_query_like(self) -> bool {
        matches!(self, Self::Query | Self::ReplicatedQuery | Self::InspectMessage)
    }
}

/// The canister's system state that the wasm reads and writes. Lives in the executor's canister
/// record between messages; swapped into the store while a message runs.
#[derive(Default)]
pub struct SystemState {
    pub id: Principal,
    pub controllers: Vec<Principal>,
    pub cycles: u128,
    pub stable: StableMemory,
    pub certified_data: Vec<u8>,
    /// 0 = no timer set (interface spec: global timer).
    pub global_timer: u64,
    pub version: u64,
    pub status: Option<CanisterStatus>,
    /// Sorted by name, as `env_var_name` indices must be stable.
    pub env_vars: Vec<(String, String)>,
    pub logs: Vec<String>,
}

/// A call under construction (between `call_new` and `call_perform`).
#[derive(Clone, Debug)]
pub struct CallBuilder {
    pub callee: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    pub cycles: u128,
    pub reply: (u32, u32),
    pub reject: (u32, u32),
    pub cleanup: Option<(u32, u32)>,
    pub timeout_seconds: Option<u32>,
}

/// The message being executed and what it has produced so far.
#[derive(Default)]
pub struct MessageCtx {
    pub kind: EntryKind,
    pub now: u64,
    pub caller: Principal,
    pub method: String,
    pub arg: Vec<u8>,
    /// In a reject callback: (code, message).
    pub reject: Option<(u32, String)>,
    pub replicated: bool,
    /// The call context is open and has not responded yet.
    pub can_respond: bool,
    /// `Ok(reply)` or `Err(reject message)` produced by this message.
    pub response: Option<Result<Vec<u8>, String>>,
    pub reply_buf: Vec<u8>,
    pub cycles_available: u128,
    pub cycles_refunded: u128,
    pub call: Option<CallBuilder>,
    pub outgoing: Vec<CallBuilder>,
    pub instruction_limit: u64,
    /// Instructions of earlier messages of the same call context (performance_counter(1)).
    pub call_context_instructions: u64,
    /// Deadline of the incoming best-effort call (0 = none).
    pub deadline: u64,
    pub accepted: bool,
}

pub struct HostState {
    pub sys: SystemState,
    pub msg: MessageCtx,
    pub memory: Option<Memory>,
    pub subnet: Principal,
}

/// Why a host function trapped; read back by the executor after the call fails.
#[derive(Debug, Clone)]
pub enum HostTrap {
    /// `ic0.trap(msg)`.
    Called(String),
    /// Misuse of the System API (wrong context, out of bounds, ...): CanisterContractViolation.
    Violation(String),
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostTrap::Called(m) => write!(f, "Canister called `ic0.trap` with message: '{m}'"),
            HostTrap::Violation(m) => write!(f, "Canister violated contract: {m}"),
        }
    }
}

impl std::error::Error for HostTrap {}

fn violation<T>(msg: impl Into<String>) -> Result<T> {
    Err(wasmtime::Error::new(HostTrap::Violation(msg.into())))
}

type C<'a> = Caller<'a, HostState>;

fn mem(c: &mut C<'_>) -> Result<Memory> {
    match c.data().memory {
        Some(m) => Ok(m),
        None => match c.get_export(MEMORY_EXPORT) {
            Some(Extern::Memory(m)) => Ok(m),
            _ => violation("the canister module has no memory"),
        },
    }
}

fn read_mem(c: &mut C<'_>, api: &str, src: u64, size: u64) -> Result<Vec<u8>> {
    let m = mem(c)?;
    let data = m.data(&*c);
    match src.checked_add(size) {
        Some(end) if end <= data.len() as u64 => Ok(data[src as usize..end as usize].to_vec()),
        _ => violation(format!("ic0.{api}: heap out of bounds (src {src}, size {size}, heap {})", data.len())),
    }
}

fn write_mem(c: &mut C<'_>, api: &str, dst: u64, bytes: &[u8]) -> Result<()> {
    let m = mem(c)?;
    let data = m.data_mut(&mut *c);
    match dst.checked_add(bytes.len() as u64) {
        Some(end) if end <= data.len() as u64 => {
            data[dst as usize..end as usize].copy_from_slice(bytes);
            Ok(())
        }
        _ => violation(format!("ic0.{api}: heap out of bounds (dst {dst}, size {}, heap {})", bytes.len(), data.len())),
    }
}

/// The `*_copy(dst, offset, size)` pattern: copy `data[offset..offset+size]` to the heap.
fn copy_out(c: &mut C<'_>, api: &str, dst: u32, offset: u32, size: u32, data: &[u8]) -> Result<()> {
    let (offset, size) = (offset as usize, size as usize);
    match offset.checked_add(size) {
        Some(end) if end <= data.len() => write_mem(c, api, dst as u64, &data[offset..end]),
        _ => violation(format!("ic0.{api}: offset {offset} + size {size} exceeds the data length {}", data.len())),
    }
}

fn write_u128(c: &mut C<'_>, api: &str, dst: u32, v: u128) -> Result<()> {
    write_mem(c, api, dst as u64, &v.to_le_bytes())
}

fn u128_of(high: u64, low: u64) -> u128 {
    ((high as u128) << 64) | low as u128
}

fn require(c: &C<'_>, api: &str, ok: impl Fn(EntryKind) -> bool) -> Result<()> {
    let kind = c.data().msg.kind;
    if ok(kind) {
        Ok(())
    } else {
        violation(format!("ic0.{api} cannot be executed in {kind:?} mode"))
    }
}

fn principal_from(bytes: &[u8], api: &str) -> Result<Principal> {
    Principal::try_from_slice(bytes).or_else(|e| violation(format!("ic0.{api}: invalid principal: {e}")))
}

fn instructions_so_far(c: &C<'_>) -> u64 {
    let left = c.get_fuel().unwrap_or(0);
    c.data().msg.instruction_limit.saturating_sub(left)
}

/// Builds the linker for one module: the known ic0 functions plus trapping stand-ins for every
/// other import the module has.
pub fn linker_for(engine: &Engine, module: &Module) -> std::result::Result<Linker<HostState>, String> {
    let mut l = Linker::new(engine);
    define_ic0(&mut l).map_err(|e| format!("defining ic0: {e:#}"))?;
    for import in module.imports() {
        let (m, n) = (import.module().to_string(), import.name().to_string());
        if l.get_by_import(import.clone()).is_some() {
            continue;
        }
        // A known name with a different signature is a module we cannot run: fail at install.
        let Some(fty) = import.ty().func().cloned() else {
            return Err(format!("unsupported non-function import {m}.{n}"));
        };
        if m == "ic0" && l.iter_by_name(&m, &n) {
            return Err(format!("import ic0.{n} has an unexpected signature {fty:?}"));
        }
        let what = format!("{m}.{n}");
        l.func_new(&m, &n, fty, move |_c, _args, _rets| {
            Err(wasmtime::Error::new(HostTrap::Violation(format!("{what} is not implemented by ic_executor"))))
        })
        .map_err(|e| format!("stubbing {m}.{n}: {e:#}"))?;
    }
    Ok(l)
}

trait HasName {
    fn iter_by_name(&self, module: &str, name: &str) -> bool;
}

impl HasName for Linker<HostState> {
    fn iter_by_name(&self, module: &str, name: &str) -> bool {
        self.iter(&mut wasmtime::Store::new(self.engine(), None::<()>).as_context_mut_hack())
            .any(|(m, n, _)| m == module && n == name)
    }
}
