//! Records authorities write directly: data centres, node providers and nodes. An update that
//! would make a `Live` subnet break its policy (a data centre moving country or owner, a node
//! changing provider, data centre or SEV chip) is refused with the violations named.

use crate::policy::{self, MemberFacts};
use crate::state::Registry;
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{
    DataCentre, DataCentreInput, Node, NodeInput, NodeProvider, NodeProviderInput, RegistryError, SubnetStatus,
    MAX_DATA_CENTRES, MAX_NAME_LEN, MAX_NODES, MAX_NODE_PROVIDERS, MAX_OWNER_LEN, MAX_REGION_LEN, MAX_SEV_CHIP_ID_LEN,
};

fn validate_data_centre(input: &DataCentreInput) -> Result<(), RegistryError> {
    validate::data_centre_id("data_centre.id", &input.id)?;
    validate::country(&input.country)?;
    validate::region(&input.region, &input.country, MAX_REGION_LEN)?;
    validate::label("data_centre.owner", &input.owner, MAX_OWNER_LEN)?;
    if let Some(gps) = input.gps {
        let ok = (-90.0..=90.0).contains(&gps.latitude) && (-180.0..=180.0).contains(&gps.longitude);
        if !ok {
            return Err(RegistryError::InvalidGps { data_centre: input.id.clone() });
        }
    }
    Ok(())
}

fn validate_provider(input: &NodeProviderInput) -> Result<(), RegistryError> {
    validate::not_anonymous("node_provider.id", &input.id)?;
    validate::label("node_provider.name", &input.name, MAX_NAME_LEN)?;
    validate::country(&input.country)
}

impl<M: Memory> Registry<M> {
    // ---- data centres ----

    pub fn add_data_centre(&mut self, caller: Principal, now: u64, input: DataCentreInput) -> Result<DataCentre, RegistryError> {
        self.require_authority(caller)?;
        validate_data_centre(&input)?;
        if self.data_centre(&input.id).is_some() {
            return Err(RegistryError::DataCentreAlreadyExists { id: input.id });
        }
        validate::room("data_centres", self.data_centres.len(), MAX_DATA_CENTRES)?;
        let dc = DataCentre {
            id: input.id,
            region: input.region,
            country: input.country,
            owner: input.owner,
            gps: input.gps,
            created_at_ns: now,
            updated_at_ns: now,
        };
        self.data_centres.insert(dc.id.clone(), Cbor(dc.clone()));
        self.audit(now, caller, "data_centre_added", &dc);
        Ok(dc)
    }

    pub fn update_data_centre(&mut self, caller: Principal, now: u64, input: DataCentreInput) -> Result<DataCentre, RegistryError> {
        self.require_authority(caller)?;
        validate_data_centre(&input)?;
        let old = self.data_centre(&input.id).ok_or(RegistryError::DataCentreNotFound { id: input.id.clone() })?;
        let id = input.id.clone();
        let (owner, country) = (input.owner.clone(), input.country.clone());
        self.check_live_subnets_after(|f| {
            if f.data_centre == id {
                f.owner = owner.clone();
                f.country = country.clone();
            }
        })?;
        let dc = DataCentre { region: input.region, country: input.country, owner: input.owner, gps: input.gps, updated_at_ns: now, ..old };
        self.data_centres.insert(dc.id.clone(), Cbor(dc.clone()));
        self.audit(now, caller, "data_centre_updated", &dc);
        Ok(dc)
    }

    pub fn remove_data_centre(&mut self, caller: Principal, now: u64, id: String) -> Result<(), RegistryError> {
        self.require_authority(caller)?;
        validate::data_centre_id("data_centre.id", &id)?;
        if self.data_centre(&id).is_none() {
            return Err(RegistryError::DataCentreNotFound { id });
        }
        let nodes = self.nodes.iter().filter(|e| e.value().0.data_centre == id).count();
        if nodes > 0 {
            return Err(RegistryError::DataCentreInUse { id, nodes: nodes as u32 });
        }
        self.data_centres.remove(&id);
        self.audit(now, caller, "data_centre_removed", &id);
        Ok(())
    }

    // ---- node providers ----

    pub fn add_node_provider(&mut self, caller: Principal, now: u64, input: NodeProviderInput) -> Result<NodeProvider, RegistryError> {
        self.require_authority(caller)?;
        validate_provider(&input)?;
        if self.provider(&input.id).is_some() {
            return Err(RegistryError::NodeProviderAlreadyExists { provider: input.id });
        }
        validate::room("node_providers", self.providers.len(), MAX_NODE_PROVIDERS)?;
        let provider =
            NodeProvider { id: input.id, name: input.name, country: input.country, created_at_ns: now, updated_at_ns: now };
        self.providers.insert(provider.id, Cbor(provider.clone()));
        self.audit(now, caller, "node_provider_added", &provider);
        Ok(provider)
    }

    /// Name and country of a provider are not part of any policy, so updates need no subnet check.
    pub fn update_node_provider(&mut self, caller: Principal, now: u64, input: NodeProviderInput) -> Result<NodeProvider, RegistryError> {
        self.require_authority(caller)?;
        validate_provider(&input)?;
        let old = self.provider(&input.id).ok_or(RegistryError::NodeProviderNotFound { provider: input.id })?;
        let provider = NodeProvider { name: input.name, country: input.country, updated_at_ns: now, ..old };
        self.providers.insert(provider.id, Cbor(provider.clone()));
        self.audit(now, caller, "node_provider_updated", &provider);
        Ok(provider)
    }

    pub fn remove_node_provider(&mut self, caller: Principal, now: u64, provider: Principal) -> Result<(), RegistryError> {
        self.require_authority(caller)?;
        if self.provider(&provider).is_none() {
            return Err(RegistryError::NodeProviderNotFound { provider });
        }
        let nodes = self.nodes.iter().filter(|e| e.value().0.provider == provider).count();
        if nodes > 0 {
            return Err(RegistryError::NodeProviderInUse { provider, nodes: nodes as u32 });
        }
        self.providers.remove(&provider);
        self.audit(now, caller, "node_provider_removed", &provider);
        Ok(())
    }

    // ---- nodes ----

    fn validate_node(&self, input: &NodeInput) -> Result<(), RegistryError> {
        validate::not_anonymous("node.id", &input.id)?;
        validate::data_centre_id("node.data_centre", &input.data_centre)?;
        if let Some(chip) = &input.sev_chip_id {
            validate::label("node.sev_chip_id", chip, MAX_SEV_CHIP_ID_LEN)?;
        }
        if self.provider(&input.provider).is_none() {
            return Err(RegistryError::NodeProviderNotFound { provider: input.provider });
        }
        if self.data_centre(&input.data_centre).is_none() {
            return Err(RegistryError::DataCentreNotFound { id: input.data_centre.clone() });
        }
        Ok(())
    }

    pub fn add_node(&mut self, caller: Principal, now: u64, input: NodeInput) -> Result<Node, RegistryError> {
        self.require_authority(caller)?;
        self.validate_node(&input)?;
        if self.node(&input.id).is_some() {
            return Err(RegistryError::NodeAlreadyExists { node_id: input.id });
        }
        validate::room("nodes", self.nodes.len(), MAX_NODES)?;
        let node = Node {
            id: input.id,
            provider: input.provider,
            data_centre: input.data_centre,
            sev_chip_id: input.sev_chip_id,
            subnet_id: None,
            created_at_ns: now,
            updated_at_ns: now,
        };
        self.put_node(&node);
        self.audit(now, caller, "node_added", &node);
        Ok(node)
    }

    /// Changes provider, data centre or SEV chip; its subnet membership is kept.
    pub fn update_node(&mut self, caller: Principal, now: u64, input: NodeInput) -> Result<Node, RegistryError> {
        self.require_authority(caller)?;
        self.validate_node(&input)?;
        let old = self.node_or_err(&input.id)?;
        let updated = Node {
            provider: input.provider,
            data_centre: input.data_centre,
            sev_chip_id: input.sev_chip_id,
            updated_at_ns: now,
            ..old
        };
        let new_facts = self.facts_of(&updated);
        self.check_live_subnets_after(|f| {
            if f.node_id == new_facts.node_id {
                *f = new_facts.clone();
            }
        })?;
        self.put_node(&updated);
        self.audit(now, caller, "node_updated", &updated);
        Ok(updated)
    }

    /// A member of a subnet cannot be removed (take it out by proposal first), nor a node an
    /// open proposal claims.
    pub fn remove_node(&mut self, caller: Principal, now: u64, node_id: Principal) -> Result<(), RegistryError> {
        self.require_authority(caller)?;
        let node = self.node_or_err(&node_id)?;
        if let Some(subnet_id) = node.subnet_id {
            return Err(RegistryError::NodeInSubnet { node_id, subnet_id });
        }
        // An open proposal creating a subnet with it, or adding it to one, would fail.
        if let Some(&proposal_id) = self.claims(now).get(&node_id) {
            return Err(RegistryError::NodeClaimedByProposal { node_id, proposal_id });
        }
        self.remove_node_record(&node_id);
        self.audit(now, caller, "node_removed", &node_id);
        Ok(())
    }

    /// Refuses a record change if, with `patch` applied to the facts of their members, any
    /// `Live` subnet would break its policy.
    fn check_live_subnets_after(&self, patch: impl Fn(&mut MemberFacts)) -> Result<(), RegistryError> {
        for entry in self.subnets.iter() {
            let subnet = entry.value().0;
            if subnet.status != SubnetStatus::Live {
                continue;
            }
            let mut facts = self.member_facts(&subnet.members);
            facts.iter_mut().for_each(&patch);
            let violations = policy::check(&subnet.policy, &subnet.jurisdiction, &facts);
            if !violations.is_empty() {
                return Err(RegistryError::PolicyViolated { subnet_id: subnet.id, violations });
            }
        }
        Ok(())
    }
}
