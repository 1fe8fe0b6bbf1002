//! Reply bounds: every list reply stops at its count limit and before its Candid encoding would
//! pass [`MAX_REPLY_BYTES`], far under the IC's 2 MiB reply limit. Each item type has a known
//! largest encoding ([`MaxEncoded`], checked by a test against the largest possible item), so a
//! page whose count limit already keeps it under the byte bound is not measured item by item
//! (encoding every item twice cost more than reading it). Otherwise the first item is always
//! taken (any single item is a few hundred bytes), so a page with `limit` > 0 always advances.

use candid::CandidType;
use interfaces::burn_ledger::{Bucket, BurnRecord, ScopeTotals, SequenceGap};

/// Largest reply a list query builds (the IC allows 2 MiB).
pub const MAX_REPLY_BYTES: usize = 1_000_000;

/// An item type whose Candid encoding (as [`encoded_size`] counts it, with its own header and
/// type table) never exceeds `MAX_ENCODED` bytes.
pub trait MaxEncoded: CandidType {
    const MAX_ENCODED: usize;
}

impl MaxEncoded for BurnRecord {
    const MAX_ENCODED: usize = 1_000;
}
impl MaxEncoded for ScopeTotals {
    const MAX_ENCODED: usize = 300;
}
impl MaxEncoded for Bucket {
    const MAX_ENCODED: usize = 300;
}
impl MaxEncoded for SequenceGap {
    const MAX_ENCODED: usize = 300;
}

/// Bytes `item` takes in a reply, over-estimated by its own Candid header and type table.
pub fn encoded_size<T: CandidType>(item: &T) -> usize {
    candid::encode_one(item).map_or(usize::MAX, |bytes| bytes.len())
}

/// The first `limit` items of `items` whose encodings fit in `max_bytes` together (at least one
/// when `limit` > 0 and any is left). Items are measured only when `limit` items of the largest
/// size could pass `max_bytes`.
pub fn bounded<T: MaxEncoded>(items: impl IntoIterator<Item = T>, limit: usize, max_bytes: usize) -> Vec<T> {
    if limit.saturating_mul(T::MAX_ENCODED) <= max_bytes {
        return items.into_iter().take(limit).collect();
    }
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for item in items.into_iter().take(limit) {
        let size = encoded_size(&item);
        if !out.is_empty() && bytes.saturating_add(size) > max_bytes {
            break;
        }
        bytes = bytes.saturating_add(size);
        out.push(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candid::Principal;
    use interfaces::audit::MAX_PAGE;
    use interfaces::burn_ledger::*;
    use interfaces::license_issuer::{AppOwner, Sector};

    /// The longest principal (29 bytes) and every number at its largest: no real item is bigger.
    fn worst_principal() -> Principal {
        Principal::from_slice(&[0xff; 29])
    }

    fn worst_amounts() -> Amounts {
        Amounts { cycles: u128::MAX, micro_xdr: u128::MAX, icp_e8s: u128::MAX, unpriced_cycles: u128::MAX, reports: u64::MAX }
    }

    fn worst_burn() -> BurnRecord {
        let p = worst_principal();
        BurnRecord {
            burn_id: u64::MAX,
            reporter: p,
            report: UsageReport {
                sequence: u64::MAX,
                period_start_ns: u64::MAX,
                period_end_ns: u64::MAX,
                cycles_consumed: u128::MAX,
                instructions: Some(u64::MAX),
                bytes_stored: Some(u64::MAX),
                messages_handled: Some(u64::MAX),
            },
            recorded_at_ns: u64::MAX,
            rate: Some(ConversionRate { xdr_permyriad_per_icp: u64::MAX, timestamp_seconds: u64::MAX }),
            icp_e8s: u128::MAX,
            attribution: Some(Attribution {
                subnet_id: Some(p),
                owner: Some(AppOwner {
                    canister: p,
                    app_id: u64::MAX,
                    license_id: u64::MAX,
                    program_id: u64::MAX,
                    institution_id: u64::MAX,
                    sector: Sector::Education,
                    holder: p,
                    subnet_id: p,
                }),
                attributed_at_ns: u64::MAX,
            }),
            attribution_attempts: u32::MAX,
        }
    }

    /// Every list reply at its worst case (a full page of the largest possible items) stays
    /// under the byte bound, so the count bound is the one that binds and no page ever nears
    /// the IC's 2 MiB; the checkpoint (two full lists and the meter) too.
    #[test]
    fn full_pages_of_the_largest_items_stay_far_under_two_mib() {
        let full = MAX_PAGE as usize;
        let p = worst_principal();
        let burns = vec![worst_burn(); full];
        let page = BurnPage { burns: bounded(burns, full, MAX_REPLY_BYTES), total: u64::MAX };
        assert_eq!(page.burns.len(), full);
        let size = candid::encode_one(&page).unwrap().len();
        assert!(size < MAX_REPLY_BYTES / 2, "{size}");
        let gap = SequenceGap { reporter: p, first: u64::MAX, last: u64::MAX, after_period_end_ns: u64::MAX, before_period_start_ns: u64::MAX, detected_at_ns: u64::MAX };
        let totals = ScopeTotals { scope: Scope::Canister(p), amounts: worst_amounts() };
        let bucket = Bucket { start_ns: u64::MAX, amounts: worst_amounts() };
        assert!(candid::encode_one(vec![gap; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        assert!(candid::encode_one(vec![totals; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        assert!(candid::encode_one(vec![bucket; full]).unwrap().len() < MAX_REPLY_BYTES / 4);
        let line = CheckpointLine { scope: Scope::Program(u64::MAX), amounts: worst_amounts(), share_of_suite_bps: u128::MAX };
        let rate = BurnRate {
            window_seconds: u64::MAX,
            cycles_in_window: u128::MAX,
            cycles_per_second: u128::MAX,
            micro_xdr_per_second: u128::MAX,
            network_target_milli_xdr_per_second: u64::MAX,
            share_of_target_bps: u128::MAX,
        };
        let meter = Mission70Meter {
            burn_rate: rate,
            rate: Some(ConversionRate { xdr_permyriad_per_icp: u64::MAX, timestamp_seconds: u64::MAX }),
            model: IssuanceModel { annual_gross_minting_bps: u32::MAX, target_net_inflation_bps: u32::MAX, total_supply_e8s: u128::MAX },
            icp_e8s_burned_per_year: Some(u128::MAX),
            burn_centi_bps_of_supply: Some(u128::MAX),
            net_inflation_centi_bps: Some(i128::MIN),
            network_target_icp_e8s_per_year: Some(u128::MAX),
        };
        let lines = vec![CheckpointLine { scope: Scope::Subnet(p), ..line }; crate::breakdown::CHECKPOINT_LINES + 3];
        let checkpoint = BurnCheckpoint {
            now_ns: u64::MAX,
            suite: worst_amounts(),
            meter,
            per_subnet: lines.clone(),
            per_program: lines,
            reporters: u64::MAX,
            pending_attribution: u64::MAX,
            missing_sequences: u64::MAX,
        };
        let size = candid::encode_one(&checkpoint).unwrap().len();
        assert!(size < MAX_REPLY_BYTES / 4, "{size}");
    }

    /// The largest possible item of each listed type stays within its `MAX_ENCODED`, so pages
    /// taken without measuring still respect the byte bound.
    #[test]
    fn the_largest_items_fit_their_declared_bound() {
        let p = worst_principal();
        let gap = SequenceGap { reporter: p, first: u64::MAX, last: u64::MAX, after_period_end_ns: u64::MAX, before_period_start_ns: u64::MAX, detected_at_ns: u64::MAX };
        assert!(encoded_size(&worst_burn()) <= BurnRecord::MAX_ENCODED, "{}", encoded_size(&worst_burn()));
        assert!(encoded_size(&gap) <= SequenceGap::MAX_ENCODED);
        for scope in [Scope::Canister(p), Scope::Program(u64::MAX), Scope::Unattributed] {
            assert!(encoded_size(&ScopeTotals { scope, amounts: worst_amounts() }) <= ScopeTotals::MAX_ENCODED);
        }
        assert!(encoded_size(&Bucket { start_ns: u64::MAX, amounts: worst_amounts() }) <= Bucket::MAX_ENCODED);
        // A full page of each fits without measuring.
        let full = MAX_PAGE as usize;
        assert!(full * BurnRecord::MAX_ENCODED <= MAX_REPLY_BYTES);
    }

    /// A string item whose declared bound is large, so pages of it are measured.
    #[derive(candid::CandidType, Clone)]
    struct Big(String);
    impl MaxEncoded for Big {
        const MAX_ENCODED: usize = 1_000_000;
    }

    #[test]
    fn pages_stop_at_the_count_or_the_bytes_and_always_advance() {
        let items = vec![Big("x".repeat(100)); 50];
        assert_eq!(bounded(items.clone(), 10, MAX_REPLY_BYTES).len(), 10);
        assert_eq!(bounded(items.clone(), 0, MAX_REPLY_BYTES).len(), 0);
        let one = encoded_size(&items[0]);
        assert_eq!(bounded(items.clone(), 50, 3 * one + 1).len(), 3);
        assert_eq!(bounded(items, 50, 1).len(), 1, "the first item is always taken");
        assert_eq!(bounded(Vec::<Big>::new(), 5, 1).len(), 0);
        // Small items under a roomy bound are taken by count alone.
        let gaps = vec![SequenceGap { reporter: worst_principal(), first: 1, last: 2, after_period_end_ns: 0, before_period_start_ns: 0, detected_at_ns: 0 }; 20];
        assert_eq!(bounded(gaps, 7, MAX_REPLY_BYTES).len(), 7);
    }
}
