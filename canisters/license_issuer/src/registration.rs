//! Registering an app across its awaits, so that nothing is left half-done and a refused
//! registration changes nothing.
//!
//! 1. Checks everything that can be checked without asking anyone (`apps::check_registration`):
//!    the caller, the input, that the app is a canister and not one of the suite's own, the
//!    license, duplicates, registrations in flight, the entitlement. No await before this.
//! 2. Enters the registration in the heap's in-flight table (released on `Drop`, also when a
//!    later callback traps): while it awaits, it holds the canister id, the holder (one
//!    registration at a time per holder) and one of the license's app slots.
//! 3. Await 1: `canister_info` from the management canister. The caller must be one of the
//!    canister's controllers; its module hash is recorded with the app.
//! 4. Re-checks the license and the entitlement (`apps::recheck`): a suspension, revocation,
//!    lapse or renewal that arrived during await 1 refuses the registration, with nothing written.
//! 5. Await 2: `record_placement(canister, subnet)` on the registry (which refuses non-live
//!    subnets). Recorded: the app is committed, whatever became of the license meanwhile.
//!    Refused or rejected: a typed error, nothing written.
//!
//! Unknown outcome (SysUnknown, or a reply that does not decode): the registry may or may not
//! have recorded the placement. Await 3 asks `placement_of(canister)`: if the placement is
//! there, the app is committed; if it is definitely absent, the registration fails. Only if that
//! check fails as well is the slot kept in stable memory, marked `outcome_unknown`; the holder's
//! retry with the same input resumes it, which is safe because `record_placement` is idempotent
//! for the same canister and subnet. A bounded-wait request past its deadline is not delivered
//! later, so "absent" stays absent.
//!
//! The flow is generic over [`Registry`] and [`Management`] so unit tests drive it natively.

use crate::apps::{self, Start};
use crate::storage;
use candid::Principal;
use interfaces::license_issuer::{App, AppInput, LicenseError, PendingApp};
use interfaces::subnet_registry::{Placement, RegistryError};

/// How a call to another canister failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// The call was rejected (callee stopped, trapped, missing, rejected it) or never sent: the
    /// callee did not act.
    Rejected { reject_code: u32, message: String },
    /// It is not known whether the callee acted (SysUnknown, undecodable reply).
    Unknown { reject_code: u32, message: String },
}

impl CallFailure {
    fn parts(self) -> (u32, String) {
        match self {
            CallFailure::Rejected { reject_code, message } | CallFailure::Unknown { reject_code, message } => {
                (reject_code, message)
            }
        }
    }
}

/// The registry calls the flow needs (implemented on the IC in `external_calls`).
#[allow(async_fn_in_trait)]
pub trait Registry {
    async fn record_placement(
        &self,
        canister: Principal,
        subnet_id: Principal,
    ) -> Result<Result<Placement, RegistryError>, CallFailure>;
    async fn placement_of(&self, canister: Principal) -> Result<Option<Placement>, CallFailure>;
}

/// What `canister_info` says about a canister.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanisterFacts {
    pub controllers: Vec<Principal>,
    pub module_hash: Option<Vec<u8>>,
}

/// The management canister call the flow needs (implemented on the IC in `external_calls`).
#[allow(async_fn_in_trait)]
pub trait Management {
    async fn canister_info(&self, canister: Principal) -> Result<CanisterFacts, CallFailure>;
}

/// A registration's entry in the in-flight table, removed when dropped.
struct InFlight {
    canister: Principal,
}

impl InFlight {
    fn enter(reg: PendingApp) -> Self {
        let canister = reg.input.canister;
        storage::with_state(|s| s.in_flight.insert(canister, reg));
        InFlight { canister }
    }

    fn update(&self, f: impl FnOnce(&mut PendingApp)) -> PendingApp {
        storage::with_state(|s| {
            let reg = s.in_flight.get_mut(&self.canister).expect("own in-flight entry");
            f(reg);
            reg.clone()
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        storage::with_state(|s| s.in_flight.remove(&self.canister));
    }
}

/// Registers `input` for `caller`; `clock` gives the time (it moves across the awaits).
pub async fn register_app<R: Registry, I: Management>(
    registry: &R,
    ic: &I,
    caller: Principal,
    self_id: Principal,
    clock: &dyn Fn() -> u64,
    input: AppInput,
) -> Result<App, LicenseError> {
    let start = storage::with_state(|s| apps::check_registration(s, caller, clock(), self_id, &input))?;
    let canister = input.canister;
    let flight = InFlight::enter(PendingApp {
        input: input.clone(),
        holder: caller,
        started_at_ns: clock(),
        outcome_unknown: false,
        module_hash: None,
    });

    let facts = ic.canister_info(canister).await.map_err(|f| {
        let (reject_code, message) = f.parts();
        LicenseError::CanisterInfoUnavailable { canister, reject_code, message }
    })?;
    if !facts.controllers.contains(&caller) {
        return Err(LicenseError::NotController { canister, caller });
    }
    let reg = flight.update(|r| r.module_hash = facts.module_hash);
    storage::with_state(|s| apps::recheck(s, caller, clock(), &input))?;

    let outcome = registry.record_placement(canister, input.subnet_id).await;
    let failure = match outcome {
        Ok(Ok(placement)) if placement.canister == canister && placement.subnet_id == input.subnet_id => {
            return storage::with_state(|s| apps::commit_app(s, clock(), &reg));
        }
        Ok(Ok(placement)) => LicenseError::RegistryRefused {
            error: RegistryError::CanisterAlreadyPlaced { canister, subnet_id: placement.subnet_id },
        },
        Ok(Err(RegistryError::SubnetNotLive { subnet_id, status })) => LicenseError::SubnetNotLive { subnet_id, status },
        Ok(Err(error)) => LicenseError::RegistryRefused { error },
        Err(CallFailure::Rejected { reject_code, message }) => LicenseError::RegistryUnavailable { reject_code, message },
        Err(CallFailure::Unknown { reject_code, message }) => match registry.placement_of(canister).await {
            Ok(Some(p)) if p.subnet_id == input.subnet_id => {
                return storage::with_state(|s| apps::commit_app(s, clock(), &reg));
            }
            Ok(_) => LicenseError::RegistryUnavailable { reject_code, message },
            Err(_) => {
                storage::with_state(|s| apps::keep_unknown(s, clock(), &reg));
                return Err(LicenseError::PlacementOutcomeUnknown { canister, subnet_id: input.subnet_id });
            }
        },
    };
    if start == Start::Resumed {
        storage::with_state(|s| apps::release_kept(s, clock(), canister, &failure));
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::licenses;
    use crate::state::test_support::*;
    use interfaces::license_issuer::*;
    use interfaces::subnet_registry::SubnetStatus;
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    const HOLDER: u8 = 50;
    const SUBNET: u8 = 200;
    const REGISTRY: u8 = 9;
    const LEDGER: u8 = 10;
    const MESSAGING: u8 = 11;
    const SELF: u8 = 12;

    /// The fakes' futures are ready at once, so polling once suffices.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("fake futures never wait"),
        }
    }

    type Reply = Result<Result<Placement, RegistryError>, CallFailure>;

    /// Answers from queues; records what was held in flight while the call was "awaited".
    #[derive(Default)]
    struct FakeRegistry {
        record_replies: RefCell<VecDeque<Reply>>,
        lookup_replies: RefCell<VecDeque<Result<Option<Placement>, CallFailure>>>,
        in_flight_during_call: Cell<Option<bool>>,
        record_calls: Cell<u32>,
    }

    impl FakeRegistry {
        fn replying(replies: Vec<Reply>) -> Self {
            FakeRegistry { record_replies: RefCell::new(replies.into()), ..Default::default() }
        }
        fn then_lookup(self, replies: Vec<Result<Option<Placement>, CallFailure>>) -> Self {
            *self.lookup_replies.borrow_mut() = replies.into();
            self
        }
    }

    impl Registry for FakeRegistry {
        async fn record_placement(&self, canister: Principal, _subnet: Principal) -> Reply {
            self.record_calls.set(self.record_calls.get() + 1);
            self.in_flight_during_call.set(Some(storage::with_state(|s| s.in_flight.contains_key(&canister))));
            self.record_replies.borrow_mut().pop_front().expect("unexpected record_placement")
        }
        async fn placement_of(&self, _canister: Principal) -> Result<Option<Placement>, CallFailure> {
            self.lookup_replies.borrow_mut().pop_front().expect("unexpected placement_of")
        }
    }

    /// Every canister is controlled by `controllers` unless `reply` says otherwise.
    struct FakeIc {
        controllers: Vec<Principal>,
        reply: Option<CallFailure>,
        calls: Cell<u32>,
    }

    fn controlled_by(who: u8) -> FakeIc {
        FakeIc { controllers: vec![p(1), p(who)], reply: None, calls: Cell::new(0) }
    }

    impl Management for FakeIc {
        async fn canister_info(&self, _canister: Principal) -> Result<CanisterFacts, CallFailure> {
            self.calls.set(self.calls.get() + 1);
            match &self.reply {
                Some(f) => Err(f.clone()),
                None => Ok(CanisterFacts { controllers: self.controllers.clone(), module_hash: Some(vec![7; 32]) }),
            }
        }
    }

    fn placed(canister: Principal) -> Reply {
        Ok(Ok(Placement { canister, subnet_id: p(SUBNET), recorded_by: p(REGISTRY), recorded_at_ns: 5 }))
    }

    /// Installs the thread's state with its peers, one program and an active license of `p(HOLDER)`.
    fn setup() -> u64 {
        storage::with_core(|c| {
            let mut args = config::default_args(p(AUTHORITY));
            args.subnet_registry = Some(canister(REGISTRY));
            args.burn_ledger = Some(canister(LEDGER));
            args.other_suite_canisters = Some(vec![canister(MESSAGING)]);
            c.install(args, config::build_config, 0, p(AUTHORITY), "installed").unwrap();
        });
        storage::with_state(|s| {
            let [prog] = with_programs(s, &[(Sector::Startup, 5)])[..] else { panic!() };
            let l = licenses::offer_license(s, p(MANAGER), 1, prog, p(HOLDER)).unwrap();
            licenses::accept_license(s, p(HOLDER), 2, l.id).unwrap().id
        })
    }

    fn input(license_id: u64, n: u8) -> AppInput {
        AppInput { license_id, name: format!("app {n}"), canister: canister(n), subnet_id: p(SUBNET) }
    }

    fn register_with(reg: &FakeRegistry, ic: &FakeIc, who: u8, input: AppInput) -> Result<App, LicenseError> {
        block_on(register_app(reg, ic, p(who), canister(SELF), &|| 1_000, input))
    }

    fn register(reg: &FakeRegistry, who: u8, input: AppInput) -> Result<App, LicenseError> {
        register_with(reg, &controlled_by(who), who, input)
    }

    /// A digest of everything in the state: every stable structure, the audit log and the heap table.
    fn snapshot() -> String {
        storage::with_state(|s| {
            format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
                s.licenses.iter().map(|e| e.value().0).collect::<Vec<_>>(),
                s.apps.iter().map(|e| e.value().0).collect::<Vec<_>>(),
                s.pending_apps.iter().map(|e| e.value().0).collect::<Vec<_>>(),
                s.activity.keys().collect::<Vec<_>>(),
                s.counters(),
                s.program_seats.iter().map(|e| e.value().0).collect::<Vec<_>>(),
                s.in_flight,
                s.core.audit_len(),
            )
        })
    }

    #[test]
    fn a_recorded_placement_becomes_an_app_with_its_owner_and_module_hash() {
        let license_id = setup();
        let reg = FakeRegistry::replying(vec![placed(canister(70))]);
        let app = register(&reg, HOLDER, input(license_id, 70)).unwrap();
        assert_eq!(reg.in_flight_during_call.get(), Some(true), "held in flight across the await");
        assert_eq!((app.canister, app.subnet_id, app.license_id), (canister(70), p(SUBNET), license_id));
        assert_eq!(app.module_hash, Some(vec![7; 32]));
        let owner = storage::with_state(|s| crate::apps::app_owner(s, canister(70))).unwrap();
        assert_eq!((owner.app_id, owner.holder, owner.sector), (app.id, p(HOLDER), Sector::Startup));
        storage::with_state(|s| {
            assert!(s.pending_apps.is_empty() && s.in_flight.is_empty());
            assert_eq!(s.license(license_id).unwrap().app_ids, vec![app.id]);
            assert_eq!(s.totals().apps, 1);
        });
    }

    #[test]
    fn users_suite_canisters_and_canisters_the_holder_does_not_control_are_refused_unchanged() {
        let license_id = setup();
        let before = snapshot();
        let reg = FakeRegistry::default();
        let holder_itself = AppInput { canister: p(HOLDER), ..input(license_id, 70) };
        assert_eq!(register(&reg, HOLDER, holder_itself), Err(LicenseError::NotACanister { principal: p(HOLDER) }));
        for not_canister in [Principal::anonymous(), Principal::management_canister(), Principal::self_authenticating([3; 32])] {
            let i = AppInput { canister: not_canister, ..input(license_id, 70) };
            assert_eq!(register(&reg, HOLDER, i), Err(LicenseError::NotACanister { principal: not_canister }));
        }
        for suite in [SELF, REGISTRY, LEDGER, MESSAGING] {
            assert_eq!(register(&reg, HOLDER, input(license_id, suite)), Err(LicenseError::SuiteCanister { canister: canister(suite) }));
        }
        // Controlled by someone else.
        let ic = controlled_by(51);
        assert_eq!(
            register_with(&reg, &ic, HOLDER, input(license_id, 71)),
            Err(LicenseError::NotController { canister: canister(71), caller: p(HOLDER) })
        );
        assert_eq!(ic.calls.get(), 1);
        // No such canister.
        let gone = FakeIc { reply: Some(CallFailure::Rejected { reject_code: 3, message: "Canister not found".into() }), ..controlled_by(HOLDER) };
        assert_eq!(
            register_with(&reg, &gone, HOLDER, input(license_id, 72)),
            Err(LicenseError::CanisterInfoUnavailable { canister: canister(72), reject_code: 3, message: "Canister not found".into() })
        );
        assert_eq!(reg.record_calls.get(), 0, "refusals never reach the registry");
        assert_eq!(snapshot(), before, "refusals change nothing, the activity clock included");
    }

    #[test]
    fn registry_failures_leave_nothing_recorded_and_say_what_failed() {
        let license_id = setup();
        let before = snapshot();
        let not_live = RegistryError::SubnetNotLive { subnet_id: p(SUBNET), status: SubnetStatus::Suspended };
        let reg = FakeRegistry::replying(vec![
            Ok(Err(not_live)),
            Err(CallFailure::Rejected { reject_code: 5, message: "canister is stopped".into() }),
            Ok(Err(RegistryError::CanisterAlreadyPlaced { canister: canister(71), subnet_id: p(201) })),
        ]);
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 71)),
            Err(LicenseError::SubnetNotLive { subnet_id: p(SUBNET), status: SubnetStatus::Suspended })
        );
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 71)),
            Err(LicenseError::RegistryUnavailable { reject_code: 5, message: "canister is stopped".into() })
        );
        assert!(matches!(register(&reg, HOLDER, input(license_id, 71)), Err(LicenseError::RegistryRefused { .. })));
        assert_eq!(snapshot(), before);
        // The registry is back: the same registration now succeeds.
        let reg = FakeRegistry::replying(vec![placed(canister(71))]);
        register(&reg, HOLDER, input(license_id, 71)).expect("recovers once the registry works");
        assert_eq!(storage::with_state(|s| s.totals().apps), 1);
    }

    #[test]
    fn unknown_outcomes_are_resolved_by_asking_where_the_canister_is() {
        let license_id = setup();
        let unknown = || Err(CallFailure::Unknown { reject_code: 6, message: "deadline expired".into() });
        // Placed after all: committed.
        let placement = placed(canister(72)).unwrap().unwrap();
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![Ok(Some(placement))]);
        assert_eq!(register(&reg, HOLDER, input(license_id, 72)).unwrap().canister, canister(72));
        // Definitely not placed: refused, nothing recorded.
        let before = snapshot();
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![Ok(None)]);
        assert!(matches!(register(&reg, HOLDER, input(license_id, 73)), Err(LicenseError::RegistryUnavailable { reject_code: 6, .. })));
        assert_eq!(snapshot(), before);
    }

    #[test]
    fn an_unresolvable_outcome_keeps_the_slot_until_the_holder_retries() {
        let license_id = setup();
        let unknown = || Err(CallFailure::Unknown { reject_code: 6, message: "deadline expired".into() });
        let failed = Err(CallFailure::Rejected { reject_code: 2, message: "queue full".into() });
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![failed]);
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 74)),
            Err(LicenseError::PlacementOutcomeUnknown { canister: canister(74), subnet_id: p(SUBNET) })
        );
        let kept = storage::with_state(|s| s.pending_apps.get(&canister(74))).unwrap().0;
        assert!(kept.outcome_unknown);
        assert_eq!(kept.module_hash, Some(vec![7; 32]));
        // It counts against the entitlement; nobody else can take the canister id meanwhile,
        // and a different input is refused too.
        assert_eq!(
            register(&FakeRegistry::default(), 51, input(license_id, 74)),
            Err(LicenseError::NotAuthorized { caller: p(51), required: Role::Holder { license_id } })
        );
        let mut other = input(license_id, 74);
        other.name = "renamed".into();
        assert_eq!(
            register(&FakeRegistry::default(), HOLDER, other),
            Err(LicenseError::RegistrationPending { canister: canister(74), holder: p(HOLDER) })
        );
        // The retry resumes the slot (record_placement is idempotent) and commits once.
        let reg = FakeRegistry::replying(vec![placed(canister(74))]);
        register(&reg, HOLDER, input(license_id, 74)).unwrap();
        storage::with_state(|s| {
            assert!(s.pending_apps.is_empty());
            assert_eq!(s.license(license_id).unwrap().app_ids.len(), 1);
        });
    }

    #[test]
    fn a_resumed_slot_the_registry_refuses_for_good_is_released() {
        let license_id = setup();
        let unknown = || Err(CallFailure::Unknown { reject_code: 6, message: "deadline expired".into() });
        let failed = || Err(CallFailure::Rejected { reject_code: 2, message: "queue full".into() });
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![failed()]);
        register(&reg, HOLDER, input(license_id, 75)).unwrap_err();
        let not_live = RegistryError::SubnetNotLive { subnet_id: p(SUBNET), status: SubnetStatus::Suspended };
        let reg = FakeRegistry::replying(vec![Ok(Err(not_live))]);
        assert!(matches!(register(&reg, HOLDER, input(license_id, 75)), Err(LicenseError::SubnetNotLive { .. })));
        storage::with_state(|s| assert!(s.pending_apps.is_empty()));
    }

    #[test]
    fn entitlements_duplicates_and_license_status_are_checked_before_calling() {
        let license_id = setup();
        let reg = FakeRegistry::replying(vec![placed(canister(75)), placed(canister(76))]);
        register(&reg, HOLDER, input(license_id, 75)).unwrap();
        assert!(matches!(
            register(&reg, HOLDER, input(license_id, 75)),
            Err(LicenseError::CanisterAlreadyRegistered { .. })
        ));
        register(&reg, HOLDER, input(license_id, 76)).unwrap();
        let before = snapshot();
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 77)),
            Err(LicenseError::AppLimitReached { license_id, max_apps: 2, used: 2 })
        );
        assert_eq!(reg.record_calls.get(), 2, "refusals never reach the registry");
        assert!(matches!(register(&reg, 51, input(license_id, 78)), Err(LicenseError::NotAuthorized { .. })));
        assert_eq!(register(&reg, 0, input(license_id, 78)).unwrap_err(), LicenseError::NotAuthorized {
            caller: p(0),
            required: Role::Holder { license_id }
        });
        assert_eq!(snapshot(), before);
        storage::with_state(|s| licenses::suspend_license(s, p(MANAGER), 3, license_id, "audit".into())).unwrap();
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 78)),
            Err(LicenseError::LicenseNotActive { license_id, status: LicenseStatus::Suspended })
        );
        assert_eq!(reg.record_calls.get(), 2);
    }

    #[test]
    fn a_concurrent_registration_for_the_same_canister_or_holder_is_refused() {
        let license_id = setup();
        let pending = |n: u8, holder: u8| PendingApp {
            input: input(license_id, n),
            holder: p(holder),
            started_at_ns: 1,
            outcome_unknown: false,
            module_hash: None,
        };
        let flight = InFlight::enter(pending(79, 51));
        let before = snapshot();
        assert_eq!(
            register(&FakeRegistry::default(), HOLDER, input(license_id, 79)),
            Err(LicenseError::RegistrationInFlight { key: format!("app-canister:{}", canister(79)) })
        );
        assert_eq!(snapshot(), before);
        drop(flight);
        let flight = InFlight::enter(pending(81, HOLDER));
        let before = snapshot();
        assert_eq!(
            register(&FakeRegistry::default(), HOLDER, input(license_id, 80)),
            Err(LicenseError::RegistrationInFlight { key: format!("app-holder:{}", p(HOLDER)) })
        );
        assert_eq!(snapshot(), before);
        drop(flight);
        storage::with_state(|s| assert!(s.in_flight.is_empty()));
    }

    #[test]
    fn renewing_onto_fewer_apps_than_registered_or_in_flight_is_refused() {
        let license_id = setup();
        let reg = FakeRegistry::replying(vec![placed(canister(82))]);
        register(&reg, HOLDER, input(license_id, 82)).unwrap();
        let policy_id = storage::with_state(|s| s.license(license_id).unwrap().terms.policy_id);
        let one_app = PolicyInput {
            name: "smaller".into(),
            duration_days: 30,
            entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 1 },
        };
        storage::with_state(|s| crate::admin::update_policy(s, p(AUTHORITY), 3, policy_id, one_app.clone())).unwrap();
        // One registered app, one in flight: two apps on terms allowing one.
        let flight = InFlight::enter(PendingApp {
            input: input(license_id, 83),
            holder: p(HOLDER),
            started_at_ns: 3,
            outcome_unknown: false,
            module_hash: None,
        });
        let before = snapshot();
        assert_eq!(
            storage::with_state(|s| licenses::renew_license(s, p(AUTHORITY), 4, license_id, true)),
            Err(LicenseError::AppsExceedEntitlement { license_id, apps: 2, max_apps: 1 })
        );
        assert_eq!(snapshot(), before);
        drop(flight);
        // One app on terms allowing one: allowed; zero apps allowed: refused.
        let renewed = storage::with_state(|s| licenses::renew_license(s, p(AUTHORITY), 5, license_id, true)).unwrap();
        assert_eq!(renewed.terms.entitlements.max_apps, 1);
        let none = PolicyInput { entitlements: Entitlements { max_apps: 0, monthly_cycles_quota: 1 }, ..one_app };
        storage::with_state(|s| crate::admin::update_policy(s, p(AUTHORITY), 6, policy_id, none)).unwrap();
        assert_eq!(
            storage::with_state(|s| licenses::renew_license(s, p(AUTHORITY), 7, license_id, true)),
            Err(LicenseError::AppsExceedEntitlement { license_id, apps: 1, max_apps: 0 })
        );
        // A renewal on the license's own terms is unaffected.
        storage::with_state(|s| licenses::renew_license(s, p(MANAGER), 8, license_id, false)).unwrap();
    }
}
