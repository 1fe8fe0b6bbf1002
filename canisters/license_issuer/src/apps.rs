//! Apps, the output of a license: the checks a registration must pass (before and after each
//! await), committing it once the placement is recorded, and the lookups burn_ledger uses.
//!
//! A registration in flight lives in the heap (`LicenseState::in_flight`), where it takes the
//! canister id and one of the license's app slots while its calls are awaited; stable memory is
//! written only when the app is committed, or when the registry call ends without a known
//! outcome (the slot is then kept in `pending_apps` until the holder retries). A refused
//! registration therefore changes nothing.

use crate::state::{require_signed, LicenseState};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::license_issuer::*;
use std::collections::BTreeSet;

/// How a registration starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new registration.
    New,
    /// The holder retries a registration whose outcome was unknown: its kept slot is resumed.
    Resumed,
}

/// A canister id: 10 bytes, the last one 0x01 (an opaque id). User principals are
/// self-authenticating (last byte 0x02), the anonymous principal is 0x04, and the management
/// canister's id is empty.
pub fn is_canister_id(p: &Principal) -> bool {
    let bytes = p.as_slice();
    bytes.len() == 10 && bytes[9] == 0x01
}

/// The suite's own canisters, which are never a holder's app: the issuer (`self_id`), its
/// registry and burn ledger, and the configured others.
pub fn is_suite_canister(config: &Config, self_id: Principal, canister: Principal) -> bool {
    canister == self_id
        || config.subnet_registry == Some(canister)
        || config.burn_ledger == Some(canister)
        || config.other_suite_canisters.as_ref().is_some_and(|others| others.contains(&canister))
}

/// Registered apps plus slots kept (unknown outcome) or in flight for the license, each canister
/// once, leaving out `except` (the registration asking).
pub fn apps_used<M: Memory>(s: &LicenseState<M>, license: &License, except: Option<Principal>) -> u32 {
    let mut slots: BTreeSet<Principal> = s
        .pending_apps
        .iter()
        .filter(|e| e.value().0.input.license_id == license.id)
        .map(|e| *e.key())
        .collect();
    slots.extend(s.in_flight.iter().filter(|(_, p)| p.input.license_id == license.id).map(|(c, _)| *c));
    if let Some(c) = except {
        slots.remove(&c);
    }
    (license.app_ids.len() + slots.len()).min(u32::MAX as usize) as u32
}

/// The license, as it stands at `now`, if `caller` holds it and it is active.
fn active_license<M: Memory>(s: &LicenseState<M>, caller: Principal, now: u64, license_id: u64) -> Result<License, LicenseError> {
    let license = crate::licenses::held(s, caller, now, license_id)?;
    if license.status != LicenseStatus::Active {
        return Err(LicenseError::LicenseNotActive { license_id: license.id, status: license.status });
    }
    Ok(license)
}

fn in_flight_key(kind: &str, p: Principal) -> LicenseError {
    LicenseError::RegistrationInFlight { key: format!("app-{kind}:{p}") }
}

/// Everything a registration must satisfy before its first await: the caller, the input, that
/// the canister is a canister and not the suite's own, the license, duplicates, concurrent
/// registrations and the entitlement. Reads only.
pub fn check_registration<M: Memory>(
    s: &LicenseState<M>,
    caller: Principal,
    now: u64,
    self_id: Principal,
    input: &AppInput,
) -> Result<Start, LicenseError> {
    require_signed(caller)?;
    validate::text("name", &input.name, MAX_NAME_LEN)?;
    if !is_canister_id(&input.canister) {
        return Err(LicenseError::NotACanister { principal: input.canister });
    }
    let config = s.config();
    if is_suite_canister(&config, self_id, input.canister) {
        return Err(LicenseError::SuiteCanister { canister: input.canister });
    }
    validate::signed_principal("subnet_id", input.subnet_id)?;
    if config.subnet_registry.is_none() {
        return Err(LicenseError::RegistryNotConfigured);
    }
    let license = active_license(s, caller, now, input.license_id)?;
    if let Some(app_id) = s.app_by_canister.get(&input.canister) {
        return Err(LicenseError::CanisterAlreadyRegistered { canister: input.canister, app_id });
    }
    if s.in_flight.contains_key(&input.canister) {
        return Err(in_flight_key("canister", input.canister));
    }
    if s.in_flight.values().any(|p| p.holder == caller) {
        return Err(in_flight_key("holder", caller));
    }
    if let Some(Cbor(kept)) = s.pending_apps.get(&input.canister) {
        // Nothing is in flight for this canister, so the slot is left over from an unknown
        // outcome: its holder may resume it with the same input.
        if kept.holder == caller && kept.input == *input {
            return Ok(Start::Resumed);
        }
        return Err(LicenseError::RegistrationPending { canister: input.canister, holder: kept.holder });
    }
    check_entitlement(s, &license, input.canister)?;
    Ok(Start::New)
}

fn check_entitlement<M: Memory>(s: &LicenseState<M>, license: &License, canister: Principal) -> Result<(), LicenseError> {
    let used = apps_used(s, license, Some(canister));
    let max_apps = license.terms.entitlements.max_apps;
    if used >= max_apps {
        return Err(LicenseError::AppLimitReached { license_id: license.id, max_apps, used });
    }
    Ok(())
}

/// After `canister_info`: the license may have been suspended, revoked, renewed on other terms
/// or have lapsed meanwhile, so the license and the entitlement are checked again.
pub fn recheck<M: Memory>(s: &LicenseState<M>, caller: Principal, now: u64, input: &AppInput) -> Result<(), LicenseError> {
    let license = active_license(s, caller, now, input.license_id)?;
    check_entitlement(s, &license, input.canister)
}

/// The registry recorded the placement: the registration becomes an app. Done whatever became
/// of the license during the registry call (its placement now exists; a revocation or
/// suspension keeps a license's apps recorded anyway); the entitlement still holds, since a
/// renewal counts registrations in flight.
pub fn commit_app<M: Memory>(s: &mut LicenseState<M>, now: u64, reg: &PendingApp) -> Result<App, LicenseError> {
    let before = s.license(reg.input.license_id)?;
    let program = s.program(before.program_id)?;
    let canister = reg.input.canister;
    let app = App {
        id: s.new_app_id(),
        name: reg.input.name.clone(),
        canister,
        subnet_id: reg.input.subnet_id,
        license_id: before.id,
        program_id: before.program_id,
        institution_id: program.institution_id,
        holder: reg.holder,
        registered_at_ns: now,
        module_hash: reg.module_hash.clone(),
    };
    let mut after = before.clone();
    after.app_ids.push(app.id);
    // Registering is activity, but must not revive a license that has lapsed meanwhile.
    if s.license_at(before.id, now)?.status == LicenseStatus::Active {
        after.last_activity_ns = after.last_activity_ns.max(now);
    }
    s.replace_license_and_count(&before, &after, Some(&|c| c.apps += 1));
    s.pending_apps.remove(&canister);
    s.apps.insert(app.id, Cbor(app.clone()));
    s.app_by_canister.insert(canister, app.id);
    s.index_new_app(&app);
    s.audit(now, reg.holder, "app_registered", &app);
    Ok(app)
}

/// A resumed registration was refused for good by the registry (no placement exists, since
/// recording an existing placement again succeeds): its kept slot is released.
pub fn release_kept<M: Memory>(s: &mut LicenseState<M>, now: u64, canister: Principal, failure: &LicenseError) {
    if let Some(Cbor(kept)) = s.pending_apps.remove(&canister) {
        s.audit(now, kept.holder, "app_registration_released", &(canister, failure));
    }
}

/// The call's outcome is unknown: the slot is kept until the holder retries.
pub fn keep_unknown<M: Memory>(s: &mut LicenseState<M>, now: u64, reg: &PendingApp) {
    let kept = PendingApp { outcome_unknown: true, ..reg.clone() };
    s.pending_apps.insert(reg.input.canister, Cbor(kept));
    s.audit(now, reg.holder, "app_registration_outcome_unknown", &reg.input.canister);
}

/// A registration kept or in flight for `canister`.
pub fn pending_app<M: Memory>(s: &LicenseState<M>, canister: Principal) -> Option<PendingApp> {
    s.pending_apps.get(&canister).map(|c| c.0).or_else(|| s.in_flight.get(&canister).cloned())
}

/// Who owns an app canister (for burn_ledger's attribution).
pub fn app_owner<M: Memory>(s: &LicenseState<M>, canister: Principal) -> Option<AppOwner> {
    let app_id = s.app_by_canister.get(&canister)?;
    let app = s.apps.get(&app_id)?.0;
    let sector = s.institution(app.institution_id).ok()?.sector;
    Some(AppOwner {
        canister,
        app_id,
        license_id: app.license_id,
        program_id: app.program_id,
        institution_id: app.institution_id,
        sector,
        holder: app.holder,
        subnet_id: app.subnet_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_opaque_ids_are_canisters() {
        let canister = Principal::from_text("rrkah-fqaaa-aaaaa-aaaaq-cai").unwrap();
        assert!(is_canister_id(&canister));
        assert!(!is_canister_id(&Principal::anonymous()));
        assert!(!is_canister_id(&Principal::management_canister()));
        assert!(!is_canister_id(&Principal::self_authenticating([7u8; 32])));
        let mut not_opaque = canister.as_slice().to_vec();
        not_opaque[9] = 0x02;
        assert!(!is_canister_id(&Principal::from_slice(&not_opaque)));
        assert!(!is_canister_id(&Principal::from_slice(&[1; 29])));
    }
}
