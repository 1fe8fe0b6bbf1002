//! The country-wide directory: every handle names one principal, every principal has one home
//! shard. Registration is a small state machine, because the home shard is asked in between:
//!
//! 1. [`Directory::reserve`]: the handle and the principal are recorded as *pending* on the
//!    chosen shard — a second registration of the same handle or principal is refused from here on;
//! 2. the index asks the home shard to create the user (idempotent per principal on the shard);
//! 3. the shard's answer decides: created → [`Directory::commit`]; a clear refusal (the shard
//!    rejected the handle, say) → [`Directory::release`]; an unknown outcome (the call timed out,
//!    SysUnknown) → nothing: the entry stays pending until the index asks the shard whether the
//!    user exists ([`Directory::pending`]), never released on a guess — a released handle the shard
//!    did create would belong to two people.
//!
//! A committed handle is never released: a deactivated user keeps it, so nobody can take over
//! a handle others know.

use crate::routing::ShardId;
use candid::Principal;
use common::cbor::Cbor;
use ic_stable_structures::{Memory, StableBTreeMap};
use serde::{Deserialize, Serialize};

/// A principal's registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub handle: String,
    pub shard: ShardId,
    pub state: RegistrationState,
    /// When the handle was reserved (pending) or the registration committed.
    pub since_ns: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationState {
    /// Reserved; the home shard's answer is awaited or unknown.
    Pending,
    /// The home shard created the user.
    Registered,
}

/// Why the directory refused a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryError {
    /// The principal is registered already (on `shard`, as `handle`).
    AlreadyRegistered { handle: String, shard: ShardId },
    /// The principal's earlier registration awaits its shard's answer.
    RegistrationPending { handle: String, shard: ShardId },
    /// Someone else holds (or is registering) the handle.
    HandleTaken { handle: String },
    /// The principal has no pending registration (nothing to commit or release).
    NotPending,
}

/// Handles and registrations in stable memory.
pub struct Directory<M: Memory> {
    /// handle → principal (pending or registered).
    handles: StableBTreeMap<String, Principal, M>,
    /// principal → registration.
    users: StableBTreeMap<Principal, Cbor<Registration>, M>,
    /// (reserved at, principal) of pending registrations, oldest first: what to resolve.
    pending: StableBTreeMap<(u64, Principal), (), M>,
}

impl<M: Memory> Directory<M> {
    pub fn init(handles: M, users: M, pending: M) -> Self {
        Directory { handles: StableBTreeMap::init(handles), users: StableBTreeMap::init(users), pending: StableBTreeMap::init(pending) }
    }

    /// Step 1: reserves `handle` for `principal` on `shard`. Nothing changes on a refusal.
    pub fn reserve(&mut self, principal: Principal, handle: &str, shard: ShardId, now_ns: u64) -> Result<(), DirectoryError> {
        if let Some(Cbor(r)) = self.users.get(&principal) {
            return Err(match r.state {
                RegistrationState::Registered => DirectoryError::AlreadyRegistered { handle: r.handle, shard: r.shard },
                RegistrationState::Pending => DirectoryError::RegistrationPending { handle: r.handle, shard: r.shard },
            });
        }
        if self.handles.contains_key(&handle.to_string()) {
            return Err(DirectoryError::HandleTaken { handle: handle.to_string() });
        }
        self.handles.insert(handle.to_string(), principal);
        let r = Registration { handle: handle.to_string(), shard, state: RegistrationState::Pending, since_ns: now_ns };
        self.users.insert(principal, Cbor(r));
        self.pending.insert((now_ns, principal), ());
        Ok(())
    }

    /// Step 3, the shard created the user: the registration is committed.
    pub fn commit(&mut self, principal: Principal, now_ns: u64) -> Result<Registration, DirectoryError> {
        let mut r = self.pending_of(principal)?;
        self.pending.remove(&(r.since_ns, principal));
        r.state = RegistrationState::Registered;
        r.since_ns = now_ns;
        self.users.insert(principal, Cbor(r.clone()));
        Ok(r)
    }

    /// Step 3, the shard clearly refused: the handle and the principal are free again.
    pub fn release(&mut self, principal: Principal) -> Result<Registration, DirectoryError> {
        let r = self.pending_of(principal)?;
        self.pending.remove(&(r.since_ns, principal));
        self.users.remove(&principal);
        self.handles.remove(&r.handle);
        Ok(r)
    }

    fn pending_of(&self, principal: Principal) -> Result<Registration, DirectoryError> {
        match self.users.get(&principal) {
            Some(Cbor(r)) if r.state == RegistrationState::Pending => Ok(r),
            _ => Err(DirectoryError::NotPending),
        }
    }

    /// Whether someone holds or is registering `handle`.
    pub fn handle_taken(&self, handle: &str) -> bool {
        self.handles.contains_key(&handle.to_string())
    }

    /// The principal's registration, pending or committed.
    pub fn registration(&self, principal: Principal) -> Option<Registration> {
        self.users.get(&principal).map(|Cbor(r)| r)
    }

    /// The registered principal behind `handle` (a pending reservation is not shown).
    pub fn find_by_handle(&self, handle: &str) -> Option<(Principal, Registration)> {
        let principal = self.handles.get(&handle.to_string())?;
        let r = self.registration(principal)?;
        (r.state == RegistrationState::Registered).then_some((principal, r))
    }

    /// Up to `limit` pending registrations reserved before `before_ns`, oldest first: the ones
    /// whose outcome the index should find out from their shard.
    pub fn pending(&self, before_ns: u64, limit: usize) -> Vec<(Principal, Registration)> {
        self.pending
            .iter()
            .take_while(|e| e.key().0 < before_ns)
            .take(limit)
            .filter_map(|e| {
                let principal = e.key().1;
                self.registration(principal).map(|r| (principal, r))
            })
            .collect()
    }

    /// (registered, pending) counts.
    pub fn counts(&self) -> (u64, u64) {
        let pending = self.pending.len();
        (self.users.len() - pending, pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::memory_manager::{MemoryId, MemoryManager};
    use ic_stable_structures::DefaultMemoryImpl;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn directory() -> Directory<impl Memory> {
        let m = MemoryManager::init(DefaultMemoryImpl::default());
        Directory::init(m.get(MemoryId::new(0)), m.get(MemoryId::new(1)), m.get(MemoryId::new(2)))
    }

    fn p(i: u8) -> Principal {
        Principal::from_slice(&[i; 29])
    }

    #[test]
    fn a_registration_is_reserved_then_committed_or_released() {
        let mut d = directory();
        d.reserve(p(1), "amina", 0, 10).unwrap();
        assert_eq!(d.find_by_handle("amina"), None, "pending reservations are not found");
        assert_eq!(d.reserve(p(2), "amina", 1, 11), Err(DirectoryError::HandleTaken { handle: "amina".into() }));
        assert_eq!(d.reserve(p(1), "other", 1, 11), Err(DirectoryError::RegistrationPending { handle: "amina".into(), shard: 0 }));
        assert_eq!(d.pending(11, 10).len(), 1);
        assert_eq!(d.pending(10, 10).len(), 0, "reserved at 10 is not before 10");
        let r = d.commit(p(1), 20).unwrap();
        assert_eq!((r.state, r.since_ns), (RegistrationState::Registered, 20));
        assert_eq!(d.find_by_handle("amina").map(|(who, _)| who), Some(p(1)));
        assert_eq!(d.release(p(1)), Err(DirectoryError::NotPending), "a committed handle is never released");
        assert_eq!(d.reserve(p(1), "x", 0, 30), Err(DirectoryError::AlreadyRegistered { handle: "amina".into(), shard: 0 }));

        d.reserve(p(2), "bilal", 1, 40).unwrap();
        d.release(p(2)).unwrap();
        assert_eq!(d.registration(p(2)), None);
        d.reserve(p(3), "bilal", 1, 41).unwrap();
        assert_eq!(d.counts(), (1, 1));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Reserve(u8, u8),
        Commit(u8),
        Release(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![(0u8..6, 0u8..4).prop_map(|(w, h)| Op::Reserve(w, h)), (0u8..6).prop_map(Op::Commit), (0u8..6).prop_map(Op::Release)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Against a plain model: handles are unique, a refused step changes nothing, committed
        /// handles are never freed, and the pending list is exactly the pending registrations.
        #[test]
        fn the_directory_follows_its_model(ops in proptest::collection::vec(op(), 1..60)) {
            let mut d = directory();
            // principal → (handle, registered)
            let mut model: BTreeMap<u8, (String, bool)> = BTreeMap::new();
            for (now, op) in ops.into_iter().enumerate() {
                let now = now as u64;
                match op {
                    Op::Reserve(who, h) => {
                        let handle = format!("h{h}");
                        let ok = !model.contains_key(&who) && model.values().all(|(taken, _)| *taken != handle);
                        prop_assert_eq!(d.reserve(p(who), &handle, 0, now).is_ok(), ok);
                        if ok { model.insert(who, (handle, false)); }
                    }
                    Op::Commit(who) => {
                        let ok = model.get(&who).is_some_and(|(_, registered)| !registered);
                        prop_assert_eq!(d.commit(p(who), now).is_ok(), ok);
                        if ok { model.get_mut(&who).unwrap().1 = true; }
                    }
                    Op::Release(who) => {
                        let ok = model.get(&who).is_some_and(|(_, registered)| !registered);
                        prop_assert_eq!(d.release(p(who)).is_ok(), ok);
                        if ok { model.remove(&who); }
                    }
                }
                for (who, (handle, registered)) in &model {
                    let found = d.find_by_handle(handle).map(|(principal, _)| principal);
                    prop_assert_eq!(found, registered.then_some(p(*who)));
                }
                let pending: Vec<Principal> = d.pending(u64::MAX, 100).into_iter().map(|(who, _)| who).collect();
                let mut expected: Vec<Principal> = model.iter().filter(|(_, (_, r))| !r).map(|(w, _)| p(*w)).collect();
                let mut got = pending.clone();
                got.sort();
                expected.sort();
                prop_assert_eq!(got, expected);
                let registered = model.values().filter(|(_, r)| *r).count() as u64;
                prop_assert_eq!(d.counts(), (registered, model.len() as u64 - registered));
            }
        }
    }
}
