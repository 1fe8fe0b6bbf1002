//! Stable memory of `license_issuer`.
//!
//! ```text
//! MemoryManager over the canister's stable memory
//!   id 0  CONFIG           StableCell: install configuration + schema version ┐ common::core_state
//!   id 1  AUDIT_INDEX      StableLog index  ┐ hash-chained audit log           │
//!   id 2  AUDIT_DATA       StableLog data   ┘                                  ┘
//!   id 3  COUNTERS         StableCell: next ids, global seat totals
//!   id 4  POLICIES         policy id → Policy
//!   id 5  INSTITUTIONS     institution id → Institution
//!   id 6  PROGRAMS         program id → Program
//!   id 7  PROGRAM_SEATS    program id → SeatCounts (licenses by status, offers, apps)
//!   id 8  LICENSES         license id → License (compact from schema 3, CBOR before: codec.rs)
//!   id 9  LIVE_BY_HOLDER   (holder, program id) → license id holding a seat
//!   id 10 OFFER_DEADLINES  (offer expiry ns, license id) of offered licenses
//!   id 11 TERM_DEADLINES   (term end ns, license id) of active / suspended licenses
//!   id 12 ACTIVITY         (last activity ns, license id) of active licenses
//!   id 13 APPS             app id → App
//!   id 14 APP_BY_CANISTER  canister → app id
//!   id 15 PENDING_APPS     canister → PendingApp (slot reserved during the registry call)
//!   id 16 USAGE_REPORTER   common::usage_reporter: sequence number and pending usage report
//!   id 17 LICENSES_BY_PROGRAM  (program id, license id) of every license        ┐ schema 3,
//!   id 18 LICENSES_BY_HOLDER   (holder, license id) of every license            │ indexes.rs
//!   id 19 APPS_BY_PROGRAM      (program id, app id) of every app                │
//!   id 20 ACTIVITY_PROGRAM     (last activity ns, license id) → program id of active licenses
//!   id 21 ACTIVITY_DAYS        (day of last activity, program id) → active licenses that day
//!   id 22 INDEX_BUILD          StableCell: how far 17-21 are built over older records ┘
//! ```
//! Memory ids are never renumbered or reused once deployed; new structures take new ids.

use crate::state::{LicenseState, Memories};
use common::core_state::CoreState;
use common::Memory;
use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
use ic_stable_structures::DefaultMemoryImpl;
use interfaces::license_issuer::Config;
use std::cell::RefCell;

const CONFIG_MEM: MemoryId = MemoryId::new(0);
const AUDIT_INDEX_MEM: MemoryId = MemoryId::new(1);
const AUDIT_DATA_MEM: MemoryId = MemoryId::new(2);
const COUNTERS_MEM: MemoryId = MemoryId::new(3);
const POLICIES_MEM: MemoryId = MemoryId::new(4);
const INSTITUTIONS_MEM: MemoryId = MemoryId::new(5);
const PROGRAMS_MEM: MemoryId = MemoryId::new(6);
const PROGRAM_SEATS_MEM: MemoryId = MemoryId::new(7);
const LICENSES_MEM: MemoryId = MemoryId::new(8);
const LIVE_BY_HOLDER_MEM: MemoryId = MemoryId::new(9);
const OFFER_DEADLINES_MEM: MemoryId = MemoryId::new(10);
const TERM_DEADLINES_MEM: MemoryId = MemoryId::new(11);
const ACTIVITY_MEM: MemoryId = MemoryId::new(12);
const APPS_MEM: MemoryId = MemoryId::new(13);
const APP_BY_CANISTER_MEM: MemoryId = MemoryId::new(14);
const PENDING_APPS_MEM: MemoryId = MemoryId::new(15);
/// Sequence number and pending report of the usage reports sent to the burn ledger.
pub const USAGE_REPORTER_MEM: MemoryId = MemoryId::new(16);
const LICENSES_BY_PROGRAM_MEM: MemoryId = MemoryId::new(17);
const LICENSES_BY_HOLDER_MEM: MemoryId = MemoryId::new(18);
const APPS_BY_PROGRAM_MEM: MemoryId = MemoryId::new(19);
const ACTIVITY_PROGRAM_MEM: MemoryId = MemoryId::new(20);
const ACTIVITY_DAYS_MEM: MemoryId = MemoryId::new(21);
const INDEX_BUILD_MEM: MemoryId = MemoryId::new(22);

thread_local! {
    static MEMORY_MANAGER: RefCell<MemoryManager<DefaultMemoryImpl>> =
        RefCell::new(MemoryManager::init(DefaultMemoryImpl::default()));
    static STATE: RefCell<LicenseState<Memory>> = RefCell::new(LicenseState::init(
        CoreState::init(mem(CONFIG_MEM), mem(AUDIT_INDEX_MEM), mem(AUDIT_DATA_MEM)),
        Memories {
            counters: mem(COUNTERS_MEM),
            policies: mem(POLICIES_MEM),
            institutions: mem(INSTITUTIONS_MEM),
            programs: mem(PROGRAMS_MEM),
            program_seats: mem(PROGRAM_SEATS_MEM),
            licenses: mem(LICENSES_MEM),
            live_by_holder: mem(LIVE_BY_HOLDER_MEM),
            offer_deadlines: mem(OFFER_DEADLINES_MEM),
            term_deadlines: mem(TERM_DEADLINES_MEM),
            activity: mem(ACTIVITY_MEM),
            apps: mem(APPS_MEM),
            app_by_canister: mem(APP_BY_CANISTER_MEM),
            pending_apps: mem(PENDING_APPS_MEM),
            licenses_by_program: mem(LICENSES_BY_PROGRAM_MEM),
            licenses_by_holder: mem(LICENSES_BY_HOLDER_MEM),
            apps_by_program: mem(APPS_BY_PROGRAM_MEM),
            activity_program: mem(ACTIVITY_PROGRAM_MEM),
            activity_days: mem(ACTIVITY_DAYS_MEM),
            index_build: mem(INDEX_BUILD_MEM),
        },
    ));
}

pub fn mem(id: MemoryId) -> Memory {
    MEMORY_MANAGER.with_borrow(|m| m.get(id))
}

/// Runs `f` on the whole state. Never hold it across an `await`.
pub fn with_state<R>(f: impl FnOnce(&mut LicenseState<Memory>) -> R) -> R {
    STATE.with_borrow_mut(f)
}

/// Runs `f` on the configuration and audit log.
pub fn with_core<R>(f: impl FnOnce(&mut CoreState<Config, Memory>) -> R) -> R {
    STATE.with_borrow_mut(|s| f(&mut s.core))
}

/// The configuration in force.
pub fn config() -> Config {
    STATE.with_borrow(|s| s.config())
}
