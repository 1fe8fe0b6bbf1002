//! Counting hostile cases: each adversarial test records every case it tried and whether the
//! canister held (refused with the promised typed error, or behaved as the `.did` promises, and
//! a refused call changed nothing). `scripts/test.sh` sums the records per canister.
//!
//! ```text
//! let mut h = Hostile::new("license_issuer", "register_app_refusals");
//! h.check("anonymous caller", result == Err(Error::Unauthorized), format!("{result:?}"));
//! h.finish(); // panics listing every case that did not hold
//! ```
//!
//! Records go to `target/hostile-cases/<canister>.<test>` as `tried held`.

use crate::env::Env;
use candid::Principal;
use std::path::PathBuf;

pub struct Hostile {
    canister: &'static str,
    test: String,
    tried: u64,
    failures: Vec<String>,
}

impl Hostile {
    pub fn new(canister: &'static str, test: &str) -> Self {
        Hostile { canister, test: test.to_string(), tried: 0, failures: Vec::new() }
    }

    /// Records one case; `held` is whether the canister kept its promise, `detail` what it did.
    pub fn check(&mut self, case: &str, held: bool, detail: impl std::fmt::Debug) {
        self.tried += 1;
        if !held {
            self.failures.push(format!("{case}: {detail:?}"));
        }
    }

    /// Records a case whose outcome must equal `expected`.
    pub fn expect_eq<T: PartialEq + std::fmt::Debug>(&mut self, case: &str, got: T, expected: T) {
        let held = got == expected;
        self.check(case, held, format!("got {got:?}, expected {expected:?}"));
    }

    pub fn tried(&self) -> u64 {
        self.tried
    }

    /// Writes the tally and panics if any case did not hold.
    pub fn finish(self) {
        let held = self.tried - self.failures.len() as u64;
        let dir = tally_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{}.{}", self.canister, self.test)), format!("{} {}\n", self.tried, held));
        assert!(self.failures.is_empty(), "{} of {} hostile cases did not hold in {}::{}:\n  {}", self.failures.len(), self.tried, self.canister, self.test, self.failures.join("\n  "));
    }
}

/// `target/hostile-cases` of this workspace.
pub fn tally_dir() -> PathBuf {
    crate::workspace_root().join("target").join("hostile-cases")
}

/// A digest of a canister's whole stable memory (executor only: `None` on other backends). A
/// refused call must leave it unchanged: every domain record and the audit log live there.
pub fn stable_digest(env: &mut dyn Env, canister: Principal) -> Option<[u8; 32]> {
    Some(env.executor()?.stable_digest(canister))
}
