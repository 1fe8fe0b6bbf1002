//! Registering an app across the call to the subnet registry, so that nothing is left half-done.
//!
//! 1. Guards per canister id and per holder (a concurrent attempt gets `RegistrationInFlight`).
//! 2. Checks and reserves the slot in stable memory (`apps::reserve_app`) — committed before the await.
//! 3. Calls `record_placement(canister, subnet)` on the registry (which refuses non-live subnets).
//! 4. After the await, re-reads state and either commits the app (placement recorded) or releases
//!    the slot and returns a typed error saying what failed.
//!
//! Unknown outcome (SysUnknown, or a reply that does not decode): the registry may or may not have
//! recorded the placement. We ask `placement_of(canister)`: if the placement is there, the app is
//! committed; if it is definitely absent, the slot is released. Only if that check fails as well
//! is the slot kept, marked `outcome_unknown`; the holder's retry with the same input resumes it,
//! which is safe because `record_placement` is idempotent for the same canister and subnet. A
//! bounded-wait request past its deadline is not delivered later, so "absent" stays absent.
//!
//! The flow is generic over [`Registry`] so unit tests drive it natively with a fake registry.

use crate::apps;
use crate::storage;
use candid::Principal;
use common::guard::CallerGuard;
use interfaces::license_issuer::{App, AppInput, LicenseError};
use interfaces::subnet_registry::{Placement, RegistryError};

/// How a call to the registry failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// The call was rejected (callee stopped, trapped, missing, rejected it) or never sent: the
    /// registry did not record anything.
    Rejected { reject_code: u32, message: String },
    /// It is not known whether the registry acted (SysUnknown, undecodable reply).
    Unknown { reject_code: u32, message: String },
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

fn guard(key: String) -> Result<CallerGuard, LicenseError> {
    CallerGuard::acquire(key).map_err(|e| LicenseError::RegistrationInFlight { key: e.key })
}

/// Registers `input` for `caller`; `clock` gives the time (it moves across the await).
pub async fn register_app<R: Registry>(
    registry: &R,
    caller: Principal,
    clock: &dyn Fn() -> u64,
    input: AppInput,
) -> Result<App, LicenseError> {
    let _per_canister = guard(format!("app-canister:{}", input.canister))?;
    let _per_holder = guard(format!("app-holder:{caller}"))?;
    // A new slot, or the caller's own slot whose earlier outcome was unknown (resumed).
    storage::with_state(|s| apps::reserve_app(s, caller, clock(), &input))?;
    let canister = input.canister;

    let outcome = registry.record_placement(canister, input.subnet_id).await;
    let failure = match outcome {
        Ok(Ok(placement)) if placement.canister == canister && placement.subnet_id == input.subnet_id => {
            return storage::with_state(|s| apps::commit_app(s, clock(), canister));
        }
        Ok(Ok(placement)) => LicenseError::RegistryRefused {
            error: RegistryError::CanisterAlreadyPlaced { canister, subnet_id: placement.subnet_id },
        },
        Ok(Err(RegistryError::SubnetNotLive { subnet_id, status })) => LicenseError::SubnetNotLive { subnet_id, status },
        Ok(Err(error)) => LicenseError::RegistryRefused { error },
        Err(CallFailure::Rejected { reject_code, message }) => LicenseError::RegistryUnavailable { reject_code, message },
        Err(CallFailure::Unknown { reject_code, message }) => match registry.placement_of(canister).await {
            Ok(Some(p)) if p.subnet_id == input.subnet_id => {
                return storage::with_state(|s| apps::commit_app(s, clock(), canister));
            }
            Ok(_) => LicenseError::RegistryUnavailable { reject_code, message },
            Err(_) => {
                storage::with_state(|s| apps::mark_outcome_unknown(s, clock(), canister));
                return Err(LicenseError::PlacementOutcomeUnknown { canister, subnet_id: input.subnet_id });
            }
        },
    };
    storage::with_state(|s| apps::release_app(s, clock(), canister, &failure));
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

    /// The fake registry's futures are ready at once, so polling once suffices.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("fake registry futures never wait"),
        }
    }

    type Reply = Result<Result<Placement, RegistryError>, CallFailure>;

    /// Answers from queues; records whether the slot was reserved while the call was "in flight".
    #[derive(Default)]
    struct FakeRegistry {
        record_replies: RefCell<VecDeque<Reply>>,
        lookup_replies: RefCell<VecDeque<Result<Option<Placement>, CallFailure>>>,
        reserved_during_call: Cell<Option<bool>>,
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
            self.reserved_during_call.set(Some(storage::with_state(|s| s.pending_apps.contains_key(&canister))));
            self.record_replies.borrow_mut().pop_front().expect("unexpected record_placement")
        }
        async fn placement_of(&self, _canister: Principal) -> Result<Option<Placement>, CallFailure> {
            self.lookup_replies.borrow_mut().pop_front().expect("unexpected placement_of")
        }
    }

    fn placed(canister: Principal) -> Reply {
        Ok(Ok(Placement { canister, subnet_id: p(SUBNET), recorded_by: p(9), recorded_at_ns: 5 }))
    }

    /// Installs the thread's state with a registry, one program and an active license of `p(HOLDER)`.
    fn setup() -> u64 {
        storage::with_core(|c| {
            let mut args = config::default_args(p(AUTHORITY));
            args.subnet_registry = Some(p(9));
            c.install(args, config::build_config, 0, p(AUTHORITY), "installed").unwrap();
        });
        storage::with_state(|s| {
            let [prog] = with_programs(s, &[(Sector::Startup, 5)])[..] else { panic!() };
            let l = licenses::offer_license(s, p(MANAGER), 1, prog, p(HOLDER)).unwrap();
            licenses::accept_license(s, p(HOLDER), 2, l.id).unwrap().id
        })
    }

    fn input(license_id: u64, canister: u8) -> AppInput {
        AppInput { license_id, name: format!("app {canister}"), canister: p(canister), subnet_id: p(SUBNET) }
    }

    fn register(reg: &FakeRegistry, who: u8, input: AppInput) -> Result<App, LicenseError> {
        block_on(register_app(reg, p(who), &|| 1_000, input))
    }

    /// Nothing about `canister` is recorded: no app, no pending slot, no owner.
    fn nothing_recorded(canister: u8) -> bool {
        storage::with_state(|s| {
            !s.app_by_canister.contains_key(&p(canister))
                && !s.pending_apps.contains_key(&p(canister))
                && crate::apps::app_owner(s, p(canister)).is_none()
        })
    }

    #[test]
    fn a_recorded_placement_becomes_an_app_with_its_owner() {
        let license_id = setup();
        let reg = FakeRegistry::replying(vec![placed(p(70))]);
        let app = register(&reg, HOLDER, input(license_id, 70)).unwrap();
        assert_eq!(reg.reserved_during_call.get(), Some(true), "slot reserved before the await");
        assert_eq!((app.canister, app.subnet_id, app.license_id), (p(70), p(SUBNET), license_id));
        let owner = storage::with_state(|s| crate::apps::app_owner(s, p(70))).unwrap();
        assert_eq!((owner.app_id, owner.holder, owner.sector), (app.id, p(HOLDER), Sector::Startup));
        storage::with_state(|s| {
            assert!(s.pending_apps.is_empty());
            assert_eq!(s.license(license_id).unwrap().app_ids, vec![app.id]);
            assert_eq!(s.totals().apps, 1);
        });
        assert!(!common::guard::CallerGuard::is_held(&format!("app-holder:{}", p(HOLDER))), "guards released");
    }

    #[test]
    fn registry_failures_leave_nothing_recorded_and_say_what_failed() {
        let license_id = setup();
        let not_live = RegistryError::SubnetNotLive { subnet_id: p(SUBNET), status: SubnetStatus::Suspended };
        let reg = FakeRegistry::replying(vec![
            Ok(Err(not_live)),
            Err(CallFailure::Rejected { reject_code: 5, message: "canister is stopped".into() }),
            Ok(Err(RegistryError::CanisterAlreadyPlaced { canister: p(71), subnet_id: p(201) })),
        ]);
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 71)),
            Err(LicenseError::SubnetNotLive { subnet_id: p(SUBNET), status: SubnetStatus::Suspended })
        );
        assert!(nothing_recorded(71));
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 71)),
            Err(LicenseError::RegistryUnavailable { reject_code: 5, message: "canister is stopped".into() })
        );
        assert!(nothing_recorded(71));
        assert!(matches!(register(&reg, HOLDER, input(license_id, 71)), Err(LicenseError::RegistryRefused { .. })));
        assert!(nothing_recorded(71));
        // The registry is back: the same registration now succeeds.
        let reg = FakeRegistry::replying(vec![placed(p(71))]);
        register(&reg, HOLDER, input(license_id, 71)).expect("recovers once the registry works");
        assert_eq!(storage::with_state(|s| s.totals().apps), 1);
    }

    #[test]
    fn unknown_outcomes_are_resolved_by_asking_where_the_canister_is() {
        let license_id = setup();
        let unknown = || Err(CallFailure::Unknown { reject_code: 6, message: "deadline expired".into() });
        // Placed after all: committed.
        let placement = placed(p(72)).unwrap().unwrap();
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![Ok(Some(placement))]);
        assert_eq!(register(&reg, HOLDER, input(license_id, 72)).unwrap().canister, p(72));
        // Definitely not placed: released.
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![Ok(None)]);
        assert!(matches!(register(&reg, HOLDER, input(license_id, 73)), Err(LicenseError::RegistryUnavailable { reject_code: 6, .. })));
        assert!(nothing_recorded(73));
    }

    #[test]
    fn an_unresolvable_outcome_keeps_the_slot_until_the_holder_retries() {
        let license_id = setup();
        let unknown = || Err(CallFailure::Unknown { reject_code: 6, message: "deadline expired".into() });
        let failed = Err(CallFailure::Rejected { reject_code: 2, message: "queue full".into() });
        let reg = FakeRegistry::replying(vec![unknown()]).then_lookup(vec![failed]);
        assert_eq!(
            register(&reg, HOLDER, input(license_id, 74)),
            Err(LicenseError::PlacementOutcomeUnknown { canister: p(74), subnet_id: p(SUBNET) })
        );
        let pending = storage::with_state(|s| s.pending_apps.get(&p(74))).unwrap().0;
        assert!(pending.outcome_unknown);
        // Nobody else can take the canister id meanwhile; a different input is refused too.
        assert_eq!(
            register(&FakeRegistry::default(), 51, input(license_id, 74)),
            Err(LicenseError::NotAuthorized { caller: p(51), required: Role::Holder { license_id } })
        );
        let mut other = input(license_id, 74);
        other.name = "renamed".into();
        assert_eq!(
            register(&FakeRegistry::default(), HOLDER, other),
            Err(LicenseError::RegistrationPending { canister: p(74), holder: p(HOLDER) })
        );
        // The retry resumes the slot (record_placement is idempotent) and commits once.
        let reg = FakeRegistry::replying(vec![placed(p(74))]);
        register(&reg, HOLDER, input(license_id, 74)).unwrap();
        storage::with_state(|s| {
            assert!(s.pending_apps.is_empty());
            assert_eq!(s.license(license_id).unwrap().app_ids.len(), 1);
        });
    }

    #[test]
    fn a_slot_left_by_a_trap_after_the_await_is_resumed_by_its_holder() {
        let license_id = setup();
        // As if the callback had trapped: the reservation was committed, nothing after it.
        storage::with_state(|s| crate::apps::reserve_app(s, p(HOLDER), 1, &input(license_id, 81))).unwrap();
        let reg = FakeRegistry::replying(vec![placed(p(81))]);
        register(&reg, HOLDER, input(license_id, 81)).expect("resumed");
        storage::with_state(|s| assert!(s.pending_apps.is_empty() && s.app_by_canister.contains_key(&p(81))));
    }

    #[test]
    fn entitlements_duplicates_and_license_status_are_checked_before_calling() {
        let license_id = setup();
        let reg = FakeRegistry::replying(vec![placed(p(75)), placed(p(76))]);
        register(&reg, HOLDER, input(license_id, 75)).unwrap();
        assert!(matches!(
            register(&reg, HOLDER, input(license_id, 75)),
            Err(LicenseError::CanisterAlreadyRegistered { .. })
        ));
        register(&reg, HOLDER, input(license_id, 76)).unwrap();
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
        let held = CallerGuard::acquire(format!("app-canister:{}", p(79))).unwrap();
        assert_eq!(
            register(&FakeRegistry::default(), HOLDER, input(license_id, 79)),
            Err(LicenseError::RegistrationInFlight { key: format!("app-canister:{}", p(79)) })
        );
        drop(held);
        let held = CallerGuard::acquire(format!("app-holder:{}", p(HOLDER))).unwrap();
        assert!(matches!(
            register(&FakeRegistry::default(), HOLDER, input(license_id, 80)),
            Err(LicenseError::RegistrationInFlight { .. })
        ));
        drop(held);
        assert!(nothing_recorded(79) && nothing_recorded(80));
    }
}
