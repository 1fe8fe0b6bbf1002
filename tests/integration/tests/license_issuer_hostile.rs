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
fn state(env: &mut ExecutorEnv, issuer: Principal) -> ([u8; 32], u64) {
    (stable_fingerprint(env, issuer), audit_total(env, issuer))
}

/// SHA-256 over the index and bytes of every non-zero 64 KiB page of the canister's stable
/// memory: it changes whenever `hostile::stable_digest` does (a page that becomes non-zero, or
/// zero, changes the list), but skips the ~140 MB of zeros the memory manager's buckets hold,
/// which the debug-built digest takes seconds to hash. `stable_digest` itself is checked against
/// it too at the first refusal of every test (see `refused`).
fn stable_fingerprint(env: &mut ExecutorEnv, canister: Principal) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    const PAGE: usize = 65_536;
    let pages = env.ex.stable_size_pages(canister) as usize;
    let bytes = env.ex.stable_read(canister, 0, pages * PAGE);
    let zero = vec![0u8; PAGE];
    let mut hasher = Sha256::new();
    hasher.update((pages as u64).to_le_bytes());
    for (i, page) in bytes.chunks(PAGE).enumerate() {
        if page != zero.as_slice() {
            hasher.update((i as u64).to_le_bytes());
            hasher.update(page);
        }
    }
    hasher.finalize().into()
}

thread_local! {
    /// Whether this test (thread) has checked a refusal with `hostile::stable_digest` already.
    static DIGESTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `call`, which must be refused with `expected` and change nothing (the stable memory's
/// fingerprint, and at a test's first refusal its `stable_digest` too, and the audit length).
fn refused<T: Debug>(
    h: &mut Hostile,
    env: &mut ExecutorEnv,
    issuer: Principal,
    case: &str,
    expected: LicenseError,
    call: impl FnOnce(&mut ExecutorEnv) -> Result<T, LicenseError>,
) {
    let first = !DIGESTED.replace(true);
    let digest_before = if first { stable_digest(env, issuer) } else { None };
    let before = state(env, issuer);
    let got = call(env);
    let mut unchanged = state(env, issuer) == before;
    if first {
        unchanged &= digest_before.is_some() && stable_digest(env, issuer) == digest_before;
    }
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

