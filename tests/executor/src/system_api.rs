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
use wasmtime::{Caller, Engine, Extern, IntoFunc, Linker, Memory, Module, Result};

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
#[derive(Clone)]
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
    /// Freezing threshold in seconds (canister setting).
    pub freezing_threshold_seconds: u64,
    /// The frozen balance for the current message (set by the executor before each execution from
    /// the canister's memory): calls and attached cycles may not take the balance below it.
    pub freezing_limit: u128,
}

impl Default for SystemState {
    fn default() -> Self {
        SystemState {
            id: Principal::anonymous(),
            controllers: Vec::new(),
            cycles: 0,
            stable: StableMemory::default(),
            certified_data: Vec::new(),
            global_timer: 0,
            version: 0,
            status: None,
            env_vars: Vec::new(),
            logs: Vec::new(),
            freezing_threshold_seconds: costs::DEFAULT_FREEZING_THRESHOLD_SECONDS,
            freezing_limit: 0,
        }
    }
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

impl Default for MessageCtx {
    fn default() -> Self {
        MessageCtx {
            kind: EntryKind::Idle,
            now: 0,
            caller: Principal::anonymous(),
            method: String::new(),
            arg: Vec::new(),
            reject: None,
            replicated: false,
            can_respond: false,
            response: None,
            reply_buf: Vec::new(),
            cycles_available: 0,
            cycles_refunded: 0,
            call: None,
            outgoing: Vec::new(),
            instruction_limit: 0,
            call_context_instructions: 0,
            deadline: 0,
            accepted: false,
        }
    }
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
    let known = {
        let mut d = Defs { l: &mut l, names: Vec::new() };
        define_ic0(&mut d).map_err(|e| format!("defining ic0: {e:#}"))?;
        d.names
    };
    for import in module.imports() {
        let (m, n) = (import.module().to_string(), import.name().to_string());
        if m == "ic0" && known.contains(&n.as_str()) {
            continue; // a signature mismatch is reported by instantiate_pre
        }
        let Some(fty) = import.ty().func().cloned() else {
            return Err(format!("unsupported non-function import {m}.{n}"));
        };
        let what = format!("{m}.{n}");
        l.func_new(&m, &n, fty, move |_c, _args, _rets| {
            Err(wasmtime::Error::new(HostTrap::Violation(format!("{what} is not implemented by ic_executor"))))
        })
        .map_err(|e| format!("stubbing {m}.{n}: {e:#}"))?;
    }
    Ok(l)
}

/// The `ic0` functions the executor implements.
pub fn implemented_ic0(engine: &Engine) -> Vec<&'static str> {
    let mut l = Linker::new(engine);
    let mut d = Defs { l: &mut l, names: Vec::new() };
    define_ic0(&mut d).expect("defining ic0");
    d.names
}

struct Defs<'a> {
    l: &'a mut Linker<HostState>,
    names: Vec<&'static str>,
}

impl Defs<'_> {
    fn f<P, A>(&mut self, name: &'static str, func: impl IntoFunc<HostState, P, A>) -> Result<()> {
        self.names.push(name);
        self.l.func_wrap("ic0", name, func)?;
        Ok(())
    }
}

fn define_ic0(d: &mut Defs<'_>) -> Result<()> {
    use EntryKind as K;
    // --- message data ---
    d.f("msg_arg_data_size", |c: C<'_>| -> Result<u32> {
        require(&c, "msg_arg_data_size", |k| !matches!(k, K::RejectCallback | K::Cleanup | K::GlobalTimer | K::Heartbeat | K::PreUpgrade))?;
        Ok(c.data().msg.arg.len() as u32)
    })?;
    d.f("msg_arg_data_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        require(&c, "msg_arg_data_copy", |k| !matches!(k, K::RejectCallback | K::Cleanup | K::GlobalTimer | K::Heartbeat | K::PreUpgrade))?;
        let arg = std::mem::take(&mut c.data_mut().msg.arg);
        let r = copy_out(&mut c, "msg_arg_data_copy", dst, off, size, &arg);
        c.data_mut().msg.arg = arg;
        r
    })?;
    d.f("msg_caller_size", |c: C<'_>| -> Result<u32> { Ok(c.data().msg.caller.as_slice().len() as u32) })?;
    d.f("msg_caller_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        let caller = c.data().msg.caller;
        copy_out(&mut c, "msg_caller_copy", dst, off, size, caller.as_slice())
    })?;
    d.f("msg_reject_code", |c: C<'_>| -> Result<u32> {
        require(&c, "msg_reject_code", |k| k.is_callback())?;
        Ok(c.data().msg.reject.as_ref().map_or(0, |r| r.0))
    })?;
    d.f("msg_reject_msg_size", |c: C<'_>| -> Result<u32> {
        require(&c, "msg_reject_msg_size", |k| k == K::RejectCallback)?;
        Ok(c.data().msg.reject.as_ref().map_or(0, |r| r.1.len() as u32))
    })?;
    d.f("msg_reject_msg_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        require(&c, "msg_reject_msg_copy", |k| k == K::RejectCallback)?;
        let m = c.data().msg.reject.as_ref().map(|r| r.1.clone()).unwrap_or_default();
        copy_out(&mut c, "msg_reject_msg_copy", dst, off, size, m.as_bytes())
    })?;
    d.f("msg_deadline", |c: C<'_>| -> Result<u64> { Ok(c.data().msg.deadline) })?;
    d.f("msg_method_name_size", |c: C<'_>| -> Result<u32> {
        require(&c, "msg_method_name_size", |k| k == K::InspectMessage)?;
        Ok(c.data().msg.method.len() as u32)
    })?;
    d.f("msg_method_name_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        require(&c, "msg_method_name_copy", |k| k == K::InspectMessage)?;
        let m = c.data().msg.method.clone();
        copy_out(&mut c, "msg_method_name_copy", dst, off, size, m.as_bytes())
    })?;
    d.f("accept_message", |mut c: C<'_>| -> Result<()> {
        require(&c, "accept_message", |k| k == K::InspectMessage)?;
        if c.data().msg.accepted {
            return violation("ic0.accept_message called twice");
        }
        c.data_mut().msg.accepted = true;
        Ok(())
    })?;

    // --- responding ---
    d.f("msg_reply_data_append", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        check_can_respond(&c, "msg_reply_data_append")?;
        let bytes = read_mem(&mut c, "msg_reply_data_append", src as u64, size as u64)?;
        let buf = &mut c.data_mut().msg.reply_buf;
        if buf.len() + bytes.len() > costs::MAX_PAYLOAD {
            return violation(format!("ic0.msg_reply_data_append: reply exceeds {} bytes", costs::MAX_PAYLOAD));
        }
        buf.extend_from_slice(&bytes);
        Ok(())
    })?;
    d.f("msg_reply", |mut c: C<'_>| -> Result<()> {
        check_can_respond(&c, "msg_reply")?;
        let m = &mut c.data_mut().msg;
        m.response = Some(Ok(std::mem::take(&mut m.reply_buf)));
        Ok(())
    })?;
    d.f("msg_reject", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        check_can_respond(&c, "msg_reject")?;
        let bytes = read_mem(&mut c, "msg_reject", src as u64, size as u64)?;
        let text = String::from_utf8(bytes).or_else(|_| violation("ic0.msg_reject: message is not UTF-8"))?;
        c.data_mut().msg.response = Some(Err(text));
        Ok(())
    })?;

    // --- cycles ---
    d.f("msg_cycles_available128", |mut c: C<'_>, dst: u32| -> Result<()> {
        require(&c, "msg_cycles_available128", |k| k == K::Update || k.is_callback())?;
        let v = if c.data().msg.can_respond { c.data().msg.cycles_available } else { 0 };
        write_u128(&mut c, "msg_cycles_available128", dst, v)
    })?;
    d.f("msg_cycles_refunded128", |mut c: C<'_>, dst: u32| -> Result<()> {
        require(&c, "msg_cycles_refunded128", |k| k.is_callback())?;
        let v = c.data().msg.cycles_refunded;
        write_u128(&mut c, "msg_cycles_refunded128", dst, v)
    })?;
    d.f("msg_cycles_accept128", |mut c: C<'_>, hi: u64, lo: u64, dst: u32| -> Result<()> {
        require(&c, "msg_cycles_accept128", |k| k == K::Update || k.is_callback())?;
        let st = c.data_mut();
        let amount = if st.msg.can_respond { u128_of(hi, lo).min(st.msg.cycles_available) } else { 0 };
        st.msg.cycles_available -= amount;
        st.sys.cycles += amount;
        write_u128(&mut c, "msg_cycles_accept128", dst, amount)
    })?;
    d.f("cycles_burn128", |mut c: C<'_>, hi: u64, lo: u64, dst: u32| -> Result<()> {
        require(&c, "cycles_burn128", |k| !k.is_query_like())?;
        let st = c.data_mut();
        let amount = u128_of(hi, lo).min(st.sys.cycles);
        st.sys.cycles -= amount;
        write_u128(&mut c, "cycles_burn128", dst, amount)
    })?;
    d.f("canister_cycle_balance128", |mut c: C<'_>, dst: u32| -> Result<()> {
        let v = c.data().sys.cycles;
        write_u128(&mut c, "canister_cycle_balance128", dst, v)
    })?;
    // Liquid = what calls may spend: the balance above the freezing limit (no reserved cycles).
    d.f("canister_liquid_cycle_balance128", |mut c: C<'_>, dst: u32| -> Result<()> {
        let v = c.data().sys.cycles.saturating_sub(c.data().sys.freezing_limit);
        write_u128(&mut c, "canister_liquid_cycle_balance128", dst, v)
    })?;

    // --- canister ---
    d.f("canister_self_size", |c: C<'_>| -> Result<u32> { Ok(c.data().sys.id.as_slice().len() as u32) })?;
    d.f("canister_self_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        let id = c.data().sys.id;
        copy_out(&mut c, "canister_self_copy", dst, off, size, id.as_slice())
    })?;
    d.f("canister_status", |c: C<'_>| -> Result<u32> {
        Ok(match c.data().sys.status {
            Some(CanisterStatus::Running) | None => 1,
            Some(CanisterStatus::Stopping) => 2,
            Some(CanisterStatus::Stopped) => 3,
        })
    })?;
    d.f("canister_version", |c: C<'_>| -> Result<u64> { Ok(c.data().sys.version) })?;
    d.f("subnet_self_size", |c: C<'_>| -> Result<u32> { Ok(c.data().subnet.as_slice().len() as u32) })?;
    d.f("subnet_self_copy", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        let id = c.data().subnet;
        copy_out(&mut c, "subnet_self_copy", dst, off, size, id.as_slice())
    })?;
    d.f("subnet_self_node_count", |_c: C<'_>| -> Result<u32> { Ok(13) })?;
    d.f("is_controller", |mut c: C<'_>, src: u32, size: u32| -> Result<u32> {
        if size > 29 {
            return violation("ic0.is_controller: principal longer than 29 bytes");
        }
        let bytes = read_mem(&mut c, "is_controller", src as u64, size as u64)?;
        let p = principal_from(&bytes, "is_controller")?;
        Ok(c.data().sys.controllers.contains(&p) as u32)
    })?;
    d.f("in_replicated_execution", |c: C<'_>| -> Result<u32> { Ok(c.data().msg.replicated as u32) })?;

    // --- inter-canister calls ---
    d.f(
        "call_new",
        |mut c: C<'_>, callee_src: u32, callee_size: u32, name_src: u32, name_size: u32, reply_fun: u32, reply_env: u32, reject_fun: u32, reject_env: u32| -> Result<()> {
            require(&c, "call_new", |k| k.may_call())?;
            let callee = read_mem(&mut c, "call_new", callee_src as u64, callee_size as u64)?;
            let callee = principal_from(&callee, "call_new")?;
            let name = read_mem(&mut c, "call_new", name_src as u64, name_size as u64)?;
            let method = String::from_utf8(name).or_else(|_| violation("ic0.call_new: method name is not UTF-8"))?;
            let st = c.data_mut();
            // A call still under construction is discarded, its cycles returned (spec: call_new).
            if let Some(old) = st.msg.call.take() {
                st.sys.cycles += old.cycles;
            }
            st.msg.call = Some(CallBuilder {
                callee,
                method,
                arg: Vec::new(),
                cycles: 0,
                reply: (reply_fun, reply_env),
                reject: (reject_fun, reject_env),
                cleanup: None,
                timeout_seconds: None,
            });
            Ok(())
        },
    )?;
    d.f("call_on_cleanup", |mut c: C<'_>, fun: u32, env: u32| -> Result<()> {
        let Some(call) = c.data_mut().msg.call.as_mut() else { return violation("ic0.call_on_cleanup: no call under construction") };
        if call.cleanup.is_some() {
            return violation("ic0.call_on_cleanup: called twice for one call");
        }
        call.cleanup = Some((fun, env));
        Ok(())
    })?;
    d.f("call_data_append", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        if c.data().msg.call.is_none() {
            return violation("ic0.call_data_append: no call under construction");
        }
        let bytes = read_mem(&mut c, "call_data_append", src as u64, size as u64)?;
        let call = c.data_mut().msg.call.as_mut().unwrap();
        if call.arg.len() + bytes.len() > costs::MAX_PAYLOAD {
            return violation(format!("ic0.call_data_append: payload exceeds {} bytes", costs::MAX_PAYLOAD));
        }
        call.arg.extend_from_slice(&bytes);
        Ok(())
    })?;
    d.f("call_with_best_effort_response", |mut c: C<'_>, timeout: u32| -> Result<()> {
        let Some(call) = c.data_mut().msg.call.as_mut() else {
            return violation("ic0.call_with_best_effort_response: no call under construction");
        };
        if call.timeout_seconds.is_some() {
            return violation("ic0.call_with_best_effort_response: called twice for one call");
        }
        call.timeout_seconds = Some(timeout.min(costs::MAX_CALL_TIMEOUT_SECONDS));
        Ok(())
    })?;
    d.f("call_cycles_add128", |mut c: C<'_>, hi: u64, lo: u64| -> Result<()> {
        let st = c.data_mut();
        if st.msg.call.is_none() {
            return violation("ic0.call_cycles_add128: no call under construction");
        }
        let amount = u128_of(hi, lo);
        let liquid = st.sys.cycles.saturating_sub(st.sys.freezing_limit);
        if amount > liquid {
            return violation(format!("ic0.call_cycles_add128: cannot add {amount} cycles, liquid balance is {liquid}"));
        }
        st.sys.cycles -= amount;
        st.msg.call.as_mut().unwrap().cycles += amount;
        Ok(())
    })?;
    d.f("call_perform", |mut c: C<'_>| -> Result<u32> {
        let st = c.data_mut();
        let Some(call) = st.msg.call.take() else { return violation("ic0.call_perform: no call under construction") };
        // The call fee is charged and the response's prepayment withheld now (refunded, less the
        // response's cost, when it arrives). Fails synchronously (SYS_TRANSIENT) when that would
        // take the balance below the freezing limit or the queue is full; the attached cycles go
        // back to the balance and no callback will run.
        let cost = costs::call_cost(call.method.len() as u64, call.arg.len() as u64) + costs::response_prepayment();
        if st.sys.cycles < cost.saturating_add(st.sys.freezing_limit) || st.msg.outgoing.len() >= 500 {
            st.sys.cycles += call.cycles;
            return Ok(2);
        }
        st.sys.cycles -= cost;
        st.msg.outgoing.push(call);
        Ok(0)
    })?;
    d.f("cost_call", |mut c: C<'_>, method_size: u64, payload_size: u64, dst: u32| -> Result<()> {
        write_u128(&mut c, "cost_call", dst, costs::call_cost(method_size, payload_size))
    })?;
    d.f("cost_create_canister", |mut c: C<'_>, dst: u32| -> Result<()> {
        write_u128(&mut c, "cost_create_canister", dst, costs::CREATE_CANISTER_FEE)
    })?;

    // --- stable memory (64-bit and legacy 32-bit) ---
    d.f("stable64_size", |c: C<'_>| -> Result<u64> { Ok(c.data().sys.stable.size_pages()) })?;
    d.f("stable64_grow", |mut c: C<'_>, n: u64| -> Result<u64> {
        Ok(c.data_mut().sys.stable.grow(n).unwrap_or(u64::MAX))
    })?;
    d.f("stable64_write", |mut c: C<'_>, off: u64, src: u64, size: u64| -> Result<()> {
        let bytes = read_mem(&mut c, "stable64_write", src, size)?;
        c.data_mut().sys.stable.write(off, &bytes).or_else(|e| violation(format!("ic0.stable64_write: {e}")))
    })?;
    d.f("stable64_read", |mut c: C<'_>, dst: u64, off: u64, size: u64| -> Result<()> {
        let mut buf = vec![0u8; size as usize];
        c.data().sys.stable.read(off, &mut buf).or_else(|e| violation(format!("ic0.stable64_read: {e}")))?;
        write_mem(&mut c, "stable64_read", dst, &buf)
    })?;
    d.f("stable_size", |c: C<'_>| -> Result<u32> {
        let p = c.data().sys.stable.size_pages();
        if p > 65536 {
            return violation("ic0.stable_size: stable memory exceeds 4 GiB, use stable64_size");
        }
        Ok(p as u32)
    })?;
    d.f("stable_grow", |mut c: C<'_>, n: u32| -> Result<i32> {
        let s = &mut c.data_mut().sys.stable;
        if s.size_pages() + n as u64 > 65536 {
            return Ok(-1);
        }
        Ok(s.grow(n as u64).map_or(-1, |old| old as i32))
    })?;
    d.f("stable_write", |mut c: C<'_>, off: u32, src: u32, size: u32| -> Result<()> {
        let bytes = read_mem(&mut c, "stable_write", src as u64, size as u64)?;
        c.data_mut().sys.stable.write(off as u64, &bytes).or_else(|e| violation(format!("ic0.stable_write: {e}")))
    })?;
    d.f("stable_read", |mut c: C<'_>, dst: u32, off: u32, size: u32| -> Result<()> {
        let mut buf = vec![0u8; size as usize];
        c.data().sys.stable.read(off as u64, &mut buf).or_else(|e| violation(format!("ic0.stable_read: {e}")))?;
        write_mem(&mut c, "stable_read", dst as u64, &buf)
    })?;

    // --- certified data ---
    d.f("certified_data_set", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        require(&c, "certified_data_set", |k| !k.is_query_like() && k != K::Cleanup)?;
        if size > 32 {
            return violation("ic0.certified_data_set: more than 32 bytes");
        }
        let bytes = read_mem(&mut c, "certified_data_set", src as u64, size as u64)?;
        c.data_mut().sys.certified_data = bytes;
        Ok(())
    })?;
    // No certificates are produced (there is no subnet key): a canister sees "not present".
    d.f("data_certificate_present", |_c: C<'_>| -> Result<u32> { Ok(0) })?;

    // --- time, timers, counters ---
    d.f("time", |c: C<'_>| -> Result<u64> { Ok(c.data().msg.now) })?;
    d.f("global_timer_set", |mut c: C<'_>, ts: u64| -> Result<u64> {
        require(&c, "global_timer_set", |k| !k.is_query_like() && k != K::Cleanup)?;
        Ok(std::mem::replace(&mut c.data_mut().sys.global_timer, ts))
    })?;
    d.f("performance_counter", |c: C<'_>, kind: u32| -> Result<u64> {
        let here = instructions_so_far(&c);
        match kind {
            0 => Ok(here),
            1 => Ok(c.data().msg.call_context_instructions + here),
            _ => violation(format!("ic0.performance_counter: unknown counter type {kind}")),
        }
    })?;

    // --- environment variables ---
    d.f("env_var_count", |c: C<'_>| -> Result<u32> { Ok(c.data().sys.env_vars.len() as u32) })?;
    d.f("env_var_name_size", |c: C<'_>, i: u32| -> Result<u32> {
        match c.data().sys.env_vars.get(i as usize) {
            Some((n, _)) => Ok(n.len() as u32),
            None => violation(format!("ic0.env_var_name_size: index {i} out of bounds")),
        }
    })?;
    d.f("env_var_name_copy", |mut c: C<'_>, i: u32, dst: u32, off: u32, size: u32| -> Result<()> {
        let Some((n, _)) = c.data().sys.env_vars.get(i as usize).cloned() else {
            return violation(format!("ic0.env_var_name_copy: index {i} out of bounds"));
        };
        copy_out(&mut c, "env_var_name_copy", dst, off, size, n.as_bytes())
    })?;
    d.f("env_var_name_exists", |mut c: C<'_>, src: u32, size: u32| -> Result<u32> {
        let name = read_mem(&mut c, "env_var_name_exists", src as u64, size as u64)?;
        Ok(c.data().sys.env_vars.iter().any(|(n, _)| n.as_bytes() == name) as u32)
    })?;
    d.f("env_var_value_size", |mut c: C<'_>, src: u32, size: u32| -> Result<u32> {
        let name = read_mem(&mut c, "env_var_value_size", src as u64, size as u64)?;
        match c.data().sys.env_vars.iter().find(|(n, _)| n.as_bytes() == name) {
            Some((_, v)) => Ok(v.len() as u32),
            None => violation(format!("ic0.env_var_value_size: no variable {}", String::from_utf8_lossy(&name))),
        }
    })?;
    d.f("env_var_value_copy", |mut c: C<'_>, src: u32, size: u32, dst: u32, off: u32, len: u32| -> Result<()> {
        let name = read_mem(&mut c, "env_var_value_copy", src as u64, size as u64)?;
        let Some((_, v)) = c.data().sys.env_vars.iter().find(|(n, _)| n.as_bytes() == name).cloned() else {
            return violation(format!("ic0.env_var_value_copy: no variable {}", String::from_utf8_lossy(&name)));
        };
        copy_out(&mut c, "env_var_value_copy", dst, off, len, v.as_bytes())
    })?;

    // --- debugging ---
    d.f("debug_print", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        let bytes = read_mem(&mut c, "debug_print", src as u64, size as u64)?;
        let line = String::from_utf8_lossy(&bytes).into_owned();
        let st = c.data_mut();
        if std::env::var_os("IC_EXECUTOR_QUIET").is_none() {
            eprintln!("[{}] {line}", st.sys.id);
        }
        st.sys.logs.push(line);
        Ok(())
    })?;
    d.f("trap", |mut c: C<'_>, src: u32, size: u32| -> Result<()> {
        let bytes = read_mem(&mut c, "trap", src as u64, size as u64)?;
        Err(wasmtime::Error::new(HostTrap::Called(String::from_utf8_lossy(&bytes).into_owned())))
    })?;
    Ok(())
}

fn check_can_respond(c: &C<'_>, api: &str) -> Result<()> {
    let m = &c.data().msg;
    let kind_ok = matches!(m.kind, EntryKind::Update | EntryKind::Query | EntryKind::ReplicatedQuery) || m.kind.is_callback();
    if !kind_ok {
        return violation(format!("ic0.{api} cannot be executed in {:?} mode", m.kind));
    }
    if !m.can_respond || m.response.is_some() {
        return violation(format!("ic0.{api}: the call has already been responded to"));
    }
    Ok(())
}
