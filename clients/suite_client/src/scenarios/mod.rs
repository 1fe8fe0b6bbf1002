//! Reusable steps of the Pakistan rollout, one module per canister. Integration tests and the
//! demo (`scripts/demo.sh`) call the same functions, so the demo shows what the tests prove.

pub mod burn_ledger;
pub mod license_issuer;
pub mod messaging;
pub mod subnet_registry;
