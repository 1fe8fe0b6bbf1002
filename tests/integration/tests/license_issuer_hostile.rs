//! Hostile cases against `license_issuer`'s real wasm, on the executor (stable-memory digests,
//! message stepping): apps that are not the holder's, refused calls that used to change state,
//! renewals past the entitlement, timed transitions before the timer, paging, report sums, the
//! reply bounds at the worst case, conflicting calls at every await of `register_app`, and hostile
//! ingress. Every refusal is checked to leave the stable memory (audit log included) unchanged.

use interfaces::audit::{AuditPage, ChainCheck, PageRequest};
use interfaces::license_issuer::*;
use interfaces::subnet_registry::{Placement, SubnetStatus};
use std::fmt::Debug;
use std::time::Duration;
use suite_tests::hostile::{stable_digest, Hostile};
use suite_tests::ic_executor::Step;
use suite_tests::scenarios::license_issuer::*;
use suite_tests::*;

const ANON: Principal = Principal::anonymous();
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// A deployed issuer and registry, one program and one accepted license.
struct World {
    suite: LicensingSuite,
    messaging: Principal,
    ledger: Principal,
    policy: Policy,
    program: u64,
    manager: Principal,
    holder: Principal,
    license: License,
}

/// Issuer (with `messaging` listed as a suite canister and a burn ledger), registry with a live
/// subnet, a policy of `max_apps` apps and `days` days, a program of `quota` seats, and
/// `principal(0x20, 1)`'s accepted license.
fn world(env: &mut ExecutorEnv, max_apps: u32, days: u32, quota: u32, edit: impl FnOnce(&mut InitArgs)) -> World {
    let messaging = env.create_canister();
    let ledger = env.create_canister();
    let suite = deploy_licensing(env, 1_500, |a| {
        a.other_suite_canisters = Some(vec![messaging]);
        a.burn_ledger = Some(ledger);
        a.usage_report_interval_seconds = Some(7 * 24 * 3600);
        edit(a);
    });
    let policy = create_policy(env, suite.issuer, "builder", days, max_apps);
    let inst = create_institution(env, suite.issuer, "NUST", Sector::Education);
    let manager = principal(0x10, 1);
    let program = create_program(env, suite.issuer, inst.id, "NUST AI builders", quota, policy.id, manager).id;
    let holder = principal(0x20, 1);
    let offered = offer(env, suite.issuer, manager, program, holder).expect("offer");
    let license = accept(env, suite.issuer, holder, offered.id).expect("accept");
    World { suite, messaging, ledger, policy, program, manager, holder, license }
}

fn app(w: &World, canister: Principal) -> AppInput {
    AppInput { license_id: w.license.id, name: "exam results".into(), canister, subnet_id: w.suite.live_subnet }
}

fn get_license(env: &mut dyn Env, issuer: Principal, id: u64) -> License {
    let l: Option<License> = query1(env, issuer, ANON, "get_license", (id,));
    l.expect("license exists")
}

fn audit_total(env: &mut dyn Env, issuer: Principal) -> u64 {
    let page: AuditPage = query1(env, issuer, ANON, "audit_log", (PageRequest { start: None, limit: Some(1) },));
    page.total
}

fn chain_valid(env: &mut dyn Env, issuer: Principal) -> bool {
    let check: ChainCheck = query1(env, issuer, ANON, "verify_audit_log", (0u64, 10_000u64));
    matches!(check, ChainCheck::Valid { .. })
}

/// What a refusal must leave as it was: the whole stable memory and the audit log's length.
fn state(env: &mut ExecutorEnv, issuer: Principal) -> (Option<[u8; 32]>, u64) {
    (stable_digest(env, issuer), audit_total(env, issuer))
}

/// Runs `call`, which must be refused with `expected` and change nothing (`stable_digest` of the
/// whole stable memory, and the audit log's length).
fn refused<T: Debug>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    issuer: Principal,
    case: &str,
    expected: LicenseError,
    call: impl FnOnce(&mut ExecutorEnv) -> Result<T, LicenseError>,
) {
    let before = state(env, issuer);
    let got = call(env);
    let unchanged = before.0.is_some() && state(env, issuer) == before;
    let right = matches!(&got, Err(e) if *e == expected);
    h.check(case, right && unchanged, format!("got {got:?}, expected Err({expected:?}), state unchanged: {unchanged}"));
}

fn manage<T: candid::CandidType + serde::de::DeserializeOwned, A: candid::utils::ArgumentEncoder>(
    env: &mut dyn Env,
    issuer: Principal,
    who: Principal,
    method: &str,
    args: A,
) -> Result<T, LicenseError> {
    update1(env, issuer, who, method, args)
}

// ---- Defect 1: register_app takes only canisters the holder controls ----

#[test]
fn register_app_takes_only_canisters_the_holder_controls() {
    let mut h = Hostile::new("license_issuer", "register_app_takes_only_canisters_the_holder_controls");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 3, 365, 10, |_| {});
    let issuer = w.suite.issuer;
    let other_builder = principal(0x20, 2);
    let users = [
        ("the holder's own principal", w.holder),
        ("another user's principal", other_builder),
        ("the anonymous principal", ANON),
        ("the management canister", Principal::management_canister()),
        ("a node-like 29-byte principal", principal(0x5a, 1)),
    ];
    for (case, p) in users {
        refused(&mut h, env, issuer, case, LicenseError::NotACanister { principal: p }, |env| {
            register_app(env, issuer, w.holder, app(&w, p))
        });
    }
    let suite = [("the issuer itself", issuer), ("the registry", w.suite.registry), ("the burn ledger", w.ledger), ("messaging", w.messaging)];
    for (case, c) in suite {
        // Even a holder who controls a suite canister cannot register it.
        hand_to_holder(env, c, w.holder);
        refused(&mut h, env, issuer, case, LicenseError::SuiteCanister { canister: c }, |env| {
            register_app(env, issuer, w.holder, app(&w, c))
        });
    }
    let someone_elses = env.create_canister();
    refused(&mut h, env, issuer, "a canister of the test controller only", LicenseError::NotController { canister: someone_elses, caller: w.holder }, |env| {
        register_app(env, issuer, w.holder, app(&w, someone_elses))
    });
    let other_builders = holder_canister(env, other_builder);
    refused(&mut h, env, issuer, "another builder's canister", LicenseError::NotController { canister: other_builders, caller: w.holder }, |env| {
        register_app(env, issuer, w.holder, app(&w, other_builders))
    });
    // A canister id nobody created: canister_info rejects.
    let ghost = Principal::from_slice(&[0, 0, 0, 0, 0, 0x7f, 0x7f, 0x7f, 1, 1]);
    let before = state(env, issuer);
    let got = register_app(env, issuer, w.holder, app(&w, ghost));
    h.check(
        "a canister that does not exist",
        matches!(&got, Err(LicenseError::CanisterInfoUnavailable { canister, .. }) if *canister == ghost) && state(env, issuer) == before,
        &got,
    );
    // What is the holder's: an empty canister it controls, and one running code (hash recorded).
    let empty = holder_canister(env, w.holder);
    let registered = register_app(env, issuer, w.holder, app(&w, empty));
    h.check("an empty canister the holder controls is registered", matches!(&registered, Ok(a) if a.module_hash.is_none()), &registered);
    let running = deploy(env, &fixture_wasm(), ());
    hand_to_holder(env, running, w.holder);
    let registered = register_app(env, issuer, w.holder, app(&w, running));
    let hash = env.ex.module_hash(running).map(|h| h.to_vec());
    h.check("a running canister is registered with its module hash", matches!(&registered, Ok(a) if a.module_hash == hash && hash.is_some()), &registered);
    h.check("the audit chain holds", chain_valid(env, issuer), "");
    h.finish();
}

// ---- Defect 2: a refused registration changes nothing ----

#[test]
fn a_refused_registration_changes_nothing() {
    let mut h = Hostile::new("license_issuer", "a_refused_registration_changes_nothing");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 1, 365, 10, |_| {});
    let issuer = w.suite.issuer;
    // A month without activity: the holder is no longer an active builder.
    env.advance_time(DAY * 31);
    let builders = |env: &mut ExecutorEnv| report(env, issuer).active_builders_30d;
    h.expect_eq("idle holder is not an active builder", builders(env), 0);
    let last_activity = get_license(env, issuer, w.license.id).last_activity_ns;
    let mine = holder_canister(env, w.holder);

    // The registry refuses: the subnet is suspended.
    suite_tests::scenarios::subnet_registry::set_status(env, w.suite.registry, w.suite.live_subnet, SubnetStatus::Suspended);
    refused(&mut h, env, issuer, "subnet not live", LicenseError::SubnetNotLive { subnet_id: w.suite.live_subnet, status: SubnetStatus::Suspended }, |env| {
        register_app(env, issuer, w.holder, app(&w, mine))
    });
    suite_tests::scenarios::subnet_registry::set_status(env, w.suite.registry, w.suite.live_subnet, SubnetStatus::Live);
    // The registry rejects, traps, times out before running.
    for (case, fault, code) in [("registry rejects", Fault::Reject("maintenance".into()), 4), ("registry traps", Fault::Trap("boom".into()), 5), ("registry times out", Fault::Timeout, 6)] {
        env.inject_fault(w.suite.registry, "record_placement", fault).unwrap();
        let before = state(env, issuer);
        let got = register_app(env, issuer, w.holder, app(&w, mine));
        let held = matches!(&got, Err(LicenseError::RegistryUnavailable { reject_code, .. }) if *reject_code == code) && state(env, issuer) == before;
        h.check(case, held, &got);
        env.clear_faults();
    }
    // Unknown subnet, wrong holder, not a controller, a user principal.
    let unknown_subnet = AppInput { subnet_id: principal(0x5a, 99), ..app(&w, mine) };
    let before = state(env, issuer);
    let got = register_app(env, issuer, w.holder, unknown_subnet);
    h.check("unknown subnet", matches!(got, Err(LicenseError::RegistryRefused { .. })) && state(env, issuer) == before, &got);
    let stranger = principal(0x20, 9);
    refused(&mut h, env, issuer, "someone else's license", LicenseError::NotAuthorized { caller: stranger, required: Role::Holder { license_id: w.license.id } }, |env| {
        register_app(env, issuer, stranger, app(&w, mine))
    });
    let not_mine = env.create_canister();
    refused(&mut h, env, issuer, "not a controller", LicenseError::NotController { canister: not_mine, caller: w.holder }, |env| {
        register_app(env, issuer, w.holder, app(&w, not_mine))
    });
    // The entitlement (1 app) used up, then a suspended license.
    register_app(env, issuer, w.holder, app(&w, mine)).expect("the holder's app");
    env.advance_time(DAY * 31);
    let last_activity_after_app = get_license(env, issuer, w.license.id).last_activity_ns;
    let second = holder_canister(env, w.holder);
    refused(&mut h, env, issuer, "app limit reached", LicenseError::AppLimitReached { license_id: w.license.id, max_apps: 1, used: 1 }, |env| {
        register_app(env, issuer, w.holder, app(&w, second))
    });
    let r: Result<License, LicenseError> = manage(env, issuer, w.manager, "suspend_license", (w.license.id, "audit".to_string()));
    r.unwrap();
    refused(&mut h, env, issuer, "suspended license", LicenseError::LicenseNotActive { license_id: w.license.id, status: LicenseStatus::Suspended }, |env| {
        register_app(env, issuer, w.holder, app(&w, second))
    });
    h.expect_eq("refusals left the activity clock", get_license(env, issuer, w.license.id).last_activity_ns, last_activity_after_app);
    h.check("the registration itself was activity", last_activity_after_app > last_activity, (last_activity, last_activity_after_app));
    h.expect_eq("refusals counted nobody as an active builder", builders(env), 0);
    h.finish();
}

// ---- Defect 3: a renewal cannot leave more apps than the terms allow ----

#[test]
fn a_renewal_never_leaves_more_apps_than_the_terms() {
    let mut h = Hostile::new("license_issuer", "a_renewal_never_leaves_more_apps_than_the_terms");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 2, 365, 10, |_| {});
    let issuer = w.suite.issuer;
    for _ in 0..2 {
        let c = holder_canister(env, w.holder);
        register_app(env, issuer, w.holder, app(&w, c)).expect("within the entitlement");
    }
    let authority = w.suite.authority;
    let smaller = |max_apps| PolicyInput {
        name: "builder v2".into(),
        duration_days: 30,
        entitlements: Entitlements { max_apps, monthly_cycles_quota: 1 },
    };
    for max_apps in [1u32, 0] {
        let p: Result<Policy, LicenseError> = manage(env, issuer, authority, "update_policy", (w.policy.id, smaller(max_apps)));
        p.unwrap();
        refused(&mut h, env, issuer, &format!("adopting terms of {max_apps} apps with 2 registered"), LicenseError::AppsExceedEntitlement { license_id: w.license.id, apps: 2, max_apps }, |env| {
            manage::<License, _>(env, issuer, authority, "renew_license", (w.license.id, true))
        });
    }
    let l = get_license(env, issuer, w.license.id);
    h.expect_eq("the terms are unchanged", l.terms.entitlements.max_apps, 2);
    let renewed: Result<License, LicenseError> = manage(env, issuer, w.manager, "renew_license", (w.license.id, false));
    h.check("a renewal on its own terms still works", matches!(&renewed, Ok(r) if r.terms == l.terms), &renewed);
    let p: Result<Policy, LicenseError> = manage(env, issuer, authority, "update_policy", (w.policy.id, smaller(2)));
    p.unwrap();
    let adopted: Result<License, LicenseError> = manage(env, issuer, authority, "renew_license", (w.license.id, true));
    h.check("adopting terms that fit is allowed", matches!(&adopted, Ok(r) if r.terms.entitlements.max_apps == 2 && r.app_ids.len() == 2), &adopted);
    h.finish();
}

// ---- Defect 4: timed transitions, sweeps, report sums, paging ----

#[test]
fn nobody_sees_a_license_active_past_its_deadlines() {
    let mut h = Hostile::new("license_issuer", "nobody_sees_a_license_active_past_its_deadlines");
    let env = &mut ExecutorEnv::new();
    // Terms of 3 days, offers of 1 hour, idle reclaim after 2 days; no timer runs until the end.
    let w = world(env, 2, 3, 2, |a| {
        a.offer_ttl_seconds = Some(3600);
        a.idle_reclaim_days = Some(2);
    });
    let issuer = w.suite.issuer;
    let waiting = offer(env, issuer, w.manager, w.program, principal(0x20, 2)).unwrap();
    env.advance_time(HOUR + Duration::from_secs(1));
    let seen = get_license(env, issuer, waiting.id);
    h.check("an offer past its expiry reads Expired", seen.status == LicenseStatus::Expired && seen.end_reason == Some(EndReason::OfferExpired), &seen);
    refused(&mut h, env, issuer, "accepting an expired offer", LicenseError::OfferExpired { license_id: waiting.id, expired_at_ns: waiting.offer_expires_at_ns }, |env| {
        accept(env, issuer, waiting.holder, waiting.id)
    });
    // Activity after a day and a half keeps the license from idling before its term ends.
    env.advance_time(DAY + HOUR * 12);
    let r: Result<License, LicenseError> = manage(env, issuer, w.holder, "record_activity", (w.license.id,));
    r.unwrap();
    env.advance_time(DAY * 2);
    let l = get_license(env, issuer, w.license.id);
    h.check("a term past its end reads Expired", l.status == LicenseStatus::Expired && l.end_reason == Some(EndReason::TermEnded) && l.ended_at_ns == w.license.expires_at_ns, &l);
    let active: LicensePage = query1(env, issuer, ANON, "list_licenses", (LicenseQuery { status: Some(LicenseStatus::Active), ..Default::default() },));
    h.expect_eq("no license is listed Active", active.total, 0);
    let expired: LicensePage = query1(env, issuer, ANON, "list_licenses", (LicenseQuery { status: Some(LicenseStatus::Expired), ..Default::default() },));
    h.expect_eq("both are listed Expired", expired.total, 2);
    let r = report(env, issuer);
    h.expect_eq("the report counts them ended", (r.totals.active, r.totals.offered, r.totals.expired, r.seats_in_use), (0, 0, 2, 0));
    let id = w.license.id;
    let expired_status = |action: &str| LicenseError::InvalidStatus { license_id: id, status: LicenseStatus::Expired, action: action.into() };
    refused(&mut h, env, issuer, "activity after the term", LicenseError::LicenseNotActive { license_id: id, status: LicenseStatus::Expired }, |env| {
        manage::<License, _>(env, issuer, w.holder, "record_activity", (id,))
    });
    refused(&mut h, env, issuer, "suspending after the term", expired_status("suspend"), |env| {
        manage::<License, _>(env, issuer, w.manager, "suspend_license", (id, "x".to_string()))
    });
    refused(&mut h, env, issuer, "renewing after the term", expired_status("renew"), |env| {
        manage::<License, _>(env, issuer, w.manager, "renew_license", (id, false))
    });
    refused(&mut h, env, issuer, "revoking after the term", expired_status("revoke"), |env| {
        manage::<License, _>(env, issuer, w.manager, "revoke_license", (id, "x".to_string()))
    });
    let c = holder_canister(env, w.holder);
    refused(&mut h, env, issuer, "registering an app after the term", LicenseError::LicenseNotActive { license_id: id, status: LicenseStatus::Expired }, |env| {
        register_app(env, issuer, w.holder, app(&w, c))
    });
    // The seats are free at once: two new offers fit the quota of 2.
    let a = offer(env, issuer, w.manager, w.program, principal(0x20, 3));
    let b = offer(env, issuer, w.manager, w.program, principal(0x20, 4));
    h.check("the freed seats can be offered", a.is_ok() && b.is_ok(), (&a, &b));
    // Idle reclaim: two days without activity.
    let fresh = accept(env, issuer, principal(0x20, 3), a.unwrap().id).unwrap();
    env.advance_time(DAY * 2);
    let idle = get_license(env, issuer, fresh.id);
    h.check("an idle license reads Revoked (IdleReclaimed)", idle.status == LicenseStatus::Revoked && matches!(idle.end_reason, Some(EndReason::IdleReclaimed { idle_days: 2, .. })), &idle);
    refused(&mut h, env, issuer, "activity after the idle deadline", LicenseError::LicenseNotActive { license_id: fresh.id, status: LicenseStatus::Revoked }, |env| {
        manage::<License, _>(env, issuer, fresh.holder, "record_activity", (fresh.id,))
    });
    // When the timer finally runs it records exactly what readers saw.
    let before: LicensePage = query1(env, issuer, ANON, "list_licenses", (LicenseQuery::default(),));
    let report_before = report(env, issuer);
    env.tick();
    let after: LicensePage = query1(env, issuer, ANON, "list_licenses", (LicenseQuery::default(),));
    h.expect_eq("the timer changed nothing a reader sees", after, before);
    let mut report_after = report(env, issuer);
    report_after.generated_at_ns = report_before.generated_at_ns;
    h.expect_eq("nor the report", report_after, report_before);
    h.finish();
}

#[test]
fn a_refused_offer_sweeps_nothing() {
    let mut h = Hostile::new("license_issuer", "a_refused_offer_sweeps_nothing");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 1, 365, 2, |a| a.offer_ttl_seconds = Some(3600));
    let issuer = w.suite.issuer;
    let stale = offer(env, issuer, w.manager, w.program, principal(0x20, 2)).unwrap();
    env.advance_time(HOUR * 2);
    let stranger = principal(0x10, 9);
    refused(&mut h, env, issuer, "a stranger's offer", LicenseError::NotAuthorized { caller: stranger, required: Role::ProgramManager { program_id: w.program } }, |env| {
        offer(env, issuer, stranger, w.program, principal(0x20, 3))
    });
    refused(&mut h, env, issuer, "an offer to the anonymous principal", LicenseError::AnonymousPrincipal { field: "holder".into() }, |env| {
        offer(env, issuer, w.manager, w.program, ANON)
    });
    refused(&mut h, env, issuer, "an offer in a missing program", LicenseError::ProgramNotFound { program_id: 99 }, |env| {
        offer(env, issuer, w.manager, 99, principal(0x20, 3))
    });
    refused(&mut h, env, issuer, "an offer to a current holder", LicenseError::HolderAlreadyLicensed { holder: w.holder, program_id: w.program, license_id: w.license.id }, |env| {
        offer(env, issuer, w.manager, w.program, w.holder)
    });
    h.expect_eq("the stale offer is still stored as offered (unswept) but reads expired", get_license(env, issuer, stale.id).status, LicenseStatus::Expired);
    let fresh = offer(env, issuer, w.manager, w.program, principal(0x20, 3));
    h.check("the expired offer's seat is free", fresh.is_ok(), &fresh);
    refused(&mut h, env, issuer, "the quota is full", LicenseError::ProgramQuotaReached { program_id: w.program, quota: 2, in_use: 2 }, |env| {
        offer(env, issuer, w.manager, w.program, principal(0x20, 4))
    });
    h.check("the audit chain holds", chain_valid(env, issuer), "");
    h.finish();
}

#[test]
fn report_lines_add_up_to_the_totals() {
    let mut h = Hostile::new("license_issuer", "report_lines_add_up_to_the_totals");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 2, 30, 5, |a| a.offer_ttl_seconds = Some(3600));
    let issuer = w.suite.issuer;
    // The same builder holds licenses in two programs of two institutions in two sectors.
    let inst = create_institution(env, issuer, "NIC", Sector::Startup);
    let second = create_program(env, issuer, inst.id, "NIC cohort", 5, w.policy.id, w.manager).id;
    let l2 = offer(env, issuer, w.manager, second, w.holder).unwrap();
    accept(env, issuer, w.holder, l2.id).unwrap();
    let c = holder_canister(env, w.holder);
    register_app(env, issuer, w.holder, app(&w, c)).unwrap();
    offer(env, issuer, w.manager, second, principal(0x20, 5)).unwrap();
    let check = |h: &mut Hostile, env: &mut ExecutorEnv, when: &str| {
        let r = report(env, issuer);
        let sum = |lines: &[SeatCounts]| {
            lines.iter().fold(SeatCounts::default(), |mut t, l| {
                t.offered += l.offered;
                t.active += l.active;
                t.suspended += l.suspended;
                t.revoked += l.revoked;
                t.expired += l.expired;
                t.in_use += l.in_use;
                t.offers_made += l.offers_made;
                t.offers_accepted += l.offers_accepted;
                t.idle_reclaimed += l.idle_reclaimed;
                t.apps += l.apps;
                t
            })
        };
        let programs: Vec<SeatCounts> = r.by_program.iter().map(|l| l.seats.clone()).collect();
        let institutions: Vec<SeatCounts> = r.by_institution.iter().map(|l| l.seats.clone()).collect();
        let sectors: Vec<SeatCounts> = r.by_sector.iter().map(|l| l.seats.clone()).collect();
        h.expect_eq(&format!("{when}: program lines sum to the totals"), sum(&programs), r.totals.clone());
        h.expect_eq(&format!("{when}: institution lines sum to the totals"), sum(&institutions), r.totals.clone());
        h.expect_eq(&format!("{when}: sector lines sum to the totals"), sum(&sectors), r.totals.clone());
        let b = |v: Vec<u64>| v.iter().sum::<u64>();
        h.expect_eq(&format!("{when}: program builders sum"), b(r.by_program.iter().map(|l| l.active_builders_30d).collect()), r.active_builders_30d);
        h.expect_eq(&format!("{when}: institution builders sum"), b(r.by_institution.iter().map(|l| l.active_builders_30d).collect()), r.active_builders_30d);
        h.expect_eq(&format!("{when}: sector builders sum"), b(r.by_sector.iter().map(|l| l.active_builders_30d).collect()), r.active_builders_30d);
        h.expect_eq(&format!("{when}: seats and apps"), (r.seats_in_use, r.apps_live), (r.totals.in_use, r.totals.apps));
        r
    };
    let r = check(&mut h, env, "two programs, one builder");
    h.expect_eq("one builder with two active licenses counts in both lines", r.active_builders_30d, 2);
    env.advance_time(DAY * 31);
    check(&mut h, env, "after the terms ended, before the timer");
    env.tick();
    check(&mut h, env, "after the timer");
    h.finish();
}

#[test]
fn every_pager_honours_its_limit_and_advances() {
    let mut h = Hostile::new("license_issuer", "every_pager_honours_its_limit_and_advances");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 3, 365, 10, |_| {});
    let issuer = w.suite.issuer;
    for n in 2..5 {
        offer(env, issuer, w.manager, w.program, principal(0x20, n)).unwrap();
        create_policy(env, issuer, &format!("p{n}"), 30, 1);
        create_institution(env, issuer, &format!("i{n}"), Sector::Other);
    }
    for _ in 0..3 {
        let c = holder_canister(env, w.holder);
        register_app(env, issuer, w.holder, app(&w, c)).unwrap();
    }
    /// (items, total, next_start) of a pager at `page`.
    fn page_of(env: &mut dyn Env, issuer: Principal, pager: &str, page: PageRequest) -> (usize, u64, Option<u64>) {
        match pager {
            "list_policies" => { let p: PolicyPage = query1(env, issuer, ANON, pager, (page,)); (p.items.len(), p.total, p.next_start) }
            "list_institutions" => { let p: InstitutionPage = query1(env, issuer, ANON, pager, (page,)); (p.items.len(), p.total, p.next_start) }
            "list_programs" => { let p: ProgramPage = query1(env, issuer, ANON, pager, (ProgramQuery { institution_id: None, page },)); (p.items.len(), p.total, p.next_start) }
            "list_licenses" => { let p: LicensePage = query1(env, issuer, ANON, pager, (LicenseQuery { page, ..Default::default() },)); (p.items.len(), p.total, p.next_start) }
            _ => { let p: AppPage = query1(env, issuer, ANON, pager, (AppQuery { page, ..Default::default() },)); (p.items.len(), p.total, p.next_start) }
        }
    }
    for pager in ["list_policies", "list_institutions", "list_programs", "list_licenses", "list_apps"] {
        let (_, total, _) = page_of(env, issuer, pager, PageRequest::default());
        for start in [None, Some(0), Some(1), Some(total), Some(u64::MAX)] {
            let got = page_of(env, issuer, pager, PageRequest { start, limit: Some(0) });
            h.expect_eq(&format!("{pager} limit 0 from {start:?}"), got, (0, total, None));
        }
        for limit in [1u32, 2, 1_000_000] {
            let (mut at, mut seen, mut pages) = (0u64, 0u64, 0);
            loop {
                let (items, _, next) = page_of(env, issuer, pager, PageRequest { start: Some(at), limit: Some(limit) });
                seen += items as u64;
                pages += 1;
                let advances = next.is_none_or(|n| n > at) && items <= limit as usize;
                if !advances || pages > 100 {
                    h.check(&format!("{pager} limit {limit} advances"), false, (at, items, next));
                    break;
                }
                match next {
                    Some(n) => at = n,
                    None => break,
                }
            }
            h.expect_eq(&format!("{pager} limit {limit} visits everything once"), seen, total);
        }
    }
    h.finish();
}

// ---- inspect_message and bounded decoding ----

#[test]
fn hostile_ingress_and_arguments_are_turned_away() {
    let mut h = Hostile::new("license_issuer", "hostile_ingress_and_arguments_are_turned_away");
    let env = &mut ExecutorEnv::new();
    let w = world(env, 3, 365, 10, |_| {});
    let issuer = w.suite.issuer;
    let enc = |r: Result<Vec<u8>, candid::Error>| r.unwrap();
    let calls: Vec<(&str, Vec<u8>)> = vec![
        ("create_policy", enc(candid::encode_one(PolicyInput { name: "x".into(), duration_days: 1, entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 1 } }))),
        ("update_policy", enc(candid::encode_args((1u64, PolicyInput { name: "x".into(), duration_days: 1, entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 1 } })))),
        ("create_institution", enc(candid::encode_one(InstitutionInput { name: "x".into(), sector: Sector::Other }))),
        ("set_institution_verified", enc(candid::encode_args((1u64, true)))),
        ("create_program", enc(candid::encode_one(ProgramInput { institution_id: 1, name: "x".into(), seat_quota: 1, policy_id: 1, managers: vec![] }))),
        ("set_program_quota", enc(candid::encode_args((1u64, 5u32)))),
        ("set_program_managers", enc(candid::encode_args((1u64, Vec::<Principal>::new())))),
        ("set_program_policy", enc(candid::encode_args((1u64, 1u64)))),
        ("offer_license", enc(candid::encode_args((w.program, principal(0x20, 7))))),
        ("suspend_license", enc(candid::encode_args((w.license.id, "x".to_string())))),
        ("reinstate_license", enc(candid::encode_one(w.license.id))),
        ("revoke_license", enc(candid::encode_args((w.license.id, "x".to_string())))),
        ("renew_license", enc(candid::encode_args((w.license.id, false)))),
        ("accept_license", enc(candid::encode_one(w.license.id))),
        ("record_activity", enc(candid::encode_one(w.license.id))),
        ("register_app", enc(candid::encode_one(app(&w, w.messaging)))),
    ];
    for (method, arg) in calls {
        let before = state(env, issuer);
        let got = env.update_raw(issuer, ANON, method, arg);
        h.check(&format!("anonymous ingress to {method} is turned away"), got.is_err() && state(env, issuer) == before, got.map(|_| "a reply"));
    }
    // An oversized argument (a 20 KiB reason) from the license's own manager.
    let before = state(env, issuer);
    let big = candid::encode_args((w.license.id, "x".repeat(20 * 1024))).unwrap();
    let got = env.update_raw(issuer, w.manager, "suspend_license", big);
    h.check("an oversized ingress argument is turned away", got.is_err() && state(env, issuer) == before, got.map(|_| "a reply"));
    // The same call at a normal size is answered (with a typed refusal: the reason is too long).
    let r: Result<License, LicenseError> = manage(env, issuer, w.manager, "suspend_license", (w.license.id, "x".repeat(201)));
    h.check("a normal-size argument reaches the typed checks", matches!(r, Err(LicenseError::InvalidText { .. })), &r);
    // Inter-canister calls skip inspect_message: a relayed argument that is expensive to decode
    // is refused by the bounded decoder before any work (3 million `null`s after the arguments).
    let relay = deploy(env, &fixture_wasm(), ());
    let flood = candid::encode_args((w.license.id, vec![(); 3_000_000])).unwrap();
    let before = state(env, issuer);
    let relayed: Result<Result<Vec<u8>, RelayError>, Reject> = try_update(env, relay, ANON, "call_raw", (issuer, "get_license".to_string(), flood.clone()))
        .map(|(r,): (Result<Vec<u8>, RelayError>,)| r);
    h.check("a decoding flood relayed by a canister is refused", matches!(relayed, Ok(Err(_))) && state(env, issuer) == before, &relayed);
    let relayed: Result<Result<Vec<u8>, RelayError>, Reject> = try_update(env, relay, ANON, "call_raw", (issuer, "record_activity".to_string(), flood))
        .map(|(r,): (Result<Vec<u8>, RelayError>,)| r);
    h.check("a decoding flood to an update is refused", matches!(relayed, Ok(Err(_))) && state(env, issuer) == before, &relayed);
    // Well-typed but costly: 100,000 principals (300 KB on the wire, 30 decoding units each) as
    // a program's managers. ic-cdk's default decoder would decode them all and then answer
    // NotAuthorized; the bounded decoder refuses the argument before the endpoint runs.
    let costly = candid::encode_args((w.program, vec![ANON; 100_000])).unwrap();
    let relayed: Result<Result<Vec<u8>, RelayError>, Reject> = try_update(env, relay, ANON, "call_raw", (issuer, "set_program_managers".to_string(), costly))
        .map(|(r,): (Result<Vec<u8>, RelayError>,)| r);
    let refused_by_decoder = matches!(&relayed, Ok(Err(e)) if e.message.contains("argument refused"));
    h.check("a well-typed argument over the decoding quota is refused", refused_by_decoder && state(env, issuer) == before, &relayed);
    h.finish();
}

/// The fixture relay's error record.
#[derive(candid::CandidType, serde::Deserialize, Debug)]
struct RelayError {
    #[allow(dead_code)]
    code: u32,
    message: String,
}


// ---- Defect 5: conflicting calls at every await point of register_app ----

/// The second call delivered while the first registration awaits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Conflict {
    /// The same registration again.
    Same,
    /// Another app of the same holder, at the app limit.
    OtherAtLimit,
    /// The manager revokes the license.
    Revoke,
    /// The manager suspends the license.
    Suspend,
    /// An authority renews the license onto terms of one app (one registered, one in flight).
    RenewFewer,
    /// The manager renews the license on its own terms.
    Renew,
}

/// The awaits of `register_app`: after the issuer's 1st, 2nd or 3rd message it waits for
/// `canister_info`, `record_placement`, or `placement_of` (the last one only after an unknown
/// outcome, made here by losing `record_placement`'s response).
const AWAITS: [(usize, &str); 3] = [(1, "canister_info"), (2, "record_placement"), (3, "placement_of")];

/// Delivers messages until the issuer has run `n` of them (the ingress, then callbacks): it has
/// then just made its `n`-th outgoing call, which is the only message queued.
fn run_issuer_messages(env: &mut ExecutorEnv, issuer: Principal, n: usize) {
    let mut seen = 0;
    while seen < n {
        match env.ex.step().expect("the registration stopped early") {
            Step::Request { to, .. } | Step::Response { to } if to == issuer => seen += 1,
            _ => {}
        }
    }
}

fn submit<A: candid::utils::ArgumentEncoder>(env: &mut ExecutorEnv, issuer: Principal, who: Principal, method: &str, args: A) -> suite_tests::ic_executor::MessageId {
    env.ex.submit_update(issuer, who, method, candid::encode_args(args).unwrap())
}

fn result_of<T: candid::CandidType + serde::de::DeserializeOwned>(env: &mut ExecutorEnv, msg: suite_tests::ic_executor::MessageId) -> T {
    let bytes = env.ex.await_ingress(msg).expect("a response").expect("a reply, not a reject");
    candid::decode_one(&bytes).unwrap()
}

fn placement_of(env: &mut dyn Env, registry: Principal, canister: Principal) -> Option<Placement> {
    query1(env, registry, ANON, "placement_of", (canister,))
}

#[test]
fn conflicting_calls_at_every_await_point() {
    let mut h = Hostile::new("license_issuer", "conflicting_calls_at_every_await_point");
    let conflicts = [Conflict::Same, Conflict::OtherAtLimit, Conflict::Revoke, Conflict::Suspend, Conflict::RenewFewer, Conflict::Renew];
    for (k, awaited) in AWAITS {
        for conflict in conflicts {
            let case = format!("{conflict:?} while awaiting {awaited}");
            let env = &mut ExecutorEnv::new();
            let w = world(env, 2, 365, 10, |_| {});
            let issuer = w.suite.issuer;
            // One app registered: the registration in flight takes the last of the two slots.
            let first_app = holder_canister(env, w.holder);
            register_app(env, issuer, w.holder, app(&w, first_app)).unwrap();
            let (target, other) = (holder_canister(env, w.holder), holder_canister(env, w.holder));
            let one_app = PolicyInput { name: "one app".into(), duration_days: 30, entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 1 } };
            let p: Result<Policy, LicenseError> = manage(env, issuer, w.suite.authority, "update_policy", (w.policy.id, one_app));
            p.unwrap();
            if k == 3 {
                env.inject_fault(w.suite.registry, "record_placement", Fault::ResponseLost).unwrap();
            }
            let before = get_license(env, issuer, w.license.id);

            let first = submit(env, issuer, w.holder, "register_app", (app(&w, target),));
            run_issuer_messages(env, issuer, k);
            let in_flight: Option<PendingApp> = query1(env, issuer, ANON, "pending_app", (target,));
            h.check(&format!("{case}: the registration is in flight"), in_flight.is_some_and(|p| !p.outcome_unknown), awaited);
            let second = match conflict {
                Conflict::Same => submit(env, issuer, w.holder, "register_app", (app(&w, target),)),
                Conflict::OtherAtLimit => submit(env, issuer, w.holder, "register_app", (app(&w, other),)),
                Conflict::Revoke => submit(env, issuer, w.manager, "revoke_license", (w.license.id, "left".to_string())),
                Conflict::Suspend => submit(env, issuer, w.manager, "suspend_license", (w.license.id, "audit".to_string())),
                Conflict::RenewFewer => submit(env, issuer, w.suite.authority, "renew_license", (w.license.id, true)),
                Conflict::Renew => submit(env, issuer, w.manager, "renew_license", (w.license.id, false)),
            };
            // The awaited call is delivered (its response queues behind the conflict), then the
            // conflicting call runs while the registration still awaits.
            env.ex.step();
            let delivered = env.ex.step();
            h.check(&format!("{case}: the conflict runs mid-registration"), matches!(delivered, Some(Step::Request { to, .. }) if to == issuer), &delivered);
            env.ex.run_until_idle();
            env.clear_faults();
            let first: Result<App, LicenseError> = result_of(env, first);
            let after = get_license(env, issuer, w.license.id);
            let registered = first.is_ok();

            // What each conflict must come to.
            let held = match conflict {
                Conflict::Same => {
                    let second: Result<App, LicenseError> = result_of(env, second);
                    registered && second == Err(LicenseError::RegistrationInFlight { key: format!("app-canister:{target}") })
                }
                Conflict::OtherAtLimit => {
                    let second: Result<App, LicenseError> = result_of(env, second);
                    registered && second == Err(LicenseError::RegistrationInFlight { key: format!("app-holder:{}", w.holder) })
                }
                Conflict::Revoke | Conflict::Suspend => {
                    let second: Result<License, LicenseError> = result_of(env, second);
                    let status = if conflict == Conflict::Revoke { LicenseStatus::Revoked } else { LicenseStatus::Suspended };
                    // Before canister_info answered, the re-check refuses; once the registry was
                    // asked, the registration completes and the app stays on the ended license.
                    let expected_first = if k == 1 { Err(LicenseError::LicenseNotActive { license_id: w.license.id, status }) } else { first.clone().map(|_| ()) };
                    matches!(second, Ok(l) if l.status == status) && after.status == status && first.clone().map(|_| ()) == expected_first && (k == 1) != registered
                }
                Conflict::RenewFewer => {
                    let second: Result<License, LicenseError> = result_of(env, second);
                    registered && second == Err(LicenseError::AppsExceedEntitlement { license_id: w.license.id, apps: 2, max_apps: 1 }) && after.terms == before.terms
                }
                Conflict::Renew => {
                    let second: Result<License, LicenseError> = result_of(env, second);
                    registered && matches!(second, Ok(l) if l.renewals == 1) && after.renewals == 1 && after.expires_at_ns > before.expires_at_ns
                }
            };
            h.check(&format!("{case}: outcome"), held, (&first, &after.status));
            // Invariants whatever the interleaving: no app beyond the entitlement, no lost
            // update, nothing half-recorded, and the books agree with each other.
            h.check(&format!("{case}: apps within the entitlement"), after.app_ids.len() as u32 <= after.terms.entitlements.max_apps, (&after.app_ids, &after.terms));
            let owner: Option<AppOwner> = query1(env, issuer, ANON, "app_owner", (target,));
            let placed = placement_of(env, w.suite.registry, target);
            h.check(&format!("{case}: app, owner and placement agree"), owner.is_some() == registered && placed.is_some() == registered && after.app_ids.len() == 1 + registered as usize, (&owner, &placed));
            let pending: Option<PendingApp> = query1(env, issuer, ANON, "pending_app", (target,));
            h.check(&format!("{case}: nothing left pending"), pending.is_none(), &pending);
            let r = report(env, issuer);
            h.expect_eq(&format!("{case}: the report counts the apps"), r.apps_live, after.app_ids.len() as u64);
            h.check(&format!("{case}: the audit chain holds"), chain_valid(env, issuer), "");
        }
    }
    h.finish();
}

// ---- Defect 4: every reply bounded at the worst case ----

/// The IC's limits on a reply and on a query's instructions.
const MAX_REPLY_BYTES: usize = 2 * 1024 * 1024;
const QUERY_INSTRUCTIONS: u64 = 5_000_000_000;

/// Runs a query, checks its reply stays under the IC's size limit and its instructions under
/// the query limit, and returns the decoded reply.
fn bounded_query<T: candid::CandidType + serde::de::DeserializeOwned, A: candid::utils::ArgumentEncoder>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    issuer: Principal,
    case: &str,
    method: &str,
    args: A,
) -> T {
    let outcome = env.ex.query_with_stats(issuer, ANON, method, candid::encode_args(args).unwrap());
    let bytes = outcome.result.unwrap_or_else(|r| panic!("{case}: {method} rejected: {r:?}"));
    let held = bytes.len() < MAX_REPLY_BYTES && outcome.instructions < QUERY_INSTRUCTIONS;
    let measured = format!("{} bytes, {} instructions", bytes.len(), outcome.instructions);
    eprintln!("{case}: {measured}");
    h.check(case, held, measured);
    candid::decode_one(&bytes).unwrap()
}

/// Pages through a pager from the start, checking every page: count at most the page limit,
/// bytes and instructions bounded; returns the items seen.
fn page_through<P: candid::CandidType + serde::de::DeserializeOwned>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    issuer: Principal,
    method: &str,
    request: impl Fn(PageRequest) -> Vec<u8>,
    parts: impl Fn(&P) -> (usize, u64, Option<u64>),
) -> u64 {
    let (mut start, mut seen, mut pages, mut largest) = (0u64, 0u64, 0, (0usize, 0u64));
    loop {
        let outcome = env.ex.query_with_stats(issuer, ANON, method, request(PageRequest { start: Some(start), limit: None }));
        let bytes = outcome.result.unwrap_or_else(|r| panic!("{method}: rejected: {r:?}"));
        let page: P = candid::decode_one(&bytes).unwrap();
        let (items, _, next) = parts(&page);
        let held = bytes.len() < MAX_REPLY_BYTES && outcome.instructions < QUERY_INSTRUCTIONS && items <= 500 && next.is_none_or(|n| n > start);
        h.check(&format!("{method} page from {start}: {items} items, {} bytes, {} instructions", bytes.len(), outcome.instructions), held, "");
        seen += items as u64;
        pages += 1;
        largest = (largest.0.max(bytes.len()), largest.1.max(outcome.instructions));
        match next {
            Some(n) if held && pages < 1_000 => start = n,
            _ => {
                eprintln!("{method}: {pages} pages, largest {} bytes, most {} instructions", largest.0, largest.1);
                return seen;
            }
        }
    }
}

#[test]
fn replies_stay_bounded_at_the_worst_case() {
    let mut h = Hostile::new("license_issuer", "replies_stay_bounded_at_the_worst_case");
    let env = &mut ExecutorEnv::new();
    let suite = deploy_licensing(env, 1_500, |_| {});
    let issuer = suite.issuer;
    let authority = suite.authority;
    // Every text at its longest, in 4-byte characters.
    let long = |n: u32| "𝒜".repeat(n as usize);
    let policy_input = |max_apps| PolicyInput { name: long(MAX_NAME_LEN), duration_days: 365, entitlements: Entitlements { max_apps, monthly_cycles_quota: u64::MAX } };
    let mut policy = 0;
    for _ in 0..MAX_POLICIES {
        let p: Result<Policy, LicenseError> = manage(env, issuer, authority, "create_policy", (policy_input(MAX_APPS_PER_LICENSE),));
        policy = p.unwrap().id;
    }
    let managers: Vec<Principal> = (0..MAX_MANAGERS as u16).map(|i| principal(0x10, i)).collect();
    let mut programs = Vec::new();
    for _ in 0..MAX_INSTITUTIONS {
        let inst: Result<Institution, LicenseError> = manage(env, issuer, authority, "create_institution", (InstitutionInput { name: long(MAX_NAME_LEN), sector: Sector::Education },));
        let inst = inst.unwrap().id;
        let v: Result<Institution, LicenseError> = manage(env, issuer, authority, "set_institution_verified", (inst, true));
        v.unwrap();
        let input = ProgramInput { institution_id: inst, name: long(MAX_NAME_LEN), seat_quota: 1, policy_id: policy, managers: managers.clone() };
        let p: Result<Program, LicenseError> = manage(env, issuer, authority, "create_program", (input,));
        programs.push(p.unwrap().id);
    }
    h.expect_eq("programs at their limit", programs.len() as u32, MAX_PROGRAMS);
    // 1,500 licenses, one per program, all accepted.
    let mut licenses = Vec::new();
    for (n, program) in programs.iter().enumerate() {
        let holder = principal(0x20, n as u16);
        let l = offer(env, issuer, managers[0], *program, holder).unwrap();
        licenses.push(accept(env, issuer, holder, l.id).unwrap());
    }
    // 5,000 apps with the longest names: 50 licenses with 100 apps each.
    for l in licenses.iter().take(50) {
        for _ in 0..MAX_APPS_PER_LICENSE {
            let canister = holder_canister(env, l.holder);
            let input = AppInput { license_id: l.id, name: long(MAX_NAME_LEN), canister, subnet_id: suite.live_subnet };
            register_app(env, issuer, l.holder, input).unwrap();
        }
        // ... and the longest suspension reason on the fattest licenses.
        let s: Result<License, LicenseError> = manage(env, issuer, managers[0], "suspend_license", (l.id, long(MAX_REASON_LEN)));
        s.unwrap();
    }
    let full = offer(env, issuer, managers[0], programs[0], principal(0x21, 1));
    h.check("the cap is reached", matches!(full, Err(LicenseError::GlobalCapReached { .. }) | Err(LicenseError::ProgramQuotaReached { .. })), &full);

    let fattest = licenses[0].id;
    let check_all = |h: &mut Hostile, env: &mut ExecutorEnv, when: &str, listed: u64| {
        let seen = page_through::<LicensePage>(h, env, issuer, "list_licenses", |page| candid::encode_one(LicenseQuery { page, ..Default::default() }).unwrap(), |p| (p.items.len(), p.total, p.next_start));
        h.expect_eq(&format!("{when}: every license listed"), seen, listed);
        let seen = page_through::<AppPage>(h, env, issuer, "list_apps", |page| candid::encode_one(AppQuery { page, ..Default::default() }).unwrap(), |p| (p.items.len(), p.total, p.next_start));
        h.expect_eq(&format!("{when}: every app listed"), seen, 5_000);
        let seen = page_through::<ProgramPage>(h, env, issuer, "list_programs", |page| candid::encode_one(ProgramQuery { institution_id: None, page }).unwrap(), |p| (p.items.len(), p.total, p.next_start));
        h.expect_eq(&format!("{when}: every program listed"), seen, u64::from(MAX_PROGRAMS));
        let seen = page_through::<InstitutionPage>(h, env, issuer, "list_institutions", |page| candid::encode_one(page).unwrap(), |p| (p.items.len(), p.total, p.next_start));
        h.expect_eq(&format!("{when}: every institution listed"), seen, u64::from(MAX_INSTITUTIONS));
        let seen = page_through::<PolicyPage>(h, env, issuer, "list_policies", |page| candid::encode_one(page).unwrap(), |p| (p.items.len(), p.total, p.next_start));
        h.expect_eq(&format!("{when}: every policy listed"), seen, u64::from(MAX_POLICIES));
        let r: LicensingReport = bounded_query(h, env, issuer, &format!("{when}: licensing_report"), "licensing_report", ());
        h.expect_eq(&format!("{when}: the report has every line"), (r.by_program.len(), r.by_institution.len()), (MAX_PROGRAMS as usize, MAX_INSTITUTIONS as usize));
        h.expect_eq(&format!("{when}: the report counts every app"), r.apps_live, 5_000);
        let _: AuditPage = bounded_query(h, env, issuer, &format!("{when}: audit_log"), "audit_log", (PageRequest::default(),));
        let _: Option<License> = bounded_query(h, env, issuer, &format!("{when}: get_license of the fattest"), "get_license", (fattest,));
        r
    };
    let r = check_all(&mut h, env, "all in use", 1_500);
    h.expect_eq("all seats in use", r.seats_in_use, 1_500);
    // A year on and no timer has run: every license has lapsed (the suspended ones at the end of
    // their term, the others idle after 90 days), and each read computes 1,500 lapses.
    env.advance_time(DAY * 366);
    let r = check_all(&mut h, env, "all lapsed, timer not run", 1_500);
    h.expect_eq("every seat is free", (r.seats_in_use, r.totals.expired, r.totals.revoked, r.totals.idle_reclaimed), (0, 50, 1_450, 1_450));
    // An update then counts the 1,500 lapses too, within the update limit.
    let outcome = env.ex.update_with_stats(issuer, managers[0], "offer_license", candid::encode_args((programs[0], principal(0x21, 2))).unwrap());
    let ok = matches!(outcome.result.as_ref().map(|b| candid::decode_one::<Result<License, LicenseError>>(b).unwrap()), Ok(Ok(_)));
    h.check("an offer after the mass lapse", ok && outcome.instructions < suite_tests::ic_executor::costs::UPDATE_INSTRUCTION_LIMIT / 10, outcome.instructions);
    // The timer records them in bounded runs.
    for _ in 0..20 {
        env.tick();
        env.advance_time(Duration::from_secs(2));
    }
    let r = check_all(&mut h, env, "after the timer", 1_501);
    h.expect_eq("the timer recorded every lapse", (r.seats_in_use, r.totals.expired, r.totals.revoked), (1, 50, 1_450));
    h.finish();
}
