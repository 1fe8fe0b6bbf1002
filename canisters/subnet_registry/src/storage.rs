//! Stable memory of `subnet_registry`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG          StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX     StableLog index  ┐ hash-chained audit log           │
//!   id 2  AUDIT_DATA      StableLog data   ┘                                  ┘
//!   id 3  DATA_CENTRES    StableBTreeMap<String id, Cbor<DataCentre>>
//!   id 4  NODE_PROVIDERS  StableBTreeMap<Principal, Cbor<NodeProvider>>
//!   id 5  NODES           StableBTreeMap<Principal node id, Cbor<Node>>
//!   id 6  SUBNETS         StableBTreeMap<Principal subnet id, Cbor<Subnet>>
//!   id 7  PROPOSALS       StableBTreeMap<u64 id, Cbor<Proposal>>
//!   id 8  OPEN_PROPOSALS  StableBTreeMap<u64 id, u64 expires_at_ns>  (index of undecided ones)
//!   id 9  PLACEMENTS      StableBTreeMap<Principal canister, Cbor<Placement>>
//!   id 10 USAGE_REPORTER  StableCell: common::usage_reporter state (reports to the burn ledger)
//!   schema 3 (crate::index):
//!   id 11 MIGRATION             StableCell: Cbor<index::Migration> (how far the index build came)
//!   id 12 SUBNET_HEADS          StableBTreeMap<Principal subnet id, SubnetHead> (18 fixed bytes)
//!   id 13 PLACEMENTS_BY_SUBNET  StableBTreeMap<(Principal subnet, Principal canister), ()>
//!   id 14 NODES_BY_SUBNET       StableBTreeMap<(Principal subnet, Principal node), ()>
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.

use crate::state::Registry;
use common::core_state::CoreState;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use interfaces::subnet_registry::Config;
use std::cell::RefCell;

pub const CONFIG_MEM: MemoryId = MemoryId::new(0);
pub const AUDIT_INDEX_MEM: MemoryId = MemoryId::new(1);
pub const AUDIT_DATA_MEM: MemoryId = MemoryId::new(2);
pub const DATA_CENTRES_MEM: MemoryId = MemoryId::new(3);
pub const NODE_PROVIDERS_MEM: MemoryId = MemoryId::new(4);
pub const NODES_MEM: MemoryId = MemoryId::new(5);
pub const SUBNETS_MEM: MemoryId = MemoryId::new(6);
pub const PROPOSALS_MEM: MemoryId = MemoryId::new(7);
pub const OPEN_PROPOSALS_MEM: MemoryId = MemoryId::new(8);
pub const PLACEMENTS_MEM: MemoryId = MemoryId::new(9);
pub const USAGE_REPORTER_MEM: MemoryId = MemoryId::new(10);
pub const MIGRATION_MEM: MemoryId = MemoryId::new(11);
pub const SUBNET_HEADS_MEM: MemoryId = MemoryId::new(12);
pub const PLACEMENTS_BY_SUBNET_MEM: MemoryId = MemoryId::new(13);
pub const NODES_BY_SUBNET_MEM: MemoryId = MemoryId::new(14);

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static REGISTRY: RefCell<Registry<Memory>> =
        RefCell::new(Registry::init(mem));
}

/// The virtual memory with this id.
pub fn mem(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(id))
}

/// Runs `f` on the configuration and audit log.
pub fn with_core<R>(f: impl FnOnce(&mut CoreState<Config, Memory>) -> R) -> R {
    REGISTRY.with_borrow_mut(|r| f(&mut r.core))
}

/// Runs `f` on the whole registry, for changes.
pub fn with_registry<R>(f: impl FnOnce(&mut Registry<Memory>) -> R) -> R {
    REGISTRY.with_borrow_mut(f)
}

/// Runs `f` on the whole registry, for reads.
pub fn read_registry<R>(f: impl FnOnce(&Registry<Memory>) -> R) -> R {
    REGISTRY.with_borrow(f)
}

/// The configuration in force.
pub fn config() -> Config {
    REGISTRY.with_borrow(|r| r.core.config())
}
