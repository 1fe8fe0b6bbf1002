//! Apps, the output of a license: reserving a slot before the registry call, committing it once
//! the placement is recorded, releasing it when the call fails, and the lookups burn_ledger uses.
//!
//! A slot is reserved in stable memory (`pending_apps`) before the inter-canister call, so the
//! canister id and the entitlement are taken while the call is in flight; it becomes an app only
//! when the registry has recorded the placement. Apps are never recorded without a placement.

use crate::licenses;
use crate::state::{require_signed, LicenseState};
use crate::validate;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::Memory;
use interfaces::license_issuer::*;

/// What `reserve_app` decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A new slot was reserved.
    New,
    /// The same holder retries a registration whose outcome was unknown: its slot is reused.
    Resumed,
}

/// Checks that `caller` may register `input` and reserves the slot. Refusals change nothing.
/// Precondition: the caller holds the per-canister guard (see `registration.rs`).
pub fn reserve_app<M: Memory>(
    s: &mut LicenseState<M>,
    caller: Principal,
    now: u64,
    input: &AppInput,
) -> Result<Reservation, LicenseError> {
    require_signed(caller)?;
    validate::text("name", &input.name, MAX_NAME_LEN)?;
    validate::signed_principal("canister", input.canister)?;
    validate::signed_principal("subnet_id", input.subnet_id)?;
    if s.config().subnet_registry.is_none() {
        return Err(LicenseError::RegistryNotConfigured);
    }
    let license = s.license(input.license_id)?;
    if license.holder != caller {
        return Err(LicenseError::NotAuthorized { caller, required: Role::Holder { license_id: license.id } });
    }
    if license.status != LicenseStatus::Active {
        return Err(LicenseError::LicenseNotActive { license_id: license.id, status: license.status });
    }
    if let Some(app_id) = s.app_by_canister.get(&input.canister) {
        return Err(LicenseError::CanisterAlreadyRegistered { canister: input.canister, app_id });
    }
    if let Some(Cbor(pending)) = s.pending_apps.get(&input.canister) {
        // The caller holds the per-canister guard, so no call for this slot is in flight: the slot
        // is left over from an unknown outcome (or a trap after the await) and its holder may resume it.
        if pending.holder == caller && pending.input == *input {
            return Ok(Reservation::Resumed);
        }
        return Err(LicenseError::RegistrationPending { canister: input.canister, holder: pending.holder });
    }
    let used = apps_used(s, &license);
    let max_apps = license.terms.entitlements.max_apps;
    if used >= max_apps {
        return Err(LicenseError::AppLimitReached { license_id: license.id, max_apps, used });
    }
    let pending = PendingApp { input: input.clone(), holder: caller, started_at_ns: now, outcome_unknown: false };
    s.pending_apps.insert(input.canister, Cbor(pending.clone()));
    licenses::touched(s, &license, now);
    s.audit(now, caller, "app_registration_started", &pending);
    Ok(Reservation::New)
}

/// Registered apps plus slots reserved for the license.
pub fn apps_used<M: Memory>(s: &LicenseState<M>, license: &License) -> u32 {
    let pending = s.pending_apps.values().filter(|p| p.0.input.license_id == license.id).count();
    (license.app_ids.len() + pending).min(u32::MAX as usize) as u32
}

/// The registry recorded the placement: the reserved slot becomes an app.
pub fn commit_app<M: Memory>(s: &mut LicenseState<M>, now: u64, canister: Principal) -> Result<App, LicenseError> {
    let Cbor(pending) = s
        .pending_apps
        .get(&canister)
        .ok_or(LicenseError::RegistrationPending { canister, holder: Principal::anonymous() })?;
    // Re-read: the license may have changed while the call was in flight. The app is recorded
    // regardless, since its placement now exists.
    let before = s.license(pending.input.license_id)?;
    let program = s.program(before.program_id)?;
    let app = App {
        id: s.new_app_id(),
        name: pending.input.name.clone(),
        canister,
        subnet_id: pending.input.subnet_id,
        license_id: before.id,
        program_id: before.program_id,
        institution_id: program.institution_id,
        holder: pending.holder,
        registered_at_ns: now,
    };
    let mut after = before.clone();
    after.app_ids.push(app.id);
    if after.status == LicenseStatus::Active {
        after.last_activity_ns = after.last_activity_ns.max(now);
    }
    s.replace_license(&before, &after);
    s.pending_apps.remove(&canister);
    s.apps.insert(app.id, Cbor(app.clone()));
    s.app_by_canister.insert(canister, app.id);
    s.count(app.program_id, |c| c.apps += 1);
    s.audit(now, pending.holder, "app_registered", &app);
    Ok(app)
}

/// The registration failed: the slot is released and the failure logged.
pub fn release_app<M: Memory>(s: &mut LicenseState<M>, now: u64, canister: Principal, failure: &LicenseError) {
    if let Some(Cbor(pending)) = s.pending_apps.remove(&canister) {
        s.audit(now, pending.holder, "app_registration_failed", &(canister, failure));
    }
}

/// The call's outcome is unknown: the slot stays reserved until the holder retries.
pub fn mark_outcome_unknown<M: Memory>(s: &mut LicenseState<M>, now: u64, canister: Principal) {
    if let Some(Cbor(mut pending)) = s.pending_apps.get(&canister) {
        pending.outcome_unknown = true;
        s.pending_apps.insert(canister, Cbor(pending.clone()));
        s.audit(now, pending.holder, "app_registration_outcome_unknown", &canister);
    }
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
