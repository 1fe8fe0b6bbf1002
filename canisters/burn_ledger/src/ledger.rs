//! The ledger's durable state: one struct over stable structures, generic over the memory so unit
//! tests run it on `VectorMemory`. The operations live in the modules that use them
//! (`reports`, `attribution`, `rates`, `meter`); this module only opens the structures.

use crate::buckets::{CompactKey, StoredSums, DAY_SECONDS};
use candid::Principal;
use common::cbor::Cbor;
use common::core_state::CoreState;
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use interfaces::burn_ledger::{BurnRecord, Config, ConversionRate, IssuanceModel, SequenceGap};
use interfaces::license_issuer::AppOwner;
use serde::{Deserialize, Serialize};
use std::cell::OnceCell;

/// What the ledger tracks per reporter to recognise retries, gaps and overlaps.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ReporterState {
    /// Highest sequence recorded (0 before the first report).
    pub last_sequence: u64,
    /// End of the period of the last recorded report; the next period may not start before it.
    pub last_period_end_ns: u64,
    /// Reports recorded.
    pub reports: u64,
    /// Sequence numbers skipped, over all gaps.
    pub missing_sequences: u64,
    /// Number of gaps.
    pub gaps: u64,
}

/// A looked-up answer kept until it expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Cached<T> {
    pub value: T,
    pub fetched_at_ns: u64,
}

/// Settings an authority changes at run time (the install configuration is in `core`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The ICP/XDR rate in force; `None` until an authority sets one.
    pub rate: Option<ConversionRate>,
    /// The issuance side of the Mission 70 meter.
    pub model: IssuanceModel,
    /// Earliest period start of any report: burn rates never average over time before it.
    pub first_period_start_ns: Option<u64>,
    /// First burn id spread over its period; earlier burns (recorded by schema 1) sit in the
    /// hour of their period's end. Set once, at install or at the upgrade to schema 2.
    #[serde(default)]
    pub spread_from_burn_id: Option<u64>,
    /// Sequence numbers missing over all reporters (the sum of their `missing_sequences`), kept
    /// so the checkpoint does not scan every reporter. Computed once at the upgrade to schema 2.
    #[serde(default)]
    pub missing_sequences: Option<u64>,
    /// Hourly and daily buckets starting at or after this (seconds: 0, or the first UTC day
    /// boundary after the upgrade to schema 3) live in the compact maps (ids 13, 14); earlier
    /// ones stay where schemas 1 and 2 wrote them (id 8). `None` before schema 3.
    #[serde(default)]
    pub compact_buckets_from_s: Option<u64>,
}

/// Default issuance model: gross minting 9.72 %/yr, Mission 70 target 5.42 %, and a total supply
/// of 540 million ICP (an approximation; authorities set the current figure).
pub const DEFAULT_MODEL: IssuanceModel =
    IssuanceModel { annual_gross_minting_bps: 972, target_net_inflation_bps: 542, total_supply_e8s: 540_000_000 * 100_000_000 };

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate: None,
            model: DEFAULT_MODEL,
            first_period_start_ns: None,
            spread_from_burn_id: None,
            missing_sequences: None,
            compact_buckets_from_s: None,
        }
    }
}

/// Memory ids of the ledger's structures (ids 0–2 belong to `core`). See `storage.rs`.
pub mod ids {
    pub const REPORTERS: u8 = 3;
    pub const BURNS: u8 = 4;
    pub const BY_SEQUENCE: u8 = 5;
    pub const GAPS: u8 = 6;
    pub const PENDING: u8 = 7;
    pub const BUCKETS: u8 = 8;
    pub const OWNER_CACHE: u8 = 9;
    pub const PLACEMENT_CACHE: u8 = 10;
    pub const SETTINGS: u8 = 11;
    // 12: the usage reporter's cell (storage.rs).
    pub const HOURS: u8 = 13;
    pub const DAYS: u8 = 14;
}

pub struct Ledger<M: Memory> {
    /// Install configuration and the hash-chained audit log.
    pub core: CoreState<Config, M>,
    pub reporters: StableBTreeMap<Principal, Cbor<ReporterState>, M>,
    /// Every recorded report, by burn id (0, 1, 2, ...; never removed).
    pub burns: StableBTreeMap<u64, Cbor<BurnRecord>, M>,
    /// (reporter, sequence) → burn id: how a retry is recognised.
    pub by_sequence: StableBTreeMap<(Principal, u64), u64, M>,
    /// (reporter, first missing sequence) → the gap.
    pub gaps: StableBTreeMap<(Principal, u64), Cbor<SequenceGap>, M>,
    /// (canister, burn id) of burns still waiting for attribution.
    pub pending: StableBTreeMap<(Principal, u64), u8, M>,
    /// Sums per scope: totals, hourly and daily buckets (keys in `buckets.rs`).
    pub buckets: StableBTreeMap<String, StoredSums, M>,
    /// license_issuer's `app_owner` answers (`None` = not an app), with fetch time.
    pub owner_cache: StableBTreeMap<Principal, Cbor<Cached<Option<AppOwner>>>, M>,
    /// subnet_registry's `placement_of` answers (the subnet, `None` = not placed), with fetch time.
    pub placement_cache: StableBTreeMap<Principal, Cbor<Cached<Option<Principal>>>, M>,
    pub settings: StableCell<Cbor<Settings>, M>,
    /// Hourly and daily sums per scope from `settings.compact_buckets_from_s` on (schema 3).
    pub hours: StableBTreeMap<CompactKey, StoredSums, M>,
    pub days: StableBTreeMap<CompactKey, StoredSums, M>,
    /// Heap copies of the configuration and the settings; stable memory stays the source of
    /// truth (a copy is filled on first use after install or upgrade). Decoding them from CBOR
    /// at every use cost a hot report several times over. The configuration changes only
    /// through `storage::with_core` (install, upgrade), which drops the copy; the settings only
    /// through [`Ledger::update_settings`], which writes both.
    config_copy: OnceCell<Config>,
    settings_copy: OnceCell<Settings>,
}

impl<M: Memory> Ledger<M> {
    /// Opens (or creates) the state; `mem(id)` gives the memory with that id.
    pub fn init(mem: impl Fn(u8) -> M) -> Self {
        Ledger {
            core: CoreState::init(mem(0), mem(1), mem(2)),
            reporters: StableBTreeMap::init(mem(ids::REPORTERS)),
            burns: StableBTreeMap::init(mem(ids::BURNS)),
            by_sequence: StableBTreeMap::init(mem(ids::BY_SEQUENCE)),
            gaps: StableBTreeMap::init(mem(ids::GAPS)),
            pending: StableBTreeMap::init(mem(ids::PENDING)),
            buckets: StableBTreeMap::init(mem(ids::BUCKETS)),
            owner_cache: StableBTreeMap::init(mem(ids::OWNER_CACHE)),
            placement_cache: StableBTreeMap::init(mem(ids::PLACEMENT_CACHE)),
            settings: StableCell::init(mem(ids::SETTINGS), Cbor(Settings::default())),
            hours: StableBTreeMap::init(mem(ids::HOURS)),
            days: StableBTreeMap::init(mem(ids::DAYS)),
            config_copy: OnceCell::new(),
            settings_copy: OnceCell::new(),
        }
    }

    /// Brings settings added by schema 2 in line with the stored state; runs at install and
    /// after every upgrade, before any message. Idempotent, and a no-op once set.
    pub fn adopt_schema_2(&mut self) {
        let s = self.settings();
        if s.spread_from_burn_id.is_none() {
            let first = self.burns.len();
            self.update_settings(|s| s.spread_from_burn_id = Some(first));
        }
        if s.missing_sequences.is_none() {
            let missing = self.reporters.iter().map(|e| e.value().0.missing_sequences).fold(0u64, u64::saturating_add);
            self.update_settings(|s| s.missing_sequences = Some(missing));
        }
    }

    /// The configuration in force.
    /// Schema 3: fixes where hourly and daily buckets go from now on. At install (nothing
    /// reported yet) every bucket is compact. At the upgrade of a ledger holding buckets, from
    /// the first UTC day boundary after the latest hour a report may reach (now plus the
    /// allowed clock skew), so no bucket that exists is ever written in the new place and each
    /// day's hours stay in one map. Runs after every upgrade; a no-op once set.
    pub fn adopt_schema_3(&mut self, now_ns: u64) {
        if self.settings().compact_buckets_from_s.is_some() {
            return;
        }
        // Text keys sort "D|…" < "H|…" < "T|…": the first key tells whether any bucket exists.
        let cutoff = if self.buckets.first_key_value().is_some_and(|(k, _)| !k.starts_with("T|")) {
            let latest_s = now_ns.saturating_add(crate::reports::MAX_CLOCK_SKEW_NS) / 1_000_000_000;
            (latest_s / DAY_SECONDS + 1) * DAY_SECONDS
        } else {
            0
        };
        self.update_settings(|s| s.compact_buckets_from_s = Some(cutoff));
    }

    pub fn config(&self) -> &Config {
        self.config_copy.get_or_init(|| self.core.config())
    }

    /// Drops the heap copy of the configuration: `core` may have changed it.
    pub fn forget_config(&mut self) {
        self.config_copy = OnceCell::new();
    }

    pub fn settings(&self) -> Settings {
        self.settings_copy.get_or_init(|| self.settings.get().0.clone()).clone()
    }

    pub fn update_settings(&mut self, f: impl FnOnce(&mut Settings)) {
        let mut s = self.settings();
        f(&mut s);
        self.settings.set(Cbor(s.clone()));
        self.settings_copy = OnceCell::from(s);
    }

    pub fn burn(&self, burn_id: u64) -> Option<BurnRecord> {
        self.burns.get(&burn_id).map(|b| b.0)
    }

    pub fn reporter(&self, reporter: &Principal) -> ReporterState {
        self.reporters.get(reporter).map(|r| r.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use interfaces::burn_ledger::{Granularity, Scope, UsageReport};

    const H: u64 = 3_600_000_000_000;

    fn report(sequence: u64, start: u64, end: u64, cycles: u128) -> UsageReport {
        UsageReport { sequence, period_start_ns: start, period_end_ns: end, cycles_consumed: cycles, instructions: None, bytes_stored: None, messages_handled: None }
    }

    /// Upgrading from schema 1: burns already stored keep their end-of-period buckets (and are
    /// moved between scopes that way when attributed later); new burns are spread; the running
    /// count of missing sequences starts from the reporters' counts.
    #[test]
    fn schema_1_burns_stay_where_they_were_and_new_ones_spread() {
        let (mut l, mems) = installed_schema_1();
        let now = 1_000 * H;
        l.record_report(p(MESSAGING), report(1, now - 10 * H, now - 8 * H, 200), now).unwrap();
        l.record_report(p(MESSAGING), report(3, now - 8 * H, now - 6 * H, 400), now).unwrap();
        let hours = |l: &crate::ledger::Ledger<_>| l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, 100).into_iter().map(|(t, s)| (t / H, s.cycles)).collect::<Vec<_>>();
        assert_eq!(hours(&l), vec![(991, 200), (993, 400)], "schema 1: at the end");
        drop(l);
        let mut l = mems.open(); // the upgrade
        l.adopt_schema_2();
        l.adopt_schema_2(); // idempotent
        assert_eq!(l.settings().spread_from_burn_id, Some(2));
        assert_eq!(l.settings().missing_sequences, Some(1));
        l.record_report(p(MESSAGING), report(4, now - 6 * H, now - 4 * H, 600), now).unwrap();
        assert_eq!(hours(&l), vec![(991, 200), (993, 400), (994, 300), (995, 300)]);
        // Attributing the old, unattributed burns moves them exactly as they were stored.
        l.cache_owner(p(MESSAGING), None, now);
        l.cache_placement(p(MESSAGING), None, now);
        assert_eq!(l.attribute_pending_of(p(MESSAGING), now, 10), 3);
        assert_eq!(l.totals(&Scope::Unattributed), Default::default());
        assert!(l.series(&Scope::Unattributed, Granularity::Hour, 0, u64::MAX, 10).is_empty());
        let moved = l.series(&Scope::NoProgram, Granularity::Hour, 0, u64::MAX, 100).into_iter().map(|(t, s)| (t / H, s.cycles)).collect::<Vec<_>>();
        assert_eq!(moved, hours(&l));
        assert_eq!(l.checkpoint(now).missing_sequences, 1);
    }
}

#[cfg(test)]
pub mod test_support {
    //! A ledger on fresh vector memories, installed with a known configuration.
    use super::*;
    use ic_stable_structures::VectorMemory;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    pub fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }
    pub const AUTHORITY: u8 = 1;
    pub const REGISTRY: u8 = 2;
    pub const ISSUER: u8 = 3;
    pub const MESSAGING: u8 = 4;
    pub const SELF: u8 = 9;

    /// Memories kept by id, so a test can reopen the same state as after an upgrade.
    #[derive(Default, Clone)]
    pub struct Memories(std::rc::Rc<RefCell<BTreeMap<u8, VectorMemory>>>);

    impl Memories {
        pub fn open(&self) -> Ledger<VectorMemory> {
            Ledger::init(|id| self.0.borrow_mut().entry(id).or_default().clone())
        }

        /// The memory with id `id` (to write records as an older schema stored them).
        pub fn memory(&self, id: u8) -> VectorMemory {
            self.0.borrow_mut().entry(id).or_default().clone()
        }

        /// Every byte of every memory, to check that a refused call wrote nothing.
        pub fn snapshot(&self) -> Vec<(u8, Vec<u8>)> {
            self.0.borrow().iter().map(|(id, m)| (*id, m.borrow().clone())).collect()
        }
    }

    pub fn installed() -> (Ledger<VectorMemory>, Memories) {
        let (mut ledger, mems) = installed_schema_1();
        ledger.adopt_schema_2();
        ledger.adopt_schema_3(0);
        (ledger, mems)
    }

    /// A ledger as schema 1 left it: `adopt_schema_2` has not run, so burns sit at their
    /// period's end, as schema-1 code stored them.
    pub fn installed_schema_1() -> (Ledger<VectorMemory>, Memories) {
        let mems = Memories::default();
        let mut ledger = mems.open();
        let mut args = crate::config::default_args(p(AUTHORITY));
        args.subnet_registry = Some(p(REGISTRY));
        args.license_issuer = Some(p(ISSUER));
        args.reporters = vec![p(REGISTRY), p(ISSUER), p(MESSAGING)];
        ledger.core.install(args, crate::config::build_config, 0, p(AUTHORITY), "installed").unwrap();
        (ledger, mems)
    }
}
