//! Rollout steps for `license_issuer`: deploying it beside `subnet_registry`, and the Pakistan
//! allocation of the Caffeine AI licenses (institutions across sectors, programs with quotas,
//! offers, acceptances, apps placed on the live Pakistan subnet).

use crate::actors::actor;
use crate::call::{query1, update1};
use crate::env::Env;
use crate::wasm::wasm;
use candid::{encode_one, Principal};
use interfaces::license_issuer as li;
use crate::scenarios::subnet_registry as sr_steps;

/// The authority of both canisters in these scenarios (think: the PDA).
pub fn authority() -> Principal {
    actor("license-authority")
}

/// Scenario principals: `principal(0x10, n)` for managers, `principal(0x20, n)` for builders,
/// ... Each is an actor (a key that can sign on a replica too).
pub fn principal(kind: u8, n: u16) -> Principal {
    actor(&format!("license-{kind:02x}-{n}"))
}

/// The license issuer and the registry it records placements in.
#[derive(Clone, Debug)]
pub struct LicensingSuite {
    pub issuer: Principal,
    pub registry: Principal,
    pub authority: Principal,
    /// A `Live` subnet in the registry (the Pakistan sovereign subnet).
    pub live_subnet: Principal,
}

/// Issuer install arguments with the given cap, wired to `registry`.
pub fn issuer_args(cap: u32, registry: Principal) -> li::InitArgs {
    li::InitArgs {
        authorities: vec![authority()],
        global_seat_cap: cap,
        subnet_registry: Some(registry),
        burn_ledger: None,
        offer_ttl_seconds: None,
        idle_reclaim_days: None,
        usage_report_interval_seconds: None,
        other_suite_canisters: None,
    }
}

/// Creates both canisters, installs the registry (with the issuer as placement recorder) and the
/// issuer (`edit` adjusts its arguments), and brings the Pakistan subnet to `Live`.
pub fn deploy_licensing(env: &mut dyn Env, cap: u32, edit: impl FnOnce(&mut li::InitArgs)) -> LicensingSuite {
    let registry = env.create_canister();
    let issuer = env.create_canister();
    sr_steps::install_registry(env, registry, vec![issuer], None);
    let mut args = issuer_args(cap, registry);
    edit(&mut args);
    env.install(issuer, &wasm("license_issuer"), encode_one(Some(args)).unwrap())
        .unwrap_or_else(|r| panic!("installing license_issuer: {r}"));
    let live_subnet = sr_steps::pakistan_subnet(env, registry).id;
    LicensingSuite { issuer, registry, authority: authority(), live_subnet }
}

// ---- typed helpers for the issuer ----

pub fn create_policy(env: &mut dyn Env, issuer: Principal, name: &str, days: u32, max_apps: u32) -> li::Policy {
    let input = li::PolicyInput {
        name: name.into(),
        duration_days: days,
        entitlements: li::Entitlements { max_apps, monthly_cycles_quota: 2_000_000_000_000 },
    };
    let r: Result<li::Policy, li::LicenseError> = update1(env, issuer, authority(), "create_policy", (input,));
    r.expect("create_policy")
}

/// Creates and verifies an institution.
pub fn create_institution(env: &mut dyn Env, issuer: Principal, name: &str, sector: li::Sector) -> li::Institution {
    let input = li::InstitutionInput { name: name.into(), sector };
    let r: Result<li::Institution, li::LicenseError> = update1(env, issuer, authority(), "create_institution", (input,));
    let inst = r.expect("create_institution");
    let r: Result<li::Institution, li::LicenseError> =
        update1(env, issuer, authority(), "set_institution_verified", (inst.id, true));
    r.expect("set_institution_verified")
}

pub fn create_program(
    env: &mut dyn Env,
    issuer: Principal,
    institution_id: u64,
    name: &str,
    seat_quota: u32,
    policy_id: u64,
    manager: Principal,
) -> li::Program {
    let input = li::ProgramInput { institution_id, name: name.into(), seat_quota, policy_id, managers: vec![manager] };
    let r: Result<li::Program, li::LicenseError> = update1(env, issuer, authority(), "create_program", (input,));
    r.expect("create_program")
}

pub fn offer(env: &mut dyn Env, issuer: Principal, manager: Principal, program_id: u64, holder: Principal) -> Result<li::License, li::LicenseError> {
    update1(env, issuer, manager, "offer_license", (program_id, holder))
}

pub fn accept(env: &mut dyn Env, issuer: Principal, holder: Principal, license_id: u64) -> Result<li::License, li::LicenseError> {
    update1(env, issuer, holder, "accept_license", (license_id,))
}

pub fn register_app(env: &mut dyn Env, issuer: Principal, holder: Principal, input: li::AppInput) -> Result<li::App, li::LicenseError> {
    update1(env, issuer, holder, "register_app", (input,))
}

pub fn report(env: &mut dyn Env, issuer: Principal) -> li::LicensingReport {
    query1(env, issuer, Principal::anonymous(), "licensing_report", ())
}

/// One program of the Pakistan allocation and what happened in it.
#[derive(Clone, Debug)]
pub struct ProgramOutcome {
    pub program: li::Program,
    pub sector: li::Sector,
    pub manager: Principal,
    pub offered: Vec<li::License>,
    pub accepted: Vec<li::License>,
    pub apps: Vec<li::App>,
}

/// What `pakistan_licenses` set up.
#[derive(Clone, Debug)]
pub struct PakistanLicenses {
    pub policy: li::Policy,
    pub programs: Vec<ProgramOutcome>,
    pub report: li::LicensingReport,
}

/// The Pakistan allocation: (institution, sector, program, quota, offers, accepts, apps per
/// accepted holder). Quotas sum past what is issued.
const PAKISTAN_PLAN: [(&str, li::Sector, &str, u32, u16, u16, u16); 5] = [
    ("Punjab IT Board", li::Sector::Government, "e-Governance builders", 300, 4, 3, 1),
    ("NUST", li::Sector::Education, "NUST AI builders", 400, 5, 4, 1),
    ("FAST-NUCES", li::Sector::Education, "FAST capstone builders", 250, 3, 1, 0),
    ("National Incubation Center", li::Sector::Startup, "NIC cohort 1", 350, 4, 3, 2),
    ("National Incubation Center", li::Sector::Startup, "NIC cohort 2", 350, 2, 0, 0),
];

/// How many apps the Pakistan allocation registers (the canisters `pakistan_licenses` needs).
pub fn pakistan_app_count() -> usize {
    PAKISTAN_PLAN.iter().map(|p| usize::from(p.5) * usize::from(p.6)).sum()
}

/// Empty canisters for scenarios whose apps never run code (`pakistan_licenses` hands each to
/// its holder).
pub fn empty_app_canisters(env: &mut dyn Env, count: usize) -> Vec<Principal> {
    (0..count).map(|_| env.create_canister()).collect()
}

/// Adds `holder` to the controllers of `canister` (created by the test controller), as a builder
/// who deploys their own app controls it: the issuer registers only canisters whose
/// `canister_info` lists the holder as a controller.
pub fn hand_to_holder(env: &mut dyn Env, canister: Principal, holder: Principal) {
    let backend = env.backend();
    env.add_controller(canister, holder).unwrap_or_else(|r| panic!("[{backend}] making {holder} a controller of {canister}: {r}"));
}

/// A new empty canister controlled by `holder` (and the test controller).
pub fn holder_canister(env: &mut dyn Env, holder: Principal) -> Principal {
    let canister = env.create_canister();
    hand_to_holder(env, canister, holder);
    canister
}

/// The Pakistan allocation on `issuer`: a government, two education and a startup institution
/// with programs and quotas, offers to builders, most of them accepted, and the apps
/// `app_canisters` (one each, in order; [`pakistan_app_count`] of them) handed to their holders
/// and registered on `subnet_id` (which must be `Live` in the issuer's registry).
pub fn pakistan_licenses(env: &mut dyn Env, issuer: Principal, subnet_id: Principal, app_canisters: &[Principal]) -> PakistanLicenses {
    assert_eq!(app_canisters.len(), pakistan_app_count(), "one canister per app of the plan");
    let policy = create_policy(env, issuer, "Caffeine AI builder, 1 year", 365, 3);
    let mut institutions: Vec<(String, li::Institution)> = Vec::new();
    let mut programs = Vec::new();
    let mut builder = 0u16;
    let mut next_app = app_canisters.iter();
    for (p_index, (inst_name, sector, program_name, quota, offers, accepts, apps_each)) in PAKISTAN_PLAN.into_iter().enumerate() {
        let inst = match institutions.iter().find(|(n, _)| n == inst_name) {
            Some((_, i)) => i.clone(),
            None => {
                let i = create_institution(env, issuer, inst_name, sector);
                institutions.push((inst_name.to_string(), i.clone()));
                i
            }
        };
        let manager = principal(0x10, p_index as u16);
        let program = create_program(env, issuer, inst.id, program_name, quota, policy.id, manager);
        let mut outcome = ProgramOutcome { program, sector, manager, offered: vec![], accepted: vec![], apps: vec![] };
        for i in 0..offers {
            builder += 1;
            let holder = principal(0x20, builder);
            let license = offer(env, issuer, manager, outcome.program.id, holder).expect("offer");
            outcome.offered.push(license.clone());
            if i < accepts {
                let active = accept(env, issuer, holder, license.id).expect("accept");
                for a in 0..apps_each {
                    let canister = *next_app.next().expect("counted by pakistan_app_count");
                    hand_to_holder(env, canister, holder);
                    let input = li::AppInput { license_id: active.id, name: format!("{program_name} app {a}"), canister, subnet_id };
                    outcome.apps.push(register_app(env, issuer, holder, input).expect("register_app"));
                }
                outcome.accepted.push(active);
            }
        }
        programs.push(outcome);
    }
    let report = report(env, issuer);
    PakistanLicenses { policy, programs, report }
}
