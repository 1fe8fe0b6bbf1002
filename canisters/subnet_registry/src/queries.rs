//! Read-only views: get and paged, filtered lists of every record kind, subnet status and the
//! compliance report.

use crate::policy;
use crate::state::{page, Registry};
use crate::subnets::target_subnet;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::subnet_registry::{
    ComplianceReport, DataCentrePage, DataCentreQuery, NodePage, NodeProviderPage, NodeQuery, Proposal, ProposalPage,
    ProposalQuery, ProposalState, RegistryError, SubnetPage, SubnetQuery, SubnetStatus,
};

impl<M: Memory> Registry<M> {
    pub fn list_data_centres(&self, query: &DataCentreQuery) -> DataCentrePage {
        let matching = self
            .data_centres
            .iter()
            .map(|e| e.value().0)
            .filter(|dc| query.country.as_ref().is_none_or(|c| &dc.country == c));
        let (items, total, next_start) = page(matching, &query.page);
        DataCentrePage { items, total, next_start }
    }

    pub fn list_node_providers(&self, request: &PageRequest) -> NodeProviderPage {
        let (items, total, next_start) = page(self.providers.iter().map(|e| e.value().0), request);
        NodeProviderPage { items, total, next_start }
    }

    pub fn list_nodes(&self, query: &NodeQuery) -> NodePage {
        let matching = self.nodes.iter().map(|e| e.value().0).filter(|n| {
            query.provider.is_none_or(|p| n.provider == p)
                && query.data_centre.as_ref().is_none_or(|d| &n.data_centre == d)
                && query.subnet_id.is_none_or(|s| n.subnet_id == Some(s))
        });
        let (items, total, next_start) = page(matching, &query.page);
        NodePage { items, total, next_start }
    }

    /// Subnets as they stand at `now` (see `subnet_at`).
    pub fn list_subnets(&self, query: &SubnetQuery, now: u64) -> SubnetPage {
        let matching = self.subnets.iter().map(|e| e.value().0).filter(|s| {
            query.status.is_none_or(|st| s.status == st)
                && query.jurisdiction.as_ref().is_none_or(|j| &s.jurisdiction == j)
                && self.stands_at(s, now)
        });
        let (items, total, next_start) = page(matching, &query.page);
        SubnetPage { items, total, next_start }
    }

    pub fn subnet_status(&self, subnet_id: &Principal, now: u64) -> Result<SubnetStatus, RegistryError> {
        self.subnet_at_or_err(subnet_id, now).map(|s| s.status)
    }

    /// A proposal as it stands at `now`: an open one past its expiry reads as `Expired` even
    /// before the timer records it.
    pub fn proposal_at(&self, id: u64, now: u64) -> Option<Proposal> {
        self.proposal(id).map(|p| as_of(p, now))
    }

    pub fn list_proposals(&self, query: &ProposalQuery, now: u64) -> ProposalPage {
        let matching = self.proposals.iter().map(|e| as_of(e.value().0, now)).filter(|p| {
            query.state.is_none_or(|st| p.state == st)
                && query.subnet_id.is_none_or(|s| target_subnet(&p.change) == Some(s))
        });
        let (items, total, next_start) = page(matching, &query.page);
        ProposalPage { items, total, next_start }
    }

    /// The subnet's members judged against its policy now.
    pub fn compliance_report(&self, subnet_id: &Principal, now: u64) -> Result<ComplianceReport, RegistryError> {
        let subnet = self.subnet_at_or_err(subnet_id, now)?;
        let a = policy::assess(&subnet.policy, &subnet.jurisdiction, &self.member_facts(&subnet.members));
        Ok(ComplianceReport {
            subnet_id: subnet.id,
            name: subnet.name,
            status: subnet.status,
            jurisdiction: subnet.jurisdiction,
            live_since_ns: subnet.live_since_ns,
            policy: subnet.policy,
            members: a.sev.members,
            residency: a.residency,
            by_provider: a.by_provider,
            by_data_centre: a.by_data_centre,
            by_owner: a.by_owner,
            by_country: a.by_country,
            sev: a.sev,
            compliant: a.violations.is_empty(),
            violations: a.violations,
            generated_at_ns: now,
        })
    }
}

fn as_of(mut proposal: Proposal, now: u64) -> Proposal {
    if proposal.state == ProposalState::Open && now >= proposal.expires_at_ns {
        proposal.state = ProposalState::Expired;
        proposal.decided_at_ns = Some(proposal.expires_at_ns);
    }
    proposal
}
