//! Rollout steps for `messaging`.
