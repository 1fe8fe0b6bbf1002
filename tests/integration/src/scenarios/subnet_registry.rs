//! Rollout steps for `subnet_registry`.
