//! Property test of the schema-3 indexes and counts (`indexes.rs`): after random sequences of
//! offers, acceptances, suspensions, revocations, activity, apps, time passing (across days
//! and the 30-day builder window) and housekeeping, every indexed answer equals the full scan
//! schema 2 did (the plain model here: read everything, filter): every page of
//! `list_licenses` and `list_apps` for each program, holder and status, and the report's
//! active builders per program. Then the indexes are dropped and rebuilt in small batches, as
//! the migration from schema 2 does, with the answers checked during and after the build.

use crate::apps;
use crate::indexes::IndexBuild;
use crate::lapse::DAY_NS;
use crate::licenses;
use crate::report::{self, active_builders, active_builders_by_scan};
use crate::state::test_support::*;
use crate::state::LicenseState;
use candid::Principal;
use ic_stable_structures::VectorMemory;
use interfaces::audit::PageRequest;
use interfaces::license_issuer::*;
use proptest::prelude::*;

const HOUR_NS: u64 = 3600 * 1_000_000_000;
const HOLDERS: u8 = 6;

#[derive(Clone, Debug)]
enum Op {
    Offer { program: usize, holder: u8 },
    Accept { license: usize },
    Suspend { license: usize },
    Reinstate { license: usize },
    Revoke { license: usize },
    Activity { license: usize },
    AddApp { license: usize },
    Advance { hours: u64 },
    Timer { budget: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..HOLDERS).prop_map(|(program, holder)| Op::Offer { program, holder }),
        4 => (0..40usize).prop_map(|license| Op::Accept { license }),
        1 => (0..40usize).prop_map(|license| Op::Suspend { license }),
        1 => (0..40usize).prop_map(|license| Op::Reinstate { license }),
        1 => (0..40usize).prop_map(|license| Op::Revoke { license }),
        2 => (0..40usize).prop_map(|license| Op::Activity { license }),
        2 => (0..40usize).prop_map(|license| Op::AddApp { license }),
        3 => (1..24 * 20u64).prop_map(|hours| Op::Advance { hours }),
        1 => (1..4u32).prop_map(|budget| Op::Timer { budget }),
    ]
}

fn apply(s: &mut LicenseState<VectorMemory>, progs: &[u64], now: &mut u64, next_canister: &mut u8, op: &Op) {
    let ids: Vec<u64> = s.licenses.keys().collect();
    let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
    let holder_of = |s: &LicenseState<VectorMemory>, id: u64| s.license(id).map(|l| l.holder).unwrap_or(p(3));
    let m = p(MANAGER);
    // Refusals are expected and change nothing; only the indexes' agreement is checked here.
    match *op {
        Op::Offer { program, holder } => drop(licenses::offer_license(s, m, *now, progs[program], p(10 + holder))),
        Op::Accept { license } => {
            if let Some(id) = pick(license) {
                drop(licenses::accept_license(s, holder_of(s, id), *now, id));
            }
        }
        Op::Suspend { license } => {
            if let Some(id) = pick(license) {
                drop(licenses::suspend_license(s, m, *now, id, "r".into()));
            }
        }
        Op::Reinstate { license } => {
            if let Some(id) = pick(license) {
                drop(licenses::reinstate_license(s, m, *now, id));
            }
        }
        Op::Revoke { license } => {
            if let Some(id) = pick(license) {
                drop(licenses::revoke_license(s, m, *now, id, "r".into()));
            }
        }
        Op::Activity { license } => {
            if let Some(id) = pick(license) {
                drop(licenses::record_activity(s, holder_of(s, id), *now, id));
            }
        }
        Op::AddApp { license } => {
            let Some(id) = pick(license) else { return };
            let Ok(l) = s.license_at(id, *now) else { return };
            if l.status != LicenseStatus::Active || l.app_ids.len() as u32 >= l.terms.entitlements.max_apps {
                return;
            }
            *next_canister += 1;
            let input = AppInput { license_id: id, name: "app".into(), canister: canister(*next_canister), subnet_id: p(7) };
            let reg = PendingApp { input, holder: l.holder, started_at_ns: *now, outcome_unknown: false, module_hash: None };
            apps::commit_app(s, *now, &reg).unwrap();
        }
        Op::Advance { hours } => *now += hours * HOUR_NS,
        Op::Timer { budget } => drop(licenses::housekeeping(s, *now, p(99), budget)),
    }
}

/// Every page (of `limit`) of the query, indexed and by scan, must be the same.
fn same_pages<T: PartialEq + std::fmt::Debug>(limit: u32, mut query: impl FnMut(PageRequest) -> (T, T, Option<u64>)) {
    let mut start = Some(0);
    let mut pages = 0;
    while let Some(at) = start {
        let (indexed, scanned, next) = query(PageRequest { start: Some(at), limit: Some(limit) });
        assert_eq!(indexed, scanned, "page at {at}, limit {limit}");
        assert!(next.is_none_or(|n| n > at), "pages advance");
        start = next;
        pages += 1;
        assert!(pages < 1_000);
    }
}

fn check_equal_to_scan(s: &LicenseState<VectorMemory>, progs: &[u64], now: u64) {
    let statuses = [None, Some(LicenseStatus::Offered), Some(LicenseStatus::Active), Some(LicenseStatus::Suspended), Some(LicenseStatus::Revoked), Some(LicenseStatus::Expired)];
    let programs: Vec<Option<u64>> = std::iter::once(None).chain(progs.iter().map(|p| Some(*p))).chain([Some(999)]).collect();
    let holders: Vec<Option<Principal>> = std::iter::once(None).chain((0..HOLDERS).map(|h| Some(p(10 + h)))).collect();
    for status in statuses {
        for program_id in &programs {
            for holder in &holders {
                for limit in [2, 50] {
                    same_pages(limit, |page| {
                        let q = LicenseQuery { program_id: *program_id, holder: *holder, status, page };
                        let (a, b) = (report::list_licenses(s, &q, now), report::list_licenses_by_scan(s, &q, now));
                        let next = a.next_start;
                        (a, b, next)
                    });
                }
            }
        }
    }
    let license_ids: Vec<Option<u64>> = std::iter::once(None).chain(s.licenses.keys().map(Some)).chain([Some(999)]).collect();
    for program_id in &programs {
        for license_id in &license_ids {
            same_pages(2, |page| {
                let q = AppQuery { program_id: *program_id, license_id: *license_id, page };
                let (a, b) = (report::list_apps(s, &q), report::list_apps_by_scan(s, &q));
                let next = a.next_start;
                (a, b, next)
            });
        }
    }
    assert_eq!(active_builders(s, now, &s.due_lapses(now)), active_builders_by_scan(s, now), "active builders at {now}");
    // The deadline and activity indexes hold exactly the entries of the stored statuses.
    let stored: Vec<License> = s.licenses.values().map(|c| c.0).collect();
    let offers: Vec<(u64, u64)> = stored.iter().filter(|l| l.status == LicenseStatus::Offered).map(|l| (l.offer_expires_at_ns, l.id)).collect();
    let mut terms: Vec<(u64, u64)> = stored
        .iter()
        .filter(|l| matches!(l.status, LicenseStatus::Active | LicenseStatus::Suspended))
        .filter_map(|l| l.expires_at_ns.map(|e| (e, l.id)))
        .collect();
    let mut active: Vec<(u64, u64)> = stored.iter().filter(|l| l.status == LicenseStatus::Active).map(|l| (l.last_activity_ns, l.id)).collect();
    let mut offers = offers;
    offers.sort();
    terms.sort();
    active.sort();
    assert_eq!(s.offer_deadlines.keys().collect::<Vec<_>>(), offers);
    assert_eq!(s.term_deadlines.keys().collect::<Vec<_>>(), terms);
    assert_eq!(s.activity.keys().collect::<Vec<_>>(), active);
    if s.indexes_ready() {
        assert_eq!(s.activity_program.keys().collect::<Vec<_>>(), active);
        let mut by_program: Vec<(u64, u64)> = stored.iter().map(|l| (l.program_id, l.id)).collect();
        by_program.sort();
        assert_eq!(s.licenses_by_program.keys().collect::<Vec<_>>(), by_program);
    }
}

/// Drops the schema-3 indexes, as a state written by schema 2 lacks them.
fn drop_indexes(s: &mut LicenseState<VectorMemory>) {
    s.licenses_by_program.clear_new();
    s.licenses_by_holder.clear_new();
    s.apps_by_program.clear_new();
    s.activity_program.clear_new();
    s.activity_days.clear_new();
    s.set_index_build(IndexBuild::default());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn indexes_and_counts_equal_a_full_scan(ops in proptest::collection::vec(op(), 1..60), batch in 1..5usize) {
        let mut s = fresh(|a| {
            a.global_seat_cap = 12;
            a.idle_reclaim_days = Some(40);
            a.offer_ttl_seconds = Some(2 * 24 * 3600);
        });
        let progs = with_programs(&mut s, &[(Sector::Education, 5), (Sector::Startup, 4), (Sector::Government, 3)]);
        let (mut now, mut next_canister) = (DAY_NS / 2, 0u8);
        for (i, op) in ops.iter().enumerate() {
            apply(&mut s, &progs, &mut now, &mut next_canister, op);
            if i % 10 == 9 {
                check_equal_to_scan(&s, &progs, now);
            }
        }
        check_equal_to_scan(&s, &progs, now);
        // A later reader (the window and deadlines move on).
        check_equal_to_scan(&s, &progs, now + 29 * DAY_NS);
        // The migration: no indexes, then built in batches with answers checked meanwhile.
        drop_indexes(&mut s);
        check_equal_to_scan(&s, &progs, now);
        let mut runs = 0;
        while !s.build_indexes(batch) {
            runs += 1;
            prop_assert!(runs < 10_000);
            if runs % 5 == 0 {
                check_equal_to_scan(&s, &progs, now);
            }
        }
        prop_assert!(s.indexes_ready());
        check_equal_to_scan(&s, &progs, now);
        check_equal_to_scan(&s, &progs, now + 31 * DAY_NS);
    }
}
