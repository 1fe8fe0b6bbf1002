//! `license_issuer` canister: endpoints only. They read the caller and time, call plain Rust
//! in the modules below, and map results.
//!
//! Roles: authorities (install argument) administer policies, institutions and programs;
//! program managers offer and manage their program's licenses; holders accept their offers and
//! register apps. Anonymous callers may only query.

mod admin;
mod apps;
mod codec;
mod config;
mod external_calls;
mod indexes;
mod lapse;
mod licenses;
mod registration;
mod report;
mod state;
mod storage;
mod validate;
#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod model_tests;

use candid::Principal;
use ic_cdk::api::{canister_self, msg_caller, time};
use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use std::time::Duration;

/// How often the timer records the timed transitions (offer expiry, end of term, idle reclaim).
/// They are in effect for readers at their deadline whether or not it has run (`lapse.rs`).
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);
/// Most stored records one run of the schema-3 index build reads (about 0.3M instructions
/// each, so a run stays far inside a timer message's limit); while more are left, the next
/// run follows at once.
const INDEX_BUILD_BATCH: usize = 2_000;
/// Most licenses one housekeeping run moves, so a run stays well inside the instruction limit;
/// when more are due, another run follows a second later.
const HOUSEKEEPING_BUDGET: u32 = 200;
/// Largest ingress argument `inspect_message` lets through; the largest legitimate one (a
/// program with MAX_MANAGERS managers) is under 2 KiB.
const MAX_INGRESS_ARG_BYTES: usize = 16 * 1024;

fn start_timers() {
    external_calls::start_usage_reports(&storage::config());
    ic_cdk_timers::set_timer_interval(HOUSEKEEPING_INTERVAL, || async { housekeeping() });
}

/// Builds the schema-3 indexes over the records an older schema stored (`indexes.rs`), one
/// batch per timer run; a state without records needs none.
fn build_indexes() {
    let done = storage::with_state(|s| {
        if !s.indexes_ready() && s.licenses.is_empty() && s.apps.is_empty() {
            s.set_index_build(indexes::IndexBuild::complete());
        }
        s.indexes_ready() || s.build_indexes(INDEX_BUILD_BATCH)
    });
    if !done {
        ic_cdk_timers::set_timer(Duration::ZERO, async { build_indexes() });
    }
}

fn housekeeping() {
    let out = storage::with_state(|s| licenses::housekeeping(s, time(), canister_self(), HOUSEKEEPING_BUDGET));
    if out.more_due {
        ic_cdk_timers::set_timer(Duration::from_secs(1), async { housekeeping() });
    }
}

/// Seats in use must fit under the configured cap, also after a reconfiguring upgrade.
fn check_cap_holds() {
    let (in_use, cap) = storage::with_state(|s| (s.totals_with(&s.due_lapses(time())).in_use, s.config().global_seat_cap));
    if in_use > u64::from(cap) {
        ic_cdk::trap(format!("global_seat_cap {cap} is below the {in_use} seats in use"));
    }
}

use common::reply_endpoint as endpoint;

common::suite_endpoints!(init_args: InitArgs, config: Config, start: after_install);

/// After install and upgrade: the cap must hold (an upgrade may lower it), timers restart, and
/// the indexes an older schema lacked start building (first batch now).
fn after_install() {
    check_cap_holds();
    start_timers();
    build_indexes();
}

/// Early rejection of ingress, on one node: a cheap filter, never the only check (every update
/// checks its caller and its input again). Every update of this canister needs a known caller,
/// and no legitimate argument comes near `MAX_INGRESS_ARG_BYTES`.
#[ic_cdk::inspect_message]
fn inspect_message() {
    let known_caller = msg_caller() != Principal::anonymous();
    if known_caller && ic_cdk::api::msg_arg_data().len() <= MAX_INGRESS_ARG_BYTES {
        ic_cdk::api::accept_message();
    }
}

// ---- Authorities: policies, institutions, programs ----

endpoint! {
    #[update]
    /// Creates a license policy (duration, entitlements). Authorities only.
    fn create_policy(input: PolicyInput) -> Result<Policy, LicenseError> {
        storage::with_state(|s| admin::create_policy(s, msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Changes a policy for licenses issued from now on; issued licenses keep their snapshot until
    /// an authority renews them with `adopt_current_policy`. Authorities only.
    fn update_policy(policy_id: u64, input: PolicyInput) -> Result<Policy, LicenseError> {
        storage::with_state(|s| admin::update_policy(s, msg_caller(), time(), policy_id, input))
    }
}

endpoint! {
    #[update]
    /// Registers an institution (unverified). Authorities only.
    fn create_institution(input: InstitutionInput) -> Result<Institution, LicenseError> {
        storage::with_state(|s| admin::create_institution(s, msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Marks an institution verified (or not); only verified institutions' programs may offer
    /// licenses. Authorities only.
    fn set_institution_verified(institution_id: u64, verified: bool) -> Result<Institution, LicenseError> {
        storage::with_state(|s| admin::set_institution_verified(s, msg_caller(), time(), institution_id, verified))
    }
}

endpoint! {
    #[update]
    /// Creates a program of an institution with its seat quota, policy and managers. Authorities only.
    fn create_program(input: ProgramInput) -> Result<Program, LicenseError> {
        storage::with_state(|s| admin::create_program(s, msg_caller(), time(), input))
    }
}

endpoint! {
    #[update]
    /// Sets a program's seat quota (never below its seats in use). Authorities only.
    fn set_program_quota(program_id: u64, seat_quota: u32) -> Result<Program, LicenseError> {
        storage::with_state(|s| admin::set_program_quota(s, msg_caller(), time(), program_id, seat_quota))
    }
}

endpoint! {
    #[update]
    /// Replaces a program's managers. Authorities only.
    fn set_program_managers(program_id: u64, managers: Vec<Principal>) -> Result<Program, LicenseError> {
        storage::with_state(|s| admin::set_program_managers(s, msg_caller(), time(), program_id, managers))
    }
}

endpoint! {
    #[update]
    /// Points a program at another policy for its future licenses. Authorities only.
    fn set_program_policy(program_id: u64, policy_id: u64) -> Result<Program, LicenseError> {
        storage::with_state(|s| admin::set_program_policy(s, msg_caller(), time(), program_id, policy_id))
    }
}

// ---- Managers: offering and managing licenses ----

endpoint! {
    #[update]
    /// Offers a seat of the program to `holder`, who must accept it before the offer expires. Takes
    /// a seat of the program's quota and of the global cap, counted as they stand now (expired
    /// offers and ended terms hold none). Managers of the program or authorities.
    fn offer_license(program_id: u64, holder: Principal) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::offer_license(s, msg_caller(), time(), program_id, holder))
    }
}

endpoint! {
    #[update]
    /// Suspends an active license (apps stay recorded; no new ones). Managers or authorities.
    fn suspend_license(license_id: u64, reason: String) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::suspend_license(s, msg_caller(), time(), license_id, reason))
    }
}

endpoint! {
    #[update]
    /// Reinstates a suspended license; its idle clock restarts. Managers or authorities.
    fn reinstate_license(license_id: u64) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::reinstate_license(s, msg_caller(), time(), license_id))
    }
}

endpoint! {
    #[update]
    /// Revokes an offered, active or suspended license; the seat returns to the program's pool and
    /// its apps stay recorded. Managers or authorities.
    fn revoke_license(license_id: u64, reason: String) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::revoke_license(s, msg_caller(), time(), license_id, reason))
    }
}

endpoint! {
    #[update]
    /// Extends an active or suspended license by one term. `adopt_current_policy` (authorities
    /// only) also replaces its terms with the program's current policy, refused with
    /// `AppsExceedEntitlement` while the license has more apps (registered, pending or in flight)
    /// than the new terms allow. Managers or authorities.
    fn renew_license(license_id: u64, adopt_current_policy: bool) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::renew_license(s, msg_caller(), time(), license_id, adopt_current_policy))
    }
}

// ---- Holders: accepting, activity, apps ----

endpoint! {
    #[update]
    /// The holder accepts its offer: the license becomes active and its term starts.
    fn accept_license(license_id: u64) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::accept_license(s, msg_caller(), time(), license_id))
    }
}

endpoint! {
    #[update]
    /// The holder reports activity, which keeps an active seat from being reclaimed as idle.
    fn record_activity(license_id: u64) -> Result<License, LicenseError> {
        storage::with_state(|s| licenses::record_activity(s, msg_caller(), time(), license_id))
    }
}

endpoint! {
    #[update]
    /// The holder of an active license registers an app canister on a live subnet. The canister
    /// must be a canister the caller controls (the management canister's `canister_info` is
    /// asked; its module hash is recorded) and none of the suite's own. The placement is then
    /// recorded in the subnet registry; the app exists only if that succeeded, otherwise the
    /// error says what failed and nothing is recorded. A registration whose placement was
    /// recorded completes even if the license was suspended or revoked meanwhile (a license's
    /// apps stay recorded when it ends).
    async fn register_app(input: AppInput) -> Result<App, LicenseError> {
        let caller = msg_caller();
        let registry = storage::config().subnet_registry;
        state::require_signed(caller)?;
        let Some(id) = registry else { return Err(LicenseError::RegistryNotConfigured) };
        let registry = external_calls::SubnetRegistry { id };
        registration::register_app(&registry, &external_calls::ManagementCanister, caller, canister_self(), &time, input).await
    }
}

// ---- Queries ----

endpoint! {
    #[query]
    /// One policy.
    fn get_policy(policy_id: u64) -> Option<Policy> {
        storage::with_state(|s| s.policy(policy_id).ok())
    }
}

endpoint! {
    #[query]
    /// Policies in id order.
    fn list_policies(page: PageRequest) -> PolicyPage {
        storage::with_state(|s| report::list_policies(s, &page))
    }
}

endpoint! {
    #[query]
    /// One institution.
    fn get_institution(institution_id: u64) -> Option<Institution> {
        storage::with_state(|s| s.institution(institution_id).ok())
    }
}

endpoint! {
    #[query]
    /// Institutions in id order.
    fn list_institutions(page: PageRequest) -> InstitutionPage {
        storage::with_state(|s| report::list_institutions(s, &page))
    }
}

endpoint! {
    #[query]
    /// One program.
    fn get_program(program_id: u64) -> Option<Program> {
        storage::with_state(|s| s.program(program_id).ok())
    }
}

endpoint! {
    #[query]
    /// Programs in id order, optionally of one institution.
    fn list_programs(query: ProgramQuery) -> ProgramPage {
        storage::with_state(|s| report::list_programs(s, &query))
    }
}

endpoint! {
    #[query]
    /// One license, as it stands now.
    fn get_license(license_id: u64) -> Option<License> {
        storage::with_state(|s| s.license_at(license_id, time()).ok())
    }
}

endpoint! {
    #[query]
    /// Licenses in id order as they stand now, filtered by program, holder and status.
    fn list_licenses(query: LicenseQuery) -> LicensePage {
        storage::with_state(|s| report::list_licenses(s, &query, time()))
    }
}

endpoint! {
    #[query]
    /// Apps in id order, filtered by program or license.
    fn list_apps(query: AppQuery) -> AppPage {
        storage::with_state(|s| report::list_apps(s, &query))
    }
}

endpoint! {
    #[query]
    /// The registration of a canister that is in flight, or whose outcome is unknown (kept until
    /// its holder retries).
    fn pending_app(canister: Principal) -> Option<PendingApp> {
        storage::with_state(|s| apps::pending_app(s, canister))
    }
}

endpoint! {
    #[query]
    /// Which app, license, program, institution and holder own an app canister (for burn_ledger);
    /// `None` if the canister is not a registered app.
    fn app_owner(canister: Principal) -> Option<AppOwner> {
        storage::with_state(|s| apps::app_owner(s, canister))
    }
}

endpoint! {
    #[query]
    /// The licensing checkpoint, as of now: seats by sector, institution and program (offered,
    /// active, suspended, revoked, expired), activation rates, apps live, active builders in 30
    /// days. The lines add up to the totals exactly.
    fn licensing_report() -> LicensingReport {
        storage::with_state(|s| report::licensing_report(s, time()))
    }
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
