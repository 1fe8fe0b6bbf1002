//! Sums per scope and time bucket, kept in one stable map with readable string keys:
//!
//! ```text
//! T|<scope>                 all-time totals of the scope
//! H|<scope>|<start seconds> one hour
//! D|<scope>|<start seconds> one day (UTC): the sum of its hours
//! <scope> = suite | canister/<principal> | subnet/<principal> | subnet-unknown
//!         | program/<id, 20 digits> | program-none | unattributed
//! ```
//! A burn is spread over the hours and days of its period (`spread.rs`); burns recorded before
//! spreading (schema 1) stay in the hour and day of their period's end. Numbers are zero-padded
//! so keys sort by time.
//!
//! Values: schema 1 and 2 wrote CBOR (a map with field names); schema 3 writes [`StoredSums`]'s
//! compact form (a tag byte, then four LEB128 numbers), about a twentieth of the instructions to
//! read or write. Both are read, so nothing is rewritten at the upgrade; a bucket takes the
//! compact form the next time it changes.

use crate::conversion::cycles_to_micro_xdr;
use crate::ledger::Ledger;
use crate::spread::Spread;
use candid::Principal;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::{Memory, Storable};
use std::borrow::Cow;
use interfaces::burn_ledger::{Amounts, BurnRecord, Granularity, Scope, ScopeKind};
use serde::{Deserialize, Serialize};

pub const HOUR_SECONDS: u64 = 3600;
pub const DAY_SECONDS: u64 = 24 * HOUR_SECONDS;
const NS: u64 = 1_000_000_000;

/// Stored sums (XDR is derived from cycles on read).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub cycles: u128,
    pub icp_e8s: u128,
    pub unpriced_cycles: u128,
    pub reports: u64,
}

fn broken<T>() -> T {
    panic!("bucket invariant broken: removing more than was added")
}

impl Sums {
    pub fn add(&mut self, other: &Sums) {
        self.cycles = self.cycles.saturating_add(other.cycles);
        self.icp_e8s = self.icp_e8s.saturating_add(other.icp_e8s);
        self.unpriced_cycles = self.unpriced_cycles.saturating_add(other.unpriced_cycles);
        self.reports = self.reports.saturating_add(other.reports);
    }

    /// Removes `other`, which was added before (moving a burn out of `Unattributed`).
    pub fn remove(&mut self, other: &Sums) {
        self.cycles = self.cycles.checked_sub(other.cycles).unwrap_or_else(broken);
        self.icp_e8s = self.icp_e8s.checked_sub(other.icp_e8s).unwrap_or_else(broken);
        self.unpriced_cycles = self.unpriced_cycles.checked_sub(other.unpriced_cycles).unwrap_or_else(broken);
        self.reports = self.reports.checked_sub(other.reports).unwrap_or_else(broken);
    }

    pub fn amounts(&self) -> Amounts {
        Amounts {
            cycles: self.cycles,
            micro_xdr: cycles_to_micro_xdr(self.cycles),
            icp_e8s: self.icp_e8s,
            unpriced_cycles: self.unpriced_cycles,
            reports: self.reports,
        }
    }
}

/// A bucket's value as stored: [`COMPACT`] then cycles, ICP e8s, unpriced cycles and reports as
/// unsigned LEB128; or, written before schema 3, the CBOR of [`Sums`] (a CBOR map starts with a
/// byte from 0xa0, never [`COMPACT`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoredSums(pub Sums);

/// First byte of the compact form.
const COMPACT: u8 = 0x01;

fn put_leb(out: &mut Vec<u8>, mut v: u128) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take_leb(bytes: &[u8], at: &mut usize) -> u128 {
    let mut v = 0u128;
    for shift in (0..128).step_by(7) {
        let byte = *bytes.get(*at).unwrap_or_else(|| panic!("corrupt bucket in stable memory: truncated number"));
        *at += 1;
        v |= u128::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return v;
        }
    }
    panic!("corrupt bucket in stable memory: number longer than 128 bits")
}

impl Storable for StoredSums {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let s = self.0;
        let mut out = Vec::with_capacity(24);
        out.push(COMPACT);
        for v in [s.cycles, s.icp_e8s, s.unpriced_cycles, u128::from(s.reports)] {
            put_leb(&mut out, v);
        }
        out
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        if bytes.first() != Some(&COMPACT) {
            return StoredSums(common::cbor::Cbor::<Sums>::from_bytes(bytes).0);
        }
        let mut at = 1;
        let cycles = take_leb(&bytes, &mut at);
        let icp_e8s = take_leb(&bytes, &mut at);
        let unpriced_cycles = take_leb(&bytes, &mut at);
        let reports = u64::try_from(take_leb(&bytes, &mut at)).unwrap_or_else(|_| panic!("corrupt bucket in stable memory: reports"));
        StoredSums(Sums { cycles, icp_e8s, unpriced_cycles, reports })
    }

    const BOUND: Bound = Bound::Unbounded;
}

pub fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::Suite => "suite".into(),
        Scope::Canister(p) => format!("canister/{p}"),
        Scope::Subnet(p) => format!("subnet/{p}"),
        Scope::UnknownSubnet => "subnet-unknown".into(),
        Scope::Program(id) => format!("program/{id:020}"),
        Scope::NoProgram => "program-none".into(),
        Scope::Unattributed => "unattributed".into(),
        Scope::Others => "others".into(),
    }
}

/// Prefix of the totals keys of one scope family.
fn kind_prefix(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Canister => "T|canister/",
        ScopeKind::Subnet => "T|subnet/",
        ScopeKind::Program => "T|program/",
    }
}

/// Whether `scope` belongs to the family `kind` lists.
pub fn is_of_kind(scope: &Scope, kind: ScopeKind) -> bool {
    matches!(
        (scope, kind),
        (Scope::Canister(_), ScopeKind::Canister) | (Scope::Subnet(_), ScopeKind::Subnet) | (Scope::Program(_), ScopeKind::Program)
    )
}

fn parse_scope(kind: ScopeKind, rest: &str) -> Option<Scope> {
    match kind {
        ScopeKind::Canister => Principal::from_text(rest).ok().map(Scope::Canister),
        ScopeKind::Subnet => Principal::from_text(rest).ok().map(Scope::Subnet),
        ScopeKind::Program => rest.parse().ok().map(Scope::Program),
    }
}

fn totals_key(scope: &Scope) -> String {
    format!("T|{}", scope_key(scope))
}

fn tag(g: Granularity) -> char {
    match g {
        Granularity::Hour => 'H',
        Granularity::Day => 'D',
    }
}

fn bucket_prefix(scope: &Scope, g: Granularity) -> String {
    format!("{}|{}|", tag(g), scope_key(scope))
}

/// Key of a compact hourly or daily bucket (schema 3): the scope in 31 bytes (a kind byte, then
/// a principal's length and bytes, or 8 and a program id big-endian, zero-padded), then the
/// start in seconds big-endian, so a scope's buckets sort by time. Fixed-size keys make a
/// lookup several times cheaper than the text keys.
pub type CompactKey = [u8; 39];

fn scope_id(scope: &Scope) -> [u8; 31] {
    let mut id = [0u8; 31];
    let mut put = |kind: u8, bytes: &[u8]| {
        id[0] = kind;
        id[1] = bytes.len() as u8;
        id[2..2 + bytes.len()].copy_from_slice(bytes);
    };
    match scope {
        Scope::Suite => put(0, &[]),
        Scope::Canister(p) => put(1, p.as_slice()),
        Scope::Subnet(p) => put(2, p.as_slice()),
        Scope::UnknownSubnet => put(3, &[]),
        Scope::Program(n) => put(4, &n.to_be_bytes()),
        Scope::NoProgram => put(5, &[]),
        Scope::Unattributed => put(6, &[]),
        Scope::Others => put(7, &[]),
    }
    id
}

fn compact_key(id: &[u8; 31], start_s: u64) -> CompactKey {
    let mut key = [0u8; 39];
    key[..31].copy_from_slice(id);
    key[31..].copy_from_slice(&start_s.to_be_bytes());
    key
}

fn start_of(key: &CompactKey) -> u64 {
    u64::from_be_bytes(key[31..].try_into().expect("8 bytes"))
}

/// Whether a change adds or removes a burn's parts.
#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

fn apply(sums: &mut Sums, change: Change, part: &Sums) {
    match change {
        Change::Add => sums.add(part),
        Change::Remove => sums.remove(part),
    }
}

impl<M: Memory> Ledger<M> {
    /// Hourly and daily buckets starting at or after this (seconds, a UTC day boundary or 0)
    /// live in the compact maps; earlier ones in `buckets` under text keys, as schemas 1 and 2
    /// wrote them. Every bucket thus has one place, fixed by its start; nothing is moved.
    pub fn compact_from_s(&self) -> u64 {
        self.settings().compact_buckets_from_s.unwrap_or(u64::MAX)
    }

    /// Reads the text-keyed bucket `key`, applies `change` with `part`, writes it back
    /// (removed when empty).
    fn change(&mut self, key: String, change: Change, part: &Sums) {
        let mut sums = self.buckets.get(&key).map(|c| c.0).unwrap_or_default();
        apply(&mut sums, change, part);
        if sums == Sums::default() {
            self.buckets.remove(&key);
        } else {
            self.buckets.insert(key, StoredSums(sums));
        }
    }

    /// The same for a compact hourly or daily bucket.
    fn change_compact(&mut self, g: Granularity, key: CompactKey, change: Change, part: &Sums) {
        let map = match g {
            Granularity::Hour => &mut self.hours,
            Granularity::Day => &mut self.days,
        };
        let mut sums = map.get(&key).map(|c| c.0).unwrap_or_default();
        apply(&mut sums, change, part);
        if sums == Sums::default() {
            map.remove(&key);
        } else {
            map.insert(key, StoredSums(sums));
        }
    }

    /// Applies a burn's `spread` to the totals, hours and days of `scope`. The scope's part of
    /// the keys is built once, not once per bucket.
    fn change_scope(&mut self, scope: &Scope, spread: &Spread, change: Change) {
        let cutoff = self.compact_from_s();
        let name = scope_key(scope);
        let id = scope_id(scope);
        self.change(format!("T|{name}"), change, &spread.total);
        for (g, parts) in [(Granularity::Hour, &spread.hours), (Granularity::Day, &spread.days)] {
            for (start_s, sums) in parts {
                if *start_s >= cutoff {
                    self.change_compact(g, compact_key(&id, *start_s), change, sums);
                } else {
                    self.change(format!("{}|{name}|{start_s:012}", tag(g)), change, sums);
                }
            }
        }
    }

    /// Adds a burn's `spread` to the totals, hours and days of `scope`.
    pub fn add_to_scope(&mut self, scope: &Scope, spread: &Spread) {
        self.change_scope(scope, spread, Change::Add);
    }

    /// Removes a burn's `spread` (added earlier) from `scope`.
    pub fn remove_from_scope(&mut self, scope: &Scope, spread: &Spread) {
        self.change_scope(scope, spread, Change::Remove);
    }

    /// What one burn adds to each of its scopes: spread over its period, or, for a burn
    /// recorded before spreading, all at its period's end (so moving it stays exact).
    pub fn spread_of(&self, burn: &BurnRecord) -> Spread {
        let cycles = burn.report.cycles_consumed;
        let total = Sums { cycles, icp_e8s: burn.icp_e8s, unpriced_cycles: if burn.rate.is_some() { 0 } else { cycles }, reports: 1 };
        let (start, end) = (burn.report.period_start_ns, burn.report.period_end_ns);
        match self.settings().spread_from_burn_id {
            Some(first) if burn.burn_id >= first => Spread::over(total, start, end),
            _ => Spread::at_end(total, end),
        }
    }

    pub fn totals(&self, scope: &Scope) -> Sums {
        self.buckets.get(&totals_key(scope)).map(|c| c.0).unwrap_or_default()
    }

    /// Totals of the scopes of one family, in key order, starting after `after` if given.
    pub fn list_totals(&self, kind: ScopeKind, after: Option<&Scope>, limit: usize) -> Vec<(Scope, Sums)> {
        let prefix = kind_prefix(kind);
        let start = match after {
            Some(scope) => format!("{}\u{0}", totals_key(scope)),
            None => prefix.to_string(),
        };
        self.buckets
            .range(start..)
            .take_while(|e| e.key().starts_with(prefix))
            .filter_map(|e| {
                let (key, sums) = e.into_pair();
                parse_scope(kind, &key[prefix.len()..]).map(|scope| (scope, sums.0))
            })
            .take(limit)
            .collect()
    }

    /// Buckets of `scope` whose start (ns) lies in `[from_ns, to_ns)`, oldest first: those before
    /// [`Ledger::compact_from_s`] from the text-keyed map, the rest from the compact one.
    pub fn series(&self, scope: &Scope, g: Granularity, from_ns: u64, to_ns: u64, limit: usize) -> Vec<(u64, Sums)> {
        let cutoff_ns = self.compact_from_s().saturating_mul(NS);
        let mut out = if from_ns < cutoff_ns { self.text_series(scope, g, from_ns, to_ns.min(cutoff_ns), limit) } else { Vec::new() };
        if out.len() < limit && to_ns > cutoff_ns {
            let from_s = from_ns.max(cutoff_ns).div_ceil(NS);
            let map = match g {
                Granularity::Hour => &self.hours,
                Granularity::Day => &self.days,
            };
            let id = scope_id(scope);
            let rest = map
                .range(compact_key(&id, from_s)..)
                .take_while(|e| e.key()[..31] == id)
                .map(|e| {
                    let (key, sums) = e.into_pair();
                    (start_of(&key).saturating_mul(NS), sums.0)
                })
                .take_while(|(start_ns, _)| *start_ns < to_ns)
                .take(limit - out.len());
            out.extend(rest);
        }
        out
    }

    fn text_series(&self, scope: &Scope, g: Granularity, from_ns: u64, to_ns: u64, limit: usize) -> Vec<(u64, Sums)> {
        let prefix = bucket_prefix(scope, g);
        let from_s = from_ns.div_ceil(NS);
        self.buckets
            .range(format!("{prefix}{from_s:012}")..)
            .take_while(|e| e.key().starts_with(&prefix))
            .filter_map(|e| {
                let (key, sums) = e.into_pair();
                let start_s: u64 = key[prefix.len()..].parse().ok()?;
                Some((start_s.saturating_mul(NS), sums.0))
            })
            .take_while(|(start_ns, _)| *start_ns < to_ns)
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::test_support::*;

    const H: u64 = 3_600_000_000_000;

    fn sums(cycles: u128) -> Sums {
        Sums { cycles, icp_e8s: cycles / 10, unpriced_cycles: 0, reports: 1 }
    }

    /// `sums` spread over the hour (or hours) of `[start, end)`.
    fn over(cycles: u128, start: u64, end: u64) -> Spread {
        Spread::over(sums(cycles), start, end)
    }

    #[test]
    fn adds_and_moves_keep_totals_and_series_consistent() {
        let (mut l, _) = installed();
        l.add_to_scope(&Scope::Suite, &over(100, 0, H / 2));
        l.add_to_scope(&Scope::Suite, &over(50, H, 3 * H / 2));
        l.add_to_scope(&Scope::Unattributed, &over(50, H, 3 * H / 2));
        assert_eq!(l.totals(&Scope::Suite).cycles, 150);
        let hours = l.series(&Scope::Suite, Granularity::Hour, 0, 10 * H, 10);
        assert_eq!(hours.iter().map(|(t, s)| (*t, s.cycles)).collect::<Vec<_>>(), vec![(0, 100), (H, 50)]);
        assert_eq!(l.series(&Scope::Suite, Granularity::Hour, 1, 10 * H, 10).len(), 1, "from is inclusive of bucket starts");
        assert_eq!(l.series(&Scope::Suite, Granularity::Day, 0, 10 * H, 10)[0].1.cycles, 150);
        l.remove_from_scope(&Scope::Unattributed, &over(50, H, 3 * H / 2));
        l.add_to_scope(&Scope::Subnet(p(7)), &over(50, H, 3 * H / 2));
        assert_eq!(l.totals(&Scope::Unattributed), Sums::default());
        assert!(l.buckets.iter().all(|e| !e.key().contains("unattributed")), "empty buckets are removed");
        let unattributed = scope_id(&Scope::Unattributed);
        assert!(l.hours.iter().chain(l.days.iter()).all(|e| e.key()[..31] != unattributed), "empty buckets are removed");
        assert_eq!(l.list_totals(ScopeKind::Subnet, None, 10), vec![(Scope::Subnet(p(7)), sums(50))]);
    }

    #[test]
    fn a_long_burn_fills_every_hour_and_day_of_its_period() {
        let (mut l, _) = installed();
        // Two days from 12:00, 4,800 cycles: 100 an hour, 1,200 / 2,400 / 1,200 per day.
        l.add_to_scope(&Scope::Suite, &over(4_800, 12 * H, 60 * H));
        let hours = l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, 100);
        assert_eq!(hours.len(), 48);
        assert!(hours.iter().all(|(_, s)| s.cycles == 100));
        assert_eq!(hours.iter().map(|(_, s)| s.reports).sum::<u64>(), 1, "the report counts once");
        let days = l.series(&Scope::Suite, Granularity::Day, 0, u64::MAX, 100);
        assert_eq!(days.iter().map(|(_, s)| s.cycles).collect::<Vec<_>>(), vec![1_200, 2_400, 1_200]);
        l.remove_from_scope(&Scope::Suite, &over(4_800, 12 * H, 60 * H));
        assert!(l.buckets.is_empty() && l.hours.is_empty() && l.days.is_empty());
    }

    #[test]
    fn listing_pages_through_one_family_only() {
        let (mut l, _) = installed();
        for id in [3u64, 1, 2] {
            l.add_to_scope(&Scope::Program(id), &over(id as u128, 0, H));
        }
        l.add_to_scope(&Scope::NoProgram, &over(9, 0, H));
        let first = l.list_totals(ScopeKind::Program, None, 2);
        assert_eq!(first.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![Scope::Program(1), Scope::Program(2)]);
        let rest = l.list_totals(ScopeKind::Program, Some(&Scope::Program(2)), 10);
        assert_eq!(rest.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![Scope::Program(3)]);
    }

    #[test]
    fn stored_sums_are_compact_and_old_cbor_values_still_read() {
        let big = Sums { cycles: u128::MAX, icp_e8s: 1 << 100, unpriced_cycles: 0, reports: u64::MAX };
        for s in [Sums::default(), sums(1), sums(2_000_000_000_123), big] {
            let bytes = StoredSums(s).into_bytes();
            assert_eq!(bytes[0], COMPACT);
            assert_eq!(StoredSums::from_bytes(Cow::Owned(bytes)).0, s);
            // Written by schema 1 or 2: CBOR.
            let old = common::cbor::Cbor(s).into_bytes();
            assert_ne!(old[0], COMPACT);
            assert_eq!(StoredSums::from_bytes(Cow::Owned(old)).0, s);
        }
        assert!(StoredSums(sums(2_000_000_000_123)).into_bytes().len() < 20);
    }

    /// Buckets written as CBOR by schema 2 under text keys are read, added to and removed from
    /// exactly after the upgrade to schema 3 (taking the compact value form when they change);
    /// buckets from the first day after the upgrade go to the compact maps; series and totals
    /// read across both.
    #[test]
    fn schema_2_buckets_stay_readable_and_new_days_go_compact() {
        const DAY: u64 = 24 * H;
        let (mut l, mems) = installed_schema_1();
        l.adopt_schema_2();
        drop(l);
        let hour = format!("H|{}|{:012}", scope_key(&Scope::Suite), 0);
        {
            let mut old: ic_stable_structures::StableBTreeMap<String, common::cbor::Cbor<Sums>, _> =
                ic_stable_structures::StableBTreeMap::init(mems.memory(crate::ledger::ids::BUCKETS));
            old.insert(format!("T|{}", scope_key(&Scope::Suite)), common::cbor::Cbor(sums(40)));
            old.insert(hour.clone(), common::cbor::Cbor(sums(40)));
            old.insert(format!("D|{}|{:012}", scope_key(&Scope::Suite), 0), common::cbor::Cbor(sums(40)));
        }
        let mut l = mems.open(); // the upgrade, at 20:00 on day 0
        l.adopt_schema_3(20 * H);
        l.adopt_schema_3(30 * H); // idempotent
        assert_eq!(l.compact_from_s(), DAY / 1_000_000_000, "from the next day on");
        assert_eq!(l.totals(&Scope::Suite), sums(40));
        l.add_to_scope(&Scope::Suite, &over(2, 0, H));
        let both = Sums { cycles: 42, icp_e8s: 4, unpriced_cycles: 0, reports: 2 };
        assert_eq!(l.totals(&Scope::Suite), both);
        assert_eq!(l.series(&Scope::Suite, Granularity::Hour, 0, H, 10), vec![(0, both)]);
        let raw: ic_stable_structures::StableBTreeMap<String, Vec<u8>, _> = ic_stable_structures::StableBTreeMap::init(mems.memory(crate::ledger::ids::BUCKETS));
        assert_eq!(raw.get(&hour).unwrap()[0], COMPACT);
        assert!(l.hours.is_empty(), "day 0 stays in the text-keyed map");
        // A burn over 22:00 of day 0 to 02:00 of day 1: two hours in each map, days in each.
        l.add_to_scope(&Scope::Suite, &over(400, DAY - 2 * H, DAY + 2 * H));
        assert_eq!(l.hours.len(), 2);
        assert_eq!(l.days.len(), 1);
        let hours = l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, 100);
        assert_eq!(hours.iter().map(|(t, s)| (t / H, s.cycles)).collect::<Vec<_>>(), vec![(0, 42), (22, 100), (23, 100), (24, 100), (25, 100)]);
        assert_eq!(l.series(&Scope::Suite, Granularity::Hour, 23 * H, u64::MAX, 2).len(), 2, "a page spans both maps");
        let days = l.series(&Scope::Suite, Granularity::Day, 0, u64::MAX, 100);
        assert_eq!(days.iter().map(|(t, s)| (t / DAY, s.cycles)).collect::<Vec<_>>(), vec![(0, 242), (1, 200)]);
        assert_eq!(l.totals(&Scope::Suite).cycles, 442);
        l.remove_from_scope(&Scope::Suite, &over(400, DAY - 2 * H, DAY + 2 * H));
        l.remove_from_scope(&Scope::Suite, &over(2, 0, H));
        assert_eq!(l.totals(&Scope::Suite), sums(40));
        assert_eq!(l.series(&Scope::Suite, Granularity::Hour, 0, u64::MAX, 10), vec![(0, sums(40))]);
        assert!(l.hours.is_empty() && l.days.is_empty());
    }

    #[test]
    fn a_fresh_ledger_keeps_every_bucket_compact() {
        let (mut l, _) = installed_schema_1();
        l.adopt_schema_2();
        l.adopt_schema_3(500 * H);
        assert_eq!(l.compact_from_s(), 0);
        l.add_to_scope(&Scope::Canister(p(3)), &over(10, 0, 2 * H));
        assert_eq!((l.hours.len(), l.days.len()), (2, 1));
        assert_eq!(l.buckets.len(), 1, "only the totals");
        assert_eq!(l.series(&Scope::Canister(p(3)), Granularity::Hour, 0, u64::MAX, 10).len(), 2);
        assert!(l.series(&Scope::Canister(p(4)), Granularity::Hour, 0, u64::MAX, 10).is_empty(), "scopes do not bleed into each other");
    }

    #[test]
    #[should_panic(expected = "invariant")]
    fn removing_more_than_added_is_a_broken_invariant() {
        let (mut l, _) = installed();
        l.remove_from_scope(&Scope::Suite, &over(1, 0, H));
    }
}
