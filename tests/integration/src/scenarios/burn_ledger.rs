//! Rollout steps for `burn_ledger`.
