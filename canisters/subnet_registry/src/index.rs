//! Secondary indexes and counters (schema 3), written in the same message as every change of
//! the records they index, and the migration that builds them from schema-1/2 records.
//!
//! - `subnet_heads`: subnet id → `SubnetHead` (status, creating proposal, placement count), a
//!   fixed 18-byte value, so `record_placement` and `list_subnets` need not decode subnets.
//! - `placements_by_subnet`: (subnet, canister) → (), so one subnet's placements are a range.
//! - `nodes_by_subnet`: (subnet, node) → (), so one subnet's nodes are a range.
//!
//! The two pair indexes use `PairKey`, 60 fixed bytes compared as bytes, in the order of
//! `(Principal, Principal)`: a B-tree search then compares byte arrays instead of decoding a
//! tuple of principals at every key it passes (that halved an insert's instructions).
//!
//! Migration: an upgrade from schema 1 or 2 finds these maps empty and `Migration` at its
//! default (phase `Subnets`). `migrate_step` fills them in bounded batches (subnets, then nodes,
//! then placements, each in key order from a cursor), on a timer. Changes made meanwhile keep the
//! indexes up to date, and each step only adds what is missing, so nothing is counted twice.
//! Until the last phase is done, the queries that would read an index scan the records instead
//! (`indexes_ready`), so they answer correctly throughout.

use crate::state::Registry;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, Storable};
use interfaces::subnet_registry::{Subnet, SubnetStatus};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Bound as RangeBound;

/// What a subnet's status, existence and placement count need, without its members and policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubnetHead {
    pub status: SubnetStatus,
    /// The proposal that created it (a `Proposed` subnet exists only while it is open).
    pub created_by_proposal: u64,
    /// Placements recorded on it.
    pub placements: u64,
}

/// The encoding's version byte, so a later layout can be told apart.
const HEAD_V1: u8 = 1;
const HEAD_LEN: usize = 18;

const STATUSES: [SubnetStatus; 6] = [
    SubnetStatus::Proposed,
    SubnetStatus::Approved,
    SubnetStatus::Provisioning,
    SubnetStatus::Live,
    SubnetStatus::Suspended,
    SubnetStatus::Decommissioned,
];

fn status_code(status: SubnetStatus) -> u8 {
    STATUSES.iter().position(|s| *s == status).expect("every status is listed") as u8
}

impl SubnetHead {
    pub fn of(subnet: &Subnet, placements: u64) -> Self {
        SubnetHead { status: subnet.status, created_by_proposal: subnet.created_by_proposal, placements }
    }
}

impl Storable for SubnetHead {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.encode()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        let ok = bytes.len() == HEAD_LEN && bytes[0] == HEAD_V1 && usize::from(bytes[1]) < STATUSES.len();
        assert!(ok, "corrupt subnet head in stable memory");
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        SubnetHead { status: STATUSES[usize::from(bytes[1])], created_by_proposal: u64_at(2), placements: u64_at(10) }
    }

    const BOUND: Bound = Bound::Bounded { max_size: HEAD_LEN as u32, is_fixed_size: true };
}

impl SubnetHead {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEAD_LEN);
        b.push(HEAD_V1);
        b.push(status_code(self.status));
        b.extend_from_slice(&self.created_by_proposal.to_le_bytes());
        b.extend_from_slice(&self.placements.to_le_bytes());
        b
    }
}

/// Where the schema-3 migration stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Phase {
    /// Building `subnet_heads` (the default: an upgrade from schema 1 or 2 starts here).
    #[default]
    Subnets,
    Nodes,
    Placements,
    Done,
}

/// Migration progress: the phase and the last key it handled.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Migration {
    pub phase: Phase,
    pub after: Option<Principal>,
}

/// Bytes of a principal in a `PairKey`: its length, then its up to 29 bytes zero-padded.
const SLOT: usize = 30;

/// A pair of principals as 60 fixed bytes whose byte order is the pair's order: each principal
/// as its length then its bytes zero-padded to 29, which is how `Principal` orders itself
/// (length first, then the padded bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PairKey([u8; 2 * SLOT]);

impl PairKey {
    pub fn new(a: &Principal, b: &Principal) -> Self {
        let mut key = [0u8; 2 * SLOT];
        for (slot, p) in [(0, a), (SLOT, b)] {
            let bytes = p.as_slice();
            key[slot] = bytes.len() as u8;
            key[slot + 1..slot + 1 + bytes.len()].copy_from_slice(bytes);
        }
        PairKey(key)
    }

    fn principal(&self, slot: usize) -> Principal {
        let len = usize::from(self.0[slot]);
        Principal::from_slice(&self.0[slot + 1..slot + 1 + len])
    }

    pub fn first(&self) -> Principal {
        self.principal(0)
    }

    pub fn second(&self) -> Principal {
        self.principal(SLOT)
    }

    /// The smallest key whose first principal is `a` (the empty principal is the smallest).
    pub fn lowest(a: &Principal) -> Self {
        PairKey::new(a, &Principal::from_slice(&[]))
    }
}

impl Storable for PairKey {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.0)
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0.to_vec()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        PairKey(bytes.as_ref().try_into().expect("corrupt pair key in stable memory"))
    }

    const BOUND: Bound = Bound::Bounded { max_size: 2 * SLOT as u32, is_fixed_size: true };
}

/// Keys of `map` after `after` (all when `None`), at most `max`.
fn keys_after<V: Storable, M: Memory>(
    map: &ic_stable_structures::StableBTreeMap<Principal, V, M>,
    after: Option<Principal>,
    max: usize,
) -> Vec<Principal> {
    let start = after.map_or(RangeBound::Unbounded, RangeBound::Excluded);
    map.keys_range((start, RangeBound::Unbounded)).take(max).collect()
}

/// The keys of an index from its first `(subnet, _)` key on (stop at the first other subnet).
pub fn subnet_range(subnet: &Principal) -> std::ops::RangeFrom<PairKey> {
    PairKey::lowest(subnet)..
}

impl<M: Memory> Registry<M> {
    /// Whether every index is complete (the migration is done).
    pub fn indexes_ready(&self) -> bool {
        self.migration.get().0.phase == Phase::Done
    }

    /// The subnet's head: stored, or (before the migration reached it) read from its record.
    pub(crate) fn head(&self, id: &Principal) -> Option<SubnetHead> {
        self.subnet_heads.get(id).or_else(|| self.subnet(id).map(|s| SubnetHead::of(&s, 0)))
    }

    /// Handles at most `max` records of the migration; returns whether it is done.
    pub fn migrate_step(&mut self, max: usize) -> bool {
        let mut state = self.migration.get().0;
        let mut budget = max;
        while state.phase != Phase::Done && budget > 0 {
            let keys = match state.phase {
                Phase::Subnets => keys_after(&self.subnets, state.after, budget),
                Phase::Nodes => keys_after(&self.nodes, state.after, budget),
                Phase::Placements => keys_after(&self.placements, state.after, budget),
                Phase::Done => unreachable!(),
            };
            for key in &keys {
                match state.phase {
                    Phase::Subnets => self.migrate_subnet(key),
                    Phase::Nodes => self.migrate_node(key),
                    Phase::Placements => self.migrate_placement(key),
                    Phase::Done => unreachable!(),
                }
            }
            budget -= keys.len();
            state = match keys.last() {
                Some(last) if budget == 0 => Migration { phase: state.phase, after: Some(*last) },
                _ => Migration { phase: next(state.phase), after: None },
            };
        }
        self.migration.set(Cbor(state));
        state.phase == Phase::Done
    }

    fn migrate_subnet(&mut self, id: &Principal) {
        if !self.subnet_heads.contains_key(id) {
            let subnet = self.subnet(id).expect("listed subnet");
            self.subnet_heads.insert(*id, SubnetHead::of(&subnet, 0));
        }
    }

    fn migrate_node(&mut self, id: &Principal) {
        if let Some(subnet_id) = self.node(id).and_then(|n| n.subnet_id) {
            self.nodes_by_subnet.insert(PairKey::new(&subnet_id, id), ());
        }
    }

    fn migrate_placement(&mut self, canister: &Principal) {
        let placement = self.placement_of(canister).expect("listed placement");
        if self.placements_by_subnet.insert(PairKey::new(&placement.subnet_id, canister), ()).is_none() {
            self.count_placement(&placement.subnet_id);
        }
    }

    /// One more placement on `subnet_id` in its head.
    pub(crate) fn count_placement(&mut self, subnet_id: &Principal) {
        let mut head = self.head(subnet_id).unwrap_or_else(|| panic!("placement on unknown subnet {subnet_id}"));
        head.placements += 1;
        self.subnet_heads.insert(*subnet_id, head);
    }

    /// Every index and counter compared with a full scan of the records it indexes.
    #[cfg(test)]
    pub fn check_indexes(&self) -> Result<(), String> {
        use std::collections::BTreeMap;
        let mut counts: BTreeMap<Principal, u64> = BTreeMap::new();
        let mut placed = vec![];
        for e in self.placements.iter() {
            let p = e.value().0;
            *counts.entry(p.subnet_id).or_default() += 1;
            placed.push((p.subnet_id, p.canister));
        }
        placed.sort();
        let indexed: Vec<_> = self.placements_by_subnet.keys().map(|k| (k.first(), k.second())).collect();
        if indexed != placed {
            return Err(format!("placements_by_subnet {indexed:?} != scan {placed:?}"));
        }
        let heads: Vec<(Principal, SubnetHead)> = self.subnet_heads.iter().map(|e| (*e.key(), e.value())).collect();
        let scan: Vec<(Principal, SubnetHead)> = self
            .subnets
            .iter()
            .map(|e| {
                let s = e.value().0;
                (s.id, SubnetHead::of(&s, counts.get(&s.id).copied().unwrap_or(0)))
            })
            .collect();
        if heads != scan {
            return Err(format!("subnet_heads {heads:?} != scan {scan:?}"));
        }
        let mut members: Vec<(Principal, Principal)> =
            self.nodes.iter().filter_map(|e| e.value().0.subnet_id.map(|s| (s, *e.key()))).collect();
        members.sort();
        let indexed: Vec<_> = self.nodes_by_subnet.keys().map(|k| (k.first(), k.second())).collect();
        if indexed != members {
            return Err(format!("nodes_by_subnet {indexed:?} != scan {members:?}"));
        }
        Ok(())
    }
}

fn next(phase: Phase) -> Phase {
    match phase {
        Phase::Subnets => Phase::Nodes,
        Phase::Nodes => Phase::Placements,
        Phase::Placements | Phase::Done => Phase::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn principal() -> impl Strategy<Value = Principal> {
        // Short ones with many zeros, so prefixes and zero padding meet.
        proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => any::<u8>()], 0..=29).prop_map(|b| Principal::from_slice(&b))
    }

    proptest! {
        #[test]
        fn pair_keys_sort_as_principal_pairs(a in principal(), b in principal(), c in principal(), d in principal()) {
            let (x, y) = (PairKey::new(&a, &b), PairKey::new(&c, &d));
            prop_assert_eq!(x.cmp(&y), (a, b).cmp(&(c, d)));
            prop_assert_eq!((x.first(), x.second()), (a, b));
            prop_assert_eq!(PairKey::from_bytes(x.to_bytes()), x);
            prop_assert!(PairKey::lowest(&a) <= x);
            prop_assert_eq!(PairKey::lowest(&a) <= y, a <= c);
        }
    }

    #[test]
    fn heads_round_trip_in_fixed_size() {
        for status in STATUSES {
            let head = SubnetHead { status, created_by_proposal: u64::MAX - 3, placements: 123_456 };
            let bytes = head.to_bytes();
            assert_eq!(bytes.len(), HEAD_LEN);
            assert_eq!(SubnetHead::from_bytes(bytes), head);
        }
    }

    #[test]
    #[should_panic(expected = "corrupt subnet head")]
    fn a_bad_head_is_a_broken_invariant() {
        SubnetHead::from_bytes(Cow::Owned(vec![HEAD_V1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    }
}
