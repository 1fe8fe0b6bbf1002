//! The index's state in stable memory, with plain methods the endpoints call (and unit tests reach).

use crate::capacity::{self, ShardLoad, Thresholds};
use crate::creation::{Creation, CreationState};
use crate::directory::Directory;
use crate::routing::{self, bucket_of, ShardId};
use candid::{Nat, Principal};
use common::cbor::Cbor;
use common::core_state::CoreState;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use interfaces::messaging_index::*;
use serde::{Deserialize, Serialize};

/// A shard as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub canister: Principal,
    pub subnet: Principal,
    pub status: ShardStatus,
    pub users: u64,
    pub stored_bytes: u64,
    pub buckets: u32,
    pub added_at_ns: u64,
    pub origin: ShardOrigin,
    /// The last successful reading of the shard's figures.
    #[serde(default)]
    pub last_reading: Option<ShardReading>,
    /// Why the last reading (or top-up) failed, if it did.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The snapshot the last rollout took before upgrading the shard: the next rollout replaces
    /// it (a canister holds at most 10 snapshots).
    #[serde(default)]
    pub snapshot: Option<Vec<u8>>,
}

/// The stored module is kept in chunks of this size (a stable map value stays small).
const WASM_CHUNK: usize = 1024 * 1024;
/// At most this many buckets' runs in one routing page.
pub const MAX_ROUTING_RUNS: usize = 2_000;

pub struct IndexState<M: Memory> {
    pub core: CoreState<Config, M>,
    shards: StableBTreeMap<ShardId, Cbor<ShardRecord>, M>,
    routing: StableBTreeMap<u16, ShardId, M>,
    pub directory: Directory<M>,
    wasm_chunks: StableBTreeMap<u32, Vec<u8>, M>,
    wasm_meta: StableCell<Cbor<Option<ShardWasm>>, M>,
    creations: StableBTreeMap<u64, Cbor<Creation>, M>,
    rollout: StableCell<Cbor<Option<RolloutRecord>>, M>,
}

/// The current (or last) rollout, as stored: it resumes from here after an upgrade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutRecord {
    pub rollout: crate::rollout::Rollout,
    pub started_at_ns: u64,
    pub started_by: Principal,
    /// Each shard's status before the rollout, put back when it leaves the rollout.
    pub previous_status: Vec<(ShardId, ShardStatus)>,
}

/// The memories of an [`IndexState`], in `storage.rs`'s order.
pub struct Memories<M> {
    pub config: M,
    pub audit_index: M,
    pub audit_data: M,
    pub shards: M,
    pub routing: M,
    pub handles: M,
    pub users: M,
    pub pending: M,
    pub wasm_chunks: M,
    pub wasm_meta: M,
    pub creations: M,
    pub rollout: M,
}

impl<M: Memory> IndexState<M> {
    pub fn init(m: Memories<M>) -> Self {
        IndexState {
            core: CoreState::init(m.config, m.audit_index, m.audit_data),
            shards: StableBTreeMap::init(m.shards),
            routing: StableBTreeMap::init(m.routing),
            directory: Directory::init(m.handles, m.users, m.pending),
            wasm_chunks: StableBTreeMap::init(m.wasm_chunks),
            wasm_meta: StableCell::init(m.wasm_meta, Cbor(None)),
            creations: StableBTreeMap::init(m.creations),
            rollout: StableCell::init(m.rollout, Cbor(None)),
        }
    }

    // ---- shards ----

    pub fn shard(&self, id: ShardId) -> Option<ShardRecord> {
        self.shards.get(&id).map(|Cbor(s)| s)
    }

    /// The shard a canister is, if it is one.
    pub fn shard_of_canister(&self, canister: Principal) -> Option<ShardId> {
        self.shards.iter().find(|e| e.value().0.canister == canister).map(|e| *e.key())
    }

    /// Adds a shard; its id is the next number.
    pub fn add_shard(&mut self, record: ShardRecord) -> ShardId {
        let id = self.shards.last_key_value().map_or(0, |(k, _)| k + 1);
        self.shards.insert(id, Cbor(record));
        id
    }

    pub fn update_shard(&mut self, id: ShardId, f: impl FnOnce(&mut ShardRecord)) {
        if let Some(Cbor(mut s)) = self.shards.get(&id) {
            f(&mut s);
            self.shards.insert(id, Cbor(s));
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        let p = self.core.config().policy;
        Thresholds {
            max_users_per_shard: p.max_users_per_shard,
            max_stored_bytes_per_shard: p.max_stored_bytes_per_shard,
            max_shards_per_subnet: p.max_shards_per_subnet,
            allowed_subnets: p.allowed_subnets,
        }
    }

    pub fn loads(&self) -> Vec<ShardLoad> {
        self.shards
            .iter()
            .map(|e| {
                let s = &e.value().0;
                let status = match s.status {
                    ShardStatus::Open => capacity::ShardStatus::Open,
                    ShardStatus::Closed => capacity::ShardStatus::Closed,
                    ShardStatus::Upgrading => capacity::ShardStatus::Upgrading,
                    ShardStatus::Stopped => capacity::ShardStatus::Stopped,
                };
                ShardLoad { id: *e.key(), subnet: s.subnet, status, users: s.users, stored_bytes: s.stored_bytes }
            })
            .collect()
    }

    pub fn shard_infos(&self) -> Vec<ShardInfo> {
        let t = self.thresholds();
        let loads = self.loads();
        self.shards
            .iter()
            .zip(loads)
            .map(|(e, load)| {
                let s = e.value().0.clone();
                ShardInfo {
                    id: *e.key(),
                    canister: s.canister,
                    subnet: s.subnet,
                    status: s.status,
                    users: s.users,
                    stored_bytes: s.stored_bytes,
                    buckets: s.buckets,
                    takes_new_buckets: load.takes_new_buckets(&t),
                    added_at_ns: s.added_at_ns,
                    origin: s.origin,
                    last_reading: s.last_reading,
                    last_error: s.last_error,
                }
            })
            .collect()
    }

    pub fn shard_info(&self, id: ShardId) -> Option<ShardInfo> {
        self.shard_infos().into_iter().find(|s| s.id == id)
    }

    // ---- routing ----

    /// Routes `bucket` to `shard` (a new bucket; a migration would flip an assigned one).
    pub fn assign_bucket(&mut self, bucket: u16, shard: ShardId) {
        if self.routing.insert(bucket, shard).is_none() {
            self.update_shard(shard, |s| s.buckets += 1);
        }
    }

    pub fn bucket_shard(&self, bucket: u16) -> Option<ShardId> {
        self.routing.get(&bucket)
    }

    pub fn route(&self, principal: Principal) -> Route {
        let bucket = bucket_of(principal.as_slice());
        let shard = self.bucket_shard(bucket);
        Route { bucket, shard, canister: shard.and_then(|s| self.shard(s)).map(|s| s.canister) }
    }

    pub fn routing_page(&self, from: u16, limit: usize) -> RoutingPage {
        let (runs, next) = routing::runs(self.routing.range(from..).map(|e| (*e.key(), e.value())), limit.clamp(1, MAX_ROUTING_RUNS));
        let canister = |shard: ShardId| self.shard(shard).map_or(Principal::anonymous(), |s| s.canister);
        RoutingPage {
            runs: runs.into_iter().map(|r| BucketRun { first: r.first, last: r.last, shard: r.shard, canister: canister(r.shard) }).collect(),
            next,
            assigned_buckets: self.routing.len() as u32,
        }
    }

    // ---- the shard wasm ----

    pub fn store_wasm(&mut self, module: &[u8], meta: ShardWasm) {
        let chunks = module.chunks(WASM_CHUNK).count() as u32;
        for (i, chunk) in module.chunks(WASM_CHUNK).enumerate() {
            self.wasm_chunks.insert(i as u32, chunk.to_vec());
        }
        // A shorter module than the last one: drop the old tail.
        let stale: Vec<u32> = self.wasm_chunks.range(chunks..).map(|e| *e.key()).collect();
        for k in stale {
            self.wasm_chunks.remove(&k);
        }
        self.wasm_meta.set(Cbor(Some(meta)));
    }

    pub fn wasm_meta(&self) -> Option<ShardWasm> {
        self.wasm_meta.get().0.clone()
    }

    pub fn wasm(&self) -> Option<Vec<u8>> {
        self.wasm_meta()?;
        Some(self.wasm_chunks.iter().flat_map(|e| e.value()).collect())
    }

    // ---- rollouts ----

    pub fn rollout(&self) -> Option<RolloutRecord> {
        self.rollout.get().0.clone()
    }

    pub fn set_rollout(&mut self, record: RolloutRecord) {
        self.rollout.set(Cbor(Some(record)));
    }

    pub fn rollout_view(&self) -> Option<RolloutView> {
        use crate::rollout::ShardStage as S;
        let r = self.rollout()?;
        let shards = r
            .rollout
            .shards
            .iter()
            .map(|(shard, stage)| {
                let (stage, error) = match stage {
                    S::Waiting => (RolloutStage::Waiting, None),
                    S::Stopping => (RolloutStage::Stopping, None),
                    S::Snapshotting => (RolloutStage::Snapshotting, None),
                    S::Upgrading { .. } => (RolloutStage::Upgrading, None),
                    S::Starting => (RolloutStage::Starting, None),
                    S::Verifying => (RolloutStage::Verifying, None),
                    S::Done => (RolloutStage::Done, None),
                    S::Restoring { error, .. } => (RolloutStage::Restoring, Some(error.clone())),
                    S::RestartingOld { error } => (RolloutStage::RestartingOld, Some(error.clone())),
                    S::RolledBack { error } => (RolloutStage::RolledBack, Some(error.clone())),
                    S::Stuck { error } => (RolloutStage::Stuck, Some(error.clone())),
                };
                let canister = self.shard(*shard).map_or(Principal::anonymous(), |s| s.canister);
                ShardRollout { shard: *shard, canister, stage, error }
            })
            .collect();
        Some(RolloutView {
            target_sha256: r.rollout.target_hash.clone(),
            batch_size: r.rollout.batch_size,
            started_at_ns: r.started_at_ns,
            started_by: r.started_by,
            finished: r.rollout.finished(),
            halted: r.rollout.halted.clone(),
            shards,
        })
    }

    // ---- the creation journal ----

    pub fn begin_creation(&mut self, creation: Creation) -> u64 {
        let id = self.creations.last_key_value().map_or(0, |(k, _)| k + 1);
        self.creations.insert(id, Cbor(creation));
        id
    }

    pub fn update_creation(&mut self, id: u64, f: impl FnOnce(&mut Creation)) {
        if let Some(Cbor(mut c)) = self.creations.get(&id) {
            f(&mut c);
            self.creations.insert(id, Cbor(c));
        }
    }

    pub fn creation_views(&self) -> Vec<CreationView> {
        self.creations
            .iter()
            .map(|e| {
                let c = &e.value().0;
                let state = match &c.state {
                    CreationState::Requested => CreationStateView::Requested,
                    CreationState::Created { canister, attempts, last_error } => {
                        CreationStateView::Created { canister: *canister, attempts: *attempts, last_error: last_error.clone() }
                    }
                    CreationState::Installed { canister } => {
                        CreationStateView::Installed { canister: *canister, shard: self.shard_of_canister(*canister).unwrap_or(u32::MAX) }
                    }
                    CreationState::Refused { error } => CreationStateView::Refused { error: error.clone() },
                };
                CreationView {
                    id: *e.key(),
                    subnet: c.subnet,
                    cycles: Nat::from(c.cycles),
                    requested_at_ns: c.requested_at_ns,
                    state,
                    needs_attention: c.needs_attention(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
    use ic_stable_structures::DefaultMemoryImpl;

    fn state() -> IndexState<impl Memory> {
        let m = MemoryManager::init(DefaultMemoryImpl::default());
        let g = |i| m.get(MemoryId::new(i));
        let mut s = IndexState::init(Memories {
            config: g(0), audit_index: g(1), audit_data: g(2), shards: g(3), routing: g(4), handles: g(5), users: g(6),
            pending: g(7), wasm_chunks: g(8), wasm_meta: g(9), creations: g(10), rollout: g(11),
        });
        let args = crate::config::default_args(Principal::from_slice(&[1; 29]));
        s.core.install(args, crate::config::build_config, 0, Principal::anonymous(), "installed").unwrap();
        s
    }

    fn shard(i: u8) -> ShardRecord {
        ShardRecord {
            canister: Principal::from_slice(&[i; 10]),
            subnet: Principal::from_slice(&[9; 29]),
            status: ShardStatus::Open,
            users: 0,
            stored_bytes: 0,
            buckets: 0,
            added_at_ns: 0,
            origin: ShardOrigin::Created,
            last_reading: None,
            last_error: None,
            snapshot: None,
        }
    }

    #[test]
    fn buckets_route_to_their_shard_and_page_as_runs() {
        let mut s = state();
        let (a, b) = (s.add_shard(shard(1)), s.add_shard(shard(2)));
        assert_eq!((a, b), (0, 1));
        for bucket in 10..20 {
            s.assign_bucket(bucket, a);
        }
        s.assign_bucket(20, b);
        s.assign_bucket(10, a); // already assigned: counted once
        assert_eq!(s.shard(a).unwrap().buckets, 10);
        let page = s.routing_page(0, 1);
        assert_eq!((page.runs.len(), page.next, page.assigned_buckets), (1, Some(20), 11));
        assert_eq!((page.runs[0].first, page.runs[0].last, page.runs[0].canister), (10, 19, Principal::from_slice(&[1; 10])));
        let rest = s.routing_page(20, 10);
        assert_eq!((rest.runs.len(), rest.runs[0].shard, rest.next), (1, b, None));
        assert_eq!(s.shard_of_canister(Principal::from_slice(&[2; 10])), Some(b));
    }

    #[test]
    fn the_stored_module_reads_back_whole_after_a_shorter_one_replaces_it() {
        let mut s = state();
        let meta = |n: u64| ShardWasm { sha256: vec![0; 32], bytes: n, uploaded_at_ns: 0, uploaded_by: Principal::anonymous() };
        assert_eq!(s.wasm(), None);
        let long: Vec<u8> = (0..2_500_000u32).map(|i| i as u8).collect();
        s.store_wasm(&long, meta(long.len() as u64));
        assert_eq!(s.wasm().as_deref(), Some(&long[..]));
        let short = vec![7u8; 1_000];
        s.store_wasm(&short, meta(1_000));
        assert_eq!(s.wasm(), Some(short));
    }
}
