//! Rollout steps for `license_issuer`.
