//! The registry's durable state: the common core (config + audit log) and one stable map per
//! record kind. Generic over the memory so unit tests run it on `VectorMemory`. The operations
//! live in `records`, `subnets`, `governance`, `placements` and `queries`.

use crate::index::{Migration, PairKey, SubnetHead};
use crate::policy::MemberFacts;
use crate::storage::*;
use candid::{CandidType, Principal};
use common::cbor::Cbor;
use common::core_state::CoreState;
use ic_stable_structures::memory_manager::MemoryId;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use interfaces::audit::PageRequest;
use interfaces::subnet_registry::{
    Config, DataCentre, Node, NodeProvider, Placement, Proposal, RegistryError, Subnet, SubnetStatus, MAX_PAGE_BYTES,
};
use serde::Serialize;

pub struct Registry<M: Memory> {
    /// Configuration (authorities, quorum, recorders) and the hash-chained audit log.
    pub core: CoreState<Config, M>,
    pub(crate) data_centres: StableBTreeMap<String, Cbor<DataCentre>, M>,
    pub(crate) providers: StableBTreeMap<Principal, Cbor<NodeProvider>, M>,
    pub(crate) nodes: StableBTreeMap<Principal, Cbor<Node>, M>,
    pub(crate) subnets: StableBTreeMap<Principal, Cbor<Subnet>, M>,
    pub(crate) proposals: StableBTreeMap<u64, Cbor<Proposal>, M>,
    /// Undecided proposals (id → expiry), so expiry and "open" listings need not scan them all.
    pub(crate) open_proposals: StableBTreeMap<u64, u64, M>,
    pub(crate) placements: StableBTreeMap<Principal, Cbor<Placement>, M>,
    // Schema 3: indexes and counters (see `index`), kept with every change.
    /// How far the migration that builds the indexes has come.
    pub(crate) migration: StableCell<Cbor<Migration>, M>,
    /// Subnet id → status, creating proposal and placement count.
    pub(crate) subnet_heads: StableBTreeMap<Principal, SubnetHead, M>,
    /// (subnet, canister) of every placement.
    pub(crate) placements_by_subnet: StableBTreeMap<PairKey, (), M>,
    /// (subnet, node) of every node in a subnet.
    pub(crate) nodes_by_subnet: StableBTreeMap<PairKey, (), M>,
}

impl<M: Memory> Registry<M> {
    /// Opens (or creates) every structure in the memories `memory(id)` returns.
    pub fn init(memory: impl Fn(MemoryId) -> M) -> Self {
        Registry {
            core: CoreState::init(memory(CONFIG_MEM), memory(AUDIT_INDEX_MEM), memory(AUDIT_DATA_MEM)),
            data_centres: StableBTreeMap::init(memory(DATA_CENTRES_MEM)),
            providers: StableBTreeMap::init(memory(NODE_PROVIDERS_MEM)),
            nodes: StableBTreeMap::init(memory(NODES_MEM)),
            subnets: StableBTreeMap::init(memory(SUBNETS_MEM)),
            proposals: StableBTreeMap::init(memory(PROPOSALS_MEM)),
            open_proposals: StableBTreeMap::init(memory(OPEN_PROPOSALS_MEM)),
            placements: StableBTreeMap::init(memory(PLACEMENTS_MEM)),
            migration: StableCell::init(memory(MIGRATION_MEM), Cbor(Migration::default())),
            subnet_heads: StableBTreeMap::init(memory(SUBNET_HEADS_MEM)),
            placements_by_subnet: StableBTreeMap::init(memory(PLACEMENTS_BY_SUBNET_MEM)),
            nodes_by_subnet: StableBTreeMap::init(memory(NODES_BY_SUBNET_MEM)),
        }
    }

    pub fn config(&self) -> Config {
        self.core.config()
    }

    /// Appends an audit entry: every change goes through here.
    pub(crate) fn audit<T: Serialize>(&mut self, now: u64, actor: Principal, kind: &str, details: &T) {
        self.core.audit(now, actor, kind, details);
    }

    pub(crate) fn require_authority(&self, caller: Principal) -> Result<(), RegistryError> {
        if self.config().authorities.contains(&caller) {
            Ok(())
        } else {
            Err(RegistryError::NotAuthorized { caller, required: "registry authority".into() })
        }
    }

    pub fn data_centre(&self, id: &str) -> Option<DataCentre> {
        self.data_centres.get(&id.to_string()).map(|c| c.0)
    }

    pub fn provider(&self, id: &Principal) -> Option<NodeProvider> {
        self.providers.get(id).map(|c| c.0)
    }

    pub fn node(&self, id: &Principal) -> Option<Node> {
        self.nodes.get(id).map(|c| c.0)
    }

    pub fn subnet(&self, id: &Principal) -> Option<Subnet> {
        self.subnets.get(id).map(|c| c.0)
    }

    pub fn proposal(&self, id: u64) -> Option<Proposal> {
        self.proposals.get(&id).map(|c| c.0)
    }

    pub(crate) fn subnet_or_err(&self, id: &Principal) -> Result<Subnet, RegistryError> {
        self.subnet(id).ok_or(RegistryError::SubnetNotFound { subnet_id: *id })
    }

    /// The subnet as it stands at `now`: a `Proposed` one whose create proposal is no longer
    /// open (it expired, and the sweep has not dropped it yet) does not exist.
    pub fn subnet_at(&self, id: &Principal, now: u64) -> Option<Subnet> {
        self.subnet(id).filter(|s| self.stands_at(s, now))
    }

    pub(crate) fn subnet_at_or_err(&self, id: &Principal, now: u64) -> Result<Subnet, RegistryError> {
        self.subnet_at(id, now).ok_or(RegistryError::SubnetNotFound { subnet_id: *id })
    }

    /// Whether `subnet` exists at `now` (see `subnet_at`).
    pub(crate) fn stands_at(&self, subnet: &Subnet, now: u64) -> bool {
        subnet.status != SubnetStatus::Proposed || self.is_open_at(subnet.created_by_proposal, now)
    }

    pub(crate) fn node_or_err(&self, id: &Principal) -> Result<Node, RegistryError> {
        self.node(id).ok_or(RegistryError::NodeNotFound { node_id: *id })
    }

    /// Stores a subnet and its head (keeping its placement count).
    pub(crate) fn put_subnet(&mut self, subnet: &Subnet) {
        let placements = self.subnet_heads.get(&subnet.id).map_or(0, |h| h.placements);
        self.subnet_heads.insert(subnet.id, SubnetHead::of(subnet, placements));
        self.subnets.insert(subnet.id, Cbor(subnet.clone()));
    }

    /// Removes a subnet and its head.
    pub(crate) fn remove_subnet(&mut self, id: &Principal) {
        self.subnet_heads.remove(id);
        self.subnets.remove(id);
    }

    /// Stores a node and moves its `nodes_by_subnet` entry with its subnet.
    pub(crate) fn put_node(&mut self, node: &Node) {
        let old = self.nodes.insert(node.id, Cbor(node.clone())).and_then(|old| old.0.subnet_id);
        if old != node.subnet_id {
            if let Some(s) = old {
                self.nodes_by_subnet.remove(&PairKey::new(&s, &node.id));
            }
            if let Some(s) = node.subnet_id {
                self.nodes_by_subnet.insert(PairKey::new(&s, &node.id), ());
            }
        }
    }

    /// Removes a node and its `nodes_by_subnet` entry.
    pub(crate) fn remove_node_record(&mut self, id: &Principal) {
        if let Some(s) = self.nodes.remove(id).and_then(|old| old.0.subnet_id) {
            self.nodes_by_subnet.remove(&PairKey::new(&s, id));
        }
    }

    /// The policy facts of one node, from its record and its data centre's.
    pub(crate) fn facts_of(&self, node: &Node) -> MemberFacts {
        let dc = self
            .data_centre(&node.data_centre)
            .unwrap_or_else(|| panic!("node {} refers to missing data centre {}", node.id, node.data_centre));
        MemberFacts {
            node_id: node.id,
            provider: node.provider,
            data_centre: node.data_centre.clone(),
            owner: dc.owner,
            country: dc.country,
            has_sev: node.sev_chip_id.is_some(),
        }
    }

    /// Facts of every listed member. Members always exist (a node in a subnet cannot be removed).
    pub(crate) fn member_facts(&self, members: &[Principal]) -> Vec<MemberFacts> {
        members
            .iter()
            .map(|id| {
                let node = self.node(id).unwrap_or_else(|| panic!("subnet member {id} has no node record"));
                self.facts_of(&node)
            })
            .collect()
    }
}

/// One page of `items` (already filtered), with the total and where the next page starts.
///
/// At most `limit` items (capped at MAX_PAGE) and at most MAX_PAGE_BYTES of them, each counted
/// by its Candid value bytes (what it takes inside the reply's vector); but at least one while
/// items are left past `start`, so `next_start` always advances. `limit = 0` asks for the
/// total only: no items and no `next_start`.
pub fn page<T: CandidType>(items: impl Iterator<Item = T>, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    page_lazy(items, |t| t, request)
}

/// `page` over cheap keys: every key is counted, but only those on the page are `load`ed.
pub fn page_lazy<K, T: CandidType>(keys: impl Iterator<Item = K>, load: impl FnMut(K) -> T, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    page_within(keys, load, request, u64::from(MAX_PAGE_BYTES))
}

/// `page_lazy` with an explicit byte budget (for tests).
pub fn page_within<K, T: CandidType>(
    keys: impl Iterator<Item = K>,
    mut load: impl FnMut(K) -> T,
    request: &PageRequest,
    max_bytes: u64,
) -> (Vec<T>, u64, Option<u64>) {
    let (start, limit) = request.bounds();
    let mut total = 0u64;
    let mut window = Window::new(limit, max_bytes);
    for key in keys {
        if total >= start && !window.full {
            window.offer(load(key));
        }
        total += 1;
    }
    window.finish(start, total, limit)
}

/// A page when the total is known (a counter) and `items` already starts at `start` (a range
/// scan that skipped the earlier keys): stops reading after the page.
pub fn page_counted<T: CandidType>(items: impl Iterator<Item = T>, total: u64, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    let (start, limit) = request.bounds();
    let mut window = Window::new(limit, u64::from(MAX_PAGE_BYTES));
    if start < total {
        for item in items {
            if window.full {
                break;
            }
            window.offer(item);
        }
    }
    window.finish(start, total, limit)
}

/// The items of a page being filled, within its count and byte bounds.
struct Window<T> {
    items: Vec<T>,
    bytes: u64,
    limit: usize,
    max_bytes: u64,
    full: bool,
}

impl<T: CandidType> Window<T> {
    fn new(limit: usize, max_bytes: u64) -> Self {
        Window { items: Vec::new(), bytes: 0, limit, max_bytes, full: limit == 0 }
    }

    fn offer(&mut self, item: T) {
        let size = encoded_len(&item);
        if !self.items.is_empty() && self.bytes.saturating_add(size) > self.max_bytes {
            self.full = true;
        } else {
            self.bytes = self.bytes.saturating_add(size);
            self.items.push(item);
            self.full = self.items.len() >= self.limit;
        }
    }

    fn finish(self, start: u64, total: u64, limit: usize) -> (Vec<T>, u64, Option<u64>) {
        let end = start.saturating_add(self.items.len() as u64);
        let next = if limit > 0 && end < total { Some(end) } else { None };
        (self.items, total, next)
    }
}

/// Bytes of `item`'s Candid value encoding (without the header and type table, which a reply
/// carries once: building a type table per item cost more than the rest of a page).
fn encoded_len<T: CandidType>(item: &T) -> u64 {
    let mut ser = candid::ser::ValueSerializer::new();
    item.idl_serialize(&mut ser).map_or(u64::MAX, |()| ser.get_result().len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_report_total_and_next_start() {
        let req = |start, limit| PageRequest { start: Some(start), limit: Some(limit) };
        assert_eq!(page(0..10, &req(0, 4)), (vec![0, 1, 2, 3], 10, Some(4)));
        assert_eq!(page(0..10, &req(8, 4)), (vec![8, 9], 10, None));
        assert_eq!(page(0..10, &req(20, 4)), (vec![], 10, None));
        assert_eq!(page(0..3, &PageRequest::default()), (vec![0, 1, 2], 3, None));
    }

    #[test]
    fn limit_zero_reads_the_total_and_never_returns_a_standing_cursor() {
        let req = |start, limit| PageRequest { start: Some(start), limit: Some(limit) };
        assert_eq!(page(0..10u32, &req(0, 0)), (vec![], 10, None));
        assert_eq!(page(0..10u32, &req(5, 0)), (vec![], 10, None));
        assert_eq!(page(0..10u32, &PageRequest { start: None, limit: Some(0) }), (vec![], 10, None));
    }

    #[test]
    fn pages_are_bounded_by_bytes_but_always_advance() {
        let items = || (0..10).map(|i| "x".repeat(100 + i));
        let one = encoded_len(&"x".repeat(100));
        // Room for about two items: each page takes what fits, at least one.
        let (w, total, next) = page_within(items(), |x| x, &PageRequest::default(), 2 * one + 2);
        assert_eq!((w.len(), total, next), (2, 10, Some(2)));
        let (w, _, next) = page_within(items(), |x| x, &PageRequest::default(), 1);
        assert_eq!((w.len(), next), (1, Some(1)), "a single item larger than the budget still comes");
        // Walking the pages visits every item once.
        let mut start = 0;
        let mut seen = vec![];
        loop {
            let (w, _, next) = page_within(items(), |x| x, &PageRequest { start: Some(start), limit: Some(3) }, 3 * one);
            seen.extend(w);
            match next {
                Some(n) => {
                    assert!(n > start);
                    start = n;
                }
                None => break,
            }
        }
        assert_eq!(seen, items().collect::<Vec<_>>());
    }
}
