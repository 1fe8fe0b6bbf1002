//! Rollout steps for `subnet_registry`: install it, record Pakistan's data centres, providers
//! and nodes, and bring the sovereign subnet live through proposals approved by 2 of 3
//! authorities. `live_pakistan_subnet(env, recorders)` does it all in one call for the demo and
//! for the license / burn scenarios.

use crate::actors::actor;
use crate::call::{deploy, query1, update1};
use crate::env::Env;
use candid::Principal;
use interfaces::subnet_registry::{
    CostSchedule, CreateSubnetArgs, DataCentreInput, Gps, InitArgs, NodeInput, NodeProviderInput, Proposal,
    ProposalChange, ProposalInput, ProposalState, RegistryError, Subnet, SubnetStatus, SubnetType, TopologyPolicy,
};

/// The three registry authorities (think PTA, the ministry, DFINITY); quorum 2.
pub fn authorities() -> [Principal; 3] {
    [actor("registry-authority-1"), actor("registry-authority-2"), actor("registry-authority-3")]
}

/// The Pakistan subnet's id.
pub const PAKISTAN_SUBNET: Principal = Principal::from_slice(&[0x5a, 0x5b, 0x9c, 0x01]);

/// Thirteen cities, one data centre each, each with its own owner.
pub const PK_CITIES: [(&str, &str, f64, f64); 13] = [
    ("isb1", "Islamabad", 33.68, 73.05),
    ("lhe1", "Lahore", 31.55, 74.34),
    ("khi1", "Karachi", 24.86, 67.01),
    ("pew1", "Peshawar", 34.01, 71.58),
    ("uet1", "Quetta", 30.18, 66.97),
    ("mux1", "Multan", 30.16, 71.52),
    ("lyp1", "Faisalabad", 31.45, 73.13),
    ("rwp1", "Rawalpindi", 33.60, 73.04),
    ("hdd1", "Hyderabad", 25.40, 68.37),
    ("skt1", "Sialkot", 32.49, 74.53),
    ("grw1", "Gujranwala", 32.19, 74.19),
    ("skz1", "Sukkur", 27.71, 68.86),
    ("gil1", "Gilgit", 35.92, 74.31),
];

/// A node provider's principal (`i` < 13 are Pakistan's; others are for tests).
pub fn provider(i: u8) -> Principal {
    Principal::from_slice(&[0x5a, 0x9e, i])
}

/// A node's principal.
pub fn node(i: u8) -> Principal {
    Principal::from_slice(&[0x5a, 0x0d, i])
}

/// The install argument: the three authorities, quorum 2, the given recorders.
pub fn init_args(placement_recorders: Vec<Principal>, burn_ledger: Option<Principal>) -> InitArgs {
    InitArgs {
        authorities: authorities().to_vec(),
        quorum: 2,
        placement_recorders,
        burn_ledger,
        proposal_ttl_seconds: None,
        usage_report_interval_seconds: None,
    }
}

/// Installs a registry with [`init_args`] into a canister created beforehand (so peers that
/// need each other's ids can be created first).
pub fn install_registry(env: &mut dyn Env, canister: Principal, placement_recorders: Vec<Principal>, burn_ledger: Option<Principal>) {
    let arg = candid::encode_one(Some(init_args(placement_recorders, burn_ledger))).expect("encode InitArgs");
    let backend = env.backend();
    env.install(canister, &crate::wasm("subnet_registry"), arg)
        .unwrap_or_else(|r| panic!("[{backend}] installing subnet_registry into {canister}: {r}"));
}

/// Creates and installs a registry with [`init_args`].
pub fn deploy_registry(env: &mut dyn Env, placement_recorders: Vec<Principal>) -> Principal {
    deploy(env, &crate::wasm("subnet_registry"), (Some(init_args(placement_recorders, None)),))
}

/// The create-subnet change for the 13 Pakistan nodes.
pub fn pakistan_create_args() -> CreateSubnetArgs {
    CreateSubnetArgs {
        subnet_id: PAKISTAN_SUBNET,
        name: "Pakistan sovereign subnet".into(),
        subnet_type: SubnetType::CloudEngine,
        jurisdiction: "PK".into(),
        members: (0..13).map(node).collect(),
        policy: TopologyPolicy::sovereign(),
        admins: vec![authorities()[0]],
        cost_schedule: CostSchedule::Normal,
    }
}

/// Authority 0 records 13 data centres, 13 providers and 13 SEV nodes (node `i` of provider
/// `i` in data centre `i`).
pub fn add_pakistan_records(env: &mut dyn Env, registry: Principal) {
    let by = authorities()[0];
    for (i, (id, city, latitude, longitude)) in PK_CITIES.iter().enumerate() {
        let i = i as u8;
        let dc = DataCentreInput {
            id: id.to_string(),
            region: format!("Asia,PK,{city}"),
            country: "PK".into(),
            owner: format!("{city} Data Centres Ltd"),
            gps: Some(Gps { latitude: *latitude, longitude: *longitude }),
        };
        let r: Result<interfaces::subnet_registry::DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (dc,));
        r.unwrap_or_else(|e| panic!("add_data_centre {id}: {e:?}"));
        let p = NodeProviderInput { id: provider(i), name: format!("PK Node Provider {i}"), country: "PK".into() };
        let r: Result<interfaces::subnet_registry::NodeProvider, RegistryError> = update1(env, registry, by, "add_node_provider", (p,));
        r.unwrap_or_else(|e| panic!("add_node_provider {i}: {e:?}"));
        let n = NodeInput { id: node(i), provider: provider(i), data_centre: id.to_string(), sev_chip_id: Some(format!("sev-pk-{i:02}")) };
        let r: Result<interfaces::subnet_registry::Node, RegistryError> = update1(env, registry, by, "add_node", (n,));
        r.unwrap_or_else(|e| panic!("add_node {i}: {e:?}"));
    }
}

/// `submit_proposal` by `by`.
pub fn submit(env: &mut dyn Env, registry: Principal, by: Principal, change: ProposalChange) -> Result<Proposal, RegistryError> {
    let input = ProposalInput { summary: format!("{change:?}").chars().take(200).collect(), change };
    update1(env, registry, by, "submit_proposal", (input,))
}

/// `approve_proposal` by `by`.
pub fn approve(env: &mut dyn Env, registry: Principal, by: Principal, id: u64) -> Result<Proposal, RegistryError> {
    update1(env, registry, by, "approve_proposal", (id,))
}

/// Submitted by authority 0 and approved by authority 1: the quorum of 2. Returns the decided
/// proposal (Executed, or Failed with its error); panics if submission is refused.
pub fn pass(env: &mut dyn Env, registry: Principal, change: ProposalChange) -> Proposal {
    let submitted = submit(env, registry, authorities()[0], change).unwrap_or_else(|e| panic!("proposal refused: {e:?}"));
    assert_eq!(submitted.state, ProposalState::Open, "one authority alone must not reach the quorum");
    approve(env, registry, authorities()[1], submitted.id).unwrap_or_else(|e| panic!("approval refused: {e:?}"))
}

/// Passes a status change and requires it to execute.
pub fn set_status(env: &mut dyn Env, registry: Principal, subnet_id: Principal, status: SubnetStatus) {
    let p = pass(env, registry, ProposalChange::ChangeStatus { subnet_id, status });
    assert_eq!(p.state, ProposalState::Executed, "status change to {status:?} failed: {:?}", p.execution_error);
}

pub fn get_subnet(env: &mut dyn Env, registry: Principal, subnet_id: Principal) -> Option<Subnet> {
    query1(env, registry, Principal::anonymous(), "get_subnet", (subnet_id,))
}

/// On an installed registry: the records, the create proposal (2 of 3), provisioning, live.
/// Returns the live subnet.
pub fn pakistan_subnet(env: &mut dyn Env, registry: Principal) -> Subnet {
    add_pakistan_records(env, registry);
    let created = pass(env, registry, ProposalChange::CreateSubnet(pakistan_create_args()));
    assert_eq!(created.state, ProposalState::Executed, "create failed: {:?}", created.execution_error);
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Provisioning);
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Live);
    get_subnet(env, registry, PAKISTAN_SUBNET).expect("the Pakistan subnet exists")
}

/// One call: deploys a registry whose placement recorders are `placement_recorders` and brings
/// the Pakistan subnet live. Returns (registry canister id, live subnet).
pub fn live_pakistan_subnet(env: &mut dyn Env, placement_recorders: Vec<Principal>) -> (Principal, Subnet) {
    let registry = deploy_registry(env, placement_recorders);
    let subnet = pakistan_subnet(env, registry);
    (registry, subnet)
}
