//! `subnet_registry` canister: where national workloads live, and who controls them.
//!
//! Endpoints only: they read the caller and time, call plain Rust in the modules below, and map
//! results. Every change is checked in the domain code (access, bounds, lifecycle, policy) and
//! either happens completely, with an audit entry, or returns a typed error and changes nothing.

mod config;
mod countries;
mod external_calls;
mod governance;
mod index;
mod ingress;
mod lifecycle;
mod placements;
mod policy;
mod queries;
mod records;
mod state;
mod storage;
mod subnets;
mod validate;

#[cfg(test)]
mod domain_tests;
#[cfg(test)]
mod model_tests;

use candid::Principal;
use ic_cdk::api::{canister_self, msg_caller, time};
use interfaces::audit::PageRequest;
use interfaces::subnet_registry::{
    ComplianceReport, Config, DataCentre, DataCentreInput, DataCentrePage, DataCentreQuery, InitArgs, Node, NodeInput,
    NodePage, NodeProvider, NodeProviderInput, NodeProviderPage, NodeQuery, Placement, PlacementPage, PlacementQuery,
    Proposal, ProposalInput, ProposalPage, ProposalQuery, RegistryError, Subnet, SubnetPage, SubnetQuery, SubnetStatus,
};
use std::time::Duration;

/// How often open proposals past their expiry are closed, and how many per run at most.
const EXPIRY_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
const EXPIRY_SWEEP_BATCH: usize = 50;
/// Records the schema-3 migration handles per message (about 0.1M instructions each, so a
/// batch stays near 1B: far inside the 300B of an upgrade and the 40B of a timer).
const MIGRATION_BATCH: usize = 10_000;

// ---- lifecycle ----

common::suite_endpoints!(init_args: InitArgs, config: Config, start: start_timers);

/// Builds the reply headers of `record_placement` and the read paths clients page through
/// (at install and upgrade, whose heap persists; a query's would not).
fn warm_replies() {
    use common::reply::warm;
    warm::<Result<Placement, RegistryError>>();
    warm::<Option<Placement>>();
    warm::<PlacementPage>();
    warm::<NodePage>();
    warm::<SubnetPage>();
    warm::<ProposalPage>();
    warm::<Option<Subnet>>();
    warm::<Result<SubnetStatus, RegistryError>>();
    warm::<Result<ComplianceReport, RegistryError>>();
}

/// Computes the reply headers of the hot paths (`warm_replies`), builds the schema-3 indexes if
/// an upgrade from schema 1 or 2 left them to build, closes expired proposals in bounded batches
/// (idempotent: an already closed one is skipped),
/// counts open proposals again right after an install or upgrade (a reconfiguration may have
/// changed authorities or quorum), and reports usage to the burn ledger when one is configured.
fn start_timers() {
    warm_replies();
    migrate_indexes();
    ic_cdk_timers::set_timer(Duration::ZERO, async {
        storage::with_registry(|r| r.reevaluate_open(canister_self(), time()));
    });
    ic_cdk_timers::set_timer_interval(EXPIRY_SWEEP_INTERVAL, || async {
        storage::with_registry(|r| r.expire_due(canister_self(), time(), EXPIRY_SWEEP_BATCH));
    });
    external_calls::start_usage_reports(&storage::config());
}

/// Builds the schema-3 indexes after an upgrade from schema 1 or 2 (see `index`): one batch
/// now, the rest on timers right after. Queries scan the records until it is done. Does
/// nothing once done (every later upgrade, and a fresh install after its first empty batch).
fn migrate_indexes() {
    if storage::read_registry(|r| r.indexes_ready()) {
        return;
    }
    if !storage::with_registry(|r| r.migrate_step(MIGRATION_BATCH)) {
        ic_cdk_timers::set_timer(Duration::ZERO, async { migrate_indexes() });
    }
}

// ---- ingress screening ----

/// Ingress only, on one node: a cheap early filter, never the only check (every endpoint
/// checks its caller again, and calls from canisters, such as the license issuer's
/// `record_placement`, never pass here). Refuses oversized arguments and anonymous callers of
/// methods that need an authority or a recorder.
#[ic_cdk::inspect_message]
fn inspect_message() {
    let method = ic_cdk::api::msg_method_name();
    match ingress::screen(&method, &msg_caller(), ic_cdk::api::msg_arg_data().len()) {
        Ok(()) => ic_cdk::api::accept_message(),
        Err(refusal) => ic_cdk::trap(refusal.to_string()),
    }
}

use common::reply_endpoint as endpoint;

// ---- records written by authorities ----

endpoint! {
    #[update]
    /// Authorities: records a new data centre (country checked against ISO 3166-1 alpha-2, region path `Continent,CC,City` with a listed continent).
    fn add_data_centre(input: DataCentreInput) -> Result<DataCentre, RegistryError> {
        storage::with_registry(|r| r.add_data_centre(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: changes a data centre; refused if a live subnet with nodes there would break its policy.
    fn update_data_centre(input: DataCentreInput) -> Result<DataCentre, RegistryError> {
        storage::with_registry(|r| r.update_data_centre(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: removes a data centre no node stands in.
    fn remove_data_centre(id: String) -> Result<(), RegistryError> {
        storage::with_registry(|r| r.remove_data_centre(msg_caller(), time(), id))
    }
}

endpoint! {
    #[update]
    /// Authorities: records a new node provider.
    fn add_node_provider(input: NodeProviderInput) -> Result<NodeProvider, RegistryError> {
        storage::with_registry(|r| r.add_node_provider(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: changes a node provider's name or country.
    fn update_node_provider(input: NodeProviderInput) -> Result<NodeProvider, RegistryError> {
        storage::with_registry(|r| r.update_node_provider(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: removes a node provider that operates no node.
    fn remove_node_provider(provider: Principal) -> Result<(), RegistryError> {
        storage::with_registry(|r| r.remove_node_provider(msg_caller(), time(), provider))
    }
}

endpoint! {
    #[update]
    /// Authorities: records a new node of a recorded provider in a recorded data centre.
    fn add_node(input: NodeInput) -> Result<Node, RegistryError> {
        storage::with_registry(|r| r.add_node(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: changes a node's provider, data centre or SEV chip; refused if its live subnet would break its policy.
    fn update_node(input: NodeInput) -> Result<Node, RegistryError> {
        storage::with_registry(|r| r.update_node(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: removes a node that is in no subnet and claimed by no open proposal.
    fn remove_node(node_id: Principal) -> Result<(), RegistryError> {
        storage::with_registry(|r| r.remove_node(msg_caller(), time(), node_id))
    }
}

// ---- governance ----

endpoint! {
    #[update]
    /// Authorities: proposes a sensitive change (checked now and again at execution). Counts as the proposer's approval.
    fn submit_proposal(input: ProposalInput) -> Result<Proposal, RegistryError> {
        storage::with_registry(|r| r.submit_proposal(msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Authorities: approves an open proposal; at the quorum it executes (state Executed, or Failed with the error).
    fn approve_proposal(id: u64) -> Result<Proposal, RegistryError> {
        storage::with_registry(|r| r.approve_proposal(msg_caller(), time(), id))
    }
}

endpoint! {
    #[update]
    /// Authorities: rejects an open proposal; it is Rejected once the quorum can no longer be reached.
    fn reject_proposal(id: u64) -> Result<Proposal, RegistryError> {
        storage::with_registry(|r| r.reject_proposal(msg_caller(), time(), id))
    }
}

endpoint! {
    #[query]
    /// A proposal with its votes, state and (if it failed) the error; an open one past its expiry reads as Expired.
    fn get_proposal(id: u64) -> Option<Proposal> {
        storage::read_registry(|r| r.proposal_at(id, time()))
    }
}

endpoint! {
    #[query]
    /// Proposals in id order, optionally by state or target subnet (states as of now).
    fn list_proposals(query: ProposalQuery) -> ProposalPage {
        storage::read_registry(|r| r.list_proposals(&query, time()))
    }
}

// ---- placements (contract with license_issuer and burn_ledger) ----

endpoint! {
    #[update]
    /// Placement recorders only: records that `canister` (a canister id: 10 bytes ending in 0x01) runs on the live subnet `subnet_id`; idempotent.
    fn record_placement(canister: Principal, subnet_id: Principal) -> Result<Placement, RegistryError> {
        storage::with_registry(|r| r.record_placement(msg_caller(), time(), canister, subnet_id))
    }
}

endpoint! {
    #[query]
    /// The subnet a canister was recorded on, if any.
    fn placement_of(canister: Principal) -> Option<Placement> {
        storage::read_registry(|r| r.placement_of(&canister))
    }
}

endpoint! {
    #[query]
    /// Placements, optionally on one subnet.
    fn list_placements(query: PlacementQuery) -> PlacementPage {
        storage::read_registry(|r| r.list_placements(&query))
    }
}

// ---- read-only views ----

endpoint! {
    #[query]
    /// The lifecycle status of a subnet.
    fn subnet_status(subnet_id: Principal) -> Result<SubnetStatus, RegistryError> {
        storage::read_registry(|r| r.subnet_status(&subnet_id, time()))
    }
}

endpoint! {
    #[query]
    /// A subnet with members, policy, admins and status timestamps (approved, provisioning, live since).
    fn get_subnet(subnet_id: Principal) -> Option<Subnet> {
        storage::read_registry(|r| r.subnet_at(&subnet_id, time()))
    }
}

endpoint! {
    #[query]
    /// Subnets, optionally filtered by status and jurisdiction.
    fn list_subnets(query: SubnetQuery) -> SubnetPage {
        storage::read_registry(|r| r.list_subnets(&query, time()))
    }
}

endpoint! {
    #[query]
    /// Public checkpoint: residency, diversity per provider / data centre / owner / country, SEV coverage and every violation.
    fn compliance_report(subnet_id: Principal) -> Result<ComplianceReport, RegistryError> {
        storage::read_registry(|r| r.compliance_report(&subnet_id, time()))
    }
}

endpoint! {
    #[query]
    /// A data centre by id.
    fn get_data_centre(id: String) -> Option<DataCentre> {
        storage::read_registry(|r| r.data_centre(&id))
    }
}

endpoint! {
    #[query]
    /// Data centres, optionally in one country.
    fn list_data_centres(query: DataCentreQuery) -> DataCentrePage {
        storage::read_registry(|r| r.list_data_centres(&query))
    }
}

endpoint! {
    #[query]
    /// A node provider by principal.
    fn get_node_provider(provider: Principal) -> Option<NodeProvider> {
        storage::read_registry(|r| r.provider(&provider))
    }
}

endpoint! {
    #[query]
    /// Node providers in principal order.
    fn list_node_providers(request: PageRequest) -> NodeProviderPage {
        storage::read_registry(|r| r.list_node_providers(&request))
    }
}

endpoint! {
    #[query]
    /// A node by id, with the subnet it belongs to.
    fn get_node(node_id: Principal) -> Option<Node> {
        storage::read_registry(|r| r.node(&node_id))
    }
}

endpoint! {
    #[query]
    /// Nodes, optionally by provider, data centre or subnet.
    fn list_nodes(query: NodeQuery) -> NodePage {
        storage::read_registry(|r| r.list_nodes(&query))
    }
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "subnet_registry");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
