//! The whole durable state of `license_issuer`, generic over the memory so unit tests run it on
//! `VectorMemory` and the canister on stable memory (see `storage.rs` for the layout).
//!
//! Seat accounting: every license change goes through [`LicenseState::replace_license`], which
//! moves one count between statuses in the program's [`SeatCounts`] and in the global totals. Seats
//! in use (offered + active + suspended) are therefore always the sum of the live licenses, and
//! the checks in `licenses.rs` keep them within the program quota and the global cap.

use crate::codec::{StoredCounters, StoredLicense, StoredSeats};
use crate::indexes::IndexBuild;
use crate::lapse::{move_count, slot};
use common::cbor::Cbor;
use common::core_state::CoreState;
use candid::{CandidType, Principal};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell};
use interfaces::audit::PageRequest;
use interfaces::license_issuer::{
    App, Config, EndReason, Institution, License, LicenseError, LicenseStatus, PendingApp, Policy, Program, SeatCounts,
    MAX_PAGE_BYTES,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Id counters and global totals, in one stable cell.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Next id to hand out, per kind (ids start at 1 so 0 never names a record).
    pub next_policy_id: u64,
    pub next_institution_id: u64,
    pub next_program_id: u64,
    pub next_license_id: u64,
    pub next_app_id: u64,
    /// Licenses by status across all programs; `totals.in_use` is checked against the cap.
    pub totals: SeatCounts,
}

impl Counters {
    fn take(next: &mut u64) -> u64 {
        *next = next.saturating_add(1).max(1);
        *next
    }
}

/// The memories the state lives in, one per structure.
pub struct Memories<M> {
    pub counters: M,
    pub policies: M,
    pub institutions: M,
    pub programs: M,
    pub program_seats: M,
    pub licenses: M,
    pub live_by_holder: M,
    pub offer_deadlines: M,
    pub term_deadlines: M,
    pub activity: M,
    pub apps: M,
    pub app_by_canister: M,
    pub pending_apps: M,
    pub licenses_by_program: M,
    pub licenses_by_holder: M,
    pub apps_by_program: M,
    pub activity_program: M,
    pub activity_days: M,
    pub index_build: M,
}

pub struct LicenseState<M: Memory> {
    /// Configuration and the hash-chained audit log.
    pub core: CoreState<Config, M>,
    counters: StableCell<StoredCounters, M>,
    pub policies: StableBTreeMap<u64, Cbor<Policy>, M>,
    pub institutions: StableBTreeMap<u64, Cbor<Institution>, M>,
    pub programs: StableBTreeMap<u64, Cbor<Program>, M>,
    /// Licenses by status per program (the report's and the quota's source).
    pub program_seats: StableBTreeMap<u64, StoredSeats, M>,
    pub licenses: StableBTreeMap<u64, StoredLicense, M>,
    /// (holder, program) → its license that holds a seat: at most one per holder per program.
    pub live_by_holder: StableBTreeMap<(Principal, u64), u64, M>,
    /// (offer expiry, license) for every `Offered` license: the timer expires them in order.
    pub offer_deadlines: StableBTreeMap<(u64, u64), (), M>,
    /// (term end, license) for every `Active` or `Suspended` license.
    pub term_deadlines: StableBTreeMap<(u64, u64), (), M>,
    /// (last activity, license) for every `Active` license: idle reclaim and active builders.
    pub activity: StableBTreeMap<(u64, u64), (), M>,
    pub apps: StableBTreeMap<u64, Cbor<App>, M>,
    /// Canister → app id: a canister is registered at most once.
    pub app_by_canister: StableBTreeMap<Principal, u64, M>,
    /// Canister → slot of a registration whose registry call ended without a known outcome.
    pub pending_apps: StableBTreeMap<Principal, Cbor<PendingApp>, M>,
    /// (program, license) for every license (`indexes.rs`).
    pub licenses_by_program: StableBTreeMap<(u64, u64), (), M>,
    /// (holder, license) for every license.
    pub licenses_by_holder: StableBTreeMap<(Principal, u64), (), M>,
    /// (program, app) for every app.
    pub apps_by_program: StableBTreeMap<(u64, u64), (), M>,
    /// (last activity, license) → program, for every `Active` license (as `activity`).
    pub activity_program: StableBTreeMap<(u64, u64), u64, M>,
    /// (day of last activity, program) → `Active` licenses with their last activity that day.
    pub activity_days: StableBTreeMap<(u64, u64), u64, M>,
    /// How far the indexes above are built over records stored before schema 3.
    index_build: StableCell<Cbor<IndexBuild>, M>,
    /// Canister → registration in flight (awaiting `canister_info` or the registry). Heap only:
    /// a refused registration leaves stable memory untouched, and a canister is stopped (so
    /// no call is in flight) before it is upgraded.
    pub in_flight: BTreeMap<Principal, PendingApp>,
}

impl<M: Memory> LicenseState<M> {
    pub fn init(core: CoreState<Config, M>, m: Memories<M>) -> Self {
        LicenseState {
            core,
            counters: StableCell::init(m.counters, StoredCounters(Counters::default())),
            policies: StableBTreeMap::init(m.policies),
            institutions: StableBTreeMap::init(m.institutions),
            programs: StableBTreeMap::init(m.programs),
            program_seats: StableBTreeMap::init(m.program_seats),
            licenses: StableBTreeMap::init(m.licenses),
            live_by_holder: StableBTreeMap::init(m.live_by_holder),
            offer_deadlines: StableBTreeMap::init(m.offer_deadlines),
            term_deadlines: StableBTreeMap::init(m.term_deadlines),
            activity: StableBTreeMap::init(m.activity),
            apps: StableBTreeMap::init(m.apps),
            app_by_canister: StableBTreeMap::init(m.app_by_canister),
            pending_apps: StableBTreeMap::init(m.pending_apps),
            licenses_by_program: StableBTreeMap::init(m.licenses_by_program),
            licenses_by_holder: StableBTreeMap::init(m.licenses_by_holder),
            apps_by_program: StableBTreeMap::init(m.apps_by_program),
            activity_program: StableBTreeMap::init(m.activity_program),
            activity_days: StableBTreeMap::init(m.activity_days),
            index_build: StableCell::init(m.index_build, Cbor(IndexBuild::default())),
            in_flight: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> Config {
        self.core.config()
    }

    pub fn index_build(&self) -> IndexBuild {
        self.index_build.get().0.clone()
    }

    pub fn set_index_build(&mut self, b: IndexBuild) {
        self.index_build.set(Cbor(b));
    }

    pub fn counters(&self) -> Counters {
        self.counters.get().0.clone()
    }

    fn update_counters<R>(&mut self, f: impl FnOnce(&mut Counters) -> R) -> R {
        let mut c = self.counters();
        let r = f(&mut c);
        self.counters.set(StoredCounters(c));
        r
    }

    pub fn new_policy_id(&mut self) -> u64 {
        self.update_counters(|c| Counters::take(&mut c.next_policy_id))
    }
    pub fn new_institution_id(&mut self) -> u64 {
        self.update_counters(|c| Counters::take(&mut c.next_institution_id))
    }
    pub fn new_program_id(&mut self) -> u64 {
        self.update_counters(|c| Counters::take(&mut c.next_program_id))
    }
    pub fn new_license_id(&mut self) -> u64 {
        self.update_counters(|c| Counters::take(&mut c.next_license_id))
    }
    pub fn new_app_id(&mut self) -> u64 {
        self.update_counters(|c| Counters::take(&mut c.next_app_id))
    }

    pub fn totals(&self) -> SeatCounts {
        self.counters().totals
    }

    /// Appends an audit entry.
    pub fn audit<T: Serialize>(&mut self, now: u64, actor: Principal, kind: &str, details: &T) {
        self.core.audit(now, actor, kind, details);
    }

    // ---- access control ----

    pub fn is_authority(&self, caller: Principal) -> bool {
        self.config().authorities.contains(&caller)
    }

    pub fn require_authority(&self, caller: Principal) -> Result<(), LicenseError> {
        require_signed(caller)?;
        if self.is_authority(caller) {
            Ok(())
        } else {
            Err(LicenseError::NotAuthorized { caller, required: interfaces::license_issuer::Role::Authority })
        }
    }

    /// A manager of the program or an authority.
    pub fn require_manager(&self, caller: Principal, program: &Program) -> Result<(), LicenseError> {
        require_signed(caller)?;
        if program.managers.contains(&caller) || self.is_authority(caller) {
            Ok(())
        } else {
            Err(LicenseError::NotAuthorized {
                caller,
                required: interfaces::license_issuer::Role::ProgramManager { program_id: program.id },
            })
        }
    }

    // ---- lookups ----

    pub fn policy(&self, policy_id: u64) -> Result<Policy, LicenseError> {
        self.policies.get(&policy_id).map(|c| c.0).ok_or(LicenseError::PolicyNotFound { policy_id })
    }
    pub fn institution(&self, institution_id: u64) -> Result<Institution, LicenseError> {
        self.institutions
            .get(&institution_id)
            .map(|c| c.0)
            .ok_or(LicenseError::InstitutionNotFound { institution_id })
    }
    pub fn program(&self, program_id: u64) -> Result<Program, LicenseError> {
        self.programs.get(&program_id).map(|c| c.0).ok_or(LicenseError::ProgramNotFound { program_id })
    }
    pub fn license(&self, license_id: u64) -> Result<License, LicenseError> {
        self.licenses.get(&license_id).map(|c| c.0).ok_or(LicenseError::LicenseNotFound { license_id })
    }
    pub fn seats_of(&self, program_id: u64) -> SeatCounts {
        self.program_seats.get(&program_id).map(|c| c.0).unwrap_or_default()
    }

    // ---- seat accounting ----

    /// Applies `f` to the program's counts and to the global totals alike.
    pub fn count(&mut self, program_id: u64, f: impl Fn(&mut SeatCounts)) {
        let mut seats = self.seats_of(program_id);
        f(&mut seats);
        self.program_seats.insert(program_id, StoredSeats(seats));
        self.update_counters(|c| f(&mut c.totals));
    }

    /// Stores a new license, counting it in its status (and applying `also` to the same counts,
    /// in the same write) and indexing it.
    pub fn insert_license(&mut self, license: &License, also: impl Fn(&mut SeatCounts)) {
        self.index_new_license(license);
        self.index(license);
        let to = license.status;
        self.count(license.program_id, |s| {
            *slot(s, to) += 1;
            if to.holds_seat() {
                s.in_use += 1;
            }
            also(s);
        });
        self.licenses.insert(license.id, StoredLicense(license.clone()));
    }

    /// Replaces `before` by `after` (same id), moving the status counts and the deadline,
    /// activity and holder indexes with it. The only place a stored license changes.
    pub fn replace_license(&mut self, before: &License, after: &License) {
        self.replace_license_and_count(before, after, None);
    }

    /// [`Self::replace_license`], applying `also` to the program's counts and the totals in the
    /// same write as the status move (one read and write of each, not two).
    pub fn replace_license_and_count(&mut self, before: &License, after: &License, also: Option<&dyn Fn(&mut SeatCounts)>) {
        debug_assert_eq!(before.id, after.id);
        self.unindex(before);
        self.index(after);
        let (from, to) = (before.status, after.status);
        if from != to || also.is_some() {
            self.count(after.program_id, |s| {
                move_count(s, from, to);
                if let Some(f) = also {
                    f(s);
                }
            });
        }
        self.licenses.insert(after.id, StoredLicense(after.clone()));
    }

    fn index(&mut self, l: &License) {
        if l.status.holds_seat() {
            self.live_by_holder.insert((l.holder, l.program_id), l.id);
        }
        match l.status {
            LicenseStatus::Offered => {
                self.offer_deadlines.insert((l.offer_expires_at_ns, l.id), ());
            }
            LicenseStatus::Active | LicenseStatus::Suspended => {
                if let Some(end) = l.expires_at_ns {
                    self.term_deadlines.insert((end, l.id), ());
                }
                if l.status == LicenseStatus::Active {
                    self.activity.insert((l.last_activity_ns, l.id), ());
                    self.index_activity(l);
                }
            }
            LicenseStatus::Revoked | LicenseStatus::Expired => {}
        }
    }

    fn unindex(&mut self, l: &License) {
        // A lapsed license may still be stored as holding a seat after a new offer to its
        // holder took the (holder, program) entry: remove the entry only if it is this one's.
        if l.status.holds_seat() && self.live_by_holder.get(&(l.holder, l.program_id)) == Some(l.id) {
            self.live_by_holder.remove(&(l.holder, l.program_id));
        }
        // `index` is the only writer of these entries and keys them by the stored status, so
        // only the entries of `l`'s status can exist (a B-tree remove costs as much as an insert).
        match l.status {
            LicenseStatus::Offered => {
                self.offer_deadlines.remove(&(l.offer_expires_at_ns, l.id));
            }
            LicenseStatus::Active | LicenseStatus::Suspended => {
                if let Some(end) = l.expires_at_ns {
                    self.term_deadlines.remove(&(end, l.id));
                }
                if l.status == LicenseStatus::Active {
                    self.activity.remove(&(l.last_activity_ns, l.id));
                    self.unindex_activity(l);
                }
            }
            LicenseStatus::Revoked | LicenseStatus::Expired => {}
        }
    }
}

/// Anonymous callers may only query.
pub fn require_signed(caller: Principal) -> Result<(), LicenseError> {
    if caller == Principal::anonymous() {
        Err(LicenseError::AnonymousCaller)
    } else {
        Ok(())
    }
}

/// One page of `items` (already filtered, in order): `(page, total, next_start)`. At most
/// `limit` items (capped at MAX_PAGE), and fewer when their Candid encodings would pass
/// `MAX_PAGE_BYTES` (each item is measured alone, type table included: an overestimate). A page
/// holds at least one item when any is left, so `next_start`, when set, is always past `start`.
/// `limit = 0` asks for the count only: no items and no next page.
pub fn page_of<T: PageItem>(items: impl Iterator<Item = T>, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    let (start, limit) = request.bounds();
    let mut total = 0u64;
    let mut page = Vec::new();
    let mut bytes = 0usize;
    let mut full = limit == 0;
    for item in items {
        if total >= start && !full {
            let size = item.size_bound();
            if page.len() < limit && (page.is_empty() || bytes.saturating_add(size) <= MAX_PAGE_BYTES) {
                bytes = bytes.saturating_add(size);
                page.push(item);
            } else {
                full = true;
            }
        }
        total += 1;
    }
    let end = start.saturating_add(page.len() as u64);
    let next = if limit > 0 && end < total { Some(end) } else { None };
    (page, total, next)
}

/// One page of `items` whose number is known (`total`, from counts): as [`page_of`], but it
/// stops reading once the page is full, so a page costs its start and size, not the total.
pub fn page_counted<T: PageItem>(items: impl Iterator<Item = T>, total: u64, request: &PageRequest) -> (Vec<T>, u64, Option<u64>) {
    let (start, limit) = request.bounds();
    let mut page = Vec::new();
    let mut bytes = 0usize;
    if start < total {
        let mut items = items.skip(usize::try_from(start).unwrap_or(usize::MAX));
        while page.len() < limit {
            let Some(item) = items.next() else { break };
            let size = item.size_bound();
            if !page.is_empty() && bytes.saturating_add(size) > MAX_PAGE_BYTES {
                break;
            }
            bytes = bytes.saturating_add(size);
            page.push(item);
        }
    }
    let end = start.saturating_add(page.len() as u64);
    // An empty page never names a next one, so a pager cannot stall on a count that disagrees.
    let next = if !page.is_empty() && end < total { Some(end) } else { None };
    (page, total, next)
}

/// An item of a page, with an upper bound of the bytes it adds to the page's Candid encoding.
pub trait PageItem: CandidType + Sized + 'static {
    /// By default its exact encoding alone (header and type table included: an overestimate).
    fn size_bound(&self) -> usize {
        encoded_len(self)
    }
}

impl PageItem for Policy {}
impl PageItem for Institution {}
impl PageItem for Program {}
impl PageItem for String {}

/// A license's value encodes in at most about 220 bytes besides its texts and app ids
/// (two principals of at most 31 bytes, a third in a revocation, 13 numbers of at most 8, the
/// option and variant tags), without serialising it. Test: `size_bounds_hold`.
impl PageItem for License {
    fn size_bound(&self) -> usize {
        let texts = self.suspension_reason.as_ref().map_or(0, String::len)
            + match &self.end_reason {
                Some(EndReason::Revoked { reason, .. }) => reason.len(),
                _ => 0,
            };
        256 + texts + 9 * self.app_ids.len()
    }
}

/// An app's value: about 150 bytes (three principals, five numbers) besides its name and hash.
impl PageItem for App {
    fn size_bound(&self) -> usize {
        192 + self.name.len() + self.module_hash.as_ref().map_or(0, Vec::len)
    }
}

/// Bytes of `value`'s Candid encoding on its own.
pub fn encoded_len<T: CandidType + 'static>(value: &T) -> usize {
    common::reply::encoded_len(value)
}

#[cfg(test)]
pub mod test_support {
    use super::*;
    use crate::config;
    use ic_stable_structures::VectorMemory;
    use interfaces::license_issuer::{Entitlements, InstitutionInput, PolicyInput, ProgramInput, Sector};

    pub fn p(n: u8) -> Principal {
        Principal::from_slice(&[n; 29])
    }
    /// A canister id (10 bytes ending in 0x01), distinct per `n`.
    pub fn canister(n: u8) -> Principal {
        Principal::from_slice(&[0, 0, 0, 0, 0, 0x10, n, 0, 1, 1])
    }
    pub const AUTHORITY: u8 = 1;

    /// A fresh state with `p(AUTHORITY)` as the authority and the given cap.
    pub fn state_with_cap(cap: u32) -> LicenseState<VectorMemory> {
        fresh(|a| a.global_seat_cap = cap)
    }

    pub const MANAGER: u8 = 2;

    /// A policy (365 days, 2 apps), and one verified institution per `(sector, quota)` with one
    /// program each managed by `p(MANAGER)`; returns the program ids.
    pub fn with_programs<M: Memory>(s: &mut LicenseState<M>, programs: &[(Sector, u32)]) -> Vec<u64> {
        use crate::admin;
        let a = p(AUTHORITY);
        let policy = admin::create_policy(
            s,
            a,
            0,
            PolicyInput {
                name: "builder".into(),
                duration_days: 365,
                entitlements: Entitlements { max_apps: 2, monthly_cycles_quota: 1_000_000 },
            },
        )
        .unwrap();
        programs
            .iter()
            .enumerate()
            .map(|(i, (sector, quota))| {
                let inst = admin::create_institution(s, a, 0, InstitutionInput { name: format!("inst {i}"), sector: *sector })
                    .unwrap();
                admin::set_institution_verified(s, a, 0, inst.id, true).unwrap();
                let input = ProgramInput {
                    institution_id: inst.id,
                    name: format!("program {i}"),
                    seat_quota: *quota,
                    policy_id: policy.id,
                    managers: vec![p(MANAGER)],
                };
                admin::create_program(s, a, 0, input).unwrap().id
            })
            .collect()
    }

    /// Seats in use recomputed from the licenses themselves, per program and in all.
    pub fn recount<M: Memory>(s: &LicenseState<M>) -> (std::collections::BTreeMap<u64, u64>, u64) {
        let mut per = std::collections::BTreeMap::new();
        let mut all = 0;
        for l in s.licenses.values() {
            if l.0.status.holds_seat() {
                *per.entry(l.0.program_id).or_insert(0) += 1;
                all += 1;
            }
        }
        (per, all)
    }

    pub fn fresh(edit: impl FnOnce(&mut interfaces::license_issuer::InitArgs)) -> LicenseState<VectorMemory> {
        let m = || VectorMemory::default();
        let mut core = CoreState::init(m(), m(), m());
        let mut args = config::default_args(p(AUTHORITY));
        edit(&mut args);
        core.install(args, config::build_config, 0, p(AUTHORITY), "installed").unwrap();
        let mut s = LicenseState::init(
            core,
            Memories {
                counters: m(),
                policies: m(),
                institutions: m(),
                programs: m(),
                program_seats: m(),
                licenses: m(),
                live_by_holder: m(),
                offer_deadlines: m(),
                term_deadlines: m(),
                activity: m(),
                apps: m(),
                app_by_canister: m(),
                pending_apps: m(),
                licenses_by_program: m(),
                licenses_by_holder: m(),
                apps_by_program: m(),
                activity_program: m(),
                activity_days: m(),
                index_build: m(),
            },
        );
        s.set_index_build(crate::indexes::IndexBuild::complete());
        s
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;
    use interfaces::license_issuer::{Entitlements, LicenseTerms};

    #[test]
    fn size_bounds_hold() {
        let big = Principal::from_slice(&[0xff; 29]);
        let mut l = License {
            id: u64::MAX,
            program_id: u64::MAX,
            holder: big,
            status: LicenseStatus::Revoked,
            terms: LicenseTerms {
                policy_id: u64::MAX,
                policy_version: u32::MAX,
                duration_days: u32::MAX,
                entitlements: Entitlements { max_apps: u32::MAX, monthly_cycles_quota: u64::MAX },
            },
            offered_by: big,
            offered_at_ns: u64::MAX,
            offer_expires_at_ns: u64::MAX,
            accepted_at_ns: Some(u64::MAX),
            expires_at_ns: Some(u64::MAX),
            last_activity_ns: u64::MAX,
            suspension_reason: Some("ü".repeat(200)),
            end_reason: Some(EndReason::Revoked { by: big, reason: "ü".repeat(200) }),
            ended_at_ns: Some(u64::MAX),
            app_ids: vec![u64::MAX; 100],
            renewals: u32::MAX,
        };
        for apps in [0, 1, 100] {
            l.app_ids.truncate(apps);
            assert!(l.size_bound() >= common::reply::value_bytes(&l).len(), "{apps} apps");
        }
        let app = App {
            id: u64::MAX,
            name: "ü".repeat(80),
            canister: big,
            subnet_id: big,
            license_id: u64::MAX,
            program_id: u64::MAX,
            institution_id: u64::MAX,
            holder: big,
            registered_at_ns: u64::MAX,
            module_hash: Some(vec![0xff; 32]),
        };
        assert!(app.size_bound() >= common::reply::value_bytes(&app).len());
    }
}
