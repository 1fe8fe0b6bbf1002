//! Per-key guard held across `await`s: a second concurrent attempt on the same key gets an error
//! instead of interleaving with the first. The key is released on `Drop`, which ic-cdk also runs
//! when the task is cancelled after a trap.

use std::cell::RefCell;
use std::collections::BTreeSet;

thread_local! {
    static IN_FLIGHT: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// Holds `key` until dropped.
#[derive(Debug)]
pub struct CallerGuard {
    key: String,
}

/// Another operation on the same key is still in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyInFlight {
    pub key: String,
}

impl CallerGuard {
    /// Takes `key`, or fails if another holder has it.
    pub fn acquire(key: impl Into<String>) -> Result<Self, AlreadyInFlight> {
        let key = key.into();
        IN_FLIGHT.with_borrow_mut(|keys| {
            if keys.insert(key.clone()) {
                Ok(CallerGuard { key })
            } else {
                Err(AlreadyInFlight { key })
            }
        })
    }

    /// Whether `key` is currently held (for tests and diagnostics).
    pub fn is_held(key: &str) -> bool {
        IN_FLIGHT.with_borrow(|keys| keys.contains(key))
    }
}

impl Drop for CallerGuard {
    fn drop(&mut self) {
        IN_FLIGHT.with_borrow_mut(|keys| keys.remove(&self.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_fails_until_the_first_is_dropped() {
        let first = CallerGuard::acquire("alice").unwrap();
        assert_eq!(CallerGuard::acquire("alice").unwrap_err(), AlreadyInFlight { key: "alice".into() });
        let other = CallerGuard::acquire("bob").expect("other keys are independent");
        drop(first);
        assert!(!CallerGuard::is_held("alice"));
        assert!(CallerGuard::is_held("bob"));
        let again = CallerGuard::acquire("alice").expect("released on drop");
        drop((again, other));
        assert!(!CallerGuard::is_held("bob"));
    }
}
