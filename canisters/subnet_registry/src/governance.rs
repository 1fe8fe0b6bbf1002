//! Proposals: authorities submit sensitive changes, approve or reject them; a proposal executes
//! when it reaches the quorum and is immutable afterwards. Submitting counts as the proposer's
//! approval.
//!
//! Counting rule: only the votes of principals who are authorities at the moment of counting
//! count, against the quorum in force then. A proposal is counted at every vote on it, and every
//! open proposal is counted again whenever the authorities or the quorum change (an authority
//! proposal executing here, or a reconfiguring upgrade through `reevaluate_open` on a timer), so
//! one that reached the new quorum executes and one that can no longer reach it is rejected.
//!
//! An open proposal's state is computed at read time: from `expires_at_ns` on it reads as
//! `Expired` and cannot be voted on, before the sweep records it.

use crate::state::Registry;
use crate::subnets::{claimed_nodes, Stage};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{
    Proposal, ProposalChange, ProposalInput, ProposalState, RegistryError, Vote, MAX_DECIDED_PROPOSALS, MAX_OPEN_PROPOSALS,
    MAX_SUMMARY_LEN,
};
use std::collections::BTreeMap;

/// What the votes on an open proposal say now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Execute,
    Reject,
    Undecided,
}

impl<M: Memory> Registry<M> {
    /// Records a proposal after checking its change would be valid now and claims no node
    /// another open proposal claims; executes it at once if the proposer's approval alone
    /// reaches the quorum.
    pub fn submit_proposal(&mut self, caller: Principal, now: u64, input: ProposalInput) -> Result<Proposal, RegistryError> {
        self.require_authority(caller)?;
        validate::prose("summary", &input.summary, MAX_SUMMARY_LEN)?;
        self.check_change(&input.change, Stage::Submission, now)?;
        self.check_claims(&input.change, now)?;
        validate::room("open_proposals", self.open_ids(now).len() as u64, MAX_OPEN_PROPOSALS)?;
        let config = self.config();
        let id = self.proposals.last_key_value().map_or(0, |(k, _)| k + 1);
        let proposal = Proposal {
            id,
            proposer: caller,
            summary: input.summary,
            change: input.change,
            submitted_at_ns: now,
            expires_at_ns: now.saturating_add(config.proposal_ttl_seconds.saturating_mul(1_000_000_000)),
            approvals: vec![Vote { authority: caller, at_ns: now }],
            rejections: vec![],
            state: ProposalState::Open,
            decided_at_ns: None,
            execution_error: None,
        };
        if let ProposalChange::CreateSubnet(args) = &proposal.change {
            self.insert_proposed_subnet(args, id, now);
        }
        self.audit(now, caller, "proposal_submitted", &proposal);
        self.open_proposals.insert(id, proposal.expires_at_ns);
        Ok(self.tally(proposal, caller, now))
    }

    /// Drops the oldest decided proposals beyond MAX_DECIDED_PROPOSALS (their history stays in
    /// the audit log), so the proposals a list scans stay bounded.
    fn prune_decided(&mut self, actor: Principal, now: u64) {
        let decided = self.proposals.len().saturating_sub(self.open_proposals.len());
        let excess = decided.saturating_sub(u64::from(MAX_DECIDED_PROPOSALS));
        if excess == 0 {
            return;
        }
        let oldest: Vec<u64> = self
            .proposals
            .keys()
            .filter(|id| !self.open_proposals.contains_key(id))
            .take(excess as usize)
            .collect();
        for id in oldest {
            self.proposals.remove(&id);
            self.audit(now, actor, "proposal_pruned", &id);
        }
    }

    pub fn approve_proposal(&mut self, caller: Principal, now: u64, id: u64) -> Result<Proposal, RegistryError> {
        let mut proposal = self.votable(caller, now, id)?;
        proposal.approvals.push(Vote { authority: caller, at_ns: now });
        self.audit(now, caller, "proposal_approved", &id);
        Ok(self.tally(proposal, caller, now))
    }

    /// Records a rejection; the proposal is rejected once the quorum can no longer be reached.
    pub fn reject_proposal(&mut self, caller: Principal, now: u64, id: u64) -> Result<Proposal, RegistryError> {
        let mut proposal = self.votable(caller, now, id)?;
        proposal.rejections.push(Vote { authority: caller, at_ns: now });
        self.audit(now, caller, "proposal_rejection", &id);
        Ok(self.tally(proposal, caller, now))
    }

    /// Marks at most `max` open proposals whose time ran out as `Expired` (audited as done by
    /// `actor`, the canister itself); returns how many.
    pub fn expire_due(&mut self, actor: Principal, now: u64, max: usize) -> usize {
        let due: Vec<u64> = self
            .open_proposals
            .iter()
            .filter(|e| e.value() <= now)
            .map(|e| *e.key())
            .take(max)
            .collect();
        for id in &due {
            let mut proposal = self.proposal(*id).unwrap_or_else(|| panic!("open proposal {id} has no record"));
            self.decide(&mut proposal, ProposalState::Expired, actor, now);
            self.audit(now, actor, "proposal_expired", id);
        }
        due.len()
    }

    /// Counts every open proposal again against the authorities and quorum in force (after they
    /// changed), executing or rejecting those the votes now decide; returns how many it decided.
    /// Writes nothing when no proposal is decided.
    pub fn reevaluate_open(&mut self, actor: Principal, now: u64) -> usize {
        let mut decided = 0;
        'restart: loop {
            for id in self.open_ids(now) {
                let proposal = self.proposal(id).unwrap_or_else(|| panic!("open proposal {id} has no record"));
                if self.verdict(&proposal) == Verdict::Undecided {
                    continue;
                }
                decided += 1;
                if self.count_votes(proposal, actor, now).1 {
                    // The authorities changed again: count the rest under the new ones.
                    continue 'restart;
                }
            }
            return decided;
        }
    }

    /// Ids of the proposals open at `now` (undecided and not expired), in id order.
    pub(crate) fn open_ids(&self, now: u64) -> Vec<u64> {
        self.open_proposals.iter().filter(|e| now < e.value()).map(|e| *e.key()).collect()
    }

    /// Whether proposal `id` is open at `now`.
    pub(crate) fn is_open_at(&self, id: u64, now: u64) -> bool {
        self.open_proposals.get(&id).is_some_and(|expires| now < expires)
    }

    /// Every node an open proposal claims (creating a subnet with it, or adding it to one), with
    /// the claiming proposal. One pass over the open proposals.
    pub(crate) fn claims(&self, now: u64) -> BTreeMap<Principal, u64> {
        let mut claims = BTreeMap::new();
        for id in self.open_ids(now) {
            if let Some(p) = self.proposal(id) {
                for node in claimed_nodes(&p.change) {
                    claims.insert(*node, id);
                }
            }
        }
        claims
    }

    /// A node can be claimed by one open proposal at a time, so two open proposals can never
    /// both put it in a subnet.
    fn check_claims(&self, change: &ProposalChange, now: u64) -> Result<(), RegistryError> {
        let nodes = claimed_nodes(change);
        if nodes.is_empty() {
            return Ok(());
        }
        let claims = self.claims(now);
        match nodes.iter().find_map(|n| claims.get(n).map(|id| (*n, *id))) {
            Some((node_id, proposal_id)) => Err(RegistryError::NodeClaimedByProposal { node_id, proposal_id }),
            None => Ok(()),
        }
    }

    /// The proposal `caller` may vote on now, or why not.
    fn votable(&self, caller: Principal, now: u64, id: u64) -> Result<Proposal, RegistryError> {
        self.require_authority(caller)?;
        let proposal = self.proposal(id).ok_or(RegistryError::ProposalNotFound { id })?;
        if proposal.state != ProposalState::Open {
            return Err(RegistryError::ProposalNotOpen { id, state: proposal.state });
        }
        if now >= proposal.expires_at_ns {
            return Err(RegistryError::ProposalExpired { id, expired_at_ns: proposal.expires_at_ns });
        }
        let voted = proposal.approvals.iter().chain(&proposal.rejections).any(|v| v.authority == caller);
        if voted {
            return Err(RegistryError::AlreadyVoted { id, authority: caller });
        }
        Ok(proposal)
    }

    /// What the votes of current authorities decide, against the quorum in force.
    fn verdict(&self, proposal: &Proposal) -> Verdict {
        let config = self.config();
        let counted = |votes: &[Vote]| votes.iter().filter(|v| config.authorities.contains(&v.authority)).count() as u32;
        let authorities = config.authorities.len() as u32;
        if counted(&proposal.approvals) >= config.quorum {
            Verdict::Execute
        } else if authorities.saturating_sub(counted(&proposal.rejections)) < config.quorum {
            Verdict::Reject
        } else {
            Verdict::Undecided
        }
    }

    /// Decides or stores `proposal` by its votes; if executing it changed the authorities,
    /// every other open proposal is counted again.
    fn tally(&mut self, proposal: Proposal, actor: Principal, now: u64) -> Proposal {
        let (proposal, authorities_changed) = self.count_votes(proposal, actor, now);
        if authorities_changed {
            self.reevaluate_open(actor, now);
        }
        proposal
    }

    /// Executes, rejects or just stores `proposal` according to its votes. Also says whether
    /// it changed the authorities (an authority proposal executed).
    fn count_votes(&mut self, mut proposal: Proposal, actor: Principal, now: u64) -> (Proposal, bool) {
        let mut authorities_changed = false;
        match self.verdict(&proposal) {
            Verdict::Execute => match self.apply_change(&proposal.change, proposal.id, actor, now) {
                Ok(()) => {
                    self.decide(&mut proposal, ProposalState::Executed, actor, now);
                    self.audit(now, actor, "proposal_executed", &proposal.id);
                    authorities_changed = matches!(
                        proposal.change,
                        ProposalChange::AddAuthority { .. } | ProposalChange::RemoveAuthority { .. }
                    );
                }
                Err(error) => {
                    proposal.execution_error = Some(error.clone());
                    self.decide(&mut proposal, ProposalState::Failed, actor, now);
                    self.audit(now, actor, "proposal_failed", &(proposal.id, error));
                }
            },
            Verdict::Reject => {
                self.decide(&mut proposal, ProposalState::Rejected, actor, now);
                self.audit(now, actor, "proposal_rejected", &proposal.id);
            }
            Verdict::Undecided => {
                self.proposals.insert(proposal.id, Cbor(proposal.clone()));
            }
        }
        (proposal, authorities_changed)
    }

    /// Closes `proposal` in `state` and stores it; a create proposal that did not execute
    /// takes its `Proposed` subnet with it. Keeps at most MAX_DECIDED_PROPOSALS decided.
    fn decide(&mut self, proposal: &mut Proposal, state: ProposalState, actor: Principal, now: u64) {
        proposal.state = state;
        proposal.decided_at_ns = Some(now);
        if state != ProposalState::Executed {
            self.drop_proposed_subnet(&proposal.change, proposal.id);
        }
        self.open_proposals.remove(&proposal.id);
        self.proposals.insert(proposal.id, Cbor(proposal.clone()));
        self.prune_decided(actor, now);
    }
}
