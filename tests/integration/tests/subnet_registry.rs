//! `subnet_registry` on its real wasm (out/subnet_registry.wasm): the Pakistan subnet from
//! nothing, the policy refusing what would not be sovereign, governance needing the quorum,
//! placements, and an upgrade keeping all of it.

use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::subnet_registry::*;
use suite_tests::scenarios::subnet_registry::*;
use suite_tests::*;

/// The license issuer, as far as the registry knows it: a placement recorder.
const RECORDER: Principal = Principal::from_slice(&[0x5a, 0x11, 0xce]);
const STRANGER: Principal = Principal::from_slice(&[0x5a, 0xff, 0x01]);
/// An app canister's id (canister ids are 10 bytes ending in 0x01).
const APP: Principal = Principal::from_slice(&[0, 0, 0, 0, 0, 0x5a, 0xa9, 0x01, 0x01, 0x01]);

fn report(env: &mut dyn Env, registry: Principal, subnet_id: Principal) -> ComplianceReport {
    let r: Result<ComplianceReport, RegistryError> = query1(env, registry, Principal::anonymous(), "compliance_report", (subnet_id,));
    r.unwrap_or_else(|e| panic!("compliance_report: {e:?}"))
}

fn status(env: &mut dyn Env, registry: Principal, subnet_id: Principal) -> Result<SubnetStatus, RegistryError> {
    query1(env, registry, STRANGER, "subnet_status", (subnet_id,))
}

fn audit_total(env: &mut dyn Env, registry: Principal) -> u64 {
    let page: AuditPage = query1(env, registry, STRANGER, "audit_log", (PageRequest { start: None, limit: Some(1) },));
    page.total
}

fn record_placement(env: &mut dyn Env, registry: Principal, by: Principal, canister: Principal, subnet_id: Principal) -> Result<Placement, RegistryError> {
    update1(env, registry, by, "record_placement", (canister, subnet_id))
}

fn update_node(env: &mut dyn Env, registry: Principal, input: NodeInput) -> Result<Node, RegistryError> {
    update1(env, registry, authorities()[0], "update_node", (input,))
}

/// From nothing to a live, compliant Pakistan subnet; then one authority alone cannot execute,
/// a membership change breaking it is refused, placements, and an upgrade keeping everything.
fn pakistan_subnet_lifecycle(env: &mut dyn Env) {
    let registry = deploy_registry(env, vec![RECORDER]);
    add_pakistan_records(env, registry);

    // One authority cannot execute alone: after submission the subnet is only Proposed.
    let create = submit(env, registry, authorities()[0], ProposalChange::CreateSubnet(pakistan_create_args())).unwrap();
    assert_eq!(create.state, ProposalState::Open);
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Proposed));
    assert_eq!(
        approve(env, registry, authorities()[0], create.id),
        Err(RegistryError::AlreadyVoted { id: create.id, authority: authorities()[0] })
    );
    assert_eq!(
        approve(env, registry, STRANGER, create.id),
        Err(RegistryError::NotAuthorized { caller: STRANGER, required: "registry authority".into() })
    );
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Proposed));

    // The second authority makes the quorum: Approved, nodes assigned.
    let executed = approve(env, registry, authorities()[1], create.id).unwrap();
    assert_eq!(executed.state, ProposalState::Executed, "{:?}", executed.execution_error);
    assert_eq!(executed.approvals.iter().map(|v| v.authority).collect::<Vec<_>>(), authorities()[..2].to_vec());
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Approved));

    // Placement on a subnet that is not live is refused.
    assert_eq!(
        record_placement(env, registry, RECORDER, APP, PAKISTAN_SUBNET),
        Err(RegistryError::SubnetNotLive { subnet_id: PAKISTAN_SUBNET, status: SubnetStatus::Approved })
    );

    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Provisioning);
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Live);
    let subnet = get_subnet(env, registry, PAKISTAN_SUBNET).unwrap();
    assert_eq!(subnet.status, SubnetStatus::Live);
    assert!(subnet.live_since_ns.is_some() && subnet.approved_at_ns.is_some() && subnet.provisioning_since_ns.is_some());
    assert_eq!(subnet.members.len(), 13);

    let clean = report(env, registry, PAKISTAN_SUBNET);
    assert!(clean.compliant, "{:?}", clean.violations);
    assert_eq!(clean.violations, vec![]);
    assert!(clean.residency.all_resident);
    assert_eq!(clean.residency.resident_nodes, 13);
    assert_eq!((clean.by_provider.len(), clean.by_data_centre.len(), clean.by_owner.len()), (13, 13, 13));
    assert_eq!(clean.by_country, vec![NamedCount { name: "PK".into(), nodes: 13 }]);
    assert_eq!(clean.sev, SevCoverage { nodes_with_sev: 13, members: 13, required: true });

    // A membership change that would break the live subnet is refused, naming the violation,
    // and changes nothing.
    let audit_before = audit_total(env, registry);
    assert_eq!(
        submit(env, registry, authorities()[0], ProposalChange::ChangeMembership { subnet_id: PAKISTAN_SUBNET, add: vec![], remove: vec![node(4)] }),
        Err(RegistryError::PolicyViolated {
            subnet_id: PAKISTAN_SUBNET,
            violations: vec![PolicyViolation::TooFewNodes { members: 12, min_nodes: 13 }]
        })
    );
    // So is a record update that would take a member's SEV chip away.
    assert_eq!(
        update_node(env, registry, NodeInput { id: node(5), provider: provider(5), data_centre: PK_CITIES[5].0.into(), sev_chip_id: None }),
        Err(RegistryError::PolicyViolated { subnet_id: PAKISTAN_SUBNET, violations: vec![PolicyViolation::NodeWithoutSev { node_id: node(5) }] })
    );
    assert_eq!(audit_total(env, registry), audit_before);
    assert!(report(env, registry, PAKISTAN_SUBNET).compliant);

    // Lifecycle refusals name current and requested status.
    assert_eq!(
        submit(env, registry, authorities()[0], ProposalChange::ChangeStatus { subnet_id: PAKISTAN_SUBNET, status: SubnetStatus::Decommissioned }),
        Err(RegistryError::InvalidTransition { subnet_id: PAKISTAN_SUBNET, from: SubnetStatus::Live, to: SubnetStatus::Decommissioned })
    );

    // Placements: recorder allowed (idempotently), others refused, anyone can look up.
    let placed = record_placement(env, registry, RECORDER, APP, PAKISTAN_SUBNET).unwrap();
    assert_eq!((placed.canister, placed.subnet_id, placed.recorded_by), (APP, PAKISTAN_SUBNET, RECORDER));
    assert_eq!(record_placement(env, registry, RECORDER, APP, PAKISTAN_SUBNET), Ok(placed.clone()));
    assert_eq!(
        record_placement(env, registry, STRANGER, Principal::from_slice(&[0, 0, 0, 0, 0, 0x5a, 0xa9, 0x02, 0x01, 0x01]), PAKISTAN_SUBNET),
        Err(RegistryError::NotAuthorized { caller: STRANGER, required: "placement recorder".into() })
    );
    // An anonymous caller does not get that far: ingress screening rejects it.
    let anonymous: Result<(Result<Placement, RegistryError>,), Reject> =
        try_update(env, registry, Principal::anonymous(), "record_placement", (APP, PAKISTAN_SUBNET));
    assert!(anonymous.as_ref().is_err_and(|r| env.backend() != "executor" || r.message.contains("anonymous")), "{anonymous:?}");
    let looked_up: Option<Placement> = query1(env, registry, Principal::anonymous(), "placement_of", (APP,));
    assert_eq!(looked_up, Some(placed.clone()));
    let unknown: Option<Placement> = query1(env, registry, Principal::anonymous(), "placement_of", (STRANGER,));
    assert_eq!(unknown, None);

    // Upgrade with the same wasm keeps everything; the audit chain still verifies.
    let audit_len = audit_total(env, registry);
    let proposals_before: ProposalPage = query1(env, registry, STRANGER, "list_proposals", (ProposalQuery::default(),));
    env.upgrade(registry, &wasm("subnet_registry"), candid::encode_one(None::<InitArgs>).unwrap()).unwrap();
    assert_eq!(get_subnet(env, registry, PAKISTAN_SUBNET), Some(subnet));
    assert_eq!(report(env, registry, PAKISTAN_SUBNET).violations, vec![]);
    let after: Option<Placement> = query1(env, registry, Principal::anonymous(), "placement_of", (APP,));
    assert_eq!(after, Some(placed));
    let proposals_after: ProposalPage = query1(env, registry, STRANGER, "list_proposals", (ProposalQuery::default(),));
    assert_eq!(proposals_after, proposals_before);
    assert_eq!(proposals_after.total, 3);
    let config: Config = query1(env, registry, STRANGER, "config", ());
    assert_eq!((config.authorities, config.quorum, config.placement_recorders), (authorities().to_vec(), 2, vec![RECORDER]));
    assert_eq!(audit_total(env, registry), audit_len);
    let check: ChainCheck = query1(env, registry, STRANGER, "verify_audit_log", (0u64, 10_000u64));
    assert_eq!(check, ChainCheck::Valid { checked: audit_len });
    // Still writable after the upgrade.
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Suspended);
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Suspended));
}
scenario!(pakistan_subnet_lifecycle);

/// Two nodes sharing a provider: the subnet is created and provisioned, but cannot go live;
/// the refusal and the compliance report name the provider.
fn shared_provider_cannot_go_live(env: &mut dyn Env) {
    let registry = deploy_registry(env, vec![RECORDER]);
    add_pakistan_records(env, registry);
    update_node(env, registry, NodeInput { id: node(1), provider: provider(0), data_centre: PK_CITIES[1].0.into(), sev_chip_id: Some("sev".into()) })
        .unwrap();
    assert_eq!(pass(env, registry, ProposalChange::CreateSubnet(pakistan_create_args())).state, ProposalState::Executed);
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Provisioning);
    let violation = PolicyViolation::ProviderOverLimit { provider: provider(0), nodes: 2, max: 1 };
    assert_eq!(
        submit(env, registry, authorities()[0], ProposalChange::ChangeStatus { subnet_id: PAKISTAN_SUBNET, status: SubnetStatus::Live }),
        Err(RegistryError::PolicyViolated { subnet_id: PAKISTAN_SUBNET, violations: vec![violation.clone()] })
    );
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Provisioning));
    let r = report(env, registry, PAKISTAN_SUBNET);
    assert!(!r.compliant);
    assert_eq!(r.violations, vec![violation]);
    assert_eq!(r.by_provider.iter().find(|c| c.provider == provider(0)).map(|c| c.nodes), Some(2));
    // Not live, so no placement.
    assert_eq!(
        record_placement(env, registry, RECORDER, APP, PAKISTAN_SUBNET),
        Err(RegistryError::SubnetNotLive { subnet_id: PAKISTAN_SUBNET, status: SubnetStatus::Provisioning })
    );
}
scenario!(shared_provider_cannot_go_live);

/// A node in a data centre in another country breaks residency; going live is refused.
fn node_in_another_country(env: &mut dyn Env) {
    let registry = deploy_registry(env, vec![]);
    add_pakistan_records(env, registry);
    let dubai = DataCentreInput { id: "dxb1".into(), region: "Asia,AE,Dubai".into(), country: "AE".into(), owner: "Gulf DC".into(), gps: None };
    let added: Result<DataCentre, RegistryError> = update1(env, registry, authorities()[0], "add_data_centre", (dubai,));
    added.unwrap();
    update_node(env, registry, NodeInput { id: node(12), provider: provider(12), data_centre: "dxb1".into(), sev_chip_id: Some("sev".into()) }).unwrap();
    assert_eq!(pass(env, registry, ProposalChange::CreateSubnet(pakistan_create_args())).state, ProposalState::Executed);
    let r = report(env, registry, PAKISTAN_SUBNET);
    assert_eq!(r.residency.non_resident_nodes, vec![node(12)]);
    assert!(!r.residency.all_resident);
    assert_eq!(
        r.violations,
        vec![PolicyViolation::NodeOutsideAllowedCountries { node_id: node(12), data_centre: "dxb1".into(), country: "AE".into() }]
    );
    set_status(env, registry, PAKISTAN_SUBNET, SubnetStatus::Provisioning);
    assert!(matches!(
        submit(env, registry, authorities()[0], ProposalChange::ChangeStatus { subnet_id: PAKISTAN_SUBNET, status: SubnetStatus::Live }),
        Err(RegistryError::PolicyViolated { .. })
    ));
    // Bad input is a typed error: an unknown country code.
    let bad = DataCentreInput { id: "x1".into(), region: "Asia,XX,Nowhere".into(), country: "XX".into(), owner: "o".into(), gps: None };
    let refused: Result<DataCentre, RegistryError> = update1(env, registry, authorities()[0], "add_data_centre", (bad,));
    assert_eq!(refused, Err(RegistryError::InvalidCountryCode { code: "XX".into() }));
}
scenario!(node_in_another_country);

/// The one-call helper others use: a live, compliant subnet; anonymous callers cannot write
/// (rejected at ingress), strangers get a typed refusal.
fn one_call_setup_and_anonymous_writes(env: &mut dyn Env) {
    let (registry, subnet) = live_pakistan_subnet(env, vec![RECORDER]);
    assert_eq!(subnet.status, SubnetStatus::Live);
    assert!(report(env, registry, subnet.id).compliant);
    let live: SubnetPage = query1(
        env,
        registry,
        Principal::anonymous(),
        "list_subnets",
        (SubnetQuery { status: Some(SubnetStatus::Live), jurisdiction: Some("PK".into()), page: PageRequest::default() },),
    );
    assert_eq!(live.items.iter().map(|s| s.id).collect::<Vec<_>>(), vec![PAKISTAN_SUBNET]);
    let input = ProposalInput { summary: "let me in".into(), change: ProposalChange::AddAuthority { authority: STRANGER } };
    let anonymous: Result<(Result<Proposal, RegistryError>,), Reject> = try_update(env, registry, Principal::anonymous(), "submit_proposal", (input,));
    assert!(anonymous.as_ref().is_err_and(|r| env.backend() != "executor" || r.message.contains("anonymous")), "{anonymous:?}");
    // A stranger gets the typed refusal.
    assert_eq!(
        submit(env, registry, STRANGER, ProposalChange::AddAuthority { authority: STRANGER }),
        Err(RegistryError::NotAuthorized { caller: STRANGER, required: "registry authority".into() })
    );
}
scenario!(one_call_setup_and_anonymous_writes);

/// The expiry timer closes a proposal nobody decided, audits it, and drops its `Proposed` subnet;
/// the timer is re-armed after an upgrade.
fn undecided_proposals_expire_by_timer(env: &mut dyn Env) {
    let mut args = init_args(vec![], None);
    args.proposal_ttl_seconds = Some(120);
    let registry = deploy(env, &wasm("subnet_registry"), (Some(args),));
    env.upgrade(registry, &wasm("subnet_registry"), candid::encode_one(None::<InitArgs>).unwrap()).unwrap();
    add_pakistan_records(env, registry);
    let open = submit(env, registry, authorities()[0], ProposalChange::CreateSubnet(pakistan_create_args())).unwrap();
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Ok(SubnetStatus::Proposed));
    env.advance_time(std::time::Duration::from_secs(200));
    for _ in 0..3 {
        env.tick();
    }
    let expired: Option<Proposal> = query1(env, registry, STRANGER, "get_proposal", (open.id,));
    assert_eq!(expired.map(|p| p.state), Some(ProposalState::Expired));
    let page: AuditPage = query1(env, registry, STRANGER, "audit_log", (PageRequest::default(),));
    assert_eq!(page.entries.last().map(|e| (e.kind.as_str(), e.actor)), Some(("proposal_expired", registry)));
    assert_eq!(status(env, registry, PAKISTAN_SUBNET), Err(RegistryError::SubnetNotFound { subnet_id: PAKISTAN_SUBNET }));
    assert_eq!(
        approve(env, registry, authorities()[1], open.id),
        Err(RegistryError::ProposalNotOpen { id: open.id, state: ProposalState::Expired })
    );
}
scenario!(undecided_proposals_expire_by_timer);

/// With a burn ledger configured, the registry reports its usage on its timer and the ledger
/// acknowledges it (the real burn_ledger wasm, with the registry as a configured reporter).
fn usage_is_reported_to_the_burn_ledger(env: &mut dyn Env) {
    let registry = env.create_canister();
    let ledger = env.create_canister();
    let ledger_args = interfaces::burn_ledger::InitArgs {
        authorities: vec![authorities()[0]],
        subnet_registry: Some(registry),
        license_issuer: None,
        reporters: vec![registry],
        network_target_milli_xdr_per_second: None,
        usage_report_interval_seconds: None,
        attribution_cache_ttl_seconds: None,
        attribution_retry_interval_seconds: None,
    };
    env.install(ledger, &wasm("burn_ledger"), candid::encode_one(Some(ledger_args)).unwrap()).unwrap();
    let mut args = init_args(vec![], Some(ledger));
    args.usage_report_interval_seconds = Some(60);
    env.install(registry, &wasm("subnet_registry"), candid::encode_one(Some(args)).unwrap()).unwrap();
    add_pakistan_records(env, registry);
    for _ in 0..2 {
        env.advance_time(std::time::Duration::from_secs(61));
        for _ in 0..3 {
            env.tick();
        }
    }
    let state: Option<common_reporter::ReporterState> = query1(env, registry, STRANGER, "usage_reporter_status", ());
    let state = state.expect("reporting started because a burn ledger is configured");
    assert!(state.reports_acknowledged >= 1, "{state:?}");
    assert_eq!(state.last_error, None);
}
scenario!(usage_is_reported_to_the_burn_ledger);

/// The reporter state as `usage_reporter_status` returns it (the fields this test reads).
mod common_reporter {
    #[derive(candid::CandidType, candid::Deserialize, Debug)]
    pub struct ReporterState {
        pub next_sequence: u64,
        pub reports_acknowledged: u64,
        pub last_error: Option<String>,
    }
}
