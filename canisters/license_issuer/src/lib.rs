//! `license_issuer` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.
//!
//! Roles: authorities (install argument) administer policies, institutions and programs;
//! program managers offer and manage their program's licenses; holders accept their offers and
//! register apps. Anonymous callers may only query.

mod admin;
mod apps;
mod config;
mod external_calls;
mod licenses;
mod registration;
mod report;
mod state;
mod storage;
mod validate;

use candid::Principal;
use ic_cdk::api::{canister_self, msg_caller, time};
use ic_cdk::{query, update};
use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use std::time::Duration;

/// How often the timer runs the timed transitions (offer expiry, end of term, idle reclaim).
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);
/// Most licenses one housekeeping run moves, so a run stays well inside the instruction limit.
const HOUSEKEEPING_BUDGET: u32 = 200;
/// Most expired offers swept before an offer is checked against the quota and the cap.
const OFFER_SWEEP_BUDGET: u32 = 50;

fn start_timers() {
    external_calls::start_usage_reports(&storage::config());
    ic_cdk_timers::set_timer_interval(HOUSEKEEPING_INTERVAL, || async {
        storage::with_state(|s| licenses::housekeeping(s, time(), canister_self(), HOUSEKEEPING_BUDGET));
    });
}

/// Seats in use must fit under the configured cap, also after a reconfiguring upgrade.
fn check_cap_holds() {
    let (in_use, cap) = storage::with_state(|s| (s.totals().in_use, s.config().global_seat_cap));
    if in_use > u64::from(cap) {
        ic_cdk::trap(format!("global_seat_cap {cap} is below the {in_use} seats in use"));
    }
}

common::suite_endpoints!(init_args: InitArgs, config: Config, start: after_install);

/// After install and upgrade: the cap must hold (an upgrade may lower it), and timers restart.
fn after_install() {
    check_cap_holds();
    start_timers();
}

#[update]
fn create_policy(input: PolicyInput) -> Result<Policy, LicenseError> {
    storage::with_state(|s| admin::create_policy(s, msg_caller(), time(), input))
}

/// Changes a policy for licenses issued from now on; issued licenses keep their snapshot until
/// an authority renews them with `adopt_current_policy`. Authorities only.
#[update]
fn update_policy(policy_id: u64, input: PolicyInput) -> Result<Policy, LicenseError> {
    storage::with_state(|s| admin::update_policy(s, msg_caller(), time(), policy_id, input))
}

/// Registers an institution (unverified). Authorities only.
#[update]
fn create_institution(input: InstitutionInput) -> Result<Institution, LicenseError> {
    storage::with_state(|s| admin::create_institution(s, msg_caller(), time(), input))
}

/// Marks an institution verified (or not); only verified institutions' programs may offer
/// licenses. Authorities only.
#[update]
fn set_institution_verified(institution_id: u64, verified: bool) -> Result<Institution, LicenseError> {
    storage::with_state(|s| admin::set_institution_verified(s, msg_caller(), time(), institution_id, verified))
}

/// Creates a program of an institution with its seat quota, policy and managers. Authorities only.
#[update]
fn create_program(input: ProgramInput) -> Result<Program, LicenseError> {
    storage::with_state(|s| admin::create_program(s, msg_caller(), time(), input))
}

/// Sets a program's seat quota (never below its seats in use). Authorities only.
#[update]
fn set_program_quota(program_id: u64, seat_quota: u32) -> Result<Program, LicenseError> {
    storage::with_state(|s| admin::set_program_quota(s, msg_caller(), time(), program_id, seat_quota))
}

/// Replaces a program's managers. Authorities only.
#[update]
fn set_program_managers(program_id: u64, managers: Vec<Principal>) -> Result<Program, LicenseError> {
    storage::with_state(|s| admin::set_program_managers(s, msg_caller(), time(), program_id, managers))
}

/// Points a program at another policy for its future licenses. Authorities only.
#[update]
fn set_program_policy(program_id: u64, policy_id: u64) -> Result<Program, LicenseError> {
    storage::with_state(|s| admin::set_program_policy(s, msg_caller(), time(), program_id, policy_id))
}

// ---- Managers: offering and managing licenses ----

/// Offers a seat of the program to `holder`, who must accept it before the offer expires. Takes
/// a seat of the program's quota and of the global cap (expired offers are swept first).
/// Managers of the program or authorities.
#[update]
fn offer_license(program_id: u64, holder: Principal) -> Result<License, LicenseError> {
    let (caller, now) = (msg_caller(), time());
    storage::with_state(|s| {
        if state::require_signed(caller).is_ok() {
            licenses::expire_offers(s, now, canister_self(), OFFER_SWEEP_BUDGET);
        }
        licenses::offer_license(s, caller, now, program_id, holder)
    })
}

/// Suspends an active license (apps stay recorded; no new ones). Managers or authorities.
#[update]
fn suspend_license(license_id: u64, reason: String) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::suspend_license(s, msg_caller(), time(), license_id, reason))
}

/// Reinstates a suspended license; its idle clock restarts. Managers or authorities.
#[update]
fn reinstate_license(license_id: u64) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::reinstate_license(s, msg_caller(), time(), license_id))
}

/// Revokes an offered, active or suspended license; the seat returns to the program's pool.
/// Managers or authorities.
#[update]
fn revoke_license(license_id: u64, reason: String) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::revoke_license(s, msg_caller(), time(), license_id, reason))
}

/// Extends an active or suspended license by one term. `adopt_current_policy` (authorities
/// only) also replaces its terms with the program's current policy. Managers or authorities.
#[update]
fn renew_license(license_id: u64, adopt_current_policy: bool) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::renew_license(s, msg_caller(), time(), license_id, adopt_current_policy))
}

// ---- Holders: accepting, activity, apps ----

/// The holder accepts its offer: the license becomes active and its term starts.
#[update]
fn accept_license(license_id: u64) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::accept_license(s, msg_caller(), time(), license_id))
}

/// The holder reports activity, which keeps an active seat from being reclaimed as idle.
#[update]
fn record_activity(license_id: u64) -> Result<License, LicenseError> {
    storage::with_state(|s| licenses::record_activity(s, msg_caller(), time(), license_id))
}

/// The holder of an active license registers an app canister on a live subnet. The placement is
/// recorded in the subnet registry first; the app exists only if that succeeded, otherwise the
/// error says what failed and nothing is recorded.
#[update]
async fn register_app(input: AppInput) -> Result<App, LicenseError> {
    let caller = msg_caller();
    let registry = storage::config().subnet_registry;
    state::require_signed(caller)?;
    let Some(id) = registry else { return Err(LicenseError::RegistryNotConfigured) };
    registration::register_app(&external_calls::SubnetRegistry { id }, caller, &time, input).await
}

// ---- Queries ----

/// One policy.
#[query]
fn get_policy(policy_id: u64) -> Option<Policy> {
    storage::with_state(|s| s.policy(policy_id).ok())
}

/// Policies in id order.
#[query]
fn list_policies(page: PageRequest) -> PolicyPage {
    storage::with_state(|s| report::list_policies(s, &page))
}

/// One institution.
#[query]
fn get_institution(institution_id: u64) -> Option<Institution> {
    storage::with_state(|s| s.institution(institution_id).ok())
}

/// Institutions in id order.
#[query]
fn list_institutions(page: PageRequest) -> InstitutionPage {
    storage::with_state(|s| report::list_institutions(s, &page))
}

/// One program.
#[query]
fn get_program(program_id: u64) -> Option<Program> {
    storage::with_state(|s| s.program(program_id).ok())
}

/// Programs in id order, optionally of one institution.
#[query]
fn list_programs(query: ProgramQuery) -> ProgramPage {
    storage::with_state(|s| report::list_programs(s, &query))
}

/// One license.
#[query]
fn get_license(license_id: u64) -> Option<License> {
    storage::with_state(|s| s.license(license_id).ok())
}

/// Licenses in id order, filtered by program, holder and status.
#[query]
fn list_licenses(query: LicenseQuery) -> LicensePage {
    storage::with_state(|s| report::list_licenses(s, &query))
}

/// Apps in id order, filtered by program or license.
#[query]
fn list_apps(query: AppQuery) -> AppPage {
    storage::with_state(|s| report::list_apps(s, &query))
}

/// The slot reserved for a canister whose registration is in flight or has an unknown outcome.
#[query]
fn pending_app(canister: Principal) -> Option<PendingApp> {
    storage::with_state(|s| s.pending_apps.get(&canister).map(|c| c.0))
}

/// Which app, license, program, institution and holder own an app canister (for burn_ledger);
/// `None` if the canister is not a registered app.
#[query]
fn app_owner(canister: Principal) -> Option<AppOwner> {
    storage::with_state(|s| apps::app_owner(s, canister))
}

/// The licensing checkpoint: seats by sector, institution and program (offered, active,
/// suspended, revoked, expired), activation rates, apps live, active builders in 30 days.
#[query]
fn licensing_report() -> LicensingReport {
    storage::with_state(|s| report::licensing_report(s, time()))
}

ic_cdk::export_candid!();

#[cfg(test)]
mod did_tests {
    #[test]
    fn exported_service_matches_committed_did() {
        let path = common::did::committed_did(env!("CARGO_MANIFEST_DIR"), "license_issuer");
        common::did::assert_service_matches(&super::__export_service(), &path);
    }
}
