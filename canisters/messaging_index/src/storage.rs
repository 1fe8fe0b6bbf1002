//! Stable memory of `messaging_index`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG       StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX  StableLog index  ┐ hash-chained audit log           │
//!   id 2  AUDIT_DATA   StableLog data   ┘                                  ┘
//!   id 3  SHARDS       StableBTreeMap<u32 shard id, Cbor<ShardRecord>>
//!   id 4  ROUTING      StableBTreeMap<u16 bucket, u32 shard id>
//!   id 5  HANDLES      StableBTreeMap<String handle, Principal>          ┐ directory
//!   id 6  USERS        StableBTreeMap<Principal, Cbor<Registration>>     │
//!   id 7  PENDING      StableBTreeMap<(u64 reserved at, Principal), ()>  ┘
//!   id 8  WASM_CHUNKS  StableBTreeMap<u32 index, Vec<u8>>: the shard module in 1 MiB chunks
//!   id 9  WASM_META    StableCell: Cbor<Option<ShardWasm>>
//!   id 10 CREATIONS    StableBTreeMap<u64 id, Cbor<Creation>>: the shard-creation journal
//!   id 11 ROLLOUT      StableCell: Cbor<Option<RolloutRecord>>: the current or last rollout
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.
//! An upload in progress is kept on the heap: an index upgrade mid-upload means beginning again.

use crate::state::{IndexState, Memories};
use crate::wasm_store::Upload;
use common::core_state::CoreState;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use interfaces::messaging_index::Config;
use std::cell::RefCell;

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static STATE: RefCell<IndexState<Memory>> = RefCell::new(IndexState::init(Memories {
        config: mem(0),
        audit_index: mem(1),
        audit_data: mem(2),
        shards: mem(3),
        routing: mem(4),
        handles: mem(5),
        users: mem(6),
        pending: mem(7),
        wasm_chunks: mem(8),
        wasm_meta: mem(9),
        creations: mem(10),
        rollout: mem(11),
    }));
    static UPLOAD: RefCell<Option<Upload>> = const { RefCell::new(None) };
}

fn mem(id: u8) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(MemoryId::new(id)))
}

pub fn with_core<R>(f: impl FnOnce(&mut CoreState<Config, Memory>) -> R) -> R {
    STATE.with_borrow_mut(|s| f(&mut s.core))
}

pub fn with_state<R>(f: impl FnOnce(&mut IndexState<Memory>) -> R) -> R {
    STATE.with_borrow_mut(f)
}

pub fn read_state<R>(f: impl FnOnce(&IndexState<Memory>) -> R) -> R {
    STATE.with_borrow(f)
}

pub fn with_upload<R>(f: impl FnOnce(&mut Option<Upload>) -> R) -> R {
    UPLOAD.with_borrow_mut(f)
}

pub fn config() -> Config {
    STATE.with_borrow(|s| s.core.config())
}
