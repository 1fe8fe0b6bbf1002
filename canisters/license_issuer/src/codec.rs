//! A compact binary encoding of stored licenses (schema 3).
//!
//! Licenses are the records every list page and every license update reads: as CBOR with field
//! names a decode took about 54K instructions (a page of 50: 2.7M of its 4.3M). This layout
//! is fixed-width numbers in field order, so a decode is a few thousand. It starts with the tag
//! byte 0xFF, which no CBOR value starts with (it is CBOR's "break" code), then a version
//! byte; records stored as CBOR by schemas 1 and 2 still decode as they are (nothing is
//! rewritten), and every license written from schema 3 on is compact. Seat counts and the
//! counters cell, read and written by every offer and acceptance, are compact the same way.

use candid::Principal;
use ic_stable_structures::storable::Bound;
use ic_stable_structures::Storable;
use crate::state::Counters;
use interfaces::license_issuer::{EndReason, Entitlements, License, LicenseStatus, LicenseTerms, SeatCounts};
use std::borrow::Cow;

const TAG: u8 = 0xFF;
const VERSION: u8 = 1;

/// A license as stored: compact when written by schema 3, CBOR when written before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLicense(pub License);

impl Storable for StoredLicense {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode(&self.0))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode(&self.0)
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        if bytes.first() == Some(&TAG) {
            // A record that no longer decodes is a broken invariant: trap, as `Cbor` does.
            StoredLicense(decode(&bytes).unwrap_or_else(|e| panic!("corrupt license record in stable memory: {e}")))
        } else {
            StoredLicense(common::cbor::Cbor::<License>::from_bytes(bytes).0)
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

fn status_code(s: LicenseStatus) -> u8 {
    match s {
        LicenseStatus::Offered => 0,
        LicenseStatus::Active => 1,
        LicenseStatus::Suspended => 2,
        LicenseStatus::Revoked => 3,
        LicenseStatus::Expired => 4,
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn principal(&mut self, p: &Principal) {
        self.bytes(p.as_slice());
    }
}

pub fn encode(l: &License) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(160 + 8 * l.app_ids.len()));
    w.u8(TAG);
    w.u8(VERSION);
    w.u64(l.id);
    w.u64(l.program_id);
    w.principal(&l.holder);
    w.u8(status_code(l.status));
    w.u64(l.terms.policy_id);
    w.u32(l.terms.policy_version);
    w.u32(l.terms.duration_days);
    w.u32(l.terms.entitlements.max_apps);
    w.u64(l.terms.entitlements.monthly_cycles_quota);
    w.principal(&l.offered_by);
    w.u64(l.offered_at_ns);
    w.u64(l.offer_expires_at_ns);
    w.opt_u64(l.accepted_at_ns);
    w.opt_u64(l.expires_at_ns);
    w.u64(l.last_activity_ns);
    match &l.suspension_reason {
        Some(r) => {
            w.u8(1);
            w.bytes(r.as_bytes());
        }
        None => w.u8(0),
    }
    match &l.end_reason {
        None => w.u8(0),
        Some(EndReason::Revoked { by, reason }) => {
            w.u8(1);
            w.principal(by);
            w.bytes(reason.as_bytes());
        }
        Some(EndReason::IdleReclaimed { last_activity_ns, idle_days }) => {
            w.u8(2);
            w.u64(*last_activity_ns);
            w.u32(*idle_days);
        }
        Some(EndReason::OfferExpired) => w.u8(3),
        Some(EndReason::TermEnded) => w.u8(4),
    }
    w.opt_u64(l.ended_at_ns);
    w.u32(l.app_ids.len() as u32);
    for id in &l.app_ids {
        w.u64(*id);
    }
    w.u32(l.renewals);
    w.0
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or("record ends early")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn flag(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("bad option flag {b}")),
        }
    }
    fn opt_u64(&mut self) -> Result<Option<u64>, String> {
        Ok(if self.flag()? { Some(self.u64()?) } else { None })
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn text(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|e| e.to_string())
    }
    fn principal(&mut self) -> Result<Principal, String> {
        Principal::try_from_slice(self.bytes()?).map_err(|e| e.to_string())
    }
}

pub fn decode(bytes: &[u8]) -> Result<License, String> {
    let mut r = Reader { bytes, at: 0 };
    if r.u8()? != TAG {
        return Err("not a compact license".into());
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(format!("unknown license encoding version {version}"));
    }
    let id = r.u64()?;
    let program_id = r.u64()?;
    let holder = r.principal()?;
    let status = match r.u8()? {
        0 => LicenseStatus::Offered,
        1 => LicenseStatus::Active,
        2 => LicenseStatus::Suspended,
        3 => LicenseStatus::Revoked,
        4 => LicenseStatus::Expired,
        s => return Err(format!("bad status {s}")),
    };
    let terms = LicenseTerms {
        policy_id: r.u64()?,
        policy_version: r.u32()?,
        duration_days: r.u32()?,
        entitlements: Entitlements { max_apps: r.u32()?, monthly_cycles_quota: r.u64()? },
    };
    let offered_by = r.principal()?;
    let offered_at_ns = r.u64()?;
    let offer_expires_at_ns = r.u64()?;
    let accepted_at_ns = r.opt_u64()?;
    let expires_at_ns = r.opt_u64()?;
    let last_activity_ns = r.u64()?;
    let suspension_reason = if r.flag()? { Some(r.text()?) } else { None };
    let end_reason = match r.u8()? {
        0 => None,
        1 => Some(EndReason::Revoked { by: r.principal()?, reason: r.text()? }),
        2 => Some(EndReason::IdleReclaimed { last_activity_ns: r.u64()?, idle_days: r.u32()? }),
        3 => Some(EndReason::OfferExpired),
        4 => Some(EndReason::TermEnded),
        e => return Err(format!("bad end reason {e}")),
    };
    let ended_at_ns = r.opt_u64()?;
    let n = r.u32()? as usize;
    if n > (bytes.len() - r.at) / 8 {
        return Err("app ids past the record".into());
    }
    let app_ids = (0..n).map(|_| r.u64()).collect::<Result<Vec<u64>, String>>()?;
    let renewals = r.u32()?;
    if r.at != bytes.len() {
        return Err("trailing bytes".into());
    }
    Ok(License {
        id,
        program_id,
        holder,
        status,
        terms,
        offered_by,
        offered_at_ns,
        offer_expires_at_ns,
        accepted_at_ns,
        expires_at_ns,
        last_activity_ns,
        suspension_reason,
        end_reason,
        ended_at_ns,
        app_ids,
        renewals,
    })
}

/// Seat counts as stored (per program, and inside the counters cell): 10 numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSeats(pub SeatCounts);

fn seats_fields(s: &SeatCounts) -> [u64; 10] {
    [s.offered, s.active, s.suspended, s.revoked, s.expired, s.in_use, s.offers_made, s.offers_accepted, s.idle_reclaimed, s.apps]
}

fn seats_from(f: &[u64]) -> SeatCounts {
    SeatCounts {
        offered: f[0],
        active: f[1],
        suspended: f[2],
        revoked: f[3],
        expired: f[4],
        in_use: f[5],
        offers_made: f[6],
        offers_accepted: f[7],
        idle_reclaimed: f[8],
        apps: f[9],
    }
}

/// `[TAG, VERSION]` and the numbers, little-endian.
fn encode_numbers(numbers: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 8 * numbers.len());
    out.extend_from_slice(&[TAG, VERSION]);
    numbers.iter().for_each(|n| out.extend_from_slice(&n.to_le_bytes()));
    out
}

/// The numbers of a compact record of exactly `n` numbers, or `None` if it is CBOR.
fn decode_numbers(bytes: &[u8], n: usize, what: &str) -> Option<Vec<u64>> {
    if bytes.first() != Some(&TAG) {
        return None;
    }
    assert!(bytes.len() == 2 + 8 * n && bytes[1] == VERSION, "corrupt {what} record in stable memory");
    Some(bytes[2..].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

impl Storable for StoredSeats {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode_numbers(&seats_fields(&self.0)))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode_numbers(&seats_fields(&self.0))
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        match decode_numbers(&bytes, 10, "seat counts") {
            Some(f) => StoredSeats(seats_from(&f)),
            None => StoredSeats(common::cbor::Cbor::<SeatCounts>::from_bytes(bytes).0),
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

/// The id counters and global totals as stored: 15 numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCounters(pub Counters);

fn counters_fields(c: &Counters) -> Vec<u64> {
    let mut f = vec![c.next_policy_id, c.next_institution_id, c.next_program_id, c.next_license_id, c.next_app_id];
    f.extend_from_slice(&seats_fields(&c.totals));
    f
}

impl Storable for StoredCounters {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode_numbers(&counters_fields(&self.0)))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode_numbers(&counters_fields(&self.0))
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        match decode_numbers(&bytes, 15, "counters") {
            Some(f) => StoredCounters(Counters {
                next_policy_id: f[0],
                next_institution_id: f[1],
                next_program_id: f[2],
                next_license_id: f[3],
                next_app_id: f[4],
                totals: seats_from(&f[5..]),
            }),
            None => StoredCounters(common::cbor::Cbor::<Counters>::from_bytes(bytes).0),
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::cbor::Cbor;
    use proptest::prelude::*;

    fn principal() -> impl Strategy<Value = Principal> {
        proptest::collection::vec(any::<u8>(), 0..=29).prop_map(|b| Principal::from_slice(&b))
    }

    fn license() -> impl Strategy<Value = License> {
        let status = prop_oneof![
            Just(LicenseStatus::Offered),
            Just(LicenseStatus::Active),
            Just(LicenseStatus::Suspended),
            Just(LicenseStatus::Revoked),
            Just(LicenseStatus::Expired)
        ];
        let end = prop_oneof![
            Just(None),
            (principal(), ".{0,20}").prop_map(|(by, reason)| Some(EndReason::Revoked { by, reason })),
            (any::<u64>(), any::<u32>()).prop_map(|(l, d)| Some(EndReason::IdleReclaimed { last_activity_ns: l, idle_days: d })),
            Just(Some(EndReason::OfferExpired)),
            Just(Some(EndReason::TermEnded)),
        ];
        (
            (any::<u64>(), any::<u64>(), principal(), status, any::<(u64, u32, u32, u32, u64)>(), principal()),
            (any::<(u64, u64, Option<u64>, Option<u64>, u64)>(), proptest::option::of(".{0,20}"), end, any::<Option<u64>>()),
            (proptest::collection::vec(any::<u64>(), 0..5), any::<u32>()),
        )
            .prop_map(|((id, program_id, holder, status, t, offered_by), (times, suspension_reason, end_reason, ended_at_ns), (app_ids, renewals))| License {
                id,
                program_id,
                holder,
                status,
                terms: LicenseTerms {
                    policy_id: t.0,
                    policy_version: t.1,
                    duration_days: t.2,
                    entitlements: Entitlements { max_apps: t.3, monthly_cycles_quota: t.4 },
                },
                offered_by,
                offered_at_ns: times.0,
                offer_expires_at_ns: times.1,
                accepted_at_ns: times.2,
                expires_at_ns: times.3,
                last_activity_ns: times.4,
                suspension_reason,
                end_reason,
                ended_at_ns,
                app_ids,
                renewals,
            })
    }

    proptest! {
        #[test]
        fn compact_records_round_trip_and_older_cbor_records_still_read(l in license()) {
            let stored = StoredLicense(l.clone());
            prop_assert_eq!(StoredLicense::from_bytes(stored.to_bytes()), stored.clone());
            prop_assert_eq!(StoredLicense::from_bytes(Cow::Owned(stored.into_bytes())).0, l.clone());
            // What schemas 1 and 2 stored.
            let cbor = Cbor(l.clone()).into_bytes();
            prop_assert_ne!(cbor[0], TAG);
            prop_assert_eq!(StoredLicense::from_bytes(Cow::Owned(cbor)).0, l);
        }
    }

    proptest! {
        #[test]
        fn counts_round_trip_and_older_cbor_counts_still_read(n in proptest::collection::vec(any::<u64>(), 15)) {
            let seats = seats_from(&n[5..]);
            let c = Counters { next_policy_id: n[0], next_institution_id: n[1], next_program_id: n[2], next_license_id: n[3], next_app_id: n[4], totals: seats.clone() };
            let s = StoredSeats(seats.clone());
            prop_assert_eq!(StoredSeats::from_bytes(s.to_bytes()), s);
            prop_assert_eq!(StoredSeats::from_bytes(Cow::Owned(Cbor(seats.clone()).into_bytes())).0, seats);
            let sc = StoredCounters(c.clone());
            prop_assert_eq!(StoredCounters::from_bytes(sc.to_bytes()), sc);
            prop_assert_eq!(StoredCounters::from_bytes(Cow::Owned(Cbor(c.clone()).into_bytes())).0, c);
        }
    }

    #[test]
    fn truncated_or_unknown_records_are_errors() {
        let l = License {
            id: 1,
            program_id: 2,
            holder: Principal::from_slice(&[1; 29]),
            status: LicenseStatus::Active,
            terms: LicenseTerms { policy_id: 1, policy_version: 1, duration_days: 1, entitlements: Entitlements { max_apps: 1, monthly_cycles_quota: 0 } },
            offered_by: Principal::from_slice(&[2; 29]),
            offered_at_ns: 0,
            offer_expires_at_ns: 0,
            accepted_at_ns: None,
            expires_at_ns: None,
            last_activity_ns: 0,
            suspension_reason: None,
            end_reason: None,
            ended_at_ns: None,
            app_ids: vec![7],
            renewals: 0,
        };
        let bytes = encode(&l);
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "{n} bytes");
        }
        let mut v2 = bytes.clone();
        v2[1] = 2;
        assert!(decode(&v2).is_err());
        assert_eq!(decode(&bytes).unwrap(), l);
    }
}
