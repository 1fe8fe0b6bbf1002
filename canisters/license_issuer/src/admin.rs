//! What authorities do: policies, institutions (and their verification) and programs (quotas,
//! managers). Each function checks the caller, validates everything, then changes state and
//! logs it; a refused call changes nothing.

use crate::state::LicenseState;
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::license_issuer::*;

fn check_policy_input(input: &PolicyInput) -> Result<(), LicenseError> {
    validate::text("name", &input.name, MAX_NAME_LEN)?;
    validate::range("duration_days", input.duration_days.into(), 1, MAX_DURATION_DAYS.into())?;
    validate::range("entitlements.max_apps", input.entitlements.max_apps.into(), 0, MAX_APPS_PER_LICENSE.into())?;
    Ok(())
}

fn check_room(kind: &str, len: u64, max: u32) -> Result<(), LicenseError> {
    if len >= u64::from(max) {
        Err(LicenseError::TooManyRecords { kind: kind.into(), max })
    } else {
        Ok(())
    }
}

pub fn create_policy<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    input: PolicyInput,
) -> Result<Policy, LicenseError> {
    s.require_authority(caller)?;
    check_policy_input(&input)?;
    check_room("policy", s.policies.len(), MAX_POLICIES)?;
    let policy = Policy {
        id: s.new_policy_id(),
        name: input.name,
        duration_days: input.duration_days,
        entitlements: input.entitlements,
        version: 1,
        created_at_ns: now,
        updated_at_ns: now,
    };
    s.policies.insert(policy.id, Cbor(policy.clone()));
    s.audit(now, caller, "policy_created", &policy);
    Ok(policy)
}

/// Changes a policy for licenses issued from now on. Issued licenses keep their snapshot.
pub fn update_policy<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    policy_id: u64,
    input: PolicyInput,
) -> Result<Policy, LicenseError> {
    s.require_authority(caller)?;
    check_policy_input(&input)?;
    let mut policy = s.policy(policy_id)?;
    policy.name = input.name;
    policy.duration_days = input.duration_days;
    policy.entitlements = input.entitlements;
    policy.version = policy.version.saturating_add(1);
    policy.updated_at_ns = now;
    s.policies.insert(policy.id, Cbor(policy.clone()));
    s.audit(now, caller, "policy_updated", &policy);
    Ok(policy)
}

pub fn create_institution<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    input: InstitutionInput,
) -> Result<Institution, LicenseError> {
    s.require_authority(caller)?;
    validate::text("name", &input.name, MAX_NAME_LEN)?;
    check_room("institution", s.institutions.len(), MAX_INSTITUTIONS)?;
    let institution = Institution {
        id: s.new_institution_id(),
        name: input.name,
        sector: input.sector,
        verified: false,
        created_at_ns: now,
        updated_at_ns: now,
    };
    s.institutions.insert(institution.id, Cbor(institution.clone()));
    s.audit(now, caller, "institution_created", &institution);
    Ok(institution)
}

pub fn set_institution_verified<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    institution_id: u64,
    verified: bool,
) -> Result<Institution, LicenseError> {
    s.require_authority(caller)?;
    let mut institution = s.institution(institution_id)?;
    institution.verified = verified;
    institution.updated_at_ns = now;
    s.institutions.insert(institution.id, Cbor(institution.clone()));
    s.audit(now, caller, "institution_verified", &(institution_id, verified));
    Ok(institution)
}

pub fn create_program<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    input: ProgramInput,
) -> Result<Program, LicenseError> {
    s.require_authority(caller)?;
    validate::text("name", &input.name, MAX_NAME_LEN)?;
    validate::range("seat_quota", input.seat_quota.into(), 0, MAX_PROGRAM_QUOTA.into())?;
    validate::principals("managers", &input.managers, MAX_MANAGERS)?;
    s.institution(input.institution_id)?;
    s.policy(input.policy_id)?;
    check_room("program", s.programs.len(), MAX_PROGRAMS)?;
    let program = Program {
        id: s.new_program_id(),
        institution_id: input.institution_id,
        name: input.name,
        seat_quota: input.seat_quota,
        policy_id: input.policy_id,
        managers: input.managers,
        created_at_ns: now,
        updated_at_ns: now,
    };
    s.programs.insert(program.id, Cbor(program.clone()));
    s.program_seats.insert(program.id, crate::codec::StoredSeats(SeatCounts::default()));
    s.audit(now, caller, "program_created", &program);
    Ok(program)
}

/// Sets a program's quota; never below the seats it has in use now.
pub fn set_program_quota<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    program_id: u64,
    quota: u32,
) -> Result<Program, LicenseError> {
    s.require_authority(caller)?;
    validate::range("seat_quota", quota.into(), 0, MAX_PROGRAM_QUOTA.into())?;
    let mut program = s.program(program_id)?;
    // Seats as they stand now: a lapsed license no longer holds one.
    let in_use = s.seats_with(program_id, &s.due_lapses(now)).in_use;
    if u64::from(quota) < in_use {
        return Err(LicenseError::QuotaBelowSeatsInUse { program_id, quota, in_use });
    }
    let old = program.seat_quota;
    program.seat_quota = quota;
    program.updated_at_ns = now;
    s.programs.insert(program_id, Cbor(program.clone()));
    s.audit(now, caller, "program_quota_set", &(program_id, old, quota));
    Ok(program)
}

/// Replaces a program's managers and, optionally, the policy its new licenses get.
pub fn set_program_managers<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    program_id: u64,
    managers: Vec<Principal>,
) -> Result<Program, LicenseError> {
    s.require_authority(caller)?;
    validate::principals("managers", &managers, MAX_MANAGERS)?;
    let mut program = s.program(program_id)?;
    program.managers = managers;
    program.updated_at_ns = now;
    s.programs.insert(program_id, Cbor(program.clone()));
    s.audit(now, caller, "program_managers_set", &(program_id, &program.managers));
    Ok(program)
}

/// Points a program at another policy for the licenses it issues from now on.
pub fn set_program_policy<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    program_id: u64,
    policy_id: u64,
) -> Result<Program, LicenseError> {
    s.require_authority(caller)?;
    let mut program = s.program(program_id)?;
    s.policy(policy_id)?;
    program.policy_id = policy_id;
    program.updated_at_ns = now;
    s.programs.insert(program_id, Cbor(program.clone()));
    s.audit(now, caller, "program_policy_set", &(program_id, policy_id));
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::test_support::*;

    pub fn policy_input() -> PolicyInput {
        PolicyInput {
            name: "Caffeine builder".into(),
            duration_days: 365,
            entitlements: Entitlements { max_apps: 3, monthly_cycles_quota: 5_000_000_000_000 },
        }
    }

    #[test]
    fn only_authorities_administer_and_refusals_change_nothing() {
        let mut s = state_with_cap(10);
        let audit_before = s.core.audit_len();
        let stranger = p(9);
        assert_eq!(
            create_policy(&mut s, stranger, 1, policy_input()),
            Err(LicenseError::NotAuthorized { caller: stranger, required: Role::Authority })
        );
        assert_eq!(create_policy(&mut s, Principal::anonymous(), 1, policy_input()), Err(LicenseError::AnonymousCaller));
        let inst = InstitutionInput { name: "NUST".into(), sector: Sector::Education };
        assert!(matches!(create_institution(&mut s, stranger, 1, inst), Err(LicenseError::NotAuthorized { .. })));
        assert_eq!(s.policies.len() + s.institutions.len(), 0);
        assert_eq!(s.core.audit_len(), audit_before);
    }

    #[test]
    fn inputs_are_bounded() {
        let mut s = state_with_cap(10);
        let a = p(AUTHORITY);
        let mut bad = policy_input();
        bad.duration_days = 0;
        assert!(matches!(create_policy(&mut s, a, 1, bad), Err(LicenseError::OutOfRange { .. })));
        let mut bad = policy_input();
        bad.entitlements.max_apps = MAX_APPS_PER_LICENSE + 1;
        assert!(matches!(create_policy(&mut s, a, 1, bad), Err(LicenseError::OutOfRange { .. })));
        let mut bad = policy_input();
        bad.name = "x".repeat(MAX_NAME_LEN as usize + 1);
        assert!(matches!(create_policy(&mut s, a, 1, bad), Err(LicenseError::InvalidText { .. })));
        let policy = create_policy(&mut s, a, 1, policy_input()).unwrap();
        let inst = create_institution(&mut s, a, 1, InstitutionInput { name: "PITB".into(), sector: Sector::Government })
            .unwrap();
        let too_many: Vec<Principal> = (0..=MAX_MANAGERS as u8).map(|i| p(100 + i)).collect();
        let input = ProgramInput {
            institution_id: inst.id,
            name: "e-Khidmat".into(),
            seat_quota: 5,
            policy_id: policy.id,
            managers: too_many,
        };
        assert!(matches!(create_program(&mut s, a, 1, input.clone()), Err(LicenseError::TooManyItems { .. })));
        let missing = ProgramInput { institution_id: 99, managers: vec![], ..input.clone() };
        assert_eq!(create_program(&mut s, a, 1, missing), Err(LicenseError::InstitutionNotFound { institution_id: 99 }));
        assert_eq!(s.programs.len(), 0);
    }

    #[test]
    fn policy_updates_bump_the_version_and_verification_is_recorded() {
        let mut s = state_with_cap(10);
        let a = p(AUTHORITY);
        let policy = create_policy(&mut s, a, 1, policy_input()).unwrap();
        let mut changed = policy_input();
        changed.entitlements.max_apps = 1;
        let updated = update_policy(&mut s, a, 2, policy.id, changed).unwrap();
        assert_eq!((updated.version, updated.entitlements.max_apps, updated.created_at_ns), (2, 1, 1));
        let inst = create_institution(&mut s, a, 1, InstitutionInput { name: "NIC".into(), sector: Sector::Startup })
            .unwrap();
        assert!(!inst.verified);
        assert!(set_institution_verified(&mut s, a, 3, inst.id, true).unwrap().verified);
        assert!(s.institution(inst.id).unwrap().verified);
    }
}
