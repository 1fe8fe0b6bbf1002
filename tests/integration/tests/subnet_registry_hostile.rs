//! Hostile tests of `subnet_registry` on its real wasm (issue 12): install arguments, placements
//! of non-canisters, proposal bookkeeping when authorities or quorum change, nodes claimed twice,
//! expired proposals before the sweep, region paths, paging, worst-case replies, ingress
//! screening and bounded decoding. Every refusal is checked to leave the canister's stable
//! memory unchanged (`stable_digest`, executor only). Tallies: target/hostile-cases/subnet_registry.*.
//!
//! To see them fail on the previous release: `SUBNET_REGISTRY_WASM=tests/fixtures/release-v0.1.0/subnet_registry.wasm.gz`.

use candid::{encode_args, encode_one, Reserved};
use interfaces::audit::{AuditPage, PageRequest};
use interfaces::subnet_registry::*;
use suite_tests::actors::actor;
use suite_tests::hostile::{stable_digest, Hostile};
use suite_tests::scenarios::subnet_registry::*;
use suite_tests::*;

/// The IC's limit on a reply.
const IC_REPLY_LIMIT: usize = 2 * 1024 * 1024;
/// The IC's limit on the instructions of a query.
const QUERY_INSTRUCTION_LIMIT: u64 = 5_000_000_000;
const CANISTER: &str = "subnet_registry";

fn recorder() -> Principal {
    actor("registry-hostile-recorder")
}

fn stranger() -> Principal {
    actor("registry-hostile-stranger")
}

/// A canister-shaped id (10 bytes ending 0x01) no canister of the test has.
fn canister_like(n: u8) -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0xa9, 0x5a, n, 1, 1])
}

/// A 29-byte principal (the longest), e.g. a node id.
fn long_principal(tag: u8, n: u8) -> Principal {
    let mut bytes = [tag; 29];
    bytes[27] = n;
    Principal::from_slice(&bytes)
}

/// The registry's stable memory at the last check: each refusal must leave it as it was. One
/// `stable_digest` per check (the digest after one refusal is the reference for the next).
struct Unchanged {
    canister: Principal,
    last: Option<[u8; 32]>,
}

impl Unchanged {
    fn new(env: &mut dyn Env, canister: Principal) -> Self {
        Unchanged { canister, last: stable_digest(env, canister) }
    }

    /// Records in `h` that the refusal `case` changed nothing.
    fn check(&mut self, env: &mut dyn Env, h: &mut Hostile, case: &str) {
        let now = stable_digest(env, self.canister);
        h.expect_eq(&format!("{case}: stable memory unchanged"), now, self.last);
        self.last = now;
    }

    /// After an accepted change: the state now is the reference.
    fn accept(&mut self, env: &mut dyn Env) {
        self.last = stable_digest(env, self.canister);
    }
}

fn args_with(change: impl FnOnce(&mut InitArgs)) -> InitArgs {
    let mut args = init_args(vec![recorder()], None);
    change(&mut args);
    args
}

fn config(env: &mut dyn Env, registry: Principal) -> Config {
    query1(env, registry, stranger(), "config", ())
}

fn get_proposal(env: &mut dyn Env, registry: Principal, id: u64) -> Option<Proposal> {
    query1(env, registry, stranger(), "get_proposal", (id,))
}

fn reject(env: &mut dyn Env, registry: Principal, by: Principal, id: u64) -> Result<Proposal, RegistryError> {
    update1(env, registry, by, "reject_proposal", (id,))
}

/// A reject by `inspect_message`: on the executor its message names `why` (PocketIC words
/// ingress rejections its own way, so there only the reject is required).
fn screened(env: &dyn Env, r: &Result<Vec<u8>, Reject>, why: &str) -> bool {
    matches!(r, Err(rej) if env.backend() != "executor" || rej.message.contains(why))
}

fn ticks(env: &mut dyn Env) {
    for _ in 0..3 {
        env.tick();
    }
}

// ---- 1. install and upgrade arguments ----

/// Install arguments a hostile or careless operator could pass, each with the `ConfigError`
/// the refusal must name.
fn bad_install_args() -> Vec<(&'static str, InitArgs, &'static str)> {
    let twenty_one: Vec<Principal> = (0..21).map(|i| actor(&format!("registry-hostile-authority-{i}"))).collect();
    let eleven: Vec<Principal> = (0..11).map(canister_like).collect();
    vec![
        ("anonymous placement recorder", args_with(|a| a.placement_recorders = vec![recorder(), Principal::anonymous()]), "AnonymousPrincipal"),
        ("placement recorder named twice", args_with(|a| a.placement_recorders = vec![recorder(), recorder()]), "DuplicatePrincipal"),
        ("11 placement recorders", args_with(|a| a.placement_recorders = eleven), "LimitOutOfRange"),
        ("21 authorities (AddAuthority stops at 20)", args_with(|a| a.authorities = twenty_one), "LimitOutOfRange"),
        ("anonymous burn ledger", args_with(|a| a.burn_ledger = Some(Principal::anonymous())), "AnonymousPrincipal"),
        ("anonymous authority", args_with(|a| a.authorities.push(Principal::anonymous())), "AnonymousAuthority"),
        ("authority named twice", args_with(|a| a.authorities.push(authorities()[0])), "DuplicateAuthority"),
        ("quorum above the authorities", args_with(|a| a.quorum = 4), "QuorumOutOfRange"),
        ("no authorities", args_with(|a| a.authorities.clear()), "NoAuthorities"),
        ("proposal ttl of 1 second", args_with(|a| a.proposal_ttl_seconds = Some(1)), "LimitOutOfRange"),
    ]
}

fn install_and_upgrade_arguments_are_checked(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "install_and_upgrade_arguments");
    let wasm = wasm(CANISTER);
    for (case, args, error) in bad_install_args() {
        let id = env.create_canister();
        let r = env.install(id, &wasm, encode_one(Some(args)).unwrap());
        h.check(&format!("install refused: {case}"), matches!(&r, Err(rej) if rej.message.contains(error)), &r);
        let left: Result<(Config,), Reject> = try_query(env, id, stranger(), "config", ());
        h.check(&format!("install refused: {case}: no code left behind"), left.is_err(), &left);
    }
    // The bounds themselves are accepted: 20 authorities, 10 recorders.
    let twenty: Vec<Principal> = (0..20).map(|i| actor(&format!("registry-hostile-authority-{i}"))).collect();
    let at_bounds = args_with(|a| {
        a.authorities = twenty.clone();
        a.placement_recorders = (0..10).map(canister_like).collect();
    });
    let id = env.create_canister();
    let r = env.install(id, &wasm, encode_one(Some(at_bounds)).unwrap());
    h.check("20 authorities and 10 recorders install", r.is_ok(), &r);

    // A running registry with records: each bad argument on upgrade is refused and changes nothing.
    let registry = deploy_registry(env, vec![recorder()]);
    add_pakistan_records(env, registry);
    let config_before = config(env, registry);
    let mut stable = Unchanged::new(env, registry);
    for (case, args, error) in bad_install_args() {
        let r = env.upgrade(registry, &wasm, encode_one(Some(args)).unwrap());
        h.check(&format!("upgrade refused: {case}"), matches!(&r, Err(rej) if rej.message.contains(error)), &r);
        stable.check(env, &mut h, &format!("upgrade refused: {case}"));
    }
    h.expect_eq("the configuration in force is the installed one", config(env, registry), config_before);
    h.finish();
}
scenario!(install_and_upgrade_arguments_are_checked);

// ---- 2. placements only of canisters ----

/// The fixture's error record when its relayed call fails.
#[derive(candid::CandidType, serde::Deserialize, Debug)]
struct RelayError {
    code: u32,
    message: String,
}

/// `record_placement` made by the canister `relay` (the fixture's `call_raw`): an inter-canister
/// call, which `inspect_message` never sees.
fn record_via(env: &mut dyn Env, relay: Principal, registry: Principal, canister: Principal, subnet: Principal) -> Result<Placement, RegistryError> {
    let arg = encode_args((canister, subnet)).unwrap();
    let relayed: Result<Vec<u8>, RelayError> = update1(env, relay, stranger(), "call_raw", (registry, "record_placement", arg));
    let reply = relayed.unwrap_or_else(|e| panic!("relay to record_placement failed: {e:?}"));
    candid::decode_one(&reply).unwrap()
}

fn record(env: &mut dyn Env, registry: Principal, by: Principal, canister: Principal, subnet: Principal) -> Result<Placement, RegistryError> {
    update1(env, registry, by, "record_placement", (canister, subnet))
}

fn placements_are_of_canisters_only(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "placements_of_canisters_only");
    let relay = deploy(env, &fixture_wasm(), ());
    let (registry, subnet) = live_pakistan_subnet(env, vec![recorder(), relay]);
    let field = || "canister".to_string();
    let mut ten_ending_2 = canister_like(1).as_slice().to_vec();
    ten_ending_2[9] = 0x02;
    let refused = [
        ("the anonymous principal", Principal::anonymous()),
        ("a user (self-authenticating)", stranger()),
        ("the management canister", Principal::management_canister()),
        ("a short opaque id", Principal::from_slice(&[0x5a, 0xa9, 0x01])),
        ("29 bytes ending 0x01", Principal::from_slice(&[1; 29])),
        ("10 bytes ending 0x02", Principal::from_slice(&ten_ending_2)),
        ("a node id", node(0)),
        ("the subnet id", subnet.id),
    ];
    let mut stable = Unchanged::new(env, registry);
    for (case, p) in refused {
        let expected = if p == Principal::anonymous() {
            RegistryError::AnonymousPrincipal { field: field() }
        } else {
            RegistryError::NotACanister { field: field(), principal: p }
        };
        h.expect_eq(&format!("ingress: {case}"), record(env, registry, recorder(), p, subnet.id), Err(expected.clone()));
        h.expect_eq(&format!("inter-canister: {case}"), record_via(env, relay, registry, p, subnet.id), Err(expected));
        stable.check(env, &mut h, case);
        let placed: Option<Placement> = query1(env, registry, stranger(), "placement_of", (p,));
        h.expect_eq(&format!("{case}: no placement"), placed, None);
    }
    // Real canister ids are placed, from either kind of recorder.
    let ok = record(env, registry, recorder(), relay, subnet.id);
    h.check("a real canister is placed", ok.as_ref().is_ok_and(|p| p.canister == relay), &ok);
    let ok = record_via(env, relay, registry, canister_like(7), subnet.id);
    h.check("a canister id is placed by a recorder canister", ok.as_ref().is_ok_and(|p| p.recorded_by == relay), &ok);
    // A canister that is not a recorder gets the typed refusal, not a trap.
    let other = deploy(env, &fixture_wasm(), ());
    stable.accept(env);
    h.expect_eq(
        "a canister that is no recorder",
        record_via(env, other, registry, canister_like(8), subnet.id),
        Err(RegistryError::NotAuthorized { caller: other, required: "placement recorder".into() }),
    );
    stable.check(env, &mut h, "no recorder");
    h.finish();
}
scenario!(placements_are_of_canisters_only);

// ---- 3a. proposal bookkeeping when authorities or quorum change ----

fn fourth() -> Principal {
    actor("registry-authority-4")
}

fn add_authority(x: &str) -> ProposalChange {
    ProposalChange::AddAuthority { authority: actor(x) }
}

fn proposal_bookkeeping_follows_authorities_and_quorum(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "proposal_bookkeeping");
    let [a0, a1, a2] = authorities();
    let four = args_with(|a| a.authorities.push(fourth()));
    let registry = deploy(env, &wasm(CANISTER), (Some(four.clone()),));

    // A removed authority's approval no longer counts.
    let by_fourth = submit(env, registry, fourth(), add_authority("newcomer-1")).unwrap();
    let removal = pass(env, registry, ProposalChange::RemoveAuthority { authority: fourth() });
    h.expect_eq("removal executes", removal.state, ProposalState::Executed);
    let one_vote = approve(env, registry, a2, by_fourth.id).map(|p| p.state);
    h.expect_eq("a former authority's approval does not count towards the quorum", one_vote, Ok(ProposalState::Open));
    let second = approve(env, registry, a0, by_fourth.id).map(|p| p.state);
    h.expect_eq("two current authorities execute it", second, Ok(ProposalState::Executed));

    // Rejections that make the quorum unreachable once an authority is gone: rejected at once.
    let registry = deploy(env, &wasm(CANISTER), (Some(four),));
    let doomed = submit(env, registry, a0, add_authority("newcomer-2")).unwrap();
    reject(env, registry, a1, doomed.id).unwrap();
    let open = reject(env, registry, a2, doomed.id).map(|p| p.state);
    h.expect_eq("2 of 4 rejections leave the quorum of 2 reachable", open, Ok(ProposalState::Open));
    let removal = submit(env, registry, a0, ProposalChange::RemoveAuthority { authority: fourth() }).unwrap();
    approve(env, registry, fourth(), removal.id).unwrap();
    let after = get_proposal(env, registry, doomed.id).map(|p| p.state);
    h.expect_eq("with 3 authorities and 2 rejections it is rejected at the removal", after, Some(ProposalState::Rejected));
    let audit: AuditPage = query1(env, registry, stranger(), "audit_log", (PageRequest::default(),));
    h.check("the rejection is audited", audit.entries.iter().any(|e| e.kind == "proposal_rejected"), audit.total);

    // A quorum lowered by a reconfiguring upgrade: a proposal that reached it executes right after.
    let strict = args_with(|a| a.quorum = 3);
    let registry = deploy(env, &wasm(CANISTER), (Some(strict.clone()),));
    let waiting = submit(env, registry, a0, add_authority("newcomer-3")).unwrap();
    let two = approve(env, registry, a1, waiting.id).map(|p| p.state);
    h.expect_eq("2 of quorum 3: open", two, Ok(ProposalState::Open));
    let lowered = args_with(|a| a.quorum = 2);
    env.upgrade(registry, &wasm(CANISTER), encode_one(Some(lowered)).unwrap()).unwrap();
    ticks(env);
    let executed = get_proposal(env, registry, waiting.id);
    h.expect_eq("executed after the quorum fell to 2", executed.as_ref().map(|p| p.state), Some(ProposalState::Executed));
    h.check("the new authority is in force", config(env, registry).authorities.contains(&actor("newcomer-3")), config(env, registry));

    // A raised quorum: nothing executes early, the next approvals still count.
    let registry = deploy(env, &wasm(CANISTER), (Some(args_with(|a| a.quorum = 1)),));
    let quick = submit(env, registry, a0, add_authority("newcomer-4")).unwrap();
    h.expect_eq("quorum 1 executes at submission", quick.state, ProposalState::Executed);
    env.upgrade(registry, &wasm(CANISTER), encode_one(Some(args_with(|a| a.quorum = 3))).unwrap()).unwrap();
    ticks(env);
    let slow = submit(env, registry, a0, add_authority("newcomer-5")).unwrap();
    approve(env, registry, a1, slow.id).unwrap();
    h.expect_eq("2 of quorum 3 stays open", get_proposal(env, registry, slow.id).map(|p| p.state), Some(ProposalState::Open));
    let third = approve(env, registry, a2, slow.id).map(|p| p.state);
    h.expect_eq("the third approval executes", third, Ok(ProposalState::Executed));
    h.finish();
}
scenario!(proposal_bookkeeping_follows_authorities_and_quorum);

// ---- 3b. two open proposals claiming one node ----

fn one_node_is_claimed_by_one_open_proposal(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "one_claim_per_node");
    let registry = deploy_registry(env, vec![recorder()]);
    add_pakistan_records(env, registry);
    let [a0, a1, _] = authorities();
    let first = submit(env, registry, a0, ProposalChange::CreateSubnet(pakistan_create_args())).unwrap();
    let second_subnet = Principal::from_slice(&[0x5a, 0x5b, 0x9c, 0x02]);
    let mut rival = pakistan_create_args();
    rival.subnet_id = second_subnet;
    rival.members = vec![node(3)];
    let mut stable = Unchanged::new(env, registry);
    h.expect_eq(
        "a second creation claiming a node is refused",
        submit(env, registry, a1, ProposalChange::CreateSubnet(rival.clone())),
        Err(RegistryError::NodeClaimedByProposal { node_id: node(3), proposal_id: first.id }),
    );
    stable.check(env, &mut h, "refused creation");
    h.expect_eq("no rival subnet", get_subnet(env, registry, second_subnet), None);
    let removed: Result<(), RegistryError> = update1(env, registry, a0, "remove_node", (node(3),));
    h.expect_eq("a claimed node cannot be removed", removed, Err(RegistryError::NodeClaimedByProposal { node_id: node(3), proposal_id: first.id }));
    stable.check(env, &mut h, "refused removal");
    h.expect_eq("the first creation executes", approve(env, registry, a1, first.id).map(|p| p.state), Ok(ProposalState::Executed));
    // Now the node is a member: a rival creation and a membership change both name that subnet.
    h.expect_eq(
        "after execution the node is in its subnet",
        submit(env, registry, a1, ProposalChange::CreateSubnet(rival)),
        Err(RegistryError::NodeInSubnet { node_id: node(3), subnet_id: PAKISTAN_SUBNET }),
    );
    let nodes: NodePage = query1(env, registry, stranger(), "list_nodes", (NodeQuery { subnet_id: Some(PAKISTAN_SUBNET), ..Default::default() },));
    h.expect_eq("13 nodes in the one subnet", nodes.total, 13);
    h.finish();
}
scenario!(one_node_is_claimed_by_one_open_proposal);

// ---- 3c. expired proposals before the sweep ----

fn expired_proposals_read_as_expired_before_the_sweep(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "expired_before_the_sweep");
    let registry = deploy(env, &wasm(CANISTER), (Some(args_with(|a| a.proposal_ttl_seconds = Some(60))),));
    add_pakistan_records(env, registry);
    let [a0, a1, a2] = authorities();
    let open = submit(env, registry, a0, ProposalChange::CreateSubnet(pakistan_create_args())).unwrap();
    // Time passes; no timer has run (queries and updates do not run timers).
    env.advance_time(std::time::Duration::from_secs(61));
    let seen = get_proposal(env, registry, open.id).map(|p| p.state);
    h.expect_eq("get_proposal says Expired", seen, Some(ProposalState::Expired));
    let listed: ProposalPage = query1(env, registry, stranger(), "list_proposals", (ProposalQuery { state: Some(ProposalState::Open), ..Default::default() },));
    h.expect_eq("no proposal listed as Open", listed.total, 0);
    let listed: ProposalPage = query1(env, registry, stranger(), "list_proposals", (ProposalQuery { state: Some(ProposalState::Expired), ..Default::default() },));
    h.expect_eq("listed as Expired", listed.items.iter().map(|p| p.id).collect::<Vec<_>>(), vec![open.id]);
    h.expect_eq("its Proposed subnet is gone", get_subnet(env, registry, PAKISTAN_SUBNET), None);
    let status: Result<SubnetStatus, RegistryError> = query1(env, registry, stranger(), "subnet_status", (PAKISTAN_SUBNET,));
    h.expect_eq("subnet_status: not found", status, Err(RegistryError::SubnetNotFound { subnet_id: PAKISTAN_SUBNET }));
    let subnets: SubnetPage = query1(env, registry, stranger(), "list_subnets", (SubnetQuery::default(),));
    h.expect_eq("list_subnets: none", subnets.total, 0);
    let report: Result<ComplianceReport, RegistryError> = query1(env, registry, stranger(), "compliance_report", (PAKISTAN_SUBNET,));
    h.check("compliance_report: not found", report.is_err(), report.as_ref().map(|r| r.status));
    let mut stable = Unchanged::new(env, registry);
    let expired = Err(RegistryError::ProposalExpired { id: open.id, expired_at_ns: open.expires_at_ns });
    h.expect_eq("an approval is refused", approve(env, registry, a1, open.id), expired.clone());
    stable.check(env, &mut h, "refused approval");
    h.expect_eq("a rejection is refused", reject(env, registry, a2, open.id), expired);
    stable.check(env, &mut h, "refused rejection");
    // Its nodes and its subnet id are free again, before the sweep.
    let again = submit(env, registry, a1, ProposalChange::CreateSubnet(pakistan_create_args()));
    h.check("the same subnet can be proposed again", again.as_ref().is_ok_and(|p| p.state == ProposalState::Open), &again);
    ticks(env);
    h.expect_eq("the sweep records the expiry", get_proposal(env, registry, open.id).map(|p| p.state), Some(ProposalState::Expired));
    let status = get_subnet(env, registry, PAKISTAN_SUBNET).map(|s| s.status);
    h.expect_eq("the sweep leaves the new proposal's subnet", status, Some(SubnetStatus::Proposed));
    if let Ok(p) = again {
        h.expect_eq("and the new proposal executes", approve(env, registry, a0, p.id).map(|p| p.state), Ok(ProposalState::Executed));
    }
    h.finish();
}
scenario!(expired_proposals_read_as_expired_before_the_sweep);

// ---- 3d. region paths and names ----

fn region_paths_and_names_are_checked(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "region_paths_and_names");
    let registry = deploy_registry(env, vec![recorder()]);
    let by = authorities()[0];
    let dc = |id: &str, region: &str, country: &str, owner: &str| DataCentreInput {
        id: id.into(),
        region: region.into(),
        country: country.into(),
        owner: owner.into(),
        gps: None,
    };
    let bad_regions = ["Atlantis,PK,Lahore", "asia,PK,Lahore", "PK,PK,Lahore", "Eurasia,PK", "Asia ,PK", ",PK,Lahore", "Moon,PK"];
    let mut stable = Unchanged::new(env, registry);
    for region in bad_regions {
        let r: Result<DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (dc("x1", region, "PK", "Owner"),));
        h.expect_eq(&format!("region {region:?}"), r, Err(RegistryError::InvalidRegion { region: region.into(), country: "PK".into() }));
        stable.check(env, &mut h, &format!("region {region:?}"));
    }
    let unsafe_texts = [
        ("owner with a right-to-left override", dc("x2", "Asia,PK,Lahore", "PK", "Owner\u{202E}ltd"), "data_centre.owner"),
        ("owner of spaces", dc("x3", "Asia,PK,Lahore", "PK", "    "), "data_centre.owner"),
        ("owner of a zero-width space", dc("x4", "Asia,PK,Lahore", "PK", "\u{200B}"), "data_centre.owner"),
        ("region with a newline", dc("x5", "Asia,PK,La\nhore", "PK", "Owner"), "data_centre.region"),
    ];
    for (case, input, field) in unsafe_texts {
        let r: Result<DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (input,));
        h.expect_eq(case, r, Err(RegistryError::UnsafeText { field: field.into() }));
        stable.check(env, &mut h, case);
    }
    let bidi_provider = NodeProviderInput { id: provider(40), name: "PK \u{2067}Provider".into(), country: "PK".into() };
    let r: Result<NodeProvider, RegistryError> = update1(env, registry, by, "add_node_provider", (bidi_provider,));
    h.expect_eq("provider name with a bidi isolate", r, Err(RegistryError::UnsafeText { field: "node_provider.name".into() }));
    stable.check(env, &mut h, "provider name with a bidi isolate");
    // A long data-centre id (within the ingress bound) is refused without being echoed back.
    let long_id = "d".repeat(60_000);
    let n = NodeInput { id: node(40), provider: provider(0), data_centre: long_id, sev_chip_id: None };
    let r: Result<Node, RegistryError> = update1(env, registry, by, "add_node", (n,));
    h.expect_eq(
        "a 60,000-character data-centre id",
        r,
        Err(RegistryError::InvalidText { field: "node.data_centre".into(), length: 60_000, max: MAX_DATA_CENTRE_ID_LEN }),
    );
    stable.check(env, &mut h, "a 60,000-character data-centre id");
    let fine = [("Asia,PK,Islamabad", "PK"), ("North America,US,Ashburn", "US"), ("Europe,CH,Zürich", "CH"), ("Asia,PK,اسلام آباد", "PK")];
    for (i, (region, country)) in fine.into_iter().enumerate() {
        let id = format!("ok{i}");
        let r: Result<DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (dc(&id, region, country, "Owner"),));
        h.check(&format!("region {region:?} accepted"), r.is_ok(), &r);
    }
    h.finish();
}
scenario!(region_paths_and_names_are_checked);

// ---- 3e. paging ----

/// Every pager of the registry, asked with `limit = 0` and walked with `limit = 1`.
fn every_pager_honours_its_limit_and_advances(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "paging");
    let (registry, subnet) = live_pakistan_subnet(env, vec![recorder()]);
    for i in 0..3 {
        record(env, registry, recorder(), canister_like(i), subnet.id).unwrap();
    }
    let req = |start: u64, limit: u32| PageRequest { start: Some(start), limit: Some(limit) };
    type Pager = fn(&mut dyn Env, Principal, PageRequest) -> (usize, u64, Option<u64>);
    let pagers: [(&str, Pager); 7] = [
        ("list_data_centres", |env, r, page| {
            let p: DataCentrePage = query1(env, r, stranger(), "list_data_centres", (DataCentreQuery { country: None, page },));
            (p.items.len(), p.total, p.next_start)
        }),
        ("list_node_providers", |env, r, page| {
            let p: NodeProviderPage = query1(env, r, stranger(), "list_node_providers", (page,));
            (p.items.len(), p.total, p.next_start)
        }),
        ("list_nodes", |env, r, page| {
            let p: NodePage = query1(env, r, stranger(), "list_nodes", (NodeQuery { page, ..Default::default() },));
            (p.items.len(), p.total, p.next_start)
        }),
        ("list_subnets", |env, r, page| {
            let p: SubnetPage = query1(env, r, stranger(), "list_subnets", (SubnetQuery { page, ..Default::default() },));
            (p.items.len(), p.total, p.next_start)
        }),
        ("list_proposals", |env, r, page| {
            let p: ProposalPage = query1(env, r, stranger(), "list_proposals", (ProposalQuery { page, ..Default::default() },));
            (p.items.len(), p.total, p.next_start)
        }),
        ("list_placements", |env, r, page| {
            let p: PlacementPage = query1(env, r, stranger(), "list_placements", (PlacementQuery { page, ..Default::default() },));
            (p.items.len(), p.total, p.next_start)
        }),
        ("audit_log", |env, r, page| {
            let p: AuditPage = query1(env, r, stranger(), "audit_log", (page,));
            let next = (p.entries.len() as u64 > 0).then(|| p.entries.last().unwrap().index + 1).filter(|n| *n < p.total);
            (p.entries.len(), p.total, next)
        }),
    ];
    for (name, pager) in pagers {
        let (items, total, next) = pager(env, registry, req(0, 0));
        h.check(&format!("{name}: limit 0 returns no items"), items == 0, items);
        h.check(&format!("{name}: limit 0 returns no standing cursor"), next.is_none() || next > Some(0), next);
        let (items, _, next) = pager(env, registry, req(1, 0));
        h.check(&format!("{name}: limit 0 from 1: no items, no standing cursor"), items == 0 && (next.is_none() || next > Some(1)), (items, next));
        // Walking one at a time visits every record once and always advances.
        let (mut start, mut seen, mut steps) = (0u64, 0u64, 0u64);
        loop {
            let (items, _, next) = pager(env, registry, req(start, 1));
            seen += items as u64;
            steps += 1;
            match next {
                Some(n) if n > start && items <= 1 && steps <= total + 1 => start = n,
                Some(n) => {
                    h.check(&format!("{name}: cursor advances by at most the limit"), false, (start, n, items));
                    break;
                }
                None => break,
            }
        }
        h.expect_eq(&format!("{name}: limit 1 walks all {total}"), seen, total);
    }
    h.finish();
}
scenario!(every_pager_honours_its_limit_and_advances);

// ---- 3f. worst-case replies ----

/// A string of `n` four-byte characters (the most bytes per character).
fn wide(n: usize) -> String {
    "𝔸".repeat(n)
}

/// 50 allowed countries, none of them `PK`.
fn fifty_countries() -> Vec<String> {
    let codes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR";
    codes.split(' ').map(str::to_string).collect()
}

/// Countries for 64 data centres: neither PK nor any of `fifty_countries`.
fn other_countries() -> Vec<String> {
    let codes = "CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP";
    codes.split(' ').map(str::to_string).collect()
}

/// The largest policy: 64 nodes, 50 countries allowed, SEV required.
fn widest_policy() -> TopologyPolicy {
    TopologyPolicy {
        min_nodes: MAX_SUBNET_NODES,
        max_nodes: MAX_SUBNET_NODES,
        max_nodes_per_provider: 1,
        max_nodes_per_data_centre: 1,
        max_nodes_per_owner: 1,
        allowed_countries: fifty_countries(),
        sev_required: true,
    }
}

fn widest_create(subnet_id: Principal, members: Vec<Principal>) -> CreateSubnetArgs {
    CreateSubnetArgs {
        subnet_id,
        name: wide(MAX_NAME_LEN as usize),
        subnet_type: SubnetType::CloudEngine,
        jurisdiction: "PK".into(),
        members,
        policy: widest_policy(),
        admins: (0..MAX_SUBNET_ADMINS as u8).map(|i| long_principal(0xad, i)).collect(),
        cost_schedule: CostSchedule::Free,
    }
}

/// 64 data centres in 64 countries outside the policy, with the longest ids and owners, 64
/// providers, 64 nodes without SEV: every member breaks the widest policy twice.
fn worst_members(env: &mut dyn Env, registry: Principal) -> Vec<Principal> {
    let by = authorities()[0];
    let countries = other_countries();
    (0..MAX_SUBNET_NODES as u8)
        .map(|i| {
            let id = format!("{i:02}{}", "w".repeat(MAX_DATA_CENTRE_ID_LEN as usize - 2));
            let country = countries[i as usize].clone();
            let region = format!("Europe,{country},{}", wide(MAX_REGION_LEN as usize - 10));
            let owner = format!("{i:02}{}", wide(MAX_OWNER_LEN as usize - 2));
            let dc = DataCentreInput { id: id.clone(), region, country: country.clone(), owner, gps: Some(Gps { latitude: -89.9, longitude: 179.9 }) };
            let r: Result<DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (dc,));
            r.unwrap();
            let p = NodeProviderInput { id: long_principal(0x9e, i), name: wide(MAX_NAME_LEN as usize), country };
            let r: Result<NodeProvider, RegistryError> = update1(env, registry, by, "add_node_provider", (p,));
            r.unwrap();
            let n = NodeInput { id: long_principal(0x0d, i), provider: long_principal(0x9e, i), data_centre: id, sev_chip_id: None };
            let r: Result<Node, RegistryError> = update1(env, registry, by, "add_node", (n,));
            r.unwrap().id
        })
        .collect()
}

fn worst_case_replies_stay_under_the_ic_limit(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "worst_case_replies");
    // Two authorities, quorum 2: one rejection decides a proposal, so many can be made quickly.
    let registry = deploy(env, &wasm(CANISTER), (Some(args_with(|a| a.authorities.truncate(2))),));
    let [a0, a1, _] = authorities();
    let members = worst_members(env, registry);

    // The compliance report of the largest, most broken subnet.
    let worst_subnet = long_principal(0x5b, 0);
    let created = submit(env, registry, a0, ProposalChange::CreateSubnet(widest_create(worst_subnet, members.clone()))).unwrap();
    let executed = approve(env, registry, a1, created.id).unwrap();
    h.expect_eq("the widest subnet is created", executed.state, ProposalState::Executed);
    let bytes = env.query_raw(registry, stranger(), "compliance_report", encode_one(worst_subnet).unwrap()).expect("compliance_report answers");
    let report: Result<ComplianceReport, RegistryError> = candid::decode_one(&bytes).unwrap();
    let violations = report.as_ref().map_or(0, |r| r.violations.len());
    h.check("compliance report names 128 violations", violations == 2 * MAX_SUBNET_NODES as usize, violations);
    h.check("compliance report of 64 worst members stays under 2 MiB", bytes.len() < IC_REPLY_LIMIT, bytes.len());
    eprintln!("subnet_registry worst case: compliance_report of 64 worst members: {} bytes", bytes.len());

    // The most proposals the registry keeps, each of the largest kind: MAX_DECIDED_PROPOSALS
    // decided creations with every list at its limit and a summary of 1,000 four-byte
    // characters (each rejected, so its nodes are free for the next), then MAX_OPEN_PROPOSALS
    // open ones removing all 64 members of the worst subnet (removals claim no node).
    let free: Vec<Principal> = (0..MAX_SUBNET_NODES as u8)
        .map(|i| {
            let data_centre = format!("{i:02}{}", "w".repeat(MAX_DATA_CENTRE_ID_LEN as usize - 2));
            let n = NodeInput { id: long_principal(0x0e, i), provider: long_principal(0x9e, i), data_centre, sev_chip_id: Some(wide(MAX_SEV_CHIP_ID_LEN as usize)) };
            let r: Result<Node, RegistryError> = update1(env, registry, a0, "add_node", (n,));
            r.unwrap().id
        })
        .collect();
    let decided = MAX_DECIDED_PROPOSALS + 5;
    let mut biggest = 0;
    for i in 0..decided {
        let change = ProposalChange::CreateSubnet(widest_create(long_principal(0x5c, (i % 251) as u8), free.clone()));
        let p: Result<Proposal, RegistryError> = update1(env, registry, a0, "submit_proposal", (ProposalInput { summary: wide(MAX_SUMMARY_LEN as usize), change },));
        let p = p.unwrap();
        biggest = biggest.max(encode_one(&p).unwrap().len());
        reject(env, registry, a1, p.id).unwrap();
    }
    let opened = (0..MAX_OPEN_PROPOSALS)
        .filter(|_| {
            let change = ProposalChange::ChangeMembership { subnet_id: worst_subnet, add: vec![], remove: members.clone() };
            let p: Result<Proposal, RegistryError> = update1(env, registry, a0, "submit_proposal", (ProposalInput { summary: wide(MAX_SUMMARY_LEN as usize), change },));
            p.is_ok_and(|p| p.state == ProposalState::Open)
        })
        .count();
    h.expect_eq("open removals of all 64 members, up to the bound", opened, MAX_OPEN_PROPOSALS as usize);
    let kept = u64::from(MAX_DECIDED_PROPOSALS + MAX_OPEN_PROPOSALS);
    // Walking the pages returns each kept proposal once, every page under the limit (the
    // executor, like the IC, rejects a reply over 2 MiB).
    let (mut start, mut seen, mut pages) = (0u64, Vec::new(), 0);
    loop {
        let arg = encode_one(ProposalQuery { page: PageRequest { start: Some(start), limit: None }, ..Default::default() }).unwrap();
        let reply = env.query_raw(registry, stranger(), "list_proposals", arg);
        let case = format!("list_proposals page {pages} over {kept} proposals of up to {biggest} bytes: under 2 MiB");
        h.check(&case, reply.as_ref().is_ok_and(|b| b.len() < IC_REPLY_LIMIT), reply.as_ref().map(|b| b.len()));
        if pages == 0 {
            eprintln!("subnet_registry worst case: list_proposals first page {:?} bytes", reply.as_ref().map(|b| b.len()));
        }
        let Ok(bytes) = reply else { break };
        let page: ProposalPage = candid::decode_one(&bytes).unwrap();
        seen.extend(page.items.iter().map(|p| p.id));
        pages += 1;
        match page.next_start {
            Some(n) if n > start && pages < 1_000 => start = n,
            _ => break,
        }
    }
    // Ids 0 (the worst subnet's creation) to 5 were pruned; their history is in the audit log.
    let first_kept = u64::from(decided) + 1 - u64::from(MAX_DECIDED_PROPOSALS);
    h.expect_eq("the pages hold every kept proposal once", seen, (first_kept..first_kept + kept).collect::<Vec<_>>());
    h.check("more than one page was needed", pages > 1, pages);
    // A query scanning every kept proposal stays far under the IC's 5 billion instructions.
    if let Some(ex) = env.executor() {
        for (what, q) in [
            ("first page", ProposalQuery::default()),
            ("a filter matching none (scans all)", ProposalQuery { state: Some(ProposalState::Failed), ..Default::default() }),
        ] {
            let out = ex.query_with_stats(registry, stranger(), "list_proposals", encode_one(q).unwrap());
            eprintln!("subnet_registry worst case: list_proposals {what} over {kept} proposals: {} instructions", out.instructions);
            h.check(&format!("list_proposals {what} over {kept} proposals: under 5B instructions"), out.result.is_ok() && out.instructions < QUERY_INSTRUCTION_LIMIT, out.instructions);
        }
        // Other scans, per record, extrapolated to their table bounds.
        let nodes = 2 * MAX_SUBNET_NODES as u64;
        let out = ex.query_with_stats(registry, stranger(), "list_nodes", encode_one(NodeQuery { provider: Some(stranger()), ..Default::default() }).unwrap());
        let at_bound = out.instructions / nodes * u64::from(MAX_NODES);
        eprintln!("subnet_registry worst case: list_nodes scan {} instructions for {nodes} nodes, {at_bound} at {MAX_NODES}", out.instructions);
        h.check(&format!("list_nodes scan of {nodes} longest nodes, extrapolated to {MAX_NODES}: under 5B"), at_bound < QUERY_INSTRUCTION_LIMIT, at_bound);
        let dcs = MAX_SUBNET_NODES as u64;
        let out = ex.query_with_stats(registry, stranger(), "list_data_centres", encode_one(DataCentreQuery { country: Some("ZW".into()), ..Default::default() }).unwrap());
        let at_bound = out.instructions / dcs * u64::from(MAX_DATA_CENTRES);
        eprintln!("subnet_registry worst case: list_data_centres scan {} instructions for {dcs}, {at_bound} at {MAX_DATA_CENTRES}", out.instructions);
        h.check(&format!("list_data_centres scan of {dcs} longest data centres, extrapolated to {MAX_DATA_CENTRES}: under 5B"), at_bound < QUERY_INSTRUCTION_LIMIT, at_bound);
    }

    // The other lists at their largest records.
    for (method, arg) in [
        ("list_subnets", encode_one(SubnetQuery::default()).unwrap()),
        ("list_nodes", encode_one(NodeQuery::default()).unwrap()),
        ("list_data_centres", encode_one(DataCentreQuery::default()).unwrap()),
        ("list_node_providers", encode_one(PageRequest::default()).unwrap()),
        ("audit_log", encode_one(PageRequest::default()).unwrap()),
    ] {
        let reply = env.query_raw(registry, stranger(), method, arg);
        h.check(&format!("{method} under 2 MiB"), reply.as_ref().is_ok_and(|b| b.len() < IC_REPLY_LIMIT), reply.map(|b| b.len()));
    }
    h.finish();
}
scenario!(worst_case_replies_stay_under_the_ic_limit);

// ---- 5. ingress screening and bounded decoding ----

/// A well-formed argument whose type table carries `extra` unused entries (`record {}`).
fn padded_principal_arg(p: Principal, extra: usize) -> Vec<u8> {
    let mut bytes = b"DIDL".to_vec();
    leb128(&mut bytes, extra as u64);
    for _ in 0..extra {
        bytes.extend_from_slice(&[0x6c, 0x00]);
    }
    bytes.extend_from_slice(&[0x01, 0x68, 0x01]);
    leb128(&mut bytes, p.as_slice().len() as u64);
    bytes.extend_from_slice(p.as_slice());
    bytes
}

fn leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn ingress_is_screened_and_decoding_bounded(env: &mut dyn Env) {
    let mut h = Hostile::new(CANISTER, "ingress_and_decoding");
    let (registry, subnet) = live_pakistan_subnet(env, vec![recorder()]);
    let anon = Principal::anonymous();
    let privileged: [(&str, Vec<u8>); 13] = [
        ("add_data_centre", encode_one(DataCentreInput { id: "a1".into(), region: "Asia,PK,X".into(), country: "PK".into(), owner: "o".into(), gps: None }).unwrap()),
        ("update_data_centre", encode_one(DataCentreInput { id: "isb1".into(), region: "Asia,PK,X".into(), country: "PK".into(), owner: "o".into(), gps: None }).unwrap()),
        ("remove_data_centre", encode_one("isb1").unwrap()),
        ("add_node_provider", encode_one(NodeProviderInput { id: provider(50), name: "n".into(), country: "PK".into() }).unwrap()),
        ("update_node_provider", encode_one(NodeProviderInput { id: provider(0), name: "n".into(), country: "PK".into() }).unwrap()),
        ("remove_node_provider", encode_one(provider(0)).unwrap()),
        ("add_node", encode_one(NodeInput { id: node(50), provider: provider(0), data_centre: "isb1".into(), sev_chip_id: None }).unwrap()),
        ("update_node", encode_one(NodeInput { id: node(0), provider: provider(0), data_centre: "isb1".into(), sev_chip_id: None }).unwrap()),
        ("remove_node", encode_one(node(0)).unwrap()),
        ("submit_proposal", encode_one(ProposalInput { summary: "s".into(), change: ProposalChange::AddAuthority { authority: stranger() } }).unwrap()),
        ("approve_proposal", encode_one(0u64).unwrap()),
        ("reject_proposal", encode_one(0u64).unwrap()),
        ("record_placement", encode_args((canister_like(1), subnet.id)).unwrap()),
    ];
    let mut stable = Unchanged::new(env, registry);
    for (method, arg) in privileged {
        let r = env.update_raw(registry, anon, method, arg);
        h.check(&format!("anonymous {method}: rejected before it runs"), screened(env, &r, "anonymous"), &r);
        stable.check(env, &mut h, &format!("anonymous {method}"));
    }
    // Anyone may still read, by query or by update call.
    let read = env.update_raw(registry, anon, "get_subnet", encode_one(subnet.id).unwrap());
    h.check("anonymous read by update call is accepted", read.is_ok(), read.as_ref().map(|b| b.len()));
    // Oversized arguments are refused at the door, whoever sends them.
    let huge = ProposalInput { summary: "x".repeat(100_000), change: ProposalChange::AddAuthority { authority: stranger() } };
    let r = env.update_raw(registry, authorities()[0], "submit_proposal", encode_one(huge).unwrap());
    h.check("a 100 kB proposal is rejected before it runs", screened(env, &r, "bytes refused"), &r);
    stable.check(env, &mut h, "oversized");

    // A type table of 600 unused entries: the bounded decoder refuses it, query and update alike.
    let padded = padded_principal_arg(subnet.id, 600);
    let q = env.query_raw(registry, stranger(), "get_subnet", padded.clone());
    h.check("query with a 600-entry type table is refused", q.is_err(), q.as_ref().map(|b| b.len()));
    let sane = env.query_raw(registry, stranger(), "get_subnet", padded_principal_arg(subnet.id, 3));
    h.check("the same argument with 3 spare types decodes", sane.is_ok(), &sane);
    let mut arg = b"DIDL".to_vec();
    leb128(&mut arg, 600);
    for _ in 0..600 {
        arg.extend_from_slice(&[0x6c, 0x00]);
    }
    arg.extend_from_slice(&[0x02, 0x68, 0x68]);
    for p in [canister_like(9), subnet.id] {
        arg.push(0x01);
        leb128(&mut arg, p.as_slice().len() as u64);
        arg.extend_from_slice(p.as_slice());
    }
    let u = env.update_raw(registry, recorder(), "record_placement", arg);
    h.check("record_placement with a 600-entry type table is refused", u.is_err(), u.as_ref().map(|b| b.len()));
    stable.check(env, &mut h, "refused decoding");
    let placed: Option<Placement> = query1(env, registry, stranger(), "placement_of", (canister_like(9),));
    h.expect_eq("nothing placed", placed, None);
    // The decoding is still the typed one: a reply to a well-formed call decodes.
    let ok: Result<(Option<Reserved>,), Reject> = try_query(env, registry, stranger(), "get_subnet", (subnet.id,));
    h.check("ordinary query still answers", ok.is_ok(), ok.is_ok());
    h.finish();
}
scenario!(ingress_is_screened_and_decoding_bounded);
