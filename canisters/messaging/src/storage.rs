//! Stable memory of `messaging`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG        StableCell<Cbor<Option<Config>>>  install arguments + schema version
//!   id 1  AUDIT_INDEX   StableLog index  ┐ hash-chained audit log (common::audit)
//!   id 2  AUDIT_DATA    StableLog data   ┘
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.

use common::audit::{self, AuditLog};
use common::cbor::Cbor;
use common::Memory;
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::{DefaultMemoryImpl, StableCell};
use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::messaging::Config;
use serde::Serialize;
use std::cell::RefCell;

const CONFIG_MEM: MemoryId = MemoryId::new(0);
const AUDIT_INDEX_MEM: MemoryId = MemoryId::new(1);
const AUDIT_DATA_MEM: MemoryId = MemoryId::new(2);

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static CONFIG: RefCell<StableCell<Cbor<Option<Config>>, Memory>> =
        RefCell::new(StableCell::init(mem(CONFIG_MEM), Cbor(None)));
    static AUDIT: RefCell<AuditLog<Memory>> =
        RefCell::new(AuditLog::init(mem(AUDIT_INDEX_MEM), mem(AUDIT_DATA_MEM)));
}

fn mem(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(id))
}

/// The stored configuration, if the canister was ever installed.
pub fn stored_config() -> Option<Config> {
    CONFIG.with_borrow(|c| c.get().0.clone())
}

/// The configuration in force. Set by `init`, so always present once the canister runs.
pub fn config() -> Config {
    stored_config().expect("config is written by init")
}

pub fn set_config(config: Config) {
    CONFIG.with_borrow_mut(|c| c.set(Cbor(Some(config))));
}

/// Appends an audit entry and certifies the new tip.
pub fn audit<T: Serialize>(time_ns: u64, actor: Principal, kind: &str, details: &T) {
    AUDIT.with_borrow_mut(|log| {
        log.append(time_ns, actor, kind, details);
        audit::certify(&log.tip_hash());
    });
}

pub fn audit_page(request: &PageRequest) -> AuditPage {
    AUDIT.with_borrow(|log| log.page(request))
}

pub fn verify_audit(start: u64, count: u64) -> ChainCheck {
    AUDIT.with_borrow(|log| log.verify(start, count))
}

/// Re-sets the certified data after an upgrade (certified data is not kept across upgrades).
pub fn recertify() {
    AUDIT.with_borrow(|log| audit::certify(&log.tip_hash()));
}
