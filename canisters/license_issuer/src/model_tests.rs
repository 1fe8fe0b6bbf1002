//! Property tests: random sequences of calls from random principals (anonymous, an authority, a
//! manager, a stranger, holders) against a plain-Rust model of the license rules, checked after
//! every step. The model is written independently of the canister's code: its own notion of
//! when a license lapses, of seats, roles and entitlements.
//!
//! After every step: the global cap and every program quota hold (counted as of now), seats in
//! use equal the model's, each license reads as the model says, only the right roles succeed,
//! a refused call changes nothing (every structure and the audit log), and the stored counters
//! equal a recount of the stored licenses.

use crate::apps;
use crate::lapse::DAY_NS;
use crate::licenses;
use crate::state::test_support::*;
use crate::state::LicenseState;
use candid::Principal;
use ic_stable_structures::VectorMemory;
use interfaces::license_issuer::*;
use proptest::prelude::*;

const CAP: u32 = 5;
const HOUR_NS: u64 = 3600 * 1_000_000_000;
const OFFER_TTL_NS: u64 = DAY_NS;
const IDLE_DAYS: u64 = 2;
const TERM_DAYS: u32 = 3;
const QUOTAS: [u32; 3] = [2, 3, 1];

/// Who calls: 0 anonymous, 1 the authority, 2 the manager of every program, 3 a stranger,
/// 10.. holders.
fn who(n: u8) -> Principal {
    if n == 0 {
        Principal::anonymous()
    } else {
        p(n)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Offer { caller: u8, program: usize, holder: u8 },
    Accept { caller: u8, license: usize },
    Suspend { caller: u8, license: usize },
    Reinstate { caller: u8, license: usize },
    Revoke { caller: u8, license: usize },
    Renew { caller: u8, license: usize, adopt: bool },
    Activity { caller: u8, license: usize },
    AddApp { caller: u8, license: usize },
    SetQuota { caller: u8, program: usize, quota: u32 },
    SetMaxApps { caller: u8, max_apps: u32 },
    Advance { hours: u64 },
    Timer { budget: u32 },
}

/// Stands for "the holder of the license the call names" (resolved before the call, so that
/// holders' own calls are drawn often enough).
const ITS_HOLDER: u8 = 255;

/// Anyone, but mostly the role the call is meant for (`likely`).
fn caller(likely: u8) -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(likely), 1 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3), 1 => 10u8..14, 1 => Just(ITS_HOLDER)]
}

/// A license by recency: mostly the latest ones, sometimes one that does not exist.
fn recent() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0usize), 2 => Just(1), 1 => 2..4usize, 1 => Just(50)]
}

/// `op` as drawn names licenses by recency (0: the latest; one past the end: a missing one) and
/// may call as `ITS_HOLDER`; this returns it with the license's index and the holder filled in
/// (a stranger calls when the license does not exist).
fn resolve(op: &Op, model: &Model) -> Op {
    let count = model.licenses.len();
    let index = |recent: usize| if recent < count { count - 1 - recent } else { count + 1 };
    let holder = |license: usize| model.licenses.get(license).map_or(3, |l| l.holder);
    let fix = |caller: u8, license: usize| if caller == ITS_HOLDER { holder(license) } else { caller };
    let op = match op.clone() {
        Op::Accept { caller, license } => Op::Accept { caller, license: index(license) },
        Op::Suspend { caller, license } => Op::Suspend { caller, license: index(license) },
        Op::Reinstate { caller, license } => Op::Reinstate { caller, license: index(license) },
        Op::Revoke { caller, license } => Op::Revoke { caller, license: index(license) },
        Op::Renew { caller, license, adopt } => Op::Renew { caller, license: index(license), adopt },
        Op::Activity { caller, license } => Op::Activity { caller, license: index(license) },
        Op::AddApp { caller, license } => Op::AddApp { caller, license: index(license) },
        other => other,
    };
    match op {
        Op::Accept { caller, license } => Op::Accept { caller: fix(caller, license), license },
        Op::Suspend { caller, license } => Op::Suspend { caller: fix(caller, license), license },
        Op::Reinstate { caller, license } => Op::Reinstate { caller: fix(caller, license), license },
        Op::Revoke { caller, license } => Op::Revoke { caller: fix(caller, license), license },
        Op::Renew { caller, license, adopt } => Op::Renew { caller: fix(caller, license), license, adopt },
        Op::Activity { caller, license } => Op::Activity { caller: fix(caller, license), license },
        Op::AddApp { caller, license } => Op::AddApp { caller: fix(caller, license), license },
        Op::Offer { caller, program, holder } => Op::Offer { caller: fix(caller, usize::MAX), program, holder },
        Op::SetQuota { caller, program, quota } => Op::SetQuota { caller: fix(caller, usize::MAX), program, quota },
        Op::SetMaxApps { caller, max_apps } => Op::SetMaxApps { caller: fix(caller, usize::MAX), max_apps },
        other => other,
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (caller(2), 0..3usize, 10u8..14).prop_map(|(caller, program, holder)| Op::Offer { caller, program, holder }),
        3 => (caller(ITS_HOLDER), recent()).prop_map(|(caller, license)| Op::Accept { caller, license }),
        1 => (caller(2), recent()).prop_map(|(caller, license)| Op::Suspend { caller, license }),
        1 => (caller(2), recent()).prop_map(|(caller, license)| Op::Reinstate { caller, license }),
        1 => (caller(2), recent()).prop_map(|(caller, license)| Op::Revoke { caller, license }),
        2 => (caller(1), recent(), any::<bool>()).prop_map(|(caller, license, adopt)| Op::Renew { caller, license, adopt }),
        2 => (caller(ITS_HOLDER), recent()).prop_map(|(caller, license)| Op::Activity { caller, license }),
        3 => (caller(ITS_HOLDER), recent()).prop_map(|(caller, license)| Op::AddApp { caller, license }),
        1 => (caller(1), 0..3usize, 0u32..4).prop_map(|(caller, program, quota)| Op::SetQuota { caller, program, quota }),
        2 => (caller(1), 0u32..4).prop_map(|(caller, max_apps)| Op::SetMaxApps { caller, max_apps }),
        2 => (0u64..8).prop_map(|hours| Op::Advance { hours }),
        1 => (8u64..80).prop_map(|hours| Op::Advance { hours }),
        1 => (1u32..4).prop_map(|budget| Op::Timer { budget }),
    ]
}

// ---- The model ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Offered,
    Active,
    Suspended,
    Ended,
}

#[derive(Clone, Debug)]
struct MLicense {
    program: usize,
    holder: u8,
    status: St,
    offered_at: u64,
    accepted_term_end: Option<u64>,
    last_activity: u64,
    max_apps: u32,
    apps: u32,
}

impl MLicense {
    /// The status at `now`, by the rules: an offer lasts OFFER_TTL; a term ends at its end; an
    /// active license idle for IDLE_DAYS is reclaimed.
    fn status_at(&self, now: u64) -> St {
        match self.status {
            St::Offered if now > self.offered_at + OFFER_TTL_NS => St::Ended,
            St::Active | St::Suspended if self.accepted_term_end.is_some_and(|end| now >= end) => St::Ended,
            St::Active if now >= self.last_activity + IDLE_DAYS * DAY_NS => St::Ended,
            s => s,
        }
    }
    fn holds_seat(&self, now: u64) -> bool {
        self.status_at(now) != St::Ended
    }
}

struct Model {
    now: u64,
    quotas: [u32; 3],
    policy_max_apps: u32,
    licenses: Vec<MLicense>,
}

impl Model {
    fn in_use(&self, program: Option<usize>) -> u32 {
        self.licenses.iter().filter(|l| program.is_none_or(|p| l.program == p) && l.holds_seat(self.now)).count() as u32
    }
    fn is_manager(caller: u8) -> bool {
        caller == 1 || caller == 2
    }

    /// Applies `op`; returns whether the rules allow it (and if so changes the model).
    fn apply(&mut self, op: &Op) -> bool {
        let now = self.now;
        match *op {
            Op::Offer { caller, program, holder } => {
                let ok = caller != 0
                    && Self::is_manager(caller)
                    && !self.licenses.iter().any(|l| l.program == program && l.holder == holder && l.holds_seat(now))
                    && self.in_use(Some(program)) < self.quotas[program]
                    && self.in_use(None) < CAP;
                if ok {
                    self.licenses.push(MLicense {
                        program,
                        holder,
                        status: St::Offered,
                        offered_at: now,
                        accepted_term_end: None,
                        last_activity: now,
                        max_apps: self.policy_max_apps,
                        apps: 0,
                    });
                }
                ok
            }
            Op::Accept { caller, license } => self.with(license, |l| {
                let ok = caller == l.holder && l.status_at(now) == St::Offered;
                if ok {
                    l.status = St::Active;
                    l.accepted_term_end = Some(now + u64::from(TERM_DAYS) * DAY_NS);
                    l.last_activity = now;
                }
                ok
            }),
            Op::Suspend { caller, license } => self.with(license, |l| {
                let ok = Self::is_manager(caller) && l.status_at(now) == St::Active;
                if ok {
                    l.status = St::Suspended;
                }
                ok
            }),
            Op::Reinstate { caller, license } => self.with(license, |l| {
                let ok = Self::is_manager(caller) && l.status_at(now) == St::Suspended;
                if ok {
                    l.status = St::Active;
                    l.last_activity = now;
                }
                ok
            }),
            Op::Revoke { caller, license } => self.with(license, |l| {
                let ok = Self::is_manager(caller) && l.holds_seat(now);
                if ok {
                    l.status = St::Ended;
                }
                ok
            }),
            Op::Renew { caller, license, adopt } => {
                let max = self.policy_max_apps;
                self.with(license, |l| {
                    let ok = Self::is_manager(caller)
                        && (!adopt || caller == 1)
                        && matches!(l.status_at(now), St::Active | St::Suspended)
                        && (!adopt || l.apps <= max);
                    if ok {
                        let end = l.accepted_term_end.unwrap().max(now);
                        l.accepted_term_end = Some(end + u64::from(TERM_DAYS) * DAY_NS);
                        if adopt {
                            l.max_apps = max;
                        }
                    }
                    ok
                })
            }
            Op::Activity { caller, license } => self.with(license, |l| {
                let ok = caller == l.holder && l.status_at(now) == St::Active;
                if ok {
                    l.last_activity = now;
                }
                ok
            }),
            Op::AddApp { caller, license } => self.with(license, |l| {
                let ok = caller == l.holder && l.status_at(now) == St::Active && l.apps < l.max_apps;
                if ok {
                    l.apps += 1;
                    l.last_activity = now;
                }
                ok
            }),
            Op::SetQuota { caller, program, quota } => {
                let ok = caller == 1 && quota >= self.in_use(Some(program));
                if ok {
                    self.quotas[program] = quota;
                }
                ok
            }
            Op::SetMaxApps { caller, max_apps } => {
                let ok = caller == 1;
                if ok {
                    self.policy_max_apps = max_apps;
                }
                ok
            }
            Op::Advance { hours } => {
                self.now += hours * HOUR_NS;
                true
            }
            Op::Timer { .. } => true,
        }
    }

    /// `f` on the `n`-th license; a missing license refuses the call.
    fn with(&mut self, n: usize, f: impl FnOnce(&mut MLicense) -> bool) -> bool {
        self.licenses.get_mut(n).is_some_and(f)
    }
}

// ---- The canister's domain code ----

struct Real {
    s: LicenseState<VectorMemory>,
    programs: Vec<u64>,
    policy: u64,
    apps: u8,
}

impl Real {
    fn new() -> Self {
        let mut s = fresh(|a| {
            a.global_seat_cap = CAP;
            a.offer_ttl_seconds = Some(OFFER_TTL_NS / 1_000_000_000);
            a.idle_reclaim_days = Some(IDLE_DAYS as u32);
            a.subnet_registry = Some(canister(9));
        });
        let programs = with_programs(&mut s, &[(Sector::Government, QUOTAS[0]), (Sector::Education, QUOTAS[1]), (Sector::Startup, QUOTAS[2])]);
        let policy = s.program(programs[0]).unwrap().policy_id;
        let input = PolicyInput { name: "m".into(), duration_days: TERM_DAYS, entitlements: Entitlements { max_apps: 2, monthly_cycles_quota: 1 } };
        crate::admin::update_policy(&mut s, p(AUTHORITY), 0, policy, input).unwrap();
        Real { s, programs, policy, apps: 0 }
    }

    fn license_id(n: usize) -> u64 {
        n as u64 + 1
    }

    fn apply(&mut self, op: &Op, now: u64) -> Result<(), LicenseError> {
        let s = &mut self.s;
        match *op {
            Op::Offer { caller, program, holder } => licenses::offer_license(s, who(caller), now, self.programs[program], who(holder)).map(drop),
            Op::Accept { caller, license } => licenses::accept_license(s, who(caller), now, Self::license_id(license)).map(drop),
            Op::Suspend { caller, license } => licenses::suspend_license(s, who(caller), now, Self::license_id(license), "s".into()).map(drop),
            Op::Reinstate { caller, license } => licenses::reinstate_license(s, who(caller), now, Self::license_id(license)).map(drop),
            Op::Revoke { caller, license } => licenses::revoke_license(s, who(caller), now, Self::license_id(license), "r".into()).map(drop),
            Op::Renew { caller, license, adopt } => licenses::renew_license(s, who(caller), now, Self::license_id(license), adopt).map(drop),
            Op::Activity { caller, license } => licenses::record_activity(s, who(caller), now, Self::license_id(license)).map(drop),
            Op::AddApp { caller, license } => {
                // The synchronous part of a registration whose calls all succeed.
                self.apps += 1;
                let input = AppInput { license_id: Self::license_id(license), name: "a".into(), canister: canister(100 + self.apps), subnet_id: p(200) };
                apps::check_registration(s, who(caller), now, canister(8), &input)?;
                let reg = PendingApp { input, holder: who(caller), started_at_ns: now, outcome_unknown: false, module_hash: None };
                apps::commit_app(s, now, &reg).map(drop)
            }
            Op::SetQuota { caller, program, quota } => crate::admin::set_program_quota(s, who(caller), now, self.programs[program], quota).map(drop),
            Op::SetMaxApps { caller, max_apps } => {
                let input = PolicyInput { name: "m".into(), duration_days: TERM_DAYS, entitlements: Entitlements { max_apps, monthly_cycles_quota: 1 } };
                crate::admin::update_policy(s, who(caller), now, self.policy, input).map(drop)
            }
            Op::Advance { .. } => Ok(()),
            Op::Timer { budget } => {
                licenses::housekeeping(s, now, p(99), budget);
                Ok(())
            }
        }
    }

    /// Everything stored, the audit log included.
    fn snapshot(&self) -> String {
        let s = &self.s;
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}",
            s.counters(),
            s.policies.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.programs.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.program_seats.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.licenses.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.live_by_holder.iter().map(|e| (*e.key(), e.value())).collect::<Vec<_>>(),
            s.offer_deadlines.keys().collect::<Vec<_>>(),
            s.term_deadlines.keys().collect::<Vec<_>>(),
            s.activity.keys().collect::<Vec<_>>(),
            s.apps.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.app_by_canister.iter().map(|e| (*e.key(), e.value())).collect::<Vec<_>>(),
            s.pending_apps.iter().map(|e| e.value().0).collect::<Vec<_>>(),
            s.core.audit_len(),
            s.core.audit_page(&interfaces::audit::PageRequest { start: None, limit: Some(1) }).tip_hash,
        )
    }
}

fn st(status: LicenseStatus) -> St {
    match status {
        LicenseStatus::Offered => St::Offered,
        LicenseStatus::Active => St::Active,
        LicenseStatus::Suspended => St::Suspended,
        LicenseStatus::Revoked | LicenseStatus::Expired => St::Ended,
    }
}

/// Checks the canister against the model after a step; `Err` names what differs.
fn agree(real: &Real, model: &Model) -> Result<(), String> {
    let (s, now) = (&real.s, model.now);
    let lapses = s.due_lapses(now);
    let totals = s.totals_with(&lapses);
    if totals.in_use > u64::from(CAP) {
        return Err(format!("cap exceeded: {}", totals.in_use));
    }
    if totals.in_use != u64::from(model.in_use(None)) {
        return Err(format!("seats in use {} vs model {}", totals.in_use, model.in_use(None)));
    }
    for (i, program) in real.programs.iter().enumerate() {
        let seats = s.seats_with(*program, &lapses);
        let quota = s.program(*program).unwrap().seat_quota;
        if seats.in_use > u64::from(quota) || quota != model.quotas[i] {
            return Err(format!("program {i}: {} in use, quota {quota} (model {})", seats.in_use, model.quotas[i]));
        }
        if seats.in_use != u64::from(model.in_use(Some(i))) {
            return Err(format!("program {i}: {} in use vs model {}", seats.in_use, model.in_use(Some(i))));
        }
    }
    if s.licenses.len() != model.licenses.len() as u64 {
        return Err(format!("{} licenses vs model {}", s.licenses.len(), model.licenses.len()));
    }
    for (i, m) in model.licenses.iter().enumerate() {
        let l = s.license_at(Real::license_id(i), now).unwrap();
        if st(l.status) != m.status_at(now) || l.app_ids.len() as u32 != m.apps || l.terms.entitlements.max_apps != m.max_apps {
            return Err(format!("license {i}: {:?} with {} apps of {} vs model {m:?} at {now}", l.status, l.app_ids.len(), l.terms.entitlements.max_apps));
        }
        if l.app_ids.len() as u32 > l.terms.entitlements.max_apps {
            return Err(format!("license {i}: {} apps over its {}", l.app_ids.len(), l.terms.entitlements.max_apps));
        }
    }
    // Stored counters equal a recount of the stored licenses.
    let (per, all) = recount(s);
    if s.totals().in_use != all || real.programs.iter().any(|p| s.seats_of(*p).in_use != per.get(p).copied().unwrap_or(0)) {
        return Err(format!("stored counters {:?} vs recount {per:?}", s.totals()));
    }
    // The report adds up.
    let r = crate::report::licensing_report(s, now);
    if r.totals != totals || r.by_program.iter().map(|l| l.seats.in_use).sum::<u64>() != r.seats_in_use {
        return Err(format!("report {:?} vs totals {totals:?}", r.totals));
    }
    Ok(())
}

/// Every sequence starts from three accepted licenses (holders 10, 11, 12), so that calls on
/// licenses find some early.
const PRELUDE: [Op; 6] = [
    Op::Offer { caller: 2, program: 0, holder: 10 },
    Op::Offer { caller: 2, program: 1, holder: 11 },
    Op::Offer { caller: 1, program: 1, holder: 12 },
    Op::Accept { caller: 10, license: 2 },
    Op::Accept { caller: 11, license: 1 },
    Op::Accept { caller: 12, license: 0 },
];

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut real = Real::new();
    let mut model = Model { now: 1, quotas: QUOTAS, policy_max_apps: 2, licenses: vec![] };
    for (step, op) in PRELUDE.iter().chain(ops).enumerate() {
        let op = &resolve(op, &model);
        let before = real.snapshot();
        let allowed = model.apply(op);
        let got = real.apply(op, model.now);
        prop_assert_eq!(got.is_ok(), allowed, "step {}: {:?} gave {:?}", step, op, got);
        if got.is_err() {
            prop_assert_eq!(real.snapshot(), before, "step {}: the refused {:?} changed state", step, op);
        }
        agree(&real, &model).map_err(|e| TestCaseError::fail(format!("step {step} ({op:?}): {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_calls_from_random_principals_follow_the_model(ops in prop::collection::vec(op(), 1..100)) {
        run(&ops)?;
    }
}

#[test]
fn the_model_agrees_on_a_hand_written_sequence() {
    let ops = [
        Op::Offer { caller: 2, program: 2, holder: 10 },
        Op::Offer { caller: 2, program: 2, holder: 11 },
        Op::Accept { caller: 10, license: 0 },
        Op::AddApp { caller: 10, license: 0 },
        Op::AddApp { caller: 10, license: 0 },
        Op::AddApp { caller: 10, license: 0 },
        Op::SetMaxApps { caller: 1, max_apps: 1 },
        Op::Renew { caller: 1, license: 0, adopt: true },
        Op::Advance { hours: 49 },
        Op::Offer { caller: 2, program: 2, holder: 11 },
        Op::Timer { budget: 1 },
        Op::Offer { caller: 0, program: 0, holder: 12 },
    ];
    run(&ops).unwrap();
}


