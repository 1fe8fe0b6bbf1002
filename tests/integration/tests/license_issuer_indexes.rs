//! The schema-3 indexes of `license_issuer` on its real wasm: a state loaded by the v0.2.0
//! release (schema 2, no indexes) with more licenses than one index-build batch (2,000) is
//! upgraded; every page of the indexed queries (`list_licenses` by program, holder and status,
//! `list_apps` by program and license, the report's lines) is compared with what the full
//! listing (`list_licenses` / `list_apps` without a filter, paged) says, right after the
//! upgrade (build in progress), once the timer has finished the build, and after further
//! changes and time passing (expired offers, read-time effects).

use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use std::time::Duration;
use suite_tests::scenarios::license_issuer::*;
use suite_tests::*;

const DAY: Duration = Duration::from_secs(24 * 3600);
const LICENSES: u16 = 2_050;

fn list_licenses(env: &mut dyn Env, issuer: Principal, q: LicenseQuery) -> LicensePage {
    query1(env, issuer, Principal::anonymous(), "list_licenses", (q,))
}

fn list_apps(env: &mut dyn Env, issuer: Principal, q: AppQuery) -> AppPage {
    query1(env, issuer, Principal::anonymous(), "list_apps", (q,))
}

/// Every item of a query, paged with `limit`; each page's `total` is the same and pages advance.
fn all_pages<T>(limit: u32, mut page: impl FnMut(PageRequest) -> (Vec<T>, u64, Option<u64>)) -> (Vec<T>, u64) {
    let (mut items, mut start, mut total) = (vec![], Some(0), None);
    while let Some(at) = start {
        let (mut got, t, next) = page(PageRequest { start: Some(at), limit: Some(limit) });
        assert!(total.is_none_or(|x| x == t), "total changed between pages");
        total = Some(t);
        assert!(next.is_none_or(|n| n > at) && (next.is_none() || !got.is_empty()));
        items.append(&mut got);
        start = next;
    }
    (items, total.unwrap_or(0))
}

/// Each indexed query, paged, equals the full listing filtered here.
fn indexed_equals_full_listing(env: &mut dyn Env, issuer: Principal, programs: &[u64], holders: &[Principal]) {
    let (all, total) = all_pages(500, |page| {
        let p = list_licenses(env, issuer, LicenseQuery { page, ..Default::default() });
        (p.items, p.total, p.next_start)
    });
    assert_eq!(all.len() as u64, total);
    let statuses = [None, Some(LicenseStatus::Offered), Some(LicenseStatus::Active), Some(LicenseStatus::Expired), Some(LicenseStatus::Revoked)];
    let mut compared = 0;
    for status in statuses {
        for program in programs.iter().map(|p| Some(*p)).chain([None]) {
            for holder in holders.iter().map(|h| Some(*h)).chain([None]) {
                let q = LicenseQuery { program_id: program, holder, status, page: PageRequest::default() };
                let expected: Vec<License> = all
                    .iter()
                    .filter(|l| program.is_none_or(|p| l.program_id == p) && holder.is_none_or(|h| l.holder == h) && status.is_none_or(|s| l.status == s))
                    .cloned()
                    .collect();
                let (got, total) = all_pages(50, |page| {
                    let p = list_licenses(env, issuer, LicenseQuery { page, ..q.clone() });
                    (p.items, p.total, p.next_start)
                });
                assert_eq!((got.len() as u64, total), (expected.len() as u64, expected.len() as u64), "{q:?}");
                assert!(got == expected, "{q:?}: pages differ from the full listing");
                compared += got.len();
            }
        }
    }
    assert!(compared > all.len(), "the filters matched licenses");
    let (apps, _) = all_pages(500, |page| {
        let p = list_apps(env, issuer, AppQuery { page, ..Default::default() });
        (p.items, p.total, p.next_start)
    });
    let license_ids: Vec<u64> = apps.iter().map(|a| a.license_id).collect();
    for program in programs {
        let (got, total) = all_pages(2, |page| {
            let p = list_apps(env, issuer, AppQuery { program_id: Some(*program), license_id: None, page });
            (p.items, p.total, p.next_start)
        });
        let expected: Vec<App> = apps.iter().filter(|a| a.program_id == *program).cloned().collect();
        assert_eq!((got, total), (expected.clone(), expected.len() as u64), "apps of program {program}");
    }
    for license in license_ids {
        let got = list_apps(env, issuer, AppQuery { license_id: Some(license), ..Default::default() }).items;
        let expected: Vec<App> = apps.iter().filter(|a| a.license_id == license).cloned().collect();
        assert_eq!(got, expected, "apps of license {license}");
    }
    // The report's lines: the counts per program equal the listing's.
    let r = report(env, issuer);
    for line in &r.by_program {
        let of = |s: LicenseStatus| all.iter().filter(|l| l.program_id == line.program_id && l.status == s).count() as u64;
        assert_eq!((line.seats.offered, line.seats.active, line.seats.expired), (of(LicenseStatus::Offered), of(LicenseStatus::Active), of(LicenseStatus::Expired)));
        assert_eq!(line.seats.apps, apps.iter().filter(|a| a.program_id == line.program_id).count() as u64);
        let active = of(LicenseStatus::Active);
        assert!(line.active_builders_30d <= active);
    }
    assert_eq!(r.active_builders_30d, all.iter().filter(|l| l.status == LicenseStatus::Active).count() as u64, "every active holder was active within 30 days here");
}

fn upgrade_builds_the_indexes_and_queries_agree_throughout(env: &mut dyn Env) {
    let backend = env.backend();
    if backend != "executor" {
        println!("SKIPPED on {backend}: loads {LICENSES} licenses");
        return;
    }
    let suite = with_wasm_dir(release_dir("v0.2.0"), || deploy_licensing(env, 5_000, |_| {}));
    let issuer = suite.issuer;
    let policy = create_policy(env, issuer, "p", 365, 2);
    let mut programs = vec![];
    let mut managers = vec![];
    for n in 0..3u16 {
        let inst = create_institution(env, issuer, &format!("inst {n}"), Sector::Education);
        let manager = principal(0x10, 300 + n);
        programs.push(create_program(env, issuer, inst.id, &format!("prog {n}"), 3_000, policy.id, manager).id);
        managers.push(manager);
    }
    // Holder h: offered by program h % 3; two in three accept; a few register an app.
    let holder = |h: u16| principal(0x20, 1_000 + h);
    let mut apps = 0;
    for h in 0..LICENSES {
        let k = usize::from(h % 3);
        let l = offer(env, issuer, managers[k], programs[k], holder(h)).expect("offer");
        if h % 3 != 2 {
            accept(env, issuer, holder(h), l.id).expect("accept");
            if h % 500 == 1 {
                let canister = holder_canister(env, holder(h));
                let input = AppInput { license_id: l.id, name: "app".into(), canister, subnet_id: suite.live_subnet };
                register_app(env, issuer, holder(h), input).expect("register_app");
                apps += 1;
            }
        }
    }
    assert!(apps >= 3);
    // Offers of the last holders expire at read time (14 days) before the upgrade.
    env.advance_time(DAY * 15);
    let holders: Vec<Principal> = [0, 1, 2, 1_001, LICENSES - 1].into_iter().map(holder).collect();
    env.upgrade(issuer, &wasm("license_issuer"), candid::encode_one(None::<()>).unwrap()).expect("upgrade to schema 3");
    // Right after the upgrade the first batch is built, the rest is not yet.
    indexed_equals_full_listing(env, issuer, &programs, &holders);
    for _ in 0..5 {
        env.tick();
    }
    indexed_equals_full_listing(env, issuer, &programs, &holders);
    // Changes after the build, and time passing: they must be in the indexes too.
    let fresh = offer(env, issuer, managers[0], programs[0], holder(9_000)).expect("offer after upgrade");
    accept(env, issuer, holder(9_000), fresh.id).expect("accept after upgrade");
    let _: Result<License, LicenseError> = update1(env, issuer, managers[1], "revoke_license", (2u64, "left".to_string()));
    let more: Vec<Principal> = holders.iter().copied().chain([holder(9_000)]).collect();
    indexed_equals_full_listing(env, issuer, &programs, &more);
    env.advance_time(DAY * 40);
    indexed_equals_full_listing_after_window(env, issuer, &programs);
}
scenario!(upgrade_builds_the_indexes_and_queries_agree_throughout);

/// After 40 days nobody was active in the window: the report counts no builders, and the
/// listings still agree.
fn indexed_equals_full_listing_after_window(env: &mut dyn Env, issuer: Principal, programs: &[u64]) {
    let r = report(env, issuer);
    assert_eq!(r.active_builders_30d, 0);
    let statuses = [None, Some(LicenseStatus::Active), Some(LicenseStatus::Expired)];
    for status in statuses {
        for program in programs {
            let q = LicenseQuery { program_id: Some(*program), status, ..Default::default() };
            let (got, total) = all_pages(50, |page| {
                let p = list_licenses(env, issuer, LicenseQuery { page, ..q.clone() });
                (p.items, p.total, p.next_start)
            });
            assert_eq!(got.len() as u64, total);
            assert!(got.iter().all(|l| l.program_id == *program && status.is_none_or(|s| l.status == s)));
        }
    }
}
