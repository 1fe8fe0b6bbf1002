//! The changes proposals carry: checking them (at submission and again at execution) and
//! making them. `check_change` never writes; `apply_change` checks again, then writes and audits.

use crate::lifecycle;
use crate::policy;
use crate::state::Registry;
use crate::validate;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{
    CreateSubnetArgs, ProposalChange, RegistryError, Subnet, SubnetStatus, TopologyPolicy, MAX_AUTHORITIES,
    MAX_NAME_LEN, MAX_SUBNETS, MAX_SUBNET_ADMINS, MAX_SUBNET_NODES,
};
use std::collections::BTreeSet;

/// The subnet a change targets, if any.
pub fn target_subnet(change: &ProposalChange) -> Option<Principal> {
    match change {
        ProposalChange::CreateSubnet(args) => Some(args.subnet_id),
        ProposalChange::ChangeMembership { subnet_id, .. }
        | ProposalChange::ChangePolicy { subnet_id, .. }
        | ProposalChange::ChangeStatus { subnet_id, .. }
        | ProposalChange::ChangeAdmins { subnet_id, .. } => Some(*subnet_id),
        ProposalChange::AddAuthority { .. } | ProposalChange::RemoveAuthority { .. } => None,
    }
}

/// The nodes a change would put into a subnet: a create proposal's members, a membership
/// change's additions. An open proposal claims them until it is decided.
pub fn claimed_nodes(change: &ProposalChange) -> &[Principal] {
    match change {
        ProposalChange::CreateSubnet(args) => &args.members,
        ProposalChange::ChangeMembership { add, .. } => add,
        _ => &[],
    }
}

/// Whether a create proposal is being submitted (no subnet yet) or executed (its `Proposed`
/// record exists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Submission,
    Execution { proposal_id: u64 },
}

impl<M: Memory> Registry<M> {
    /// Whether `change` could be made at `now`. Writes nothing.
    pub fn check_change(&self, change: &ProposalChange, stage: Stage, now: u64) -> Result<(), RegistryError> {
        match change {
            ProposalChange::CreateSubnet(args) => self.check_create(args, stage, now),
            ProposalChange::ChangeMembership { subnet_id, add, remove } => {
                self.membership_after(subnet_id, add, remove, now).map(|_| ())
            }
            ProposalChange::ChangePolicy { subnet_id, policy } => self.check_policy_change(subnet_id, policy, now),
            ProposalChange::ChangeStatus { subnet_id, status } => self.check_status_change(subnet_id, *status, now),
            ProposalChange::ChangeAdmins { subnet_id, admins } => {
                let subnet = self.modifiable_subnet(subnet_id, now)?;
                validate::principals("admins", admins, MAX_SUBNET_ADMINS)?;
                if *admins == subnet.admins {
                    return Err(RegistryError::NothingToChange);
                }
                Ok(())
            }
            ProposalChange::AddAuthority { authority } => {
                validate::not_anonymous("authority", authority)?;
                let authorities = self.config().authorities;
                if authorities.contains(authority) {
                    return Err(RegistryError::AuthorityAlreadyPresent { authority: *authority });
                }
                validate::count("authorities", authorities.len() + 1, MAX_AUTHORITIES)
            }
            ProposalChange::RemoveAuthority { authority } => {
                let config = self.config();
                if !config.authorities.contains(authority) {
                    return Err(RegistryError::AuthorityNotFound { authority: *authority });
                }
                let remaining = (config.authorities.len() - 1) as u32;
                if remaining < config.quorum {
                    return Err(RegistryError::QuorumUnreachable { authorities: remaining, quorum: config.quorum });
                }
                Ok(())
            }
        }
    }

    /// Makes `change` (checked again first) on behalf of proposal `proposal_id`, executed by
    /// `actor` at `now`, and audits it.
    pub fn apply_change(&mut self, change: &ProposalChange, proposal_id: u64, actor: Principal, now: u64) -> Result<(), RegistryError> {
        self.check_change(change, Stage::Execution { proposal_id }, now)?;
        match change {
            ProposalChange::CreateSubnet(args) => {
                let mut subnet = self.subnet_or_err(&args.subnet_id)?;
                self.assign(&args.members, Some(subnet.id), now);
                subnet.status = SubnetStatus::Approved;
                subnet.approved_at_ns = Some(now);
                subnet.status_changed_at_ns = now;
                self.put_subnet(&subnet);
                self.audit(now, actor, "subnet_approved", &(proposal_id, &subnet));
            }
            ProposalChange::ChangeMembership { subnet_id, add, remove } => {
                let mut subnet = self.subnet_or_err(subnet_id)?;
                subnet.members = self.membership_after(subnet_id, add, remove, now)?;
                self.assign(remove, None, now);
                self.assign(add, Some(*subnet_id), now);
                self.put_subnet(&subnet);
                self.audit(now, actor, "subnet_membership_changed", &(proposal_id, subnet_id, add, remove));
            }
            ProposalChange::ChangePolicy { subnet_id, policy } => {
                let mut subnet = self.subnet_or_err(subnet_id)?;
                subnet.policy = policy.clone();
                self.put_subnet(&subnet);
                self.audit(now, actor, "subnet_policy_changed", &(proposal_id, subnet_id, policy));
            }
            ProposalChange::ChangeStatus { subnet_id, status } => {
                let mut subnet = self.subnet_or_err(subnet_id)?;
                let from = subnet.status;
                set_status(&mut subnet, *status, now);
                if *status == SubnetStatus::Decommissioned {
                    // Its nodes are free again; the proposal and audit log keep who was a member.
                    let members = std::mem::take(&mut subnet.members);
                    self.assign(&members, None, now);
                }
                self.put_subnet(&subnet);
                self.audit(now, actor, "subnet_status_changed", &(proposal_id, subnet_id, from, status));
            }
            ProposalChange::ChangeAdmins { subnet_id, admins } => {
                let mut subnet = self.subnet_or_err(subnet_id)?;
                subnet.admins = admins.clone();
                self.put_subnet(&subnet);
                self.audit(now, actor, "subnet_admins_changed", &(proposal_id, subnet_id, admins));
            }
            ProposalChange::AddAuthority { authority } => {
                let mut config = self.config();
                config.authorities.push(*authority);
                self.store_config(config, now, actor, "authority_added");
            }
            ProposalChange::RemoveAuthority { authority } => {
                let mut config = self.config();
                config.authorities.retain(|a| a != authority);
                self.store_config(config, now, actor, "authority_removed");
            }
        }
        Ok(())
    }

    /// Creates the `Proposed` record a create proposal shows while it is open.
    pub(crate) fn insert_proposed_subnet(&mut self, args: &CreateSubnetArgs, proposal_id: u64, now: u64) {
        let subnet = Subnet {
            id: args.subnet_id,
            name: args.name.clone(),
            subnet_type: args.subnet_type,
            jurisdiction: args.jurisdiction.clone(),
            status: SubnetStatus::Proposed,
            members: args.members.clone(),
            policy: args.policy.clone(),
            admins: args.admins.clone(),
            cost_schedule: args.cost_schedule,
            created_by_proposal: proposal_id,
            created_at_ns: now,
            approved_at_ns: None,
            provisioning_since_ns: None,
            live_since_ns: None,
            suspended_since_ns: None,
            decommissioned_at_ns: None,
            status_changed_at_ns: now,
        };
        self.put_subnet(&subnet);
    }

    /// Removes the `Proposed` record of a create proposal that was rejected, expired or failed.
    pub(crate) fn drop_proposed_subnet(&mut self, change: &ProposalChange, proposal_id: u64) {
        if let ProposalChange::CreateSubnet(args) = change {
            let ours = self
                .subnet(&args.subnet_id)
                .is_some_and(|s| s.status == SubnetStatus::Proposed && s.created_by_proposal == proposal_id);
            if ours {
                self.remove_subnet(&args.subnet_id);
            }
        }
    }

    fn store_config(&mut self, config: interfaces::subnet_registry::Config, now: u64, actor: Principal, kind: &str) {
        self.core
            .install(config, Ok, now, actor, kind)
            .unwrap_or_else(|e| panic!("a checked configuration change failed: {e}"));
    }

    fn check_create(&self, args: &CreateSubnetArgs, stage: Stage, now: u64) -> Result<(), RegistryError> {
        validate::not_anonymous("subnet_id", &args.subnet_id)?;
        validate::label("subnet.name", &args.name, MAX_NAME_LEN)?;
        validate::country(&args.jurisdiction)?;
        policy::validate_policy(&args.policy)?;
        validate::principals("admins", &args.admins, MAX_SUBNET_ADMINS)?;
        validate::principals("members", &args.members, MAX_SUBNET_NODES)?;
        // A `Proposed` record left by an expired proposal reads as absent (the sweep drops it).
        match (self.subnet_at(&args.subnet_id, now), stage) {
            (None, Stage::Submission) => validate::room("subnets", self.subnets.len(), MAX_SUBNETS)?,
            (Some(s), Stage::Execution { proposal_id })
                if s.status == SubnetStatus::Proposed && s.created_by_proposal == proposal_id => {}
            (Some(s), _) => return Err(RegistryError::SubnetAlreadyExists { subnet_id: s.id, status: s.status }),
            (None, Stage::Execution { .. }) => return Err(RegistryError::SubnetNotFound { subnet_id: args.subnet_id }),
        }
        for id in &args.members {
            let node = self.node_or_err(id)?;
            if let Some(subnet_id) = node.subnet_id {
                return Err(RegistryError::NodeInSubnet { node_id: *id, subnet_id });
            }
        }
        Ok(())
    }

    /// The member list after adding `add` and removing `remove`, refused if invalid or if it
    /// would break a `Live` subnet's policy.
    fn membership_after(&self, subnet_id: &Principal, add: &[Principal], remove: &[Principal], now: u64) -> Result<Vec<Principal>, RegistryError> {
        let subnet = self.modifiable_subnet(subnet_id, now)?;
        validate::principals("add", add, MAX_SUBNET_NODES)?;
        validate::principals("remove", remove, MAX_SUBNET_NODES)?;
        if add.is_empty() && remove.is_empty() {
            return Err(RegistryError::NothingToChange);
        }
        let removing: BTreeSet<&Principal> = remove.iter().collect();
        if let Some(both) = add.iter().find(|a| removing.contains(a)) {
            return Err(RegistryError::DuplicateInList { field: "add and remove".into(), value: both.to_text() });
        }
        for id in remove {
            if !subnet.members.contains(id) {
                return Err(RegistryError::NodeNotInSubnet { node_id: *id, subnet_id: *subnet_id });
            }
        }
        for id in add {
            let node = self.node_or_err(id)?;
            if let Some(in_subnet) = node.subnet_id {
                return Err(RegistryError::NodeInSubnet { node_id: *id, subnet_id: in_subnet });
            }
        }
        let mut members: Vec<Principal> = subnet.members.iter().filter(|m| !removing.contains(m)).copied().collect();
        members.extend_from_slice(add);
        validate::count("members", members.len(), MAX_SUBNET_NODES)?;
        self.require_compliance_if_live(&subnet, &subnet.policy, &members)?;
        Ok(members)
    }

    fn check_policy_change(&self, subnet_id: &Principal, policy: &TopologyPolicy, now: u64) -> Result<(), RegistryError> {
        let subnet = self.modifiable_subnet(subnet_id, now)?;
        policy::validate_policy(policy)?;
        if *policy == subnet.policy {
            return Err(RegistryError::NothingToChange);
        }
        self.require_compliance_if_live(&subnet, policy, &subnet.members)
    }

    fn check_status_change(&self, subnet_id: &Principal, to: SubnetStatus, now: u64) -> Result<(), RegistryError> {
        let subnet = self.subnet_at_or_err(subnet_id, now)?;
        lifecycle::check_transition(*subnet_id, subnet.status, to)?;
        if to == SubnetStatus::Live {
            self.require_compliance(&subnet, &subnet.policy, &subnet.members)?;
        }
        Ok(())
    }

    fn modifiable_subnet(&self, subnet_id: &Principal, now: u64) -> Result<Subnet, RegistryError> {
        let subnet = self.subnet_at_or_err(subnet_id, now)?;
        if !lifecycle::modifiable(subnet.status) {
            return Err(RegistryError::SubnetNotModifiable { subnet_id: *subnet_id, status: subnet.status });
        }
        Ok(subnet)
    }

    fn require_compliance_if_live(&self, subnet: &Subnet, policy: &TopologyPolicy, members: &[Principal]) -> Result<(), RegistryError> {
        if subnet.status == SubnetStatus::Live {
            self.require_compliance(subnet, policy, members)
        } else {
            Ok(())
        }
    }

    fn require_compliance(&self, subnet: &Subnet, policy: &TopologyPolicy, members: &[Principal]) -> Result<(), RegistryError> {
        let violations = policy::check(policy, &subnet.jurisdiction, &self.member_facts(members));
        if violations.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::PolicyViolated { subnet_id: subnet.id, violations })
        }
    }

    /// Points each node at `subnet_id` (or frees it).
    fn assign(&mut self, nodes: &[Principal], subnet_id: Option<Principal>, now: u64) {
        for id in nodes {
            let mut node = self.node(id).unwrap_or_else(|| panic!("checked member {id} has no node record"));
            node.subnet_id = subnet_id;
            node.updated_at_ns = now;
            self.put_node(&node);
        }
    }
}

/// Moves `subnet` to `to` (already checked) and keeps its status timestamps.
fn set_status(subnet: &mut Subnet, to: SubnetStatus, now: u64) {
    subnet.status = to;
    subnet.status_changed_at_ns = now;
    match to {
        SubnetStatus::Provisioning => subnet.provisioning_since_ns = Some(now),
        SubnetStatus::Live => {
            subnet.live_since_ns = Some(now);
            subnet.suspended_since_ns = None;
        }
        SubnetStatus::Suspended => {
            subnet.live_since_ns = None;
            subnet.suspended_since_ns = Some(now);
        }
        SubnetStatus::Decommissioned => {
            subnet.suspended_since_ns = None;
            subnet.decommissioned_at_ns = Some(now);
        }
        SubnetStatus::Proposed | SubnetStatus::Approved => {}
    }
}
