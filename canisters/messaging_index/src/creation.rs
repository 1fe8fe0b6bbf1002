//! Creating a shard is two management calls with cycles attached — `create_canister`, then
//! `install_code` — and either can fail or the index can stop between them. The journal makes
//! that safe: an entry is written *before* `create_canister` is sent, the new canister id is
//! written in the first line of its callback, and only then is the module installed. So:
//! - a canister is never created twice for one entry (a Requested entry is never re-sent: it is
//!   resolved by an authority who looks at the index's canisters, since only the lost callback
//!   knew the id);
//! - a created canister is never leaked (a Created entry is retried until installed, or handed
//!   to an authority with its id);
//! - the shard joins the routing table only once it runs the shard module.
//!
//! The calls that move cycles or create canisters use unbounded-wait calls: a bounded-wait call
//! that times out may lose the cycles attached and the id of the canister created.

use candid::Principal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreationState {
    /// `create_canister` sent with `cycles` for `subnet`; its answer not yet recorded.
    Requested,
    /// The canister exists; the shard module is not installed yet. `attempts` installs failed.
    Created { canister: Principal, attempts: u32, last_error: Option<String> },
    /// Installed and added to the shards: done.
    Installed { canister: Principal },
    /// `create_canister` was refused: nothing was created (cycles returned with the reject).
    Refused { error: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creation {
    pub subnet: Principal,
    pub cycles: u128,
    pub requested_at_ns: u64,
    pub state: CreationState,
}

/// Installs retried at most this many times before an authority must look.
pub const MAX_INSTALL_ATTEMPTS: u32 = 5;

impl Creation {
    pub fn requested(subnet: Principal, cycles: u128, now_ns: u64) -> Creation {
        Creation { subnet, cycles, requested_at_ns: now_ns, state: CreationState::Requested }
    }

    /// The `create_canister` answer. Only a Requested entry takes it (a duplicate is ignored).
    pub fn on_created(&mut self, answer: Result<Principal, String>) {
        if self.state == CreationState::Requested {
            self.state = match answer {
                Ok(canister) => CreationState::Created { canister, attempts: 0, last_error: None },
                Err(error) => CreationState::Refused { error },
            };
        }
    }

    /// The canister whose module should be installed now, if any.
    pub fn to_install(&self) -> Option<Principal> {
        match &self.state {
            CreationState::Created { canister, attempts, .. } if *attempts < MAX_INSTALL_ATTEMPTS => Some(*canister),
            _ => None,
        }
    }

    /// The `install_code` answer.
    pub fn on_installed(&mut self, answer: Result<(), String>) {
        if let CreationState::Created { canister, attempts, .. } = &self.state {
            let canister = *canister;
            self.state = match answer {
                Ok(()) => CreationState::Installed { canister },
                Err(e) => CreationState::Created { canister, attempts: attempts + 1, last_error: Some(e) },
            };
        }
    }

    /// Whether the entry needs an authority: a lost `create_canister` answer, or installs that
    /// kept failing.
    pub fn needs_attention(&self) -> bool {
        matches!(&self.state, CreationState::Requested)
            || matches!(&self.state, CreationState::Created { attempts, .. } if *attempts >= MAX_INSTALL_ATTEMPTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u8) -> Principal {
        Principal::from_slice(&[i; 10])
    }

    #[test]
    fn created_then_installed() {
        let mut c = Creation::requested(id(1), 10, 0);
        assert_eq!(c.to_install(), None, "nothing to install before the id is known");
        c.on_created(Ok(id(2)));
        c.on_created(Ok(id(3)));
        assert_eq!(c.to_install(), Some(id(2)), "a duplicate answer does not replace the id");
        c.on_installed(Err("out of cycles".into()));
        assert_eq!(c.to_install(), Some(id(2)), "retried");
        c.on_installed(Ok(()));
        assert_eq!(c.state, CreationState::Installed { canister: id(2) });
        assert!(!c.needs_attention());
    }

    #[test]
    fn failures_end_in_a_state_an_authority_sees() {
        let mut refused = Creation::requested(id(1), 10, 0);
        refused.on_created(Err("subnet not authorized".into()));
        assert_eq!(refused.state, CreationState::Refused { error: "subnet not authorized".into() });
        assert_eq!(refused.to_install(), None);

        let lost = Creation::requested(id(1), 10, 0);
        assert!(lost.needs_attention(), "a lost answer is never re-sent: it would create a second canister");

        let mut failing = Creation::requested(id(1), 10, 0);
        failing.on_created(Ok(id(2)));
        for _ in 0..MAX_INSTALL_ATTEMPTS {
            failing.on_installed(Err("trap".into()));
        }
        assert_eq!(failing.to_install(), None);
        assert!(failing.needs_attention());
        assert!(matches!(failing.state, CreationState::Created { canister, .. } if canister == id(2)), "the id is kept: nothing leaks");
    }
}
