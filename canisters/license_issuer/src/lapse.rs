//! Timed transitions (offer expiry, end of term, idle reclaim) as of a given time.
//!
//! A transition takes effect at its deadline, not when the housekeeping timer gets to it: every
//! query and every update check reads licenses and seat counts through this module, so nobody
//! ever sees a license `Active` past its term or an expired offer holding a seat. The timer
//! only records (materialises) what is already in effect, with the same function, so what it
//! stores equals what readers saw before it ran.

use crate::state::LicenseState;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::license_issuer::{EndReason, License, LicenseStatus, SeatCounts};
use std::collections::BTreeSet;

pub const SECOND_NS: u64 = 1_000_000_000;
pub const DAY_NS: u64 = 24 * 3600 * SECOND_NS;

pub fn days_ns(days: u32) -> u64 {
    u64::from(days).saturating_mul(DAY_NS)
}

/// When an active license becomes idle-reclaimable.
fn idle_deadline(l: &License, idle_days: u32) -> u64 {
    l.last_activity_ns.saturating_add(days_ns(idle_days))
}

/// The license as it stands at `now` if a deadline has passed (`None`: nothing is due). An
/// offer expires once `now > offer_expires_at_ns` (it can be accepted up to that instant); a
/// term ends at `now >= expires_at_ns`; an active license is reclaimed at `now >=
/// last_activity + idle_days`. With both of the last two due, the earlier wins (a tie: the term).
pub fn lapsed(l: &License, idle_days: u32, now: u64) -> Option<License> {
    let (status, reason, at) = match l.status {
        LicenseStatus::Offered if now > l.offer_expires_at_ns => {
            (LicenseStatus::Expired, EndReason::OfferExpired, l.offer_expires_at_ns)
        }
        LicenseStatus::Active | LicenseStatus::Suspended => {
            let term = l.expires_at_ns.filter(|end| *end <= now);
            let idle = Some(idle_deadline(l, idle_days)).filter(|t| l.status == LicenseStatus::Active && *t <= now);
            match (term, idle) {
                (Some(end), Some(idle_at)) if idle_at < end => idle_reclaim(l, idle_days, idle_at),
                (Some(end), _) => (LicenseStatus::Expired, EndReason::TermEnded, end),
                (None, Some(idle_at)) => idle_reclaim(l, idle_days, idle_at),
                (None, None) => return None,
            }
        }
        _ => return None,
    };
    let mut after = l.clone();
    after.status = status;
    after.end_reason = Some(reason);
    after.ended_at_ns = Some(at);
    after.suspension_reason = None;
    Some(after)
}

fn idle_reclaim(l: &License, idle_days: u32, at: u64) -> (LicenseStatus, EndReason, u64) {
    (LicenseStatus::Revoked, EndReason::IdleReclaimed { last_activity_ns: l.last_activity_ns, idle_days }, at)
}

/// The license as it stands at `now`.
pub fn effective(l: License, idle_days: u32, now: u64) -> License {
    lapsed(&l, idle_days, now).unwrap_or(l)
}

/// A due transition: the stored license and the license as it stands now.
pub type Lapse = (License, License);

/// Moves one license from `from` to `to` in `counts`.
pub fn move_count(counts: &mut SeatCounts, from: LicenseStatus, to: LicenseStatus) {
    if from == to {
        return;
    }
    *slot(counts, from) -= 1;
    if from.holds_seat() {
        counts.in_use -= 1;
    }
    *slot(counts, to) += 1;
    if to.holds_seat() {
        counts.in_use += 1;
    }
}

/// Applies a lapse to `counts` (status move, and the idle-reclaim tally).
pub fn count_lapse(counts: &mut SeatCounts, (before, after): &Lapse) {
    move_count(counts, before.status, after.status);
    if matches!(after.end_reason, Some(EndReason::IdleReclaimed { .. })) {
        counts.idle_reclaimed += 1;
    }
}

pub fn slot(s: &mut SeatCounts, status: LicenseStatus) -> &mut u64 {
    match status {
        LicenseStatus::Offered => &mut s.offered,
        LicenseStatus::Active => &mut s.active,
        LicenseStatus::Suspended => &mut s.suspended,
        LicenseStatus::Revoked => &mut s.revoked,
        LicenseStatus::Expired => &mut s.expired,
    }
}

impl<M: Memory> LicenseState<M> {
    pub fn idle_days(&self) -> u32 {
        self.config().idle_reclaim_days
    }

    /// One license as it stands at `now`.
    pub fn license_at(&self, license_id: u64, now: u64) -> Result<License, interfaces::license_issuer::LicenseError> {
        Ok(effective(self.license(license_id)?, self.idle_days(), now))
    }

    /// Ids of licenses with a transition due at `now`, at most `limit`, found through the
    /// deadline indexes (offers, terms, activity), so the cost is that of what is due.
    pub fn due_ids(&self, now: u64, limit: usize) -> Vec<u64> {
        let idle = days_ns(self.idle_days());
        let mut ids = BTreeSet::new();
        let offers = self.offer_deadlines.keys().take_while(|(t, _)| *t < now);
        let terms = self.term_deadlines.keys().take_while(|(t, _)| *t <= now);
        let idle = self.activity.keys().take_while(|(t, _)| t.saturating_add(idle) <= now);
        for (_, id) in offers.chain(terms).chain(idle) {
            if ids.len() >= limit {
                break;
            }
            ids.insert(id);
        }
        ids.into_iter().collect()
    }

    /// Every transition due at `now` and not yet recorded.
    pub fn due_lapses(&self, now: u64) -> Vec<Lapse> {
        let idle_days = self.idle_days();
        self.due_ids(now, usize::MAX)
            .into_iter()
            .filter_map(|id| {
                let before = self.license(id).ok()?;
                let after = lapsed(&before, idle_days, now)?;
                Some((before, after))
            })
            .collect()
    }

    /// A program's seat counts at the time `lapses` were computed for.
    pub fn seats_with(&self, program_id: u64, lapses: &[Lapse]) -> SeatCounts {
        let mut seats = self.seats_of(program_id);
        lapses.iter().filter(|(b, _)| b.program_id == program_id).for_each(|l| count_lapse(&mut seats, l));
        seats
    }

    /// The global totals at the time `lapses` were computed for.
    pub fn totals_with(&self, lapses: &[Lapse]) -> SeatCounts {
        let mut totals = self.totals();
        lapses.iter().for_each(|l| count_lapse(&mut totals, l));
        totals
    }

    /// Records a due transition (the housekeeping timer), logged with its reason.
    pub fn record_lapse(&mut self, (before, after): &Lapse, now: u64, actor: Principal) {
        if let Some(EndReason::IdleReclaimed { .. }) = &after.end_reason {
            self.replace_license_and_count(before, after, Some(&|c| c.idle_reclaimed += 1));
        } else {
            self.replace_license(before, after);
        }
        let id = after.id;
        match &after.end_reason {
            Some(EndReason::OfferExpired) => self.audit(now, actor, "offer_expired", &id),
            Some(EndReason::TermEnded) => self.audit(now, actor, "license_term_ended", &id),
            Some(reason) => self.audit(now, actor, "license_idle_reclaimed", &(id, reason)),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use interfaces::license_issuer::*;

    fn license(status: LicenseStatus) -> License {
        License {
            id: 1,
            program_id: 1,
            holder: Principal::from_slice(&[9; 29]),
            status,
            terms: LicenseTerms {
                policy_id: 1,
                policy_version: 1,
                duration_days: 10,
                entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 0 },
            },
            offered_by: Principal::from_slice(&[8; 29]),
            offered_at_ns: 0,
            offer_expires_at_ns: 100,
            accepted_at_ns: Some(50),
            expires_at_ns: Some(50 + 10 * DAY_NS),
            last_activity_ns: 50,
            suspension_reason: None,
            end_reason: None,
            ended_at_ns: None,
            app_ids: vec![],
            renewals: 0,
        }
    }

    #[test]
    fn offers_expire_just_after_their_deadline() {
        let mut l = license(LicenseStatus::Offered);
        l.accepted_at_ns = None;
        l.expires_at_ns = None;
        assert_eq!(lapsed(&l, 90, 100), None, "acceptable up to the instant");
        let e = lapsed(&l, 90, 101).unwrap();
        assert_eq!((e.status, e.end_reason, e.ended_at_ns), (LicenseStatus::Expired, Some(EndReason::OfferExpired), Some(100)));
    }

    #[test]
    fn the_earlier_of_term_end_and_idle_reclaim_wins() {
        let l = license(LicenseStatus::Active);
        let end = 50 + 10 * DAY_NS;
        assert_eq!(lapsed(&l, 90, end - 1), None);
        let e = lapsed(&l, 90, end).unwrap();
        assert_eq!((e.status, e.ended_at_ns), (LicenseStatus::Expired, Some(end)));
        // Idle after 3 days, long before the term ends.
        let e = lapsed(&l, 3, end + 5).unwrap();
        assert_eq!((e.status, e.ended_at_ns), (LicenseStatus::Revoked, Some(50 + 3 * DAY_NS)));
        assert_eq!(e.end_reason, Some(EndReason::IdleReclaimed { last_activity_ns: 50, idle_days: 3 }));
        // A tie goes to the term.
        assert_eq!(lapsed(&l, 10, end).unwrap().end_reason, Some(EndReason::TermEnded));
    }

    #[test]
    fn suspended_licenses_only_end_with_their_term_and_ended_ones_never_change() {
        let mut l = license(LicenseStatus::Suspended);
        l.suspension_reason = Some("audit".into());
        assert_eq!(lapsed(&l, 1, 5 * DAY_NS), None, "no idle reclaim while suspended");
        let e = lapsed(&l, 1, 11 * DAY_NS).unwrap();
        assert_eq!((e.status, e.suspension_reason), (LicenseStatus::Expired, None));
        for status in [LicenseStatus::Revoked, LicenseStatus::Expired] {
            assert_eq!(lapsed(&license(status), 1, u64::MAX), None);
        }
    }
}
