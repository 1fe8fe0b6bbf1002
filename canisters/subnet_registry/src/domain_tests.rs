//! Domain tests of the whole registry on `VectorMemory`: records, governance, lifecycle,
//! policy enforcement, placements, queries and upgrade (reopening the same memory).

use crate::config;
use crate::state::Registry;
use candid::Principal;
use ic_stable_structures::memory_manager::{MemoryManager, VirtualMemory};
use ic_stable_structures::VectorMemory;
use interfaces::audit::{ChainCheck, PageRequest};
use interfaces::subnet_registry::*;

type Mem = VirtualMemory<VectorMemory>;

const SEC: u64 = 1_000_000_000;
const CITIES: [&str; 13] = [
    "Islamabad", "Lahore", "Karachi", "Peshawar", "Quetta", "Multan", "Faisalabad", "Rawalpindi", "Hyderabad",
    "Sialkot", "Gujranwala", "Sukkur", "Gilgit",
];

fn p(tag: u8, n: u8) -> Principal {
    Principal::from_slice(&[tag, n, 0, 0, 0, 0, 0, 0, 0, 1])
}
fn authority(n: u8) -> Principal {
    p(1, n)
}
fn provider(n: u8) -> Principal {
    p(2, n)
}
fn node(n: u8) -> Principal {
    p(3, n)
}
fn recorder() -> Principal {
    p(4, 0)
}
fn subnet_id() -> Principal {
    p(5, 0)
}
fn stranger() -> Principal {
    p(9, 9)
}

struct World {
    memory: VectorMemory,
    reg: Registry<Mem>,
    now: u64,
}

impl World {
    /// A registry with authorities 1..=3, quorum 2, one placement recorder.
    fn new() -> Self {
        let memory = VectorMemory::default();
        let mut reg = open(&memory);
        let args = InitArgs {
            authorities: vec![authority(1), authority(2), authority(3)],
            quorum: 2,
            placement_recorders: vec![recorder()],
            burn_ledger: None,
            proposal_ttl_seconds: Some(3600),
            usage_report_interval_seconds: None,
        };
        reg.core.install(args, config::build_config, 1, authority(1), "installed").unwrap();
        World { memory, reg, now: 1_000 * SEC }
    }

    fn tick(&mut self) -> u64 {
        self.now += SEC;
        self.now
    }

    /// 13 data centres in 13 Pakistani cities (distinct owners), 13 providers, 13 SEV nodes.
    fn pakistan_records(&mut self) {
        for (i, city) in CITIES.iter().enumerate() {
            let i = i as u8;
            let now = self.tick();
            self.reg
                .add_data_centre(authority(1), now, DataCentreInput {
                    id: format!("pk{i}"),
                    region: format!("Asia,PK,{city}"),
                    country: "PK".into(),
                    owner: format!("Owner {i}"),
                    gps: Some(Gps { latitude: 30.0 + i as f64 / 10.0, longitude: 70.0 }),
                })
                .unwrap();
            self.reg
                .add_node_provider(authority(1), now, NodeProviderInput {
                    id: provider(i),
                    name: format!("Provider {i}"),
                    country: "PK".into(),
                })
                .unwrap();
            self.reg
                .add_node(authority(1), now, NodeInput {
                    id: node(i),
                    provider: provider(i),
                    data_centre: format!("pk{i}"),
                    sev_chip_id: Some(format!("chip-{i}")),
                })
                .unwrap();
        }
    }

    fn submit(&mut self, by: Principal, change: ProposalChange) -> Result<Proposal, RegistryError> {
        let now = self.tick();
        self.reg.submit_proposal(by, now, ProposalInput { summary: "test".into(), change })
    }

    /// Submitted by authority 1, approved by authority 2: reaches the quorum of 2.
    fn pass(&mut self, change: ProposalChange) -> Proposal {
        let proposal = self.submit(authority(1), change).unwrap();
        assert_eq!(proposal.state, ProposalState::Open);
        let now = self.tick();
        self.reg.approve_proposal(authority(2), now, proposal.id).unwrap()
    }

    fn create_args(members: Vec<Principal>) -> CreateSubnetArgs {
        CreateSubnetArgs {
            subnet_id: subnet_id(),
            name: "Pakistan sovereign subnet".into(),
            subnet_type: SubnetType::CloudEngine,
            jurisdiction: "PK".into(),
            members,
            policy: TopologyPolicy::sovereign(),
            admins: vec![authority(1)],
            cost_schedule: CostSchedule::Normal,
        }
    }

    fn set_status(&mut self, status: SubnetStatus) -> Proposal {
        self.pass(ProposalChange::ChangeStatus { subnet_id: subnet_id(), status })
    }

    /// Records, create proposal approved 2 of 3, provisioning, live.
    fn live_pakistan(&mut self) {
        self.pakistan_records();
        let created = self.pass(ProposalChange::CreateSubnet(Self::create_args((0..13).map(node).collect())));
        assert_eq!(created.state, ProposalState::Executed, "{:?}", created.execution_error);
        assert_eq!(self.set_status(SubnetStatus::Provisioning).state, ProposalState::Executed);
        assert_eq!(self.set_status(SubnetStatus::Live).state, ProposalState::Executed);
    }

    fn audit_len(&self) -> u64 {
        self.reg.core.audit_len()
    }
}

fn open(memory: &VectorMemory) -> Registry<Mem> {
    let manager = MemoryManager::init(memory.clone());
    Registry::init(|id| manager.get(id))
}

#[test]
fn pakistan_subnet_from_nothing_goes_live_and_complies() {
    let mut w = World::new();
    w.pakistan_records();
    let proposal = w.submit(authority(1), ProposalChange::CreateSubnet(World::create_args((0..13).map(node).collect()))).unwrap();
    // While open, the subnet shows as Proposed and its nodes are not yet assigned.
    assert_eq!(w.reg.subnet_status(&subnet_id(), w.now), Ok(SubnetStatus::Proposed));
    assert_eq!(w.reg.node(&node(0)).unwrap().subnet_id, None);
    let now = w.tick();
    let executed = w.reg.approve_proposal(authority(2), now, proposal.id).unwrap();
    assert_eq!(executed.state, ProposalState::Executed);
    assert_eq!(executed.approvals.iter().map(|v| v.authority).collect::<Vec<_>>(), vec![authority(1), authority(2)]);
    assert_eq!(executed.decided_at_ns, Some(now));
    let subnet = w.reg.subnet(&subnet_id()).unwrap();
    assert_eq!((subnet.status, subnet.approved_at_ns), (SubnetStatus::Approved, Some(now)));
    assert_eq!(w.reg.node(&node(0)).unwrap().subnet_id, Some(subnet_id()));

    w.set_status(SubnetStatus::Provisioning);
    let live = w.set_status(SubnetStatus::Live);
    let subnet = w.reg.subnet(&subnet_id()).unwrap();
    assert_eq!(subnet.status, SubnetStatus::Live);
    assert_eq!(subnet.live_since_ns, live.decided_at_ns);
    assert!(subnet.provisioning_since_ns.is_some());

    let report = w.reg.compliance_report(&subnet_id(), w.now).unwrap();
    assert!(report.compliant);
    assert_eq!(report.violations, vec![]);
    assert_eq!(report.members, 13);
    assert_eq!(report.residency.resident_nodes, 13);
    assert!(report.residency.all_resident);
    assert_eq!((report.by_provider.len(), report.by_data_centre.len(), report.by_owner.len()), (13, 13, 13));
    assert_eq!(report.by_country, vec![NamedCount { name: "PK".into(), nodes: 13 }]);
    assert_eq!(report.sev, SevCoverage { nodes_with_sev: 13, members: 13, required: true });
    assert_eq!(w.reg.core.verify_audit(0, 1_000), ChainCheck::Valid { checked: w.audit_len() });
}

#[test]
fn two_nodes_sharing_a_provider_cannot_go_live() {
    let mut w = World::new();
    w.pakistan_records();
    let now = w.tick();
    w.reg
        .update_node(authority(1), now, NodeInput { id: node(1), provider: provider(0), data_centre: "pk1".into(), sev_chip_id: Some("c".into()) })
        .unwrap();
    w.pass(ProposalChange::CreateSubnet(World::create_args((0..13).map(node).collect())));
    w.set_status(SubnetStatus::Provisioning);
    let expected = RegistryError::PolicyViolated {
        subnet_id: subnet_id(),
        violations: vec![PolicyViolation::ProviderOverLimit { provider: provider(0), nodes: 2, max: 1 }],
    };
    let before = w.audit_len();
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeStatus { subnet_id: subnet_id(), status: SubnetStatus::Live }),
        Err(expected.clone())
    );
    assert_eq!(w.audit_len(), before, "a refused submission changes nothing");
    assert_eq!(w.reg.subnet_status(&subnet_id(), w.now), Ok(SubnetStatus::Provisioning));
    let report = w.reg.compliance_report(&subnet_id(), w.now).unwrap();
    assert!(!report.compliant);
    let RegistryError::PolicyViolated { violations, .. } = expected else { unreachable!() };
    assert_eq!(report.violations, violations);
}

#[test]
fn a_proposal_valid_when_submitted_but_not_when_executed_records_the_failure() {
    let mut w = World::new();
    w.pakistan_records();
    w.pass(ProposalChange::CreateSubnet(World::create_args((0..13).map(node).collect())));
    w.set_status(SubnetStatus::Provisioning);
    let going_live = w
        .submit(authority(1), ProposalChange::ChangeStatus { subnet_id: subnet_id(), status: SubnetStatus::Live })
        .unwrap();
    // Meanwhile a node is moved to share a provider: going live is no longer valid.
    let now = w.tick();
    w.reg
        .update_node(authority(1), now, NodeInput { id: node(1), provider: provider(0), data_centre: "pk1".into(), sev_chip_id: Some("c".into()) })
        .unwrap();
    let now = w.tick();
    let failed = w.reg.approve_proposal(authority(3), now, going_live.id).unwrap();
    assert_eq!(failed.state, ProposalState::Failed);
    assert!(matches!(failed.execution_error, Some(RegistryError::PolicyViolated { .. })));
    assert_eq!(w.reg.subnet_status(&subnet_id(), w.now), Ok(SubnetStatus::Provisioning));
    // Decided proposals are immutable.
    assert_eq!(
        w.reg.approve_proposal(authority(2), now, going_live.id),
        Err(RegistryError::ProposalNotOpen { id: going_live.id, state: ProposalState::Failed })
    );
}

#[test]
fn a_node_in_another_country_breaks_residency() {
    let mut w = World::new();
    w.pakistan_records();
    let now = w.tick();
    w.reg
        .add_data_centre(authority(1), now, DataCentreInput {
            id: "dxb1".into(),
            region: "Asia,AE,Dubai".into(),
            country: "AE".into(),
            owner: "Gulf DC".into(),
            gps: None,
        })
        .unwrap();
    w.reg
        .update_node(authority(1), now, NodeInput { id: node(12), provider: provider(12), data_centre: "dxb1".into(), sev_chip_id: Some("c".into()) })
        .unwrap();
    w.pass(ProposalChange::CreateSubnet(World::create_args((0..13).map(node).collect())));
    let report = w.reg.compliance_report(&subnet_id(), w.now).unwrap();
    assert_eq!(report.residency.non_resident_nodes, vec![node(12)]);
    assert_eq!(
        report.violations,
        vec![PolicyViolation::NodeOutsideAllowedCountries { node_id: node(12), data_centre: "dxb1".into(), country: "AE".into() }]
    );
    w.set_status(SubnetStatus::Provisioning);
    assert!(matches!(
        w.submit(authority(1), ProposalChange::ChangeStatus { subnet_id: subnet_id(), status: SubnetStatus::Live }),
        Err(RegistryError::PolicyViolated { .. })
    ));
}

#[test]
fn changes_that_would_break_a_live_subnet_are_refused() {
    let mut w = World::new();
    w.live_pakistan();
    let before = w.audit_len();
    // Removing a member leaves 12 < 13.
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![], remove: vec![node(3)] }),
        Err(RegistryError::PolicyViolated {
            subnet_id: subnet_id(),
            violations: vec![PolicyViolation::TooFewNodes { members: 12, min_nodes: 13 }]
        })
    );
    // Moving a member's data centre abroad, by record update.
    let now = w.tick();
    assert!(matches!(
        w.reg.update_data_centre(authority(1), now, DataCentreInput {
            id: "pk3".into(),
            region: "Asia,IN,Delhi".into(),
            country: "IN".into(),
            owner: "Owner 3".into(),
            gps: None,
        }),
        Err(RegistryError::PolicyViolated { .. })
    ));
    // Dropping a member's SEV chip.
    assert_eq!(
        w.reg.update_node(authority(1), now, NodeInput { id: node(5), provider: provider(5), data_centre: "pk5".into(), sev_chip_id: None }),
        Err(RegistryError::PolicyViolated { subnet_id: subnet_id(), violations: vec![PolicyViolation::NodeWithoutSev { node_id: node(5) }] })
    );
    // A stricter policy the members do not meet.
    let mut strict = TopologyPolicy::sovereign();
    strict.min_nodes = 14;
    strict.max_nodes = 20;
    assert!(matches!(
        w.submit(authority(1), ProposalChange::ChangePolicy { subnet_id: subnet_id(), policy: strict }),
        Err(RegistryError::PolicyViolated { .. })
    ));
    // A member cannot be deleted.
    assert_eq!(w.reg.remove_node(authority(1), now, node(0)), Err(RegistryError::NodeInSubnet { node_id: node(0), subnet_id: subnet_id() }));
    assert_eq!(w.audit_len(), before);
    assert!(w.reg.compliance_report(&subnet_id(), now).unwrap().compliant);

    // A swap (remove one, add a fresh compliant node) keeps it compliant and is allowed.
    let now = w.tick();
    w.reg
        .add_data_centre(authority(1), now, DataCentreInput {
            id: "pk13".into(),
            region: "Asia,PK,Mardan".into(),
            country: "PK".into(),
            owner: "Owner 13".into(),
            gps: None,
        })
        .unwrap();
    w.reg.add_node_provider(authority(1), now, NodeProviderInput { id: provider(13), name: "P13".into(), country: "PK".into() }).unwrap();
    w.reg
        .add_node(authority(1), now, NodeInput { id: node(13), provider: provider(13), data_centre: "pk13".into(), sev_chip_id: Some("x".into()) })
        .unwrap();
    let swap = w.pass(ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![node(13)], remove: vec![node(3)] });
    assert_eq!(swap.state, ProposalState::Executed);
    assert_eq!(w.reg.node(&node(3)).unwrap().subnet_id, None);
    assert_eq!(w.reg.node(&node(13)).unwrap().subnet_id, Some(subnet_id()));
    assert!(w.reg.compliance_report(&subnet_id(), now).unwrap().compliant);
}

#[test]
fn one_authority_cannot_execute_alone_and_votes_are_checked() {
    let mut w = World::new();
    w.pakistan_records();
    let proposal = w.submit(authority(1), ProposalChange::CreateSubnet(World::create_args(vec![node(0)]))).unwrap();
    let now = w.tick();
    assert_eq!(w.reg.approve_proposal(authority(1), now, proposal.id), Err(RegistryError::AlreadyVoted { id: proposal.id, authority: authority(1) }));
    assert_eq!(
        w.reg.approve_proposal(stranger(), now, proposal.id),
        Err(RegistryError::NotAuthorized { caller: stranger(), required: "registry authority".into() })
    );
    assert_eq!(
        w.reg.approve_proposal(Principal::anonymous(), now, proposal.id),
        Err(RegistryError::NotAuthorized { caller: Principal::anonymous(), required: "registry authority".into() })
    );
    assert_eq!(w.reg.approve_proposal(authority(1), now, 99), Err(RegistryError::ProposalNotFound { id: 99 }));
    assert_eq!(w.reg.proposal(proposal.id).unwrap().state, ProposalState::Open);
    assert_eq!(w.reg.subnet_status(&subnet_id(), w.now), Ok(SubnetStatus::Proposed));
    // Two rejections out of three make the quorum of two unreachable.
    assert_eq!(w.reg.reject_proposal(authority(2), now, proposal.id).unwrap().state, ProposalState::Open);
    let rejected = w.reg.reject_proposal(authority(3), now, proposal.id).unwrap();
    assert_eq!(rejected.state, ProposalState::Rejected);
    assert_eq!(w.reg.subnet(&subnet_id()), None, "a rejected create proposal leaves no subnet");
    assert_eq!(w.reg.node(&node(0)).unwrap().subnet_id, None);
}

#[test]
fn proposals_expire_and_expired_ones_cannot_be_approved() {
    let mut w = World::new();
    w.pakistan_records();
    let proposal = w.submit(authority(1), ProposalChange::CreateSubnet(World::create_args(vec![]))).unwrap();
    let later = proposal.expires_at_ns;
    assert_eq!(
        w.reg.approve_proposal(authority(2), later, proposal.id),
        Err(RegistryError::ProposalExpired { id: proposal.id, expired_at_ns: later })
    );
    assert_eq!(w.reg.proposal_at(proposal.id, later).unwrap().state, ProposalState::Expired);
    assert_eq!(w.reg.expire_due(stranger(), later - 1, 10), 0);
    assert_eq!(w.reg.expire_due(stranger(), later, 10), 1);
    assert_eq!(w.reg.expire_due(stranger(), later, 10), 0, "sweeping twice changes nothing");
    assert_eq!(w.reg.proposal(proposal.id).unwrap().state, ProposalState::Expired);
    assert_eq!(w.reg.subnet(&subnet_id()), None);
}

#[test]
fn lifecycle_refusals_name_current_and_requested_status() {
    let mut w = World::new();
    w.live_pakistan();
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeStatus { subnet_id: subnet_id(), status: SubnetStatus::Decommissioned }),
        Err(RegistryError::InvalidTransition { subnet_id: subnet_id(), from: SubnetStatus::Live, to: SubnetStatus::Decommissioned })
    );
    w.set_status(SubnetStatus::Suspended);
    let subnet = w.reg.subnet(&subnet_id()).unwrap();
    assert_eq!((subnet.live_since_ns, subnet.suspended_since_ns.is_some()), (None, true));
    w.set_status(SubnetStatus::Live);
    w.set_status(SubnetStatus::Suspended);
    w.set_status(SubnetStatus::Decommissioned);
    let subnet = w.reg.subnet(&subnet_id()).unwrap();
    assert!(subnet.members.is_empty() && subnet.decommissioned_at_ns.is_some());
    assert_eq!(w.reg.node(&node(0)).unwrap().subnet_id, None, "decommissioning frees the nodes");
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeAdmins { subnet_id: subnet_id(), admins: vec![] }),
        Err(RegistryError::SubnetNotModifiable { subnet_id: subnet_id(), status: SubnetStatus::Decommissioned })
    );
}

#[test]
fn node_in_at_most_one_subnet_and_competing_creations() {
    let mut w = World::new();
    w.pakistan_records();
    let first = w.submit(authority(1), ProposalChange::CreateSubnet(World::create_args(vec![node(0), node(1)]))).unwrap();
    // A second open proposal cannot claim a node the first one claims, whatever its kind.
    let mut other = World::create_args(vec![node(1)]);
    other.subnet_id = p(5, 1);
    let before = w.audit_len();
    assert_eq!(
        w.submit(authority(2), ProposalChange::CreateSubnet(other.clone())),
        Err(RegistryError::NodeClaimedByProposal { node_id: node(1), proposal_id: first.id })
    );
    assert_eq!(w.audit_len(), before);
    assert_eq!(w.reg.subnet(&p(5, 1)), None);
    let now = w.tick();
    assert_eq!(
        w.reg.remove_node(authority(1), now, node(1)),
        Err(RegistryError::NodeClaimedByProposal { node_id: node(1), proposal_id: first.id })
    );
    assert_eq!(w.reg.approve_proposal(authority(2), now, first.id).unwrap().state, ProposalState::Executed);
    // Once decided, the node is in the subnet: the same creation is refused for that reason.
    assert_eq!(
        w.submit(authority(2), ProposalChange::CreateSubnet(other)),
        Err(RegistryError::NodeInSubnet { node_id: node(1), subnet_id: subnet_id() })
    );
    assert_eq!(w.reg.subnet(&p(5, 1)), None);
    // An open membership change claims its additions too.
    let adding = w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![node(2)], remove: vec![] }).unwrap();
    let mut third = World::create_args(vec![node(2), node(3)]);
    third.subnet_id = p(5, 2);
    assert_eq!(
        w.submit(authority(1), ProposalChange::CreateSubnet(third.clone())),
        Err(RegistryError::NodeClaimedByProposal { node_id: node(2), proposal_id: adding.id })
    );
    // A rejected claim frees the node.
    let now = w.tick();
    w.reg.reject_proposal(authority(2), now, adding.id).unwrap();
    assert_eq!(w.reg.reject_proposal(authority(3), now, adding.id).unwrap().state, ProposalState::Rejected);
    assert_eq!(w.submit(authority(1), ProposalChange::CreateSubnet(third)).unwrap().state, ProposalState::Open);
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![node(1)], remove: vec![] }),
        Err(RegistryError::NodeInSubnet { node_id: node(1), subnet_id: subnet_id() })
    );
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![node(2)], remove: vec![node(2)] }),
        Err(RegistryError::DuplicateInList { field: "add and remove".into(), value: node(2).to_text() })
    );
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![], remove: vec![node(5)] }),
        Err(RegistryError::NodeNotInSubnet { node_id: node(5), subnet_id: subnet_id() })
    );
    assert_eq!(
        w.submit(authority(1), ProposalChange::ChangeMembership { subnet_id: subnet_id(), add: vec![], remove: vec![] }),
        Err(RegistryError::NothingToChange)
    );
}

#[test]
fn record_input_is_validated_and_refusals_change_nothing() {
    let mut w = World::new();
    let now = w.tick();
    let dc = |id: &str, region: &str, country: &str| DataCentreInput {
        id: id.into(),
        region: region.into(),
        country: country.into(),
        owner: "Owner".into(),
        gps: None,
    };
    assert_eq!(w.reg.add_data_centre(authority(1), now, dc("a", "Asia,PK,X", "pk")), Err(RegistryError::InvalidCountryCode { code: "pk".into() }));
    assert_eq!(
        w.reg.add_data_centre(authority(1), now, dc("a", "Asia,IN,X", "PK")),
        Err(RegistryError::InvalidRegion { region: "Asia,IN,X".into(), country: "PK".into() })
    );
    let mut bad_gps = dc("a", "Asia,PK,X", "PK");
    bad_gps.gps = Some(Gps { latitude: 91.0, longitude: 0.0 });
    assert_eq!(w.reg.add_data_centre(authority(1), now, bad_gps), Err(RegistryError::InvalidGps { data_centre: "a".into() }));
    let mut long_owner = dc("a", "Asia,PK,X", "PK");
    long_owner.owner = "o".repeat(65);
    assert_eq!(
        w.reg.add_data_centre(authority(1), now, long_owner),
        Err(RegistryError::InvalidText { field: "data_centre.owner".into(), length: 65, max: MAX_OWNER_LEN })
    );
    assert!(matches!(w.reg.add_data_centre(stranger(), now, dc("a", "Asia,PK,X", "PK")), Err(RegistryError::NotAuthorized { .. })));
    assert_eq!(w.audit_len(), 1, "only the install entry");
    w.reg.add_data_centre(authority(1), now, dc("a", "Asia,PK,X", "PK")).unwrap();
    assert_eq!(w.reg.add_data_centre(authority(1), now, dc("a", "Asia,PK,X", "PK")), Err(RegistryError::DataCentreAlreadyExists { id: "a".into() }));
    assert_eq!(
        w.reg.add_node(authority(1), now, NodeInput { id: node(0), provider: provider(0), data_centre: "a".into(), sev_chip_id: None }),
        Err(RegistryError::NodeProviderNotFound { provider: provider(0) })
    );
    w.reg.add_node_provider(authority(1), now, NodeProviderInput { id: provider(0), name: "P".into(), country: "PK".into() }).unwrap();
    assert_eq!(
        w.reg.add_node(authority(1), now, NodeInput { id: node(0), provider: provider(0), data_centre: "zz".into(), sev_chip_id: None }),
        Err(RegistryError::DataCentreNotFound { id: "zz".into() })
    );
    w.reg.add_node(authority(1), now, NodeInput { id: node(0), provider: provider(0), data_centre: "a".into(), sev_chip_id: None }).unwrap();
    assert_eq!(w.reg.remove_data_centre(authority(1), now, "a".into()), Err(RegistryError::DataCentreInUse { id: "a".into(), nodes: 1 }));
    assert_eq!(w.reg.remove_node_provider(authority(1), now, provider(0)), Err(RegistryError::NodeProviderInUse { provider: provider(0), nodes: 1 }));
    w.reg.remove_node(authority(1), now, node(0)).unwrap();
    w.reg.remove_data_centre(authority(1), now, "a".into()).unwrap();
    assert_eq!(w.reg.data_centre("a"), None);
}

#[test]
fn placements_need_a_recorder_and_a_live_subnet_and_are_idempotent() {
    let mut w = World::new();
    w.pakistan_records();
    w.pass(ProposalChange::CreateSubnet(World::create_args((0..13).map(node).collect())));
    let app = p(7, 1);
    let now = w.tick();
    assert_eq!(
        w.reg.record_placement(recorder(), now, app, subnet_id()),
        Err(RegistryError::SubnetNotLive { subnet_id: subnet_id(), status: SubnetStatus::Approved })
    );
    assert_eq!(w.reg.record_placement(recorder(), now, app, p(5, 7)), Err(RegistryError::SubnetNotFound { subnet_id: p(5, 7) }));
    w.set_status(SubnetStatus::Provisioning);
    w.set_status(SubnetStatus::Live);
    let now = w.tick();
    assert_eq!(
        w.reg.record_placement(authority(1), now, app, subnet_id()),
        Err(RegistryError::NotAuthorized { caller: authority(1), required: "placement recorder".into() })
    );
    let placed = w.reg.record_placement(recorder(), now, app, subnet_id()).unwrap();
    assert_eq!(placed, Placement { canister: app, subnet_id: subnet_id(), recorded_by: recorder(), recorded_at_ns: now });
    let audit = w.audit_len();
    assert_eq!(w.reg.record_placement(recorder(), now + 5, app, subnet_id()), Ok(placed.clone()));
    assert_eq!(w.audit_len(), audit, "a repeated placement changes nothing");
    assert_eq!(w.reg.placement_of(&app), Some(placed));
    assert_eq!(w.reg.list_placements(&PlacementQuery { subnet_id: Some(subnet_id()), page: PageRequest::default() }).total, 1);
}

#[test]
fn authorities_change_by_proposal_and_quorum_stays_reachable() {
    let mut w = World::new();
    let added = w.pass(ProposalChange::AddAuthority { authority: authority(4) });
    assert_eq!(added.state, ProposalState::Executed);
    assert_eq!(w.reg.config().authorities.len(), 4);
    assert_eq!(
        w.submit(authority(1), ProposalChange::AddAuthority { authority: authority(4) }),
        Err(RegistryError::AuthorityAlreadyPresent { authority: authority(4) })
    );
    w.pass(ProposalChange::RemoveAuthority { authority: authority(4) });
    w.pass(ProposalChange::RemoveAuthority { authority: authority(3) });
    assert_eq!(
        w.submit(authority(1), ProposalChange::RemoveAuthority { authority: authority(2) }),
        Err(RegistryError::QuorumUnreachable { authorities: 1, quorum: 2 })
    );
    assert!(matches!(w.submit(authority(3), ProposalChange::AddAuthority { authority: authority(5) }), Err(RegistryError::NotAuthorized { .. })));
}

#[test]
fn lists_filter_by_status_and_jurisdiction_and_page() {
    let mut w = World::new();
    w.live_pakistan();
    let q = |status, jurisdiction: Option<&str>| SubnetQuery {
        status,
        jurisdiction: jurisdiction.map(str::to_string),
        page: PageRequest::default(),
    };
    assert_eq!(w.reg.list_subnets(&q(Some(SubnetStatus::Live), Some("PK")), w.now).total, 1);
    assert_eq!(w.reg.list_subnets(&q(Some(SubnetStatus::Suspended), None), w.now).total, 0);
    assert_eq!(w.reg.list_subnets(&q(None, Some("CH")), w.now).total, 0);
    let page = w.reg.list_nodes(&NodeQuery { subnet_id: Some(subnet_id()), page: PageRequest { start: Some(10), limit: Some(5) }, ..Default::default() });
    assert_eq!((page.items.len(), page.total, page.next_start), (3, 13, None));
    let dcs = w.reg.list_data_centres(&DataCentreQuery { country: Some("PK".into()), page: PageRequest { start: None, limit: Some(4) } });
    assert_eq!((dcs.items.len(), dcs.total, dcs.next_start), (4, 13, Some(4)));
    let proposals = w.reg.list_proposals(&ProposalQuery { state: Some(ProposalState::Executed), subnet_id: Some(subnet_id()), page: PageRequest::default() }, w.now);
    assert_eq!(proposals.total, 3);
}

#[test]
fn reopening_the_same_memory_keeps_everything() {
    let mut w = World::new();
    w.live_pakistan();
    let app = p(7, 1);
    let now = w.tick();
    w.reg.record_placement(recorder(), now, app, subnet_id()).unwrap();
    let subnet = w.reg.subnet(&subnet_id()).unwrap();
    let audit = w.audit_len();
    let reopened = open(&w.memory);
    assert_eq!(reopened.subnet(&subnet_id()), Some(subnet));
    assert_eq!(reopened.placement_of(&app).unwrap().subnet_id, subnet_id());
    assert_eq!(reopened.core.audit_len(), audit);
    assert_eq!(reopened.list_proposals(&ProposalQuery::default(), now).total, 3);
    assert!(reopened.compliance_report(&subnet_id(), now).unwrap().compliant);
}

#[test]
fn tables_are_bounded_with_typed_refusals() {
    let mut w = World::new();
    let now = w.tick();
    let dc = |i: u32| DataCentreInput { id: format!("d{i}"), region: "Asia,PK,X".into(), country: "PK".into(), owner: "O".into(), gps: None };
    for i in 0..MAX_DATA_CENTRES {
        w.reg.add_data_centre(authority(1), now, dc(i)).unwrap();
    }
    let before = w.audit_len();
    assert_eq!(
        w.reg.add_data_centre(authority(1), now, dc(MAX_DATA_CENTRES)),
        Err(RegistryError::TooManyItems { field: "data_centres".into(), count: MAX_DATA_CENTRES + 1, max: MAX_DATA_CENTRES })
    );
    assert_eq!(w.audit_len(), before);
    // Open proposals: at most MAX_OPEN_PROPOSALS at once.
    for i in 0..MAX_OPEN_PROPOSALS {
        w.submit(authority(1), ProposalChange::AddAuthority { authority: p(8, i as u8) }).unwrap();
    }
    let before = w.audit_len();
    assert_eq!(
        w.submit(authority(1), ProposalChange::AddAuthority { authority: p(8, 200) }),
        Err(RegistryError::TooManyItems { field: "open_proposals".into(), count: MAX_OPEN_PROPOSALS + 1, max: MAX_OPEN_PROPOSALS })
    );
    assert_eq!(w.audit_len(), before);
    // Expired ones no longer count, even before the sweep.
    w.now += 3_601 * SEC;
    assert!(w.submit(authority(1), ProposalChange::AddAuthority { authority: p(8, 200) }).is_ok());
}

#[test]
fn the_oldest_decided_proposals_are_pruned_beyond_the_bound() {
    let memory = VectorMemory::default();
    let mut reg = open(&memory);
    let args = InitArgs {
        authorities: vec![authority(1)],
        quorum: 1,
        placement_recorders: vec![],
        burn_ledger: None,
        proposal_ttl_seconds: None,
        usage_report_interval_seconds: None,
    };
    reg.core.install(args, config::build_config, 1, authority(1), "installed").unwrap();
    let extra = 7u64;
    for i in 0..u64::from(MAX_DECIDED_PROPOSALS) + extra {
        // Quorum 1: each executes at submission; adding and removing the same authority in turn.
        let change = if i % 2 == 0 {
            ProposalChange::AddAuthority { authority: authority(2) }
        } else {
            ProposalChange::RemoveAuthority { authority: authority(2) }
        };
        let p = reg.submit_proposal(authority(1), SEC * (10 + i), ProposalInput { summary: "s".into(), change }).unwrap();
        assert_eq!(p.state, ProposalState::Executed);
    }
    let all = reg.list_proposals(&ProposalQuery::default(), SEC * 100_000);
    assert_eq!(all.total, u64::from(MAX_DECIDED_PROPOSALS));
    assert_eq!(reg.proposal(extra - 1), None, "the oldest are gone");
    assert!(reg.proposal(extra).is_some());
    let pruned = reg
        .core
        .audit_page(&PageRequest { start: Some(reg.core.audit_len() - 3), limit: None })
        .entries
        .iter()
        .any(|e| e.kind == "proposal_pruned");
    assert!(pruned, "pruning is audited");
    // The next id keeps counting.
    let next = reg.submit_proposal(authority(1), SEC * 99_999, ProposalInput { summary: "s".into(), change: ProposalChange::AddAuthority { authority: authority(3) } }).unwrap();
    assert_eq!(next.id, u64::from(MAX_DECIDED_PROPOSALS) + extra);
}

#[test]
fn authority_changes_recount_open_proposals() {
    // Four authorities, quorum 2.
    let mut w = World::new();
    w.pass(ProposalChange::AddAuthority { authority: authority(4) });
    // Proposal A: approved only by authority 4.  Proposal B: rejected by 2 and 3.
    let a = w.submit(authority(4), ProposalChange::AddAuthority { authority: authority(5) }).unwrap();
    let b = w.submit(authority(1), ProposalChange::AddAuthority { authority: authority(6) }).unwrap();
    let now = w.tick();
    w.reg.reject_proposal(authority(2), now, b.id).unwrap();
    assert_eq!(w.reg.reject_proposal(authority(3), now, b.id).unwrap().state, ProposalState::Open, "4 - 2 = 2 can still reach 2");
    // Removing authority 4: B can no longer reach the quorum and is rejected at once; A keeps
    // its record of 4's approval, which no longer counts.
    let removal = w.pass(ProposalChange::RemoveAuthority { authority: authority(4) });
    assert_eq!(removal.state, ProposalState::Executed);
    assert_eq!(w.reg.proposal(b.id).unwrap().state, ProposalState::Rejected);
    assert_eq!(w.reg.proposal(a.id).unwrap().state, ProposalState::Open);
    let now = w.tick();
    assert_eq!(w.reg.approve_proposal(authority(1), now, a.id).unwrap().state, ProposalState::Open, "one counted approval of two");
    // A lower quorum by reconfiguration: re-evaluation executes A.
    let args = InitArgs {
        authorities: vec![authority(1), authority(2), authority(3)],
        quorum: 1,
        placement_recorders: vec![recorder()],
        burn_ledger: None,
        proposal_ttl_seconds: Some(3600),
        usage_report_interval_seconds: None,
    };
    w.reg.core.upgrade(Some(args), config::build_config, config::SCHEMA_VERSION, now, stranger()).unwrap();
    let audit = w.audit_len();
    assert_eq!(w.reg.reevaluate_open(stranger(), now), 1);
    assert_eq!(w.reg.proposal(a.id).unwrap().state, ProposalState::Executed);
    assert!(w.reg.config().authorities.contains(&authority(5)));
    assert!(w.audit_len() > audit);
    // Nothing left to decide: a second run writes nothing.
    let audit = w.audit_len();
    assert_eq!(w.reg.reevaluate_open(stranger(), now), 0);
    assert_eq!(w.audit_len(), audit);
}

/// An upgrade from schema 2 finds the indexes empty: the migration builds them in many batches
/// (64 records each here, 10,000 in the canister) while placements go on and every query is
/// answered correctly, and ends with indexes equal to a full scan.
#[test]
fn the_schema_3_migration_crosses_batches_and_queries_stay_correct() {
    let mut w = World::new();
    w.live_pakistan();
    let app = |i: u16| {
        let [hi, lo] = i.to_be_bytes();
        Principal::from_slice(&[7, hi, lo, 0, 0, 0, 0, 0, 1, 1])
    };
    let mut placed = 0u16;
    while placed < 600 {
        let now = w.tick();
        w.reg.record_placement(recorder(), now, app(placed * 2), subnet_id()).unwrap();
        placed += 1;
    }
    // The state schema-2 code leaves: records without indexes, migration not started.
    w.reg.subnet_heads.clear_new();
    w.reg.placements_by_subnet.clear_new();
    w.reg.nodes_by_subnet.clear_new();
    w.reg.migration.set(common::cbor::Cbor(crate::index::Migration::default()));
    let mut w = World { reg: open(&w.memory), memory: w.memory, now: w.now };
    assert!(!w.reg.indexes_ready());
    let query = |subnet: Option<Principal>, start: u64| PlacementQuery { subnet_id: subnet, page: PageRequest { start: Some(start), limit: Some(50) } };
    let mut steps = 0;
    loop {
        // Queries are right whatever the migration has done so far.
        let scan: Vec<Principal> = w.reg.placements.iter().map(|e| *e.key()).collect();
        for filter in [None, Some(subnet_id())] {
            for start in [0, 290, 580] {
                let page = w.reg.list_placements(&query(filter, start));
                assert_eq!(page.total, scan.len() as u64, "step {steps}");
                let want: Vec<Principal> = scan.iter().skip(start as usize).take(50).copied().collect();
                assert_eq!(page.items.iter().map(|p| p.canister).collect::<Vec<_>>(), want, "step {steps}, start {start}");
            }
        }
        let nodes = w.reg.list_nodes(&NodeQuery { subnet_id: Some(subnet_id()), ..Default::default() });
        assert_eq!(nodes.total, 13, "step {steps}");
        // A placement between batches (odd ids fall among those already migrated and not yet).
        let now = w.tick();
        w.reg.record_placement(recorder(), now, app(2 * u16::try_from(steps).unwrap() + 1), subnet_id()).unwrap();
        steps += 1;
        if w.reg.migrate_step(64) {
            break;
        }
    }
    assert!(steps >= 10, "600 placements and 13 nodes in batches of 64 take at least 10 steps, took {steps}");
    w.reg.check_indexes().unwrap();
    let total = 600 + steps as u64;
    assert_eq!(w.reg.list_placements(&query(Some(subnet_id()), 0)).total, total);
    assert_eq!(w.reg.subnet_heads.get(&subnet_id()).map(|h| h.placements), Some(total));
    // Done: a further step changes nothing.
    assert!(w.reg.migrate_step(64));
    w.reg.check_indexes().unwrap();
}
