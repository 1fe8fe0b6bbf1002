//! The state every canister has besides its domain records: the install configuration (with its
//! schema version) in a stable cell, and the hash-chained audit log. Each canister keeps one
//! `CoreState` in a `thread_local!` of its `storage` module.

use crate::audit::{self, AuditLog};
use crate::cbor::Cbor;
use crate::lifecycle::check_schema;
use candid::Principal;
use ic_stable_structures::{Memory, StableCell};
use interfaces::audit::{AuditPage, ChainCheck, ConfigError, PageRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A canister configuration that records the schema version of the stored state.
pub trait VersionedConfig: Clone + Serialize + DeserializeOwned {
    fn schema_version(&self) -> u32;
    fn set_schema_version(&mut self, version: u32);
}

/// The four canisters' configurations all carry a `schema_version` field.
macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl VersionedConfig for $t {
            fn schema_version(&self) -> u32 {
                self.schema_version
            }
            fn set_schema_version(&mut self, version: u32) {
                self.schema_version = version;
            }
        }
    )*};
}
versioned!(
    interfaces::subnet_registry::Config,
    interfaces::license_issuer::Config,
    interfaces::messaging::Config,
    interfaces::messaging_index::Config,
    interfaces::burn_ledger::Config
);

/// The audit payload of an explicit reconfiguration: what was in force and what is now.
#[derive(Serialize)]
struct Reconfigured<'a, C> {
    schema_from: u32,
    before: &'a C,
    after: &'a C,
}

pub struct CoreState<C: VersionedConfig, M: Memory> {
    config: StableCell<Cbor<Option<C>>, M>,
    audit: AuditLog<M>,
}

impl<C: VersionedConfig, M: Memory> CoreState<C, M> {
    pub fn init(config_memory: M, audit_index_memory: M, audit_data_memory: M) -> Self {
        CoreState {
            config: StableCell::init(config_memory, Cbor(None)),
            audit: AuditLog::init(audit_index_memory, audit_data_memory),
        }
    }

    /// The configuration in force. `init` writes it, so it is present whenever endpoints run.
    pub fn config(&self) -> C {
        self.config.get().0.clone().expect("config is written by init")
    }

    /// Validates `args` with `build` and stores the result (first install, or an upgrade that
    /// passes a new argument), logging it under `kind`.
    pub fn install<A>(
        &mut self,
        args: A,
        build: impl FnOnce(A) -> Result<C, ConfigError>,
        time_ns: u64,
        actor: Principal,
        kind: &str,
    ) -> Result<(), ConfigError> {
        let config = build(args)?;
        self.config.set(Cbor(Some(config.clone())));
        self.audit(time_ns, actor, kind, &config);
        Ok(())
    }

    /// Upgrade: refuses a downgrade; without an argument keeps the stored configuration (and
    /// migrates its schema version to `code_version`), so governance changes stored since the
    /// install (authorities, quorum) survive a redeploy. An argument is an explicit
    /// reconfiguration: applied, and audited as `reconfigured` with the configuration before and
    /// after; an argument equal to what is stored changes nothing. Re-certifies the audit tip,
    /// since certified data does not survive an upgrade.
    pub fn upgrade<A>(
        &mut self,
        args: Option<A>,
        build: impl FnOnce(A) -> Result<C, ConfigError>,
        code_version: u32,
        time_ns: u64,
        actor: Principal,
    ) -> Result<(), String> {
        let mut stored = self.config();
        let from = stored.schema_version();
        check_schema(from, code_version)?;
        match args {
            Some(args) => {
                let mut new = build(args).map_err(|e| e.to_string())?;
                new.set_schema_version(code_version);
                stored.set_schema_version(code_version);
                if crate::cbor::encode(&new) != crate::cbor::encode(&stored) || from != code_version {
                    self.config.set(Cbor(Some(new.clone())));
                    self.audit(time_ns, actor, "reconfigured", &Reconfigured { schema_from: from, before: &stored, after: &new });
                }
            }
            None if from != code_version => {
                stored.set_schema_version(code_version);
                self.config.set(Cbor(Some(stored)));
                self.audit(time_ns, actor, "schema_migrated", &(from, code_version));
            }
            None => {}
        }
        audit::certify(&self.audit.tip_hash());
        Ok(())
    }

    /// Appends an audit entry and certifies the new tip.
    pub fn audit<T: Serialize>(&mut self, time_ns: u64, actor: Principal, kind: &str, details: &T) {
        self.audit.append(time_ns, actor, kind, details);
        audit::certify(&self.audit.tip_hash());
    }

    pub fn audit_page(&self, request: &PageRequest) -> AuditPage {
        self.audit.page(request)
    }

    pub fn verify_audit(&self, start: u64, count: u64) -> ChainCheck {
        self.audit.verify(start, count)
    }

    pub fn audit_len(&self) -> u64 {
        self.audit.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;
    use serde::Deserialize;

    #[derive(Clone, Serialize, Deserialize, Debug, PartialEq)]
    struct Cfg {
        v: u32,
        n: u64,
    }
    impl VersionedConfig for Cfg {
        fn schema_version(&self) -> u32 {
            self.v
        }
        fn set_schema_version(&mut self, version: u32) {
            self.v = version;
        }
    }

    fn state(cfg: &VectorMemory) -> CoreState<Cfg, VectorMemory> {
        CoreState::init(cfg.clone(), VectorMemory::default(), VectorMemory::default())
    }

    fn build(v: u32) -> impl FnOnce(u64) -> Result<Cfg, ConfigError> {
        move |n| if n == 0 { Err(ConfigError::NoAuthorities) } else { Ok(Cfg { v, n }) }
    }

    #[test]
    fn install_stores_and_logs_and_invalid_args_change_nothing() {
        let mem = VectorMemory::default();
        let mut s = state(&mem);
        assert_eq!(s.install(0, build(1), 1, Principal::anonymous(), "installed"), Err(ConfigError::NoAuthorities));
        assert_eq!(s.audit_len(), 0);
        s.install(5, build(1), 1, Principal::anonymous(), "installed").unwrap();
        assert_eq!(s.config(), Cfg { v: 1, n: 5 });
        assert_eq!(s.audit_len(), 1);
    }

    #[test]
    fn upgrade_keeps_migrates_and_refuses_downgrade() {
        let mem = VectorMemory::default();
        let mut s = state(&mem);
        s.install(5, build(1), 1, Principal::anonymous(), "installed").unwrap();
        // Same memory reopened, as after an upgrade.
        let mut s = state(&mem);
        s.upgrade(None, build(2), 2, 2, Principal::anonymous()).unwrap();
        assert_eq!(s.config(), Cfg { v: 2, n: 5 });
        assert!(s.upgrade(None, build(1), 1, 3, Principal::anonymous()).unwrap_err().contains("downgrade"));
        s.upgrade(Some(9), build(2), 2, 4, Principal::anonymous()).unwrap();
        assert_eq!(s.config().n, 9);
        assert!(s.upgrade(Some(0), build(2), 2, 5, Principal::anonymous()).is_err());
        assert_eq!(s.config().n, 9);
    }

    #[test]
    fn a_reconfiguration_is_audited_with_before_and_after_and_a_same_one_changes_nothing() {
        let mem = VectorMemory::default();
        let mut s = state(&mem);
        s.install(5, build(1), 1, Principal::anonymous(), "installed").unwrap();
        // A redeploy without an argument keeps the config and writes nothing.
        s.upgrade(None, build(1), 1, 2, Principal::anonymous()).unwrap();
        assert_eq!((s.config().n, s.audit_len()), (5, 1));
        // The same argument again: nothing to audit.
        s.upgrade(Some(5), build(1), 1, 3, Principal::anonymous()).unwrap();
        assert_eq!(s.audit_len(), 1);
        // A different one: applied and audited with what changed.
        s.upgrade(Some(8), build(1), 1, 4, Principal::anonymous()).unwrap();
        assert_eq!((s.config().n, s.audit_len()), (8, 2));
        let entry = s.audit_page(&PageRequest { start: Some(1), limit: Some(1) }).entries.remove(0);
        assert_eq!(entry.kind, "reconfigured");
        let (schema_from, before, after): (u32, Cfg, Cfg) = {
            #[derive(Deserialize)]
            struct R {
                schema_from: u32,
                before: Cfg,
                after: Cfg,
            }
            let r: R = ciborium::de::from_reader(entry.payload.as_slice()).unwrap();
            (r.schema_from, r.before, r.after)
        };
        assert_eq!((schema_from, before.n, after.n), (1, 5, 8));
    }
}
