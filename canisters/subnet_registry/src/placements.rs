//! Canister placements: which subnet a canister runs on, recorded by the configured recorders
//! (the license issuer) and readable by anyone (the burn ledger attributes burn with it).

use crate::state::{page, Registry};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{Placement, PlacementPage, PlacementQuery, RegistryError, SubnetStatus, MAX_PLACEMENTS};

impl<M: Memory> Registry<M> {
    /// Records `canister` (a canister id) on the `Live` subnet `subnet_id`. Recording the same
    /// placement again returns the existing one unchanged, so a recorder can retry safely.
    pub fn record_placement(&mut self, caller: Principal, now: u64, canister: Principal, subnet_id: Principal) -> Result<Placement, RegistryError> {
        if !self.config().placement_recorders.contains(&caller) {
            return Err(RegistryError::NotAuthorized { caller, required: "placement recorder".into() });
        }
        validate::canister_id("canister", &canister)?;
        let subnet = self.subnet_at_or_err(&subnet_id, now)?;
        if let Some(existing) = self.placement_of(&canister) {
            return if existing.subnet_id == subnet_id {
                Ok(existing)
            } else {
                Err(RegistryError::CanisterAlreadyPlaced { canister, subnet_id: existing.subnet_id })
            };
        }
        if subnet.status != SubnetStatus::Live {
            return Err(RegistryError::SubnetNotLive { subnet_id, status: subnet.status });
        }
        validate::room("placements", self.placements.len(), MAX_PLACEMENTS)?;
        let placement = Placement { canister, subnet_id, recorded_by: caller, recorded_at_ns: now };
        self.placements.insert(canister, Cbor(placement.clone()));
        self.audit(now, caller, "placement_recorded", &placement);
        Ok(placement)
    }

    pub fn placement_of(&self, canister: &Principal) -> Option<Placement> {
        self.placements.get(canister).map(|c| c.0)
    }

    pub fn list_placements(&self, query: &PlacementQuery) -> PlacementPage {
        let matching = self
            .placements
            .iter()
            .map(|e| e.value().0)
            .filter(|p| query.subnet_id.is_none_or(|s| p.subnet_id == s));
        let (items, total, next_start) = page(matching, &query.page);
        PlacementPage { items, total, next_start }
    }
}
