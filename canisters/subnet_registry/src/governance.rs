//! Proposals: authorities submit sensitive changes, approve or reject them; a proposal executes
//! when it reaches the quorum and is immutable afterwards. Submitting counts as the proposer's
//! approval. Only approvals of current authorities count.

use crate::state::Registry;
use crate::subnets::Stage;
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{
    Proposal, ProposalChange, ProposalInput, ProposalState, RegistryError, Vote, MAX_SUMMARY_LEN,
};

impl<M: Memory> Registry<M> {
    /// Records a proposal after checking its change would be valid now; executes it at once
    /// if the proposer's approval alone reaches the quorum.
    pub fn submit_proposal(&mut self, caller: Principal, now: u64, input: ProposalInput) -> Result<Proposal, RegistryError> {
        self.require_authority(caller)?;
        validate::text("summary", &input.summary, MAX_SUMMARY_LEN)?;
        self.check_change(&input.change, Stage::Submission)?;
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
            self.decide(&mut proposal, ProposalState::Expired, now);
            self.audit(now, actor, "proposal_expired", id);
        }
        due.len()
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

    /// Executes, rejects or just stores `proposal` according to its votes.
    fn tally(&mut self, mut proposal: Proposal, actor: Principal, now: u64) -> Proposal {
        let config = self.config();
        let counted = |votes: &[Vote]| votes.iter().filter(|v| config.authorities.contains(&v.authority)).count() as u32;
        let approvals = counted(&proposal.approvals);
        let rejections = counted(&proposal.rejections);
        let authorities = config.authorities.len() as u32;
        if approvals >= config.quorum {
            match self.apply_change(&proposal.change, proposal.id, actor, now) {
                Ok(()) => {
                    self.decide(&mut proposal, ProposalState::Executed, now);
                    self.audit(now, actor, "proposal_executed", &proposal.id);
                }
                Err(error) => {
                    proposal.execution_error = Some(error.clone());
                    self.decide(&mut proposal, ProposalState::Failed, now);
                    self.audit(now, actor, "proposal_failed", &(proposal.id, error));
                }
            }
        } else if authorities.saturating_sub(rejections) < config.quorum {
            self.decide(&mut proposal, ProposalState::Rejected, now);
            self.audit(now, actor, "proposal_rejected", &proposal.id);
        } else {
            self.proposals.insert(proposal.id, Cbor(proposal.clone()));
        }
        proposal
    }

    /// Closes `proposal` in `state` and stores it; a create proposal that did not execute
    /// takes its `Proposed` subnet with it.
    fn decide(&mut self, proposal: &mut Proposal, state: ProposalState, now: u64) {
        proposal.state = state;
        proposal.decided_at_ns = Some(now);
        if state != ProposalState::Executed {
            self.drop_proposed_subnet(&proposal.change, proposal.id);
        }
        self.open_proposals.remove(&proposal.id);
        self.proposals.insert(proposal.id, Cbor(proposal.clone()));
    }
}
