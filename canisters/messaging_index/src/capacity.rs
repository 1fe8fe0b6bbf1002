//! Capacity: which shard takes a new bucket, and when and where a new shard is needed.
//!
//! A shard stops taking new buckets when it passes either threshold of the policy (users,
//! stored bytes); its existing buckets keep growing, which is why the thresholds sit below
//! what a shard can hold (the benchmark's per-shard capacity sets them, BENCHMARKS.md). Shards
//! on one subnet share its throughput (~1,000 updates/s) and storage, so the policy also caps
//! shards per subnet. New shards go only on allowed subnets (for Pakistan: the Live, compliant
//! PK subnets `subnet_registry` vouches for).

use crate::routing::ShardId;
use candid::Principal;

/// The thresholds and places of the policy (the index's install argument, changed by an authority).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// A shard with this many users takes no new buckets.
    pub max_users_per_shard: u64,
    /// A shard storing this many bytes takes no new buckets.
    pub max_stored_bytes_per_shard: u64,
    /// At most this many shards on one subnet.
    pub max_shards_per_subnet: u32,
    /// Subnets new shards may be created on, in order of preference.
    pub allowed_subnets: Vec<Principal>,
}

/// What the index knows of a shard's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardStatus {
    /// Takes new buckets while under the thresholds.
    Open,
    /// Closed to new buckets by an authority (its users stay).
    Closed,
    /// Being upgraded by a rollout: no new buckets meanwhile.
    Upgrading,
    /// Stopped or unreachable when last seen.
    Stopped,
}

/// A shard's load as last reported (metrics) or counted by the index (registrations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardLoad {
    pub id: ShardId,
    pub subnet: Principal,
    pub status: ShardStatus,
    pub users: u64,
    pub stored_bytes: u64,
}

impl ShardLoad {
    /// Whether the shard may take a new bucket under `t`.
    pub fn takes_new_buckets(&self, t: &Thresholds) -> bool {
        self.status == ShardStatus::Open && self.users < t.max_users_per_shard && self.stored_bytes < t.max_stored_bytes_per_shard
    }
}

/// Where a new bucket goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The least-loaded shard that takes new buckets.
    Existing(ShardId),
    /// No shard takes new buckets: create one on this subnet.
    CreateOn(Principal),
    /// No shard takes new buckets and every allowed subnet is at its shard cap (or none is
    /// allowed): registration of users in new buckets must wait for the policy to change.
    NoCapacity,
}

/// The placement of a new bucket. Among shards that take new buckets, the one with the fewest
/// users (then fewest bytes, then lowest id) — so load evens out; if none, a new shard on the
/// first allowed subnet with the fewest shards, under the per-subnet cap.
pub fn place_new_bucket(shards: &[ShardLoad], t: &Thresholds) -> Placement {
    if let Some(best) = shards.iter().filter(|s| s.takes_new_buckets(t)).min_by_key(|s| (s.users, s.stored_bytes, s.id)) {
        return Placement::Existing(best.id);
    }
    subnet_for_new_shard(shards, t).map_or(Placement::NoCapacity, Placement::CreateOn)
}

/// The allowed subnet a new shard should go on: the first with the fewest shards, under the
/// per-subnet cap; `None` when every allowed subnet is at its cap.
pub fn subnet_for_new_shard(shards: &[ShardLoad], t: &Thresholds) -> Option<Principal> {
    let on = |subnet: &Principal| shards.iter().filter(|s| s.subnet == *subnet).count() as u64;
    t.allowed_subnets.iter().filter(|subnet| on(subnet) < u64::from(t.max_shards_per_subnet)).min_by_key(|subnet| on(subnet)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subnet(i: u8) -> Principal {
        Principal::from_slice(&[i; 29])
    }

    fn thresholds() -> Thresholds {
        Thresholds { max_users_per_shard: 100, max_stored_bytes_per_shard: 1_000, max_shards_per_subnet: 2, allowed_subnets: vec![subnet(1), subnet(2)] }
    }

    fn shard(id: ShardId, on: u8, users: u64, bytes: u64) -> ShardLoad {
        ShardLoad { id, subnet: subnet(on), status: ShardStatus::Open, users, stored_bytes: bytes }
    }

    #[test]
    fn the_least_loaded_open_shard_takes_the_bucket() {
        let shards = [shard(0, 1, 50, 10), shard(1, 1, 20, 900), shard(2, 2, 20, 100)];
        assert_eq!(place_new_bucket(&shards, &thresholds()), Placement::Existing(2));
    }

    #[test]
    fn full_closed_or_upgrading_shards_take_nothing() {
        let mut shards = vec![shard(0, 1, 100, 0), shard(1, 1, 0, 1_000), shard(2, 2, 0, 0)];
        shards[2].status = ShardStatus::Upgrading;
        // Subnet 1 holds two shards (its cap); subnet 2 one.
        assert_eq!(place_new_bucket(&shards, &thresholds()), Placement::CreateOn(subnet(2)));
        shards.push(shard(3, 2, 100, 0));
        assert_eq!(place_new_bucket(&shards, &thresholds()), Placement::NoCapacity);
    }

    #[test]
    fn no_allowed_subnet_means_no_new_shard() {
        let t = Thresholds { allowed_subnets: vec![], ..thresholds() };
        assert_eq!(place_new_bucket(&[], &t), Placement::NoCapacity);
        assert_eq!(place_new_bucket(&[], &thresholds()), Placement::CreateOn(subnet(1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn placement_never_breaks_the_policy(loads in proptest::collection::vec((1u8..4, 0u64..150, 0u64..1_500, 0u8..4), 0..12)) {
            let t = thresholds();
            let shards: Vec<ShardLoad> = loads.iter().enumerate().map(|(i, (on, users, bytes, status))| ShardLoad {
                id: i as ShardId,
                subnet: subnet(*on),
                status: [ShardStatus::Open, ShardStatus::Closed, ShardStatus::Upgrading, ShardStatus::Stopped][usize::from(*status)],
                users: *users,
                stored_bytes: *bytes,
            }).collect();
            match place_new_bucket(&shards, &t) {
                Placement::Existing(id) => {
                    let chosen = &shards[id as usize];
                    prop_assert!(chosen.takes_new_buckets(&t));
                    prop_assert!(shards.iter().filter(|s| s.takes_new_buckets(&t)).all(|s| s.users >= chosen.users));
                }
                Placement::CreateOn(on) => {
                    prop_assert!(shards.iter().all(|s| !s.takes_new_buckets(&t)));
                    prop_assert!(t.allowed_subnets.contains(&on));
                    prop_assert!((shards.iter().filter(|s| s.subnet == on).count() as u32) < t.max_shards_per_subnet);
                }
                Placement::NoCapacity => {
                    prop_assert!(shards.iter().all(|s| !s.takes_new_buckets(&t)));
                    for on in &t.allowed_subnets {
                        prop_assert!(shards.iter().filter(|s| s.subnet == *on).count() as u32 >= t.max_shards_per_subnet);
                    }
                }
            }
        }
    }
}
