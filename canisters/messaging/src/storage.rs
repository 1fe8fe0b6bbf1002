//! Stable memory of `messaging`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG              StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX         StableLog index  ┐ hash-chained audit log           │
//!   id 2  AUDIT_DATA          StableLog data   ┘                                  ┘
//!   id 3  USERS               Principal → User (handle, profile, key epoch, verification)
//!   id 4  HANDLES             handle → Principal (uniqueness)
//!   id 5  KEYS                (Principal, epoch) → public key (full history)
//!   id 6  CONVERSATIONS       id → Conversation (kind, last_seq, retention, legal hold)
//!   id 7  MEMBERS             (conversation, Principal) → Member (role, read marker)
//!   id 8  USER_CONVERSATIONS  (Principal, conversation) → () : the inbox index
//!   id 9  DIRECT_PAIRS        (Principal, Principal) → conversation : one per pair
//!   id 10 MESSAGES            (conversation, seq) → message (envelope or tombstone)
//!   id 11 EDIT_HISTORY        (conversation, seq, version) → earlier envelope
//!   id 12 BLOCKS              (blocker, blocked) → time
//!   id 13 SENDER_ACTIVITY     Principal → rate window + last send day
//!   id 14 RETAINED            conversation → () : schema 1's sweep list, drained by the sweep (retired)
//!   id 15 COUNTERS            StableCell: totals, next conversation id
//!   id 16 USAGE_REPORTER      StableCell: common::usage_reporter state (reports to the burn ledger)
//!   id 17 SWEEP_DUE           (time, conversation) → () : when each conversation's oldest
//!                             unswept message expires (schema 2)
//! ```
//! The ids are named constants (0..=15 and 17 in `state.rs`, 16 here). They are never
//! renumbered or reused once deployed; new structures take new ids (18 and up).

use crate::state::State;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use std::cell::RefCell;

/// State of the shared usage-reporting client (`common::usage_reporter`).
pub const USAGE_REPORTER_MEM: MemoryId = MemoryId::new(16);

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static STATE: RefCell<State<Memory>> = RefCell::new(State::init(mem));
}

/// The virtual memory with the given id.
pub fn mem(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(id))
}

/// Runs `f` on the shard's state (read-only).
pub fn read<R>(f: impl FnOnce(&State<Memory>) -> R) -> R {
    STATE.with_borrow(f)
}

/// Runs `f` on the shard's state; a refused operation must return before writing anything.
pub fn write<R>(f: impl FnOnce(&mut State<Memory>) -> R) -> R {
    STATE.with_borrow_mut(f)
}

/// Runs `f` on the configuration and audit log (the shared lifecycle endpoints use it).
pub fn with_core<R>(f: impl FnOnce(&mut common::core_state::CoreState<interfaces::messaging::Config, Memory>) -> R) -> R {
    write(|s| f(&mut s.core))
}

/// The configuration in force.
pub fn config() -> interfaces::messaging::Config {
    read(|s| s.config())
}
