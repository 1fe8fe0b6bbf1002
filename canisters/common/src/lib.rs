//! Plumbing shared by the four Sovereign Cloud Suite canisters.
//!
//! Everything here is plain Rust over stable-structures memories, so it is unit-tested natively;
//! the only system API it touches is `certified_data_set`, behind [`audit::certify`].

pub mod audit;
pub mod cbor;
pub mod decode;
pub mod core_state;
pub mod endpoints;
#[cfg(feature = "did-check")]
pub mod did;
pub mod guard;
pub mod lifecycle;
pub mod reply;
pub mod usage_reporter;

use ic_stable_structures::memory_manager::VirtualMemory;
use ic_stable_structures::DefaultMemoryImpl;

/// The memory every canister's stable structures live in: one virtual memory of the manager.
pub type Memory = VirtualMemory<DefaultMemoryImpl>;
