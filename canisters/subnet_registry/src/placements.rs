//! Canister placements: which subnet a canister runs on, recorded by the configured recorders
//! (the license issuer) and readable by anyone (the burn ledger attributes burn with it).

use crate::index::{subnet_range, PairKey};
use crate::state::{page, page_counted, Registry};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::subnet_registry::{Placement, PlacementPage, PlacementQuery, RegistryError, SubnetStatus, MAX_PLACEMENTS};

impl<M: Memory> Registry<M> {
    /// Records `canister` (a canister id) on the `Live` subnet `subnet_id`. Recording the same
    /// placement again returns the existing one unchanged, so a recorder can retry safely.
    /// Reads the subnet's fixed-size head, not its record; keeps `placements_by_subnet` and the
    /// subnet's placement count with the placement.
    pub fn record_placement(&mut self, caller: Principal, now: u64, canister: Principal, subnet_id: Principal) -> Result<Placement, RegistryError> {
        if !self.config().placement_recorders.contains(&caller) {
            return Err(RegistryError::NotAuthorized { caller, required: "placement recorder".into() });
        }
        validate::canister_id("canister", &canister)?;
        let not_found = RegistryError::SubnetNotFound { subnet_id };
        let mut head = self.head(&subnet_id).ok_or_else(|| not_found.clone())?;
        if head.status == SubnetStatus::Proposed && !self.is_open_at(head.created_by_proposal, now) {
            return Err(not_found);
        }
        if let Some(existing) = self.placement_of(&canister) {
            return if existing.subnet_id == subnet_id {
                Ok(existing)
            } else {
                Err(RegistryError::CanisterAlreadyPlaced { canister, subnet_id: existing.subnet_id })
            };
        }
        if head.status != SubnetStatus::Live {
            return Err(RegistryError::SubnetNotLive { subnet_id, status: head.status });
        }
        validate::room("placements", self.placements.len(), MAX_PLACEMENTS)?;
        let placement = Placement { canister, subnet_id, recorded_by: caller, recorded_at_ns: now };
        self.placements.insert(canister, Cbor(placement.clone()));
        self.placements_by_subnet.insert(PairKey::new(&subnet_id, &canister), ());
        head.placements += 1;
        self.subnet_heads.insert(subnet_id, head);
        self.audit(now, caller, "placement_recorded", &placement);
        Ok(placement)
    }

    pub fn placement_of(&self, canister: &Principal) -> Option<Placement> {
        self.placements.get(canister).map(|c| c.0)
    }

    /// Placements in canister order, or one subnet's in canister order. With the indexes built,
    /// the total comes from a counter and only the page is read and decoded.
    pub fn list_placements(&self, query: &PlacementQuery) -> PlacementPage {
        let (start, _) = query.page.bounds();
        let skip = usize::try_from(start).unwrap_or(usize::MAX);
        let (items, total, next_start) = match query.subnet_id {
            _ if !self.indexes_ready() => self.scan_placements(query),
            None => page_counted(self.placements.iter().skip(skip).map(|e| e.value().0), self.placements.len(), &query.page),
            Some(s) => {
                let total = self.subnet_heads.get(&s).map_or(0, |h| h.placements);
                let canisters = self.placements_by_subnet.keys_range(subnet_range(&s)).take_while(|k| k.first() == s).skip(skip);
                let items = canisters.map(|k| self.placement_of(&k.second()).expect("indexed placement exists"));
                page_counted(items, total, &query.page)
            }
        };
        PlacementPage { items, total, next_start }
    }

    /// `list_placements` by a scan of every placement (while the migration builds the indexes).
    fn scan_placements(&self, query: &PlacementQuery) -> (Vec<Placement>, u64, Option<u64>) {
        let matching = self.placements.iter().map(|e| e.value().0).filter(|p| query.subnet_id.is_none_or(|s| p.subnet_id == s));
        page(matching, &query.page)
    }
}
