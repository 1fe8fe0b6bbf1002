//! Attribution of burns to subnet and program, from cached lookups.
//!
//! A canister's attribution needs two answers: its subnet (subnet_registry `placement_of`) and its
//! owner (license_issuer `app_owner`; `None` for the suite's own canisters). Both are cached with
//! the configured expiry. A burn recorded while either answer is missing is `Unattributed` and
//! listed in `pending`; once both answers are in the cache, `attribute_pending_of` moves its sums
//! from `Unattributed` to its subnet and program. A peer that is not configured counts as
//! answered "unknown", so a ledger without a registry still attributes (to `UnknownSubnet`).

use crate::ledger::{Cached, Ledger};
use crate::reports::attributed_scopes;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::burn_ledger::{Attribution, Scope};
use interfaces::license_issuer::AppOwner;

/// Hourly parts one message moves out of `Unattributed`: a report's inline attribution and a
/// whole timer run stop once they moved this many (so at most this plus one burn's 745). A part
/// costs about 0.6 million instructions on the wasm (one bucket removed from, two added to, with
/// their days), so a message stays under about 2.5 billion instructions even when every pending
/// burn covers 31 days — a sixteenth of the update limit.
pub const HOURS_MOVED_PER_MESSAGE: usize = 3_000;

/// Which lookups a canister still needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needed {
    pub owner: Option<Principal>,
    pub placement: Option<Principal>,
}

impl<M: Memory> Ledger<M> {
    fn ttl_ns(&self) -> u64 {
        self.config().attribution_cache_ttl_seconds.saturating_mul(1_000_000_000)
    }

    /// The cached owner answer if not expired (outer `None` = must ask).
    pub fn fresh_owner(&self, canister: &Principal, now_ns: u64) -> Option<Option<AppOwner>> {
        let c = self.owner_cache.get(canister)?.0;
        (now_ns.saturating_sub(c.fetched_at_ns) < self.ttl_ns()).then_some(c.value)
    }

    /// The cached subnet answer if not expired (outer `None` = must ask).
    pub fn fresh_placement(&self, canister: &Principal, now_ns: u64) -> Option<Option<Principal>> {
        let c = self.placement_cache.get(canister)?.0;
        (now_ns.saturating_sub(c.fetched_at_ns) < self.ttl_ns()).then_some(c.value)
    }

    pub fn cache_owner(&mut self, canister: Principal, owner: Option<AppOwner>, now_ns: u64) {
        self.owner_cache.insert(canister, Cbor(Cached { value: owner, fetched_at_ns: now_ns }));
    }

    pub fn cache_placement(&mut self, canister: Principal, subnet: Option<Principal>, now_ns: u64) {
        self.placement_cache.insert(canister, Cbor(Cached { value: subnet, fetched_at_ns: now_ns }));
    }

    /// The callees to ask about `canister` (an unconfigured peer is never asked).
    pub fn needed_lookups(&self, canister: &Principal, now_ns: u64) -> Needed {
        let config = self.config();
        Needed {
            owner: config.license_issuer.filter(|_| self.fresh_owner(canister, now_ns).is_none()),
            placement: config.subnet_registry.filter(|_| self.fresh_placement(canister, now_ns).is_none()),
        }
    }

    /// The attribution the caches give, if both answers are known. The subnet comes from the
    /// registry; for an app the registry does not know, from the license issuer's record.
    pub fn cached_attribution(&self, canister: &Principal, now_ns: u64) -> Option<Attribution> {
        let config = self.config();
        let owner = match config.license_issuer {
            Some(_) => self.fresh_owner(canister, now_ns)?,
            None => None,
        };
        let placement = match config.subnet_registry {
            Some(_) => self.fresh_placement(canister, now_ns)?,
            None => None,
        };
        let subnet_id = placement.or(owner.as_ref().map(|o| o.subnet_id));
        Some(Attribution { subnet_id, owner, attributed_at_ns: now_ns })
    }

    /// Attributes up to `limit` pending burns of `canister` from the caches, within
    /// [`HOURS_MOVED_PER_MESSAGE`]. Returns how many.
    #[cfg(test)]
    pub fn attribute_pending_of(&mut self, canister: Principal, now_ns: u64, limit: usize) -> usize {
        self.attribute_pending_within(canister, now_ns, limit, HOURS_MOVED_PER_MESSAGE).0
    }

    /// Attributes up to `limit` pending burns of `canister` from the caches, stopping once
    /// `max_hours` hourly parts were moved (so at most that plus one burn's 745; nothing when
    /// `max_hours` is 0). Returns the burns attributed and the hourly parts moved.
    pub fn attribute_pending_within(&mut self, canister: Principal, now_ns: u64, limit: usize, max_hours: usize) -> (usize, usize) {
        if max_hours == 0 {
            return (0, 0);
        }
        let Some(attribution) = self.cached_attribution(&canister, now_ns) else { return (0, 0) };
        let mut hours_moved = 0usize;
        let mut done = 0usize;
        for burn_id in self.pending_of(canister, limit) {
            let mut burn = self.burn(burn_id).expect("pending burns are stored");
            let spread = self.spread_of(&burn);
            self.remove_from_scope(&Scope::Unattributed, &spread);
            for scope in attributed_scopes(&attribution) {
                self.add_to_scope(&scope, &spread);
            }
            burn.attribution = Some(attribution.clone());
            self.burns.insert(burn_id, Cbor(burn));
            self.pending.remove(&(canister, burn_id));
            self.core.audit(now_ns, canister, "burn_attributed", &(burn_id, &attribution));
            done += 1;
            hours_moved += spread.hours.len();
            if hours_moved >= max_hours {
                break;
            }
        }
        (done, hours_moved)
    }

    /// Counts a failed lookup on up to `limit` pending burns of `canister`.
    pub fn note_attribution_failure(&mut self, canister: Principal, limit: usize) {
        for burn_id in self.pending_of(canister, limit) {
            let mut burn = self.burn(burn_id).expect("pending burns are stored");
            burn.attribution_attempts = burn.attribution_attempts.saturating_add(1);
            self.burns.insert(burn_id, Cbor(burn));
        }
    }

    fn pending_of(&self, canister: Principal, limit: usize) -> Vec<u64> {
        self.pending.range((canister, 0)..).take_while(|e| e.key().0 == canister).take(limit).map(|e| e.key().1).collect()
    }

    /// Up to `max` distinct canisters with pending burns, in principal order.
    pub fn pending_canisters(&self, max: usize) -> Vec<Principal> {
        let mut out: Vec<Principal> = Vec::new();
        let mut from = None;
        while out.len() < max {
            let next = match from {
                None => self.pending.first_key_value().map(|(k, _)| k.0),
                Some(prev) => self.pending.range((prev, u64::MAX)..).find(|e| e.key().0 != prev).map(|e| e.key().0),
            };
            let Some(c) = next else { break };
            out.push(c);
            from = Some(c);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;
    use interfaces::burn_ledger::{ScopeKind, UsageReport};
    use interfaces::license_issuer::Sector;

    const S: u64 = 1_000_000_000;
    const NOW: u64 = 1_000_000 * S;

    fn report(sequence: u64, cycles: u128) -> UsageReport {
        UsageReport {
            sequence,
            period_start_ns: NOW - (100 - sequence) * 60 * S,
            period_end_ns: NOW - (99 - sequence) * 60 * S,
            cycles_consumed: cycles,
            instructions: None,
            bytes_stored: None,
            messages_handled: None,
        }
    }

    fn owner(canister: Principal, program_id: u64, subnet: Principal) -> AppOwner {
        AppOwner {
            canister,
            app_id: 1,
            license_id: 2,
            program_id,
            institution_id: 3,
            sector: Sector::Education,
            holder: p(77),
            subnet_id: subnet,
        }
    }

    #[test]
    fn cached_answers_attribute_at_record_time() {
        let (mut l, _) = installed();
        let app = p(60);
        l.cache_owner(app, Some(owner(app, 5, p(20))), NOW);
        l.cache_placement(app, Some(p(21)), NOW);
        let rec = l.record_report(app, report(1, 100), NOW).unwrap();
        assert!(rec.receipt.attributed);
        let a = l.burn(0).unwrap().attribution.unwrap();
        assert_eq!(a.subnet_id, Some(p(21)), "the registry's answer wins");
        assert_eq!(l.totals(&Scope::Program(5)).cycles, 100);
        assert_eq!(l.totals(&Scope::Subnet(p(21))).cycles, 100);
    }

    #[test]
    fn failed_lookups_leave_burns_pending_then_the_retry_moves_them() {
        let (mut l, _) = installed();
        let app = p(60);
        l.record_report(app, report(1, 100), NOW).unwrap();
        l.record_report(p(MESSAGING), report(1, 40), NOW).unwrap();
        l.record_report(app, report(2, 60), NOW).unwrap();
        assert_eq!(l.pending_canisters(10), vec![p(MESSAGING), app]);
        assert_eq!(l.pending_canisters(1), vec![p(MESSAGING)]);
        assert_eq!(l.needed_lookups(&app, NOW), Needed { owner: Some(p(ISSUER)), placement: Some(p(REGISTRY)) });
        // The lookups fail: nothing attributed, attempts counted.
        l.note_attribution_failure(app, 10);
        assert_eq!(l.attribute_pending_of(app, NOW, 10), 0);
        assert_eq!(l.burn(0).unwrap().attribution_attempts, 1);
        // Later they succeed (registry does not know the app: the issuer's subnet is used).
        l.cache_owner(app, Some(owner(app, 5, p(20))), NOW + S);
        l.cache_placement(app, None, NOW + S);
        assert_eq!(l.needed_lookups(&app, NOW + S), Needed { owner: None, placement: None });
        assert_eq!(l.attribute_pending_of(app, NOW + S, 1), 1, "bounded batch");
        assert_eq!(l.attribute_pending_of(app, NOW + S, 10), 1);
        assert_eq!(l.attribute_pending_of(app, NOW + S, 10), 0, "idempotent");
        assert_eq!(l.totals(&Scope::Program(5)).cycles, 160);
        assert_eq!(l.totals(&Scope::Subnet(p(20))).cycles, 160);
        assert_eq!(l.totals(&Scope::Unattributed).cycles, 40);
        // The suite peer: no owner, no placement.
        l.cache_owner(p(MESSAGING), None, NOW + S);
        l.cache_placement(p(MESSAGING), None, NOW + S);
        l.attribute_pending_of(p(MESSAGING), NOW + S, 10);
        assert_eq!(l.totals(&Scope::NoProgram).cycles, 40);
        assert_eq!(l.totals(&Scope::UnknownSubnet).cycles, 40);
        assert_eq!(l.totals(&Scope::Unattributed).cycles, 0);
        assert!(l.pending.is_empty());
        // Per subnet and per program, the lines add up to the suite.
        let suite = l.totals(&Scope::Suite).cycles;
        let subnets: u128 = l.list_totals(ScopeKind::Subnet, None, 100).iter().map(|(_, s)| s.cycles).sum();
        let programs: u128 = l.list_totals(ScopeKind::Program, None, 100).iter().map(|(_, s)| s.cycles).sum();
        assert_eq!(subnets + l.totals(&Scope::UnknownSubnet).cycles, suite);
        assert_eq!(programs + l.totals(&Scope::NoProgram).cycles, suite);
    }

    #[test]
    fn long_burns_move_within_the_hour_budget() {
        let (mut l, _) = installed();
        let app = p(60);
        let month = 31 * 24 * 3600 * S;
        let now = 10_000 * 3600 * S; // an hour boundary
        for i in 0..3u64 {
            let start = now - (3 - i) * month;
            let r = UsageReport { sequence: i + 1, period_start_ns: start, period_end_ns: start + month, ..report(1, 7) };
            l.record_report(app, r, now).unwrap();
        }
        l.cache_owner(app, None, now);
        l.cache_placement(app, None, now);
        assert_eq!(l.attribute_pending_within(app, now, 10, 0), (0, 0), "no budget, no work");
        // 744 hours each (aligned 31-day periods): the budget is passed by the second burn.
        assert_eq!(l.attribute_pending_within(app, now, 10, 1_000), (2, 1_488));
        assert_eq!(l.attribute_pending_within(app, now, 10, 1_000), (1, 744));
        assert_eq!(l.totals(&Scope::Unattributed).cycles, 0);
        assert_eq!(l.totals(&Scope::NoProgram).cycles, 21);
    }

    #[test]
    fn cache_entries_expire() {
        let (mut l, _) = installed();
        l.cache_owner(p(60), None, NOW);
        assert_eq!(l.fresh_owner(&p(60), NOW + 6 * 3600 * S - 1), Some(None));
        assert_eq!(l.fresh_owner(&p(60), NOW + 6 * 3600 * S), None);
    }
}
