//! Validating the install argument into the stored configuration.

use candid::{Nat, Principal};
use common::lifecycle::{check_range, validate_authorities};
use interfaces::audit::ConfigError;
use interfaces::messaging_index::{Config, CreationPath, InitArgs, ShardPolicy};

/// Version of the stored schema this code reads and writes. 1: the first index.
pub const SCHEMA_VERSION: u32 = 1;

/// At most this many authorities and allowed subnets (bounded configuration).
pub const MAX_AUTHORITIES: usize = 16;
pub const MAX_ALLOWED_SUBNETS: usize = 64;

/// The default policy: thresholds from the benchmark's per-shard capacity (BENCHMARKS.md,
/// "Per-shard capacity", after the optimisations: about 174,000 users with messages kept 30 days,
/// or 32 GiB stored, half a shard's 64 GiB plan), ten shards a subnet (a subnet's ~1,000
/// updates/s shared), 2T cycles per new shard.
pub fn default_policy() -> ShardPolicy {
    ShardPolicy {
        max_users_per_shard: 170_000,
        max_stored_bytes_per_shard: 32 * 1024 * 1024 * 1024,
        max_shards_per_subnet: 10,
        new_shard_cycles: Nat::from(2_000_000_000_000u128),
        allowed_subnets: vec![],
        rollout_batch_size: 5,
        shard_min_cycles: Nat::from(1_000_000_000_000u128),
        shard_top_up_cycles: Nat::from(2_000_000_000_000u128),
    }
}

/// Defaults for an install without an argument: the installer is the only authority.
pub fn default_args(installer: Principal) -> InitArgs {
    InitArgs { authorities: vec![installer], subnet_registry: None, policy: None, creation: None }
}

/// The configuration `args` describe, or why they are refused.
pub fn build_config(args: InitArgs) -> Result<Config, ConfigError> {
    check_range("authorities", args.authorities.len() as u64, 1, MAX_AUTHORITIES as u64)?;
    validate_authorities(&args.authorities)?;
    let policy = args.policy.unwrap_or_else(default_policy);
    validate_policy(&policy)?;
    if args.subnet_registry == Some(Principal::anonymous()) {
        return Err(ConfigError::AnonymousPrincipal { field: "subnet_registry".into() });
    }
    if args.creation == Some(CreationPath::Cmc(Principal::anonymous())) {
        return Err(ConfigError::AnonymousPrincipal { field: "creation".into() });
    }
    Ok(Config {
        schema_version: SCHEMA_VERSION,
        authorities: args.authorities,
        subnet_registry: args.subnet_registry,
        policy,
        creation: args.creation.unwrap_or(CreationPath::ManagementCanister),
    })
}

/// Thresholds at least 1, cycles within u128, distinct allowed subnets (at most
/// [`MAX_ALLOWED_SUBNETS`]), a batch of 1..=100.
pub fn validate_policy(p: &ShardPolicy) -> Result<(), ConfigError> {
    check_range("max_users_per_shard", p.max_users_per_shard, 1, u64::MAX)?;
    check_range("max_stored_bytes_per_shard", p.max_stored_bytes_per_shard, 1, u64::MAX)?;
    check_range("max_shards_per_subnet", p.max_shards_per_subnet.into(), 1, 10_000)?;
    check_range("rollout_batch_size", p.rollout_batch_size.into(), 1, 100)?;
    check_range("allowed_subnets", p.allowed_subnets.len() as u64, 0, MAX_ALLOWED_SUBNETS as u64)?;
    for (name, cycles) in [("new_shard_cycles", &p.new_shard_cycles), ("shard_min_cycles", &p.shard_min_cycles), ("shard_top_up_cycles", &p.shard_top_up_cycles)] {
        if u128::try_from(cycles.0.clone()).is_err() {
            return Err(ConfigError::LimitOutOfRange { name: name.into(), value: u64::MAX, min: 0, max: u64::MAX });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in &p.allowed_subnets {
        if *s == Principal::anonymous() {
            return Err(ConfigError::AnonymousPrincipal { field: "allowed_subnets".into() });
        }
        if !seen.insert(*s) {
            return Err(ConfigError::DuplicatePrincipal { field: "allowed_subnets".into(), principal: *s });
        }
    }
    Ok(())
}

/// A policy amount of cycles (validated to fit u128).
pub fn cycles(amount: &Nat) -> u128 {
    u128::try_from(amount.0.clone()).unwrap_or(u128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u8) -> Principal {
        Principal::from_slice(&[i; 29])
    }

    #[test]
    fn defaults_and_refusals() {
        let config = build_config(default_args(p(1))).unwrap();
        assert_eq!(config.policy.max_users_per_shard, 170_000);
        let bad = |f: fn(&mut InitArgs)| {
            let mut a = default_args(p(1));
            a.policy = Some(default_policy());
            f(&mut a);
            build_config(a).is_err()
        };
        assert!(bad(|a| a.authorities.clear()));
        assert!(bad(|a| a.authorities.push(p(1))));
        assert!(bad(|a| a.policy.as_mut().unwrap().max_users_per_shard = 0));
        assert!(bad(|a| a.policy.as_mut().unwrap().rollout_batch_size = 0));
        assert!(bad(|a| a.policy.as_mut().unwrap().allowed_subnets = vec![p(3), p(3)]));
        assert!(bad(|a| a.policy.as_mut().unwrap().new_shard_cycles = Nat::from(u128::MAX) + Nat::from(1u8)));
        assert!(bad(|a| a.subnet_registry = Some(Principal::anonymous())));
        assert!(bad(|a| a.creation = Some(CreationPath::Cmc(Principal::anonymous()))));
        assert!(!bad(|a| a.policy.as_mut().unwrap().allowed_subnets = vec![p(3), p(4)]));
    }
}
