//! Stable memory of `burn_ledger`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG        StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX   StableLog index  ┐ hash-chained audit log           │
//!   id 2  AUDIT_DATA    StableLog data   ┘                                  ┘
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.

use common::core_state::CoreState;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use interfaces::burn_ledger::Config;
use std::cell::RefCell;

const CONFIG_MEM: MemoryId = MemoryId::new(0);
const AUDIT_INDEX_MEM: MemoryId = MemoryId::new(1);
const AUDIT_DATA_MEM: MemoryId = MemoryId::new(2);

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static CORE: RefCell<CoreState<Config, Memory>> =
        RefCell::new(CoreState::init(mem(CONFIG_MEM), mem(AUDIT_INDEX_MEM), mem(AUDIT_DATA_MEM)));
}

fn mem(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(id))
}

/// Runs `f` on the configuration and audit log.
pub fn with_core<R>(f: impl FnOnce(&mut CoreState<Config, Memory>) -> R) -> R {
    CORE.with_borrow_mut(f)
}

/// The configuration in force.
pub fn config() -> Config {
    CORE.with_borrow(|c| c.config())
}
