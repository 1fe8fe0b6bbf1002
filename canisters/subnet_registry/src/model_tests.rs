//! Property tests: random sequences of calls from random principals (authorities, former and
//! future authorities, a stranger, the anonymous principal) against a plain-Rust model of the
//! registry's rules, checked after every step:
//! - the registry accepts exactly what the model accepts, and ends in the model's state
//!   (authorities, quorum, records, subnets and their members, proposals and their states);
//! - a node is in at most one subnet, and its `subnet_id` names that subnet;
//! - a `Live` subnet always complies with its policy;
//! - only authorities succeed at authority calls;
//! - a proposal executes only with the quorum of current authorities;
//! - a refused call writes nothing at all to stable memory;
//! - placements are recorded only on live subnets, once per canister;
//! - the indexes and counters (`index`) equal a full scan of what they index, and every
//!   indexed query (placements, nodes and subnets by subnet or status, proposals) answers as the
//!   model says, also while the schema-3 migration rebuilds the indexes in small batches after
//!   an `Unindex` (the state an upgrade from schema 2 starts from).
//!
//! Failing sequences shrink to a short, readable list of `Op`s.

use crate::config;
use crate::index::Migration;
use crate::lifecycle;
use crate::state::Registry;
use candid::Principal;
use common::cbor::Cbor;
use interfaces::audit::PageRequest;
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::{Memory, VectorMemory};
use interfaces::subnet_registry::*;
use proptest::prelude::*;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

const SEC: u64 = 1_000_000_000;
const TTL_SECONDS: u64 = 3_600;
/// Principals that may be or become authorities; the first three are the initial ones.
const POOL: u8 = 4;
const DCS: u8 = 5;
const PROVIDERS: u8 = 5;
const NODES: u8 = 6;
const SUBNETS: u8 = 2;
/// App canisters placements are recorded for.
const CANISTERS: u8 = 6;

/// A memory that counts its writes, so a refused call can be shown to write nothing.
#[derive(Clone, Default)]
struct Counting {
    inner: VectorMemory,
    writes: Rc<Cell<u64>>,
}

impl Memory for Counting {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn grow(&self, pages: u64) -> i64 {
        self.writes.set(self.writes.get() + 1);
        self.inner.grow(pages)
    }
    fn read(&self, offset: u64, dst: &mut [u8]) {
        self.inner.read(offset, dst)
    }
    fn write(&self, offset: u64, src: &[u8]) {
        self.writes.set(self.writes.get() + 1);
        self.inner.write(offset, src)
    }
}

// ---- principals and names ----

/// Callers `0..POOL` are (potential) authorities, then a stranger, then the anonymous principal.
fn caller(i: u8) -> Principal {
    match i {
        i if i < POOL => authority(i),
        i if i == POOL => Principal::from_slice(&[0x5e, 0x5e]),
        _ => Principal::anonymous(),
    }
}
fn authority(i: u8) -> Principal {
    Principal::from_slice(&[0xa0, i])
}
fn provider(i: u8) -> Principal {
    Principal::from_slice(&[0xb0, i])
}
fn node(i: u8) -> Principal {
    Principal::from_slice(&[0xc0, i])
}
fn subnet(i: u8) -> Principal {
    Principal::from_slice(&[0xd0, i])
}
/// The placement recorder.
fn recorder() -> Principal {
    Principal::from_slice(&[0x5e, 0xc0])
}
/// App canister `i` (a canister id: 10 bytes ending in 0x01).
fn canister(i: u8) -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0xca, 0, i, 1, 1])
}
fn dc_id(i: u8) -> String {
    format!("dc{i}")
}

/// The policy every subnet of the test has: 2 ..= 3 members, one per provider and data centre,
/// at most two per owner, all in PK, all with SEV.
fn policy() -> TopologyPolicy {
    TopologyPolicy {
        min_nodes: 2,
        max_nodes: 3,
        max_nodes_per_provider: 1,
        max_nodes_per_data_centre: 1,
        max_nodes_per_owner: 2,
        allowed_countries: vec![],
        sev_required: true,
    }
}

const STATUSES: [SubnetStatus; 6] = [
    SubnetStatus::Proposed,
    SubnetStatus::Approved,
    SubnetStatus::Provisioning,
    SubnetStatus::Live,
    SubnetStatus::Suspended,
    SubnetStatus::Decommissioned,
];

// ---- operations ----

#[derive(Clone, Debug)]
enum Change {
    Create { s: u8, members: Vec<u8> },
    Membership { s: u8, add: Vec<u8>, remove: Vec<u8> },
    Status { s: u8, to: u8 },
    AddAuthority { a: u8 },
    RemoveAuthority { a: u8 },
}

#[derive(Clone, Debug)]
enum Op {
    AddDataCentre { by: u8, dc: u8, abroad: bool, owner: u8 },
    AddProvider { by: u8, p: u8 },
    AddNode { by: u8, n: u8, p: u8, dc: u8, sev: bool },
    UpdateNode { by: u8, n: u8, p: u8, dc: u8, sev: bool },
    RemoveNode { by: u8, n: u8 },
    Submit { by: u8, change: Change },
    Approve { by: u8, proposal: u64 },
    /// Approves the latest proposal (resolved to `Approve` when run).
    ApproveLast { by: u8 },
    /// `Submit` by `by`, then `ApproveLast` by `second`: drives subnets deeper into their lifecycle.
    Pass { by: u8, second: u8, change: Change },
    Reject { by: u8, proposal: u64 },
    Advance { seconds: u64 },
    Sweep,
    /// An upgrade with a new install argument, then the timer that re-counts open proposals.
    Reconfigure { authorities: Vec<u8>, quorum: u32 },
    /// The recorder records canister `c` on subnet `s`.
    Place { c: u8, s: u8 },
    /// The indexes emptied and the migration reset: the state an upgrade from schema 2 leaves.
    Unindex,
    /// One migration step of at most `batch` records.
    Migrate { batch: usize },
}

fn nodes_subset() -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::subsequence((0..NODES).collect::<Vec<_>>(), 0..=4)
}

/// Often a compliant set (nodes 0..=2), otherwise any.
fn members() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![2 => proptest::sample::subsequence(vec![0u8, 1, 2], 2..=3), 1 => nodes_subset()]
}

/// Mostly the next steps of the lifecycle, sometimes anything.
fn status() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(2u8), 3 => Just(3u8), 2 => Just(4u8), 1 => Just(5u8), 1 => 0..STATUSES.len() as u8]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (0..SUBNETS, members()).prop_map(|(s, members)| Change::Create { s, members }),
        2 => (0..SUBNETS, nodes_subset(), nodes_subset()).prop_map(|(s, add, remove)| Change::Membership { s, add, remove }),
        4 => (0..SUBNETS, status()).prop_map(|(s, to)| Change::Status { s, to }),
        1 => (0..POOL).prop_map(|a| Change::AddAuthority { a }),
        1 => (0..POOL).prop_map(|a| Change::RemoveAuthority { a }),
    ]
}

/// Mostly the initial authorities, then the future one, a stranger and the anonymous principal.
fn by() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![8 => 0..3u8, 1 => Just(3u8), 1 => Just(POOL), 1 => Just(POOL + 1)]
}

fn op() -> impl Strategy<Value = Op> {
    let by = by();
    prop_oneof![
        1 => (by.clone(), 0..DCS, proptest::bool::weighted(0.2), 0..3u8)
            .prop_map(|(by, dc, abroad, owner)| Op::AddDataCentre { by, dc, abroad, owner }),
        1 => (by.clone(), 0..PROVIDERS).prop_map(|(by, p)| Op::AddProvider { by, p }),
        2 => (by.clone(), 0..NODES, 0..PROVIDERS, 0..DCS, proptest::bool::weighted(0.8))
            .prop_map(|(by, n, p, dc, sev)| Op::AddNode { by, n, p, dc, sev }),
        1 => (by.clone(), 0..NODES, 0..PROVIDERS, 0..DCS, proptest::bool::weighted(0.8))
            .prop_map(|(by, n, p, dc, sev)| Op::UpdateNode { by, n, p, dc, sev }),
        1 => (by.clone(), 0..NODES).prop_map(|(by, n)| Op::RemoveNode { by, n }),
        6 => (by.clone(), change()).prop_map(|(by, change)| Op::Submit { by, change }),
        3 => (by.clone(), 0..8u64).prop_map(|(by, proposal)| Op::Approve { by, proposal }),
        6 => by.clone().prop_map(|by| Op::ApproveLast { by }),
        6 => (by.clone(), by.clone(), change()).prop_map(|(by, second, change)| Op::Pass { by, second, change }),
        2 => (by, 0..8u64).prop_map(|(by, proposal)| Op::Reject { by, proposal }),
        1 => prop_oneof![Just(1u64), Just(600), Just(4_000)].prop_map(|seconds| Op::Advance { seconds }),
        1 => Just(Op::Sweep),
        1 => (proptest::sample::subsequence((0..POOL).collect::<Vec<_>>(), 0..=POOL as usize), 0..=4u32)
            .prop_map(|(authorities, quorum)| Op::Reconfigure { authorities, quorum }),
        6 => (0..CANISTERS, 0..SUBNETS).prop_map(|(c, s)| Op::Place { c, s }),
        1 => Just(Op::Unindex),
        2 => (1..4usize).prop_map(|batch| Op::Migrate { batch }),
    ]
}

// ---- the model ----

#[derive(Clone, Debug)]
struct MDc {
    abroad: bool,
    owner: u8,
}

#[derive(Clone, Debug)]
struct MNode {
    p: u8,
    dc: u8,
    sev: bool,
    subnet: Option<u8>,
}

#[derive(Clone, Debug)]
struct MSubnet {
    status: SubnetStatus,
    members: Vec<u8>,
    created_by: u64,
}

#[derive(Clone, Debug)]
struct MProposal {
    change: Change,
    approvals: Vec<Principal>,
    rejections: Vec<Principal>,
    state: ProposalState,
    expires: u64,
}

/// The rules, written plainly over small integers.
#[derive(Clone, Debug)]
struct Model {
    authorities: Vec<Principal>,
    quorum: u32,
    dcs: BTreeMap<u8, MDc>,
    providers: BTreeSet<u8>,
    nodes: BTreeMap<u8, MNode>,
    subnets: BTreeMap<u8, MSubnet>,
    proposals: Vec<MProposal>,
    /// Canister → subnet.
    placements: BTreeMap<u8, u8>,
    now: u64,
}

impl Model {
    fn new(now: u64) -> Self {
        Model {
            authorities: (0..3).map(authority).collect(),
            quorum: 2,
            dcs: BTreeMap::new(),
            providers: BTreeSet::new(),
            nodes: BTreeMap::new(),
            subnets: BTreeMap::new(),
            proposals: vec![],
            placements: BTreeMap::new(),
            now,
        }
    }

    fn is_authority(&self, p: Principal) -> bool {
        self.authorities.contains(&p)
    }

    fn open_at(&self, id: u64) -> bool {
        self.proposals.get(id as usize).is_some_and(|p| p.state == ProposalState::Open && self.now < p.expires)
    }

    fn effective_state(&self, id: u64) -> ProposalState {
        let p = &self.proposals[id as usize];
        if p.state == ProposalState::Open && self.now >= p.expires {
            ProposalState::Expired
        } else {
            p.state
        }
    }

    /// The subnet as readers see it: a `Proposed` one of a proposal no longer open is gone.
    fn subnet_at(&self, s: u8) -> Option<&MSubnet> {
        self.subnets.get(&s).filter(|sub| sub.status != SubnetStatus::Proposed || self.open_at(sub.created_by))
    }

    fn compliant(&self, members: &[u8]) -> bool {
        let facts: Vec<&MNode> = members.iter().map(|n| &self.nodes[n]).collect();
        let distinct = |key: &dyn Fn(&MNode) -> u8| facts.iter().map(|f| key(f)).collect::<BTreeSet<_>>().len() == facts.len();
        let mut owners: BTreeMap<u8, u32> = BTreeMap::new();
        for f in &facts {
            *owners.entry(self.dcs[&f.dc].owner).or_default() += 1;
        }
        (2..=3).contains(&facts.len())
            && distinct(&|f| f.p)
            && distinct(&|f| f.dc)
            && owners.values().all(|c| *c <= 2)
            && facts.iter().all(|f| !self.dcs[&f.dc].abroad && f.sev)
    }

    fn claimed(change: &Change) -> &[u8] {
        match change {
            Change::Create { members, .. } => members,
            Change::Membership { add, .. } => add,
            _ => &[],
        }
    }

    /// Whether `change` is valid now; `executing` is the proposal being executed, if any.
    fn valid(&self, change: &Change, executing: Option<u64>) -> bool {
        let free = |n: &u8| self.nodes.get(n).is_some_and(|node| node.subnet.is_none());
        match change {
            Change::Create { s, members } => {
                let record_ok = match (self.subnet_at(*s), executing) {
                    (None, None) => true,
                    (Some(sub), Some(id)) => sub.status == SubnetStatus::Proposed && sub.created_by == id,
                    _ => false,
                };
                record_ok && members.iter().all(free)
            }
            Change::Membership { s, add, remove } => {
                let Some(sub) = self.subnet_at(*s) else { return false };
                if !lifecycle::modifiable(sub.status) || (add.is_empty() && remove.is_empty()) {
                    return false;
                }
                if add.iter().any(|a| remove.contains(a)) || !remove.iter().all(|r| sub.members.contains(r)) || !add.iter().all(free) {
                    return false;
                }
                let after = Self::membership(&sub.members, add, remove);
                sub.status != SubnetStatus::Live || self.compliant(&after)
            }
            Change::Status { s, to } => {
                let to = STATUSES[*to as usize];
                self.subnet_at(*s).is_some_and(|sub| {
                    lifecycle::allowed(sub.status, to) && (to != SubnetStatus::Live || self.compliant(&sub.members))
                })
            }
            Change::AddAuthority { a } => !self.is_authority(authority(*a)) && self.authorities.len() < MAX_AUTHORITIES as usize,
            Change::RemoveAuthority { a } => self.is_authority(authority(*a)) && self.authorities.len() as u32 > self.quorum,
        }
    }

    fn membership(members: &[u8], add: &[u8], remove: &[u8]) -> Vec<u8> {
        let mut after: Vec<u8> = members.iter().filter(|m| !remove.contains(m)).copied().collect();
        after.extend_from_slice(add);
        after
    }

    fn apply(&mut self, change: &Change) {
        match change.clone() {
            Change::Create { s, members } => {
                for n in &members {
                    self.nodes.get_mut(n).unwrap().subnet = Some(s);
                }
                self.subnets.get_mut(&s).unwrap().status = SubnetStatus::Approved;
            }
            Change::Membership { s, add, remove } => {
                for n in &remove {
                    self.nodes.get_mut(n).unwrap().subnet = None;
                }
                for n in &add {
                    self.nodes.get_mut(n).unwrap().subnet = Some(s);
                }
                let sub = self.subnets.get_mut(&s).unwrap();
                sub.members = Self::membership(&sub.members, &add, &remove);
            }
            Change::Status { s, to } => {
                let to = STATUSES[to as usize];
                let sub = self.subnets.get_mut(&s).unwrap();
                sub.status = to;
                if to == SubnetStatus::Decommissioned {
                    for n in std::mem::take(&mut sub.members) {
                        self.nodes.get_mut(&n).unwrap().subnet = None;
                    }
                }
            }
            Change::AddAuthority { a } => self.authorities.push(authority(a)),
            Change::RemoveAuthority { a } => self.authorities.retain(|x| *x != authority(a)),
        }
    }

    fn decide(&mut self, id: u64, state: ProposalState) {
        let p = &mut self.proposals[id as usize];
        p.state = state;
        if let (Change::Create { s, .. }, true) = (&p.change, state != ProposalState::Executed) {
            if self.subnets.get(s).is_some_and(|sub| sub.status == SubnetStatus::Proposed && sub.created_by == id) {
                self.subnets.remove(s);
            }
        }
    }

    /// Counts proposal `id`'s votes; returns whether executing it changed the authorities.
    fn count(&mut self, id: u64) -> bool {
        let p = &self.proposals[id as usize];
        let counted = |votes: &[Principal]| votes.iter().filter(|v| self.authorities.contains(v)).count() as u32;
        let (approvals, rejections) = (counted(&p.approvals), counted(&p.rejections));
        if approvals >= self.quorum {
            let change = p.change.clone();
            if self.valid(&change, Some(id)) {
                self.apply(&change);
                self.decide(id, ProposalState::Executed);
                return matches!(change, Change::AddAuthority { .. } | Change::RemoveAuthority { .. });
            }
            self.decide(id, ProposalState::Failed);
        } else if (self.authorities.len() as u32).saturating_sub(rejections) < self.quorum {
            self.decide(id, ProposalState::Rejected);
        }
        false
    }

    fn tally(&mut self, id: u64) {
        if self.count(id) {
            self.reevaluate();
        }
    }

    fn reevaluate(&mut self) {
        'restart: loop {
            for id in 0..self.proposals.len() as u64 {
                if !self.open_at(id) {
                    continue;
                }
                if self.count(id) {
                    continue 'restart;
                }
            }
            return;
        }
    }

    /// Applies `op` by the rules; returns whether it is accepted.
    fn step(&mut self, op: &Op) -> bool {
        match op.clone() {
            Op::AddDataCentre { by, dc, abroad, owner } => {
                let ok = self.is_authority(caller(by)) && !self.dcs.contains_key(&dc);
                if ok {
                    self.dcs.insert(dc, MDc { abroad, owner });
                }
                ok
            }
            Op::AddProvider { by, p } => self.is_authority(caller(by)) && self.providers.insert(p),
            Op::AddNode { by, n, p, dc, sev } => {
                let ok = self.is_authority(caller(by))
                    && self.providers.contains(&p)
                    && self.dcs.contains_key(&dc)
                    && !self.nodes.contains_key(&n);
                if ok {
                    self.nodes.insert(n, MNode { p, dc, sev, subnet: None });
                }
                ok
            }
            Op::UpdateNode { by, n, p, dc, sev } => {
                if !(self.is_authority(caller(by)) && self.providers.contains(&p) && self.dcs.contains_key(&dc)) {
                    return false;
                }
                let Some(old) = self.nodes.get(&n).cloned() else { return false };
                let mut after = self.clone();
                after.nodes.insert(n, MNode { p, dc, sev, subnet: old.subnet });
                let breaks_live = after
                    .subnets
                    .values()
                    .any(|sub| sub.status == SubnetStatus::Live && sub.members.contains(&n) && !after.compliant(&sub.members));
                if breaks_live {
                    return false;
                }
                *self = after;
                true
            }
            Op::RemoveNode { by, n } => {
                let claimed = (0..self.proposals.len() as u64)
                    .any(|id| self.open_at(id) && Self::claimed(&self.proposals[id as usize].change).contains(&n));
                let ok = self.is_authority(caller(by)) && self.nodes.get(&n).is_some_and(|node| node.subnet.is_none()) && !claimed;
                if ok {
                    self.nodes.remove(&n);
                }
                ok
            }
            Op::Submit { by, change } => {
                let by = caller(by);
                if !self.is_authority(by) || !self.valid(&change, None) {
                    return false;
                }
                let open: Vec<u64> = (0..self.proposals.len() as u64).filter(|id| self.open_at(*id)).collect();
                let claimed = Self::claimed(&change)
                    .iter()
                    .any(|n| open.iter().any(|id| Self::claimed(&self.proposals[*id as usize].change).contains(n)));
                if claimed || open.len() >= MAX_OPEN_PROPOSALS as usize {
                    return false;
                }
                let id = self.proposals.len() as u64;
                if let Change::Create { s, members } = &change {
                    self.subnets.insert(*s, MSubnet { status: SubnetStatus::Proposed, members: members.clone(), created_by: id });
                }
                self.proposals.push(MProposal {
                    change,
                    approvals: vec![by],
                    rejections: vec![],
                    state: ProposalState::Open,
                    expires: self.now + TTL_SECONDS * SEC,
                });
                self.tally(id);
                true
            }
            Op::Approve { by, proposal } | Op::Reject { by, proposal } => {
                let by = caller(by);
                let approving = matches!(op, Op::Approve { .. });
                let Some(p) = self.proposals.get(proposal as usize) else { return false };
                let voted = p.approvals.contains(&by) || p.rejections.contains(&by);
                if !self.is_authority(by) || p.state != ProposalState::Open || self.now >= p.expires || voted {
                    return false;
                }
                let p = &mut self.proposals[proposal as usize];
                if approving {
                    p.approvals.push(by);
                } else {
                    p.rejections.push(by);
                }
                self.tally(proposal);
                true
            }
            Op::Advance { seconds } => {
                self.now += seconds * SEC;
                true
            }
            Op::ApproveLast { .. } | Op::Pass { .. } => unreachable!("`run` resolves it"),
            Op::Sweep => {
                let due: Vec<u64> = (0..self.proposals.len() as u64)
                    .filter(|id| {
                        let p = &self.proposals[*id as usize];
                        p.state == ProposalState::Open && p.expires <= self.now
                    })
                    .take(50)
                    .collect();
                for id in due {
                    self.decide(id, ProposalState::Expired);
                }
                true
            }
            Op::Reconfigure { authorities, quorum } => {
                if authorities.is_empty() || quorum == 0 || quorum as usize > authorities.len() {
                    return false;
                }
                self.authorities = authorities.into_iter().map(authority).collect();
                self.quorum = quorum;
                self.reevaluate();
                true
            }
            Op::Place { c, s } => {
                let Some(sub) = self.subnet_at(s) else { return false };
                if let Some(on) = self.placements.get(&c) {
                    return *on == s; // idempotent on the same subnet
                }
                let ok = sub.status == SubnetStatus::Live;
                if ok {
                    self.placements.insert(c, s);
                }
                ok
            }
            Op::Unindex | Op::Migrate { .. } => true,
        }
    }
}

// ---- the registry under test ----

struct Subject {
    reg: Registry<VirtualMemory<Counting>>,
    writes: Rc<Cell<u64>>,
}

impl Subject {
    fn new(now: u64) -> Self {
        let memory = Counting::default();
        let writes = memory.writes.clone();
        let manager = MemoryManager::init_with_bucket_size(memory, 1);
        let mut reg = Registry::init(|id| manager.get(id));
        let args = InitArgs {
            authorities: (0..3).map(authority).collect(),
            quorum: 2,
            placement_recorders: vec![recorder()],
            burn_ledger: None,
            proposal_ttl_seconds: Some(TTL_SECONDS),
            usage_report_interval_seconds: None,
        };
        reg.core.install(args, config::build_config, now, authority(0), "installed").unwrap();
        Subject { reg, writes }
    }

    fn resolve(change: &Change) -> ProposalChange {
        let nodes = |v: &[u8]| v.iter().map(|n| node(*n)).collect::<Vec<_>>();
        match change {
            Change::Create { s, members } => ProposalChange::CreateSubnet(CreateSubnetArgs {
                subnet_id: subnet(*s),
                name: format!("subnet {s}"),
                subnet_type: SubnetType::Application,
                jurisdiction: "PK".into(),
                members: nodes(members),
                policy: policy(),
                admins: vec![],
                cost_schedule: CostSchedule::Normal,
            }),
            Change::Membership { s, add, remove } => {
                ProposalChange::ChangeMembership { subnet_id: subnet(*s), add: nodes(add), remove: nodes(remove) }
            }
            Change::Status { s, to } => ProposalChange::ChangeStatus { subnet_id: subnet(*s), status: STATUSES[*to as usize] },
            Change::AddAuthority { a } => ProposalChange::AddAuthority { authority: authority(*a) },
            Change::RemoveAuthority { a } => ProposalChange::RemoveAuthority { authority: authority(*a) },
        }
    }

    /// Runs `op` at `now`; returns whether it was accepted.
    fn step(&mut self, op: &Op, now: u64) -> bool {
        let r = &mut self.reg;
        let node_input = |n: u8, p: u8, dc: u8, sev: bool| NodeInput {
            id: node(n),
            provider: provider(p),
            data_centre: dc_id(dc),
            sev_chip_id: sev.then(|| format!("chip-{n}")),
        };
        match op.clone() {
            Op::AddDataCentre { by, dc, abroad, owner } => {
                let country = if abroad { "AE" } else { "PK" };
                let input = DataCentreInput {
                    id: dc_id(dc),
                    region: format!("Asia,{country},City {dc}"),
                    country: country.into(),
                    owner: format!("Owner {owner}"),
                    gps: None,
                };
                r.add_data_centre(caller(by), now, input).is_ok()
            }
            Op::AddProvider { by, p } => {
                let input = NodeProviderInput { id: provider(p), name: format!("Provider {p}"), country: "PK".into() };
                r.add_node_provider(caller(by), now, input).is_ok()
            }
            Op::AddNode { by, n, p, dc, sev } => r.add_node(caller(by), now, node_input(n, p, dc, sev)).is_ok(),
            Op::UpdateNode { by, n, p, dc, sev } => r.update_node(caller(by), now, node_input(n, p, dc, sev)).is_ok(),
            Op::RemoveNode { by, n } => r.remove_node(caller(by), now, node(n)).is_ok(),
            Op::Submit { by, change } => {
                let input = ProposalInput { summary: "a change".into(), change: Self::resolve(&change) };
                r.submit_proposal(caller(by), now, input).is_ok()
            }
            Op::Approve { by, proposal } => r.approve_proposal(caller(by), now, proposal).is_ok(),
            Op::Reject { by, proposal } => r.reject_proposal(caller(by), now, proposal).is_ok(),
            Op::Advance { .. } => true,
            Op::ApproveLast { .. } | Op::Pass { .. } => unreachable!("`run` resolves it"),
            Op::Sweep => {
                r.expire_due(Principal::management_canister(), now, 50);
                true
            }
            Op::Reconfigure { authorities, quorum } => {
                let args = InitArgs {
                    authorities: authorities.iter().map(|a| authority(*a)).collect(),
                    quorum,
                    placement_recorders: vec![recorder()],
                    burn_ledger: None,
                    proposal_ttl_seconds: Some(TTL_SECONDS),
                    usage_report_interval_seconds: None,
                };
                let actor = Principal::management_canister();
                let ok = r.core.upgrade(Some(args), config::build_config, config::SCHEMA_VERSION, now, actor).is_ok();
                if ok {
                    r.reevaluate_open(actor, now);
                }
                ok
            }
            Op::Place { c, s } => r.record_placement(recorder(), now, canister(c), subnet(s)).is_ok(),
            Op::Unindex => {
                r.subnet_heads.clear_new();
                r.placements_by_subnet.clear_new();
                r.nodes_by_subnet.clear_new();
                r.migration.set(Cbor(Migration::default()));
                true
            }
            Op::Migrate { batch } => {
                r.migrate_step(batch);
                true
            }
        }
    }
}

/// Whether `op` needs an authority (and so may only succeed for one).
fn authority_call(op: &Op) -> Option<u8> {
    match op {
        Op::AddDataCentre { by, .. }
        | Op::AddProvider { by, .. }
        | Op::AddNode { by, .. }
        | Op::UpdateNode { by, .. }
        | Op::RemoveNode { by, .. }
        | Op::Submit { by, .. }
        | Op::Approve { by, .. }
        | Op::ApproveLast { by }
        | Op::Pass { by, .. }
        | Op::Reject { by, .. } => Some(*by),
        _ => None,
    }
}

/// The registry's state equals the model's, and the invariants hold.
fn check(reg: &Registry<VirtualMemory<Counting>>, model: &Model) -> Result<(), TestCaseError> {
    let config = reg.config();
    prop_assert_eq!(&config.authorities, &model.authorities);
    prop_assert_eq!(config.quorum, model.quorum);
    for dc in 0..DCS {
        prop_assert_eq!(reg.data_centre(&dc_id(dc)).is_some(), model.dcs.contains_key(&dc), "data centre {}", dc);
    }
    for p in 0..PROVIDERS {
        prop_assert_eq!(reg.provider(&provider(p)).is_some(), model.providers.contains(&p), "provider {}", p);
    }
    // Subnet records (raw, `Proposed` ones of expired proposals included until swept).
    let mut member_of: BTreeMap<Principal, Vec<Principal>> = BTreeMap::new();
    for s in 0..SUBNETS {
        let got = reg.subnet(&subnet(s)).map(|sub| (sub.status, sub.members));
        let want = model.subnets.get(&s).map(|sub| (sub.status, sub.members.iter().map(|n| node(*n)).collect::<Vec<_>>()));
        prop_assert_eq!(&got, &want, "subnet {}", s);
        if let Some((status, members)) = got {
            if status != SubnetStatus::Proposed {
                for m in members {
                    member_of.entry(m).or_default().push(subnet(s));
                }
            }
            // Live implies compliant, by the registry's own public report.
            if status == SubnetStatus::Live {
                let report = reg.compliance_report(&subnet(s), model.now).expect("a live subnet has a report");
                prop_assert!(report.compliant, "live subnet {} breaks its policy: {:?}", s, report.violations);
            }
        }
    }
    for n in 0..NODES {
        let got = reg.node(&node(n)).map(|nd| nd.subnet_id);
        let want = model.nodes.get(&n).map(|nd| nd.subnet.map(subnet));
        prop_assert_eq!(got, want, "node {}", n);
        // A node is in at most one subnet, and says which.
        let subnets = member_of.get(&node(n)).cloned().unwrap_or_default();
        prop_assert!(subnets.len() <= 1, "node {} in {:?}", n, subnets);
        if let Some(Some(s)) = got {
            prop_assert_eq!(subnets, vec![s]);
        }
    }
    // A node is claimed by at most one open proposal.
    let mut claims: BTreeMap<u8, u64> = BTreeMap::new();
    for (id, p) in model.proposals.iter().enumerate() {
        if model.open_at(id as u64) {
            for n in Model::claimed(&p.change) {
                prop_assert!(claims.insert(*n, id as u64).is_none(), "node {} claimed twice", n);
            }
        }
    }
    for (id, p) in model.proposals.iter().enumerate() {
        let stored = reg.proposal(id as u64).map(|x| x.state);
        prop_assert_eq!(stored, Some(p.state), "proposal {} as stored", id);
        let seen = reg.proposal_at(id as u64, model.now).map(|x| x.state);
        prop_assert_eq!(seen, Some(model.effective_state(id as u64)), "proposal {} as read", id);
    }
    prop_assert!(reg.proposal(model.proposals.len() as u64).is_none());
    check_queries(reg, model)
}

/// Every page of `list`, walked with `limit`, and the total each page reported.
fn walk<T>(limit: u32, list: impl Fn(PageRequest) -> (Vec<T>, u64, Option<u64>)) -> (Vec<T>, Vec<u64>) {
    let (mut items, mut totals, mut start) = (vec![], vec![], 0);
    loop {
        let (page, total, next) = list(PageRequest { start: Some(start), limit: Some(limit) });
        items.extend(page);
        totals.push(total);
        match next {
            Some(n) => start = n,
            None => return (items, totals),
        }
    }
}

/// The indexed queries answer as the model says (indexes built or not), and once the migration
/// is done the indexes equal a full scan.
fn check_queries(reg: &Registry<VirtualMemory<Counting>>, model: &Model) -> Result<(), TestCaseError> {
    if reg.indexes_ready() {
        reg.check_indexes().map_err(TestCaseError::fail)?;
    }
    let now = model.now;
    let placed = |want: Option<u8>| -> Vec<(Principal, Principal)> {
        model.placements.iter().filter(|(_, s)| want.is_none_or(|w| **s == w)).map(|(c, s)| (canister(*c), subnet(*s))).collect()
    };
    for filter in [None].into_iter().chain((0..SUBNETS).map(Some)) {
        let query = |page| PlacementQuery { subnet_id: filter.map(subnet), page };
        let (items, totals) = walk(2, |page| {
            let p = reg.list_placements(&query(page));
            (p.items, p.total, p.next_start)
        });
        let want = placed(filter);
        let got: Vec<(Principal, Principal)> = items.iter().map(|p| (p.canister, p.subnet_id)).collect();
        prop_assert_eq!(&got, &want, "list_placements {:?}", filter);
        prop_assert!(totals.iter().all(|t| *t == want.len() as u64), "list_placements {:?} totals {:?}", filter, totals);
    }
    for s in 0..SUBNETS {
        let (items, totals) = walk(1, |page| {
            let p = reg.list_nodes(&NodeQuery { subnet_id: Some(subnet(s)), page, ..Default::default() });
            (p.items, p.total, p.next_start)
        });
        let want: Vec<Principal> = model.nodes.iter().filter(|(_, n)| n.subnet == Some(s)).map(|(i, _)| node(*i)).collect();
        let got: Vec<Principal> = items.iter().map(|n| n.id).collect();
        prop_assert_eq!(&got, &want, "list_nodes of subnet {}", s);
        prop_assert!(totals.iter().all(|t| *t == want.len() as u64));
    }
    for status in [None, Some(SubnetStatus::Live), Some(SubnetStatus::Proposed)] {
        let (items, totals) = walk(1, |page| {
            let p = reg.list_subnets(&SubnetQuery { status, jurisdiction: None, page }, now);
            (p.items, p.total, p.next_start)
        });
        let want: Vec<Principal> = (0..SUBNETS)
            .filter(|s| model.subnet_at(*s).is_some_and(|sub| status.is_none_or(|st| sub.status == st)))
            .map(subnet)
            .collect();
        let got: Vec<Principal> = items.iter().map(|s| s.id).collect();
        prop_assert_eq!(&got, &want, "list_subnets {:?}", status);
        prop_assert!(totals.iter().all(|t| *t == want.len() as u64));
    }
    for state in [None, Some(ProposalState::Open), Some(ProposalState::Executed)] {
        let (items, totals) = walk(2, |page| {
            let p = reg.list_proposals(&ProposalQuery { state, subnet_id: None, page }, now);
            (p.items, p.total, p.next_start)
        });
        let want: Vec<u64> =
            (0..model.proposals.len() as u64).filter(|id| state.is_none_or(|st| model.effective_state(*id) == st)).collect();
        let got: Vec<u64> = items.iter().map(|p| p.id).collect();
        prop_assert_eq!(&got, &want, "list_proposals {:?}", state);
        prop_assert!(totals.iter().all(|t| *t == want.len() as u64));
    }
    Ok(())
}

/// `ops` with each `Pass` as its two calls.
fn expand(ops: &[Op]) -> Vec<Op> {
    ops.iter()
        .flat_map(|op| match op.clone() {
            Op::Pass { by, second, change } => vec![Op::Submit { by, change }, Op::ApproveLast { by: second }],
            other => vec![other],
        })
        .collect()
}

/// Runs `ops` on a registry and on the model side by side.
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let start = 1_700_000_000 * SEC;
    let mut model = Model::new(start);
    let mut subject = Subject::new(start);
    for (i, op) in expand(ops).iter().enumerate() {
        let op = &match *op {
            Op::ApproveLast { by } => Op::Approve { by, proposal: model.proposals.len().saturating_sub(1) as u64 },
            ref other => other.clone(),
        };
        let before = model.clone();
        let writes = subject.writes.get();
        let expected = model.step(op);
        let accepted = subject.step(op, model.now);
        prop_assert_eq!(accepted, expected, "step {}: {:?}", i, op);
        if !accepted {
            prop_assert_eq!(subject.writes.get(), writes, "step {}: refused {:?} wrote to stable memory", i, op);
        }
        if let (true, Some(by)) = (accepted, authority_call(op)) {
            prop_assert!(before.is_authority(caller(by)), "step {}: {:?} succeeded for a non-authority", i, op);
        }
        // Whatever executed in this step had the quorum of the authorities of the moment.
        for (id, p) in model.proposals.iter().enumerate() {
            let newly = p.state == ProposalState::Executed && before.proposals.get(id).is_none_or(|b| b.state != ProposalState::Executed);
            if newly {
                // A reconfiguration's authorities count too: one of them may be removed by the
                // very proposal its reconfiguration lets execute, in the same step.
                let reconfigured: Vec<Principal> = match op {
                    Op::Reconfigure { authorities, .. } => authorities.iter().map(|a| authority(*a)).collect(),
                    _ => vec![],
                };
                let current: BTreeSet<&Principal> = before.authorities.iter().chain(&model.authorities).chain(&reconfigured).collect();
                let approvals = p.approvals.iter().filter(|a| current.contains(a)).count() as u32;
                prop_assert!(approvals >= before.quorum.min(model.quorum), "step {}: proposal {} executed with {} approvals", i, id, approvals);
            }
        }
        check(&subject.reg, &model).map_err(|e| TestCaseError::fail(format!("after step {i} ({op:?}): {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn registry_follows_the_model(ops in proptest::collection::vec(op(), 1..150)) {
        run(&[prelude(), ops].concat())?;
    }
}

/// Records every sequence starts from: data centres 0..4 (4 abroad; owners 0, 1, 2, 0, 1),
/// providers 0..4, nodes 0..4 (node i of provider i in data centre i; node 3 without SEV).
fn prelude() -> Vec<Op> {
    (0..5u8)
        .flat_map(|i| {
            [
                Op::AddDataCentre { by: 0, dc: i, abroad: i == 4, owner: i % 3 },
                Op::AddProvider { by: 0, p: i },
                Op::AddNode { by: 0, n: i, p: i, dc: i, sev: i != 3 },
            ]
        })
        .collect()
}

/// A fixed sequence through the interesting corners, so they are covered whatever proptest draws.
#[test]
fn model_corner_cases() {
    use Change::*;
    use Op::*;
    let mut ops = vec![];
    for i in 0..4u8 {
        ops.push(AddDataCentre { by: 0, dc: i, abroad: false, owner: i % 3 });
        ops.push(AddProvider { by: 1, p: i });
        ops.push(AddNode { by: 2, n: i, p: i, dc: i, sev: true });
    }
    ops.extend([
        Submit { by: 0, change: Create { s: 0, members: vec![0, 1] } },
        // A second claim on node 1 is refused; the anonymous principal and a stranger are refused.
        Submit { by: 1, change: Create { s: 1, members: vec![1, 2] } },
        Approve { by: 5, proposal: 0 },
        Approve { by: 4, proposal: 0 },
        Approve { by: 1, proposal: 0 },
        Submit { by: 0, change: Status { s: 0, to: 2 } },
        Approve { by: 2, proposal: 1 },
        Submit { by: 0, change: Status { s: 0, to: 3 } },
        Approve { by: 1, proposal: 2 },
        // Placements on the live subnet; again on it (idempotent), elsewhere (refused).
        Place { c: 3, s: 0 },
        Place { c: 1, s: 0 },
        Place { c: 1, s: 0 },
        Place { c: 1, s: 1 },
        // An upgrade from schema 2: indexes rebuilt in batches of one while placements go on.
        Unindex,
        Migrate { batch: 1 },
        Place { c: 0, s: 0 },
        Migrate { batch: 1 },
        Migrate { batch: 1 },
        Migrate { batch: 2 },
        Place { c: 5, s: 0 },
        Migrate { batch: 3 },
        Migrate { batch: 3 },
        Migrate { batch: 3 },
        // Live: a membership change breaking the policy is refused, a node update too.
        Submit { by: 0, change: Membership { s: 0, add: vec![], remove: vec![0] } },
        UpdateNode { by: 0, n: 0, p: 0, dc: 0, sev: false },
        // Authorities change: a fourth is added, an approval of a removed one stops counting.
        Submit { by: 0, change: AddAuthority { a: 3 } },
        Approve { by: 1, proposal: 3 },
        Submit { by: 3, change: Membership { s: 0, add: vec![2], remove: vec![] } },
        Submit { by: 0, change: RemoveAuthority { a: 3 } },
        Approve { by: 2, proposal: 5 },
        Approve { by: 1, proposal: 4 },
        // The quorum falls by reconfiguration: an open proposal with enough approvals executes.
        Submit { by: 0, change: Create { s: 1, members: vec![3] } },
        Reconfigure { authorities: vec![0, 1, 2], quorum: 1 },
        // Expiry: read as expired before the sweep, votes refused.
        Reconfigure { authorities: vec![0, 1, 2], quorum: 3 },
        Submit { by: 0, change: Status { s: 1, to: 2 } },
        Advance { seconds: 4_000 },
        Approve { by: 1, proposal: 8 },
        Sweep,
    ]);
    run(&ops).unwrap();
}


