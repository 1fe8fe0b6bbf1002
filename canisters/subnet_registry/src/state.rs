//! The registry's durable state: the common core (config + audit log) and one stable map per
//! record kind. Generic over the memory so unit tests run it on `VectorMemory`. The operations
//! live in `records`, `subnets`, `governance`, `placements` and `queries`.

use crate::policy::MemberFacts;
use crate::storage::*;
use candid::Principal;
use common::cbor::Cbor;
use common::core_state::CoreState;
use ic_stable_structures::memory_manager::MemoryId;
use ic_stable_structures::{Memory, StableBTreeMap};
use interfaces::audit::PageRequest;
use interfaces::subnet_registry::{
    Config, DataCentre, Node, NodeProvider, Placement, Proposal, RegistryError, Subnet,
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

    pub(crate) fn node_or_err(&self, id: &Principal) -> Result<Node, RegistryError> {
        self.node(id).ok_or(RegistryError::NodeNotFound { node_id: *id })
    }

    pub(crate) fn put_subnet(&mut self, subnet: &Subnet) {
        self.subnets.insert(subnet.id, Cbor(subnet.clone()));
    }

    pub(crate) fn put_node(&mut self, node: &Node) {
        self.nodes.insert(node.id, Cbor(node.clone()));
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
pub fn page<T>(items: impl Iterator<Item = T>, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    let (start, limit) = request.bounds();
    let mut total = 0u64;
    let mut window = Vec::new();
    for item in items {
        if total >= start && window.len() < limit {
            window.push(item);
        }
        total += 1;
    }
    let end = start.saturating_add(window.len() as u64);
    let next = if end < total { Some(end) } else { None };
    (window, total, next)
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
}
