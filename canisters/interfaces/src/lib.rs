//! Candid types of the Sovereign Cloud Suite, one module per canister.
//!
//! This crate must never depend on `ic-cdk` (CI checks it with `cargo tree -i ic-cdk`):
//! callers, integration tests and clients use these types without linking canister endpoints.

pub mod audit;
pub mod burn_ledger;
pub mod license_issuer;
pub mod messaging;
pub mod messaging_index;
pub mod subnet_registry;

pub use candid::{Nat, Principal};
