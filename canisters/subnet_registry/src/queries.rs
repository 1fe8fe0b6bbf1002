//! Read-only views: get and paged, filtered lists of every record kind, subnet status and the
//! compliance report.

use crate::index::subnet_range;
use crate::policy;
use crate::state::{page, page_counted, page_lazy, Registry};
use crate::subnets::target_subnet;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::audit::PageRequest;
use interfaces::subnet_registry::{
    ComplianceReport, DataCentrePage, DataCentreQuery, Node, NodePage, NodeProviderPage, NodeQuery, Proposal, ProposalPage,
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

    /// Nodes in id order. One subnet's come from `nodes_by_subnet` (at most MAX_SUBNET_NODES
    /// reads); the other filters scan every node.
    pub fn list_nodes(&self, query: &NodeQuery) -> NodePage {
        let wanted = |n: &Node| {
            query.provider.is_none_or(|p| n.provider == p)
                && query.data_centre.as_ref().is_none_or(|d| &n.data_centre == d)
                && query.subnet_id.is_none_or(|s| n.subnet_id == Some(s))
        };
        let (items, total, next_start) = match query.subnet_id {
            Some(s) if self.indexes_ready() => {
                let members = self.nodes_by_subnet.keys_range(subnet_range(&s)).take_while(|k| k.first() == s);
                page(members.filter_map(|k| self.node(&k.second())).filter(wanted), &query.page)
            }
            _ => page(self.nodes.iter().map(|e| e.value().0).filter(wanted), &query.page),
        };
        NodePage { items, total, next_start }
    }

    /// Subnets as they stand at `now` (see `subnet_at`), in id order. Status and existence come
    /// from the fixed-size heads; only the page's subnets (and, with a jurisdiction filter, the
    /// candidates) are decoded.
    pub fn list_subnets(&self, query: &SubnetQuery, now: u64) -> SubnetPage {
        if !self.indexes_ready() {
            let matching = self.subnets.iter().map(|e| e.value().0).filter(|s| {
                query.status.is_none_or(|st| s.status == st)
                    && query.jurisdiction.as_ref().is_none_or(|j| &s.jurisdiction == j)
                    && self.stands_at(s, now)
            });
            let (items, total, next_start) = page(matching, &query.page);
            return SubnetPage { items, total, next_start };
        }
        let standing = self.subnet_heads.iter().filter_map(|e| {
            let head = e.value();
            let stands = head.status != SubnetStatus::Proposed || self.is_open_at(head.created_by_proposal, now);
            (stands && query.status.is_none_or(|st| head.status == st)).then(|| *e.key())
        });
        let load = |id: Principal| self.subnet(&id).expect("a head has its subnet");
        let (items, total, next_start) = match &query.jurisdiction {
            None => page_lazy(standing, load, &query.page),
            Some(j) => page(standing.map(load).filter(|s| &s.jurisdiction == j), &query.page),
        };
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

    /// Proposals in id order. Unfiltered: the total is the map's length and only the page is
    /// read. Open ones: from the open-proposal index (at most MAX_OPEN_PROPOSALS). Other filters
    /// scan the kept proposals (at most MAX_OPEN_PROPOSALS + MAX_DECIDED_PROPOSALS).
    pub fn list_proposals(&self, query: &ProposalQuery, now: u64) -> ProposalPage {
        let load = |id: u64| as_of(self.proposal(id).expect("a listed proposal exists"), now);
        let (items, total, next_start) = match (query.state, query.subnet_id) {
            (None, None) => {
                let skip = usize::try_from(query.page.bounds().0).unwrap_or(usize::MAX);
                let items = self.proposals.iter().skip(skip).map(|e| as_of(e.value().0, now));
                page_counted(items, self.proposals.len(), &query.page)
            }
            (Some(ProposalState::Open), None) => page_lazy(self.open_ids(now).into_iter(), load, &query.page),
            _ => {
                let matching = self.proposals.iter().map(|e| as_of(e.value().0, now)).filter(|p| {
                    query.state.is_none_or(|st| p.state == st)
                        && query.subnet_id.is_none_or(|s| target_subnet(&p.change) == Some(s))
                });
                page(matching, &query.page)
            }
        };
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
