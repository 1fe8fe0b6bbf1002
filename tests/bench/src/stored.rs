//! Reading what a canister stored, natively: its stable memory is copied out of the executor
//! and opened with the same ic-stable-structures code the canister runs (MemoryManager, then a
//! `StableBTreeMap` whose values are read as raw bytes), so a record's stored bytes are exact.

use candid::Principal;
use ic_executor::Executor;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, StableBTreeMap, Storable, VectorMemory};
use std::cell::RefCell;
use std::rc::Rc;

/// Memory ids of the records the hot updates store (see each canister's `storage.rs`).
pub mod mem {
    pub const MESSAGING_USERS: u8 = 3;
    pub const MESSAGING_HANDLES: u8 = 4;
    pub const MESSAGING_KEYS: u8 = 5;
    pub const MESSAGING_MESSAGES: u8 = 10;
    pub const ISSUER_LICENSES: u8 = 8;
    pub const LEDGER_BURNS: u8 = 4;
    pub const REGISTRY_PLACEMENTS: u8 = 9;
}

pub struct Image {
    stable_bytes: u64,
    manager: MemoryManager<VectorMemory>,
}

impl Image {
    /// A copy of `canister`'s stable memory as it is now.
    pub fn of(ex: &Executor, canister: Principal) -> Image {
        let len = ex.stable_size_pages(canister) * 65_536;
        let bytes = ex.stable_read(canister, 0, len as usize);
        let memory: VectorMemory = Rc::new(RefCell::new(bytes));
        Image { stable_bytes: len, manager: MemoryManager::init(memory) }
    }

    fn memory(&self, id: u8) -> VirtualMemory<VectorMemory> {
        self.manager.get(MemoryId::new(id))
    }

    /// The stored bytes of `key` in the `StableBTreeMap` of memory `id`.
    pub fn value<K: Storable + Ord + Clone>(&self, id: u8, key: &K) -> Option<Vec<u8>> {
        StableBTreeMap::<K, Vec<u8>, _>::init(self.memory(id)).get(key)
    }

    /// Bytes the virtual memory `id` occupies (whole 64 KiB pages).
    pub fn memory_bytes(&self, id: u8) -> u64 {
        self.memory(id).size() * 65_536
    }

    pub fn stable_bytes(&self) -> u64 {
        self.stable_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_back_as_the_bytes_stored() {
        // A memory laid out as a canister lays it out: a manager, a map in memory 10.
        let memory: VectorMemory = Rc::new(RefCell::new(Vec::new()));
        let manager = MemoryManager::init(memory.clone());
        let mut map: StableBTreeMap<(u64, u64), Vec<u8>, _> = StableBTreeMap::init(manager.get(MemoryId::new(10)));
        map.insert((7, 1), vec![1, 2, 3]);
        map.insert((7, 2), vec![9; 700]);
        let image = Image { stable_bytes: 0, manager: MemoryManager::init(Rc::new(RefCell::new(memory.borrow().clone()))) };
        assert_eq!(image.value(10, &(7u64, 2u64)), Some(vec![9; 700]));
        assert_eq!(image.value(10, &(7u64, 3u64)), None);
        assert!(image.memory_bytes(10) >= 65_536);
    }
}
