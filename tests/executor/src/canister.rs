//! Per-canister bookkeeping outside the wasm: call contexts, callbacks, the installed runtime.

use crate::instance::Runtime;
use crate::lifecycle::ManagementState;
use crate::system_api::SystemState;
use crate::types::MessageId;
use candid::Principal;
use std::collections::BTreeMap;

/// Who is waiting for a call context's response (interface spec: "Call contexts").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Ingress(MessageId),
    Canister { caller: Principal, callback: u64 },
    /// Timers and heartbeats: nobody waits for a response.
    System,
}

pub struct CallContext {
    pub origin: Origin,
    pub caller: Principal,
    pub responded: bool,
    /// Callbacks of this context still waiting for a response.
    pub outstanding: usize,
    /// Cycles attached to the incoming call not accepted yet (refunded with the response).
    pub cycles_available: u128,
    pub deadline: u64,
    /// Instructions of all messages run in this context so far.
    pub instructions: u64,
    pub tree: u64,
    /// Injected `Fault::ResponseLost`: the response is replaced by SYS_UNKNOWN.
    pub lose_response: bool,
}

pub struct Callback {
    pub call_context: u64,
    pub reply: (u32, u32),
    pub reject: (u32, u32),
    pub cleanup: Option<(u32, u32)>,
    /// 0 = guaranteed response; otherwise the best-effort deadline.
    pub deadline: u64,
    pub expired: bool,
    /// Cycles withheld for the response when the call was made; refunded (less the response's
    /// transmission) when the first response for this callback arrives.
    pub prepaid: u128,
}

pub struct Canister {
    pub sys: SystemState,
    pub runtime: Option<Runtime>,
    pub call_contexts: BTreeMap<u64, CallContext>,
    pub callbacks: BTreeMap<u64, Callback>,
    /// What the management canister keeps about it: settings, chunk store, snapshots, history,
    /// `stop_canister` calls waiting.
    pub mgmt: ManagementState,
}

impl Canister {
    pub fn new(sys: SystemState) -> Self {
        Canister { sys, runtime: None, call_contexts: BTreeMap::new(), callbacks: BTreeMap::new(), mgmt: ManagementState::default() }
    }

    /// Memory the canister is charged for (interface spec, canister_status "memory_size"): heap,
    /// stable memory, the module as installed, the chunk store (each chunk counts as 1 MiB) and
    /// its snapshots.
    pub fn memory_bytes(&self) -> u64 {
        let (heap, binary) = self.runtime.as_ref().map_or((0, 0), |r| (r.heap_size() as u64, r.module.wasm.len() as u64));
        heap + binary + self.sys.stable.size_bytes() + self.mgmt.chunk_store_bytes() + self.mgmt.snapshots_bytes()
    }

    /// Which entry point serves `method` for an update-style call, if any.
    pub fn update_entry(&self, method: &str) -> Option<(String, bool)> {
        let m = &self.runtime.as_ref()?.module;
        let update = format!("canister_update {method}");
        if m.exports_fn(&update) {
            return Some((update, false));
        }
        for prefix in ["canister_query", "canister_composite_query"] {
            let q = format!("{prefix} {method}");
            if m.exports_fn(&q) {
                return Some((q, true));
            }
        }
        None
    }

    pub fn query_entry(&self, method: &str) -> Option<String> {
        let m = &self.runtime.as_ref()?.module;
        ["canister_query", "canister_composite_query"]
            .iter()
            .map(|p| format!("{p} {method}"))
            .find(|e| m.exports_fn(e))
    }

    pub fn exports(&self, name: &str) -> bool {
        self.runtime.as_ref().is_some_and(|r| r.module.exports_fn(name))
    }
}
