//! The license lifecycle: `Offered → Active ⇄ Suspended → Revoked | Expired`, renewals, holder
//! activity, and recording the timed transitions (offer expiry, end of term, idle reclaim).
//!
//! Seats: an offer takes a seat of its program and of the global cap; the seat is held while the
//! license is offered, active or suspended and returns to the pool when it is revoked or expires.
//! Every check reads licenses and counts as they stand now (`lapse.rs`: a deadline that passed
//! is in effect before the timer records it) and happens before any write, so a refused call
//! changes nothing.

use crate::apps;
use crate::lapse::{days_ns, Lapse};
use crate::state::{require_signed, LicenseState};
use crate::validate;
use candid::Principal;
use ic_stable_structures::Memory;
use interfaces::license_issuer::*;

use crate::lapse::SECOND_NS;

fn terms_of(policy: &Policy) -> LicenseTerms {
    LicenseTerms {
        policy_id: policy.id,
        policy_version: policy.version,
        duration_days: policy.duration_days,
        entitlements: policy.entitlements.clone(),
    }
}

fn invalid(license: &License, action: &str) -> LicenseError {
    LicenseError::InvalidStatus { license_id: license.id, status: license.status, action: action.into() }
}

/// The license as it stands at `now`, if `caller` manages its program (or is an authority).
fn managed<M: Memory>(s: &LicenseState<M>, caller: Principal, now: u64, license_id: u64) -> Result<License, LicenseError> {
    require_signed(caller)?;
    let license = s.license_at(license_id, now)?;
    let program = s.program(license.program_id)?;
    s.require_manager(caller, &program)?;
    Ok(license)
}

/// The license as it stands at `now`, if `caller` is its holder.
pub fn held<M: Memory>(s: &LicenseState<M>, caller: Principal, now: u64, license_id: u64) -> Result<License, LicenseError> {
    require_signed(caller)?;
    let license = s.license_at(license_id, now)?;
    if license.holder != caller {
        return Err(LicenseError::NotAuthorized { caller, required: Role::Holder { license_id } });
    }
    Ok(license)
}

/// A manager offers a seat of the program to `holder`, who must accept before the offer expires.
/// Seats are counted as they stand at `now`: a lapsed license no longer holds one.
pub fn offer_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    program_id: u64,
    holder: Principal,
) -> Result<License, LicenseError> {
    require_signed(caller)?;
    let program = s.program(program_id)?;
    s.require_manager(caller, &program)?;
    validate::signed_principal("holder", holder)?;
    let institution = s.institution(program.institution_id)?;
    if !institution.verified {
        return Err(LicenseError::InstitutionNotVerified { institution_id: institution.id });
    }
    let lapses: Vec<Lapse> = s.due_lapses(now);
    if let Some(license_id) = s.live_by_holder.get(&(holder, program_id)) {
        if !lapses.iter().any(|(b, _)| b.id == license_id) {
            return Err(LicenseError::HolderAlreadyLicensed { holder, program_id, license_id });
        }
    }
    let in_program = s.seats_with(program_id, &lapses).in_use;
    if in_program >= u64::from(program.seat_quota) {
        return Err(LicenseError::ProgramQuotaReached { program_id, quota: program.seat_quota, in_use: in_program });
    }
    let config = s.config();
    let in_use = s.totals_with(&lapses).in_use;
    if in_use >= u64::from(config.global_seat_cap) {
        return Err(LicenseError::GlobalCapReached { cap: config.global_seat_cap, in_use });
    }
    let policy = s.policy(program.policy_id)?;
    let id = s.new_license_id();
    let license = License {
        id,
        program_id,
        holder,
        status: LicenseStatus::Offered,
        terms: terms_of(&policy),
        offered_by: caller,
        offered_at_ns: now,
        offer_expires_at_ns: now.saturating_add(config.offer_ttl_seconds.saturating_mul(SECOND_NS)),
        accepted_at_ns: None,
        expires_at_ns: None,
        last_activity_ns: now,
        suspension_reason: None,
        end_reason: None,
        ended_at_ns: None,
        app_ids: vec![],
        renewals: 0,
    };
    s.insert_license(&license, |c| c.offers_made += 1);
    s.audit(now, caller, "license_offered", &license);
    Ok(license)
}

/// The holder accepts its offer: the license becomes active and its term starts.
pub fn accept_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
) -> Result<License, LicenseError> {
    let before = held(s, caller, now, license_id)?;
    if before.end_reason == Some(EndReason::OfferExpired) {
        return Err(LicenseError::OfferExpired { license_id, expired_at_ns: before.offer_expires_at_ns });
    }
    if before.status != LicenseStatus::Offered {
        return Err(invalid(&before, "accept"));
    }
    let mut after = before.clone();
    after.status = LicenseStatus::Active;
    after.accepted_at_ns = Some(now);
    after.expires_at_ns = Some(now.saturating_add(days_ns(after.terms.duration_days)));
    after.last_activity_ns = now;
    s.replace_license_and_count(&before, &after, Some(&|c| c.offers_accepted += 1));
    s.audit(now, caller, "license_accepted", &(license_id, after.expires_at_ns));
    Ok(after)
}

pub fn suspend_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
    reason: String,
) -> Result<License, LicenseError> {
    let before = managed(s, caller, now, license_id)?;
    validate::text("reason", &reason, MAX_REASON_LEN)?;
    if before.status != LicenseStatus::Active {
        return Err(invalid(&before, "suspend"));
    }
    let mut after = before.clone();
    after.status = LicenseStatus::Suspended;
    after.suspension_reason = Some(reason.clone());
    s.replace_license(&before, &after);
    s.audit(now, caller, "license_suspended", &(license_id, reason));
    Ok(after)
}

/// Reinstates a suspended license. Its idle clock restarts now: the holder could not be active
/// while suspended.
pub fn reinstate_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
) -> Result<License, LicenseError> {
    let before = managed(s, caller, now, license_id)?;
    if before.status != LicenseStatus::Suspended {
        return Err(invalid(&before, "reinstate"));
    }
    let mut after = before.clone();
    after.status = LicenseStatus::Active;
    after.suspension_reason = None;
    after.last_activity_ns = now;
    s.replace_license(&before, &after);
    s.audit(now, caller, "license_reinstated", &license_id);
    Ok(after)
}

/// Revokes an offered, active or suspended license; its seat returns to the program's pool. Its
/// apps stay recorded (they were its output, and their burn stays attributable).
pub fn revoke_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
    reason: String,
) -> Result<License, LicenseError> {
    let before = managed(s, caller, now, license_id)?;
    validate::text("reason", &reason, MAX_REASON_LEN)?;
    if !before.status.holds_seat() {
        return Err(invalid(&before, "revoke"));
    }
    let mut after = before.clone();
    after.status = LicenseStatus::Revoked;
    after.end_reason = Some(EndReason::Revoked { by: caller, reason });
    after.ended_at_ns = Some(now);
    after.suspension_reason = None;
    s.replace_license(&before, &after);
    s.audit(now, caller, "license_revoked", &(license_id, &after.end_reason));
    Ok(after)
}

/// Extends an active or suspended license by one term from its current end (a license whose
/// term has ended is `Expired` and cannot be renewed). With `adopt_current_policy` the license
/// takes its program's current policy terms; only an authority may ask for that, since it
/// changes an issued license's entitlements, and it is refused while the license has more apps
/// (registered, pending or in flight) than the new terms allow.
pub fn renew_license<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
    adopt_current_policy: bool,
) -> Result<License, LicenseError> {
    let before = managed(s, caller, now, license_id)?;
    if adopt_current_policy && !s.is_authority(caller) {
        return Err(LicenseError::NotAuthorized { caller, required: Role::Authority });
    }
    if !matches!(before.status, LicenseStatus::Active | LicenseStatus::Suspended) {
        return Err(invalid(&before, "renew"));
    }
    let mut after = before.clone();
    if adopt_current_policy {
        let program = s.program(before.program_id)?;
        after.terms = terms_of(&s.policy(program.policy_id)?);
        let apps = apps::apps_used(s, &before, None);
        let max_apps = after.terms.entitlements.max_apps;
        if apps > max_apps {
            return Err(LicenseError::AppsExceedEntitlement { license_id, apps, max_apps });
        }
    }
    let from = before.expires_at_ns.unwrap_or(now).max(now);
    after.expires_at_ns = Some(from.saturating_add(days_ns(after.terms.duration_days)));
    after.renewals = after.renewals.saturating_add(1);
    s.replace_license(&before, &after);
    s.audit(now, caller, "license_renewed", &(license_id, after.expires_at_ns, &after.terms));
    Ok(after)
}

/// The holder reports activity (building, deploying): keeps the seat from being reclaimed as idle.
/// No audit entry: activity is not a change of rights.
pub fn record_activity<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    license_id: u64,
) -> Result<License, LicenseError> {
    let before = held(s, caller, now, license_id)?;
    if before.status != LicenseStatus::Active {
        return Err(LicenseError::LicenseNotActive { license_id, status: before.status });
    }
    let mut after = before.clone();
    after.last_activity_ns = after.last_activity_ns.max(now);
    s.replace_license(&before, &after);
    Ok(after)
}

/// Records the timed transitions due at `now` (at most `budget`): expired offers, ended terms,
/// and active licenses idle for `config.idle_reclaim_days` (reclaimed with the reason logged).
/// They are in effect for readers already (`lapse.rs`); recording them frees the indexes and
/// makes the stored counts equal the effective ones. Idempotent.
pub fn housekeeping<M: Memory>(s: &mut LicenseState<M>, now: u64, actor: Principal, budget: u32) -> HousekeepingOutcome {
    let ids = s.due_ids(now, budget as usize);
    let idle_days = s.idle_days();
    let mut out = HousekeepingOutcome::default();
    for id in &ids {
        let Ok(before) = s.license(*id) else { continue };
        let Some(after) = crate::lapse::lapsed(&before, idle_days, now) else { continue };
        match after.end_reason {
            Some(EndReason::OfferExpired) => out.offers_expired += 1,
            Some(EndReason::TermEnded) => out.terms_ended += 1,
            _ => out.idle_reclaimed += 1,
        }
        s.record_lapse(&(before, after), now, actor);
    }
    // Only a full run can leave more due (an index entry that is not due would otherwise make
    // the timer re-run forever).
    let recorded = out.offers_expired + out.terms_ended + out.idle_reclaimed;
    out.more_due = recorded == budget && !s.due_ids(now, 1).is_empty();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin;
    use crate::lapse::DAY_NS;
    use crate::state::test_support::*;

    fn offer(s: &mut LicenseState<ic_stable_structures::VectorMemory>, program: u64, holder: u8) -> Result<License, LicenseError> {
        offer_license(s, p(MANAGER), 10, program, p(holder))
    }

    #[test]
    fn offer_accept_and_the_term_starts_on_acceptance() {
        let mut s = state_with_cap(10);
        let [prog] = with_programs(&mut s, &[(Sector::Education, 5)])[..] else { panic!() };
        let l = offer(&mut s, prog, 50).unwrap();
        assert_eq!((l.status, l.expires_at_ns), (LicenseStatus::Offered, None));
        assert_eq!(s.totals().in_use, 1, "an offer holds a seat");
        let now = 100 * SECOND_NS;
        let a = accept_license(&mut s, p(50), now, l.id).unwrap();
        assert_eq!(a.status, LicenseStatus::Active);
        assert_eq!(a.expires_at_ns, Some(now + 365 * DAY_NS));
        let seats = s.seats_of(prog);
        assert_eq!((seats.offered, seats.active, seats.in_use, seats.offers_made, seats.offers_accepted), (0, 1, 1, 1, 1));
    }

    #[test]
    fn nobody_else_accepts_and_expired_offers_cannot_be_accepted() {
        let mut s = state_with_cap(10);
        let [prog] = with_programs(&mut s, &[(Sector::Startup, 5)])[..] else { panic!() };
        let l = offer(&mut s, prog, 50).unwrap();
        assert_eq!(
            accept_license(&mut s, p(51), 20, l.id),
            Err(LicenseError::NotAuthorized { caller: p(51), required: Role::Holder { license_id: l.id } })
        );
        let late = l.offer_expires_at_ns + 1;
        assert_eq!(
            accept_license(&mut s, p(50), late, l.id),
            Err(LicenseError::OfferExpired { license_id: l.id, expired_at_ns: l.offer_expires_at_ns })
        );
        assert_eq!(s.license(l.id).unwrap(), l, "refusals change nothing");
        assert_eq!(accept_license(&mut s, Principal::anonymous(), 20, l.id), Err(LicenseError::AnonymousCaller));
    }

    #[test]
    fn global_cap_and_program_quota_are_never_exceeded() {
        let mut s = state_with_cap(3);
        let progs = with_programs(&mut s, &[(Sector::Government, 2), (Sector::Education, 2)]);
        // Quotas sum to 4 > cap 3: allowed; issued seats may not exceed 3.
        offer(&mut s, progs[0], 50).unwrap();
        offer(&mut s, progs[1], 51).unwrap();
        offer(&mut s, progs[0], 52).unwrap();
        assert_eq!(
            offer(&mut s, progs[0], 53),
            Err(LicenseError::ProgramQuotaReached { program_id: progs[0], quota: 2, in_use: 2 })
        );
        let audit = s.core.audit_len();
        assert_eq!(offer(&mut s, progs[1], 54), Err(LicenseError::GlobalCapReached { cap: 3, in_use: 3 }));
        assert_eq!(s.core.audit_len(), audit, "refusal changed nothing");
        let (per, all) = recount(&s);
        assert_eq!(all, 3);
        assert_eq!(s.totals().in_use, 3);
        assert_eq!(per[&progs[0]], s.seats_of(progs[0]).in_use);
    }

    #[test]
    fn one_live_license_per_holder_per_program() {
        let mut s = state_with_cap(10);
        let progs = with_programs(&mut s, &[(Sector::Education, 5), (Sector::Startup, 5)]);
        let first = offer(&mut s, progs[0], 50).unwrap();
        accept_license(&mut s, p(50), 11, first.id).unwrap();
        assert_eq!(
            offer(&mut s, progs[0], 50),
            Err(LicenseError::HolderAlreadyLicensed { holder: p(50), program_id: progs[0], license_id: first.id })
        );
        offer(&mut s, progs[1], 50).expect("another program is fine");
        revoke_license(&mut s, p(MANAGER), 12, first.id, "left the cohort".into()).unwrap();
        offer(&mut s, progs[0], 50).expect("after revocation the holder can be offered again");
    }

    #[test]
    fn only_managers_or_authorities_manage_and_only_verified_institutions_offer() {
        let mut s = state_with_cap(10);
        let [prog] = with_programs(&mut s, &[(Sector::Government, 5)])[..] else { panic!() };
        assert_eq!(
            offer_license(&mut s, p(60), 1, prog, p(50)),
            Err(LicenseError::NotAuthorized { caller: p(60), required: Role::ProgramManager { program_id: prog } })
        );
        let l = offer_license(&mut s, p(AUTHORITY), 1, prog, p(50)).expect("authorities act as managers");
        assert!(matches!(suspend_license(&mut s, p(50), 2, l.id, "x".into()), Err(LicenseError::NotAuthorized { .. })));
        let inst = s.program(prog).unwrap().institution_id;
        admin::set_institution_verified(&mut s, p(AUTHORITY), 2, inst, false).unwrap();
        assert_eq!(offer(&mut s, prog, 51), Err(LicenseError::InstitutionNotVerified { institution_id: inst }));
        assert_eq!(offer_license(&mut s, p(MANAGER), 1, prog, Principal::anonymous()), Err(LicenseError::AnonymousPrincipal { field: "holder".into() }));
    }

    #[test]
    fn suspend_reinstate_revoke_move_seats_correctly() {
        let mut s = state_with_cap(1);
        let [prog] = with_programs(&mut s, &[(Sector::Education, 1)])[..] else { panic!() };
        let l = offer(&mut s, prog, 50).unwrap();
        assert!(matches!(suspend_license(&mut s, p(MANAGER), 11, l.id, "r".into()), Err(LicenseError::InvalidStatus { .. })));
        accept_license(&mut s, p(50), 11, l.id).unwrap();
        let sus = suspend_license(&mut s, p(MANAGER), 12, l.id, "misuse report".into()).unwrap();
        assert_eq!(sus.suspension_reason.as_deref(), Some("misuse report"));
        assert_eq!((s.seats_of(prog).suspended, s.totals().in_use), (1, 1), "a suspended seat is still in use");
        assert_eq!(offer(&mut s, prog, 51), Err(LicenseError::ProgramQuotaReached { program_id: prog, quota: 1, in_use: 1 }));
        assert_eq!(reinstate_license(&mut s, p(MANAGER), 13, l.id).unwrap().status, LicenseStatus::Active);
        let revoked = revoke_license(&mut s, p(AUTHORITY), 14, l.id, "program ended".into()).unwrap();
        assert_eq!(revoked.end_reason, Some(EndReason::Revoked { by: p(AUTHORITY), reason: "program ended".into() }));
        assert_eq!(s.totals().in_use, 0, "revocation returns the seat");
        assert!(matches!(revoke_license(&mut s, p(MANAGER), 15, l.id, "again".into()), Err(LicenseError::InvalidStatus { .. })));
        offer(&mut s, prog, 51).expect("the seat is reusable");
        assert_eq!(s.seats_of(prog).revoked, 1);
    }

    #[test]
    fn policy_changes_do_not_touch_issued_licenses_unless_an_authority_renews() {
        let mut s = state_with_cap(10);
        let [prog] = with_programs(&mut s, &[(Sector::Startup, 5)])[..] else { panic!() };
        let l = offer(&mut s, prog, 50).unwrap();
        let l = accept_license(&mut s, p(50), 100, l.id).unwrap();
        let policy_id = l.terms.policy_id;
        let changed = PolicyInput {
            name: "builder v2".into(),
            duration_days: 30,
            entitlements: Entitlements { max_apps: 9, monthly_cycles_quota: 7 },
        };
        admin::update_policy(&mut s, p(AUTHORITY), 200, policy_id, changed).unwrap();
        assert_eq!(s.license(l.id).unwrap().terms, l.terms, "snapshot unchanged by the policy edit");
        // A manager may renew on the license's own terms, not adopt new ones.
        assert_eq!(
            renew_license(&mut s, p(MANAGER), 300, l.id, true),
            Err(LicenseError::NotAuthorized { caller: p(MANAGER), required: Role::Authority })
        );
        let renewed = renew_license(&mut s, p(MANAGER), 300, l.id, false).unwrap();
        assert_eq!(renewed.expires_at_ns, Some(100 + 730 * DAY_NS));
        assert_eq!(renewed.terms, l.terms);
        let adopted = renew_license(&mut s, p(AUTHORITY), 400, l.id, true).unwrap();
        assert_eq!((adopted.terms.policy_version, adopted.terms.entitlements.max_apps), (2, 9));
        assert_eq!(adopted.expires_at_ns, Some(100 + 730 * DAY_NS + 30 * DAY_NS));
        assert_eq!(adopted.renewals, 2);
    }

    #[test]
    fn timer_expires_offers_and_terms_and_returns_the_seats() {
        let mut s = state_with_cap(2);
        let [prog] = with_programs(&mut s, &[(Sector::Education, 2)])[..] else { panic!() };
        let never_accepted = offer(&mut s, prog, 50).unwrap();
        let l = offer(&mut s, prog, 51).unwrap();
        accept_license(&mut s, p(51), 10, l.id).unwrap();
        let sys = p(99);
        // Nothing is due yet: an idempotent no-op.
        assert_eq!(housekeeping(&mut s, 10, sys, 100), HousekeepingOutcome::default());
        let after_offer = never_accepted.offer_expires_at_ns + 1;
        let out = housekeeping(&mut s, after_offer, sys, 100);
        assert_eq!((out.offers_expired, out.terms_ended), (1, 0));
        assert_eq!(s.license(never_accepted.id).unwrap().end_reason, Some(EndReason::OfferExpired));
        assert_eq!(s.totals().in_use, 1);
        // Keep the holder active so idle reclaim (90 days) does not take it first.
        for day in [80, 160, 240, 320] {
            record_activity(&mut s, p(51), day * DAY_NS, l.id).unwrap();
        }
        let end = 10 + 365 * DAY_NS;
        assert_eq!(housekeeping(&mut s, end - 1, sys, 100).terms_ended, 0);
        assert_eq!(housekeeping(&mut s, end, sys, 100).terms_ended, 1);
        let ended = s.license(l.id).unwrap();
        assert_eq!((ended.status, ended.end_reason), (LicenseStatus::Expired, Some(EndReason::TermEnded)));
        assert_eq!((s.totals().in_use, s.totals().expired), (0, 2));
        assert_eq!(housekeeping(&mut s, end + 1, sys, 100), HousekeepingOutcome::default(), "running again does nothing");
    }

    #[test]
    fn expired_offers_stop_holding_seats_before_the_timer_records_them() {
        let mut s = state_with_cap(1);
        let [prog] = with_programs(&mut s, &[(Sector::Education, 1)])[..] else { panic!() };
        let first = offer(&mut s, prog, 50).unwrap();
        let later = first.offer_expires_at_ns + 1;
        let l = offer_license(&mut s, p(MANAGER), later, prog, p(51)).expect("the expired offer's seat is free");
        assert_eq!(s.license_at(first.id, later).unwrap().status, LicenseStatus::Expired);
        assert_eq!(s.totals_with(&s.due_lapses(later)).in_use, 1);
        // The same holder can be offered again once its offer expired; recording the old
        // lapse later leaves the new license indexed.
        let again = offer_license(&mut s, p(MANAGER), later, prog, p(50));
        assert_eq!(again, Err(LicenseError::ProgramQuotaReached { program_id: prog, quota: 1, in_use: 1 }));
        revoke_license(&mut s, p(MANAGER), later, l.id, "make room".into()).unwrap();
        let renewed_offer = offer_license(&mut s, p(MANAGER), later, prog, p(50)).unwrap();
        assert_eq!(housekeeping(&mut s, later, p(99), 10).offers_expired, 1);
        assert_eq!(s.live_by_holder.get(&(p(50), prog)), Some(renewed_offer.id));
        let (_, all) = recount(&s);
        assert_eq!((s.totals().in_use, all), (1, 1));
    }

    #[test]
    fn a_term_past_its_end_reads_expired_everywhere_before_the_timer_runs() {
        let mut s = state_with_cap(2);
        let [prog] = with_programs(&mut s, &[(Sector::Startup, 1)])[..] else { panic!() };
        let l = offer(&mut s, prog, 50).unwrap();
        let l = accept_license(&mut s, p(50), 20, l.id).unwrap();
        let end = l.expires_at_ns.unwrap();
        // Active until the last instant (kept busy so idle reclaim does not come first).
        for day in [80, 160, 240, 320] {
            record_activity(&mut s, p(50), day * DAY_NS, l.id).unwrap();
        }
        assert_eq!(s.license_at(l.id, end - 1).unwrap().status, LicenseStatus::Active);
        let seen = s.license_at(l.id, end).unwrap();
        assert_eq!((seen.status, seen.end_reason.clone(), seen.ended_at_ns), (LicenseStatus::Expired, Some(EndReason::TermEnded), Some(end)));
        // Every update check sees it ended, and each refusal changes nothing.
        let audit = s.core.audit_len();
        let expired = |action: &str| Err(LicenseError::InvalidStatus { license_id: l.id, status: LicenseStatus::Expired, action: action.into() });
        assert_eq!(suspend_license(&mut s, p(MANAGER), end, l.id, "x".into()), expired("suspend"));
        assert_eq!(renew_license(&mut s, p(MANAGER), end, l.id, false), expired("renew"));
        assert_eq!(revoke_license(&mut s, p(MANAGER), end, l.id, "x".into()), expired("revoke"));
        assert_eq!(record_activity(&mut s, p(50), end, l.id), Err(LicenseError::LicenseNotActive { license_id: l.id, status: LicenseStatus::Expired }));
        assert_eq!(s.core.audit_len(), audit);
        // Its seat is free for someone else; the timer then records exactly what was seen.
        offer_license(&mut s, p(MANAGER), end, prog, p(51)).expect("seat freed at the deadline");
        housekeeping(&mut s, end + 5, p(99), 10);
        assert_eq!(s.license(l.id).unwrap(), seen);
    }

    #[test]
    fn idle_licenses_are_reclaimed_with_the_reason_logged() {
        let mut s = fresh(|a| {
            a.global_seat_cap = 5;
            a.idle_reclaim_days = Some(10);
        });
        let [prog] = with_programs(&mut s, &[(Sector::Government, 5)])[..] else { panic!() };
        let idle = offer(&mut s, prog, 50).unwrap();
        let busy = offer(&mut s, prog, 51).unwrap();
        accept_license(&mut s, p(50), DAY_NS, idle.id).unwrap();
        accept_license(&mut s, p(51), DAY_NS, busy.id).unwrap();
        record_activity(&mut s, p(51), 8 * DAY_NS, busy.id).unwrap();
        assert_eq!(housekeeping(&mut s, 11 * DAY_NS - 1, p(99), 100).idle_reclaimed, 0);
        let out = housekeeping(&mut s, 11 * DAY_NS, p(99), 100);
        assert_eq!(out.idle_reclaimed, 1);
        let reclaimed = s.license(idle.id).unwrap();
        assert_eq!(reclaimed.status, LicenseStatus::Revoked);
        assert_eq!(reclaimed.end_reason, Some(EndReason::IdleReclaimed { last_activity_ns: DAY_NS, idle_days: 10 }));
        assert_eq!(s.license(busy.id).unwrap().status, LicenseStatus::Active);
        assert_eq!((s.seats_of(prog).idle_reclaimed, s.totals().in_use), (1, 1));
        let last = s.core.audit_page(&interfaces::audit::PageRequest::default()).entries.pop().unwrap();
        assert_eq!(last.kind, "license_idle_reclaimed");
        let (id, reason): (u64, EndReason) = common::cbor::decode(&last.payload).unwrap();
        assert_eq!((id, reason), (idle.id, reclaimed.end_reason.unwrap()));
    }

    #[test]
    fn housekeeping_is_bounded_per_run() {
        let mut s = state_with_cap(50);
        let [prog] = with_programs(&mut s, &[(Sector::Education, 50)])[..] else { panic!() };
        let mut expiry = 0;
        for h in 0..7 {
            expiry = offer(&mut s, prog, 100 + h).unwrap().offer_expires_at_ns;
        }
        let out = housekeeping(&mut s, expiry + 1, p(99), 3);
        assert_eq!((out.offers_expired, out.more_due), (3, true));
        assert_eq!(housekeeping(&mut s, expiry + 1, p(99), 3).offers_expired, 3);
        let out = housekeeping(&mut s, expiry + 1, p(99), 3);
        assert_eq!((out.offers_expired, out.more_due), (1, false));
        assert_eq!(s.totals().in_use, 0);
    }
}
