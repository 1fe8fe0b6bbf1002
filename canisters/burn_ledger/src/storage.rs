//! Stable memory of `burn_ledger`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG          StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX     StableLog index  ┐ hash-chained audit log           │ (Ledger::core)
//!   id 2  AUDIT_DATA      StableLog data   ┘                                  ┘
//!   id 3  REPORTERS       BTreeMap reporter → last sequence, last period end, gap counts
//!   id 4  BURNS           BTreeMap burn id → BurnRecord (every recorded report; never removed)
//!   id 5  BY_SEQUENCE     BTreeMap (reporter, sequence) → burn id (recognises retries)
//!   id 6  GAPS            BTreeMap (reporter, first missing sequence) → SequenceGap
//!   id 7  PENDING         BTreeMap (canister, burn id) → 0: burns waiting for attribution
//!   id 8  BUCKETS         BTreeMap "T|scope", "H|scope|start", "D|scope|start" → sums
//!                         (schema 3 writes compact sums; CBOR sums of schemas 1–2 are still read)
//!   id 9  OWNER_CACHE     BTreeMap canister → license_issuer app_owner answer + fetch time
//!   id 10 PLACEMENT_CACHE BTreeMap canister → subnet_registry placement answer + fetch time
//!   id 11 SETTINGS        StableCell: rate in force, issuance model, first period start
//!   id 12 USAGE_REPORTER  StableCell: common::usage_reporter state (this canister's own usage)
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.
//! Ids 3–11 are opened by `Ledger::init` (constants in `ledger::ids`).

use crate::ledger::Ledger;
use common::core_state::CoreState;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use interfaces::burn_ledger::Config;
use std::cell::RefCell;

/// The memory of this canister's own usage reporter.
pub const USAGE_REPORTER_MEM: u8 = 12;

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static LEDGER: RefCell<Ledger<Memory>> = RefCell::new(Ledger::init(mem));
}

pub fn mem(id: u8) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(MemoryId::new(id)))
}

/// Runs `f` on the whole ledger state. Never hold it across an `await`.
pub fn with_ledger<R>(f: impl FnOnce(&mut Ledger<Memory>) -> R) -> R {
    LEDGER.with_borrow_mut(f)
}

/// Runs `f` on the configuration and audit log.
pub fn with_core<R>(f: impl FnOnce(&mut CoreState<Config, Memory>) -> R) -> R {
    LEDGER.with_borrow_mut(|l| {
        let r = f(&mut l.core);
        l.forget_config();
        r
    })
}

/// The configuration in force.
pub fn config() -> Config {
    LEDGER.with_borrow(|l| l.config().clone())
}
