//! `subnet_registry`'s indexed queries on the real wasm: every page of `list_placements` (all and
//! by subnet), `list_nodes` by subnet, `list_subnets` and `list_proposals` (all and open), walked
//! with several limits, equals the same slice of a full listing, with the same total; and an
//! upgrade from the v0.1.0 and v0.2.0 releases builds the indexes from their records.
//! On the executor it also prints the instructions of the paged queries and of
//! `record_placement` (the benchmark, `tests/bench`, measures them at scale).

use interfaces::audit::PageRequest;
use interfaces::subnet_registry::*;
use suite_tests::scenarios::subnet_registry::{approve, authorities, init_args, pass, set_status, submit};
use suite_tests::*;
use candid::encode_one;

/// The placement recorder (the license issuer, as far as the registry knows).
const RECORDER: Principal = Principal::from_slice(&[0x5a, 0x11, 0xce]);
const SUBNETS: u8 = 3;
const NODES_PER_SUBNET: u8 = 4;

fn subnet_id(s: u8) -> Principal {
    Principal::from_slice(&[0x5b, 0x5b, s])
}

fn node_id(n: u8) -> Principal {
    Principal::from_slice(&[0x5b, 0x0d, n])
}

/// App canister `i`: a canister id (10 bytes ending in 0x01).
fn app(i: u16) -> Principal {
    let [hi, lo] = i.to_be_bytes();
    Principal::from_slice(&[0, 0, 0, 0, 0, 0x5b, hi, lo, 0x01, 0x01])
}

fn req(start: u64, limit: u32) -> PageRequest {
    PageRequest { start: Some(start), limit: Some(limit) }
}

/// Node `n` with its own data centre and provider (so any grouping of them is compliant).
fn add_node(env: &mut dyn Env, registry: Principal, n: u8) {
    let by = authorities()[0];
    let dc = DataCentreInput {
        id: format!("pg{n:03}"),
        region: format!("Asia,PK,City{n:03}"),
        country: "PK".into(),
        owner: format!("Owner {n:03}"),
        gps: None,
    };
    let r: Result<DataCentre, RegistryError> = update1(env, registry, by, "add_data_centre", (dc,));
    r.unwrap();
    let provider = Principal::from_slice(&[0x5b, 0x9e, n]);
    let p = NodeProviderInput { id: provider, name: format!("Provider {n:03}"), country: "PK".into() };
    let r: Result<NodeProvider, RegistryError> = update1(env, registry, by, "add_node_provider", (p,));
    r.unwrap();
    let input = NodeInput { id: node_id(n), provider, data_centre: format!("pg{n:03}"), sev_chip_id: Some(format!("sev-{n}")) };
    let r: Result<Node, RegistryError> = update1(env, registry, by, "add_node", (input,));
    r.unwrap();
}

/// Subnets 0..SUBNETS live with NODES_PER_SUBNET nodes each, two free nodes, an open proposal
/// and `apps` placements spread over the subnets.
fn load(env: &mut dyn Env, registry: Principal, apps: u16) {
    for n in 0..SUBNETS * NODES_PER_SUBNET + 2 {
        add_node(env, registry, n);
    }
    for s in 0..SUBNETS {
        let per = u32::from(NODES_PER_SUBNET);
        let create = CreateSubnetArgs {
            subnet_id: subnet_id(s),
            name: format!("Paging subnet {s}"),
            subnet_type: SubnetType::CloudEngine,
            jurisdiction: "PK".into(),
            members: (s * NODES_PER_SUBNET..(s + 1) * NODES_PER_SUBNET).map(node_id).collect(),
            policy: TopologyPolicy { min_nodes: per, max_nodes: per, ..TopologyPolicy::sovereign() },
            admins: vec![authorities()[0]],
            cost_schedule: CostSchedule::Normal,
        };
        let p = pass(env, registry, ProposalChange::CreateSubnet(create));
        assert_eq!(p.state, ProposalState::Executed, "{:?}", p.execution_error);
        set_status(env, registry, subnet_id(s), SubnetStatus::Provisioning);
        set_status(env, registry, subnet_id(s), SubnetStatus::Live);
    }
    // One proposal left open (suspending subnet 0), so the open filter has something to find.
    let open = submit(env, registry, authorities()[0], ProposalChange::ChangeStatus { subnet_id: subnet_id(0), status: SubnetStatus::Suspended }).unwrap();
    assert_eq!(open.state, ProposalState::Open);
    place(env, registry, 0..apps);
}

fn place(env: &mut dyn Env, registry: Principal, apps: std::ops::Range<u16>) {
    for i in apps {
        // Not round-robin in canister order, so each subnet's canisters interleave with the others'.
        let s = ((i as u32 * 7 + i as u32 / 5) % u32::from(SUBNETS)) as u8;
        let r: Result<Placement, RegistryError> = update1(env, registry, RECORDER, "record_placement", (app(i), subnet_id(s)));
        r.unwrap_or_else(|e| panic!("record_placement {i}: {e:?}"));
    }
}

/// Walks a pager from 0 with `limit`: every page's total equals `full.len()`, its items the
/// same slice of `full`, and `next_start` advances by the page's length until the end.
fn walk<T: PartialEq + std::fmt::Debug>(what: &str, full: &[T], limit: u32, mut pager: impl FnMut(PageRequest) -> (Vec<T>, u64, Option<u64>)) {
    let mut start = 0u64;
    let mut seen = 0usize;
    loop {
        let (items, total, next) = pager(req(start, limit));
        assert_eq!(total, full.len() as u64, "{what}: total at start {start}, limit {limit}");
        assert!(items.len() <= limit as usize, "{what}: page longer than its limit");
        let end = (start as usize + items.len()).min(full.len());
        assert_eq!(&items[..], &full[start as usize..end], "{what}: page at {start}, limit {limit}");
        seen += items.len();
        match next {
            Some(n) => {
                assert_eq!(n, start + items.len() as u64, "{what}: next_start");
                assert!(n > start, "{what}: standing cursor");
                start = n;
            }
            None => break,
        }
    }
    assert_eq!(seen, full.len(), "{what}: pages at limit {limit} cover the listing once");
    // Past the end: nothing, the same total, no cursor; limit 0: the total only.
    let (items, total, next) = pager(req(full.len() as u64 + 3, limit));
    assert!(items.is_empty() && total == full.len() as u64 && next.is_none(), "{what}: past the end");
    let (items, total, next) = pager(req(0, 0));
    assert!(items.is_empty() && total == full.len() as u64 && next.is_none(), "{what}: limit 0");
}

fn placements(env: &mut dyn Env, registry: Principal, subnet_id: Option<Principal>, page: PageRequest) -> (Vec<Placement>, u64, Option<u64>) {
    let p: PlacementPage = query1(env, registry, Principal::anonymous(), "list_placements", (PlacementQuery { subnet_id, page },));
    (p.items, p.total, p.next_start)
}

fn nodes(env: &mut dyn Env, registry: Principal, query: NodeQuery) -> (Vec<Node>, u64, Option<u64>) {
    let p: NodePage = query1(env, registry, Principal::anonymous(), "list_nodes", (query,));
    (p.items, p.total, p.next_start)
}

fn subnets(env: &mut dyn Env, registry: Principal, status: Option<SubnetStatus>, page: PageRequest) -> (Vec<Subnet>, u64, Option<u64>) {
    let p: SubnetPage = query1(env, registry, Principal::anonymous(), "list_subnets", (SubnetQuery { status, jurisdiction: None, page },));
    (p.items, p.total, p.next_start)
}

fn proposals(env: &mut dyn Env, registry: Principal, state: Option<ProposalState>, page: PageRequest) -> (Vec<Proposal>, u64, Option<u64>) {
    let p: ProposalPage = query1(env, registry, Principal::anonymous(), "list_proposals", (ProposalQuery { state, subnet_id: None, page },));
    (p.items, p.total, p.next_start)
}

/// Everything `pager` returns with the largest page, following `next_start`.
fn all<T>(mut pager: impl FnMut(PageRequest) -> (Vec<T>, u64, Option<u64>)) -> Vec<T> {
    let (mut out, mut start) = (Vec::new(), 0);
    loop {
        let (items, _, next) = pager(req(start, 500));
        out.extend(items);
        match next {
            Some(n) => start = n,
            None => return out,
        }
    }
}

/// Every indexed query, paged with several limits, against full listings: the unfiltered
/// listings (one subnet's placements and nodes, the open proposals and a status's subnets
/// filtered from them), and each placement as `placement_of` reads it.
fn check_pages_against_full_listings(env: &mut dyn Env, registry: Principal, apps: u16) {
    let full = all(|r| placements(env, registry, None, r));
    assert_eq!(full.len(), usize::from(apps));
    assert!(full.windows(2).all(|w| w[0].canister < w[1].canister), "placements in canister order");
    for p in &full {
        let one: Option<Placement> = query1(env, registry, Principal::anonymous(), "placement_of", (p.canister,));
        assert_eq!(one.as_ref(), Some(p));
    }
    let all_nodes = all(|r| nodes(env, registry, NodeQuery { page: r, ..Default::default() }));
    for limit in [1, 7, 50, 500] {
        walk("list_placements (all)", &full, limit, |r| placements(env, registry, None, r));
        for s in 0..SUBNETS + 1 {
            let of_s: Vec<Placement> = full.iter().filter(|p| p.subnet_id == subnet_id(s)).cloned().collect();
            assert_eq!(of_s.is_empty(), s == SUBNETS);
            walk(&format!("list_placements (subnet {s})"), &of_s, limit, |r| placements(env, registry, Some(subnet_id(s)), r));
            let members: Vec<Node> = all_nodes.iter().filter(|n| n.subnet_id == Some(subnet_id(s))).cloned().collect();
            walk(&format!("list_nodes (subnet {s})"), &members, limit, |r| {
                nodes(env, registry, NodeQuery { subnet_id: Some(subnet_id(s)), page: r, ..Default::default() })
            });
        }
        let all_subnets = all(|r| subnets(env, registry, None, r));
        assert_eq!(all_subnets.len(), usize::from(SUBNETS));
        walk("list_subnets", &all_subnets, limit, |r| subnets(env, registry, None, r));
        let live: Vec<Subnet> = all_subnets.iter().filter(|s| s.status == SubnetStatus::Live).cloned().collect();
        walk("list_subnets (live)", &live, limit, |r| subnets(env, registry, Some(SubnetStatus::Live), r));
        let all_proposals = all(|r| proposals(env, registry, None, r));
        walk("list_proposals", &all_proposals, limit, |r| proposals(env, registry, None, r));
        let open: Vec<Proposal> = all_proposals.iter().filter(|p| p.state == ProposalState::Open).cloned().collect();
        assert_eq!(open.len(), 1);
        walk("list_proposals (open)", &open, limit, |r| proposals(env, registry, Some(ProposalState::Open), r));
    }
}

fn indexed_pages_equal_full_listings(env: &mut dyn Env) {
    let registry = deploy(env, &wasm("subnet_registry"), (Some(init_args(vec![RECORDER], None)),));
    let apps = 150;
    load(env, registry, apps);
    check_pages_against_full_listings(env, registry, apps);
    // A node leaving a subnet and another joining it move in the index too.
    let change = ProposalChange::ChangeMembership { subnet_id: subnet_id(1), add: vec![node_id(SUBNETS * NODES_PER_SUBNET)], remove: vec![node_id(4)] };
    let p = pass(env, registry, change);
    assert_eq!(p.state, ProposalState::Executed, "{:?}", p.execution_error);
    check_pages_against_full_listings(env, registry, apps);
    if let Some(ex) = env.executor() {
        let q = |ex: &mut ic_executor::Executor, method: &str, arg: Vec<u8>| ex.query_with_stats(registry, Principal::anonymous(), method, arg).instructions;
        let page50 = req(0, 50);
        let figures = [
            ("list_placements (one subnet, page of 50)", q(ex, "list_placements", encode_one(PlacementQuery { subnet_id: Some(subnet_id(1)), page: page50.clone() }).unwrap())),
            ("list_placements (all, page of 50)", q(ex, "list_placements", encode_one(PlacementQuery { subnet_id: None, page: page50.clone() }).unwrap())),
            ("list_nodes (one subnet)", q(ex, "list_nodes", encode_one(NodeQuery { subnet_id: Some(subnet_id(1)), page: page50.clone(), ..Default::default() }).unwrap())),
            ("list_subnets (page of 50)", q(ex, "list_subnets", encode_one(SubnetQuery { page: page50.clone(), ..Default::default() }).unwrap())),
            ("list_proposals (page of 50)", q(ex, "list_proposals", encode_one(ProposalQuery { page: page50.clone(), ..Default::default() }).unwrap())),
        ];
        for (what, instructions) in figures {
            eprintln!("subnet_registry paging: {what}: {instructions} instructions");
        }
        // Mean of 8 calls (a B-tree insert splits a node now and then), as the benchmark takes it.
        let mut sum = 0;
        for i in 0..8 {
            let out = ex.update_with_stats(registry, RECORDER, "record_placement", candid::encode_args((app(apps + i), subnet_id(2))).unwrap());
            assert!(out.result.is_ok());
            sum += out.instructions;
        }
        eprintln!("subnet_registry paging: record_placement (mean of 8): {} instructions", sum / 8);
        for line in ex.take_logs(registry) {
            eprintln!("  {line}");
        }
    }
}
scenario!(indexed_pages_equal_full_listings);

/// A registry of an earlier release with subnets, nodes, proposals and placements, upgraded to
/// this one: its listings are unchanged, the indexes are built (pages equal full listings), the
/// schema is 3, and new placements are counted on top of the migrated ones.
fn upgrade_builds_the_indexes(env: &mut dyn Env, release: &str) {
    let old = with_wasm_dir(release_dir(release), || wasm("subnet_registry"));
    let registry = deploy(env, &old, (Some(init_args(vec![RECORDER], None)),));
    let apps = 120;
    load(env, registry, apps);
    let before_placements = all(|r| placements(env, registry, None, r));
    let before_nodes = all(|r| nodes(env, registry, NodeQuery { page: r, ..Default::default() }));
    let before_subnets = all(|r| subnets(env, registry, None, r));
    let before_proposals = all(|r| proposals(env, registry, None, r));
    env.upgrade(registry, &wasm("subnet_registry"), encode_one(None::<InitArgs>).unwrap()).expect("upgrade");
    let migrating = post_upgrade_instructions(env, registry);
    let config: Config = query1(env, registry, Principal::anonymous(), "config", ());
    assert_eq!(config.schema_version, 3);
    env.tick();
    assert_eq!(all(|r| placements(env, registry, None, r)), before_placements);
    assert_eq!(all(|r| nodes(env, registry, NodeQuery { page: r, ..Default::default() })), before_nodes);
    assert_eq!(all(|r| subnets(env, registry, None, r)), before_subnets);
    assert_eq!(all(|r| proposals(env, registry, None, r)), before_proposals);
    check_pages_against_full_listings(env, registry, apps);
    // The same wasm again: nothing left to migrate. The difference is what the migration cost.
    env.upgrade(registry, &wasm("subnet_registry"), encode_one(None::<InitArgs>).unwrap()).expect("upgrade");
    if let (Some(migrating), Some(plain)) = (migrating, post_upgrade_instructions(env, registry)) {
        // Subnets, every node and every placement: one record each.
        let records = u64::from(SUBNETS) + u64::from(SUBNETS * NODES_PER_SUBNET + 2) + u64::from(apps);
        eprintln!(
            "subnet_registry paging: upgrade from {release} with {records} records to migrate: {migrating} instructions; again (nothing to migrate): {plain}; {} a record",
            migrating.saturating_sub(plain) / records
        );
    }
    place(env, registry, apps..apps + 30);
    check_pages_against_full_listings(env, registry, apps + 30);
    // Approving the open proposal decides it (the open filter then finds none) and suspends subnet 0.
    let open = proposals(env, registry, Some(ProposalState::Open), req(0, 10)).0;
    let decided = approve(env, registry, authorities()[1], open[0].id).unwrap();
    assert_eq!(decided.state, ProposalState::Executed);
    assert_eq!(proposals(env, registry, Some(ProposalState::Open), req(0, 10)).1, 0);
    let live = subnets(env, registry, Some(SubnetStatus::Live), req(0, 10));
    assert_eq!(live.1, u64::from(SUBNETS) - 1);
    let refused: Result<Placement, RegistryError> = update1(env, registry, RECORDER, "record_placement", (app(999), subnet_id(0)));
    assert_eq!(refused, Err(RegistryError::SubnetNotLive { subnet_id: subnet_id(0), status: SubnetStatus::Suspended }));
}

/// Instructions of the registry's last `post_upgrade` (executor only).
fn post_upgrade_instructions(env: &mut dyn Env, registry: Principal) -> Option<u64> {
    let ex = env.executor()?;
    ex.executions().iter().rev().find(|e| e.canister == registry && e.method == "PostUpgrade").map(|e| e.instructions)
}

fn upgrade_from_v0_2_0_builds_the_indexes(env: &mut dyn Env) {
    upgrade_builds_the_indexes(env, "v0.2.0");
}
scenario!(upgrade_from_v0_2_0_builds_the_indexes);

fn upgrade_from_v0_1_0_builds_the_indexes(env: &mut dyn Env) {
    upgrade_builds_the_indexes(env, "v0.1.0");
}
scenario!(upgrade_from_v0_1_0_builds_the_indexes);
